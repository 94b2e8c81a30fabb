"""The simulated TRACE market: reproducible; every reporting error, quirk and filter of docs/trace.md present (in
both formats where it applies); truth trades that the cleaning contract (preset bbw2019) recovers exactly while
the references' other readings of the rules do not; an amount-outstanding history; and a monthly truth whose bond
math is checked by hand and against bondpremia.fixed_income and which the pipeline reproduces."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import polars as pl
import pytest

import bondpremia.simulate.trace.frame as simframe
from bondpremia.fixed_income import accrued_interest, coupons_paid
from bondpremia.fixed_income.calendar import bond_market_days
from bondpremia.simulate.trace import (
    AMOUNT_ACTIONS,
    AMOUNT_SCHEMA,
    FISD_FAILURES,
    MESSAGE_SCHEMA,
    MONTHLY_COLUMNS,
    NoiseRates,
    cusip_check_digits,
    oracle_accrued_interest,
    oracle_coupon_cash,
    simulate_fisd,
    simulate_trace,
    simulated_tbill,
    write_simulated_trace,
)
from bondpremia.trace import PRESETS, STEPS, clean_trades, daily_prices, monthly_returns, screen_bonds

KEYS4 = ["cusip_id", "trd_exctn_dt", "rptd_pr", "entrd_vol_qt"]
KEYS5 = ["cusip_id", "trd_exctn_dt", "trd_exctn_tm", "rptd_pr", "entrd_vol_qt"]
KEYS7 = [*KEYS5, "rpt_side_cd", "cntra_mp_id"]
KEYS6 = [k for k in KEYS7 if k != "trd_exctn_tm"]
CHANGE = dt.date(2012, 2, 6)
PRE = pl.col("trd_rpt_dt") < CHANGE
ASOF = pl.col("asof_cd").fill_null("")
PRE_REPORT = PRE & pl.col("trc_st").is_in(["T", "W"]) & ~ASOF.is_in(["R", "X", "D"])
LAG = (pl.when(pl.col("trd_exctn_dt") >= dt.date(2024, 5, 28)).then(1)
       .when(pl.col("trd_exctn_dt") >= dt.date(2017, 9, 5)).then(2).otherwise(3))
SPECIAL = ["C", "N", "R", "S", "W", "Z"]
WINDOW = (dt.date(2011, 6, 1), dt.date(2013, 5, 31))  # the default sample


@pytest.fixture(scope="module")
def sim():
    return simulate_trace()  # 200 bonds, 24 months from 2011-06: straddles 2012-02-06


@pytest.fixture(scope="module")
def cleaned(sim):
    return clean_trades(sim.messages, sim.fisd)


@pytest.fixture(scope="module")
def distinct(sim):
    """The messages without their exact duplicates (the first copy kept)."""
    return sim.messages.unique(maintain_order=True)


def _before(sim, step: str) -> pl.DataFrame:
    """The messages that reach ``step`` of preset bbw2019 (every step before it run)."""
    steps = PRESETS["bbw2019"]
    return clean_trades(sim.messages, sim.fisd, steps=steps[:steps.index(step)]).trades.drop("_row")


def _in_truth(frame: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (message rows without duplicates) with ``_truth``: whether the row is a truth trade."""
    mark = truth.with_columns(pl.lit(True).alias("_truth"))
    return frame.join(mark, on=truth.columns, how="left", nulls_equal=True, maintain_order="left").with_columns(
        pl.col("_truth").fill_null(False))


def _tradable(sim) -> pl.DataFrame:
    """CUSIPs that pass the FISD screens, with their maturity."""
    ok = screen_bonds(sim.fisd).filter(pl.col("screen").is_null())
    return ok.select(pl.col("complete_cusip").alias("cusip_id"), "maturity")


def _both(frame: pl.DataFrame, what: str) -> None:
    """At least one row reported before and one after the 2012-02-06 format change."""
    pre = frame.filter(PRE).height
    assert pre > 0 and frame.height - pre > 0, (what, pre, frame.height - pre)


def _recovered(s) -> bool:
    return clean_trades(s.messages, s.fisd).trades.drop("_row").select(s.truth_trades.columns).equals(s.truth_trades)


# --- reproducibility and the files --------------------------------------------------------------------------------

def test_same_seed_same_market_other_seed_other_market():
    a = simulate_trace(n_bonds=60, n_months=14, seed=1)
    b = simulate_trace(n_bonds=60, n_months=14, seed=1)
    c = simulate_trace(n_bonds=60, n_months=14, seed=2)
    for name in ("fisd", "messages", "truth_trades", "truth_monthly", "rates", "amount_outstanding"):
        assert getattr(a, name).equals(getattr(b, name)), name
    for name in ("fisd", "messages", "truth_trades", "truth_monthly", "amount_outstanding"):
        assert not getattr(a, name).equals(getattr(c, name)), name
    assert a.fisd.equals(simulate_fisd(60, seed=1, start="2011-06", n_months=14))


def test_written_files_are_byte_identical_and_equal_the_in_memory_market(tmp_path):
    kw = dict(n_bonds=60, n_months=14, seed=3)
    info = write_simulated_trace(tmp_path / "a", **kw)
    write_simulated_trace(tmp_path / "b", **kw)
    mem = simulate_trace(**kw)
    frames = {"trace": mem.messages, "fisd": mem.fisd, "truth_trades": mem.truth_trades,
              "truth_monthly": mem.truth_monthly, "rates": mem.rates, "fisd_amt_out": mem.amount_outstanding}
    for name, frame in frames.items():
        a, b = tmp_path / "a" / f"{name}.parquet", tmp_path / "b" / f"{name}.parquet"
        assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest(), name
        assert pl.read_parquet(a).equals(frame), name
    assert info["messages"] == mem.messages.height and info["truth_trades"] == mem.truth_trades.height


def test_message_columns_and_types(sim):
    assert sim.messages.schema == pl.Schema(MESSAGE_SCHEMA)
    assert sim.truth_trades.schema == pl.Schema(MESSAGE_SCHEMA)
    assert sim.truth_monthly.columns == list(MONTHLY_COLUMNS)
    assert sim.amount_outstanding.schema == pl.Schema(AMOUNT_SCHEMA)
    assert {"stlmnt_dt", "spcl_trd_fl", "sale_cndtn2_cd", "sub_prdct"} <= set(MESSAGE_SCHEMA)


