"""Pion FSI dials on the absorbed-pion background: GENIE Reweight's cushion algebra and hA2018's carbon tables."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from nutune import dials
from nutune.simulator import pion_fsi
from nutune.simulator.flux import resources_dir

#: sha256 of the shipped tables (resources/genie_ha2018/README.md; GENIE-MC/Generator R-3_00_06).
SHA256 = {
    "pip12_abs_frac.txt": "abcd839bd37a88fde3eb4e5c43afa27a1211d09fda48eb852b965bebbc9b1f92",
    "pip12_cex_frac.txt": "3e04289bed2f4d1a1c1d26aad10890bf684d9f233860be7be745feb788d1be6f",
    "pip12_inelas_frac.txt": "f7f67a2e379c7345997208903dda80b498961924a27bd2e05581b908690264fb",
    "pip12_pipro_frac.txt": "f97adf0e7fc66eea34b40a02493424be7e3186277fb0e1998b528dd5b829f1f3",
}
_GENERATOR_MIRROR = Path("/work/.mirror/GENIE-MC+Generator/repo")


def test_shipped_tables_are_genies():
    for name, digest in SHA256.items():
        assert hashlib.sha256((resources_dir() / "genie_ha2018" / name).read_bytes()).hexdigest() == digest


@pytest.mark.skipif(not _GENERATOR_MIRROR.exists(), reason="GENIE Generator source mirror absent")
def test_shipped_tables_equal_the_generator_tag_byte_for_byte():
    import subprocess

    for name in SHA256:
        fate = name.split("_")[1]
        blob = subprocess.run(["git", "-C", str(_GENERATOR_MIRROR), "show",
                               f"R-3_00_06:data/evgen/intranuke/tot_xsec/pipA_{fate}_frac/{name}"],
                              capture_output=True, check=True).stdout
        assert blob == (resources_dir() / "genie_ha2018" / name).read_bytes()


def test_fractions_at_grid_points_are_the_tables_normalised():
    """At 200 MeV carbon's 50 MeV grid gives abs 0.348553, cex 0.442577, inel 0.20887, piprod 0 (sum 1.0)."""
    f = pion_fsi.fate_fractions(np.array([0.200]))[:, 0]
    np.testing.assert_allclose(f, np.array([0.442577, 0.20887, 0.348553, 0.0]) / 1.0, atol=2e-6)
    f = pion_fsi.fate_fractions(np.array([0.0, 5.0]))  # clamped to 1 and 999 MeV
    np.testing.assert_allclose(f.sum(axis=0), 1.0)
    assert f[3, 1] > 0.7 and f[0, 1] == 0.0  # at 999 MeV: pion production dominates, no charge exchange
    dup = pion_fsi.load_fate_table("FrInel_pi")
    assert dup[1][np.searchsorted(dup[0], 100.0)] == pytest.approx((0.23981 + 0.694963) / 2)


def test_cushion_weight_of_an_absorbed_pion_matches_genie_algebra_by_hand():
    """FrCEx_pi = +1 (scale 1.5) at KE = 200 MeV, cushions Abs, Inel, PiProd: τ = −Δ/Σ_c f_c σ_c with Δ = 0.5·f_cex,
    so w_abs = 1 + 0.3 τ = 1 − 0.3·0.5·0.442577/(0.4·0.20887 + 0.3·0.348553 + 0.2·0) = 0.6471."""
    w = pion_fsi.absorbed_pion_weight(np.array([0.2]), {"FrCEx_pi": 1.5})
    assert float(w[0]) == pytest.approx(1 - 0.3 * 0.5 * 0.442577 / (0.4 * 0.20887 + 0.3 * 0.348553), rel=1e-5)
    assert float(w[0]) == pytest.approx(0.6471, abs=1e-4)
    # a named absorption is not a cushion: its scale whatever the others and the energy
    ke = np.linspace(0.01, 1.0, 50)
    np.testing.assert_array_equal(pion_fsi.absorbed_pion_weight(ke, {"FrAbs_pi": 1.3, "FrCEx_pi": 0.6}), 1.3)
    # pion production is zero below 400 MeV: its dial leaves those pions alone
    low = pion_fsi.absorbed_pion_weight(np.array([0.1, 0.3]), {"FrPiProd_pi": 1.2})
    np.testing.assert_allclose(low, 1.0)


