"""The χ²-mode noise models (nutune.noise.LikelihoodNoise) and the likelihood_modes table / target."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nutune.chi2 import Chi2, norm_shape_covariance, norm_shape_transform
from nutune.config import load_config
from nutune.likelihood_modes import TABLE_COLUMNS
from nutune.noise import NOISE_MODELS, LikelihoodNoise, covariance_noise
from nutune.resources import load_t2k

REPO = Path(__file__).resolve().parents[1]

N_DRAWS = 40000


@pytest.fixture(scope="module")
def t2k():
    return load_t2k(58)


def models(m):
    return {mode: LikelihoodNoise.for_mode(mode, m.values, m.cov_total, areas=m.areas,
                                           cov_norm=m.cov_norm if mode == "SHAPE" else None)
            for mode in NOISE_MODELS}


def rel_cov_error(sample_cov: np.ndarray, expected: np.ndarray) -> float:
    """max |sample − expected| over the entries, relative to the largest diagonal element."""
    return float(np.max(np.abs(sample_cov - expected)) / np.max(np.diag(expected)))


def test_full_is_exactly_the_covariance_sampler(t2k) -> None:
    """FULL draws the same numbers as covariance_noise (the committed noise-aware network and throws)."""
    s = np.tile(t2k.values * 0.7, (50, 1))
    full = models(t2k)["FULL"].sample(np.random.default_rng(5), s, method="eigh")
    plain = s + covariance_noise(np.random.default_rng(5), t2k.cov_total, 50, method="eigh")
    np.testing.assert_array_equal(full, plain)


@pytest.mark.parametrize("mode", NOISE_MODELS)
def test_sampler_moments_match_the_covariance_it_implies(t2k, mode) -> None:
    """Mean and covariance of N_DRAWS draws around a prediction s = 0.6 × data against the model's own moments."""
    model = models(t2k)[mode]
    s = 0.6 * t2k.values
    draws = model.sample(np.random.default_rng(11), np.tile(s, (N_DRAWS, 1)))
    if mode == "NORMSHAPE":  # Gaussian in y = (fractions, N): exact moments there
        y = norm_shape_transform(draws)
        expected_cov = norm_shape_covariance(t2k.cov_total, t2k.values)
        np.testing.assert_allclose(model.draw_cov, expected_cov)
        sd = np.sqrt(np.diag(expected_cov))
        assert np.max(np.abs(y.mean(0) - norm_shape_transform(s)) / sd) < 5 / np.sqrt(N_DRAWS) * 1.5
        assert rel_cov_error(np.cov(y.T), expected_cov) < 0.03
        # the normalisation is thrown with its variance 1ᵀC1, absolute (not relative to s)
        assert np.std(draws.sum(1)) == pytest.approx(np.sqrt(t2k.cov_total.sum()), rel=0.02)
        return
    mean = s * (t2k.values @ t2k.areas / (s @ t2k.areas)) if mode == "SHAPE" else s
    sd = np.sqrt(np.diag(model.draw_cov))
    keep = sd > 0
    assert np.max(np.abs(draws.mean(0) - mean)[keep] / sd[keep]) < 5 / np.sqrt(N_DRAWS) * 1.5
    assert rel_cov_error(np.cov(draws.T), model.linear_covariance(s)) < 0.03
    if mode == "DIAG":
        np.testing.assert_array_equal(model.draw_cov, np.diag(np.diag(t2k.cov_total)))
    if mode == "SHAPE":  # every draw has the data's area; the covariance is C_s conditioned on a·ε = 0
        np.testing.assert_allclose(draws @ t2k.areas, t2k.values @ t2k.areas, rtol=1e-7)
        c_s = t2k.cov_total - t2k.cov_norm
        np.testing.assert_allclose(model.draw_cov @ t2k.areas, 0.0, atol=1e-12 * np.max(c_s))


def test_normshape_linearises_to_the_full_covariance_at_the_data(t2k) -> None:
    """J⁻¹ C_NS J⁻ᵀ = C at the data: NORMSHAPE throws of the data agree with FULL ones to first order."""
    model = models(t2k)["NORMSHAPE"]
    np.testing.assert_allclose(model.linear_covariance(t2k.values), t2k.cov_total, rtol=1e-8,
                               atol=1e-10 * np.max(t2k.cov_total))
    small = LikelihoodNoise.for_mode("NORMSHAPE", t2k.values, 1e-6 * t2k.cov_total)
    draws = small.sample(np.random.default_rng(2), np.tile(t2k.values, (N_DRAWS, 1)))
    assert rel_cov_error(np.cov(draws.T), 1e-6 * t2k.cov_total) < 0.03


