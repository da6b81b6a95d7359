"""Snakemake script of rule `likelihood_npe`: one member of the noise-aware NPE of one chi2 mode's noise model."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.likelihood import run_likelihood_npe

with log_to(snakemake.log[0]):
    cfg = stage_config(snakemake.params.config, provenance=snakemake.params.provenance)
    run_likelihood_npe(
        cfg,
        mode=snakemake.wildcards.mode,
        bank_path=snakemake.input.bank,
        weights=snakemake.output.weights,
        metadata=snakemake.output.metadata,
        loss=snakemake.output.loss,
        max_num_epochs=cfg.likelihood_modes.max_num_epochs,
        member=int(snakemake.wildcards.member),
    )
