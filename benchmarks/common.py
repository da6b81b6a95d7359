"""Shared helpers for the benchmark suite: repeated timing, peak memory, machine/version records, JSON output."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "results" / "benchmarks"


def timeit(fn: Callable[[], Any], repeats: int = 5, warmup: int = 1) -> dict[str, float]:
    """Run ``fn`` ``warmup`` + ``repeats`` times; return median/min/max wall seconds of the timed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "repeats": repeats}


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident set size of this process (or of its waited-for children) in MB (Linux ru_maxrss is in kB)."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024.0


_WRAPPER = (
    "import resource, subprocess, sys\n"
    "rc = subprocess.run(sys.argv[1:]).returncode\n"
    "sys.stderr.write(f'\\nNUTUNE_PEAK_RSS_KB={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n')\n"
    "sys.exit(rc)\n"
)


def run_measured(cmd: list[str], cwd: Path | None = None, env: dict | None = None, timeout: float | None = None) -> dict:
    """Run a command in a fresh wrapper process; return wall seconds, peak RSS (MB) and return code.

    The peak RSS is ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` of the wrapper: the largest resident set of any process
    in the command's tree that was waited for (Linux semantics), i.e. the memory a user must provision.
    """
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    wall = time.perf_counter() - t0
    peak = None
    for line in proc.stderr.splitlines():
        if line.startswith("NUTUNE_PEAK_RSS_KB="):
            peak = int(line.split("=", 1)[1]) / 1024.0
    return {"wall_s": wall, "peak_rss_mb": peak, "returncode": proc.returncode,
            "stderr_tail": proc.stderr[-3000:] if proc.returncode else ""}


def machine_info() -> dict[str, Any]:
    """CPU, cores, memory, Python and key package versions: recorded with every benchmark."""
    import numpy
    import torch

    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "torch_threads": torch.get_num_threads(),
        "numpy": numpy.__version__,
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["mem_total_gb"] = round(int(f.readline().split()[1]) / 1024**2, 1)
    except OSError:
        pass
    for pkg in ("sbi", "snakemake", "h5py", "nutune"):
        try:
            info[pkg] = __import__(pkg).__version__
        except Exception:  # noqa: BLE001 - a missing package is recorded, not fatal
            info[pkg] = None
    return info


def write_result(name: str, result: dict[str, Any], out_dir: Path = OUT_DIR) -> Path:
    """Write ``results/benchmarks/<name>.json`` (with machine info and a timestamp) atomically."""
    from nutune.io import atomic_write

    out_dir.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine_info(),
               **result}
    path = out_dir / f"{name}.json"
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    return path
