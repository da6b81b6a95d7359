"""uproot readers: the genuine T2K release ROOT file, NUISANCE-layout output, the flux file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import uproot

from nutune.genie import GenieHistogramError, read_nuisance_mc, read_t2k_release, read_th1, write_flux_root
from nutune.genie.readers import read_flux_csv, write_nuisance_output

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "tests/fixtures/t2k_cc0pi_2016_analysisI/T2K_CC0PI_2DPmuCosmu_Data.root"
T2K = ROOT / "resources/t2k/t2k_cc0pi_2016_anaI.npz"
FLUX_CSV = ROOT / "resources/flux/t2k_nd280_flux_2016_plus250kA.csv"
FLUX_ROOT = ROOT / "resources/flux/t2kflux_2016_plus250kA.root"


def test_release_root_file_equals_resources():
    rel = read_t2k_release(RELEASE)
    ref = np.load(T2K, allow_pickle=False)
    np.testing.assert_allclose(rel["xsec"], ref["xsec"], rtol=1e-12)
    for key in ("cov_stat", "cov_syst", "cov_norm", "cov_total"):
        np.testing.assert_allclose(rel[key], ref[key], rtol=1e-12, atol=0, err_msg=key)
    # slices: 9 cos-theta slices, concatenated in release order = the 67-bin vector; p edges match the bin table
    assert len(rel["slices"]) == 9
    np.testing.assert_allclose(np.concatenate([v for v, _ in rel["slices"]]), ref["xsec"], rtol=1e-12)
    p_lo = np.concatenate([e[:-1] for _, e in rel["slices"]])
    np.testing.assert_allclose(p_lo, ref["p_lo"], rtol=1e-6)
    # the 58-bin mask drops the last (overflow) bin of every slice
    last = np.cumsum([v.size for v, _ in rel["slices"]]) - 1
    np.testing.assert_array_equal(np.flatnonzero(~ref["mask58"].astype(bool)), last)


@pytest.mark.parametrize("bins", [58, 67])
def test_nuisance_layout_round_trip(tmp_path, bins):
    mc = np.linspace(0.01, 3.0, bins)
    out = tmp_path / "nuis.root"
    write_nuisance_output(out, mc, data=mc * 1.1)
    with uproot.open(out) as f:
        h = f["T2K_CC0pi_XSec_2DPcos_nu_I_MC"]
        assert h.classname == "TH1D"
        assert np.max(h.values()) < 1e-37  # NUISANCE's unit is cm^2
    np.testing.assert_allclose(read_nuisance_mc(out, bins=bins), mc, rtol=1e-14)
    with pytest.raises(GenieHistogramError, match=f"{bins} bins, expected"):
        read_nuisance_mc(out, bins=125 - bins)


def test_nuisance_mc_in_subdirectory_and_units(tmp_path):
    out = tmp_path / "nested.root"
    mc = np.full(58, 0.5)
    with uproot.recreate(out) as f:
        f["T2K_CC0pi_XSec_2DPcos_nu_I/T2K_CC0pi_XSec_2DPcos_nu_I_MC"] = (mc * 1e-38, np.arange(59.0))
        f["wrong_units/T2K_CC0pi_XSec_2DPcos_nu_I_MC"] = (mc, np.arange(59.0))
    np.testing.assert_allclose(read_nuisance_mc(out, bins=58), mc)
    bad = tmp_path / "bad.root"
    with uproot.recreate(bad) as f:
        f["T2K_CC0pi_XSec_2DPcos_nu_I_MC"] = (mc, np.arange(59.0))
    with pytest.raises(GenieHistogramError, match="not in cm"):
        read_nuisance_mc(bad)
    with pytest.raises(GenieHistogramError, match="no NUISANCE MC histogram"):
        read_nuisance_mc(out, sample="OTHER")
    with pytest.raises(GenieHistogramError, match="does not exist"):
        read_nuisance_mc(tmp_path / "missing.root")


def test_flux_root_matches_csv(tmp_path):
    edges, cols = read_flux_csv(FLUX_CSV)
    out = write_flux_root(FLUX_CSV, tmp_path / "flux.root")
    for path in (out, FLUX_ROOT):  # freshly written and the committed copy
        vals, e = read_th1(path, "enu_nd280_numu")
        np.testing.assert_array_equal(e, edges)
        np.testing.assert_array_equal(vals, cols["numu"])
        assert e[0] == 0.0 and e[-1] == 30.0 and vals.size == 220
        np.testing.assert_array_equal(read_th1(path, "enu_nd280_numub")[0], cols["numubar"])
    # per-50-MeV density: the bin-integrated flux (content x width/0.05) integrates to the documented total
    total = np.sum(cols["numu"] * np.diff(edges) / 0.05)
    np.testing.assert_allclose(total, 19179454321106.332, rtol=1e-9)
