"""Stages of stability.smk: ``stability_replicate``, one replicate of the default run with other network seeds,
through the default run's own stage functions, and ``stability_table`` over all replicates (what a replicate is,
the table and its goals: :mod:`nutune.stability`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence

from nutune.config import as_config
from nutune.stages.compare import run_chi2_table, run_t2k_table
from nutune.stages.diagnose import run_diagnose, run_test_metrics_table
from nutune.stages.infer import run_infer, run_throws
from nutune.stages.train import run_train_npe

__all__ = ["run_stability_replicate", "run_stability_table"]

log = logging.getLogger("nutune.stability")


def run_stability_replicate(config, *, replicate: int, train_bank: str, test_bank: str,
                            observations: Mapping[str, str], directory: str, headlines: str,
                            headline_table: str | None = None) -> dict[str, float]:
    """Replicate ``replicate`` ≥ 1 (1 … ``stability.n_replicates`` − 1; 0 is the default run itself) of the default
    run on its banks ``train_bank`` / ``test_bank``, into ``directory`` (``results/stability/replicate_{k}``);
    ``observations``: name → observed-histogram CSV; ``headlines``: the replicate's ``headlines.csv``, written last.

    ``headline_table`` (``tables/likelihood_modes.csv`` of the replicate): also retrain nutune's headline network,
    the noise-aware NORMSHAPE NPE, with the replicate's members and write its ``likelihood_modes.csv`` row there
    (:func:`_headline`); None leaves it out (a run that cannot build ``likelihood_modes.csv``)."""
    from nutune.likelihood_modes import mode_members
    from nutune.stability import headlines_from_files, replicate_members, replicate_paths, write_headlines

    cfg = as_config(config)
    if replicate < 1:
        raise ValueError("replicate 0 is the default run itself; replicates start at 1")
    members = replicate_members(replicate, cfg.npe.n_ensemble)
    headline_members = [] if headline_table is None else mode_members(cfg.likelihood_modes.n_ensemble, replicate)
    paths = replicate_paths(directory, members, list(observations), headline_members)
    models = _train_and_diagnose(cfg, members, paths, train_bank, test_bank)
    _gate(cfg, paths, replicate, members)
    _infer_and_tabulate(cfg, models, paths, observations)
    if headline_table is not None:
        _headline(cfg, paths, train_bank, test_bank, headline_table)
    tables = paths["tables"]
    numbers = headlines_from_files(tables["t2k"], tables["chi2"], tables["test_metrics"], paths["gate"],
                                   headline_table)
    write_headlines(numbers, headlines)
    return numbers


def _headline(cfg, paths: dict, train_bank: str, test_bank: str, output: str) -> None:
    """Train the replicate's members of the headline network (rule ``likelihood_npe``'s stage, mode
    :data:`nutune.likelihood_modes.CHOSEN`) and write its row as rule ``likelihood_modes`` computes it
    (:func:`nutune.likelihood_modes.noise_aware_row`: same data, sampling seeds, draws and test-set calibration)."""
    from nutune.bank import read_bank
    from nutune.likelihood_modes import CHOSEN, noise_aware_row
    from nutune.measurements import load_data
    from nutune.npe import load_posterior
    from nutune.stages.likelihood import run_likelihood_npe, write_likelihood_modes_table

    _, mode = CHOSEN
    epoch_cap = cfg.likelihood_modes.max_num_epochs
    files = zip(paths["headline_weights"], paths["headline_metadata"], paths["headline_loss"], strict=True)
    for member, (weights, metadata, loss) in zip(paths["headline_members"], files, strict=True):
        run_likelihood_npe(cfg, mode=mode, bank_path=train_bank, weights=str(weights), metadata=str(metadata),
                           loss=str(loss), max_num_epochs=epoch_cap, member=member)
    posterior = load_posterior([str(p) for p in paths["headline_weights"]],
                               [str(p) for p in paths["headline_metadata"]])
    row = noise_aware_row(cfg, mode, posterior, measurement=load_data(cfg), epoch_cap=epoch_cap,
                          test_bank=read_bank(test_bank)[:2])
    write_likelihood_modes_table([row], output, cfg.dial_names)
    log.info("headline network (%s %s, members %s): %s", *CHOSEN, paths["headline_members"],
             ", ".join(f"{n} {row[n]:.4g}" for n in cfg.dial_names))


def _train_and_diagnose(cfg, members: list[int], paths: dict, train_bank: str, test_bank: str) -> list[str]:
    """Train the replicate's members and run the test-set diagnostics; the model files, in member order."""
    for m, w, meta, loss in zip(members, paths["weights"], paths["metadata"], paths["loss"], strict=True):
        run_train_npe(cfg, bank_path=train_bank, member=m, weights=str(w), metadata=str(meta), loss=str(loss))
    models = [str(p) for pair in zip(paths["weights"], paths["metadata"], strict=True) for p in pair]
    run_diagnose(cfg, model_paths=models, bank_path=test_bank, samples=str(paths["samples"]),
                 metrics=str(paths["metrics"]))
    return models


