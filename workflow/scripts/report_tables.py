"""Snakemake script of rule `report_tables`: every table CSV as an HTML table for the report."""

from nutune.stages.common import log_to
from nutune.stages.report import run_report_tables

with log_to(snakemake.log[0]):
    run_report_tables(csvs=list(snakemake.input), outputs=list(snakemake.output), titles=snakemake.params.names,
                      descriptions=snakemake.params.captions)
