"""Tests of bondpremia.fixed_income.curves, .nss and .bootstrap against independent computations.

* Forwards, log prices and excess returns: the Cochrane-Piazzesi GSW files (``cp_gsw_{p,f,rx}.csv``), whose
  ``rx`` rows are dated at the realization month ``t + 12``.
* Look-ahead contract: perturbing yields after ``t`` never moves forwards at ``<= t`` or realization-dated
  excess returns at ``<= t``, and moves purchase-dated excess returns only for purchases in ``(t - h, t]``.
* NSS: yields written out in the test from the Svensson formula; the real-data fit is checked against scipy's
  ``least_squares`` from many random starts (the global minimum) and against a 5 bp bound.
* Par bootstrap: closed-form par yields of a known zero curve, and QuantLib's ``PiecewiseLogLinearDiscount``
  built from semiannual par bonds.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bondpremia.errors import ConvergenceWarning, InputError
from bondpremia.fixed_income.bootstrap import par_to_zero
from bondpremia.fixed_income.curves import excess_returns, forward_rates, log_prices
from bondpremia.fixed_income.nss import NSS_PARAMS, fit_nss, nss_yields

DATA = Path(__file__).parents[2] / ".." / "shared" / "data"
CP = DATA / "treasury"
PAR_1990 = DATA / "market" / "ust_par_yield_curve_1990_2024.csv"


def _need(*paths: Path) -> None:
    missing = [p for p in paths if not p.is_file()]
    if missing:
        pytest.skip(f"real data not available: {missing[0]}")


# ----------------------------------------------------------------------------------------------------------
# Cochrane-Piazzesi GSW files
# ----------------------------------------------------------------------------------------------------------
def _read_cp(name: str) -> pd.DataFrame:
    """Plain csv read of a CP file: index = month-end dates, columns as in the file, floats."""
    with open(CP / name, newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    idx = pd.DatetimeIndex([pd.Period(r[0], freq="M").end_time.normalize() for r in body])
    return pd.DataFrame([[float(v) for v in r[1:]] for r in body], index=idx, columns=header[1:])


@pytest.fixture(scope="module")
def cp_data():
    _need(CP / "cp_gsw_p.csv", CP / "cp_gsw_f.csv", CP / "cp_gsw_rx.csv")
    p, f, rx = _read_cp("cp_gsw_p.csv"), _read_cp("cp_gsw_f.csv"), _read_cp("cp_gsw_rx.csv")
    # y(n) = -p(n)/n in the month-column layout (n = 1..15 years -> 12..180 months)
    yields = pd.DataFrame({12 * n: -p[f"p{n}"] / n for n in range(1, 16)}, index=p.index)
    return p, f, rx, yields


@pytest.mark.realdata
def test_log_prices_match_cp_file(cp_data):
    p, _, _, yields = cp_data
    lp = log_prices(yields, range(1, 16))
    assert list(lp.columns) == [float(n) for n in range(1, 16)]
    expected = p[[f"p{n}" for n in range(1, 16)]].to_numpy()
    np.testing.assert_allclose(lp.to_numpy(), expected, rtol=0, atol=1e-14)
    # default: every month column, labelled in years
    assert list(log_prices(yields).columns) == [float(n) for n in range(1, 16)]


@pytest.mark.realdata
def test_forward_rates_match_cp_file(cp_data):
    _, f, _, yields = cp_data
    fw = forward_rates(yields, range(1, 16))
    assert list(fw.columns) == list(range(1, 16))
    expected = f[[f"f{n}" for n in range(1, 16)]].to_numpy()
    np.testing.assert_allclose(fw.to_numpy(), expected, rtol=0, atol=1e-13)
    # default maturities (1,2,3,4,5,7,10): f(7) and f(10) are the forwards for the 7th and 10th year
    fd = forward_rates(yields)
    assert list(fd.columns) == [1, 2, 3, 4, 5, 7, 10]
    np.testing.assert_allclose(fd[7], f["f7"], rtol=0, atol=1e-13)
    np.testing.assert_allclose(fd[10], f["f10"], rtol=0, atol=1e-13)


@pytest.mark.realdata
def test_excess_returns_match_cp_file(cp_data):
    """The CP file dates rx_{t+1}(n) = p_{t+1}(n-1) - p_t(n) - y_t(1) at the realization month t + 12.

    It starts at 1972-12 although the first purchase in ``p`` (1971-11) is realized in 1972-11: the file
    omits that one month, so the comparison runs over the file's dates.
    """
    _, _, rx, yields = cp_data
    ns = list(range(2, 16))
    real = excess_returns(yields, ns, 12, date="realization")
    assert real.index.equals(yields.index)
    assert real.iloc[:12].isna().all().all()
    assert rx.index.isin(real.index).all()
    got = real.loc[rx.index, ns].to_numpy()
    np.testing.assert_allclose(got, rx[[f"rx{n}" for n in ns]].to_numpy(), rtol=0, atol=1e-13)
    # purchase dating: the same numbers, 12 months earlier
    buy = excess_returns(yields, ns, 12)
    shifted = rx.copy()
    shifted.index = pd.DatetimeIndex([(d.to_period("M") - 12).end_time.normalize() for d in rx.index])
    np.testing.assert_allclose(buy.loc[shifted.index, ns].to_numpy(), shifted.to_numpy(), rtol=0, atol=1e-13)
    assert buy.iloc[-12:].isna().all().all()
    # default maturities and the equal-weighted column
    dflt = excess_returns(yields, date="realization").loc[rx.index]
    assert list(dflt.columns) == [2, 3, 4, 5, 7, 10, "EW"]
    ew = rx[["rx2", "rx3", "rx4", "rx5", "rx7", "rx10"]].mean(axis=1)
    np.testing.assert_allclose(dflt["EW"], ew, rtol=0, atol=1e-13)


# ----------------------------------------------------------------------------------------------------------
# synthetic panels: other horizons, look-ahead, errors
# ----------------------------------------------------------------------------------------------------------
def _panel(n_months: int = 60, seed: int = 0, months=tuple(range(1, 121))) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.period_range("2000-01", periods=n_months, freq="M").to_timestamp(how="end").normalize()
    level = 0.04 + 0.002 * np.cumsum(rng.standard_normal(n_months))
    mats = np.asarray(months, dtype=float)
    y = level[:, None] + 0.01 * (1 - np.exp(-mats / 36.0))[None, :] + 0.0005 * rng.standard_normal(
        (n_months, mats.size))
    return pd.DataFrame(y, index=idx, columns=list(months))


@pytest.mark.parametrize("h", [1, 3, 12])
def test_excess_returns_other_horizons_against_date_lookup(h):
    yields = _panel()
    ns = [1.5, 2, 5]
    got = excess_returns(yields, ns, h)
    for t in yields.index:
        sell_date = (t.to_period("M") + h).end_time.normalize()
        for n in ns:
            nm = round(12 * n)
            if sell_date in yields.index:
                want = (-(nm - h) / 12 * yields.loc[sell_date, nm - h] + nm / 12 * yields.loc[t, nm]
                        - h / 12 * yields.loc[t, h])
                assert got.loc[t, n] == pytest.approx(want, abs=1e-15)
            else:
                assert np.isnan(got.loc[t, n])


@settings(max_examples=25, deadline=None)
@given(cut=st.integers(0, 58), h=st.sampled_from([1, 3, 6, 12]), seed=st.integers(0, 10**6))
def test_perturbing_the_future_leaves_the_past_alone(cut, h, seed):
    yields = _panel(n_months=60, months=tuple(range(1, 121)))
    rng = np.random.default_rng(seed)
    t0 = yields.index[cut]
    bumped = yields.copy()
    later = bumped.index > t0
    bumped.loc[later] = bumped.loc[later] + 0.01 * (1 + rng.random((int(later.sum()), bumped.shape[1])))

    f0, f1 = forward_rates(yields), forward_rates(bumped)
    assert f0.loc[~later].equals(f1.loc[~later])
    assert (f0.loc[later] != f1.loc[later]).all().all()

    ns = (2, 3, 5, 10)
    # realization dating: a row dated s uses yields up to s only
    r0 = excess_returns(yields, ns, h, date="realization")
    r1 = excess_returns(bumped, ns, h, date="realization")
    assert r0.loc[~later].equals(r1.loc[~later])
    defined = r0.notna().all(axis=1).to_numpy()
    assert (r0.loc[later & defined] != r1.loc[later & defined]).all().all()
    # purchase dating: row t is known at t + h, so purchases in (t0 - h, t0] move, earlier ones do not
    b0, b1 = excess_returns(yields, ns, h), excess_returns(bumped, ns, h)
    pos = np.arange(len(yields))
    safe = pos + h <= cut
    moved = (pos + h > cut) & (pos <= cut) & (pos + h < len(yields))
    assert b0.loc[safe].equals(b1.loc[safe])
    assert (b0.loc[moved] != b1.loc[moved]).all().all()


def test_excess_returns_needs_a_regular_monthly_index():
    yields = _panel(n_months=30, months=(12, 24, 36))
    with pytest.raises(InputError, match="2000-05"):
        excess_returns(yields.drop(yields.index[4]), (2, 3))
    dup = pd.concat([yields.iloc[:5], yields.iloc[[2]]])
    with pytest.raises(InputError, match="more than once"):
        excess_returns(dup, (2, 3))
    # two dates inside the same month are one month twice
    two = yields.iloc[:3].copy()
    two.index = pd.DatetimeIndex(["2000-01-15", "2000-01-31", "2000-02-29"])
    with pytest.raises(InputError, match="2000-01"):
        excess_returns(two, (2,))
    with pytest.raises(InputError, match="60 months"):
        excess_returns(yields, (2, 5))
    with pytest.raises(InputError):
        excess_returns(yields, (2,), date="forecast")
    with pytest.raises(InputError):
        excess_returns(yields.reset_index(drop=True), (2,))
    # unsorted input is sorted, period indexes work the same
    shuffled = yields.iloc[np.random.default_rng(1).permutation(len(yields))]
    pd.testing.assert_frame_equal(excess_returns(shuffled, (2, 3)), excess_returns(yields, (2, 3)))
    per = yields.copy()
    per.index = per.index.to_period("M")
    np.testing.assert_array_equal(excess_returns(per, (2, 3)).to_numpy(),
                                  excess_returns(yields, (2, 3)).to_numpy())


def test_forward_rates_errors():
    yields = _panel(n_months=3, months=(12, 24, 36, 60))
    with pytest.raises(InputError, match="48 months"):
        forward_rates(yields, (1, 5))
    with pytest.raises(InputError):
        forward_rates(yields, (0.5,))
    with pytest.raises(InputError, match="whole number of months"):
        forward_rates(yields, (1.01,))
    with pytest.raises(InputError):
        log_prices(yields.to_numpy())


# ----------------------------------------------------------------------------------------------------------
# Nelson-Siegel-Svensson
# ----------------------------------------------------------------------------------------------------------
NSS_M = np.array([1 / 12, 0.25, 0.5, 1, 2, 3, 4, 5, 7, 10, 15, 20, 25, 30])
NSS_TRUTH = np.array([  # beta0, beta1, beta2, beta3, tau1, tau2 (decimals, years)
    [0.045, -0.020, -0.010, 0.015, 1.5, 9.0],
    [0.055, -0.035, 0.020, -0.010, 0.8, 6.0],
    [0.030, 0.010, -0.020, 0.030, 2.5, 12.0],
    [0.060, -0.050, -0.030, 0.020, 1.0, 4.0],
    [0.040, 0.005, 0.030, -0.020, 3.0, 15.0],
    [0.070, -0.040, 0.010, 0.025, 0.5, 5.0],
    [0.020, -0.015, 0.040, 0.010, 2.0, 0.7],  # second hump shorter than the first
])


def _svensson(theta: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The Svensson (1994) zero-coupon yield, written out independently of the library."""
    out = np.empty((theta.shape[0], m.size))
    for i, (b0, b1, b2, b3, t1, t2) in enumerate(theta):
        for j, mj in enumerate(m):
            if mj == 0:
                out[i, j] = b0 + b1
                continue
            g1 = (1 - np.exp(-mj / t1)) / (mj / t1)
            g2 = (1 - np.exp(-mj / t2)) / (mj / t2)
            out[i, j] = b0 + b1 * g1 + b2 * (g1 - np.exp(-mj / t1)) + b3 * (g2 - np.exp(-mj / t2))
    return out


