"""Hand-computed and closed-form checks of the bond routines, convergence stress and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from bondpremia.errors import InputError
from bondpremia.fixed_income import (
    accrued_interest,
    bond_analytics,
    check_bonds,
    coupons_paid,
    price_from_yield,
    yield_from_price,
)


def street_price(y, c, f, w, n_coupons, first=None):
    """Direct sum of the SIFMA street formula: first coupon after w periods, then regular ones."""
    v = 1.0 / (1.0 + y / f)
    amounts = [100 * c / f] * n_coupons
    if first is not None:
        amounts[0] = first
    pv = sum(a * v ** (w + k) for k, a in enumerate(amounts))
    return pv + 100 * v ** (w + n_coupons - 1)


# -- the worked example of the issue: a 30-year 4% semiannual Treasury -------------------------------------

def test_thirty_year_treasury_at_par_yields_coupon():
    y = yield_from_price(100.0, "2024-05-15", "2054-05-15", 0.04, freq=2, daycount="ACT/ACT")
    assert y == pytest.approx(0.04, abs=1e-13)


def test_thirty_year_treasury_at_95():
    y = yield_from_price(95.0, "2024-05-15", "2054-05-15", 0.04, freq=2, daycount="ACT/ACT")
    expected = brentq(lambda r: street_price(r, 0.04, 2, 1.0, 60) - 95.0, 0.0, 0.2, xtol=1e-15)
    assert y == pytest.approx(expected, abs=1e-12)
    assert y == pytest.approx(0.0429815645, abs=1e-10)  # value of the direct sum, see the README example


def test_mid_period_treasury_hand_computed():
    # settle 2024-08-20: previous coupon 2024-05-15, next 2024-11-15 (184 days); 97 days accrued, 87 to go
    settle, mat = "2024-08-20", "2054-05-15"
    acc = accrued_interest(settle, mat, 0.04, daycount="ACT/ACT")
    assert acc == pytest.approx(2.0 * 97 / 184, abs=1e-13)
    dirty = street_price(0.045, 0.04, 2, 87 / 184, 60)
    assert price_from_yield(0.045, settle, mat, 0.04, daycount="ACT/ACT", dirty=True) == pytest.approx(
        dirty, abs=1e-10)
    assert yield_from_price(dirty - acc, settle, mat, 0.04, daycount="ACT/ACT") == pytest.approx(0.045, abs=1e-13)


# -- 30/360 cases QuantLib's counters do not express (SIFMA: E = 360/f, DSC = E - A) ------------------------

def test_thirty_360_settle_on_31st():
    # coupon dates 15 Jan / 15 Jul; settle 31 Mar 2025: A = 30/360 days from 15 Jan = 2*30 + 16 = 76
    settle, mat, c = "2025-03-31", "2035-07-15", 0.05
    assert accrued_interest(settle, mat, c) == pytest.approx(5.0 * 76 / 360, abs=1e-13)
    w = (180 - 76) / 180
    dirty = street_price(0.06, c, 2, w, 21)  # Jul 2025 .. Jul 2035
    assert price_from_yield(0.06, settle, mat, c, dirty=True) == pytest.approx(dirty, abs=1e-10)


def test_thirty_360_end_of_month_february():
    # maturity 28 Feb 2030 with the end-of-month rule: coupons on 31 Aug and 28/29 Feb, each c/2
    settle, mat, c = "2025-11-30", "2030-02-28", 0.06
    # previous coupon 31 Aug 2025: D1 = 31 -> 30, D2 = 30: A = 3 * 30 = 90
    assert accrued_interest(settle, mat, c) == pytest.approx(6.0 * 90 / 360, abs=1e-13)
    dirty = street_price(0.07, c, 2, 0.5, 9)  # Feb 2026 .. Feb 2030
    assert price_from_yield(0.07, settle, mat, c, dirty=True) == pytest.approx(dirty, abs=1e-10)
    # without the end-of-month rule the coupons fall on the 28th: Aug 28 .. settle Nov 30 = 92 days
    assert accrued_interest(settle, mat, c, eom=False) == pytest.approx(6.0 * 92 / 360, abs=1e-13)


def test_odd_short_first_coupon_hand_computed():
    # dated 2025-03-01, first coupon 2025-06-15 (short), then semiannual to 2030-06-15; 30/360
    kw = dict(dated="2025-03-01")
    settle, mat, c = "2025-04-10", "2030-06-15", 0.08
    a = 1 * 30 + 9  # 1 Mar -> 10 Apr
    assert accrued_interest(settle, mat, c, **kw) == pytest.approx(8.0 * a / 360, abs=1e-13)
    first = 8.0 * (3 * 30 + 14) / 360  # 1 Mar -> 15 Jun = 104 days
    w = (180 - (3 * 30 + 25)) / 180  # quasi period 15 Dec -> 15 Jun; A = 15 Dec -> 10 Apr = 115
    dirty = street_price(0.07, c, 2, w, 11, first=first)
    assert price_from_yield(0.07, settle, mat, c, dirty=True, **kw) == pytest.approx(dirty, abs=1e-10)


def test_zero_coupon_bond_equivalent_yield():
    # 10-year zero, settle on a quasi-coupon date: 100 / (1 + y/2)^(2T)
    p = price_from_yield(0.05, "2024-05-15", "2034-05-15", 0.0, freq=0)
    assert p == pytest.approx(100 / 1.025**20, abs=1e-12)
    assert accrued_interest("2024-07-01", "2034-05-15", 0.0, freq=0) == 0.0
    assert yield_from_price(p, "2024-05-15", "2034-05-15", 0.0, freq=0) == pytest.approx(0.05, abs=1e-14)


def test_risk_measures_against_finite_differences():
    kw = dict(freq=2, daycount="30/360")
    args = ("2024-08-20", "2044-02-15", 0.055)
    res = bond_analytics(*args, yld=0.061, **kw)
    h = 1e-5
    up = price_from_yield(0.061 + h, *args, dirty=True, **kw)
    dn = price_from_yield(0.061 - h, *args, dirty=True, **kw)
    p0 = res.dirty_price
    assert res.modified_duration == pytest.approx(-(up - dn) / (2 * h) / p0, rel=1e-8)
    assert res.convexity == pytest.approx((up - 2 * p0 + dn) / h**2 / p0, rel=1e-4)
    assert res.macaulay_duration == pytest.approx(res.modified_duration * (1 + 0.061 / 2), rel=1e-14)
    assert res.dv01 == pytest.approx(res.modified_duration * p0 * 1e-4, rel=1e-14)


# -- the solver converges for every bond -------------------------------------------------------------------

def test_yield_solver_converges_for_extreme_bonds():
    rng = np.random.default_rng(7)
    n = 200_000
    settle = np.datetime64("2024-01-10") + rng.integers(0, 3000, n).astype("timedelta64[D]")
    kind = rng.integers(0, 4, n)
    # kind 0: 1..14 days to maturity; 1: deep discount; 2: premium; 3: ordinary
    days = np.where(kind == 0, rng.integers(1, 15, n), rng.integers(365, 40 * 365, n))
    maturity = settle + days.astype("timedelta64[D]")
    freq = rng.choice([0, 1, 2, 4, 12], n)
    coupon = np.where(freq == 0, 0.0, rng.uniform(0, 0.2, n))
    dc = rng.choice(["30/360", "30E/360", "ACT/ACT", "ACT/ACT ISDA", "ACT/360", "ACT/365"], n)
    price = np.select([kind == 0, kind == 1, kind == 2],
                      [rng.uniform(98, 101, n), rng.uniform(0.5, 30, n), rng.uniform(150, 400, n)],
                      rng.uniform(60, 140, n))
    kw = dict(freq=freq, daycount=dc)
    y = yield_from_price(price, settle, maturity, coupon, **kw)
    assert np.isfinite(y).all()
    back = price_from_yield(y, settle, maturity, coupon, **kw)
    acc = accrued_interest(settle, maturity, coupon, **kw)
    # the repricing error is bounded by rounding in the price, relative to the dirty price
    np.testing.assert_allclose(back, price, rtol=0, atol=1e-10 * (price + acc).max())
    assert np.abs(back - price).max() < 1e-9


# -- bad input ---------------------------------------------------------------------------------------------

def test_invalid_rows_give_nan_and_a_reason():
    settle = np.array(["2024-01-02", "2024-01-02", "2031-01-01", "NaT", "2024-01-02", "2024-01-02"],
                      dtype="datetime64[D]")
    price = np.array([99.0, -5.0, 99.0, 99.0, 99.0, np.nan])
    dc = np.array(["30/360", "30/360", "30/360", "30/360", "ACT/999", "30/360"])
    y = yield_from_price(price, settle, "2030-06-15", 0.05, daycount=dc)
    assert np.isfinite(y[0]) and np.isnan(y[1:]).all()
    valid, reason = check_bonds(settle, "2030-06-15", 0.05, daycount=dc)
    assert valid.tolist() == [True, True, False, False, False, True]
    assert "on or after maturity" in reason[2]
    assert "missing" in reason[3]
    assert "day count" in reason[4]
    res = bond_analytics(settle, "2030-06-15", 0.05, price=price, daycount=dc)
    assert res.valid.tolist() == [True, False, False, False, False, False]
    assert "price" in res.reason[1] and "price" in res.reason[5]


@pytest.mark.parametrize(
    ("kwargs", "column"),
    [
        (dict(price=-1.0), "price"),
        (dict(price=float("nan")), "price"),
        (dict(price=99.0, settle="2031-01-01"), "settle"),
        (dict(price=99.0, daycount="BUS/252"), "daycount"),
        (dict(price=99.0, coupon=float("nan")), "coupon"),
        (dict(price=99.0, freq=3), "freq"),
    ],
)
def test_raise_mode_names_the_argument(kwargs, column):
    args = dict(price=99.0, settle="2024-01-02", maturity="2030-06-15", coupon=0.05, daycount="30/360")
    args.update(kwargs)
    with pytest.raises(InputError) as err:
        yield_from_price(args.pop("price"), args.pop("settle"), args.pop("maturity"), args.pop("coupon"),
                         errors="raise", **args)
    assert err.value.column == column
    assert column in str(err.value)


def test_raise_mode_reports_the_row():
    with pytest.raises(InputError) as err:
        accrued_interest(["2024-01-02", "2024-01-02", "2040-01-01"], "2030-06-15", 0.05, errors="raise")
    assert err.value.row == 2


def test_scalar_in_scalar_out():
    assert isinstance(accrued_interest("2024-01-02", "2030-06-15", 0.05), float)


# -- coupon cash in a holding window -----------------------------------------------------------------------

def test_coupons_paid_in_windows():
    mat, c = "2030-06-15", 0.06
    # (2024-05-31, 2024-06-30] holds the 15 Jun coupon; (2024-06-30, 2024-07-31] none; a year holds two
    got = coupons_paid(["2024-05-31", "2024-06-30", "2024-01-01", "2030-05-31", "2024-06-15"],
                       ["2024-06-30", "2024-07-31", "2024-12-31", "2030-07-31", "2024-12-15"], mat, c)
    np.testing.assert_allclose(got, [3.0, 0.0, 6.0, 3.0, 3.0], atol=1e-14)
    # odd first coupon: dated 1 Mar 2025, first coupon 15 Jun 2025 pays 6 * 104/360 (30/360)
    got = coupons_paid("2025-05-31", "2025-06-30", mat, c, dated="2025-03-01")
    assert got == pytest.approx(6.0 * 104 / 360, abs=1e-13)
