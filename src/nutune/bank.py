"""The simulation bank: prior draws, sharded simulation and a checked merge, stored as HDF5.

Layout (LAMPE-style, as in the ``lampe.data.H5Dataset`` convention): datasets ``theta`` (n, 4) physical
parameters in :data:`nutune.dials.PARAMETER_NAMES` order and ``x`` (n, bins) histograms in 10⁻³⁸
cm²/(GeV/c)/nucleon, plus ``row_index`` (n,) the row of each simulation in ``params_{split}.h5``; metadata as HDF5
attributes. The prior is uniform in the physical box of ``config.yaml`` (arXiv:2510.07454 §3: ~200k uniform draws).

Files (``CONTRIBUTING.md`` path grammar)::

    results/bank/params_{split}.h5                 theta (written by write_parameters)
    results/bank/shards/{split}/shard_{i:05d}.h5   theta, x, row_index; attrs split, shard_index, row_start, ...
    results/bank/{split}.h5                        merged bank; attrs backend, versions, config_hash, data_hash, ...

Every shard and bank is written atomically (:func:`nutune.io.atomic_write`), so a crashed job leaves no file and
Snakemake reruns it; the merge refuses missing, incomplete, duplicated, overlapping or inconsistent shards.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

import nutune
from nutune.config import Config
from nutune.dials import PARAMETER_NAMES
from nutune.io import atomic_write, derive_seed, rng, sha256_file
from nutune.resources import DataError, data_hash

__all__ = [
    "SPLITS",
    "Simulator",
    "sample_parameters",
    "write_parameters",
    "read_parameters",
    "n_shards",
    "shard_rows",
    "simulate_shard",
    "merge_shards",
    "read_bank",
    "check_histograms",
    "versions",
]

log = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("train", "test")
#: A simulator maps physical θ (n, 4) to histograms (n, bins).
Simulator = Callable[[np.ndarray], np.ndarray]
_MAX_LISTED = 10


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split = {split!r} is not allowed; allowed: {', '.join(SPLITS)}")
    return split


def _split_size(cfg: Config, split: str) -> int:
    return cfg.simulation.n_train if _check_split(split) == "train" else cfg.simulation.n_test


def versions() -> dict[str, str]:
    """Versions of the packages that determine a bank's content (nutune, numpy, h5py, torch, sbi)."""
    out = {"nutune": nutune.__version__, "numpy": np.__version__, "h5py": h5py.__version__}
    for name in ("torch", "sbi"):
        try:
            from importlib.metadata import version

            out[name] = version(name)
        except Exception:  # package metadata missing: record that, do not fail
            out[name] = "not installed"
    return out


# ---------------------------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------------------------


def sample_parameters(cfg: Config, split: str) -> np.ndarray:
    """Uniform prior draws in the physical box of ``cfg.parameters`` for ``split`` ("train" or "test").

    The generator is seeded by ``derive_seed(cfg.seed, "params", split)``, so the train and test draws are
    independent streams and each is reproducible.

    Returns:
        (n, 4) physical parameters, n = ``cfg.simulation.n_train`` or ``n_test``.
    """
    n = _split_size(cfg, split)
    gen = rng(cfg.seed, "params", split)
    return gen.uniform(cfg.prior_low, cfg.prior_high, size=(n, len(cfg.parameters)))


def _write_rows(path: str | os.PathLike, cfg: Config, theta: np.ndarray, x: np.ndarray, row_index: np.ndarray,
                attrs: dict[str, Any]) -> None:
    """Write (theta, x, row_index) + attrs to HDF5 atomically, marked ``complete`` only once everything is in.

    Datasets carry no timestamps (``track_times=False``), so the same rows give byte-identical files.
    """
    with atomic_write(path) as tmp, h5py.File(tmp, "w") as f:
        for name, data in (("theta", theta), ("x", x), ("row_index", row_index)):
            f.create_dataset(name, data=data, track_times=False)
        f.attrs.update(_common_attrs(cfg))
        f.attrs.update(attrs)
        f.attrs["complete"] = True


def _common_attrs(cfg: Config) -> dict[str, Any]:
    attrs = {
        "seed": cfg.seed,
        "config_hash": cfg.config_hash,
        "dial_names": json.dumps(list(cfg.dial_names)),
        "prior_low": cfg.prior_low,
        "prior_high": cfg.prior_high,
        "nutune_version": nutune.__version__,
    }
    if cfg.fixed_parameters:  # only when some dial is fixed, so a config without any writes the same bytes as before
        attrs["fixed_dials"] = json.dumps(cfg.fixed_parameters, sort_keys=True)
    return attrs


