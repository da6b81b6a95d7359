"""CCQE on ¹²C as GENIE v3.0.6 G18_10a_02_11a computes and generates it: ``NievesQELCCPXSec`` on ``LocalFGM``.

Read in ``GENIE-MC/Generator`` tag ``R-3_00_06`` (GENIE is GPL: formulas and constants only, nutune's own numpy):

* **Nucleus** (``LocalFGM``, ``NuclearUtils::DensityGaus``): the ¹²C modified-harmonic-oscillator density
  (a = 1.69 fm, α = 1.08); the interaction radius r ~ r²ρ(r) up to the vertex generator's R_max = 3·1.4·A^{1/3} fm;
  local k_F(r) = ħc (3π² ρ_{n,p}(r))^{1/3}; |p| uniform in the local Fermi sphere.
* **Binding** (``QELUtils::BindHitNucleon``, mode ``UseNuclearModel``, ``RFG-NucRemovalE@Pdg=1000060120`` = 25 MeV
  in ``CommonParam.xml``): the struck neutron's energy E_N = M_A − √(M_f² + p²) with M_f = M_A + E_b − m_n and
  M_A = M(¹²C) = 11.1748631 GeV, i.e. an off-shell gap ≈ 25 MeV + p²/2M_f beyond the on-shell energy.
* **Kinematics** (``QELEventGenerator``, phase space ``kPSQELEvGen``): two-body decay of k + p_N into μ⁻ and an
  on-shell proton in their CM frame; the lepton's CM solid angle Ω₀ is the generated variable.
* **Cross section** (``NievesQELCCPXSec::XSec``): dσ/dΩ₀ = G_F² cos²θ_C/(8π² E_N^on E_ν E_p′ E_ℓ)/4 · C_Coul ·
  L_μν A^μν(p_N^on, q̃) · J_δ · N with the de Forest effective transfer q̃ = (E_p′ − E_N^on, k⃗ − p_ℓ^loc k̂′);
  J_δ = √(1 + (1 − cos²θ₀)(γ² − 1)) p*_ℓ²/|v⃗_ℓ − v⃗_p′| (``QELUtils::EnergyDeltaFunctionSolutionQEL``, θ₀ relative
  to the CM velocity); zero for q̃⁰ ≤ 0, Q̃² ≤ 0, Q² < 10⁻⁴ GeV² and Pauli-blocked protons (|p_p′| < k_F(r)).
  The tensor contraction and the RPA (C_N, C_T, C_L, with GENIE's f*/f = 2.13) are :mod:`nieves_rpa`.
* **Form factors** at Q̃² (de Forest): BBA07 vector form factors — ``NievesQELCCPXSec/Dipole`` only overrides the
  *axial* model (``LwlynSmithFFCC.xml`` param set Dipole), the elastic model is ``CommonParam`` ``ElasticFF``'s
  ``BBA07ELFormFactorsModel`` (A. Bodek, S. Avvakumov, R. Bradford, H. Budd, EPJC 53, 349 (2008)); dipole axial
  F_A = g_A (1 + Q̃²/M_A²)⁻², F_P = 2m_n² F_A/(m_π² + Q̃²).
* **Coulomb** (``Coulomb = true``): V_c(r) = −4πα ħc ∫₀^{R_max} ρ_p(r′) r′ min(1, r′/r) dr′ (``vcr``); the lepton's
  local energy E_ℓ − V_c enters q̃ and the factor C_Coul = p_loc E_loc/(p_ℓ E_ℓ); events with T_ℓ ≤ |V_c| vanish.
  The muon in the event record is the asymptotic one (no momentum shift).
* **Reweighting** (``GENIE-MC/Reweight`` ``GReWeightNuXSecCCQE``, mode ``kModeMa``): MaCCQE reweights by the ratio
  of this same cross section (RPA, Coulomb, Pauli on) at the event's kinematics with only M_A changed — F_A and F_P
  are ∝ g(Q̃²; M_A), so L·A = c₀ + c₁g + c₂g² exactly; RPA_CCQE by σ_off/σ_on of the same kinematics.
* **Generator sampling** (``QELEventGenerator::ProcessEventRecord``, optional ``genie_qel_sampling``): GENIE fixes
  r from the vertex generator *before* the accept/reject over (p_N, Ω₀), so every r carries the same total σ(E)
  instead of σ(E, r), and it draws cosθ₀ uniformly on [−1, cosθ₀^max] without the (1 + cosθ₀^max)/2 Jacobian.
  :func:`genie_sampling_factor` turns physical weights into that event distribution.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from nutune.simulator import constants as C
from nutune.simulator.crosssections import vector_form_factors
from nutune.simulator.nieves_rpa import polarisation_factors, relativistic_lindhard, tensor_contraction
from nutune.simulator.nuclear import isotropic_directions, mho_density

__all__ = [
    "M_C12",
    "R_MAX_FM",
    "bba07_form_factors",
    "coulomb_potential",
    "QEKinematics",
    "generate_kinematics",
    "nieves_weights",
    "genie_sampling_factor",
]

#: ¹²C nuclear mass [GeV] (GENIE R-3_00_06 ``genie_pdg_table.txt``).
M_C12 = 11.1748631
#: Vertex-generator radius 3·R₀·A^{1/3}, R₀ = 1.4 fm (``VertexGenerator``; also the Coulomb integral's R_max).
R_MAX_FM = 3.0 * 1.4 * 12.0 ** (1.0 / 3.0)
#: Fine-structure constant (GENIE ``kAem``), Cabibbo cos²θ_C (``CabibboAngle`` = 0.227780466682 in CommonParam).
_ALPHA_EM = 1.0 / 137.03599976
_COS2_CABIBBO = np.cos(0.227780466682) ** 2
#: f*/f of the πNΔ coupling in GENIE's Δh Lindhard function (``NievesQELCCPXSec::deltaLindhard``).
GENIE_FS2_F2 = 2.13**2
#: Proton/neutron magnetic moments of GENIE's CommonParam (``AnomMagnMoment-P/N`` + 1 for the proton).
_MU_P, _MU_N = 2.7930, -1.913042

# BBA07 (config/BBA07ELFormFactorsModel.xml): Kelly-form numerators/denominators and the 7 Lagrange nodes p_i.
_BBA07_GEP = (-0.24, (10.98, 12.82, 21.97), (1.0, 0.9927, 0.9898, 0.9975, 0.9812, 0.9340, 1.0))
_BBA07_GMP = (0.1717, (11.26, 19.32, 8.33), (1.0, 1.0011, 0.9992, 0.9974, 1.0010, 1.0003, 1.0))
_BBA07_GEN_P = (1.0, 1.1011, 1.1392, 1.0203, 1.1093, 1.5429, 0.9706)
_BBA07_GMN_P = (1.0, 0.9958, 0.9877, 1.0193, 1.0350, 0.9164, 0.7300)


def _lagrange(xi: np.ndarray, values: tuple[float, ...]) -> np.ndarray:
    nodes = np.arange(len(values)) / (len(values) - 1.0)
    out = np.zeros_like(xi)
    for i, v in enumerate(values):
        term = np.full_like(xi, v)
        for j, node in enumerate(nodes):
            if j != i:
                term = term * (xi - node) / (nodes[i] - node)
        out = out + term
    return out


def _kelly(tau: np.ndarray, a1: float, b: tuple[float, float, float]) -> np.ndarray:
    return (1.0 + a1 * tau) / (1.0 + tau * (b[0] + tau * (b[1] + b[2] * tau)))


def bba07_form_factors(q2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Isovector (F₁, ξF₂) from GENIE's BBA07 elastic form factors at Q² [GeV²] (τ of ``LwlynSmithFF`` with m_n).

    G_E^p, G_M^p: Kelly forms × Lagrange polynomial A_N(ξ), ξ = 2/(1 + √(1 + 1/τ)); G_E^n = A_N·G_E^p·1.7τ/(1+3.3τ);
    G_M^n = A_N·(μ_n/μ_p)·G_M^p (Bodek et al., EPJC 53, 349 (2008); GENIE ``BBA07ELFormFactorsModel``).
    """
    q2 = np.asarray(q2, dtype=float)
    tau_p = q2 / (4.0 * C.M_PROTON**2)
    tau_n = q2 / (4.0 * C.M_NEUTRON**2)
    with np.errstate(divide="ignore"):
        xi_p = 2.0 / (1.0 + np.sqrt(1.0 + 1.0 / tau_p))
        xi_n = 2.0 / (1.0 + np.sqrt(1.0 + 1.0 / tau_n))
    gep = _lagrange(xi_p, _BBA07_GEP[2]) * _kelly(tau_p, *_BBA07_GEP[:2])
    gmp = _lagrange(xi_p, _BBA07_GMP[2]) * _kelly(tau_p, *_BBA07_GMP[:2]) * _MU_P
    gen = _lagrange(xi_n, _BBA07_GEN_P) * gep * 1.7 * tau_n / (1.0 + 3.3 * tau_n)
    gmn = _lagrange(xi_n, _BBA07_GMN_P) * gmp * _MU_N / _MU_P
    gve, gvm = gep - gen, gmp - gmn
    tau = tau_n
    return (gve + tau * gvm) / (1.0 + tau), (gvm - gve) / (1.0 + tau)


