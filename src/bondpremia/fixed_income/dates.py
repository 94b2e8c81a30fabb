"""Vectorized calendar arithmetic on ``datetime64[D]`` arrays (no business-day calendars here).

Internally dates are numpy ``datetime64[D]``; ``NaT`` marks a missing date. Month arithmetic works on a month
index ``12 * year + (month - 1)`` so that "six months before the 31st of August" can be computed for a million
bonds at once, with the day clamped to the length of the target month.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import numpy.typing as npt

DateArray = npt.NDArray[np.datetime64]
IntArray = npt.NDArray[np.int64]



def as_dates(value: Any) -> DateArray:
    """Coerce scalars, strings, ``datetime.date``, pandas/polars series or arrays to ``datetime64[D]``.

    ``None`` and ``NaT`` become ``NaT``. Strings must be ISO dates (``YYYY-MM-DD``).
    """
    if value is None:
        return np.array(["NaT"], dtype="datetime64[D]")
    if hasattr(value, "to_numpy") and not isinstance(value, np.ndarray):
        value = value.to_numpy()
    if isinstance(value, (_dt.date, str, np.datetime64)):
        value = [value]
    arr = np.asarray(value)
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[D]")
    if arr.dtype == object:
        out = np.array(
            [np.datetime64("NaT") if v is None or v != v else np.datetime64(v, "D") for v in arr.ravel()],
            dtype="datetime64[D]",
        )
        return out.reshape(arr.shape)
    return arr.astype("datetime64[D]")


_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _civil(z: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Year, month, day from days since 1970-01-01 (proleptic Gregorian; H. Hinnant's civil_from_days).

    Integer arithmetic only: an order of magnitude faster than numpy's datetime64 unit conversions.
    """
    z = z + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = yoe + era * 400 + (m <= 2)
    return y, m, d


def _days(y: IntArray, m: IntArray, d: IntArray) -> IntArray:
    """Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil)."""
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * np.where(m > 2, m - 3, m + 9) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _as_int(d: DateArray) -> IntArray:
    return np.asarray(d, dtype="datetime64[D]").view(np.int64)


def is_leap(y: IntArray) -> npt.NDArray[np.bool_]:
    return ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)


def month_index(d: DateArray) -> IntArray:
    """``12 * year + month - 1`` of each date."""
    y, m, _ = _civil(_as_int(d))
    return 12 * y + m - 1


def day_of_month(d: DateArray) -> IntArray:
    """Day of the month, 1..31."""
    return _civil(_as_int(d))[2]


def days_in_month(mi: IntArray) -> IntArray:
    """Number of days in the month with month index ``mi``."""
    mi = np.asarray(mi, dtype=np.int64)
    m0 = mi % 12
    return _DAYS_IN_MONTH[m0] + ((m0 == 1) & is_leap(mi // 12))


def from_month_day(mi: IntArray, day: IntArray) -> DateArray:
    """Date in month ``mi`` on ``day`` (which must not exceed the month's length)."""
    mi = np.asarray(mi, dtype=np.int64)
    return _days(mi // 12, mi % 12 + 1, np.asarray(day, dtype=np.int64)).view("datetime64[D]")


def from_ymd(y: IntArray, m: IntArray, d: IntArray) -> DateArray:
    """Dates from year, month (1..12) and day arrays."""
    return _days(np.asarray(y, dtype=np.int64), np.asarray(m, dtype=np.int64),
                 np.asarray(d, dtype=np.int64)).view("datetime64[D]")


def ymd(d: DateArray) -> tuple[IntArray, IntArray, IntArray]:
    """Year, month (1..12) and day (1..31) arrays."""
    return _civil(_as_int(d))


def is_month_end(d: DateArray) -> npt.NDArray[np.bool_]:
    """True where the date is the last calendar day of its month."""
    y, m, dd = _civil(_as_int(d))
    return dd == days_in_month(12 * y + m - 1)
