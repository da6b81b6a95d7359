"""Cross-section ingredients: Llewellyn Smith CCQE, nucleon form factors, BeRPA, 2p2h and Δ totals.

All functions are vectorised numpy and take GeV units. Cross sections are returned in 10⁻³⁸ cm².
"""

from __future__ import annotations

import numpy as np

from nutune.simulator import constants as C
from nutune.simulator.variants import PhysicsConfig

__all__ = [
    "dipole_axial",
    "vector_form_factors",
    "llewellyn_smith_dsigma_dq2",
    "llewellyn_smith_coefficients",
    "free_ccqe_sigma",
    "berpa",
    "sigma_valencia",
    "sigma_martini",
    "sigma_delta",
    "mec_lepton_factor",
]


def dipole_axial(q2: np.ndarray, ma: float | np.ndarray) -> np.ndarray:
    """Dipole axial shape g(Q²; M_A) = (1 + Q²/M_A²)⁻² (GENIE ``DipoleAxialFormFactorModel``), F_A = g_A·g."""
    return (1.0 + np.asarray(q2) / np.asarray(ma) ** 2) ** -2


def _bbba05(tau: np.ndarray, a: tuple[float, ...], b: tuple[float, ...]) -> np.ndarray:
    """BBBA05 rational form G = Σ a_k τ^k / (1 + Σ_{k≥1} b_k τ^k) (GENIE ``BBA05ELFormFactorsModel.xml``)."""
    num = sum(ak * tau**k for k, ak in enumerate(a))
    den = 1.0 + sum(bk * tau ** (k + 1) for k, bk in enumerate(b))
    return num / den


def vector_form_factors(q2: np.ndarray, model: str = "dipole") -> tuple[np.ndarray, np.ndarray]:
    """Isovector Dirac/Pauli form factors (F_1, ξF_2) at Q² (physics.md §2.1).

    F_1 = (G_E^V + τ G_M^V)/(1 + τ), ξF_2 = (G_M^V − G_E^V)/(1 + τ) with G^V = G^p − G^n.

    Args:
        q2: Q² [GeV²].
        model: ``"dipole"`` (GENIE ``LwlynSmithFFCC/Dipole``: G_E^n = 0, M_V = 0.84 GeV), ``"galster"``
            (dipole with G_E^n = −μ_n τ G_D/(1 + 5.6τ), Galster et al., NPB 32, 221 (1971)) or ``"bbba05"``
            (Bradford, Bodek, Budd, Arrington, NPB PS 159, 127 (2006)) or ``"bba07"`` (GENIE G18_10a's elastic
            form factors, :func:`nutune.simulator.qe_nieves.bba07_form_factors`).
    """
    q2 = np.asarray(q2, dtype=float)
    tau = q2 / (4.0 * C.M_NUCLEON**2)
    if model in ("dipole", "galster"):
        gd = (1.0 + q2 / C.M_V**2) ** -2
        gep, gmp, gmn = gd, C.MU_P * gd, C.MU_N * gd
        gen = -C.MU_N * tau * gd / (1.0 + 5.6 * tau) if model == "galster" else np.zeros_like(q2)
    elif model == "bba07":
        from nutune.simulator.qe_nieves import bba07_form_factors

        return bba07_form_factors(q2)
    elif model == "bbba05":
        gep = _bbba05(tau, (1.0, -0.0578), (11.1, 13.6, 33.0))
        gmp = C.MU_P * _bbba05(tau, (1.0, 0.150), (11.1, 19.6, 7.54))
        gmn = C.MU_N * _bbba05(tau, (1.0, 1.81), (14.1, 20.7, 68.7))
        gen = _bbba05(tau, (0.0, 1.25, 1.30), (-9.86, 305.0, -758.0, 802.0))
    else:
        raise ValueError(f"vector form-factor model {model!r} unknown; allowed: dipole, galster, bbba05, bba07")
    gev = gep - gen
    gmv = gmp - gmn
    f1 = (gev + tau * gmv) / (1.0 + tau)
    xif2 = (gmv - gev) / (1.0 + tau)
    return f1, xif2


