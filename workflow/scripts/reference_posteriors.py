"""Snakemake script of rule `reference_posteriors`: exact emcee reference posteriors (no network)."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.validate import run_reference_posteriors

with log_to(snakemake.log[0]):
    run_reference_posteriors(
        stage_config(snakemake.params.config),
        observations=dict(snakemake.params.observations),
        samples=snakemake.output.samples,
    )
