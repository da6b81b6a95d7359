"""Snakemake script of rule `report_tables`: every table CSV as an HTML table for the report."""

from nutune.pipeline import log_to, run_report_tables

with log_to(snakemake.log[0]):
    run_report_tables(csvs=list(snakemake.input), outputs=list(snakemake.output), titles=snakemake.params.names,
                      descriptions=snakemake.params.captions)
