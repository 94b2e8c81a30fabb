"""Tests of the FRED-MD loader and preprocessing (McCracken and Ng 2016): small files written to tmp_path, hand-
computed transformations and outlier bounds, EM imputation of an exact factor panel, a mocked download, and the
real vintages in ../shared/data/treasury (read back independently with the csv module)."""

from __future__ import annotations

import csv
import io
import math
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bondpremia.data.fredmd import (
    FREDMD_GROUP_NAMES,
    FredMD,
    download_fredmd,
    em_impute,
    fredmd_groups,
    is_market_series,
    load_fredmd,
    prepare_fredmd,
    remove_outliers,
    transform_fredmd,
)
from bondpremia.errors import ConvergenceWarning, InputError

TREASURY = Path(__file__).resolve().parents[3] / "shared" / "data" / "treasury"
VINTAGE_2018 = TREASURY / "fredmd_2018-12.csv"
VINTAGE_2026 = TREASURY / "fredmd_2026-04.csv"
GROUP_CSV = TREASURY / "fredmd_groups_mccracken_ng.csv"


def _need(path: Path) -> None:
    if not path.is_file():
        pytest.skip(f"real data not available: {path}")


def _write(tmp_path: Path, text: str, name: str = "fm.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


TINY = (
    "sasdate,RPI,UNRATE,S&P 500\n"       # line 1
    "Transform:,5,2,5\n"                 # line 2
    "1/1/2000,100.5,4.0,1400\n"          # line 3
    "2/1/2000,101,,1410.25\n"            # line 4
    "3/1/2000,,4.2,1390\n"               # line 5
    "4/1/2000,102.25,4.1,\n"             # line 6
    ",,,\n"
    "\n"
    ",,,\n"
)


# ----------------------------------------------------------------------------------------------------------
# Loader
# ----------------------------------------------------------------------------------------------------------
def test_load_tiny_file(tmp_path):
    fm = load_fredmd(_write(tmp_path, TINY))
    assert isinstance(fm, FredMD)
    assert list(fm.data.columns) == ["RPI", "UNRATE", "S&P 500"]
    assert fm.data.index.name == "date"
    assert list(fm.data.index) == [pd.Timestamp(d) for d in ("2000-01-31", "2000-02-29", "2000-03-31", "2000-04-30")]
    expected = np.array([[100.5, 4.0, 1400], [101, np.nan, 1410.25], [np.nan, 4.2, 1390], [102.25, 4.1, np.nan]])
    np.testing.assert_array_equal(fm.data.to_numpy(), expected)
    assert fm.data.dtypes.eq(np.float64).all()
    assert fm.tcodes.to_dict() == {"RPI": 5, "UNRATE": 2, "S&P 500": 5}
    assert fm.tcodes.dtype.kind == "i"


def test_load_stream_lowercase_label_bom_and_inner_blank_line(tmp_path):
    text = "\ufeffsasdate,A,B\ntransform,1,7\n1/1/1990,1,2\n\n2/1/1990,3,-4\n"
    fm = load_fredmd(io.StringIO(text))
    assert fm.tcodes.tolist() == [1, 7]
    assert fm.data.index[-1] == pd.Timestamp("1990-02-28")
    assert fm.data.loc["1990-02-28", "B"] == -4.0
    # upper case with colon, from a path with a BOM
    p = tmp_path / "bom.csv"
    p.write_bytes(text.replace("transform,", "TRANSFORM:,").encode("utf-8-sig"))
    assert load_fredmd(p).data.shape == (2, 2)


@pytest.mark.parametrize(
    ("text", "column", "row", "needle"),
    [
        ("sasdate,A,B\n1/1/2000,1,2\n", "sasdate", None, "Transform"),
        ("sasdate,A,B\nTransform:,5,8\n1/1/2000,1,2\n", "B", 2, "1 to 7"),
        ("sasdate,A,B\nTransform:,x,1\n1/1/2000,1,2\n", "A", 2, "1 to 7"),
        ("sasdate,A,B\nTransform:,5,\n1/1/2000,1,2\n", "B", 2, "1 to 7"),
        ("sasdate,A,B\nTransform:,5,1\n1/1/2000,1,2\n2/1/2000,1,2\n3/1/2000,1,abc\n", "B", 5, "'abc'"),
        ("sasdate,A,B\nTransform:,5,1\n1/1/2000,1,2\n13/45/2000,1,2\n", "sasdate", 4, "13/45/2000"),
        ("sasdate,A,B\nTransform:,5,1\n1/1/2000,1,2\n1/15/2000,1,2\n", "sasdate", 4, "twice"),
        ("sasdate,A,B\nTransform:,5,1\n2/1/2000,1,2\n1/1/2000,1,2\n", "sasdate", 4, "out of order"),
        ("sasdate,A,B\nTransform:,5,1\n1/1/2000,1,2\n,1,2\n3/1/2000,1,2\n", "sasdate", 4, "no date"),
        ("sasdate,A,A\nTransform:,5,1\n1/1/2000,1,2\n", "A", 1, "twice"),
    ],
)
def test_load_errors_name_column_and_line(tmp_path, text, column, row, needle):
    p = _write(tmp_path, text)
    with pytest.raises(InputError, match=needle) as info:
        load_fredmd(p)
    assert info.value.file == str(p)
    assert info.value.column == column
    assert info.value.row == row
    if row is not None:
        assert f"row {row}" in str(info.value)


def test_load_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_fredmd(tmp_path / "nope.csv")


# ----------------------------------------------------------------------------------------------------------
# Transformations
# ----------------------------------------------------------------------------------------------------------
def _levels(values: list[float], start: str = "2001-01") -> pd.DataFrame:
    idx = pd.date_range(start, periods=len(values), freq="ME", name="date")
    return pd.DataFrame({f"c{k}": values for k in range(1, 8)}, index=idx)


def test_each_tcode_by_hand():
    x = [1.0, 2.0, 4.0, 7.0, 11.0]
    data = _levels(x)
    out = transform_fredmd(data, {f"c{k}": k for k in range(1, 8)})
    nan = np.nan
    ln = math.log
    expected = {
        "c1": [1, 2, 4, 7, 11],
        "c2": [nan, 1, 2, 3, 4],
        "c3": [nan, nan, 1, 1, 1],
        "c4": [0.0, ln(2), ln(4), ln(7), ln(11)],
        "c5": [nan, ln(2), ln(2), ln(7 / 4), ln(11 / 7)],
        "c6": [nan, nan, 0.0, ln(7 / 4) - ln(2), ln(11 / 7) - ln(7 / 4)],
        # growth rates 1, 1, 3/4, 4/7, then their first differences
        "c7": [nan, nan, 0.0, 0.75 - 1.0, 4 / 7 - 0.75],
    }
    for col, values in expected.items():
        np.testing.assert_allclose(out[col].to_numpy(), values, rtol=1e-14, atol=1e-15, err_msg=col)
    assert out.index.equals(data.index)
    pd.testing.assert_frame_equal(data, _levels(x))  # input untouched


def test_transform_nan_propagates_to_neighbouring_differences():
    data = _levels([1.0, 2.0, np.nan, 8.0, 16.0])[["c2", "c5"]]
    out = transform_fredmd(data, pd.Series({"c2": 2, "c5": 5}))
    np.testing.assert_allclose(out["c2"], [np.nan, 1, np.nan, np.nan, 8])
    np.testing.assert_allclose(out["c5"], [np.nan, math.log(2), np.nan, np.nan, math.log(2)])


def test_transform_log_of_non_positive_names_column_and_date():
    data = _levels([1.0, 2.0, 0.0, 3.0])[["c1", "c5"]]
    data["c1"] = -1.0  # level tcode: negative is fine
    with pytest.raises(InputError, match="2001-03-31") as info:
        transform_fredmd(data, {"c1": 1, "c5": 5})
    assert info.value.column == "c5"
    assert transform_fredmd(data, {"c1": 1, "c5": 2})["c5"].iloc[2] == -2.0


def test_transform_requires_regular_months_and_tcodes():
    data = _levels([1.0, 2.0, 3.0])[["c2"]]
    gap = data.drop(data.index[1])
    with pytest.raises(InputError, match="consecutive calendar months"):
        transform_fredmd(gap, {"c2": 2})
    with pytest.raises(InputError, match="no tcode"):
        transform_fredmd(data, {"other": 2})
    with pytest.raises(InputError, match="1 to 7"):
        transform_fredmd(data, {"c2": 0})


# ----------------------------------------------------------------------------------------------------------
# Outliers
# ----------------------------------------------------------------------------------------------------------
def test_outlier_rule_on_constructed_series():
    # a = -10..10 plus -150, 115, 116 (24 values) and two NaN. Sorted, the linear quartiles are at positions
    # 23*0.25 = 5.75, 11.5 and 17.25: q25 = -6 + 0.75 = -5.25, median = 0.5, q75 = 6 + 0.25 = 6.25, IQR = 11.5.
    # Bound: |x - 0.5| > 115, i.e. x > 115.5 or x < -114.5: -150 and 116 go, 115 stays.
    a = np.concatenate([np.arange(-10.0, 11.0), [-150.0, 115.0, 116.0], [np.nan, np.nan]])
    b = np.linspace(0.0, 1.0, a.size)  # uniform: no outliers
    idx = pd.date_range("1990-01", periods=a.size, freq="ME")
    df = pd.DataFrame({"a": a, "b": b}, index=idx)
    out, counts = remove_outliers(df, return_counts=True)
    removed = df["a"].notna() & out["a"].isna()
    assert sorted(df.loc[removed, "a"]) == [-150.0, 116.0]
    assert out.loc[df["a"] == 115.0, "a"].item() == 115.0
    assert counts.to_dict() == {"a": 2, "b": 0}
    pd.testing.assert_series_equal(out["b"], df["b"])
    assert df["a"].notna().sum() == 24  # input untouched
    # threshold 5: bound 57.5 around 0.5, so 115 goes too
    assert remove_outliers(df, 5.0, return_counts=True)[1]["a"] == 3
    assert isinstance(remove_outliers(df), pd.DataFrame)
    with pytest.raises(InputError):
        remove_outliers(df, threshold=0)


# ----------------------------------------------------------------------------------------------------------
# EM imputation
# ----------------------------------------------------------------------------------------------------------
def _factor_panel(t=150, n=40, r=3, seed=0, noise=0.0):
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((t, r))
    lam = rng.standard_normal((n, r))
    common = f @ lam.T
    # idiosyncratic noise proportional to the scale of each column's common component (homoskedastic after
    # standardization, the setting in which IC_p2 is accurate)
    x = common + rng.normal(5.0, 2.0, n) + noise * common.std(axis=0) * rng.standard_normal((t, n))
    idx = pd.date_range("1970-01", periods=t, freq="ME", name="date")
    return pd.DataFrame(x, index=idx, columns=[f"s{j}" for j in range(n)])


def _holes(x: pd.DataFrame, share=0.10, seed=1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mask = rng.random(x.shape) < share
    assert not mask.all(axis=0).any() and not mask.all(axis=1).any()
    return x.mask(mask)


def test_em_recovers_exact_factor_panel():
    truth = _factor_panel()
    x = _holes(truth)
    miss = x.isna().to_numpy()
    assert 0.08 < miss.mean() < 0.12
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a converged fit does not warn
        filled, info = em_impute(x, n_factors=3, max_iter=3000, tol=1e-22, return_info=True)
    assert info.converged and info.n_factors == 3 and info.rel_change < 1e-22
    np.testing.assert_array_equal(filled.to_numpy()[~miss], x.to_numpy()[~miss])  # bit for bit
    err = np.abs(filled.to_numpy()[miss] - truth.to_numpy()[miss])
    assert err.max() < 1e-6
    # with the default tolerance it also converges, and the fit is already close
    quick, qinfo = em_impute(x, n_factors=3, return_info=True)
    assert qinfo.converged and qinfo.n_iter < 50
    assert np.abs(quick.to_numpy()[miss] - truth.to_numpy()[miss]).max() < 0.5
    assert not filled.isna().any().any()


def test_em_single_iteration_matches_eigen_formula():
    # one EM step written independently: mean fill, PCA through the eigenvectors of Z'Z, re-fill, PCA again
    x = _holes(_factor_panel(t=60, n=12, r=2, noise=0.3, seed=3), seed=4)
    a = x.to_numpy()
    miss = np.isnan(a)
    r = 2

    def fit(panel):
        mu = panel.mean(axis=0)
        sd = np.sqrt(((panel - mu) ** 2).sum(axis=0) / (panel.shape[0] - 1))
        z = (panel - mu) / sd
        _, vecs = np.linalg.eigh(z.T @ z)
        v = vecs[:, -r:]
        return (z @ v @ v.T) * sd + mu

    step0 = np.where(miss, np.nanmean(a, axis=0), a)
    step1 = np.where(miss, fit(step0), a)
    expected = np.where(miss, fit(step1), a)
    with pytest.warns(ConvergenceWarning, match=r"stopped after max_iter=1 iterations with relative change"):
        got, info = em_impute(x, n_factors=r, max_iter=1, tol=1e-300, return_info=True)
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-10, atol=1e-10)
    assert not info.converged and info.n_iter == 1  # the budget ran out: warned, and the last iterate returned


def test_em_bai_ng_finds_the_number_of_factors():
    full = _factor_panel(t=200, n=60, r=3, noise=0.5, seed=7)
    _, info = em_impute(_holes(full, share=0.05, seed=8), n_factors="bai_ng", return_info=True)
    assert info.n_factors == 3
    # complete panel: IC_p2 (Bai and Ng 2002) written out with regressions on the eigenvector factors
    z = full.to_numpy()
    z = (z - z.mean(axis=0)) / z.std(axis=0, ddof=1)
    t, n = z.shape
    _, vecs = np.linalg.eigh(z @ z.T)
    ic = []
    for k in range(9):
        f = vecs[:, ::-1][:, :k]
        resid = z - f @ np.linalg.lstsq(f, z, rcond=None)[0] if k else z
        ic.append(np.log((resid**2).sum() / (n * t)) + k * (n + t) / (n * t) * np.log(min(n, t)))
    _, info_full = em_impute(full, n_factors="bai_ng", return_info=True)
    assert info_full.n_factors == int(np.argmin(ic)) == 3


def test_em_without_missing_returns_input():
    x = _factor_panel(t=30, n=5, r=2)
    out, info = em_impute(x, n_factors=2, return_info=True)
    pd.testing.assert_frame_equal(out, x)
    assert info.n_iter == 0 and info.converged


def test_em_errors():
    x = _holes(_factor_panel(t=40, n=8, r=2))
    empty_col = x.copy()
    empty_col["s3"] = np.nan
    with pytest.raises(InputError, match="no observation") as info:
        em_impute(empty_col, n_factors=2)
    assert info.value.column == "s3"
    lead = x.copy()
    lead.iloc[0] = np.nan
    with pytest.raises(InputError, match="trim"):
        em_impute(lead, n_factors=2)
    trail = x.copy()
    trail.iloc[-1] = np.nan
    with pytest.raises(InputError, match="trim"):
        em_impute(trail, n_factors=2)
    for bad in (0, 9, 2.5, "two"):
        with pytest.raises(InputError, match="n_factors"):
            em_impute(x, n_factors=bad)


# ----------------------------------------------------------------------------------------------------------
# prepare_fredmd
# ----------------------------------------------------------------------------------------------------------
def test_prepare_trims_after_transforming():
    idx = pd.date_range("2000-01", periods=6, freq="ME", name="date")
    data = pd.DataFrame({"A": [1.0, 2.0, 4.0, 7.0, 11.0, 16.0], "B": [1.0, 3.0, 2.0, 5.0, 4.0, 6.0]}, index=idx)
    fm = FredMD(data=data, tcodes=pd.Series({"A": 3, "B": 1}))
    out = prepare_fredmd(fm, start="2000-03", end=pd.Timestamp("2000-05-15"), outliers=False, impute=False)
    # A: second differences of 1, 2, 4, 7, 11 at March..May are 1, 1, 1 (they use January and February)
    assert list(out.index) == list(idx[2:5])
    np.testing.assert_array_equal(out["A"], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(out["B"], [2.0, 5.0, 4.0])
    with pytest.raises(InputError, match="no month"):
        prepare_fredmd(fm, start="2010-01")
    with pytest.raises(InputError):
        prepare_fredmd(fm, start="not a month")


# ----------------------------------------------------------------------------------------------------------
# Download (no network: urlopen is replaced)
# ----------------------------------------------------------------------------------------------------------
class _FakeResponse:
    def __init__(self, payload: bytes):
        self.payload = payload

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self):
        return self.payload


def test_download_with_fake_urlopen(tmp_path, monkeypatch):
    seen = []

    def fake_urlopen(request, timeout=None):
        seen.append((request.full_url, timeout))
        return _FakeResponse(TINY.encode())

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    path = download_fredmd("2018-12", dest=tmp_path)
    assert path == tmp_path / "fredmd_2018-12.csv"
    assert seen[0][0].endswith("/fred-md/monthly/2018-12.csv") and seen[0][1] > 0
    fm = load_fredmd(path)
    assert fm.data.shape == (4, 3) and fm.data.loc["2000-02-29", "S&P 500"] == 1410.25
    named = download_fredmd(dest=tmp_path / "sub" / "latest.csv")
    assert named.name == "latest.csv" and "current.csv" in seen[-1][0]


def test_download_failure_tells_to_download_by_hand(tmp_path, monkeypatch):
    calls = []

    def offline(request, timeout=None):
        calls.append(request.full_url)
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(InputError, match="by hand") as info:
        download_fredmd("current", dest=tmp_path)
    assert info.value.column == "vintage" and len(calls) >= 1
    assert not list(tmp_path.iterdir())

    monkeypatch.setattr(urllib.request, "urlopen", lambda request, timeout=None: _FakeResponse(b"<html>moved</html>"))
    with pytest.raises(InputError, match="not a FRED-MD CSV"):
        download_fredmd("2020-01", dest=tmp_path)
    for bad in ("2018-13", "201812", "latest"):
        with pytest.raises(InputError, match="YYYY-MM"):
            download_fredmd(bad, dest=tmp_path)


# ----------------------------------------------------------------------------------------------------------
# Groups
# ----------------------------------------------------------------------------------------------------------
def test_groups_case_insensitive_and_unknown():
    assert FREDMD_GROUP_NAMES[6] == "Interest and exchange rates" and sorted(FREDMD_GROUP_NAMES) == list(range(1, 9))
    cols = ["rpi", "PAYEMS", "houst", "umcsentx", "M2SL", "gs10", "CPIAUCSL", "s&p 500", "VIXCLSx"]
    g = fredmd_groups(cols)
    assert g.tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 8] and list(g.index) == cols and g.dtype == np.int64
    with pytest.raises(InputError, match="NOT_A_SERIES"):
        fredmd_groups(["RPI", "NOT_A_SERIES"])
    g2 = fredmd_groups(["RPI", "NOT_A_SERIES"], unknown="nan")
    assert g2["RPI"] == 1 and np.isnan(g2["NOT_A_SERIES"])
    m = is_market_series(["FEDFUNDS", "EXJPUSx", "S&P div yield", "INDPRO", "CPIAUCSL", "M1SL"])
    assert m.tolist() == [True, True, True, False, False, False] and m.dtype == bool
    assert is_market_series(["X1"], unknown="nonmarket").tolist() == [False]
    assert is_market_series(["X1"], unknown="market").tolist() == [True]
    with pytest.raises(InputError):
        is_market_series(["X1"])


