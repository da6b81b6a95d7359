"""nutune.stability: headline numbers, replicate members and the stability table's statistics and goals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nutune.stability import (
    headline_numbers,
    headline_row,
    likelihood_modes_numbers,
    plot_stability,
    replicate_members,
    replicate_paths,
    split_quantity,
    stability_table,
)


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


# ------------------------------------------------------------------------------- the headline network's numbers
DIALS = ("MaCCQE", "RPA_CCQE")


def _likelihood_modes(central: float, halfwidth: float, chi2: float = 103.6) -> pd.DataFrame:
    """A likelihood_modes.csv-like table: a classical and the noise-aware NORMSHAPE row (the headline one)."""
    rows = []
    for method, shift in (("classical", 0.5), ("noise_aware", 0.0)):
        row = {"method": method, "mode": "NORMSHAPE"}
        for i, dial in enumerate(DIALS):
            row.update({dial: central + i + shift, f"{dial}_minus": halfwidth, f"{dial}_plus": halfwidth,
                        f"{dial}_at_edge": False})
        row.update({"chi2": chi2, "ndf": 54, "p_value": 1e-4, "chi2_FULL": chi2 + 2, "chi2_NORMSHAPE": chi2,
                    "norm_ratio": 0.92, "at_edge": "", "max_coverage_error": 0.03 if shift == 0 else np.nan})
        rows.append(row)
    return pd.DataFrame(rows)


def test_likelihood_modes_numbers_are_the_headline_rows_dials_and_chi2() -> None:
    numbers = likelihood_modes_numbers(_likelihood_modes(1.06, 0.1))
    prefix = "likelihood_modes:noise_aware/NORMSHAPE"
    assert numbers[f"{prefix}/MaCCQE:central"] == 1.06 and numbers[f"{prefix}/RPA_CCQE:central"] == 2.06
    assert numbers[f"{prefix}/MaCCQE:minus"] == numbers[f"{prefix}/MaCCQE:plus"] == 0.1
    assert numbers[f"{prefix}:chi2_FULL"] == pytest.approx(105.6) and numbers[f"{prefix}:chi2_NORMSHAPE"] == 103.6
    assert numbers[f"{prefix}:max_coverage_error"] == 0.03 and numbers[f"{prefix}:norm_ratio"] == 0.92
    assert not any(name.endswith("at_edge") or name.endswith(":ndf") for name in numbers)
    assert split_quantity(f"{prefix}/MaCCQE:central") == ("likelihood_modes", "noise_aware/NORMSHAPE/MaCCQE",
                                                          "central")
    # a replicate's table is that one row
    one = _likelihood_modes(1.06, 0.1).iloc[[1]]
    assert likelihood_modes_numbers(one) == numbers
    with pytest.raises(ValueError, match="noise_aware"):
        headline_row(_likelihood_modes(1.0, 0.1).iloc[[0]])


def test_stability_table_sets_the_spread_goal_on_the_headline_centrals() -> None:
    t2k_run = _run(1.0, 0.1, 0.02)
    runs = [{**t2k_run, **likelihood_modes_numbers(_likelihood_modes(c, 0.1))} for c in (1.05, 1.06, 1.055)]
    table = stability_table(runs, min_gate_margin=0.01, max_central_spread=0.1).set_index("quantity")
    central = table.loc["likelihood_modes:noise_aware/NORMSHAPE/MaCCQE:central"]
    assert central["goal_figure"] == pytest.approx(np.std([1.05, 1.06, 1.055], ddof=1) / 0.1)
    assert central["goal_met"]  # std 0.005 = 0.05 half-widths
    assert pd.isna(table.loc["likelihood_modes:noise_aware/NORMSHAPE:chi2_FULL", "goal_met"])
    assert pd.isna(table.loc["likelihood_modes:noise_aware/NORMSHAPE/MaCCQE:minus", "goal_met"])
    wide = [{**t2k_run, **likelihood_modes_numbers(_likelihood_modes(c, 0.1))} for c in (1.0, 1.1)]
    spread = stability_table(wide, min_gate_margin=0.01, max_central_spread=0.1).set_index("quantity")
    assert not spread.loc["likelihood_modes:noise_aware/NORMSHAPE/RPA_CCQE:central", "goal_met"]


def test_replicate_paths_put_the_headline_network_beside_the_main_one(tmp_path) -> None:
    paths = replicate_paths(tmp_path, [2, 3], ["t2k"], [4, 5])
    assert paths["headline_members"] == [4, 5]
    assert paths["headline_weights"] == [tmp_path / "likelihood_modes" / "model" / "NORMSHAPE" / f"npe_{m}.safetensors"
                                         for m in (4, 5)]
    assert paths["tables"]["likelihood_modes"] == tmp_path / "tables" / "likelihood_modes.csv"
    assert replicate_paths(tmp_path, [1], ["t2k"])["headline_weights"] == []


def test_stability_figure_has_a_panel_for_the_headline_answer(tmp_path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    runs = [{**_run(c, 0.1, 0.02), **likelihood_modes_numbers(_likelihood_modes(c, 0.1))} for c in (1.0, 1.02)]
    table = stability_table(runs, min_gate_margin=0.01, max_central_spread=0.1)
    plot_stability(table, tmp_path / "s.pdf", tmp_path / "s.png", min_gate_margin=0.01, max_central_spread=0.1)
    assert (tmp_path / "s.png").stat().st_size > 0 and (tmp_path / "s.pdf").stat().st_size > 0
