"""ROOT readers (uproot) for the T2K release file and NUISANCE output, and the flux file writer.

* The T2K CC0π 2016 release ``T2K_CC0PI_2DPmuCosmu_Data.root`` (as shipped in NUISANCE ``data/T2K/CC0pi/``):
  ``datahist`` (TH1D, 67 bins, cm²/(GeV/c)/nucleon), ``dataslice_0..8`` (TH1D per cosθ slice, p_μ edges in GeV/c),
  ``analysis1_{stat,syst,norm,tot}cov`` (TH2D, in (1e-38 cm²/(GeV/c)/nucleon)² = 1e-76 units).
* NUISANCE output of ``nuiscomp``: ``Measurement1D::FinaliseMeasurement`` names the MC histogram
  ``<sample>_MC`` (NUISANCE ``src/FitBase/Measurement1D.cxx``); for ``T2K_CC0pi_XSec_2DPcos_nu_I`` it is the
  58- or 67-bin 1D list of the slices, in cm²/(GeV/c)/nucleon (the sample's scale factor contains 1E-38,
  ``src/T2K/T2K_CC0pi_XSec_2DPcos_nu_I.cxx``), plus ``<sample>_MC_Slice<i>`` and ``<sample>_data``. The reader
  looks for ``<sample>_MC`` at the top level and in sub-directories.
* The flux file NUISANCE's GENIE tooling uses, ``t2kflux_2016_plus250kA.root`` histogram ``enu_nd280_numu``
  (per cm² per 50 MeV per 1e21 POT in every bin — the density copy; NUISANCE ``src/Utils/BeamUtils.cxx``),
  rebuilt with uproot from ``resources/flux/t2k_nd280_flux_2016_plus250kA.csv``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from nutune.io import atomic_write

from .cards import SAMPLE_NAME
from .guards import ALLOWED_BINS, GenieHistogramError

__all__ = [
    "XSEC_UNIT_CM2",
    "read_th1",
    "read_t2k_release",
    "find_mc_histogram",
    "read_nuisance_mc",
    "write_nuisance_output",
    "read_flux_csv",
    "write_flux_root",
    "FLUX_HISTOGRAMS",
]

#: NUISANCE histograms are in cm²; nutune uses 1e-38 cm².
XSEC_UNIT_CM2 = 1e-38

#: CSV column -> histogram name in NUISANCE's t2kflux_2016_plus250kA.root.
FLUX_HISTOGRAMS: dict[str, str] = {
    "numu": "enu_nd280_numu",
    "numubar": "enu_nd280_numub",
    "nue": "enu_nd280_nue",
    "nuebar": "enu_nd280_nueb",
}


def _uproot():
    import uproot  # local import: keeps `import nutune.genie` light

    return uproot


def read_th1(path: str | os.PathLike, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(values, edges) of a TH1 in a ROOT file, without under/overflow."""
    with _uproot().open(path) as f:
        if name not in f:
            raise GenieHistogramError(f"{path}: no histogram {name!r} (has {sorted(f.keys(cycle=False))[:20]})")
        h = f[name]
        return np.asarray(h.values(flow=False), dtype=float), np.asarray(h.axis().edges(), dtype=float)


def read_t2k_release(path: str | os.PathLike) -> dict[str, np.ndarray | list]:
    """Read the T2K CC0π 2016 Analysis I release ROOT file.

    Returns:
        ``xsec`` (67,) in 1e-38 cm²/(GeV/c)/nucleon (``datahist`` ×1e38), ``slices``: a list of 9
        ``(values_1e-38, p_edges_GeV)``, and ``cov_stat``, ``cov_syst``, ``cov_norm``, ``cov_total`` (67, 67) in
        (1e-38 cm²/(GeV/c)/nucleon)².
    """
    out: dict[str, np.ndarray | list] = {}
    with _uproot().open(path) as f:
        out["xsec"] = np.asarray(f["datahist"].values(), dtype=float) / XSEC_UNIT_CM2
        slices = []
        for i in range(9):
            h = f[f"dataslice_{i}"]
            slices.append((np.asarray(h.values(), dtype=float) / XSEC_UNIT_CM2, np.asarray(h.axis().edges(), float)))
        out["slices"] = slices
        for key, name in (("cov_stat", "statcov"), ("cov_syst", "systcov"), ("cov_norm", "normcov"),
                          ("cov_total", "totcov")):
            out[key] = np.asarray(f[f"analysis1_{name}"].values(), dtype=float)
    return out


