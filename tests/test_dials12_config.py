"""config/dials12.yaml (issue 14 item 4): the twelve-dial paper-scale tune loads and plans as typed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import snakemake

from nutune import load_config
from nutune.dials import REGISTRY, check_dial_set
from tests.test_workflow import job_counts

REPO = Path(__file__).resolve().parents[1]
DIALS12 = REPO / "config" / "dials12.yaml"


def test_twelve_free_dials_with_genie_three_sigma_priors() -> None:
    cfg = load_config(DIALS12)
    names = cfg.dial_names
    assert len(names) == 12 and all(REGISTRY[n].builtin for n in names)
    check_dial_set(names)  # a set GENIE Reweight applies together (RES shape mode, absorption the cushion)
    assert cfg.npe.noise == "covariance" and cfg.constraints.activate and cfg.constraints.mode == "NORMSHAPE"
    assert cfg.reference.n_walkers >= 2 * len(names) and cfg.reference.moves == "de"
    for p in cfg.parameters[4:8]:  # the non-fate extra dials: GENIE's +-3 sigma around nominal (inside the range)
        spec = REGISTRY[p.dial]
        lo, hi = spec.valid_range
        box = (max(lo, float(spec.to_physical(-3.0))), min(hi, float(spec.to_physical(3.0))))
        np.testing.assert_allclose((p.min, p.max), box, atol=5e-4)


def test_dials12_plans_the_whole_run() -> None:
    result = snakemake(["-n", "--forceall", "--quiet", "rules", "--configfile", str(DIALS12)], timeout=180)
    counts = job_counts(result.stdout)
    assert counts["simulate_shard"] == 202 and counts["train_npe"] == 1
    assert counts["likelihood_npe"] == 1  # the NORMSHAPE network of the constraint table
    assert counts.get("reference_npe", 0) == 0  # the main network is noise-aware: it is the reference network
    for rule in ("constraints", "reference_c2st", "classical_fit", "diagnose", "calibration_gate"):
        assert counts[rule] == 1, rule
