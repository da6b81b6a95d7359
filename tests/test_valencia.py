"""GENIE's Valencia 2p2h hadron tensors (resources/genie_valencia_2p2h) and nutune's contraction of them."""

from __future__ import annotations

import hashlib
from itertools import permutations

import numpy as np
import pytest

from nutune.simulator import constants as C
from nutune.simulator import valencia as V
from nutune.simulator.flux import resources_dir

#: sha256 of the four tables as listed in resources/genie_valencia_2p2h/README.md (GENIE-MC/Generator @ 143b8491).
SHA256 = {
    "FullAll": "a1ba0c68e82ccba388d33f80af1c4d10c90448eda78a8d2eb44ecd9f7a7d24d0",
    "Fullpn": "be232133258c3b8b6ec43f5e148c204ea28932e9e3da95fe4ed050fc56dc0bf0",
    "DeltaAll": "6e8bfedf887e0d95b40a185f583364eb17cbd5dd749863047d2104ec1042b790",
    "Deltapn": "0f4a4a91813e75769202d26aca32becd61a2cab4f3ab7db7ac4685d9f46ed3e4",
}


@pytest.mark.parametrize("kind", V.TENSOR_KINDS)
def test_tables_are_genies_files(kind):
    path = resources_dir() / V.TENSOR_DIR / f"HadTensor120-Nieves-1000060120-{kind}-20150210.dat"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA256[kind]
    assert kind in (resources_dir() / V.TENSOR_DIR / "README.md").read_text()
    tensor = V.load_hadron_tensor(kind)
    assert tensor.w.shape == (5, 120, 120)
    np.testing.assert_allclose(tensor.q0, 0.01 * np.arange(1, 121), atol=1e-12)
    np.testing.assert_allclose(tensor.q, 0.01 * np.arange(1, 121), atol=1e-12)


def test_table_layout_is_q0_outer():
    """Read as q0 outer / |q| inner, the tensor vanishes above the light cone (q0 > |q|), as a response must;
    the transposed reading (R-3_00_06's older layout) would put the strength there instead."""
    w00 = V.load_hadron_tensor("FullAll").w[0]
    i_q0, i_q = np.meshgrid(np.arange(120), np.arange(120), indexing="ij")
    assert np.all(w00[i_q0 > i_q] == 0.0)
    assert np.all(w00[i_q0 < i_q - 30].max() > 0)
    # first rows of the file: q0 = 0.01 GeV at |q| = 0.01, 0.02 GeV (W00 column)
    assert w00[0, 0] == 1.5791 and w00[0, 1] == 1.5888


def test_bilinear_interpolation_is_genies():
    """BLI2DNonUnifGrid: exact at nodes, bilinear between them, arguments clamped to the grid."""
    tensor = V.load_hadron_tensor("FullAll")
    np.testing.assert_array_equal(tensor.evaluate(np.array([0.50]), np.array([0.20]))[:, 0], tensor.w[:, 19, 49])
    mid = tensor.evaluate(np.array([0.505]), np.array([0.205]))[:, 0]
    corners = tensor.w[:, 19:21, 49:51]
    np.testing.assert_allclose(mid, corners.mean(axis=(1, 2)), rtol=1e-12)
    np.testing.assert_array_equal(
        tensor.evaluate(np.array([2.0]), np.array([-1.0])), tensor.evaluate(np.array([1.2]), np.array([0.01]))
    )


def _explicit_contraction(enu, t_mu, cos_mu):
    """Textbook d²σ/dT dcosθ = G_F²/(2π) · |k′|/E_ν · L_μν W^μν (ν: +i ε^{μναβ} k_α k′_β), with W^μν built from
    the five tabulated components in the frame with q along z — independent of GENIE's w1…w5 algebra."""
    m = C.M_MUON
    e_l = t_mu + m
    p_l = np.sqrt(e_l**2 - m**2)
    k_vec = np.array([0.0, 0.0, enu])
    kp_vec = p_l * np.array([np.sqrt(1.0 - cos_mu**2), 0.0, cos_mu])
    q_vec = k_vec - kp_vec
    q_mag = np.linalg.norm(q_vec)
    z = q_vec / q_mag
    x = np.array([z[2], 0.0, -z[0]])
    rot = np.stack([x, np.cross(z, x), z])
    k = np.concatenate([[enu], rot @ k_vec])
    kp = np.concatenate([[e_l], rot @ kp_vec])
    w00, w0z, wxx, wxy, wzz = V.load_hadron_tensor("FullAll").evaluate(
        np.array([q_mag]), np.array([enu - e_l - V.Q_VALUE_C12])
    )[:, 0]
    w = np.zeros((4, 4), complex)
    w[0, 0], w[0, 3], w[3, 0], w[3, 3] = w00, w0z, w0z, wzz
    w[1, 1] = w[2, 2] = wxx
    w[1, 2], w[2, 1] = 1j * wxy, -1j * wxy
    g = np.diag([1.0, -1.0, -1.0, -1.0])
    eps = np.zeros((4, 4, 4, 4))
    for perm in permutations(range(4)):
        eps[perm] = np.linalg.det(np.eye(4)[list(perm)])
    kk = k @ g @ kp
    lep_up = np.outer(k, kp) + np.outer(kp, k) - g * kk + 1j * np.einsum("mnab,a,b->mn", eps, g @ k, g @ kp)
    contraction = np.sum((g @ lep_up @ g) * w).real
    return V._G_F**2 / (2.0 * np.pi) * p_l / enu * contraction * C.GEV2_TO_1E38CM2


