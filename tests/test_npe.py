"""Tests of nutune.npe on a tiny linear-Gaussian problem: training, pickle-free round trip, metadata checks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from nutune.npe import NutunePosterior, load_posterior, resolve_device, save_npe, train_npe

LOW = np.array([0.5287, 0.0, 0.0, 0.0])
HIGH = np.array([1.3938, 3.0, 1.0, 1.5])
BINS = 58
NOISE_SIGMA = 0.5


def tiny_settings(**overrides):
    """A small network and a few epochs; same keys as the ``npe`` config section."""
    settings = dict(
        embedding_hidden=[16, 16], embedding_dim=8, density_estimator="maf", num_transforms=4, hidden_features=16,
        batch_size=128, learning_rate=1e-2, stop_after_epochs=10, max_num_epochs=60, validation_fraction=0.1,
        x_transform="max", noise="none", noise_components=["stat", "syst", "norm"], n_ensemble=1, device="cpu",
    )
    settings.update(overrides)
    return settings


def linear_gaussian(n, seed):
    """x = 5 + A u + noise with u the unit-box coordinates: an easy, well-identified 4 -> 58 problem."""
    generator = np.random.default_rng(seed)
    design = np.random.default_rng(123).normal(size=(4, BINS))
    theta = LOW + generator.random((n, 4)) * (HIGH - LOW)
    u = (theta - LOW) / (HIGH - LOW)
    return theta, 5.0 + u @ design + NOISE_SIGMA * generator.normal(size=(n, BINS))


@pytest.fixture(scope="module")
def trained():
    theta, x = linear_gaussian(2000, seed=0)
    return train_npe(theta, x, prior_low=LOW, prior_high=HIGH, settings=tiny_settings(), seed=7,
                     provenance={"data_hash": "d" * 8, "config_hash": "c" * 8, "bank_hash": "b" * 8})


@pytest.fixture(scope="module")
def saved(trained, tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    paths = (folder / "npe_0.safetensors", folder / "npe_0.json", folder / "loss_0.csv")
    save_npe(trained, *paths)
    return paths


def test_training_learns_the_linear_problem(trained):
    theta, x = linear_gaussian(50, seed=99)
    posterior = NutunePosterior.from_trained(trained)
    medians = np.median(posterior.sample_batched(200, x, seed=1), axis=1)
    rms_unit_error = np.sqrt(np.mean(((medians - theta) / (HIGH - LOW)) ** 2))
    # The prior's rms error (uniform draws vs truth) is ~0.41 in unit coordinates, the exact posterior's ~0.07
    # (noise 0.5 over 58 bins of unit-variance design). The tiny flow's early stopping lands on one of two plateaus
    # depending on the CPU float path (measured 2026-12-03: 0.078 under MKL's AVX branch, 0.149 under COMPATIBLE,
    # and 0.149 for two other seeds under both), so the test asks for learning, not for the better plateau.
    assert rms_unit_error < 0.2
    curve = trained.loss_curve
    assert curve["epoch"][0] == 1 and len(curve["val_loss"]) == trained.metadata["results"]["epochs"]
    assert min(curve["val_loss"]) < curve["val_loss"][0]
    assert trained.metadata["results"]["best_validation_loss"] == pytest.approx(min(curve["val_loss"]))


def test_learning_rate_decays_on_validation_plateaus():
    """lr_decay_factor < 1: ReduceLROnPlateau on sbi's validation loss lowers Adam's rate, never below the floor."""
    theta, x = linear_gaussian(1000, seed=3)
    settings = tiny_settings(lr_decay_factor=0.5, lr_decay_patience=0, min_learning_rate=2e-3, max_num_epochs=15,
                             stop_after_epochs=15)
    with pytest.warns(UserWarning, match="max_num_epochs"):
        decayed = train_npe(theta, x, prior_low=LOW, prior_high=HIGH, settings=settings, seed=2)
    rates = decayed.loss_curve["learning_rate"]
    assert rates[0] == pytest.approx(1e-2) and min(rates) < 1e-2
    assert min(rates) >= 2e-3 - 1e-12
    assert all(later <= earlier for earlier, later in zip(rates, rates[1:], strict=False))
    assert decayed.metadata["training"]["lr_decay_factor"] == 0.5


def test_cosine_schedule_anneals_to_the_final_rate_over_the_epoch_budget():
    """lr_schedule cosine: lr(e) = min + (lr0 - min)(1 + cos(pi e / E)) / 2 for epochs e = 0 .. E (sbi runs E + 1)."""
    theta, x = linear_gaussian(1000, seed=3)
    settings = tiny_settings(lr_schedule="cosine", min_learning_rate=1e-4, max_num_epochs=8, stop_after_epochs=100)
    with pytest.warns(UserWarning, match="max_num_epochs"):
        annealed = train_npe(theta, x, prior_low=LOW, prior_high=HIGH, settings=settings, seed=2)
    rates = np.array(annealed.loss_curve["learning_rate"])
    epochs = np.arange(9)
    expected = 1e-4 + (1e-2 - 1e-4) * (1 + np.cos(np.pi * epochs / 8)) / 2
    np.testing.assert_allclose(rates, expected, rtol=1e-9)
    assert annealed.metadata["training"]["lr_schedule"] == "cosine"


def test_unknown_schedule_is_refused():
    theta, x = linear_gaussian(200, seed=3)
    with pytest.raises(ValueError, match="lr_schedule"):
        train_npe(theta, x, prior_low=LOW, prior_high=HIGH, settings=tiny_settings(lr_schedule="step"), seed=2)


def test_batch_loader_visits_every_training_row_once_per_epoch():
    """The fast loader cuts the same kind of batches as sbi's DataLoader: a fresh permutation, full batches only."""
    from nutune.npe.training import BatchLoader as _BatchLoader

    values = torch.arange(103.0)[:, None]
    indices = torch.arange(3, 103)
    loader = _BatchLoader((values, values * 2), indices, batch_size=32, shuffle=True)
    assert len(loader) == 3 and loader.batch_size == 32
    torch.manual_seed(0)
    first = torch.cat([batch[0] for batch in loader]).reshape(-1)
    second = torch.cat([batch[0] for batch in loader]).reshape(-1)
    assert len(first) == 96 and len(set(first.tolist())) == 96 and set(first.tolist()) <= set(range(3, 103))
    assert not torch.equal(first, second)  # reshuffled each epoch
    assert all(torch.equal(b[1], 2 * b[0]) for b in loader)  # rows stay aligned across tensors
    ordered = _BatchLoader((values,), indices, batch_size=50, shuffle=False)
    assert torch.equal(torch.cat([b[0] for b in ordered]).reshape(-1), torch.arange(3.0, 103.0))