def write_parameters(cfg: Config, split: str, path: str | os.PathLike) -> Path:
    """Draw the ``split`` parameters (:func:`sample_parameters`) and write them atomically to HDF5 ``path``.

    Datasets: ``theta`` (n, 4). Attrs: split, n, seed, params_seed, config_hash, dial_names, prior box.
    """
    theta = sample_parameters(cfg, split)
    path = Path(path)
    with atomic_write(path) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("theta", data=theta, track_times=False)
        f.attrs.update(_common_attrs(cfg))
        f.attrs["split"] = split
        f.attrs["n"] = theta.shape[0]
        f.attrs["params_seed"] = derive_seed(cfg.seed, "params", split)
    log.info("wrote %d %s parameter points to %s", theta.shape[0], split, path)
    return path


def read_parameters(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, Any]]:
    """Read ``theta`` and the attrs of a parameter file; :class:`DataError` if it is unreadable or malformed."""
    try:
        with h5py.File(path, "r") as f:
            theta = f["theta"][...]
            attrs = dict(f.attrs)
    except (OSError, KeyError) as exc:
        raise DataError(f"{path}: cannot read parameter file ({exc})") from None
    names = _dial_names(attrs)
    if theta.ndim != 2 or theta.shape[1] != len(names):
        raise DataError(f"{path}: theta has shape {theta.shape}, expected (n, {len(names)}) for dials {names}")
    return theta, attrs


def _dial_names(attrs: dict[str, Any]) -> list[str]:
    """The free dials a bank or parameter file holds (attr ``dial_names``; the four builtin dials if absent)."""
    raw = attrs.get("dial_names")
    return list(json.loads(raw) if isinstance(raw, str) else raw) if raw is not None else list(PARAMETER_NAMES)


def n_shards(cfg: Config, split: str) -> int:
    """Number of shards of ``split``: ceil(n / shard_size) (the last shard may be shorter)."""
    return math.ceil(_split_size(cfg, split) / cfg.simulation.shard_size)


def shard_rows(cfg: Config, split: str, shard_index: int) -> tuple[int, int]:
    """Row range [start, stop) of shard ``shard_index`` in the ``split`` parameter file."""
    total = n_shards(cfg, split)
    if not 0 <= shard_index < total:
        raise ValueError(f"shard_index = {shard_index} out of range for split {split!r}; allowed: 0 .. {total - 1}")
    start = shard_index * cfg.simulation.shard_size
    return start, min(start + cfg.simulation.shard_size, _split_size(cfg, split))


# ---------------------------------------------------------------------------------------------------------------
# Simulation
# ---------------------------------------------------------------------------------------------------------------


def check_histograms(theta: np.ndarray, x: np.ndarray, bins: int) -> np.ndarray:
    """Boolean mask of bad rows of ``x``: wrong shape raises; non-finite or negative bins mark the row bad.

    Raises:
        DataError: if ``x`` is not (len(theta), bins).
    """
    if x.shape != (theta.shape[0], bins):
        raise DataError(f"simulator returned shape {x.shape}, expected ({theta.shape[0]}, {bins})")
    return ~np.isfinite(x).all(axis=1) | (np.nan_to_num(x, nan=0.0) < 0).any(axis=1)


def _describe_bad(theta: np.ndarray, x: np.ndarray, bad_rows: np.ndarray, row_start: int) -> str:
    lines = []
    for r in bad_rows[:_MAX_LISTED]:
        row = x[r]
        what = "non-finite" if not np.isfinite(row).all() else "negative"
        lines.append(f"row {row_start + int(r)} theta={np.array2string(theta[r], precision=6)} ({what})")
    more = f" (+{len(bad_rows) - _MAX_LISTED} more)" if len(bad_rows) > _MAX_LISTED else ""
    return "; ".join(lines) + more


def _backend_simulator(cfg: Config, workdir: str | os.PathLike | None, events_file: str | os.PathLike | None):
    from nutune.forward import backend_simulator

    return backend_simulator(cfg, workdir, events_file)


