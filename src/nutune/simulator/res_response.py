"""The π-absorbed RES background as an exact function of MaCCRES, MvCCRES, MFP_pi and the pion fate dials jointly.

Per event i (weight w_i, the pion absorbed) GENIE Reweight multiplies three calculators' weights:

* ``GReWeightNuXSecCCRES`` (kModeMaMv): ρ_i = c₀ r² + c₁ r g + c₂ g², g = (1 + Q²/M_A²)⁻², r = G_V(M_V)/G_V(nom)
  (:meth:`nutune.simulator.events.RESSample.xsec_ratio`, exact);
* ``GReWeightINuke`` MFP_pi: μ_i(u) = P_int(τ_i u)/P_int(τ_i), u = 1/s (:meth:`RESSample.mfp_ratio`);
* ``GReWeightINuke`` fates: 1 + Σ_j (s_j − 1) c_ij(KE_i) for the named set, or s_abs when FrAbs_pi is named
  (:func:`nutune.simulator.pion_fsi.absorbed_pion_coefficients`).

So the background in bin b is H_b = Σ_k f_k(fates) H_bk(a, v, u) with f = (1, s_j − 1, …) and the 1 + 12 component
histograms H_bk(a, v, u) = Σ_{i∈b} w_i C_ik ρ_i μ_i (C_i0 = 1, C_ik the cushion coefficient of one fate of one named
set), smooth functions of a = ln M_A^RES, v = ln M_V^RES and u. Each is represented as follows:

1. **Global Chebyshev interpolant** on :data:`GLOBAL_NODES` first-kind nodes per axis over the builtin valid range:
   H_bk is computed *exactly* at every node (per bin one matrix product Σ_i (w_i C_ik μ_i(u_m)) ρ_i(a_p, v_q) over
   its events), then turned into Chebyshev coefficients. Its truncation (the size of the highest coefficients,
   ``metadata["chebyshev_tail"]``) is ≤ 1e-10 of the bin.
2. **Block Tucker compression**: each axis is cut into :data:`CELLS` equal cells; on each cell the interpolant is
   re-expanded exactly in local Chebyshev polynomials, and a rank-k orthonormal basis of that axis-cell (the leading
   left singular vectors of the local coefficient unfolding over every component, bin and other-axis coefficient,
   each bin scaled by its nominal total histogram) is kept, k the smallest rank whose dropped singular values are
   below :data:`RANK_TOLERANCE`. A box (one cell per axis) holds the core tensor (components, k_a, k_v, k_u, bins).

At θ: φ_d = T(y_d)·U_d (local Chebyshev values times the cell's basis) per axis and H_b = Σ_k f_k Σ core φ_a φ_v φ_u —
(1 + named fates)·k_a k_v k_u multiply-adds per bin. The build measures the evaluation error against the global
interpolant at random points (``metadata["max_error"]``, relative to the nominal total of each bin), and
``tests/test_simulator_templates.py`` the whole chain against per-event reweighting.

Dials a θ does not name stay at nominal; their axes are contracted once per dial set (cached), so e.g. a MaCCRES-only
θ costs k_a multiply-adds per bin and component. With no RES axis named (only fates) the components are the exact
per-event sums at the nominal RES dials (``nominal``), as GENIE's fate weights alone are linear.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations, product
from typing import Any

import numpy as np
from numpy.polynomial import chebyshev as cheb

from nutune.dials import PION_FATES, REGISTRY

__all__ = [
    "RES_AXES",
    "CUSHION_FATES",
    "FATE_SETS",
    "COMPONENTS",
    "GLOBAL_NODES",
    "CELLS",
    "RANK_TOLERANCE",
    "MINERVA_RANK_TOLERANCE",
    "ResResponse",
    "axis_variable",
    "build_res_response",
]

#: The continuous RES dials, the three axes of the response (in this order).
RES_AXES: tuple[str, ...] = ("MaCCRES", "MvCCRES", "MFP_pi")
#: The pion fate dials that reach the absorbed-pion background through the absorption cushion, and every set of
#: them that can be named with absorption left the cushion.
CUSHION_FATES: tuple[str, ...] = tuple(f for f in PION_FATES if f != "FrAbs_pi")
FATE_SETS: tuple[tuple[str, ...], ...] = tuple(
    c for k in range(1, len(CUSHION_FATES) + 1) for c in combinations(CUSHION_FATES, k))
#: Component histograms: the plain background (``()``) and, per named set, one per fate of it.
COMPONENTS: tuple[tuple[tuple[str, ...], str], ...] = ((((), ""),)
                                                      + tuple((s, f) for s in FATE_SETS for f in s))
#: Chebyshev nodes per axis of the global interpolant (a, v, u).
GLOBAL_NODES: tuple[int, int, int] = (20, 20, 24)
#: Equal cells per axis of the block compression.
CELLS: tuple[int, int, int] = (4, 2, 4)
#: Dropped singular values (relative to the largest of the axis-cell's unfolding) allowed per axis.
RANK_TOLERANCE = 3e-8
#: The same for the MINERvA templates: their RES events reach larger Q², where g = (1 + Q²/M_A²)⁻² varies more over
#: the MaCCRES range, and at 3e-8 the compressed response is off by up to 1.2e-6 of a bin (ranks 7, 7, 7, measured on
#: 2e4 and 1e6 events); at 3e-9 the ranks are 8, 8, 8 and the error 9e-8, T2K's level.
MINERVA_RANK_TOLERANCE = 3e-9
_RANDOM_CHECKS = 256
_EVENT_CHUNK = 16384


def axis_variable(dial: str, value: Any) -> np.ndarray:
    """The response's variable of a RES dial's physical value: ln M for MaCCRES/MvCCRES, u = 1/s for MFP_pi (in
    which the per-event weight (1 − e^(−τu))/(1 − e^(−τ)) is smooth, linear for small τ)."""
    x = np.asarray(value, dtype=float)
    return 1.0 / x if dial == "MFP_pi" else np.log(x)


def _nominal_variable(axis: int) -> float:
    """The variable of RES axis ``axis`` at its dial's nominal value."""
    return float(axis_variable(RES_AXES[axis], REGISTRY[RES_AXES[axis]].nominal))