# --- FISD and the amount outstanding ----------------------------------------------------------------------------

def test_cusip_check_digits_of_known_cusips():
    # Apple 037833100, Microsoft 594918104, IBM 459200101, Goldman Sachs 38141G104
    assert cusip_check_digits(["03783310", "59491810", "45920010", "38141G10"]).tolist() == ["0", "4", "1", "4"]


def test_fisd_reference_rows(sim):
    f = simulate_fisd(400, seed=0, start="2010-01", n_months=60)
    assert f["complete_cusip"].n_unique() == f.height
    assert (f["complete_cusip"].str.len_chars() == 9).all()
    check = pl.Series(cusip_check_digits(f["complete_cusip"].str.slice(0, 8)))
    assert (f["complete_cusip"].str.slice(8) == check).all()
    # every screen is failed by some bond, each failing bond by exactly one screen
    screens = screen_bonds(f)["screen"]
    assert set(screens.drop_nulls().unique()) == {"foreign_currency", "not_us_domicile", "convertible",
                                                  "asset_backed", "rule_144a", "private_placement", "not_corporate",
                                                  "not_fixed_coupon", "unusable_frequency", "no_day_count",
                                                  "no_dated_date"}
    assert 0.06 < screens.is_not_null().mean() < 0.10 and len(FISD_FAILURES) == 12
    assert set(f["interest_frequency"].unique()) >= {0, 1, 2, 4, 12, 13, -1}
    ok = f.filter(screens.is_null())
    zero = ok.filter(pl.col("coupon_type") == "Z")
    assert zero.height and (zero["coupon"] == 0).all() and (zero["interest_frequency"] == 0).all()
    assert set(ok["day_count_basis"].unique()) == {"30/360", "ACT/ACT"}
    assert (ok["maturity"].dt.day() <= 28).all()
    assert not ((ok["maturity"].dt.month() == 2) & (ok["maturity"].dt.day() == 28)).any()
    coupon = ok.filter(pl.col("interest_frequency") > 0)
    on_grid = coupon["dated_date"] == coupon.select(
        pl.col("first_interest_date").dt.offset_by(pl.format("-{}mo", 12 // pl.col("interest_frequency"))))[
        "first_interest_date"]
    assert 0.8 < on_grid.mean() < 0.97  # about 10% short first coupons
    # first coupon dates on the schedule generated backward from maturity
    months = (coupon["maturity"].dt.year() - coupon["first_interest_date"].dt.year()) * 12 + (
        coupon["maturity"].dt.month() - coupon["first_interest_date"].dt.month())
    assert ((months % (12 // coupon["interest_frequency"])) == 0).all()
    assert (coupon["first_interest_date"].dt.day() == coupon["maturity"].dt.day()).all()
    window = (dt.date(2010, 1, 1), dt.date(2014, 12, 31))
    assert ok["maturity"].is_between(*window).sum() > 10 and ok["offering_date"].is_between(*window).sum() > 10
    years = (ok["maturity"] - ok["dated_date"]).dt.total_days() / 365.25
    assert years.is_between(1.5, 30.01).all()  # 2 to 30 years, less a short first coupon
    assert sim.fisd["rating_num"].is_between(1, 22).all()


def test_amount_outstanding_history(sim):
    h, f = sim.amount_outstanding, sim.fisd
    assert set(h["action_type"].unique()) == set(AMOUNT_ACTIONS)
    assert (h["action_amount"] > 0).all() and (h["amount_outstanding"] >= 0).all()
    assert h.join(f, on=["issue_id", "complete_cusip"], how="anti").height == 0  # the FISD bonds' ids
    # each row moves the amount from the previous row's (the offering amount first) by its action amount: calls
    # and tenders down, reopenings up, the maturity to 0; dates strictly increase within a bond
    chain = h.join(f.select("complete_cusip", "offering_amt", "maturity"), on="complete_cusip").sort(
        "complete_cusip", "effective_date").with_columns(
        before=pl.col("amount_outstanding").shift(1).over("complete_cusip"),
        gap=pl.col("effective_date").diff().over("complete_cusip").dt.total_days())
    chain = chain.with_columns(pl.col("before").fill_null(pl.col("offering_amt")))
    sign = pl.when(pl.col("action_type") == "REOPEN").then(1.0).otherwise(-1.0)
    moved = pl.col("before") + sign * pl.col("action_amount")
    assert chain.select((pl.col("amount_outstanding") == moved).all()).item()
    assert (chain["gap"].drop_nulls() > 0).all()
    # a MATURE row, at maturity and to 0, for exactly the bonds that mature inside the window, as their last row
    mature = chain.filter(pl.col("action_type") == "MATURE")
    assert (mature["effective_date"] == mature["maturity"]).all() and (mature["amount_outstanding"] == 0).all()
    assert set(mature["complete_cusip"]) == set(f.filter(pl.col("maturity") <= WINDOW[1])["complete_cusip"])
    assert chain.group_by("complete_cusip").agg(pl.col("action_type").last()).filter(
        pl.col("complete_cusip").is_in(mature["complete_cusip"].implode()))["action_type"].eq("MATURE").all()
    # 15-20% of the bonds with 1-3 calls, tenders or reopenings, some before the window, some inside
    acts = chain.filter(pl.col("action_type") != "MATURE")
    per_bond = acts.group_by("complete_cusip").len()["len"]
    assert 0.13 < per_bond.len() / f.height < 0.24 and per_bond.is_between(1, 3).all() and per_bond.max() > 1
    assert acts.filter(pl.col("effective_date") < WINDOW[0]).height > 3
    assert acts.filter(pl.col("effective_date").is_between(*WINDOW)).height > 3
    assert (acts["effective_date"] > acts.join(f, on="complete_cusip")["offering_date"]).all()
    # FISD's static amount is the one after the bond's last action (a snapshot at the end), else the offering amount
    last = chain.group_by("complete_cusip").agg(pl.col("amount_outstanding").last().alias("_last"))
    j = f.join(last, on="complete_cusip", how="left")
    assert j.select((pl.col("amount_outstanding") == pl.coalesce("_last", "offering_amt")).all()).item()
    assert (j["amount_outstanding"] != j["offering_amt"]).sum() > 0.15 * f.height


# --- message numbers -------------------------------------------------------------------------------------------------

def test_message_numbers_restart_every_report_date(sim, distinct):
    m = distinct.filter(pl.col("cusip_id").is_not_null())
    reuse = ~PRE & pl.col("trc_st").is_in(["X", "C"])  # post-2012 cancellations carry the cancelled number
    own = m.filter(~reuse)
    assert own.select("cusip_id", "trd_rpt_dt", "msg_seq_nb").is_unique().all()
    assert not own.select("cusip_id", "msg_seq_nb").is_unique().all()
    # increasing in report order within a CUSIP and report date
    ordered = own.sort("cusip_id", "trd_rpt_dt", "msg_seq_nb").with_columns(
        pl.col("trd_rpt_tm").diff().over("cusip_id", "trd_rpt_dt").alias("step"))
    assert (ordered["step"].drop_nulls() >= dt.timedelta(0)).all()
    # small numbers, recurring on many report dates of one CUSIP
    assert own["msg_seq_nb"].max() < 1000
    recurring = own.group_by("cusip_id", "msg_seq_nb").agg(pl.col("trd_rpt_dt").n_unique().alias("dates"))
    assert (recurring["dates"] > 1).mean() > 0.5
    assert m.filter(reuse).join(own, on=["cusip_id", "msg_seq_nb"], how="anti").height == 0
    # execution times distinct within a CUSIP and day, except deliberate collisions (events and their copies)
    genuine = sim.truth_trades.group_by("cusip_id", "trd_exctn_dt", "trd_exctn_tm").len()
    assert genuine.filter(pl.col("len") > 1).height < 0.01 * genuine.height


def test_pre2012_cancellations_and_corrections_are_same_day_and_their_numbers_recur(sim, distinct):
    m, truth = distinct, sim.truth_trades
    reports = m.filter(PRE & pl.col("trc_st").is_in(["T", "W"]))
    # C: the report with msg_seq_nb = orig_msg_seq_nb, the same 5 keys and the same report date, exactly one
    c09 = m.filter(PRE & (pl.col("trc_st") == "C"))
    keys = [*KEYS5, "trd_rpt_dt"]
    assert c09.height > 10 and c09["orig_msg_seq_nb"].is_not_null().all()
    assert c09.join(reports, left_on=[*keys, "orig_msg_seq_nb"], right_on=[*keys, "msg_seq_nb"]).height == c09.height
    # W: its original on the same report date (none absent), W -> W chains, chains sharing one timestamp
    w = m.filter(PRE & (pl.col("trc_st") == "W"))
    on_day = ["cusip_id", "trd_rpt_dt"]
    assert w.height > 50
    assert w.join(reports, left_on=[*on_day, "orig_msg_seq_nb"], right_on=[*on_day, "msg_seq_nb"]).height == w.height
    assert w.join(w, left_on=[*on_day, "orig_msg_seq_nb"], right_on=[*on_day, "msg_seq_nb"]).height > 5
    final_w = w.join(w, left_on=[*on_day, "msg_seq_nb"], right_on=[*on_day, "orig_msg_seq_nb"], how="anti")
    assert final_w.join(truth, on=final_w.columns, nulls_equal=True).height > 0.8 * final_w.height
    assert final_w.group_by("cusip_id", "trd_exctn_dt", "trd_exctn_tm").len().filter(pl.col("len") >= 2).height > 3
    # another message of the same CUSIP on another report date carries the original's number: a rule matching
    # numbers across report dates deletes it (among them truth trades, some executed the same day)
    others = m.select("cusip_id", pl.col("msg_seq_nb").alias("orig_msg_seq_nb"), pl.col("trd_rpt_dt").alias("_day"),
                      pl.col("trd_exctn_dt").alias("_exctn"))
    for frame, what in ((c09, "C"), (w, "W")):
        hit = frame.join(others, on=["cusip_id", "orig_msg_seq_nb"]).filter(pl.col("_day") != pl.col("trd_rpt_dt"))
        assert hit.select(frame.columns).unique().height > 0.5 * frame.height, what
    victims = truth.join(w.select("cusip_id", "trd_exctn_dt", pl.col("orig_msg_seq_nb").alias("msg_seq_nb"),
                                  pl.col("trd_rpt_dt").alias("_day")), on=["cusip_id", "trd_exctn_dt", "msg_seq_nb"])
    assert victims.filter(pl.col("_day") != pl.col("trd_rpt_dt")).height > 5


# --- the messages: every noise type, both formats --------------------------------------------------------------------

def test_pre2012_reversals_twins_and_later_day_corrections(sim, distinct):
    m, truth = distinct, sim.truth_trades
    r09 = m.filter(PRE & (ASOF == "R"))
    assert r09.height > 20 and (r09["trd_rpt_dt"] > r09["trd_exctn_dt"]).all()
    # about half of the reversals carry another execution time than the report they reverse
    same_time = r09.join(m.filter(PRE_REPORT), on=KEYS7, how="semi").height / r09.height
    assert 0.3 < same_time < 0.7
    # at the reversal step, the k reversals of a 6-key group delete its first k reports, none of them truth
    before = _before(sim, "dn09_reversal")
    rev = before.filter(PRE & (ASOF == "R")).group_by(KEYS6).len("k")
    groups = (_in_truth(before.filter(PRE_REPORT), truth).join(rev, on=KEYS6)
              .sort("trd_exctn_tm", "trd_rpt_dt", "trd_rpt_tm", "msg_seq_nb")
              .group_by(KEYS6, maintain_order=True).agg("_truth", pl.col("trd_exctn_tm"), pl.col("k").first()))
    assert groups.height == rev.height  # every reversal finds its report
    heads = groups.select(pl.col("_truth").list.head(pl.col("k")).list.any().alias("bad"),
                          (pl.col("_truth").list.len() - pl.col("k")).alias("left"))
    assert not heads["bad"].any() and (heads["left"] >= 0).all()
    # twins: a genuine trade after the reversed report in the step's order, at the same time or later
    twins = groups.filter(pl.col("_truth").list.len() == 2)
    assert twins.height > 5 and twins["_truth"].list.get(1).all()
    same = twins.select(pl.col("trd_exctn_tm").list.get(0) == pl.col("trd_exctn_tm").list.get(1))["trd_exctn_tm"]
    assert 0 < same.sum() < twins.height
    # later-day corrections: an R of a wrong report and, on the R's report date, the true report with asof A
    fixes = r09.join(truth.filter(ASOF == "A"), on=["cusip_id", "trd_exctn_dt", "trd_rpt_dt", "rpt_side_cd",
                                                     "cntra_mp_id"], suffix="_new")
    assert fixes.filter((pl.col("rptd_pr") != pl.col("rptd_pr_new"))
                        | (pl.col("entrd_vol_qt") != pl.col("entrd_vol_qt_new"))).height > 10
    # asof X and D: copies of genuine trades' 7 keys on a later pre-2012 report date
    xd = m.filter(ASOF.is_in(["X", "D"]))
    assert set(xd["asof_cd"].unique()) == {"X", "D"} and xd.filter(~PRE).height == 0
    assert (xd["trd_rpt_dt"] > xd["trd_exctn_dt"]).all()
    assert xd.join(truth, on=KEYS7, how="semi").height > 0.5 * xd.height


def test_post2012_and_cross_format_cancellations_and_reversals(sim, distinct):
    m, truth = distinct, sim.truth_trades
    reports = m.filter(pl.when(PRE).then(pl.col("trc_st").is_in(["T", "W"])).otherwise(pl.col("trc_st") == "T"))
    # X or C with the same msg_seq_nb and 7 keys as exactly one report
    c14 = m.filter(~PRE & pl.col("trc_st").is_in(["X", "C"]))
    assert set(c14["trc_st"].unique()) == {"X", "C"}
    hit = c14.join(reports, on=[*KEYS7, "msg_seq_nb"], suffix="_r")
    assert hit.height == c14.height
    # Y -> the report with msg_seq_nb = orig_msg_seq_nb and the same 7 keys
    y = m.filter(~PRE & (pl.col("trc_st") == "Y"))
    hit_y = y.join(reports, left_on=[*KEYS7, "orig_msg_seq_nb"], right_on=[*KEYS7, "msg_seq_nb"], suffix="_r")
    assert y.height > 10 and hit_y.height == y.height
    # cross-format: pre-2012 reports of the last days before the change, cancelled or reversed after it
    for frame, what in ((hit, "X/C"), (hit_y, "Y")):
        cross = frame.filter(pl.col("trd_rpt_dt_r") < CHANGE)
        assert cross.height > 0 and (cross["trd_rpt_dt_r"] >= dt.date(2012, 1, 27)).all(), what
    # post-2012 correction: wrong T, X with its number and keys, new T (in the truth) at the same execution time
    x = m.filter(~PRE & (pl.col("trc_st") == "X"))
    corrected = x.join(truth.filter(pl.col("trc_st") == "T"), on=["cusip_id", "trd_exctn_dt", "trd_exctn_tm"],
                       suffix="_new")
    assert corrected.height > 20


def test_interdealer_pairs_buy_only_trades_agency_and_late_reports(sim):
    m, truth = sim.messages, sim.truth_trades
    dealer = pl.col("cntra_mp_id") == "D"
    sells = truth.filter(dealer & (pl.col("rpt_side_cd") == "S"))
    buys = m.filter(dealer & (pl.col("rpt_side_cd") == "B"))
    _both(buys.join(sells.select(KEYS4), on=KEYS4, how="semi"), "interdealer double counts")
    _both(truth.filter(dealer & (pl.col("rpt_side_cd") == "B")), "buy-side reports without a sell side (kept)")
    _both(truth.filter((pl.col("cntra_mp_id") == "C") & (pl.col("cmsn_trd") == "N") & (
        pl.when(pl.col("rpt_side_cd") == "B").then(pl.col("buy_cpcty_cd")).otherwise(pl.col("sell_cpcty_cd"))
        == "A")), "agency trades without commission (kept by bbw2019)")
    _both(truth.filter(ASOF == "A"), "late reports")
    # at the interdealer step: 4-key groups are single reports, pairs (a buy and a sell, the buy often at another
    # time), or a pair and a buy-only trade executed after it (the pair's buy first, deleted; the other kept)
    before = _in_truth(_before(sim, "interdealer").filter(dealer), truth).sort("trd_exctn_tm", "msg_seq_nb")
    groups = before.group_by(KEYS4, maintain_order=True).agg(
        "rpt_side_cd", "_truth", "trd_exctn_tm", pl.col("trd_rpt_dt").first())
    shape = groups["rpt_side_cd"].list.sort().list.join("")
    assert set(shape.unique()) == {"B", "S", "BS", "BBS"}
    pairs = groups.filter(shape == "BS")
    gap = pairs.select((pl.col("trd_exctn_tm").list.get(1) - pl.col("trd_exctn_tm").list.get(0)).abs())
    gap = gap.to_series()
    assert 0.35 < (gap > dt.timedelta(0)).mean() < 0.65 and gap.max() <= dt.timedelta(minutes=10)
    _both(pairs.filter(gap > dt.timedelta(0)), "interdealer pairs whose buy report has another time")
    triples = groups.filter(shape == "BBS")
    _both(triples, "buy-only trades sharing a pair's 4 keys")
    buys = before.filter(pl.col("rpt_side_cd") == "B").join(triples.select(KEYS4), on=KEYS4).group_by(
        KEYS4, maintain_order=True).agg("_truth")["_truth"]
    assert not buys.list.get(0).any() and buys.list.get(1).sum() > 0.5 * buys.len()


def test_filtered_trades_in_both_formats_and_regular_values_kept(sim):
    m, truth = sim.messages, sim.truth_trades
    _both(m.filter(pl.col("wis_fl") == "Y"), "when-issued")
    _both(m.filter(pl.col("lckd_in_ind") == "Y"), "locked-in")
    special1 = pl.col("sale_cndtn_cd").is_in(SPECIAL).fill_null(False)
    special2 = pl.col("sale_cndtn2_cd").is_in(SPECIAL).fill_null(False)
    _both(m.filter(special1 & ~special2), "special condition in the first code")
    _both(m.filter(~special1 & special2), "special condition in the second code only")
    _both(m.filter(special1 & special2), "special conditions in both codes")
    assert m.filter(special1)["sale_cndtn_cd"].n_unique() >= 5
    assert set(m["sale_cndtn2_cd"].drop_nulls().unique()) <= {"@", *SPECIAL}
    _both(m.filter(pl.col("spcl_trd_fl") == "Y"), "special trades")
    assert set(m["spcl_trd_fl"].drop_nulls().unique()) == {"Y"}
    long = m.filter(pl.col("days_to_sttl_ct") > 2)
    _both(long, "more than two days to settlement")
    _both(long.filter(pl.col("days_to_sttl_ct") == 3), "the regular T+3 of 2002-2017")
    assert long["days_to_sttl_ct"].max() <= 7 and (long["days_to_sttl_ct"] == 3).mean() > 0.4
    _both(m.filter(pl.col("entrd_vol_qt").is_between(1, 9_999)), "tiny trades")
    _both(m.filter((pl.col("rptd_pr") > 1000) | (pl.col("rptd_pr") < 5)), "bad prints")
    assert m.filter(pl.col("rptd_pr") > 1000).height and m.filter(pl.col("rptd_pr") < 5).height
    offering = sim.fisd.select(pl.col("complete_cusip").alias("cusip_id"), "offering_amt")
    typos = m.join(offering, on="cusip_id").filter(pl.col("entrd_vol_qt") > 0.5 * pl.col("offering_amt") * 1000)
    _both(typos, "volumes above half the offering amount")
    assert (typos["cntra_mp_id"] == "C").all() and truth.join(typos, on=KEYS7, how="semi").height == 0
    # equity-linked notes: every message of some bonds that pass every FISD screen
    eln = m.filter(pl.col("sub_prdct") == "ELN")["cusip_id"].unique()
    assert eln.len() >= 1 and set(m["sub_prdct"].unique()) == {"CORP", "ELN"}
    assert m.filter(pl.col("cusip_id").is_in(eln.implode()))["sub_prdct"].eq("ELN").all()
    _both(m.filter(pl.col("sub_prdct") == "ELN"), "equity-linked notes")
    assert eln.is_in(_tradable(sim)["cusip_id"].implode()).all()
    assert truth["cusip_id"].is_in(eln.implode()).sum() == 0
    # regular values that must survive
    assert truth["sale_cndtn_cd"].null_count() > 0.8 * truth.height
    _both(truth.filter(pl.col("sale_cndtn_cd") == "@"), "sale condition @")
    _both(truth.filter(pl.col("sale_cndtn2_cd") == "@"), "second sale condition @")
    assert truth.filter(special1 | special2 | (pl.col("spcl_trd_fl") == "Y")).height == 0
    for days in (0, 1, 2):
        _both(truth.filter(pl.col("days_to_sttl_ct") == days), f"settlement in {days} days")
    assert truth["days_to_sttl_ct"].null_count() > 0.5 * truth.height and truth["days_to_sttl_ct"].max() == 2
    _both(truth.filter(pl.col("entrd_vol_qt") == 10_000), "volume exactly $10,000")
    assert truth["rptd_pr"].is_between(5, 1000).all() and truth["wis_fl"].eq("N").all()
    # bond-level exclusions: less than a year to maturity, failed screens, CUSIPs missing from FISD
    f = screen_bonds(sim.fisd)
    mat = f.select(pl.col("complete_cusip").alias("cusip_id"), "maturity", "screen")
    joined = m.join(mat, on="cusip_id", how="left")
    short = joined.filter(pl.col("screen").is_null() & ((pl.col("maturity") - pl.col("trd_exctn_dt"))
                                                        .dt.total_days() < 365))
    assert short.height > 100 and short.join(truth, on=KEYS7, how="semi").height == 0
    assert joined.filter(pl.col("screen").is_not_null())["screen"].n_unique() == 11
    absent = joined.filter(pl.col("maturity").is_null() & pl.col("cusip_id").is_not_null())
    assert absent["cusip_id"].n_unique() >= 4 and absent["cusip_id"].str.starts_with("9").all()


def test_exact_duplicates(sim, distinct):
    m = sim.messages
    copies = m.height - distinct.height
    assert 0.001 * m.height < copies < 0.006 * m.height
    dup = m.filter(m.is_duplicated())
    _both(dup, "exact duplicates")
    assert dup.select("trc_st", "asof_cd").n_unique() >= 4  # copies of every kind of message
    assert sim.truth_trades.join(dup, on=sim.truth_trades.columns, how="semi", nulls_equal=True).height > 10
    assert sim.truth_trades.is_unique().all()


def test_settlement_dates_and_lag_changes():
    for start, before, after in (("2017-08", 3, 2), ("2024-04", 2, 1)):
        s = simulate_trace(n_bonds=80, n_months=3, seed=5, start=start)
        m = s.messages.filter(pl.col("trd_exctn_dt").is_not_null())
        assert set(s.truth_trades["days_to_sttl_ct"].drop_nulls().unique()) == {0, 1, 2}
        assert m.filter(pl.col("days_to_sttl_ct") > 2)["days_to_sttl_ct"].is_between(3, 7).all()
        # stlmnt_dt: the execution date plus the days to settlement (the regular lag when NULL) in SIFMA days
        days = pl.Series(bond_market_days(f"{start}-01", "2025-01-31")).cast(pl.Date)
        index = pl.DataFrame({"d": days, "i": pl.int_range(days.len(), eager=True)})
        shifted = m.join(index, left_on="trd_exctn_dt", right_on="d").with_columns(
            (pl.col("i") + pl.col("days_to_sttl_ct").fill_null(LAG)).alias("j")).join(
            index, left_on="j", right_on="i", suffix="_s")
        assert shifted.height == m.height and (shifted["stlmnt_dt"] == shifted["d"]).all()
        regular = m.filter(pl.col("days_to_sttl_ct").is_null()).with_columns(LAG.alias("lag"))
        assert set(regular["lag"].unique()) == {before, after}
        assert _recovered(s)


def test_rejects(cleaned):
    reasons = set(cleaned.rejects["reason"].unique())
    assert reasons == {"rptd_pr: missing value", "cusip_id: missing value", "trd_exctn_dt: missing value",
                       "entrd_vol_qt: volume is not positive"}


# --- truth trades ----------------------------------------------------------------------------------------------------

def test_truth_trades_are_message_rows_and_the_contract_recovers_them(sim, cleaned):
    truth = sim.truth_trades
    assert truth.join(sim.messages, on=truth.columns, how="semi", nulls_equal=True).height == truth.height
    assert truth.select(KEYS7).is_unique().all()
    got = cleaned.trades.drop("_row").select(truth.columns)
    assert got.equals(truth)


@pytest.mark.parametrize("step", [s for s in PRESETS["bbw2019"] if s != "parse"])
def test_every_bbw2019_step_has_work_to_do(sim, step):
    """Skipping any step of the default preset keeps rows the truth excludes: each noise type is effective."""
    assert clean_trades(sim.messages, sim.fisd).trades.height == sim.truth_trades.height
    assert clean_trades(sim.messages, sim.fisd, skip=[step]).trades.height > sim.truth_trades.height


@pytest.mark.parametrize(("step", "other"), [
    ("dn09_correct", "dn09_correct_exctn"),  # numbers recur within an execution date across report dates
    ("dn09_reversal", "dn09_reversal_7keys"),  # reversals at another execution time
    ("interdealer", "interdealer_any"),  # buy-only trades sharing a pair's 4 keys
    ("long_settlement", "long_settlement_lag"),  # T+3 trades of 2002-2017
])
def test_the_references_other_readings_do_not_recover_the_truth(sim, step, other):
    assert other in STEPS
    steps = [other if s == step else s for s in PRESETS["bbw2019"]]
    got = clean_trades(sim.messages, sim.fisd, steps=steps).trades.drop("_row").select(sim.truth_trades.columns)
    assert not got.equals(sim.truth_trades)


def test_accidental_key_collisions_are_separated(monkeypatch):
    """In a dense market trades collide by accident on the keys of the reversal, interdealer and post-2012
    cancellation steps; the simulator moves their volumes so that the truth stays exact."""
    kw = dict(n_bonds=3, n_months=6, seed=0, start="2011-11", trades_per_bond_month=6000)
    assert _recovered(simulate_trace(**kw))
    monkeypatch.setattr(simframe, "_separate_keys", lambda c, *args: c["vol"].astype(np.float64))
    assert not _recovered(simulate_trace(**kw))


def test_noise_rates_are_configurable():
    quiet = NoiseRates(**{k: 0.0 for k in ("cancel", "correct", "shared_timestamp", "reverse", "reverse_twin",
                                           "asof_xd", "cross_format", "duplicate", "when_issued", "locked_in",
                                           "special_condition", "special_trade", "long_settlement", "tiny",
                                           "bad_print", "volume_typo", "reject", "fisd_fail", "absent", "eln",
                                           "interdealer")})
    s = simulate_trace(n_bonds=30, n_months=14, seed=0, noise=quiet)
    assert set(s.messages["trc_st"].unique()) == {"T"} and set(s.messages["sub_prdct"].unique()) == {"CORP"}
    assert s.messages.is_unique().all() and set(s.messages["asof_cd"].unique()) <= {None, "A"}
    eligible = s.messages.join(s.fisd.select(pl.col("complete_cusip").alias("cusip_id"), "maturity"), on="cusip_id")
    assert eligible.filter((pl.col("maturity") - pl.col("trd_exctn_dt")).dt.total_days() >= 365).height == \
        s.truth_trades.height


# --- accrued interest and coupons: hand-computed examples ------------------------------------------------------------

HAND_FISD = pl.DataFrame({
    "complete_cusip": ["THIRTY360", "STUB30360", "STUB30DAY", "ACTACT000", "STUBACTAC", "ZEROCOUPN"],
    "maturity": [dt.date(2030, 3, 15), dt.date(2030, 3, 15), dt.date(2030, 3, 15), dt.date(2031, 7, 10),
                 dt.date(2032, 6, 15), dt.date(2030, 5, 1)],
    "dated_date": [dt.date(2020, 3, 15), dt.date(2020, 1, 31), dt.date(2020, 1, 30), dt.date(2021, 1, 10),
                   dt.date(2022, 2, 1), dt.date(2020, 5, 1)],
    "first_interest_date": [dt.date(2020, 9, 15), dt.date(2020, 3, 15), dt.date(2020, 3, 15), dt.date(2021, 7, 10),
                            dt.date(2022, 6, 15), None],
    "interest_frequency": [2, 2, 2, 2, 2, 0],
    "coupon": [5.0, 5.0, 5.0, 6.0, 4.0, 0.0],
    "day_count_basis": ["30/360", "30/360", "30/360", "ACT/ACT", "ACT/ACT", "30/360"],
})

HAND_ACCRUED = [
    # 30/360, 5% semiannual, previous coupon 2021-03-15: D360 = 30 * (5 - 3) + (31 - 15) = 76 (D1 = 15, so D2 = 31
    # stays); AI = 5 * 76 / 360
    ("THIRTY360", dt.date(2021, 5, 31), 5 * 76 / 360),
    # on a coupon date nothing has accrued
    ("THIRTY360", dt.date(2021, 3, 15), 0.0),
    # the day before a coupon: D360 = 30 * 6 + (14 - 15) = 179
    ("THIRTY360", dt.date(2021, 9, 14), 5 * 179 / 360),
    # short first coupon from the dated date 2020-01-31: D1 = 31 -> 30; to 2020-03-02: 30 * 2 + (2 - 30) = 32
    ("STUB30360", dt.date(2020, 3, 2), 5 * 32 / 360),
    # dated 2020-01-30 to 2020-01-31: D1 = 30, so D2 = 31 -> 30: no day accrues
    ("STUB30DAY", dt.date(2020, 1, 31), 0.0),
    # ACT/ACT, 6% semiannual: 2021-01-10 to 2021-04-20 is 100 days of the 181-day period to 2021-07-10
    ("ACTACT000", dt.date(2021, 4, 20), 3 * 100 / 181),
    # ACT/ACT short first coupon: dated 2022-02-01, first coupon 2022-06-15, quasi period 2021-12-15 to 2022-06-15
    # (182 days); to 2022-03-01 is 28 days: AI = 2 * 28 / 182
    ("STUBACTAC", dt.date(2022, 3, 1), 2 * 28 / 182),
    ("ZEROCOUPN", dt.date(2024, 7, 9), 0.0),
]

HAND_COUPONS = [
    # the 30/360 short first coupon: D360(2020-01-31, 2020-03-15) = 30 * 2 + (15 - 30) = 45: 5 * 45 / 360 = 0.625
    ("STUB30360", dt.date(2020, 3, 1), dt.date(2020, 3, 31), 0.625),
    ("STUB30360", dt.date(2020, 9, 1), dt.date(2020, 9, 30), 2.5),
    # the ACT/ACT short first coupon: 134 days (2022-02-01 to 2022-06-15) of the 182-day quasi period: 2 * 134 / 182
    ("STUBACTAC", dt.date(2022, 6, 1), dt.date(2022, 6, 30), 2 * 134 / 182),
    ("STUBACTAC", dt.date(2022, 6, 15), dt.date(2022, 12, 15), 2.0),  # (d0, d1]: the June coupon is not in it
    ("THIRTY360", dt.date(2021, 3, 1), dt.date(2021, 10, 1), 5.0),  # two regular coupons
    ("THIRTY360", dt.date(2029, 12, 1), dt.date(2030, 6, 1), 2.5),  # the last coupon, at maturity, counts
    ("ZEROCOUPN", dt.date(2021, 1, 1), dt.date(2030, 6, 1), 0.0),
]


def _fixed_income_terms(fisd: pl.DataFrame, cusips: list[str]) -> dict:
    rows = pl.DataFrame({"complete_cusip": cusips}).join(fisd, on="complete_cusip", how="left", maintain_order="left")
    day = lambda c: rows[c].to_numpy().astype("datetime64[D]")  # noqa: E731
    return dict(maturity=day("maturity"), coupon=rows["coupon"].to_numpy() / 100,
                freq=rows["interest_frequency"].to_numpy(), daycount=rows["day_count_basis"].to_numpy(),
                dated=day("dated_date"), first_coupon=day("first_interest_date"))


def test_hand_computed_accrued_interest():
    cusips, dates, want = (list(x) for x in zip(*HAND_ACCRUED, strict=True))
    got = oracle_accrued_interest(HAND_FISD, cusips, np.array(dates, dtype="datetime64[D]"))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-13)
    fi = accrued_interest(np.array(dates, dtype="datetime64[D]"), **_fixed_income_terms(HAND_FISD, cusips))
    np.testing.assert_allclose(fi, want, rtol=0, atol=1e-13)


def test_hand_computed_coupon_cash():
    cusips, d0, d1, want = (list(x) for x in zip(*HAND_COUPONS, strict=True))
    start, end = np.array(d0, dtype="datetime64[D]"), np.array(d1, dtype="datetime64[D]")
    np.testing.assert_allclose(oracle_coupon_cash(HAND_FISD, cusips, start, end), want, rtol=0, atol=1e-13)
    fi = coupons_paid(start, end, **_fixed_income_terms(HAND_FISD, cusips))
    np.testing.assert_allclose(fi, want, rtol=0, atol=1e-13)


# --- monthly truth ---------------------------------------------------------------------------------------------------

def _hand_accrued_30360_semiannual(maturity: dt.date, coupon_pct: float, d: dt.date) -> float:
    """Previous coupon by stepping back 6 months from maturity; 30/360 days by the textbook rule."""
    y, mo = maturity.year, maturity.month
    prev = maturity
    while prev > d:
        mo -= 6
        if mo < 1:
            y, mo = y - 1, mo + 12
        prev = dt.date(y, mo, maturity.day)
    d1 = min(prev.day, 30)
    d2 = 30 if d.day == 31 and d1 >= 30 else d.day
    days = 360 * (d.year - prev.year) + 30 * (d.month - prev.month) + (d2 - d1)
    return coupon_pct * days / 360


def _month_end_price(trades: pl.DataFrame, month_end: dt.date) -> tuple[dt.date, float]:
    last5 = bond_market_days(month_end.replace(day=1), month_end)[-5:].astype(dt.date)
    days = trades.filter(pl.col("trd_exctn_dt").is_in(list(last5)))
    day = days["trd_exctn_dt"].max()
    on = days.filter(pl.col("trd_exctn_dt") == day)
    return day, float((on["rptd_pr"] * on["entrd_vol_qt"]).sum() / on["entrd_vol_qt"].sum())


def test_one_monthly_return_recomputed_by_hand(sim):
    regular = sim.fisd.filter((pl.col("day_count_basis") == "30/360") & (pl.col("interest_frequency") == 2)
                              & (pl.col("coupon_type") == "F")
                              & (pl.col("first_interest_date").dt.offset_by("-6mo") == pl.col("dated_date")))
    rows = sim.truth_monthly.join(regular.select(pl.col("complete_cusip").alias("cusip_id"), "coupon"),
                                  on="cusip_id").filter((pl.col("ret_type") == "end") & (pl.col("coupon_cash") > 0))
    row = rows.row(0, named=True)
    bond = sim.fisd.filter(pl.col("complete_cusip") == row["cusip_id"]).row(0, named=True)
    trades = sim.truth_trades.filter(pl.col("cusip_id") == row["cusip_id"])
    d1, p1 = _month_end_price(trades, row["date"])
    d0, p0 = _month_end_price(trades, row["date"].replace(day=1) - dt.timedelta(days=1))
    ai1 = _hand_accrued_30360_semiannual(bond["maturity"], bond["coupon"], d1)
    ai0 = _hand_accrued_30360_semiannual(bond["maturity"], bond["coupon"], d0)
    coupon = bond["coupon"] / 2  # one coupon date (maturity's day, 6-month steps) falls in (d0, d1]
    assert (d1, p1, ai1, coupon) == pytest.approx((row["price_date"], row["price"], row["accrued"],
                                                   row["coupon_cash"]), abs=1e-12)
    assert (p1 + ai1 + coupon) / (p0 + ai0) - 1 == pytest.approx(row["ret"], abs=1e-12)
    assert row["ret"] == row["ret_end"] and row["exret"] == pytest.approx(row["ret"] - row["rf"], abs=1e-15)


def test_monthly_accrued_and_coupons_agree_with_fixed_income(sim):
    m = sim.truth_monthly.sort("cusip_id", "date")
    # every kind of bond is in the monthly truth
    kinds = m.join(sim.fisd.rename({"complete_cusip": "cusip_id"}), on="cusip_id").with_columns(
        stub=pl.col("first_interest_date").dt.offset_by(pl.format("-{}mo", 12 // pl.col("interest_frequency")))
        != pl.col("dated_date"))
    assert set(kinds["interest_frequency"].unique()) == {0, 1, 2, 4, 12}
    assert set(kinds["day_count_basis"].unique()) == {"30/360", "ACT/ACT"}
    assert kinds.filter(pl.col("stub") & (pl.col("price_date") < pl.col("first_interest_date"))).height > 0
    terms = _fixed_income_terms(sim.fisd, m["cusip_id"].to_list())
    day = lambda c: m[c].to_numpy().astype("datetime64[D]")  # noqa: E731
    np.testing.assert_allclose(accrued_interest(day("price_date"), **terms), m["accrued"].to_numpy(), rtol=0,
                               atol=1e-10)
    has = m["start_date"].is_not_null().to_numpy()
    start = np.where(has, day("start_date"), day("price_date"))
    np.testing.assert_allclose(accrued_interest(start, **terms)[has], m["start_accrued"].to_numpy()[has], rtol=0,
                               atol=1e-10)
    prev = m.select(pl.col("price_date").shift(1).over("cusip_id"))["price_date"].to_numpy().astype("datetime64[D]")
    kind = m["ret_type"].to_numpy()
    ok = kind != None  # noqa: E711
    d0 = np.where(kind == "end", prev, start)
    cash = coupons_paid(np.where(ok, d0, start), day("price_date"), **terms)
    np.testing.assert_allclose(cash[ok], m["coupon_cash"].to_numpy()[ok], rtol=0, atol=1e-10)
    assert (m["coupon_cash"].to_numpy()[ok] > 0).sum() > 50


def test_monthly_rows_exist_exactly_where_a_month_end_price_exists(sim):
    m = sim.truth_monthly
    days = bond_market_days("2011-06-01", "2013-05-31")
    cal = pl.DataFrame({"trd_exctn_dt": pl.Series(days).cast(pl.Date)}).with_columns(
        month=pl.col("trd_exctn_dt").dt.month_end())
    cal = cal.with_columns(last5=pl.int_range(pl.len()).reverse().over("month") < 5)
    ends = (sim.truth_trades.join(cal.filter("last5"), on="trd_exctn_dt")
            .group_by("cusip_id", "month").agg(pl.col("trd_exctn_dt").max()))
    assert ends.height == m.height
    assert ends.join(m, left_on=["cusip_id", "month", "trd_exctn_dt"], right_on=["cusip_id", "date", "price_date"],
                     how="anti").height == 0
    assert m.filter(pl.col("ret").is_null()).height > 0  # rows without a return exist (first months, gaps)
    prev = m.select("cusip_id", pl.col("date").dt.offset_by("1mo").dt.month_end())
    with_prev = m.join(prev, on=["cusip_id", "date"], how="semi")
    assert (with_prev["ret_type"] == "end").all()
    rest = m.join(prev, on=["cusip_id", "date"], how="anti")
    assert ((rest["ret_type"] == "start") == rest["start_date"].is_not_null()).all()
    assert rest.filter(pl.col("ret_type") == "start").height > 0
    sums = m.group_by("date").agg(pl.col("mv_weight").sum())["mv_weight"]
    np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-12)
    # the amount outstanding at the end of the month: the bond's last history row effective on or before the
    # month's last calendar day, else the offering amount (an as-of join here)
    history = sim.amount_outstanding.select(pl.col("complete_cusip").alias("cusip_id"), "effective_date",
                                            pl.col("amount_outstanding").alias("_after")).sort("effective_date")
    bonds = sim.fisd.select(pl.col("complete_cusip").alias("cusip_id"), "offering_amt",
                            pl.col("amount_outstanding").alias("_static"))
    amounts = m.sort("date").join_asof(history, left_on="date", right_on="effective_date", by="cusip_id",
                                       check_sortedness=False).join(bonds, on="cusip_id")
    amounts = amounts.with_columns((pl.coalesce("_after", "offering_amt") * 1000).alias("_want"))
    assert (amounts["amount_outstanding"] == amounts["_want"]).all()
    assert (amounts["amount_outstanding"] != amounts["offering_amt"] * 1000).sum() > 50
    assert (amounts["amount_outstanding"] != amounts["_static"] * 1000).sum() > 50
    np.testing.assert_allclose(m["mv"].to_numpy(), ((m["price"] + m["accrued"]) / 100 * m["amount_outstanding"])
                               .to_numpy(), rtol=1e-15)
    assert m.join(sim.rates, on="date", suffix="_r").select((pl.col("rf") == pl.col("rf_r")).all()).item()
    screened = screen_bonds(sim.fisd).filter(pl.col("screen").is_null())["complete_cusip"]
    assert m["cusip_id"].is_in(screened.implode()).all()


def test_the_pipeline_reproduces_the_monthly_truth_with_the_amount_history(sim, cleaned):
    daily = daily_prices(cleaned.trades)
    got = monthly_returns(daily, sim.fisd, rates=sim.rates, amount_outstanding=sim.amount_outstanding)
    truth = sim.truth_monthly
    assert got.select("cusip_id", "date").equals(truth.select("cusip_id", "date"))
    assert got["amount_outstanding"].equals(truth["amount_outstanding"])
    for col in ("price", "accrued", "coupon_cash", "ret", "exret", "mv", "mv_weight"):
        np.testing.assert_allclose(got[col].to_numpy().astype(float), truth[col].to_numpy().astype(float),
                                   rtol=1e-12, atol=1e-12, err_msg=col)
    # without the history, FISD's static amount (the one at the end) is wrong for the bonds with actions
    static = monthly_returns(daily, sim.fisd, rates=sim.rates)
    assert (static["amount_outstanding"] != truth["amount_outstanding"]).sum() > 50


def test_simulated_tbill():
    r = simulated_tbill([f"{y}-{mo:02d}" for y in range(1990, 2031) for mo in range(1, 13)])
    annual = (1 + r["rf"]) ** 12 - 1
    assert annual.min() >= -1e-12 and annual.max() <= 0.05 + 1e-12 and annual.std() > 0.01
    assert r["rf"].diff().abs().max() < 0.0005 / 12 * 12  # smooth: at most ~5 bp a year per month
    assert (r["date"] == r["date"].dt.month_end()).all()
    assert simulated_tbill(["2012-03-15", dt.date(2012, 3, 1)]).height == 1
    assert simulated_tbill(["2012-03"]).equals(r.filter(pl.col("date") == dt.date(2012, 3, 31)))
