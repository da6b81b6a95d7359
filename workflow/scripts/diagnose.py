"""Snakemake script of rule `diagnose`: calibration diagnostics on the test set."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.diagnose import run_diagnose

with log_to(snakemake.log[0]):
    run_diagnose(
        stage_config(snakemake.params.config),
        model_paths=list(snakemake.input.models),
        bank_path=snakemake.input.bank,
        samples=snakemake.output.samples,
        metrics=snakemake.output.metrics,
    )