def test_fractions_still_sum_to_one_after_the_cushion_shift():
    """GENIE's unitarity: Σ_j f_j·(1 + t_j σ_j) = 1 with the cushion's common dial (ActualTwkDial's check)."""
    ke = np.linspace(0.01, 0.99, 99)
    scales = {"FrCEx_pi": 1.3, "FrInel_pi": 0.8}
    f = dict(zip(dials.PION_FATES, pion_fsi.fate_fractions(ke), strict=True))
    coef = pion_fsi.absorbed_pion_coefficients(ke, list(scales))
    w_abs = 1 + sum(c * (scales[k] - 1) for k, c in coef.items())
    tau = (w_abs - 1) / 0.3  # the cushions' common dial
    total = sum(f[k] * s for k, s in scales.items()) + f["FrAbs_pi"] * w_abs + f["FrPiProd_pi"] * (1 + 0.2 * tau)
    np.testing.assert_allclose(total, 1.0, atol=1e-12)


def test_genie_rescales_when_named_fractions_exceed_one():
    """S = Σ_named f s > 1: GENIE divides the named fractions by S and zeroes the cushions (absorbed pion → 0)."""
    ke = np.array([0.35])  # f_cex = 0.512
    assert float(pion_fsi.absorbed_pion_weight(ke, {"FrCEx_pi": 1.95 + 0.05})[0]) == 0.0
    assert pion_fsi.max_named_sum(["FrCEx_pi"], np.array([[2.0]]))[0] > 1.0
    assert pion_fsi.max_named_sum(["FrCEx_pi"], np.array([[1.9]]))[0] < 1.0


def test_registry_ranges_keep_every_single_fate_dial_linear():
    """Each builtin fate dial's upper range keeps f_j(KE)·s ≤ 1 at every KE, so GENIE never rescales for it
    alone (FrAbs_pi: 1.6 leaves room for GENIE's 2D interpolation, whose largest neighbour value is 0.62)."""
    for fate in dials.PION_FATES:
        spec = dials.REGISTRY[fate]
        assert spec.builtin
        assert pion_fsi.max_named_sum([fate], np.array([[spec.valid_range[1]]]))[0] <= 1.0
        assert pion_fsi.max_named_sum([fate], np.array([[spec.valid_range[1] * 1.02]]))[0] > 1.0 or fate == "FrAbs_pi"
    with pytest.raises(ValueError, match="cushion"):
        pion_fsi.absorbed_pion_coefficients(np.array([0.2]), list(dials.PION_FATES))


def test_the_rescaling_check_over_hull_vertices_equals_the_dense_energy_scan():
    from itertools import combinations

    gen = np.random.default_rng(0)
    table = dict(zip(dials.PION_FATES, pion_fsi.fate_fractions(np.arange(1.0, 1000.0) * 1e-3), strict=True))
    for k in (1, 2, 3):
        for named in combinations(dials.PION_FATES, k):
            scales = gen.uniform(0, 2, (500, k))
            dense = (scales @ np.stack([table[f] for f in named])).max(axis=1)
            np.testing.assert_allclose(pion_fsi.max_named_sum(named, scales), dense, rtol=1e-14)


# --- mean free path --------------------------------------------------------------------------------------------
PIN_SHA256 = {
    "intranuke-xsections-pi+N.dat": "e4d89dac140555dfbfb7cf496aba5a5a77b860f89e1f5a27989972c5de0e4a3d",
    "intranuke-xsections-pi0N.dat": "4dba6c0ef3e8ad7b139de0863a24481fdc0437cd37fa42e7635f145e7e08cb8e",
}


