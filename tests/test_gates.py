"""Tests for nutune.gates: thresholds, messages, fail/warn behaviour, and an under-trained network that must fail."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from nutune.diagnostics import run_diagnostics
from nutune.dials import PARAMETER_NAMES
from nutune.gates import GateError, check_gates, gate_marker
from nutune.io import rng
from nutune.stages.validate import run_calibration_gate

GATES = {"on_failure": "fail", "max_coverage_error": 0.05, "max_tarp_error": 0.05, "min_sbc_pvalue": 0.001}


def _metrics(cov=0.02, joint=0.03, tarp=0.01, sbc=0.4):
    return {
        "coverage_error": {p: cov for p in PARAMETER_NAMES},
        "joint_coverage_error": joint,
        "tarp_error": tarp,
        "tarp_ks_pvalue": 0.8,
        "sbc_ks_pvalue": {p: sbc for p in PARAMETER_NAMES},
    }


def test_good_metrics_pass(tmp_path):
    report = check_gates(_metrics(), GATES)
    assert report.passed and not report.failures
    assert len(report.checks) == 4 + 1 + 1 + 4
    cov = next(c for c in report.checks if c.name == "coverage:MaCCQE")
    assert cov.margin == pytest.approx(0.03)
    (tmp_path / "m.json").write_text(json.dumps(_metrics()))
    run_calibration_gate(tmp_path / "m.json", GATES, tmp_path / "gate.json")
    gate = json.loads((tmp_path / "gate.json").read_text())
    assert gate["passed"] is True and gate["failed"] == []
    assert gate_marker(tmp_path / "gate.json") == ""


def test_failure_names_check_and_margin(tmp_path):
    m = _metrics(tarp=0.31)
    m["sbc_ks_pvalue"]["RPA_CCQE"] = 1e-5
    report = check_gates(m, GATES)
    assert not report.passed
    assert [c.name for c in report.failures] == ["tarp", "sbc:RPA_CCQE"]
    text = report.summary()
    assert "tarp = 0.31 > max 0.05 (exceeded by 0.26)" in text
    assert "sbc:RPA_CCQE = 1e-05 < min 0.001 (short by 0.00099)" in text
    (tmp_path / "m.json").write_text(json.dumps(m))
    with pytest.raises(GateError, match=r"tarp = 0.31 > max 0.05 \(exceeded by 0.26\)"):
        run_calibration_gate(tmp_path / "m.json", GATES, tmp_path / "gate.json")
    assert not (tmp_path / "gate.json").exists()  # real-data rules cannot run
    # warn: the record is written, with the failure
    report = run_calibration_gate(tmp_path / "m.json", {**GATES, "on_failure": "warn"}, tmp_path / "gate.json")
    gate = json.loads((tmp_path / "gate.json").read_text())
    assert gate["passed"] is False and gate["failed"] == ["tarp", "sbc:RPA_CCQE"]
    assert gate_marker(tmp_path / "gate.json") == "UNCALIBRATED: failed tarp, sbc:RPA_CCQE"
    assert not report.passed


def test_missing_or_nan_metric_fails():
    m = _metrics()
    del m["tarp_error"]
    m["coverage_error"]["MaCCQE"] = float("nan")
    report = check_gates(m, GATES)
    assert {c.name for c in report.failures} == {"tarp", "coverage:MaCCQE"}
    assert "metric missing" in report.summary()
    with pytest.raises(ValueError, match="on_failure"):
        check_gates(m, {**GATES, "on_failure": "maybe"})


def _linear_problem():
    g = rng(1, "gates", "problem")
    a = g.normal(size=(8, 4))
    return a, np.full(8, 3.0), 0.3  # x = A u + b + N(0, sigma^2), u the box-scaled theta


LOW = np.array([0.5, 0.0, 0.0, 0.0])
HIGH = np.array([1.4, 3.0, 1.0, 1.5])


def _simulate(theta, seed):
    a, b, sigma = _linear_problem()
    u = (theta - LOW) / (HIGH - LOW)
    return u @ a.T + b + sigma * rng(seed, "noise").standard_normal((len(theta), 8))


def _draw(n, seed):
    return LOW + (HIGH - LOW) * rng(seed, "theta").random((n, 4))


class ExactLinearPosterior:
    """The exact posterior of the linear-Gaussian problem: N(mean(x), pcov) in unit-box coordinates, truncated to the
    box; the interface of NutunePosterior that nutune.diagnostics.run_diagnostics uses."""

    prior_low, prior_high = LOW, HIGH
    dial_names = PARAMETER_NAMES

    def __init__(self):
        a, b, sigma = _linear_problem()
        self.a, self.b, self.sigma = a, b, sigma
        self.pcov = np.linalg.inv(a.T @ a / sigma**2)

    def _mean(self, x):
        return self.pcov @ self.a.T @ (x - self.b) / self.sigma**2

    def to_unit(self, theta):
        return (np.asarray(theta) - LOW) / (HIGH - LOW)

    def transform_x(self, xs):
        return torch.as_tensor(np.atleast_2d(xs), dtype=torch.float32)

    def sample_batched(self, n, xs, seed):
        g = rng(seed, "exact")
        out = []
        for x in xs:  # rejection sampling of the truncated Gaussian
            kept = np.empty((0, 4))
            while len(kept) < n:
                draws = g.multivariate_normal(self._mean(x), self.pcov, size=20 * n)
                kept = np.concatenate([kept, draws[np.all((draws >= 0) & (draws <= 1), axis=1)]])
            out.append(LOW + (HIGH - LOW) * kept[:n])
        return np.stack(out)

    def log_prob_batched(self, theta, xs, normalize=True):
        """Unnormalised: the truncation constant does not change the HPD ranking within one observation."""
        prec = np.linalg.inv(self.pcov)
        d = self.to_unit(theta) - np.stack([self._mean(x) for x in xs])[:, None, :]
        return -0.5 * np.einsum("nsi,ij,nsj->ns", d, prec, d)


def test_exact_posterior_passes_and_undertrained_network_fails(tmp_path):
    from nutune.npe import NutunePosterior, train_npe

    n_test, s = 150, 200
    theta_test = _draw(n_test, 2)
    x_test = _simulate(theta_test, 3)
    diagnostics = {"num_posterior_samples": s, "coverage_levels": 21}

    # The exact posterior: calibrated by construction, so it passes (with loose thresholds for 150 test rows).
    good, _ = run_diagnostics(ExactLinearPosterior(), theta_test, x_test, diagnostics, seed=5, sbc_c2st=False)
    loose = {**GATES, "max_coverage_error": 0.15, "max_tarp_error": 0.15}
    assert check_gates(good, loose).passed, check_gates(good, loose).summary()

    # A deliberately under-trained network: 2 epochs on 300 simulations, diagnosed on the same test set.
    settings = {"embedding_hidden": [16], "embedding_dim": 8, "density_estimator": "maf", "num_transforms": 2,
                "hidden_features": 16, "batch_size": 100, "learning_rate": 3e-2, "stop_after_epochs": 1,
                "max_num_epochs": 2, "validation_fraction": 0.1, "x_transform": "max", "noise": "none",
                "noise_components": ["stat"], "n_ensemble": 1, "device": "cpu"}
    theta_train = _draw(300, 6)
    with pytest.warns(UserWarning, match="not yet fully converged"):
        trained = train_npe(theta_train, _simulate(theta_train, 7), prior_low=LOW, prior_high=HIGH,
                            settings=settings, seed=8)
    bad, arrays = run_diagnostics(NutunePosterior.from_trained(trained), theta_test, x_test, diagnostics, seed=5,
                                  sbc_c2st=False)
    assert arrays["samples"].shape == (n_test, s, 4)
    (tmp_path / "metrics.json").write_text(json.dumps(bad))
    with pytest.raises(GateError, match=r"calibration gate FAILED") as err:
        run_calibration_gate(tmp_path / "metrics.json", GATES, tmp_path / "gate.json")
    assert "coverage:joint" in str(err.value) and "exceeded by" in str(err.value)
    assert max(bad["coverage_error"].values()) > 0.1  # far outside, not a marginal statistical failure
    assert not (tmp_path / "gate.json").exists()
