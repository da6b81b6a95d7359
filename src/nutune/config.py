"""Configuration loading and validation: JSON schema + cross-key checks + typed, frozen dataclasses.

``load_config`` is the single entry point: ``config/config.yaml`` (or a dict, e.g. Snakemake's ``config``) is
validated against ``src/nutune/config.schema.yaml`` (JSON Schema draft 2020-12, written in YAML; unknown keys,
types, bounds and enums), then cross-key checks run (a dial set GENIE Reweight and the backend can apply, each prior
box or fixed value inside the dial's valid range from :data:`nutune.dials.REGISTRY`, shard size, observation points
inside the prior, data files present).
Every failure raises :class:`ConfigError` naming the key path (``npe.batch_size``), the bad value and what is
allowed. Field names of the dataclasses equal the YAML keys (``cfg.npe.batch_size``, ``cfg.simulation.n_train``).

The default prior box and dial semantics follow arXiv:2603.09778 (the 2026 paper's box) and GENIE Reweight
(``GReWeightNuXSecCCQE``, ``GReWeightXSecMEC``; see :mod:`nutune.dials`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, Literal

import jsonschema
import numpy as np
import yaml

from nutune.dials import REGISTRY, DialSetError, check_dial_set
from nutune.parameter_space import ParameterSpace
from nutune.paths import results_dir_errors

__all__ = [
    "ConfigError",
    "allowed_values",
    "observation_table",
    "Config",
    "Parameter",
    "BuiltinSettings",
    "GenieSettings",
    "SimulatorConfig",
    "SimulationConfig",
    "NPEConfig",
    "DiagnosticsConfig",
    "InferenceConfig",
    "Observation",
    "Chi2Config",
    "GatesConfig",
    "ReferenceConfig",
    "ClassicalConfig",
    "LearningCurveConfig",
    "OBSERVATION_VARIANTS",
    "load_config",
    "stage_config",
    "as_config",
    "Provenance",
    "validate_config_dict",
    "schema",
]

SCHEMA_PATH = Path(__file__).with_name("config.schema.yaml")



class ConfigError(ValueError):
    """The configuration is invalid; the message names the key path, the value and what is allowed."""


# ---------------------------------------------------------------------------------------------------------------
# YAML loading (YAML 1.2 floats: PyYAML reads ``1e-3`` as a string otherwise)
# ---------------------------------------------------------------------------------------------------------------


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader that also resolves ``1e-3``-style floats (YAML 1.2), as users of scientific configs expect."""


_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_Yaml12Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None


@cache
def schema() -> dict:
    """The JSON schema (draft 2020-12) of the configuration, read from ``config.schema.yaml``."""
    with open(SCHEMA_PATH, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_Yaml12Loader)  # noqa: S506


def allowed_values(*path: str) -> tuple:
    """The allowed values of a categorical key, the ``enum`` of its schema node (their one home): ``section, key``
    (``$ref`` followed; for a list its items' enum; ``observations, key`` is a key of every observation).

    >>> allowed_values("npe", "density_estimator")
    ('maf', 'nsf')
    >>> allowed_values("chi2", "modes")
    ('FULL', 'DIAG', 'SHAPE', 'NORMSHAPE')
    """
    root = schema()
    node: Any = root
    for part in path:
        node = _resolve(node, root)
        if part not in node.get("properties", {}) and isinstance(node.get("additionalProperties"), dict):
            node = _resolve(node["additionalProperties"], root)  # observations.<name>.<key>
        node = node["properties"][part]
    node = _resolve(node, root)
    if "enum" not in node and "anyOf" in node:  # a name or a list of names (simulator.measurement): the names
        node = _resolve(node["anyOf"][0], root)
    if "items" in node:
        node = _resolve(node["items"], root)
    if "enum" not in node:
        raise KeyError(f"config key {'.'.join(path)} has no allowed values (no enum in the schema)")
    return tuple(node["enum"])


# ---------------------------------------------------------------------------------------------------------------
# Schema validation with readable messages
# ---------------------------------------------------------------------------------------------------------------


def _key_path(path: Any) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<top level>"


def _describe(node: dict | None) -> str:
    if not node or "description" not in node:
        return ""
    return f" ({' '.join(str(node['description']).split())})"


