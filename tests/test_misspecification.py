"""nutune.misspecification: the posterior-predictive p-value, the verdict and the tests on a tiny trained network."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nutune.misspecification import (
    misspecification_row,
    misspecified_flags,
    mmd_tests,
    posterior_predictive_check,
)


@pytest.fixture(scope="module")
def tiny_trained_posterior():
    """A small NPE trained on the linear-Gaussian problem of test_npe, and a fresh draw of its simulations."""
    from test_npe import HIGH, LOW, linear_gaussian, tiny_settings  # tests/ is on sys.path (rootdir conftest)

    from nutune.npe import NutunePosterior, train_npe

    theta, x = linear_gaussian(1500, seed=0)
    trained = train_npe(theta, x, prior_low=LOW, prior_high=HIGH, settings=tiny_settings(max_num_epochs=20), seed=7)
    return NutunePosterior.from_trained(trained), linear_gaussian(300, seed=5)[1]


def test_posterior_predictive_pvalue_is_calibrated_for_a_true_gaussian_model() -> None:
    """Data drawn from the model at the truth: p ~ U(0, 1); data shifted by 5 sigma in every bin: p ~ 0."""
    rng = np.random.default_rng(3)
    bins = 10
    cov = np.diag(np.full(bins, 0.04))
    mean = np.linspace(1.0, 2.0, bins)

    def predict(theta):
        return mean[None, :] * theta[:, :1]

    samples = np.ones((50, 1))
    pvalues = [posterior_predictive_check(samples, mean + rng.normal(0, 0.2, bins), predict, cov, draws=50)["ppc_pvalue"]
               for _ in range(400)]
    assert abs(np.mean(pvalues) - 0.5) < 0.05 and abs(np.mean(np.array(pvalues) < 0.05) - 0.05) < 0.03
    far = posterior_predictive_check(samples, mean + 1.0, predict, cov, draws=50)
    assert far["ppc_pvalue"] < 1e-6 and far["ppc_chi2_median"] == pytest.approx(bins * 25)


def test_verdict_lists_every_failed_test(tmp_path) -> None:
    numbers = {"mmd_x": 0.1, "mmd_x_pvalue": 0.3, "ppc_chi2_median": 100.0, "ppc_pvalue": 0.001,
               "logprob": 5.0, "logprob_pvalue": 0.01}
    row = misspecification_row("t2k", numbers, alpha=0.05, bins=58)
    assert row["misspecified"] and row["failed"] == "logprob ppc"
    ok = misspecification_row("mock", {"mmd_x_pvalue": 0.5, "ppc_pvalue": 0.9}, alpha=0.05, bins=58)
    assert not ok["misspecified"] and ok["failed"] == ""
    for name, r in (("a", row), ("b", ok)):
        pd.DataFrame([r]).to_csv(tmp_path / f"{name}.csv", index=False)
    flags = misspecified_flags([str(tmp_path / "a.csv"), str(tmp_path / "b.csv")])
    assert flags == {"t2k": "yes (logprob ppc)", "mock": "no"}
    assert misspecified_flags(None) == {}


def test_mmd_flags_an_input_far_from_the_simulations(tiny_trained_posterior) -> None:
    """On a trained network: a simulation from the bank passes the MMD tests; a histogram 5x as large fails."""
    posterior, x_bank = tiny_trained_posterior
    inside = mmd_tests(posterior, x_bank[0], x_bank[1:], n_shuffle=200, seed=1)
    outside = mmd_tests(posterior, 5.0 * x_bank[0], x_bank[1:], n_shuffle=200, seed=1)
    assert inside["mmd_x_pvalue"] > 0.05 and inside["mmd_embedding_pvalue"] > 0.05
    assert outside["mmd_x_pvalue"] < 0.05 and outside["mmd_embedding_pvalue"] < 0.05
    assert outside["mmd_x"] > inside["mmd_x"]


def test_marginal_flow_saved_once_is_the_trained_flow(tiny_trained_posterior, tmp_path) -> None:
    """Rule marginal_flow trains p(x) once and every observation's job loads it: the loaded flow gives the trained
    flow's log-probabilities and log-prob test bit for bit; a file that is not one is refused."""
    import torch
    from safetensors.torch import save_file

    from nutune.misspecification import load_marginal, logprob_test, save_marginal, train_marginal

    posterior, x_bank = tiny_trained_posterior
    marginal = train_marginal(posterior, x_bank[:250], seed=3, max_num_epochs=5)
    save_marginal(marginal, tmp_path / "marginal.safetensors")
    loaded = load_marginal(tmp_path / "marginal.safetensors")
    z = posterior.transform_x(x_bank[250:])
    with torch.no_grad():
        assert torch.equal(marginal.log_prob(z), loaded.log_prob(z))
    assert logprob_test(posterior, loaded, x_bank[260], x_bank[250:]) == logprob_test(
        posterior, marginal, x_bank[260], x_bank[250:])
    save_file({"w": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ValueError, match="not a nutune marginal flow"):
        load_marginal(tmp_path / "other.safetensors")
