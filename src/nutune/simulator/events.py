"""Weighted event generation per channel (QE, 2p2h, π-absorption RES) for ν_μ on CH with a measurement's flux.

Implements physics.md §2.1–§2.5 and §4.2–§4.3 fully vectorised in numpy. Every event weight is a cross section
in 10⁻³⁸ cm² *per CH nucleon per thrown event* (13 nucleons per CH, NUISANCE ``PrepareGENIE``), so a histogram is
``bincount(bin, w) / (bin area)`` and ``Σ w`` is the flux-averaged signal σ. Every event is CC0π signal
(``SignalDef::isCC0pi``: one μ⁻, no final-state mesons): CCQE on ¹²C neutrons, 2p2h on ¹²C, and GENIE's resonance
production on ¹²C followed by pion absorption. Hydrogen has no CC0π channel (physics.md §2.4) but counts in the 13
nucleons. The flux and the binning (with the signal's muon cuts) are arguments: the T2K ND280 flux and Analysis I
binning, or the MINERvA LE flux and (p_T, p_||) binning with θ_μ < 20° (:mod:`nutune.simulator.flux`,
:mod:`nutune.simulator.binning`).

**At MINERvA energies** (LE flux, ⟨E_ν⟩ = 4.4 GeV, peak 3–3.5 GeV, tail to 100 GeV) the same three channels and
dial algebra apply unchanged; what the higher energy touches, checked in GENIE R-3_00_06:

* *Which energies reach the bins.* Only muons with p_|| < 20 GeV and p_T < 2.5 GeV count, so an event needs
  E_ν − q0 ≲ 21 GeV: QE (q0 ≈ Q²/2M ≲ 3.4 GeV at p_T < 2.5 GeV) and RES below ≈ 24 GeV, 2p2h (q0 ≤ 1.2 GeV) below
  22.5 GeV. Measured on the 10⁶-event sample: no kept event above 24.5 GeV. Every E-table of the simulator (2p2h
  and RES normalisers, the RES shape-mode σ_R(E)) ends at :data:`TABLE_E_MAX` = 30 GeV, so none is extrapolated;
  ``templates.build_templates`` refuses a sample with a kept event beyond it. Events thrown above ≈ 25 GeV (1.1 % of
  the flux) are wasted, not wrong.
* *CCQE* — GENIE's Nieves model has no energy limit (``NievesQELCCPXSec`` at any E, RPA → 1 at large q).
* *2p2h* — the Valencia tensors cover q0, q3 ∈ [0.01, 1.2] GeV; GENIE returns 0 outside the grid
  (``NievesSimoVacasMECPXSec2016::XSec``) and never generates q3 ≥ NSV-Q3Max = 1.2 GeV
  (``MECGenerator::SelectNSVLeptonKinematics``), with no energy cap: σ_V(E) saturates (1.29, 1.46, 1.48, 1.50 ×
  10⁻³⁸ cm² per ¹²C at 1, 3, 5, 10 GeV). The builtin does exactly that; the q3 > 1.2 GeV 2p2h strength a
  MINERvA-energy model would have is absent in GENIE too. The Empirical (XSecShape_CCMEC) density counts only on
  the Valencia support, as GENIE's weight acts on Valencia events.
* *RES* — GENIE's Berger–Sehgal over the full W ∈ [M + m_π, min(Wcut = 1.928 GeV, √s − m_μ)] (all 18 resonances;
  at E_ν > 2 GeV the whole Wcut range is open), pion fates from hA2018 at the pion's KE, clamped at 999 MeV as
  GENIE's generator (``INukeHadroData2018::FracADep``, fMaxKinEnergyHA) and Reweight (``FateFraction``) do.
* *Not included* (the builtin's valid range is the three channels above): GENIE's non-resonant and DIS events
  whose pions are all absorbed (W < Wcut: Bodek–Yang DIS × the tuned multiplicity weights DIS-HMultWgt-vp-CC-m2 =
  0.0077, vn-CC-m2 = 0.128 for Nπ, vp/vn-CC-m3 = 0.79/2.12 for Nππ, CommonParam ``NonResBackground``; W ≥ Wcut:
  DIS), RES decays to Nππ/Nη/Nγ, coherent π (never CC0π). An Nπ final state needs its pion absorbed (P ≈ 0.2),
  Nππ both (≈ 0.04), so these are a few per cent of the CC0π rate: estimated 1–3 % of the MINERvA signal in the
  measured phase space (not measured here: no GENIE run was available; it is a lower-W, larger-angle muon, so
  most of it sits in the high-p_T, low-p_|| bins). At T2K energies (⟨E⟩ = 0.85 GeV) it is below 1 %.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from nutune.dials import MA_NOMINAL_GEV
from nutune.simulator import constants as C
from nutune.simulator.binning import Binning
from nutune.simulator.crosssections import (
    berpa,
    dipole_axial,
    llewellyn_smith_coefficients,
    mec_lepton_factor,
    sigma_delta,
    sigma_martini,
    sigma_valencia,
    vector_form_factors,
)
from nutune.simulator.flux import T2KFlux, sample_energy
from nutune.simulator.nieves_rpa import polarisation_factors, tensor_contraction
from nutune.simulator.nuclear import local_fermi_momentum, sample_nucleon_momentum
from nutune.simulator.qe_nieves import generate_kinematics, genie_sampling_factor, nieves_weights
from nutune.simulator.valencia import NSV_Q3_MAX, d2sigma_dq0_dq3, sigma_total
from nutune.simulator.variants import PhysicsConfig

__all__ = [
    "QESample",
    "MECSample",
    "RESSample",
    "RES_MA_ANCHORS",
    "generate_qe",
    "generate_mec",
    "generate_res",
    "mec_densities",
    "EMPIRICAL_Q3_MAX",
    "TABLE_E_MAX",
]

#: Highest E_ν [GeV] of every energy table of the simulator (:func:`mec_energy_grid`, the RES σ(E) tables, the
#: shape-mode σ_R(E)); a kept event above it would use an extrapolated normaliser (see the module doc).
TABLE_E_MAX = 30.0

#: Upper q3 [GeV] of the Empirical-MEC density support (its Q²(1 + Q²/0.4)⁻⁸ factor is < 1e-6 of the peak beyond).
EMPIRICAL_Q3_MAX = 2.0
_EMPIRICAL_Q3_MIN = 0.2  # proposal lower edge; the W = 2.15 band needs q3 > (W₀² − M₂²)/(2M₂) ≈ 0.29 GeV


@dataclass
class QESample:
    """Kept (not Pauli-blocked, in-binning) CCQE events: kinematics, nominal weight and M_A / RPA ingredients."""

    enu: np.ndarray
    q0: np.ndarray
    q3: np.ndarray
    q2: np.ndarray
    p_mu: np.ndarray
    cos_mu: np.ndarray
    bin67: np.ndarray
    w_nom: np.ndarray  # includes R: 1e-38 cm² per CH nucleon per thrown event at M_A,nom with RPA on
    rpa_ratio: np.ndarray  # R = σ_on/σ_off
    c_hat: np.ndarray  # (3, n): dσ(M_A)/dσ(M_A,nom) = ĉ₀ + ĉ₁ g + ĉ₂ g², g = g(q2_axial; M_A)
    n_thrown: int
    ma_generation: float = MA_NOMINAL_GEV
    q2_axial: np.ndarray | None = None  # Q² of the axial form factor (Nieves: Q̃², de Forest); None = q2
    p_nucleon: np.ndarray | None = None  # |p| [GeV] of the outgoing proton in the lab (HadSystP4; Nieves only)
    k_fermi: np.ndarray | None = None  # local proton k_F(r) [GeV] at the hit nucleon's radius (Nieves only)

    def pauli_ratio(self) -> np.ndarray:
        """x = |p_p′|/k_F(r) ≥ 1 per event (generated events are not Pauli-blocked): GENIE Reweight's
        CCQEPauliSupViaKF weight for ``QELEventGenerator`` events is 0 where x < the k_F scale, else 1."""
        if self.p_nucleon is None or self.k_fermi is None:
            raise ValueError("these CCQE events have no outgoing-nucleon momentum and local k_F (qe_model "
                             "llewellyn_smith); CCQEPauliSupViaKF needs qe_model genie_nieves")
        return self.p_nucleon / self.k_fermi

    def ma_ratio(self, ma: float) -> np.ndarray:
        """Per-event GENIE MaCCQE weight dσ(M_A)/dσ(M_A,nom) at the stored kinematics (physics.md §1.2)."""
        g = dipole_axial(self.q2 if self.q2_axial is None else self.q2_axial, ma)
        return self.c_hat[0] + g * (self.c_hat[1] + g * self.c_hat[2])


@dataclass
class MECSample:
    """2p2h events with the default-model weight w_V and the Empirical-shape weight w_E (same σ(E))."""

    enu: np.ndarray
    q0: np.ndarray
    q3: np.ndarray
    p_mu: np.ndarray
    cos_mu: np.ndarray
    bin67: np.ndarray
    w_v: np.ndarray
    w_e: np.ndarray
    n_thrown: int


#: RES-Ma values [GeV] at which every GENIE Berger–Sehgal RES event's d²σ/dW dQ² is evaluated besides the nominal:
#: the ends of the MaCCRES range of the built-in simulator (``nutune.dials.REGISTRY["MaCCRES"].valid_range``).
RES_MA_ANCHORS = (0.4, 2.2)


@dataclass
class RESSample:
    """π-absorbed resonance events (the CC0π background) with what GENIE Reweight needs to reweight them.

    ``w_had``, ``q2`` and ``is_p`` are the generated W, Q² and hit nucleon (``None`` for the parametrised Δ model,
    which has no GENIE RES cross section to reweight); ``ma_anchor_ratio`` (2, n) holds d²σ(RES-Ma = a)/d²σ(nominal)
    at the event's (E, W, Q²) for a in :data:`RES_MA_ANCHORS`.
    """

    enu: np.ndarray
    q0: np.ndarray
    q3: np.ndarray
    p_mu: np.ndarray
    cos_mu: np.ndarray
    bin67: np.ndarray
    w: np.ndarray
    n_thrown: int
    meta: dict = field(default_factory=dict)
    w_had: np.ndarray | None = None
    q2: np.ndarray | None = None
    is_p: np.ndarray | None = None
    ma_anchor_ratio: np.ndarray | None = None
    pion_ke: np.ndarray | None = None  # kinetic energy [GeV] of the (absorbed) decay pion at production
    pion_tau: np.ndarray | None = None  # (2, n) optical depth of its path out of the nucleus as π⁺ and as π⁰
    p_pi0: np.ndarray | None = None  # probability that the decay pion is a π⁰ (isospin)

    def mfp_ratio(self, mfp_scale: float) -> np.ndarray:
        """Per-event GENIE MFP_pi weight of the absorbed pion, (1 − P_surv(s·λ))/(1 − P_surv(λ))
        (``GReWeightUtils`` ``MeanFreePathWeight`` for a hadron that interacted), its expectation over the pion's
        charge given that the event was absorbed under ``absorption`` ("constant" p_abs, or hA2018's own
        P_interact·f_abs, where the charge's prior weight carries P_interact)."""
        if self.meta.get("absorption") == "genie_ha2018":
            return self.interaction_probability(mfp_scale) / self.interaction_probability()
        (new_plus, new_zero), (old_plus, old_zero) = self._charge_interaction(mfp_scale), self._charge_interaction()
        return (1.0 - self.p_pi0) * new_plus / old_plus + self.p_pi0 * new_zero / old_zero

    def interaction_probability(self, mfp_scale: float = 1.0) -> np.ndarray:
        """Probability that the decay pion interacted in the nucleus (hA2018 mean free path × ``mfp_scale``),
        averaged over its charge."""
        plus, zero = self._charge_interaction(mfp_scale)
        return (1.0 - self.p_pi0) * plus + self.p_pi0 * zero

    def _charge_interaction(self, mfp_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """The interaction probability of the decay pion as a π⁺ and as a π⁰."""
        from nutune.simulator.pion_fsi import interaction_probability

        if self.pion_tau is None:
            raise ValueError("these RES events have no pion paths (parametrised Delta model)")
        return (interaction_probability(self.pion_tau[0], mfp_scale),
                interaction_probability(self.pion_tau[1], mfp_scale))

    @property
    def reweightable(self) -> bool:
        """Whether the events carry GENIE's RES cross section (MaCCRES can be applied)."""
        return self.ma_anchor_ratio is not None

    def ma_ratio(self, ma: float) -> np.ndarray:
        """Per-event GENIE MaCCRES weight (``GReWeightNuXSecCCRES``, mode kModeMaMv) dσ(M_A)/dσ(M_A,nom) at the
        generated (E, W, Q²) and hit nucleon.

        The Berger–Sehgal d²σ/dW dQ² depends on RES-Ma only through C₅ᴬ = 1.2·g, g = (1 + Q²/M_A²)⁻²
        (``BSKLNBaseRESPXSec2014::XSec``, minibooneGA), and every helicity amplitude is linear in C₅ᴬ, so d²σ is a
        quadratic polynomial in g per event (and per resonance, hence for their sum): the ratio at any M_A is the
        quadratic Lagrange interpolant in g through the nominal (ratio 1) and the two anchors, exact to rounding.
        """
        if not self.reweightable:
            raise ValueError("these RES events come from the parametrised Delta model, which has no GENIE RES cross "
                             "section; MaCCRES needs res_model genie_berger_sehgal")
        from nutune.simulator.res_bergersehgal import RES_MA

        def g(m: float) -> np.ndarray:
            return (1.0 + self.q2 / (m * m)) ** -2

        nodes = [g(RES_MA), g(RES_MA_ANCHORS[0]), g(RES_MA_ANCHORS[1])]
        values = [1.0, self.ma_anchor_ratio[0], self.ma_anchor_ratio[1]]
        gt = g(float(ma))
        out = np.zeros_like(gt)
        for k in range(3):
            basis = np.ones_like(gt)
            for j in range(3):
                if j != k:
                    basis = basis * (gt - nodes[j]) / (nodes[k] - nodes[j])
            out = out + basis * values[k]
        return out

    def xsec_coefficients(self) -> np.ndarray:
        """(3, n) (c₀, c₁, c₂) with d²σ(M_A, M_V)/d²σ(nominal) = c₀ r² + c₁ r g + c₂ g² per event, g = (1 + Q²/M_A²)⁻²
        and r = G_V(M_V)/G_V(nominal) (:func:`nutune.simulator.res_bergersehgal.vector_form_factor_ratio`): the
        monomial form of :meth:`ma_ratio`'s quadratic in g at r = 1, made homogeneous in (r, g) because every
        Berger–Sehgal helicity amplitude is linear in (G_V, G_A)."""
        if "xsec_coefficients" not in self.meta:
            if not self.reweightable:
                raise ValueError("these RES events come from the parametrised Delta model, which has no GENIE RES "
                                 "cross section; MaCCRES/MvCCRES need res_model genie_berger_sehgal")
            from nutune.simulator.res_bergersehgal import RES_MA

            nodes = np.stack([(1.0 + self.q2 / (m * m)) ** -2 for m in (RES_MA, *RES_MA_ANCHORS)], axis=1)
            values = np.column_stack([np.ones(self.w.size), self.ma_anchor_ratio[0], self.ma_anchor_ratio[1]])
            vandermonde = np.stack([np.ones_like(nodes), nodes, nodes * nodes], axis=2)
            self.meta["xsec_coefficients"] = np.linalg.solve(vandermonde, values[..., None])[..., 0].T
        return self.meta["xsec_coefficients"]

    def vector_ratio(self, mv: float) -> np.ndarray:
        """Per-event r = G_V(RES-Mv = ``mv``)/G_V(nominal) at the generated (W, Q²) and hit nucleon."""
        from nutune.simulator.res_bergersehgal import vector_form_factor_ratio

        if not self.reweightable:
            raise ValueError("these RES events come from the parametrised Delta model, which has no GENIE RES cross "
                             "section; MvCCRES needs res_model genie_berger_sehgal")
        out = np.empty(self.w.size)
        for nucleon, mask in (("p", self.is_p), ("n", ~self.is_p)):
            out[mask] = vector_form_factor_ratio(self.w_had[mask], self.q2[mask], nucleon, float(mv))
        return out

    def xsec_ratio(self, ma: float, mv: float | None = None) -> np.ndarray:
        """Per-event GENIE MaCCRES + MvCCRES weight (``GReWeightNuXSecCCRES::CalcWeightMaMv``, mode kModeMaMv):
        d²σ(M_A, M_V)/d²σ(nominal) of GENIE's Berger–Sehgal at the generated (E, W, Q²) and hit nucleon, exact as
        c₀ r² + c₁ r g + c₂ g² (:meth:`xsec_coefficients`)."""
        c0, c1, c2 = self.xsec_coefficients()
        g = (1.0 + self.q2 / (float(ma) ** 2)) ** -2
        r = 1.0 if mv is None else self.vector_ratio(mv)
        return c0 * r * r + c1 * r * g + c2 * g * g

    def resonance_coefficients(self) -> np.ndarray:
        """(3, R, n) per-resonance (c₀, c₁, c₂): dσ_R(M_A, M_V)/dσ_tot(nominal) = c₀ r² + c₁ r g + c₂ g² at the
        event's (E, W, Q²) and nucleon, for each of the 18 resonances of ``res_bergersehgal.RESONANCES`` (GENIE's
        ``BergerSehgalRESPXSec2014`` per resonance at the RES-Ma values of ``res_shape._MA_NODES``; Σ_R gives
        :meth:`xsec_coefficients` up to rounding). Computed once, kept in ``meta``."""
        if "resonance_coefficients" not in self.meta:
            if not self.reweightable:
                raise ValueError("these RES events come from the parametrised Delta model, which has no GENIE RES "
                                 "cross section; the RES shape dials need res_model genie_berger_sehgal")
            from nutune.simulator import res_bergersehgal as bs
            from nutune.simulator.res_shape import _MA_NODES, quadratic_form

            resonances = list(bs.RESONANCES.values())
            out = np.zeros((3, len(resonances), self.w.size))
            for nucleon, mask in (("p", self.is_p), ("n", ~self.is_p)):
                args = (self.enu[mask], self.w_had[mask], self.q2[mask], nucleon)
                d2 = np.stack([np.stack([bs.d2sigma_dw_dq2_per_resonance(*args, res, ma=m) for m in _MA_NODES])
                               for res in resonances], axis=1)  # (3 masses, R, n)
                total = d2[0].sum(axis=0)
                out[:, :, mask] = quadratic_form(d2, self.q2[mask][None, :]) / total
            self.meta["resonance_coefficients"] = out
        return self.meta["resonance_coefficients"]

    def shape_ratio(self, ma: float, mv: float) -> np.ndarray:
        """Per-event GENIE RES shape weight (``GReWeightNuXSecCCRES::CalcWeightMaMvShape``, mode
        kModeNormAndMaMvShape) at MaCCRESshape = ``ma``, MvCCRESshape = ``mv``, in expectation over the resonance
        (:mod:`nutune.simulator.res_shape`): Σ_R dσ_R(ma, mv)/dσ_tot(nom) · σ_R(E; nom)/σ_R(E; ma, mv)."""
        from nutune.simulator.res_shape import interpolate_energy, sigma_table

        c0, c1, c2 = self.resonance_coefficients()  # (R, n) each
        g = (1.0 + self.q2 / (float(ma) ** 2)) ** -2
        r = self.vector_ratio(mv)
        table = sigma_table()
        ratio = table.ratio(float(ma), float(mv))  # (2, R, n_E)
        out = np.zeros(self.w.size)
        for k, mask in enumerate((self.is_p, ~self.is_p)):
            s = interpolate_energy(ratio[k].T, table.energies, self.enu[mask])  # (n, R)
            dsig = c0[:, mask] * r[mask] ** 2 + c1[:, mask] * (r[mask] * g[mask]) + c2[:, mask] * g[mask] ** 2
            out[mask] = np.sum(dsig.T / s, axis=1)
        return out

def _boost(e: np.ndarray, p: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lorentz-transform 4-vectors (e, p) into the frame moving with velocity ``beta`` (n, 3)."""
    b2 = np.einsum("ij,ij->i", beta, beta)
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = np.einsum("ij,ij->i", beta, p)
    safe_b2 = np.where(b2 > 0, b2, 1.0)
    coef = (gamma - 1.0) * bp / safe_b2 - gamma * e
    return gamma * (e - bp), p + coef[:, None] * beta


def _lepton_kinematics(enu, q0, q3):
    """(p_μ, cosθ_μ, physical mask) from (E, q0, q3) for a lepton scattered off a neutrino along z."""
    e_mu = enu - q0
    p_mu = np.sqrt(np.clip(e_mu**2 - C.M_MUON**2, 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        cos_mu = (enu**2 + p_mu**2 - q3**2) / (2.0 * enu * p_mu)
    ok = (q0 > 0) & (e_mu > C.M_MUON) & (np.abs(cos_mu) <= 1.0) & (q3 > q0)
    return p_mu, np.where(ok, cos_mu, 0.0), ok


def _observed_muon(enu, q0, q3, phys: PhysicsConfig, binning: Binning):
    """(p_μ, cosθ_μ, physical mask, 67-bin index) of channels generated in (E, q0, q3): the lepton kinematics, the
    Coulomb shift of the outgoing muon's momentum (``phys.coulomb_shift``, unless ``phys.coulomb_qe_only``: in
    GENIE only ``NievesQELCCPXSec`` corrects the lepton for the nuclear Coulomb field) and the T2K bin."""
    p_mu, cos_mu, ok = _lepton_kinematics(enu, q0, q3)
    if not phys.coulomb_qe_only:
        p_mu = p_mu + phys.coulomb_shift
    return p_mu, cos_mu, ok, binning.assign(p_mu, cos_mu)


def generate_qe(
    phys: PhysicsConfig, flux: T2KFlux, binning: Binning, rng: np.random.Generator, n: int
) -> QESample:
    """CCQE ν_μ n → μ⁻ p on ¹²C: GENIE's Nieves model (``phys.qe_model == "genie_nieves"``, :func:`_generate_qe_nieves`)
    or Llewellyn Smith × an RPA ratio on a Fermi gas (:func:`_generate_qe_llewellyn_smith`)."""
    if phys.qe_model == "genie_nieves":
        return _generate_qe_nieves(phys, flux, binning, rng, n)
    if phys.qe_model == "llewellyn_smith":
        return _generate_qe_llewellyn_smith(phys, flux, binning, rng, n)
    raise ValueError(f"qe_model {phys.qe_model!r} unknown; allowed: genie_nieves, llewellyn_smith")


def _generate_qe_nieves(
    phys: PhysicsConfig, flux: T2KFlux, binning: Binning, rng: np.random.Generator, n: int
) -> QESample:
    """CCQE exactly as GENIE G18_10a's ``NievesQELCCPXSec`` + ``LocalFGM`` + ``QELEventGenerator`` (:mod:`qe_nieves`).

    Weight per thrown event: (6/13)·4π dσ/dΩ₀ (RPA on, nominal M_A, Coulomb factor) / n, optionally reshaped to
    GENIE's generator sampling (``phys.genie_qel_sampling``, :func:`qe_nieves.genie_sampling_factor` on 40 × 16
    equal-population E_ν × radius cells); the MaCCQE coefficients come from the same Nieves contraction.
    """
    if phys.rpa == "none":
        raise ValueError("qe_model genie_nieves always has GENIE's RPA (RPA_CCQE reweights it off)")
    enu, w_e = sample_energy(flux, rng, n)
    kin = generate_kinematics(enu, rng, phys)
    out = nieves_weights(kin, phys, MA_NOMINAL_GEV)
    w = (C.NEUTRONS_C12 / C.NUCLEONS_PER_CH) * out["w"] * w_e / n
    if phys.genie_qel_sampling:
        w = w * genie_sampling_factor(kin, out["w"])
    bin67 = binning.assign(out["p_mu"], out["cos_mu"])
    keep = out["ok"] & (bin67 >= 0) & (w > 0)
    return QESample(
        enu=enu[keep],
        q0=out["q0"][keep],
        q3=out["q3"][keep],
        q2=out["q2"][keep],
        p_mu=out["p_mu"][keep],
        cos_mu=out["cos_mu"][keep],
        bin67=bin67[keep],
        w_nom=w[keep],
        rpa_ratio=out["rpa_ratio"][keep],
        c_hat=out["c_hat"][:, keep],
        n_thrown=n,
        q2_axial=out["q2_axial"][keep],
        p_nucleon=np.linalg.norm(kin.p_p, axis=1)[keep],
        k_fermi=kin.k_f[keep],
    )


def _generate_qe_llewellyn_smith(
    phys: PhysicsConfig, flux: T2KFlux, binning: Binning, rng: np.random.Generator, n: int
) -> QESample:
    """CCQE ν_μ n → μ⁻ p on ¹²C in a relativistic (or local) Fermi gas, GENIE-v2-like (physics.md §2.1).

    Neutron momentum p in the Fermi sphere with off-shell energy √(M_n² + p²) − ε_B; two-body decay of
    P_tot = k + P with cosθ* uniform in the P_tot rest frame; Q² = −m_μ² + 2|k*|(E*_μ − p*_μ cosθ*); Pauli blocking
    of the proton at |p_p| ≤ k_F. Weight (6/13)·dσ_LS/dQ²(E*, Q²)·4|k*|p*_μ·R(Q²)/N with E* the neutrino energy in
    the nucleon rest frame (Llewellyn Smith, Phys. Rep. 3, 261 (1972); Smith & Moniz, NPB 43, 605 (1972)).
    """
    enu, w_e = sample_energy(flux, rng, n)
    p_n, k_f = sample_nucleon_momentum(phys, rng, n)
    pn2 = np.einsum("ij,ij->i", p_n, p_n)
    e_n = np.sqrt(C.M_NEUTRON**2 + pn2) - phys.binding_energy
    e_tot = enu + e_n
    p_tot = p_n.copy()
    p_tot[:, 2] += enu
    s = e_tot**2 - np.einsum("ij,ij->i", p_tot, p_tot)
    ok = s > (C.M_MUON + C.M_PROTON) ** 2
    s = np.where(ok, s, (C.M_MUON + C.M_PROTON + 1e-3) ** 2)
    rs = np.sqrt(s)
    e_mu_cm = (s + C.M_MUON**2 - C.M_PROTON**2) / (2.0 * rs)
    p_mu_cm = np.sqrt(np.clip(e_mu_cm**2 - C.M_MUON**2, 0.0, None))
    beta = p_tot / e_tot[:, None]
    k_lab = np.zeros((n, 3))
    k_lab[:, 2] = enu
    k_cm_e, k_cm = _boost(enu, k_lab, beta)
    k_hat = k_cm / k_cm_e[:, None]
    cos_star = 2.0 * rng.random(n) - 1.0
    phi_star = 2.0 * np.pi * rng.random(n)
    helper = np.where(np.abs(k_hat[:, :1]) < 0.9, np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0]]))
    e1 = helper - np.einsum("ij,ij->i", helper, k_hat)[:, None] * k_hat
    e1 /= np.linalg.norm(e1, axis=1)[:, None]
    e2 = np.cross(k_hat, e1)
    sin_star = np.sqrt(1.0 - cos_star**2)
    dir_mu = (
        cos_star[:, None] * k_hat
        + (sin_star * np.cos(phi_star))[:, None] * e1
        + (sin_star * np.sin(phi_star))[:, None] * e2
    )
    e_mu_lab, p_mu_lab = _boost(e_mu_cm, p_mu_cm[:, None] * dir_mu, -beta)
    q2 = -(C.M_MUON**2) + 2.0 * k_cm_e * (e_mu_cm - p_mu_cm * cos_star)
    p_proton = p_tot - p_mu_lab
    ok &= np.einsum("ij,ij->i", p_proton, p_proton) > k_f**2
    p_mag = np.linalg.norm(p_mu_lab, axis=1)
    cos_mu = p_mu_lab[:, 2] / np.where(p_mag > 0, p_mag, 1.0)
    p_mag = p_mag + phys.coulomb_shift
    ok &= p_mag > 0
    m2_off = e_n**2 - pn2
    e_star = (s - m2_off) / (2.0 * np.sqrt(m2_off))
    c0, c1, c2 = llewellyn_smith_coefficients(e_star, q2, phys.vector_ff)
    g0 = dipole_axial(q2, MA_NOMINAL_GEV)
    dsig = c0 + g0 * (c1 + g0 * c2)
    ok &= dsig > 0
    if phys.rpa == "nieves":
        rpa_ratio = _nieves_rpa_ratio(phys, enu, p_n, e_n, p_tot, e_tot, e_mu_lab, p_mu_lab, k_f, q2, ok)
    else:
        rpa_ratio = berpa(q2, phys)
    jac = 4.0 * k_cm_e * p_mu_cm
    w = (C.NEUTRONS_C12 / C.NUCLEONS_PER_CH) * dsig * jac * rpa_ratio * w_e / n
    bin67 = binning.assign(p_mag, cos_mu)
    keep = ok & (bin67 >= 0) & (w > 0)
    safe = np.where(keep, dsig, 1.0)
    c_hat = np.stack([c0, c1, c2])[:, keep] / safe[keep]
    q3 = np.linalg.norm(k_lab - p_mu_lab, axis=1)
    return QESample(
        enu=enu[keep],
        q0=(enu - e_mu_lab)[keep],
        q3=q3[keep],
        q2=q2[keep],
        p_mu=p_mag[keep],
        cos_mu=cos_mu[keep],
        bin67=bin67[keep],
        w_nom=w[keep],
        rpa_ratio=rpa_ratio[keep],
        c_hat=c_hat,
        n_thrown=n,
    )


def _nieves_rpa_ratio(phys, enu, p_n, e_n, p_tot, e_tot, e_mu, p_mu, k_f, q2, ok):
    """Per-event Nieves RPA ratio R = σ_on/σ_off at the event's (q̃, k, k′, p, ρ(r)) (see :mod:`nieves_rpa`)."""
    n = enu.size
    r = np.ones(n)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return r
    q_vec = -p_mu[idx].copy()
    q_vec[:, 2] += enu[idx]
    dq = np.linalg.norm(q_vec, axis=1)
    z = q_vec / dq[:, None]
    helper = np.where(np.abs(z[:, :1]) < 0.9, np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0]]))
    x = helper - np.einsum("ij,ij->i", helper, z)[:, None] * z
    x /= np.linalg.norm(x, axis=1)[:, None]
    y = np.cross(z, x)

    def rot(e0, v):
        return np.stack(
            [e0, np.einsum("ij,ij->i", v, x), np.einsum("ij,ij->i", v, y), np.einsum("ij,ij->i", v, z)],
            axis=1,
        )

    k3 = np.zeros((idx.size, 3))
    k3[:, 2] = enu[idx]
    k4 = rot(enu[idx], k3)
    kp4 = rot(e_mu[idx], p_mu[idx])
    pn = p_n[idx]
    e_on = np.sqrt(C.M_NEUTRON**2 + np.einsum("ij,ij->i", pn, pn))
    p4 = rot(e_on, pn)
    q0t = (enu[idx] - e_mu[idx]) - phys.binding_energy  # q̃⁰ = E_p′ − E_N(on-shell), de Forest
    q2t = dq * dq - q0t * q0t
    good = (q0t > 0) & (q2t > 0)
    kf = k_f[idx]
    kf0 = float(local_fermi_momentum(np.array([0.0]), phys.mho_alpha, phys.mho_a_fm)[0])
    x_rho = (kf / kf0) ** 3 if phys.nuclear_model == "lfg" else np.ones_like(kf)
    q0s = np.where(good, q0t, 0.05)
    dqs = np.where(good, dq, 0.3)
    q2s = np.where(good, q2t, dqs**2 - q0s**2)
    f1, xif2 = vector_form_factors(q2s, phys.vector_ff)
    fa = C.G_A * dipole_axial(q2s, MA_NOMINAL_GEV)
    fp = 2.0 * C.M_NUCLEON**2 * fa / (C.M_PION**2 + q2s)
    c_n, c_t, c_l = polarisation_factors(q0s, dqs, kf, x_rho)
    on = tensor_contraction(k4, kp4, p4, q0s, dqs, f1, xif2, fa, fp, c_n, c_t, c_l)
    one = np.ones_like(c_n)
    off = tensor_contraction(k4, kp4, p4, q0s, dqs, f1, xif2, fa, fp, one, one, one)
    ratio = np.where(good & (off > 0), on / np.where(off > 0, off, 1.0), 1.0)
    r[idx] = np.clip(ratio, phys.nieves_rpa_floor, None)
    return r


