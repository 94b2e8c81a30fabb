"""Out-of-sample evaluation: every statistic against an independent computation (hand loops, statsmodels, scipy)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from bondpremia.errors import FallbackWarning, InputError
from bondpremia.models.forecast.evaluation import (
    CWResult,
    DMResult,
    clark_west,
    cumulative_sse_difference,
    diebold_mariano,
    expanding_mean_benchmark,
    r2_oos,
    r2oos_table,
    significance_stars,
)


def simulate(n=240, seed=0, signal=0.5):
    """y = signal * x + noise; model forecast uses x, benchmark is a constant-ish historical mean."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    y = signal * x + rng.standard_normal(n)
    model = 0.8 * signal * x + 0.1 * rng.standard_normal(n)
    bench = 0.05 + 0.02 * rng.standard_normal(n)
    return y, model, bench


# ----------------------------------------------------------------------------------------------------------------------
# r2_oos
# ----------------------------------------------------------------------------------------------------------------------


def test_r2_oos_hand_example():
    y = [1.0, 2.0, 3.0, 4.0, 5.0]
    f = [1.5, 2.0, 2.5, 4.5, 4.0]
    b = [3.0, 3.0, 3.0, 3.0, 3.0]
    # SSE model = .25 + 0 + .25 + .25 + 1 = 1.75 ; SSE bench = 4 + 1 + 0 + 1 + 4 = 10
    assert r2_oos(y, f, b) == pytest.approx(1.0 - 1.75 / 10.0, abs=1e-15)


def test_r2_oos_drops_nan_rows_pairwise():
    y = [1.0, 2.0, np.nan, 3.0, 4.0, 5.0, 9.0]
    f = [1.5, 2.0, 0.0, 2.5, 4.5, 4.0, np.nan]
    b = pd.Series([3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0])
    assert r2_oos(y, f, b) == pytest.approx(1.0 - 1.75 / 10.0, abs=1e-15)


def test_r2_oos_perfect_and_benchmark_forecasts():
    y, _, b = simulate(50)
    assert r2_oos(y, y, b) == 1.0
    assert r2_oos(y, b, b) == 0.0


# ----------------------------------------------------------------------------------------------------------------------
# expanding_mean_benchmark
# ----------------------------------------------------------------------------------------------------------------------


def test_expanding_mean_lag1_hand():
    y = np.array([1.0, 3.0, 5.0, np.nan, 7.0])
    got = expanding_mean_benchmark(y, available_lag=1)
    # row 0: nothing; row 1: mean(1); row 2: mean(1,3); row 3: mean(1,3,5); row 4: mean(1,3,5) (NaN skipped)
    np.testing.assert_allclose(got, [np.nan, 1.0, 2.0, 3.0, 3.0], equal_nan=True)


def test_expanding_mean_lag12_hand():
    y = np.arange(1.0, 21.0)  # 1..20
    got = expanding_mean_benchmark(pd.Series(y), available_lag=12)
    assert isinstance(got, np.ndarray) and got.shape == (20,)
    assert np.isnan(got[:12]).all()
    # row 12 can use row 0 only; row 15 rows 0..3; row 19 rows 0..7
    assert got[12] == 1.0
    assert got[15] == pytest.approx(np.mean([1.0, 2.0, 3.0, 4.0]))
    assert got[19] == pytest.approx(np.mean(y[:8]))
    for t in range(12, 20):
        assert got[t] == pytest.approx(y[: t - 12 + 1].mean())


def test_expanding_mean_min_periods():
    y = np.arange(1.0, 8.0)
    got = expanding_mean_benchmark(y, available_lag=1, min_periods=3)
    np.testing.assert_allclose(got, [np.nan, np.nan, np.nan, 2.0, 2.5, 3.0, 3.5], equal_nan=True)


def test_expanding_mean_bad_lag():
    with pytest.raises(InputError, match="available_lag"):
        expanding_mean_benchmark([1.0, 2.0], available_lag=0)
    with pytest.raises(InputError, match="min_periods"):
        expanding_mean_benchmark([1.0, 2.0], min_periods=0)


