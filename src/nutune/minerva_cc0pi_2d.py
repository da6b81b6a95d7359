"""MINERvA νμ CC0π ("QE-like") d²σ/(dp_T dp_||) on CH, NuMI low-energy beam (NUISANCE ``MINERvA_CC0pi_XSec_2Dptpz_nu``).

D. Ruterbories et al. (MINERvA), "Measurement of quasielastic-like neutrino scattering at ⟨Eν⟩ ~ 3.5 GeV on a
hydrocarbon target", Phys. Rev. D 99, 012004 (2019), arXiv:1811.02774. The release files are the ones NUISANCE ships
(``NUISANCEMC/nuisance`` @ c5966524b5b18aad1974e023c0b419db58c135d1, ``data/MINERvA/CC0pi_2D/cov_ptpl_2D_qelike.root``
and ``data/flux/minerva_le_flux.root``), copied byte for byte into ``resources/minerva_cc0pi_2d_le/``; provenance,
checksums and the checks are in ``resources/minerva_cc0pi_2d_le/README.md``.

What this module gives:

* :func:`load` — the derived file ``minerva_cc0pi_2d_le.npz`` validated (shapes, units, bin order, mask, covariances
  PD on the populated bins, bin errors = √diag(total covariance)) into a frozen, read-only :class:`MinervaCC0pi2D`.
* :func:`build` — the derived file rebuilt from the two ROOT files with uproot (``python -m nutune.minerva_cc0pi_2d
  --rebuild``); byte-reproducible (fixed zip timestamps).
* :func:`signal`, :func:`topology_signal`, :func:`pt_pl`, :func:`bin_index` — NUISANCE's signal definition and
  binning variables.

Conventions (NUISANCE ``src/MINERvA/MINERvA_CC0pi_XSec_2D_nu.cxx`` at the commit above, "L<n>" are its lines):

* TH2D ``pt_pl_cross_section``: x = p_|| (12 bins, 1.5-20 GeV), y = p_T (13 bins, 0-2.5 GeV).
* Bin order = NUISANCE's map (L167-181: ``xbin = i % nbinsx + 1``, ``ybin = i / nbinsx + 1``) = the order of the
  release covariances: flat index ``i = i_pl + 12 * i_pt``, p_T slow (outer), p_|| fast (inner).
* Units: cross section 1e-38 cm²/GeV²/nucleon (the ROOT file stores cm²/GeV²/nucleon; L113-123 scale the covariance
  by 1e38², NUISANCE works in 1e-38 cm² throughout); covariances (1e-38 cm²/GeV²/nucleon)².
* Mask: the 12 bins whose value, error and covariance row are all exactly 0 (high p_T at low p_||, outside the
  muon-angle acceptance) are dropped; 144 of 156 remain. NUISANCE itself has no mask for this sample: it inverts the
  singular 156×156 covariance with ROOT's SVD (``UseSVDInverse=1``, what NUISANCE's own validation sets), whose
  pseudo-inverse has zero rows for those bins, and ``StatUtils::GetChi2FromCov`` skips zero inverse entries — the
  same χ² as inverting the 144×144 block (see the README for the source lines).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from nutune.io import atomic_write, sha256_file
from nutune.resources import DataError, frozen, resources_root, validate_covariance, validate_flux

__all__ = [
    "SAMPLE_NAME",
    "RESOURCE_DIR",
    "DERIVED_NPZ",
    "BINS_CSV",
    "DATA_ROOT",
    "FLUX_ROOT",
    "SOURCE_SHA256",
    "N_PL",
    "N_PT",
    "N_BINS",
    "N_POPULATED",
    "P_PL_EDGES",
    "P_T_EDGES",
    "XSEC_SCALE",
    "UNITS",
    "NU_PDG",
    "MU_PDG",
    "THETA_MU_MAX_DEG",
    "ENU_MIN_GEV",
    "ENU_MAX_GEV",
    "PHOTON_E_MAX_GEV",
    "MESON_PDGS",
    "HEAVY_BARYON_PDGS",
    "MinervaCC0pi2D",
    "load",
    "read_root",
    "build",
    "signal",
    "topology_signal",
    "pt_pl",
    "bin_index",
    "main",
]

#: NUISANCE sample name (``src/FCN/SampleList.cxx`` L1265-1268 map it onto ``MINERvA_CC0pi_XSec_2D_nu``; the name has
#: no ``_ME_``/``_LE_`` so ``IsME`` stays false and the LE release with its covariance is used, L37-68).
SAMPLE_NAME = "MINERvA_CC0pi_XSec_2Dptpz_nu"
#: Folder inside ``resources/`` and the files in it.
RESOURCE_DIR = "minerva_cc0pi_2d_le"
DERIVED_NPZ = f"{RESOURCE_DIR}/minerva_cc0pi_2d_le.npz"
BINS_CSV = f"{RESOURCE_DIR}/minerva_cc0pi_2d_le_bins.csv"
DATA_ROOT = f"{RESOURCE_DIR}/cov_ptpl_2D_qelike.root"
FLUX_ROOT = f"{RESOURCE_DIR}/minerva_le_flux.root"
#: sha256 of the shipped release files (= NUISANCE's, git blobs d8788eff… and ea166749… at c5966524).
SOURCE_SHA256: Mapping[str, str] = MappingProxyType({
    "cov_ptpl_2D_qelike.root": "a52e5252ad7917b4491f006949ee3941fe0a94a6a362bab0f141d81760ca034a",
    "minerva_le_flux.root": "1e6f1e4aaf0f9b960c6c7b709d3b18d917bee842877708890d6e404f4b87ba3e",
})

#: Object names in the ROOT files (``MINERvA_CC0pi_XSec_2D_nu.cxx`` L61 and L118-119; ``CLI/nuis-flux`` L270).
HIST_NAME = "pt_pl_cross_section"
COV_TOTAL_NAME = "TotalCovariance"
COV_STAT_NAME = "StatisticalCovariance"
FLUX_HIST_NAME = "numu_fhc"

N_PL = 12
N_PT = 13
N_BINS = N_PL * N_PT
N_POPULATED = 144
#: p_|| (muon momentum along the neutrino) and p_T (transverse) bin edges [GeV] of the release.
P_PL_EDGES: tuple[float, ...] = (1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0)
P_T_EDGES: tuple[float, ...] = (0.0, 0.075, 0.15, 0.25, 0.325, 0.4, 0.475, 0.55, 0.7, 0.85, 1.0, 1.25, 1.5, 2.5)
#: ROOT file value [cm²/GeV²/nucleon] × XSEC_SCALE = value in 1e-38 cm²/GeV²/nucleon (covariances × XSEC_SCALE²).
XSEC_SCALE = 1e38

UNITS: Mapping[str, str] = MappingProxyType({
    "p_pl_edges": "GeV (muon momentum component along the neutrino direction)",
    "p_t_edges": "GeV (muon momentum transverse to the neutrino direction)",
    "xsec": "1e-38 cm^2 / GeV^2 / nucleon (d2sigma/dp_T dp_||, flux-averaged, CH)",
    "cov": "(1e-38 cm^2 / GeV^2 / nucleon)^2",
    "area": "GeV^2 (dp_|| * dp_T)",
    "flux_e_edges": "GeV (neutrino energy)",
    "flux_numu": "nu / m^2 / 1e6 POT / 0.5 GeV (content of each 0.5 GeV bin)",
})
BIN_ORDER = (
    "flat index i = i_pl + 12 * i_pt (p_T outer/slow, p_|| inner/fast): NUISANCE's map, "
    "MINERvA_CC0pi_XSec_2D_nu.cxx L167-181, and the order of the release covariances"
)

# ---------------------------------------------------------------------------------------------------------------
# Signal definition: SignalDef::isCC0pi_MINERvAPTPZ (src/MINERvA/MINERvA_SignalDef.cxx L440-489), called with
# nuPDG = 14 and the sample's energy range (MINERvA_CC0pi_XSec_2D_nu.cxx L225, L106: SetEnuRange(0.0, 100.0)).
# ---------------------------------------------------------------------------------------------------------------

NU_PDG = 14
MU_PDG = 13
#: L446-451: θ(μ, ν) in degrees ``>= 20.0`` is rejected (FitUtils::th = TVector3::Angle, FitUtils.cxx L67-71).
THETA_MU_MAX_DEG = 20.0
#: ``SignalDef::isCCINC`` (src/Utils/SignalDef.cxx L25-41) with ``IsEnuInRange`` (L288-291): E > 0 and E < 100 GeV,
#: both strict (NUISANCE compares MeV with EnuMin·1000).
ENU_MIN_GEV = 0.0
ENU_MAX_GEV = 100.0
#: L471: final-state photons count only above 10 MeV (``p->fP.E() > 10.0`` in MeV).
PHOTON_E_MAX_GEV = 0.010
#: L473-475, as coded: only these codes count as mesons (note abs() only for π±, K±, K*±, η, η′; K̄⁰ (−311) and
#: K̄*⁰ (−313) are not listed).
MESON_PDGS: frozenset[int] = frozenset({211, -211, 321, -321, 323, -323, 111, 130, 310, 311, 313,
                                        221, -221, 331, -331})
#: L477-479, as coded: Σ⁻, Λ, Σ⁰, Σ⁺, Σc⁰, Λc⁺, Σc⁺, Σc⁺⁺ and the D⁺, D⁰ mesons (111 is listed too but is caught by
#: the meson branch first); antiparticles are not listed.
HEAVY_BARYON_PDGS: frozenset[int] = frozenset({3112, 3122, 3212, 3222, 4112, 4122, 4212, 4222, 411, 421})

_NPZ_KEYS = ("p_pl_edges", "p_t_edges", "xsec", "err_total", "cov_total", "cov_stat", "mask",
             "flux_e_edges", "flux_numu", "meta_json")


# ---------------------------------------------------------------------------------------------------------------
# The measurement
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MinervaCC0pi2D:
    """The MINERvA CC0π (p_T, p_||) LE measurement; all arrays read-only, in the 156-bin order of :data:`BIN_ORDER`.

    Attributes:
        sample: NUISANCE sample name (:data:`SAMPLE_NAME`).
        p_pl_edges: (13,) p_|| edges [GeV]; p_t_edges: (14,) p_T edges [GeV].
        values: (156,) d²σ/(dp_T dp_||) in 1e-38 cm²/GeV²/nucleon; 0 in the 12 empty bins.
        err_total: (156,) the TH2D bin errors (= total uncertainty) in the same units.
        cov_total, cov_stat: (156, 156) total and statistical covariances in (1e-38 cm²/GeV²/nucleon)²; singular
            (12 zero rows and columns): use :meth:`masked_cov`.
        mask: (156,) True for the 144 populated bins.
        flux_e_edges: (201,) Eν edges [GeV]; flux_numu: (200,) FHC νμ flux, ν/m²/1e6 POT per 0.5 GeV bin.
        source_sha256: sha256 of the ROOT files the derived file was built from.
    """

    sample: str
    p_pl_edges: np.ndarray
    p_t_edges: np.ndarray
    values: np.ndarray
    err_total: np.ndarray
    cov_total: np.ndarray
    cov_stat: np.ndarray
    mask: np.ndarray
    flux_e_edges: np.ndarray
    flux_numu: np.ndarray
    source_sha256: Mapping[str, str]

    @property
    def n_bins(self) -> int:
        return int(self.values.size)

    @property
    def n_populated(self) -> int:
        return int(self.mask.sum())

    @property
    def areas(self) -> np.ndarray:
        """(156,) Δp_|| · Δp_T [GeV²] of each bin (NUISANCE divides the MC by this: ``Scale(fScaleFactor, "width")``)."""
        return np.outer(np.diff(self.p_t_edges), np.diff(self.p_pl_edges)).ravel()

    @property
    def values_2d(self) -> np.ndarray:
        """(13, 12) view indexed [i_pt, i_pl]."""
        return self.values.reshape(N_PT, N_PL)

    @property
    def cov_syst(self) -> np.ndarray:
        """Total − statistical (the release gives only these two); positive semi-definite on the populated bins."""
        return self.cov_total - self.cov_stat

    def masked_values(self) -> np.ndarray:
        """(144,) values of the populated bins, in bin order."""
        return self.values[self.mask]

    def masked_cov(self, kind: str = "total") -> np.ndarray:
        """(144, 144) ``total``, ``stat`` or ``syst`` covariance on the populated bins (positive definite for total
        and stat)."""
        if kind not in ("total", "stat", "syst"):
            raise DataError(f"masked_cov(): kind {kind!r} is not one of total, stat, syst")
        cov = {"total": self.cov_total, "stat": self.cov_stat}.get(kind)
        if cov is None:
            cov = self.cov_syst
        return cov[np.ix_(self.mask, self.mask)]

    def flux_mean_energy(self, e_max: float | None = None) -> float:
        """Flux-averaged Eν [GeV] (bin centres), over the whole histogram or the bins below ``e_max``."""
        lo, hi = self.flux_e_edges[:-1], self.flux_e_edges[1:]
        keep = np.ones(lo.size, bool) if e_max is None else hi <= e_max
        w = self.flux_numu[keep]
        return float(np.sum(w * 0.5 * (lo + hi)[keep]) / np.sum(w))


def _meta(source_sha256: Mapping[str, str]) -> dict[str, object]:
    return {
        "dataset": "MINERvA numu CC0pi (QE-like) d2sigma/(dp_T dp_||) of the muon on CH, NuMI low-energy FHC beam",
        "reference": "D. Ruterbories et al. (MINERvA), Phys. Rev. D 99, 012004 (2019), arXiv:1811.02774",
        "nuisance_sample": SAMPLE_NAME,
        "source": "NUISANCEMC/nuisance @ c5966524b5b18aad1974e023c0b419db58c135d1: "
                  "data/MINERvA/CC0pi_2D/cov_ptpl_2D_qelike.root, data/flux/minerva_le_flux.root",
        "source_sha256": dict(source_sha256),
        "units": dict(UNITS),
        "bin_order": BIN_ORDER,
        "xsec_scale": XSEC_SCALE,
        "n_bins": N_BINS,
        "n_populated": N_POPULATED,
        "mask": "True where the release value is > 0; the 12 others have value, error and covariance row exactly 0",
    }


def _validate(d: Mapping[str, np.ndarray], name: str) -> MinervaCC0pi2D:
    """Every check :func:`load` makes, on the arrays of a derived file (or of :func:`read_root`)."""
    missing = [k for k in _NPZ_KEYS if k not in d]
    if missing:
        raise DataError(f"{name}: missing array(s) {', '.join(missing)}")
    try:
        meta = json.loads(str(d["meta_json"]))
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name}: meta_json is not JSON ({exc})") from None
    if meta.get("units") != dict(UNITS):
        raise DataError(f"{name}: units {meta.get('units')!r} differ from the expected {dict(UNITS)!r}")
    if meta.get("bin_order") != BIN_ORDER or meta.get("nuisance_sample") != SAMPLE_NAME:
        raise DataError(f"{name}: bin order or sample name differ from {BIN_ORDER!r} / {SAMPLE_NAME!r}")
    if meta.get("xsec_scale") != XSEC_SCALE:
        raise DataError(f"{name}: xsec_scale {meta.get('xsec_scale')!r}, expected {XSEC_SCALE!r}")
    for key, expected in (("p_pl_edges", P_PL_EDGES), ("p_t_edges", P_T_EDGES)):
        edges = np.asarray(d[key], dtype=float)
        if edges.shape != (len(expected),) or not np.allclose(edges, expected, rtol=0, atol=1e-12):
            raise DataError(f"{name}: {key} = {edges.tolist()} differ from the release's {list(expected)}")
    values = np.asarray(d["xsec"], dtype=float)
    err = np.asarray(d["err_total"], dtype=float)
    mask = np.asarray(d["mask"])
    for key, arr in (("xsec", values), ("err_total", err), ("mask", mask)):
        if arr.shape != (N_BINS,):
            raise DataError(f"{name}: {key} has shape {arr.shape}, expected ({N_BINS},)")
    if mask.dtype != bool:
        raise DataError(f"{name}: mask has dtype {mask.dtype}, expected bool")
    for key, arr in (("xsec", values), ("err_total", err)):
        if not np.isfinite(arr).all() or (arr < 0).any():
            raise DataError(f"{name}: {key} has non-finite or negative entries")
    if not np.array_equal(mask, values > 0):
        raise DataError(f"{name}: mask is not (xsec > 0) ({int(mask.sum())} vs {int((values > 0).sum())} bins)")
    if int(mask.sum()) != N_POPULATED:
        raise DataError(f"{name}: {int(mask.sum())} populated bins, expected {N_POPULATED}")
    covs = {}
    for key in ("cov_total", "cov_stat"):
        cov = np.asarray(d[key], dtype=float)
        if cov.shape != (N_BINS, N_BINS):
            raise DataError(f"{name}: {key} has shape {cov.shape}, expected ({N_BINS}, {N_BINS})")
        if np.any(cov[~mask] != 0) or np.any(cov[:, ~mask] != 0):
            raise DataError(f"{name}: {key} has non-zero entries in the rows/columns of empty bins")
        validate_covariance(cov[np.ix_(mask, mask)], N_POPULATED, f"{name}:{key}[mask]")
        covs[key] = cov
    # NUISANCE's check (MINERvA_CC0pi_XSec_2D_nu.cxx L125-155): bin error = sqrt(diag(TotalCovariance)); its
    # absolute tolerance 1e-5 on cm² numbers is vacuous, here it is 1e-9 relative in the bin order of the map.
    sig = np.sqrt(np.diag(covs["cov_total"]))
    if not np.allclose(err, sig, rtol=1e-9, atol=0):
        i = int(np.argmax(np.abs(err - sig)))
        raise DataError(f"{name}: bin error {err[i]!r} != sqrt(cov_total[{i},{i}]) = {sig[i]!r} (bin {i})")
    if np.any(np.diag(covs["cov_stat"]) > np.diag(covs["cov_total"]) * (1 + 1e-12)):
        raise DataError(f"{name}: a statistical variance exceeds the total one")
    e_edges, flux = validate_flux(d["flux_e_edges"], d["flux_numu"], f"{name}:flux_numu")
    return MinervaCC0pi2D(
        sample=SAMPLE_NAME,
        p_pl_edges=frozen(d["p_pl_edges"]),
        p_t_edges=frozen(d["p_t_edges"]),
        values=frozen(values, dtype=None),
        err_total=frozen(err, dtype=None),
        cov_total=frozen(covs["cov_total"], dtype=None),
        cov_stat=frozen(covs["cov_stat"], dtype=None),
        mask=frozen(mask, dtype=None),
        flux_e_edges=frozen(e_edges, dtype=None),
        flux_numu=frozen(flux, dtype=None),
        source_sha256=MappingProxyType(dict(meta.get("source_sha256", {}))),
    )


def load(root: str | os.PathLike | None = None) -> MinervaCC0pi2D:
    """Load and validate ``resources/minerva_cc0pi_2d_le/minerva_cc0pi_2d_le.npz``.

    The whole file is read into memory inside one ``np.load`` (no pickles), every check of the module docstring is
    made, and only then a frozen :class:`MinervaCC0pi2D` with read-only arrays is returned: a bad file raises and
    yields nothing.

    Raises:
        DataError: missing file or array, wrong shape, units, edges or bin order, mask not (value > 0), covariance
            not symmetric / not PD on the populated bins / non-zero on empty bins, bin errors ≠ √diag(total).
    """
    base = Path(root) if root is not None else resources_root()
    path = base / DERIVED_NPZ
    if not path.is_file():
        raise DataError(f"missing data file {path} (rebuild it: python -m nutune.minerva_cc0pi_2d --rebuild)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: np.asarray(npz[k]) for k in npz.files}
    except Exception as exc:  # zip/format errors from numpy
        raise DataError(f"{path}: cannot read NPZ file ({type(exc).__name__}: {exc})") from None
    return _validate(arrays, str(path))


# ---------------------------------------------------------------------------------------------------------------
# Building the derived file from the ROOT release
# ---------------------------------------------------------------------------------------------------------------


def _tmatrix(obj: object, name: str) -> np.ndarray:
    nrows, ncols = int(obj.member("fNrows")), int(obj.member("fNcols"))
    if (nrows, ncols) != (N_BINS, N_BINS) or obj.member("fRowLwb") != 0 or obj.member("fColLwb") != 0:
        raise DataError(f"{name}: TMatrixD is {nrows}x{ncols} from ({obj.member('fRowLwb')}, "
                        f"{obj.member('fColLwb')}), expected {N_BINS}x{N_BINS} from (0, 0)")
    return np.asarray(obj.member("fElements"), dtype=float).reshape(nrows, ncols)


def read_root(data_root: str | os.PathLike, flux_root: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read the release with uproot and return the derived arrays (in nutune units and bin order, not validated).

    * ``pt_pl_cross_section`` (TH2D, x = p_||, y = p_T): values and errors without under/overflow, transposed to
      [i_pt, i_pl] and flattened (:data:`BIN_ORDER`), × 1e38.
    * ``TotalCovariance`` / ``StatisticalCovariance`` (TMatrixD 156×156): × 1e38² (as NUISANCE L122-123).
    * ``numu_fhc`` (TH1F): edges and contents, float32 → float64 exactly.
    """
    import uproot  # local: uproot is needed only to rebuild

    data_root, flux_root = Path(data_root), Path(flux_root)
    with uproot.open(data_root) as f:
        hist = f[HIST_NAME]
        x_edges = np.asarray(hist.member("fXaxis").edges(), dtype=float)
        y_edges = np.asarray(hist.member("fYaxis").edges(), dtype=float)
        vals = np.asarray(hist.values(flow=True), dtype=float)
        errs = np.asarray(hist.errors(flow=True), dtype=float)
        if vals.shape != (N_PL + 2, N_PT + 2):
            raise DataError(f"{data_root}:{HIST_NAME}: shape {vals.shape} with flow, expected {(N_PL + 2, N_PT + 2)}")
        inner = (slice(1, -1), slice(1, -1))
        flow = np.ones_like(vals, bool)
        flow[inner] = False
        if np.any(vals[flow] != 0):
            raise DataError(f"{data_root}:{HIST_NAME}: non-zero under/overflow bins")
        cov_total = _tmatrix(f[COV_TOTAL_NAME], f"{data_root}:{COV_TOTAL_NAME}")
        cov_stat = _tmatrix(f[COV_STAT_NAME], f"{data_root}:{COV_STAT_NAME}")
    with uproot.open(flux_root) as f:
        fh = f[FLUX_HIST_NAME]
        flux_edges = np.asarray(fh.axis().edges(), dtype=float)
        flux = np.asarray(fh.values(), dtype=np.float64)
    xsec = vals[inner].T.ravel() * XSEC_SCALE
    shas = {p.name: sha256_file(p) for p in (data_root, flux_root)}
    return {
        "p_pl_edges": x_edges,
        "p_t_edges": y_edges,
        "xsec": xsec,
        "err_total": errs[inner].T.ravel() * XSEC_SCALE,
        "cov_total": cov_total * XSEC_SCALE**2,
        "cov_stat": cov_stat * XSEC_SCALE**2,
        "mask": xsec > 0,
        "flux_e_edges": flux_edges,
        "flux_numu": flux,
        "meta_json": np.array(json.dumps(_meta(shas), indent=1, sort_keys=True)),
    }


