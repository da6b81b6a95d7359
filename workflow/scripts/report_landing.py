"""Snakemake script of rule `report_landing`: the report's landing summary (gate verdict, T2K numbers)."""

from nutune.stages.common import log_to
from nutune.stages.report import run_report_landing

with log_to(snakemake.log[0]):
    run_report_landing(gate=snakemake.input.gate, t2k=snakemake.input.get("t2k"), output=snakemake.output[0])