# ----------------------------------------------------------------------------------------------------------------------
# clark_west
# ----------------------------------------------------------------------------------------------------------------------


def _cw_f(y, model, bench):
    return (y - bench) ** 2 - ((y - model) ** 2 - (bench - model) ** 2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clark_west_matches_statsmodels_hac(seed):
    y, model, bench = simulate(seed=seed, signal=0.2)
    f = _cw_f(y, model, bench)
    ones = np.ones_like(f)
    fit_n = sm.OLS(f, ones).fit(cov_type="HAC", cov_kwds={"maxlags": 12})
    fit_t = sm.OLS(f, ones).fit(cov_type="HAC", cov_kwds={"maxlags": 12}, use_t=True)
    t_sm = float(fit_n.tvalues[0])

    res = clark_west(y, model, bench, lags=12)
    assert isinstance(res, CWResult)
    assert res.n == len(y)
    assert res.mspe_adj == pytest.approx(f.mean(), rel=1e-12)
    assert res.stat == pytest.approx(t_sm, rel=1e-10)
    assert res.pvalue == pytest.approx(1.0 - stats.norm.cdf(t_sm), rel=1e-9)

    res_t = clark_west(y, model, bench, lags=12, dist="t")
    assert res_t.stat == pytest.approx(t_sm, rel=1e-10)
    assert res_t.pvalue == pytest.approx(stats.t.sf(t_sm, len(y) - 1), rel=1e-9)
    # statsmodels' two-sided p-values halve into the one-sided ones (on the correct side of zero)
    p_two_n, p_two_t = float(fit_n.pvalues[0]), float(fit_t.pvalues[0])
    expected_n = p_two_n / 2 if t_sm > 0 else 1 - p_two_n / 2
    expected_t = p_two_t / 2 if t_sm > 0 else 1 - p_two_t / 2
    assert res.pvalue == pytest.approx(expected_n, rel=1e-8)
    assert res_t.pvalue == pytest.approx(expected_t, rel=1e-8)
    assert res_t.pvalue > res.pvalue if t_sm > 0 else True


def test_clark_west_detects_real_signal():
    y, model, bench = simulate(n=480, seed=3, signal=0.6)
    res = clark_west(y, model, bench)
    assert res.stat > 3 and res.pvalue < 0.01


def test_clark_west_forecast_equal_to_benchmark_has_zero_adjusted_mspe():
    y, _, bench = simulate(seed=4)
    res = clark_west(y, bench, bench)
    assert res.mspe_adj == 0.0
    assert np.isnan(res.stat) and np.isnan(res.pvalue)


def test_clark_west_nan_rows_dropped():
    y, model, bench = simulate(seed=5)
    y2, model2 = y.copy(), model.copy()
    y2[[0, 7]] = np.nan
    model2[100] = np.nan
    keep = np.ones(len(y), dtype=bool)
    keep[[0, 7, 100]] = False
    full = clark_west(y[keep], model[keep], bench[keep])
    got = clark_west(y2, model2, bench)
    assert got.n == keep.sum()
    assert got.stat == pytest.approx(full.stat, rel=1e-12)


def test_clark_west_bad_inputs():
    y, model, bench = simulate(n=30)
    with pytest.raises(InputError, match="dist"):
        clark_west(y, model, bench, dist="cauchy")
    with pytest.raises(InputError, match="length"):
        clark_west(y, model[:-1], bench)
    with pytest.raises(InputError, match="at least 13"):
        clark_west(y[:12], model[:12], bench[:12], lags=12)
    with pytest.raises(InputError, match="lags"):
        clark_west(y, model, bench, lags=-1)


# ----------------------------------------------------------------------------------------------------------------------
# diebold_mariano
# ----------------------------------------------------------------------------------------------------------------------


def hand_autocov(d, max_lag):
    """Autocovariances with divisor n, by an explicit double loop."""
    n = len(d)
    dbar = sum(d) / n
    out = []
    for k in range(max_lag + 1):
        s = 0.0
        for t in range(k, n):
            s += (d[t] - dbar) * (d[t - k] - dbar)
        out.append(s / n)
    return out


def hand_lrv(d, h, kernel):
    gam = hand_autocov(d, h - 1)
    total = gam[0]
    for k in range(1, h):
        w = 1.0 if kernel == "rectangular" else 1.0 - k / h
        total += 2.0 * w * gam[k]
    return total


def hand_hln(d, h, lrv):
    n = len(d)
    dm = (sum(d) / n) / np.sqrt(lrv / n)
    return dm * np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)


