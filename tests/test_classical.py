"""Tests for nutune.classical: iminuit chi2 fits on a linear toy (exact answers) and on the built-in simulator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nutune.classical import fit_chi2, fit_table, read_sbi_t2k, run_classical
from nutune.io import rng

BINS = 10
LOW = np.array([0.5, 0.0, 0.0, 0.0])
HIGH = np.array([1.5, 3.0, 1.0, 1.5])


def _toy():
    g = rng(3, "classical", "toy")
    a = np.abs(g.normal(size=(BINS, 4))) + 0.2
    b = np.full(BINS, 2.0)
    cov = np.diag(np.full(BINS, 0.05**2)) + 0.02**2  # uncorrelated + a fully correlated part
    areas = np.full(BINS, 0.1)
    return a, b, cov, areas


def test_linear_fit_recovers_truth_and_analytic_errors():
    a, b, cov, areas = _toy()
    truth = np.array([1.0, 1.2, 0.4, 0.8])
    data = a @ truth + b
    calls = []

    def sim(t):
        calls.append(t.shape)
        return t @ a.T + b

    fit = fit_chi2(sim, data, cov, "FULL", LOW, HIGH, seed=1, areas=areas, n_starts=2)
    assert fit.valid and fit.accurate and fit.n_starts == 3 and fit.n_valid_starts == 3
    assert fit.chi2_min == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(fit.values, truth, atol=1e-4)
    sd = np.sqrt(np.diag(np.linalg.inv(a.T @ np.linalg.solve(cov, a))))
    np.testing.assert_allclose(fit.hesse, sd, rtol=1e-3)
    assert fit.minos_valid.all()  # linear model: MINOS = HESSE
    np.testing.assert_allclose(-fit.minos_lower, sd, rtol=1e-2)
    np.testing.assert_allclose(fit.minos_upper, sd, rtol=1e-2)
    assert fit.ndf == BINS - 4 and fit.integral_ratio == pytest.approx(1.0, abs=1e-6)
    assert all(s == (1, 4) for s in calls)
    # DIAG: same minimum for consistent data; SHAPE uses one more dof for the free normalisation
    diag = fit_chi2(sim, data, cov, "DIAG", LOW, HIGH, seed=1, areas=areas, n_starts=1, minos=False)
    np.testing.assert_allclose(diag.values, truth, atol=1e-3)
    shape = fit_chi2(sim, data, cov, "SHAPE", LOW, HIGH, seed=1, areas=areas, cov_norm=np.full_like(cov, 0.02**2),
                     n_starts=1, minos=False)
    assert shape.ndf == BINS - 5 and shape.chi2_min == pytest.approx(0.0, abs=1e-4)


def test_truth_outside_box_ends_at_limit_and_table_columns():
    a, b, cov, areas = _toy()
    truth = np.array([1.0, 1.2, 0.4, 1.9])  # RPA above the box
    data = a @ truth + b
    fit = fit_chi2(lambda t: t @ a.T + b, data, cov, "DIAG", LOW, HIGH, seed=2, areas=areas, n_starts=1)
    assert fit.at_limit[3]
    assert fit.values[3] == pytest.approx(1.5, abs=1e-3)
    assert fit.chi2_min > 1.0
    row = fit_table([fit])[0]
    assert row["mode"] == "DIAG" and row["RPA_CCQE_at_limit"] is True
    assert row["RPA_CCQE_dial"] == pytest.approx(1.0 - fit.values[3])
    assert row["MaCCQE_dial"] == pytest.approx((fit.values[0] / 0.961242 - 1) / 0.03)


def test_builtin_simulator_on_t2k_shows_peelles_puzzle(tmp_path):
    from nutune.resources import load_t2k
    from nutune.simulator import get_templates

    templates = get_templates("nominal", sample_seed=11, n_events=20_000, cache_dir=tmp_path / "cache")
    m = load_t2k(58)
    box_lo, box_hi = [0.5287, 0.0, 0.0, 0.0], [1.3938, 3.0, 1.0, 1.5]
    # the SBI T2K table exactly as the workflow writes it (nutune.tables.t2k_table)
    from nutune.tables import t2k_table

    gen = np.random.default_rng(0)
    centre = np.array([1.04, 1.86, 0.66, 1.08])
    posterior = centre + 0.01 * gen.standard_normal((400, 4))
    throws = centre + np.array([0.12, 0.5, 0.2, 0.3]) * gen.standard_normal((400, 4))
    t2k_table(posterior, throws).to_csv(tmp_path / "t2k.csv", index=False)
    central, minus, plus = read_sbi_t2k(tmp_path / "t2k.csv")["NormCCMEC"]
    assert central == pytest.approx(np.median(throws[:, 1]), abs=1e-12)  # t2k.csv: central = the throws' median
    assert minus == pytest.approx(0.5, rel=0.2) and plus == pytest.approx(0.5, rel=0.2)
    assert read_sbi_t2k(tmp_path / "missing.csv") is None
    fits = run_classical(lambda t: templates.evaluate(t, bins=58), m, box_lo, box_hi, seed=4,
                         out_csv=tmp_path / "classical_fit.csv", out_figure=tmp_path / "classical_fit.pdf",
                         sbi_t2k_csv=tmp_path / "t2k.csv", n_starts=1)
    table = pd.read_csv(tmp_path / "classical_fit.csv").set_index("mode")
    assert list(table.index) == ["FULL", "DIAG", "SHAPE"]
    assert all(f.valid for f in fits)
    # Peelle's pertinent puzzle (physics.md §3.3): FULL pulled far below the data, DIAG close to it
    assert table.loc["FULL", "integral_ratio"] < 0.7
    assert 0.8 < table.loc["DIAG", "integral_ratio"] < 1.05
    assert table.loc["DIAG", "chi2_min"] < 80 and table.loc["FULL", "chi2_min"] < 80
    assert table.loc["FULL", "ndf"] == 54 and table.loc["SHAPE", "ndf"] == 53
    assert (tmp_path / "classical_fit.png").stat().st_size > 0
