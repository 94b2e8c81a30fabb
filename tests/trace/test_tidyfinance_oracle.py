"""The ``tidyfinance`` preset against Tidy Finance's own cleaning (the ``tidyfinance`` package, version 1.0.0,
``tidyfinance.download_wrds._process_trace_data``), an implementation someone else wrote and maintains.

Two kinds of checks:

- hand-built messages whose survivors are worked out by hand from the package's documented steps (the docstring of
  :mod:`bondpremia.trace.tidyfinance`); both the package and the preset must give exactly those rows;
- a differential test on simulated markets: the same messages through the package and through
  ``clean_trades(..., preset="tidyfinance")`` give the same surviving trades as a multiset of rows, except rows we
  reject as unparseable, which must be in our rejects with a reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from bondpremia.simulate.trace import simulate_trace
from bondpremia.trace.clean import PRESETS, clean_trades

tf = pytest.importorskip("tidyfinance.download_wrds", reason="the tidyfinance oracle needs the dev extra")

#: The columns the package returns.
OUT = ["cusip_id", "trd_exctn_dt", "trd_exctn_tm", "rptd_pr", "entrd_vol_qt", "yld_pt", "rpt_side_cd", "cntra_mp_id"]

COLUMNS: dict[str, Any] = {
    "cusip_id": pl.String, "trd_exctn_dt": pl.Date, "trd_exctn_tm": pl.Time, "trd_rpt_dt": pl.Date,
    "trd_rpt_tm": pl.Time, "msg_seq_nb": pl.Int64, "orig_msg_seq_nb": pl.Int64, "trc_st": pl.String,
    "asof_cd": pl.String, "wis_fl": pl.String, "days_to_sttl_ct": pl.Int64, "stlmnt_dt": pl.Date,
    "spcl_trd_fl": pl.String, "rptd_pr": pl.Float64, "entrd_vol_qt": pl.Float64, "yld_pt": pl.Float64,
    "rpt_side_cd": pl.String, "cntra_mp_id": pl.String,
}
PRE, POST = dt.date(2010, 6, 1), dt.date(2013, 3, 4)
DEFAULTS: dict[str, Any] = {"cusip_id": "123456AB7", "trd_exctn_dt": POST, "trd_exctn_tm": dt.time(10),
                            "trc_st": "T", "wis_fl": "N", "rptd_pr": 100.0, "entrd_vol_qt": 100_000.0,
                            "rpt_side_cd": "S", "cntra_mp_id": "C"}


def msgs(*rows: dict[str, Any], **common: Any) -> pl.DataFrame:
    out = []
    for r in rows:
        d = {**DEFAULTS, **common, **r}
        d.setdefault("trd_rpt_dt", d["trd_exctn_dt"])
        d.setdefault("yld_pt", float(d["msg_seq_nb"]))  # yld_pt carries the message number into the output
        out.append({c: d.get(c) for c in COLUMNS})
    return pl.DataFrame(out, schema=COLUMNS)


def package(df: pl.DataFrame) -> pl.DataFrame:
    return tf._process_trace_data(df)


def ours(df: pl.DataFrame) -> pl.DataFrame:
    return clean_trades(df, preset="tidyfinance").trades


def ids(frame: pl.DataFrame) -> list[int]:
    """The surviving message numbers (via yld_pt), as a sorted multiset."""
    return sorted(int(v) for v in frame["yld_pt"].to_list())


def both(df: pl.DataFrame) -> list[int]:
    """The survivors, asserting that the package and the preset agree."""
    a, b = ids(package(df)), ids(ours(df))
    assert a == b
    return a


def test_post_2012_cancellation_and_reversal_need_all_eight_keys():
    df = msgs({"msg_seq_nb": 1}, {"msg_seq_nb": 1, "trc_st": "X"},
              {"msg_seq_nb": 2, "trd_exctn_tm": dt.time(11)}, {"msg_seq_nb": 2, "trc_st": "C"},  # other time
              {"msg_seq_nb": 3, "trc_st": "R"}, {"msg_seq_nb": 4, "trc_st": "Y", "orig_msg_seq_nb": 3},
              {"msg_seq_nb": 5, "trc_st": "W"})  # a post-2012 W is no status the package keeps
    assert both(df) == [2]


def test_pre_2012_correction_loop_keeps_last_w_and_drops_orphans():
    df = msgs({"msg_seq_nb": 1}, {"msg_seq_nb": 2, "trc_st": "W", "orig_msg_seq_nb": 1},
              {"msg_seq_nb": 3, "trc_st": "W", "orig_msg_seq_nb": 2},  # chain: 3 survives
              {"msg_seq_nb": 4, "trc_st": "W", "orig_msg_seq_nb": 99},  # orphan: dropped
              {"msg_seq_nb": 5, "trc_st": "W", "orig_msg_seq_nb": 6, "trd_exctn_dt": dt.date(2010, 6, 2)},
              {"msg_seq_nb": 6},  # other execution date than the W pointing at it: no match
              {"msg_seq_nb": 7}, {"msg_seq_nb": 8, "trc_st": "C", "orig_msg_seq_nb": 7},
              trd_exctn_dt=PRE)
    assert both(df) == [3, 6]


def test_a_correction_matching_two_copies_of_its_original_is_kept_twice():
    # The package's left join: two reports with number 1 on the trade date (here exact copies) -> two W rows.
    df = msgs({"msg_seq_nb": 1}, {"msg_seq_nb": 1}, {"msg_seq_nb": 2, "trc_st": "W", "orig_msg_seq_nb": 1},
              trd_exctn_dt=PRE)
    assert both(df) == [2, 2]
    audit = clean_trades(df, preset="tidyfinance").audit.filter(pl.col("step") == "tf_pre_correct")
    assert audit.select("rows_in", "rows_out", "rows_dropped").row(0) == (3, 2, 1)


def test_pre_2012_reversal_one_for_one_by_time_and_xd_dropped():
    later = dt.date(2010, 6, 3)
    df = msgs({"msg_seq_nb": 1, "trd_exctn_tm": dt.time(11)}, {"msg_seq_nb": 2, "trd_exctn_tm": dt.time(10)},
              {"msg_seq_nb": 3, "asof_cd": "R", "trd_exctn_tm": dt.time(12), "trd_rpt_dt": later},
              {"msg_seq_nb": 4, "asof_cd": "X"}, {"msg_seq_nb": 5, "asof_cd": "D"},
              trd_exctn_dt=PRE)
    assert both(df) == [1]


def test_dealer_buys_any_match_and_filters():
    df = msgs({"msg_seq_nb": 1, "cntra_mp_id": "D", "rpt_side_cd": "B", "trd_exctn_tm": dt.time(9)},
              {"msg_seq_nb": 2, "cntra_mp_id": "D", "rpt_side_cd": "B", "trd_exctn_tm": dt.time(11)},
              {"msg_seq_nb": 3, "cntra_mp_id": "D", "rpt_side_cd": "S"},  # both buys go (any match)
              {"msg_seq_nb": 4, "cntra_mp_id": "D", "rpt_side_cd": "B", "rptd_pr": 99.0},  # unmatched: kept
              {"msg_seq_nb": 5, "cntra_mp_id": "A"},  # contra neither C nor D
              {"msg_seq_nb": 6, "days_to_sttl_ct": 8}, {"msg_seq_nb": 7, "days_to_sttl_ct": 7},
              {"msg_seq_nb": 8, "stlmnt_dt": POST + dt.timedelta(days=8)},
              {"msg_seq_nb": 9, "stlmnt_dt": POST + dt.timedelta(days=7)},
              {"msg_seq_nb": 10, "wis_fl": None}, {"msg_seq_nb": 11, "wis_fl": "Y"},
              {"msg_seq_nb": 12, "spcl_trd_fl": "Y"}, {"msg_seq_nb": 13, "spcl_trd_fl": ""},
              {"msg_seq_nb": 14, "asof_cd": "A"}, {"msg_seq_nb": 15, "asof_cd": ""})
    assert both(df) == [3, 4, 7, 9, 13, 15]


def test_the_preset_is_the_package_step_for_step():
    assert PRESETS["tidyfinance"] == ["tf_status", "tf_post_cancel", "tf_post_reversal", "tf_pre_cancel",
                                      "tf_pre_correct", "tf_pre_reversal", "tf_dealer", "tf_settlement",
                                      "tf_when_issued", "tf_special_trade", "tf_asof"]


def _multiset(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(OUT).group_by(OUT).len()


@pytest.mark.parametrize("seed, start", [(0, "2011-06"), (1, "2010-11"), (2, "2011-10")])
def test_differential_on_simulated_markets(seed, start):
    sim = simulate_trace(n_bonds=120, n_months=24, seed=seed, start=start)
    m = sim.messages
    for name in ("stlmnt_dt", "spcl_trd_fl"):  # the package reads them; a market without them has none
        if name not in m.columns:
            m = m.with_columns(pl.lit(None, COLUMNS[name]).alias(name))
    ref = package(m)
    res = clean_trades(m, preset="tidyfinance")
    assert ref.height > 10_000
    a, b = _multiset(ref), _multiset(res.trades)
    joined = a.join(b, on=OUT, how="full", nulls_equal=True, coalesce=True, suffix="_ours").with_columns(
        pl.col("len").fill_null(0), pl.col("len_ours").fill_null(0))
    diff = joined.filter(pl.col("len") != pl.col("len_ours"))
    # we never keep a row the package drops, and every row only the package keeps is in our rejects
    assert diff.filter(pl.col("len_ours") > pl.col("len")).height == 0
    missing = diff.with_columns(n=pl.col("len") - pl.col("len_ours"))
    rejects = res.rejects.select(OUT).group_by(OUT).len(name="rejected")
    explained = missing.join(rejects, on=OUT, how="left", nulls_equal=True)
    assert (explained["rejected"].fill_null(0) >= explained["n"]).all(), explained
    assert res.rejects["reason"].null_count() == 0
    # the comparison has teeth: the market has rows the package drops at every kind of step
    dropped = dict(zip(res.audit["step"], res.audit["rows_dropped"], strict=True))
    for step in ("tf_post_cancel", "tf_post_reversal", "tf_pre_cancel", "tf_pre_correct", "tf_pre_reversal",
                 "tf_dealer", "tf_when_issued", "tf_asof"):
        assert dropped[step] > 0, step


def test_the_preset_reads_and_returns_the_package_columns(tmp_path):
    """The preset reads the columns the package reads and returns the package's columns plus the lineage: a column
    the package never looks at (here an unparseable commission) rejects nothing."""
    from bondpremia.trace.pipeline import run_clean

    df = msgs({"msg_seq_nb": 1}, {"msg_seq_nb": 2, "cntra_mp_id": "D", "rpt_side_cd": "B", "rptd_pr": 99.0})
    df = df.with_columns(buy_cmsn_rt=pl.Series(["abc", "0.5"]), BOND_SYM_ID=pl.Series(["X1", "X1"]))
    res = clean_trades(df, preset="tidyfinance")
    assert res.trades.columns == [*OUT, "_row"] and res.rejects.height == 0
    assert ids(res.trades) == ids(package(df.drop("buy_cmsn_rt", "BOND_SYM_ID"))) == [1, 2]
    # the same through the file pipeline (in place and through DuckDB), with the input file named in _file
    df.write_parquet(tmp_path / "m.parquet")
    df.write_csv(tmp_path / "m.csv")
    for name in ("m.parquet", "m.csv"):
        run = run_clean([tmp_path / name], None, tmp_path / f"out-{name}", preset="tidyfinance", executor="serial")
        got = pl.read_parquet(run.trades)
        assert got.columns == [*OUT, "_file", "_row"]
        assert got["_file"].unique().to_list() == [str(tmp_path / name)]
        assert sorted(got["yld_pt"].to_list()) == [1.0, 2.0]
    # explicit steps keep every column
    assert "buy_cmsn_rt" in clean_trades(df.with_columns(buy_cmsn_rt=pl.lit(0.5)), steps=["tf_status"]).trades.columns


def test_every_step_drops_what_the_package_drops_there():
    """One message of each kind, with the audit worked out by hand step by step (rows dropped per step): the
    package gives the same three survivors, and each preset step drops exactly its own rows (a later step, such as
    the as-of filter, cannot hide a step that lets its rows through)."""
    t = dt.time
    post = [{"msg_seq_nb": 1}, {"msg_seq_nb": 1, "trc_st": "X"},  # cancelled (post_cancel: 4 with the next two)
            {"msg_seq_nb": 2, "trd_exctn_tm": t(10, 15)}, {"msg_seq_nb": 2, "trc_st": "C", "trd_exctn_tm": t(10, 15)},
            {"msg_seq_nb": 3, "trc_st": "R", "trd_exctn_tm": t(11)},
            {"msg_seq_nb": 4, "trc_st": "Y", "orig_msg_seq_nb": 3, "trd_exctn_tm": t(11)},  # post_reversal: 2
            {"msg_seq_nb": 5, "trc_st": "W", "trd_exctn_tm": t(11, 30)},  # no post-2012 status: status
            {"msg_seq_nb": 6, "trd_exctn_tm": t(12)}]  # survives
    pre = [{"msg_seq_nb": 11, "trd_exctn_tm": t(9)}, {"msg_seq_nb": 12, "trc_st": "C", "orig_msg_seq_nb": 11,
                                                       "trd_exctn_tm": t(9)},  # pre_cancel: 2
           {"msg_seq_nb": 13}, {"msg_seq_nb": 14, "trc_st": "W", "orig_msg_seq_nb": 13, "rptd_pr": 101.0},  # 14 stays
           {"msg_seq_nb": 15, "trc_st": "W", "orig_msg_seq_nb": 999, "trd_exctn_tm": t(10, 30)},  # orphan W
           # one reversal group (price 98): X, D and R rows earlier than the report they reverse
           {"msg_seq_nb": 16, "rptd_pr": 98.0, "trd_exctn_tm": t(8), "asof_cd": "R", "trd_rpt_dt": dt.date(2010, 6, 3)},
           {"msg_seq_nb": 17, "rptd_pr": 98.0, "trd_exctn_tm": t(13)},
           {"msg_seq_nb": 18, "rptd_pr": 98.0, "trd_exctn_tm": t(7), "asof_cd": "X"},
           {"msg_seq_nb": 26, "rptd_pr": 98.0, "trd_exctn_tm": t(7, 30), "asof_cd": "D"},
           {"msg_seq_nb": 19, "trd_exctn_tm": t(15), "asof_cd": "A"},  # late report: only tf_asof drops it
           {"msg_seq_nb": 20, "trd_exctn_tm": t(16), "cntra_mp_id": "D", "rpt_side_cd": "B", "rptd_pr": 97.0},
           {"msg_seq_nb": 21, "trd_exctn_tm": t(16, 5), "cntra_mp_id": "D", "rpt_side_cd": "S", "rptd_pr": 97.0},
           {"msg_seq_nb": 27, "trd_exctn_tm": t(17, 10), "cntra_mp_id": "A"},
           {"msg_seq_nb": 28, "trd_exctn_tm": t(17, 20), "cntra_mp_id": "D", "rpt_side_cd": "X"},
           {"msg_seq_nb": 22, "trd_exctn_tm": t(16, 30), "wis_fl": None},
           {"msg_seq_nb": 23, "trd_exctn_tm": t(16, 40), "days_to_sttl_ct": 8},
           {"msg_seq_nb": 24, "trd_exctn_tm": t(16, 50), "spcl_trd_fl": "Y"},
           {"msg_seq_nb": 25, "trd_exctn_tm": t(17), "trc_st": "Y"}]  # no pre-2012 status: status
    df = pl.concat([msgs(*post), msgs(*pre, trd_exctn_dt=PRE)])
    assert df.height == 26
    assert both(df) == [6, 14, 21]
    audit = clean_trades(df, preset="tidyfinance").audit
    assert dict(zip(audit["step"], audit["rows_dropped"], strict=True)) == {
        "parse": 0, "tf_status": 2, "tf_post_cancel": 4, "tf_post_reversal": 2, "tf_pre_cancel": 2,
        "tf_pre_correct": 2, "tf_pre_reversal": 4, "tf_dealer": 3, "tf_settlement": 1, "tf_when_issued": 1,
        "tf_special_trade": 1, "tf_asof": 1}


def test_reversal_order_puts_reports_without_a_report_time_first():
    """The package sorts with polars' default, nulls first: a report without a report time is reversed before one
    with a report time at the same execution time and report date."""
    df = msgs({"msg_seq_nb": 1, "trd_rpt_tm": None}, {"msg_seq_nb": 2, "trd_rpt_tm": dt.time(10, 5)},
              {"msg_seq_nb": 3, "asof_cd": "R", "trd_rpt_dt": dt.date(2010, 6, 3)}, trd_exctn_dt=PRE)
    assert both(df) == [2]
