"""Pinned CPU numerics (nutune._numerics): a training is bit-identical whatever CPU paths the environment asks for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nutune._numerics import PINNED_ENVIRONMENT, numerics_mode

SCRIPT = """
import hashlib
import nutune  # noqa: F401  (pins the numerics before torch runs a kernel)
import torch
torch.manual_seed(0)
x, y = torch.randn(4000, 58), torch.randn(4000, 4)
net = torch.nn.Sequential(torch.nn.Linear(58, 100), torch.nn.GELU(), torch.nn.Linear(100, 4))
opt = torch.optim.Adam(net.parameters(), 1e-3)
for i in range(100):
    rows = slice(40 * (i % 100), 40 * (i % 100) + 40)
    loss = ((net(x[rows]) - y[rows]) ** 2).mean()
    opt.zero_grad(); loss.backward(); opt.step()
print(torch.backends.cpu.get_cpu_capability(),
      hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in net.parameters())).hexdigest())
"""


def _run(**env: str) -> list[str]:
    full = {k: v for k, v in os.environ.items() if k not in PINNED_ENVIRONMENT and k != "NUTUNE_NUMERICS"}
    full.update(env, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=full, capture_output=True, text=True, check=True)
    return out.stdout.split()


def _has_avx512() -> bool:
    cpuinfo = Path("/proc/cpuinfo")
    return cpuinfo.is_file() and "avx512f" in cpuinfo.read_text()


def test_pinned_training_ignores_the_requested_cpu_paths():
    a = _run(ATEN_CPU_CAPABILITY="avx512", MKL_CBWR="AUTO", ONEDNN_MAX_CPU_ISA="ALL")
    b = _run(ATEN_CPU_CAPABILITY="default")
    c = _run()
    assert a[0] == b[0] == c[0] == "AVX2"
    assert a[1] == b[1] == c[1]


@pytest.mark.skipif(not _has_avx512(), reason="needs an AVX-512 CPU to show machine-dependent native numerics")
def test_native_numerics_depend_on_the_cpu_paths():
    fast = _run(NUTUNE_NUMERICS="native", ATEN_CPU_CAPABILITY="avx512")
    avx2 = _run(NUTUNE_NUMERICS="native", **PINNED_ENVIRONMENT)
    assert fast[1] != avx2[1]
    assert avx2[1] == _run()[1]  # the pinned paths are the AVX2 paths


def test_bad_mode_is_refused(monkeypatch):
    monkeypatch.setenv("NUTUNE_NUMERICS", "fast")
    with pytest.raises(ValueError, match="NUTUNE_NUMERICS"):
        numerics_mode()
