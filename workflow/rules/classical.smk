# Classical chi2 fits of the four dials to the T2K data with iminuit (FULL / DIAG / SHAPE), the MicroBooNE-tune
# method redone on the built-in simulator, compared with the SBI result and the tune (Peelle's pertinent puzzle).
# Input function get_classical_inputs lives in common.smk.


rule classical_fit:
    """iminuit chi2 fits (multi-start MIGRAD, HESSE, MINOS) in each chi2 mode; table and comparison figure."""
    input:
        unpack(get_classical_inputs),
    output:
        table=prefixed("results/tables/classical_fit.csv"),
        pdf=report(
            prefixed("results/figures/classical_fit.pdf"),
            caption="../report/classical_fit.rst",
            category="Classical fits",
        ),
        png=prefixed("results/figures/classical_fit.png"),
    params:
        config=sections("seed", "chi2", "parameters", "simulator"),
    log:
        prefixed("logs/classical_fit/classical_fit.log"),
    threads: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/classical_fit.py"
