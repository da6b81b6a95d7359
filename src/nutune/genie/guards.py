"""Loud failure modes of a GENIE+NUISANCE job (physics.md §1.7): each check raises a clear RuntimeError.

Real GENIE/NUISANCE installations fail *silently* in several known ways; every one of them would make the
simulation bank wrong without any error. The checks below turn them into exceptions:

* **Inert MEC dials.** NUISANCE compiles the ``GReWeightXSecMEC`` calculator in only when CMake found it
  (``#ifdef GENIE3_XSECMEC_ENABLED`` in NUISANCE ``src/Reweight/GENIE3WeightEngine.cxx``); otherwise NormCCMEC and
  XSecShape_CCMEC are accepted and do nothing. :func:`check_dial_response` compares a nominal histogram with one at
  NormCCMEC = 2 (a smoke check, once per events file).
* **Old Reweight.** RPA_CCQE and XSecShape_CCMEC exist from Reweight R-1_01_00 on. With an older build
  ``GSyst::FromString`` returns ``kNullSystematic`` and NUISANCE aborts with ``Dial <name> not found.``
  (``FitBase::GetDialEnum`` in NUISANCE ``src/Reweight/WeightUtils.cxx``); :func:`check_nuiscomp_log` names it.
* **Tune/spline mismatch.** GENIE Reweight warns ``default dxsec does not match dxsec saved in tree`` when the
  tune or splines differ from generation; treated as fatal.
* **ABS parameter state.** A ``state`` containing ``ABS`` routes the value through NUISANCE's
  ``parameters/dial_conversion.card`` (``FitBase::RWAbsToSigma``, which logs ``AbsToSigma(...)``); that card has no
  entries for these four dials, so the conversion is the identity. Both the card and the log are checked.
* **Wrong binning / units / non-finite values** in the MC histogram: :func:`check_histogram`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from nutune.config import allowed_values
from nutune.dials import PARAMETER_NAMES

__all__ = [
    "GenieBackendError",
    "GenieToolError",
    "GenieLogError",
    "GenieHistogramError",
    "InertDialError",
    "GenieCardError",
    "ALLOWED_BINS",
    "check_nuiscomp_log",
    "check_card_states",
    "check_histogram",
    "check_dial_response",
]

#: Histogram sizes NUISANCE's T2K_CC0pi_XSec_2DPcos_nu_I can produce: 58 (mask_mom_overflow=1) or 67.
ALLOWED_BINS = allowed_values("simulator", "bins")


class GenieBackendError(RuntimeError):
    """Base class of every error raised by the GENIE+NUISANCE backend."""


class GenieToolError(GenieBackendError):
    """An external tool (gevgen, PrepareGENIE, nuiscomp) failed or produced no output."""


class GenieLogError(GenieBackendError):
    """A tool's log shows a known silent-failure mode (old Reweight, tune mismatch, ABS conversion)."""


class GenieHistogramError(GenieBackendError):
    """The MC histogram has the wrong number of bins, wrong units or non-finite / negative values."""


class InertDialError(GenieBackendError):
    """A GENIE Reweight dial does not change the prediction (calculator not compiled in)."""


class GenieCardError(GenieBackendError):
    """A NUISANCE card is malformed or uses a parameter state that would silently convert values."""


_DXSEC = re.compile(r"dxsec does not match", re.IGNORECASE)
_ABS_LOG = re.compile(r"AbsToSigma\(\s*(\w+)\s*\)")
_GENIETUNE = re.compile(r"GENIE tune was not specified", re.IGNORECASE)


def _missing_dial_patterns(dials: Iterable[str]) -> list[tuple[str, re.Pattern[str]]]:
    out = []
    for d in dials:
        pat = re.compile(
            rf"(Dial\s+{d}\s+not\s+found|{d}\W.*(unknown|not\s+found|kNullSystematic|not\s+a\s+valid)"
            rf"|(unknown|invalid)\s+(GENIE\s+)?(systematic|dial|parameter)\W+{d}\b)",
            re.IGNORECASE,
        )
        out.append((d, pat))
    return out


def check_nuiscomp_log(text: str, *, dials: Iterable[str] = PARAMETER_NAMES, source: str = "nuiscomp log") -> None:
    """Raise :class:`GenieLogError` if a nuiscomp log shows a known silent (or cryptic) failure.

    Args:
        text: The combined stdout/stderr of one ``nuiscomp`` run.
        dials: The GENIE dial names the card sets.
        source: Where the text came from (used in the message).

    Raises:
        GenieLogError: ``Dial <name> not found`` (a Reweight older than R-1_01_00 has no RPA_CCQE /
            XSecShape_CCMEC), the ``default dxsec does not match dxsec saved in tree`` warning (tune or splines
            differ from generation), an ``AbsToSigma`` conversion (ABS parameter state), or a missing GENIETune.
    """
    for line in text.splitlines():
        for name, pat in _missing_dial_patterns(dials):
            if pat.search(line):
                raise GenieLogError(
                    f"{source}: GENIE Reweight does not know dial {name!r} ({line.strip()!r}). RPA_CCQE and "
                    "XSecShape_CCMEC need Reweight >= R-1_01_00 (e.g. R-1_02_xx with GENIE 3.2.x); see "
                    "docs/cluster.md and physics.md §1.7."
                )
        if _DXSEC.search(line):
            raise GenieLogError(
                f"{source}: GENIE Reweight warned {line.strip()!r}: the tune or splines used for reweighting differ "
                "from those used to generate the events. Regenerate the events or fix simulator.genie.tune/splines."
            )
        m = _ABS_LOG.search(line)
        if m:
            raise GenieLogError(
                f"{source}: NUISANCE converted parameter {m.group(1)!r} from absolute units ({line.strip()!r}); "
                "parameters must be given in GENIE dial units with state FIX (dial_conversion.card has no entry "
                "for these dials, so ABS silently uses the identity)."
            )
        if _GENIETUNE.search(line):
            raise GenieLogError(f"{source}: NUISANCE needs <config GENIETune=...> for GENIE v3 events: {line.strip()!r}")


