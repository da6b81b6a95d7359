"""Tests of nutune.config: the shipped config loads, and every bad input is refused with a message that names
the key path and the bad value."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from nutune.config import Config, ConfigError, load_config, schema, validate_config_dict
from nutune.dials import PARAMETER_NAMES

REPO = Path(__file__).resolve().parents[1]
CONFIG_YAML = REPO / "config" / "config.yaml"


@pytest.fixture(scope="module")
def base() -> dict:
    with open(CONFIG_YAML, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def test_shipped_config_loads(base: dict) -> None:
    cfg = load_config(CONFIG_YAML)
    assert isinstance(cfg, Config)
    assert cfg.seed == 555
    assert tuple(p.dial for p in cfg.parameters) == PARAMETER_NAMES
    np.testing.assert_allclose(cfg.prior_low, [0.5287, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(cfg.prior_high, [1.3938, 3.0, 1.0, 1.5])
    assert cfg.simulator.backend == "builtin" and cfg.simulator.bins == 58
    assert cfg.simulation.n_train == 200000 and cfg.simulation.shard_size == 1000
    assert cfg.npe.batch_size == 512 and cfg.npe.embedding_hidden == (45, 32)
    assert cfg.npe.noise_components == ("stat", "syst", "norm")
    assert cfg.observations["nuwro"].column == "nuwro"
    assert cfg.observations["microboone_tune"].point == (1.10479, 1.65595, 1.0, 0.849)
    assert cfg.observations["t2k"].kind == "data"
    assert cfg.chi2.modes == ("FULL", "DIAG", "SHAPE", "NORMSHAPE")
    assert cfg.raw == base
    assert len(cfg.config_hash) == 64


def test_config_hash_is_canonical(base: dict) -> None:
    reordered = dict(reversed(list(copy.deepcopy(base).items())))
    assert load_config(reordered).config_hash == load_config(base).config_hash
    changed = copy.deepcopy(base)
    changed["seed"] = 556
    assert load_config(changed).config_hash != load_config(base).config_hash


def test_dataclasses_are_frozen(base: dict) -> None:
    cfg = load_config(base)
    with pytest.raises(AttributeError):
        cfg.npe.batch_size = 3  # type: ignore[misc]


def test_every_schema_property_has_a_description() -> None:
    missing = []

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            for key, sub in node.get("properties", {}).items():
                if "description" not in sub:
                    missing.append(f"{path}.{key}")
                walk(sub, f"{path}.{key}")
            for key, sub in node.get("$defs", {}).items():
                walk(sub, f"$defs.{key}")

    walk(schema(), "")
    assert missing == []


def test_scientific_notation_floats_are_numbers(tmp_path: Path, base: dict) -> None:
    text = CONFIG_YAML.read_text().replace("learning_rate: 0.01", "learning_rate: 1e-2")
    assert "learning_rate: 1e-2" in text
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert load_config(path).npe.learning_rate == pytest.approx(0.01)


def _set(d: dict, path: tuple, value: object) -> None:
    for part in path[:-1]:
        d = d[part]
    d[path[-1]] = value


# (mutation path, new value, strings the message must contain)
BAD_CASES = [
    (("npe", "bogus_key"), 7, ["npe.bogus_key", "7", "allowed keys"]),
    (("colour",), "red", ["colour", "'red'", "allowed keys"]),
    (("npe", "batch_size"), "512", ["npe.batch_size", "'512'", "wrong type"]),
    (("npe", "batch_size"), 0, ["npe.batch_size = 0", ">= 1"]),
    (("simulation", "n_train"), -5, ["simulation.n_train = -5", ">= 1"]),
    (("simulator", "backend"), "geant4", ["simulator.backend = 'geant4'", "'builtin'", "'genie'"]),
    (("simulator", "bins"), 60, ["simulator.bins = 60", "58", "67"]),
    (("simulation", "on_bad_histogram"), "ignore", ["simulation.on_bad_histogram = 'ignore'", "'drop'"]),
    (("chi2", "modes"), ["FULL", "CHI"], ["chi2.modes[1] = 'CHI'", "'SHAPE'"]),
    (("npe", "validation_fraction"), 1.0, ["npe.validation_fraction = 1.0", "< 1"]),
    (("npe", "device"), "tpu", ["npe.device = 'tpu'", "'cuda'"]),
    (("npe", "x_transform"), "sqrt", ["npe.x_transform = 'sqrt'", "'log'"]),
    (("npe", "density_estimator"), "made", ["npe.density_estimator = 'made'", "'nsf'"]),
    (("gates", "on_failure"), "ignore", ["gates.on_failure = 'ignore'", "'warn'"]),
    (("observations", "t2k", "kind"), "mock", ["observations.t2k.kind = 'mock'", "'published'"]),
    (("simulation", "shard_size"), 300000, ["simulation.shard_size = 300000", "max(n_train, n_test) = 200000"]),
    (("parameters", 1, "min"), 3.0, ["parameters[1].min = 3.0", "parameters[1].max = 3.0", "min < max"]),
    (("parameters", 0, "min"), 0.2, ["parameters[0]", "0.2", "valid range [0.5, 1.5]"]),
    (("parameters", 3, "max"), 2.5, ["parameters[3]", "2.5", "valid range [0.0, 2.0]"]),
    (("parameters", 0, "dial"), "MaRES", ["parameters", "'MaRES'", "RPA_CCQE"]),
    (("observations", "microboone_tune", "point"), [1.1, math.nan, 1.0, 0.8],
     ["observations.microboone_tune.point", "nan", "finite"]),
    (("observations", "microboone_tune", "point"), [1.1, 4.0, 1.0, 0.8],
     ["observations.microboone_tune.point", "NormCCMEC=4.0", "[0.0, 3.0]"]),
    (("observations", "microboone_tune", "point"), [1.1, 1.0, 1.0],
     ["observations.microboone_tune.point", "has 3 values; it needs 4"]),
    (("observations", "nuwro_like", "variant"), "neut", ["observations.nuwro_like.variant = 'neut'", "nuwro_like"]),
    (("observations", "nuwro", "column"), "neut", ["observations.nuwro.column = 'neut'", "microboone_tune"]),
    (("reference", "burn_in"), 7000, ["reference.burn_in = 7000", "reference.n_steps = 6000"]),
    (("diagnostics", "n_pulls"), 5000, ["diagnostics.n_pulls = 5000", "n_test = 2000"]),
    (("seed",), 1.5, ["seed = 1.5", "wrong type"]),
    (("reference", "activate"), "yes", ["reference.activate = 'yes'", "boolean"]),
    (("npe", "noise_components"), ["stat", "stat"], ["npe.noise_components", "duplicated"]),
    (("observations", "bad name"), {"kind": "data"}, ["observations", "'bad name'", "letters, digits"]),
    (("observations", "nuwro", "point"), [1.0, 1.0, 0.5, 0.5], ["observations.nuwro", "point", "kind 'published'"]),
    (("simulator", "bins"), 67, ["observations.nuwro", "58 bins only", "simulator.bins = 67"]),
    (("npe", "noise"), "covariance", None),  # valid on its own; combined with log below
    (("learning_curve",), {"activate": True, "n_train": [100, 300000]},
     ["learning_curve.n_train", "[300000]", "simulation.n_train = 200000"]),
    (("simulation", "n_train"), 5, ["npe.validation_fraction = 0.1", "n_train = 5"]),
    (("parameters", 0, "max"), math.inf, ["parameters[0].min/max = [0.5287, inf]", "must be finite"]),
    (("parameters", 2, "min"), math.nan, ["parameters[2].min/max = [nan, 1.0]", "must be finite"]),
    (("npe", "lr_decay_factor"), 1.5, ["npe.lr_decay_factor = 1.5", "<= 1"]),
    (("npe", "min_learning_rate"), 0.5, ["npe.min_learning_rate = 0.5", "npe.learning_rate = 0.01"]),
    (("npe", "lr_schedule"), "step", ["npe.lr_schedule", "'step'", "plateau", "cosine"]),
]


@pytest.mark.parametrize(("path", "value", "needles"), BAD_CASES, ids=[".".join(map(str, c[0])) + "=" + repr(c[1])
                                                                       for c in BAD_CASES])
def test_bad_config_is_refused_with_key_and_value(
    base: dict, path: tuple, value: object, needles: list | None
) -> None:
    bad = copy.deepcopy(base)
    _set(bad, path, value)
    if needles is None:  # a valid change on its own: pair it with x_transform log, which is not
        assert load_config(bad).npe.noise == "covariance"
        bad["npe"]["x_transform"] = "log"
        needles = ["npe.x_transform = 'log'", "npe.noise = 'covariance'"]
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    message = str(info.value)
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"


def test_parameters_in_any_order_with_points_in_that_order(base: dict) -> None:
    cfg_dict = copy.deepcopy(base)
    cfg_dict["parameters"][0], cfg_dict["parameters"][1] = cfg_dict["parameters"][1], cfg_dict["parameters"][0]
    for obs in cfg_dict["observations"].values():
        if "point" in obs:
            obs["point"][0], obs["point"][1] = obs["point"][1], obs["point"][0]
    cfg = load_config(cfg_dict)
    assert cfg.dial_names == ("NormCCMEC", "MaCCQE", "XSecShape_CCMEC", "RPA_CCQE")
    space = cfg.parameter_space
    theta = np.array([[1.5, 1.1, 0.3, 0.9]])
    np.testing.assert_array_equal(space.full(theta), [[1.1, 1.5, 0.3, 0.9]])  # the simulator's own order
    np.testing.assert_allclose(space.microboone_tune, [1.65595, 1.10479, 1.0, 0.849])


def test_fixed_dials_and_a_subset_of_free_ones(base: dict) -> None:
    cfg_dict = copy.deepcopy(base)
    cfg_dict["parameters"] = [
        {"dial": "RPA_CCQE", "min": 0.0, "max": 1.5},
        {"dial": "MaCCQE", "min": 0.6, "max": 1.3},
        {"dial": "XSecShape_CCMEC", "fixed": 1.0},
    ]
    for obs in cfg_dict["observations"].values():
        if "point" in obs:
            obs["point"] = [obs["point"][3], obs["point"][0]]
    cfg = load_config(cfg_dict)
    assert cfg.dial_names == ("RPA_CCQE", "MaCCQE") and cfg.fixed_parameters == {"XSecShape_CCMEC": 1.0}
    assert cfg.parameters[1].label == "$M_A^{QE}$" and cfg.parameters[1].unit == "GeV"  # the registry's
    np.testing.assert_array_equal(cfg.prior_low, [0.0, 0.6])
    # NormCCMEC not listed: at its nominal 1; x fixed at 1
    np.testing.assert_array_equal(cfg.parameter_space.full(np.array([0.8, 1.0])), [1.0, 1.0, 1.0, 0.8])
    names, values = cfg.parameter_space.card_point(np.array([0.8, 1.0]))
    assert names == ("RPA_CCQE", "MaCCQE", "XSecShape_CCMEC")
    np.testing.assert_array_equal(values, [[0.8, 1.0, 1.0]])


@pytest.mark.parametrize(
    ("entries", "needle"),
    [
        ([{"dial": "MaRES", "min": 0.5, "max": 1.0}], "unknown GENIE dial 'MaRES'"),
        ([{"dial": "NonRESBGvpCC1pi", "min": 0.8, "max": 1.3}],
         "built-in simulator does not apply dial(s) NonRESBGvpCC1pi"),
        ([{"dial": "MaCCQE", "min": 0.6, "max": 1.3}, {"dial": "FrCEx_pi", "min": 0.5, "max": 1.9},
         {"dial": "FrInel_pi", "min": 0.5, "max": 1.6}], "pion fate fractions sum to"),
        ([{"dial": "MaCCQE", "min": 0.6, "max": 1.3}, {"dial": "MaCCQE", "min": 0.6, "max": 1.3}],
         "more than once"),
        ([{"dial": "MaCCQE", "min": 0.6}], "parameters[0] (MaCCQE): a free dial needs min and max"),
        ([{"dial": "MaCCQE", "fixed": 1.0, "min": 0.6}], "a fixed dial takes only `dial` and `fixed`; remove min"),
        ([{"dial": "MaCCQE", "fixed": 2.0}], "parameters[0].fixed = 2.0 is outside MaCCQE's valid range"),
        ([{"dial": "MaCCQE", "min": 0.6, "max": 1.3, "unit": "MeV"}], "the registry's unit"),
    ],
)
def test_bad_parameter_entries_are_refused_by_name(base: dict, entries: list, needle: str) -> None:
    cfg_dict = copy.deepcopy(base)
    cfg_dict["parameters"] = entries
    cfg_dict["observations"] = {"t2k": {"kind": "data"}}
    with pytest.raises(ConfigError) as info:
        load_config(cfg_dict)
    assert needle in str(info.value), str(info.value)


def test_observation_point_needs_one_value_per_free_dial(base: dict) -> None:
    cfg_dict = copy.deepcopy(base)
    cfg_dict["parameters"] = [{"dial": "MaCCQE", "min": 0.6, "max": 1.3}]
    cfg_dict["observations"] = {"mock": {"kind": "builtin", "variant": "nominal", "point": [1.0, 1.0]}}
    with pytest.raises(ConfigError, match=r"has 2 values; it needs 1, one per free dial in the order of `parameters` \(MaCCQE\)"):
        load_config(cfg_dict)


def test_missing_section_is_refused(base: dict) -> None:
    bad = copy.deepcopy(base)
    del bad["gates"]
    with pytest.raises(ConfigError, match=r"missing key\(s\) gates: a config is complete on its own"):
        load_config(bad)


def test_missing_nested_keys_are_all_named(base: dict) -> None:
    bad = copy.deepcopy(base)
    del bad["npe"]["batch_size"], bad["npe"]["learning_rate"], bad["seed"]
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    message = str(info.value)
    assert "missing key(s) seed" in message
    assert "npe.batch_size" in message and "npe.learning_rate" in message


def test_exponent_floats_read_as_strings_are_numbers(base: dict) -> None:
    """Snakemake reads YAML 1.1, where 5e-3 and 2e3 are strings: they load exactly as YAML 1.2 numbers do."""
    as_snakemake = copy.deepcopy(base)
    as_snakemake["npe"]["learning_rate"] = "5e-3"
    as_snakemake["simulation"]["n_train"] = "2e5"
    as_snakemake["simulator"]["builtin"]["n_events"] = "1e6"
    as_yaml12 = copy.deepcopy(base)
    as_yaml12["npe"]["learning_rate"] = 5e-3
    as_yaml12["simulation"]["n_train"] = 2e5  # a float: YAML 1.2 reads 2e5 so
    as_yaml12["simulator"]["builtin"]["n_events"] = 1e6
    a, b = load_config(as_snakemake), load_config(as_yaml12)
    assert a.raw == b.raw and a.config_hash == b.config_hash
    assert a.npe.learning_rate == 0.005
    assert a.simulation.n_train == 200000 and isinstance(a.simulation.n_train, int)
    assert type(b.simulator.builtin.n_events) is int


def test_an_integer_field_refuses_a_fractional_number(base: dict) -> None:
    bad = copy.deepcopy(base)
    bad["simulation"]["n_train"] = "2.5e-1"
    with pytest.raises(ConfigError, match="simulation.n_train = 0.25 has the wrong type"):
        load_config(bad)


@pytest.mark.parametrize("results_dir, ok", [
    ("results", True), ("results/tiny", True), ("results/my_run/v2", True), ("results/tables", False),
    ("results/bank/x", False), ("out", False), ("results/", False), ("results/../x", False), ("/tmp/x", False),
])
def test_results_dir(base: dict, results_dir: str, ok: bool) -> None:
    cfg = copy.deepcopy(base)
    cfg["results_dir"] = results_dir
    if ok:
        assert load_config(cfg).results_dir == results_dir
    else:
        with pytest.raises(ConfigError, match="results_dir = "):
            load_config(cfg)


def test_several_problems_are_all_listed(base: dict) -> None:
    bad = copy.deepcopy(base)
    bad["npe"]["batch_size"] = 0
    bad["simulator"]["bins"] = 60
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert "2 problems" in str(info.value)
    assert "npe.batch_size = 0" in str(info.value) and "simulator.bins = 60" in str(info.value)


def test_missing_data_file_is_refused(base: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "t2k").mkdir()
    (tmp_path / "t2k" / "t2k_cc0pi_2016_anaI.npz").write_bytes((REPO / "resources/t2k/t2k_cc0pi_2016_anaI.npz")
                                                               .read_bytes())
    monkeypatch.setenv("NUTUNE_RESOURCES", str(tmp_path))
    with pytest.raises(ConfigError, match=r"resources: data file .*t2k_nd280_flux\.npz is missing"):
        load_config(base)
    # check_files=False skips the file checks
    assert load_config(base, check_files=False).seed == 555


def test_genie_files_checked_only_for_genie_backend(base: dict, tmp_path: Path) -> None:
    assert not Path(base["simulator"]["genie"]["splines"]).exists()
    load_config(base)  # builtin backend: the placeholder spline path is fine
    genie = copy.deepcopy(base)
    genie["simulator"]["backend"] = "genie"
    with pytest.raises(ConfigError, match=r"simulator\.genie\.splines = '/path/to/genie_splines"):
        load_config(genie)
    splines = tmp_path / "gxspl.xml"
    splines.write_text("<genie_xsec_spline_list/>")
    flux = tmp_path / "flux.root"
    flux.write_bytes(b"root")
    genie["simulator"]["genie"]["splines"] = str(splines)
    genie["simulator"]["genie"]["flux_file"] = str(flux)
    assert load_config(genie).simulator.backend == "genie"
    genie["simulator"]["genie"]["target"] = "1000060120[0.5]"
    with pytest.raises(ConfigError, match=r"simulator\.genie\.target = '1000060120\[0\.5\]'.*sum to 0\.5"):
        load_config(genie)


def test_config_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("seed: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)
    with pytest.raises(ConfigError, match="must be a mapping"):
        validate_config_dict([1, 2])  # type: ignore[arg-type]


def test_validate_config_dict_returns_plain_dict(base: dict) -> None:
    out = validate_config_dict(base)
    assert out == base and out is not base


def test_emcee_walkers_scale_with_the_free_dials(base: dict) -> None:
    """reference.n_walkers >= 2 x the free dials, checked at load (not when the reference job starts)."""
    bad = copy.deepcopy(base)
    bad["parameters"].append({"dial": "MFP_pi", "min": 0.5, "max": 1.5})
    for obs in bad["observations"].values():
        if "point" in obs:
            obs["point"].append(1.0)
    bad["reference"]["n_walkers"] = 9
    with pytest.raises(ConfigError, match=r"reference.n_walkers = 9 must be at least twice the 5 free dials"):
        load_config(bad)


def test_constraints_section_is_optional_and_checked(base: dict, tmp_path: Path) -> None:
    assert load_config(base).constraints.activate is False  # absent: its defaults
    good = {**copy.deepcopy(base), "constraints": {"activate": True, "mode": "NORMSHAPE",
                                                   "baseline": "results/tables/likelihood_modes.csv"}}
    assert load_config(good).constraints.baseline == "results/tables/likelihood_modes.csv"
    missing = {**good, "constraints": {**good["constraints"], "baseline": str(tmp_path / "none.csv")}}
    with pytest.raises(ConfigError, match="constraints.baseline = .*none.csv"):
        load_config(missing)
    fewer = copy.deepcopy(good)
    fewer["parameters"] = [p for p in fewer["parameters"] if p["dial"] != "RPA_CCQE"]
    for obs in fewer["observations"].values():
        if "point" in obs:
            obs["point"] = obs["point"][:3]
    with pytest.raises(ConfigError, match="fits RPA_CCQE, which are not free here"):
        load_config(fewer)
