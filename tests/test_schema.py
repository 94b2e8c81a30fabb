"""The column contracts of bondpremia.schema: every writer's table matches its contract exactly (names, order,
types), and a table that breaks a contract is named in one clear error."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest

from bondpremia.errors import InputError
from bondpremia.schema import DAILY, MONTHLY, check_table
from bondpremia.simulate.trace import simulate_trace
from bondpremia.trace.daily import daily_prices
from bondpremia.trace.monthly import monthly_returns


def _exact(frame: pl.DataFrame, names: tuple[str, ...], dtypes: dict[str, str]) -> None:
    assert tuple(frame.columns) == names
    assert {k: str(v) for k, v in frame.schema.items()} == dtypes


def test_the_trace_stages_write_their_contracts():
    sim = simulate_trace(n_bonds=15, n_months=5, seed=3)
    daily = daily_prices(sim.truth_trades)
    _exact(daily, DAILY.names, {c.name: c.dtype for c in DAILY.columns})
    check_table(daily, DAILY, where="daily", extra=False)
    monthly = monthly_returns(daily, sim.fisd, rates=sim.rates, amount_outstanding=sim.amount_outstanding)
    _exact(monthly, (*MONTHLY.names, "reason"), {**{c.name: c.dtype for c in MONTHLY.columns}, "reason": "String"})
    check_table(monthly, MONTHLY, where="monthly.parquet")
    _exact(sim.truth_monthly, MONTHLY.names, {c.name: c.dtype for c in MONTHLY.columns})
    check_table(sim.truth_monthly.to_pandas(), MONTHLY, where="truth_monthly", extra=False)  # pandas types too


def test_a_broken_table_is_named_in_one_error():
    daily = pl.DataFrame({c.name: pl.Series([], dtype=getattr(pl, c.dtype)) for c in DAILY.columns})
    with pytest.raises(InputError) as info:
        check_table(daily.drop("prc_ew", "vol_par"), DAILY, where="d.parquet")
    assert str(info.value) == ("file d.parquet: is not a daily table: missing columns ['prc_ew', 'vol_par'] "
                               f"(expected {list(DAILY.names)})")
    with pytest.raises(InputError) as info:
        check_table(daily.with_columns(pl.col("n_trades").cast(pl.Float64), pl.col("trd_exctn_dt").cast(pl.String)),
                    DAILY, where="d.parquet")
    assert info.value.reason == ("is not a daily table: trd_exctn_dt is String, expected Date; "
                                 "n_trades is Float64, expected Int64")
    with pytest.raises(InputError, match=r"has columns outside the daily contract: \['note'\]"):
        check_table(daily.with_columns(note=pl.lit("x")), DAILY, where="d.parquet", extra=False)
    check_table(daily.with_columns(note=pl.lit("x")), DAILY, where="d.parquet")  # extra columns allowed
    check_table(daily.with_columns(pl.lit(None).alias("prc_last")), DAILY, where="d.parquet")  # an all-null column
    with pytest.raises(InputError, match="expected a polars or pandas DataFrame, got dict"):
        check_table({"cusip_id": []}, DAILY, where="x")
    assert check_table(pd.DataFrame({c.name: pd.Series([], dtype="object" if c.dtype == "String" else
                                                       "datetime64[ns]" if c.dtype == "Date" else c.dtype.lower())
                                     for c in DAILY.columns}), DAILY, where="pandas") is None


def test_the_contract_renders_as_a_markdown_table():
    lines = MONTHLY.describe().splitlines()
    assert lines[:2] == ["| column | type | unit | meaning |", "|---|---|---|---|"]
    assert len(lines) == 2 + len(MONTHLY.columns)
    assert lines[2 + MONTHLY.names.index("ret")] == (
        "| `ret` | Float64 | decimal per month | ret_end when it exists, else ret_start |")
