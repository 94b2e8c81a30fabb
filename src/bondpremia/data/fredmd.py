"""FRED-MD: loader, tcode transformations, outlier screen, the preparation chain and the McCracken-Ng group map.

FRED-MD is the monthly macro panel of McCracken, M. W. and S. Ng (2016), "FRED-MD: A Monthly Database for
Macroeconomic Research", Journal of Business & Economic Statistics 34(4), 574-589 (hereafter MN16). A vintage
file ``YYYY-MM.csv`` has a header row ``sasdate,RPI,...``, a second row ``Transform:,5,5,...`` with the
transformation code (tcode) of every series, then one row per month (``m/d/yyyy``, first day of the month) with
raw levels; blank cells are missing.

The chain used in the literature (MN16 section 2 and appendix; Bianchi, Buechner and Tamoni, 2021, for bond
risk premia) is :func:`load_fredmd` -> :func:`transform_fredmd` -> :func:`remove_outliers` -> :func:`em_impute`,
bundled as :func:`prepare_fredmd`. The EM/PCA imputation :func:`em_impute` (with :class:`EMInfo`) is a general
panel method and lives in :mod:`bondpremia.econometrics.em_factors`; it is re-exported here.
:func:`fredmd_groups` maps mnemonics to the eight MN16 groups and :func:`is_market_series` flags the series known
at the end of their month (groups 6 and 8).
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import IO, Literal

import numpy as np
import pandas as pd

from bondpremia.econometrics.em_factors import EMInfo, _em, em_impute
from bondpremia.errors import InputError

__all__ = [
    "FREDMD_GROUP_NAMES",
    "EMInfo",
    "FredMD",
    "download_fredmd",
    "em_impute",
    "fredmd_groups",
    "is_market_series",
    "load_fredmd",
    "prepare_fredmd",
    "remove_outliers",
    "transform_fredmd",
]

# ----------------------------------------------------------------------------------------------------------
# Loader
# ----------------------------------------------------------------------------------------------------------
_MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "."})
_TRANSFORM_LABEL = re.compile(r"^\s*transform\s*:?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class FredMD:
    """One FRED-MD vintage as read by :func:`load_fredmd`.

    Attributes
    ----------
    data:
        Raw levels, float, NaN where the file is blank. Index: month-end ``DatetimeIndex`` named ``date``;
        columns: the series mnemonics exactly as spelled in the file.
    tcodes:
        Transformation code (int 1..7, MN16 appendix) of every column of ``data``, indexed by mnemonic.
    """

    data: pd.DataFrame
    tcodes: pd.Series

    def __post_init__(self) -> None:
        if list(self.tcodes.index) != list(self.data.columns):
            raise InputError("FredMD.tcodes must be indexed by the columns of FredMD.data, in the same order",
                             column="tcodes")


def _read_cells(source: str | PathLike[str] | IO[str], label: str | None) -> pd.DataFrame:
    """All cells as stripped strings; frame row i is line i + 1 of the file (blank lines kept)."""
    encoding = "utf-8-sig" if isinstance(source, (str, PathLike)) else None
    try:
        cells = pd.read_csv(source, header=None, dtype=str, keep_default_na=False, skip_blank_lines=False,
                            encoding=encoding)
    except FileNotFoundError:
        raise InputError("file not found; pass the path of a FRED-MD vintage CSV", file=label) from None
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty; expected a FRED-MD vintage CSV", file=label) from None
    except pd.errors.ParserError as exc:
        raise InputError(f"not a well-formed CSV ({exc}); check that every row has as many cells as the header",
                         file=label) from None
    cells = cells.fillna("")
    cells = cells.apply(lambda col: col.str.strip())
    cells.iloc[0, 0] = cells.iloc[0, 0].lstrip("\ufeff")
    return cells


def _parse_months(text: pd.Series, lines: np.ndarray, label: str | None, date_col: str) -> pd.DatetimeIndex:
    parsed = pd.to_datetime(text, format="%m/%d/%Y", errors="coerce")
    retry = parsed.isna()
    if retry.any():  # some tools re-save the file with ISO dates
        parsed[retry] = pd.to_datetime(text[retry], format="%Y-%m-%d", errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        i = bad[0]
        raise InputError(f"cannot read date {text.iloc[i]!r}; expected m/d/yyyy such as 1/1/1959",
                         file=label, column=date_col, row=int(lines[i]))
    months = pd.DatetimeIndex(parsed) + pd.offsets.MonthEnd(0)
    ordinal = months.year.to_numpy() * 12 + months.month.to_numpy()
    step = np.diff(ordinal)
    if (step <= 0).any():
        i = int(np.flatnonzero(step <= 0)[0]) + 1
        what = "appears twice" if step[i - 1] == 0 else "is out of order (earlier than the row above)"
        raise InputError(f"month {months[i]:%Y-%m} {what}; the rows must be strictly increasing months",
                         file=label, column=date_col, row=int(lines[i]))
    return pd.DatetimeIndex(months, name="date")


def load_fredmd(path: str | PathLike[str] | IO[str]) -> FredMD:
    """Read a FRED-MD vintage CSV (MN16, section 2).

    Parameters
    ----------
    path:
        Path of the file (e.g. ``2018-12.csv`` from the St. Louis Fed) or an open text stream.

    Returns
    -------
    FredMD
        ``data`` (raw levels indexed by month end) and ``tcodes`` (int 1..7).

    Notes
    -----
    The tcode row is recognised by its first cell ``Transform:`` in any case, with or without the colon, as
    in older vintages. Blank cells (and ``NA``, ``NaN``, ``.``) are missing. Rows whose date cell is empty are
    dropped when they come after the last dated row (the files end with empty lines or rows of commas) or are
    entirely blank; an undated row with values inside the sample is an error. Dates are mapped to month ends.

    Raises
    ------
    InputError
        No tcode row; a tcode that is not an integer in 1..7; a non-numeric value (naming the column and the
        1-based line of the file); a date that does not parse; a month that appears twice or out of order;
        duplicated or empty column names.
    """
    label = str(path) if isinstance(path, (str, PathLike)) else getattr(path, "name", None)
    label = label if isinstance(label, str) else None
    cells = _read_cells(path, label)
    lines = np.arange(1, len(cells) + 1)
    header = cells.iloc[0].tolist()
    date_col = header[0] or "sasdate"
    names = header[1:]
    body, lines = cells.iloc[1:], lines[1:]

    first = body.iloc[:, 0]
    is_transform = first.str.match(_TRANSFORM_LABEL).to_numpy()
    if not is_transform.any():
        raise InputError("no 'Transform:' row with the tcodes; a FRED-MD vintage has it right below the header",
                         file=label, column=date_col)
    t_pos = int(np.flatnonzero(is_transform)[0])
    t_cells, t_line = body.iloc[t_pos, 1:], int(lines[t_pos])
    body, lines = body.iloc[~is_transform], lines[~is_transform]

    # drop empty columns made by trailing commas in the header, reject unnamed columns with content
    blank_name = np.array([n == "" for n in names], dtype=bool)
    if blank_name.any():
        used = (body.iloc[:, 1:].to_numpy() != "").any(axis=0) | (t_cells.to_numpy() != "")
        if (blank_name & used).any():
            j = int(np.flatnonzero(blank_name & used)[0])
            raise InputError(f"column {j + 2} has values but no name in the header; name it or delete it",
                             file=label, row=1)
    keep = ~blank_name
    names = [n for n, k in zip(names, keep, strict=True) if k]
    values = body.iloc[:, 1:].loc[:, keep]
    t_cells = t_cells.loc[keep]
    dup = pd.Index(names).duplicated()
    if dup.any():
        raise InputError("the column appears twice in the header", file=label, column=names[int(np.argmax(dup))],
                         row=1)
    if not names:
        raise InputError("no series columns after the date column", file=label, row=1)

    # undated rows: drop the blank ones and the trailing ones, reject the rest
    dates = body.iloc[:, 0]
    undated = (dates == "").to_numpy()
    empty_row = undated & (values.to_numpy() == "").all(axis=1)
    dated_pos = np.flatnonzero(~undated)
    trailing = np.arange(len(dates)) > (dated_pos[-1] if dated_pos.size else -1)
    bad = undated & ~empty_row & ~trailing
    if bad.any():
        raise InputError("row has values but no date; fill in the date or delete the row", file=label,
                         column=date_col, row=int(lines[np.flatnonzero(bad)[0]]))
    keep_rows = ~undated
    dates, values, lines = dates[keep_rows], values.iloc[keep_rows], lines[keep_rows]
    if len(dates) == 0:
        raise InputError("no dated rows below the header and the tcode row", file=label, column=date_col)
    index = _parse_months(dates.reset_index(drop=True), lines, label, date_col)

    # tcodes
    t_num = pd.to_numeric(t_cells.reset_index(drop=True), errors="coerce").to_numpy(dtype=float)
    t_bad = ~np.isin(t_num, np.arange(1.0, 8.0))
    if t_bad.any():
        j = int(np.flatnonzero(t_bad)[0])
        raise InputError(f"tcode {t_cells.iloc[j]!r} is not an integer from 1 to 7", file=label, column=names[j],
                         row=t_line)
    tcodes = pd.Series(t_num.astype(int), index=pd.Index(names), name="tcode")

    # values
    raw = values.to_numpy()
    missing = np.isin(np.char.lower(raw.astype(str)), list(_MISSING_TOKENS))
    num = pd.to_numeric(pd.Series(np.where(missing, "", raw).ravel()), errors="coerce").to_numpy(dtype=float)
    num = num.reshape(raw.shape)
    bad_cell = np.isnan(num) & ~missing
    if bad_cell.any():
        i, j = np.argwhere(bad_cell)[0]
        raise InputError(f"value {raw[i, j]!r} is not a number; use a blank cell for a missing value", file=label,
                         column=names[j], row=int(lines[i]))
    data = pd.DataFrame(num, index=index, columns=pd.Index(names))
    return FredMD(data=data, tcodes=tcodes)


# ----------------------------------------------------------------------------------------------------------
# Transformations
# ----------------------------------------------------------------------------------------------------------
def _check_monthly(index: pd.Index, what: str) -> pd.PeriodIndex:
    if not isinstance(index, pd.DatetimeIndex):
        raise InputError(f"{what} must be indexed by dates (a DatetimeIndex of months)", column="index")
    periods = index.to_period("M")
    step = np.diff(periods.asi8)
    if (step != 1).any():
        i = int(np.flatnonzero(step != 1)[0])
        raise InputError(f"the index must be consecutive calendar months, one row each; {periods[i]} is followed "
                         f"by {periods[i + 1]}. Reindex to a full monthly range (missing months as NaN rows)",
                         column="index")
    return periods


def _align_tcodes(columns: pd.Index, tcodes: pd.Series | Mapping[str, int]) -> np.ndarray:
    tc = pd.Series(tcodes) if not isinstance(tcodes, pd.Series) else tcodes
    missing = columns.difference(tc.index, sort=False)
    if len(missing):
        raise InputError(f"no tcode for {len(missing)} column(s): {list(missing)[:10]}; pass a tcode for every "
                         "column", column=str(missing[0]))
    codes = pd.to_numeric(tc.reindex(columns), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(codes, np.arange(1.0, 8.0))
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise InputError(f"tcode {tc[columns[j]]!r} is not an integer from 1 to 7", column=str(columns[j]))
    return codes.astype(int)


def _lag(x: np.ndarray) -> np.ndarray:
    out = np.full_like(x, np.nan)
    out[1:] = x[:-1]
    return out


def transform_fredmd(data: pd.DataFrame, tcodes: pd.Series | Mapping[str, int]) -> pd.DataFrame:
    """Apply the MN16 transformation codes to raw levels (MN16 appendix, "tcode" column).

    ======  =====================================
    tcode   transformation of :math:`x_t`
    ======  =====================================
    1       :math:`x_t`
    2       :math:`\\Delta x_t`
    3       :math:`\\Delta^2 x_t`
    4       :math:`\\log x_t`
    5       :math:`\\Delta \\log x_t`
    6       :math:`\\Delta^2 \\log x_t`
    7       :math:`\\Delta (x_t / x_{t-1} - 1)`
    ======  =====================================

    Parameters
    ----------
    data:
        Raw levels (``FredMD.data``), one row per consecutive calendar month.
    tcodes:
        Code of every column (``FredMD.tcodes``); extra entries are ignored.

    Returns
    -------
    pandas.DataFrame
        Same index and columns; the first row is NaN after tcodes 2, 5 and 7 and the first two rows after 3
        and 6, and a NaN level makes the differences that use it NaN.

    Raises
    ------
    InputError
        Index not a gap-free monthly ``DatetimeIndex``; a column without a tcode or with a code outside 1..7;
        a non-positive level in a column whose tcode takes logs (4, 5, 6), naming the first such date. (The
        MN16 MATLAB code silently returns NaN there; we refuse, because it hides a wrong tcode.)
    """
    if not isinstance(data, pd.DataFrame):
        raise InputError("data must be a DataFrame of levels", column="data")
    _check_monthly(data.index, "data")
    codes = _align_tcodes(data.columns, tcodes)
    x = data.to_numpy(dtype=float, copy=True)
    out = np.full_like(x, np.nan)
    logged = np.isin(codes, (4, 5, 6))
    nonpos = (x <= 0) & logged[None, :]
    if nonpos.any():
        cols_bad = np.flatnonzero(nonpos.any(axis=0))
        j = int(cols_bad[0])
        t = int(np.argmax(nonpos[:, j]))
        raise InputError(f"tcode {codes[j]} takes logs but the value on {data.index[t]:%Y-%m-%d} is {x[t, j]!r} "
                         "(not positive); fix the data or use a tcode without logs (1, 2, 3 or 7)",
                         column=str(data.columns[j]))
    for code in range(1, 8):
        sel = codes == code
        if not sel.any():
            continue
        v = x[:, sel]
        if code in (4, 5, 6):
            v = np.log(v)
        if code == 7:
            v = v / _lag(v) - 1.0
        n_diff = {1: 0, 2: 1, 3: 2, 4: 0, 5: 1, 6: 2, 7: 1}[code]
        for _ in range(n_diff):
            v = v - _lag(v)
        out[:, sel] = v
    return pd.DataFrame(out, index=data.index.copy(), columns=data.columns.copy())


# ----------------------------------------------------------------------------------------------------------
# Outliers
# ----------------------------------------------------------------------------------------------------------
_QuantileMethod = Literal["linear", "hazen", "weibull", "median_unbiased", "normal_unbiased"]
_QUANTILE_METHODS = ("linear", "hazen", "weibull", "median_unbiased", "normal_unbiased")


def remove_outliers(
    transformed: pd.DataFrame,
    threshold: float = 10.0,
    *,
    return_counts: bool = False,
    quantile_method: _QuantileMethod = "linear",
) -> pd.DataFrame | tuple[pd.DataFrame, pd.Series]:
    """Set outliers to NaN with the MN16 rule (section 2 of MN16 and their MATLAB ``remove_outliers.m``).

    An observation :math:`x_{it}` of series :math:`i` is an outlier when
    :math:`|x_{it} - \\mathrm{median}_i| > \\text{threshold} \\times \\mathrm{IQR}_i`, where the median and the
    interquartile range (75th minus 25th percentile) are those of series :math:`i` over the whole sample
    given, ignoring NaN. MN16 use ``threshold = 10``.

    Parameters
    ----------
    transformed:
        Stationary (transformed) panel, e.g. the output of :func:`transform_fredmd`.
    threshold:
        Multiple of the IQR; must be positive.
    return_counts:
        If True also return the number of observations removed per column (int Series named ``outliers``).
    quantile_method:
        Passed to :func:`numpy.nanquantile` for the quartiles. ``"linear"`` (default) is the usual
        definition; ``"hazen"`` is MATLAB's ``prctile`` used in the MN16 code. The two differ only when an
        observation sits almost exactly on the boundary. Also ``"weibull"``, ``"median_unbiased"``,
        ``"normal_unbiased"``.

    Returns
    -------
    pandas.DataFrame or (pandas.DataFrame, pandas.Series)
        A new frame (the input is not modified), and the counts when ``return_counts``.

    Notes
    -----
    The rule is applied literally: a column whose IQR is 0 (more than half of its values equal) loses every
    value that differs from its median. All-NaN columns are left unchanged.
    """
    out, counts = _screen_outliers(transformed, threshold, quantile_method)
    return (out, counts) if return_counts else out


def _screen_outliers(
    transformed: pd.DataFrame, threshold: float, quantile_method: _QuantileMethod
) -> tuple[pd.DataFrame, pd.Series]:
    if not isinstance(transformed, pd.DataFrame):
        raise InputError("transformed must be a DataFrame", column="transformed")
    if quantile_method not in _QUANTILE_METHODS:
        raise InputError(f"quantile_method must be one of {_QUANTILE_METHODS}, got {quantile_method!r}",
                         column="quantile_method")
    if not np.isfinite(threshold) or threshold <= 0:
        raise InputError(f"threshold must be a positive number, got {threshold!r}", column="threshold")
    x = transformed.to_numpy(dtype=float, copy=True)
    has_data = ~np.isnan(x).all(axis=0)
    med = np.full(x.shape[1], np.nan)
    iqr = np.full(x.shape[1], np.nan)
    if has_data.any():
        q = np.nanquantile(x[:, has_data], [0.25, 0.5, 0.75], axis=0, method=quantile_method)
        med[has_data] = q[1]
        iqr[has_data] = q[2] - q[0]
    with np.errstate(invalid="ignore"):
        flag = np.abs(x - med) > threshold * iqr
    x[flag] = np.nan
    out = pd.DataFrame(x, index=transformed.index.copy(), columns=transformed.columns.copy())
    return out, pd.Series(flag.sum(axis=0).astype(int), index=transformed.columns.copy(), name="outliers")


# ----------------------------------------------------------------------------------------------------------
# Whole chain
# ----------------------------------------------------------------------------------------------------------
def _month(value: str | pd.Timestamp | None, what: str) -> pd.Period | None:
    from bondpremia.validate import month

    return None if value is None else month(value, what)


def prepare_fredmd(
    fred: FredMD,
    *,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    outliers: bool = True,
    impute: bool = True,
    n_factors: int | Literal["bai_ng"] = 8,
    threshold: float = 10.0,
    max_iter: int = 50,
    tol: float = 1e-6,
) -> pd.DataFrame:
    """Transformed, outlier-screened, balanced FRED-MD panel (MN16 section 2).

    Steps: :func:`transform_fredmd` on the whole file; keep the months from ``start`` to ``end`` inclusive
    (after transforming, so that the lags of the first kept month come from the file: the first one or two
    rows of the file are NaN after difference transforms); :func:`remove_outliers` (if ``outliers``);
    :func:`em_impute` (if ``impute``).

    Parameters
    ----------
    fred:
        Vintage from :func:`load_fredmd`.
    start, end:
        First and last month kept, ``'YYYY-MM'`` strings or Timestamps (any day of the month); None keeps
        the file's first/last month. With ``start=None`` and Δ² transforms, the first two months are all NaN
        and the imputation refuses them: pass a ``start`` at least two months after the file's first month.
    outliers, impute:
        Switch the last two steps off.
    n_factors, threshold, max_iter, tol:
        Passed to :func:`remove_outliers` and :func:`em_impute`.

    Returns
    -------
    pandas.DataFrame
        Month-end index ``date``, one column per series.

    Notes
    -----
    The outlier quartiles and the EM factors are estimated on the whole sample ``[start, end]``: the value
    imputed for a month uses data released later, and the outlier screen of early months uses the later
    distribution. That is look-ahead. For an out-of-sample exercise without it, call this function at each
    forecast date with ``end`` = that date (ideally on the vintage available then). Studies that use the
    final vintage once (e.g. Bianchi, Buechner and Tamoni, 2021, Review of Financial Studies) accept this
    look-ahead; say so when you do.
    """
    if not isinstance(fred, FredMD):
        raise InputError("fred must be a FredMD from load_fredmd()", column="fred")
    tx = transform_fredmd(fred.data, fred.tcodes)
    periods = pd.DatetimeIndex(tx.index).to_period("M")
    p0, p1 = _month(start, "start"), _month(end, "end")
    keep = np.ones(len(tx), dtype=bool)
    if p0 is not None:
        keep &= periods >= p0
    if p1 is not None:
        keep &= periods <= p1
    if not keep.any():
        raise InputError(f"no month of the file ({periods[0]} to {periods[-1]}) lies in [{p0}, {p1}]",
                         column="start")
    tx = tx.loc[keep]
    if outliers:
        tx = _screen_outliers(tx, threshold, "linear")[0]
    if impute:
        tx = _em(tx, n_factors, max_iter, tol, kmax=8)[0]
    return tx


# ----------------------------------------------------------------------------------------------------------
# Download
# ----------------------------------------------------------------------------------------------------------
_URL_PATTERNS = (
    "https://www.stlouisfed.org/-/media/project/frbstl/stlouisfed/research/fred-md/monthly/{vintage}.csv",
    "https://files.stlouisfed.org/files/htdocs/fred-md/monthly/{vintage}.csv",
)
_FRED_MD_PAGE = "https://www.stlouisfed.org/research/economists/mccracken/fred-databases"


def download_fredmd(
    vintage: str = "current",
    dest: str | PathLike[str] | None = None,
    *,
    timeout: float = 60.0,
) -> Path:
    """Download a FRED-MD vintage CSV from the St. Louis Fed (MN16).

    The file is fetched from the St. Louis Fed research site
    (``https://www.stlouisfed.org/-/media/project/frbstl/stlouisfed/research/fred-md/monthly/{vintage}.csv``)
    and, failing that, from the older address
    ``https://files.stlouisfed.org/files/htdocs/fred-md/monthly/{vintage}.csv``.

    Parameters
    ----------
    vintage:
        ``'YYYY-MM'`` or ``'current'`` (the latest release).
    dest:
        Target file, or an existing directory in which ``fredmd_{vintage}.csv`` is written; default
        ``./fredmd_{vintage}.csv``.
    timeout:
        Seconds per request.

    Returns
    -------
    pathlib.Path
        The written file; read it with :func:`load_fredmd`.

    Raises
    ------
    InputError
        A malformed ``vintage``, or no address answered with a FRED-MD CSV: download the file by hand from
        the FRED-MD page and pass its local path to :func:`load_fredmd`.
    """
    m = re.fullmatch(r"(\d{4})-(\d{2})", vintage) if isinstance(vintage, str) else None
    if vintage != "current" and (m is None or not 1 <= int(m.group(2)) <= 12):
        raise InputError(f"vintage must be 'current' or 'YYYY-MM' (e.g. '2018-12'), got {vintage!r}",
                         column="vintage")
    target = Path.cwd() / f"fredmd_{vintage}.csv" if dest is None else Path(dest)
    if target.is_dir():
        target = target / f"fredmd_{vintage}.csv"
    failures = []
    for pattern in _URL_PATTERNS:
        url = pattern.format(vintage=vintage)
        request = urllib.request.Request(url, headers={"User-Agent": "bondpremia (python urllib)"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                payload = response.read()
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            failures.append(f"{url}: {exc}")
            continue
        text = payload.decode("utf-8-sig", errors="replace")
        head = text[:20000].lower()
        if not head.startswith("sasdate") or "transform" not in head:
            failures.append(f"{url}: the answer is not a FRED-MD CSV")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(payload)
        tmp.replace(target)
        return target
    raise InputError(f"could not download FRED-MD vintage {vintage!r} ({'; '.join(failures)}). Download the CSV "
                     f"by hand from {_FRED_MD_PAGE} and pass its local path to load_fredmd()", column="vintage")


# ----------------------------------------------------------------------------------------------------------
# Groups (MN16 appendix)
# ----------------------------------------------------------------------------------------------------------
FREDMD_GROUP_NAMES: dict[int, str] = {
    1: "Output and income",
    2: "Labor market",
    3: "Housing",
    4: "Consumption, orders and inventories",
    5: "Money and credit",
    6: "Interest and exchange rates",
    7: "Prices",
    8: "Stock market",
}

# Mnemonic -> group, written from the MN16 appendix table (including series renamed or retired across vintages).
_GROUP_MEMBERS: dict[int, tuple[str, ...]] = {
    1: ("RPI", "W875RX1", "INDPRO", "IPFPNSS", "IPFINAL", "IPCONGD", "IPDCONGD", "IPNCONGD", "IPBUSEQ", "IPMAT",
        "IPDMAT", "IPNMAT", "IPMANSICS", "IPB51222S", "IPFUELS", "NAPMPI", "CUMFNS"),
    2: ("HWI", "HWIURATIO", "CLF16OV", "CE16OV", "UNRATE", "UEMPMEAN", "UEMPLT5", "UEMP5TO14", "UEMP15OV",
        "UEMP15T26", "UEMP27OV", "CLAIMSx", "PAYEMS", "USGOOD", "CES1021000001", "USCONS", "MANEMP", "DMANEMP",
        "NDMANEMP", "SRVPRD", "USTPU", "USWTRADE", "USTRADE", "USFIRE", "USGOVT", "CES0600000007", "AWOTMAN",
        "AWHMAN", "NAPMEI", "CES0600000008", "CES2000000008", "CES3000000008"),
    3: ("HOUST", "HOUSTNE", "HOUSTMW", "HOUSTS", "HOUSTW", "PERMIT", "PERMITNE", "PERMITMW", "PERMITS", "PERMITW"),
    4: ("DPCERA3M086SBEA", "CMRMTSPLx", "RETAILx", "NAPM", "NAPMNOI", "NAPMSDI", "NAPMII", "ACOGNO", "AMDMNOx",
        "ANDENOx", "AMDMUOx", "BUSINVx", "ISRATIOx", "UMCSENTx"),
    5: ("M1SL", "M2SL", "M2REAL", "AMBSL", "BOGMBASE", "TOTRESNS", "NONBORRES", "BUSLOANS", "REALLN", "NONREVSL",
        "CONSPI", "MZMSL", "DTCOLNVHFNM", "DTCTHFNM", "INVEST"),
    6: ("FEDFUNDS", "CP3Mx", "TB3MS", "TB6MS", "GS1", "GS5", "GS10", "AAA", "BAA", "COMPAPFFx", "TB3SMFFM",
        "TB6SMFFM", "T1YFFM", "T5YFFM", "T10YFFM", "AAAFFM", "BAAFFM", "TWEXMMTH", "TWEXAFEGSMTHx", "EXSZUSx",
        "EXJPUSx", "EXUSUKx", "EXCAUSx"),
    7: ("PPIFGS", "WPSFD49207", "PPIFCG", "WPSFD49502", "PPIITM", "WPSID61", "PPICRM", "WPSID62", "OILPRICEx",
        "PPICMM", "NAPMPRI", "CPIAUCSL", "CPIAPPSL", "CPITRNSL", "CPIMEDSL", "CUSR0000SAC", "CUSR0000SAD",
        "CUUR0000SAD", "CUSR0000SAS", "CPIULFSL", "CUSR0000SA0L2", "CUUR0000SA0L2", "CUSR0000SA0L5", "PCEPI",
        "DDURRG3M086SBEA", "DNDGRG3M086SBEA", "DSERRG3M086SBEA"),
    8: ("S&P 500", "S&P: indust", "S&P div yield", "S&P PE ratio", "VXOCLSx", "VIXCLSx"),
}
_GROUP_OF: dict[str, int] = {name.upper(): g for g, names in _GROUP_MEMBERS.items() for name in names}
MARKET_GROUPS = (6, 8)  # interest and exchange rates, stock market: observed by the end of the month


def fredmd_groups(columns: Iterable[str], unknown: Literal["raise", "nan"] = "raise") -> pd.Series:
    """MN16 group (1..8, see :data:`FREDMD_GROUP_NAMES`) of each FRED-MD mnemonic.

    The map is built into the package from the MN16 appendix tables (original and updated), including series
    renamed or dropped across vintages (e.g. ``AMBSL``/``BOGMBASE``, ``PPIFGS``/``WPSFD49207``,
    ``TWEXMMTH``/``TWEXAFEGSMTHx``, ``VXOCLSx``/``VIXCLSx``, the ISM ``NAPM*`` series). Names are matched
    case-insensitively after stripping blanks.

    Parameters
    ----------
    columns:
        Mnemonics, e.g. ``FredMD.data.columns``.
    unknown:
        ``"raise"`` (default): an :class:`InputError` lists the names not in the map. ``"nan"``: they get NaN.

    Returns
    -------
    pandas.Series
        Named ``group``, indexed by ``columns`` as given; int64, or float64 when ``unknown="nan"`` and some
        name is unknown.
    """
    if unknown not in ("raise", "nan"):
        raise InputError(f"unknown must be 'raise' or 'nan', got {unknown!r}", column="unknown")
    index = pd.Index(list(columns))
    groups = pd.Series(index.astype(str).str.strip().str.upper(), index=index).map(_GROUP_OF)
    missing = groups.isna()
    if missing.any():
        if unknown == "raise":
            names = [str(c) for c in index[missing.to_numpy()]]
            raise InputError(f"{len(names)} name(s) are not FRED-MD mnemonics of the McCracken-Ng appendix: {names}; "
                             "pass unknown='nan' to get NaN for them", column=names[0])
        return groups.astype(float).rename("group")
    return groups.astype(np.int64).rename("group")


def is_market_series(
    columns: Iterable[str], unknown: Literal["raise", "market", "nonmarket"] = "raise"
) -> pd.Series:
    """True for the "market" series of MN16 groups 6 (interest and exchange rates) and 8 (stock market).

    Market series are known at the end of their month (FRED-MD records most of them as monthly averages of
    daily quotes, which are complete at month end); the others (real activity, labour, housing, orders,
    money and credit, prices) are published with a delay of a month or more. A forecasting exercise that
    respects release timing lags the non-market series by one month.

    Parameters
    ----------
    columns:
        Mnemonics.
    unknown:
        What to do with names missing from the group map: ``"raise"`` (default), or count them as
        ``"market"`` or ``"nonmarket"``.

    Returns
    -------
    pandas.Series
        Boolean, named ``market``, indexed by ``columns``.
    """
    if unknown not in ("raise", "market", "nonmarket"):
        raise InputError(f"unknown must be 'raise', 'market' or 'nonmarket', got {unknown!r}", column="unknown")
    groups = fredmd_groups(columns, unknown="raise" if unknown == "raise" else "nan")
    out = groups.isin(MARKET_GROUPS)
    out[groups.isna()] = unknown == "market"
    return out.astype(bool).rename("market")
