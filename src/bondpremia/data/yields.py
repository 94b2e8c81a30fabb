"""Loaders for Treasury yield curves: the Liu-Wu monthly zero curve and the Treasury daily par yield curve.

Both read a local file (nothing is downloaded), convert yields **from percent to decimals** at the edge,
and raise :class:`~bondpremia.errors.InputError` naming the file, the column and the row (the 1-based line
number in the file) for any malformed line.
"""

from __future__ import annotations

import csv
import re
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from bondpremia.errors import InputError

__all__ = ["load_liu_wu", "load_treasury_par_curve"]

_LW_HEADER = re.compile(r"^\s*(\d+)\s*m\s*$", re.IGNORECASE)
_YYYYMM = re.compile(r"^\s*(\d{4})(\d{2})\s*$")
_PAR_HEADER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mo|mos|month|months|yr|yrs|year|years)\s*$", re.IGNORECASE)
_PAR_DATE_FORMATS = ("%m/%d/%y", "%m/%d/%Y", "%Y-%m-%d", "%Y/%m/%d")
_MISSING = {"", "n/a", "na", "#n/a", "nan"}


def _read_rows(path: str | PathLike[str]) -> tuple[str, list[tuple[int, list[str]]]]:
    """All CSV records of a file with the 1-based line number where each starts."""
    name = str(path)
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", file=name)
    rows: list[tuple[int, list[str]]] = []
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            line = 1
            for rec in reader:
                rows.append((line, rec))
                line = reader.line_num + 1
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"not a readable CSV file: {exc}", file=name) from exc
    return name, rows


def _is_blank(rec: list[str]) -> bool:
    return all(not c.strip() for c in rec)


def _numeric_block(name: str, lines: list[int], cells: list[list[str]], labels: list[str]) -> np.ndarray:
    """Parse a block of value cells (missing tokens -> NaN); InputError at the first unparseable cell."""
    raw = np.array(cells, dtype=object).reshape(len(cells), len(labels))
    stripped = pd.Series(raw.ravel()).astype(str).str.strip()
    missing = stripped.str.lower().isin(_MISSING).to_numpy()
    values = pd.to_numeric(stripped.where(~missing, None), errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~missing & ~np.isfinite(values))
    if bad.size:
        r, c = divmod(int(bad[0]), len(labels))
        raise InputError(f"value {raw[r, c]!r} is not a number", file=name, column=labels[c], row=lines[r])
    return values.reshape(raw.shape)


def load_liu_wu(path: str | PathLike[str]) -> pd.DataFrame:
    """Load the Liu-Wu monthly zero-coupon yield curve (Liu and Wu 2021, "Reconstructing the Yield Curve",
    *Journal of Financial Economics* 142(3), 1395-1425), as distributed by the authors in CSV.

    Layout: free-text header lines, then a header row ``, 1 m, 2 m, ..., 360 m`` (found by its content, not by
    position), then one row per month ``YYYYMM, y(1), ..., y(360)``. Values are annualized continuously
    compounded zero yields **in percent**; blanks (long maturities before the 1970s-80s) are missing.

    Returns
    -------
    DataFrame indexed by the **month-end** date (``DatetimeIndex`` named ``date``; ``196106`` -> 1961-06-30),
    columns = maturity in months (``int`` labels ``1..360``, index named ``maturity_months``), values = yields
    **in decimals** (the file's percent divided by 100), NaN where blank. This is the input layout of
    :mod:`bondpremia.fixed_income.curves`.

    Raises
    ------
    InputError
        No header row; a header cell that is not ``<k> m``; a data row with the wrong number of fields, a date
        that is not ``YYYYMM``, a non-numeric value, or a month that is duplicated or out of order. ``row`` is
        the 1-based line number in the file.
    """
    name, rows = _read_rows(path)
    header_at = None
    for i, (_, rec) in enumerate(rows):
        filled = [c for c in rec[1:] if c.strip()]
        if rec and not rec[0].strip() and filled and all(_LW_HEADER.match(c) for c in filled):
            header_at = i
            break
    if header_at is None:
        raise InputError("no header row ', 1 m, 2 m, ...' found; is this a Liu-Wu yield file?", file=name)
    hline, header = rows[header_at]
    while header and not header[-1].strip():
        header = header[:-1]
    months: list[int] = []
    for c in header[1:]:
        mt = _LW_HEADER.match(c)
        if mt is None:
            raise InputError(f"header cell {c!r} is not a maturity like '12 m'", file=name, column=c,
                             row=hline)
        months.append(int(mt.group(1)))
    if len(set(months)) != len(months) or any(b <= a for a, b in zip(months, months[1:], strict=False)):
        raise InputError("maturities in the header are not strictly increasing", file=name, row=hline)
    labels = [f"{k} m" for k in months]
    width = len(months) + 1

    lines: list[int] = []
    dates: list[pd.Timestamp] = []
    cells: list[list[str]] = []
    for line, rec in rows[header_at + 1:]:
        if _is_blank(rec):
            continue
        if len(rec) > width and all(not c.strip() for c in rec[width:]):
            rec = rec[:width]
        if len(rec) != width:
            raise InputError(f"expected {width} fields (date + {len(months)} maturities), found {len(rec)}",
                             file=name, row=line)
        mt = _YYYYMM.match(rec[0])
        if mt is None or not 1 <= int(mt.group(2)) <= 12:
            raise InputError(f"date {rec[0]!r} is not YYYYMM", file=name, column="date", row=line)
        dates.append(pd.Timestamp(int(mt.group(1)), int(mt.group(2)), 1) + pd.offsets.MonthEnd(0))
        lines.append(line)
        cells.append(rec[1:])
    if not dates:
        raise InputError("no data rows after the header", file=name, row=hline)
    values = _numeric_block(name, lines, cells, labels)
    index = pd.DatetimeIndex(dates, name="date")
    steps = np.diff(index.asi8)
    if np.any(steps <= 0):
        k = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise InputError(f"month {index[k]:%Y%m} is duplicated or out of order", file=name, column="date",
                         row=lines[k])
    return pd.DataFrame(values / 100.0, index=index, columns=pd.Index(months, name="maturity_months"))


