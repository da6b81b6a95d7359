"""What every stage shares: the job's log file, the checked ensemble of trained networks, one torch thread."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TextIO

import numpy as np

from nutune.config import as_config
from nutune.io import read_samples

__all__ = ["log_to", "load_model", "one_torch_thread", "split_models", "medians"]

_log = logging.getLogger("nutune")


@contextlib.contextmanager
def log_to(log_path: str | Path) -> Iterator[logging.Logger]:
    """Route the ``logging`` module, warnings and stderr of one workflow job into its log file.

    Everything goes to the log file. The job's real stderr (the terminal that runs snakemake, or the cluster job's
    output) gets the progress lines (:mod:`nutune.progress`: training epochs, throws) and each distinct warning
    once, prefixed by the job's name (``[train_npe/0] ...``, from the log path ``logs/<rule>/<name>.log``; just
    ``[<rule>]`` when the name is the rule's). An exception raised inside the block is written to the log (with its
    traceback) and re-raised, so Snakemake reports the job as failed and names this log file.
    """
    path = Path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", buffering=1) as stream, _routed(stream, _job_label(path)):
        try:
            yield _log
        except BaseException:
            _log.exception("job failed; see the traceback above")
            raise


def _job_label(path: Path) -> str:
    """``<rule>/<name>`` from ``logs/<rule>/<name>.log``; just ``<rule>`` when the name is the rule's."""
    return path.stem if path.stem == path.parent.name else f"{path.parent.name}/{path.stem}"


@contextlib.contextmanager
def _routed(stream: TextIO, label: str) -> Iterator[None]:
    """While the block runs: every record and stderr to ``stream``, progress and warnings to the real stderr."""
    from nutune.progress import terminal_handler

    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    old_stderr = sys.stderr
    terminal = terminal_handler(old_stderr, label)
    root = logging.getLogger()
    root.addHandler(handler)
    root.addHandler(terminal)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    sys.stderr = stream
    try:
        yield
    finally:
        sys.stderr = old_stderr
        root.removeHandler(handler)
        root.removeHandler(terminal)
        logging.captureWarnings(False)


def one_torch_thread() -> None:
    """Small torch nets: one intra-op thread per job (the rules say ``threads: 1``)."""
    import torch

    torch.set_num_threads(1)


def split_models(model_paths: list[str]) -> tuple[list[str], list[str]]:
    """Sort the model files of every ensemble member into (weights, metadata), in member order."""
    weights = sorted(p for p in model_paths if str(p).endswith(".safetensors"))
    metas = sorted(p for p in model_paths if str(p).endswith(".json"))
    return weights, metas


def load_model(config: Mapping | object, model_paths: list[str]):
    """The ensemble posterior of the trained networks, checked against the configured dials, prior box and bins,
    and, for a noise-aware network, against the covariance it was trained with
    (:func:`nutune.stages.train.training_inputs`: the data a network is applied to is not one of its inputs, so a
    changed data file never refuses a model)."""
    from nutune.npe import load_posterior

    cfg = as_config(config)
    weights, metas = split_models(model_paths)
    expected = {
        "dial_names": list(cfg.dial_names),
        "prior_low": [float(v) for v in cfg.prior_low],
        "prior_high": [float(v) for v in cfg.prior_high],
        "bins": cfg.simulator.bins,
    }
    posterior = load_posterior(weights, metas, expected=expected, device=cfg.npe.device)
    _check_noise_covariance(cfg, posterior)
    return posterior


def _check_noise_covariance(cfg, posterior) -> None:
    """A noise-aware network must have been trained with today's covariance (else: retrain, see training_inputs)."""
    from nutune.measurements import load_data
    from nutune.npe.preprocessing import array_sha256

    for meta in posterior.metadata:
        noise = meta.get("noise") or {}
        if noise.get("mode") != "covariance" or not noise.get("covariance_sha256"):
            continue
        digest = array_sha256(load_data(cfg).cov(noise["components"]))
        if digest != noise["covariance_sha256"]:
            raise ValueError(
                f"the noise-aware network (member {meta.get('training', {}).get('member')}) was trained with another "
                f"covariance ({', '.join(noise['components'])} of resources/t2k: sha256 {noise['covariance_sha256'][:12]}"
                f" then, {digest[:12]} now); retrain it (snakemake re-runs train_npe when that file changes)"
            )


def medians(posteriors: Mapping[str, str]) -> dict[str, np.ndarray]:
    """Observation name -> posterior median of its samples file."""
    return {name: np.median(read_samples(path), axis=0) for name, path in posteriors.items()}
