"""Tests of nutune.resources: the shipped data load and agree with the raw T2K release; corrupted copies are
refused with a DataError naming the file and the problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nutune import resources as res
from nutune.resources import DataError

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "t2k_cc0pi_2016_analysisI"


@pytest.fixture()
def copy_root(tmp_path: Path) -> Path:
    """A private copy of resources/ that tests may corrupt."""
    dst = tmp_path / "resources"
    shutil.copytree(REPO / "resources", dst)
    return dst


def _rewrite_npz(path: Path, **changes: np.ndarray) -> None:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays.update(changes)
    np.savez(path, **arrays)


def test_resources_root_is_the_repo_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NUTUNE_RESOURCES", raising=False)
    assert res.resources_root().resolve() == (REPO / "resources").resolve()
    monkeypatch.setenv("NUTUNE_RESOURCES", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="NUTUNE_RESOURCES"):
        res.resources_root()


def test_load_t2k_58_and_67() -> None:
    m58 = res.load_t2k(58)
    m67 = res.load_t2k(67)
    assert m58.values.shape == (58,) and m67.values.shape == (67,)
    assert m58.cov_total.shape == (58, 58)
    # 58 = 67 without the momentum-overflow bins 2, 7, 14, 21, 29, 38, 46, 57, 66
    kept = np.setdiff1d(np.arange(67), [2, 7, 14, 21, 29, 38, 46, 57, 66])
    np.testing.assert_array_equal(m58.bin_table["bin67"], kept)
    np.testing.assert_array_equal(m58.values, m67.values[kept])
    np.testing.assert_allclose(m58.cov(["stat", "syst", "norm"]), m58.cov_total, rtol=1e-9)
    np.testing.assert_allclose(m58.cov(["stat"]), m58.cov_stat)
    # first bin: cos in [-1, 0], p in [0, 0.3] GeV -> area 0.3
    assert m58.areas[0] == pytest.approx(0.3)
    assert m58.slice_index[-1] == 8 and m58.slice_index[0] == 0
    assert m67.bin_table["p_hi"].max() == pytest.approx(30.0)
    # flux-norm component: fully correlated 8.559 %
    rel = np.sqrt(np.diag(m58.cov_norm)) / m58.values
    np.testing.assert_allclose(rel, 0.08559, rtol=2e-3)
    with pytest.raises(DataError, match="unknown covariance component"):
        m58.cov(["stat", "flux"])


def test_t2k_npz_agrees_with_raw_release_text_and_root() -> None:
    lines = (FIXTURES / "cross-section_analysisI.txt").read_text().splitlines()
    raw = np.array([float(line.split("|")[-1]) for line in lines if line[:1].isdigit()])
    m67 = res.load_t2k(67)
    assert raw.size == 67
    np.testing.assert_allclose(m67.values, raw, rtol=1e-6)
    uproot = pytest.importorskip("uproot")
    with uproot.open(FIXTURES / "T2K_CC0PI_2DPmuCosmu_Data.root") as f:
        totcov = f["analysis1_totcov"].values()
    assert totcov.shape == (67, 67)
    # ROOT's TH2D is in 1e-76 units (= (1e-38)^2): same numbers as the release
    np.testing.assert_allclose(totcov, m67.cov_total, rtol=1e-5, atol=1e-12)


def test_load_flux() -> None:
    flux = res.load_flux()
    assert flux.e_edges.shape == (221,) and flux.numu.shape == (220,)
    assert np.sum(flux.numu_pdf_per_gev * flux.widths) == pytest.approx(1.0)
    # the ND280 numu flux peaks near 0.6 GeV
    assert 0.4 < flux.e_centres[np.argmax(flux.numu)] < 0.9


def test_load_published() -> None:
    tune = res.load_published("microboone_tune")
    nuwro = res.load_published("nuwro")
    assert tune.shape == nuwro.shape == (58,)
    assert tune[0] == pytest.approx(0.189044) and nuwro[0] == pytest.approx(0.163586)
    with pytest.raises(DataError, match="'neut' is unknown"):
        res.load_published("neut")
    with pytest.raises(DataError, match="58 kept bins only"):
        res.load_published("nuwro", bins=67)


def test_data_hash_changes_with_content(copy_root: Path) -> None:
    h0 = res.data_hash(copy_root)
    assert h0 == res.data_hash(REPO / "resources")
    with open(copy_root / res.PUBLISHED_CSV, "a") as fh:
        fh.write("\n")
    assert res.data_hash(copy_root) != h0


def test_bad_bins() -> None:
    with pytest.raises(DataError, match="bins = 60"):
        res.load_t2k(60)


def test_missing_file(copy_root: Path) -> None:
    (copy_root / res.T2K_NPZ).unlink()
    with pytest.raises(DataError, match="missing data file .*t2k_cc0pi_2016_anaI.npz"):
        res.load_t2k(root=copy_root)


def test_truncated_npz(copy_root: Path) -> None:
    path = copy_root / res.T2K_NPZ
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DataError, match="cannot read NPZ"):
        res.load_t2k(root=copy_root)


def test_nan_in_data(copy_root: Path) -> None:
    path = copy_root / res.T2K_NPZ
    xsec = np.load(path)["xsec"].copy()
    xsec[5] = np.nan
    _rewrite_npz(path, xsec=xsec)
    with pytest.raises(DataError, match=r"xsec: 1 non-finite value\(s\), first at index \(4,\)"):
        res.load_t2k(root=copy_root)  # 67-bin index 5 is 58-bin index 4


def test_negative_data(copy_root: Path) -> None:
    path = copy_root / res.T2K_NPZ
    xsec = np.load(path)["xsec"].copy()
    xsec[0] = -0.1
    _rewrite_npz(path, xsec=xsec)
    with pytest.raises(DataError, match=r"negative value.*-0\.1"):
        res.load_t2k(root=copy_root)


def test_asymmetric_covariance(copy_root: Path) -> None:
    path = copy_root / res.T2K_NPZ
    cov = np.load(path)["cov_stat"].copy()
    cov[0, 1] *= 1.001
    _rewrite_npz(path, cov_stat=cov)
    with pytest.raises(DataError, match=r"cov_stat: covariance is not symmetric \(C\[[01],[01]\]"):
        res.load_t2k(root=copy_root)


def test_not_positive_definite_covariance(copy_root: Path) -> None:
    path = copy_root / res.T2K_NPZ
    arrays = np.load(path)
    bad = arrays["cov_total"].copy()
    bad[0, 0] = -1.0
    _rewrite_npz(path, cov_total=bad)
    with pytest.raises(DataError, match="cov_total: covariance is not positive definite"):
        res.load_t2k(root=copy_root)


def test_norm_component_must_be_positive_semidefinite(copy_root: Path) -> None:
    path = copy_root / res.T2K_NPZ
    arrays = np.load(path)
    norm = arrays["cov_norm"].copy()
    norm[3, 3] = -abs(norm).max()  # a negative variance: not a covariance
    _rewrite_npz(path, cov_norm=norm, cov_total=arrays["cov_stat"] + arrays["cov_syst"] + norm)
    with pytest.raises(DataError, match="cov_norm: covariance is not positive semi-definite"):
        res.load_t2k(root=copy_root)


def test_mask_and_index_must_agree(copy_root: Path) -> None:
    path = copy_root / res.T2K_NPZ
    mask58 = np.load(path)["mask58"].copy()
    mask58[2], mask58[1] = True, False  # keep overflow bin 2, drop bin 1: idx58 no longer matches
    _rewrite_npz(path, mask58=mask58)
    with pytest.raises(DataError, match="mask58 and idx58 disagree"):
        res.load_t2k(root=copy_root)


def test_components_must_sum_to_total(copy_root: Path) -> None:
    path = copy_root / res.T2K_NPZ
    total = np.load(path)["cov_total"] * 1.5
    _rewrite_npz(path, cov_total=total)
    with pytest.raises(DataError, match="differs from cov_total"):
        res.load_t2k(root=copy_root)


def test_wrong_shape_in_npz(copy_root: Path) -> None:
    path = copy_root / res.T2K_NPZ
    _rewrite_npz(path, xsec=np.ones(66))
    with pytest.raises(DataError, match=r"'xsec' has shape \(66,\), expected \(67,\)"):
        res.load_t2k(root=copy_root)


def test_missing_array_in_npz(copy_root: Path) -> None:
    path = copy_root / res.T2K_NPZ
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "cov_syst"}
    np.savez(path, **arrays)
    with pytest.raises(DataError, match="missing array.*cov_syst"):
        res.load_t2k(root=copy_root)


def test_corrupted_flux(copy_root: Path) -> None:
    path = copy_root / res.FLUX_NPZ
    edges = np.load(path)["E_edges"].copy()
    edges[10] = edges[9]
    _rewrite_npz(path, E_edges=edges)
    with pytest.raises(DataError, match=r"edges must increase strictly; edges\[9\]"):
        res.load_flux(root=copy_root)


def test_one_flux_loader(copy_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulator's flux and the GENIE backend's flux CSV go through nutune.resources (one loader, one root)."""
    from nutune.genie.readers import read_flux_csv
    from nutune.simulator import flux as simulator_flux

    monkeypatch.setenv("NUTUNE_RESOURCES", str(copy_root))
    assert simulator_flux.resources_dir() == res.resources_root() == copy_root
    validated = res.load_flux()
    rates = validated.numu * validated.widths / 0.05
    np.testing.assert_array_equal(simulator_flux.load_flux().rate, rates / rates.sum())
    path = copy_root / res.FLUX_NPZ
    edges = np.load(path)["E_edges"].copy()
    edges[10] = edges[9]
    _rewrite_npz(path, E_edges=edges)
    with pytest.raises(DataError, match=r"edges must increase strictly"):
        simulator_flux.load_flux()
    csv_path = copy_root / "flux" / "t2k_nd280_flux_2016_plus250kA.csv"
    table = pd.read_csv(csv_path)
    table.loc[3, "nue"] = -1.0
    table.to_csv(csv_path, index=False)
    with pytest.raises(DataError, match=r"nue"):
        read_flux_csv(csv_path)


