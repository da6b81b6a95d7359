# Stage 8: a one-page Markdown summary of the run (tables inline) and the HTML pieces of the report: every table as
# an HTML table and the landing summary (gate verdict, T2K numbers); `make report` builds the self-contained report.


rule summary:
    """results/summary.md: every table of the run (extensions included) with seed and versions, on one page."""
    input:
        tables=table_outputs() + extension_tables(),
        gate=get_gate_input(),
    output:
        report(prefixed("results/summary.md"), caption="../report/summary.rst", category="Summary"),
    params:
        config=sections("seed", "simulation", "simulator"),
        # summary.md shows the whole config's hash: a change of any key re-writes it
        config_hash=CFG.config_hash,
    log:
        prefixed("logs/summary/summary.log"),
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/summary.py"


rule report_tables:
    """Every table as an HTML table for the report (Snakemake's report only offers a CSV for download); one job, one
    report item per table with the table's own caption and category."""
    input:
        list(REPORT_TABLES.values()),
    output:
        [
            report(RP.REPORT_TABLE.format(table=name), caption=f"../report/{caption}", category=category)
            for name, (category, caption) in report_table_info().items()
        ],
    params:
        names=list(REPORT_TABLES),
        captions=get_report_table_captions,
    log:
        prefixed("logs/report_tables/report_tables.log"),
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/report_tables.py"


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