# --------------------------------------------------------------------------------------------------------------
# 2p2h
# --------------------------------------------------------------------------------------------------------------
def _gauss(x, mu, sigma):
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * np.sqrt(2.0 * np.pi))


def _default_mec_q3_max(phys: PhysicsConfig) -> float:
    if phys.mec_model == "genie_valencia":
        return NSV_Q3_MAX
    return phys.val_q3_cut if phys.mec_model == "valencia" else phys.mar_q3_max


def _default_mec_q0_shape(phys: PhysicsConfig, q0: np.ndarray, q3: np.ndarray) -> np.ndarray:
    """q0 profile at fixed q3 of the parametrised 2p2h models (normalised in q0 over the real line)."""
    qe_ridge = np.sqrt(q3**2 + C.M_NUCLEON**2) - C.M_NUCLEON
    delta_ridge = np.sqrt(q3**2 + C.M_DELTA**2) - C.M_NUCLEON
    if phys.mec_model == "valencia":
        g1 = _gauss(q0, qe_ridge + phys.val_delta1, phys.val_sigma1_a + phys.val_sigma1_b * q3)
        g2 = _gauss(q0, delta_ridge + phys.val_delta2, phys.val_sigma2)
        return phys.val_f_nn * g1 + (1.0 - phys.val_f_nn) * g2
    if phys.mec_model == "martini":
        return _gauss(q0, 0.5 * (qe_ridge + delta_ridge), phys.mar_width_a + phys.mar_width_b * q3)
    raise ValueError(
        f"mec_model {phys.mec_model!r} has no parametrised q0 profile; allowed: valencia, martini"
    )


