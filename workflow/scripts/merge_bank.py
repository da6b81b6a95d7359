"""Snakemake script of rule `merge_bank`: merge the shards of one split into the bank."""

from nutune.config import stage_config
from nutune.stages.bank import run_merge_bank
from nutune.stages.common import log_to

with log_to(snakemake.log[0]):
    run_merge_bank(
        stage_config(snakemake.params.config, provenance=snakemake.params.provenance),
        params_path=snakemake.input.params,
        shard_paths=list(snakemake.input.shards),
        split=snakemake.wildcards.split,
        output=snakemake.output[0],
    )
