"""nutune.io: atomic writes, hashes, derived seeds."""

from __future__ import annotations

import os

import numpy as np
import pytest

from nutune.io import atomic_write, derive_seed, rng, sha256_file


def test_atomic_write_renames_on_success_with_umask_permissions(tmp_path):
    target = tmp_path / "sub" / "table.csv"
    with atomic_write(target) as tmp:
        tmp.write_text("a,b\n1,2\n")
        assert not target.exists()
    assert target.read_text() == "a,b\n1,2\n"
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
    assert [p.name for p in target.parent.iterdir()] == ["table.csv"]


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "model.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        tmp.write_text("half-written")
        raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_derive_seed_is_stable_and_key_dependent():
    assert derive_seed(555, "params", "train") == derive_seed(555, "params", "train")
    seeds = {derive_seed(555, "params", "train"), derive_seed(555, "params", "test"),
             derive_seed(556, "params", "train"), derive_seed(555, "shard", 0), derive_seed(555, "shard", 1)}
    assert len(seeds) == 5
    assert np.array_equal(rng(1, "a").random(5), rng(1, "a").random(5))
    with pytest.raises(ValueError, match="non-negative"):
        derive_seed(1, -3)


def test_sha256_file(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    assert sha256_file(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
