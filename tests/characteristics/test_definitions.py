"""Hand-computed checks of bondpremia.characteristics.definitions on small wide panels.

Every expected number is written out by hand (explicit arithmetic), not produced by the function's code path.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from bondpremia.characteristics import definitions as d
from bondpremia.errors import InputError

NAN = np.nan
DATES = pd.date_range("2020-01-31", periods=14, freq="ME")
IDS = ["a", "b", "c"]


def wide(values) -> pd.DataFrame:
    a = np.asarray(values, dtype=float)
    return pd.DataFrame(a, index=DATES[: a.shape[0]], columns=IDS[: a.shape[1]])


def assert_no_inf(x) -> None:
    a = np.asarray(x, dtype=float)
    assert not np.isinf(a).any()


def check(result, expected) -> None:
    """Same values (NaN where expected NaN) and no inf."""
    got = np.asarray(result, dtype=float)
    assert_no_inf(got)
    np.testing.assert_allclose(got, np.asarray(expected, dtype=float), rtol=1e-12, atol=1e-14, equal_nan=True)


# ---------------------------------------------------------------------------------------------------------------
# cleaning
# ---------------------------------------------------------------------------------------------------------------


def test_clean_sentinel_dataframe_and_array():
    x = wide([[1.5, -99.99, np.inf], [-np.inf, 2.0, -99.98]])
    out = d.clean_sentinel(x)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == IDS and out.index.equals(x.index)
    check(out, [[1.5, NAN, NAN], [NAN, 2.0, -99.98]])
    arr = d.clean_sentinel(np.array([[-99.99, 0.0]]))
    assert isinstance(arr, np.ndarray)
    check(arr, [[NAN, 0.0]])
    check(d.clean_sentinel(np.array([[-999.0, -99.99]]), sentinel=[-999.0]), [[NAN, -99.99]])


def test_coupon_and_duration_clean_sentinel():
    check(d.coupon(wide([[5.25, -99.99, 0.0]])), [[5.25, NAN, 0.0]])
    check(d.duration(np.array([[7.1, -99.99, np.inf]])), [[7.1, NAN, NAN]])


# ---------------------------------------------------------------------------------------------------------------
# dates
# ---------------------------------------------------------------------------------------------------------------


def test_age_years_series_broadcast():
    offering = pd.Series(pd.to_datetime(["2019-01-31", "2020-02-15", "2010-12-31"]), index=IDS)
    out = d.age_years(offering, DATES[:3])
    assert isinstance(out, pd.DataFrame) and list(out.columns) == IDS
    # 2019-01-31 -> 2020-01-31: 365 days (no Feb 29 in between); -> 2020-02-29: 394; -> 2020-03-31: 425
    # 2020-02-15 -> 2020-01-31: before issue (NaN); -> 2020-02-29: 14 days; -> 2020-03-31: 45 days
    # 2010-12-31 -> 2020-01-31: 9 years incl. leap days 2012, 2016 = 9*365 + 2 + 31 = 3318 days
    check(
        out,
        [
            [365 / 365.25, NAN, 3318 / 365.25],
            [394 / 365.25, 14 / 365.25, (3318 + 29) / 365.25],
            [425 / 365.25, 45 / 365.25, (3318 + 29 + 31) / 365.25],
        ],
    )


def test_age_years_wide_panel_uses_its_index():
    off = pd.DataFrame(
        [[pd.Timestamp("2020-01-01"), pd.NaT], [pd.Timestamp("2020-01-01"), pd.Timestamp("2020-02-01")]],
        index=DATES[:2],
        columns=["a", "b"],
    )
    check(d.age_years(off), [[30 / 365.25, NAN], [59 / 365.25, 28 / 365.25]])


def test_age_fraction_and_time_to_maturity():
    offering = np.array(["2020-01-31", "2019-03-31", "2020-03-31"], dtype="datetime64[ns]")
    maturity = np.array(["2020-03-31", "2020-02-29", "2020-03-31"], dtype="datetime64[ns]")
    out = d.age_fraction(offering, maturity, DATES[:3])
    assert isinstance(out, np.ndarray) and out.shape == (3, 3)
    # bond a: life 2020-01-31 -> 2020-03-31 = 60 days; elapsed 0, 29, 60 days
    # bond b: life 2019-03-31 -> 2020-02-29 = 335 days; elapsed 306, 335, then matured (NaN)
    # bond c: maturity == offering -> no positive life -> NaN
    check(out, [[0.0, 306 / 335, NAN], [29 / 60, 1.0, NAN], [1.0, NAN, NAN]])
    ttm = d.time_to_maturity(maturity, DATES[:3])
    check(ttm, [[60 / 365.25, 29 / 365.25, 60 / 365.25], [31 / 365.25, 0.0, 31 / 365.25], [0.0, NAN, 0.0]])


def test_dates_required_for_per_bond_input():
    with pytest.raises(InputError):
        d.age_years(pd.Series(pd.to_datetime(["2019-01-31"]), index=["a"]))


# ---------------------------------------------------------------------------------------------------------------
# size, spread, ratings
# ---------------------------------------------------------------------------------------------------------------


def test_face_value_log_and_raw():
    x = wide([[1e6, 0.0, -5.0], [NAN, 2.5e8, 1.0]])
    check(d.face_value(x), [[math.log(1e6), NAN, NAN], [NAN, math.log(2.5e8), 0.0]])
    check(d.face_value(x, log=False), [[1e6, 0.0, NAN], [NAN, 2.5e8, 1.0]])


def test_spread_units():
    check(d.spread(wide([[0.0123, 0.02, NAN]])), [[0.0123, 0.02, NAN]])
    check(d.spread(wide([[123.0, 200.0, -5.0]]), unit="bp"), [[0.0123, 0.02, -0.0005]])
    check(d.spread(wide([[1.23, 2.0, 0.5]]), unit="percent"), [[0.0123, 0.02, 0.005]])
    with pytest.raises(InputError):
        d.spread(wide([[1.0, 2.0, 3.0]]), unit="bps")


def test_rating_sp_fitch():
    sp = [
        ["AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-", "BB+"],
        ["BB", "BB-", "B+", "B", "B-", "CCC+", "CCC", "CCC-", "CC", "C", "D"],
    ]
    out = d.rating_numeric(np.array(sp, dtype=object))
    check(out, [list(range(1, 12)), list(range(12, 23))])


def test_rating_moodys_case_whitespace():
    m = [
        ["Aaa", "Aa1", "Aa2", "Aa3", "A1", "A2", "A3", "Baa1", "Baa2", "Baa3", "Ba1"],
        ["Ba2", "Ba3", "B1", "B2", "B3", "Caa1", "Caa2", "Caa3", "Ca", " c ", "baa2"],
    ]
    out = d.rating_numeric(pd.DataFrame(m))
    assert isinstance(out, pd.DataFrame)
    # Moody's C aligns with S&P C = 21 (no Moody's D); 'baa2' lower case = Baa2 = 9
    check(out, [list(range(1, 12)), list(range(12, 22)) + [9]])


def test_rating_ice_composite_and_missing():
    ice = [
        ["AAA", "AA1", "AA2", "AA3", "A1", "A2", "A3", "BBB1", "BBB2", "BBB3", "BB1"],
        ["BB2", "BB3", "B1", "B2", "B3", "CCC1", "CCC2", "CCC3", "CC", "C", "D"],
        ["  bbb3 ", "NR", "", "   ", None, NAN, "nr", "Bbb1", "a3", "WR", "cc"],
    ]
    out = d.rating_numeric(np.array(ice, dtype=object))
    check(
        out,
        [
            list(range(1, 12)),
            list(range(12, 23)),
            [10, NAN, NAN, NAN, NAN, NAN, NAN, 8, 7, NAN, 20],
        ],
    )


def test_rating_unknown_raises_listing_codes():
    with pytest.raises(InputError) as info:
        d.rating_numeric(np.array([["AAA", "XYZ"], ["BBB++", "A1"]], dtype=object))
    msg = str(info.value)
    assert "XYZ" in msg and "BBB++" in msg and "ratings" in msg


# ---------------------------------------------------------------------------------------------------------------
# distance to default
# ---------------------------------------------------------------------------------------------------------------


def test_distance_to_default_naive_bharath_shumway():
    E = wide([[100.0, 30.0, 0.0]])
    F = wide([[50.0, 120.0, 10.0]])
    sig_e = wide([[0.40, 0.80, 0.3]])
    mu = wide([[0.10, -0.20, 0.0]])
    out = d.distance_to_default(E, F, sig_e, mu)
    # bond a: V = 150, sigma_D = 0.05 + 0.25*0.4 = 0.15, sigma_V = 100/150*0.4 + 50/150*0.15 = 0.31666...
    sv_a = 100 / 150 * 0.40 + 50 / 150 * 0.15
    dd_a = (math.log(150 / 50) + (0.10 - 0.5 * sv_a**2) * 1.0) / (sv_a * 1.0)
    # bond b: V = 150, sigma_D = 0.05 + 0.2 = 0.25, sigma_V = 30/150*0.8 + 120/150*0.25 = 0.36
    sv_b = 30 / 150 * 0.80 + 120 / 150 * 0.25
    dd_b = (math.log(150 / 120) + (-0.20 - 0.5 * sv_b**2)) / sv_b
    assert sv_a == pytest.approx(0.3166666666666667) and sv_b == pytest.approx(0.36)
    check(out, [[dd_a, dd_b, NAN]])  # zero market cap -> NaN
    # the implied default probability N(-DD) round-trips through the PD form
    pd_a = norm.cdf(-dd_a)
    check(d.distance_to_default_from_pd(np.array([[pd_a]])), [[dd_a]])
    # horizon T = 2 years, scalar drift
    dd2 = (math.log(3.0) + (0.05 - 0.5 * sv_a**2) * 2.0) / (sv_a * math.sqrt(2.0))
    check(d.distance_to_default(np.array([[100.0]]), np.array([[50.0]]), np.array([[0.4]]), 0.05, horizon=2.0), [[dd2]])


def test_distance_to_default_bad_inputs_nan():
    out = d.distance_to_default(
        np.array([[100.0, 100.0, 100.0, -1.0]]),
        np.array([[0.0, -10.0, 50.0, 50.0]]),
        np.array([[0.4, 0.4, 0.0, 0.4]]),
        np.array([[0.1, 0.1, 0.1, 0.1]]),
    )
    check(out, [[NAN, NAN, NAN, NAN]])


def test_default_point():
    check(d.default_point(np.array([[10.0, 5.0]]), np.array([[40.0, -1.0]])), [[10.0 + 0.5 * 40.0, NAN]])


def test_distance_to_default_from_pd():
    p = wide([[0.05, 0.5, 0.0], [1.0, -0.1, 0.01]])
    # Phi^{-1}(0.95) = 1.6448536269514722, Phi^{-1}(0.99) = 2.3263478740408408
    check(d.distance_to_default_from_pd(p), [[1.6448536269514722, 0.0, NAN], [NAN, NAN, 2.3263478740408408]])
    check(d.distance_to_default_from_pd(np.array([[5.0]]), unit="percent"), [[1.6448536269514722]])
    assert norm.ppf(0.95) == pytest.approx(1.6448536269514722)


def test_spread_to_d2d():
    # KPP (2023) Table A.I: OAS / (1 - N(DD)) = OAS / N(-DD); N(-4) = 3.16712418331199e-05 and
    # N(-1.5)... here DD = -1.5 gives 1 - N(-1.5) = N(1.5) = 0.933192798731142 (erfc, 30 digits, mpmath)
    out = d.spread_to_d2d(wide([[0.02, 0.03, 0.01]]), wide([[4.0, 0.0, -1.5]]))
    check(out, [[0.02 / 3.16712418331199212e-05, 0.03 / 0.5, 0.01 / 0.933192798731141934]])
    # the plain ratio, the former definition, is a named option
    check(d.spread_to_d2d(wide([[0.02, 0.03, 0.01]]), wide([[4.0, 0.0, -1.5]]), kind="ratio"), [[0.005, NAN, NAN]])
    with pytest.raises(InputError):
        d.spread_to_d2d(wide([[0.02]]), wide([[1.0]]), kind="spread/dd")


# ---------------------------------------------------------------------------------------------------------------
# fundamentals
# ---------------------------------------------------------------------------------------------------------------


def test_book_to_price():
    be = wide([[50.0, -20.0, 10.0]])
    me = wide([[200.0, 100.0, 0.0]])
    check(d.book_to_price(be, me), [[0.25, -0.2, NAN]])
    check(d.book_to_price(be, me, negative="nan"), [[0.25, NAN, NAN]])
    check(d.book_to_price(price_to_book=wide([[4.0, 0.0, -5.0]])), [[0.25, NAN, -0.2]])
    with pytest.raises(InputError):
        d.book_to_price(be)


def test_debt_to_ebitda():
    check(d.debt_to_ebitda(wide([[300.0, 100.0, 50.0]]), wide([[100.0, 0.0, -20.0]])), [[3.0, NAN, NAN]])


def test_earnings_to_price():
    check(d.earnings_to_price(wide([[2.0, -1.0, 3.0]]), wide([[40.0, 20.0, 0.0]])), [[0.05, -0.05, NAN]])
    check(d.earnings_to_price(wide([[2.0, -1.0, 3.0]]), wide([[40.0, 20.0, -1.0]]), negative="nan"), [[0.05, NAN, NAN]])
    check(d.earnings_to_price(price_to_earnings=wide([[20.0, -20.0, 0.0]])), [[0.05, -0.05, NAN]])


def test_market_cap_and_total_debt():
    x = wide([[1000.0, 0.0, -3.0]])
    check(d.market_cap(x), [[math.log(1000.0), NAN, NAN]])
    check(d.market_cap(x, log=False), [[1000.0, NAN, NAN]])
    check(d.total_debt(x), [[math.log(1000.0), NAN, NAN]])
    check(d.total_debt(x, log=False), [[1000.0, 0.0, NAN]])


def test_gross_profitability():
    check(d.gross_profitability(wide([[30.0, 10.0, 5.0]]), wide([[100.0, 0.0, -1.0]])), [[0.3, NAN, NAN]])
    # ICE-style: margin 40% of revenue 50 over assets 200 = 20 / 200
    out = d.gross_profitability(gross_margin=wide([[40.0]]), revenue=wide([[50.0]]), total_assets=wide([[200.0]]))
    check(out, [[0.1]])
    out = d.gross_profitability(
        gross_margin=np.array([[0.4]]),
        revenue=np.array([[50.0]]),
        total_assets=np.array([[200.0]]),
        margin_unit="decimal",
    )
    check(out, [[0.1]])


def test_operating_leverage():
    # KPP (2023) Table A.I: (sales - EBITDA) / EBITDA; non-positive EBITDA -> NaN
    check(d.operating_leverage(np.array([[100.0, 50.0, 80.0, 30.0]]), np.array([[20.0, 50.0, 0.0, -5.0]])),
          [[4.0, 0.0, NAN, NAN]])


def test_operating_leverage_novy_marx():
    check(d.operating_leverage_novy_marx(wide([[80.0, 10.0, 5.0]]), wide([[100.0, 0.0, -2.0]])), [[0.8, NAN, NAN]])
    out = d.operating_leverage_novy_marx(np.array([[60.0, 60.0]]), np.array([[100.0, 100.0]]),
                                         sga=np.array([[20.0, NAN]]))
    check(out, [[(60.0 + 20.0) / 100.0, NAN]])


def test_sales_volatility_reads_every_third_month():
    # quarterly sales / assets 0.1, 0.3, 0.2, 0.6 repeated in the months of their quarter (12 months, one bond)
    ratio = np.repeat([0.1, 0.3, 0.2, 0.6], 3)
    sales, assets = ratio[:, None] * 1000.0, np.full((12, 1), 1000.0)
    out = np.asarray(d.sales_volatility(sales, assets, quarters=4, min_quarters=3))
    # row 11 reads rows 11, 8, 5, 2 = 0.6, 0.2, 0.3, 0.1: mean 0.3, sample variance (0.09+0.01+0+0.04)/3
    assert out[11, 0] == pytest.approx(np.sqrt(0.14 / 3), rel=1e-12)
    # row 8 reads 8, 5, 2 (row -1 does not exist) = 0.2, 0.3, 0.1: sd 0.1
    assert out[8, 0] == pytest.approx(0.1, rel=1e-12)
    assert np.isnan(out[5, 0])  # rows 5, 2: two quarters < min_quarters
    assets[8, 0] = 0.0  # a non-positive denominator drops that quarter: rows 11, 5, 2 remain
    out = np.asarray(d.sales_volatility(sales, assets, quarters=4, min_quarters=3))
    assert out[11, 0] == pytest.approx(np.std([0.6, 0.3, 0.1], ddof=1), rel=1e-12)
    with pytest.raises(InputError):
        d.sales_volatility(sales, assets, quarters=4, min_quarters=5)


def test_book_and_market_leverage():
    debt = wide([[50.0, 50.0, -1.0], [0.0, 50.0, 10.0]])
    be = wide([[150.0, -50.0, 10.0], [0.0, -10.0, 30.0]])
    # (0,1): 50 + (-50) = 0 -> NaN; (1,0): 0/0 -> NaN; (1,1): 50/40 = 1.25 (negative book equity kept)
    check(d.book_leverage(debt, be), [[0.25, NAN, NAN], [NAN, 1.25, 0.25]])
    me = wide([[150.0, 0.0, 10.0], [100.0, -10.0, 30.0]])
    check(d.market_leverage(debt, me), [[0.25, NAN, NAN], [0.0, NAN, 0.25]])


def test_profitability_change_5y_calendar_lag_and_gap():
    T = 64
    x = np.zeros((T, 2))
    x[:, 0] = 0.01 * np.arange(T)  # x_t = 0.01 t  ->  x_t - x_{t-60} = 0.60
    x[:, 1] = 0.2
    x[2, 1] = NAN  # gap at row 2: the change at row 62 must not bridge it
    x[30, 1] = NAN  # interior gap: only matters with require_all
    x[63, 1] = 0.5
    out = d.profitability_change_5y(x)
    exp = np.full((T, 2), NAN)
    exp[60:, 0] = 0.60
    exp[60:, 1] = [0.0, 0.0, NAN, 0.5 - 0.2]
    check(out, exp)
    strict = d.profitability_change_5y(x, require_all=True)
    exp_strict = exp.copy()
    exp_strict[60:, 1] = NAN  # every 61-month window of bond 1 contains row 30
    check(strict, exp_strict)


# ---------------------------------------------------------------------------------------------------------------
# momentum
# ---------------------------------------------------------------------------------------------------------------


def _returns() -> pd.DataFrame:
    r = np.zeros((14, 3))
    r[:, 0] = 0.01 * (np.arange(14) + 1)  # 0.01, 0.02, ..., 0.14
    r[:, 1] = 0.02
    r[8, 1] = NAN  # a missing month in bond b's history
    r[:, 2] = [0.1, -0.5, 0.2, 0.0, 0.05, -0.1, 0.3, NAN, NAN, NAN, NAN, NAN, NAN, -1.0]
    return wide(r)


def test_momentum_6_1_calendar_windows_and_gap():
    out = d.momentum(_returns(), months=6, skip=1)
    assert isinstance(out, pd.DataFrame) and out.index.equals(DATES)
    exp = np.full((14, 3), NAN)
    # bond a at t: returns of rows t-6..t-1 are 0.01*(t-5), ..., 0.01*t
    exp[6, 0] = 1.01 * 1.02 * 1.03 * 1.04 * 1.05 * 1.06 - 1
    exp[7, 0] = 1.02 * 1.03 * 1.04 * 1.05 * 1.06 * 1.07 - 1
    exp[13, 0] = 1.08 * 1.09 * 1.10 * 1.11 * 1.12 * 1.13 - 1
    for t in (8, 9, 10, 11, 12):
        exp[t, 0] = np.prod([1 + 0.01 * (s + 1) for s in range(t - 6, t)]) - 1
    # bond b: windows t-6..t-1 that contain row 8 (t = 9..13) are NaN, never compounding 5 months
    exp[6:9, 1] = 1.02**6 - 1
    # bond c: rows 0..5 -> 1.1 * 0.5 * 1.2 * 1.0 * 1.05 * 0.9 - 1; row 7 = 1..6; later windows hit the NaNs
    exp[6, 2] = 1.1 * 0.5 * 1.2 * 1.0 * 1.05 * 0.9 - 1
    exp[7, 2] = 0.5 * 1.2 * 1.0 * 1.05 * 0.9 * 1.3 - 1
    check(out, exp)
    # equity and bond momentum are the same computation
    check(d.bond_momentum(_returns()), exp)
    check(d.equity_momentum(_returns().to_numpy()), exp)


def test_momentum_other_windows():
    r = _returns()
    out = d.momentum(r, months=2, skip=0)  # rows t-2, t-1, t
    assert out.iloc[2, 0] == pytest.approx(1.01 * 1.02 * 1.03 - 1)
    assert np.isnan(out.iloc[9, 1]) and np.isnan(out.iloc[10, 1]) and out.iloc[11, 1] == pytest.approx(1.02**3 - 1)
    assert np.isnan(out.iloc[13, 2])  # rows 11, 12 are missing
    # a single lagged month: months=1, skip=1 -> r_{t-1}
    one = d.momentum(r, months=1, skip=1)
    check(one.iloc[:, 2], [NAN, 0.1, -0.5, 0.2, 0.0, 0.05, -0.1, 0.3, NAN, NAN, NAN, NAN, NAN, NAN])
    # a -100% return is allowed: the compounded return is -1
    check(d.momentum(np.array([[0.1], [-1.0], [0.2]]), months=1, skip=0), [[NAN], [1.1 * 0.0 - 1], [0.0 * 1.2 - 1]])
    with pytest.raises(InputError):
        d.momentum(r, months=3, skip=4)
    with pytest.raises(InputError):
        d.momentum(r, months=0)


def test_momentum_below_minus_one_is_nan():
    out = d.momentum(np.array([[0.1], [-1.5], [0.1], [0.2]]), months=1, skip=0)
    check(out, [[NAN], [NAN], [NAN], [1.1 * 1.2 - 1]])  # row 0 has no full window; rows 1-2 contain -150%


def test_rating_momentum_interaction():
    mom = wide([[0.05, -0.02, 0.03]])
    rat = wide([[12.0, 5.0, NAN]])
    check(d.rating_momentum_interaction(mom, rat), [[0.05 * 12, -0.02 * 5, NAN]])
    check(d.rating_momentum_interaction(mom, rat, scale="high_yield"), [[0.05, 0.0, NAN]])
    rat11 = wide([[11.0, 10.0, 22.0]])
    check(d.rating_momentum_interaction(mom, rat11, scale="high_yield"), [[0.05, 0.0, 0.03]])
    with pytest.raises(InputError):
        d.rating_momentum_interaction(mom, rat, scale="ig")


def test_log_spread_momentum():
    s = np.zeros((14, 3))
    s[:, 0] = 0.01 * (np.arange(14) + 1)  # spreads 0.01 .. 0.14
    s[:, 1] = 0.02
    s[4, 1] = NAN  # gap inside some windows
    s[:, 2] = 0.03
    s[1, 2] = 0.0  # non-positive spread: no log
    s[2, 2] = -0.01
    out = d.log_spread_momentum(wide(s), months=6, skip=1)
    exp = np.full((14, 3), NAN)
    # bond a at t: ln(s_{t-1}) - ln(s_{t-6}) = ln(0.01 t / (0.01 (t - 5)))
    for t in range(6, 14):
        exp[t, 0] = math.log(t / (t - 5))
    assert exp[6, 0] == pytest.approx(math.log(0.06) - math.log(0.01))
    # bond b: windows t-6..t-1 containing row 4 are t = 6..10 -> NaN; t >= 11 -> 0
    exp[11:, 1] = 0.0
    # bond c: windows containing rows 1 or 2 (t <= 8) -> NaN
    exp[9:, 2] = 0.0
    check(out, exp)
    loose = d.log_spread_momentum(wide(s), months=6, skip=1, require_all=False)
    exp_loose = exp.copy()
    exp_loose[[6, 7, 8, 9], 1] = 0.0  # endpoints rows (0,5),(1,6),(2,7),(3,8) all present; row 10 uses row 4
    exp_loose[6, 2] = 0.0  # endpoints rows 0 and 5
    check(loose, exp_loose)
    with pytest.raises(InputError):
        d.log_spread_momentum(wide(s), months=3, skip=3)


def test_industry_adjusted_momentum_equal_and_value_weighted():
    mom = pd.DataFrame(
        [[0.10, 0.02, 0.06, NAN], [0.01, 0.03, NAN, 0.05]],
        index=DATES[:2],
        columns=["a", "b", "c", "d"],
    )
    ind = pd.DataFrame([["x", "x", "y", "x"], ["x", "y", "y", None]], index=DATES[:2], columns=mom.columns)
    out = d.industry_adjusted_momentum(mom, ind)
    # month 0: industry x has a, b (d missing momentum): mean 0.06; y has c alone: 0
    # month 1: x has a alone -> 0; y has b (c missing momentum) -> 0; d has no industry -> NaN
    check(out, [[0.10 - 0.06, 0.02 - 0.06, 0.0, NAN], [0.0, 0.0, NAN, NAN]])
    w = pd.DataFrame([[3.0, 1.0, 2.0, 5.0], [1.0, 1.0, 1.0, 1.0]], index=DATES[:2], columns=mom.columns)
    vw = d.industry_adjusted_momentum(mom, ind, weights=w)
    mean_x = (3 * 0.10 + 1 * 0.02) / 4  # 0.08
    check(vw, [[0.10 - mean_x, 0.02 - mean_x, 0.0, NAN], [0.0, 0.0, NAN, NAN]])
    # static per-bond labels (Series) broadcast over months
    static = pd.Series(["x", "x", "y", "y"], index=mom.columns)
    out_s = d.industry_adjusted_momentum(mom, static)
    check(out_s, [[0.04, -0.04, 0.0, NAN], [0.01 - 0.02, 0.03 - 0.02, NAN, 0.0]])


def test_industry_adjusted_zero_weights_nan():
    mom = np.array([[0.1, 0.2]])
    out = d.industry_adjusted_momentum(mom, np.array(["x", "x"], dtype=object), weights=np.array([[0.0, -1.0]]))
    check(out, [[NAN, NAN]])


# ---------------------------------------------------------------------------------------------------------------
# input handling
# ---------------------------------------------------------------------------------------------------------------


def test_shape_and_label_mismatch_raise():
    with pytest.raises(InputError):
        d.debt_to_ebitda(np.ones((2, 3)), np.ones((3, 2)))
    a = wide([[1.0, 2.0, 3.0]])
    b = pd.DataFrame([[1.0, 2.0, 3.0]], index=DATES[:1], columns=["a", "b", "zz"])
    with pytest.raises(InputError) as info:
        d.debt_to_ebitda(a, b)
    assert "ebitda" in str(info.value)
    with pytest.raises(InputError):
        d.market_cap(pd.Series([1.0, 2.0]))
    with pytest.raises(InputError):
        d.market_cap(pd.DataFrame([["x", 1.0, 2.0]], index=DATES[:1], columns=IDS))


def test_columns_in_other_order_are_aligned():
    a = wide([[300.0, 100.0, 50.0]])
    b = wide([[100.0, 50.0, 25.0]])[["c", "a", "b"]]
    out = d.debt_to_ebitda(a, b)
    assert list(out.columns) == IDS
    check(out, [[3.0, 2.0, 2.0]])


def test_no_inf_anywhere_on_hostile_panel():
    hostile = np.array([[0.0, -0.0, 1e-300, -1e-300, NAN, 5.0]])
    zero = np.zeros_like(hostile)
    outs = [
        d.debt_to_ebitda(hostile, hostile),
        d.book_to_price(hostile, zero),
        d.book_to_price(price_to_book=hostile),
        d.earnings_to_price(price_to_earnings=hostile),
        d.earnings_to_price(hostile, hostile),
        d.market_cap(hostile),
        d.total_debt(hostile),
        d.face_value(hostile),
        d.spread_to_d2d(hostile, hostile),
        d.book_leverage(hostile, -hostile),
        d.market_leverage(hostile, zero),
        d.gross_profitability(hostile, hostile),
        d.distance_to_default_from_pd(hostile),
        d.log_spread_momentum(np.vstack([hostile] * 8), months=6, skip=1, require_all=False),
    ]
    for o in outs:
        assert_no_inf(o)
