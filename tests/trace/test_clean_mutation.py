"""Tests added from mutation testing (``make mutate``) of ``trace/clean.py``.

Each test pins a behaviour a surviving mutant changed: the when-issued and locked-in flags, the input formats the
parser accepts, reject reasons, which rows a rule treats as reports, error texts. Expected outcomes are written
out by hand from the rules in ``docs/trace.md``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from bondpremia.errors import InputError
from bondpremia.trace.clean import STEPS, Context, clean_trades, parse_messages, resolve_steps
from bondpremia.trace.rules import SCHEMA

CUSIP = "123456AB7"
POST = "2013-03-04"
PRE = "2010-06-01"

TYPES: dict[str, Any] = {
    "cusip_id": pl.String, "trd_exctn_dt": pl.String, "trd_exctn_tm": pl.String, "trd_rpt_dt": pl.String,
    "trd_rpt_tm": pl.String,
    "msg_seq_nb": pl.Int64, "orig_msg_seq_nb": pl.Int64, "trc_st": pl.String, "asof_cd": pl.String,
    "wis_fl": pl.String, "lckd_in_ind": pl.String, "sale_cndtn_cd": pl.String, "rptd_pr": pl.Float64,
    "entrd_vol_qt": pl.Float64, "rpt_side_cd": pl.String, "cntra_mp_id": pl.String, "buy_cpcty_cd": pl.String,
    "sell_cpcty_cd": pl.String, "cmsn_trd": pl.String,
}
BASE: dict[str, Any] = {"cusip_id": CUSIP, "trd_exctn_dt": POST, "trd_exctn_tm": "10:00:00", "trc_st": "T",
                        "rptd_pr": 100.0, "entrd_vol_qt": 100_000.0, "rpt_side_cd": "S", "cntra_mp_id": "C"}


def msgs(*rows: dict[str, Any]) -> pl.DataFrame:
    out = []
    for r in rows:
        d = {**BASE, **r}
        d.setdefault("trd_rpt_dt", d["trd_exctn_dt"])
        out.append({c: d.get(c) for c in TYPES})
    return pl.DataFrame(out, schema=TYPES)


def kept(df: pl.DataFrame, steps: list[str], fisd: Any = None) -> list[int]:
    return sorted(clean_trades(df, fisd, steps=steps).trades["msg_seq_nb"].to_list())


def error_text(fn, *args, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        fn(*args, **kwargs)
    return str(info.value)


# ----------------------------------------------------------------------------------------------------------------------
# flags and rules
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("step", "column"), [("when_issued", "wis_fl"), ("locked_in", "lckd_in_ind")])
def test_flag_steps_drop_only_y(step, column):
    df = msgs({"msg_seq_nb": 1, column: "Y"}, {"msg_seq_nb": 2, column: "N"}, {"msg_seq_nb": 3, column: None},
              {"msg_seq_nb": 4, column: "y"})
    assert kept(df, [step]) == [2, 3, 4]


def test_agency_with_unknown_capacity_is_kept():
    # customer trade without commission, buy side, but the buyer's capacity is missing: not an agency trade
    df = msgs({"msg_seq_nb": 1, "rpt_side_cd": "B", "cmsn_trd": "N", "buy_cpcty_cd": None},
              {"msg_seq_nb": 2, "rpt_side_cd": "B", "cmsn_trd": "N", "buy_cpcty_cd": "A"})
    assert kept(df, ["agency"]) == [1]


def test_dn14_cancel_of_a_single_report():
    df = msgs({"msg_seq_nb": 1}, {"msg_seq_nb": 1, "trc_st": "X"})
    assert kept(df, ["dn14_cancel"]) == []


def test_dn14_reversal_reaches_a_pre_2012_report():
    # a T reported before the format change and a Y reported after it with the same keys: the Y reverses the T
    # (a post-2012 reversal may refer to a pre-2012 original)
    df = msgs({"msg_seq_nb": 5, "trd_exctn_dt": "2012-01-30"},
              {"msg_seq_nb": 9, "orig_msg_seq_nb": 5, "trc_st": "Y", "trd_exctn_dt": "2012-01-30",
               "trd_rpt_dt": "2012-02-07"})
    assert kept(df, ["dn14_reversal"]) == []
    # ... but a pre-2012 C is not a report it can reverse
    df = df.with_columns(trc_st=pl.Series(["C", "Y"]))
    assert kept(df, ["dn14_reversal"]) == [5]


def test_dn09_correct_only_follows_w_messages():
    # a pre-2012 cancellation C carries orig_msg_seq_nb too, but only W corrections supersede a report
    df = msgs({"msg_seq_nb": 5, "trd_exctn_dt": PRE}, {"msg_seq_nb": 6, "orig_msg_seq_nb": 5, "trc_st": "C",
                                                      "trd_exctn_dt": PRE})
    assert kept(df, ["dn09_correct"]) == [5, 6]
    # a post-2012 reversal pointing at a pre-2012 message number is not a pre-2012 correction either
    df = msgs({"msg_seq_nb": 5, "trd_exctn_dt": PRE},
              {"msg_seq_nb": 6, "orig_msg_seq_nb": 5, "trc_st": "Y", "trd_exctn_dt": POST})
    assert kept(df, ["dn09_correct"]) == [5, 6]


def test_dn09_reversal_matches_w_reports_and_only_pre_2012_ones():
    rev = {"msg_seq_nb": 9, "asof_cd": "R", "trd_exctn_dt": PRE, "trd_rpt_dt": "2010-06-02"}
    assert kept(msgs({"msg_seq_nb": 5, "trc_st": "W", "trd_exctn_dt": PRE}, rev), ["dn09_reversal"]) == []
    # the same trade reported after the format change is not a pre-2012 report: only the reversal goes
    late = {"msg_seq_nb": 5, "trd_exctn_dt": PRE, "trd_rpt_dt": POST}
    assert kept(msgs(late, rev), ["dn09_reversal"]) == [5]


def test_short_maturity_uses_the_first_fisd_row_of_a_cusip():
    fisd = pl.DataFrame({"complete_cusip": [CUSIP, CUSIP],
                         "maturity": [dt.date(2030, 1, 1), dt.date(2013, 6, 1)]})
    assert kept(msgs({"msg_seq_nb": 1}), ["short_maturity"], fisd) == [1]


def test_fisd_steps_called_without_fisd_raise():
    ctx = Context(fisd=None, settlement_lags=((dt.date(1900, 1, 1), 3),))
    for name in ("fisd_screens", "short_maturity"):
        assert error_text(STEPS[name].drop, pl.DataFrame(), ctx) == (
            "'fisd': this step needs the FISD bond reference; pass fisd=")


# ----------------------------------------------------------------------------------------------------------------------
# parsing
# ----------------------------------------------------------------------------------------------------------------------


def raw_frame(**cols: list[Any]) -> pl.DataFrame:
    base = {"cusip_id": [CUSIP], "trd_exctn_dt": [POST], "trd_exctn_tm": ["10:00:00"], "trd_rpt_dt": [POST],
            "msg_seq_nb": [1], "trc_st": ["T"], "rptd_pr": [100.0], "entrd_vol_qt": [100_000.0],
            "rpt_side_cd": ["S"], "cntra_mp_id": ["C"]}
    n = max(len(v) for v in cols.values()) if cols else 1
    data = {k: v * n for k, v in base.items()}
    data.update(cols)
    return pl.DataFrame(data, strict=False)


def test_parse_date_and_time_formats():
    df = raw_frame(trd_exctn_dt=["20130304", "04MAR2013", "2013-03-04T00:00:00", "2013-03-04"],
                   trd_exctn_tm=["10:00:00", "10:00:00.250", "10:00:00", "10:00:00"])
    parsed, rejects = parse_messages(df)
    assert rejects.height == 0
    assert parsed["trd_exctn_dt"].to_list() == [dt.date(2013, 3, 4)] * 4
    assert parsed["trd_exctn_tm"].to_list() == [dt.time(10), dt.time(10, 0, 0, 250_000), dt.time(10), dt.time(10)]


def test_parse_refuses_ambiguous_or_trailing_dates_fractional_numbers_and_non_finite_prices():
    """03/04/2013 is 4 March or 3 April; 2013-03-04XYZ is not a date; 12.5 is not a message number; NaN and inf
    are not prices: each row is rejected with its reason, none is silently read."""
    df = raw_frame(trd_exctn_dt=["03/04/2013", "2013-03-04XYZ", "2013-03-04", "2013-03-04", "2013-03-04"],
                   msg_seq_nb=[1.0, 1.0, 12.5, 1.0, 1.0], rptd_pr=[100.0, 100.0, 100.0, float("nan"), float("inf")])
    parsed, rejects = parse_messages(df)
    assert parsed.height == 0
    assert rejects["reason"].to_list() == [
        "trd_exctn_dt: ambiguous date (MM/DD/YYYY or DD/MM/YYYY?); write dates as YYYY-MM-DD",
        "trd_exctn_dt: unparseable value", "msg_seq_nb: unparseable value",
        "rptd_pr: not a finite number (NaN or infinite)", "rptd_pr: not a finite number (NaN or infinite)"]


def test_parse_times_as_seconds_after_midnight_or_durations():
    import pandas as pd

    secs = parse_messages(raw_frame(trd_exctn_tm=[36_000.0, 36_000.25, 86_400.0]))
    assert secs[0]["trd_exctn_tm"].to_list() == [dt.time(10), dt.time(10, 0, 0, 250_000)]
    assert secs[1]["reason"].to_list() == ["trd_exctn_tm: unparseable value"]  # 24:00:00 is not a time of day
    td = pl.from_pandas(pd.DataFrame({"trd_exctn_tm": pd.to_timedelta(["10:00:00", "-00:00:01"])}))
    parsed, rejects = parse_messages(raw_frame(trd_exctn_tm=td["trd_exctn_tm"].to_list()))
    assert parsed["trd_exctn_tm"].to_list() == [dt.time(10)] and rejects.height == 1


def test_parse_datetime_columns_give_date_and_time():
    stamp = dt.datetime(2013, 3, 4, 10, 30, 15)
    parsed, rejects = parse_messages(raw_frame(trd_exctn_dt=[stamp], trd_exctn_tm=[stamp], trd_rpt_dt=[stamp]))
    assert rejects.height == 0
    assert parsed["trd_exctn_dt"].to_list() == [dt.date(2013, 3, 4)]
    assert parsed["trd_exctn_tm"].to_list() == [dt.time(10, 30, 15)]


def test_parse_rejects_with_reasons():
    df = raw_frame(cusip_id=[CUSIP, "  ", CUSIP, CUSIP, CUSIP, CUSIP, CUSIP],
                   rptd_pr=[100.0, 100.0, -1.0, 100.0, 100.0, 100.0, None],
                   entrd_vol_qt=[0.5, 100_000.0, 100_000.0, 0.0, 100_000.0, 100_000.0, 100_000.0],
                   days_to_sttl_ct=["002", None, None, None, "1e30", "x", None],
                   sale_cndtn_cd=["  ", None, None, None, None, None, None])
    parsed, rejects = parse_messages(df)
    assert rejects["reason"].to_list() == ["cusip_id: missing value", "rptd_pr: price is not positive",
                                           "entrd_vol_qt: volume is not positive",
                                           "days_to_sttl_ct: unparseable value", "days_to_sttl_ct: unparseable value",
                                           "rptd_pr: missing value"]
    assert rejects["_row"].to_list() == [1, 2, 3, 4, 5, 6] and rejects.schema["_row"] == pl.Int64
    # the first row is valid: a 0.5 par volume is positive, '002' is 2 days, a blank optional code is missing
    assert parsed.height == 1
    assert parsed["entrd_vol_qt"].to_list() == [0.5]
    assert parsed["days_to_sttl_ct"].to_list() == [2]
    assert parsed["sale_cndtn_cd"].to_list() == [None]


def test_parse_numeric_cast_failure_is_a_reject():
    df = raw_frame(msg_seq_nb=[1.0, float("inf")])
    parsed, rejects = parse_messages(df)
    assert parsed["msg_seq_nb"].to_list() == [1]
    assert rejects["reason"].to_list() == ["msg_seq_nb: unparseable value"]


def test_parse_absent_optional_columns_are_typed_nulls():
    parsed, _ = parse_messages(raw_frame())
    assert parsed.schema["yld_pt"] == pl.Float64 and parsed.schema["asof_cd"] == pl.String
    assert parsed.schema["orig_msg_seq_nb"] == pl.Int64 and parsed["yld_pt"].to_list() == [None]


def test_parse_upper_case_columns_and_case_duplicates():
    df = raw_frame().rename({"cusip_id": "CUSIP_ID", "rptd_pr": "Rptd_Pr"})
    parsed, rejects = parse_messages(df)
    assert parsed["cusip_id"].to_list() == [CUSIP] and parsed["rptd_pr"].to_list() == [100.0]
    dup = raw_frame().with_columns(pl.col("cusip_id").alias("CUSIP_ID"))
    assert error_text(parse_messages, dup) == (
        "'CUSIP_ID': columns differ only in letter case: ['CUSIP_ID', 'cusip_id']")
    text = error_text(parse_messages, raw_frame().drop("trc_st", "cntra_mp_id"))
    assert text.startswith("'trc_st': required TRACE column(s) missing: ['trc_st', 'cntra_mp_id']; found [")


def test_blank_sale_condition_is_not_a_special_condition():
    df = msgs({"msg_seq_nb": 1, "sale_cndtn_cd": "  "}, {"msg_seq_nb": 2, "sale_cndtn_cd": "@"},
              {"msg_seq_nb": 3, "sale_cndtn_cd": "Z"})
    assert kept(df, ["special_condition"]) == [1, 2]


# ----------------------------------------------------------------------------------------------------------------------
# arguments
# ----------------------------------------------------------------------------------------------------------------------


def test_resolve_steps_default_and_parse():
    assert resolve_steps() == ["dedupe", "fisd_screens", "sub_product", "dn14_cancel", "dn14_reversal", "dn09_cancel",
                               "dn09_correct", "dn09_reversal", "interdealer", "when_issued", "locked_in",
                               "special_condition", "special_trade", "long_settlement", "price_range", "min_volume",
                               "volume_vs_issue", "short_maturity"]
    assert resolve_steps(steps=["parse", "price_range"]) == ["price_range"]


def test_argument_errors():
    assert error_text(resolve_steps, "x") == (
        "'preset': unknown preset 'x'; choose one of ['bbw2019', 'dick_nielsen_2014', 'tidyfinance']")
    assert error_text(resolve_steps, steps=["x"]).startswith("'steps': unknown cleaning step 'x'; steps are [")
    assert error_text(clean_trades, [1], steps=["price_range"]) == (
        "'messages': expected a polars or pandas DataFrame, got list")
    assert error_text(clean_trades, msgs({"msg_seq_nb": 1}), [1], steps=["price_range"]) == (
        "'fisd': expected a polars or pandas DataFrame, got list")
    assert error_text(clean_trades, msgs({"msg_seq_nb": 1}), steps=["short_maturity"]) == (
        "'fisd': step 'short_maturity' needs the FISD bond reference; pass fisd=")


# ----------------------------------------------------------------------------------------------------------------------
# reversals: which rows are candidates, and their order (tests written against surviving mutants)
# ----------------------------------------------------------------------------------------------------------------------

def test_dn09_reversal_candidates_are_pre_2012_t_w_reports_without_rxd_codes():
    """Only pre-2012 T/W reports without an R/X/D code can be reversed, whatever their time: here the X, D and R rows
    and a post-2012 late report of the same trade date all come earlier in the reversal order than the genuine
    report, and the one reversal still deletes the genuine report."""
    later = "2010-06-03"
    df = msgs({"msg_seq_nb": 1, "trd_exctn_dt": PRE, "trd_exctn_tm": "08:00:00", "trd_rpt_dt": "2012-03-01",
               "asof_cd": "A"},  # reported after the format change: not a pre-2012 report
              {"msg_seq_nb": 2, "trd_exctn_dt": PRE, "trd_exctn_tm": "09:00:00", "asof_cd": "X", "trd_rpt_dt": later},
              {"msg_seq_nb": 3, "trd_exctn_dt": PRE, "trd_exctn_tm": "09:10:00", "asof_cd": "D", "trd_rpt_dt": later},
              {"msg_seq_nb": 4, "trd_exctn_dt": PRE, "trd_exctn_tm": "09:20:00", "asof_cd": "R", "trd_rpt_dt": later},
              {"msg_seq_nb": 5, "trd_exctn_dt": PRE, "trd_exctn_tm": "10:00:00"},
              {"msg_seq_nb": 6, "trd_exctn_dt": PRE, "trd_exctn_tm": "11:00:00", "trc_st": "C",
               "orig_msg_seq_nb": 99})  # a C is not a report either
    assert kept(df, ["dn09_reversal"]) == [1, 6]


def test_dn09_reversal_report_without_a_report_time_comes_last():
    """Within one execution time and report date, reports are reversed in report-time order; a report without a
    report time comes after those with one."""
    df = msgs({"msg_seq_nb": 1, "trd_exctn_dt": PRE, "trd_rpt_tm": None},
              {"msg_seq_nb": 2, "trd_exctn_dt": PRE, "trd_rpt_tm": "10:05:00"},
              {"msg_seq_nb": 3, "trd_exctn_dt": PRE, "asof_cd": "R", "trd_rpt_dt": "2010-06-03"})
    assert kept(df, ["dn09_reversal"]) == [1]


def test_volume_vs_issue_uses_the_offering_amount_of_the_first_fisd_row():
    # offering $500M (half: $250M) before the amount outstanding ($20M); the second FISD row of the CUSIP is ignored
    fisd = pl.DataFrame({"complete_cusip": [CUSIP, CUSIP], "offering_amt": [500_000.0, 100_000.0],
                         "amount_outstanding": [20_000.0, 20_000.0]})
    df = msgs({"msg_seq_nb": 1, "entrd_vol_qt": 100_000_000.0}, {"msg_seq_nb": 2, "entrd_vol_qt": 260_000_000.0})
    assert kept(df, ["volume_vs_issue"], fisd) == [1]
    assert error_text(clean_trades, df, fisd.drop("offering_amt", "amount_outstanding"),
                      steps=["volume_vs_issue"]) == (
        "'offering_amt': step 'volume_vs_issue' needs FISD offering_amt (or amount_outstanding), in thousands of "
        "dollars")


def test_volume_vs_issue_a_text_offering_amount_falls_back_to_the_amount_outstanding():
    # FISD text such as 'n/a' is no offering amount: the bond's size is then its amount outstanding ($20M, half $10M)
    fisd = pl.DataFrame({"complete_cusip": [CUSIP], "offering_amt": ["n/a"], "amount_outstanding": [20_000.0]})
    df = msgs({"msg_seq_nb": 1, "entrd_vol_qt": 9_000_000.0}, {"msg_seq_nb": 2, "entrd_vol_qt": 15_000_000.0})
    assert kept(df, ["volume_vs_issue"], fisd) == [1]


# ----------------------------------------------------------------------------------------------------------------------
# parsing: invalid values of every accepted format are rejects, never exceptions; typed columns of other types
# ----------------------------------------------------------------------------------------------------------------------


def test_parse_impossible_dates_and_times_are_rejects_and_month_names_any_case():
    df = raw_frame(trd_exctn_dt=["20130230", "31FEB2013", "04mar2013", "2013-03-04", "2013-03-04"],
                   trd_exctn_tm=["10:00:00", "10:00:00", "09:05:03", "25:61:00", "10:00:00.5"])
    parsed, rejects = parse_messages(df)
    assert rejects["reason"].to_list() == ["trd_exctn_dt: unparseable value"] * 2 + ["trd_exctn_tm: unparseable value"]
    assert rejects["_row"].to_list() == [0, 1, 3]
    assert parsed["trd_exctn_dt"].to_list() == [dt.date(2013, 3, 4)] * 2
    assert parsed["trd_exctn_tm"].to_list() == [dt.time(9, 5, 3), dt.time(10, 0, 0, 500_000)]


def test_parse_float_columns_with_some_non_finite_values_keep_the_finite_ones():
    """A price column with one NaN is parsed value by value (it is not taken as it is): the finite prices stay, in
    Float64 and in Float32."""
    parsed, rejects = parse_messages(raw_frame(rptd_pr=[100.0, float("nan"), 99.5]))
    assert parsed["rptd_pr"].to_list() == [100.0, 99.5]
    assert rejects["reason"].to_list() == ["rptd_pr: not a finite number (NaN or infinite)"]
    f32 = raw_frame(rptd_pr=[100.5, float("inf")]).with_columns(pl.col("rptd_pr").cast(pl.Float32))
    parsed, rejects = parse_messages(f32)
    assert parsed["rptd_pr"].to_list() == [100.5] and parsed.schema["rptd_pr"] == pl.Float64
    assert rejects["reason"].to_list() == ["rptd_pr: not a finite number (NaN or infinite)"]


def test_parse_time_boundaries_of_durations_and_seconds():
    import pandas as pd

    td = pl.from_pandas(pd.DataFrame({"t": pd.to_timedelta(["00:00:00", "23:59:59", "24:00:00"])}))["t"].to_list()
    parsed, rejects = parse_messages(raw_frame(trd_exctn_tm=td))
    assert parsed["trd_exctn_tm"].to_list() == [dt.time(0), dt.time(23, 59, 59)]
    assert rejects["_row"].to_list() == [2]  # 24:00:00 is not a time of day
    parsed, rejects = parse_messages(raw_frame(trd_exctn_tm=[0.0, 86_399.0]))
    assert parsed["trd_exctn_tm"].to_list() == [dt.time(0), dt.time(23, 59, 59)] and rejects.height == 0


def test_parse_time_zone_aware_stamps_keep_their_local_time_of_day():
    """TRACE times are New York times: a zone-aware stamp gives its local date and time, not UTC's."""
    stamp = pl.Series([dt.datetime(2013, 3, 4, 23, 30, 15)]).dt.replace_time_zone("UTC").dt.convert_time_zone(
        "America/New_York")
    parsed, rejects = parse_messages(raw_frame(trd_exctn_dt=stamp.to_list(), trd_exctn_tm=stamp.to_list()))
    assert rejects.height == 0
    assert parsed["trd_exctn_dt"].to_list() == [dt.date(2013, 3, 4)]
    assert parsed["trd_exctn_tm"].to_list() == [dt.time(18, 30, 15)]


