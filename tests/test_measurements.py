"""Measurements as first-class objects (nutune.measurements): registry, loaders, slices, config, GENIE card."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

from nutune import measurements, minerva_cc0pi_2d
from nutune.config import DEFAULT_MEASUREMENT, ConfigError, allowed_values, load_config
from nutune.figure_registry import SLICE_FIGURES, slice_figures
from nutune.genie import parse_card
from nutune.measurements import MEASUREMENTS, BinnedData, get, measurement_of
from nutune.resources import DataError, load_published, load_t2k, resources_root

T2K, MINERVA = "t2k_cc0pi_2016_anaI", "minerva_cc0pi_2d_le"
TEST_CONFIG = Path(__file__).resolve().parents[1] / "config" / "test_config.yaml"


@pytest.fixture(scope="module")
def tiny() -> dict:
    with open(TEST_CONFIG) as fh:
        return yaml.safe_load(fh)


def _with(d: dict, **simulator) -> dict:
    out = copy.deepcopy(d)
    out["simulator"].update(simulator)
    return out


def test_registry_is_the_schemas_enum() -> None:
    assert tuple(MEASUREMENTS) == allowed_values("simulator", "measurement") == (T2K, MINERVA)
    assert DEFAULT_MEASUREMENT == measurements.DEFAULT == T2K
    joint = get(f"{T2K}+{MINERVA}")  # the joint measurement's vector lengths (nutune.measurements.joint)
    union = sorted({b for m in (*MEASUREMENTS.values(), joint) for b in m.bin_choices})
    assert union == sorted(allowed_values("simulator", "bins"))
    with pytest.raises(KeyError, match="known"):
        get("nope")


def test_t2k_instance_is_load_t2k() -> None:
    spec = get(T2K)
    assert spec.nuisance_sample == "T2K_CC0pi_XSec_2DPcos_nu_I" and spec.target == "CH" and spec.builtin
    assert spec.bin_choices == (58, 67) and spec.default_bins == 58
    for bins in spec.bin_choices:
        got, ref = spec.load(bins), load_t2k(bins)
        assert isinstance(got, BinnedData) and type(got) is type(ref)
        np.testing.assert_array_equal(got.values, ref.values)
        np.testing.assert_array_equal(got.cov_total, ref.cov_total)
        np.testing.assert_array_equal(got.cov(["stat", "norm"]), ref.cov(["stat", "norm"]))
        np.testing.assert_array_equal(got.areas, ref.areas)
    assert spec.card_sample(58) == {"name": spec.nuisance_sample, "mask_mom_overflow": "1"}
    assert spec.card_sample(67)["mask_mom_overflow"] == "0"
    for column in spec.published:
        assert load_published(column).shape == (58,)
    for rel in (*spec.resources, spec.flux.resource):
        assert (resources_root() / rel).is_file()
    with pytest.raises(DataError, match="allowed: 58, 67"):
        spec.load(144)


def test_minerva_instance_is_its_loader() -> None:
    spec, ref = get(MINERVA), minerva_cc0pi_2d.load()
    assert spec.nuisance_sample == minerva_cc0pi_2d.SAMPLE_NAME == "MINERvA_CC0pi_XSec_2Dptpz_nu"
    assert spec.bin_choices == (144,) and spec.builtin and spec.published == ()
    got = spec.load()
    assert isinstance(got, BinnedData) and got.bins == 144
    np.testing.assert_array_equal(got.values, ref.masked_values())
    np.testing.assert_array_equal(got.cov_total, ref.masked_cov("total"))
    np.testing.assert_allclose(got.cov(["stat", "syst"]), ref.masked_cov("total"), rtol=1e-12)
    np.testing.assert_array_equal(got.cov(["stat"]), ref.masked_cov("stat"))
    np.testing.assert_array_equal(got.areas, ref.areas[ref.mask])
    with pytest.raises(DataError, match="allowed: stat, syst"):
        got.cov(["norm"])
    assert spec.card_sample(144) == {"name": "MINERvA_CC0pi_XSec_2Dptpz_nu"}
    for rel in (*spec.resources, spec.flux.resource):
        assert (resources_root() / rel).is_file()


@pytest.mark.parametrize(("name", "bins", "n_slices"), [(T2K, 58, 9), (T2K, 67, 9), (MINERVA, 144, 13)])
def test_slices_cover_every_bin_once(name: str, bins: int, n_slices: int) -> None:
    spec = get(name)
    slices = spec.slices(bins)
    assert len(slices) == n_slices and [s.index for s in slices] == list(range(n_slices))
    rows = np.concatenate([s.rows for s in slices])
    np.testing.assert_array_equal(np.sort(rows), np.arange(bins))
    for s in slices:
        assert np.all(s.x_hi > s.x_lo) and np.all(s.x_lo[1:] >= s.x_hi[:-1] - 1e-12)  # ascending, contiguous-ish


def test_t2k_slices_are_the_bin_table_and_the_slice_figures() -> None:
    m = load_t2k(58)
    for s in get(T2K).slices(58):
        rows = np.flatnonzero(m.bin_table["slice"].to_numpy() == s.index)
        np.testing.assert_array_equal(s.rows, rows)
        np.testing.assert_array_equal(s.x_lo, m.bin_table["p_lo"].to_numpy()[rows])
    assert slice_figures(get(T2K), 58) == SLICE_FIGURES


def test_minerva_slices_are_pt_rows() -> None:
    ref = minerva_cc0pi_2d.load()
    flat = np.flatnonzero(ref.mask)  # vector index -> flat (i_pl + 12 i_pt)
    for s in get(MINERVA).slices():
        i_pt = flat[s.rows] // minerva_cc0pi_2d.N_PL
        assert np.all(i_pt == i_pt[0])
        np.testing.assert_array_equal(s.x_lo, np.asarray(minerva_cc0pi_2d.P_PL_EDGES)[flat[s.rows] % 12])


def test_config_default_and_explicit_t2k(tiny: dict) -> None:
    cfg = load_config(tiny)
    assert cfg.simulator.measurement == T2K and measurement_of(cfg) is get(T2K)
    explicit = load_config(_with(tiny, measurement=T2K))
    assert explicit.simulator.measurement == T2K
    assert "measurement" not in cfg.raw["simulator"]  # an absent key stays absent: the config hash is unchanged


def test_config_accepts_minerva_with_builtin(tiny: dict) -> None:
    """Issue 15 item 3: the builtin simulator produces MINERvA's 144 bins, so the config check accepts it."""
    d = _with(tiny, measurement=MINERVA, bins=144)
    d["observations"] = {"data": {"kind": "data"}}
    d["npe"] = {**d["npe"], "noise_components": ["stat", "syst"]}
    d["inference"] = {**d["inference"], "throw_components": ["stat", "syst"]}
    cfg = load_config(d, check_files=False)
    assert cfg.simulator.backend == "builtin" and measurement_of(cfg).builtin
    assert get(MINERVA).builtin and get(T2K).builtin


