"""Snakemake script of rule `chi2_table`: chi2 of every prediction against the T2K data."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.compare import run_chi2_table

with log_to(snakemake.log[0]):
    run_chi2_table(stage_config(snakemake.params.config), posteriors=snakemake.params.posteriors, output=snakemake.output[0])
