"""The one covariance-noise sampler: draws of N(mean, C) for noise-aware training, noisy test sets, mocks and throws.

Every place that draws Gaussian noise with a measurement covariance calls :func:`covariance_noise`. The method
(numpy's ``multivariate_normal`` factorisation: ``svd``, ``eigh`` or ``cholesky``) is an explicit argument because it
decides *which* numbers a seed gives: each call site keeps the method its committed tables were made with.
``tests/test_noise.py`` refuses a draw of correlated Gaussian noise anywhere else in the package.

========================================  =========  ============================================================
call site                                 method     draws
========================================  =========  ============================================================
``nutune.npe.preprocessing``              eigh       one fixed noise draw per training row (``npe.noise``)
``nutune.diagnostics`` (noisy test set)   svd        test histograms of a noise-aware network (also the
                                                     reference/marginal sets of ``nutune.misspecification``)
``nutune.inference.covariance_throws``    eigh       throws of the data around the measured histogram
``nutune.reference.mock_observations``    cholesky   reference mocks (after their theta draws, same generator)
``nutune.learning_curve``                 cholesky   the learning curve's noisy test set
``nutune.likelihood_modes``               eigh       training noise and throws of one χ² mode (LikelihoodNoise)
========================================  =========  ============================================================

:class:`LikelihoodNoise` is the noise *model* of one χ² mode of :mod:`nutune.chi2` (FULL, DIAG, SHAPE, NORMSHAPE):
the generative model p(x | s) whose negative log density (in the coordinates noted below) is ½ χ²_mode(s, x) up to
terms that do not depend on the prediction s. A noise-aware NPE trained on x ~ p(x | sim(θ)) therefore targets the
posterior prior(θ) · exp(−½ χ²_mode(sim(θ), x_obs)), the posterior that belongs to the classical fit in that mode;
covariance throws of the data with it are the papers' throws in that mode. All its draws go through
:func:`covariance_noise`. The derivations:

``FULL``  x = s + ε, ε ~ N(0, C) (C the total covariance). −2 log p = (x − s)ᵀ C⁻¹ (x − s) + const = χ²_FULL.
``DIAG``  x = s + ε, ε ~ N(0, diag C): χ²_DIAG = Σ (xᵢ − sᵢ)² / Cᵢᵢ.
``SHAPE`` χ²_SHAPE(s, x) = (k s − x)ᵀ C_s⁻¹ (k s − x) with k = A(x)/A(s), A(·) the area Σ ·ᵢ aᵢ and
          C_s = C − C_norm. It only sees x through its shape, so the model lives on the hyperplane A(x) = A(data):
          x = s · A(data)/A(s) + ε_c with ε_c ~ N(0, C_s) *conditioned on* aᵀε = 0, i.e.
          ε_c ~ N(0, C_c), C_c = C_s − C_s a aᵀ C_s / (aᵀ C_s a) (singular in the direction a, drawn with ``eigh``).
          The density of a Gaussian conditioned on a hyperplane is, on that hyperplane, the joint density
          ∝ exp(−½ ε_cᵀ C_s⁻¹ ε_c) with a normaliser that does not depend on s, and for x on the hyperplane
          k = A(data)/A(s), so −2 log p(x | s) = χ²_SHAPE(s, x) + const exactly. The data lies on the hyperplane.
``NORMSHAPE`` NUISANCE's norm–shape covariance (``StatUtils::InitToNS`` / ``ExtractNSCovar``, PR #50): the
          histogram x is represented by y(x) = (x₁/N, …, x_{n−1}/N, N), N = Σ xᵢ (shape fractions and the total),
          and χ²_NS = (y(s) − y(x))ᵀ C_NS⁻¹ (y(s) − y(x)) with C_NS = J C Jᵀ, J = ∂y/∂x at the *data* (a fixed
          matrix, :func:`nutune.chi2.norm_shape_covariance`). That is a Gaussian in y: y(x) = y(s) + η,
          η ~ N(0, C_NS). The draw is therefore: the shape fractions f = (s₁/N_s, …) thrown with the shape block of
          C_NS, the normalisation N = N_s + η_N thrown with its variance 1ᵀC1 (correlated with the shape as C_NS
          says), and the histogram rebuilt *multiplicatively*, xᵢ = N fᵢ (x_n = N (1 − Σ_{i<n} fᵢ)). The map
          x ↦ y is a bijection on N > 0 whose Jacobian does not depend on s, so −2 log p(x | s) = χ²_NS + const.
          At the data (s = data) the linearised x covariance is J⁻¹ C_NS J⁻ᵀ = C: NORMSHAPE throws of the data
          agree with FULL throws to first order. The likelihoods differ away from the data: FULL gives every
          prediction the data's absolute errors, including the fully correlated flux-norm component fixed at the
          data's size, which lets a prediction below the data's normalisation pay less χ² than one at it
          (Peelle's puzzle); NORMSHAPE judges the normalisation once, N against N_data with σ_N² = 1ᵀC1, and the
          shape as fractions, so the bin errors scale with the prediction's normalisation.

**A joint measurement** (``parts``, :mod:`nutune.measurements.joint`): the experiments are independent, so the noise
model of the concatenated vector is the product of each experiment's own, p(x | s) = Π_e p_e(x_e | s_e), and
−2 log p = Σ_e χ²_mode,e — the joint χ² of :class:`nutune.chi2.Chi2` with ``parts`` (SHAPE and NORMSHAPE judge each
experiment's normalisation by itself). FULL and DIAG draw the block-diagonal covariance at once (the same numbers as
without parts); SHAPE and NORMSHAPE draw each experiment's model in vector order from the same generator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.linalg import block_diag

from nutune.config import allowed_values

__all__ = ["NOISE_MODELS", "LikelihoodNoise", "covariance_noise"]

#: The χ² modes that have a noise model: every mode of ``chi2.modes`` in the config schema.
NOISE_MODELS: tuple[str, ...] = allowed_values("chi2", "modes")


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


def _norm_shape(x: np.ndarray) -> np.ndarray:
    """y(x) = (x₁/N, …, x_{n−1}/N, N), N = Σ xᵢ, for (..., n) histograms (= ``nutune.chi2.norm_shape_transform``)."""
    total = x.sum(axis=-1, keepdims=True)
    return np.concatenate([x[..., :-1] / total, total], axis=-1)


def _from_norm_shape(y: np.ndarray) -> np.ndarray:
    """The inverse of :func:`_norm_shape`: xᵢ = N fᵢ for i < n and x_n = N (1 − Σ fᵢ)."""
    total = y[..., -1:]
    fractions = y[..., :-1]
    return np.concatenate([total * fractions, total * (1.0 - fractions.sum(axis=-1, keepdims=True))], axis=-1)


def _norm_shape_jacobian(x: np.ndarray) -> np.ndarray:
    """J = ∂y/∂x at the histogram x (n,) (NUISANCE ``StatUtils::ExtractNSCovar``'s linearisation)."""
    n, total = x.size, float(x.sum())
    jac = np.zeros((n, n))
    jac[:-1] = -x[:-1, None] / total**2
    jac[np.arange(n - 1), np.arange(n - 1)] += 1.0 / total
    jac[-1] = 1.0
    return jac


def _symmetric_psd(matrix: np.ndarray, what: str) -> np.ndarray:
    """``matrix`` symmetrised, refused (ValueError naming ``what``) unless finite and positive semi-definite."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or not np.isfinite(matrix).all():
        raise ValueError(f"{what} must be a finite square matrix, got shape {matrix.shape}")
    if not np.allclose(matrix, matrix.T, rtol=1e-10, atol=1e-14 * float(np.max(np.abs(matrix)))):
        raise ValueError(f"{what} is not symmetric")
    matrix = 0.5 * (matrix + matrix.T)
    if np.min(np.linalg.eigvalsh(matrix)) < -1e-10 * float(np.max(np.abs(np.diag(matrix)))):
        raise ValueError(f"{what} is not positive semi-definite")
    return matrix


@dataclass(frozen=True)
class LikelihoodNoise:
    """The noise model of one χ² mode (module docstring): ``sample(generator, s)`` draws x ~ p(x | s).

    Build it with :meth:`for_mode`. Attributes:
        mode: FULL, DIAG, SHAPE or NORMSHAPE.
        draw_cov: the covariance of the Gaussian that is drawn (x space for FULL / DIAG, the area-conditioned
            shape covariance C_c for SHAPE, C_NS in y space for NORMSHAPE).
        data: (bins,) the measured histogram (SHAPE: the area of every draw; NORMSHAPE: where C_NS is linearised).
        areas: (bins,) bin areas (SHAPE only).
        parts: SHAPE / NORMSHAPE of a joint measurement: (row slice, that experiment's model) in vector order;
            ``draw_cov`` is then the block diagonal of theirs (recorded in a network's metadata). Empty otherwise.
    """

    mode: str
    draw_cov: np.ndarray
    data: np.ndarray
    areas: np.ndarray | None = None
    parts: tuple[tuple[slice, LikelihoodNoise], ...] = ()

    @classmethod
    def for_mode(
        cls,
        mode: str,
        data: np.ndarray,
        cov: np.ndarray,
        *,
        areas: np.ndarray | None = None,
        cov_norm: np.ndarray | None = None,
        parts: Mapping[str, slice] | None = None,
    ) -> LikelihoodNoise:
        """The noise model of ``mode`` for the measurement (``data``, total covariance ``cov``).

        Args:
            mode: one of :data:`NOISE_MODELS`.
            data: (bins,) measured histogram.
            cov: (bins, bins) total covariance C (the FULL matrix).
            areas: (bins,) positive bin areas Δp·Δcos; required for SHAPE.
            cov_norm: (bins, bins) fully correlated normalisation component removed for SHAPE (C_s = C − C_norm);
                None means ``cov`` is shape-only already (as :class:`nutune.chi2.Chi2`).
            parts: a joint measurement's part name -> row slice (``JointBinned.parts``): SHAPE and NORMSHAPE are
                then each experiment's own model (module docstring); one part or None = one measurement.

        Raises:
            ValueError: unknown mode, misshaped or non-PSD matrices, missing/non-positive areas, data with a
                non-positive sum (NORMSHAPE) or area (SHAPE) — per experiment with ``parts`` —, parts that do not
                cover the bins once or a covariance that correlates them.
        """
        if mode not in NOISE_MODELS:
            raise ValueError(f"noise model {mode!r} is not allowed; allowed: {', '.join(NOISE_MODELS)}")
        data = np.asarray(data, dtype=np.float64)
        n = data.size
        if data.ndim != 1 or not np.isfinite(data).all():
            raise ValueError(f"noise model {mode}: data must be a finite 1-d array, got shape {data.shape}")
        cov = _symmetric_psd(cov, f"noise model {mode}: covariance")
        if cov.shape != (n, n):
            raise ValueError(f"noise model {mode}: covariance has shape {cov.shape}, expected ({n}, {n})")
        if parts is not None and len(parts) > 1 and mode in ("SHAPE", "NORMSHAPE"):
            return cls._joint(mode, data, cov, parts, areas, cov_norm)
        if mode == "FULL":
            return cls(mode, cov, data)
        if mode == "DIAG":
            return cls(mode, np.diag(np.diag(cov)), data)
        if mode == "SHAPE":
            if areas is None:
                raise ValueError("noise model SHAPE needs the bin areas (areas=measurement.areas)")
            areas = np.asarray(areas, dtype=np.float64)
            if areas.shape != (n,) or not np.all(areas > 0):
                raise ValueError(f"noise model SHAPE: areas must be {n} positive numbers, got shape {areas.shape}")
            if not float(data @ areas) > 0:
                raise ValueError("noise model SHAPE: the data's area must be positive")
            c_s = cov if cov_norm is None else _symmetric_psd(cov - np.asarray(cov_norm, dtype=np.float64),
                                                              "noise model SHAPE: cov - cov_norm")
            c_a = c_s @ areas
            return cls(mode, _symmetric_psd(c_s - np.outer(c_a, c_a) / float(areas @ c_a),
                                            "noise model SHAPE: conditioned covariance"), data, areas)
        if not float(data.sum()) > 0:
            raise ValueError("noise model NORMSHAPE: the data's sum must be positive (it is the normalisation)")
        jac = _norm_shape_jacobian(data)
        return cls(mode, _symmetric_psd(jac @ cov @ jac.T, "noise model NORMSHAPE: J C J^T"), data)

    @classmethod
    def _joint(cls, mode: str, data: np.ndarray, cov: np.ndarray, parts: Mapping[str, slice],
               areas: np.ndarray | None, cov_norm: np.ndarray | None) -> LikelihoodNoise:
        """SHAPE / NORMSHAPE of a joint measurement: each part's own model on its block of ``cov``."""
        from nutune.chi2 import check_independent_parts

        check_independent_parts(cov, parts, f"noise model {mode}")
        models = []
        for name, s in parts.items():
            try:
                models.append((s, cls.for_mode(
                    mode, data[s], cov[s, s], areas=None if areas is None else np.asarray(areas)[s],
                    cov_norm=None if cov_norm is None else np.asarray(cov_norm, dtype=np.float64)[s, s])))
            except ValueError as err:
                raise ValueError(f"{err} (part {name})") from err
        return cls(mode, block_diag(*[model.draw_cov for _, model in models]), data,
                   None if areas is None else np.asarray(areas, dtype=np.float64), tuple(models))

    def sample(
        self,
        generator: np.random.Generator,
        means: np.ndarray,
        *,
        method: Literal["svd", "eigh", "cholesky"] = "eigh",
    ) -> np.ndarray:
        """One noisy histogram per row of ``means`` (n, bins) (the noise-free predictions s), shape (n, bins).

        FULL is ``means + covariance_noise(generator, C, n, method=method)``: the same numbers as the noise-aware
        training and the throws have always drawn. SHAPE needs ``method`` ``eigh`` or ``svd`` (C_c is singular).

        Raises:
            ValueError: misshaped means; a SHAPE mean with non-positive area or a NORMSHAPE mean with a
                non-positive sum.
        """
        means = np.asarray(means, dtype=np.float64)
        if means.ndim != 2 or means.shape[1] != self.data.size or not np.isfinite(means).all():
            raise ValueError(f"noise model {self.mode}: means must be finite (n, {self.data.size}), "
                             f"got shape {means.shape}")
        n = len(means)
        if self.parts:
            out = np.empty_like(means)
            for rows, model in self.parts:
                out[:, rows] = model.sample(generator, means[:, rows], method=method)
            return out
        if self.mode in ("FULL", "DIAG"):
            return means + covariance_noise(generator, self.draw_cov, n, method=method)
        if self.mode == "SHAPE":
            area = means @ self.areas
            if np.any(area <= 0):
                raise ValueError("noise model SHAPE: a prediction has a non-positive area and cannot be scaled")
            scaled = means * (float(self.data @ self.areas) / area)[:, None]
            return scaled + covariance_noise(generator, self.draw_cov, n, method=method)
        if np.any(means.sum(axis=1) <= 0):
            raise ValueError("noise model NORMSHAPE: a prediction has a non-positive sum and has no shape")
        y = _norm_shape(means) + covariance_noise(generator, self.draw_cov, n, method=method)
        return _from_norm_shape(y)

    def linear_covariance(self, mean: np.ndarray) -> np.ndarray:
        """The covariance of ``sample`` around the prediction ``mean`` (bins,) in x space, to first order.

        Exact for FULL, DIAG and SHAPE (the noise is additive there); for NORMSHAPE J_s⁻¹ C_NS J_s⁻ᵀ with J_s the
        norm–shape Jacobian at ``mean`` (equal to C at the data).
        """
        if self.parts:
            mean = np.asarray(mean, dtype=np.float64)
            return block_diag(*[model.linear_covariance(mean[rows]) for rows, model in self.parts])
        if self.mode != "NORMSHAPE":
            return self.draw_cov.copy()
        inv = np.linalg.inv(_norm_shape_jacobian(np.asarray(mean, dtype=np.float64)))
        return inv @ self.draw_cov @ inv.T
