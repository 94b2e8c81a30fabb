"""Ken French data-library CSVs in their raw layout (e.g. ``F-F_Research_Data_Factors.CSV``)."""

from __future__ import annotations

import re
from os import PathLike

import numpy as np
import pandas as pd

from bondpremia.errors import InputError

__all__ = ["load_ken_french"]

_MONTH = re.compile(r"^\s*(\d{4})(\d{2})\s*$")


def load_ken_french(path: str | PathLike[str]) -> pd.DataFrame:
    """Read the **monthly** block of a Ken French factor file as published.

    Layout: free-text lines, a header row ``,Mkt-RF,SMB,HML,RF`` (first cell empty), rows ``YYYYMM, values``
    in **percent**, then a blank line and further blocks (annual factors, copyright) that are ignored. The
    first block whose rows are ``YYYYMM`` is the monthly one.

    Returns
    -------
    DataFrame indexed by month end (``date``), one column per factor, in **decimals** (percent / 100).
    ``-99.99`` / ``-999`` (the library's missing codes) become NaN.

    Raises
    ------
    InputError
        No monthly block; a non-numeric value (names the column and the 1-based line); a duplicated or
        out-of-order month.
    """
    name = str(path)
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        raise InputError("file not found", file=name) from None
    header_at = None
    for i, line in enumerate(lines[:-1]):
        cells = line.split(",")
        if len(cells) > 1 and not cells[0].strip() and _MONTH.match(lines[i + 1].split(",")[0]):
            header_at = i
            break
    if header_at is None:
        raise InputError("no monthly block (a header ',Mkt-RF,...' followed by YYYYMM rows)", file=name)
    columns = [c.strip() for c in lines[header_at].split(",")[1:]]
    dates, rows = [], []
    for j in range(header_at + 1, len(lines)):
        cells = lines[j].split(",")
        m = _MONTH.match(cells[0])
        if m is None:
            break
        if len(cells) - 1 != len(columns):
            raise InputError(f"expected {len(columns)} values, found {len(cells) - 1}", file=name, row=j + 1)
        try:
            rows.append([float(c) for c in cells[1:]])
        except ValueError:
            bad = next(k for k, c in enumerate(cells[1:]) if not _is_number(c))
            raise InputError(f"value {cells[bad + 1].strip()!r} is not a number", file=name, column=columns[bad],
                             row=j + 1) from None
        dates.append(pd.Timestamp(int(m.group(1)), int(m.group(2)), 1) + pd.offsets.MonthEnd(0))
    index = pd.DatetimeIndex(dates, name="date")
    if not index.is_monotonic_increasing or index.has_duplicates:
        raise InputError("months are duplicated or out of order", file=name)
    values = np.asarray(rows, dtype=float)
    values[np.isin(values, (-99.99, -999.0))] = np.nan
    return pd.DataFrame(values / 100.0, index=index, columns=columns)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
