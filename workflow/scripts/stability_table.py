"""Snakemake script of rule `stability_table`: results/tables/stability.csv and results/figures/stability.pdf."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.stability import run_stability_table

with log_to(snakemake.log[0]):
    run_stability_table(
        stage_config(snakemake.params.config).stability,
        default_tables={"t2k": snakemake.input.t2k, "chi2": snakemake.input.chi2,
                        "test_metrics": snakemake.input.metrics},
        default_gate=snakemake.input.gate,
        replicate_headlines=list(snakemake.input.replicates),
        table=snakemake.output.table,
        pdf=snakemake.output.pdf,
        png=snakemake.output.png,
        default_likelihood_modes=snakemake.input.get("likelihood_modes"),
    )
