"""The TRACE cleaning kernel: named, switchable steps over the messages of a set of CUSIPs.

Every rule acts within one CUSIP, so the kernel runs unchanged on one partition of a 100 GB input or on a small
in-memory frame. The rules are in :mod:`bondpremia.trace.rules` (Dick-Nielsen 2009/2014, Bai-Bali-Wen 2019) and
:mod:`bondpremia.trace.tidyfinance` (Tidy Finance's cleaning, step for step); their keys, the presets and the
reference behaviour of each rule are specified in ``docs/trace.md``.

Rows in = rows out + rows dropped at every step (the audit); unparseable rows go to the rejects table with a
reason, never silently away.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from bondpremia.errors import InputError
from bondpremia.schema import AUDIT
from bondpremia.trace import rules as _rules
from bondpremia.trace import tidyfinance as _tidyfinance
from bondpremia.trace.rules import (
    _RID,
    _ROW,
    FORMAT_CHANGE,
    OPTIONAL,
    REQUIRED,
    SCHEMA,
    SETTLEMENT_LAGS,
    Context,
    Step,
)

STEPS: dict[str, Step] = {**_rules.STEPS, **_tidyfinance.STEPS}
_ALIVE = "_alive"

_DN = ["dn14_cancel", "dn14_reversal", "dn09_cancel", "dn09_correct", "dn09_reversal"]
PRESETS: dict[str, list[str]] = {
    "bbw2019": ["dedupe", "fisd_screens", "sub_product", *_DN, "interdealer", "when_issued", "locked_in",
                "special_condition", "special_trade", "long_settlement", "price_range", "min_volume",
                "volume_vs_issue", "short_maturity"],
    "dick_nielsen_2014": ["dedupe", *_DN, "agency", "interdealer"],
    # Tidy Finance's cleaning exactly, exact duplicates included (the package keeps them; add "dedupe" with steps=)
    "tidyfinance": list(_tidyfinance.PRESET),
}
#: Presets that read and return only some columns (the rest: every TRACE column in, every column out).
PRESET_COLUMNS: dict[str, tuple[list[str], list[str]]] = {
    "tidyfinance": (_tidyfinance.READS, _tidyfinance.OUTPUT),
}
_LINEAGE = ["_file", _ROW]


def preset_columns(preset: str, steps: Sequence[str] | None) -> tuple[list[str], list[str]] | None:
    """``(columns read, columns returned)`` of a preset run as it is (``steps`` not given), else None."""
    return PRESET_COLUMNS.get(preset) if steps is None else None

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
            return s.str.to_time("%H:%M:%S%.f", strict=False)  # the fraction is optional
        if dtype == pl.String:
            return s
        if dtype == pl.Int64:  # WRDS writes counts as '002' and sometimes as '2.0'
            return _integral(s.cast(pl.Float64, strict=False))
        return s.cast(dtype, strict=False)  # Float64: NaN and inf are read, and _parse rejects their rows
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
    return col.cast(dtype, strict=False)  # a NaN or inf of a float column is rejected by _parse


def _tidy(raw: pl.DataFrame, name: str, dtype: Any) -> bool:
    """Whether column ``name`` is already what parsing would make of it: of the target type, and (strings) without
    surrounding blanks or empty values, (floats) finite. Such a column is taken as it is: a check on its distinct
    values costs a tenth of stripping a million strings."""
    col = raw.get_column(name)
    if col.dtype != dtype:
        return False
    if dtype == pl.String:
        values = col.drop_nulls().unique()
        return bool(((values.str.strip_chars() == values) & (values != "")).all())
    if dtype == pl.Float64:
        return bool(col.drop_nulls().is_finite().all())
    return True


def _missing(raw: pl.Expr, dtype: Any) -> pl.Expr:
    if dtype == pl.String:
        return raw.is_null() | (raw.cast(pl.String).str.strip_chars() == "")
    return raw.is_null()


def parse_messages(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Type the messages; return ``(parsed, rejects)`` (see :func:`_parse`)."""
    every, bad, rejects = _parse(raw)
    return (every.filter(~bad) if bad.any() else every), rejects


