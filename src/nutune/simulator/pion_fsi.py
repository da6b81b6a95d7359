"""Pion FSI dials on the absorbed-pion CC0π background, as GENIE Reweight's ``GReWeightINuke`` applies them.

Every background event of the built-in simulator is a resonance whose decay pion was absorbed in the nucleus (that is
what makes it CC0π). GENIE Reweight (``src/RwCalculators/GReWeightINuke.cxx``, ``src/RwFramework/
GReWeightINukeParams.cxx``, ``GReWeightUtils.cxx``; read at Reweight ddf78c00) weights such a pion, of kinetic energy
KE at production, by the scale factor of its fate (absorption) as follows. Let N be the pion fate dials *named* (set
by the user, at any value, even 0) and C the others, the *cushion* terms (at least one: GENIE aborts otherwise,
``AddCushionTerms``); f_j(KE) the nominal hA2018 fate fractions and s_j = 1 + t_j σ_j the scale of a named dial
(σ: FrCEx 0.5, FrInel 0.4, FrAbs 0.3, FrPiProd 0.2; a negative scale is clipped to 0).

* if S = Σ_{j∈N} f_j s_j > 1, every named fraction is divided by S and every cushion fraction set to 0;
* otherwise all cushions share one dial τ = −Σ_{j∈N} f_j (s_j − 1) / Σ_{c∈C} f_c σ_c (``ActualTwkDial``), so that
  the fractions still sum to 1.

So the absorbed pion's weight is s_abs when FrAbs_pi is named, and 1 − σ_abs Σ_{j∈N} f_j(KE)(s_j − 1) / Σ_{c∈C}
σ_c f_c(KE) when absorption is a cushion — linear in the named scales with KE-dependent coefficients, as long as
S ≤ 1 at every KE (:func:`max_named_sum`; the built-in simulator refuses θ beyond it rather than approximate GENIE's
rescaling). Pions that escaped or met another fate are not in the CC0π sample, so nothing else is needed here.

The nominal fractions are GENIE's hA2018 carbon tables (``resources/genie_ha2018/``, README there), linear in KE
through carbon's own points, KE clamped to [1, 999] MeV (``GReWeightUtils::FateFraction``) and divided by the sum of
the four fates (``INukeHadroData2018::FracADep``); GENIE interpolates a (A, KE) Delaunay triangulation of all nuclei,
whose A = 12 slice this does not reproduce exactly (README).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np

from nutune.dials import PION_FATES, REGISTRY
from nutune.simulator.flux import resources_dir

__all__ = [
    "FATE_TABLES",
    "load_fate_table",
    "fate_fractions",
    "absorbed_pion_weight",
    "absorbed_pion_coefficients",
    "max_named_sum",
    "KE_RANGE_MEV",
]

#: GENIE's carbon table of each pion fate dial (``INukeHadroData2018::LoadCrossSections``).
FATE_TABLES: dict[str, str] = {
    "FrCEx_pi": "pip12_cex_frac.txt",
    "FrInel_pi": "pip12_inelas_frac.txt",
    "FrAbs_pi": "pip12_abs_frac.txt",
    "FrPiProd_pi": "pip12_pipro_frac.txt",
}
#: KE clamp of ``GReWeightUtils::FateFraction`` [MeV].
KE_RANGE_MEV = (1.0, 999.0)
_KE_GRID_MEV = np.arange(1.0, 1000.0)


@lru_cache(maxsize=None)
def load_fate_table(fate: str) -> tuple[np.ndarray, np.ndarray]:
    """(KE [MeV] sorted, fraction) of GENIE's carbon table for pion fate dial ``fate``; repeated KE averaged."""
    path = resources_dir() / "genie_ha2018" / FATE_TABLES[fate]
    data = np.loadtxt(path, comments="#")
    if data.ndim != 2 or data.shape[1] != 2 or not np.all(np.isfinite(data)) or np.any(data[:, 1] < 0):
        raise ValueError(f"{path}: expected two non-negative columns KE [MeV], fraction")
    ke, inverse = np.unique(data[:, 0], return_inverse=True)
    frac = np.bincount(inverse, data[:, 1]) / np.bincount(inverse)
    return ke, frac


