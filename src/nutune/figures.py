"""The paper's figures (arXiv:2603.09778 §9 list, paper.md §9.1), one function per figure, each saved as PDF + PNG.

Every function takes plain numpy arrays (no file reading; see ``nutune.figure_registry`` for that), draws with
matplotlib's Agg backend, labels every axis with its unit and writes ``pdf_path`` and ``png_path`` atomically.
Parameters are physical values in ``nutune.dials.PARAMETER_NAMES`` order; histograms are in
10⁻³⁸ cm²/(GeV/c)/nucleon in the T2K bin order.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from nutune.dials import MICROBOONE_TUNE_PHYSICAL, PARAMETER_NAMES, REGISTRY  # noqa: E402
from nutune.io import atomic_write  # noqa: E402

__all__ = [
    "XSEC_UNIT",
    "MICROBOONE_TUNE_ERRORS",
    "SummaryEntry",
    "axis_labels",
    "save_figure",
    "read_loss_curve",
    "coverage_curves",
    "summary_entries",
    "plot_posterior_corner",
    "plot_residual_corner",
    "plot_true_vs_predicted",
    "plot_pulls",
    "pulls_from_samples",
    "plot_coverage",
    "plot_sbc_ranks",
    "plot_loss_curves",
    "plot_throws_variation",
    "plot_parameter_summary",
    "plot_slice_comparison",
    "plot_slice_grid",
    "plot_likelihood_modes",
]

#: Unit of the T2K double-differential cross section (matplotlib mathtext).
XSEC_UNIT = r"$10^{-38}$ cm$^2$/(GeV/$c$)/nucleon"
XSEC_LABEL = r"d$^2\sigma$/d$p_\mu$ dcos$\theta_\mu$ [" + XSEC_UNIT + "]"
#: The MicroBooNE tune's 1-sigma errors as the SBI authors draw them (lower, upper), paper.md §3.4:
#: 1.10 ± 0.10 GeV, 1.66 ± 0.50, 1.0 (−1/+0), 0.85 ± 0.40.
MICROBOONE_TUNE_ERRORS = np.array([REGISTRY[n].microboone_tune_error for n in PARAMETER_NAMES])
_MODEL_STYLES = {
    "MicroBooNE tune (GENIE)": {"color": "tab:red", "linestyle": "-"},
    "NuWro": {"color": "tab:green", "linestyle": "-"},
    "Inferred NuWro": {"color": "tab:green", "linestyle": "--"},
    "Inferred T2K": {"color": "tab:blue", "linestyle": "-"},
}
_FALLBACK_COLORS = ("tab:purple", "tab:orange", "tab:brown", "tab:gray", "tab:olive", "tab:cyan")


def axis_labels(labels: Sequence[str], units: Sequence[str]) -> list[str]:
    """Axis labels ``label [unit]`` (label only for dimensionless parameters); plain labels get mathtext for M_A."""
    out = []
    for label, unit in zip(labels, units, strict=True):
        text = r"$M_A^{QE}$" if label in ("M_A^QE", "M_A") else label
        out.append(f"{text} [{unit}]" if unit else text)
    return out


def save_figure(fig: plt.Figure, pdf_path: str | os.PathLike, png_path: str | os.PathLike | None = None,
                dpi: int = 150, *, tight: bool = True) -> None:
    """Save ``fig`` as PDF and PNG (atomically, each renamed into place only when complete) and close it.

    The one figure-save helper of nutune. ``png_path`` defaults to ``pdf_path`` with the suffix ``.png``;
    ``tight`` crops to the drawn area (``bbox_inches="tight"``). The PDF carries no creation date (matplotlib's
    ``metadata={"CreationDate": None}``), so the same figure is the same file on every run, as the PNG already is.
    """
    png_path = Path(pdf_path).with_suffix(".png") if png_path is None else png_path
    extra = {"bbox_inches": "tight"} if tight else {}
    for path, fmt in ((pdf_path, "pdf"), (png_path, "png")):
        metadata = {"CreationDate": None} if fmt == "pdf" else None
        with atomic_write(path, suffix=f".{fmt}") as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata=metadata, **extra)
    plt.close(fig)


def read_loss_curve(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Epoch, train and validation loss of one ``results/model/loss_{member}.csv``."""
    table = np.genfromtxt(path, delimiter=",", names=True)
    return {key: np.atleast_1d(table[key]) for key in ("epoch", "train_loss", "val_loss")}


