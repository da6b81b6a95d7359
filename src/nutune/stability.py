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

nutune's own T2K answer is not ``t2k.csv`` (the papers' noise-free network + throws) but the noise-aware NORMSHAPE
posterior, row :data:`nutune.likelihood_modes.CHOSEN` of ``likelihood_modes.csv`` (README "Which likelihood").
Where the workflow can build that table (builtin backend, NORMSHAPE among ``chi2.modes``), replicate k also
retrains that network — its K = ``likelihood_modes.n_ensemble`` members k·K … (k+1)·K − 1
(:func:`nutune.likelihood_modes.mode_members`), each with :func:`nutune.likelihood_modes.train_mode_npe`, i.e.
torch seed ``derive_seed(derive_seed(seed, "reference_npe"), "npe", m)`` and its own training-noise draws — and
evaluates it on the T2K data with :func:`nutune.likelihood_modes.noise_aware_row`, the very function and sampling
seeds of the ``likelihood_modes`` table, into the one-row ``tables/likelihood_modes.csv`` of the replicate;
replicate 0 is the ``likelihood_modes.csv`` row of the default run.

Headline numbers (:func:`headline_numbers`): every central value and interval of ``t2k.csv``, every χ² of
``chi2.csv``, every coverage / TARP / SBC figure of ``test_metrics.csv``, every calibration-gate margin and, with
the headline network, the central value and interval of each dial, the χ² in every mode, the p-value, the
predicted / data normalisation and the calibration (``max_coverage_error``) of the ``likelihood_modes`` row
(:func:`likelihood_modes_numbers`, quantities ``likelihood_modes:noise_aware/NORMSHAPE/<dial>:central`` …).
``results/tables/stability.csv`` (:func:`stability_table`) has one row per headline number: mean, standard deviation
(ddof = 1), min, max and range over the K replicates, each replicate's value, and, where the issue sets a goal, the
goal and whether it is met: every gate margin ≥ ``stability.min_gate_margin`` for every replicate, and the seed
spread (standard deviation) of each central value — the throws' of ``t2k.csv`` and the headline network's —
≤ ``stability.max_central_spread`` × its mean 68 % half-width.
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
    "HEADLINE_TABLE",
    "replicate_members",
    "replicate_paths",
    "headline_numbers",
    "likelihood_modes_numbers",
    "headline_row",
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
#: The table of the headline network's row (a replicate's holds that one row), when the target covers it.
HEADLINE_TABLE = "likelihood_modes"
#: Tables whose central values carry the spread goal (their rows have central, minus, plus).
_CENTRAL_TABLES = ("t2k", HEADLINE_TABLE)
#: Row-level numbers of the headline row besides the χ² of every mode (``chi2_<mode>``).
_HEADLINE_ROW_COLUMNS = ("p_value", "norm_ratio", "max_coverage_error")
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


def replicate_paths(directory: str | Path, members: Sequence[int], observations: Sequence[str],
                    headline_members: Sequence[int] = ()) -> dict:
    """Where replicate artefacts go inside ``results/stability/replicate_{k}/`` (the default run's layout); the
    headline network's members ``headline_members`` under ``likelihood_modes/model/NORMSHAPE/`` as in the default
    run's ``results/likelihood_modes/`` (:mod:`nutune.paths`)."""
    from nutune.likelihood_modes import CHOSEN

    d = Path(directory)
    model = d / "model"
    headline = d / "likelihood_modes" / "model" / CHOSEN[1]
    return {
        "headline_members": [int(m) for m in headline_members],
        "headline_weights": [headline / f"npe_{m}.safetensors" for m in headline_members],
        "headline_metadata": [headline / f"npe_{m}.json" for m in headline_members],
        "headline_loss": [headline / f"loss_{m}.csv" for m in headline_members],
        "weights": [model / f"npe_{m}.safetensors" for m in members],
        "metadata": [model / f"npe_{m}.json" for m in members],
        "loss": [model / f"loss_{m}.csv" for m in members],
        "samples": d / "diagnostics" / "test_posteriors.npz",
        "metrics": d / "diagnostics" / "metrics.json",
        "gate": d / "diagnostics" / "gate.json",
        "posteriors": {name: d / "posteriors" / f"{name}.npz" for name in observations},
        "throws": {name: d / "throws" / f"{name}.npz" for name in observations},
        "tables": {name: d / "tables" / f"{name}.csv" for name in (*REPLICATE_TABLES, HEADLINE_TABLE)},
    }


