"""Physical constants of the built-in simulator (physics.md §2.0), in GeV with c = ħ = 1.

Values follow GENIE G18_10a_02_11a where GENIE has one (``CommonParam.xml``, ``FermiMomentumTables.xml``,
``BBA05ELFormFactorsModel.xml``) and the PDG otherwise.
"""

from __future__ import annotations

import math

#: Nucleon masses [GeV] (PDG; GENIE ``PDGLibrary``).
M_NEUTRON = 0.939565
M_PROTON = 0.938272
M_NUCLEON = 0.5 * (M_NEUTRON + M_PROTON)  # 0.9389185, the average used in Llewellyn Smith
#: Muon, charged pion and Δ(1232) masses, Δ width [GeV].
M_MUON = 0.105658
M_PION = 0.13957
M_DELTA = 1.232
GAMMA_DELTA = 0.117
#: Fermi constant [GeV⁻²], GENIE's historical value, and CKM V_ud of G18_10a (``CKM-Vud``).
G_FERMI = 1.16639e-5
V_UD = 0.97417
#: 1 GeV⁻² in units of 10⁻³⁸ cm² ((ħc)² = 0.3893794 mb GeV² = 0.3893794e-27 cm² GeV²).
GEV2_TO_1E38CM2 = 0.3893794e11
#: ħc [GeV fm] for k_F(r) = ħc (3π² ρ/2)^{1/3}.
HBARC_GEV_FM = 0.1973269804
#: Axial coupling g_A (GENIE ``QEL-FA0`` = −1.2670; nutune uses the positive-F_A convention).
G_A = 1.267
#: Dipole vector mass [GeV] (GENIE ``QEL-Mv``) and nucleon magnetic moments.
M_V = 0.84
MU_P = 2.7928
MU_N = -1.9130
#: Two-nucleon cluster mass of GENIE's Empirical MEC model [GeV] (M₂ = 2M).
M_CLUSTER = 2.0 * M_NUCLEON
#: GENIE ``EmpiricalMECPXSec2015`` "Reweight" configuration: W peak, width [GeV] and Q² dipole scale [GeV²].
EMPIRICAL_MEC_MASS = 2.15
EMPIRICAL_MEC_WIDTH = 0.05
EMPIRICAL_MEC_MQ2D = 0.4
#: Nucleons per CH molecule (NUISANCE PrepareGENIE: 12 C + 1 H), neutrons of ¹²C and C nucleons per CH.
NUCLEONS_PER_CH = 13.0
NEUTRONS_C12 = 6.0
NUCLEONS_C12 = 12.0
#: Prefactor G_F² V_ud² M² / (8π) of the Llewellyn Smith dσ/dQ² [GeV⁻² · GeV²], times the unit conversion.
LS_PREFACTOR_1E38 = G_FERMI**2 * V_UD**2 * M_NUCLEON**2 / (8.0 * math.pi) * GEV2_TO_1E38CM2
