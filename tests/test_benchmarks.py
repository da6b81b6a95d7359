"""Smoke test of the benchmark code at tiny sizes (benchmarks themselves never run in CI)."""

from __future__ import annotations

import json

import pytest

import benchmarks.__main__ as bench_main


@pytest.mark.parametrize("name", ["simulator", "bank", "training", "inference", "planning", "gpu"])
def test_benchmark_runs_quick(name, tmp_path, monkeypatch):
    monkeypatch.setattr(bench_main, "OUT_DIR", tmp_path)
    assert bench_main.main([name, "--quick"]) == 0
    record = json.loads((tmp_path / "quick" / f"{name}.json").read_text())
    assert record["quick"] is True
    assert record["machine"]["cpu_count"] >= 1
    summary = (tmp_path / "quick" / "summary.md").read_text()
    assert f"## {name}" in summary


def test_unknown_benchmark_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_main, "OUT_DIR", tmp_path)
    with pytest.raises(SystemExit):
        bench_main.main(["no_such_benchmark"])