def _axis_range(dial: str) -> tuple[float, float]:
    lo, hi = (float(v) for v in axis_variable(dial, REGISTRY[dial].valid_range))
    return (min(lo, hi), max(lo, hi))


def _first_kind_nodes(n: int) -> np.ndarray:
    """Chebyshev points of the first kind in [−1, 1], ascending."""
    return np.cos(np.pi * (np.arange(n) + 0.5) / n)[::-1].copy()


def _values_to_coefficients(n: int) -> np.ndarray:
    """(n, n) matrix: values at :func:`_first_kind_nodes` → Chebyshev coefficients of the interpolant."""
    return np.linalg.inv(cheb.chebvander(_first_kind_nodes(n), n - 1))


def _apply(matrix: np.ndarray, tensor: np.ndarray, axis: int) -> np.ndarray:
    """``matrix`` (m, n) applied along ``axis`` (length n) of ``tensor``."""
    return np.moveaxis(np.tensordot(matrix, np.moveaxis(tensor, axis, 0), axes=(1, 0)), 0, axis)


@dataclass
class ResResponse:
    """The block-Tucker representation of the background's component histograms (see the module doc)."""

    lo: np.ndarray  # (3,) variable range per axis
    hi: np.ndarray
    bases: tuple[np.ndarray, np.ndarray, np.ndarray]  # per axis (cells, local nodes, rank)
    cores: np.ndarray  # (components, cells_a, cells_v, cells_u, k_a, k_v, k_u, n_all)  (n_all = 67 for T2K)
    nominal: np.ndarray  # (components, n_all): every component at the nominal RES dials, exact (per-event sums)
    metadata: dict = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def cells(self) -> tuple[int, int, int]:
        return tuple(int(b.shape[0]) for b in self.bases)

    @property
    def ranks(self) -> tuple[int, int, int]:
        return tuple(int(b.shape[2]) for b in self.bases)

    def _locate(self, axis: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cell index, local coordinate y in [−1, 1]) of variable values x on ``axis``."""
        n = self.bases[axis].shape[0]
        t = (np.asarray(x, dtype=float) - self.lo[axis]) / (self.hi[axis] - self.lo[axis]) * n
        cell = np.clip(np.floor(t).astype(int), 0, n - 1)
        return cell, np.clip(2.0 * (t - cell) - 1.0, -1.0, 1.0)

    def basis_values(self, axis: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cell (n,), φ (n, k)): the axis's rank-k basis functions at variable values x."""
        cell, y = self._locate(axis, x)
        vander = cheb.chebvander(y, self.bases[axis].shape[1] - 1)
        return cell, np.einsum("nm,nmk->nk", vander, self.bases[axis][cell])

    def table(self, components: tuple[int, ...], free: tuple[int, ...], fixed: dict[int, float],
              columns: np.ndarray) -> np.ndarray:
        """Cores reduced to the ``free`` axes: the ``fixed`` axes contracted at their variable values →
        (cells of the free axes…, len(components)·Π k_free, bins), cached."""
        key = (components, free, tuple(sorted(fixed.items())), columns.tobytes())
        if key not in self._cache:
            core = self.cores[list(components)][..., columns]  # (c, Ca, Cv, Cu, ka, kv, ku, b)
            cells, ranks = "AVU", "avu"
            operands, subscripts = [core], ["c" + cells + ranks + "b"]
            for axis, x in fixed.items():
                cell, phi = self.basis_values(axis, np.array([x]))
                onehot = np.zeros(self.cells[axis])
                onehot[int(cell[0])] = 1.0
                operands += [onehot, phi[0]]
                subscripts += [cells[axis], ranks[axis]]
            out = ("".join(cells[a] for a in free) + "c" + "".join(ranks[a] for a in free) + "b")
            reduced = np.einsum(",".join(subscripts) + "->" + out, *operands)
            n_free = len(free)
            shape = reduced.shape
            self._cache[key] = np.ascontiguousarray(
                reduced.reshape(*shape[:n_free], int(np.prod(shape[n_free:-1])), shape[-1]))
        return self._cache[key]

    def evaluate(self, factors: np.ndarray, components: tuple[int, ...], free: dict[int, np.ndarray],
                 fixed: dict[int, float], columns: np.ndarray) -> np.ndarray:
        """Σ_k factors[:, k]·H_{components[k]} at the free axes' variable values (n,) and the fixed ones → (n, b).

        Rows are grouped by box; per box the design (factors ⊗ φ_a ⊗ φ_v ⊗ φ_u of the free axes) times the box's
        reduced core is one matrix product."""
        n = factors.shape[0]
        axes = tuple(sorted(free))
        if not axes and all(fixed[a] == _nominal_variable(a) for a in fixed):
            return factors @ self.nominal[list(components)][:, columns]
        tab = self.table(components, axes, fixed, columns)
        tab = tab.reshape(-1, *tab.shape[-2:])
        if not axes:
            return factors @ tab[0]
        located = [self._locate(a, free[a]) for a in axes]
        flat_cell = np.zeros(n, dtype=int)
        for a, (cell, _) in zip(axes, located, strict=True):
            flat_cell = flat_cell * self.cells[a] + cell
        vanders = [cheb.chebvander(y, self.bases[a].shape[1] - 1) for a, (_, y) in zip(axes, located, strict=True)]
        out = np.empty((n, tab.shape[-1]))
        order = np.argsort(flat_cell, kind="stable")
        counts = np.bincount(flat_cell, minlength=tab.shape[0])
        starts = np.concatenate([[0], np.cumsum(counts)])
        k_last, n_bins = self.bases[axes[-1]].shape[2], tab.shape[-1]
        for box in np.flatnonzero(counts):
            rows = order[starts[box] : starts[box + 1]]
            design = factors[rows]
            phis = [vander[rows] @ self.bases[a][cell[rows[0]]]
                    for a, (cell, _), vander in zip(axes, located, vanders, strict=True)]
            for phi in phis[:-1]:
                design = (design[:, :, None] * phi[:, None, :]).reshape(rows.size, -1)
            # the last axis after the product: (n, W/k)·(W/k, k·b), then Σ_k φ_k — no (n, W) design in memory
            partial = design @ tab[box].reshape(-1, k_last * n_bins)
            out[rows] = np.einsum("nk,nkb->nb", phis[-1], partial.reshape(rows.size, k_last, n_bins))
        return out

    def evaluate_torch(self, factors, components: tuple[int, ...], free: dict, fixed: dict[int, float],
                       columns: np.ndarray):
        """The same with torch tensors (``factors`` (n, c), ``free`` {axis: (n,) variable}): differentiable."""
        import torch

        n = factors.shape[0]
        dtype, device = factors.dtype, factors.device
        axes = tuple(sorted(free))
        key = ("torch", components, axes, tuple(sorted(fixed.items())), columns.tobytes(), dtype, str(device))
        if key not in self._cache:
            tab = self.table(components, axes, fixed, columns)
            self._cache[key] = (
                torch.as_tensor(tab.reshape(-1, *tab.shape[-2:]), dtype=dtype, device=device),
                [torch.as_tensor(self.bases[a], dtype=dtype, device=device) for a in axes],
            )
        tab_t, bases_t = self._cache[key]
        if not axes and all(fixed[a] == _nominal_variable(a) for a in fixed):
            key_n = ("torch-nominal", components, columns.tobytes(), dtype, str(device))
            if key_n not in self._cache:
                self._cache[key_n] = torch.as_tensor(self.nominal[list(components)][:, columns], dtype=dtype,
                                                     device=device)
            return factors @ self._cache[key_n]
        design = factors
        flat_cell = torch.zeros(n, dtype=torch.long, device=device)
        for axis, basis in zip(axes, bases_t, strict=True):
            x = free[axis]
            cells = self.cells[axis]
            t = (x - float(self.lo[axis])) / float(self.hi[axis] - self.lo[axis]) * cells
            cell = torch.clamp(torch.floor(t.detach()).long(), 0, cells - 1)
            y = torch.clamp(2.0 * (t - cell.to(dtype)) - 1.0, -1.0, 1.0)
            vander = [torch.ones_like(y), y]
            for _ in range(basis.shape[1] - 2):
                vander.append(2.0 * y * vander[-1] - vander[-2])
            phi = torch.einsum("nm,nmk->nk", torch.stack(vander[: basis.shape[1]], dim=1), basis[cell])
            design = (design[:, :, None] * phi[:, None, :]).reshape(n, -1)
            flat_cell = flat_cell * cells + cell
        out = torch.zeros((n, tab_t.shape[-1]), dtype=dtype, device=device)
        for box in torch.unique(flat_cell).tolist():
            rows = torch.nonzero(flat_cell == box).squeeze(1)
            out = out.index_add(0, rows, design[rows] @ tab_t[box])
        return out