def test_config_refuses_a_binning_of_another_measurement(tiny: dict) -> None:
    with pytest.raises(ConfigError, match="simulator.bins = 144 is not a binning of measurement 't2k_cc0pi_2016"):
        load_config(_with(tiny, bins=144), check_files=False)


def _minerva_genie(tiny: dict) -> dict:
    d = _with(tiny, measurement=MINERVA, bins=144, backend="genie")
    d["simulator"]["genie"] = {**d["simulator"]["genie"], "flux_hist": "numu_fhc",
                               "flux_file": "resources/minerva_cc0pi_2d_le/minerva_le_flux.root"}
    d["observations"] = {"data": {"kind": "data"}}
    d["npe"] = {**d["npe"], "noise_components": ["stat", "syst"]}
    d["inference"] = {**d["inference"], "throw_components": ["stat", "syst"]}
    return d


def test_config_refuses_components_the_measurement_lacks(tiny: dict) -> None:
    d = _minerva_genie(tiny)
    d["npe"]["noise_components"] = ["stat", "syst", "norm"]
    with pytest.raises(ConfigError, match="npe.noise_components .* no covariance component norm"):
        load_config(d, check_files=False)


def test_genie_card_names_the_minerva_sample(tiny: dict, tmp_path, monkeypatch) -> None:
    from nutune.genie import runner

    d = _minerva_genie(tiny)
    cfg = load_config(d, check_files=False)
    assert measurement_of(cfg).nuisance_sample == "MINERvA_CC0pi_XSec_2Dptpz_nu"

    cards = []

    def fake_run_tool(cmd, **kw):
        cards.append(parse_card(Path(cmd[cmd.index("-c") + 1]).read_text()))
        Path(cmd[cmd.index("-o") + 1]).touch()
        return 0, ""

    monkeypatch.setattr(runner, "run_tool", fake_run_tool)
    monkeypatch.setattr(runner, "check_nuiscomp_log", lambda *a, **k: None)
    monkeypatch.setattr(runner, "read_nuisance_mc", lambda out, sample, bins: (sample, bins))
    monkeypatch.setattr(runner, "check_histogram", lambda values, **kw: values)
    got = runner.evaluate_point(cfg, np.array([p["min"] for p in d["parameters"] if "fixed" not in p]),
                                events_file=tmp_path / "ev.root", workdir=tmp_path, tag="t",
                                names=[p["dial"] for p in d["parameters"] if "fixed" not in p])
    assert got == ("MINERvA_CC0pi_XSec_2Dptpz_nu", 144)
    assert [s["name"] for s in cards[0].samples] == ["MINERvA_CC0pi_XSec_2Dptpz_nu"]
    assert "mask_mom_overflow" not in cards[0].samples[0]


