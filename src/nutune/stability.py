"""Stability of the headline answer in the network seed (issue 13 item 2).

A trained NPE depends on its torch seed (weight initialisation, validation split, batch order): on the same bank two
seeds give different test-set calibration and different real-data answers. The ``stability`` target measures how
much. Replicate k retrains the default run's networks — the same config, the same bank — with the members
``k·n_ensemble … (k+1)·n_ensemble − 1`` (member m has torch seed ``derive_seed(seed, "npe", m)``,
:mod:`nutune.npe.training`), so replicate 0 *is* the default run (its tables are read, not recomputed) and
replicates 1 … K − 1 are K − 1 further networks (ensembles). Each replicate runs the default run's own chain —
training, test-set diagnostics, the calibration gate, inference on every observation, the T2K covariance throws
and the tables — through the same stage functions as the workflow
(:mod:`nutune.stages.stability`), into
``results/stability/replicate_{k}/`` (:mod:`nutune.paths`).

Headline numbers (:func:`headline_numbers`): every central value and interval of ``t2k.csv``, every χ² of
``chi2.csv``, every coverage / TARP / SBC figure of ``test_metrics.csv`` and every calibration-gate margin.
``results/tables/stability.csv`` (:func:`stability_table`) has one row per headline number: mean, standard deviation
(ddof = 1), min, max and range over the K replicates, each replicate's value, and, where the issue sets a goal, the
goal and whether it is met: every gate margin ≥ ``stability.min_gate_margin`` for every replicate, and the seed
spread (standard deviation) of each T2K central value ≤ ``stability.max_central_spread`` × its mean 68 % half-width.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nutune.io import atomic_write

__all__ = [
    "REPLICATE_TABLES",
    "replicate_members",
    "replicate_paths",
    "headline_numbers",
    "headlines_from_files",
    "stability_table",
    "write_headlines",
    "read_headlines",
    "split_quantity",
    "plot_stability",
]

log = logging.getLogger("nutune.stability")

#: The tables of one replicate (and of the default run) the headline numbers are read from.
REPLICATE_TABLES = ("t2k", "chi2", "test_metrics")
_T2K_COLUMNS = ("central", "minus", "plus")
_METRIC_COLUMNS = ("coverage_error", "sbc_ks_pvalue", "sbc_c2st_ranks", "tarp_error", "joint_coverage_error")
_GLOBAL_METRICS = ("tarp_error", "joint_coverage_error", "tarp_atc", "tarp_ks_pvalue")


def replicate_members(replicate: int, n_ensemble: int) -> list[int]:
    """The ensemble members (torch-seed indices) of replicate ``replicate``: replicate 0 = the default run's."""
    if replicate < 0 or n_ensemble < 1:
        raise ValueError(
            f"replicate {replicate} / n_ensemble {n_ensemble}: need replicate >= 0, n_ensemble >= 1"
        )
    return list(range(replicate * n_ensemble, (replicate + 1) * n_ensemble))


def replicate_paths(directory: str | Path, members: Sequence[int], observations: Sequence[str]) -> dict:
    """Where replicate artefacts go inside ``results/stability/replicate_{k}/`` (the default run's layout)."""
    d = Path(directory)
    model = d / "model"
    return {
        "weights": [model / f"npe_{m}.safetensors" for m in members],
        "metadata": [model / f"npe_{m}.json" for m in members],
        "loss": [model / f"loss_{m}.csv" for m in members],
        "samples": d / "diagnostics" / "test_posteriors.npz",
        "metrics": d / "diagnostics" / "metrics.json",
        "gate": d / "diagnostics" / "gate.json",
        "posteriors": {name: d / "posteriors" / f"{name}.npz" for name in observations},
        "throws": {name: d / "throws" / f"{name}.npz" for name in observations},
        "tables": {name: d / "tables" / f"{name}.csv" for name in REPLICATE_TABLES},
    }


