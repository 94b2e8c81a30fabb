"""Business days of the US bond market (SIFMA recommended holidays and full closes).

The calendar is pandas_market_calendars' ``SIFMAUS`` (bond-market holidays include Columbus Day, Veterans Day and
Good Friday, which NYSE calendars get wrong for bonds). Early closes are trading days.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

_FIRST = "1990-01-01"
_LAST = "2035-12-31"


@lru_cache(maxsize=1)
def _all_days() -> npt.NDArray[np.datetime64]:
    import pandas_market_calendars as mcal

    days = mcal.get_calendar("SIFMAUS").valid_days(_FIRST, _LAST)
    return np.asarray(days.tz_localize(None).values.astype("datetime64[D]"))


def bond_market_days(start: Any, end: Any) -> npt.NDArray[np.datetime64]:
    """SIFMA US business days from ``start`` to ``end`` inclusive, as ``datetime64[D]`` (1990-2035)."""
    s, e = np.datetime64(str(start)[:10], "D"), np.datetime64(str(end)[:10], "D")
    days = _all_days()
    if s < days[0] or e > days[-1]:
        from bondpremia.errors import InputError

        raise InputError(f"the bond-market calendar covers {_FIRST}..{_LAST}; got {s}..{e}", column="date")
    return days[(days >= s) & (days <= e)]

