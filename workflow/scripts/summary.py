"""Snakemake script of rule `summary`: the run summary page."""

from nutune.config import Provenance, stage_config
from nutune.stages.common import log_to
from nutune.stages.report import run_summary

with log_to(snakemake.log[0]):
    run_summary(
        stage_config(snakemake.params.config, provenance=Provenance(snakemake.params.config_hash)),
        tables=list(snakemake.input.tables),
        output=snakemake.output[0],
        gate=snakemake.input.gate[0] if snakemake.input.gate else None,
    )
