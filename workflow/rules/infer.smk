# Stage 5: build each observation, sample its posterior, and propagate the T2K covariance through data throws.


rule observe:
    """The observed 58-bin histogram of one observation: builtin mock, published curve, the T2K data or a user's
    measurement (checked against the simulated test bank: units, range)."""
    input:
        unpack(get_observe_inputs),
    output:
        prefixed("results/observations/{obs}.csv"),
    params:
        config=observation_sections("parameters", "simulator"),
    log:
        prefixed("logs/observe/{obs}.log"),
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/observe.py"


rule infer:
    """Posterior samples for one observation (mixed over the ensemble); real data wait for the gate."""
    input:
        unpack(get_infer_inputs),
    output:
        prefixed("results/posteriors/{obs}.npz"),
    params:
        config=sections("seed", "inference", "npe", "parameters", "simulator"),
    log:
        prefixed("logs/infer/{obs}.log"),
    threads: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/infer.py"


rule throws:
    """Throws of the T2K data (or a user measurement) from its covariance, one posterior draw per throw."""
    input:
        unpack(get_throws_inputs),
    output:
        prefixed("results/throws/{data_obs}.npz"),
    params:
        config=observation_sections("seed", "inference", "npe", "parameters", "simulator", wildcard="data_obs"),
    log:
        prefixed("logs/throws/{data_obs}.log"),
    threads: 1
    # On the critical path after training (network → test-set calibration → gate → data posterior → throws):
    # it goes before the jobs off it (simulate.smk, priority).
    priority: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/throws.py"
