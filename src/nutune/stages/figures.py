"""Stage of figures.smk: draw one registered figure."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from nutune.config import as_config

__all__ = ["run_figure"]

_log = logging.getLogger("nutune")


def run_figure(figure: str, *, config: Mapping, inputs: Mapping, outputs: Mapping) -> None:
    """Rules ``figure`` and ``figure_slice_comparison``: draw one registered figure
    (:func:`nutune.figure_registry.draw`)."""
    from nutune.figure_registry import draw

    draw(figure, as_config(config), inputs, outputs)
    _log.info("drew %s -> %s, %s", figure, outputs["pdf"], outputs["png"])
