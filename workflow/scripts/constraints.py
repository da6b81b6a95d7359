"""Snakemake script of rule `constraints`: what the data constrain per dial, and the shift of a baseline's dials."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.compare import run_constraints

with log_to(snakemake.log[0]):
    run_constraints(
        stage_config(snakemake.params.config),
        model_paths=list(snakemake.input.models),
        observation=snakemake.input.observation,
        output=snakemake.output.table,
        figure={"pdf": snakemake.output.pdf, "png": snakemake.output.png},
        shift_output=snakemake.output.get("shift"),
    )
