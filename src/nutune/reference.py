"""Exact reference posteriors with emcee and the C2ST comparison against neural posterior estimation.

For an observation x the reference posterior is the *exact* Bayesian posterior of the Gaussian-likelihood model

    p(θ | x) ∝ N(x; sim(θ), C) · U(θ; box),

with ``sim`` the deterministic built-in simulator (``Templates.evaluate``), C the T2K covariance (the
``npe.noise_components`` of the measurement) and U the uniform prior box of ``config.parameters``. It is sampled
with the affine-invariant ensemble sampler of Goodman & Weare (2010) as implemented in emcee (Foreman-Mackey et
al. 2013, ``emcee.EnsembleSampler`` with ``vectorize=True`` so the simulator is called once per step for all
walkers). Convergence is judged from the integrated autocorrelation time τ (Sokal 1997; emcee's
``get_autocorr_time``): the post-burn-in chain should be longer than 50 τ, and the mean acceptance fraction should
lie roughly in [0.2, 0.5]; both are recorded and a warning is issued otherwise.

**When is the comparison meaningful?** The reference uses the Gaussian likelihood N(x; sim(θ), C). An NPE trained
on noise-free simulations (``npe.noise: none``, the papers' choice) estimates a posterior of a *different*
model (x = sim(θ) exactly, an almost-delta posterior), so comparing it with this reference is meaningless. Only a
noise-aware NPE (``npe.noise: covariance`` with the *same* C, i.e. x = sim(θ) + ε, ε ~ N(0, C)) targets this
exact posterior. The workflow therefore trains a separate noise-aware NPE for the comparison when the main one
is noise-free (``workflow/rules/validate.smk``).

The agreement is measured with the classifier two-sample test (C2ST; Lopez-Paz & Oquab 2017, as used in the SBI
benchmark of Lueckmann et al. 2021) from ``sbi.utils.metrics.c2st``: 0.5 means indistinguishable, 1.0 means
disjoint. nutune's goal is a mean C2ST ≤ 0.55 over ≥ 10 observations.
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nutune.dials import PARAMETER_NAMES, PHYSICAL_LABELS
from nutune.io import atomic_write, derive_seed, rng
from nutune.noise import covariance_noise

__all__ = [
    "ReferenceResult",
    "Simulator",
    "NPESampler",
    "gaussian_log_posterior",
    "initial_walkers",
    "sample_reference",
    "reference_c2st",
    "make_mock_observations",
    "sample_references",
    "reference_c2st_table",
    "plot_reference_c2st",
    "builtin_simulator",
    "read_observation_csv",
    "check_noise_aware",
    "reference_observations",
    "write_reference_samples",
    "load_reference_samples",
    "load_references",
    "C2ST_GOAL",
]

log = logging.getLogger(__name__)

#: A batched, deterministic simulator: physical θ (n, 4) → histograms (n, bins).
Simulator = Callable[[np.ndarray], np.ndarray]
#: An NPE posterior sampler: (x_obs (bins,), n samples, seed) → samples (n, 4) physical.
NPESampler = Callable[[np.ndarray, int, int], np.ndarray]

#: Target for the mean C2ST between NPE and reference posteriors.
C2ST_GOAL = 0.55
#: Minimum post-burn-in chain length in units of the integrated autocorrelation time.
MIN_TAU_FACTOR = 50.0
#: Acceptance fractions outside this range trigger a warning (emcee guidance ~0.2-0.5).
ACCEPTANCE_RANGE = (0.15, 0.7)


@dataclass
class ReferenceResult:
    """Samples from an exact reference posterior and the sampler's convergence diagnostics.

    Attributes:
        samples: Posterior samples (S, 4), physical parameters, burn-in discarded and thinned.
        tau: Integrated autocorrelation time per parameter, in steps (NaN if it could not be estimated).
        acceptance: Mean acceptance fraction over walkers.
        n_steps: Steps per walker (including burn-in).
        burn_in: Discarded steps per walker.
        thin: Thinning applied to the post-burn-in chain.
        converged: True if the post-burn-in chain is longer than ``MIN_TAU_FACTOR`` τ and the acceptance fraction
            is in ``ACCEPTANCE_RANGE``.
        map_theta: The starting point found by the seeded optimisation (highest log-posterior found).
        messages: Convergence warnings, empty when converged.
    """

    samples: np.ndarray
    tau: np.ndarray
    acceptance: float
    n_steps: int
    burn_in: int
    thin: int
    converged: bool
    map_theta: np.ndarray
    messages: list[str] = field(default_factory=list)

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """The result as named arrays (no pickle), every key prefixed with ``prefix``; read by :meth:`from_arrays`."""
        fields = {"samples": self.samples, "tau": self.tau, "acceptance": np.array(self.acceptance),
                  "n_steps": np.array(self.n_steps), "burn_in": np.array(self.burn_in), "thin": np.array(self.thin),
                  "converged": np.array(self.converged), "map_theta": self.map_theta,
                  "messages": np.array(self.messages, dtype=str)}
        return {f"{prefix}{key}": value for key, value in fields.items()}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], prefix: str = "") -> ReferenceResult:
        """The result of :meth:`arrays` (written with the same ``prefix``)."""
        def get(key: str) -> np.ndarray:
            return np.asarray(arrays[f"{prefix}{key}"])

        return cls(samples=get("samples"), tau=get("tau"), acceptance=float(get("acceptance")),
                   n_steps=int(get("n_steps")), burn_in=int(get("burn_in")), thin=int(get("thin")),
                   converged=bool(get("converged")), map_theta=get("map_theta"),
                   messages=[str(m) for m in get("messages")])

    def save(self, path: str | Path) -> None:
        """Write the result atomically as NPZ (no pickle)."""
        with atomic_write(path, suffix=".npz") as tmp:
            np.savez(tmp, **self.arrays())

    @classmethod
    def load(cls, path: str | Path) -> ReferenceResult:
        """Read a result written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            return cls.from_arrays(z)