def _default_mec_q3_envelope(phys: PhysicsConfig, q3: np.ndarray) -> np.ndarray:
    if phys.mec_model == "valencia":
        return np.where(q3 < phys.val_q3_cut, 1.0 / (1.0 + (q3 / phys.val_q_s) ** 4), 0.0)
    return np.where(q3 < phys.mar_q3_max, np.exp(-q3 / phys.mar_envelope_q3), 0.0)


def _empirical_density(enu, q0, q3, phys_ok) -> np.ndarray:
    """GENIE Empirical-MEC (q0, q3) density, unnormalised (physics.md §2.3a), zero outside ``phys_ok``."""
    q2 = q3**2 - q0**2
    lep = mec_lepton_factor(enu, q2)
    w2 = (q0 + C.M_CLUSTER) ** 2 - q3**2
    w_cl = np.sqrt(np.clip(w2, 1e-12, None))
    ok_e = phys_ok & (w2 > 0) & (q3 < EMPIRICAL_Q3_MAX)
    return np.where(
        ok_e,
        np.exp(-0.5 * ((w_cl - C.EMPIRICAL_MEC_MASS) / C.EMPIRICAL_MEC_WIDTH) ** 2)
        * q2
        * (1.0 + q2 / C.EMPIRICAL_MEC_MQ2D) ** -8
        * lep
        * 2.0
        * q3
        * C.M_CLUSTER
        / w_cl,
        0.0,
    )


