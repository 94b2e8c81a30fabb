"""Out-of-sample evaluation of bond excess-return forecasts.

Statistics used to judge a return forecast against a benchmark forecast (usually the historical mean):

* :func:`r2_oos` — the out-of-sample R² of Campbell and Thompson (2008);
* :func:`expanding_mean_benchmark` — the prevailing historical-mean forecast, with an explicit availability lag;
* :func:`clark_west` — the MSPE-adjusted test of Clark and West (2007) for nested models;
* :func:`diebold_mariano` — the Diebold and Mariano (1995) test of equal accuracy with the small-sample
  correction of Harvey, Leybourne and Newbold (1997);
* :func:`cumulative_sse_difference` — the cumulative squared-error difference of Goyal and Welch (2008), drawn by
  :func:`bondpremia.report.figures.plot_cumulative_sse`;
* :func:`r2oos_table` — R²_OS (percent) and Clark-West p-values for every model and maturity, as in the tables of
  Bianchi, Büchner and Tamoni (2021).

Inputs and missing values
-------------------------
Every series argument is a 1-D array-like or a :class:`pandas.Series`. Series are aligned **by position**, not by
index: the caller aligns them first (:func:`r2oos_table` does so for data frames). Rows in which *any* of the
series passed to one call is NaN are dropped from all of them (pairwise deletion), so every statistic of a call is
computed on the same rows. The remaining rows are treated as consecutive: for the HAC variances of
:func:`clark_west` and :func:`diebold_mariano` this is exact for leading and trailing NaN (forecast warm-up, end of
sample) and an approximation for interior gaps. Infinite values are rejected.

References
----------
Bianchi, D., Büchner, M. and Tamoni, A. (2021). Bond risk premiums with machine learning. *Review of Financial
Studies* 34(2), 1046-1089.

Campbell, J. Y. and Thompson, S. B. (2008). Predicting excess stock returns out of sample: can anything beat the
historical average? *Review of Financial Studies* 21(4), 1509-1531.

Clark, T. E. and West, K. D. (2007). Approximately normal tests for equal predictive accuracy in nested models.
*Journal of Econometrics* 138(1), 291-311.

Diebold, F. X. and Mariano, R. S. (1995). Comparing predictive accuracy. *Journal of Business & Economic
Statistics* 13(3), 253-263.

Goyal, A. and Welch, I. (2008). A comprehensive look at the empirical performance of equity premium prediction.
*Review of Financial Studies* 21(4), 1455-1508.

Harvey, D., Leybourne, S. and Newbold, P. (1997). Testing the equality of prediction mean squared errors.
*International Journal of Forecasting* 13(2), 281-291.

Newey, W. K. and West, K. D. (1987). A simple, positive semi-definite, heteroskedasticity and autocorrelation
consistent covariance matrix. *Econometrica* 55(3), 703-708.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from bondpremia.errors import FallbackWarning, InputError
from bondpremia.results import ScalarResult
from bondpremia.schema import R2OOS

__all__ = [
    "CWResult",
    "DMResult",
    "clark_west",
    "cumulative_sse_difference",
    "diebold_mariano",
    "expanding_mean_benchmark",
    "r2_oos",
    "r2oos_table",
    "significance_stars",
]


# ----------------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------------


def as_1d(x: Any, name: str) -> np.ndarray:
    """Return ``x`` as a 1-D float array (positional; a Series index is ignored)."""
    if isinstance(x, pd.DataFrame):
        raise InputError("expected a 1-D array or a Series, got a DataFrame", column=name)
    try:
        arr = x.to_numpy(dtype=np.float64) if isinstance(x, pd.Series) else np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"could not convert to numbers ({exc})", column=name) from exc
    if arr.ndim != 1:
        raise InputError(f"expected a 1-D array, got {arr.ndim} dimensions", column=name)
    if np.isinf(arr).any():
        row = int(np.flatnonzero(np.isinf(arr))[0])
        raise InputError("infinite value; use NaN for a missing observation", column=name, row=row)
    return arr


def _aligned(named: Mapping[str, Any], min_obs: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Convert, check equal lengths and drop rows where any input is NaN.

    Returns the cleaned arrays and the boolean mask of kept rows (on the original positions).
    """
    arrays = {name: as_1d(x, name) for name, x in named.items()}
    names = list(arrays)
    n0 = len(arrays[names[0]])
    for name in names[1:]:
        if len(arrays[name]) != n0:
            raise InputError(
                f"length {len(arrays[name])} differs from length {n0} of '{names[0]}'; series are aligned by "
                "position and must have equal lengths",
                column=name,
            )
    keep = np.all(np.isfinite(np.vstack([arrays[k] for k in names])), axis=0) if n0 else np.zeros(0, dtype=bool)
    n = int(keep.sum())
    if n < min_obs:
        raise InputError(
            f"{n} complete (non-NaN) observations, need at least {min_obs}",
            column=names[0],
        )
    return [arrays[k][keep] for k in names], keep


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"must be an integer, got {value!r}", column=name)
    if value < minimum:
        raise InputError(f"must be at least {minimum}, got {value}", column=name)
    return int(value)


