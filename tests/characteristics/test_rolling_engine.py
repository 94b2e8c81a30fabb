"""Tests of the vectorized characteristics engine against independent per-bond / per-window computations."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bondpremia.characteristics import (
    RollingOLS,
    cross_sectional_rank,
    cumulative_return,
    pct_change_months,
    rolling_moments,
    rolling_ols,
    rolling_quantile,
    winsorize,
)
from bondpremia.errors import InputError


# --------------------------------------------------------------------------------------------------------------
# data and references
# --------------------------------------------------------------------------------------------------------------
def _panel(seed: int = 0, T: int = 60, N: int = 25, K: int = 3, specific: bool = False):
    """Unbalanced panel: returns ~0.01, factors ~0.01-0.05, one VIX-innovation-like regressor ~1-5."""
    rng = np.random.default_rng(seed)
    if specific:
        X = np.empty((T, N, K))
        X[..., 0] = 0.005 + 0.04 * rng.standard_normal((T, N))
        X[..., 1] = 0.002 + 0.01 * rng.standard_normal((T, N))
        X[..., 2] = 3.0 + 2.0 * rng.standard_normal((T, N))
        X[rng.random((T, N)) < 0.05, 1] = np.nan
        beta = rng.normal(1.0, 0.3, (N, K)) * np.array([1.0, 0.5, 0.001])
        y = 0.002 + np.einsum("tnk,nk->tn", np.nan_to_num(X), beta) + 0.01 * rng.standard_normal((T, N))
    else:
        X = np.column_stack(
            [
                0.005 + 0.04 * rng.standard_normal(T),
                0.002 + 0.01 * rng.standard_normal(T),
                3.0 + 2.0 * rng.standard_normal(T),
            ][:K]
        )
        X[7, 1] = np.nan  # a month where a common regressor is missing
        beta = rng.normal(1.0, 0.3, (N, K)) * np.array([1.0, 0.5, 0.001])[:K]
        y = 0.002 + np.nan_to_num(X) @ beta.T + 0.01 * rng.standard_normal((T, N))
    y[rng.random((T, N)) < 0.2] = np.nan
    y[20:36, 3] = np.nan  # a long gap
    y[:, 4] = np.nan  # a bond without data
    y[40:, 5] = np.nan  # a bond that stops
    y[:30, 6] = np.nan  # a bond that starts late
    return y, X


def _ref_ols(y, X, window, min_obs, intercept, include_current):
    T, N = y.shape
    kp = X.shape[-1] + int(intercept)
    coef = np.full((T, N, kp), np.nan)
    nobs = np.zeros((T, N), dtype=int)
    rstd = np.full((T, N), np.nan)
    r2 = np.full((T, N), np.nan)
    for i in range(N):
        Xi = X if X.ndim == 2 else X[:, i, :]
        for t in range(T):
            hi = t + 1 if include_current else t
            lo = max(hi - window, 0)
            yy = y[lo:hi, i]
            xx = Xi[lo:hi]
            ok = ~np.isnan(yy) & ~np.isnan(xx).any(axis=1)
            n = int(ok.sum())
            nobs[t, i] = n
            if n < min_obs:
                continue
            Z = xx[ok]
            if intercept:
                Z = np.column_stack([np.ones(n), Z])
            b, _, rank, _ = np.linalg.lstsq(Z, yy[ok], rcond=None)
            if rank < kp:
                continue
            e = yy[ok] - Z @ b
            ssr = e @ e
            sst = ((yy[ok] - yy[ok].mean()) ** 2).sum() if intercept else (yy[ok] ** 2).sum()
            coef[t, i] = b
            rstd[t, i] = np.sqrt(ssr / (n - kp)) if n > kp else np.nan
            r2[t, i] = 1 - ssr / sst
    return coef, nobs, rstd, r2


def _same_nan(a, b):
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))


# --------------------------------------------------------------------------------------------------------------
# rolling_ols
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("include_current", [False, True])
@pytest.mark.parametrize("specific", [False, True])
@pytest.mark.parametrize("intercept", [True, False])
def test_rolling_ols_matches_lstsq(include_current, specific, intercept):
    y, X = _panel(seed=1 + 2 * specific + include_current, specific=specific)
    window, min_obs = 24, 10
    res = rolling_ols(y, X, window=window, min_obs=min_obs, intercept=intercept, include_current=include_current)
    coef, nobs, rstd, r2 = _ref_ols(y, X, window, min_obs, intercept, include_current)
    assert isinstance(res, RollingOLS)
    assert res.coef.shape == coef.shape
    np.testing.assert_array_equal(res.nobs, nobs)
    _same_nan(res.coef, coef)
    assert np.isfinite(coef).sum() > 0.5 * coef.size  # the comparison is not vacuous
    assert np.nanmax(np.abs(res.coef - coef)) < 1e-8
    _same_nan(res.resid_std, rstd)
    np.testing.assert_allclose(res.resid_std, rstd, rtol=1e-8, atol=1e-12)
    _same_nan(res.r2, r2)
    np.testing.assert_allclose(res.r2, r2, rtol=0, atol=1e-8)


def test_rolling_ols_singular_and_frames():
    y, X = _panel(seed=5)
    X = X.copy()
    X[:30, 2] = 2.0  # constant regressor: collinear with the intercept in windows inside months 0..29
    idx = pd.date_range("2000-01-31", periods=y.shape[0], freq="ME")
    yf = pd.DataFrame(y, index=idx, columns=[f"b{i}" for i in range(y.shape[1])])
    Xf = pd.DataFrame(X, index=idx, columns=["mkt", "term", "vix"])
    res = rolling_ols(yf, Xf, window=12, min_obs=8)
    assert res.names == ("const", "mkt", "term", "vix")
    assert isinstance(res.nobs, pd.DataFrame) and res.nobs.index.equals(idx)
    beta_vix = res.coefficient("vix")
    assert isinstance(beta_vix, pd.DataFrame)
    assert beta_vix.iloc[:31].isna().all().all()  # windows t-12..t-1 inside the constant stretch
    assert beta_vix.iloc[40:].notna().to_numpy().sum() > 0
    coef, *_ = _ref_ols(y, X, 12, 8, True, False)
    np.testing.assert_allclose(res.coef[31:], coef[31:], atol=1e-8)
    with pytest.raises(InputError):
        rolling_ols(y, X, window=12, min_obs=3)  # fewer than K' = 4
    with pytest.raises(InputError):
        rolling_ols(yf, Xf.iloc[::-1], window=12, min_obs=8)
    with pytest.raises(InputError):
        rolling_ols(yf.drop(idx[5]), Xf.drop(idx[5]), window=12, min_obs=8)  # not consecutive months


def test_rolling_ols_dict_of_specific_regressors():
    y, X = _panel(seed=6, specific=True)
    res3 = rolling_ols(y, X, window=24, min_obs=10)
    resd = rolling_ols(y, {"a": X[..., 0], "b": X[..., 1], "c": X[..., 2]}, window=24, min_obs=10)
    np.testing.assert_array_equal(res3.coef, resd.coef)
    assert resd.names == ("const", "a", "b", "c")


@pytest.mark.parametrize("include_current", [False, True])
def test_rolling_ols_no_look_ahead(include_current):
    y, X = _panel(seed=7)
    base = rolling_ols(y, X, window=24, min_obs=10, include_current=include_current)
    rng = np.random.default_rng(0)
    for t in (10, 30, 45):
        y2, X2 = y.copy(), X.copy()
        y2[t + 1 :] += rng.normal(0, 5, y2[t + 1 :].shape)
        X2[t + 1 :] *= 100.0
        pert = rolling_ols(y2, X2, window=24, min_obs=10, include_current=include_current)
        np.testing.assert_array_equal(pert.coef[: t + 1], base.coef[: t + 1])
        np.testing.assert_array_equal(pert.resid_std[: t + 1], base.resid_std[: t + 1])
        if not include_current:  # walk-forward: row t+1 uses months <= t only
            np.testing.assert_array_equal(pert.coef[t + 1], base.coef[t + 1])
        assert not np.array_equal(pert.coef[t + 2 :], base.coef[t + 2 :], equal_nan=True)


def test_rolling_ols_speed():
    """Print-only timing: T=190, N=5000, K=6 common regressors, window 36; lstsq reference on 100 bonds."""
    rng = np.random.default_rng(11)
    T, N, K = 190, 5000, 6
    X = rng.normal(0.005, 0.03, (T, K))
    y = X @ rng.normal(0, 1, (K, N)) + 0.01 * rng.standard_normal((T, N))
    y[rng.random((T, N)) < 0.2] = np.nan
    t0 = time.perf_counter()
    res = rolling_ols(y, X, window=36, min_obs=24)
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref, *_ = _ref_ols(y[:, :100], X, 36, 24, True, False)
    t_ref = time.perf_counter() - t0
    err = np.nanmax(np.abs(res.coef[:, :100] - ref))
    print(
        f"\nrolling_ols T={T} N={N} K={K} window=36: {t_fast:.2f} s; per-window lstsq on 100 bonds {t_ref:.2f} s "
        f"(~{t_ref * N / 100:.0f} s for {N}); max |diff| on those 100 bonds {err:.1e}"
    )
    assert err < 1e-8


# --------------------------------------------------------------------------------------------------------------
# moments and quantiles
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("include_current", [True, False])
def test_rolling_moments_vs_pandas_scipy(include_current):
    y, _ = _panel(seed=3)
    y[:14, 8] = 0.01  # a constant stretch: windows inside it have std 0 and undefined skewness
    window, min_obs = 12, 6
    res = rolling_moments(y, window=window, min_obs=min_obs, include_current=include_current)
    T, N = y.shape
    mean = np.full((T, N), np.nan)
    std = np.full((T, N), np.nan)
    skew = np.full((T, N), np.nan)
    for i in range(N):
        s = pd.Series(y[:, i])
        if not include_current:
            s = s.shift(1)
        roll = s.rolling(window, min_periods=min_obs)
        mean[:, i] = roll.mean()
        std[:, i] = roll.std()
        for t in range(T):
            vals = s.iloc[max(t - window + 1, 0) : t + 1].dropna().to_numpy()
            if len(vals) >= min_obs and np.ptp(vals) > 0:
                skew[t, i] = stats.skew(vals, bias=True)
    np.testing.assert_allclose(res.mean, mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(res.std, std, rtol=1e-9, atol=1e-15)
    _same_nan(res.skew, skew)
    np.testing.assert_allclose(res.skew, skew, rtol=1e-9, atol=1e-12)
    t_const = 13 + int(not include_current)  # window = months 2..13, all equal
    assert np.isnan(res.skew[t_const, 8]) and abs(res.std[t_const, 8]) < 1e-15
    assert res.mean[t_const, 8] == pytest.approx(0.01, rel=1e-15)


@pytest.mark.parametrize("q", [0.05, 0.5, 0.9, 0.0, 1.0])
def test_rolling_quantile_vs_np_quantile(q):
    y, _ = _panel(seed=4)
    window, min_obs = 36, 12
    idx = pd.date_range("2001-01-31", periods=y.shape[0], freq="ME")
    got = rolling_quantile(pd.DataFrame(y, index=idx), window=window, q=q, min_obs=min_obs)
    assert isinstance(got, pd.DataFrame) and got.index.equals(idx)
    T, N = y.shape
    ref = np.full((T, N), np.nan)
    for i in range(N):
        for t in range(T):
            vals = y[max(t - window + 1, 0) : t + 1, i]
            vals = vals[~np.isnan(vals)]
            if len(vals) >= min_obs:
                ref[t, i] = np.quantile(vals, q)
    _same_nan(got.to_numpy(), ref)
    np.testing.assert_allclose(got.to_numpy(), ref, rtol=1e-14, atol=1e-17)


def test_rolling_moments_no_look_ahead():
    y, _ = _panel(seed=8)
    base = rolling_moments(y, window=12, min_obs=6)
    q_base = rolling_quantile(y, window=12, q=0.05, min_obs=6)
    y2 = y.copy()
    y2[31:] = 1e6
    pert = rolling_moments(y2, window=12, min_obs=6)
    for a, b in zip((base.mean, base.std, base.skew), (pert.mean, pert.std, pert.skew), strict=True):
        np.testing.assert_array_equal(a[:31], b[:31])
    np.testing.assert_array_equal(rolling_quantile(y2, window=12, q=0.05, min_obs=6)[:31], q_base[:31])


# --------------------------------------------------------------------------------------------------------------
# changes and compounded returns
# --------------------------------------------------------------------------------------------------------------
def test_pct_change_months_gap():
    x = np.array([[100.0, 50.0], [np.nan, 0.0], [102.0, 51.0], [110.0, 52.0]])
    got = pct_change_months(x, 2)
    expected = np.array([[np.nan, np.nan], [np.nan, np.nan], [0.02, 0.02], [np.nan, np.nan]])
    # row 3, bond 0: base row 1 is missing -> NaN (never row 0); bond 1: base 0 -> NaN
    np.testing.assert_allclose(got, expected, rtol=1e-15)
    # 6-month change with the t-6 row missing
    p = np.arange(1.0, 13.0)[:, None]
    p[2] = np.nan
    g = pct_change_months(p, 6)
    assert np.isnan(g[8, 0]) and np.isnan(g[2, 0])
    assert g[9, 0] == pytest.approx(10 / 4 - 1)
    assert np.isnan(g[:6]).all()


def test_cumulative_return_momentum():
    r = np.array([0.01, 0.02, -0.01, 0.03, 0.00, 0.05, 0.04, 0.10])[:, None]
    mom = cumulative_return(r, 1, 6)
    # row 6: months 0..5 ; row 7: months 1..6 ; the current month never enters
    assert mom[6, 0] == pytest.approx(1.01 * 1.02 * 0.99 * 1.03 * 1.00 * 1.05 - 1, rel=1e-14)
    assert mom[7, 0] == pytest.approx(1.02 * 0.99 * 1.03 * 1.00 * 1.05 * 1.04 - 1, rel=1e-14)
    assert np.isnan(mom[:6]).all()
    r2 = r.copy()
    r2[3] = np.nan
    assert np.isnan(cumulative_return(r2, 1, 6)[6:]).all()
    gap = cumulative_return(r2, 1, 6, min_obs=5)
    assert gap[6, 0] == pytest.approx(1.01 * 1.02 * 0.99 * 1.00 * 1.05 - 1, rel=1e-14)
    assert np.isnan(gap[4, 0])  # months -2..3: only 3 available
    assert cumulative_return(r, 0, 0)[7, 0] == pytest.approx(0.10)
    with pytest.raises(InputError):
        cumulative_return(r, 3, 2)
    with pytest.raises(InputError):
        cumulative_return(r - 2, 1, 6)


def test_cumulative_return_vs_loop_and_no_look_ahead():
    y, _ = _panel(seed=9)
    got = cumulative_return(y, 1, 12, min_obs=8)
    T, N = y.shape
    ref = np.full((T, N), np.nan)
    for i in range(N):
        for t in range(T):
            vals = y[max(t - 12, 0) : max(t, 0), i]
            vals = vals[~np.isnan(vals)]
            if len(vals) >= 8:
                ref[t, i] = np.prod(1 + vals) - 1
    _same_nan(got, ref)
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-16)
    y2 = y.copy()
    y2[20:] = 0.5
    np.testing.assert_array_equal(cumulative_return(y2, 1, 12, min_obs=8)[:21], got[:21])


# --------------------------------------------------------------------------------------------------------------
# cross-sectional transformations
# --------------------------------------------------------------------------------------------------------------
def test_cross_sectional_rank_hand_example():
    x = np.array(
        [
            [3.0, 1.0, np.nan, 1.0, 7.0],  # ranks 3, 1.5, -, 1.5, 4 -> n=4
            [np.nan, 2.0, np.nan, np.nan, np.nan],  # single value -> 0
            [np.nan] * 5,
            [5.0, 4.0, 3.0, 2.0, 1.0],
        ]
    )
    got = cross_sectional_rank(x)
    expected = np.array(
        [
            [2 / 3 - 0.5, 0.5 / 3 - 0.5, np.nan, 0.5 / 3 - 0.5, 0.5],
            [np.nan, 0.0, np.nan, np.nan, np.nan],
            [np.nan] * 5,
            [0.5, 0.25, 0.0, -0.25, -0.5],
        ]
    )
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)
    assert np.nanmin(got[3]) == -0.5 and np.nanmax(got[3]) == 0.5
    zero = cross_sectional_rank(
        pd.DataFrame(x, index=pd.date_range("2020-01-31", periods=4, freq="ME")), missing="zero"
    )
    assert isinstance(zero, pd.DataFrame)
    np.testing.assert_allclose(zero.to_numpy(), np.nan_to_num(expected, nan=0.0), atol=1e-15)
    with pytest.raises(InputError):
        cross_sectional_rank(x, missing="median")


def test_cross_sectional_rank_random_range():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((30, 200))
    x[rng.random(x.shape) < 0.3] = np.nan
    got = cross_sectional_rank(x)
    np.testing.assert_array_equal(np.nanmin(got, axis=1), -0.5)
    np.testing.assert_array_equal(np.nanmax(got, axis=1), 0.5)
    _same_nan(got, x)
    row = x[4][~np.isnan(x[4])]
    np.testing.assert_allclose(got[4][~np.isnan(x[4])], (stats.rankdata(row) - 1) / (len(row) - 1) - 0.5)


def test_winsorize_hand_example():
    x = np.array([[0.0, 1.0, 2.0, 3.0, 100.0, np.nan], [np.nan] * 6, [-50.0, 1.0, 1.0, 2.0, 3.0, 4.0]])
    got = winsorize(x, lower=0.25, upper=0.75)
    # row 0: 5 values, h = 1 and 3 -> Q(0.25)=1, Q(0.75)=3
    # row 2: sorted [-50, 1, 1, 2, 3, 4], h = 1.25 -> 1 + 0.25*(1-1) = 1 ; h = 3.75 -> 2 + 0.75*(3-2) = 2.75
    expected = np.array([[1.0, 1.0, 2.0, 3.0, 3.0, np.nan], [np.nan] * 6, [1.0, 1.0, 1.0, 2.0, 2.75, 2.75]])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)
    rng = np.random.default_rng(3)
    z = rng.standard_t(3, (20, 300))
    z[rng.random(z.shape) < 0.2] = np.nan
    w = winsorize(z)
    q = np.nanquantile(z, [0.01, 0.99], axis=1)
    np.testing.assert_allclose(w, np.clip(z, q[0][:, None], q[1][:, None]), rtol=1e-14)
    with pytest.raises(InputError):
        winsorize(x, lower=0.9, upper=0.1)
