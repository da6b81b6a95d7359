"""The network of arXiv:2510.07454 / arXiv:2603.09778 (paper.md §6): embedding MLP + sbi conditional flow.

* **Embedding net**: ``bins -> embedding_hidden[0] -> ReLU -> ... -> embedding_dim`` (P25: 58 -> 45 -> 32 -> 24),
* **conditional flow**: ``sbi.neural_nets.posterior_nn(model=density_estimator, num_transforms, hidden_features)``
  (P25: MAF, 6 x 55; ``nsf`` allowed), built from the ``network`` metadata block (:func:`nutune.npe.spec.network_block`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from nutune.dials import PARAMETER_NAMES
from nutune.npe.spec import CALIBRATIONS, NSF_NUM_BINS

__all__ = ["build_embedding_net", "PartsEmbedding", "density_builder", "build_density_estimator"]


def build_embedding_net(bins: int, hidden: Sequence[int], output_dim: int) -> nn.Sequential:
    """The embedding MLP of paper.md §6: ``bins -> hidden[0] -> ReLU -> ... -> hidden[-1] -> ReLU -> output_dim``.

    With ``bins=58, hidden=(45, 32), output_dim=24`` this is exactly the P25 network.
    """
    layers: list[nn.Module] = []
    width = int(bins)
    for h in hidden:
        layers += [nn.Linear(width, int(h)), nn.ReLU()]
        width = int(h)
    layers.append(nn.Linear(width, int(output_dim)))
    return nn.Sequential(*layers)


class PartsEmbedding(nn.Module):
    """One embedding MLP per block of x's columns (``parts``: the blocks' column counts, e.g. T2K 58 + MINERvA 144 of
    a joint measurement), each ``block -> hidden -> ReLU ... -> its share of output_dim``, the outputs concatenated:
    the flow's context has the same width as the shared embedding's, each experiment is compressed on its own."""

    def __init__(self, parts: Sequence[int], hidden: Sequence[int], output_dim: int) -> None:
        super().__init__()
        self.sizes = [int(b) for b in parts]
        k = len(self.sizes)
        if k < 2 or int(output_dim) < k:
            raise ValueError(f"embedding_parts {self.sizes}: need two or more blocks and embedding_dim >= {k}")
        shares = [int(output_dim) // k + (1 if i < int(output_dim) % k else 0) for i in range(k)]
        self.nets = nn.ModuleList(build_embedding_net(b, hidden, d) for b, d in zip(self.sizes, shares, strict=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        chunks = torch.split(x, self.sizes, dim=-1)
        return torch.cat([net(chunk) for net, chunk in zip(self.nets, chunks, strict=True)], dim=-1)


def _embedding(network: Mapping[str, Any], bins: int) -> nn.Module:
    """The ``network`` block's embedding: one MLP, or :class:`PartsEmbedding` when it names ``embedding_parts``."""
    parts = network.get("embedding_parts")
    if parts is None:
        return build_embedding_net(bins, network["embedding_hidden"], network["embedding_dim"])
    if sum(int(b) for b in parts) != int(bins):
        raise ValueError(f"embedding_parts {list(parts)} do not sum to the {bins} bins of x")
    return PartsEmbedding(parts, network["embedding_hidden"], network["embedding_dim"])


def density_builder(network: Mapping[str, Any], bins: int) -> Callable:
    """sbi's builder ``(theta, x) -> density estimator`` for the ``network`` block (draws the embedding net's
    initial weights from torch's global generator)."""
    from sbi.neural_nets import posterior_nn

    return posterior_nn(
        model=network["density_estimator"],
        z_score_theta=network["z_score_theta"],
        z_score_x=network["z_score_x"],
        hidden_features=int(network["hidden_features"]),
        num_transforms=int(network["num_transforms"]),
        num_bins=int(network.get("num_bins", NSF_NUM_BINS)),
        embedding_net=_embedding(network, bins),
    )


def build_density_estimator(network: Mapping[str, Any], bins: int, seed: int,
                            n_par: int = len(PARAMETER_NAMES)) -> nn.Module:
    """An untrained sbi density estimator of the ``network`` block, with its calibration layer if it has one.

    The z-scoring statistics and the flow's random permutations are buffers that are overwritten when trained
    weights are loaded; the dummy batch below only fixes the shapes.
    """
    from nutune.npe.calibration import (
        CALIBRATION_LOCATION_BOUND,
        LOCATION_CALIBRATION,
        attach_calibration,
        location_calibration_layer,
        marginal_calibration_layer,
    )

    builder = density_builder(network, bins)
    generator = torch.Generator().manual_seed(seed)
    dummy_u = torch.rand(16, n_par, generator=generator)
    dummy_x = torch.randn(16, bins, generator=generator)
    estimator = builder(dummy_u, dummy_x)
    calibration = network.get("calibration", "none")
    if calibration in ("marginal", LOCATION_CALIBRATION):
        bins = int(network["calibration_bins"])
        layer = marginal_calibration_layer(bins, float(network["calibration_tail_bound"]), n_par=n_par)
        location = None if calibration == "marginal" else location_calibration_layer(
            bins, float(network.get("calibration_location_bound", CALIBRATION_LOCATION_BOUND)), n_par=n_par)
        attach_calibration(estimator, layer, location)
    elif calibration != "none":
        raise ValueError(f"unknown calibration {calibration!r} in the network metadata; allowed: {CALIBRATIONS}")
    return estimator
