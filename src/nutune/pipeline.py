"""Glue between the Snakemake rules and the nutune library: one function per workflow step.

Every ``workflow/scripts/<rule>.py`` unpacks ``snakemake.input/params/output/log`` and calls exactly one function of
this module (or of the library directly). The functions here take plain paths and the config mapping, so they are
testable without Snakemake. Importing this module is cheap (numpy only; no torch, no matplotlib): ``common.smk`` imports it at
parse time for the figure list and the observation-to-table mapping.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

__all__ = [
    "FIGURES",
    "SLICE_FIGURES",
    "observation_table",
    "log_to",
]

#: Every figure of the paper (file stem -> whether it needs a T2K data observation). ``slice_comparison`` is the
#: 3x3 panel; its rule also writes the nine single-slice figures in :data:`SLICE_FIGURES`.
FIGURES: dict[str, bool] = {
    "test_posterior_corner": False,
    "residual_corner": False,
    "true_vs_predicted": False,
    "pulls": False,
    "coverage": False,
    "sbc_ranks": False,
    "loss_curve": False,
    "t2k_throws_variation": True,
    "parameter_summary": True,
    "t2k_posterior_corner": True,
    "slice_comparison": True,
}
#: The nine per-slice comparison figures (cos theta slices 0..8 of T2K CC0pi Analysis I).
SLICE_FIGURES: list[str] = [f"slice_comparison_{index}" for index in range(9)]

_log = logging.getLogger("nutune")


def observation_table(name: str, spec: Mapping) -> str:
    """Name of the table that summarises an observation's posterior.

    ``data`` observations go to ``t2k``; published curves to the table named after their column
    (``microboone_tune``, ``nuwro``); builtin mocks of the ``nuwro_like`` variant to ``nuwro`` and every other
    builtin mock to ``microboone_tune`` (the GENIE model the builtin simulator stands in for).

    >>> observation_table("nuwro_like", {"kind": "builtin", "variant": "nuwro_like"})
    'nuwro'
    """
    kind = spec["kind"]
    if kind == "data":
        return "t2k"
    if kind == "published":
        return str(spec["column"])
    return "nuwro" if spec.get("variant") == "nuwro_like" else "microboone_tune"


@contextlib.contextmanager
def log_to(log_path: str | Path) -> Iterator[logging.Logger]:
    """Route the ``logging`` module, warnings and stderr of one workflow job into its log file.

    An exception raised inside the block is written to the log (with its traceback) and re-raised, so Snakemake
    reports the job as failed and names this log file.
    """
    path = Path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", buffering=1) as stream:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
        old_stderr = sys.stderr
        sys.stderr = stream
        try:
            yield _log
        except BaseException:
            _log.exception("job failed; see the traceback above")
            raise
        finally:
            sys.stderr = old_stderr
            root.removeHandler(handler)
            logging.captureWarnings(False)


# ----------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------
def _config(config: Mapping | object):
    """The typed config (``nutune.config.Config``) of a raw mapping (``snakemake.config``) or a Config."""
    from nutune.config import Config, load_config

    return config if isinstance(config, Config) else load_config(config)


def _split_models(model_paths: list[str]) -> tuple[list[str], list[str]]:
    """Sort the model files of every ensemble member into (weights, metadata), in member order."""
    weights = sorted(p for p in model_paths if str(p).endswith(".safetensors"))
    metas = sorted(p for p in model_paths if str(p).endswith(".json"))
    return weights, metas


def load_model(config: Mapping | object, model_paths: list[str]):
    """The ensemble posterior of the trained networks, checked against the configured dials, prior box, bins and the
    resource data they were trained for (a model trained elsewhere or on other data is refused)."""
    from nutune.npe import load_posterior
    from nutune.resources import data_hash

    cfg = _config(config)
    weights, metas = _split_models(model_paths)
    expected = {
        "dial_names": list(cfg.dial_names),
        "prior_low": [float(v) for v in cfg.prior_low],
        "prior_high": [float(v) for v in cfg.prior_high],
        "bins": cfg.simulator.bins,
        "data_hash": data_hash(),
    }
    return load_posterior(weights, metas, expected=expected, device=cfg.npe.device)


def read_observation(path: str | Path) -> np.ndarray:
    """The histogram x of an observation CSV (``results/observations/{obs}.csv``)."""
    table = np.genfromtxt(path, delimiter=",", names=True)
    return np.asarray(table["x"], dtype=float)


def read_samples(path: str | Path, key: str = "samples") -> np.ndarray:
    """One array of an NPZ artefact (posterior samples, throws), never unpickled."""
    with np.load(path, allow_pickle=False) as data:
        return np.asarray(data[key])


def builtin_prediction(config: Mapping | object, theta: np.ndarray, variant: str = "nominal") -> np.ndarray:
    """The built-in simulator at physical ``theta`` ((4,) or (n, 4)) with the configured template settings."""
    from nutune.simulator import get_templates

    cfg = _config(config)
    settings = cfg.simulator.builtin
    templates = get_templates(
        variant, sample_seed=settings.sample_seed, n_events=settings.n_events, cache_dir=settings.cache_dir
    )
    theta = np.asarray(theta, dtype=float)
    x = templates.evaluate(np.atleast_2d(theta), bins=cfg.simulator.bins)
    return x[0] if theta.ndim == 1 else x


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
# training
# ----------------------------------------------------------------------------------------------------------------
def run_train_npe(config: Mapping, *, bank_path: str, member: int, weights: str, metadata: str, loss: str) -> None:
    """Rule ``train_npe``: train one ensemble member on the training bank and save it (no pickle)."""
    import torch

    from nutune.bank import read_bank
    from nutune.io import sha256_file
    from nutune.npe import save_npe, train_npe
    from nutune.resources import data_hash, load_t2k

    torch.set_num_threads(1)
    cfg = _config(config)
    theta, x, attrs = read_bank(bank_path)
    noise_cov = None
    if cfg.npe.noise == "covariance":
        noise_cov = load_t2k(cfg.simulator.bins).cov(cfg.npe.noise_components)
    provenance = {
        "config_hash": cfg.config_hash,
        "data_hash": data_hash(),
        "bank_hash": sha256_file(bank_path),
    }
    trained = train_npe(
        theta,
        x,
        prior_low=cfg.prior_low,
        prior_high=cfg.prior_high,
        settings=cfg.npe,
        seed=cfg.seed,
        noise_cov=noise_cov,
        member=member,
        provenance=provenance,
    )
    save_npe(trained, weights, metadata, loss)
    _log.info("trained member %d on %d simulations (%d epochs)", member, len(theta), len(trained.loss_curve["epoch"]))


# ----------------------------------------------------------------------------------------------------------------
# diagnostics
# ----------------------------------------------------------------------------------------------------------------
def run_diagnose(config: Mapping, *, model_paths: list[str], bank_path: str, samples: str, metrics: str) -> None:
    """Rule ``diagnose``: calibration diagnostics on the disjoint test bank (test_posteriors.npz, metrics.json)."""
    import torch

    from nutune.bank import read_bank
    from nutune.diagnostics import run_diagnostics, write_metrics, write_test_posteriors

    torch.set_num_threads(1)
    cfg = _config(config)
    posterior = load_model(cfg, model_paths)
    theta, x, _ = read_bank(bank_path)
    noise = posterior.metadata[0]["noise"]
    if noise["mode"] == "covariance":
        # A noise-aware network is tested on noisy histograms, x = sim(theta) + N(0, C), with the covariance
        # components it was trained with (from its metadata), so the test data follow the likelihood it learned.
        from nutune.io import rng
        from nutune.noise import covariance_noise
        from nutune.resources import load_t2k

        cov = load_t2k(cfg.simulator.bins).cov(noise["components"])
        x = x + covariance_noise(rng(cfg.seed, "diagnostics", "noise"), cov, len(x), method="svd")
        _log.info("noise-aware network: test histograms get N(0, C) noise with C = %s", "+".join(noise["components"]))
    values, arrays = run_diagnostics(posterior, theta, x, cfg.diagnostics, cfg.seed)
    write_test_posteriors(arrays, samples)
    write_metrics(values, metrics)


def run_test_metrics_table(*, metrics: str, output: str) -> None:
    """Rule ``test_metrics_table``: results/tables/test_metrics.csv from metrics.json."""
    import json

    from nutune.diagnostics import write_test_metrics_table

    write_test_metrics_table(json.loads(Path(metrics).read_text()), output)


# ----------------------------------------------------------------------------------------------------------------
# observations
# ----------------------------------------------------------------------------------------------------------------
def observation_histogram(config: Mapping | object, name: str) -> np.ndarray:
    """The observed histogram of observation ``name``: builtin mock, published curve or the T2K data."""
    from nutune.resources import load_published, load_t2k

    cfg = _config(config)
    spec = dict(cfg.raw["observations"][name])
    bins = cfg.simulator.bins
    if spec["kind"] == "data":
        return np.asarray(load_t2k(bins).values, dtype=float)
    if spec["kind"] == "published":
        return np.asarray(load_published(spec["column"], bins), dtype=float)
    return builtin_prediction(cfg, np.asarray(spec["point"], dtype=float), variant=spec.get("variant", "nominal"))


def run_observe(config: Mapping, *, name: str, output: str) -> None:
    """Rule ``observe``: write ``results/observations/{name}.csv`` (columns bin58 (or bin67) and x)."""
    from nutune.io import atomic_write

    cfg = _config(config)
    x = observation_histogram(cfg, name)
    with atomic_write(output) as tmp, open(tmp, "w") as handle:
        handle.write(f"bin{cfg.simulator.bins},x\n")
        for index, value in enumerate(x):
            handle.write(f"{index},{float(value)!r}\n")
    _log.info("observation %s: %d bins, integral-free sum %.6g", name, len(x), float(x.sum()))


# ----------------------------------------------------------------------------------------------------------------
# inference
# ----------------------------------------------------------------------------------------------------------------
def _write_npz(path: str | Path, **arrays: np.ndarray) -> None:
    from nutune.io import atomic_write

    with atomic_write(path) as tmp:
        np.savez(tmp, **{key: np.asarray(value) for key, value in arrays.items()})


def run_infer(config: Mapping, *, model_paths: list[str], observation: str, name: str, output: str) -> None:
    """Rule ``infer``: ``inference.num_posterior_samples`` posterior draws for one observation (physical units)."""
    import torch

    from nutune.io import derive_seed

    torch.set_num_threads(1)
    cfg = _config(config)
    posterior = load_model(cfg, model_paths)
    x = read_observation(observation)
    samples = posterior.sample(cfg.inference.num_posterior_samples, x, seed=derive_seed(cfg.seed, "infer", name))
    _write_npz(output, samples=samples, x=x)
    _log.info("%s: posterior median %s", name, np.array2string(np.median(samples, axis=0), precision=4))


def run_throws(config: Mapping, *, model_paths: list[str], name: str, output: str) -> None:
    """Rule ``throws``: ``inference.n_throws`` throws of the data from its covariance, one posterior draw each."""
    import torch

    from nutune.inference import covariance_throws
    from nutune.resources import load_t2k

    torch.set_num_threads(1)
    cfg = _config(config)
    posterior = load_model(cfg, model_paths)
    measurement = load_t2k(cfg.simulator.bins)
    result = covariance_throws(posterior, measurement.values, measurement.cov(cfg.inference.throw_components),
                               cfg.inference.n_throws, cfg.seed)
    _write_npz(output, **result.arrays())
    _log.info("%s: %d throws; central %s, -%s, +%s", name, len(result.samples), result.central, result.minus,
              result.plus)


# ----------------------------------------------------------------------------------------------------------------
# tables
# ----------------------------------------------------------------------------------------------------------------
def _chi2_at_median(cfg, samples: np.ndarray) -> dict[str, float]:
    """Chi2 vs the T2K data of the builtin simulator at the posterior median, per configured mode."""
    from nutune.chi2 import chi2_all_modes
    from nutune.resources import load_t2k

    prediction = builtin_prediction(cfg, np.median(samples, axis=0))
    values = chi2_all_modes(prediction, load_t2k(cfg.simulator.bins), cfg.chi2.modes)
    return {mode: float(value) for mode, value in values.items()}


def run_posterior_table(config: Mapping, *, posteriors: Mapping[str, str], output: str) -> None:
    """Rule ``posterior_table``: the parameter tables (nutune.tables) of several observations, one after another.

    ``microboone_tune.csv`` holds the builtin mock (truth = its point) and the real GENIE curve (truth = the tune);
    ``nuwro.csv`` the real NuWro curve (no GENIE truth) and the builtin nuwro_like mock (truth = its point).
    """
    import pandas as pd

    from nutune import tables
    from nutune.dials import MICROBOONE_TUNE_PHYSICAL

    cfg = _config(config)
    parts = []
    for name, path in posteriors.items():
        spec = cfg.raw["observations"][name]
        samples = read_samples(path)
        chi2 = _chi2_at_median(cfg, samples)
        truth = spec.get("point") if spec["kind"] == "builtin" else None
        if observation_table(name, spec) == "microboone_tune":
            truth = MICROBOONE_TUNE_PHYSICAL if truth is None else truth
            parts.append(tables.microboone_tune_table(samples, truth=truth, chi2=chi2, ndf=cfg.simulator.bins,
                                                      observation=name))
        else:
            parts.append(tables.parameter_table(name, samples, truth=truth, chi2=chi2, ndf=cfg.simulator.bins))
    tables.write_table(pd.concat(parts, ignore_index=True), output)


def run_t2k_table(config: Mapping, *, posterior: str, throws: str, output: str, gate: str | None = None) -> None:
    """Rule ``t2k_table``: the T2K parameters with throw-based errors, next to the MicroBooNE tune.

    With a calibration gate (``gates.on_failure: warn``) the table gets a ``calibration_gate`` column: ``passed`` or
    ``UNCALIBRATED: failed <checks>`` (:func:`nutune.gates.gate_marker`), so a result built on a network that failed
    its test-set calibration can never be mistaken for a calibrated one.
    """
    from nutune import tables
    from nutune.gates import gate_marker

    cfg = _config(config)
    samples = read_samples(posterior)
    table = tables.t2k_table(samples, read_samples(throws), chi2=_chi2_at_median(cfg, samples),
                             ndf=cfg.simulator.bins, observation=Path(posterior).stem)
    if gate:
        table["calibration_gate"] = gate_marker(gate) or "passed"
    tables.write_table(table, output)


def run_t2k_correlations(config: Mapping, *, throws: str, output: str) -> None:
    """Rule ``t2k_correlations``: Pearson correlations of the four parameters over the throw draws."""
    from nutune import tables

    tables.write_table(tables.t2k_correlations_table(np.corrcoef(read_samples(throws), rowvar=False)), output)


def run_simulator_calibration(builtin: Mapping, *, output: str) -> None:
    """Rule ``simulator_calibration``: :func:`nutune.simulator.calibration.write_calibration_table` at the config's
    template seed and size (builtin vs real GENIE at the MicroBooNE tune; nuwro_like vs real NuWro)."""
    from nutune.simulator.calibration import write_calibration_table

    frame = write_calibration_table(output, sample_seed=int(builtin["sample_seed"]), n_events=int(builtin["n_events"]),
                                    cache_dir=builtin.get("cache_dir"))
    chi2_rows = frame[frame["quantity"].str.startswith("chi2")]
    for _, row in chi2_rows.iterrows():
        _log.info("%s %s: %.3f", row["comparison"], row["quantity"], row["value"])


def run_noise_vs_throws(config: Mapping, *, model_paths: list[str], observation: str, throws: str,
                        output: str) -> None:
    """Rule ``noise_vs_throws``: the noise-aware posterior of the T2K data next to the throws result.

    The noise-aware network must have been trained with ``noise: covariance`` (its metadata says so); it is sampled
    ``inference.num_posterior_samples`` times for the observed data and compared with the per-throw posterior draws
    of the noise-free network (:func:`nutune.tables.noise_vs_throws_table`).
    """
    import torch

    from nutune.io import derive_seed
    from nutune.tables import noise_vs_throws_table, write_table

    torch.set_num_threads(1)
    cfg = _config(config)
    posterior = load_model(cfg, model_paths)
    noise = [m.get("noise", {}) for m in posterior.metadata]
    if any((n.get("mode") if isinstance(n, Mapping) else n) in (None, "none") for n in noise):
        raise ValueError(f"noise_vs_throws needs a noise-aware network (npe.noise: covariance); got noise={noise}")
    x = read_observation(observation)
    samples = posterior.sample(cfg.inference.num_posterior_samples, x, seed=derive_seed(cfg.seed, "noise_vs_throws"))
    throw_samples = read_samples(throws)
    table = noise_vs_throws_table(samples, throw_samples)
    write_table(table, output)
    _log.info("noise-aware vs throws width ratios: %s", np.array2string(table["width_ratio"].to_numpy(), precision=3))


def throw_errors(central: np.ndarray, throw_samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Asymmetric throw errors (median − p16, p84 − median of the per-throw draws, paper.md §8.2)."""
    from nutune.inference import throw_intervals

    _, minus, plus = throw_intervals(throw_samples)
    return minus, plus


