"""Stages of likelihood.smk: the noise-aware network of one χ² mode and the χ²-mode comparison table on the T2K
data (which likelihood for T2K: :mod:`nutune.likelihood_modes`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nutune.config import as_config
from nutune.stages.common import split_models

__all__ = ["run_likelihood_npe", "run_likelihood_modes", "write_likelihood_modes_table"]


def run_likelihood_npe(config: Mapping[str, Any], *, mode: str, bank_path: str, weights: str, metadata: str,
                       loss: str, max_num_epochs: int | None = None, member: int = 0) -> None:
    """Rule ``likelihood_npe``: train and save member ``member`` (0 … ``likelihood_modes.n_ensemble`` − 1) of the
    noise-aware NPE of one χ² mode (:func:`nutune.likelihood_modes.train_mode_npe`)."""
    from nutune.bank import read_bank
    from nutune.likelihood_modes import train_mode_npe
    from nutune.npe import save_npe

    cfg = as_config(config)
    theta, x, _ = read_bank(bank_path)
    save_npe(train_mode_npe(cfg, mode, theta, x, max_num_epochs=max_num_epochs, member=member), weights, metadata,
             loss)


def run_likelihood_modes(config: Mapping[str, Any], *, classical_csv: str, main_models: Sequence[str],
                         mode_models: Mapping[str, Sequence[str]], output: str,
                         epoch_cap: int | None = None, test_bank: str | None = None) -> list[dict[str, Any]]:
    """Rule ``likelihood_modes``: read the classical fits and the networks, write ``likelihood_modes.csv``.

    ``main_models`` / ``mode_models[mode]`` are the ``.safetensors`` + ``.json`` paths of the noise-free main
    network and of each mode's noise-aware network (every member of an ensemble: their equal-weight mixture); ``test_bank`` (``results/bank/test.h5``) adds each network's
    calibration on noisy test rows.
    """
    import pandas as pd

    from nutune.bank import read_bank
    from nutune.likelihood_modes import likelihood_modes_table
    from nutune.npe import load_posterior

    cfg = as_config(config)
    test = None if test_bank is None else read_bank(test_bank)[:2]
    rows = likelihood_modes_table(cfg, classical_rows=pd.read_csv(classical_csv).to_dict("records"),
                                  noise_aware={mode: load_posterior(*_split(p)) for mode, p in mode_models.items()},
                                  noise_free=load_posterior(*_split(main_models)), modes=tuple(mode_models),
                                  epoch_cap=epoch_cap, test_bank=test)
    write_likelihood_modes_table(rows, output, cfg.dial_names)
    return rows


def write_likelihood_modes_table(rows: Sequence[Mapping[str, Any]], output: str, dial_names: Sequence[str]) -> None:
    """Write rows of :func:`nutune.likelihood_modes.likelihood_modes_table` atomically in the columns of
    :func:`nutune.likelihood_modes.table_columns` and six significant digits (``likelihood_modes.csv``; a
    seed-stability replicate writes its one headline row with it, so both read back the same way)."""
    import pandas as pd

    from nutune.io import atomic_write
    from nutune.likelihood_modes import table_columns

    with atomic_write(output, suffix=".csv") as tmp:
        pd.DataFrame(list(rows), columns=list(table_columns(dial_names))).to_csv(tmp, index=False,
                                                                                 float_format="%.6g")


def _split(paths: Sequence[str]) -> tuple[list[str], list[str]]:
    """(weights, metadata) of a network's model files, as strings."""
    return split_models([str(p) for p in paths])
