"""The one covariance-noise sampler: draws of N(mean, C) for noise-aware training, noisy test sets, mocks and throws.

Every place that draws Gaussian noise with a measurement covariance calls :func:`covariance_noise`. The method
(numpy's ``multivariate_normal`` factorisation: ``svd``, ``eigh`` or ``cholesky``) is an explicit argument because it
decides *which* numbers a seed gives: each call site keeps the method its committed tables were made with.

========================================  =========  ============================================================
call site                                 method     draws
========================================  =========  ============================================================
``nutune.npe.preprocessing``              eigh       one fixed noise draw per training row (``npe.noise``)
``nutune.diagnostics`` (noisy test set)   svd        test histograms of a noise-aware network
``nutune.inference.covariance_throws``    eigh       throws of the data around the measured histogram
``nutune.reference.mock_observations``    cholesky   reference mocks (after their theta draws, same generator)
``nutune.learning_curve``                 cholesky   the learning curve's noisy test set
========================================  =========  ============================================================
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["covariance_noise"]


def covariance_noise(
    generator: np.random.Generator,
    cov: np.ndarray,
    size: int,
    *,
    method: Literal["svd", "eigh", "cholesky"],
    mean: np.ndarray | None = None,
) -> np.ndarray:
    """``size`` draws of N(mean, cov) (mean 0 by default), shape (size, bins), from ``generator``.

    Identical to ``generator.multivariate_normal(mean, cov, size=size, method=method)``.
    """
    cov = np.asarray(cov, dtype=np.float64)
    mean = np.zeros(cov.shape[0]) if mean is None else np.asarray(mean, dtype=np.float64)
    return generator.multivariate_normal(mean, cov, size=int(size), method=method)
