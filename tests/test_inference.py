"""Tests of nutune.inference: posterior summaries and covariance throws with a known linear-Gaussian posterior."""

from __future__ import annotations

import numpy as np
import pytest

from nutune.dials import PARAMETER_NAMES, to_dial
from nutune.inference import SUMMARY_COLUMNS, covariance_throws, posterior_summary, throw_intervals
from nutune.progress import is_progress

POSTERIOR_SD = 0.01


class ShiftPosterior:
    """p(theta | x) = N(x[:4], 0.01²): the posterior mean follows the first four bins of the histogram."""

    def sample_batched(self, n, xs, seed):
        xs = np.atleast_2d(xs)
        generator = np.random.default_rng(seed)
        return xs[:, None, :4] + POSTERIOR_SD * generator.normal(size=(len(xs), n, 4))


def throw_setup():
    x_obs = np.array([1.1, 1.6, 0.6, 0.9, 0.05, 2.0])
    sd = np.array([0.1, 0.3, 0.2, 0.25, 0.1, 0.2])
    corr = np.eye(6)
    corr[0, 1] = corr[1, 0] = 0.6
    corr[2, 3] = corr[3, 2] = -0.5
    return x_obs, corr * np.outer(sd, sd), sd


def test_posterior_summary_of_gaussian_draws():
    generator = np.random.default_rng(0)
    mean = np.array([1.05, 1.7, 0.4, 0.9])
    sd = np.array([0.02, 0.1, 0.05, 0.03])
    samples = mean + sd * generator.normal(size=(40000, 4))
    summary = posterior_summary(samples)
    assert tuple(summary.columns) == SUMMARY_COLUMNS
    assert list(summary["dial_name"]) == list(PARAMETER_NAMES)
    assert list(summary["unit"]) == ["GeV", "", "", ""]
    # the median's standard error is 1.25 sd / sqrt(S); allow 4 of them
    assert np.all(np.abs(summary["median"].to_numpy() - mean) < 4 * 1.25 * sd / np.sqrt(40000))
    np.testing.assert_allclose(summary["halfwidth_68"], sd, rtol=0.03)
    np.testing.assert_allclose(summary["p97_5"] - summary["median"], 1.96 * sd, rtol=0.05)
    np.testing.assert_allclose(summary["minus_68"] + summary["plus_68"], 2 * summary["halfwidth_68"])
    for i, name in enumerate(PARAMETER_NAMES):
        assert summary["median_dial"][i] == pytest.approx(float(to_dial(name, summary["median"][i])))
    assert summary["max_like"].isna().all()
    log_prob = -np.sum(((samples - mean) / sd) ** 2, axis=1)
    best = samples[np.argmax(log_prob)]
    np.testing.assert_array_equal(posterior_summary(samples, log_prob)["max_like"], best)
    with pytest.raises(ValueError, match="shape"):
        posterior_summary(samples[:, :3])


def test_throws_propagate_the_covariance():
    x_obs, cov, sd = throw_setup()
    result = covariance_throws(ShiftPosterior(), x_obs, cov, n_throws=4000, seed=5, n_median_samples=20,
                               batch_size=500)
    assert result.x_throws.shape == (4000, 6) and result.samples.shape == (4000, 4)
    np.testing.assert_allclose(result.central, x_obs[:4], atol=0.03)
    expected_width = np.sqrt(sd[:4] ** 2 + POSTERIOR_SD**2)
    np.testing.assert_allclose(result.minus, expected_width, rtol=0.08)
    np.testing.assert_allclose(result.plus, expected_width, rtol=0.08)
    np.testing.assert_allclose(result.median_minus, sd[:4], rtol=0.08)  # medians: data spread only
    assert result.correlation[0, 1] == pytest.approx(0.6 * sd[0] * sd[1] / np.prod(expected_width[:2]), abs=0.05)
    assert result.correlation[2, 3] == pytest.approx(-0.5 * sd[2] * sd[3] / np.prod(expected_width[2:]), abs=0.05)
    assert abs(result.correlation[0, 2]) < 0.06
    # bin 4 (0.05 ± 0.1) goes negative in ~31 % of throws; those throws are kept and counted
    assert result.n_negative_throws == int(np.sum(np.any(result.x_throws < 0, axis=1)))
    assert 0.25 < result.n_negative_throws / 4000 < 0.4
    np.testing.assert_array_equal(result["samples"], result.samples)


def test_throws_are_reproducible():
    x_obs, cov, _ = throw_setup()
    first = covariance_throws(ShiftPosterior(), x_obs, cov, n_throws=50, seed=9, n_median_samples=5)
    second = covariance_throws(ShiftPosterior(), x_obs, cov, n_throws=50, seed=9, n_median_samples=5)
    other = covariance_throws(ShiftPosterior(), x_obs, cov, n_throws=50, seed=10, n_median_samples=5)
    for key, value in first.arrays().items():
        np.testing.assert_array_equal(value, second.arrays()[key])
    assert not np.array_equal(first.x_throws, other.x_throws)


def test_throw_inputs_are_checked():
    x_obs, cov, _ = throw_setup()
    with pytest.raises(ValueError, match="semi-definite"):
        covariance_throws(ShiftPosterior(), x_obs, -cov, n_throws=10, seed=1)
    with pytest.raises(ValueError, match="bins"):
        covariance_throws(ShiftPosterior(), x_obs[:5], cov, n_throws=10, seed=1)


def test_throw_intervals_around_a_given_centre():
    values = np.arange(101, dtype=float)[:, None].repeat(4, axis=1)
    centre, minus, plus = throw_intervals(values)
    np.testing.assert_allclose(centre, 50.0)
    np.testing.assert_allclose(minus, 34.0)
    np.testing.assert_allclose(plus, 34.0)
    centre, minus, plus = throw_intervals(values, central=np.full(4, 40.0))
    np.testing.assert_allclose(minus, 24.0)
    np.testing.assert_allclose(plus, 44.0)


@pytest.mark.parametrize("n_throws, batch_size, expected", [
    (50, 100, ["50 / 50 (100 %)"]),  # one batch: one line, not ten
    (1000, 100, [f"{k} / 1000 ({k // 10} %)" for k in range(100, 1001, 100)]),
    (100, 30, ["30 / 100 (30 %)", "60 / 100 (60 %)", "90 / 100 (90 %)", "100 / 100 (100 %)"]),
])
def test_throws_progress_lines_are_not_repeated(caplog, n_throws, batch_size, expected):
    x_obs, cov, _ = throw_setup()
    with caplog.at_level("INFO", logger="nutune.inference"):
        covariance_throws(ShiftPosterior(), x_obs, cov, n_throws=n_throws, seed=1, n_median_samples=2,
                          batch_size=batch_size)
    records = [r for r in caplog.records if r.getMessage().startswith("throws:")]
    assert [r.getMessage().removeprefix("throws: ").split(",")[0] for r in records] == expected
    assert all(is_progress(r) for r in records)
    assert all("elapsed" in r.getMessage() and "left" in r.getMessage() for r in records[:-1])
    assert "done in" in records[-1].getMessage()
