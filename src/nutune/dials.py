"""The GENIE Reweight dial registry — the single home of every fact nutune knows about a dial.

Every part of nutune (the built-in simulator, the GENIE+NUISANCE backend, the config, tables and figures) takes a
dial's name, its 1σ, its dial ↔ physical map, nominal and MicroBooNE-tune values, valid range, label and unit from
:data:`REGISTRY` and nowhere else. Which dials are *free* in a run, in which order, and the values of the fixed
ones is the config's choice (``parameters``, :class:`nutune.parameter_space.ParameterSpace`).

Sources (read with git, not paraphrased):

* names: GENIE Reweight ``src/RwFramework/GSyst.cxx`` (``GSyst::AsString``);
* 1σ: GENIE Reweight ``config/GSystUncertaintyTable.xml`` (``<name>@PlusOneSigma`` / ``@MinusOneSigma``; the test
  ``tests/test_dials.py`` reads the mirrored file and compares every entry);
* dial semantics: GENIE Reweight ``src/RwCalculators/`` — a ``scale`` dial t multiplies its quantity by
  ``1 + t·σ±`` (σ₊ for t > 0, σ₋ for t < 0, as ``GSystUncertainty::OneSigmaErr(syst, sign)``), e.g.
  ``GReWeightNuXSecCCQE`` ``fMaCurr = fMaDef·(1 + fMaTwkDial·fracerr)``; ``XSecShape_CCMEC`` interpolates
  linearly between the Valencia (0) and Empirical (1) MEC shapes with the dial clamped to [0, 1]
  (``GReWeightXSecMEC``); ``RPA_CCQE`` = 0 is full Nieves RPA and 1 is RPA off (``GReWeightNuXSecCCQE``);
* nominal values: GENIE R-3_00_06 ``config/G18_10a/G18_10a_02_11a/CommonParam.xml`` and
  ``config/CommonParam.xml`` (QEL-Ma 0.961242, RES-Ma 1.065047, RES-Mv 0.840, DIS-HMultWgt-v{p,n}-CC-m{2,3} =
  0.007713, 0.127858, 0.787999, 2.115230);
* the MicroBooNE production tune (``uboone/ubsim`` ``eventweight_microboone_sep24.fcl``): dials (MaCCQE,
  NormCCMEC, XSecShape_CCMEC, RPA_CCQE) = (4.9778, 1.31189, 1.0, 0.151), i.e. physical (1.10479 GeV, 1.65595,
  1.0, 0.849); every other dial at 0. NUISANCE's ``genie_parameter`` entries take **dial** values (a parameter
  ``state`` containing ``ABS`` would silently use the identity for these dials).

Combinations GENIE Reweight refuses (:func:`check_dial_set`): a calculator handles a dial only in one mode
(``IsHandled``), so the non-shape MaCCQE cannot go with NormCCQE (``kModeMa`` vs ``kModeNormAndMaShape``), nor the
non-shape MaCCRES/MvCCRES with NormCCRES (``kModeMaMv`` vs ``kModeNormAndMaMvShape``); and hA keeps one pion fate
untweaked as the *cushion* that restores unitarity (``GReWeightINukeParams::Fates::AddCushionTerms``), so the four
pion fate fractions FrCEx_pi, FrInel_pi, FrAbs_pi, FrPiProd_pi cannot all be free (or fixed off nominal) at once.

``builtin`` marks the dials the built-in simulator applies; the others are known (the GENIE backend can write them
into a NUISANCE card) but a builtin run refuses them by name.

The physical parameter vector of the built-in simulator is ordered :data:`PARAMETER_NAMES` =
(MaCCQE, NormCCMEC, XSecShape_CCMEC, RPA_CCQE) and holds (M_A [GeV], N, x, s) by default; it also applies the
other :data:`BUILTIN_DIALS` (MaCCRES, MvCCRES, MFP_pi and the pion fate dials) when a θ names them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

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
    "REGISTRY",
    "DialSetError",
    "UnknownDialError",
    "PION_FATES",
    "BUILTIN_DIALS",
    "MICROBOONE_TUNE_DIALS",
    "MICROBOONE_TUNE_PHYSICAL",
    "NOMINAL_DIALS",
    "NOMINAL_PHYSICAL",
    "check_dial_set",
    "microboone_tune",
    "spec",
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

#: How a dial value t becomes the physical quantity GENIE Reweight applies.
#: ``scale``: p = max(0, nominal·(1 + t·σ±)); ``clip01``: p = clip(t, 0, 1); ``one_minus``: p = 1 − t.
DialMap = Literal["scale", "clip01", "one_minus"]


class DialSetError(ValueError):
    """A set of dials nutune does not know, or one GENIE Reweight would refuse to apply together."""


class UnknownDialError(DialSetError, KeyError):
    """A dial name that is not in :data:`REGISTRY` (a ``KeyError`` too, for lookups)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class DialSpec:
    """One GENIE Reweight dial: what it is called, what it moves, by how much, and how to draw it.

    Attributes:
        name: The ``GSyst`` name (as NUISANCE's ``genie_parameter`` and GENIE's ``GSyst::FromString`` take it).
        physical_name: Column name of the physical quantity in nutune's tables (``M_A``, ``N_MEC``, ...).
        label: Axis label (matplotlib mathtext).
        unit: Unit of the physical quantity ("" for dimensionless).
        description: One line: the quantity and the map.
        calculator: The GENIE Reweight calculator class that applies it.
        mode: The calculator mode it needs (empty when the calculator has one).
        sigma_plus: Fractional (``scale``) or absolute 1σ for t > 0, from ``GSystUncertaintyTable.xml``.
        sigma_minus: The same for t < 0.
        mapping: The dial → physical map (:data:`DialMap`).
        nominal: Physical value at dial 0 (G18_10a_02_11a).
        valid_range: Physical range nutune accepts (for builtin dials: where the simulator is valid; otherwise the
            range in which GENIE Reweight's map is meaningful, e.g. a non-negative scale).
        microboone_tune_dial: The MicroBooNE production tune's dial value (0 for dials it leaves at nominal).
        builtin: Whether the built-in simulator applies this dial.
        microboone_tune_error: The tune's quoted (minus, plus) 1σ in physical units (paper.md §8.1; MicroBooNE,
            PRD 105, 072001 (2022)); (0, 0) for dials the tune does not fit.
    """

    name: str
    physical_name: str
    label: str
    unit: str
    description: str
    calculator: str
    mode: str
    sigma_plus: float
    sigma_minus: float
    mapping: DialMap
    nominal: float
    valid_range: tuple[float, float]
    microboone_tune_dial: float = 0.0
    builtin: bool = False
    microboone_tune_error: tuple[float, float] = (0.0, 0.0)

    def to_physical(self, dial: np.ndarray | float) -> np.ndarray:
        """Dial value(s) → the physical quantity GENIE Reweight applies (its own clipping included, so the result
        is what Reweight *uses*, not a formal inverse of :meth:`to_dial`)."""
        t = np.asarray(dial, dtype=float)
        if self.mapping == "clip01":
            return np.clip(t, 0.0, 1.0)
        if self.mapping == "one_minus":
            return 1.0 - t
        sigma = self.sigma_plus if self.sigma_plus == self.sigma_minus else np.where(t > 0, self.sigma_plus,
                                                                                      self.sigma_minus)
        return np.maximum(0.0, self.nominal * (1.0 + sigma * t))

    def to_dial(self, physical: np.ndarray | float) -> np.ndarray:
        """Physical value(s) → the dial value NUISANCE's ``genie_parameter`` takes."""
        p = np.asarray(physical, dtype=float)
        if self.mapping == "clip01":
            return p.copy()
        if self.mapping == "one_minus":
            return 1.0 - p
        sigma = self.sigma_plus if self.sigma_plus == self.sigma_minus else np.where(p > self.nominal,
                                                                                      self.sigma_plus,
                                                                                      self.sigma_minus)
        return (p / self.nominal - 1.0) / sigma

    @property
    def microboone_tune_physical(self) -> float:
        """The MicroBooNE tune's physical value (the nominal for dials the tune leaves at 0)."""
        return float(self.to_physical(self.microboone_tune_dial))

    @property
    def axis_label(self) -> str:
        """``label [unit]`` for an axis (the label alone when dimensionless)."""
        return f"{self.label} [{self.unit}]" if self.unit else self.label


