"""The cleaning rules of the Dick-Nielsen and Bai-Bali-Wen presets: one small function per rule, each returning the
row ids a rule deletes. The kernel that runs them is :mod:`bondpremia.trace.clean`; the rule table with the keys
and the reference behaviour of each rule is ``docs/trace.md``.

- Dick-Nielsen, J. (2014), "How to clean Enhanced TRACE data", SSRN 2337908: post-2012-02-06 cancellations
  (``X``/``C``, same message number), reversals (``Y``, original message number), agency trades, interdealer
  double counts.
- Dick-Nielsen, J. (2009), "Liquidity biases in TRACE", Journal of Fixed Income 19(2): pre-2012 cancellations
  (``C``), corrections (``W``) and reversals (``asof_cd = R``).
- Bai, J., Bali, T. G. and Wen, Q. (2019), "Common risk factors in the cross-section of corporate bond returns",
  Journal of Financial Economics 131(3), Section 2: when-issued, locked-in, special-condition, long-settlement,
  price (5 to 1000 per 100 par), minimum volume ($10,000 par) and maturity filters, and the bond screens.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from bondpremia.errors import InputError
from bondpremia.schema import TRACE
from bondpremia.trace.screens import eligible_cusips

#: Column types of the Enhanced TRACE messages after parsing (the contract :data:`bondpremia.schema.TRACE`).
REQUIRED: dict[str, Any] = {c.name: getattr(pl, c.dtype) for c in TRACE.columns if c.required}
OPTIONAL: dict[str, Any] = {c.name: getattr(pl, c.dtype) for c in TRACE.columns if not c.required}
SCHEMA: dict[str, Any] = {**REQUIRED, **OPTIONAL}

#: First report date of the post-2012 Enhanced TRACE format (Dick-Nielsen 2014).
FORMAT_CHANGE = dt.date(2012, 2, 6)

#: Regular settlement lags (business days) by first trade date: T+3, T+2 from 2017-09-05, T+1 from 2024-05-28
#: (SEC Rule 15c6-1 and its amendments).
SETTLEMENT_LAGS: tuple[tuple[dt.date, int], ...] = (
    (dt.date(1900, 1, 1), 3),
    (dt.date(2017, 9, 5), 2),
    (dt.date(2024, 5, 28), 1),
)

KEYS7 = ["cusip_id", "trd_exctn_dt", "trd_exctn_tm", "rptd_pr", "entrd_vol_qt", "rpt_side_cd", "cntra_mp_id"]
KEYS5 = ["cusip_id", "trd_exctn_dt", "trd_exctn_tm", "rptd_pr", "entrd_vol_qt"]

_RID = "_rid"  # row id inside one kernel call
_ROW = "_row"  # input row number (0-based, per input file when ingested from files)
_POST = pl.col("trd_rpt_dt") >= pl.lit(FORMAT_CHANGE)


@dataclass(frozen=True)
class Context:
    """What a step may need besides the messages."""

    fisd: pl.DataFrame | None
    settlement_lags: tuple[tuple[dt.date, int], ...]


@dataclass(frozen=True)
class Step:
    """A named cleaning rule: ``drop(df, ctx)`` returns the row ids (``_rid``) to delete. ``df`` is a LazyFrame of
    the messages still alive; a rule reads it through :func:`_rows` so that only the columns it needs are copied.

    A step that must rebuild the messages (the Tidy Finance correction loop, which can keep two copies of one
    correction) gives ``transform(df, ctx)`` instead, returning the row ids of the new frame in its new order
    (repeats allowed); the kernel then gathers and numbers the rows afresh, and the audit's ``rows_dropped`` is
    ``rows_in - rows_out`` (negative when rows were added).
    """

    name: str
    reason: str
    drop: Callable[[pl.LazyFrame, Context], pl.Series] | None = None
    needs_fisd: bool = False
    transform: Callable[[pl.LazyFrame, Context], pl.Series] | None = None


def _rows(df: pl.LazyFrame | pl.DataFrame, mask: pl.Expr, cols: Sequence[str]) -> pl.DataFrame:
    """The rows of ``df`` where ``mask`` holds, with only ``_rid`` and ``cols`` (projected before the filter, so a
    rule never copies the columns it does not read)."""
    return df.lazy().filter(mask).select([_RID, *dict.fromkeys(c for c in cols if c != _RID)]).collect()


def _ids(df: pl.LazyFrame | pl.DataFrame, mask: pl.Expr) -> pl.Series:
    return _rows(df, mask, [])[_RID]


def _matched(targets: pl.DataFrame, refs: pl.DataFrame, left_on: list[str], right_on: list[str], *,
             nulls_equal: bool = True) -> pl.Series:
    """Row ids of ``targets`` that match any row of ``refs``."""
    if targets.height == 0 or refs.height == 0:
        return pl.Series(_RID, [], dtype=pl.UInt32)
    return targets.select(_RID, *left_on).join(refs.select(right_on).unique(), left_on=left_on, right_on=right_on,
                                               how="semi", nulls_equal=nulls_equal)[_RID]


def _named(refs: pl.DataFrame, column: str) -> pl.Expr:
    """Rows whose message number is among ``refs[column]``: added to a rule's filter, it leaves the multi-key join
    a few candidate rows instead of every report of the partition."""
    return pl.col("msg_seq_nb").is_in(refs[column].drop_nulls().unique().implode())


def _one_to_one(targets: pl.DataFrame, refs: pl.DataFrame, keys: list[str],
                order: Sequence[str] = ("msg_seq_nb",), ref_keys: list[str] | None = None, *,
                nulls_last: bool = True, nulls_equal: bool = True) -> pl.Series:
    """Row ids of ``targets`` matched one to one with ``refs``: within each key, the k-th target (in ``order``,
    then input order) is matched when the key has a k-th ref. ``ref_keys`` names the refs' key columns (default
    ``keys``)."""
    if targets.height == 0 or refs.height == 0:
        return pl.Series(_RID, [], dtype=pl.UInt32)
    rk = ref_keys or keys

    def ranked(f: pl.DataFrame, by: list[str]) -> pl.DataFrame:
        # rank within each key by sorting on (key, order) and counting from the key's first row (no window hash)
        f = f.select(list(dict.fromkeys([_RID, *by, *order]))).sort([*by, *order, _RID], nulls_last=nulls_last)
        pos = pl.int_range(pl.len(), dtype=pl.Int64)
        new = pl.any_horizontal([pl.col(c).ne_missing(pl.col(c).shift(1)) for c in by]) | (pos == 0)
        return f.with_columns(_k=pos - pl.when(new).then(pos).cum_max().forward_fill())

    refs_k = ranked(refs, rk).select([*rk, "_k"])
    return ranked(targets, keys).join(refs_k, left_on=[*keys, "_k"], right_on=[*rk, "_k"], how="semi",
                                      nulls_equal=nulls_equal)[_RID]


def _concat_ids(*ids: pl.Series) -> pl.Series:
    return pl.concat([s.cast(pl.UInt32) for s in ids])


# --- Dick-Nielsen (2014): post-2012 format -----------------------------------------------------------------------

#: Reports a cancellation or reversal can point to: post-2012 T/R, and pre-2012 T/W (a post-2012 X/C/Y that refers
#: to a trade first reported before 2012-02-06).
_REPORTS = pl.when(_POST).then(pl.col("trc_st").is_in(["T", "R"])).otherwise(pl.col("trc_st").is_in(["T", "W"]))


def _dn14_cancel(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    keys = [*KEYS7, "msg_seq_nb"]
    cancels = _rows(df, _POST & pl.col("trc_st").is_in(["X", "C"]), keys)
    reports = _rows(df, _REPORTS & _named(cancels, "msg_seq_nb"), keys)
    return _concat_ids(cancels[_RID], _matched(reports, cancels, keys, keys))


def _dn14_reversal(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    rev = _rows(df, _POST & (pl.col("trc_st") == "Y"), [*KEYS7, "orig_msg_seq_nb"])
    reports = _rows(df, _REPORTS & _named(rev, "orig_msg_seq_nb"), [*KEYS7, "msg_seq_nb"])
    return _concat_ids(rev[_RID], _matched(reports, rev, [*KEYS7, "msg_seq_nb"], [*KEYS7, "orig_msg_seq_nb"]))


# --- Dick-Nielsen (2009): pre-2012 format ------------------------------------------------------------------------
# Message numbers before 2012-02-06 are unique only within a report date, and cancellations (C) and corrections
# (W) are same-day messages (a later-day correction is a reversal, asof R, plus a new as-of report): C and W are
# matched to their original within the same CUSIP and report date.

_PRE_REPORTS = ~_POST & pl.col("trc_st").is_in(["T", "W"])


def _dn09_cancel(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    keys = [*KEYS5, "trd_rpt_dt"]
    cancels = _rows(df, ~_POST & (pl.col("trc_st") == "C"), [*keys, "orig_msg_seq_nb"])
    reports = _rows(df, _PRE_REPORTS & _named(cancels, "orig_msg_seq_nb"), [*keys, "msg_seq_nb"])
    return _concat_ids(cancels[_RID], _matched(reports, cancels, [*keys, "msg_seq_nb"], [*keys, "orig_msg_seq_nb"]))


def _superseded(df: pl.LazyFrame, date: str) -> pl.Series:
    # Every report that some W points to is superseded; chains T <- W1 <- W2 resolve to W2 by message numbers
    # alone, so two chains sharing a timestamp never interfere. A W whose original is absent is kept.
    corrections = _rows(df, ~_POST & (pl.col("trc_st") == "W") & pl.col("orig_msg_seq_nb").is_not_null(),
                        ["cusip_id", date, "orig_msg_seq_nb"])
    reports = _rows(df, _PRE_REPORTS & _named(corrections, "orig_msg_seq_nb"), ["cusip_id", date, "msg_seq_nb"])
    return _matched(reports, corrections, ["cusip_id", date, "msg_seq_nb"], ["cusip_id", date, "orig_msg_seq_nb"])


# (plain functions, not closures built at import: mutation testing can then reach every line)
def _dn09_correct(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    return _superseded(df, "trd_rpt_dt")


def _dn09_correct_exctn(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    return _superseded(df, "trd_exctn_dt")


#: Reversal keys: the 7 trade keys without the execution time, which the two reports often disagree on.
KEYS6 = ["cusip_id", "trd_exctn_dt", "rptd_pr", "entrd_vol_qt", "rpt_side_cd", "cntra_mp_id"]
#: Order in which the reports of one reversal key are reversed.
REVERSAL_ORDER = ("trd_exctn_tm", "trd_rpt_dt", "trd_rpt_tm", "msg_seq_nb")


def _reversed(df: pl.LazyFrame, keys: list[str]) -> pl.Series:
    asof = pl.col("asof_cd").fill_null("")
    cols = [*keys, *REVERSAL_ORDER]
    # a reversal is reported after the trade date (same-day errors are C/W messages)
    rev = _rows(df, ~_POST & (asof == "R") & (pl.col("trd_rpt_dt") > pl.col("trd_exctn_dt")), cols)
    reports = _rows(df, ~_POST & ~asof.is_in(["R", "X", "D"]) & pl.col("trc_st").is_in(["T", "W"]), cols)
    gone = _ids(df, ~_POST & asof.is_in(["R", "X", "D"]))
    return _concat_ids(gone, _one_to_one(reports, rev, keys, order=REVERSAL_ORDER))


def _dn09_reversal(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    return _reversed(df, KEYS6)


def _dn09_reversal_7keys(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    return _reversed(df, KEYS7)


# --- both periods ------------------------------------------------------------------------------------------------

def _agency(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    side, buy, sell = pl.col("rpt_side_cd"), pl.col("buy_cpcty_cd"), pl.col("sell_cpcty_cd")
    agency = ((side == "B") & (buy == "A")) | ((side == "S") & (sell == "A"))
    return _ids(df, (pl.col("cntra_mp_id") == "C") & (pl.col("cmsn_trd") == "N") & agency.fill_null(False))


#: Interdealer keys: the two dealers' reports agree on the bond, day, price and volume, not on the time.
KEYS4 = ["cusip_id", "trd_exctn_dt", "rptd_pr", "entrd_vol_qt"]


def _dealer_sides(df: pl.LazyFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    dealer = pl.col("cntra_mp_id") == "D"
    cols = [*KEYS4, "trd_exctn_tm", "msg_seq_nb"]
    return (_rows(df, dealer & (pl.col("rpt_side_cd") == "B"), cols),
            _rows(df, dealer & (pl.col("rpt_side_cd") == "S"), cols))


def _interdealer(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    buys, sells = _dealer_sides(df)
    return _one_to_one(buys, sells, KEYS4, order=("trd_exctn_tm", "msg_seq_nb"))


def _interdealer_any(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    buys, sells = _dealer_sides(df)
    return _matched(buys, sells, KEYS4, KEYS4)


def _flagged(df: pl.LazyFrame, column: str) -> pl.Series:
    return _ids(df, pl.col(column).fill_null("") == "Y")


def _when_issued(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    return _flagged(df, "wis_fl")


def _locked_in(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    return _flagged(df, "lckd_in_ind")


def _special_trade(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    return _flagged(df, "spcl_trd_fl")


def _special_condition(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    special = [pl.col(c).is_not_null() & (pl.col(c) != "@") for c in ("sale_cndtn_cd", "sale_cndtn2_cd")]
    return _ids(df, special[0] | special[1])


def _sub_product(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    return _ids(df, pl.col("sub_prdct").is_not_null() & (pl.col("sub_prdct") != "CORP"))


def settlement_lag_expr(lags: Sequence[tuple[dt.date, int]], date: str = "trd_exctn_dt") -> pl.Expr:
    """The regular settlement lag (days) in force on each row's trade date."""
    ordered = sorted(lags)
    expr: pl.Expr = pl.lit(ordered[0][1])
    for start, lag in ordered[1:]:
        expr = pl.when(pl.col(date) >= pl.lit(start)).then(pl.lit(lag)).otherwise(expr)
    return expr