# ----------------------------------------------------------------------------------------------------------
# Real vintages
# ----------------------------------------------------------------------------------------------------------
def _raw_rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("path", "n_series", "last"), [(VINTAGE_2018, 128, "2018-11-30"), (VINTAGE_2026, 126, "2026-03-31")]
)
def test_real_vintages(path, n_series, last):
    _need(path)
    fm = load_fredmd(path)
    assert fm.data.shape[1] == n_series
    assert fm.data.index[0] == pd.Timestamp("1959-01-31") and fm.data.index[-1] == pd.Timestamp(last)
    assert len(fm.data) == (pd.Period(last, "M") - pd.Period("1959-01", "M")).n + 1
    raw = _raw_rows(path)
    header, tcodes = raw[0], raw[1]
    assert list(fm.data.columns) == header[1:]
    assert fm.tcodes.tolist() == [int(c) for c in tcodes[1:]]
    body = [r for r in raw[2:] if r and r[0].strip()]
    assert len(body) == len(fm.data)
    blanks = sum(1 for r in body for c in r[1:] if not c.strip())
    assert int(fm.data.isna().sum().sum()) == blanks
    for row in (0, 1, len(body) // 2, len(body) - 1):
        for j in (1, 24, n_series):
            cell = body[row][j]
            got = fm.data.iloc[row, j - 1]
            assert (np.isnan(got) and not cell.strip()) or got == float(cell)
    # RPI is tcode 5: first transformed value = log(Feb 1959) - log(Jan 1959)
    tx = transform_fredmd(fm.data, fm.tcodes)
    rpi = header.index("RPI")
    assert tx["RPI"].iloc[1] == pytest.approx(math.log(float(body[1][rpi]) / float(body[0][rpi])), rel=1e-12)


@pytest.mark.realdata
def test_prepare_real_2018_vintage():
    _need(VINTAGE_2018)
    fm = load_fredmd(VINTAGE_2018)
    out = prepare_fredmd(fm, start="1960-01", end="2018-11")
    assert out.shape == (707, 128)
    assert out.index[0] == pd.Timestamp("1960-01-31") and out.index[-1] == pd.Timestamp("2018-11-30")
    assert not out.isna().any().any() and np.isfinite(out.to_numpy()).all()
    # observed, non-outlier cells are the transformed data
    screened = remove_outliers(transform_fredmd(fm.data, fm.tcodes).loc["1960-01":"2018-11"])
    obs = screened.notna().to_numpy()
    np.testing.assert_array_equal(out.to_numpy()[obs], screened.to_numpy()[obs])


@pytest.mark.realdata
def test_group_map_and_tcodes_agree_with_appendix_csv():
    for p in (GROUP_CSV, VINTAGE_2018, VINTAGE_2026):
        _need(p)
    ref = pd.read_csv(GROUP_CSV)
    ref["key"] = ref["fred"].str.strip().str.upper()
    assert not ref["key"].duplicated().any()
    by_key = ref.set_index("key")
    ours = fredmd_groups(ref["fred"])
    assert (ours.to_numpy() == ref["group_id"].to_numpy()).all()
    tcode_diffs = []
    for path in (VINTAGE_2018, VINTAGE_2026):
        fm = load_fredmd(path)
        keys = fm.data.columns.str.upper()
        assert keys.isin(by_key.index).all(), list(fm.data.columns[~keys.isin(by_key.index)])
        g = fredmd_groups(fm.data.columns)
        np.testing.assert_array_equal(g.to_numpy(), by_key.loc[keys, "group_id"].to_numpy())
        same = fm.tcodes.to_numpy() == by_key.loc[keys, "tcode"].to_numpy()
        tcode_diffs += [(path.name, c) for c in fm.data.columns[~same]]
        assert same.mean() > 0.9, tcode_diffs
    assert len(tcode_diffs) <= 10, tcode_diffs  # informative: vintages may change a few tcodes
