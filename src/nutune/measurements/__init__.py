"""Measurements as first-class objects: the registry of :class:`MeasurementSpec` instances.

A measurement is one module here building one :class:`MeasurementSpec` from its own data loader, plus its files in
``resources/`` and its name in the schema's ``simulator.measurement`` enum (``config.schema.yaml``, the home of
the allowed values; :data:`MEASUREMENTS` must hold exactly those names, checked at import). The configured one is
:func:`measurement_of` ``(cfg)``; a config without ``simulator.measurement`` means :data:`DEFAULT` (T2K CC0π 2016
Analysis I), so older configs load unchanged. CONTRIBUTING.md "A new measurement" lists the files to add.

A list of names (``simulator.measurement: [t2k_cc0pi_2016_anaI, minerva_cc0pi_2d_le]``) is one joint measurement,
named by its parts joined with ``+`` (:mod:`nutune.measurements.joint`); :func:`get` builds it on first use.

>>> sorted(MEASUREMENTS)
['minerva_cc0pi_2d_le', 't2k_cc0pi_2016_anaI']
>>> get("t2k_cc0pi_2016_anaI+minerva_cc0pi_2d_le").parts
('t2k_cc0pi_2016_anaI', 'minerva_cc0pi_2d_le')
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from nutune.config import allowed_values, measurement_name

from .base import Binned, BinnedData, FluxSpec, MeasurementSpec, Slice, check_slices
from .joint import SEPARATOR, JointBinned, joint_spec, part_bins, split_name
from .minerva_cc0pi_2d_le import MINERVA_CC0PI_2D_LE
from .t2k_cc0pi_2016 import T2K_CC0PI_2016

__all__ = ["MEASUREMENTS", "DEFAULT", "MeasurementSpec", "BinnedData", "Binned", "Slice", "FluxSpec",
           "check_slices", "get", "name_of", "measurement_of", "load_data", "JointBinned", "joint_spec",
           "part_bins", "SEPARATOR", "noise_covariance_resources"]

#: Name of the measurement a config without ``simulator.measurement`` tunes to.
DEFAULT = T2K_CC0PI_2016.name
#: name -> spec, every measurement nutune knows.
MEASUREMENTS: Mapping[str, MeasurementSpec] = MappingProxyType(
    {m.name: m for m in (T2K_CC0PI_2016, MINERVA_CC0PI_2D_LE)})

if tuple(MEASUREMENTS) != allowed_values("simulator", "measurement"):  # pragma: no cover - a developer's slip
    raise RuntimeError(f"nutune.measurements {tuple(MEASUREMENTS)} and the schema's simulator.measurement enum "
                       f"{allowed_values('simulator', 'measurement')} differ; edit both")


def get(name: str) -> MeasurementSpec:
    """The spec named ``name`` (KeyError listing the known ones otherwise); ``a+b`` is the joint measurement of the
    registered ``a`` and ``b`` (:func:`nutune.measurements.joint.joint_spec`)."""
    if SEPARATOR in name:
        return joint_spec(split_name(name))
    if name not in MEASUREMENTS:
        raise KeyError(f"unknown measurement {name!r}; known: {', '.join(MEASUREMENTS)}")
    return MEASUREMENTS[name]


def name_of(simulator: Mapping[str, Any] | Any) -> str:
    """The measurement name of a ``simulator`` section (dict or :class:`nutune.config.SimulatorConfig`); a list of
    names gives the joint name (``a+b``)."""
    if isinstance(simulator, Mapping):
        return measurement_name(simulator.get("measurement", DEFAULT))
    return measurement_name(getattr(simulator, "measurement", DEFAULT) or DEFAULT)


def measurement_of(cfg: Any) -> MeasurementSpec:
    """The configured measurement (``cfg.simulator.measurement``, default :data:`DEFAULT`)."""
    return get(name_of(cfg.simulator))


def noise_covariance_resources(spec: MeasurementSpec) -> tuple[str, ...]:
    """The resource file(s) under ``resources/`` a measurement's covariance is read from: its first resource, and
    for a joint measurement each part's (what a noise-aware network depends on)."""
    return tuple(get(part).resources[0] for part in spec.parts) if spec.parts else (spec.resources[0],)


def load_data(cfg: Any) -> BinnedData:
    """The configured measurement's data in ``cfg.simulator.bins`` bins (for T2K: ``load_t2k(bins)`` itself)."""
    return measurement_of(cfg).load(cfg.simulator.bins)
