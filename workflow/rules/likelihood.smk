# Which likelihood for the T2K tune (issue 13, item 5): the noise-aware NPE of each chi2 mode (DIAG, SHAPE,
# NORMSHAPE; FULL is the reference network) and the table comparing classical fits, noise-aware NPEs and the
# papers' throws in FULL / DIAG / SHAPE / NORMSHAPE. Input functions live in common.smk.


rule likelihood_npe:
    """Member {member} of the noise-aware NPE whose training noise is the noise model of chi2 mode {mode}
    (nutune.noise.LikelihoodNoise); members 0 .. likelihood_modes.n_ensemble-1."""
    input:
        bank=prefixed("results/bank/train.h5"),
        data=MEASUREMENT_RESOURCES,
    output:
        weights=prefixed("results/likelihood_modes/model/{mode}/npe_{member}.safetensors"),
        metadata=prefixed("results/likelihood_modes/model/{mode}/npe_{member}.json"),
        loss=prefixed("results/likelihood_modes/model/{mode}/loss_{member}.csv"),
    wildcard_constraints:
        mode="DIAG|SHAPE|NORMSHAPE",
    params:
        config=sections("seed", "likelihood_modes", "npe", "parameters", "simulator"),
        provenance=PROVENANCE,
    log:
        prefixed("logs/likelihood_npe/{mode}_{member}.log"),
    threads: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/likelihood_npe.py"


rule likelihood_modes:
    """results/tables/likelihood_modes.csv: classical fit, noise-aware NPE and throws per chi2 mode on T2K."""
    input:
        unpack(get_likelihood_modes_inputs),
    output:
        table=prefixed("results/tables/likelihood_modes.csv"),
    params:
        config=sections(
            "seed", "chi2", "diagnostics", "inference", "likelihood_modes", "npe", "parameters", "simulator"
        ),
    log:
        prefixed("logs/likelihood_modes/likelihood_modes.log"),
    threads: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/likelihood_modes.py"
