"""Artefacts of a trained member, never pickled (path grammar ``results/model/npe_{member}.*``, :mod:`nutune.paths`).

The density estimator's ``state_dict`` as safetensors, JSON metadata with everything needed to rebuild the exact
network, and the loss curve as CSV, each written atomically. :func:`load_posterior` rebuilds the network from the
metadata, checks it against what the caller expects and refuses mismatches with a ``ValueError``.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file
from torch import nn

from nutune.dials import REGISTRY
from nutune.io import atomic_write, sha256_file
from nutune.npe.networks import build_density_estimator
from nutune.npe.posterior import NutunePosterior
from nutune.npe.spec import METADATA_FORMAT, resolve_device, same_value
from nutune.npe.training import TrainedNPE

__all__ = ["save_npe", "load_posterior"]

logger = logging.getLogger("nutune.npe")


def save_npe(
    trained: TrainedNPE,
    weights_path: str | Path,
    meta_path: str | Path,
    loss_csv: str | Path,
) -> None:
    """Write one member atomically: safetensors weights, JSON metadata and the loss-curve CSV (no pickle).

    The weights file holds the density estimator's full ``state_dict`` (flow, embedding net, sbi's z-scoring
    buffers and the flow's permutations) as contiguous CPU tensors. The metadata adds the tensor names/shapes
    and the weights file's SHA-256 so that :func:`load_posterior` can detect a truncated or swapped file.
    """
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in trained.density_estimator.state_dict().items()}
    with atomic_write(weights_path) as tmp:
        save_file(state, str(tmp), metadata={"format": METADATA_FORMAT})
    metadata = dict(trained.metadata)
    metadata["tensors"] = {k: list(v.shape) for k, v in state.items()}
    metadata["weights_sha256"] = sha256_file(weights_path)
    with atomic_write(meta_path) as tmp:
        tmp.write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    curve = trained.loss_curve
    with atomic_write(loss_csv) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        columns = ("train_loss", "val_loss", "seconds", "learning_rate")
        writer.writerow(["epoch", *columns])
        for index, epoch in enumerate(curve["epoch"]):
            writer.writerow([epoch, *(repr(float(curve[name][index])) for name in columns)])


def _comparable(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Flat view of the metadata fields a caller may pin with ``load_posterior(expected=...)``."""
    flat: dict[str, Any] = {
        "dial_names": metadata["dial_names"],
        "prior_low": metadata["prior_low"],
        "prior_high": metadata["prior_high"],
        "bins": metadata["bins"],
        "x_transform": metadata["x_transform"],
        "x_scale": metadata["x_scale"],
        "noise": metadata["noise"]["mode"],
        "noise_components": metadata["noise"]["components"],
    }
    flat.update(metadata["network"])
    flat.update({k: v for k, v in metadata["training"].items() if k not in ("member", "member_seed", "device")})
    flat.update(metadata["provenance"])
    return flat


def _check_expected(metadata: Mapping[str, Any], expected: Mapping[str, Any], source: str) -> None:
    flat = _comparable(metadata)
    for key, want in expected.items():
        if key not in flat:
            raise ValueError(f"{source}: cannot check unknown metadata key {key!r}; known keys: {sorted(flat)}")
        if isinstance(want, tuple):
            want = list(want)
        if not same_value(flat[key], want):
            raise ValueError(f"{source}: metadata {key} = {flat[key]!r} but the workflow expects {want!r}")


def _load_member(weights_path: Path, meta_path: Path, device: str) -> tuple[nn.Module, dict[str, Any]]:
    metadata = json.loads(Path(meta_path).read_text())
    if metadata.get("format") != METADATA_FORMAT:
        raise ValueError(f"{meta_path}: metadata format {metadata.get('format')!r}, expected {METADATA_FORMAT!r}")
    unknown = [n for n in metadata["dial_names"] if n not in REGISTRY]
    if unknown:
        raise ValueError(f"{meta_path}: dial names {unknown} are not GENIE dials nutune knows (nutune.dials.REGISTRY)")
    digest = sha256_file(weights_path)
    if metadata.get("weights_sha256") not in (None, digest):
        raise ValueError(f"{weights_path}: SHA-256 {digest} does not match its metadata ({metadata['weights_sha256']})")
    state = load_file(str(weights_path), device="cpu")
    estimator = build_density_estimator(metadata["network"], int(metadata["bins"]), seed=0,
                                        n_par=len(metadata["dial_names"]))
    reference = estimator.state_dict()
    missing = sorted(set(reference) - set(state))
    unexpected = sorted(set(state) - set(reference))
    if missing or unexpected:
        raise ValueError(
            f"{weights_path}: tensors do not match the network described in {meta_path}; "
            f"missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    for name, tensor in reference.items():
        if tuple(state[name].shape) != tuple(tensor.shape):
            raise ValueError(
                f"{weights_path}: tensor {name} has shape {tuple(state[name].shape)}, the network needs "
                f"{tuple(tensor.shape)}"
            )
    estimator.load_state_dict(state, strict=True)
    estimator.to(device)
    estimator.eval()
    return estimator, metadata


def load_posterior(
    weights_paths: str | Path | Sequence[str | Path],
    meta_paths: str | Path | Sequence[str | Path],
    *,
    expected: Mapping[str, Any] | None = None,
    device: str = "cpu",
) -> NutunePosterior:
    """Rebuild the trained network(s) from metadata + safetensors weights and wrap them as a posterior.

    Args:
        weights_paths: ``results/model/npe_{member}.safetensors`` (one path or one per member).
        meta_paths: the matching ``npe_{member}.json`` files.
        expected: metadata values the caller requires, e.g. ``{"dial_names": [...], "prior_low": [...],
            "prior_high": [...], "bins": 58, "data_hash": ..., "config_hash": ...}``. Keys: any of
            ``dial_names, prior_low, prior_high, bins, x_transform, x_scale, noise, noise_components``, the
            ``network`` fields, the ``training`` fields (except member/seed/device) and the ``provenance`` hashes.
        device: ``cpu`` or ``cuda`` (checked with :func:`resolve_device`).

    Raises:
        ValueError: when a metadata value differs from ``expected``, the weights' hash differs from the metadata,
            tensors are missing/unexpected/misshaped, or members disagree on the prior box, bins or x scaling.
    """
    device = resolve_device(device)
    weights = [weights_paths] if isinstance(weights_paths, (str, Path)) else list(weights_paths)
    metas = [meta_paths] if isinstance(meta_paths, (str, Path)) else list(meta_paths)
    if len(weights) != len(metas) or not weights:
        raise ValueError(f"need as many metadata files as weight files, got {len(weights)} and {len(metas)}")
    estimators, metadata = [], []
    for w, m in zip(weights, metas, strict=True):
        estimator, meta = _load_member(Path(w), Path(m), device)
        if expected:
            _check_expected(meta, expected, str(m))
        estimators.append(estimator)
        metadata.append(meta)
    logger.info("loaded %d NPE member(s) on %s", len(estimators), device)
    return NutunePosterior(estimators, metadata, device=device)
