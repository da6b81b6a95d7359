"""Tests for nutune.learning_curve: a tiny end-to-end learning curve with real NPE training and sbi diagnostics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nutune.io import rng
from nutune.learning_curve import npe_trainer, run_learning_curve

LOW = np.array([0.5, 0.0, 0.0, 0.0])
HIGH = np.array([1.4, 3.0, 1.0, 1.5])


def test_tiny_learning_curve_with_npe(tmp_path):
    g = rng(2, "lc", "problem")
    a = g.normal(size=(8, 4))

    def simulate(theta, key):
        u = (theta - LOW) / (HIGH - LOW)
        return u @ a.T + 3.0 + 0.3 * rng(2, "lc", key).standard_normal((len(theta), 8))

    theta_train = LOW + (HIGH - LOW) * rng(3, "lc").random((500, 4))
    theta_test = LOW + (HIGH - LOW) * rng(4, "lc").random((40, 4))
    x_train, x_test = simulate(theta_train, "train"), simulate(theta_test, "test")
    settings = {"embedding_hidden": [16], "embedding_dim": 8, "density_estimator": "maf", "num_transforms": 2,
                "hidden_features": 16, "batch_size": 100, "learning_rate": 5e-3, "stop_after_epochs": 3,
                "max_num_epochs": 4, "validation_fraction": 0.1, "x_transform": "max", "noise": "none",
                "noise_components": ["stat"], "n_ensemble": 1, "device": "cpu"}
    ref = LOW + (HIGH - LOW) * rng(5, "lc").random((300, 4))  # a (wrong) reference: the prior
    trainer = npe_trainer(settings, LOW, HIGH)
    with pytest.warns(UserWarning):  # sbi: max_num_epochs reached
        rows = run_learning_curve(theta_train, x_train, theta_test, x_test, [400, 100], trainer, seed=6,
                                  references={"obs": (x_test[0], ref)}, num_posterior_samples=100,
                                  n_ref_samples=300, out_csv=tmp_path / "lc.csv", out_figure=tmp_path / "lc.pdf")
    table = pd.read_csv(tmp_path / "lc.csv")
    assert list(table["n_train"]) == [100, 400] and [r["n_train"] for r in rows] == [100, 400]
    assert {"coverage_error_MaCCQE", "joint_coverage_error", "tarp_error", "sbc_ks_pvalue_min", "c2st_obs",
            "c2st_mean"} <= set(table.columns)
    assert np.all((table["coverage_error_max"] >= 0) & (table["coverage_error_max"] <= 1))
    assert np.all((table["c2st_mean"] >= 0.3) & (table["c2st_mean"] <= 1.0))
    assert (tmp_path / "lc.png").stat().st_size > 0
    with pytest.raises(ValueError, match="n_train"):
        run_learning_curve(theta_train, x_train, theta_test, x_test, [1000], trainer, seed=6)
