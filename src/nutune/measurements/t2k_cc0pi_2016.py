"""T2K CC0π 2016 Analysis I (K. Abe et al., PRD 93, 112012 (2016), arXiv:1602.03652) as a :class:`MeasurementSpec`.

The data are :func:`nutune.resources.load_t2k`'s (its own home); this module only says what they are. NUISANCE
sample ``T2K_CC0pi_XSec_2DPcos_nu_I`` (``src/T2K/T2K_CC0pi_XSec_2DPcos_nu_I.cxx``: target CH, ND280 flux, sample key
``mask_mom_overflow`` L57-59, signal L76-77 = ``SignalDef::isT2K_CC0pi(event, EnuMin, EnuMax, kAnalysis_I)`` in
``src/T2K/T2K_SignalDef.cxx`` L113).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from nutune.resources import (
    COV_COMPONENTS,
    FLUX_NPZ,
    PUBLISHED_COLUMNS,
    T2K_NPZ,
    VALID_BINS,
    T2KMeasurement,
    load_t2k,
)

from .base import BinnedData, FluxSpec, MeasurementSpec, Slice

__all__ = ["T2K_CC0PI_2016", "slices", "slices_from_table"]


def _load(bins: int, root: str | os.PathLike | None) -> T2KMeasurement:
    return load_t2k(bins, root)


def slices_from_table(table: Mapping[str, Any]) -> tuple[Slice, ...]:
    """The cos θ_μ slices of a bin table (columns ``slice``, ``cos_lo``, ``cos_hi``, ``p_lo``, ``p_hi``), each over
    p_μ [GeV/c]: the nine of ``angular_binning_costheta`` in the NUISANCE source for the release's table."""
    index = np.asarray(table["slice"])
    cos_lo, cos_hi = np.asarray(table["cos_lo"]), np.asarray(table["cos_hi"])
    p_lo, p_hi = np.asarray(table["p_lo"]), np.asarray(table["p_hi"])
    out = []
    for s in np.unique(index):
        rows = np.flatnonzero(index == s)
        out.append(Slice(index=int(s), title=rf"${cos_lo[rows[0]]:g} < \cos\theta_\mu < {cos_hi[rows[0]]:g}$",
                         rows=rows, x_lo=p_lo[rows], x_hi=p_hi[rows]))
    return tuple(out)


def slices(data: BinnedData) -> tuple[Slice, ...]:
    """The nine cos θ_μ slices of :func:`nutune.resources.load_t2k`'s bin table."""
    return slices_from_table(data.bin_table)  # type: ignore[attr-defined]


T2K_CC0PI_2016 = MeasurementSpec(
    name="t2k_cc0pi_2016_anaI",
    title="T2K CC0π 2016 Analysis I",
    reference="K. Abe et al. (T2K), Phys. Rev. D 93, 112012 (2016), arXiv:1602.03652",
    nuisance_sample="T2K_CC0pi_XSec_2DPcos_nu_I",
    nuisance_source="src/T2K/T2K_CC0pi_XSec_2DPcos_nu_I.cxx; signal SignalDef::isT2K_CC0pi (src/T2K/T2K_SignalDef.cxx)",
    sample_keys=lambda bins: {"mask_mom_overflow": "1" if bins == 58 else "0"},
    bin_choices=VALID_BINS,
    components=COV_COMPONENTS,
    loader=_load,
    resources=(T2K_NPZ, "t2k/t2k_cc0pi_2016_anaI_bins.csv"),
    flux=FluxSpec(resource=FLUX_NPZ, nuisance_file="t2kflux_2016_plus250kA.root", histogram="enu_nd280_numu",
                  description="T2K ND280 νμ flux, 2016 release, +250 kA (FHC)",
                  energy_range=(0.0, 30.0)),  # SetEnuRangeFromFlux: the histogram's 0-30 GeV
    target="CH",
    signal="νμ CC with one μ⁻, no pions, any protons/neutrons (CC0π, Analysis I: no proton-kinematics cut); "
           "d²σ/(dp_μ dcosθ_μ) per nucleon, flux-integrated",
    slicer=slices,
    x_label=r"$p_\mu$ [GeV/$c$]",
    y_label=r"d$^2\sigma$/d$p_\mu$ dcos$\theta_\mu$",
    published=PUBLISHED_COLUMNS,
    builtin=True,
)