def chi2_predictions(cfg, posteriors: Mapping[str, str]) -> dict[str, np.ndarray]:
    """The predictions compared with the T2K data (label -> (bins,) histogram), in table order.

    Published curves (the real GENIE MicroBooNE tune, NuWro), the builtin simulator at the MicroBooNE tune and at
    the GENIE nominal, and "inferred X" = the builtin simulator at the posterior median of observation X, for the
    published curves and the data (paper.md §8.3).
    """
    from nutune.dials import MICROBOONE_TUNE_PHYSICAL, NOMINAL_PHYSICAL
    from nutune.resources import load_published

    observations = cfg.raw["observations"]
    predictions: dict[str, np.ndarray] = {}
    published = {spec["column"]: name for name, spec in observations.items() if spec["kind"] == "published"}
    data = [name for name, spec in observations.items() if spec["kind"] == "data"]

    def inferred(name: str) -> np.ndarray:
        return builtin_prediction(cfg, np.median(read_samples(posteriors[name]), axis=0))

    if cfg.simulator.bins == 58 and "microboone_tune" in published:
        predictions["MicroBooNE tune (GENIE)"] = load_published("microboone_tune", 58)
    predictions["builtin at MicroBooNE tune"] = builtin_prediction(cfg, MICROBOONE_TUNE_PHYSICAL)
    if "microboone_tune" in published:
        predictions["inferred MicroBooNE tune"] = inferred(published["microboone_tune"])
    if cfg.simulator.bins == 58 and "nuwro" in published:
        predictions["NuWro"] = load_published("nuwro", 58)
        predictions["inferred NuWro"] = inferred(published["nuwro"])
    for name in data:
        predictions["inferred T2K" if len(data) == 1 else f"inferred {name}"] = inferred(name)
    predictions["nominal (G18_10a_02_11a)"] = builtin_prediction(cfg, NOMINAL_PHYSICAL)
    return predictions


