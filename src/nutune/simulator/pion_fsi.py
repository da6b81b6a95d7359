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
