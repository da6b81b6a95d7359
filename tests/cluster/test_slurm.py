"""A REAL Slurm test: the tiny workflow on a single-node Slurm cluster brought up on this machine.

On by default when running as root and ``CI=true`` or ``NUTUNE_SLURM_TEST=1``; skipped (with the reason) when not
root, when ``NUTUNE_SLURM_TEST=0``, or outside CI without ``NUTUNE_SLURM_TEST=1``. It

1. brings the cluster up with ``tests/cluster/slurm.sh up`` (munge, MariaDB, slurmdbd, slurmctld, slurmd),
2. takes the session's local tiny run (``tiny_run``, tests/conftest.py: the whole DAG of the same config) as the
   reference,
3. runs the tiny config's paper tables as a user types it at the root of a fresh clone, ``snakemake
   results/tiny/tables/t2k.csv ... --profile slurm --configfile slurm_test.yaml`` (the root's ``slurm`` links to
   workflow/profiles/slurm; profiles/default is merged in), cancels one running shard job with ``scancel`` mid-run,
   and checks that the job shows up as CANCELLED and then COMPLETED in ``sacct`` (retried by Snakemake) and that
   the banks and every table it built equal the local run's byte for byte (figures and the extensions' tables are
   left to the local run: they add jobs, not Slurm behaviour),
4. stops every daemon by its PID file (``slurm.sh down``), also when the test fails, and removes the
   generated configuration and accounting database (``slurm.sh purge``) if there was no slurm.conf before.

Every snakemake call runs under ``timeout -k 30 <N>`` (a Snakemake waiting on a broken status command never
exits by itself).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import TINY, fresh_clone, tiny_config

from nutune import paths

REPO = Path(__file__).resolve().parents[2]
SLURM_SH = REPO / "tests" / "cluster" / "slurm.sh"
#: What the Slurm run builds: the paper's tables (and with them the bank, the network and the posteriors).
SLURM_TABLES = ("test_metrics", "microboone_tune", "t2k", "chi2")


def _skip_reason() -> str | None:
    flag = os.environ.get("NUTUNE_SLURM_TEST", "")
    if flag == "0":
        return "NUTUNE_SLURM_TEST=0"
    if os.geteuid() != 0:
        return "the Slurm cluster test needs root (it installs packages and starts daemons)"
    if not (os.environ.get("CI", "").lower() == "true" or flag == "1"):
        return "set NUTUNE_SLURM_TEST=1 (or CI=true) to bring up a local Slurm cluster"
    if shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
        return "no apt-get and no Slurm installed"
    return None


pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.skipif(_skip_reason() is not None,
                                                                         reason=_skip_reason() or "")]


def sh(*args: str, timeout: int = 120) -> str:
    res = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res.stdout


@pytest.fixture(scope="module")
def cluster():
    # Leave the machine as we found it: if this test wrote slurm.conf, `purge` removes it (and the accounting DB)
    # after stopping the daemons. A stale slurm.conf with no controller makes every later `snakemake` start ~9 s
    # slower: the slurm executor plugin runs `scontrol show config` (10 s timeout) when it is imported.
    had_config = Path("/etc/slurm/slurm.conf").exists()
    try:
        sh("bash", str(SLURM_SH), "up", timeout=600)
        yield
    finally:
        subprocess.run(["bash", str(SLURM_SH), "down" if had_config else "purge"], timeout=180, check=False)


def _jobs() -> list[tuple[str, str, str]]:
    out = subprocess.run(["squeue", "-h", "-o", "%i|%k|%T"], capture_output=True, text=True).stdout
    return [tuple(line.split("|", 2)) for line in out.splitlines() if line.count("|") == 2]


def cancel_one_shard(stop: threading.Event, cancelled: list[str], deadline_s: float = 240) -> None:
    """Poll squeue; scancel the first simulate_shard job seen RUNNING (else PENDING after 2 s of looking)."""
    t0 = time.monotonic()
    first_seen = None
    while not stop.is_set() and time.monotonic() - t0 < deadline_s:
        shards = [j for j in _jobs() if "simulate_shard" in j[1]]
        running = [j for j in shards if j[2] == "RUNNING"]
        if shards and first_seen is None:
            first_seen = time.monotonic()
        pick = running[0] if running else (shards[0] if shards and time.monotonic() - first_seen > 2 else None)
        if pick:
            subprocess.run(["scancel", pick[0]], check=False)
            cancelled.append(pick[0])
            return
        time.sleep(0.1)


def test_tiny_workflow_on_slurm_with_a_cancelled_shard(cluster, tiny_run, nutune_cache):
    local, _ = tiny_run
    # as typed at the root of a fresh clone: `snakemake <tables> --profile slurm --configfile slurm_test.yaml`
    clone = fresh_clone(local.parent / "slurm_clone")
    (clone / "slurm_test.yaml").write_text(yaml.safe_dump(tiny_config(nutune_cache), sort_keys=False))
    targets = [f"{TINY}/tables/{name}.csv" for name in SLURM_TABLES]
    stop, cancelled = threading.Event(), []
    killer = threading.Thread(target=cancel_one_shard, args=(stop, cancelled), daemon=True)
    killer.start()
    t0 = time.monotonic()
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    res = subprocess.run(["timeout", "-k", "30", "900", "snakemake", *targets, "--profile", "slurm", "--configfile",
                          "slurm_test.yaml"], cwd=clone, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    stop.set()
    killer.join(timeout=5)
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-6000:]
    assert "Using profiles slurm and workflow specific profile profiles/default" in log
    print(f"slurm run wall time {wall:.0f} s; cancelled job {cancelled}")

    # the cancelled job is in the accounting database, and its shard was resubmitted and completed
    assert cancelled, "no simulate_shard job was seen in squeue to cancel"
    acct = sh("sacct", "-X", "-n", "--parsable2", "--starttime", "now-2hours", "--format=JobIDRaw,State,Comment")
    rows = [r.split("|") for r in acct.splitlines() if r]
    by_id = {r[0]: r for r in rows}
    assert by_id[cancelled[0]][1].startswith("CANCELLED"), by_id.get(cancelled[0])
    comment = by_id[cancelled[0]][2]
    retries = [r for r in rows if r[2] == comment and r[0] != cancelled[0]]
    assert any(r[1] == "COMPLETED" for r in retries), (comment, retries)
    n_completed = sum(r[1] == "COMPLETED" for r in rows)
    assert n_completed >= 5, acct

    # identical results: banks and every final table
    local_res, remote_res = local / TINY, clone / TINY
    for split in ("train", "test"):
        with h5py.File(local_res / f"bank/{split}.h5") as a, h5py.File(remote_res / f"bank/{split}.h5") as b:
            np.testing.assert_array_equal(a["theta"][:], b["theta"][:])
            np.testing.assert_array_equal(a["x"][:], b["x"][:])
    tables = sorted(p.name for p in (remote_res / "tables").glob("*.csv"))
    assert set(tables) >= {f"{name}.csv" for name in SLURM_TABLES}, tables
    for name in tables:
        pd.testing.assert_frame_equal(pd.read_csv(local_res / "tables" / name),
                                      pd.read_csv(remote_res / "tables" / name), check_exact=True)
    assert (clone / paths.log_dir(TINY) / "simulate_shard").is_dir()
