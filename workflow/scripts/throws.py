"""Snakemake script of rule `throws`: covariance throws of the T2K data with one posterior draw each."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.infer import run_throws

with log_to(snakemake.log[0]):
    run_throws(
        stage_config(snakemake.params.config),
        model_paths=list(snakemake.input.models),
        name=snakemake.wildcards.data_obs,
        output=snakemake.output[0],
    )
