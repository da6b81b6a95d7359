"""The configured forward model, built in one place: the built-in templates of the config, the backend simulator
of the bank, and the predictions compared with the T2K data (χ² table, slice figures).

Import is cheap (numpy only); the simulator and the GENIE backend are imported when first called.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["builtin_templates", "builtin_simulator", "builtin_prediction", "backend_simulator", "chi2_predictions",
           "chi2_at_median", "chi2_at_median_vs_measurement", "chi2_rows", "observed_histogram",
           "observation_covariance", "throw_source", "training_noise_covariance"]

#: A batched simulator: physical free-dial theta (n, d) -> histograms (n, bins) (``cfg.parameter_space``).
Simulator = Callable[[np.ndarray], np.ndarray]


def builtin_templates(cfg: Any, variant: str = "nominal"):
    """The built-in simulator's templates of the configured measurement (``simulator.measurement``) with the
    configured ``simulator.builtin`` settings (cached on disk, one file per measurement)."""
    from nutune.measurements import name_of
    from nutune.simulator import get_templates

    b = cfg.simulator.builtin
    return get_templates(variant, sample_seed=b.sample_seed, n_events=b.n_events, cache_dir=b.cache_dir,
                         measurement=name_of(cfg.simulator))


def builtin_simulator(cfg: Any, variant: str = "nominal") -> Simulator:
    """The configured built-in templates as a batched simulator: free-dial theta (n, d) -> x (n, bins), the fixed
    and unlisted dials filled in by ``cfg.parameter_space``. A joint measurement (``nutune.measurements.joint``) is
    the concatenation of each part's templates at the same θ, in the parts' order."""
    from nutune.measurements import name_of, part_bins, split_name
    from nutune.simulator import get_templates

    bins, space = cfg.simulator.bins, cfg.parameter_space
    names = split_name(name_of(cfg.simulator))
    if len(names) == 1:
        templates = builtin_templates(cfg, variant)
        return lambda theta: templates.evaluate(space.full(np.atleast_2d(theta)), bins=bins, names=space.target)
    b = cfg.simulator.builtin
    parts = [(get_templates(variant, sample_seed=b.sample_seed, n_events=b.n_events, cache_dir=b.cache_dir,
                            measurement=name), part)
             for name, part in zip(names, part_bins(names, bins), strict=True)]

    def simulate(theta: np.ndarray) -> np.ndarray:
        full = space.full(np.atleast_2d(theta))
        return np.hstack([t.evaluate(full, bins=part, names=space.target) for t, part in parts])

    return simulate


def builtin_prediction(cfg: Any, theta: np.ndarray, variant: str = "nominal") -> np.ndarray:
    """The built-in simulator at physical free-dial ``theta`` ((d,) or (n, d)) with the configured settings."""
    theta = np.asarray(theta, dtype=float)
    x = builtin_simulator(cfg, variant)(np.atleast_2d(theta))
    return x[0] if theta.ndim == 1 else x


def backend_simulator(cfg: Any, workdir: str | os.PathLike | None = None,
                      events_file: str | os.PathLike | None = None) -> Simulator:
    """The simulator of ``simulator.backend``: the built-in templates, or GENIE reweighting of prepared events."""
    if cfg.simulator.backend == "builtin":
        return builtin_simulator(cfg)
    from nutune import genie

    return lambda theta: genie.simulate_points(theta, cfg=cfg, workdir=workdir, events_file=events_file)


def chi2_predictions(cfg: Any, medians: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The predictions compared with the T2K data (label -> (bins,) histogram), in table order.

    Published curves (the real GENIE MicroBooNE tune, NuWro), the builtin simulator at the MicroBooNE tune and at
    the GENIE nominal, and "inferred X" = the builtin simulator at the posterior median of observation X
    (``medians[X]``), for the published curves and the data (paper.md §8.3).
    """
    from nutune.resources import load_published

    observations = cfg.observations
    predictions: dict[str, np.ndarray] = {}
    published = {obs.column: name for name, obs in observations.items() if obs.kind == "published"}
    data = [name for name, obs in observations.items() if obs.kind == "data"]

    def inferred(name: str) -> np.ndarray:
        return builtin_prediction(cfg, medians[name])

    if cfg.simulator.bins == 58 and "microboone_tune" in published:
        predictions["MicroBooNE tune (GENIE)"] = load_published("microboone_tune", 58)
    predictions["builtin at MicroBooNE tune"] = builtin_prediction(cfg, cfg.parameter_space.microboone_tune)
    if "microboone_tune" in published:
        predictions["inferred MicroBooNE tune"] = inferred(published["microboone_tune"])
    if cfg.simulator.bins == 58 and "nuwro" in published:
        predictions["NuWro"] = load_published("nuwro", 58)
        predictions["inferred NuWro"] = inferred(published["nuwro"])
    from nutune.measurements import DEFAULT, name_of

    t2k = name_of(cfg.simulator) == DEFAULT
    for name in data:
        predictions["inferred T2K" if len(data) == 1 and t2k else f"inferred {name}"] = inferred(name)
    predictions["nominal (G18_10a_02_11a)"] = builtin_prediction(cfg, cfg.parameter_space.nominal)
    return predictions