def test_parse_other_integer_types_and_values_out_of_range():
    df = raw_frame(msg_seq_nb=[1, 2]).with_columns(pl.col("msg_seq_nb").cast(pl.Int32))
    parsed, rejects = parse_messages(df)
    assert parsed["msg_seq_nb"].to_list() == [1, 2] and parsed.schema["msg_seq_nb"] == pl.Int64
    big = raw_frame(msg_seq_nb=[3, 2**63 + 1]).with_columns(pl.col("msg_seq_nb").cast(pl.UInt64))
    parsed, rejects = parse_messages(big)
    assert parsed["msg_seq_nb"].to_list() == [3]
    assert rejects["reason"].to_list() == ["msg_seq_nb: unparseable value"]


def test_parse_empty_strings_and_blank_or_null_optional_values():
    """An empty CUSIP is missing; a blank optional count and a null optional date are simply absent."""
    df = raw_frame(cusip_id=[CUSIP, "", CUSIP], days_to_sttl_ct=["  ", None, "2"],
                   stlmnt_dt=[None, None, "2013-03-06"])
    parsed, rejects = parse_messages(df)
    assert rejects["reason"].to_list() == ["cusip_id: missing value"]
    assert parsed["days_to_sttl_ct"].to_list() == [None, 2]
    assert parsed["stlmnt_dt"].to_list() == [None, dt.date(2013, 3, 6)]


