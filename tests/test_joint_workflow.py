"""Issue 15 items 4-5 end to end on a tiny joint T2K + MINERvA config (test_config.yaml's sizes, the measurement a
list), in a fresh clone, typed as a user types it: `snakemake -n` of the paper-scale joint config plans, and the tiny
joint run builds the bank of paired 202-bin predictions, the joint and single-part networks and the joint tables.
Slow: one small workflow run (~5 min on 2 shared cores)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import fresh_clone
from test_design_card import typed

REPO = Path(__file__).resolve().parents[1]
PARTS = ["t2k_cc0pi_2016_anaI", "minerva_cc0pi_2d_le"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = fresh_clone(tmp_path_factory.mktemp("joint") / "nutune")
    d = yaml.safe_load((REPO / "config" / "test_config.yaml").read_text())
    d["results_dir"] = "results/joint_tiny"
    d["simulator"].update(measurement=PARTS, bins=202)
    d["simulator"]["builtin"]["n_events"] = 100000
    d["observations"] = {"joint": {"kind": "data"}}
    d["npe"]["noise"] = "covariance"
    for section in ("learning_curve", "stability"):
        d[section]["activate"] = False
    d["constraints"].update(mode="NORMSHAPE")  # the joint NORMSHAPE network (per-experiment noise models)
    (root / "joint_tiny.yaml").write_text(yaml.safe_dump(d, sort_keys=False))
    return root


def test_paper_scale_joint_config_plans(clone: Path) -> None:
    out = typed(clone, "snakemake -n --configfile config/joint_t2k_minerva.yaml").stdout
    for rule in ("part_npe", "part_infer", "joint_tables", "train_npe", "figure_slice_comparison"):
        assert f"rule {rule}:" in out, rule
    assert "results/joint/tables/joint_chi2.csv" in out and "results/joint/figures/slice_comparison_21.pdf" in out


def test_tiny_joint_run_to_the_tables(clone: Path) -> None:
    # the joint stage's own outputs (targets before --configfile, which takes several values) (and what they need: bank, the three networks, gate, throws), not the whole DAG
    targets = " ".join(f"results/joint_tiny/{name}" for name in (
        "tables/joint_chi2.csv", "tables/joint_tension.csv", "tables/t2k.csv", "figures/joint_posteriors.pdf",
        "figures/slice_comparison_21.png", "tables/constraints.csv"))
    typed(clone, f"snakemake --cores 2 {targets} --configfile joint_tiny.yaml", timeout=1500)
    tables = clone / "results/joint_tiny/tables"
    chi2 = pd.read_csv(tables / "joint_chi2.csv")
    assert list(dict.fromkeys(chi2["tune"])) == ["MicroBooNE tune", "T2K-only", "MINERvA-only", "joint"]
    modes = ["FULL", "DIAG", "SHAPE", "NORMSHAPE"]
    for _, rows in chi2.groupby("tune"):
        by = rows.set_index("measurement")
        assert list(by.index) == ["T2K", "MINERvA", "total"] and list(by["n_bins"]) == [58, 144, 202]
        np.testing.assert_allclose(by.loc["total", modes].to_numpy(float),
                                   by.loc[["T2K", "MINERvA"], modes].to_numpy(float).sum(axis=0), rtol=1e-12)
    tension = pd.read_csv(tables / "joint_tension.csv")
    gof = {f"parameter_goodness_of_fit_{mode}" for mode in modes}
    network_rows = {f"{statistic}_{mode}" for statistic in ("parameter_shift", "ppc_pvalue")
                    for mode in ("FULL", "NORMSHAPE")}  # constraints.mode NORMSHAPE: its part networks too
    assert set(tension["statistic"]) == {*network_rows, *gof}
    assert tension["value"].between(0, 1).all() and len(tension) == 2 * (1 + 4) + len(gof)
    for _, row in tension[tension["statistic"].isin(gof)].iterrows():  # chi2_PG = joint - sum of the parts' minima
        numbers = [float(v) for v in re.findall(r"\) (-?[\d.]+)", row["meaning"])]
        assert len(numbers) == 3 and numbers[0] >= numbers[1] + numbers[2] - 1e-2
    t2k = pd.read_csv(tables / "t2k.csv")
    assert set(t2k["observation"]) == {"joint"} and int(t2k["ndf"].iloc[0]) == 202
    assert (clone / "results/joint_tiny/figures/joint_posteriors.pdf").is_file()
    assert (clone / "results/joint_tiny/figures/slice_comparison_21.png").is_file()
    constraints = pd.read_csv(tables / "constraints.csv")
    assert list(constraints["dial_name"]) == ["MaCCQE", "NormCCMEC", "XSecShape_CCMEC", "RPA_CCQE"]
    assert constraints["width_ratio"].between(0, 1.5).all()
    meta = json.loads((clone / "results/joint_tiny/likelihood_modes/model/NORMSHAPE/npe_0.json").read_text())
    assert meta["noise"]["likelihood"] == "NORMSHAPE"
    for part in PARTS:
        for mode in ("FULL", "NORMSHAPE"):
            samples = np.load(clone / f"results/joint_tiny/parts/{part}/{mode}/posterior.npz")["samples"]
            assert samples.shape[1] == 4 and np.isfinite(samples).all()
        meta = json.loads((clone / f"results/joint_tiny/parts/{part}/NORMSHAPE/model/npe_0.json").read_text())
        assert meta["noise"]["likelihood"] == "NORMSHAPE"
