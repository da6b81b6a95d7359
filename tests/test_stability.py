"""nutune.stability: headline numbers, replicate members and the stability table's statistics and goals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nutune.stability import headline_numbers, replicate_members, split_quantity, stability_table


def _run(central: float, halfwidth: float, tarp: float) -> dict[str, float]:
    t2k = pd.DataFrame({"parameter": ["M_A"], "central": [central], "minus": [halfwidth], "plus": [halfwidth]})
    chi2 = pd.DataFrame({"prediction": ["inferred T2K"], "FULL": [100.0 + central], "DIAG": [50.0], "n_bins": [58]})
    metrics = pd.DataFrame({"parameter": ["M_A"], "coverage_error": [0.02], "sbc_ks_pvalue": [0.5],
                            "tarp_error": [tarp], "joint_coverage_error": [0.03]})
    gate = {"checks": [{"name": "coverage:MaCCQE", "margin": 0.03}, {"name": "tarp", "margin": 0.05 - tarp}]}
    return headline_numbers(t2k, chi2, metrics, gate)


def test_replicate_0_is_the_default_runs_members() -> None:
    assert replicate_members(0, 1) == [0]
    assert replicate_members(2, 3) == [6, 7, 8]
    with pytest.raises(ValueError):
        replicate_members(-1, 1)


def test_headline_numbers_cover_every_table() -> None:
    numbers = _run(1.0, 0.1, 0.02)
    assert numbers["t2k:M_A:central"] == 1.0 and numbers["t2k:M_A:plus"] == 0.1
    assert numbers["chi2:inferred T2K:FULL"] == 101.0 and "chi2:inferred T2K:n_bins" not in numbers
    assert numbers["test_metrics:M_A:coverage_error"] == 0.02
    assert numbers["test_metrics:all:tarp_error"] == 0.02
    assert numbers["gate:coverage:MaCCQE:margin"] == 0.03
    assert split_quantity("gate:coverage:MaCCQE:margin") == ("gate", "coverage:MaCCQE", "margin")


def test_stability_table_statistics_and_goals() -> None:
    runs = [_run(1.00, 0.10, 0.02), _run(1.02, 0.10, 0.045), _run(0.98, 0.10, 0.03)]
    table = stability_table(runs, min_gate_margin=0.01, max_central_spread=0.1).set_index("quantity")
    central = table.loc["t2k:M_A:central"]
    assert central["mean"] == pytest.approx(1.0)
    assert central["std"] == pytest.approx(np.std([1.0, 1.02, 0.98], ddof=1))
    assert central["range"] == pytest.approx(0.04)
    # std 0.02 = 0.2 half-widths > 0.1: the goal is not met
    assert central["goal_figure"] == pytest.approx(0.2) and not central["goal_met"]
    tarp = table.loc["gate:tarp:margin"]
    assert tarp["goal_figure"] == pytest.approx(0.005) and not tarp["goal_met"]  # replicate 1: margin 0.005
    assert table.loc["gate:coverage:MaCCQE:margin", "goal_met"]
    assert [table.loc["t2k:M_A:central", f"replicate_{k}"] for k in range(3)] == [1.0, 1.02, 0.98]
    assert pd.isna(table.loc["chi2:inferred T2K:FULL", "goal_met"])


def test_stability_table_refuses_mismatched_replicates() -> None:
    first = _run(1.0, 0.1, 0.02)
    with pytest.raises(ValueError, match="at least 2"):
        stability_table([first], min_gate_margin=0.01, max_central_spread=0.1)
    other = dict(first)
    other.pop("t2k:M_A:plus")
    with pytest.raises(ValueError, match="other headline numbers"):
        stability_table([first, other], min_gate_margin=0.01, max_central_spread=0.1)