def test_nss_yields_formula_and_input_kinds():
    m = np.array([0.0, 1 / 12, 1, 7, 30])
    truth = _svensson(NSS_TRUTH, m)
    params = pd.DataFrame(NSS_TRUTH, columns=list(NSS_PARAMS), index=pd.RangeIndex(7, name="date"))
    got = nss_yields(params, m)
    np.testing.assert_allclose(got.to_numpy(), truth, rtol=0, atol=1e-15)
    assert got.index.equals(params.index)
    s = nss_yields(params.iloc[2], m)
    assert isinstance(s, pd.Series)
    np.testing.assert_allclose(s.to_numpy(), truth[2], rtol=0, atol=1e-15)
    np.testing.assert_allclose(nss_yields(NSS_TRUTH[3], m), truth[3], rtol=0, atol=1e-15)
    with pytest.raises(InputError, match="tau2"):
        nss_yields(params.drop(columns="tau2"), m)


def test_fit_nss_recovers_known_curves_with_missing_cells():
    y = _svensson(NSS_TRUTH, NSS_M)
    y[0, 4] = y[1, [2, 9]] = y[3, 7] = y[5, [3, 10, 12]] = np.nan
    idx = pd.date_range("2020-01-31", periods=len(y), freq="ME")
    frame = pd.DataFrame(y, index=idx, columns=NSS_M)
    fit = fit_nss(frame, NSS_M)
    assert fit.index.equals(idx)
    assert list(fit.columns[:6]) == list(NSS_PARAMS)
    np.testing.assert_array_equal(fit["nobs"], np.isfinite(y).sum(axis=1))
    # fitted curve = true curve at every maturity, the masked ones included
    dense = np.linspace(0.05, 30, 200)
    np.testing.assert_allclose(nss_yields(fit, dense).to_numpy(), _svensson(NSS_TRUTH, dense),
                               rtol=0, atol=1e-8)
    assert (fit["rmse"] < 1e-10).all()
    np.testing.assert_allclose(fit[["beta0", "beta1", "beta2", "beta3"]].to_numpy(), NSS_TRUTH[:, :4],
                               rtol=0, atol=1e-6)
    np.testing.assert_allclose(fit[["tau1", "tau2"]].to_numpy(), NSS_TRUTH[:, 4:], rtol=1e-4)