def simulate_shard(
    cfg: Config,
    params_path: str | os.PathLike,
    split: str,
    shard_index: int,
    out_path: str | os.PathLike,
    *,
    simulator: Simulator | None = None,
    workdir: str | os.PathLike | None = None,
    events_file: str | os.PathLike | None = None,
) -> Path:
    """Simulate one shard of the bank and write it atomically to ``out_path``.

    Reads rows [row_start, row_stop) of ``params_path``, runs the backend (the built-in simulator's templates built
    with ``cfg.simulator.builtin``, or ``nutune.genie.simulate_points`` for ``backend: genie``; ``simulator``
    overrides both, for tests), then checks every histogram. Rows with NaN/inf/negative bins either fail the shard
    (``on_bad_histogram: fail``, a :class:`DataError` listing up to 10 bad θ) or are dropped and counted in the
    ``n_dropped`` attr (``drop``).

    Attrs: split, shard_index, row_start, row_stop, backend, bins, n_dropped, seed, config_hash,
    nutune_version, complete=True (set last, inside the atomic write).

    Raises:
        DataError: unreadable parameter file, split mismatch, a simulator returning the wrong shape, bad rows with
            ``on_bad_histogram: fail``.
    """
    _check_split(split)
    theta_all, pattrs = read_parameters(params_path)
    if pattrs.get("split") != split:
        raise DataError(f"{params_path}: parameter file is for split {pattrs.get('split')!r}, not {split!r}")
    expected_n = _split_size(cfg, split)
    if theta_all.shape[0] != expected_n:
        raise DataError(
            f"{params_path}: has {theta_all.shape[0]} rows but simulation.n_{split} = {expected_n}; "
            "rerun write_parameters with this config"
        )
    start, stop = shard_rows(cfg, split, shard_index)
    theta = theta_all[start:stop]
    sim = simulator if simulator is not None else _backend_simulator(cfg, workdir, events_file)
    bins = cfg.simulator.bins
    t0 = time.perf_counter()
    x = np.asarray(sim(theta), dtype=float)
    seconds = time.perf_counter() - t0
    bad = check_histograms(theta, x, bins)
    bad_rows = np.flatnonzero(bad)
    row_index = np.arange(start, stop)
    if bad_rows.size:
        detail = _describe_bad(theta, x, bad_rows, start)
        if cfg.simulation.on_bad_histogram == "fail":
            raise DataError(
                f"{split} shard {shard_index}: {bad_rows.size} of {theta.shape[0]} simulated histograms are "
                f"non-finite or negative: {detail}. Set simulation.on_bad_histogram: drop to remove such rows"
            )
        log.warning("%s shard %d: dropping %d bad histogram(s): %s", split, shard_index, bad_rows.size, detail)
        keep = ~bad
        theta, x, row_index = theta[keep], x[keep], row_index[keep]
    out_path = Path(out_path)
    _write_rows(
        out_path, cfg, theta, x, row_index,
        {
            "split": split,
            "shard_index": shard_index,
            "row_start": start,
            "row_stop": stop,
            "backend": cfg.simulator.backend,
            "bins": bins,
            "n_dropped": int(bad_rows.size),
        },
    )
    rate = (stop - start) / seconds if seconds > 0 else float("inf")
    log.info(
        "%s shard %d: rows %d-%d simulated in %.3g s (%.3g rows/s), %d dropped -> %s",
        split, shard_index, start, stop, seconds, rate, int(bad_rows.size), out_path,
    )
    return out_path


# ---------------------------------------------------------------------------------------------------------------
# Merge
# ---------------------------------------------------------------------------------------------------------------


