"""Snakemake script of rule `infer`: posterior samples for one observation."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.infer import run_infer

with log_to(snakemake.log[0]):
    run_infer(
        stage_config(snakemake.params.config),
        model_paths=list(snakemake.input.models),
        observation=snakemake.input.observation,
        name=snakemake.wildcards.obs,
        output=snakemake.output[0],
    )