# ---------------------------------------------------------------------------------------------------- headlines
def headline_row(likelihood_modes: pd.DataFrame) -> pd.Series:
    """The row :data:`nutune.likelihood_modes.CHOSEN` (noise_aware, NORMSHAPE) of a ``likelihood_modes.csv``.

    Raises:
        ValueError: the table has not exactly one such row.
    """
    from nutune.likelihood_modes import CHOSEN

    method, mode = CHOSEN
    rows = likelihood_modes[(likelihood_modes["method"] == method) & (likelihood_modes["mode"] == mode)]
    if len(rows) != 1:
        raise ValueError(f"likelihood_modes table: {len(rows)} rows of method {method!r}, mode {mode!r}; need 1")
    return rows.iloc[0]


def likelihood_modes_numbers(likelihood_modes: pd.DataFrame) -> dict[str, float]:
    """The headline network's numbers of a ``likelihood_modes.csv`` (its :func:`headline_row`), by name.

    ``likelihood_modes:noise_aware/NORMSHAPE/<dial>:{central,minus,plus}`` for every dial (a column with
    ``_minus`` and ``_plus`` siblings: the central value and the 68 % interval's lower and upper distance), and
    ``likelihood_modes:noise_aware/NORMSHAPE:<column>`` for the χ² in every mode (``chi2_<mode>``), the p-value
    of the row's own mode, ``norm_ratio`` and ``max_coverage_error`` (NaN where the table has none).
    """
    row = headline_row(likelihood_modes)
    prefix = f"{HEADLINE_TABLE}:{row['method']}/{row['mode']}"
    columns = list(likelihood_modes.columns)
    dials = [c for c in columns if f"{c}_minus" in columns and f"{c}_plus" in columns]
    out: dict[str, float] = {}
    for dial in dials:
        for column, source in zip(_T2K_COLUMNS, (dial, f"{dial}_minus", f"{dial}_plus"), strict=True):
            out[f"{prefix}/{dial}:{column}"] = float(row[source])
    for column in [c for c in columns if c.startswith("chi2_")] + list(_HEADLINE_ROW_COLUMNS):
        if column in columns:
            out[f"{prefix}:{column}"] = float(row[column]) if pd.notna(row[column]) else float("nan")
    return out


def headline_numbers(
    t2k: pd.DataFrame, chi2: pd.DataFrame, metrics: pd.DataFrame, gate: Mapping,
    likelihood_modes: pd.DataFrame | None = None,
) -> dict[str, float]:
    """The headline numbers of one run, by name ``table:row:column``.

    Args:
        t2k: ``t2k.csv`` (one row per parameter: central, minus, plus).
        chi2: ``chi2.csv`` (one row per prediction, one column per χ² mode).
        metrics: ``test_metrics.csv`` (one row per parameter; global numbers repeat on every row).
        gate: ``gate.json`` (:func:`nutune.gates.write_gate`): each check's margin.
        likelihood_modes: ``likelihood_modes.csv`` (the default run's, or a replicate's one row): the headline
            network's numbers (:func:`likelihood_modes_numbers`); None leaves them out.
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
    if likelihood_modes is not None:
        out.update(likelihood_modes_numbers(likelihood_modes))
    return out


def headlines_from_files(
    t2k: str | Path, chi2: str | Path, metrics: str | Path, gate: str | Path,
    likelihood_modes: str | Path | None = None,
) -> dict[str, float]:
    """:func:`headline_numbers` of the four files of one run (five with its ``likelihood_modes.csv``)."""
    return headline_numbers(
        pd.read_csv(t2k), pd.read_csv(chi2), pd.read_csv(metrics), json.loads(Path(gate).read_text()),
        None if likelihood_modes is None else pd.read_csv(likelihood_modes),
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
    quantity: str, values: np.ndarray, halfwidths: Mapping[tuple[str, str], float], min_margin: float,
    max_spread: float,
) -> tuple[str, float, bool | None]:
    """(goal text, the measured figure the goal is about, met?) for one headline number, or ("", nan, None)."""
    table, row, column = split_quantity(quantity)
    if table == "gate":
        worst = float(np.nanmin(values))
        return f"margin >= {min_margin:g} for every replicate", worst, bool(worst >= min_margin)
    if table in _CENTRAL_TABLES and column == "central" and (table, row) in halfwidths:
        ratio = float(np.std(values, ddof=1) / halfwidths[(table, row)]) if len(values) > 1 else float("nan")
        return f"std <= {max_spread:g} x mean 68% half-width", ratio, bool(ratio <= max_spread)
    return "", float("nan"), None


def stability_table(
    replicates: Sequence[Mapping[str, float]], *, min_gate_margin: float, max_central_spread: float
) -> pd.DataFrame:
    """One row per headline number over the K replicates (module docstring for the columns and goals).

    Args:
        replicates: the headline numbers of replicate 0 (the default run), 1, …, K − 1.
        min_gate_margin: the goal for every calibration-gate margin (issue 13: 0.01).
        max_central_spread: the goal for a central value's seed std (the throws' T2K answer and the headline
            network's), in units of its mean 68 % half-width (0.1).

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
        if table in _CENTRAL_TABLES and column == "minus":
            plus = values[:, names.index(f"{table}:{row}:plus")]
            halfwidths[(table, row)] = float(np.mean(0.5 * (values[:, names.index(name)] + plus)))
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