def test_constant_learning_rate_by_default(trained, saved):
    assert set(trained.loss_curve["learning_rate"]) == {1e-2}
    header = saved[2].read_text().splitlines()[0]
    assert header == "epoch,train_loss,val_loss,seconds,learning_rate"


def test_round_trip_gives_identical_densities_and_samples(trained, saved):
    weights, meta, _ = saved
    loaded = load_posterior(weights, meta)
    direct = NutunePosterior.from_trained(trained)
    theta, x = linear_gaussian(3, seed=5)
    points = theta[:1] + np.linspace(-0.02, 0.02, 7)[:, None]
    np.testing.assert_array_equal(loaded.log_prob(points, x[0], seed=3), direct.log_prob(points, x[0], seed=3))
    np.testing.assert_array_equal(loaded.sample(50, x[0], seed=11), direct.sample(50, x[0], seed=11))
    assert loaded.x_scale == trained.metadata["x_scale"]


def test_log_prob_is_in_physical_units(saved):
    posterior = load_posterior(saved[0], saved[1])
    theta, x = linear_gaussian(1, seed=3)
    u = torch.as_tensor(posterior.to_unit(theta), dtype=torch.float32).unsqueeze(1)
    unit_density = posterior.log_prob_unit_batched(u, posterior.transform_x(x), seed=0)[0, 0].item()
    jacobian = -np.sum(np.log(HIGH - LOW))
    assert posterior.log_prob(theta, x[0], seed=0)[0] == pytest.approx(unit_density + jacobian, rel=1e-6)
    # Outside the prior box the density is zero.
    assert posterior.log_prob(HIGH + 0.1, x[0])[0] == -np.inf


