"""Stage of train.smk: train one ensemble member; what a trained network depends on."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from nutune.config import as_config
from nutune.stages.common import one_torch_thread

__all__ = ["run_train_npe", "training_inputs"]

_log = logging.getLogger("nutune")


def training_inputs(config: Mapping | object, bank_path: str | Path) -> dict[str, dict]:
    """Exactly the inputs a trained network depends on, recorded in its metadata (``provenance.inputs``):

    * ``bank``: the training bank (path and sha256) — every network;
    * ``noise_covariance``: for a noise-aware network (``npe.noise: covariance``) only, the measurement's file
      its covariance comes from (T2K: resources/t2k/t2k_cc0pi_2016_anaI.npz), the components summed and the covariance's sha256.

    The data a network is *applied* to (T2K data, a user's measurement) is no input of the network: it is an input
    of ``infer`` / ``throws``, so editing it re-runs those and never retrains (rule ``train_npe`` declares the same
    files, ``get_train_inputs`` in common.smk).
    """
    from nutune.forward import training_noise_covariance
    from nutune.io import sha256_file
    from nutune.measurements import measurement_of, noise_covariance_resources
    from nutune.npe.preprocessing import array_sha256

    cfg = as_config(config)
    inputs: dict[str, dict] = {"bank": {"path": str(bank_path), "sha256": sha256_file(bank_path)}}
    cov = training_noise_covariance(cfg)
    if cov is not None:
        inputs["noise_covariance"] = {"source": ", ".join(f"resources/{path}" for path in
                                                    noise_covariance_resources(measurement_of(cfg))),
                                      "components": list(cfg.npe.noise_components), "sha256": array_sha256(cov)}
    return inputs


def run_train_npe(config: Mapping, *, bank_path: str, member: int, weights: str, metadata: str, loss: str) -> None:
    """Rule ``train_npe``: train one ensemble member on the training bank and save it (no pickle)."""
    from nutune.bank import read_bank
    from nutune.forward import training_noise_covariance
    from nutune.npe import save_npe, train_npe

    one_torch_thread()
    cfg = as_config(config)
    theta, x, _ = read_bank(bank_path)
    inputs = training_inputs(cfg, bank_path)
    provenance = {"config_hash": cfg.config_hash, "bank_hash": inputs["bank"]["sha256"], "inputs": inputs}
    trained = train_npe(theta, x, prior_low=cfg.prior_low, prior_high=cfg.prior_high, settings=cfg.npe,
                        seed=cfg.seed, noise_cov=training_noise_covariance(cfg), member=member,
                        provenance=provenance, dial_names=cfg.dial_names)
    save_npe(trained, weights, metadata, loss)
    _log.info("trained member %d on %d simulations (%d epochs)", member, len(theta), len(trained.loss_curve["epoch"]))