def _ls_at_axial_shape(
    enu: np.ndarray, q2: np.ndarray, g: np.ndarray | float, f1: np.ndarray, xif2: np.ndarray
) -> np.ndarray:
    """Llewellyn Smith ν dσ/dQ² [1e-38 cm²/GeV²] with F_A = g_A·g for a given axial shape value g."""
    m2 = C.M_NUCLEON**2
    mmu2 = C.M_MUON**2
    tau = q2 / (4.0 * m2)
    r = mmu2 / (4.0 * m2)
    fa = C.G_A * g
    fp = 2.0 * m2 * fa / (C.M_PION**2 + q2)
    a_term = ((mmu2 + q2) / m2) * (
        (1.0 + tau) * fa**2
        - (1.0 - tau) * f1**2
        + tau * (1.0 - tau) * xif2**2
        + 4.0 * tau * f1 * xif2
        - r * ((f1 + xif2) ** 2 + (fa + 2.0 * fp) ** 2 - 4.0 * (1.0 + tau) * fp**2)
    )
    b_term = (q2 / m2) * fa * (f1 + xif2)
    c_term = 0.25 * (fa**2 + f1**2 + tau * xif2**2)
    su = 4.0 * C.M_NUCLEON * enu - q2 - mmu2
    return C.LS_PREFACTOR_1E38 / enu**2 * (a_term + b_term * su / m2 + c_term * su**2 / m2**2)