def _par_maturity(label: str) -> float | None:
    mt = _PAR_HEADER.match(label)
    if mt is None:
        return None
    k = float(mt.group(1))
    return k / 12.0 if mt.group(2).lower().startswith("mo") else k


def load_treasury_par_curve(path: str | PathLike[str], *, drop_empty: bool = False) -> pd.DataFrame:
    """Load the US Treasury daily par yield curve CSV ("Daily Treasury Par Yield Curve Rates").

    Layout: a header ``Date, 1 Mo, [1.5 Mo,] 2 Mo, ..., 30 Yr`` and one row per business day, usually newest
    first. Dates may be ``m/d/yy`` (two-digit years follow Python's ``%y``: 69-99 -> 19xx, 00-68 -> 20xx),
    ``m/d/yyyy``, ``yyyy-mm-dd`` or ``yyyy/mm/dd``; one format is detected for the whole file. Yields are
    semiannual bond-equivalent par yields **in percent**; a blank (or ``N/A``) cell is a maturity not quoted
    that day (e.g. 2 Mo before 2018, 30 Yr in 2002-2006).

    Parameters
    ----------
    path:
        Local CSV file.
    drop_empty:
        Drop dates on which every maturity is blank (the 1990-2024 file has one: 2010-10-11, Columbus Day).
        By default they are kept as all-NaN rows, so rows in = rows out.

    Returns
    -------
    DataFrame indexed by date ascending (``DatetimeIndex`` named ``date``), columns = maturity **in years**
    (float labels sorted ascending: ``1/12, 0.125, 1/6, 0.25, 1/3, 0.5, 1, 2, ...``, index named
    ``maturity_years``), values = par yields **in decimals** (percent / 100), NaN where blank. This is the
    input layout of :func:`bondpremia.fixed_income.bootstrap.par_to_zero`.

    Raises
    ------
    InputError
        Missing ``Date`` column or an unknown maturity label; a row with the wrong number of fields, an
        unparseable date or value, or a duplicated date. ``row`` is the 1-based line number in the file.
    """
    name, rows = _read_rows(path)
    body = [(line, rec) for line, rec in rows if not _is_blank(rec)]
    if not body:
        raise InputError("empty file", file=name)
    hline, header = body[0]
    while header and not header[-1].strip():
        header = header[:-1]
    if not header or header[0].strip().lower() != "date":
        raise InputError(f"the first column must be 'Date', found {header[:1]!r}", file=name, row=hline)
    labels = [c.strip() for c in header[1:]]
    mats: list[float] = []
    for c in labels:
        mat = _par_maturity(c)
        if mat is None or mat <= 0:
            raise InputError(f"column {c!r} is not a maturity like '3 Mo' or '10 Yr'", file=name, column=c,
                             row=hline)
        mats.append(mat)
    if len(set(mats)) != len(mats):
        raise InputError("duplicate maturity columns", file=name, row=hline)
    width = len(labels) + 1

    lines: list[int] = []
    raw_dates: list[str] = []
    cells: list[list[str]] = []
    for line, rec in body[1:]:
        if len(rec) > width and all(not c.strip() for c in rec[width:]):
            rec = rec[:width]
        if len(rec) != width:
            raise InputError(f"expected {width} fields (Date + {len(labels)} maturities), found {len(rec)}",
                             file=name, row=line)
        lines.append(line)
        raw_dates.append(rec[0].strip())
        cells.append(rec[1:])
    if not lines:
        raise InputError("no data rows after the header", file=name, row=hline)

    series = pd.Series(raw_dates)
    best: tuple[int, pd.Series] | None = None
    for fmt in _PAR_DATE_FORMATS:
        parsed = pd.to_datetime(series, format=fmt, errors="coerce")
        n_ok = int(parsed.notna().sum())
        if best is None or n_ok > best[0]:
            best = (n_ok, parsed)
        if n_ok == len(series):
            break
    assert best is not None
    parsed = best[1]
    if parsed.isna().any():
        k = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise InputError(f"date {raw_dates[k]!r} does not match the file's date format", file=name,
                         column=header[0], row=lines[k])
    values = _numeric_block(name, lines, cells, labels) / 100.0
    dates = pd.DatetimeIndex(parsed, name="date")
    dup = dates.duplicated()
    if dup.any():
        k = int(np.flatnonzero(dup)[0])
        raise InputError(f"date {dates[k]:%Y-%m-%d} appears more than once", file=name, column=header[0],
                         row=lines[k])
    order = np.argsort(dates.asi8, kind="stable")
    col_order = np.argsort(mats, kind="stable")
    out = pd.DataFrame(
        values[np.ix_(order, col_order)],
        index=dates[order],
        columns=pd.Index(np.asarray(mats)[col_order], dtype=np.float64, name="maturity_years"),
    )
    if drop_empty:
        out = out.loc[out.notna().any(axis=1)]
    return out
