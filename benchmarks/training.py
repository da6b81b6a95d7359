"""NPE training on 200 000 × 58 with the paper's network: nutune vs a plain ``sbi`` script, same data, same run.

The network is the P25 one (paper.md §6): embedding MLP 58→45→ReLU→32→ReLU→24, MAF with 6 transforms × 55 hidden
features, batch 512, learning rate 1e-2, 10 % validation. Seconds per epoch are read from sbi's own training summary
(``_summary["epoch_durations_sec"]``) for both, so the ratio compares like with like. ``epochs`` fixes the number
of epochs for the per-epoch comparison (early stopping disabled); ``to_convergence`` additionally trains nutune with
the paper's patience (45) and records epochs and wall time to convergence.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

PAPER_NET = {"embedding_hidden": [45, 32], "embedding_dim": 24, "num_transforms": 6, "hidden_features": 55,
             "batch_size": 512, "learning_rate": 1e-2, "validation_fraction": 0.1}


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Uniform draws from the 2026 paper's prior box and the built-in simulator's 58-bin histograms."""
    import nutune

    low = np.array([0.5287, 0.0, 0.0, 0.0])
    high = np.array([1.3938, 3.0, 1.0, 1.5])
    theta = np.random.default_rng(seed).uniform(low, high, size=(n, 4))
    return theta, nutune.simulate(theta), low, high


def plain_sbi_epochs(theta: np.ndarray, x: np.ndarray, low: np.ndarray, high: np.ndarray, epochs: int,
                     seed: int = 0) -> list[float]:
    """The plain-sbi reference: what a user writes by hand with sbi 0.27 (the authors' notebook recipe)."""
    from sbi.inference import NPE
    from sbi.neural_nets import posterior_nn
    from sbi.utils import BoxUniform

    torch.manual_seed(seed)
    embedding = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 45), torch.nn.ReLU(), torch.nn.Linear(45, 32),
                                    torch.nn.ReLU(), torch.nn.Linear(32, 24))
    builder = posterior_nn(model="maf", hidden_features=55, num_transforms=6, embedding_net=embedding)
    prior = BoxUniform(torch.zeros(4), torch.ones(4))
    inference = NPE(prior=prior, density_estimator=builder, show_progress_bars=False)
    u = torch.as_tensor((theta - low) / (high - low), dtype=torch.float32)
    xs = torch.as_tensor(x / x.max(), dtype=torch.float32)
    inference.append_simulations(u, xs)
    inference.train(training_batch_size=512, learning_rate=1e-2, validation_fraction=0.1,
                    max_num_epochs=epochs, stop_after_epochs=10**6)
    return list(inference._summary["epoch_durations_sec"])


def nutune_epochs(theta: np.ndarray, x: np.ndarray, low: np.ndarray, high: np.ndarray, epochs: int | None,
                  seed: int = 0, patience: int = 45) -> dict:
    """Train with ``nutune.npe.train_npe`` (the workflow's code path) and return its timing record."""
    from types import SimpleNamespace

    from nutune.npe import train_npe

    settings = SimpleNamespace(**PAPER_NET, density_estimator="maf", stop_after_epochs=patience if epochs is None
                               else 10**6, max_num_epochs=epochs or 2000, x_transform="max", noise="none",
                               noise_components=[], n_ensemble=1, device="cpu")
    t0 = time.perf_counter()
    trained = train_npe(theta, x, prior_low=low, prior_high=high, settings=settings, seed=seed)
    wall = time.perf_counter() - t0
    return {"trained": trained, "wall_s": wall}


def _epoch_stats(durations: list[float]) -> dict:
    d = durations[1:] if len(durations) > 2 else durations  # first epoch includes lazy initialisation
    return {"median_s": statistics.median(d), "min_s": min(d), "max_s": max(d), "epochs": len(durations)}


def run(quick: bool = False, n: int = 200_000, epochs: int = 5, to_convergence: bool = False) -> dict:
    """Benchmark seconds per epoch (nutune vs plain sbi) and, optionally, time to convergence."""
    torch.set_num_threads(1)
    if quick:
        n, epochs = 3000, 3
    theta, x, low, high = make_data(n)
    plain = _epoch_stats(plain_sbi_epochs(theta, x, low, high, epochs))
    ours = nutune_epochs(theta, x, low, high, epochs)
    ours_stats = _epoch_stats(ours["trained"].loss_curve["seconds"])
    result = {"n_train": n, "epochs_timed": epochs, "network": PAPER_NET, "torch_threads": 1,
              "plain_sbi_seconds_per_epoch": plain, "nutune_seconds_per_epoch": ours_stats,
              "ratio_nutune_over_plain": ours_stats["median_s"] / plain["median_s"]}
    if to_convergence:
        conv = nutune_epochs(theta, x, low, high, None)
        result["to_convergence"] = {"wall_s": conv["wall_s"], "epochs": len(conv["trained"].loss_curve["seconds"]),
                                    "patience": 45}
    return result
