"""Stages of report.smk: results/summary.md, each table as an HTML table, the report's landing page."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from nutune.config import as_config

__all__ = ["run_summary", "run_report_tables", "run_report_landing"]

_log = logging.getLogger("nutune")


def run_summary(config: Mapping, *, tables: list[str], output: str, gate: str | None = None) -> None:
    """Rule ``summary``: results/summary.md with the run's provenance, the calibration gate and every table."""
    from nutune.io import atomic_write
    from nutune.tables import summary_markdown

    text = summary_markdown(as_config(config), tables, gate)
    with atomic_write(output) as tmp:
        tmp.write_text(text)


def run_report_tables(*, csvs: list[str], outputs: list[str], titles: list[str], descriptions: list[str]) -> None:
    """Rule ``report_tables``: each table as an HTML table, the report item that shows it (nutune.report)."""
    from nutune.report import write_table_html

    if not len(csvs) == len(outputs) == len(titles) == len(descriptions):
        raise ValueError(f"{len(csvs)} tables, {len(outputs)} outputs, {len(titles)} titles and "
                         f"{len(descriptions)} captions: one of each per table")
    for csv, output, title, description in zip(csvs, outputs, titles, descriptions, strict=True):
        write_table_html(csv, output, title=title, description=description)
    _log.info("%d tables as HTML tables: %s", len(csvs), ", ".join(titles))


def run_report_landing(*, gate: str, t2k: str | None, output: str) -> None:
    """Rule ``report_landing``: the gate's verdict and the T2K numbers for the report's landing page."""
    from nutune.report import write_landing_html

    write_landing_html(gate, t2k, output)
    _log.info("%s: landing summary from %s%s", output, gate, f" and {t2k}" if t2k else "")
