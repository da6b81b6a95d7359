"""Small I/O helpers shared by every stage: atomic writes, file hashes and derived seeds."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

__all__ = ["atomic_write", "sha256_file", "sha256_bytes", "derive_seed", "rng", "read_observation",
           "write_observation", "read_samples", "write_npz"]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds.

    A crash or exception inside the block leaves ``path`` untouched (never half-written) and removes the
    temporary file, so Snakemake and the merge step never see a partial shard, model or table.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sfx = suffix if suffix is not None else "".join(path.suffixes)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{sfx}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():  # mkstemp creates 0600; give the file the permissions a plain open() would
            tmp_path.chmod(0o666 & ~_current_umask())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's content."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _key_to_int(key: object) -> int:
    if isinstance(key, (int, np.integer)):
        if key < 0:
            raise ValueError(f"seed keys must be non-negative, got {key}")
        return int(key)
    return int.from_bytes(hashlib.sha256(str(key).encode()).digest()[:4], "little")


def derive_seed(global_seed: int, *keys: object) -> int:
    """A 32-bit seed derived from the global seed and a path of keys, e.g. ``derive_seed(555, "shard", "train", 3)``.

    Uses numpy's ``SeedSequence(global_seed, spawn_key=keys)``: independent streams per key path, stable across
    platforms and numpy versions.
    """
    ss = np.random.SeedSequence(int(global_seed), spawn_key=tuple(_key_to_int(k) for k in keys))
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def rng(global_seed: int, *keys: object) -> np.random.Generator:
    """A numpy Generator seeded by :func:`derive_seed`."""
    return np.random.default_rng(derive_seed(global_seed, *keys))


def read_observation(path: str | os.PathLike) -> np.ndarray:
    """The histogram x of an observation CSV (``results/observations/{obs}.csv``)."""
    table = np.genfromtxt(path, delimiter=",", names=True)
    return np.asarray(table["x"], dtype=float)


def write_observation(path: str | os.PathLike, x: np.ndarray, bins: int) -> None:
    """Write an observation CSV atomically: columns ``bin<bins>`` (the bin index) and ``x`` (repr of each value)."""
    with atomic_write(path) as tmp, open(tmp, "w") as handle:
        handle.write(f"bin{bins},x\n")
        for index, value in enumerate(x):
            handle.write(f"{index},{float(value)!r}\n")


def read_samples(path: str | os.PathLike, key: str = "samples") -> np.ndarray:
    """One array of an NPZ artefact (posterior samples, throws), never unpickled."""
    with np.load(path, allow_pickle=False) as data:
        return np.asarray(data[key])


def write_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Write arrays as an uncompressed NPZ atomically."""
    with atomic_write(path) as tmp:
        np.savez(tmp, **{key: np.asarray(value) for key, value in arrays.items()})
