"""Snakemake script of rule `noise_vs_throws`: noise-aware posterior for T2K vs the throws approach."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.compare import run_noise_vs_throws

with log_to(snakemake.log[0]):
    run_noise_vs_throws(
        stage_config(snakemake.params.config),
        model_paths=list(snakemake.input.models),
        observation=snakemake.input.observation,
        throws=snakemake.input.throws,
        output=snakemake.output[0],
    )
