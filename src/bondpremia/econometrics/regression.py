"""Rolling and expanding regressions, HAC (Newey-West) inference, alpha regressions and Fama-MacBeth.

* Rolling/expanding OLS with a formula interface (patsy), estimated for every window at once by statsmodels'
  ``RollingOLS`` (cumulative cross-products, no loop over windows), and one-step-ahead out-of-sample predictions:
  the prediction for row t uses the coefficients estimated on the window that ends at row t-1.
* Newey and West (1987) HAC standard errors with Bartlett weights ``1 - l/(L+1)``, no small-sample correction.
* Time-series alpha regressions (Jensen 1968; Fama and French 1993): ``r_t - rf_t = alpha + beta' f_t + e_t``.
* Fama and MacBeth (1973) cross-sectional regressions via linearmodels, with Newey-West standard errors of the
  time series of slopes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import patsy
import statsmodels.api as sm
from statsmodels.regression.rolling import RollingOLS

from bondpremia.errors import InputError


@dataclass(frozen=True)
class RollingResult:
    """Coefficients of every window (dated at the window's last row) and one-step-ahead predictions."""

    params: pd.DataFrame  # row t: estimated on the window ending at t
    predicted: pd.Series  # row t: x_t' params_{t-1}, out of sample
    fitted: pd.Series  # row t: x_t' params_t, in sample
    observed: pd.Series
    nobs: pd.Series


def rolling_regression(formula: str, data: pd.DataFrame, window: int | None = None, *, expanding: bool = False,
                       min_nobs: int | None = None) -> RollingResult:
    """OLS of ``formula`` (patsy syntax, e.g. ``"fedfunds ~ cfnai + I(infl - 2)"``) on every window of ``window``
    rows (or every expanding window with ``expanding=True``), in row order.

    Rows with missing values are dropped from the design first (so a window is ``window`` complete rows); the
    prediction for a row uses only coefficients estimated on earlier rows.
    """
    if window is None and not expanding:
        raise InputError("give a window length or expanding=True", column="window")
    try:
        y, X = patsy.dmatrices(formula, data, return_type="dataframe", NA_action="drop")
    except patsy.PatsyError as err:
        raise InputError(f"cannot build the design from the formula: {err}", column="formula") from None
    n_params = X.shape[1]
    win = window or len(y)
    if win <= n_params:
        raise InputError(f"window {win} must exceed the number of coefficients {n_params}", column="window")
    model = RollingOLS(y.iloc[:, 0], X, window=None if expanding else win, expanding=expanding,
                       min_nobs=min_nobs or (n_params + 1 if expanding else None))
    res = model.fit(params_only=True)
    params = res.params
    predicted = (X * params.shift(1)).sum(axis=1, min_count=n_params)
    fitted = (X * params).sum(axis=1, min_count=n_params)
    nobs = params.notna().all(axis=1).astype(int)
    return RollingResult(params, predicted.rename("predicted"), fitted.rename("fitted"), y.iloc[:, 0], nobs)


def newey_west_lags(n: int) -> int:
    """Newey-West (1994) rule of thumb ``floor(4 (n/100)^(2/9))``."""
    return int(np.floor(4 * (n / 100.0) ** (2.0 / 9.0)))


def ols_hac(y: pd.Series, X: pd.DataFrame, lags: int | None = None) -> Any:
    """OLS with Newey-West standard errors (Bartlett kernel, ``lags`` default from :func:`newey_west_lags`)."""
    lags = newey_west_lags(len(y)) if lags is None else lags
    return sm.OLS(y, X, missing="raise").fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": False})


def alpha_regression(returns: pd.DataFrame | pd.Series, factors: pd.DataFrame, rf: pd.Series | None = None,
                     lags: int | None = None, periods_per_year: int = 12) -> pd.DataFrame:
    """CAPM or multi-factor alphas and betas with Newey-West t-statistics, one column per return series.

    ``returns`` and ``factors`` are decimal per-period returns on the same dates; with ``rf`` the returns are
    turned into excess returns first (the factors are taken as given: excess or long-short). Rows: ``alpha``
    (per period), ``alpha_ann`` (times ``periods_per_year``), ``t_alpha``, ``beta_<factor>``, ``t_<factor>``,
    ``r2``, ``nobs``. Dates present in one input but not the other raise :class:`InputError` naming them.
    """
    r = returns.to_frame() if isinstance(returns, pd.Series) else returns
    missing = r.index.difference(factors.index)
    if len(missing):
        raise InputError(f"factor returns are missing for dates {list(missing[:5])}", column="factors")
    if rf is not None:
        miss_rf = r.index.difference(rf.index)
        if len(miss_rf):
            raise InputError(f"risk-free rates are missing for dates {list(miss_rf[:5])}", column="rf")
        r = r.sub(rf.reindex(r.index), axis=0)
    X = sm.add_constant(factors.reindex(r.index), prepend=True, has_constant="add").rename(columns={"const": "alpha"})
    out = {}
    for col in r.columns:
        ok = r[col].notna() & X.notna().all(axis=1)
        if ok.sum() <= X.shape[1]:
            raise InputError(f"too few complete observations ({int(ok.sum())}) for an alpha regression",
                             column=str(col))
        fit = ols_hac(r.loc[ok, col], X[ok], lags)
        row = {"alpha": fit.params["alpha"], "alpha_ann": fit.params["alpha"] * periods_per_year,
               "t_alpha": fit.tvalues["alpha"]}
        for f in factors.columns:
            row[f"beta_{f}"] = fit.params[f]
            row[f"t_{f}"] = fit.tvalues[f]
        row["r2"] = fit.rsquared
        row["nobs"] = int(fit.nobs)
        out[col] = row
    return pd.DataFrame(out)


def fama_macbeth(panel: pd.DataFrame, y: str, x: list[str], entity: str = "id", date: str = "date",
                 lags: int | None = None) -> pd.DataFrame:
    """Fama-MacBeth (1973) regressions of ``y`` on ``x`` (plus a constant) per date, via linearmodels, with
    Newey-West (Bartlett weights ``1 - l/(lags+1)``) standard errors of the average slopes, the autocovariances of
    the slope series normalized by ``T - 1`` (linearmodels' convention). Returns estimate, std error, t-stat."""
    from linearmodels import FamaMacBeth

    cols = [entity, date, y, *x]
    for c in cols:
        if c not in panel.columns:
            raise InputError("column not found", column=c)
    df = panel[cols].dropna().set_index([entity, date])
    exog = sm.add_constant(df[x], has_constant="add")
    n_dates = df.index.get_level_values(1).nunique()
    lags = newey_west_lags(n_dates) if lags is None else lags
    res = FamaMacBeth(df[y], exog).fit(cov_type="kernel", kernel="bartlett", bandwidth=lags)
    return pd.DataFrame({"estimate": res.params, "std_error": res.std_errors, "t_stat": res.tstats})