@contextlib.contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
    """Drop the records of logger ``name`` inside the block (a third-party warning that nutune words itself)."""
    logger = logging.getLogger(name)
    old = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = old


def gaussian_log_posterior(
    simulator: Simulator,
    x_obs: np.ndarray,
    cov: np.ndarray,
    lower: Sequence[float],
    upper: Sequence[float],
) -> Callable[[np.ndarray], np.ndarray]:
    """Batched unnormalised log posterior log N(x_obs; sim(θ), C) + log U(θ; [lower, upper]).

    The Gaussian is evaluated with a Cholesky factor of C (``-0.5 r^T C^-1 r``, constants dropped). Points outside
    the box, and points where the simulator returns non-finite values, get ``-inf``. The simulator is called once
    per batch, only on the in-box rows.

    Args:
        simulator: Batched simulator θ (n, d) → (n, bins).
        x_obs: Observed histogram (bins,).
        cov: Covariance (bins, bins), symmetric positive definite.
        lower: Lower prior bounds (d,).
        upper: Upper prior bounds (d,).

    Returns:
        A function θ (n, d) → log posterior (n,) (also accepts a single (d,) point and returns a scalar array).
    """
    import scipy.linalg

    x_obs = np.asarray(x_obs, dtype=float)
    cov = np.asarray(cov, dtype=float)
    lo = np.asarray(lower, dtype=float)
    hi = np.asarray(upper, dtype=float)
    if cov.shape != (x_obs.size, x_obs.size):
        raise ValueError(f"covariance shape {cov.shape} does not match the observation's {x_obs.size} bins")
    chol = scipy.linalg.cholesky(cov, lower=True)

    def log_prob(theta: np.ndarray) -> np.ndarray:
        t = np.asarray(theta, dtype=float)
        single = t.ndim == 1
        t = np.atleast_2d(t)
        out = np.full(t.shape[0], -np.inf)
        inside = np.all((t >= lo) & (t <= hi), axis=1) & np.all(np.isfinite(t), axis=1)
        if inside.any():
            pred = np.asarray(simulator(t[inside]), dtype=float).reshape(int(inside.sum()), -1)
            resid = pred - x_obs
            z = scipy.linalg.solve_triangular(chol, resid.T, lower=True)
            lp = -0.5 * np.sum(z * z, axis=0)
            lp[~np.isfinite(lp)] = -np.inf
            out[inside] = lp
        return out[0] if single else out

    return log_prob


