"""GENIE+NUISANCE simulator backend (``simulator.backend: genie``): cards, runners, uproot readers, guards.

The bank stage calls :func:`simulate_points` (same shard interface as the built-in simulator). Everything that
touches GENIE or NUISANCE lives in this package; dial conversions come from :mod:`nutune.dials`.
See ``docs/cluster.md`` for running it on a cluster.
"""

from __future__ import annotations

from .cards import (
    SAMPLE_NAME,
    NuisanceCard,
    gevgen_command,
    gevgen_output,
    nuisance_card,
    nuiscomp_command,
    parse_card,
    prepare_genie_command,
)
from .guards import (
    GenieBackendError,
    GenieCardError,
    GenieHistogramError,
    GenieLogError,
    GenieToolError,
    InertDialError,
    check_card_states,
    check_dial_response,
    check_histogram,
    check_nuiscomp_log,
)
from .readers import (
    read_nuisance_mc,
    read_t2k_release,
    read_th1,
    write_flux_root,
    write_nuisance_output,
)
from .runner import evaluate_point, generate_events, simulate_points, smoke_check, smoke_report_path

__all__ = [
    "SAMPLE_NAME",
    "NuisanceCard",
    "gevgen_command",
    "gevgen_output",
    "nuiscomp_command",
    "nuisance_card",
    "parse_card",
    "prepare_genie_command",
    "GenieBackendError",
    "GenieCardError",
    "GenieHistogramError",
    "GenieLogError",
    "GenieToolError",
    "InertDialError",
    "check_card_states",
    "check_dial_response",
    "check_histogram",
    "check_nuiscomp_log",
    "read_nuisance_mc",
    "read_t2k_release",
    "read_th1",
    "write_flux_root",
    "write_nuisance_output",
    "evaluate_point",
    "generate_events",
    "simulate_points",
    "smoke_check",
    "smoke_report_path",
]
