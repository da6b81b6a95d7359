"""GENIE Reweight's RES shape mode in the built-in simulator (NormCCRES, MaCCRESshape, MvCCRESshape;
``GReWeightNuXSecCCRES`` kModeNormAndMaMvShape, :mod:`nutune.simulator.res_shape`)."""

from __future__ import annotations

import numpy as np
import pytest

from nutune import dials
from nutune.simulator import res_bergersehgal as bs
from nutune.simulator import res_shape

TWELVE = ("MaCCQE", "NormCCMEC", "XSecShape_CCMEC", "RPA_CCQE", "CCQEPauliSupViaKF", "NormCCRES", "MaCCRESshape",
          "MvCCRESshape", "MFP_pi", "FrCEx_pi", "FrInel_pi", "FrPiProd_pi")


def test_shape_dials_are_genies_numbers():
    """GSystUncertaintyTable.xml: NormCCRES ±0.20, MaCCRESshape ±0.10, MvCCRESshape ±0.05; nominal RES-Ma 1.065047,
    RES-Mv 0.840 (CommonParam.xml / BergerSehgalRESPXSec2014.xml); mode kModeNormAndMaMvShape."""
    for name, sigma, nominal in (("NormCCRES", 0.20, 1.0), ("MaCCRESshape", 0.10, 1.065047),
                                 ("MvCCRESshape", 0.05, 0.840)):
        s = dials.spec(name)
        assert (s.sigma_plus, s.sigma_minus, s.nominal, s.builtin) == (sigma, sigma, nominal, True)
        assert s.mode == "kModeNormAndMaMvShape" and s.calculator == "GReWeightNuXSecCCRES"
        lo, hi = s.valid_range
        assert lo <= float(s.to_physical(-3.0)) and float(s.to_physical(3.0)) <= hi
    assert dials.spec("MaCCRESshape").physical_name != dials.spec("MaCCRES").physical_name
    assert float(dials.to_physical("NormCCRES", -6.0)) == 0.0  # fNormCurr = max(0, ...)


def test_twelve_free_dials_pass_and_shape_with_non_shape_is_refused():
    dials.check_dial_set(TWELVE)
    with pytest.raises(dials.DialSetError, match="kModeMaMv"):
        dials.check_dial_set(("MaCCRES", "NormCCRES"))
    with pytest.raises(dials.DialSetError):
        dials.check_dial_set(("MvCCRES", "MaCCRESshape"))
    from nutune.simulator.templates import InvalidParameterError, check_names

    with pytest.raises(InvalidParameterError, match="kModeNormAndMaMvShape"):
        check_names(("MaCCRES", "NormCCRES"))


def test_quadratic_form_sigma_reproduces_the_nominal_integral_per_resonance():
    """σ_R(E; nom) from the per-point quadratic form = sigma_res_per_resonance (same quadrature)."""
    for nucleon, name, e in (("n", "P33(1232)", 0.8), ("n", "D13(1520)", 2.0), ("p", "P33(1232)", 1.5)):
        res = bs.RESONANCES[name]
        points = res_shape.point_coefficients(e, res, nucleon, (40, 48))
        got = res_shape.sigma_at(points, nucleon, np.array([bs.RES_MA]), np.array([bs.RES_MV]))[0, 0]
        ref = bs.sigma_res_per_resonance(e, nucleon, [name])[name]
        assert got == pytest.approx(ref, rel=1e-10)
        # and at a tweaked (M_A, M_V): the direct Berger-Sehgal integral with those masses
        got = res_shape.sigma_at(points, nucleon, np.array([1.4]), np.array([0.95]))[0, 0]
        assert got == pytest.approx(bs.sigma_res_per_resonance(e, nucleon, [name], ma=1.4, mv=0.95)[name],
                                    rel=1e-10)