def mec_densities(phys: PhysicsConfig, enu, q0, q3) -> tuple[np.ndarray, np.ndarray]:
    """(q0, q3) densities at fixed E of the default 2p2h model and of GENIE's Empirical MEC.

    Default: for ``mec_model == "genie_valencia"`` GENIE's own Valencia d²σ/dq0 dq3 per ¹²C from the hadron
    tensors (:mod:`nutune.simulator.valencia`, absolute, 1e-38 cm²/GeV²); for the parametrised models
    (physics.md §2.3b / §5) the unnormalised f_V = L(E, Q²)/E² · H(q0, q3). Empirical (GENIE
    ``EmpiricalMECPXSec2015``, physics.md §2.3a): f_E = exp[−½((W − 2.15)/0.05)²]·Q²(1 + Q²/0.4)⁻⁸·L(E, Q²)·
    |∂(W, Q²)/∂(q0, q3)| with W² = M₂² + 2M₂q0 − Q² for a cluster at rest and Jacobian 2q3M₂/W, unnormalised.
    Both vanish outside the physical region.
    """
    enu, q0, q3 = (np.asarray(a, dtype=float) for a in (enu, q0, q3))
    _, _, phys_ok = _lepton_kinematics(enu, q0, q3)
    if phys.mec_model == "genie_valencia":
        f_v = np.where(phys_ok, d2sigma_dq0_dq3(enu, q0, q3), 0.0)
    else:
        lep = mec_lepton_factor(enu, q3**2 - q0**2)
        shape = _default_mec_q0_shape(phys, q0, q3) * _default_mec_q3_envelope(phys, q3)
        f_v = np.where(phys_ok, lep / enu**2 * shape, 0.0)
    return f_v, _empirical_density(enu, q0, q3, phys_ok)


