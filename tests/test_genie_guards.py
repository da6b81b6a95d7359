"""Loud failure modes (physics.md §1.7): nutune.genie.guards."""

from __future__ import annotations

import numpy as np
import pytest

from nutune.genie import (
    GenieCardError,
    GenieHistogramError,
    GenieLogError,
    InertDialError,
    check_card_states,
    check_dial_response,
    check_histogram,
    check_nuiscomp_log,
)

OK_LOG = """[LOG Fitter]: Reading card
[LOG Reconf]: - Systematic: MaCCQE, Value: 4.9778
[LOG Reconf]: - Systematic: RPA_CCQE, Value: 0.151
[LOG Fitter]: Saved T2K_CC0pi_XSec_2DPcos_nu_I_MC
"""


def test_clean_log_passes():
    check_nuiscomp_log(OK_LOG)


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("[ERR FTL]: Dial RPA_CCQE not found.", "RPA_CCQE"),
        ("[ERR FTL]: Dial XSecShape_CCMEC not found.", "R-1_01_00"),
        ("GReWeightNuXSecCCQE: Warning: default dxsec does not match dxsec saved in tree!", "tune or splines"),
        ("[LOG Fitter]: AbsToSigma(NormCCMEC) = 1.6 -> 1.6", "absolute units"),
        ("GENIE tune was not specified, this is required", "GENIETune"),
    ],
)
def test_log_guards(line, match):
    with pytest.raises(GenieLogError, match=match):
        check_nuiscomp_log(OK_LOG + line + "\n")


def test_card_state_guard():
    check_card_states([("genie_parameter", "MaCCQE", 1.0, "FIX")])
    for state in ("ABS", "FIX/ABS", "FRAC"):
        with pytest.raises(GenieCardError, match="dial_conversion"):
            check_card_states([("genie_parameter", "MaCCQE", 1.0, state)])
    with pytest.raises(GenieCardError, match="only FIX"):
        check_card_states([("genie_parameter", "MaCCQE", 1.0, "FREE")])
    with pytest.raises(GenieCardError, match="genie_parameter"):
        check_card_states([("neut_parameter", "MaCCQE", 1.0, "FIX")])


def test_histogram_guard():
    h = np.full(58, 0.3)
    np.testing.assert_array_equal(check_histogram(h, bins=58), h)
    with pytest.raises(GenieHistogramError, match="67 bins, expected 58.*mask_mom_overflow"):
        check_histogram(np.full(67, 0.3), bins=58)
    bad = h.copy()
    bad[5] = np.nan
    with pytest.raises(GenieHistogramError, match=r"theta=.*non-finite bins \[5\]"):
        check_histogram(bad, bins=58, theta=np.array([1.0, 1.0, 0.5, 1.0]))
    assert np.isnan(check_histogram(bad, bins=58, allow_bad_values=True)[5])
    bad[5] = -1.0
    with pytest.raises(GenieHistogramError, match="negative"):
        check_histogram(bad, bins=58)
    with pytest.raises(GenieHistogramError, match="not a cross section"):
        check_histogram(h * 1e40, bins=58)
    with pytest.raises(GenieHistogramError, match="one of"):
        check_histogram(h, bins=50)


def test_inert_dial_guard():
    h = np.linspace(0.1, 1.0, 58)
    assert check_dial_response(h, h * 1.2) == pytest.approx(0.2)
    with pytest.raises(InertDialError, match="MEC calculator is missing"):
        check_dial_response(h, h.copy())