def test_sampling_is_seeded_and_inside_the_prior_box(saved):
    posterior = load_posterior(saved[0], saved[1])
    _, x = linear_gaussian(4, seed=8)
    first = posterior.sample_batched(30, x, seed=21)
    assert first.shape == (4, 30, 4)
    np.testing.assert_array_equal(first, posterior.sample_batched(30, x, seed=21))
    assert not np.array_equal(first, posterior.sample_batched(30, x, seed=22))
    assert np.all(first >= LOW) and np.all(first <= HIGH)


def test_files_are_not_pickles(saved):
    weights, meta, loss = saved
    raw = weights.read_bytes()
    assert raw[:1] != b"\x80" and b"PK\x03\x04" not in raw[:4]  # neither pickle nor torch.save's zip
    header_length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + header_length])
    assert header["__metadata__"]["format"] == "nutune-npe/1"
    metadata = json.loads(meta.read_text())
    assert set(load_file(str(weights))) == set(metadata["tensors"])
    for key in ("dial_names", "prior_low", "prior_high", "bins", "x_transform", "x_scale", "network", "noise",
                "provenance", "versions", "results", "weights_sha256"):
        assert key in metadata
    assert metadata["provenance"]["data_hash"] == "d" * 8
    assert set(metadata["versions"]) >= {"nutune", "sbi", "torch", "numpy"}
    machine = metadata["machine"]  # where it was trained: CPU, torch's kernels, the pinned numerics
    assert machine["cpu"] and machine["aten_cpu_capability"] == "AVX2" and machine["numerics"] == "pinned"
    assert machine["environment"]["OPENBLAS_CORETYPE"] == "Haswell"
    lines = loss.read_text().splitlines()
    assert lines[0] == "epoch,train_loss,val_loss,seconds,learning_rate"
    assert len(lines) == metadata["results"]["epochs"] + 1


def test_metadata_mismatch_is_refused(saved):
    weights, meta, _ = saved
    load_posterior(weights, meta, expected={"bins": BINS, "prior_low": LOW, "data_hash": "d" * 8})
    with pytest.raises(ValueError, match="bins"):
        load_posterior(weights, meta, expected={"bins": 67})
    with pytest.raises(ValueError, match="prior_high"):
        load_posterior(weights, meta, expected={"prior_high": HIGH + [0.0, 1.0, 0.0, 0.0]})
    with pytest.raises(ValueError, match="data_hash"):
        load_posterior(weights, meta, expected={"data_hash": "other"})
    with pytest.raises(ValueError, match="unknown metadata key"):
        load_posterior(weights, meta, expected={"colour": "blue"})


def test_corrupt_or_misshaped_weights_are_refused(saved, tmp_path):
    weights, meta, _ = saved
    state = load_file(str(weights))
    metadata = json.loads(meta.read_text())
    name = next(k for k, v in state.items() if v.ndim == 2)

    def write(tensors, tag):
        path = tmp_path / f"{tag}.safetensors"
        save_file(tensors, str(path))
        edited = dict(metadata, weights_sha256=None)
        meta_path = tmp_path / f"{tag}.json"
        meta_path.write_text(json.dumps(edited))
        return path, meta_path

    misshaped = dict(state)
    misshaped[name] = torch.zeros(state[name].shape[0] + 1, state[name].shape[1])
    with pytest.raises(ValueError, match="shape"):
        load_posterior(*write(misshaped, "misshaped"))
    missing = {k: v for k, v in state.items() if k != name}
    with pytest.raises(ValueError, match="missing"):
        load_posterior(*write(missing, "missing"))
    swapped = tmp_path / "swapped.safetensors"
    save_file({k: v + 1.0 if v.is_floating_point() else v for k, v in state.items()}, str(swapped))
    with pytest.raises(ValueError, match="SHA-256"):
        load_posterior(swapped, meta)