@lru_cache(maxsize=8)
def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


def _integrate_q0q3(density, enu: float, q3_max: float, n_q3: int, n_q0: int) -> float:
    """∫∫ density(E, q0, q3) dq0 dq3 over the physical region by Gauss–Legendre quadrature: q3 on (0, q3_max), at
    fixed (E, q3) q0 on the single interval (0, E − √((E − q3)² + m_μ²))."""
    xq, wq = _gauss_legendre(n_q0)
    x3, w3 = _gauss_legendre(n_q3)
    q3 = 0.5 * q3_max * (x3 + 1.0)
    q0_max = enu - np.sqrt((enu - q3) ** 2 + C.M_MUON**2)
    good = q0_max > 0
    if not good.any():
        return 0.0
    half = 0.5 * q0_max[good]
    q0 = half[:, None] * (xq[None, :] + 1.0)
    f = density(np.full(q0.shape, enu), q0, np.broadcast_to(q3[good][:, None], q0.shape))
    return float(0.5 * q3_max * np.sum(w3[good] * half * (f @ wq)))


def _mec_normalisers(phys: PhysicsConfig, e_grid: np.ndarray, n_q3: int = 400, n_q0: int = 160):
    """Z_V(E), Z_E(E): the integrals of :func:`mec_densities` over the physical region at each E of ``e_grid``.

    For ``genie_valencia`` Z_V is GENIE's total Valencia σ(E) (:func:`valencia.sigma_total`, the integral of the
    tensor density on a 5 MeV grid — the event record's σ_def of ``GReWeightXSecMEC``).
    """

    def empirical(enu, q0, q3):
        return _empirical_density(enu, q0, q3, _lepton_kinematics(enu, q0, q3)[2])

    def default(enu, q0, q3):
        return mec_densities(phys, enu, q0, q3)[0]

    z_e = np.array([_integrate_q0q3(empirical, e, EMPIRICAL_Q3_MAX, n_q3, n_q0) for e in e_grid])
    if phys.mec_model == "genie_valencia":
        return sigma_total(e_grid), z_e
    q3_max = _default_mec_q3_max(phys)
    z_v = np.array([_integrate_q0q3(default, e, q3_max, n_q3, n_q0) for e in e_grid])
    return z_v, z_e


def mec_energy_grid() -> np.ndarray:
    """E grid [GeV] on which the 2p2h and Δ normalisers are tabulated (fine below 3 GeV)."""
    return np.unique(np.concatenate([np.linspace(0.1, 3.0, 146), np.geomspace(3.0, 30.0, 40)]))


#: (q0, q3) cells [GeV] of the tensor-model proposal: 5 MeV squares on the hadron tensor's [0.01, 1.2]² grid.
_TENSOR_CELLS = 238
_TENSOR_UNIFORM_SHARE = 0.1


def _tensor_proposal_table(flux: T2KFlux) -> tuple[np.ndarray, float, np.ndarray]:
    """Cell edges, cell width and cell probabilities of the Valencia-tensor (q0, q3) proposal: the flux-averaged
    GENIE density at the cell centres (E at the flux-bin centres), mixed with 10 % uniform over the square."""
    edges = np.linspace(0.01, NSV_Q3_MAX, _TENSOR_CELLS + 1)
    width = float(edges[1] - edges[0])
    mid = 0.5 * (edges[1:] + edges[:-1])
    g0, g3 = np.meshgrid(mid, mid, indexing="ij")
    centres = 0.5 * (flux.edges[1:] + flux.edges[:-1])
    avg = np.zeros(g0.shape)
    for e, rate in zip(centres, flux.rate, strict=False):
        if rate > 0:
            avg += rate * d2sigma_dq0_dq3(e, g0, g3)
    prob = avg.ravel() / avg.sum()
    prob = (1.0 - _TENSOR_UNIFORM_SHARE) * prob + _TENSOR_UNIFORM_SHARE / prob.size
    return edges, width, prob


