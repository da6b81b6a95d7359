# Stage 1: draw the parameter points of each split and simulate them, one HDF5 shard per job (static fan-out).


rule sample_parameters:
    """Uniform draws from the prior box for one split, from a seed derived from (seed, split)."""
    output:
        prefixed("results/bank/params_{split}.h5"),
    params:
        config=sections("seed", "parameters", "simulation"),
        provenance=PROVENANCE,
    log:
        prefixed("logs/sample_parameters/{split}.log"),
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/sample_parameters.py"


rule simulate_shard:
    """Simulate the histograms of one shard of parameter points (builtin simulator or GENIE+NUISANCE)."""
    input:
        params=prefixed("results/bank/params_{split}.h5"),
        extra=get_shard_extra_inputs,
    output:
        prefixed("results/bank/shards/{split}/shard_{shard}.h5"),
    params:
        config=sections("seed", "parameters", "simulator", "simulation"),
        provenance=PROVENANCE,
    log:
        prefixed("logs/simulate_shard/{split}_{shard}.log"),
    threads: 1
    # The critical path (parameters → shards → bank → main network) goes first; rules off it (the reference
    # posteriors' chains, the classical fits) wait for a free core (README "Cost").
    priority: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/simulate_shard.py"
