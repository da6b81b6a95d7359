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
