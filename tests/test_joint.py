"""The joint T2K + MINERvA measurement (issue 15 item 4; nutune.measurements.joint): the composite spec, its
block-diagonal covariance, its slices, the per-part χ², the builtin simulator of it and the config that names it."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

from nutune import measurements
from nutune.chi2 import Chi2, chi2_all_modes
from nutune.config import ConfigError, load_config, measurement_name
from nutune.measurements import JointBinned, get, measurement_of
from nutune.resources import DataError

T2K, MINERVA = "t2k_cc0pi_2016_anaI", "minerva_cc0pi_2d_le"
JOINT = f"{T2K}+{MINERVA}"
REPO = Path(__file__).resolve().parents[1]
MODES = ("FULL", "DIAG", "SHAPE", "NORMSHAPE")


@pytest.fixture(scope="module")
def joint() -> JointBinned:
    return get(JOINT).load(202)


@pytest.fixture(scope="module")
def tiny() -> dict:
    return yaml.safe_load((REPO / "config" / "test_config.yaml").read_text())


def _joint_config(tiny: dict, **simulator) -> dict:
    d = copy.deepcopy(tiny)
    d["results_dir"] = "results/joint_unit"
    d["simulator"].update(measurement=[T2K, MINERVA], bins=202, **simulator)
    d["observations"] = {"joint": {"kind": "data"}}
    return d


def test_spec_is_the_parts_concatenated(joint: JointBinned) -> None:
    spec = get(JOINT)
    assert spec.parts == (T2K, MINERVA) and spec.builtin and spec.name == JOINT
    assert spec.bin_choices == (202, 211) and spec.components == ("stat", "syst", "norm")
    assert get(JOINT) is spec  # built once
    assert joint.parts == {T2K: slice(0, 58), MINERVA: slice(58, 202)}
    t2k, minerva = get(T2K).load(58), get(MINERVA).load(144)
    np.testing.assert_array_equal(joint.values, np.concatenate([t2k.values, minerva.values]))
    np.testing.assert_array_equal(joint.areas, np.concatenate([t2k.areas, minerva.areas]))
    assert get(JOINT).load(211).parts[T2K] == slice(0, 67)
    with pytest.raises(DataError, match="allowed: 202, 211"):
        get(JOINT).load(58)
    with pytest.raises(DataError, match="two or more distinct"):
        measurements.joint_spec((T2K, T2K))


def test_covariance_is_block_diagonal_per_component(joint: JointBinned) -> None:
    """The experiments are independent: zero off-diagonal blocks; each component is each part's own (zero where a
    part lacks it: MINERvA's release has no separate norm); the components sum to the total."""
    t2k, minerva = get(T2K).load(58), get(MINERVA).load(144)
    s, m = joint.parts[T2K], joint.parts[MINERVA]
    np.testing.assert_array_equal(joint.cov_total[s, m], 0.0)
    np.testing.assert_array_equal(joint.cov_total[m, s], 0.0)
    np.testing.assert_array_equal(joint.cov_total[s, s], t2k.cov_total)
    np.testing.assert_array_equal(joint.cov_total[m, m], minerva.cov_total)
    for c in ("stat", "syst"):
        np.testing.assert_array_equal(joint.cov([c])[s, s], t2k.cov([c]))
        np.testing.assert_array_equal(joint.cov([c])[m, m], minerva.cov([c]))
    np.testing.assert_array_equal(joint.cov(["norm"])[m, m], 0.0)
    np.testing.assert_array_equal(joint.cov_norm[s, s], t2k.cov_norm)
    np.testing.assert_array_equal(minerva.cov_norm, 0.0)  # no separate norm in the MINERvA release
    np.testing.assert_allclose(joint.cov(["stat", "syst", "norm"]), joint.cov_total, rtol=1e-6,
                               atol=1e-12 * np.abs(joint.cov_total).max())


