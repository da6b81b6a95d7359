"""Snakemake script of rule `test_metrics_table`: the diagnostics numbers as a CSV table."""

from nutune.pipeline import log_to, run_test_metrics_table

with log_to(snakemake.log[0]):
    run_test_metrics_table(metrics=snakemake.input.metrics, output=snakemake.output[0])
