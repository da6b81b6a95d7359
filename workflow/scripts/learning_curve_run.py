"""Snakemake script of rule `learning_curve`: calibration and C2ST as a function of the training-set size."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.validate import run_learning_curve

with log_to(snakemake.log[0]):
    run_learning_curve(
        stage_config(snakemake.params.config),
        train_bank=snakemake.input.train,
        test_bank=snakemake.input.test,
        reference_samples=snakemake.input.references,
        table=snakemake.output.table,
        figure=snakemake.output.pdf,
    )
