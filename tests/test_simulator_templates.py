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


# --- the extra builtin dials: MaCCRES (GReWeightNuXSecCCRES, kModeMaMv) and FrAbs_pi (GReWeightINuke) ------------
SIX = ("MaCCQE", "NormCCMEC", "XSecShape_CCMEC", "RPA_CCQE", "MaCCRES", "FrAbs_pi")


def _random_six(n, seed=11):
    gen = np.random.default_rng(seed)
    four = _random_theta(n, seed)
    four[:, 3] = np.minimum(four[:, 3], 1.2)
    lo_r, hi_r = VALID_RANGES["MaCCRES"]
    return np.column_stack([four, gen.uniform(lo_r, hi_r, n), gen.uniform(*VALID_RANGES["FrAbs_pi"], n)])


def test_six_dial_templates_equal_per_event_reweighting(sample, templates):
    theta = _random_six(10)
    theta[0, 4:] = VALID_RANGES["MaCCRES"][0], 0.0
    theta[1, 4:] = VALID_RANGES["MaCCRES"][1], VALID_RANGES["FrAbs_pi"][1]
    for row in theta:
        direct = reweight_histogram(sample, row, SIX)
        fast = templates.evaluate(row, bins=67, names=SIX)[0]
        np.testing.assert_allclose(fast, direct, rtol=1e-6, atol=1e-12 * direct.max())


def test_any_subset_and_order_of_builtin_dials_is_the_full_vector_with_the_rest_at_nominal(templates):
    theta = _random_six(50, seed=2)
    names = ("FrAbs_pi", "MaCCQE", "MaCCRES")
    sub = theta[:, [5, 0, 4]]
    full = theta.copy()
    full[:, 1:4] = [1.0, 0.0, 1.0]  # NormCCMEC, XSecShape_CCMEC, RPA_CCQE nominal
    np.testing.assert_allclose(templates.evaluate(sub, names=names), templates.evaluate(full, names=SIX),
                               rtol=1e-14, atol=0)
    # the paper's four-dial path and the general path agree with the extra dials at nominal: to the joint RES
    # response's accuracy with a RES dial named, to rounding with only fates named (exact nominal components)
    four = _random_theta(40, seed=9)
    extra = np.column_stack([four, np.full(40, dials.REGISTRY["MaCCRES"].nominal), np.ones(40)])
    np.testing.assert_allclose(templates.evaluate(extra, names=SIX), templates.evaluate(four), rtol=1e-7, atol=0)
    fates = np.column_stack([four, np.ones(40), np.ones(40)])
    np.testing.assert_allclose(templates.evaluate(fates, names=(*SIX[:4], "FrCEx_pi", "FrInel_pi")),
                               templates.evaluate(four), rtol=1e-13, atol=0)


def test_frabs_scales_the_absorbed_pion_background_exactly_linearly(templates):
    row = np.array([1.05, 1.3, 0.4, 0.9, 1.3, 0.0])
    scales = np.array([0.0, 0.4, 0.8, 1.2, 1.6])
    h = templates.evaluate(np.array([[*row[:5], a] for a in scales]), bins=67, names=SIX)
    assert np.abs(h[2:] - 2 * h[1:-1] + h[:-2]).max() < 1e-12 * np.abs(h).max()
    background = h[1] - h[0]
    assert np.all(background >= 0) and 0.02 < background.sum() / h[1].sum() < 0.3


def test_maccres_weight_is_genie_berger_sehgal_recomputed_at_the_event_kinematics(sample):
    """RESSample.ma_ratio (quadratic in g = (1 + Q²/M_A²)⁻², through two anchors) equals d²σ/dW dQ² of
    ``res_bergersehgal`` recomputed with only RES-Ma changed, event by event."""
    from nutune.simulator import res_bergersehgal as bs

    res = sample.res
    pick = np.random.default_rng(0).choice(res.w.size, 3000, replace=False)
    for ma in (0.47, 0.9, 1.37, 1.98):
        ratio = res.ma_ratio(ma)[pick]
        for nucleon, mask in (("p", res.is_p[pick]), ("n", ~res.is_p[pick])):
            idx = pick[mask]
            args = (res.enu[idx], res.w_had[idx], res.q2[idx], nucleon)
            direct = bs.d2sigma_dw_dq2(*args, ma=ma) / bs.d2sigma_dw_dq2(*args)
            np.testing.assert_allclose(ratio[mask], direct, rtol=1e-10)
    # a larger axial mass raises the cross section at every Q² > 0 (C5A = 1.2 (1 + Q²/M_A²)^-2 grows)
    assert np.all(res.ma_ratio(1.5) > 1.0)


