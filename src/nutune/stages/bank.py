"""Stage of bank.smk: check and merge the shards of one split."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from nutune.config import as_config

__all__ = ["run_merge_bank"]

_log = logging.getLogger("nutune")


def run_merge_bank(config: Mapping, *, params_path: str, shard_paths: list[str], split: str, output: str) -> None:
    """Rule ``merge_bank``: check and merge the shards of one split."""
    from nutune.bank import merge_shards

    merge_shards(as_config(config), shard_paths, params_path, output)
    _log.info("merged %d %s shards into %s", len(shard_paths), split, output)
