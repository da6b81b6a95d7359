"""Shared pytest set-up: one torch thread, seeded global RNGs per test, and a session-wide template cache."""

from __future__ import annotations

import os

# Before torch is imported anywhere: small networks are ~100x slower with 2 threads on a busy 2-core machine.
os.environ["OMP_NUM_THREADS"] = "1"
os.environ.setdefault("MKL_NUM_THREADS", "1")

import random  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

#: Repository root (tests run from anywhere).
REPO = Path(__file__).resolve().parents[1]


def fresh_clone(dest: Path) -> Path:
    """The repository's tracked files (symlinks kept as links) in ``dest``, as `git clone` would check them out."""
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if not (source.exists() or source.is_symlink()) or name.startswith("tests/"):
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)
    return dest


@pytest.fixture(scope="session", autouse=True)
def nutune_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A temporary ``NUTUNE_CACHE`` shared by the whole session (templates are built once, never in ~/.cache)."""
    cache = tmp_path_factory.mktemp("nutune_cache")
    old = os.environ.get("NUTUNE_CACHE")
    os.environ["NUTUNE_CACHE"] = str(cache)
    yield cache
    if old is None:
        os.environ.pop("NUTUNE_CACHE", None)
    else:
        os.environ["NUTUNE_CACHE"] = old


@pytest.fixture(autouse=True)
def seeded_rngs() -> None:
    """Seed Python's, numpy's and torch's global generators before every test (the sbi test convention).

    Library code never uses these global states (it derives its seeds with ``nutune.io``); this only makes the
    tests' own helper draws and third-party defaults reproducible.
    """
    random.seed(0)
    np.random.seed(0)  # noqa: NPY002 - tests only; project code uses nutune.io.rng
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return
    torch.manual_seed(0)
    torch.set_num_threads(1)
