"""Nieves (q0, q3, ρ)-dependent RPA of CCQE, as in GENIE G18_10a's ``NievesQELCCPXSec`` (RPA = true).

Physics (J. Nieves, J.E. Amaro, M. Valverde, PRC 70, 055503 (2004), Sect. II.C and Appendix A; the same formulas
are evaluated event by event by GENIE's ``NievesQELCCPXSec::CNCTCLimUcalc`` and ``LmunuAnumu``; GENIE is GPL, only
the formulas and constants are used here, the code is nutune's own vectorised numpy):

* The RPA sums ring diagrams (ph and Δh excitations) in nuclear matter at the *local* density ρ(r) of the struck
  nucleon. Three polarisation factors multiply different pieces of the hadron tensor:

  - C_N = 1/|1 − c₀ f₀′(ρ) U_N|² (isovector charge, F₁ᵛ terms of A⁰⁰, A⁰³), with the Landau–Migdal parameter
    f₀′(ρ) = 0.33 ρ/ρ₀ + 0.45 (1 − ρ/ρ₀) and c₀ = 380 MeV fm³;
  - C_T = 1/|1 − U V_t|² (spin-transverse: axial F_A² and magnetic ξF₂ pieces of A¹¹, A²², A¹²) with
    V_t = (f²/m_π²)[C_ρ((Λ_ρ² − m_ρ²)/(Λ_ρ² − q²))² q⃗²/(q² − m_ρ²) + g′];
  - C_L = 1/|1 − U V_l|² (spin-longitudinal: the F_A² and pseudoscalar pieces of A⁰³, A³³ and the F_P terms)
    with V_l = (f²/m_π²)[((Λ_π² − m_π²)/(Λ_π² − q²))² q⃗²/(q² − m_π²) + g′];
  - f²/4π = 0.08, g′ = 0.63, C_ρ = 2, m_ρ = 0.770 GeV, Λ_ρ = 2.5 GeV, Λ_π = 1.2 GeV (the values quoted in
    GENIE's source comments and in Nieves et al. 2004, Table/Eq. (18)–(20)).
* U = U_N + U_Δ: U_N is the relativistic nucleon Lindhard function (real part: Barbaro et al., EPJA 25, 299
  (2005), Eq. 61; imaginary part from Nieves), U_Δ the Δh Lindhard function of Oset et al., Phys. Rep. 188, 79
  (1990), Eq. A.4 with f*²/f² = 4.5 and the Δ → πN width in the medium-free form.
* The effective 4-momentum transfer is q̃ = (E_p′ − E_N^on-shell, q⃗) (de Forest prescription), so q̃⁰ = q0 − ε
  for our off-shell energy E_N = √(M² + p²) − ε.

The RPA-on/off ratio at fixed kinematics, R = (L_μν A^μν)(C_N, C_T, C_L)/(L_μν A^μν)(1, 1, 1), is exactly what
GENIE Reweight's RPA_CCQE calculator uses (physics.md §1.5: "RPA = false" copy of the same model). Since every
C only multiplies parts of the tensor, R depends on (q0, q3), on the local density and — through the vector/axial
mix — on E_ν; it is *not* a function of Q² only, unlike the T2K BeRPA(Q²) fit.
"""

from __future__ import annotations

import numpy as np

from nutune.simulator import constants as C

__all__ = ["relativistic_lindhard", "delta_lindhard", "polarisation_factors", "tensor_contraction"]

_HBARC = C.HBARC_GEV_FM
_F2_OVER_MPI2 = 0.08 * 4.0 * np.pi / C.M_PION**2  # f²/m_π² [GeV⁻²]
_G_PRIME = 0.63
_C_RHO = 2.0
_M_RHO2 = 0.770**2
_LAMBDA_RHO2 = 2.5**2
_LAMBDA_PI2 = 1.2**2
_C0 = 0.380 / _HBARC**3  # 380 MeV fm³ in GeV⁻²
_F_IN, _F_EX = 0.33, 0.45
_FS2_F2 = 4.5  # f*²/f² of the πNΔ coupling


def _rulin_rel_x(q0, dq, kf, m):
    """One q0 branch of the real part of the relativistic nucleon Lindhard function [GeV²] (Barbaro et al. Eq. 61)."""
    m2 = m * m
    ef = np.sqrt(m2 + kf * kf)
    q2 = q0 * q0 - dq * dq
    ds = np.sqrt(1.0 - 4.0 * m2 / q2)
    l1 = np.log((kf + ef) / m)
    aux1 = (ef + q0) ** 2
    aux2 = (m2 + (kf - dq) ** 2) / aux1
    aux3 = (m2 + (kf + dq) ** 2) / aux1
    l2 = np.log(np.abs((1.0 - aux2) / (1.0 - aux3)))
    aux5 = (2.0 * kf + q0 * ds) ** 2 / (dq * dq)
    aux6 = (2.0 * kf - q0 * ds) ** 2 / (dq * dq)
    aux7 = 4.0 * m2 * m2 * dq * dq / (q2 * q2)
    aux8 = (kf - ef * ds) ** 2 / aux7
    aux9 = (kf + ef * ds) ** 2 / aux7
    l3 = np.log(np.abs((aux5 - 1.0) / (aux6 - 1.0) * (aux8 - 1.0) / (aux9 - 1.0)))
    return m2 * (-l1 + l2 * (2.0 * ef + q0) / (2.0 * dq) - l3 * ds / 4.0) / np.pi**2


