"""Workflow-level benchmarks: Snakemake planning time on a 2 000-shard config, and the full default run.

``planning`` times ``snakemake -n`` (parse, validate, build the DAG) for n_train = 2 000 000 at shard_size 1000
(2 000 train shards). ``full_run`` runs the default paper-scale workflow (``config/config.yaml``) from an empty
results directory in a scratch copy of the repository and records wall time and peak memory of the whole process
tree (GNU time's maximum RSS of the largest process).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import yaml

from .common import ROOT, run_measured

COPY = ["Snakefile", "workflow", "config", "resources"]


def _scratch_copy(dest: Path) -> None:
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        else:
            shutil.copy2(src, dest / name)


def _snakemake() -> str:
    return str(Path(os.sys.executable).with_name("snakemake"))


def planning(quick: bool = False, repeats: int = 3) -> dict:
    """Median/min/max seconds of ``snakemake -n`` for a 2 000-shard config."""
    n_shards = 20 if quick else 2000
    walls = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        _scratch_copy(tmpd)
        cfg = yaml.safe_load((tmpd / "config" / "config.yaml").read_text())
        cfg["results_dir"] = "results/bench"  # results/ is the paper config's own prefix
        cfg["simulation"]["shard_size"] = 1000
        cfg["simulation"]["n_train"] = 1000 * n_shards
        (tmpd / "config" / "bench.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
        cmd = [_snakemake(), "-n", "--quiet", "rules", "--configfile", "config/bench.yaml", "--cores", "1"]
        for _ in range(1 if quick else repeats):
            r = run_measured(cmd, cwd=tmpd, timeout=600)
            if r["returncode"] != 0:
                raise RuntimeError(f"snakemake -n failed: {r['stderr_tail']}")
            walls.append(r["wall_s"])
    walls.sort()
    return {"n_train_shards": n_shards, "median_s": walls[len(walls) // 2], "min_s": walls[0], "max_s": walls[-1],
            "repeats": len(walls), "goal_s": 10}


def full_run(quick: bool = False, cores: int | None = None) -> dict:
    """Run the whole default workflow in a scratch copy; quick mode uses config/test_config.yaml."""
    cores = cores or os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        _scratch_copy(tmpd)
        configfile = "config/test_config.yaml" if quick else "config/config.yaml"
        env = dict(os.environ, OMP_NUM_THREADS="1")
        cmd = [_snakemake(), "--cores", str(cores), "--configfile", configfile, "--quiet", "progress"]
        r = run_measured(cmd, cwd=tmpd, env=env, timeout=4 * 3600)
        if r["returncode"] != 0:
            raise RuntimeError(f"workflow failed: {r['stderr_tail']}")
        n_outputs = len(list((tmpd / "results").rglob("*")))
    return {"configfile": configfile, "cores": cores, "wall_s": r["wall_s"],
            "peak_rss_mb_largest_process": r["peak_rss_mb"], "n_result_files": n_outputs, "goal_s": 900}
