"""Glue between the Snakemake rules and the nutune library: one function per workflow step.

Every ``workflow/scripts/<rule>.py`` unpacks ``snakemake.input/params/output/log`` and calls exactly one function of
this module (or of the library directly). The functions here take plain paths and the config mapping, so they are
testable without Snakemake. Importing this module is cheap (no torch, no matplotlib): ``common.smk`` imports it at
parse time for the figure list and the observation-to-table mapping.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

__all__ = [
    "FIGURES",
    "SLICE_FIGURES",
    "observation_table",
    "log_to",
]

#: Every figure of the paper (file stem -> whether it needs a T2K data observation). ``slice_comparison`` is the
#: 3x3 panel; its rule also writes the nine single-slice figures in :data:`SLICE_FIGURES`.
FIGURES: dict[str, bool] = {
    "test_posterior_corner": False,
    "residual_corner": False,
    "true_vs_predicted": False,
    "pulls": False,
    "coverage": False,
    "sbc_ranks": False,
    "loss_curve": False,
    "t2k_throws_variation": True,
    "parameter_summary": True,
    "t2k_posterior_corner": True,
    "slice_comparison": True,
}
#: The nine per-slice comparison figures (cos theta slices 0..8 of T2K CC0pi Analysis I).
SLICE_FIGURES: list[str] = [f"slice_comparison_{index}" for index in range(9)]

_log = logging.getLogger("nutune")


def observation_table(name: str, spec: Mapping) -> str:
    """Name of the table that summarises an observation's posterior.

    ``data`` observations go to ``t2k``; published curves to the table named after their column
    (``microboone_tune``, ``nuwro``); builtin mocks of the ``nuwro_like`` variant to ``nuwro`` and every other
    builtin mock to ``microboone_tune`` (the GENIE model the builtin simulator stands in for).

    >>> observation_table("nuwro_like", {"kind": "builtin", "variant": "nuwro_like"})
    'nuwro'
    """
    kind = spec["kind"]
    if kind == "data":
        return "t2k"
    if kind == "published":
        return str(spec["column"])
    return "nuwro" if spec.get("variant") == "nuwro_like" else "microboone_tune"


@contextlib.contextmanager
def log_to(log_path: str | Path) -> Iterator[logging.Logger]:
    """Route the ``logging`` module, warnings and stderr of one workflow job into its log file.

    An exception raised inside the block is written to the log (with its traceback) and re-raised, so Snakemake
    reports the job as failed and names this log file.
    """
    path = Path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", buffering=1) as stream:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
        old_stderr = sys.stderr
        sys.stderr = stream
        try:
            yield _log
        except BaseException:
            _log.exception("job failed; see the traceback above")
            raise
        finally:
            sys.stderr = old_stderr
            root.removeHandler(handler)
            logging.captureWarnings(False)