@pytest.mark.parametrize("h", [1, 12])
@pytest.mark.parametrize("loss", ["squared", "absolute"])
def test_diebold_mariano_matches_hand_hln(h, loss):
    rng = np.random.default_rng(10 + h)
    n = 150
    y = rng.standard_normal(n)
    fa = 0.5 * y + rng.standard_normal(n)
    # MA(h-1) overlap in the second forecast's errors
    shocks = rng.standard_normal(n + h - 1)
    fb = y + 0.4 * np.convolve(shocks, np.ones(h), mode="valid") / np.sqrt(h) + 0.3
    ea, eb = y - fa, y - fb
    d = list(ea**2 - eb**2) if loss == "squared" else list(np.abs(ea) - np.abs(eb))
    lrv = hand_lrv(d, h, "rectangular")
    assert lrv > 0  # this draw uses the rectangular kernel
    stat = hand_hln(d, h, lrv)

    for alternative, p in [
        ("two-sided", 2 * (1 - stats.t.cdf(abs(stat), n - 1))),
        ("less", stats.t.cdf(stat, n - 1)),
        ("greater", 1 - stats.t.cdf(stat, n - 1)),
    ]:
        res = diebold_mariano(y, fa, fb, horizon=h, loss=loss, alternative=alternative)
        assert isinstance(res, DMResult)
        assert res.lrv_method == "rectangular"
        assert res.n == n
        assert res.lrv == pytest.approx(lrv, rel=1e-10)
        assert res.mean_loss_diff == pytest.approx(np.mean(d), rel=1e-12)
        assert res.stat == pytest.approx(stat, rel=1e-10)
        assert res.pvalue == pytest.approx(p, rel=1e-8, abs=1e-14)


def test_diebold_mariano_h1_equals_statsmodels_uniform_hac():
    """For h = 1 the long-run variance is gamma_0: the t-value of OLS on a constant with 0 HAC lags."""
    rng = np.random.default_rng(7)
    n = 80
    y, fa, fb = rng.standard_normal(n), rng.standard_normal(n), 0.3 * rng.standard_normal(n)
    d = (y - fa) ** 2 - (y - fb) ** 2
    fit = sm.OLS(d, np.ones(n)).fit(cov_type="HAC", cov_kwds={"maxlags": 0, "use_correction": False})
    res = diebold_mariano(y, fa, fb, horizon=1)
    hln = np.sqrt((n + 1 - 2 + 0) / n)
    assert res.stat == pytest.approx(float(fit.tvalues[0]) * hln, rel=1e-10)


def _negative_rectangular_case(h=12, n=120):
    """Search seeds for an MA(1) loss differential with a strongly negative coefficient whose rectangular LRV < 0."""
    for seed in range(50):
        rng = np.random.default_rng(seed)
        e = rng.standard_normal(n + 1)
        d = e[1:] - 0.95 * e[:-1] + 0.05
        if hand_lrv(list(d), h, "rectangular") < 0:
            # write d as a squared-loss differential: y = 0, fa^2 - fb^2 = d
            y = np.zeros(n)
            fa = np.sqrt(np.maximum(d, 0.0))
            fb = np.sqrt(np.maximum(-d, 0.0))
            return seed, y, fa, fb, d
    raise AssertionError("no seed with a negative rectangular long-run variance")


