"""The TRACE cleaning kernel: named, switchable steps over the messages of a set of CUSIPs.

Every rule acts within one CUSIP, so the kernel runs unchanged on one partition of a 100 GB input or on a small
in-memory frame. The rules, their matching keys and the presets are specified in ``docs/trace.md``:

- Dick-Nielsen, J. (2014), "How to clean Enhanced TRACE data", SSRN 2337908: post-2012-02-06 cancellations
  (``X``/``C``, same message number), reversals (``Y``, original message number), agency trades, interdealer
  double counts.
- Dick-Nielsen, J. (2009), "Liquidity biases in TRACE", Journal of Fixed Income 19(2): pre-2012 cancellations
  (``C``), corrections (``W``, chains resolved by message numbers) and reversals (``asof_cd = R``, one to one).
- Bai, J., Bali, T. G. and Wen, Q. (2019), "Common risk factors in the cross-section of corporate bond returns",
  Journal of Financial Economics 131(3), Section 2: when-issued, locked-in, special-condition, long-settlement,
  price (5 to 1000 per 100 par), minimum volume ($10,000 par) and maturity filters, and the bond screens.

Rows in = rows out + rows dropped at every step (the audit); unparseable rows go to the rejects table with a
reason, never silently away.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from bondpremia.errors import InputError
from bondpremia.trace.screens import eligible_cusips

#: Column types of the Enhanced TRACE messages after parsing (WRDS names, lower case).
REQUIRED: dict[str, Any] = {
    "cusip_id": pl.String,
    "trd_exctn_dt": pl.Date,
    "trd_exctn_tm": pl.Time,
    "trd_rpt_dt": pl.Date,
    "msg_seq_nb": pl.Int64,
    "trc_st": pl.String,
    "rptd_pr": pl.Float64,
    "entrd_vol_qt": pl.Float64,
    "rpt_side_cd": pl.String,
    "cntra_mp_id": pl.String,
}
OPTIONAL: dict[str, Any] = {
    "bond_sym_id": pl.String,
    "trd_rpt_tm": pl.Time,
    "orig_msg_seq_nb": pl.Int64,
    "asof_cd": pl.String,
    "wis_fl": pl.String,
    "lckd_in_ind": pl.String,
    "sale_cndtn_cd": pl.String,
    "days_to_sttl_ct": pl.Int64,
    "yld_pt": pl.Float64,
    "buy_cpcty_cd": pl.String,
    "sell_cpcty_cd": pl.String,
    "buy_cmsn_rt": pl.Float64,
    "sell_cmsn_rt": pl.Float64,
    "cmsn_trd": pl.String,
}
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
    """A named cleaning rule: ``drop(df, ctx)`` returns the row ids (``_rid``) to delete."""

    name: str
    reason: str
    drop: Callable[[pl.DataFrame, Context], pl.Series]
    needs_fisd: bool = False


def _ids(df: pl.DataFrame, mask: pl.Expr) -> pl.Series:
    return df.filter(mask)[_RID]


def _matched(targets: pl.DataFrame, refs: pl.DataFrame, left_on: list[str], right_on: list[str]) -> pl.Series:
    """Row ids of ``targets`` that match any row of ``refs``."""
    if targets.height == 0 or refs.height == 0:
        return pl.Series(_RID, [], dtype=pl.UInt32)
    return targets.join(refs.select(right_on).unique(), left_on=left_on, right_on=right_on, how="semi",
                        nulls_equal=True)[_RID]


def _one_to_one(targets: pl.DataFrame, refs: pl.DataFrame, keys: list[str]) -> pl.Series:
    """Row ids of ``targets`` matched one to one with ``refs``: the k-th of a key (in ``msg_seq_nb`` order, then
    input order) with the k-th of the same key."""
    if targets.height == 0 or refs.height == 0:
        return pl.Series(_RID, [], dtype=pl.UInt32)

    def ranked(f: pl.DataFrame) -> pl.DataFrame:
        return f.sort(["msg_seq_nb", _RID]).with_columns(_k=pl.int_range(pl.len()).over(keys))

    return ranked(targets).join(ranked(refs).select([*keys, "_k"]), on=[*keys, "_k"], how="semi",
                                nulls_equal=True)[_RID]


def _concat_ids(*ids: pl.Series) -> pl.Series:
    return pl.concat([s.cast(pl.UInt32) for s in ids])


# --- Dick-Nielsen (2014): post-2012 format -----------------------------------------------------------------------

def _dn14_cancel(df: pl.DataFrame, ctx: Context) -> pl.Series:
    cancels = df.filter(_POST & pl.col("trc_st").is_in(["X", "C"]))
    reports = df.filter(_POST & pl.col("trc_st").is_in(["T", "R"]))
    keys = [*KEYS7, "msg_seq_nb"]
    return _concat_ids(cancels[_RID], _matched(reports, cancels, keys, keys))


def _dn14_reversal(df: pl.DataFrame, ctx: Context) -> pl.Series:
    rev = df.filter(_POST & (pl.col("trc_st") == "Y"))
    reports = df.filter(_POST & pl.col("trc_st").is_in(["T", "R"]))
    return _concat_ids(rev[_RID], _matched(reports, rev, [*KEYS7, "msg_seq_nb"], [*KEYS7, "orig_msg_seq_nb"]))


# --- Dick-Nielsen (2009): pre-2012 format ------------------------------------------------------------------------

def _dn09_cancel(df: pl.DataFrame, ctx: Context) -> pl.Series:
    cancels = df.filter(~_POST & (pl.col("trc_st") == "C"))
    reports = df.filter(~_POST & pl.col("trc_st").is_in(["T", "W"]))
    return _concat_ids(cancels[_RID], _matched(reports, cancels, [*KEYS5, "msg_seq_nb"],
                                               [*KEYS5, "orig_msg_seq_nb"]))


def _dn09_correct(df: pl.DataFrame, ctx: Context) -> pl.Series:
    # Every report that some W points to is superseded; chains T <- W1 <- W2 resolve to W2 by message numbers
    # alone, so two chains sharing a timestamp never interfere.
    corrections = df.filter(~_POST & (pl.col("trc_st") == "W") & pl.col("orig_msg_seq_nb").is_not_null())
    reports = df.filter(~_POST & pl.col("trc_st").is_in(["T", "W"]))
    return _matched(reports, corrections, ["cusip_id", "msg_seq_nb"], ["cusip_id", "orig_msg_seq_nb"])


def _dn09_reversal(df: pl.DataFrame, ctx: Context) -> pl.Series:
    is_rev = pl.col("asof_cd").fill_null("") == "R"
    rev = df.filter(~_POST & is_rev)
    reports = df.filter(~_POST & ~is_rev & pl.col("trc_st").is_in(["T", "W"]))
    return _concat_ids(rev[_RID], _one_to_one(reports, rev, KEYS7))


# --- both periods ------------------------------------------------------------------------------------------------

def _agency(df: pl.DataFrame, ctx: Context) -> pl.Series:
    side, buy, sell = pl.col("rpt_side_cd"), pl.col("buy_cpcty_cd"), pl.col("sell_cpcty_cd")
    agency = ((side == "B") & (buy == "A")) | ((side == "S") & (sell == "A"))
    return _ids(df, (pl.col("cntra_mp_id") == "C") & (pl.col("cmsn_trd") == "N") & agency.fill_null(False))


def _interdealer(df: pl.DataFrame, ctx: Context) -> pl.Series:
    dealer = pl.col("cntra_mp_id") == "D"
    buys = df.filter(dealer & (pl.col("rpt_side_cd") == "B"))
    sells = df.filter(dealer & (pl.col("rpt_side_cd") == "S"))
    return _one_to_one(buys, sells, KEYS5)


def _flag(column: str) -> Callable[[pl.DataFrame, Context], pl.Series]:
    return lambda df, ctx: _ids(df, pl.col(column).fill_null("") == "Y")


def _special_condition(df: pl.DataFrame, ctx: Context) -> pl.Series:
    code = pl.col("sale_cndtn_cd")
    return _ids(df, code.is_not_null() & (code != "@"))


def settlement_lag_expr(lags: Sequence[tuple[dt.date, int]], date: str = "trd_exctn_dt") -> pl.Expr:
    """The regular settlement lag (days) in force on each row's trade date."""
    ordered = sorted(lags)
    expr: pl.Expr = pl.lit(ordered[0][1])
    for start, lag in ordered[1:]:
        expr = pl.when(pl.col(date) >= pl.lit(start)).then(pl.lit(lag)).otherwise(expr)
    return expr


