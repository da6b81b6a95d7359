"""Snakemake script of rule `test_metrics_table`: the diagnostics numbers as a CSV table."""

from nutune.stages.common import log_to
from nutune.stages.diagnose import run_test_metrics_table

with log_to(snakemake.log[0]):
    run_test_metrics_table(metrics=snakemake.input.metrics, output=snakemake.output[0])
