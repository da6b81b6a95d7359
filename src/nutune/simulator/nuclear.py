"""Nuclear ground state of ¹²C: relativistic / local Fermi gas nucleon momenta (physics.md §2.1).

* RFG: |p| uniform in a sphere of radius k_F = 0.221 GeV (GENIE ``FermiMomentumTables.xml``, ¹²C), used for both
  the initial momentum and Pauli blocking (Smith & Moniz, NPB 43, 605 (1972)).
* LFG: radius r drawn from r²ρ(r) with the ¹²C modified harmonic oscillator density
  ρ ∝ (1 + α(r/a)²) exp(−(r/a)²), α = 1.08, a = 1.69 fm (de Vries et al., ADNDT 36, 495 (1987)), normalised to 12
  nucleons; local k_F(r) = ħc (3π² ρ(r)/2)^{1/3} (N = Z), used for sampling and Pauli blocking (GENIE ``LocalFGM``).
"""

from __future__ import annotations

import numpy as np

from nutune.simulator import constants as C
from nutune.simulator.variants import PhysicsConfig

__all__ = ["mho_density", "local_fermi_momentum", "sample_nucleon_momentum", "isotropic_directions"]


def mho_density(r_fm: np.ndarray, alpha: float = 1.08, a_fm: float = 1.69) -> np.ndarray:
    """¹²C modified-harmonic-oscillator nucleon density [fm⁻³], normalised to 12 nucleons."""
    r = np.asarray(r_fm, dtype=float)
    # ∫ 4π r² (1 + α r²/a²) e^{-r²/a²} dr = π^{3/2} a³ (1 + 3α/2)
    norm = C.NUCLEONS_C12 / (np.pi**1.5 * a_fm**3 * (1.0 + 1.5 * alpha))
    return norm * (1.0 + alpha * (r / a_fm) ** 2) * np.exp(-((r / a_fm) ** 2))


def local_fermi_momentum(r_fm: np.ndarray, alpha: float = 1.08, a_fm: float = 1.69) -> np.ndarray:
    """Local Fermi momentum k_F(r) = ħc (3π² ρ(r)/2)^{1/3} [GeV] for symmetric nuclear matter."""
    return C.HBARC_GEV_FM * (1.5 * np.pi**2 * mho_density(r_fm, alpha, a_fm)) ** (1.0 / 3.0)


def isotropic_directions(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 3) unit vectors uniform on the sphere."""
    cos_t = 2.0 * rng.random(n) - 1.0
    phi = 2.0 * np.pi * rng.random(n)
    sin_t = np.sqrt(1.0 - cos_t**2)
    return np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=1)


def sample_nucleon_momentum(
    phys: PhysicsConfig, rng: np.random.Generator, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Initial nucleon 3-momenta (n, 3) [GeV] and the Fermi momentum (n,) used for Pauli blocking.

    RFG: k_F = ``phys.k_fermi`` for all. LFG: r ~ r²ρ(r) by inverse CDF on a 0–8 fm grid, k_F = k_F(r).
    Within the Fermi sphere |p| = k_F·u^{1/3} (uniform in the sphere).
    """
    if phys.nuclear_model == "rfg":
        k_f = np.full(n, phys.k_fermi)
    elif phys.nuclear_model == "lfg":
        r_grid = np.linspace(0.0, 8.0, 4001)
        pdf = r_grid**2 * mho_density(r_grid, phys.mho_alpha, phys.mho_a_fm)
        cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(r_grid))])
        cdf /= cdf[-1]
        r = np.interp(rng.random(n), cdf, r_grid)
        k_f = local_fermi_momentum(r, phys.mho_alpha, phys.mho_a_fm)
    else:
        raise ValueError(f"nuclear_model {phys.nuclear_model!r} unknown; allowed: rfg, lfg")
    p_mag = k_f * rng.random(n) ** (1.0 / 3.0)
    return p_mag[:, None] * isotropic_directions(rng, n), k_f