def _long_settlement(df: pl.DataFrame, ctx: Context) -> pl.Series:
    days = pl.col("days_to_sttl_ct")
    return _ids(df, days.is_not_null() & (days > settlement_lag_expr(ctx.settlement_lags)))


def _price_range(df: pl.DataFrame, ctx: Context) -> pl.Series:
    p = pl.col("rptd_pr")
    return _ids(df, (p < 5.0) | (p > 1000.0))


def _min_volume(df: pl.DataFrame, ctx: Context) -> pl.Series:
    return _ids(df, pl.col("entrd_vol_qt") < 10_000.0)


def _fisd(ctx: Context) -> pl.DataFrame:
    if ctx.fisd is None:
        raise InputError("this step needs the FISD bond reference; pass fisd=", column="fisd")
    return ctx.fisd


def _fisd_screens(df: pl.DataFrame, ctx: Context) -> pl.Series:
    ok = eligible_cusips(_fisd(ctx))
    return df.join(ok.rename({"complete_cusip": "cusip_id"}), on="cusip_id", how="anti")[_RID]


def _short_maturity(df: pl.DataFrame, ctx: Context) -> pl.Series:
    fisd = _fisd(ctx)
    mat = fisd.select(pl.col("complete_cusip").alias("cusip_id"), pl.col("maturity").cast(pl.Date)).unique(
        "cusip_id", keep="first")
    joined = df.select(_RID, "cusip_id", "trd_exctn_dt").join(mat, on="cusip_id", how="inner")
    return joined.filter((pl.col("maturity") - pl.col("trd_exctn_dt")).dt.total_days() < 365)[_RID]


