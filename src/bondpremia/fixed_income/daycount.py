"""Day-count conventions, vectorized.

Conventions (ISDA 2006 Definitions, section 4.16; ICMA Rule 251):

============  ==========================================================================================
code          convention
============  ==========================================================================================
``30/360``    30/360 US bond basis (ISDA 4.16(f)): D1=31 -> 30; D2=31 -> 30 when D1 is 30 or 31
``30E/360``   30E/360 Eurobond basis (ISDA 4.16(g)): D1=31 -> 30; D2=31 -> 30
``ACT/ACT``   Actual/Actual ICMA (Rule 251): actual days over actual days of the (quasi-)coupon period
``ACT/ACT ISDA``  Actual/Actual ISDA (4.16(b)): days in leap years / 366 + days in other years / 365
``ACT/360``   Actual/360 (4.16(e))
``ACT/365F``  Actual/365 Fixed (4.16(d))
============  ==========================================================================================

FISD's ``day_count_basis`` names are accepted: ``30/360``, ``ACT/ACT`` (read as ICMA, the convention of US
Treasury and corporate bonds), ``ACT/360`` and ``ACT/365`` (read as Actual/365 Fixed).
"""

from __future__ import annotations

import re
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from bondpremia.errors import InputError
from bondpremia.fixed_income.dates import DateArray, from_ymd, is_leap, ymd


class DayCount(IntEnum):
    """Integer codes of the supported day-count conventions."""

    THIRTY_360 = 0
    THIRTY_E_360 = 1
    ACT_ACT_ICMA = 2
    ACT_ACT_ISDA = 3
    ACT_360 = 4
    ACT_365F = 5

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def is_thirty(self) -> bool:
        return self in (DayCount.THIRTY_360, DayCount.THIRTY_E_360)


_LABELS = {
    DayCount.THIRTY_360: "30/360",
    DayCount.THIRTY_E_360: "30E/360",
    DayCount.ACT_ACT_ICMA: "ACT/ACT ICMA",
    DayCount.ACT_ACT_ISDA: "ACT/ACT ISDA",
    DayCount.ACT_360: "ACT/360",
    DayCount.ACT_365F: "ACT/365F",
}

_ALIASES = {
    "30/360": DayCount.THIRTY_360,
    "30/360US": DayCount.THIRTY_360,
    "30U/360": DayCount.THIRTY_360,
    "30/360BONDBASIS": DayCount.THIRTY_360,
    "BONDBASIS": DayCount.THIRTY_360,
    "360/360": DayCount.THIRTY_360,
    "30E/360": DayCount.THIRTY_E_360,
    "30/360E": DayCount.THIRTY_E_360,
    "30E/360EUROBOND": DayCount.THIRTY_E_360,
    "EUROBONDBASIS": DayCount.THIRTY_E_360,
    "30/360ICMA": DayCount.THIRTY_E_360,
    "ACT/ACT": DayCount.ACT_ACT_ICMA,
    "ACT/ACTICMA": DayCount.ACT_ACT_ICMA,
    "ACT/ACTISMA": DayCount.ACT_ACT_ICMA,
    "ACT/ACTBOND": DayCount.ACT_ACT_ICMA,
    "ACT/ACTISDA": DayCount.ACT_ACT_ISDA,
    "ACT/ACTHISTORICAL": DayCount.ACT_ACT_ISDA,
    "ACT/365ISDA": DayCount.ACT_ACT_ISDA,
    "ACT/360": DayCount.ACT_360,
    "ACT/365": DayCount.ACT_365F,
    "ACT/365F": DayCount.ACT_365F,
    "ACT/365FIXED": DayCount.ACT_365F,
}


def _normalize(name: str) -> str:
    s = name.upper().replace("ACTUAL", "ACT")
    return re.sub(r"[\s()_\-.]", "", s)


def parse_daycount(name: Any, *, argument: str = "daycount") -> DayCount:
    """Read a day-count name (any of the aliases above, case and spaces ignored) or code.

    Raises :class:`InputError` naming ``argument`` for an unknown name.
    """
    if isinstance(name, (DayCount, int, np.integer)) and not isinstance(name, bool):
        try:
            return DayCount(int(name))
        except ValueError:
            pass
    elif isinstance(name, str) and _normalize(name) in _ALIASES:
        return _ALIASES[_normalize(name)]
    known = ", ".join(sorted({v.label for v in DayCount} | {"ACT/ACT", "ACT/365"}))
    raise InputError(f"unknown day count {name!r}; use one of {known}", column=argument)