def test_diebold_mariano_bartlett_fallback():
    h = 12
    _, y, fa, fb, d = _negative_rectangular_case(h)
    n = len(d)
    np.testing.assert_allclose(fa**2 - fb**2, d, atol=1e-12)
    assert hand_lrv(list(d), h, "rectangular") < 0

    bartlett = hand_lrv(list(d), h, "bartlett")
    assert bartlett > 0
    # statsmodels: Bartlett weights 1 - k/(maxlags+1), autocovariances / n, no small-sample correction:
    # var(mean) = lrv / n
    fit = sm.OLS(d, np.ones(n)).fit(cov_type="HAC", cov_kwds={"maxlags": h - 1, "use_correction": False})
    assert float(fit.bse[0]) ** 2 * n == pytest.approx(bartlett, rel=1e-10)

    with pytest.warns(FallbackWarning, match="the Bartlett \\(Newey-West\\) one is used"):
        res = diebold_mariano(y, fa, fb, horizon=h, alternative="greater")
    assert res.lrv_method == "bartlett_fallback"
    assert res.lrv == pytest.approx(bartlett, rel=1e-10)
    stat = hand_hln(list(d), h, bartlett)
    assert res.stat == pytest.approx(stat, rel=1e-10)
    assert res.stat == pytest.approx(float(fit.tvalues[0]) * np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n), rel=1e-10)
    assert res.pvalue == pytest.approx(stats.t.sf(stat, n - 1), rel=1e-8)
    # statsmodels' own DM test (Bartlett kernel, h - 1 lags, HLN adjustment) agrees with the fallback
    from statsmodels.tsa.stattools import diebold_mariano_test

    sm_dm = diebold_mariano_test(y, fa, fb, lags=h - 1, harvey_adj=True, horizon=h)
    assert res.stat == pytest.approx(sm_dm.statistic, rel=1e-10)


def test_diebold_mariano_bad_inputs():
    rng = np.random.default_rng(0)
    y, fa, fb = rng.standard_normal((3, 40))
    with pytest.raises(InputError, match="alternative"):
        diebold_mariano(y, fa, fb, alternative="bigger")
    with pytest.raises(InputError, match="loss"):
        diebold_mariano(y, fa, fb, loss="huber")
    with pytest.raises(InputError, match="horizon"):
        diebold_mariano(y, fa, fb, horizon=0)
    with pytest.raises(InputError, match="length"):
        diebold_mariano(y, fa[:-1], fb)
    with pytest.raises(InputError, match="at least 13"):
        diebold_mariano(y[:12], fa[:12], fb[:12], horizon=12)
    with pytest.raises(InputError, match="zero variance"):
        diebold_mariano(y, fa, fa, horizon=1)
    with pytest.raises(InputError, match="infinite"):
        diebold_mariano(np.r_[y[:-1], np.inf], fa, fb)


# ----------------------------------------------------------------------------------------------------------------------
# cumulative SSE, plot, stars
# ----------------------------------------------------------------------------------------------------------------------


def test_cumulative_sse_difference_hand_and_index():
    dates = pd.date_range("2000-01-31", periods=5, freq="ME")
    y = pd.Series([1.0, 2.0, np.nan, 4.0, 5.0], index=dates)
    f = [1.5, 2.0, 2.5, 4.5, 4.0]
    b = [3.0, 3.0, 3.0, 3.0, 3.0]
    got = cumulative_sse_difference(y, f, b)
    # per-row (bench^2 - model^2): 4-.25, 1-0, [dropped], 1-.25, 4-1
    np.testing.assert_allclose(got.to_numpy(), np.cumsum([3.75, 1.0, 0.75, 3.0]))
    assert list(got.index) == [dates[0], dates[1], dates[3], dates[4]]
    # the end value is SSE_bench - SSE_model, consistent with r2_oos
    sse_b = 4 + 1 + 1 + 4
    assert got.iloc[-1] == pytest.approx(sse_b * r2_oos(y, f, b))
    got2 = cumulative_sse_difference(y.to_numpy(), f, b, index=list("abcde"))
    assert list(got2.index) == ["a", "b", "d", "e"]
    with pytest.raises(InputError, match="index"):
        cumulative_sse_difference(y, f, b, index=list("abc"))