def coverage_curves(metrics: Mapping, samples: np.ndarray, theta_true: np.ndarray, n_levels: int):
    """(levels, marginal, joint, tarp) of the coverage figure: from ``metrics.json`` if it holds them, else the
    marginal central-interval coverage of the test draws (joint and TARP then None)."""
    coverage = metrics.get("coverage", {})
    if isinstance(coverage, Mapping) and "levels" in coverage and "marginal" in coverage:
        joint = coverage.get("joint")
        tarp = metrics.get("tarp", {})
        tarp_curve = (np.asarray(tarp["alpha"]), np.asarray(tarp["ecp"])) if "alpha" in tarp else None
        return (np.asarray(coverage["levels"]), np.asarray(coverage["marginal"]),
                None if joint is None else np.asarray(joint), tarp_curve)
    levels = np.linspace(0, 1, n_levels)
    # rank of the truth among the draws -> central-interval coverage at each level
    quantile = (samples < theta_true[:, None, :]).mean(axis=1)
    marginal = np.array([[np.mean(np.abs(quantile[:, i] - 0.5) <= level / 2) for level in levels]
                         for i in range(samples.shape[2])])
    return levels, marginal, None, None


def _medians(samples: np.ndarray) -> np.ndarray:
    return np.median(samples, axis=1)


# ----------------------------------------------------------------------------------------------------------------
# calibration on the test set
# ----------------------------------------------------------------------------------------------------------------
def plot_posterior_corner(
    samples: np.ndarray,
    labels: Sequence[str],
    pdf_path: str | os.PathLike,
    png_path: str | os.PathLike,
    *,
    truth: np.ndarray | None = None,
    title: str = "",
) -> None:
    """Corner plot of one posterior ((S, 4) physical samples), with the truth marked when given.

    Axis ranges are the 0.1–99.9 % sample quantiles widened by 20 % (the posteriors are much narrower than the
    prior box).
    """
    import corner

    samples = np.asarray(samples, dtype=float)
    lo, hi = np.percentile(samples, [0.1, 99.9], axis=0)
    pad = 0.2 * np.maximum(hi - lo, 1e-9)
    ranges = [(a - p, b + p) for a, b, p in zip(lo, hi, pad, strict=True)]
    if truth is not None:
        ranges = [(min(r[0], t - 0.05 * (r[1] - r[0])), max(r[1], t + 0.05 * (r[1] - r[0]))) for r, t in
                  zip(ranges, truth, strict=True)]
    fig = corner.corner(
        samples,
        labels=list(labels),
        range=ranges,
        truths=None if truth is None else list(truth),
        truth_color="tab:red",
        quantiles=[0.16, 0.5, 0.84],
        show_titles=True,
        title_fmt=".3f",
        levels=(0.39, 0.86),
        plot_datapoints=False,
        fill_contours=True,
        smooth=1.0,
        color="tab:blue",
        label_kwargs={"fontsize": 11},
        title_kwargs={"fontsize": 9},
    )
    if title:
        fig.suptitle(title, y=1.03, fontsize=12)
    if truth is not None:
        fig.legend(
            handles=[plt.Line2D([], [], color="tab:red", label="true value"),
                     plt.Line2D([], [], color="tab:blue", label="posterior (39 %, 86 % contours)")],
            loc="upper right", frameon=False,
        )
    save_figure(fig, pdf_path, png_path)


def plot_residual_corner(
    samples: np.ndarray,
    theta_true: np.ndarray,
    labels: Sequence[str],
    pdf_path: str | os.PathLike,
    png_path: str | os.PathLike,
) -> None:
    """Corner plot of the fractional residuals (median − truth)/truth in % over the test set (68 % contour).

    Parameters whose true value can be zero (MEC norm, MEC shape) use the residual divided by the prior-free
    scale max(|truth|, 0.05) to stay finite.
    """
    import corner

    med = _medians(np.asarray(samples, dtype=float))
    truth = np.asarray(theta_true, dtype=float)
    residual = 100.0 * (med - truth) / np.maximum(np.abs(truth), 0.05)
    lo, hi = np.percentile(residual, [1, 99], axis=0)
    span = np.maximum(np.abs(lo), np.abs(hi)) * 1.2 + 1e-6
    fig = corner.corner(
        residual,
        labels=[f"Δ{label} [%]" for label in labels],
        range=[(-s, s) for s in span],
        levels=(0.68,),
        plot_datapoints=True,
        data_kwargs={"alpha": 0.3, "ms": 2},
        quantiles=[0.16, 0.5, 0.84],
        show_titles=True,
        title_fmt=".2f",
        truths=[0.0] * residual.shape[1],
        truth_color="k",
        color="tab:blue",
        label_kwargs={"fontsize": 10},
        title_kwargs={"fontsize": 9},
    )
    fig.suptitle(f"fractional residuals of the posterior median, {len(residual)} test simulations", y=1.02)
    save_figure(fig, pdf_path, png_path)


