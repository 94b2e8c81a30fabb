"""Reading yield files for the Treasury forecasts: Liu-Wu, the Treasury par curve (bootstrapped), plain tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bondpremia.errors import InputError
from bondpremia.models.forecast import read_yields, treasury_data

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data"
PAR = SHARED / "market" / "ust_par_yield_curve_1990_2024.csv"
LIU_WU = SHARED / "treasury" / "liuwu_monthly_196106-202512.csv"


@pytest.mark.realdata
def test_par_curve_month_ends_bootstrap_by_hand_and_agree_with_liu_wu():
    if not PAR.exists() or not LIU_WU.exists():
        pytest.skip("../shared/data is absent")
    zero = read_yields(PAR)
    assert list(zero.columns) == list(range(12, 121, 12))
    assert zero.index.is_month_end.all() and zero.index.is_monotonic_increasing
    # 1-year zero by hand on the last quoted day of June 2019: the 6-month bill, then a semiannual-coupon
    # 1-year bond at par: 1 = c/2 D(0.5) + (1 + c/2) D(1)
    raw = pd.read_csv(PAR)
    raw["Date"] = pd.to_datetime(raw["Date"], format="%m/%d/%y")
    day = raw[(raw["Date"] >= "2019-06-01") & (raw["Date"] <= "2019-06-30")].sort_values("Date").iloc[-1]
    d_half = 1 / (1 + day["6 Mo"] / 200)
    c = day["1 Yr"] / 100
    d_one = (1 - c / 2 * d_half) / (1 + c / 2)
    assert zero.loc["2019-06-30", 12] == pytest.approx(-np.log(d_one), abs=1e-12)
    # the bootstrapped par curve and Liu-Wu's smoothed zero curve agree within a few basis points on average
    from bondpremia.data import load_liu_wu

    lw = load_liu_wu(LIU_WU).reindex(zero.index)
    for m in (24, 60, 120):
        gap = (zero[m] - lw[m]).loc["1995":"2018"].abs()
        assert gap.mean() < 0.0015, (m, gap.mean())
    data = treasury_data(zero, start="1991-01", end="2018-12")
    assert np.isfinite(data.forwards.to_numpy()).all()


def test_table_of_zero_yields_in_percent(tmp_path):
    idx = pd.date_range("2000-01-31", periods=30, freq="ME")
    frame = pd.DataFrame({f"{m}m": 3 + 0.01 * m + 0.1 * np.arange(30) for m in range(12, 121, 12)}, index=idx)
    frame.index.name = "date"
    frame.to_csv(tmp_path / "z.csv")
    got = read_yields(tmp_path / "z.csv", kind="table", percent=True)
    assert list(got.columns) == list(range(12, 121, 12))
    assert got.loc["2000-03-31", 60] == pytest.approx((3 + 0.6 + 0.2) / 100)
    frame.rename(columns={"60m": "five years"}).to_csv(tmp_path / "bad.csv")
    with pytest.raises(InputError, match="months"):
        read_yields(tmp_path / "bad.csv", kind="table")
