# A joint measurement (simulator.measurement a list; nutune.measurements.joint, nutune.joint_tune): each part's own
# network trained on its columns of the joint bank, its posterior for its data, and the joint tables and corner.
# Rules exist for every config but are only targets of `all` when the measurement is joint (JOINT_PARTS).


rule part_npe:
    """The network of one part of the joint measurement, trained on that part's columns of the joint training bank
    (same npe settings, the part's own covariance block if noise-aware)."""
    input:
        unpack(get_part_npe_inputs),
    output:
        weights=prefixed("results/parts/{part}/model/npe_0.safetensors"),
        metadata=prefixed("results/parts/{part}/model/npe_0.json"),
        loss=prefixed("results/parts/{part}/model/loss_0.csv"),
    params:
        config=sections("seed", "npe", "parameters", "simulator"),
        provenance=PROVENANCE,
    log:
        prefixed("logs/part_npe/{part}.log"),
    threads: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/part_npe.py"


rule part_infer:
    """Posterior samples of one part's network for that part's data (waits for the calibration gate)."""
    input:
        unpack(get_part_infer_inputs),
    output:
        prefixed("results/parts/{part}/posterior.npz"),
    params:
        config=sections("seed", "inference", "npe", "parameters", "simulator"),
    log:
        prefixed("logs/part_infer/{part}.log"),
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/part_infer.py"


rule joint_tables:
    """joint_chi2.csv (each tune's chi2 per measurement and total), joint_tension.csv (parameter-shift probability,
    posterior-predictive p-values) and the corner of the single-experiment and joint posteriors."""
    input:
        unpack(get_joint_tables_inputs),
    output:
        chi2=prefixed("results/tables/joint_chi2.csv"),
        tension=prefixed("results/tables/joint_tension.csv"),
        pdf=report(prefixed("results/figures/joint_posteriors.pdf"), caption="../report/joint_posteriors.rst",
                   category="Joint"),
        png=prefixed("results/figures/joint_posteriors.png"),
    params:
        config=sections("seed", "chi2", "inference", "npe", "parameters", "simulator"),
        parts=JOINT_PARTS,
    log:
        prefixed("logs/joint_tables/joint_tables.log"),
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/joint_tables.py"
