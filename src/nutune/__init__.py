"""nutune: neutrino-interaction model tuning with simulation-based inference.

Redoes the MicroBooNE GENIE tune (four GENIE Reweight dials fitted to T2K CC0pi 2016 Analysis I) with neural
posterior estimation, as in arXiv:2510.07454 and arXiv:2603.09778, on a built-in GENIE-Reweight-exact simulator
or on real GENIE+NUISANCE jobs.

The public Python API (README "Python use"); every name is imported on first use, so ``import nutune`` stays light:

* :func:`load_posterior` (weights + metadata of a trained model) -> :class:`NutunePosterior` with ``sample``,
  ``sample_batched``, ``log_prob``; :func:`load_model` does the same from a model prefix
  (``results/model/npe_0``) or a results directory;
* :func:`covariance_throws` (data throws through the posterior) -> :class:`ThrowsResult`;
  :func:`posterior_summary` (median, 68 % interval of samples);
* :func:`load_t2k` -> :class:`T2KMeasurement` (the data, its covariances and bins); :func:`load_config`;
* :func:`simulate` (the built-in simulator) and :data:`PARAMETER_NAMES` (the dial order of every θ).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nutune._numerics import pin_numerics as _pin_numerics

__version__ = "0.1.0"
_pin_numerics()  # machine-independent CPU numerics before any torch kernel runs (nutune/_numerics.py)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from nutune.npe import NutunePosterior


def simulate(theta: "np.ndarray", *, bins: int | None = None, variant: str = "nominal",
             measurement: str = "t2k_cc0pi_2016_anaI") -> "np.ndarray":
    """Built-in simulator: physical θ (n, 4) → T2K CC0π histograms (n, 58 or 67) in 1e-38 cm²/(GeV nucleon), or
    with ``measurement="minerva_cc0pi_2d_le"`` MINERvA CC0π (p_T, p_||) histograms (n, 144) in 1e-38 cm²/GeV²/nucleon
    (``bins=None``: the measurement's default vector, 58 for T2K).

    See :func:`nutune.simulator.simulate` for the parameter order, valid ranges and physics.
    """
    from nutune.simulator import simulate as _simulate

    return _simulate(theta, bins=bins, variant=variant, measurement=measurement)


def load_model(where: str = "results", *, device: str = "cpu") -> "NutunePosterior":
    """The trained posterior of a run: ``where`` is a results directory (``results``, ``results/tiny``: every
    ensemble member under ``<where>/model/``) or one member's prefix (``results/model/npe_0``).

    Raises:
        FileNotFoundError: naming what was looked for (train it first, e.g. ``snakemake results/model/npe_0.json``).
    """
    from pathlib import Path

    from nutune.npe import load_posterior as _load

    base = Path(where)
    if base.is_dir():
        metas = sorted((base / "model").glob("npe_*.json"), key=lambda p: int(p.stem.split("_")[1]))
    else:
        metas = [base.with_suffix(".json")] if base.with_suffix(".json").is_file() else []
    if not metas:
        raise FileNotFoundError(
            f"no trained model at {where} (looked for {base / 'model' / 'npe_*.json'} and {base}.json); "
            "train one first, e.g. `snakemake results/model/npe_0.json`"
        )
    return _load([m.with_suffix(".safetensors") for m in metas], metas, device=device)


#: Public name -> module it lives in (imported on first access).
_LAZY = {
    "load_posterior": "nutune.npe",
    "NutunePosterior": "nutune.npe",
    "covariance_throws": "nutune.inference",
    "posterior_summary": "nutune.inference",
    "ThrowsResult": "nutune.inference",
    "load_t2k": "nutune.resources",
    "T2KMeasurement": "nutune.resources",
    "DataError": "nutune.resources",
    "load_config": "nutune.config",
    "ConfigError": "nutune.config",
    "PARAMETER_NAMES": "nutune.dials",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nutune' has no attribute {name!r}")


__all__ = ["simulate", "load_model", "__version__", *_LAZY]