def _sample_default_mec_q0q3(phys: PhysicsConfig, flux: T2KFlux, rng: np.random.Generator, n: int):
    """(q0, q3) draws from the default model's proposal and a function giving that proposal's density."""
    if phys.mec_model == "genie_valencia":
        edges, width, prob = _tensor_proposal_table(flux)
        cells = rng.choice(prob.size, size=n, p=prob)
        i0, i3 = np.divmod(cells, _TENSOR_CELLS)
        q0 = edges[i0] + width * rng.random(n)
        q3 = edges[i3] + width * rng.random(n)

        def density(q0, q3):
            j0 = np.floor((q0 - edges[0]) / width).astype(int)
            j3 = np.floor((q3 - edges[0]) / width).astype(int)
            inside = (j0 >= 0) & (j0 < _TENSOR_CELLS) & (j3 >= 0) & (j3 < _TENSOR_CELLS)
            flat = np.where(inside, j0 * _TENSOR_CELLS + j3, 0)
            return np.where(inside, prob[flat] / width**2, 0.0)

        return q0, q3, density
    q3_max_v = _default_mec_q3_max(phys)
    q3 = q3_max_v * rng.random(n)
    qe_ridge = np.sqrt(q3**2 + C.M_NUCLEON**2) - C.M_NUCLEON
    de_ridge = np.sqrt(q3**2 + C.M_DELTA**2) - C.M_NUCLEON
    if phys.mec_model == "valencia":
        first = rng.random(n) < phys.val_f_nn
        mu = np.where(first, qe_ridge + phys.val_delta1, de_ridge + phys.val_delta2)
        sd = np.where(first, phys.val_sigma1_a + phys.val_sigma1_b * q3, phys.val_sigma2)
    else:
        mu = 0.5 * (qe_ridge + de_ridge)
        sd = phys.mar_width_a + phys.mar_width_b * q3
    q0 = mu + sd * rng.standard_normal(n)

    def density(q0, q3):
        return np.where(q3 < q3_max_v, _default_mec_q0_shape(phys, q0, q3) / q3_max_v, 0.0)

    return q0, q3, density


def generate_mec(
    phys: PhysicsConfig, flux: T2KFlux, binning: Binning, rng: np.random.Generator, n: int
) -> MECSample:
    """CC 2p2h on ¹²C: default-model and Empirical-shape weights from one mixture-sampled (q0, q3) sample.

    E_ν ~ flux × σ_V(E); (q0, q3) ~ ½ q_V + ½ q_E where q_V is the default model's proposal (for GENIE's Valencia
    tensors: the flux-averaged tensor density on 5 MeV cells plus 10 % uniform; for the parametrised models: q3
    uniform on the support, q0 from the model's q0 profile) and q_E samples q3 uniformly on [0.2, 2] GeV and
    W ~ N(2.15, 0.05) with q0 = √(W² + q3²) − M₂ (physics.md §4.2). Then w_V = σ_V(E)·p_V/q and
    w_E = σ_V(E)·p_E/q·1[p_V > 0] per ¹²C / 13 with p = f/Z normalised at each E, i.e. the Empirical shape at the
    *default* model's σ(E) on the default model's support — GENIE ``GReWeightXSecMEC::CalcWeightXSecShape``
    (§1.4) applied to Valencia-generated events. For the tensor model σ_V·p_V is GENIE's d²σ/dq0 dq3 itself.

    Hit-cluster kinematics (GENIE source, see ``calibration.py``): the muon of a Valencia event is drawn in the
    lab at the lab E_ν (``MECGenerator::SelectNSVLeptonKinematics``; the cluster's Fermi momentum and removal
    energies enter only the hadron system, ``GenerateNSVInitialHadrons``), and the XSecShape weight evaluates the
    Empirical density for a cluster *at rest* with its PDG mass ≈ 2M (``Target::SetHitNucPdg`` resets the hit
    cluster 4-momentum to (0, 0, 0, M_cluster); W stored with 2M), hence M₂ = 2M at rest and lab E here.
    """
    e_grid = mec_energy_grid()
    z_v_tab, z_e_tab = _mec_normalisers(phys, e_grid)
    if phys.mec_model == "genie_valencia":
        sigma_fn = lambda e: np.interp(e, e_grid, z_v_tab, left=0.0)  # noqa: E731
    elif phys.mec_model == "valencia":
        sigma_fn = lambda e: sigma_valencia(e, phys)  # noqa: E731
    else:
        sigma_fn = lambda e: sigma_martini(e, phys)  # noqa: E731
    enu, w_flux = sample_energy(flux, rng, n, sigma_fn)
    use_v = rng.random(n) < 0.5
    q0_v, q3_v, density_v = _sample_default_mec_q0q3(phys, flux, rng, n)
    # component E: q3 uniform, W Gaussian
    q3_e = _EMPIRICAL_Q3_MIN + (EMPIRICAL_Q3_MAX - _EMPIRICAL_Q3_MIN) * rng.random(n)
    w_cl = C.EMPIRICAL_MEC_MASS + C.EMPIRICAL_MEC_WIDTH * rng.standard_normal(n)
    q0_e = np.sqrt(w_cl**2 + q3_e**2) - C.M_CLUSTER
    q0 = np.where(use_v, q0_v, q0_e)
    q3 = np.where(use_v, q3_v, q3_e)
    # mixture proposal density in (q0, q3)
    w2 = (q0 + C.M_CLUSTER) ** 2 - q3**2
    w_at = np.sqrt(np.clip(w2, 1e-12, None))
    in_e = (w2 > 0) & (q3 >= _EMPIRICAL_Q3_MIN) & (q3 < EMPIRICAL_Q3_MAX)
    dens_e = np.where(
        in_e,
        _gauss(w_at, C.EMPIRICAL_MEC_MASS, C.EMPIRICAL_MEC_WIDTH)
        * (q0 + C.M_CLUSTER)
        / w_at
        / (EMPIRICAL_Q3_MAX - _EMPIRICAL_Q3_MIN),
        0.0,
    )
    proposal = 0.5 * density_v(q0, q3) + 0.5 * dens_e
    f_v, f_e = mec_densities(phys, enu, q0, q3)
    z_v = np.interp(enu, e_grid, z_v_tab)
    z_e = np.interp(enu, e_grid, z_e_tab)
    sigma = sigma_fn(enu)
    base = sigma * w_flux / (C.NUCLEONS_PER_CH * n) / np.where(proposal > 0, proposal, 1.0)
    w_v = np.where((z_v > 0) & (proposal > 0), base * f_v / np.where(z_v > 0, z_v, 1.0), 0.0)
    w_e = np.where((z_e > 0) & (proposal > 0), base * f_e / np.where(z_e > 0, z_e, 1.0), 0.0)
    # GENIE reweights only events the default model generated (GReWeightXSecMEC::CalcWeightXSecShape acts on
    # Valencia events; MECGenerator::SelectNSVLeptonKinematics never accepts q3 ≥ NSV-Q3Max = 1.2 GeV), so the
    # Empirical density — still normalised over its full phase space, as GENIE integrates it — only counts where
    # p_V > 0: the x = 1 template is σ_V(E)·p_E·1[p_V > 0], not σ_V(E)·p_E.
    w_e = np.where(f_v > 0, w_e, 0.0)
    p_mu, cos_mu, ok, bin67 = _observed_muon(enu, q0, q3, phys, binning)
    keep = ok & (bin67 >= 0) & ((w_v > 0) | (w_e > 0)) & (p_mu > 0)
    return MECSample(
        enu=enu[keep],
        q0=q0[keep],
        q3=q3[keep],
        p_mu=p_mu[keep],
        cos_mu=cos_mu[keep],
        bin67=bin67[keep],
        w_v=w_v[keep],
        w_e=w_e[keep],
        n_thrown=n,
    )


# --------------------------------------------------------------------------------------------------------------
# Δ production followed by pion absorption
# --------------------------------------------------------------------------------------------------------------
_W_MIN, _W_MAX = 1.08, 1.60


def _res_q2_limits(enu, w):
    s = C.M_NUCLEON**2 + 2.0 * C.M_NUCLEON * enu
    rs = np.sqrt(s)
    k_cm = (s - C.M_NUCLEON**2) / (2.0 * rs)
    e_mu = (s + C.M_MUON**2 - w**2) / (2.0 * rs)
    p_mu = np.sqrt(np.clip(e_mu**2 - C.M_MUON**2, 0.0, None))
    return -(C.M_MUON**2) + 2.0 * k_cm * (e_mu - p_mu), -(C.M_MUON**2) + 2.0 * k_cm * (e_mu + p_mu)


