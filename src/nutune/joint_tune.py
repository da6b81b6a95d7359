"""The joint T2K + MINERvA tune and each experiment alone (issue 15 items 4–5): per-part networks, the χ² table of
the tunes and the tension between the single-experiment tunes.

A joint config (``simulator.measurement`` a list, :mod:`nutune.measurements.joint`) trains its main network on the
concatenated vector. "Each alone" is a network per part trained on *that part's columns of the same joint bank*
(rule ``part_npe``, :func:`run_part_npe`; the same npe settings, the part's own covariance block for a noise-aware
network, seed ``derive_seed(seed, "part_npe", part)``), so the three posteriors are learnt from the same θ draws.
When the joint tune is read in another likelihood (``constraints.mode``, e.g. NORMSHAPE) each part also gets a
network trained with that mode's noise model (seed ``derive_seed(seed, "part_npe", part, mode)``), and the
network-based tension statistics 1–2 below are given in both likelihoods (:func:`tension_modes`).

Tables (rule ``joint_tables``, :func:`run_joint_tables`):

* ``joint_chi2.csv`` — for each tune (the MicroBooNE tune, each part's tune, the joint tune; a tune is the posterior
  median of its network for the real data), the builtin prediction's χ² against each measurement and their total
  in every configured mode (:func:`nutune.chi2.chi2_all_modes`: FULL/DIAG block sums, SHAPE/NORMSHAPE per
  experiment), with the bins of each.
* ``joint_tension.csv`` — three statistics of the tension between T2K and MINERvA:

  1. the **parameter-shift probability** (Raveri & Hu, PRD 99, 043506 (2019), §IV; :func:`parameter_shift`):
     Δθ = θ_A − θ_B from independent draws of the two posteriors (prior-box unit coordinates, so the dials are
     commensurate), its density P(Δ) by a Gaussian KDE, and p_shift = P(P(Δ) > P(0)), the posterior mass of
     shifts more probable than no shift. Meaning: p_shift near 0 — the two data sets prefer the same dials; 0.68 /
     0.95 / 0.997 — agreement is excluded at the "1σ / 2σ / 3σ" level (``n_sigma`` = √2 erf⁻¹(p_shift), the
     Gaussian-equivalent); it measures disagreement *within the model*, not the model's fit to either data set;
  2. the **posterior-predictive p-value** of one data set under the other's tune (:func:`ppc_pvalue`): for draws
     θ of the tune's posterior, p = P(χ²_FULL(x_rep, s(θ)) ≥ χ²_FULL(x_obs, s(θ))) with x_rep ~ N(s(θ), C) (in
     NORMSHAPE: the NORMSHAPE χ² and replicates from its noise model, with that likelihood's networks); a small
     p says the data set is not described by the other experiment's tune *within its own covariance* (for MINERvA it
     is also small at its own tune: its 144-bin χ² is misspecified — the row ``…under its own tune`` gives the
     baseline to compare with);
  3. the **parameter goodness-of-fit** per χ² mode (Maltoni & Schwetz, PRD 68, 033020 (2003);
     :func:`goodness_of_fit_rows`): χ²_PG = χ²_min(joint) − Σ_e χ²_min(e alone), the price in χ² of fitting the
     experiments with one θ instead of each its own, from the classical fits (iminuit, the builtin simulator);
     asymptotically χ² with Σ_e d − d = d (E − 1) degrees of freedom (d free dials, E experiments), p =
     P(χ²_ndf ≥ χ²_PG). Unlike 1–2 it does not depend on a network, and it can be read in every mode: in FULL
     Peelle's puzzle pushes each data set's fit to the same low-normalisation corner, NORMSHAPE judges each
     experiment's normalisation by itself. Minima on the prior-box edges make the χ² distribution approximate.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["part_sections", "tension_modes", "posteriors_by_mode", "run_part_npe", "run_part_infer", "parameter_shift", "ppc_pvalue", "joint_chi2_table",
           "tension_table", "goodness_of_fit_rows", "run_joint_tables", "plot_tunes_corner"]

_log = logging.getLogger("nutune")


def part_sections(sections: Mapping[str, Any], part: str) -> dict[str, Any]:
    """The config sections of a joint config as the single measurement ``part`` of it (its binning, its covariance
    components): what a part's network is trained and checked with."""
    import copy

    from nutune.config import measurement_name
    from nutune.measurements import get, part_bins, split_name

    out = copy.deepcopy(dict(sections))
    names = split_name(measurement_name(out["simulator"]["measurement"]))
    if part not in names:
        raise KeyError(f"{part!r} is not a part of the joint measurement {list(names)}")
    out["simulator"]["measurement"] = part
    out["simulator"]["bins"] = part_bins(names, out["simulator"]["bins"])[names.index(part)]
    allowed = get(part).components
    if "npe" in out:  # one part's vector: one embedding
        out["npe"].pop("embedding_parts", None)
    for section, key in (("npe", "noise_components"), ("inference", "throw_components")):
        if section in out:
            out[section][key] = [c for c in out[section][key] if c in allowed]
    return out