def test_slices_cover_every_bin_once_with_the_experiment_named(joint: JointBinned) -> None:
    slices = get(JOINT).slices(data=joint)  # check_slices: every bin in exactly one slice
    assert len(slices) == 9 + 13 and [s.index for s in slices] == list(range(22))
    rows = np.sort(np.concatenate([s.rows for s in slices]))
    np.testing.assert_array_equal(rows, np.arange(202))
    assert all(s.title.startswith("T2K: ") for s in slices[:9])
    assert all(s.title.startswith("MINERvA: ") and s.x_label == get(MINERVA).x_label for s in slices[9:])
    first = get(MINERVA).slices()[0]
    np.testing.assert_array_equal(slices[9].rows, np.asarray(first.rows) + 58)


def test_chi2_is_the_sum_of_the_parts_in_every_mode(joint: JointBinned) -> None:
    """FULL/DIAG: the block-diagonal χ² of the whole vector; SHAPE/NORMSHAPE: each experiment normalised by its own
    integral. Total = Σ per-part χ², each part's = its own measurement's χ²."""
    rng = np.random.default_rng(3)
    prediction = joint.values * rng.uniform(0.8, 1.3, size=joint.bins)
    total = chi2_all_modes(prediction, joint, MODES)
    alone = {name: chi2_all_modes(prediction[rows], joint.part_data[name], MODES) for name, rows in joint.parts.items()}
    for mode in MODES:
        assert total[mode] == pytest.approx(alone[T2K][mode] + alone[MINERVA][mode], rel=1e-12)
        per_part = Chi2(joint.values, joint.cov_total, mode, areas=joint.areas, parts=joint.parts).per_part(prediction)
        assert per_part[MINERVA] == pytest.approx(alone[MINERVA][mode], rel=1e-12)
    # FULL of the whole block-diagonal vector without parts is the same number
    whole = Chi2(joint.values, joint.cov_total, "FULL")(prediction)
    assert whole == pytest.approx(total["FULL"], rel=1e-9)
    # a (n, bins) stack gives (n,)
    stack = Chi2(joint.values, joint.cov_total, "SHAPE", areas=joint.areas, cov_norm=joint.cov_norm,
                 parts=joint.parts)(np.stack([prediction] * 3))
    np.testing.assert_allclose(stack, total["SHAPE"], rtol=1e-12)


def test_chi2_refuses_parts_that_are_correlated(joint: JointBinned) -> None:
    cov = np.array(joint.cov_total)
    cov[0, 100] = cov[100, 0] = 1e-6 * cov[0, 0]
    with pytest.raises(DataError, match="block-diagonal"):
        Chi2(joint.values, cov, "FULL", parts=joint.parts)
    with pytest.raises(DataError, match="exactly once"):
        Chi2(joint.values, joint.cov_total, "FULL", parts={T2K: slice(0, 58), MINERVA: slice(50, 202)})


def test_config_takes_a_list_of_measurements(tiny: dict) -> None:
    cfg = load_config(_joint_config(tiny), check_files=False)
    assert cfg.simulator.measurement == JOINT == measurement_name([T2K, MINERVA])
    assert measurement_of(cfg).parts == (T2K, MINERVA)
    # a single name keeps the config as it was (the raw dict, hence the hash, has no new key)
    single = load_config(copy.deepcopy(tiny), check_files=False)
    assert "measurement" not in single.raw["simulator"] and single.simulator.measurement == T2K
    for change, message in (({"bins": 58}, "allowed: 202, 211"),
                            ({"measurement": [T2K, T2K]}, "not valid under any of the given schemas"),
                            ({"measurement": [T2K]}, "not valid under any of the given schemas")):
        d = _joint_config(tiny)
        d["simulator"].update(change)
        with pytest.raises(ConfigError, match=message):
            load_config(d, check_files=False)
    d = _joint_config(tiny, backend="genie")
    with pytest.raises(ConfigError, match="needs simulator.backend: builtin"):
        load_config(d, check_files=False)
    d = _joint_config(tiny)
    d["observations"]["mock"] = {"kind": "builtin", "variant": "nominal", "point": [1.1, 1.6, 1.0, 0.85]}
    with pytest.raises(ConfigError, match="kind data only"):
        load_config(d, check_files=False)


