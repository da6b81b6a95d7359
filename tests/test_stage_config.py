"""A stage reads the config sections its rule declares, typed, and nothing else (issue 17 item 3).

* ``stage_config`` builds exactly the dataclasses ``load_config`` builds, and refuses a section it was not given;
* every categorical key's ``Literal`` type is the schema's enum (the schema is the one home of allowed values);
* no workflow script reads ``snakemake.config``; each passes its rule's ``params.config`` through ``stage_config``;
* ``Provenance`` (the whole config's hash) is recorded but no Snakemake rerun trigger.
"""

from __future__ import annotations

import pickle
import typing
from dataclasses import fields, is_dataclass
from pathlib import Path

import pytest
import yaml

from nutune import config as config_module
from nutune.config import ConfigError, Provenance, allowed_values, load_config, schema, stage_config

REPO = Path(__file__).resolve().parents[1]
RAW = yaml.safe_load((REPO / "config" / "test_config.yaml").read_text())


def test_stage_config_is_load_config_restricted_to_its_sections() -> None:
    whole = load_config(RAW)
    stage = stage_config({key: RAW[key] for key in ("seed", "npe", "parameters", "simulator")},
                         provenance=Provenance(whole.config_hash))
    for name in ("seed", "npe", "parameters", "fixed_parameters", "simulator", "config_hash", "dial_names"):
        assert getattr(stage, name) == getattr(whole, name)
    assert stage.parameter_space.names == whole.parameter_space.names
    with pytest.raises(ConfigError, match=r"reads config section 'chi2'.*config=sections"):
        _ = stage.chi2.modes
    with pytest.raises(ConfigError, match="reads config section 'observations'"):
        list(stage.observations)
    with pytest.raises(ConfigError, match="provenance=PROVENANCE"):
        _ = stage_config({"seed": 1}).config_hash[:8]
    assert pickle.loads(pickle.dumps(stage)).npe == stage.npe  # an undeclared section survives a pickle round trip


def test_stage_config_validates_its_sections() -> None:
    with pytest.raises(ConfigError, match=r"npe.noise = 'gaussian' is not allowed; allowed: 'none', 'covariance'"):
        stage_config({"npe": {**RAW["npe"], "noise": "gaussian"}})
    with pytest.raises(ConfigError, match="unknown config section"):
        stage_config({"nep": RAW["npe"]})
    # one observation of the section is a valid section (observe, throws, misspecification get their own only)
    assert list(stage_config({"observations": {"t2k": RAW["observations"]["t2k"]}}).observations) == ["t2k"]


def _enum_keys(node: dict, root: dict, path: tuple[str, ...] = ()):
    """(section, key) of every categorical key of the config sections in the schema."""
    node = config_module._resolve(node, root)
    for key, child in node.get("properties", {}).items():
        child = config_module._resolve(child, root)
        items = config_module._resolve(child.get("items", {}), root)
        if "enum" in child or "enum" in items:
            yield (*path, key)
        elif child.get("type") == "object" or "additionalProperties" in child:
            sub = child.get("additionalProperties") if "properties" not in child else child
            if isinstance(sub, dict):
                yield from _enum_keys(sub, root, (*path, key))


def _literal_values(annotation) -> tuple | None:
    for arg in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(arg) is typing.Literal:
            return typing.get_args(arg)
        inner = _literal_values(arg) if typing.get_args(arg) and arg is not annotation else None
        if inner:
            return inner
    return None


def test_every_enumerated_key_is_a_literal_read_from_the_schema() -> None:
    root = schema()
    whole = load_config(RAW)
    keys = list(_enum_keys(root, root))
    assert ("npe", "noise") in keys and ("chi2", "modes") in keys and ("observations", "variant") in keys
    for path in keys:
        section, *rest = path
        owner = type(next(iter(whole.observations.values()))) if section == "observations" else \
            type(getattr(whole, section))
        node = owner
        for part in rest[:-1]:
            node = typing.get_type_hints(node)[part]
        assert is_dataclass(node), path
        hint = typing.get_type_hints(node)[rest[-1]]
        assert _literal_values(hint) == allowed_values(*path), f"{'.'.join(path)}: {hint}"


def test_module_constants_are_the_schemas() -> None:
    from nutune import chi2, measurements, noise, resources
    from nutune.genie import guards
    from nutune.npe import spec

    assert chi2.CHI2_MODES == noise.NOISE_MODELS == allowed_values("chi2", "modes")
    assert allowed_values("inference", "throw_components") == resources.COV_COMPONENTS
    assert allowed_values("simulator", "bins") == guards.ALLOWED_BINS  # the union over nutune.measurements
    assert measurements.get("t2k_cc0pi_2016_anaI").bin_choices == resources.VALID_BINS
    assert allowed_values("observations", "column") == resources.PUBLISHED_COLUMNS
    assert allowed_values("observations", "variant") == config_module.OBSERVATION_VARIANTS
    assert allowed_values("npe", "noise") == spec.NOISE_MODES


def test_scripts_read_only_their_params() -> None:
    for script in sorted((REPO / "workflow" / "scripts").glob("*.py")):
        text = script.read_text()
        assert "snakemake.config" not in text, f"{script.name} reads the whole config; declare its sections"
        if "params.config" in text:
            assert "stage_config(snakemake.params.config" in text, script.name
    names = [f.name for f in fields(config_module.Config)]
    assert "raw" in names and "config_hash" in names


def test_provenance_is_recorded_but_no_rerun_trigger() -> None:
    from snakemake.persistence import UNREPRESENTABLE, PersistenceBase

    provenance = Provenance("ab" * 32)
    assert pickle.loads(pickle.dumps(provenance)).config_hash == "ab" * 32
    assert PersistenceBase._serialize_param_builtin(None, provenance) is UNREPRESENTABLE
    assert PersistenceBase._serialize_param_builtin(None, {"chi2": {"modes": ["FULL"]}}) == "{'chi2': {'modes': ['FULL']}}"
