"""Classical χ² fits of the four GENIE dials to the T2K data with iminuit (the MicroBooNE-tune method, redone).

The MicroBooNE tune was a NUISANCE/MINUIT χ² minimisation against T2K CC0π Analysis I (paper.md §10). This module
redoes it on the built-in simulator with iminuit (James & Roos 1975, MINUIT2; Dembinski et al., iminuit) in the
three χ² conventions of :mod:`nutune.chi2`:

``FULL``
    the full covariance (stat + shape syst + flux norm). Known to suffer from *Peelle's Pertinent Puzzle*
    (Peelle 1987; D'Agostini 1994): a fully correlated normalisation uncertainty (8.56 % here) combined with
    strong shape correlations lets the fit prefer predictions systematically *below* the data; the
    ``integral_ratio`` column (Σ pred·area / Σ data·area at the best fit) shows it.
``DIAG``
    the diagonal only (bin-to-bin correlations dropped): MicroBooNE's choice for the final tune.
``SHAPE``
    normalisation-free, NUISANCE-like: the prediction is scaled to the data's integral over the 58 bins
    (k = Σ data·a / Σ pred·a, a = bin areas Δp·Δcos) and the flux-normalisation component is removed from the
    covariance (C − C_norm = stat + shape syst); χ² = Δ'ᵀ (C − C_norm)⁻¹ Δ' with Δ' = k·pred − data. One extra
    degree of freedom is used by k (ndf = bins − parameters − 1). The fitted NormCCMEC then only controls the
    MEC *fraction*, not the absolute rate; ``integral_ratio`` reports the *unscaled* prediction's integral.

Every fit: ``Minuit`` with ``errordef = 1`` (least squares), limits = the prior box, strategy 2, MIGRAD from
several seeded starting points (uniform in the box, plus the box centre; the lowest valid minimum wins, guarding
against local minima), then HESSE (parabolic errors) and MINOS (asymmetric errors, which may be invalid at a
limit: validity is recorded per parameter, never hidden).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nutune.dials import PARAMETER_NAMES, PHYSICAL_LABELS, PHYSICAL_UNITS, to_dial
from nutune.io import atomic_write, derive_seed, rng

__all__ = ["FitResult", "fit_chi2", "fit_all_modes", "fit_table", "read_sbi_t2k", "plot_classical_fits"]

log = logging.getLogger(__name__)

Simulator = Callable[[np.ndarray], np.ndarray]


@dataclass
class FitResult:
    """One χ² fit.

    Attributes:
        mode: FULL, DIAG, SHAPE or NORMSHAPE.
        values: Best-fit physical parameters (d,).
        hesse: HESSE parabolic errors (d,).
        minos_lower: MINOS lower errors (d,), negative numbers (NaN if MINOS failed).
        minos_upper: MINOS upper errors (d,) (NaN if MINOS failed).
        minos_valid: Whether each MINOS interval is valid (both sides).
        at_limit: Whether each parameter ended at (within 1e-4 box widths of) a limit.
        chi2_min: Minimum χ².
        ndf: Degrees of freedom (bins − free parameters, − 1 more for SHAPE per measurement: 2 for T2K + MINERvA).
        integral_ratio: Σ pred·area / Σ data·area of the unscaled best-fit prediction.
        valid: MIGRAD's ``fmin.is_valid`` of the best start.
        accurate: ``fmin.has_accurate_covar`` after HESSE.
        edm: Estimated distance to minimum.
        n_starts: Number of MIGRAD starts.
        n_valid_starts: Number of starts that converged validly.
        spread: χ² spread of the valid minima (max − min); large = multiple local minima.
    """

    mode: str
    values: np.ndarray
    hesse: np.ndarray
    minos_lower: np.ndarray
    minos_upper: np.ndarray
    minos_valid: np.ndarray
    at_limit: np.ndarray
    chi2_min: float
    ndf: int
    integral_ratio: float
    valid: bool
    accurate: bool
    edm: float
    n_starts: int
    n_valid_starts: int
    spread: float


def fit_chi2(
    simulator: Simulator,
    data: np.ndarray,
    cov: np.ndarray,
    mode: str,
    lower: Sequence[float],
    upper: Sequence[float],
    *,
    seed: int,
    areas: np.ndarray,
    cov_norm: np.ndarray | None = None,
    n_starts: int = 6,
    minos: bool = True,
    names: Sequence[str] = PARAMETER_NAMES,
    parts: Mapping[str, slice] | None = None,
) -> FitResult:
    """Minimise χ²(sim(θ), data; C, mode) over the prior box with iminuit (MIGRAD, HESSE, MINOS).

    Args:
        simulator: Batched deterministic simulator θ (n, d) → (n, bins).
        data: Measured histogram (bins,).
        cov: Total covariance (bins, bins) (stat + syst + norm).
        mode: ``FULL``, ``DIAG``, ``SHAPE`` or ``NORMSHAPE`` (:mod:`nutune.chi2`).
        lower: Box lower bounds = Minuit limits.
        upper: Box upper bounds.
        seed: Seed for the starting points (e.g. ``derive_seed(cfg.seed, "classical", mode)``).
        areas: Bin areas Δp·Δcos (for SHAPE and for the integral ratio).
        cov_norm: Flux-normalisation component removed from ``cov`` in SHAPE mode.
        n_starts: Number of random MIGRAD starts (the box centre is always added).
        minos: Run MINOS on the best minimum.
        names: Parameter names for Minuit.
        parts: A joint measurement's parts (``JointBinned.parts``): the χ² is the sum over parts
            (:mod:`nutune.chi2`, SHAPE/NORMSHAPE per experiment).

    Returns:
        A :class:`FitResult`.
    """
    from iminuit import Minuit

    from nutune.chi2 import Chi2, shape_normalisations

    lo = np.asarray(lower, dtype=float)
    hi = np.asarray(upper, dtype=float)
    data = np.asarray(data, dtype=float)
    areas = np.asarray(areas, dtype=float)
    cost_fn = Chi2(data, cov, mode, areas=areas, cov_norm=cov_norm if mode == "SHAPE" else None, parts=parts)
    names = list(names)

    def cost(*theta: float) -> float:
        point = np.asarray(theta, dtype=float)
        if np.any(point < lo) or np.any(point > hi):  # MINOS fixes the scanned dial beyond a limit it reaches
            return 1e30
        pred = np.asarray(simulator(point[None, :]), dtype=float)[0]
        try:
            return float(cost_fn(pred))
        except ValueError:  # non-finite or non-positive prediction: reject the point
            return 1e30

    g = rng(seed, "classical", "starts")
    starts = [0.5 * (lo + hi)] + [lo + (hi - lo) * g.random(lo.size) for _ in range(n_starts)]
    best = None
    minima = []
    for start in starts:
        m = Minuit(cost, *start, name=names)
        m.errordef = Minuit.LEAST_SQUARES
        m.limits = list(zip(lo, hi, strict=True))
        m.strategy = 2
        m.errors = 0.05 * (hi - lo)
        m.migrad()
        if m.fmin.is_valid:
            minima.append(m.fval)
        if best is None or (m.fmin.is_valid, -m.fval) > (best.fmin.is_valid, -best.fval):
            best = m
    assert best is not None
    best.hesse()
    d = lo.size
    mlo, mhi, mval = np.full(d, np.nan), np.full(d, np.nan), np.zeros(d, dtype=bool)
    if minos:
        for i, name in enumerate(names):
            try:
                best.minos(name)
                me = best.merrors[name]
                mlo[i], mhi[i], mval[i] = me.lower, me.upper, bool(me.is_valid)
            except RuntimeError as err:  # MINOS can fail outright, e.g. at a limit
                log.warning("%s: MINOS failed for %s: %s", mode, name, err)
    values = np.array(best.values, dtype=float)
    pred = np.asarray(simulator(values[None, :]), dtype=float)[0]
    ndf = data.size - d - (shape_normalisations(parts) if mode == "SHAPE" else 0)
    result = FitResult(
        mode=mode,
        values=values,
        hesse=np.array(best.errors, dtype=float),
        minos_lower=mlo,
        minos_upper=mhi,
        minos_valid=mval,
        at_limit=(np.abs(values - lo) < 1e-4 * (hi - lo)) | (np.abs(values - hi) < 1e-4 * (hi - lo)),
        chi2_min=float(best.fval),
        ndf=int(ndf),
        integral_ratio=float(pred @ areas / (data @ areas)),
        valid=bool(best.fmin.is_valid),
        accurate=bool(best.fmin.has_accurate_covar),
        edm=float(best.fmin.edm),
        n_starts=len(starts),
        n_valid_starts=len(minima),
        spread=float(max(minima) - min(minima)) if minima else math.nan,
    )
    log.info("%s fit: chi2 = %.2f / %d, theta = %s, integral ratio %.3f, valid %s", mode, result.chi2_min, ndf,
             np.array2string(values, precision=4), result.integral_ratio, result.valid)
    return result


def fit_all_modes(
    simulator: Simulator,
    data: np.ndarray,
    cov_total: np.ndarray,
    cov_norm: np.ndarray,
    areas: np.ndarray,
    lower: Sequence[float],
    upper: Sequence[float],
    *,
    seed: int,
    modes: Sequence[str] = ("FULL", "DIAG", "SHAPE"),
    n_starts: int = 6,
    names: Sequence[str] = PARAMETER_NAMES,
    parts: Mapping[str, slice] | None = None,
) -> list[FitResult]:
    """:func:`fit_chi2` for each mode, seeds ``derive_seed(seed, mode)``."""
    return [
        fit_chi2(simulator, data, cov_total, mode, lower, upper, seed=derive_seed(seed, mode), areas=areas,
                 cov_norm=cov_norm, n_starts=n_starts, names=names, parts=parts)
        for mode in modes
    ]


def fit_table(fits: Sequence[FitResult], names: Sequence[str] = PARAMETER_NAMES) -> list[dict[str, Any]]:
    """One row per fit for ``results/tables/classical_fit.csv``.

    Columns: ``mode, chi2_min, ndf, chi2_per_ndf, integral_ratio, valid, accurate, edm, n_starts,
    n_valid_starts, chi2_spread`` and per parameter ``<p>``, ``<p>_hesse``, ``<p>_minos_lower`` (≤ 0),
    ``<p>_minos_upper``, ``<p>_minos_valid``, ``<p>_at_limit``, ``<p>_dial`` (GENIE dial of the best fit).
    """
    rows = []
    for f in fits:
        row: dict[str, Any] = {
            "mode": f.mode, "chi2_min": f.chi2_min, "ndf": f.ndf, "chi2_per_ndf": f.chi2_min / f.ndf,
            "integral_ratio": f.integral_ratio, "valid": f.valid, "accurate": f.accurate, "edm": f.edm,
            "n_starts": f.n_starts, "n_valid_starts": f.n_valid_starts, "chi2_spread": f.spread,
        }
        for i, p in enumerate(names):
            row[p] = f.values[i]
            row[f"{p}_hesse"] = f.hesse[i]
            row[f"{p}_minos_lower"] = f.minos_lower[i]
            row[f"{p}_minos_upper"] = f.minos_upper[i]
            row[f"{p}_minos_valid"] = bool(f.minos_valid[i])
            row[f"{p}_at_limit"] = bool(f.at_limit[i])
            row[f"{p}_dial"] = float(to_dial(p, f.values[i]))
        rows.append(row)
    return rows


def read_sbi_t2k(path: str | Path | None) -> dict[str, tuple[float, float, float]] | None:
    """SBI-on-T2K values from ``results/tables/t2k.csv`` (``nutune.tables.t2k_table``: columns ``dial_name,
    central, minus, plus``) as {dial name: (central, err_minus, err_plus)}, or ``None`` if absent or unreadable."""
    import pandas as pd

    if path is None or not Path(path).exists():
        return None
    try:
        t = pd.read_csv(path)
        return {
            str(r["dial_name"]): (float(r["central"]), float(r["minus"]), float(r["plus"]))
            for _, r in t.iterrows()
        }
    except (KeyError, ValueError) as err:
        log.warning("cannot read SBI T2K results from %s: %s", path, err)
        return None


def plot_classical_fits(
    fits: Sequence[FitResult],
    out_pdf: str | Path,
    lower: Sequence[float],
    upper: Sequence[float],
    *,
    sbi_t2k: Mapping[str, tuple[float, float, float]] | None = None,
    tune: tuple[np.ndarray, np.ndarray] | None = None,
    names: Sequence[str] = PARAMETER_NAMES,
    labels: Sequence[str] = PHYSICAL_LABELS,
    units: Sequence[str] = PHYSICAL_UNITS,
) -> None:
    """Per parameter: FULL / DIAG / SHAPE best fits (MINOS errors, HESSE where MINOS is invalid), SBI-T2K (throw
    errors) and the MicroBooNE tune, on the prior box; a last panel shows the prediction/data integral ratio per
    fit, where Peelle's Pertinent Puzzle appears as a FULL fit far below 1. Writes PDF + PNG.

    Args:
        fits: The fits.
        out_pdf: Figure path; the PNG is written next to it.
        lower: Prior box lower bounds.
        upper: Prior box upper bounds.
        sbi_t2k: {parameter: (central, err_minus, err_plus)} from :func:`read_sbi_t2k`, or ``None``.
        tune: (values (d,), errors (d, 2) minus/plus) of the MicroBooNE tune, or ``None``.
        names: Parameter names.
        labels: Axis labels.
        units: Units of the parameters ("" for dimensionless).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nutune.figures import save_figure

    d = len(names)
    ncols = d + 1 if d <= 4 else 4  # the paper's one row for four dials; rows of four panels beyond
    nrows = -(-(d + 1) // ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 3.4 * nrows), layout="constrained",
                             squeeze=False)
    axes = list(grid.flat)
    for ax in axes[d + 1:]:
        ax.remove()
    for i, ax in enumerate(axes[:d]):
        ylabels: list[str] = []
        y = 0
        for j, f in enumerate(fits):
            if f.minos_valid[i]:
                err = [[-f.minos_lower[i]], [f.minos_upper[i]]]
            else:
                err = [[f.hesse[i]], [f.hesse[i]]]
            bar = ax.errorbar(f.values[i], y, xerr=err, fmt="o", color=f"C{j}", capsize=3,
                              mfc="white" if f.at_limit[i] else f"C{j}")
            if not f.minos_valid[i]:
                bar.lines[2][0].set_linestyle("--")
            ylabels.append(f"{f.mode} fit")
            y += 1
        if sbi_t2k is not None and names[i] in sbi_t2k:
            c, em, ep = sbi_t2k[names[i]]
            ax.errorbar(c, y, xerr=[[em], [ep]], fmt="s", color="tab:blue", capsize=3)
            ylabels.append("SBI (T2K)")
            y += 1
        if tune is not None:
            ax.errorbar(tune[0][i], y, xerr=[[tune[1][i, 0]], [tune[1][i, 1]]], fmt="x", color="tab:red",
                        capsize=3)
            ylabels.append("MicroBooNE tune")
            y += 1
        ax.axvspan(lower[i], upper[i], color="orange", alpha=0.12, lw=0)
        ax.set_xlim(lower[i] - 0.05 * (upper[i] - lower[i]), upper[i] + 0.05 * (upper[i] - lower[i]))
        ax.set_yticks(range(y), ylabels if i % ncols == 0 else [""] * y, fontsize=8)
        ax.set_ylim(-0.7, y - 0.3)
        ax.set_xlabel(f"{labels[i]} [{units[i]}]" if units[i] else labels[i])
    axes[0].set_title("open: at a limit; dashed: HESSE (MINOS invalid)", fontsize=7, loc="left")
    ax = axes[d]
    ratios = [f.integral_ratio for f in fits]
    ax.barh(range(len(fits)), ratios, color=[f"C{j}" for j in range(len(fits))])
    ax.axvline(1.0, color="k", lw=1)
    for j, r in enumerate(ratios):
        ax.text(r, j, f" {r:.2f}", va="center", fontsize=8)
    ax.set_yticks(range(len(fits)), [f"{f.mode}\nχ²={f.chi2_min:.1f}/{f.ndf}" for f in fits], fontsize=8)
    ax.set_xlim(0, max(1.3, max(ratios) * 1.2))
    ax.set_xlabel("prediction / data integral")
    ax.set_title("Peelle's pertinent puzzle", fontsize=9)
    save_figure(fig, out_pdf, dpi=120, tight=False)


