"""Tests written to kill surviving mutants of ``characteristics/engine.py`` (``make mutate``, issue 20).

Expected values are computed independently: by hand, with per-window Python/numpy loops, numpy's own quantile and
sort, scipy's ``rankdata`` or pandas.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bondpremia.characteristics import (
    cross_sectional_rank,
    cumulative_return,
    engine,
    pct_change_months,
    rolling_moments,
    rolling_ols,
    rolling_order_statistic,
    rolling_quantile,
    winsorize,
)
from bondpremia.errors import InputError


def months(n: int, start: str = "2010-01-31") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="ME")


def window_values(x: np.ndarray, t: int, i: int, window: int, include_current: bool) -> np.ndarray:
    hi = t + 1 if include_current else t
    vals = x[max(hi - window, 0):hi, i]
    return vals[~np.isnan(vals)]


def gappy(seed: int, T: int = 30, N: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, N))
    x[rng.random((T, N)) < 0.25] = np.nan
    x[:, 0] = np.nan  # a bond without data
    x[:12, 1] = np.nan  # a late starter
    return x


def raises(call, reason: str, column: str, row: int | None = None) -> None:
    with pytest.raises(InputError) as err:
        call()
    assert err.value.reason == reason
    assert err.value.column == column
    assert err.value.row == row


# -- input checks ------------------------------------------------------------------------------------------------

def test_panel_input_errors():
    idx = months(4)
    raises(lambda: rolling_moments(pd.DataFrame(np.ones((4, 2)), index=range(4)), window=2, min_obs=1),
           "the index must be a DatetimeIndex of consecutive month-ends", "x")
    gap = idx.delete(2)  # Jan, Feb, Apr: the step after row 1 is two months
    raises(lambda: rolling_moments(pd.DataFrame(np.ones((3, 2)), index=gap), window=2, min_obs=1),
           "the rows must be consecutive calendar months (insert NaN rows for months without data)", "x", row=2)
    raises(lambda: rolling_moments(pd.DataFrame(np.ones((2, 1)), index=idx[[0, 2]]), window=2, min_obs=1),
           "the rows must be consecutive calendar months (insert NaN rows for months without data)", "x", row=1)
    # a one-month frame and mid-month dates of consecutive months are fine
    one = rolling_moments(pd.DataFrame([[1.0]], index=months(1)), window=2, min_obs=1)
    assert one.mean.iloc[0, 0] == 1.0
    mid = pd.DatetimeIndex(["2010-01-15", "2010-02-03", "2010-03-28"])
    assert rolling_moments(pd.DataFrame(np.ones((3, 1)), index=mid), window=2, min_obs=1).mean.shape == (3, 1)
    raises(lambda: rolling_moments(pd.Series([1.0, 2.0]), window=2, min_obs=1),
           "expected a (T, N) panel, got a Series; use series.to_frame()", "x")
    raises(lambda: rolling_moments(np.ones(3), window=2, min_obs=1),
           "expected a 2-d (T, N) panel, got an array with 1 dimension(s)", "x")
    raises(lambda: rolling_moments(np.array([[1.0, np.inf]]), window=2, min_obs=1),
           "infinite values; use NaN for missing data", "x")
    for bad in (np.array([["a", "b"]], dtype=object), pd.DataFrame({"a": ["x", "y"]}, index=months(2))):
        with pytest.raises(InputError) as err:
            rolling_moments(bad, window=1, min_obs=1)
        assert err.value.reason.startswith("non-numeric values: could not convert string to float")
        assert err.value.column == "x"


def test_integer_arguments():
    x = np.ones((3, 1))
    raises(lambda: rolling_moments(x, window=True, min_obs=1), "must be an integer, got True", "window")
    raises(lambda: rolling_moments(x, window=2.0, min_obs=1), "must be an integer, got 2.0", "window")
    raises(lambda: rolling_moments(x, window=0, min_obs=1), "must be >= 1, got 0", "window")
    raises(lambda: rolling_moments(x, window=2, min_obs=3), "must be in [1, 2], got 3", "min_obs")
    raises(lambda: rolling_moments(x, window=2, min_obs=0), "must be in [1, 2], got 0", "min_obs")
    got = rolling_moments(x, window=np.int64(2), min_obs=np.int32(2))  # numpy integers are integers
    np.testing.assert_array_equal(got.mean[:, 0], [np.nan, 1.0, 1.0])


# -- rolling order statistic -------------------------------------------------------------------------------------

@pytest.mark.parametrize("include_current", [True, False])
@pytest.mark.parametrize(("k", "min_obs"), [(1, 1), (2, 3), (3, 2)])
def test_rolling_order_statistic_vs_sorted_windows(include_current, k, min_obs):
    x = gappy(1)
    window = 6
    got = rolling_order_statistic(x, window=window, k=k, min_obs=min_obs, include_current=include_current)
    T, N = x.shape
    ref = np.full((T, N), np.nan)
    for i in range(N):
        for t in range(T):
            vals = sorted(window_values(x, t, i, window, include_current))
            if len(vals) >= max(min_obs, k):
                ref[t, i] = vals[k - 1]
    np.testing.assert_array_equal(got, ref)
    assert np.isfinite(ref).sum() > 50


def test_rolling_order_statistic_frame_and_errors():
    x = np.array([[3.0], [1.0], [2.0], [np.nan], [0.5]])
    frame = pd.DataFrame(x, index=months(5), columns=["b"])
    got = rolling_order_statistic(frame, window=3, k=2, min_obs=1)
    assert isinstance(got, pd.DataFrame) and got.index.equals(frame.index) and list(got.columns) == ["b"]
    # windows {3}, {3,1}, {3,1,2}, {1,2}, {2,0.5}: second smallest needs two values
    np.testing.assert_array_equal(got["b"].to_numpy(), [np.nan, 3.0, 2.0, 2.0, 2.0])
    raises(lambda: rolling_order_statistic(x, window=3, k=4, min_obs=1), "must be in [1, 3], got 4", "k")
    raises(lambda: rolling_order_statistic(x, window=3, k=0, min_obs=1), "must be in [1, 3], got 0", "k")
    raises(lambda: rolling_order_statistic(x, window=3, k=1, min_obs=4), "must be in [1, 3], got 4", "min_obs")
    raises(lambda: rolling_order_statistic(x, window=0, k=1, min_obs=1), "must be >= 1, got 0", "window")
    raises(lambda: rolling_order_statistic(x[:, 0], window=3, k=1, min_obs=1),
           "expected a 2-d (T, N) panel, got an array with 1 dimension(s)", "x")


# -- chunks: every routine gives the same numbers bond by bond ---------------------------------------------------

def test_chunked_results_equal_single_bond_results(monkeypatch):
    rng = np.random.default_rng(3)
    y = rng.normal(0.0, 0.02, (24, 9))
    y[rng.random(y.shape) < 0.2] = np.nan
    X = rng.normal(0.0, 0.03, (24, 2))
    calls = {
        "ols": lambda a: rolling_ols(a, X, window=8, min_obs=5).coef,
        "ols_specific": lambda a: rolling_ols(a, np.repeat(X[:, None, :], a.shape[1], axis=1) * 1.5,
                                              window=8, min_obs=5).coef,
        "moments": lambda a: np.stack([rolling_moments(a, window=6, min_obs=3).std,
                                       rolling_moments(a, window=6, min_obs=3).skew]),
        "quantile": lambda a: rolling_quantile(a, window=6, q=0.3, min_obs=3),
        "order": lambda a: rolling_order_statistic(a, window=6, k=2, min_obs=3),
        "cumret": lambda a: cumulative_return(a, 1, 4, min_obs=2),
    }
    # one bond at a time (the chunk is the whole panel) versus chunks of a few bonds each
    single = {name: np.concatenate([f(y[:, [i]]) for i in range(y.shape[1])], axis=-2 if name.startswith("ols")
                                   else -1) for name, f in calls.items()}
    monkeypatch.setattr(engine, "_CHUNK_BYTES", 1)  # one bond per chunk
    for name, f in calls.items():
        np.testing.assert_array_equal(f(y), single[name], err_msg=name)
    monkeypatch.setattr(engine, "_CHUNK_BYTES", 24 * 6 * 8 * 4 * 4)  # four bonds per moment chunk
    for name, f in calls.items():
        np.testing.assert_array_equal(f(y), single[name], err_msg=name)


def test_chunks_skip_a_bond_without_data(monkeypatch):
    # one bond per chunk: the first chunks have no window to solve (bond 0: no data) or only singular ones (bond 1:
    # its second regressor is twice its first); the last one does
    rng = np.random.default_rng(4)
    y = rng.normal(0.0, 0.02, (12, 3))
    y[:, 0] = np.nan
    X = rng.normal(0.0, 0.03, (12, 3, 2))
    X[:, 1, 1] = 2.0 * X[:, 1, 0]
    expected = rolling_ols(y[:, [2]], X[:, [2]], window=6, min_obs=4).coef[:, 0]
    monkeypatch.setattr(engine, "_CHUNK_BYTES", 1)
    got = rolling_ols(y, X, window=6, min_obs=4).coef
    assert np.isnan(got[:, :2]).all()
    np.testing.assert_array_equal(got[:, 2], expected)
    assert np.isfinite(expected).sum() > 10


# -- rolling OLS: hand-computed regressions ---------------------------------------------------------------------

def test_rolling_ols_hand_computed_three_points():
    # y = 1, 2, 4 on x = 0, 1, 2: slope 3/2, intercept 7/3 - 3/2 = 5/6, residuals 1/6, -1/3, 1/6, SSR = 1/6,
    # SST = 42/9; with 3 observations and 2 coefficients one degree of freedom is left
    y = np.array([[1.0], [2.0], [4.0]])
    x = np.array([0.0, 1.0, 2.0])  # a 1-d array is one common regressor
    res = rolling_ols(y, x, window=3, min_obs=3, include_current=True)
    assert res.names == ("const", "x0")
    assert np.isnan(res.coef[:2]).all()  # only the last window has 3 observations: one candidate in all
    np.testing.assert_allclose(res.coef[2, 0], [5 / 6, 1.5], rtol=1e-13)
    assert res.resid_std[2, 0] == pytest.approx(np.sqrt(1 / 6), rel=1e-13)
    assert res.r2[2, 0] == pytest.approx(1 - (1 / 6) / (42 / 9), rel=1e-13)
    assert res.nobs.dtype == np.int64 and res.nobs[:, 0].tolist() == [1, 2, 3]
    # two observations, two coefficients: an exact fit with no degree of freedom left
    two = rolling_ols(y, x, window=3, min_obs=2, include_current=True)
    np.testing.assert_allclose(two.coef[1, 0], [1.0, 1.0], rtol=1e-13)
    assert np.isnan(two.resid_std[1, 0]) and two.r2[1, 0] == pytest.approx(1.0, abs=1e-13)
    # no intercept: b = sum(xy) / sum(x^2) = 10/5 = 2, residuals 1, 0, 0; R^2 against the uncentred 1 + 4 + 16
    raw = rolling_ols(y, x, window=3, min_obs=1, intercept=False, include_current=True)
    assert raw.names == ("x0",)
    assert raw.coef[2, 0, 0] == pytest.approx(2.0, rel=1e-13)
    assert raw.resid_std[2, 0] == pytest.approx(np.sqrt(1 / 2), rel=1e-13)
    assert raw.r2[2, 0] == pytest.approx(20 / 21, rel=1e-13)
    assert raw.coef[1, 0, 0] == pytest.approx(2.0, rel=1e-13)  # 2 / 1 from the first two points
    assert raw.resid_std[1, 0] == pytest.approx(np.sqrt(1.0), rel=1e-13)  # residual 1 at x = 0, dof 1


def test_rolling_ols_constant_y_has_no_r2():
    y = np.full((3, 1), 2.0)
    res = rolling_ols(y, np.array([0.0, 1.0, 2.0]), window=3, min_obs=3, include_current=True)
    np.testing.assert_allclose(res.coef[2, 0], [2.0, 0.0], atol=1e-15)
    assert res.resid_std[2, 0] == 0.0 and np.isnan(res.r2[2, 0])


def test_rolling_ols_condition_number_cutoff():
    # three nearly collinear regressors, no intercept: the window is refused exactly above its equilibrated
    # condition number (eigenvalues of D^-1/2 Z'Z D^-1/2 from numpy)
    rng = np.random.default_rng(5)
    base = rng.standard_normal(8)
    Z = np.column_stack([base, base + 1e-3 * rng.standard_normal(8), rng.standard_normal(8)])
    y = (Z @ [1.0, 2.0, 3.0] + 0.1 * rng.standard_normal(8))[:, None]
    a = Z.T @ Z
    d = np.sqrt(np.diag(a))
    eig = np.linalg.eigvalsh(a / np.outer(d, d))
    cond = eig[-1] / eig[0]
    assert 1e3 < cond < 1e10
    kw = dict(window=8, min_obs=8, intercept=False, include_current=True)
    above = rolling_ols(y, Z, max_cond=cond * 1.001, **kw)
    below = rolling_ols(y, Z, max_cond=cond * 0.999, **kw)
    expected, *_ = np.linalg.lstsq(Z, y[:, 0], rcond=None)
    np.testing.assert_allclose(above.coef[7, 0], expected, rtol=1e-6)
    assert np.isnan(below.coef[7, 0]).all() and np.isnan(below.resid_std[7, 0])
    assert below.nobs[7, 0] == 8
    for bad in (1.0, 0.5, np.inf, np.nan):
        raises(lambda bad=bad: rolling_ols(y, Z, max_cond=bad, **kw), f"must be a finite number > 1, got {bad}",
               "max_cond")
    one = rolling_ols(y, Z[:, 2], window=8, min_obs=8, intercept=False, include_current=True, max_cond=1.5)
    assert np.isfinite(one.coef[7, 0, 0])  # one coefficient: condition number 1


def test_rolling_ols_centring_keeps_accuracy_with_large_levels():
    # levels of 1e4 with unit variation over 240 months: uncentred cumulative cross-products would lose ~8 digits
    rng = np.random.default_rng(6)
    T, window = 240, 12
    x = 1e4 + rng.standard_normal((T, 2))
    y = (5e3 + x @ [0.5, -0.25])[:, None] + 0.1 * rng.standard_normal((T, 1))
    res = rolling_ols(y, x, window=window, min_obs=window)
    for t in range(window, T, 37):
        Z = np.column_stack([np.ones(window), x[t - window:t]])
        b, *_ = np.linalg.lstsq(Z, y[t - window:t, 0], rcond=None)
        np.testing.assert_allclose(res.coef[t, 0, 1:], b[1:], rtol=1e-7)
        assert res.coef[t, 0, 0] == pytest.approx(b[0], rel=1e-7)


def test_rolling_ols_frames_and_names():
    idx = months(6)
    rng = np.random.default_rng(7)
    y = pd.DataFrame(rng.standard_normal((6, 2)), index=idx, columns=["a", "b"])
    X = pd.DataFrame({"mkt": pd.array([0.1, None, 0.3, -0.2, 0.5, 0.0], dtype="Float64")}, index=idx)
    res = rolling_ols(y, X, window=4, min_obs=2, include_current=True)
    assert res.names == ("const", "mkt")
    for frame in (res.nobs, res.resid_std, res.r2, res.coefficient("mkt"), res.coefficient(0)):
        assert isinstance(frame, pd.DataFrame)
        assert frame.index.equals(idx) and list(frame.columns) == ["a", "b"]
    assert res.nobs["a"].tolist() == [1, 1, 2, 3, 3, 4]  # the regressor is missing in month 1: not usable
    np.testing.assert_array_equal(res.coefficient("const").to_numpy(), res.coef[:, :, 0])
    raises(lambda: res.coefficient("vix"), "unknown coefficient 'vix'; available: ['const', 'mkt']", "key")
    arr = rolling_ols(y.to_numpy(), X.to_numpy(dtype=float, na_value=np.nan), window=4, min_obs=2)
    assert isinstance(arr.coefficient(1), np.ndarray) and arr.index is None
    # bond-specific regressors as a (T, N, K) array: K names, not N
    spec = rolling_ols(y.to_numpy(), rng.standard_normal((6, 2, 1)), window=4, min_obs=2, intercept=False)
    assert spec.names == ("x0",) and spec.coef.shape == (6, 2, 1)
    # object arrays with None are missing values
    obj = np.array([[1.0], [None], [3.0], [5.0]], dtype=object)
    got = rolling_ols(obj, np.array([0.0, 1.0, 1.0, 2.0]), window=4, min_obs=3, include_current=True)
    np.testing.assert_allclose(got.coef[3, 0], [1.0, 2.0], rtol=1e-13)  # the line through (0,1), (1,3), (2,5)
    xobj = np.array([[0.0], [None], [1.0], [2.0]], dtype=object)
    got = rolling_ols(np.array([[1.0], [7.0], [3.0], [5.0]]), xobj, window=4, min_obs=3, include_current=True)
    np.testing.assert_allclose(got.coef[3, 0], [1.0, 2.0], rtol=1e-13)


def test_regressor_errors():
    idx = months(5)
    y = pd.DataFrame(np.ones((5, 2)), index=idx, columns=["a", "b"])
    yv = y.to_numpy()
    kw = dict(window=3, min_obs=2)
    raises(lambda: rolling_ols(y, pd.DataFrame({"m": np.ones(5)}, index=months(5, "2011-01-31")), **kw),
           "the index of X must equal the index of y", "X")
    raises(lambda: rolling_ols(y, {}, **kw), "no regressors", "X")
    raises(lambda: rolling_ols(yv, np.ones((5, 0)), **kw), "no regressors", "X")
    raises(lambda: rolling_ols(yv, np.ones((5, 2, 0)), **kw), "no regressors", "X")
    other = pd.DataFrame(np.ones((5, 2)), index=idx, columns=["a", "c"])
    raises(lambda: rolling_ols(y, {"s": other}, **kw), "index and columns must equal those of y", "X['s']")
    shifted = pd.DataFrame(np.ones((5, 2)), index=months(5, "2011-01-31"), columns=["a", "b"])
    raises(lambda: rolling_ols(y, {"s": shifted}, **kw), "index and columns must equal those of y", "X['s']")
    same = pd.DataFrame(np.arange(10.0).reshape(5, 2), index=idx, columns=["a", "b"])
    np.testing.assert_array_equal(rolling_ols(y, {"s": same}, **kw).coef, rolling_ols(yv, {"s": same.to_numpy()},
                                                                                      **kw).coef)
    # a frame regressor with a numpy y, or a numpy regressor with a frame y, is not compared
    assert rolling_ols(yv, {"s": other}, **kw).coef.shape == (5, 2, 2)
    assert rolling_ols(y, {"s": np.ones((5, 2))}, **kw).coef.shape == (5, 2, 2)
    raises(lambda: rolling_ols(yv, {"s": np.ones((5, 2)), "t": np.ones((4, 2))}, **kw),
           "bond-specific regressors have different shapes [(4, 2), (5, 2)]", "X")
    raises(lambda: rolling_ols(yv, {"s": np.array([[np.inf, 1.0]] * 5)}, **kw),
           "infinite values; use NaN for missing data", "X['s']")
    raises(lambda: rolling_ols(yv, np.ones((4, 1)), **kw), "X has 4 rows, y has 5", "X")
    raises(lambda: rolling_ols(yv, np.ones((5, 3, 1)), **kw), "bond-specific X has shape (5, 3) (T, N), y has (5, 2)",
           "X")
    raises(lambda: rolling_ols(yv, np.ones((5, 2, 1, 1)), **kw),
           "X must be (T, K), (T, N, K) or a dict of (T, N) panels", "X")
    raises(lambda: rolling_ols(yv, np.array([[np.inf]] * 5), **kw), "infinite values; use NaN for missing data", "X")
    raises(lambda: rolling_ols(np.ones(5), np.ones(5), **kw),
           "expected a 2-d (T, N) panel, got an array with 1 dimension(s)", "y")
    raises(lambda: rolling_ols(yv, np.ones((5, 2)), window=3, min_obs=2),
           "must be in [3, 3], got 2", "min_obs")  # K' = 3 coefficients
    raises(lambda: rolling_ols(yv, np.ones(5), window=3, min_obs=4), "must be in [2, 3], got 4", "min_obs")
    raises(lambda: rolling_ols(yv, np.ones(5), window=0, min_obs=1), "must be >= 1, got 0", "window")
    # the smallest and largest allowed min_obs
    assert rolling_ols(yv, np.arange(5.0), window=3, min_obs=1, intercept=False).coef.shape == (5, 2, 1)
    assert rolling_ols(yv, np.arange(5.0), window=3, min_obs=3).coef.shape == (5, 2, 2)


# -- moments, quantiles -----------------------------------------------------------------------------------------

def test_rolling_moments_small_windows_and_frames():
    idx = months(4)
    x = pd.DataFrame({"a": [1.0, 3.0, np.nan, 8.0], "b": pd.array([2.0, None, 2.0, 5.0], dtype="Float64")},
                     index=idx)
    res = rolling_moments(x, window=2, min_obs=1)  # the current month is in the window by default
    for frame in (res.mean, res.std, res.skew):
        assert isinstance(frame, pd.DataFrame) and frame.index.equals(idx) and list(frame.columns) == ["a", "b"]
    np.testing.assert_array_equal(res.mean["a"].to_numpy(), [1.0, 2.0, 3.0, 8.0])
    # ddof = 1: one value has no standard deviation; {1, 3} has sqrt(2)
    np.testing.assert_allclose(res.std["a"].to_numpy(), [np.nan, np.sqrt(2.0), np.nan, np.nan])
    np.testing.assert_allclose(res.std["b"].to_numpy(), [np.nan, np.nan, np.nan, np.sqrt(4.5)])
    np.testing.assert_array_equal(res.mean["b"].to_numpy(), [2.0, 2.0, 2.0, 3.5])
    obj = np.array([[1.0], [None], [4.0]], dtype=object)
    np.testing.assert_array_equal(rolling_moments(obj, window=3, min_obs=1).mean[:, 0], [1.0, 1.0, 2.5])


def test_rolling_moments_skew_of_nearly_constant_windows():
    # a, a, a + d has skewness 1/sqrt(2) for any d; scipy's rule calls a window constant when its second moment is
    # at most (eps * mean)^2
    vals = np.array([1.0, 1.0, 1.0 + 1e-9])
    res = rolling_moments(vals[:, None], window=3, min_obs=3)
    assert res.skew[2, 0] == pytest.approx(1 / np.sqrt(2), rel=1e-5)
    assert res.skew[2, 0] == pytest.approx(stats.skew(vals), rel=1e-12)
    big = np.array([1e6, 1e6, np.nextafter(1e6, 2e6)])  # second moment ~3e-21 < (eps * 1e6)^2 ~ 5e-20
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy: "precision loss ... nearly identical"
        expected = stats.skew(big)
    assert np.isnan(expected)
    assert np.isnan(rolling_moments(big[:, None], window=3, min_obs=3).skew[2, 0])


@pytest.mark.parametrize("q", [0.0, 0.1, 0.25, 0.5, 0.7, 0.9, 1.0])
def test_rolling_quantile_bitwise_numpy(q):
    # every window length from 1 to 7 (q = 0.5 on an even count is the midpoint rule), bit for bit
    x = gappy(8, T=40, N=9)
    window = 7
    got = rolling_quantile(x, window=window, q=q, min_obs=1)
    T, N = x.shape
    ref = np.full((T, N), np.nan)
    for i in range(N):
        for t in range(T):
            vals = window_values(x, t, i, window, True)
            if vals.size:
                ref[t, i] = np.quantile(vals, q)
    np.testing.assert_array_equal(got, ref)


def test_rolling_quantile_arguments_and_frames():
    x = pd.DataFrame({"a": [1.0, 2.0, 3.0]}, index=months(3))
    got = rolling_quantile(x, window=2, q=np.float64(0.5), min_obs=2, include_current=False)
    assert list(got.columns) == ["a"] and np.isnan(got["a"].iloc[:2]).all() and got["a"].iloc[2] == 1.5
    for q in (1.5, -0.1, "0.5", None):
        raises(lambda q=q: rolling_quantile(x, window=2, q=q, min_obs=1), f"must be a number in [0, 1], got {q!r}",
               "q")
    raises(lambda: rolling_quantile(x, window=2, q=0.5, min_obs=3), "must be in [1, 2], got 3", "min_obs")
    raises(lambda: rolling_quantile(x, window=0, q=0.5, min_obs=1), "must be >= 1, got 0", "window")
    raises(lambda: rolling_quantile(np.ones(3), window=2, q=0.5, min_obs=1),
           "expected a 2-d (T, N) panel, got an array with 1 dimension(s)", "x")
    assert rolling_quantile(x, window=1, q=1, min_obs=1)["a"].tolist() == [1.0, 2.0, 3.0]


# -- changes, compounded returns, ranks, winsorizing -------------------------------------------------------------

def test_pct_change_months_more_rows_and_bases():
    x = pd.DataFrame({"p": [0.5, 2.0, 1.0, 3.0, 4.0]}, index=months(5))
    got = pct_change_months(x, 2)
    assert isinstance(got, pd.DataFrame) and list(got.columns) == ["p"]
    np.testing.assert_allclose(got["p"].to_numpy(), [np.nan, np.nan, 1.0 / 0.5 - 1, 3.0 / 2.0 - 1, 4.0 / 1.0 - 1])
    assert np.isnan(pct_change_months(x, 5)).all().all()
    np.testing.assert_allclose(pct_change_months(x.to_numpy(), 1)[1:, 0], [3.0, -0.5, 2.0, 1 / 3])
    raises(lambda: pct_change_months(x, 0), "must be >= 1, got 0", "months")
    raises(lambda: pct_change_months(np.ones(3), 1), "expected a 2-d (T, N) panel, got an array with 1 dimension(s)",
           "x")


def test_cumulative_return_arguments():
    r = pd.DataFrame({"a": [-1.0, 0.5, 0.1]}, index=months(3))
    got = cumulative_return(r, 0, 1)
    assert isinstance(got, pd.DataFrame) and list(got.columns) == ["a"]
    np.testing.assert_allclose(got["a"].to_numpy(), [np.nan, 0.0 * 1.5 - 1, 1.5 * 1.1 - 1])  # -100% is allowed
    raises(lambda: cumulative_return(r - 0.5, 0, 1), "returns below -100% (expected simple decimal returns)", "r")
    raises(lambda: cumulative_return(r, -1, 1), "must be >= 0, got -1", "start_lag")
    raises(lambda: cumulative_return(r, 2, 1), "must be >= 2, got 1", "end_lag")
    raises(lambda: cumulative_return(r, 0, 1, min_obs=3), "must be in [1, 2], got 3", "min_obs")
    raises(lambda: cumulative_return(np.ones(3), 0, 1), "expected a 2-d (T, N) panel, got an array with 1 dimension(s)",
           "r")
    np.testing.assert_allclose(cumulative_return(r, 0, 1, min_obs=1)["a"].to_numpy(), [-1.0, -1.0, 1.5 * 1.1 - 1])
    allnan = np.full((3, 1), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "All-NaN slice" warning from the range check
        assert np.isnan(cumulative_return(allnan, 0, 1)).all()


def test_cross_sectional_rank_small_rows():
    x = np.array([[2.0, 1.0], [np.nan, 4.0]])
    np.testing.assert_array_equal(cross_sectional_rank(x), [[0.5, -0.5], [np.nan, 0.0]])
    assert cross_sectional_rank(np.array([[5.0]])).tolist() == [[0.0]]
    assert cross_sectional_rank(np.empty((0, 3))).shape == (0, 3)
    empty = cross_sectional_rank(pd.DataFrame(np.empty((0, 2)), index=pd.DatetimeIndex([]), columns=["a", "b"]))
    assert isinstance(empty, pd.DataFrame) and empty.shape == (0, 2) and list(empty.columns) == ["a", "b"]
    frame = cross_sectional_rank(pd.DataFrame(x, index=months(2), columns=["a", "b"]))
    assert list(frame.columns) == ["a", "b"]
    raises(lambda: cross_sectional_rank(x, missing="median"), "must be 'nan' or 'zero', got 'median'", "missing")
    raises(lambda: cross_sectional_rank(np.ones(2)), "expected a 2-d (T, N) panel, got an array with 1 dimension(s)",
           "x")


def test_winsorize_bounds_and_shapes():
    x = np.array([[0.0, 1.0, 2.0, 3.0, 4.0], [7.0, np.nan, np.nan, np.nan, np.nan]])
    # lower 0 and upper 1 are the min and max: nothing changes; one value is its own quantile
    np.testing.assert_array_equal(winsorize(x, lower=0.0, upper=1.0), x)
    np.testing.assert_array_equal(winsorize(x, lower=0, upper=0.5), [[0.0, 1.0, 2.0, 2.0, 2.0], x[1]])
    assert winsorize(np.array([[5.0]])).tolist() == [[5.0]]
    assert winsorize(np.empty((0, 3))).shape == (0, 3)
    empty = winsorize(pd.DataFrame(np.empty((0, 2)), index=pd.DatetimeIndex([]), columns=["a", "b"]))
    assert isinstance(empty, pd.DataFrame) and empty.shape == (0, 2) and list(empty.columns) == ["a", "b"]
    frame = winsorize(pd.DataFrame(x, index=months(2), columns=list("abcde")), lower=0.25, upper=0.75)
    assert list(frame.columns) == list("abcde")
    np.testing.assert_array_equal(frame.iloc[0].to_numpy(), [1.0, 1.0, 2.0, 3.0, 3.0])
    for name, kw in (("lower", dict(lower=-0.1)), ("upper", dict(upper=1.5)), ("lower", dict(lower="0.1")),
                     ("upper", dict(upper=None))):
        v = kw[name]
        raises(lambda kw=kw: winsorize(x, **kw), f"must be a number in [0, 1], got {v!r}", name)
    raises(lambda: winsorize(x, lower=0.5, upper=0.5), "lower (0.5) must be smaller than upper (0.5)", "lower")
    raises(lambda: winsorize(np.ones(2)), "expected a 2-d (T, N) panel, got an array with 1 dimension(s)", "x")
