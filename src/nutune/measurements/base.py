"""The measurement spec (:class:`MeasurementSpec`) and what its loader returns (:class:`BinnedData`).

A *measurement* here is a published cross-section result the workflow tunes to (T2K CC0π 2016 Analysis I, MINERvA
CC0π 2D, ...): its binning and values, covariance components, flux, target, signal definition, NUISANCE sample,
published model curves and how to draw it (:class:`Slice`). Each one is a module of :mod:`nutune.measurements`
that builds one :class:`MeasurementSpec` from its own data loader — the spec points at the loader, it never copies
data. (Not to be confused with :class:`nutune.resources.Measurement`: a *user's* histogram + covariance CSV read
for an observation of kind ``measurement``, in the configured measurement's binning.)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from nutune.resources import DataError

__all__ = ["BinnedData", "Binned", "Slice", "FluxSpec", "MeasurementSpec", "check_slices"]


@runtime_checkable
class BinnedData(Protocol):
    """What every consumer of "the configured measurement" reads: a flat vector of ``bins`` values, its covariance
    components and bin areas. :class:`nutune.resources.T2KMeasurement` is one; :class:`Binned` builds others."""

    bins: int
    values: np.ndarray
    cov_total: np.ndarray
    areas: np.ndarray

    def cov(self, components: Iterable[str] = ...) -> np.ndarray: ...


@dataclass(frozen=True)
class Binned:
    """A measurement vector with named covariance components (``covs``; their sum is ``cov_total`` when
    ``components`` span the release) and the bin areas (the integral of a prediction is Σ x·area)."""

    bins: int
    values: np.ndarray
    covs: Mapping[str, np.ndarray]
    cov_total: np.ndarray
    areas: np.ndarray

    @property
    def components(self) -> tuple[str, ...]:
        return tuple(self.covs)

    @property
    def cov_norm(self) -> np.ndarray:
        """The fully correlated flux-normalisation component (what SHAPE removes); zero when the release has none
        (MINERvA's flux normalisation is inside ``syst``)."""
        return self.covs["norm"] if "norm" in self.covs else np.zeros((self.bins, self.bins))

    def cov(self, components: Iterable[str] | None = None) -> np.ndarray:
        """Sum of the named covariance components (default: all of this release's, = ``cov_total``)."""
        comps = list(self.components if components is None else components)
        unknown = [c for c in comps if c not in self.covs]
        if not comps or unknown or len(set(comps)) != len(comps):
            raise DataError(f"cov(): components {comps} are not distinct components of this measurement; "
                            f"allowed: {', '.join(self.components)}")
        return sum((self.covs[c] for c in comps), start=np.zeros((self.bins, self.bins)))


@dataclass(frozen=True)
class Slice:
    """One panel of the measurement's slice figures: the bins ``rows`` (indices into the loaded vector) drawn as
    steps over ``x_lo``..``x_hi`` at fixed ``title`` (e.g. one cos θ_μ range of T2K). ``x_label``/``y_label``: the
    panel's own axis labels where they differ from the spec's (the parts of a joint measurement); None = the spec's."""

    index: int
    title: str
    rows: np.ndarray
    x_lo: np.ndarray
    x_hi: np.ndarray
    x_label: str | None = None
    y_label: str | None = None


@dataclass(frozen=True)
class FluxSpec:
    """The flux the measurement is averaged over: the file inside ``resources/``, the histogram in the NUISANCE
    flux file (``simulator.genie.flux_file`` / ``flux_hist`` for the GENIE backend) and the E_ν range [GeV] of the
    average — NUISANCE's sample energy range (``SetEnuRange`` / ``SetEnuRangeFromFlux``), over which its
    ``TotalIntegratedFlux`` integrates and ``PrepareGENIE``'s event rate extends, so ``gevgen -e`` must generate over
    exactly it (a narrower range would normalise the events of that range to the whole flux's rate)."""

    resource: str
    nuisance_file: str
    histogram: str
    description: str
    energy_range: tuple[float, float] = (0.0, 30.0)


@dataclass(frozen=True)
class MeasurementSpec:
    """Everything the workflow needs to know about one measurement (one instance per module of
    :mod:`nutune.measurements`).

    Attributes:
        name: stable identifier, the config value ``simulator.measurement``.
        title: human-readable name for tables and figures.
        reference: the publication.
        nuisance_sample: NUISANCE sample name (the ``<sample name=...>`` of the card).
        nuisance_source: where NUISANCE implements the sample (its signal definition and binning).
        sample_keys: ``bins -> {key: value}``, extra attributes of the card's ``<sample>`` element.
        bin_choices: the allowed ``simulator.bins`` (vector lengths the loader can return); default_bins the first.
        components: the covariance components ``load(...).cov`` sums (``npe.noise_components`` and
            ``inference.throw_components`` must be among them).
        loader: ``(bins, root) -> BinnedData``, the validated data (one home: the measurement's own loader).
        resources: files under ``resources/`` the loader reads (the workflow's rule inputs for the data).
        flux: the flux file and histogram.
        target: the target material.
        signal: the signal definition, in words (the code is NUISANCE's, ``nuisance_source``).
        published: names of published model curves shipped for it (``observations.<name>.column``).
        slicer: ``BinnedData -> tuple[Slice, ...]``, the panels of the slice figures.
        x_label, y_label: axis labels of a slice panel.
        builtin: whether the built-in simulator can produce its histograms.
        parts: for a joint measurement (:mod:`nutune.measurements.joint`) the names of its parts in vector order;
            () for a single measurement.
    """

    name: str
    title: str
    reference: str
    nuisance_sample: str
    nuisance_source: str
    sample_keys: Callable[[int], Mapping[str, str]]
    bin_choices: tuple[int, ...]
    components: tuple[str, ...]
    loader: Callable[[int, str | os.PathLike | None], BinnedData]
    resources: tuple[str, ...]
    flux: FluxSpec
    target: str
    signal: str
    slicer: Callable[[BinnedData], tuple[Slice, ...]]
    x_label: str
    y_label: str
    published: tuple[str, ...] = ()
    builtin: bool = False
    extra: Mapping[str, object] = field(default_factory=dict)
    parts: tuple[str, ...] = ()

    @property
    def default_bins(self) -> int:
        return self.bin_choices[0]

    def check_bins(self, bins: int | None) -> int:
        """``bins`` (default :attr:`default_bins`) if it is one of :attr:`bin_choices`, else :class:`DataError`."""
        b = self.default_bins if bins is None else int(bins)
        if b not in self.bin_choices:
            raise DataError(f"simulator.bins = {b} is not a binning of measurement {self.name!r}; allowed: "
                            + ", ".join(map(str, self.bin_choices)))
        return b

    def load(self, bins: int | None = None, root: str | os.PathLike | None = None) -> BinnedData:
        """The validated measurement vector in ``bins`` bins (default :attr:`default_bins`)."""
        return self.loader(self.check_bins(bins), root)

    def slices(self, bins: int | None = None, data: BinnedData | None = None) -> tuple[Slice, ...]:
        """The panels of the slice figures; every bin lies in exactly one (:func:`check_slices`)."""
        data = self.load(bins) if data is None else data
        return check_slices(self.slicer(data), data.bins)

    def card_sample(self, bins: int) -> dict[str, str]:
        """Name and extra keys of the NUISANCE card's ``<sample>`` (without ``input``)."""
        return {"name": self.nuisance_sample, **self.sample_keys(self.check_bins(bins))}


def check_slices(slices: tuple[Slice, ...], bins: int) -> tuple[Slice, ...]:
    """Every bin 0..bins-1 in exactly one slice, each slice non-empty with matching x edges."""
    rows = np.concatenate([np.asarray(s.rows, dtype=int) for s in slices]) if slices else np.array([], int)
    if rows.size != bins or not np.array_equal(np.sort(rows), np.arange(bins)):
        raise DataError(f"slices cover bins {sorted(set(rows.tolist()))[:5]}... ({rows.size} rows), not each of "
                        f"0..{bins - 1} exactly once")
    for s in slices:
        if len(s.rows) == 0 or not (len(s.rows) == len(s.x_lo) == len(s.x_hi)):
            raise DataError(f"slice {s.index}: empty or rows/x edges of different lengths")
    return slices
