# Stage 8: a one-page Markdown summary of the run (tables inline); `make report` builds the HTML/zip report.


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