def _scale(name: str, physical_name: str, label: str, unit: str, what: str, calculator: str, sigma: float,
           nominal: float = 1.0, *, mode: str = "", sigma_minus: float | None = None,
           valid_range: tuple[float, float] | None = None, tune: float = 0.0, builtin: bool = False,
           tune_error: tuple[float, float] = (0.0, 0.0)) -> DialSpec:
    """A ``scale`` dial: quantity = nominal·(1 + t·σ±), floored at 0."""
    sm = sigma if sigma_minus is None else sigma_minus
    rng = valid_range if valid_range is not None else (0.0, nominal * (1.0 + 5.0 * sigma))
    unit_s = f" {unit}" if unit else ""
    desc = f"{what}; {physical_name} = {nominal:g}{unit_s}·(1 + {sigma:g} t)" if sm == sigma else (
        f"{what}; {physical_name} = {nominal:g}{unit_s}·(1 + t·σ), σ = +{sigma:g}/−{sm:g}")
    return DialSpec(name, physical_name, label, unit, desc, calculator, mode, sigma, sm, "scale", nominal, rng,
                    tune, builtin, tune_error)


#: Every dial nutune knows, keyed by its GSyst name (insertion order = the order of tables and docs).
REGISTRY: dict[str, DialSpec] = {
    s.name: s
    for s in (
        # --- the four MicroBooNE-tune dials (built-in simulator) -------------------------------------------
        _scale("MaCCQE", "M_A", "$M_A^{QE}$", "GeV", "CCQE axial mass (QEL-Ma)", "GReWeightNuXSecCCQE",
               MA_SIGMA_FRACTION, MA_NOMINAL_GEV, mode="kModeMa", valid_range=(0.5, 1.5), tune=4.9778,
               builtin=True, tune_error=(0.10, 0.10)),
        _scale("NormCCMEC", "N_MEC", "MEC norm.", "", "CC 2p2h normalisation", "GReWeightXSecMEC",
               NORM_CCMEC_SIGMA, valid_range=(0.0, 10.0), tune=1.31189, builtin=True, tune_error=(0.5, 0.5)),
        DialSpec("XSecShape_CCMEC", "x_MEC", "MEC shape", "",
                 "CC 2p2h shape; x = clip(t, 0, 1), 0 = Valencia, 1 = Empirical", "GReWeightXSecMEC", "",
                 1.0, 1.0, "clip01", 0.0, (0.0, 1.0), 1.0, True, (1.0, 0.0)),
        # RPA_CCQE: GSystUncertaintyTable has no entry (the dial is itself the RPA fraction removed).
        DialSpec("RPA_CCQE", "s_RPA", "RPA strength", "",
                 "Nieves RPA strength; s = 1 - t (dial 0 = full RPA, 1 = off)", "GReWeightNuXSecCCQE", "",
                 1.0, 1.0, "one_minus", 1.0, (0.0, 2.0), 0.151, True, (0.40, 0.40)),
        # --- known to the registry and the GENIE backend; not (yet) in the built-in simulator -----------------
        _scale("NormCCQE", "N_QE", "CCQE norm.", "", "CCQE normalisation", "GReWeightNuXSecCCQE", 0.20,
               mode="kModeNormAndMaShape", sigma_minus=0.15),
        # CCQEPauliSupViaKF: for QELEventGenerator (Nieves) events GReWeightFGM weights 0 if the outgoing nucleon's
        # |p| < k_F(r)(1 + 0.3 t), else 1 (no effect for t < 0: generated events already have |p| >= k_F); builtin
        # range up to GENIE's +3 sigma.
        _scale("CCQEPauliSupViaKF", "kF_scale", "$k_F$ scale (Pauli)", "",
               "Fermi momentum in the CCQE Pauli suppression, as a scale", "GReWeightFGM", 0.30,
               valid_range=(0.0, 1.9), builtin=True),
        # MaCCRES: the builtin reweights its GENIE Berger-Sehgal RES events by dσ(M_A)/dσ(nominal) at fixed
        # (E, W, Q²), as GReWeightNuXSecCCRES in kModeMaMv (its range = the per-event anchors of the simulator).
        _scale("MaCCRES", "M_A^RES", "$M_A^{RES}$", "GeV", "CC resonance axial mass (RES-Ma)",
               "GReWeightNuXSecCCRES", 0.20, 1.065047, mode="kModeMaMv", valid_range=(0.4, 2.2), builtin=True),
        # MvCCRES: the same per-event ratio with RES-Mv changed (the MiniBooNE vector form factors C3V, C4V, C5V of
        # BSKLNBaseRESPXSec2014 are the only place it enters); builtin range GENIE's nominal +-4 sigma.
        _scale("MvCCRES", "M_V^RES", "$M_V^{RES}$", "GeV", "CC resonance vector mass (RES-Mv)",
               "GReWeightNuXSecCCRES", 0.10, 0.840, mode="kModeMaMv", valid_range=(0.5, 1.2), builtin=True),
        # NormCCRES, MaCCRESshape, MvCCRESshape: GReWeightNuXSecCCRES kModeNormAndMaMvShape (CalcWeightNorm ×
        # CalcWeightMaMvShape): N_RES × dσ_R(M_A', M_V')/dσ_R(nom) × σ_R(E; nom)/σ_R(E; M_A', M_V'), the event's
        # resonance R (nutune.simulator.res_shape). Builtin ranges: N_RES up to GENIE's +5 sigma; the shape masses
        # over the MaCCRES/MvCCRES ranges (the same response axes), which hold GENIE's ±3 sigma (0.75-1.38,
        # 0.71-0.97 GeV).
        _scale("NormCCRES", "N_RES", "RES norm.", "", "CC resonance normalisation", "GReWeightNuXSecCCRES", 0.20,
               mode="kModeNormAndMaMvShape", valid_range=(0.0, 2.0), builtin=True),
        _scale("MaCCRESshape", "M_A^RES,shape", r"$M_A^{RES}$ (shape)", "GeV",
               "CC resonance axial mass, shape only (RES-Ma, σ_R(E) kept)", "GReWeightNuXSecCCRES", 0.10, 1.065047,
               mode="kModeNormAndMaMvShape", valid_range=(0.4, 2.2), builtin=True),
        _scale("MvCCRESshape", "M_V^RES,shape", r"$M_V^{RES}$ (shape)", "GeV",
               "CC resonance vector mass, shape only (RES-Mv, σ_R(E) kept)", "GReWeightNuXSecCCRES", 0.05, 0.840,
               mode="kModeNormAndMaMvShape", valid_range=(0.5, 1.2), builtin=True),
        _scale("NonRESBGvpCC1pi", "R_vp1pi", r"non-RES $\nu p$ 1$\pi$", "",
               "non-resonant nu-p CC 1pi scale (DIS-HMultWgt-vp-CC-m2 = 0.007713)", "GReWeightNonResonanceBkg",
               0.50),
        _scale("NonRESBGvnCC1pi", "R_vn1pi", r"non-RES $\nu n$ 1$\pi$", "",
               "non-resonant nu-n CC 1pi scale (DIS-HMultWgt-vn-CC-m2 = 0.127858)", "GReWeightNonResonanceBkg",
               0.50),
        _scale("NonRESBGvpCC2pi", "R_vp2pi", r"non-RES $\nu p$ 2$\pi$", "",
               "non-resonant nu-p CC 2pi scale (DIS-HMultWgt-vp-CC-m3 = 0.787999)", "GReWeightNonResonanceBkg",
               0.50),
        _scale("NonRESBGvnCC2pi", "R_vn2pi", r"non-RES $\nu n$ 2$\pi$", "",
               "non-resonant nu-n CC 2pi scale (DIS-HMultWgt-vn-CC-m3 = 2.115230)", "GReWeightNonResonanceBkg",
               0.50),
        # MFP_pi: GReWeightINuke weights an interacted pion by (1 - P_surv(s lambda))/(1 - P_surv(lambda)); GENIE does
        # not floor the scale (s <= 0 silently gives weight 1), the builtin's range stays where the map is physical.
        _scale("MFP_pi", "mfp_pi", r"$\pi$ mean free path", "", "hA pion mean free path, as a scale",
               "GReWeightINuke", 0.20, valid_range=(0.2, 2.0), builtin=True),
        # FrCEx_pi, FrInel_pi, FrPiProd_pi reach the builtin's absorbed-pion background only through the
        # absorption cushion (nutune.simulator.pion_fsi); each range is 1/max_KE f_j of hA2018 carbon, beyond which
        # GENIE rescales the fractions non-linearly (the joint limit is checked per theta).
        _scale("FrCEx_pi", "f_cex_pi", r"$\pi$ CEx frac.", "", "hA pion charge-exchange fate fraction, as a scale",
               "GReWeightINuke", 0.50, valid_range=(0.0, 1.95), builtin=True),
        _scale("FrInel_pi", "f_inel_pi", r"$\pi$ inel. frac.", "", "hA pion inelastic fate fraction, as a scale",
               "GReWeightINuke", 0.40, valid_range=(0.0, 1.7), builtin=True),
        # FrAbs_pi: a set fate is not a cushion, so GReWeightINuke weights an absorbed pion by 1 + t·σ whatever its
        # kinetic energy, unless f_abs(KE)·(1 + t·σ) > 1 (then 1/f_abs). hA2018's largest absorption fraction near
        # carbon is 0.62 (pip16_abs_frac.txt, 50 MeV; carbon's own 0.58), so up to a scale of 1.6 the factor is
        # exactly linear: the builtin's range.
        _scale("FrAbs_pi", "f_abs_pi", r"$\pi$ abs. frac.", "", "hA pion absorption fate fraction, as a scale",
               "GReWeightINuke", 0.30, valid_range=(0.0, 1.6), builtin=True),
        _scale("FrPiProd_pi", "f_piprod_pi", r"$\pi$ prod. frac.", "",
               "hA pion production fate fraction, as a scale", "GReWeightINuke", 0.20, valid_range=(0.0, 1.28),
               builtin=True),
        _scale("FracPN_CCMEC", "f_pn_MEC", "MEC pn frac.", "", "CC 2p2h initial-pn fraction, as a scale",
               "GReWeightXSecMEC", 0.20),
        _scale("FracDelta_CCMEC", "f_Delta_MEC", r"MEC $\Delta$ frac.", "",
               "CC 2p2h internal-Delta fraction, as a scale", "GReWeightXSecMEC", 0.20),
    )
}

