"""Stages of validate.smk's reference-posterior, calibration-gate and learning-curve rules (the science:
:mod:`nutune.reference`, :mod:`nutune.gates`, :mod:`nutune.learning_curve`; the misspecification rules of the same
file: :mod:`nutune.stages.misspecification`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nutune.config import as_config
from nutune.io import derive_seed, rng
from nutune.stages.common import split_models

__all__ = ["run_reference_npe", "run_reference_posteriors", "run_reference_c2st", "run_calibration_gate",
           "run_learning_curve"]


def run_reference_npe(config: Mapping[str, Any], *, bank_path: str, weights: str, metadata: str, loss: str) -> None:
    """Rule ``reference_npe``: train a noise-aware NPE (``npe`` settings with ``noise: covariance``, C = the
    ``npe.noise_components`` of the T2K covariance) on the training bank, for the reference comparison when the
    main network is noise-free. Reuses :func:`nutune.npe.train_npe` / :func:`nutune.npe.save_npe` (member 0)."""
    from nutune.bank import read_bank
    from nutune.measurements import load_data
    from nutune.npe import save_npe, train_npe
    from nutune.resources import data_hash

    cfg = as_config(config)
    theta, x, _ = read_bank(bank_path)
    cov = load_data(cfg).cov(cfg.npe.noise_components)
    trained = train_npe(theta, x, prior_low=cfg.prior_low, prior_high=cfg.prior_high,
                        settings=cfg.npe.noise_aware(), seed=derive_seed(cfg.seed, "reference_npe"),
                        noise_cov=cov, provenance={"config_hash": cfg.config_hash, "data_hash": data_hash()},
                        dial_names=cfg.dial_names)
    save_npe(trained, weights, metadata, loss)


def run_reference_posteriors(config: Mapping[str, Any], *, observations: Mapping[str, str], samples: str) -> None:
    """Rule ``reference_posteriors``: the exact (emcee) posteriors of the named observations + ``reference.n_mock``
    mocks (:func:`nutune.reference.sample_references`), written with their truths to ``samples``
    (:func:`nutune.reference.write_reference_samples`). Needs no network, so it runs beside the training."""
    from nutune import reference as ref
    from nutune.measurements import load_data

    cfg = as_config(config)
    sim, cov = ref.builtin_simulator(cfg), load_data(cfg).cov(cfg.npe.noise_components)
    seed = derive_seed(cfg.seed, "reference")
    obs, truths = ref.reference_observations(
        cfg, {name: ref.read_observation_csv(path) for name, path in observations.items()}, sim, cov, seed)
    rc = cfg.reference
    refs = ref.sample_references(obs, sim, cov, cfg.prior_low, cfg.prior_high, seed=seed, n_walkers=rc.n_walkers,
                                 n_steps=rc.n_steps, burn_in=rc.burn_in, moves=rc.moves)
    ref.write_reference_samples(samples, obs, refs, truths)


def run_reference_c2st(config: Mapping[str, Any], *, model_paths: Sequence[str], samples: str, table: str,
                       figure: str, n_npe_samples: int = 4000) -> None:
    """Rule ``reference_c2st``: C2ST of the noise-aware NPE (checked: ``noise.mode == covariance``) against the
    reference posteriors of rule ``reference_posteriors`` (``samples``); the table and the figure."""
    from nutune import reference as ref
    from nutune.npe import load_posterior

    cfg = as_config(config)
    expected = {"bins": cfg.simulator.bins, "prior_low": [float(v) for v in cfg.prior_low],
                "prior_high": [float(v) for v in cfg.prior_high]}
    post = load_posterior(*split_models([str(p) for p in model_paths]), expected=expected, device=cfg.npe.device)
    ref.check_noise_aware(post.metadata)
    obs, refs, truths = ref.load_references(samples)
    ref.reference_c2st_table(
        refs, lambda x, n, s: post.sample(n, x, s), obs, seed=derive_seed(cfg.seed, "reference"),
        n_npe_samples=n_npe_samples, out_csv=table, out_figure=figure, truths=truths, names=cfg.dial_names,
        labels=cfg.parameter_space.labels)


def run_calibration_gate(metrics_path: str | Path, gates: Any, out_path: str | Path):
    """Rule ``calibration_gate``: read ``metrics.json``, check it against ``gates`` (``cfg.gates`` or a mapping with
    its keys), write ``gate.json``; returns the :class:`nutune.gates.GateReport`.

    Raises:
        nutune.gates.GateError: The gate failed and ``on_failure`` is ``fail``; ``gate.json`` is not written, so
            the real-data rules cannot run.
    """
    from nutune.gates import check_gates, enforce_gate, write_gate

    with open(metrics_path) as f:
        report = check_gates(json.load(f), gates)
    enforce_gate(report, metrics_path)
    write_gate(report, out_path)
    return report


def run_learning_curve(config: Mapping[str, Any], *, train_bank: str, test_bank: str, reference_samples: str,
                       table: str, figure: str, n_test: int | None = None, num_posterior_samples: int = 500,
                       n_ref_samples: int = 4000) -> list[dict[str, Any]]:
    """Rule ``learning_curve``: noise-aware NPEs on nested training subsets, calibration and C2ST per size.

    The networks use the ``npe`` settings with ``noise: covariance`` (C = ``npe.noise_components``), the model the
    reference posteriors assume, so the C2ST column is meaningful; the test histograms get one seeded N(0, C)
    draw each (``derive_seed(cfg.seed, "learning_curve", "test_noise")``). The C2ST uses every observation of
    ``results/reference/reference_samples.npz`` with ``n_ref_samples`` NPE draws each, as ``reference_c2st.csv``
    does, so the largest size's mean is comparable with that table (same data, another network seed).
    """
    from nutune import learning_curve as lc
    from nutune.bank import read_bank
    from nutune.measurements import load_data
    from nutune.noise import covariance_noise
    from nutune.reference import load_reference_samples

    cfg = as_config(config)
    theta_train, x_train, _ = read_bank(train_bank)
    theta_test, x_test, _ = read_bank(test_bank)
    cov = load_data(cfg).cov(cfg.npe.noise_components)
    seed = derive_seed(cfg.seed, "learning_curve")
    x_test = x_test + covariance_noise(rng(seed, "test_noise"), cov, len(x_test), method="cholesky")
    trainer = lc.npe_trainer(cfg.npe.noise_aware(), cfg.prior_low, cfg.prior_high, noise_cov=cov,
                             dial_names=cfg.dial_names)
    return lc.run_learning_curve(theta_train, x_train, theta_test, x_test, cfg.learning_curve.n_train, trainer,
                                 seed=seed, references=load_reference_samples(reference_samples), n_test=n_test,
                                 num_posterior_samples=num_posterior_samples,
                                 n_levels=cfg.diagnostics.coverage_levels, n_ref_samples=n_ref_samples,
                                 out_csv=table, out_figure=figure)
