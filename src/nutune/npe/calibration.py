"""Post-hoc marginal calibration (``npe.calibration: marginal``, nutune's addition; not in the papers).

After training, one elementwise monotone spline on the flow's base coordinates is fitted by maximum likelihood on
sbi's validation rows (:func:`fit_marginal_calibration`) and appended to the flow; ``none`` keeps the papers'
network as trained.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from torch import nn

from nutune.dials import PARAMETER_NAMES
from nutune.npe._sbi_compat import composed_transforms, flow_transform, set_flow_transform

__all__ = [
    "CALIBRATION_BINS",
    "CALIBRATION_TAIL_BOUND",
    "marginal_calibration_layer",
    "attach_calibration",
    "detach_calibration",
    "base_coordinates",
    "fit_marginal_calibration",
]

logger = logging.getLogger("nutune.npe")

#: Most spline bins and the tail bound of the calibration layer (identity outside [-bound, bound] in base
#: coordinates). The fit uses one bin per 1000 held-out rows, between 2 and CALIBRATION_BINS (16 for the 20 000
#: validation rows of the paper run), so that a small validation split cannot be over-fitted.
CALIBRATION_BINS = 16
CALIBRATION_TAIL_BOUND = 5.0
CALIBRATION_ROWS_PER_BIN = 1000


def marginal_calibration_layer(
    num_bins: int = CALIBRATION_BINS, tail_bound: float = CALIBRATION_TAIL_BOUND, n_par: int = len(PARAMETER_NAMES)
) -> nn.Module:
    """An elementwise monotone rational-quadratic spline (nflows ``PiecewiseRationalQuadraticCDF``, Durkan et al.
    2019) on the flow's base coordinates, initialised to the identity, with linear (identity) tails."""
    from nflows.transforms import PiecewiseRationalQuadraticCDF

    return PiecewiseRationalQuadraticCDF(
        shape=n_par, num_bins=num_bins, tails="linear", tail_bound=tail_bound, identity_init=True
    )


def attach_calibration(estimator: nn.Module, layer: nn.Module) -> None:
    """Append ``layer`` at the base end of the flow: log q(u|x) = log N(g(z)) + log|g'(z)| + log|dz/du|."""
    from nflows.transforms import CompositeTransform

    set_flow_transform(estimator, CompositeTransform([flow_transform(estimator), layer]))


def detach_calibration(estimator: nn.Module) -> None:
    """Undo :func:`attach_calibration`: the flow as sbi trained it (the first of the two composed transforms)."""
    set_flow_transform(estimator, composed_transforms(flow_transform(estimator))[0])


def base_coordinates(estimator: nn.Module, u: torch.Tensor, xt: torch.Tensor, chunk_size: int = 8192) -> torch.Tensor:
    """z = f(u; x): the flow's base-space image of unit-box parameters u given transformed histograms xt (nflows'
    ``Flow.transform_to_noise``, in chunks)."""
    flow = estimator.net
    with torch.no_grad():
        return torch.cat([
            flow.transform_to_noise(u[lo : lo + chunk_size], context=xt[lo : lo + chunk_size])
            for lo in range(0, len(u), chunk_size)
        ])


def fit_marginal_calibration(
    z: torch.Tensor, *, max_iterations: int = 100, num_bins: int | None = None
) -> tuple[nn.Module, dict[str, Any]]:
    """Maximum-likelihood fit of an elementwise monotone spline g with g(z) ~ N(0, 1) on held-out base coordinates.

    Deterministic: the spline starts as the identity and L-BFGS draws no random numbers.

    Why (nutune's addition; not in the papers): on a deterministic simulator the NPE's posterior width is only the
    network's own approximation error, which keeps shrinking during training; the flow's predicted width lags
    behind, so a network stopped within a time budget is under-confident (empirical coverage above nominal). On
    rows the gradient never saw (sbi's validation split) the base coordinates z = f(u; x) of a calibrated flow are
    N(0, I); measured here they are too concentrated (second moments < 1, peaked). Appending one elementwise
    spline layer g, fitted by maximum likelihood on those rows with everything else frozen, is the flow analogue of
    temperature scaling (Guo et al. 2017): it changes mainly the width and shape of every posterior (a shift only
    where the held-out z are off-centre), not its x dependence, and it is a bijection, so sampling and densities
    stay exact.

    Args:
        z: (n, d) base coordinates of held-out rows (from :func:`base_coordinates`).
        max_iterations: iterations of full-batch L-BFGS (torch, strong-Wolfe line search). Measured on 20 000 x 4
            synthetic coordinates (another process on the core): 60 iterations 5.9 s, 120 iterations 9.3 s, NLL
            within 0.0011 nats of each other; 1500 Adam steps (lr 1e-2) took 147 s and ended 0.016 nats higher.
            In the default run the 100-iteration fit took 7 s.
        num_bins: spline bins; default one per 1000 rows, clipped to [2, 16].

    Returns:
        ``(layer, stats)``: the fitted layer (eval mode, no gradients needed) and JSON-serialisable numbers:
        rows, bins, mean negative log-likelihood before/after, second moments of z and of g(z).
    """
    from nflows.distributions import StandardNormal

    z = z.detach().to(torch.float32)
    if num_bins is None:
        num_bins = int(np.clip(len(z) // CALIBRATION_ROWS_PER_BIN, 2, CALIBRATION_BINS))
    layer = marginal_calibration_layer(num_bins, n_par=int(z.shape[-1])).to(z.device)
    base = StandardNormal((z.shape[1],)).to(z.device)
    optimizer = torch.optim.LBFGS(
        layer.parameters(), lr=1.0, max_iter=int(max_iterations), history_size=20, line_search_fn="strong_wolfe",
        tolerance_grad=1e-9, tolerance_change=1e-12,
    )

    def nll() -> torch.Tensor:
        zp, logdet = layer(z)
        return -(base.log_prob(zp) + logdet).mean()

    with torch.no_grad():
        before = float(nll())

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = nll()
        loss.backward()
        return loss

    optimizer.step(closure)
    layer.eval()
    for parameter in layer.parameters():
        parameter.requires_grad_(False)
    with torch.no_grad():
        after = float(nll())
        zp, _ = layer(z)
    stats = {
        "rows": int(len(z)),
        "bins": int(num_bins),
        "nll_before": before,
        "nll_after": after,
        "second_moment_before": [float(v) for v in (z**2).mean(0)],
        "second_moment_after": [float(v) for v in (zp**2).mean(0)],
    }
    logger.info(
        "marginal calibration on %d held-out rows: NLL %.4f -> %.4f, E[z^2] %s -> %s", len(z), before, after,
        np.round(stats["second_moment_before"], 3).tolist(), np.round(stats["second_moment_after"], 3).tolist(),
    )
    return layer, stats