def fate_fractions(ke_gev: np.ndarray) -> np.ndarray:
    """(4, n) nominal hA2018 carbon fractions in :data:`nutune.dials.PION_FATES` order at pion KE [GeV]."""
    ke = np.clip(np.asarray(ke_gev, dtype=float) * 1e3, *KE_RANGE_MEV)
    raw = np.stack([np.interp(ke, *load_fate_table(f)) for f in PION_FATES])
    return raw / raw.sum(axis=0)


def _sigma(fate: str) -> float:
    return REGISTRY[fate].sigma_plus


def absorbed_pion_coefficients(ke_gev: np.ndarray, named: Sequence[str]) -> dict[str, np.ndarray]:
    """c_j(KE) with weight = 1 + Σ_j (s_j − 1)·c_j for the named fates j (valid where S ≤ 1, see module doc)."""
    named = [f for f in PION_FATES if f in named]
    cushions = [f for f in PION_FATES if f not in named]
    if not cushions:
        raise ValueError("all four pion fates named: GENIE Reweight needs one cushion term (AddCushionTerms)")
    ke = np.asarray(ke_gev, dtype=float)
    if "FrAbs_pi" in named:
        return {f: (np.ones_like(ke) if f == "FrAbs_pi" else np.zeros_like(ke)) for f in named}
    frac = dict(zip(PION_FATES, fate_fractions(ke), strict=True))
    denominator = sum(_sigma(c) * frac[c] for c in cushions)
    return {f: -_sigma("FrAbs_pi") * frac[f] / denominator for f in named}


def absorbed_pion_weight(ke_gev: np.ndarray, scales: Mapping[str, float]) -> np.ndarray:
    """GENIE Reweight's fate weight of an absorbed pion of KE [GeV] for the named fate dials' physical scales
    (every step of ``ActualTwkDial``, the S > 1 rescaling included): the slow per-event reference."""
    ke = np.asarray(ke_gev, dtype=float)
    if not scales:
        return np.ones_like(ke)
    s = {f: max(0.0, float(v)) for f, v in scales.items()}
    frac = dict(zip(PION_FATES, fate_fractions(ke), strict=True))
    total = sum(frac[f] * s[f] for f in s)
    linear = 1.0 + sum(c * (s[f] - 1.0) for f, c in absorbed_pion_coefficients(ke, list(s)).items())
    rescaled = s["FrAbs_pi"] / np.where(total > 0, total, 1.0) if "FrAbs_pi" in s else np.zeros_like(ke)
    return np.where(total > 1.0, rescaled, linear)


@lru_cache(maxsize=None)
def _extreme_fractions(named: tuple[str, ...]) -> np.ndarray:
    """(k, m) the named fates' fractions at the KE (1 MeV steps over [1, 999]) that can maximise Σ_j f_j s_j for
    some s ≥ 0: the vertices of the convex hull of the points f(KE) (all points when the hull is degenerate)."""
    frac = dict(zip(PION_FATES, fate_fractions(_KE_GRID_MEV * 1e-3), strict=True))
    points = np.stack([frac[f] for f in named], axis=1)  # (K, k)
    if len(named) == 1:
        return points.max(axis=0, keepdims=True).T
    from scipy.spatial import ConvexHull, QhullError

    try:
        vertices = ConvexHull(points).vertices
    except QhullError:
        return points.T
    return np.ascontiguousarray(points[vertices].T)


def max_named_sum(named: Sequence[str], scales: np.ndarray) -> np.ndarray:
    """(n,) max over KE in [1, 999] MeV of S = Σ_j f_j(KE)·s_j for the named fates (``scales`` (n, len(named)));
    GENIE's weights are linear in the scales while this is ≤ 1. (A linear function's maximum over the points is
    at a vertex of their convex hull, so only those are evaluated.)"""
    table = _extreme_fractions(tuple(named))
    return (np.maximum(np.asarray(scales, dtype=float), 0.0) @ table).max(axis=1)