def _dedupe(df: pl.DataFrame, ctx: Context) -> pl.Series:
    """Exact duplicates: a message whose every TRACE column equals an earlier message's (the same report
    repeated across overlapping WRDS file splits, or a file appended twice). Lineage columns (input file and row)
    are ignored; the first copy in input order is kept."""
    cols = [c for c in SCHEMA if c in df.columns]
    ordered = df.sort(_RID)
    return ordered.filter(~pl.struct(cols).is_first_distinct())[_RID]


STEPS: dict[str, Step] = {s.name: s for s in (
    Step("dedupe", "exact duplicate of an earlier message (every TRACE column equal)", _dedupe),
    Step("fisd_screens", "bond not in FISD or fails a bond screen (BBW 2019)", _fisd_screens, needs_fisd=True),
    Step("dn14_cancel", "post-2012 cancellation (X/C) and the report it cancels (Dick-Nielsen 2014)", _dn14_cancel),
    Step("dn14_reversal", "post-2012 reversal (Y) and the report it reverses (Dick-Nielsen 2014)", _dn14_reversal),
    Step("dn09_cancel", "pre-2012 cancellation (C) and the report it cancels (Dick-Nielsen 2009)", _dn09_cancel),
    Step("dn09_correct", "pre-2012 report superseded by a correction (W) (Dick-Nielsen 2009)", _dn09_correct),
    Step("dn09_reversal", "pre-2012 reversal (asof R) and the report it reverses, one to one (Dick-Nielsen 2009)",
         _dn09_reversal),
    Step("agency", "agency trade without commission with a customer (Dick-Nielsen 2014)", _agency),
    Step("interdealer", "buy-side report of an interdealer trade (Dick-Nielsen 2014)", _interdealer),
    Step("when_issued", "when-issued trade (BBW 2019)", _flag("wis_fl")),
    Step("locked_in", "locked-in trade (BBW 2019)", _flag("lckd_in_ind")),
    Step("special_condition", "special sale condition (BBW 2019)", _special_condition),
    Step("long_settlement", "settlement beyond the regular lag (BBW 2019)", _long_settlement),
    Step("price_range", "price below 5 or above 1000 per 100 par (BBW 2019)", _price_range),
    Step("min_volume", "par volume below $10,000 (BBW 2019)", _min_volume),
    Step("short_maturity", "less than one year to maturity (BBW 2019)", _short_maturity, needs_fisd=True),
)}