def _res_density(phys: PhysicsConfig, enu, w, q2):
    """d²σ/dW dQ² shape (physics.md §2.4): BW(W)·(1 + Q²/M_A,RES²)⁻⁴·[(s−u)²τ/(1+τ) + Q²]/E²."""
    half = 0.5 * C.GAMMA_DELTA
    bw = half**2 / ((w - C.M_DELTA) ** 2 + half**2)
    tau = q2 / (4.0 * C.M_NUCLEON**2)
    su = 4.0 * C.M_NUCLEON * enu - q2 - C.M_MUON**2
    return bw * (1.0 + q2 / phys.ma_res**2) ** -4 * (su**2 * tau / (1.0 + tau) + q2) / enu**2


def _w_upper(enu):
    rs = np.sqrt(C.M_NUCLEON**2 + 2.0 * C.M_NUCLEON * enu)
    return np.minimum(_W_MAX, rs - C.M_MUON)


def _res_normaliser(phys: PhysicsConfig, e_grid: np.ndarray, n_w: int = 96, n_q2: int = 96) -> np.ndarray:
    """Z_R(E) = ∫ dW ∫ dQ² of :func:`_res_density` over W ∈ [1.08, min(1.6, √s − m_μ)] and the two-body Q² range."""
    xw, ww = np.polynomial.legendre.leggauss(n_w)
    xq, wq = np.polynomial.legendre.leggauss(n_q2)
    out = np.zeros(e_grid.size)
    for i, enu in enumerate(e_grid):
        w_hi = _w_upper(enu)
        if w_hi <= _W_MIN:
            continue
        w = 0.5 * (w_hi - _W_MIN) * (xw + 1.0) + _W_MIN
        lo, hi = _res_q2_limits(enu, w)
        q2 = 0.5 * (hi - lo)[:, None] * (xq[None, :] + 1.0) + lo[:, None]
        f = _res_density(phys, enu, w[:, None], q2)
        out[i] = 0.5 * (w_hi - _W_MIN) * np.sum(ww * 0.5 * (hi - lo) * (f @ wq))
    return out


def generate_res(
    phys: PhysicsConfig, flux: T2KFlux, binning: Binning, rng: np.random.Generator, n: int
) -> RESSample:
    """The π-absorbed resonance background of ``phys.res_model`` (GENIE's Berger–Sehgal or the Δ fit)."""
    if phys.res_model == "genie_berger_sehgal":
        return _generate_res_berger_sehgal(phys, flux, binning, rng, n)
    if phys.res_model != "delta_parametrised":
        raise ValueError(f"res_model={phys.res_model!r}; allowed: genie_berger_sehgal, delta_parametrised")
    return _generate_res_delta(phys, flux, binning, rng, n)


@lru_cache(maxsize=2)
def _berger_sehgal_sigma_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(E grid, σ_p(E), σ_n(E)) [GeV, 1e-38 cm²]: GENIE's free-nucleon RES splines (all 18 resonances)."""
    from nutune.simulator import res_bergersehgal as bs

    grid = np.unique(np.concatenate([np.linspace(0.2, 3.0, 57), np.geomspace(3.0, 30.0, 16)]))
    return grid, bs.sigma_res(grid, "p"), bs.sigma_res(grid, "n")


#: Share of the W proposal drawn from the Δ(1232) Breit–Wigner (the rest is uniform up to Wcut).
_RES_BW_SHARE = 0.75


def _generate_res_berger_sehgal(
    phys: PhysicsConfig, flux: T2KFlux, binning: Binning, rng: np.random.Generator, n: int
) -> RESSample:
    """GENIE G18_10a RES on the ¹²C nucleons of CH, the pion absorbed with probability ``p_abs`` (``res_absorption``
    "constant") or with its own hA2018 probability P_interact·f_abs (``res_absorption`` "genie_ha2018", the nominal).

    d²σ/dW dQ² is GENIE's ``BergerSehgalRESPXSec2014`` of G18_10a_02_11a on a free nucleon at rest
    (:mod:`nutune.simulator.res_bergersehgal`: 18 resonances, RES-Ma 1.065, RES-CC-XSecScale 0.877, Wcut 1.928;
    GENIE's nuclear RES spline is Z·σ_p + N·σ_n of these). Importance sampling: E_ν from the flux × (σ_p + σ_n),
    the nucleon p or n by σ_p/(σ_p + σ_n) at that E, W from 75 % Δ Breit–Wigner + 25 % uniform on
    [M + m_π⁰, min(Wcut, √s − m_μ)], Q² ∝ (1 + Q²/M_A²)⁻² on GENIE's limits; weight = 6/13 · p_abs · d²σ /
    (proposal densities) per CH nucleon. Not reproduced (documented in calibration.py): the hit nucleon's Fermi
    motion and removal energy in the event kinematics (LocalFGM; they smear, not change, the rate), the 0.6 %
    Δ⁺ → pγ branch, the W-dependence of the absorption probability and the non-resonant Nπ background.
    """
    from nutune.simulator import res_bergersehgal as bs

    grid, sig_p, sig_n = _berger_sehgal_sigma_table()
    total = sig_p + sig_n
    enu, w_flux = sample_energy(flux, rng, n, lambda e: np.interp(e, grid, total))
    frac_p = np.interp(enu, grid, np.divide(sig_p, total, out=np.zeros_like(total), where=total > 0))
    is_p = rng.random(n) < frac_p
    p_nucleon = np.where(is_p, frac_p, 1.0 - frac_p)
    m_n = np.where(is_p, C.M_PROTON, C.M_NEUTRON)
    w_lo = C.M_NUCLEON + 0.1349768
    w_hi = np.minimum(bs.WCUT, np.sqrt(m_n**2 + 2.0 * m_n * enu) - C.M_MUON)
    ok = w_hi > w_lo + 1e-6
    w_hi = np.where(ok, w_hi, w_lo + 1e-3)
    half = 0.5 * C.GAMMA_DELTA
    a_lo, a_hi = np.arctan((w_lo - C.M_DELTA) / half), np.arctan((w_hi - C.M_DELTA) / half)
    from_bw = rng.random(n) < _RES_BW_SHARE
    u = rng.random(n)
    w = np.where(from_bw, C.M_DELTA + half * np.tan(a_lo + u * (a_hi - a_lo)), w_lo + u * (w_hi - w_lo))
    dens_w = _RES_BW_SHARE * (half / ((w - C.M_DELTA) ** 2 + half**2)) / (a_hi - a_lo) + (
        1.0 - _RES_BW_SHARE
    ) / (w_hi - w_lo)
    q2 = np.zeros(n)
    dens_q2 = np.ones(n)
    d2 = np.zeros(n)
    a2 = phys.ma_res**2
    for nucleon, mask in (("p", is_p & ok), ("n", ~is_p & ok)):
        lo, hi = bs.q2_limits(enu[mask], w[mask], nucleon)
        good = hi > lo
        q2_m, dens = _sample_dipole_q2(rng, lo, hi, a2)
        q2[mask] = q2_m
        dens_q2[mask] = np.where(good, dens, 1.0)
        d2[mask] = np.where(good, bs.d2sigma_dw_dq2(enu[mask], w[mask], q2_m, nucleon), 0.0)
    per_ch = C.NEUTRONS_C12 / C.NUCLEONS_PER_CH  # 6 protons or 6 neutrons of ¹²C per 13 CH nucleons
    weight = np.where(ok, w_flux * per_ch * phys.p_abs * d2 / (p_nucleon * dens_w * dens_q2) / n, 0.0)
    sample = _res_sample(phys, binning, enu, w, q2, m_n, weight, ok, n, is_p=is_p)
    sample.ma_anchor_ratio = _res_ma_anchor_ratio(sample, d2[sample.meta.pop("kept")])
    m_kept = np.where(sample.is_p, C.M_PROTON, C.M_NEUTRON)
    sample.pion_ke = decay_pion_kinetic_energy(sample.w_had, sample.q0, sample.q3, m_kept, rng)
    _add_pion_paths(sample, rng)
    if phys.res_absorption == "genie_ha2018":
        from nutune.simulator.pion_fsi import fate_fractions

        f_abs = fate_fractions(sample.pion_ke)[2]
        sample.w = sample.w * sample.interaction_probability() * f_abs / phys.p_abs
    elif phys.res_absorption != "constant":
        raise ValueError(f"res_absorption={phys.res_absorption!r}; allowed: constant, genie_ha2018")
    sample.meta["absorption"] = phys.res_absorption
    return sample


