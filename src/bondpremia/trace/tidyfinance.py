"""Tidy Finance's TRACE cleaning, step for step: the ``tidyfinance`` preset.

Reproduces ``tidyfinance.download_wrds._process_trace_data`` of the ``tidyfinance`` package, version 1.0.0 (Scheuch,
Voigt, Weiss and Frey, *Tidy Finance with Python*, "Clean Enhanced TRACE with Python"; the package ships the
cleaning in pure polars). The preset exists so that a study cleaned with Tidy Finance can be reproduced, audited
row by row and run out of core; the differential test ``tests/trace/test_tidyfinance_oracle.py`` feeds the same
simulated messages to the package and to this preset and compares the surviving trades as a multiset of rows.

What the package does, and each step here does the same (keys are the package's):

1. ``tf_status``: only messages with status ``T``, ``R``, ``X``, ``C``, ``Y`` (report date from 2012-02-06) or
   ``T``, ``C``, ``W`` (before) take part; any other status is dropped.
2. ``tf_post_cancel``: post-2012 ``T``/``R`` reports that equal an ``X``/``C`` on 8 keys (CUSIP, message number,
   volume, price, side, contra party, execution date and time) are dropped, and so are the ``X``/``C``.
3. ``tf_post_reversal``: the same with ``Y`` messages, whose ``orig_msg_seq_nb`` is matched to the message number.
4. ``tf_pre_cancel``: pre-2012 ``T`` reports matched by a ``C`` (its ``orig_msg_seq_nb`` to the message number, on
   the same 8 keys) are dropped, and so are the ``C``. A ``C`` never cancels a ``W``.
5. ``tf_pre_correct``: the correction loop. A ``W`` whose ``orig_msg_seq_nb`` equals the message number of a kept
   report with the same CUSIP and *execution date* replaces it; the loop repeats until no further ``W`` matches
   (chains ``T <- W1 <- W2``); a ``W`` that never matches is dropped. As in the package's left join, a ``W`` that
   matches k reports is kept k times (rows_dropped is then negative in the audit).
6. ``tf_pre_reversal``: pre-2012 reports with ``asof_cd = R`` delete, one for one, the reports that share CUSIP,
   execution date, volume, price, side and contra party, taking them in order of execution time, report date and
   report time (nulls first, ties in the order above); rows with ``asof_cd`` ``R``, ``X`` or ``D`` are dropped.
7. ``tf_dealer``: customer reports (contra ``C``) and dealer sells (``D``, ``S``) are kept; a dealer buy
   (``D``, ``B``) is dropped when any dealer sell has the same CUSIP, execution date, volume and price (any
   number of buys per sell, no time); reports with another contra party are dropped.
8. ``tf_settlement``: ``days_to_sttl_ct`` above 7, or ``stlmnt_dt`` more than 7 calendar days after the execution
   date, is dropped (nulls pass).
9. ``tf_when_issued``: only ``wis_fl = N`` is kept (a null flag is dropped).
10. ``tf_special_trade``: a non-empty ``spcl_trd_fl`` is dropped.
11. ``tf_asof``: any non-empty ``asof_cd`` is dropped (late reports ``A`` as well as the rest).

Joins on a null key never match (``nulls_equal=False``), as in the package. Where the default ``bbw2019`` preset
deliberately differs, ``docs/trace.md`` says how and why.
"""

from __future__ import annotations

import polars as pl

from bondpremia.trace.rules import _POST, _RID, Context, Step, _concat_ids, _ids, _matched, _named, _one_to_one, _rows

#: The package's eight matching keys of cancellations and reversals.
KEYS8 = ["cusip_id", "msg_seq_nb", "entrd_vol_qt", "rptd_pr", "rpt_side_cd", "cntra_mp_id", "trd_exctn_dt",
         "trd_exctn_tm"]
