"""Zero-curve tools: log prices, one-year forwards, holding-period excess returns, Nelson-Siegel-Svensson
fits and the par-to-zero bootstrap of the US Treasury par curve.

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

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from bondpremia.errors import InputError

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "NSS_PARAMS",
    "ZeroCurve",
    "excess_returns",
    "fit_nss",
    "forward_rates",
    "log_prices",
    "nss_yields",
    "par_to_zero",
]

NSS_PARAMS = ("beta0", "beta1", "beta2", "beta3", "tau1", "tau2")


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
    """Log holding-period excess returns on zero-coupon bonds, plus their equal-weighted average ``"ew"``.

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
    DataFrame of decimals, one column per ``n`` (labelled ``n``) and ``"ew"``, the cross-sectional mean of
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
        columns=pd.Index([_label(n) for n in ns] + ["ew"], dtype=object, name="n"),
    )
    return out


# ----------------------------------------------------------------------------------------------------------
# Nelson-Siegel-Svensson
# ----------------------------------------------------------------------------------------------------------
def _nss_basis(m: FloatArray, tau: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Loadings for maturities ``m`` (k,) and decay times ``tau`` (T,): slope L, curvature C and x e^{-x}.

    ``L(x) = (1 - e^{-x}) / x``, ``C(x) = L(x) - e^{-x}`` with ``x = m / tau``; ``dL/d log tau = C`` and
    ``dC/d log tau = C - x e^{-x}``.
    """
    x = m[None, :] / tau[:, None]
    e = np.exp(-x)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(x > 0, -np.expm1(-x) / np.where(x > 0, x, 1.0), 1.0)
    return slope, slope - e, x * e


def nss_yields(params: pd.DataFrame | pd.Series | Mapping[str, float] | npt.ArrayLike,
               maturities_years: Iterable[float]) -> Any:
    """Nelson-Siegel-Svensson zero-coupon yields (Svensson 1994, NBER WP 4871; Gurkaynak, Sack and Wright
    2007, *Journal of Monetary Economics* 54, the Svensson yield curve they fit to Treasuries)::

        y(m) = b0 + b1 L(m/t1) + b2 [L(m/t1) - e^{-m/t1}] + b3 [L(m/t2) - e^{-m/t2}],  L(x) = (1 - e^{-x}) / x

    continuously compounded, in the units of ``b0..b3`` (decimals throughout bondpremia), ``m`` in years.

    Parameters
    ----------
    params:
        A DataFrame with columns ``beta0, beta1, beta2, beta3, tau1, tau2`` (one curve per row, e.g. the
        output of :func:`fit_nss`), a Series/mapping with those keys, or an array ``(6,)`` / ``(T, 6)`` in
        that order.
    maturities_years:
        Maturities in years (``>= 0``; ``m = 0`` gives the instantaneous short rate ``b0 + b1``).

    Returns
    -------
    DataFrame (dates x maturities) for DataFrame input, Series for Series/mapping input, ndarray otherwise.
    """
    m = np.asarray(list(maturities_years), dtype=np.float64)
    if np.any(~np.isfinite(m)) or np.any(m < 0):
        raise InputError("maturities must be finite and non-negative", column="maturities_years")
    kind = "array"
    index = None
    if isinstance(params, pd.DataFrame):
        missing = [c for c in NSS_PARAMS if c not in params.columns]
        if missing:
            raise InputError(f"missing NSS parameter column {missing[0]!r}", column=missing[0])
        theta = params[list(NSS_PARAMS)].to_numpy(dtype=np.float64)
        kind, index = "frame", params.index
    elif isinstance(params, (pd.Series, Mapping)):
        missing = [c for c in NSS_PARAMS if c not in params]
        if missing:
            raise InputError(f"missing NSS parameter {missing[0]!r}", column=missing[0])
        theta = np.array([[float(params[c]) for c in NSS_PARAMS]])
        kind = "series"
    else:
        theta = np.asarray(params, dtype=np.float64)
        kind = "vector" if theta.ndim == 1 else "array"
        theta = np.atleast_2d(theta)
        if theta.ndim != 2 or theta.shape[1] != 6:
            raise InputError("params must have 6 entries per curve (beta0..beta3, tau1, tau2)",
                             column="params")
    y = _nss_eval(theta, m)
    labels = [_label(v) for v in m]
    if kind == "frame":
        return pd.DataFrame(y, index=index, columns=pd.Index(labels, name="maturity_years"))
    if kind == "series":
        return pd.Series(y[0], index=pd.Index(labels, name="maturity_years"))
    return y[0] if kind == "vector" else y


def _nss_eval(theta: FloatArray, m: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore"):
        l1, c1, _ = _nss_basis(m, theta[:, 4])
        _, c2, _ = _nss_basis(m, theta[:, 5])
    b = theta[:, :4]
    return b[:, [0]] + b[:, [1]] * l1 + b[:, [2]] * c1 + b[:, [3]] * c2


def _nss_model(beta: FloatArray, u: FloatArray, m: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Fitted yields (T, k) and Jacobian (T, k, 6) w.r.t. (b0..b3, log tau1, log tau2)."""
    l1, c1, xe1 = _nss_basis(m, np.exp(u[:, 0]))
    _, c2, xe2 = _nss_basis(m, np.exp(u[:, 1]))
    b0, b1, b2, b3 = (beta[:, [i]] for i in range(4))
    fit = b0 + b1 * l1 + b2 * c1 + b3 * c2
    jac = np.empty(fit.shape + (6,))
    jac[..., 0] = 1.0
    jac[..., 1] = l1
    jac[..., 2] = c1
    jac[..., 3] = c2
    jac[..., 4] = b1 * c1 + b2 * (c1 - xe1)
    jac[..., 5] = b3 * (c2 - xe2)
    return fit, jac


_NSS_CHUNK = 2048  # dates per block of the batched fit (bounds the memory of the grid stage)


def _nss_grid_starts(wa: FloatArray, ya: FloatArray, m: FloatArray, grid: FloatArray, min_sep: float,
                     n_starts: int) -> FloatArray:
    """Starts (R, K, 6) = (b0..b3, log tau1, log tau2) from the local minima of the (tau1, tau2) grid.

    For each grid pair the betas of all R dates solve stacked masked 4x4 normal equations. The K deepest
    local minima of each date's sum-of-squares surface over the grid (8-neighbour test) become starts;
    missing starts (fewer local minima) are NaN.
    """
    g, rr, k = grid.size, wa.shape[0], m.size
    slope, curv, _ = _nss_basis(m, grid)  # (G, k)
    ones = np.ones(k)
    eye = np.eye(4)
    sse = np.full((g, g, rr), np.inf)
    wy = wa * ya
    lg = np.log(grid)
    for i in range(g):  # loop over tau1 on the grid; all tau2 and all dates at once
        ok = np.abs(lg - lg[i]) >= min_sep - 1e-12
        if not np.any(ok):
            continue
        cj = curv[ok]  # (J, k)
        x = np.stack([np.broadcast_to(ones, cj.shape), np.broadcast_to(slope[i], cj.shape),
                      np.broadcast_to(curv[i], cj.shape), cj], axis=-1)  # (J, k, 4)
        outer = (x[:, :, :, None] * x[:, :, None, :]).reshape(x.shape[0], k, 16)
        a = np.matmul(wa, outer).reshape(x.shape[0], rr, 4, 4)  # (J, R, 4, 4)
        ridge = 1e-13 * np.trace(a, axis1=2, axis2=3)[..., None, None] * eye
        beta = np.linalg.solve(a + ridge, np.matmul(wy, x)[..., None])[..., 0]  # (J, R, 4)
        resid = ya - np.matmul(beta, x.transpose(0, 2, 1))  # (J, R, k)
        sse[i, ok] = np.sum(wa * resid**2, axis=2)
    sse = np.where(np.isfinite(sse), sse, np.inf)
    padded = np.pad(sse, ((1, 1), (1, 1), (0, 0)), constant_values=np.inf)
    neighbours = np.full_like(sse, np.inf)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                neighbours = np.minimum(neighbours, padded[1 + di:1 + di + g, 1 + dj:1 + dj + g])
    score = np.where(np.isfinite(sse) & (sse <= neighbours), sse, np.inf).reshape(g * g, rr)
    kk = min(n_starts, g * g)
    best = np.argsort(score, axis=0, kind="stable")[:kk].T  # (R, K) flat pair indices
    valid = np.isfinite(np.take_along_axis(score.T, best, axis=1))
    bi, bj = best // g, best % g
    x = np.stack([np.broadcast_to(ones, (rr, kk, k)), slope[bi], curv[bi], curv[bj]], axis=-1)  # (R, K, k, 4)
    a = np.einsum("rn,rkni,rknj->rkij", wa, x, x)
    ridge = 1e-13 * np.trace(a, axis1=2, axis2=3)[..., None, None] * eye
    beta = np.linalg.solve(a + ridge, np.einsum("rn,rkni->rki", wy, x)[..., None])[..., 0]
    starts = np.concatenate([beta, lg[bi][..., None], lg[bj][..., None]], axis=-1)
    starts[~valid] = np.nan
    return starts


def _nss_polish(
    th: FloatArray, wa: FloatArray, ya: FloatArray, m: FloatArray, log_bounds: tuple[float, float],
    min_sep: float, max_iter: int, ftol: float,
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """Batched Levenberg-Marquardt (Marquardt 1963) on (b0..b3, log tau1, log tau2); rows are independent.

    Returns the parameters, the sums of squares and a converged flag per row. Steps leaving the feasible set
    (log tau within bounds, |log tau1 - log tau2| >= min_sep) are rejected like steps that do not descend.
    """
    th = th.copy()
    log_lo, log_hi = log_bounds
    fit, jac = _nss_model(th[:, :4], th[:, 4:], m)
    sse = np.sum(wa * (fit - ya) ** 2, axis=1)
    lam = np.full(th.shape[0], 1e-3)
    done = ~np.isfinite(sse)
    eye = np.eye(6)
    for _ in range(max_iter):
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        ja, wq = jac[act], wa[act]
        jw = ja * wq[:, :, None]
        a = np.einsum("tki,tkj->tij", jw, ja)
        g = np.einsum("tki,tk->ti", jw, fit[act] - ya[act])
        diag = np.diagonal(a, axis1=1, axis2=2)
        floor = 1e-12 * diag.mean(axis=1, keepdims=True) + 1e-300
        a_lm = a + (lam[act, None] * (diag + floor))[:, :, None] * eye
        with np.errstate(all="ignore"):
            try:
                step = -np.linalg.solve(a_lm, g[:, :, None])[:, :, 0]
            except np.linalg.LinAlgError:
                step = -np.stack([np.linalg.lstsq(a_lm[q], g[q], rcond=None)[0] for q in range(act.size)])
            new = th[act] + step
            u = new[:, 4:]
            feasible = (
                np.all(np.isfinite(new), axis=1)
                & np.all((u >= log_lo) & (u <= log_hi), axis=1)
                & (np.abs(u[:, 0] - u[:, 1]) >= min_sep - 1e-12)
            )
            fit_new, jac_new = _nss_model(new[:, :4], np.where(feasible[:, None], u, th[act, 4:]), m)
            sse_new = np.sum(wq * (fit_new - ya[act]) ** 2, axis=1)
        accept = feasible & np.isfinite(sse_new) & (sse_new < sse[act])
        acc = act[accept]
        small = (sse[acc] - sse_new[accept]) <= ftol * sse[acc]
        th[acc], fit[acc], jac[acc], sse[acc] = new[accept], fit_new[accept], jac_new[accept], sse_new[accept]
        lam[acc] = np.maximum(lam[acc] / 3.0, 1e-15)
        rej = act[~accept]
        lam[rej] = lam[rej] * 4.0
        done[acc[small | (sse[acc] <= 1e-300)]] = True
        done[rej[lam[rej] > 1e12]] = True
    return th, sse, done


def fit_nss(
    yields: pd.DataFrame | npt.ArrayLike,
    maturities_years: Iterable[float],
    *,
    tau_grid: Iterable[float] | None = None,
    tau_bounds: tuple[float, float] = (0.02, 60.0),
    min_tau_ratio: float = 1.2,
    min_obs: int = 6,
    n_starts: int = 8,
    max_iter: int = 200,
    ftol: float = 1e-12,
) -> pd.DataFrame:
    """Fit a Nelson-Siegel-Svensson curve to every date (row) by masked least squares.

    The model is :func:`nss_yields` (Svensson 1994; Gurkaynak, Sack and Wright 2007). Each row is fit to its
    non-NaN cells, minimizing the sum of squared yield errors. The method is vectorized across dates:

    1. **Grid.** For fixed ``(tau1, tau2)`` the yields are linear in ``beta0..beta3``. For every pair of the
       ``tau_grid`` (both orders, ``max/min >= min_tau_ratio``) the masked normal equations of all dates are
       solved at once as stacked 4x4 systems. The ``n_starts`` deepest local minima of each date's error
       surface over the grid become starting points (the NSS objective is multimodal).
    2. **Polish.** From every start all six parameters (``tau`` in logs) are refined jointly by batched
       Levenberg-Marquardt iterations (Marquardt 1963) with the analytic Jacobian and stacked 6x6 solves;
       each date keeps the start that ends with the smallest error. A step that would leave ``tau_bounds``
       or bring the two decay times closer than ``min_tau_ratio`` is rejected (the damping grows), so
       ``tau1, tau2 > 0`` and ``tau1 != tau2`` always hold and the order of the two decay times found by
       the grid is kept within a start: ``beta2`` and ``beta3`` are never collinear. The two orders are
       both searched, so the labels ``tau1``/``tau2`` are not sorted (``tau1`` always goes with ``beta1``
       and ``beta2``, ``tau2`` with ``beta3``).

    Parameters
    ----------
    yields:
        Dates x maturities (DataFrame or array ``(T, k)``; a 1-D array is one date), zero yields in decimals.
        NaN cells are left out of that date's fit.
    maturities_years:
        The ``k`` maturities of the columns, in years (> 0).
    tau_grid:
        Candidate decay times in years; default 30 points geometrically spaced from 0.1 to 30.
    tau_bounds:
        Bounds on both decay times during the polish.
    min_tau_ratio:
        Minimum ratio ``max(tau1, tau2) / min(tau1, tau2)`` (> 1).
    min_obs:
        Dates with fewer non-NaN cells get NaN parameters (6 parameters need at least 6 observations).
    n_starts:
        Number of grid local minima polished per date (the cost of step 2 scales with it).
    max_iter, ftol:
        Iteration cap and relative decrease of the sum of squares below which a date counts as converged.

    Returns
    -------
    DataFrame indexed like ``yields`` (a RangeIndex for arrays) with columns ``beta0, beta1, beta2, beta3,
    tau1, tau2`` (pass it to :func:`nss_yields`), ``rmse`` (root mean squared yield error over the used
    cells, decimals), ``nobs`` and ``converged``.
    """
    if isinstance(yields, pd.DataFrame):
        index = yields.index.copy()
        try:
            y = yields.to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(f"yields must be numeric: {exc}", column="yields") from exc
    else:
        y = np.asarray(yields, dtype=np.float64)
        if y.ndim == 1:
            y = y[None, :]
        index = pd.RangeIndex(y.shape[0])
    m = np.asarray(list(maturities_years), dtype=np.float64)
    if y.ndim != 2 or y.shape[1] != m.size:
        raise InputError(f"yields have {y.shape[-1]} columns but {m.size} maturities were given",
                         column="maturities_years")
    if np.any(~np.isfinite(m)) or np.any(m <= 0):
        raise InputError("maturities must be positive and finite", column="maturities_years")
    lo, hi = float(tau_bounds[0]), float(tau_bounds[1])
    if not (0 < lo < hi):
        raise InputError("tau_bounds must satisfy 0 < low < high", column="tau_bounds")
    if not min_tau_ratio > 1:
        raise InputError("min_tau_ratio must exceed 1", column="min_tau_ratio")
    grid = np.geomspace(0.1, 30.0, 30) if tau_grid is None else np.asarray(list(tau_grid), dtype=np.float64)
    grid = np.unique(np.clip(grid, lo, hi))
    if grid.size < 2:
        raise InputError("tau_grid needs at least two distinct values", column="tau_grid")
    min_sep = float(np.log(min_tau_ratio))
    log_lo, log_hi = np.log(lo), np.log(hi)

    mask = np.isfinite(y)
    nobs = mask.sum(axis=1)
    w = mask.astype(np.float64)
    y0 = np.where(mask, y, 0.0)
    rows = np.flatnonzero(nobs >= max(int(min_obs), 4))
    t_all = y.shape[0]
    theta = np.full((t_all, 6), np.nan)
    rmse = np.full(t_all, np.nan)
    converged = np.zeros(t_all, dtype=bool)
    n_starts = max(int(n_starts), 1)
    for a in range(0, rows.size, _NSS_CHUNK):
        r = rows[a:a + _NSS_CHUNK]
        wa, ya = w[r], y0[r]
        starts = _nss_grid_starts(wa, ya, m, grid, min_sep, n_starts)  # (R, K, 6)
        k_eff = starts.shape[1]
        flat = starts.reshape(-1, 6)
        th, sse, done = _nss_polish(flat, np.repeat(wa, k_eff, axis=0), np.repeat(ya, k_eff, axis=0), m,
                                    (log_lo, log_hi), min_sep, int(max_iter), float(ftol))
        sse = np.where(np.isfinite(sse), sse, np.inf).reshape(r.size, k_eff)
        pick = np.argmin(sse, axis=1)
        sel = np.arange(r.size) * k_eff + pick
        th, best_sse, done = th[sel], sse[np.arange(r.size), pick], done[sel]
        ok = np.isfinite(best_sse)
        theta[r[ok]] = th[ok]
        theta[r[ok], 4:] = np.exp(th[ok, 4:])
        rmse[r[ok]] = np.sqrt(best_sse[ok] / nobs[r[ok]])
        converged[r[ok]] = done[ok]
    out = pd.DataFrame(theta, index=index, columns=list(NSS_PARAMS))
    out["rmse"] = rmse
    out["nobs"] = nobs
    out["converged"] = converged
    return out


# ----------------------------------------------------------------------------------------------------------
# par -> zero bootstrap
# ----------------------------------------------------------------------------------------------------------
class ZeroCurve(NamedTuple):
    """Discount factors and zero yields at the requested maturities (dates x maturities in years)."""

    discount: pd.DataFrame
    zero: pd.DataFrame


def _interp_rows(
    nodes: FloatArray, values: FloatArray, valid: npt.NDArray[np.bool_], x: FloatArray
) -> FloatArray:
    """Row-wise linear interpolation of ``values`` (T, K) at ``x`` (J,), over each row's valid nodes.

    Flat before a row's first valid node, NaN after its last one.
    """
    k = nodes.size
    idx = np.arange(k)
    le = valid[:, :, None] & (nodes[None, :, None] <= x[None, None, :])  # (T, K, J)
    ge = valid[:, :, None] & (nodes[None, :, None] >= x[None, None, :])
    left = np.where(le, idx[None, :, None], -1).max(axis=1)  # (T, J)
    right = np.where(ge, idx[None, :, None], k).min(axis=1)
    has_l, has_r = left >= 0, right < k
    li, ri = np.clip(left, 0, k - 1), np.clip(right, 0, k - 1)
    vl = np.take_along_axis(values, li, axis=1)
    vr = np.take_along_axis(values, ri, axis=1)
    xl, xr = nodes[li], nodes[ri]
    with np.errstate(invalid="ignore", divide="ignore"):
        wgt = np.where(ri > li, (x[None, :] - xl) / np.where(ri > li, xr - xl, 1.0), 0.0)
    inner = vl + wgt * (vr - vl)
    return np.where(has_l & has_r, inner, np.where(has_r, vr, np.nan))


def par_to_zero(
    par_yields: pd.DataFrame,
    maturities_years: Iterable[float] | None = None,
    *,
    compounding: Literal["continuous", "semiannual"] = "continuous",
) -> ZeroCurve:
    """Bootstrap the US Treasury par yield curve to discount factors and zero yields.

    The par curve (e.g. :func:`bondpremia.data.load_treasury_par_curve`) quotes semiannual bond-equivalent par
    yields. Per date (vectorized over dates; the only loop is over the semiannual grid):

    1. The par yields are interpolated linearly in maturity onto the grid ``0.5, 1.0, ..., M`` (``M`` = the
       largest requested maturity rounded up to half a year), over that date's non-NaN nodes; flat before the
       first valid node, NaN after the last one (no extrapolation at the long end). A date with fewer than
       two valid nodes gives a NaN row.
    2. Maturities ``m <= 0.5`` (bills) are zero-coupon with semiannual compounding:
       ``D(m) = (1 + c(m)/2)^(-2m)``.
    3. Grid coupon bonds priced at par give the standard bootstrap (e.g. Tuckman and Serrat, *Fixed Income
       Securities*, ch. 2): ``1 = (c_n/2) sum_{k<n} D_k + (1 + c_n/2) D_n``.
    4. Requested maturities above 0.5 that are off the grid are interpolated log-linearly in the discount
       factor between the neighbouring grid points (piecewise-flat forwards).

    Parameters
    ----------
    par_yields:
        Dates x maturities **in years** (float labels, as returned by the loader), par yields in decimals.
    maturities_years:
        Output maturities in years (> 0); default: the columns of ``par_yields``.
    compounding:
        Of the returned zero yields: ``"continuous"`` (``-log D / m``, default) or ``"semiannual"``
        (``2 (D^(-1/(2m)) - 1)``, bond-equivalent).

    Returns
    -------
    :class:`ZeroCurve` ``(discount, zero)`` of DataFrames indexed like ``par_yields``, one column per
    requested maturity.
    """
    if not isinstance(par_yields, pd.DataFrame):
        raise InputError("par_yields must be a DataFrame (dates x maturities in years)", column="par_yields")
    if compounding not in ("continuous", "semiannual"):
        raise InputError(f"compounding must be 'continuous' or 'semiannual', got {compounding!r}",
                         column="compounding")
    try:
        nodes = np.asarray([float(c) for c in par_yields.columns], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"par_yields columns must be maturities in years: {exc}",
                         column="par_yields") from exc
    if nodes.size == 0 or np.any(~np.isfinite(nodes)) or np.any(nodes <= 0):
        raise InputError("par_yields columns must be positive maturities in years", column="par_yields")
    if np.unique(nodes).size != nodes.size:
        raise InputError("par_yields has duplicate maturity columns", column="par_yields")
    try:
        values = par_yields.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"par yields must be numeric: {exc}", column="par_yields") from exc
    order = np.argsort(nodes)
    nodes, values = nodes[order], values[:, order]
    valid = np.isfinite(values)
    valid &= (valid.sum(axis=1) >= 2)[:, None]

    req = nodes if maturities_years is None else np.asarray(list(maturities_years), dtype=np.float64)
    if req.size == 0 or np.any(~np.isfinite(req)) or np.any(req <= 0):
        raise InputError("maturities must be positive", column="maturities_years")
    t_rows = values.shape[0]
    disc = np.full((t_rows, req.size), np.nan)

    bills = req <= 0.5
    if np.any(bills):
        c = _interp_rows(nodes, values, valid, req[bills])
        with np.errstate(invalid="ignore"):
            disc[:, bills] = (1.0 + c / 2.0) ** (-2.0 * req[bills])
    if np.any(~bills):
        n_grid = int(np.ceil(req.max() * 2.0 - 1e-9))
        grid = 0.5 * np.arange(1, n_grid + 1, dtype=np.float64)
        c = _interp_rows(nodes, values, valid, grid)  # (T, G)
        d = np.empty_like(c)
        s = np.zeros(t_rows)
        for k in range(n_grid):
            half = c[:, k] / 2.0
            d[:, k] = (1.0 - half * s) / (1.0 + half)
            s = s + d[:, k]
        pos = req[~bills] * 2.0  # position on the grid, 1-based
        lo = np.floor(pos + 1e-9).astype(int)
        frac = np.clip(pos - lo, 0.0, None)
        frac = np.where(frac < 1e-9, 0.0, frac)
        hi_ = np.minimum(np.where(frac > 0, lo + 1, lo), n_grid)
        d_lo, d_hi = d[:, lo - 1], d[:, hi_ - 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            disc[:, ~bills] = np.where(frac > 0, d_lo ** (1.0 - frac) * d_hi**frac, d_lo)
    with np.errstate(invalid="ignore", divide="ignore"):
        if compounding == "continuous":
            zero = -np.log(disc) / req
        else:
            zero = 2.0 * (disc ** (-1.0 / (2.0 * req)) - 1.0)
    cols = pd.Index(req, name="maturity_years")
    return ZeroCurve(
        discount=pd.DataFrame(disc, index=par_yields.index.copy(), columns=cols),
        zero=pd.DataFrame(zero, index=par_yields.index.copy(), columns=cols.copy()),
    )