def test_six_dial_torch_equals_numpy_and_has_gradients(templates):
    theta = torch.tensor(_random_six(7, seed=4), dtype=torch.float64, requires_grad=True)
    out = templates.evaluate_torch(theta, names=SIX)
    np.testing.assert_allclose(out.detach().numpy(), templates.evaluate(theta.detach().numpy(), names=SIX),
                               rtol=1e-12, atol=0)
    out.sum().backward()
    assert torch.all(theta.grad[:, 4] != 0) and torch.all(theta.grad[:, 5] > 0)


def test_extra_dials_are_validated_by_name():
    with pytest.raises(InvalidParameterError, match="MaCCRES = 2.5 is outside the valid range"):
        sim.simulate([1.0, 2.5], names=("MaCCQE", "MaCCRES"))
    with pytest.raises(InvalidParameterError, match="not applied by the built-in simulator"):
        sim.simulate([1.0, 0.8], names=("MaCCQE", "NonRESBGvpCC1pi"))
    with pytest.raises(InvalidParameterError, match="MvCCRES = 1.3 is outside the valid range"):
        sim.simulate([1.0, 1.3], names=("MaCCQE", "MvCCRES"))
    with pytest.raises(InvalidParameterError, match=r"expected \(2,\)"):
        sim.simulate([1.0, 1.2, 1.0], names=("MaCCQE", "MaCCRES"))


def test_parametrised_delta_background_refuses_maccres_but_takes_frabs():
    small = build_templates("nuwro_like", sample_seed=SEED, n_events=20_000)
    assert small.metadata["res_ma_response"] is False
    small.evaluate([1.0, 0.5], names=("MaCCQE", "FrAbs_pi"))
    with pytest.raises(InvalidParameterError, match="MaCCRES is not applied by the 'nuwro_like' templates"):
        small.evaluate([1.0, 1.3], names=("MaCCQE", "MaCCRES"))
    with pytest.raises(InvalidParameterError, match="MvCCRES is not applied by the 'nuwro_like' templates"):
        small.evaluate([1.0, 0.7], names=("MaCCQE", "MvCCRES"))
    assert small.res_response is None
    # named at nominal (as a config's fixed or mock point does) is fine; off nominal is refused
    np.testing.assert_allclose(small.evaluate([1.0, 1.065047, 1.0], names=("MaCCQE", "MaCCRES", "FrCEx_pi")),
                               small.evaluate([1.0], names=("MaCCQE",)), rtol=1e-12)
    with pytest.raises(InvalidParameterError, match="FrCEx_pi not applied by the 'nuwro_like' templates"):
        small.evaluate([1.0, 1.2], names=("MaCCQE", "FrCEx_pi"))


@pytest.mark.parametrize("fates", [("FrCEx_pi",), ("FrInel_pi", "FrPiProd_pi"), ("FrCEx_pi", "FrInel_pi", "FrPiProd_pi"),
                                   ("FrAbs_pi", "FrCEx_pi")])
def test_pion_fate_templates_equal_per_event_genie_cushion_reweighting(sample, templates, fates):
    """Each set of named fates (absorption a cushion or not) against GReWeightINuke's per-event weight."""
    gen = np.random.default_rng(len(fates))
    names = ("MaCCQE", "MaCCRES", *fates)
    for _ in range(4):
        scales = [gen.uniform(0.3, 1.25) for _ in fates]  # inside the joint S <= 1 limit for these sets
        row = [gen.uniform(0.6, 1.4), gen.uniform(0.5, 2.0), *scales]
        direct = reweight_histogram(sample, row, names)
        fast = templates.evaluate(row, bins=67, names=names)[0]
        np.testing.assert_allclose(fast, direct, rtol=1e-6, atol=1e-12 * direct.max())


def test_a_named_fate_at_nominal_changes_nothing_and_cex_moves_the_background_against_itself(templates):
    base = templates.evaluate([1.0, 1.3], names=("MaCCQE", "MaCCRES"))
    same = templates.evaluate([1.0, 1.3, 1.0], names=("MaCCQE", "MaCCRES", "FrCEx_pi"))
    np.testing.assert_allclose(same, base, rtol=1e-12)
    more_cex = templates.evaluate([1.0, 1.3, 1.5], names=("MaCCQE", "MaCCRES", "FrCEx_pi"))
    assert np.all(more_cex <= base + 1e-15) and (base - more_cex).sum() > 0  # fewer absorbed pions


