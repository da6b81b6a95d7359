"""Stages of diagnose.smk: calibration diagnostics on the test bank and their table."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from nutune.config import as_config
from nutune.stages.common import load_model, one_torch_thread

__all__ = ["run_diagnose", "run_test_metrics_table"]


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
    from nutune.measurements import load_data

    one_torch_thread()
    cfg = as_config(config)
    posterior = load_model(cfg, model_paths)
    theta, x, _ = read_bank(bank_path)
    x = noisy_test_histograms(x, posterior.metadata[0]["noise"], load_data(cfg), cfg.seed)
    values, arrays = run_diagnostics(posterior, theta, x, cfg.diagnostics, cfg.seed)
    write_test_posteriors(arrays, samples)
    write_metrics(values, metrics)


def run_test_metrics_table(*, metrics: str, output: str) -> None:
    """Rule ``test_metrics_table``: results/tables/test_metrics.csv from metrics.json."""
    from nutune.diagnostics import write_test_metrics_table

    write_test_metrics_table(json.loads(Path(metrics).read_text()), output)
