"""The simulated TRACE market: reproducible, every reporting error and filter of docs/trace.md present in both
formats, truth trades that the cleaning contract recovers, and a monthly truth whose bond math is checked by hand
and against bondpremia.fixed_income."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import polars as pl
import pytest

from bondpremia.fixed_income import accrued_interest, coupons_paid
from bondpremia.fixed_income.calendar import bond_market_days
from bondpremia.simulate.trace import (
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
from bondpremia.trace import PRESETS, clean_trades, screen_bonds

KEYS5 = ["cusip_id", "trd_exctn_dt", "trd_exctn_tm", "rptd_pr", "entrd_vol_qt"]
KEYS7 = [*KEYS5, "rpt_side_cd", "cntra_mp_id"]
PRE = pl.col("trd_rpt_dt") < dt.date(2012, 2, 6)
LAG = (pl.when(pl.col("trd_exctn_dt") >= dt.date(2024, 5, 28)).then(1)
       .when(pl.col("trd_exctn_dt") >= dt.date(2017, 9, 5)).then(2).otherwise(3))


@pytest.fixture(scope="module")
def sim():
    return simulate_trace()  # 200 bonds, 24 months from 2011-06: straddles 2012-02-06


@pytest.fixture(scope="module")
def cleaned(sim):
    return clean_trades(sim.messages, sim.fisd)


def _tradable(sim) -> pl.DataFrame:
    """CUSIPs that pass the FISD screens, with their maturity."""
    ok = screen_bonds(sim.fisd).filter(pl.col("screen").is_null())
    return ok.select(pl.col("complete_cusip").alias("cusip_id"), "maturity")


def _both(frame: pl.DataFrame, what: str) -> None:
    """At least one row reported before and one after the 2012-02-06 format change."""
    pre = frame.filter(PRE).height
    assert pre > 0 and frame.height - pre > 0, (what, pre, frame.height - pre)


# --- reproducibility and the files --------------------------------------------------------------------------------

def test_same_seed_same_market_other_seed_other_market():
    a = simulate_trace(n_bonds=60, n_months=14, seed=1)
    b = simulate_trace(n_bonds=60, n_months=14, seed=1)
    c = simulate_trace(n_bonds=60, n_months=14, seed=2)
    for name in ("fisd", "messages", "truth_trades", "truth_monthly", "rates"):
        assert getattr(a, name).equals(getattr(b, name)), name
    for name in ("fisd", "messages", "truth_trades", "truth_monthly"):
        assert not getattr(a, name).equals(getattr(c, name)), name
    assert a.fisd.equals(simulate_fisd(60, seed=1, start="2011-06", n_months=14))


def test_written_files_are_byte_identical_and_equal_the_in_memory_market(tmp_path):
    kw = dict(n_bonds=60, n_months=14, seed=3)
    info = write_simulated_trace(tmp_path / "a", **kw)
    write_simulated_trace(tmp_path / "b", **kw)
    mem = simulate_trace(**kw)
    frames = {"trace": mem.messages, "fisd": mem.fisd, "truth_trades": mem.truth_trades,
              "truth_monthly": mem.truth_monthly, "rates": mem.rates}
    for name, frame in frames.items():
        a, b = tmp_path / "a" / f"{name}.parquet", tmp_path / "b" / f"{name}.parquet"
        assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest(), name
        assert pl.read_parquet(a).equals(frame), name
    assert info["messages"] == mem.messages.height and info["truth_trades"] == mem.truth_trades.height


def test_message_columns_and_types(sim):
    assert sim.messages.schema == pl.Schema(MESSAGE_SCHEMA)
    assert sim.truth_trades.schema == pl.Schema(MESSAGE_SCHEMA)
    assert sim.truth_monthly.columns == list(MONTHLY_COLUMNS)


# --- FISD ------------------------------------------------------------------------------------------------------------

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


# --- the messages: every noise type, both formats --------------------------------------------------------------------

def test_cancellations_corrections_and_reversals_in_both_formats(sim):
    m = sim.messages
    reports = m.filter(pl.col("trc_st").is_in(["T", "W"]))
    # pre-2012 cancellation: C -> the report with msg_seq_nb = orig_msg_seq_nb and the same 5 keys
    c09 = m.filter(PRE & (pl.col("trc_st") == "C"))
    assert c09["orig_msg_seq_nb"].is_not_null().all() and c09.height > 10
    assert c09.join(reports, left_on=[*KEYS5, "orig_msg_seq_nb"], right_on=[*KEYS5, "msg_seq_nb"]).height == c09.height
    # post-2012 cancellation: X or C with the same msg_seq_nb and 7 keys
    c14 = m.filter(~PRE & pl.col("trc_st").is_in(["X", "C"]))
    assert set(c14["trc_st"].unique()) == {"X", "C"}
    assert c14.join(m.filter(pl.col("trc_st") == "T"), on=[*KEYS7, "msg_seq_nb"]).height == c14.height
    # pre-2012 corrections, W -> W chains, two corrected chains sharing one execution timestamp
    w = m.filter(PRE & (pl.col("trc_st") == "W"))
    assert w.height > 50
    chains = w.join(w, left_on=["cusip_id", "orig_msg_seq_nb"], right_on=["cusip_id", "msg_seq_nb"])
    assert chains.height > 5
    final_w = w.join(w, left_on=["cusip_id", "msg_seq_nb"], right_on=["cusip_id", "orig_msg_seq_nb"], how="anti")
    assert final_w.join(sim.truth_trades, on=final_w.columns, nulls_equal=True).height > 0.8 * final_w.height
    shared = final_w.group_by("cusip_id", "trd_exctn_dt", "trd_exctn_tm").len().filter(pl.col("len") >= 2)
    assert shared.height > 3
    # post-2012 correction: wrong T, X with its number and keys, new T (in the truth) at the same execution time
    x = m.filter(~PRE & (pl.col("trc_st") == "X"))
    corrected = x.join(sim.truth_trades.filter(pl.col("trc_st") == "T"),
                       on=["cusip_id", "trd_exctn_dt", "trd_exctn_tm"], suffix="_new")
    assert corrected.filter(pl.col("msg_seq_nb_new") > pl.col("msg_seq_nb")).height > 20
    # pre-2012 reversals (asof R), including twins: a genuine trade with the same 7 keys survives
    r09 = m.filter(PRE & (pl.col("asof_cd") == "R"))
    keyed = reports.filter(PRE & (pl.col("asof_cd").fill_null("") != "R")).group_by(KEYS7).len()
    twins = r09.join(keyed.filter(pl.col("len") == 2), on=KEYS7).join(_tradable(sim), on="cusip_id")
    twins = twins.filter((pl.col("maturity") - pl.col("trd_exctn_dt")).dt.total_days() >= 365)
    assert r09.height > 10 and twins.height > 3
    assert twins.select(KEYS7).join(sim.truth_trades, on=KEYS7).height == twins.height  # exactly one survives
    # post-2012 reversal: Y -> the T with msg_seq_nb = orig_msg_seq_nb and the same 7 keys
    y = m.filter(~PRE & (pl.col("trc_st") == "Y"))
    assert y.height > 10
    assert y.join(m.filter(pl.col("trc_st") == "T"), left_on=[*KEYS7, "orig_msg_seq_nb"],
                  right_on=[*KEYS7, "msg_seq_nb"]).height == y.height


def test_interdealer_agency_and_late_reports_in_both_formats(sim):
    m, truth = sim.messages, sim.truth_trades
    dealer = pl.col("cntra_mp_id") == "D"
    sells = truth.filter(dealer & (pl.col("rpt_side_cd") == "S"))
    buys = m.filter(dealer & (pl.col("rpt_side_cd") == "B"))
    _both(buys.join(sells.select(KEYS5), on=KEYS5, how="semi"), "interdealer double counts")
    _both(truth.filter(dealer & (pl.col("rpt_side_cd") == "B")), "buy-side reports without a sell side (kept)")
    _both(truth.filter((pl.col("cntra_mp_id") == "C") & (pl.col("cmsn_trd") == "N") & (
        pl.when(pl.col("rpt_side_cd") == "B").then(pl.col("buy_cpcty_cd")).otherwise(pl.col("sell_cpcty_cd"))
        == "A")), "agency trades without commission (kept by bbw2019)")
    _both(truth.filter(pl.col("asof_cd") == "A"), "late reports")


def test_filtered_trades_in_both_formats_and_regular_values_kept(sim):
    m, truth = sim.messages, sim.truth_trades
    _both(m.filter(pl.col("wis_fl") == "Y"), "when-issued")
    _both(m.filter(pl.col("lckd_in_ind") == "Y"), "locked-in")
    special = m.filter(pl.col("sale_cndtn_cd").is_not_null() & (pl.col("sale_cndtn_cd") != "@"))
    _both(special, "special conditions")
    assert special["sale_cndtn_cd"].n_unique() >= 5
    _both(m.filter(pl.col("days_to_sttl_ct") > LAG), "long settlement")
    _both(m.filter(pl.col("entrd_vol_qt").is_between(1, 9_999)), "tiny trades")
    _both(m.filter((pl.col("rptd_pr") > 1000) | (pl.col("rptd_pr") < 5)), "bad prints")
    assert m.filter(pl.col("rptd_pr") > 1000).height and m.filter(pl.col("rptd_pr") < 5).height
    # regular values that must survive
    assert truth["sale_cndtn_cd"].null_count() > 0.8 * truth.height
    _both(truth.filter(pl.col("sale_cndtn_cd") == "@"), "sale condition @")
    _both(truth.filter(pl.col("days_to_sttl_ct") == LAG), "settlement exactly at the lag")
    _both(truth.filter(pl.col("days_to_sttl_ct").is_null()), "settlement NULL")
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


def test_rejects_and_settlement_lag_changes(sim, cleaned):
    reasons = set(cleaned.rejects["reason"].unique())
    assert reasons == {"rptd_pr: missing value", "cusip_id: missing value", "trd_exctn_dt: missing value",
                       "entrd_vol_qt: volume is not positive"}
    for start, before, after in (("2017-08", 3, 2), ("2024-04", 2, 1)):
        s = simulate_trace(n_bonds=80, n_months=3, seed=5, start=start)
        at_lag = s.truth_trades.filter(pl.col("days_to_sttl_ct") == LAG)["days_to_sttl_ct"].unique().sort()
        assert at_lag.to_list() == [after, before]
        long = s.messages.filter(pl.col("days_to_sttl_ct") > LAG)
        assert long.filter(pl.col("days_to_sttl_ct") <= before).height > 0  # long only under the new, shorter lag
        assert clean_trades(s.messages, s.fisd).trades.drop("_row").select(s.truth_trades.columns).equals(
            s.truth_trades)


def test_message_numbers_unique_per_cusip_and_increasing_in_report_order(sim):
    m = sim.messages.filter(pl.col("cusip_id").is_not_null())
    reuse = ~PRE & pl.col("trc_st").is_in(["X", "C"])  # post-2012 cancellations carry the cancelled number
    own = m.filter(~reuse)
    assert own.select("cusip_id", "msg_seq_nb").is_unique().all()
    ordered = own.sort("cusip_id", "msg_seq_nb").with_columns(
        pl.datetime(pl.col("trd_rpt_dt").dt.year(), pl.col("trd_rpt_dt").dt.month(), pl.col("trd_rpt_dt").dt.day())
        .alias("d"), pl.col("trd_rpt_tm").cast(pl.Int64).alias("t"))
    step = ordered.with_columns(
        pl.struct("d", "t").rank("dense").alias("rank")).with_columns(
        pl.col("rank").diff().over("cusip_id").alias("step"))
    assert (step["step"].drop_nulls() >= 0).all()
    assert m.filter(reuse).join(own, on=["cusip_id", "msg_seq_nb"], how="anti").height == 0
    # execution times distinct within a CUSIP and day, except deliberate collisions (events and their copies)
    genuine = sim.truth_trades.group_by("cusip_id", "trd_exctn_dt", "trd_exctn_tm").len()
    assert genuine.filter(pl.col("len") > 1).height < 0.01 * genuine.height


# --- truth trades ----------------------------------------------------------------------------------------------------

def test_truth_trades_are_message_rows_and_the_contract_recovers_them(sim, cleaned):
    truth = sim.truth_trades
    assert truth.join(sim.messages, on=truth.columns, how="semi", nulls_equal=True).height == truth.height
    assert truth.select(KEYS7).is_unique().all()
    got = cleaned.trades.drop("_row").select(truth.columns)
    assert got.equals(truth)


@pytest.mark.parametrize("step", [s for s in PRESETS["bbw2019"] if s != "parse"])
def test_every_bbw2019_step_has_work_to_do(sim, step):
    """Skipping any step of the default preset keeps rows the truth excludes: each noise type is effective. The
    simulator writes no exact duplicates yet, so for ``dedupe`` ten genuine trades are appended a second time."""
    again = sim.truth_trades.head(10).select(sim.messages.columns)
    messages = pl.concat([sim.messages, again]) if step == "dedupe" else sim.messages
    assert clean_trades(messages, sim.fisd).trades.height == sim.truth_trades.height
    got = clean_trades(messages, sim.fisd, skip=[step]).trades
    assert got.height > sim.truth_trades.height


def test_noise_rates_are_configurable():
    quiet = NoiseRates(**{k: 0.0 for k in ("cancel", "correct", "shared_timestamp", "reverse", "reverse_twin",
                                           "when_issued", "locked_in", "special_condition", "long_settlement",
                                           "tiny", "bad_print", "reject", "fisd_fail", "absent", "interdealer")})
    s = simulate_trace(n_bonds=30, n_months=14, seed=0, noise=quiet)
    assert set(s.messages["trc_st"].unique()) == {"T"}
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
    amounts = m.join(sim.fisd.select(pl.col("complete_cusip").alias("cusip_id"), "amount_outstanding"),
                     on="cusip_id", suffix="_k")
    assert (amounts["amount_outstanding"] == amounts["amount_outstanding_k"] * 1000).all()
    np.testing.assert_allclose(m["mv"].to_numpy(), ((m["price"] + m["accrued"]) / 100 * m["amount_outstanding"])
                               .to_numpy(), rtol=1e-15)
    assert m.join(sim.rates, on="date", suffix="_r").select((pl.col("rf") == pl.col("rf_r")).all()).item()
    screened = screen_bonds(sim.fisd).filter(pl.col("screen").is_null())["complete_cusip"]
    assert m["cusip_id"].is_in(screened.implode()).all()


def test_simulated_tbill():
    r = simulated_tbill([f"{y}-{mo:02d}" for y in range(1990, 2031) for mo in range(1, 13)])
    annual = (1 + r["rf"]) ** 12 - 1
    assert annual.min() >= -1e-12 and annual.max() <= 0.05 + 1e-12 and annual.std() > 0.01
    assert r["rf"].diff().abs().max() < 0.0005 / 12 * 12  # smooth: at most ~5 bp a year per month
    assert (r["date"] == r["date"].dt.month_end()).all()
    assert simulated_tbill(["2012-03-15", dt.date(2012, 3, 1)]).height == 1
    assert simulated_tbill(["2012-03"]).equals(r.filter(pl.col("date") == dt.date(2012, 3, 31)))
