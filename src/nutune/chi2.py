"""χ² between model predictions and the T2K CC0π measurement in four covariance conventions.

Modes:

``FULL``
    χ² = Δᵀ C⁻¹ Δ with Δ = prediction − data and C the full covariance (NUISANCE's default for
    ``T2K_CC0pi_XSec_2DPcos_nu_I``: ``StatUtils::GetChi2FromCov`` with the total stat + shape + flux-norm matrix).
    Evaluated with a Cholesky factor C = L Lᵀ: χ² = |L⁻¹Δ|², which is stable and never forms C⁻¹.
``DIAG``
    χ² = Σᵢ Δᵢ² / Cᵢᵢ: only the diagonal of C (bin-to-bin correlations ignored, as in MicroBooNE's own tune fit;
    NUISANCE's ``DIAG`` fit option).
``SHAPE``
    A normalisation-free comparison, NUISANCE-like (``Measurement1D`` with the ``SHAPE`` option scales the MC to
    the data's area, ``fMCHist->Scale(data.Integral("width") / mc.Integral("width"))``):

    1. the prediction is scaled by k = Σ dataᵢ·aᵢ / Σ predᵢ·aᵢ, with aᵢ = Δp·Δcos the bin areas, so that both
       have the same integral over the measured phase space (the kept bins);
    2. the fully correlated flux-normalisation component ``cov_norm`` is removed from the covariance,
       C_shape = C − C_norm (for the T2K release: stat + shape systematics), because the freedom it describes is
       the one the scaling already absorbed. If ``cov_norm`` is None, ``cov`` is taken to be shape-only already;
    3. χ² = Δ'ᵀ C_shape⁻¹ Δ' with Δ' = k·prediction − data (Cholesky, as FULL).

    One degree of freedom (the normalisation) is used by the scaling; this χ² is not comparable to FULL values.
``NORMSHAPE``
    The norm–shape covariance of NUISANCE (NUISANCEMC/nuisance PR #50 by S. Dolan and J. Chakrani,
    ``StatUtils::ExtractNSCovar`` and ``StatUtils::InitToNS``; switched on there by ``UseNormShapeCovariance``), an
    alternative test statistic against Peelle's pertinent puzzle. Each histogram x is mapped to
    y(x) = (x₁/N, …, x_{n−1}/N, N) with N = Σᵢ xᵢ (the last bin replaced by the plain sum, as NUISANCE does), the
    covariance propagated linearly at the *data*, C_NS = J C Jᵀ with J = ∂y/∂x at x = data, and
    χ² = (y(pred) − y(data))ᵀ C_NS⁻¹ (y(pred) − y(data)) (Cholesky, as FULL). To first order around the data it is
    FULL; away from it the normalisation enters as one number with an absolute error, so a prediction below the
    data's normalisation is no longer favoured because the fully correlated flux error scales with the data's bins
    (the puzzle's bias, Peelle 1987; D'Agostini NIM A 346, 306 (1994)).

**Joint measurements** (``parts``, :mod:`nutune.measurements.joint`): with the vector made of independent
experiments' parts (row slices, the covariance block diagonal), every mode is the sum of the parts' χ², each part
judged on its own block — SHAPE scales and NORMSHAPE normalises *each experiment* by its own integral, because each
has its own flux normalisation; FULL and DIAG equal the block-diagonal χ² of the whole vector. A covariance with
non-zero entries between parts is refused (the parts would not be independent).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np
from scipy.linalg import solve_triangular

from nutune.config import allowed_values
from nutune.resources import COV_COMPONENTS, DataError, validate_covariance

if TYPE_CHECKING:  # pragma: no cover
    from nutune.resources import T2KMeasurement

__all__ = ["CHI2_MODES", "Chi2", "chi2", "chi2_all_modes", "norm_shape_transform", "norm_shape_covariance",
           "check_independent_parts", "shape_normalisations"]

#: The χ² modes, ``chi2.modes`` of the config schema (their one home).
CHI2_MODES: tuple[str, ...] = allowed_values("chi2", "modes")


def norm_shape_transform(x: np.ndarray) -> np.ndarray:
    """NUISANCE ``StatUtils::InitToNS``: (..., n) histograms → (x₁/N, …, x_{n−1}/N, N), N = Σ xᵢ."""
    x = np.asarray(x, dtype=float)
    total = x.sum(axis=-1, keepdims=True)
    return np.concatenate([x[..., :-1] / total, total], axis=-1)


def norm_shape_covariance(cov: np.ndarray, data: np.ndarray) -> np.ndarray:
    """NUISANCE ``StatUtils::ExtractNSCovar``: J C Jᵀ with J = ∂ :func:`norm_shape_transform` / ∂x at the data."""
    data = np.asarray(data, dtype=float)
    n, total = data.size, float(data.sum())
    jac = np.zeros((n, n))
    jac[:-1] = -data[:-1, None] / total**2
    jac[np.arange(n - 1), np.arange(n - 1)] += 1.0 / total
    jac[-1] = 1.0
    return jac @ np.asarray(cov, dtype=float) @ jac.T


class Chi2:
    """A χ² function for fixed data and covariance; the Cholesky factor is computed once.

    Use it in fits and samplers that evaluate many predictions (``classical.py``, ``reference.py``):
    ``f = Chi2(data, cov, "FULL"); f(predictions)`` where ``predictions`` is (bins,) or (n, bins).

    Args:
        data: (bins,) measured values.
        cov: (bins, bins) covariance of the data (the total for FULL).
        mode: ``FULL``, ``DIAG`` or ``SHAPE`` (module docstring).
        areas: (bins,) bin areas Δp·Δcos; required for SHAPE.
        cov_norm: (bins, bins) fully correlated normalisation component to remove from ``cov`` in SHAPE mode.
        parts: for a joint measurement, part name -> row slice (``JointBinned.parts``): the χ² is the sum of the
            parts' χ² in ``mode`` (module docstring), :meth:`per_part` gives each; None = one measurement.

    Raises:
        DataError: unknown mode, mismatched shapes, non-finite data, covariance not symmetric/PD, missing areas,
            parts that do not tile the vector or a covariance that correlates them.
    """

    def __init__(
        self,
        data: np.ndarray,
        cov: np.ndarray,
        mode: str = "FULL",
        *,
        areas: np.ndarray | None = None,
        cov_norm: np.ndarray | None = None,
        parts: Mapping[str, slice] | None = None,
    ) -> None:
        if mode not in CHI2_MODES:
            raise DataError(f"chi2 mode = {mode!r} is not allowed; allowed: {', '.join(CHI2_MODES)}")
        self.mode = mode
        self.data = np.asarray(data, dtype=float)
        if self.data.ndim != 1 or not np.isfinite(self.data).all():
            raise DataError(f"chi2: data must be a finite 1-d array, got shape {self.data.shape}")
        n = self.data.size
        self.parts: dict[str, Chi2] | None = None
        if parts is not None and len(parts) > 1:
            self._init_parts(cov, parts, areas, cov_norm)
            return
        cov = validate_covariance(cov, n, "chi2 covariance")
        self.areas: np.ndarray | None = None
        if mode == "SHAPE":
            if areas is None:
                raise DataError("chi2 mode SHAPE needs the bin areas (areas=measurement.areas)")
            self.areas = np.asarray(areas, dtype=float)
            if self.areas.shape != (n,) or not np.all(self.areas > 0):
                raise DataError(f"chi2: areas must be {n} positive numbers, got shape {self.areas.shape}")
            self.data_integral = float(self.data @ self.areas)
            if cov_norm is not None:
                cov_norm = np.asarray(cov_norm, dtype=float)
                if cov_norm.shape != (n, n):
                    raise DataError(f"chi2: cov_norm has shape {cov_norm.shape}, expected ({n}, {n})")
                cov = validate_covariance(cov - cov_norm, n, "chi2 shape covariance (cov - cov_norm)")
        if mode == "NORMSHAPE":
            if not self.data.sum() > 0:
                raise DataError("chi2 NORMSHAPE: the data's sum must be positive (it is the normalisation)")
            cov = validate_covariance(norm_shape_covariance(cov, self.data), n, "chi2 norm-shape covariance")
            self.ns_data = norm_shape_transform(self.data)
        if mode == "DIAG":
            self.inv_var = 1.0 / np.diag(cov)
            self.chol = None
        else:
            self.chol = np.linalg.cholesky(cov)

    def _init_parts(self, cov: np.ndarray, parts: Mapping[str, slice], areas: np.ndarray | None,
                    cov_norm: np.ndarray | None) -> None:
        n = self.data.size
        cov = np.asarray(cov, dtype=float)
        if cov.shape != (n, n):
            raise DataError(f"chi2: covariance has shape {cov.shape}, expected ({n}, {n})")
        self.slices = dict(parts)
        check_independent_parts(cov, self.slices, "chi2")
        self.parts = {
            name: Chi2(self.data[s], cov[s, s], self.mode, areas=None if areas is None else np.asarray(areas)[s],
                       cov_norm=None if cov_norm is None else np.asarray(cov_norm)[s, s])
            for name, s in self.slices.items()}

    def per_part(self, prediction: np.ndarray) -> dict[str, float | np.ndarray]:
        """Each part's χ² (part name -> value; one measurement: its name is ``"total"``)."""
        if self.parts is None:
            return {"total": self(prediction)}
        pred = np.asarray(prediction, dtype=float)
        if pred.shape[-1:] != self.data.shape:
            raise DataError(f"chi2: prediction has shape {pred.shape}, expected (..., {self.data.size})")
        return {name: part(pred[..., self.slices[name]]) for name, part in self.parts.items()}

    def _checked(self, prediction: np.ndarray, what: str = "prediction") -> np.ndarray:
        """``prediction`` as a float array, refused unless finite with the data's last axis (and, in NORMSHAPE, a
        positive sum)."""
        pred = np.asarray(prediction, dtype=float)
        if pred.shape[-1:] != self.data.shape:
            raise DataError(f"chi2: {what} has shape {pred.shape}, expected (..., {self.data.size})")
        if not np.isfinite(pred).all():
            raise DataError(f"chi2: {what} contains non-finite values")
        if self.mode == "NORMSHAPE" and np.any(pred.sum(axis=-1) <= 0):
            raise DataError(f"chi2 NORMSHAPE: a {what} has a non-positive sum and has no shape")
        return pred

    def _prepare(self, prediction: np.ndarray) -> np.ndarray:
        pred = self._checked(prediction)
        if self.mode == "SHAPE":
            integral = pred @ self.areas
            if np.any(integral <= 0):
                raise DataError("chi2 SHAPE: a prediction has a non-positive integral and cannot be normalised")
            pred = pred * (self.data_integral / integral)[..., None]
        if self.mode == "NORMSHAPE":
            return norm_shape_transform(pred) - self.ns_data
        return pred - self.data

    def __call__(self, prediction: np.ndarray) -> float | np.ndarray:
        """χ² of one prediction (bins,) -> float, or of a stack (n, bins) -> (n,) array."""
        if self.parts is not None:
            values = list(self.per_part(prediction).values())
            out = sum(values[1:], start=values[0])
            return float(out) if np.ndim(out) == 0 else out
        return self._quadratic(self._prepare(prediction))

    def discrepancy(self, histogram: np.ndarray, prediction: np.ndarray) -> float | np.ndarray:
        """χ² of ``prediction`` against ``histogram`` in place of the data, with this object's covariance (NORMSHAPE:
        C_NS linearised at *the data*): the one fixed discrepancy function D(x; s) of a posterior-predictive check,
        so that ``discrepancy(data, s) == self(s)``. Shapes as :meth:`__call__` (broadcast together); FULL, DIAG
        and NORMSHAPE of one measurement (SHAPE's scale is the data's own integral)."""
        if self.parts is not None or self.mode == "SHAPE":
            raise DataError(f"chi2 discrepancy: mode {self.mode} of {'a joint' if self.parts else 'one'} measurement "
                            "is not supported (FULL, DIAG or NORMSHAPE of one measurement)")
        x, pred = self._checked(histogram, "histogram"), self._checked(prediction)
        if self.mode == "NORMSHAPE":
            return self._quadratic(norm_shape_transform(pred) - norm_shape_transform(x))
        return self._quadratic(pred - x)

    def _quadratic(self, delta: np.ndarray) -> float | np.ndarray:
        """Δᵀ C⁻¹ Δ over the last axis (DIAG: the diagonal only)."""
        if self.mode == "DIAG":
            out = np.sum(delta**2 * self.inv_var, axis=-1)
        else:
            flat = delta.reshape(-1, self.data.size)
            z = solve_triangular(self.chol, flat.T, lower=True, check_finite=False)
            out = np.sum(z**2, axis=0).reshape(delta.shape[:-1])
        return float(out) if np.ndim(out) == 0 else out


