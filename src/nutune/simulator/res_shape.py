"""GENIE Reweight's RES shape mode: NormCCRES, MaCCRESshape, MvCCRESshape (``GReWeightNuXSecCCRES``,
``kModeNormAndMaMvShape``).

GENIE Reweight (``src/RwCalculators/GReWeightNuXSecCCRES.cxx``) in this mode weights a CC RES event of resonance R
at (E, W, Q²) by ``CalcWeightNorm × CalcWeightMaMvShape``:

    w = N_RES · dσ_R(E, W, Q²; M_A', M_V')/dσ_R(E, W, Q²; nom) · σ_R(E; nom)/σ_R(E; M_A', M_V'),

with ``fNormCurr = max(0, 1 + 0.20 t)``, ``fMaCurr = 1.065047·(1 + 0.10 t_a)``, ``fMvCurr = 0.840·(1 + 0.05 t_v)``
(``Reconfigure``; the 1σ of ``config/GSystUncertaintyTable.xml``), the d²σ ratio ``new_xsec/old_xsec`` of
``fXSecModel->XSec`` / ``fXSecModelDef->XSec`` and the integrals ``old_integrated_xsec/twk_integrated_xsec`` of
``XSecAlgorithmI::Integral(interaction)`` — σ of *that* resonance at *that* energy on the hit nucleon (lines
``new_weight *= (old_integrated_xsec/twk_integrated_xsec)``). At fixed E the shape weight therefore keeps every
σ_R(E) (and their sum) at nominal: only the (W, Q²) shape moves.

The built-in simulator's RES events are drawn from the d²σ summed over the 18 resonances and carry no resonance
label (``events._generate_res_berger_sehgal``). Its per-event shape weight is GENIE's **expectation over the
resonance GENIE would have picked** (probability dσ_R(nom)/Σ_R' dσ_R'(nom) at the event's kinematics), with no new
random draws:

    ρ_i = Σ_R [c₀,Ri r² + c₁,Ri r g + c₂,Ri g²] / s_R(E_i; M_A', M_V'),   s_R = σ_R(E; M_A', M_V')/σ_R(E; nom),

where c_kRi are the per-resonance quadratic-form coefficients of dσ_R(M_A, M_V)/dσ_tot(nom) at the event
(:meth:`nutune.simulator.events.RESSample.resonance_coefficients`; g = (1 + Q²/M_A²)⁻², r = G_V(M_V)/G_V(nom) —
r is common to every resonance, the resonance factor (1 − q²/(M + W)²)^(½ − IR) of ``BSKLNBaseRESPXSec2014::XSec``
multiplying G_V at both masses and cancelling). What is exact and what is not:

* the d²σ part is exact (GENIE's own Berger–Sehgal, per resonance, at the event's E, W, Q² and nucleon);
* summing over R is an expectation: the histogram equals the expectation of GENIE's reweighted histogram over
  the resonance labels of the same events (unbiased; GENIE's per-event weights would scatter around it);
* σ_R(E; M_A, M_V) is GENIE's integral (the quadrature of ``res_bergersehgal._sigma_one``, with
  :data:`QUADRATURE` points) computed on :data:`ENERGY_GRID` and at the response's Chebyshev nodes in
  (ln M_A, ln M_V) (:data:`nutune.simulator.res_response.GLOBAL_NODES`), exactly quadratic in (r, g) at every
  quadrature point, then interpolated: Chebyshev in (ln M_A, ln M_V) (truncation ≤ 1e-12, ``SigmaTable.tail``) and
  linearly in E between grid energies (the one approximation of GENIE's Integral at the event's own E; measured by
  ``tests/test_res_shape.py``). Where σ_R(E; nom) = 0 on the grid, s_R := 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.polynomial import chebyshev as cheb

from nutune.simulator import res_bergersehgal as bs

__all__ = ["SHAPE_DIALS", "SHAPE_AXES", "ENERGY_GRID", "QUADRATURE", "SigmaTable", "sigma_table", "point_coefficients",
           "sigma_at"]

#: The three shape-mode dials (GSyst names; ``kModeNormAndMaMvShape``).
SHAPE_DIALS: tuple[str, ...] = ("NormCCRES", "MaCCRESshape", "MvCCRESshape")
#: The axes of the shape-mode RES response (the MaCCRES/MvCCRES axes of ``res_response.RES_AXES`` in shape mode).
SHAPE_AXES: tuple[str, ...] = ("MaCCRESshape", "MvCCRESshape", "MFP_pi")
#: Energies [GeV] of the σ_R(E; M_A, M_V) table: 30 MeV steps to 3 GeV, then logarithmic to the flux's 30 GeV.
ENERGY_GRID = np.unique(np.concatenate([np.linspace(0.24, 3.0, 93), np.geomspace(3.0, 30.0, 21)]))
#: (W panels, Q² points) of the σ_R quadrature (``res_bergersehgal._quadrature``).
QUADRATURE: tuple[int, int] = (16, 24)
#: RES-Ma values at which d²σ is evaluated to get its exact quadratic form in g (nominal and the anchors).
_MA_NODES: tuple[float, float, float] = (bs.RES_MA, 0.4, 2.2)
NUCLEONS: tuple[str, str] = ("p", "n")


def quadratic_form(d2: np.ndarray, q2: np.ndarray) -> np.ndarray:
    """(3, …) monomial coefficients (A, B, C) of d²σ = A + B g + C g² from d²σ at the RES-Ma values of
    :data:`_MA_NODES` (``d2`` (3, …)), g = (1 + Q²/M_A²)⁻²; the homogeneous form A r² + B r g + C g² then gives
    any (M_A, M_V) (every Berger–Sehgal helicity amplitude is linear in (G_V, G_A), ``RSHelicityAmplModelCC``)."""
    g = np.stack([(1.0 + q2 / (m * m)) ** -2 for m in _MA_NODES], axis=-1)  # (…, 3)
    vander = np.stack([np.ones_like(g), g, g * g], axis=-1)  # (…, 3 nodes, 3 powers)
    values = np.moveaxis(d2, 0, -1)[..., None]
    return np.moveaxis(np.linalg.solve(vander, values)[..., 0], -1, 0)


def point_coefficients(e: float, res: bs.Resonance, nucleon: str, quadrature: tuple[int, int] = QUADRATURE):
    """At the quadrature points of σ_R(E): (W (P,), Q² (P,), quadrature weights (P,), (A, B, C) (3, P)), or None
    where σ_R(E) = 0 (``res_bergersehgal._quadrature``)."""
    nodes = bs._quadrature(e, res, nucleon, *quadrature)
    if nodes is None:
        return None
    wn, q2n, jt, span, wwt = nodes
    w = np.broadcast_to(wn[:, None], q2n.shape)
    d2 = np.stack([bs.d2sigma_dw_dq2_per_resonance(e, w, q2n, nucleon, res, ma=m) for m in _MA_NODES])
    weights = (wwt * span)[:, None] * jt[None, :]
    return w.ravel(), q2n.ravel(), weights.ravel(), quadratic_form(d2.reshape(3, -1), q2n.ravel())


def sigma_at(points, nucleon: str, ma: np.ndarray, mv: np.ndarray) -> np.ndarray:
    """σ_R(E; M_A, M_V) [1e-38 cm²] on the (ma, mv) grid (len(ma), len(mv)) from :func:`point_coefficients`:
    Σ_P weight·(A r² + B r g + C g²), exact at every point."""
    w, q2, weights, (a, b, c) = points
    g = (1.0 + q2[:, None] / np.asarray(ma, dtype=float)[None, :] ** 2) ** -2  # (P, n_a)
    r = _vector_ratio(w, q2, nucleon, np.atleast_1d(np.asarray(mv, dtype=float)))  # (P, n_v)
    term_a = (weights * a) @ (r * r)  # (n_v,)
    term_c = (weights * c) @ (g * g)  # (n_a,)
    term_b = g.T @ ((weights * b)[:, None] * r)  # (n_a, n_v)
    return term_b + term_a[None, :] + term_c[:, None]


def _vector_ratio(w: np.ndarray, q2: np.ndarray, nucleon: str, mv: np.ndarray) -> np.ndarray:
    """(P, n_v) r = G_V(M_V)/G_V(nom) (``res_bergersehgal.vector_form_factor_ratio``) for many M_V at once."""
    m = bs._nucleon_mass(nucleon)
    w, q2neg = w[:, None], -q2[:, None]
    w2, m2 = w * w, m * m
    return bs._gv_root(w, w2, q2neg, m, m2, mv[None, :]) / bs._gv_root(w, w2, q2neg, m, m2, bs.RES_MV)


@dataclass
class SigmaTable:
    """s_R(E; M_A, M_V) = σ_R(E; M_A, M_V)/σ_R(E; nom) per nucleon and resonance on :data:`ENERGY_GRID`, as
    Chebyshev coefficients in (ln M_A, ln M_V) over the response's axis ranges."""

    energies: np.ndarray  # (n_E,)
    lo: np.ndarray  # (2,) ln M range per axis
    hi: np.ndarray
    coef: np.ndarray  # (2 nucleons, R, n_E, n_a, n_v)
    tail: float  # largest highest-order Chebyshev coefficient (truncation)

    def ratio(self, ma: float, mv: float) -> np.ndarray:
        """(2, R, n_E) s_R at one (M_A, M_V) on the energy grid."""
        y = 2.0 * (np.log([ma, mv]) - self.lo) / (self.hi - self.lo) - 1.0
        va = cheb.chebvander(np.array([y[0]]), self.coef.shape[3] - 1)[0]
        vv = cheb.chebvander(np.array([y[1]]), self.coef.shape[4] - 1)[0]
        return np.einsum("a,nreav,v->nre", va, self.coef, vv)

    def node_values(self) -> np.ndarray:
        """(2, R, n_E, n_a, n_v) s_R at the Chebyshev nodes themselves."""
        from nutune.simulator.res_response import _first_kind_nodes

        va, vv = (cheb.chebvander(_first_kind_nodes(n), n - 1) for n in self.coef.shape[3:])
        return np.einsum("pa,nreav,qv->nrepq", va, self.coef, vv)