@lru_cache(maxsize=None)
def _coulomb_table(alpha: float, a_fm: float, n: int = 961) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(0.0, R_MAX_FM, 20001)
    rho_p = 0.5 * mho_density(x, alpha, a_fm)  # Z·ρ₁ = ρ/2 for ¹²C [fm⁻³]
    cum_r2 = np.concatenate([[0.0], np.cumsum(0.5 * np.diff(x) * (rho_p[1:] * x[1:] ** 2 + rho_p[:-1] * x[:-1] ** 2))])
    cum_r = np.concatenate([[0.0], np.cumsum(0.5 * np.diff(x) * (rho_p[1:] * x[1:] + rho_p[:-1] * x[:-1]))])
    r = np.linspace(0.0, R_MAX_FM, n)
    inner = np.interp(r, x, cum_r2) / np.where(r > 0, r, 1.0)
    outer = cum_r[-1] - np.interp(r, x, cum_r)
    integral = np.where(r > 0, inner, 0.0) + outer
    return r, -_ALPHA_EM * 4.0 * np.pi * integral * C.HBARC_GEV_FM


def coulomb_potential(r_fm: np.ndarray, alpha: float = 1.08, a_fm: float = 1.69) -> np.ndarray:
    """Coulomb potential energy of a μ⁻ at radius r in ¹²C [GeV] (``NievesQELCCPXSec::vcr``; ≈ −4.6 MeV at r = 0)."""
    grid, values = _coulomb_table(alpha, a_fm)
    return np.interp(np.minimum(np.asarray(r_fm, float), R_MAX_FM), grid, values)