#: The dials the built-in simulator applies, in the order of its full physical vector.
BUILTIN_DIALS: tuple[str, ...] = tuple(n for n, s in REGISTRY.items() if s.builtin)
#: The four MicroBooNE-tune dials: the papers' θ and the default columns of the simulator's θ.
PARAMETER_NAMES: tuple[str, ...] = ("MaCCQE", "NormCCMEC", "XSecShape_CCMEC", "RPA_CCQE")
#: The registry entries of :data:`PARAMETER_NAMES`, in that order.
DIALS: tuple[DialSpec, ...] = tuple(REGISTRY[n] for n in PARAMETER_NAMES)
PHYSICAL_LABELS: tuple[str, ...] = tuple(s.label for s in DIALS)
PHYSICAL_UNITS: tuple[str, ...] = tuple(s.unit for s in DIALS)

#: MicroBooNE CV tune (24 Sep 2020), ``eventweight_microboone_sep24.fcl``.
MICROBOONE_TUNE_DIALS = np.array([s.microboone_tune_dial for s in DIALS])
MICROBOONE_TUNE_PHYSICAL = np.array([1.10479, 1.65595, 1.0, 0.849])  # rounded to the fcl's precision
NOMINAL_DIALS = np.zeros(len(DIALS))
NOMINAL_PHYSICAL = np.array([s.nominal for s in DIALS])