def run_chi2_table(config: Mapping, *, posteriors: Mapping[str, str], output: str) -> None:
    """Rule ``chi2_table``: chi2 of every prediction against the T2K data in each configured mode."""
    import pandas as pd

    from nutune.chi2 import chi2_all_modes
    from nutune.resources import load_t2k
    from nutune.tables import write_table

    cfg = _config(config)
    measurement = load_t2k(cfg.simulator.bins)
    rows = []
    for label, prediction in chi2_predictions(cfg, posteriors).items():
        values = chi2_all_modes(prediction, measurement, cfg.chi2.modes)
        rows.append({"prediction": label, **{mode: float(v) for mode, v in values.items()}, "n_bins": measurement.bins})
    write_table(pd.DataFrame(rows), output)


# ----------------------------------------------------------------------------------------------------------------
# figures and summary
# ----------------------------------------------------------------------------------------------------------------
def _labels(cfg) -> list[str]:
    from nutune.figures import axis_labels

    return axis_labels([p.label for p in cfg.parameters], [p.unit for p in cfg.parameters])


def _read_loss(path: str | Path) -> dict[str, np.ndarray]:
    table = np.genfromtxt(path, delimiter=",", names=True)
    return {key: np.atleast_1d(table[key]) for key in ("epoch", "train_loss", "val_loss")}