#: Bai, Bali and Wen (2019), Section 2: trades with more than two days to settlement are removed.
MAX_SETTLEMENT_DAYS = 2


def _long_settlement(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    return _ids(df, (pl.col("days_to_sttl_ct") > MAX_SETTLEMENT_DAYS).fill_null(False))


def _long_settlement_lag(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    days = pl.col("days_to_sttl_ct")
    return _ids(df, days.is_not_null() & (days > settlement_lag_expr(ctx.settlement_lags)))


def _price_range(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    p = pl.col("rptd_pr")
    return _ids(df, (p < 5.0) | (p > 1000.0))


def _min_volume(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    return _ids(df, pl.col("entrd_vol_qt") < 10_000.0)


def _fisd(ctx: Context) -> pl.DataFrame:
    if ctx.fisd is None:
        raise InputError("this step needs the FISD bond reference; pass fisd=", column="fisd")
    return ctx.fisd


def _fisd_screens(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    ok = eligible_cusips(_fisd(ctx))
    return _rows(df, pl.lit(True), ["cusip_id"]).join(ok.rename({"complete_cusip": "cusip_id"}), on="cusip_id",
                                                       how="anti")[_RID]


def _short_maturity(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    fisd = _fisd(ctx)
    mat = fisd.select(pl.col("complete_cusip").alias("cusip_id"), pl.col("maturity").cast(pl.Date)).unique(
        "cusip_id", keep="first")
    joined = _rows(df, pl.lit(True), ["cusip_id", "trd_exctn_dt"]).join(mat, on="cusip_id", how="inner")
    return joined.filter((pl.col("maturity") - pl.col("trd_exctn_dt")).dt.total_days() < 365)[_RID]


#: A trade larger than this share of the bond's offering amount is a volume typo (the Dickerson-Mueller-Robotti
#: trace-data-pipeline keeps ``entrd_vol_qt < 0.5 * offering_amt * 1000``).
MAX_ISSUE_SHARE = 0.5


def _volume_vs_issue(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    fisd = _fisd(ctx)
    size = [c for c in ("offering_amt", "amount_outstanding") if c in fisd.columns]
    if not size:
        raise InputError("step 'volume_vs_issue' needs FISD offering_amt (or amount_outstanding), in thousands of "
                         "dollars", column="offering_amt")
    amt = fisd.select(pl.col("complete_cusip").alias("cusip_id"),
                      pl.coalesce([pl.col(c).cast(pl.Float64, strict=False) for c in size]).alias("_amt")
                      ).unique("cusip_id", keep="first")
    joined = _rows(df, pl.lit(True), ["cusip_id", "entrd_vol_qt"]).join(amt, on="cusip_id", how="inner")
    return joined.filter(pl.col("entrd_vol_qt") > MAX_ISSUE_SHARE * 1000.0 * pl.col("_amt"))[_RID]


def _dedupe(df: pl.LazyFrame, ctx: Context) -> pl.Series:
    """Exact duplicates: a message whose every TRACE column equals an earlier message's (the same report
    repeated across overlapping WRDS file splits, or a file appended twice). Lineage columns (input file and row)
    are ignored; the first copy in input order is kept."""
    cols = [c for c in SCHEMA if c in df.collect_schema().names()]
    # exact copies share their CUSIP, report date, message number and status: compare whole rows only there
    key = pl.struct("cusip_id", "trd_rpt_dt", "msg_seq_nb", "trc_st")
    candidates = _rows(df, key.is_duplicated(), cols).sort(_RID)
    return candidates.filter(~pl.struct(cols).is_first_distinct())[_RID]


STEPS: dict[str, Step] = {s.name: s for s in (
    Step("dedupe", "exact duplicate of an earlier message (every TRACE column equal)", _dedupe),
    Step("fisd_screens", "bond not in FISD or fails a bond screen (BBW 2019)", _fisd_screens, needs_fisd=True),
    Step("sub_product", "not a corporate bond trade (sub_prdct other than CORP, e.g. ELN equity-linked note)",
         _sub_product),
    Step("dn14_cancel", "post-2012 cancellation (X/C) and the report it cancels (Dick-Nielsen 2014)", _dn14_cancel),
    Step("dn14_reversal", "post-2012 reversal (Y) and the report it reverses (Dick-Nielsen 2014)", _dn14_reversal),
    Step("dn09_cancel", "pre-2012 cancellation (C) and the same-day report it cancels (Dick-Nielsen 2009)",
         _dn09_cancel),
    Step("dn09_correct", "pre-2012 report superseded by a same-day correction (W) (Dick-Nielsen 2009)",
         _dn09_correct),
    Step("dn09_correct_exctn", "pre-2012 report superseded by a correction (W) with the same execution date "
         "(WRDS / Tidy Finance keys)", _dn09_correct_exctn),
    Step("dn09_reversal", "pre-2012 reversal (asof R, 6 keys, one to one by time) and the report it reverses; "
         "asof X/D (Dick-Nielsen 2009)", _dn09_reversal),
    Step("dn09_reversal_7keys", "pre-2012 reversal (asof R, 7 keys with time, one to one) and the report it "
         "reverses; asof X/D (Dick-Nielsen 2014 SAS)", _dn09_reversal_7keys),
    Step("agency", "agency trade without commission with a customer (Dick-Nielsen 2014)", _agency),
    Step("interdealer", "buy-side report of an interdealer trade, one to one on bond, day, price, volume "
         "(Dick-Nielsen 2014)", _interdealer),
    Step("interdealer_any", "buy-side dealer report equal to any dealer sell on bond, day, price, volume "
         "(WRDS / Tidy Finance)", _interdealer_any),
    Step("when_issued", "when-issued trade (BBW 2019)", _when_issued),
    Step("locked_in", "locked-in trade (BBW 2019)", _locked_in),
    Step("special_condition", "special sale condition (BBW 2019)", _special_condition),
    Step("special_trade", "special trade flag (spcl_trd_fl = Y)", _special_trade),
    Step("long_settlement", "more than two days to settlement (BBW 2019)", _long_settlement),
    Step("long_settlement_lag", "settlement beyond the regular lag (T+3, T+2 from 2017-09-05, T+1 from 2024-05-28)",
         _long_settlement_lag),
    Step("price_range", "price below 5 or above 1000 per 100 par (BBW 2019)", _price_range),
    Step("min_volume", "par volume below $10,000 (BBW 2019)", _min_volume),
    Step("volume_vs_issue", "par volume above half the offering amount, a volume typo (Dickerson, Mueller and "
         "Robotti)", _volume_vs_issue, needs_fisd=True),
    Step("short_maturity", "less than one year to maturity (BBW 2019)", _short_maturity, needs_fisd=True),
)}
