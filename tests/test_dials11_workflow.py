"""Issue 14: the tiny workflow with every builtin dial that can be free at once — the four MicroBooNE dials,
CCQEPauliSupViaKF, MaCCRES, MvCCRES, MFP_pi and three pion fates (absorption the GENIE cushion): eleven free dials.

The scenario is ``DIALS11`` (priors: GENIE ±3σ within the builtin ranges; the three fate maxima keep the named
hA2018 fractions ≤ 1 at every pion energy). The dry run plans the whole DAG (the config is validated on load, the
built-in simulator's limits included); the slow test runs the bank stage and checks it is the simulator."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from conftest import make_workdir, snakemake, tiny_args

from tests.test_workflow import add_dials, job_counts

DIALS11 = [
    {"dial": "CCQEPauliSupViaKF", "min": 0.1, "max": 1.9},
    {"dial": "MaCCRES", "min": 0.43, "max": 1.70},
    {"dial": "MvCCRES", "min": 0.59, "max": 1.09},
    {"dial": "MFP_pi", "min": 0.4, "max": 1.6},
    {"dial": "FrCEx_pi", "min": 0.5, "max": 1.3},
    {"dial": "FrInel_pi", "min": 0.5, "max": 1.2},
    {"dial": "FrPiProd_pi", "min": 0.6, "max": 1.1},
]
NOMINAL = [1.0, 1.065047, 0.840, 1.0, 1.0, 1.0, 1.0]
PREFIX = "results/tiny_dials11"


_edit = add_dials(PREFIX, DIALS11, NOMINAL)


def test_eleven_dial_config_loads_with_every_builtin_dial_free(tmp_path: Path, nutune_cache: Path) -> None:
    import nutune

    workdir = make_workdir(tmp_path / "load", nutune_cache, _edit)
    cfg = nutune.load_config(workdir / "config" / "test_config.yaml")
    assert cfg.parameter_space.dim == 11
    assert cfg.parameter_space.names[4:] == tuple(e["dial"] for e in DIALS11)


def test_eleven_dial_config_plans_the_whole_dag(tmp_path: Path, nutune_cache: Path) -> None:
    workdir = make_workdir(tmp_path / "plan", nutune_cache, _edit)
    result = snakemake(["-n", "--quiet", "rules", *tiny_args(workdir)], timeout=120)
    counts = job_counts(result.stdout)
    assert counts["simulate_shard"] > 0 and counts["merge_bank"] >= 1 and counts.get("train_npe", 0) >= 1


@pytest.mark.slow
def test_eleven_dial_bank_is_the_simulator(tmp_path: Path, nutune_cache: Path) -> None:
    workdir = make_workdir(tmp_path / "bank", nutune_cache, _edit)
    snakemake(tiny_args(workdir, f"{PREFIX}/bank/train.h5"), timeout=900)
    with h5py.File(workdir / PREFIX / "bank" / "train.h5", "r") as f:
        theta, x, names = f["theta"][...], f["x"][...], json.loads(f.attrs["dial_names"])
    assert names[4:] == [e["dial"] for e in DIALS11] and theta.shape[1] == 11
    from nutune.simulator import get_templates

    builtin = yaml.safe_load((workdir / "config" / "test_config.yaml").read_text())["simulator"]["builtin"]
    templates = get_templates("nominal", sample_seed=builtin["sample_seed"], n_events=builtin["n_events"],
                              cache_dir=builtin["cache_dir"])
    np.testing.assert_allclose(x[:5], templates.evaluate(theta[:5], names=names, bins=x.shape[1]), rtol=1e-5)
