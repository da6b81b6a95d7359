"""Template algebra of the built-in simulator against explicit per-event GENIE reweighting (physics.md §4.5, §4.7)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nutune
import nutune.simulator as sim
from nutune import dials
from nutune.simulator.templates import (
    VALID_RANGES,
    InvalidParameterError,
    build_base_sample,
    build_templates,
    get_templates,
    reweight_histogram,
)

N_EVENTS = 200_000
SEED = 20240601


@pytest.fixture(scope="module")
def sample():
    return build_base_sample("nominal", SEED, N_EVENTS)


@pytest.fixture(scope="module")
def templates(sample):
    return build_templates("nominal", sample_seed=SEED, n_events=N_EVENTS, sample=sample)


def _random_theta(n, seed=3):
    gen = np.random.default_rng(seed)
    return np.column_stack(
        [gen.uniform(0.5, 1.5, n), gen.uniform(0, 3, n), gen.uniform(0, 1, n), gen.uniform(0, 1.5, n)]
    )


def test_templates_equal_per_event_reweighting_off_grid(sample, templates):
    """Exact (≤ 1e-6) wherever no per-event RPA_CCQE weight is clipped: s ≤ 1 + R_min/(1 − R_min)."""
    s_exact = templates.metadata["rpa_exact_max_strength"]
    assert 1.2 < s_exact < 1.5
    theta = _random_theta(12)
    theta[:, 3] = np.minimum(theta[:, 3], s_exact)
    theta[0, 0] = 0.5287  # prior edge
    theta[1, 0] = 1.3938
    theta[2, 3] = s_exact
    for row in theta:
        direct = reweight_histogram(sample, row)
        fast = templates.evaluate(row, bins=67)[0]
        np.testing.assert_allclose(fast, direct, rtol=1e-6, atol=1e-12 * direct.max())


def test_beyond_the_exact_rpa_range_templates_extrapolate_linearly(sample, templates):
    """Above s_exact GENIE clips the few negative per-event weights at 0; the templates stay linear (lower). At
    the prior edge s = 1.5 that is ≤ 0.3 % of the 58-bin integral (measured 0.24 %, README)."""
    row = np.array([1.10479, 1.65595, 1.0, 1.5])
    direct = reweight_histogram(sample, row)
    fast = templates.evaluate(row, bins=67)[0]
    assert np.all(fast <= direct * (1 + 1e-9))
    area = templates.area
    assert 0 < (direct - fast) @ area / (direct @ area) < 3e-3


def test_batched_path_equals_small_batch_path(templates):
    theta = _random_theta(300, seed=5)
    big = templates.evaluate(theta)
    small = np.concatenate([templates.evaluate(theta[i : i + 10]) for i in range(0, 300, 10)])
    np.testing.assert_allclose(big, small, rtol=1e-13, atol=0)


def test_exactly_linear_in_rpa_strength(templates):
    base = np.array([1.05, 1.3, 0.4, 0.0])
    strengths = np.array([0.0, 0.5, 1.0, 1.5, 2.0])
    h = templates.evaluate(np.array([[*base[:3], s] for s in strengths]), bins=67)
    second_diff = h[2:] - 2 * h[1:-1] + h[:-2]
    assert np.abs(second_diff).max() < 1e-12 * np.abs(h).max()
    assert np.abs(h[0] - h[2]).max() > 1e-3  # RPA really acts


def test_bilinear_in_mec_norm_and_shape(templates):
    ma, s = 0.98, 0.8

    def h(n, x):
        return templates.evaluate([ma, n, x, s], bins=67)[0]

    # linear in n at fixed x and in x at fixed n: second differences vanish
    assert np.abs(h(0.0, 0.3) - 2 * h(1.0, 0.3) + h(2.0, 0.3)).max() < 1e-13
    assert np.abs(h(1.7, 0.0) - 2 * h(1.7, 0.5) + h(1.7, 1.0)).max() < 1e-13
    # mixed difference = (E - V) * dn * dx
    mixed = h(2.0, 1.0) - h(2.0, 0.0) - h(1.0, 1.0) + h(1.0, 0.0)
    np.testing.assert_allclose(mixed, templates.mec_e - templates.mec_v, atol=1e-13)


def test_norm_ccmec_dial_minus_two_removes_all_mec(templates):
    n_phys = float(dials.to_physical("NormCCMEC", -2.0))
    h = templates.evaluate([1.0, n_phys, 0.6, 1.0], bins=67)[0]
    comp = templates.components(1.0)
    np.testing.assert_allclose(h, comp["Q"] + comp["B"], rtol=1e-12)
    assert h.sum() < templates.evaluate([1.0, 1.0, 0.6, 1.0], bins=67)[0].sum()


def test_xsecshape_clamp_through_dials(templates):
    tune = dials.MICROBOONE_TUNE_DIALS.copy()
    hi, one = tune.copy(), tune.copy()
    hi[2], one[2] = 1.7, 1.0
    h_hi = templates.evaluate(dials.dials_to_physical(hi))
    h_one = templates.evaluate(dials.dials_to_physical(one))
    np.testing.assert_array_equal(h_hi, h_one)


def test_58_bins_are_67_with_overflow_mask(templates):
    theta = _random_theta(7)
    h67 = templates.evaluate(theta, bins=67)
    h58 = templates.evaluate(theta, bins=58)
    assert h58.shape == (7, 58)
    mask = np.ones(67, bool)
    mask[[2, 7, 14, 21, 29, 38, 46, 57, 66]] = False
    np.testing.assert_array_equal(h58, h67[:, mask])


def test_histogram_integral_equals_flux_averaged_signal_sigma(sample, templates):
    for theta in ([dials.MA_NOMINAL_GEV, 1.0, 0.0, 1.0], [1.2, 2.1, 0.7, 0.3]):
        ma, n, x, s = theta
        kappa = 1 - s
        qe = sample.qe
        sigma = (
            np.sum(qe.w_nom * (1 + kappa * (1 / qe.rpa_ratio - 1)) * qe.ma_ratio(ma))
            + n * np.sum((1 - x) * sample.mec.w_v + x * sample.mec.w_e)
            + np.sum(sample.res.w)
        )
        integral = np.sum(templates.evaluate(theta, bins=67)[0] * templates.area)
        assert integral == pytest.approx(sigma, rel=1e-7)


def test_torch_matches_numpy_and_gradcheck(templates):
    theta = _random_theta(5, seed=11)
    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    out = templates.evaluate_torch(t)
    np.testing.assert_allclose(out.detach().numpy(), templates.evaluate(theta), rtol=1e-12)
    assert torch.autograd.gradcheck(lambda x: templates.evaluate_torch(x, bins=58), (t,), eps=1e-6, atol=1e-7)
    single = templates.evaluate_torch(torch.tensor(theta[0]))
    assert single.shape == (1, 58)


def test_torch_gradient_in_ma_matches_finite_difference(templates):
    theta = torch.tensor([[1.03, 1.5, 0.5, 0.9]], dtype=torch.float64, requires_grad=True)
    templates.evaluate_torch(theta, bins=67).sum().backward()
    eps = 1e-6
    up = templates.evaluate([1.03 + eps, 1.5, 0.5, 0.9], bins=67).sum()
    down = templates.evaluate([1.03 - eps, 1.5, 0.5, 0.9], bins=67).sum()
    assert theta.grad[0, 0].item() == pytest.approx((up - down) / (2 * eps), rel=1e-6)
    assert theta.grad[0, 0].item() > 0  # larger M_A, larger CCQE cross section


@pytest.mark.parametrize(
    ("theta", "name"),
    [
        ([np.nan, 1, 0, 1], "MaCCQE"),
        ([0.4, 1, 0, 1], "MaCCQE"),
        ([1.0, -0.1, 0, 1], "NormCCMEC"),
        ([1.0, 1, 1.2, 1], "XSecShape_CCMEC"),
        ([1.0, 1, 0.5, np.inf], "RPA_CCQE"),
        ([1.0, 1, 0.5, 2.5], "RPA_CCQE"),
    ],
)
def test_invalid_theta_names_parameter(templates, theta, name):
    with pytest.raises(InvalidParameterError, match=name):
        templates.evaluate(theta)
    assert issubclass(InvalidParameterError, ValueError)


def test_bad_shape_and_bins_are_rejected(templates):
    with pytest.raises(ValueError, match="shape"):
        templates.evaluate(np.ones((2, 3)))
    with pytest.raises(ValueError, match="bins"):
        templates.evaluate([1.0, 1, 0, 1], bins=60)


def test_valid_ranges_cover_the_sbi_prior_box():
    box = {"MaCCQE": (0.5287, 1.3938), "NormCCMEC": (0, 3), "XSecShape_CCMEC": (0, 1), "RPA_CCQE": (0, 1.5)}
    for name, (lo, hi) in box.items():
        assert VALID_RANGES[name][0] <= lo and hi <= VALID_RANGES[name][1]


def test_cache_is_reproducible_and_content_hashed(tmp_path):
    a = get_templates("nominal", sample_seed=11, n_events=20_000, cache_dir=tmp_path / "a")
    b = build_templates("nominal", sample_seed=11, n_events=20_000)
    for name in ("qd_coef", "mec_v", "mec_e", "background"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.metadata["sample_sha256"] == b.metadata["sample_sha256"]
    files = list((tmp_path / "a").glob("templates_nominal_*.npz"))
    assert len(files) == 1
    with np.load(files[0], allow_pickle=False) as data:
        np.testing.assert_array_equal(data["qd_coef"], a.qd_coef)
    # a different seed is a different file with different templates
    c = get_templates("nominal", sample_seed=12, n_events=20_000, cache_dir=tmp_path / "a")
    assert len(list((tmp_path / "a").glob("templates_nominal_*.npz"))) == 2
    assert not np.array_equal(c.mec_v, a.mec_v)
    # reading back from disk (fresh memo) gives bit-identical templates
    from nutune.simulator import templates as tmod

    tmod._MEMO.clear()
    again = get_templates("nominal", sample_seed=11, n_events=20_000, cache_dir=tmp_path / "a")
    assert again is not a
    np.testing.assert_array_equal(again.qd_coef, a.qd_coef)


def test_public_simulate_delegates(monkeypatch, tmp_path):
    monkeypatch.setenv("NUTUNE_CACHE", str(tmp_path))
    monkeypatch.setattr(sim, "DEFAULT_N_EVENTS", 20_000)
    theta = np.array([[1.1, 1.6, 1.0, 0.85], [0.9, 0.5, 0.0, 1.2]])
    out = nutune.simulate(theta)
    assert out.shape == (2, 58) and np.all(out > 0)
    ref = get_templates("nominal", sample_seed=sim.DEFAULT_SAMPLE_SEED, n_events=20_000, cache_dir=tmp_path)
    np.testing.assert_array_equal(out, ref.evaluate(theta))
    assert nutune.simulate(theta[0], bins=67).shape == (1, 67)
    with pytest.raises(ValueError, match="variant"):
        nutune.simulate(theta, variant="neut")