def test_ensemble_is_an_equal_weight_mixture(trained, saved, tmp_path):
    theta, x = linear_gaussian(2000, seed=0)  # the same bank as member 0 (members must share the x scale)
    second = train_npe(theta, x, prior_low=LOW, prior_high=HIGH,
                       settings=tiny_settings(max_num_epochs=3), seed=7, member=1)
    assert second.metadata["training"]["member_seed"] != trained.metadata["training"]["member_seed"]
    paths = (tmp_path / "npe_1.safetensors", tmp_path / "npe_1.json", tmp_path / "loss_1.csv")
    save_npe(second, *paths)
    ensemble = load_posterior([saved[0], paths[0]], [saved[1], paths[1]])
    assert ensemble.n_members == 2
    points, obs = linear_gaussian(5, seed=4)
    # Without sbi's (sampling-based) leakage normalisation the mixture identity is exact.
    mixture = ensemble.log_prob(points, obs[0], normalize=False)
    members = [NutunePosterior.from_trained(t).log_prob(points, obs[0], normalize=False) for t in (trained, second)]
    expected = np.logaddexp(members[0], members[1]) - math.log(2)
    np.testing.assert_allclose(mixture, expected, rtol=1e-5, atol=1e-5)
    assert ensemble.sample(40, obs[0], seed=3).shape == (40, 4)
    other_bank = linear_gaussian(500, seed=1)
    third = train_npe(*other_bank, prior_low=LOW, prior_high=HIGH, settings=tiny_settings(max_num_epochs=1), seed=7)
    with pytest.raises(ValueError, match="disagree on x_scale"):
        NutunePosterior.from_trained([trained, third])


def test_noise_aware_training_accepts_negative_bins_and_log_is_refused():
    theta, x = linear_gaussian(300, seed=2)
    x = x - 5.5  # many negative bins, as noisy histograms can have
    cov = 0.01 * np.eye(BINS)
    trained = train_npe(theta, x, prior_low=LOW, prior_high=HIGH, seed=3, noise_cov=cov,
                        settings=tiny_settings(noise="covariance", max_num_epochs=1))
    assert trained.metadata["noise"]["mode"] == "covariance"
    assert trained.metadata["noise"]["seed"] is not None
    assert trained.metadata["x_scale"] == pytest.approx(x.max())  # scale from the noise-free simulations
    with pytest.raises(ValueError, match="no noise covariance"):
        train_npe(theta, x, prior_low=LOW, prior_high=HIGH, seed=3, settings=tiny_settings(noise="covariance"))
    with pytest.raises(ValueError, match="log"):
        train_npe(theta, x + 10, prior_low=LOW, prior_high=HIGH, seed=3, noise_cov=cov,
                  settings=tiny_settings(noise="covariance", x_transform="log"))
    with pytest.raises(ValueError, match="strictly positive"):
        train_npe(theta, x, prior_low=LOW, prior_high=HIGH, seed=3, settings=tiny_settings(x_transform="log"))


def test_log_transform_trains_on_positive_histograms():
    theta, x = linear_gaussian(300, seed=4)
    trained = train_npe(theta, np.abs(x) + 0.1, prior_low=LOW, prior_high=HIGH, seed=3,
                        settings=tiny_settings(x_transform="log", max_num_epochs=1))
    posterior = NutunePosterior.from_trained(trained)
    assert posterior.x_scale is None
    with pytest.raises(ValueError, match="strictly positive"):
        posterior.sample(5, -np.ones(BINS), seed=0)


