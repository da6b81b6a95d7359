"""Snakemake script of rule `misspecification_table`: results/tables/misspecification.csv."""

from nutune.misspecification import run_misspecification_table
from nutune.pipeline import log_to

with log_to(snakemake.log[0]):
    run_misspecification_table(list(snakemake.input), snakemake.output[0])