class QEKinematics:
    """One weighted CCQE sample's kinematics (arrays of length n; invalid events have ``ok`` False)."""

    def __init__(self, **arrays):
        self.__dict__.update(arrays)


def _boost(e, p, beta):
    """Active boost of 4-vectors (e, p) by velocity ``beta`` (TLorentzVector::Boost(β))."""
    b2 = np.einsum("ij,ij->i", beta, beta)
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = np.einsum("ij,ij->i", beta, p)
    g2 = np.where(b2 > 0, (gamma - 1.0) / np.where(b2 > 0, b2, 1.0), 0.0)
    return gamma * (e + bp), p + (g2 * bp + gamma * e)[:, None] * beta


def _orthonormal_frame(z_axis):
    z = z_axis / np.linalg.norm(z_axis, axis=1)[:, None]
    helper = np.where(np.abs(z[:, :1]) < 0.9, np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0]]))
    x = helper - np.einsum("ij,ij->i", helper, z)[:, None] * z
    x /= np.linalg.norm(x, axis=1)[:, None]
    return x, np.cross(z, x), z


def generate_kinematics(
    enu: np.ndarray, rng: np.random.Generator, phys, free_nucleon: bool = False
) -> QEKinematics:
    """Radius, struck neutron, CM lepton direction (isotropic), lab muon and proton for each E_ν (see module doc).

    ``free_nucleon``: a neutron at rest and on shell (GENIE's ``kIAssumeFreeNucleon``), for tests of the
    cross-section formula against the free Llewellyn Smith result.
    """
    n = enu.size
    r_grid = np.linspace(0.0, R_MAX_FM, 20001)
    pdf = r_grid**2 * mho_density(r_grid, phys.mho_alpha, phys.mho_a_fm)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(r_grid))])
    r = np.interp(rng.random(n), cdf / cdf[-1], r_grid)
    rho = mho_density(r, phys.mho_alpha, phys.mho_a_fm)
    k_f = C.HBARC_GEV_FM * (1.5 * np.pi**2 * rho) ** (1.0 / 3.0)  # ρ_n = ρ_p = ρ/2 for ¹²C
    direction_n = isotropic_directions(rng, n)
    p_n = (k_f * rng.random(n) ** (1.0 / 3.0))[:, None] * direction_n
    if free_nucleon:
        p_n = np.zeros_like(p_n)
    p2 = np.einsum("ij,ij->i", p_n, p_n)
    m_f = M_C12 + phys.binding_energy - C.M_NEUTRON
    e_n = np.full(n, C.M_NEUTRON) if free_nucleon else M_C12 - np.sqrt(m_f**2 + p2)
    e_on = np.sqrt(C.M_NEUTRON**2 + p2)
    k3 = np.zeros((n, 3))
    k3[:, 2] = enu
    p_tot = p_n + k3
    e_tot = enu + e_n
    s = e_tot**2 - np.einsum("ij,ij->i", p_tot, p_tot)
    ok = s > (C.M_MUON + C.M_PROTON) ** 2
    s = np.where(ok, s, (C.M_MUON + C.M_PROTON + 1e-3) ** 2)
    rs = np.sqrt(s)
    e_cm = (s - C.M_PROTON**2 + C.M_MUON**2) / (2.0 * rs)
    p_cm = np.sqrt(np.clip(e_cm**2 - C.M_MUON**2, 0.0, None))
    beta = p_tot / e_tot[:, None]
    beta_mag = np.linalg.norm(beta, axis=1)
    gamma = 1.0 / np.sqrt(1.0 - beta_mag**2)
    d = isotropic_directions(rng, n)
    cos0 = np.einsum("ij,ij->i", d, beta) / np.where(beta_mag > 0, beta_mag, 1.0)
    e_l, p_l = _boost(e_cm, p_cm[:, None] * d, beta)
    e_p, p_p = _boost(np.sqrt(p_cm**2 + C.M_PROTON**2), -p_cm[:, None] * d, beta)
    with np.errstate(divide="ignore", invalid="ignore"):
        cos0_max = (enu - gamma * e_cm - (e_on - e_n)) / (gamma * p_cm * beta_mag)
    return QEKinematics(
        enu=enu, r=r, rho=rho, k_f=k_f, p_n=p_n, e_on=e_on, ok=ok, gamma=gamma, p_cm=p_cm, cos0=cos0,
        cos0_max=cos0_max, e_l=e_l, p_l=p_l, e_p=e_p, p_p=p_p, k3=k3, free=free_nucleon,
    )