def daycount_codes(names: Any, *, argument: str = "daycount") -> npt.NDArray[np.int8]:
    """Vectorized :func:`parse_daycount`; returns an int8 code array. Unknown names raise ``InputError``
    naming the first offending row."""
    arr = np.atleast_1d(np.asarray(names, dtype=object))
    uniq, inverse = np.unique(arr.astype(str), return_inverse=True)
    codes = np.empty(len(uniq), dtype=np.int8)
    for i, u in enumerate(uniq):
        try:
            codes[i] = parse_daycount(u, argument=argument)
        except InputError as err:
            row = int(np.flatnonzero(inverse == i)[0])
            raise InputError(err.reason, column=argument, row=row) from None
    return codes[inverse].reshape(arr.shape)


def days_30_360(start: DateArray, end: DateArray, *, european: bool | npt.NDArray[np.bool_] = False):
    """Day count between dates under 30/360 bond basis (or 30E/360 where ``european``)."""
    y1, m1, d1 = ymd(start)
    y2, m2, d2 = ymd(end)
    d1 = np.minimum(d1, 30)
    d2 = np.where((d2 == 31) & (np.asarray(european) | (d1 >= 30)), 30, d2)
    return 360 * (y2 - y1) + 30 * (m2 - m1) + (d2 - d1)


def _year_length(y: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    return np.where(is_leap(y), 366.0, 365.0)


def year_fraction_isda(start: DateArray, end: DateArray) -> npt.NDArray[np.float64]:
    """Actual/Actual ISDA year fraction (ISDA 2006, 4.16(b)); ``start <= end`` expected."""
    y1 = ymd(start)[0]
    y2 = ymd(end)[0]
    one = np.ones_like(y1)
    first = (from_ymd(y1 + 1, one, one) - start).astype(np.float64) / _year_length(y1)
    last = (end - from_ymd(y2, one, one)).astype(np.float64) / _year_length(y2)
    out = (y2 - y1 - 1) + first + last
    return np.where(start == end, 0.0, out)


def year_fraction(
    start: DateArray,
    end: DateArray,
    daycount: npt.NDArray[np.int8] | DayCount | str,
    *,
    ref_start: DateArray | None = None,
    ref_end: DateArray | None = None,
    freq: npt.NDArray[np.int64] | int | None = None,
) -> npt.NDArray[np.float64]:
    """Year fraction from ``start`` to ``end`` under each row's day count.

    Actual/Actual ICMA needs the regular coupon period ``[ref_start, ref_end]`` containing both dates and the
    coupon frequency: ``days(start, end) / (freq * days(ref_start, ref_end))``. For bond accruals over odd
    (long) periods use :func:`bondpremia.fixed_income.accrued_interest`, which splits into quasi-coupon periods.
    """
    start = np.asarray(start, dtype="datetime64[D]")
    end = np.asarray(end, dtype="datetime64[D]")
    codes = np.broadcast_to(
        np.asarray(parse_daycount(daycount) if isinstance(daycount, str) else daycount, dtype=np.int8),
        np.broadcast_shapes(start.shape, end.shape),
    )
    act = (end - start).astype(np.float64)
    out = np.full(codes.shape, np.nan)
    m = codes == DayCount.THIRTY_360
    out = np.where(m, days_30_360(start, end) / 360.0, out)
    m = codes == DayCount.THIRTY_E_360
    out = np.where(m, days_30_360(start, end, european=True) / 360.0, out)
    out = np.where(codes == DayCount.ACT_360, act / 360.0, out)
    out = np.where(codes == DayCount.ACT_365F, act / 365.0, out)
    m = codes == DayCount.ACT_ACT_ISDA
    if m.any():
        out = np.where(m, year_fraction_isda(start, end), out)
    m = codes == DayCount.ACT_ACT_ICMA
    if m.any():
        if ref_start is None or ref_end is None or freq is None:
            raise InputError("ACT/ACT ICMA needs ref_start, ref_end and freq", column="daycount")
        period = (np.asarray(ref_end, dtype="datetime64[D]") - np.asarray(ref_start, dtype="datetime64[D]"))
        with np.errstate(divide="ignore", invalid="ignore"):
            icma = act / (np.asarray(freq, dtype=np.float64) * period.astype(np.float64))
        out = np.where(m, icma, out)
    return out
