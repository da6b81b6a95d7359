"""nutune: neutrino-interaction model tuning with simulation-based inference.

Redoes the MicroBooNE GENIE tune (four GENIE Reweight dials fitted to T2K CC0pi 2016 Analysis I) with neural
posterior estimation, as in arXiv:2510.07454 and arXiv:2603.09778, on a built-in GENIE-Reweight-exact simulator
or on real GENIE+NUISANCE jobs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nutune._numerics import pin_numerics as _pin_numerics

__version__ = "0.1.0"
_pin_numerics()  # machine-independent CPU numerics before any torch kernel runs (nutune/_numerics.py)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


def simulate(theta: "np.ndarray", *, bins: int = 58, variant: str = "nominal") -> "np.ndarray":
    """Built-in simulator: physical θ (n, 4) → T2K CC0π histograms (n, bins) in 1e-38 cm²/(GeV nucleon).

    See :func:`nutune.simulator.simulate` for the parameter order, valid ranges and physics.
    """
    from nutune.simulator import simulate as _simulate

    return _simulate(theta, bins=bins, variant=variant)


__all__ = ["simulate", "__version__"]