def test_significance_stars():
    assert significance_stars(0.001) == "***"
    assert significance_stars(0.0099) == "***"
    assert significance_stars(0.01) == "**"
    assert significance_stars(0.049) == "**"
    assert significance_stars(0.05) == "*"
    assert significance_stars(0.0999) == "*"
    assert significance_stars(0.10) == ""
    assert significance_stars(0.5) == ""
    assert significance_stars(float("nan")) == ""


# ----------------------------------------------------------------------------------------------------------------------
# r2oos_table
# ----------------------------------------------------------------------------------------------------------------------


def _panel(n=120, seed=0):
    rng = np.random.default_rng(seed)
    dates = pd.date_range("1990-01-31", periods=n, freq="ME")
    cols = [2, 3, 4, 5, 7, 10, "ew"]
    x = rng.standard_normal(n)
    actual = pd.DataFrame({c: 0.4 * x + rng.standard_normal(n) for c in cols}, index=dates)
    bench = pd.DataFrame({c: np.full(n, 0.01) for c in cols}, index=dates)
    good = pd.DataFrame({c: 0.3 * x for c in cols}, index=dates)
    noise = pd.DataFrame({c: rng.standard_normal(n) for c in cols}, index=dates)
    return actual, bench, good, noise


def test_r2oos_table_shape_units_and_values():
    actual, bench, good, noise = _panel()
    table = r2oos_table(actual, {"good": good, "noise": noise}, bench, lags=12)
    assert list(table.columns) == ["model", "maturity", "r2oos", "cw_pvalue"]
    assert table.shape == (14, 4)
    assert list(table["maturity"].iloc[:7]) == ["2", "3", "4", "5", "7", "10", "EW"]
    assert list(table["model"].unique()) == ["good", "noise"]
    row = table[(table["model"] == "good") & (table["maturity"] == "EW")].iloc[0]
    # percent units: 100 x the decimal R2
    assert row["r2oos"] == pytest.approx(100 * r2_oos(actual["ew"], good["ew"], bench["ew"]), rel=1e-12)
    assert row["cw_pvalue"] == pytest.approx(clark_west(actual["ew"], good["ew"], bench["ew"], lags=12).pvalue)
    assert (table.loc[table["model"] == "good", "r2oos"] > 1.0).all()
    assert (table.loc[table["model"] == "noise", "r2oos"] < -50.0).all()


def test_r2oos_table_aligns_on_common_index_and_drops_nan():
    actual, bench, good, _ = _panel(seed=1)
    shifted = good.iloc[5:].copy()  # starts later
    shifted.iloc[0:3, 0] = np.nan  # NaN in the maturity-2 column only
    bench2 = bench.iloc[::-1]  # different order, same dates
    table = r2oos_table(actual, {"m": shifted}, bench2)
    idx = actual.index[8:]
    expected = 100 * r2_oos(actual.loc[idx, 2], good.loc[idx, 2], bench.loc[idx, 2])
    assert table.loc[table["maturity"] == "2", "r2oos"].iloc[0] == pytest.approx(expected, rel=1e-12)
    idx5 = actual.index[5:]
    expected3 = 100 * r2_oos(actual.loc[idx5, 3], good.loc[idx5, 3], bench.loc[idx5, 3])
    assert table.loc[table["maturity"] == "3", "r2oos"].iloc[0] == pytest.approx(expected3, rel=1e-12)


def test_r2oos_table_bad_inputs():
    actual, bench, good, _ = _panel()
    with pytest.raises(InputError, match="missing column"):
        r2oos_table(actual, {"m": good.drop(columns=["ew"])}, bench)
    with pytest.raises(InputError, match="no dates in common"):
        shifted = good.copy()
        shifted.index = shifted.index + pd.DateOffset(years=50)
        r2oos_table(actual, {"m": shifted}, bench)
    with pytest.raises(InputError, match="forecasts"):
        r2oos_table(actual, {}, bench)
