"""Learning curve: calibration and accuracy of NPE as a function of the number of training simulations.

For every n in ``learning_curve.n_train`` the first n rows of the training bank (the bank rows are i.i.d. prior
draws, so a prefix is a uniform random subset and the subsets are nested) are used to train an NPE with
:func:`nutune.npe.train_npe` (same network settings, same seed). Each network is then measured

* on the disjoint test set with the workflow's own diagnostics (:func:`nutune.diagnostics.run_diagnostics`, the
  numbers of ``results/tables/test_metrics.csv``): marginal and joint (HPD) coverage errors, TARP and SBC rank
  KS p-values computed by sbi; and
* against exact reference posteriors (:mod:`nutune.reference`) with the C2ST on every reference observation (only
  meaningful for a noise-aware NPE with the reference's covariance; see :mod:`nutune.reference`).

Output: ``results/tables/learning_curve.csv`` (one row per n) and ``results/figures/learning_curve.pdf|png``.
This is heavy (one full training per n) and is therefore behind ``learning_curve.activate`` (false by default).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nutune.io import atomic_write, derive_seed

__all__ = [
    "npe_trainer",
    "run_learning_curve",
    "plot_learning_curve",
]

log = logging.getLogger(__name__)

#: Trains on (theta, x) with a seed and returns the posterior (a :class:`nutune.npe.NutunePosterior`).
Trainer = Callable[[np.ndarray, np.ndarray, int], Any]


def npe_trainer(
    settings: Any,
    prior_low: Sequence[float],
    prior_high: Sequence[float],
    noise_cov: np.ndarray | None = None,
    dial_names: Sequence[str] | None = None,
) -> Trainer:
    """A :data:`Trainer` that reuses :func:`nutune.npe.train_npe` (one member) and returns its posterior.

    Args:
        settings: The ``npe`` config section (dataclass or mapping; ``noise`` decides whether ``noise_cov`` is used).
        prior_low: Prior box lower bounds.
        prior_high: Prior box upper bounds.
        noise_cov: Covariance for ``npe.noise: covariance``.
        dial_names: The free dials (default the four builtin ones).

    Returns:
        ``train(theta, x, seed) -> NutunePosterior``.
    """
    from nutune.npe import NutunePosterior, train_npe

    def train(theta: np.ndarray, x: np.ndarray, seed: int) -> NutunePosterior:
        trained = train_npe(theta, x, prior_low=prior_low, prior_high=prior_high, settings=settings, seed=seed,
                            noise_cov=noise_cov, dial_names=dial_names)
        return NutunePosterior.from_trained(trained)

    return train


def run_learning_curve(
    theta_train: np.ndarray,
    x_train: np.ndarray,
    theta_test: np.ndarray,
    x_test: np.ndarray,
    n_train: Sequence[int],
    trainer: Trainer,
    *,
    seed: int,
    references: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    n_test: int | None = None,
    num_posterior_samples: int = 500,
    n_levels: int = 21,
    n_ref_samples: int = 2000,
    out_csv: str | Path | None = None,
    out_figure: str | Path | None = None,
) -> list[dict[str, Any]]:
    """Train on nested prefixes of the training bank and measure calibration and C2ST for each size.

    Args:
        theta_train: Training parameters (N, d).
        x_train: Training histograms (N, bins).
        theta_test: Disjoint test parameters (M, d).
        x_test: Test histograms (M, bins) (for a noise-aware NPE: with noise, as the diagnostics use them).
        n_train: Training-set sizes; each must be ≤ N.
        trainer: ``train(theta, x, seed) -> posterior``; :func:`npe_trainer`.
        seed: Stage seed; the network seed is the same for every n (``derive_seed(seed, "train")``) so only the
            data size changes.
        references: Observation name → (x_obs, reference samples (S, d)) for the C2ST column; may be empty.
        n_test: Use the first ``n_test`` test rows (``None``: all).
        num_posterior_samples: Posterior samples per test row.
        n_levels: Credibility levels.
        n_ref_samples: NPE samples per reference observation for the C2ST.
        out_csv: ``results/tables/learning_curve.csv`` (atomic) or ``None``.
        out_figure: ``results/figures/learning_curve.pdf`` (+ PNG) or ``None``.

    Returns:
        One row per n: ``n_train``, ``epochs``, ``training_seconds``, ``coverage_error_<p>``,
        ``coverage_error_max``, ``joint_coverage_error``, ``tarp_error``, ``sbc_ks_pvalue_min``, ``c2st_<obs>``,
        ``c2st_mean``.
    """
    from nutune.diagnostics import run_diagnostics
    from nutune.reference import reference_c2st

    references = references or {}
    sizes = sorted(int(n) for n in n_train)
    if sizes[-1] > len(theta_train):
        raise ValueError(f"learning_curve.n_train has {sizes[-1]} > {len(theta_train)} training simulations")
    m = len(theta_test) if n_test is None else min(n_test, len(theta_test))
    diagnostics = {"num_posterior_samples": num_posterior_samples, "coverage_levels": n_levels}
    rows: list[dict[str, Any]] = []
    for n in sizes:
        log.info("learning curve: training on %d simulations", n)
        posterior = trainer(theta_train[:n], x_train[:n], derive_seed(seed, "train"))
        metrics, _ = run_diagnostics(posterior, theta_test[:m], x_test[:m], diagnostics, derive_seed(seed, "test", n),
                                     sbc_c2st=False)
        trained = posterior.metadata[0]["results"]
        row: dict[str, Any] = {"n_train": n, "epochs": trained["epochs"],
                               "training_seconds": round(trained["training_seconds"], 1)}
        for p, v in metrics["coverage_error"].items():
            row[f"coverage_error_{p}"] = v
        row["coverage_error_max"] = max(metrics["coverage_error"].values())
        row["joint_coverage_error"] = metrics["joint_coverage_error"]
        row["tarp_error"] = metrics["tarp_error"]
        row["sbc_ks_pvalue_min"] = min(metrics["sbc_ks_pvalue"].values())
        c2sts = []
        for name, (x_obs, ref) in references.items():
            npe = posterior.sample(n_ref_samples, np.asarray(x_obs), derive_seed(seed, "ref", n, name))
            c = reference_c2st(npe, ref, derive_seed(seed, "c2st", n, name), n_max=n_ref_samples)
            row[f"c2st_{name}"] = c
            c2sts.append(c)
        row["c2st_mean"] = float(np.mean(c2sts)) if c2sts else float("nan")
        log.info("n_train=%d: max coverage error %.3f, C2ST %.3f", n, row["coverage_error_max"], row["c2st_mean"])
        rows.append(row)
    if out_csv is not None:
        import pandas as pd

        with atomic_write(out_csv, suffix=".csv") as tmp:
            pd.DataFrame(rows).to_csv(tmp, index=False, float_format="%.6g")
    if out_figure is not None:
        plot_learning_curve(rows, out_figure)
    return rows


def plot_learning_curve(rows: Sequence[Mapping[str, Any]], out_pdf: str | Path) -> None:
    """Coverage errors (per parameter, joint, TARP) and mean C2ST against n_train (log x); PDF + PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nutune.figures import save_figure

    n = [int(r["n_train"]) for r in rows]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
    for k in rows[0]:
        if k.startswith("coverage_error_") and k != "coverage_error_max":
            a1.plot(n, [r[k] for r in rows], "o-", lw=1, ms=3, label=k.removeprefix("coverage_error_"))
    a1.plot(n, [r["joint_coverage_error"] for r in rows], "s--", color="k", lw=1, label="joint")
    a1.plot(n, [r["tarp_error"] for r in rows], "^:", color="gray", lw=1, label="TARP")
    a1.axhline(0.05, color="C3", ls="--", lw=1, label="gate 0.05")
    a1.set_xscale("log")
    a1.set_xlabel("training simulations")
    a1.set_ylabel("max |coverage - nominal|")
    a1.legend(fontsize=7)
    c = [float(r.get("c2st_mean", np.nan)) for r in rows]
    a2.plot(n, c, "o-", color="C0", label="mean C2ST vs reference")
    a2.axhline(0.5, color="k", lw=1)
    a2.axhline(0.55, color="C3", ls="--", lw=1, label="goal 0.55")
    a2.set_xscale("log")
    a2.set_xlabel("training simulations")
    a2.set_ylabel("C2ST accuracy")
    a2.legend(fontsize=7)
    save_figure(fig, out_pdf, dpi=120, tight=False)