def _parse(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series, pl.DataFrame]:
    """Type the messages; return ``(every row parsed, the mask of rejected rows, rejects)``.

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

    tidy = {c: _tidy(raw, c, t) for c, t in SCHEMA.items()}
    parsed_exprs = [(pl.col(c) if tidy[c] else _parsed(c, t, raw)).alias(f"__{c}") for c, t in SCHEMA.items()]
    # (condition, reason) in order of precedence; conditions that cannot hold for a column's input type are left
    # out (a column already of its target type cannot be unparseable: its parsed value is null only where the
    # input is), so clean typed input costs a few boolean columns
    bad: list[tuple[pl.Expr, str]] = []
    for c, dtype in SCHEMA.items():
        value = pl.col(f"__{c}")
        have = raw.schema[c]
        if tidy[c]:  # of its type, finite, no blanks: it can only be missing
            if c in REQUIRED:
                bad.append((pl.col(c).is_null(), f"{c}: missing value"))
            continue
        if dtype == pl.Date and have == pl.String:
            bad.append((pl.col(c).str.strip_chars().str.contains(r"^\d{1,2}/\d{1,2}/\d{2,4}$"),
                        f"{c}: ambiguous date (MM/DD/YYYY or DD/MM/YYYY?); write dates as YYYY-MM-DD"))
        if dtype == pl.Float64 and (have == pl.String or have.is_float()):
            as_float = pl.col(c).str.strip_chars().cast(pl.Float64, strict=False) if have == pl.String \
                else pl.col(c).cast(pl.Float64)
            bad.append((as_float.is_nan() | as_float.is_infinite(), f"{c}: not a finite number (NaN or infinite)"))
        if c in REQUIRED:
            bad.append((_missing(pl.col(c), have), f"{c}: missing value"))
        if have != dtype:
            bad.append(((value.is_null() & ~_missing(pl.col(c), have)), f"{c}: unparseable value"))
    bad.append((pl.col("__rptd_pr") <= 0, "rptd_pr: price is not positive"))
    bad.append((pl.col("__entrd_vol_qt") <= 0, "entrd_vol_qt: volume is not positive"))
    checked = raw.with_columns(parsed_exprs).with_columns(
        pl.any_horizontal([cond.fill_null(False) for cond, _ in bad]).alias("_bad"))
    extra = [c for c in raw.columns if c not in SCHEMA]
    columns = [pl.col(f"__{c}").alias(c) for c in SCHEMA] + [pl.col(c) for c in extra]
    rejected = checked.get_column("_bad")
    # the rejected rows stay in the parsed frame, flagged: the kernel never copies the messages to drop a few rows
    rejects = checked.lazy().filter(pl.col("_bad")).with_columns(
        pl.coalesce([pl.when(cond).then(pl.lit(text)) for cond, text in bad]).alias("reason")).select(
        [*raw.columns, "reason"]).collect()
    return checked.select(columns), rejected, rejects


# --- the kernel --------------------------------------------------------------------------------------------------

@dataclass(frozen=True, repr=False)
class CleanResult:
    """Surviving trades, the audit (one row per step) and the rejected rows (:class:`bondpremia.results.Results`:
    ``to_frame()`` the trades, ``summary()`` the audit, ``save(out)`` the files of ``bondpremia trace clean``)."""

    trades: pl.DataFrame
    audit: pl.DataFrame
    rejects: pl.DataFrame

    def summary(self) -> Any:
        """The audit as a pandas table: one row per step with ``rows_in``, ``rows_out``, ``rows_dropped``."""
        return self.audit.to_pandas()

    def to_frame(self) -> pl.DataFrame:
        return self.trades

    def __repr__(self) -> str:
        return (f"CleanResult(trades={self.trades.height:,} rows, steps={self.audit.height}, "
                f"rejects={self.rejects.height:,} rows)")

    def save(self, out: Any, *, force: bool = False) -> Any:
        """``trades.parquet``, ``audit.csv`` and ``rejects.parquet`` in the run folder ``out`` (atomic)."""
        from bondpremia.results import save_tables

        return save_tables(out, "trace clean", {"trades.parquet": self.trades, "audit.csv": self.audit,
                                                "rejects.parquet": self.rejects}, force=force)


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
        schema={c.name: getattr(pl, c.dtype) for c in AUDIT.columns})  # the contract bondpremia.schema.AUDIT


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
    io = preset_columns(preset, steps)
    if io is not None:  # read what the preset reads (names in any letter case), plus the lineage
        wanted = {*io[0], *_LINEAGE}
        raw = raw.select([c for c in raw.columns if c.lower() in wanted])
    fisd_pl = None if fisd is None else _as_polars(fisd, "fisd")
    if fisd_pl is not None:
        fisd_pl = fisd_pl.rename({c: c.lower() for c in fisd_pl.columns})
    for name in names:
        if STEPS[name].needs_fisd and fisd_pl is None:
            raise InputError(f"step {name!r} needs the FISD bond reference; pass fisd=", column="fisd")
    ctx = Context(fisd=fisd_pl, settlement_lags=tuple(settlement_lags or SETTLEMENT_LAGS))

    df, rejected, rejects = _parse(raw.rechunk())  # one chunk per column: gathers on chunked columns are 3x slower
    n_alive = raw.height - rejects.height
    audit = [("parse", raw.height, n_alive, PARSE_REASON)]
    # the messages stay in one frame with an alive flag: a step sees the survivors of the steps before it through a
    # lazy filter and copies only the columns it reads; the frame itself is copied once, at the end. _RID is the
    # row's place in the frame, and the order in which every rule breaks ties.
    df = df.with_row_index(_RID).with_columns((~rejected).alias(_ALIVE))
    for name in names:
        step = STEPS[name]
        n_in = n_alive
        alive = df.lazy().filter(pl.col(_ALIVE)).drop(_ALIVE)
        if step.transform is not None:
            order = step.transform(alive, ctx)  # row ids of the new frame, in its order, repeats allowed
            df = df[order].drop(_RID).with_row_index(_RID).with_columns(pl.lit(True).alias(_ALIVE))
            n_alive = df.height
        else:
            assert step.drop is not None
            drop = step.drop(alive, ctx).cast(pl.UInt32).unique()
            if drop.len():
                df = df.with_columns(pl.col(_ALIVE) & ~pl.col(_RID).is_in(drop.implode()))
                n_alive -= drop.len()
        audit.append((name, n_in, n_alive, step.reason))
    # one gather of the wide frame: the order is found on the survivors' sort keys alone
    keys = [*SORT_KEYS, _ROW]
    order = df.lazy().filter(pl.col(_ALIVE)).select(_RID, *keys).sort(keys, nulls_last=True).collect()[_RID]
    if io is not None:  # the preset's own output columns, chosen before the gather
        df = df.select([c for c in [*io[1], *_LINEAGE] if c in df.columns])
    trades = df[order].drop(_RID, _ALIVE, strict=False)
    return CleanResult(trades=trades, audit=audit_frame(audit), rejects=rejects)


__all__ = ["FORMAT_CHANGE", "PRESETS", "SETTLEMENT_LAGS", "STEPS", "CleanResult", "Step", "clean_trades",
           "parse_messages", "resolve_steps"]
