"""Snakemake script of rule `genie_smoke_check`: the once-per-events-file MEC smoke check (nutune.stages.genie)."""

from nutune.config import stage_config
from nutune.stages.common import log_to
from nutune.stages.genie import run_genie_smoke_check

with log_to(snakemake.log[0]):
    run_genie_smoke_check(
        stage_config(snakemake.params.config),
        events_file=snakemake.input.events,
        workdir=snakemake.params.workdir,
        report=snakemake.output.report,
    )
