"""Glue between the Snakemake rules and the nutune library: one function per workflow step.

Every ``workflow/scripts/<rule>.py`` unpacks ``snakemake.input/params/output/log`` and calls exactly one function of
this module (or of the library directly). Each ``run_<rule>`` is thin: read the inputs, call the library function
that holds the science, write the outputs. They take plain paths and the config mapping, so they are testable
without Snakemake. Importing this module is cheap (numpy only; no torch, no matplotlib).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from nutune.config import observation_table
from nutune.figure_registry import FIGURES as _REGISTRY
from nutune.figure_registry import SLICE_FIGURES

#: Every figure of the paper: name -> whether it needs a T2K data observation (from nutune.figure_registry).
FIGURES: dict[str, bool] = {name: entry.needs_data for name, entry in _REGISTRY.items()}

__all__ = [
    "FIGURES",
    "SLICE_FIGURES",
    "observation_table",
    "log_to",
]

_log = logging.getLogger("nutune")


@contextlib.contextmanager
def log_to(log_path: str | Path) -> Iterator[logging.Logger]:
    """Route the ``logging`` module, warnings and stderr of one workflow job into its log file.

    Everything goes to the log file. The job's real stderr (the terminal that runs snakemake, or the cluster job's
    output) gets the progress lines (:mod:`nutune.progress`: training epochs, throws) and each distinct warning
    once, prefixed by the job's name (``[train_npe/0] ...``, from the log path ``logs/<rule>/<name>.log``; just
    ``[<rule>]`` when the name is the rule's). An
    exception raised inside the block is written to the log (with its traceback) and re-raised, so Snakemake
    reports the job as failed and names this log file.
    """
    from nutune.progress import terminal_handler

    path = Path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", buffering=1) as stream:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        old_stderr = sys.stderr
        label = path.stem if path.stem == path.parent.name else f"{path.parent.name}/{path.stem}"
        terminal = terminal_handler(old_stderr, label)
        root = logging.getLogger()
        root.addHandler(handler)
        root.addHandler(terminal)
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
        sys.stderr = stream
        try:
            yield _log
        except BaseException:
            _log.exception("job failed; see the traceback above")
            raise
        finally:
            sys.stderr = old_stderr
            root.removeHandler(handler)
            root.removeHandler(terminal)
            logging.captureWarnings(False)


# ----------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------
def _config(config: Mapping | object):
    """The typed config: a :class:`nutune.config.Config` as it is (a stage's sections from
    :func:`nutune.config.stage_config`, or a whole config), a whole mapping through ``load_config``."""
    from nutune.config import as_config

    return as_config(config)


def _split_models(model_paths: list[str]) -> tuple[list[str], list[str]]:
    """Sort the model files of every ensemble member into (weights, metadata), in member order."""
    weights = sorted(p for p in model_paths if str(p).endswith(".safetensors"))
    metas = sorted(p for p in model_paths if str(p).endswith(".json"))
    return weights, metas


def _one_torch_thread() -> None:
    import torch

    torch.set_num_threads(1)


def training_inputs(config: Mapping | object, bank_path: str | Path) -> dict[str, dict]:
    """Exactly the inputs a trained network depends on, recorded in its metadata (``provenance.inputs``):

    * ``bank``: the training bank (path and sha256) — every network;
    * ``noise_covariance``: for a noise-aware network (``npe.noise: covariance``) only, the T2K file its
      covariance comes from, the components summed and the covariance's sha256.

    The data a network is *applied* to (T2K data, a user's measurement) is no input of the network: it is an input
    of ``infer`` / ``throws``, so editing it re-runs those and never retrains (rule ``train_npe`` declares the same
    files, ``get_train_inputs`` in common.smk).
    """
    from nutune.io import sha256_file
    from nutune.npe.preprocessing import array_sha256
    from nutune.resources import T2K_NPZ, load_t2k

    cfg = _config(config)
    inputs: dict[str, dict] = {"bank": {"path": str(bank_path), "sha256": sha256_file(bank_path)}}
    if cfg.npe.noise == "covariance":
        cov = load_t2k(cfg.simulator.bins).cov(cfg.npe.noise_components)
        inputs["noise_covariance"] = {"source": f"resources/{T2K_NPZ}", "components": list(cfg.npe.noise_components),
                                      "sha256": array_sha256(cov)}
    return inputs


def _check_noise_covariance(cfg, posterior) -> None:
    """A noise-aware network must have been trained with today's covariance (else: retrain, see training_inputs)."""
    from nutune.npe.preprocessing import array_sha256
    from nutune.resources import load_t2k

    for meta in posterior.metadata:
        noise = meta.get("noise") or {}
        if noise.get("mode") != "covariance" or not noise.get("covariance_sha256"):
            continue
        digest = array_sha256(load_t2k(cfg.simulator.bins).cov(noise["components"]))
        if digest != noise["covariance_sha256"]:
            raise ValueError(
                f"the noise-aware network (member {meta.get('training', {}).get('member')}) was trained with another "
                f"covariance ({', '.join(noise['components'])} of resources/t2k: sha256 {noise['covariance_sha256'][:12]}"
                f" then, {digest[:12]} now); retrain it (snakemake re-runs train_npe when that file changes)"
            )


def load_model(config: Mapping | object, model_paths: list[str]):
    """The ensemble posterior of the trained networks, checked against the configured dials, prior box and bins,
    and, for a noise-aware network, against the covariance it was trained with (:func:`training_inputs`: the data
    a network is applied to is not one of its inputs, so a changed data file never refuses a model)."""
    from nutune.npe import load_posterior

    cfg = _config(config)
    weights, metas = _split_models(model_paths)
    expected = {
        "dial_names": list(cfg.dial_names),
        "prior_low": [float(v) for v in cfg.prior_low],
        "prior_high": [float(v) for v in cfg.prior_high],
        "bins": cfg.simulator.bins,
    }
    posterior = load_posterior(weights, metas, expected=expected, device=cfg.npe.device)
    _check_noise_covariance(cfg, posterior)
    return posterior


def read_observation(path: str | Path) -> np.ndarray:
    """The histogram x of an observation CSV (``results/observations/{obs}.csv``)."""
    table = np.genfromtxt(path, delimiter=",", names=True)
    return np.asarray(table["x"], dtype=float)


def read_samples(path: str | Path, key: str = "samples") -> np.ndarray:
    """One array of an NPZ artefact (posterior samples, throws), never unpickled."""
    with np.load(path, allow_pickle=False) as data:
        return np.asarray(data[key])


def _medians(posteriors: Mapping[str, str]) -> dict[str, np.ndarray]:
    """Observation name -> posterior median of its samples file."""
    return {name: np.median(read_samples(path), axis=0) for name, path in posteriors.items()}


def _write_npz(path: str | Path, **arrays: np.ndarray) -> None:
    from nutune.io import atomic_write

    with atomic_write(path) as tmp:
        np.savez(tmp, **{key: np.asarray(value) for key, value in arrays.items()})


# ----------------------------------------------------------------------------------------------------------------
# bank
# ----------------------------------------------------------------------------------------------------------------
def run_sample_parameters(config: Mapping, *, split: str, output: str) -> None:
    """Rule ``sample_parameters``: the uniform prior draws of one split, written to HDF5."""
    from nutune.bank import write_parameters

    write_parameters(_config(config), split, output)


def run_simulate_shard(
    config: Mapping, *, params_path: str, split: str, shard: int, output: str, extra_inputs: list[str]
) -> None:
    """Rule ``simulate_shard``: one shard; ``extra_inputs[0]`` is the GENIE event file for ``backend: genie``."""
    from nutune.bank import simulate_shard

    events_file = extra_inputs[0] if extra_inputs else None
    workdir = Path(output).parent / f".work_{Path(output).stem}" if events_file else None
    simulate_shard(_config(config), params_path, split, shard, output, workdir=workdir, events_file=events_file)


def run_merge_bank(config: Mapping, *, params_path: str, shard_paths: list[str], split: str, output: str) -> None:
    """Rule ``merge_bank``: check and merge the shards of one split."""
    from nutune.bank import merge_shards

    merge_shards(_config(config), shard_paths, params_path, output)
    _log.info("merged %d %s shards into %s", len(shard_paths), split, output)


# ----------------------------------------------------------------------------------------------------------------
# training and diagnostics
# ----------------------------------------------------------------------------------------------------------------
def run_train_npe(config: Mapping, *, bank_path: str, member: int, weights: str, metadata: str, loss: str) -> None:
    """Rule ``train_npe``: train one ensemble member on the training bank and save it (no pickle)."""
    from nutune.bank import read_bank
    from nutune.npe import save_npe, train_npe
    from nutune.resources import load_t2k

    _one_torch_thread()
    cfg = _config(config)
    theta, x, _ = read_bank(bank_path)
    noise_cov = load_t2k(cfg.simulator.bins).cov(cfg.npe.noise_components) if cfg.npe.noise == "covariance" else None
    inputs = training_inputs(cfg, bank_path)
    provenance = {"config_hash": cfg.config_hash, "bank_hash": inputs["bank"]["sha256"], "inputs": inputs}
    trained = train_npe(theta, x, prior_low=cfg.prior_low, prior_high=cfg.prior_high, settings=cfg.npe,
                        seed=cfg.seed, noise_cov=noise_cov, member=member, provenance=provenance,
                        dial_names=cfg.dial_names)
    save_npe(trained, weights, metadata, loss)
    _log.info("trained member %d on %d simulations (%d epochs)", member, len(theta), len(trained.loss_curve["epoch"]))


def run_diagnose(config: Mapping, *, model_paths: list[str], bank_path: str, samples: str, metrics: str) -> None:
    """Rule ``diagnose``: calibration diagnostics on the disjoint test bank (test_posteriors.npz, metrics.json);
    a noise-aware network is tested on noisy histograms (:func:`nutune.diagnostics.noisy_test_histograms`)."""
    from nutune.bank import read_bank
    from nutune.diagnostics import (
        noisy_test_histograms,
        run_diagnostics,
        write_metrics,
        write_test_posteriors,
    )

    _one_torch_thread()
    cfg = _config(config)
    posterior = load_model(cfg, model_paths)
    theta, x, _ = read_bank(bank_path)
    x = noisy_test_histograms(x, posterior.metadata[0]["noise"], cfg.simulator.bins, cfg.seed)
    values, arrays = run_diagnostics(posterior, theta, x, cfg.diagnostics, cfg.seed)
    write_test_posteriors(arrays, samples)
    write_metrics(values, metrics)


def run_test_metrics_table(*, metrics: str, output: str) -> None:
    """Rule ``test_metrics_table``: results/tables/test_metrics.csv from metrics.json."""
    import json

    from nutune.diagnostics import write_test_metrics_table

    write_test_metrics_table(json.loads(Path(metrics).read_text()), output)


# ----------------------------------------------------------------------------------------------------------------
# observations and inference
# ----------------------------------------------------------------------------------------------------------------
def observation_histogram(config: Mapping | object, name: str) -> np.ndarray:
    """The observed histogram of observation ``name`` (:func:`nutune.forward.observed_histogram`)."""
    from nutune.forward import observed_histogram

    return observed_histogram(_config(config), name)


def run_observe(config: Mapping, *, name: str, output: str, bank_path: str | None = None) -> None:
    """Rule ``observe``: write ``results/observations/{name}.csv`` (columns bin58 (or bin67) and x). A user's
    ``measurement`` is checked against the simulated bank ``bank_path`` first
    (:func:`nutune.resources.check_simulated_range`: wrong units, far outside the simulated range)."""
    from nutune.io import atomic_write

    cfg = _config(config)
    x = observation_histogram(cfg, name)
    if cfg.observations[name].kind == "measurement":
        from nutune.bank import read_bank
        from nutune.resources import check_simulated_range

        if bank_path is None:
            raise ValueError(f"observation {name}: a measurement is checked against the simulated bank; pass bank_path")
        numbers = check_simulated_range(x, read_bank(bank_path)[1], f"observations.{name}.file = "
                                        f"{cfg.observations[name].file}")
        _log.info("measurement %s: total %.4g inside the simulations' %.4g .. %.4g", name, numbers["total"],
                  numbers["sim_min"], numbers["sim_max"])
    with atomic_write(output) as tmp, open(tmp, "w") as handle:
        handle.write(f"bin{cfg.simulator.bins},x\n")
        for index, value in enumerate(x):
            handle.write(f"{index},{float(value)!r}\n")
    _log.info("observation %s: %d bins, integral-free sum %.6g", name, len(x), float(x.sum()))


def run_infer(config: Mapping, *, model_paths: list[str], observation: str, name: str, output: str) -> None:
    """Rule ``infer``: ``inference.num_posterior_samples`` posterior draws for one observation (physical units)."""
    from nutune.io import derive_seed

    _one_torch_thread()
    cfg = _config(config)
    posterior = load_model(cfg, model_paths)
    x = read_observation(observation)
    samples = posterior.sample(cfg.inference.num_posterior_samples, x, seed=derive_seed(cfg.seed, "infer", name))
    _write_npz(output, samples=samples, x=x)
    _log.info("%s: posterior median %s", name, np.array2string(np.median(samples, axis=0), precision=4))


def run_throws(config: Mapping, *, model_paths: list[str], name: str, output: str) -> None:
    """Rule ``throws``: ``inference.n_throws`` throws of the data from its covariance, one posterior draw each
    (T2K: ``inference.throw_components``; a ``measurement``: the covariance of its CSV)."""
    from nutune.inference import covariance_throws
    from nutune.io import derive_seed
    from nutune.resources import load_measurement, load_t2k

    _one_torch_thread()
    cfg = _config(config)
    posterior = load_model(cfg, model_paths)
    if cfg.observations[name].kind == "measurement":  # its own full covariance, its own throw seed
        own = load_measurement(cfg.observations[name].file, cfg.simulator.bins)
        values, cov, seed = own.values, own.cov, derive_seed(cfg.seed, "throws", name)
    else:
        measurement = load_t2k(cfg.simulator.bins)
        values, cov, seed = measurement.values, measurement.cov(cfg.inference.throw_components), cfg.seed
    result = covariance_throws(posterior, values, cov, cfg.inference.n_throws, seed)
    _write_npz(output, **result.arrays())
    _log.info("%s: %d throws; central %s, -%s, +%s", name, len(result.samples), result.central, result.minus,
              result.plus)


# ----------------------------------------------------------------------------------------------------------------
# tables
# ----------------------------------------------------------------------------------------------------------------
def run_posterior_table(config: Mapping, *, posteriors: Mapping[str, str], output: str,
                        misspecification: str | None = None) -> None:
    """Rule ``posterior_table``: the parameter tables of several observations, one after another
    (:func:`nutune.tables.observation_parameter_table`), with the ``misspecified`` verdict of
    ``misspecification.csv`` (:mod:`nutune.misspecification`) when given."""
    import pandas as pd

    from nutune import tables
    from nutune.forward import chi2_at_median
    from nutune.misspecification import misspecified_flags

    cfg = _config(config)
    flags = misspecified_flags(misspecification)
    parts = []
    for name, path in posteriors.items():
        samples = read_samples(path)
        part = tables.observation_parameter_table(name, cfg.raw["observations"][name], samples,
                                                  chi2=chi2_at_median(cfg, samples), ndf=cfg.simulator.bins,
                                                  names=cfg.dial_names)
        if flags:
            part["misspecified"] = flags[name]
        parts.append(part)
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
    from nutune.gates import gate_marker
    from nutune.misspecification import misspecified_flags

    cfg = _config(config)
    samples = read_samples(posterior)
    table = tables.t2k_table(samples, read_samples(throws), chi2=chi2_at_median(cfg, samples),
                             ndf=cfg.simulator.bins, observation=Path(posterior).stem, names=cfg.dial_names)
    if gate:
        table["calibration_gate"] = gate_marker(gate) or "passed"
    flags = misspecified_flags(misspecification)
    if flags:
        table["misspecified"] = flags[Path(posterior).stem]
    tables.write_table(table, output)


def run_measurement_table(config: Mapping, *, posteriors: Mapping[str, str], throws: Mapping[str, str], output: str,
                          gate: str | None = None, misspecification: list[str] | None = None) -> None:
    """Rule ``measurement_table``: ``measurements.csv``, the columns of ``t2k.csv`` for each user measurement
    (throws from its own covariance; χ² against the measurement itself with its covariance)."""
    import pandas as pd

    from nutune import tables
    from nutune.chi2 import chi2
    from nutune.forward import builtin_prediction
    from nutune.gates import gate_marker
    from nutune.misspecification import misspecified_flags
    from nutune.resources import load_measurement, load_t2k

    cfg = _config(config)
    flags = misspecified_flags(misspecification)
    areas = load_t2k(cfg.simulator.bins).areas
    parts = []
    for name, path in posteriors.items():
        samples = read_samples(path)
        own = load_measurement(cfg.observations[name].file, cfg.simulator.bins)
        prediction = builtin_prediction(cfg, np.median(samples, axis=0))
        values = {mode: float(chi2(prediction, own.values, own.cov, mode, areas=areas)) for mode in cfg.chi2.modes}
        table = tables.t2k_table(samples, read_samples(throws[name]), chi2=values, ndf=cfg.simulator.bins,
                                 observation=name, names=cfg.dial_names)
        table["file"] = cfg.observations[name].file
        if gate:
            table["calibration_gate"] = gate_marker(gate) or "passed"
        if flags:
            table["misspecified"] = flags[name]
        parts.append(table)
    tables.write_table(pd.concat(parts, ignore_index=True), output)


def run_t2k_correlations(config: Mapping, *, throws: str, output: str) -> None:
    """Rule ``t2k_correlations``: Pearson correlations of the free dials over the throw draws."""
    from nutune import tables

    names = _config(config).dial_names
    correlation = np.atleast_2d(np.corrcoef(read_samples(throws), rowvar=False))
    tables.write_table(tables.t2k_correlations_table(correlation, names), output)


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
    from nutune.io import derive_seed
    from nutune.tables import noise_vs_throws_table, write_table

    _one_torch_thread()
    cfg = _config(config)
    posterior = load_model(cfg, model_paths)
    noise = [m.get("noise", {}) for m in posterior.metadata]
    if any((n.get("mode") if isinstance(n, Mapping) else n) in (None, "none") for n in noise):
        raise ValueError(f"noise_vs_throws needs a noise-aware network (npe.noise: covariance); got noise={noise}")
    x = read_observation(observation)
    samples = posterior.sample(cfg.inference.num_posterior_samples, x, seed=derive_seed(cfg.seed, "noise_vs_throws"))
    table = noise_vs_throws_table(samples, read_samples(throws), names=cfg.dial_names)
    write_table(table, output)
    _log.info("noise-aware vs throws width ratios: %s", np.array2string(table["width_ratio"].to_numpy(), precision=3))


def run_chi2_table(config: Mapping, *, posteriors: Mapping[str, str], output: str) -> None:
    """Rule ``chi2_table``: chi2 of every prediction against the T2K data in each configured mode
    (:func:`nutune.forward.chi2_rows`)."""
    import pandas as pd

    from nutune.forward import chi2_rows
    from nutune.tables import write_table

    write_table(pd.DataFrame(chi2_rows(_config(config), _medians(posteriors))), output)


# ----------------------------------------------------------------------------------------------------------------
# figures and summary
# ----------------------------------------------------------------------------------------------------------------
def run_figure(figure: str, *, config: Mapping, inputs: Mapping, outputs: Mapping) -> None:
    """Rules ``figure`` and ``figure_slice_comparison``: draw one registered figure
    (:func:`nutune.figure_registry.draw`)."""
    from nutune.figure_registry import draw

    draw(figure, _config(config), inputs, outputs)
    _log.info("drew %s -> %s, %s", figure, outputs["pdf"], outputs["png"])


def run_summary(config: Mapping, *, tables: list[str], output: str, gate: str | None = None) -> None:
    """Rule ``summary``: results/summary.md with the run's provenance, the calibration gate and every table."""
    from nutune.io import atomic_write
    from nutune.tables import summary_markdown

    text = summary_markdown(_config(config), tables, gate)
    with atomic_write(output) as tmp:
        tmp.write_text(text)


def run_report_tables(*, csvs: list[str], outputs: list[str], titles: list[str], descriptions: list[str]) -> None:
    """Rule ``report_tables``: each table as an HTML table, the report item that shows it (nutune.report)."""
    from nutune.report import write_table_html

    if not len(csvs) == len(outputs) == len(titles) == len(descriptions):
        raise ValueError(f"{len(csvs)} tables, {len(outputs)} outputs, {len(titles)} titles and "
                         f"{len(descriptions)} captions: one of each per table")
    for csv, output, title, description in zip(csvs, outputs, titles, descriptions, strict=True):
        write_table_html(csv, output, title=title, description=description)
    _log.info("%d tables as HTML tables: %s", len(csvs), ", ".join(titles))


def run_report_landing(*, gate: str, t2k: str | None, output: str) -> None:
    """Rule ``report_landing``: the gate's verdict and the T2K numbers for the report's landing page."""
    from nutune.report import write_landing_html

    write_landing_html(gate, t2k, output)
    _log.info("%s: landing summary from %s%s", output, gate, f" and {t2k}" if t2k else "")