def test_fit_nss_rows_without_enough_data_and_arrays():
    y = _svensson(NSS_TRUTH[:2], NSS_M)
    y[1, 5:] = np.nan  # 5 observations < 6 parameters
    fit = fit_nss(y, NSS_M)
    assert isinstance(fit.index, pd.RangeIndex)
    assert fit.loc[1, list(NSS_PARAMS) + ["rmse"]].isna().all()
    assert fit.loc[1, "nobs"] == 5
    assert fit.loc[0, "rmse"] < 1e-10
    one = fit_nss(y[0], NSS_M)
    assert len(one) == 1 and one.loc[0, "rmse"] < 1e-10
    assert (fit_nss(y[:1], NSS_M, min_tau_ratio=2.0)[["tau1", "tau2"]].max(axis=1)
            / fit_nss(y[:1], NSS_M, min_tau_ratio=2.0)[["tau1", "tau2"]].min(axis=1) >= 2.0 - 1e-12).all()
    with pytest.raises(InputError):
        fit_nss(y, NSS_M[:-1])


def test_fit_nss_warns_when_dates_stop_at_max_iter():
    """Two iterations of the polish cannot settle the sum of squares of a noisy curve: the dates that stop there warn
    once, counted, and are flagged; the exact curves of the truth converge without a warning."""
    y = _svensson(NSS_TRUTH, NSS_M) + np.random.default_rng(0).normal(scale=5e-4, size=(len(NSS_TRUTH), len(NSS_M)))
    with pytest.warns(ConvergenceWarning) as record:
        fit = fit_nss(y, NSS_M, max_iter=2)
    stopped = int((~fit["converged"]).sum())
    assert stopped > 0 and len(record) == 1
    assert str(record[0].message).startswith(f"NSS: {stopped} of {len(NSS_TRUTH)} fitted dates stopped at max_iter=2")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert fit_nss(_svensson(NSS_TRUTH, NSS_M), NSS_M)["converged"].all()


