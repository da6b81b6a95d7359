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
