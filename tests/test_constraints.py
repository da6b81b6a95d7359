"""What the data constrain per dial (nutune.constraints) and the shift of a smaller tune's dials (issue 14)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nutune.constraints import (
    PRIOR_DOMINATED,
    constraint_table,
    dial_set_shift_table,
    interval_68,
    read_baseline,
)

NAMES = ("MaCCQE", "NormCCMEC", "MFP_pi")
LOW, HIGH = np.array([0.5, 0.0, 0.4]), np.array([1.5, 3.0, 1.6])


def _posterior(n: int = 200_000, seed: int = 1) -> np.ndarray:
    """M_A pinned to N(1.0, 0.05), N_MEC correlated with it (rho = 0.6), MFP_pi uniform over its prior."""
    g = np.random.default_rng(seed)
    z = g.standard_normal((n, 2))
    ma = 1.0 + 0.05 * z[:, 0]
    norm = 1.5 + 0.3 * (0.6 * z[:, 0] + 0.8 * z[:, 1])
    mfp = g.uniform(LOW[2], HIGH[2], n)
    return np.column_stack([ma, norm, mfp])


def test_width_ratio_is_posterior_over_uniform_prior_68_percent_width() -> None:
    table = constraint_table(_posterior(), NAMES, LOW, HIGH)
    # a Gaussian's 68 % central width is 2 sigma; a uniform's is 0.6827 of its range
    np.testing.assert_allclose(table["width_ratio"][:2], [0.1 / (0.6827 * 1.0), 0.6 / (0.6827 * 3.0)], rtol=0.01)
    np.testing.assert_allclose(table["width_ratio"][2], 1.0, atol=0.01)  # the data add nothing to MFP_pi
    np.testing.assert_allclose(table["std_ratio"][2], 1.0, atol=0.01)
    assert list(table["prior_dominated"]) == [False, False, True]
    assert PRIOR_DOMINATED < 1.0


def test_correlations_and_most_correlated_dial() -> None:
    table = constraint_table(_posterior(), NAMES, LOW, HIGH)
    assert table.loc[0, "most_correlated_with"] == "NormCCMEC"
    np.testing.assert_allclose(table.loc[0, "correlation"], 0.6, atol=0.01)
    np.testing.assert_allclose(table.loc[1, "corr_MaCCQE"], table.loc[0, "corr_NormCCMEC"])
    np.testing.assert_allclose(table["corr_MFP_pi"][:2], 0.0, atol=0.01)
    np.testing.assert_allclose([table.loc[i, f"corr_{n}"] for i, n in enumerate(NAMES)], 1.0)


def test_constraint_table_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="posterior draws"):
        constraint_table(_posterior()[:, :2], NAMES, LOW, HIGH)
    with pytest.raises(ValueError, match="increasing"):
        constraint_table(_posterior(), NAMES, HIGH, LOW)
    bad = _posterior(100)
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        constraint_table(bad, NAMES, LOW, HIGH)


def _baseline_csv(path: Path, mode: str = "NORMSHAPE") -> Path:
    rows = [{"method": "classical", "mode": mode, "MaCCQE": 0.5, "MaCCQE_minus": 0.1, "MaCCQE_plus": 0.1,
             "NormCCMEC": 9.0, "NormCCMEC_minus": 1.0, "NormCCMEC_plus": 1.0},
            {"method": "noise_aware", "mode": mode, "MaCCQE": 0.95, "MaCCQE_minus": 0.02, "MaCCQE_plus": 0.03,
             "NormCCMEC": 1.5, "NormCCMEC_minus": 0.2, "NormCCMEC_plus": 0.2}]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_shift_of_the_baseline_dials_in_baseline_half_widths(tmp_path: Path) -> None:
    baseline = read_baseline(str(_baseline_csv(tmp_path / "lm.csv")), "NORMSHAPE")
    assert baseline == {"MaCCQE": (0.95, 0.02, 0.03), "NormCCMEC": (1.5, 0.2, 0.2)}
    samples = _posterior()
    shift = dial_set_shift_table(samples, NAMES, baseline)
    central, minus, plus = interval_68(samples)
    assert list(shift["dial_name"]) == ["MaCCQE", "NormCCMEC"]
    np.testing.assert_allclose(shift["shift_sigma"], [(central[0] - 0.95) / 0.025, (central[1] - 1.5) / 0.2])
    np.testing.assert_allclose(shift["width_ratio"], [(minus[0] + plus[0]) / 0.05, (minus[1] + plus[1]) / 0.4])
    assert set(shift["n_free"]) == {3} and set(shift["n_free_baseline"]) == {2}


def test_baseline_must_be_a_subset_and_have_the_mode(tmp_path: Path) -> None:
    path = str(_baseline_csv(tmp_path / "lm.csv"))
    with pytest.raises(ValueError, match="expected one noise_aware row of mode FULL"):
        read_baseline(path, "FULL")
    with pytest.raises(ValueError, match="NormCCMEC are not free"):
        dial_set_shift_table(_posterior()[:, [0, 2]], ("MaCCQE", "MFP_pi"), read_baseline(path, "NORMSHAPE"))


def test_committed_paper_run_is_a_valid_baseline() -> None:
    """config/dials12.yaml compares with the four-dial run's committed NORMSHAPE answer."""
    baseline = read_baseline("results/tables/likelihood_modes.csv", "NORMSHAPE")
    assert list(baseline) == ["MaCCQE", "NormCCMEC", "XSecShape_CCMEC", "RPA_CCQE"]
    assert all(m > 0 and p > 0 for _, m, p in baseline.values())


@pytest.mark.slow
def test_tiny_run_compares_with_a_baseline_tune(tmp_path: Path, nutune_cache: Path) -> None:
    """Rule constraints with constraints.baseline: dial_set_shift.csv has the baseline's dials, in its order."""
    from conftest import make_workdir, snakemake, tiny_args

    workdir = make_workdir(tmp_path / "run", nutune_cache,
                           constraints={"baseline": "baseline_likelihood_modes.csv"})
    _baseline_csv(workdir / "baseline_likelihood_modes.csv", mode="FULL")
    prefix = "results/tiny/tables"
    snakemake(tiny_args(workdir, f"{prefix}/constraints.csv", f"{prefix}/dial_set_shift.csv"), timeout=600)
    shift = pd.read_csv(workdir / prefix / "dial_set_shift.csv")
    assert list(shift["dial_name"]) == ["MaCCQE", "NormCCMEC"]
    constraints = pd.read_csv(workdir / prefix / "constraints.csv").set_index("dial_name")
    np.testing.assert_allclose(shift["central"], constraints.loc[["MaCCQE", "NormCCMEC"], "central"])
    np.testing.assert_allclose(shift["shift_sigma"], (shift["central"] - [0.95, 1.5]) / [0.025, 0.2])
