# Stage 4: calibration diagnostics of the trained posterior on the disjoint test set.


rule diagnose:
    """Posterior samples for every test row; coverage, TARP and SBC numbers (metrics.json)."""
    input:
        models=get_model_files(),
        bank=prefixed("results/bank/test.h5"),
    output:
        samples=prefixed("results/diagnostics/test_posteriors.npz"),
        metrics=prefixed("results/diagnostics/metrics.json"),
    params:
        config=sections("seed", "diagnostics", "npe", "parameters", "simulator"),
    log:
        prefixed("logs/diagnose/diagnose.log"),
    threads: 1
    # On the critical path after training (network → test-set calibration → gate → data posterior → throws):
    # it goes before the jobs off it (simulate.smk, priority).
    priority: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/diagnose.py"


rule test_metrics_table:
    """The diagnostics numbers as a table (results/tables/test_metrics.csv)."""
    input:
        metrics=prefixed("results/diagnostics/metrics.json"),
    output:
        prefixed("results/tables/test_metrics.csv"),
    log:
        prefixed("logs/test_metrics_table/test_metrics_table.log"),
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/test_metrics_table.py"
