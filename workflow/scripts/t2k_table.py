"""Snakemake script of rule `t2k_table`: T2K parameters with throw-based errors."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.compare import run_t2k_table

with log_to(snakemake.log[0]):
    run_t2k_table(
        stage_config(snakemake.params.config),
        posterior=snakemake.input.posterior,
        throws=snakemake.input.throws,
        output=snakemake.output[0],
        gate=snakemake.input.gate[0] if snakemake.input.gate else None,
        misspecification=[snakemake.input.misspecification],
    )
