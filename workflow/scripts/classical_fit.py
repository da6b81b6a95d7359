"""Snakemake script of rule `classical_fit`: iminuit chi2 fits to the T2K data in every chi2 mode."""

from nutune.config import stage_config
from nutune.stages.classical import run_classical_fit
from nutune.stages.common import log_to

with log_to(snakemake.log[0]):
    run_classical_fit(
        stage_config(snakemake.params.config),
        table=snakemake.output.table,
        figure=snakemake.output.pdf,
        sbi_t2k=snakemake.input.get("sbi_t2k"),
    )