def _component_weights(res) -> np.ndarray:
    """(n, len(COMPONENTS)) per-event weights w_i C_ik."""
    from nutune.simulator.pion_fsi import absorbed_pion_coefficients

    cols = [res.w]
    coefficients = {s: absorbed_pion_coefficients(res.pion_ke, s) for s in FATE_SETS}
    cols += [res.w * coefficients[s][f] for s, f in COMPONENTS[1:]]
    return np.stack(cols, axis=1)


def _node_values(res, area: np.ndarray, shape: bool = False) -> np.ndarray:
    """(components, n_all, N_a, N_v, N_u): every component histogram at the global nodes, exact (per-event sums); with
    ``shape`` the RES weight is GENIE's shape mode (:mod:`nutune.simulator.res_shape`) instead of kModeMaMv."""
    na, nv, nu = GLOBAL_NODES
    grids = []
    for dial, n in zip(RES_AXES, GLOBAL_NODES, strict=True):
        lo, hi = _axis_range(dial)
        x = 0.5 * (lo + hi) + 0.5 * (hi - lo) * _first_kind_nodes(n)
        grids.append(np.exp(x) if dial != "MFP_pi" else 1.0 / x)  # physical values at the nodes
    ma_nodes, mv_nodes, s_nodes = grids
    weights = _component_weights(res)
    n_comp = weights.shape[1]
    n_all = area.size
    out = np.zeros((n_comp, n_all, na, nv, nu))
    order = np.argsort(res.bin67, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(res.bin67, minlength=n_all))])
    kernel_of = _shape_kernel(res) if shape else _mamv_kernel(res)
    for b in range(n_all):
        for first in range(starts[b], starts[b + 1], _EVENT_CHUNK):  # bounded temporaries for the largest bins
            rows = order[first : min(first + _EVENT_CHUNK, starts[b + 1])]
            kernel = kernel_of(rows, ma_nodes, mv_nodes)
            sub = _subsample(res, rows)
            mfp = np.stack([sub.mfp_ratio(s) for s in s_nodes], axis=1)  # (n, N_u)
            left = (weights[rows][:, :, None] * mfp[:, None, :]).reshape(rows.size, n_comp * nu)
            out[:, b] += (left.T @ kernel.reshape(rows.size, na * nv)).reshape(n_comp, nu, na, nv).transpose(0, 2, 3, 1)
    return out / area[None, :, None, None, None]


