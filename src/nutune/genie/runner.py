"""Run gevgen / PrepareGENIE / nuiscomp and turn their output into histograms (the ``genie`` backend).

The bank stage calls :func:`simulate_points` for one shard's physical θ rows (same contract as the built-in
simulator's shard function): it writes one NUISANCE card per point, runs ``nuiscomp``, checks the log and the
histogram (:mod:`nutune.genie.guards`) and returns the (m, bins) predictions in 1e-38 cm²/(GeV/c)/nucleon.

Executables come from ``cfg.simulator.genie`` and are looked up on PATH. If ``cfg.simulator.genie.container`` is
set and the process is not already inside an Apptainer/Singularity container, each tool is run as
``apptainer exec --bind <dirs> <image> <tool> ...`` (the rules that only run tools get a ``container:`` directive
instead, used with ``--software-deployment-method apptainer``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nutune.dials import PARAMETER_NAMES, physical_to_dials
from nutune.io import atomic_write
from nutune.measurements import measurement_of

from .cards import (
    gevgen_command,
    gevgen_output,
    nuisance_card,
    nuiscomp_command,
    prepare_genie_command,
)
from .guards import (
    GenieToolError,
    check_dial_response,
    check_histogram,
    check_nuiscomp_log,
)
from .readers import read_nuisance_mc

__all__ = [
    "in_container",
    "wrap_container",
    "run_tool",
    "generate_events",
    "smoke_report_path",
    "smoke_check",
    "evaluate_point",
    "simulate_points",
]

log = logging.getLogger("nutune.genie")

#: NormCCMEC dial value of the inert-calculator smoke check (physical N = 1 + 0.5·2 = 2).
SMOKE_DIAL_VALUE = 2.0


def _genie(cfg: Any) -> Any:
    try:
        return cfg.simulator.genie
    except AttributeError:
        raise ValueError("config has no simulator.genie section (needed for simulator.backend: genie)") from None


def in_container() -> bool:
    """True inside an Apptainer/Singularity container (then tools are called directly)."""
    return bool(os.environ.get("APPTAINER_CONTAINER") or os.environ.get("SINGULARITY_CONTAINER"))


def wrap_container(cmd: Sequence[str], container: str | None, binds: Sequence[str | os.PathLike] = ()) -> list[str]:
    """Prefix ``apptainer exec --bind ...`` when a container image is configured and we are not inside one."""
    cmd = [os.fspath(c) for c in cmd]
    if not container or in_container():
        return cmd
    runtime = shutil.which("apptainer") or shutil.which("singularity")
    if runtime is None:
        raise GenieToolError(
            f"simulator.genie.container is {container!r} but neither apptainer nor singularity is on PATH"
        )
    dirs = sorted({os.path.abspath(os.fspath(b)) for b in binds})
    bind_args = [a for d in dirs for a in ("--bind", d)]
    return [runtime, "exec", *bind_args, container, *cmd]


def run_tool(cmd: Sequence[str], *, log_path: str | os.PathLike, cwd: str | os.PathLike | None = None,
             container: str | None = None, binds: Sequence[str | os.PathLike] = (),
             key: str = "<tool>") -> tuple[int, str]:
    """Run one external tool, write its combined stdout/stderr to ``log_path`` and return (returncode, text).

    Raises:
        GenieToolError: the executable does not exist.
    """
    full = wrap_container(cmd, container, [*binds, cwd or os.getcwd()])
    if shutil.which(full[0]) is None:
        raise GenieToolError(
            f"executable {full[0]!r} not found on PATH (set simulator.genie.{key} or "
            "simulator.genie.container; see docs/cluster.md)"
        )
    t0 = time.monotonic()
    proc = subprocess.run(full, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    text = proc.stdout or ""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as fh:
        fh.write(f"$ {' '.join(full)}\n{text}\n# exit {proc.returncode} after {time.monotonic() - t0:.2f} s\n")
    return proc.returncode, text


def _fail(what: str, rc: int, text: str, log_path: str | os.PathLike) -> GenieToolError:
    tail = "\n".join(text.strip().splitlines()[-15:])
    return GenieToolError(f"{what} failed with exit code {rc}; log {log_path}; last lines:\n{tail}")


def generate_events(cfg: Any, *, output: str | os.PathLike, workdir: str | os.PathLike,
                    log_dir: str | os.PathLike | None = None) -> Path:
    """Generate the GENIE event sample and prepare it for NUISANCE: gevgen, then PrepareGENIE → ``output``.

    Args:
        cfg: Typed config (uses ``cfg.simulator.genie``).
        output: The prepared events file (``results/genie/events_prepared.root`` in the workflow).
        workdir: Scratch directory for the raw ``.ghep.root`` file (deleted after PrepareGENIE succeeds).
        log_dir: Where ``gevgen.log`` and ``PrepareGENIE.log`` go (default: ``workdir``).
    """
    g = _genie(cfg)
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    logs = Path(log_dir).resolve() if log_dir is not None else work
    for path, key in ((g.splines, "splines"), (g.flux_file, "flux_file")):
        if not g.container and not Path(path).exists():
            raise ValueError(f"simulator.genie.{key} = {path!r} does not exist")
    prefix = work / "gntp"
    ghep = gevgen_output(prefix, 0)
    binds = [work, Path(g.flux_file).parent, Path(g.splines).parent, Path(output).parent]
    cmd = gevgen_command(g, prefix=prefix, run=0)
    rc, text = run_tool(cmd, log_path=logs / "gevgen.log", cwd=work, container=g.container, binds=binds,
                        key="gevgen")
    if rc != 0 or not ghep.is_file():
        raise _fail("gevgen", rc, text + ("" if ghep.is_file() else f"\n(no output file {ghep})"), logs / "gevgen.log")
    out = Path(output).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.root")
    cmd = prepare_genie_command(g, ghep=ghep, output=tmp)
    rc, text = run_tool(cmd, log_path=logs / "PrepareGENIE.log", cwd=work, container=g.container, binds=binds,
                        key="prepare_genie")
    if rc != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise _fail("PrepareGENIE", rc, text, logs / "PrepareGENIE.log")
    os.replace(tmp, out)
    ghep.unlink(missing_ok=True)
    log.info("GENIE events prepared: %s (%d bytes)", out, out.stat().st_size)
    return out


def _file_identity(path: Path) -> dict[str, Any]:
    st = path.stat()
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        h.update(fh.read(1 << 20))
    return {"path": str(path.resolve()), "size": st.st_size, "sha256_first_MiB": h.hexdigest()}


def smoke_report_path(events_file: str | os.PathLike) -> Path:
    """Where the once-per-events-file smoke check report lives: ``<events stem>.smoke.json`` next to it."""
    p = Path(events_file)
    return p.with_name(p.name.removesuffix(".root") + ".smoke.json")


def evaluate_point(cfg: Any, theta: np.ndarray, *, events_file: str | os.PathLike, workdir: str | os.PathLike,
                   tag: str, allow_bad_values: bool = False, dials: np.ndarray | None = None,
                   names: Sequence[str] = PARAMETER_NAMES) -> np.ndarray:
    """One nuiscomp evaluation at physical ``theta`` of dials ``names`` (or at explicit ``dials`` of them);
    returns the checked histogram.

    Files ``<tag>.card.xml``, ``<tag>.root`` and ``<tag>.log`` are written in ``workdir``. A finished point
    (output present and card text identical) is reused, so a retried shard resumes where it stopped.
    """
    g = _genie(cfg)
    bins = int(cfg.simulator.bins)
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    th = np.asarray(theta, dtype=float)
    if dials is not None:
        # Card from explicit dial values (smoke check); theta is the corresponding physical point.
        from nutune.dials import dials_to_physical

        th = dials_to_physical(np.asarray(dials, dtype=float), names)
    sample = measurement_of(cfg).card_sample(bins)
    text = nuisance_card(th, tune=g.tune, events_file=events_file, bins=bins, names=names,
                         sample=sample.pop("name"), sample_keys=sample)
    card = work / f"{tag}.card.xml"
    out = work / f"{tag}.root"
    logp = work / f"{tag}.log"
    if not (out.is_file() and card.is_file() and card.read_text() == text):
        out.unlink(missing_ok=True)
        with atomic_write(card) as tmp:
            tmp.write_text(text)
        tmp_out = work / f".{tag}.tmp.root"
        tmp_out.unlink(missing_ok=True)
        cmd = nuiscomp_command(g, card=card, output=tmp_out)
        rc, log_text = run_tool(cmd, log_path=logp, cwd=work, container=g.container,
                                binds=[work, Path(events_file).parent], key="nuiscomp")
        check_nuiscomp_log(log_text, source=str(logp))
        if rc != 0 or not tmp_out.is_file():
            tmp_out.unlink(missing_ok=True)
            raise _fail(f"nuiscomp ({card})", rc, log_text, logp)
        os.replace(tmp_out, out)
    else:
        check_nuiscomp_log(logp.read_text() if logp.is_file() else "", source=str(logp))
    values = read_nuisance_mc(out, sample=measurement_of(cfg).nuisance_sample, bins=bins)
    return check_histogram(values, bins=bins, theta=th, allow_bad_values=allow_bad_values, source=str(out))


def smoke_check(cfg: Any, *, events_file: str | os.PathLike, workdir: str | os.PathLike,
                report: str | os.PathLike | None = None) -> dict[str, Any]:
    """Check once per events file that NormCCMEC acts (the MEC calculator is compiled in) and write a report.

    Evaluates the nominal dials (all 0) and NormCCMEC = 2 (dial units); raises
    :class:`nutune.genie.guards.InertDialError` if the histograms are identical. The JSON report (default
    :func:`smoke_report_path`) records the events file identity so that later shards skip the check.
    """
    ev = Path(events_file)
    if not ev.is_file():
        raise GenieToolError(f"GENIE events file {ev} does not exist (run rule genie_generate_events)")
    nominal_d = np.zeros(len(PARAMETER_NAMES))
    tweaked_d = nominal_d.copy()
    tweaked_d[PARAMETER_NAMES.index("NormCCMEC")] = SMOKE_DIAL_VALUE
    h0 = evaluate_point(cfg, nominal_d, events_file=ev, workdir=workdir, tag="smoke_nominal", dials=nominal_d)
    h1 = evaluate_point(cfg, nominal_d, events_file=ev, workdir=workdir, tag="smoke_normccmec2", dials=tweaked_d)
    change = check_dial_response(h0, h1, dial="NormCCMEC", value=SMOKE_DIAL_VALUE)
    rep = {
        "check": "NormCCMEC = 2 (dial) changes the NUISANCE histogram",
        "passed": True,
        "max_relative_change": change,
        "events": _file_identity(ev),
        "bins": int(cfg.simulator.bins),
        "tune": str(_genie(cfg).tune),
    }
    dest = Path(report) if report is not None else smoke_report_path(ev)
    with atomic_write(dest) as tmp:
        tmp.write_text(json.dumps(rep, indent=1) + "\n")
    log.info("MEC smoke check passed (max relative change %.3g); report %s", change, dest)
    return rep


def _smoke_done(events_file: Path, bins: int) -> bool:
    rep = smoke_report_path(events_file)
    if not rep.is_file():
        return False
    try:
        data = json.loads(rep.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return bool(data.get("passed")) and data.get("bins") == bins and data.get("events") == _file_identity(events_file)


def simulate_points(theta: np.ndarray, *, cfg: Any, workdir: str | os.PathLike,
                    events_file: str | os.PathLike) -> np.ndarray:
    """The ``genie`` backend's shard function: physical free-dial θ (m, d) → NUISANCE predictions (m, bins).

    Runs the MEC smoke check first unless a matching report exists for ``events_file``. Non-finite or negative
    histograms raise (naming θ) when ``cfg.simulation.on_bad_histogram`` is ``fail``; with ``drop`` they are
    returned as they are so that the bank drops and counts them. Every other problem (tool failure, log guard,
    wrong bins, wrong units) raises a :class:`nutune.genie.guards.GenieBackendError`.

    Args:
        theta: Physical parameter points, shape (m, d), the free dials of ``cfg.parameter_space``; its fixed dials
            are written into every card as well.
        cfg: Typed config (``simulator.genie``, ``simulator.bins``, ``simulation.on_bad_histogram``).
        workdir: Scratch directory for this shard's cards, outputs and logs (kept for inspection and resumption).
        events_file: The prepared GENIE events (``results/genie/events_prepared.root``).
    """
    th = np.asarray(theta, dtype=float)
    space = cfg.parameter_space
    if th.ndim != 2 or th.shape[1] != space.dim:
        raise ValueError(f"theta must have shape (m, {space.dim}) ({', '.join(space.names)}), got {th.shape}")
    if not np.all(np.isfinite(th)):
        raise ValueError("theta contains non-finite values")
    names, points = space.card_point(th)
    physical_to_dials(points, names)  # validates the conversion path once
    ev = Path(events_file)
    if not ev.is_file():
        raise GenieToolError(f"GENIE events file {ev} does not exist (run rule genie_generate_events)")
    bins = int(cfg.simulator.bins)
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    if not _smoke_done(ev, bins):
        smoke_check(cfg, events_file=ev, workdir=work / "smoke")
    policy = getattr(getattr(cfg, "simulation", None), "on_bad_histogram", "fail")
    out = np.empty((th.shape[0], bins))
    t0 = time.monotonic()
    for i, row in enumerate(points):
        out[i] = evaluate_point(cfg, row, events_file=ev, workdir=work, tag=f"point_{i:05d}",
                                allow_bad_values=(policy == "drop"), names=names)
    log.info("genie backend: %d points in %.1f s (%s)", th.shape[0], time.monotonic() - t0, work)
    return out
