"""Templates of the built-in simulator: build, M_A spline, numpy/torch evaluation and the on-disk cache.

The histogram at physical θ = (M_A, N, x, s) is, exactly as GENIE Reweight would produce it from one generated
sample (physics.md §1.8, §4.4–§4.5),

    H(θ) = Q(M_A) + κ·D(M_A) + N·[(1 − x)·V + x·E] + a_abs·B(M_A^RES),        κ = 1 − s (the RPA_CCQE dial),

with Q_b(m) = Σ_{i∈b} w_i r_i(m)/area_b, D_b(m) = Σ_{i∈b} w_i r_i(m)(1/R_i − 1)/area_b (r_i = the per-event MaCCQE
weight dσ(m)/dσ(M_A,nom), R_i = the RPA on/off ratio), V, E the 2p2h default / Empirical-shape templates and
B_b = Σ_{i∈b} w_i/area_b the π-absorption background at nominal and a_abs the FrAbs_pi scale 1 + 0.3 t (every background event's pion was absorbed;
absorption is not the cushion fate when FrAbs_pi is set, so GENIE Reweight's ``GReWeightINuke`` gives each of them
the KE-independent factor 1 + t·σ — exactly, as long as a_abs·f_abs(KE) ≤ 1, see ``dials.REGISTRY["FrAbs_pi"]``).
Q and D are natural cubic splines on 101 M_A nodes over [0.5, 1.5] GeV. With any of MaCCRES, MvCCRES, MFP_pi or a
cushion-reaching pion fate named, a_abs·B is replaced by the joint RES response of :mod:`res_response`: every RES
weight of GENIE Reweight at once (dσ(M_A^RES, M_V^RES)/dσ(nom) × the MFP_pi weight × the fate weight, event by event),
as a block Chebyshev–Tucker representation in ln M_A^RES, ln M_V^RES and 1/s of MFP_pi times the fate components,
equal to per-event reweighting to ≤ 1e-7 of the bin (measured at build, ``metadata["res_response"]``).

θ holds the dials ``names`` (default :data:`PARAMETER_NAMES`, the four MicroBooNE dials, whose evaluation is the
paper's, value for value); any subset of :data:`BUILTIN_DIALS` may be given, the others stay at nominal.

Every template set belongs to one measurement (``measurement``: :data:`~nutune.simulator.binning.T2K_MEASUREMENT`,
the default, or :data:`~nutune.simulator.binning.MINERVA_MEASUREMENT`): its flux, its binning and signal cuts, its
own base sample (random streams keyed by the measurement, so the MINERvA sample is independent of the T2K one) and
its own cache file; the dial algebra is the same. The per-event index ``bin67`` of the samples is the bin of the
measurement's full binning (67 for T2K, 144 for MINERvA), whatever its name.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nutune.dials import BUILTIN_DIALS, PARAMETER_NAMES, PION_FATES, REGISTRY
from nutune.io import atomic_write, rng, sha256_bytes, sha256_file
from nutune.simulator.binning import (
    MINERVA_MEASUREMENT,
    T2K_FILE,
    T2K_MEASUREMENT,
    Binning,
    InvalidBinsError,
    MinervaBinning,
    check_bins,
    check_measurement,
    load_measurement_binning,
)
from nutune.simulator.events import TABLE_E_MAX, QESample, generate_mec, generate_qe, generate_res
from nutune.simulator.flux import FLUX_FILE, MINERVA_FLUX_FILES, load_measurement_flux, resources_dir
from nutune.simulator.pauli import NOT_TWEAKED, PauliResponse, build_pauli_response
from nutune.simulator.pion_fsi import FATE_TABLES, PIN_TABLES, absorbed_pion_weight, max_named_sum
from nutune.simulator.res_response import (
    CELLS,
    COMPONENTS,
    CUSHION_FATES,
    FATE_SETS,
    GLOBAL_NODES,
    MINERVA_RANK_TOLERANCE,
    RANK_TOLERANCE,
    RES_AXES,
    ResResponse,
    axis_variable,
    build_res_response,
)
from nutune.simulator.res_shape import SHAPE_AXES, SHAPE_DIALS
from nutune.simulator.variants import PhysicsConfig, get_physics

__all__ = [
    "VALID_RANGES",
    "MA_GRID",
    "CUSHION_FATES",
    "FATE_SETS",
    "InvalidParameterError",
    "Templates",
    "BaseSample",
    "build_base_sample",
    "build_templates",
    "get_templates",
    "default_cache_dir",
    "validate_theta",
    "reweight_histogram",
    "cache_key",
]

#: Physical validity bounds per parameter (``PARAMETER_NAMES`` order), inclusive. M_A must lie on the spline grid;
#: N ≥ 0 (GENIE floors the NormCCMEC factor at 0); x ∈ [0, 1] (GENIE clamps XSecShape_CCMEC); s ∈ [0, 2]: RPA
#: strength from off (0) through full Nieves (1) to a linear extrapolation (GENIE RPA_CCQE dial down to −1). The
#: build asserts R ≥ 1/3 (the nominal Nieves R is floored there), so every event weight 1 + κ(1/R − 1) is ≥ 0 for
#: s ≤ 1.5 (the SBI prior box) and the templates equal GENIE's clipped per-event reweighting there; for
#: 1.5 < s ≤ 2 the histogram is the exact linear extrapolation (GENIE would clip the weights of events with
#: 1 + κ(1/R − 1) < 0, which a linear template cannot do).
#: The values live in the dial registry (``nutune.dials.REGISTRY[...].valid_range``), this is a view of them.
VALID_RANGES: dict[str, tuple[float, float]] = {name: REGISTRY[name].valid_range for name in BUILTIN_DIALS}
#: M_A spline nodes [GeV].
MA_GRID = np.linspace(0.5, 1.5, 101)
_LOWER = np.array([VALID_RANGES[name][0] for name in PARAMETER_NAMES])
_UPPER = np.array([VALID_RANGES[name][1] for name in PARAMETER_NAMES])
_SMALL_BATCH = 64
_CHUNK = 65536


class InvalidParameterError(ValueError):
    """A θ value that is NaN/inf, of the wrong shape, or outside :data:`VALID_RANGES`."""


def check_names(names: Any) -> tuple[str, ...]:
    """The dial names of a θ's columns as a tuple, or :class:`InvalidParameterError` for a name the built-in
    simulator does not apply or a repeated one."""
    names = PARAMETER_NAMES if names is None else tuple(str(n) for n in names)
    unknown = [n for n in names if n not in VALID_RANGES]
    if unknown or len(set(names)) != len(names):
        what = f"dial(s) {', '.join(unknown)} not applied by" if unknown else "a repeated dial name for"
        raise InvalidParameterError(f"{what} the built-in simulator; it applies {', '.join(BUILTIN_DIALS)}")
    clash = [n for n in ("MaCCRES", "MvCCRES") if n in names]
    if clash and any(n in names for n in SHAPE_DIALS):
        raise InvalidParameterError(
            f"{', '.join(clash)} (GReWeightNuXSecCCRES mode kModeMaMv) cannot go with "
            f"{', '.join(n for n in SHAPE_DIALS if n in names)} (mode kModeNormAndMaMvShape): GENIE Reweight "
            "handles each only in its own mode; free one of them")
    return names


def shape_mode(names: tuple[str, ...]) -> bool:
    """Whether θ's dials put GReWeightNuXSecCCRES's M_A, M_V in shape mode (MaCCRESshape or MvCCRESshape named)."""
    return "MaCCRESshape" in names or "MvCCRESshape" in names


def validate_theta(theta: Any, names: Any = None) -> np.ndarray:
    """Return θ as a float64 (n, d) array (columns = dials ``names``, default :data:`PARAMETER_NAMES`) or raise
    :class:`InvalidParameterError` naming the bad parameter."""
    names = check_names(names)
    arr = np.asarray(theta, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != len(names):
        raise InvalidParameterError(
            f"theta has shape {np.shape(theta)}; expected ({len(names)},) or (n, {len(names)}) physical values in "
            f"the order {', '.join(names)}"
        )
    if names == PARAMETER_NAMES:
        lower, upper = _LOWER, _UPPER
    else:
        lower = np.array([VALID_RANGES[n][0] for n in names])
        upper = np.array([VALID_RANGES[n][1] for n in names])
    bad_any = ~np.isfinite(arr) | (arr < lower) | (arr > upper)
    if bad_any.any():
        for j, name in enumerate(names):
            bad = bad_any[:, j]
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                lo, hi = VALID_RANGES[name]
                raise InvalidParameterError(
                    f"theta[{i}] parameter {name} = {float(arr[i, j])!r} is outside the valid range [{lo}, {hi}] "
                    f"({int(bad.sum())} row(s) affected)"
                )
    return arr


@dataclass
class BaseSample:
    """The weighted base events of one (variant, seed, n_events)."""

    qe: QESample
    mec: Any
    res: Any
    binning: Binning | MinervaBinning

    def digest(self) -> str:
        """SHA-256 of every stored event array (bit-level reproducibility check)."""
        h = hashlib.sha256()
        for sample in (self.qe, self.mec, self.res):
            for name, value in vars(sample).items():
                if isinstance(value, np.ndarray):
                    h.update(name.encode())
                    h.update(np.ascontiguousarray(value).tobytes())
        return h.hexdigest()


def rank_tolerance(measurement: str) -> float:
    """The RES responses' compression tolerance of a measurement's templates (``res_response.RANK_TOLERANCE`` for
    T2K, ``MINERVA_RANK_TOLERANCE`` for MINERvA)."""
    return RANK_TOLERANCE if measurement == T2K_MEASUREMENT else MINERVA_RANK_TOLERANCE


def _streams(measurement: str) -> tuple[str, ...]:
    """The keys of the base sample's random streams (T2K's are the original ones; another measurement's carry its
    name, so its sample is drawn independently)."""
    return ("simulator",) if measurement == T2K_MEASUREMENT else ("simulator", measurement)


def build_base_sample(
    variant: str, sample_seed: int, n_events: int, physics: PhysicsConfig | None = None,
    measurement: str = T2K_MEASUREMENT,
) -> BaseSample:
    """Generate the QE, 2p2h and RES base samples (``n_events`` thrown each) from ``sample_seed`` with the flux and
    binning of ``measurement``.

    ``physics`` overrides the variant's constants (calibration studies only; cached templates always use the
    registered variant).
    """
    if int(n_events) < 1000:
        raise ValueError(f"n_events={n_events!r} is too small; use at least 1000 thrown events per channel")
    phys = physics if physics is not None else get_physics(variant)
    flux = load_measurement_flux(check_measurement(measurement))
    binning = load_measurement_binning(measurement)
    n = int(n_events)
    keys = _streams(measurement)
    qe = generate_qe(phys, flux, binning, rng(sample_seed, *keys, "qe"), n)
    mec = generate_mec(phys, flux, binning, rng(sample_seed, *keys, "mec"), n)
    res = generate_res(phys, flux, binning, rng(sample_seed, *keys, "res"), n)
    return BaseSample(qe=qe, mec=mec, res=res, binning=binning)


def full_theta(theta: Any, names: Any = None) -> np.ndarray:
    """(n, d) θ in dials ``names`` → validated (n, len(BUILTIN_DIALS)) in :data:`BUILTIN_DIALS` order, every dial
    not in ``names`` at its G18_10a_02_11a nominal."""
    names = check_names(names)
    arr = validate_theta(theta, names)
    out = np.broadcast_to(np.array([REGISTRY[n].nominal for n in BUILTIN_DIALS]), (arr.shape[0], len(BUILTIN_DIALS)))
    out = out.copy()
    out[:, [BUILTIN_DIALS.index(n) for n in names]] = arr
    return out


def reweight_histogram(sample: BaseSample, theta: np.ndarray, names: Any = None) -> np.ndarray:
    """Explicit per-event GENIE reweighting of the base sample to physical θ (dials ``names``) → the histogram in
    every bin of the sample's binning (67 for T2K, 144 for MINERvA).

    CCQE: w·max(0, 1 + κ(1/R − 1))·dσ(M_A)/dσ(M_A,nom)·1[|p_p′| ≥ λ·k_F] (``GReWeightFGM``); 2p2h: N·[(1 − x)w_V + x·w_E] (physics.md §1.8); RES
    (every pion absorbed): w·dσ(M_A^RES, M_V^RES)/dσ(nom)·(MFP weight)·(fate weight) (``GReWeightNuXSecCCRES`` kModeMaMv;
    in kModeNormAndMaMvShape N_RES × :meth:`RESSample.shape_ratio` instead of the d²σ ratio,
    ``GReWeightINuke``: the FrAbs_pi scale when it is named, else the absorption-cushion weight of
    :func:`nutune.simulator.pion_fsi.absorbed_pion_weight`, GENIE's rescaling included). This is the slow
    reference the templates are tested against.
    """
    names = check_names(names)
    row = dict(zip(BUILTIN_DIALS, full_theta(theta, names)[0].tolist(), strict=True))
    ma, norm, shape, strength = (row[n] for n in PARAMETER_NAMES)
    kappa = 1.0 - strength
    qe = sample.qe
    w_qe = qe.w_nom * np.maximum(0.0, 1.0 + kappa * (1.0 / qe.rpa_ratio - 1.0)) * qe.ma_ratio(ma)
    if abs(row["CCQEPauliSupViaKF"] - 1.0) > NOT_TWEAKED:  # GReWeightFGM: 0 below the tweaked k_F, else 1
        qe.pauli_ratio()  # the CCQE model must have the outgoing nucleon's momentum and k_F
        w_qe = w_qe * (qe.p_nucleon >= qe.k_fermi * row["CCQEPauliSupViaKF"])
    w_mec = norm * ((1.0 - shape) * sample.mec.w_v + shape * sample.mec.w_e)
    res = sample.res
    named = [f for f in PION_FATES if f in names]
    if named and "FrAbs_pi" not in named:
        w_res = res.w * absorbed_pion_weight(res.pion_ke, {f: row[f] for f in named})
    else:
        w_res = res.w * row["FrAbs_pi"]
    if row["MaCCRES"] != REGISTRY["MaCCRES"].nominal or row["MvCCRES"] != REGISTRY["MvCCRES"].nominal:
        w_res = w_res * res.xsec_ratio(row["MaCCRES"], row["MvCCRES"])
    ma_sh, mv_sh = row["MaCCRESshape"], row["MvCCRESshape"]
    if ma_sh != REGISTRY["MaCCRESshape"].nominal or mv_sh != REGISTRY["MvCCRESshape"].nominal:
        w_res = w_res * res.shape_ratio(ma_sh, mv_sh)  # GReWeightNuXSecCCRES::CalcWeightMaMvShape
    if row["NormCCRES"] != 1.0:
        w_res = w_res * row["NormCCRES"]  # GReWeightNuXSecCCRES::CalcWeightNorm
    if row["MFP_pi"] != 1.0:
        w_res = w_res * res.mfp_ratio(row["MFP_pi"])
    n_all = sample.binning.n_bins
    hist = (
        np.bincount(qe.bin67, w_qe, n_all)
        + np.bincount(sample.mec.bin67, w_mec, n_all)
        + np.bincount(res.bin67, w_res, n_all)
    )
    return hist / sample.binning.area


def exact_rpa_strength_limit(rpa_ratio: np.ndarray) -> float:
    """Largest RPA strength s up to which every per-event RPA_CCQE weight 1 + κ(1/R − 1), κ = 1 − s, is ≥ 0.

    Up to it the linear templates equal GENIE's clipped per-event reweighting exactly; beyond it GENIE sets the
    weights of the events with the smallest R to 0 while the templates extrapolate linearly (see README).
    """
    r_min = float(np.min(rpa_ratio)) if np.size(rpa_ratio) else 1.0
    return float("inf") if r_min >= 1.0 else 1.0 + r_min / (1.0 - r_min)


def _spline_coefficients(grid: np.ndarray, values: np.ndarray, bc_type: str = "natural") -> np.ndarray:
    """Cubic spline (natural by default) of ``values`` (nodes, k) along ``grid`` → coefficients (intervals, 4, k),
    highest first."""
    from scipy.interpolate import CubicSpline

    spline = CubicSpline(grid, values, axis=0, bc_type=bc_type)
    return np.ascontiguousarray(np.moveaxis(spline.c, 0, 1))


@dataclass
class Templates:
    """Precomputed simulator templates with fast numpy and differentiable torch evaluation, in every bin of the
    measurement's binning (T2K: 67, of which ``idx58`` are the default vector's; MINERvA: 144, ``idx58`` all of
    them)."""

    variant: str
    ma_grid: np.ndarray
    qd_coef: np.ndarray  # (intervals, 4, 2, n_all): spline coefficients of Q (index 0) and D (index 1)
    mec_v: np.ndarray
    mec_e: np.ndarray
    background: np.ndarray
    idx58: np.ndarray
    area: np.ndarray
    res_response: ResResponse | None = None  # the joint RES response (None: parametrised Δ background)
    res_shape_response: ResResponse | None = None  # the same in shape mode (built on first use, :meth:`shape_response`)
    pauli: PauliResponse | None = None  # CCQEPauliSupViaKF (None: CCQE without outgoing-nucleon momenta)
    metadata: dict = field(default_factory=dict)
    measurement: str = T2K_MEASUREMENT
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_all(self) -> int:
        """Bins of the measurement's full binning (67 for T2K, 144 for MINERvA)."""
        return int(self.area.size)

    @property
    def default_bins(self) -> int:
        """The vector length of ``bins=None`` (T2K: 58, MINERvA: 144)."""
        return int(self.idx58.size)

    # -- helpers -------------------------------------------------------------------------------------------------
    def _columns(self, bins: int) -> np.ndarray:
        return self.idx58 if self._check_bins(bins) == self.default_bins else np.arange(self.n_all)

    def _check_bins(self, bins: int | None) -> int:
        """``bins`` (``None``: :attr:`default_bins`) if the measurement has that vector length, else
        :class:`InvalidBinsError` (T2K: 58 or 67; MINERvA: 144)."""
        if bins is None:
            return self.default_bins
        if self.measurement == T2K_MEASUREMENT:
            return check_bins(bins)
        if isinstance(bins, bool) or bins != self.n_all:
            raise InvalidBinsError(f"bins={bins!r} is not allowed for {self.measurement}; use {self.n_all}")
        return int(bins)

    def _tables(self, bins: int):
        if bins not in self._cache:
            cols = self._columns(bins)
            qd = self.qd_coef[..., cols]  # (I, 4, 2, b)
            # grouped matmul layout: rows [dx³, dx², dx, 1, κdx³, κdx², κdx, κ] → (I, 8, b)
            grouped = np.concatenate([qd[:, :, 0, :], qd[:, :, 1, :]], axis=1)
            lin = np.stack([self.mec_v[cols], self.mec_e[cols], self.background[cols]])
            self._cache[bins] = (np.ascontiguousarray(grouped), np.ascontiguousarray(lin))
        return self._cache[bins]

    def components(self, ma: float, bins: int | None = None) -> dict[str, np.ndarray]:
        """Q(M_A), D(M_A), V, E, B at one M_A in ``bins`` (default: every bin of the binning; for diagnostics and
        tests)."""
        grouped, lin = self._tables(self.n_all if bins is None else self._check_bins(bins))
        i = int(np.clip(np.searchsorted(self.ma_grid, ma, side="right") - 1, 0, self.ma_grid.size - 2))
        dx = ma - self.ma_grid[i]
        powers = np.array([dx**3, dx**2, dx, 1.0])
        return {
            "Q": powers @ grouped[i, :4],
            "D": powers @ grouped[i, 4:],
            "V": lin[0],
            "E": lin[1],
            "B": lin[2],
        }

    def _res_terms(self, full: np.ndarray, names: tuple[str, ...]) -> tuple[np.ndarray, tuple, dict, dict]:
        """The RES background's ingredients for ``full`` θ in BUILTIN_DIALS order (validated against GENIE's fate
        rescaling and the background model): (fate factors (n, k), their components of :data:`COMPONENTS`, the
        named RES axes {axis: variable (n,)}, the others {axis: nominal variable})."""
        col = {n: full[:, i] for i, n in enumerate(BUILTIN_DIALS)}
        named = tuple(f for f in PION_FATES if f in names)
        if named:
            limit = max_named_sum(named, np.column_stack([col[f] for f in named]))
            if np.any(limit > 1.0 + 1e-12):
                i = int(np.argmax(limit))
                raise InvalidParameterError(
                    f"theta[{i}]: the pion fate scales {', '.join(f'{f} = {col[f][i]:g}' for f in named)} make the "
                    f"named hA2018 fractions sum to {limit[i]:.4g} > 1 at some pion energy, where GENIE Reweight "
                    "rescales every fraction (GReWeightINukeParams::Fates::ActualTwkDial) and the built-in "
                    "simulator's linear response stops being exact; lower them")
            off_nominal = any(np.any(col[f] != 1.0) for f in named if f != "FrAbs_pi")
            if not self.metadata.get("res_fate_response", True) and "FrAbs_pi" not in named and off_nominal:
                raise InvalidParameterError(
                    f"{', '.join(named)} not applied by the {self.variant!r} templates: their RES background (the "
                    "parametrised Delta model) has no pion kinetic energies for the hA2018 fate fractions")
        for dial in ("MaCCRES", "MvCCRES", "MaCCRESshape", "MvCCRESshape"):
            if not self.metadata.get("res_ma_response", True) and np.any(col[dial] != REGISTRY[dial].nominal):
                raise InvalidParameterError(
                    f"{dial} is not applied by the {self.variant!r} templates: their RES background is the "
                    "parametrised Delta model, which has no GENIE RES cross section to reweight (res_model "
                    "genie_berger_sehgal has)")
        if not self.metadata.get("res_fate_response", True) and np.any(col["MFP_pi"] != 1.0):
            raise InvalidParameterError(f"MFP_pi is not applied by the {self.variant!r} templates (no pion paths)")
        axes = SHAPE_AXES if shape_mode(names) else RES_AXES
        free = {a: axis_variable(d, col[d]) for a, d in enumerate(axes) if d in names}
        fixed = {a: float(axis_variable(d, REGISTRY[d].nominal)) for a, d in enumerate(axes) if d not in names}
        norm = col["NormCCRES"][:, None]  # GReWeightNuXSecCCRES::CalcWeightNorm: one factor on every component
        if "FrAbs_pi" in named or not named:
            return norm * col["FrAbs_pi"][:, None], (0,), free, fixed
        fates = tuple(f for f in CUSHION_FATES if f in named)
        factors = np.column_stack([np.ones(full.shape[0])] + [col[f] - 1.0 for f in fates])
        return norm * factors, (0, *(COMPONENTS.index((fates, f)) for f in fates)), free, fixed

    def response(self, names: tuple[str, ...]) -> ResResponse | None:
        """The RES response θ's dials need: the shape-mode one (:meth:`shape_response`) when MaCCRESshape or
        MvCCRESshape is named, else :attr:`res_response`."""
        return self.shape_response() if shape_mode(names) and self.res_response is not None else self.res_response

    def shape_response(self) -> ResResponse:
        """The shape-mode RES response, built on first use (from the side cache file of :func:`get_templates`, else
        from the base sample — regenerated from the metadata's seed and checked against its sha256) and cached."""
        if self.res_shape_response is None:
            self.res_shape_response = _shape_response(self)
        return self.res_shape_response

    def _pauli_scales(self, full: np.ndarray) -> np.ndarray:
        """The CCQEPauliSupViaKF k_F scales of ``full`` θ, validated against the CCQE model."""
        lam = full[:, BUILTIN_DIALS.index("CCQEPauliSupViaKF")]
        if self.pauli is None and np.any(np.abs(lam - 1.0) > NOT_TWEAKED):
            raise InvalidParameterError(
                f"CCQEPauliSupViaKF is not applied by the {self.variant!r} templates: their CCQE events (qe_model "
                "llewellyn_smith) are not QELEventGenerator events, for which GENIE Reweight's step weight is "
                "defined (qe_model genie_nieves has them)")
        return lam

    def _pauli_removed(self, full: np.ndarray, bins: int) -> np.ndarray:
        """(n, bins) the CCQE histogram CCQEPauliSupViaKF removes at ``full`` θ."""
        lam = self._pauli_scales(full)
        if self.pauli is None:
            return np.zeros((full.shape[0], self._columns(bins).size))
        return self.pauli.removed(full[:, 0], 1.0 - full[:, 3], lam, self._columns(bins))

    def _res_background(self, full: np.ndarray, names: tuple[str, ...], bins: int) -> np.ndarray:
        """(n, bins) the π-absorbed RES background at ``full`` θ (BUILTIN_DIALS order)."""
        factors, components, free, fixed = self._res_terms(full, names)
        if self.res_response is None:  # parametrised Δ: only FrAbs_pi and NormCCRES act (validated above)
            return factors[:, :1] * self.background[self._columns(bins)]
        return self.response(names).evaluate(factors, components, free, fixed, self._columns(bins))

    # -- numpy ---------------------------------------------------------------------------------------------------
    def evaluate(self, theta: Any, bins: int | None = None, names: Any = None) -> np.ndarray:
        """Histograms (n, bins) at physical θ (n, d) or (d,) (→ (1, bins)), the columns being the dials ``names``
        (default :data:`PARAMETER_NAMES`; any subset of :data:`BUILTIN_DIALS`). T2K: 1e-38 cm²/(GeV/c)/nucleon in
        58 (``bins=None``, the default) or 67 bins; MINERvA: 1e-38 cm²/GeV²/nucleon in its 144 bins (``None`` or
        144)."""
        names = check_names(names)
        bins = self._check_bins(bins)
        if names != PARAMETER_NAMES:
            return self._evaluate_general(full_theta(theta, names), bins, names)
        theta = validate_theta(theta)
        grouped, lin = self._tables(bins)
        if theta.shape[0] == 1:  # single-call fast path (scalar arithmetic, no batching machinery)
            ma, norm, shape, strength = theta[0].tolist()
            grid = self.ma_grid
            i = min(max(int(np.searchsorted(grid, ma, side="right")) - 1, 0), grid.size - 2)
            dx = ma - float(grid[i])
            kappa = 1.0 - strength
            powers = [dx * dx * dx, dx * dx, dx, 1.0]
            design = np.array(powers + [kappa * v for v in powers])
            mix = np.array([norm * (1.0 - shape), norm * shape, 1.0])
            return (design @ grouped[i] + mix @ lin)[None, :]
        out = np.empty((theta.shape[0], grouped.shape[-1]))
        for start in range(0, theta.shape[0], _CHUNK):
            block = theta[start : start + _CHUNK]
            out[start : start + block.shape[0]] = self._evaluate_block(block, grouped, lin)
        return out

    def _evaluate_block(self, theta: np.ndarray, grouped: np.ndarray, lin: np.ndarray,
                        background: np.ndarray | None = None) -> np.ndarray:
        """The four-dial histogram; with ``background`` (n, b) given, it replaces the fixed B template."""
        ma, norm, shape, strength = theta[:, :4].T
        kappa = 1.0 - strength
        idx = _intervals(self.ma_grid, ma)
        powers = _cubic_powers(ma - self.ma_grid[idx])
        design = np.concatenate([powers, kappa[:, None] * powers], axis=1)  # (n, 8)
        b_coef = np.ones_like(norm) if background is None else np.zeros_like(norm)
        mix = np.stack([norm * (1.0 - shape), norm * shape, b_coef], axis=1)
        out = mix @ lin
        if background is not None:
            out += background
        _add_spline_term(out, design, grouped, idx)
        return out

    def _evaluate_general(self, full: np.ndarray, bins: int, names: tuple[str, ...]) -> np.ndarray:
        """Any builtin dial set: ``full`` (n, len(BUILTIN_DIALS)) validated, in :data:`BUILTIN_DIALS` order;
        ``names`` the dials given (which pion fates are named decides GENIE's cushion)."""
        grouped, lin = self._tables(bins)
        out = np.empty((full.shape[0], grouped.shape[-1]))
        for start in range(0, full.shape[0], _CHUNK):
            block = full[start : start + _CHUNK]
            background = self._res_background(block, names, bins)
            if "CCQEPauliSupViaKF" in names:
                background -= self._pauli_removed(block, bins)
            out[start : start + block.shape[0]] = self._evaluate_block(block[:, :4], grouped, lin, background)
        return out

    # -- torch ---------------------------------------------------------------------------------------------------
    def evaluate_torch(self, theta: Any, bins: int | None = None, names: Any = None):
        """Differentiable torch evaluation (same formula); θ a tensor (n, d) or (d,) in dials ``names`` (default
        :data:`PARAMETER_NAMES`), dtype/device preserved.

        Gradients flow through M_A and M_A^RES (cubic splines), N, x, s and the FrAbs_pi scale (exactly
        linear/bilinear), NormCCRES (linear), M_V^RES, MFP_pi, the fate scales and the shape-mode masses (the RES
        response's Chebyshev bases). Range validation is done on a detached copy.
        """
        import torch

        names = check_names(names)
        if not torch.is_tensor(theta):
            theta = torch.as_tensor(np.asarray(theta, dtype=float))
        th = theta[None, :] if theta.dim() == 1 else theta
        validate_theta(th.detach().cpu().numpy(), names)
        if names != PARAMETER_NAMES:
            nominal = torch.as_tensor([REGISTRY[n].nominal for n in BUILTIN_DIALS], dtype=th.dtype, device=th.device)
            cols = [th[:, names.index(n)] if n in names else nominal[i].expand(th.shape[0])
                    for i, n in enumerate(BUILTIN_DIALS)]
            th = torch.stack(cols, dim=1)
        bins = self._check_bins(bins)
        grouped, lin = self._tables(bins)
        dtype, device = th.dtype, th.device
        key = ("torch", bins, dtype, str(device))
        if key not in self._cache:
            self._cache[key] = (
                torch.as_tensor(self.ma_grid, dtype=dtype, device=device),
                torch.as_tensor(grouped, dtype=dtype, device=device),
                torch.as_tensor(lin, dtype=dtype, device=device),
            )
        grid_t, grouped_t, lin_t = self._cache[key]
        ma, norm, shape, strength = th[:, :4].unbind(dim=1)
        kappa = 1.0 - strength
        idx = torch.clamp(
            torch.bucketize(ma.detach().contiguous(), grid_t, right=True) - 1, 0, grid_t.numel() - 2
        )
        dx = ma - grid_t[idx]
        powers = torch.stack([dx**3, dx**2, dx, torch.ones_like(dx)], dim=1)
        design = torch.cat([powers, kappa[:, None] * powers], dim=1)
        coef = grouped_t[idx]  # (n, 8, b)
        out = torch.einsum("nk,nkb->nb", design, coef)
        if names == PARAMETER_NAMES:
            mix = torch.stack([norm * (1.0 - shape), norm * shape, torch.ones_like(norm)], dim=1)
            return out + mix @ lin_t
        mix = torch.stack([norm * (1.0 - shape), norm * shape, torch.zeros_like(norm)], dim=1)
        _, components, free, fixed = self._res_terms(th.detach().cpu().numpy(), names)  # validation, terms
        col = {n: th[:, i] for i, n in enumerate(BUILTIN_DIALS)}
        if components == (0,):
            factors = col["FrAbs_pi"][:, None]
        else:
            fates = [f for s, f in (COMPONENTS[k] for k in components[1:])]
            factors = torch.stack([torch.ones_like(norm)] + [col[f] - 1.0 for f in fates], dim=1)
        factors = col["NormCCRES"][:, None] * factors
        if self.res_response is None:
            key_b = ("torch-b", bins, dtype, str(device))
            if key_b not in self._cache:
                self._cache[key_b] = torch.as_tensor(self.background[self._columns(bins)], dtype=dtype, device=device)
            background = factors[:, :1] * self._cache[key_b]
        else:
            axes = SHAPE_AXES if shape_mode(names) else RES_AXES
            variables = {a: (torch.log(col[d]) if d != "MFP_pi" else 1.0 / col[d]) for a, d in enumerate(axes)
                         if a in free}
            background = self.response(names).evaluate_torch(factors, components, variables, fixed,
                                                             self._columns(bins))
        if "CCQEPauliSupViaKF" in names:
            lam = self._pauli_scales(th.detach().cpu().numpy())
            if self.pauli is not None:
                background = background - self.pauli.removed_torch(ma, kappa, lam, self._columns(bins))
        return out + mix @ lin_t + background


