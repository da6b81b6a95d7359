"""Stage of genie.smk's ``genie_smoke_check``: the once-per-events-file MEC smoke check
(the check itself: :func:`nutune.genie.smoke_check`, which the genie backend's shards also run when no report
matches)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nutune.config import as_config

__all__ = ["run_genie_smoke_check"]


def run_genie_smoke_check(config: Mapping[str, Any], *, events_file: str, workdir: str,
                          report: str) -> dict[str, Any]:
    """Rule ``genie_smoke_check``: NormCCMEC = 2 (dial) must change the NUISANCE histogram of ``events_file``;
    scratch files under ``workdir``, the JSON ``report``."""
    from nutune.genie import smoke_check

    return smoke_check(as_config(config), events_file=events_file, workdir=workdir, report=report)