def _sections(config: Any) -> Mapping[str, Any]:
    """The raw sections of a stage's :class:`nutune.config.Config` (or a mapping of sections as it is)."""
    return config if isinstance(config, Mapping) else config.raw


def _part_rows(cfg: Any, part: str) -> slice:
    from nutune.measurements import load_data

    return load_data(cfg).parts[part]


def tension_modes(config: Any) -> tuple[str, ...]:
    """The likelihoods the parts' networks are trained in, and so the tension rows of ``joint_tension.csv``: FULL
    (the ``npe`` settings as configured: noise-aware with the FULL covariance for ``npe.noise: covariance``) and,
    when ``constraints`` is active with another mode, that mode — the likelihood the joint tune is read in
    (``constraints.mode``), so the tension is measured where the tune is. ``config`` a :class:`nutune.config.Config`
    or its raw sections."""
    constraints = dict(_sections(config).get("constraints") or {})
    mode = str(constraints.get("mode", "FULL"))
    return ("FULL",) if not constraints.get("activate") or mode == "FULL" else ("FULL", mode)


def _part_seed(cfg: Any, stage: str, part: str, mode: str) -> int:
    """A part's seed of ``stage``: FULL keeps ``derive_seed(seed, stage, part)``, another mode adds its name."""
    from nutune.io import derive_seed

    return derive_seed(cfg.seed, stage, part) if mode == "FULL" else derive_seed(cfg.seed, stage, part, mode)


def run_part_npe(config: Any, *, part: str, mode: str, bank_path: str, weights: str, metadata: str, loss: str,
                 config_hash: str) -> None:
    """Rule ``part_npe``: the network of one part trained on its columns of the joint training bank (module doc);
    ``config`` the stage's sections (``stage_config``). ``mode`` FULL: the ``npe`` settings as configured; another
    χ² mode (:func:`tension_modes`): noise-aware with that mode's noise model of the part
    (:func:`nutune.likelihood_modes.noise_model`) and the epoch cap ``likelihood_modes.max_num_epochs``, as the
    joint network of that mode (rule ``likelihood_npe``)."""
    from nutune.bank import read_bank
    from nutune.config import stage_config
    from nutune.forward import training_noise_covariance
    from nutune.io import sha256_file
    from nutune.likelihood_modes import noise_model
    from nutune.measurements import load_data
    from nutune.npe import save_npe, train_npe
    from nutune.stages.common import one_torch_thread

    one_torch_thread()
    sections = _sections(config)
    joint_cfg = stage_config(sections)
    cfg = stage_config(part_sections(sections, part))
    rows = _part_rows(joint_cfg, part)
    theta, x, _ = read_bank(bank_path)
    bank_hash = sha256_file(bank_path)
    provenance = {"config_hash": config_hash, "bank_hash": bank_hash, "part": part, "likelihood": mode,
                  "inputs": {"bank": {"path": str(bank_path), "sha256": bank_hash, "columns": [rows.start, rows.stop]}}}
    if mode == "FULL":
        settings, noise_cov, model = cfg.npe, training_noise_covariance(cfg), None
    else:
        data = load_data(cfg)
        settings = cfg.npe.noise_aware(cfg.likelihood_modes.max_num_epochs)
        noise_cov, model = data.cov(cfg.npe.noise_components), noise_model(cfg, mode, data)
    trained = train_npe(theta, np.ascontiguousarray(x[:, rows]), prior_low=cfg.prior_low, prior_high=cfg.prior_high,
                        settings=settings, seed=_part_seed(cfg, "part_npe", part, mode), noise_cov=noise_cov,
                        noise_model=model, member=0, provenance=provenance, dial_names=cfg.dial_names)
    save_npe(trained, weights, metadata, loss)
    _log.info("part %s (%s): trained on columns %d..%d of %d simulations", part, mode, rows.start, rows.stop - 1,
              len(theta))


