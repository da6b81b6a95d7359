"""Sampling the (ensemble) flow inside the prior box: seeded proposals and the rejection sampler with a fallback.

sbi samples from torch's global generator, so every draw here happens inside :func:`seeded_torch`. Ensemble members
are mixed with equal weights (:func:`propose`); :func:`truncated_sample` rejects proposals outside the unit box.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["seeded_torch", "propose", "truncated_sample"]

logger = logging.getLogger("nutune.npe")


@contextlib.contextmanager
def seeded_torch(device: str, seed: int) -> Iterator[None]:
    """Fork torch's RNG (CPU, and the GPU in use) and seed it: sbi samples from the global RNG."""
    devices = [torch.device(device).index or 0] if device.startswith("cuda") else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield


def propose(members: Sequence[Any], m: int, x_transformed: torch.Tensor) -> torch.Tensor:
    """m unconstrained flow draws per observation, (m, n_obs, 4) in u space, members mixed with equal weights."""
    n_members = len(members)
    counts = torch.bincount(torch.randint(n_members, (m,)), minlength=n_members)
    # no_grad: sbi's sample_batched keeps the autograd graph of the flow's inverse passes (~45 kB per draw,
    # measured: 4.6 GB for 1e5 draws of the paper network), which the caller never differentiates.
    with torch.no_grad(), warnings.catch_warnings():
        # sbi warns that unconstrained draws may leave the prior; the caller rejects or clips them.
        warnings.filterwarnings("ignore", message=".*lie outside the prior support.*")
        warnings.filterwarnings("ignore", message="Capping max_sampling_batch_size.*")
        draws = [
            member.sample_batched((int(c),), x=x_transformed, show_progress_bars=False,
                                  reject_outside_prior=False)
            for member, c in zip(members, counts.tolist(), strict=True)
            if c > 0
        ]
    samples = torch.cat(draws, dim=0)
    if n_members > 1:  # interleave members so any prefix of the samples is a mixture draw
        samples = samples[torch.randperm(m, device=samples.device)]
    return samples


def truncated_sample(posterior: Any, n: int, x_transformed: torch.Tensor, seed: int) -> tuple[torch.Tensor, int]:
    """n draws per observation in u space, sbi layout (n, n_obs, 4), and how many observations needed the fallback.

    ``posterior`` supplies ``_seeded(seed)``, ``_propose(m, x)``, ``max_rejection_rounds`` and
    ``max_proposals_per_call`` (a :class:`nutune.npe.NutunePosterior`).

    Rejection sampling of the (ensemble) flow against the unit box, in rounds of ``max(n, 1000)`` proposals per
    observation. sbi's own rejection loop never ends when an observation's posterior lies (almost) entirely
    outside the prior (sbi issues #741, #1705) — which happens for covariance throws of the data far from any
    simulation. Here, after ``max_rejection_rounds`` rounds the missing draws of such observations are the
    last round's proposals projected onto the box (clipped): an approximation of the truncated posterior that is
    concentrated on the box face anyway. An observation whose acceptance so far (doubled) cannot fill its n draws
    in the remaining rounds gets that fallback at once. The number of observations that needed it is logged.
    """
    n_obs = x_transformed.shape[0]
    per_round = max(int(n), 1000)
    chunk = max(1, posterior.max_proposals_per_call // per_round)
    if n_obs > chunk:  # bound memory: the flow evaluates per_round x n_obs conditioned draws at once
        with posterior._seeded(seed):
            chunk_seeds = torch.randint(0, 2**31 - 1, ((n_obs + chunk - 1) // chunk,)).tolist()
        parts, fallbacks = [], 0
        for k, start in enumerate(range(0, n_obs, chunk)):
            part, part_fallbacks = truncated_sample(posterior, n, x_transformed[start:start + chunk], chunk_seeds[k])
            parts.append(part)
            fallbacks += part_fallbacks
        return torch.cat(parts, dim=1), fallbacks
    rounds = posterior.max_rejection_rounds
    kept: list[list[torch.Tensor]] = [[] for _ in range(n_obs)]
    have = np.zeros(n_obs, dtype=int)
    hopeless = np.zeros(n_obs, dtype=bool)
    with posterior._seeded(seed):
        for round_index in range(rounds):
            todo = np.flatnonzero((have < n) & ~hopeless)
            if todo.size == 0:
                break
            proposals = posterior._propose(per_round, x_transformed[todo])
            inside = ((proposals >= 0) & (proposals <= 1)).all(dim=-1)  # (per_round, len(todo))
            for j, obs in enumerate(todo):
                accepted = proposals[inside[:, j], j]
                take = accepted[: n - have[obs]]
                kept[obs].append(take)
                have[obs] += take.shape[0]
            # Give up early on observations that cannot finish within the remaining rounds even at twice the
            # acceptance seen so far (covariance throws far outside the simulations): they get the fallback
            # below now instead of after max_rejection_rounds rounds.
            rounds_done = round_index + 1
            rounds_left = rounds - rounds_done
            rate = have / (rounds_done * per_round)
            hopeless |= (have < n) & (have + 2.0 * rate * per_round * rounds_left < n)
        short = np.flatnonzero(have < n)
        if short.size:
            proposals = posterior._propose(per_round, x_transformed[short]).clamp(0.0, 1.0)
            for j, obs in enumerate(short):
                kept[obs].append(proposals[: n - have[obs], j])
            logger.warning(
                "%d of %d observation(s) have too little posterior mass inside the prior box to fill %d draws "
                "within %d rounds of %d proposals: their missing draws are flow proposals clipped to the box",
                short.size, n_obs, n, rounds, per_round)
    return torch.stack([torch.cat(k, dim=0) for k in kept], dim=1), int(short.size)
