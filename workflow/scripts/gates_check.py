"""Snakemake script of rule `calibration_gate`: check metrics.json against gates.* and write gate.json."""

from nutune.gates import run_gate
from nutune.pipeline import log_to

with log_to(snakemake.log[0]):
    run_gate(snakemake.input.metrics, dict(snakemake.params.gates), snakemake.output[0])
