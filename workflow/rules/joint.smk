# A joint measurement (simulator.measurement a list; nutune.measurements.joint, nutune.joint_tune): each part's own
# network trained on its columns of the joint bank (one per likelihood of TENSION_MODES: FULL and the joint tune's
# constraints.mode), its posterior for its data, and the joint tables and corner.
# Rules exist for every config but are only targets of `all` when the measurement is joint (JOINT_PARTS).


rule part_npe:
    """The network of one part of the joint measurement in likelihood {mode}, trained on that part's columns of the
    joint training bank (FULL: the npe settings, the part's own covariance block if noise-aware; another chi2 mode:
    noise-aware with that mode's noise model)."""
    input:
        unpack(get_part_npe_inputs),
    output:
        weights=prefixed("results/parts/{part}/{mode}/model/npe_0.safetensors"),
        metadata=prefixed("results/parts/{part}/{mode}/model/npe_0.json"),
        loss=prefixed("results/parts/{part}/{mode}/model/loss_0.csv"),
    wildcard_constraints:
        mode="|".join(TENSION_MODES),
    params:
        config=sections("seed", "constraints", "likelihood_modes", "npe", "parameters", "simulator"),
        provenance=PROVENANCE,
    log:
        prefixed("logs/part_npe/{part}_{mode}.log"),
    threads: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/part_npe.py"


rule part_infer:
    """Posterior samples of one part's network of likelihood {mode} for that part's data (waits for the
    calibration gate)."""
    input:
        unpack(get_part_infer_inputs),
    output:
        prefixed("results/parts/{part}/{mode}/posterior.npz"),
    wildcard_constraints:
        mode="|".join(TENSION_MODES),
    params:
        config=sections("seed", "inference", "npe", "parameters", "simulator"),
    log:
        prefixed("logs/part_infer/{part}_{mode}.log"),
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/part_infer.py"


rule joint_tables:
    """joint_chi2.csv (each tune's chi2 per measurement and total), joint_tension.csv (parameter-shift probability,
    posterior-predictive p-values per likelihood of TENSION_MODES, parameter goodness-of-fit per chi2 mode) and the
    corner of the single-experiment and joint posteriors."""
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
        parts=[(mode, part) for mode in TENSION_MODES for part in JOINT_PARTS],
    log:
        prefixed("logs/joint_tables/joint_tables.log"),
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/joint_tables.py"