def check_card_states(parameters: Iterable[tuple[str, str, float, str]]) -> None:
    """Raise :class:`GenieCardError` unless every ``(type, name, nominal, state)`` is a FIX genie_parameter.

    A state containing ``ABS`` (or ``FRAC``) makes NUISANCE convert the nominal through
    ``parameters/dial_conversion.card`` (``FitBase::RWAbsToSigma`` / ``RWFracToSigma``), which is the identity
    for these dials — silently wrong.
    """
    for ptype, name, nominal, state in parameters:
        st = state.upper()
        if "ABS" in st or "FRAC" in st:
            raise GenieCardError(
                f"parameter {name!r} has state {state!r}: NUISANCE would convert it through dial_conversion.card "
                "(identity for this dial); write dial values with state FIX"
            )
        if "FIX" not in st:
            raise GenieCardError(f"parameter {name!r} has state {state!r}; only FIX is allowed (no fitting here)")
        if ptype != "genie_parameter":
            raise GenieCardError(f"parameter {name!r} has type {ptype!r}; expected genie_parameter")
        if not np.isfinite(nominal):
            raise GenieCardError(f"parameter {name!r} has non-finite value {nominal!r}")


def check_histogram(
    values: np.ndarray,
    *,
    bins: int,
    theta: np.ndarray | None = None,
    allow_bad_values: bool = False,
    source: str = "NUISANCE MC histogram",
) -> np.ndarray:
    """Check one MC histogram (already in 1e-38 cm²/(GeV/c)/nucleon) and return it as float64.

    Args:
        values: Bin contents.
        bins: Expected number of bins (58 with ``mask_mom_overflow=1``, else 67).
        theta: Physical parameter point, quoted in error messages.
        allow_bad_values: If true, non-finite or negative contents are returned (the bank drops and counts them,
            ``simulation.on_bad_histogram: drop``); the bin-count and unit checks always raise.
        source: Where the histogram came from (used in the message).

    Raises:
        GenieHistogramError: wrong bin count, implausible units, or (unless allowed) non-finite/negative values.
    """
    if bins not in ALLOWED_BINS:
        raise GenieHistogramError(f"bins must be one of {ALLOWED_BINS}, got {bins}")
    v = np.asarray(values, dtype=float).ravel()
    at = "" if theta is None else f" at theta={np.array2string(np.asarray(theta), precision=6)}"
    if v.size != bins:
        hint = " (mask_mom_overflow=1 missing from the card?)" if v.size == 67 and bins == 58 else ""
        raise GenieHistogramError(f"{source}{at} has {v.size} bins, expected {bins}{hint}")
    finite = v[np.isfinite(v)]
    if finite.size and np.max(np.abs(finite)) > 1e6:
        raise GenieHistogramError(
            f"{source}{at}: max |content| {np.max(np.abs(finite)):.3g} is not a cross section in 1e-38 cm^2 units"
        )
    if not allow_bad_values:
        if not np.all(np.isfinite(v)):
            raise GenieHistogramError(f"{source}{at} has non-finite bins {np.flatnonzero(~np.isfinite(v)).tolist()}")
        if np.any(v < 0):
            raise GenieHistogramError(f"{source}{at} has negative bins {np.flatnonzero(v < 0).tolist()}")
    return v


def check_dial_response(
    nominal: np.ndarray, tweaked: np.ndarray, *, dial: str = "NormCCMEC", value: float = 2.0, rtol: float = 1e-6
) -> float:
    """Raise :class:`InertDialError` if moving ``dial`` to ``value`` leaves the histogram unchanged.

    Returns:
        The largest relative change over bins (for the smoke-check report).
    """
    a = np.asarray(nominal, dtype=float)
    b = np.asarray(tweaked, dtype=float)
    scale = np.maximum(np.abs(a), np.max(np.abs(a)) * 1e-12 + 1e-300)
    change = float(np.max(np.abs(b - a) / scale))
    if not change > rtol:
        raise InertDialError(
            f"{dial} = {value:g} (dial units) leaves the NUISANCE histogram unchanged (max relative change "
            f"{change:.2e}): the GENIE Reweight MEC calculator is missing (NUISANCE built without "
            "GENIE3_XSECMEC_ENABLED / GReWeightXSecMEC). Rebuild NUISANCE against a Reweight with GReWeightXSecMEC."
        )
    return change
