"""Stages of simulate.smk: the prior draws of a split and one simulated shard."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from nutune.config import as_config

__all__ = ["run_sample_parameters", "run_simulate_shard"]


def run_sample_parameters(config: Mapping, *, split: str, output: str) -> None:
    """Rule ``sample_parameters``: the uniform prior draws of one split, written to HDF5."""
    from nutune.bank import write_parameters

    write_parameters(as_config(config), split, output)


def run_simulate_shard(
    config: Mapping, *, params_path: str, split: str, shard: int, output: str, extra_inputs: list[str]
) -> None:
    """Rule ``simulate_shard``: one shard; ``extra_inputs[0]`` is the GENIE event file for ``backend: genie``."""
    from nutune.bank import simulate_shard

    events_file = extra_inputs[0] if extra_inputs else None
    workdir = Path(output).parent / f".work_{Path(output).stem}" if events_file else None
    simulate_shard(as_config(config), params_path, split, shard, output, workdir=workdir, events_file=events_file)
