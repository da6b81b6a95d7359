"""Loaders and validators for the input data shipped in ``resources/`` (T2K CC0π, ND280 flux, published curves).

Everything is validated at load time and a user-fixable problem raises :class:`DataError` naming the file, the
bad value and what is expected.

Sources (see ``resources/README.md`` and the ``*_meta.json`` provenance files):

* T2K CC0π 2016 Analysis I: K. Abe et al. (T2K), PRD 93, 112012 (2016), arXiv:1602.03652, as shipped in NUISANCE
  (``data/T2K/CC0pi/``). The 58-bin vector drops the nine momentum-overflow bins exactly as NUISANCE
  ``T2K_CC0pi_XSec_2DPcos_nu_I`` with ``mask_mom_overflow=1``.
* ND280 νμ flux, 2016 release, +250 kA (NUISANCE ``t2kflux_2016_plus250kA.root``, ``enu_nd280_numu``).
* Published GENIE MicroBooNE-tune and NuWro predictions (58 bins) recovered from the figures of the notebook of
  arXiv:2603.09778 (``resources/published_predictions/README.md``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nutune.config import allowed_values
from nutune.io import sha256_bytes, sha256_file

__all__ = [
    "DataError",
    "T2KMeasurement",
    "Flux",
    "PUBLISHED_COLUMNS",
    "COV_COMPONENTS",
    "T2K_NPZ",
    "FLUX_NPZ",
    "PUBLISHED_CSV",
    "resources_root",
    "resource_path",
    "data_hash",
    "load_t2k",
    "load_flux",
    "load_flux_csv",
    "FLUX_CSV_COLUMNS",
    "load_published",
    "validate_histogram",
    "validate_covariance",
    "validate_flux",
    "Measurement",
    "load_measurement",
    "check_simulated_range",
    "FAR_OUTSIDE_FACTOR",
    "frozen",
]

#: Relative paths (inside ``resources/``) of the files the loaders read.
T2K_NPZ = "t2k/t2k_cc0pi_2016_anaI.npz"
FLUX_NPZ = "flux/t2k_nd280_flux.npz"
PUBLISHED_CSV = "published_predictions/t2k_cc0pi_anaI_genie_tune_and_nuwro_58bin.csv"
#: Columns of the published-predictions table usable as observations (``observations.<name>.column`` in the schema).
PUBLISHED_COLUMNS: tuple[str, ...] = allowed_values("observations", "column")
#: Covariance components of the T2K release (stat, shape systematics, flux normalisation), from the schema.
COV_COMPONENTS: tuple[str, ...] = allowed_values("npe", "noise_components")
#: The T2K binnings (the T2K measurement's ``bin_choices``, nutune.measurements; the schema's ``simulator.bins``
#: enum is their union with the other measurements', checked in tests/test_measurements.py).
VALID_BINS: tuple[int, ...] = (58, 67)


class DataError(ValueError):
    """A data file is missing, malformed or physically invalid (wrong shape, NaN, negative, not PD, ...)."""


def frozen(a: object, dtype: type | None = float) -> np.ndarray:
    """A read-only copy of ``a`` (the arrays a loaded measurement hands out), as ``dtype`` (None keeps a's)."""
    out = np.array(a, dtype=dtype)
    out.setflags(write=False)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Locating the resources
# ---------------------------------------------------------------------------------------------------------------


def resources_root() -> Path:
    """The repository's ``resources/`` directory.

    Order: the environment override ``NUTUNE_RESOURCES``; the ``resources/`` next to the
    package source (``src/nutune/../../resources``, the editable install); ``./resources`` in the working directory
    (Snakemake runs from the repository root).

    Raises:
        DataError: if none of these exists.
    """
    env = os.environ.get("NUTUNE_RESOURCES")
    if env:
        path = Path(env)
        if not path.is_dir():
            raise DataError(f"NUTUNE_RESOURCES={env!r} is not a directory; point it at the repository's resources/")
        return path
    candidates = [Path(__file__).resolve().parents[2] / "resources", Path.cwd() / "resources"]
    for cand in candidates:
        if (cand / T2K_NPZ).is_file():
            return cand
    raise DataError(
        "cannot find the resources/ directory (looked in "
        + ", ".join(str(c) for c in candidates)
        + "); run from the repository root or set NUTUNE_RESOURCES"
    )


def resource_path(relative: str, root: str | os.PathLike | None = None) -> Path:
    """Absolute path of ``relative`` inside the resources root; :class:`DataError` if the file is missing."""
    base = Path(root) if root is not None else resources_root()
    path = base / relative
    if not path.is_file():
        raise DataError(f"missing data file {path} (expected {relative!r} under {base})")
    return path


def data_hash(root: str | os.PathLike | None = None) -> str:
    """SHA-256 over the resource files the loaders use (T2K NPZ, flux NPZ, published CSV), by name and content.

    Stored in bank and model metadata so a model trained against other data is detected.
    """
    base = Path(root) if root is not None else resources_root()
    files = (T2K_NPZ, FLUX_NPZ, PUBLISHED_CSV)
    for rel in files:
        resource_path(rel, base)
    lines = [f"{rel}:{sha256_file(base / rel)}" for rel in files]
    return sha256_bytes("\n".join(lines).encode())


# ---------------------------------------------------------------------------------------------------------------
# Validators
# ---------------------------------------------------------------------------------------------------------------


def validate_histogram(x: object, n_bins: int, name: str) -> np.ndarray:
    """Check a histogram (or a stack of them, shape (..., n_bins)): right length, finite, non-negative.

    Args:
        x: array-like histogram(s) in 1e-38 cm²/(GeV/c)/nucleon.
        n_bins: expected number of bins (58 or 67).
        name: what the array is (file or variable), used in the message.

    Returns:
        The histogram as a float64 array.

    Raises:
        DataError: naming ``name``, the first bad bin and its value.
    """
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name}: not a numeric array ({exc})") from None
    if arr.ndim == 0 or arr.shape[-1] != n_bins:
        raise DataError(f"{name}: expected {n_bins} bins, got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataError(f"{name}: {int(bad.sum())} non-finite value(s), first at index {idx} = {float(arr[idx])!r}")
    neg = arr < 0
    if neg.any():
        idx = tuple(int(i) for i in np.argwhere(neg)[0])
        raise DataError(
            f"{name}: {int(neg.sum())} negative value(s), first at index {idx} = {float(arr[idx])!r}; "
            "cross sections must be >= 0"
        )
    return arr


def validate_covariance(
    cov: object, n: int, name: str, *, positive_definite: bool = True, rtol: float = 1e-10
) -> np.ndarray:
    """Check a covariance matrix: square (n, n), finite, symmetric to ``rtol``, positive (semi-)definite.

    Positive definiteness is tested with a Cholesky factorisation (what χ² and the throws need). With
    ``positive_definite=False`` only positive semi-definiteness is required (eigenvalues >= -1e-6·max), as for the
    rank-one flux-normalisation component of the T2K release.

    Raises:
        DataError: naming ``name`` and the failed property.
    """
    try:
        arr = np.asarray(cov, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name}: not a numeric array ({exc})") from None
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise DataError(f"{name}: covariance must be a square matrix, got shape {arr.shape}")
    if arr.shape[0] != n:
        raise DataError(f"{name}: covariance is {arr.shape[0]}x{arr.shape[1]}, expected {n}x{n}")
    if not np.isfinite(arr).all():
        raise DataError(f"{name}: covariance has {int((~np.isfinite(arr)).sum())} non-finite entries")
    asym = np.abs(arr - arr.T)
    scale = np.maximum(np.abs(arr), np.abs(arr.T))
    if np.any(asym > rtol * scale + 1e-300):
        i, j = np.unravel_index(int(np.argmax(asym - rtol * scale)), arr.shape)
        raise DataError(
            f"{name}: covariance is not symmetric (C[{i},{j}] = {float(arr[i, j])!r} but C[{j},{i}] = {float(arr[j, i])!r}; "
            f"relative tolerance {rtol})"
        )
    if positive_definite:
        try:
            np.linalg.cholesky(arr)
        except np.linalg.LinAlgError:
            wmin = float(np.linalg.eigvalsh(arr).min())
            raise DataError(
                f"{name}: covariance is not positive definite (Cholesky failed; smallest eigenvalue {wmin:.3g})"
            ) from None
    else:
        w = np.linalg.eigvalsh(arr)
        if w.min() < -1e-6 * max(float(w.max()), 0.0) or w.max() < 0:
            raise DataError(
                f"{name}: covariance is not positive semi-definite (smallest eigenvalue {float(w.min()):.3g})"
            )
    return arr


def validate_flux(edges: object, values: object, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Check a binned flux: strictly increasing finite edges, len(values) == len(edges) - 1, finite, >= 0, not all 0.

    Raises:
        DataError: naming ``name`` and the failed property.
    """
    e = np.asarray(edges, dtype=float)
    v = np.asarray(values, dtype=float)
    if e.ndim != 1 or e.size < 2:
        raise DataError(f"{name}: flux edges must be a 1-d array of at least 2 values, got shape {e.shape}")
    if not np.isfinite(e).all():
        raise DataError(f"{name}: flux edges contain non-finite values")
    if np.any(np.diff(e) <= 0):
        i = int(np.argmax(np.diff(e) <= 0))
        raise DataError(f"{name}: flux edges must increase strictly; edges[{i}]={e[i]} >= edges[{i + 1}]={e[i + 1]}")
    if e[0] < 0:
        raise DataError(f"{name}: flux energies must be >= 0, first edge is {e[0]}")
    if v.shape != (e.size - 1,):
        raise DataError(f"{name}: flux has shape {v.shape}, expected ({e.size - 1},) for {e.size} edges")
    validate_histogram(v, e.size - 1, name)
    if not np.any(v > 0):
        raise DataError(f"{name}: flux is zero everywhere")
    return e, v


# ---------------------------------------------------------------------------------------------------------------
# Loaders
# ---------------------------------------------------------------------------------------------------------------


def _check_bins(bins: int) -> int:
    if bins not in VALID_BINS:
        raise DataError(f"bins = {bins!r} is not allowed; allowed: 58 (overflow masked, NUISANCE default) or 67")
    return int(bins)


def _load_npz(path: Path, keys: Iterable[str]) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise DataError(f"{path}: missing array(s) {', '.join(missing)}")
            return {k: np.asarray(npz[k]) for k in npz.files}
    except DataError:
        raise
    except Exception as exc:  # zip/format errors from numpy
        raise DataError(f"{path}: cannot read NPZ file ({type(exc).__name__}: {exc})") from None


@dataclass(frozen=True)
class T2KMeasurement:
    """T2K CC0π 2016 Analysis I flux-integrated d²σ/(dp_μ dcosθ_μ) on CH, per nucleon (arXiv:1602.03652).

    Attributes:
        bins: 58 (momentum-overflow bins masked, NUISANCE ``mask_mom_overflow=1``) or 67.
        values: (bins,) cross section in 1e-38 cm²/(GeV/c)/nucleon.
        cov_stat, cov_syst, cov_norm, cov_total: (bins, bins) covariances in (1e-38 ...)²; stat + syst + norm =
            total (the NUISANCE total). ``cov_norm`` is the rank-one fully correlated flux normalisation (8.56 %).
        bin_table: one row per bin: bin67, bin58, slice, cos_lo, cos_hi, p_lo, p_hi (GeV/c), area.
        slice_index: (bins,) cosθ slice 0..8 of each bin.
        areas: (bins,) Δp·Δcos of each bin [GeV/c] (the integral of the prediction is Σ x·area).
    """

    bins: int
    values: np.ndarray
    cov_stat: np.ndarray
    cov_syst: np.ndarray
    cov_norm: np.ndarray
    cov_total: np.ndarray
    bin_table: pd.DataFrame
    slice_index: np.ndarray
    areas: np.ndarray

    def cov(self, components: Iterable[str] = COV_COMPONENTS) -> np.ndarray:
        """Sum of the named covariance components (any of ``stat``, ``syst``, ``norm``)."""
        comps = list(components)
        if not comps:
            raise DataError("cov(): at least one covariance component is needed (stat, syst, norm)")
        unknown = [c for c in comps if c not in COV_COMPONENTS]
        if unknown:
            raise DataError(f"cov(): unknown covariance component(s) {unknown}; allowed: {', '.join(COV_COMPONENTS)}")
        if len(set(comps)) != len(comps):
            raise DataError(f"cov(): duplicated covariance component in {comps}")
        return sum((getattr(self, f"cov_{c}") for c in comps), start=np.zeros((self.bins, self.bins)))


_T2K_KEYS = ("slice", "cos_lo", "cos_hi", "p_lo", "p_hi", "xsec", "cov_stat", "cov_syst", "cov_norm", "cov_total",
             "mask58", "idx58")


def load_t2k(bins: int = 58, root: str | os.PathLike | None = None) -> T2KMeasurement:
    """Load and validate the T2K CC0π Analysis I measurement from ``resources/t2k/t2k_cc0pi_2016_anaI.npz``.

    The 58-bin selection uses the file's ``idx58`` (67-bin indices of the kept bins), which is checked against the
    overflow rule (the last, p up to 30 GeV/c, bin of each slice is dropped: NUISANCE ``mask_mom_overflow``).

    Args:
        bins: 58 or 67.
        root: resources directory (default :func:`resources_root`).

    Raises:
        DataError: missing/unreadable file, wrong shapes, NaN or negative cross sections, a covariance that is not
            symmetric/PD, or components that do not sum to the total.
    """
    bins = _check_bins(bins)
    path = resource_path(T2K_NPZ, root)
    d = _load_npz(path, _T2K_KEYS)
    n_all = 67
    for key in ("slice", "cos_lo", "cos_hi", "p_lo", "p_hi", "xsec", "mask58"):
        if d[key].shape != (n_all,):
            raise DataError(f"{path}: array {key!r} has shape {d[key].shape}, expected ({n_all},)")
    idx58 = d["idx58"].astype(int)
    if idx58.shape != (58,) or np.any(np.diff(idx58) <= 0) or idx58.min() < 0 or idx58.max() >= n_all:
        raise DataError(f"{path}: idx58 must be 58 increasing indices in [0, 67), got shape {idx58.shape}")
    if not np.array_equal(np.flatnonzero(d["mask58"]), idx58):
        raise DataError(f"{path}: mask58 and idx58 disagree")
    for key in ("cos_lo", "cos_hi", "p_lo", "p_hi"):
        if not np.isfinite(d[key]).all():
            raise DataError(f"{path}: bin edges {key!r} contain non-finite values")
    if np.any(d["cos_hi"] <= d["cos_lo"]) or np.any(d["p_hi"] <= d["p_lo"]):
        raise DataError(f"{path}: some bins have upper edge <= lower edge")
    sel = idx58 if bins == 58 else np.arange(n_all)
    values = validate_histogram(d["xsec"][sel], bins, f"{path}:xsec")
    covs = {}
    for comp in (*COV_COMPONENTS, "total"):
        full = d[f"cov_{comp}"]
        if full.shape != (n_all, n_all):
            raise DataError(f"{path}: cov_{comp} has shape {full.shape}, expected ({n_all}, {n_all})")
        covs[comp] = validate_covariance(
            full[np.ix_(sel, sel)], bins, f"{path}:cov_{comp}", positive_definite=(comp != "norm")
        )
    summed = covs["stat"] + covs["syst"] + covs["norm"]
    if not np.allclose(summed, covs["total"], rtol=1e-6, atol=1e-12 * np.abs(covs["total"]).max()):
        raise DataError(f"{path}: cov_stat + cov_syst + cov_norm differs from cov_total")
    bin58 = np.full(n_all, -1)
    bin58[idx58] = np.arange(58)
    table = pd.DataFrame(
        {
            "bin67": np.arange(n_all)[sel],
            "bin58": bin58[sel],
            "slice": d["slice"].astype(int)[sel],
            "cos_lo": d["cos_lo"][sel],
            "cos_hi": d["cos_hi"][sel],
            "p_lo": d["p_lo"][sel],
            "p_hi": d["p_hi"][sel],
        }
    )
    areas = ((table["p_hi"] - table["p_lo"]) * (table["cos_hi"] - table["cos_lo"])).to_numpy()
    table["area"] = areas
    for arr in (values, areas, *covs.values()):
        arr.setflags(write=False)
    slice_index = table["slice"].to_numpy()
    slice_index.setflags(write=False)
    return T2KMeasurement(
        bins=bins,
        values=values,
        cov_stat=covs["stat"],
        cov_syst=covs["syst"],
        cov_norm=covs["norm"],
        cov_total=covs["total"],
        bin_table=table,
        slice_index=slice_index,
        areas=areas,
    )


@dataclass(frozen=True)
class Flux:
    """T2K ND280 flux, 2016 release, +250 kA (FHC), 0-30 GeV in 220 bins.

    Attributes:
        e_edges: (221,) neutrino energy edges [GeV].
        numu, numubar, nue, nuebar: (220,) flux per cm² per 50 MeV per 1e21 POT *in every bin* (the release's
            convention, also for the 1 GeV-wide bins above 10 GeV).
        numu_pdf_per_gev: (220,) νμ energy density normalised to unit integral [1/GeV].
    """

    e_edges: np.ndarray
    numu: np.ndarray
    numubar: np.ndarray
    nue: np.ndarray
    nuebar: np.ndarray
    numu_pdf_per_gev: np.ndarray

    @property
    def e_centres(self) -> np.ndarray:
        """Bin centres [GeV]."""
        return 0.5 * (self.e_edges[1:] + self.e_edges[:-1])

    @property
    def widths(self) -> np.ndarray:
        """Bin widths [GeV]."""
        return np.diff(self.e_edges)


def load_flux(root: str | os.PathLike | None = None, *, path: str | os.PathLike | None = None) -> Flux:
    """Load and validate the ND280 flux from ``resources/flux/t2k_nd280_flux.npz`` (THE flux loader: the built-in
    simulator's :func:`nutune.simulator.flux.load_flux` and the GENIE backend's flux CSV reader delegate here).

    Args:
        root: resources directory (default :func:`resources_root`).
        path: the flux NPZ itself instead of ``root``/``FLUX_NPZ`` (a study's own copy).

    Raises:
        DataError: missing file/array, edges not increasing, NaN or negative flux, a pdf not normalised to 1.
    """
    if path is None:
        path = resource_path(FLUX_NPZ, root)
    elif not Path(path).is_file():
        raise DataError(f"missing flux file {path} (the shipped one is resources/{FLUX_NPZ})")
    path = Path(path)
    keys = ("E_edges", "numu_2016", "numubar_2016", "nue_2016", "nuebar_2016", "numu_2016_pdf_per_GeV")
    d = _load_npz(path, keys)
    edges = d["E_edges"]
    out = {}
    for key in keys[1:]:
        _, out[key] = validate_flux(edges, d[key], f"{path}:{key}")
    pdf = out["numu_2016_pdf_per_GeV"]
    integral = float(np.sum(pdf * np.diff(edges)))
    if not np.isclose(integral, 1.0, rtol=1e-6):
        raise DataError(f"{path}: numu_2016_pdf_per_GeV integrates to {integral:.6g}, expected 1")
    return Flux(
        e_edges=np.asarray(edges, dtype=float),
        numu=out["numu_2016"],
        numubar=out["numubar_2016"],
        nue=out["nue_2016"],
        nuebar=out["nuebar_2016"],
        numu_pdf_per_gev=pdf,
    )


#: Columns of the flux CSV export (``resources/flux/t2k_nd280_flux_2016_plus250kA.csv``) holding a flux histogram.
FLUX_CSV_COLUMNS: tuple[str, ...] = ("numu", "numubar", "nue", "nuebar")


def load_flux_csv(csv_path: str | os.PathLike) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Energy edges (GeV) and the flux columns (per cm² per 50 MeV per 1e21 POT) of the flux CSV export (the
    source of the GENIE backend's ``t2kflux_2016_plus250kA.root``), each column checked with :func:`validate_flux`.

    Raises:
        DataError: an empty table, non-contiguous energy bins, or a column that is not a valid flux.
    """
    import csv

    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise DataError(f"{csv_path}: empty flux table")
    lo = np.array([float(r["E_lo_GeV"]) for r in rows])
    hi = np.array([float(r["E_hi_GeV"]) for r in rows])
    if not np.allclose(lo[1:], hi[:-1]):
        raise DataError(f"{csv_path}: energy bins are not contiguous")
    edges = np.concatenate([lo, hi[-1:]])
    cols = {c: np.array([float(r[c]) for r in rows]) for c in FLUX_CSV_COLUMNS}
    for column, values in cols.items():
        validate_flux(edges, values, f"{csv_path}:{column}")
    return edges, cols


def load_published(column: str, bins: int = 58, root: str | os.PathLike | None = None) -> np.ndarray:
    """A published model prediction (``microboone_tune`` or ``nuwro``) for the 58 T2K bins.

    The values are the GENIE v3 MicroBooNE-tune and NuWro curves recovered pixel-exactly from the figures of
    arXiv:2603.09778's notebook (``resources/published_predictions/README.md``); only the 58 kept bins exist.

    Raises:
        DataError: unknown column, ``bins`` other than 58, missing file, bin order not 0..57, NaN/negative values.
    """
    if column not in PUBLISHED_COLUMNS:
        raise DataError(f"published column {column!r} is unknown; allowed: {', '.join(PUBLISHED_COLUMNS)}")
    bins = _check_bins(bins)
    if bins != 58:
        raise DataError(f"published predictions exist for the 58 kept bins only, not bins = {bins}")
    path = resource_path(PUBLISHED_CSV, root)
    try:
        table = pd.read_csv(path)
    except Exception as exc:
        raise DataError(f"{path}: cannot read CSV ({type(exc).__name__}: {exc})") from None
    for key in ("bin58", column):
        if key not in table.columns:
            raise DataError(f"{path}: missing column {key!r} (has {', '.join(map(str, table.columns))})")
    if len(table) != 58 or not np.array_equal(table["bin58"].to_numpy(), np.arange(58)):
        raise DataError(f"{path}: expected 58 rows with bin58 = 0..57 in order, got {len(table)} rows")
    values = validate_histogram(pd.to_numeric(table[column], errors="coerce").to_numpy(), 58, f"{path}:{column}")
    return values


# ---------------------------------------------------------------------------------------------------------------
# A user's own measurement (observation kind ``measurement``; layout in docs/measurement.md)
# ---------------------------------------------------------------------------------------------------------------

#: A measurement whose total Σx lies more than this factor below the smallest or above the largest total of the
#: simulations (the prior's bank) is refused as "far outside the simulated range" (wrong units, per nucleus, ...).
FAR_OUTSIDE_FACTOR = 3.0
#: Unit slips checked by name when a total is far outside the simulated range: factor -> what it means.
_UNIT_SLIPS = {
    1e-38: "cm² instead of 1e-38 cm² (multiply by 1e38)",
    1e38: "1e-76 cm² instead of 1e-38 cm² (divide by 1e38)",
    1e-39: "cm² per MeV/c instead of 1e-38 cm²/(GeV/c) (multiply by 1e39)",
    1e-3: "per MeV/c instead of per GeV/c (multiply by 1000)",
    1e3: "per (GeV/c) expected but the values look 1000 times too large (per keV/c? divide by 1000)",
    13.0: "per CH molecule (13 nucleons) instead of per nucleon (divide by 13)",
    12.0: "per carbon nucleus (12 nucleons) instead of per nucleon (divide by 12)",
}


@dataclass(frozen=True)
class Measurement:
    """A user's histogram and covariance (observation kind ``measurement``).

    Attributes:
        path: the CSV it was read from.
        values: (bins,) d²σ/(dp_μ dcosθ_μ) in 1e-38 cm²/(GeV/c)/nucleon, T2K bin order.
        cov: (bins, bins) its covariance in (1e-38 cm²/(GeV/c)/nucleon)², symmetric positive definite.
    """

    path: str
    values: np.ndarray
    cov: np.ndarray


def _cell(value: object) -> str:
    """A CSV cell as the user typed it, for messages (``'abc'``, ``'nan'``, or ``empty``)."""
    return "empty" if not isinstance(value, str) else repr(value)


def load_measurement(path: str | os.PathLike, bins: int = 58) -> Measurement:
    """Read and validate a measurement CSV: a header line, one row per bin, columns ``bin`` (0 .. bins−1 in
    order), ``x`` and ``cov_0`` .. ``cov_<bins−1>`` (row i of the covariance; docs/measurement.md).

    Raises:
        DataError: missing/unreadable file, missing or extra columns, wrong number of rows (bins), bins out of
            order, non-finite or negative values, an all-zero histogram, a covariance that is not symmetric
            positive definite — each naming the file and what is wrong.
    """
    bins = _check_bins(bins)
    path = Path(path)
    if not path.is_file():
        raise DataError(f"measurement file {path} does not exist")
    try:
        table = pd.read_csv(path, comment="#", dtype=str, skipinitialspace=True)
    except Exception as exc:
        raise DataError(f"{path}: cannot read CSV ({type(exc).__name__}: {exc})") from None
    table.columns = [str(c).strip() for c in table.columns]
    cov_columns = [f"cov_{j}" for j in range(bins)]
    missing = [c for c in ("bin", "x") if c not in table.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; a measurement CSV has columns bin, x, "
                        f"cov_0 .. cov_{bins - 1} (docs/measurement.md); found {', '.join(table.columns[:6])}")
    if len(table) != bins:
        raise DataError(f"{path}: {len(table)} rows (bins), but simulator.bins = {bins}; one row per bin of the "
                        f"T2K binning ({bins} bins) is needed")
    present = [c for c in table.columns if c.startswith("cov_")]
    if present != cov_columns:
        have = len(present)
        raise DataError(f"{path}: covariance columns must be cov_0 .. cov_{bins - 1} in order ({bins} columns for "
                        f"a {bins}x{bins} covariance), found {have}: {', '.join(present[:3])}"
                        f"{' ... ' + present[-1] if have > 3 else ''}")
    extra = sorted(set(table.columns) - {"bin", "x", *cov_columns})
    if extra:
        raise DataError(f"{path}: unknown column(s) {', '.join(extra)}; allowed: bin, x, cov_0 .. cov_{bins - 1}")
    numeric = table.apply(pd.to_numeric, errors="coerce")
    if not np.array_equal(numeric["bin"].to_numpy(), np.arange(bins)):
        raise DataError(f"{path}: column bin must be 0 .. {bins - 1} in order (T2K bin order)")
    x = numeric["x"].to_numpy(dtype=float)
    if np.isnan(x).any():
        i = int(np.flatnonzero(np.isnan(x))[0])
        raise DataError(f"{path}: x of bin {i} is {_cell(table['x'].iloc[i])}, not a finite number")
    values = validate_histogram(x, bins, f"{path}:x")
    if not np.any(values > 0):
        raise DataError(f"{path}: x is zero in every bin; a cross section in 1e-38 cm²/(GeV/c)/nucleon is needed")
    cov = numeric[cov_columns].to_numpy(dtype=float)
    if np.isnan(cov).any():
        i, j = (int(v) for v in np.argwhere(np.isnan(cov))[0])
        raise DataError(f"{path}: covariance entry cov_{j} of bin {i} is {_cell(table[f'cov_{j}'].iloc[i])}, not "
                        "a finite number")
    cov = validate_covariance(cov, bins, f"{path}:cov", rtol=1e-8)
    values.setflags(write=False)
    cov.setflags(write=False)
    return Measurement(path=str(path), values=values, cov=cov)


def check_simulated_range(x: np.ndarray, simulated: np.ndarray, name: str,
                          factor: float = FAR_OUTSIDE_FACTOR) -> dict[str, float]:
    """Refuse a histogram whose scale is far outside what the simulator produces over the prior.

    ``simulated`` are (n, bins) histograms of the simulated bank (drawn from the prior). The histogram's total Σx
    must lie within [min/factor, max·factor] of the simulations' totals; otherwise a :class:`DataError` says by
    how much and names a unit slip that would explain it (cm² instead of 1e-38 cm², per MeV/c, per nucleus, ...).
    Shape mismatches within this range are the misspecification tests' job (``misspecification.csv``).

    Returns:
        ``{"total": Σx, "sim_min": ..., "sim_median": ..., "sim_max": ...}`` of the totals.
    """
    x = np.asarray(x, dtype=float)
    totals = np.asarray(simulated, dtype=float).sum(axis=-1)
    total = float(x.sum())
    lo, mid, hi = (float(v) for v in np.percentile(totals, [0, 50, 100]))
    numbers = {"total": total, "sim_min": lo, "sim_median": mid, "sim_max": hi}
    if lo / factor <= total <= hi * factor:
        return numbers
    ratio = total / mid
    hints = [what for f, what in _UNIT_SLIPS.items() if abs(np.log10(ratio / f)) < np.log10(factor)]
    hint = f"; it looks like {hints[0]}" if hints else ""
    raise DataError(
        f"{name}: far outside the simulated range: total Σx = {total:.4g}, but the {len(totals)} simulations over "
        f"the prior have totals {lo:.4g} .. {hi:.4g} (median {mid:.4g}; ratio {ratio:.3g}). Values must be "
        f"d²σ/(dp_μ dcosθ_μ) in 1e-38 cm²/(GeV/c)/nucleon in the T2K bin order{hint}"
    )
