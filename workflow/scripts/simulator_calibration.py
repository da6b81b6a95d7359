"""Snakemake script of rule `simulator_calibration`: builtin vs real GENIE / NuWro at the published points."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.compare import run_simulator_calibration

with log_to(snakemake.log[0]):
    run_simulator_calibration(stage_config(snakemake.params.config).simulator.builtin, output=snakemake.output[0])
