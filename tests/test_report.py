"""The report's HTML pieces (nutune.report): tables as HTML tables, the landing summary from gate.json + t2k.csv."""

from __future__ import annotations

import base64
from html.parser import HTMLParser

import pytest

from nutune.gates import check_gates
from nutune.report import format_cell, landing_html, read_table, table_html

GATES = {"on_failure": "warn", "max_coverage_error": 0.05, "max_tarp_error": 0.05, "min_sbc_pvalue": 0.001}


class Cells(HTMLParser):
    """Every <table> of a page as a list of rows of cell texts (th and td)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables_of(page: str) -> list[list[list[str]]]:
    parser = Cells()
    parser.feed(page)
    return parser.tables


@pytest.mark.parametrize("text, shown", [("0.075414430171012903", "0.075414"), ("1000", "1000"), ("", ""),
                                         ("nan", "nan"), ("yes (logprob ppc)", "yes (logprob ppc)"),
                                         ("110.03198901159087", "110.03"), ("-7.4286160826608771e-05", "-7.4286e-05")])
def test_format_cell(text, shown):
    assert format_cell(text)[0] == shown


def test_table_html_shows_every_cell_and_embeds_the_csv(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("parameter,central,note\nM_A,1.0422030222594736,<b>x</b>\nN_MEC,2,\n")
    page = table_html(csv, title="t", description="What the table holds.")
    assert tables_of(page) == [[["parameter", "central", "note"], ["M_A", "1.0422", "<b>x</b>"], ["N_MEC", "2", ""]]]
    assert "<b>x</b>" not in page  # text is escaped, never markup
    assert 'title="1.0422030222594736"' in page  # the value as written, on hover
    assert "What the table holds." in page
    embedded = page.split('href="data:text/csv;base64,', 1)[1].split('"', 1)[0]
    assert base64.b64decode(embedded) == csv.read_bytes()


def test_read_table_refuses_a_ragged_or_empty_csv(tmp_path):
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3\n")
    with pytest.raises(ValueError, match="ragged.csv: line 3 has 1 fields, the header has 2"):
        read_table(tmp_path / "ragged.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty CSV"):
        read_table(tmp_path / "empty.csv")


def _t2k(tmp_path, header="observation,parameter,unit,central,minus,plus,chi2_FULL,chi2_DIAG,ndf"):
    path = tmp_path / "t2k.csv"
    rows = ["t2k,M_A,GeV,1.04,0.075,0.096,110.03,55.99,58", "t2k,N_MEC,,2.05,0.52,0.52,110.03,55.99,58"]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_landing_shows_a_passed_gate_with_margins_and_the_t2k_numbers(tmp_path):
    metrics = {"coverage_error": {"MaCCQE": 0.01}, "joint_coverage_error": 0.02, "tarp_error": 0.03,
               "sbc_ks_pvalue": {"MaCCQE": 0.4}}
    page = landing_html(check_gates(metrics, GATES).to_dict(), _t2k(tmp_path))
    assert "Calibration gate PASSED" in page and "FAILED" not in page
    gate, t2k = tables_of(page)
    assert gate[0] == ["check", "value", "passes when", "margin", "verdict"]
    assert gate[1] == ["coverage:MaCCQE", "0.01", "≤ 0.05", "0.04", "pass"]
    assert gate[-1] == ["sbc:MaCCQE", "0.4", "≥ 0.001", "0.399", "pass"]
    assert t2k == [["parameter", "unit", "central", "minus", "plus"], ["M_A", "GeV", "1.04", "0.075", "0.096"],
                   ["N_MEC", "", "2.05", "0.52", "0.52"]]
    assert "FULL 110.03, DIAG 55.99" in page and "58 bins" in page


def test_landing_names_a_failed_gate_and_its_failed_checks(tmp_path):
    metrics = {"coverage_error": {"MaCCQE": 0.085}, "joint_coverage_error": 0.02, "tarp_error": 0.08,
               "sbc_ks_pvalue": {"MaCCQE": 0.4}}
    page = landing_html(check_gates(metrics, GATES).to_dict(), None)
    assert "Calibration gate FAILED" in page and "2 of 4 checks failed" in page
    rows = {row[0]: row for row in tables_of(page)[0][1:]}
    assert rows["coverage:MaCCQE"][3:] == ["-0.035", "FAIL"] and rows["tarp"][3:] == ["-0.03", "FAIL"]
    assert rows["coverage:joint"][4] == "pass"
    assert "No T2K data observation" in page


def test_landing_refuses_inputs_it_cannot_read(tmp_path):
    with pytest.raises(ValueError, match="gate.json has no 'checks'"):
        landing_html({"passed": True, "on_failure": "warn"}, None)
    gate = check_gates({}, GATES).to_dict()
    with pytest.raises(ValueError, match=r"no column\(s\) \['minus'\]"):
        landing_html(gate, _t2k(tmp_path, header="observation,parameter,unit,central,low,plus,chi2_FULL,chi2_DIAG,ndf"))
