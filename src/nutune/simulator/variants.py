"""Physics switches of the built-in simulator: ``nominal`` (the 4-dial GENIE-like model) and ``nuwro_like``.

Both variants run through the *same* event generator, binning, normalisation and template code; only the physics
constants below differ (physics.md §5: "implement the alternative as the same code with a physics_variant
switch"). Every field is hashed into the template cache key, so changing a constant invalidates cached templates.

nominal (GENIE G18_10a_02_11a as GENIE v3.0.6 computes it; see ``calibration.py`` for the measured effect)
    CCQE: GENIE's ``NievesQELCCPXSec`` on ``LocalFGM`` (:mod:`qe_nieves`: ¹²C MHO local Fermi gas, GENIE's binding
    prescription with E_b = 25 MeV, the Nieves tensor contraction with the (q0, q3, ρ) RPA of :mod:`nieves_rpa`,
    de Forest q̃, BBA07 vector and dipole axial form factors at Q̃², the Nieves Coulomb correction without a muon
    momentum shift, and ``QELEventGenerator``'s radius and cosθ₀ sampling). 2p2h: GENIE's Valencia hadron tensors
    (:mod:`valencia`) with the 1.2 GeV q3 limit; Empirical MEC shape for XSecShape_CCMEC. Background: π-absorbed
    Δ production (P_abs = 0.20, RES M_A = 1.065 GeV), a parametrised stand-in (GENIE's Berger–Sehgal + hA2018
    is not reproduced; hA2018's absorption probability for Δ-decay pions is ≈ 0.20–0.22, README). The earlier
    parametrised model (Llewellyn Smith × Nieves RPA on an LFG with ε = 27 MeV and a −3 MeV Coulomb shift,
    Valencia-like 2p2h) is the :data:`PROTOTYPE`-style ``llewellyn_smith`` / ``valencia`` path.

nuwro_like (physics.md §5)
    Local Fermi gas from the ¹²C modified-harmonic-oscillator density (de Vries et al., ADNDT 36, 495 (1987)),
    ε = 20 MeV, BBBA05 vector form factors with G_E^n (Bradford et al., NPB PS 159, 127 (2006)), no RPA,
    Martini-like 2p2h without a q3 cut (Martini et al., PRC 80, 065501 (2009)), P_abs = 0.30, M_A,RES = 0.94 GeV,
    Coulomb shift of the muon momentum by −3 MeV.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = [
    "PhysicsConfig",
    "PROTOTYPE",
    "NOMINAL",
    "NUWRO_LIKE",
    "VARIANTS",
    "get_physics",
    "UnknownVariantError",
]


class UnknownVariantError(ValueError):
    """Raised for a ``variant`` that is not one of :data:`VARIANTS`."""


@dataclass(frozen=True)
class PhysicsConfig:
    """All physics constants of one simulator variant (GeV units; see the module docstring for sources)."""

    name: str
    # --- nuclear ground state (physics.md §2.1) ---
    nuclear_model: str = "rfg"  # "rfg" (global k_F) or "lfg" (k_F(r) from the 12C charge density)
    k_fermi: float = 0.221  # GENIE FermiMomentumTables.xml, 12C
    binding_energy: float = 0.025  # GENIE RFG removal energy for 12C
    mho_alpha: float = 1.08  # 12C modified harmonic oscillator (de Vries 1987)
    mho_a_fm: float = 1.69
    coulomb_shift: float = 0.0  # shift of the outgoing muon momentum [GeV] (negative = slower mu-)
    coulomb_qe_only: bool = False  # GENIE: only NievesQELCCPXSec corrects the lepton (MEC and RES do not)
    # --- CCQE model ---
    qe_model: str = "llewellyn_smith"  # "llewellyn_smith" (× RPA ratio) or "genie_nieves" (qe_nieves.py)
    genie_qel_sampling: bool = False  # genie_nieves: emulate QELEventGenerator's r and cosθ₀ sampling
    # --- form factors ---
    vector_ff: str = "dipole"  # "dipole" (G_E^n = 0), "galster", "bbba05"
    # --- RPA (physics.md §2.2, NUISANCE BeRPA.h) ---
    rpa: str = "berpa"  # "berpa" (T2K BeRPA(Q²)), "nieves" ((q0, q3, ρ) Nieves RPA as in GENIE) or "none"
    nieves_rpa_floor: float = (
        1.0 / 3.0
    )  # lower clip of the Nieves R: GENIE-exact linearity for strength ≤ 1.5
    berpa_a: float = 0.59
    berpa_b: float = 1.05
    berpa_d: float = 1.13
    berpa_e: float = 0.88
    berpa_u: float = 1.2
    # --- 2p2h (physics.md §2.3) ---
    mec_model: str = "valencia"  # "genie_valencia" (GENIE's hadron tensors), "valencia" (parametrised), "martini"
    val_delta1: float = 0.06
    val_sigma1_a: float = 0.05
    val_sigma1_b: float = 0.06
    val_delta2: float = -0.04
    val_sigma2: float = 0.09
    val_f_nn: float = 0.5
    val_q_s: float = 0.55
    val_q3_cut: float = 1.2
    val_sigma_norm: float = 1.8  # sigma_V(E) plateau per 12C [1e-38 cm2]
    val_sigma_e0: float = 0.12
    val_sigma_scale: float = 0.75
    val_sigma_power: float = 1.6
    mar_sigma_norm: float = 2.6
    mar_sigma_e0: float = 0.12
    mar_sigma_scale: float = 0.9
    mar_sigma_power: float = 1.3
    mar_width_a: float = 0.08
    mar_width_b: float = 0.05
    mar_envelope_q3: float = 0.6
    mar_q3_max: float = 2.5  # support of the Martini-like density (envelope e^{-q3/0.6} < 2e-2 beyond)
    # --- pion-absorption background (physics.md §2.4) ---
    # "delta_parametrised" (physics.md §2.4: σ_Δ(E) fit, BW × dipole shape) or "genie_berger_sehgal" (GENIE's
    # BergerSehgalRESPXSec2014 of G18_10a_02_11a, all 18 resonances, :mod:`nutune.simulator.res_bergersehgal`)
    res_model: str = "delta_parametrised"
    p_abs: float = 0.20
    #: "constant": every RES event's pion absorbed with probability p_abs; "genie_ha2018": with its own
    #: probability P_interact(KE, path)·f_abs(KE) from GENIE's hA2018 (nutune.simulator.pion_fsi)
    res_absorption: str = "constant"
    ma_res: float = 1.065  # G18_10a RES-Ma
    delta_sigma_norm: float = 0.55  # sigma_Delta(E) plateau per nucleon [1e-38 cm2]
    delta_threshold: float = 0.28
    delta_scale: float = 0.70

    def as_dict(self) -> dict:
        """Plain dict of every constant (for cache keys and metadata)."""
        return dataclasses.asdict(self)


#: physics.md §2 prototype physics (RFG, ε_B = 25 MeV, no Coulomb); kept for tests and calibration records.
PROTOTYPE = PhysicsConfig(name="prototype")

NOMINAL = PhysicsConfig(
    name="nominal",
    nuclear_model="lfg",
    qe_model="genie_nieves",
    genie_qel_sampling=True,
    binding_energy=0.025,
    coulomb_shift=0.0,
    coulomb_qe_only=True,
    vector_ff="bba07",
    rpa="nieves",
    mec_model="genie_valencia",
    res_model="genie_berger_sehgal",
    res_absorption="genie_ha2018",
)

NUWRO_LIKE = PhysicsConfig(
    name="nuwro_like",
    nuclear_model="lfg",
    binding_energy=0.020,
    coulomb_shift=-0.003,
    vector_ff="bbba05",
    rpa="none",
    mec_model="martini",
    p_abs=0.30,
    ma_res=0.94,
)

VARIANTS: dict[str, PhysicsConfig] = {"nominal": NOMINAL, "nuwro_like": NUWRO_LIKE}


def get_physics(variant: str) -> PhysicsConfig:
    """Return the :class:`PhysicsConfig` of ``variant`` (``"nominal"`` or ``"nuwro_like"``)."""
    try:
        return VARIANTS[variant]
    except (KeyError, TypeError):
        raise UnknownVariantError(
            f"variant={variant!r} is not a built-in simulator physics variant; allowed: {', '.join(VARIANTS)}"
        ) from None