# ---------------------------------------------------------------------------------------------------- headlines
def headline_numbers(
    t2k: pd.DataFrame, chi2: pd.DataFrame, metrics: pd.DataFrame, gate: Mapping
) -> dict[str, float]:
    """The headline numbers of one run, by name ``table:row:column``.

    Args:
        t2k: ``t2k.csv`` (one row per parameter: central, minus, plus).
        chi2: ``chi2.csv`` (one row per prediction, one column per χ² mode).
        metrics: ``test_metrics.csv`` (one row per parameter; global numbers repeat on every row).
        gate: ``gate.json`` (:func:`nutune.gates.write_gate`): each check's margin.
    """
    out: dict[str, float] = {}
    for _, row in t2k.iterrows():
        for column in _T2K_COLUMNS:
            out[f"t2k:{row['parameter']}:{column}"] = float(row[column])
    modes = [c for c in chi2.columns if c not in ("prediction", "n_bins")]
    for _, row in chi2.iterrows():
        for mode in modes:
            out[f"chi2:{row['prediction']}:{mode}"] = float(row[mode])
    for _, row in metrics.iterrows():
        for column in _METRIC_COLUMNS:
            if column in metrics.columns and column not in _GLOBAL_METRICS:
                out[f"test_metrics:{row['parameter']}:{column}"] = float(row[column])
    for column in _GLOBAL_METRICS:
        if column in metrics.columns:
            out[f"test_metrics:all:{column}"] = float(metrics[column].iloc[0])
    for check in gate["checks"]:
        out[f"gate:{check['name']}:margin"] = (
            float(check["margin"]) if check["margin"] is not None else float("nan")
        )
    return out


def headlines_from_files(
    t2k: str | Path, chi2: str | Path, metrics: str | Path, gate: str | Path
) -> dict[str, float]:
    """:func:`headline_numbers` of the four files of one run."""
    return headline_numbers(
        pd.read_csv(t2k), pd.read_csv(chi2), pd.read_csv(metrics), json.loads(Path(gate).read_text())
    )


def write_headlines(headlines: Mapping[str, float], path: str | Path) -> None:
    """Write ``quantity,value`` atomically (the last file a replicate writes: its presence means the run finished)."""
    frame = pd.DataFrame({"quantity": list(headlines), "value": [repr(float(v)) for v in headlines.values()]})
    with atomic_write(path, suffix=".csv") as tmp:
        frame.to_csv(tmp, index=False)


def read_headlines(path: str | Path) -> dict[str, float]:
    """Read :func:`write_headlines` output."""
    frame = pd.read_csv(path)
    return dict(zip(frame["quantity"], frame["value"].astype(float), strict=True))


# ---------------------------------------------------------------------------------------------------- one replicate
# ---------------------------------------------------------------------------------------------------- the table
def split_quantity(quantity: str) -> tuple[str, str, str]:
    """``table:row:column`` → (table, row, column); a gate row (``coverage:MaCCQE``) may itself hold a colon."""
    table, rest = quantity.split(":", 1)
    row, column = rest.rsplit(":", 1)
    return table, row, column


def _goal(
    quantity: str, values: np.ndarray, halfwidths: Mapping[str, float], min_margin: float, max_spread: float
) -> tuple[str, float, bool | None]:
    """(goal text, the measured figure the goal is about, met?) for one headline number, or ("", nan, None)."""
    table, row, column = split_quantity(quantity)
    if table == "gate":
        worst = float(np.nanmin(values))
        return f"margin >= {min_margin:g} for every replicate", worst, bool(worst >= min_margin)
    if table == "t2k" and column == "central" and row in halfwidths:
        ratio = float(np.std(values, ddof=1) / halfwidths[row]) if len(values) > 1 else float("nan")
        return f"std <= {max_spread:g} x mean 68% half-width", ratio, bool(ratio <= max_spread)
    return "", float("nan"), None


