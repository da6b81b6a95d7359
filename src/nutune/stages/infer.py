"""Stages of infer.smk: an observation's histogram, its posterior draws and its covariance throws."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from nutune.config import as_config
from nutune.io import derive_seed, read_observation, write_npz, write_observation
from nutune.stages.common import load_model, one_torch_thread

__all__ = ["observation_histogram", "run_observe", "run_infer", "run_throws"]

_log = logging.getLogger("nutune")


def observation_histogram(config: Mapping | object, name: str) -> np.ndarray:
    """The observed histogram of observation ``name`` (:func:`nutune.forward.observed_histogram`)."""
    from nutune.forward import observed_histogram

    return observed_histogram(as_config(config), name)


def run_observe(config: Mapping, *, name: str, output: str, bank_path: str | None = None) -> None:
    """Rule ``observe``: write ``results/observations/{name}.csv`` (columns bin58 (or bin67) and x). A user's
    ``measurement`` is checked against the simulated bank ``bank_path`` first
    (:func:`nutune.resources.check_simulated_range`: wrong units, far outside the simulated range)."""
    cfg = as_config(config)
    x = observation_histogram(cfg, name)
    if cfg.observations[name].kind == "measurement":
        _check_measurement(cfg, name, x, bank_path)
    write_observation(output, x, cfg.simulator.bins)
    _log.info("observation %s: %d bins, integral-free sum %.6g", name, len(x), float(x.sum()))


def _check_measurement(cfg, name: str, x: np.ndarray, bank_path: str | None) -> None:
    """A user's measurement must lie inside the simulated bank's range (:func:`check_simulated_range`)."""
    from nutune.bank import read_bank
    from nutune.resources import check_simulated_range

    if bank_path is None:
        raise ValueError(f"observation {name}: a measurement is checked against the simulated bank; pass bank_path")
    numbers = check_simulated_range(x, read_bank(bank_path)[1], f"observations.{name}.file = "
                                    f"{cfg.observations[name].file}")
    _log.info("measurement %s: total %.4g inside the simulations' %.4g .. %.4g", name, numbers["total"],
              numbers["sim_min"], numbers["sim_max"])


def run_infer(config: Mapping, *, model_paths: list[str], observation: str, name: str, output: str) -> None:
    """Rule ``infer``: ``inference.num_posterior_samples`` posterior draws for one observation (physical units)."""
    one_torch_thread()
    cfg = as_config(config)
    posterior = load_model(cfg, model_paths)
    x = read_observation(observation)
    samples = posterior.sample(cfg.inference.num_posterior_samples, x, seed=derive_seed(cfg.seed, "infer", name))
    write_npz(output, samples=samples, x=x)
    _log.info("%s: posterior median %s", name, np.array2string(np.median(samples, axis=0), precision=4))


def run_throws(config: Mapping, *, model_paths: list[str], name: str, output: str) -> None:
    """Rule ``throws``: ``inference.n_throws`` throws of the data from its covariance, one posterior draw each
    (:func:`nutune.forward.throw_source`: T2K from ``inference.throw_components``; a ``measurement`` from the
    covariance of its CSV)."""
    from nutune.forward import throw_source
    from nutune.inference import covariance_throws

    one_torch_thread()
    cfg = as_config(config)
    posterior = load_model(cfg, model_paths)
    values, cov, seed = throw_source(cfg, name)
    result = covariance_throws(posterior, values, cov, cfg.inference.n_throws, seed)
    write_npz(output, **result.arrays())
    _log.info("%s: %d throws; central %s, -%s, +%s", name, len(result.samples), result.central, result.minus,
              result.plus)
