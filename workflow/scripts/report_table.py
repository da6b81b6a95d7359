"""Snakemake script of rule `report_table`: one table CSV as an HTML table for the report."""

from nutune.pipeline import log_to, run_report_table

with log_to(snakemake.log[0]):
    run_report_table(csv=snakemake.input[0], output=snakemake.output[0], title=snakemake.params.title,
                     description=snakemake.params.caption)
