"""Calibration gates: refuse (or flag) real-data inference when the posterior estimator is not calibrated.

The checks compare the test-set diagnostics written by :mod:`nutune.diagnostics`
(``results/diagnostics/metrics.json``) with the thresholds in ``config.gates``:

=====================  ===========================================  =================================
check                  metric (metrics.json key)                    passes when
=====================  ===========================================  =================================
``coverage:<param>``   ``coverage_error[param]``: max |empirical    value ≤ ``max_coverage_error``
                       − nominal| marginal coverage over levels
                       (expected-coverage test, Hermans et al. 2022)
``coverage:joint``     ``joint_coverage_error`` (joint HPD coverage)  value ≤ ``max_coverage_error``
``tarp``               ``tarp_error``: max |TARP expected coverage  value ≤ ``max_tarp_error``
                       − nominal| (Lemos et al. 2023)
``sbc:<param>``        ``sbc_ks_pvalue[param]``: KS p-value of the  value ≥ ``min_sbc_pvalue``
                       SBC rank histogram (Talts et al. 2018)
=====================  ===========================================  =================================

``tarp_ks_pvalue`` is recorded but not gated. A missing or non-finite metric fails its check (a gate never passes
on absent evidence). With ``on_failure: fail`` :func:`enforce_gate` raises :class:`GateError` naming every failed
check and its margin (rule ``calibration_gate``: ``nutune.stages.validate.run_calibration_gate``); with ``warn``
the failure is written into ``gate.json`` (``passed: false``, :func:`write_gate`) and downstream tables can be
marked with :func:`gate_marker`.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nutune.io import atomic_write

__all__ = ["GateCheck", "GateReport", "GateError", "check_gates", "enforce_gate", "write_gate", "read_gate", "gate_marker"]

log = logging.getLogger(__name__)

_GATE_KEYS = ("on_failure", "max_coverage_error", "max_tarp_error", "min_sbc_pvalue")


class GateError(RuntimeError):
    """A calibration gate failed with ``gates.on_failure: fail``."""


@dataclass(frozen=True)
class GateCheck:
    """One gate check.

    Attributes:
        name: Check name, e.g. ``coverage:MaCCQE``, ``tarp``, ``sbc:RPA_CCQE``.
        value: The measured metric (NaN if missing).
        threshold: The configured threshold.
        kind: ``max`` (value must be ≤ threshold) or ``min`` (value must be ≥ threshold).
        passed: Whether the check passed.
        margin: Signed distance to failure in the metric's units: ``threshold - value`` for ``max`` checks and
            ``value - threshold`` for ``min`` checks; negative = failed by that much.
    """

    name: str
    value: float
    threshold: float
    kind: str
    passed: bool
    margin: float

    def message(self) -> str:
        """Human-readable one-liner, e.g. ``tarp = 0.31 > max 0.05 (exceeded by 0.26)``."""
        if not math.isfinite(self.value):
            return f"{self.name}: metric missing or not finite"
        op, word = ("<=", "exceeded") if self.kind == "max" else (">=", "short")
        bad = ">" if self.kind == "max" else "<"
        if self.passed:
            return f"{self.name} = {self.value:.4g} {op} {self.kind} {self.threshold:.4g} (margin {self.margin:.4g})"
        return f"{self.name} = {self.value:.4g} {bad} {self.kind} {self.threshold:.4g} ({word} by {-self.margin:.4g})"


@dataclass
class GateReport:
    """Outcome of all gate checks.

    Attributes:
        passed: True if every check passed.
        on_failure: ``fail`` or ``warn`` (from the configuration).
        checks: Every check, passed or not.
        thresholds: The thresholds used.
        info: Recorded, ungated metrics (e.g. ``tarp_ks_pvalue``).
    """

    passed: bool
    on_failure: str
    checks: list[GateCheck]
    thresholds: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def failures(self) -> list[GateCheck]:
        """The failed checks."""
        return [c for c in self.checks if not c.passed]

    def summary(self) -> str:
        """Multi-line description: PASSED, or FAILED followed by every failed check and its margin."""
        if self.passed:
            return f"calibration gate PASSED ({len(self.checks)} checks)"
        lines = [f"calibration gate FAILED ({len(self.failures)} of {len(self.checks)} checks):"]
        lines += [f"  - {c.message()}" for c in self.failures]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dictionary (the content of ``gate.json``)."""
        return {
            "passed": self.passed,
            "on_failure": self.on_failure,
            "summary": self.summary(),
            "failed": [c.name for c in self.failures],
            "checks": [
                {**asdict(c), "value": _json_float(c.value), "margin": _json_float(c.margin),
                 "message": c.message()}
                for c in self.checks
            ],
            "thresholds": self.thresholds,
            "info": self.info,
        }


