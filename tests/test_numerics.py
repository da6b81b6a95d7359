"""Pinned CPU numerics (nutune._numerics): a training, and the float64 linear algebra of the simulator and the χ²,
are bit-identical whatever CPU paths the environment asks for."""

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


# float64 through numpy's OpenBLAS as the simulator's template contraction (dgemm) and the χ² (LAPACK solve) use it
BLAS_SCRIPT = """
import hashlib
import nutune  # noqa: F401  (pins OpenBLAS's kernels before numpy loads it)
import numpy as np
gen = np.random.default_rng(0)
a, b = gen.standard_normal((2000, 300)), gen.standard_normal((300, 58))
cov = np.cov(gen.standard_normal((58, 400)))
x = a @ b
chi2 = np.einsum("ij,ij->i", x, np.linalg.solve(cov, x.T).T)
from threadpoolctl import threadpool_info
core = next(lib["architecture"] for lib in threadpool_info() if lib["internal_api"] == "openblas")
print(core, hashlib.sha256(x.tobytes() + chi2.tobytes()).hexdigest())
"""


def _run(script: str = SCRIPT, **env: str) -> list[str]:
    full = {k: v for k, v in os.environ.items() if k not in PINNED_ENVIRONMENT and k != "NUTUNE_NUMERICS"}
    full.update(env, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", script], env=full, capture_output=True, text=True, check=True)
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


def test_pinned_float64_linear_algebra_ignores_the_requested_openblas_kernels():
    requested = {core: _run(BLAS_SCRIPT, OPENBLAS_CORETYPE=core) for core in ("SkylakeX", "Sandybridge")}
    default = _run(BLAS_SCRIPT)
    assert default[0] == "Haswell"
    assert all(out == default for out in requested.values()), requested


@pytest.mark.skipif(not _has_avx512(), reason="needs an AVX-512 CPU to show machine-dependent native numerics")
def test_native_openblas_kernels_change_the_last_bits():
    native = _run(BLAS_SCRIPT, NUTUNE_NUMERICS="native", OPENBLAS_CORETYPE="SkylakeX")
    assert native[0] == "SkylakeX" and native[1] != _run(BLAS_SCRIPT)[1]


def test_numpy_loaded_before_nutune_is_named(monkeypatch):
    import warnings

    from nutune import _numerics

    monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)  # as if nothing had pinned it before numpy loaded
    monkeypatch.delenv("NUTUNE_NUMERICS", raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _numerics.pin_numerics()
    assert any("numpy was imported before nutune" in str(w.message) for w in caught)


def test_bad_mode_is_refused(monkeypatch):
    monkeypatch.setenv("NUTUNE_NUMERICS", "fast")
    with pytest.raises(ValueError, match="NUTUNE_NUMERICS"):
        numerics_mode()