def test_joint_paper_config_loads() -> None:
    cfg = load_config(yaml.safe_load((REPO / "config" / "joint_t2k_minerva.yaml").read_text()))
    assert cfg.simulator.measurement == JOINT and cfg.simulator.bins == 202 and cfg.results_dir == "results/joint"
    assert [p.dial for p in cfg.parameters] == ["MaCCQE", "NormCCMEC", "XSecShape_CCMEC", "RPA_CCQE"]


def test_builtin_simulator_of_a_joint_config_is_the_parts_side_by_side(tiny: dict, tmp_path: Path) -> None:
    """forward.builtin_simulator and nutune.simulate of the joint measurement = each part's histograms at the same θ."""
    from nutune.forward import builtin_simulator

    d = _joint_config(tiny)
    d["simulator"]["builtin"] = {"sample_seed": 7, "n_events": 20000, "cache_dir": str(tmp_path)}
    cfg = load_config(d, check_files=False)
    theta = np.array([[1.10479, 1.65595, 1.0, 0.849], [0.9, 1.0, 0.0, 1.2]])
    x = builtin_simulator(cfg)(theta)
    assert x.shape == (2, 202)
    parts = []
    for name, bins in ((T2K, 58), (MINERVA, 144)):
        one = copy.deepcopy(d)
        one["simulator"].update(measurement=name, bins=bins)
        components = list(get(name).components)
        one["npe"]["noise_components"] = one["inference"]["throw_components"] = components
        parts.append(builtin_simulator(load_config(one, check_files=False))(theta))
    np.testing.assert_array_equal(x, np.hstack(parts))


def test_parameter_shift_is_the_gaussian_mass_inside_the_zero_contour() -> None:
    """Raveri & Hu (2019): for Gaussian posteriors Δ ~ N(μ, Σ_Δ) and p_shift = P(χ²_d < μᵀΣ_Δ⁻¹μ) exactly; the KDE
    smooths a little, so within 0.04. Identical posteriors give ~0 (no tension)."""
    from scipy.stats import chi2 as chi2_dist

    from nutune.joint_tune import parameter_shift

    rng = np.random.default_rng(11)
    low, high = np.zeros(4), np.ones(4)
    sigma = np.array([0.02, 0.03, 0.05, 0.04])
    a = rng.normal(0.5, sigma, size=(8000, 4))
    same = parameter_shift(a, rng.normal(0.5, sigma, size=(8000, 4)), low=low, high=high, seed=1)
    assert same["p_shift"] < 0.1 and same["n_sigma"] < 0.2
    for m in (1.0, 2.0, 3.0):  # Mahalanobis distance of the shift in units of σ_Δ = √2 σ along dial 0
        b = rng.normal(0.5, sigma, size=(8000, 4))
        b[:, 0] += m * np.sqrt(2.0) * sigma[0]
        got = parameter_shift(a, b, low=low, high=high, seed=2)
        assert got["p_shift"] == pytest.approx(chi2_dist.cdf(m**2, 4), abs=0.04), m


def test_ppc_pvalue_is_uniform_for_the_true_model_and_zero_far_off() -> None:
    from nutune.joint_tune import ppc_pvalue
    from nutune.noise import covariance_noise

    rng = np.random.default_rng(5)
    cov = np.diag(np.full(20, 0.01)) + 0.002
    s = np.full((400, 20), 1.0)
    pvalues = [ppc_pvalue(s, 1.0 + covariance_noise(rng, cov, 1, method="cholesky")[0], cov, seed=k) for k in range(30)]
    assert 0.3 < np.mean(pvalues) < 0.7
    assert ppc_pvalue(s, np.full(20, 1.5), cov, seed=0) == 0.0


