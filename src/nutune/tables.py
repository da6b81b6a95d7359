"""Result tables (``results/tables/*.csv``) of the papers' parameter results (paper.md §8.1, §8.2).

One row per parameter, physical units, with the GENIE dial name and the dial value of the central value
(via :mod:`nutune.dials`). Common columns (:data:`PARAMETER_COLUMNS`):

``observation, parameter, dial_name, unit, truth, truth_dial, central, minus, plus, posterior_halfwidth_68,
central_dial, error_source``

* ``central``, ``minus`` and ``plus`` always come from ONE set of draws (``error_source`` names it):
  ``central`` is their median and ``minus`` / ``plus`` = central − p16 and p84 − central of the same draws.
  ``error_source = posterior``: the posterior draws for the observed histogram (mocks, published curves);
  ``error_source = throws``: the pooled draws of the covariance throws, one posterior draw per throw (real data:
  ``t2k.csv``, ``measurements.csv``; paper.md §8.2);
* ``unthrown_median`` (throws tables only) = the posterior median for the unthrown data (what ``central`` was
  before issue 16: the χ² columns are evaluated there, ``chi2_at`` says so);
* ``posterior_halfwidth_68`` = (p84 − p16)/2 of the posterior for the unthrown observation (the authors'
  "1σ" is the full width, twice this; paper.md §6);
* ``truth`` is the generating point when known (mock observations), else empty;
* χ² values of the prediction at the posterior median of the unthrown observation against the data are passed
  in (computed by :mod:`nutune.chi2`) and repeated on every row as ``chi2_<MODE>`` (+ ``ndf``, and ``chi2_at``
  = ``posterior_median`` or ``unthrown_median``, the column whose point they are evaluated at).

Column-by-column documentation with units: ``docs/tables.md``.

All tables are written atomically with full float precision (:func:`write_table`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nutune.config import observation_table
from nutune.dials import MICROBOONE_TUNE_PHYSICAL, PARAMETER_NAMES, REGISTRY, microboone_tune, to_dial
from nutune.io import atomic_write

__all__ = [
    "observation_parameter_table",
    "markdown_table",
    "summary_markdown",
    "PARAMETER_COLUMNS",
    "parameter_table",
    "microboone_tune_table",
    "nuwro_table",
    "t2k_table",
    "t2k_correlations_table",
    "noise_vs_throws_table",
    "write_table",
]

PARAMETER_COLUMNS = (
    "observation", "parameter", "dial_name", "unit", "truth", "truth_dial", "central", "minus", "plus",
    "posterior_halfwidth_68", "central_dial", "error_source",
)


def _check_samples(samples: np.ndarray, what: str, n_par: int = len(PARAMETER_NAMES)) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 2 or samples.shape[1] != n_par or len(samples) < 2:
        raise ValueError(f"{what} must have shape (S >= 2, {n_par}), got {samples.shape}")
    return samples


def _intervals(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p16, p50, p84 = np.percentile(values, [16, 50, 84], axis=0)
    return p50, p50 - p16, p84 - p50


def parameter_table(
    observation: str,
    samples: np.ndarray,
    *,
    truth: Sequence[float] | np.ndarray | None = None,
    throw_samples: np.ndarray | None = None,
    chi2: Mapping[str, float] | None = None,
    ndf: int | None = None,
    names: Sequence[str] = PARAMETER_NAMES,
) -> pd.DataFrame:
    """The parameter table of one observation (columns :data:`PARAMETER_COLUMNS` + ``chi2_<MODE>``, ``ndf``).

    Args:
        observation: observation name (``results/observations/{obs}.csv``).
        samples: (S, 4) posterior draws for the observed histogram, physical units.
        truth: (4,) generating parameters, when known.
        throw_samples: (n, 4) one posterior draw per covariance throw; when given, ``central``/``minus``/``plus``
            are their median and 16/84 % quantiles (paper.md §8.2), ``error_source`` is ``throws`` and
            ``unthrown_median`` (+ ``_dial``) holds the median of ``samples``.
        chi2: χ² vs the data of the prediction at the median of ``samples`` (the unthrown observation) per
            covariance mode, e.g. ``{"FULL": 71.2}``.
        ndf: degrees of freedom quoted with the χ² (e.g. the number of bins).
        names: the free dials of the samples' columns (``cfg.dial_names``).
    """
    samples = _check_samples(samples, "samples", len(names))
    unthrown_median, post_minus, post_plus = _intervals(samples)
    halfwidth = 0.5 * (post_minus + post_plus)
    if throw_samples is not None:
        # central and its errors from the same draws: the pooled one-draw-per-throw samples
        central, minus, plus = _intervals(_check_samples(throw_samples, "throw_samples", len(names)))
        source = "throws"
    else:
        central, minus, plus, source = unthrown_median, post_minus, post_plus, "posterior"
    truth_arr = None if truth is None else np.asarray(truth, dtype=np.float64)
    if truth_arr is not None and truth_arr.shape != (len(names),):
        raise ValueError(f"truth must have {len(names)} values, got {truth_arr.shape}")
    rows = []
    for i, spec in enumerate(REGISTRY[n] for n in names):
        row = {
            "observation": observation,
            "parameter": spec.physical_name,
            "dial_name": spec.name,
            "unit": spec.unit,
            "truth": np.nan if truth_arr is None else truth_arr[i],
            "truth_dial": np.nan if truth_arr is None else float(to_dial(spec.name, truth_arr[i])),
            "central": central[i],
            "minus": minus[i],
            "plus": plus[i],
            "posterior_halfwidth_68": halfwidth[i],
            "central_dial": float(to_dial(spec.name, central[i])),
            "error_source": source,
        }
        if throw_samples is not None:
            row["unthrown_median"] = unthrown_median[i]
            row["unthrown_median_dial"] = float(to_dial(spec.name, unthrown_median[i]))
        for mode, value in (chi2 or {}).items():
            row[f"chi2_{mode}"] = float(value)
        if chi2:
            row["ndf"] = ndf if ndf is not None else np.nan
            row["chi2_at"] = "unthrown_median" if throw_samples is not None else "posterior_median"
        rows.append(row)
    return pd.DataFrame(rows)


def microboone_tune_table(
    samples: np.ndarray,
    *,
    truth: Sequence[float] | np.ndarray = MICROBOONE_TUNE_PHYSICAL,
    chi2: Mapping[str, float] | None = None,
    ndf: int | None = None,
    observation: str = "microboone_tune",
    names: Sequence[str] = PARAMETER_NAMES,
) -> pd.DataFrame:
    """``microboone_tune.csv``: inference on the MicroBooNE-tune prediction (paper.md §8.1); the truth is the
    tune (dials 4.9778, 1.31189, 1.0, 0.151), so the table adds ``residual`` = central − truth and
    ``residual_over_halfwidth``."""
    table = parameter_table(observation, samples, truth=truth, chi2=chi2, ndf=ndf, names=names)
    table["residual"] = table["central"] - table["truth"]
    table["residual_over_halfwidth"] = table["residual"] / table["posterior_halfwidth_68"]
    return table


def nuwro_table(
    samples: np.ndarray,
    *,
    chi2: Mapping[str, float] | None = None,
    ndf: int | None = None,
    observation: str = "nuwro",
    names: Sequence[str] = PARAMETER_NAMES,
) -> pd.DataFrame:
    """``nuwro.csv``: GENIE parameters inferred from the NuWro prediction (no GENIE truth exists)."""
    return parameter_table(observation, samples, chi2=chi2, ndf=ndf, names=names)


def t2k_table(
    samples: np.ndarray,
    throw_samples: np.ndarray,
    *,
    chi2: Mapping[str, float] | None = None,
    ndf: int | None = None,
    observation: str = "t2k",
    names: Sequence[str] = PARAMETER_NAMES,
) -> pd.DataFrame:
    """``t2k.csv``: the T2K data with throw-based asymmetric errors (paper.md §8.2), the MicroBooNE tune
    alongside (``microboone_tune``, ``microboone_tune_dial``) and the posterior's own half-width."""
    table = parameter_table(observation, samples, throw_samples=throw_samples, chi2=chi2, ndf=ndf, names=names)
    table["n_throws"] = len(throw_samples)
    tune = microboone_tune(names)
    table["microboone_tune"] = tune
    table["microboone_tune_dial"] = [float(to_dial(n, v)) for n, v in zip(names, tune, strict=True)]
    return table


