"""Snakemake script of rule `part_infer`: one part's posterior for its data (nutune.joint_tune)."""

from nutune.config import stage_config
from nutune.joint_tune import run_part_infer
from nutune.stages.common import log_to

with log_to(snakemake.log[0]):
    run_part_infer(
        stage_config(snakemake.params.config),
        part=snakemake.wildcards.part,
        mode=snakemake.wildcards.mode,
        model_paths=list(snakemake.input.models),
        output=snakemake.output[0],
    )
