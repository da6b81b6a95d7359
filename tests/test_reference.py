"""Tests for nutune.reference: emcee reference posteriors on a linear-Gaussian toy with a known posterior."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pytest

from nutune.io import rng
from nutune.reference import (
    ReferenceResult,
    gaussian_log_posterior,
    load_references,
    make_mock_observations,
    reference_c2st,
    reference_c2st_table,
    sample_reference,
    sample_references,
    write_reference_samples,
)

BINS = 6
LOWER = np.array([-5.0, -5.0, -5.0, -5.0])
UPPER = np.array([5.0, 5.0, 5.0, 5.0])


def _linear_problem():
    g = rng(7, "test", "linear")
    a = g.normal(size=(BINS, 4))
    b = np.linspace(1.0, 2.0, BINS)
    cov = np.diag(np.full(BINS, 0.2**2)) + 0.01
    return a, b, cov


def _analytic_posterior(a, b, cov, x):
    """Posterior of x = A θ + b + ε under a flat prior (the box is far wider than the posterior)."""
    prec = a.T @ np.linalg.solve(cov, a)
    post_cov = np.linalg.inv(prec)
    mean = post_cov @ a.T @ np.linalg.solve(cov, x - b)
    return mean, post_cov


def test_log_posterior_matches_gaussian_and_box():
    a, b, cov = _linear_problem()
    calls = []

    def sim(t):
        calls.append(len(t))
        return t @ a.T + b

    x = b + 0.1
    lp = gaussian_log_posterior(sim, x, cov, LOWER, UPPER)
    theta = np.array([[0.1, 0.2, -0.3, 0.4], [0.0, 0.0, 0.0, 9.0]])
    out = lp(theta)
    r = theta[0] @ a.T + b - x
    assert out[0] == pytest.approx(-0.5 * r @ np.linalg.solve(cov, r), rel=1e-10)
    assert out[1] == -np.inf  # outside the box
    assert calls == [1]  # batched, only in-box rows simulated


def test_sample_reference_recovers_analytic_posterior():
    a, b, cov = _linear_problem()
    theta_true = np.array([0.5, -0.3, 0.2, 0.1])
    x = theta_true @ a.T + b
    with pytest.warns(RuntimeWarning, match="chain too short"):  # 800 steps < 50 tau: honest warning
        res = sample_reference(lambda t: t @ a.T + b, x, cov, LOWER, UPPER, seed=11,
                               n_walkers=16, n_steps=1000, burn_in=200)
    mean, post_cov = _analytic_posterior(a, b, cov, x)
    sd = np.sqrt(np.diag(post_cov))
    assert res.samples.shape[1] == 4 and len(res.samples) > 200
    np.testing.assert_allclose(res.samples.mean(0), mean, atol=0.25 * sd.max())
    np.testing.assert_allclose(res.samples.std(0), sd, rtol=0.25)
    assert np.all(np.isfinite(res.tau)) and np.all(res.tau > 1)
    assert 0.15 < res.acceptance < 0.7
    # C2ST against exact samples is near chance, against shifted samples near 1
    exact = rng(3, "exact").multivariate_normal(mean, post_cov, size=len(res.samples))
    assert reference_c2st(exact, res.samples, seed=1, n_max=400) < 0.6
    assert reference_c2st(exact + 3 * sd, res.samples, seed=1, n_max=400) > 0.9


def test_differential_evolution_moves_recover_the_posterior_and_mix_faster():
    """reference.moves: de (DEMove + DESnookerMove) samples the same posterior with a shorter autocorrelation
    time than the stretch move on a correlated linear-Gaussian problem; an unknown name is refused."""
    a, b, cov = _linear_problem()
    x = np.array([0.5, -0.3, 0.2, 0.1]) @ a.T + b
    taus = {}
    for moves in ("stretch", "de"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = sample_reference(lambda t: t @ a.T + b, x, cov, LOWER, UPPER, seed=11, n_walkers=16,
                                   n_steps=1500, burn_in=300, moves=moves)
        taus[moves] = res.tau.mean()
    mean, post_cov = _analytic_posterior(a, b, cov, x)
    sd = np.sqrt(np.diag(post_cov))
    np.testing.assert_allclose(res.samples.mean(0), mean, atol=0.25 * sd.max())
    np.testing.assert_allclose(res.samples.std(0), sd, rtol=0.25)
    assert taus["de"] < taus["stretch"], taus
    with pytest.raises(ValueError, match="allowed: stretch, de"):
        sample_reference(lambda t: t @ a.T + b, x, cov, LOWER, UPPER, seed=1, n_walkers=8, n_steps=20,
                         burn_in=5, moves="slice")


def test_short_chain_warns_and_is_recorded(tmp_path):
    a, b, cov = _linear_problem()
    x = b + 0.2
    with pytest.warns(RuntimeWarning, match="not converged"):
        res = sample_reference(lambda t: t @ a.T + b, x, cov, LOWER, UPPER, seed=2,
                               n_walkers=8, n_steps=60, burn_in=10)
    assert not res.converged
    with pytest.warns(RuntimeWarning):  # reproducible from the seed, different for another seed
        same = sample_reference(lambda t: t @ a.T + b, x, cov, LOWER, UPPER, seed=2,
                                n_walkers=8, n_steps=60, burn_in=10)
        other = sample_reference(lambda t: t @ a.T + b, x, cov, LOWER, UPPER, seed=3,
                                 n_walkers=8, n_steps=60, burn_in=10)
    np.testing.assert_array_equal(res.samples, same.samples)
    assert not np.array_equal(res.samples, other.samples)
    assert any("chain too short" in m for m in res.messages)
    res.save(tmp_path / "r.npz")
    back = ReferenceResult.load(tmp_path / "r.npz")
    np.testing.assert_array_equal(back.samples, res.samples)
    assert back.messages == res.messages and back.converged is False


def test_c2st_requires_matching_shapes():
    with pytest.raises(ValueError, match="same d"):
        reference_c2st(np.zeros((20, 4)), np.zeros((20, 3)), seed=0)


def test_reference_table_and_figure(tmp_path, caplog):
    a, b, cov = _linear_problem()

    def sim(t):
        return t @ a.T + b

    theta, xs = make_mock_observations(sim, cov, LOWER / 5, UPPER / 5, n_mock=2, seed=5)
    assert theta.shape == (2, 4) and xs.shape == (2, BINS)
    assert np.all(np.abs(xs - sim(theta)) > 0)  # noise added
    obs = {f"mock_{i}": xs[i] for i in range(2)}

    def exact_sampler(x, n, seed):  # a perfect "NPE": the analytic posterior
        mean, post_cov = _analytic_posterior(a, b, cov, x)
        return rng(seed, "fake_npe").multivariate_normal(mean, post_cov, size=n)

    truths = {k: theta[i] for i, k in enumerate(obs)}
    with pytest.warns(RuntimeWarning):  # short chains
        refs = sample_references(obs, sim, cov, LOWER, UPPER, seed=9, n_walkers=12, n_steps=500, burn_in=100,
                                 reference_dir=tmp_path / "refs")
    # the rule reference_posteriors writes them, rule reference_c2st reads them back: the same results
    write_reference_samples(tmp_path / "refs.npz", obs, refs, {"mock_1": truths["mock_1"]})
    obs_back, refs_back, truths_back = load_references(tmp_path / "refs.npz")
    assert list(obs_back) == list(obs) and list(truths_back) == ["mock_1"]
    np.testing.assert_array_equal(truths_back["mock_1"], truths["mock_1"])
    for name in obs:
        np.testing.assert_array_equal(obs_back[name], obs[name])
        assert refs_back[name].arrays().keys() == refs[name].arrays().keys()
        for key, value in refs[name].arrays().items():
            np.testing.assert_array_equal(refs_back[name].arrays()[key], value)
    with caplog.at_level("INFO", logger="nutune.reference"):
        rows, _ = reference_c2st_table(
            refs_back, exact_sampler, obs_back, seed=9, n_npe_samples=600, c2st_n_max=300,
            out_csv=tmp_path / "t.csv", out_figure=tmp_path / "f.pdf", truths=truths,
        )
    df = pd.read_csv(tmp_path / "t.csv")
    assert list(df["observation"]) == ["mock_0", "mock_1", "mean"]
    assert df["c2st"].iloc[-1] == pytest.approx(df["c2st"].iloc[:2].mean())
    assert df["c2st"].iloc[-1] < 0.65
    assert {"tau_MaCCQE", "MaCCQE_npe_mean", "RPA_CCQE_ref_std", "acceptance"} <= set(df.columns)
    assert (tmp_path / "f.pdf").stat().st_size > 0 and (tmp_path / "f.png").stat().st_size > 0
    assert (tmp_path / "refs" / "mock_1.npz").exists()
    # one warning for the table, naming the unconverged observations, not one per observation
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    unconverged = [str(name) for name, ok in zip(df["observation"][:2], df["converged"][:2], strict=True) if not ok]
    assert unconverged  # 500-step chains (the RuntimeWarning above)
    assert [message for message in warned if "not converged" in message] == [
        f"reference posteriors not converged for {len(unconverged)} of 2 observations ({', '.join(unconverged)}); "
        "the C2ST against them is indicative only: increase reference.n_steps"]