def test_gevgen_generates_over_the_measurements_flux_range(tiny: dict) -> None:
    """NUISANCE averages MINERvA over SetEnuRange(0, 100) (the whole LE flux, PrepareGENIE's event rate too), T2K over
    its flux histogram (0-30 GeV): gevgen -e must be that range, or the events of a narrower one are normalised to
    the whole flux's rate (for the LE flux 0-30 GeV instead of 0-100 GeV: ~8 % too high)."""
    from nutune.genie.cards import gevgen_command

    cfg = load_config(_minerva_genie(tiny), check_files=False)
    assert get(MINERVA).flux.energy_range == (0.0, 100.0) and get(T2K).flux.energy_range == (0.0, 30.0)
    cmd = gevgen_command(cfg.simulator.genie, prefix="p", energy_range=measurement_of(cfg).flux.energy_range)
    assert cmd[cmd.index("-e") + 1] == "0,100"
    assert cmd[cmd.index("-f") + 1].endswith("minerva_cc0pi_2d_le/minerva_le_flux.root,numu_fhc")
    t2k = load_config(tiny, check_files=False)
    default = gevgen_command(t2k.simulator.genie, prefix="p")
    assert default == gevgen_command(t2k.simulator.genie, prefix="p", energy_range=get(T2K).flux.energy_range)
    assert default[default.index("-e") + 1] == "0,30"
    # PrepareGENIE gets the same flux histogram
    from nutune.genie.cards import prepare_genie_command

    prep = prepare_genie_command(cfg.simulator.genie, ghep="g.root", output="o.root")
    assert prep[prep.index("-f") + 1].endswith("minerva_le_flux.root,numu_fhc")


def test_config_refuses_the_flux_of_another_measurement(tiny: dict) -> None:
    d = _minerva_genie(tiny)
    d["simulator"]["genie"]["flux_hist"] = "enu_nd280_numu"  # the T2K flux for the MINERvA sample
    with pytest.raises(ConfigError, match="flux_hist = 'enu_nd280_numu' is not the flux of measurement "
                                          "'minerva_cc0pi_2d_le'.*'numu_fhc' of minerva_le_flux.root"):
        load_config(d, check_files=False)