# --------------------------------------------------------------------------------------------------------------
# Mean free path: the probability that the absorbed pion interacted at all, and the MFP_pi dial
# --------------------------------------------------------------------------------------------------------------
#: GENIE's πN total cross-section tables (SAID PWA, S. Dytman; ``INukeHadroData2018::LoadCrossSections``).
PIN_TABLES = {"pi+": "intranuke-xsections-pi+N.dat", "pi0": "intranuke-xsections-pi0N.dat"}
#: ``NUCL-R0`` [fm] and ``NUCL-NR`` of G18_10a_02_11a (CommonParam.xml): tracking radius NR·R0·A^(1/3).
NUCL_R0_FM, NUCL_NR = 1.4, 3.0
#: ``INUKE-HadStep`` of ``HAIntranuke2018/Default`` [fm].
HAD_STEP_FM = 0.05
#: KE range of the πN cross-section splines [MeV] (``fMinKinEnergy``, ``fMaxKinEnergyHN``).
PIN_KE_RANGE_MEV = (1.0, 1799.0)
_GL_NODES = 48


@lru_cache(maxsize=None)
def _pin_total_splines(charge: str):
    """(σ(πp)_tot, σ(πn)_tot) [mb] as functions of KE [MeV] for ``charge`` in {"pi+", "pi0"}: cubic splines of
    GENIE's table columns ``pi?p tot`` and ``pi?n tot`` (``genie::Spline`` is a cubic spline through them too)."""
    from scipy.interpolate import CubicSpline

    data = np.loadtxt(resources_dir() / "genie_ha2018" / PIN_TABLES[charge], comments="#")
    if data.ndim != 2 or data.shape[1] != 10:
        raise ValueError(f"{PIN_TABLES[charge]}: expected 10 columns (KE, 4 πn, 4 πp, πd abs)")
    ke = data[:, 0]
    return CubicSpline(ke, data[:, 5], bc_type="natural"), CubicSpline(ke, data[:, 1], bc_type="natural")


def sigma_pion_nucleon(ke_gev: np.ndarray, charge: str, z_over_a: np.ndarray | float) -> np.ndarray:
    """The pion's total cross section on the remnant's nucleons [fm²] (``MeanFreePath``: σ(πp)·Z/A + σ(πn)·(1 − Z/A)
    for π⁺ and π⁰, KE clamped to the splines' range, mb → fm² × 0.1)."""
    ke = np.clip(np.asarray(ke_gev, dtype=float) * 1e3, *PIN_KE_RANGE_MEV)
    sig_p, sig_n = _pin_total_splines(charge)
    return np.maximum(0.1 * (sig_p(ke) * z_over_a + sig_n(ke) * (1.0 - z_over_a)), 1e-7)


def nuclear_density(r_fm: np.ndarray, a: int) -> np.ndarray:
    """``utils::nuclear::Density`` for 4 < A ≤ 20 with ring 0 (hA2018's ``HAINUKE-DelRPion`` = 0): the modified
    harmonic oscillator N(1 + α b)e^(−b), b = (r/a_p)², N = 1/((5.568 + 8.353 α) a_p³) [fm⁻³, ∫ = 1]; carbon a_p =
    1.69, α = 1.08; an A without its own entry (e.g. the A = 11 remnant) a_p = 1.75, α = −0.4 + 0.12 A."""
    if not 4 < a <= 20:
        raise ValueError(f"A = {a}: only 4 < A <= 20 (light nuclei) are implemented")
    ap, alf = {7: (1.77, 0.327), 12: (1.69, 1.08), 14: (1.76, 1.23), 16: (1.83, 1.54)}.get(a, (1.75, -0.4 + 0.12 * a))
    b = (np.asarray(r_fm, dtype=float) / ap) ** 2
    return (1.0 + alf * b) * np.exp(-b) / ((5.568 + alf * 8.353) * ap**3)


