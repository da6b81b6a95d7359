"""Tests of nutune.chi2 against the published χ² values of arXiv:2603.09778 and against direct formulas."""

from __future__ import annotations

import numpy as np
import pytest

from nutune.chi2 import Chi2, chi2, chi2_all_modes
from nutune.io import rng
from nutune.resources import DataError, load_published, load_t2k


@pytest.fixture(scope="module")
def t2k():
    return load_t2k(58)


@pytest.mark.parametrize(
    ("column", "full", "diag"),
    [("microboone_tune", 116.2, 54.7), ("nuwro", 127.1, 67.5)],
)
def test_published_curves_reproduce_published_chi2(t2k, column: str, full: float, diag: float) -> None:
    """resources/published_predictions/README.md: FULL 116.2 / 127.1 (slides: 115.10 / 126.73), DIAG 54.7 / 67.5."""
    pred = load_published(column)
    assert chi2(pred, t2k.values, t2k.cov_total, "FULL") == pytest.approx(full, abs=1.0)
    assert chi2(pred, t2k.values, t2k.cov_total, "DIAG") == pytest.approx(diag, abs=0.1)
    # the T2K total covariance = stat + syst + norm, so the component sum gives the same FULL value
    assert chi2_all_modes(pred, t2k, ["FULL"])["FULL"] == pytest.approx(
        chi2(pred, t2k.values, t2k.cov_total), rel=1e-9
    )


def test_full_matches_explicit_inverse(t2k) -> None:
    pred = load_published("nuwro")
    delta = pred - t2k.values
    explicit = float(delta @ np.linalg.solve(t2k.cov_total, delta))
    assert chi2(pred, t2k.values, t2k.cov_total) == pytest.approx(explicit, rel=1e-9)


def test_small_known_values() -> None:
    data = np.array([1.0, 2.0])
    cov = np.array([[1.0, 0.5], [0.5, 1.0]])
    pred = np.array([2.0, 2.0])  # delta = (1, 0); (C^-1)_00 = 1 / (1 - 0.25) = 4/3
    assert chi2(pred, data, cov, "FULL") == pytest.approx(4.0 / 3.0)
    assert chi2(pred, data, cov, "DIAG") == pytest.approx(1.0)
    assert chi2(data, data, cov, "FULL") == 0.0


def test_shape_mode_is_normalisation_free(t2k) -> None:
    pred = load_published("microboone_tune")
    f = Chi2(t2k.values, t2k.cov_total, "SHAPE", areas=t2k.areas, cov_norm=t2k.cov_norm)
    assert f(pred) == pytest.approx(f(1.7 * pred), rel=1e-10)
    assert f(0.5 * t2k.values) == pytest.approx(0.0, abs=1e-18)
    # explicit: scale to the data integral, covariance without the flux-norm component
    scaled = pred * (t2k.values @ t2k.areas) / (pred @ t2k.areas)
    delta = scaled - t2k.values
    explicit = float(delta @ np.linalg.solve(t2k.cov_stat + t2k.cov_syst, delta))
    assert f(pred) == pytest.approx(explicit, rel=1e-9)
    assert chi2_all_modes(pred, t2k, ["SHAPE"])["SHAPE"] == pytest.approx(explicit, rel=1e-9)
    with pytest.raises(DataError, match="SHAPE needs the bin areas"):
        chi2(pred, t2k.values, t2k.cov_total, "SHAPE")


def test_batched_predictions_match_single(t2k) -> None:
    gen = rng(555, "test_chi2")
    preds = t2k.values * gen.uniform(0.8, 1.2, size=(5, 58))
    for mode in ("FULL", "DIAG", "SHAPE"):
        f = Chi2(t2k.values, t2k.cov_total, mode, areas=t2k.areas, cov_norm=t2k.cov_norm)
        batch = f(preds)
        assert batch.shape == (5,)
        np.testing.assert_allclose(batch, [f(p) for p in preds], rtol=1e-12)


def test_all_modes_keys_and_order(t2k) -> None:
    out = chi2_all_modes(load_published("nuwro"), t2k, ["DIAG", "FULL", "SHAPE"])
    assert list(out) == ["DIAG", "FULL", "SHAPE"]
    assert out["DIAG"] == pytest.approx(67.5, abs=0.1)


def test_bad_inputs(t2k) -> None:
    with pytest.raises(DataError, match="mode = 'CHI' is not allowed"):
        chi2(t2k.values, t2k.values, t2k.cov_total, "CHI")
    with pytest.raises(DataError, match=r"prediction has shape \(57,\)"):
        chi2(t2k.values[:57], t2k.values, t2k.cov_total)
    bad = t2k.values.copy()
    bad[3] = np.nan
    with pytest.raises(DataError, match="non-finite"):
        chi2(bad, t2k.values, t2k.cov_total)
    with pytest.raises(DataError, match="not positive definite"):
        chi2(t2k.values, t2k.values, t2k.cov_norm)  # rank one
    with pytest.raises(DataError, match="expected 58x58"):
        chi2(t2k.values, t2k.values, np.eye(57))
