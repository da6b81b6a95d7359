"""T2K CC0π 2016 Analysis I binning (PRD 93, 112012): 67 bins in (cosθ_μ slice, p_μ), 58 without overflow.

Bin order is NUISANCE's ``T2K_CC0pi_XSec_2DPcos_nu_I``: 9 cosθ slices ascending, p_μ ascending in each slice.
``mask_mom_overflow = 1`` drops the 9 momentum-overflow bins (p_hi = 30 GeV), giving 58 (physics.md §2.5).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from nutune.simulator.flux import resources_dir

__all__ = ["T2K_FILE", "Binning", "load_binning", "check_bins", "InvalidBinsError"]

T2K_FILE = Path("t2k") / "t2k_cc0pi_2016_anaI.npz"


class InvalidBinsError(ValueError):
    """Raised for a ``bins`` argument other than 58 or 67."""


def check_bins(bins: int) -> int:
    """Validate the ``bins`` argument (58 = overflow masked, 67 = all Analysis I bins)."""
    if isinstance(bins, bool) or bins not in (58, 67):
        raise InvalidBinsError(f"bins={bins!r} is not allowed; use 58 (overflow masked) or 67 (all bins)")
    return int(bins)


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
