"""Tests of nutune.diagnostics: coverage, HPD coverage, TARP and SBC on an exactly known Gaussian posterior."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from nutune.diagnostics import (
    TEST_METRICS_COLUMNS,
    coverage_curve,
    hpd_levels,
    marginal_coverage,
    run_diagnostics,
    write_metrics,
    write_test_metrics_table,
    write_test_posteriors,
)
from nutune.dials import PARAMETER_NAMES

PRIOR_MEAN, PRIOR_SD, NOISE_SD = 0.5, 0.1, 0.05
POST_VAR = 1.0 / (1.0 / PRIOR_SD**2 + 1.0 / NOISE_SD**2)


class GaussianPosterior:
    """The exact posterior of u ~ N(0.5, 0.1²), x = u + N(0, 0.05²) per dimension (conjugate Gaussian).

    ``width_factor`` != 1 makes it deliberately mis-calibrated. Implements the parts of NutunePosterior's
    interface that the diagnostics use; the unit box is the identity map here.
    """

    dial_names = PARAMETER_NAMES

    def __init__(self, width_factor: float = 1.0):
        self.sd = width_factor * np.sqrt(POST_VAR)
        self.prior_low = np.zeros(4)
        self.prior_high = np.ones(4)
        self.sbi_posterior = _SbiView(self)

    def mean(self, xs):
        return POST_VAR * (PRIOR_MEAN / PRIOR_SD**2 + np.asarray(xs, dtype=float) / NOISE_SD**2)

    def to_unit(self, theta):
        return np.asarray(theta, dtype=float)

    def transform_x(self, xs):
        return torch.as_tensor(np.atleast_2d(xs), dtype=torch.float32)

    def sample_batched(self, n, xs, seed):
        generator = np.random.default_rng(seed)
        mean = self.mean(xs)
        return mean[:, None, :] + self.sd * generator.normal(size=(len(mean), n, 4))

    def log_prob_batched(self, theta, xs, normalize=False):
        z = (np.asarray(theta) - self.mean(xs)[:, None, :]) / self.sd
        return -0.5 * np.sum(z**2, axis=-1)


class _SbiView:
    """sbi's view: ``sample_batched(sample_shape, x=tensor)`` -> (S, B, d) from torch's (seeded) global RNG."""

    def __init__(self, exact: GaussianPosterior):
        self.exact = exact

    def sample_batched(self, sample_shape, x, show_progress_bars=False):
        mean = torch.as_tensor(self.exact.mean(x.numpy()), dtype=torch.float32)
        return mean + float(self.exact.sd) * torch.randn(*tuple(sample_shape), *mean.shape)


def gaussian_test_set(n, seed=0):
    generator = np.random.default_rng(seed)
    theta = PRIOR_MEAN + PRIOR_SD * generator.normal(size=(n, 4))
    return theta, theta + NOISE_SD * generator.normal(size=(n, 4))


SETTINGS = {"num_posterior_samples": 200, "coverage_levels": 21, "n_pulls": 100, "corner_index": 0}


@pytest.fixture(scope="module")
def calibrated():
    theta, x = gaussian_test_set(400)
    return run_diagnostics(GaussianPosterior(), theta, x, SETTINGS, seed=3)


def test_exact_posterior_is_calibrated(calibrated):
    metrics, arrays = calibrated
    assert set(metrics["coverage_error"]) == set(PARAMETER_NAMES)
    assert max(metrics["coverage_error"].values()) < 0.1
    assert metrics["joint_coverage_error"] < 0.1
    assert metrics["tarp_error"] < 0.15
    assert min(metrics["sbc_ks_pvalue"].values()) > 1e-3
    for name in PARAMETER_NAMES:  # half-width convention: pulls ~ N(0, 1)
        assert abs(metrics["pull_std"][name] - 1.0) < 0.15
        assert abs(metrics["pull_mean"][name]) < 0.15
        assert metrics["mean_halfwidth_68"][name] == pytest.approx(np.sqrt(POST_VAR), rel=0.1)
    np.testing.assert_allclose(arrays["pulls_full_width"], arrays["pulls"] / 2)
    assert metrics["n_without_pull"] == 0
    assert arrays["samples"].shape == (400, 200, 4) and arrays["theta_true"].shape == (400, 4)
    # sbi's random-forest C2STs are reported (their value on integer ranks is not a sharp test, so only sanity).
    assert all(0.0 <= metrics["sbc_c2st_ranks"][n] <= 1.0 for n in PARAMETER_NAMES)


def test_overconfident_posterior_fails_every_check():
    theta, x = gaussian_test_set(500, seed=1)
    metrics, _ = run_diagnostics(GaussianPosterior(width_factor=0.4), theta, x, SETTINGS, seed=3, sbc_c2st=False)
    assert metrics["sbc_c2st_ranks"] is None
    assert min(metrics["coverage_error"].values()) > 0.2
    assert metrics["joint_coverage_error"] > 0.2
    assert metrics["tarp_error"] > 0.15
    assert max(metrics["sbc_ks_pvalue"].values()) < 1e-3
    assert metrics["tarp_atc"] < 0  # sbi: negative area to curve = under-dispersed
    assert min(metrics["pull_std"].values()) > 2.0


class EdgeClippedPosterior(GaussianPosterior):
    """Row 0's draws of the last parameter all sit on the box edge (the sampler's clipped fallback): zero width."""

    def sample_batched(self, n, xs, seed):
        samples = super().sample_batched(n, xs, seed)
        samples[0, :, 3] = 1.0
        return samples


def test_zero_width_rows_have_no_pull_and_are_counted():
    theta, x = gaussian_test_set(300, seed=2)
    metrics, arrays = run_diagnostics(EdgeClippedPosterior(), theta, x, SETTINGS, seed=3, sbc_c2st=False)
    assert metrics["n_without_pull"] == 1
    assert np.isnan(arrays["pulls"][0, 3]) and np.isfinite(arrays["pulls"][1:]).all()
    assert abs(metrics["pull_std"]["RPA_CCQE"] - 1.0) < 0.2  # the other 299 rows, not NaN


def test_diagnostics_are_seeded(calibrated):
    theta, x = gaussian_test_set(400)
    again, _ = run_diagnostics(GaussianPosterior(), theta, x, SETTINGS, seed=3, sbc_c2st=False)
    assert again["coverage_error"] == calibrated[0]["coverage_error"]
    assert again["sbc_ks_pvalue"] == pytest.approx(calibrated[0]["sbc_ks_pvalue"], rel=1e-6)
    assert again["tarp_error"] == calibrated[0]["tarp_error"]


def test_coverage_building_blocks_on_hand_made_cases():
    samples = np.arange(1, 101, dtype=float)[None, :, None].repeat(4, axis=2)  # draws 1..100
    truth = np.full((1, 4), 50.5)  # the median: covered at every level > 0
    cov = marginal_coverage(samples, truth, np.array([0.0, 0.02, 0.5, 1.0]))
    np.testing.assert_array_equal(cov[0], [1.0, 1.0, 1.0, 1.0])
    truth_tail = np.full((1, 4), 95.5)  # quantile 0.95: covered only by intervals of level >= 0.9
    cov = marginal_coverage(samples, truth_tail, np.array([0.5, 0.89, 0.9, 1.0]))
    np.testing.assert_array_equal(cov[0], [0.0, 0.0, 1.0, 1.0])
    levels = hpd_levels(np.array([[0.0, 1.0, 2.0, 3.0]]), np.array([1.5]))
    assert levels[0] == pytest.approx(0.5)
    np.testing.assert_array_equal(coverage_curve(np.array([0.1, 0.5, 0.9]), np.array([0.0, 0.5, 1.0])),
                                  [0.0, 2 / 3, 1.0])


def test_writers(calibrated, tmp_path):
    metrics, arrays = calibrated
    write_metrics(metrics, tmp_path / "metrics.json")
    loaded = json.loads((tmp_path / "metrics.json").read_text())
    assert loaded["coverage_error"] == metrics["coverage_error"]
    assert len(loaded["coverage"]["marginal"]) == 4 and len(loaded["coverage"]["levels"]) == 21
    write_test_posteriors(arrays, tmp_path / "test_posteriors.npz")
    with np.load(tmp_path / "test_posteriors.npz", allow_pickle=False) as data:
        np.testing.assert_array_equal(data["theta_true"], arrays["theta_true"])
        assert data["samples"].shape == arrays["samples"].shape
    write_test_metrics_table(metrics, tmp_path / "test_metrics.csv")
    with open(tmp_path / "test_metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == TEST_METRICS_COLUMNS
    assert [r["dial_name"] for r in rows] == list(PARAMETER_NAMES)
    assert rows[0]["unit"] == "GeV" and rows[0]["parameter"] == "M_A"
    assert float(rows[1]["rmse"]) == pytest.approx(metrics["rmse"]["NormCCMEC"], rel=1e-15)


def test_runs_on_a_trained_network():
    from nutune.npe import NutunePosterior, train_npe

    low, high = np.array([0.5, 0.0, 0.0, 0.0]), np.array([1.4, 3.0, 1.0, 1.5])
    generator = np.random.default_rng(0)
    design = generator.normal(size=(4, 12))
    theta = low + generator.random((700, 4)) * (high - low)
    x = 5 + ((theta - low) / (high - low)) @ design + 0.5 * generator.normal(size=(700, 12))
    settings = dict(embedding_hidden=[16], embedding_dim=8, density_estimator="maf", num_transforms=2,
                    hidden_features=16, batch_size=128, learning_rate=1e-2, stop_after_epochs=3, max_num_epochs=3,
                    validation_fraction=0.1, x_transform="max", noise="none", noise_components=[], device="cpu")
    posterior = NutunePosterior.from_trained(
        train_npe(theta[:600], x[:600], prior_low=low, prior_high=high, settings=settings, seed=1)
    )
    metrics, arrays = run_diagnostics(posterior, theta[600:], x[600:],
                                      {"num_posterior_samples": 50, "coverage_levels": 11}, seed=2,
                                      sbc_c2st=False)
    assert arrays["samples"].shape == (100, 50, 4)
    assert np.all(arrays["samples"] >= low - 1e-6) and np.all(arrays["samples"] <= high + 1e-6)
    assert 0.0 <= metrics["joint_coverage_error"] <= 1.0
    assert all(0.0 <= p <= 1.0 for p in metrics["sbc_ks_pvalue"].values())
    json.dumps(metrics, allow_nan=False)
