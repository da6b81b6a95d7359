"""GENIE Reweight dial conventions (physics.md §1.6, §4.7 test 1) against the MicroBooNE production fcl."""

from __future__ import annotations

import numpy as np
import pytest

from nutune import dials


def test_round_trip_physical_dial_physical():
    gen = np.random.default_rng(7)
    phys = np.column_stack(
        [
            gen.uniform(0.53, 1.39, 50),
            gen.uniform(0.0, 3.0, 50),
            gen.uniform(0, 1, 50),
            gen.uniform(0, 1.5, 50),
        ]
    )
    back = dials.dials_to_physical(dials.physical_to_dials(phys))
    np.testing.assert_allclose(back, phys, rtol=0, atol=1e-12)


def test_round_trip_dial_physical_dial_inside_unclipped_region():
    gen = np.random.default_rng(8)
    d = np.column_stack(
        [gen.uniform(-15, 15, 50), gen.uniform(-2, 4, 50), gen.uniform(0, 1, 50), gen.uniform(-0.5, 1, 50)]
    )
    np.testing.assert_allclose(dials.physical_to_dials(dials.dials_to_physical(d)), d, atol=1e-10)


def test_microboone_production_dials_to_physical_at_fcl_precision():
    phys = dials.dials_to_physical(np.array([4.9778, 1.31189, 1.0, 0.151]))
    # M_A = 0.961242 * (1 + 0.03 * 4.9778) = 1.104788...; N = 1 + 0.5 * 1.31189 = 1.655945
    np.testing.assert_allclose(phys, [1.10479, 1.65595, 1.0, 0.849], atol=6e-6)
    assert phys[0] == pytest.approx(0.961242 * (1 + 0.03 * 4.9778), abs=1e-12)
    np.testing.assert_allclose(phys, dials.MICROBOONE_TUNE_PHYSICAL, atol=6e-6)


def test_microboone_physical_to_dials_at_fcl_precision():
    d = dials.physical_to_dials(np.array([1.10479, 1.65595, 1.0, 0.849]))
    # fcl dials are quoted with 4-5 decimals; M_A is rounded to 1e-5 GeV = 3.5e-4 dial units
    np.testing.assert_allclose(d, [4.9778, 1.31189, 1.0, 0.151], atol=4e-4)


def test_rounded_paper_point_gives_documented_dials():
    d = dials.physical_to_dials(np.array([1.10, 1.66, 1.0, 0.85]))
    np.testing.assert_allclose(d, [4.8118, 1.32, 1.0, 0.15], atol=5e-5)


def test_interim_2019_cv_comments_reproduce():
    assert float(dials.to_physical("MaCCQE", 7.55)) == pytest.approx(1.18, abs=0.005)
    assert float(dials.to_physical("NormCCMEC", 0.52)) == pytest.approx(1.26, abs=1e-12)


def test_norm_ccmec_floor_at_zero():
    assert float(dials.to_physical("NormCCMEC", -2.0)) == 0.0
    assert float(dials.to_physical("NormCCMEC", -3.5)) == 0.0
    assert float(dials.to_physical("NormCCMEC", 4.0)) == 3.0


def test_xsecshape_clamped_to_unit_interval():
    assert float(dials.to_physical("XSecShape_CCMEC", 1.7)) == 1.0
    assert float(dials.to_physical("XSecShape_CCMEC", -0.3)) == 0.0
    assert float(dials.to_physical("XSecShape_CCMEC", 0.42)) == 0.42


def test_rpa_dial_zero_is_full_strength_and_linear_extrapolation():
    assert float(dials.to_physical("RPA_CCQE", 0.0)) == 1.0  # dial 0 = full Nieves RPA
    assert float(dials.to_physical("RPA_CCQE", 1.0)) == 0.0  # dial 1 = RPA off
    assert float(dials.to_physical("RPA_CCQE", -0.5)) == 1.5  # linear extrapolation, no clipping
    assert float(dials.to_dial("RPA_CCQE", 0.849)) == pytest.approx(0.151, abs=1e-12)


def test_ma_sigma_is_three_percent_of_g18_nominal():
    assert float(dials.to_physical("MaCCQE", 0.0)) == dials.MA_NOMINAL_GEV == 0.961242
    assert float(dials.to_physical("MaCCQE", 1.0)) == pytest.approx(0.961242 * 1.03, rel=1e-14)
    assert float(dials.to_physical("MaCCQE", -15.0)) == pytest.approx(0.5287, abs=1e-4)
    assert float(dials.to_physical("MaCCQE", 15.0)) == pytest.approx(1.3938, abs=1e-4)


def test_effective_physical_applies_genie_clipping():
    eff = dials.effective_physical(np.array([[1.0, -0.5, 1.7, 1.2], [1.0, 2.0, -0.3, 0.0]]))
    np.testing.assert_allclose(eff, [[1.0, 0.0, 1.0, 1.2], [1.0, 2.0, 0.0, 0.0]], atol=1e-12)


def test_unknown_dial_name_is_rejected():
    with pytest.raises(KeyError, match="MaRES"):
        dials.to_physical("MaRES", 0.0)


# --- the registry (issue 14 item 1) ------------------------------------------------------------------------------

import hashlib  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402

_ROOT = Path(__file__).resolve().parents[1]
_UNCERTAINTY_XML = _ROOT / "resources" / "genie_reweight" / "GSystUncertaintyTable.xml"
_REWEIGHT_MIRROR = Path("/work/.mirror/GENIE-MC+Reweight/repo")


