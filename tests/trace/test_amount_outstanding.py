"""Time-varying amount outstanding in the monthly panel (``monthly_returns(..., amount_outstanding=...)``).

The fixtures are zero-coupon bonds (no accrued interest, no coupons) priced at 100 on every month end, so a
bond-month's market value is exactly its amount outstanding in dollars: ``mv = 100 / 100 * amount * 1000`` with the
amount in FISD thousands. Every expected amount and weight below is worked out by hand in the comments from the rule
"the amount of the bond's last history row effective on or before the month's last calendar day, else the offering
amount", never by the code under test.

Month ends used (all within the last five SIFMA business days): Tue 2023-01-31, Tue 2023-02-28, Fri 2023-03-31 and
Fri 2023-04-28 (the 29th and 30th are a weekend); ``date`` is the calendar month end (2023-04-30 for April).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

from bondpremia.errors import InputError
from bondpremia.trace.monthly import amount_outstanding_history, monthly_returns

D = dt.date
MONTH_ENDS = ("2023-01-31", "2023-02-28", "2023-03-31", "2023-04-28")
JAN, FEB, MAR, APR = D(2023, 1, 31), D(2023, 2, 28), D(2023, 3, 31), D(2023, 4, 30)


def zero(cusip: str, issue_id: int, offering: float | None, static: float | None) -> dict[str, Any]:
    """A zero-coupon FISD row; ``offering`` (offering_amt) and ``static`` (amount_outstanding) in thousands."""
    return {"issue_id": issue_id, "complete_cusip": cusip, "maturity": D(2030, 1, 15), "coupon": 0.0,
            "interest_frequency": 0, "day_count_basis": None, "dated_date": D(2020, 1, 15), "coupon_type": "Z",
            "offering_amt": offering, "amount_outstanding": static, "rating_num": 8}


def fisd(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema_overrides={"day_count_basis": pl.String, "offering_amt": pl.Float64,
                                                      "amount_outstanding": pl.Float64})


def priced(*cusips: str, months: tuple[str, ...] = MONTH_ENDS) -> pl.DataFrame:
    """Daily prices of 100 on each month end."""
    rows = [(c, D.fromisoformat(m)) for c in cusips for m in months]
    return pl.DataFrame({"cusip_id": [c for c, _ in rows], "trd_exctn_dt": [d for _, d in rows],
                         "prc_vw_par": [100.0] * len(rows)})


def history(rows: list[tuple[str, str, float]], key: str = "complete_cusip") -> pl.DataFrame:
    """``(identifier, effective_date, amount in thousands)`` rows in the given order."""
    return pl.DataFrame({key: [r[0] for r in rows], "effective_date": [D.fromisoformat(r[1]) for r in rows],
                         "amount_outstanding": [r[2] for r in rows]})


def column(out: pl.DataFrame, cusip: str, name: str) -> list[Any]:
    return out.filter(pl.col("cusip_id") == cusip).sort("date")[name].to_list()


# -- the rule -------------------------------------------------------------------------------------------------

def test_a_partial_call_changes_the_weights_in_the_month_of_its_effective_date_not_before():
    # CALL: offered 1,000 (thousands), 600 called on 2023-03-15, so FISD's static amount (pulled later) is 400.
    # KEEP: offered 1,000, never changed, no history.
    f = fisd(zero("CALL00001", 1, 1000.0, 400.0), zero("KEEP00001", 2, 1000.0, 1000.0))
    h = history([("CALL00001", "2020-01-15", 1000.0), ("CALL00001", "2023-03-15", 400.0)])
    out = monthly_returns(priced("CALL00001", "KEEP00001"), f, amount_outstanding=h)
    # CALL: Jan, Feb end before 03-15 -> 1,000 -> $1,000,000; Mar (ends 03-31 >= 03-15) and Apr -> $400,000
    assert column(out, "CALL00001", "amount_outstanding") == [1e6, 1e6, 4e5, 4e5]
    assert column(out, "CALL00001", "mv") == pytest.approx([1e6, 1e6, 4e5, 4e5], rel=1e-15)
    # KEEP has no history row: the offering amount, $1,000,000
    assert column(out, "KEEP00001", "amount_outstanding") == [1e6] * 4
    # weights: Jan, Feb 1e6 / 2e6 = 1/2 each; Mar, Apr 4e5 / 1.4e6 = 2/7 and 1e6 / 1.4e6 = 5/7
    assert column(out, "CALL00001", "mv_weight") == pytest.approx([0.5, 0.5, 2 / 7, 2 / 7], rel=1e-14)
    assert column(out, "KEEP00001", "mv_weight") == pytest.approx([0.5, 0.5, 5 / 7, 5 / 7], rel=1e-14)
    # the static FISD amount (no history) weights the called bond 2/7 already in January: the error fixed here
    static = monthly_returns(priced("CALL00001", "KEEP00001"), f)
    assert column(static, "CALL00001", "mv_weight") == pytest.approx([2 / 7] * 4, rel=1e-14)


def test_an_action_on_the_last_calendar_day_counts_in_that_month_the_next_day_in_the_next():
    # EDGE1 cut from 900 to 300 effective Tue 2023-02-28 (February's last day): February already has 300.
    # EDGE2 cut from 900 to 300 effective Sat 2023-04-01: March still 900, April 300.
    f = fisd(zero("EDGE00001", 1, 900.0, 300.0), zero("EDGE00002", 2, 900.0, 300.0))
    h = history([("EDGE00001", "2023-02-28", 300.0), ("EDGE00002", "2023-04-01", 300.0)])
    out = monthly_returns(priced("EDGE00001", "EDGE00002"), f, amount_outstanding=h)
    assert column(out, "EDGE00001", "amount_outstanding") == [9e5, 3e5, 3e5, 3e5]
    assert column(out, "EDGE00002", "amount_outstanding") == [9e5, 9e5, 9e5, 3e5]
    # April: 3e5 + 3e5, each 1/2; March: 3e5 and 9e5, so 1/4 and 3/4
    assert column(out, "EDGE00001", "mv_weight") == pytest.approx([0.5, 0.25, 0.25, 0.5], rel=1e-14)


def test_a_reopening_raises_the_amount_from_its_effective_date():
    # REOP offered 500; reopened by 750 on 2023-02-10 (amount 1,250), then tendered down to 1,000 on 2023-04-03
    f = fisd(zero("REOP00001", 1, 500.0, 1000.0), zero("KEEP00001", 2, 250.0, 250.0))
    h = history([("REOP00001", "2023-02-10", 1250.0), ("REOP00001", "2023-04-03", 1000.0)])
    out = monthly_returns(priced("REOP00001", "KEEP00001"), f, amount_outstanding=h)
    # Jan: no row yet -> offering 500; Feb, Mar: 1,250; Apr: 1,000
    assert column(out, "REOP00001", "amount_outstanding") == [5e5, 1.25e6, 1.25e6, 1e6]
    # weights against KEEP's 250: 500/750 = 2/3, 1250/1500 = 5/6, 5/6, 1000/1250 = 4/5
    assert column(out, "REOP00001", "mv_weight") == pytest.approx([2 / 3, 5 / 6, 5 / 6, 0.8], rel=1e-14)


def test_before_the_first_history_row_the_offering_amount_else_the_static_amount():
    # LATE: offered 800, history starts with a tender to 300 on 2023-03-02; FISD's static amount is 300.
    # Before March the offering amount (800) is used, not the static 300.
    f = fisd(zero("LATE00001", 1, 800.0, 300.0))
    h = history([("LATE00001", "2023-03-02", 300.0)])
    out = monthly_returns(priced("LATE00001"), f, amount_outstanding=h)
    assert column(out, "LATE00001", "amount_outstanding") == [8e5, 8e5, 3e5, 3e5]
    # without offering_amt in FISD (or where it is null), the static amount fills the months before the history
    out = monthly_returns(priced("LATE00001"), f.drop("offering_amt"), amount_outstanding=h)
    assert column(out, "LATE00001", "amount_outstanding") == [3e5, 3e5, 3e5, 3e5]
    f2 = fisd(zero("LATE00001", 1, None, 350.0))
    out = monthly_returns(priced("LATE00001"), f2, amount_outstanding=h)
    assert column(out, "LATE00001", "amount_outstanding") == [3.5e5, 3.5e5, 3e5, 3e5]


def test_a_bond_retired_by_month_end_has_zero_weight():
    # GONE fully called (amount 0) effective 2023-04-14; it still has an April month-end print (a late report)
    f = fisd(zero("GONE00001", 1, 600.0, 0.0), zero("KEEP00001", 2, 200.0, 200.0))
    h = history([("GONE00001", "2023-04-14", 0.0)])
    out = monthly_returns(priced("GONE00001", "KEEP00001"), f, amount_outstanding=h)
    assert column(out, "GONE00001", "mv") == [6e5, 6e5, 6e5, 0.0]
    # March: 600 / 800 = 3/4; April 0 / 200 = 0 and KEEP 1
    assert column(out, "GONE00001", "mv_weight") == pytest.approx([0.75, 0.75, 0.75, 0.0], rel=1e-14)
    assert column(out, "KEEP00001", "mv_weight")[-1] == pytest.approx(1.0, rel=1e-14)


def test_duplicate_effective_dates_take_the_last_row_in_input_order():
    f = fisd(zero("DUPE00001", 1, 1000.0, 600.0))
    # two rows on 2023-02-15: 700 then 600 -> 600 from February; a row for an earlier date listed last still
    # counts by its date (2023-01-20: 900 in January)
    rows = [("DUPE00001", "2023-02-15", 700.0), ("DUPE00001", "2023-02-15", 600.0),
            ("DUPE00001", "2023-01-20", 900.0)]
    out = monthly_returns(priced("DUPE00001"), f, amount_outstanding=history(rows))
    assert column(out, "DUPE00001", "amount_outstanding") == [9e5, 6e5, 6e5, 6e5]
    swapped = [rows[1], rows[0], rows[2]]  # 600 then 700 -> 700
    out = monthly_returns(priced("DUPE00001"), f, amount_outstanding=history(swapped))
    assert column(out, "DUPE00001", "amount_outstanding") == [9e5, 7e5, 7e5, 7e5]
    kept = amount_outstanding_history(history(rows), f)
    assert kept.rows() == [("DUPE00001", D(2023, 1, 20), 900.0), ("DUPE00001", D(2023, 2, 15), 600.0)]


def test_an_issue_id_history_is_resolved_through_fisd():
    # WRDS fisd_amt_out_hist has issue_id only: 11 -> CALL00001, 12 -> KEEP00001
    f = fisd(zero("CALL00001", 11, 1000.0, 400.0), zero("KEEP00001", 12, 1000.0, 1000.0))
    by_cusip = history([("CALL00001", "2023-03-15", 400.0), ("KEEP00001", "2023-01-05", 1000.0)])
    by_issue = pl.DataFrame({"ISSUE_ID": [11, 12], "EFFECTIVE_DATE": ["2023-03-15", "2023-01-05"],
                             "AMOUNT_OUTSTANDING": [400.0, 1000.0], "ACTION_TYPE": ["P", "IM"],
                             "ACTION_AMOUNT": [600.0, None]})
    px = priced("CALL00001", "KEEP00001")
    ref = monthly_returns(px, f, amount_outstanding=by_cusip)
    assert column(ref, "CALL00001", "amount_outstanding") == [1e6, 1e6, 4e5, 4e5]
    assert monthly_returns(px, f, amount_outstanding=by_issue).equals(ref)
    # pandas, with the integer ids as floats (a missing value makes pandas store them so)
    pdf = by_issue.to_pandas()
    pdf["ISSUE_ID"] = pdf["ISSUE_ID"].astype(float)
    assert monthly_returns(px, f, amount_outstanding=pdf).equals(ref)
    # ids as text in the history, integers in FISD
    as_text = by_issue.with_columns(pl.col("ISSUE_ID").cast(pl.String))
    assert monthly_returns(px, f, amount_outstanding=as_text).equals(ref)


def test_unknown_cusips_and_cusipless_issues_are_ignored():
    f = fisd(zero("CALL00001", 11, 1000.0, 400.0), zero("KEEP00001", 12, 1000.0, 1000.0),
             zero("X", 13, 5.0, 5.0)).with_columns(complete_cusip=pl.Series(["CALL00001", "KEEP00001", None]))
    px = priced("CALL00001", "KEEP00001")
    h = history([("CALL00001", "2023-03-15", 400.0)])
    ref = monthly_returns(px, f, amount_outstanding=h)
    noisy = pl.concat([history([("NOTINFISD", "2023-01-10", 1.0)]), h, history([("NOTINFISD", "2023-03-01", 2.0)])])
    assert monthly_returns(px, f, amount_outstanding=noisy).equals(ref)
    only_unknown = history([("NOTINFISD", "2023-01-10", 1.0)])
    out = monthly_returns(px, f, amount_outstanding=only_unknown)
    assert column(out, "CALL00001", "amount_outstanding") == [1e6] * 4  # offering amounts
    # issue 13 is in FISD without a CUSIP: it cannot be a traded bond, so its rows are left out
    by_issue = pl.DataFrame({"issue_id": [13, 11], "effective_date": [D(2023, 1, 3), D(2023, 3, 15)],
                             "amount_outstanding": [9.0, 400.0]})
    assert monthly_returns(px, f, amount_outstanding=by_issue).equals(ref)


def test_mergedissue_rows_without_an_action_date_are_left_out():
    # fisd_mergedissue carries the latest action; bonds that never had one have no effective date
    f = fisd(zero("CALL00001", 1, 1000.0, 400.0), zero("KEEP00001", 2, 1000.0, 1000.0))
    h = pl.DataFrame({"complete_cusip": ["CALL00001", "KEEP00001"], "effective_date": [D(2023, 3, 15), None],
                      "amount_outstanding": [400.0, 1000.0], "action_type": ["P", None]})
    out = monthly_returns(priced("CALL00001", "KEEP00001"), f, amount_outstanding=h)
    assert column(out, "CALL00001", "amount_outstanding") == [1e6, 1e6, 4e5, 4e5]
    assert amount_outstanding_history(h, f).height == 1


def test_bonds_not_in_fisd_keep_a_null_amount():
    f = fisd(zero("KEEP00001", 1, 100.0, 100.0))
    out = monthly_returns(priced("KEEP00001", "NOFISD001"), f,
                          amount_outstanding=history([("NOFISD001", "2023-01-01", 50.0)]))
    assert column(out, "NOFISD001", "amount_outstanding") == [None] * 4
    assert column(out, "KEEP00001", "mv_weight") == pytest.approx([1.0] * 4)


def test_the_history_gives_the_same_panel_in_any_row_order():
    f = fisd(zero("CALL00001", 1, 1000.0, 400.0), zero("REOP00001", 2, 500.0, 1000.0))
    h = history([("CALL00001", "2020-01-15", 1000.0), ("CALL00001", "2023-03-15", 400.0),
                 ("REOP00001", "2023-02-10", 1250.0), ("REOP00001", "2023-04-03", 1000.0)])
    px = priced("CALL00001", "REOP00001")
    ref = monthly_returns(px, f, amount_outstanding=h)
    rng = np.random.default_rng(3)
    for _ in range(5):
        assert monthly_returns(px[rng.permutation(px.height)], f, amount_outstanding=h[rng.permutation(4)]).equals(ref)


# -- bad input ------------------------------------------------------------------------------------------------

# functions, not module constants: no polars work at import, so the mutation run's fork server can collect this
# file (polars' thread pool does not survive a fork)
def f2() -> pl.DataFrame:
    return fisd(zero("CALL00001", 11, 1000.0, 400.0), zero("KEEP00001", 12, 1000.0, 1000.0))


def good() -> pl.DataFrame:
    return pl.DataFrame({"complete_cusip": ["CALL00001", "KEEP00001", "CALL00001"],
                         "effective_date": ["2023-01-05", "2023-01-05", "2023-03-15"],
                         "amount_outstanding": [1000.0, 1000.0, 400.0]})


def _raises(h: Any, *, column: str | None, row: int | None, match: str, f: pl.DataFrame | None = None) -> None:
    f = f2() if f is None else f
    with pytest.raises(InputError, match=match) as info:
        monthly_returns(priced("CALL00001"), f, amount_outstanding=h)
    assert (info.value.column, info.value.row) == (column, row)


def test_missing_columns_raise():
    _raises(good().drop("effective_date"), column="effective_date", row=None, match="column.*missing")
    _raises(good().drop("amount_outstanding"), column="amount_outstanding", row=None, match="column.*missing")
    _raises(good().drop("complete_cusip"), column="complete_cusip", row=None, match="no bond identifier")
    _raises(good().with_columns(Amount_Outstanding=pl.lit(1.0)), column=None, row=None, match="letter case")


def test_bad_dates_and_amounts_raise_with_the_row():
    _raises(good().with_columns(effective_date=pl.Series(["2023-01-05", "2023-02-30", "2023-03-15"])),
            column="effective_date", row=1, match="'2023-02-30' is not a date")
    _raises(good().with_columns(effective_date=pl.Series([1, 2, 3])), column="effective_date", row=None,
            match="expected dates")
    _raises(good().with_columns(amount_outstanding=pl.Series(["1000", "1,000", "400"])),
            column="amount_outstanding", row=1, match="'1,000' is not a number")
    for bad in (-5.0, float("nan"), float("inf")):
        _raises(good().with_columns(amount_outstanding=pl.Series([1000.0, 1000.0, bad])),
                column="amount_outstanding", row=2, match="not a finite non-negative amount")
    _raises(good().with_columns(amount_outstanding=pl.Series([1000.0, None, 400.0])),
            column="amount_outstanding", row=1, match="missing amount")
    _raises(good().with_columns(action_amount=pl.Series([None, -1.0, 600.0])),
            column="action_amount", row=1, match="not a finite non-negative amount")


def test_issue_ids_that_do_not_resolve_raise():
    by_issue = pl.DataFrame({"issue_id": [11, 99], "effective_date": [D(2023, 1, 5), D(2023, 2, 1)],
                             "amount_outstanding": [1000.0, 5.0]})
    _raises(by_issue, column="issue_id", row=1, match="issue_id 99 is not in the FISD reference")
    _raises(by_issue.head(1), column="issue_id", row=None, match="FISD reference has no issue_id",
            f=f2().drop("issue_id"))
    twice = f2().with_columns(issue_id=pl.Series([11, 11]))
    _raises(by_issue.head(1), column="issue_id", row=0, match="appears more than once", f=twice)


def test_pandas_upper_case_and_text_dates_give_the_same_result():
    px = priced("CALL00001", "KEEP00001")
    ref = monthly_returns(px, f2(), amount_outstanding=good().with_columns(pl.col("effective_date").str.to_date()))
    assert monthly_returns(px, f2(), amount_outstanding=good()).equals(ref)
    upper = good().to_pandas().rename(columns=str.upper)
    upper["EFFECTIVE_DATE"] = pd.to_datetime(upper["EFFECTIVE_DATE"])
    assert monthly_returns(px.to_pandas(), f2().to_pandas(), amount_outstanding=upper).equals(ref)
    assert monthly_returns(px, f2(), amount_outstanding=good().rename({"complete_cusip": "cusip_id"})).equals(ref)
