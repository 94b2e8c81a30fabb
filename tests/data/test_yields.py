"""Tests of the yield-curve loaders: real files (spot values read back with the csv module) and small
synthetic files written to tmp_path, including malformed rows."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bondpremia.data import load_liu_wu, load_treasury_par_curve
from bondpremia.errors import InputError

DATA = Path(__file__).parents[2] / ".." / "shared" / "data"
LIU_WU = DATA / "treasury" / "liuwu_monthly_196106-202512.csv"
PAR_1990 = DATA / "market" / "ust_par_yield_curve_1990_2024.csv"
PAR_2021 = DATA / "market" / "ust_par_yield_curve_2021_2025.csv"


def _need(path: Path) -> None:
    if not path.is_file():
        pytest.skip(f"real data not available: {path}")


def _raw(path: Path) -> list[list[str]]:
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


# ----------------------------------------------------------------------------------------------------------
# Liu-Wu
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.realdata
def test_liu_wu_real_file():
    _need(LIU_WU)
    df = load_liu_wu(LIU_WU)
    assert df.shape == (775, 360)
    assert list(df.columns) == list(range(1, 361))
    assert df.index[0] == pd.Timestamp("1961-06-30") and df.index[-1] == pd.Timestamp("2025-12-31")
    assert df.index.is_monotonic_increasing and df.index.is_unique
    assert (df.index == df.index + pd.offsets.MonthEnd(0)).all()  # month-end dates
    raw = _raw(LIU_WU)
    header = next(i for i, r in enumerate(raw) if r[1].strip() == "1 m")
    body = {r[0]: r[1:] for r in raw[header + 1:]}
    for yyyymm, month in [("196106", 1), ("197108", 120), ("199001", 60), ("202512", 360), ("202512", 1)]:
        date = pd.Timestamp(f"{yyyymm[:4]}-{yyyymm[4:]}-01") + pd.offsets.MonthEnd(0)
        assert df.loc[date, month] == pytest.approx(float(body[yyyymm][month - 1]) / 100, rel=1e-15)
    blanks = sum(1 for r in raw[header + 1:] for c in r[1:] if not c.strip())
    assert int(df.isna().sum().sum()) == blanks > 0
    assert np.isnan(df.loc["1961-06-30", 360])
    # 1-10 years complete from 1971-08 (per the data README)
    assert df.loc["1971-08":, 1:120].notna().all().all()
    assert df.loc["1971-08":, 1:120].abs().max().max() < 0.2  # decimals, not percent


def _lw_text(rows: list[str], junk: int = 3) -> str:
    lines = ['"Some source line, with a comma",,,'] + [",,,"] * (junk - 1)
    lines += [",  1 m,  2 m, 12 m"] + rows
    return "\n".join(lines) + "\n"


def test_liu_wu_synthetic(tmp_path):
    path = tmp_path / "lw.csv"
    path.write_text(_lw_text(["199001,7.5,7.6,8.0", "199002,7.4,,7.9", "", "199003,7.3,7.35,7.8"], junk=5))
    df = load_liu_wu(path)
    assert list(df.columns) == [1, 2, 12]
    assert list(df.index) == list(pd.DatetimeIndex(["1990-01-31", "1990-02-28", "1990-03-31"]))
    np.testing.assert_array_equal(df.loc["1990-01-31"].to_numpy(), np.array([7.5, 7.6, 8.0]) / 100)
    assert np.isnan(df.loc["1990-02-28", 2])


@pytest.mark.parametrize(
    ("rows", "line", "column", "match"),
    [
        (["199001,7.5,7.6,8.0", "199002,7.4,abc,7.9"], 6, "2 m", "not a number"),
        (["199001,7.5,7.6,8.0", "199002,7.4,7.9"], 6, None, "expected 4 fields"),
        (["1990-01,7.5,7.6,8.0"], 5, "date", "YYYYMM"),
        (["199013,7.5,7.6,8.0"], 5, "date", "YYYYMM"),
        (["199002,7.5,7.6,8.0", "199001,7.4,7.5,7.9"], 6, "date", "out of order"),
        (["199001,7.5,7.6,8.0", "199001,7.4,7.5,7.9"], 6, "date", "duplicated"),
    ],
)
def test_liu_wu_malformed_rows(tmp_path, rows, line, column, match):
    path = tmp_path / "bad.csv"
    path.write_text(_lw_text(rows))
    with pytest.raises(InputError, match=match) as err:
        load_liu_wu(path)
    assert err.value.row == line
    assert err.value.column == column
    assert err.value.file == str(path)


def test_liu_wu_without_header(tmp_path):
    path = tmp_path / "noheader.csv"
    path.write_text("a,b\n199001,7.5\n")
    with pytest.raises(InputError, match="no header"):
        load_liu_wu(path)
    with pytest.raises(InputError, match="not found"):
        load_liu_wu(tmp_path / "missing.csv")


# ----------------------------------------------------------------------------------------------------------
# Treasury par yield curve
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.realdata
def test_par_curve_1990_2024_real_file():
    _need(PAR_1990)
    df = load_treasury_par_curve(PAR_1990)
    assert df.shape == (8757, 13)
    np.testing.assert_allclose(df.columns.to_numpy(),
                               [1 / 12, 2 / 12, 3 / 12, 4 / 12, 0.5, 1, 2, 3, 5, 7, 10, 20, 30], rtol=1e-15)
    assert df.index[0] == pd.Timestamp("1990-01-02") and df.index[-1] == pd.Timestamp("2024-12-31")
    assert df.index.is_monotonic_increasing and df.index.is_unique
    raw = _raw(PAR_1990)
    header = raw[0]
    by_date = {r[0]: r[1:] for r in raw[1:]}
    for day, stamp in [("12/31/24", "2024-12-31"), ("1/2/90", "1990-01-02"), ("3/15/05", "2005-03-15")]:
        row = by_date[day]
        for j, label in enumerate(header[1:]):
            got = df.loc[stamp].iloc[j]
            if row[j].strip():
                assert got == pytest.approx(float(row[j]) / 100, rel=1e-15), (day, label)
            else:
                assert np.isnan(got), (day, label)
    assert df.loc["2024-12-31", 10.0] == pytest.approx(0.0458)
    assert df.loc["1990-01-02", 30.0] == pytest.approx(0.08)  # the file's last line has no newline: '8'
    assert df.loc["2010-10-11"].isna().all()  # an all-blank holiday row, kept by default
    assert len(load_treasury_par_curve(PAR_1990, drop_empty=True)) == 8756
    assert df.max().max() < 0.1  # decimals


@pytest.mark.realdata
def test_par_curve_2021_2025_real_file():
    _need(PAR_2021)
    df = load_treasury_par_curve(PAR_2021)
    assert df.shape == (1115, 14)
    assert 0.125 in df.columns  # 1.5 Mo
    assert df.index[0] == pd.Timestamp("2021-01-04") and df.index[-1] == pd.Timestamp("2025-07-11")
    raw = _raw(PAR_2021)
    first = raw[1]
    assert first[0] == "2025-07-11"
    expected = np.array([float(v) for v in first[1:]]) / 100
    np.testing.assert_allclose(df.iloc[-1].to_numpy(), expected, rtol=1e-15)
    assert np.isnan(df.loc["2021-01-04", 0.125])


def test_par_curve_synthetic_formats(tmp_path):
    body = "Date,3 Mo,1 Mo,1.5 Mo,10 Yr\n01/05/2024,5.2,5.3,N/A,4.0\n01/04/2024,5.21,,5.25,3.99\n"
    path = tmp_path / "par.csv"
    path.write_text(body)
    df = load_treasury_par_curve(path)
    np.testing.assert_allclose(df.columns.to_numpy(), [1 / 12, 0.125, 0.25, 10.0], rtol=1e-15)
    assert list(df.index) == [pd.Timestamp("2024-01-04"), pd.Timestamp("2024-01-05")]
    np.testing.assert_allclose(df.loc["2024-01-05"].to_numpy(), [0.053, np.nan, 0.052, 0.04], rtol=1e-15)
    assert np.isnan(df.loc["2024-01-04", 1 / 12])
    iso = tmp_path / "iso.csv"
    iso.write_text("Date,1 Yr\n2024-01-05,4.8\n2024-01-04,4.9\n")
    assert load_treasury_par_curve(iso).iloc[0, 0] == pytest.approx(0.049)


@pytest.mark.parametrize(
    ("text", "line", "column", "match"),
    [
        ("Date,1 Mo,1 Yr\n1/5/24,5.3,4.8\n1/4/24,5.3,x.y\n", 3, "1 Yr", "not a number"),
        ("Date,1 Mo,1 Yr\n1/5/24,5.3,4.8\n1/4/24,5.3\n", 3, None, "expected 3 fields"),
        ("Date,1 Mo,1 Yr\n1/5/24,5.3,4.8\n13/45/24,5.3,4.7\n", 3, "Date", "date format"),
        ("Date,1 Mo,1 Yr\n1/5/24,5.3,4.8\n1/5/24,5.3,4.7\n", 3, "Date", "more than once"),
        ("Date,1 Mo,5 Weeks\n1/5/24,5.3,4.8\n", 1, "5 Weeks", "not a maturity"),
        ("When,1 Mo\n1/5/24,5.3\n", 1, None, "Date"),
    ],
)
def test_par_curve_malformed(tmp_path, text, line, column, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=match) as err:
        load_treasury_par_curve(path)
    assert err.value.row == line
    assert err.value.column == column
