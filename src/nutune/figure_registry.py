"""Every figure of the paper, registered once: a new figure is one draw function and one :data:`FIGURES` line.

``workflow/rules/figures.smk`` has ONE rule, ``figure``, over the ``{figure}`` wildcard: its inputs, report category
and caption come from the registry entry (inputs by *kind*, resolved to paths by ``get_figure_inputs`` in
``common.smk``). Only ``slice_comparison``, which also writes the nine single-slice figures, keeps its own rule.
Importing this module is cheap (no torch, no matplotlib): ``common.smk`` reads it at parse time.

A draw function takes ``(cfg, inputs, pdf, png)``: the typed config, the rule's named inputs and the two output
paths.

Input kinds: ``test_posteriors`` and ``metrics`` (results/diagnostics/), ``losses`` (every member's loss curve),
``t2k_throws``, ``t2k_posterior``, ``t2k_data`` (the T2K resource files), ``posteriors`` (every observation),
``likelihood_modes`` (``results/tables/likelihood_modes.csv``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Figure", "FIGURES", "SLICE_FIGURES", "slice_figures", "figure_names", "draw"]


@dataclass(frozen=True)
class Figure:
    """One registered figure: ``results/figures/{name}.pdf|png``."""

    draw: Callable[[Any, Mapping[str, Any], str, str], None]
    #: input name -> input kind (see the module docstring)
    inputs: Mapping[str, str]
    category: str
    caption: str
    #: drawn only when the config has a T2K data observation
    needs_data: bool = False
    #: config sections the figure reads (rule params, so a change re-draws it)
    reads: tuple[str, ...] = field(default=())
    #: drawn only when the config has this observation
    observation: str | None = None
    #: an extension figure: part of ``rule all`` only when this config section has ``activate: true``
    section: str | None = None


def _labels(cfg) -> list[str]:
    from nutune.figures import axis_labels

    return axis_labels([p.label for p in cfg.parameters], [p.unit for p in cfg.parameters])


def _box(cfg) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(cfg.prior_low), np.asarray(cfg.prior_high)


def _test_set(inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    with np.load(inputs["samples"], allow_pickle=False) as data:
        test = {key: np.asarray(data[key]) for key in data.files}
    test["samples"] = test["samples"].astype(float)
    return test


def _read(path: str, key: str = "samples") -> np.ndarray:
    with np.load(path, allow_pickle=False) as data:
        return np.asarray(data[key])


# ------------------------------------------------------------------------------------------------ draw functions
def test_posterior_corner(cfg, inputs, pdf, png) -> None:
    from nutune.figures import plot_posterior_corner

    test = _test_set(inputs)
    index = int(cfg.diagnostics.corner_index) % len(test["samples"])
    plot_posterior_corner(test["samples"][index], _labels(cfg), pdf, png, truth=test["theta_true"][index],
                          title=f"posterior of test simulation {index}")


def residual_corner(cfg, inputs, pdf, png) -> None:
    from nutune.figures import plot_residual_corner

    test = _test_set(inputs)
    plot_residual_corner(test["samples"], test["theta_true"], _labels(cfg), pdf, png)


def true_vs_predicted(cfg, inputs, pdf, png) -> None:
    from nutune.figures import plot_true_vs_predicted

    test = _test_set(inputs)
    plot_true_vs_predicted(test["samples"], test["theta_true"], _labels(cfg), pdf, png, prior_box=_box(cfg),
                           n_points=int(cfg.diagnostics.n_pulls))


def pulls(cfg, inputs, pdf, png) -> None:
    from nutune.figures import plot_pulls, pulls_from_samples

    test = _test_set(inputs)
    values = test["pulls"] if "pulls" in test else pulls_from_samples(test["samples"], test["theta_true"])
    plot_pulls(values[: int(cfg.diagnostics.n_pulls)], _labels(cfg), pdf, png)


def coverage(cfg, inputs, pdf, png) -> None:
    import json

    from nutune.figures import coverage_curves, plot_coverage

    test = _test_set(inputs)
    metrics = json.loads(Path(inputs["metrics"]).read_text())
    levels, marginal, joint, tarp = coverage_curves(metrics, test["samples"], test["theta_true"],
                                                    cfg.diagnostics.coverage_levels)
    plot_coverage(levels, marginal, _labels(cfg), pdf, png, joint=joint, tarp=tarp)


def sbc_ranks(cfg, inputs, pdf, png) -> None:
    from nutune.figures import plot_sbc_ranks

    test = _test_set(inputs)
    samples, theta_true = test["samples"], test["theta_true"]
    ranks = test["sbc_ranks"] if "sbc_ranks" in test else (samples < theta_true[:, None, :]).sum(axis=1)
    plot_sbc_ranks(ranks, samples.shape[1], _labels(cfg), pdf, png)


def loss_curve(cfg, inputs, pdf, png) -> None:
    from nutune.figures import plot_loss_curves, read_loss_curve

    losses = inputs["losses"]
    plot_loss_curves([read_loss_curve(p) for p in ([losses] if isinstance(losses, str) else losses)], pdf, png)


def t2k_throws_variation(cfg, inputs, pdf, png) -> None:
    from nutune.figures import plot_throws_variation
    from nutune.measurements import load_data

    measurement = load_data(cfg)
    error = np.sqrt(np.diag(measurement.cov_total))
    plot_throws_variation(_read(inputs["throws"], "x_throws"), measurement.values, error, pdf, png)


def t2k_posterior_corner(cfg, inputs, pdf, png) -> None:
    from nutune.figures import plot_posterior_corner

    plot_posterior_corner(_read(inputs["posterior"]), _labels(cfg), pdf, png, title="posterior for the T2K CC0π data")


def parameter_summary(cfg, inputs, pdf, png) -> None:
    from nutune.figures import plot_parameter_summary, summary_entries

    posteriors = {Path(p).stem: _read(p) for p in inputs["posteriors"]}
    entries = summary_entries(cfg.raw["observations"], posteriors, _read(inputs["throws"]))
    space = cfg.parameter_space
    plot_parameter_summary(entries, _labels(cfg), _box(cfg), pdf, png,
                           tune=(space.microboone_tune, space.microboone_tune_errors))


def slice_comparison(cfg, inputs, pdf, png, *, slices_pdf=(), slices_png=()) -> None:
    """The slice grid and one figure per slice of the measurement (its own rule; T2K: 3×3 and nine, 20 outputs)."""
    from nutune import figures
    from nutune.forward import chi2_predictions
    from nutune.measurements import measurement_of

    spec = measurement_of(cfg)
    measurement = spec.load(cfg.simulator.bins)
    slices = spec.slices(data=measurement)
    error = np.sqrt(np.diag(measurement.cov_total))
    wanted = ("MicroBooNE tune (GENIE)", "NuWro", "inferred NuWro", "inferred T2K")
    medians = {Path(p).stem: np.median(_read(p), axis=0) for p in inputs["posteriors"]}
    data_labels = {f"inferred {name}" for name, obs in cfg.observations.items() if obs.kind == "data"}
    curves = {label.replace("inferred", "Inferred"): x
              for label, x in chi2_predictions(cfg, medians).items()
              if label in wanted or label in data_labels or (not spec.published and label.startswith("builtin at"))}
    figures.plot_slice_grid(slices, measurement.values, error, curves, pdf, png, x_label=spec.x_label,
                            y_label=spec.y_label)
    for index, (one_pdf, one_png) in enumerate(zip(slices_pdf, slices_png, strict=True)):
        figures.plot_slice_comparison(index, slices, measurement.values, error, curves, one_pdf, one_png,
                                      x_label=slices[index].x_label or spec.x_label)


#: Posterior draws per posterior-predictive band (each one built-in prediction).
_PREDICTIVE_DRAWS = 1000


def _posterior_predictive(observation: str, title: str):
    """Draw function of ``posterior_predictive_<observation>``: the observation over the built-in predictions at
    its posterior draws (and, for the data, at the throws' draws: one posterior draw per covariance throw)."""

    def draw(cfg, inputs, pdf, png) -> None:
        from nutune import figures
        from nutune.forward import builtin_prediction, observed_histogram
        from nutune.measurements import measurement_of

        spec = measurement_of(cfg)
        measurement = spec.load(cfg.simulator.bins)
        posteriors = {Path(p).stem: p for p in inputs["posteriors"]}
        samples = _read(posteriors[observation])[:_PREDICTIVE_DRAWS]
        bands = {"posterior draws": figures.predictive_band(builtin_prediction(cfg, samples))}
        is_data = cfg.observations[observation].kind == "data"
        if is_data and "throws" in inputs:
            throws = _read(inputs["throws"])[:_PREDICTIVE_DRAWS]
            bands["throws (papers' method)"] = figures.predictive_band(builtin_prediction(cfg, throws))
        error = np.sqrt(np.diag(measurement.cov_total)) if is_data else None
        label = "T2K data (total error)" if is_data else f"{observation} curve"
        figures.plot_posterior_predictive(spec.slices(data=measurement), observed_histogram(cfg, observation), error,
                                          label, bands, title, pdf, png, x_label=spec.x_label, y_label=spec.y_label)

    return draw


def likelihood_modes(cfg, inputs: Mapping[str, Any], pdf: str, png: str) -> None:
    """Per-dial answers of every (method, χ² mode) of ``likelihood_modes.csv``, nutune's T2K answer highlighted."""
    import pandas as pd

    from nutune.dials import PARAMETER_NAMES
    from nutune.figures import plot_likelihood_modes
    from nutune.likelihood_modes import CHOSEN, METHOD_LABELS

    table = pd.read_csv(inputs["table"])
    names = list(PARAMETER_NAMES)
    labels = [f"{METHOD_LABELS[m]}, {mode}" for m, mode in zip(table["method"], table["mode"], strict=True)]
    hit = np.flatnonzero((table["method"] == CHOSEN[0]).to_numpy() & (table["mode"] == CHOSEN[1]).to_numpy())
    if hit.size != 1:
        raise ValueError(f"likelihood_modes.csv has no row for nutune's answer {CHOSEN}")
    chi2_text = [f"{c:.1f}/{n}" for c, n in zip(table["chi2"], table["ndf"], strict=True)]
    low, high = _box(cfg)
    plot_likelihood_modes(labels, table[names].to_numpy(float), table[[f"{n}_minus" for n in names]].to_numpy(float),
                          table[[f"{n}_plus" for n in names]].to_numpy(float), table["norm_ratio"].to_numpy(float),
                          chi2_text, _labels(cfg), low, high, int(hit[0]), pdf, png)


# ------------------------------------------------------------------------------------------------------ registry
_TEST = {"samples": "test_posteriors"}
#: Every figure (file stem -> entry), in the order of the paper.
FIGURES: dict[str, Figure] = {
    "test_posterior_corner": Figure(test_posterior_corner, _TEST, "Calibration", "Posterior of one test simulation "
                                    "(row `diagnostics.corner_index`) with the true parameters marked.",
                                    reads=("diagnostics",)),
    "residual_corner": Figure(residual_corner, _TEST, "Calibration",
                              "Fractional residuals (posterior median - truth) / truth over the test set."),
    "true_vs_predicted": Figure(true_vs_predicted, _TEST, "Calibration", "True vs predicted parameters (posterior "
                                "median, 68 % interval) for test rows.", reads=("diagnostics",)),
    "pulls": Figure(pulls, _TEST, "Calibration", "Pulls (median - truth) / posterior width with a Gaussian fit and "
                    "N(0, 1).", reads=("diagnostics",)),
    "coverage": Figure(coverage, {**_TEST, "metrics": "metrics"}, "Calibration",
                       "Expected coverage of the four marginals, the joint and TARP.", reads=("diagnostics",)),
    "sbc_ranks": Figure(sbc_ranks, {**_TEST, "metrics": "metrics"}, "Calibration",
                        "SBC rank histograms of the four parameters."),
    "loss_curve": Figure(loss_curve, {"losses": "losses"}, "Training",
                         "Training and validation loss per epoch of each ensemble member."),
    "t2k_throws_variation": Figure(t2k_throws_variation, {"throws": "t2k_throws", "data": "t2k_data"}, "T2K",
                                   "Mean and standard deviation per bin of the T2K data throws, with the data.",
                                   needs_data=True, reads=("simulator",)),
    "parameter_summary": Figure(parameter_summary, {"posteriors": "posteriors", "throws": "t2k_throws"}, "T2K",
                                "Prior boxes, the MicroBooNE tune and the inferred parameters.", needs_data=True,
                                reads=("observations", "simulator")),  # the parameter space (backend) for the tune
    "t2k_posterior_corner": Figure(t2k_posterior_corner, {"posterior": "t2k_posterior"}, "T2K",
                                   "Posterior of the four parameters for the T2K data.", needs_data=True),
    "slice_comparison": Figure(slice_comparison, {"posteriors": "posteriors", "data": "t2k_data"}, "T2K",
                               "The nine cos(theta) slices (own rule, see figures.smk).", needs_data=True,
                               reads=("observations", "simulator")),
}
FIGURES.update({
    f"posterior_predictive_{name}": Figure(
        _posterior_predictive(name, title), {"posteriors": "posteriors", **({"throws": "t2k_throws"} if name == "t2k"
                                                                          else {})},
        "Posterior predictive", f"{title}: the built-in predictions at {_PREDICTIVE_DRAWS} posterior draws, "
        "median and 68 % / 95 % bands per bin, over the observation, per cos(theta) slice"
        + (" (and at the covariance throws' draws, the papers' method)." if name == "t2k" else "."),
        needs_data=name == "t2k", observation=name, reads=("observations", "simulator"))
    for name, title in (("t2k", "T2K CC0π data"), ("nuwro", "NuWro (real NuWro prediction)"),
                        ("genie_microboone_tune", "GENIE at the MicroBooNE tune"))
})

FIGURES["likelihood_modes"] = Figure(
    likelihood_modes, {"table": "likelihood_modes"}, "T2K", "The T2K tune in the four χ² modes (FULL, DIAG, SHAPE, "
    "NORMSHAPE) by the classical fit, the noise-aware NPE and the papers' throws: central values and 68 % intervals "
    "per dial and the predicted/data normalisation; nutune's answer highlighted (README \"Which likelihood\").",
    needs_data=True, section="likelihood_modes")

def slice_figures(spec, bins: int | None = None) -> list[str]:
    """The per-slice comparison figures of a measurement (``MeasurementSpec.slices``), drawn with the grid panel."""
    return [f"slice_comparison_{one.index}" for one in spec.slices(bins)]


#: The per-slice figures of the default measurement (the nine cos θ slices 0..8 of T2K CC0π Analysis I).
SLICE_FIGURES: list[str] = [f"slice_comparison_{index}" for index in range(9)]
#: Figures with their own rule (more outputs than one PDF + PNG).
OWN_RULE = ("slice_comparison",)


def figure_names(has_data: bool, *, one_rule_only: bool = False) -> list[str]:
    """The registered figures a config draws (those needing the T2K data only when it has a data observation)."""
    return [name for name, entry in FIGURES.items()
            if (has_data or not entry.needs_data) and not (one_rule_only and name in OWN_RULE)]


def draw(name: str, cfg, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> None:
    """Draw registered figure ``name`` to ``outputs["pdf"]``, ``outputs["png"]`` (and any extra named outputs)."""
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; known: {', '.join(FIGURES)}")
    extra = {key: value for key, value in outputs.items() if key not in ("pdf", "png")}
    FIGURES[name].draw(cfg, inputs, outputs["pdf"], outputs["png"], **extra)