def _node_ratios(res, rows: np.ndarray, ma_nodes: np.ndarray, mv_nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(g (n, N_a), r (n, N_v)) of ``rows`` at the (M_A, M_V) nodes."""
    from nutune.simulator.res_bergersehgal import vector_form_factor_ratio

    g = (1.0 + res.q2[rows][:, None] / ma_nodes[None, :] ** 2) ** -2  # (n, N_a)
    r = np.empty((rows.size, mv_nodes.size))
    for nucleon, mask in (("p", res.is_p[rows]), ("n", ~res.is_p[rows])):
        for q, mv in enumerate(mv_nodes):
            r[mask, q] = vector_form_factor_ratio(res.w_had[rows][mask], res.q2[rows][mask], nucleon, mv)
    return g, r


def _mamv_kernel(res):
    """kModeMaMv: ρ = c₀ r² + c₁ r g + c₂ g² on the (a, v) node grid (``RESSample.xsec_ratio``)."""
    c0, c1, c2 = res.xsec_coefficients()

    def kernel_of(rows, ma_nodes, mv_nodes):
        g, r = _node_ratios(res, rows, ma_nodes, mv_nodes)
        kernel = g[:, :, None] * r[:, None, :]  # in place
        kernel *= c1[rows, None, None]
        kernel += c0[rows, None, None] * (r * r)[:, None, :]
        kernel += c2[rows, None, None] * (g * g)[:, :, None]
        return kernel

    return kernel_of


def _shape_kernel(res):
    """kModeNormAndMaMvShape (without N_RES): Σ_R (c₀,R r² + c₁,R r g + c₂,R g²)/s_R(E) on the (a, v) node grid
    (``RESSample.shape_ratio``; s_R at the nodes are the table's node values, interpolated linearly in E)."""
    from nutune.simulator.res_shape import interpolate_energy, sigma_table

    coefficients = res.resonance_coefficients()  # (3, R, n)
    table = sigma_table()
    nodes = table.node_values()  # (2, R, n_E, N_a, N_v)

    def kernel_of(rows, ma_nodes, mv_nodes):
        g, r = _node_ratios(res, rows, ma_nodes, mv_nodes)
        kernel = np.zeros((rows.size, ma_nodes.size, mv_nodes.size))
        for k, mask in enumerate((res.is_p[rows], ~res.is_p[rows])):
            sub = rows[mask]
            gm, rm = g[mask][:, :, None], r[mask][:, None, :]
            for j in np.flatnonzero(np.any(coefficients[:, :, sub] != 0.0, axis=(0, 2))):
                c0, c1, c2 = (coefficients[m, j, sub][:, None, None] for m in range(3))
                s = interpolate_energy(nodes[k, j], table.energies, res.enu[sub])
                kernel[mask] += (c0 * rm * rm + c1 * rm * gm + c2 * gm * gm) / s
        return kernel

    return kernel_of


def _subsample(res, rows: np.ndarray):
    """The MFP_pi ingredients of ``rows`` of a RES sample (a light view with :meth:`mfp_ratio`)."""
    from nutune.simulator.events import RESSample

    view = RESSample.__new__(RESSample)
    view.pion_tau = res.pion_tau[:, rows]
    view.p_pi0 = res.p_pi0[rows]
    view.meta = {"absorption": res.meta.get("absorption")}
    return view


def build_res_response(res, area: np.ndarray, scale: np.ndarray, shape: bool = False,
                       tolerance: float = RANK_TOLERANCE) -> ResResponse | None:
    """The response of a GENIE Berger–Sehgal RES sample with pion paths; ``scale`` (n_all,) the nominal total histogram
    per bin, the unit of the compression's tolerance. ``None`` for the parametrised Δ background. With ``shape`` the
    a, v axes are MaCCRESshape, MvCCRESshape (GENIE's kModeNormAndMaMvShape, :mod:`nutune.simulator.res_shape`;
    the same ranges and nodes as MaCCRES, MvCCRES)."""
    if not res.reweightable or res.pion_tau is None or res.pion_ke is None:
        return None
    response = compress(_node_values(res, area, shape), scale, tolerance=tolerance)
    weights = _component_weights(res)
    response.nominal = np.stack([np.bincount(res.bin67, weights[:, k], area.size) for k in range(weights.shape[1])]) / area
    return response


def compress(values: np.ndarray, scale: np.ndarray, cells: tuple[int, int, int] = CELLS,
             tolerance: float = RANK_TOLERANCE) -> ResResponse:
    """Block-Tucker representation (module doc) of component histograms ``values`` at the global nodes."""
    unit = np.where(scale > 0, scale, np.max(scale))[None, :, None, None, None]
    coef = values / unit
    for axis, n in enumerate(coef.shape[2:]):
        coef = _apply(_values_to_coefficients(n), coef, 2 + axis)
    tail = max(float(np.abs(np.take(coef, [-1], axis=2 + a)).max()) for a in range(3))
    lo = np.array([_axis_range(d)[0] for d in RES_AXES])
    hi = np.array([_axis_range(d)[1] for d in RES_AXES])
    m = max(coef.shape[2:])
    to_local = _values_to_coefficients(m)
    # per axis and cell: global coefficients → local coefficients (exact re-expansion, degree N − 1 ≤ m − 1)
    local_maps = []
    for n, n_cells in zip(coef.shape[2:], cells, strict=True):
        edges = np.linspace(-1.0, 1.0, n_cells + 1)
        maps = []
        for c in range(n_cells):
            x = 0.5 * (edges[c] + edges[c + 1]) + 0.5 * (edges[c + 1] - edges[c]) * _first_kind_nodes(m)
            maps.append(to_local @ cheb.chebvander(x, n - 1))  # (m, n)
        local_maps.append(maps)
    # rank-k basis per axis cell (the same k for every cell of an axis)
    bases, ranks = [], []
    for axis in range(3):
        per_cell = []
        for c in range(cells[axis]):
            local = _apply(local_maps[axis][c], coef, 2 + axis)
            unfold = np.moveaxis(local, 2 + axis, 0).reshape(m, -1)
            # left singular vectors of the wide (m, many) unfolding from its R factor (same values, stable, fast)
            u, sv, _ = np.linalg.svd(np.linalg.qr(unfold.T, mode="r").T, full_matrices=False)
            per_cell.append((u, sv))
        k = max(int(np.searchsorted(-sv / sv[0], -tolerance)) for _, sv in per_cell)
        k = max(1, min(k, m))
        ranks.append(k)
        bases.append(np.stack([u[:, :k] for u, _ in per_cell]))
    n_comp = coef.shape[0]
    n_all = coef.shape[1]
    cores = np.empty((n_comp, *cells, *ranks, n_all))
    projectors = [[bases[a][c].T @ local_maps[a][c] for c in range(cells[a])] for a in range(3)]
    for ca in range(cells[0]):
        part_a = _apply(projectors[0][ca], coef, 2)
        for cv in range(cells[1]):
            part_v = _apply(projectors[1][cv], part_a, 3)
            for cu in range(cells[2]):
                local = _apply(projectors[2][cu], part_v, 4)
                cores[:, ca, cv, cu] = np.moveaxis(local, 1, -1) * unit[0, :, 0, 0, 0]
    response = ResResponse(lo=lo, hi=hi, bases=tuple(bases), cores=cores, nominal=np.zeros((n_comp, n_all)))
    response.metadata = {"global_nodes": list(coef.shape[2:]), "cells": list(cells), "ranks": ranks,
                         "rank_tolerance": tolerance, "chebyshev_tail": tail,
                         "max_error": _check(response, coef, unit)}
    return response


def _check(response: ResResponse, coef: np.ndarray, unit: np.ndarray) -> float:
    """Max |compressed − global interpolant| over every component and bin at random points, relative to ``unit``."""
    gen = np.random.default_rng(0)
    y = gen.uniform(-1.0, 1.0, (_RANDOM_CHECKS, 3))
    y[:8] = np.array(list(product((-1.0, 1.0), repeat=3)))  # the corners
    x = response.lo + 0.5 * (y + 1.0) * (response.hi - response.lo)
    vander = [cheb.chebvander(y[:, a], n - 1) for a, n in enumerate(coef.shape[2:])]
    exact = np.einsum("pa,pv,pu,cbavu->pcb", *vander, coef, optimize=True)
    n_comp = coef.shape[0]
    cols = np.arange(coef.shape[1])
    worst = 0.0
    for k in range(n_comp):
        factors = np.ones((_RANDOM_CHECKS, 1))
        approx = response.evaluate(factors, (k,), {0: x[:, 0], 1: x[:, 1], 2: x[:, 2]}, {}, cols)
        worst = max(worst, float(np.abs(approx / unit[0, :, 0, 0, 0] - exact[:, k]).max()))
    return worst
