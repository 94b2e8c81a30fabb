"""Daily prices and monthly returns (``docs/trace.md``, "Daily prices" and "Monthly returns").

The expected numbers are computed by hand in the comments (Bai, Bali and Wen 2019, Section 2, definitions), never
by the code under test. Calendar facts are SIFMA US bond-market days: Thanksgiving (2024-11-28) and July 4th are
closed, the day after Thanksgiving and July 3rd are early closes (trading days).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bondpremia.errors import InputError
from bondpremia.fixed_income import coupons_paid
from bondpremia.fixed_income.calendar import bond_market_days
from bondpremia.trace.daily import DAILY_COLUMNS, daily_prices
from bondpremia.trace.monthly import (
    MONTHLY_COLUMNS,
    NOT_IN_FISD,
    _coupon_cash,
    _Terms,
    business_day_windows,
    monthly_returns,
)

D = dt.date


def daily(rows: list[tuple[str, str, float]]) -> pl.DataFrame:
    """A daily table from ``(cusip, date, price)``; 2 trades and 20,000 of par a day."""
    return pl.DataFrame(
        {"cusip_id": [r[0] for r in rows], "trd_exctn_dt": [D.fromisoformat(r[1]) for r in rows],
         "prc_vw_par": [r[2] for r in rows], "n_trades": [2] * len(rows), "vol_par": [20_000.0] * len(rows)},
        schema_overrides={"n_trades": pl.Int64})


def bond(cusip: str, maturity: str, coupon: float, freq: int = 2, daycount: str | None = "30/360",
         dated: str | None = None, first: str | None = None, amount: float | None = 100_000.0,
         coupon_type: str = "F", rating: int = 8) -> dict[str, Any]:
    return {"complete_cusip": cusip, "maturity": D.fromisoformat(maturity), "coupon": coupon,
            "interest_frequency": freq, "day_count_basis": daycount,
            "dated_date": D.fromisoformat(dated) if dated else None,
            "first_interest_date": D.fromisoformat(first) if first else None,
            "amount_outstanding": amount, "coupon_type": coupon_type, "rating_num": rating}


def fisd(*bonds: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(bonds), schema_overrides={"dated_date": pl.Date, "first_interest_date": pl.Date,
                                                       "day_count_basis": pl.String,
                                                       "amount_outstanding": pl.Float64})


def row(out: pl.DataFrame, cusip: str, month_end: str) -> dict[str, Any]:
    sel = out.filter((pl.col("cusip_id") == cusip) & (pl.col("date") == D.fromisoformat(month_end)))
    assert sel.height == 1, f"expected one row for {cusip} {month_end}, got {sel.height}"
    return sel.row(0, named=True)


# -- daily prices -------------------------------------------------------------------------------------------

def trades() -> pl.DataFrame:
    """Five trades of two bonds (a function, not a module constant: no polars work at import, so the mutation
    run's fork server can collect this file; polars' thread pool does not survive a fork)."""
    return pl.DataFrame({
        "cusip_id": ["AAA111111", "AAA111111", "AAA111111", "AAA111111", "BBB222222"],
        "trd_exctn_dt": ["2023-03-01", "2023-03-01", "2023-03-01", "2023-03-02", "2023-03-01"],
        "trd_exctn_tm": ["09:30:00", "10:00:00", "10:00:00", "11:00:00", "15:00:00"],
        "msg_seq_nb": [5, 3, 4, 1, 2],
        "rptd_pr": [100.0, 101.0, 99.0, 102.0, 90.0],
        "entrd_vol_qt": [10_000.0, 30_000.0, 20_000.0, 50_000.0, 25_000.0],
        "rpt_side_cd": ["B", "S", "S", "B", "S"],
    })


def test_daily_prices_by_hand():
    out = daily_prices(trades())
    assert out.columns == list(DAILY_COLUMNS)
    assert out.select("cusip_id", "trd_exctn_dt").rows() == [
        ("AAA111111", D(2023, 3, 1)), ("AAA111111", D(2023, 3, 2)), ("BBB222222", D(2023, 3, 1))]
    a = out.row(0, named=True)
    # par volumes 10,000 + 30,000 + 20,000 = 60,000
    # par-weighted: (100*10,000 + 101*30,000 + 99*20,000) / 60,000 = 6,010,000 / 60,000
    assert a["prc_vw_par"] == pytest.approx(6_010_000 / 60_000, rel=1e-14)
    # dollar volumes p*q/100: 10,000, 30,300, 19,800 (sum 60,100)
    # dollar-weighted: (100*10,000 + 101*30,300 + 99*19,800) / 60,100 = 6,020,500 / 60,100 = 100.1747...
    assert a["prc_vw"] == pytest.approx(6_020_500 / 60_100, rel=1e-14)
    assert a["prc_ew"] == pytest.approx(100.0, rel=1e-14)  # (100 + 101 + 99) / 3
    # the 10:00:00 trades tie on time; msg_seq_nb 4 (price 99) comes after 3 (price 101)
    assert a["prc_last"] == 99.0
    assert (a["n_trades"], a["vol_par"], a["vol_dollar"]) == (3, 60_000.0, pytest.approx(60_100.0))
    b = out.row(1, named=True)
    assert (b["prc_vw"], b["prc_vw_par"], b["prc_ew"], b["prc_last"], b["n_trades"]) == (102.0,) * 4 + (1,)
    assert b["vol_dollar"] == pytest.approx(51_000.0)  # 102 * 50,000 / 100
    assert out.row(2, named=True)["vol_dollar"] == pytest.approx(22_500.0)  # 90 * 25,000 / 100


def test_daily_prices_lazy_pandas_and_typed_input_agree():
    t = trades()
    typed = t.with_columns(pl.col("trd_exctn_dt").str.to_date(), pl.col("trd_exctn_tm").str.to_time())
    ref = daily_prices(t)
    assert daily_prices(t.lazy()).equals(ref)
    assert daily_prices(typed).equals(ref)
    assert daily_prices(t.to_pandas()).equals(ref)


def test_daily_prices_without_message_numbers():
    """The tidyfinance preset keeps no msg_seq_nb: trades of the same second are then ordered by price, then
    volume, so the last 10:00:00 trade of AAA is the one at 101 (not 99, as by message number); the other
    prices do not depend on the order."""
    out = daily_prices(trades().drop("msg_seq_nb"))
    ref = daily_prices(trades())
    assert out["prc_last"].to_list() == [101.0, 102.0, 90.0]
    assert out.drop("prc_last").equals(ref.drop("prc_last"))


def test_daily_prices_rejects_bad_input():
    with pytest.raises(InputError, match="rptd_pr"):
        daily_prices(trades().drop("rptd_pr"))
    bad_day = trades().with_columns(pl.Series("trd_exctn_dt", ["2023-03-01"] * 3 + ["2023/03/02", "2023-03-01"]))
    with pytest.raises(InputError) as info:  # polars' InvalidOperationError before
        daily_prices(bad_day)
    assert (info.value.column, info.value.row) == ("trd_exctn_dt", 3)
    assert info.value.reason == "trades: '2023/03/02' is not a date (expected YYYY-MM-DD)"
    daily = daily_prices(trades()).with_columns(pl.col("trd_exctn_dt").cast(pl.String))
    daily = daily.with_columns(pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("1 March")).otherwise(
        pl.col("trd_exctn_dt")).alias("trd_exctn_dt"))
    with pytest.raises(InputError) as info:
        monthly_returns(daily, fisd(bond("AAA111111", "2030-01-15", 5.0)))
    assert (info.value.column, info.value.row, info.value.reason) == (
        "trd_exctn_dt", 2, "daily: '1 March' is not a date (expected YYYY-MM-DD)")
    with pytest.raises(InputError, match="rptd_pr"):
        daily_prices(trades().with_columns(rptd_pr=pl.Series([100.0, -1.0, 99.0, 102.0, 90.0])))
    with pytest.raises(InputError, match="entrd_vol_qt"):
        daily_prices(trades().with_columns(entrd_vol_qt=pl.Series([1.0, None, 1.0, 1.0, 1.0])))


trade_rows = st.lists(
    st.tuples(st.sampled_from(["AAA111111", "BBB222222"]), st.sampled_from(["2023-03-01", "2023-03-02"]),
              st.sampled_from(["09:00:00", "10:00:00", "11:30:00"]), st.integers(1, 4),
              st.floats(50, 150).map(lambda x: round(x, 3)), st.integers(1, 500).map(lambda v: v * 1000.0)),
    min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(rows=trade_rows, seed=st.integers(0, 2**32 - 1))
def test_daily_prices_do_not_depend_on_row_order(rows, seed):
    df = pl.DataFrame(rows, schema=["cusip_id", "trd_exctn_dt", "trd_exctn_tm", "msg_seq_nb", "rptd_pr",
                                    "entrd_vol_qt"], orient="row")
    perm = np.random.default_rng(seed).permutation(df.height)
    assert daily_prices(df[perm]).equals(daily_prices(df))


# -- business-day windows -----------------------------------------------------------------------------------

def window(start: str, end: str, which: str) -> list[dt.date]:
    return business_day_windows(start, end).filter(pl.col(which))["day"].to_list()


def test_windows_use_sifma_days_around_holidays_and_weekends():
    # November 2024: Thanksgiving Thu 28th closed, Fri 29th an early close (a trading day), 30th a Saturday,
    # so the last five business days reach back to Friday the 22nd (a weekday calendar would start on the 25th)
    assert window("2024-11-01", "2024-11-30", "last_window") == [D(2024, 11, d) for d in (22, 25, 26, 27, 29)]
    # July 2024: the 4th (Thursday) is closed, the 3rd an early close; the first five reach Monday the 8th
    assert window("2024-07-01", "2024-07-31", "first_window") == [D(2024, 7, d) for d in (1, 2, 3, 5, 8)]
    # August 2024 ends on a Saturday: the last five business days are Mon 26th .. Fri 30th
    assert window("2024-08-01", "2024-08-31", "last_window") == [D(2024, 8, d) for d in (26, 27, 28, 29, 30)]


def test_month_end_and_start_prices_follow_the_sifma_windows():
    f = fisd(bond("HOL000001", "2034-06-15", 5.0, dated="2019-06-15"))
    out = monthly_returns(daily([
        ("HOL000001", "2024-07-08", 99.0),   # 5th business day of July (July 4th closed): a month-start price
        ("HOL000001", "2024-07-31", 99.5),
        ("HOL000001", "2024-08-23", 98.0),   # 6th-to-last business day of August: outside the window
        ("HOL000001", "2024-08-31", 98.5),   # a Saturday print: never a month-end day
        ("HOL000001", "2024-11-22", 97.0),   # 5th-to-last business day of November (Thanksgiving on the 28th)
        ("HOL000001", "2024-11-28", 97.5),   # Thanksgiving print: not a business day, ignored
    ]), f)
    assert out["date"].to_list() == [D(2024, 7, 31), D(2024, 11, 30)]  # no August row
    jul = row(out, "HOL000001", "2024-07-31")
    assert (jul["start_date"], jul["start_price"], jul["ret_type"]) == (D(2024, 7, 8), 99.0, "start")
    nov = row(out, "HOL000001", "2024-11-30")
    assert (nov["price_date"], nov["price"], nov["ret"], nov["ret_type"]) == (D(2024, 11, 22), 97.0, None, None)


# -- monthly returns by hand ----------------------------------------------------------------------------------

def test_thirty_360_semiannual_with_coupon_inside_the_month():
    # 6% semiannual 30/360, coupons 15 Mar / 15 Sep, dated 2020-03-15
    f = fisd(bond("CPN000001", "2030-03-15", 6.0, dated="2020-03-15", first="2020-09-15", amount=250_000.0))
    out = monthly_returns(daily([
        ("CPN000001", "2023-02-27", 99.50),
        ("CPN000001", "2023-02-28", 99.80),   # last trading day in Feb's last five business days (22..28)
        ("CPN000001", "2023-03-02", 99.90),   # month-start price of March (first five: 1, 2, 3, 6, 7)
        ("CPN000001", "2023-03-22", 100.50),  # neither window
        ("CPN000001", "2023-03-30", 100.10),  # month-end price of March (last five: 27..31)
    ]), f)
    feb, mar = row(out, "CPN000001", "2023-02-28"), row(out, "CPN000001", "2023-03-31")
    # AI(2023-02-28): 30/360 days from 2022-09-15 = 360*1 + 30*(2-9) + (28-15) = 163; 100 * 0.06 * 163/360
    ai_feb = 6.0 * 163 / 360  # 2.716666...
    # AI(2023-03-30): days from 2023-03-15 = 15; 6 * 15/360 = 0.25
    ai_mar = 6.0 * 15 / 360
    # AI(2023-03-02): days from 2022-09-15 = 360 + 30*(3-9) + (2-15) = 167
    ai_start = 6.0 * 167 / 360
    assert feb["accrued"] == pytest.approx(ai_feb, abs=1e-12)
    assert (mar["price_date"], mar["price"]) == (D(2023, 3, 30), 100.10)
    assert mar["accrued"] == pytest.approx(ai_mar, abs=1e-12)
    assert mar["start_accrued"] == pytest.approx(ai_start, abs=1e-12)
    # the 15 March coupon (100 * 0.06 / 2 = 3) is paid in (2023-02-28, 2023-03-30]
    assert mar["coupon_cash"] == pytest.approx(3.0, abs=1e-12)
    # r_e = (100.10 + 0.25 + 3) / (99.80 + 2.71667) - 1 = 103.35 / 102.51667 - 1 = 0.0081288...
    r_e = (100.10 + ai_mar + 3.0) / (99.80 + ai_feb) - 1
    # r_s = (100.10 + 0.25 + 3) / (99.90 + 2.78333) - 1 (same coupon: 15 March is inside (2 Mar, 30 Mar])
    r_s = (100.10 + ai_mar + 3.0) / (99.90 + ai_start) - 1
    assert r_e == pytest.approx(0.0081288, abs=1e-7)
    assert mar["ret_end"] == pytest.approx(r_e, abs=1e-14)
    assert mar["ret_start"] == pytest.approx(r_s, abs=1e-14)
    assert (mar["ret"], mar["ret_type"]) == (mar["ret_end"], "end")
    # February has a month-end price only: a row without a return
    assert (feb["ret_end"], feb["ret_start"], feb["ret"], feb["coupon_cash"]) == (None, None, None, None)
    # market value: (P + AI) / 100 * 250,000 thousand = (100.10 + 0.25) / 100 * 250,000,000
    assert mar["amount_outstanding"] == 250_000_000.0
    assert mar["mv"] == pytest.approx((100.10 + 0.25) / 100 * 250_000_000.0)
    assert (mar["n_trades"], mar["vol_par"], mar["rating_num"]) == (6, 60_000.0, 8)  # 3 March days
    assert mar["reason"] is None


def test_act_act_semiannual():
    # 4% semiannual ACT/ACT (ICMA), coupons 15 May / 15 Nov; the period 2023-11-15 .. 2024-05-15 has 182 days
    f = fisd(bond("ACT000001", "2031-05-15", 4.0, daycount="ACT/ACT", dated="2021-05-15"))
    out = monthly_returns(daily([("ACT000001", "2024-01-31", 98.0), ("ACT000001", "2024-02-29", 98.5)]), f)
    # AI(2024-01-31): 77 actual days since 15 Nov (15 + 31 + 31); 2 * 77 / 182
    # AI(2024-02-29): 106 days (77 + 29, leap year); 2 * 106 / 182
    ai0, ai1 = 2.0 * 77 / 182, 2.0 * 106 / 182
    feb = row(out, "ACT000001", "2024-02-29")
    assert (row(out, "ACT000001", "2024-01-31")["accrued"], feb["accrued"]) == (
        pytest.approx(ai0, abs=1e-12), pytest.approx(ai1, abs=1e-12))
    # no coupon: r = (98.5 + 1.164835) / (98.0 + 0.846154) - 1
    assert feb["coupon_cash"] == 0.0
    assert feb["ret"] == pytest.approx((98.5 + ai1) / (98.0 + ai0) - 1, abs=1e-14)
    assert feb["ret_type"] == "end"


def test_zero_coupon_bond_has_no_accrued_interest():
    # FISD zero: coupon type Z, frequency 0, no day count; return = price relative
    f = fisd(bond("ZER000001", "2033-01-15", 0.0, freq=0, daycount=None, dated="2018-01-15", coupon_type="Z"))
    out = monthly_returns(daily([("ZER000001", "2023-04-28", 80.0), ("ZER000001", "2023-05-31", 80.5)]), f)
    may = row(out, "ZER000001", "2023-05-31")
    assert (may["accrued"], may["coupon_cash"], may["reason"]) == (0.0, 0.0, None)
    assert may["ret"] == pytest.approx(80.5 / 80.0 - 1, abs=1e-15)  # 0.00625


def test_missing_previous_month_end_falls_back_to_start_to_end():
    # 5% semiannual 30/360, coupons 15 Jun / 15 Dec
    f = fisd(bond("STA000001", "2028-06-15", 5.0, dated="2018-06-15"))
    out = monthly_returns(daily([
        ("STA000001", "2023-04-14", 100.0),  # mid-April only: April has no month-end price and no row
        ("STA000001", "2023-05-03", 101.0),  # May month-start (first five: 1..5)
        ("STA000001", "2023-05-31", 101.5),
    ]), f)
    assert out["date"].to_list() == [D(2023, 5, 31)]
    may = row(out, "STA000001", "2023-05-31")
    # AI(2023-05-03): days from 2022-12-15 = 360 + 30*(5-12) + (3-15) = 138 -> 5 * 138/360
    # AI(2023-05-31): D2 = 31 stays (D1 = 15): 360 + 30*(5-12) + (31-15) = 166 -> 5 * 166/360
    ai0, ai1 = 5.0 * 138 / 360, 5.0 * 166 / 360
    assert may["start_accrued"] == pytest.approx(ai0, abs=1e-12)
    assert may["ret_end"] is None
    assert may["ret_start"] == pytest.approx((101.5 + ai1) / (101.0 + ai0) - 1, abs=1e-14)
    assert (may["ret"], may["ret_type"], may["coupon_cash"]) == (may["ret_start"], "start", 0.0)


def test_last_trade_outside_the_last_five_business_days_gives_no_month_end_price():
    f = fisd(bond("OUT000001", "2030-01-15", 5.0, dated="2020-01-15"))
    out = monthly_returns(daily([
        ("OUT000001", "2023-05-31", 100.0),
        ("OUT000001", "2023-06-20", 100.2),  # June's last five business days are 26..30: no June price
        ("OUT000001", "2023-07-31", 100.4),
    ]), f)
    assert out["date"].to_list() == [D(2023, 5, 31), D(2023, 7, 31)]
    jul = row(out, "OUT000001", "2023-07-31")
    assert (jul["ret_end"], jul["ret_start"], jul["ret"], jul["ret_type"]) == (None, None, None, None)


def test_gap_month_has_no_end_to_end_return():
    f = fisd(bond("GAP000001", "2030-01-15", 5.0, dated="2020-01-15"))
    out = monthly_returns(daily([
        ("GAP000001", "2023-01-31", 100.0),
        ("GAP000001", "2023-03-31", 101.0),  # month-ends in t-2 and t, none in t-1
        ("GAP000001", "2023-04-28", 101.5),
    ]), f)
    assert row(out, "GAP000001", "2023-03-31")["ret_end"] is None
    assert row(out, "GAP000001", "2023-04-30")["ret_type"] == "end"  # March -> April are consecutive


def test_maturity_inside_the_month_counts_the_final_coupon():
    # 4% semiannual 30/360 maturing Wed 2023-06-28 (inside June's last five business days, 26..30)
    f = fisd(bond("MAT000001", "2023-06-28", 4.0, dated="2013-06-28"))
    out = monthly_returns(daily([
        ("MAT000001", "2023-05-31", 99.8),
        ("MAT000001", "2023-06-28", 100.0),  # on the maturity date
        ("MAT000001", "2023-06-29", 100.0),  # after maturity: never a price
        ("MAT000001", "2023-07-31", 100.0),  # after maturity: no July row
    ]), f)
    assert out["date"].to_list() == [D(2023, 5, 31), D(2023, 6, 30)]
    jun = row(out, "MAT000001", "2023-06-30")
    assert jun["price_date"] == D(2023, 6, 28)
    # AI(2023-05-31) from 2022-12-28: 360 + 30*(5-12) + (31-28) = 153 days -> 4 * 153/360 = 1.7
    # at maturity AI = 0 and the final coupon 100 * 0.04 / 2 = 2 is paid in (31 May, 28 Jun]
    assert jun["accrued"] == 0.0
    assert jun["coupon_cash"] == pytest.approx(2.0, abs=1e-12)
    assert jun["ret"] == pytest.approx((100.0 + 0.0 + 2.0) / (99.8 + 1.7) - 1, abs=1e-14)
    assert jun["n_trades"] == 2  # the 29 June day is after maturity


def test_excess_return_matches_rates_by_calendar_month():
    f = fisd(bond("CPN000001", "2030-03-15", 6.0, dated="2020-03-15"))
    rates = pl.DataFrame({"date": [D(2023, 3, 15), D(2023, 4, 2), D(2023, 5, 1)], "rf": [0.004, 0.0045, 0.005]})
    trades = daily([("CPN000001", "2023-02-28", 99.8), ("CPN000001", "2023-03-30", 100.1),
                    ("CPN000001", "2023-04-28", 100.3)])
    out = monthly_returns(trades, f, rates=rates)
    mar, apr = row(out, "CPN000001", "2023-03-31"), row(out, "CPN000001", "2023-04-30")
    assert mar["rf"] == 0.004 and mar["exret"] == pytest.approx(mar["ret"] - 0.004, abs=1e-15)
    assert apr["rf"] == 0.0045 and apr["exret"] == pytest.approx(apr["ret"] - 0.0045, abs=1e-15)
    # a month with a return but no rate is an error, not a silent null excess return
    with pytest.raises(InputError, match="do not cover 1 month.*2023-04-30"):
        monthly_returns(trades, f, rates=rates.filter(pl.col("date") != D(2023, 4, 2)))
    with pytest.raises(InputError, match="same calendar month"):
        monthly_returns(daily([("CPN000001", "2023-02-28", 99.8)]), f,
                        rates=pl.DataFrame({"date": [D(2023, 3, 1), D(2023, 3, 31)], "rf": [0.001, 0.002]}))
    # rates in percent (0.4 for 0.4%) or annual (4.8%/yr as 0.048) are refused: above 3% a month
    for bad in (0.4, 0.048):
        with pytest.raises(InputError, match="not a monthly return in decimals"):
            monthly_returns(trades, f, rates=rates.with_columns(rf=pl.lit(bad)))


def test_mv_weights_sum_to_one_per_month_and_exclude_invalid_bonds():
    f = fisd(bond("W00000001", "2030-03-15", 6.0, dated="2020-03-15", amount=100_000.0),
             bond("W00000002", "2032-01-15", 0.0, freq=0, daycount=None, dated="2018-01-15", coupon_type="Z",
                  amount=300_000.0),
             bond("W00000003", "2031-05-15", 5.0, freq=13, dated="2021-05-15"))  # FISD 13: unusable frequency
    out = monthly_returns(daily([(c, day, 100.0) for c in ("W00000001", "W00000002", "W00000003")
                                 for day in ("2023-02-28", "2023-03-31")]), f)
    sums = out.group_by("date").agg(pl.col("mv_weight").sum())["mv_weight"]
    assert np.allclose(sums.to_numpy(), 1.0, rtol=0, atol=1e-14)
    # 31 Mar: W1 mv = (100 + 6 * 16/360) / 100 * 1e8 (30/360: 15 Mar -> 31 Mar is 16 days), W2 mv = 3e8
    mar = out.filter(pl.col("date") == D(2023, 3, 31))
    mv1 = (100.0 + 6.0 * 16 / 360) / 100 * 1e8
    assert mar["mv"].to_list()[:2] == [pytest.approx(mv1), pytest.approx(3e8)]
    assert mar["mv_weight"].to_list()[:2] == [pytest.approx(mv1 / (mv1 + 3e8)), pytest.approx(3e8 / (mv1 + 3e8))]
    assert mar["mv_weight"][2] is None


def test_invalid_terms_keep_the_row_with_a_reason():
    f = fisd(bond("BAD000001", "2031-05-15", 5.0, freq=13, dated="2021-05-15"),
             bond("BAD000002", "2031-05-15", 5.0, daycount="BUS/252", dated="2021-05-15"))
    px = daily([(c, day, 100.0) for c in ("BAD000001", "BAD000002", "NOFISD001")
                for day in ("2023-02-28", "2023-03-31")])
    out = monthly_returns(px, f)
    assert out.height == 6  # nothing vanishes
    mar = out.filter(pl.col("date") == D(2023, 3, 31))
    assert all(np.isnan(x) for x in mar["accrued"]) and all(np.isnan(x) for x in mar["ret"])
    assert mar["ret_type"].to_list() == ["end"] * 3
    reasons = mar["reason"].to_list()
    assert reasons[0].startswith("month-end: coupon frequency") and "previous month-end: coupon frequency" in reasons[0]
    assert reasons[1].startswith("month-end: unknown day count")
    assert reasons[2] == NOT_IN_FISD


def test_a_price_before_the_dated_date_is_explained():
    # trades when issued before the dated date: the accrued interest there is undefined
    f = fisd(bond("NEW000001", "2033-03-15", 5.0, dated="2023-03-15"))
    out = monthly_returns(daily([("NEW000001", "2023-03-01", 99.0), ("NEW000001", "2023-02-28", 99.0),
                                 ("NEW000001", "2023-03-31", 99.5)]), f)
    feb, mar = row(out, "NEW000001", "2023-02-28"), row(out, "NEW000001", "2023-03-31")
    assert np.isnan(feb["accrued"]) and feb["reason"] == "month-end: settlement date is before the dated date"
    assert np.isnan(mar["ret_end"]) and np.isnan(mar["ret_start"]) and np.isnan(mar["ret"])
    assert mar["reason"] == ("previous month-end: settlement date is before the dated date; "
                             "month-start: settlement date is before the dated date")


def test_methods():
    f = fisd(bond("CPN000001", "2030-03-15", 6.0, dated="2020-03-15"))
    px = daily([("CPN000001", "2023-02-28", 99.8), ("CPN000001", "2023-03-02", 99.9),
                ("CPN000001", "2023-03-30", 100.1)])
    both = row(monthly_returns(px, f, method="both"), "CPN000001", "2023-03-31")
    end = row(monthly_returns(px, f, method="end"), "CPN000001", "2023-03-31")
    start = row(monthly_returns(px, f, method="start"), "CPN000001", "2023-03-31")
    assert (end["ret"], end["ret_type"], end["ret_start"], end["start_date"]) == (both["ret_end"], "end", None, None)
    assert (start["ret"], start["ret_type"], start["ret_end"]) == (both["ret_start"], "start", None)
    assert start["start_date"] == D(2023, 3, 2)
    with pytest.raises(InputError, match="method"):
        monthly_returns(px, f, method="middle")


def test_price_choice_and_the_output_schema():
    f = fisd(bond("CPN000001", "2030-03-15", 6.0, dated="2020-03-15"))
    px = daily([("CPN000001", "2023-02-28", 99.8), ("CPN000001", "2023-03-30", 100.1)])
    out = monthly_returns(px.with_columns(prc_last=pl.col("prc_vw_par") + 1), f, price="prc_last")
    assert out.columns == list(MONTHLY_COLUMNS)
    assert out["price"].to_list() == [100.8, 101.1]
    assert out.schema["date"] == pl.Date and out["date"].to_list() == [D(2023, 2, 28), D(2023, 3, 31)]
    empty = monthly_returns(px.clear(), f)
    assert empty.height == 0 and empty.columns == list(MONTHLY_COLUMNS)


def test_pandas_fisd_string_dates_and_datetime_rates_give_the_same_result():
    f = fisd(bond("CPN000001", "2030-03-15", 6.0, dated="2020-03-15", first="2020-09-15"))
    px = daily([("CPN000001", "2023-02-28", 99.8), ("CPN000001", "2023-03-30", 100.1)])
    rates = pl.DataFrame({"date": [D(2023, 3, 10)], "rf": [0.004]})
    ref = monthly_returns(px, f, rates=rates)
    as_text = f.with_columns(pl.col(c).cast(pl.String) for c in ("maturity", "dated_date", "first_interest_date"))
    pandas_upper = f.to_pandas().rename(columns=str.upper)
    timed = rates.with_columns(pl.col("date").cast(pl.Datetime("us")))
    assert monthly_returns(px, as_text, rates=rates).equals(ref)
    assert monthly_returns(px.to_pandas(), pandas_upper, rates=timed).equals(ref)


def test_bad_daily_input_raises():
    f = fisd(bond("CPN000001", "2030-03-15", 6.0, dated="2020-03-15"))
    px = daily([("CPN000001", "2023-02-28", 99.8), ("CPN000001", "2023-03-30", 100.1)])
    with pytest.raises(InputError, match="more than one daily row"):
        monthly_returns(pl.concat([px, px]), f)
    with pytest.raises(InputError, match="finite positive"):
        monthly_returns(px.with_columns(prc_vw_par=pl.Series([99.8, -1.0])), f)
    with pytest.raises(InputError, match="prc_vw"):
        monthly_returns(px.drop("prc_vw_par"), f)
    with pytest.raises(InputError, match="appears more than once"):
        monthly_returns(px, pl.concat([f, f]))


def test_trades_to_monthly_end_to_end():
    # two trades on each of two month-ends; prc_vw_par of each day by hand
    trades = pl.DataFrame({
        "cusip_id": ["CPN000001"] * 4,
        "trd_exctn_dt": ["2023-02-28", "2023-02-28", "2023-03-30", "2023-03-30"],
        "trd_exctn_tm": ["10:00:00", "11:00:00", "10:00:00", "12:00:00"], "msg_seq_nb": [1, 2, 3, 4],
        "rptd_pr": [99.0, 100.0, 100.0, 101.0], "entrd_vol_qt": [10_000.0, 30_000.0, 20_000.0, 20_000.0]})
    f = fisd(bond("CPN000001", "2030-03-15", 6.0, dated="2020-03-15"))
    out = monthly_returns(daily_prices(trades).lazy(), f)
    mar = row(out, "CPN000001", "2023-03-31")
    p0 = (99.0 * 10_000 + 100.0 * 30_000) / 40_000  # 99.75
    p1 = 100.5  # equal volumes
    assert mar["ret"] == pytest.approx((p1 + 0.25 + 3.0) / (p0 + 6.0 * 163 / 360) - 1, abs=1e-14)
    assert (mar["n_trades"], mar["vol_par"]) == (2, 40_000.0)


# -- the coupon screen ----------------------------------------------------------------------------------------

def test_coupon_screen_equals_coupons_paid_on_every_window():
    # the screen skips windows without a coupon month; coupons_paid on every window is the reference
    rng = np.random.default_rng(7)
    n = 20_000
    freq = rng.choice([0.0, 1.0, 2.0, 4.0, 12.0], n)
    mat = np.datetime64("2025-01-01") + rng.integers(0, 3000, n).astype("timedelta64[D]")
    eom = rng.random(n) < 0.2  # maturities on month ends exercise the end-of-month rule
    mat = np.where(eom, (mat.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1, mat)
    dated = mat - rng.integers(2000, 6000, n).astype("timedelta64[D]")
    # a long first coupon on the schedule for some bonds (maturity day <= 27: never a month end, no clamping)
    mat_m, day = mat.astype("datetime64[M]"), (mat - mat.astype("datetime64[M]").astype("datetime64[D]"))
    step = (12 // np.where(freq == 0, 2, freq)).astype(np.int64)
    k = (mat_m - dated.astype("datetime64[M]")).astype(np.int64) // step - 1
    grid = (mat_m - (k * step).astype("timedelta64[M]")).astype("datetime64[D]") + day
    with_first = (rng.random(n) < 0.3) & (day.astype(np.int64) < 27) & (freq > 0)
    first = np.where(with_first, grid, np.datetime64("NaT"))
    t = _Terms(maturity=mat, coupon=np.where(freq == 0, 0.0, rng.uniform(0.01, 0.08, n)), freq=freq,
               daycount=rng.integers(0, 3, n).astype(np.int8), dated=dated, first_coupon=first)
    d1 = mat - rng.integers(0, 1500, n).astype("timedelta64[D]")
    d1 = np.where(rng.random(n) < 0.05, mat, d1)  # windows ending on the maturity date
    d0 = d1 - rng.integers(1, 63, n).astype("timedelta64[D]")
    d0 = np.where(rng.random(n) < 0.05, dated - 5, d0)  # some windows start before the dated date
    expected = coupons_paid(d0, d1, mat, t.coupon, **t.kwargs())
    assert np.isfinite(expected).all()
    np.testing.assert_array_equal(_coupon_cash(d0, d1, t, np.ones(n, dtype=bool)), expected)
    np.testing.assert_array_equal(_coupon_cash(d0, d1, t, np.zeros(n, dtype=bool)), expected)
    assert (expected > 0).mean() > 0.1  # the sample has plenty of coupons
    assert (expected[with_first] > 0).any()


# -- property: the row order of the input does not matter ------------------------------------------------------

def fisd3() -> pl.DataFrame:
    return fisd(bond("P00000001", "2026-03-15", 6.0, dated="2020-03-15"),
                bond("P00000002", "2030-05-31", 4.5, freq=4, daycount="ACT/ACT", dated="2019-05-31"),
                bond("P00000003", "2027-01-15", 0.0, freq=0, daycount=None, dated="2017-01-15", coupon_type="Z"))


# numpy, not business_day_windows: the module runs no polars query at import (see `trades`)
BDAYS = bond_market_days("2023-01-01", "2023-08-31").astype(object).tolist()


@settings(max_examples=40, deadline=None)
@given(cells=st.sets(st.tuples(st.integers(1, 3), st.integers(0, len(BDAYS) - 1)), min_size=1, max_size=120),
       seed=st.integers(0, 2**32 - 1))
def test_monthly_returns_do_not_depend_on_row_order(cells, seed):
    rng = np.random.default_rng(seed)
    cells = sorted(cells)
    px = pl.DataFrame({
        "cusip_id": [f"P0000000{c}" for c, _ in cells], "trd_exctn_dt": [BDAYS[i] for _, i in cells],
        "prc_vw_par": rng.uniform(80, 120, len(cells)), "n_trades": rng.integers(1, 9, len(cells)),
        "vol_par": rng.uniform(1e4, 1e7, len(cells))})
    rates = pl.DataFrame({"date": [D(2023, m, 1) for m in range(1, 9)], "rf": rng.uniform(0, 0.005, 8)})
    f3 = fisd3()
    ref = monthly_returns(px, f3, rates=rates)
    perm = rng.permutation(px.height)
    got = monthly_returns(px[perm], f3[rng.permutation(3)], rates=rates[rng.permutation(8)])
    assert got.equals(ref)
    assert ref.select(pl.struct("cusip_id", "date").is_unique().all()).item()


def test_bond_terms_add_coupon_offering_date_yield_and_duration():
    """A 5% 30/360 semiannual bond priced at par on a coupon date (2024-06-28, the last business day of June;
    maturity 2034-06-28, dated 2019-06-28) yields exactly 5%; its modified duration is the par-bond closed form
    D = (1 - (1 + y/2)^(-2n)) / y with n = 10 years: (1 - 1.025^-20) / 0.05 = 7.7943...; a 0% zero-coupon bond at
    (1.03)^(-2*5)*100 (semiannual compounding, 5 years left on a coupon-grid date) yields 6% and has modified
    duration 5 / 1.03."""
    from bondpremia.trace import bond_terms

    ref = fisd(bond("A", "2034-06-28", 5.0, dated="2019-06-28"),
               bond("Z", "2029-06-28", 0.0, freq=0, coupon_type="Z", dated="2019-06-28"),
               bond("BAD", "2030-06-28", 4.0, daycount="NOPE", dated="2019-06-28"))
    zprice = 100.0 * 1.03 ** -10
    days = daily([("A", "2024-05-31", 99.0), ("A", "2024-06-28", 100.0),
                  ("Z", "2024-06-28", zprice), ("BAD", "2024-06-28", 100.0)])
    out = bond_terms(monthly_returns(days, ref), ref)
    a = row(out, "A", "2024-06-30")
    assert a["coupon"] == pytest.approx(5.0)
    assert a["offering_date"] == D(2019, 6, 28)
    assert a["yield"] == pytest.approx(0.05, abs=1e-12)
    assert a["duration"] == pytest.approx((1 - 1.025 ** -20) / 0.05, rel=1e-10)
    z = row(out, "Z", "2024-06-30")
    assert z["yield"] == pytest.approx(0.06, abs=1e-12)
    assert z["duration"] == pytest.approx(5 / 1.03, rel=1e-10)
    offered = ref.with_columns(offering_date=pl.Series([D(2019, 6, 20), None, D(2019, 6, 1)], dtype=pl.Date))
    with_offer = bond_terms(monthly_returns(days, ref), offered)  # FISD's own offering date wins where it exists
    assert row(with_offer, "A", "2024-06-30")["offering_date"] == D(2019, 6, 20)
    assert row(with_offer, "Z", "2024-06-30")["offering_date"] == D(2019, 6, 28)  # null -> the dated date
    bad = row(out, "BAD", "2024-06-30")  # an unknown day count: kept, with NaN yield and duration
    assert np.isnan(bad["yield"]) and np.isnan(bad["duration"])
    assert out.height == monthly_returns(days, ref).height


def test_bond_terms_names_a_missing_column():
    from bondpremia.trace import bond_terms

    with pytest.raises(InputError, match="price_date"):
        bond_terms(pl.DataFrame({"cusip_id": ["A"], "price": [100.0]}), fisd(bond("A", "2034-06-28", 5.0)))


def test_fisd_rows_without_a_cusip_are_left_out():
    """FISD holds a few rows with a NULL CUSIP: they describe no traded bond, so they are left out instead of
    failing as a duplicated key (two NULLs) or matching anything."""
    good = bond("CPN000001", "2030-03-15", 6.0, dated="2020-03-15")
    nulls = [bond("CPN000001", "2031-03-15", 5.0, dated="2021-03-15") for _ in range(2)]
    f = fisd(good, *nulls).with_columns(
        complete_cusip=pl.Series(["CPN000001", None, "  "], dtype=pl.String))
    trades = daily([("CPN000001", "2023-02-28", 99.8), ("CPN000001", "2023-03-30", 100.1)])
    out = monthly_returns(trades, f)
    assert out.equals(monthly_returns(trades, fisd(good)))


def test_csv_identifiers_keep_their_leading_zeros(tmp_path):
    from bondpremia.trace.ingest import read_table

    path = tmp_path / "fisd.csv"
    path.write_text("COMPLETE_CUSIP,issue_id,coupon\n001234567,1,5.0\n012345678,2,4.5\n")
    t = read_table(path)
    assert t["complete_cusip"].to_list() == ["001234567", "012345678"]  # text, not 1234567
    assert t["issue_id"].dtype == pl.Int64 and t["coupon"].to_list() == [5.0, 4.5]
