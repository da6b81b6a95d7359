"""Snakemake script of rule `genie_smoke_check`: the once-per-events-file MEC smoke check (nutune.genie)."""

from nutune.config import stage_config
from nutune.genie import smoke_check
from nutune.stages.common import log_to

with log_to(snakemake.log[0]):
    smoke_check(
        stage_config(snakemake.params.config),
        events_file=snakemake.input.events,
        workdir=snakemake.params.workdir,
        report=snakemake.output.report,
    )
