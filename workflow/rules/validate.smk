# Validation beyond the papers: exact reference posteriors (emcee) + C2ST, the calibration gate, the learning curve.
#
# The reference posterior p(theta|x) ~ N(x; sim(theta), C) U(box) is only the target of a *noise-aware* NPE
# (npe.noise: covariance with the same C). If the main network is noise-free (the papers' choice), rule
# reference_npe trains a separate noise-aware network (member 0, same settings otherwise) for the comparison.

# Input functions (get_reference_models, get_reference_observations) live in common.smk.


rule reference_npe:
    """Noise-aware NPE (x = sim(theta) + N(0, C)) for the reference comparison when the main NPE is noise-free."""
    input:
        bank=prefixed("results/bank/train.h5"),
        data=MEASUREMENT_RESOURCES,
    output:
        weights=prefixed("results/reference/model/npe_0.safetensors"),
        metadata=prefixed("results/reference/model/npe_0.json"),
        loss=prefixed("results/reference/model/loss_0.csv"),
    params:
        config=sections("seed", "npe", "parameters", "simulator"),
        provenance=PROVENANCE,
    log:
        prefixed("logs/reference_npe/reference_npe.log"),
    threads: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/reference_npe.py"


rule diagnose_reference:
    """Test-set calibration of the noise-aware network (test histograms get N(0, C) noise as in its training)."""
    input:
        models=get_reference_models(),
        bank=prefixed("results/bank/test.h5"),
    output:
        samples=prefixed("results/reference/diagnostics/test_posteriors.npz"),
        metrics=prefixed("results/reference/diagnostics/metrics.json"),
    params:
        config=sections("seed", "diagnostics", "npe", "parameters", "simulator"),
    log:
        prefixed("logs/diagnose_reference/diagnose_reference.log"),
    threads: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/diagnose.py"


rule reference_test_metrics_table:
    """The noise-aware network's test-set numbers (results/tables/test_metrics_noise_aware.csv)."""
    input:
        metrics=prefixed("results/reference/diagnostics/metrics.json"),
    output:
        prefixed("results/tables/test_metrics_noise_aware.csv"),
    log:
        prefixed("logs/reference_test_metrics_table/reference_test_metrics_table.log"),
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/test_metrics_table.py"


rule reference_posteriors:
    """Exact emcee reference posteriors for every observation and reference.n_mock mocks. No network: it runs
    beside the training, and rule reference_c2st compares them with the noise-aware NPE."""
    input:
        unpack(get_reference_observations),
        data=MEASUREMENT_RESOURCES,
    output:
        samples=prefixed("results/reference/reference_samples.npz"),
    params:
        observations=get_reference_observations(),
        config=sections("seed", "npe", "observations", "parameters", "reference", "simulator"),
    log:
        prefixed("logs/reference_posteriors/reference_posteriors.log"),
    threads: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/reference_posteriors.py"


rule reference_c2st:
    """C2ST of the noise-aware NPE against the exact reference posteriors (table and figure)."""
    input:
        models=get_reference_models(),
        samples=prefixed("results/reference/reference_samples.npz"),
    output:
        table=prefixed("results/tables/reference_c2st.csv"),
        pdf=report(
            prefixed("results/figures/reference_c2st.pdf"),
            caption="../report/reference_c2st.rst",
            category="Validation",
        ),
        png=prefixed("results/figures/reference_c2st.png"),
    params:
        config=sections("seed", "npe", "parameters", "simulator"),
    log:
        prefixed("logs/reference_c2st/reference_c2st.log"),
    threads: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/reference_c2st.py"


rule calibration_gate:
    """Coverage, TARP and SBC of the test set against gates.*: real-data inference waits for (and needs) this."""
    input:
        metrics=prefixed("results/diagnostics/metrics.json"),
    output:
        GATE,
    params:
        config=sections("gates"),
    log:
        prefixed("logs/calibration_gate/calibration_gate.log"),
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/gates_check.py"


rule learning_curve:
    """Noise-aware NPEs on nested subsets of the training bank: calibration and C2ST vs training-set size."""
    input:
        train=prefixed("results/bank/train.h5"),
        test=prefixed("results/bank/test.h5"),
        references=prefixed("results/reference/reference_samples.npz"),
        data=MEASUREMENT_RESOURCES,
    output:
        table=prefixed("results/tables/learning_curve.csv"),
        pdf=report(
            prefixed("results/figures/learning_curve.pdf"),
            caption="../report/learning_curve.rst",
            category="Validation",
        ),
        png=prefixed("results/figures/learning_curve.png"),
    params:
        config=sections("seed", "diagnostics", "learning_curve", "npe", "parameters", "simulator"),
    log:
        prefixed("logs/learning_curve/learning_curve.log"),
    threads: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/learning_curve_run.py"



rule marginal_flow:
    """The log-probability test's marginal flow p(x) on training rows: trained once, read by every observation."""
    input:
        models=get_model_files(),
        train=prefixed("results/bank/train.h5"),
        data=MEASUREMENT_RESOURCES,
    output:
        RP.MARGINAL_FLOW,
    params:
        config=sections("seed", "misspecification", "npe", "parameters", "simulator"),
    log:
        prefixed("logs/misspecification/marginal_flow.log"),
    threads: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/marginal_flow.py"


rule misspecification:
    """Could the simulator have produced this observation? MMD (x, embedding), log-prob and posterior-predictive tests."""
    input:
        models=get_model_files(),
        marginal_flow=RP.MARGINAL_FLOW,
        test=prefixed("results/bank/test.h5"),
        observation=prefixed("results/observations/{obs}.csv"),
        posterior=prefixed("results/posteriors/{obs}.npz"),
        data=MEASUREMENT_RESOURCES,
        # a user measurement's CSV: its covariance judges the posterior-predictive check
        source=get_observation_resources,
    output:
        prefixed("results/misspecification/{obs}.csv"),
    params:
        config=observation_sections("seed", "misspecification", "npe", "parameters", "simulator"),
    log:
        prefixed("logs/misspecification/{obs}.log"),
    threads: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/misspecification.py"


rule misspecification_table:
    """One row per observation: each test's statistic and p-value and the verdict."""
    input:
        expand(RP.MISSPECIFICATION, obs=OBSERVATIONS),
    output:
        prefixed("results/tables/misspecification.csv"),
    log:
        prefixed("logs/misspecification_table/misspecification_table.log"),
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/misspecification_table.py"