def _autocovariances(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocovariances ``gamma_0 .. gamma_max_lag`` of ``x`` with divisor ``n`` (not ``n - k``).

    ``gamma_k = (1/n) sum_{t=k}^{n-1} (x_t - xbar)(x_{t-k} - xbar)``. One vector dot product per lag.
    """
    n = x.shape[0]
    xc = x - x.mean()
    return np.array([xc[k:] @ xc[: n - k] for k in range(max_lag + 1)]) / n


def _bartlett_lrv(x: np.ndarray, lags: int) -> float:
    """Newey-West (1987) long-run variance with Bartlett weights ``1 - k/(lags + 1)``; always >= 0."""
    gamma = _autocovariances(x, lags)
    from bondpremia.econometrics.regression import bartlett_weights  # statsmodels loads only when needed

    return float(gamma[0] + 2.0 * bartlett_weights(np.arange(1, lags + 1), lags) @ gamma[1:])


# ----------------------------------------------------------------------------------------------------------------------
# point statistics
# ----------------------------------------------------------------------------------------------------------------------


def r2_oos(actual: Any, forecast: Any, benchmark: Any) -> float:
    """Out-of-sample R² of Campbell and Thompson (2008), in decimals.

    .. math::

        R^2_{OS} = 1 - \\frac{\\sum_t (y_t - \\hat y_t)^2}{\\sum_t (y_t - \\bar y_t)^2}

    where :math:`\\hat y_t` is the model forecast and :math:`\\bar y_t` the benchmark forecast (the prevailing
    historical mean in Campbell and Thompson 2008 and Goyal and Welch 2008). Positive values mean the model has a
    lower mean squared prediction error than the benchmark. Multiply by 100 for percent.

    Parameters
    ----------
    actual, forecast, benchmark:
        Realized values, model forecasts and benchmark forecasts, aligned by position. Rows where any of the three
        is NaN are dropped.

    Returns
    -------
    float
        :math:`R^2_{OS}` in decimals.

    Raises
    ------
    InputError
        Lengths differ, no complete observation remains, or the benchmark's squared errors sum to zero.
    """
    (y, f, b), _ = _aligned({"actual": actual, "forecast": forecast, "benchmark": benchmark}, min_obs=1)
    sse_bench = float(np.sum((y - b) ** 2))
    if sse_bench == 0.0:
        raise InputError("the benchmark forecast is exact on every row; R²_OS is undefined", column="benchmark")
    return 1.0 - float(np.sum((y - f) ** 2)) / sse_bench


def expanding_mean_benchmark(actual: Any, available_lag: int = 1, min_periods: int = 1) -> np.ndarray:
    """Prevailing historical-mean forecast with an explicit information lag.

    The forecast stored at row ``t`` is the mean of ``actual[0], ..., actual[t - available_lag]`` (inclusive), i.e.
    of the values already realized at the forecast date; NaN values are skipped.

    Which lag is honest depends on how returns are stored. With h-period returns stored at the *purchase* date (the
    usual layout for 12-month overlapping bond excess returns, ``rx(t -> t+12)`` at row ``t``), the return at row
    ``s`` is only realized at ``s + 12``, so a forecast made at ``t`` can use rows ``s <= t - 12``: use
    ``available_lag=12``. The replication code of Bianchi, Büchner and Tamoni (2021) uses ``available_lag=1``
    (all rows before ``t``), which lets the benchmark see returns that are not yet realized when the horizon
    exceeds one period; use lag 1 to reproduce their numbers and for one-period returns.

    Parameters
    ----------
    actual:
        Realized values (1-D array or Series, by position).
    available_lag:
        Rows between the last usable observation and the forecast row; at least 1.
    min_periods:
        Minimum number of non-NaN usable observations; rows with fewer get NaN.

    Returns
    -------
    numpy.ndarray
        Benchmark forecasts, same length as ``actual``; NaN where fewer than ``min_periods`` values are available.
    """
    lag = _check_int(available_lag, "available_lag", 1)
    min_p = _check_int(min_periods, "min_periods", 1)
    y = as_1d(actual, "actual")
    n = y.shape[0]
    finite = np.isfinite(y)
    csum = np.cumsum(np.where(finite, y, 0.0))
    ccount = np.cumsum(finite)
    out = np.full(n, np.nan)
    if n <= lag:
        return out
    # row t (t >= lag) uses cumulative sums up to row t - lag
    s, c = csum[: n - lag], ccount[: n - lag]
    with np.errstate(invalid="ignore", divide="ignore"):
        out[lag:] = np.where(c >= min_p, s / np.maximum(c, 1), np.nan)
    return out


def certainty_equivalent_gain(actual: Any, forecast: Any, benchmark: Any, variance: Any, gamma: float = 5.0,
                              weight_bounds: tuple[float, float] | None = None) -> float:
    """Certainty-equivalent return gain of a mean-variance investor who uses ``forecast`` instead of ``benchmark``.

    At every forecast date ``t`` the investor splits wealth between the ``n``-year bond and the one-year bond (riskless
    over the 12-month holding period) with the mean-variance weight on the risky bond

    .. math:: w_t = \\frac{\\hat{rx}_{t+12}}{\\gamma \\, \\hat\\sigma^2_t},

    clipped to ``weight_bounds`` when given; the portfolio earns the excess return :math:`w_t \\, rx_{t+12}` over
    the one-year yield, and its certainty equivalent (quadratic utility) is

    .. math:: CER = \\overline{w\\,rx} - \\frac{\\gamma}{2} \\operatorname{Var}(w\\,rx).

    The gain is :math:`CER(\\text{forecast}) - CER(\\text{benchmark})`, in the units of ``actual`` per holding
    period (decimals per year for 12-month returns). The same ``variance`` :math:`\\hat\\sigma^2_t` (e.g. the
    variance of the training targets at ``t``, which obeys the forecast's timing) is used for both, so the gain
    measures the value of the forecast of the mean. This is the asset-allocation evaluation of bond-return
    forecasts used in the literature BBT follow (mean-variance investor, historical-mean benchmark); the risk
    aversion, the variance estimate and any bounds are arguments because they are choices.

    Parameters
    ----------
    actual, forecast, benchmark:
        Realized excess returns and the two forecasts, aligned by position (rows with a NaN in any of them, or in
        ``variance``, are dropped).
    variance:
        Positive variance forecast of every row.
    gamma:
        Relative risk aversion, > 0.
    weight_bounds:
        ``(low, high)`` bounds of the risky weight, or ``None`` for no bounds.

    Returns
    -------
    float
        The CER gain (decimals per holding period).
    """
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        raise InputError(f"must be a positive number, got {gamma!r}", column="gamma") from None
    if not (np.isfinite(g) and g > 0):
        raise InputError(f"must be a positive number, got {gamma!r}", column="gamma")
    (y, f, b, v), _ = _aligned({"actual": actual, "forecast": forecast, "benchmark": benchmark,
                                "variance": variance}, min_obs=2)
    if (v <= 0).any():
        raise InputError(f"variance must be positive; row {int(np.argmax(v <= 0))} is {float(v[v <= 0][0])!r}",
                         column="variance")
    if weight_bounds is not None:
        lo, hi = (float(x) for x in weight_bounds)
        if not lo < hi:
            raise InputError(f"weight_bounds must be (low, high) with low < high, got {weight_bounds!r}",
                             column="weight_bounds")

    def cer(mean_forecast: np.ndarray) -> float:
        w = mean_forecast / (g * v)
        if weight_bounds is not None:
            w = np.clip(w, lo, hi)
        r = w * y
        return float(r.mean() - 0.5 * g * r.var(ddof=1))

    return cer(f) - cer(b)


# ----------------------------------------------------------------------------------------------------------------------
# tests of predictive accuracy
# ----------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CWResult(ScalarResult):
    """Result of :func:`clark_west` (:class:`bondpremia.results.Results`: one row of the fields; ``save(out)``
    writes ``clark_west.csv``).

    Attributes
    ----------
    stat:
        t-statistic of the mean of the adjusted loss differential (Newey-West standard error).
    pvalue:
        One-sided p-value of H0: equal MSPE against H1: the model beats the benchmark.
    mspe_adj:
        Mean of :math:`f_t`, the MSPE-adjusted loss differential.
    n:
        Number of complete observations used.
    """

    _file: ClassVar[str] = "clark_west"
    _command: ClassVar[str] = "clark-west test"

    stat: float
    pvalue: float
    mspe_adj: float
    n: int


def clark_west(actual: Any, forecast: Any, benchmark: Any, lags: int = 12, dist: str = "normal") -> CWResult:
    """Clark and West (2007) MSPE-adjusted test of a model against a nested benchmark.

    Following Clark and West (2007, eq. (3.3)-(3.4)), with :math:`\\hat y_{1,t}` the benchmark (nested, e.g. the
    historical mean) and :math:`\\hat y_{2,t}` the model forecast,

    .. math::

        f_t = (y_t - \\hat y_{1,t})^2 - \\left[(y_t - \\hat y_{2,t})^2 - (\\hat y_{1,t} - \\hat y_{2,t})^2\\right].

    :math:`f_t` is regressed on a constant; the statistic is :math:`\\bar f / \\mathrm{se}(\\bar f)` with a
    Newey and West (1987) Bartlett-kernel HAC variance with ``lags`` lags,
    :math:`\\mathrm{se}^2 = \\frac1n\\left[\\hat\\gamma_0 + 2\\sum_{k=1}^{L}(1 - \\frac{k}{L+1})\\hat\\gamma_k\\right]`,
    autocovariances with divisor :math:`n` and no degrees-of-freedom correction (this equals
    ``statsmodels`` ``OLS(f, 1).fit(cov_type="HAC", cov_kwds={"maxlags": lags})``). The test is one-sided:
    H1 is :math:`E f_t > 0` (the model has a lower MSPE than the benchmark).

    Parameters
    ----------
    actual, forecast, benchmark:
        Realized values, model forecasts and benchmark forecasts, aligned by position; rows with any NaN dropped.
    lags:
        Newey-West lags; 12 suits monthly observations of 12-month overlapping returns.
    dist:
        ``"normal"`` (default): p-value :math:`1 - \\Phi(t)`, the asymptotic distribution in Clark and West (2007).
        ``"t"``: :math:`1 - F_{t, n-1}(t)`, Student t with n − 1 degrees of freedom, as in the replication code of
        Bianchi, Büchner and Tamoni (2021); slightly larger p-values in small samples.

    Returns
    -------
    CWResult
        ``stat``, ``pvalue``, ``mspe_adj`` (mean of :math:`f_t`) and ``n``. When :math:`f_t` has zero HAC variance
        (for instance a model forecast identical to the benchmark, where :math:`f_t \\equiv 0`), ``stat`` and
        ``pvalue`` are NaN.

    Raises
    ------
    InputError
        Lengths differ, ``lags`` is not a non-negative integer, fewer than ``max(2, lags + 1)`` complete
        observations, or an unknown ``dist``.
    """
    if dist not in ("normal", "t"):
        raise InputError(f"must be 'normal' or 't', got {dist!r}", column="dist")
    n_lags = _check_int(lags, "lags", 0)
    (y, f_model, f_bench), _ = _aligned(
        {"actual": actual, "forecast": forecast, "benchmark": benchmark}, min_obs=max(2, n_lags + 1)
    )
    f = (y - f_bench) ** 2 - ((y - f_model) ** 2 - (f_bench - f_model) ** 2)
    n = f.shape[0]
    mean = float(f.mean())
    var_mean = _bartlett_lrv(f, n_lags) / n
    if not var_mean > 0.0:
        return CWResult(stat=float("nan"), pvalue=float("nan"), mspe_adj=mean, n=n)
    t_stat = mean / np.sqrt(var_mean)
    pvalue = stats.norm.sf(t_stat) if dist == "normal" else stats.t.sf(t_stat, df=n - 1)
    return CWResult(stat=float(t_stat), pvalue=float(pvalue), mspe_adj=mean, n=n)


@dataclass(frozen=True)
class DMResult(ScalarResult):
    """Result of :func:`diebold_mariano` (:class:`bondpremia.results.Results`: one row of the fields; ``save(out)``
    writes ``diebold_mariano.csv``).

    Attributes
    ----------
    stat:
        HLN-corrected Diebold-Mariano statistic :math:`DM^*`.
    pvalue:
        p-value from Student t with n − 1 degrees of freedom, for the requested alternative.
    mean_loss_diff:
        :math:`\\bar d`, mean of :math:`L(e_a) - L(e_b)`; negative means forecast a is more accurate.
    n:
        Number of complete observations used.
    lrv:
        Long-run variance of :math:`d_t` used in the statistic.
    lrv_method:
        ``"rectangular"`` (truncated uniform kernel, as in Diebold and Mariano 1995) or ``"bartlett_fallback"``
        when the rectangular estimate was not positive.
    """

    _file: ClassVar[str] = "diebold_mariano"
    _command: ClassVar[str] = "diebold-mariano test"

    stat: float
    pvalue: float
    mean_loss_diff: float
    n: int
    lrv: float
    lrv_method: str = "rectangular"


def diebold_mariano(
    actual: Any,
    forecast_a: Any,
    forecast_b: Any,
    horizon: int = 12,
    loss: str = "squared",
    alternative: str = "two-sided",
) -> DMResult:
    """Diebold and Mariano (1995) test with the Harvey, Leybourne and Newbold (1997) correction.

    With errors :math:`e_{i,t} = y_t - \\hat y_{i,t}` and loss differential :math:`d_t = L(e_{a,t}) - L(e_{b,t})`,
    the long-run variance of :math:`d_t` for h-step forecasts (which are MA(h − 1) under the null of optimal
    forecasts) is estimated with the truncated rectangular kernel of Diebold and Mariano (1995),

    .. math::

        \\hat\\Omega = \\hat\\gamma_0 + 2 \\sum_{k=1}^{h-1} \\hat\\gamma_k, \\qquad
        \\hat\\gamma_k = \\frac1n \\sum_{t=k+1}^{n} (d_t - \\bar d)(d_{t-k} - \\bar d),

    and :math:`DM = \\bar d / \\sqrt{\\hat\\Omega / n}`. Harvey, Leybourne and Newbold (1997) rescale it,

    .. math::

        DM^* = DM \\sqrt{\\frac{n + 1 - 2h + h(h-1)/n}{n}},

    and compare :math:`DM^*` with Student t with n − 1 degrees of freedom.

    For h > 1 the rectangular estimate :math:`\\hat\\Omega` is not guaranteed to be positive. When it is ≤ 0 the
    function falls back to the Newey and West (1987) Bartlett-kernel estimate with h − 1 lags,
    :math:`\\hat\\gamma_0 + 2\\sum_{k=1}^{h-1}(1 - k/h)\\hat\\gamma_k \\ge 0`, and sets
    ``lrv_method="bartlett_fallback"`` in the result (the HLN factor and the t reference distribution are kept)
    with a :class:`~bondpremia.errors.FallbackWarning`.

    Parameters
    ----------
    actual, forecast_a, forecast_b:
        Realized values and the two competing forecasts, aligned by position; rows with any NaN dropped.
    horizon:
        Forecast horizon h in periods (12 for annual returns sampled monthly); at least 1.
    loss:
        ``"squared"`` (:math:`e^2`) or ``"absolute"`` (:math:`|e|`).
    alternative:
        ``"two-sided"``: the forecasts differ in accuracy; ``"less"``: :math:`E d_t < 0`, forecast a is more
        accurate; ``"greater"``: :math:`E d_t > 0`, forecast b is more accurate.

    Returns
    -------
    DMResult

    Raises
    ------
    InputError
        Lengths differ, bad ``horizon``/``loss``/``alternative``, fewer than ``max(3, h + 1)`` complete
        observations (the HLN factor needs n > h), or a loss differential with zero variance.
    """
    if loss not in ("squared", "absolute"):
        raise InputError(f"must be 'squared' or 'absolute', got {loss!r}", column="loss")
    if alternative not in ("two-sided", "less", "greater"):
        raise InputError(f"must be 'two-sided', 'less' or 'greater', got {alternative!r}", column="alternative")
    h = _check_int(horizon, "horizon", 1)
    (y, fa, fb), _ = _aligned({"actual": actual, "forecast_a": forecast_a, "forecast_b": forecast_b}, max(3, h + 1))
    ea, eb = y - fa, y - fb
    d = ea**2 - eb**2 if loss == "squared" else np.abs(ea) - np.abs(eb)
    n = d.shape[0]
    mean = float(d.mean())

    gamma = _autocovariances(d, h - 1)
    lrv = float(gamma[0] + 2.0 * gamma[1:].sum())
    method = "rectangular"
    if not lrv > 0.0:
        lrv = _bartlett_lrv(d, h - 1)
        method = "bartlett_fallback"
        warnings.warn(f"Diebold-Mariano: the rectangular long-run variance with {h - 1} lags is not positive; "
                      "the Bartlett (Newey-West) one is used (lrv_method='bartlett_fallback')", FallbackWarning,
                      stacklevel=2)
    if not lrv > 0.0:
        raise InputError(
            "the loss differential has zero variance; the two forecasts are equally accurate on every row",
            column="forecast_b",
        )

    dm = mean / np.sqrt(lrv / n)
    hln = np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    stat = float(dm * hln)
    df = n - 1
    if alternative == "two-sided":
        pvalue = 2.0 * stats.t.sf(abs(stat), df)
    elif alternative == "less":
        pvalue = stats.t.cdf(stat, df)
    else:
        pvalue = stats.t.sf(stat, df)
    return DMResult(stat=stat, pvalue=float(pvalue), mean_loss_diff=mean, n=n, lrv=lrv, lrv_method=method)


# ----------------------------------------------------------------------------------------------------------------------
# Goyal-Welch plot
# ----------------------------------------------------------------------------------------------------------------------


def cumulative_sse_difference(actual: Any, forecast: Any, benchmark: Any, index: Any = None) -> pd.Series:
    """Cumulative difference of squared errors, benchmark minus model (Goyal and Welch 2008, Figure 1 quantity).

    .. math::

        \\mathrm{CSSED}_T = \\sum_{t \\le T} \\left[(y_t - \\bar y_t)^2 - (y_t - \\hat y_t)^2\\right]

    A rising line means the model is beating the benchmark over that stretch; a positive end value means a
    positive :math:`R^2_{OS}`.

    Parameters
    ----------
    actual, forecast, benchmark:
        Aligned by position; rows with any NaN are dropped (they do not appear in the output).
    index:
        Labels for the rows (e.g. dates), same length as ``actual``. Default: the index of ``actual`` when it is a
        Series, otherwise the integer positions.

    Returns
    -------
    pandas.Series
        Named ``"cumulative_sse_difference"``, indexed by the labels of the kept rows.
    """
    (y, f, b), keep = _aligned({"actual": actual, "forecast": forecast, "benchmark": benchmark}, min_obs=1)
    if index is None:
        labels = actual.index if isinstance(actual, pd.Series) else pd.RangeIndex(keep.shape[0])
    else:
        labels = pd.Index(index)
        if len(labels) != keep.shape[0]:
            raise InputError(f"length {len(labels)} differs from length {keep.shape[0]} of 'actual'", column="index")
    values = np.cumsum((y - b) ** 2 - (y - f) ** 2)
    return pd.Series(values, index=labels[keep], name="cumulative_sse_difference")


# ----------------------------------------------------------------------------------------------------------------------
# tables
# ----------------------------------------------------------------------------------------------------------------------


def significance_stars(pvalue: float) -> str:
    """``"***"`` if p < 0.01, ``"**"`` if p < 0.05, ``"*"`` if p < 0.10, otherwise ``""`` (also for NaN)."""
    if pvalue is None or not np.isfinite(pvalue):
        return ""
    if pvalue < 0.01:
        return "***"
    if pvalue < 0.05:
        return "**"
    if pvalue < 0.10:
        return "*"
    return ""


def _maturity_label(col: Any) -> str:
    if isinstance(col, str) and col.strip().lower() == "ew":
        return "EW"
    try:
        value = float(col)
    except (TypeError, ValueError):
        return str(col)
    return str(int(value)) if value.is_integer() else str(col)


def r2oos_table(
    actual: pd.DataFrame,
    forecasts: Mapping[str, pd.DataFrame],
    benchmark: pd.DataFrame,
    lags: int = 12,
) -> pd.DataFrame:
    """R²_OS (percent) and Clark-West p-values for every model and maturity (Bianchi, Büchner and Tamoni 2021).

    All frames are indexed by date and restricted to the dates common to ``actual``, ``benchmark`` and every
    forecast frame (in the order of ``actual``'s index). Within each column, rows where the actual, the forecast or
    the benchmark is NaN are dropped, so R²_OS and the Clark-West test use the same sample.

    Parameters
    ----------
    actual:
        Realized excess returns, one column per maturity (e.g. ``2, 3, 4, 5, 7, 10, "EW"``).
    forecasts:
        Model name -> frame of forecasts with (at least) the columns of ``actual``.
    benchmark:
        Benchmark forecasts with (at least) the columns of ``actual``.
    lags:
        Newey-West lags of :func:`clark_west` (normal p-values).

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``maturity`` (strings ``"2"``, ..., ``"10"``, ``"EW"``), ``r2oos`` (percent) and
        ``cw_pvalue``; one row per model × column of ``actual``, models in the order of ``forecasts``.
    """
    if not isinstance(actual, pd.DataFrame):
        raise InputError("expected a DataFrame", column="actual")
    if not isinstance(benchmark, pd.DataFrame):
        raise InputError("expected a DataFrame", column="benchmark")
    if not isinstance(forecasts, Mapping) or not forecasts:
        raise InputError("expected a non-empty mapping of model name -> DataFrame", column="forecasts")
    frames: dict[str, pd.DataFrame] = {"actual": actual, "benchmark": benchmark}
    for name, fc in forecasts.items():
        if not isinstance(fc, pd.DataFrame):
            raise InputError(f"forecasts of model {name!r} must be a DataFrame", column="forecasts")
        frames[f"forecasts[{name!r}]"] = fc
    for label, frame in frames.items():
        if frame.index.has_duplicates:
            raise InputError("the index has duplicate dates; cannot align", column=label)
        missing = [c for c in actual.columns if c not in frame.columns]
        if missing:
            raise InputError(f"missing column(s) {missing} present in 'actual'", column=label)
    common = actual.index
    for frame in frames.values():
        common = common[common.isin(frame.index)]
    if len(common) == 0:
        raise InputError("no dates in common between actual, benchmark and forecasts", column="actual")

    y_all = actual.loc[common]
    b_all = benchmark.loc[common]
    rows = []
    for model, fc in forecasts.items():
        f_all = fc.loc[common]
        for col in actual.columns:
            y, f, b = y_all[col].to_numpy(), f_all[col].to_numpy(), b_all[col].to_numpy()
            r2 = 100.0 * r2_oos(y, f, b)
            cw = clark_west(y, f, b, lags=lags)
            rows.append({"model": str(model), "maturity": _maturity_label(col), "r2oos": r2, "cw_pvalue": cw.pvalue})
    return pd.DataFrame(rows, columns=list(R2OOS.names))  # the contract bondpremia.schema.R2OOS
