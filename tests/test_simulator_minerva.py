"""The built-in simulator at MINERvA energies: binning and signal cuts (NUISANCE's), the LE flux, the templates
against per-event reweighting, and the prediction at the MicroBooNE tune against the MINERvA data (issue 15 item 3)."""

from __future__ import annotations

import numpy as np
import pytest

from nutune import minerva_cc0pi_2d as mc
from nutune.simulator.binning import (
    MINERVA_MEASUREMENT,
    SIMULATED_MEASUREMENTS,
    T2K_MEASUREMENT,
    InvalidBinsError,
    load_measurement_binning,
    load_minerva_binning,
)
from nutune.simulator.flux import load_flux, load_measurement_flux, load_minerva_flux


# --- binning and signal cuts ----------------------------------------------------------------------------------------
def test_simulated_measurements_are_registry_names():
    from nutune.measurements import MEASUREMENTS

    assert set(SIMULATED_MEASUREMENTS) <= set(MEASUREMENTS)
    assert {name for name, spec in MEASUREMENTS.items() if spec.builtin} == set(SIMULATED_MEASUREMENTS)


def test_minerva_binning_is_nuisances_signal_and_histogram_on_random_muons():
    """assign = θ_μ < 20° (isCC0pi_MINERvAPTPZ) and the populated TH2D bin of (p_||, p_T), else −1."""
    b = load_minerva_binning()
    m = mc.load()
    gen = np.random.default_rng(1)
    p = gen.uniform(0.0, 25.0, 200_000)
    cos = np.cos(np.radians(gen.uniform(0.0, 40.0, p.size)))
    got = b.assign(p, cos)
    p_t, p_pl = mc.pt_pl(p, cos)
    flat = mc.bin_index(p_pl, p_t)
    sig = mc.signal(p, cos)
    expected = np.where(sig & (flat >= 0), flat, -1)
    expected = np.where(expected >= 0, np.where(m.mask[expected], np.cumsum(m.mask)[expected] - 1, -1), -1)
    np.testing.assert_array_equal(got, expected)
    assert b.n_bins == mc.N_POPULATED == 144 and got.max() == 143
    assert 0.1 < np.mean(got >= 0) < 0.9
    np.testing.assert_allclose(b.area, m.areas[m.mask], rtol=0, atol=0)


def test_minerva_binning_edges_angle_cut_and_empty_bins():
    b = load_minerva_binning()
    cos20 = np.cos(np.radians(20.0))
    # θ: 19.99° in, 20.01° out; p_||: 1.5 in (ROOT's [lo, hi)), 20 out; p_T 2.5 out (overflow); an empty bin out
    just_in, just_out = np.cos(np.radians(19.99)), np.cos(np.radians(20.01))
    assert b.assign(np.array([3.0]), np.array([just_in]))[0] >= 0
    assert b.assign(np.array([3.0]), np.array([just_out]))[0] == -1
    assert b.assign(np.array([8.0]), np.array([cos20 - 1e-9]))[0] == -1
    assert b.assign(np.array([1.5]), np.array([1.0]))[0] == 0  # p_|| = 1.5, p_T = 0: the first bin
    assert b.assign(np.array([20.0]), np.array([1.0]))[0] == -1  # p_|| = 20: overflow
    assert b.assign(np.array([1.4999]), np.array([1.0]))[0] == -1  # underflow
    # the empty bins: high p_T at low p_|| (e.g. p_|| in [1.5, 2), p_T in [1.5, 2.5) needs θ > 20° anyway)
    empty = np.flatnonzero(~mc.load().mask)
    assert empty.size == 12
    i_pt, i_pl = np.divmod(empty[0], mc.N_PL)
    pl = 0.5 * (mc.P_PL_EDGES[i_pl] + mc.P_PL_EDGES[i_pl + 1])
    pt = 0.5 * (mc.P_T_EDGES[i_pt] + mc.P_T_EDGES[i_pt + 1])
    assert b.assign(np.array([np.hypot(pl, pt)]), np.array([pl / np.hypot(pl, pt)]))[0] == -1
    assert load_measurement_binning(MINERVA_MEASUREMENT) is b
    with pytest.raises(InvalidBinsError, match="144"):
        b.columns(58)
    with pytest.raises(InvalidBinsError, match="produces"):
        load_measurement_binning("minerva_cc0pi_me")


