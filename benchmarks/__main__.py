"""``python -m benchmarks [names...] [--quick]``: run the benchmark suite, write JSON and a Markdown table.

Writes ``results/benchmarks/<name>.json`` per benchmark (each with machine, versions and settings) and
``results/benchmarks/summary.md``. Benchmarks never run in CI; ``tests/test_benchmarks.py`` runs ``--quick`` on tiny
sizes to check that the code itself works. ``--quick`` results go to ``results/benchmarks/quick/``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from . import bank, gpu, inference, training, workflow  # noqa: E402
from .common import OUT_DIR, write_result  # noqa: E402

BENCHMARKS = {
    "simulator": lambda quick: __import__("benchmarks.simulator", fromlist=["run"]).run(quick=quick),
    "bank": lambda quick: bank.run(quick=quick),
    "training": lambda quick: training.run(quick=quick, to_convergence=not quick and not _OPTIONS.get("no_convergence")),
    "inference": lambda quick: inference.run(quick=quick),
    "planning": lambda quick: workflow.planning(quick=quick),
    "full_workflow": lambda quick: workflow.full_run(quick=quick),
    "gpu": lambda quick: gpu.run(quick=quick),
}


_OPTIONS: dict[str, bool] = {}


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if k in ("machine", "benchmark", "timestamp"):
            continue
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        elif not isinstance(v, list):
            out[key] = v
    return out


def write_summary(out_dir: Path) -> Path:
    """Collect every ``*.json`` in ``out_dir`` into one Markdown table per benchmark."""
    lines = ["# nutune benchmarks", ""]
    machine_done = False
    for path in sorted(out_dir.glob("*.json")):
        rec = json.loads(path.read_text())
        if not machine_done:
            m = rec.get("machine", {})
            lines += [f"Machine: {m.get('cpu_model', '?')}, {m.get('cpu_count')} cores, {m.get('mem_total_gb')} GB; "
                      f"python {m.get('python')}, torch {m.get('torch')}, sbi {m.get('sbi')}, "
                      f"snakemake {m.get('snakemake')}, numpy {m.get('numpy')}.", ""]
            machine_done = True
        lines += [f"## {rec['benchmark']} ({rec['timestamp']})", "", "| quantity | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in _flatten(rec).items()]
        lines.append("")
    path = out_dir / "summary.md"
    path.write_text("\n".join(lines))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*",
                        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test of the benchmark code)")
    parser.add_argument("--no-convergence", action="store_true",
                        help="training: time the fixed epochs only, skip the (long) run to early-stopping convergence")
    args = parser.parse_args(argv)
    _OPTIONS["no_convergence"] = args.no_convergence
    names = args.names or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    out_dir = OUT_DIR / "quick" if args.quick else OUT_DIR
    failed = []
    for name in names:
        print(f"[benchmarks] {name} ...", flush=True)
        try:
            result = BENCHMARKS[name](args.quick)
        except Exception:  # noqa: BLE001 - report every failure, keep going, exit non-zero at the end
            traceback.print_exc()
            failed.append(name)
            continue
        path = write_result(name, {"quick": args.quick, **result}, out_dir)
        print(f"[benchmarks] {name} -> {path}", flush=True)
    summary = write_summary(out_dir)
    print(f"[benchmarks] summary -> {summary}")
    if failed:
        print(f"[benchmarks] FAILED: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
