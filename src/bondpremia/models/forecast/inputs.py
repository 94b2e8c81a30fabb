"""Reading the yield and macro files of a Treasury forecast run (the edge between files and
:func:`bondpremia.models.forecast.treasury_data`)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from bondpremia.errors import InputError

__all__ = ["read_groups", "read_macro", "read_yields", "zero_yields_from_par"]


def _table(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise InputError("file not found", file=str(path))
    if path.suffix in (".parquet", ".pq"):
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_csv(path)
    if not isinstance(frame.index, pd.DatetimeIndex):
        cols = {str(c).lower(): c for c in frame.columns}
        if "date" not in cols:
            raise InputError("needs a 'date' column (or a date index)", file=str(path), column="date")
        frame = frame.set_index(cols["date"])
        frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index), name="date")
    return frame


def zero_yields_from_par(par: pd.DataFrame) -> pd.DataFrame:
    """Month-end zero yields (int columns 12, 24, ..., 120 months, continuously compounded decimals) from a
    daily Treasury par curve (:func:`bondpremia.data.load_treasury_par_curve`): the last quoted day of each
    month is bootstrapped with :func:`bondpremia.fixed_income.bootstrap.par_to_zero`."""
    from bondpremia.fixed_income.bootstrap import par_to_zero

    daily = par.dropna(how="all").sort_index()
    days = pd.DatetimeIndex(daily.index)
    last = daily.groupby(days.to_period("M")).tail(1)
    zero = par_to_zero(last, maturities_years=[float(n) for n in range(1, 11)]).zero
    zero.index = pd.DatetimeIndex(pd.DatetimeIndex(last.index).to_period("M").to_timestamp(how="end").normalize(),
                                  name="date")
    zero.columns = pd.Index([int(round(12 * float(c))) for c in zero.columns], name="maturity_months")
    return zero


def read_yields(path: str | Path, kind: str = "auto", percent: bool = False) -> pd.DataFrame:
    """Monthly zero yields for :func:`treasury_data` from a file.

    ``kind``: ``"liu_wu"`` (the authors' CSV, percent, detected by its ``, 1 m, 2 m`` header), ``"par"`` (the
    Treasury daily par curve CSV, bootstrapped to month-end zero yields), ``"table"`` (CSV or parquet with a
    ``date`` column and one column per maturity in months, e.g. ``12``, ``24`` or ``12m``; continuously
    compounded, in decimals unless ``percent``), or ``"auto"`` (by content).
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", file=str(path))
    if kind == "auto":
        if path.suffix in (".parquet", ".pq"):
            kind = "table"
        else:
            with open(path, errors="replace") as fh:
                head = "".join(fh.readline() for _ in range(20))
            kind = "liu_wu" if re.search(r",\s*1 m\s*,", head) else "par" if "1 Mo" in head else "table"
    if kind == "liu_wu":
        from bondpremia.data import load_liu_wu

        return load_liu_wu(path)
    if kind == "par":
        from bondpremia.data import load_treasury_par_curve

        return zero_yields_from_par(load_treasury_par_curve(path, drop_empty=True))
    if kind != "table":
        raise InputError(f"unknown yields kind {kind!r}; use auto, liu_wu, par or table", column="kind")
    frame = _table(path)
    months = {}
    for c in frame.columns:
        text = str(c).strip().lower().removesuffix("m").strip()
        if not text.isdigit():
            raise InputError("yield columns must be maturities in months such as 12 or 12m", file=str(path),
                             column=str(c))
        months[c] = int(text)
    out = frame.rename(columns=months).astype(float)
    out.columns = pd.Index(list(out.columns), name="maturity_months")
    return out / 100.0 if percent else out


def read_groups(path: str | Path) -> pd.Series:
    """A two-column CSV ``series,group`` (McCracken-Ng group 1..8 per macro series)."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", file=str(path))
    frame = pd.read_csv(path)
    if frame.shape[1] < 2:
        raise InputError("needs two columns: series name and group", file=str(path))
    groups = pd.Series(frame.iloc[:, 1].to_numpy(), index=frame.iloc[:, 0].astype(str), name="group")
    bad = ~groups.astype(str).str.fullmatch(r"[1-8]")
    if bad.any():
        raise InputError(f"group must be 1..8, got {groups[bad].iloc[0]!r}", file=str(path),
                         row=int(np.flatnonzero(bad.to_numpy())[0]) + 2)
    return groups.astype(int)


def read_macro(path: str | Path, start: object = None, end: object = None, groups: str | Path | None = None,
               n_factors: int = 8) -> tuple[pd.DataFrame, pd.Series]:
    """The macro panel and its McCracken-Ng groups.

    A FRED-MD vintage CSV (detected by its ``Transform:`` row) is transformed by its tcodes, cleaned of
    outliers and EM-imputed over ``start .. end`` (:func:`bondpremia.data.prepare_fredmd`; one month before
    ``start`` is kept so a one-month publication lag is possible), and grouped with the built-in
    McCracken-Ng map. Any other CSV/parquet table (``date`` column + stationary series) is used as is, with
    groups from ``groups`` (CSV ``series,group``).
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", file=str(path))
    is_fred = False
    if path.suffix not in (".parquet", ".pq"):
        with open(path, errors="replace") as fh:
            is_fred = any(fh.readline().lower().startswith("transform") for _ in range(5))
    if is_fred:
        from bondpremia.data.fredmd import fredmd_groups, load_fredmd, prepare_fredmd
        from bondpremia.models.forecast.features import month

        lo = None if start is None else month(start, "start") - pd.offsets.MonthEnd(1)
        hi = None if end is None else month(end, "end")
        fred = load_fredmd(path)
        panel = prepare_fredmd(fred, start=lo, end=hi, n_factors=n_factors)
        grp = read_groups(groups) if groups is not None else fredmd_groups(panel.columns)
        return panel, grp
    panel = _table(path)
    if groups is None:
        raise InputError("a macro table that is not FRED-MD needs --groups (CSV series,group)", file=str(path))
    return panel.astype(float), read_groups(groups)