def find_mc_histogram(f, sample: str = SAMPLE_NAME) -> str:
    """Key of ``<sample>_MC`` in an open uproot file (top level first, then sub-directories)."""
    target = f"{sample}_MC"
    keys = f.keys(cycle=False, recursive=True)
    for k in keys:
        if k == target:
            return k
    for k in keys:
        if k.rsplit("/", 1)[-1] == target:
            return k
    raise GenieHistogramError(
        f"{f.file_path}: no NUISANCE MC histogram {target!r}; keys: {sorted(keys)[:30]}"
    )


def read_nuisance_mc(path: str | os.PathLike, *, sample: str = SAMPLE_NAME, bins: int | None = None) -> np.ndarray:
    """The MC prediction of ``sample`` from a nuiscomp output file, in 1e-38 cm²/(GeV/c)/nucleon.

    Args:
        path: nuiscomp output ROOT file.
        sample: NUISANCE sample name.
        bins: If given, the expected number of bins (58 or 67); otherwise any of those.

    Raises:
        GenieHistogramError: histogram missing, wrong bin count or not in cm² (NUISANCE's unit).
    """
    p = Path(path)
    if not p.is_file():
        raise GenieHistogramError(f"nuiscomp output {p} does not exist")
    with _uproot().open(p) as f:
        key = find_mc_histogram(f, sample)
        raw = np.asarray(f[key].values(flow=False), dtype=float)
    if bins is not None and raw.size != bins:
        hint = " (is mask_mom_overflow=1 in the card?)" if raw.size == 67 and bins == 58 else ""
        raise GenieHistogramError(f"{p}:{key} has {raw.size} bins, expected {bins}{hint}")
    if raw.size not in ALLOWED_BINS:
        raise GenieHistogramError(f"{p}:{key} has {raw.size} bins, expected one of {ALLOWED_BINS}")
    finite = raw[np.isfinite(raw)]
    if finite.size and np.max(np.abs(finite)) > 1e-30:
        raise GenieHistogramError(
            f"{p}:{key}: contents up to {np.max(np.abs(finite)):.3g} are not in cm^2 (NUISANCE writes ~1e-39); "
            "was the file written by something else?"
        )
    return raw / XSEC_UNIT_CM2


def write_nuisance_output(
    path: str | os.PathLike,
    mc: np.ndarray,
    *,
    sample: str = SAMPLE_NAME,
    data: np.ndarray | None = None,
    extra: Mapping[str, str] | None = None,
) -> None:
    """Write a ROOT file in NUISANCE's nuiscomp layout (for tests and the test doubles).

    ``<sample>_MC`` (TH1D, bins 0..n, content in cm² = ``mc`` × 1e-38) and, if given, ``<sample>_data``;
    ``extra`` strings are written as TObjString (e.g. provenance). Written atomically.
    """
    uproot = _uproot()
    mc = np.asarray(mc, dtype=float).ravel()
    edges = np.arange(mc.size + 1, dtype=float)
    with atomic_write(path, suffix=".root") as tmp, uproot.recreate(tmp) as f:
        f[f"{sample}_MC"] = (mc * XSEC_UNIT_CM2, edges)
        if data is not None:
            d = np.asarray(data, dtype=float).ravel()
            f[f"{sample}_data"] = (d * XSEC_UNIT_CM2, np.arange(d.size + 1, dtype=float))
        for k, v in (extra or {}).items():
            f[k] = str(v)


def read_flux_csv(csv_path: str | os.PathLike) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Energy edges (GeV) and the flux columns of the shipped flux CSV: :func:`nutune.resources.load_flux_csv`."""
    from nutune.resources import load_flux_csv

    return load_flux_csv(csv_path)


def write_flux_root(csv_path: str | os.PathLike, out_path: str | os.PathLike) -> Path:
    """Write ``t2kflux_2016_plus250kA.root`` (histograms enu_nd280_{numu,numub,nue,nueb}) from the flux CSV.

    Content = the CSV's per-50-MeV density (the convention of NUISANCE's density copy of the T2K release, which
    GENIE's gevgen and PrepareGENIE read as a shape; physics.md §1.7). Variable bins (50 MeV to 10 GeV, then 1 GeV)
    are kept. Written atomically with uproot.
    """
    uproot = _uproot()
    edges, cols = read_flux_csv(csv_path)
    out = Path(out_path)
    with atomic_write(out, suffix=".root") as tmp, uproot.recreate(tmp) as f:
        for col, name in FLUX_HISTOGRAMS.items():
            f[name] = (cols[col], edges)
    out.chmod(0o644)
    return out