def panel_grid(n_panels: int, panel_size: tuple[float, float] = (4.5, 3.5)) -> tuple[plt.Figure, list]:
    """A figure with one axis per parameter: 2×2 for up to four (the papers' layout), else up to four columns;
    unused axes are removed. Returns (figure, the ``n_panels`` axes in order)."""
    ncols = 2 if n_panels <= 4 else min(4, int(np.ceil(np.sqrt(n_panels))))
    nrows = int(np.ceil(n_panels / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows), squeeze=False)
    flat = list(axes.flat)
    for ax in flat[n_panels:]:
        ax.remove()
    return fig, flat[:n_panels]


def plot_true_vs_predicted(
    samples: np.ndarray,
    theta_true: np.ndarray,
    labels: Sequence[str],
    pdf_path: str | os.PathLike,
    png_path: str | os.PathLike,
    *,
    prior_box: tuple[np.ndarray, np.ndarray],
    n_points: int = 100,
) -> None:
    """2×2 panels: posterior median with its 16–84 % interval against the true value (physical units)."""
    samples = np.asarray(samples, dtype=float)[:n_points]
    truth = np.asarray(theta_true, dtype=float)[:n_points]
    med = np.median(samples, axis=1)
    p16, p84 = np.percentile(samples, [16, 84], axis=1)
    fig, axes = panel_grid(truth.shape[1], (4.5, 4.0))
    low, high = prior_box
    for i, ax in enumerate(axes):
        ax.errorbar(truth[:, i], med[:, i], yerr=[med[:, i] - p16[:, i], p84[:, i] - med[:, i]], fmt="o", ms=3,
                    color="tab:blue", ecolor="tab:blue", alpha=0.7, label="posterior median, 68 % interval")
        ax.plot([low[i], high[i]], [low[i], high[i]], "k--", lw=1, label="predicted = true")
        ax.set_xlim(low[i], high[i])
        ax.set_ylim(low[i], high[i])
        ax.set_xlabel(f"true {labels[i]}")
        ax.set_ylabel(f"predicted {labels[i]}")
        ax.set_aspect("equal")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.suptitle(f"true vs predicted, {len(truth)} test simulations")
    fig.tight_layout()
    save_figure(fig, pdf_path, png_path)


def plot_pulls(
    pulls: np.ndarray,
    labels: Sequence[str],
    pdf_path: str | os.PathLike,
    png_path: str | os.PathLike,
) -> np.ndarray:
    """2×2 histograms of the pulls (one column per parameter) with a Gaussian fit and the N(0, 1) reference.

    ``nutune.diagnostics`` defines pull = (posterior mean − truth)/σ with σ = (p84 − p16)/2, so calibrated
    Gaussian posteriors give N(0, 1).

    Returns:
        (4, 2) fitted (mean, sigma) per parameter.
    """
    pulls = np.asarray(pulls, dtype=float)
    grid = np.linspace(-5, 5, 400)
    fits = np.zeros((pulls.shape[1], 2))
    fig, axes = panel_grid(pulls.shape[1])
    for i, ax in enumerate(axes):
        values = pulls[:, i][np.isfinite(pulls[:, i])]
        mu, sigma = stats.norm.fit(values)
        fits[i] = mu, sigma
        ax.hist(values, bins=np.linspace(-5, 5, 26), density=True, color="tab:blue", alpha=0.5,
                label=f"pulls ({len(values)} test simulations)")
        ax.plot(grid, stats.norm.pdf(grid, mu, sigma), color="tab:blue",
                label=f"Gaussian fit: μ = {mu:.2f}, σ = {sigma:.2f}")
        ax.plot(grid, stats.norm.pdf(grid), "k--", label="N(0, 1)")
        ax.set_xlabel(f"pull of {labels[i]}  (mean − true)/σ")
        ax.set_ylabel("density")
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, pdf_path, png_path)
    return fits


def pulls_from_samples(samples: np.ndarray, theta_true: np.ndarray) -> np.ndarray:
    """Pulls (posterior mean − truth)/σ with σ = (p84 − p16)/2, the ``nutune.diagnostics`` convention."""
    samples = np.asarray(samples, dtype=float)
    p16, p84 = np.percentile(samples, [16, 84], axis=1)
    return (samples.mean(axis=1) - np.asarray(theta_true)) / np.maximum(0.5 * (p84 - p16), 1e-12)


