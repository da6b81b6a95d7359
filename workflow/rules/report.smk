# Stage 8: a one-page Markdown summary of the run (tables inline) and the HTML pieces of the report: every table as
# an HTML table and the landing summary (gate verdict, T2K numbers); `make report` builds the self-contained report.


rule summary:
    """results/summary.md: every table of the run (extensions included) with seed and versions, on one page."""
    input:
        tables=table_outputs() + extension_tables(),
        gate=get_gate_input(),
    output:
        report(prefixed("results/summary.md"), caption="../report/summary.rst", category="Summary"),
    log:
        prefixed("logs/summary/summary.log"),
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/summary.py"


rule report_table:
    """One table as an HTML table for the report (Snakemake's report only offers a CSV for download)."""
    input:
        get_report_table_csv,
    output:
        report(
            prefixed("results/report/tables/{report_table}.html"),
            caption="../report/table.rst",
            category=get_report_table_category,
        ),
    params:
        title="{report_table}",
        caption=get_report_table_caption,
    wildcard_constraints:
        report_table="|".join(re.escape(name) for name in REPORT_TABLES) or "(?!)",
    log:
        prefixed("logs/report_table/{report_table}.log"),
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/report_table.py"


rule report_landing:
    """The landing page's summary: the calibration gate's verdict with its margins and the T2K headline numbers."""
    input:
        unpack(get_report_landing_inputs),
    output:
        report(prefixed("results/report/landing.html"), caption="../report/landing.rst", category="Summary"),
    log:
        prefixed("logs/report_landing/report_landing.log"),
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/report_landing.py"
