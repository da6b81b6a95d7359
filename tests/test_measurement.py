"""A user's own measurement (observation kind ``measurement``, issue 16 item 3): the CSV layout of
docs/measurement.md, each bad input refused with a message naming what is wrong, the unit/range check against
simulated histograms, the config entry, and which inputs a trained network records (and so depends on)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nutune.resources import DataError, check_simulated_range, load_measurement, load_t2k

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "resources" / "examples" / "t2k_bin10_plus1pct.csv"


def write(tmp_path: Path, x: np.ndarray, cov: np.ndarray, name: str = "m.csv", **extra) -> Path:
    table = pd.DataFrame({"bin": np.arange(len(x)), "x": x, **{f"cov_{j}": cov[:, j] for j in range(cov.shape[1])},
                          **extra})
    path = tmp_path / name
    table.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def t2k():
    return load_t2k(58)


def test_example_file_is_the_t2k_data_with_bin_10_up_one_percent(t2k) -> None:
    m = load_measurement(EXAMPLE, 58)
    np.testing.assert_allclose(m.values / t2k.values, np.where(np.arange(58) == 10, 1.01, 1.0), rtol=1e-12)
    np.testing.assert_array_equal(m.cov, t2k.cov_total)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda x, c: (x * 1e-38, c * 1e-76), None),  # loads; the range check refuses it (below)
    (lambda x, c: (np.where(np.arange(58) == 3, -0.1, x), c), "negative value"),
    (lambda x, c: (np.zeros_like(x), c), "zero in every bin"),
    (lambda x, c: (np.where(np.arange(58) == 5, np.nan, x), c), "x of bin 5 is empty, not a finite number"),
    (lambda x, c: (x, c + np.triu(np.full_like(c, 1e-4), 1)), "not symmetric"),
    (lambda x, c: (x, c - 2 * np.diag(np.diag(c))), "not positive definite"),
])
def test_bad_values_are_refused_by_name(tmp_path, t2k, edit, message) -> None:
    x, cov = edit(np.array(t2k.values), np.array(t2k.cov_total))
    path = write(tmp_path, x, cov)
    if message is None:
        load_measurement(path, 58)
        return
    with pytest.raises(DataError, match=message) as info:
        load_measurement(path, 58)
    assert str(path) in str(info.value)


def test_wrong_shapes_are_refused(tmp_path, t2k) -> None:
    x, cov = np.array(t2k.values), np.array(t2k.cov_total)
    with pytest.raises(DataError, match="57 rows .* simulator.bins = 58"):
        load_measurement(write(tmp_path, x[:57], cov[:57, :57]), 58)
    with pytest.raises(DataError, match="cov_0 .. cov_57 in order .* found 57"):
        load_measurement(write(tmp_path, x, cov[:, :57]), 58)
    with pytest.raises(DataError, match="missing column"):
        pd.DataFrame({"bin": range(58), "xsec": x}).to_csv(tmp_path / "n.csv", index=False)
        load_measurement(tmp_path / "n.csv", 58)
    with pytest.raises(DataError, match="does not exist"):
        load_measurement(tmp_path / "absent.csv", 58)


def test_range_check_names_the_unit_slip(t2k) -> None:
    from nutune import simulate

    generator = np.random.default_rng(0)
    theta = generator.uniform([0.5287, 0, 0, 0], [1.3938, 3, 1, 1.5], size=(300, 4))
    sims = simulate(theta)
    numbers = check_simulated_range(t2k.values, sims, "t2k")
    assert numbers["sim_min"] <= numbers["total"] <= numbers["sim_max"]
    with pytest.raises(DataError, match=r"far outside the simulated range.*cm² instead of 1e-38 cm²"):
        check_simulated_range(t2k.values * 1e-38, sims, "mine")
    with pytest.raises(DataError, match="per CH molecule"):
        check_simulated_range(t2k.values * 13, sims, "mine")
    with pytest.raises(DataError, match="per MeV/c instead of per GeV/c"):
        check_simulated_range(t2k.values * 1e-3, sims, "mine")


def test_config_kind_measurement() -> None:
    import yaml

    from nutune.config import ConfigError, load_config, observation_table

    raw = yaml.safe_load((REPO / "config" / "test_config.yaml").read_text())
    raw["results_dir"] = "results/mine"
    raw["observations"]["mine"] = {"kind": "measurement", "file": str(EXAMPLE)}
    cfg = load_config(raw)
    assert cfg.observations["mine"].file == str(EXAMPLE)
    assert observation_table("mine", raw["observations"]["mine"]) == "measurements"
    raw["observations"]["mine"] = {"kind": "measurement", "file": "nowhere.csv"}
    with pytest.raises(ConfigError, match="observations.mine.file = 'nowhere.csv': file not found"):
        load_config(raw)
    raw["observations"]["mine"] = {"kind": "measurement"}
    with pytest.raises(ConfigError, match="observations.mine.file is missing"):
        load_config(raw)
    raw["observations"]["mine"] = {"kind": "measurement", "file": str(EXAMPLE), "column": "nuwro"}
    with pytest.raises(ConfigError, match="do not apply to kind 'measurement'"):
        load_config(raw)


def test_training_inputs_are_exactly_what_the_network_depends_on(tmp_path) -> None:
    import yaml

    from nutune.stages.train import training_inputs

    raw = yaml.safe_load((REPO / "config" / "test_config.yaml").read_text())
    bank = tmp_path / "train.h5"
    bank.write_bytes(b"bank")
    free = training_inputs(raw, bank)
    assert set(free) == {"bank"} and len(free["bank"]["sha256"]) == 64
    raw["npe"]["noise"] = "covariance"
    aware = training_inputs(raw, bank)
    assert set(aware) == {"bank", "noise_covariance"}
    assert aware["noise_covariance"]["source"] == "resources/t2k/t2k_cc0pi_2016_anaI.npz"
    assert aware["noise_covariance"]["components"] == ["stat", "syst", "norm"]


def test_a_bad_measurement_stops_the_config_before_any_job(tmp_path, t2k) -> None:
    import yaml

    from nutune.config import ConfigError, load_config

    raw = yaml.safe_load((REPO / "config" / "test_config.yaml").read_text())
    path = write(tmp_path, np.array(t2k.values), -np.array(t2k.cov_total))
    raw["observations"]["mine"] = {"kind": "measurement", "file": str(path)}
    with pytest.raises(ConfigError, match=r"observations.mine.file: .*not positive definite"):
        load_config(raw)