def test_fate_scales_beyond_genies_rescaling_limit_are_refused(templates):
    with pytest.raises(InvalidParameterError, match="sum to .* > 1 at some pion energy"):
        templates.evaluate([1.9, 1.6], names=("FrCEx_pi", "FrInel_pi"))


@pytest.mark.parametrize("names", [("MFP_pi",), ("MaCCQE", "MFP_pi", "FrCEx_pi", "FrInel_pi"),
                                   ("MFP_pi", "FrAbs_pi", "RPA_CCQE")])
def test_mfp_templates_equal_per_event_genie_mean_free_path_reweighting(sample, templates, names):
    """MFP_pi: (1 − P_surv(sλ))/(1 − P_surv(λ)) per absorbed pion (GReWeightUtils), alone and with the fates."""
    gen = np.random.default_rng(len(names))
    for scale in (0.2, 0.45, 1.0, 1.6, 2.0):
        row = []
        for n in names:
            row.append(scale if n == "MFP_pi" else gen.uniform(0.6, 1.1) if n.startswith("Fr")
                       else gen.uniform(0.8, 1.2))
        direct = reweight_histogram(sample, row, names)
        fast = templates.evaluate(row, bins=67, names=names)[0]
        np.testing.assert_allclose(fast, direct, rtol=1e-6, atol=1e-12 * direct.max())


def test_a_longer_mean_free_path_absorbs_fewer_pions(templates):
    h = templates.evaluate(np.array([[0.5], [1.0], [1.5]]), names=("MFP_pi",))
    assert np.all(h[0] >= h[1]) and np.all(h[1] >= h[2]) and (h[0] - h[2]).sum() > 0


def test_mvccres_weight_is_genie_berger_sehgal_recomputed_at_the_event_kinematics(sample):
    """RESSample.xsec_ratio (c0 r^2 + c1 r g + c2 g^2 from the two MaCCRES anchors and r = G_V(M_V)/G_V(nominal))
    equals d2sigma/dW dQ2 of ``res_bergersehgal`` recomputed with RES-Ma and RES-Mv changed, event by event."""
    from nutune.simulator import res_bergersehgal as bs

    res = sample.res
    pick = np.random.default_rng(1).choice(res.w.size, 3000, replace=False)
    for ma, mv in ((1.065047, 0.5), (1.065047, 1.2), (0.45, 0.61), (2.1, 1.13), (0.9, 0.924)):
        ratio = res.xsec_ratio(ma, mv)[pick]
        for nucleon, mask in (("p", res.is_p[pick]), ("n", ~res.is_p[pick])):
            idx = pick[mask]
            args = (res.enu[idx], res.w_had[idx], res.q2[idx], nucleon)
            direct = bs.d2sigma_dw_dq2(*args, ma=ma, mv=mv) / bs.d2sigma_dw_dq2(*args)
            np.testing.assert_allclose(ratio[mask], direct, rtol=1e-10)
    np.testing.assert_allclose(res.xsec_ratio(1.3), res.ma_ratio(1.3), rtol=1e-12)
    # a larger vector mass raises the vector form factors, hence the cross section, at every Q2 > 0
    assert np.all(res.xsec_ratio(dials.REGISTRY["MaCCRES"].nominal, 0.924) > 1.0)


