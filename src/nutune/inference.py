"""Inference on one observed histogram: posterior summaries and covariance throws (paper.md §6, §8.1, §8.2).

* :func:`posterior_summary` turns posterior draws (physical units) into the numbers the authors tabulate
  (median, mean, p16/p84, p2.5/p97.5, 68 % half-width) with the GENIE dial value of the central value next to it
  (via :mod:`nutune.dials`).
* :func:`covariance_throws` propagates the measurement covariance the way the authors did for T2K (paper.md
  §8.2): throw histograms x_k ~ N(x_obs, C), draw **one** posterior sample per throw, and quote the asymmetric
  68 % interval of the per-throw draws (median − p16, p84 − median). The per-throw posterior median is kept as
  well (a pure data-fluctuation spread, without the posterior's own width), and the 4×4 correlation matrix of
  the draws is returned.

**Negative thrown bins.** A Gaussian throw of a small bin with a large relative error can be negative (T2K:
fractional errors up to 93 %). Such throws are kept unchanged: clipping them would bias the throws and shrink the
covariance. With ``npe.x_transform: max`` the network input x / max is well defined for negative bins (a
noise-free network then extrapolates outside its training range, which is part of why the noise-aware option
exists); ``log`` cannot take them and the throw raises. The number of throws with at least one negative bin is
reported in :class:`ThrowsResult` and logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from nutune.dials import PARAMETER_NAMES, REGISTRY, to_dial
from nutune.io import derive_seed, rng
from nutune.noise import covariance_noise
from nutune.progress import format_seconds, progress

__all__ = ["SUMMARY_COLUMNS", "ThrowsResult", "posterior_summary", "covariance_throws", "throw_intervals"]

logger = logging.getLogger(__name__)

#: Columns of :func:`posterior_summary`.
SUMMARY_COLUMNS = (
    "parameter", "dial_name", "unit", "median", "mean", "p16", "p84", "p2_5", "p97_5", "minus_68", "plus_68",
    "halfwidth_68", "median_dial", "max_like",
)


def posterior_summary(
    samples: np.ndarray,
    log_prob: np.ndarray | None = None,
    parameter_names: Sequence[str] = PARAMETER_NAMES,
) -> pd.DataFrame:
    """Summary of posterior draws (S, d) in physical units, one row per free dial of ``parameter_names``.

    Columns (:data:`SUMMARY_COLUMNS`): ``parameter`` (physical symbol), ``dial_name``, ``unit``, ``median``,
    ``mean``, ``p16``, ``p84``, ``p2_5``, ``p97_5``, ``minus_68`` = median − p16, ``plus_68`` = p84 − median,
    ``halfwidth_68`` = (p84 − p16)/2 (the authors' "1σ" is the full width p84 − p16 = 2 × this, paper.md §6),
    ``median_dial`` (GENIE dial value of the median, :func:`nutune.dials.to_dial`) and ``max_like`` (the draw
    with the highest posterior density, the authors' "max-like", when ``log_prob`` (S,) is given; else NaN).
    """
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 2 or samples.shape[1] != len(parameter_names):
        raise ValueError(f"samples must have shape (S, {len(parameter_names)}), got {samples.shape}")
    p2_5, p16, median, p84, p97_5 = np.percentile(samples, [2.5, 16, 50, 84, 97.5], axis=0)
    max_like = np.full(samples.shape[1], np.nan)
    if log_prob is not None:
        log_prob = np.asarray(log_prob, dtype=np.float64)
        if log_prob.shape != (len(samples),):
            raise ValueError(f"log_prob must have shape ({len(samples)},), got {log_prob.shape}")
        max_like = samples[int(np.argmax(log_prob))]
    specs = REGISTRY
    rows = []
    for i, name in enumerate(parameter_names):
        rows.append({
            "parameter": specs[name].physical_name,
            "dial_name": name,
            "unit": specs[name].unit,
            "median": median[i],
            "mean": samples[:, i].mean(),
            "p16": p16[i],
            "p84": p84[i],
            "p2_5": p2_5[i],
            "p97_5": p97_5[i],
            "minus_68": median[i] - p16[i],
            "plus_68": p84[i] - median[i],
            "halfwidth_68": 0.5 * (p84[i] - p16[i]),
            "median_dial": float(to_dial(name, median[i])),
            "max_like": max_like[i],
        })
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def throw_intervals(values: np.ndarray, central: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Asymmetric 68 % interval of per-throw values (n, 4): (centre, centre − p16, p84 − centre).

    ``central`` defaults to the median of ``values`` (paper.md §8.2: median − p16 and p84 − median of the
    per-throw draws). Passing the posterior central value of the unthrown data instead measures the interval
    around that point.
    """
    values = np.asarray(values, dtype=np.float64)
    p16, p50, p84 = np.percentile(values, [16, 50, 84], axis=0)
    centre = p50 if central is None else np.asarray(central, dtype=np.float64)
    return centre, centre - p16, p84 - centre


@dataclass
class ThrowsResult:
    """Covariance throws of one observation and what the posterior makes of them.

    Attributes:
        x_throws: (n, bins) thrown histograms x_k ~ N(x_obs, C).
        samples: (n, 4) one posterior draw per throw (physical units), the authors' recipe.
        medians: (n, 4) posterior median of each throw (from ``n_median_samples`` draws).
        central: (4,) median of ``samples``.
        minus, plus: (4,) asymmetric 68 % errors of ``samples`` (median − p16, p84 − median).
        median_minus, median_plus: (4,) the same for ``medians``.
        correlation: (4, 4) Pearson correlation of ``samples``.
        n_negative_throws: throws with at least one negative bin (kept, see the module docstring).
        seed: the derived seed used for the throws and draws.
    """

    x_throws: np.ndarray
    samples: np.ndarray
    medians: np.ndarray
    central: np.ndarray
    minus: np.ndarray
    plus: np.ndarray
    median_minus: np.ndarray
    median_plus: np.ndarray
    correlation: np.ndarray
    n_negative_throws: int
    seed: int

    def __getitem__(self, key: str) -> Any:
        """Mapping-style access (``result["samples"]``) for code that treats the result as a dict."""
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def arrays(self) -> dict[str, np.ndarray]:
        """Everything as plain arrays, for ``results/throws/{obs}.npz`` (``np.savez``; no pickle needed)."""
        return {name: np.asarray(getattr(self, name)) for name in self.__dataclass_fields__}


def covariance_throws(
    posterior: Any,
    x_obs: np.ndarray,
    cov: np.ndarray,
    n_throws: int,
    seed: int,
    *,
    n_median_samples: int = 100,
    batch_size: int = 100,
) -> ThrowsResult:
    """Propagate the measurement covariance through the posterior by throwing the data (paper.md §8.2).

    Args:
        posterior: a :class:`nutune.npe.NutunePosterior` (``sample_batched(n, xs, seed) -> (len(xs), n, 4)``).
        x_obs: (bins,) observed histogram.
        cov: (bins, bins) covariance of the throws (``inference.throw_components`` summed).
        n_throws: number of throws (the papers: 1000; their notebook used the first 100 for the errors).
        seed: the global seed; throws use ``rng(seed, "throws", "x")``, posterior draws
            ``derive_seed(seed, "throws", "draw", batch)``.
        n_median_samples: posterior draws per throw for the per-throw median.
        batch_size: throws per ``sample_batched`` call; progress is logged every 10 % of the throws.

    Returns:
        :class:`ThrowsResult` (also indexable as ``result["x_throws"]``, ``result["samples"]``).
    """
    x_obs = np.asarray(x_obs, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    bins = x_obs.shape[0]
    if x_obs.ndim != 1 or cov.shape != (bins, bins):
        raise ValueError(f"x_obs must be (bins,) and cov (bins, bins); got {x_obs.shape} and {cov.shape}")
    if not np.allclose(cov, cov.T) or np.min(np.linalg.eigvalsh(cov)) < -1e-10 * np.max(np.abs(np.diag(cov))):
        raise ValueError("the throw covariance must be symmetric positive semi-definite")
    if n_throws < 2:
        raise ValueError(f"need at least 2 throws, got {n_throws}")
    throw_seed = derive_seed(seed, "throws", "x")
    x_throws = covariance_noise(rng(seed, "throws", "x"), cov, int(n_throws), method="eigh", mean=x_obs)
    negative = int(np.sum(np.any(x_throws < 0, axis=1)))
    if negative:
        logger.info("%d of %d throws have at least one negative bin (kept unchanged)", negative, n_throws)

    first_draws: list[np.ndarray] = []
    medians_parts: list[np.ndarray] = []
    next_report, start = 0.1, time.monotonic()
    for batch, lo in enumerate(range(0, n_throws, batch_size)):
        hi = min(lo + batch_size, n_throws)
        draws = posterior.sample_batched(
            max(1, n_median_samples), x_throws[lo:hi], seed=derive_seed(seed, "throws", "draw", batch)
        )
        first_draws.append(draws[:, 0, :])
        medians_parts.append(np.median(draws, axis=1))
        if hi / n_throws >= next_report - 1e-12:  # one line per batch that crosses a 10 % step, never repeated
            elapsed = time.monotonic() - start
            timing = f"done in {format_seconds(elapsed)}" if hi == n_throws else \
                f"elapsed {format_seconds(elapsed)}, about {format_seconds(elapsed / hi * (n_throws - hi))} left"
            progress(logger, "throws: %d / %d (%.0f %%), %s", hi, n_throws, 100 * hi / n_throws, timing)
            while next_report <= hi / n_throws + 1e-12:
                next_report += 0.1

    samples, medians = np.concatenate(first_draws), np.concatenate(medians_parts)
    central, minus, plus = throw_intervals(samples)
    _, median_minus, median_plus = throw_intervals(medians)
    return ThrowsResult(
        x_throws=x_throws,
        samples=samples,
        medians=medians,
        central=central,
        minus=minus,
        plus=plus,
        median_minus=median_minus,
        median_plus=median_plus,
        correlation=np.corrcoef(samples, rowvar=False),
        n_negative_throws=negative,
        seed=throw_seed,
    )
