"""Tests of nutune.bank with fake simulators: determinism, bad-histogram handling, atomic shards and a merge that
refuses missing, incomplete, truncated, duplicated or stale shards."""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from nutune import bank
from nutune.config import Config, load_config
from nutune.io import sha256_file
from nutune.resources import DataError

REPO = Path(__file__).resolve().parents[1]
BINS = 58


def tiny_cfg(**simulation: object) -> Config:
    with open(REPO / "config" / "config.yaml", encoding="utf-8") as fh:
        d = yaml.safe_load(fh)
    d = copy.deepcopy(d)
    d["simulation"].update({"n_train": 10, "n_test": 5, "shard_size": 4, **simulation})
    d["diagnostics"].update({"n_pulls": 2, "corner_index": 1})
    return load_config(d)


def fake_simulator(theta: np.ndarray) -> np.ndarray:
    """A smooth positive function of theta, (n, 4) -> (n, 58)."""
    k = np.arange(BINS)
    return (1.0 + theta[:, :1]) * np.exp(-k / (10.0 * (1.0 + theta[:, 1:2]))) + 0.01 * theta[:, 3:4]


def nan_when_large_ma(theta: np.ndarray) -> np.ndarray:
    x = fake_simulator(theta)
    x[theta[:, 0] > 1.0, 3] = np.nan
    return x


def build(cfg: Config, tmp: Path, split: str = "train", simulator=fake_simulator) -> tuple[Path, list[Path]]:
    params = bank.write_parameters(cfg, split, tmp / f"params_{split}.h5")
    shards = [
        bank.simulate_shard(cfg, params, split, i, tmp / "shards" / split / f"shard_{i:05d}.h5", simulator=simulator)
        for i in range(bank.n_shards(cfg, split))
    ]
    return params, shards


def test_sample_parameters_uniform_in_box_and_independent_splits() -> None:
    cfg = tiny_cfg(n_train=4000, n_test=1000, shard_size=1000)
    train = bank.sample_parameters(cfg, "train")
    test = bank.sample_parameters(cfg, "test")
    assert train.shape == (4000, 4) and test.shape == (1000, 4)
    assert np.all(train >= cfg.prior_low) and np.all(train <= cfg.prior_high)
    # uniform: mean in the middle of the box, within 4 standard errors
    width = cfg.prior_high - cfg.prior_low
    se = width / np.sqrt(12 * 4000)
    assert np.all(np.abs(train.mean(0) - (cfg.prior_low + cfg.prior_high) / 2) < 4 * se)
    np.testing.assert_array_equal(train, bank.sample_parameters(cfg, "train"))
    assert not np.allclose(train[:1000], test)
    with pytest.raises(ValueError, match="split = 'val'"):
        bank.sample_parameters(cfg, "val")


def test_shard_rows_cover_the_split() -> None:
    cfg = tiny_cfg()
    assert bank.n_shards(cfg, "train") == 3 and bank.n_shards(cfg, "test") == 2
    assert [bank.shard_rows(cfg, "train", i) for i in range(3)] == [(0, 4), (4, 8), (8, 10)]
    with pytest.raises(ValueError, match="shard_index = 3"):
        bank.shard_rows(cfg, "train", 3)


