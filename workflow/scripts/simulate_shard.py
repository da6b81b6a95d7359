"""Snakemake script of rule `simulate_shard`: simulate one shard of the bank."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.simulate import run_simulate_shard

with log_to(snakemake.log[0]):
    run_simulate_shard(
        stage_config(snakemake.params.config, provenance=snakemake.params.provenance),
        params_path=snakemake.input.params,
        split=snakemake.wildcards.split,
        shard=int(snakemake.wildcards.shard),
        output=snakemake.output[0],
        extra_inputs=list(snakemake.input.extra),
    )