_DN = ["dn14_cancel", "dn14_reversal", "dn09_cancel", "dn09_correct", "dn09_reversal"]
PRESETS: dict[str, list[str]] = {
    "bbw2019": ["dedupe", "fisd_screens", *_DN, "interdealer", "when_issued", "locked_in", "special_condition",
                "long_settlement", "price_range", "min_volume", "short_maturity"],
    "dick_nielsen_2014": ["dedupe", *_DN, "agency", "interdealer"],
}

PARSE_REASON = "unparseable or missing required value (see rejects)"


def resolve_steps(preset: str = "bbw2019", steps: Sequence[str] | None = None,
                  skip: Iterable[str] = ()) -> list[str]:
    """The ordered step names a run executes (``parse`` is implicit and always first)."""
    if steps is None:
        if preset not in PRESETS:
            raise InputError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}", column="preset")
        names = list(PRESETS[preset])
    else:
        names = [s for s in steps if s != "parse"]
    skip = list(skip)
    for name in [*names, *skip]:
        if name not in STEPS:
            raise InputError(f"unknown cleaning step {name!r}; steps are {sorted(STEPS)}", column="steps")
    from bondpremia.validate import unique

    unique(names, "steps")  # a step run twice would count its rows twice in the audit
    return [n for n in names if n not in skip]


# --- parsing -----------------------------------------------------------------------------------------------------

_ISO_DATE = r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"


def _integral(f: pl.Expr) -> pl.Expr:
    """A float that is a whole number as Int64, else null (``12.5`` is not a message number, ``2.0`` is)."""
    return pl.when(f.is_finite() & (f == f.floor())).then(f.cast(pl.Int64, strict=False))


def _parsed(name: str, dtype: Any, raw: pl.DataFrame) -> pl.Expr:
    """Column ``name`` as ``dtype``; null where the value cannot be read unambiguously.

    Dates: ISO ``YYYY-MM-DD`` (optionally with a time of day, nothing else after it), ``YYYYMMDD`` and SAS
    ``15JAN2010``; ``MM/DD/YYYY`` and ``DD/MM/YYYY`` cannot be told apart (08/06/2011), so slash dates are refused.
    Times: ``HH:MM:SS[.f]``, seconds after midnight (a number in [0, 86400)), or a duration (pandas Timedelta).
    Integers: whole numbers only. Floats: finite numbers only (NaN and inf are refused).
    """
    col = pl.col(name)
    have = raw.schema[name]
    if have == dtype and have not in (pl.String, pl.Float64):  # strings are stripped and blanks made null below
        return col
    if have == pl.String:
        s = col.str.strip_chars()
        s = pl.when(s == "").then(None).otherwise(s)
        if dtype == pl.Date:
            iso = pl.when(s.str.contains(_ISO_DATE)).then(s.str.slice(0, 10))
            return pl.coalesce(iso.str.to_date("%Y-%m-%d", strict=False),
                               pl.when(s.str.contains(r"^\d{8}$")).then(s).str.to_date("%Y%m%d", strict=False),
                               pl.when(s.str.contains(r"^\d{2}[A-Za-z]{3}\d{4}$")).then(s.str.to_titlecase())
                               .str.to_date("%d%b%Y", strict=False))
        if dtype == pl.Time:
            return pl.coalesce(s.str.to_time("%H:%M:%S", strict=False), s.str.to_time("%H:%M:%S%.f", strict=False))
        if dtype == pl.String:
            return s
        if dtype == pl.Int64:  # WRDS writes counts as '002' and sometimes as '2.0'
            return _integral(s.cast(pl.Float64, strict=False))
        f = s.cast(dtype, strict=False)
        return pl.when(f.is_finite()).then(f) if dtype == pl.Float64 else f
    if isinstance(have, pl.Datetime) and dtype in (pl.Date, pl.Time):
        return col.dt.date() if dtype == pl.Date else col.dt.time()
    if dtype == pl.Time and isinstance(have, pl.Duration):
        ns = col.dt.total_nanoseconds()
        return pl.when((ns >= 0) & (ns < 86_400 * 10**9)).then(ns.cast(pl.Time))
    if dtype == pl.Time and have.is_numeric():  # seconds after midnight
        sec = col.cast(pl.Float64)
        return pl.when((sec >= 0) & (sec < 86_400)).then((sec * 1e9).round().cast(pl.Int64).cast(pl.Time))
    if dtype == pl.Int64 and have.is_float():
        return _integral(col)
    if dtype == pl.Float64:
        f = col.cast(pl.Float64, strict=False)
        return pl.when(f.is_finite()).then(f)
    return col.cast(dtype, strict=False)


