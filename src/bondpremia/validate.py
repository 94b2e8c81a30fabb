"""Validators of options and inputs, shared by the library and the command line.

Each raises :class:`~bondpremia.errors.InputError` naming the argument (or file, column and row) and what to do;
the CLI turns the argument name into its option name (``n_portfolios`` -> ``--n-portfolios``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bondpremia.errors import InputError

__all__ = ["choice", "integer", "month", "number", "numeric_columns", "to_number", "unique"]

_YEAR_FIRST = re.compile(r"\d{4}-\d{1,2}(?:$|[-T ])|\d{8}$")  # YYYY-MM, an ISO date (and time), YYYYMMDD
_MISSING_TEXT = {"", "nan", "NaN", "NA", "N/A", "None", "null", "NULL", "."}


def integer(value: Any, name: str, low: int | None = None, high: int | None = None) -> int:
    """An integer in ``[low, high]`` (either bound optional); bools and fractional numbers are refused."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        if isinstance(value, float | np.floating) and float(value).is_integer():
            value = int(value)
        else:
            raise InputError(f"must be a whole number, got {value!r}", column=name)
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        span = (f"between {low} and {high}" if low is not None and high is not None
                else f"at least {low}" if low is not None else f"at most {high}")
        raise InputError(f"must be {span}, got {v}", column=name)
    return v


def number(value: Any, name: str, low: float | None = None, high: float | None = None) -> float:
    """A finite number in ``[low, high]``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"must be a number, got {value!r}", column=name) from None
    if not np.isfinite(v) or (low is not None and v < low) or (high is not None and v > high):
        span = (f"in [{low}, {high}]" if low is not None and high is not None
                else f"at least {low}" if low is not None else f"at most {high}" if high is not None else "finite")
        raise InputError(f"must be {span}, got {value!r}", column=name)
    return v


def month(value: Any, name: str) -> pd.Period:
    """A calendar month from ``YYYY-MM``, an ISO date or a date (the month it falls in); the one month parser of
    the package's options (each caller takes the month start, end or number it needs from the ``Period``)."""
    if isinstance(value, pd.Period):
        return value.asfreq("M")
    text = None if isinstance(value, pd.Timestamp | np.datetime64 | dt.date) else str(value).strip()
    if text is not None and not _YEAR_FIRST.match(text):  # "June" or "6/2012": pandas would guess a year or order
        raise InputError(f"cannot read month {value!r}; use YYYY-MM", column=name)
    try:
        ts = pd.Timestamp(value if text is None else text)
    except (TypeError, ValueError):
        ts = None
    if ts is None or ts is pd.NaT:
        raise InputError(f"cannot read month {value!r}; use YYYY-MM", column=name)
    return pd.Period(ts, freq="M")


def choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """One of ``choices`` (exact)."""
    if value not in choices:
        raise InputError(f"must be one of {', '.join(map(str, choices))}; got {value!r}", column=name)
    return str(value)


def unique(values: Iterable[str], name: str) -> list[str]:
    """The list, refusing an entry given twice."""
    out: list[str] = []
    for v in values:
        if v in out:
            raise InputError(f"{v!r} is given twice", column=name)
        out.append(v)
    return out


def to_number(values: pd.Series, column: str, file: str | None = None) -> np.ndarray:
    """A column as float64. A cell that is not a number (``"5.25%"``, ``"n/a?"``) is an error naming the file,
    the column and the row (0-based data row); empty cells and the usual missing markers are NaN."""
    out = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(out) & values.notna().to_numpy()
    if bad.any():  # look at the text only where the conversion failed
        text = values.iloc[np.flatnonzero(bad)].astype(str).str.strip()
        bad[np.flatnonzero(bad)] = ~text.isin(_MISSING_TEXT).to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise InputError(f"value {values.iloc[pos]!r} is not a number (write numbers without units or % signs)",
                         file=file, column=column, row=pos)
    return out


def numeric_columns(frame: pd.DataFrame, columns: Sequence[str], file: str | None = None) -> pd.DataFrame:
    """The frame with ``columns`` as float64. A cell that is not a number (``"5.25%"``, ``"n/a?"``) is an error
    naming the file, the column and the row (0-based data row); empty cells and the usual missing markers are NaN.
    """
    out = frame.copy()
    for col in columns:
        if col not in frame.columns:
            raise InputError(f"column not found; the file has {list(frame.columns)}", file=file, column=col)
        out[col] = to_number(frame[col], col, file)
    return out