def test_build_and_merge_is_deterministic(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = tiny_cfg()
    caplog.set_level(logging.INFO, logger="nutune.bank")
    outs, files = [], []
    for run in ("a", "b"):
        params, shards = build(cfg, tmp_path / run)
        out = bank.merge_shards(cfg, shards, params, tmp_path / run / "train.h5")
        outs.append(bank.read_bank(out))
        files.append([sha256_file(p) for p in (params, *shards, out)])
    # Byte-identical files (no HDF5 timestamps, no timing attributes): shard hashes recorded in the bank match.
    assert files[0] == files[1]
    (theta_a, x_a, attrs), (theta_b, x_b, _) = outs
    np.testing.assert_array_equal(theta_a, theta_b)
    np.testing.assert_array_equal(x_a, x_b)
    np.testing.assert_array_equal(theta_a, bank.sample_parameters(cfg, "train"))
    np.testing.assert_allclose(x_a, fake_simulator(theta_a))
    assert attrs["backend"] == "builtin" and attrs["bins"] == 58 and attrs["n_dropped"] == 0
    assert attrs["config_hash"] == cfg.config_hash and attrs["seed"] == 555
    assert attrs["dial_names"] == ["MaCCQE", "NormCCMEC", "XSecShape_CCMEC", "RPA_CCQE"]
    assert set(attrs["versions"]) == {"nutune", "numpy", "h5py", "torch", "sbi"}
    assert len(attrs["shard_sha256"]) == 3 and all(len(s["sha256"]) == 64 for s in attrs["shard_sha256"])
    assert len(attrs["data_hash"]) == 64
    np.testing.assert_allclose(attrs["prior_low"], cfg.prior_low)
    assert "rows/s" in caplog.text


def test_shard_attrs(tmp_path: Path) -> None:
    cfg = tiny_cfg()
    _, shards = build(cfg, tmp_path, split="test")
    with h5py.File(shards[1], "r") as f:
        assert f.attrs["split"] == "test" and f.attrs["shard_index"] == 1
        assert (f.attrs["row_start"], f.attrs["row_stop"]) == (4, 5)
        assert bool(f.attrs["complete"]) and f.attrs["n_dropped"] == 0
        assert f["x"].shape == (1, 58) and f["theta"].shape == (1, 4)


def test_bad_histograms_fail_the_shard_naming_theta(tmp_path: Path) -> None:
    cfg = tiny_cfg()
    params = bank.write_parameters(cfg, "train", tmp_path / "params_train.h5")
    theta = bank.sample_parameters(cfg, "train")[:4]
    n_bad = int((theta[:, 0] > 1.0).sum())
    assert n_bad > 0
    out = tmp_path / "shard_00000.h5"
    with pytest.raises(DataError, match=rf"train shard 0: {n_bad} of 4 .* theta=\[") as info:
        bank.simulate_shard(cfg, params, "train", 0, out, simulator=nan_when_large_ma)
    first_bad = int(np.flatnonzero(theta[:, 0] > 1.0)[0])
    assert f"row {first_bad} theta=[" in str(info.value) and "(non-finite)" in str(info.value)
    assert not out.exists()


def test_bad_histograms_are_dropped_and_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = tiny_cfg(on_bad_histogram="drop")
    params, shards = build(cfg, tmp_path, simulator=nan_when_large_ma)
    theta_all = bank.sample_parameters(cfg, "train")
    expected_drop = int((theta_all[:, 0] > 1.0).sum())
    assert 0 < expected_drop < 10
    theta, x, attrs = bank.read_bank(bank.merge_shards(cfg, shards, params, tmp_path / "train.h5"))
    assert attrs["n_dropped"] == expected_drop and theta.shape[0] == 10 - expected_drop
    assert np.isfinite(x).all() and np.all(theta[:, 0] <= 1.0)
    assert "dropping" in caplog.text


def test_negative_histogram_is_bad() -> None:
    theta = np.full((2, 4), 0.5)
    x = np.ones((2, 58))
    x[1, 7] = -1e-3
    np.testing.assert_array_equal(bank.check_histograms(theta, x, 58), [False, True])
    with pytest.raises(DataError, match=r"shape \(2, 57\), expected \(2, 58\)"):
        bank.check_histograms(theta, x[:, :57], 58)


def test_exception_mid_shard_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tiny_cfg()
    params = bank.write_parameters(cfg, "train", tmp_path / "params_train.h5")
    out_dir = tmp_path / "shards"
    out = out_dir / "shard_00000.h5"

    def crashing(theta: np.ndarray) -> np.ndarray:
        raise RuntimeError("simulator crashed")

    with pytest.raises(RuntimeError, match="simulator crashed"):
        bank.simulate_shard(cfg, params, "train", 0, out, simulator=crashing)
    assert not out.exists()

    # an exception after the datasets were written (inside the atomic block) leaves neither file nor temp file
    def failing_attrs(cfg: Config) -> dict:
        raise OSError("disk full")

    monkeypatch.setattr(bank, "_common_attrs", failing_attrs)
    with pytest.raises(OSError, match="disk full"):
        bank.simulate_shard(cfg, params, "train", 0, out, simulator=fake_simulator)
    assert list(out_dir.iterdir()) == []


def test_merge_refuses_missing_shard(tmp_path: Path) -> None:
    cfg = tiny_cfg()
    params, shards = build(cfg, tmp_path)
    with pytest.raises(DataError, match=r"1 of 3 shards missing \(indices 1\)"):
        bank.merge_shards(cfg, [shards[0], shards[2]], params, tmp_path / "train.h5")
    shards[1].unlink()
    with pytest.raises(DataError, match=r"shard .*shard_00001.h5 is missing"):
        bank.merge_shards(cfg, shards, params, tmp_path / "train.h5")
    assert not (tmp_path / "train.h5").exists()


def test_merge_refuses_incomplete_shard(tmp_path: Path) -> None:
    cfg = tiny_cfg()
    params, shards = build(cfg, tmp_path)
    with h5py.File(shards[2], "a") as f:
        f.attrs["complete"] = False
    with pytest.raises(DataError, match="shard_00002.h5 is incomplete"):
        bank.merge_shards(cfg, shards, params, tmp_path / "train.h5")


def test_merge_refuses_truncated_shard(tmp_path: Path) -> None:
    cfg = tiny_cfg()
    params, shards = build(cfg, tmp_path)
    data = shards[0].read_bytes()
    shards[0].write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="shard_00000.h5 is unreadable or truncated"):
        bank.merge_shards(cfg, shards, params, tmp_path / "train.h5")


