"""The simulator-calibration diagnostic: the fit test recovers θ from a builtin curve and the table has its rows."""

from __future__ import annotations

import numpy as np
import pytest

from nutune.resources import load_t2k
from nutune.simulator.calibration import TUNE_SIGMA, fit_to_reference, summary_lines
from nutune.simulator.templates import build_templates


@pytest.fixture(scope="module")
def templates():
    return build_templates("nominal", sample_seed=7, n_events=20_000)


def test_fit_test_recovers_the_point_of_a_builtin_curve(templates):
    truth = np.array([1.02, 1.4, 0.35, 0.9])
    cov = load_t2k(58).cov_total
    theta_hat, chi2_min = fit_to_reference(templates, templates.evaluate(truth)[0], cov, start=[1.1, 1.66, 1.0, 0.85])
    assert chi2_min < 1e-6
    np.testing.assert_allclose((theta_hat - truth) / TUNE_SIGMA, 0.0, atol=0.02)


def test_summary_lines_name_every_quantity():
    import pandas as pd

    rows = [
        {"comparison": "c", "variant": "nominal", "theta": "1 2 3 4", "quantity": q, "cos_lo": lo, "cos_hi": hi,
         "builtin": b, "reference_value": r, "value": v}
        for q, lo, hi, b, r, v in [
            ("chi2_full_cov", np.nan, np.nan, np.nan, np.nan, 6.0),
            ("chi2_diag_cov", np.nan, np.nan, np.nan, np.nan, 4.0),
            ("integral_ratio_58bins", -1, 1, 0.39, 0.40, 0.975),
            ("slice_integral_ratio", -1, 0, 1.0, 1.0, 0.99),
            ("fit_chi2_min", np.nan, np.nan, np.nan, np.nan, 2.0),
            ("fit_shift_sigma:MaCCQE", np.nan, np.nan, 1.06, 1.10, -0.4),
        ]
    ]
    text = "\n".join(summary_lines(pd.DataFrame(rows)))
    assert "χ² FULL 6.00" in text and "(0.975)" in text and "MaCCQE -0.40" in text and "[-1,0] 0.990" in text


class _ShallowValley:
    """A stand-in for the templates whose χ² against a zero reference (unit covariance) is a shallow valley in which
    MEC norm and shape trade off, like the builtin's χ² to GENIE's tune curve: minimal (0) at θ₀ inside the box,
    0.0025 higher at x = 1 with N moved along the valley."""

    minimum = np.array([1.1, 1.8, 0.95, 0.88])

    def evaluate(self, theta, bins=58):
        ma, norm, shape, strength = np.asarray(theta, float) - self.minimum
        out = np.zeros((1, bins))
        out[0, :4] = ma / 0.05, (norm + 2.0 * shape) / 0.05, shape / 1.0, strength / 0.1
        return out


def test_fit_test_leaves_a_start_on_the_box_limit():
    # the MicroBooNE tune starts the fit at x = 1, the XSecShape_CCMEC limit, where Minuit's bounded-parameter
    # transform has zero slope: a single MIGRAD from there stops at x = 0.9998, N = 1.70 (chi2 0.0025)
    curve = _ShallowValley()
    theta_hat, chi2_min = fit_to_reference(curve, np.zeros(58), np.eye(58), start=[1.1, 1.7, 1.0, 0.88])
    assert chi2_min < 1e-4
    np.testing.assert_allclose(theta_hat, curve.minimum, atol=1e-2)
