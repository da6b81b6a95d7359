"""Benchmark of the built-in simulator: batched histograms/s/core, single-call latency, build time, peak memory.

``run(quick=False) -> dict`` (wired into ``make bench`` elsewhere). Single-threaded by construction
(``OMP_NUM_THREADS=1`` is set before numpy is imported when run as a script; the numbers are per core).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
import tracemalloc

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def _best_rate(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _twelve_dials(templates, theta_all: np.ndarray, all_names: tuple[str, ...], gen: np.random.Generator,
                  n_batch: int) -> dict:
    """Twelve free: the RES shape mode (NormCCRES, MaCCRESshape, MvCCRESshape) instead of MaCCRES, MvCCRES, in
    GENIE's +-3 sigma; its response is built on first use (base sample regenerated from the seed, ~30 s whatever
    the template size, so not in ``quick``): build and batched rate timed."""
    names12 = (*all_names[:5], "NormCCRES", "MaCCRESshape", "MvCCRESshape", *all_names[7:])
    theta12 = np.column_stack([theta_all[:, :5], gen.uniform(0.4, 1.6, n_batch), gen.uniform(0.75, 1.38, n_batch),
                               gen.uniform(0.72, 0.96, n_batch), theta_all[:, 7:]])
    t0 = time.perf_counter()
    templates.shape_response()
    shape_build_s = time.perf_counter() - t0
    rss_after_shape = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    templates.evaluate(theta12[:1000], names=names12)
    batch12_s = _best_rate(lambda: templates.evaluate(theta12, names=names12), 3)
    return {
        "histograms_per_second_per_core_twelve_dials": round(n_batch / batch12_s),
        "res_shape_build_seconds": round(shape_build_s, 3),
        "res_shape_response_ranks": templates.res_shape_response.metadata["ranks"],
        "res_shape_response_max_error": templates.res_shape_response.metadata["max_error"],
        "res_shape_response_megabytes": round(templates.res_shape_response.cores.nbytes / 2**20, 1),
        "peak_rss_mb_after_shape_build": round(rss_after_shape, 1),
    }


def run(quick: bool = False) -> dict:
    """Measure the simulator; ``quick`` uses 5e4 events per channel, smaller batches and fewer repeats (a smoke test
    of this code in the test suite, not a measurement)."""
    from nutune.simulator.templates import build_templates, get_templates

    n_events = 50_000 if quick else 1_000_000
    n_batch = 5_000 if quick else 200_000
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    templates = build_templates("nominal", sample_seed=20240601, n_events=n_events)
    build_s = time.perf_counter() - t0
    rss_after_build = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # Python-level peak allocation of a 10x smaller build (tracemalloc slows the build, so not timed; not in quick)
    peak_traced = None
    if not quick:
        tracemalloc.start()
        build_templates("nominal", sample_seed=20240601, n_events=max(n_events // 10, 10_000))
        _, peak_traced = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    with tempfile.TemporaryDirectory() as tmp:
        get_templates("nominal", sample_seed=20240601, n_events=min(n_events, 100_000), cache_dir=tmp)
        from nutune.simulator import templates as tmod

        tmod._MEMO.clear()
        t0 = time.perf_counter()
        get_templates("nominal", sample_seed=20240601, n_events=min(n_events, 100_000), cache_dir=tmp)
        cache_load_s = time.perf_counter() - t0
    gen = np.random.default_rng(0)
    theta = np.column_stack(
        [
            gen.uniform(0.53, 1.39, n_batch),
            gen.uniform(0, 3, n_batch),
            gen.uniform(0, 1, n_batch),
            gen.uniform(0, 1.5, n_batch),
        ]
    )
    templates.evaluate(theta[:1000])
    batch_s = _best_rate(lambda: templates.evaluate(theta), 2 if quick else 3)
    # as many builtin dials free as can be at once: the four + CCQEPauliSupViaKF, MaCCRES, MvCCRES, MFP_pi + three
    # pion fates (absorption the cushion, GENIE's default), each in its GENIE +-3 sigma box (or the builtin range)
    all_names = ("MaCCQE", "NormCCMEC", "XSecShape_CCMEC", "RPA_CCQE", "CCQEPauliSupViaKF", "MaCCRES", "MvCCRES",
                 "MFP_pi", "FrCEx_pi", "FrInel_pi", "FrPiProd_pi")
    theta_all = np.column_stack([theta, gen.uniform(0.1, 1.9, n_batch), gen.uniform(0.45, 1.7, n_batch),
                                 gen.uniform(0.59, 1.09, n_batch),
                                 gen.uniform(0.4, 1.6, n_batch), gen.uniform(0.5, 1.1, n_batch),
                                 gen.uniform(0.5, 1.1, n_batch), gen.uniform(0.5, 1.1, n_batch)])
    templates.evaluate(theta_all[:1000], names=all_names)
    batch_all_s = _best_rate(lambda: templates.evaluate(theta_all, names=all_names), 2 if quick else 3)
    twelve = {} if quick else _twelve_dials(templates, theta_all, all_names, gen, n_batch)
    single = theta[0]
    n_single = 200 if quick else 2000
    t0 = time.perf_counter()
    for _ in range(n_single):
        templates.evaluate(single)
    single_us = (time.perf_counter() - t0) / n_single * 1e6
    import torch

    torch.set_num_threads(1)
    tt = torch.tensor(theta[:10_000])
    torch_s = _best_rate(lambda: templates.evaluate_torch(tt), 3)
    return {
        "n_events_per_channel": n_events,
        "build_seconds": round(build_s, 3),
        "cache_load_seconds": round(cache_load_s, 4),
        "batch_size": n_batch,
        "histograms_per_second_per_core": round(n_batch / batch_s),
        "histograms_per_second_per_core_all_builtin_dials": round(n_batch / batch_all_s),
        "all_builtin_dials_free": len(all_names),
        "all_dials_over_four_dials_time_ratio": round(batch_all_s / batch_s, 3),
        **twelve,
        "res_response_ranks": templates.metadata["res_response"]["ranks"],
        "res_response_max_error": templates.metadata["res_response"]["max_error"],
        "res_response_megabytes": round(templates.res_response.cores.nbytes / 2**20, 1),
        "pauli_rank": templates.metadata["pauli"]["rank"],
        "pauli_megabytes": round((templates.pauli.cumulative.nbytes + templates.pauli.keys.nbytes) / 2**20, 1),
        "single_call_microseconds": round(single_us, 2),
        "torch_histograms_per_second_per_core": round(10_000 / torch_s),
        "peak_rss_mb_build": round(rss_after_build, 1),
        "rss_mb_before_build": round(rss_before, 1),
        "peak_traced_memory_mb_build_at_tenth_size": None if peak_traced is None else round(peak_traced / 2**20, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
