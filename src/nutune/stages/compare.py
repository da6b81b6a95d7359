"""Stages of compare.smk: the parameter tables, the χ² table, the T2K correlations, the simulator calibration and
the noise-aware posterior next to the throws."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from nutune.config import as_config
from nutune.io import derive_seed, read_observation, read_samples
from nutune.stages.common import load_model, medians, one_torch_thread

__all__ = ["run_posterior_table", "run_t2k_table", "run_measurement_table", "run_t2k_correlations",
           "run_chi2_table", "run_simulator_calibration", "run_noise_vs_throws", "run_constraints"]

_log = logging.getLogger("nutune")


def _mark(table, name: str, gate: str | None, flags: Mapping[str, str]):
    """Add the ``calibration_gate`` column (with a gate file) and the ``misspecified`` column (with flags)."""
    from nutune.gates import gate_marker

    if gate:
        table["calibration_gate"] = gate_marker(gate) or "passed"
    if flags:
        table["misspecified"] = flags[name]
    return table


def run_posterior_table(config: Mapping, *, posteriors: Mapping[str, str], output: str,
                        misspecification: str | None = None) -> None:
    """Rule ``posterior_table``: the parameter tables of several observations, one after another
    (:func:`nutune.tables.observation_parameter_table`), with the ``misspecified`` verdict of
    ``misspecification.csv`` (:mod:`nutune.misspecification`) when given."""
    import pandas as pd

    from nutune import tables
    from nutune.forward import chi2_at_median
    from nutune.misspecification import misspecified_flags

    cfg = as_config(config)
    flags = misspecified_flags(misspecification)
    parts = []
    for name, path in posteriors.items():
        samples = read_samples(path)
        part = tables.observation_parameter_table(name, cfg.raw["observations"][name], samples,
                                                  chi2=chi2_at_median(cfg, samples), ndf=cfg.simulator.bins,
                                                  names=cfg.dial_names)
        parts.append(_mark(part, name, None, flags))
    tables.write_table(pd.concat(parts, ignore_index=True), output)


def run_t2k_table(config: Mapping, *, posterior: str, throws: str, output: str, gate: str | None = None,
                  misspecification: str | None = None) -> None:
    """Rule ``t2k_table``: the T2K parameters with throw-based errors, next to the MicroBooNE tune.

    With a calibration gate (``gates.on_failure: warn``) the table gets a ``calibration_gate`` column: ``passed`` or
    ``UNCALIBRATED: failed <checks>`` (:func:`nutune.gates.gate_marker`), so a result built on a network that failed
    its test-set calibration can never be mistaken for a calibrated one.
    """
    from nutune import tables
    from nutune.forward import chi2_at_median
    from nutune.misspecification import misspecified_flags

    cfg = as_config(config)
    samples = read_samples(posterior)
    name = Path(posterior).stem
    table = tables.t2k_table(samples, read_samples(throws), chi2=chi2_at_median(cfg, samples),
                             ndf=cfg.simulator.bins, observation=name, names=cfg.dial_names)
    tables.write_table(_mark(table, name, gate, misspecified_flags(misspecification)), output)


def run_measurement_table(config: Mapping, *, posteriors: Mapping[str, str], throws: Mapping[str, str], output: str,
                          gate: str | None = None, misspecification: list[str] | None = None) -> None:
    """Rule ``measurement_table``: ``measurements.csv``, the columns of ``t2k.csv`` for each user measurement
    (throws from its own covariance; χ² against the measurement itself with its covariance,
    :func:`nutune.forward.chi2_at_median_vs_measurement`)."""
    import pandas as pd

    from nutune import tables
    from nutune.forward import chi2_at_median_vs_measurement
    from nutune.misspecification import misspecified_flags

    cfg = as_config(config)
    flags = misspecified_flags(misspecification)
    parts = []
    for name, path in posteriors.items():
        samples = read_samples(path)
        table = tables.t2k_table(samples, read_samples(throws[name]), ndf=cfg.simulator.bins, observation=name,
                                 chi2=chi2_at_median_vs_measurement(cfg, name, samples), names=cfg.dial_names)
        table["file"] = cfg.observations[name].file
        parts.append(_mark(table, name, gate, flags))
    tables.write_table(pd.concat(parts, ignore_index=True), output)


def run_t2k_correlations(config: Mapping, *, throws: str, output: str) -> None:
    """Rule ``t2k_correlations``: Pearson correlations of the free dials over the throw draws."""
    from nutune import tables

    names = as_config(config).dial_names
    correlation = np.atleast_2d(np.corrcoef(read_samples(throws), rowvar=False))
    tables.write_table(tables.t2k_correlations_table(correlation, names), output)


def run_chi2_table(config: Mapping, *, posteriors: Mapping[str, str], output: str) -> None:
    """Rule ``chi2_table``: chi2 of every prediction against the T2K data in each configured mode
    (:func:`nutune.forward.chi2_rows`)."""
    import pandas as pd

    from nutune.forward import chi2_rows
    from nutune.tables import write_table

    write_table(pd.DataFrame(chi2_rows(as_config(config), medians(posteriors))), output)


def run_simulator_calibration(builtin, *, output: str) -> None:
    """Rule ``simulator_calibration``: :func:`nutune.simulator.calibration.write_calibration_table` at the config's
    template seed and size (``simulator.builtin``, :class:`nutune.config.BuiltinSettings`; builtin vs real GENIE at
    the MicroBooNE tune; nuwro_like vs real NuWro)."""
    from nutune.simulator.calibration import write_calibration_table

    frame = write_calibration_table(output, sample_seed=int(builtin.sample_seed), n_events=int(builtin.n_events),
                                    cache_dir=builtin.cache_dir)
    chi2_rows = frame[frame["quantity"].str.startswith("chi2")]
    for _, row in chi2_rows.iterrows():
        _log.info("%s %s: %.3f", row["comparison"], row["quantity"], row["value"])


def run_noise_vs_throws(config: Mapping, *, model_paths: list[str], observation: str, throws: str,
                        output: str) -> None:
    """Rule ``noise_vs_throws``: the noise-aware posterior of the T2K data next to the throws result
    (:func:`nutune.tables.noise_vs_throws_table`); the network must be noise-aware (its metadata says so)."""
    from nutune.tables import noise_vs_throws_table, write_table

    one_torch_thread()
    cfg = as_config(config)
    posterior = load_model(cfg, model_paths)
    _require_noise_aware(posterior)
    x = read_observation(observation)
    samples = posterior.sample(cfg.inference.num_posterior_samples, x, seed=derive_seed(cfg.seed, "noise_vs_throws"))
    table = noise_vs_throws_table(samples, read_samples(throws), names=cfg.dial_names)
    write_table(table, output)
    _log.info("noise-aware vs throws width ratios: %s", np.array2string(table["width_ratio"].to_numpy(), precision=3))


def _require_noise_aware(posterior) -> None:
    """Refuse an ensemble any member of which was trained without noise (``npe.noise: none``)."""
    noise = [m.get("noise", {}) for m in posterior.metadata]
    if any((n.get("mode") if isinstance(n, Mapping) else n) in (None, "none") for n in noise):
        raise ValueError(f"noise_vs_throws needs a noise-aware network (npe.noise: covariance); got noise={noise}")


def run_constraints(config: Mapping, *, model_paths: list[str], observation: str, output: str,
                    figure: Mapping[str, str], shift_output: str | None = None) -> None:
    """Rule ``constraints``: what the data constrain per free dial (:func:`nutune.constraints.constraint_table`)
    from the noise-aware posterior (likelihood ``constraints.mode``) of the observation, its figure, and with
    ``constraints.baseline`` the shift of the dials the baseline run fitted
    (:func:`nutune.constraints.dial_set_shift_table`)."""
    from nutune.constraints import constraint_table, dial_set_shift_table, read_baseline
    from nutune.figures import constraints_figure, save_figure
    from nutune.measurements import measurement_of
    from nutune.measurements.joint import SHORT_NAMES
    from nutune.tables import write_table

    one_torch_thread()
    cfg = as_config(config)
    posterior = load_model(cfg, model_paths)
    _require_noise_aware(posterior)
    x = read_observation(observation)
    samples = posterior.sample(cfg.inference.num_posterior_samples, x,
                               seed=derive_seed(cfg.seed, "constraints", cfg.constraints.mode))
    table = constraint_table(samples, cfg.dial_names, cfg.prior_low, cfg.prior_high)
    write_table(table, output)
    _log.info("posterior / prior 68 %% widths: %s",
              dict(zip(cfg.dial_names, np.round(table["width_ratio"].to_numpy(), 3).tolist(), strict=True)))
    shift = None
    if cfg.constraints.baseline:
        shift = dial_set_shift_table(samples, cfg.dial_names, read_baseline(cfg.constraints.baseline,
                                                                            cfg.constraints.mode))
        write_table(shift, shift_output)
        _log.info("shift of the baseline's dials [baseline 68 %% half-widths]: %s",
                  dict(zip(shift["dial_name"], np.round(shift["shift_sigma"].to_numpy(), 3).tolist(), strict=True)))
    spec = measurement_of(cfg)
    label = " + ".join(SHORT_NAMES.get(part, part) for part in spec.parts) if spec.parts else ""
    save_figure(constraints_figure(table, shift, measurement_label=label), figure["pdf"], figure["png"])