def test_t2k_binning_is_unchanged_by_the_measurement_api():
    t2k = load_measurement_binning(T2K_MEASUREMENT)
    assert t2k.n_bins == 67 and t2k.bin_choices == (58, 67)
    np.testing.assert_array_equal(t2k.columns(58), t2k.idx58)
    np.testing.assert_array_equal(t2k.columns(67), np.arange(67))


# --- the LE flux ----------------------------------------------------------------------------------------------------
def test_minerva_flux_is_the_whole_le_file_normalised():
    """0–100 GeV (NUISANCE SetEnuRange(0, 100), the file's range), rate ∝ the per-0.5-GeV contents, Σ = 1."""
    f = load_minerva_flux()
    m = mc.load()
    assert f.edges[0] == 0.0 and f.edges[-1] == 100.0 and f.rate.size == 200
    assert f.rate.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(f.rate, m.flux_numu / m.flux_numu.sum(), rtol=1e-14)
    assert f.mean_energy == pytest.approx(m.flux_mean_energy(), rel=1e-12)
    assert f.mean_energy == pytest.approx(4.373, abs=1e-3)
    centres = 0.5 * (f.edges[1:] + f.edges[:-1])
    assert 3.0 < centres[np.argmax(f.rate)] < 3.5  # the LE peak
    assert 0.015 < f.rate[centres > 20.0].sum() < 0.02  # the tail beyond the histogram's p_|| range
    # the pdf integrates to 1 (what sample_energy's importance weights average against)
    assert np.sum(f.pdf(centres) * np.diff(f.edges)) == pytest.approx(1.0, abs=1e-12)


def test_measurement_flux_dispatch_keeps_t2k():
    t2k = load_measurement_flux(T2K_MEASUREMENT)
    ref = load_flux()
    np.testing.assert_array_equal(t2k.edges, ref.edges)
    np.testing.assert_array_equal(t2k.rate, ref.rate)
    assert load_measurement_flux(MINERVA_MEASUREMENT).edges[-1] == 100.0


# --- templates vs per-event reweighting (small sample) --------------------------------------------------------------
N_SMALL = 20_000
SEED = 20240601
ELEVEN = ("MaCCQE", "NormCCMEC", "XSecShape_CCMEC", "RPA_CCQE", "CCQEPauliSupViaKF", "MaCCRES", "MvCCRES", "MFP_pi",
          "FrCEx_pi", "FrInel_pi", "FrPiProd_pi")


@pytest.fixture(scope="module")
def sample():
    from nutune.simulator.templates import build_base_sample

    return build_base_sample("nominal", SEED, N_SMALL, measurement=MINERVA_MEASUREMENT)


@pytest.fixture(scope="module")
def templates(sample):
    from nutune.simulator.templates import build_templates

    return build_templates("nominal", sample_seed=SEED, n_events=N_SMALL, sample=sample,
                           measurement=MINERVA_MEASUREMENT)


@pytest.mark.slow
def test_minerva_sample_is_minervas_flux_binning_and_signal(sample):
    b = load_minerva_binning()
    for channel in (sample.qe, sample.mec, sample.res):
        assert channel.bin67.min() >= 0 and channel.bin67.max() < b.n_bins
        np.testing.assert_array_equal(channel.bin67, b.assign(channel.p_mu, channel.cos_mu))
        assert np.all(np.degrees(np.arccos(channel.cos_mu)) < 20.0)
        assert channel.enu.max() < 30.0  # below every energy table (events.TABLE_E_MAX)
    # the energies are the LE flux's: well above T2K's (⟨E⟩ of kept QE events 3–5 GeV)
    assert 2.5 < np.average(sample.qe.enu, weights=sample.qe.w_nom) < 6.0
    # its own random streams (T2K's keys unchanged), so the two samples' MC noise is independent
    from nutune.io import rng
    from nutune.simulator.templates import _streams

    assert _streams(T2K_MEASUREMENT) == ("simulator",)
    assert rng(SEED, *_streams(MINERVA_MEASUREMENT), "qe").random() != rng(SEED, "simulator", "qe").random()


