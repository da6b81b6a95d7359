"""A joint measurement: several independent measurements tuned to at once as one concatenated vector (issue 15 item 4).

``simulator.measurement: [t2k_cc0pi_2016_anaI, minerva_cc0pi_2d_le]`` makes the configured measurement a composite
:class:`~nutune.measurements.base.MeasurementSpec` built here by :func:`joint_spec`, so the whole pipeline (bank,
NPE, diagnostics, noise-aware NPE, χ² tables, slice figures) runs unchanged on the concatenated vector:

* **bins** = Σ of the parts' bins, in the order the parts are listed (T2K 58 + MINERvA 144 = 202); each part in one
  of its own binnings (:attr:`MeasurementSpec.bin_choices` are the sums over the parts' choices that are unique);
* **values, areas** concatenated; **covariance** block diagonal — the experiments are independent (different beams,
  detectors and flux predictions: no published cross-experiment correlation exists for these two releases);
* **components**: the union of the parts' component names (``stat``, ``syst``, ``norm``), each block diagonal with a
  zero block for a part that lacks it (MINERvA's release has only ``stat`` and ``syst``, its flux normalisation is
  inside ``syst``). So ``[stat, syst, norm]`` is every experiment's total; a per-part covariance is the part's own
  block (:attr:`JointBinned.parts`). Why not per-part names (``t2k:stat``): the component lists of a config
  (``npe.noise_components``, ``inference.throw_components``) keep their meaning and schema for every measurement;
* **slices** = each part's slices, row indices offset by the part's first bin, renumbered 0.., each titled with the
  experiment and carrying its own x label;
* :attr:`JointBinned.parts` maps each part's name to its row slice of the vector. :mod:`nutune.chi2` uses it: FULL
  and DIAG are the sum over parts (identical to the block-diagonal χ² of the whole vector); SHAPE and NORMSHAPE are
  computed per part (each experiment has its own flux normalisation) and summed, so a total χ² is always the sum of
  the per-measurement χ².

The builtin simulator of a joint spec is the concatenation of each part's ``simulate(theta, measurement=part)``
(:func:`nutune.simulator.simulate`, :func:`nutune.forward.builtin_simulator`); the GENIE backend runs one flux per
bank and is refused for a joint measurement (``nutune.config``).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from types import MappingProxyType

import numpy as np
from scipy.linalg import block_diag

from nutune.resources import DataError, frozen

from .base import Binned, BinnedData, FluxSpec, MeasurementSpec, Slice

__all__ = ["SEPARATOR", "JointBinned", "joint_spec", "split_name", "part_bins", "SHORT_NAMES"]

#: Joins the part names into the joint measurement's name (``t2k_cc0pi_2016_anaI+minerva_cc0pi_2d_le``).
SEPARATOR = "+"
#: Short experiment labels used in slice titles and tables.
SHORT_NAMES: Mapping[str, str] = MappingProxyType({"t2k_cc0pi_2016_anaI": "T2K", "minerva_cc0pi_2d_le": "MINERvA"})


def split_name(name: str) -> tuple[str, ...]:
    """The part names of a joint measurement name (a single name gives a 1-tuple)."""
    return tuple(name.split(SEPARATOR))


@dataclass(frozen=True)
class JointBinned(Binned):
    """The data of a joint measurement: :class:`Binned` of the concatenated vector plus the parts.

    Attributes:
        parts: part name -> its row slice of the vector, in vector order.
        part_data: part name -> the part's own validated data (its loader's object).
    """

    parts: Mapping[str, slice]
    part_data: Mapping[str, BinnedData]


def part_bins(names: Sequence[str], bins: int | None) -> tuple[int, ...]:
    """Each part's binning for a joint vector of ``bins`` (default: every part's default binning).

    Raises:
        DataError: ``bins`` is not a sum of the parts' binnings (the message lists the allowed totals).
    """
    from . import get

    specs = [get(n) for n in names]
    if bins is None:
        return tuple(s.default_bins for s in specs)
    choices = _bin_map(tuple(names))
    if int(bins) not in choices:
        raise DataError(f"simulator.bins = {bins} is not a binning of the joint measurement "
                        f"{SEPARATOR.join(names)!r}; allowed: {', '.join(map(str, choices))} "
                        f"(sums of the parts' binnings)")
    return choices[int(bins)]


@lru_cache(maxsize=None)
def _bin_map(names: tuple[str, ...]) -> Mapping[int, tuple[int, ...]]:
    """total -> per-part binnings, the parts' default binnings first; totals reachable two ways are dropped."""
    from . import get

    choices = [get(n).bin_choices for n in names]
    totals: dict[int, list[tuple[int, ...]]] = {}
    for combo in itertools.product(*choices):
        totals.setdefault(sum(combo), []).append(combo)
    return MappingProxyType({total: combos[0] for total, combos in totals.items() if len(combos) == 1})