@pytest.fixture(scope="module")
def par_month_ends():
    _need(PAR_1990)
    from bondpremia.data import load_treasury_par_curve

    par = load_treasury_par_curve(PAR_1990, drop_empty=True)
    return par.groupby(par.index.to_period("M")).tail(1)


@pytest.mark.realdata
def test_fit_nss_real_par_curve_within_5bp(par_month_ends):
    """Month-ends 2017-2021: an NSS curve fits the raw par yields within 5 bp RMSE on every date.

    (Not on every date of the file: in 1999-2001 and 2022-2023 the global NSS optimum misses the par curve by
    up to 10 bp, which is why this bound is checked on a calm sample.)
    """
    sample = par_month_ends.loc["2017":"2021"]
    fit = fit_nss(sample, sample.columns.to_numpy())
    assert len(fit) == 60
    assert fit["rmse"].notna().all()
    assert (fit["rmse"] < 5e-4).all()
    # rmse is what it says: recompute it from the parameters on the observed cells
    fitted = nss_yields(fit, sample.columns.to_numpy()).to_numpy()
    obs = sample.to_numpy()
    mask = np.isfinite(obs)
    rmse = np.sqrt(np.nansum(np.where(mask, fitted - obs, np.nan) ** 2, axis=1) / mask.sum(axis=1))
    np.testing.assert_allclose(fit["rmse"], rmse, rtol=1e-10)


