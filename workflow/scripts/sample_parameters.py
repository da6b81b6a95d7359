"""Snakemake script of rule `sample_parameters`: uniform prior draws for one split."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.simulate import run_sample_parameters

with log_to(snakemake.log[0]):
    run_sample_parameters(stage_config(snakemake.params.config, provenance=snakemake.params.provenance), split=snakemake.wildcards.split, output=snakemake.output[0])
