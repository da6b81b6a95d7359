"""Command lines and NUISANCE cards for the GENIE+NUISANCE backend.

One GENIE event sample is generated once (``gevgen`` + NUISANCE ``PrepareGENIE``) and every θ point reweights it
with ``nuiscomp`` and a card that fixes the four GENIE Reweight dials. Sources for the formats:

* ``gevgen`` (GENIE v3 ``src/Apps/gEvGen.cxx``; GENIE manual §"Generating events: gevgen"): ``-n`` events,
  ``-p`` neutrino PDG, ``-t`` target ``code[fraction],...``, ``-e`` energy range ``min,max`` (GeV),
  ``-f file.root,hist`` flux histogram, ``-r`` run number, ``-o`` output *prefix* (the file is
  ``<prefix>.<run>.ghep.root``), ``--seed``, ``--cross-sections`` spline XML, ``--tune``.
* ``PrepareGENIE`` (NUISANCE ``app/PrepareGENIE.cxx``; physics.md §1.7): ``-i <ghep> -f <flux.root>,<hist>
  -t <target> -o <prepared.root>`` adds the flux and event-rate histograms NUISANCE normalises with.
* NUISANCE card (XML; NUISANCE ``parameters/config.xml`` and the card examples): ``<config GENIETune=.../>`` is
  mandatory for GENIE v3 events (``GENIEWeightEngine`` aborts with "GENIE tune was not specified ...", NUISANCE
  ``src/Reweight/GENIE3WeightEngine.cxx``); ``<parameter type="genie_parameter" name=... nominal=... state="FIX"/>``
  in **dial units** (never ABS: physics.md §1.7); ``<sample name="T2K_CC0pi_XSec_2DPcos_nu_I"
  input="GENIE:<file>" mask_mom_overflow="1"/>`` (the 58-bin variant; NUISANCE
  ``src/T2K/T2K_CC0pi_XSec_2DPcos_nu_I.cxx`` reads the ``mask_mom_overflow`` sample key).
* ``nuiscomp -c <card> -o <out.root>`` (NUISANCE ``app/nuiscomp.cxx``).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nutune.dials import PARAMETER_NAMES, DialSetError, check_dial_set, physical_to_dials

from .guards import ALLOWED_BINS, GenieCardError, check_card_states

__all__ = [
    "SAMPLE_NAME",
    "NUISANCE_CONFIG",
    "gevgen_output",
    "gevgen_command",
    "prepare_genie_command",
    "nuiscomp_command",
    "nuisance_card",
    "parse_card",
    "NuisanceCard",
]

#: NUISANCE sample of T2K CC0π 2016 Analysis I (PRD 93, 112012), the default measurement; the configured one's is
#: ``nutune.measurements.measurement_of(cfg).nuisance_sample`` (what the runner writes).
SAMPLE_NAME = "T2K_CC0pi_XSec_2DPcos_nu_I"

#: Extra NUISANCE config entries written into every card (besides GENIETune):
#: ``GENIEWeightEngine_CCQEMode=kModeMa`` so that MaCCQE is handled (GReWeightNuXSecCCQE's own default mode
#: ignores it; physics.md §1.2) and ``setabstwk=0`` so that the sigmas are GENIE's (physics.md §1.7).
NUISANCE_CONFIG: dict[str, str] = {"GENIEWeightEngine_CCQEMode": "kModeMa", "setabstwk": "0"}

_NU_MU = 14


def _abspath(p: str | os.PathLike) -> str:
    return os.path.abspath(os.fspath(p))


def gevgen_output(prefix: str | os.PathLike, run: int = 0) -> Path:
    """The file ``gevgen -o <prefix> -r <run>`` writes: ``<prefix>.<run>.ghep.root``."""
    return Path(f"{os.fspath(prefix)}.{int(run)}.ghep.root")


def gevgen_command(gcfg: Any, *, prefix: str | os.PathLike, run: int = 0, n_events: int | None = None,
                   seed: int | None = None, energy_range: tuple[float, float] | None = None) -> list[str]:
    """The ``gevgen`` command that generates the single GENIE event sample every θ point reweights.

    Args:
        gcfg: ``cfg.simulator.genie`` (keys gevgen, tune, splines, flux_file, flux_hist, target, n_events, gen_seed).
        prefix: Output prefix (``-o``); see :func:`gevgen_output`.
        run: Run number (``-r``).
        n_events: Override ``gcfg.n_events``.
        seed: Override ``gcfg.gen_seed``.
        energy_range: ``-e`` [GeV], the measurement's ``FluxSpec.energy_range`` (T2K: 0-30, the ND280 flux
            histogram's range; MINERvA: 0-100, the LE flux's and ``SetEnuRange(0, 100)``). Default 0-30.
    """
    n = int(gcfg.n_events if n_events is None else n_events)
    s = int(gcfg.gen_seed if seed is None else seed)
    if n <= 0:
        raise GenieCardError(f"simulator.genie.n_events must be positive, got {n}")
    lo, hi = (0.0, 30.0) if energy_range is None else (float(energy_range[0]), float(energy_range[1]))
    if not (0.0 <= lo < hi):
        raise GenieCardError(f"gevgen energy range must be 0 <= min < max GeV, got {energy_range!r}")
    return [
        gcfg.gevgen,
        "-n", str(n),
        "-p", str(_NU_MU),
        "-t", str(gcfg.target),
        "-e", f"{lo:g},{hi:g}",
        "-f", f"{_abspath(gcfg.flux_file)},{gcfg.flux_hist}",
        "-r", str(int(run)),
        "-o", os.fspath(prefix),
        "--seed", str(s),
        "--cross-sections", _abspath(gcfg.splines),
        "--tune", str(gcfg.tune),
    ]  # fmt: skip


def prepare_genie_command(gcfg: Any, *, ghep: str | os.PathLike, output: str | os.PathLike) -> list[str]:
    """``PrepareGENIE -i <ghep> -f <flux.root>,<hist> -t <target> -o <prepared.root>`` (physics.md §1.7)."""
    return [
        gcfg.prepare_genie,
        "-i", os.fspath(ghep),
        "-f", f"{_abspath(gcfg.flux_file)},{gcfg.flux_hist}",
        "-t", str(gcfg.target),
        "-o", os.fspath(output),
    ]  # fmt: skip


def nuiscomp_command(gcfg: Any, *, card: str | os.PathLike, output: str | os.PathLike) -> list[str]:
    """``nuiscomp -c <card> -o <out.root>``."""
    return [gcfg.nuiscomp, "-c", os.fspath(card), "-o", os.fspath(output)]


def _fmt(x: float) -> str:
    # Shortest repr that round-trips exactly (NUISANCE parses the attribute with atof).
    return repr(float(x))


def nuisance_card(theta: np.ndarray, *, tune: str, events_file: str | os.PathLike, bins: int = 58,
                  sample: str = SAMPLE_NAME, names: Sequence[str] = PARAMETER_NAMES,
                  sample_keys: Mapping[str, str] | None = None) -> str:
    """A NUISANCE XML card that evaluates the T2K CC0π sample at one physical θ.

    The dials ``names`` are written in GENIE **dial** units (via :func:`nutune.dials.physical_to_dials`) with
    state FIX; dials not named stay at GENIE's nominal (dial 0). A set GENIE Reweight refuses
    (:func:`nutune.dials.check_dial_set`) is a :class:`GenieCardError`. The card carries the GENIETune config
    entry NUISANCE's GENIE v3 engine requires.

    Args:
        theta: Physical point in ``names`` order, shape (k,) (default: (M_A [GeV], N, x, s)).
        names: The dials of ``theta`` (default the four MicroBooNE-tune dials).
        tune: GENIE comprehensive model configuration (must equal the one used by gevgen).
        events_file: The PrepareGENIE'd event file.
        bins: 58 (``mask_mom_overflow=1``) or 67.
        sample: NUISANCE sample name.
        sample_keys: extra ``<sample>`` attributes (``MeasurementSpec.sample_keys``); default T2K's
            ``mask_mom_overflow`` ("1" for 58 bins).

    Returns:
        The card text.
    """
    names = tuple(names)
    try:
        check_dial_set(names, backend="genie")
    except DialSetError as exc:
        raise GenieCardError(str(exc)) from None
    th = np.asarray(theta, dtype=float).reshape(-1)
    if th.shape != (len(names),) or not np.all(np.isfinite(th)):
        raise GenieCardError(f"theta must be {len(names)} finite physical values ({', '.join(names)}), got {theta!r}")
    if bins not in ALLOWED_BINS:
        raise GenieCardError(f"bins must be one of {ALLOWED_BINS}, got {bins}")
    if not tune:
        raise GenieCardError("simulator.genie.tune is empty; NUISANCE needs GENIETune for GENIE v3 events")
    dials = physical_to_dials(th, names)
    root = ET.Element("nuisance")
    root.append(ET.Comment(
        f" generated by nutune.genie.cards.nuisance_card; physical theta ({', '.join(names)}) = "
        + ", ".join(_fmt(v) for v in th) + " "
    ))
    ET.SubElement(root, "config", {"GENIETune": str(tune)})
    for key, val in NUISANCE_CONFIG.items():
        ET.SubElement(root, "config", {key: val})
    for name, d in zip(names, dials, strict=True):
        ET.SubElement(root, "parameter",
                      {"type": "genie_parameter", "name": name, "nominal": _fmt(d), "state": "FIX"})
    if sample_keys is None:
        sample_keys = {"mask_mom_overflow": "1" if bins == 58 else "0"}
    ET.SubElement(root, "sample", {"name": sample, "input": f"GENIE:{_abspath(events_file)}", **sample_keys})
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="unicode") + "\n"


@dataclass
class NuisanceCard:
    """A parsed NUISANCE card (what the nuiscomp test double and the checks need)."""

    config: dict[str, str] = field(default_factory=dict)
    parameters: list[tuple[str, str, float, str]] = field(default_factory=list)  # (type, name, nominal, state)
    samples: list[dict[str, str]] = field(default_factory=list)

    def dials(self, names: Sequence[str] = PARAMETER_NAMES) -> np.ndarray:
        """The genie_parameter values of ``names`` (dial units); a dial the card does not set is at 0 (nominal)."""
        by_name = {name: val for ptype, name, val, _ in self.parameters if ptype == "genie_parameter"}
        return np.array([by_name.get(n, 0.0) for n in names], dtype=float)

    def bins(self, sample: str = SAMPLE_NAME) -> int:
        """58 if the sample masks the momentum-overflow bins, else 67."""
        for s in self.samples:
            if s.get("name") == sample:
                return 58 if s.get("mask_mom_overflow", "0").strip().lower() in ("1", "true") else 67
        raise GenieCardError(f"card has no sample {sample!r}")


def parse_card(text: str, *, check: bool = True) -> NuisanceCard:
    """Parse NUISANCE XML card text; with ``check`` also apply :func:`nutune.genie.guards.check_card_states`."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        raise GenieCardError(f"not a NUISANCE XML card: {e}") from None
    if root.tag != "nuisance":
        raise GenieCardError(f"NUISANCE card root element must be <nuisance>, got <{root.tag}>")
    card = NuisanceCard()
    for el in root:
        if not isinstance(el.tag, str):
            continue  # comments
        if el.tag == "config":
            card.config.update(el.attrib)
        elif el.tag == "parameter":
            try:
                card.parameters.append(
                    (el.attrib["type"], el.attrib["name"], float(el.attrib["nominal"]), el.attrib.get("state", ""))
                )
            except (KeyError, ValueError) as e:
                raise GenieCardError(f"bad <parameter> {el.attrib}: {e}") from None
        elif el.tag == "sample":
            card.samples.append(dict(el.attrib))
    if check:
        check_card_states(card.parameters)
    return card
