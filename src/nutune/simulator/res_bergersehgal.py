"""GENIE R-3_00_06 ``BergerSehgalRESPXSec2014`` (tune G18_10a_02_11a): νμ CC resonance production on free nucleons.

This is a line-by-line numpy transcription of ``BSKLNBaseRESPXSec2014::XSec`` (file
``src/Physics/Resonance/XSection/BSKLNBaseRESPXSec2014.cxx``; ``BergerSehgalRESPXSec2014`` only sets
``fKLN = false, fBRS = true``) in GENIE's phase space ``kPSWQ2fE``, i.e. d²σ/dW dQ² for a neutrino of energy E
on a free nucleon at rest, together with the integration performed by ``ReinSehgalRESXSecFast`` /
``ReinSehgalRESXSecWithCacheFast`` (``d2XSecRESFast_dWQ2_E``) that builds GENIE's free-nucleon RES splines.

What GENIE does (νμ CC, all in the nucleon rest frame; GENIE's ``q2`` is q² = −Q² < 0 and GENIE's ``Q2`` is the
three-momentum transfer squared |q|² = ν² + Q², called ``qv2`` here):

1. ``ValidKinematics``: E above threshold, W inside ``KPhaseSpace::WLim`` = ``kinematics::InelWLim`` =
   [M_n + 1e-6 + 1e-6, √s − m_μ − 1e-6] (note: the *neutron* mass plus ``kPhotontest``, not M + m_π) and Q²
   inside ``kinematics::InelQ2Lim_W`` (``src/Framework/Utils/KineUtils.cxx``) with Q²_min ≥ ``kMinQ2Limit`` = 1e-4.
2. DIS/RES joining: σ = 0 for W ≥ Wcut (``UseDRJoinScheme`` true, ``Wcut`` = 1.927862).
3. Only Δ (I = 3/2) resonances for ν p (charge +2); all 18 resonances for ν n.
4. NeuGEN W window: σ = 0 for W > M_R + x·Γ_R with x = 6 (IR = 0), 2 (IR = 2), but GENIE's ``if / else if``
   chain ends with an unconditional ``else if (W > MR + fGnResMaxNWidths*WR)`` (x = 4) that also fires for IR = 0,
   so the Δ(1232) is in fact cut at M + 4Γ = 1.700 GeV while its Breit-Wigner norm is integrated to M + 6Γ.
   We follow the code.
5. Kinematics, form factors (MiniBooNE ``minibooneGV``/``minibooneGA`` = true: C₃ᵛ,C₄ᵛ,C₅ᵛ and C₅ᴬ = 1.2
   dipole), FKR parameters (``RES-Omega`` = 1.05, ``RES-Zeta`` = 0.76338), Berger-Sehgal (BRS) lepton-mass
   helicity decomposition with the pion-pole terms in B and C (1/(m_π² − q²)), Rein-Sehgal helicity amplitudes of
   ``RSHelicityAmplModelCC::Compute`` evaluated twice (λ = ±, i.e. with the ``BRS_{S,B,C}_{plus,minus}`` FKR sets),
   σ = σ₀ Σ_λ (c_L,λ² σ_L,λ + c_R,λ² σ_R,λ + c_S,λ² σ_S,λ).
6. × 3 for Δ-type resonances on a proton (isospin: ν p → Δ⁺⁺ is 3× ν n → Δ⁺), × the Breit-Wigner
   ``utils::bwfunc::BreitWignerL`` with an L-dependent width Γ(W) = Γ₀ (q_π(W)/q_π(M_R))^{2L+1}
   (computed with ``kNucleonMass`` and ``kPi0Mass``), normalised by ``utils::res::BWNorm`` (Simpson integral
   of the same function from W = 0.001 to M_R + x·Γ_R with x = 6/2/4 for IR = 0/2/other).
7. × ``RES-CC-XSecScale`` = 0.877255 (tuned, G18_10a_02_11a ``Tunable`` set).
8. Pauli blocking: off (``NoPauliBlock`` → ``UsePauliBlockingForRES`` = false); for the free-nucleon xsec the
   branch is never reached anyway (``kIAssumeFreeNucleon`` / A = 1).

Units: d²σ/dW dQ² is returned in 10⁻³⁸ cm²/GeV³ and σ in 10⁻³⁸ cm², converted as GENIE does,
xsec/(1e-38 · units::cm2) with ``units::cm = 0.01 · 5.07e15 GeV⁻¹`` (``src/Framework/Conventions/Units.h``),
i.e. 1 GeV⁻² = 0.38903e-27 cm² (0.09 % below the exact 0.389379 mb).

Parameters of G18_10a_02_11a and their files (GENIE R-3_00_06, paths relative to the repository root):

* ``config/G18_10a/ModelConfiguration.xml``: ``XSecModel@genie::EventGenerator/RES-CC`` =
  ``genie::BergerSehgalRESPXSec2014/NoPauliBlock``.
* ``config/G18_10a/G18_10a_02_11a/CommonParam.xml``: ``Tunable``: ``RES-Ma`` = 1.065047,
  ``RES-CC-XSecScale`` = 0.877255 (``Algorithm::Configure`` adds ``Tunable`` with *top* priority,
  ``src/Framework/Algorithm/Algorithm.cxx``); ``NonResBackground``: ``Wcut`` = 1.927862,
  ``UseDRJoinScheme`` = true; ``CKM``: ``CKM-Vud`` = 0.97417; ``Resonances``: ``ResonanceNameList`` (18).
* ``config/BergerSehgalRESPXSec2014.xml`` ``Default``: ``RES-Mv`` = 0.840, ``RES-Omega`` = 1.05,
  ``RES-Zeta`` = 0.76338, ``minibooneGA`` = ``minibooneGV`` = true (``RES-Ma`` = 1.120 and
  ``RES-CC-XSecScale`` = 1.0 there are overridden by ``Tunable``); ``BreitWignerWeight``/``BreitWignerNorm``
  and ``MaxNWidthFor{N0,N2,GN}Res`` take the code defaults (true, true, 6, 2, 4).
* ``config/ReinSehgalRESXSecFast.xml`` ``NoPauliBlock``: ``UsePauliBlockingForRES`` = false.
* ``src/Framework/ParticleData/BaryonResUtils.cxx``: resonance masses, widths, L, index IR, BWNorm.
* ``src/Framework/Conventions/Constants.h``: G_F, particle masses, the truncated √ constants (kSqrt2 = 1.4142136…).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = [
    "RES_MA",
    "RES_MV",
    "RES_OMEGA",
    "RES_ZETA",
    "RES_CC_XSEC_SCALE",
    "WCUT",
    "Resonance",
    "RESONANCES",
    "RESONANCE_NAMES",
    "DELTA_NAMES",
    "breit_wigner_l",
    "bw_norm",
    "w_limits",
    "q2_limits",
    "energy_threshold",
    "d2sigma_dw_dq2",
    "d2sigma_dw_dq2_per_resonance",
    "sigma_res",
    "sigma_res_per_resonance",
    "DELTA_DECAY_BR",
    "two_body_pion_kinetic_energy",
    "GEV2_TO_1E38CM2",
    "vector_form_factor_ratio",
]

# --------------------------------------------------------------------------------------------------------------
# Constants (src/Framework/Conventions/Constants.h, Controls.h, Units.h of GENIE R-3_00_06)
# --------------------------------------------------------------------------------------------------------------
#: Fermi constant [GeV⁻²] (Constants.h ``kGF``).
G_FERMI = 1.16639e-5
#: |V_ud| (config/G18_10a/G18_10a_02_11a/CommonParam.xml, ``CKM-Vud``).
V_UD = 0.97417
#: Masses [GeV] (Constants.h; identical to data/evgen/catalogues/pdg/genie_pdg_table.txt used by
#: ``Target::HitNucMass`` and ``FSPrimLepton()->Mass()``).
M_PROTON = 9.38272081e-01
M_NEUTRON = 9.39565413e-01
M_NUCLEON = 0.5 * (M_PROTON + M_NEUTRON)  # kNucleonMass (used in BreitWignerL and thresholds)
M_MUON = 1.056583745e-01
M_PION = 1.3957018e-01  # kPionMass (pion-pole term of the BRS B, C)
M_PI0 = 1.349766e-01  # kPi0Mass (BreitWignerL)
#: ``kPhotontest`` (Constants.h) and ``controls::kASmallNum`` (Controls.h) [GeV], ``kMinQ2Limit`` [GeV²].
K_PHOTONTEST = 1e-6
K_ASMALLNUM = 1e-6
K_MIN_Q2_LIMIT = 1e-4
#: GENIE's unit conversion: units::cm = 5.07e13 GeV⁻¹ (Units.h), so 1 GeV⁻² = 1e38/(5.07e13)² × 1e-38 cm².
GEV2_TO_1E38CM2 = 1.0 / (1e-38 * (5.07e13) ** 2)
#: Truncated constants of Constants.h used by RSHelicityAmplModelCC.cxx and BSKLNBaseRESPXSec2014.cxx.
kSqrt2 = 1.4142136
kSqrt3 = 1.7320508
kSqrt6 = 2.4494897
k1_Sqrt2 = 0.70710678
k1_Sqrt3 = 0.57735027
k1_Sqrt5 = 0.44721360
k1_Sqrt6 = 0.40824829
k1_Sqrt7 = 0.37796447
k1_Sqrt15 = 0.25819889
k1_Sqrt30 = 0.18257419
k1_Sqrt35 = 0.16903085
k2_Sqrt15 = 0.51639778
k2_Sqrt35 = 0.3380617
k3_Sqrt2 = 2.1213203
k3_Sqrt5 = 1.3416408
k3_Sqrt10 = 0.9486833
kSqrt2_3 = 0.81649658
kSqrt2_7 = 0.53452248
kSqrt2_15 = 0.36514837
kSqrt3_2 = 1.2247449
kSqrt3_4 = 0.8660254
kSqrt3_5 = 0.77459667
kSqrt3_10 = 0.54772256
kSqrt3_35 = 0.29277002
kSqrt5_2 = 1.5811388
kSqrt5_3 = 1.2909944
kSqrt6_5 = 1.0954451
kSqrt6_35 = 0.41403934
kSqrt9_10 = 0.9486833
kSqrt18_5 = 1.8973666
kSqrt18_35 = 0.71713717
kSqrt24_35 = 0.82807867
kSqrt27_10 = 1.6431677

# --------------------------------------------------------------------------------------------------------------
# Model parameters of G18_10a_02_11a
# --------------------------------------------------------------------------------------------------------------
#: RES axial mass [GeV]: G18_10a_02_11a/CommonParam.xml ``Tunable`` (overrides 1.120 of BergerSehgalRESPXSec2014.xml).
RES_MA = 1.065047
#: RES vector mass [GeV]: config/BergerSehgalRESPXSec2014.xml ``Default``.
RES_MV = 0.840
#: FKR Ω and Z (ζ): config/BergerSehgalRESPXSec2014.xml ``Default``.
RES_OMEGA = 1.05
RES_ZETA = 0.76338
#: C₅ᴬ(0) hard-coded in BSKLNBaseRESPXSec2014.cxx (``CA5_0 = 1.2``, minibooneGA branch).
CA5_0 = 1.2
#: RES CC scale: G18_10a_02_11a/CommonParam.xml ``Tunable`` (BergerSehgalRESPXSec2014.xml default 1.0).
RES_CC_XSEC_SCALE = 0.877255
#: DIS/RES joining W cut [GeV]: G18_10a_02_11a/CommonParam.xml ``NonResBackground`` (``UseDRJoinScheme`` true).
WCUT = 1.927862
#: ``MaxNWidthForN0Res``, ``MaxNWidthForN2Res``, ``MaxNWidthForGNRes`` code defaults (BSKLNBaseRESPXSec2014::LoadConfig).
N0_RES_MAX_NWIDTHS = 6.0
N2_RES_MAX_NWIDTHS = 2.0
GN_RES_MAX_NWIDTHS = 4.0


@dataclass(frozen=True)
class Resonance:
    """Baryon resonance data of ``src/Framework/ParticleData/BaryonResUtils.cxx`` (R-3_00_06).

    ``mass``/``width`` [GeV] from ``utils::res::Mass/Width`` (PDG 2018 values per the file's comment), ``L`` from
    ``OrbitalAngularMom``, ``ir`` (the FKR oscillator index n) from ``ResonanceIndex``, ``is_delta`` from ``IsDelta``.
    """

    name: str
    mass: float
    width: float
    L: int
    ir: int
    is_delta: bool

    @property
    def max_nwidths_norm(self) -> float:
        """Widths above M_R used for ``BWNorm`` and the integrator's W_max (6, 2, 4 for IR = 0, 2, other)."""
        if self.ir == 0:
            return N0_RES_MAX_NWIDTHS
        if self.ir == 2:
            return N2_RES_MAX_NWIDTHS
        return GN_RES_MAX_NWIDTHS

    @property
    def max_nwidths_xsec(self) -> float:
        """Widths above M_R where ``XSec`` returns 0: min(x(IR), 4) because of GENIE's ``else if`` chain."""
        return min(self.max_nwidths_norm, GN_RES_MAX_NWIDTHS)


#: The 18 resonances of ``ResonanceNameList`` (G18_10a_02_11a/CommonParam.xml, ``Resonances``), in that order.
RESONANCES: dict[str, Resonance] = {
    r.name: r
    for r in (
        Resonance("P33(1232)", 1.232, 0.117, 1, 0, True),
        Resonance("S11(1535)", 1.535, 0.150, 0, 1, False),
        Resonance("D13(1520)", 1.515, 0.115, 2, 1, False),
        Resonance("S11(1650)", 1.655, 0.140, 0, 1, False),
        Resonance("D13(1700)", 1.700, 0.150, 2, 1, False),
        Resonance("D15(1675)", 1.675, 0.150, 2, 1, False),
        Resonance("S31(1620)", 1.630, 0.140, 0, 1, True),
        Resonance("D33(1700)", 1.700, 0.300, 2, 1, True),
        Resonance("P11(1440)", 1.430, 0.350, 1, 2, False),
        Resonance("P33(1600)", 1.600, 0.320, 1, 2, True),
        Resonance("P13(1720)", 1.720, 0.250, 1, 2, False),
        Resonance("F15(1680)", 1.685, 0.130, 3, 2, False),
        Resonance("P31(1910)", 1.890, 0.280, 1, 2, True),
        Resonance("P33(1920)", 1.920, 0.260, 1, 2, True),
        Resonance("F35(1905)", 1.880, 0.330, 3, 2, True),
        Resonance("F37(1950)", 1.930, 0.285, 3, 2, True),
        Resonance("P11(1710)", 1.710, 0.100, 1, 2, False),
        Resonance("F17(1970)", 2.190, 0.500, 3, 2, False),
    )
}
RESONANCE_NAMES: tuple[str, ...] = tuple(RESONANCES)
DELTA_NAMES: tuple[str, ...] = tuple(n for n, r in RESONANCES.items() if r.is_delta)


def _nucleon_mass(nucleon: str) -> float:
    if nucleon in ("p", "proton"):
        return M_PROTON
    if nucleon in ("n", "neutron"):
        return M_NEUTRON
    raise ValueError(f"nucleon must be 'p' or 'n', got {nucleon!r}")


def _is_proton(nucleon: str) -> bool:
    _nucleon_mass(nucleon)
    return nucleon in ("p", "proton")


def _resolve(resonances) -> tuple[Resonance, ...]:
    if resonances is None:
        return tuple(RESONANCES.values())
    if isinstance(resonances, str):
        resonances = (resonances,)
    return tuple(RESONANCES[r] if isinstance(r, str) else r for r in resonances)


# --------------------------------------------------------------------------------------------------------------
# Breit-Wigner (src/Framework/Utils/BWFunc.cxx, BaryonResUtils.cxx)
# --------------------------------------------------------------------------------------------------------------
def breit_wigner_l(w, L: int, mass: float, width0: float, norm: float = 1.0) -> np.ndarray:
    """``utils::bwfunc::BreitWignerL``: (Γ(W)/2π)/N / ((W − M)² + Γ(W)²/4), Γ(W) = Γ₀ (q(W)/q(M))^{2L+1}.

    q is the N π momentum computed from ``(W² − m_N² − m_π²)² − 4 m_N² m_π²`` (clipped at 0) with
    m_N = ``kNucleonMass`` and m_π = ``kPi0Mass``. As in GENIE the clip does *not* zero the width below
    W = m_N − m_π (the polynomial is positive again there); only ``BWNorm``'s integral from 0.001 GeV sees that.
    """
    w = np.asarray(w, dtype=float)
    mn2, mpi2 = M_NUCLEON**2, M_PI0**2
    qpw2 = np.maximum((w * w - mn2 - mpi2) ** 2 - 4 * mn2 * mpi2, 0.0)
    qpm2 = max((mass * mass - mn2 - mpi2) ** 2 - 4 * mn2 * mpi2, 0.0)
    qpw = np.sqrt(qpw2) / (2 * w)
    qpm = math.sqrt(qpm2) / (2 * mass)
    gam = width0 * (qpw / qpm) ** (2 * L + 1)
    return (0.5 / math.pi) * (gam / norm) / ((w - mass) ** 2 + 0.25 * gam * gam)


@lru_cache(maxsize=None)
def bw_norm(name: str) -> float:
    """``utils::res::BWNorm``: GENIE's Simpson integral of ``BreitWignerL(norm=1)`` on [0.001, M_R + x Γ_R].

    N = 1000·nint((W_max − W_min)/Γ_R), made odd; weights (½, 2, 1, 2, …, 2, ½)·2dW/3 exactly as coded
    (``sum = 0.5*(f(Wmin)+f(Wmax)); sum += f(W_i)*(i%2+1) for i=1..N-2; sum *= 2dW/3``).
    """
    r = RESONANCES[name]
    wmin = 0.001
    wmax = r.mass + r.max_nwidths_norm * r.width
    n = 1000 * int(np.rint((wmax - wmin) / r.width))
    if n % 2 == 0:
        n += 1
    dw = (wmax - wmin) / (n - 1)
    i = np.arange(1, n - 1)
    s = 0.5 * (breit_wigner_l(wmin, r.L, r.mass, r.width) + breit_wigner_l(wmax, r.L, r.mass, r.width))
    s = s + np.sum(breit_wigner_l(wmin + i * dw, r.L, r.mass, r.width) * (i % 2 + 1))
    return float(s * 2.0 * dw / 3.0)


# --------------------------------------------------------------------------------------------------------------
# Kinematic limits (src/Framework/Utils/KineUtils.cxx, src/Framework/Interaction/KPhaseSpace.cxx)
# --------------------------------------------------------------------------------------------------------------
def energy_threshold(nucleon: str, ml: float = M_MUON) -> float:
    """``KPhaseSpace::Threshold`` for RES: E_thr = ((kNucleonMass + kPhotontest + m_l)² − M²)/(2M)."""
    m = _nucleon_mass(nucleon)
    return max(0.0, 0.5 * ((M_NUCLEON + K_PHOTONTEST + ml) ** 2 - m * m) / m)


def w_limits(enu, nucleon: str, ml: float = M_MUON) -> tuple[np.ndarray, np.ndarray]:
    """``kinematics::InelWLim``: W ∈ [M_n + kPhotontest + ε, √s − m_l − ε] (ε = kASmallNum); (−1, −1) if empty."""
    m = _nucleon_mass(nucleon)
    e = np.asarray(enu, dtype=float)
    s = m * m + 2 * m * e
    wmin0 = M_NEUTRON + K_PHOTONTEST
    wmax0 = np.sqrt(s) - ml
    ok = wmax0 > wmin0
    return np.where(ok, wmin0 + K_ASMALLNUM, -1.0), np.where(ok, wmax0 - K_ASMALLNUM, -1.0)


def q2_limits(enu, w, nucleon: str, ml: float = M_MUON) -> tuple[np.ndarray, np.ndarray]:
    """``kinematics::InelQ2Lim_W`` (Q² > 0) at fixed W, with Q²_min raised to ``kMinQ2Limit`` = 1e-4 GeV²."""
    m = _nucleon_mass(nucleon)
    e, w = np.broadcast_arrays(np.asarray(enu, float), np.asarray(w, float))
    m2, ml2, w2 = m * m, ml * ml, w * w
    s = m2 + 2 * m * e
    auxc = 0.5 * (s - m2) / s
    aux1 = s + ml2 - w2
    aux2 = aux1 * aux1 - 4 * s * ml2
    aux2 = np.sqrt(np.maximum(aux2, 0.0))
    qmax = np.maximum(0.0, -ml2 + auxc * (aux1 + aux2))
    qmin = np.maximum(0.0, -ml2 + auxc * (aux1 - aux2))
    qmin = np.maximum(qmin, K_MIN_Q2_LIMIT)
    bad = qmax < qmin
    return np.where(bad, -1.0, qmin), np.where(bad, -1.0, qmax)


# --------------------------------------------------------------------------------------------------------------
# Rein-Sehgal CC helicity amplitudes (src/Physics/Resonance/XSection/RSHelicityAmplModelCC.cxx)
# --------------------------------------------------------------------------------------------------------------
def _helicity_amplitudes(name: str, f: dict) -> tuple:
    """``RSHelicityAmplModelCC::Compute``: (f₋₁, f₊₁, f₋₃, f₊₃, f₀₋, f₀₊) from the FKR parameters ``f``."""
    lam, rm, rp, tm, tp = f["Lamda"], f["Rminus"], f["Rplus"], f["Tminus"], f["Tplus"]
    s, b, c = f["S"], f["B"], f["C"]
    z = 0.0 * lam
    if name == "P33(1232)":
        f0 = -2 * kSqrt2 * c
        return kSqrt2 * rm, -kSqrt2 * rp, kSqrt6 * rm, -kSqrt6 * rp, f0, f0
    if name == "S11(1535)":
        cc, d = 4.0 / kSqrt6, 2.0 * kSqrt3
        a = kSqrt6 * lam * s
        bb = 2 * kSqrt2_3 * (lam * c - 3.0 * b)
        return d * tm + cc * lam * rm, -d * tp - cc * lam * rp, z, z, -a + bb, a + bb
    if name == "D13(1520)":
        cc, d = 4.0 / kSqrt3, 6.0 / kSqrt2
        a = 2.0 * kSqrt3 * lam * s
        bb = (4.0 / kSqrt3) * lam * c
        return kSqrt6 * tm - cc * lam * rm, kSqrt6 * tp - cc * lam * rp, d * tm, d * tp, -a + bb, -a - bb
    if name == "S11(1650)":
        f0 = -kSqrt2_3 * (lam * c - 3.0 * b)
        return k1_Sqrt6 * lam * rm, -k1_Sqrt6 * lam * rp, z, z, f0, f0
    if name == "D13(1700)":
        lrm, lrp = lam * rm, lam * rp
        f0 = kSqrt2_15 * lam * c
        return k1_Sqrt30 * lrm, k1_Sqrt30 * lrp, k3_Sqrt10 * lrm, k3_Sqrt10 * lrp, f0, -1.0 * f0
    if name == "D15(1675)":
        lrm, lrp = lam * rm, lam * rp
        f0 = kSqrt6_5 * lam * c
        return -kSqrt3_10 * lrm, kSqrt3_10 * lrp, -kSqrt3_5 * lrm, kSqrt3_5 * lrp, f0, f0
    if name == "S31(1620)":
        a = kSqrt3_2 * lam * s
        bb = k1_Sqrt6 * (lam * c - 3.0 * b)
        return -kSqrt3 * tm + k1_Sqrt6 * lam * rm, kSqrt3 * tp - k1_Sqrt6 * lam * rp, z, z, a + bb, -a + bb
    if name == "D33(1700)":
        a = kSqrt3 * lam * s
        bb = k1_Sqrt3 * lam * c
        return (
            -kSqrt3_2 * tm - k1_Sqrt3 * lam * rm,
            -kSqrt3_2 * tp - k1_Sqrt3 * lam * rp,
            -k3_Sqrt2 * tm,
            -k3_Sqrt2 * tp,
            a + bb,
            a - bb,
        )
    l2 = lam * lam
    if name == "P11(1440)":
        cc = 5.0 * kSqrt3 / 6.0
        a = kSqrt3_4 * l2 * s
        bb = cc * (l2 * c - 2 * lam * b)
        return -cc * l2 * rm, -cc * l2 * rp, z, z, -a + bb, -a - bb
    if name == "P33(1600)":
        f0 = kSqrt2_3 * (l2 * c - 2 * lam * b)
        return -k1_Sqrt6 * l2 * rm, k1_Sqrt6 * l2 * rp, -k1_Sqrt2 * l2 * rm, k1_Sqrt2 * l2 * rp, f0, f0
    if name == "P13(1720)":
        ltm, ltp = lam * tm, lam * tp
        a = kSqrt3_5 * l2 * s
        bb = kSqrt5_3 * (l2 * c - 5 * lam * b)
        return (
            -kSqrt27_10 * ltm - kSqrt5_3 * l2 * rm,
            kSqrt27_10 * ltp + kSqrt5_3 * l2 * rp,
            k3_Sqrt10 * ltm,
            -k3_Sqrt10 * ltp,
            a - bb,
            -a - bb,
        )
    if name == "F15(1680)":
        ltm, ltp = lam * tm, lam * tp
        a = kSqrt9_10 * l2 * s
        bb = kSqrt5_2 * l2 * c
        return (
            -k3_Sqrt5 * ltm + kSqrt5_2 * l2 * rm,
            -k3_Sqrt5 * ltp + kSqrt5_2 * l2 * rp,
            -kSqrt18_5 * ltm,
            -kSqrt18_5 * ltp,
            a - bb,
            a + bb,
        )
    if name == "P31(1910)":
        f0 = k2_Sqrt15 * (l2 * c - 5 * lam * b)
        return k1_Sqrt15 * l2 * rm, k1_Sqrt15 * l2 * rp, z, z, f0, -1.0 * f0
    if name == "P33(1920)":
        f0 = k2_Sqrt15 * (l2 * c - 5 * lam * b)
        return -k1_Sqrt15 * l2 * rm, k1_Sqrt15 * l2 * rp, k1_Sqrt5 * l2 * rm, -k1_Sqrt5 * l2 * rp, f0, f0
    if name == "F35(1905)":
        f0 = -k2_Sqrt35 * l2 * c
        return (
            -k1_Sqrt35 * l2 * rm,
            -k1_Sqrt35 * l2 * rp,
            -kSqrt18_35 * l2 * rm,
            -kSqrt18_35 * l2 * rp,
            f0,
            -f0,
        )
    if name == "F37(1950)":
        f0 = -kSqrt24_35 * l2 * c
        return kSqrt6_35 * l2 * rm, -kSqrt6_35 * l2 * rp, kSqrt2_7 * l2 * rm, -kSqrt2_7 * l2 * rp, f0, f0
    if name == "P11(1710)":
        a = kSqrt3_2 * l2 * s
        bb = kSqrt2_3 * (l2 * c - 2 * lam * b)
        return kSqrt2_3 * l2 * rm, kSqrt2_3 * l2 * rp, z, z, a - bb, a + bb
    if name == "F17(1970)":
        f0 = kSqrt6_35 * l2 * c
        return -kSqrt3_35 * l2 * rm, kSqrt3_35 * l2 * rp, -k1_Sqrt7 * l2 * rm, k1_Sqrt7 * l2 * rp, f0, f0
    raise KeyError(name)


def _gv_root(w, w2, q2, m: float, m2: float, mv: float) -> np.ndarray:
    """√(3 G_V3² + G_V1²) of the MiniBooNE vector form factors (``minibooneGV``; GENIE's q2 = −Q² < 0): G_V of
    ``BSKLNBaseRESPXSec2014::XSec`` is ½·(1 − q²/(M + W)²)^(½ − IR) times this, the only place RES-Mv enters."""
    mv2 = mv * mv
    cv0 = 1.0 / (1 - q2 / mv2 / 4.0)
    cv3 = 2.13 * cv0 * (1 - q2 / mv2) ** -2
    cv4 = -1.51 * cv0 * (1 - q2 / mv2) ** -2
    cv5 = 0.48 * cv0 * (1 - q2 / mv2 / 0.766) ** -2
    r3 = math.sqrt(3.0)  # TMath::Sqrt(3)
    gv3 = 0.5 / r3 * (cv3 * (w + m) / m + cv4 * (w2 + q2 - m2) / 2.0 / m2 + cv5 * (w2 - q2 - m2) / 2.0 / m2)
    gv1 = (
        -0.5
        / r3
        * (
            cv3 * (m2 - q2 + m * w) / w / m
            + cv4 * (w2 + q2 - m2) / 2.0 / m2
            + cv5 * (w2 - q2 - m2) / 2.0 / m2
        )
    )
    return np.sqrt(3 * gv3 * gv3 + gv1 * gv1)


def vector_form_factor_ratio(w, q2, nucleon: str, mv: float, mv_nominal: float = RES_MV) -> np.ndarray:
    """G_V(RES-Mv = ``mv``)/G_V(``mv_nominal``) at (W, Q² > 0) on ``nucleon``: the per-event factor r of the
    MvCCRES weight. Every Berger–Sehgal helicity amplitude is linear in (G_V, G_A) (``RSHelicityAmplModelCC``:
    T_V, R_V, S ∝ G_V; T_A, R_A, B, C ∝ G_A ∝ C₅ᴬ), so d²σ/dW dQ² = a G_V² + b G_V G_A + c G_A² per resonance; the
    resonance-dependent (1 − q²/(M + W)²)^(½ − IR) cancels in r, so the sum over resonances is the same quadratic
    form in (r, g) for every event: d²σ(M_A, M_V)/d²σ(nominal) = c₀ r² + c₁ r g + c₂ g², g = (1 + Q²/M_A²)⁻²."""
    m = _nucleon_mass(nucleon)
    w = np.asarray(w, dtype=float)
    q2neg = -np.asarray(q2, dtype=float)
    w2, m2 = w * w, m * m
    return _gv_root(w, w2, q2neg, m, m2, mv) / _gv_root(w, w2, q2neg, m, m2, mv_nominal)


# --------------------------------------------------------------------------------------------------------------
# d²σ/dW dQ² (BSKLNBaseRESPXSec2014::XSec with fBRS = true)
# --------------------------------------------------------------------------------------------------------------
def _xsec_one(
    res: Resonance, e, w, q2pos, m: float, is_p: bool, ml: float, ma: float, mv: float
) -> np.ndarray:
    """GENIE natural units (GeV⁻⁵) d²σ/dWdQ² for one resonance, before ``RES-CC-XSecScale``; no limit checks."""
    ir = res.ir
    q2 = -q2pos  # GENIE's q2 < 0
    w2, m2 = w * w, m * m
    k = 0.5 * (w2 - m2) / m
    v = k - 0.5 * q2 / m
    qv2 = v * v - q2  # GENIE's "Q2" = |q|^2
    qv = np.sqrt(qv2)
    ep = e - v
    pl = np.sqrt(np.maximum(ep * ep - ml * ml, 0.0))

    vstar = (m * v + q2) / w
    qstar = np.sqrt(-q2 + vstar * vstar)
    sqrtq2 = np.sqrt(-q2)
    a = 1.0 + 0.5 * (w2 - q2 + m2) / m / w

    knl_k = qv / e / np.sqrt(2 * (-q2))
    # costh recomputed from the kinematics (GENIE overwrites the lepton-p4 value); clipped only against rounding
    costh = np.clip((q2 - ml * ml + 2.0 * e * ep) / 2.0 / e / pl, -1.0, 1.0)
    s1m, s1p = np.sqrt(1 - costh), np.sqrt(1 + costh)
    al_p = np.sqrt(e * np.maximum(ep - pl, 0.0))
    al_m = np.sqrt(e * (ep + pl))

    j0_p = al_p / w * s1m * (m - ep - pl)
    j0_m = al_m / w * s1p * (m - ep + pl)
    jx_p = al_p / qv * s1p * (pl - e)
    jx_m = al_m / qv * s1m * (pl + e)
    jy_p = al_p * s1p
    jy_m = -al_m * s1m
    jz_p = al_p / w / qv * s1m * ((e + pl) * (m - ep) + pl * (e + 2 * e * costh - pl))
    jz_m = al_m / w / qv * s1p * ((e - pl) * (m - ep) + pl * (-e + 2 * e * costh - pl))

    den_p = np.sqrt(np.abs(j0_p * j0_p - jz_p * jz_p))
    den_m = np.sqrt(np.abs(j0_m * j0_m - jz_m * jz_m))
    with np.errstate(divide="ignore", invalid="ignore"):
        qs_p = sqrtq2 * j0_p / den_p
        qs_m = sqrtq2 * j0_m / den_m
        vs_p = sqrtq2 * jz_p / den_p
        vs_m = sqrtq2 * jz_m / den_m

    r05 = math.sqrt(0.5)  # TMath::Sqrt(0.5)
    cl_p = r05 * knl_k * (jx_p - jy_p)
    cl_m = r05 * knl_k * (jx_m - jy_m)
    cr_p = r05 * knl_k * (jx_p + jy_p)
    cr_m = r05 * knl_k * (jx_m + jy_m)
    cs_p = knl_k * den_p
    cs_m = knl_k * den_m

    # MiniBooNE vector (minibooneGV) and axial (minibooneGA) form factors
    ma2 = ma * ma
    r3 = math.sqrt(3.0)  # TMath::Sqrt(3)
    pw = (1 - q2 / (m + w) / (m + w)) ** (0.5 - ir)
    gv = 0.5 * pw * _gv_root(w, w2, q2, m, m2, mv)
    ca5 = CA5_0 * (1.0 / (1 - q2 / ma2)) ** 2
    ga = 0.5 * r3 * pw * (1 - (w2 + q2 - m2) / 8.0 / m2) * ca5

    # FKR parameters
    zeta, omega = RES_ZETA, RES_OMEGA
    d = (w + m) ** 2 - q2
    sq2omg = math.sqrt(2.0 / omega)
    nomg = ir * omega
    mq_w = m * qv / w
    lam = sq2omg * mq_w
    tv = gv / (3.0 * w * sq2omg)
    rv = kSqrt2 * mq_w * (w + m) * gv / d
    ta = (2.0 / 3.0) * (zeta / sq2omg) * mq_w * ga / d
    ra = (kSqrt2 / 6.0) * zeta * (ga / w) * (w + m + 2 * nomg * w / d)
    base = {
        "Lamda": lam,
        "Rplus": -(rv + ra),
        "Rminus": -(rv - ra),
        "Tplus": -(tv + ta),
        "Tminus": -(tv - ta),
    }

    # Berger-Sehgal S, B, C for the two lepton helicity configurations (KNL part + pion-pole part)
    pole = 1.0 / (M_PION * M_PION - q2)
    out = {}
    for tag, qs, vs in (("p", qs_p, vs_p), ("m", qs_m, vs_m)):
        s_ = (vs * vstar - qs * qstar) * (m2 - q2 - 3 * w * m) * gv / (6 * m2) / qv2
        b_ = zeta / (3.0 * w * sq2omg) / qstar * (qs + vs * qstar / a / m) * ga
        c_ = (
            (
                (qs * qstar - vs * vstar) * (1.0 / 3.0 + vstar / a / m)
                + vs * (2.0 / 3.0 * w + q2 / a / m + nomg / 3.0 / a / m)
            )
            * zeta
            * (ga / 2.0 / w / qstar)
        )
        common = zeta * ga / 2.0 / w / qstar * (qs * vstar - vs * qstar)
        b_ = b_ + common * (2.0 / 3 / sq2omg * (vstar + qstar * qstar / m / a)) * pole
        c_ = c_ + common * qstar * (2.0 / 3.0 * w + q2 / m / a + nomg / 3.0 / a / m) * pole
        fm1, fp1, fm3, fp3, f0m, f0p = _helicity_amplitudes(res.name, {**base, "S": s_, "B": b_, "C": c_})
        out[tag] = (fp3 * fp3 + fp1 * fp1, fm3 * fm3 + fm1 * fm1, f0p * f0p + f0m * f0m)  # sigL, sigR, sigS

    g2 = G_FERMI**2 * V_UD**2
    sig0 = 0.125 * (g2 / math.pi) * (-q2 / qv2) * (w / m)
    sclr = w / m
    scs = (m / w) * (-qv2 / q2)
    xsec = (
        cl_m**2 * sclr * out["m"][0]
        + cl_p**2 * sclr * out["p"][0]
        + cr_m**2 * sclr * out["m"][1]
        + cr_p**2 * sclr * out["p"][1]
        + cs_m**2 * scs * out["m"][2]
        + cs_p**2 * scs * out["p"][2]
    ) * sig0
    if res.is_delta and is_p:
        xsec = 3.0 * xsec
    return xsec * breit_wigner_l(w, res.L, res.mass, res.width, bw_norm(res.name))


def d2sigma_dw_dq2_per_resonance(
    enu,
    w,
    q2,
    nucleon: str,
    resonance: str | Resonance = "P33(1232)",
    *,
    ml: float = M_MUON,
    ma: float = RES_MA,
    mv: float = RES_MV,
    xsec_scale: float = RES_CC_XSEC_SCALE,
    wcut: float = WCUT,
) -> np.ndarray:
    """GENIE d²σ/dW dQ² [10⁻³⁸ cm²/GeV³] of ν_μ CC excitation of one resonance on a free nucleon at rest.

    ``enu`` [GeV], ``w`` [GeV], ``q2`` = Q² > 0 [GeV²] broadcast together; ``nucleon`` is ``"p"`` or ``"n"``.
    Zero outside GENIE's ``ValidKinematics`` (threshold, ``InelWLim``, ``InelQ2Lim_W``), for W ≥ ``wcut``, for
    W > M_R + min(x(IR), 4)·Γ_R, and for non-Δ resonances on the proton.
    """
    res = RESONANCES[resonance] if isinstance(resonance, str) else resonance
    m = _nucleon_mass(nucleon)
    is_p = _is_proton(nucleon)
    e, w, q2 = np.broadcast_arrays(np.asarray(enu, float), np.asarray(w, float), np.asarray(q2, float))
    out = np.zeros(e.shape)
    if is_p and not res.is_delta:
        return out
    wlo, whi = w_limits(e, nucleon, ml)
    qlo, qhi = q2_limits(e, w, nucleon, ml)
    ok = (e > energy_threshold(nucleon, ml)) & (wlo > 0) & (w >= wlo) & (w <= whi)
    ok &= (qlo >= 0) & (q2 >= qlo) & (q2 <= qhi)
    ok &= w < wcut
    ok &= w <= res.mass + res.max_nwidths_xsec * res.width
    if np.any(ok):
        with np.errstate(invalid="ignore", divide="ignore"):
            val = _xsec_one(res, e[ok], w[ok], q2[ok], m, is_p, ml, ma, mv)
        out[ok] = np.nan_to_num(val, nan=0.0) * xsec_scale * GEV2_TO_1E38CM2
    return out


def d2sigma_dw_dq2(enu, w, q2, nucleon: str, resonances=None, **kwargs) -> np.ndarray:
    """Sum of :func:`d2sigma_dw_dq2_per_resonance` over ``resonances`` (default: all 18 of G18_10a) [1e-38 cm²/GeV³].

    GENIE generates each resonance as a separate interaction (``RESInteractionListGenerator``); the sum is the
    inclusive RES d²σ/dW dQ². Resonances do not interfere in GENIE.
    """
    tot = 0.0
    for r in _resolve(resonances):
        tot = tot + d2sigma_dw_dq2_per_resonance(enu, w, q2, nucleon, r, **kwargs)
    return np.asarray(tot)


# --------------------------------------------------------------------------------------------------------------
# Integration (ReinSehgalRESXSecWithCacheFast.cxx, d2XSecRESFast_dWQ2_E)
# --------------------------------------------------------------------------------------------------------------
_GL_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _gl(n: int) -> tuple[np.ndarray, np.ndarray]:
    if n not in _GL_CACHE:
        _GL_CACHE[n] = np.polynomial.legendre.leggauss(n)
    return _GL_CACHE[n]


def _quadrature(e: float, res: Resonance, nucleon: str, n_w_panels: int, n_q2: int, ml: float = M_MUON,
                wcut: float = WCUT) -> tuple[np.ndarray, ...] | None:
    """The quadrature of :func:`_sigma_one` at E: (W nodes (n_w,), Q² nodes (n_w, n_q2), Q² weights jt (n_q2,),
    Q² spans (n_w,), W weights (n_w,)), σ = Σ_w wwt_w span_w Σ_q jt_q d²σ(W_w, Q²_wq); ``None`` where σ = 0."""
    if e <= energy_threshold(nucleon, ml):
        return None
    if _is_proton(nucleon) and not res.is_delta:
        return None
    wlo, whi = (float(x) for x in w_limits(e, nucleon, ml))
    if wlo < 0:
        return None
    lo = max(wlo, M_NUCLEON + M_PI0)
    hi = min(whi, wcut, res.mass + res.max_nwidths_xsec * res.width)
    if hi <= lo:
        return None
    xw, ww = _gl(8)
    # cluster panels near threshold (sqrt-like onset of the L-dependent width)
    u = np.linspace(0.0, 1.0, n_w_panels + 1) ** 1.5
    edges = lo + (hi - lo) * u
    a, b = edges[:-1, None], edges[1:, None]
    wn = (0.5 * (b - a) * xw[None, :] + 0.5 * (a + b)).ravel()
    wwt = (0.5 * (b - a) * ww[None, :]).ravel()
    qlo, qhi = q2_limits(e, wn, nucleon, ml)
    good = (qlo >= 0) & (qhi > qlo)
    xt, wt = _gl(n_q2)
    t = 0.5 * (xt + 1.0)
    jt = 0.5 * wt * 2.0 * t  # dQ²/dt = 2t (Q²max − Q²min); the factor (Q²max − Q²min) added below
    span = np.where(good, qhi - qlo, 0.0)
    q2n = qlo[:, None] + span[:, None] * (t * t)[None, :]
    return wn, q2n, jt, span, wwt


def _sigma_one(e: float, res: Resonance, nucleon: str, n_w_panels: int, n_q2: int, **kwargs) -> float:
    """σ(E) [1e-38 cm²] of one resonance: ∫dW ∫dQ² over GENIE's region.

    GENIE integrates the unit square mapped to W ∈ [W_min, min(W_max^phys, Wcut, M_R + x(IR)Γ_R)] and, at each
    W, Q² ∈ ``InelQ2Lim_W`` with GSL adaptive quadrature (rel. tol. 1e-9). Here: composite Gauss-Legendre in W
    on the part where the integrand is non-zero (W > kNucleonMass + kPi0Mass, the Breit-Wigner threshold, up to
    the smallest of the cuts, including XSec's own M_R + min(x, 4)Γ_R), and Gauss-Legendre in Q² with the
    substitution Q² = Q²_min + (Q²_max − Q²_min) t² which resolves the small-Q² lepton-mass region
    (:func:`_quadrature`).
    """
    nodes = _quadrature(e, res, nucleon, n_w_panels, n_q2, kwargs.get("ml", M_MUON), kwargs.get("wcut", WCUT))
    if nodes is None:
        return 0.0
    wn, q2n, jt, span, wwt = nodes
    val = d2sigma_dw_dq2_per_resonance(
        e, np.broadcast_to(wn[:, None], q2n.shape), q2n, nucleon, res, **kwargs
    )
    inner = (val * jt[None, :]).sum(axis=1) * span
    return float(np.sum(inner * wwt))


def sigma_res_per_resonance(
    enu, nucleon: str, resonances=None, *, n_w_panels: int = 40, n_q2: int = 48, **kwargs
) -> dict[str, np.ndarray]:
    """{resonance name: σ(E) [10⁻³⁸ cm²]} for ν_μ CC on a free ``nucleon`` at rest (GENIE's free-nucleon splines).

    ``kwargs`` (``ml``, ``ma``, ``mv``, ``xsec_scale``, ``wcut``) are passed to :func:`d2sigma_dw_dq2_per_resonance`.
    """
    e = np.atleast_1d(np.asarray(enu, dtype=float))
    out = {}
    for r in _resolve(resonances):
        vals = np.array([_sigma_one(float(x), r, nucleon, n_w_panels, n_q2, **kwargs) for x in e.ravel()])
        out[r.name] = vals.reshape(e.shape) if np.ndim(enu) else vals[0]
    return out


def sigma_res(enu, nucleon: str, resonances=None, **kwargs) -> np.ndarray:
    """Total RES σ(E) [10⁻³⁸ cm²] summed over ``resonances`` (default all 18), free ``nucleon`` at rest.

    For a nuclear target GENIE's RES spline is Z·σ_p(E) + N·σ_n(E) of these free-nucleon values
    (``ReinSehgalRESXSecFast::Integrate`` reuses the free-nucleon spline and multiplies by Z or N; no Fermi
    motion, binding or Pauli blocking in the total).
    """
    per = sigma_res_per_resonance(enu, nucleon, resonances, **kwargs)
    return sum(per.values())


# --------------------------------------------------------------------------------------------------------------
# Final state helpers (data/evgen/catalogues/pdg/genie_pdg_table.txt, src/Physics/Decay/BaryonResonanceDecayer.cxx)
# --------------------------------------------------------------------------------------------------------------
#: Δ(1232) decay branching ratios of genie_pdg_table.txt (PDG codes 2224, 2214, 2114). ``BaryonResonanceDecayer``
#: drops channels with final-state mass ≥ W and, for the Δ, re-evaluates the N π / N γ widths at W
#: (``EvolveDeltaBR``: Γ_π ∝ p_π³, Γ_γ ∝ p_γ³ F_γ²), which only moves the 0.6 % N γ fraction. ν p gives Δ⁺⁺,
#: ν n gives Δ⁺; the decay is isotropic in the Δ rest frame for G18_10a (``Delta-ThetaOnly`` true,
#: ``Delta-R33`` = 0.75 = isotropic, config/BaryonResonanceDecayer.xml).
DELTA_DECAY_BR: dict[str, dict[tuple[str, str], float]] = {
    "Delta++": {("p", "pi+"): 1.0},
    "Delta+": {("p", "pi0"): 0.663, ("n", "pi+"): 0.331, ("p", "gamma"): 0.006},
    "Delta0": {("p", "pi-"): 0.331, ("n", "pi0"): 0.663, ("n", "gamma"): 0.006},
}

_MASS = {"p": M_PROTON, "n": M_NEUTRON, "pi+": M_PION, "pi-": M_PION, "pi0": M_PI0}


def two_body_pion_kinetic_energy(w, nucleon: str = "p", pion: str = "pi+") -> np.ndarray:
    """Pion kinetic energy [GeV] in the resonance rest frame for W → N π (two-body, daughters' PDG masses).

    p* = √[(W² − (m_N + m_π)²)(W² − (m_N − m_π)²)]/(2W), T_π = √(p*² + m_π²) − m_π; NaN below threshold.
    """
    w = np.asarray(w, dtype=float)
    mn, mpi = _MASS[nucleon], _MASS[pion]
    arg = (w * w - (mn + mpi) ** 2) * (w * w - (mn - mpi) ** 2)
    with np.errstate(invalid="ignore"):
        p = np.where(w > mn + mpi, np.sqrt(np.maximum(arg, 0.0)) / (2 * w), np.nan)
    return np.sqrt(p * p + mpi * mpi) - mpi
