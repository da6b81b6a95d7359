"""Inference cost with a trained NPE: 10 000 posterior samples for one observation, the 1 000 T2K throws and the
test-set diagnostics (1 000 rows x 1 000 draws: coverage, HPD levels, sbi's TARP and SBC), with peak memory.

A network with the paper's architecture is trained briefly (a few epochs: the cost of sampling a MAF does not
depend on how well it is trained) on built-in simulations, then timed with the workflow's own functions.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch

from .common import peak_rss_mb, timeit
from .training import PAPER_NET, make_data


def run(quick: bool = False, n_samples: int = 10_000, n_throws: int = 1000, n_test: int = 1000) -> dict:
    """Time posterior sampling, covariance throws and the test-set diagnostics (median/min/max of repeats)."""
    from nutune.diagnostics import run_diagnostics
    from nutune.inference import covariance_throws
    from nutune.npe import NutunePosterior, train_npe
    from nutune.resources import load_t2k

    torch.set_num_threads(1)
    n_train = 3000 if quick else 20_000
    if quick:
        n_samples, n_throws, n_test = 500, 20, 30
    theta, x, low, high = make_data(n_train)
    settings = SimpleNamespace(**PAPER_NET, density_estimator="maf", stop_after_epochs=10**6, max_num_epochs=3,
                               x_transform="max", noise="none", noise_components=[], n_ensemble=1, device="cpu")
    posterior = NutunePosterior.from_trained(
        train_npe(theta, x, prior_low=low, prior_high=high, settings=settings, seed=0))
    t2k = load_t2k(58)
    x_obs = np.asarray(t2k.values)
    sampling = timeit(lambda: posterior.sample(n_samples, x_obs, seed=1), repeats=3 if quick else 5)
    throws = timeit(lambda: covariance_throws(posterior, x_obs, t2k.cov_total, n_throws, seed=2),
                    repeats=1 if quick else 3, warmup=0)
    rss_before_diagnostics = peak_rss_mb()
    theta_test, x_test, _, _ = make_data(n_test, seed=7)
    draws = 100 if quick else 1000
    diagnostics = timeit(
        lambda: run_diagnostics(posterior, theta_test, x_test, {"num_posterior_samples": draws, "coverage_levels": 21},
                                seed=3, sbc_c2st=False),
        repeats=1, warmup=0)
    return {"n_samples": n_samples, "sample_one_observation": sampling, "n_throws": n_throws,
            "t2k_throws": throws, "n_train_for_network": n_train, "diagnostics_rows": n_test,
            "diagnostics_draws_per_row": draws, "test_set_diagnostics": diagnostics,
            "peak_rss_mb_before_diagnostics": rss_before_diagnostics, "peak_rss_mb_after_diagnostics": peak_rss_mb()}
