"""Is an observed histogram one the simulator could have produced? (issue 13 item 3)

An NPE answers for any input, also for one unlike everything it was trained on (GENIE's or NuWro's curve, real
data with its noise). Four tests per observation, each with a p-value; ``results/tables/misspecification.csv`` has
one row per observation and a verdict, and the posterior tables carry it as a ``misspecified`` column.

* **MMD in x space** and **MMD in the embedding space** (sbi ``calc_misspecification_mmd``; Schmitt et al. 2023,
  "Detecting model misspecification in amortized Bayesian inference"): the MMD between the observation and
  ``n_reference`` simulations of the disjoint test bank, against its distribution for one simulation vs the rest
  (``n_shuffle`` shuffles). x is the network's input (``NutunePosterior.transform_x``); the embedding is the first
  member's trained embedding net (sbi's z-scoring + the MLP). The reference simulations are what the network was
  trained on: noise-free for ``npe.noise: none``, with N(0, C) added for a noise-aware network.
* **Log-probability test** (sbi ``calc_misspecification_logprob``): a marginal flow p(x) (sbi ``MarginalTrainer``, MAF)
  trained on ``n_marginal`` training-bank rows; p = fraction of test-bank simulations with log p(x) below the
  observation's.
* **Posterior-predictive χ² check**: for ``ppc_draws`` posterior draws θᵢ the built-in prediction μ(θᵢ) and
  χ²ᵢ = (x − μ(θᵢ))ᵀ C⁻¹ (x − μ(θᵢ)) with C the T2K total covariance (the FULL χ² of ``chi2.csv``; a user's
  ``measurement`` is judged with its own covariance, :func:`nutune.forward.observation_covariance`). Replicated
  data x_rep ~ N(μ(θᵢ), C) have χ²_rep ~ χ²(bins) exactly, so the posterior-predictive p-value
  P(χ²_rep ≥ χ²_obs) is the mean over i of the χ²(bins) survival function at χ²ᵢ (Gelman, Meng & Stern 1996).

Verdict: ``misspecified`` when any p-value is below ``misspecification.alpha`` (no multiplicity correction: with four
tests a well-specified observation is flagged with probability up to 4α). What the tests can and cannot say: the
MMD and log-prob tests ask whether x looks like a *training* input (a noise-free network's inputs have no noise, so
any real measurement fails them for such a network: its answer on data is an extrapolation); the
posterior-predictive check asks whether the simulator at the inferred θ explains x within the data's covariance.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "MISSPECIFICATION_COLUMNS",
    "mmd_tests",
    "logprob_test",
    "train_marginal",
    "save_marginal",
    "load_marginal",
    "posterior_predictive_check",
    "misspecification_row",
    "misspecified_flags",
    "misspecification_tests",
]

MISSPECIFICATION_COLUMNS = (
    "observation",
    "mmd_x",
    "mmd_x_pvalue",
    "mmd_embedding",
    "mmd_embedding_pvalue",
    "logprob",
    "logprob_pvalue",
    "ppc_chi2_median",
    "ppc_pvalue",
    "n_bins",
    "alpha",
    "failed",
    "misspecified",
)


def mmd_tests(
    posterior: Any, x_obs: np.ndarray, x_reference: np.ndarray, *, n_shuffle: int, seed: int
) -> dict[str, float]:
    """MMD statistic and p-value in x space and in the first member's embedding space (sbi)."""
    from sbi.diagnostics import calc_misspecification_mmd

    from nutune.io import derive_seed
    from nutune.npe.sampling import seeded_torch

    z_obs, z_ref = posterior.transform_x(x_obs), posterior.transform_x(x_reference)
    trainer = SimpleNamespace(_neural_net=posterior.members[0].posterior_estimator)
    out = {}
    for mode, key in (("x_space", "mmd_x"), ("embedding", "mmd_embedding")):
        with seeded_torch(posterior.device, derive_seed(seed, "misspecification", key)):
            p, (_, mmd) = calc_misspecification_mmd(
                z_obs, z_ref, inference=trainer, mode=mode, n_shuffle=n_shuffle, max_samples=len(x_reference)
            )
        out[key], out[f"{key}_pvalue"] = float(mmd), float(p)
    return out


def train_marginal(posterior: Any, x_train: np.ndarray, *, seed: int, max_num_epochs: int = 200):
    """sbi ``MarginalTrainer`` (MAF) on the network's inputs of ``x_train``: the estimate of p(x)."""
    from sbi.inference import MarginalTrainer

    from nutune.io import derive_seed
    from nutune.npe.sampling import seeded_torch

    with seeded_torch(posterior.device, derive_seed(seed, "misspecification", "marginal")):
        trainer = MarginalTrainer(density_estimator=MARGINAL_FLOW, device=posterior.device,
                                  show_progress_bars=False)
        return trainer.append_samples(posterior.transform_x(x_train)).train(max_num_epochs=max_num_epochs)


