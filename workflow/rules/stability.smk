# Seed stability of the headline answer (nutune.stability): replicates of the default run with other network seeds.
# Replicate 0 is the default run itself; get_stability_* input functions live in common.smk.


rule stability_replicate:
    """Replicate k >= 1: retrain the default run's networks with other seeds and rerun its chain to the tables;
    with STABILITY_HEADLINE also the headline network (noise-aware NORMSHAPE) and its likelihood_modes row."""
    input:
        train=prefixed("results/bank/train.h5"),
        test=prefixed("results/bank/test.h5"),
        observations=get_stability_observations(),
        data=MEASUREMENT_RESOURCES,
    output:
        headlines=prefixed("results/stability/replicate_{replicate}/headlines.csv"),
        t2k=prefixed("results/stability/replicate_{replicate}/tables/t2k.csv"),
        chi2=prefixed("results/stability/replicate_{replicate}/tables/chi2.csv"),
        metrics=prefixed("results/stability/replicate_{replicate}/tables/test_metrics.csv"),
        **get_stability_headline_outputs(),
    params:
        observations=get_stability_observation_map(),
        # the sections the default run's chain reads: a change to any of them re-runs the replicate
        config=sections(*STABILITY_SECTIONS),
        provenance=PROVENANCE,
    wildcard_constraints:
        replicate=r"[1-9][0-9]*",
    log:
        prefixed("logs/stability_replicate/{replicate}.log"),
    threads: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/stability_replicate.py"


rule stability_table:
    """Mean, std and range over the replicates of every headline number, the goals, and a figure."""
    input:
        t2k=prefixed("results/tables/t2k.csv"),
        chi2=prefixed("results/tables/chi2.csv"),
        metrics=prefixed("results/tables/test_metrics.csv"),
        gate=GATE,
        replicates=get_stability_replicates(),
        **get_stability_headline_inputs(),
    output:
        table=prefixed("results/tables/stability.csv"),
        pdf=report(
            prefixed("results/figures/stability.pdf"),
            caption="../report/stability.rst",
            category="Validation",
        ),
        png=prefixed("results/figures/stability.png"),
    params:
        config=sections("stability"),
    log:
        prefixed("logs/stability_table/stability_table.log"),
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/stability_table.py"
