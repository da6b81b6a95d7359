"""What a network is: the allowed choices, the settings it is built and trained with, and checks of its inputs.

The allowed values of ``npe.density_estimator``, ``x_transform``, ``calibration``, ``noise`` and ``lr_schedule`` are
read from the config schema (``src/nutune/config.schema.yaml``, their one home); ``settings`` may be the typed
``npe`` config section or a mapping with the same keys (tests, benchmarks, the reference network).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from nutune.config import allowed_values
from nutune.dials import PARAMETER_NAMES

__all__ = [
    "METADATA_FORMAT",
    "X_TRANSFORMS",
    "DENSITY_ESTIMATORS",
    "CALIBRATIONS",
    "NOISE_MODES",
    "LR_SCHEDULES",
    "NSF_NUM_BINS",
    "setting",
    "setting_or",
    "resolve_device",
    "check_choices",
    "check_training_arrays",
    "network_block",
    "training_block",
    "same_value",
]

#: Version tag of the JSON metadata layout written by :func:`nutune.npe.save_npe`.
METADATA_FORMAT = "nutune-npe/1"
X_TRANSFORMS: tuple[str, ...] = allowed_values("npe", "x_transform")
DENSITY_ESTIMATORS: tuple[str, ...] = allowed_values("npe", "density_estimator")
CALIBRATIONS: tuple[str, ...] = allowed_values("npe", "calibration")
NOISE_MODES: tuple[str, ...] = allowed_values("npe", "noise")
LR_SCHEDULES: tuple[str, ...] = allowed_values("npe", "lr_schedule")
#: Spline bins of ``nsf`` (sbi's default); recorded in the metadata so the network can be rebuilt.
NSF_NUM_BINS = 10


def setting(settings: Any, key: str) -> Any:
    """Read ``settings.key`` (typed config dataclass) or ``settings[key]`` (mapping)."""
    if isinstance(settings, Mapping):
        if key not in settings:
            raise ValueError(f"npe settings lack the key {key!r}")
        return settings[key]
    if not hasattr(settings, key):
        raise ValueError(f"npe settings lack the key {key!r}")
    return getattr(settings, key)


def setting_or(settings: Any, key: str, default: Any) -> Any:
    """Like :func:`setting` for an optional key: ``default`` when ``settings`` lacks it."""
    if isinstance(settings, Mapping):
        return settings.get(key, default)
    return getattr(settings, key, default)


def resolve_device(device: str) -> str:
    """Validate ``npe.device``: ``cpu``, or ``cuda`` / ``cuda:N`` only when CUDA is available.

    Raises:
        ValueError: for an unknown device string or ``cuda`` on a machine without CUDA.
    """
    if device == "cpu":
        return "cpu"
    if device == "cuda" or device.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"npe.device is {device!r} but torch {torch.__version__} sees no CUDA device; "
                "set npe.device: cpu or run on a GPU node"
            )
        return device
    raise ValueError(f"npe.device must be 'cpu' or 'cuda', got {device!r}")


def check_choices(settings: Any) -> dict[str, str]:
    """The four categorical settings, each checked (in this order) against the schema's allowed values."""
    keys = (("density_estimator", DENSITY_ESTIMATORS), ("x_transform", X_TRANSFORMS), ("calibration", CALIBRATIONS))
    choices = {}
    for key, values in keys:
        value = str(setting_or(settings, key, "none") if key == "calibration" else setting(settings, key))
        if value not in values:
            raise ValueError(f"npe.{key} must be one of {values}, got {value!r}")
        choices[key] = value
    choices["noise"] = str(setting(settings, "noise"))
    if choices["noise"] not in NOISE_MODES:
        raise ValueError(f"npe.noise must be one of {NOISE_MODES}, got {choices['noise']!r}")
    return choices


def check_training_arrays(theta: np.ndarray, x: np.ndarray, low: np.ndarray, high: np.ndarray,
                          n_par: int = len(PARAMETER_NAMES)) -> None:
    """Shapes (``n_par`` free dials), finiteness, and every training theta inside the prior box [low, high]
    (1e-9 relative tolerance)."""
    if theta.ndim != 2 or theta.shape[1] != n_par:
        raise ValueError(f"theta must have shape (n, {n_par}), got {theta.shape}")
    if x.ndim != 2 or x.shape[0] != theta.shape[0]:
        raise ValueError(f"x must have shape ({theta.shape[0]}, bins), got {x.shape}")
    if low.shape != (n_par,) or high.shape != (n_par,) or np.any(high <= low):
        raise ValueError(f"prior box must be two length-{n_par} vectors with low < high, got {low}, {high}")
    if not (np.all(np.isfinite(theta)) and np.all(np.isfinite(x))):
        raise ValueError("theta and x must be finite")
    tolerance = 1e-9 * (high - low)
    outside = np.any((theta < low - tolerance) | (theta > high + tolerance), axis=1)
    if np.any(outside):
        row = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"{int(outside.sum())} training theta rows lie outside the prior box, e.g. row {row}: {theta[row]} "
            f"(box low {low}, high {high})"
        )


def network_block(settings: Any, density_estimator: str, calibration: str, tail_bound: float,
                  location_bound: float) -> dict[str, Any]:
    """The ``network`` metadata block: everything needed to rebuild the untrained network (``embedding_parts`` only
    when set: a per-part embedding, ``nutune.npe.networks.PartsEmbedding``)."""
    block = {
        "density_estimator": density_estimator,
        "embedding_hidden": [int(h) for h in setting(settings, "embedding_hidden")],
        "embedding_dim": int(setting(settings, "embedding_dim")),
        "num_transforms": int(setting(settings, "num_transforms")),
        "hidden_features": int(setting(settings, "hidden_features")),
        "num_bins": NSF_NUM_BINS,
        "z_score_theta": "independent",
        "z_score_x": "independent",
        "calibration": calibration,
        "calibration_bins": None,  # set by the fit
        "calibration_tail_bound": tail_bound,
        "calibration_location_bound": location_bound,
    }
    parts = setting_or(settings, "embedding_parts", None)
    if parts is not None:
        block["embedding_parts"] = [int(b) for b in parts]
    return block


def training_block(settings: Any, *, n_simulations: int, seed: int, member: int, member_seed: int,
                   device: str) -> dict[str, Any]:
    """The ``training`` metadata block: optimiser, schedule, stopping and the seeds of one member."""
    return {
        "batch_size": int(setting(settings, "batch_size")),
        "learning_rate": float(setting(settings, "learning_rate")),
        "lr_schedule": str(setting_or(settings, "lr_schedule", "plateau")),
        "lr_decay_factor": float(setting_or(settings, "lr_decay_factor", 1.0)),
        "lr_decay_patience": int(setting_or(settings, "lr_decay_patience", 0)),
        "min_learning_rate": float(setting_or(settings, "min_learning_rate", 0.0)),
        "stop_after_epochs": int(setting(settings, "stop_after_epochs")),
        "max_num_epochs": int(setting(settings, "max_num_epochs")),
        "validation_fraction": float(setting(settings, "validation_fraction")),
        "n_simulations": int(n_simulations),
        "global_seed": int(seed),
        "member": int(member),
        "member_seed": int(member_seed),
        "device": device,
    }


def same_value(a: Any, b: Any) -> bool:
    """Metadata equality: strings and None exactly, numbers and arrays to 1e-9 relative."""
    if isinstance(a, str) or isinstance(b, str) or a is None or b is None:
        return a == b
    try:
        a_arr, b_arr = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return a == b
    return a_arr.shape == b_arr.shape and bool(np.allclose(a_arr, b_arr, rtol=1e-9, atol=0.0))
