"""HTML pieces of the Snakemake report (``make report``): every table as an HTML table, and the landing summary.

Snakemake's HTML report shows an HTML, SVG, PNG or PDF result inside the page; any other file (a CSV) is only
offered as a download. So each table of the run gets an HTML rendering (:func:`table_html`,
``results/report/tables/{table}.html``) that is the report item: the table itself, every value as written in the
CSV (numbers shown to 5 significant digits, the full value on hover) and a link to the CSV inside the same file.

The landing page (``workflow/report/workflow.rst``) includes :func:`landing_html` (``results/report/landing.html``):
the calibration gate's verdict with every check's value, threshold and margin (``gate.json``,
:mod:`nutune.gates`), and the headline T2K parameters (``results/tables/t2k.csv``). Only the standard library:
the files are small, and the pages must not depend on the network (no scripts, no remote styles).
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from nutune.io import atomic_write

__all__ = ["read_table", "format_cell", "table_html", "landing_html", "write_table_html", "write_landing_html",
           "T2K_HEADLINE_COLUMNS"]

#: Columns of ``t2k.csv`` the landing page requires; it shows them, in this order, with the optional ones present.
T2K_HEADLINE_COLUMNS = ("parameter", "central", "minus", "plus")
_T2K_SHOWN = ("parameter", "unit", "central", "minus", "plus", "misspecified")

_STYLE = """
.nutune-report { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 14px;
  color: #1f2937; }
.nutune-report h1 { font-size: 20px; margin: 0 0 8px 0; }
.nutune-report h2 { font-size: 16px; margin: 16px 0 6px 0; }
.nutune-report p { margin: 4px 0; }
.nutune-report .scroll { overflow-x: auto; max-width: 100%; }
.nutune-report table { border-collapse: collapse; margin: 6px 0; }
.nutune-report th, .nutune-report td { border: 1px solid #d1d5db; padding: 3px 8px; white-space: nowrap; }
.nutune-report th { background: #f3f4f6; text-align: left; font-weight: 600; }
.nutune-report td.num { text-align: right; font-variant-numeric: tabular-nums; }
.nutune-report tr:nth-child(even) td { background: #fafafa; }
.nutune-report .verdict { display: inline-block; padding: 4px 10px; border-radius: 4px; font-weight: 700; }
.nutune-report .pass { background: #dcfce7; color: #166534; }
.nutune-report .fail { background: #fee2e2; color: #991b1b; }
.nutune-report td.pass, .nutune-report td.fail { font-weight: 600; }
.nutune-report a.download { font-size: 13px; }
"""


def read_table(path: str | Path) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a CSV table, as text (nothing parsed, nothing lost).

    Raises:
        ValueError: the file is empty or a row has another number of fields than the header (names the file).
    """
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise ValueError(f"{path}: empty CSV file (no header)")
    header, body = rows[0], [row for row in rows[1:] if row]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}: line {number} has {len(row)} fields, the header has {len(header)}")
    return header, body


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def format_cell(text: str, digits: int = 5) -> tuple[str, bool]:
    """How a CSV field is shown: (text, is_number). Floats to ``digits`` significant digits, integers and text
    as written; an empty field stays empty."""
    value = _number(text)
    if value is None or text.strip() == "":
        return text, False
    stripped = text.strip().lstrip("+-")
    if stripped.isdigit() or not math.isfinite(value):
        return text.strip(), True
    return f"{value:.{digits}g}", True


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], *,
                cell_class: Callable[[int, str], str] | None = None) -> str:
    """An HTML table of text cells (escaped); numbers right-aligned; ``cell_class(column, text)`` adds a class."""
    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    lines = []
    for row in rows:
        cells = []
        for i, text in enumerate(row):
            shown, numeric = format_cell(text)
            extra = cell_class(i, text) if cell_class is not None else ""
            classes = " ".join(c for c in ("num" if numeric else "", extra) if c)
            title = f' title="{html.escape(text)}"' if shown != text else ""
            cells.append(f'<td class="{classes}"{title}>{html.escape(shown)}</td>' if classes
                         else f"<td{title}>{html.escape(shown)}</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead>\n<tbody>\n' + "\n".join(lines)
            + "\n</tbody></table></div>")


def _document(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def table_html(csv_path: str | Path, *, title: str, description: str = "") -> str:
    """A standalone HTML page showing one CSV table, with the CSV itself embedded as a download link.

    Args:
        csv_path: the table (``results/tables/{table}.csv`` or a loss curve).
        title: the heading, e.g. ``t2k``.
        description: what the table holds (its report caption, shown as plain text under the heading).
    """
    header, rows = read_table(csv_path)
    data = base64.b64encode(Path(csv_path).read_bytes()).decode("ascii")
    name = Path(csv_path).name
    body = (f'<div class="nutune-report"><h1>{html.escape(title)}</h1>'
            f"<p>{len(rows)} rows &times; {len(header)} columns from <code>{html.escape(str(csv_path))}</code>; "
            "numbers shown to 5 significant digits (hover a cell for the value as written). "
            f'<a class="download" download="{html.escape(name)}" href="data:text/csv;base64,{data}">'
            f"Download {html.escape(name)}</a></p>\n"
            + (f"<p>{html.escape(' '.join(description.split()))}</p>\n" if description.strip() else "")
            + f"{_html_table(header, rows)}</div>")
    return _document(title, body)


def _gate_section(gate: Mapping[str, Any]) -> str:
    for key in ("passed", "on_failure", "checks"):
        if key not in gate:
            raise ValueError(f"gate.json has no {key!r} (keys: {sorted(gate)}); written by nutune.gates.write_gate")
    passed = bool(gate["passed"])
    checks = list(gate["checks"])
    failed = [c for c in checks if not c.get("passed")]
    verdict = (f'<span class="verdict pass">Calibration gate PASSED</span> all {len(checks)} checks' if passed else
               f'<span class="verdict fail">Calibration gate FAILED</span> {len(failed)} of {len(checks)} checks '
               f"failed (gates.on_failure: {html.escape(str(gate['on_failure']))}; the T2K results below are "
               "marked, do not quote them)")
    header = ["check", "value", "passes when", "margin", "verdict"]
    rows = []
    for check in checks:
        value, margin = check.get("value"), check.get("margin")
        rows.append([str(check.get("name")), "missing" if value is None else repr(float(value)),
                     f"{'≤' if check.get('kind') == 'max' else '≥'} {float(check.get('threshold')):.4g}",
                     "" if margin is None else repr(float(margin)),
                     "pass" if check.get("passed") else "FAIL"])
    table = _html_table(header, rows, cell_class=lambda i, text: {"pass": "pass", "FAIL": "fail"}.get(text, "")
                        if i == 4 else "")
    return (f"<h2>Calibration gate (test-set coverage, TARP, SBC)</h2><p>{verdict}. The margin is the distance to "
            "failure in the metric's units (negative: failed by that much).</p>\n" + table)


def _t2k_section(t2k_csv: str | Path) -> str:
    header, rows = read_table(t2k_csv)
    missing = [c for c in T2K_HEADLINE_COLUMNS if c not in header]
    if missing:
        raise ValueError(f"{t2k_csv}: no column(s) {missing} for the report's headline (columns: {header})")
    shown = [c for c in _T2K_SHOWN if c in header]
    index = [header.index(c) for c in shown]
    table = _html_table(shown, [[row[i] for i in index] for row in rows])
    chi2 = [c for c in header if c.startswith("chi2_") and c != "chi2_at" and _number(rows[0][header.index(c)])
            is not None] if rows else []
    chi2_text = ""
    if chi2:
        ndf = f" for {rows[0][header.index('ndf')]} bins" if "ndf" in header else ""
        at = f" at the {rows[0][header.index('chi2_at')]}" if "chi2_at" in header else ""
        values = ", ".join(f"{c[5:]} {format_cell(rows[0][header.index(c)])[0]}" for c in chi2)
        chi2_text = f"<p>&chi;&sup2; of the inferred prediction{html.escape(at)} vs the data{ndf}: {values}.</p>"
    return (f"<h2>T2K CC0&pi; parameters ({html.escape(str(t2k_csv))})</h2><p>central value with the asymmetric "
            "68 % errors minus / plus; the full table (dial values, error source, gate marker) is t2k.html under "
            "Tables.</p>\n" + table + chi2_text)


def landing_html(gate: Mapping[str, Any], t2k_csv: str | Path | None = None) -> str:
    """The landing-page summary: the gate's verdict with every check, and the T2K headline numbers if any.

    Args:
        gate: the content of ``gate.json`` (:meth:`nutune.gates.GateReport.to_dict`).
        t2k_csv: ``results/tables/t2k.csv``, or None for a run without a T2K data observation.

    Raises:
        ValueError: ``gate`` lacks a key of ``gate.json``, or ``t2k.csv`` lacks a headline column (names both).
    """
    parts = [_gate_section(gate)]
    parts.append(_t2k_section(t2k_csv) if t2k_csv is not None else
                 "<p>No T2K data observation in this run's config: no real-data result.</p>")
    return f'<style>{_STYLE}</style><div class="nutune-report">\n' + "\n".join(parts) + "\n</div>\n"


def write_table_html(csv_path: str | Path, output: str | Path, *, title: str, description: str = "") -> None:
    """Write :func:`table_html` of ``csv_path`` to ``output`` (atomically)."""
    text = table_html(csv_path, title=title, description=description)
    with atomic_write(output) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_landing_html(gate_path: str | Path, t2k_csv: str | Path | None, output: str | Path) -> None:
    """Write :func:`landing_html` of ``gate.json`` (and ``t2k.csv``) to ``output`` (atomically)."""
    with open(gate_path) as f:
        gate = json.load(f)
    text = landing_html(gate, t2k_csv)
    with atomic_write(output) as tmp:
        tmp.write_text(text, encoding="utf-8")