def t2k_correlations_table(correlation: np.ndarray, names: Sequence[str] = PARAMETER_NAMES) -> pd.DataFrame:
    """``t2k_correlations.csv``: the 4×4 correlation matrix of the per-throw draws; column ``dial_name`` then one
    column per dial (symmetric, unit diagonal)."""
    correlation = np.asarray(correlation, dtype=np.float64)
    n = len(names)
    if correlation.shape != (n, n) or not np.allclose(correlation, correlation.T, atol=1e-12):
        raise ValueError(f"correlation must be a symmetric {n}x{n} matrix, got {correlation.shape}")
    table = pd.DataFrame(correlation, columns=list(names))
    table.insert(0, "dial_name", list(names))
    return table


def noise_vs_throws_table(noise_samples: np.ndarray, throw_samples: np.ndarray,
                          names: Sequence[str] = PARAMETER_NAMES) -> pd.DataFrame:
    """``noise_vs_throws.csv``: the noise-aware posterior for the T2K data against the throws approach.

    One row per parameter with, for each method (suffix ``_noise`` / ``_throws``): ``central`` (median),
    ``minus``/``plus`` (median − p16, p84 − median) and the correlations ``corr_<dial>`` with every other
    parameter; ``width_ratio`` = (plus + minus) of the noise-aware posterior over that of the throws (1 when both
    propagate the same covariance consistently).
    """
    methods = {"noise": _check_samples(noise_samples, "noise_samples", len(names)),
               "throws": _check_samples(throw_samples, "throw_samples", len(names))}
    summaries = {m: (_intervals(s), np.corrcoef(s, rowvar=False)) for m, s in methods.items()}
    rows = []
    for i, spec in enumerate(REGISTRY[n] for n in names):
        row: dict[str, object] = {"parameter": spec.physical_name, "dial_name": spec.name, "unit": spec.unit}
        for method, ((central, minus, plus), corr) in summaries.items():
            row[f"central_{method}"] = central[i]
            row[f"minus_{method}"] = minus[i]
            row[f"plus_{method}"] = plus[i]
            for j, other in enumerate(names):
                row[f"corr_{other}_{method}"] = corr[i, j]
        (_, mn, pn), _ = summaries["noise"]
        (_, mt, pt), _ = summaries["throws"]
        row["width_ratio"] = (mn[i] + pn[i]) / (mt[i] + pt[i])
        rows.append(row)
    return pd.DataFrame(rows)