def test_vector_form_factor_ratio_is_genies_minibooneGV_formula():
    """r at one point from BSKLNBaseRESPXSec2014.cxx (R-3_00_06) lines written out here: CV0 = 1/(1 - q2/Mv2/4),
    CV3 = 2.13 CV0 (1 - q2/Mv2)^-2, CV4 = -1.51 CV0 (1 - q2/Mv2)^-2, CV5 = 0.48 CV0 (1 - q2/Mv2/0.766)^-2,
    GV = sqrt(3 GV3^2 + GV1^2) (times a factor without Mv); RES-Mv 0.840 (BergerSehgalRESPXSec2014.xml), 1 sigma
    10 % (GSystUncertaintyTable.xml)."""
    from nutune.simulator import res_bergersehgal as bs

    w, q2, m = 1.232, -0.5, bs.M_PROTON  # GENIE's q2 < 0

    def gv(mv):
        cv0 = 1.0 / (1 - q2 / mv**2 / 4.0)
        cv3, cv4 = 2.13 * cv0 * (1 - q2 / mv**2) ** -2, -1.51 * cv0 * (1 - q2 / mv**2) ** -2
        cv5 = 0.48 * cv0 * (1 - q2 / mv**2 / 0.766) ** -2
        gv3 = 0.5 / np.sqrt(3) * (cv3 * (w + m) / m + cv4 * (w * w + q2 - m * m) / 2 / m**2
                                  + cv5 * (w * w - q2 - m * m) / 2 / m**2)
        gv1 = -0.5 / np.sqrt(3) * (cv3 * (m * m - q2 + m * w) / w / m + cv4 * (w * w + q2 - m * m) / 2 / m**2
                                   + cv5 * (w * w - q2 - m * m) / 2 / m**2)
        return np.sqrt(3 * gv3**2 + gv1**2)

    mv_plus = float(dials.to_physical("MvCCRES", 1.0))
    assert mv_plus == pytest.approx(0.924)
    assert float(bs.vector_form_factor_ratio(w, 0.5, "p", mv_plus)) == pytest.approx(gv(0.924) / gv(0.840),
                                                                                       rel=1e-14)
    assert float(bs.vector_form_factor_ratio(w, 1e-12, "n", 0.6)) == pytest.approx(1.0, abs=1e-10)


RES12 = ("MaCCQE", "NormCCMEC", "XSecShape_CCMEC", "RPA_CCQE", "MaCCRES", "MvCCRES", "MFP_pi")


@pytest.mark.parametrize("fates", [(), ("FrCEx_pi", "FrInel_pi", "FrPiProd_pi"), ("FrInel_pi",),
                                   ("FrCEx_pi", "FrPiProd_pi"), ("FrAbs_pi", "FrCEx_pi", "FrInel_pi")])
def test_res_dials_and_fates_free_together_equal_per_event_reweighting(sample, templates, fates):
    """MaCCRES, MvCCRES and MFP_pi with every kind of fate set (absorption the cushion or named), the four paper
    dials free too, against GENIE's per-event weights — also at the corners of the RES box."""
    names = (*RES12, *fates)
    gen = np.random.default_rng(7 + len(fates))
    lo = np.array([VALID_RANGES[n][0] for n in RES12[4:]])
    hi = np.array([VALID_RANGES[n][1] for n in RES12[4:]])
    rows = []
    for k in range(6):
        res = lo + (hi - lo) * (gen.integers(0, 2, 3) if k < 3 else gen.random(3))
        rows.append([gen.uniform(0.6, 1.4), gen.uniform(0, 3), gen.uniform(0, 1), gen.uniform(0, 1.2), *res,
                     *(gen.uniform(0.4, 1.1) for _ in fates)])
    worst = 0.0
    for row in rows:
        direct = reweight_histogram(sample, row, names)
        fast = templates.evaluate(row, bins=67, names=names)[0]
        np.testing.assert_allclose(fast, direct, rtol=1e-6, atol=1e-12 * direct.max())
        worst = max(worst, float(np.max(np.abs(fast - direct) / direct)))
    assert worst < 1e-7
    # the batched path (rows grouped by box) is the single-row one
    batch = templates.evaluate(np.array(rows), bins=67, names=names)
    np.testing.assert_allclose(batch, np.concatenate([templates.evaluate(r, bins=67, names=names) for r in rows]),
                               rtol=1e-13, atol=0)


def test_res_response_metadata_records_its_accuracy(templates):
    meta = templates.metadata["res_response"]
    assert meta["max_error"] < 1e-7 and meta["chebyshev_tail"] < 1e-9
    assert templates.res_response.ranks == tuple(meta["ranks"])


def test_res_dials_named_alone_equal_the_joint_response_with_the_others_at_nominal(templates):
    gen = np.random.default_rng(5)
    ma, mv, mfp = gen.uniform(0.4, 2.2, 30), gen.uniform(0.5, 1.2, 30), gen.uniform(0.2, 2.0, 30)
    nom = {n: np.full(30, dials.REGISTRY[n].nominal) for n in RES12[4:]}
    joint = templates.evaluate(np.column_stack([ma, nom["MvCCRES"], mfp]), names=RES12[4:])
    np.testing.assert_allclose(templates.evaluate(np.column_stack([mfp, ma]), names=("MFP_pi", "MaCCRES")), joint,
                               rtol=1e-10, atol=0)
    only_mv = templates.evaluate(mv[:, None], names=("MvCCRES",))
    np.testing.assert_allclose(templates.evaluate(np.column_stack([nom["MaCCRES"], mv]),
                                                  names=("MaCCRES", "MvCCRES")), only_mv, rtol=1e-10, atol=0)