def plot_coverage(
    levels: np.ndarray,
    marginal: np.ndarray,
    labels: Sequence[str],
    pdf_path: str | os.PathLike,
    png_path: str | os.PathLike,
    *,
    joint: np.ndarray | None = None,
    tarp: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """Expected coverage: empirical vs nominal credibility for the four marginals, the joint and TARP.

    Args:
        levels: (L,) nominal credibility levels in [0, 1].
        marginal: (4, L) empirical coverage of each marginal.
        joint: (L,) empirical coverage of the joint posterior (highest-density regions).
        tarp: (alpha, ecp) of TARP: nominal levels and expected coverage probability.
    """
    levels = np.asarray(levels, dtype=float)
    fig, ax = plt.subplots(figsize=(6.5, 6))
    ax.fill_between([0, 1], [-0.2, 0.8], [0.2, 1.2], color="0.9", label="±0.2")
    ax.fill_between([0, 1], [-0.1, 0.9], [0.1, 1.1], color="0.8", label="±0.1")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="ideal")
    for i, label in enumerate(labels):
        ax.plot(levels, np.asarray(marginal)[i], lw=1.8, label=label)
    if joint is not None:
        ax.plot(levels, joint, color="k", lw=2, label="joint D(θ)")
    if tarp is not None:
        ax.plot(tarp[0], tarp[1], color="tab:purple", lw=2, ls=":", label="TARP")
    ax.text(0.05, 0.9, "under-confident", fontsize=10, color="0.3")
    ax.text(0.6, 0.08, "over-confident", fontsize=10, color="0.3")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("credibility level")
    ax.set_ylabel("empirical coverage")
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=8, bbox_to_anchor=(1.0, 0.15))
    save_figure(fig, pdf_path, png_path)


def plot_sbc_ranks(
    ranks: np.ndarray,
    n_samples: int,
    labels: Sequence[str],
    pdf_path: str | os.PathLike,
    png_path: str | os.PathLike,
    *,
    n_bins: int = 20,
) -> None:
    """SBC rank histograms (rank of the truth among ``n_samples`` posterior draws) with the uniform 99 % band."""
    ranks = np.asarray(ranks)
    n = len(ranks)
    edges = np.linspace(0, n_samples + 1, n_bins + 1)
    expected = n / n_bins
    lo, hi = stats.binom.ppf([0.005, 0.995], n, 1.0 / n_bins)
    fig, axes = panel_grid(ranks.shape[1])
    for i, ax in enumerate(axes):
        ax.axhspan(lo, hi, color="0.85", label="uniform, 99 % band")
        ax.axhline(expected, color="k", lw=1)
        ax.hist(ranks[:, i], bins=edges, color="tab:blue", alpha=0.7, label="test simulations")
        ax.set_xlabel(f"rank of true {labels[i]} among {n_samples} posterior draws")
        ax.set_ylabel("test simulations per bin")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, pdf_path, png_path)


