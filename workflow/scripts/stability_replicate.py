"""Snakemake script of rule `stability_replicate`: one replicate of the default run with other network seeds."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.stability import run_stability_replicate

with log_to(snakemake.log[0]):
    run_stability_replicate(
        stage_config(snakemake.params.config, provenance=snakemake.params.provenance),
        replicate=int(snakemake.wildcards.replicate),
        train_bank=snakemake.input.train,
        test_bank=snakemake.input.test,
        observations=dict(snakemake.params.observations),
        directory=str(snakemake.output.headlines).rsplit("/", 1)[0],
        headlines=snakemake.output.headlines,
        headline_table=snakemake.output.get("likelihood_modes"),
    )