def test_merge_refuses_duplicated_and_overlapping_shards(tmp_path: Path) -> None:
    cfg = tiny_cfg()
    params, shards = build(cfg, tmp_path)
    with pytest.raises(DataError, match="listed twice"):
        bank.merge_shards(cfg, [*shards, shards[0]], params, tmp_path / "train.h5")
    copy_of_0 = tmp_path / "copy.h5"
    copy_of_0.write_bytes(shards[0].read_bytes())
    with pytest.raises(DataError, match="shard index 0 of split train appears twice"):
        bank.merge_shards(cfg, [*shards, copy_of_0], params, tmp_path / "train.h5")
    with h5py.File(shards[1], "a") as f:
        f.attrs["row_start"] = 3
    with pytest.raises(DataError, match="covers rows 3-8, expected 4-8"):
        bank.merge_shards(cfg, shards, params, tmp_path / "train.h5")


def test_merge_refuses_row_count_mismatch_and_stale_theta(tmp_path: Path) -> None:
    cfg = tiny_cfg()
    params, shards = build(cfg, tmp_path)
    with h5py.File(shards[1], "a") as f:
        f.attrs["n_dropped"] = 1
    with pytest.raises(DataError, match=r"4 rows \+ 1 dropped != 4"):
        bank.merge_shards(cfg, shards, params, tmp_path / "train.h5")
    with h5py.File(shards[1], "a") as f:
        f.attrs["n_dropped"] = 0
        f["theta"][0, 0] += 0.01
    with pytest.raises(DataError, match="theta differs from"):
        bank.merge_shards(cfg, shards, params, tmp_path / "train.h5")


def test_merge_refuses_other_split_or_config(tmp_path: Path) -> None:
    cfg = tiny_cfg()
    params, shards = build(cfg, tmp_path)
    test_params, test_shards = build(cfg, tmp_path, split="test")
    with pytest.raises(DataError, match="is for split 'test'"):
        bank.merge_shards(cfg, [*shards[:2], test_shards[0]], params, tmp_path / "train.h5")
    bigger = tiny_cfg(n_train=12)
    with pytest.raises(DataError, match="has 10 rows but simulation.n_train = 12"):
        bank.merge_shards(bigger, shards, params, tmp_path / "train.h5")
    with pytest.raises(DataError, match="parameter file is for split 'train', not 'test'"):
        bank.simulate_shard(cfg, params, "test", 0, tmp_path / "x.h5", simulator=fake_simulator)


def test_read_bank_refuses_garbage(tmp_path: Path) -> None:
    path = tmp_path / "bank.h5"
    path.write_bytes(b"not hdf5")
    with pytest.raises(DataError, match="unreadable"):
        bank.read_bank(path)