def tracking_radius(a: int = 12) -> float:
    """GENIE's tracking radius NR·R0·A^(1/3) of the target nucleus [fm]."""
    return NUCL_NR * NUCL_R0_FM * a ** (1.0 / 3.0)


def sample_vertex_radius(rng: np.random.Generator, n: int, a: int = 12) -> np.ndarray:
    """Vertex radius [fm] ∝ r² ρ(r) on [0, tracking radius] (``VertexGenerator``, VtxGenerationMethod 1), by inverse
    CDF on a 0.005 fm grid (one uniform per event)."""
    r = np.linspace(0.0, tracking_radius(a), 1925)
    pdf = r**2 * nuclear_density(r, a)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(r))])
    return np.interp(rng.random(n) * cdf[-1], cdf, r)


def path_density(r0_fm: np.ndarray, cos_alpha: np.ndarray, remnant_a: int = 11,
                 chunk: int = 65536) -> np.ndarray:
    """Σ_k δ·A ρ(r_k) [fm⁻²] along the pion's straight path (the charge-independent part of :func:`optical_depth`),
    computed ``chunk`` events at a time (the quadrature holds 48 nodes per event)."""
    r0, cos_a = np.asarray(r0_fm, dtype=float), np.asarray(cos_alpha, dtype=float)
    if r0.size > chunk:
        return np.concatenate([path_density(r0[i : i + chunk], cos_a[i : i + chunk], remnant_a, chunk)
                               for i in range(0, r0.size, chunk)])
    big_r = tracking_radius(12)
    # path length to the tracking sphere: l² + 2 l r0 cos α + r0² = R²
    length = -r0 * cos_a + np.sqrt(np.maximum(big_r**2 - r0**2 * (1.0 - cos_a**2), 0.0))
    x, wt = np.polynomial.legendre.leggauss(_GL_NODES)
    l_nodes = 0.5 * length[:, None] * (x[None, :] + 1.0)
    radius = np.sqrt(r0[:, None] ** 2 + l_nodes**2 + 2.0 * r0[:, None] * cos_a[:, None] * l_nodes)
    integral = 0.5 * length * (remnant_a * nuclear_density(radius, remnant_a) @ wt)
    edge = remnant_a * (nuclear_density(r0, remnant_a) - nuclear_density(np.full_like(r0, big_r), remnant_a))
    return integral - 0.5 * HAD_STEP_FM * edge


def optical_depth(r0_fm: np.ndarray, cos_alpha: np.ndarray, ke_gev: np.ndarray, charge: str,
                  z_over_a: np.ndarray | float, remnant_a: int = 11) -> np.ndarray:
    """τ = Σ_k δ/λ(r_k) of a pion leaving the vertex at radius r0 with cos α between its direction and the radial
    one, GENIE's straight-line steps r_k = |r0 + kδ p̂| (k ≥ 1) to the tracking radius, λ = 1/(A ρ(r) σ_πN) with the
    remnant's A and density (``Intranuke2018::TransportHadrons``, ``utils::intranuke2018::MeanFreePath``); the
    survival probability is e^(−τ). The step sum is computed as the integral by Gauss–Legendre (48 nodes) minus the
    right-sum's leading difference δ/2·(1/λ(r0) − 1/λ(R)) — the same number to O(δ²)."""
    return sigma_pion_nucleon(ke_gev, charge, z_over_a) * path_density(r0_fm, cos_alpha, remnant_a)


def interaction_probability(tau: np.ndarray, mfp_scale: float | np.ndarray = 1.0) -> np.ndarray:
    """1 − P_survival for optical depth τ with the mean free path scaled by ``mfp_scale`` (MFP_pi: λ → s·λ)."""
    return -np.expm1(-np.asarray(tau) / mfp_scale)