def test_bad_inputs_are_refused():
    theta, x = linear_gaussian(100, seed=4)
    outside = theta.copy()
    outside[3, 1] = HIGH[1] + 1.0
    with pytest.raises(ValueError, match="outside the prior box"):
        train_npe(outside, x, prior_low=LOW, prior_high=HIGH, seed=1, settings=tiny_settings())
    with pytest.raises(ValueError, match="shape"):
        train_npe(theta[:, :3], x, prior_low=LOW, prior_high=HIGH, seed=1, settings=tiny_settings())
    with pytest.raises(ValueError, match="density_estimator"):
        train_npe(theta, x, prior_low=LOW, prior_high=HIGH, seed=1, settings=tiny_settings(density_estimator="x"))
    with pytest.raises(ValueError, match="npe.device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            resolve_device("cuda")


def test_nsf_round_trip(tmp_path):
    theta, x = linear_gaussian(300, seed=6)
    trained = train_npe(theta, x, prior_low=LOW, prior_high=HIGH, seed=3,
                        settings=tiny_settings(density_estimator="nsf", num_transforms=2, max_num_epochs=1))
    paths = (tmp_path / "npe_0.safetensors", tmp_path / "npe_0.json", tmp_path / "loss_0.csv")
    save_npe(trained, *paths)
    loaded = load_posterior(paths[0], paths[1], expected={"density_estimator": "nsf"})
    np.testing.assert_array_equal(loaded.log_prob(theta[:3], x[0], normalize=False),
                                  NutunePosterior.from_trained(trained).log_prob(theta[:3], x[0], normalize=False))


def test_marginal_calibration_maps_held_out_base_coordinates_to_a_standard_normal():
    """ML fit of the elementwise spline: too-narrow (sd 0.7) and peaked (Laplace) base coordinates become N(0, 1)."""
    from nutune.npe import fit_marginal_calibration

    generator = torch.Generator().manual_seed(0)
    narrow = 0.7 * torch.randn(20000, 2, generator=generator)
    peaked = torch.distributions.Laplace(0.0, 0.5).sample((20000, 2))
    z = torch.cat([narrow, peaked], dim=1)
    layer, stats = fit_marginal_calibration(z)
    assert stats["rows"] == 20000 and stats["bins"] == 16 and stats["nll_after"] < stats["nll_before"] - 0.1
    np.testing.assert_allclose(stats["second_moment_before"][:2], 0.49, atol=0.02)
    np.testing.assert_allclose(stats["second_moment_after"], 1.0, atol=0.05)
    with torch.no_grad():
        calibrated, _ = layer(z)
        grid = torch.linspace(-4, 4, 201)[:, None].repeat(1, 4)
        mapped, _ = layer(grid)
    # the central 68 % of the calibrated values lies within +-1 (a standard normal), for every column
    inside = (calibrated.abs() < 1.0).float().mean(0).numpy()
    np.testing.assert_allclose(inside, 0.6827, atol=0.02)
    assert torch.all(mapped[1:] > mapped[:-1])  # a bijection: strictly increasing in every column


def test_location_calibration_undoes_a_stretched_posterior_location():
    """The location layer is fitted through the frozen network twice: on held-out rows as they are (h0) and on the
    same rows with the truths stretched about the box centre by 10 % relative to where the network puts its
    posteriors (h1). h1 must learn that stretch on top of h0, h1(v) ≈ h0(1/2 + (v − 1/2)/1.1), raise the
    likelihood, and leave the network unchanged."""
    from nutune.npe.calibration import fit_location_calibration

    theta, x = linear_gaussian(4000, seed=11)
    trained = train_npe(theta, x, prior_low=LOW, prior_high=HIGH, seed=5, settings=tiny_settings(max_num_epochs=30))
    estimator = trained.density_estimator
    posterior = NutunePosterior.from_trained(trained)
    theta_rows, x_rows = linear_gaussian(3000, seed=12)
    rows = torch.as_tensor(posterior.to_unit(theta_rows), dtype=torch.float32)
    xt = posterior.transform_x(x_rows)
    reference = posterior.log_prob(theta[:3], x[0], normalize=False)
    h0, plain = fit_location_calibration(estimator, rows, xt)
    h1, stats = fit_location_calibration(estimator, 0.5 + 1.1 * (rows - 0.5), xt)
    assert stats["rows"] == 3000 and stats["bins"] == 3 and stats["nll_after"] < stats["nll_before"] - 0.05
    assert plain["nll_after"] <= plain["nll_before"]
    np.testing.assert_array_equal(posterior.log_prob(theta[:3], x[0], normalize=False), reference)
    assert all(p.requires_grad for p in estimator.parameters()) and not any(p.requires_grad for p in h1.parameters())
    grid = torch.linspace(0.1, 0.9, 9)[:, None].repeat(1, 4)
    with torch.no_grad():
        learned, _ = h1(grid)
        expected, _ = h0(0.5 + (grid - 0.5) / 1.1)
        unstretched, _ = h0(grid)
    # h1 is far nearer the stretched map than the unstretched one (0.036 apart at the grid's ends)
    miss, stretch = float((learned - expected).abs().max()), float((unstretched - expected).abs().max())
    assert miss < 0.4 * stretch
    assert torch.all(learned[1:] > learned[:-1])


@pytest.mark.parametrize("calibration", ["marginal", "location_and_width"])
def test_calibrated_network_round_trips_and_records_its_fit(tmp_path, calibration):
    """calibration: marginal appends the fitted layer, location_and_width also prepends the location layer (both
    fitted on sbi's validation rows); the network survives save/load and uncalibrated() strips every layer."""
    theta, x = linear_gaussian(1000, seed=8)
    trained = train_npe(theta, x, prior_low=LOW, prior_high=HIGH, seed=3,
                        settings=tiny_settings(calibration=calibration, max_num_epochs=5))
    network, fit = trained.metadata["network"], trained.metadata["results"]["calibration"]
    assert network["calibration"] == calibration and network["calibration_bins"] == fit["bins"] == 2
    assert fit["rows"] == 100 and fit["nll_after"] <= fit["nll_before"]
    assert ("location" in fit) == (calibration == "location_and_width")
    if "location" in fit:
        assert fit["location"]["rows"] == 100 and fit["location"]["nll_after"] <= fit["location"]["nll_before"]
    paths = (tmp_path / "npe_0.safetensors", tmp_path / "npe_0.json", tmp_path / "loss_0.csv")
    save_npe(trained, *paths)
    assert any("unnormalized_widths" in name for name in load_file(str(paths[0])))
    loaded = load_posterior(paths[0], paths[1], expected={"calibration": calibration})
    direct = NutunePosterior.from_trained(trained)
    np.testing.assert_array_equal(loaded.log_prob(theta[:5], x[0], normalize=False),
                                  direct.log_prob(theta[:5], x[0], normalize=False))
    np.testing.assert_array_equal(loaded.sample(20, x[0], seed=4), direct.sample(20, x[0], seed=4))
    # the same training without the layer is the calibrated network minus its last layer
    plain = train_npe(theta, x, prior_low=LOW, prior_high=HIGH, seed=3, settings=tiny_settings(max_num_epochs=5))
    assert plain.metadata["network"]["calibration"] == "none"
    stripped = loaded.uncalibrated()
    assert stripped.metadata[0]["network"]["calibration"] == "none"
    np.testing.assert_allclose(stripped.log_prob(theta[:5], x[0], normalize=False),
                               NutunePosterior.from_trained(plain).log_prob(theta[:5], x[0], normalize=False),
                               rtol=1e-5)
    # and the layer is not a no-op
    assert not np.allclose(stripped.log_prob(theta[:5], x[0], normalize=False),
                           direct.log_prob(theta[:5], x[0], normalize=False))


def test_unknown_calibration_is_refused():
    theta, x = linear_gaussian(200, seed=3)
    with pytest.raises(ValueError, match="npe.calibration"):
        train_npe(theta, x, prior_low=LOW, prior_high=HIGH, settings=tiny_settings(calibration="isotonic"), seed=2)


def test_observation_far_outside_the_prior_does_not_stall_sampling(trained):
    """sbi's rejection loop never ends when the posterior lies outside the box (sbi #741); nutune's stops and says so."""
    posterior = NutunePosterior.from_trained(trained)
    design = np.random.default_rng(123).normal(size=(4, BINS))
    x_far = 5.0 + np.array([[4.0, -3.0, 5.0, -4.0]]) @ design  # far outside the unit box in every coordinate
    _, x_ok = linear_gaussian(1, seed=5)
    xs = np.vstack([x_ok, x_far])
    draws = posterior.sample_batched(50, xs, seed=3)
    assert draws.shape == (2, 50, 4)
    assert np.all(draws >= LOW) and np.all(draws <= HIGH)
    # With no rejection rounds at all every observation takes the fallback: clipped proposals, still in the box.
    posterior.max_rejection_rounds = 0
    clipped = posterior.sample_batched(50, xs, seed=3)
    assert posterior.last_truncation_fallbacks == 2
    assert np.all(clipped >= LOW) and np.all(clipped <= HIGH)
    on_faces = np.isclose(clipped, LOW) | np.isclose(clipped, HIGH)
    assert on_faces[1].mean() > on_faces[0].mean()  # the far observation's draws pile up on the box faces


def test_hopeless_observation_is_given_up_after_one_empty_round(trained):
    """An observation with no accepted draw in a round cannot finish (rate 0): it gets the fallback at once."""
    posterior = NutunePosterior.from_trained(trained)
    propose, calls = posterior._propose, []

    def propose_second_outside(m, x_transformed):
        calls.append(x_transformed.shape[0])
        draws = propose(m, x_transformed)
        if x_transformed.shape[0] == 2:
            draws[:, 1, :] = 2.0  # every proposal of observation 1 lies outside the unit box
        return draws

    posterior._propose = propose_second_outside
    _, xs = linear_gaussian(2, seed=5)
    draws = posterior.sample_batched(50, xs, seed=3)
    assert calls == [2, 1]  # one rejection round for both, then only the fallback proposals of observation 1
    assert posterior.last_truncation_fallbacks == 1
    assert np.all(draws >= LOW) and np.all(draws <= HIGH)


def test_proposals_carry_no_autograd_graph(trained):
    """sbi's sample_batched records the flow's inverse passes for autograd unless told not to: 4.6 GB per 1e5 draws
    of the paper network (measured), which OOM-killed the 1000 x 1000 test-set diagnostics. nutune samples under
    no_grad."""
    posterior = NutunePosterior.from_trained(trained)
    _, xs = linear_gaussian(3, seed=2)
    proposals = posterior._propose(100, posterior.transform_x(xs))
    assert proposals.shape == (100, 3, 4)
    assert proposals.grad_fn is None and not proposals.requires_grad


def test_many_observations_are_sampled_in_memory_bounded_chunks(trained):
    posterior = NutunePosterior.from_trained(trained)
    _, xs = linear_gaussian(7, seed=11)
    whole = posterior.sample_batched(20, xs, seed=4)
    posterior.max_proposals_per_call = 2000  # 2 observations per chunk at 1000 proposals each
    chunked = posterior.sample_batched(20, xs, seed=4)
    assert chunked.shape == whole.shape == (7, 20, 4)
    np.testing.assert_array_equal(chunked, posterior.sample_batched(20, xs, seed=4))  # still seeded
    assert np.all(chunked >= LOW) and np.all(chunked <= HIGH)
    # same distribution: medians of the two ways agree to the posterior width
    assert np.all(np.abs(np.median(chunked, axis=1) - np.median(whole, axis=1)) < 0.5 * (HIGH - LOW))
