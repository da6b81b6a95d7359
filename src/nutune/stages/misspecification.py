"""Stages of validate.smk's misspecification rules: the four tests of one observation, and their table
(the tests themselves: :mod:`nutune.misspecification`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from nutune.config import as_config
from nutune.io import read_observation, read_samples
from nutune.stages.common import load_model, one_torch_thread

__all__ = ["run_marginal_flow", "run_misspecification", "run_misspecification_table"]

log = logging.getLogger("nutune.misspecification")


def run_marginal_flow(config, *, model_paths: list[str], train_bank: str, output: str) -> None:
    """Rule ``marginal_flow``: the log-probability test's marginal flow p(x)
    (:func:`nutune.misspecification.train_marginal` on the first ``n_marginal`` training rows with the network's
    noise), trained once and read by every observation's ``misspecification`` job."""
    from nutune.bank import read_bank
    from nutune.diagnostics import noisy_test_histograms
    from nutune.measurements import load_data
    from nutune.misspecification import save_marginal, train_marginal

    one_torch_thread()
    cfg = as_config(config)
    settings = cfg.misspecification
    model = load_model(cfg, model_paths)
    _, x_train, _ = read_bank(train_bank)
    x_marginal = noisy_test_histograms(x_train[: settings.n_marginal], model.metadata[0]["noise"], load_data(cfg),
                                       cfg.seed + 1)
    save_marginal(train_marginal(model, x_marginal, seed=cfg.seed, max_num_epochs=settings.marginal_epochs),
                  output)
    log.info("marginal flow trained on %d rows -> %s", len(x_marginal), output)


def run_misspecification(config, *, model_paths: list[str], marginal_flow: str, test_bank: str, name: str,
                         observation: str, posterior: str, output: str) -> dict[str, Any]:
    """Rule ``misspecification``: the four tests for one observation → ``results/misspecification/{obs}.csv``,
    against the marginal flow of rule ``marginal_flow`` (the same p(x) for every observation)."""
    from nutune.bank import read_bank
    from nutune.diagnostics import noisy_test_histograms
    from nutune.forward import builtin_prediction, observation_covariance
    from nutune.measurements import load_data
    from nutune.misspecification import load_marginal, misspecification_tests

    one_torch_thread()
    cfg = as_config(config)
    settings = cfg.misspecification
    model = load_model(cfg, model_paths)
    _, x_test, _ = read_bank(test_bank)
    x_reference = noisy_test_histograms(x_test[: settings.n_reference], model.metadata[0]["noise"], load_data(cfg),
                                        cfg.seed)
    marginal = load_marginal(marginal_flow, device=model.device)
    cov = observation_covariance(cfg, name)
    numbers = misspecification_tests(model, marginal, read_observation(observation), x_reference,
                                     read_samples(posterior), lambda theta: builtin_prediction(cfg, theta), cov,
                                     settings=settings, seed=cfg.seed)
    return _write_row(cfg, name, numbers, output)


def _write_row(cfg, name: str, numbers: Mapping[str, float], output: str) -> dict[str, Any]:
    """The observation's row with its verdict (:func:`nutune.misspecification.misspecification_row`), logged and
    written as a one-row CSV."""
    from nutune.misspecification import MISSPECIFICATION_COLUMNS, misspecification_row
    from nutune.tables import write_table

    row = misspecification_row(name, numbers, alpha=cfg.misspecification.alpha, bins=cfg.simulator.bins)
    log.info("%s: %s -> misspecified %s", name, ", ".join(f"{k} {v:.3g}" for k, v in numbers.items()),
             row["misspecified"])
    write_table(pd.DataFrame([row], columns=list(MISSPECIFICATION_COLUMNS)), output)
    return row


def run_misspecification_table(rows: list[str], output: str) -> pd.DataFrame:
    """Rule ``misspecification_table``: the per-observation rows as ``results/tables/misspecification.csv``."""
    from nutune.tables import write_table

    table = pd.concat([pd.read_csv(p, keep_default_na=False) for p in rows], ignore_index=True)
    write_table(table, output)
    return table
