"""The fluxes of the built-in simulator as normalised bin rates, and importance sampling of E_ν (physics.md
§4.1–§4.2).

* T2K ND280 νμ (2016 release, +250 kA), :func:`load_flux`: the flux file (``resources/flux/t2k_nd280_flux.npz``,
  key ``numu_2016``) holds a density *per 50 MeV in every bin*, including the 1 GeV-wide bins above 10 GeV, so the
  event rate in a bin is content × width/0.05 GeV; 0–30 GeV, NUISANCE's ``enu_nd280_numu``.
* MINERvA NuMI low-energy FHC νμ, :func:`load_minerva_flux`: NUISANCE's ``minerva_le_flux.root`` histogram
  ``numu_fhc`` (ν/m²/10⁶ POT per 0.5 GeV bin, 200 equal bins over 0–100 GeV), as loaded and validated by
  :func:`nutune.minerva_cc0pi_2d.load`. The whole file is the flux average: ``MINERvA_CC0pi_XSec_2D_nu`` sets
  ``SetEnuRange(0, 100)`` and NUISANCE's ``TotalIntegratedFlux`` integrates the flux over that range
  (``InputHandlerBase::TotalIntegratedFlux``), the event rate ``PrepareGENIE`` writes is flux × σ over every bin of
  the histogram. ⟨E_ν⟩ = 4.37 GeV (3.88 GeV below 20 GeV), peak bin 3–3.5 GeV; 1.8 % of the flux and 13 % of a
  σ ∝ E rate lie above 20 GeV.

Loading and validating the files, and finding ``resources/``, have their homes in :mod:`nutune.resources`
(``load_flux``, ``resources_root``) and :mod:`nutune.minerva_cc0pi_2d`; this module only turns a validated flux into
normalised bin rates.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nutune.resources import FLUX_NPZ, resources_root

__all__ = ["resources_dir", "FLUX_FILE", "MINERVA_FLUX_FILES", "T2KFlux", "load_flux", "load_minerva_flux",
           "load_measurement_flux", "sample_energy"]


def resources_dir() -> Path:
    """The ``resources/`` folder: :func:`nutune.resources.resources_root` (``$NUTUNE_RESOURCES`` overrides it)."""
    return resources_root()


FLUX_FILE = Path(FLUX_NPZ)

#: ``key`` of :func:`load_flux` -> the :class:`nutune.resources.Flux` attribute holding that histogram.
_FLUX_KEYS = {"numu_2016": "numu", "numubar_2016": "numubar", "nue_2016": "nue", "nuebar_2016": "nuebar"}


@dataclass(frozen=True)
class T2KFlux:
    """Binned flux: ``edges`` (n+1,) [GeV] and ``rate`` (n,) the share of the flux in each bin, normalised to sum 1
    (T2K: content × width/0.05; MINERvA: the per-bin content). The name is historical: every flux is one."""

    edges: np.ndarray
    rate: np.ndarray

    @property
    def mean_energy(self) -> float:
        """Flux-averaged E_ν [GeV] (≈ 0.852 GeV for the 2016 ND280 νμ flux)."""
        return float(np.sum(self.rate * 0.5 * (self.edges[1:] + self.edges[:-1])))

    def pdf(self, enu: np.ndarray) -> np.ndarray:
        """Normalised flux density [1/GeV] at E_ν (piecewise constant)."""
        idx = np.clip(np.searchsorted(self.edges, enu, side="right") - 1, 0, self.rate.size - 1)
        inside = (enu >= self.edges[0]) & (enu < self.edges[-1])
        return np.where(inside, self.rate[idx] / np.diff(self.edges)[idx], 0.0)


def load_flux(path: str | os.PathLike | None = None, key: str = "numu_2016") -> T2KFlux:
    """The ND280 flux histogram ``key`` (loaded and validated by :func:`nutune.resources.load_flux`), its
    per-50-MeV contents converted to normalised bin rates."""
    from nutune.resources import load_flux as load_validated_flux

    if key not in _FLUX_KEYS:
        raise ValueError(f"flux histogram {key!r} is unknown; available: {', '.join(_FLUX_KEYS)}")
    flux = load_validated_flux(path=path)
    edges = flux.e_edges
    rate = getattr(flux, _FLUX_KEYS[key]) * np.diff(edges) / 0.05
    return T2KFlux(edges=edges, rate=rate / rate.sum())


#: The MINERvA files :func:`load_minerva_flux` depends on (inside ``resources/``): the release flux and the derived
#: file it is read from.
MINERVA_FLUX_FILES = ("minerva_cc0pi_2d_le/minerva_le_flux.root", "minerva_cc0pi_2d_le/minerva_cc0pi_2d_le.npz")


def load_minerva_flux(root: str | os.PathLike | None = None) -> T2KFlux:
    """The MINERvA LE FHC νμ flux (:func:`nutune.minerva_cc0pi_2d.load`, validated there) as normalised bin rates
    over its whole range, 0–100 GeV (each content is per 0.5 GeV bin, so the rate is the content)."""
    from nutune import minerva_cc0pi_2d as mc

    m = mc.load(root)
    edges = np.array(m.flux_e_edges, dtype=float)
    rate = np.array(m.flux_numu, dtype=float)
    return T2KFlux(edges=edges, rate=rate / rate.sum())


def load_measurement_flux(measurement: str = "t2k_cc0pi_2016_anaI") -> T2KFlux:
    """The flux the built-in simulator averages ``measurement`` over (the names of
    :data:`nutune.simulator.binning.SIMULATED_MEASUREMENTS`)."""
    from nutune.simulator.binning import MINERVA_MEASUREMENT, check_measurement

    return load_minerva_flux() if check_measurement(measurement) == MINERVA_MEASUREMENT else load_flux()


def sample_energy(
    flux: T2KFlux,
    rng: np.random.Generator,
    n: int,
    sigma_of_e: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw E_ν from the proposal flux × σ(E_upper edge of the bin), uniform within a bin.

    Returns ``(enu, weight)`` where ``weight = flux_pdf(E)/proposal_pdf(E)`` is the importance weight, so that
    ``mean(weight · f(E))`` is the flux average of f. With ``sigma_of_e=None`` the proposal is the flux (weight 1).
    Using σ at the bin's *upper* edge keeps the proposal positive wherever a rising σ(E) is positive.
    """
    scale = np.ones_like(flux.rate) if sigma_of_e is None else np.asarray(sigma_of_e(flux.edges[1:]), float)
    prop = flux.rate * scale
    total = prop.sum()
    if not total > 0:
        raise ValueError("flux × σ proposal is zero everywhere")
    cdf = np.cumsum(prop / total)
    cdf[-1] = 1.0
    ibin = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), flux.rate.size - 1)
    lo = flux.edges[ibin]
    enu = lo + rng.random(n) * (flux.edges[ibin + 1] - lo)
    weight = total / scale[ibin] if sigma_of_e is not None else np.ones(n)
    return enu, weight
