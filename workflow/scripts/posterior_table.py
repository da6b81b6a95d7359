"""Snakemake script of rule `posterior_table`: posterior summaries of the observations of one table."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.compare import run_posterior_table

with log_to(snakemake.log[0]):
    run_posterior_table(
        stage_config(snakemake.params.config),
        posteriors=dict(zip(snakemake.params.observations, snakemake.input.posteriors, strict=True)),
        misspecification=list(snakemake.input.misspecification),
        output=snakemake.output[0],
    )
