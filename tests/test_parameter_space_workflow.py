"""Issue 14 item 1: the workflow for any choice of free dials — a subset of the builtin four, in another order,
with one fixed — end to end on the tiny config (bank, network, diagnostics, tables, classical fits, figures)."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pandas as pd
import pytest
from conftest import make_workdir, snakemake, tiny_args

#: Three free dials in a non-builtin order and the MEC shape fixed at the Empirical end (x = 1, as the tune).
PARAMETERS = [
    {"dial": "RPA_CCQE", "min": 0.0, "max": 1.5},
    {"dial": "MaCCQE", "min": 0.5287, "max": 1.3938},
    {"dial": "NormCCMEC", "min": 0.0, "max": 3.0},
    {"dial": "XSecShape_CCMEC", "fixed": 1.0},
]
PREFIX = "results/tiny_dials"
TARGETS = [f"{PREFIX}/tables/{name}.csv" for name in ("t2k", "test_metrics", "microboone_tune", "classical_fit",
                                                      "t2k_correlations", "chi2")] + [
    f"{PREFIX}/figures/{name}.pdf" for name in ("parameter_summary", "coverage", "true_vs_predicted", "pulls",
                                                "sbc_ranks", "t2k_posterior_corner")]


def _reorder(point: list[float]) -> list[float]:
    """A builtin point (M_A, N, x, s) in the free dials' order (s, M_A, N)."""
    return [point[3], point[0], point[1]]


@pytest.fixture(scope="module")
def dials_run(tmp_path_factory: pytest.TempPathFactory, nutune_cache) -> object:
    def edit(config: dict) -> None:
        config["results_dir"] = PREFIX
        config["parameters"] = PARAMETERS
        for obs in config["observations"].values():
            if "point" in obs:
                obs["point"] = _reorder(obs["point"])

    workdir = make_workdir(tmp_path_factory.mktemp("dials") / "run", nutune_cache, edit)
    snakemake(tiny_args(workdir, *TARGETS), timeout=900)
    return workdir


@pytest.mark.slow
def test_bank_holds_the_free_dials_in_the_order_written(dials_run) -> None:
    with h5py.File(dials_run / PREFIX / "bank" / "train.h5", "r") as f:
        theta, names, fixed = f["theta"][...], json.loads(f.attrs["dial_names"]), json.loads(f.attrs["fixed_dials"])
    assert names == ["RPA_CCQE", "MaCCQE", "NormCCMEC"] and fixed == {"XSecShape_CCMEC": 1.0}
    assert theta.shape[1] == 3
    assert theta[:, 1].min() >= 0.5287 and theta[:, 1].max() <= 1.3938 and theta[:, 0].max() <= 1.5


@pytest.mark.slow
def test_tables_have_one_row_per_free_dial(dials_run) -> None:
    for name in ("t2k", "test_metrics", "microboone_tune"):
        table = pd.read_csv(dials_run / PREFIX / "tables" / f"{name}.csv")
        groups = table.groupby("observation") if "observation" in table else [(name, table)]
        for observation, rows in groups:
            assert rows["dial_name"].tolist() == ["RPA_CCQE", "MaCCQE", "NormCCMEC"], (name, observation)
    t2k = pd.read_csv(dials_run / PREFIX / "tables" / "t2k.csv")
    np.testing.assert_allclose(t2k["microboone_tune"], [0.849, 1.10479, 1.65595])
    correlations = pd.read_csv(dials_run / PREFIX / "tables" / "t2k_correlations.csv")
    assert correlations.shape == (3, 4)
    fits = pd.read_csv(dials_run / PREFIX / "tables" / "classical_fit.csv")
    assert {"RPA_CCQE", "MaCCQE", "NormCCMEC", "MaCCQE_dial"} <= set(fits.columns)
    assert "XSecShape_CCMEC" not in fits.columns  # fixed: not fitted
    box = fits[["RPA_CCQE", "MaCCQE", "NormCCMEC"]].to_numpy()
    assert np.all(box >= [0.0, 0.5287, 0.0]) and np.all(box <= [1.5, 1.3938, 3.0])
    for name in TARGETS:
        assert (dials_run / name).is_file(), name
