"""Small helpers of the simulated TRACE market: months and days since the epoch, the 30/360 US day count and
typed polars series (dates, times, labels from codes, floats with NaN as NULL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from bondpremia.simulate.trace.codes import BoolArray, FloatArray, IntArray


def _month(value: Any, argument: str) -> int:
    """Months since 1970-01 of a ``YYYY-MM`` (or ISO date) string or date."""
    from bondpremia.validate import month

    return int(month(value, argument).ordinal)


def _on_day(months: IntArray, day: IntArray) -> IntArray:
    """Days since 1970-01-01 of the given day (clamped to the month's length) in the given months."""
    first = np.asarray(months, dtype=np.int64).astype("datetime64[M]").astype("datetime64[D]")
    nxt = (np.asarray(months, dtype=np.int64) + 1).astype("datetime64[M]").astype("datetime64[D]")
    length = (nxt - first).astype(np.int64)
    return first.astype(np.int64) + np.minimum(day, length) - 1


def _ymd(days: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    return y, m.astype(np.int64) % 12 + 1, (d - m.astype("datetime64[D]")).astype(np.int64) + 1


def _days_30_360(start: IntArray, end: IntArray) -> IntArray:
    """30/360 US bond basis day count (D1 = 31 -> 30; D2 = 31 -> 30 when D1 >= 30)."""
    y1, m1, d1 = _ymd(start)
    y2, m2, d2 = _ymd(end)
    d1 = np.where(d1 == 31, 30, d1)
    d2 = np.where((d2 == 31) & (d1 >= 30), 30, d2)
    return 360 * (y2 - y1) + 30 * (m2 - m1) + (d2 - d1)


def _date_series(name: str, days: IntArray, null: BoolArray | None = None) -> pl.Series:
    s = pl.Series(name, np.asarray(days, dtype=np.int32)).cast(pl.Date)
    if null is not None and null.any():
        s = s.scatter(np.flatnonzero(null), None)
    return s


def _time_series(name: str, seconds: IntArray) -> pl.Series:
    return pl.Series(name, np.asarray(seconds, dtype=np.int64) * 1_000_000_000).cast(pl.Time)


def _labels(name: str, codes: npt.NDArray[Any], labels: Sequence[str | None]) -> pl.Series:
    return pl.Series(name, list(labels), dtype=pl.String).gather(np.asarray(codes, dtype=np.int64)).alias(name)


def _float_series(name: str, values: FloatArray) -> pl.Series:
    return pl.Series(name, values, dtype=pl.Float64).fill_nan(None)
