"""Exact-answer tests of the TRACE cleaning rules (``docs/trace.md``, section "Cleaning rules").

Every test builds a handful of messages by hand, runs only the step under test (``steps=[...]``; ``parse`` always
runs first) and asserts the exact set of surviving ``msg_seq_nb`` and the audit rows. The expected survivors are
derived from the contract, never from the kernel.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bondpremia.errors import InputError
from bondpremia.trace.clean import PRESETS, STEPS, clean_trades

CUSIP = "123456AB7"
OTHER = "654321CD9"
POST = "2013-03-04"  # trd_rpt_dt >= 2012-02-06: Dick-Nielsen (2014) rules
PRE = "2010-06-01"  # trd_rpt_dt < 2012-02-06: Dick-Nielsen (2009) rules

SCHEMA: dict[str, Any] = {
    "cusip_id": pl.String,
    "trd_exctn_dt": pl.String,
    "trd_exctn_tm": pl.String,
    "trd_rpt_dt": pl.String,
    "trd_rpt_tm": pl.String,
    "msg_seq_nb": pl.Int64,
    "orig_msg_seq_nb": pl.Int64,
    "trc_st": pl.String,
    "asof_cd": pl.String,
    "wis_fl": pl.String,
    "lckd_in_ind": pl.String,
    "sale_cndtn_cd": pl.String,
    "days_to_sttl_ct": pl.Int64,
    "rptd_pr": pl.Float64,
    "entrd_vol_qt": pl.Float64,
    "rpt_side_cd": pl.String,
    "cntra_mp_id": pl.String,
    "buy_cpcty_cd": pl.String,
    "sell_cpcty_cd": pl.String,
    "cmsn_trd": pl.String,
    "sale_cndtn2_cd": pl.String,
    "spcl_trd_fl": pl.String,
    "sub_prdct": pl.String,
}
# A regular customer sale: no rule fires on it unless a test changes a field.
DEFAULTS: dict[str, Any] = {
    "cusip_id": CUSIP,
    "trd_exctn_dt": POST,
    "trd_exctn_tm": "10:00:00",
    "trc_st": "T",
    "wis_fl": "N",
    "rptd_pr": 100.0,
    "entrd_vol_qt": 100_000.0,
    "rpt_side_cd": "S",
    "cntra_mp_id": "C",
}


def msgs(*rows: dict[str, Any], **common: Any) -> pl.DataFrame:
    """Messages from dicts; unspecified fields take DEFAULTS, then ``common``; ``trd_rpt_dt`` defaults to the
    execution date."""
    out = []
    for r in rows:
        d = {**DEFAULTS, **common, **r}
        d.setdefault("trd_rpt_dt", d["trd_exctn_dt"])
        out.append({c: d.get(c) for c in SCHEMA})
    return pl.DataFrame(out, schema=SCHEMA)


def run(df: Any, steps: list[str], fisd: Any = None, **kw: Any):
    return clean_trades(df, fisd, steps=steps, **kw)


def survivors(res) -> set[int]:
    return set(res.trades["msg_seq_nb"].to_list())


def audit(res) -> list[tuple[str, int, int, int]]:
    a = res.audit
    return list(zip(a["step"].to_list(), a["rows_in"].to_list(), a["rows_out"].to_list(),
                    a["rows_dropped"].to_list(), strict=True))


def check_audit(res, n: int, drops: list[tuple[str, int]]) -> None:
    """Exact audit: parse drops nothing here, then each (step, dropped) in order."""
    expected = [("parse", n, n, 0)]
    rows = n
    for step, dropped in drops:
        expected.append((step, rows, rows - dropped, dropped))
        rows -= dropped
    assert audit(res) == expected
    assert res.trades.height == rows
    assert res.rejects.height == 0


def good_bond(**kw: Any) -> dict[str, Any]:
    bond = {
        "issue_id": 1, "complete_cusip": CUSIP, "issuer_id": 1, "offering_date": dt.date(2005, 1, 10),
        "dated_date": dt.date(2005, 1, 15), "first_interest_date": dt.date(2005, 7, 15),
        "maturity": dt.date(2030, 1, 15), "coupon": 5.0, "coupon_type": "F", "interest_frequency": 2,
        "day_count_basis": "30/360", "offering_amt": 500_000.0, "amount_outstanding": 500_000.0,
        "bond_type": "CDEB", "convertible": "N", "asset_backed": "N", "rule_144a": "N",
        "private_placement": "N", "foreign_currency": "N", "country_domicile": "USA",
        "security_level": "SEN", "rating": "A", "rating_num": 6,
    }
    bond.update(kw)
    return bond


def fisd(*bonds: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(bonds), schema_overrides={
        "offering_date": pl.Date, "dated_date": pl.Date, "first_interest_date": pl.Date, "maturity": pl.Date,
        "coupon": pl.Float64, "interest_frequency": pl.Int64, "day_count_basis": pl.String,
    })


# ---------------------------------------------------------------------------------------------------------------
# Post-2012: dn14_cancel, dn14_reversal
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", ["X", "C"])
def test_dn14_cancel_deletes_trade_with_same_msg_seq_nb_and_keys(status):
    df = msgs(
        {"msg_seq_nb": 1},
        {"msg_seq_nb": 1, "trc_st": status},
        {"msg_seq_nb": 2},  # same 7 keys, other message number: not cancelled
        {"msg_seq_nb": 3, "trd_exctn_tm": "11:00:00"},
    )
    res = run(df, ["dn14_cancel"])
    assert survivors(res) == {2, 3}
    check_audit(res, 4, [("dn14_cancel", 2)])


@pytest.mark.parametrize("key, value", [
    ("rptd_pr", 101.0),
    ("entrd_vol_qt", 200_000.0),
    ("trd_exctn_tm", "10:00:01"),
    ("trd_exctn_dt", "2013-03-01"),
    ("rpt_side_cd", "B"),
    ("cntra_mp_id", "D"),
    ("cusip_id", OTHER),
])
def test_dn14_cancel_with_different_key_deletes_only_itself(key, value):
    df = msgs({"msg_seq_nb": 1}, {"msg_seq_nb": 1, "trc_st": "X", key: value, "trd_rpt_dt": POST})
    res = run(df, ["dn14_cancel"])
    assert res.trades["trc_st"].to_list() == ["T"]
    assert res.trades["msg_seq_nb"].to_list() == [1]
    check_audit(res, 2, [("dn14_cancel", 1)])


def test_dn14_cancel_deletes_an_R_report():
    df = msgs({"msg_seq_nb": 1, "trc_st": "R"}, {"msg_seq_nb": 1, "trc_st": "X"}, {"msg_seq_nb": 2, "trc_st": "R"})
    res = run(df, ["dn14_cancel"])
    assert survivors(res) == {2}
    check_audit(res, 3, [("dn14_cancel", 2)])


def test_dn14_cancel_does_not_delete_reversals_or_the_wrong_message():
    # An X must not delete a Y (not a trade report) and must not reach a trade by orig_msg_seq_nb.
    df = msgs({"msg_seq_nb": 1}, {"msg_seq_nb": 2, "trc_st": "X", "orig_msg_seq_nb": 1},
              {"msg_seq_nb": 3, "trc_st": "Y", "orig_msg_seq_nb": 9}, {"msg_seq_nb": 3, "trc_st": "X"})
    res = run(df, ["dn14_cancel"])
    assert sorted(zip(res.trades["msg_seq_nb"], res.trades["trc_st"], strict=True)) == [(1, "T"), (3, "Y")]
    check_audit(res, 4, [("dn14_cancel", 2)])


def test_dn14_reversal_deletes_trade_named_by_orig_msg_seq_nb():
    df = msgs(
        {"msg_seq_nb": 5},
        {"msg_seq_nb": 6},  # same keys, not the one reversed
        {"msg_seq_nb": 9, "trc_st": "Y", "orig_msg_seq_nb": 5},
        {"msg_seq_nb": 7, "trc_st": "R", "rptd_pr": 99.0},
        {"msg_seq_nb": 10, "trc_st": "Y", "orig_msg_seq_nb": 7, "rptd_pr": 99.0},  # R is a trade report too
    )
    res = run(df, ["dn14_reversal"])
    assert survivors(res) == {6}
    check_audit(res, 5, [("dn14_reversal", 4)])


def test_dn14_reversal_needs_same_keys_and_uses_orig_not_own_msg_seq_nb():
    df = msgs(
        {"msg_seq_nb": 5},
        {"msg_seq_nb": 9, "trc_st": "Y", "orig_msg_seq_nb": 5, "rptd_pr": 100.5},  # price differs: no match
        {"msg_seq_nb": 6},
        {"msg_seq_nb": 6, "trc_st": "Y", "orig_msg_seq_nb": 77},  # own msg number equals T 6: irrelevant
    )
    res = run(df, ["dn14_reversal"])
    assert sorted(zip(res.trades["msg_seq_nb"], res.trades["trc_st"], strict=True)) == [(5, "T"), (6, "T")]
    check_audit(res, 4, [("dn14_reversal", 2)])


def test_dn14_rules_reach_pre_2012_originals():
    # A post-2012 X/Y can refer to a trade first reported before 2012-02-06 (the references split the data at the
    # format change and never match across it; docs/trace.md). Pre-2012 T and W are reports; a pre-2012 C is not.
    pre, post = "2012-02-03", "2012-02-06"
    df = msgs(
        {"msg_seq_nb": 1, "trd_rpt_dt": pre},
        {"msg_seq_nb": 1, "trc_st": "X", "trd_rpt_dt": post},  # cancels the pre-2012 T 1
        {"msg_seq_nb": 2, "trd_rpt_dt": pre, "trd_exctn_tm": "11:00:00"},
        {"msg_seq_nb": 2, "trc_st": "C", "trd_rpt_dt": pre, "trd_exctn_tm": "11:00:00"},  # pre-2012 C: not dn14
        {"msg_seq_nb": 3, "trd_rpt_dt": pre, "trd_exctn_tm": "12:00:00"},
        {"msg_seq_nb": 6, "trc_st": "Y", "orig_msg_seq_nb": 3, "trd_rpt_dt": post, "trd_exctn_tm": "12:00:00"},
        {"msg_seq_nb": 4, "trc_st": "W", "orig_msg_seq_nb": 50, "trd_rpt_dt": pre, "trd_exctn_tm": "13:00:00"},
        {"msg_seq_nb": 4, "trc_st": "X", "trd_rpt_dt": post, "trd_exctn_tm": "13:00:00"},  # cancels the W
        {"msg_seq_nb": 5, "trc_st": "C", "orig_msg_seq_nb": 60, "trd_rpt_dt": pre, "trd_exctn_tm": "14:00:00"},
        {"msg_seq_nb": 5, "trc_st": "X", "trd_rpt_dt": post, "trd_exctn_tm": "14:00:00"},  # a C is no report
        trd_exctn_dt=pre,
    )
    res = run(df, ["dn14_cancel", "dn14_reversal"])
    assert sorted(zip(res.trades["msg_seq_nb"], res.trades["trc_st"], strict=True)) == [
        (2, "C"), (2, "T"), (5, "C")]
    check_audit(res, 10, [("dn14_cancel", 5), ("dn14_reversal", 2)])


def test_dn14_rules_do_not_treat_pre_2012_statuses_as_post():
    # Pre-2012 C and Y-like rows are not post-2012 cancellations: nothing is deleted.
    exec_dt = "2012-02-03"
    df = msgs(
        {"msg_seq_nb": 2, "trd_rpt_dt": "2012-02-03"},
        {"msg_seq_nb": 2, "trc_st": "C", "trd_rpt_dt": "2012-02-03"},
        {"msg_seq_nb": 3, "trd_rpt_dt": "2012-02-03"},
        {"msg_seq_nb": 4, "trc_st": "Y", "orig_msg_seq_nb": 3, "trd_rpt_dt": "2012-02-03"},
        trd_exctn_dt=exec_dt,
    )
    res = run(df, ["dn14_cancel", "dn14_reversal"])
    assert survivors(res) == {2, 3, 4}
    check_audit(res, 4, [("dn14_cancel", 0), ("dn14_reversal", 0)])


# ---------------------------------------------------------------------------------------------------------------
# Pre-2012: dn09_cancel, dn09_correct, dn09_reversal
# Message numbers are unique only within a report date; C and W are same-day messages (Dick-Nielsen 2009; the
# WRDS SAS code and the Dickerson-Mueller-Robotti pipeline match a C on the trade keys and trd_rpt_dt).
# ---------------------------------------------------------------------------------------------------------------

def test_dn09_cancel_deletes_original_and_itself():
    df = msgs(
        {"msg_seq_nb": 1},
        {"msg_seq_nb": 2, "trc_st": "C", "orig_msg_seq_nb": 1},
        {"msg_seq_nb": 3},  # same keys, not referenced
        {"msg_seq_nb": 4, "trc_st": "W", "orig_msg_seq_nb": 50, "rptd_pr": 101.0},
        {"msg_seq_nb": 5, "trc_st": "C", "orig_msg_seq_nb": 4, "rptd_pr": 101.0},  # a C can cancel a W
        trd_exctn_dt=PRE,
    )
    res = run(df, ["dn09_cancel"])
    assert survivors(res) == {3}
    check_audit(res, 5, [("dn09_cancel", 4)])


def test_dn09_cancel_matches_trade_keys_and_report_date_not_side():
    df = msgs(
        {"msg_seq_nb": 1},
        {"msg_seq_nb": 2, "trc_st": "C", "orig_msg_seq_nb": 1, "rpt_side_cd": "B", "cntra_mp_id": "D"},
        {"msg_seq_nb": 3, "trd_exctn_tm": "11:00:00"},
        {"msg_seq_nb": 4, "trc_st": "C", "orig_msg_seq_nb": 3, "trd_exctn_tm": "11:00:00", "rptd_pr": 99.0},
        trd_exctn_dt=PRE,
    )
    res = run(df, ["dn09_cancel"])
    # side and contra party are not keys: 2 cancels 1; 4 has another price: deletes only itself.
    assert survivors(res) == {3}
    check_audit(res, 4, [("dn09_cancel", 3)])


def test_dn09_cancel_does_not_reach_a_number_reused_on_another_report_date():
    df = msgs(
        {"msg_seq_nb": 7},  # reported on the trade date
        {"msg_seq_nb": 8, "trc_st": "C", "orig_msg_seq_nb": 7},  # cancels it, same day
        {"msg_seq_nb": 7, "trd_rpt_dt": "2010-06-03", "asof_cd": "A"},  # same keys and number, two days later
        {"msg_seq_nb": 9, "trc_st": "C", "orig_msg_seq_nb": 5, "trd_rpt_dt": "2010-06-02"},  # nothing to cancel
        {"msg_seq_nb": 5, "trd_rpt_dt": "2010-06-04", "asof_cd": "A"},  # number 5 on another report date
        trd_exctn_dt=PRE,
    )
    res = run(df, ["dn09_cancel"])
    assert sorted(zip(res.trades["msg_seq_nb"], res.trades["trd_rpt_dt"].cast(pl.String), strict=True)) == [
        (5, "2010-06-04"), (7, "2010-06-03")]
    check_audit(res, 5, [("dn09_cancel", 3)])


def test_dn09_correct_replaces_original_with_corrected_terms():
    df = msgs(
        {"msg_seq_nb": 1, "rptd_pr": 100.0},
        {"msg_seq_nb": 2, "trc_st": "W", "orig_msg_seq_nb": 1, "rptd_pr": 101.0, "trd_exctn_tm": "10:05:00",
         "entrd_vol_qt": 150_000.0},
        {"msg_seq_nb": 3, "trd_exctn_tm": "12:00:00"},
        trd_exctn_dt=PRE,
    )
    res = run(df, ["dn09_correct"])
    assert survivors(res) == {2, 3}
    w = res.trades.filter(pl.col("msg_seq_nb") == 2)
    assert w["trc_st"].to_list() == ["W"]
    assert w["rptd_pr"].to_list() == [101.0]
    assert w["entrd_vol_qt"].to_list() == [150_000.0]
    check_audit(res, 3, [("dn09_correct", 1)])


def _reused_numbers() -> pl.DataFrame:
    return msgs(
        {"msg_seq_nb": 1, "rptd_pr": 100.0},
        {"msg_seq_nb": 2, "trc_st": "W", "orig_msg_seq_nb": 1, "rptd_pr": 101.0},  # same day: supersedes 1
        {"msg_seq_nb": 1, "trd_exctn_dt": "2010-05-28", "trd_exctn_tm": "12:00:00"},  # number 1 on another day
        {"msg_seq_nb": 1, "trd_rpt_dt": "2010-06-02", "trd_exctn_tm": "13:00:00", "asof_cd": "A"},  # late report
        trd_exctn_dt=PRE,
    )


def test_dn09_correct_stays_within_the_report_date():
    res = run(_reused_numbers(), ["dn09_correct"])
    assert sorted(zip(res.trades["msg_seq_nb"], res.trades["trd_exctn_tm"].cast(pl.String), strict=True)) == [
        (1, "12:00:00"), (1, "13:00:00"), (2, "10:00:00")]
    check_audit(res, 4, [("dn09_correct", 1)])


def test_dn09_correct_exctn_matches_on_the_execution_date_like_wrds():
    # The WRDS SAS / Tidy Finance key (cusip, trd_exctn_dt, orig_msg_seq_nb): the late report of the same trade
    # date with number 1 goes too; the other day's number 1 stays.
    res = run(_reused_numbers(), ["dn09_correct_exctn"])
    assert sorted(zip(res.trades["msg_seq_nb"], res.trades["trd_exctn_tm"].cast(pl.String), strict=True)) == [
        (1, "12:00:00"), (2, "10:00:00")]
    check_audit(res, 4, [("dn09_correct_exctn", 2)])


def test_dn09_correct_chain_keeps_last_correction():
    df = msgs(
        {"msg_seq_nb": 1, "rptd_pr": 100.0},
        {"msg_seq_nb": 2, "trc_st": "W", "orig_msg_seq_nb": 1, "rptd_pr": 101.0},
        {"msg_seq_nb": 3, "trc_st": "W", "orig_msg_seq_nb": 2, "rptd_pr": 102.0},
        trd_exctn_dt=PRE,
    )
    res = run(df, ["dn09_correct"])
    assert survivors(res) == {3}
    assert res.trades["rptd_pr"].to_list() == [102.0]
    check_audit(res, 3, [("dn09_correct", 2)])


def test_dn09_correct_two_chains_at_one_timestamp_stay_separate():
    df = msgs(
        {"msg_seq_nb": 1, "entrd_vol_qt": 100_000.0},
        {"msg_seq_nb": 2, "entrd_vol_qt": 200_000.0},
        {"msg_seq_nb": 3, "trc_st": "W", "orig_msg_seq_nb": 1, "rptd_pr": 101.0, "entrd_vol_qt": 100_000.0},
        {"msg_seq_nb": 4, "trc_st": "W", "orig_msg_seq_nb": 2, "rptd_pr": 102.0, "entrd_vol_qt": 200_000.0},
        {"msg_seq_nb": 5, "trc_st": "W", "orig_msg_seq_nb": 3, "rptd_pr": 101.5, "entrd_vol_qt": 100_000.0},
        trd_exctn_dt=PRE,
    )
    res = run(df, ["dn09_correct"])
    assert survivors(res) == {4, 5}
    assert dict(zip(res.trades["msg_seq_nb"], res.trades["rptd_pr"], strict=True)) == {4: 102.0, 5: 101.5}
    check_audit(res, 5, [("dn09_correct", 3)])


def test_dn09_correct_orphan_w_is_kept_and_chains_stay_within_cusip():
    df = msgs(
        {"msg_seq_nb": 7, "trc_st": "W", "orig_msg_seq_nb": 99},  # original absent: kept
        {"msg_seq_nb": 1},
        {"msg_seq_nb": 2, "trc_st": "W", "orig_msg_seq_nb": 1, "cusip_id": OTHER},  # other CUSIP: no match
        {"msg_seq_nb": 3, "trd_exctn_tm": "11:00:00"},
        {"msg_seq_nb": 4, "trc_st": "W", "orig_msg_seq_nb": 3, "trd_rpt_dt": "2010-06-02"},  # next day: no match
        trd_exctn_dt=PRE,
    )
    res = run(df, ["dn09_correct"])
    assert survivors(res) == {1, 2, 3, 4, 7}
    check_audit(res, 5, [("dn09_correct", 0)])


LATER = "2010-06-03"  # a report date after the PRE trade date, as a pre-2012 reversal must have


def test_dn09_reversal_matches_six_keys_one_to_one_in_time_order():
    # The reversal's own execution time differs from both candidates (the references drop the time key);
    # the earliest candidate in execution time is reversed.
    df = msgs(
        {"msg_seq_nb": 1, "trd_exctn_tm": "11:00:00"},
        {"msg_seq_nb": 2, "trd_exctn_tm": "10:00:00"},
        {"msg_seq_nb": 3, "asof_cd": "R", "trd_exctn_tm": "10:30:00", "trd_rpt_dt": LATER},
        {"msg_seq_nb": 4, "rptd_pr": 99.0},
        trd_exctn_dt=PRE,
    )
    res = run(df, ["dn09_reversal"])
    assert survivors(res) == {1, 4}
    check_audit(res, 4, [("dn09_reversal", 2)])


def test_dn09_reversal_breaks_time_ties_by_report_date_time_then_number():
    df = msgs(
        {"msg_seq_nb": 5, "trd_rpt_tm": "10:05:00"},
        {"msg_seq_nb": 6, "trd_rpt_tm": "10:02:00"},  # same execution time, reported earlier: reversed first
        {"msg_seq_nb": 8, "trd_rpt_tm": "10:02:00", "trd_rpt_dt": "2010-06-02"},  # reported a day later: last
        {"msg_seq_nb": 7, "trd_rpt_tm": "10:05:00"},  # ties 5 on report date and time: after 5 by number
        {"msg_seq_nb": 20, "asof_cd": "R", "trd_rpt_dt": LATER},
        {"msg_seq_nb": 21, "asof_cd": "R", "trd_rpt_dt": LATER},
        {"msg_seq_nb": 22, "asof_cd": "R", "trd_rpt_dt": LATER},
        trd_exctn_dt=PRE,
    )
    res = run(df, ["dn09_reversal"])
    assert survivors(res) == {8}
    check_audit(res, 7, [("dn09_reversal", 6)])


def test_dn09_two_reversals_delete_two_twins():
    df = msgs(
        {"msg_seq_nb": 1},
        {"msg_seq_nb": 2},
        {"msg_seq_nb": 3, "asof_cd": "R", "trd_rpt_dt": LATER},
        {"msg_seq_nb": 4, "asof_cd": "R", "trd_rpt_dt": LATER},
        trd_exctn_dt=PRE,
    )
    res = run(df, ["dn09_reversal"])
    assert survivors(res) == set()
    check_audit(res, 4, [("dn09_reversal", 4)])


def test_dn09_reversal_needs_the_six_keys_and_a_later_report_date():
    df = msgs(
        {"msg_seq_nb": 1, "rpt_side_cd": "S"},
        {"msg_seq_nb": 2, "asof_cd": "R", "rpt_side_cd": "B", "trd_rpt_dt": LATER},  # side differs
        {"msg_seq_nb": 3, "trd_exctn_tm": "12:00:00", "rptd_pr": 98.0},
        {"msg_seq_nb": 4, "asof_cd": "R", "rptd_pr": 98.0},  # reported on the trade date: not a reversal
        trd_exctn_dt=PRE,
    )
    res = run(df, ["dn09_reversal"])
    assert survivors(res) == {1, 3}  # the R rows always go
    check_audit(res, 4, [("dn09_reversal", 2)])


def test_dn09_asof_x_and_d_rows_are_dropped_and_late_reports_kept():
    df = msgs(
        {"msg_seq_nb": 1},
        {"msg_seq_nb": 2, "asof_cd": "X", "trd_rpt_dt": LATER},
        {"msg_seq_nb": 3, "asof_cd": "D", "trd_rpt_dt": LATER},
        {"msg_seq_nb": 4, "asof_cd": "A", "trd_rpt_dt": LATER},
        {"msg_seq_nb": 5, "asof_cd": "X", "trd_exctn_dt": POST},  # post-2012: not this rule
        trd_exctn_dt=PRE,
    )
    res = run(df, ["dn09_reversal"])
    assert survivors(res) == {1, 4, 5}
    check_audit(res, 5, [("dn09_reversal", 2)])


def test_dn09_reversal_7keys_needs_the_execution_time():
    # Dick-Nielsen's SAS merge keys include trd_exctn_tm: a reversal at another time matches nothing.
    df = msgs(
        {"msg_seq_nb": 1, "trd_exctn_tm": "10:00:00"},
        {"msg_seq_nb": 2, "asof_cd": "R", "trd_exctn_tm": "10:30:00", "trd_rpt_dt": LATER},
        {"msg_seq_nb": 3, "trd_exctn_tm": "12:00:00"},
        {"msg_seq_nb": 4, "asof_cd": "R", "trd_exctn_tm": "12:00:00", "trd_rpt_dt": LATER},
        trd_exctn_dt=PRE,
    )
    res = run(df, ["dn09_reversal_7keys"])
    assert survivors(res) == {1}
    check_audit(res, 4, [("dn09_reversal_7keys", 3)])


def test_dn09_rules_never_touch_post_2012_rows():
    exec_dt = "2012-02-03"
    df = msgs(
        {"msg_seq_nb": 10, "trd_rpt_dt": "2012-02-07"},  # post-2012 report of the trade
        {"msg_seq_nb": 11, "trc_st": "C", "orig_msg_seq_nb": 10, "trd_rpt_dt": "2012-02-03"},  # pre C -> post
        {"msg_seq_nb": 20, "trd_rpt_dt": "2012-02-07", "trd_exctn_tm": "11:00:00"},
        {"msg_seq_nb": 21, "trc_st": "W", "orig_msg_seq_nb": 20, "trd_rpt_dt": "2012-02-03",
         "trd_exctn_tm": "11:00:00"},  # pre W -> post T: original absent in its period
        {"msg_seq_nb": 30, "trd_rpt_dt": "2013-01-02", "trd_exctn_tm": "12:00:00"},
        {"msg_seq_nb": 31, "trd_rpt_dt": "2013-01-02", "trd_exctn_tm": "12:00:00"},
        {"msg_seq_nb": 32, "trd_rpt_dt": "2013-01-02", "trd_exctn_tm": "12:00:00", "asof_cd": "R"},  # post R
        trd_exctn_dt=exec_dt,
    )
    res = run(df, ["dn09_cancel", "dn09_correct", "dn09_reversal"])
    assert survivors(res) == {10, 20, 21, 30, 31, 32}
    check_audit(res, 7, [("dn09_cancel", 1), ("dn09_correct", 0), ("dn09_reversal", 0)])


# ---------------------------------------------------------------------------------------------------------------
# Both periods: interdealer, agency
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("day", [POST, PRE])
def test_interdealer_buy_side_report_of_a_pair_is_deleted(day):
    df = msgs(
        {"msg_seq_nb": 1, "rpt_side_cd": "B", "cntra_mp_id": "D"},
        {"msg_seq_nb": 2, "rpt_side_cd": "S", "cntra_mp_id": "D"},
        trd_exctn_dt=day,
    )
    res = run(df, ["interdealer"])
    assert survivors(res) == {2}
    check_audit(res, 2, [("interdealer", 1)])


def test_interdealer_unmatched_buy_side_is_kept():
    df = msgs(
        {"msg_seq_nb": 1, "rpt_side_cd": "B", "cntra_mp_id": "D"},
        {"msg_seq_nb": 2, "rpt_side_cd": "S", "cntra_mp_id": "D", "rptd_pr": 100.01},
        {"msg_seq_nb": 3, "rpt_side_cd": "B", "cntra_mp_id": "D", "trd_exctn_tm": "11:00:00"},
        {"msg_seq_nb": 4, "rpt_side_cd": "S", "cntra_mp_id": "D", "trd_exctn_tm": "11:00:00", "cusip_id": OTHER},
    )
    res = run(df, ["interdealer"])
    assert survivors(res) == {1, 2, 3, 4}
    check_audit(res, 4, [("interdealer", 0)])


def test_interdealer_pairs_reports_with_different_times():
    # The two dealers' reports agree on bond, day, price and volume but often not on the time (WRDS SAS, the
    # Dickerson-Mueller-Robotti pipeline and Tidy Finance all match without the time).
    df = msgs(
        {"msg_seq_nb": 1, "rpt_side_cd": "B", "cntra_mp_id": "D", "trd_exctn_tm": "10:04:00"},
        {"msg_seq_nb": 2, "rpt_side_cd": "S", "cntra_mp_id": "D", "trd_exctn_tm": "10:00:00"},
        {"msg_seq_nb": 3, "rpt_side_cd": "B", "cntra_mp_id": "D", "trd_exctn_dt": "2013-03-05"},  # next day
    )
    res = run(df, ["interdealer"])
    assert survivors(res) == {2, 3}
    check_audit(res, 3, [("interdealer", 1)])


def test_interdealer_is_one_to_one_in_time_order():
    df = msgs(
        {"msg_seq_nb": 1, "rpt_side_cd": "B", "cntra_mp_id": "D", "trd_exctn_tm": "11:00:00"},
        {"msg_seq_nb": 2, "rpt_side_cd": "B", "cntra_mp_id": "D", "trd_exctn_tm": "10:00:00"},
        {"msg_seq_nb": 3, "rpt_side_cd": "S", "cntra_mp_id": "D", "trd_exctn_tm": "10:30:00"},
    )
    res = run(df, ["interdealer"])
    assert survivors(res) == {1, 3}  # the earliest buy pairs with the only sell; the other buy is kept
    check_audit(res, 3, [("interdealer", 1)])
    res = run(df, ["interdealer_any"])  # the references: every buy equal to some sell goes
    assert survivors(res) == {3}
    check_audit(res, 3, [("interdealer_any", 2)])


def test_interdealer_ignores_customer_trades():
    df = msgs(
        {"msg_seq_nb": 1, "rpt_side_cd": "B", "cntra_mp_id": "C"},
        {"msg_seq_nb": 2, "rpt_side_cd": "S", "cntra_mp_id": "D"},
        {"msg_seq_nb": 3, "rpt_side_cd": "B", "cntra_mp_id": "D", "trd_exctn_tm": "11:00:00", "rptd_pr": 99.0},
        {"msg_seq_nb": 4, "rpt_side_cd": "S", "cntra_mp_id": "C", "trd_exctn_tm": "11:00:00", "rptd_pr": 99.0},
    )
    res = run(df, ["interdealer"])
    assert survivors(res) == {1, 2, 3, 4}
    check_audit(res, 4, [("interdealer", 0)])


def test_agency_drops_customer_agency_trades_without_commission():
    agency = {"cntra_mp_id": "C", "cmsn_trd": "N"}
    df = msgs(
        {"msg_seq_nb": 1, **agency, "rpt_side_cd": "B", "buy_cpcty_cd": "A"},  # dropped
        {"msg_seq_nb": 2, **agency, "rpt_side_cd": "B", "buy_cpcty_cd": "A", "cmsn_trd": "Y"},  # commission
        {"msg_seq_nb": 3, **agency, "rpt_side_cd": "S", "sell_cpcty_cd": "A", "buy_cpcty_cd": "P"},  # dropped
        {"msg_seq_nb": 4, **agency, "rpt_side_cd": "S", "sell_cpcty_cd": "P", "buy_cpcty_cd": "A"},  # sell side P
        {"msg_seq_nb": 5, **agency, "rpt_side_cd": "B", "buy_cpcty_cd": "P", "sell_cpcty_cd": "A"},  # buy side P
        {"msg_seq_nb": 6, **agency, "rpt_side_cd": "B", "buy_cpcty_cd": "A", "cntra_mp_id": "D"},  # dealer
        {"msg_seq_nb": 7, **agency, "rpt_side_cd": "B", "buy_cpcty_cd": "A", "cmsn_trd": None},  # not N
        {"msg_seq_nb": 8, **agency, "rpt_side_cd": "S", "sell_cpcty_cd": "A", "trd_exctn_dt": PRE},  # dropped
    )
    res = run(df, ["agency"])
    assert survivors(res) == {2, 4, 5, 6, 7}
    check_audit(res, 8, [("agency", 3)])


# ---------------------------------------------------------------------------------------------------------------
# Bai, Bali and Wen (2019) trade filters
# ---------------------------------------------------------------------------------------------------------------

def test_when_issued():
    df = msgs({"msg_seq_nb": 1, "wis_fl": "Y"}, {"msg_seq_nb": 2, "wis_fl": "N"}, {"msg_seq_nb": 3, "wis_fl": None})
    res = run(df, ["when_issued"])
    assert survivors(res) == {2, 3}
    check_audit(res, 3, [("when_issued", 1)])


def test_locked_in():
    df = msgs({"msg_seq_nb": 1, "lckd_in_ind": "Y"}, {"msg_seq_nb": 2, "lckd_in_ind": None},
              {"msg_seq_nb": 3, "lckd_in_ind": "N"})
    res = run(df, ["locked_in"])
    assert survivors(res) == {2, 3}
    check_audit(res, 3, [("locked_in", 1)])


def test_special_condition_keeps_null_and_at_sign_in_both_condition_codes():
    df = msgs({"msg_seq_nb": 1, "sale_cndtn_cd": None}, {"msg_seq_nb": 2, "sale_cndtn_cd": "@"},
              {"msg_seq_nb": 3, "sale_cndtn_cd": "C"}, {"msg_seq_nb": 4, "sale_cndtn_cd": "Z"},
              {"msg_seq_nb": 5, "sale_cndtn2_cd": "@"}, {"msg_seq_nb": 6, "sale_cndtn_cd": "@", "sale_cndtn2_cd": "R"})
    res = run(df, ["special_condition"])
    assert survivors(res) == {1, 2, 5}
    check_audit(res, 6, [("special_condition", 3)])


def test_special_trade_flag():
    df = msgs({"msg_seq_nb": 1, "spcl_trd_fl": "Y"}, {"msg_seq_nb": 2, "spcl_trd_fl": None},
              {"msg_seq_nb": 3, "spcl_trd_fl": " "}, {"msg_seq_nb": 4, "spcl_trd_fl": "N"})
    res = run(df, ["special_trade"])
    assert survivors(res) == {2, 3, 4}
    check_audit(res, 4, [("special_trade", 1)])


def test_sub_product_keeps_corporate_bonds():
    df = msgs({"msg_seq_nb": 1, "sub_prdct": "CORP"}, {"msg_seq_nb": 2, "sub_prdct": "ELN"},
              {"msg_seq_nb": 3, "sub_prdct": None}, {"msg_seq_nb": 4, "sub_prdct": "CHRC"})
    res = run(df, ["sub_product"])
    assert survivors(res) == {1, 3}
    check_audit(res, 4, [("sub_product", 2)])


def test_long_settlement_is_more_than_two_days():
    # Bai, Bali and Wen (2019), Section 2: "more than two days"; a T+3 trade of 2010 goes too.
    rows = [(1, "2010-06-01", 0), (2, "2010-06-01", 2), (3, "2010-06-01", 3), (4, "2017-09-01", 3),
            (5, "2024-06-03", 2), (6, "2024-06-03", 7), (7, "2010-06-01", None)]
    df = msgs(*({"msg_seq_nb": m, "trd_exctn_dt": d, "days_to_sttl_ct": x} for m, d, x in rows))
    res = run(df, ["long_settlement"])
    assert survivors(res) == {1, 2, 5, 7}
    check_audit(res, 7, [("long_settlement", 3)])


def test_long_settlement_lag_schedule():
    rows = [
        (1, "2017-09-01", 3), (2, "2017-09-01", 4),  # T+3 before 2017-09-05
        (3, "2017-09-05", 2), (4, "2017-09-05", 3),  # T+2 from 2017-09-05
        (5, "2024-05-27", 2), (6, "2024-05-27", 3),  # T+2 until 2024-05-27
        (7, "2024-05-28", 1), (8, "2024-05-28", 2),  # T+1 from 2024-05-28
        (9, "2024-05-28", None), (10, "2010-06-01", None), (11, "2010-06-01", 0),
    ]
    df = msgs(*({"msg_seq_nb": m, "trd_exctn_dt": d, "days_to_sttl_ct": s} for m, d, s in rows))
    res = run(df, ["long_settlement_lag"])
    assert survivors(res) == {1, 3, 5, 7, 9, 10, 11}
    check_audit(res, 11, [("long_settlement_lag", 4)])


def test_long_settlement_lag_custom_schedule():
    from bondpremia.trace import SETTLEMENT_LAGS

    lags = ((dt.date(1900, 1, 1), 5),)
    assert type(lags[0][0]) is type(SETTLEMENT_LAGS[0][0])  # same format as the default schedule
    df = msgs({"msg_seq_nb": 1, "days_to_sttl_ct": 5}, {"msg_seq_nb": 2, "days_to_sttl_ct": 6},
              trd_exctn_dt="2024-06-03")
    res = run(df, ["long_settlement_lag"], settlement_lags=lags)
    assert survivors(res) == {1}
    check_audit(res, 2, [("long_settlement_lag", 1)])


def test_volume_vs_issue_drops_trades_above_half_the_offering():
    # offering_amt 500,000 thousand = $500M: half is $250M par.
    ref = fisd(good_bond(), good_bond(complete_cusip=OTHER, offering_amt=None, amount_outstanding=20_000.0))
    df = msgs({"msg_seq_nb": 1, "entrd_vol_qt": 250_000_000.0}, {"msg_seq_nb": 2, "entrd_vol_qt": 250_001_000.0},
              {"msg_seq_nb": 3, "entrd_vol_qt": 10_000_000.0, "cusip_id": OTHER},  # half of $20M: kept
              {"msg_seq_nb": 4, "entrd_vol_qt": 10_001_000.0, "cusip_id": OTHER},
              {"msg_seq_nb": 5, "entrd_vol_qt": 900_000_000.0, "cusip_id": "999999ZZ9"})  # not in FISD: no size
    res = run(df, ["volume_vs_issue"], fisd=ref)
    assert survivors(res) == {1, 3, 5}
    check_audit(res, 5, [("volume_vs_issue", 2)])
    with pytest.raises(InputError, match="offering_amt"):
        run(df, ["volume_vs_issue"], fisd=ref.drop("offering_amt", "amount_outstanding"))


def test_price_range_is_inclusive():
    prices = {1: 5.0, 2: 1000.0, 3: 4.99, 4: 1000.01, 5: 100.0, 6: 0.5}
    df = msgs(*({"msg_seq_nb": m, "rptd_pr": p} for m, p in prices.items()))
    res = run(df, ["price_range"])
    assert survivors(res) == {1, 2, 5}
    check_audit(res, 6, [("price_range", 3)])


def test_min_volume():
    df = msgs({"msg_seq_nb": 1, "entrd_vol_qt": 10_000.0}, {"msg_seq_nb": 2, "entrd_vol_qt": 9_999.0},
              {"msg_seq_nb": 3, "entrd_vol_qt": 5_000_000.0})
    res = run(df, ["min_volume"])
    assert survivors(res) == {1, 3}
    check_audit(res, 3, [("min_volume", 1)])


def test_short_maturity():
    ref = fisd(good_bond(maturity=dt.date(2014, 3, 4)))
    df = msgs(
        {"msg_seq_nb": 1, "trd_exctn_dt": "2013-03-04"},  # 365 days to maturity: kept
        {"msg_seq_nb": 2, "trd_exctn_dt": "2013-03-05"},  # 364 days: dropped
        {"msg_seq_nb": 3, "trd_exctn_dt": "2012-12-03"},  # kept
        {"msg_seq_nb": 4, "trd_exctn_dt": "2014-03-10"},  # after maturity: dropped
    )
    res = run(df, ["short_maturity"], fisd=ref)
    assert survivors(res) == {1, 3}
    check_audit(res, 4, [("short_maturity", 2)])


@pytest.mark.parametrize("step", ["short_maturity", "fisd_screens"])
def test_fisd_steps_require_fisd(step):
    with pytest.raises(InputError):
        run(msgs({"msg_seq_nb": 1}), [step])


# ---------------------------------------------------------------------------------------------------------------
# Bond screens (FISD)
# ---------------------------------------------------------------------------------------------------------------

FAILING = [
    {"foreign_currency": "Y"},
    {"country_domicile": "CAN"},
    {"convertible": "Y"},
    {"asset_backed": "Y"},
    {"rule_144a": "Y"},
    {"private_placement": "Y"},
    {"bond_type": "USNT"},
    {"coupon_type": "V"},
    {"interest_frequency": -1},
    {"interest_frequency": 14},
    {"day_count_basis": None},
    {"dated_date": None},
]


def test_fisd_screens_keep_only_eligible_bonds():
    cusips = [f"{i:06d}XY{i % 10}" for i in range(len(FAILING))]
    good2 = "999999ZZ9"
    bonds = [good_bond(issue_id=i + 10, complete_cusip=c, **f) for i, (c, f) in enumerate(zip(cusips, FAILING,
                                                                                              strict=True))]
    bonds += [good_bond(), good_bond(issue_id=2, complete_cusip=good2, bond_type="CZ", coupon_type="Z",
                                     interest_frequency=0, coupon=0.0)]
    rows = [{"msg_seq_nb": 100 + i, "cusip_id": c} for i, c in enumerate(cusips)]
    rows += [{"msg_seq_nb": 1}, {"msg_seq_nb": 2, "cusip_id": good2}, {"msg_seq_nb": 3, "cusip_id": OTHER}]
    res = run(msgs(*rows), ["fisd_screens"], fisd=fisd(*bonds))
    assert survivors(res) == {1, 2}
    check_audit(res, len(rows), [("fisd_screens", len(rows) - 2)])


def test_screen_bonds_names_a_failing_screen():
    from bondpremia.trace import screen_bonds

    cusips = [f"{i:06d}XY{i % 10}" for i in range(len(FAILING))]
    bonds = [good_bond(complete_cusip=c, **f) for c, f in zip(cusips, FAILING, strict=True)] + [good_bond()]
    out = screen_bonds(fisd(*bonds))
    screen = dict(zip(out["complete_cusip"], out["screen"], strict=True))
    assert screen[CUSIP] is None
    # each FAILING bond fails exactly one screen, named here by hand in FAILING's order
    expected = ["foreign_currency", "not_us_domicile", "convertible", "asset_backed", "rule_144a",
                "private_placement", "not_corporate", "not_fixed_coupon", "unusable_frequency", "unusable_frequency",
                "no_day_count", "no_dated_date"]
    assert [screen[c] for c in cusips] == expected


# ---------------------------------------------------------------------------------------------------------------
# Parse and rejects
# ---------------------------------------------------------------------------------------------------------------

def test_parse_rejects_with_reason_and_row():
    base = {"cusip_id": CUSIP, "trd_exctn_dt": "2013-03-04", "trd_exctn_tm": "10:00:00", "trd_rpt_dt": "2013-03-04",
            "msg_seq_nb": "1", "trc_st": "T", "rptd_pr": "100.5", "entrd_vol_qt": "100000", "rpt_side_cd": "S",
            "cntra_mp_id": "C", "days_to_sttl_ct": None}
    changes: list[dict[str, Any]] = [
        {},  # 0 good
        {"cusip_id": None},  # 1
        {"trd_exctn_dt": "2012-13-45"},  # 2
        {"rptd_pr": None},  # 3
        {"rptd_pr": "abc"},  # 4
        {"rptd_pr": "0"},  # 5
        {"rptd_pr": "-1.5"},  # 6
        {"entrd_vol_qt": "0"},  # 7
        {"days_to_sttl_ct": "002"},  # 8 good: WRDS stores '002'
        {"entrd_vol_qt": "-5"},  # 9
        {"trd_rpt_dt": None},  # 10
        {"msg_seq_nb": "x1"},  # 11
        {"trc_st": None},  # 12
        {"days_to_sttl_ct": "two"},  # 13 optional column present but unparseable
        {"entrd_vol_qt": None},  # 14
    ]
    rows = [{**base, **c, "msg_seq_nb": c.get("msg_seq_nb", str(i))} for i, c in enumerate(changes)]
    raw = pl.DataFrame(rows, schema={k: pl.String for k in base})
    res = clean_trades(raw, steps=["min_volume"])
    bad = {1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14}
    assert set(res.rejects["_row"].to_list()) == bad
    assert res.rejects.height == len(bad)
    assert all(isinstance(r, str) and r for r in res.rejects["reason"].to_list())
    # rejects keep the input as given
    rej = res.rejects.sort("_row")
    assert rej.filter(pl.col("_row") == 4)["rptd_pr"].to_list() == ["abc"]
    assert rej.filter(pl.col("_row") == 2)["trd_exctn_dt"].to_list() == ["2012-13-45"]
    # survivors typed
    assert survivors(res) == {0, 8}
    assert res.trades.schema["trd_exctn_dt"] == pl.Date
    assert res.trades.schema["rptd_pr"] == pl.Float64
    assert dict(zip(res.trades["msg_seq_nb"], res.trades["days_to_sttl_ct"], strict=True)) == {0: None, 8: 2}
    # never silently dropped
    assert audit(res) == [("parse", 15, 2, 13), ("min_volume", 2, 2, 0)]
    assert res.rejects.height + res.audit["rows_out"][0] == raw.height


def test_rejects_do_not_count_in_later_steps():
    df = msgs({"msg_seq_nb": 1}, {"msg_seq_nb": 2, "rptd_pr": -3.0}, {"msg_seq_nb": 3, "cusip_id": None},
              {"msg_seq_nb": 4, "rptd_pr": 4.0})
    res = run(df, ["price_range"])
    assert survivors(res) == {1}
    assert sorted(res.rejects["_row"].to_list()) == [1, 2]
    assert audit(res) == [("parse", 4, 2, 2), ("price_range", 2, 1, 1)]


def test_typed_and_pandas_input_equal_string_input():
    df = msgs({"msg_seq_nb": 1}, {"msg_seq_nb": 1, "trc_st": "X"}, {"msg_seq_nb": 2, "trd_exctn_tm": "10:30:00"},
              {"msg_seq_nb": 3, "trc_st": "W", "orig_msg_seq_nb": 2, "trd_exctn_dt": PRE})
    typed = df.with_columns(pl.col("trd_exctn_dt", "trd_rpt_dt").str.to_date(),
                            pl.col("trd_exctn_tm").str.to_time("%H:%M:%S"))
    steps = ["dn14_cancel", "dn09_correct"]
    a, b, c = run(df, steps), run(typed, steps), run(df.to_pandas(), steps)
    assert survivors(a) == survivors(b) == survivors(c) == {2, 3}
    assert audit(a) == audit(b) == audit(c)


def test_absent_optional_columns_are_null():
    df = msgs({"msg_seq_nb": 1, "sale_cndtn_cd": None}, {"msg_seq_nb": 2}).select(
        "cusip_id", "trd_exctn_dt", "trd_exctn_tm", "trd_rpt_dt", "msg_seq_nb", "trc_st", "rptd_pr",
        "entrd_vol_qt", "rpt_side_cd", "cntra_mp_id")
    res = run(df, ["when_issued", "locked_in", "special_condition", "long_settlement", "agency"])
    assert survivors(res) == {1, 2}


# ---------------------------------------------------------------------------------------------------------------
# Presets, audit identity, order invariance
# ---------------------------------------------------------------------------------------------------------------

BBW2019 = ["parse", "dedupe", "fisd_screens", "sub_product", "dn14_cancel", "dn14_reversal", "dn09_cancel",
           "dn09_correct", "dn09_reversal", "interdealer", "when_issued", "locked_in", "special_condition",
           "special_trade", "long_settlement", "price_range", "min_volume", "volume_vs_issue", "short_maturity"]
DN2014 = ["parse", "dedupe", "dn14_cancel", "dn14_reversal", "dn09_cancel", "dn09_correct", "dn09_reversal", "agency",
          "interdealer"]

MIXED = msgs(
    # post-2012
    {"msg_seq_nb": 1}, {"msg_seq_nb": 1, "trc_st": "X"},
    {"msg_seq_nb": 2, "rptd_pr": 101.0}, {"msg_seq_nb": 2, "trc_st": "C", "rptd_pr": 101.0},
    {"msg_seq_nb": 3, "trc_st": "R", "rptd_pr": 99.0}, {"msg_seq_nb": 10, "trc_st": "Y", "orig_msg_seq_nb": 3,
                                                         "rptd_pr": 99.0},
    {"msg_seq_nb": 4, "rpt_side_cd": "B", "cntra_mp_id": "D", "trd_exctn_tm": "11:00:00"},
    {"msg_seq_nb": 5, "rpt_side_cd": "S", "cntra_mp_id": "D", "trd_exctn_tm": "11:00:00"},
    {"msg_seq_nb": 6, "wis_fl": "Y"},
    {"msg_seq_nb": 7, "lckd_in_ind": "Y"},
    {"msg_seq_nb": 8, "sale_cndtn_cd": "C"}, {"msg_seq_nb": 9, "sale_cndtn_cd": "@"},
    {"msg_seq_nb": 11, "days_to_sttl_ct": 5},
    {"msg_seq_nb": 12, "rptd_pr": 4.0},
    {"msg_seq_nb": 13, "entrd_vol_qt": 5_000.0},
    {"msg_seq_nb": 14, "rpt_side_cd": "B", "buy_cpcty_cd": "A", "cmsn_trd": "N"},
    {"msg_seq_nb": 15, "cusip_id": OTHER},
    {"msg_seq_nb": 16, "trd_exctn_dt": "2029-06-01"},
    {"msg_seq_nb": 17, "sub_prdct": "ELN"},
    {"msg_seq_nb": 18, "spcl_trd_fl": "Y"},
    {"msg_seq_nb": 19, "entrd_vol_qt": 300_000_000.0},  # above half the $500M offering
    {"msg_seq_nb": 20, "sale_cndtn2_cd": "S"},
    {"msg_seq_nb": 21, "days_to_sttl_ct": 3},
    # pre-2012
    {"msg_seq_nb": 101, "trd_exctn_dt": PRE, "trd_exctn_tm": "09:30:00"},
    {"msg_seq_nb": 102, "trd_exctn_dt": PRE, "trd_exctn_tm": "09:30:00", "trc_st": "C", "orig_msg_seq_nb": 101},
    {"msg_seq_nb": 103, "trd_exctn_dt": PRE, "trd_exctn_tm": "12:00:00"},
    {"msg_seq_nb": 104, "trd_exctn_dt": PRE, "trd_exctn_tm": "12:00:00", "trc_st": "W", "orig_msg_seq_nb": 103,
     "rptd_pr": 100.5},
    {"msg_seq_nb": 105, "trd_exctn_dt": PRE, "trd_exctn_tm": "12:00:00", "trc_st": "W", "orig_msg_seq_nb": 104,
     "rptd_pr": 100.25},
    {"msg_seq_nb": 106, "trd_exctn_dt": PRE, "trd_exctn_tm": "13:00:00"},
    {"msg_seq_nb": 107, "trd_exctn_dt": PRE, "trd_exctn_tm": "13:00:00"},
    {"msg_seq_nb": 108, "trd_exctn_dt": PRE, "trd_exctn_tm": "13:00:00", "asof_cd": "R", "trd_rpt_dt": LATER},
    {"msg_seq_nb": 109, "trd_exctn_dt": PRE, "trc_st": "W", "orig_msg_seq_nb": 999, "rptd_pr": 100.75},
    {"msg_seq_nb": 110, "trd_exctn_dt": PRE, "trd_exctn_tm": "14:00:00", "rpt_side_cd": "B", "cntra_mp_id": "D"},
    {"msg_seq_nb": 111, "trd_exctn_dt": PRE, "trd_exctn_tm": "14:00:00", "rpt_side_cd": "S", "cntra_mp_id": "D"},
)
MIXED_FISD = fisd(good_bond())  # OTHER is absent from FISD


def test_presets_exist_with_contract_order():
    # the contract lists 'parse' first; it is implicit in PRESETS and always first in the audit
    assert ["parse", *PRESETS["bbw2019"]] == BBW2019
    assert ["parse", *PRESETS["dick_nielsen_2014"]] == DN2014
    for names in PRESETS.values():
        assert set(names) <= set(STEPS)


def test_bbw2019_preset_on_mixed_set():
    res = clean_trades(MIXED, MIXED_FISD)  # default preset
    assert survivors(res) == {5, 9, 14, 105, 107, 109, 111}
    check_audit(res, MIXED.height, [
        ("dedupe", 0), ("fisd_screens", 1), ("sub_product", 1), ("dn14_cancel", 4), ("dn14_reversal", 2),
        ("dn09_cancel", 2), ("dn09_correct", 2), ("dn09_reversal", 2), ("interdealer", 2), ("when_issued", 1),
        ("locked_in", 1), ("special_condition", 2), ("special_trade", 1), ("long_settlement", 2), ("price_range", 1),
        ("min_volume", 1), ("volume_vs_issue", 1), ("short_maturity", 1)])
    assert res.trades.filter(pl.col("msg_seq_nb") == 105)["rptd_pr"].to_list() == [100.25]


def test_dick_nielsen_2014_preset_on_mixed_set():
    res = clean_trades(MIXED, preset="dick_nielsen_2014")
    assert survivors(res) == {5, 6, 7, 8, 9, 11, 12, 13, 15, 16, 17, 18, 19, 20, 21, 105, 107, 109, 111}
    check_audit(res, MIXED.height, [
        ("dedupe", 0), ("dn14_cancel", 4), ("dn14_reversal", 2), ("dn09_cancel", 2), ("dn09_correct", 2),
        ("dn09_reversal", 2), ("agency", 1), ("interdealer", 2)])


@pytest.mark.parametrize("preset, order", [("bbw2019", BBW2019), ("dick_nielsen_2014", DN2014)])
def test_audit_identity_for_every_preset(preset, order):
    # one reject row on top of the mixed set
    df = pl.concat([MIXED, msgs({"msg_seq_nb": 500, "rptd_pr": -1.0})])
    res = clean_trades(df, MIXED_FISD, preset=preset)
    a = res.audit
    assert a["step"].to_list() == order
    assert a["rows_in"][0] == df.height
    assert (a["rows_in"] == a["rows_out"] + a["rows_dropped"]).all()
    assert a["rows_in"][1:].to_list() == a["rows_out"][:-1].to_list()
    assert a["rows_out"][-1] == res.trades.height
    assert res.rejects.height + a["rows_out"][0] == df.height
    assert res.rejects["_row"].to_list() == [df.height - 1]
    assert all(isinstance(r, str) for r in a["reason"].to_list())


def test_dedupe_drops_exact_copies_and_keeps_the_first():
    """Exact duplicate messages (the same report in two overlapping WRDS file splits) are dropped once each; a
    copy that differs only in lineage (input file and row) is a duplicate too; one that differs in any TRACE
    column (here the price) is not."""
    base = msgs({"msg_seq_nb": 1}, {"msg_seq_nb": 2}, {"msg_seq_nb": 3})
    dup = pl.concat([base, base.slice(0, 2), msgs({"msg_seq_nb": 3, "rptd_pr": 101.0})])
    dup = dup.with_columns(_file=pl.Series(["a.csv"] * 3 + ["b.csv"] * 3), _row=pl.Series([0, 1, 2, 0, 1, 2]))
    res = run(dup, ["dedupe"])
    check_audit(res, 6, [("dedupe", 2)])
    assert res.trades["_file"].to_list() == ["a.csv", "a.csv", "a.csv", "b.csv"]  # the first copies are kept
    assert sorted(res.trades["rptd_pr"].to_list()) == [100.0, 100.0, 100.0, 101.0]
    # the mixed set with a message repeated: the default preset's survivors and prices are those without it
    twice = pl.concat([MIXED, MIXED.filter(pl.col("msg_seq_nb") == 105)])
    res = clean_trades(twice, MIXED_FISD)
    assert survivors(res) == {5, 9, 14, 105, 107, 109, 111} and res.trades.height == 7
    assert res.audit.filter(pl.col("step") == "dedupe")["rows_dropped"].to_list() == [1]


def test_skip_removes_step_from_audit():
    res = clean_trades(MIXED, preset="dick_nielsen_2014", skip=["interdealer"])
    assert res.audit["step"].to_list() == [s for s in DN2014 if s != "interdealer"]
    assert {4, 110} <= survivors(res)


def test_explicit_steps_run_after_parse():
    res = clean_trades(MIXED, steps=["interdealer"])
    assert res.audit["step"].to_list() == ["parse", "interdealer"]
    assert res.trades.height == MIXED.height - 2


def test_a_step_listed_twice_is_refused():
    with pytest.raises(InputError, match="'dn14_cancel' is given twice"):
        clean_trades(MIXED, steps=["dn14_cancel", "interdealer", "dn14_cancel"])


@pytest.mark.parametrize("kw", [{"steps": ["dn14_cancel", "no_such_step"]}, {"skip": ["no_such_step"]}])
def test_unknown_step_raises_input_error_naming_it(kw):
    with pytest.raises(InputError, match="no_such_step"):
        clean_trades(MIXED, MIXED_FISD, **kw)


def test_unknown_preset_raises_input_error():
    with pytest.raises(InputError, match="no_such_preset"):
        clean_trades(MIXED, MIXED_FISD, preset="no_such_preset")


def _result_key(res) -> list[tuple]:
    return sorted(res.trades.select("msg_seq_nb", "trc_st", "rptd_pr").iter_rows())


@settings(max_examples=8, deadline=None)
@given(st.permutations(list(range(MIXED.height))), st.sampled_from(sorted(set(PRESETS) - {"tidyfinance"})))
def test_input_order_invariance(perm, preset):
    """Our presets break every tie by the messages' own fields; the tidyfinance preset, like the package, breaks
    reversal ties by input order (tests/trace/test_tidyfinance_oracle.py)."""
    ref = clean_trades(MIXED, MIXED_FISD, preset=preset)
    shuffled = MIXED[perm]
    res = clean_trades(shuffled, MIXED_FISD, preset=preset)
    assert _result_key(res) == _result_key(ref)
    assert audit(res) == audit(ref)
    # _row refers to the shuffled input
    if "_row" in res.trades.columns:
        back = shuffled[res.trades["_row"].to_list()]["msg_seq_nb"].to_list()
        assert back == res.trades["msg_seq_nb"].to_list()