def _coverage_curves(metrics_path: str | Path, samples: np.ndarray, theta_true: np.ndarray, n_levels: int):
    """Coverage curves from metrics.json if it holds them, else the marginal central-interval coverage."""
    import json

    metrics = json.loads(Path(metrics_path).read_text())
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


def run_figure(
    figure: str, *, config: Mapping, inputs: Mapping, outputs: Mapping, params: Mapping
) -> None:
    """Rules ``figure_*``: read the figure's inputs and draw it with the matching :mod:`nutune.figures` function."""
    from nutune import figures
    from nutune.resources import load_t2k

    cfg = _config(config)
    labels = _labels(cfg)
    pdf, png = outputs["pdf"], outputs["png"]
    box = (np.asarray(cfg.prior_low), np.asarray(cfg.prior_high))
    if "samples" in inputs:
        with np.load(inputs["samples"], allow_pickle=False) as data:
            test = {key: np.asarray(data[key]) for key in data.files}
        samples, theta_true = test["samples"].astype(float), test["theta_true"]
    if figure == "test_posterior_corner":
        index = int(params["index"]) % len(samples)
        figures.plot_posterior_corner(samples[index], labels, pdf, png, truth=theta_true[index],
                                      title=f"posterior of test simulation {index}")
    elif figure == "residual_corner":
        figures.plot_residual_corner(samples, theta_true, labels, pdf, png)
    elif figure == "true_vs_predicted":
        figures.plot_true_vs_predicted(samples, theta_true, labels, pdf, png, prior_box=box,
                                       n_points=int(params["n_points"]))
    elif figure == "pulls":
        pulls = test["pulls"] if "pulls" in test else figures.pulls_from_samples(samples, theta_true)
        figures.plot_pulls(pulls[: int(params["n_points"])], labels, pdf, png)
    elif figure == "coverage":
        levels, marginal, joint, tarp = _coverage_curves(inputs["metrics"], samples, theta_true,
                                                         cfg.diagnostics.coverage_levels)
        figures.plot_coverage(levels, marginal, labels, pdf, png, joint=joint, tarp=tarp)
    elif figure == "sbc_ranks":
        ranks = test["sbc_ranks"] if "sbc_ranks" in test else (samples < theta_true[:, None, :]).sum(axis=1)
        figures.plot_sbc_ranks(ranks, samples.shape[1], labels, pdf, png)
    elif figure == "loss_curve":
        losses = inputs["losses"]
        figures.plot_loss_curves([_read_loss(p) for p in ([losses] if isinstance(losses, str) else losses)], pdf, png)
    elif figure == "t2k_throws_variation":
        measurement = load_t2k(cfg.simulator.bins)
        error = np.sqrt(np.diag(measurement.cov_total))
        figures.plot_throws_variation(read_samples(inputs["throws"], "x_throws"), measurement.values, error, pdf, png)
    elif figure == "t2k_posterior_corner":
        figures.plot_posterior_corner(read_samples(inputs["posterior"]), labels, pdf, png,
                                      title="posterior for the T2K CC0π data")
    elif figure == "parameter_summary":
        figures.plot_parameter_summary(_summary_entries(cfg, params["posteriors"], inputs["throws"]), labels, box,
                                       pdf, png)
    elif figure == "slice_comparison":
        _slice_figures(cfg, params["posteriors"], outputs)
    else:
        raise ValueError(f"unknown figure {figure!r}; known: {', '.join(FIGURES)}")
    _log.info("drew %s -> %s, %s", figure, pdf, png)


