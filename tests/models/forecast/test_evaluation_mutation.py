"""Tests added from mutation testing (``make mutate``) of ``models/forecast/evaluation.py``.

Each test pins a behaviour that a surviving mutant changed: a default argument, a boundary, an error's text and
the argument it names, the certainty-equivalent gain. Expected numbers are hand calculations written out here or
come from statsmodels / scipy.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from bondpremia.errors import FallbackWarning, InputError
from bondpremia.models.forecast.evaluation import (
    certainty_equivalent_gain,
    clark_west,
    cumulative_sse_difference,
    diebold_mariano,
    expanding_mean_benchmark,
    r2_oos,
    r2oos_table,
    significance_stars,
)


def error_text(fn, *args, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def series(n=40, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    y = 0.5 * x + rng.standard_normal(n)
    return y, 0.4 * x, 0.05 + 0.02 * rng.standard_normal(n)


def statsmodels_cw(y, f, b, lags):
    adj = (y - b) ** 2 - ((y - f) ** 2 - (b - f) ** 2)
    fit = sm.OLS(adj, np.ones_like(adj)).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    return float(fit.tvalues[0]), float(stats.norm.sf(fit.tvalues[0]))


# ----------------------------------------------------------------------------------------------------------------------
# input checks: the exact text names the argument and the row
# ----------------------------------------------------------------------------------------------------------------------


def test_input_errors_name_the_argument_and_row():
    ok = [1.0, 2.0, 3.0]
    assert error_text(r2_oos, pd.DataFrame({"a": ok}), ok, ok) == (
        "'actual': expected a 1-D array or a Series, got a DataFrame")
    assert error_text(r2_oos, ok, np.ones((3, 1)), ok) == "'forecast': expected a 1-D array, got 2 dimensions"
    assert error_text(r2_oos, ok, ok, [1.0, np.inf, 2.0]) == (
        "'benchmark', row 1: infinite value; use NaN for a missing observation")
    text = error_text(r2_oos, ok, ["a", "b", "c"], ok)
    assert text.startswith("'forecast': could not convert to numbers (") and "'a'" in text
    assert error_text(r2_oos, ok, [1.0, 2.0], ok) == (
        "'forecast': length 2 differs from length 3 of 'actual'; series are aligned by position and must have equal "
        "lengths")
    assert error_text(r2_oos, ok, ok, [1.0]) == (
        "'benchmark': length 1 differs from length 3 of 'actual'; series are aligned by position and must have equal "
        "lengths")
    assert error_text(r2_oos, [np.nan], [1.0], [1.0]) == (
        "'actual': 0 complete (non-NaN) observations, need at least 1")
    assert error_text(r2_oos, [], [], []) == "'actual': 0 complete (non-NaN) observations, need at least 1"
    assert error_text(r2_oos, ok, ok, ok) == (
        "'benchmark': the benchmark forecast is exact on every row; R²_OS is undefined")


def test_integer_arguments_reject_floats_and_small_values():
    y = [1.0, 2.0, 3.0]
    assert error_text(expanding_mean_benchmark, y, available_lag=1.5) == "'available_lag': must be an integer, got 1.5"
    assert error_text(expanding_mean_benchmark, y, available_lag=0) == "'available_lag': must be at least 1, got 0"
    assert error_text(expanding_mean_benchmark, y, min_periods=0) == "'min_periods': must be at least 1, got 0"
    assert error_text(expanding_mean_benchmark, pd.DataFrame({"a": y})) == (
        "'actual': expected a 1-D array or a Series, got a DataFrame")


def test_each_function_names_its_own_series():
    ok, short = [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0]
    tail = "; series are aligned by position and must have equal lengths"
    for fn in (clark_west, cumulative_sse_difference):
        assert error_text(fn, ok, short, ok) == "'forecast': length 3 differs from length 4 of 'actual'" + tail
        assert error_text(fn, ok, ok, short) == "'benchmark': length 3 differs from length 4 of 'actual'" + tail
    assert error_text(diebold_mariano, ok, short, ok, horizon=1) == (
        "'forecast_a': length 3 differs from length 4 of 'actual'" + tail)
    assert error_text(diebold_mariano, ok, ok, short, horizon=1) == (
        "'forecast_b': length 3 differs from length 4 of 'actual'" + tail)
    assert error_text(clark_west, ok, ok, ok, dist="x") == "'dist': must be 'normal' or 't', got 'x'"
    assert error_text(clark_west, ok, ok, ok, lags=-1) == "'lags': must be at least 0, got -1"
    assert error_text(diebold_mariano, ok, ok, ok, loss="x") == "'loss': must be 'squared' or 'absolute', got 'x'"
    assert error_text(diebold_mariano, ok, ok, ok, alternative="x") == (
        "'alternative': must be 'two-sided', 'less' or 'greater', got 'x'")
    assert error_text(diebold_mariano, ok, ok, ok, horizon=0) == "'horizon': must be at least 1, got 0"
    assert error_text(diebold_mariano, ok, [0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0], horizon=1) == (
        "'forecast_b': the loss differential has zero variance; the two forecasts are equally accurate on every row")
    assert error_text(cumulative_sse_difference, ok, ok, ok, index=[1, 2]) == (
        "'index': length 2 differs from length 4 of 'actual'")


# ----------------------------------------------------------------------------------------------------------------------
# point statistics at their smallest samples
# ----------------------------------------------------------------------------------------------------------------------


def test_r2_oos_on_one_row_with_unit_benchmark_sse():
    # SSE benchmark (1 - 0)^2 = 1, SSE model (1 - 0.5)^2 = 0.25
    assert r2_oos([1.0], [0.5], [0.0]) == 0.75


def test_expanding_mean_default_lag_is_one():
    np.testing.assert_array_equal(expanding_mean_benchmark([1.0, 2.0, 3.0]), [np.nan, 1.0, 1.5])


def test_clark_west_default_lags_are_twelve():
    y, f, b = series(40)
    t12, p12 = statsmodels_cw(y, f, b, 12)
    res = clark_west(y, f, b)
    assert res.stat == pytest.approx(t12, rel=1e-10)
    assert res.pvalue == pytest.approx(p12, rel=1e-8)


def test_clark_west_zero_lags_two_rows():
    # f_t = (y - b)^2 - (y - f)^2 + (b - f)^2 = [1 - 0 + 1, 4 - 1 + 1] = [2, 4]; mean 3, gamma_0 = 1, se = sqrt(1/2)
    res = clark_west([1.0, 2.0], [1.0, 1.0], [0.0, 0.0], lags=0)
    assert res.n == 2
    assert res.mspe_adj == 3.0
    assert res.stat == pytest.approx(3.0 / np.sqrt(0.5), rel=1e-14)
    assert res.pvalue == pytest.approx(stats.norm.sf(3.0 / np.sqrt(0.5)), rel=1e-12)


def test_clark_west_constant_nonzero_adjusted_loss_gives_nan():
    # f_t = 1 - 0 + 1 = 2 on every row: zero variance, so stat and p-value are NaN although the mean is 2
    res = clark_west([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0], lags=1)
    assert np.isnan(res.stat) and np.isnan(res.pvalue)
    assert res.mspe_adj == 2.0 and res.n == 3


def hand_dm(d, h):
    n = len(d)
    dc = d - d.mean()
    gamma = [sum(dc[t] * dc[t - k] for t in range(k, n)) / n for k in range(h)]
    lrv = gamma[0] + 2 * sum(gamma[1:])
    return d.mean() / np.sqrt(lrv / n) * np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)


def test_diebold_mariano_default_horizon_is_twelve():
    y, fa, fb = series(60, seed=11)
    d = (y - fa) ** 2 - (y - fb) ** 2
    expected = hand_dm(d, 12)
    res = diebold_mariano(y, fa, fb)
    assert res.stat == pytest.approx(expected, rel=1e-10)
    assert res.pvalue == pytest.approx(2 * stats.t.sf(abs(expected), 59), rel=1e-8)


def test_diebold_mariano_three_rows_horizon_one():
    # d = e_a^2 - e_b^2 = [1 - 0, 0 - 4, 4 - 1] = [1, -4, 3], mean 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", FallbackWarning)  # the rectangular variance is used: no warning
        res = diebold_mariano([0.0, 0.0, 0.0], [1.0, 0.0, 2.0], [0.0, 2.0, 1.0], horizon=1)
    assert res.n == 3 and res.mean_loss_diff == 0.0 and res.stat == 0.0 and res.pvalue == 1.0
    assert res.lrv == pytest.approx((1 + 16 + 9) / 3, rel=1e-14)


def test_diebold_mariano_rectangular_lrv_exactly_zero_falls_back_to_bartlett():
    # d = [0, 1, -1]: gamma_0 = 2/3, gamma_1 = -1/3, rectangular 2/3 - 2/3 = 0; Bartlett 2/3 - 1/3 = 1/3
    with pytest.warns(FallbackWarning, match="rectangular long-run variance with 1 lags is not positive"):
        res = diebold_mariano([0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], horizon=2)
    assert res.lrv_method == "bartlett_fallback"
    assert res.lrv == pytest.approx(1.0 / 3.0, rel=1e-14)


# ----------------------------------------------------------------------------------------------------------------------
# certainty-equivalent gain (no other test covers it)
# ----------------------------------------------------------------------------------------------------------------------


def cer(w, y, gamma):
    r = [wi * yi for wi, yi in zip(w, y, strict=True)]
    mean = sum(r) / len(r)
    var = sum((ri - mean) ** 2 for ri in r) / (len(r) - 1)
    return mean - 0.5 * gamma * var


Y = [0.10, -0.05, 0.02]
F = [0.05, 0.01, 0.03]
B = [0.02, 0.02, 0.02]
V = [0.01, 0.02, 0.01]


def test_certainty_equivalent_gain_hand_default_gamma():
    # gamma 5: w_f = f / (5 v) = [1, 0.1, 0.6], w_b = [0.4, 0.2, 0.4]
    expected = cer([1.0, 0.1, 0.6], Y, 5.0) - cer([0.4, 0.2, 0.4], Y, 5.0)
    assert certainty_equivalent_gain(Y, F, B, V) == pytest.approx(expected, rel=1e-12)


def test_certainty_equivalent_gain_bounds_and_gamma():
    # gamma 2: w_f = f / (2 v) = [2.5, 0.25, 1.5] clipped to [0, 1] -> [1, 0.25, 1]; w_b = [1, 0.5, 1]
    expected = cer([1.0, 0.25, 1.0], Y, 2.0) - cer([1.0, 0.5, 1.0], Y, 2.0)
    got = certainty_equivalent_gain(Y, F, B, V, gamma=2.0, weight_bounds=(0.0, 1.0))
    assert got == pytest.approx(expected, rel=1e-12)
    unbounded = cer([2.5, 0.25, 1.5], Y, 2.0) - cer([1.0, 0.5, 1.0], Y, 2.0)
    assert certainty_equivalent_gain(Y, F, B, V, gamma=2) == pytest.approx(unbounded, rel=1e-12)


def test_certainty_equivalent_gain_drops_nan_rows_and_accepts_two():
    y, f, b, v = Y + [np.nan], F + [1.0], B + [1.0], V + [1.0]
    assert certainty_equivalent_gain(y, f, b, v) == pytest.approx(certainty_equivalent_gain(Y, F, B, V), rel=1e-15)
    # two rows: w_f = [1, 0.1], w_b = [0.4, 0.2]
    expected = cer([1.0, 0.1], Y[:2], 5.0) - cer([0.4, 0.2], Y[:2], 5.0)
    assert certainty_equivalent_gain(Y[:2], F[:2], B[:2], V[:2]) == pytest.approx(expected, rel=1e-12)


def test_certainty_equivalent_gain_errors():
    assert error_text(certainty_equivalent_gain, Y, F, B, V, gamma="a") == (
        "'gamma': must be a positive number, got 'a'")
    assert error_text(certainty_equivalent_gain, Y, F, B, V, gamma=None) == (
        "'gamma': must be a positive number, got None")
    assert error_text(certainty_equivalent_gain, Y, F, B, V, gamma=0.0) == (
        "'gamma': must be a positive number, got 0.0")
    assert error_text(certainty_equivalent_gain, Y, F, B, V, gamma=np.nan) == (
        "'gamma': must be a positive number, got nan")
    assert error_text(certainty_equivalent_gain, Y, F, B, [0.01, 0.0, -1.0]) == (
        "'variance': variance must be positive; row 1 is 0.0")
    assert error_text(certainty_equivalent_gain, Y, F, B, V, weight_bounds=(1.0, 1.0)) == (
        "'weight_bounds': weight_bounds must be (low, high) with low < high, got (1.0, 1.0)")
    assert error_text(certainty_equivalent_gain, Y[:1], F[:1], B[:1], V[:1]) == (
        "'actual': 1 complete (non-NaN) observations, need at least 2")
    assert error_text(certainty_equivalent_gain, Y, F[:2], B, V) == (
        "'forecast': length 2 differs from length 3 of 'actual'; series are aligned by position and must have "
        "equal lengths")
    assert error_text(certainty_equivalent_gain, Y, F, B[:2], V).startswith("'benchmark': length 2")
    assert error_text(certainty_equivalent_gain, Y, F, B, V[:2]).startswith("'variance': length 2")


# ----------------------------------------------------------------------------------------------------------------------
# Goyal-Welch curve and plot
# ----------------------------------------------------------------------------------------------------------------------


def test_cumulative_sse_difference_lists_one_row_and_name():
    # (1 - 0)^2 - (1 - 0.5)^2 = 0.75 at position 0
    out = cumulative_sse_difference([1.0], [0.5], [0.0])
    assert out.name == "cumulative_sse_difference"
    assert list(out.index) == [0] and list(out) == [0.75]
    out = cumulative_sse_difference([np.nan, 1.0, 2.0], [0.0, 0.5, 2.0], [0.0, 0.0, 0.0])
    assert list(out.index) == [1, 2] and list(out) == [0.75, 0.75 + 4.0]


# ----------------------------------------------------------------------------------------------------------------------
# stars and table
# ----------------------------------------------------------------------------------------------------------------------


def test_significance_stars_none():
    assert significance_stars(None) == ""
    assert significance_stars(float("nan")) == ""


def test_r2oos_table_labels_lags_and_empty():
    y, f, b = series(30, seed=5)
    idx = pd.RangeIndex(30)
    cols = [2.0, 2.5, "ew", "abc"]
    actual = pd.DataFrame({c: y for c in cols}, index=idx)
    fc = pd.DataFrame({c: f for c in cols}, index=idx)
    bench = pd.DataFrame({c: b for c in cols}, index=idx)
    table = r2oos_table(actual, {"m": fc}, bench, lags=0)
    assert list(table["maturity"]) == ["2", "2.5", "EW", "abc"]
    _, p0 = statsmodels_cw(y, f, b, 0)
    np.testing.assert_allclose(table["cw_pvalue"], p0, rtol=1e-8)
    default = r2oos_table(actual, {"m": fc}, bench)
    _, p12 = statsmodels_cw(y, f, b, 12)
    np.testing.assert_allclose(default["cw_pvalue"], p12, rtol=1e-8)

    empty = r2oos_table(actual[[]], {"m": fc}, bench)
    assert list(empty.columns) == ["model", "maturity", "r2oos", "cw_pvalue"] and len(empty) == 0


def test_r2oos_table_errors_name_the_frame():
    idx = pd.RangeIndex(5)
    frame = pd.DataFrame({2: np.arange(5.0)}, index=idx)
    assert error_text(r2oos_table, [1.0], {"m": frame}, frame) == "'actual': expected a DataFrame"
    assert error_text(r2oos_table, frame, {"m": frame}, [1.0]) == "'benchmark': expected a DataFrame"
    assert error_text(r2oos_table, frame, {}, frame) == (
        "'forecasts': expected a non-empty mapping of model name -> DataFrame")
    assert error_text(r2oos_table, frame, {"m": [1.0]}, frame) == (
        "'forecasts': forecasts of model 'm' must be a DataFrame")
    dup = pd.DataFrame({2: [1.0, 2.0]}, index=[0, 0])
    assert error_text(r2oos_table, dup, {"m": frame}, frame) == "'actual': the index has duplicate dates; cannot align"
    assert error_text(r2oos_table, frame, {"m": frame}, dup) == (
        "'benchmark': the index has duplicate dates; cannot align")
    assert error_text(r2oos_table, frame, {"m": frame}, frame.rename(columns={2: 3})) == (
        "'benchmark': missing column(s) [2] present in 'actual'")
    assert error_text(r2oos_table, frame, {"m": frame}, frame.set_axis(range(5, 10))) == (
        "'actual': no dates in common between actual, benchmark and forecasts")


def test_certainty_equivalent_gain_boundaries():
    # gamma 0.5 is a valid risk aversion: w_f = f / (0.5 v) = [10, 1, 6], w_b = [4, 2, 4]
    expected = cer([10.0, 1.0, 6.0], Y, 0.5) - cer([4.0, 2.0, 4.0], Y, 0.5)
    assert certainty_equivalent_gain(Y, F, B, V, gamma=0.5) == pytest.approx(expected, rel=1e-12)
    # a zero variance is refused even when no variance is negative
    assert error_text(certainty_equivalent_gain, Y, F, B, [0.01, 0.0, 0.02]) == (
        "'variance': variance must be positive; row 1 is 0.0")
    # the lower bound binds: gamma 5, w_f = [1, 0.1, 0.6] -> [1, 0.5, 0.6]; w_b = [0.4, 0.2, 0.4] -> [0.5, 0.5, 0.5]
    expected = cer([1.0, 0.5, 0.6], Y, 5.0) - cer([0.5, 0.5, 0.5], Y, 5.0)
    assert certainty_equivalent_gain(Y, F, B, V, weight_bounds=(0.5, 1.0)) == pytest.approx(expected, rel=1e-12)


def test_text_series_is_an_input_error():
    text = error_text(r2_oos, pd.Series(["a", "b"]), [1.0, 2.0], [0.0, 0.0])
    assert text.startswith("'actual': could not convert to numbers (")