def _central_panel(ax, table: pd.DataFrame, source: str, reps: Sequence[str], max_central_spread: float,
                   title: str) -> None:
    """One panel of :func:`plot_stability`: each central value of table ``source`` per replicate,
    (value − mean) / mean 68 % half-width, with the ±goal band."""
    centrals = table[(table["table"] == source) & (table["column"] == "central")]
    for i, (_, row) in enumerate(centrals.iterrows()):
        bounds = table[
            (table["table"] == source) & (table["row"] == row["row"]) & table["column"].isin(["minus", "plus"])
        ]
        halfwidth = float(bounds["mean"].mean())
        ax.plot(np.full(len(reps), i), (row[list(reps)].to_numpy(float) - row["mean"]) / halfwidth, "o", alpha=0.7)
    if len(centrals):
        spread = max_central_spread
        ax.axhspan(-spread, spread, color="0.85", zorder=0, label=f"±{spread:g} (goal for the std)")
        ax.legend(loc="best", fontsize=8)
    labels = [str(r).rsplit("/", 1)[-1] for r in centrals["row"]]
    ax.set_xticks(range(len(centrals)), labels, rotation=30, fontsize=8)
    ax.set_ylabel("central − mean [68 % half-widths]")
    ax.set_title(title, fontsize=10)


def plot_stability(
    table: pd.DataFrame,
    pdf_path: str | Path,
    png_path: str | Path | None = None,
    *,
    min_gate_margin: float,
    max_central_spread: float,
) -> None:
    """Each central value per replicate, (value − mean) / mean 68 % half-width, with the ±goal band: nutune's
    headline answer (the noise-aware NORMSHAPE row of ``likelihood_modes.csv``, first panel when the table has it)
    and the papers' throws (``t2k.csv``). Last panel: every calibration-gate margin per replicate, with the goal
    line (a margin below 0 is a failed check)."""
    import matplotlib.pyplot as plt

    from nutune.figures import save_figure

    reps = [c for c in table.columns if c.startswith("replicate_")]
    headline = bool((table["table"] == HEADLINE_TABLE).any())
    n = 3 if headline else 2
    fig, axes = plt.subplots(1, n, figsize=(5.5 + 3.5 * n, 4.2),
                             gridspec_kw={"width_ratios": [1] * (n - 1) + [2]})
    if headline:
        rows = table.loc[table["table"] == HEADLINE_TABLE, "row"]
        label = str(rows.iloc[0]).rsplit("/", 1)[0].replace("_", "-").replace("/", " ")
        _central_panel(axes[0], table, HEADLINE_TABLE, reps, max_central_spread, f"T2K answer: {label}")
    _central_panel(axes[n - 2], table, "t2k", reps, max_central_spread, "papers' throws (t2k.csv)")
    fig.suptitle(f"{len(reps)} network seeds on the same bank", fontsize=10)
    right = axes[n - 1]
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