def run_part_infer(config: Any, *, part: str, mode: str, model_paths: Sequence[str], output: str) -> None:
    """Rule ``part_infer``: ``inference.num_posterior_samples`` draws of a part's network of likelihood ``mode`` for
    that part's data."""
    from nutune.config import stage_config
    from nutune.io import write_npz
    from nutune.measurements import load_data
    from nutune.stages.common import load_model, one_torch_thread

    one_torch_thread()
    cfg = stage_config(part_sections(_sections(config), part))
    x = np.asarray(load_data(cfg).values, dtype=float)
    posterior = load_model(cfg, list(model_paths))
    samples = posterior.sample(cfg.inference.num_posterior_samples, x, seed=_part_seed(cfg, "part_infer", part, mode))
    write_npz(output, samples=samples, x=x)


def parameter_shift(a: np.ndarray, b: np.ndarray, *, low: np.ndarray, high: np.ndarray, seed: int,
                    n_pairs: int = 4000) -> dict[str, float]:
    """Raveri & Hu (2019) parameter-shift probability between posteriors with draws ``a`` and ``b`` (n, d).

    Δ = (a_i − b_j)/(high − low) for ``n_pairs`` random independent pairs; P(Δ) a Gaussian KDE (Scott's bandwidth)
    of them, evaluated leave-one-out at the draws; p_shift = fraction of the Δ draws with P(Δ) > P(0). Returns ``p_shift``, ``n_sigma`` = √2·erf⁻¹(p)
    (capped where p = 1 within the draws: then p is only known to be > 1 − 1/n_pairs) and ``n_pairs``.
    """
    from scipy.special import erfinv
    from scipy.stats import gaussian_kde

    rng = np.random.default_rng(seed)
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    width = np.asarray(high, dtype=float) - np.asarray(low, dtype=float)
    delta = (a[rng.integers(0, len(a), n_pairs)] - b[rng.integers(0, len(b), n_pairs)]) / width
    kde = gaussian_kde(delta.T)
    at_zero = float(kde(np.zeros((delta.shape[1], 1)))[0])
    # leave-one-out at the draws: a draw's own kernel would inflate its density against P(0), where no draw sits
    own = 1.0 / math.sqrt(np.linalg.det(2.0 * math.pi * np.atleast_2d(kde.covariance)))
    at_draws = (n_pairs * kde(delta.T) - own) / (n_pairs - 1)
    p = float(np.mean(at_draws > at_zero))
    p_cap = min(p, 1.0 - 1.0 / n_pairs)
    return {"p_shift": p, "n_sigma": float(math.sqrt(2.0) * erfinv(p_cap)), "n_pairs": int(n_pairs)}


def ppc_pvalue(predictions: np.ndarray, data: np.ndarray, cov: np.ndarray, *, seed: int, mode: str = "FULL") -> float:
    """Posterior-predictive p-value with the χ² of ``mode`` (Gelman, Meng & Stern 1996): ``predictions`` (n, bins) =
    s(θ_i) at posterior draws; one replicate x_rep,i ~ p(x | s(θ_i)) each from the mode's noise model
    (:class:`nutune.noise.LikelihoodNoise`; FULL: N(s(θ_i), C)); p = mean[D(x_rep,i; s_i) ≥ D(x_obs; s_i)] with the
    one discrepancy D = :meth:`nutune.chi2.Chi2.discrepancy` of the data set (NORMSHAPE: C_NS linearised at the
    data, as the noise model draws). FULL and NORMSHAPE (DIAG/SHAPE need the measurement's areas and norm part)."""
    from nutune.chi2 import Chi2
    from nutune.noise import LikelihoodNoise

    if mode not in ("FULL", "NORMSHAPE"):
        raise ValueError(f"ppc_pvalue: mode {mode!r} is not FULL or NORMSHAPE")
    s = np.atleast_2d(np.asarray(predictions, dtype=float))
    data = np.asarray(data, dtype=float)
    rep = LikelihoodNoise.for_mode(mode, data, cov).sample(np.random.default_rng(seed), s,
                                                           method="cholesky" if mode == "FULL" else "eigh")
    chi2 = Chi2(data, cov, mode)
    return float(np.mean(chi2.discrepancy(rep, s) >= chi2(s)))


