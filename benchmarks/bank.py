"""A bank of 200 000 points with the built-in simulator: wall time of sample → shards → merge, and size on disk.

Runs the same library calls the workflow's rules make (``nutune.bank``), without Snakemake's overhead, so the number
is the cost of the stage itself. Shard writes and the merge include HDF5 I/O and sha256 hashing.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path


def run(quick: bool = False, n_train: int = 200_000, shard_size: int = 1000) -> dict:
    """Build a train bank of ``n_train`` points in a temporary directory and measure it."""
    import yaml

    from nutune import bank
    from nutune.config import load_config

    from .common import ROOT

    raw = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    if quick:
        # the test suite's smoke run: the session's template cache (NUTUNE_CACHE, where nutune.simulate's default
        # templates of the same seed and size live) instead of building a second copy under the repo's .cache
        n_train, shard_size = 2000, 500
        raw["simulator"]["builtin"]["cache_dir"] = os.environ.get("NUTUNE_CACHE",
                                                                  raw["simulator"]["builtin"]["cache_dir"])
    raw["simulation"].update({"n_train": n_train, "shard_size": shard_size})
    cfg = load_config(raw)
    # Build (or load) the simulator templates first: their one-off cost is the simulator benchmark's, not the bank's.
    from nutune.simulator import get_templates

    b = cfg.simulator.builtin
    t0 = time.perf_counter()
    get_templates("nominal", sample_seed=b.sample_seed, n_events=b.n_events, cache_dir=b.cache_dir)
    t_templates = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        t0 = time.perf_counter()
        params = tmpd / "params_train.h5"
        bank.write_parameters(cfg, "train", params)
        t_params = time.perf_counter() - t0
        shards = []
        for i in range(bank.n_shards(cfg, "train")):
            out = tmpd / "shards" / f"shard_{i:05d}.h5"
            bank.simulate_shard(cfg, params, "train", i, out)
            shards.append(out)
        t_shards = time.perf_counter() - t0 - t_params
        merged = tmpd / "train.h5"
        bank.merge_shards(cfg, shards, params, merged)
        wall = time.perf_counter() - t0
        size_merged = merged.stat().st_size
        size_shards = sum(p.stat().st_size for p in shards)
    return {"n_train": n_train, "shard_size": shard_size, "n_shards": len(shards), "wall_s": wall,
            "params_s": t_params, "shards_s": t_shards, "merge_s": wall - t_params - t_shards,
            "merged_bank_mb": size_merged / 1e6, "shards_total_mb": size_shards / 1e6,
            "bytes_per_point": size_merged / n_train,
            "template_load_or_build_s_excluded": t_templates}
