"""Snakemake script of rule `joint_tables`: joint_chi2.csv, joint_tension.csv, joint_posteriors (nutune.joint_tune)."""

from nutune.config import stage_config
from nutune.joint_tune import posteriors_by_mode, run_joint_tables
from nutune.stages.common import log_to

with log_to(snakemake.log[0]):
    run_joint_tables(
        stage_config(snakemake.params.config),
        joint_posterior=snakemake.input.joint,
        part_posteriors=posteriors_by_mode(snakemake.params.parts, snakemake.input.parts),
        joint_chi2=snakemake.output.chi2,
        tension=snakemake.output.tension,
        corner_pdf=snakemake.output.pdf,
        corner_png=snakemake.output.png,
    )
