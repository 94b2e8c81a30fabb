"""The tables that pass between stages: each column's name, type, unit and meaning, in one place.

A stage's writer produces exactly these columns in this order (``frame.select(TABLE.names)``) and the simulator's
truth uses the same contract; ``tests/test_schema.py`` checks both, and :func:`check_table` lets a reader check a
table it is given, so a renamed or retyped column fails at the seam that changed it rather than three stages
later. Types are polars dtype names.
Units: prices and accrued interest per 100 of par; returns in decimals per month (0.01 is 1%); amounts in dollars
of par unless a column says otherwise. ``docs/architecture.md`` shows where each table flows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bondpremia.errors import InputError

__all__ = ["CHARACTERISTICS", "DAILY", "FORECASTS", "MONTHLY", "Column", "Table", "check_table"]


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # polars dtype name: String, Date, Float64, Int64
    unit: str
    meaning: str


@dataclass(frozen=True)
class Table:
    """The column contract of one table (the order is the writer's)."""

    name: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def describe(self) -> str:
        """A Markdown table of the contract (for the docs)."""
        rows = [f"| `{c.name}` | {c.dtype} | {c.unit} | {c.meaning} |" for c in self.columns]
        return "\n".join(["| column | type | unit | meaning |", "|---|---|---|---|", *rows])


#: Bond-day prices of :func:`bondpremia.trace.daily.daily_prices` (``daily.parquet``).
DAILY = Table("daily", (
    Column("cusip_id", "String", "", "9-character CUSIP"),
    Column("trd_exctn_dt", "Date", "", "trade date"),
    Column("prc_vw", "Float64", "per 100 par", "dollar-volume-weighted clean price of the day's trades"),
    Column("prc_vw_par", "Float64", "per 100 par", "par-volume-weighted clean price"),
    Column("prc_ew", "Float64", "per 100 par", "equal-weighted clean price"),
    Column("prc_last", "Float64", "per 100 par", "price of the day's last trade"),
    Column("n_trades", "Int64", "count", "trades of the day"),
    Column("vol_par", "Float64", "dollars of par", "par volume of the day"),
    Column("vol_dollar", "Float64", "dollars", "dollar volume of the day"),
))

#: Bond-month returns of :func:`bondpremia.trace.monthly.monthly_returns` (``monthly.parquet``, without
#: ``reason``; the simulator's ``truth_monthly``). Bai, Bali and Wen (2019, JFE), Section 2.
MONTHLY = Table("monthly", (
    Column("cusip_id", "String", "", "9-character CUSIP"),
    Column("date", "Date", "", "calendar month end t"),
    Column("price_date", "Date", "", "day of the month-end price (one of the last five business days of t)"),
    Column("price", "Float64", "per 100 par", "month-end clean price"),
    Column("accrued", "Float64", "per 100 par", "accrued interest at price_date"),
    Column("coupon_cash", "Float64", "per 100 par", "coupons paid in the holding window of ret"),
    Column("start_date", "Date", "", "day of the month-start price (first five business days of t)"),
    Column("start_price", "Float64", "per 100 par", "month-start clean price"),
    Column("start_accrued", "Float64", "per 100 par", "accrued interest at start_date"),
    Column("ret_end", "Float64", "decimal per month", "end-to-end return, month-end t-1 to month-end t"),
    Column("ret_start", "Float64", "decimal per month", "start-to-end return within month t"),
    Column("ret", "Float64", "decimal per month", "ret_end when it exists, else ret_start"),
    Column("ret_type", "String", "", "'end' or 'start': which return ret is; null without one"),
    Column("rf", "Float64", "decimal per month", "1-month T-bill return of month t"),
    Column("exret", "Float64", "decimal per month", "ret - rf"),
    Column("amount_outstanding", "Float64", "dollars of par", "amount outstanding at the month end"),
    Column("mv", "Float64", "dollars", "(price + accrued) / 100 x amount_outstanding"),
    Column("mv_weight", "Float64", "fraction", "mv over the month's total mv of bonds with a finite mv"),
    Column("maturity", "Date", "", "maturity date (FISD)"),
    Column("rating_num", "Int64", "1 (AAA) .. 22 (D)", "numeric rating (FISD), null when not given"),
    Column("n_trades", "Int64", "count", "trades of the month up to maturity"),
    Column("vol_par", "Float64", "dollars of par", "par volume of the month up to maturity"),
))


#: The keys and target of the characteristics panel of :func:`bondpremia.characteristics.build_characteristics`
#: (``characteristics.parquet``); one column per characteristic follows, named as in
#: ``docs/characteristics.md``.
CHARACTERISTICS = Table("characteristics", (
    Column("id", "String", "", "bond identifier (the CUSIP of a TRACE panel)"),
    Column("date", "Date", "", "calendar month end t (characteristics known at the end of t)"),
    Column("exret_next", "Float64", "decimal per month", "excess return of month t + 1, on the row of t"),
))

#: Out-of-sample forecasts of :func:`bondpremia.models.forecast.recursive_forecast` (``forecasts.parquet``, one
#: row a model, forecast date and maturity). Bianchi, Büchner and Tamoni (2021): log excess returns held h months.
FORECASTS = Table("forecasts", (
    Column("model", "String", "", "model name (docs/treasury.md)"),
    Column("date", "Date", "", "forecast date t (month end; information up to t)"),
    Column("target_date", "Date", "", "t + h, when the forecast return is realized"),
    Column("maturity", "String", "", "bond maturity in years, or EW (the equal-weighted portfolio)"),
    Column("forecast", "Float64", "decimal per holding period", "forecast log excess return"),
    Column("actual", "Float64", "decimal per holding period", "realized log excess return (NaN if not yet)"),
    Column("benchmark", "Float64", "decimal per holding period", "historical mean of the same training rows"),
    Column("n_train", "Int64", "count", "training rows of the fit behind the forecast"),
))


def check_table(frame: Any, table: Table, *, where: str, extra: bool = True,
                columns: Sequence[str] | None = None) -> None:
    """Raise :class:`InputError` when ``frame`` (polars or pandas) lacks a column of ``table`` or holds one with
    another type; ``where`` names the file or argument in the message. With ``extra=False`` columns beyond the
    contract are an error too. A ``Date`` column may be stored as a timestamp (``Datetime``, as pandas writes it).
    ``columns`` restricts the check to the contract's columns a reader uses (their presence and types)."""
    schema = _schema(frame)
    if columns is not None:
        unknown = [c for c in columns if c not in table.names]
        if unknown:
            raise ValueError(f"{unknown} are not columns of the {table.name} contract")  # a programming error
        table = Table(table.name, tuple(c for c in table.columns if c.name in columns))
    missing = [c.name for c in table.columns if c.name not in schema]
    if missing:
        raise InputError(f"is not a {table.name} table: missing columns {missing} (expected {list(table.names)})",
                         file=where)
    wrong = [f"{c.name} is {schema[c.name]}, expected {c.dtype}" for c in table.columns
             if schema[c.name] not in (c.dtype, "Null") and (c.dtype, schema[c.name]) != ("Date", "Datetime")]
    if wrong:
        raise InputError(f"is not a {table.name} table: {'; '.join(wrong)}", file=where)
    if not extra and len(schema) > len(table.columns):
        others = [n for n in schema if n not in table.names]
        raise InputError(f"has columns outside the {table.name} contract: {others}", file=where)


_PANDAS = {"object": "String", "string": "String", "str": "String", "float64": "Float64", "Float64": "Float64",
           "int64": "Int64", "Int64": "Int64", "datetime64[ns]": "Date", "datetime64[us]": "Date",
           "datetime64[ms]": "Date", "datetime64[s]": "Date"}


def _schema(frame: Any) -> dict[str, str]:
    import polars as pl

    if isinstance(frame, pl.LazyFrame):
        return {k: str(v).split("(")[0] for k, v in frame.collect_schema().items()}
    if isinstance(frame, pl.DataFrame):
        return {k: str(v).split("(")[0] for k, v in frame.schema.items()}
    import pandas as pd

    if isinstance(frame, pd.DataFrame):
        return {str(k): _PANDAS.get(str(v), str(v)) for k, v in frame.dtypes.items()}
    raise InputError(f"expected a polars or pandas DataFrame, got {type(frame).__name__}", column="frame")