@pytest.mark.realdata
@pytest.mark.parametrize("day", ["2019-12-31", "2022-06-30"])
def test_fit_nss_real_par_curve_is_the_global_least_squares_fit(par_month_ends, day):
    """scipy's least_squares from 40 random starts never beats the batched grid + LM fit."""
    from scipy.optimize import least_squares

    row = par_month_ends.loc[[pd.Timestamp(day)]].iloc[0]
    m_all = row.index.to_numpy(dtype=float)
    keep = row.notna().to_numpy()
    m, y = m_all[keep], row.to_numpy()[keep]
    ours = fit_nss(row.to_frame().T, m_all)

    def resid(q):
        return _svensson(np.r_[q[:4], np.exp(q[4:])][None, :], m)[0] - y

    rng = np.random.default_rng(7)
    best = np.inf
    lo, hi = np.log(0.02), np.log(60.0)
    for _ in range(40):
        q0 = np.r_[rng.uniform(0, 0.08), rng.uniform(-0.08, 0.08), rng.uniform(-0.1, 0.1, 2),
                   rng.uniform(np.log(0.05), np.log(30), 2)]
        sol = least_squares(resid, q0, bounds=([-np.inf] * 4 + [lo] * 2, [np.inf] * 4 + [hi] * 2))
        best = min(best, float(np.sqrt(np.mean(sol.fun**2))))
    assert ours["rmse"].iloc[0] <= best + 1e-9


# ----------------------------------------------------------------------------------------------------------
# par -> zero bootstrap
# ----------------------------------------------------------------------------------------------------------
GRID = 0.5 * np.arange(1, 61)
BILLS = np.array([1 / 12, 0.25])


def _exact_par(theta: np.ndarray):
    """Par yields at bills + the semiannual grid implied by NSS zero curves, and the true discount factors."""
    nodes = np.r_[BILLS, GRID]
    z = _svensson(theta, nodes)
    d = np.exp(-z * nodes)
    par = np.empty_like(d)
    par[:, :2] = 2 * (d[:, :2] ** (-1 / (2 * BILLS)) - 1)  # zero-coupon, semiannual compounding
    dg = d[:, 2:]
    par[:, 2:] = 2 * (1 - dg) / np.cumsum(dg, axis=1)  # c_n = 2 (1 - D_n) / sum_{k<=n} D_k
    return nodes, par, d, z


def test_par_to_zero_round_trip():
    nodes, par, d, z = _exact_par(NSS_TRUTH[:4])
    frame = pd.DataFrame(par, index=pd.date_range("2021-01-04", periods=4), columns=nodes)
    out = par_to_zero(frame)
    assert list(out.zero.columns) == list(nodes)
    np.testing.assert_allclose(out.discount.to_numpy(), d, rtol=0, atol=1e-12)
    np.testing.assert_allclose(out.zero.to_numpy(), z, rtol=0, atol=1e-12)
    semi = par_to_zero(frame, [0.25, 2.0, 30.0], compounding="semiannual").zero
    idx = [1, 2 + 3, 2 + 59]
    expected = 2 * (d[:, idx] ** (-1 / (2 * nodes[idx])) - 1)
    np.testing.assert_allclose(semi.to_numpy(), expected, rtol=0, atol=1e-12)
    # off-grid maturities interpolate log-linearly in the discount factor
    mid = par_to_zero(frame, [0.75]).discount.to_numpy()[:, 0]
    np.testing.assert_allclose(mid, np.sqrt(d[:, 2] * d[:, 3]), rtol=1e-14)