def _summary_entries(cfg, posteriors: Mapping[str, str], throws: str) -> list:
    """Inferred points of the parameter summary: every observation (median, 68 % interval); T2K with throws."""
    from nutune.figures import SummaryEntry

    markers = {"builtin": ("*", "tab:purple"), "published": ("s", "tab:green"), "data": ("o", "tab:blue")}
    entries = []
    for name, spec in cfg.raw["observations"].items():
        samples = read_samples(posteriors[name])
        central = np.median(samples, axis=0)
        if spec["kind"] == "data":
            lower, upper = throw_errors(central, read_samples(throws))
        else:
            p16, p84 = np.percentile(samples, [16, 84], axis=0)
            lower, upper = central - p16, p84 - central
        marker, color = markers[spec["kind"]]
        if spec.get("variant") == "nuwro_like" or spec.get("column") == "nuwro":
            color = "tab:olive" if spec["kind"] == "builtin" else "tab:green"
        entries.append(SummaryEntry(f"inferred {name}", central, lower, upper, marker, color))
    return entries


def _slice_figures(cfg, posteriors: Mapping[str, str], outputs: Mapping) -> None:
    """The 3×3 slice grid and the nine single-slice figures."""
    from nutune import figures
    from nutune.resources import load_t2k

    measurement = load_t2k(cfg.simulator.bins)
    table = measurement.bin_table
    bin_table = {key: np.asarray(table[key]) for key in ("slice", "cos_lo", "cos_hi", "p_lo", "p_hi")}
    error = np.sqrt(np.diag(measurement.cov_total))
    wanted = ("MicroBooNE tune (GENIE)", "NuWro", "inferred NuWro", "inferred T2K")
    curves = {label.replace("inferred", "Inferred"): x
              for label, x in chi2_predictions(cfg, posteriors).items() if label in wanted}
    figures.plot_slice_grid(bin_table, measurement.values, error, curves, outputs["pdf"], outputs["png"])
    for index, (pdf, png) in enumerate(zip(outputs["slices_pdf"], outputs["slices_png"], strict=True)):
        figures.plot_slice_comparison(index, bin_table, measurement.values, error, curves, pdf, png)