def test_normshape_ppc_pvalue_is_uniform_for_data_from_its_noise_model() -> None:
    """ppc_pvalue in NORMSHAPE: data drawn from the NORMSHAPE noise model around s give p-values ~ U(0, 1) (the
    mode's replicates and its χ² agree), and a prediction of the wrong shape gets p ~ 0."""
    from nutune.joint_tune import ppc_pvalue
    from nutune.noise import LikelihoodNoise

    rng = np.random.default_rng(6)
    mean = np.linspace(1.0, 2.0, 20)
    cov = np.diag((0.05 * mean) ** 2) + 0.0004 * np.outer(mean, mean)
    model = LikelihoodNoise.for_mode("NORMSHAPE", mean, cov)
    s = np.tile(mean, (300, 1))
    pvalues = [ppc_pvalue(s, model.sample(rng, mean[None, :])[0], cov, seed=k, mode="NORMSHAPE") for k in range(30)]
    assert 0.3 < np.mean(pvalues) < 0.7 and min(pvalues) >= 0.0 and max(pvalues) <= 1.0
    assert ppc_pvalue(s, mean * np.linspace(0.7, 1.3, 20), cov, seed=0, mode="NORMSHAPE") < 0.01  # wrong shape
    with pytest.raises(ValueError, match="FULL or NORMSHAPE"):
        ppc_pvalue(s, mean, cov, seed=0, mode="DIAG")


def test_tension_modes_follow_the_tunes_likelihood() -> None:
    from nutune.joint_tune import posteriors_by_mode, tension_modes

    assert tension_modes({"constraints": {"activate": True, "mode": "NORMSHAPE"}}) == ("FULL", "NORMSHAPE")
    assert tension_modes({"constraints": {"activate": False, "mode": "NORMSHAPE"}}) == ("FULL",)
    assert tension_modes({"constraints": {"activate": True, "mode": "FULL"}}) == ("FULL",)
    assert tension_modes({}) == ("FULL",)
    assert posteriors_by_mode([("FULL", "a"), ("FULL", "b"), ("NORMSHAPE", "a")], ["1", "2", "3"]) == {
        "FULL": {"a": "1", "b": "2"}, "NORMSHAPE": {"a": "3"}}
    with pytest.raises(ValueError, match="keys"):
        posteriors_by_mode([("FULL", "a")], [])


def test_per_part_embedding_compresses_each_experiment_on_its_own(tiny: dict) -> None:
    """npe.embedding_parts: one MLP per block of columns, outputs concatenated to embedding_dim; block k's output
    depends on block k's columns only; a sum other than simulator.bins is refused at the door."""
    import torch

    from nutune.npe.networks import PartsEmbedding, _embedding

    net = PartsEmbedding([58, 144], [45, 32], 24)
    x = torch.randn(5, 202, requires_grad=True)
    out = net(x)
    assert out.shape == (5, 24)
    out[:, :12].sum().backward()
    assert torch.all(x.grad[:, 58:] == 0) and torch.any(x.grad[:, :58] != 0)
    assert isinstance(_embedding({"embedding_hidden": [8], "embedding_dim": 4}, 202), torch.nn.Sequential)
    with pytest.raises(ValueError, match="do not sum"):
        _embedding({"embedding_hidden": [8], "embedding_dim": 4, "embedding_parts": [58, 100]}, 202)
    d = _joint_config(tiny)
    d["npe"]["embedding_parts"] = [58, 144]
    assert load_config(d, check_files=False).npe.embedding_parts == (58, 144)
    d["npe"]["embedding_parts"] = [67, 144]
    with pytest.raises(ConfigError, match=r"sums to 211, not simulator.bins = 202.*\(58\+144\)"):
        load_config(d, check_files=False)