def _rel_lindhard_im(q0, dq, kf, m):
    m2 = m * m
    ef = np.sqrt(m2 + kf * kf)
    q2 = q0 * q0 - dq * dq
    a = (-q0 + dq * np.sqrt(1.0 - 4.0 * m2 / q2)) / 2.0
    eps = np.maximum(np.maximum(a, ef - q0), m)
    zero = (ef - q0 >= ef) | (a >= ef)
    return np.where(zero, 0.0, -m2 / (2.0 * np.pi * dq) * (ef - eps))


def relativistic_lindhard(q0, dq, kf, m=C.M_NUCLEON):
    """Relativistic ph Lindhard function U_N(q0, |q⃗|; k_F) [GeV²] for symmetric nuclear matter (complex)."""
    re = _rulin_rel_x(q0, dq, kf, m) + _rulin_rel_x(-q0, dq, kf, m)
    return re + 2j * _rel_lindhard_im(q0, dq, kf, m)


def _pzeta(z):
    z2 = z * z
    az = np.abs(z)
    with np.errstate(divide="ignore", invalid="ignore"):
        big = 2.0 * (1.0 + 1.0 / (5.0 * z2)) / (3.0 * z)
        mid = z + (1.0 - z2) * np.log((z + 1.0) / (z - 1.0)) / 2.0
    small = 2.0 * z * (1.0 - z2 / 3.0) - 1j * np.pi * (1.0 - z2) / 2.0
    return np.where(az > 50.0, big, np.where(az < 1e-2, small, mid))


def _delta_width(s, m, fs2_f2=_FS2_F2):
    """In-free-space Δ → πN width (p-wave, f*²/4π from f*²/f², default 4.5) at invariant mass² s [GeV]."""
    mpi2 = C.M_PION**2
    ok = s > (m + C.M_PION) ** 2
    s_safe = np.where(ok, s, (m + C.M_PION + 1e-3) ** 2)
    rs = np.sqrt(s_safe)
    qcm = np.sqrt(
        np.clip(s_safe**2 + mpi2**2 + m**4 - 2.0 * (s_safe * mpi2 + s_safe * m * m + mpi2 * m * m), 0, None)
    )
    qcm = qcm / (2.0 * rs)
    g = fs2_f2 * qcm**3 * (m + np.sqrt(m * m + qcm**2)) / (mpi2 * 12.0 * np.pi * rs)
    return np.where(ok, g, 0.0)


def delta_lindhard(q0, dq, rho, kf, m=C.M_NUCLEON, fs2_f2=_FS2_F2):
    """Δh Lindhard function U_Δ [GeV²] (Oset et al., Phys. Rep. 188, 79 (1990), Eq. A.4); ρ in GeV³; f*²/f²."""
    md = C.M_DELTA
    w_r = md - m
    aux1 = m * m + q0 * q0 - dq * dq
    aux2 = 2.0 * q0 * np.sqrt(m * m + 3.0 * kf * kf / 5.0)
    gamma = _delta_width(aux1 + aux2, m, fs2_f2)
    gammap = _delta_width(aux1 - aux2, m, fs2_f2)
    z = (q0 - dq * dq / (2.0 * md) - w_r + 0.5j * gamma) * md / (dq * kf)
    zp = (-q0 - dq * dq / (2.0 * md) - w_r + 0.5j * gammap) * md / (dq * kf)
    return 2.0 * rho * md * (_pzeta(z) + _pzeta(zp)) * fs2_f2 / (dq * kf * 3.0)


def polarisation_factors(q0t, dq, kf, rho_over_rho0, fs2_f2=_FS2_F2):
    """(C_N, C_T, C_L) of the Nieves RPA at effective energy transfer q̃⁰, |q⃗|, local k_F and ρ/ρ₀ (GeV units);
    ``fs2_f2`` = f*²/f² of the Δh part (4.5 here; GENIE's ``NievesQELCCPXSec`` uses f*/f = 2.13)."""
    q0t, dq, kf, x = (np.asarray(a, dtype=float) for a in (q0t, dq, kf, rho_over_rho0))
    rho = 2.0 * kf**3 / (3.0 * np.pi**2)  # nucleon density [GeV³] of symmetric matter with Fermi momentum k_F
    q2 = q0t * q0t - dq * dq
    f_prime = (_F_IN * x + _F_EX * (1.0 - x)) * _C0
    u_n = relativistic_lindhard(q0t, dq, kf)
    u_tot = u_n + delta_lindhard(q0t, dq, rho, kf, fs2_f2=fs2_f2)
    v_t = _F2_OVER_MPI2 * (
        _C_RHO * ((_LAMBDA_RHO2 - _M_RHO2) / (_LAMBDA_RHO2 - q2)) ** 2 * dq * dq / (q2 - _M_RHO2) + _G_PRIME
    )
    mpi2 = C.M_PION**2
    v_l = _F2_OVER_MPI2 * (
        ((_LAMBDA_PI2 - mpi2) / (_LAMBDA_PI2 - q2)) ** 2 * dq * dq / (q2 - mpi2) + _G_PRIME
    )
    c_n = 1.0 / np.abs(1.0 - f_prime * u_n) ** 2
    c_t = 1.0 / np.abs(1.0 - u_tot * v_t) ** 2
    c_l = 1.0 / np.abs(1.0 - u_tot * v_l) ** 2
    return c_n, c_t, c_l


