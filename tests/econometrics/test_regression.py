"""Rolling regressions, Newey-West, alpha regressions and Fama-MacBeth against direct computations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bondpremia.econometrics.regression import alpha_regression, fama_macbeth, ols_hac, rolling_regression
from bondpremia.errors import InputError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def newey_west_se(y: np.ndarray, X: np.ndarray, lags: int) -> tuple[np.ndarray, np.ndarray]:
    """OLS and Newey-West (1987) standard errors written out: (X'X)^-1 S (X'X)^-1, Bartlett 1 - l/(L+1)."""
    beta = np.linalg.solve(X.T @ X, X.T @ y)
    u = (y - X @ beta)[:, None] * X
    S = u.T @ u
    for lag in range(1, lags + 1):
        g = u[lag:].T @ u[:-lag]
        S += (1 - lag / (lags + 1)) * (g + g.T)
    inv = np.linalg.inv(X.T @ X)
    return beta, np.sqrt(np.diag(inv @ S @ inv))


def ar_data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x1 = np.cumsum(rng.standard_normal(n)) * 0.1
    x2 = rng.standard_normal(n)
    e = np.convolve(rng.standard_normal(n + 2), [1, 0.6, 0.3], mode="valid")
    y = 0.5 + 1.5 * x1 - 0.7 * x2 + e
    idx = pd.date_range("1990-01-31", periods=n, freq="ME")
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2}, index=idx)


@pytest.mark.parametrize("expanding", [False, True])
def test_rolling_matches_per_window_lstsq(expanding):
    df = ar_data()
    w = 36
    res = rolling_regression("y ~ x1 + x2", df, window=None if expanding else w, expanding=expanding)
    X = np.column_stack([np.ones(len(df)), df["x1"], df["x2"]])
    for t in [3, 35, 36, 100, 299] if expanding else [35, 36, 100, 299]:
        lo = 0 if expanding else t - w + 1
        beta = np.linalg.lstsq(X[lo:t + 1], df["y"].to_numpy()[lo:t + 1], rcond=None)[0]
        np.testing.assert_allclose(res.params.iloc[t].to_numpy(), beta, atol=1e-10)
        if t + 1 < len(df):
            assert res.predicted.iloc[t + 1] == pytest.approx(X[t + 1] @ beta, abs=1e-10)
    if not expanding:
        assert res.params.iloc[:w - 1].isna().all().all()


def test_one_step_predictions_use_no_future_data():
    df = ar_data()
    base = rolling_regression("y ~ x1 + x2", df, window=36)
    shocked = df.copy()
    shocked.iloc[200:, 0] += 10.0
    moved = rolling_regression("y ~ x1 + x2", shocked, window=36)
    pd.testing.assert_series_equal(base.predicted.iloc[:201], moved.predicted.iloc[:201])
    assert not np.allclose(base.predicted.iloc[201:], moved.predicted.iloc[201:])


def test_hac_matches_written_out_newey_west():
    df = ar_data()
    X = np.column_stack([np.ones(len(df)), df["x1"], df["x2"]])
    beta, se = newey_west_se(df["y"].to_numpy(), X, 6)
    fit = ols_hac(df["y"], pd.DataFrame(X, index=df.index), lags=6)
    np.testing.assert_allclose(fit.params.to_numpy(), beta, rtol=1e-10)
    np.testing.assert_allclose(fit.bse.to_numpy(), se, rtol=1e-10)


def test_alpha_regression_against_direct_computation():
    rng = np.random.default_rng(2)
    n = 240
    idx = pd.date_range("2000-01-31", periods=n, freq="ME")
    factors = pd.DataFrame({"mkt": 0.005 + 0.04 * rng.standard_normal(n), "term": 0.02 * rng.standard_normal(n)},
                           index=idx)
    rf = pd.Series(0.002, index=idx)
    r = rf + 0.003 + 0.8 * factors["mkt"] + 0.3 * factors["term"] + 0.01 * rng.standard_normal(n)
    out = alpha_regression(r.rename("bond"), factors, rf=rf, lags=4)
    X = np.column_stack([np.ones(n), factors.to_numpy()])
    beta, se = newey_west_se((r - rf).to_numpy(), X, 4)
    col = out["bond"]
    assert col["alpha"] == pytest.approx(beta[0], rel=1e-10)
    assert col["alpha_ann"] == pytest.approx(12 * beta[0], rel=1e-10)
    assert col["t_alpha"] == pytest.approx(beta[0] / se[0], rel=1e-10)
    assert col["beta_mkt"] == pytest.approx(beta[1], rel=1e-10)
    assert col["t_term"] == pytest.approx(beta[2] / se[2], rel=1e-10)
    with pytest.raises(InputError, match="missing for dates"):
        alpha_regression(r, factors.iloc[:-3])


def test_fama_macbeth_against_per_date_regressions():
    rng = np.random.default_rng(4)
    n, t = 80, 60
    rows = []
    for d in range(t):
        x = rng.standard_normal((n, 2))
        ret = 0.01 + x @ np.array([0.02 + 0.01 * rng.standard_normal(), -0.01]) + 0.05 * rng.standard_normal(n)
        rows.append(pd.DataFrame({"id": np.arange(n), "date": d, "ret": ret, "a": x[:, 0], "b": x[:, 1]}))
    panel = pd.concat(rows, ignore_index=True)
    res = fama_macbeth(panel, "ret", ["a", "b"], lags=3)
    out = res.summary()
    slopes = []
    for _, g in panel.groupby("date"):
        X = np.column_stack([np.ones(len(g)), g[["a", "b"]].to_numpy()])
        slopes.append(np.linalg.lstsq(X, g["ret"].to_numpy(), rcond=None)[0])
    slopes = np.array(slopes)
    mean = slopes.mean(axis=0)
    # Newey-West variance of the mean of the slope series: Bartlett weights 1 - l/(L+1), autocovariances
    # normalized by T - 1 (linearmodels' degrees-of-freedom convention, stated in the docstring)
    dev = slopes - mean
    S = dev.T @ dev / (t - 1)
    for lag in range(1, 4):
        g = dev[lag:].T @ dev[:-lag] / (t - 1)
        S += (1 - lag / 4) * (g + g.T)
    se = np.sqrt(np.diag(S) / t)
    np.testing.assert_allclose(out["estimate"].to_numpy(), mean, rtol=1e-10)
    np.testing.assert_allclose(out["std_error"].to_numpy(), se, rtol=1e-8)
    # the result keeps linearmodels' and the slopes of every date
    np.testing.assert_allclose(res.to_frame().to_numpy(), slopes, rtol=1e-10)
    assert res.lags == 3 and res.result.params.index.tolist() == ["const", "a", "b"]
    assert repr(res) == "FamaMacBethResult(dates=60, observations=4800, regressors=['const', 'a', 'b'], lags=3)"


@pytest.mark.realdata
def test_taylor_rule_rolling_three_years_on_real_data():
    path = SHARED / "market" / "taylor_rule_monthly.csv"
    if not path.exists():
        pytest.skip("real data not available")
    df = pd.read_csv(path, parse_dates=["date"], index_col="date")
    df = df.loc["1990":"2019"].assign(infl_gap=lambda d: d["pce_infl_yoy"] - 2.0)
    res = rolling_regression("FEDFUNDS ~ CFNAI + infl_gap", df, window=36)
    sub = df.loc[:, ["FEDFUNDS", "CFNAI", "infl_gap"]].dropna()
    t = 100
    win = sub.iloc[t - 35:t + 1]
    X = np.column_stack([np.ones(36), win["CFNAI"], win["infl_gap"]])
    beta = np.linalg.lstsq(X, win["FEDFUNDS"].to_numpy(), rcond=None)[0]
    np.testing.assert_allclose(res.params.loc[sub.index[t]].to_numpy(), beta, atol=1e-10)
    x_next = np.array([1.0, sub["CFNAI"].iloc[t + 1], sub["infl_gap"].iloc[t + 1]])
    assert res.predicted.loc[sub.index[t + 1]] == pytest.approx(x_next @ beta, abs=1e-10)


def test_bad_formula_and_window():
    df = ar_data()
    with pytest.raises(InputError, match="formula"):
        rolling_regression("y ~ nothere", df, window=36)
    with pytest.raises(InputError, match="window"):
        rolling_regression("y ~ x1 + x2", df, window=3)


def _statsmodels_windows(df, windows, lags, cov):
    """statsmodels OLS run window by window: (end row, bse, tvalues) per window."""
    import statsmodels.api as sm

    X = sm.add_constant(df[["x1", "x2"]], prepend=True)
    out = []
    for lo, hi in windows:
        m = sm.OLS(df["y"].iloc[lo:hi + 1], X.iloc[lo:hi + 1])
        L = lags(hi - lo + 1) if callable(lags) else lags
        fit = m.fit(cov_type="HAC", cov_kwds={"maxlags": L}) if cov == "hac" else m.fit()
        out.append((hi, fit.bse.to_numpy(), fit.tvalues.to_numpy()))
    return out


@pytest.mark.parametrize(("cov", "lags"), [("hac", 4), ("hac", None), ("hac", 0), ("nonrobust", None)])
def test_rolling_standard_errors_match_statsmodels_window_by_window(cov, lags):
    from bondpremia.econometrics.regression import newey_west_lags

    df = ar_data()
    w = 36
    res = rolling_regression("y ~ x1 + x2", df, window=w, cov=cov, lags=lags)
    L = newey_west_lags if lags is None else lags
    ref = _statsmodels_windows(df, [(t - w + 1, t) for t in range(w - 1, len(df))], L, cov)
    assert len(ref) == len(df) - w + 1
    for t, bse, tval in ref:
        np.testing.assert_allclose(res.bse.iloc[t].to_numpy(), bse, rtol=1e-10, atol=0)
        np.testing.assert_allclose(res.tvalues.iloc[t].to_numpy(), tval, rtol=1e-10, atol=0)
    assert res.bse.iloc[:w - 1].isna().all().all() and res.cov == cov


def test_expanding_hac_with_per_window_lags_and_missing_rows():
    from bondpremia.econometrics.regression import newey_west_lags

    df = ar_data(n=150)
    df.iloc[[10, 40, 41, 90], 1] = np.nan  # dropped from the design: windows are complete rows
    res = rolling_regression("y ~ x1 + x2", df, expanding=True, cov="hac")
    clean = df.dropna()
    ref = _statsmodels_windows(clean, [(0, t) for t in range(3, len(clean))], newey_west_lags, "hac")
    for t, bse, tval in ref:
        np.testing.assert_allclose(res.bse.loc[clean.index[t]].to_numpy(), bse, rtol=1e-10, atol=0)
        np.testing.assert_allclose(res.tvalues.loc[clean.index[t]].to_numpy(), tval, rtol=1e-10, atol=0)
    assert res.bse.loc[clean.index[:3]].isna().all().all()
    # a fixed lag count against statsmodels on one long window
    fixed = rolling_regression("y ~ x1 + x2", df, expanding=True, cov="hac", lags=6)
    (_, bse6, _), = _statsmodels_windows(clean, [(0, len(clean) - 1)], 6, "hac")
    np.testing.assert_allclose(fixed.bse.iloc[-1].to_numpy(), bse6, rtol=1e-10, atol=0)


def test_rolling_cov_options_are_checked():
    df = ar_data()
    with pytest.raises(InputError, match="'cov'"):
        rolling_regression("y ~ x1 + x2", df, window=36, cov="hc3")
    with pytest.raises(InputError, match="'lags'"):
        rolling_regression("y ~ x1 + x2", df, window=36, cov="hac", lags=36)
    with pytest.raises(InputError, match="'lags'"):
        rolling_regression("y ~ x1 + x2", df, window=36, lags=3)


def test_bartlett_weights_by_hand():
    from bondpremia.econometrics import bartlett_weights

    np.testing.assert_allclose(bartlett_weights(np.arange(1, 4), 3), [0.75, 0.5, 0.25])
    # per-window bandwidths: lag 2 under L = 0, 1, 2, 3 -> 0 (beyond L), 0 (1 - 2/2), 1/3, 1/2
    np.testing.assert_allclose(bartlett_weights(2, np.array([0, 1, 2, 3])), [0.0, 0.0, 1 / 3, 0.5])
