"""What a measurement constrains, dial by dial, and what freeing more dials does to a smaller tune (issue 14).

Two tables of one noise-aware posterior for the observed data (the posterior that carries the data's covariance,
``npe.noise: covariance``; a noise-free network's posterior for one histogram is a spike and says nothing about
the data's uncertainty):

* :func:`constraint_table` — per free dial the posterior's median and 68 % central interval, its width over the
  uniform prior's 68 % width (``width_ratio``: 1 = the data add nothing to the prior box, 0.1 = the data pin the
  dial to a tenth of it), the same for the standard deviations, the dial it is most correlated with, and every
  posterior correlation.
* :func:`dial_set_shift_table` — for the dials a *baseline* tune with fewer free dials also fitted (the four
  MicroBooNE dials of the paper run, read from its committed ``likelihood_modes.csv`` row of the same likelihood,
  :func:`read_baseline`), the baseline's and this run's answers side by side: the shift of the median
  in units of the baseline's 68 % half-width and the width ratio. The shift is the systematic that fixing the
  other dials at their nominal values hides from the smaller tune; a width ratio above 1 is the part of this
  run's uncertainty the smaller tune does not report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from nutune.dials import REGISTRY

__all__ = ["PRIOR_DOMINATED", "constraint_table", "dial_set_shift_table", "interval_68", "read_baseline"]

#: ``width_ratio`` at or above which a dial is reported ``prior_dominated``: the data shrink its uniform prior's
#: 68 % width by less than a fifth.
PRIOR_DOMINATED = 0.8
#: 68 % central interval of a uniform distribution, as a fraction of its width.
_UNIFORM_68 = 0.6826894921370859


def _check(samples: np.ndarray, names: Sequence[str], what: str) -> np.ndarray:
    arr = np.asarray(samples, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != len(names) or arr.shape[0] < 2:
        raise ValueError(f"{what} must be (n >= 2, {len(names)}) posterior draws, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} has non-finite draws")
    return arr


def interval_68(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(median, median − p16, p84 − median) per column of ``samples`` (n, d)."""
    p16, p50, p84 = np.percentile(samples, [15.865525393145708, 50.0, 84.13447460685429], axis=0)
    return p50, p50 - p16, p84 - p50


def constraint_table(samples: np.ndarray, names: Sequence[str], prior_low: Sequence[float],
                     prior_high: Sequence[float]) -> pd.DataFrame:
    """``constraints.csv``: per free dial how much the data narrow its uniform prior (module doc).

    Args:
        samples: (n, d) posterior draws for the observation, physical units, columns = ``names``.
        names: the free dials in θ order.
        prior_low, prior_high: (d,) the uniform prior box.
    """
    arr = _check(samples, names, "samples")
    low, high = np.asarray(prior_low, dtype=float), np.asarray(prior_high, dtype=float)
    if low.shape != (len(names),) or high.shape != (len(names),) or np.any(high <= low):
        raise ValueError(f"prior_low/prior_high must be {len(names)} increasing pairs")
    central, minus, plus = interval_68(arr)
    corr = np.corrcoef(arr, rowvar=False) if len(names) > 1 else np.ones((1, 1))
    width = minus + plus
    prior_width = _UNIFORM_68 * (high - low)
    std_ratio = arr.std(axis=0, ddof=1) / ((high - low) / np.sqrt(12.0))
    rows = []
    for i, name in enumerate(names):
        spec = REGISTRY[name]
        others = np.where(np.arange(len(names)) == i, -1.0, np.abs(corr[i]))
        j = int(np.argmax(others))
        row: dict[str, object] = {
            "parameter": spec.physical_name, "dial_name": name, "unit": spec.unit,
            "prior_low": low[i], "prior_high": high[i], "central": central[i], "minus": minus[i], "plus": plus[i],
            "posterior_width_68": width[i], "prior_width_68": prior_width[i],
            "width_ratio": width[i] / prior_width[i], "std_ratio": std_ratio[i],
            "prior_dominated": bool(width[i] / prior_width[i] >= PRIOR_DOMINATED),
            "most_correlated_with": names[j] if len(names) > 1 else "",
            "correlation": corr[i, j] if len(names) > 1 else np.nan,
        }
        row.update({f"corr_{other}": corr[i, k] for k, other in enumerate(names)})
        rows.append(row)
    return pd.DataFrame(rows)


def read_baseline(path: str, mode: str) -> dict[str, tuple[float, float, float]]:
    """The noise-aware answer of mode ``mode`` in a run's ``likelihood_modes.csv`` (:mod:`nutune.likelihood_modes`):
    {dial: (median, minus, plus)} for the dials that run fitted, in its order."""
    table = pd.read_csv(path)
    rows = table[(table["method"] == "noise_aware") & (table["mode"] == mode)]
    if len(rows) != 1:
        raise ValueError(f"{path}: expected one noise_aware row of mode {mode}, found {len(rows)}")
    row = rows.iloc[0]
    dials = [c for c in table.columns if c in REGISTRY]
    return {d: (float(row[d]), float(row[f"{d}_minus"]), float(row[f"{d}_plus"])) for d in dials}


def dial_set_shift_table(samples: np.ndarray, names: Sequence[str],
                         baseline: Mapping[str, tuple[float, float, float]]) -> pd.DataFrame:
    """``dial_set_shift.csv``: this run's answer for the dials a baseline tune also fitted, against the baseline's.

    ``baseline`` maps each of the baseline's free dials (each must be free here too) to its (median, minus, plus).
    One row per baseline dial: ``central``/``minus``/``plus`` of both (suffix ``_baseline``), ``shift_sigma`` =
    (central − central_baseline) / half-width_baseline (the half-width being (minus + plus)/2) and
    ``width_ratio`` = this run's 68 % width / the baseline's.
    """
    arr = _check(samples, names, "samples")
    missing = [n for n in baseline if n not in names]
    if missing:
        raise ValueError(f"the baseline's dial(s) {', '.join(missing)} are not free in this run ({', '.join(names)})")
    c, m, p = interval_68(arr)
    rows = []
    for name, (cb, mb, pb) in baseline.items():
        i = list(names).index(name)
        spec = REGISTRY[name]
        half = 0.5 * (mb + pb)
        rows.append({
            "parameter": spec.physical_name, "dial_name": name, "unit": spec.unit,
            "n_free_baseline": len(baseline), "n_free": len(names),
            "central_baseline": cb, "minus_baseline": mb, "plus_baseline": pb,
            "central": c[i], "minus": m[i], "plus": p[i],
            "shift": c[i] - cb, "shift_sigma": (c[i] - cb) / half,
            "width_ratio": (m[i] + p[i]) / (mb + pb),
        })
    return pd.DataFrame(rows)
