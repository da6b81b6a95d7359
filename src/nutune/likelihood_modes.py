"""Which likelihood for the T2K tune: FULL, DIAG, SHAPE and NORMSHAPE side by side (issue 13, item 5).

Three methods, each in the four χ² modes of :mod:`nutune.chi2`:

``classical``
    The χ² minimum in that mode (:mod:`nutune.classical`, Minuit with Minos errors).
``noise_aware``
    A noise-aware NPE trained with that mode's noise model (:class:`nutune.noise.LikelihoodNoise`), so that its
    posterior for the data is prior × exp(−½ χ²_mode); median and the 16 / 84 % quantiles of its draws
    (:func:`noise_aware_row`). The FULL network is the reference comparison's (``results/reference/model``); the
    others come from rule ``likelihood_npe`` with the *same* seed, settings and bank, so the modes differ only in
    the noise model. With ``likelihood_modes.n_ensemble`` = K > 1 each of them is an ensemble of the members
    :func:`mode_members` (0 … K − 1), whose posterior is the equal-weight mixture of :class:`nutune.npe.NutunePosterior`
    (the mechanism of ``npe.n_ensemble``); the seed-stability target retrains the members of its replicates
    (:mod:`nutune.stability`).
``throws``
    The papers' recipe with the noise-free main network, as ``t2k.csv`` reports it: the central value is the
    noise-free posterior median of the unthrown data (the same in every mode), the 68 % interval that of one
    posterior draw per throw, the throws drawn from the mode's noise model. The FULL row reproduces the committed
    ``results/posteriors/t2k.npz`` median and ``results/throws/t2k.npz`` intervals (same seeds, same sampler:
    :func:`mode_throws` reproduces :func:`nutune.inference.covariance_throws`).

Each noise-aware row also carries its network's calibration (``max_coverage_error``: marginal coverage on test rows
noised with the mode's own model). Per row the table gives the central values and 68 % intervals per dial, the χ² of the data at the central value
in every mode (and in the row's own mode with its ndf and p-value), the predicted / data normalisation over the
58 bins (Σ prediction·area / Σ data·area, Peelle's puzzle shows here), and whether a central value sits at a
prior-box edge (within :data:`EDGE_FRACTION` of the box width).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nutune.dials import PARAMETER_NAMES
from nutune.io import derive_seed, rng
from nutune.noise import NOISE_MODELS, LikelihoodNoise

__all__ = ["CHOSEN", "EDGE_FRACTION", "METHODS", "METHOD_LABELS", "mode_coverage_error", "TABLE_COLUMNS", "table_columns", "noise_model", "train_mode_npe",
           "mode_members", "mode_throws", "answer_row", "noise_aware_row", "likelihood_modes_table"]

logger = logging.getLogger(__name__)

#: The three methods of the table, in row order.
METHODS: tuple[str, ...] = ("classical", "noise_aware", "throws")
#: Row labels of the methods (figure).
METHOD_LABELS: dict[str, str] = {"classical": "classical fit", "noise_aware": "noise-aware NPE",
                                 "throws": "papers' throws"}
#: The (method, mode) nutune reports as *the* T2K tune (README "Which likelihood" gives the reasons and numbers).
CHOSEN: tuple[str, str] = ("noise_aware", "NORMSHAPE")
#: A central value closer than this fraction of the box width to an edge counts as "at the edge".
EDGE_FRACTION = 0.01


def noise_model(cfg: Any, mode: str, measurement: Any | None = None) -> LikelihoodNoise:
    """The noise model of ``mode`` for the configured measurement with C = its ``npe.noise_components``.

    SHAPE removes the flux-norm component when ``norm`` is among the components (as ``chi2_all_modes``); a joint
    measurement gets each experiment's own SHAPE / NORMSHAPE model (:class:`nutune.noise.LikelihoodNoise`, ``parts``),
    as its χ² sums each experiment's.
    """
    from nutune.measurements import load_data

    m = load_data(cfg) if measurement is None else measurement
    comps = tuple(cfg.npe.noise_components)
    cov_norm = m.cov_norm if (mode == "SHAPE" and "norm" in comps) else None
    return LikelihoodNoise.for_mode(mode, m.values, m.cov(comps), areas=m.areas, cov_norm=cov_norm,
                                    parts=getattr(m, "parts", None))


def mode_members(n_ensemble: int, replicate: int = 0) -> list[int]:
    """The member indices of one likelihood-mode network: ``replicate`` · K … (``replicate`` + 1) · K − 1 for
    K = ``n_ensemble`` (``likelihood_modes.n_ensemble``).

    Replicate 0 (0 … K − 1) is the ``likelihood_modes`` table's network; replicate k ≥ 1 of the seed-stability
    target retrains the next K, exactly as the paper network's replicates do
    (:func:`nutune.stability.replicate_members`). Member m is trained by :func:`train_mode_npe` with ``member=m``.
    """
    from nutune.stability import replicate_members

    return replicate_members(replicate, n_ensemble)


def train_mode_npe(cfg: Any, mode: str, theta: np.ndarray, x: np.ndarray, *, max_num_epochs: int | None = None,
                   member: int = 0):
    """Train member ``member`` of the noise-aware NPE of χ² ``mode`` on the bank (theta, x).

    The global seed is the reference network's, ``derive_seed(cfg.seed, "reference_npe")``; member m then has torch
    seed ``derive_seed(that, "npe", m)`` and its own training-noise draws ``rng(that, "npe", m, "noise")``
    (:func:`nutune.npe.train_npe`), so member 0 is the network of a one-member mode and FULL member 0 with
    ``max_num_epochs`` None is the reference comparison's network (rule ``reference_npe``), bit for bit.
    """
    from nutune.measurements import load_data
    from nutune.npe import train_npe
    from nutune.resources import data_hash

    if mode not in NOISE_MODELS:
        raise ValueError(f"likelihood mode {mode!r} is not allowed; allowed: {', '.join(NOISE_MODELS)}")
    m = load_data(cfg)
    model = noise_model(cfg, mode, m)
    return train_npe(theta, x, prior_low=cfg.prior_low, prior_high=cfg.prior_high,
                     settings=cfg.npe.noise_aware(max_num_epochs), seed=derive_seed(cfg.seed, "reference_npe"),
                     member=int(member), noise_cov=m.cov(cfg.npe.noise_components),
                     noise_model=None if mode == "FULL" else model,
                     provenance={"config_hash": cfg.config_hash, "data_hash": data_hash()}, dial_names=cfg.dial_names)


def mode_throws(posterior: Any, model: LikelihoodNoise, n_throws: int, seed: int, *,
                n_median_samples: int = 100, batch_size: int = 100) -> np.ndarray:
    """The papers' throws in one mode: x_k ~ ``model`` around the data, one posterior draw each → (n_throws, 4).

    Same generators as :func:`nutune.inference.covariance_throws` (``rng(seed, "throws", "x")``, draw seeds
    ``derive_seed(seed, "throws", "draw", batch)``), so FULL reproduces its samples.
    """
    if n_throws < 2:
        raise ValueError(f"need at least 2 throws, got {n_throws}")
    means = np.broadcast_to(model.data, (int(n_throws), model.data.size))
    x_throws = model.sample(rng(seed, "throws", "x"), means, method="eigh")
    parts = []
    for batch, lo in enumerate(range(0, n_throws, batch_size)):
        hi = min(lo + batch_size, n_throws)
        draws = posterior.sample_batched(max(1, n_median_samples), x_throws[lo:hi],
                                         seed=derive_seed(seed, "throws", "draw", batch))
        parts.append(draws[:, 0, :])
    return np.concatenate(parts)




def table_columns(names: Sequence[str] = PARAMETER_NAMES) -> tuple[str, ...]:
    """Columns of ``likelihood_modes.csv`` for the free dials ``names``."""
    per_dial = tuple(f"{d}{suffix}" for d in names for suffix in ("", "_minus", "_plus", "_at_edge"))
    return ("method", "mode", *per_dial, "chi2", "ndf", "p_value",
            *(f"chi2_{m}" for m in NOISE_MODELS), "norm_ratio", "at_edge", "n_draws", "epochs",
            "max_coverage_error", "n_coverage_rows", "note")


#: Columns of ``results/tables/likelihood_modes.csv`` (one row per method × mode).
TABLE_COLUMNS: tuple[str, ...] = table_columns()


def answer_row(cfg: Any, method: str, mode: str, central: np.ndarray, minus: np.ndarray, plus: np.ndarray, *,
               measurement: Any, n_draws: int | None = None, epochs: int | None = None,
               note: str = "") -> dict[str, Any]:
    """One table row: the answer (central, minus, plus) of ``method`` in ``mode`` and what the data says of it.

    χ² of the builtin prediction at ``central`` in every mode; ``chi2`` / ``ndf`` / ``p_value`` in the row's own
    mode with ndf = bins − the free dials (− 1 more per experiment for SHAPE's normalisation), as in the classical
    table, so the rows compare; ``norm_ratio`` = Σ pred·area / Σ data·area (over every bin: for a joint
    measurement a sum of different units, as in the classical table); ``<dial>_at_edge`` when the central value is
    within :data:`EDGE_FRACTION` of the box width from an edge.
    """
    from scipy.stats import chi2 as chi2_dist

    from nutune.chi2 import chi2_all_modes, shape_normalisations
    from nutune.forward import builtin_prediction

    central = np.asarray(central, dtype=float)
    low, high = np.asarray(cfg.prior_low, dtype=float), np.asarray(cfg.prior_high, dtype=float)
    prediction = builtin_prediction(cfg, central[None, :])[0]
    chi2s = chi2_all_modes(prediction, measurement, NOISE_MODELS)
    names = cfg.dial_names
    ndf = measurement.bins - len(names) - (shape_normalisations(getattr(measurement, "parts", None))
                                           if mode == "SHAPE" else 0)
    edge = (np.minimum(central - low, high - central) <= EDGE_FRACTION * (high - low))
    row: dict[str, Any] = {"method": method, "mode": mode}
    for i, name in enumerate(names):
        row.update({name: float(central[i]), f"{name}_minus": float(minus[i]), f"{name}_plus": float(plus[i]),
                    f"{name}_at_edge": bool(edge[i])})
    row.update({"chi2": float(chi2s[mode]), "ndf": int(ndf), "p_value": float(chi2_dist.sf(chi2s[mode], ndf)),
                **{f"chi2_{m}": float(v) for m, v in chi2s.items()},
                "norm_ratio": float(prediction @ measurement.areas / (measurement.values @ measurement.areas)),
                "at_edge": ";".join(n for n, e in zip(names, edge, strict=True) if e),
                "n_draws": n_draws, "epochs": epochs, "note": note})
    return row


def mode_coverage_error(posterior: Any, model: LikelihoodNoise, theta: np.ndarray, x: np.ndarray, *, n_rows: int,
                        n_samples: int, seed: int) -> tuple[float, int]:
    """Calibration of a mode's noise-aware network: max over dials and 21 levels of |empirical − nominal| marginal
    coverage on the first ``n_rows`` test rows, their histograms noised with the mode's own model.

    Returns ``(max error, rows used)``.
    """
    from nutune.diagnostics import marginal_coverage

    rows = min(int(n_rows), len(theta))
    if rows < 2:
        raise ValueError(f"the calibration check needs at least 2 test rows, got {rows}")
    noisy = model.sample(rng(seed, "coverage", "x"), np.asarray(x[:rows], dtype=float), method="eigh")
    draws = posterior.sample_batched(int(n_samples), noisy, seed=derive_seed(seed, "coverage", "draw"))
    levels = np.linspace(0.0, 1.0, 21)
    return float(np.max(np.abs(marginal_coverage(draws, theta[:rows], levels) - levels[None, :]))), rows


def _quantile_answer(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p16, p50, p84 = np.percentile(np.asarray(samples, dtype=float), [16, 50, 84], axis=0)
    return p50, p50 - p16, p84 - p50


def noise_aware_row(cfg: Any, mode: str, posterior: Any, *, measurement: Any, epoch_cap: int | None = None,
                    test_bank: tuple[np.ndarray, np.ndarray] | None = None,
                    n_coverage_rows: int = 500) -> dict[str, Any]:
    """The ``noise_aware`` row of χ² ``mode`` for the data of ``measurement`` (:func:`likelihood_modes_table`).

    ``inference.num_posterior_samples`` draws of ``posterior`` (one network or the equal-weight mixture of an
    ensemble, :class:`nutune.npe.NutunePosterior`) for the data with seed ``derive_seed(seed, "likelihood_modes",
    mode, "sample")``, reported as :func:`answer_row` of the median and 16 / 84 % quantiles; with ``test_bank``
    the calibration of :func:`mode_coverage_error` (seed ``derive_seed(seed, "likelihood_modes", mode,
    "coverage")``). The seed-stability replicates evaluate their retrained networks with exactly this function.
    ``epochs``: the training epochs (the largest over an ensemble's members, each one's in the note).
    """
    m = measurement
    n_samples = int(cfg.inference.num_posterior_samples)
    samples = posterior.sample(n_samples, m.values, seed=derive_seed(cfg.seed, "likelihood_modes", mode, "sample"))
    epochs = [int(meta["results"]["epochs"]) for meta in posterior.metadata]
    capped = epoch_cap is not None and mode != "FULL"
    note = "posterior median, 16/84 % quantiles" + (f"; epochs capped at {epoch_cap}" if capped else "")
    if len(epochs) > 1:
        note += f"; equal-weight mixture of {len(epochs)} networks (epochs {', '.join(map(str, epochs))})"
    row = answer_row(cfg, "noise_aware", mode, *_quantile_answer(samples), measurement=m, n_draws=n_samples,
                     epochs=max(epochs), note=note)
    if test_bank is not None:
        row["max_coverage_error"], row["n_coverage_rows"] = mode_coverage_error(
            posterior, noise_model(cfg, mode, m), *test_bank, n_rows=n_coverage_rows,
            n_samples=int(cfg.diagnostics.num_posterior_samples),
            seed=derive_seed(cfg.seed, "likelihood_modes", mode, "coverage"))
    return row


def likelihood_modes_table(
    cfg: Any,
    *,
    classical_rows: Sequence[Mapping[str, Any]],
    noise_aware: Mapping[str, Any],
    noise_free: Any,
    modes: Sequence[str] = NOISE_MODELS,
    epoch_cap: int | None = None,
    test_bank: tuple[np.ndarray, np.ndarray] | None = None,
    n_coverage_rows: int = 500,
) -> list[dict[str, Any]]:
    """The rows of ``likelihood_modes.csv`` for the T2K data (module docstring), in METHODS × ``modes`` order.

    Args:
        cfg: the configuration (seed, observations, ``inference`` sizes, prior box).
        classical_rows: the rows of ``classical_fit.csv`` (:func:`nutune.classical.fit_table`), one per mode.
        noise_aware: ``{mode: NutunePosterior}`` of the noise-aware networks (FULL = the reference network; an
            ensemble's posterior is its members' equal-weight mixture).
        noise_free: the main (noise-free) posterior, for the throws.
        modes: the χ² modes (rows) to compare.
        epoch_cap: the ``likelihood_modes.max_num_epochs`` the non-FULL networks were trained with (a note).
        test_bank: (theta, x) of the disjoint test bank: with it, each noise-aware row gets its calibration
            (:func:`mode_coverage_error` on ``n_coverage_rows`` rows, ``diagnostics.num_posterior_samples`` draws).

    Raises:
        ValueError: a mode without classical fit or noise-aware network, or an unknown mode.
    """
    from nutune.measurements import load_data

    m = load_data(cfg)
    by_mode = {str(r["mode"]): r for r in classical_rows}
    unknown = [mode for mode in modes if mode not in NOISE_MODELS]
    missing = [mode for mode in modes if mode not in by_mode or mode not in noise_aware]
    if unknown or missing:
        raise ValueError(f"likelihood_modes: unknown modes {unknown}, modes without classical fit or noise-aware "
                         f"network {missing}; classical has {sorted(by_mode)}, networks {sorted(noise_aware)}")
    rows = []
    for mode in modes:
        fit = by_mode[mode]
        central = np.array([float(fit[n]) for n in cfg.dial_names])
        minus = np.array([-float(fit[f"{n}_minos_lower"]) for n in cfg.dial_names])
        plus = np.array([float(fit[f"{n}_minos_upper"]) for n in cfg.dial_names])
        rows.append(answer_row(cfg, "classical", mode, central, minus, plus, measurement=m,
                               note="Minuit minimum, Minos errors"))
    n_samples, n_throws = int(cfg.inference.num_posterior_samples), int(cfg.inference.n_throws)
    for mode in modes:
        rows.append(noise_aware_row(cfg, mode, noise_aware[mode], measurement=m, epoch_cap=epoch_cap,
                                    test_bank=test_bank, n_coverage_rows=n_coverage_rows))
    data_samples = noise_free.sample(n_samples, m.values, seed=derive_seed(cfg.seed, "infer", "t2k"))
    central = np.median(data_samples, axis=0)  # t2k.csv's central value: the noise-free posterior median
    for mode in modes:
        samples = mode_throws(noise_free, noise_model(cfg, mode, m), n_throws, cfg.seed)
        _, minus, plus = _quantile_answer(samples)
        note = ("papers' throws: noise-free posterior median of the data, 68 % interval of one draw per throw "
                f"(throws' own median {np.array2string(np.median(samples, axis=0), precision=4)})"
                + ("; = results/posteriors/t2k.npz median + results/throws/t2k.npz" if mode == "FULL" else ""))
        rows.append(answer_row(cfg, "throws", mode, central, minus, plus, measurement=m, n_draws=n_throws,
                               note=note))
    return rows