def _add_pion_paths(sample: RESSample, rng: np.random.Generator) -> None:
    """The decay pion's optical depth out of the nucleus as π⁺ and π⁰ and its π⁰ probability (two uniforms per
    event, drawn after every other RES draw): vertex radius ∝ r²ρ_C12, direction isotropic relative to it, the A = 11
    remnant's density and Z/A (6/11 after a neutron, 5/11 after a proton), GENIE's πN totals
    (:func:`nutune.simulator.pion_fsi.optical_depth`). ν p → Δ⁺⁺ → p π⁺; ν n → Δ⁺ → p π⁰ (2/3) or n π⁺, an
    I = 1/2 N* → p π⁰ (1/3) or n π⁺, weighted by the Δ(1232) share of the event's d²σ."""
    from nutune.simulator import pion_fsi
    from nutune.simulator import res_bergersehgal as bs

    n = sample.w.size
    r0 = pion_fsi.sample_vertex_radius(rng, n)
    cos_alpha = 2.0 * rng.random(n) - 1.0
    z_over_a = np.where(sample.is_p, 5.0 / 11.0, 6.0 / 11.0)
    column = pion_fsi.path_density(r0, cos_alpha)
    sample.pion_tau = np.stack([pion_fsi.sigma_pion_nucleon(sample.pion_ke, c, z_over_a) * column
                                for c in ("pi+", "pi0")])
    on_n = ~sample.is_p
    args = (sample.enu[on_n], sample.w_had[on_n], sample.q2[on_n], "n")
    delta_share = bs.d2sigma_dw_dq2_per_resonance(*args, "P33(1232)") / bs.d2sigma_dw_dq2(*args)
    sample.p_pi0 = np.zeros(n)
    sample.p_pi0[on_n] = delta_share * (2.0 / 3.0) + (1.0 - delta_share) / 3.0


def decay_pion_kinetic_energy(w: np.ndarray, q0: np.ndarray, q3: np.ndarray, m_n: np.ndarray | float,
                              rng: np.random.Generator) -> np.ndarray:
    """Lab kinetic energy [GeV] of the pion of R → N π for a resonance of mass W and lab momentum q3 along q̂ (hit
    nucleon of mass ``m_n`` at rest): two-body decay isotropic in the resonance rest frame (one uniform per event,
    drawn after every other RES draw, so the RES events and weights do not depend on it), then boosted. GENIE
    decays resonances with ``BaryonResonanceDecayer``; its Δ angular distribution is not reproduced (documented in
    ``calibration.py``). The pion's KE sets its hA2018 fate fractions (:mod:`nutune.simulator.pion_fsi`)."""
    m_pi = C.M_PION
    w2 = w * w
    p_star = np.sqrt(np.clip((w2 - (m_n + m_pi) ** 2) * (w2 - (m_n - m_pi) ** 2), 0.0, None)) / (2.0 * w)
    e_star = np.sqrt(p_star**2 + m_pi**2)
    cos_star = 2.0 * rng.random(w.size) - 1.0
    gamma, beta_gamma = (m_n + q0) / w, q3 / w
    return gamma * e_star + beta_gamma * p_star * cos_star - m_pi


def _res_ma_anchor_ratio(sample: RESSample, d2_nominal: np.ndarray) -> np.ndarray:
    """(2, n) d²σ(E, W, Q²; RES-Ma = a)/d²σ(nominal) of the kept events (nominal d²σ given) for a in
    :data:`RES_MA_ANCHORS` (GENIE's ``BergerSehgalRESPXSec2014`` recomputed with only RES-Ma changed, as
    ``GReWeightNuXSecCCRES`` does)."""
    from nutune.simulator import res_bergersehgal as bs

    out = np.ones((len(RES_MA_ANCHORS), sample.w.size))
    for nucleon, mask in (("p", sample.is_p), ("n", ~sample.is_p)):
        args = (sample.enu[mask], sample.w_had[mask], sample.q2[mask], nucleon)
        nominal = d2_nominal[mask]
        for k, ma in enumerate(RES_MA_ANCHORS):
            out[k, mask] = bs.d2sigma_dw_dq2(*args, ma=ma) / nominal
    return out


def _sample_dipole_q2(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, a2: float):
    """Q² ∝ (1 + Q²/M_A²)⁻² on [lo, hi] by inverse CDF (one uniform per entry): (Q², its proposal density);
    the density is finite (normalised to 1 instead of 0) where the range is empty."""
    y_lo, y_hi = 1.0 / (1.0 + lo / a2), 1.0 / (1.0 + hi / a2)
    y = y_lo - rng.random(lo.size) * (y_lo - y_hi)
    q2 = a2 * (1.0 / y - 1.0)
    return q2, (1.0 + q2 / a2) ** -2 / (a2 * np.where(y_lo > y_hi, y_lo - y_hi, 1.0))


def _res_sample(phys, binning, enu, w, q2, m_n, weight, ok, n, is_p=None) -> RESSample:
    """The kept RES events: q0 = (W² − M² + Q²)/2M on a nucleon of mass ``m_n`` at rest, the observed muon, the
    signal bins (and, with ``is_p``, the generated W, Q² and hit nucleon)."""
    q0 = (w**2 - m_n**2 + q2) / (2.0 * m_n)
    q3 = np.sqrt(q2 + q0**2)
    p_mu, cos_mu, kin_ok, bin67 = _observed_muon(enu, q0, q3, phys, binning)
    keep = ok & kin_ok & (bin67 >= 0) & (weight > 0) & (p_mu > 0)
    return RESSample(
        enu=enu[keep],
        q0=q0[keep],
        q3=q3[keep],
        p_mu=p_mu[keep],
        cos_mu=cos_mu[keep],
        bin67=bin67[keep],
        w=weight[keep],
        n_thrown=n,
        meta={} if is_p is None else {"kept": keep},
        w_had=None if is_p is None else w[keep],
        q2=None if is_p is None else q2[keep],
        is_p=None if is_p is None else is_p[keep],
    )


def _generate_res_delta(
    phys: PhysicsConfig, flux: T2KFlux, binning: Binning, rng: np.random.Generator, n: int
) -> RESSample:
    """Δ production on ¹²C nucleons with the pion absorbed: P_abs·σ_Δ(E)·12/13 per CH nucleon (physics.md §2.4).

    W ~ Breit–Wigner truncated to [1.08, min(1.6, √s − m_μ)], Q² ~ (1 + Q²/M_A,RES²)⁻² truncated to the two-body
    range (both by inverse CDF); weight = target density / proposal, normalised per E with a tabulated Z_R(E).
    """
    enu, w_flux = sample_energy(flux, rng, n, lambda e: sigma_delta(e, phys))
    half = 0.5 * C.GAMMA_DELTA
    w_hi = _w_upper(enu)
    ok = w_hi > _W_MIN
    w_hi = np.where(ok, w_hi, _W_MIN + 1e-6)
    a_lo = np.arctan((_W_MIN - C.M_DELTA) / half)
    a_hi = np.arctan((w_hi - C.M_DELTA) / half)
    w = C.M_DELTA + half * np.tan(a_lo + rng.random(n) * (a_hi - a_lo))
    dens_w = (half**2 / ((w - C.M_DELTA) ** 2 + half**2)) / (half * (a_hi - a_lo))
    lo, hi = _res_q2_limits(enu, w)
    lo = np.clip(lo, 0.0, None)
    q2, dens_q2 = _sample_dipole_q2(rng, lo, hi, phys.ma_res**2)
    e_grid = mec_energy_grid()
    z_r = np.interp(enu, e_grid, _res_normaliser(phys, e_grid))
    ok &= (z_r > 0) & (hi > lo)
    target = _res_density(phys, enu, w, q2) / np.where(z_r > 0, z_r, 1.0)
    sigma = phys.p_abs * sigma_delta(enu, phys) * (C.NUCLEONS_C12 / C.NUCLEONS_PER_CH)
    weight = np.where(ok, sigma * w_flux * target / (dens_w * dens_q2) / n, 0.0)
    return _res_sample(phys, binning, enu, w, q2, C.M_NUCLEON, weight, ok, n)
