# Stage 3: train the neural posterior estimator, one job (one CPU thread) per ensemble member.


rule train_npe:
    """Train one ensemble member on the training bank; weights as safetensors, metadata JSON and loss curve."""
    input:
        # exactly what the network depends on (recorded in its metadata as provenance.inputs): the bank, and for a
        # noise-aware network the covariance file; never the data it is applied to (infer/throws inputs)
        unpack(get_train_inputs),
    output:
        weights=prefixed("results/model/npe_{member}.safetensors"),
        metadata=prefixed("results/model/npe_{member}.json"),
        loss=prefixed("results/model/loss_{member}.csv"),
    params:
        config=sections("seed", "npe", "parameters", "simulator"),
        provenance=PROVENANCE,
    log:
        prefixed("logs/train_npe/{member}.log"),
    threads: 1
    # The critical path (parameters → shards → bank → main network) goes first; rules off it (the reference
    # posteriors' chains, the classical fits) wait for a free core (README "Cost").
    priority: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/train_npe.py"
