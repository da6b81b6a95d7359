"""Every use nutune makes of sbi's (and nflows') *private* internals, in one place.

sbi 0.27 has no public hooks for what nutune needs during training (its own batch loader, a fused Adam with a
learning-rate schedule, a log line per epoch), and its diagnostics expose their sample-taking cores only as private
functions. Everything below may change with any sbi release; ``tests/test_sbi_compat.py`` pins the sbi and nflows
versions and the signatures relied on here, so an upgrade fails there first, with a message that points here.

Used privately:

* ``NPE.get_dataloaders`` (and the ``train_indices`` / ``val_indices`` it sets), ``NPE._train_epoch`` (and
  ``self.optimizer``), ``NPE._summarize_epoch`` (and ``self._summary``, ``self.epoch``): :func:`hooked_npe_class`;
* ``sbi.diagnostics.sbc._run_sbc`` and ``sbi.diagnostics.tarp._run_tarp``: :func:`run_sbc_ranks`,
  :func:`run_tarp_curve`;
* the nflows flow inside sbi's estimator (``estimator.net._transform``, ``CompositeTransform._transforms``):
  :func:`flow_transform`, :func:`set_flow_transform`, :func:`composed_transforms`.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

__all__ = [
    "SBI_VERSION",
    "NFLOWS_VERSION",
    "TrainingHooks",
    "hooked_npe_class",
    "validation_indices",
    "run_sbc_ranks",
    "run_tarp_curve",
    "flow_transform",
    "flow_context",
    "flow_base_log_prob",
    "set_flow_transform",
    "composed_transforms",
]

#: The sbi / nflows releases whose private internals this module was written against (requirements.txt).
SBI_VERSION = "0.27.0"
NFLOWS_VERSION = "0.14"


class TrainingHooks(Protocol):
    """What nutune plugs into sbi's training loop (implemented in :mod:`nutune.npe.training`)."""

    def loaders(self, tensors: tuple[torch.Tensor, ...], train_indices: torch.Tensor, val_indices: torch.Tensor,
                train_batch_size: int, val_batch_size: int) -> tuple[Any, Any]:
        """The (train, validation) batch iterables replacing sbi's DataLoaders."""

    def optimizer(self, optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
        """Called before every epoch with sbi's optimiser; returns the one to use."""

    def epoch_end(self, epoch: int, train_loss: float, val_loss: float, seconds: float,
                  optimizer: torch.optim.Optimizer) -> float:
        """Called after sbi summarised an epoch (0-based ``epoch``); returns the learning rate to record."""


def hooked_npe_class(hooks: TrainingHooks) -> type:
    """``sbi.inference.NPE`` with its private training steps routed through ``hooks``.

    Everything else (early stopping, the choice of the best-validation weights, the loss, gradient clipping,
    validation) is sbi's. The learning rate returned by ``hooks.epoch_end`` is appended to the training summary as
    ``learning_rate``.
    """
    from sbi.inference import NPE

    class _HookedNPE(NPE):
        def get_dataloaders(self, *args, **kwargs):  # type: ignore[override]
            train_loader, val_loader = super().get_dataloaders(*args, **kwargs)  # sets the train/val split
            return hooks.loaders(train_loader.dataset.tensors, self.train_indices, self.val_indices,
                                 train_loader.batch_size, val_loader.batch_size)

        def _train_epoch(self, *args, **kwargs):  # type: ignore[override]
            self.optimizer = hooks.optimizer(self.optimizer)
            return super()._train_epoch(*args, **kwargs)

        def _summarize_epoch(self, train_loss, val_loss, epoch_start_time, *args, **kwargs):  # type: ignore[override]
            super()._summarize_epoch(train_loss, val_loss, epoch_start_time, *args, **kwargs)
            seconds = self._summary["epoch_durations_sec"][-1]
            learning_rate = hooks.epoch_end(self.epoch, train_loss, val_loss, seconds, self.optimizer)
            self._summary.setdefault("learning_rate", []).append(learning_rate)

    return _HookedNPE


def validation_indices(inference: Any) -> torch.Tensor:
    """The rows sbi held out for validation (set by ``get_dataloaders``; never used for a gradient step)."""
    return inference.val_indices


def run_sbc_ranks(thetas: torch.Tensor, xs: torch.Tensor, samples: torch.Tensor) -> torch.Tensor:
    """SBC ranks of ``thetas`` among given posterior ``samples`` (S, n, d) per marginal: sbi's ``_run_sbc``."""
    from sbi.diagnostics.sbc import _run_sbc

    return _run_sbc(thetas, xs, samples, reduce_fns="marginals", show_progress_bar=False)


def run_tarp_curve(samples: torch.Tensor, thetas: torch.Tensor, references: torch.Tensor, *, num_bins: int,
                   z_score_theta: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """TARP expected coverage (ecp, alpha) of given posterior ``samples`` (S, n, d): sbi's ``_run_tarp``."""
    from sbi.diagnostics.tarp import _run_tarp

    return _run_tarp(samples, thetas, references, num_bins=num_bins, z_score_theta=z_score_theta)


def flow_transform(estimator: torch.nn.Module) -> Any:
    """The nflows transform (u -> base coordinates) of an sbi flow estimator."""
    return estimator.net._transform


def flow_context(estimator: torch.nn.Module, xt: torch.Tensor) -> torch.Tensor:
    """The flow's context for transformed histograms ``xt``: the embedding net's output (nflows' ``Flow``)."""
    return estimator.net._embedding_net(xt)


def flow_base_log_prob(estimator: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    """log density of base coordinates ``z`` under the flow's base distribution (a standard normal in sbi)."""
    return estimator.net._distribution.log_prob(z)


def set_flow_transform(estimator: torch.nn.Module, transform: Any) -> None:
    """Replace the nflows transform of an sbi flow estimator (the flow's base distribution stays)."""
    estimator.net._transform = transform


def composed_transforms(transform: Any) -> list[Any]:
    """The parts of an nflows ``CompositeTransform``, in order."""
    return list(transform._transforms)