def test_pion_nucleon_tables_are_genies_and_peak_at_the_delta():
    for name, digest in PIN_SHA256.items():
        assert hashlib.sha256((resources_dir() / "genie_ha2018" / name).read_bytes()).hexdigest() == digest
    ke = np.linspace(0.05, 0.6, 111)
    # π+p total (pure I = 3/2) peaks near the Δ(1232): KE ≈ 0.19 GeV, ≈ 200 mb
    sig_pp = pion_fsi.sigma_pion_nucleon(ke, "pi+", 1.0) * 10.0  # fm² → mb
    assert 0.17 < ke[np.argmax(sig_pp)] < 0.21 and 180 < sig_pp.max() < 220
    # isospin: σ(π+n) ≈ σ(π+p)/3 at the Δ peak
    sig_pn = pion_fsi.sigma_pion_nucleon(np.array([0.19]), "pi+", 0.0)[0] * 10.0
    assert sig_pn == pytest.approx(sig_pp.max() / 3, rel=0.15)


def test_density_profiles_are_normalised_and_carbons_own():
    r = np.linspace(0, 12, 120001)
    for a in (11, 12):
        assert np.trapezoid(4 * np.pi * r**2 * pion_fsi.nuclear_density(r, a), r) == pytest.approx(1.0, abs=1e-4)
    # GENIE: carbon a = 1.69 fm, alpha = 1.08; A = 11 takes the generic 1.75 fm, alpha = 0.92
    assert pion_fsi.nuclear_density(0.0, 12) == pytest.approx(1 / ((5.568 + 1.08 * 8.353) * 1.69**3))
    assert pion_fsi.nuclear_density(0.0, 11) == pytest.approx(1 / ((5.568 + 0.92 * 8.353) * 1.75**3))
    assert pion_fsi.tracking_radius(12) == pytest.approx(3 * 1.4 * 12 ** (1 / 3))


def test_optical_depth_equals_genies_step_sum():
    """Σ_k δ/λ(r_k), r_k = |r0 + kδp̂|, k = 1 … first step outside the tracking radius (TransportHadrons)."""
    gen = np.random.default_rng(5)
    r0 = pion_fsi.sample_vertex_radius(gen, 8)
    cos_a = 2 * gen.random(8) - 1
    ke = gen.uniform(0.05, 0.8, 8)
    tau = pion_fsi.optical_depth(r0, cos_a, ke, "pi+", 5 / 11)
    big_r, step = pion_fsi.tracking_radius(12), pion_fsi.HAD_STEP_FM
    for i in range(8):
        k = np.arange(1, 400)
        rk = np.sqrt(r0[i] ** 2 + (k * step) ** 2 + 2 * r0[i] * cos_a[i] * k * step)
        last = int(np.argmax(rk > big_r))
        steps = 11 * pion_fsi.nuclear_density(rk[: last + 1], 11) * step
        brute = steps.sum() * pion_fsi.sigma_pion_nucleon(ke[i : i + 1], "pi+", 5 / 11)[0]
        assert tau[i] == pytest.approx(brute, rel=2e-3)


def test_vertex_radius_follows_r2_rho():
    r = pion_fsi.sample_vertex_radius(np.random.default_rng(0), 200_000)
    grid = np.linspace(0, pion_fsi.tracking_radius(12), 4001)
    pdf = grid**2 * pion_fsi.nuclear_density(grid, 12)
    mean = np.trapezoid(grid * pdf, grid) / np.trapezoid(pdf, grid)
    assert r.mean() == pytest.approx(mean, rel=5e-3) and r.max() <= grid[-1]


def test_path_density_in_chunks_is_bit_identical():
    gen = np.random.default_rng(1)
    r0 = pion_fsi.sample_vertex_radius(gen, 5000)
    cos_a = 2 * gen.random(5000) - 1
    np.testing.assert_array_equal(pion_fsi.path_density(r0, cos_a, chunk=700), pion_fsi.path_density(r0, cos_a))