def nieves_weights(kin: QEKinematics, phys, ma_nominal: float) -> dict[str, np.ndarray]:
    """4π dσ/dΩ₀ per neutron [1e-38 cm²] with RPA on at ``ma_nominal``, the L·A coefficients (c₀, c₁, c₂) in
    g(Q̃²; M_A), the RPA on/off ratio R, the observed muon and the transfer variables (see module doc)."""
    n = kin.enu.size
    ok = kin.ok.copy()
    p_l_mag = np.linalg.norm(kin.p_l, axis=1)
    p_p_mag = np.linalg.norm(kin.p_p, axis=1)
    q_vec = kin.k3 - kin.p_l
    q0 = kin.enu - kin.e_l
    q2 = np.einsum("ij,ij->i", q_vec, q_vec) - q0**2
    ok &= q2 > 1e-4
    bound = not kin.free
    if bound:
        ok &= p_p_mag >= kin.k_f  # Pauli blocking of the proton (k_F of protons at r)
    v_c = coulomb_potential(kin.r, phys.mho_alpha, phys.mho_a_fm) if bound else np.zeros(n)
    e_loc = kin.e_l - v_c
    ok &= (e_loc > C.M_MUON) & (kin.e_l - C.M_MUON > np.abs(v_c))
    p_loc = np.sqrt(np.clip(e_loc**2 - C.M_MUON**2, 0.0, None))
    safe_p = np.where(p_l_mag > 0, p_l_mag, 1.0)
    coulomb = p_loc * e_loc / (safe_p * kin.e_l)
    q0t = kin.e_p - kin.e_on
    q3t_vec = kin.k3 - (p_loc / safe_p)[:, None] * kin.p_l
    dqt = np.linalg.norm(q3t_vec, axis=1)
    q2t = dqt**2 - q0t**2
    ok &= q2t > 0
    if bound:
        ok &= q0t > 0
    q0s = np.where(ok, q0t, 0.05)
    dqs = np.where(ok, dqt, 0.3)
    q2s = np.where(ok, q2t, dqs**2 - q0s**2)
    x_rho = kin.rho / mho_density(np.zeros(1), phys.mho_alpha, phys.mho_a_fm)[0]
    im_u = relativistic_lindhard(q0s, dqs, kin.k_f).imag / 2.0
    ok &= ~(im_u > 1e-6)
    c_n, c_t, c_l = polarisation_factors(q0s, dqs, kin.k_f, x_rho, fs2_f2=GENIE_FS2_F2)
    no_ph = (im_u >= 0.0) | (not bound)  # GENIE: no RPA where the ph Lindhard function has no imaginary part
    c_n, c_t, c_l = (np.where(no_ph, 1.0, c) for c in (c_n, c_t, c_l))
    f1, xif2 = vector_form_factors(q2s, phys.vector_ff)
    x_ax, y_ax, z_ax = _orthonormal_frame(np.where(ok[:, None], q3t_vec, np.array([[0.0, 0.0, 1.0]])))

    def rotate(e0, v):
        return np.stack(
            [e0, np.einsum("ij,ij->i", v, x_ax), np.einsum("ij,ij->i", v, y_ax), np.einsum("ij,ij->i", v, z_ax)],
            axis=1,
        )

    k4, kp4, p4 = rotate(kin.enu, kin.k3), rotate(kin.e_l, kin.p_l), rotate(kin.e_on, kin.p_n)
    ones = np.ones(n)

    def contraction(g, rpa: bool):
        fa = C.G_A * g
        fp = 2.0 * C.M_NEUTRON**2 * fa / (C.M_PION**2 + q2s)
        cs = (c_n, c_t, c_l) if rpa else (ones, ones, ones)
        return tensor_contraction(k4, kp4, p4, q0s, dqs, f1, xif2, fa, fp, *cs)

    s0, s1, s2 = (contraction(np.full(n, g), rpa=True) for g in (0.0, 1.0, 2.0))
    c2 = 0.5 * (s2 - 2.0 * s1 + s0)
    c1 = s1 - s0 - c2
    g0 = (1.0 + q2s / ma_nominal**2) ** -2
    on = s0 + g0 * (c1 + g0 * c2)
    off = contraction(g0, rpa=False)
    v_l = kin.p_l / kin.e_l[:, None]
    v_p = kin.p_p / kin.e_p[:, None]
    j_delta = (
        np.sqrt(1.0 + (1.0 - kin.cos0**2) * (kin.gamma**2 - 1.0))
        * kin.p_cm**2
        / np.linalg.norm(v_l - v_p, axis=1)
    )
    g_factor = C.G_FERMI**2 * _COS2_CABIBBO / (8.0 * np.pi**2 * kin.e_on * kin.enu * kin.e_p * kin.e_l) / 4.0
    dsig = 4.0 * np.pi * g_factor * coulomb * on * j_delta * C.GEV2_TO_1E38CM2
    ok &= (dsig > 0) & (off > 0) & np.isfinite(dsig)
    return {
        "ok": ok,
        "w": np.where(ok, dsig, 0.0),
        "c_hat": np.stack([s0, c1, c2]) / np.where(ok & (on != 0), on, 1.0),
        "rpa_ratio": np.where(ok, on / np.where(off > 0, off, 1.0), 1.0),
        "q0": q0,
        "q3": np.linalg.norm(q_vec, axis=1),
        "q2_axial": q2s,
        "q2": q2,
        "p_mu": p_l_mag,
        "cos_mu": kin.p_l[:, 2] / safe_p,
    }