@pytest.mark.parametrize("mode", NOISE_MODELS)
def test_log_density_of_the_data_is_half_the_chi2_up_to_a_constant(t2k, mode) -> None:
    """The derivation in nutune.noise: −2 log p(data | s) − χ²_mode(s, data) does not depend on the prediction s
    (the Gaussian's quadratic form in the model's own coordinates, x for FULL / DIAG / SHAPE, y(x) for NORMSHAPE)."""
    model = models(t2k)[mode]
    chi = Chi2(t2k.values, t2k.cov_total, mode, areas=t2k.areas, cov_norm=t2k.cov_norm if mode == "SHAPE" else None)
    c = t2k.cov_total - t2k.cov_norm if mode == "SHAPE" else model.draw_cov  # SHAPE: C_s on the hyperplane
    prec = np.linalg.inv(c)
    diffs = []
    for scale in (0.5, 0.8, 1.1):
        s = scale * t2k.values * (1 + 0.1 * np.sin(np.arange(58)))
        if mode == "NORMSHAPE":
            r = norm_shape_transform(t2k.values) - norm_shape_transform(s)
        else:
            r = t2k.values - (s * (t2k.values @ t2k.areas / (s @ t2k.areas)) if mode == "SHAPE" else s)
        diffs.append(r @ prec @ r - chi(s))
    np.testing.assert_allclose(diffs, 0.0, atol=1e-6)


@pytest.fixture(scope="module")
def joint():
    from nutune.measurements import get

    return get("t2k_cc0pi_2016_anaI+minerva_cc0pi_2d_le").load(202)


def joint_model(m, mode):
    return LikelihoodNoise.for_mode(mode, m.values, m.cov_total, areas=m.areas,
                                    cov_norm=m.cov_norm if mode == "SHAPE" else None, parts=m.parts)


@pytest.mark.parametrize("mode", ["SHAPE", "NORMSHAPE"])
def test_joint_noise_is_each_experiments_own_model(joint, mode) -> None:
    """A joint measurement's SHAPE / NORMSHAPE noise: each experiment's model on its block, drawn in vector order
    from one generator (the same numbers as drawing the parts one after the other), each experiment keeping its
    own normalisation (SHAPE: every draw has each experiment's data area)."""
    model = joint_model(joint, mode)
    s = np.tile(0.8 * joint.values, (300, 1))
    draws = model.sample(np.random.default_rng(3), s)
    g = np.random.default_rng(3)
    linear = model.linear_covariance(joint.values)
    for name, rows in joint.parts.items():
        part = joint.part_data[name]
        alone = LikelihoodNoise.for_mode(mode, part.values, part.cov_total, areas=part.areas,
                                         cov_norm=part.cov_norm if mode == "SHAPE" else None)
        np.testing.assert_array_equal(draws[:, rows], alone.sample(g, s[:, rows]))
        np.testing.assert_array_equal(linear[rows, rows], alone.linear_covariance(part.values))
        if mode == "SHAPE":
            np.testing.assert_allclose(draws[:, rows] @ part.areas, part.values @ part.areas, rtol=1e-7)
    assert model.draw_cov.shape == (202, 202) and not np.any(model.draw_cov[:58, 58:])
    assert not np.any(linear[:58, 58:])


def test_joint_normshape_chi2_of_its_draws_is_chi2_distributed(joint) -> None:
    """−2 log p of the joint NORMSHAPE model is Σ_e χ²_NS,e (nutune.noise): draws around the data have the joint
    Chi2(NORMSHAPE, parts) of the prediction (= the data) distributed as χ² with 202 degrees of freedom
    (mean 202, variance 404); a single-block model would mix the experiments' normalisations."""
    model = joint_model(joint, "NORMSHAPE")
    draws = model.sample(np.random.default_rng(8), np.tile(joint.values, (4000, 1)))
    at_data = Chi2(joint.values, joint.cov_total, "NORMSHAPE", parts=joint.parts)(draws)
    assert abs(at_data.mean() - 202) < 4 * np.sqrt(404 / len(draws))
    assert abs(at_data.var() / 404 - 1) < 0.15


