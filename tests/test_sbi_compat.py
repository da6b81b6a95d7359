"""Pin what nutune.npe._sbi_compat relies on in sbi's and nflows' private internals.

If one of these fails after an upgrade of sbi or nflows, read src/nutune/npe/_sbi_compat.py: every private use is
there, and only there.
"""

from __future__ import annotations

import importlib.metadata
import inspect

import pytest

from nutune.npe import _sbi_compat


def test_pinned_versions_are_installed() -> None:
    assert importlib.metadata.version("sbi") == _sbi_compat.SBI_VERSION
    assert importlib.metadata.version("nflows") == _sbi_compat.NFLOWS_VERSION


@pytest.mark.parametrize(("name", "parameters"), [
    ("get_dataloaders", ["self", "starting_round", "training_batch_size", "validation_fraction", "resume_training",
                         "dataloader_kwargs"]),
    ("_train_epoch", ["self", "train_loader", "clip_max_norm", "loss_args"]),
    ("_summarize_epoch", ["self", "train_loss", "val_loss", "epoch_start_time", "summarization_kwargs"]),
])
def test_npe_training_hooks_have_the_signatures_relied_on(name: str, parameters: list[str]) -> None:
    from sbi.inference import NPE

    assert list(inspect.signature(getattr(NPE, name)).parameters) == parameters


def test_diagnostic_cores_have_the_signatures_relied_on() -> None:
    from sbi.diagnostics.sbc import _run_sbc
    from sbi.diagnostics.tarp import _run_tarp

    assert list(inspect.signature(_run_sbc).parameters) == [
        "thetas", "xs", "posterior_samples", "reduce_fns", "show_progress_bar"]
    assert list(inspect.signature(_run_tarp).parameters)[:3] == ["posterior_samples", "thetas", "references"]
    assert {"num_bins", "z_score_theta"} <= set(inspect.signature(_run_tarp).parameters)


def test_the_training_loop_sets_what_the_hooks_read() -> None:
    """One tiny training through the hooks: split indices, the optimiser, the summary and the flow's transform."""
    import torch
    from nflows.transforms import CompositeTransform
    from sbi.neural_nets import posterior_nn
    from sbi.utils import BoxUniform

    from nutune.npe.training import BatchLoader

    seen: dict[str, object] = {}

    class Hooks:
        def loaders(self, tensors, train_indices, val_indices, train_batch_size, val_batch_size):
            seen["split"] = (len(train_indices), len(val_indices))
            return (BatchLoader(tensors, train_indices, train_batch_size, shuffle=True),
                    BatchLoader(tensors, val_indices, val_batch_size, shuffle=False))

        def optimizer(self, optimizer):
            seen["optimizer"] = optimizer
            return optimizer

        def epoch_end(self, epoch, train_loss, val_loss, seconds, optimizer):
            seen.setdefault("epochs", []).append(epoch)
            return optimizer.param_groups[0]["lr"]

    torch.manual_seed(0)
    theta, x = torch.rand(100, 2), torch.rand(100, 3)
    inference = _sbi_compat.hooked_npe_class(Hooks())(
        prior=BoxUniform(torch.zeros(2), torch.ones(2)), show_progress_bars=False,
        density_estimator=posterior_nn(model="maf", num_transforms=1, hidden_features=8))
    inference.append_simulations(theta, x)
    estimator = inference.train(max_num_epochs=2, stop_after_epochs=5, training_batch_size=20, show_train_summary=False)
    assert seen["split"] == (90, 10)
    assert len(_sbi_compat.validation_indices(inference)) == 10
    assert isinstance(seen["optimizer"], torch.optim.Optimizer)
    assert seen["epochs"] == list(range(len(seen["epochs"]))) and len(seen["epochs"]) >= 2
    assert len(inference.summary["learning_rate"]) == len(inference.summary["training_loss"]) == len(seen["epochs"])
    transform = _sbi_compat.flow_transform(estimator)
    _sbi_compat.set_flow_transform(estimator, CompositeTransform([transform]))
    assert _sbi_compat.composed_transforms(_sbi_compat.flow_transform(estimator)) == [transform]
