# Stage 7: the paper's figures, one rule per figure, every figure as PDF and PNG (nutune.figures).


rule figure_test_posterior_corner:
    """Posterior of one test simulation (row `diagnostics.corner_index`) with the true parameters marked."""
    input:
        samples="results/diagnostics/test_posteriors.npz",
    output:
        pdf=report(
            "results/figures/test_posterior_corner.pdf",
            caption="../report/test_posterior_corner.rst",
            category="Calibration",
        ),
        png="results/figures/test_posterior_corner.png",
    params:
        figure="test_posterior_corner",
        parameters=config["parameters"],
        index=config["diagnostics"]["corner_index"],
    log:
        "logs/figure_test_posterior_corner/test_posterior_corner.log",
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/figure.py"


rule figure_residual_corner:
    """Fractional residuals (posterior median - truth) / truth over the test set."""
    input:
        samples="results/diagnostics/test_posteriors.npz",
    output:
        pdf=report(
            "results/figures/residual_corner.pdf",
            caption="../report/residual_corner.rst",
            category="Calibration",
        ),
        png="results/figures/residual_corner.png",
    params:
        figure="residual_corner",
        parameters=config["parameters"],
    log:
        "logs/figure_residual_corner/residual_corner.log",
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/figure.py"


rule figure_true_vs_predicted:
    """True vs predicted parameters (posterior median, 68 % interval) for test rows."""
    input:
        samples="results/diagnostics/test_posteriors.npz",
    output:
        pdf=report(
            "results/figures/true_vs_predicted.pdf",
            caption="../report/true_vs_predicted.rst",
            category="Calibration",
        ),
        png="results/figures/true_vs_predicted.png",
    params:
        figure="true_vs_predicted",
        parameters=config["parameters"],
        n_points=config["diagnostics"]["n_pulls"],
    log:
        "logs/figure_true_vs_predicted/true_vs_predicted.log",
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/figure.py"


rule figure_pulls:
    """Pulls (median - truth) / posterior width with a Gaussian fit and N(0, 1)."""
    input:
        samples="results/diagnostics/test_posteriors.npz",
    output:
        pdf=report(
            "results/figures/pulls.pdf",
            caption="../report/pulls.rst",
            category="Calibration",
        ),
        png="results/figures/pulls.png",
    params:
        figure="pulls",
        parameters=config["parameters"],
        n_points=config["diagnostics"]["n_pulls"],
    log:
        "logs/figure_pulls/pulls.log",
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/figure.py"


rule figure_coverage:
    """Expected coverage of the four marginals, the joint and TARP."""
    input:
        samples="results/diagnostics/test_posteriors.npz",
        metrics="results/diagnostics/metrics.json",
    output:
        pdf=report(
            "results/figures/coverage.pdf",
            caption="../report/coverage.rst",
            category="Calibration",
        ),
        png="results/figures/coverage.png",
    params:
        figure="coverage",
        parameters=config["parameters"],
    log:
        "logs/figure_coverage/coverage.log",
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/figure.py"


rule figure_sbc_ranks:
    """SBC rank histograms of the four parameters."""
    input:
        samples="results/diagnostics/test_posteriors.npz",
        metrics="results/diagnostics/metrics.json",
    output:
        pdf=report(
            "results/figures/sbc_ranks.pdf",
            caption="../report/sbc_ranks.rst",
            category="Calibration",
        ),
        png="results/figures/sbc_ranks.png",
    params:
        figure="sbc_ranks",
        parameters=config["parameters"],
    log:
        "logs/figure_sbc_ranks/sbc_ranks.log",
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/figure.py"


rule figure_loss_curve:
    """Training and validation loss per epoch of each ensemble member."""
    input:
        losses=get_loss_curves(),
    output:
        pdf=report(
            "results/figures/loss_curve.pdf",
            caption="../report/loss_curve.rst",
            category="Training",
        ),
        png="results/figures/loss_curve.png",
    params:
        figure="loss_curve",
        parameters=config["parameters"],
    log:
        "logs/figure_loss_curve/loss_curve.log",
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/figure.py"


rule figure_t2k_throws_variation:
    """Mean and standard deviation per bin of the T2K data throws, with the data."""
    input:
        throws=get_t2k_throws(),
        data=T2K_RESOURCES,
    output:
        pdf=report(
            "results/figures/t2k_throws_variation.pdf",
            caption="../report/t2k_throws_variation.rst",
            category="T2K",
        ),
        png="results/figures/t2k_throws_variation.png",
    params:
        figure="t2k_throws_variation",
        parameters=config["parameters"],
    log:
        "logs/figure_t2k_throws_variation/t2k_throws_variation.log",
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/figure.py"


rule figure_parameter_summary:
    """Prior boxes, the MicroBooNE tune and the inferred parameters."""
    input:
        posteriors=expand("results/posteriors/{obs}.npz", obs=OBSERVATIONS),
        throws=get_t2k_throws(),
    output:
        pdf=report(
            "results/figures/parameter_summary.pdf",
            caption="../report/parameter_summary.rst",
            category="T2K",
        ),
        png="results/figures/parameter_summary.png",
    params:
        figure="parameter_summary",
        parameters=config["parameters"],
        observations=config["observations"],
        posteriors=posterior_paths(),
    log:
        "logs/figure_parameter_summary/parameter_summary.log",
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/figure.py"


rule figure_t2k_posterior_corner:
    """Posterior of the four parameters for the T2K data."""
    input:
        posterior=get_t2k_posterior(),
    output:
        pdf=report(
            "results/figures/t2k_posterior_corner.pdf",
            caption="../report/t2k_posterior_corner.rst",
            category="T2K",
        ),
        png="results/figures/t2k_posterior_corner.png",
    params:
        figure="t2k_posterior_corner",
        parameters=config["parameters"],
    log:
        "logs/figure_t2k_posterior_corner/t2k_posterior_corner.log",
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/figure.py"


rule figure_slice_comparison:
    """The nine cos(theta) slices: T2K data, MicroBooNE tune, NuWro, inferred NuWro, inferred T2K (3x3 and one each)."""
    input:
        posteriors=expand("results/posteriors/{obs}.npz", obs=OBSERVATIONS),
        data=T2K_RESOURCES,
        published=PUBLISHED_RESOURCE,
    output:
        pdf=report(
            "results/figures/slice_comparison.pdf", caption="../report/slice_comparison.rst", category="T2K"
        ),
        png="results/figures/slice_comparison.png",
        slices_pdf=expand("results/figures/slice_comparison_{slice}.pdf", slice=range(9)),
        slices_png=expand("results/figures/slice_comparison_{slice}.png", slice=range(9)),
    params:
        figure="slice_comparison",
        parameters=config["parameters"],
        observations=config["observations"],
        posteriors=posterior_paths(),
        simulator=config["simulator"],
    log:
        "logs/figure_slice_comparison/slice_comparison.log",
    localrule: True
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/figure.py"