def _gate(cfg, paths: dict, replicate: int, members: list[int]) -> None:
    """The calibration gate of the replicate's metrics, written as its ``gate.json`` (never raises)."""
    from nutune.gates import check_gates, write_gate

    report = check_gates(json.loads(paths["metrics"].read_text()), cfg.gates)
    write_gate(report, paths["gate"])
    log.info("replicate %d (members %s): %s", replicate, members, report.summary())


def _infer_and_tabulate(cfg, models: list[str], paths: dict, observations: Mapping[str, str]) -> None:
    """Posteriors of every observation; throws and ``t2k.csv`` of the first data observation; chi2, test metrics."""
    for name, observation in observations.items():
        run_infer(cfg, model_paths=models, observation=observation, name=name, output=str(paths["posteriors"][name]))
    data_obs = [name for name, obs in cfg.observations.items() if obs.kind == "data"]
    tables = paths["tables"]
    for name in data_obs[:1]:  # the T2K table of the default run: the first data observation
        run_throws(cfg, model_paths=models, name=name, output=str(paths["throws"][name]))
        run_t2k_table(cfg, posterior=str(paths["posteriors"][name]), throws=str(paths["throws"][name]),
                      output=str(tables["t2k"]), gate=str(paths["gate"]))
    run_chi2_table(cfg, posteriors={k: str(v) for k, v in paths["posteriors"].items()}, output=str(tables["chi2"]))
    run_test_metrics_table(metrics=str(paths["metrics"]), output=str(tables["test_metrics"]))


def run_stability_table(stability, *, default_tables: Mapping[str, str], default_gate: str,
                        replicate_headlines: Sequence[str], table: str, pdf: str, png: str,
                        default_likelihood_modes: str | None = None):
    """Rule ``stability_table``: the default run (replicate 0) and replicates 1 … K − 1 → stability.csv + figure.

    ``stability``: the config's ``stability`` section (:class:`nutune.config.StabilityConfig`); ``default_tables``:
    ``{"t2k": …, "chi2": …, "test_metrics": …}`` of the default run; ``default_gate``: its ``gate.json``;
    ``replicate_headlines``: ``results/stability/replicate_{k}/headlines.csv`` for k = 1 … K − 1;
    ``default_likelihood_modes``: the default run's ``likelihood_modes.csv``, whose headline row is replicate 0 of
    the headline network (None: the replicates have no headline network either).
    """
    from nutune.stability import headlines_from_files, plot_stability, read_headlines, stability_table
    from nutune.tables import write_table

    first = headlines_from_files(default_tables["t2k"], default_tables["chi2"], default_tables["test_metrics"],
                                 default_gate, default_likelihood_modes)
    numbers = [first, *(read_headlines(p) for p in replicate_headlines)]
    goals = {"min_gate_margin": float(stability.min_gate_margin),
             "max_central_spread": float(stability.max_central_spread)}
    frame = stability_table(numbers, **goals)
    write_table(frame, table)
    plot_stability(frame, pdf, png, **goals)
    met = frame[frame["goal_met"].notna()]
    log.info("stability over %d replicates: %d of %d goals met", len(numbers), int(met["goal_met"].sum()), len(met))
    return frame
