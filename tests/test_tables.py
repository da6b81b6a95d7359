"""Tests of nutune.tables: columns, units, dial values, throw-based errors and exact CSV round trips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nutune.dials import MICROBOONE_TUNE_DIALS, MICROBOONE_TUNE_PHYSICAL, PARAMETER_NAMES
from nutune.tables import (
    PARAMETER_COLUMNS,
    microboone_tune_table,
    noise_vs_throws_table,
    nuwro_table,
    t2k_correlations_table,
    t2k_table,
    write_table,
)


def gaussian(mean, sd, n=20000, seed=0, corr=None):
    generator = np.random.default_rng(seed)
    cov = np.diag(np.square(sd)) if corr is None else np.asarray(corr) * np.outer(sd, sd)
    return generator.multivariate_normal(mean, cov, size=n)


def test_microboone_tune_table_has_units_dials_and_residuals(tmp_path):
    samples = gaussian(MICROBOONE_TUNE_PHYSICAL + [0.002, 0.0, -0.01, 0.0], [0.003, 0.014, 0.013, 0.007])
    table = microboone_tune_table(samples, chi2={"FULL": 71.25, "DIAG": 50.5}, ndf=58)
    assert tuple(table.columns[: len(PARAMETER_COLUMNS)]) == PARAMETER_COLUMNS
    assert {"chi2_FULL", "chi2_DIAG", "ndf", "residual", "residual_over_halfwidth"} <= set(table.columns)
    assert list(table["dial_name"]) == list(PARAMETER_NAMES)
    assert list(table["unit"]) == ["GeV", "", "", ""]
    np.testing.assert_allclose(table["truth_dial"], MICROBOONE_TUNE_DIALS, atol=2e-4)  # fcl values, rounded
    assert table["residual"][0] == pytest.approx(0.002, abs=1e-4)
    assert table["posterior_halfwidth_68"][1] == pytest.approx(0.014, rel=0.05)
    assert set(table["error_source"]) == {"posterior"}
    assert (table["chi2_FULL"] == 71.25).all() and (table["ndf"] == 58).all()
    write_table(table, tmp_path / "microboone_tune.csv")
    back = pd.read_csv(tmp_path / "microboone_tune.csv")
    np.testing.assert_array_equal(back["central"].to_numpy(), table["central"].to_numpy())  # full precision


def test_t2k_table_uses_throw_errors():
    posterior = gaussian([1.04, 1.86, 0.66, 1.08], [0.004, 0.016, 0.009, 0.009], seed=1)
    throws = gaussian([1.04, 1.86, 0.66, 1.08], [0.12, 0.53, 0.21, 0.29], n=1000, seed=2)
    table = t2k_table(posterior, throws, chi2={"FULL": 60.0})
    assert set(table["error_source"]) == {"throws"}
    assert (table["n_throws"] == 1000).all()
    np.testing.assert_allclose(table["minus"], [0.12, 0.53, 0.21, 0.29], rtol=0.12)
    np.testing.assert_allclose(table["posterior_halfwidth_68"], [0.004, 0.016, 0.009, 0.009], rtol=0.05)
    np.testing.assert_allclose(table["central_dial"][0], (table["central"][0] / 0.961242 - 1) / 0.03)
    assert table["truth"].isna().all()
    np.testing.assert_allclose(table["microboone_tune"], MICROBOONE_TUNE_PHYSICAL)


def test_t2k_table_central_and_errors_come_from_the_same_draws():
    """Issue 16: central, minus and plus are the median and 16/84 % quantiles of the pooled throw draws; the
    unthrown-data median (where the throws' median is elsewhere) is its own column, the chi2's point named."""
    posterior = gaussian([1.00, 2.0, 0.5, 1.0], [0.004, 0.016, 0.009, 0.009], seed=1)
    throws = gaussian([1.10, 2.3, 0.6, 0.9], [0.12, 0.53, 0.21, 0.29], n=1000, seed=2)
    table = t2k_table(posterior, throws, chi2={"FULL": 60.0})
    p16, p50, p84 = np.percentile(throws, [16, 50, 84], axis=0)
    np.testing.assert_array_equal(table["central"], p50)
    np.testing.assert_allclose(table["central"] - table["minus"], p16, rtol=0, atol=1e-12)
    np.testing.assert_allclose(table["central"] + table["plus"], p84, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(table["unthrown_median"], np.median(posterior, axis=0))
    np.testing.assert_allclose(table["unthrown_median_dial"][0], (table["unthrown_median"][0] / 0.961242 - 1) / 0.03)
    assert set(table["chi2_at"]) == {"unthrown_median"}
    # a posterior-only table: central and errors from the posterior draws, no unthrown column
    mock = nuwro_table(posterior, chi2={"FULL": 1.0})
    np.testing.assert_array_equal(mock["central"], np.median(posterior, axis=0))
    assert "unthrown_median" not in mock.columns and set(mock["chi2_at"]) == {"posterior_median"}


def test_nuwro_table_has_no_truth():
    table = nuwro_table(gaussian([1.1, 0.7, 0.09, 0.58], [0.003, 0.015, 0.013, 0.008]))
    assert table["truth"].isna().all() and list(table["observation"]) == ["nuwro"] * 4
    assert "chi2_FULL" not in table.columns


def test_correlation_tables(tmp_path):
    corr = np.eye(4)
    corr[0, 3] = corr[3, 0] = -0.4
    table = t2k_correlations_table(corr)
    assert list(table.columns) == ["dial_name", *PARAMETER_NAMES]
    assert table.loc[3, "MaCCQE"] == -0.4
    with pytest.raises(ValueError, match="symmetric"):
        t2k_correlations_table(np.triu(np.ones((4, 4))))
    noise = gaussian([1.0, 1.8, 0.6, 1.0], [0.1, 0.5, 0.2, 0.3], corr=corr, seed=3)
    throws = gaussian([1.0, 1.8, 0.6, 1.0], [0.2, 0.5, 0.2, 0.3], n=20000, seed=4)
    comparison = noise_vs_throws_table(noise, throws)
    assert comparison["width_ratio"][0] == pytest.approx(0.5, rel=0.05)
    assert comparison["width_ratio"][1] == pytest.approx(1.0, rel=0.05)
    assert comparison.loc[0, "corr_RPA_CCQE_noise"] == pytest.approx(-0.4, abs=0.03)
    assert abs(comparison.loc[0, "corr_RPA_CCQE_throws"]) < 0.03
    write_table(comparison, tmp_path / "noise_vs_throws.csv")
    assert pd.read_csv(tmp_path / "noise_vs_throws.csv").shape == comparison.shape


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="shape"):
        nuwro_table(np.zeros((10, 3)))
    with pytest.raises(ValueError, match="truth"):
        microboone_tune_table(np.zeros((10, 4)), truth=[1.0, 2.0])