def initial_walkers(
    log_prob: Callable[[np.ndarray], np.ndarray],
    lower: Sequence[float],
    upper: Sequence[float],
    n_walkers: int,
    seed: int,
    *,
    n_candidates: int = 2048,
    scatter: float = 1e-3,
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded walker initialisation: random search in the box, then bounded optimisation, then a small ball.

    1. ``n_candidates`` points are drawn uniformly in the box and evaluated in one batch.
    2. The best three are refined with L-BFGS-B (bounds = the box) on −log p; the best optimum is kept.
    3. Walkers are the optimum plus Gaussian scatter of ``scatter`` × box width, reflected into the box;
       walkers whose log posterior is not finite are replaced by the best random candidates.

    Args:
        log_prob: Batched log posterior (see :func:`gaussian_log_posterior`).
        lower: Lower bounds (d,).
        upper: Upper bounds (d,).
        n_walkers: Number of walkers.
        seed: Seed (from :func:`nutune.io.derive_seed`).
        n_candidates: Number of random candidates.
        scatter: Ball radius as a fraction of the box width.

    Returns:
        ``(p0, theta_opt)``: initial positions (n_walkers, d) and the optimum (d,).
    """
    import scipy.optimize

    lo = np.asarray(lower, dtype=float)
    hi = np.asarray(upper, dtype=float)
    width = hi - lo
    g = rng(seed, "reference", "init")
    cand = lo + width * g.random((n_candidates, lo.size))
    lp = np.asarray(log_prob(cand))
    order = np.argsort(-lp)
    best_theta, best_lp = cand[order[0]], lp[order[0]]
    for start in cand[order[:3]]:
        res = scipy.optimize.minimize(
            lambda t: -float(log_prob(t)) if np.isfinite(log_prob(t)) else 1e300,
            start,
            method="L-BFGS-B",
            bounds=list(zip(lo, hi, strict=True)),
        )
        if np.isfinite(-res.fun) and -res.fun > best_lp:
            best_theta, best_lp = np.clip(res.x, lo, hi), -res.fun
    p0 = best_theta + scatter * width * g.standard_normal((n_walkers, lo.size))
    # reflect into the box, then clip for safety
    p0 = np.where(p0 < lo, 2 * lo - p0, p0)
    p0 = np.where(p0 > hi, 2 * hi - p0, p0)
    p0 = np.clip(p0, lo, hi)
    bad = ~np.isfinite(log_prob(p0))
    if bad.any():
        p0[bad] = cand[order[1 : 1 + int(bad.sum())]]
    return p0, best_theta


def emcee_moves(name: str):
    """emcee's proposal of ``reference.moves``: ``stretch`` → ``None`` (emcee's default ``StretchMove``, Goodman &
    Weare 2010; the paper run's), ``de`` → 80 % ``DEMove`` + 20 % ``DESnookerMove`` (differential evolution, ter
    Braak 2006; ter Braak & Vrugt 2008), the mixture emcee's documentation suggests where the stretch move mixes
    slowly. Measured on the T2K data in 11 dimensions (64 walkers, 8000 steps, 2000 discarded): τ mean 396 / max 459
    steps with stretch, 102 / 207 with de."""
    import emcee

    if name == "stretch":
        return None
    if name == "de":
        return [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]
    raise ValueError(f"reference.moves = {name!r}; allowed: stretch, de")


def sample_reference(
    simulator: Simulator,
    x_obs: np.ndarray,
    cov: np.ndarray,
    lower: Sequence[float],
    upper: Sequence[float],
    *,
    seed: int,
    n_walkers: int = 32,
    n_steps: int = 3000,
    burn_in: int = 1000,
    thin: int | None = None,
    moves: str = "stretch",
) -> ReferenceResult:
    """Sample the exact posterior p(θ|x) ∝ N(x; sim(θ), C)·U(box) with emcee (Goodman & Weare 2010).

    Walkers start from :func:`initial_walkers` (seeded random search + L-BFGS-B). The chain of ``n_steps`` steps per
    walker is run with ``emcee.EnsembleSampler(vectorize=True)`` (one simulator call per step for all walkers),
    the first ``burn_in`` steps are discarded and the rest thinned by ``thin`` (default: half the smallest
    integrated autocorrelation time, at least 1). Convergence: ``n_steps - burn_in > 50 τ`` for every parameter
    (``get_autocorr_time(quiet=True)``) and an acceptance fraction in ``ACCEPTANCE_RANGE``; failures are warned
    about (``RuntimeWarning``) and recorded in the result, never silently ignored.

    Args:
        simulator: Batched deterministic simulator θ (n, 4) → (n, bins).
        x_obs: Observed histogram (bins,).
        cov: Covariance C (bins, bins) of the Gaussian likelihood.
        lower: Prior box lower bounds (4,).
        upper: Prior box upper bounds (4,).
        seed: Seed, derived with :func:`nutune.io.derive_seed` (e.g. ``derive_seed(cfg.seed, "reference", obs)``).
        n_walkers: Number of walkers (≥ 2·dim).
        n_steps: Steps per walker, including burn-in.
        burn_in: Steps discarded from the start of every walker.
        thin: Thinning; ``None`` chooses ``max(1, floor(min τ / 2))``.
        moves: ``stretch`` (emcee's default, Goodman & Weare 2010) or ``de`` (:func:`emcee_moves`).

    Returns:
        A :class:`ReferenceResult`.
    """
    import emcee

    lo = np.asarray(lower, dtype=float)
    ndim = lo.size
    if n_walkers < 2 * ndim:
        raise ValueError(f"n_walkers={n_walkers} must be at least twice the {ndim} dimensions")
    if not 0 <= burn_in < n_steps:
        raise ValueError(f"burn_in={burn_in} must be in [0, n_steps={n_steps})")
    log_prob = gaussian_log_posterior(simulator, x_obs, cov, lower, upper)
    p0, theta_opt = initial_walkers(log_prob, lower, upper, n_walkers, derive_seed(seed, "init"))

    sampler = emcee.EnsembleSampler(n_walkers, ndim, log_prob, vectorize=True, moves=emcee_moves(moves))
    sampler.random_state = np.random.RandomState(derive_seed(seed, "emcee")).get_state()
    sampler.run_mcmc(p0, n_steps, progress=False)

    n_kept = n_steps - burn_in
    with warnings.catch_warnings(), _quiet_logger("emcee.autocorr"):  # the convergence check below says it, once
        warnings.simplefilter("ignore")
        tau = np.asarray(sampler.get_autocorr_time(discard=burn_in, quiet=True), dtype=float)
    acceptance = float(np.mean(sampler.acceptance_fraction))
    messages: list[str] = []
    if not np.all(np.isfinite(tau)):
        messages.append("integrated autocorrelation time could not be estimated")
    elif n_kept <= MIN_TAU_FACTOR * tau.max():
        messages.append(
            f"chain too short: {n_kept} post-burn-in steps <= {MIN_TAU_FACTOR:g} * tau_max = "
            f"{MIN_TAU_FACTOR * tau.max():.0f} (tau = {np.round(tau, 1).tolist()}); increase reference.n_steps"
        )
    if not ACCEPTANCE_RANGE[0] <= acceptance <= ACCEPTANCE_RANGE[1]:
        messages.append(f"acceptance fraction {acceptance:.3f} outside {ACCEPTANCE_RANGE}")
    for m in messages:  # a warning for a caller; the log gets it as INFO (reference_c2st_table warns once per table)
        warnings.warn(f"reference posterior not converged: {m}", RuntimeWarning, stacklevel=2)
        log.info("reference posterior not converged: %s", m)

    if thin is None:
        finite = tau[np.isfinite(tau)]
        thin = max(1, int(math.floor(finite.min() / 2))) if finite.size else 1
    samples = sampler.get_chain(discard=burn_in, thin=thin, flat=True)
    return ReferenceResult(
        samples=np.asarray(samples, dtype=float),
        tau=tau,
        acceptance=acceptance,
        n_steps=n_steps,
        burn_in=burn_in,
        thin=int(thin),
        converged=not messages,
        map_theta=np.asarray(theta_opt, dtype=float),
        messages=messages,
    )


def reference_c2st(
    npe_samples: np.ndarray, ref_samples: np.ndarray, seed: int, *, n_max: int | None = 4000
) -> float:
    """Classifier two-sample test accuracy between NPE and reference samples (``sbi.utils.metrics.c2st``).

    Both sets are subsampled (seeded, without replacement) to the same size ``min(len(npe), len(ref), n_max)``
    so the chance level is exactly 0.5; sbi's default random-forest classifier with 5-fold cross-validation and
    z-scoring is used (Lopez-Paz & Oquab 2017; Lueckmann et al. 2021).

    Args:
        npe_samples: Samples from the NPE posterior (n, d).
        ref_samples: Samples from the reference posterior (m, d).
        seed: Seed for the subsampling and the classifier.
        n_max: Cap on the number of samples per set (``None``: no cap).

    Returns:
        The C2ST accuracy in [0, 1]; 0.5 = indistinguishable.
    """
    import torch
    from sbi.utils.metrics import c2st

    a = np.asarray(npe_samples, dtype=np.float32)
    b = np.asarray(ref_samples, dtype=np.float32)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"sample arrays must be (n, d) with the same d, got {a.shape} and {b.shape}")
    n = min(len(a), len(b), n_max or max(len(a), len(b)))
    if n < 10:
        raise ValueError(f"need at least 10 samples per set for a C2ST, got {n}")
    g = rng(seed, "c2st", "subsample")
    a = a[g.choice(len(a), n, replace=False)]
    b = b[g.choice(len(b), n, replace=False)]
    acc = c2st(torch.from_numpy(a), torch.from_numpy(b), seed=derive_seed(seed, "c2st", "classifier") % (2**31))
    return float(acc.reshape(-1)[0])


def make_mock_observations(
    simulator: Simulator,
    cov: np.ndarray,
    lower: Sequence[float],
    upper: Sequence[float],
    n_mock: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Mock observations from the model the reference assumes: θ ~ U(box), x = sim(θ) + ε, ε ~ N(0, C).

    Args:
        simulator: Batched simulator.
        cov: Covariance C.
        lower: Lower bounds.
        upper: Upper bounds.
        n_mock: Number of mock observations.
        seed: Seed (e.g. ``derive_seed(cfg.seed, "reference", "mock")``).

    Returns:
        ``(theta, x)`` of shapes (n_mock, d) and (n_mock, bins).
    """
    lo = np.asarray(lower, dtype=float)
    hi = np.asarray(upper, dtype=float)
    g = rng(seed, "mock")
    theta = lo + (hi - lo) * g.random((n_mock, lo.size))
    clean = np.asarray(simulator(theta), dtype=float)
    noise = covariance_noise(g, cov, n_mock, method="cholesky")
    return theta, clean + noise


def sample_references(
    observations: Mapping[str, np.ndarray],
    simulator: Simulator,
    cov: np.ndarray,
    lower: Sequence[float],
    upper: Sequence[float],
    *,
    seed: int,
    n_walkers: int = 32,
    n_steps: int = 3000,
    burn_in: int = 1000,
    moves: str = "stretch",
    reference_dir: str | Path | None = None,
) -> dict[str, ReferenceResult]:
    """:func:`sample_reference` for every observation (seed ``derive_seed(seed, "reference", name)``): no network
    is involved, so the workflow runs this (rule ``reference_posteriors``) beside the training.

    Args:
        observations: Observation name → histogram (bins,).
        simulator: Batched deterministic simulator.
        cov: Covariance C of the likelihood (the NPE's training noise).
        lower: Prior lower bounds.
        upper: Prior upper bounds.
        seed: Stage seed (e.g. ``derive_seed(cfg.seed, "reference")``).
        n_walkers: emcee walkers.
        n_steps: emcee steps per walker.
        burn_in: Discarded steps.
        moves: emcee proposal (:func:`emcee_moves`).
        reference_dir: If given, every :class:`ReferenceResult` is saved there as ``{name}.npz``.

    Returns:
        Observation name → :class:`ReferenceResult`, in the order of ``observations``.
    """
    refs: dict[str, ReferenceResult] = {}
    for name, x in observations.items():
        log.info("reference posterior for %s", name)
        refs[name] = sample_reference(
            simulator, x, cov, lower, upper, seed=derive_seed(seed, "reference", name),
            n_walkers=n_walkers, n_steps=n_steps, burn_in=burn_in, moves=moves,
        )
        if reference_dir is not None:
            refs[name].save(Path(reference_dir) / f"{name}.npz")
        log.info("%s: converged = %s, acceptance %.3f", name, refs[name].converged, refs[name].acceptance)
    return refs


def reference_c2st_table(
    references: Mapping[str, ReferenceResult],
    npe_sampler: NPESampler,
    observations: Mapping[str, np.ndarray],
    *,
    seed: int,
    n_npe_samples: int = 4000,
    c2st_n_max: int | None = 4000,
    out_csv: str | Path | None = None,
    out_figure: str | Path | None = None,
    truths: Mapping[str, np.ndarray] | None = None,
    names: Sequence[str] = PARAMETER_NAMES,
    labels: Sequence[str] = PHYSICAL_LABELS,
) -> tuple[list[dict[str, object]], dict[str, np.ndarray]]:
    """C2ST of the NPE against the reference posteriors of :func:`sample_references`; the ``reference_c2st``
    table and figure.

    For every observation: NPE samples from ``npe_sampler`` (seed ``derive_seed(seed, "npe", name)``) and
    :func:`reference_c2st` (seed ``derive_seed(seed, "c2st", name)``). One table row per observation with
    ``observation, c2st, converged, acceptance, thin, n_ref_samples``, ``tau_<p>`` and the mean and standard
    deviation of every parameter under NPE and reference (``<p>_npe_mean``, ``<p>_npe_std``, ``<p>_ref_mean``,
    ``<p>_ref_std``) and the truth (``<p>_true``, NaN if unknown). A final row ``mean`` holds the mean C2ST; one
    warning names the observations whose chains did not converge. Only meaningful when the NPE is noise-aware with
    the same C (see the module docstring).

    Args:
        references: Observation name → reference posterior (the table's rows, in this order).
        npe_sampler: (x, n, seed) → NPE samples (n, d).
        observations: Observation name → histogram (bins,), every name of ``references``.
        seed: Stage seed (the one :func:`sample_references` got).
        n_npe_samples: NPE samples per observation.
        c2st_n_max: Cap on the samples per set in the C2ST (see :func:`reference_c2st`).
        out_csv: Where to write the table (atomic), or ``None``.
        out_figure: Figure path (PDF; a PNG is written next to it), or ``None``.
        truths: Optional observation name → true θ (for mock observations).
        names: Parameter names for the columns.
        labels: Axis labels of the figure's marginals.

    Returns:
        ``(rows, npe_samples)``.
    """
    rows: list[dict[str, object]] = []
    npes: dict[str, np.ndarray] = {}
    truths = truths or {}
    for name, ref in references.items():
        x = np.asarray(observations[name], dtype=float)
        npe = np.asarray(npe_sampler(x, n_npe_samples, derive_seed(seed, "npe", name)))
        score = reference_c2st(npe, ref.samples, derive_seed(seed, "c2st", name), n_max=c2st_n_max)
        npes[name] = npe
        row: dict[str, object] = {
            "observation": name,
            "c2st": score,
            "converged": ref.converged,
            "acceptance": ref.acceptance,
            "thin": ref.thin,
            "n_ref_samples": len(ref.samples),
        }
        truth = truths.get(name)
        for i, p in enumerate(names):
            row[f"tau_{p}"] = float(ref.tau[i])
            row[f"{p}_npe_mean"] = float(npe[:, i].mean())
            row[f"{p}_npe_std"] = float(npe[:, i].std(ddof=1))
            row[f"{p}_ref_mean"] = float(ref.samples[:, i].mean())
            row[f"{p}_ref_std"] = float(ref.samples[:, i].std(ddof=1))
            row[f"{p}_true"] = float(truth[i]) if truth is not None else float("nan")
        rows.append(row)
        log.info("%s: C2ST = %.3f, converged = %s", name, score, ref.converged)
    unconverged = [str(r["observation"]) for r in rows if not r["converged"]]
    if unconverged:  # one warning for the whole table, not one per observation (the details are logged above)
        log.warning("reference posteriors not converged for %d of %d observations (%s); the C2ST against them is "
                    "indicative only: increase reference.n_steps", len(unconverged), len(rows),
                    ", ".join(unconverged))
    mean_c2st = float(np.mean([r["c2st"] for r in rows]))
    rows.append({"observation": "mean", "c2st": mean_c2st,
                 "converged": all(bool(r["converged"]) for r in rows)})
    if mean_c2st > C2ST_GOAL:
        log.warning("mean C2ST %.3f exceeds the goal %.2f", mean_c2st, C2ST_GOAL)
    if out_csv is not None:
        import pandas as pd

        with atomic_write(out_csv, suffix=".csv") as tmp:
            pd.DataFrame(rows).to_csv(tmp, index=False, float_format="%.6g")
    if out_figure is not None:
        plot_reference_c2st(rows[:-1], references, npes, out_figure, names=names, labels=labels, truths=truths)
    return rows, npes


def plot_reference_c2st(
    rows: Sequence[Mapping[str, object]],
    refs: Mapping[str, ReferenceResult],
    npes: Mapping[str, np.ndarray],
    out_pdf: str | Path,
    *,
    names: Sequence[str] = PARAMETER_NAMES,
    labels: Sequence[str] = PHYSICAL_LABELS,
    truths: Mapping[str, np.ndarray] | None = None,
    n_overlay: int = 3,
) -> None:
    """C2ST per observation (with the 0.5 chance and 0.55 goal lines) and marginal NPE/reference overlays.

    The top panel shows one point per observation; below, one row per overlay observation (the first
    ``n_overlay``) with the four marginals of the reference (filled) and NPE (line) samples. Writes ``out_pdf`` and
    the PNG next to it (atomically).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nutune.figures import save_figure

    truths = truths or {}
    obs = [str(r["observation"]) for r in rows]
    scores = [float(r["c2st"]) for r in rows]
    overlay = obs[:n_overlay]
    d = len(names)
    fig = plt.figure(figsize=(3.0 * d, 2.6 * (1 + len(overlay))), layout="constrained")
    grid = fig.add_gridspec(1 + len(overlay), d)
    ax = fig.add_subplot(grid[0, :])
    ax.plot(range(len(obs)), scores, "o", color="C0", label="C2ST (NPE vs reference)")
    ax.axhline(0.5, color="k", lw=1, label="chance (0.5)")
    ax.axhline(C2ST_GOAL, color="C3", ls="--", lw=1, label=f"goal ({C2ST_GOAL})")
    ax.axhline(float(np.mean(scores)), color="C0", ls=":", lw=1, label=f"mean = {np.mean(scores):.3f}")
    ax.set_xticks(range(len(obs)), obs, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("C2ST accuracy")
    ax.set_ylim(0.45, max(1.0, max(scores) + 0.02))
    ax.legend(fontsize=7, ncol=4, loc="upper right")
    for r, name in enumerate(overlay):
        for i in range(d):
            a = fig.add_subplot(grid[1 + r, i])
            ref, npe = refs[name].samples[:, i], npes[name][:, i]
            lo_, hi_ = np.percentile(np.concatenate([ref, npe]), [0.5, 99.5])
            bins = np.linspace(lo_, hi_ + 1e-12, 40)
            a.hist(ref, bins=bins, density=True, color="C1", alpha=0.5, label="reference (emcee)")
            a.hist(npe, bins=bins, density=True, histtype="step", color="C0", lw=1.5, label="NPE")
            if name in truths:
                a.axvline(float(truths[name][i]), color="k", ls="--", lw=1, label="truth")
            a.set_yticks([])
            a.set_xlabel(labels[i], fontsize=8)
            if i == 0:
                a.set_title(name, fontsize=8, loc="left")
                if r == 0:
                    a.legend(fontsize=6)
    save_figure(fig, out_pdf, dpi=120, tight=False)


# ----------------------------------------------------------------------------------------------------------------
# the pieces of the reference_c2st stage (nutune.stages.validate)
# ----------------------------------------------------------------------------------------------------------------
def builtin_simulator(cfg: Any) -> Simulator:
    """The configured built-in templates (nominal variant) as a batched simulator; refuses other backends."""
    from nutune.forward import builtin_simulator as configured_builtin

    if cfg.simulator.backend != "builtin":
        raise ValueError(
            f"simulator.backend = {cfg.simulator.backend!r}: reference posteriors and classical fits need the "
            "deterministic built-in simulator (backend: builtin); disable reference/classical/learning_curve"
        )
    return configured_builtin(cfg)


def read_observation_csv(path: str | Path) -> np.ndarray:
    """The histogram column ``x`` of ``results/observations/{obs}.csv``."""
    import pandas as pd

    return pd.read_csv(path)["x"].to_numpy(dtype=float)


def check_noise_aware(metadata: Sequence[Mapping[str, Any]]) -> None:
    """Refuse an ensemble (its members' metadata) that is not noise-aware (``noise.mode == covariance``): only such
    a network targets the reference's N(x; sim(θ), C) posterior."""
    modes = {str(m.get("noise", {}).get("mode", "none")) for m in metadata}
    if modes != {"covariance"}:
        raise ValueError(f"the NPE for the reference comparison must be noise-aware (npe.noise: covariance), got "
                         f"noise modes {sorted(modes)}; the comparison with N(x; sim(theta), C) is meaningless")


def reference_observations(cfg: Any, observations: Mapping[str, np.ndarray], sim: Simulator, cov: np.ndarray,
                           seed: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The observations of the reference comparison and the known truths: the named ``observations`` plus
    ``reference.n_mock`` mocks ``mock_00``, ... (:func:`make_mock_observations`, seed ``derive_seed(seed, "mock")``);
    truths of the mocks and of the named nominal built-in observations with a ``point``."""
    obs = dict(observations)
    theta_mock, x_mock = make_mock_observations(sim, cov, cfg.prior_low, cfg.prior_high, cfg.reference.n_mock,
                                                derive_seed(seed, "mock"))
    truths: dict[str, np.ndarray] = {}
    for i in range(len(x_mock)):
        obs[f"mock_{i:02d}"] = x_mock[i]
        truths[f"mock_{i:02d}"] = theta_mock[i]
    for name, spec in cfg.observations.items():
        if spec.kind == "builtin" and spec.variant == "nominal" and spec.point is not None and name in obs:
            truths[name] = np.asarray(spec.point, dtype=float)
    return obs, truths


def write_reference_samples(path: str | Path, observations: Mapping[str, np.ndarray],
                            refs: Mapping[str, ReferenceResult],
                            truths: Mapping[str, np.ndarray] | None = None) -> None:
    """Write ``reference_samples.npz`` (no pickle): ``names``, and per observation ``x__<name>``, every field of its
    :class:`ReferenceResult` as ``<field>__<name>`` (``samples__<name>``, ``tau__<name>``, ...) and its truth
    ``truth__<name>`` where known; read back by :func:`load_reference_samples` and :func:`load_references`."""
    truths = truths or {}
    arrays: dict[str, np.ndarray] = {"names": np.array(list(observations), dtype=str)}
    for name in observations:
        arrays[f"x__{name}"] = np.asarray(observations[name], dtype=float)
        arrays.update({f"{key}__{name}": value for key, value in refs[name].arrays().items()})
        if name in truths:
            arrays[f"truth__{name}"] = np.asarray(truths[name], dtype=float)
    with atomic_write(path, suffix=".npz") as tmp:
        np.savez(tmp, **arrays)


def load_reference_samples(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read the NPZ of :func:`write_reference_samples`: {name: (x, reference samples)}."""
    with np.load(path, allow_pickle=False) as z:
        return {str(n): (z[f"x__{n}"], z[f"samples__{n}"]) for n in z["names"]}


def load_references(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, ReferenceResult],
                                                dict[str, np.ndarray]]:
    """Read the NPZ of :func:`write_reference_samples` in full: ``(observations, references, truths)``."""
    with np.load(path, allow_pickle=False) as z:
        names = [str(n) for n in z["names"]]
        by_name: dict[str, dict[str, np.ndarray]] = {n: {} for n in names}
        for key in z.files:
            if "__" in key:  # <field>__<name>: the field names have no "__", an observation's name may
                field_name, name = key.split("__", 1)
                by_name[name][field_name] = z[key]
    observations = {n: np.asarray(by_name[n]["x"], dtype=float) for n in names}
    refs = {n: ReferenceResult.from_arrays(by_name[n]) for n in names}
    truths = {n: np.asarray(by_name[n]["truth"], dtype=float) for n in names if "truth" in by_name[n]}
    return observations, refs, truths