def test_res_dials_torch_gradients_match_finite_differences(templates):
    names = (*RES12, "FrCEx_pi", "FrInel_pi", "FrPiProd_pi")
    row = np.array([[1.02, 1.4, 0.3, 0.9, 1.31, 0.77, 0.63, 0.8, 1.05, 0.9]])
    theta = torch.tensor(row, dtype=torch.float64, requires_grad=True)
    out = templates.evaluate_torch(theta, bins=67, names=names)
    np.testing.assert_allclose(out.detach().numpy(), templates.evaluate(row, bins=67, names=names), rtol=1e-12)
    out.sum().backward()
    for j in range(4, 10):
        up, down = row.copy(), row.copy()
        up[0, j] += 1e-6
        down[0, j] -= 1e-6
        fd = (templates.evaluate(up, bins=67, names=names).sum() - templates.evaluate(down, bins=67, names=names)
              .sum()) / 2e-6
        assert theta.grad[0, j].item() == pytest.approx(fd, rel=1e-5, abs=1e-9), names[j]


def test_ha2018_absorption_option_gives_each_pion_its_own_probability():
    """res_absorption genie_ha2018: P_interact(KE, path)·f_abs(KE) instead of the constant 0.20 — lower for the
    fast pions of heavy resonances, about 0.2 in the Δ region."""
    import dataclasses

    from nutune.simulator.pion_fsi import fate_fractions
    from nutune.simulator.variants import get_physics

    assert get_physics("nominal").res_absorption == "genie_ha2018"  # the default since 2026-12-02
    base = build_base_sample("nominal", SEED, 20_000,
                             physics=dataclasses.replace(get_physics("nominal"), res_absorption="constant"))
    alt = build_base_sample("nominal", SEED, 20_000)
    np.testing.assert_array_equal(alt.res.pion_ke, base.res.pion_ke)
    p_abs = alt.res.interaction_probability() * fate_fractions(alt.res.pion_ke)[2]
    np.testing.assert_allclose(alt.res.w, base.res.w * p_abs / 0.20, rtol=1e-12)
    delta = (alt.res.w_had > 1.15) & (alt.res.w_had < 1.3)
    heavy = alt.res.w_had > 1.5
    assert 0.15 < np.average(p_abs[delta], weights=base.res.w[delta]) < 0.26
    assert np.average(p_abs[heavy], weights=base.res.w[heavy]) < 0.14


# --- CCQEPauliSupViaKF (GReWeightFGM, QELEventGenerator events) ---------------------------------------------------
PAULI = ("MaCCQE", "NormCCMEC", "XSecShape_CCMEC", "RPA_CCQE", "CCQEPauliSupViaKF")


def test_generated_ccqe_events_are_above_the_fermi_surface(sample):
    """NievesQELCCPXSec blocks |p_p'| < k_F(r) (the k_F GReWeightFGM tweaks), so x = |p_p'|/k_F >= 1 per event."""
    x = sample.qe.pauli_ratio()
    assert x.min() >= 1.0 and x.min() < 1.001
    k_f = sample.qe.k_fermi  # hbar c (3 pi^2 Z rho(r))^(1/3) of 12C's protons: below ~0.26 GeV, zero at the edge
    assert k_f.min() > 0.0 and k_f.max() < 0.27


@pytest.mark.parametrize("lam", [0.0, 0.5, 1.0, 1.0 + 2e-7, 1.0 + 5e-7, 1.013, 1.3, 1.64, 1.9])
def test_pauli_templates_equal_genies_per_event_step_weight(sample, templates, lam):
    """GReWeightFGM for kPSQELEvGen: weight 0 if |p_N'| < k_F (1 + 0.3 t), 1 otherwise, 1 when |t| <= 1e-6;
    t < 0 removes nothing (every generated event has |p_N'| >= k_F)."""
    gen = np.random.default_rng(int(lam * 1000))
    for _ in range(3):
        row = [gen.uniform(0.55, 1.39), gen.uniform(0, 3), gen.uniform(0, 1), gen.uniform(0, 1.2), lam]
        direct = reweight_histogram(sample, row, PAULI)
        fast = templates.evaluate(row, bins=67, names=PAULI)[0]
        np.testing.assert_allclose(fast, direct, rtol=1e-8, atol=1e-12 * direct.max())
        if lam <= 1.0 + 3e-7:
            np.testing.assert_allclose(fast, templates.evaluate(row[:4], bins=67)[0], rtol=1e-12, atol=0)