def _quantile_cells(values: np.ndarray, n_cells: int) -> np.ndarray:
    edges = np.quantile(values, np.linspace(0.0, 1.0, n_cells + 1))
    return np.clip(np.searchsorted(edges, values, side="right") - 1, 0, n_cells - 1)


def genie_sampling_factor(kin: QEKinematics, w: np.ndarray, e_cells: int = 40, r_cells: int = 16) -> np.ndarray:
    """Factor turning physical weights ``w`` into GENIE's ``QELEventGenerator`` event distribution (module doc).

    Per (E_ν, r) cell — ``e_cells`` × ``r_cells`` equal-population bins of the thrown E_ν and r — the weights are
    rescaled so the cell carries σ̄(E) (the r-average of σ(E, r), GENIE's spline) instead of σ(E, r), after
    multiplying each event by the sampling bias 2/(1 + cosθ₀^max) of the restricted cosθ₀ range. Equal-population
    cells keep ≥ n/(e_cells·r_cells) events in each (1560 at 1e6 thrown), so the ratio estimator is unbiased to
    O(10⁻³); with fixed-width 50 MeV cells the sparse high-E cells flattened the forward-angle shape (measured:
    forward slice −11 % with 50 MeV, −34 % with 20 MeV cells, vs ±0.5 % between 20 × 8 and 80 × 24 quantile cells).
    """
    bias = np.where(w > 0, 2.0 / np.maximum(1.0 + np.clip(kin.cos0_max, -1.0, 1.0), 1e-12), 0.0)
    cell = _quantile_cells(kin.enu, e_cells) * r_cells + _quantile_cells(kin.r, r_cells)
    n_cells = e_cells * r_cells
    counts = np.maximum(np.bincount(cell, minlength=n_cells), 1).astype(float)
    sigma_er = (np.bincount(cell, w, n_cells) / counts).reshape(e_cells, r_cells)
    biased_er = np.bincount(cell, w * bias, n_cells) / counts
    sigma_of_cell = np.repeat(sigma_er.mean(axis=1), r_cells)
    scale = np.where(biased_er > 0, sigma_of_cell / np.where(biased_er > 0, biased_er, 1.0), 0.0)
    return bias * scale[cell]
