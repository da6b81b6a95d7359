"""Snakemake script of rule `reference_npe`: a noise-aware NPE for the reference-posterior comparison."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.validate import run_reference_npe

with log_to(snakemake.log[0]):
    run_reference_npe(
        stage_config(snakemake.params.config, provenance=snakemake.params.provenance),
        bank_path=snakemake.input.bank,
        weights=snakemake.output.weights,
        metadata=snakemake.output.metadata,
        loss=snakemake.output.loss,
    )
