"""Training seconds per epoch on CUDA vs CPU at the paper's batch size (512) and at a large batch (8192).

Runs only where ``torch.cuda.is_available()``; otherwise it records that no GPU was available (and why nothing was
measured) instead of a number. On the project's CI/developer machines there is no GPU; the ``device`` tool lends one
to some sessions, which run ``python -m benchmarks gpu`` there.
"""

from __future__ import annotations

import time

import numpy as np
import torch


def _epochs(theta: np.ndarray, x: np.ndarray, low: np.ndarray, high: np.ndarray, device: str, batch: int,
            epochs: int) -> list[float]:
    from sbi.inference import NPE
    from sbi.neural_nets import posterior_nn
    from sbi.utils import BoxUniform

    torch.manual_seed(0)
    embedding = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 45), torch.nn.ReLU(), torch.nn.Linear(45, 32),
                                    torch.nn.ReLU(), torch.nn.Linear(32, 24))
    builder = posterior_nn(model="maf", hidden_features=55, num_transforms=6, embedding_net=embedding)
    prior = BoxUniform(torch.zeros(4, device=device), torch.ones(4, device=device), device=device)
    inference = NPE(prior=prior, density_estimator=builder, device=device, show_progress_bars=False)
    u = torch.as_tensor((theta - low) / (high - low), dtype=torch.float32)
    xs = torch.as_tensor(x / x.max(), dtype=torch.float32)
    inference.append_simulations(u, xs, data_device="cpu")
    inference.train(training_batch_size=batch, learning_rate=1e-2, max_num_epochs=epochs, stop_after_epochs=10**6)
    return list(inference._summary["epoch_durations_sec"])


def run(quick: bool = False, n: int = 200_000, epochs: int = 4) -> dict:
    """CUDA vs CPU seconds per epoch (median of epochs after the first) at batch 512 and 8192."""
    if not torch.cuda.is_available():
        return {"available": False, "reason": "torch.cuda.is_available() is False on this machine (CPU-only build "
                "or no GPU); run `python -m benchmarks gpu` on a GPU machine to measure."}
    from .training import make_data

    if quick:
        n, epochs = 5000, 2
    theta, x, low, high = make_data(n)
    out: dict = {"available": True, "device_name": torch.cuda.get_device_name(0), "n_train": n}
    for batch in (512, 8192):
        for device in ("cpu", "cuda"):
            t0 = time.perf_counter()
            d = _epochs(theta, x, low, high, device, batch, epochs)
            tail = d[1:] if len(d) > 1 else d
            out[f"{device}_batch{batch}"] = {"median_s_per_epoch": float(np.median(tail)), "min_s": min(tail),
                                             "max_s": max(tail), "wall_s": time.perf_counter() - t0}
        out[f"speedup_batch{batch}"] = (out[f"cpu_batch{batch}"]["median_s_per_epoch"]
                                        / out[f"cuda_batch{batch}"]["median_s_per_epoch"])
    return out
