"""Monthly factor files (published bond factors, Ken French-style CSVs already cut to the monthly block)."""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd

from bondpremia.errors import InputError


def _parse_dates(raw: pd.Series, path: str) -> pd.DatetimeIndex:
    text = raw.astype(str).str.strip()
    if text.str.fullmatch(r"\d{6}").all():
        parsed = pd.to_datetime(text, format="%Y%m", errors="coerce")
    else:
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    if parsed.isna().any():
        row = int(np.flatnonzero(parsed.isna())[0])
        raise InputError(f"cannot read date {raw.iloc[row]!r}", file=path, column=str(raw.name), row=row + 2)
    return pd.DatetimeIndex(parsed).to_period("M").to_timestamp(how="end").normalize()


def load_factor_file(path: str | PathLike[str], *, percent: bool = False, date_column: str = "date") -> pd.DataFrame:
    """Read a monthly factor CSV (date formats ``YYYY-MM-DD``, ``M/D/YYYY`` or ``YYYYMM``) into decimals indexed by
    month end. ``percent=True`` divides by 100 (e.g. the original Bai-Bali-Wen file). Unnamed index columns are
    dropped; duplicate months raise :class:`InputError`."""
    p = str(path)
    try:
        raw = pd.read_csv(path)
    except FileNotFoundError:
        raise InputError("file not found", file=p) from None
    raw = raw.loc[:, [c for c in raw.columns if not str(c).startswith("Unnamed")]]
    if date_column not in raw.columns:
        raise InputError(f"column not found; the file has {list(raw.columns)}", file=p, column=date_column)
    idx = _parse_dates(raw[date_column], p)
    if idx.duplicated().any():
        raise InputError(f"month {idx[idx.duplicated()][0]:%Y-%m} appears twice", file=p, column=date_column)
    out = raw.drop(columns=date_column).apply(pd.to_numeric, errors="coerce")
    out.index = idx
    return out / 100.0 if percent else out