def _resolve(node: dict, root: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        target: Any = root
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        merged = {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **merged}
    return node


def _format_schema_error(err: jsonschema.ValidationError, root: dict) -> str:
    path = _key_path(err.absolute_path)
    value = err.instance
    sch = _resolve(err.schema, root) if isinstance(err.schema, dict) else {}
    kind = err.validator
    hint = _describe(sch)
    if kind == "additionalProperties":
        allowed = sorted(sch.get("properties", {}))
        extra = sorted(set(value) - set(allowed)) if isinstance(value, dict) else []
        where = path if path != "<top level>" else "the top level"
        keys = ", ".join(f"{where}.{k}" if path != "<top level>" else k for k in extra)
        return f"unknown key(s) {keys} = {[value[k] for k in extra]!r} in {where}; allowed keys: {', '.join(allowed)}"
    if kind == "required":
        missing = [k for k in err.validator_value if isinstance(value, dict) and k not in value]
        prefix = "" if path == "<top level>" else f"{path}."
        keys = ", ".join(prefix + k for k in missing) or err.message
        return (f"missing key(s) {keys}: a config is complete on its own (nothing is taken from config/config.yaml); "
                "copy the key from config/config.yaml, where every key is commented")
    if kind == "type":
        return f"{path} = {value!r} has the wrong type ({type(value).__name__}); expected {sch.get('type')}{hint}"
    if kind == "enum":
        return f"{path} = {value!r} is not allowed; allowed: {', '.join(map(repr, sch['enum']))}{hint}"
    if kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        bound = sch[kind]
        rel = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[kind]
        extra = []
        if kind.endswith("Minimum") or kind == "minimum":
            for k, r in (("maximum", "<="), ("exclusiveMaximum", "<")):
                if k in sch:
                    extra.append(f"{r} {sch[k]}")
        else:
            for k, r in (("minimum", ">="), ("exclusiveMinimum", ">")):
                if k in sch:
                    extra.append(f"{r} {sch[k]}")
        cond = " and ".join([f"{rel} {bound}", *extra])
        return f"{path} = {value!r} is out of bounds; it must be {cond}{hint}"
    if kind in ("minItems", "maxItems"):
        lo, hi = sch.get("minItems"), sch.get("maxItems")
        want = f"exactly {lo}" if lo == hi else (f"at least {lo}" if kind == "minItems" else f"at most {hi}")
        return f"{path} = {value!r} has {len(value)} item(s); {want} required{hint}"
    if kind == "uniqueItems":
        return f"{path} = {value!r} has duplicated items; each item may appear once{hint}"
    if kind == "minProperties":
        return f"{path} = {value!r} is empty; at least {sch['minProperties']} entry required{hint}"
    if kind == "minLength":
        return f"{path} = {value!r} is empty; a non-empty string is required{hint}"
    if kind == "pattern" or kind == "propertyNames":
        return f"{path}: name {value!r} is not allowed; use letters, digits, '_' and '-' only"
    return f"{path} = {value!r}: {err.message}{hint}"


def _schema_errors(data: Any, root: dict | None = None) -> list[str]:
    root = schema() if root is None else root
    validator = jsonschema.Draft202012Validator(root)
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    messages: list[str] = []
    for err in errors:
        # propertyNames errors carry the bad name as instance but not in the path
        msg = _format_schema_error(err, root)
        if msg not in messages:
            messages.append(msg)
    return messages


# ---------------------------------------------------------------------------------------------------------------
# Typed configuration
# ---------------------------------------------------------------------------------------------------------------

def _choice(*path: str) -> Any:
    """The ``Literal`` type of a categorical key, its values read from the schema (never written twice)."""
    return Literal[allowed_values(*path)]


Backend = _choice("simulator", "backend")
Bins = _choice("simulator", "bins")
MeasurementName = _choice("simulator", "measurement")
#: A joint measurement's name: its parts' names joined with ``+`` (``nutune.measurements.joint``).
JointMeasurementName = str


def measurement_name(value: str | Sequence[str]) -> str:
    """The canonical name of a ``simulator.measurement`` value: a name as it is, a list of names joined with ``+``
    (the joint measurement of :mod:`nutune.measurements.joint`).

    >>> measurement_name(["t2k_cc0pi_2016_anaI", "minerva_cc0pi_2d_le"])
    't2k_cc0pi_2016_anaI+minerva_cc0pi_2d_le'
    """
    return "+".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)

#: The measurement of a config without ``simulator.measurement`` (the schema's ``default``; nutune.measurements).
DEFAULT_MEASUREMENT: str = schema()["properties"]["simulator"]["properties"]["measurement"]["default"]
#: Networks per likelihood mode of a config without ``likelihood_modes.n_ensemble`` (the schema's ``default``).
DEFAULT_LIKELIHOOD_ENSEMBLE: int = schema()["properties"]["likelihood_modes"]["properties"]["n_ensemble"]["default"]
OnBadHistogram = _choice("simulation", "on_bad_histogram")
DensityEstimator = _choice("npe", "density_estimator")
LrSchedule = _choice("npe", "lr_schedule")
Calibration = _choice("npe", "calibration")
XTransform = _choice("npe", "x_transform")
NoiseMode = _choice("npe", "noise")
Device = _choice("npe", "device")
#: A covariance component of the T2K release (``npe.noise_components``, ``inference.throw_components``).
Component = _choice("npe", "noise_components")
ObservationKind = _choice("observations", "kind")
Variant = _choice("observations", "variant")
PublishedColumn = _choice("observations", "column")
Chi2Mode = _choice("chi2", "modes")
OnFailure = _choice("gates", "on_failure")
ReferenceMoves = _choice("reference", "moves")
ConstraintsMode = _choice("constraints", "mode")
#: Variants of the built-in simulator usable in ``observations.<name>.variant`` (from the schema).
OBSERVATION_VARIANTS: tuple[str, ...] = allowed_values("observations", "variant")



@dataclass(frozen=True)
class Parameter:
    """One free GENIE Reweight dial with its uniform prior box in physical units (see :mod:`nutune.dials`)."""

    dial: str
    label: str
    unit: str
    min: float
    max: float


@dataclass(frozen=True)
class BuiltinSettings:
    """``simulator.builtin``: the built-in simulator's template sample."""

    sample_seed: int
    n_events: int
    cache_dir: str


@dataclass(frozen=True)
class GenieSettings:
    """``simulator.genie``: GENIE gevgen + NUISANCE settings (only validated when ``backend == "genie"``)."""

    container: str | None
    gevgen: str
    prepare_genie: str
    nuiscomp: str
    tune: str
    splines: str
    flux_file: str
    flux_hist: str
    target: str
    n_events: int
    gen_seed: int
    keep_events: bool


@dataclass(frozen=True)
class SimulatorConfig:
    """``simulator``: backend, measurement and binning (``measurement`` defaults to :data:`DEFAULT_MEASUREMENT`; a
    list of names in the YAML is held as the joint name ``a+b``, :func:`measurement_name`)."""

    backend: Backend
    bins: Bins
    builtin: BuiltinSettings
    genie: GenieSettings
    measurement: MeasurementName | JointMeasurementName = DEFAULT_MEASUREMENT


@dataclass(frozen=True)
class SimulationConfig:
    """``simulation``: bank sizes and sharding."""

    n_train: int
    n_test: int
    shard_size: int
    on_bad_histogram: OnBadHistogram


