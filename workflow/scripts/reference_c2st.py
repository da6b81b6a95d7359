"""Snakemake script of rule `reference_c2st`: C2ST of the noise-aware NPE against the reference posteriors."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.validate import run_reference_c2st

with log_to(snakemake.log[0]):
    run_reference_c2st(
        stage_config(snakemake.params.config),
        model_paths=list(snakemake.input.models),
        samples=snakemake.input.samples,
        table=snakemake.output.table,
        figure=snakemake.output.pdf,
    )