def test_joint_noise_refuses_correlated_parts(joint) -> None:
    cov = joint.cov_total.copy()
    cov[0, 100] = cov[100, 0] = 1e-6 * np.sqrt(cov[0, 0] * cov[100, 100])
    with pytest.raises(ValueError, match="correlates bins of different parts"):
        LikelihoodNoise.for_mode("NORMSHAPE", joint.values, cov, parts=joint.parts)
    with pytest.raises(ValueError, match="cover each of the 202 bins"):
        LikelihoodNoise.for_mode("NORMSHAPE", joint.values, joint.cov_total,
                                 parts={"a": slice(0, 58), "b": slice(50, 202)})


def test_bad_input_is_refused_with_a_clear_error(t2k) -> None:
    with pytest.raises(ValueError, match="allowed: FULL, DIAG, SHAPE, NORMSHAPE"):
        LikelihoodNoise.for_mode("POISSON", t2k.values, t2k.cov_total)
    with pytest.raises(ValueError, match="areas"):
        LikelihoodNoise.for_mode("SHAPE", t2k.values, t2k.cov_total)
    with pytest.raises(ValueError, match="positive semi-definite"):
        LikelihoodNoise.for_mode("FULL", t2k.values, -t2k.cov_total)
    with pytest.raises(ValueError, match="expected \\(58, 58\\)"):
        LikelihoodNoise.for_mode("FULL", t2k.values, t2k.cov_total[:57, :57])
    with pytest.raises(ValueError, match="non-positive sum"):
        models(t2k)["NORMSHAPE"].sample(np.random.default_rng(0), -np.ones((2, 58)))
    npe = load_config(REPO / "config" / "test_config.yaml").npe
    with pytest.raises(ValueError, match="max_num_epochs"):
        npe.noise_aware(0)
    capped = npe.noise_aware(10)
    assert (capped.noise, capped.max_num_epochs) == ("covariance", 10)
    assert npe.noise_aware(10_000) == replace(npe, noise="covariance")  # the typed section, no dict round trip


def test_training_records_the_noise_model() -> None:
    """train_npe with a noise model draws from it (same generator) and records it in the metadata."""
    from nutune.npe import train_npe

    rng = np.random.default_rng(0)
    low, high = np.array([0.5287, 0.0, 0.0, 0.0]), np.array([1.3938, 3.0, 1.0, 1.5])
    theta = low + rng.random((300, 4)) * (high - low)
    x = 5.0 + ((theta - low) / (high - low)) @ np.random.default_rng(1).normal(size=(4, 58))
    cov = 0.01 * np.eye(58)
    model = LikelihoodNoise.for_mode("NORMSHAPE", x.mean(0), cov)
    settings = dict(embedding_hidden=[8], embedding_dim=4, density_estimator="maf", num_transforms=2,
                    hidden_features=8, batch_size=128, learning_rate=1e-2, stop_after_epochs=5, max_num_epochs=1,
                    validation_fraction=0.1, x_transform="max", noise="covariance",
                    noise_components=["stat", "syst", "norm"], n_ensemble=1, device="cpu")
    trained = train_npe(theta, x, prior_low=low, prior_high=high, seed=3, noise_cov=cov, noise_model=model,
                        settings=settings)
    assert trained.metadata["noise"]["likelihood"] == "NORMSHAPE"
    assert trained.metadata["noise"]["mode"] == "covariance"


@pytest.mark.slow
def test_tiny_likelihood_modes_target(tmp_path, nutune_cache) -> None:
    """The target and its figure build on the tiny config; one row per method × mode with every column."""
    from conftest import TINY, make_workdir, snakemake, tiny_args

    workdir = make_workdir(tmp_path / "run", nutune_cache, likelihood_modes={"max_num_epochs": 3})
    snakemake(tiny_args(workdir, f"{TINY}/tables/likelihood_modes.csv", f"{TINY}/figures/likelihood_modes.pdf"),
              timeout=1500)
    assert (workdir / TINY / "figures" / "likelihood_modes.png").stat().st_size > 0
    table = pd.read_csv(workdir / TINY / "tables" / "likelihood_modes.csv")
    assert tuple(table.columns) == TABLE_COLUMNS
    assert list(zip(table["method"], table["mode"], strict=True)) == [
        (method, mode) for method in ("classical", "noise_aware", "throws") for mode in NOISE_MODELS]
    assert table[["MaCCQE", "chi2", "p_value", "norm_ratio"]].notna().all().all()
    assert (table["ndf"] == [54, 54, 53, 54] * 3).all()
    noise_aware = table[table["method"] == "noise_aware"]
    # sbi counts the epoch in which it stops at max_num_epochs: the cap of 3 reports 4 epochs
    assert (noise_aware.loc[noise_aware["mode"] != "FULL", "epochs"] <= 3 + 1).all()
    for mode in ("DIAG", "SHAPE", "NORMSHAPE"):
        assert (workdir / TINY / "likelihood_modes" / "model" / mode / "npe_0.safetensors").exists()