def interpolate_energy(table: np.ndarray, energies: np.ndarray, enu: np.ndarray) -> np.ndarray:
    """Linear interpolation in E of ``table`` (n_E, …) at ``enu`` (n,) → (n, …) (clamped at the grid's ends)."""
    j = np.clip(np.searchsorted(energies, enu, side="right") - 1, 0, energies.size - 2)
    t = np.clip((enu - energies[j]) / (energies[j + 1] - energies[j]), 0.0, 1.0)
    t = t.reshape(-1, *([1] * (table.ndim - 1)))
    return (1.0 - t) * table[j] + t * table[j + 1]


@lru_cache(maxsize=2)
def sigma_table(quadrature: tuple[int, int] = QUADRATURE) -> SigmaTable:
    """The s_R table (:class:`SigmaTable`) of every resonance on protons and neutrons: σ_R computed at the
    response's Chebyshev nodes (:func:`sigma_at`), divided by σ_R(nom) (the same quadrature), turned into
    coefficients. Costs ~10 s (3 Berger–Sehgal evaluations per quadrature point)."""
    from nutune.dials import REGISTRY
    from nutune.simulator.res_response import (
        GLOBAL_NODES,
        _axis_range,
        _first_kind_nodes,
        _values_to_coefficients,
    )

    ranges = [_axis_range(d) for d in ("MaCCRESshape", "MvCCRESshape")]
    lo, hi = np.array([r[0] for r in ranges]), np.array([r[1] for r in ranges])
    n_a, n_v = GLOBAL_NODES[:2]
    ma = np.exp(0.5 * (lo[0] + hi[0]) + 0.5 * (hi[0] - lo[0]) * _first_kind_nodes(n_a))
    mv = np.exp(0.5 * (lo[1] + hi[1]) + 0.5 * (hi[1] - lo[1]) * _first_kind_nodes(n_v))
    nom_ma, nom_mv = REGISTRY["MaCCRESshape"].nominal, REGISTRY["MvCCRESshape"].nominal
    resonances = list(bs.RESONANCES.values())
    values = np.ones((2, len(resonances), ENERGY_GRID.size, n_a, n_v))
    for k, nucleon in enumerate(NUCLEONS):
        for j, res in enumerate(resonances):
            for i, e in enumerate(ENERGY_GRID):
                points = point_coefficients(float(e), res, nucleon, quadrature)
                if points is None:
                    continue
                nominal = float(sigma_at(points, nucleon, np.array([nom_ma]), np.array([nom_mv]))[0, 0])
                if nominal > 0.0:
                    values[k, j, i] = sigma_at(points, nucleon, ma, mv) / nominal
    coef = np.einsum("ap,nrepq,vq->nreav", _values_to_coefficients(n_a), values, _values_to_coefficients(n_v))
    tail = float(max(np.abs(coef[..., -1, :]).max(), np.abs(coef[..., -1]).max()))
    return SigmaTable(energies=ENERGY_GRID.copy(), lo=lo, hi=hi, coef=coef, tail=tail)