def joint_chi2_table(cfg: Any, tunes: Mapping[str, np.ndarray]):
    """Rows (tune, measurement, one column per χ² mode, n_bins, the tune's θ): each tune's builtin prediction
    against each part and the total (the sum, :mod:`nutune.chi2` joint rules)."""
    import pandas as pd

    from nutune.chi2 import chi2_all_modes
    from nutune.forward import builtin_prediction
    from nutune.measurements import load_data
    from nutune.measurements.joint import SHORT_NAMES

    data = load_data(cfg)
    rows = []
    for tune, theta in tunes.items():
        prediction = builtin_prediction(cfg, np.asarray(theta, dtype=float))
        point = {f"theta_{name}": float(v) for name, v in zip(cfg.dial_names, theta, strict=True)}
        total = {mode: 0.0 for mode in cfg.chi2.modes}
        for part, sl in data.parts.items():
            values = chi2_all_modes(prediction[sl], data.part_data[part], cfg.chi2.modes)
            rows.append({"tune": tune, "measurement": SHORT_NAMES.get(part, part),
                         **{mode: float(values[mode]) for mode in cfg.chi2.modes}, "n_bins": sl.stop - sl.start,
                         **point})
            total = {mode: total[mode] + float(values[mode]) for mode in cfg.chi2.modes}
        rows.append({"tune": tune, "measurement": "total", **total, "n_bins": data.bins, **point})
    return pd.DataFrame(rows)


def tension_table(cfg: Any, posteriors: Mapping[str, Mapping[str, np.ndarray]], *, n_ppc: int = 500):
    """The tension between the single-part tunes (module doc), per likelihood ``mode`` of ``posteriors`` (mode →
    part → draws of that part's network of that likelihood, :func:`tension_modes`): one parameter-shift row per
    pair of parts and one posterior-predictive row per (data set, tune) — each part's data under every part's tune,
    with the χ² of that mode. FULL keeps the seeds it had before other modes existed."""
    import pandas as pd

    from nutune.forward import builtin_prediction
    from nutune.io import derive_seed
    from nutune.measurements import load_data
    from nutune.measurements.joint import SHORT_NAMES

    data = load_data(cfg)
    parts = list(data.parts)
    short = {p: SHORT_NAMES.get(p, p) for p in parts}
    rows = []
    for mode, by_part in posteriors.items():
        tag = () if mode == "FULL" else (mode,)
        for i, a in enumerate(parts):
            for b in parts[i + 1:]:
                shift = parameter_shift(by_part[a], by_part[b], low=cfg.prior_low, high=cfg.prior_high,
                                        seed=derive_seed(cfg.seed, "parameter_shift", a, b, *tag))
                rows.append({"statistic": f"parameter_shift_{mode}", "data": f"{short[a]} vs {short[b]}",
                             "tune": f"{short[a]}-only vs {short[b]}-only ({mode} networks)",
                             "value": shift["p_shift"], "n_sigma": shift["n_sigma"], "n_draws": shift["n_pairs"],
                             "meaning": "posterior mass of shifts dtheta more probable than no shift (Raveri & Hu "
                                        "2019); near 0: the two data sets prefer the same dials"})
        for d in parts:
            sl, own = data.parts[d], data.part_data[d]
            for t in parts:
                draws = by_part[t][:n_ppc]
                p = ppc_pvalue(builtin_prediction(cfg, draws)[:, sl], np.asarray(own.values),
                               np.asarray(own.cov_total), seed=derive_seed(cfg.seed, "ppc", d, t, *tag), mode=mode)
                rows.append({"statistic": f"ppc_pvalue_{mode}", "data": short[d],
                             "tune": f"{short[t]}-only ({mode} network)", "value": p, "n_sigma": float("nan"),
                             "n_draws": len(draws),
                             "meaning": (f"P(chi2_{mode} of a replicate >= chi2_{mode} of the data) under the tune's "
                                         "posterior; " + ("baseline: the data set under its own tune" if d == t
                                                          else "compare with the data set under its own tune"))})
    return pd.DataFrame(rows)