def test_pauli_response_is_a_staircase_with_one_step_per_event(sample, templates):
    """Between two neighbouring thresholds nothing changes; crossing one removes exactly that event's weight."""
    qe = sample.qe
    x = qe.pauli_ratio()
    i = int(np.flatnonzero((x > 1.3) & (x < 1.31))[0])
    b = int(qe.bin67[i])
    others = np.sort(x[qe.bin67 == b])
    j = int(np.searchsorted(others, x[i]))
    below, above = 0.5 * (others[j - 1] + x[i]), 0.5 * (x[i] + others[j + 1])
    ma, s = 1.1, 0.85
    h_below = templates.evaluate([ma, 1.0, 0.0, s, below], bins=67, names=PAULI)[0]
    h_above = templates.evaluate([ma, 1.0, 0.0, s, above], bins=67, names=PAULI)[0]
    step = qe.w_nom[i] * (1 + (1 - s) * (1 / qe.rpa_ratio[i] - 1)) * qe.ma_ratio(ma)[i] / templates.area[b]
    assert h_below[b] - h_above[b] == pytest.approx(step, rel=1e-7)
    # in every bin, the change is the per-event staircase between the two scales
    direct = (reweight_histogram(sample, [ma, 1.0, 0.0, s, below], PAULI)
              - reweight_histogram(sample, [ma, 1.0, 0.0, s, above], PAULI))
    np.testing.assert_allclose(h_below - h_above, direct, rtol=1e-6, atol=1e-9 * h_below.max())
    assert templates.metadata["pauli"]["max_error"] <= 1e-9


def test_pauli_with_every_other_builtin_dial_and_torch(sample, templates):
    names = (*PAULI, "MaCCRES", "MvCCRES", "MFP_pi", "FrCEx_pi", "FrInel_pi", "FrPiProd_pi")
    rows = np.array([[1.02, 1.4, 0.3, 0.9, 1.45, 1.31, 0.77, 0.63, 0.8, 1.05, 0.9],
                     [0.71, 0.6, 0.8, 0.2, 1.9, 0.5, 1.2, 2.0, 1.1, 0.6, 0.5]])
    for row in rows:
        direct = reweight_histogram(sample, row, names)
        np.testing.assert_allclose(templates.evaluate(row, bins=67, names=names)[0], direct, rtol=1e-7,
                                   atol=1e-12 * direct.max())
    theta = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
    out = templates.evaluate_torch(theta, bins=67, names=names)
    np.testing.assert_allclose(out.detach().numpy(), templates.evaluate(rows, bins=67, names=names), rtol=1e-12)
    out.sum().backward()
    assert torch.all(theta.grad[:, 4] == 0)  # piecewise constant in the k_F scale: GENIE's step weight
    eps = 1e-6
    up, down = rows.copy(), rows.copy()
    up[0, 0] += eps
    down[0, 0] -= eps
    fd = (templates.evaluate(up, bins=67, names=names)[0].sum() - templates.evaluate(down, bins=67, names=names)[0]
          .sum()) / (2 * eps)
    assert theta.grad[0, 0].item() == pytest.approx(fd, rel=1e-5)


def test_pauli_dial_needs_the_nieves_ccqe_events():
    small = build_templates("nuwro_like", sample_seed=SEED, n_events=20_000)
    assert small.pauli is None
    np.testing.assert_allclose(small.evaluate([1.0, 1.0], names=("MaCCQE", "CCQEPauliSupViaKF")),
                               small.evaluate([1.0], names=("MaCCQE",)), rtol=1e-12)
    with pytest.raises(InvalidParameterError, match="CCQEPauliSupViaKF is not applied by the 'nuwro_like'"):
        small.evaluate([1.0, 1.2], names=("MaCCQE", "CCQEPauliSupViaKF"))
