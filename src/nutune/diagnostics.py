"""Calibration diagnostics of the NPE on the disjoint test set (paper.md §7), with sbi's SBC and TARP.

The authors validated on rows that overlapped their training set (paper.md §5); nutune always passes the held-out
``results/bank/test.h5``. For every test row ``i`` we draw ``diagnostics.num_posterior_samples`` posterior samples
(:meth:`nutune.npe.NutunePosterior.sample_batched`) and compute, per parameter, in physical units:

* **residuals**: posterior median − truth; ``residual_unit`` = residual / (prior width) (the authors' normalised
  units, paper.md §7.1); ``residual_fractional`` = residual / truth (NaN where the truth is 0, e.g. MEC shape 0).
* **pulls**: (posterior mean − truth) / σ with σ = **half** the central 68 % width, (p84 − p16)/2, so that a
  calibrated Gaussian posterior gives pulls ~ N(0, 1). The authors divided by the *full* width p84 − p16
  (paper.md §6, §7.3), which gives σ ≈ 0.5 for a perfect posterior; that version is stored as
  ``pulls_full_width`` (= pulls / 2) for figure parity.
* **marginal coverage** at ``diagnostics.coverage_levels`` credibility levels c in [0, 1]: the truth is covered by
  the central interval of level c when its posterior quantile q (fraction of draws below it) has |q − ½| ≤ c/2.
* **joint coverage** (highest-posterior-density expected coverage, Deistler et al. 2022, arXiv:2210.04815, the
  same as sbi's ``run_sbc(reduce_fns=posterior.log_prob)``): the truth's HPD level is the fraction of posterior
  draws with a higher posterior density than the truth; it is covered at level c when that fraction is ≤ c.
  This replaces the authors' D(θ), which ranked distances under the *covariance* (not its inverse) of the test
  truths (paper.md §7.6).
* **TARP** (Lemos et al. 2023, sbi's ``run_tarp`` core ``_run_tarp`` + ``check_tarp``) and **SBC** ranks with KS
  p-values (Talts et al. 2018, sbi's ``run_sbc`` core ``_run_sbc`` + ``check_sbc``), both in the unit-box
  coordinates the network was trained in (monotone per-parameter maps leave SBC ranks unchanged; TARP z-scores θ
  itself). They rank the same posterior draws as the coverage above (the public ``run_tarp``/``run_sbc`` would
  re-sample twice through sbi's ``DirectPosterior``: 2/3 of the run time, and out of memory for noise-aware nets).

Metric keys of ``results/diagnostics/metrics.json`` (read by :mod:`nutune.gates`): ``coverage_error``
{param: max over levels |empirical − nominal| marginal coverage}, ``joint_coverage_error`` (same for the joint
HPD coverage), ``tarp_error`` (max |ECP − α|), ``tarp_atc``, ``tarp_ks_pvalue``, ``sbc_ks_pvalue`` {param},
``sbc_c2st_ranks`` {param}, ``sbc_c2st_dap`` {param}, ``bias`` / ``rmse`` / ``mean_halfwidth_68`` /
``mean_width_68`` / ``pull_mean`` / ``pull_std`` / ``mean_abs_residual_unit`` {param} (pulls over rows with a
non-zero posterior width; ``n_without_pull`` counts the others), the curves
``coverage`` {levels, marginal (n_params × n_levels), joint, parameters} and ``tarp`` {alpha, ecp}, and
``n_test``, ``num_posterior_samples``, ``pull_convention``. Parameters are keyed by their GENIE dial name.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nutune.dials import PARAMETER_NAMES, REGISTRY
from nutune.io import atomic_write, derive_seed

__all__ = [
    "PULL_CONVENTION",
    "TEST_METRICS_COLUMNS",
    "posterior_statistics",
    "marginal_coverage",
    "hpd_levels",
    "coverage_curve",
    "run_diagnostics",
    "write_metrics",
    "write_test_posteriors",
    "write_test_metrics_table",
    "noisy_test_histograms",
]

logger = logging.getLogger(__name__)

PULL_CONVENTION = (
    "pull = (posterior mean - truth) / sigma, sigma = (p84 - p16) / 2 (half the central 68% width); "
    "the authors used the full width p84 - p16 (pulls_full_width = pull / 2)"
)

#: Columns of ``results/tables/test_metrics.csv`` (one row per parameter, physical units).
TEST_METRICS_COLUMNS = (
    "parameter", "dial_name", "unit", "n_test", "bias", "rmse", "mean_abs_residual_unit", "mean_halfwidth_68",
    "mean_width_68", "pull_mean", "pull_std", "coverage_error", "joint_coverage_error", "sbc_ks_pvalue",
    "sbc_c2st_ranks", "sbc_c2st_dap", "tarp_error", "tarp_atc", "tarp_ks_pvalue",
)


def _setting(settings: Any, key: str) -> Any:
    if isinstance(settings, Mapping):
        return settings[key]
    return getattr(settings, key)


class _seeded_torch:
    """Context manager: fork torch's CPU RNG and seed it (sbi's samplers and references use the global RNG)."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._fork = torch.random.fork_rng(devices=[])

    def __enter__(self) -> None:
        self._fork.__enter__()
        torch.manual_seed(self.seed)

    def __exit__(self, *exc: object) -> None:
        self._fork.__exit__(*exc)


