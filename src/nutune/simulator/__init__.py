"""Built-in simulator: a fast GENIE-Reweight-exact stand-in for GENIE+NUISANCE on T2K CC0π Analysis I and MINERvA
CC0π 2D (p_T, p_||) LE (``measurement``; one θ gives both, see :func:`simulate`).

Physics (see ``docs/physics.md`` §2 and the submodules): Llewellyn Smith CCQE on a ¹²C Fermi gas × BeRPA,
Valencia-like 2p2h and GENIE's Empirical-MEC shape, π-absorption background, NUISANCE-exact per-CH-nucleon
normalisation in the 67/58-bin T2K Analysis I binning. The four GENIE dials act exactly as GENIE Reweight's
calculators (physics.md §1.8), so the histogram is H(θ) = Q(M_A) + κ·D(M_A) + N·[(1 − x)·V + x·E] + B.

Public API:

* :func:`simulate` — physical θ (n, 4) = (M_A [GeV], N, x, s) → (n, bins) in 1e-38 cm²/(GeV nucleon) (T2K) or
  1e-38 cm²/(GeV² nucleon) (MINERvA, ``measurement="minerva_cc0pi_2d_le"``, 144 bins).
* :func:`get_templates` — the cached :class:`Templates` (``evaluate``, ``evaluate_torch``).
* :data:`VALID_RANGES` — inclusive physical bounds per parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nutune.simulator.binning import (
    MINERVA_MEASUREMENT,
    SIMULATED_MEASUREMENTS,
    T2K_MEASUREMENT,
    InvalidBinsError,
    check_bins,
    check_measurement,
)
from nutune.simulator.templates import (
    MA_GRID,
    VALID_RANGES,
    InvalidParameterError,
    Templates,
    default_cache_dir,
    get_templates,
)
from nutune.simulator.variants import VARIANTS, UnknownVariantError, get_physics

__all__ = [
    "simulate",
    "get_templates",
    "Templates",
    "VALID_RANGES",
    "VARIANTS",
    "MA_GRID",
    "DEFAULT_SAMPLE_SEED",
    "DEFAULT_N_EVENTS",
    "InvalidParameterError",
    "InvalidBinsError",
    "UnknownVariantError",
    "default_cache_dir",
    "T2K_MEASUREMENT",
    "MINERVA_MEASUREMENT",
    "SIMULATED_MEASUREMENTS",
]

#: Defaults of ``simulator.builtin`` in config/config.yaml.
DEFAULT_SAMPLE_SEED = 20240601
DEFAULT_N_EVENTS = 1_000_000


def simulate(theta: Any, *, bins: int | None = None, variant: str = "nominal", names: Any = None,
             measurement: str | Sequence[str] = T2K_MEASUREMENT) -> np.ndarray:
    """Built-in simulator: physical θ → histograms of ``measurement`` (default T2K CC0π Analysis I).

    Args:
        theta: (n, 4) or (4,) physical values in ``nutune.dials.PARAMETER_NAMES`` order: M_A [GeV] in [0.5, 1.5],
            MEC normalisation N ≥ 0 (≤ 10), MEC shape x in [0, 1] (0 = Valencia, 1 = Empirical), RPA strength s
            in [0, 2] (1 = full Nieves RPA, 0 = off); see :data:`VALID_RANGES`.
        bins: T2K: 58 (momentum-overflow bins masked, the papers' choice; also ``None``, the default) or 67;
            MINERvA: 144 (or ``None``).
        variant: ``"nominal"`` or ``"nuwro_like"``.
        names: The dials of θ's columns (default ``PARAMETER_NAMES``); any subset of
            ``nutune.dials.BUILTIN_DIALS`` (MaCCRES, MvCCRES [GeV], the MFP_pi and fate scales, ...), the others at
            nominal.
        measurement: ``"t2k_cc0pi_2016_anaI"`` (default) or ``"minerva_cc0pi_2d_le"``: the flux, binning and
            signal cuts (and the templates' own base sample and cache file); the same θ, dials and physics. A list
            of names (or the joint name ``"t2k_cc0pi_2016_anaI+minerva_cc0pi_2d_le"``) gives the joint measurement
            of :mod:`nutune.measurements.joint`: each part's histograms at the same θ, concatenated in list order
            (``bins`` then the joint total, e.g. 202 = 58 + 144, or None for each part's default).

    Returns:
        (n, bins) float64. T2K: d²σ/(dp_μ dcosθ_μ) in 1e-38 cm²/(GeV/c)/nucleon, T2K bin order. MINERvA:
        d²σ/(dp_T dp_||) in 1e-38 cm²/GeV²/nucleon, the 144 populated bins in the release's order (the data vector
        of ``nutune.measurements.get("minerva_cc0pi_2d_le").load()``). A (d,) input gives (1, bins).

    Raises:
        InvalidParameterError: NaN/inf or out-of-range θ (the message names the parameter and the range).
        InvalidBinsError, UnknownVariantError: bad ``bins`` / ``variant`` / ``measurement``.

    The templates (default seed and 1e6 events per channel) are built once per measurement, cached on disk under
    ``$NUTUNE_CACHE`` (default ``~/.cache/nutune``) and memoised in the process.
    """
    parts = tuple(measurement) if isinstance(measurement, (list, tuple)) else tuple(str(measurement).split("+"))
    if len(parts) > 1:
        from nutune.measurements import part_bins

        per_part = part_bins(parts, bins)
        return np.hstack([simulate(theta, bins=b, variant=variant, names=names, measurement=part)
                          for part, b in zip(parts, per_part, strict=True)])
    measurement = parts[0]
    check_measurement(measurement)
    if measurement == T2K_MEASUREMENT:
        check_bins(58 if bins is None else bins)
    get_physics(variant)
    templates = get_templates(variant, sample_seed=DEFAULT_SAMPLE_SEED, n_events=DEFAULT_N_EVENTS,
                              measurement=measurement)
    return templates.evaluate(theta, bins=bins, names=names)
