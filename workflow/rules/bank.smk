# Stage 2: merge the shards of a split into one bank, checking completeness and recording provenance hashes.


rule merge_bank:
    """Concatenate every shard of a split (in index order) into results/bank/{split}.h5."""
    input:
        params=prefixed("results/bank/params_{split}.h5"),
        shards=get_shards,
    output:
        prefixed("results/bank/{split}.h5"),
    params:
        config=sections("seed", "parameters", "simulator", "simulation"),
        provenance=PROVENANCE,
    log:
        prefixed("logs/merge_bank/{split}.log"),
    threads: 1
    # The critical path (parameters → shards → bank → main network) goes first; rules off it (the reference
    # posteriors' chains, the classical fits) wait for a free core (README "Cost").
    priority: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/merge_bank.py"
