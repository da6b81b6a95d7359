"""Shared pytest set-up: one torch thread, seeded global RNGs per test, a session-wide template cache, and the
session's one uninterrupted tiny workflow run (``tiny_run``) with the helpers that drive Snakemake on it."""

from __future__ import annotations

import os

# Before torch is imported anywhere: small networks are ~100x slower with 2 threads on a busy 2-core machine.
os.environ["OMP_NUM_THREADS"] = "1"
os.environ.setdefault("MKL_NUM_THREADS", "1")
# Before numpy loads OpenBLAS (imported below): nutune pins its numerics on import (nutune/_numerics.py).
import nutune  # noqa: E402, F401

# isort: split
import random  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

#: Repository root (tests run from anywhere).
REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
#: The tiny config's results prefix (config/test_config.yaml).
TINY = yaml.safe_load((REPO / "config" / "test_config.yaml").read_text())["results_dir"]


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


def snakemake(args: list[str], *, cwd: Path = REPO, timeout: int = 120, check: bool = True,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run snakemake under ``timeout -k 10`` (stdout and stderr together), with ``env`` added to the environment;
    fail with its output on error."""
    command = ["timeout", "-k", "10", str(timeout), SNAKEMAKE, "-s", str(REPO / "Snakefile"), *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    output = result.stdout + result.stderr
    result.stdout = output
    if check and result.returncode != 0:
        pytest.fail(f"snakemake {' '.join(args)} failed ({result.returncode}):\n{output[-6000:]}")
    return result


def tiny_config(cache: Path) -> dict:
    """config/test_config.yaml with its template cache in ``cache`` (the session's ``NUTUNE_CACHE``)."""
    config = yaml.safe_load((REPO / "config" / "test_config.yaml").read_text())
    config["simulator"]["builtin"]["cache_dir"] = str(cache)
    return config


def make_workdir(path: Path, cache: Path, edit=None, **overrides: dict) -> Path:
    """A working directory for a tiny run: resources/ link and the test config (cache in the session cache); each
    override is merged into its config section, then ``edit(config)`` may change the config in place."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "resources").symlink_to(REPO / "resources")
    config = tiny_config(cache)
    for key, value in overrides.items():
        config[key] = {**config[key], **value}
    if edit is not None:
        edit(config)
    (path / "config").mkdir()
    (path / "config" / "test_config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def tiny_args(workdir: Path, *targets: str) -> list[str]:
    return ["--directory", str(workdir), "--configfile", str(workdir / "config" / "test_config.yaml"),
            "--cores", "2", *targets]


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, nutune_cache: Path) -> tuple[Path, float]:
    """One uninterrupted tiny run of the whole DAG: (working directory, wall seconds). Made once per session and
    the reference of every other run of the tiny config (the resumed run, the Slurm run)."""
    workdir = make_workdir(tmp_path_factory.mktemp("tiny") / "run", nutune_cache)
    start = time.monotonic()
    snakemake(tiny_args(workdir), timeout=900)
    return workdir, time.monotonic() - start
