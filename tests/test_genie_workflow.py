"""The workflow with ``simulator.backend: genie``: DAG size at paper scale, and the bank stage run through the
GENIE+NUISANCE backend with the TEST DOUBLES (tests/doubles; not GENIE/NUISANCE) equals the builtin backend's bank.

The doubles' nuiscomp converts the card's dial values back to physical values and evaluates the built-in
simulator with the config's ``simulator.builtin`` templates, so every step of the genie path (events rule, smoke
check, cards, dial conversion, nuiscomp runs, uproot reading, guards, shard/merge) is exercised and must reproduce
the builtin bank to floating-point precision.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from nutune import paths

REPO = Path(__file__).resolve().parents[1]
DOUBLES = REPO / "tests" / "doubles"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def run_snakemake(args: list[str], *, env: dict | None = None, timeout: int = 300) -> str:
    cmd = ["timeout", "-k", "30", str(timeout), SNAKEMAKE, "-s", str(REPO / "Snakefile"), *args]
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    res = subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True)
    out = res.stdout + res.stderr
    if res.returncode != 0:
        pytest.fail(f"snakemake {' '.join(args)} failed ({res.returncode}):\n{out[-6000:]}")
    return out


def job_counts(output: str) -> dict[str, int]:
    block = output.split("Job stats:")[1]
    counts = {}
    for line in block.splitlines()[3:]:
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not m:
            break
        counts[m.group(1)] = int(m.group(2))
    return counts


def genie_config(base: dict, splines: Path, **simulation) -> dict:
    cfg = yaml.safe_load(yaml.safe_dump(base))
    cfg["simulator"]["backend"] = "genie"
    cfg["simulator"]["genie"].update(splines=str(splines), n_events=500, gen_seed=7, keep_events=False)
    cfg["simulation"].update(simulation)
    return cfg


def make_workdir(path: Path, config: dict) -> Path:
    path.mkdir(parents=True)
    (path / "resources").symlink_to(REPO / "resources")
    (path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_paper_scale_dag_with_genie_backend(tmp_path):
    """200 000 + 2000 points at shard_size 1000 with backend genie: 200 + 2 shard jobs, one event generation, one smoke
    check; a few hundred jobs in all (a dry-run, nothing is executed)."""
    splines = tmp_path / "gxspl.xml"
    splines.write_text("<genie_xsec_spline_list/>\n")
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    base["results_dir"] = "results/genie_dag"  # results/ is the paper config's own prefix
    cfg = genie_config(base, splines)
    assert cfg["simulation"]["n_train"] == 200000 and cfg["simulation"]["shard_size"] == 1000
    work = make_workdir(tmp_path / "w", cfg)
    out = run_snakemake(["-n", "--directory", str(work), "--configfile", str(work / "config.yaml")])
    counts = job_counts(out)
    assert counts["simulate_shard"] == 200 + 2
    assert counts["genie_generate_events"] == 1 and counts["genie_smoke_check"] == 1
    assert 200 < counts["total"] < 400, counts


@pytest.mark.slow
def test_genie_bank_equals_builtin_bank(tmp_path):
    cache = tmp_path / "cache"
    splines = tmp_path / "gxspl-test-double.xml"
    splines.write_text("<genie_xsec_spline_list/>\n")
    base = yaml.safe_load((REPO / "config" / "test_config.yaml").read_text())
    base["simulator"]["builtin"]["cache_dir"] = str(cache)
    base["simulation"].update(n_train=12, n_test=4, shard_size=6)
    base["diagnostics"].update(n_pulls=4, corner_index=0)
    base["learning_curve"] = {**base.get("learning_curve", {}), "activate": False, "n_train": [6, 12]}
    builtin = make_workdir(tmp_path / "builtin", base)
    genie = make_workdir(tmp_path / "genie", genie_config(base, splines))
    res, logs = base["results_dir"], paths.log_dir(base["results_dir"])  # results/tiny, logs/tiny
    targets = [f"{res}/bank/train.h5", f"{res}/bank/test.h5"]
    run_snakemake(["--directory", str(builtin), "--configfile", str(builtin / "config.yaml"), "--cores", "2",
                   *targets])
    env = {
        "PATH": f"{DOUBLES}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "NUTUNE_DOUBLES_PYTHON": sys.executable,
        "NUTUNE_DOUBLE_CONFIG": str(genie / "config.yaml"),
    }
    out = run_snakemake(["--directory", str(genie), "--configfile", str(genie / "config.yaml"), "--cores", "2",
                         *targets], env=env)
    assert "genie_generate_events" in out and "genie_smoke_check" in out
    assert not (genie / f"{res}/genie/events_prepared.root").exists()  # temp(): removed once the shards are done
    assert (genie / f"{res}/genie/events_prepared.smoke.json").is_file()
    assert "TEST DOUBLE" in (genie / f"{logs}/genie_generate_events/gevgen.log").read_text()
    for split in ("train", "test"):
        with h5py.File(builtin / f"{res}/bank/{split}.h5") as b, h5py.File(genie / f"{res}/bank/{split}.h5") as g:
            assert b.attrs["backend"] == "builtin" and g.attrs["backend"] == "genie"
            np.testing.assert_array_equal(g["theta"][:], b["theta"][:])
            np.testing.assert_allclose(g["x"][:], b["x"][:], rtol=1e-12, atol=0)
    cards = sorted((genie / f"{res}/bank/shards/train").glob(".work_shard_*/point_*.card.xml"))
    assert len(cards) == 12


def test_minerva_genie_events_rule_uses_the_le_flux_over_0_to_100_gev(tmp_path):
    """The events rule of a MINERvA config (dry-run, shell commands printed): gevgen and PrepareGENIE on the LE flux's
    numu_fhc, gevgen -e 0,100 (NUISANCE's SetEnuRange of MINERvA_CC0pi_XSec_2Dptpz_nu), not T2K's 0,30."""
    splines = tmp_path / "gxspl.xml"
    splines.write_text("<genie_xsec_spline_list/>\n")
    base = yaml.safe_load((REPO / "config" / "test_config.yaml").read_text())
    base["results_dir"] = "results/minerva_genie_dag"
    cfg = genie_config(base, splines)
    cfg["simulator"].update(measurement="minerva_cc0pi_2d_le", bins=144)
    cfg["simulator"]["genie"].update(flux_file="resources/minerva_cc0pi_2d_le/minerva_le_flux.root",
                                     flux_hist="numu_fhc")
    cfg["observations"] = {"data": {"kind": "data"}}
    cfg["npe"]["noise_components"] = ["stat", "syst"]
    cfg["inference"]["throw_components"] = ["stat", "syst"]
    work = make_workdir(tmp_path / "w", cfg)
    out = run_snakemake([paths.prefixed("results/genie/events_prepared.root", "results/minerva_genie_dag"), "-n",
                         "-p", "--directory", str(work), "--configfile", str(work / "config.yaml")])
    gevgen = next(line for line in out.splitlines() if " -e " in line and "gevgen" in line)
    assert " -e 0,100 " in gevgen and "minerva_le_flux.root,numu_fhc" in gevgen
    assert "PrepareGENIE" in out and out.count("minerva_le_flux.root,numu_fhc") >= 2