def goodness_of_fit_rows(cfg: Any, *, n_starts: int = 6) -> list[dict[str, Any]]:
    """The parameter goodness-of-fit rows of ``joint_tension.csv`` (module doc, statistic 3), one per χ² mode of
    ``chi2.modes``: classical fits of the joint vector and of each part alone (seeds
    ``derive_seed(seed, "goodness_of_fit", mode, part)``), χ²_PG and its p-value."""
    from scipy.special import erfinv
    from scipy.stats import chi2 as chi2_dist

    from nutune.classical import fit_chi2
    from nutune.forward import builtin_prediction
    from nutune.io import derive_seed
    from nutune.measurements import load_data
    from nutune.measurements.joint import SHORT_NAMES

    data = load_data(cfg)

    def minimum(mode: str, part: str | None) -> float:
        sl = slice(None) if part is None else data.parts[part]
        m = data if part is None else data.part_data[part]
        fit = fit_chi2(lambda theta: builtin_prediction(cfg, theta)[:, sl], np.asarray(m.values),
                       np.asarray(m.cov_total), mode, cfg.prior_low, cfg.prior_high,
                       seed=derive_seed(cfg.seed, "goodness_of_fit", mode, part or "joint"), areas=np.asarray(m.areas),
                       cov_norm=m.cov_norm, n_starts=n_starts, minos=False, names=cfg.dial_names,
                       parts=data.parts if part is None else None)
        return float(fit.chi2_min)

    d, parts = len(cfg.dial_names), list(data.parts)
    ndf = d * (len(parts) - 1)
    rows = []
    for mode in cfg.chi2.modes:
        alone = {p: minimum(mode, p) for p in parts}
        joint = minimum(mode, None)
        pg = max(0.0, joint - sum(alone.values()))
        p_value = float(chi2_dist.sf(pg, ndf))
        rows.append({"statistic": f"parameter_goodness_of_fit_{mode}",
                     "data": " + ".join(SHORT_NAMES.get(p, p) for p in parts),
                     "tune": "classical fits: joint vs each alone", "value": p_value,
                     "n_sigma": float(math.sqrt(2.0) * erfinv(1.0 - p_value)) if p_value > 0 else float("inf"),
                     "n_draws": float("nan"),
                     "meaning": (f"chi2_PG = chi2_min(joint) {joint:.2f} - "
                                 + " - ".join(f"chi2_min({SHORT_NAMES.get(p, p)}) {v:.2f}" for p, v in alone.items())
                                 + f" = {pg:.2f} for {ndf} dof (Maltoni & Schwetz 2003); value = P(chi2_{ndf} >= "
                                 "chi2_PG): small = the experiments cannot share one tune in this likelihood")})
        _log.info("parameter goodness-of-fit %s: chi2_PG %.2f / %d, p %.3g", mode, pg, ndf, p_value)
    return rows


def posteriors_by_mode(keys: Sequence[Sequence[str]], paths: Sequence[str]) -> dict[str, dict[str, str]]:
    """Rule ``joint_tables``' part posteriors as likelihood mode → part → path, from its ``(mode, part)`` params and
    input files in the same order."""
    if len(keys) != len(paths):
        raise ValueError(f"{len(keys)} (mode, part) keys for {len(paths)} part posterior files")
    out: dict[str, dict[str, str]] = {}
    for (mode, part), path in zip(keys, paths, strict=True):
        out.setdefault(str(mode), {})[str(part)] = str(path)
    return out