def _one_sigma_table() -> dict[tuple[str, str], float]:
    text = _UNCERTAINTY_XML.read_text(encoding="latin-1")
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)  # drop commented-out entries (FrElas_pi, ...)
    pat = r'name="(\w+)@(PlusOneSigma|MinusOneSigma)">\s*([-+0-9.eE]+)\s*<'
    return {(m[0], m[1]): float(m[2]) for m in re.findall(pat, text)}


def test_shipped_uncertainty_table_is_genie_reweights_file():
    digest = hashlib.sha256(_UNCERTAINTY_XML.read_bytes()).hexdigest()
    assert digest == "9a3e79dad2b0026811a3cbf6fddf77705ebebe348150c89f46c3af94bab5cc16"


def test_every_registry_sigma_equals_genie_reweights_uncertainty_table():
    table = _one_sigma_table()
    checked = 0
    for s in dials.REGISTRY.values():
        if s.mapping != "scale":
            continue  # XSecShape_CCMEC and RPA_CCQE are absolute dials with no table entry
        assert table[(s.name, "PlusOneSigma")] == s.sigma_plus, s.name
        assert table[(s.name, "MinusOneSigma")] == s.sigma_minus, s.name
        checked += 1
    assert checked == len(dials.REGISTRY) - 2
    assert ("RPA_CCQE", "PlusOneSigma") not in table and ("XSecShape_CCMEC", "PlusOneSigma") not in table


@pytest.mark.skipif(not _REWEIGHT_MIRROR.exists(), reason="GENIE Reweight source mirror absent")
def test_registry_names_and_calculators_exist_in_genie_reweight_source():
    def show(path: str) -> str:
        return subprocess.run(["git", "-C", str(_REWEIGHT_MIRROR), "show", f"HEAD:{path}"], check=True,
                              capture_output=True, text=True).stdout

    gsyst = show("src/RwFramework/GSyst.cxx")
    for s in dials.REGISTRY.values():
        assert f'= "{s.name}";' in gsyst, s.name
        source = show(f"src/RwCalculators/{s.calculator}.cxx")
        if s.mode:
            assert s.mode in source, (s.name, s.mode)


def test_registry_nominals_are_g18_10a_02_11a_values():
    assert dials.REGISTRY["MaCCQE"].nominal == 0.961242
    assert dials.REGISTRY["MaCCRES"].nominal == 1.065047
    assert dials.REGISTRY["MvCCRES"].nominal == 0.840
    assert dials.NOMINAL_PHYSICAL.tolist() == [0.961242, 1.0, 0.0, 1.0]
    np.testing.assert_allclose(dials.MICROBOONE_TUNE_DIALS, [4.9778, 1.31189, 1.0, 0.151])


def test_asymmetric_sigma_uses_the_sign_of_the_dial():
    s = dials.REGISTRY["NormCCQE"]  # +20 % / -15 %
    assert float(s.to_physical(1.0)) == pytest.approx(1.20)
    assert float(s.to_physical(-1.0)) == pytest.approx(0.85)
    np.testing.assert_allclose(s.to_dial(s.to_physical(np.array([-2.0, -0.5, 0.0, 0.7, 3.0]))),
                               [-2.0, -0.5, 0.0, 0.7, 3.0], atol=1e-12)


def test_builtin_four_are_the_simulators_vector_and_maps_are_unchanged():
    assert dials.PARAMETER_NAMES == ("MaCCQE", "NormCCMEC", "XSecShape_CCMEC", "RPA_CCQE")
    assert dials.BUILTIN_DIALS[:4] == dials.PARAMETER_NAMES
    t = np.linspace(-3, 3, 13)
    # bit-for-bit the formulas of the four-dial module this registry replaced (the bank must not change)
    assert np.array_equal(dials.to_physical("MaCCQE", t), np.maximum(0.0, 0.961242 * (1.0 + 0.03 * t)))
    assert np.array_equal(dials.to_physical("NormCCMEC", t), np.maximum(0.0, 1.0 + 0.5 * t))
    assert np.array_equal(dials.to_dial("MaCCQE", t + 2), ((t + 2) / 0.961242 - 1.0) / 0.03)
    assert np.array_equal(dials.to_dial("NormCCMEC", t), (t - 1.0) / 0.5)


@pytest.mark.parametrize(
    ("names", "match"),
    [
        (["MaCCQE", "NormCCQE"], "kModeMa"),
        (["MaCCRES", "NormCCRES"], "kModeMaMv"),
        (["MvCCRES", "NormCCRES"], "kModeMaMv"),
        (["FrCEx_pi", "FrInel_pi", "FrAbs_pi", "FrPiProd_pi"], "cushion"),
        (["MaCCQE", "MaCCQE"], "more than once"),
        (["MaRES"], "unknown GENIE dial"),
    ],
)
def test_combinations_genie_reweight_refuses(names, match):
    with pytest.raises(dials.DialSetError, match=match):
        dials.check_dial_set(names, backend="genie")


def test_builtin_backend_refuses_dials_it_does_not_apply_by_name():
    dials.check_dial_set(["RPA_CCQE", "MaCCQE"])  # any subset and order of the four
    dials.check_dial_set(["MaCCRES", "FrAbs_pi", "FracPN_CCMEC"], backend="genie")
    dials.check_dial_set(["MaCCQE", "MaCCRES", "FrAbs_pi"])
    dials.check_dial_set(["MaCCRES", "MvCCRES", "MFP_pi", "FrCEx_pi", "FrInel_pi", "FrPiProd_pi"])
    with pytest.raises(dials.DialSetError, match="does not apply dial.*NonRESBGvpCC1pi"):
        dials.check_dial_set(["MaCCQE", "NonRESBGvpCC1pi"])
