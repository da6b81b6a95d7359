"""Stage of classical.smk: iminuit χ² fits to the T2K data in every χ² mode (the fits: :mod:`nutune.classical`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nutune.config import as_config
from nutune.io import derive_seed

__all__ = ["run_classical_fit"]


def run_classical_fit(config: Mapping[str, Any], *, table: str, figure: str, sbi_t2k: str | None = None,
                      n_starts: int = 6) -> list:
    """Rule ``classical_fit``: :func:`nutune.classical.run_classical` with the configured built-in simulator, prior
    box, χ² modes and seed ``derive_seed(cfg.seed, "classical")``; ``sbi_t2k``: ``results/tables/t2k.csv`` if any."""
    from nutune.classical import run_classical
    from nutune.measurements import load_data
    from nutune.reference import builtin_simulator

    cfg = as_config(config)
    return run_classical(builtin_simulator(cfg), load_data(cfg), cfg.prior_low, cfg.prior_high,
                         seed=derive_seed(cfg.seed, "classical"), out_csv=table, out_figure=figure,
                         sbi_t2k_csv=sbi_t2k, modes=cfg.chi2.modes, n_starts=n_starts,
                         space=cfg.parameter_space)