def chi2_at_median(cfg: Any, samples: np.ndarray) -> dict[str, float]:
    """χ² vs the T2K data of the builtin simulator at the posterior median, per configured mode."""
    from nutune.chi2 import chi2_all_modes
    from nutune.measurements import load_data

    prediction = builtin_prediction(cfg, np.median(samples, axis=0))
    values = chi2_all_modes(prediction, load_data(cfg), cfg.chi2.modes)
    return {mode: float(value) for mode, value in values.items()}


def chi2_at_median_vs_measurement(cfg: Any, name: str, samples: np.ndarray) -> dict[str, float]:
    """χ² of the builtin simulator at the posterior median against a user's ``measurement`` ``name`` itself, with
    its own covariance (the T2K bin areas for the shape modes), per configured mode (``measurements.csv``)."""
    from nutune.chi2 import chi2
    from nutune.measurements import load_data
    from nutune.resources import load_measurement

    areas = load_data(cfg).areas
    own = load_measurement(cfg.observations[name].file, cfg.simulator.bins)
    prediction = builtin_prediction(cfg, np.median(samples, axis=0))
    return {mode: float(chi2(prediction, own.values, own.cov, mode, areas=areas)) for mode in cfg.chi2.modes}


def chi2_rows(cfg: Any, medians: Mapping[str, np.ndarray]) -> list[dict[str, Any]]:
    """The χ² table: every prediction of :func:`chi2_predictions` against the T2K data in each configured mode."""
    from nutune.chi2 import chi2_all_modes
    from nutune.measurements import load_data

    measurement = load_data(cfg)
    rows = []
    for label, prediction in chi2_predictions(cfg, medians).items():
        values = chi2_all_modes(prediction, measurement, cfg.chi2.modes)
        rows.append({"prediction": label, **{mode: float(v) for mode, v in values.items()}, "n_bins": measurement.bins})
    return rows


def observed_histogram(cfg: Any, name: str) -> np.ndarray:
    """The observed histogram of observation ``name``: builtin mock, published curve or the T2K data."""
    from nutune.measurements import load_data
    from nutune.resources import load_published

    obs = cfg.observations[name]
    bins = cfg.simulator.bins
    if obs.kind == "data":
        return np.asarray(load_data(cfg).values, dtype=float)
    if obs.kind == "measurement":
        from nutune.resources import load_measurement

        return np.asarray(load_measurement(obs.file, bins).values, dtype=float)
    if obs.kind == "published":
        return np.asarray(load_published(obs.column, bins), dtype=float)
    return builtin_prediction(cfg, np.asarray(obs.point, dtype=float), variant=obs.variant)


def observation_covariance(cfg: Any, name: str) -> np.ndarray:
    """The covariance an observation is judged with (throws, posterior-predictive check): a ``measurement``'s own
    covariance from its CSV; for every other kind the T2K total covariance (the data the mocks stand in for)."""
    from nutune.measurements import load_data
    from nutune.resources import load_measurement

    obs = cfg.observations[name]
    if obs.kind == "measurement":
        return np.asarray(load_measurement(obs.file, cfg.simulator.bins).cov, dtype=float)
    return np.asarray(load_data(cfg).cov_total, dtype=float)


def throw_source(cfg: Any, name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(values, covariance, seed) of the covariance throws of observation ``name``: a ``measurement`` is thrown from
    its own full covariance with its own seed ``derive_seed(seed, "throws", name)``; the T2K data from the
    ``inference.throw_components`` of its covariance with the run's seed."""
    from nutune.io import derive_seed
    from nutune.measurements import load_data
    from nutune.resources import load_measurement

    if cfg.observations[name].kind == "measurement":
        own = load_measurement(cfg.observations[name].file, cfg.simulator.bins)
        return own.values, own.cov, derive_seed(cfg.seed, "throws", name)
    measurement = load_data(cfg)
    return measurement.values, measurement.cov(cfg.inference.throw_components), cfg.seed


def training_noise_covariance(cfg: Any) -> np.ndarray | None:
    """The covariance a noise-aware network (``npe.noise: covariance``) is trained with: the sum of the
    ``npe.noise_components`` of the T2K covariance; None for a noise-free network."""
    from nutune.measurements import load_data

    if cfg.npe.noise != "covariance":
        return None
    return load_data(cfg).cov(cfg.npe.noise_components)
