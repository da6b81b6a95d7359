"""Issue 14 item 2 end to end: the tiny workflow with seven free builtin dials — the four MicroBooNE dials plus
MaCCRES and two pion fate fractions (absorption the GENIE cushion) — bank, network, diagnostics, tables, figures."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import make_workdir, snakemake, tiny_args

from tests.test_workflow import add_dials

EXTRA = [
    {"dial": "MaCCRES", "min": 0.6, "max": 1.6},
    {"dial": "FrCEx_pi", "min": 0.5, "max": 1.3},
    {"dial": "FrInel_pi", "min": 0.5, "max": 1.3},
]
NOMINAL_EXTRA = [1.065047, 1.0, 1.0]
PREFIX = "results/tiny_extra_dials"
TARGETS = [f"{PREFIX}/tables/{name}.csv" for name in ("t2k", "test_metrics", "microboone_tune", "classical_fit",
                                                      "chi2")] + [
    f"{PREFIX}/figures/{name}.pdf" for name in ("parameter_summary", "coverage", "t2k_posterior_corner")]


@pytest.fixture(scope="module")
def extra_run(tmp_path_factory: pytest.TempPathFactory, nutune_cache) -> object:
    workdir = make_workdir(tmp_path_factory.mktemp("extra") / "run", nutune_cache,
                           add_dials(PREFIX, EXTRA, NOMINAL_EXTRA))
    snakemake(tiny_args(workdir, *TARGETS), timeout=1200)
    return workdir


@pytest.mark.slow
def test_bank_varies_the_background_with_the_extra_dials(extra_run) -> None:
    with h5py.File(extra_run / PREFIX / "bank" / "train.h5", "r") as f:
        theta, x, names = f["theta"][...], f["x"][...], json.loads(f.attrs["dial_names"])
    assert names[4:] == ["MaCCRES", "FrCEx_pi", "FrInel_pi"] and theta.shape[1] == 7
    from nutune.simulator import get_templates

    builtin = yaml.safe_load((extra_run / "config" / "test_config.yaml").read_text())["simulator"]["builtin"]
    templates = get_templates("nominal", sample_seed=builtin["sample_seed"], n_events=builtin["n_events"],
                              cache_dir=builtin["cache_dir"])
    # the bank is the simulator with every free dial applied (up to float32 storage)
    np.testing.assert_allclose(x[:5], templates.evaluate(theta[:5], names=names, bins=x.shape[1]), rtol=1e-5)
    # more charge exchange -> fewer absorbed pions -> a lower background, other dials equal
    low, high = theta[0].copy(), theta[0].copy()
    low[5], high[5] = 0.5, 1.3
    assert templates.evaluate(high, names=names).sum() < templates.evaluate(low, names=names).sum()


@pytest.mark.slow
def test_tables_and_figures_have_every_dial(extra_run) -> None:
    t2k = pd.read_csv(extra_run / PREFIX / "tables" / "t2k.csv")
    assert t2k["dial_name"].tolist()[4:] == ["MaCCRES", "FrCEx_pi", "FrInel_pi"]
    metrics = pd.read_csv(extra_run / PREFIX / "tables" / "test_metrics.csv")
    assert {"MaCCRES", "FrCEx_pi", "FrInel_pi"} <= set(metrics["dial_name"])
    for name in TARGETS:
        assert (extra_run / name).is_file(), name
