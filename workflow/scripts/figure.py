"""Snakemake script of rules `figure` and `figure_slice_comparison`: one figure of the paper (PDF + PNG)."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.figures import run_figure

with log_to(snakemake.log[0]):
    run_figure(
        snakemake.params.figure,
        config=stage_config(snakemake.params.config),
        inputs=dict(snakemake.input.items()),
        outputs=dict(snakemake.output.items()),
    )