#: The package's reversal groups (pre-2012) and their order.
REVERSAL_KEYS = ["cusip_id", "trd_exctn_dt", "entrd_vol_qt", "rptd_pr", "rpt_side_cd", "cntra_mp_id"]
REVERSAL_ORDER = ["cusip_id", "trd_exctn_dt", "trd_exctn_tm", "trd_rpt_dt", "trd_rpt_tm"]
#: The package's dealer matching keys.
DEALER_KEYS = ["cusip_id", "trd_exctn_dt", "entrd_vol_qt", "rptd_pr"]
#: The message columns the package reads, and the columns it returns. The preset reads and returns the same
#: (plus the lineage ``_file``, ``_row``): a column the package never looks at cannot reject a row here either.
READS = ["cusip_id", "trd_exctn_dt", "trd_exctn_tm", "trd_rpt_dt", "trd_rpt_tm", "msg_seq_nb", "orig_msg_seq_nb",
         "trc_st", "asof_cd", "wis_fl", "days_to_sttl_ct", "stlmnt_dt", "spcl_trd_fl", "rptd_pr", "entrd_vol_qt",
         "yld_pt", "rpt_side_cd", "cntra_mp_id"]
OUTPUT = ["cusip_id", "trd_exctn_dt", "trd_exctn_tm", "rptd_pr", "entrd_vol_qt", "yld_pt", "rpt_side_cd",
          "cntra_mp_id"]
#: Settlement limit in days (both days_to_sttl_ct and stlmnt_dt - trd_exctn_dt).
MAX_SETTLEMENT_DAYS = 7

_TRC = pl.col("trc_st")


