"""GENIE Reweight dial conventions for the four MicroBooNE-tune parameters — the single source of truth.

Every part of nutune (the built-in simulator, the GENIE+NUISANCE backend, the tables and figures) converts
between *physical* values and GENIE Reweight *dial* values through this module and nowhere else.

Semantics, read from GENIE Reweight's source (``GReWeightNuXSecCCQE.cxx``, ``GReWeightXSecMEC.cxx``,
``config/GSystUncertaintyTable.xml``; see ``docs``: physics.md §1.2–§1.6):

=================  ==============================  ==========================================================
dial               physical quantity               conversion (t = dial value)
=================  ==============================  ==========================================================
``MaCCQE``         CCQE axial mass M_A [GeV]       M_A = 0.961242·(1 + 0.03·t); one sigma = 3 % of the
                                                   G18_10a_02_11a nominal (not the GENIE v2 −15 %/+25 %)
``NormCCMEC``      CC 2p2h normalisation N         N = max(0, 1 + 0.5·t)
``XSecShape_CCMEC`` CC 2p2h shape x                x = clip(t, 0, 1); 0 = Valencia (Nieves), 1 = GENIE Empirical
``RPA_CCQE``       Nieves RPA strength s           s = 1 − t; **dial 0 = full Nieves RPA (the nominal)**, dial 1 =
                                                   RPA off; outside [0, 1] a linear extrapolation
=================  ==============================  ==========================================================

The MicroBooNE production tune (``uboone/ubsim`` ``eventweight_microboone_sep24.fcl``) has dials
(MaCCQE, NormCCMEC, XSecShape_CCMEC, RPA_CCQE) = (4.9778, 1.31189, 1.0, 0.151), i.e. physical
(1.10479 GeV, 1.65595, 1.0, 0.849). NUISANCE's ``genie_parameter`` entries take **dial** values (a parameter
``state`` containing ``ABS`` would silently use the identity for these dials).

The physical parameter vector used throughout nutune is ordered ``PARAMETER_NAMES`` =
(MaCCQE, NormCCMEC, XSecShape_CCMEC, RPA_CCQE) and holds (M_A [GeV], N, x, s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "MA_NOMINAL_GEV",
    "MA_SIGMA_FRACTION",
    "NORM_CCMEC_SIGMA",
    "PARAMETER_NAMES",
    "PHYSICAL_LABELS",
    "PHYSICAL_UNITS",
    "DialSpec",
    "DIALS",
    "MICROBOONE_TUNE_DIALS",
    "MICROBOONE_TUNE_PHYSICAL",
    "NOMINAL_DIALS",
    "NOMINAL_PHYSICAL",
    "to_dial",
    "to_physical",
    "dials_to_physical",
    "physical_to_dials",
    "effective_physical",
]

#: CCQE axial mass of GENIE tune G18_10a_02_11a (``CommonParam.xml``, QEL-Ma) [GeV].
MA_NOMINAL_GEV = 0.961242
#: One-sigma fractional error of MaCCQE in ``GSystUncertaintyTable.xml`` (GENIE v3).
MA_SIGMA_FRACTION = 0.03
#: One-sigma fractional error of NormCCMEC in ``GSystUncertaintyTable.xml``.
NORM_CCMEC_SIGMA = 0.50

PARAMETER_NAMES: tuple[str, ...] = ("MaCCQE", "NormCCMEC", "XSecShape_CCMEC", "RPA_CCQE")
PHYSICAL_LABELS: tuple[str, ...] = ("$M_A^{QE}$", "MEC norm.", "MEC shape", "RPA strength")
PHYSICAL_UNITS: tuple[str, ...] = ("GeV", "", "", "")


@dataclass(frozen=True)
class DialSpec:
    """One GENIE Reweight dial and the physical quantity it controls."""

    name: str
    physical_name: str
    unit: str
    description: str


DIALS: tuple[DialSpec, ...] = (
    DialSpec("MaCCQE", "M_A", "GeV", "CCQE axial mass; M_A = 0.961242 (1 + 0.03 t) GeV"),
    DialSpec("NormCCMEC", "N_MEC", "", "CC 2p2h normalisation; N = max(0, 1 + 0.5 t)"),
    DialSpec("XSecShape_CCMEC", "x_MEC", "", "CC 2p2h shape; x = clip(t, 0, 1), 0 = Valencia, 1 = Empirical"),
    DialSpec("RPA_CCQE", "s_RPA", "", "Nieves RPA strength; s = 1 - t (dial 0 = full RPA, 1 = off)"),
)

#: MicroBooNE CV tune (24 Sep 2020), ``eventweight_microboone_sep24.fcl``.
MICROBOONE_TUNE_DIALS = np.array([4.9778, 1.31189, 1.0, 0.151])
MICROBOONE_TUNE_PHYSICAL = np.array([1.10479, 1.65595, 1.0, 0.849])  # rounded to the fcl's precision
NOMINAL_DIALS = np.zeros(4)
NOMINAL_PHYSICAL = np.array([MA_NOMINAL_GEV, 1.0, 0.0, 1.0])


def _index(name: str) -> int:
    try:
        return PARAMETER_NAMES.index(name)
    except ValueError:
        raise KeyError(f"unknown GENIE dial {name!r}; known dials: {', '.join(PARAMETER_NAMES)}") from None


def to_physical(name: str, dial: np.ndarray | float) -> np.ndarray:
    """Convert GENIE dial value(s) of dial ``name`` to the physical quantity GENIE Reweight applies.

    Applies GENIE's own clipping: NormCCMEC's factor is floored at 0 and XSecShape_CCMEC is clamped to [0, 1],
    so the result is what Reweight *uses*, not a formal inverse.
    """
    t = np.asarray(dial, dtype=float)
    i = _index(name)
    if i == 0:
        return np.maximum(0.0, MA_NOMINAL_GEV * (1.0 + MA_SIGMA_FRACTION * t))
    if i == 1:
        return np.maximum(0.0, 1.0 + NORM_CCMEC_SIGMA * t)
    if i == 2:
        return np.clip(t, 0.0, 1.0)
    return 1.0 - t


def to_dial(name: str, physical: np.ndarray | float) -> np.ndarray:
    """Convert physical value(s) of dial ``name`` to the GENIE dial value NUISANCE's ``genie_parameter`` takes."""
    p = np.asarray(physical, dtype=float)
    i = _index(name)
    if i == 0:
        return (p / MA_NOMINAL_GEV - 1.0) / MA_SIGMA_FRACTION
    if i == 1:
        return (p - 1.0) / NORM_CCMEC_SIGMA
    if i == 2:
        return p.copy()
    return 1.0 - p


def dials_to_physical(dials: np.ndarray) -> np.ndarray:
    """(n, 4) or (4,) dial values in ``PARAMETER_NAMES`` order → physical (M_A [GeV], N, x, s)."""
    d = np.asarray(dials, dtype=float)
    return np.stack([to_physical(n, d[..., i]) for i, n in enumerate(PARAMETER_NAMES)], axis=-1)


def physical_to_dials(physical: np.ndarray) -> np.ndarray:
    """(n, 4) or (4,) physical values (M_A [GeV], N, x, s) → GENIE dial values in ``PARAMETER_NAMES`` order."""
    p = np.asarray(physical, dtype=float)
    return np.stack([to_dial(n, p[..., i]) for i, n in enumerate(PARAMETER_NAMES)], axis=-1)


def effective_physical(physical: np.ndarray) -> np.ndarray:
    """What GENIE Reweight actually applies for physical input: N floored at 0, x clamped to [0, 1]."""
    return dials_to_physical(physical_to_dials(physical))
