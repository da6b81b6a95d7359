# nutune developer entry points. `make test` is THE test command (CI runs it through .ci/run).
#
#   make venv     .venv with torch==2.13.0 (CPU) first, then requirements.txt, then nutune (editable)
#   make test     ruff + pytest (unit, physics, workflow lint/dry-run/tiny run) with one torch thread
#   make run      the paper-scale workflow (config/config.yaml) on all local cores (profiles/default)
#   make bench    benchmarks/ -> results/benchmarks/
#   make report   one self-contained HTML report of the last run: <results_dir>/report.html of CONFIG
#                 (default config/config.yaml -> results/report.html; CONFIG=config/test_config.yaml ->
#                 results/tiny/report.html)
#   make clean    remove run outputs, logs and caches (keeps .venv)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1

.PHONY: venv test lint run bench report clean

venv: $(STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -c constraints.txt torch==2.13.0
	$(BIN)/pip install -c constraints.txt -r requirements.txt
	$(BIN)/pip install -c constraints.txt --no-deps -e .
	touch $(STAMP)

lint: venv
	$(BIN)/ruff check .

test: venv
	$(BIN)/ruff check .
	$(BIN)/pytest

run: venv
	$(BIN)/snakemake

bench: venv
	$(BIN)/python -m benchmarks

CONFIG ?= config/config.yaml
report: venv
	$(BIN)/snakemake --report "$$($(BIN)/python -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["results_dir"])' $(CONFIG))/report.html" --configfile $(CONFIG)

clean:
	rm -rf results/bank results/model results/diagnostics results/observations results/posteriors results/throws \
	       results/tables results/figures results/summary.md results/report.html logs .snakemake/incomplete
