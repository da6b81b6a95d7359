"""The genie backend end to end with the TEST DOUBLES in tests/doubles (not GENIE/NUISANCE).

The doubles run the flags and file contracts of gevgen, PrepareGENIE and nuiscomp; here they use a smooth toy
histogram (``NUTUNE_DOUBLE_SIMULATOR=toy``) so that these plumbing tests do not depend on the built-in simulator.
The bank-equality tests (tests/test_genie_workflow.py) use the real built-in simulator.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from nutune.dials import PARAMETER_NAMES, physical_to_dials
from nutune.genie import (
    GenieHistogramError,
    GenieLogError,
    GenieToolError,
    InertDialError,
    generate_events,
    parse_card,
    simulate_points,
    smoke_report_path,
)
from nutune.parameter_space import ParameterSpace

ROOT = Path(__file__).resolve().parents[1]
DOUBLES = ROOT / "tests" / "doubles"
THETA = np.array([[1.10479, 1.65595, 1.0, 0.849], [0.7, 0.4, 0.2, 1.3], [1.3, 2.5, 0.6, 0.1]])


@pytest.fixture
def doubles_env(monkeypatch):
    monkeypatch.setenv("PATH", f"{DOUBLES}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("NUTUNE_DOUBLES_PYTHON", sys.executable)
    monkeypatch.setenv("NUTUNE_DOUBLE_SIMULATOR", "toy")
    monkeypatch.delenv("NUTUNE_DOUBLE_FAULT", raising=False)
    monkeypatch.delenv("APPTAINER_CONTAINER", raising=False)


def make_cfg(tmp_path: Path, *, bins: int = 58, on_bad: str = "fail", **genie) -> SimpleNamespace:
    splines = tmp_path / "gxspl-test-double.xml"
    splines.write_text("<genie_xsec_spline_list/>\n")
    g = dict(
        container=None, gevgen="gevgen", prepare_genie="PrepareGENIE", nuiscomp="nuiscomp",
        tune="G18_10a_02_11a", splines=str(splines),
        flux_file=str(ROOT / "resources/flux/t2kflux_2016_plus250kA.root"), flux_hist="enu_nd280_numu",
        target="1000060120[0.923],1000010010[0.077]", n_events=500, gen_seed=7, keep_events=False,
    )  # fmt: skip
    g.update(genie)
    return SimpleNamespace(
        seed=555,
        simulator=SimpleNamespace(backend="genie", bins=bins, genie=SimpleNamespace(**g)),
        simulation=SimpleNamespace(on_bad_histogram=on_bad),
        parameter_space=ParameterSpace.from_entries(
            [{"dial": n, "min": 0.0, "max": 2.0} for n in PARAMETER_NAMES], backend="genie"),
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """One events file per module (gevgen + PrepareGENIE doubles); tests copy it so each smoke check is fresh."""
    tmp = tmp_path_factory.mktemp("gen")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", f"{DOUBLES}{os.pathsep}{os.environ['PATH']}")
        mp.setenv("NUTUNE_DOUBLES_PYTHON", sys.executable)
        mp.delenv("NUTUNE_DOUBLE_FAULT", raising=False)
        ev = generate_events(make_cfg(tmp), output=tmp / "genie" / "events_prepared.root", workdir=tmp / "work")
    return tmp, ev


@pytest.fixture
def events(tmp_path, doubles_env, generated):
    gen_dir, src = generated
    ev = tmp_path / "genie" / "events_prepared.root"
    ev.parent.mkdir()
    shutil.copyfile(src, ev)
    return make_cfg(tmp_path), ev


def _toy(theta, bins):
    sys.path.insert(0, str(DOUBLES))
    try:
        from _doubles import _toy as toy
    finally:
        sys.path.remove(str(DOUBLES))
    return toy(theta, bins)


def test_generate_and_simulate(tmp_path, events, generated):
    cfg, ev = events
    gen_dir, _ = generated
    assert ev.is_file() and not (gen_dir / "work" / "gntp.0.ghep.root").exists()
    assert "TEST DOUBLE" in (gen_dir / "work" / "gevgen.log").read_text()
    x = simulate_points(THETA, cfg=cfg, workdir=tmp_path / "shard", events_file=ev)
    assert x.shape == (3, 58)
    np.testing.assert_allclose(x, _toy(THETA, 58), rtol=1e-12)
    assert smoke_report_path(ev).is_file()
    card = parse_card((tmp_path / "shard" / "point_00001.card.xml").read_text())
    np.testing.assert_allclose(card.dials(), physical_to_dials(THETA[1]), rtol=0, atol=1e-15)
    # finished points are reused on a retry (resumption): outputs are not rewritten
    mtime = (tmp_path / "shard" / "point_00000.root").stat().st_mtime_ns
    y = simulate_points(THETA, cfg=cfg, workdir=tmp_path / "shard", events_file=ev)
    np.testing.assert_array_equal(x, y)
    assert (tmp_path / "shard" / "point_00000.root").stat().st_mtime_ns == mtime


def test_67_bins(tmp_path, events):
    _, ev = events
    cfg = make_cfg(tmp_path, bins=67)
    x = simulate_points(THETA[:1], cfg=cfg, workdir=tmp_path / "s67", events_file=ev)
    assert x.shape == (1, 67)


def test_inert_mec_calculator_is_caught(tmp_path, events, monkeypatch):
    cfg, ev = events
    monkeypatch.setenv("NUTUNE_DOUBLE_FAULT", "inert_mec")
    with pytest.raises(InertDialError, match="MEC calculator is missing"):
        simulate_points(THETA, cfg=cfg, workdir=tmp_path / "s", events_file=ev)
    assert not smoke_report_path(ev).exists()


@pytest.mark.parametrize(
    ("fault", "error", "match"),
    [
        ("old_reweight", GenieLogError, "R-1_01_00"),
        ("dxsec_mismatch", GenieLogError, "tune or splines"),
        ("bins67", GenieHistogramError, "67 bins, expected 58"),
        ("nan", GenieHistogramError, "non-finite"),
    ],
)
def test_faults_fail_loudly(tmp_path, events, monkeypatch, fault, error, match):
    cfg, ev = events
    monkeypatch.setenv("NUTUNE_DOUBLE_FAULT", fault)
    with pytest.raises(error, match=match):
        simulate_points(THETA[:1], cfg=cfg, workdir=tmp_path / "s", events_file=ev)


def test_nan_rows_are_returned_for_drop_policy(tmp_path, events, monkeypatch):
    _, ev = events
    cfg = make_cfg(tmp_path, on_bad="drop")
    simulate_points(THETA[:1], cfg=cfg, workdir=tmp_path / "ok", events_file=ev)  # smoke check without fault
    monkeypatch.setenv("NUTUNE_DOUBLE_FAULT", "nan")
    x = simulate_points(THETA[:2], cfg=cfg, workdir=tmp_path / "s", events_file=ev)
    assert np.isnan(x[:, 3]).all() and np.isfinite(np.delete(x, 3, axis=1)).all()


def test_missing_tools_and_inputs(tmp_path, doubles_env):
    cfg = make_cfg(tmp_path, gevgen="gevgen-does-not-exist")
    with pytest.raises(GenieToolError, match="not found on PATH.*simulator.genie.gevgen"):
        generate_events(cfg, output=tmp_path / "ev.root", workdir=tmp_path / "w")
    cfg = make_cfg(tmp_path, splines=str(tmp_path / "nope.xml"))
    with pytest.raises(ValueError, match="simulator.genie.splines"):
        generate_events(cfg, output=tmp_path / "ev.root", workdir=tmp_path / "w")
    with pytest.raises(GenieToolError, match="does not exist"):
        simulate_points(THETA, cfg=make_cfg(tmp_path), workdir=tmp_path / "s", events_file=tmp_path / "none.root")
    with pytest.raises(ValueError, match="shape"):
        simulate_points(THETA[0], cfg=make_cfg(tmp_path), workdir=tmp_path / "s", events_file=tmp_path / "x")


def test_container_wrapping(monkeypatch, tmp_path):
    from nutune.genie.runner import wrap_container

    monkeypatch.delenv("APPTAINER_CONTAINER", raising=False)
    monkeypatch.delenv("SINGULARITY_CONTAINER", raising=False)
    assert wrap_container(["nuiscomp", "-c", "c"], None) == ["nuiscomp", "-c", "c"]
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "apptainer").write_text("#!/bin/sh\n")
    (fake / "apptainer").chmod(0o755)
    monkeypatch.setenv("PATH", str(fake))
    cmd = wrap_container(["nuiscomp", "-c", "c"], "nuisance.sif", [tmp_path])
    assert cmd == [str(fake / "apptainer"), "exec", "--bind", str(tmp_path), "nuisance.sif", "nuiscomp", "-c", "c"]
    monkeypatch.setenv("APPTAINER_CONTAINER", "/x.sif")
    assert wrap_container(["nuiscomp"], "nuisance.sif") == ["nuiscomp"]
    monkeypatch.delenv("APPTAINER_CONTAINER")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(GenieToolError, match="apptainer"):
        wrap_container(["nuiscomp"], "nuisance.sif")