@dataclass(frozen=True)
class NPEConfig:
    """``npe``: embedding net, flow and training settings (arXiv:2510.07454 defaults in config.yaml)."""

    embedding_hidden: tuple[int, ...]
    embedding_dim: int
    density_estimator: DensityEstimator
    num_transforms: int
    hidden_features: int
    batch_size: int
    learning_rate: float
    lr_schedule: LrSchedule
    lr_decay_factor: float
    lr_decay_patience: int
    min_learning_rate: float
    stop_after_epochs: int
    max_num_epochs: int
    validation_fraction: float
    calibration: Calibration
    x_transform: XTransform
    noise: NoiseMode
    noise_components: tuple[Component, ...]
    n_ensemble: int
    device: Device
    #: Column counts of x's blocks with an embedding each (None: one shared embedding; ``nutune.npe.networks``).
    embedding_parts: tuple[int, ...] | None = None

    def noise_aware(self, max_num_epochs: int | None = None) -> NPEConfig:
        """These settings with ``noise: covariance`` (the reference and likelihood-mode networks), the epoch budget
        capped at ``max_num_epochs`` when given (``likelihood_modes.max_num_epochs``)."""
        if max_num_epochs is None:
            return replace(self, noise="covariance")
        if int(max_num_epochs) < 1:
            raise ValueError(f"likelihood_modes.max_num_epochs must be >= 1, got {max_num_epochs}")
        return replace(self, noise="covariance", max_num_epochs=min(int(max_num_epochs), self.max_num_epochs))


@dataclass(frozen=True)
class DiagnosticsConfig:
    """``diagnostics``: coverage / TARP / SBC on the test set."""

    num_posterior_samples: int
    coverage_levels: int
    n_pulls: int
    corner_index: int


@dataclass(frozen=True)
class InferenceConfig:
    """``inference``: posterior sampling and covariance throws."""

    num_posterior_samples: int
    n_throws: int
    throw_components: tuple[Component, ...]


@dataclass(frozen=True)
class Observation:
    """``observations.<name>``: ``variant``/``point`` for builtin, ``column`` for published, ``file`` for
    measurement, nothing for data."""

    name: str
    kind: ObservationKind
    variant: Variant | None = None
    point: tuple[float, ...] | None = None
    column: PublishedColumn | None = None
    file: str | None = None


@dataclass(frozen=True)
class Chi2Config:
    """``chi2``: covariance conventions of the χ² tables."""

    modes: tuple[Chi2Mode, ...]


@dataclass(frozen=True)
class GatesConfig:
    """``gates``: calibration gates before real data."""

    on_failure: OnFailure
    max_coverage_error: float
    max_tarp_error: float
    min_sbc_pvalue: float


@dataclass(frozen=True)
class ReferenceConfig:
    """``reference``: emcee reference posteriors."""

    activate: bool
    n_walkers: int
    n_steps: int
    burn_in: int
    n_mock: int
    moves: ReferenceMoves = "stretch"


@dataclass(frozen=True)
class ClassicalConfig:
    """``classical``: iminuit χ² fits."""

    activate: bool


@dataclass(frozen=True)
class LearningCurveConfig:
    """``learning_curve``: metrics versus training-set size."""

    activate: bool
    n_train: tuple[int, ...]


@dataclass(frozen=True)
class LikelihoodModesConfig:
    """``likelihood_modes``: the χ²-mode comparison on T2K (:mod:`nutune.likelihood_modes`); optional section.

    ``n_ensemble`` (optional key, default :data:`DEFAULT_LIKELIHOOD_ENSEMBLE`): networks per DIAG / SHAPE /
    NORMSHAPE mode, mixed with equal weights (:func:`nutune.likelihood_modes.mode_members`)."""

    activate: bool = False
    max_num_epochs: int | None = None
    n_ensemble: int = DEFAULT_LIKELIHOOD_ENSEMBLE


@dataclass(frozen=True)
class ConstraintsConfig:
    """``constraints``: what the data constrain per dial (:mod:`nutune.constraints`); optional section."""

    activate: bool = False
    mode: ConstraintsMode = "FULL"
    baseline: str | None = None


@dataclass(frozen=True)
class StabilityConfig:
    """``stability``: replicates of the default run with other network seeds (:mod:`nutune.stability`)."""

    activate: bool
    n_replicates: int
    min_gate_margin: float
    max_central_spread: float


@dataclass(frozen=True)
class MisspecificationConfig:
    """``misspecification``: the tests of :mod:`nutune.misspecification`."""

    alpha: float
    n_reference: int
    n_shuffle: int
    n_marginal: int
    marginal_epochs: int
    ppc_draws: int


@dataclass(frozen=True)
class Config:
    """The validated configuration. Field names equal the YAML keys; ``raw`` is the validated dict."""

    results_dir: str
    seed: int
    parameters: tuple[Parameter, ...]
    fixed_parameters: dict[str, float]
    simulator: SimulatorConfig
    simulation: SimulationConfig
    npe: NPEConfig
    diagnostics: DiagnosticsConfig
    inference: InferenceConfig
    observations: dict[str, Observation]
    chi2: Chi2Config
    gates: GatesConfig
    reference: ReferenceConfig
    classical: ClassicalConfig
    learning_curve: LearningCurveConfig
    stability: StabilityConfig
    misspecification: MisspecificationConfig
    raw: dict
    config_hash: str
    likelihood_modes: LikelihoodModesConfig = LikelihoodModesConfig()
    constraints: ConstraintsConfig = ConstraintsConfig()

    @property
    def prior_low(self) -> np.ndarray:
        """(d,) lower edges of the uniform prior (physical units, free dials in config order)."""
        return np.array([p.min for p in self.parameters], dtype=float)

    @property
    def prior_high(self) -> np.ndarray:
        """(d,) upper edges of the uniform prior (physical units, free dials in config order)."""
        return np.array([p.max for p in self.parameters], dtype=float)

    @property
    def dial_names(self) -> tuple[str, ...]:
        """The free dials in θ order (as the config lists them)."""
        return tuple(p.dial for p in self.parameters)

    @property
    def parameter_space(self) -> ParameterSpace:
        """The free dials, their box and the fixed dials' values (:class:`nutune.parameter_space.ParameterSpace`)."""
        return ParameterSpace.from_entries(self.raw["parameters"], backend=self.simulator.backend)


