"""NUISANCE cards and GENIE/NUISANCE command lines (nutune.genie.cards)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from nutune.dials import MICROBOONE_TUNE_DIALS, MICROBOONE_TUNE_PHYSICAL, PARAMETER_NAMES, dials_to_physical
from nutune.genie import (
    GenieCardError,
    gevgen_command,
    gevgen_output,
    nuisance_card,
    nuiscomp_command,
    parse_card,
    prepare_genie_command,
)

TUNE = "G18_10a_02_11a"


def _gcfg(**kw):
    base = dict(
        container=None, gevgen="gevgen", prepare_genie="PrepareGENIE", nuiscomp="nuiscomp", tune=TUNE,
        splines="/splines/gxspl-NUsmall.xml", flux_file="/flux/t2kflux_2016_plus250kA.root",
        flux_hist="enu_nd280_numu", target="1000060120[0.923],1000010010[0.077]", n_events=2000000,
        gen_seed=20240601, keep_events=False,
    )
    base.update(kw)
    return SimpleNamespace(**base)


def test_golden_card_microboone_tune():
    """Physical (1.10479, 1.65595, 1.0, 0.849) -> the fcl's dials (4.9778, 1.31189, 1.0, 0.151) in the card.

    The physical values are rounded to 5-6 digits, so the dials agree to that precision: dM_A = 5e-6 GeV is
    1.7e-4 in MaCCQE units, dN = 5e-6 is 1e-5 in NormCCMEC units.
    """
    text = nuisance_card(MICROBOONE_TUNE_PHYSICAL, tune=TUNE, events_file="/ev/events_prepared.root")
    card = parse_card(text)
    assert card.config["GENIETune"] == TUNE
    assert [p[1] for p in card.parameters] == list(PARAMETER_NAMES)
    assert all(p[0] == "genie_parameter" and p[3] == "FIX" for p in card.parameters)
    assert np.all(np.abs(card.dials() - MICROBOONE_TUNE_DIALS) <= [2e-4, 2e-5, 1e-12, 1e-12])
    assert card.samples == [
        {"name": "T2K_CC0pi_XSec_2DPcos_nu_I", "input": "GENIE:/ev/events_prepared.root", "mask_mom_overflow": "1"}
    ]
    assert card.bins() == 58
    assert "ABS" not in text


def test_card_round_trip_is_exact():
    rng = np.random.default_rng(0)
    theta = rng.uniform([0.5287, 0, 0, 0], [1.3938, 3, 1, 1.5], size=(20, 4))
    for th in theta:
        back = dials_to_physical(parse_card(nuisance_card(th, tune=TUNE, events_file="e.root")).dials())
        np.testing.assert_allclose(back, th, rtol=1e-14, atol=1e-15)


def test_card_67_bins_and_errors():
    text = nuisance_card([1.0, 1.0, 0.5, 1.0], tune=TUNE, events_file="e.root", bins=67)
    assert parse_card(text).bins() == 67
    with pytest.raises(GenieCardError, match="bins"):
        nuisance_card([1.0, 1.0, 0.5, 1.0], tune=TUNE, events_file="e.root", bins=60)
    with pytest.raises(GenieCardError, match="4 finite"):
        nuisance_card([1.0, np.nan, 0.5, 1.0], tune=TUNE, events_file="e.root")
    with pytest.raises(GenieCardError, match="GENIETune"):
        nuisance_card([1.0, 1.0, 0.5, 1.0], tune="", events_file="e.root")


def test_parse_card_rejects_abs_state():
    text = nuisance_card([1.0, 1.0, 0.5, 1.0], tune=TUNE, events_file="e.root").replace(
        'name="NormCCMEC" nominal="0.0" state="FIX"', 'name="NormCCMEC" nominal="1.0" state="FIX/ABS"'
    )
    assert "FIX/ABS" in text
    with pytest.raises(GenieCardError, match="ABS"):
        parse_card(text)
    assert parse_card(text, check=False).parameters[1][3] == "FIX/ABS"


def test_gevgen_and_prepare_commands():
    g = _gcfg()
    cmd = gevgen_command(g, prefix="/w/gntp", run=0)
    assert cmd[0] == "gevgen"
    args = dict(zip(cmd[1::2], cmd[2::2], strict=True))
    assert args == {
        "-n": "2000000", "-p": "14", "-t": "1000060120[0.923],1000010010[0.077]", "-e": "0,30",
        "-f": "/flux/t2kflux_2016_plus250kA.root,enu_nd280_numu", "-r": "0", "-o": "/w/gntp",
        "--seed": "20240601", "--cross-sections": "/splines/gxspl-NUsmall.xml", "--tune": TUNE,
    }  # fmt: skip
    assert str(gevgen_output("/w/gntp", 0)) == "/w/gntp.0.ghep.root"
    assert prepare_genie_command(g, ghep="/w/gntp.0.ghep.root", output="/r/events_prepared.root") == [
        "PrepareGENIE", "-i", "/w/gntp.0.ghep.root", "-f", "/flux/t2kflux_2016_plus250kA.root,enu_nd280_numu",
        "-t", "1000060120[0.923],1000010010[0.077]", "-o", "/r/events_prepared.root",
    ]  # fmt: skip
    assert nuiscomp_command(g, card="c.xml", output="o.root") == ["nuiscomp", "-c", "c.xml", "-o", "o.root"]
    with pytest.raises(GenieCardError, match="n_events"):
        gevgen_command(_gcfg(n_events=0), prefix="p")


def test_card_for_any_dial_set_in_dial_units_and_refused_sets():
    from nutune.genie.cards import nuisance_card, parse_card

    names = ("MaCCRES", "FrAbs_pi", "RPA_CCQE", "NormCCQE")
    text = nuisance_card(np.array([1.2780564, 0.7, 0.85, 0.85]), tune="G18_10a_02_11a", events_file="/tmp/ev.root",
                         names=names)
    card = parse_card(text)
    # MaCCRES 1.065047 * (1 + 0.2 t) = 1.2780564 -> t = 1; FrAbs_pi 1 + 0.3 t = 0.7 -> -1; RPA 1 - t; NormCCQE -15 %
    np.testing.assert_allclose(card.dials(names), [1.0, -1.0, 0.15, -1.0], atol=1e-6)
    assert card.dials(("MaCCQE",)).tolist() == [0.0]  # a dial the card does not set stays at nominal
    with pytest.raises(GenieCardError, match="kModeMa"):
        nuisance_card(np.array([1.0, 1.0]), tune="G18_10a_02_11a", events_file="/tmp/ev.root",
                      names=("MaCCQE", "NormCCQE"))
    with pytest.raises(GenieCardError, match="cushion"):
        nuisance_card(np.ones(4), tune="G18_10a_02_11a", events_file="/tmp/ev.root",
                      names=("FrCEx_pi", "FrInel_pi", "FrAbs_pi", "FrPiProd_pi"))