def plot_loss_curves(
    curves: Sequence[Mapping[str, np.ndarray]],
    pdf_path: str | os.PathLike,
    png_path: str | os.PathLike,
) -> None:
    """Training and validation loss (negative log posterior density, unit-box parameters) per epoch per member."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for member, curve in enumerate(curves):
        color = f"C{member % 10}"
        ax.plot(curve["epoch"], curve["train_loss"], color=color, label=f"member {member}: training")
        ax.plot(curve["epoch"], curve["val_loss"], color=color, ls="--", label=f"member {member}: validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss  (−log q(θ|x), θ scaled to the prior box)")
    ax.legend(fontsize=8)
    save_figure(fig, pdf_path, png_path)


# ----------------------------------------------------------------------------------------------------------------
# T2K results
# ----------------------------------------------------------------------------------------------------------------
def plot_throws_variation(
    x_throws: np.ndarray,
    data: np.ndarray,
    data_error: np.ndarray,
    pdf_path: str | os.PathLike,
    png_path: str | os.PathLike,
) -> None:
    """Mean ±1σ per bin of the data throws (drawn from the T2K covariance), with the data and its total error."""
    x_throws = np.asarray(x_throws, dtype=float)
    bins = np.arange(x_throws.shape[1])
    mean, std = x_throws.mean(axis=0), x_throws.std(axis=0)
    fig, (ax, ratio) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.fill_between(bins, mean - std, mean + std, step="mid", color="tab:blue", alpha=0.3,
                    label=f"throws: mean ± 1σ ({len(x_throws)} throws)")
    ax.step(bins, mean, where="mid", color="tab:blue")
    ax.errorbar(bins, data, yerr=data_error, fmt="o", ms=3, color="k", label="T2K data, total error")
    ax.set_ylabel(XSEC_LABEL, fontsize=9)
    ax.set_yscale("log")
    ax.legend(fontsize=9)
    ratio.axhline(1.0, color="k", lw=1)
    ratio.fill_between(bins, 1 - std / np.abs(data), 1 + std / np.abs(data), step="mid", color="tab:blue",
                       alpha=0.3)
    ratio.plot(bins, mean / data, "o", ms=2, color="tab:blue")
    ratio.set_ylabel("throws / data")
    ratio.set_xlabel("bin index (T2K order: cos θ_μ slices, p_μ ascending)")
    fig.tight_layout()
    save_figure(fig, pdf_path, png_path)


@dataclass(frozen=True)
class SummaryEntry:
    """One point of the parameter summary plot: a central value with (lower, upper) errors per parameter."""

    label: str
    central: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    marker: str = "o"
    color: str = "tab:blue"


def summary_entries(observations: Mapping[str, Mapping], posteriors: Mapping[str, np.ndarray],
                    throws: np.ndarray) -> list[SummaryEntry]:
    """Inferred points of the parameter summary, one per observation in config order: the posterior median with
    its 68 % interval; for data observations the median of the throws' pooled draws with their asymmetric 68 %
    errors (paper.md §8.2; the same numbers as ``t2k.csv``)."""
    from nutune.inference import throw_intervals

    markers = {"builtin": ("*", "tab:purple"), "published": ("s", "tab:green"), "data": ("o", "tab:blue"),
               "measurement": ("D", "tab:red")}
    entries = []
    for name, spec in observations.items():
        samples = posteriors[name]
        central = np.median(samples, axis=0)
        if spec["kind"] == "data":
            central, lower, upper = throw_intervals(throws)
        else:
            p16, p84 = np.percentile(samples, [16, 84], axis=0)
            lower, upper = central - p16, p84 - central
        marker, color = markers[spec["kind"]]
        if spec.get("variant") == "nuwro_like" or spec.get("column") == "nuwro":
            color = "tab:olive" if spec["kind"] == "builtin" else "tab:green"
        entries.append(SummaryEntry(f"inferred {name}", central, lower, upper, marker, color))
    return entries


def plot_parameter_summary(
    entries: Sequence[SummaryEntry],
    labels: Sequence[str],
    prior_box: tuple[np.ndarray, np.ndarray],
    pdf_path: str | os.PathLike,
    png_path: str | os.PathLike,
    *,
    show_microboone_tune: bool = True,
    tune: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """One panel per parameter: the prior box (orange), the MicroBooNE tune ±1σ (``tune`` = (values (d,),
    (d, 2) minus/plus errors), default the four MicroBooNE dials) and each inferred point."""
    low, high = prior_box
    all_entries = list(entries)
    if show_microboone_tune:
        values, errors = tune if tune is not None else (MICROBOONE_TUNE_PHYSICAL, MICROBOONE_TUNE_ERRORS)
        all_entries.insert(0, SummaryEntry("MicroBooNE tune ±1σ", np.asarray(values), np.asarray(errors)[:, 0],
                                           np.asarray(errors)[:, 1], "x", "tab:red"))
    n = len(all_entries)
    ncols = len(labels) if len(labels) <= 4 else 4  # one row for the papers' four dials, rows of four beyond
    nrows = -(-len(labels) // ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 4.2 * nrows), squeeze=False)
    for ax in list(grid.flat)[len(labels):]:
        ax.remove()
    for i, ax in enumerate(list(grid.flat)[:len(labels)]):
        width = high[i] - low[i]
        ax.add_patch(plt.Rectangle((-0.5, low[i]), n, width, color="tab:orange", alpha=0.2,
                                   label="prior range" if i == 0 else None))
        for k, entry in enumerate(all_entries):
            ax.errorbar([k], [entry.central[i]], yerr=[[entry.lower[i]], [entry.upper[i]]], fmt=entry.marker,
                        color=entry.color, ms=8, capsize=4, label=entry.label if i == 0 else None)
        ax.set_xlim(-0.5, n - 0.5)
        ax.set_ylim(low[i] - 0.08 * width, high[i] + 0.08 * width)
        ax.set_xticks(range(n))
        ax.set_xticklabels([e.label.replace(" ±1σ", "") for e in all_entries], rotation=40, ha="right", fontsize=8)
        ax.set_ylabel(labels[i])
    fig.legend(loc="upper center", ncol=min(n + 1, 4), fontsize=8, bbox_to_anchor=(0.5, 1.08), frameon=False)
    fig.tight_layout()
    save_figure(fig, pdf_path, png_path)


SliceSpec = Mapping[str, np.ndarray] | Sequence[Any]


def _slices(spec: SliceSpec) -> tuple:
    """The panels (:class:`nutune.measurements.Slice`) of a slice spec: the slices themselves, or a T2K bin table
    (arrays ``slice``, ``cos_lo``, ``cos_hi``, ``p_lo``, ``p_hi``), cut into its cos θ_μ slices."""
    if isinstance(spec, Mapping):
        from nutune.measurements.t2k_cc0pi_2016 import slices_from_table

        return slices_from_table(spec)
    return tuple(spec)


def _slice_axes(
    ax: plt.Axes,
    one,
    data: np.ndarray,
    data_error: np.ndarray,
    curves: Mapping[str, np.ndarray],
) -> None:
    rows, x_lo, x_hi = one.rows, np.asarray(one.x_lo), np.asarray(one.x_hi)
    centers = 0.5 * (x_lo + x_hi)
    half = 0.5 * (x_hi - x_lo)
    edges = np.append(x_lo, x_hi[-1])
    for k, (label, values) in enumerate(curves.items()):
        style = _MODEL_STYLES.get(label, {"color": _FALLBACK_COLORS[k % len(_FALLBACK_COLORS)], "linestyle": "-"})
        ax.stairs(np.asarray(values)[rows], edges, label=label, lw=1.6, **style)
    ax.errorbar(centers, data[rows], xerr=half, yerr=data_error[rows], fmt="o", ms=3, color="k",
                label="T2K data (total error)")
    ax.set_title(one.title, fontsize=10)
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(bottom=0)


#: Axis labels of the slice panels of the default measurement (T2K CC0π: steps in p_μ per cos θ_μ slice).
SLICE_X_LABEL = r"$p_\mu$ [GeV/$c$]"
SLICE_Y_LABEL = r"d$^2\sigma$/d$p_\mu$ dcos$\theta_\mu$"


def plot_slice_comparison(
    slice_index: int,
    bin_table: SliceSpec,
    data: np.ndarray,
    data_error: np.ndarray,
    curves: Mapping[str, np.ndarray],
    pdf_path: str | os.PathLike,
    png_path: str | os.PathLike,
    *,
    x_label: str = SLICE_X_LABEL,
    y_label: str = XSEC_LABEL,
) -> None:
    """One slice (for T2K one cos θ_μ slice: d²σ/dp dcosθ vs p_μ) for the data and each model curve (steps).

    Args:
        bin_table: the measurement's slices (``MeasurementSpec.slices``) or a T2K bin table (:func:`_slices`).
        curves: legend label -> (bins,) prediction.
    """
    one = next(s for s in _slices(bin_table) if s.index == slice_index)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    _slice_axes(ax, one, data, data_error, curves)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label, fontsize=9)
    ax.legend(fontsize=8)
    save_figure(fig, pdf_path, png_path)


def plot_slice_grid(
    bin_table: SliceSpec,
    data: np.ndarray,
    data_error: np.ndarray,
    curves: Mapping[str, np.ndarray],
    pdf_path: str | os.PathLike,
    png_path: str | os.PathLike,
    *,
    x_label: str = SLICE_X_LABEL,
    y_label: str = SLICE_Y_LABEL,
) -> None:
    """All slices in a grid of three columns (same content as :func:`plot_slice_comparison`)."""

    def draw(ax, one):
        _slice_axes(ax, one, data, data_error, curves)

    _slice_grid(_slices(bin_table), draw, pdf_path, png_path, legend_y=1.02, x_label=x_label, y_label=y_label)


def _slice_grid(slices: Sequence[Any], draw_slice, pdf_path, png_path, *, legend_y: float, title: str | None = None,
                x_label: str = SLICE_X_LABEL, y_label: str = SLICE_Y_LABEL) -> None:
    """The slices in rows of three (3×3 for T2K's nine): ``draw_slice(ax, slice)`` fills one panel; shared axis
    labels, one legend from the first panel, the unit, optional suptitle."""
    n_rows = max(1, -(-len(slices) // 3))
    fig, axes = plt.subplots(n_rows, 3, figsize=(14, 11 * n_rows / 3), squeeze=False)
    # panels with their own x label (the parts of a joint measurement) are each labelled
    own = {getattr(s, "x_label", None) for s in slices} - {None}
    for index, ax in enumerate(axes.flat):
        if index >= len(slices):
            ax.set_visible(False)
            continue
        draw_slice(ax, slices[index])
        if own:
            ax.set_xlabel(getattr(slices[index], "x_label", None) or x_label, fontsize=8)
        elif index >= 3 * (n_rows - 1):
            ax.set_xlabel(x_label)
        if index % 3 == 0:
            ax.set_ylabel(y_label, fontsize=10)
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="upper center", ncol=len(names), fontsize=10, bbox_to_anchor=(0.5, legend_y),
               frameon=False)
    if title is not None:
        fig.suptitle(title, y=1.06, fontsize=12)
    fig.text(0.005, 0.5, "[" + XSEC_UNIT + "]", rotation=90, va="center", fontsize=10)
    fig.tight_layout(rect=(0.015, 0, 1, 1))
    save_figure(fig, pdf_path, png_path)


def predictive_band(predictions: np.ndarray) -> dict[str, np.ndarray]:
    """Per-bin median and central 68 % / 95 % intervals of predictions (n, bins)."""
    q = np.quantile(np.asarray(predictions, dtype=float), [0.025, 0.16, 0.5, 0.84, 0.975], axis=0)
    return {"lo95": q[0], "lo68": q[1], "median": q[2], "hi68": q[3], "hi95": q[4]}


def plot_posterior_predictive(
    bin_table: SliceSpec,
    observed: np.ndarray,
    observed_error: np.ndarray | None,
    observed_label: str,
    bands: Mapping[str, Mapping[str, np.ndarray]],
    title: str,
    pdf_path: str | os.PathLike,
    png_path: str | os.PathLike,
    *,
    x_label: str = SLICE_X_LABEL,
    y_label: str = SLICE_Y_LABEL,
) -> None:
    """The observation per slice (T2K: per cos θ_μ slice) with posterior-predictive bands (68 % filled, 95 % light) of each band set.

    Args:
        observed_error: per-bin error bars of the observation (the data's total error) or None (a model curve).
        bands: legend label -> :func:`predictive_band` of the predictions at posterior (or throw) draws.
    """
    colors = ("C0", "C1", "C2", "C3")

    def draw(ax, one):
        rows, x_lo, x_hi = one.rows, np.asarray(one.x_lo), np.asarray(one.x_hi)
        edges = np.append(x_lo, x_hi[-1])
        for k, (label, band) in enumerate(bands.items()):
            color = colors[k % len(colors)]
            ax.stairs(band["hi95"][rows], edges, baseline=band["lo95"][rows], fill=True, alpha=0.15, color=color)
            ax.stairs(band["hi68"][rows], edges, baseline=band["lo68"][rows], fill=True, alpha=0.35, color=color,
                      label=f"{label}: 68 % / 95 %")
            ax.stairs(band["median"][rows], edges, color=color, lw=1.2)
        centers = 0.5 * (x_lo + x_hi)
        yerr = None if observed_error is None else observed_error[rows]
        ax.errorbar(centers, observed[rows], xerr=0.5 * (x_hi - x_lo), yerr=yerr, fmt="o", ms=3,
                    color="k", label=observed_label)
        ax.set_title(one.title, fontsize=10)
        ax.set_xlim(edges[0], edges[-1])
        ax.set_ylim(bottom=0)

    _slice_grid(_slices(bin_table), draw, pdf_path, png_path, legend_y=1.03, title=title, x_label=x_label,
                y_label=y_label)


def plot_likelihood_modes(
    labels: Sequence[str],
    central: np.ndarray,
    minus: np.ndarray,
    plus: np.ndarray,
    norm_ratio: np.ndarray,
    chi2_own: Sequence[str],
    parameter_labels: Sequence[str],
    low: np.ndarray,
    high: np.ndarray,
    chosen: int,
    pdf_path: str | os.PathLike,
    png_path: str | os.PathLike | None = None,
) -> None:
    """Per-dial central values and 68 % intervals of every (method, mode) answer, the chosen one highlighted.

    Args:
        labels: (R,) row labels ("noise-aware NPE, NORMSHAPE", ...), top to bottom.
        central, minus, plus: (R, 4) central values and asymmetric 68 % errors (physical units).
        norm_ratio: (R,) predicted / data normalisation at the central value.
        chi2_own: (R,) text "χ²/ndf" of each row in its own mode, printed beside the normalisation.
        parameter_labels: axis labels of the four parameters (with units).
        low, high: (4,) the prior box (the x range; its edges drawn).
        chosen: index of the row nutune reports as the T2K tune (drawn in colour, with a band).
    """
    rows = len(labels)
    y = np.arange(rows)[::-1]
    fig, axes = plt.subplots(1, 5, figsize=(17, 0.42 * rows + 1.8), sharey=True,
                             gridspec_kw={"width_ratios": [1, 1, 1, 1, 0.8]})
    for j, ax in enumerate(axes[:4]):
        for i in range(rows):
            colour = "C3" if i == chosen else "0.35"
            ax.errorbar(central[i, j], y[i], xerr=[[minus[i, j]], [plus[i, j]]], fmt="o", color=colour,
                        ms=6 if i == chosen else 4, capsize=3, lw=2 if i == chosen else 1)
        ax.axvspan(central[chosen, j] - minus[chosen, j], central[chosen, j] + plus[chosen, j], color="C3",
                   alpha=0.12, lw=0)
        for edge in (low[j], high[j]):
            ax.axvline(edge, color="k", lw=0.8, ls=":")
        span = high[j] - low[j]
        ax.set_xlim(low[j] - 0.05 * span, high[j] + 0.05 * span)
        ax.set_xlabel(parameter_labels[j])
        for b in range(1, 3):
            ax.axhline(rows - 4 * b - 0.5, color="0.7", lw=0.6)
    ax = axes[4]
    ax.barh(y, norm_ratio, color=["C3" if i == chosen else "0.6" for i in range(rows)], height=0.6)
    ax.axvline(1.0, color="k", lw=0.8)
    for i in range(rows):
        ax.text(0.02, y[i], chi2_own[i], va="center", fontsize=7, color="w" if norm_ratio[i] > 0.3 else "k")
    ax.set_xlim(0, max(1.2, float(np.max(norm_ratio)) * 1.05))
    ax.set_xlabel("predicted / data normalisation (χ²/ndf own mode)")
    axes[0].set_yticks(y, labels)
    fig.suptitle("T2K CC0π tune in four χ² modes: classical fit, noise-aware NPE, the papers' throws "
                 f"(red: nutune's answer, {labels[chosen]}; dotted: prior box)", fontsize=10)
    fig.tight_layout()
    save_figure(fig, pdf_path, png_path)


def constraints_figure(table, shift=None, measurement_label: str = "") -> plt.Figure:
    """What the data constrain (:func:`nutune.constraints.constraint_table`): per dial the posterior's 68 % width
    over the prior's (left), the posterior correlations (middle) and, with a baseline tune's dials
    (:func:`nutune.constraints.dial_set_shift_table`), this run's interval for them in units of the baseline's
    (right: the baseline is 0 ± 1). ``measurement_label`` names this run's data in the legend (e.g. "T2K +
    MINERvA" for a joint run against a T2K-only baseline)."""
    from nutune.constraints import PRIOR_DOMINATED

    names = list(table["dial_name"])
    n = len(names)
    columns = 3 if shift is not None else 2
    fig, axes = plt.subplots(1, columns, figsize=(5.2 * columns, 0.32 * n + 2.4),
                             gridspec_kw={"width_ratios": [1, 1.15, 0.9][:columns]})
    y = np.arange(n)[::-1]
    ax = axes[0]
    ratio = table["width_ratio"].to_numpy()
    ax.barh(y, ratio, color=["0.65" if r >= PRIOR_DOMINATED else "C0" for r in ratio], height=0.65)
    ax.axvline(1.0, color="k", lw=0.8)
    ax.axvline(PRIOR_DOMINATED, color="k", lw=0.6, ls=":")
    ax.set_yticks(y, names)
    ax.set_xlim(0, max(1.05, float(ratio.max()) * 1.05))
    ax.set_xlabel("posterior / prior 68 % width (grey: prior-dominated)")
    ax = axes[1]
    corr = table[[f"corr_{m}" for m in names]].to_numpy()
    image = ax.imshow(corr, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(n), names, rotation=90, fontsize=7)
    ax.set_yticks(range(n), names, fontsize=7)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03, label="posterior correlation")
    if shift is not None:
        ax = axes[2]
        half = 0.5 * (shift["minus_baseline"] + shift["plus_baseline"]).to_numpy()
        yb = np.arange(len(shift))[::-1]
        ax.errorbar(np.zeros(len(shift)), yb + 0.12, xerr=1.0, fmt="s", color="0.4", capsize=3,
                    label=f"{int(shift['n_free_baseline'].iloc[0])} free dials (baseline)")
        ax.errorbar(shift["shift_sigma"], yb - 0.12, xerr=[shift["minus"] / half, shift["plus"] / half], fmt="o",
                    color="C3", capsize=3, label=f"{int(shift['n_free'].iloc[0])} free dials"
                    + (f", {measurement_label}" if measurement_label else ""))
        ax.axvline(0.0, color="k", lw=0.6)
        ax.set_yticks(yb, list(shift["dial_name"]))
        ax.set_xlabel("median − baseline median [baseline 68 % half-width]")
        ax.set_ylim(-0.7, len(shift) - 0.3)
        ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=1, frameon=False)
    fig.suptitle("What the data constrain: noise-aware posterior for the observed data", fontsize=10)
    fig.tight_layout()
    return fig
