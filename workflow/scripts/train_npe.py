"""Snakemake script of rule `train_npe`: train one ensemble member."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.train import run_train_npe

with log_to(snakemake.log[0]):
    run_train_npe(
        stage_config(snakemake.params.config, provenance=snakemake.params.provenance),
        bank_path=snakemake.input.bank,
        member=int(snakemake.wildcards.member),
        weights=snakemake.output.weights,
        metadata=snakemake.output.metadata,
        loss=snakemake.output.loss,
    )