def _status(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    kept = pl.when(_POST).then(_TRC.is_in(["T", "R", "X", "C", "Y"])).otherwise(_TRC.is_in(["T", "C", "W"]))
    return _ids(df, ~kept)


def _post_cancel(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    cancels = _rows(df, _POST & _TRC.is_in(["X", "C"]), KEYS8)
    reports = _rows(df, _POST & _TRC.is_in(["T", "R"]) & _named(cancels, "msg_seq_nb"), KEYS8)
    return _concat_ids(cancels[_RID], _matched(reports, cancels, KEYS8, KEYS8, nulls_equal=False))


def _post_reversal(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    right = ["orig_msg_seq_nb" if k == "msg_seq_nb" else k for k in KEYS8]
    rev = _rows(df, _POST & (_TRC == "Y"), right)
    reports = _rows(df, _POST & _TRC.is_in(["T", "R"]) & _named(rev, "orig_msg_seq_nb"), KEYS8)
    return _concat_ids(rev[_RID], _matched(reports, rev, KEYS8, right, nulls_equal=False))


def _pre_cancel(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    right = ["orig_msg_seq_nb" if k == "msg_seq_nb" else k for k in KEYS8]
    cancels = _rows(df, ~_POST & (_TRC == "C"), right)
    reports = _rows(df, ~_POST & (_TRC == "T") & _named(cancels, "orig_msg_seq_nb"), KEYS8)
    return _concat_ids(cancels[_RID], _matched(reports, cancels, KEYS8, right, nulls_equal=False))


def _pre_correct(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    """The package's correction loop, with its left joins (a ``W`` is kept once per report it matches). Returns the
    row ids of the new frame: the other messages, then the kept reports in the package's order (the ``T`` rows,
    then the ``W`` rows of each round)."""
    pre_tw = ~_POST & _TRC.is_in(["T", "W"])
    narrow = _rows(df, pre_tw, ["cusip_id", "trd_exctn_dt", "msg_seq_nb", "orig_msg_seq_nb", "trc_st"])
    keys = ["cusip_id", "trd_exctn_dt", "msg_seq_nb"]
    w_keys = ["cusip_id", "trd_exctn_dt", "orig_msg_seq_nb"]
    rounds = [narrow.filter(_TRC == "T")]  # the kept reports, round by round, in the package's order
    pending = narrow.filter(_TRC == "W")
    last = pending.height
    while pending.height > 0:
        # only reports whose number some pending W names can match (a cheap integer filter before the join)
        named = pl.col("msg_seq_nb").is_in(pending["orig_msg_seq_nb"].implode())
        targets = pl.concat([r.filter(named) for r in rounds]).select(
            "cusip_id", "trd_exctn_dt", pl.col("msg_seq_nb").alias("orig_msg_seq_nb"), _matched=pl.lit(True))
        joined = pending.join(targets, on=w_keys, how="left", maintain_order="left")
        correcting = joined.filter(pl.col("_matched").eq_missing(True)).drop("_matched")
        pending = joined.filter(pl.col("_matched").ne_missing(True)).drop("_matched")
        replaced = correcting.select("cusip_id", "trd_exctn_dt", pl.col("orig_msg_seq_nb").alias("msg_seq_nb"))
        rounds = [r.filter(~pl.col(_RID).is_in(_matched(r, replaced, keys, keys, nulls_equal=False).implode()))
                  for r in rounds] + [correcting]
        if pending.height == last:
            break
        last = pending.height
    return pl.concat([_ids(df, ~pre_tw), *(r[_RID] for r in rounds)])


def _pre_reversal(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    asof = pl.col("asof_cd")
    cols = [*REVERSAL_KEYS, *REVERSAL_ORDER]
    rev = _rows(df, ~_POST & (asof == "R"), cols)
    reports = _rows(df, ~_POST & (asof.is_null() | ~asof.is_in(["R", "X", "D"])), cols)
    # the package sorts by REVERSAL_ORDER (nulls first, ties in frame order = row id order) and numbers the rows
    # of each group: within a group that is the order of time, report date and report time, then row id
    matched = _one_to_one(reports, rev, REVERSAL_KEYS, order=REVERSAL_ORDER[2:], nulls_last=False,
                          nulls_equal=False)
    return _concat_ids(_ids(df, ~_POST & asof.is_in(["R", "X", "D"]).fill_null(False)), matched)


def _dealer(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    cntra, side = pl.col("cntra_mp_id"), pl.col("rpt_side_cd")
    sells = _rows(df, (cntra == "D") & (side == "S"), DEALER_KEYS)
    buys = _rows(df, (cntra == "D") & (side == "B"), DEALER_KEYS)
    other = _ids(df, ~cntra.is_in(["C", "D"]) | ((cntra == "D") & ~side.is_in(["B", "S"])))
    return _concat_ids(other, _matched(buys, sells, DEALER_KEYS, DEALER_KEYS, nulls_equal=False))


def _settlement(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    days = pl.col("days_to_sttl_ct")
    calendar = (pl.col("stlmnt_dt") - pl.col("trd_exctn_dt")).dt.total_days()
    return _ids(df, (days > MAX_SETTLEMENT_DAYS).fill_null(False) | (calendar > MAX_SETTLEMENT_DAYS).fill_null(False))


def _when_issued(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    return _ids(df, (pl.col("wis_fl") != "N").fill_null(True))


def _special_trade(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    return _ids(df, pl.col("spcl_trd_fl").is_not_null())


def _asof(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    return _ids(df, pl.col("asof_cd").is_not_null())


STEPS: dict[str, Step] = {s.name: s for s in (
    Step("tf_status", "message status outside T/R/X/C/Y (from 2012-02-06) or T/C/W (before) (Tidy Finance)",
         _status),
    Step("tf_post_cancel", "post-2012 cancellation (X/C) and the report equal to it on 8 keys (Tidy Finance)",
         _post_cancel),
    Step("tf_post_reversal", "post-2012 reversal (Y) and the report it points to on 8 keys (Tidy Finance)",
         _post_reversal),
    Step("tf_pre_cancel", "pre-2012 cancellation (C) and the T report it points to on 8 keys (Tidy Finance)",
         _pre_cancel),
    Step("tf_pre_correct", "pre-2012 report replaced by its correction (W), or a W that corrects nothing "
         "(Tidy Finance; a W matching k reports is kept k times)", transform=_pre_correct),
    Step("tf_pre_reversal", "pre-2012 reversal (asof R) and its report, one for one by time; asof X/D "
         "(Tidy Finance)", _pre_reversal),
    Step("tf_dealer", "dealer buy matched by a dealer sell on CUSIP, date, volume and price, or contra party "
         "neither C nor D (Tidy Finance)", _dealer),
    Step("tf_settlement", f"more than {MAX_SETTLEMENT_DAYS} days to settlement (Tidy Finance)", _settlement),
    Step("tf_when_issued", "when-issued flag not N (Tidy Finance)", _when_issued),
    Step("tf_special_trade", "special trade flag set (Tidy Finance)", _special_trade),
    Step("tf_asof", "as-of code set (late report, reversal or other) (Tidy Finance)", _asof),
)}

PRESET = list(STEPS)

__all__ = ["KEYS8", "OUTPUT", "PRESET", "READS", "STEPS"]