def run_classical(
    simulator: Simulator,
    measurement: Any,
    lower: Sequence[float],
    upper: Sequence[float],
    *,
    seed: int,
    out_csv: str | Path,
    out_figure: str | Path,
    sbi_t2k_csv: str | Path | None = None,
    modes: Sequence[str] = ("FULL", "DIAG", "SHAPE"),
    n_starts: int = 6,
    space: Any = None,
) -> list[FitResult]:
    """The ``classical_fit`` rule: fit every mode to the T2K data, write the table and the comparison figure.

    Args:
        simulator: Batched simulator (the built-in templates' ``evaluate``).
        measurement: :class:`nutune.resources.T2KMeasurement` (values, cov_total, cov_norm, areas).
        lower: Prior box lower bounds.
        upper: Prior box upper bounds.
        seed: Stage seed (``derive_seed(cfg.seed, "classical")``).
        out_csv: ``results/tables/classical_fit.csv``.
        out_figure: ``results/figures/classical_fit.pdf`` (+ PNG).
        sbi_t2k_csv: ``results/tables/t2k.csv`` if available.
        modes: χ² modes (``chi2.modes``).
        n_starts: Random MIGRAD starts per mode.
        space: The :class:`nutune.parameter_space.ParameterSpace` (free dials, labels, the MicroBooNE tune and
            its errors); default the four builtin dials.

    Returns:
        The fits.
    """
    import pandas as pd

    from nutune.parameter_space import ParameterSpace

    if space is None:
        space = ParameterSpace(PARAMETER_NAMES, np.asarray(lower), np.asarray(upper))
    fits = fit_all_modes(simulator, measurement.values, measurement.cov_total, measurement.cov_norm,
                         measurement.areas, lower, upper, seed=seed, modes=modes, n_starts=n_starts,
                         names=space.names, parts=getattr(measurement, "parts", None))
    with atomic_write(out_csv, suffix=".csv") as tmp:
        pd.DataFrame(fit_table(fits, names=space.names)).to_csv(tmp, index=False, float_format="%.6g")
    plot_classical_fits(fits, out_figure, lower, upper, sbi_t2k=read_sbi_t2k(sbi_t2k_csv),
                        tune=(space.microboone_tune, space.microboone_tune_errors), names=space.names,
                        labels=space.labels, units=space.units)
    return fits
