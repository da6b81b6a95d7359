# nutune: the MicroBooNE GENIE tune redone with neural posterior estimation (arXiv:2510.07454, 2603.09778).
#
# This file is a table of contents. The results/ path grammar, the config validation and every input function
# live in workflow/rules/common.smk; each stage has its own rule file. Run `snakemake -n` to see the DAG,
# `make run` for the paper-scale run and `make test` for the tiny one (config/test_config.yaml).

from snakemake.utils import min_version

min_version("9.0")


# The paper config is the default; a config given with --configfile replaces it entirely (no key is inherited from
# config/config.yaml, so a key missing there fails validation by name). --config key=value overrides either.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/genie.smk"
include: "workflow/rules/bank.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/diagnose.smk"
include: "workflow/rules/validate.smk"
include: "workflow/rules/infer.smk"
include: "workflow/rules/compare.smk"
include: "workflow/rules/classical.smk"
include: "workflow/rules/stability.smk"
include: "workflow/rules/likelihood.smk"
include: "workflow/rules/joint.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"


localrules:
    all,


rule all:
    input:
        get_final_output(),
    default_target: True
