"""The public Python API: every name of ``nutune.__all__`` resolves, ``import nutune`` stays light, and
``load_model`` says what it looked for. (The README's example is run verbatim in tests/test_workflow.py.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import nutune


def test_every_public_name_resolves() -> None:
    for name in nutune.__all__:
        assert getattr(nutune, name) is not None, name
    from nutune.npe import load_posterior

    assert nutune.load_posterior is load_posterior
    assert nutune.PARAMETER_NAMES == ("MaCCQE", "NormCCMEC", "XSecShape_CCMEC", "RPA_CCQE")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        nutune.nope  # noqa: B018


def test_import_nutune_does_not_import_torch() -> None:
    code = "import sys, nutune; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_load_model_names_what_it_looked_for(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no trained model at .*snakemake results/model/npe_0.json"):
        nutune.load_model(tmp_path)
    with pytest.raises(FileNotFoundError, match="npe_7.json"):
        nutune.load_model(str(tmp_path / "model" / "npe_7"))