def test_corrupted_published_csv(copy_root: Path) -> None:
    path = copy_root / res.PUBLISHED_CSV
    table = pd.read_csv(path)
    table.loc[3, "nuwro"] = np.nan
    table.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"nuwro: 1 non-finite value"):
        res.load_published("nuwro", root=copy_root)
    table.drop(index=57).to_csv(path, index=False)
    with pytest.raises(DataError, match="expected 58 rows"):
        res.load_published("microboone_tune", root=copy_root)


def test_validators_directly() -> None:
    np.testing.assert_array_equal(res.validate_histogram([1.0, 2.0], 2, "h"), [1.0, 2.0])
    with pytest.raises(DataError, match=r"h: expected 3 bins, got shape \(2,\)"):
        res.validate_histogram([1.0, 2.0], 3, "h")
    with pytest.raises(DataError, match=r"h: .*non-finite.*inf"):
        res.validate_histogram([1.0, np.inf], 2, "h")
    with pytest.raises(DataError, match="square"):
        res.validate_covariance(np.ones((2, 3)), 2, "C")
    with pytest.raises(DataError, match="is 2x2, expected 3x3"):
        res.validate_covariance(np.eye(2), 3, "C")
    singular = np.ones((2, 2))
    with pytest.raises(DataError, match="not positive definite"):
        res.validate_covariance(singular, 2, "C")
    assert res.validate_covariance(singular, 2, "C", positive_definite=False).shape == (2, 2)
    with pytest.raises(DataError, match="flux is zero everywhere"):
        res.validate_flux([0.0, 1.0, 2.0], [0.0, 0.0], "F")
    with pytest.raises(DataError, match=r"shape \(3,\), expected \(2,\)"):
        res.validate_flux([0.0, 1.0, 2.0], [0.0, 1.0, 2.0], "F")