#: The marginal flow's sbi density estimator (``MarginalTrainer(density_estimator=...)``, zuko MAF).
MARGINAL_FLOW = "maf"


def save_marginal(marginal: Any, path: str) -> None:
    """Write the trained marginal flow's ``state_dict`` (its flow and z-scoring, contiguous CPU tensors) as
    safetensors, atomically (rule ``marginal_flow``: trained once, read by every observation's tests)."""
    from safetensors.torch import save_file

    from nutune.io import atomic_write

    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in marginal.state_dict().items()}
    with atomic_write(path) as tmp:
        save_file(state, str(tmp), metadata={"estimator": MARGINAL_FLOW, "bins": str(marginal.input_shape[-1])})


def load_marginal(path: str, device: str = "cpu"):
    """The marginal flow of :func:`save_marginal`, rebuilt with sbi's builder and its saved state (exactly the
    trained network: the state holds every weight and the z-scoring, so the batch it is built on only fixes
    the input width). Raises ValueError for a file that is not one."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file
    from sbi.neural_nets.factory import ZukoFlowType, marginal_nn

    with safe_open(path, framework="pt") as handle:
        meta = handle.metadata() or {}
    if meta.get("estimator") != MARGINAL_FLOW or not str(meta.get("bins", "")).isdigit():
        raise ValueError(f"{path}: not a nutune marginal flow (metadata {meta})")
    net = marginal_nn(model=ZukoFlowType(MARGINAL_FLOW))(torch.zeros(2, int(meta["bins"])) + torch.arange(2.0)[:, None])
    net.load_state_dict(load_file(path, device="cpu"))
    return net.to(device).eval()


def logprob_test(
    posterior: Any, marginal: Any, x_obs: np.ndarray, x_reference: np.ndarray
) -> dict[str, float]:
    """log p(x_obs) under the marginal flow and its p-value among the reference simulations (sbi)."""
    import warnings

    import torch
    from sbi.diagnostics import calc_misspecification_logprob

    z_obs, z_ref = posterior.transform_x(x_obs), posterior.transform_x(x_reference)
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # sbi's C2ST check of the marginal warns for a rough p(x); the number stays
        p, _ = calc_misspecification_logprob(z_ref, z_obs, marginal)
    with torch.no_grad():
        value = float(marginal.log_prob(z_obs).item())
    return {"logprob": value, "logprob_pvalue": float(p)}


def posterior_predictive_check(
    samples: np.ndarray, x_obs: np.ndarray, predict, cov: np.ndarray, *, draws: int
) -> dict[str, float]:
    """Posterior-predictive χ² p-value (module docstring) from the first ``draws`` posterior samples."""
    from scipy.stats import chi2 as chi2_dist

    theta = np.asarray(samples, dtype=float)[:draws]
    residual = predict(theta) - np.asarray(x_obs, dtype=float)[None, :]
    inv = np.linalg.inv(cov)
    chi2 = np.einsum("ij,jk,ik->i", residual, inv, residual)
    return {
        "ppc_chi2_median": float(np.median(chi2)),
        "ppc_pvalue": float(np.mean(chi2_dist.sf(chi2, cov.shape[0]))),
    }


def misspecification_row(
    name: str, numbers: Mapping[str, float], *, alpha: float, bins: int
) -> dict[str, Any]:
    """One table row: the numbers, the tests below ``alpha`` and the verdict."""
    failed = [
        key[: -len("_pvalue")] for key in sorted(numbers) if key.endswith("_pvalue") and numbers[key] < alpha
    ]
    return {
        "observation": name,
        **numbers,
        "n_bins": bins,
        "alpha": alpha,
        "failed": " ".join(failed),
        "misspecified": bool(failed),
    }


def misspecified_flags(paths: list[str] | None) -> dict[str, str]:
    """observation → ``yes (<failed tests>)`` / ``no`` from misspecification rows (empty without files)."""
    if not paths:
        return {}
    table = pd.concat([pd.read_csv(p, keep_default_na=False) for p in paths], ignore_index=True)
    return {
        row["observation"]: (f"yes ({row['failed']})" if str(row["misspecified"]) == "True" else "no")
        for _, row in table.iterrows()
    }


def misspecification_tests(posterior, marginal, x_obs: np.ndarray, x_reference: np.ndarray, samples: np.ndarray,
                           simulator, cov: np.ndarray, *, settings, seed: int) -> dict[str, float]:
    """The four tests of one observation (module docstring): MMD in x and in the embedding, the log-probability
    test against the marginal flow ``marginal``, and the posterior-predictive χ² check of ``samples`` with
    ``simulator`` (θ → prediction) and ``cov`` (``settings``: ``cfg.misspecification``)."""
    numbers = mmd_tests(posterior, x_obs, x_reference, n_shuffle=settings.n_shuffle, seed=seed)
    numbers |= logprob_test(posterior, marginal, x_obs, x_reference)
    numbers |= posterior_predictive_check(samples, x_obs, simulator, cov, draws=settings.ppc_draws)
    return numbers
