"""Snakemake script of rule `misspecification_table`: results/tables/misspecification.csv."""

from nutune.stages.common import log_to
from nutune.stages.misspecification import run_misspecification_table

with log_to(snakemake.log[0]):
    run_misspecification_table(list(snakemake.input), snakemake.output[0])