def run_joint_tables(config: Any, *, joint_posterior: str, part_posteriors: Mapping[str, Mapping[str, str]],
                     joint_chi2: str, tension: str, corner_pdf: str, corner_png: str) -> None:
    """Rule ``joint_tables``: ``joint_chi2.csv``, ``joint_tension.csv`` and the corner of the three posteriors.

    ``part_posteriors`` is likelihood mode → part → posterior file (:func:`tension_modes`); the χ² table and the
    corner show the FULL parts' tunes beside the joint network's, the tension table every mode."""
    import pandas as pd

    from nutune.config import stage_config
    from nutune.io import read_samples
    from nutune.measurements.joint import SHORT_NAMES
    from nutune.tables import write_table

    cfg = stage_config(_sections(config))
    by_mode = {mode: {part: read_samples(path) for part, path in paths.items()}
               for mode, paths in part_posteriors.items()}
    posteriors = by_mode["FULL"]
    joint = read_samples(joint_posterior)
    tunes = {"MicroBooNE tune": np.asarray(cfg.parameter_space.microboone_tune, dtype=float)}
    tunes.update({f"{SHORT_NAMES.get(p, p)}-only": np.median(s, axis=0) for p, s in posteriors.items()})
    tunes["joint"] = np.median(joint, axis=0)
    write_table(joint_chi2_table(cfg, tunes), joint_chi2)
    write_table(pd.concat([tension_table(cfg, by_mode), pd.DataFrame(goodness_of_fit_rows(cfg))],
                          ignore_index=True), tension)
    plot_tunes_corner({**{f"{SHORT_NAMES.get(p, p)}-only": s for p, s in posteriors.items()}, "joint": joint},
                      [f"{p.label} [{p.unit}]" if p.unit else p.label for p in cfg.parameters],
                      cfg.prior_low, cfg.prior_high, corner_pdf, corner_png,
                      tune=np.asarray(cfg.parameter_space.microboone_tune, dtype=float))


def plot_tunes_corner(samples: Mapping[str, np.ndarray], labels: Sequence[str], low: np.ndarray, high: np.ndarray,
                      pdf: str, png: str, *, tune: np.ndarray | None = None) -> None:
    """The posteriors side by side in one corner plot: 1-D histograms on the diagonal, 68 % / 95 % HPD-like
    contours (2-D histogram levels) below it, the prior box as the axes, the MicroBooNE tune marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nutune.figures import save_figure

    d = len(labels)
    colors = ["tab:blue", "tab:orange", "black", "tab:green"]
    fig, axes = plt.subplots(d, d, figsize=(2.6 * d, 2.6 * d), squeeze=False)
    for i in range(d):
        for j in range(d):
            ax = axes[i, j]
            if j > i:
                ax.set_visible(False)
                continue
            for (name, s), color in zip(samples.items(), colors, strict=False):
                s = np.asarray(s, dtype=float)
                if i == j:
                    ax.hist(s[:, i], bins=40, range=(low[i], high[i]), density=True, histtype="step", color=color,
                            label=name)
                else:
                    h, xe, ye = np.histogram2d(s[:, j], s[:, i], bins=30, range=[[low[j], high[j]], [low[i], high[i]]])
                    levels = _mass_levels(h, (0.95, 0.68))
                    if len(set(levels)) == len(levels) and levels[-1] > 0:
                        ax.contour(0.5 * (xe[1:] + xe[:-1]), 0.5 * (ye[1:] + ye[:-1]), h.T, levels=levels,
                                   colors=color, linewidths=(0.8, 1.4))
            if tune is not None:
                if i == j:
                    ax.axvline(tune[i], color="tab:red", ls=":", lw=1)
                else:
                    ax.plot(tune[j], tune[i], marker="*", color="tab:red", ms=8)
            ax.set_xlim(low[j], high[j])
            if i != j:
                ax.set_ylim(low[i], high[i])
            else:
                ax.set_yticks([])
            if i == d - 1:
                ax.set_xlabel(labels[j])
            if j == 0 and i > 0:
                ax.set_ylabel(labels[i])
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="upper right", frameon=False)
    fig.suptitle("posteriors for the real data: each experiment alone and joint (red: MicroBooNE tune)")
    fig.tight_layout()
    save_figure(fig, pdf, png)


def _mass_levels(h: np.ndarray, masses: Sequence[float]) -> list[float]:
    """Histogram heights enclosing the given probability masses (ascending heights for ``contour``)."""
    flat = np.sort(h.ravel())[::-1]
    cum = np.cumsum(flat) / max(flat.sum(), 1e-300)
    return [float(flat[min(np.searchsorted(cum, m), flat.size - 1)]) for m in masses]
