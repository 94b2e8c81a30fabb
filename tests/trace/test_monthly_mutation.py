"""Tests added from mutation testing (``make mutate``) of ``trace/monthly.py``.

Each test pins a behaviour a surviving mutant changed: which day of a window is the month-end or month-start price,
monthly totals, the per-bond maturity screen, how FISD, rates and amount-outstanding inputs are read (text columns,
zero-coupon flags, identifier keys, letter case), the attributes of every error (file, column, row), the output
dtypes, and ``bond_terms`` on non-semiannual bonds. Expected numbers are worked out by hand in the comments from the
definitions (Bai, Bali and Wen 2019, Section 2: ``r = (P1 + AI1 + C) / (P0 + AI0) - 1``; 30/360 US day counts;
``docs/trace.md``, "Monthly returns"), never by the code under test.

SIFMA bond-market days used below (2023): January 2 (New Year, observed) and 16 (MLK) closed, February 20
(Presidents' Day), May 29 (Memorial Day), June 19 (Juneteenth), September 4 (Labor Day) closed. So the first five
business days are Jan 3-6, 9; Feb 1-3, 6, 7; Mar 1-3, 6, 7; May 1-5; Jun 1, 2, 5-7; Sep 1, 5-8, and the last five
Jan 25-27, 30, 31; Feb 22-24, 27, 28; Mar 27-31; May 24-26, 30, 31; Jun 26-30; Sep 25-29 (the 30th is a Saturday).

Every frame is built inside a test (no polars work at import: the mutation run collects this file in a fork server).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

import bondpremia.trace.monthly as monthly
from bondpremia.errors import InputError
from bondpremia.trace.monthly import (
    MONTHLY_COLUMNS,
    NOT_IN_FISD,
    _coupon_cash,
    _Terms,
    amount_outstanding_history,
    bond_terms,
    business_day_windows,
    monthly_returns,
)

D = dt.date

#: The output dtypes of monthly_returns (docs/trace.md, "Columns of monthly.parquet"), written out by hand.
SCHEMA = {
    "cusip_id": pl.String, "date": pl.Date, "price_date": pl.Date, "price": pl.Float64, "accrued": pl.Float64,
    "coupon_cash": pl.Float64, "start_date": pl.Date, "start_price": pl.Float64, "start_accrued": pl.Float64,
    "ret_end": pl.Float64, "ret_start": pl.Float64, "ret": pl.Float64, "ret_type": pl.String, "rf": pl.Float64,
    "exret": pl.Float64, "amount_outstanding": pl.Float64, "mv": pl.Float64, "mv_weight": pl.Float64,
    "maturity": pl.Date, "rating_num": pl.Int64, "n_trades": pl.Int64, "vol_par": pl.Float64, "reason": pl.String,
}


def terms(cusip: str, maturity: str = "2030-03-15", coupon: Any = 6.0, freq: Any = 2, daycount: Any = "30/360",
          dated: str | None = "2020-03-15", first: str | None = None, coupon_type: Any = "F",
          amount: Any = 100_000.0, offering: Any = None, rating: int = 8,
          issue_id: int | None = None) -> dict[str, Any]:
    return {"complete_cusip": cusip, "issue_id": issue_id, "maturity": D.fromisoformat(maturity), "coupon": coupon,
            "interest_frequency": freq, "day_count_basis": daycount,
            "dated_date": D.fromisoformat(dated) if dated else None,
            "first_interest_date": D.fromisoformat(first) if first else None, "coupon_type": coupon_type,
            "amount_outstanding": amount, "offering_amt": offering, "rating_num": rating}


def zero(cusip: str, maturity: str = "2030-01-15", **kw: Any) -> dict[str, Any]:
    """A zero-coupon bond: no accrued interest and no coupons, so a return is a price relative."""
    return terms(cusip, maturity, coupon=0.0, freq=0, daycount=None, dated="2020-01-15", coupon_type="Z", **kw)


FISD_TYPES = {"complete_cusip": pl.String, "issue_id": pl.Int64, "maturity": pl.Date, "coupon": pl.Float64,
              "interest_frequency": pl.Int64, "day_count_basis": pl.String, "dated_date": pl.Date,
              "first_interest_date": pl.Date, "coupon_type": pl.String, "amount_outstanding": pl.Float64,
              "offering_amt": pl.Float64, "rating_num": pl.Int64}


def fisd(*rows: dict[str, Any], **types: Any) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={**FISD_TYPES, **types})


def prices(rows: list[tuple], **extra: list[Any]) -> pl.DataFrame:
    """Daily rows ``(cusip, day, price)`` or ``(cusip, day, price, n_trades, vol_par)`` in the given order."""
    full = [r if len(r) == 5 else (*r, 1, 10_000.0) for r in rows]
    return pl.DataFrame({"cusip_id": [r[0] for r in full], "trd_exctn_dt": [D.fromisoformat(r[1]) for r in full],
                         "prc_vw_par": [r[2] for r in full], "n_trades": [r[3] for r in full],
                         "vol_par": [r[4] for r in full], **extra},
                        schema_overrides={"prc_vw_par": pl.Float64, "n_trades": pl.Int64, "vol_par": pl.Float64})


def one(out: pl.DataFrame, cusip: str, month_end: str) -> dict[str, Any]:
    sel = out.filter((pl.col("cusip_id") == cusip) & (pl.col("date") == D.fromisoformat(month_end)))
    assert sel.height == 1, f"expected one row for {cusip} {month_end}, got {sel.height}"
    return sel.row(0, named=True)


def error(fn: Any, *args: Any, **kwargs: Any) -> InputError:
    with pytest.raises(InputError) as info:
        fn(*args, **kwargs)
    return info.value


def where(err: InputError) -> tuple[Any, Any, Any]:
    return err.file, err.column, err.row


# -- business-day windows ---------------------------------------------------------------------------------------

def test_business_day_windows_cover_whole_months_from_datetimes():
    # datetimes (text with a time, a datetime object) are read as their day; the calendar runs from the first day
    # of February to the last day of March
    cal = business_day_windows(dt.datetime(2023, 2, 14, 10, 30), "2023-03-10 16:00:00")
    assert cal.columns == ["day", "month_end", "first_window", "last_window"]
    assert cal.schema["day"] == pl.Date and cal.schema["month_end"] == pl.Date
    feb = [1, 2, 3, 6, 7, 8, 9, 10, 13, 14, 15, 16, 17, 21, 22, 23, 24, 27, 28]  # 20th: Presidents' Day
    mar = [1, 2, 3, 6, 7, 8, 9, 10, 13, 14, 15, 16, 17, 20, 21, 22, 23, 24, 27, 28, 29, 30, 31]
    assert cal["day"].to_list() == [D(2023, 2, d) for d in feb] + [D(2023, 3, d) for d in mar]
    assert cal["month_end"].to_list() == [D(2023, 2, 28)] * 19 + [D(2023, 3, 31)] * 23
    first = cal.filter(pl.col("first_window"))["day"].to_list()
    last = cal.filter(pl.col("last_window"))["day"].to_list()
    assert first == [D(2023, 2, d) for d in (1, 2, 3, 6, 7)] + [D(2023, 3, d) for d in (1, 2, 3, 6, 7)]
    assert last == [D(2023, 2, d) for d in (22, 23, 24, 27, 28)] + [D(2023, 3, d) for d in (27, 28, 29, 30, 31)]
    two = business_day_windows("2023-02-01", "2023-03-01", days=2)
    assert two.filter(pl.col("first_window"))["day"].to_list() == [D(2023, 2, 1), D(2023, 2, 2), D(2023, 3, 1),
                                                                    D(2023, 3, 2)]
    assert two.filter(pl.col("last_window"))["day"].to_list() == [D(2023, 2, 27), D(2023, 2, 28), D(2023, 3, 30),
                                                                   D(2023, 3, 31)]


# -- which day is the price -------------------------------------------------------------------------------------

def test_first_and_last_prices_of_each_window_across_bonds_and_months():
    # Two zero-coupon bonds (returns are price relatives). ZA trades in May and June, ZB earlier, in January and
    # February, so the bond-month keys are not in date order across bonds. (cusip, day, price, n_trades, vol_par):
    px = prices([
        ("ZA", "2023-05-01", 90.0, 1, 1_000.0),   # May first window (1-5): the month-start price
        ("ZA", "2023-05-04", 90.2, 2, 2_000.0),   # first window, later
        ("ZA", "2023-05-24", 90.4, None, None),   # last window (24-26, 30, 31), earlier; no trade counts
        ("ZA", "2023-05-31", 90.6, 4, 4_000.0),   # the month-end price
        ("ZA", "2023-06-02", 91.0, 5, 5_000.0),   # June first window (1, 2, 5-7): the month-start price
        ("ZA", "2023-06-07", 91.2, 6, 6_000.0),
        ("ZA", "2023-06-26", 91.4, 7, 7_000.0),
        ("ZA", "2023-06-29", 91.6, 8, 8_000.0),   # the month-end price: the 30th has no price
        ("ZA", "2023-06-30", None, 9, 9_000.0),   # a day without the price still counts in the totals
        ("ZB", "2023-01-03", 80.0, 1, 1_000.0),   # January first window (3-6, 9)
        ("ZB", "2023-01-31", 80.5, 1, 1_000.0),
        ("ZB", "2023-02-01", 81.0, 2, 2_000.0),   # February first window (1-3, 6, 7)
        ("ZB", "2023-02-06", 81.2, 2, 2_000.0),
        ("ZB", "2023-02-22", 81.5, 3, 3_000.0),   # February last window (22-24, 27, 28)
        ("ZB", "2023-02-28", 81.8, 3, 3_000.0),
    ])
    out = monthly_returns(px, fisd(zero("ZA"), zero("ZB", "2031-01-15")))
    assert out.select("cusip_id", "date").rows() == [("ZA", D(2023, 5, 31)), ("ZA", D(2023, 6, 30)),
                                                     ("ZB", D(2023, 1, 31)), ("ZB", D(2023, 2, 28))]
    may, jun = one(out, "ZA", "2023-05-31"), one(out, "ZA", "2023-06-30")
    jan, feb = one(out, "ZB", "2023-01-31"), one(out, "ZB", "2023-02-28")
    assert [(r["start_date"], r["start_price"], r["price_date"], r["price"]) for r in (may, jun, jan, feb)] == [
        (D(2023, 5, 1), 90.0, D(2023, 5, 31), 90.6), (D(2023, 6, 2), 91.0, D(2023, 6, 29), 91.6),
        (D(2023, 1, 3), 80.0, D(2023, 1, 31), 80.5), (D(2023, 2, 1), 81.0, D(2023, 2, 28), 81.8)]
    # May: no April price, so start-to-end 90.6 / 90.0 - 1; June: end-to-end 91.6 / 90.6 - 1
    assert (may["ret_end"], may["ret_type"]) == (None, "start")
    assert may["ret"] == pytest.approx(90.6 / 90.0 - 1, abs=1e-15)
    assert (jun["ret"], jun["ret_type"]) == (pytest.approx(91.6 / 90.6 - 1, abs=1e-15), "end")
    assert jun["ret_start"] == pytest.approx(91.6 / 91.0 - 1, abs=1e-15)
    assert jan["ret"] == pytest.approx(80.5 / 80.0 - 1, abs=1e-15)
    assert feb["ret"] == pytest.approx(81.8 / 80.5 - 1, abs=1e-15)
    assert feb["ret_start"] == pytest.approx(81.8 / 81.0 - 1, abs=1e-15)
    assert (may["start_accrued"], may["coupon_cash"]) == (0.0, 0.0)
    # totals over the month's days: May 1 + 2 + 4 (the 24th has none) = 7; June 5 + 6 + 7 + 8 + 9 = 35;
    # January 1 + 1 = 2; February 2 + 2 + 3 + 3 = 10 (par volume 1,000 times the same numbers)
    assert [r["n_trades"] for r in (may, jun, jan, feb)] == [7, 35, 2, 10]
    assert [r["vol_par"] for r in (may, jun, jan, feb)] == [7_000.0, 35_000.0, 2_000.0, 10_000.0]


def test_without_trade_counts_the_totals_are_null_not_zero():
    px = prices([("ZA", "2023-02-28", 99.0), ("ZA", "2023-03-31", 99.5)]).drop("n_trades", "vol_par")
    out = monthly_returns(px, fisd(zero("ZA")))
    assert out["n_trades"].to_list() == [None, None] and out["vol_par"].to_list() == [None, None]
    assert out.schema["n_trades"] == pl.Int64 and out.schema["vol_par"] == pl.Float64


def test_a_month_priced_only_in_its_first_window_has_no_row():
    # 3 January is in January's first window only; 30 January is in neither window
    out = monthly_returns(prices([("ZA", "2023-01-03", 99.0), ("ZA", "2023-01-20", 99.1),
                                  ("ZA", "2023-02-28", 99.5)]), fisd(zero("ZA")))
    assert out["date"].to_list() == [D(2023, 2, 28)]


def test_a_weekend_print_after_the_last_business_day_is_not_a_month_start():
    # Saturday 30 September 2023 follows the sample's last business day (Friday the 29th); the first business day
    # of the sample (3 January) is a month-start day, the Saturday is not: September has no month-start price
    out = monthly_returns(prices([("ZA", "2023-01-03", 98.0), ("ZA", "2023-09-29", 99.0),
                                  ("ZA", "2023-09-30", 99.2)]), fisd(zero("ZA")))
    sep = one(out, "ZA", "2023-09-30")
    assert (sep["price_date"], sep["price"], sep["start_date"], sep["ret"]) == (D(2023, 9, 29), 99.0, None, None)
    assert out.height == 1


def test_each_bond_stops_at_its_own_maturity():
    # EARLY matures 2023-03-15: its 31 March print is after maturity (no March row); LATE matures in 2030
    f = fisd(zero("EARLY", "2023-03-15"), zero("LATE", "2030-01-15"))
    px = prices([(c, d, 100.0) for c in ("EARLY", "LATE") for d in ("2023-02-28", "2023-03-31")])
    out = monthly_returns(px, f)
    assert out.select("cusip_id", "date").rows() == [("EARLY", D(2023, 2, 28)), ("LATE", D(2023, 2, 28)),
                                                     ("LATE", D(2023, 3, 31))]
    assert one(out, "EARLY", "2023-02-28")["n_trades"] == 1  # the March day after maturity is not counted


def test_all_days_after_maturity_give_an_empty_panel():
    out = monthly_returns(prices([("OLD", "2023-02-28", 100.0), ("OLD", "2023-03-31", 100.0)]),
                          fisd(zero("OLD", "2022-12-15")))
    assert out.height == 0 and dict(out.schema) == SCHEMA


def test_start_to_end_return_before_the_dated_date_is_nan_of_type_start():
    # dated 2023-03-15: the month-start price of 1 March has no accrued interest (before the dated date), no
    # February price: ret_end is null, ret_start NaN, and ret is that NaN start-to-end return
    f = fisd(terms("NEW", "2033-03-15", 5.0, dated="2023-03-15"))
    out = monthly_returns(prices([("NEW", "2023-03-01", 99.0), ("NEW", "2023-03-31", 99.5)]), f)
    mar = one(out, "NEW", "2023-03-31")
    assert mar["ret_end"] is None and np.isnan(mar["ret_start"]) and np.isnan(mar["ret"])
    assert mar["ret_type"] == "start"
    assert mar["reason"] == "month-start: settlement date is before the dated date"


# -- the daily input --------------------------------------------------------------------------------------------

def test_unsorted_daily_rows_are_sorted_by_bond_and_day():
    f = fisd(zero("A"), zero("B"), zero("C"))
    # B before A: a later bond first
    out = monthly_returns(prices([("B", "2023-01-31", 90.0), ("A", "2023-01-31", 80.0), ("C", "2023-01-31", 70.0)]), f)
    assert out["cusip_id"].to_list() == ["A", "B", "C"]
    # B on an earlier day than A's, listed first
    out = monthly_returns(prices([("B", "2023-01-31", 90.0), ("A", "2023-02-28", 80.0)]), f)
    assert out.select("cusip_id", "date").rows() == [("A", D(2023, 2, 28)), ("B", D(2023, 1, 31))]
    # A's two months around a row of B: A's February return is 88 / 80 - 1 = 0.1 from its January price
    out = monthly_returns(prices([("A", "2023-01-31", 80.0), ("B", "2023-01-31", 90.0), ("A", "2023-02-28", 88.0)]), f)
    assert out.select("cusip_id", "date").rows() == [("A", D(2023, 1, 31)), ("A", D(2023, 2, 28)),
                                                     ("B", D(2023, 1, 31))]
    assert one(out, "A", "2023-02-28")["ret"] == pytest.approx(0.1, abs=1e-15)


def test_row_order_does_not_matter():
    # a fixed-seed version of the hypothesis property in test_daily_monthly.py (which is too slow under mutation)
    f = fisd(terms("P1", "2026-03-15", 6.0), terms("P2", "2030-05-31", 4.5, freq=4, daycount="ACT/ACT",
                                                    dated="2019-05-31"), zero("P3", "2027-01-15"))
    days = ["2023-01-03", "2023-01-31", "2023-02-01", "2023-02-28", "2023-03-02", "2023-03-15", "2023-03-31"]
    rng = np.random.default_rng(11)
    px = prices([(c, d, float(p), int(n), 1e4 * n) for c in ("P1", "P2", "P3") for d in days
                 for p, n in [(rng.uniform(90, 110), rng.integers(1, 9))]])
    rates = pl.DataFrame({"date": [D(2023, m, 1) for m in (1, 2, 3)], "rf": [0.001, 0.002, 0.003]})
    ref = monthly_returns(px, f, rates=rates)
    assert ref.height == 9 and ref["ret"].is_not_null().sum() == 9
    for _ in range(3):
        got = monthly_returns(px[rng.permutation(px.height)], f[rng.permutation(3)], rates=rates[rng.permutation(3)])
        assert got.equals(ref)


def test_daily_input_errors_name_the_column_and_the_input_row():
    f = fisd(zero("A"), zero("B"))
    e = error(monthly_returns, prices([("A", "2023-01-31", 1.0)]).drop("trd_exctn_dt", "prc_vw_par"), f)
    assert "daily column(s) missing" in e.reason and where(e) == (None, "trd_exctn_dt", None)
    nulls = prices([("A", "2023-01-31", 1.0)] * 4).with_columns(
        cusip_id=pl.Series(["A", None, "A", None]), trd_exctn_dt=pl.Series([None, D(2023, 1, 3), None, None]))
    e = error(monthly_returns, nulls, f)
    assert e.reason == "missing value" and where(e) == (None, "cusip_id", 1)
    e = error(monthly_returns, nulls.with_columns(cusip_id=pl.lit("A")), f)
    assert e.reason == "missing value" and where(e) == (None, "trd_exctn_dt", 0)
    # input rows 0..3; sorted: A 01-03 (row 1), A 01-03 (row 3), B 01-31 (row 0), B 01-31 (row 2): the first
    # duplicate met is input row 3
    dup = prices([("B", "2023-01-31", 1.0), ("A", "2023-01-03", 1.0), ("B", "2023-01-31", 1.0),
                  ("A", "2023-01-03", 1.0)])
    e = error(monthly_returns, dup, f)
    assert "more than one daily row for cusip_id A on 2023-01-03" in e.reason
    assert where(e) == (None, "trd_exctn_dt", 3)
    # a bad price names the price column and the input row of the first bad price in (cusip, day) order
    bad = prices([("B", "2023-01-31", -1.0), ("A", "2023-01-31", 0.0), ("A", "2023-01-03", 50.0)])
    e = error(monthly_returns, bad.rename({"prc_vw_par": "prc_last"}), f, price="prc_last")
    assert "price 0.0 is not a finite positive number (cusip_id A, 2023-01-31)" in e.reason
    assert where(e) == (None, "prc_last", 1)
    for value in (float("nan"), float("inf")):
        e = error(monthly_returns, bad.with_columns(prc_vw_par=pl.Series([50.0, 50.0, value])), f)
        assert where(e) == (None, "prc_vw_par", 2)
    # prices below 1 and missing prices are fine
    ok = monthly_returns(prices([("A", "2023-01-31", 0.5), ("A", "2023-02-27", None), ("A", "2023-02-28", 0.6)]), f)
    assert ok["price"].to_list() == [0.5, 0.6]


def test_inputs_that_are_not_frames_name_the_argument():
    f = fisd(zero("A"))
    px = prices([("A", "2023-01-31", 99.0)])
    assert error(monthly_returns, [("A", "2023-01-31", 99.0)], f).column == "daily"
    assert error(monthly_returns, px, [{"complete_cusip": "A"}]).column == "fisd"
    assert error(monthly_returns, px, f, rates=[0.001]).column == "rates"
    assert error(monthly_returns, px, f, amount_outstanding=[1.0]).column == "amount_outstanding"
    e = error(monthly_returns, px, f, method="middle")
    assert "method must be one of" in e.reason and e.column == "method"


def test_columns_that_differ_only_in_letter_case_are_refused():
    # Before the fix the daily table used whichever of prc_vw_par / PRC_VW_PAR came last (silently), and FISD or
    # rates tables raised polars' DuplicateError instead of an InputError.
    f = fisd(terms("A"))
    px = prices([("A", "2023-02-28", 99.8), ("A", "2023-03-30", 100.1)])
    e = error(monthly_returns, px.with_columns(PRC_VW_PAR=pl.lit(1.0)), f)
    assert "columns differ only in letter case" in e.reason and e.column == "daily"
    e = error(monthly_returns, px, f.with_columns(COUPON=pl.lit(5.0)))
    assert e.reason.startswith("FISD reference: columns differ only in letter case")
    rates = pl.DataFrame({"date": [D(2023, 3, 1)], "rf": [0.001], "RF": [0.002]})
    e = error(monthly_returns, px, f, rates=rates)
    assert e.reason.startswith("rates: columns differ only in letter case")


# -- the FISD reference -----------------------------------------------------------------------------------------

def test_fisd_keyed_by_cusip_id_and_without_optional_columns():
    # no complete_cusip (cusip_id instead), no coupon_type, first_interest_date, amount_outstanding, offering_amt,
    # rating_num: a 6% semiannual 30/360 bond (15 Mar / 15 Sep) is still a coupon bond
    f = fisd(terms("A")).rename({"complete_cusip": "cusip_id"}).drop(
        "coupon_type", "first_interest_date", "amount_outstanding", "offering_amt", "rating_num", "issue_id")
    out = monthly_returns(prices([("A", "2023-02-28", 99.8), ("A", "2023-03-30", 100.1)]), f)
    mar = one(out, "A", "2023-03-31")
    # AI(2023-03-30) = 6 * 15/360 = 0.25; AI(2023-02-28) = 6 * 163/360; the 15 March coupon is 3
    assert mar["accrued"] == pytest.approx(0.25, abs=1e-12)
    assert mar["ret"] == pytest.approx((100.1 + 0.25 + 3.0) / (99.8 + 6.0 * 163 / 360) - 1, abs=1e-14)
    assert (mar["amount_outstanding"], mar["mv"], mar["mv_weight"], mar["rating_num"]) == (None, None, None, None)
    assert dict(out.schema) == SCHEMA


def test_zero_coupon_by_type_or_by_frequency_alone():
    # TYPE: coupon type " z " (any case, padded) with a semiannual frequency and no coupon: a zero-coupon bond.
    # FREQ: frequency 0 with coupon type F and no coupon: a zero-coupon bond. NOTYPE: no coupon type (null), a 5%
    # semiannual coupon bond: accrued interest 5 * 16/360 at 31 March (30/360 from 15 March).
    f = fisd(terms("TYPE", coupon=None, coupon_type=" z "), terms("FREQ", coupon=None, freq=0),
             terms("NOTYPE", coupon=5.0, coupon_type=None))
    px = prices([(c, d, 90.0) for c in ("TYPE", "FREQ", "NOTYPE") for d in ("2023-02-28", "2023-03-31")])
    out = monthly_returns(px, f)
    for c in ("TYPE", "FREQ"):
        mar = one(out, c, "2023-03-31")
        assert (mar["accrued"], mar["coupon_cash"], mar["ret"], mar["reason"]) == (0.0, 0.0, 0.0, None)
    assert one(out, "NOTYPE", "2023-03-31")["accrued"] == pytest.approx(5.0 * 16 / 360, abs=1e-12)
    # the coupon of a zero-coupon bond with a missing coupon is 0 in bond_terms
    assert one(bond_terms(out, f), "TYPE", "2023-03-31")["coupon"] == 0.0


def test_annual_coupon_bond():
    # 5% annual 30/360, coupons every 15 June. AI(2023-02-28): 30/360 days from 2022-06-15 = 360 + 30*(2-6) +
    # (28-15) = 253; AI(2023-03-31): 360 + 30*(3-6) + (31-15) = 286 (D2 = 31 stays, D1 = 15)
    f = fisd(terms("ANN", "2030-06-15", 5.0, freq=1, dated="2020-06-15"))
    out = monthly_returns(prices([("ANN", "2023-02-28", 98.0), ("ANN", "2023-03-31", 98.5)]), f)
    mar = one(out, "ANN", "2023-03-31")
    assert mar["accrued"] == pytest.approx(5.0 * 286 / 360, abs=1e-12)
    assert mar["ret"] == pytest.approx((98.5 + 5.0 * 286 / 360) / (98.0 + 5.0 * 253 / 360) - 1, abs=1e-14)


def test_a_long_first_coupon_accrues_from_the_dated_date():
    # 5% semiannual 30/360 dated 2023-01-10, first coupon 2023-07-15, then 15 Jan / 15 Jul to 2033-01-15.
    # AI(2023-03-31) from the dated date: 30*(3-1) + (31-10) = 81 days -> 5 * 81/360 = 1.125
    f = fisd(terms("LONG", "2033-01-15", 5.0, dated="2023-01-10", first="2023-07-15"))
    out = monthly_returns(prices([("LONG", "2023-03-31", 99.0)]), f)
    assert one(out, "LONG", "2023-03-31")["accrued"] == pytest.approx(1.125, abs=1e-12)
    # the same with the dates as text
    as_text = f.with_columns(pl.col(c).cast(pl.String) for c in ("maturity", "dated_date", "first_interest_date"))
    assert monthly_returns(prices([("LONG", "2023-03-31", 99.0)]), as_text).equals(out)


def test_fisd_numbers_given_as_text():
    # coupon, frequency and amounts as text (a CSV read without types): unreadable values are missing, which makes
    # the terms invalid (a reason) or the amount missing, never an exception
    f = fisd(terms("GOOD"), terms("BADCPN"), terms("BADFRQ"), terms("NOAMT")).with_columns(
        coupon=pl.Series(["6.0", "n/a", "6.0", "6.0"]), interest_frequency=pl.Series(["2", "2", "semi", "2"]),
        amount_outstanding=pl.Series(["250000", "1000", "1000", ""]), offering_amt=pl.Series(["", "", "", "x"]))
    px = prices([(c, d, 100.0) for c in ("GOOD", "BADCPN", "BADFRQ", "NOAMT") for d in ("2023-02-28", "2023-03-31")])
    out = monthly_returns(px, f)
    good = one(out, "GOOD", "2023-03-31")
    assert good["accrued"] == pytest.approx(6.0 * 16 / 360, abs=1e-12)  # 30/360 from 15 March to the 31st
    assert good["amount_outstanding"] == 250_000_000.0  # thousands of dollars
    assert one(out, "BADCPN", "2023-03-31")["reason"].startswith("month-end: coupon rate is missing")
    assert one(out, "BADFRQ", "2023-03-31")["reason"].startswith("month-end: coupon frequency must be")
    assert one(out, "NOAMT", "2023-03-31")["amount_outstanding"] is None


def test_missing_day_count_of_a_coupon_bond_is_a_reason_not_a_convention():
    f = fisd(terms("NODC", daycount=None), terms("BLANK", daycount="  "))
    px = prices([(c, d, 100.0) for c in ("NODC", "BLANK") for d in ("2023-02-28", "2023-03-31")])
    out = monthly_returns(px, f)
    for c in ("NODC", "BLANK"):
        mar = one(out, c, "2023-03-31")
        assert np.isnan(mar["accrued"]) and mar["reason"].startswith("month-end: unknown day count")
        assert np.isnan(mar["coupon_cash"])  # coupons of invalid terms are NaN too, not 0


def test_zero_coupon_bonds_without_any_day_count_column_values():
    # every day_count_basis is missing (a column of nulls): zero-coupon bonds still work
    f = fisd(zero("Z1"), zero("Z2")).with_columns(day_count_basis=pl.lit(None))
    out = monthly_returns(prices([(c, d, p) for c, p in (("Z1", 80.0), ("Z2", 90.0))
                                  for d in ("2023-02-28", "2023-03-31")]), f)
    assert out["ret"].to_list() == [None, 0.0, None, 0.0]  # 80 / 80 - 1 and 90 / 90 - 1 in March
    assert out["reason"].null_count() == 4


def test_fisd_errors():
    px = prices([("A", "2023-01-31", 99.0)])
    e = error(monthly_returns, px, fisd(terms("A")).drop("maturity", "coupon"))
    assert "FISD column(s) missing: ['maturity', 'coupon']" in e.reason and e.column == "maturity"
    twice = fisd(terms("A"), terms("B"), terms("A"))
    e = error(monthly_returns, px, twice)
    assert "cusip A appears more than once in the FISD reference" in e.reason
    assert where(e) == (None, "complete_cusip", 0)
    # rows without a CUSIP are left out, also two blank ones
    blanks = fisd(terms("A"), terms("B"), terms("C")).with_columns(complete_cusip=pl.Series(["A", "  ", "  "]))
    assert monthly_returns(px, blanks).equals(monthly_returns(px, fisd(terms("A"))))


# -- rates --------------------------------------------------------------------------------------------------------

def test_rates_errors_and_limits():
    f = fisd(zero("A"))
    px = prices([("A", "2023-02-28", 99.0), ("A", "2023-03-31", 99.5)])
    rates = pl.DataFrame({"date": [D(2023, 2, 1), D(2023, 3, 1), D(2023, 4, 1)], "rf": [0.001, 0.002, 0.003]})
    e = error(monthly_returns, px, f, rates=rates.drop("rf"))
    assert "rates column(s) missing: ['rf']" in e.reason and e.column == "rf"
    e = error(monthly_returns, px, f, rates=rates.drop("rf", "date").with_columns(x=pl.lit(1)))
    assert e.column == "date"
    dup = rates.with_columns(date=pl.Series([D(2023, 2, 1), D(2023, 3, 1), D(2023, 3, 20)]))
    e = error(monthly_returns, px, f, rates=dup)
    assert e.reason == "more than one rf in the same calendar month" and where(e) == (None, "date", 1)
    big = rates.with_columns(rf=pl.Series([0.001, -0.031, 0.05]))
    e = error(monthly_returns, px, f, rates=big)
    assert "rf = -0.031 is not a monthly return in decimals" in e.reason and where(e) == (None, "rf", 1)
    # 3% a month is the largest accepted; a missing rf is fine in a month without a return (April)
    ok = monthly_returns(px, f, rates=rates.with_columns(rf=pl.Series([0.0, 0.03, None])))
    assert one(ok, "A", "2023-03-31")["exret"] == pytest.approx(99.5 / 99.0 - 1 - 0.03, abs=1e-15)
    e = error(monthly_returns, px, f, rates=rates.filter(pl.col("date") != D(2023, 3, 1)))
    assert "do not cover 1 month(s) with returns, the first 2023-03-31" in e.reason and e.column == "rf"


# -- output types ---------------------------------------------------------------------------------------------------

def test_output_dtypes_of_every_method_and_of_an_empty_input():
    f = fisd(terms("A"))
    px = prices([("A", "2023-02-28", 99.8), ("A", "2023-03-02", 99.9), ("A", "2023-03-30", 100.1)])
    for method in ("end", "start", "both"):
        out = monthly_returns(px, f, method=method)
        assert dict(out.schema) == SCHEMA, method
    end = monthly_returns(px, f, method="end")
    assert end["start_date"].null_count() == 2 and end["start_price"].null_count() == 2
    assert dict(monthly_returns(px.clear(), f).schema) == SCHEMA
    assert list(SCHEMA) == list(MONTHLY_COLUMNS)


def test_not_in_fisd_rows_keep_nan_returns():
    out = monthly_returns(prices([("GHOST", "2023-02-28", 99.0), ("GHOST", "2023-03-31", 99.5)]), fisd(zero("A")))
    mar = one(out, "GHOST", "2023-03-31")
    assert np.isnan(mar["ret"]) and mar["reason"] == NOT_IN_FISD and mar["maturity"] is None


# -- coupon cash ----------------------------------------------------------------------------------------------------

def test_coupon_screen_skips_windows_without_a_coupon_month(monkeypatch):
    # Coupon months: semiannual maturing 2030-03-15 -> March and September; annual maturing 2030-06-15 -> June;
    # zero-coupon -> none. Only windows whose months contain a coupon month go to coupons_paid.
    calls: list[int] = []
    real = monthly.coupons_paid

    def counting(d0: Any, d1: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(len(d0))
        return real(d0, d1, *args, **kwargs)

    monkeypatch.setattr(monthly, "coupons_paid", counting)
    nat = np.datetime64("NaT", "D")
    day = np.datetime64
    cases = [  # (maturity, coupon, freq, d0, d1, coupon month inside?, cash)
        ("2030-03-15", 0.06, 2.0, "2023-01-31", "2023-02-28", False, 0.0),
        ("2030-03-15", 0.06, 2.0, "2023-02-28", "2023-03-31", True, 3.0),   # the 15 March coupon: 100 * 0.06 / 2
        ("2030-03-15", 0.06, 2.0, "2023-03-31", "2023-04-28", True, 0.0),   # March is month(d0): screened in,
        # since the screen works on whole months; coupons_paid finds no coupon after 31 March
        ("2030-03-15", 0.06, 2.0, "2023-08-31", "2023-09-29", True, 3.0),
        ("2030-06-15", 0.05, 1.0, "2023-08-31", "2023-09-29", False, 0.0),  # September is no month of an annual
        ("2030-06-15", 0.05, 1.0, "2023-05-31", "2023-06-30", True, 5.0),   # the 15 June coupon: 100 * 0.05
        ("2030-06-15", 0.05, 1.0, "2023-11-30", "2023-12-29", False, 0.0),  # nor is December
        ("2030-01-15", 0.00, 0.0, "2023-12-29", "2024-01-31", False, 0.0),  # zero-coupon, the maturity month
    ]
    n = len(cases)
    t = _Terms(maturity=np.array([day(c[0]) for c in cases]), coupon=np.array([c[1] for c in cases]),
               freq=np.array([c[2] for c in cases]), daycount=np.zeros(n, dtype=np.int8),
               dated=np.array([day("2020-01-15")] * n), first_coupon=np.array([nat] * n))
    d0 = np.array([day(c[3]) for c in cases])
    d1 = np.array([day(c[4]) for c in cases])
    cash = _coupon_cash(d0, d1, t, np.ones(n, dtype=bool))
    assert cash.tolist() == pytest.approx([c[6] for c in cases], abs=1e-12)
    assert calls == [sum(c[5] for c in cases)]  # one call: the four windows whose months hold a coupon month
    # without valid terms every window goes to coupons_paid (the authority on invalid terms)
    calls.clear()
    _coupon_cash(d0, d1, t, np.zeros(n, dtype=bool))
    assert calls == [n]


# -- amount-outstanding histories -------------------------------------------------------------------------------

def history(**columns: list[Any]) -> pl.DataFrame:
    return pl.DataFrame(columns)


def test_history_errors_name_the_file_column_and_row():
    f = fisd(zero("CALL", issue_id=11, offering=1000.0), zero("KEEP", issue_id=12, offering=1000.0))
    good = {"complete_cusip": ["CALL", "KEEP", "CALL"], "effective_date": ["2023-01-05", "2023-01-05", "2023-03-15"],
            "amount_outstanding": [1000.0, 1000.0, 400.0]}

    def check(h: pl.DataFrame, column: str | None, row: int | None, text: str) -> None:
        e = error(amount_outstanding_history, h, f, file="amt.csv")
        assert text in e.reason, e.reason
        assert e.reason.startswith("amount-outstanding history: ")
        assert where(e) == ("amt.csv", column, row)

    check(history(**good).with_columns(AMOUNT_OUTSTANDING=pl.lit(1.0)), None, None, "differ only in letter case")
    check(history(**good).drop("effective_date"), "effective_date", None, "column(s) missing: ['effective_date']")
    check(history(**good).drop("complete_cusip"), "complete_cusip", None, "no bond identifier column")
    check(history(**{**good, "effective_date": ["2023-01-05", "2023/01/06", "2023-03-15"]}), "effective_date", 1,
          "'2023/01/06' is not a date (write YYYY-MM-DD)")
    check(history(**{**good, "effective_date": [1, 2, 3]}), "effective_date", None, "expected dates, got Int64")
    check(history(**{**good, "amount_outstanding": ["1000", " 1000 ", "4OO"]}), "amount_outstanding", 2,
          "'4OO' is not a number")
    check(history(**{**good, "amount_outstanding": [True, True, False]}), "amount_outstanding", None,
          "expected numbers, got Boolean")
    check(history(**{**good, "amount_outstanding": [1000.0, -1.0, 400.0]}), "amount_outstanding", 1,
          "-1.0 is not a finite non-negative amount")
    check(history(**{**good, "amount_outstanding": [1000.0, 1000.0, None]}), "amount_outstanding", 2,
          "missing amount on a dated row")
    check(history(**good, action_amount=[None, float("inf"), 600.0]), "action_amount", 1,
          "inf is not a finite non-negative amount")
    check(history(issue_id=[11, 13], effective_date=[D(2023, 1, 5)] * 2, amount_outstanding=[1.0, 2.0]),
          "issue_id", 1, "issue_id 13 is not in the FISD reference")
    # text amounts are read as numbers (padded or not)
    ok = history(**{**good, "amount_outstanding": ["1000", " 1000 ", "400"]})
    assert amount_outstanding_history(ok, f)["amount_outstanding"].to_list() == [1000.0, 400.0, 1000.0]


def test_history_by_issue_id_through_amount_outstanding_history():
    # issue 11 -> CALL, 12 -> KEEP, in a FISD keyed by cusip_id
    f = fisd(zero("CALL", issue_id=11, offering=1000.0), zero("KEEP", issue_id=12, offering=1000.0)).rename(
        {"complete_cusip": "cusip_id"})
    h = history(issue_id=[12, 11], effective_date=[D(2023, 1, 5), D(2023, 3, 15)], amount_outstanding=[900.0, 400.0])
    assert amount_outstanding_history(h, f).rows() == [("CALL", D(2023, 3, 15), 400.0), ("KEEP", D(2023, 1, 5), 900.0)]


def test_history_with_both_identifiers_the_cusip_wins_where_given():
    # row 0: CUSIP CALL, no issue; row 1: a blank CUSIP, issue 12 (KEEP); row 2: CUSIP CALL with KEEP's issue id
    f = fisd(zero("CALL", issue_id=11, offering=1000.0), zero("KEEP", issue_id=12, offering=1000.0))
    h = history(complete_cusip=["CALL", " ", "CALL"], issue_id=[None, 12, 12],
                effective_date=[D(2023, 1, 5), D(2023, 2, 10), D(2023, 3, 15)],
                amount_outstanding=[900.0, 800.0, 400.0])
    assert amount_outstanding_history(h, f).rows() == [
        ("CALL", D(2023, 1, 5), 900.0), ("CALL", D(2023, 3, 15), 400.0), ("KEEP", D(2023, 2, 10), 800.0)]


def test_float_issue_ids_with_gaps_and_a_fractional_id():
    f = fisd(zero("CALL", issue_id=11, offering=1000.0), zero("KEEP", issue_id=12, offering=1000.0))
    # pandas stores an integer column with a missing value as floats (11.0, NaN): 11.0 is issue 11; the row
    # without a date is a fisd_mergedissue row of a bond without an action (left out)
    h = pd.DataFrame({"issue_id": [11.0, np.nan, 12.0], "effective_date": [pd.Timestamp("2023-03-15"), pd.NaT, pd.NaT],
                      "amount_outstanding": [400.0, np.nan, np.nan]})
    assert amount_outstanding_history(h, f).rows() == [("CALL", D(2023, 3, 15), 400.0)]
    # 12.5 is no whole number: not issue 12
    h = history(issue_id=[12.5], effective_date=[D(2023, 3, 15)], amount_outstanding=[400.0])
    e = error(amount_outstanding_history, h, f)
    assert "issue_id 12.5 is not in the FISD reference" in e.reason and where(e) == (None, "issue_id", 0)


def test_monthly_returns_reads_an_issue_history_through_its_fisd():
    # the monthly panel, the history keyed by issue: CALL's 400 (thousands) from March on; KEEP's offering amount
    f = fisd(zero("CALL", issue_id=11, offering=1000.0), zero("KEEP", issue_id=12, offering=1000.0))
    h = history(issue_id=[11], effective_date=["2023-03-15"], amount_outstanding=[400.0])
    px = prices([(c, d, 100.0) for c in ("CALL", "KEEP") for d in ("2023-02-28", "2023-03-31")])
    out = monthly_returns(px, f, amount_outstanding=h)
    assert out["amount_outstanding"].to_list() == [1e6, 4e5, 1e6, 1e6]


# -- bond_terms -----------------------------------------------------------------------------------------------------

def test_bond_terms_of_an_annual_act_act_bond_and_a_bond_not_in_fisd():
    # 4% annual ACT/ACT, priced at par on its coupon date 2024-06-28 (the last business day of June), ten years
    # left: the yield is the coupon, 4% (annual compounding), and the modified duration of a par bond
    # (1 - 1.04^-10) / 0.04 = 8.1109...
    f = fisd(terms("ANN", "2034-06-28", 4.0, freq=1, daycount="ACT/ACT", dated="2019-06-28")).rename(
        {"complete_cusip": "cusip_id"}).with_columns(offering_date=pl.lit("2019-06-20"))
    px = prices([("ANN", "2024-06-28", 100.0), ("GHOST", "2024-06-28", 100.0)])
    panel = monthly_returns(px, f)
    out = bond_terms(panel, f)
    assert out.columns == [*MONTHLY_COLUMNS, "coupon", "offering_date", "yield", "duration"]
    ann = one(out, "ANN", "2024-06-30")
    assert ann["yield"] == pytest.approx(0.04, abs=1e-12)
    assert ann["duration"] == pytest.approx((1 - 1.04 ** -10) / 0.04, rel=1e-10)
    assert (ann["coupon"], ann["offering_date"]) == (pytest.approx(4.0), D(2019, 6, 20))
    ghost = one(out, "GHOST", "2024-06-30")  # kept, without terms
    assert np.isnan(ghost["yield"]) and np.isnan(ghost["duration"])
    assert (ghost["coupon"], ghost["offering_date"]) == (None, None)


def test_bond_terms_replaces_stale_columns_and_reads_text_dates():
    # a panel that already has the four columns (stale values) and one more column after them: the stale ones are
    # replaced and the new ones come last; the dated date given as text is the offering date (a Date)
    f = fisd(terms("A", "2034-06-28", 5.0, dated="2019-06-28")).with_columns(
        pl.col(c).cast(pl.String) for c in ("maturity", "dated_date"))
    panel = monthly_returns(prices([("A", "2024-06-28", 100.0)]), f).with_columns(
        coupon=pl.lit(-1.0), offering_date=pl.lit(None, pl.Date), **{"yield": pl.lit(-1.0)}, duration=pl.lit(-1.0),
        extra=pl.lit(1))
    out = bond_terms(panel, f)
    assert out.columns == [*MONTHLY_COLUMNS, "extra", "coupon", "offering_date", "yield", "duration"]
    a = out.row(0, named=True)
    # a 5% semiannual 30/360 bond at par on a coupon date yields 5%
    assert (a["coupon"], a["offering_date"], a["yield"]) == (5.0, D(2019, 6, 28), pytest.approx(0.05, abs=1e-12))
    assert out.schema["offering_date"] == pl.Date


def test_bond_terms_of_a_zero_coupon_bond_without_a_day_count_use_30_360():
    # A zero-coupon bond with no day count is priced with 30/360 US on the semiannual quasi-coupon grid
    # (bondpremia.fixed_income.bond: price 100 v^(w + m), w = 1 - A/180, A the 30/360 days since the previous
    # quasi-coupon date). Maturity 2029-01-15 (quasi-coupon dates 15 January / 15 July), priced on Wednesday
    # 2024-07-31 (the last business day of July): 30/360 US from 15 July to the 31st keeps D2 = 31 (D1 = 15 < 30),
    # A = 16, so w = 164/180 (30E/360 would cut D2 to 30: A = 15); eight full periods follow 15 January 2025. At a
    # 6% yield (semiannual compounding) the price is 100 / 1.03^(8 + 164/180) and the modified duration
    # (8 + 164/180) / 2 / 1.03 years.
    f = fisd(zero("Z", "2029-01-15"))
    periods = 8 + 164 / 180
    panel = monthly_returns(prices([("Z", "2024-07-31", 100.0 / 1.03 ** periods)]), f)
    z = bond_terms(panel, f).row(0, named=True)
    assert z["yield"] == pytest.approx(0.06, abs=1e-12)
    assert z["duration"] == pytest.approx(periods / 2 / 1.03, rel=1e-10)
