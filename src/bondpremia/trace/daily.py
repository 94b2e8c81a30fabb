"""Bond-day prices and volumes from clean TRACE trades (``docs/trace.md``, section "Daily prices").

Per ``cusip_id, trd_exctn_dt`` (Bai, Bali and Wen 2019, Section 2, build monthly returns from such daily prices):

==============  ==========================================================================================
column          definition
==============  ==========================================================================================
``prc_vw``      price weighted by dollar volume ``rptd_pr * entrd_vol_qt / 100``:
                ``sum(p * p q / 100) / sum(p q / 100)``
``prc_vw_par``  price weighted by par volume ``entrd_vol_qt``: ``sum(p q) / sum(q)``
``prc_ew``      equally weighted mean of ``rptd_pr``
``prc_last``    ``rptd_pr`` of the last trade by ``trd_exctn_tm``, then ``msg_seq_nb``
``n_trades``    number of trades
``vol_par``     ``sum(entrd_vol_qt)`` (dollars of par)
``vol_dollar``  ``sum(rptd_pr * entrd_vol_qt / 100)`` (dollars)
==============  ==========================================================================================

The kernel is one lazy polars query (sort, group-by, aggregate), so it runs unchanged on each CUSIP partition of
the out-of-core pipeline. The input is sorted by ``cusip_id, trd_exctn_dt, trd_exctn_tm, msg_seq_nb`` (then price
and volume) before aggregating, which makes every output bit-identical under any permutation of the input rows.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from bondpremia.errors import InputError
from bondpremia.schema import DAILY, TRADES

#: Columns :func:`daily_prices` reads: the trade columns of the contract :data:`bondpremia.schema.TRADES` (its
#: lineage columns ``_file, _row`` are not read); ``msg_seq_nb`` only orders trades of the same second when present
#: (the ``tidyfinance`` preset does not keep it).
TRADE_COLUMNS = tuple(c for c in TRADES.names if not c.startswith("_"))
#: Columns of the bond-day table, in order (the contract :data:`bondpremia.schema.DAILY`).
DAILY_COLUMNS = DAILY.names

_ORDER = ["cusip_id", "trd_exctn_dt", "trd_exctn_tm", "msg_seq_nb", "rptd_pr", "entrd_vol_qt"]


def _as_lazy(frame: Any, name: str) -> pl.LazyFrame:
    if isinstance(frame, pl.LazyFrame):
        return frame
    if isinstance(frame, pl.DataFrame):
        return frame.lazy()
    import pandas as pd

    if isinstance(frame, pd.DataFrame):
        return pl.from_pandas(frame).lazy()
    raise InputError(f"expected a polars (Lazy)DataFrame or a pandas DataFrame, got {type(frame).__name__}",
                     column=name)


def _date_expr(name: str, dtype: pl.DataType) -> pl.Expr:
    """``name`` as ``pl.Date`` (ISO strings are parsed strictly; datetimes are truncated)."""
    col = pl.col(name)
    if dtype == pl.Date:
        return col
    if isinstance(dtype, pl.Datetime):
        return col.dt.date()
    if dtype in (pl.String, pl.Categorical):
        return col.cast(pl.String).str.to_date("%Y-%m-%d", strict=True)
    raise InputError(f"expected dates, got {dtype}", column=name)


def check_text_dates(lf: pl.LazyFrame, name: str, dtype: pl.DataType, what: str,
                     rows: pl.Series | None = None) -> None:
    """When the column ``name`` holds text, refuse a value that is not ``YYYY-MM-DD`` with an :class:`InputError`
    naming ``what``, the column and the row (``rows[i]`` when given: the row in the reader's input before it
    dropped any). One pass over that column; a typed date column costs nothing."""
    if dtype not in (pl.String, pl.Categorical):
        return
    col = pl.col(name).cast(pl.String)
    bad = (col.str.to_date("%Y-%m-%d", strict=False).is_null() & col.is_not_null()).arg_true().first()
    first = lf.select(bad.alias("row"), col.gather(bad).first().alias("value")).collect()
    if first["row"][0] is not None:
        i = int(first["row"][0])
        raise InputError(f"{what}: {first['value'][0]!r} is not a date (expected YYYY-MM-DD)", column=name,
                         row=int(rows[i]) if rows is not None else i)


def parse_dates(frame: pl.DataFrame, column: str, what: str, rows: pl.Series | None = None) -> pl.Series:
    """``frame[column]`` (eager) as ``pl.Date`` like :func:`_date_expr`, after :func:`check_text_dates`."""
    check_text_dates(frame.lazy(), column, frame.schema[column], what, rows)
    return frame.select(_date_expr(column, frame.schema[column]))[column]


def daily_prices(trades: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Bond-day prices and volumes from clean trades.

    Parameters
    ----------
    trades:
        Clean TRACE trades (polars DataFrame or LazyFrame, or pandas) with :data:`TRADE_COLUMNS`, ``msg_seq_nb``
        optional (``trd_exctn_dt`` a date or ISO string; ``trd_exctn_tm`` a time or ``HH:MM:SS`` string; missing
        times sort first; without ``msg_seq_nb`` trades of the same second are ordered by price, then volume).
        Other columns are ignored.

    Returns
    -------
    polars.DataFrame
        One row per ``cusip_id, trd_exctn_dt`` with :data:`DAILY_COLUMNS`, sorted by ``cusip_id, trd_exctn_dt``.
        Definitions in the module docstring and ``docs/trace.md`` (the daily prices from which Bai, Bali and
        Wen 2019, Section 2, build monthly returns).

    Raises
    ------
    InputError
        A required column is missing, or a trade has a missing, non-finite or non-positive ``rptd_pr`` or
        ``entrd_vol_qt`` (clean trades never do; the error names the column, CUSIP and date).
    """
    lf = _as_lazy(trades, "trades")
    schema = lf.collect_schema()
    lower = {c.lower(): c for c in schema.names()}
    missing = [c for c in TRADE_COLUMNS if c not in lower and c in TRADES.required]
    if missing:
        raise InputError(f"trade column(s) missing: {missing}", column=missing[0])
    lf = lf.select([pl.col(lower[c]).alias(c) if c in lower else pl.lit(None, pl.Int64).alias(c)
                    for c in TRADE_COLUMNS])
    check_text_dates(lf, "trd_exctn_dt", schema[lower["trd_exctn_dt"]], "trades")
    p = pl.col("rptd_pr").cast(pl.Float64)
    q = pl.col("entrd_vol_qt").cast(pl.Float64)
    lf = lf.with_columns(
        pl.col("cusip_id").cast(pl.String),
        _date_expr("trd_exctn_dt", schema[lower["trd_exctn_dt"]]),
        rptd_pr=p,
        entrd_vol_qt=q,
    )
    p, q = pl.col("rptd_pr"), pl.col("entrd_vol_qt")
    dollar = p * q / 100.0
    bad_p = p.is_null() | ~p.is_finite().fill_null(False) | (p <= 0).fill_null(True)
    bad_q = q.is_null() | ~q.is_finite().fill_null(False) | (q <= 0).fill_null(True)
    out = (
        lf.sort(_ORDER, nulls_last=False)
        .group_by(["cusip_id", "trd_exctn_dt"])
        .agg(
            _dollar_pr=(dollar * p).sum(),
            vol_dollar=dollar.sum(),
            _par_pr=(p * q).sum(),
            vol_par=q.sum(),
            prc_ew=p.mean(),
            prc_last=p.last(),
            n_trades=pl.len().cast(pl.Int64),
            _bad_pr=bad_p.sum(),
            _bad_vol=bad_q.sum(),
        )
        .with_columns(
            prc_vw=pl.col("_dollar_pr") / pl.col("vol_dollar"),
            prc_vw_par=pl.col("_par_pr") / pl.col("vol_par"),
        )
        .sort(["cusip_id", "trd_exctn_dt"])
        .collect()
    )
    if out.height and (out["cusip_id"].null_count() or out["trd_exctn_dt"].null_count()):
        column = "cusip_id" if out["cusip_id"].null_count() else "trd_exctn_dt"
        raise InputError("trade(s) with a missing value; clean the trades first (trace.clean)", column=column)
    for flag, column in (("_bad_pr", "rptd_pr"), ("_bad_vol", "entrd_vol_qt")):
        bad = out.filter(pl.col(flag) > 0)
        if bad.height:
            first = bad.row(0, named=True)
            raise InputError(
                f"{int(bad[flag].sum())} trade(s) with a missing, non-finite or non-positive value, first in "
                f"cusip_id {first['cusip_id']} on {first['trd_exctn_dt']}; clean the trades first (trace.clean)",
                column=column)
    return out.select(DAILY_COLUMNS)