# ----------------------------------------------------------------------------------------------------------------
# building blocks (plain arrays)
# ----------------------------------------------------------------------------------------------------------------
def posterior_statistics(samples: np.ndarray) -> dict[str, np.ndarray]:
    """Per-row summaries of draws (n, S, d): median, mean, p16, p84, p2.5, p97.5, 68 % half-width."""
    samples = np.asarray(samples, dtype=np.float64)
    p2_5, p16, median, p84, p97_5 = np.percentile(samples, [2.5, 16, 50, 84, 97.5], axis=1)
    return {
        "median": median,
        "mean": samples.mean(axis=1),
        "p16": p16,
        "p84": p84,
        "p2_5": p2_5,
        "p97_5": p97_5,
        "halfwidth_68": 0.5 * (p84 - p16),
    }


def marginal_quantiles(samples: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Posterior quantile of each true value (n, d): fraction of draws below it (ties count one half)."""
    samples = np.asarray(samples, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)[:, None, :]
    return (samples < truth).mean(axis=1) + 0.5 * (samples == truth).mean(axis=1)


def marginal_coverage(samples: np.ndarray, truth: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Empirical coverage of central credible intervals, (d, n_levels), for draws (n, S, d) and truths (n, d).

    The truth is inside the central interval of credibility c iff its posterior quantile q has |q − ½| ≤ c/2.
    """
    distance = np.abs(marginal_quantiles(samples, truth) - 0.5)  # (n, d)
    levels = np.asarray(levels, dtype=np.float64)
    return (distance[:, :, None] <= levels[None, None, :] / 2 + 1e-12).mean(axis=0)


def hpd_levels(log_prob_samples: np.ndarray, log_prob_truth: np.ndarray) -> np.ndarray:
    """HPD credibility level of each truth: fraction of draws with a higher posterior density than the truth.

    Args:
        log_prob_samples: (n, S) posterior log-densities of the draws of each row.
        log_prob_truth: (n,) posterior log-density of each row's true parameters.
    """
    return (np.asarray(log_prob_samples) > np.asarray(log_prob_truth)[:, None]).mean(axis=1)


def coverage_curve(levels_of_truth: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Empirical coverage at each nominal level c: fraction of truths whose HPD level is ≤ c."""
    levels_of_truth = np.asarray(levels_of_truth, dtype=np.float64)
    return np.array([np.mean(levels_of_truth <= c + 1e-12) for c in np.asarray(levels, dtype=np.float64)])


def _per_param(values: np.ndarray, names: Sequence[str]) -> dict[str, float]:
    return {name: float(v) for name, v in zip(names, np.asarray(values), strict=True)}


# ----------------------------------------------------------------------------------------------------------------
# the full suite
# ----------------------------------------------------------------------------------------------------------------
def run_diagnostics(
    posterior: Any,
    theta_test: np.ndarray,
    x_test: np.ndarray,
    settings: Any,
    seed: int,
    *,
    chunk_size: int = 100,
    sbc_c2st: bool = True,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """All calibration diagnostics of ``posterior`` on the disjoint test set.

    Args:
        posterior: a :class:`nutune.npe.NutunePosterior` (``sample_batched``, ``log_prob_batched``,
            ``to_unit``, ``transform_x``).
        theta_test: (n, 4) true physical parameters of the held-out simulations.
        x_test: (n, bins) their histograms (for a noise-aware network: with noise drawn from the same C).
        settings: the ``diagnostics`` config section (``num_posterior_samples``, ``coverage_levels``).
        seed: the global seed; posterior draws, TARP references and the prior draws of the SBC C2ST use
            ``derive_seed(seed, "diagnostics", <what>)``.
        chunk_size: test rows per batch when evaluating posterior densities (bounds memory).
        sbc_c2st: run ``check_sbc`` in full (KS p-values plus its random-forest C2STs of ranks vs uniform and of
            the data-averaged posterior vs the prior, ~2 s per parameter and 1000 rows); ``False`` computes only
            the KS p-values (``check_uniformity_frequentist``, identical numbers) and reports the C2STs as None.

    Returns:
        ``(metrics, arrays)``: JSON-serialisable metrics (keys in the module docstring) and the arrays of
        ``results/diagnostics/test_posteriors.npz`` (``samples`` (n, S, 4), ``theta_true`` (n, 4), summaries,
        residuals, pulls, quantiles, HPD levels, SBC ranks and the curves).
    """
    from sbi.diagnostics import check_sbc, check_tarp
    from sbi.diagnostics.sbc import check_uniformity_frequentist
    from sbi.diagnostics.tarp import get_tarp_references

    from nutune.npe._sbi_compat import run_sbc_ranks, run_tarp_curve

    theta_test = np.asarray(theta_test, dtype=np.float64)
    x_test = np.asarray(x_test, dtype=np.float64)
    names = list(posterior.dial_names)
    if theta_test.ndim != 2 or theta_test.shape[1] != len(names) or len(x_test) != len(theta_test):
        raise ValueError(f"need theta_test (n, {len(names)}) and x_test (n, bins); got {theta_test.shape}, "
                         f"{x_test.shape}")
    n_test = len(theta_test)
    num_samples = int(_setting(settings, "num_posterior_samples"))
    levels = np.linspace(0.0, 1.0, int(_setting(settings, "coverage_levels")))
    start = time.perf_counter()

    # 1. posterior draws and per-row summaries -------------------------------------------------------------------
    samples = posterior.sample_batched(num_samples, x_test, seed=derive_seed(seed, "diagnostics", "samples"))
    stats = posterior_statistics(samples)
    width = posterior.prior_high - posterior.prior_low
    residual = stats["median"] - theta_test
    with np.errstate(divide="ignore", invalid="ignore"):
        residual_fractional = np.where(np.abs(theta_test) > 1e-12, residual / theta_test, np.nan)
        # A zero-width posterior (every draw on a box edge: the sampler's clipped fallback for a row whose posterior
        # lies outside the prior box) has no pull; such rows are left out of the pull statistics (as in the figure).
        pulls = np.where(stats["halfwidth_68"] > 0, (stats["mean"] - theta_test) / stats["halfwidth_68"], np.nan)
    n_no_pull = int(np.sum(~np.isfinite(pulls).all(axis=1)))
    if n_no_pull:
        logger.warning("diagnostics: %d test row(s) have a zero-width posterior in some parameter: no pull", n_no_pull)
    logger.info("diagnostics: %d x %d posterior draws (%.1f s)", n_test, num_samples, time.perf_counter() - start)

    # 2. marginal and joint (HPD) coverage ---------------------------------------------------------------------------
    quantiles = marginal_quantiles(samples, theta_test)
    marginal = marginal_coverage(samples, theta_test, levels)
    hpd = np.empty(n_test)
    for lo in range(0, n_test, chunk_size):
        hi = min(lo + chunk_size, n_test)
        lp_samples = posterior.log_prob_batched(samples[lo:hi], x_test[lo:hi], normalize=False)
        lp_truth = posterior.log_prob_batched(theta_test[lo:hi, None, :], x_test[lo:hi], normalize=False)[:, 0]
        hpd[lo:hi] = hpd_levels(lp_samples, lp_truth)
    joint = coverage_curve(hpd, levels)
    logger.info("diagnostics: coverage done (%.1f s)", time.perf_counter() - start)

    # 3. TARP and SBC with sbi, in the network's unit-box coordinates ---------------------------------------------
    # sbi's run_tarp / run_sbc would draw 2 x n x S fresh samples through sbi's own DirectPosterior (its rejection
    # sampler can need ~20 GB for a noise-aware network, whose posteriors reach past the prior box); their cores,
    # _run_tarp and _run_sbc (wrapped in nutune.npe._sbi_compat), take samples, so both rank the *same* draws of
    # the nutune posterior used above.
    thetas_u = torch.as_tensor(posterior.to_unit(theta_test), dtype=torch.float32)
    xs_t = posterior.transform_x(x_test)
    samples_u = torch.as_tensor(posterior.to_unit(samples), dtype=torch.float32).transpose(0, 1)  # (S, n, 4)
    with _seeded_torch(derive_seed(seed, "diagnostics", "tarp")):
        ecp, alpha = run_tarp_curve(
            samples_u, thetas_u, get_tarp_references(thetas_u), num_bins=max(5, n_test // 10), z_score_theta=True
        )
    ecp, alpha = ecp.detach().cpu(), alpha.detach().cpu()
    tarp_atc, tarp_ks = check_tarp(ecp, alpha)
    with _seeded_torch(derive_seed(seed, "diagnostics", "sbc")):
        ranks = run_sbc_ranks(thetas_u, xs_t, samples_u)
        dap = samples_u[0]  # one draw per test row: the data-averaged posterior (as run_sbc)
        if sbc_c2st:
            prior_u = torch.rand(n_test, thetas_u.shape[1])  # the prior in unit-box coordinates
            sbc = check_sbc(ranks, prior_u, dap.detach().cpu(), num_posterior_samples=num_samples)
            c2st_ranks = _per_param(sbc["c2st_ranks"].numpy().reshape(-1)[: len(names)], names)
            c2st_dap: dict[str, float] | None = _per_param(sbc["c2st_dap"].numpy(), names)
            ks_pvalues = sbc["ks_pvals"].numpy()
        else:
            c2st_ranks = c2st_dap = None
            ks_pvalues = check_uniformity_frequentist(ranks, num_samples).numpy()
    logger.info("diagnostics: TARP and SBC done (%.1f s)", time.perf_counter() - start)

    abs_unit = np.abs(residual) / width
    metrics: dict[str, Any] = {
        "n_test": int(n_test),
        "num_posterior_samples": num_samples,
        "parameters": names,
        "coverage_error": _per_param(np.max(np.abs(marginal - levels[None, :]), axis=1), names),
        "joint_coverage_error": float(np.max(np.abs(joint - levels))),
        "tarp_error": float(torch.max(torch.abs(ecp - alpha)).item()),
        "tarp_atc": float(tarp_atc),
        "tarp_ks_pvalue": float(tarp_ks),
        "sbc_ks_pvalue": _per_param(ks_pvalues, names),
        "sbc_c2st_ranks": c2st_ranks,
        "sbc_c2st_dap": c2st_dap,
        "bias": _per_param(residual.mean(axis=0), names),
        "rmse": _per_param(np.sqrt(np.mean(residual**2, axis=0)), names),
        "mean_abs_residual_unit": _per_param(abs_unit.mean(axis=0), names),
        "mean_halfwidth_68": _per_param(stats["halfwidth_68"].mean(axis=0), names),
        "mean_width_68": _per_param(2 * stats["halfwidth_68"].mean(axis=0), names),
        "pull_mean": _per_param(np.nanmean(pulls, axis=0), names),
        "pull_std": _per_param(np.nanstd(pulls, axis=0), names),
        "n_without_pull": n_no_pull,
        "pull_convention": PULL_CONVENTION,
        "coverage": {
            "levels": levels.tolist(),
            "marginal": marginal.tolist(),
            "joint": joint.tolist(),
            "parameters": names,
        },
        "tarp": {"alpha": alpha.numpy().tolist(), "ecp": ecp.numpy().tolist()},
        "seconds": float(time.perf_counter() - start),
    }
    arrays = {
        "samples": samples.astype(np.float32),
        "theta_true": theta_test,
        **{key: value for key, value in stats.items()},
        "residual": residual,
        "residual_unit": residual / width,
        "residual_fractional": residual_fractional,
        "pulls": pulls,
        "pulls_full_width": pulls / 2.0,
        "quantiles": quantiles,
        "hpd_level": hpd,
        "sbc_ranks": ranks.numpy(),
        "coverage_levels": levels,
        "marginal_coverage": marginal,
        "joint_coverage": joint,
        "tarp_alpha": alpha.numpy(),
        "tarp_ecp": ecp.numpy(),
    }
    logger.info(
        "diagnostics: max coverage error %.3f (joint %.3f), TARP error %.3f, min SBC KS p %.3g",
        max(metrics["coverage_error"].values()), metrics["joint_coverage_error"], metrics["tarp_error"],
        min(metrics["sbc_ks_pvalue"].values()),
    )
    return metrics, arrays


# ----------------------------------------------------------------------------------------------------------------
# writers
# ----------------------------------------------------------------------------------------------------------------
def write_metrics(metrics: Mapping[str, Any], path: str | Path) -> None:
    """``results/diagnostics/metrics.json`` (atomic; NaN written as null)."""

    def clean(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        if isinstance(value, float) and not np.isfinite(value):
            return None
        return value

    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(clean(dict(metrics)), indent=2, allow_nan=False) + "\n")


def write_test_posteriors(arrays: Mapping[str, np.ndarray], path: str | Path) -> None:
    """``results/diagnostics/test_posteriors.npz`` (atomic, plain numeric arrays, loadable without pickle)."""
    with atomic_write(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **{k: np.asarray(v) for k, v in arrays.items()})


def write_test_metrics_table(metrics: Mapping[str, Any], path: str | Path) -> None:
    """``results/tables/test_metrics.csv``: one row per parameter (physical units), columns
    :data:`TEST_METRICS_COLUMNS`; global numbers (joint coverage, TARP) repeat on every row."""
    with atomic_write(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(TEST_METRICS_COLUMNS)
        for name in metrics.get("parameters", PARAMETER_NAMES):
            spec = REGISTRY[name]
            row = {
                "parameter": spec.physical_name,
                "dial_name": name,
                "unit": spec.unit,
                "n_test": metrics["n_test"],
            }
            for key in TEST_METRICS_COLUMNS[4:]:
                value = metrics.get(key)
                row[key] = value.get(name) if isinstance(value, Mapping) else value
            writer.writerow([_fmt(row[c]) for c in TEST_METRICS_COLUMNS])


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if np.isfinite(value) else "nan"
    return str(value)


def noisy_test_histograms(x: np.ndarray, noise: Mapping[str, Any], data: Any, seed: int) -> np.ndarray:
    """The test histograms a network is diagnosed on: x itself for a noise-free network; for a noise-aware one
    (``noise`` = its metadata block, mode ``covariance``) x = sim(theta) + N(0, C) with the covariance components it
    was trained with, so the test data follow the likelihood it learned (draws: ``rng(seed, "diagnostics",
    "noise")``, method ``svd``). ``data`` is the configured measurement (:func:`nutune.measurements.load_data`)
    or, for the T2K measurement, its number of bins."""
    if noise["mode"] != "covariance":
        return x
    from nutune.io import rng
    from nutune.noise import covariance_noise
    from nutune.resources import load_t2k

    data = load_t2k(data) if isinstance(data, int) else data  # an int: the T2K binning (older callers)
    cov = data.cov(noise["components"])
    logger.info("noise-aware network: test histograms get N(0, C) noise with C = %s", "+".join(noise["components"]))
    return x + covariance_noise(rng(seed, "diagnostics", "noise"), cov, len(x), method="svd")
