"""Snakemake script of rule `calibration_gate`: check metrics.json against gates.* and write gate.json."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.validate import run_calibration_gate

with log_to(snakemake.log[0]):
    run_calibration_gate(snakemake.input.metrics, stage_config(snakemake.params.config).gates, snakemake.output[0])
