"""Snakemake script of rule `t2k_correlations`: correlations of the T2K parameters over the throws."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.compare import run_t2k_correlations

with log_to(snakemake.log[0]):
    run_t2k_correlations(stage_config(snakemake.params.config), throws=snakemake.input.throws, output=snakemake.output[0])