# ---------------------------------------------------------------------------------------------------------------
# Cross-key checks
# ---------------------------------------------------------------------------------------------------------------


def _repo_relative(path_str: str) -> Path:
    """Resolve a path from the config: absolute, relative to the cwd, else relative to the repository root."""
    p = Path(path_str).expanduser()
    if p.is_absolute() or p.exists():
        return p
    repo = Path(__file__).resolve().parents[2]
    return repo / p


def _parameter_errors(entries: Sequence[Mapping], backend: str) -> list[str]:
    """``parameters``: a dial set GENIE Reweight (and the backend) can apply, each entry either free with a prior
    box inside the dial's valid range or fixed at a value inside it, units as the registry's."""
    try:
        check_dial_set([str(p["dial"]) for p in entries], backend=backend)
    except DialSetError as exc:
        return [f"parameters: {exc}"]
    errs: list[str] = []
    if all("fixed" in p for p in entries):
        errs.append("parameters: every dial is fixed; at least one must be free (with min and max)")
    for i, par in enumerate(entries):
        key, dial, reg = f"parameters[{i}]", par["dial"], REGISTRY[str(par["dial"])]
        vlo, vhi = reg.valid_range
        if "unit" in par and par["unit"] != reg.unit:
            errs.append(f"{key}.unit = {par['unit']!r}, but {dial}'s physical unit is {reg.unit!r} "
                        "(nutune.dials.REGISTRY); drop the key or write the registry's unit")
        if "fixed" in par:
            extra = sorted({"min", "max", "label", "unit"} & set(par))
            value = float(par["fixed"])
            if extra:
                errs.append(f"{key} ({dial}): a fixed dial takes only `dial` and `fixed`; remove {', '.join(extra)}")
            elif not (math.isfinite(value) and vlo <= value <= vhi):
                errs.append(f"{key}.fixed = {value} is outside {dial}'s valid range [{vlo}, {vhi}]")
            continue
        if "min" not in par or "max" not in par:
            errs.append(f"{key} ({dial}): a free dial needs min and max (its uniform prior box), or `fixed: <value>`")
            continue
        lo, hi = float(par["min"]), float(par["max"])
        if not (math.isfinite(lo) and math.isfinite(hi)):
            errs.append(f"{key}.min/max = [{lo}, {hi}]: prior edges must be finite")
            continue
        if lo >= hi:
            errs.append(f"{key}.min = {lo} >= {key}.max = {hi} ({dial}): the prior needs min < max")
        if lo < vlo or hi > vhi:
            errs.append(f"{key} ({dial}) prior [{lo}, {hi}] leaves the simulator's valid range [{vlo}, {vhi}]; "
                        "choose min and max inside it")
    if backend == "builtin" and not errs:
        from nutune.parameter_space import builtin_limit_errors

        errs += builtin_limit_errors(entries)
    return errs


def _measurement_errors(d: dict) -> list[str]:
    """``simulator.measurement``: ``simulator.bins`` one of its binnings; a measurement the builtin simulator cannot
    produce needs ``backend: genie``; its data observations and published curves must exist for it."""
    from nutune.measurements import get

    sim = d["simulator"]
    m = get(measurement_name(sim.get("measurement", DEFAULT_MEASUREMENT)))
    errs = []
    if m.parts and sim["backend"] != "builtin":
        errs.append(f"simulator.measurement = {list(m.parts)} (a joint measurement) needs simulator.backend: builtin: "
                    "the GENIE backend generates one flux per bank (nutune.measurements.joint)")
    parts = d["npe"].get("embedding_parts")
    if parts is not None and sum(int(b) for b in parts) != int(sim["bins"]):
        errs.append(f"npe.embedding_parts = {list(parts)} sums to {sum(int(b) for b in parts)}, not simulator.bins = "
                    f"{sim['bins']}; for the joint measurement use each part's bins"
                    + (f" ({'+'.join(map(str, _part_bins_or_none(m, sim['bins'])))})" if m.parts else ""))
    if int(sim["bins"]) not in m.bin_choices:
        errs.append(f"simulator.bins = {sim['bins']} is not a binning of measurement {m.name!r} ({m.title}); "
                    f"allowed: {', '.join(map(str, m.bin_choices))}")
    for section, key in (("npe", "noise_components"), ("inference", "throw_components")):
        extra = [c for c in d[section][key] if c not in m.components]
        if extra:
            errs.append(f"{section}.{key} = {d[section][key]!r}: {m.name!r} has no covariance component "
                        f"{', '.join(extra)}; allowed: {', '.join(m.components)}")
    if sim["backend"] == "builtin" and not m.builtin:
        errs.append(f"simulator.measurement = {m.name!r} needs simulator.backend: genie: the builtin simulator "
                    f"does not produce its histograms (MeasurementSpec.builtin is False); use backend genie or a "
                    f"measurement it produces ({DEFAULT_MEASUREMENT!r}, 'minerva_cc0pi_2d_le')")
    if sim["backend"] == "genie" and sim["genie"]["flux_hist"] != m.flux.histogram:
        errs.append(f"simulator.genie.flux_hist = {sim['genie']['flux_hist']!r} is not the flux of measurement "
                    f"{m.name!r}: it is averaged over {m.flux.description} (histogram {m.flux.histogram!r} of "
                    f"{m.flux.nuisance_file}, resources/{m.flux.resource}); set simulator.genie.flux_file and "
                    "flux_hist to it")
    if m.name != DEFAULT_MEASUREMENT:
        kinds = sorted({o["kind"] for o in d["observations"].values()} - {"data"})
        if kinds:
            errs.append(f"observations of kind {', '.join(kinds)} are T2K histograms (builtin simulator, published "
                        f"curves, T2K-binned CSVs); with simulator.measurement = {m.name!r} use kind data only")
    return errs


