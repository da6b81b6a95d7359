"""Snakemake script of rule `simulator_calibration`: builtin vs real GENIE / NuWro at the published points."""

from nutune.pipeline import log_to, run_simulator_calibration

with log_to(snakemake.log[0]):
    run_simulator_calibration(snakemake.params.builtin, output=snakemake.output[0])
