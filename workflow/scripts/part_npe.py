"""Snakemake script of rule `part_npe`: the network of one part of a joint measurement (nutune.joint_tune)."""

from nutune.config import stage_config
from nutune.joint_tune import run_part_npe
from nutune.stages.common import log_to

with log_to(snakemake.log[0]):
    run_part_npe(
        stage_config(snakemake.params.config, provenance=snakemake.params.provenance),
        part=snakemake.wildcards.part,
        mode=snakemake.wildcards.mode,
        bank_path=snakemake.input.bank,
        weights=snakemake.output.weights,
        metadata=snakemake.output.metadata,
        loss=snakemake.output.loss,
        config_hash=snakemake.params.provenance.config_hash,
    )
