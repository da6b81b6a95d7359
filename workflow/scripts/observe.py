"""Snakemake script of rule `observe`: the observed histogram of one observation."""

from nutune.pipeline import log_to, run_observe

with log_to(snakemake.log[0]):
    run_observe(snakemake.config, name=snakemake.wildcards.obs, output=snakemake.output[0],
                bank_path=snakemake.input.get("bank"))
