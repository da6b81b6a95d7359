"""Every figure function writes a readable PDF and PNG; the numbers the figures show are the right ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nutune import figures
from nutune.dials import MICROBOONE_TUNE_PHYSICAL

LABELS = figures.axis_labels(["M_A^QE", "MEC norm", "MEC shape", "RPA strength"], ["GeV", "", "", ""])
LOW = np.array([0.5287, 0.0, 0.0, 0.0])
HIGH = np.array([1.3938, 3.0, 1.0, 1.5])


def _assert_written(tmp_path: Path, stem: str) -> None:
    pdf, png = tmp_path / f"{stem}.pdf", tmp_path / f"{stem}.png"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000  # a drawn figure, not an empty canvas
    assert not list(tmp_path.glob(".*tmp*")), "atomic writes leave no temporary files"


def _paths(tmp_path: Path, stem: str) -> tuple[Path, Path]:
    return tmp_path / f"{stem}.pdf", tmp_path / f"{stem}.png"


@pytest.fixture
def calibrated_test_set() -> tuple[np.ndarray, np.ndarray]:
    """Exactly calibrated Gaussian posteriors: truth ~ N(mu, s), samples ~ N(mu, s) (n_test=300, S=200)."""
    gen = np.random.default_rng(1)
    n, s_draws = 300, 200
    centre = gen.uniform(LOW + 0.2 * (HIGH - LOW), HIGH - 0.2 * (HIGH - LOW), size=(n, 4))
    width = 0.02 * (HIGH - LOW)
    truth = centre + width * gen.standard_normal((n, 4))
    samples = centre[:, None, :] + width * gen.standard_normal((n, s_draws, 4))
    return samples, truth


def test_axis_labels_carry_units() -> None:
    assert LABELS[0] == r"$M_A^{QE}$ [GeV]"
    assert LABELS[1] == "MEC norm"


def test_posterior_corner_with_truth(tmp_path: Path, calibrated_test_set) -> None:
    samples, truth = calibrated_test_set
    figures.plot_posterior_corner(samples[9], LABELS, *_paths(tmp_path, "corner"), truth=truth[9], title="row 9")
    _assert_written(tmp_path, "corner")


def test_residual_corner_and_true_vs_predicted(tmp_path: Path, calibrated_test_set) -> None:
    samples, truth = calibrated_test_set
    figures.plot_residual_corner(samples, truth, LABELS, *_paths(tmp_path, "residual"))
    figures.plot_true_vs_predicted(samples, truth, LABELS, *_paths(tmp_path, "tvp"), prior_box=(LOW, HIGH),
                                   n_points=100)
    _assert_written(tmp_path, "residual")
    _assert_written(tmp_path, "tvp")


def test_pull_fit_of_calibrated_posteriors_is_standard_normal(tmp_path: Path, calibrated_test_set) -> None:
    samples, truth = calibrated_test_set
    fits = figures.plot_pulls(figures.pulls_from_samples(samples, truth), LABELS, *_paths(tmp_path, "pulls"))
    _assert_written(tmp_path, "pulls")
    assert fits.shape == (4, 2)
    # 300 pulls: the mean is within ~3/sqrt(300) = 0.17 of 0, the width within ~15 % of 1
    assert np.all(np.abs(fits[:, 0]) < 0.2)
    assert np.all(np.abs(fits[:, 1] - 1.0) < 0.15)


def test_pull_fit_detects_overconfidence(tmp_path: Path, calibrated_test_set) -> None:
    samples, truth = calibrated_test_set
    centre = samples.mean(axis=1, keepdims=True)
    narrow = centre + 0.5 * (samples - centre)  # posteriors half as wide as they should be
    fits = figures.plot_pulls(figures.pulls_from_samples(narrow, truth), LABELS, *_paths(tmp_path, "pulls_narrow"))
    assert np.all(fits[:, 1] > 1.6)


def test_coverage_sbc_and_loss(tmp_path: Path, calibrated_test_set) -> None:
    samples, truth = calibrated_test_set
    levels = np.linspace(0, 1, 11)
    marginal = np.tile(levels, (4, 1))
    figures.plot_coverage(levels, marginal, LABELS, *_paths(tmp_path, "coverage"), joint=levels,
                          tarp=(levels, levels))
    ranks = (samples < truth[:, None, :]).sum(axis=1)
    figures.plot_sbc_ranks(ranks, samples.shape[1], LABELS, *_paths(tmp_path, "sbc"))
    curve = {"epoch": np.arange(1, 6), "train_loss": np.linspace(2, -1, 5), "val_loss": np.linspace(2.2, -0.8, 5)}
    figures.plot_loss_curves([curve, curve], *_paths(tmp_path, "loss"))
    for stem in ("coverage", "sbc", "loss"):
        _assert_written(tmp_path, stem)


def test_t2k_figures(tmp_path: Path) -> None:
    from nutune.resources import load_t2k

    measurement = load_t2k(58)
    gen = np.random.default_rng(2)
    throws = gen.multivariate_normal(measurement.values, measurement.cov_total, size=50)
    error = np.sqrt(np.diag(measurement.cov_total))
    figures.plot_throws_variation(throws, measurement.values, error, *_paths(tmp_path, "throws"))
    table = {key: np.asarray(measurement.bin_table[key]) for key in ("slice", "cos_lo", "cos_hi", "p_lo", "p_hi")}
    curves = {"MicroBooNE tune (GENIE)": 1.05 * measurement.values, "Inferred T2K": 0.98 * measurement.values}
    figures.plot_slice_grid(table, measurement.values, error, curves, *_paths(tmp_path, "grid"))
    figures.plot_slice_comparison(8, table, measurement.values, error, curves, *_paths(tmp_path, "slice8"))
    entry = figures.SummaryEntry("inferred T2K", MICROBOONE_TUNE_PHYSICAL * 0.95, np.full(4, 0.1), np.full(4, 0.1))
    figures.plot_parameter_summary([entry], LABELS, (LOW, HIGH), *_paths(tmp_path, "summary"))
    for stem in ("throws", "grid", "slice8", "summary"):
        _assert_written(tmp_path, stem)


def test_microboone_tune_errors_are_the_published_ones() -> None:
    # 1.10 ± 0.10 GeV, 1.66 ± 0.50, 1.0 (-1/+0), 0.85 ± 0.40 (paper.md §3.4)
    np.testing.assert_allclose(figures.MICROBOONE_TUNE_ERRORS,
                               [[0.10, 0.10], [0.50, 0.50], [1.0, 0.0], [0.40, 0.40]])


def test_saved_figures_are_the_same_file_on_every_run(tmp_path: Path) -> None:
    """save_figure writes no creation date into the PDF: the same figure twice gives byte-identical PDF and PNG
    (so a re-run's figures compare equal to the committed ones, as its tables do)."""
    import time

    import matplotlib.pyplot as plt

    from nutune.figures import save_figure

    out = []
    for k in range(2):
        fig, ax = plt.subplots()
        ax.plot([0, 1, 2], [1, 0, 2])
        save_figure(fig, tmp_path / f"f{k}.pdf")
        out.append(((tmp_path / f"f{k}.pdf").read_bytes(), (tmp_path / f"f{k}.png").read_bytes()))
        time.sleep(1.1)  # a creation date would differ by a second
    assert out[0] == out[1] and b"CreationDate" not in out[0][0]