def check_independent_parts(cov: np.ndarray, parts: Mapping[str, slice], what: str) -> None:
    """Refuse (DataError naming ``what``) parts of a joint measurement that do not cover each of the (n, n)
    covariance's bins exactly once, or a covariance that correlates bins of different parts: a joint χ² and its
    noise model are sums over independent experiments (:mod:`nutune.measurements.joint`)."""
    n = cov.shape[0]
    rows = np.concatenate([np.arange(n)[s] for s in parts.values()])
    if not np.array_equal(np.sort(rows), np.arange(n)):
        raise DataError(f"{what}: parts {list(parts)} do not cover each of the {n} bins exactly once")
    inside = np.zeros((n, n), dtype=bool)
    for s in parts.values():
        inside[s, s] = True
    if np.any(cov[~inside] != 0):
        raise DataError(f"{what}: the covariance correlates bins of different parts; a joint measurement needs "
                        "independent parts (block-diagonal covariance)")


def shape_normalisations(parts: Mapping[str, slice] | None) -> int:
    """The normalisations a SHAPE χ² fits: one per experiment (per part of a joint measurement), which a SHAPE
    fit's ndf loses on top of the free dials."""
    return len(parts) if parts else 1


def chi2(
    prediction: np.ndarray,
    data: np.ndarray,
    cov: np.ndarray,
    mode: str = "FULL",
    *,
    areas: np.ndarray | None = None,
    cov_norm: np.ndarray | None = None,
    parts: Mapping[str, slice] | None = None,
) -> float | np.ndarray:
    """χ² of ``prediction`` against ``data`` with covariance ``cov`` in ``mode`` FULL, DIAG, SHAPE or NORMSHAPE
    (summed over ``parts`` for a joint measurement).

    See the module docstring for the exact definitions. ``prediction`` may be (bins,) (returns a float) or
    (n, bins) (returns (n,)).

    Example:
        >>> m = load_t2k(58)
        >>> chi2(load_published("microboone_tune"), m.values, m.cov_total)  # ≈ 116.2 (published 115.1)
    """
    return Chi2(data, cov, mode, areas=areas, cov_norm=cov_norm, parts=parts)(prediction)


