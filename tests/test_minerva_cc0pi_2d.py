"""Tests of nutune.minerva_cc0pi_2d: the shipped MINERvA CC0π (p_T, p_||) LE release, the derived file read back
equal to the ROOT file, NUISANCE's checks (bin errors, empty bins, covariance), the flux, and the signal cuts."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import uproot

from nutune import minerva_cc0pi_2d as mn
from nutune.io import sha256_file
from nutune.resources import DataError

REPO = Path(__file__).resolve().parents[1]
RES = REPO / "resources"
DATA_ROOT = RES / mn.DATA_ROOT
FLUX_ROOT = RES / mn.FLUX_ROOT
#: 0-based flat indices (i_pl + 12 i_pt) of the 12 empty bins: p_T >= 0.85 GeV at low p_||.
EMPTY = [108, 120, 121, 132, 133, 134, 135, 144, 145, 146, 147, 148]


@pytest.fixture(scope="module")
def meas() -> mn.MinervaCC0pi2D:
    return mn.load(RES)


@pytest.fixture(scope="module")
def root_objects() -> dict[str, np.ndarray]:
    """What uproot reads from the release, independently of the module (no scaling, ROOT's own layout)."""
    with uproot.open(DATA_ROOT) as f:
        h = f["pt_pl_cross_section"]
        out = {
            "x_edges": h.member("fXaxis").edges(), "y_edges": h.member("fYaxis").edges(),
            "values": h.values(), "errors": h.errors(),  # shape (12 p_||, 13 p_T)
            "cov_total": np.asarray(f["TotalCovariance"].member("fElements")).reshape(156, 156),
            "cov_stat": np.asarray(f["StatisticalCovariance"].member("fElements")).reshape(156, 156),
        }
    with uproot.open(FLUX_ROOT) as f:
        out["flux_edges"] = f["numu_fhc"].axis().edges()
        out["flux"] = f["numu_fhc"].values()
    return out


def test_shipped_root_files_are_the_release(meas: mn.MinervaCC0pi2D) -> None:
    assert sha256_file(DATA_ROOT) == "a52e5252ad7917b4491f006949ee3941fe0a94a6a362bab0f141d81760ca034a"
    assert sha256_file(FLUX_ROOT) == "1e6f1e4aaf0f9b960c6c7b709d3b18d917bee842877708890d6e404f4b87ba3e"
    assert dict(meas.source_sha256) == dict(mn.SOURCE_SHA256)


def test_derived_file_reads_back_equal_to_the_root_file(meas: mn.MinervaCC0pi2D, root_objects: dict) -> None:
    r = root_objects
    assert np.array_equal(meas.p_pl_edges, r["x_edges"]) and np.array_equal(meas.p_t_edges, r["y_edges"])
    assert np.array_equal(meas.p_pl_edges, mn.P_PL_EDGES) and np.array_equal(meas.p_t_edges, mn.P_T_EDGES)
    for ipl in range(12):
        for ipt in range(13):
            i = ipl + 12 * ipt  # NUISANCE's map: xbin = i % nbinsx + 1, ybin = i / nbinsx + 1
            assert meas.values[i] == r["values"][ipl, ipt] * 1e38
            assert meas.err_total[i] == r["errors"][ipl, ipt] * 1e38
            assert meas.values_2d[ipt, ipl] == meas.values[i]
    scale2 = 1e38 * 1e38  # NUISANCE's ScalingFactor (L122), which is not the float 1e76
    assert np.array_equal(meas.cov_total, r["cov_total"] * scale2)
    assert np.array_equal(meas.cov_stat, r["cov_stat"] * scale2)
    np.testing.assert_allclose(meas.values * 1e-38, r["values"].T.ravel(), rtol=5e-16, atol=0)  # round trip: 2 ulp
    assert np.array_equal(meas.flux_e_edges, r["flux_edges"])
    assert np.array_equal(meas.flux_numu, r["flux"].astype(np.float64))
    # and the module's own reader gives exactly the shipped arrays
    with np.load(RES / mn.DERIVED_NPZ, allow_pickle=False) as npz:
        shipped = {k: npz[k] for k in npz.files}
    rebuilt = mn.read_root(DATA_ROOT, FLUX_ROOT)
    assert sorted(shipped) == sorted(rebuilt)
    for key in shipped:
        assert np.array_equal(shipped[key], rebuilt[key]), key


def test_rebuild_is_byte_identical(tmp_path: Path) -> None:
    mn.build(RES, out_root=tmp_path)
    for rel in (mn.DERIVED_NPZ, mn.BINS_CSV):
        assert (tmp_path / rel).read_bytes() == (RES / rel).read_bytes(), rel
    assert mn.main(["--resources", str(RES)]) == 0


def test_bins_csv_matches_the_npz(meas: mn.MinervaCC0pi2D) -> None:
    t = pd.read_csv(RES / mn.BINS_CSV)
    assert len(t) == 156 and list(t["index"]) == list(range(156))
    assert np.array_equal(t["xsec_1e-38cm2_per_GeV2_per_nucleon"].to_numpy(), meas.values)
    assert np.array_equal(t["err_total"].to_numpy(), meas.err_total)
    assert np.array_equal(t["err_stat"].to_numpy(), np.sqrt(np.diag(meas.cov_stat)))
    assert np.array_equal(t["populated"].to_numpy().astype(bool), meas.mask)
    assert np.array_equal(t["area_GeV2"].to_numpy(), meas.areas)
    assert np.array_equal(t["p_pl_lo_GeV"].to_numpy(), meas.p_pl_edges[t["i_pl"].to_numpy()])
    assert np.array_equal(t["p_t_hi_GeV"].to_numpy(), meas.p_t_edges[t["i_pt"].to_numpy() + 1])


def test_bin_errors_are_sqrt_diag_total_cov_in_the_map_order(root_objects: dict) -> None:
    """NUISANCE's check (MINERvA_CC0pi_XSec_2D_nu.cxx L125-155), made in the order of its map and with a relative
    tolerance (NUISANCE's absolute 1e-5 on cm² numbers cannot fail)."""
    sig = np.sqrt(np.diag(root_objects["cov_total"]))
    err = root_objects["errors"]
    np.testing.assert_allclose(sig, err.T.ravel(), rtol=1e-12, atol=0)  # p_T outer, p_|| inner
    populated = err.T.ravel() > 0
    wrong = err.ravel()  # the other order (p_|| outer) does not match: the order is pinned
    assert not np.allclose(sig[populated], wrong[populated], rtol=1e-3, atol=0)
    stat = np.sqrt(np.diag(root_objects["cov_stat"]))
    assert np.all(stat <= sig * (1 + 1e-12))


def test_mask_covariances_and_empty_bins(meas: mn.MinervaCC0pi2D) -> None:
    assert meas.n_bins == 156 and meas.n_populated == 144 == mn.N_POPULATED
    assert np.flatnonzero(~meas.mask).tolist() == EMPTY
    assert np.all(meas.values[EMPTY] == 0) and np.all(meas.err_total[EMPTY] == 0)
    for cov in (meas.cov_total, meas.cov_stat):
        assert np.all(cov[EMPTY] == 0) and np.all(cov[:, EMPTY] == 0)
    # masked: positive definite; full: singular (rank 144, Cholesky fails as ROOT's TDecompChol does in NUISANCE)
    for kind in ("total", "stat"):
        c = meas.masked_cov(kind)
        assert c.shape == (144, 144)
        np.linalg.cholesky(c)
        assert np.linalg.eigvalsh(c).min() > 0
    assert np.linalg.eigvalsh(meas.masked_cov("syst")).min() > -1e-12 * np.linalg.eigvalsh(meas.cov_total).max()
    assert np.linalg.matrix_rank(meas.cov_total) == 144
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.cholesky(meas.cov_total)
    # NUISANCE with UseSVDInverse=1: the SVD pseudo-inverse of the full matrix is the inverse of the masked block
    # (zero rows for empty bins), so its chi2 equals the masked chi2.
    inv = np.linalg.inv(meas.masked_cov())
    pinv = np.linalg.pinv(meas.cov_total, rcond=np.finfo(float).eps, hermitian=True)
    scale = np.abs(inv).max()
    assert np.abs(pinv[np.ix_(meas.mask, meas.mask)] - inv).max() < 1e-8 * scale
    assert np.abs(pinv[~meas.mask]).max() < 1e-8 * scale
    rng = np.random.default_rng(15)
    pred = meas.values * rng.uniform(0.8, 1.2, meas.n_bins)
    pred[~meas.mask] = rng.uniform(0, 1, (~meas.mask).sum())  # a prediction in the empty bins does not count
    r = meas.values - pred
    chi2_masked = r[meas.mask] @ inv @ r[meas.mask]
    assert np.isclose(r @ pinv @ r, chi2_masked, rtol=1e-6)


def test_cross_section_scale_and_flux(meas: mn.MinervaCC0pi2D) -> None:
    # sigma in the measured phase space, per nucleon: 0.4636e-38 cm^2 (= the 1D p_T and p_|| releases' integrals)
    sigma = float(np.sum(meas.values * meas.areas))
    assert sigma == pytest.approx(0.463567, rel=1e-5)
    assert meas.values.max() == pytest.approx(0.3041, rel=1e-3)  # p_|| 2.5-3, p_T 0.475-0.55 GeV
    assert int(np.argmax(meas.values)) == 2 + 12 * 6
    e, f = meas.flux_e_edges, meas.flux_numu
    assert e[0] == 0 and e[-1] == 100 and e.size == 201 and np.allclose(np.diff(e), 0.5)
    assert float(f.sum()) == pytest.approx(285.887, rel=1e-5)  # nu/m^2/1e6 POT, summed over 0.5 GeV bins
    assert meas.flux_mean_energy() == pytest.approx(4.3732, abs=1e-3)  # 0-100 GeV (the high-energy tail)
    assert meas.flux_mean_energy(20.0) == pytest.approx(3.8833, abs=1e-3)
    assert meas.flux_mean_energy(10.0) == pytest.approx(3.3333, abs=1e-3)
    peak = int(np.argmax(f))
    assert (e[peak], e[peak + 1]) == (3.0, 3.5)


def test_loaded_object_is_frozen_and_read_only(meas: mn.MinervaCC0pi2D) -> None:
    assert meas.sample == "MINERvA_CC0pi_XSec_2Dptpz_nu"
    with pytest.raises(dataclasses.FrozenInstanceError):
        meas.sample = "other"  # type: ignore[misc]
    for name in ("values", "err_total", "cov_total", "cov_stat", "mask", "p_pl_edges", "flux_numu"):
        arr = getattr(meas, name)
        with pytest.raises(ValueError):
            arr[0] = 1
    with pytest.raises(TypeError):
        meas.source_sha256["x"] = "y"  # type: ignore[index]


def _corrupt(tmp_path: Path, **changes: object) -> Path:
    dst = tmp_path / "resources"
    (dst / mn.RESOURCE_DIR).mkdir(parents=True)
    with np.load(RES / mn.DERIVED_NPZ, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    for key, value in changes.items():
        arrays[key] = value(arrays) if callable(value) else value
    np.savez(dst / mn.DERIVED_NPZ, **arrays)
    return dst


def _cov_with_empty_row(a: dict) -> np.ndarray:
    c = a["cov_total"].copy()
    c[EMPTY[0], 0] = c[0, EMPTY[0]] = 1e-9
    return c


def _units_changed(a: dict) -> np.ndarray:
    meta = json.loads(str(a["meta_json"]))
    meta["units"]["xsec"] = "cm^2/GeV^2/C12"
    return np.array(json.dumps(meta))


@pytest.mark.parametrize(("changes", "match"), [
    ({"mask": lambda a: np.ones(156, bool)}, "mask"),
    ({"xsec": lambda a: a["xsec"][:-1]}, "shape"),
    ({"p_t_edges": lambda a: a["p_t_edges"] * 1000}, "p_t_edges"),
    ({"cov_total": _cov_with_empty_row}, "empty bins"),
    ({"err_total": lambda a: a["err_total"] * 1.01}, "bin error"),
    ({"meta_json": _units_changed}, "units"),
    ({"cov_stat": lambda a: -a["cov_stat"]}, "positive definite"),
])
def test_corrupted_derived_file_is_refused(tmp_path: Path, changes: dict, match: str) -> None:
    with pytest.raises(DataError, match=match):
        mn.load(_corrupt(tmp_path, **changes))


def test_build_refuses_other_root_files(tmp_path: Path) -> None:
    dst = tmp_path / "resources" / mn.RESOURCE_DIR
    dst.mkdir(parents=True)
    shutil.copy(DATA_ROOT, dst)
    raw = bytearray(FLUX_ROOT.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (dst / "minerva_le_flux.root").write_bytes(bytes(raw))
    with pytest.raises(DataError, match="sha256"):
        mn.build(tmp_path / "resources")
    assert not (dst / "minerva_cc0pi_2d_le.npz").exists()
    with pytest.raises(DataError, match="missing data file"):
        mn.load(tmp_path / "resources")


def test_signal_cuts_on_hand_made_muons() -> None:
    deg = np.radians
    # (p_mu [GeV], theta [deg], E_nu [GeV]) -> NUISANCE's kinematic signal
    cases = [
        (5.0, 10.0, 6.0, True),
        (5.0, 19.99, 6.0, True),
        (5.0, 20.01, 6.0, False),    # th >= 20 deg rejected
        (5.0, 45.0, 6.0, False),
        (5.0, 10.0, 100.0, False),   # 0 < E_nu < 100 GeV, strict
        (5.0, 10.0, 99.9, True),
        (1.0, 5.0, 2.0, True),       # no momentum cut in the signal: p_|| < 1.5 GeV is signal (underflow)
        (25.0, 2.0, 30.0, True),     # nor above: p_|| > 20 GeV is signal (overflow)
    ]
    p = np.array([c[0] for c in cases])
    cos = np.cos(deg([c[1] for c in cases]))
    enu = np.array([c[2] for c in cases])
    assert mn.signal(p, cos, enu).tolist() == [c[3] for c in cases]
    assert mn.signal(p, cos).tolist() == [c[3] or c[2] == 100.0 for c in cases]  # without E_nu no energy cut
    # within_bins adds the measured phase space 1.5 <= p_|| < 20, p_T < 2.5 GeV
    assert mn.signal(p, cos, enu, within_bins=True).tolist() == [True, True, False, False, False, True, False, False]
    pt, pl = mn.pt_pl(5.0, np.cos(deg(10.0)))
    assert pl == pytest.approx(5.0 * np.cos(deg(10.0))) and pt == pytest.approx(5.0 * np.sin(deg(10.0)))
    assert int(mn.bin_index(pl, pt)) == 6 + 12 * 9  # p_|| 4.5-5, p_T 0.85-1.0
    assert mn.bin_index([1.5, 20.0, 19.99, 3.0], [0.0, 0.1, 2.49, 2.5]).tolist() == [0, -1, 11 + 12 * 12, -1]
    with pytest.raises(ValueError):
        mn.signal(-1.0, 0.9)


def test_topology_signal() -> None:
    assert mn.topology_signal([13, 2212, 2112, 2000000101], [5.0, 1.1, 1.0, 10.0])
    assert mn.topology_signal([13, 22], [5.0, 0.009])          # photon below 10 MeV allowed
    assert not mn.topology_signal([13, 22], [5.0, 0.011])
    assert not mn.topology_signal([13, 211], [5.0, 0.3])
    assert not mn.topology_signal([13, 111], [5.0, 0.3])
    assert not mn.topology_signal([13, 3122], [5.0, 1.2])      # Lambda
    assert not mn.topology_signal([13, -13], [5.0, 1.0])
    assert not mn.topology_signal([13, 13], [5.0, 1.0])        # exactly one mu-
    assert not mn.topology_signal([2212], [1.0])
    assert mn.topology_signal([13, -311], [5.0, 1.0])          # as coded: K0bar is not in NUISANCE's meson list


def test_readme_lists_the_sha256_of_every_file() -> None:
    text = (RES / mn.RESOURCE_DIR / "README.md").read_text()
    for path in sorted((RES / mn.RESOURCE_DIR).iterdir()):
        if path.name != "README.md":
            assert f"`{path.name}`" in text and sha256_file(path) in text, path.name
    assert "Phys. Rev. D 99, 012004 (2019), arXiv:1811.02774" in text