@lru_cache(maxsize=None)
def joint_spec(names: tuple[str, ...]) -> MeasurementSpec:
    """The composite spec of the measurements ``names`` (≥ 2 distinct registered names, in vector order).

    Raises:
        KeyError: an unknown part; DataError: fewer than two or repeated parts.
    """
    from . import get

    names = tuple(names)
    if len(names) < 2 or len(set(names)) != len(names):
        raise DataError(f"a joint measurement needs two or more distinct measurements, got {list(names)}")
    specs = [get(n) for n in names]
    components = tuple(dict.fromkeys(c for s in specs for c in s.components))
    bin_map = _bin_map(names)

    def load(bins: int, root: str | os.PathLike | None) -> JointBinned:
        per_part = part_bins(names, bins)
        datas = [s.load(b, root) for s, b in zip(specs, per_part, strict=True)]
        parts, start = {}, 0
        for n, b in zip(names, per_part, strict=True):
            parts[n] = slice(start, start + b)
            start += b
        covs = {c: frozen(block_diag(*[d.cov([c]) if c in s.components else np.zeros((d.bins, d.bins))
                                           for s, d in zip(specs, datas, strict=True)]))
                for c in components}
        return JointBinned(bins=start, values=frozen(np.concatenate([d.values for d in datas])),
                           covs=MappingProxyType(covs),
                           cov_total=frozen(block_diag(*[np.asarray(d.cov_total) for d in datas])),
                           areas=frozen(np.concatenate([d.areas for d in datas])),
                           parts=MappingProxyType(parts), part_data=MappingProxyType(dict(zip(names, datas, strict=True))))

    def slicer(data: BinnedData) -> tuple[Slice, ...]:
        if not isinstance(data, JointBinned):
            raise DataError(f"the slices of the joint measurement {SEPARATOR.join(names)!r} need its JointBinned data")
        out: list[Slice] = []
        for spec in specs:
            rows = data.parts[spec.name]
            label = SHORT_NAMES.get(spec.name, spec.title)
            for one in spec.slices(data=data.part_data[spec.name]):
                out.append(replace(one, index=len(out), title=f"{label}: {one.title}",
                                   rows=np.asarray(one.rows, dtype=int) + rows.start,
                                   x_label=one.x_label or spec.x_label, y_label=one.y_label or spec.y_label))
        return tuple(out)

    first = specs[0]
    return MeasurementSpec(
        name=SEPARATOR.join(names),
        title=" + ".join(s.title for s in specs),
        reference="; ".join(s.reference for s in specs),
        nuisance_sample=SEPARATOR.join(s.nuisance_sample for s in specs),
        nuisance_source="; ".join(s.nuisance_source for s in specs),
        sample_keys=lambda bins: {},
        bin_choices=tuple(bin_map),
        components=components,
        loader=load,
        resources=tuple(dict.fromkeys(r for s in specs for r in s.resources)),
        flux=FluxSpec(resource=first.flux.resource, nuisance_file=first.flux.nuisance_file,
                      histogram=first.flux.histogram,
                      description=" and ".join(s.flux.description for s in specs) + " (one per part)",
                      energy_range=first.flux.energy_range),
        target=first.target if all(s.target == first.target for s in specs) else "/".join(s.target for s in specs),
        signal=" | ".join(f"{SHORT_NAMES.get(s.name, s.name)}: {s.signal}" for s in specs),
        slicer=slicer,
        x_label=" / ".join(dict.fromkeys(s.x_label for s in specs)),
        y_label=" / ".join(dict.fromkeys(s.y_label for s in specs)),
        published=(),
        builtin=all(s.builtin for s in specs),
        parts=names,
    )