def write_table(table: pd.DataFrame, path: str | Path) -> None:
    """Write a table atomically as CSV: no index, floats at full (round-trip) precision, NaN as empty."""
    with atomic_write(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.17g", na_rep="")


def observation_parameter_table(name: str, spec: Mapping, samples: np.ndarray, *, chi2: Mapping[str, float],
                                ndf: int, names: Sequence[str] = PARAMETER_NAMES) -> pd.DataFrame:
    """The parameter rows of one mock or published observation (``microboone_tune.csv``, ``nuwro.csv``).

    Builtin mocks have their point as truth; the real GENIE curve the MicroBooNE tune; the real NuWro curve none.
    """
    truth = spec.get("point") if spec["kind"] == "builtin" else None
    if observation_table(name, spec) == "microboone_tune":
        truth = microboone_tune(names) if truth is None else truth
        return microboone_tune_table(samples, truth=truth, chi2=chi2, ndf=ndf, observation=name, names=names)
    return parameter_table(name, samples, truth=truth, chi2=chi2, ndf=ndf, names=names)


def markdown_table(frame: pd.DataFrame) -> str:
    """A pandas DataFrame as a GitHub Markdown table (no extra dependency)."""
    def cell(value: object) -> str:
        if isinstance(value, float):
            return "" if np.isnan(value) else f"{value:.4g}"
        return str(value)

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def summary_markdown(cfg: Any, tables: Sequence[str | Path], gate: str | None = None) -> str:
    """``results/summary.md``: the run's provenance, the calibration gate and every table."""
    import nutune
    from nutune.gates import gate_marker

    lines = [
        "# nutune run summary",
        "",
        f"* nutune {nutune.__version__}; backend `{cfg.simulator.backend}`; seed {cfg.seed}; "
        f"{cfg.simulation.n_train} training / {cfg.simulation.n_test} test simulations; "
        f"config sha256 `{cfg.config_hash[:16]}`",
        "",
    ]
    if gate:
        marker = gate_marker(gate)
        lines += [f"**Calibration gate: {marker or 'passed'}** (`{gate}`; thresholds in `gates` of the config)", ""]
    for path in tables:
        lines += [f"## {Path(path).stem}", "", markdown_table(pd.read_csv(path)), ""]
    return "\n".join(lines)