def tensor_contraction(k, kp, p, q0t, dq, f1, xif2, fa, fp, c_n, c_t, c_l):
    """L_μν A^μν of Nieves et al. 2004 App. A (ν), in the frame where q⃗ ∥ +z; arrays of 4-vectors (n, 4).

    k, kp: neutrino and muon 4-momenta; p: on-shell initial nucleon 4-momentum (all rotated so that q⃗ ∥ z);
    q̃ = (q0t, 0, 0, dq). f1, xif2: isovector F₁, ξF₂ (full, not halved); fa = g_A g(Q̃²) > 0;
    fp = 2M² F_A/(m_π² + Q̃²) (Llewellyn Smith normalisation). Returns the (real) contraction; only ratios of it
    are used, so the overall normalisation convention is irrelevant.
    """
    m = C.M_NUCLEON
    m2 = m * m
    f1v, xf2 = 0.5 * f1, 0.5 * xif2
    fp_n = fp / m  # Nieves' F_P normalisation [GeV⁻¹]
    fa2, f1v2, xf22 = fa * fa, f1v * f1v, xf2 * xf2
    q0, q02, dq2 = q0t, q0t * q0t, dq * dq
    q2 = q02 - dq2
    e, pz, px, py = p[:, 0], p[:, 3], p[:, 1], p[:, 2]
    kk = k[:, 0] * kp[:, 0] - np.einsum("ij,ij->i", k[:, 1:], kp[:, 1:])
    l00 = 2.0 * kp[:, 0] * k[:, 0] - kk
    l03 = -(kp[:, 0] * k[:, 3] + kp[:, 3] * k[:, 0])
    l33 = 2.0 * kp[:, 3] * k[:, 3] + kk
    l11 = 2.0 * kp[:, 1] * k[:, 1] + kk
    l22 = 2.0 * kp[:, 2] * k[:, 2] + kk
    lim12 = kp[:, 3] * k[:, 0] - kp[:, 0] * k[:, 3]
    aux1 = 2.0 * c_l * fp_n * (fp_n * q2 + 4.0 * fa * m)
    a00 = (
        16.0 * f1v2 * (2.0 * e * e * c_n + 2.0 * q0 * e + q2 / 2.0)
        + 2.0 * q2 * xf22 * (4.0 - 4.0 * e * e / m2 - 4.0 * q0 * e / m2 - q02 * (4.0 / q2 + 1.0 / m2))
        + 4.0 * fa2 * (2.0 * e * e + 2.0 * q0 * e + (q2 / 2.0 - 2.0 * m2))
        - aux1 * q02
        - 16.0 * f1v * xf2 * (-q2 + q02) * c_n
    )
    a03 = (
        16.0 * f1v2 * ((2.0 * e * pz + e * dq) * c_n + pz * q0)
        - 4.0 * q2 * xf22 * (2.0 * e * pz / m2 + (dq * e + q0 * pz) / m2 + dq * q0 * (2.0 / q2 + 0.5 / m2))
        + 4.0 * fa2 * ((2.0 * e * pz + dq * e) * c_l + q0 * pz)
        - dq * q0 * (aux1 + 16.0 * f1v * xf2)
    )
    a33 = (
        16.0 * f1v2 * (2.0 * pz * pz + 2.0 * dq * pz - q2 / 2.0)
        + 2.0 * q2 * xf22 * (-4.0 - 4.0 * pz * pz / m2 - 4.0 * dq * pz / m2 - dq2 * (4.0 / q2 + 1.0 / m2))
        + 4.0 * fa2 * (2.0 * pz * pz + 2.0 * dq * pz - (q2 / 2.0 - 2.0 * c_l * m2))
        - aux1 * dq2
        - 16.0 * f1v * xf2 * q02
    )

    def a_trans(pi):
        return (
            16.0 * f1v2 * (2.0 * pi * pi - q2 / 2.0)
            + 2.0 * q2 * xf22 * (-4.0 * c_t - 4.0 * pi * pi / m2)
            + 4.0 * fa2 * (2.0 * pi * pi - (q2 / 2.0 - 2.0 * c_t * m2))
            - 16.0 * f1v * xf2 * c_t * q2
        )

    a12 = 16.0 * fa * (xf2 + f1v) * (-dq * e * c_t + q0 * pz)
    return l00 * a00 + 2.0 * l03 * a03 + l33 * a33 + l11 * a_trans(px) + l22 * a_trans(py) + 2.0 * lim12 * a12
