"""Snakemake script of rule `misspecification`: the misspecification tests of one observation."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.misspecification import run_misspecification

with log_to(snakemake.log[0]):
    run_misspecification(
        stage_config(snakemake.params.config),
        model_paths=list(snakemake.input.models),
        marginal_flow=snakemake.input.marginal_flow,
        test_bank=snakemake.input.test,
        name=snakemake.wildcards.obs,
        observation=snakemake.input.observation,
        posterior=snakemake.input.posterior,
        output=snakemake.output[0],
    )
