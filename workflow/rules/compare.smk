# Stage 6: the paper's tables: posterior summaries, T2K result with throw errors and correlations, chi2.


rule posterior_table:
    """Posterior summaries (median, 68 % interval, dials) of the observations of one table (microboone_tune, nuwro)."""
    input:
        posteriors=get_posterior_table_inputs,
        misspecification=get_posterior_table_misspecification,
    output:
        prefixed("results/tables/{table}.csv"),
    params:
        observations=get_table_observations,
        config=get_posterior_table_sections,
    log:
        prefixed("logs/posterior_table/{table}.log"),
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/posterior_table.py"


rule t2k_table:
    """The parameters inferred from the T2K data: posterior central values with throw-based asymmetric errors."""
    input:
        posterior=get_t2k_posterior,
        throws=get_t2k_throws,
        gate=get_gate_input(),
        misspecification=get_t2k_misspecification,
    output:
        prefixed("results/tables/t2k.csv"),
    params:
        config=sections("chi2", "parameters", "simulator"),
    log:
        prefixed("logs/t2k_table/t2k_table.log"),
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/t2k_table.py"


rule measurement_table:
    """The parameters inferred from each user measurement (kind measurement), with the columns of t2k.csv."""
    input:
        unpack(get_measurement_inputs),
    output:
        prefixed("results/tables/measurements.csv"),
    params:
        posteriors=get_measurement_posteriors(),
        throws=get_measurement_throws(),
        config=get_measurement_sections(),
    log:
        prefixed("logs/measurement_table/measurement_table.log"),
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/measurement_table.py"


rule t2k_correlations:
    """Correlation matrix of the T2K parameters over the throws."""
    input:
        throws=get_t2k_throws,
    output:
        prefixed("results/tables/t2k_correlations.csv"),
    params:
        config=sections("parameters"),
    log:
        prefixed("logs/t2k_correlations/t2k_correlations.log"),
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/t2k_correlations.py"


rule chi2_table:
    """Chi2 of every prediction (published curves, builtin at fixed points and at posterior medians) vs T2K data."""
    input:
        unpack(get_chi2_inputs),
    output:
        prefixed("results/tables/chi2.csv"),
    params:
        posteriors=posterior_paths(),
        config=sections("chi2", "observations", "parameters", "simulator"),
    log:
        prefixed("logs/chi2_table/chi2_table.log"),
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/chi2_table.py"


rule simulator_calibration:
    """Built-in simulator vs real GENIE at the MicroBooNE tune (and nuwro_like vs NuWro): chi2 and slice ratios."""
    output:
        prefixed("results/tables/simulator_calibration.csv"),
    params:
        config=sections("simulator"),
    log:
        prefixed("logs/simulator_calibration/simulator_calibration.log"),
    threads: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/simulator_calibration.py"


rule noise_vs_throws:
    """Noise-aware NPE posterior for the T2K data next to the covariance-throws result (issue: beyond the paper)."""
    input:
        models=get_reference_models,
        observation=get_t2k_observation,
        throws=get_t2k_throws,
    output:
        prefixed("results/tables/noise_vs_throws.csv"),
    params:
        config=sections("seed", "inference", "npe", "parameters", "simulator"),
    log:
        prefixed("logs/noise_vs_throws/noise_vs_throws.log"),
    threads: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/noise_vs_throws.py"


rule constraints:
    """What the T2K data constrain per free dial (posterior/prior widths, correlations) from the noise-aware network
    of likelihood constraints.mode, and with constraints.baseline the shift of the baseline run's dials."""
    input:
        unpack(get_constraints_inputs),
    output:
        table=prefixed("results/tables/constraints.csv"),
        pdf=report(
            prefixed("results/figures/constraints.pdf"),
            caption="../report/constraints.rst",
            category="Tables",
        ),
        png=prefixed("results/figures/constraints.png"),
        **({"shift": prefixed("results/tables/dial_set_shift.csv")} if CONSTRAINTS["baseline"] else {}),
    params:
        config=sections("seed", "constraints", "inference", "npe", "parameters", "simulator"),
    log:
        prefixed("logs/constraints/constraints.log"),
    threads: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/constraints.py"