@pytest.mark.slow
def test_minerva_templates_equal_per_event_reweighting_four_dials(sample, templates):
    from nutune.simulator.templates import reweight_histogram

    s_exact = templates.metadata["rpa_exact_max_strength"]
    gen = np.random.default_rng(4)
    rows = np.column_stack([gen.uniform(0.5287, 1.3938, 8), gen.uniform(0, 3, 8), gen.uniform(0, 1, 8),
                            gen.uniform(0, min(1.5, s_exact), 8)])
    rows[0] = [1.10479, 1.65595, 1.0, 0.849]  # the MicroBooNE tune
    fast = templates.evaluate(rows)
    assert fast.shape == (8, 144) and templates.default_bins == 144
    np.testing.assert_array_equal(fast, templates.evaluate(rows, bins=144))
    for row, h in zip(rows, fast, strict=True):
        direct = reweight_histogram(sample, row)
        assert direct.shape == (144,)
        np.testing.assert_allclose(h, direct, rtol=1e-6, atol=1e-9 * direct.max())
    # the single-call fast path is the batched one
    np.testing.assert_allclose(templates.evaluate(rows[0]), fast[:1], rtol=1e-12)
    with pytest.raises(InvalidBinsError, match="144"):
        templates.evaluate(rows, bins=58)


@pytest.mark.slow
def test_minerva_templates_equal_per_event_reweighting_eleven_dials_and_torch(sample, templates):
    import torch

    from nutune.simulator.templates import reweight_histogram

    rows = np.array([[1.02, 1.4, 0.3, 0.9, 1.45, 1.31, 0.77, 0.63, 0.8, 1.05, 0.9],
                     [0.71, 0.6, 0.8, 0.2, 1.9, 0.5, 1.2, 2.0, 1.1, 0.6, 0.5],
                     [1.10479, 1.65595, 1.0, 0.849, 1.0, 1.065047, 0.84, 1.0, 1.0, 1.0, 1.0]])
    fast = templates.evaluate(rows, names=ELEVEN)
    for row, h in zip(rows, fast, strict=True):
        direct = reweight_histogram(sample, row, ELEVEN)
        np.testing.assert_allclose(h, direct, rtol=1e-6, atol=1e-9 * direct.max())
    # the rest at nominal = the four-dial path (exact B), to the joint RES response's compression error
    np.testing.assert_allclose(fast[2], templates.evaluate(rows[2, :4])[0], rtol=1e-6)
    theta = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
    out = templates.evaluate_torch(theta, names=ELEVEN)
    np.testing.assert_allclose(out.detach().numpy(), fast, rtol=1e-10, atol=1e-15)
    out.sum().backward()
    assert torch.all(torch.isfinite(theta.grad))
    assert templates.metadata["res_response"]["max_error"] < 1e-6


@pytest.mark.slow
def test_minerva_integral_is_the_flux_averaged_signal_sigma(sample, templates):
    """Σ H·area over the 144 bins = Σ w of the kept events (per CH nucleon, flux-averaged over 0–100 GeV)."""
    nominal = templates.evaluate([0.961242, 1.0, 0.0, 1.0])[0]
    sigma = sample.qe.w_nom.sum() + sample.mec.w_v.sum() + sample.res.w.sum()
    assert float(nominal @ templates.area) == pytest.approx(sigma, rel=1e-9)
    assert 0.2 < sigma < 0.8  # 1e-38 cm²/nucleon in the measured phase space (data: 0.464)


@pytest.mark.slow
def test_public_simulate_gives_minerva_and_t2k_from_one_theta(monkeypatch, templates):
    """``nutune.simulate(theta, measurement=...)``: one θ, both measurements' histograms; T2K stays the default."""
    import nutune
    import nutune.simulator as sim

    calls = []

    def fake_get_templates(variant, *, sample_seed, n_events, measurement):
        calls.append((variant, sample_seed, n_events, measurement))
        return templates

    monkeypatch.setattr(sim, "get_templates", fake_get_templates)
    theta = np.array([[1.10479, 1.65595, 1.0, 0.849], [0.9, 0.5, 0.0, 1.2]])
    out = nutune.simulate(theta, measurement=MINERVA_MEASUREMENT)
    assert out.shape == (2, 144) and np.all(out >= 0) and out.sum() > 0
    np.testing.assert_array_equal(out, templates.evaluate(theta))
    assert calls == [("nominal", sim.DEFAULT_SAMPLE_SEED, sim.DEFAULT_N_EVENTS, MINERVA_MEASUREMENT)]
    with pytest.raises(InvalidBinsError, match="144"):
        nutune.simulate(theta, measurement=MINERVA_MEASUREMENT, bins=58)
    with pytest.raises(InvalidBinsError, match="produces"):
        nutune.simulate(theta, measurement="minerva_cc0pi_2d_me")
    import inspect

    assert inspect.signature(nutune.simulate).parameters["measurement"].default == T2K_MEASUREMENT