def chi2_all_modes(
    prediction: np.ndarray,
    measurement: T2KMeasurement,
    modes: Iterable[str] = CHI2_MODES,
    *,
    components: Iterable[str] | None = None,
) -> dict[str, float | np.ndarray]:
    """χ² of ``prediction`` against a :class:`~nutune.resources.T2KMeasurement` in each of ``modes``.

    FULL and DIAG use the sum of ``components`` (default: the NUISANCE total); SHAPE uses the same sum minus the
    flux-norm component (when ``norm`` is among the components) and the measurement's bin areas. A joint
    measurement (``measurement.parts``) is judged per part and summed (module docstring); ``components`` default to
    every component of the measurement (the NUISANCE total of each part).

    Returns:
        ``{mode: chi2}`` in the order of ``modes``.
    """
    comps = tuple(COV_COMPONENTS if components is None and not hasattr(measurement, "covs") else
                  (measurement.components if components is None else components))
    cov = measurement.cov(comps)
    parts = getattr(measurement, "parts", None)
    out: dict[str, float | np.ndarray] = {}
    for mode in modes:
        cov_norm = measurement.cov_norm if (mode == "SHAPE" and "norm" in comps) else None
        out[mode] = chi2(prediction, measurement.values, cov, mode, areas=measurement.areas, cov_norm=cov_norm,
                         parts=parts)
    return out