def llewellyn_smith_coefficients(
    enu: np.ndarray, q2: np.ndarray, vector_ff: str = "dipole"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact M_A factorisation dσ/dQ² = c₀ + c₁·g + c₂·g² of Llewellyn Smith (physics.md §2.1).

    F_A and F_P are both ∝ g(Q²; M_A), so dσ/dQ² is a quadratic in g; the c_i (which depend on E, Q² and the
    vector form factors only) are read off three evaluations at g = 0, 1, 2.
    """
    f1, xif2 = vector_form_factors(q2, vector_ff)
    s0 = _ls_at_axial_shape(enu, q2, 0.0, f1, xif2)
    s1 = _ls_at_axial_shape(enu, q2, 1.0, f1, xif2)
    s2 = _ls_at_axial_shape(enu, q2, 2.0, f1, xif2)
    c2 = 0.5 * (s2 - 2.0 * s1 + s0)
    c1 = s1 - s0 - c2
    return s0, c1, c2


def llewellyn_smith_dsigma_dq2(
    enu: np.ndarray, q2: np.ndarray, ma: float | np.ndarray, vector_ff: str = "dipole"
) -> np.ndarray:
    """Free-nucleon ν_μ n → μ⁻ p dσ/dQ² [1e-38 cm²/GeV²] (Llewellyn Smith, Phys. Rep. 3, 261 (1972)).

    Uses GENIE's constants (G_F, V_ud, g_A = 1.267, M_V = 0.84) and the ν sign of the B term (ν > ν̄).
    """
    enu = np.asarray(enu, dtype=float)
    q2 = np.asarray(q2, dtype=float)
    f1, xif2 = vector_form_factors(q2, vector_ff)
    return _ls_at_axial_shape(enu, q2, dipole_axial(q2, ma), f1, xif2)


def free_q2_limits(enu: np.ndarray, m_final: float = C.M_PROTON, m_target: float = C.M_NEUTRON):
    """Q² range [GeV²] of ν + N(at rest) → μ + X(m_final) for a two-body final state."""
    enu = np.asarray(enu, dtype=float)
    s = m_target**2 + 2.0 * m_target * enu
    rs = np.sqrt(s)
    k_cm = (s - m_target**2) / (2.0 * rs)
    e_mu = (s + C.M_MUON**2 - m_final**2) / (2.0 * rs)
    p_mu = np.sqrt(np.clip(e_mu**2 - C.M_MUON**2, 0.0, None))
    return -(C.M_MUON**2) + 2.0 * k_cm * (e_mu - p_mu), -(C.M_MUON**2) + 2.0 * k_cm * (e_mu + p_mu)


def free_ccqe_sigma(enu: float, ma: float, vector_ff: str = "dipole", n_points: int = 4001) -> float:
    """Total free-neutron CCQE σ(E) [1e-38 cm²] by Gauss-Legendre integration of dσ/dQ² over the free limits."""
    lo, hi = free_q2_limits(np.array([enu]))
    if not hi[0] > lo[0]:
        return 0.0
    x, wq = np.polynomial.legendre.leggauss(min(n_points, 400))
    q2 = 0.5 * (hi[0] - lo[0]) * x + 0.5 * (hi[0] + lo[0])
    return float(0.5 * (hi[0] - lo[0]) * np.sum(wq * llewellyn_smith_dsigma_dq2(enu, q2, ma, vector_ff)))


def berpa(q2: np.ndarray, phys: PhysicsConfig) -> np.ndarray:
    """T2K BeRPA ratio R(Q²) = σ_RPA-on/σ_RPA-off (NUISANCE ``src/Reweight/BeRPA.h``; physics.md §2.2).

    For x = Q²/U < 1 a cubic Bernstein polynomial with coefficients (A, B, C, D), C = D + U·E·(D − 1)/3; above U an
    exponential approach to 1: R = 1 + (D − 1)·exp(−E(Q² − U)). Nominal A = 0.59, B = 1.05, D = 1.13, E = 0.88,
    U = 1.2 GeV². Returns ones for ``phys.rpa == "none"``.
    """
    q2 = np.asarray(q2, dtype=float)
    if phys.rpa == "none":
        return np.ones_like(q2)
    a, b, d, e, u = phys.berpa_a, phys.berpa_b, phys.berpa_d, phys.berpa_e, phys.berpa_u
    c = d + u * e * (d - 1.0) / 3.0
    x = np.clip(q2 / u, 0.0, 1.0)
    low = a * (1 - x) ** 3 + 3 * b * (1 - x) ** 2 * x + 3 * c * (1 - x) * x**2 + d * x**3
    high = 1.0 + (d - 1.0) * np.exp(-e * (q2 - u))
    return np.where(q2 < u, low, high)


def _saturating(enu: np.ndarray, norm: float, e0: float, scale: float, power: float) -> np.ndarray:
    enu = np.asarray(enu, dtype=float)
    z = np.clip((enu - e0) / scale, 0.0, None)
    return np.where(enu > e0, norm * (1.0 - np.exp(-(z**power))), 0.0)


def sigma_valencia(enu: np.ndarray, phys: PhysicsConfig) -> np.ndarray:
    """Valencia-like 2p2h total σ_V(E) per ¹²C [1e-38 cm²]: 1.8[1 − exp(−((E − 0.12)/0.75)^1.6)] (physics.md §2.3b)."""
    return _saturating(
        enu, phys.val_sigma_norm, phys.val_sigma_e0, phys.val_sigma_scale, phys.val_sigma_power
    )


def sigma_martini(enu: np.ndarray, phys: PhysicsConfig) -> np.ndarray:
    """Martini-like 2p2h total per ¹²C [1e-38 cm²]: 2.6[1 − exp(−((E − 0.12)/0.9)^1.3)] (physics.md §5)."""
    return _saturating(
        enu, phys.mar_sigma_norm, phys.mar_sigma_e0, phys.mar_sigma_scale, phys.mar_sigma_power
    )


def sigma_delta(enu: np.ndarray, phys: PhysicsConfig) -> np.ndarray:
    """Δ production per nucleon [1e-38 cm²]: 0.55[1 − exp(−(E − 0.28)/0.70)]² for E > 0.28 (physics.md §2.4)."""
    enu = np.asarray(enu, dtype=float)
    z = np.clip((enu - phys.delta_threshold) / phys.delta_scale, 0.0, None)
    return phys.delta_sigma_norm * (1.0 - np.exp(-z)) ** 2


def mec_lepton_factor(enu: np.ndarray, q2: np.ndarray) -> np.ndarray:
    """Lepton factor L(E, Q²) = A′ + (s−u)²C′ of GENIE ``EmpiricalMECPXSec2015`` (CC, cluster mass M₂ = 2M)."""
    m2c = C.M_CLUSTER**2
    tau2 = q2 / (4.0 * m2c)
    a_p = (
        ((C.M_MUON**2 + q2) / m2c)
        * (tau2 * (1 + tau2) - tau2**2 * (1 - tau2) + 4 * tau2**2)
        / (1 + tau2) ** 2
    )
    c_p = tau2 / (4.0 * (1.0 + tau2))
    su = 4.0 * C.M_CLUSTER * enu - q2 - C.M_MUON**2
    return a_p + su**2 * c_p
