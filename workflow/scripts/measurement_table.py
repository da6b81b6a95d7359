"""Snakemake script of rule `measurement_table`: the parameters inferred from each user measurement."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.compare import run_measurement_table

with log_to(snakemake.log[0]):
    run_measurement_table(
        stage_config(snakemake.params.config),
        posteriors=snakemake.params.posteriors,
        throws=snakemake.params.throws,
        output=snakemake.output[0],
        gate=snakemake.input.gate[0] if snakemake.input.gate else None,
        misspecification=list(snakemake.input.misspecification),
    )