def _intervals(grid: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Index of the spline interval of each x (clamped to the grid's ends)."""
    return np.clip(np.searchsorted(grid, x, side="right") - 1, 0, grid.size - 2)


def _cubic_powers(dx: np.ndarray) -> np.ndarray:
    """(n, 4) rows [dx³, dx², dx, 1] of the spline's local polynomial."""
    dx2 = dx * dx
    return np.stack([dx2 * dx, dx2, dx, np.ones_like(dx)], axis=1)


def _add_spline_term(out: np.ndarray, design: np.ndarray, coef: np.ndarray, idx: np.ndarray) -> None:
    """out (n, b) += design (n, k) · coef[idx] (k, b) row by row, grouped by interval (one matmul per interval)."""
    if out.shape[0] <= _SMALL_BATCH:
        out += np.einsum("nk,nkb->nb", design, coef[idx])
        return
    order = np.argsort(idx, kind="stable")
    counts = np.bincount(idx, minlength=coef.shape[0])
    starts = np.concatenate([[0], np.cumsum(counts)])
    for interval in np.flatnonzero(counts):
        rows = order[starts[interval] : starts[interval + 1]]
        out[rows] += design[rows] @ coef[interval]


# ----------------------------------------------------------------------------------------------------------------
# build and cache
# ----------------------------------------------------------------------------------------------------------------
def build_templates(
    variant: str = "nominal",
    *,
    sample_seed: int = 20240601,
    n_events: int = 1_000_000,
    sample: BaseSample | None = None,
    res_shape: bool = False,
    measurement: str = T2K_MEASUREMENT,
) -> Templates:
    """Generate the base sample of ``measurement`` and reduce it to templates (no cache; see :func:`get_templates`).
    The shape-mode RES response is built now with ``res_shape``, else on first use (from a given ``sample``, which
    is kept; it must be ``measurement``'s)."""
    given = sample
    check_measurement(measurement)
    if sample is None:
        sample = build_base_sample(variant, sample_seed, n_events, measurement=measurement)
    qe, binning = sample.qe, sample.binning
    area = binning.area
    n_all = binning.n_bins
    if (measurement == MINERVA_MEASUREMENT) != isinstance(binning, MinervaBinning):
        raise ValueError(f"the given sample's binning ({type(binning).__name__}) is not {measurement}'s")
    e_kept = max(float(c.enu.max()) if c.enu.size else 0.0 for c in (qe, sample.mec, sample.res))
    if e_kept > TABLE_E_MAX:
        raise ValueError(f"a kept {measurement} event has E_nu = {e_kept:.4g} GeV > {TABLE_E_MAX:g} GeV, beyond the "
                         "simulator's energy tables (events.TABLE_E_MAX): extend them before using this binning")
    rpa_term = 1.0 / qe.rpa_ratio - 1.0
    q_tab = np.empty((MA_GRID.size, n_all))
    d_tab = np.empty((MA_GRID.size, n_all))
    for j, ma in enumerate(MA_GRID):
        wr = qe.w_nom * qe.ma_ratio(ma)
        q_tab[j] = np.bincount(qe.bin67, wr, n_all) / area
        d_tab[j] = np.bincount(qe.bin67, wr * rpa_term, n_all) / area
    coef = _spline_coefficients(MA_GRID, np.concatenate([q_tab, d_tab], axis=1))  # (I, 4, 2 n_all)
    qd_coef = np.stack([coef[..., :n_all], coef[..., n_all:]], axis=2)
    mec_v = np.bincount(sample.mec.bin67, sample.mec.w_v, n_all) / area
    mec_e = np.bincount(sample.mec.bin67, sample.mec.w_e, n_all) / area
    background = np.bincount(sample.res.bin67, sample.res.w, n_all) / area
    nominal_total = q_tab[np.argmin(np.abs(MA_GRID - REGISTRY["MaCCQE"].nominal))] + mec_v + background
    res_response = build_res_response(sample.res, area, nominal_total, tolerance=rank_tolerance(measurement))
    pauli = build_pauli_response(qe, area)
    meta = {
        "variant": variant,
        **({} if measurement == T2K_MEASUREMENT else {"measurement": measurement}),
        "sample_seed": int(sample_seed),
        "n_events": int(n_events),
        "sample_sha256": sample.digest(),
        "n_kept": {"qe": int(qe.w_nom.size), "mec": int(sample.mec.w_v.size), "res": int(sample.res.w.size)},
        "sigma_flux_averaged": {
            "qe": float(qe.w_nom.sum()),
            "qe_no_rpa": float((qe.w_nom / qe.rpa_ratio).sum()),
            "mec_v": float(sample.mec.w_v.sum()),
            "mec_e": float(sample.mec.w_e.sum()),
            "res": float(sample.res.w.sum()),
        },
        "rpa_ratio_min": float(qe.rpa_ratio.min()),
        "max_kept_enu": e_kept,
        "rpa_exact_max_strength": exact_rpa_strength_limit(qe.rpa_ratio),
        "res_ma_response": bool(sample.res.reweightable),
        "res_fate_response": sample.res.pion_ke is not None,
        "res_response": None if res_response is None else res_response.metadata,
        "pauli": None if pauli is None else pauli.metadata,
    }
    templates = Templates(
        variant=variant,
        ma_grid=MA_GRID.copy(),
        qd_coef=qd_coef,
        mec_v=mec_v,
        mec_e=mec_e,
        background=background,
        idx58=binning.columns(binning.bin_choices[0]).copy(),
        area=area.copy(),
        res_response=res_response,
        pauli=pauli,
        metadata=meta,
        measurement=measurement,
    )
    if given is not None:
        templates._cache["sample"] = given
    if res_shape:
        templates._cache["sample"] = sample
        templates.shape_response()
        templates._cache.pop("sample")
    return templates


def _nominal_total(templates: Templates) -> np.ndarray:
    """(n_all,) Q(M_A nom) + V + B: the unit of the RES responses' compression tolerance."""
    parts = templates.components(REGISTRY["MaCCQE"].nominal)
    return parts["Q"] + parts["V"] + parts["B"]


def _shape_response(templates: Templates) -> ResResponse:
    """Load the shape-mode response from its side cache file, else build it (and save it there)."""
    meta = templates.metadata
    path = templates._cache.get("shape_path")
    if path is not None and Path(path).is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                stored = json.loads(str(data["metadata"]))
                if stored.get("cache_key") == meta.get("cache_key"):
                    return _response_from(data, stored["res_response"])
        except (OSError, ValueError, KeyError):
            pass
    sample = templates._cache.get("sample")
    if sample is None:
        sample = build_base_sample(templates.variant, meta["sample_seed"], meta["n_events"],
                                   measurement=templates.measurement)
        if sample.digest() != meta["sample_sha256"]:
            raise RuntimeError("the regenerated base sample differs from the templates' (sample_sha256)")
    response = build_res_response(sample.res, templates.area, _nominal_total(templates), shape=True,
                                  tolerance=rank_tolerance(templates.measurement))
    if response is None:
        raise InvalidParameterError(f"the {templates.variant!r} templates cannot apply the RES shape dials")
    meta["res_shape_response"] = response.metadata
    if path is not None:
        with atomic_write(Path(path)) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **_response_arrays(response),
                     metadata=np.array(json.dumps({"cache_key": meta.get("cache_key"),
                                                   "res_response": response.metadata}, sort_keys=True)))
    return response


def default_cache_dir() -> Path:
    """``$NUTUNE_CACHE`` or ``~/.cache/nutune``."""
    env = os.environ.get("NUTUNE_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "nutune"


def _code_version() -> str:
    import nutune

    h = hashlib.sha256(nutune.__version__.encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        if path.name in ("calibration.py",):
            continue
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _measurement_resources(measurement: str) -> dict[str, str]:
    """sha256 of the resource files (flux, binning) a measurement's templates are built from."""
    if measurement == T2K_MEASUREMENT:
        return {str(FLUX_FILE): sha256_file(resources_dir() / FLUX_FILE),
                str(T2K_FILE): sha256_file(resources_dir() / T2K_FILE)}
    return {name: sha256_file(resources_dir() / name) for name in MINERVA_FLUX_FILES}


def cache_key(variant: str, sample_seed: int, n_events: int,
              measurement: str = T2K_MEASUREMENT) -> tuple[str, dict]:
    """Content hash (and its ingredients) naming the cached templates file."""
    check_measurement(measurement)
    ingredients = {
        **({} if measurement == T2K_MEASUREMENT else {"measurement": measurement}),
        "variant": variant,
        "sample_seed": int(sample_seed),
        "n_events": int(n_events),
        "physics": get_physics(variant).as_dict(),
        "ma_grid": [float(MA_GRID[0]), float(MA_GRID[-1]), int(MA_GRID.size)],
        "res_response": {"axes": list(RES_AXES), "global_nodes": list(GLOBAL_NODES), "cells": list(CELLS),
                         "rank_tolerance": rank_tolerance(measurement),
                         "ranges": [list(REGISTRY[d].valid_range) for d in RES_AXES]},
        "code_version": _code_version(),
        "resources": {
            **{f"genie_ha2018/{name}": sha256_file(resources_dir() / "genie_ha2018" / name)
               for name in sorted([*FATE_TABLES.values(), *PIN_TABLES.values()])},
            **_measurement_resources(measurement),
        },
    }
    return sha256_bytes(json.dumps(ingredients, sort_keys=True).encode()), ingredients


_ARRAYS = ("ma_grid", "qd_coef", "mec_v", "mec_e", "background", "idx58", "area")
_RES_ARRAYS = ("lo", "hi", "cores", "nominal")
_PAULI_ARRAYS = ("keys", "cumulative", "bin_start", "psi")


def _save(templates: Templates, path: Path) -> None:
    with atomic_write(path) as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            **{name: getattr(templates, name) for name in _ARRAYS},
            **_response_arrays(templates.res_response),
            **_pauli_arrays(templates.pauli),
            metadata=np.array(json.dumps(templates.metadata, sort_keys=True)),
        )


def _load(path: Path, variant: str) -> Templates:
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: np.array(data[name]) for name in _ARRAYS}
        meta = json.loads(str(data["metadata"]))
        response = _response_from(data, meta["res_response"]) if bool(data["res_response"]) else None
        pauli = None
        if bool(data["pauli"]):
            pauli = PauliResponse(**{name: np.array(data[f"pauli_{name}"]) for name in _PAULI_ARRAYS},
                                  metadata=meta["pauli"])
    return Templates(variant=variant, metadata=meta, res_response=response, pauli=pauli,
                     measurement=meta.get("measurement", T2K_MEASUREMENT), **arrays)


def _response_from(data, metadata: dict) -> ResResponse:
    """A RES response from the npz entries of :func:`_response_arrays`."""
    return ResResponse(**{name: np.array(data[f"res_{name}"]) for name in _RES_ARRAYS},
                       bases=tuple(np.array(data[f"res_basis_{a}"]) for a in range(len(RES_AXES))), metadata=metadata)


def _pauli_arrays(pauli: PauliResponse | None) -> dict[str, np.ndarray]:
    """The npz entries of a CCQEPauliSupViaKF response (only the flag ``pauli`` = False for none)."""
    if pauli is None:
        return {"pauli": np.array(False)}
    return {"pauli": np.array(True), **{f"pauli_{name}": getattr(pauli, name) for name in _PAULI_ARRAYS}}


def _response_arrays(response: ResResponse | None) -> dict[str, np.ndarray]:
    """The npz entries of a RES response (only the flag ``res_response`` = False for none)."""
    if response is None:
        return {"res_response": np.array(False)}
    return {"res_response": np.array(True), **{f"res_{name}": getattr(response, name) for name in _RES_ARRAYS},
            **{f"res_basis_{a}": basis for a, basis in enumerate(response.bases)}}


_MEMO: dict[tuple, Templates] = {}


def get_templates(
    variant: str = "nominal",
    *,
    sample_seed: int = 20240601,
    n_events: int = 1_000_000,
    cache_dir: str | os.PathLike | None = None,
    measurement: str = T2K_MEASUREMENT,
) -> Templates:
    """Templates for (variant, sample_seed, n_events, measurement): from memory, else the disk cache, else built and
    cached.

    The cache file ``templates_<variant>_<hash16>.npz`` (T2K) or ``templates_<measurement>_<variant>_<hash16>.npz``
    (any other measurement) is named by :func:`cache_key` (measurement, seed, n_events, variant, physics constants,
    simulator source code, resource sha256), written atomically and read with ``allow_pickle=False``; a file whose
    stored key does not match is rebuilt.
    """
    get_physics(variant)
    check_measurement(measurement)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key, ingredients = cache_key(variant, sample_seed, n_events, measurement)
    memo_key = (measurement, variant, int(sample_seed), int(n_events), str(cache.resolve()), key)
    if memo_key in _MEMO:
        return _MEMO[memo_key]
    prefix = "templates" if measurement == T2K_MEASUREMENT else f"templates_{measurement}"
    path = cache / f"{prefix}_{variant}_{key[:16]}.npz"
    templates = None
    if path.is_file():
        try:
            templates = _load(path, variant)
            if templates.metadata.get("cache_key") != key or templates.measurement != measurement:
                templates = None
        except (OSError, ValueError, KeyError):
            templates = None
    if templates is None:
        templates = build_templates(variant, sample_seed=sample_seed, n_events=n_events, measurement=measurement)
        templates.metadata["cache_key"] = key
        templates.metadata["cache_ingredients"] = ingredients
        _save(templates, path)
    templates._cache["shape_path"] = path.with_name(f"{path.stem}_resshape.npz")
    _MEMO[memo_key] = templates
    return templates
