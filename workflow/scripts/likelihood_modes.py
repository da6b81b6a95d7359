"""Snakemake script of rule `likelihood_modes`: the chi2-mode comparison table on the T2K data."""

from nutune.likelihood_modes import run_likelihood_modes
from nutune.pipeline import log_to

with log_to(snakemake.log[0]):
    run_likelihood_modes(
        snakemake.config,
        classical_csv=snakemake.input.classical,
        main_models=snakemake.input.models,
        mode_models={mode: snakemake.input[f"model_{mode}"] for mode in snakemake.params.modes},
        output=snakemake.output.table,
        epoch_cap=snakemake.params.max_num_epochs,
        test_bank=snakemake.input.test_bank,
    )
