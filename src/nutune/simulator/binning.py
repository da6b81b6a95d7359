"""The built-in simulator's binnings: where an event's muon lands, per measurement.

* :class:`Binning` — T2K CC0π 2016 Analysis I (PRD 93, 112012): 67 bins in (cosθ_μ slice, p_μ), 58 without
  overflow. Bin order is NUISANCE's ``T2K_CC0pi_XSec_2DPcos_nu_I``: 9 cosθ slices ascending, p_μ ascending in each
  slice. ``mask_mom_overflow = 1`` drops the 9 momentum-overflow bins (p_hi = 30 GeV), giving 58 (physics.md §2.5).
* :class:`MinervaBinning` — MINERvA CC0π LE d²σ/(dp_T dp_||) (PRD 99, 012004; NUISANCE
  ``MINERvA_CC0pi_XSec_2Dptpz_nu``): the 144 populated of the release's 12 × 13 (p_||, p_T) bins, with NUISANCE's
  muon-angle cut θ_μ < 20° (``SignalDef::isCC0pi_MINERvAPTPZ``).

Both give every event one bin index (``assign``: −1 = not in the compared bins), the bin areas and the columns of
each allowed vector length (``columns``); :func:`load_measurement_binning` picks one by measurement name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from nutune.simulator.flux import resources_dir

__all__ = ["T2K_FILE", "T2K_MEASUREMENT", "MINERVA_MEASUREMENT", "SIMULATED_MEASUREMENTS", "Binning",
           "MinervaBinning", "load_binning", "load_minerva_binning", "load_measurement_binning", "check_bins",
           "check_measurement", "InvalidBinsError"]

T2K_FILE = Path("t2k") / "t2k_cc0pi_2016_anaI.npz"
#: Names of the measurements the built-in simulator produces (``nutune.measurements`` names; the simulator does
#: not import that registry, which sits above it, so ``tests/test_measurements.py`` checks the names agree).
T2K_MEASUREMENT = "t2k_cc0pi_2016_anaI"
MINERVA_MEASUREMENT = "minerva_cc0pi_2d_le"
SIMULATED_MEASUREMENTS = (T2K_MEASUREMENT, MINERVA_MEASUREMENT)


class InvalidBinsError(ValueError):
    """Raised for a ``bins`` argument the measurement does not have (T2K: 58 or 67, MINERvA: 144) or a measurement
    the built-in simulator does not produce."""


def check_bins(bins: int) -> int:
    """Validate the ``bins`` argument (58 = overflow masked, 67 = all Analysis I bins)."""
    if isinstance(bins, bool) or bins not in (58, 67):
        raise InvalidBinsError(f"bins={bins!r} is not allowed; use 58 (overflow masked) or 67 (all bins)")
    return int(bins)


def check_measurement(measurement: str) -> str:
    """The measurement name if the built-in simulator produces it, else :class:`InvalidBinsError`."""
    if measurement not in SIMULATED_MEASUREMENTS:
        raise InvalidBinsError(f"measurement={measurement!r}: the built-in simulator produces "
                               f"{', '.join(SIMULATED_MEASUREMENTS)}")
    return str(measurement)


@dataclass(frozen=True)
class Binning:
    """Edges of the 67 Analysis I bins, their areas Δp·Δcos [GeV], and the 58-bin index."""

    cos_lo: np.ndarray
    cos_hi: np.ndarray
    p_lo: np.ndarray
    p_hi: np.ndarray
    cos_slice_edges: np.ndarray
    idx58: np.ndarray

    @property
    def area(self) -> np.ndarray:
        """Δp·Δcos per bin (67,)."""
        return (self.p_hi - self.p_lo) * (self.cos_hi - self.cos_lo)

    @property
    def n_bins(self) -> int:
        """Number of bins :meth:`assign` fills (67)."""
        return int(self.p_lo.size)

    @property
    def bin_choices(self) -> tuple[int, ...]:
        return (58, 67)

    def columns(self, bins: int) -> np.ndarray:
        """The bins of a ``bins``-long vector (58: the overflow-masked ones, 67: all)."""
        return self.idx58 if check_bins(bins) == 58 else np.arange(67)

    @property
    def n_slices(self) -> int:
        return self.cos_slice_edges.size - 1

    def slice_of_bin(self) -> np.ndarray:
        """cosθ slice index of each of the 67 bins."""
        return np.searchsorted(self.cos_slice_edges, self.cos_lo, side="right") - 1

    def assign(self, p_mu: np.ndarray, cos_mu: np.ndarray) -> np.ndarray:
        """67-bin index (int32) of each event, −1 if outside every bin (T2K: [lo, hi) in cos and p)."""
        p_mu = np.asarray(p_mu, dtype=float)
        cos_mu = np.asarray(cos_mu, dtype=float)
        out = np.full(p_mu.shape, -1, dtype=np.int32)
        sl = np.searchsorted(self.cos_slice_edges, cos_mu, side="right") - 1
        # cosθ = 1 exactly belongs to the last slice (NUISANCE fills with upper edge inclusive via TH2Poly-like search)
        sl = np.where(cos_mu == self.cos_slice_edges[-1], self.n_slices - 1, sl)
        slice_of_bin = self.slice_of_bin()
        for s in range(self.n_slices):
            bins_s = np.flatnonzero(slice_of_bin == s)
            p_edges = np.append(self.p_lo[bins_s], self.p_hi[bins_s[-1]])
            sel = sl == s
            k = np.searchsorted(p_edges, p_mu[sel], side="right") - 1
            ok = (k >= 0) & (k < bins_s.size)
            out[np.flatnonzero(sel)[ok]] = bins_s[k[ok]]
        return out


@lru_cache(maxsize=4)
def _load(path: str) -> Binning:
    if not Path(path).is_file():
        raise FileNotFoundError(f"T2K binning file {path} not found (expected resources/{T2K_FILE})")
    with np.load(path, allow_pickle=False) as d:
        return Binning(
            cos_lo=np.asarray(d["cos_lo"], float),
            cos_hi=np.asarray(d["cos_hi"], float),
            p_lo=np.asarray(d["p_lo"], float),
            p_hi=np.asarray(d["p_hi"], float),
            cos_slice_edges=np.asarray(d["cos_slice_edges"], float),
            idx58=np.asarray(d["idx58"], np.int64),
        )


def load_binning(path: str | os.PathLike | None = None) -> Binning:
    """Load the Analysis I bin edges from ``resources/t2k/t2k_cc0pi_2016_anaI.npz``."""
    return _load(str(Path(path) if path is not None else resources_dir() / T2K_FILE))


@dataclass(frozen=True)
class MinervaBinning:
    """MINERvA CC0π LE (p_T, p_||) of the muon, NUISANCE ``MINERvA_CC0pi_XSec_2Dptpz_nu``.

    The vector is the 144 populated bins of the release (``mask``) in its flat order i = i_pl + 12·i_pt (p_T outer),
    the data vector of :func:`nutune.minerva_cc0pi_2d.load`'s ``masked_values``. What NUISANCE does, and so
    :meth:`assign` (``src/MINERvA/MINERvA_CC0pi_XSec_2D_nu.cxx`` and ``MINERvA_SignalDef.cxx`` at c5966524):

    * signal ``SignalDef::isCC0pi_MINERvAPTPZ(event, 14, 0, 100)``: θ(μ, ν) in degrees ``>= 20`` rejected
      (``FitUtils::th`` = TVector3::Angle); νμ CC at 0 < E_ν < 100 GeV (``isCCINC``, the sample's ``SetEnuRange(0,
      100)``: the whole LE flux file, :func:`nutune.simulator.flux.load_minerva_flux`); no muon-momentum cut in the
      LE signal (``isSignal``'s p_μ ≥ 1.5 cut is for the ME sample only); the CC0π topology is the channel's (every
      built-in event is one μ⁻ and no mesons after FSI);
    * variables (``FillEventVariables``): p_|| = p⃗_μ·ν̂, p_T = √(p_x² + p_y²), ν along z here;
    * under/overflow: NUISANCE fills signal muons outside 1.5 ≤ p_|| < 20 GeV, p_T < 2.5 GeV into the TH2D's
      under/overflow, which it never compares, and the 12 empty bins have zero rows in its SVD pseudo-inverse, so
      an event there is counted in no compared bin: index −1 here. The normalisation is per flux, not per selected
      event (``fScaleFactor`` = event rate / N / ∫Φ), so dropping them changes no other bin.

    Bins are [lo, hi) as ROOT's ``TH2D::Fill``.
    """

    p_pl_edges: np.ndarray
    p_t_edges: np.ndarray
    mask: np.ndarray  # (156,) True for the populated bins
    theta_max_deg: float

    @property
    def n_bins(self) -> int:
        """Number of bins :meth:`assign` fills (144)."""
        return int(self.mask.sum())

    @property
    def bin_choices(self) -> tuple[int, ...]:
        return (self.n_bins,)

    def columns(self, bins: int) -> np.ndarray:
        """The bins of a ``bins``-long vector: only all 144."""
        if isinstance(bins, bool) or bins != self.n_bins:
            raise InvalidBinsError(f"bins={bins!r} is not allowed for {MINERVA_MEASUREMENT}; use {self.n_bins} "
                                   "(the populated bins of the release)")
        return np.arange(self.n_bins)

    @property
    def area(self) -> np.ndarray:
        """Δp_||·Δp_T [GeV²] of the 144 bins."""
        full = np.outer(np.diff(self.p_t_edges), np.diff(self.p_pl_edges)).ravel()
        return full[self.mask]

    def assign(self, p_mu: np.ndarray, cos_mu: np.ndarray) -> np.ndarray:
        """144-bin index (int32) of each muon, −1 outside the signal's angle, the histogram or the populated bins."""
        from nutune import minerva_cc0pi_2d as mc

        p_mu = np.asarray(p_mu, dtype=float)
        cos_mu = np.clip(np.asarray(cos_mu, dtype=float), -1.0, 1.0)
        forward = np.degrees(np.arccos(cos_mu)) < self.theta_max_deg
        p_t, p_pl = mc.pt_pl(p_mu, cos_mu)
        flat = mc.bin_index(p_pl, p_t)
        lookup = np.full(self.mask.size + 1, -1, dtype=np.int32)  # lookup[-1] = −1 for flat −1
        lookup[np.flatnonzero(self.mask)] = np.arange(self.n_bins, dtype=np.int32)
        return np.where(forward, lookup[flat], -1).astype(np.int32)


@lru_cache(maxsize=2)
def _load_minerva(root: str) -> MinervaBinning:
    from nutune import minerva_cc0pi_2d as mc

    m = mc.load(root)
    return MinervaBinning(p_pl_edges=np.array(m.p_pl_edges), p_t_edges=np.array(m.p_t_edges),
                          mask=np.array(m.mask), theta_max_deg=float(mc.THETA_MU_MAX_DEG))


def load_minerva_binning(root: str | os.PathLike | None = None) -> MinervaBinning:
    """The MINERvA CC0π LE binning from the validated release (:func:`nutune.minerva_cc0pi_2d.load`)."""
    return _load_minerva(str(Path(root) if root is not None else resources_dir()))


def load_measurement_binning(measurement: str = T2K_MEASUREMENT) -> Binning | MinervaBinning:
    """The binning of ``measurement`` (:data:`SIMULATED_MEASUREMENTS`)."""
    if check_measurement(measurement) == MINERVA_MEASUREMENT:
        return load_minerva_binning()
    return load_binning()
