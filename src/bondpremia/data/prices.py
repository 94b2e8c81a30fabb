"""Yahoo-style daily price files (Date, Open, High, Low, Close, Adj Close, Volume) and monthly total returns."""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd

from bondpremia.errors import InputError


def load_yahoo_prices(path: str | PathLike[str]) -> pd.DataFrame:
    """Daily prices indexed by date (ascending). Requires ``Date`` and ``Adj Close`` columns; rows with an
    unparseable date or a non-positive adjusted close raise :class:`InputError` naming the file and row."""
    try:
        raw = pd.read_csv(path)
    except FileNotFoundError:
        raise InputError("file not found", file=str(path)) from None
    for col in ("Date", "Adj Close"):
        if col not in raw.columns:
            raise InputError(f"column not found; the file has {list(raw.columns)}", file=str(path), column=col)
    dates = pd.to_datetime(raw["Date"], errors="coerce")
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna())[0])
        raise InputError(f"cannot read date {raw['Date'].iloc[row]!r}", file=str(path), column="Date", row=row + 2)
    adj = pd.to_numeric(raw["Adj Close"], errors="coerce")
    bad = ~(adj > 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"adjusted close must be a positive number, got {raw['Adj Close'].iloc[row]!r}",
                         file=str(path), column="Adj Close", row=row + 2)
    out = raw.assign(Date=dates, **{"Adj Close": adj}).set_index("Date").sort_index()
    return out


def monthly_total_returns(prices: pd.DataFrame | pd.Series, column: str = "Adj Close") -> pd.Series:
    """Month-end to month-end total returns (decimal) from dividend-adjusted prices, indexed by month end.

    The first month (no previous month end) is dropped; a month without prices raises InputError.
    """
    px = prices[column] if isinstance(prices, pd.DataFrame) else prices
    month_end = px.groupby(pd.DatetimeIndex(px.index).to_period("M")).last()
    months = pd.PeriodIndex(month_end.index)
    gaps = pd.period_range(months.min(), months.max(), freq="M").difference(months)
    if len(gaps):
        raise InputError(f"no prices in months {[str(g) for g in gaps[:5]]}", column=column)
    ret = month_end.pct_change().iloc[1:]
    ret.index = pd.PeriodIndex(ret.index).to_timestamp(how="end").normalize()
    return ret.rename("return")