@pytest.mark.slow
def test_shape_weight_keeps_sigma_of_every_resonance_at_fixed_energy():
    """At fixed E: Σ_R σ_R(E; M_A', M_V')·σ_R(nom)/σ_R(tw) (the table, E between grid nodes) = Σ_R σ_R(nom), while
    the non-shape (kModeMaMv) total moves."""
    table = res_shape.sigma_table()
    e, ma, mv = 1.137, 1.35, 0.91
    ratio = table.ratio(ma, mv)
    shape_total = nominal_total = mamv_total = 0.0
    for k, nucleon in enumerate(res_shape.NUCLEONS):
        for j, res in enumerate(bs.RESONANCES.values()):
            points = res_shape.point_coefficients(e, res, nucleon)
            if points is None:
                continue
            nom = res_shape.sigma_at(points, nucleon, [bs.RES_MA], [bs.RES_MV])[0, 0]
            tw = res_shape.sigma_at(points, nucleon, [ma], [mv])[0, 0]
            s = np.interp(e, table.energies, ratio[k, j])
            assert s == pytest.approx(tw / nom, rel=2e-4)  # linear interpolation in E of GENIE's Integral
            shape_total += tw / s
            nominal_total += nom
            mamv_total += tw
    assert shape_total == pytest.approx(nominal_total, rel=2e-4)
    assert abs(mamv_total / nominal_total - 1.0) > 0.05


@pytest.mark.slow
def test_shape_templates_equal_per_event_reweighting_with_twelve_free_dials():
    from nutune.simulator.templates import build_base_sample, build_templates, reweight_histogram

    sample = build_base_sample("nominal", 11, 20_000)
    templates = build_templates("nominal", sample_seed=11, n_events=20_000, sample=sample)
    res = sample.res
    np.testing.assert_allclose(res.resonance_coefficients().sum(axis=1), res.xsec_coefficients(), rtol=0,
                               atol=1e-9)
    gen = np.random.default_rng(1)
    cases = [(TWELVE, lambda: [gen.uniform(0.6, 1.4), gen.uniform(0, 3), gen.uniform(0, 1), gen.uniform(0, 1.2),
                               gen.uniform(0.5, 1.5), gen.uniform(0.4, 1.8), gen.uniform(0.4, 2.2),
                               gen.uniform(0.5, 1.2), gen.uniform(0.4, 1.6), gen.uniform(0.5, 1.1),
                               gen.uniform(0.5, 1.1), gen.uniform(0.6, 1.05)])]
    cases += [((d,), lambda d=d: [gen.uniform(*dials.spec(d).valid_range)]) for d in res_shape.SHAPE_DIALS]
    for names, draw in cases:
        for _ in range(3):
            row = draw()
            direct = reweight_histogram(sample, row, names)
            fast = templates.evaluate(row, bins=67, names=names)[0]
            np.testing.assert_allclose(fast, direct, rtol=1e-6, atol=1e-12 * direct.max())
    # NormCCRES is an exact factor on the RES background
    base = templates.evaluate([1.3, 0.9], bins=67, names=("MaCCRESshape", "MvCCRESshape"))
    scaled = templates.evaluate([1.3, 0.9, 1.4], bins=67, names=("MaCCRESshape", "MvCCRESshape", "NormCCRES"))
    nom = templates.evaluate([1.0], bins=67, names=("NormCCRES",))
    res_part = base - (nom - templates.background)
    np.testing.assert_allclose(scaled, base + 0.4 * res_part, rtol=1e-12, atol=1e-15)
    import torch

    row = torch.tensor([[1.02, 1.4, 0.3, 0.9, 1.2, 1.3, 1.31, 0.77, 0.63, 0.8, 1.05, 0.9]], dtype=torch.float64,
                       requires_grad=True)
    out = templates.evaluate_torch(row, bins=67, names=TWELVE)
    np.testing.assert_allclose(out.detach().numpy(), templates.evaluate(row.detach().numpy(), bins=67,
                                                                        names=TWELVE), rtol=1e-10)
    out.sum().backward()
    assert torch.all(torch.isfinite(row.grad)) and row.grad[0, 5] > 0 and row.grad[0, 6] != 0