def _write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """``np.savez_compressed`` with a fixed member timestamp, so the same arrays give the same bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def _bins_csv(m: MinervaCC0pi2D) -> str:
    lines = ["index,i_pl,i_pt,p_pl_lo_GeV,p_pl_hi_GeV,p_t_lo_GeV,p_t_hi_GeV,area_GeV2,"
             "xsec_1e-38cm2_per_GeV2_per_nucleon,err_stat,err_total,populated"]
    err_stat = np.sqrt(np.diag(m.cov_stat))
    for i in range(N_BINS):
        ipt, ipl = divmod(i, N_PL)
        lines.append(",".join([
            str(i), str(ipl), str(ipt),
            repr(float(m.p_pl_edges[ipl])), repr(float(m.p_pl_edges[ipl + 1])),
            repr(float(m.p_t_edges[ipt])), repr(float(m.p_t_edges[ipt + 1])),
            repr(float(m.areas[i])), repr(float(m.values[i])), repr(float(err_stat[i])),
            repr(float(m.err_total[i])), str(int(m.mask[i])),
        ]))
    return "\n".join(lines) + "\n"


def build(root: str | os.PathLike | None = None, *, out_root: str | os.PathLike | None = None,
          check_sha256: bool = True) -> MinervaCC0pi2D:
    """Rebuild the derived NPZ and the human-readable bins CSV from the two ROOT files in ``root``.

    Reads ``<root>/minerva_cc0pi_2d_le/*.root`` (checked against :data:`SOURCE_SHA256` unless ``check_sha256`` is
    False), validates the arrays exactly as :func:`load` does, and writes ``<out_root or root>/minerva_cc0pi_2d_le/
    minerva_cc0pi_2d_le.npz`` and ``..._bins.csv`` atomically (nothing is replaced if any check fails).
    """
    base = Path(root) if root is not None else resources_root()
    out = Path(out_root) if out_root is not None else base
    data_root, flux_root = base / DATA_ROOT, base / FLUX_ROOT
    for p in (data_root, flux_root):
        if not p.is_file():
            raise DataError(f"missing release file {p}")
        if check_sha256 and sha256_file(p) != SOURCE_SHA256[p.name]:
            raise DataError(f"{p}: sha256 {sha256_file(p)} is not the release's {SOURCE_SHA256[p.name]}")
    arrays = read_root(data_root, flux_root)
    m = _validate(arrays, str(data_root))
    with atomic_write(out / DERIVED_NPZ) as tmp:
        _write_npz(tmp, arrays)
    with atomic_write(out / BINS_CSV) as tmp:
        tmp.write_text(_bins_csv(m))
    return m


# ---------------------------------------------------------------------------------------------------------------
# Kinematics and signal
# ---------------------------------------------------------------------------------------------------------------


def pt_pl(p_mu: np.ndarray | float, cos_theta_mu: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """(p_T, p_||) [GeV] of a muon of momentum ``p_mu`` [GeV] at angle θ_μ to the neutrino.

    NUISANCE (``MINERvA_CC0pi_XSec_2D_nu.cxx`` L196-210): p_|| = p⃗_μ·ν̂ (the projection on the neutrino
    direction), p_T = √(p_x² + p_y²) in the generator frame — the same as p sinθ for a neutrino along z, which every
    generator NUISANCE reads uses.
    """
    p = np.asarray(p_mu, dtype=float)
    c = np.clip(np.asarray(cos_theta_mu, dtype=float), -1.0, 1.0)
    return p * np.sqrt(1.0 - c * c), p * c


def bin_index(p_pl: np.ndarray | float, p_t: np.ndarray | float) -> np.ndarray:
    """Flat bin index (:data:`BIN_ORDER`) of each (p_||, p_T), −1 outside the histogram (TH2D under/overflow,
    which NUISANCE fills but never compares). Bins are [lo, hi) as in ROOT."""
    pl = np.asarray(p_pl, dtype=float)
    pt = np.asarray(p_t, dtype=float)
    ipl = np.searchsorted(np.asarray(P_PL_EDGES), pl, side="right") - 1
    ipt = np.searchsorted(np.asarray(P_T_EDGES), pt, side="right") - 1
    inside = (ipl >= 0) & (ipl < N_PL) & (ipt >= 0) & (ipt < N_PT)
    return np.where(inside, ipl + N_PL * ipt, -1)


def signal(p_mu: np.ndarray | float, cos_theta_mu: np.ndarray | float, e_nu: np.ndarray | float | None = None,
           *, within_bins: bool = False) -> np.ndarray:
    """The kinematic cuts of NUISANCE's signal for this sample, per muon (boolean array).

    ``SignalDef::isCC0pi_MINERvAPTPZ(event, 14, EnuMin=0, EnuMax=100)`` (MINERvA_SignalDef.cxx L440-489):

    * νμ CC with 0 < Eν < 100 GeV, both strict (``isCCINC``, SignalDef.cxx L25-41, L288-291) — applied when
      ``e_nu`` [GeV] is given;
    * θ(μ, ν) < 20° (L446-451 reject ``th >= 20.0`` in degrees);
    * **no muon-momentum cut** in the signal: NUISANCE fills every signal muon and those outside 1.5 ≤ p_|| < 20 GeV,
      p_T < 2.5 GeV land in the TH2D under/overflow, which is not compared. ``within_bins=True`` adds that
      histogram range (the measured phase space), which is what a prediction in the 156 bins needs.

    The final-state topology (exactly one μ⁻, no μ⁺, no mesons, no heavy baryons, no photon above 10 MeV) is the
    simulator's business: an event generator gives the particle list (see :func:`topology_signal`); the built-in
    simulator chooses which processes produce a CC0π final state.
    """
    p = np.asarray(p_mu, dtype=float)
    c = np.asarray(cos_theta_mu, dtype=float)
    if np.any(~np.isfinite(p)) or np.any(p < 0) or np.any(~np.isfinite(c)) or np.any(np.abs(c) > 1):
        raise ValueError("signal(): p_mu must be finite and >= 0, cos_theta_mu finite in [-1, 1]")
    theta_deg = np.degrees(np.arccos(c))
    ok = theta_deg < THETA_MU_MAX_DEG
    if e_nu is not None:
        e = np.asarray(e_nu, dtype=float)
        ok = ok & (e > ENU_MIN_GEV) & (e < ENU_MAX_GEV)
    if within_bins:
        pt, pl = pt_pl(p, c)
        ok = ok & (bin_index(pl, pt) >= 0)
    return np.asarray(ok, dtype=bool)


def topology_signal(fs_pdg: Sequence[int], fs_energy_gev: Sequence[float]) -> bool:
    """The final-state loop of ``isCC0pi_MINERvAPTPZ`` (L453-488) on one event's final-state particles.

    True iff exactly one μ⁻ (13), no μ⁺ (−13), no particle of :data:`MESON_PDGS`, none of
    :data:`HEAVY_BARYON_PDGS`, and no photon with E > :data:`PHOTON_E_MAX_GEV`. Nucleons, nuclei and leptons other
    than muons are allowed. Energies in GeV (NUISANCE compares 10 MeV).
    """
    n_mu = 0
    for pdg, energy in zip(fs_pdg, fs_energy_gev, strict=True):
        pdg = int(pdg)
        if pdg == -MU_PDG:
            return False
        if pdg == MU_PDG:
            n_mu += 1
        elif (pdg == 22 and float(energy) > PHOTON_E_MAX_GEV) or pdg in MESON_PDGS or pdg in HEAVY_BARYON_PDGS:
            return False
    return n_mu == 1


# ---------------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m nutune.minerva_cc0pi_2d --rebuild [--resources DIR]`` rebuilds the derived files; without
    ``--rebuild`` it loads and summarises them."""
    ap = argparse.ArgumentParser(prog="python -m nutune.minerva_cc0pi_2d", description=__doc__.splitlines()[0])
    ap.add_argument("--rebuild", action="store_true", help="rebuild the NPZ and bins CSV from the ROOT files")
    ap.add_argument("--resources", default=None, help="resources/ directory (default: the repository's)")
    args = ap.parse_args(argv)
    m = build(args.resources) if args.rebuild else load(args.resources)
    integral = float(np.sum(m.values * m.areas))
    print(f"{m.sample}: {m.n_populated} of {m.n_bins} bins populated; "
          f"sigma in the measured phase space = {integral:.6g} x 1e-38 cm^2/nucleon; "
          f"flux <E> = {m.flux_mean_energy():.4g} GeV (0-100), {m.flux_mean_energy(20.0):.4g} GeV (0-20)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