# ------------------------------------------------------------------ ensembles of the likelihood-mode networks
def test_mode_members_follow_the_replicates_of_the_paper_network() -> None:
    from nutune.likelihood_modes import mode_members
    from nutune.stability import replicate_members

    assert mode_members(1) == [0]  # the committed one-network table
    assert mode_members(3) == [0, 1, 2]
    assert mode_members(2, replicate=2) == [4, 5] == replicate_members(2, 2)
    with pytest.raises(ValueError):
        mode_members(0)


def test_n_ensemble_is_optional_typed_and_validated() -> None:
    import yaml

    from nutune.config import ConfigError

    raw = yaml.safe_load((REPO / "config" / "test_config.yaml").read_text())
    assert load_config(raw).likelihood_modes.n_ensemble == 1
    without = {**raw, "likelihood_modes": {k: v for k, v in raw["likelihood_modes"].items() if k != "n_ensemble"}}
    assert load_config(without).likelihood_modes.n_ensemble == 1  # absent: one network, as before the key
    assert load_config({**raw, "likelihood_modes": {**raw["likelihood_modes"], "n_ensemble": 4}}
                       ).likelihood_modes.n_ensemble == 4
    with pytest.raises(ConfigError, match="n_ensemble"):
        load_config({**raw, "likelihood_modes": {**raw["likelihood_modes"], "n_ensemble": 0}})


def test_members_have_derived_seeds_and_mix_with_equal_weights() -> None:
    """train_mode_npe member m: torch seed derive_seed(derive_seed(seed, "reference_npe"), "npe", m) and its own
    noise draws (member 0 is the one-network default, byte-identical: tests/test_workflow.py's tiny tables);
    noise_aware_row of two members reports their equal-weight mixture."""
    from nutune.io import derive_seed
    from nutune.likelihood_modes import noise_aware_row, train_mode_npe
    from nutune.measurements import load_data
    from nutune.npe import NutunePosterior

    cfg = load_config(REPO / "config" / "test_config.yaml")
    rng = np.random.default_rng(0)
    low, high = cfg.prior_low, cfg.prior_high
    theta = low + rng.random((300, 4)) * (high - low)
    m = load_data(cfg)
    x = m.values * (1.0 + 0.3 * ((theta - low) / (high - low)) @ rng.normal(size=(4, 58)) / 4)
    trained = [train_mode_npe(cfg, "NORMSHAPE", theta, x, max_num_epochs=1, member=k) for k in (0, 1)]
    base = derive_seed(cfg.seed, "reference_npe")
    for k, member in enumerate(trained):
        assert member.metadata["training"]["member"] == k
        assert member.metadata["training"]["member_seed"] == derive_seed(base, "npe", k)
        assert member.metadata["noise"]["likelihood"] == "NORMSHAPE"
    assert trained[0].metadata["noise"]["seed"] != trained[1].metadata["noise"]["seed"]
    small = replace(cfg, inference=replace(cfg.inference, num_posterior_samples=200))
    one = noise_aware_row(small, "NORMSHAPE", NutunePosterior.from_trained(trained[0]), measurement=m, epoch_cap=1)
    mixed = noise_aware_row(small, "NORMSHAPE", NutunePosterior.from_trained(trained), measurement=m, epoch_cap=1)
    assert "mixture" not in one["note"] and "equal-weight mixture of 2 networks" in mixed["note"]
    assert mixed["epochs"] == max(t.metadata["results"]["epochs"] for t in trained)
    assert mixed["n_draws"] == 200 and set(mixed) == set(one)
    assert mixed["MaCCQE"] != one["MaCCQE"]