#: Groups of calculator modes: at most one mode of each group can be in use (GENIE's ``IsHandled``).
_EXCLUSIVE_MODES: tuple[tuple[str, ...], ...] = (
    ("kModeMa", "kModeNormAndMaShape"),
    ("kModeMaMv", "kModeNormAndMaMvShape"),
)
#: hA pion fates; one must stay the cushion term.
PION_FATES: tuple[str, ...] = ("FrCEx_pi", "FrInel_pi", "FrAbs_pi", "FrPiProd_pi")


def microboone_tune(names: Sequence[str]) -> np.ndarray:
    """The MicroBooNE production tune's physical values of dials ``names``: the fcl-rounded
    :data:`MICROBOONE_TUNE_PHYSICAL` for its four dials, the nominal for every dial the tune leaves at 0."""
    rounded = dict(zip(PARAMETER_NAMES, MICROBOONE_TUNE_PHYSICAL, strict=True))
    return np.array([rounded.get(n, spec(n).microboone_tune_physical) for n in names])


def spec(name: str) -> DialSpec:
    """The registry entry of dial ``name``, or a :class:`DialSetError` listing the known dials."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownDialError(f"unknown GENIE dial {name!r}; known dials: {', '.join(REGISTRY)}") from None


def check_dial_set(names: Iterable[str], *, backend: str = "builtin") -> None:
    """Raise :class:`DialSetError` unless GENIE Reweight (and, for ``backend="builtin"``, the built-in simulator)
    can apply the dials ``names`` (free, or fixed away from nominal) together.

    Refused: unknown or repeated names; calculator modes that exclude each other (MaCCQE with NormCCQE;
    MaCCRES/MvCCRES with NormCCRES); all four pion fate fractions (hA needs one cushion term); for the built-in
    backend, a dial it does not apply.
    """
    names = list(names)
    for n in names:
        spec(n)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DialSetError(f"dial(s) {', '.join(repeated)} given more than once")
    for group in _EXCLUSIVE_MODES:
        used = {m: [n for n in names if REGISTRY[n].mode == m] for m in group}
        clash = [m for m in group if used[m]]
        if len(clash) > 1:
            a, b = (", ".join(used[m]) for m in clash[:2])
            raise DialSetError(
                f"GENIE Reweight cannot apply {a} ({REGISTRY[used[clash[0]][0]].calculator} mode {clash[0]}) "
                f"together with {b} (mode {clash[1]}): the calculator handles each only in its own mode; "
                "free one of them")
    if all(f in names for f in PION_FATES):
        raise DialSetError(
            f"all four pion fate fractions ({', '.join(PION_FATES)}) are set: GENIE Reweight's hA keeps one "
            "untweaked as the cushion term that restores unitarity (GReWeightINukeParams::Fates::AddCushionTerms);"
            " leave one of them out")
    if backend == "builtin":
        missing = [n for n in names if not REGISTRY[n].builtin]
        if missing:
            raise DialSetError(
                f"the built-in simulator does not apply dial(s) {', '.join(missing)} (it applies "
                f"{', '.join(BUILTIN_DIALS)}); use simulator.backend: genie or leave them at nominal")


def to_physical(name: str, dial: np.ndarray | float) -> np.ndarray:
    """Convert GENIE dial value(s) of dial ``name`` to the physical quantity GENIE Reweight applies.

    Applies GENIE's own clipping (a scale floored at 0, XSecShape_CCMEC clamped to [0, 1]), so the result is what
    Reweight *uses*, not a formal inverse.
    """
    return spec(name).to_physical(dial)


def to_dial(name: str, physical: np.ndarray | float) -> np.ndarray:
    """Convert physical value(s) of dial ``name`` to the GENIE dial value NUISANCE's ``genie_parameter`` takes."""
    return spec(name).to_dial(physical)