def stability_table(
    replicates: Sequence[Mapping[str, float]], *, min_gate_margin: float, max_central_spread: float
) -> pd.DataFrame:
    """One row per headline number over the K replicates (module docstring for the columns and goals).

    Args:
        replicates: the headline numbers of replicate 0 (the default run), 1, …, K − 1.
        min_gate_margin: the goal for every calibration-gate margin (issue 13: 0.01).
        max_central_spread: the goal for a T2K central value's seed std, in units of its mean 68 % half-width (0.1).

    Raises:
        ValueError: fewer than two replicates, or replicates that do not report the same headline numbers.
    """
    if len(replicates) < 2:
        raise ValueError(f"stability needs at least 2 replicates, got {len(replicates)}")
    names = list(replicates[0])
    for k, numbers in enumerate(replicates):
        if set(numbers) != set(names):
            missing = sorted(set(names) ^ set(numbers))
            raise ValueError(f"replicate {k} reports other headline numbers than replicate 0: {missing[:5]}")
    values = np.array([[numbers[name] for name in names] for numbers in replicates])  # (K, n)
    halfwidths = {}
    for name in names:
        table, row, column = split_quantity(name)
        if table == "t2k" and column == "minus":
            plus = values[:, names.index(f"t2k:{row}:plus")]
            halfwidths[row] = float(np.mean(0.5 * (values[:, names.index(name)] + plus)))
    rows = []
    for j, name in enumerate(names):
        v = values[:, j]
        goal, figure, met = _goal(name, v, halfwidths, min_gate_margin, max_central_spread)
        table, row, column = split_quantity(name)
        rows.append(
            {
                "quantity": name,
                "table": table,
                "row": row,
                "column": column,
                "n_replicates": len(v),
                "mean": float(np.mean(v)),
                "std": float(np.std(v, ddof=1)),
                "min": float(np.min(v)),
                "max": float(np.max(v)),
                "range": float(np.ptp(v)),
                "goal": goal,
                "goal_figure": figure,
                "goal_met": met,
                **{f"replicate_{k}": float(x) for k, x in enumerate(v)},
            }
        )
    return pd.DataFrame(rows)


def plot_stability(
    table: pd.DataFrame,
    pdf_path: str | Path,
    png_path: str | Path | None = None,
    *,
    min_gate_margin: float,
    max_central_spread: float,
) -> None:
    """Left: each T2K central value per replicate, (value − mean) / mean 68 % half-width, with the ±goal band.
    Right: every calibration-gate margin per replicate, with the goal line (a margin below 0 is a failed check)."""
    import matplotlib.pyplot as plt

    from nutune.figures import save_figure

    reps = [c for c in table.columns if c.startswith("replicate_")]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 2]})
    centrals = table[(table["table"] == "t2k") & (table["column"] == "central")]
    for i, (_, row) in enumerate(centrals.iterrows()):
        bounds = table[
            (table["table"] == "t2k") & (table["row"] == row["row"]) & table["column"].isin(["minus", "plus"])
        ]
        halfwidth = float(bounds["mean"].mean())
        left.plot(
            np.full(len(reps), i), (row[reps].to_numpy(float) - row["mean"]) / halfwidth, "o", alpha=0.7
        )
    if len(centrals):
        spread = max_central_spread
        left.axhspan(-spread, spread, color="0.85", zorder=0, label=f"±{spread:g} (goal for the std)")
        left.legend(loc="best", fontsize=8)
    left.set_xticks(range(len(centrals)), centrals["row"], rotation=30)
    left.set_ylabel("T2K central − mean [68 % half-widths]")
    left.set_title(f"T2K central values, {len(reps)} network seeds", fontsize=10)
    gates = table[table["table"] == "gate"]
    for column in reps:
        right.plot(
            range(len(gates)), gates[column].to_numpy(float), "o", alpha=0.7, label=column.replace("_", " ")
        )
    if len(gates):
        right.axhline(min_gate_margin, color="C3", lw=1, ls="--", label=f"goal margin {min_gate_margin:g}")
        right.axhline(0.0, color="k", lw=0.8)
    right.set_xticks(range(len(gates)), gates["row"], rotation=40, ha="right", fontsize=8)
    right.set_yscale("symlog", linthresh=0.01)
    right.set_ylabel("calibration-gate margin")
    right.set_title("gate margins per replicate (below 0: check failed)", fontsize=10)
    right.legend(fontsize=7, ncol=2)
    save_figure(fig, pdf_path, png_path)
