"""Snakemake script of rule `likelihood_npe`: the noise-aware NPE of one chi2 mode's noise model."""

from nutune.likelihood_modes import run_likelihood_npe
from nutune.pipeline import log_to

with log_to(snakemake.log[0]):
    run_likelihood_npe(
        snakemake.config,
        mode=snakemake.wildcards.mode,
        bank_path=snakemake.input.bank,
        weights=snakemake.output.weights,
        metadata=snakemake.output.metadata,
        loss=snakemake.output.loss,
        max_num_epochs=snakemake.params.max_num_epochs,
    )
