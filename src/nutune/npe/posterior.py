"""The posterior of the four physical parameters given a histogram, from one or several NPE members."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from nutune.npe.calibration import detach_calibration
from nutune.npe.preprocessing import apply_x_transform
from nutune.npe.sampling import propose, seeded_torch, truncated_sample
from nutune.npe.spec import same_value
from nutune.npe.training import TrainedNPE

__all__ = ["NutunePosterior"]


class NutunePosterior:
    """Posterior of the four physical parameters given a histogram, from one or several NPE members.

    Internally everything happens in the unit box u = (theta - low)/(high - low) with transformed x, where
    :attr:`sbi_posterior` (an sbi ``DirectPosterior``, or an ``EnsemblePosterior`` mixing members with equal
    weights) lives; use :meth:`to_unit`, :meth:`from_unit` and :meth:`transform_x` to hand data to sbi diagnostics.
    Public methods take and return physical values (numpy).
    """

    def __init__(self, estimators: Sequence[nn.Module], metadata: Sequence[Mapping[str, Any]], device: str = "cpu"):
        """Wrap already-loaded density estimators (use :func:`load_posterior` or :meth:`from_trained`)."""
        from sbi.inference.posteriors import DirectPosterior, EnsemblePosterior
        from sbi.utils import BoxUniform

        if not estimators or len(estimators) != len(metadata):
            raise ValueError("need one metadata dict per density estimator (at least one)")
        first = metadata[0]
        for other in metadata[1:]:
            for key in ("dial_names", "prior_low", "prior_high", "bins", "x_transform", "x_scale"):
                if not same_value(first[key], other[key]):
                    raise ValueError(f"ensemble members disagree on {key}: {first[key]!r} vs {other[key]!r}")
        self.metadata = [dict(m) for m in metadata]
        self.device = device
        self.dial_names: tuple[str, ...] = tuple(first["dial_names"])
        self.prior_low = np.asarray(first["prior_low"], dtype=np.float64)
        self.prior_high = np.asarray(first["prior_high"], dtype=np.float64)
        self.bins = int(first["bins"])
        self.x_transform: str = first["x_transform"]
        self.x_scale: float | None = first["x_scale"]
        n_par = len(self.dial_names)
        self._prior_u = BoxUniform(torch.zeros(n_par), torch.ones(n_par), device=device)
        self.members = [DirectPosterior(est, self._prior_u, device=device) for est in estimators]
        self.sbi_posterior = self.members[0] if len(self.members) == 1 else EnsemblePosterior(self.members)
        #: log |d u / d theta| = -sum log(high - low): converts u-space densities to physical ones.
        self.log_jacobian = float(-np.sum(np.log(self.prior_high - self.prior_low)))

    @classmethod
    def from_trained(cls, trained: Sequence[TrainedNPE] | TrainedNPE, device: str = "cpu") -> NutunePosterior:
        """Posterior directly from :func:`train_npe` results (no files)."""
        members = [trained] if isinstance(trained, TrainedNPE) else list(trained)
        return cls([m.density_estimator.to(device) for m in members], [m.metadata for m in members], device=device)

    def uncalibrated(self) -> NutunePosterior:
        """The same network(s) without the post-hoc calibration layer (``npe.calibration: marginal``): the flow as
        sbi trained it, e.g. to measure what the calibration changed. Members without the layer are copied as is."""
        import copy

        estimators, metadata = [], []
        for member, meta in zip(self.members, self.metadata, strict=True):
            estimator = copy.deepcopy(member.posterior_estimator)
            if meta["network"].get("calibration", "none") != "none":
                detach_calibration(estimator, meta["network"]["calibration"])
            meta = copy.deepcopy(meta)
            meta["network"]["calibration"] = "none"
            estimators.append(estimator)
            metadata.append(meta)
        return NutunePosterior(estimators, metadata, device=self.device)

    @property
    def n_members(self) -> int:
        """Number of ensemble members."""
        return len(self.members)

    # -- coordinate maps ---------------------------------------------------------------------------------------
    def to_unit(self, theta: np.ndarray) -> np.ndarray:
        """Physical theta (..., 4) -> unit-box coordinates u (..., 4)."""
        return (np.asarray(theta, dtype=np.float64) - self.prior_low) / (self.prior_high - self.prior_low)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Unit-box coordinates u (..., 4) -> physical theta (..., 4)."""
        return self.prior_low + np.asarray(u, dtype=np.float64) * (self.prior_high - self.prior_low)

    def transform_x(self, x: np.ndarray) -> torch.Tensor:
        """Histogram(s) (bins,) or (n, bins) in physical units -> the network's input tensor (n, bins)."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.shape[1] != self.bins:
            raise ValueError(f"the posterior was trained on {self.bins}-bin histograms, got {x.shape[1]} bins")
        return torch.as_tensor(apply_x_transform(x, self.x_transform, self.x_scale), dtype=torch.float32).to(
            self.device
        )

    # -- sampling (the rejection sampler lives in nutune.npe.sampling) -------------------------------------------
    #: Proposal rounds per call before the truncation fallback (each round draws max(n, 1000) per observation).
    max_rejection_rounds: int = 20
    #: Flow draws evaluated at once (observations are processed in chunks below this): bounds the memory.
    max_proposals_per_call: int = 100_000

    def _seeded(self, seed: int):
        """Fork torch's RNG (CPU, and the GPU in use) and seed it: sbi samples from the global RNG."""
        return seeded_torch(self.device, seed)

    def _propose(self, m: int, x_transformed: torch.Tensor) -> torch.Tensor:
        """m unconstrained flow draws per observation, (m, n_obs, 4) in u space, members mixed with equal weights."""
        return propose(self.members, m, x_transformed)

    def sample_unit_batched(self, n: int, x_transformed: torch.Tensor, seed: int) -> torch.Tensor:
        """n draws per observation in u space, sbi layout (n, n_obs, 4): the flow truncated to the prior box
        (:func:`nutune.npe.sampling.truncated_sample`; the number of observations that needed the clipped fallback
        is kept in :attr:`last_truncation_fallbacks`)."""
        samples, self.last_truncation_fallbacks = truncated_sample(self, int(n), x_transformed, seed)
        return samples

    def sample(self, n: int, x: np.ndarray, seed: int) -> np.ndarray:
        """n posterior draws (n, 4) in physical units for one histogram x (bins,)."""
        xs = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if xs.shape[0] != 1:
            raise ValueError(f"sample() takes one histogram, got {xs.shape[0]}; use sample_batched()")
        return self.sample_batched(n, xs, seed)[0]

    def sample_batched(self, n: int, xs: np.ndarray, seed: int) -> np.ndarray:
        """n posterior draws for each of the histograms xs (n_obs, bins) -> (n_obs, n, 4) physical.

        Note the layout: observation first (as in ``test_posteriors.npz``), unlike sbi's (n, n_obs, 4).
        """
        u = self.sample_unit_batched(int(n), self.transform_x(xs), seed)
        return self.from_unit(u.detach().cpu().double().numpy().transpose(1, 0, 2))

    # -- densities ------------------------------------------------------------------------------------------------
    def log_prob_unit_batched(self, u: torch.Tensor, x_transformed: torch.Tensor, *, normalize: bool = True,
                              seed: int = 0) -> torch.Tensor:
        """log q(u | x) for u (S, n_obs, 4) and x (n_obs, bins) -> (S, n_obs); members mixed equally.

        ``normalize`` applies sbi's leakage correction (the flow's mass outside the unit box, estimated by seeded
        sampling), so that the density integrates to one over the prior box.
        """
        with self._seeded(seed):
            values = torch.stack(
                [m.log_prob_batched(u, x=x_transformed, norm_posterior=normalize) for m in self.members]
            )
            return torch.logsumexp(values, dim=0) - math.log(self.n_members)

    def log_prob(self, theta: np.ndarray, x: np.ndarray, *, normalize: bool = True, seed: int = 0) -> np.ndarray:
        """Posterior log-density log p(theta | x) in *physical* units for theta (m, 4) and one histogram x."""
        theta = np.atleast_2d(np.asarray(theta, dtype=np.float64))
        x_t = self.transform_x(x)
        if x_t.shape[0] != 1:
            raise ValueError("log_prob() takes one histogram")
        u = torch.as_tensor(self.to_unit(theta), dtype=torch.float32, device=self.device).unsqueeze(1)
        with torch.no_grad():
            lp = self.log_prob_unit_batched(u, x_t, normalize=normalize, seed=seed)[:, 0]
        return lp.detach().cpu().double().numpy() + self.log_jacobian

    def log_prob_batched(
        self, theta: np.ndarray, xs: np.ndarray, *, normalize: bool = True, seed: int = 0
    ) -> np.ndarray:
        """log p(theta_ij | x_i) for theta (n_obs, S, 4) and xs (n_obs, bins) -> (n_obs, S), physical units."""
        theta = np.asarray(theta, dtype=np.float64)
        x_t = self.transform_x(xs)
        u = torch.as_tensor(self.to_unit(theta).transpose(1, 0, 2), dtype=torch.float32, device=self.device)
        with torch.no_grad():
            lp = self.log_prob_unit_batched(u, x_t, normalize=normalize, seed=seed)
        return lp.detach().cpu().double().numpy().T + self.log_jacobian