def _part_bins_or_none(m: Any, bins: int) -> tuple[int, ...]:
    """Each part's bins of a joint measurement ``m`` for ``bins`` (its parts' defaults if ``bins`` is no binning)."""
    from nutune.measurements import part_bins
    from nutune.resources import DataError

    try:
        return part_bins(m.parts, bins)
    except DataError:
        return part_bins(m.parts, None)


def _cross_key_errors(d: dict, check_files: bool) -> list[str]:
    errs: list[str] = list(results_dir_errors(d["results_dir"]))
    measurement_errs = _measurement_errors(d)
    if measurement_errs:  # the checks below read the measurement's files in its binning
        return errs + measurement_errs
    errs.extend(_parameter_errors(d["parameters"], d["simulator"]["backend"]))
    # sharding: a shard larger than both runs is almost surely a typo (one partial shard per split)
    sim = d["simulation"]
    biggest = max(sim["n_train"], sim["n_test"])
    if sim["shard_size"] > biggest:
        errs.append(
            f"simulation.shard_size = {sim['shard_size']} is larger than the largest split "
            f"max(n_train, n_test) = {biggest}; allowed: 1 .. {biggest}"
        )
    diag = d["diagnostics"]
    if diag["n_pulls"] > sim["n_test"]:
        errs.append(f"diagnostics.n_pulls = {diag['n_pulls']} exceeds simulation.n_test = {sim['n_test']}")
    if diag["corner_index"] >= sim["n_test"]:
        errs.append(
            f"diagnostics.corner_index = {diag['corner_index']} is not a test row; allowed: 0 .. {sim['n_test'] - 1}"
        )
    npe = d["npe"]
    n_val = int(math.floor(sim["n_train"] * npe["validation_fraction"]))
    if n_val < 1 or sim["n_train"] - n_val < 1:
        errs.append(
            f"npe.validation_fraction = {npe['validation_fraction']} leaves no validation or no training rows "
            f"for simulation.n_train = {sim['n_train']}"
        )
    if npe["min_learning_rate"] > npe["learning_rate"]:
        errs.append(
            f"npe.min_learning_rate = {npe['min_learning_rate']} exceeds npe.learning_rate = {npe['learning_rate']}; "
            "the decay floor must be at most the starting rate"
        )
    if npe["x_transform"] == "log" and npe["noise"] == "covariance":
        errs.append(
            "npe.x_transform = 'log' with npe.noise = 'covariance': Gaussian noise makes histograms negative; "
            "use x_transform 'max' with covariance noise"
        )
    ref = d["reference"]
    if ref["burn_in"] >= ref["n_steps"]:
        errs.append(f"reference.burn_in = {ref['burn_in']} must be below reference.n_steps = {ref['n_steps']}")
    n_dims = sum(1 for p in d["parameters"] if "fixed" not in p)
    if ref["activate"] and ref["n_walkers"] < 2 * n_dims:
        errs.append(f"reference.n_walkers = {ref['n_walkers']} must be at least twice the {n_dims} free dials "
                    f"(emcee's stretch move); use n_walkers >= {2 * n_dims}")
    lc = d["learning_curve"]
    if lc["activate"]:
        too_big = [n for n in lc["n_train"] if n > sim["n_train"]]
        if too_big:
            errs.append(
                f"learning_curve.n_train = {lc['n_train']!r}: sizes {too_big} exceed simulation.n_train = "
                f"{sim['n_train']}; allowed: 1 .. {sim['n_train']}"
            )
    if d["stability"]["activate"] and not any(o.get("kind") == "data" for o in d["observations"].values()):
        errs.append("stability.activate = true needs an observation of kind data (its headline numbers are the "
                    "T2K table's); add one or set stability.activate: false")
    lm = d.get("likelihood_modes", {})
    if lm.get("activate"):
        if not any(o.get("kind") == "data" for o in d["observations"].values()):
            errs.append("likelihood_modes.activate = true needs an observation of kind data (it compares the "
                        "likelihoods on the T2K data); add one or set likelihood_modes.activate: false")
        if d["simulator"]["backend"] != "builtin":
            errs.append(f"likelihood_modes.activate = true needs simulator.backend: builtin (the classical fits), "
                        f"got {d['simulator']['backend']!r}")
    errs += _constraints_errors(d)
    # observations
    from nutune.resources import PUBLISHED_COLUMNS

    free = [p for p in d["parameters"] if "fixed" not in p and "min" in p and "max" in p]
    free_names = [str(p["dial"]) for p in free]
    lows = [float(p["min"]) for p in free]
    highs = [float(p["max"]) for p in free]
    n_free = len(free)
    bins = d["simulator"]["bins"]
    for name, obs in d["observations"].items():
        key = f"observations.{name}"
        kind = obs["kind"]
        allowed_keys = {"builtin": {"kind", "variant", "point"}, "published": {"kind", "column"}, "data": {"kind"},
                        "measurement": {"kind", "file"}}
        extra = sorted(set(obs) - allowed_keys[kind])
        if extra:
            errs.append(
                f"{key}: key(s) {', '.join(extra)} do not apply to kind {kind!r}; allowed: "
                f"{', '.join(sorted(allowed_keys[kind]))}"
            )
        if kind == "builtin":
            variant = obs.get("variant", "nominal")
            if variant not in OBSERVATION_VARIANTS:
                errs.append(f"{key}.variant = {variant!r} is not allowed; allowed: {', '.join(OBSERVATION_VARIANTS)}")
            if "point" not in obs:
                errs.append(f"{key}.point is missing; kind 'builtin' needs {n_free} physical values, one per free "
                            f"dial ({', '.join(free_names)})")
            else:
                point = [float(v) for v in obs["point"]]
                if len(point) != n_free:
                    errs.append(f"{key}.point = {point!r} has {len(point)} values; it needs {n_free}, one per free "
                                f"dial in the order of `parameters` ({', '.join(free_names)})")
                elif not all(math.isfinite(v) for v in point):
                    errs.append(f"{key}.point = {point!r} has non-finite values; {n_free} finite numbers are required")
                else:
                    outside = [
                        f"{free_names[i]}={v} not in [{lows[i]}, {highs[i]}]"
                        for i, v in enumerate(point)
                        if not lows[i] <= v <= highs[i]
                    ]
                    if outside:
                        errs.append(f"{key}.point = {point!r} is outside the prior box: {'; '.join(outside)}")
        elif kind == "measurement":
            if "file" not in obs:
                errs.append(f"{key}.file is missing; kind 'measurement' needs the path of its CSV "
                            "(columns bin, x, cov_0 .. cov_<bins-1>; docs/measurement.md)")
            elif check_files and not _repo_relative(obs["file"]).is_file():
                errs.append(f"{key}.file = {obs['file']!r}: file not found (looked at {_repo_relative(obs['file'])})")
            elif check_files:  # the layout and values, before any job runs (the range check needs the bank)
                from nutune.resources import DataError, load_measurement

                try:
                    load_measurement(_repo_relative(obs["file"]), bins)
                except DataError as exc:
                    errs.append(f"{key}.file: {exc}")
        elif kind == "published":
            column = obs.get("column")
            if column not in PUBLISHED_COLUMNS:
                errs.append(f"{key}.column = {column!r} is not allowed; allowed: {', '.join(PUBLISHED_COLUMNS)}")
            if bins != 58:
                errs.append(
                    f"{key}: published predictions exist for 58 bins only, but simulator.bins = {bins}; "
                    "use bins 58 or remove this observation"
                )
    # files
    if check_files:
        from nutune.resources import FLUX_NPZ, PUBLISHED_CSV, T2K_NPZ, DataError, resources_root

        try:
            root = resources_root()
        except DataError as exc:
            errs.append(f"resources: {exc}")
        else:
            needed = [T2K_NPZ, FLUX_NPZ]
            if measurement_name(d["simulator"].get("measurement", DEFAULT_MEASUREMENT)) != DEFAULT_MEASUREMENT:
                from nutune.measurements import get

                needed += get(measurement_name(d["simulator"]["measurement"])).resources
            if any(o["kind"] == "published" for o in d["observations"].values()):
                needed.append(PUBLISHED_CSV)
            for rel in needed:
                if not (root / rel).is_file():
                    errs.append(f"resources: data file {root / rel} is missing (needed by this config)")
    if d["simulator"]["backend"] == "genie":
        genie = d["simulator"]["genie"]
        if check_files:
            for key in ("splines", "flux_file"):
                path = _repo_relative(genie[key])
                if not path.is_file():
                    errs.append(
                        f"simulator.genie.{key} = {genie[key]!r}: file not found (looked at {path}); "
                        "required when simulator.backend = 'genie'"
                    )
        if not re.fullmatch(r"\d{10}\[[0-9.]+\](,\d{10}\[[0-9.]+\])*", genie["target"]):
            errs.append(
                f"simulator.genie.target = {genie['target']!r} is not a GENIE target mix; "
                "expected e.g. '1000060120[0.923],1000010010[0.077]'"
            )
        else:
            total = sum(float(f) for f in re.findall(r"\[([0-9.]+)\]", genie["target"]))
            if not math.isclose(total, 1.0, abs_tol=1e-3):
                errs.append(f"simulator.genie.target = {genie['target']!r}: mass fractions sum to {total}, not 1")
    return errs


