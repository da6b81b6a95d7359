"""Snakemake script of rule `marginal_flow`: the log-probability test's marginal flow, trained once."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.misspecification import run_marginal_flow

with log_to(snakemake.log[0]):
    run_marginal_flow(
        stage_config(snakemake.params.config),
        model_paths=list(snakemake.input.models),
        train_bank=snakemake.input.train,
        output=snakemake.output[0],
    )
