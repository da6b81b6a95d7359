"""Pinned CPU numerics: the same tables on every x86-64 machine of our kind (issue 13, item 1).

Measured on an Intel Xeon with AVX-512 (6 epochs of the paper NPE on 20 000 rows, one thread, same seed, best
validation loss): native −7.18397; MKL's sgemm path pinned alone (``MKL_CBWR=AVX2``) −6.96932; with MKL pinned,
ATen's kernel capability matters too (AVX2 −7.14241, AVX-512 −6.96932, scalar −6.25653); oneDNN's ISA showed no
effect alone and is pinned as well. A machine with only AVX2 (e.g. an older AMD EPYC) would pick other paths and
train another network. nutune therefore pins
all three before torch runs its first kernel: ``ATEN_CPU_CAPABILITY=avx2``, MKL's conditional numerical
reproducibility ``MKL_CBWR=COMPATIBLE`` (why COMPATIBLE: below) and ``ONEDNN_MAX_CPU_ISA=AVX2``.
``NUTUNE_NUMERICS=native`` leaves the machine's fastest paths (and machine-dependent results).

MKL's branch is ``COMPATIBLE`` since 2026-12-03, the only branch MKL documents as giving the same results on Intel
and non-Intel processors: a named branch (``AVX``, ``AVX2``, ...) is honoured on Intel CPUs only, and a non-Intel CPU
(our other machine kind, an AMD EPYC) then runs MKL's ``AUTO`` dispatch instead (oneMKL Developer Guide, "Getting
Started with Conditional Numerical Reproducibility"). Measured on the Xeon: the default network's best validation
loss is −26.354 under ``AVX2,STRICT`` and −27.277 under ``AVX,STRICT``, while the committed run of another machine
of our kind (2026-12-02, ``AVX2,STRICT`` requested) had −27.266 (the starting NLL of its location layer, which equals
the best validation loss to every printed digit on the Xeon; README "Same tables on any machine"). Cost, 4 epochs of
the paper network on 40 000 rows, one thread (Xeon): 1.30–1.58 s per epoch under ``COMPATIBLE``, 1.12–1.35 under
``AVX``, 0.90–1.09 under ``AVX2``. (``SSE4_2`` and ``AVX`` trained the same network there; ``COMPATIBLE`` and
``COMPATIBLE,STRICT`` another one.)

The float64 side (the built-in simulator's template contractions, χ², covariance throws, LAPACK factorisations) runs
on numpy's and scipy's OpenBLAS, which picks its kernels by processor at load time (``SkylakeX``, AVX-512, on the
Xeon). Measured on the Xeon (2026-12-03): the 58-bin histograms of 2 000 random θ differ in their last bits between
the ``SkylakeX`` and ``Haswell`` (AVX2) kernels, so the bank (float64) was not the same as on the machine the
committed results came from (the networks' float32 inputs were); with ``OPENBLAS_CORETYPE=Haswell`` the Xeon
reproduces the committed ``results/tables/simulator_calibration.csv`` byte for byte. nutune therefore pins OpenBLAS
to its Haswell kernels too. OpenBLAS reads the variable when numpy loads it, so this takes effect in every process
nutune starts (Snakemake jobs, subprocesses) and in this one only if ``import nutune`` comes before ``import numpy``
(:func:`pin_numerics` warns otherwise). numpy's own SIMD loops (AVX-512 or AVX2) did not change any of these numbers
and are left alone.
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["PINNED_ENVIRONMENT", "pin_numerics", "numerics_mode"]

PINNED_ENVIRONMENT = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "AVX2",
                      "OPENBLAS_CORETYPE": "Haswell"}


def numerics_mode() -> str:
    """``"pinned"`` (default) or ``"native"`` (``$NUTUNE_NUMERICS``)."""
    mode = os.environ.get("NUTUNE_NUMERICS", "pinned")
    if mode not in ("pinned", "native"):
        raise ValueError(f"NUTUNE_NUMERICS={mode!r} is not allowed; use 'pinned' (default) or 'native'")
    return mode


def pin_numerics() -> dict[str, str]:
    """Set :data:`PINNED_ENVIRONMENT` in this process (inherited by its children) unless numerics are native.

    Must run before torch executes a kernel and before numpy loads OpenBLAS; nutune calls it on import. Warns if
    torch already runs a different ATen capability, or numpy was loaded unpinned (then this process is not pinned;
    its children are).
    """
    if numerics_mode() == "native":
        return {}
    blas_before = os.environ.get("OPENBLAS_CORETYPE")
    os.environ.update(PINNED_ENVIRONMENT)
    # Snakemake's own process loads numpy before it reads the Snakefile; it only schedules (its jobs inherit the pin)
    scheduler = "snakemake.workflow" in sys.modules
    if "numpy" in sys.modules and blas_before != PINNED_ENVIRONMENT["OPENBLAS_CORETYPE"] and not scheduler:
        warnings.warn(
            "numpy was imported before nutune, so its OpenBLAS runs this machine's own kernels in this process "
            "(float64 results may differ in the last bits from other machines); import nutune first, or set "
            "OPENBLAS_CORETYPE=Haswell (NUTUNE_NUMERICS=native silences this)",
            RuntimeWarning,
            stacklevel=2,
        )
    torch = sys.modules.get("torch")
    if torch is not None:
        capability = torch.backends.cpu.get_cpu_capability()
        if capability not in ("AVX2", "DEFAULT"):
            warnings.warn(
                f"torch was initialised before nutune with CPU capability {capability}; import nutune first for "
                "machine-independent results (NUTUNE_NUMERICS=native silences this)",
                RuntimeWarning,
                stacklevel=2,
            )
    return dict(PINNED_ENVIRONMENT)
