"""Zero-curve algebra: log prices, one-year forwards and holding-period excess returns, and the helpers shared
by the other curve modules (:mod:`bondpremia.fixed_income.nss` for Nelson-Siegel-Svensson fits,
:mod:`bondpremia.fixed_income.bootstrap` for the par-to-zero bootstrap of the US Treasury par curve).

Conventions (see ``DESIGN.md``):

* Yield inputs of :func:`log_prices`, :func:`forward_rates` and :func:`excess_returns` are pandas DataFrames
  indexed by date with one column per maturity **in months** (integer labels, e.g. the output of
  :func:`bondpremia.data.load_liu_wu`), holding annualized **continuously compounded** zero-coupon yields in
  **decimals**. Columns whose label is not an integer are ignored; a maturity a routine needs but cannot find
  raises :class:`~bondpremia.errors.InputError` naming the missing column.
* Maturities passed as arguments are in **years** (``maturities_years``) and must be whole months.
* Everything is vectorized over dates; no routine loops over rows in Python.

Notation follows Cochrane and Piazzesi (2005), "Bond Risk Premia", *American Economic Review* 95(1),
138-160, Section I: the log price of an ``n``-year zero is ``p_t(n) = -n y_t(n)``, the one-year forward rate
for the year from ``n-1`` to ``n`` is ``f_t(n) = p_t(n-1) - p_t(n)``, and the log excess return of buying an
``n``-year bond at ``t`` and selling it a year later is ``rx_{t+1}(n) = p_{t+1}(n-1) - p_t(n) - y_t(1)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from bondpremia.errors import InputError

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "excess_returns",
    "forward_rates",
    "log_prices",
]


# ----------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------
def _label(n: float) -> int | float:
    """Column label for a maturity in years: an int when whole (2, 10), else the float (0.5)."""
    n = float(n)
    return int(n) if n.is_integer() else n


def _to_months(n: float, argument: str) -> int:
    """Whole number of months in ``n`` years, or InputError."""
    m = float(n) * 12.0
    r = round(m)
    if not np.isfinite(m) or abs(m - r) > 1e-9:
        raise InputError(f"maturity {n!r} years is not a whole number of months", column=argument)
    return int(r)


def _check_frame(yields: Any, argument: str = "yields") -> pd.DataFrame:
    if not isinstance(yields, pd.DataFrame):
        raise InputError(
            f"expected a pandas DataFrame (dates x maturities in months), got {type(yields).__name__}",
            column=argument,
        )
    return yields


def _month_columns(yields: pd.DataFrame) -> dict[int, Any]:
    """Map maturity in months -> column label, for the integer-labelled columns."""
    out: dict[int, Any] = {}
    for col in yields.columns:
        if isinstance(col, bool):
            continue
        if isinstance(col, (int, np.integer)):
            out[int(col)] = col
        elif isinstance(col, (float, np.floating)) and float(col).is_integer():
            out[int(col)] = col
    return out


def _yield_matrix(yields: pd.DataFrame, months: Sequence[int], argument: str = "yields") -> FloatArray:
    """(T, len(months)) float array of the requested month columns."""
    cols = _month_columns(yields)
    missing = [m for m in months if m not in cols]
    if missing:
        raise InputError(
            f"no column for maturity {missing[0]} months (needed: {sorted(set(missing))}); "
            "columns must be maturities in months (integers)",
            column=str(missing[0]),
        )
    try:
        arr = yields[[cols[m] for m in months]].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"yield columns must be numeric: {exc}", column=argument) from exc
    return arr


def _monthly_order(index: pd.Index, argument: str = "yields") -> npt.NDArray[np.intp]:
    """Row order that sorts a regular monthly index; InputError on duplicate or missing months."""
    if isinstance(index, pd.DatetimeIndex):
        periods = index.to_period("M")
    elif isinstance(index, pd.PeriodIndex):
        periods = index.asfreq("M")
    else:
        raise InputError(
            f"the index must be a DatetimeIndex or PeriodIndex of months, got {type(index).__name__}",
            column=argument,
        )
    if periods.hasnans:
        raise InputError("the date index contains NaT", column=argument)
    order = np.argsort(periods.asi8, kind="stable")
    codes = periods.asi8[order]
    if codes.size == 0:
        return order
    steps = np.diff(codes)
    if np.any(steps == 0):
        dup = pd.Period(ordinal=int(codes[1:][steps == 0][0]), freq="M")
        raise InputError(f"month {dup} appears more than once; the index must hold one row per month",
                         column=argument)
    if np.any(steps > 1):
        full = pd.period_range(pd.Period(ordinal=int(codes[0]), freq="M"),
                               pd.Period(ordinal=int(codes[-1]), freq="M"), freq="M")
        missing = full.difference(pd.PeriodIndex(periods))
        raise InputError(
            f"missing month {missing[0]} ({len(missing)} missing in all); excess returns shift by calendar "
            "months and need a regular monthly index (reindex and fill with NaN if the gap is real)",
            column=argument,
        )
    return order


# ----------------------------------------------------------------------------------------------------------
# log prices, forwards, excess returns
# ----------------------------------------------------------------------------------------------------------
def log_prices(yields: pd.DataFrame, maturities_years: Iterable[float] | None = None) -> pd.DataFrame:
    """Log zero-coupon prices ``p_t(n) = -n y_t(n)`` (Cochrane-Piazzesi 2005, Section I).

    Parameters
    ----------
    yields:
        Dates x maturities in months (integer labels), continuously compounded zero yields in decimals.
    maturities_years:
        Maturities ``n`` in years (whole months). ``None`` takes every integer-labelled column.

    Returns
    -------
    DataFrame with the index of ``yields`` and one column per maturity **in years** (float labels,
    ``n = months / 12``), holding log prices per unit of face value.
    """
    yields = _check_frame(yields)
    if maturities_years is None:
        months = sorted(_month_columns(yields))
    else:
        months = [_to_months(n, "maturities_years") for n in maturities_years]
    if any(m <= 0 for m in months):
        raise InputError("maturities must be positive", column="maturities_years")
    y = _yield_matrix(yields, months)
    n = np.asarray(months, dtype=np.float64) / 12.0
    return pd.DataFrame(-y * n, index=yields.index.copy(), columns=pd.Index(n, name="maturity_years"))


def forward_rates(
    yields: pd.DataFrame, maturities_years: Iterable[float] = (1, 2, 3, 4, 5, 7, 10)
) -> pd.DataFrame:
    """One-year forward rates ``f_t(n) = p_t(n-1) - p_t(n) = n y_t(n) - (n-1) y_t(n-1)``.

    Cochrane and Piazzesi (2005), Section I: the forward rate at ``t`` for a loan from ``t+n-1`` to ``t+n``,
    with ``f_t(1) = y_t(1)`` (``p_t(0) = 0``). For ``n = 7`` and ``n = 10`` this is the forward for the
    seventh and tenth year, so the 6- and 9-year yields (72 and 108 months) must be present.

    Uses only the row dated ``t``: forwards at ``t`` never depend on other dates.

    Parameters
    ----------
    yields:
        Dates x maturities in months, continuously compounded zero yields in decimals.
    maturities_years:
        ``n >= 1`` in years (whole months; normally whole years).

    Returns
    -------
    DataFrame with the index of ``yields``, one column per ``n`` (labelled ``n``), in decimals.
    """
    yields = _check_frame(yields)
    ns = [float(n) for n in maturities_years]
    months = [_to_months(n, "maturities_years") for n in ns]
    if not ns or any(m < 12 for m in months):
        raise InputError("one-year forwards need maturities n >= 1 year", column="maturities_years")
    long = _yield_matrix(yields, months)
    prev_months = [m - 12 for m in months]
    need = sorted({m for m in prev_months if m > 0})
    prev = np.zeros_like(long)
    if need:
        short = _yield_matrix(yields, need)
        pos = {m: i for i, m in enumerate(need)}
        for j, m in enumerate(prev_months):
            if m > 0:
                prev[:, j] = short[:, pos[m]]
    n = np.asarray(ns)
    f = n * long - (n - 1.0) * prev
    return pd.DataFrame(f, index=yields.index.copy(), columns=pd.Index([_label(v) for v in ns], name="n"))


def excess_returns(
    yields: pd.DataFrame,
    maturities_years: Iterable[float] = (2, 3, 4, 5, 7, 10),
    horizon_months: int = 12,
    date: Literal["purchase", "realization"] = "purchase",
) -> pd.DataFrame:
    """Log holding-period excess returns on zero-coupon bonds, plus their equal-weighted average ``"EW"``.

    Buy an ``n``-year zero at ``t``, sell it at ``t + h`` as an ``(n - h/12)``-year zero, and subtract the
    ``h``-month yield (Cochrane and Piazzesi 2005, Section I, generalized from ``h = 12``)::

        rx_{t+h}(n) = p_{t+h}(n - h/12) - p_t(n) - (h/12) y_t(h/12),   p_t(n) = -n y_t(n).

    **Dating and look-ahead.** With ``date="purchase"`` (the default) the return is stored in the row of the
    purchase date ``t``: that row uses yields of ``t + h`` and is only *known at* ``t + h``. Use it as the
    left-hand side of a forecasting regression on predictors dated ``t``, never as a predictor at ``t``. The
    last ``h`` rows are NaN. With ``date="realization"`` the same return is stored in the row of ``t + h``
    (the Cochrane-Piazzesi ``rx_{t+1}`` dating); then a row dated ``s`` uses only yields up to ``s``, and the
    first ``h`` rows are NaN. The output index equals the (sorted) input index in both cases.

    Parameters
    ----------
    yields:
        Regular monthly panel (one row per calendar month, no gaps: a missing month raises
        :class:`InputError` naming it; rows are sorted by date), columns = maturities in months,
        continuously compounded zero yields in decimals. Needs the columns ``12 n``, ``12 n - h`` and ``h``.
    maturities_years:
        Bond maturities ``n`` in years at purchase (whole months, ``12 n > h``).
    horizon_months:
        Holding period ``h`` in months (shifts are by calendar months, not rows).
    date:
        ``"purchase"`` or ``"realization"`` (see above).

    Returns
    -------
    DataFrame of decimals, one column per ``n`` (labelled ``n``) and ``"EW"``, the cross-sectional mean of
    those columns (NaN when any of them is NaN).
    """
    yields = _check_frame(yields)
    if date not in ("purchase", "realization"):
        raise InputError(f"date must be 'purchase' or 'realization', got {date!r}", column="date")
    h = int(horizon_months)
    if h != horizon_months or h < 1:
        raise InputError(f"horizon_months must be a positive integer, got {horizon_months!r}",
                         column="horizon_months")
    ns = [float(n) for n in maturities_years]
    if not ns:
        raise InputError("no maturities given", column="maturities_years")
    months = [_to_months(n, "maturities_years") for n in ns]
    if any(m <= h for m in months):
        raise InputError(f"every maturity must exceed the horizon of {h} months", column="maturities_years")
    order = _monthly_order(yields.index)
    buy = _yield_matrix(yields, months)[order]
    sell = _yield_matrix(yields, [m - h for m in months])[order]
    short = _yield_matrix(yields, [h])[order][:, 0]
    mb = np.asarray(months, dtype=np.float64) / 12.0
    ms = mb - h / 12.0
    p_buy = -mb * buy  # p_t(n)
    p_sell = -ms * sell  # p_t(n - h/12), used at t + h
    t_rows = buy.shape[0]
    rx = np.full_like(buy, np.nan)
    if t_rows > h:
        rx[: t_rows - h] = p_sell[h:] - p_buy[: t_rows - h] - (h / 12.0) * short[: t_rows - h, None]
    if date == "realization":
        shifted = np.full_like(rx, np.nan)
        if t_rows > h:
            shifted[h:] = rx[: t_rows - h]
        rx = shifted
    ew = rx.mean(axis=1) if rx.shape[1] else np.full(t_rows, np.nan)
    out = pd.DataFrame(
        np.column_stack([rx, ew]),
        index=yields.index[order],
        columns=pd.Index([_label(n) for n in ns] + ["EW"], dtype=object, name="n"),
    )
    return out
