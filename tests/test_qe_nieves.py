"""GENIE's Nieves CCQE (nutune.simulator.qe_nieves): free-nucleon limit, form factors, Coulomb, sampling emulation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from nutune.dials import MA_NOMINAL_GEV
from nutune.simulator import qe_nieves as Q
from nutune.simulator.crosssections import free_ccqe_sigma
from nutune.simulator.variants import NOMINAL

DIPOLE = dataclasses.replace(NOMINAL, vector_ff="dipole")


@pytest.mark.parametrize("enu", [0.5, 1.0, 2.0])
def test_free_nucleon_limit_is_llewellyn_smith(enu):
    """With a neutron at rest (no binding, Pauli, Coulomb, RPA) 4π dσ/dΩ₀ averaged over the CM sphere — GENIE's
    G-factor, J_δ and the Nieves tensor contraction — must give the free Llewellyn Smith σ(E) (dipole FFs)."""
    rng = np.random.default_rng(11)
    n = 200_000
    kin = Q.generate_kinematics(np.full(n, enu), rng, DIPOLE, free_nucleon=True)
    out = Q.nieves_weights(kin, DIPOLE, MA_NOMINAL_GEV)
    sigma = out["w"].mean()
    assert sigma == pytest.approx(free_ccqe_sigma(enu, MA_NOMINAL_GEV), rel=0.01)


def test_rpa_off_and_ma_coefficients_are_consistent():
    rng = np.random.default_rng(3)
    kin = Q.generate_kinematics(np.full(20_000, 0.8), rng, NOMINAL)
    out = Q.nieves_weights(kin, NOMINAL, MA_NOMINAL_GEV)
    ok = out["ok"]
    g0 = (1.0 + out["q2_axial"][ok] / MA_NOMINAL_GEV**2) ** -2
    c = out["c_hat"][:, ok]
    np.testing.assert_allclose(c[0] + g0 * (c[1] + g0 * c[2]), 1.0, rtol=1e-10)
    r, w = out["rpa_ratio"][ok], out["w"][ok]
    low = out["q2"][ok] < 0.05
    # σ_on/σ_off: the Nieves RPA suppresses low Q² (≈ 25 % at E = 0.8 GeV) and much less above
    suppression_low = w[low].sum() / (w[low] / r[low]).sum()
    suppression_high = w[~low].sum() / (w[~low] / r[~low]).sum()
    assert suppression_low < 0.8 < suppression_high


def test_bba07_form_factors():
    """BBA07 at Q² → 0: F₁ᵛ = 1 and ξF₂ᵛ = μ_p − μ_n − 1 (GENIE's moments 2.7930, −1.913042); below dipole at
    high Q² within 20 % of the dipole (Bodek et al., EPJC 53, 349 (2008))."""
    f1, xif2 = Q.bba07_form_factors(np.array([1e-8]))
    assert f1[0] == pytest.approx(1.0, abs=1e-4)
    assert xif2[0] == pytest.approx(2.7930 + 1.913042 - 1.0, abs=1e-3)
    f1_hi, _ = Q.bba07_form_factors(np.array([1.0]))
    from nutune.simulator.crosssections import vector_form_factors

    f1_dip, _ = vector_form_factors(np.array([1.0]), "dipole")
    assert 0.8 < f1_hi[0] / f1_dip[0] < 1.2


def test_coulomb_potential_of_carbon():
    """V_c of a μ⁻ in ¹²C: −Zα ħc (3/2R...) ≈ −4.6 MeV at the centre, → −Zα ħc/r outside the charge."""
    v0 = float(Q.coulomb_potential(np.array([0.0]))[0])
    assert -5.0e-3 < v0 < -4.2e-3
    r = 8.0
    assert float(Q.coulomb_potential(np.array([r]))[0]) == pytest.approx(
        -6.0 / 137.03599976 * 0.1973269804 / r, rel=0.01
    )


def test_sampling_emulation_keeps_the_cross_section():
    """GENIE's generator sampling reshapes events within each (E, r) cell but keeps σ(E) (the spline)."""
    rng = np.random.default_rng(5)
    enu = rng.uniform(0.4, 1.5, 100_000)
    kin = Q.generate_kinematics(enu, rng, NOMINAL)
    out = Q.nieves_weights(kin, NOMINAL, MA_NOMINAL_GEV)
    factor = Q.genie_sampling_factor(kin, out["w"], e_cells=10, r_cells=8)
    assert np.sum(out["w"] * factor) == pytest.approx(np.sum(out["w"]), rel=2e-3)
    assert np.all(factor[out["w"] == 0] == 0)
    # the dense centre (strongest Pauli blocking and RPA) gains weight relative to σ(E, r)
    centre = kin.r < np.quantile(kin.r, 0.25)
    assert np.sum((out["w"] * factor)[centre]) > np.sum(out["w"][centre])
