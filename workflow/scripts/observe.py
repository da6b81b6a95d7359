"""Snakemake script of rule `observe`: the observed histogram of one observation."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.infer import run_observe

with log_to(snakemake.log[0]):
    run_observe(stage_config(snakemake.params.config), name=snakemake.wildcards.obs, output=snakemake.output[0],
                bank_path=snakemake.input.get("bank"))
