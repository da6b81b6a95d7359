"""nutune.parameter_space: free dials in any order, fixed dials, the map to the simulator's vector."""

from __future__ import annotations

import numpy as np
import pytest

from nutune.dials import PARAMETER_NAMES, DialSetError
from nutune.parameter_space import ParameterSpace


def _space(entries, backend="builtin") -> ParameterSpace:
    return ParameterSpace.from_entries(entries, backend=backend)


def test_paper_space_is_the_identity_value_for_value():
    space = _space([{"dial": n, "min": 0.0, "max": 1.0} for n in PARAMETER_NAMES])
    theta = np.random.default_rng(3).uniform(0, 1, (50, 4))
    out = space.full(theta)
    assert out is not theta and np.array_equal(out, theta)
    assert space.labels == ("$M_A^{QE}$", "MEC norm.", "MEC shape", "RPA strength")


def test_fixed_and_unlisted_dials_fill_the_simulator_vector():
    space = _space([{"dial": "NormCCMEC", "min": 0.0, "max": 3.0}, {"dial": "RPA_CCQE", "fixed": 0.5}])
    out = space.full(np.array([[2.0], [0.5]]))
    # (M_A nominal 0.961242, N free, x nominal 0 = Valencia, s fixed 0.5)
    np.testing.assert_array_equal(out, [[0.961242, 2.0, 0.0, 0.5], [0.961242, 0.5, 0.0, 0.5]])
    assert space.full(np.array([1.5])).shape == (4,)
    with pytest.raises(ValueError, match="2 columns; this parameter space has 1 free dials"):
        space.full(np.ones((3, 2)))


def test_microboone_tune_and_its_errors_in_the_free_order():
    space = _space([{"dial": "RPA_CCQE", "min": 0.0, "max": 1.5}, {"dial": "MaCCQE", "min": 0.6, "max": 1.3}])
    np.testing.assert_array_equal(space.microboone_tune, [0.849, 1.10479])
    np.testing.assert_array_equal(space.microboone_tune_errors, [[0.40, 0.40], [0.10, 0.10]])
    np.testing.assert_array_equal(space.nominal, [1.0, 0.961242])


def test_genie_space_writes_free_and_fixed_dials_into_cards():
    space = _space([{"dial": "MaCCRES", "min": 0.8, "max": 1.4}, {"dial": "FrAbs_pi", "fixed": 0.7},
                    {"dial": "MaCCQE", "min": 0.6, "max": 1.3}], backend="genie")
    assert space.names == ("MaCCRES", "MaCCQE") and space.target == ("MaCCRES", "FrAbs_pi", "MaCCQE")
    names, values = space.card_point(np.array([[1.1, 1.0], [1.2, 0.9]]))
    assert names == ("MaCCRES", "MaCCQE", "FrAbs_pi")
    np.testing.assert_array_equal(values, [[1.1, 1.0, 0.7], [1.2, 0.9, 0.7]])


def test_refused_sets_fail_at_construction():
    with pytest.raises(DialSetError, match="built-in simulator does not apply"):
        _space([{"dial": "NonRESBGvpCC1pi", "min": 0.5, "max": 1.5}])
    with pytest.raises(DialSetError, match="kModeMaMv"):
        _space([{"dial": "MaCCRES", "min": 0.8, "max": 1.4}, {"dial": "NormCCRES", "fixed": 1.1}], backend="genie")


def test_builtin_target_is_the_four_plus_the_extra_builtin_dials_named():
    """The paper's four stay the simulator's default columns (identity map); MaCCRES / FrAbs_pi join in
    BUILTIN_DIALS order when the config names them, free or fixed."""
    paper = _space([{"dial": n, "min": 0.0, "max": 1.0} for n in ("MaCCQE", "NormCCMEC", "XSecShape_CCMEC",
                                                                    "RPA_CCQE")])
    assert paper.target == paper.names
    space = _space([{"dial": "FrAbs_pi", "min": 0.5, "max": 1.5}, {"dial": "MaCCRES", "fixed": 1.2},
                    {"dial": "MaCCQE", "min": 0.7, "max": 1.3}])
    assert space.target == ("MaCCQE", "NormCCMEC", "XSecShape_CCMEC", "RPA_CCQE", "MaCCRES", "FrAbs_pi")
    full = space.full(np.array([[1.2, 0.9]]))
    np.testing.assert_array_equal(full, [[0.9, 1.0, 0.0, 1.0, 1.2, 1.2]])


def test_builtin_limits_name_what_the_simulator_cannot_apply():
    from nutune.parameter_space import builtin_limit_errors

    ok = [{"dial": "MaCCQE", "min": 0.7, "max": 1.3}, {"dial": "FrCEx_pi", "min": 0.5, "max": 1.3},
          {"dial": "FrInel_pi", "fixed": 1.2}]
    assert builtin_limit_errors(ok) == []
    too_much = [{"dial": "FrCEx_pi", "min": 0.5, "max": 1.9}, {"dial": "FrInel_pi", "min": 0.5, "max": 1.6}]
    (msg,) = builtin_limit_errors(too_much)
    assert "FrCEx_pi max 1.9, FrInel_pi max 1.6" in msg and "> 1 at some pion energy" in msg
    res = [{"dial": "MaCCRES", "min": 0.7, "max": 1.3}, {"dial": "MvCCRES", "min": 0.6, "max": 1.1},
           {"dial": "MFP_pi", "fixed": 1.1}]
    assert builtin_limit_errors(res) == []  # the RES response is joint in MaCCRES, MvCCRES and MFP_pi
