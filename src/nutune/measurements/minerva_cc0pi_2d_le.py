"""MINERvA CC0π d²σ/(dp_T dp_||), LE beam (PRD 99, 012004 (2019), arXiv:1811.02774) as a :class:`MeasurementSpec`.

The data are :func:`nutune.minerva_cc0pi_2d.load`'s, restricted to the 144 populated bins (the χ² NUISANCE's SVD
inverse gives, see that module). NUISANCE sample ``MINERvA_CC0pi_XSec_2Dptpz_nu`` (``src/MINERvA/
MINERvA_CC0pi_XSec_2D_nu.cxx``: target CH L79-84, signal L214-225 = ``SignalDef::isCC0pi_MINERvAPTPZ`` in
``src/MINERvA/MINERvA_SignalDef.cxx`` L440). ``builtin`` is True: the built-in simulator produces its 144 bins with
the LE flux, NUISANCE's signal cuts and binning (``nutune.simulator.binning.MinervaBinning``,
``nutune.simulator.flux.load_minerva_flux``; ``nutune.simulate(theta, measurement="minerva_cc0pi_2d_le")``), valid
for its QE, 2p2h and π-absorbed RES channels (the missing few-per-cent DIS/non-resonant share is stated in
``nutune.simulator.events``).
"""

from __future__ import annotations

import os
from types import MappingProxyType

import numpy as np

from nutune import minerva_cc0pi_2d as mc
from nutune.resources import frozen

from .base import Binned, BinnedData, FluxSpec, MeasurementSpec, Slice

__all__ = ["MINERVA_CC0PI_2D_LE", "slices"]


def _load(bins: int, root: str | os.PathLike | None) -> Binned:
    """The populated bins of :func:`nutune.minerva_cc0pi_2d.load`: components ``stat`` and ``syst`` (= total − stat,
    the release gives only those two; the flux normalisation is inside syst)."""
    m = mc.load(root)
    covs = {kind: frozen(m.masked_cov(kind)) for kind in MINERVA_CC0PI_2D_LE.components}
    return Binned(bins=bins, values=frozen(m.masked_values()), covs=MappingProxyType(covs),
                  cov_total=frozen(m.masked_cov("total")), areas=frozen(m.areas[m.mask]))


def slices(data: BinnedData) -> tuple[Slice, ...]:
    """One slice per p_T bin (the release's outer index), each over its populated p_|| bins [GeV]."""
    mask = mc.load().mask.reshape(mc.N_PT, mc.N_PL)
    vector_index = np.cumsum(mask.ravel()) - 1
    pl, pt = np.asarray(mc.P_PL_EDGES), np.asarray(mc.P_T_EDGES)
    out = []
    for i_pt in range(mc.N_PT):
        i_pl = np.flatnonzero(mask[i_pt])
        if i_pl.size:
            out.append(Slice(index=len(out), title=rf"${pt[i_pt]:g} < p_T < {pt[i_pt + 1]:g}$ GeV",
                             rows=vector_index[i_pl + mc.N_PL * i_pt], x_lo=pl[i_pl], x_hi=pl[i_pl + 1]))
    return tuple(out)


MINERVA_CC0PI_2D_LE = MeasurementSpec(
    name="minerva_cc0pi_2d_le",
    title="MINERvA CC0π 2D (p_T, p_||), LE",
    reference="D. Ruterbories et al. (MINERvA), Phys. Rev. D 99, 012004 (2019), arXiv:1811.02774",
    nuisance_sample=mc.SAMPLE_NAME,
    nuisance_source="src/MINERvA/MINERvA_CC0pi_XSec_2D_nu.cxx; signal SignalDef::isCC0pi_MINERvAPTPZ "
                    "(src/MINERvA/MINERvA_SignalDef.cxx)",
    sample_keys=lambda bins: {},
    bin_choices=(mc.N_POPULATED,),
    components=("stat", "syst"),
    loader=_load,
    resources=(mc.DERIVED_NPZ, mc.BINS_CSV),
    flux=FluxSpec(resource=mc.FLUX_ROOT, nuisance_file="minerva_le_flux.root", histogram=mc.FLUX_HIST_NAME,
                  description="MINERvA NuMI low-energy FHC νμ flux",
                  energy_range=(mc.ENU_MIN_GEV, mc.ENU_MAX_GEV)),  # SetEnuRange(0, 100) = the file's 0-100 GeV
    target="CH",
    signal=f"νμ CC with a μ⁻ at θ_μ < {mc.THETA_MU_MAX_DEG:g}°, no mesons, no heavy baryons, photons below "
           f"{1000 * mc.PHOTON_E_MAX_GEV:g} MeV only (QE-like; nutune.minerva_cc0pi_2d.signal); d²σ/(dp_T dp_||) "
           "per nucleon, flux-averaged",
    slicer=slices,
    x_label=r"$p_{||}$ [GeV]",
    y_label=r"d$^2\sigma$/d$p_T$ d$p_{||}$",
    builtin=True,
)