def test_cleaned_trades_carry_no_internal_columns():
    res = clean_trades(msgs({"msg_seq_nb": 1}, {"msg_seq_nb": 2}), steps=["when_issued"])
    assert res.trades.columns == [*SCHEMA, "_row"]  # the typed TRACE columns, then the input row number


def test_a_step_named_twice_is_refused_by_name():
    assert error_text(resolve_steps, steps=["when_issued", "when_issued"]) == "'steps': 'when_issued' is given twice"


def test_a_preset_selects_its_columns_only_when_run_as_it_is():
    from bondpremia.trace.tidyfinance import OUTPUT

    df = msgs({"msg_seq_nb": 1}, {"msg_seq_nb": 2})
    as_is = clean_trades(df, preset="tidyfinance").trades
    assert [c for c in as_is.columns if c != "_row"] == list(OUTPUT)
    own_steps = clean_trades(df, preset="tidyfinance", steps=["when_issued"]).trades
    assert own_steps.columns == [*SCHEMA, "_row"]


def test_trades_come_out_in_key_order_whatever_the_input_order():
    df = msgs({"msg_seq_nb": 5, "trd_exctn_tm": "11:00:00"}, {"msg_seq_nb": 3, "trd_exctn_tm": "09:00:00"},
              {"msg_seq_nb": 4, "trd_exctn_tm": "09:00:00"}, {"msg_seq_nb": 1, "trd_exctn_dt": "2013-03-05"},
              {"msg_seq_nb": 2, "cusip_id": "ZZZZZZZZ9"})
    res = clean_trades(df, steps=["when_issued"])
    assert res.trades["msg_seq_nb"].to_list() == [3, 4, 5, 1, 2]  # by CUSIP, date, time, message number