def _read_shard(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    if not path.is_file():
        raise DataError(f"shard {path} is missing")
    try:
        with h5py.File(path, "r") as f:
            attrs = dict(f.attrs)
            if not attrs.get("complete", False):
                raise DataError(f"shard {path} is incomplete (attr complete is not True); rerun its job")
            theta, x, row_index = f["theta"][...], f["x"][...], f["row_index"][...]
    except DataError:
        raise
    except (OSError, KeyError) as exc:
        raise DataError(f"shard {path} is unreadable or truncated ({exc}); delete it and rerun its job") from None
    return theta, x, row_index, attrs


def merge_shards(
    cfg: Config,
    shard_paths: Sequence[str | os.PathLike],
    params_path: str | os.PathLike,
    out_path: str | os.PathLike,
) -> Path:
    """Merge the shards of one split into the bank ``out_path`` after checking they form the whole split.

    Checks: every shard exists, is readable and ``complete``; all have the parameter file's split, the configured
    backend and bins; shard indices are exactly 0 .. n_shards-1 without duplicates; each shard's row range is the
    one :func:`shard_rows` assigns (so no overlap or gap); kept rows + ``n_dropped`` equal the range length; every
    shard's θ equals the parameter file's rows. The sha256 of each shard is recorded.

    Attrs of the bank: split, backend, bins, versions (JSON), config_hash, data_hash, seed, params_seed,
    dial_names, prior_low, prior_high, n_dropped, n_rows, shard_sha256 (JSON list), nutune_version.

    Raises:
        DataError: naming the offending shard and what is wrong.
    """
    theta_all, pattrs = read_parameters(params_path)
    split = str(pattrs.get("split"))
    _check_split(split)
    expected = n_shards(cfg, split)
    if theta_all.shape[0] != _split_size(cfg, split):
        raise DataError(
            f"{params_path}: has {theta_all.shape[0]} rows but simulation.n_{split} = {_split_size(cfg, split)}"
        )
    paths = [Path(p) for p in shard_paths]
    if len(paths) != len(set(p.resolve() for p in paths)):
        raise DataError(f"the same shard file is listed twice in {[str(p) for p in paths]}")
    shards: dict[int, tuple] = {}
    for path in paths:
        theta, x, row_index, attrs = _read_shard(path)
        idx = int(attrs["shard_index"])
        if attrs.get("split") != split:
            raise DataError(f"shard {path} is for split {attrs.get('split')!r}, the parameter file for {split!r}")
        if attrs.get("backend") != cfg.simulator.backend or int(attrs.get("bins", -1)) != cfg.simulator.bins:
            raise DataError(
                f"shard {path} was made with backend {attrs.get('backend')!r}, bins {attrs.get('bins')}; the config "
                f"has {cfg.simulator.backend!r}, {cfg.simulator.bins}"
            )
        if idx in shards:
            raise DataError(f"shard index {idx} of split {split} appears twice: {shards[idx][0]} and {path}")
        if not 0 <= idx < expected:
            raise DataError(f"shard {path} has index {idx}; split {split} has shards 0 .. {expected - 1}")
        start, stop = shard_rows(cfg, split, idx)
        if (int(attrs["row_start"]), int(attrs["row_stop"])) != (start, stop):
            raise DataError(
                f"shard {path} covers rows {attrs['row_start']}-{attrs['row_stop']}, expected {start}-{stop} "
                "(overlapping or stale shard; rerun it)"
            )
        n_dropped = int(attrs["n_dropped"])
        if theta.shape[0] != x.shape[0] or theta.shape[0] != row_index.shape[0] or x.shape[1:] != (cfg.simulator.bins,):
            raise DataError(
                f"shard {path}: inconsistent datasets theta {theta.shape}, x {x.shape}, row_index {row_index.shape}"
            )
        if theta.shape[0] + n_dropped != stop - start:
            raise DataError(
                f"shard {path}: {theta.shape[0]} rows + {n_dropped} dropped != {stop - start} rows of its range"
            )
        if row_index.size and (row_index.min() < start or row_index.max() >= stop or np.any(np.diff(row_index) <= 0)):
            raise DataError(f"shard {path}: row_index outside {start}-{stop} or not increasing")
        if not np.array_equal(theta, theta_all[row_index]):
            raise DataError(f"shard {path}: theta differs from {params_path} rows {start}-{stop} (stale shard?)")
        shards[idx] = (path, theta, x, row_index, n_dropped)
    missing = sorted(set(range(expected)) - set(shards))
    if missing:
        listed = ", ".join(map(str, missing[:_MAX_LISTED])) + (" ..." if len(missing) > _MAX_LISTED else "")
        raise DataError(f"split {split}: {len(missing)} of {expected} shards missing (indices {listed})")
    order = [shards[i] for i in range(expected)]
    theta = np.concatenate([s[1] for s in order])
    x = np.concatenate([s[2] for s in order])
    row_index = np.concatenate([s[3] for s in order])
    n_dropped = sum(s[4] for s in order)
    shard_sha = [{"shard_index": i, "file": Path(s[0]).name, "sha256": sha256_file(s[0])} for i, s in enumerate(order)]
    out_path = Path(out_path)
    _write_rows(
        out_path, cfg, theta, x, row_index,
        {
            "split": split,
            "backend": cfg.simulator.backend,
            "bins": cfg.simulator.bins,
            "versions": json.dumps(versions(), sort_keys=True),
            "data_hash": data_hash(),
            "params_seed": int(pattrs.get("params_seed", derive_seed(cfg.seed, "params", split))),
            "n_dropped": n_dropped,
            "n_rows": theta.shape[0],
            "shard_sha256": json.dumps(shard_sha),
        },
    )
    log.info("merged %d %s shards: %d rows (%d dropped) -> %s", expected, split, theta.shape[0], n_dropped, out_path)
    return out_path


def read_bank(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Read a merged bank: (theta (n, d), x (n, bins), attrs). JSON attrs (versions, dial_names, shard_sha256)
    are decoded.

    Raises:
        DataError: unreadable/incomplete file or inconsistent shapes.
    """
    try:
        with h5py.File(path, "r") as f:
            attrs = dict(f.attrs)
            theta, x = f["theta"][...], f["x"][...]
    except (OSError, KeyError) as exc:
        raise DataError(f"bank {path} is unreadable ({exc}); rebuild it") from None
    if not attrs.get("complete", False):
        raise DataError(f"bank {path} is incomplete (attr complete is not True); rebuild it")
    if (theta.ndim != 2 or theta.shape[1] != len(_dial_names(attrs)) or x.ndim != 2
            or x.shape[0] != theta.shape[0]):
        raise DataError(f"bank {path}: inconsistent shapes theta {theta.shape}, x {x.shape}")
    for key in ("versions", "dial_names", "shard_sha256"):
        if isinstance(attrs.get(key), str):
            attrs[key] = json.loads(attrs[key])
    return theta, x, attrs
