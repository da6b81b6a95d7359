# Stage 7: the paper's figures, every figure as PDF and PNG. One rule over the {figure} wildcard draws every figure
# registered in nutune.figure_registry.FIGURES (inputs, caption and report category come from its entry; the input
# kinds are resolved in common.smk). A new figure is one draw function and one registry line, no rule.


rule figure:
    """One registered figure (nutune.figure_registry.FIGURES[figure])."""
    input:
        unpack(get_figure_inputs),
    output:
        pdf=report(
            prefixed("results/figures/{figure}.pdf"),
            caption="../report/figure.rst",
            category=get_figure_category,
        ),
        png=prefixed("results/figures/{figure}.png"),
    params:
        figure="{figure}",
        config=get_figure_sections,
        caption=get_figure_caption,
    wildcard_constraints:
        figure=ONE_RULE_FIGURES,
    log:
        prefixed("logs/figure_{figure}/{figure}.log"),
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/figure.py"


rule figure_slice_comparison:
    """The measurement's slices (T2K: nine cos(theta) slices): data, MicroBooNE tune, NuWro, inferred NuWro, inferred
    T2K (the grid and one each)."""
    input:
        posteriors=expand(prefixed("results/posteriors/{obs}.npz"), obs=OBSERVATIONS),
        data=MEASUREMENT_RESOURCES,
        published=PUBLISHED_RESOURCE,
    output:
        pdf=report(
            prefixed("results/figures/slice_comparison.pdf"), caption="../report/slice_comparison.rst", category="T2K"
        ),
        png=prefixed("results/figures/slice_comparison.png"),
        slices_pdf=expand(prefixed("results/figures/slice_comparison_{slice}.pdf"), slice=SLICE_INDICES),
        slices_png=expand(prefixed("results/figures/slice_comparison_{slice}.png"), slice=SLICE_INDICES),
    params:
        figure="slice_comparison",
        config=sections("observations", "parameters", "simulator"),
    log:
        prefixed("logs/figure_slice_comparison/slice_comparison.log"),
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/figure.py"