def dials_to_physical(dials: np.ndarray, names: Sequence[str] = PARAMETER_NAMES) -> np.ndarray:
    """(n, d) or (d,) dial values in ``names`` order → physical values in the same order."""
    d = np.asarray(dials, dtype=float)
    return np.stack([to_physical(n, d[..., i]) for i, n in enumerate(names)], axis=-1)


def physical_to_dials(physical: np.ndarray, names: Sequence[str] = PARAMETER_NAMES) -> np.ndarray:
    """(n, d) or (d,) physical values in ``names`` order → GENIE dial values in the same order."""
    p = np.asarray(physical, dtype=float)
    return np.stack([to_dial(n, p[..., i]) for i, n in enumerate(names)], axis=-1)


def effective_physical(physical: np.ndarray, names: Sequence[str] = PARAMETER_NAMES) -> np.ndarray:
    """What GENIE Reweight actually applies for physical input (scales floored at 0, x clamped to [0, 1])."""
    return dials_to_physical(physical_to_dials(physical, names), names)


def table_rows(names: Mapping[str, DialSpec] | None = None) -> list[dict[str, object]]:
    """The registry as rows (for docs and the README's dial table)."""
    reg = REGISTRY if names is None else names
    return [{"dial": s.name, "physical": s.physical_name, "unit": s.unit, "calculator": s.calculator,
             "mode": s.mode, "sigma_plus": s.sigma_plus, "sigma_minus": s.sigma_minus, "mapping": s.mapping,
             "nominal": s.nominal, "valid_range": s.valid_range, "microboone_tune_dial": s.microboone_tune_dial,
             "builtin": s.builtin} for s in reg.values()]