@pytest.mark.parametrize(
    ("enu", "t_mu", "cos_mu"),
    [(1.0, 0.5, 0.8), (1.0, 0.3, 0.2), (0.8, 0.4, 0.9), (2.0, 1.2, 0.95), (0.6, 0.25, 0.6), (0.7, 0.1, -0.5)],
)
def test_contraction_equals_the_textbook_lepton_tensor(enu, t_mu, cos_mu):
    value = float(V.d2sigma_dt_dcos(enu, t_mu, cos_mu))
    assert value > 0
    # 3e-5: GENIE's unit factor facconv = 0.0389391289e15 is (ħc)² with ħc rounded to 0.19733 GeV fm
    assert value == pytest.approx(_explicit_contraction(enu, t_mu, cos_mu), rel=5e-5)


def test_total_cross_section_at_3_gev():
    """1467.16e-41 cm² per ¹²C at E_ν = 3 GeV: the Valencia-model authors' own check of these tensors in GENIE
    (``src/MECTensor/MECLoadHadTensor.cxx``, ``TotalXsecAtE``, GENIE-MC/Generator @ 227e8a34; "good to 0.5 %")."""
    assert float(V.sigma_total(3.0)[0]) == pytest.approx(1.46716, rel=0.01)


def test_total_cross_section_shape_and_parts():
    energies = np.array([0.3, 0.5, 1.0, 2.0, 10.0])
    full = V.sigma_total(energies)
    assert np.all(np.diff(full) > 0)  # rises and saturates (q3 < 1.2 GeV)
    assert full[-1] / full[-2] < 1.05
    # per nucleon at 1 GeV ≈ 1.1e-39 cm² (nutune unit 1e-38 per ¹²C: 1.29)
    assert full[2] / 12.0 == pytest.approx(0.108, rel=0.05)
    parts = {kind: float(V.sigma_total(1.0, kind=kind)[0]) for kind in V.TENSOR_KINDS}
    assert parts["Deltapn"] < parts["DeltaAll"] < parts["FullAll"]
    assert parts["Deltapn"] < parts["Fullpn"] < parts["FullAll"]
    # the quadrature is converged: 240² vs 480² midpoints
    np.testing.assert_allclose(V.sigma_total(energies[1:], n=480), full[1:], rtol=3e-3)


def test_no_strength_outside_the_model():
    """Zero below the Q-value, outside the tensor grid and at q3 ≥ NSV-Q3Max (GENIE returns 0 there)."""
    assert V.d2sigma_dq0_dq3(1.0, V.Q_VALUE_C12 * 0.9, 0.3) == 0.0
    assert V.d2sigma_dq0_dq3(2.0, 0.5, 1.21) == 0.0
    assert V.d2sigma_dq0_dq3(1.0, 0.005, 0.3) == 0.0
    assert V.d2sigma_dq0_dq3(1.0, 0.3, 0.6) > 0.0
    assert V.d2sigma_dq0_dq3(0.5, 0.45, 0.4) == 0.0  # spacelike but unphysical for the muon


def test_q0q3_density_and_t_cos_density_agree():
    """d²σ/dq0 dq3 = d²σ/dT dcosθ · q3/(E |k′|) (GENIE MECUtils::J)."""
    enu, q0, q3 = 1.2, 0.35, 0.7
    e_l = enu - q0
    p_l = np.sqrt(e_l**2 - C.M_MUON**2)
    cos_l = (enu**2 + p_l**2 - q3**2) / (2.0 * enu * p_l)
    lhs = float(V.d2sigma_dq0_dq3(enu, q0, q3))
    rhs = float(V.d2sigma_dt_dcos(enu, e_l - C.M_MUON, cos_l)) * q3 / (enu * p_l)
    assert lhs == pytest.approx(rhs, rel=1e-9)