def test_minerva_templates_are_cached_apart_from_t2k(tmp_path):
    from nutune.simulator.templates import cache_key

    k_t2k, ing_t2k = cache_key("nominal", SEED, N_SMALL)
    k_mn, ing_mn = cache_key("nominal", SEED, N_SMALL, MINERVA_MEASUREMENT)
    assert k_t2k != k_mn and "measurement" not in ing_t2k and ing_mn["measurement"] == MINERVA_MEASUREMENT
    assert "minerva_cc0pi_2d_le/minerva_le_flux.root" in ing_mn["resources"]
    assert "flux/t2k_nd280_flux.npz" in ing_t2k["resources"]


@pytest.mark.slow
def test_prediction_at_the_microboone_tune_vs_the_minerva_data(templates):
    """Physics sanity, nothing fitted or rescaled: the builtin at the MicroBooNE tune (T2K-tuned) against the MINERvA
    data with its total covariance. Measured with the default 1e6-event templates (README): χ²_FULL = 552.8 /
    144 bins, DIAG 457.2, integral ratio 1.097 (GENIE nominal: 0.875, χ²_FULL 360.5). Here, on 2e4 events (MC
    noise of several per cent per bin), only the bands."""
    from nutune.chi2 import chi2
    from nutune.measurements import get

    data = get(MINERVA_MEASUREMENT).load()
    tune = templates.evaluate([1.10479, 1.65595, 1.0, 0.849])[0]
    ratio = float(tune @ data.areas / (data.values @ data.areas))
    assert 1.0 < ratio < 1.2
    # the χ² of so few events is dominated by their MC noise against the strongly correlated covariance (2.5e3 here);
    # it is finite, and the shape follows the data's bin for bin
    assert np.isfinite(chi2(tune, data.values, data.cov_total, "FULL", areas=data.areas))
    assert np.corrcoef(tune, data.values)[0, 1] > 0.95
    # the GENIE nominal lies below the data and below the tune (less 2p2h, M_A 0.96)
    nominal = templates.evaluate([0.961242, 1.0, 0.0, 1.0])[0]
    assert 0.8 < float(nominal @ data.areas / (data.values @ data.areas)) < ratio


@pytest.mark.slow
def test_minerva_twelve_dials_with_the_res_shape_mode_equal_per_event_reweighting(sample, templates):
    """The twelve of config/dials12.yaml (RES in GENIE's shape mode) on MINERvA: the shape-mode response is built on
    first use from the kept sample, ≤ 1e-6 against GENIE's per-event weights (measured 1.7e-8)."""
    from nutune.simulator.templates import reweight_histogram

    names = ("MaCCQE", "NormCCMEC", "XSecShape_CCMEC", "RPA_CCQE", "NormCCRES", "MaCCRESshape", "MvCCRESshape",
             "MFP_pi", "FrCEx_pi", "FrInel_pi", "FrPiProd_pi", "CCQEPauliSupViaKF")
    rows = np.array([[1.02, 1.4, 0.3, 0.9, 1.3, 1.45, 0.7, 0.8, 0.8, 1.05, 0.9, 1.3],
                     [0.8, 0.6, 0.8, 0.2, 0.7, 0.6, 1.1, 1.5, 1.1, 0.6, 0.5, 0.5]])
    fast = templates.evaluate(rows, names=names)
    assert fast.shape == (2, 144)
    for row, h in zip(rows, fast, strict=True):
        direct = reweight_histogram(sample, row, names)
        np.testing.assert_allclose(h, direct, rtol=1e-6, atol=1e-9 * direct.max())
    assert templates.metadata["res_shape_response"]["max_error"] < 1e-7
