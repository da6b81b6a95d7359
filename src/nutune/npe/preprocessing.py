"""The maps between physical inputs and what the network sees: theta -> unit box, x -> scaled x, training noise.

* theta: u = (theta - low) / (high - low) with the *configured prior box* (the authors used the data set's own
  min/max, paper.md §4.4; the box makes the prior exactly ``BoxUniform([0, 1]^4)``). sbi then z-scores u.
* x: ``max`` divides by one global scalar, the maximum of the *noise-free* training histograms (stored in the
  metadata, reused for every observed input); ``log`` takes log(x) (strictly positive inputs only). sbi then
  z-scores each bin.
* noise-aware training (``noise: covariance``): one fixed draw x + eps per row, eps ~ N(0, C) from
  ``nutune.io.rng(seed, "npe", member, "noise")`` (:func:`nutune.noise.covariance_noise`, method ``eigh``); with a
  :class:`nutune.noise.LikelihoodNoise` the draw is that χ² mode's noise model instead (FULL: the same numbers).
"""

from __future__ import annotations

import logging

import numpy as np

from nutune.io import derive_seed, rng, sha256_bytes
from nutune.noise import LikelihoodNoise, covariance_noise
from nutune.npe.spec import X_TRANSFORMS

__all__ = ["apply_x_transform", "x_scale_of", "to_unit", "noisy_training_x", "array_sha256"]

logger = logging.getLogger("nutune.npe")


def apply_x_transform(x: np.ndarray, transform: str, scale: float | None) -> np.ndarray:
    """Physical histograms -> network input (before sbi's z-scoring); refuses non-finite x and log of x <= 0."""
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("histogram(s) contain non-finite values; the NPE needs finite inputs")
    if transform == "max":
        return x / float(scale)
    if transform == "log":
        if np.any(x <= 0):
            raise ValueError(
                f"x_transform 'log' needs strictly positive histograms, got min {x.min():.4g}; "
                "use npe.x_transform: max (e.g. for thrown or noisy data with negative bins)"
            )
        return np.log(x)
    raise ValueError(f"unknown x_transform {transform!r}; allowed: {', '.join(X_TRANSFORMS)}")


def x_scale_of(x: np.ndarray, transform: str) -> float | None:
    """The ``max`` scale: the maximum of the noise-free simulations (the same for every member); None for ``log``."""
    scale = float(np.max(x)) if transform == "max" else None
    if scale is not None and not scale > 0:
        raise ValueError(f"x_transform 'max' needs a positive training maximum, got {scale}")
    return scale


def to_unit(theta: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Physical theta -> unit-box coordinates u."""
    return (theta - low) / (high - low)


def noisy_training_x(x: np.ndarray, noise_cov: np.ndarray | None, *, x_transform: str, seed: int,
                     member: int, noise_model: LikelihoodNoise | None = None) -> tuple[np.ndarray, int]:
    """x + eps, eps ~ N(0, C), one fixed draw per row, and the noise seed (noise-aware training).

    With ``noise_model`` the draw is ``noise_model.sample`` (a χ² mode's noise model, ``nutune.noise``) from the
    same generator; ``noise_cov`` is then only checked for shape (it is the total C the model was built from).

    Raises:
        ValueError: without a covariance, for a misshaped or asymmetric one, or with ``x_transform: log``.
    """
    bins = x.shape[1]
    if noise_cov is None:
        raise ValueError("npe.noise is 'covariance' but no noise covariance was passed to train_npe")
    cov = np.asarray(noise_cov, dtype=np.float64)
    if cov.shape != (bins, bins) or not np.all(np.isfinite(cov)) or not np.allclose(cov, cov.T):
        raise ValueError(f"noise covariance must be a finite symmetric ({bins}, {bins}) matrix, got {cov.shape}")
    if x_transform == "log":
        raise ValueError("npe.x_transform 'log' cannot be combined with npe.noise 'covariance' (noisy x < 0)")
    noise_seed = derive_seed(seed, "npe", member, "noise")
    if noise_model is not None:
        if noise_model.data.size != bins:
            raise ValueError(f"noise model has {noise_model.data.size} bins, the training histograms {bins}")
        noisy = noise_model.sample(rng(seed, "npe", member, "noise"), x, method="eigh")
        logger.info("added one fixed %s-model noise draw per training row (noise seed %d)", noise_model.mode,
                    noise_seed)
        return noisy, noise_seed
    eps = covariance_noise(rng(seed, "npe", member, "noise"), cov, len(x), method="eigh")
    logger.info("added one fixed N(0, C) noise draw per training row (noise seed %d)", noise_seed)
    return x + eps, noise_seed


def array_sha256(*arrays: np.ndarray) -> str:
    """SHA-256 of the float64 bytes of ``arrays`` (training data and noise covariance fingerprints)."""
    parts = b"".join(np.ascontiguousarray(a, dtype=np.float64).tobytes() for a in arrays)
    return sha256_bytes(parts)