def _json_float(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _gate_value(gates: Any, key: str) -> Any:
    if isinstance(gates, Mapping):
        if key not in gates:
            raise KeyError(f"gates.{key} is missing; required keys: {', '.join(_GATE_KEYS)}")
        return gates[key]
    return getattr(gates, key)


def _as_float(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return f


def _check(name: str, value: Any, threshold: float, kind: str) -> GateCheck:
    v = _as_float(value)
    if not math.isfinite(v):
        return GateCheck(name, float("nan"), threshold, kind, False, float("nan"))
    margin = threshold - v if kind == "max" else v - threshold
    return GateCheck(name, v, threshold, kind, margin >= 0, margin)


def check_gates(metrics: Mapping[str, Any], gates: Any) -> GateReport:
    """Check diagnostics metrics against the calibration thresholds.

    Args:
        metrics: The content of ``metrics.json``: ``coverage_error`` {param: float}, ``joint_coverage_error``,
            ``tarp_error``, ``tarp_ks_pvalue``, ``sbc_ks_pvalue`` {param: float}.
        gates: ``cfg.gates`` (:class:`nutune.config.GatesConfig`) or a mapping with the same keys.

    Returns:
        A :class:`GateReport`; missing metrics are failed checks.
    """
    on_failure = str(_gate_value(gates, "on_failure"))
    if on_failure not in ("fail", "warn"):
        raise ValueError(f"gates.on_failure must be 'fail' or 'warn', got {on_failure!r}")
    max_cov = float(_gate_value(gates, "max_coverage_error"))
    max_tarp = float(_gate_value(gates, "max_tarp_error"))
    min_sbc = float(_gate_value(gates, "min_sbc_pvalue"))
    checks: list[GateCheck] = []
    cov = metrics.get("coverage_error")
    if isinstance(cov, Mapping) and cov:
        checks += [_check(f"coverage:{p}", v, max_cov, "max") for p, v in cov.items()]
    else:
        checks.append(_check("coverage", None, max_cov, "max"))
    checks.append(_check("coverage:joint", metrics.get("joint_coverage_error"), max_cov, "max"))
    checks.append(_check("tarp", metrics.get("tarp_error"), max_tarp, "max"))
    sbc = metrics.get("sbc_ks_pvalue")
    if isinstance(sbc, Mapping) and sbc:
        checks += [_check(f"sbc:{p}", v, min_sbc, "min") for p, v in sbc.items()]
    else:
        checks.append(_check("sbc", None, min_sbc, "min"))
    info = {"tarp_ks_pvalue": metrics.get("tarp_ks_pvalue")}
    thresholds = {"max_coverage_error": max_cov, "max_tarp_error": max_tarp, "min_sbc_pvalue": min_sbc}
    return GateReport(all(c.passed for c in checks), on_failure, checks, thresholds, info)


def enforce_gate(report: GateReport, metrics_path: str | Path) -> None:
    """Log the gate's verdict; raise when it failed and ``on_failure`` is ``fail``.

    Raises:
        GateError: The message names each failed check and the margin it failed by (``metrics_path``: the
            ``metrics.json`` it was computed from).
    """
    if not report.passed and report.on_failure == "fail":
        log.error(report.summary())
        raise GateError(
            f"{report.summary()}\nThe posterior estimator is not calibrated on the test set "
            f"({metrics_path}); real-data inference is blocked. Train more (simulation.n_train, npe.*) or set "
            "gates.on_failure: warn to continue with marked tables."
        )
    if report.passed:
        log.info(report.summary())
    else:
        log.warning("%s\n(gates.on_failure: warn - continuing, gate.json records the failure)", report.summary())


def write_gate(report: GateReport, path: str | Path) -> None:
    """Write ``gate.json`` (read back by :func:`read_gate`)."""
    with atomic_write(path, suffix=".json") as tmp:
        tmp.write_text(json.dumps(report.to_dict(), indent=2) + "\n")


def read_gate(path: str | Path) -> dict[str, Any]:
    """Read ``gate.json`` written by :func:`write_gate`."""
    with open(path) as f:
        return json.load(f)


def gate_marker(path: str | Path | None) -> str:
    """A marker for tables built on real data: ``""`` if the gate passed (or no gate), else a warning string.

    Args:
        path: ``gate.json`` or ``None``.

    Returns:
        ``""`` or ``"UNCALIBRATED: failed <checks>"`` to put into a table's ``gate`` column or caption.
    """
    if path is None or not Path(path).exists():
        return ""
    g = read_gate(path)
    return "" if g.get("passed", False) else "UNCALIBRATED: failed " + ", ".join(g.get("failed", []))
