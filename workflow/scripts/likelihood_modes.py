"""Snakemake script of rule `likelihood_modes`: the chi2-mode comparison table on the T2K data."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.likelihood import run_likelihood_modes

with log_to(snakemake.log[0]):
    cfg = stage_config(snakemake.params.config)
    run_likelihood_modes(
        cfg,
        classical_csv=snakemake.input.classical,
        main_models=snakemake.input.models,
        mode_models={mode: snakemake.input[f"model_{mode}"] for mode in cfg.chi2.modes},
        output=snakemake.output.table,
        epoch_cap=cfg.likelihood_modes.max_num_epochs,
        test_bank=snakemake.input.test_bank,
    )