def run_summary(config: Mapping, *, tables: list[str], output: str, gate: str | None = None) -> None:
    """Rule ``summary``: results/summary.md with the run's provenance, the calibration gate and every table."""
    import pandas as pd

    import nutune
    from nutune.gates import gate_marker
    from nutune.io import atomic_write

    cfg = _config(config)
    lines = [
        "# nutune run summary",
        "",
        f"* nutune {nutune.__version__}; backend `{cfg.simulator.backend}`; seed {cfg.seed}; "
        f"{cfg.simulation.n_train} training / {cfg.simulation.n_test} test simulations; "
        f"config sha256 `{cfg.config_hash[:16]}`",
        "",
    ]
    if gate:
        marker = gate_marker(gate)
        lines += [f"**Calibration gate: {marker or 'passed'}** (`{gate}`; thresholds in `gates` of the config)", ""]
    for path in tables:
        frame = pd.read_csv(path)
        lines += [f"## {Path(path).stem}", "", _markdown_table(frame), ""]
    with atomic_write(output) as tmp:
        tmp.write_text("\n".join(lines))


def _markdown_table(frame) -> str:
    """A pandas DataFrame as a GitHub Markdown table (no extra dependency)."""
    def cell(value: object) -> str:
        if isinstance(value, float):
            return "" if np.isnan(value) else f"{value:.4g}"
        return str(value)

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])