def _missing(raw: pl.Expr, dtype: Any) -> pl.Expr:
    if dtype == pl.String:
        return raw.is_null() | (raw.cast(pl.String).str.strip_chars() == "")
    return raw.is_null()


def parse_messages(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Type the messages; return ``(parsed, rejects)``.

    Column names are matched case-insensitively. A row is rejected (with the first reason found) when a required
    value is missing or unparseable, an optional value is present but unparseable, or the price or volume is not
    positive. Absent optional columns are added as NULL. ``rejects`` keeps the input columns as given, plus
    ``reason`` and ``_row``.
    """
    lower = {c: c.lower() for c in raw.columns}
    if len(set(lower.values())) < len(lower):
        dup = sorted(c for c in raw.columns if list(lower.values()).count(c.lower()) > 1)
        raise InputError(f"columns differ only in letter case: {dup}", column=dup[0])
    raw = raw.rename({c: lc for c, lc in lower.items() if c != lc})
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise InputError(f"required TRACE column(s) missing: {missing}; found {raw.columns}", column=missing[0])
    if _ROW not in raw.columns:
        raw = raw.with_row_index(_ROW).with_columns(pl.col(_ROW).cast(pl.Int64))
    raw = raw.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in OPTIONAL.items() if c not in raw.columns)

    parsed_exprs = [_parsed(c, t, raw).alias(c) for c, t in SCHEMA.items()]
    bad: list[pl.Expr] = []
    for c, dtype in SCHEMA.items():
        value = pl.col(f"__{c}")
        have = raw.schema[c]
        if dtype == pl.Date and have == pl.String:
            bad.append(pl.when(pl.col(c).str.strip_chars().str.contains(r"^\d{1,2}/\d{1,2}/\d{2,4}$")).then(
                pl.lit(f"{c}: ambiguous date (MM/DD/YYYY or DD/MM/YYYY?); write dates as YYYY-MM-DD")))
        if dtype == pl.Float64:
            as_float = pl.col(c).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False) \
                if have == pl.String else pl.col(c).cast(pl.Float64, strict=False)
            bad.append(pl.when(as_float.is_nan() | as_float.is_infinite()).then(
                pl.lit(f"{c}: not a finite number (NaN or infinite)")))
        if c in REQUIRED:
            bad.append(pl.when(_missing(pl.col(c), raw.schema[c])).then(pl.lit(f"{c}: missing value")))
            bad.append(pl.when(value.is_null()).then(pl.lit(f"{c}: unparseable value")))
        else:
            bad.append(pl.when(value.is_null() & ~_missing(pl.col(c), raw.schema[c])).then(
                pl.lit(f"{c}: unparseable value")))
    bad.append(pl.when(pl.col("__rptd_pr") <= 0).then(pl.lit("rptd_pr: price is not positive")))
    bad.append(pl.when(pl.col("__entrd_vol_qt") <= 0).then(pl.lit("entrd_vol_qt: volume is not positive")))
    checked = raw.with_columns([e.alias(f"__{c}") for e, c in zip(parsed_exprs, SCHEMA, strict=True)]).with_columns(
        pl.coalesce(bad).alias("reason"))
    rejects = checked.filter(pl.col("reason").is_not_null()).select([*raw.columns, "reason"])
    good = checked.filter(pl.col("reason").is_null())
    extra = [c for c in raw.columns if c not in SCHEMA]
    parsed = good.select([pl.col(f"__{c}").alias(c) for c in SCHEMA] + [pl.col(c) for c in extra])
    return parsed, rejects


# --- the kernel --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CleanResult:
    """Surviving trades, the audit (one row per step) and the rejected rows."""

    trades: pl.DataFrame
    audit: pl.DataFrame
    rejects: pl.DataFrame


SORT_KEYS = ["cusip_id", "trd_exctn_dt", "trd_exctn_tm", "msg_seq_nb"]


def _as_polars(frame: Any, argument: str) -> pl.DataFrame:
    if isinstance(frame, pl.DataFrame):
        return frame
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    try:
        import pandas as pd

        if isinstance(frame, pd.DataFrame):
            return pl.from_pandas(frame)
    except ImportError:  # pragma: no cover
        pass
    raise InputError(f"expected a polars or pandas DataFrame, got {type(frame).__name__}", column=argument)


def audit_frame(rows: list[tuple[str, int, int, str]]) -> pl.DataFrame:
    """The audit table from ``(step, rows_in, rows_out, reason)`` tuples."""
    return pl.DataFrame(
        {"step": [r[0] for r in rows], "rows_in": [r[1] for r in rows], "rows_out": [r[2] for r in rows],
         "rows_dropped": [r[1] - r[2] for r in rows], "reason": [r[3] for r in rows]},
        schema={"step": pl.String, "rows_in": pl.Int64, "rows_out": pl.Int64, "rows_dropped": pl.Int64,
                "reason": pl.String})


def clean_trades(messages: Any, fisd: Any = None, *, preset: str = "bbw2019", steps: Sequence[str] | None = None,
                 skip: Iterable[str] = (),
                 settlement_lags: Sequence[tuple[dt.date, int]] | None = None) -> CleanResult:
    """Clean Enhanced TRACE messages (see ``docs/trace.md`` for every rule and its keys).

    Parameters
    ----------
    messages:
        Enhanced TRACE messages (polars or pandas), WRDS column names in any letter case; dates as dates or
        ``YYYY-MM-DD`` strings, times as times or ``HH:MM:SS`` strings.
    fisd:
        FISD bond reference (``complete_cusip``, ``maturity`` and the screen columns); needed by ``fisd_screens``
        and ``short_maturity``.
    preset, steps, skip:
        The steps run are ``steps`` if given, else the preset's; minus ``skip``. ``parse`` always runs first.
    settlement_lags:
        ``(first trade date, lag in days)`` pairs for ``long_settlement``; default :data:`SETTLEMENT_LAGS`.
    """
    names = resolve_steps(preset, steps, skip)
    raw = _as_polars(messages, "messages")
    fisd_pl = None if fisd is None else _as_polars(fisd, "fisd")
    if fisd_pl is not None:
        fisd_pl = fisd_pl.rename({c: c.lower() for c in fisd_pl.columns})
    for name in names:
        if STEPS[name].needs_fisd and fisd_pl is None:
            raise InputError(f"step {name!r} needs the FISD bond reference; pass fisd=", column="fisd")
    ctx = Context(fisd=fisd_pl, settlement_lags=tuple(settlement_lags or SETTLEMENT_LAGS))

    df, rejects = parse_messages(raw)
    audit = [("parse", raw.height, df.height, PARSE_REASON)]
    df = df.with_row_index(_RID)
    for name in names:
        step = STEPS[name]
        n_in = df.height
        drop = step.drop(df, ctx)
        if drop.len():
            df = df.filter(~pl.col(_RID).is_in(drop.cast(pl.UInt32).unique().implode()))
        audit.append((name, n_in, df.height, step.reason))
    trades = df.drop(_RID).sort([*SORT_KEYS, _ROW], nulls_last=True)
    return CleanResult(trades=trades, audit=audit_frame(audit), rejects=rejects)


__all__ = ["FORMAT_CHANGE", "PRESETS", "SETTLEMENT_LAGS", "STEPS", "CleanResult", "Step", "clean_trades",
           "parse_messages", "resolve_steps"]
