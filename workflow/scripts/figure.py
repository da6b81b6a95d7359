"""Snakemake script of rule `figure`: one figure of the paper (PDF + PNG)."""

from nutune.pipeline import log_to, run_figure

with log_to(snakemake.log[0]):
    run_figure(
        snakemake.params.figure,
        config=snakemake.config,
        inputs=dict(snakemake.input.items()),
        outputs=dict(snakemake.output.items()),
        params=dict(snakemake.params.items()),
    )