# ---------------------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------------------


def _canonical_hash(d: dict) -> str:
    text = json.dumps(d, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _raise(messages: list[str], source: str) -> None:
    if not messages:
        return
    head = f"invalid configuration ({source}): " if source else "invalid configuration: "
    if len(messages) == 1:
        raise ConfigError(head + messages[0])
    raise ConfigError(head + f"{len(messages)} problems\n  - " + "\n  - ".join(messages))


def _plain(obj: Any) -> Any:
    """Deep-copy into plain dict/list/scalars (Snakemake passes its own dict subclasses)."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return copy.deepcopy(obj)


#: A number in exponent notation without a dot or without an exponent sign (``5e-3``, ``2e3``): YAML 1.2 reads it
#: as a float, YAML 1.1 (PyYAML, hence Snakemake's config loader) as a string.
_EXPONENT_NUMBER = re.compile(r"[-+]?(?:[0-9][0-9_]*\.?[0-9_]*|\.[0-9_]+)[eE][-+]?[0-9]+\Z")


def _coerce_numbers(value: Any, node: Any, root: dict) -> Any:
    """Numbers as YAML 1.2 reads them, wherever the schema expects a number, whoever parsed the YAML.

    A string such as ``"5e-3"`` or ``"2e3"`` (Snakemake's YAML 1.1 reading of ``5e-3``) becomes a float, and an
    integral float (``2e3`` read by YAML 1.2 as 2000.0) becomes an int where the schema asks for an integer, so
    ``snakemake --configfile`` and :func:`load_config` see the same values. Anything else is left for the schema.
    """
    node = _resolve(node, root) if isinstance(node, dict) else {}
    if isinstance(value, dict):
        props = node.get("properties", {})
        extra = node.get("additionalProperties")
        return {k: _coerce_numbers(v, props.get(k, extra if isinstance(extra, dict) else None), root)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_coerce_numbers(v, node.get("items"), root) for v in value]
    types = node.get("type")
    types = set(types) if isinstance(types, list) else {types}
    if "enum" in node and all(isinstance(e, (int, float)) for e in node["enum"]):
        types.add("integer")
    if not types & {"number", "integer"}:
        return value
    if isinstance(value, str) and _EXPONENT_NUMBER.match(value.strip()):
        value = float(value.replace("_", ""))
    if "integer" in types and isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    return value


def validate_config_dict(d: Mapping, *, check_files: bool = True, source: str = "") -> dict:
    """Validate a configuration dict (schema + cross-key checks) and return it as a plain dict.

    Used by ``workflow/rules/common.smk`` on Snakemake's ``config``.

    Raises:
        ConfigError: listing every problem with its key path, value and what is allowed.
    """
    if not isinstance(d, Mapping):
        raise ConfigError(f"the configuration must be a mapping of keys, got {type(d).__name__}")
    data = _coerce_numbers(_plain(d), schema(), schema())
    _raise(_schema_errors(data), source)
    _raise(_cross_key_errors(data, check_files), source)
    return data


def _npe_section(npe: Mapping) -> NPEConfig:
    npe = dict(npe)
    npe["embedding_hidden"] = tuple(npe["embedding_hidden"])
    npe["noise_components"] = tuple(npe["noise_components"])
    if npe.get("embedding_parts") is not None:
        npe["embedding_parts"] = tuple(int(b) for b in npe["embedding_parts"])
    for key in ("learning_rate", "lr_decay_factor", "min_learning_rate", "validation_fraction"):
        npe[key] = float(npe[key])
    return NPEConfig(**npe)


def _observations_section(observations: Mapping) -> dict[str, Observation]:
    return {
        name: Observation(name=name, kind=obs["kind"],
                          variant=obs.get("variant", "nominal") if obs["kind"] == "builtin" else None,
                          point=tuple(float(v) for v in obs["point"]) if "point" in obs else None,
                          column=obs.get("column"), file=obs.get("file"))
        for name, obs in observations.items()
    }


def _parameters_section(entries: Sequence[Mapping]) -> tuple[Parameter, ...]:
    return tuple(
        Parameter(dial=p["dial"], label=p.get("label", REGISTRY[p["dial"]].label),
                  unit=p.get("unit", REGISTRY[p["dial"]].unit), min=float(p["min"]), max=float(p["max"]))
        for p in entries if "fixed" not in p
    )


#: YAML section -> the typed value(s) of the :class:`Config` fields it fills (field name -> builder).
_SECTIONS: dict[str, dict[str, Any]] = {
    "results_dir": {"results_dir": str},
    "seed": {"seed": int},
    "parameters": {
        "parameters": _parameters_section,
        "fixed_parameters": lambda entries: {p["dial"]: float(p["fixed"]) for p in entries if "fixed" in p},
    },
    "simulator": {"simulator": lambda sim: SimulatorConfig(
        backend=sim["backend"], bins=int(sim["bins"]), builtin=BuiltinSettings(**sim["builtin"]),
        genie=GenieSettings(**sim["genie"]), measurement=measurement_name(sim.get("measurement", DEFAULT_MEASUREMENT)))},
    "simulation": {"simulation": lambda d: SimulationConfig(**d)},
    "npe": {"npe": _npe_section},
    "diagnostics": {"diagnostics": lambda d: DiagnosticsConfig(**d)},
    "inference": {"inference": lambda d: InferenceConfig(**{**d, "throw_components": tuple(d["throw_components"])})},
    "observations": {"observations": _observations_section},
    "chi2": {"chi2": lambda d: Chi2Config(modes=tuple(d["modes"]))},
    "gates": {"gates": lambda d: GatesConfig(**{k: (float(v) if k != "on_failure" else v) for k, v in d.items()})},
    "reference": {"reference": lambda d: ReferenceConfig(**d)},
    "classical": {"classical": lambda d: ClassicalConfig(**d)},
    "learning_curve": {"learning_curve": lambda d: LearningCurveConfig(activate=d["activate"],
                                                                       n_train=tuple(d["n_train"]))},
    "stability": {"stability": lambda d: StabilityConfig(
        activate=d["activate"], n_replicates=int(d["n_replicates"]), min_gate_margin=float(d["min_gate_margin"]),
        max_central_spread=float(d["max_central_spread"]))},
    "misspecification": {"misspecification": lambda d: MisspecificationConfig(**d)},
    "likelihood_modes": {"likelihood_modes": lambda d: LikelihoodModesConfig(**d)},
    "constraints": {"constraints": lambda d: ConstraintsConfig(**d)},
}
#: The optional sections and their defaults (a whole config may omit them).
OPTIONAL_SECTIONS: dict[str, Any] = {"likelihood_modes": LikelihoodModesConfig(), "constraints": ConstraintsConfig()}


def _build(d: dict, config_hash: Any, *, whole: bool) -> Config:
    """The :class:`Config` of the validated sections in ``d``. A section ``d`` lacks is :class:`_Undeclared` in a
    stage's config; in a ``whole`` config only the :data:`OPTIONAL_SECTIONS` may be absent (their defaults)."""
    fields: dict[str, Any] = {}
    for section, builders in _SECTIONS.items():
        for field_name, build in builders.items():
            if section in d:
                fields[field_name] = build(d[section])
            elif whole and section in OPTIONAL_SECTIONS:
                fields[field_name] = OPTIONAL_SECTIONS[section]
            else:
                fields[field_name] = _Undeclared(section)
    return Config(**fields, raw=d, config_hash=config_hash)


def _constraints_errors(d: dict) -> list[str]:
    """Cross-key checks of the optional ``constraints`` section: a data observation to constrain, and a baseline
    table that exists, holds the noise-aware answer of the same likelihood and fits a subset of the free dials."""
    c = d.get("constraints", {})
    if not c.get("activate"):
        return []
    if not any(o.get("kind") == "data" for o in d["observations"].values()):
        return ["constraints.activate = true needs an observation of kind data (it reads what the data constrain); "
                "add one or set constraints.activate: false"]
    if not c.get("baseline"):
        return []
    from nutune.constraints import read_baseline

    try:
        dials = read_baseline(c["baseline"], c["mode"])
    except (OSError, ValueError, KeyError) as err:
        return [f"constraints.baseline = {c['baseline']!r}: not a likelihood_modes.csv with a noise_aware row of "
                f"mode {c['mode']} ({err})"]
    free = [str(p["dial"]) for p in d["parameters"] if "fixed" not in p]
    missing = [n for n in dials if n not in free]
    if missing:
        return [f"constraints.baseline = {c['baseline']!r} fits {', '.join(missing)}, which are not free here; "
                "the baseline must fit a subset of this run's free dials"]
    return []


class _Undeclared:
    """A config section a stage was not given (:func:`stage_config`): any use of it raises :class:`ConfigError`
    naming the section, so a rule's ``params`` cannot silently miss a section its stage reads."""

    __slots__ = ("_section",)

    def __init__(self, section: str) -> None:
        object.__setattr__(self, "_section", section)

    def _refuse(self, *_args: Any, **_kwargs: Any) -> Any:
        section = object.__getattribute__(self, "_section")
        if section == "config_hash":
            raise ConfigError("this stage records the config's hash, but its rule does not pass it: add "
                              "`provenance=PROVENANCE` to the rule's params (workflow/rules/common.smk)")
        raise ConfigError(
            f"this stage reads config section {section!r}, but its rule does not declare it: add {section!r} to "
            "the rule's `params: config=sections(...)` (workflow/rules/*.smk), or pass the whole config"
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # protocol look-ups (pickle, copy) get the usual answer
            raise AttributeError(name)
        return self._refuse()

    __iter__ = __len__ = __getitem__ = __contains__ = __bool__ = __format__ = __str__ = __float__ = __int__ = \
        __index__ = __array__ = _refuse

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Undeclared) and other._section == self._section

    def __hash__(self) -> int:
        return hash(self._section)

    def __reduce__(self) -> tuple:
        return (_Undeclared, (object.__getattribute__(self, "_section"),))

    def __repr__(self) -> str:
        return f"<config section {object.__getattribute__(self, '_section')!r} not given to this stage>"


class Provenance:
    """What an artefact records about the run that made it and that is *not* an input of its stage: the SHA-256 of
    the whole validated config (``config_hash``, in bank attrs, model metadata and summary.md).

    A rule passes it as ``params: provenance=PROVENANCE`` (common.smk). Snakemake's params trigger compares only
    the params it can represent (builtins); this object is not one, so a change of a config key the stage does not
    read (its ``config=sections(...)`` param) does not rebuild the bank or retrain a network just because the
    recorded hash would differ: the hash says which config an artefact was *made* under.
    ``tests/test_config.py`` pins that Snakemake skips it.
    """

    __slots__ = ("config_hash",)

    def __init__(self, config_hash: str) -> None:
        self.config_hash = str(config_hash)

    def __reduce__(self) -> tuple:
        return (Provenance, (self.config_hash,))

    def __repr__(self) -> str:
        return f"Provenance(config_hash={self.config_hash!r})"


def stage_config(sections: Mapping, *, provenance: Provenance | None = None, source: str = "rule params") -> Config:
    """The typed :class:`Config` of the config sections one workflow stage is given (its rule's
    ``params: config=sections(...)``): each section validated against its part of the schema and built into its
    dataclass as :func:`load_config` builds it; every other section is *undeclared* and raises
    :class:`ConfigError` when the stage touches it. ``provenance`` supplies ``config_hash``.

    The cross-key checks need the whole config: they ran when the workflow loaded it (``common.smk``).
    """
    if not isinstance(sections, Mapping):
        raise ConfigError(f"config sections must be a mapping of section -> value, got {type(sections).__name__}")
    unknown = sorted(set(sections) - set(_SECTIONS))
    if unknown:
        raise ConfigError(f"unknown config section(s) {', '.join(unknown)}; sections: {', '.join(_SECTIONS)}")
    root = schema()
    data = _coerce_numbers(_plain(sections), root, root)
    partial = {**root, "required": [key for key in root["required"] if key in data]}
    _raise(_schema_errors(data, partial), source)
    config_hash = provenance.config_hash if provenance is not None else _Undeclared("config_hash")
    return _build(data, config_hash, whole=False)


def as_config(config: Mapping | Config) -> Config:
    """A :class:`Config` as it is (whole or a stage's sections), or :func:`load_config` of a whole mapping."""
    return config if isinstance(config, Config) else load_config(config)


def load_config(path_or_dict: str | os.PathLike | Mapping, *, check_files: bool = True, source: str = "") -> Config:
    """Load and validate a configuration (YAML file or dict) into a frozen :class:`Config`.

    Args:
        path_or_dict: path to a YAML file (``config/config.yaml``) or an already-parsed mapping.
        check_files: also require the resource files (and, for ``backend: genie``, the splines and flux file)
            to exist.
        source: where a mapping came from, for the messages (a path's name is used otherwise).

    Returns:
        The typed configuration; ``Config.raw`` is the validated dict and ``Config.config_hash`` the SHA-256 of
        its canonical JSON (sorted keys, no whitespace).

    Raises:
        ConfigError: naming the key path, the value and what is allowed.
    """
    if isinstance(path_or_dict, Mapping):
        data = path_or_dict
    else:
        path = Path(path_or_dict)
        data, source = _read_yaml(path), str(path)
        if data is None:
            raise ConfigError(f"config file {path} is empty")
    valid = validate_config_dict(data, check_files=check_files, source=source)
    return _build(valid, _canonical_hash(valid), whole=True)


def observation_table(name: str, spec: Mapping) -> str:
    """Name of the table that summarises an observation's posterior.

    ``data`` observations go to ``t2k``, a user's ``measurement`` to ``measurements``; published curves to the table named after their column
    (``microboone_tune``, ``nuwro``); builtin mocks of the ``nuwro_like`` variant to ``nuwro`` and every other
    builtin mock to ``microboone_tune`` (the GENIE model the builtin simulator stands in for).

    >>> observation_table("nuwro_like", {"kind": "builtin", "variant": "nuwro_like"})
    'nuwro'
    """
    kind = spec["kind"]
    if kind == "data":
        return "t2k"
    if kind == "measurement":
        return "measurements"
    if kind == "published":
        return str(spec["column"])
    return "nuwro" if spec.get("variant") == "nuwro_like" else "microboone_tune"
