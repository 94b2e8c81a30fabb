"""The tables that pass between stages: each column's name, type, unit and meaning, in one place.

A stage's writer produces exactly these columns in this order (``frame.select(TABLE.names)``) and the simulator's
truth uses the same contract; ``tests/test_schema.py`` checks both, and :func:`check_table` lets a reader check a
table it is given, so a renamed or retyped column fails at the seam that changed it rather than three stages
later. Types are polars dtype names.
Units: prices and accrued interest per 100 of par; returns in decimals per month (0.01 is 1%); amounts in dollars
of par unless a column says otherwise. ``docs/architecture.md`` shows where each table flows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bondpremia.errors import InputError

__all__ = ["DAILY", "MONTHLY", "Column", "Table", "check_table"]


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


def check_table(frame: Any, table: Table, *, where: str, extra: bool = True) -> None:
    """Raise :class:`InputError` when ``frame`` (polars or pandas) lacks a column of ``table`` or holds one with
    another type; ``where`` names the file or argument in the message. With ``extra=False`` columns beyond the
    contract are an error too."""
    schema = _schema(frame)
    missing = [c.name for c in table.columns if c.name not in schema]
    if missing:
        raise InputError(f"is not a {table.name} table: missing columns {missing} (expected {list(table.names)})",
                         file=where)
    wrong = [f"{c.name} is {schema[c.name]}, expected {c.dtype}" for c in table.columns
             if schema[c.name] not in (c.dtype, "Null")]
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
