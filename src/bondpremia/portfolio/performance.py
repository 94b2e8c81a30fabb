"""Performance statistics of return series (decimal simple returns per period); the one-page tear sheet is
:func:`bondpremia.report.figures.tear_sheet`.

Definitions (``T`` observations, ``p`` periods per year):

* arithmetic annual return ``p * mean(r)``; geometric ``prod(1 + r)^(p / T) - 1``; volatility ``sqrt(p) * std(r)``
  with the ``T - 1`` normalization;
* Sharpe ratio ``sqrt(p) * mean(r - rf) / std(r - rf)``, a scalar ``rf`` being an annual rate converted to the
  return frequency as ``(1 + rf)^(1/p) - 1`` (Sharpe 1994);
* Sortino ratio ``p * mean(r - target) / (sqrt(p) * sqrt(mean(min(r - target, 0)^2)))`` (Sortino and Price 1994);
* skewness and excess kurtosis in two named versions: the moment ratios ``g1 = m3 / m2^1.5`` and
  ``g2 = m4 / m2^2 - 3`` (``T``-normalized central moments, scipy's ``bias=True``) and the bias-adjusted
  ``G1 = g1 sqrt(T (T-1)) / (T-2)`` and ``G2 = ((T+1) g2 + 6) (T-1) / ((T-2)(T-3))`` (Joanes and Gill 1998; Excel's
  SKEW and KURT, scipy's ``bias=False``);
* maximum drawdown of the wealth index ``W_t = prod(1 + r)`` (starting from 1) with its peak, trough and recovery
  dates; Calmar ratio = geometric annual return / |maximum drawdown|; hit rate = share of periods with ``r > 0``;
* historical VaR at level ``a`` = ``-quantile(r, a)`` (linear interpolation) and CVaR = ``-mean(r | r <= quantile)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bondpremia.errors import InputError


def infer_periods_per_year(index: pd.Index) -> int:
    """12 for monthly, 252 for daily, 52 weekly, 4 quarterly, 1 annual, from the median gap between dates;
    InputError when it cannot be inferred."""
    if isinstance(index, pd.DatetimeIndex) and len(index) >= 3:
        gap = float(np.median(np.diff(index.values.astype("datetime64[D]").astype(np.int64))))
        for days, ppy in ((1.5, 252), (8, 52), (35, 12), (100, 4), (370, 1)):
            if gap < days:
                return ppy
    raise InputError("cannot infer the return frequency; pass periods_per_year", column="periods_per_year")


def _clean(returns: pd.Series, dropna: bool) -> pd.Series:
    if returns.isna().any() and not dropna:
        raise InputError(f"{int(returns.isna().sum())} missing returns; pass dropna=True to drop them",
                         column=str(returns.name))
    r = returns.dropna().astype(float)
    if len(r) < 2:
        raise InputError("at least two returns are needed", column=str(returns.name))
    return r


def max_drawdown(returns: pd.Series) -> dict[str, Any]:
    """Maximum drawdown (a negative decimal) of the wealth index with its peak, trough and recovery dates
    (recovery NaT when the previous peak is never regained)."""
    wealth = (1 + returns).cumprod()
    peak = wealth.cummax().clip(lower=1.0)
    dd = wealth / peak - 1
    trough = dd.idxmin()
    value = float(dd.min())
    if value == 0:
        return {"max_drawdown": 0.0, "peak": pd.NaT, "trough": pd.NaT, "recovery": pd.NaT}
    before = wealth.loc[:trough]
    peak_level = float(peak.loc[trough])  # type: ignore[call-overload]
    at_peak = before[before >= peak_level]
    peak_date = at_peak.index[-1] if len(at_peak) else pd.NaT  # NaT: the peak is the initial wealth of 1
    after = wealth.loc[trough:]
    rec = after[after >= peak_level]
    return {"max_drawdown": value, "peak": peak_date, "trough": trough,
            "recovery": rec.index[0] if len(rec) else pd.NaT}


def performance_stats(returns: pd.Series, rf: float | pd.Series = 0.0, periods_per_year: int | None = None,
                      target: float = 0.0, var_level: float = 0.05, dropna: bool = True) -> pd.Series:
    """All statistics of the module docstring for one series, as a Series named by statistic (units in names)."""
    p = periods_per_year or infer_periods_per_year(returns.index)
    n_missing = int(returns.isna().sum())
    r = _clean(returns, dropna)
    if isinstance(rf, pd.Series):
        missing = r.index.difference(rf.index)
        if len(missing):
            raise InputError(f"risk-free rates are missing for dates {list(missing[:5])}", column="rf")
        rf_p = rf.reindex(r.index).astype(float)
    else:
        rf_p = pd.Series((1 + rf) ** (1 / p) - 1, index=r.index)
    ex = r - rf_p
    t = len(r)
    sd = r.std(ddof=1)
    ex_sd = ex.std(ddof=1)
    dev = r - r.mean()
    m2, m3, m4 = (dev**2).mean(), (dev**3).mean(), (dev**4).mean()
    g1 = m3 / m2**1.5 if m2 > 0 else np.nan
    g2 = m4 / m2**2 - 3 if m2 > 0 else np.nan
    downside = np.sqrt((np.minimum(r - target, 0) ** 2).mean())
    geo = float(np.prod(1 + r) ** (p / t) - 1)
    dd = max_drawdown(r)
    q = float(np.quantile(r, var_level))
    stats: dict[str, Any] = {
        "n_periods": t,
        "n_missing": n_missing,
        "ann_return_arith": p * r.mean(),
        "ann_return_geom": geo,
        "ann_volatility": np.sqrt(p) * sd,
        "sharpe_ann": np.sqrt(p) * ex.mean() / ex_sd if ex_sd > 0 else np.nan,
        "sortino_ann": np.sqrt(p) * (r - target).mean() / downside if downside > 0 else np.nan,
        "skewness_g1": g1,
        "skewness_G1_bias_adjusted": g1 * np.sqrt(t * (t - 1)) / (t - 2) if t > 2 else np.nan,
        "excess_kurtosis_g2": g2,
        "excess_kurtosis_G2_bias_adjusted": ((t + 1) * g2 + 6) * (t - 1) / ((t - 2) * (t - 3)) if t > 3 else np.nan,
        "max_drawdown": dd["max_drawdown"],
        "max_drawdown_peak": dd["peak"],
        "max_drawdown_trough": dd["trough"],
        "max_drawdown_recovery": dd["recovery"],
        "calmar": geo / abs(dd["max_drawdown"]) if dd["max_drawdown"] < 0 else np.nan,
        "hit_rate": float((r > 0).mean()),
        f"var_{var_level:g}_hist": -q,
        f"cvar_{var_level:g}_hist": -float(r[r <= q].mean()),
    }
    return pd.Series(stats, name=returns.name)


def performance_summary(returns: pd.DataFrame | pd.Series, rf: float | pd.Series = 0.0,
                        periods_per_year: int | None = None, **kwargs: object) -> pd.DataFrame:
    """:func:`performance_stats` of every column, one column per series."""
    frame = returns.to_frame() if isinstance(returns, pd.Series) else returns
    return pd.DataFrame({c: performance_stats(frame[c], rf, periods_per_year, **kwargs)  # type: ignore[arg-type]
                         for c in frame.columns})


def turnover(weights: pd.DataFrame) -> float:
    """Average one-way turnover ``mean_t 0.5 * sum_i |w_i,t - w_i,t-1|`` of a weight panel (dates x assets)."""
    return float((weights.fillna(0).diff().abs().sum(axis=1) * 0.5).iloc[1:].mean())
