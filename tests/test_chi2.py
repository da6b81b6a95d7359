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


def _nuisance_ns_covariance(cov: np.ndarray, data: np.ndarray) -> np.ndarray:
    """StatUtils::ExtractNSCovar of NUISANCE (PR #50), transcribed loop by loop with shape_scale = 1."""
    n = len(data)
    total_data, total_covar = data.sum(), cov.sum()
    rows = cov.sum(axis=1)
    out = np.zeros((n, n))
    last = n - 1
    for i in range(n):
        for j in range(n):
            if i == last and j == last:
                out[i, j] = total_covar
            elif i == last:
                out[i, j] = (rows[j] - data[j] * total_covar / total_data) / total_data
            elif j == last:
                out[i, j] = (rows[i] - data[i] * total_covar / total_data) / total_data
            else:
                out[i, j] = (cov[i, j] - data[i] * rows[j] / total_data - data[j] * rows[i] / total_data
                             + data[i] * data[j] * total_covar / total_data**2) / total_data**2
    return out


def test_norm_shape_covariance_is_nuisances() -> None:
    from nutune.chi2 import norm_shape_covariance, norm_shape_transform
    from nutune.resources import load_t2k

    m = load_t2k(58)
    np.testing.assert_allclose(norm_shape_covariance(m.cov_total, m.values),
                               _nuisance_ns_covariance(m.cov_total, m.values), rtol=1e-10, atol=1e-14)
    y = norm_shape_transform(m.values)
    assert y[-1] == pytest.approx(m.values.sum()) and y[:-1].sum() == pytest.approx(1 - m.values[-1] / m.values.sum())


def test_norm_shape_chi2_against_the_full_one() -> None:
    """Zero at the data; a pure rescaling of the data is the same number as FULL (J maps it exactly); a change of
    shape at fixed normalisation differs from FULL (the transform is non-linear away from the data)."""
    from nutune.chi2 import Chi2
    from nutune.resources import load_t2k

    m = load_t2k(58)
    full, ns = Chi2(m.values, m.cov_total, "FULL"), Chi2(m.values, m.cov_total, "NORMSHAPE")
    assert ns(m.values) == pytest.approx(0.0, abs=1e-12)
    for k in (0.5, 0.9, 1.2):
        assert ns(k * m.values) == pytest.approx(full(k * m.values), rel=1e-8)
    tilted = m.values * np.linspace(0.8, 1.2, 58)
    assert ns(tilted) != pytest.approx(full(tilted), rel=1e-3)
    with pytest.raises(DataError):
        ns(np.zeros(58))


@pytest.mark.parametrize("mode", ["FULL", "DIAG", "NORMSHAPE"])
def test_discrepancy_is_the_chi2_with_another_histogram_in_place_of_the_data(t2k, mode: str) -> None:
    """Chi2.discrepancy(x, s): the posterior-predictive check's one D(x; s) — at the data it is the χ² itself; at
    another histogram it keeps the data's covariance (NORMSHAPE: C_NS linearised at the data), so it is a
    quadratic form in the difference, symmetric in x and s."""
    f = Chi2(t2k.values, t2k.cov_total, mode)
    g = rng(3, "test", "discrepancy")
    s = t2k.values * (1.0 + 0.1 * g.standard_normal((5, t2k.values.size)))
    np.testing.assert_allclose(f.discrepancy(t2k.values, s), f(s), rtol=1e-12)
    other = s[0] * 1.05
    np.testing.assert_allclose(f.discrepancy(other, s[1]), f.discrepancy(s[1], other), rtol=1e-10)
    assert f.discrepancy(other, other) == pytest.approx(0.0, abs=1e-20)


def test_discrepancy_refuses_shape_and_bad_histograms(t2k) -> None:
    with pytest.raises(DataError, match="SHAPE"):
        Chi2(t2k.values, t2k.cov_total, "SHAPE", areas=np.ones(t2k.values.size)).discrepancy(t2k.values, t2k.values)
    f = Chi2(t2k.values, t2k.cov_total, "NORMSHAPE")
    with pytest.raises(DataError, match="histogram"):
        f.discrepancy(np.full(t2k.values.size, np.nan), t2k.values)
    with pytest.raises(DataError, match="non-positive sum"):
        f.discrepancy(-t2k.values, t2k.values)