def test_par_to_zero_missing_nodes():
    nodes, par, _, _ = _exact_par(NSS_TRUTH[:1])
    cols = [1 / 12, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0]
    base = pd.DataFrame(par[:, [int(np.argmin(np.abs(nodes - c))) for c in cols]], columns=cols)
    rows = pd.concat([base] * 5, ignore_index=True)
    rows.loc[1, 3.0] = np.nan  # interior gap
    rows.loc[2, [1 / 12, 0.25]] = np.nan  # short end missing: flat from the 6-month yield
    rows.loc[3, 30.0] = np.nan  # long end missing: no extrapolation
    rows.loc[4, cols[1:]] = np.nan  # a single node: NaN row
    out = par_to_zero(rows, [1 / 12, 0.25, 2.0, 3.0, 5.0, 10.0, 30.0])
    filled = base.copy()
    filled[3.0] = base[2.0] + (base[5.0] - base[2.0]) / 3.0  # linear interpolation done by hand
    pd.testing.assert_frame_equal(out.discount.iloc[[1]].reset_index(drop=True),
                                  par_to_zero(filled, [1 / 12, 0.25, 2.0, 3.0, 5.0, 10.0, 30.0]).discount)
    c6 = base.loc[0, 0.5]
    bills = np.array([1 / 12, 0.25])
    np.testing.assert_allclose(out.discount.loc[2, list(bills)], (1 + c6 / 2) ** (-2 * bills), rtol=1e-15)
    np.testing.assert_allclose(out.discount.loc[2, 2.0:], out.discount.loc[0, 2.0:], rtol=1e-15)
    assert np.isnan(out.discount.loc[3, 30.0]) and np.isfinite(out.discount.loc[3, 10.0])
    assert out.discount.loc[4].isna().all() and out.zero.loc[4].isna().all()


def _quantlib_discounts(par_grid: np.ndarray) -> np.ndarray:
    """Discount factors at 0.5, 1.0, ... from QuantLib par-bond helpers.

    Conventions chosen so each coupon period is exactly half a year: NullCalendar, Unadjusted, 30/360 (Bond
    Basis) for coupons and curve times, settlement on the evaluation date (no accrued), clean price 100.
    """
    ql = pytest.importorskip("QuantLib")
    today = ql.Date(15, 1, 2020)
    ql.Settings.instance().evaluationDate = today
    dc, cal = ql.Thirty360(ql.Thirty360.BondBasis), ql.NullCalendar()
    helpers, dates = [], []
    for k, c in enumerate(par_grid, start=1):
        maturity = cal.advance(today, ql.Period(6 * k, ql.Months))
        schedule = ql.Schedule(today, maturity, ql.Period(ql.Semiannual), cal, ql.Unadjusted, ql.Unadjusted,
                               ql.DateGeneration.Backward, False)
        helpers.append(ql.FixedRateBondHelper(ql.QuoteHandle(ql.SimpleQuote(100.0)), 0, 100.0, schedule,
                                              [float(c)], dc, ql.Unadjusted, 100.0, today))
        dates.append(maturity)
    curve = ql.PiecewiseLogLinearDiscount(today, helpers, dc)
    assert [dc.yearFraction(today, d) for d in dates] == list(GRID[: len(dates)])
    return np.array([curve.discount(d) for d in dates])


def test_par_to_zero_matches_quantlib_synthetic():
    par = 0.03 + 0.015 * (1 - np.exp(-GRID / 3)) + 0.002 * np.sin(GRID)
    ours = par_to_zero(pd.DataFrame([par], columns=GRID), GRID).discount.to_numpy()[0]
    np.testing.assert_allclose(ours, _quantlib_discounts(par), rtol=0, atol=1e-12)


@pytest.mark.realdata
def test_par_to_zero_matches_quantlib_on_real_date():
    _need(PAR_1990)
    from bondpremia.data import load_treasury_par_curve

    row = load_treasury_par_curve(PAR_1990).loc[["2019-12-31"]]
    valid = row.iloc[0].dropna()
    grid_par = np.interp(GRID, valid.index.to_numpy(dtype=float), valid.to_numpy())  # flat below 1 Mo
    ours = par_to_zero(row, GRID).discount.to_numpy()[0]
    np.testing.assert_allclose(ours, _quantlib_discounts(grid_par), rtol=0, atol=1e-10)
    bills = par_to_zero(row, [1 / 12, 0.25]).discount.to_numpy()[0]
    c = row.iloc[0][[1 / 12, 0.25]].to_numpy()
    np.testing.assert_allclose(bills, (1 + c / 2) ** (-2 * np.array([1 / 12, 0.25])), rtol=1e-15)
