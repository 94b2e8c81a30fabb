"""Tests written to kill surviving mutants of ``fixed_income/bond.py`` (``make mutate``, issue 20).

Every expected value is computed independently of the module: the street formula summed cash flow by cash flow
(with its analytic first and second yield derivatives), hand-counted cash flows, or QuantLib.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bondpremia.errors import InputError
from bondpremia.fixed_income import (
    accrued_interest,
    bond_analytics,
    check_bonds,
    price_from_yield,
    yield_from_price,
)


def direct(y, c, f, w, n, first=None):
    """Dirty price, Macaulay and modified duration and convexity of the street formula, term by term.

    Cash flows at ``t_k = w + k`` periods (``k = 0..n-1``), ``P = sum CF_k v**t_k`` with ``v = 1/(1 + y/f)``;
    ``dP/dy = -sum CF_k t_k/f v**(t_k+1)`` and ``d2P/dy2 = sum CF_k t_k (t_k+1)/f**2 v**(t_k+2)``.
    """
    v = 1.0 / (1.0 + y / f)
    t = w + np.arange(n, dtype=np.float64)
    cf = np.full(n, 100.0 * c / f)
    if first is not None:
        cf[0] = first
    cf[-1] += 100.0
    p = float(np.sum(cf * v**t))
    mac = float(np.sum(cf * t * v**t)) / (f * p)
    dp = -float(np.sum(cf * t / f * v ** (t + 1)))
    d2p = float(np.sum(cf * t * (t + 1) / f**2 * v ** (t + 2)))
    return p, mac, -dp / p, d2p / p


# -- the exact sums (|m x| small): zero and tiny yields ---------------------------------------------------------

@pytest.mark.parametrize("y", [0.0, 1e-9, -1e-7, 2e-4, 0.003, -0.004])
def test_analytics_at_tiny_yields_match_the_direct_sum(y):
    # 30/360 semiannual 6% bond settled on a coupon date: 20 more coupons, the first a full period away (w = 1)
    res = bond_analytics("2025-06-15", "2035-06-15", 0.06, yld=y)
    p, mac, mod, conv = direct(y, 0.06, 2, 1.0, 20)
    assert res.dirty_price == pytest.approx(p, rel=1e-14)
    assert res.clean_price == pytest.approx(p, rel=1e-14)  # no accrued interest on a coupon date
    assert res.macaulay_duration == pytest.approx(mac, rel=1e-13)
    assert res.modified_duration == pytest.approx(mod, rel=1e-13)
    assert res.convexity == pytest.approx(conv, rel=1e-12)
    assert res.dv01 == pytest.approx(mod * p * 1e-4, rel=1e-13)


def test_zero_yield_hand_computed():
    # at y = 0 the price is the sum of the cash flows: 20 coupons of 3 plus 100 = 160; the Macaulay duration is
    # sum(t * CF) / (f P) with t = 1..20 periods: (3 * 210 + 100 * 20) / (2 * 160) = 2630 / 320 years
    res = bond_analytics("2025-06-15", "2035-06-15", 0.06, yld=0.0)
    assert res.dirty_price == pytest.approx(160.0, rel=1e-15)
    assert res.macaulay_duration == pytest.approx(2630 / 320, rel=1e-14)
    assert res.modified_duration == pytest.approx(2630 / 320, rel=1e-14)
    # convexity sum(t (t+1) CF) / (f^2 P): sum t(t+1) for t = 1..20 is 20*21*22/3 = 3080
    assert res.convexity == pytest.approx((3 * 3080 + 100 * 20 * 21) / (4 * 160), rel=1e-14)
    assert yield_from_price(160.0, "2025-06-15", "2035-06-15", 0.06) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("y", [1e-5, 3e-4, 0.02])
def test_monthly_thirty_year_small_yield_mid_period(y):
    # monthly 30/360 bond, settle 10 days into a 30-day period: w = 20/30, 360 coupons to go (m = 359)
    settle, mat, c = "2025-01-25", "2055-01-15", 0.03
    res = bond_analytics(settle, mat, c, freq=12, yld=y)
    p, mac, mod, conv = direct(y, c, 12, 20 / 30, 360)
    assert res.accrued == pytest.approx(100 * c * 10 / 360, rel=1e-14)
    assert res.dirty_price == pytest.approx(p, rel=1e-13)
    assert res.macaulay_duration == pytest.approx(mac, rel=1e-12)
    assert res.modified_duration == pytest.approx(mod, rel=1e-12)
    assert res.convexity == pytest.approx(conv, rel=1e-11)
    assert price_from_yield(y, settle, mat, c, freq=12, dirty=True) == pytest.approx(p, rel=1e-13)


def test_exact_sums_in_several_chunks():
    # 12,000 monthly 30-year bonds at tiny yields: 12,000 x 360 cells of the exact sums, more than one chunk
    n = 12_000
    y = np.linspace(-1e-5, 1e-5, n)
    settle = np.full(n, np.datetime64("2025-01-15"))
    res = bond_analytics(settle, "2055-01-15", 0.03, freq=12, yld=y)
    v = 1.0 / (1.0 + y[:, None] / 12)
    t = np.arange(1, 361, dtype=np.float64)[None, :]  # settle on a coupon date: w = 1
    cf = np.full(360, 0.25)
    cf[-1] += 100.0
    p = (cf * v**t).sum(axis=1)
    conv = (cf * t * (t + 1) / 144 * v ** (t + 2)).sum(axis=1) / p
    mac = (cf * t * v**t).sum(axis=1) / (12 * p)
    np.testing.assert_allclose(res.dirty_price, p, rtol=1e-13)
    np.testing.assert_allclose(res.macaulay_duration, mac, rtol=1e-12)
    np.testing.assert_allclose(res.convexity, conv, rtol=1e-11)


def test_analytics_row_with_one_and_no_more_coupons():
    # 1 and 2 coupons left at several yields, including zero: m = 0 and m = 1 (exact single-term branches)
    settle = ["2025-01-15", "2025-01-15", "2025-03-01", "2025-03-01"]
    mat = ["2025-07-15", "2026-01-15", "2025-07-15", "2026-01-15"]
    for y in (0.0, 1e-6, 0.05):
        res = bond_analytics(settle, mat, 0.08, yld=y)
        # 30/360: 1 Mar is 46 days after 15 Jan, 134 days before 15 Jul -> w = 134/180
        for i, (w, n) in enumerate([(1.0, 1), (1.0, 2), (134 / 180, 1), (134 / 180, 2)]):
            p, mac, mod, conv = direct(y, 0.08, 2, w, n)
            assert res.dirty_price[i] == pytest.approx(p, rel=1e-14)
            assert res.macaulay_duration[i] == pytest.approx(mac, rel=1e-13)
            assert res.modified_duration[i] == pytest.approx(mod, rel=1e-13)
            assert res.convexity[i] == pytest.approx(conv, rel=1e-12)


def test_analytics_with_two_more_coupons_at_zero_yield():
    # three coupons left (m = 2) at y = 0: the closed forms are 0/0 there, only the exact sums are right
    res = bond_analytics("2025-01-15", "2026-07-15", 0.08, yld=0.0)
    assert res.dirty_price == pytest.approx(112.0, rel=1e-15)  # 3 coupons of 4 plus 100
    assert res.macaulay_duration == pytest.approx((4 * 1 + 4 * 2 + 104 * 3) / (2 * 112), rel=1e-14)
    assert res.convexity == pytest.approx((4 * 2 + 4 * 6 + 104 * 12) / (4 * 112), rel=1e-14)


def test_exact_sums_for_bonds_of_different_lengths():
    # one batch of the exact sums with 3 .. 40 coupons left: each row only sums its own cash flows
    mats = [f"{2026 + k}-07-15" for k in range(20)]
    for y in (0.0, 1e-4):
        res = bond_analytics("2025-01-15", mats, 0.05, yld=y)
        for k in range(20):
            p, mac, mod, conv = direct(y, 0.05, 2, 1.0, 3 + 2 * k)
            assert res.dirty_price[k] == pytest.approx(p, rel=1e-14)
            assert res.macaulay_duration[k] == pytest.approx(mac, rel=1e-13)
            assert res.convexity[k] == pytest.approx(conv, rel=1e-12)


def test_extreme_but_valid_yields_match_the_direct_sum():
    # yields above -freq are valid, however large or negative: -60% and 200% a year, semiannual
    for y in (-0.6, 2.0):
        res = bond_analytics("2025-06-15", "2035-06-15", 0.06, yld=y)
        p, mac, mod, conv = direct(y, 0.06, 2, 1.0, 20)
        assert res.valid
        assert res.dirty_price == pytest.approx(p, rel=1e-13)
        assert res.modified_duration == pytest.approx(mod, rel=1e-12)
        assert res.convexity == pytest.approx(conv, rel=1e-12)


# -- every routine passes dated, first_coupon, freq and eom through ---------------------------------------------

# 30/360 semiannual 8% to 15 Jun 2030, dated 1 Nov 2024, long first coupon 15 Jun 2025, settled 10 Jan 2025:
# accrued from the dated date = 2*30 + 9 = 69 days; first coupon 8 * 224/360 (1 Nov 2024 -> 15 Jun 2025);
# settlement sits in the quasi period 15 Dec 2024 -> 15 Jun 2025 with DSC = 5*30 + 5 = 155 days; 11 coupons to go
LONG = dict(dated="2024-11-01", first_coupon="2025-06-15")
LONG_ARGS = ("2025-01-10", "2030-06-15", 0.08)
LONG_ACC = 8.0 * 69 / 360


def long_dirty(y):
    return direct(y, 0.08, 2, 155 / 180, 11, first=8.0 * 224 / 360)


def test_long_first_coupon_in_every_routine():
    assert accrued_interest(*LONG_ARGS, **LONG) == pytest.approx(LONG_ACC, abs=1e-13)
    # without the first coupon date the first coupon is the short one of 15 Dec 2024 (25 days accrued)
    assert accrued_interest(*LONG_ARGS, dated="2024-11-01") == pytest.approx(8.0 * 25 / 360, abs=1e-13)
    p, mac, mod, conv = long_dirty(0.07)
    assert price_from_yield(0.07, *LONG_ARGS, dirty=True, **LONG) == pytest.approx(p, rel=1e-13)
    assert price_from_yield(0.07, *LONG_ARGS, **LONG) == pytest.approx(p - LONG_ACC, rel=1e-13)
    assert yield_from_price(p - LONG_ACC, *LONG_ARGS, **LONG) == pytest.approx(0.07, abs=1e-13)
    assert yield_from_price(p, *LONG_ARGS, dirty=True, **LONG) == pytest.approx(0.07, abs=1e-13)
    for res in (bond_analytics(*LONG_ARGS, yld=0.07, **LONG), bond_analytics(*LONG_ARGS, price=p - LONG_ACC, **LONG),
                bond_analytics(*LONG_ARGS, price=p, dirty=True, **LONG)):
        assert res.yld == pytest.approx(0.07, abs=1e-13)
        assert res.accrued == pytest.approx(LONG_ACC, abs=1e-13)
        assert res.dirty_price == pytest.approx(p, rel=1e-13)
        assert res.clean_price == pytest.approx(p - LONG_ACC, rel=1e-13)
        assert res.macaulay_duration == pytest.approx(mac, rel=1e-12)
        assert res.modified_duration == pytest.approx(mod, rel=1e-12)
        assert res.convexity == pytest.approx(conv, rel=1e-12)
        assert res.valid and res.reason == ""


def test_quarterly_bond_in_every_routine():
    # 30/360 quarterly 5% to 15 Jun 2030 settled 10 Apr 2025: previous coupon 15 Mar (25 days), DSC = 65 of 90,
    # 21 coupons to go (a semiannual bond would have accrued 115 days since 15 Dec)
    args, kw = ("2025-04-10", "2030-06-15", 0.05), dict(freq=4)
    acc = 5.0 * 25 / 360
    p, mac, mod, conv = direct(0.06, 0.05, 4, 65 / 90, 21)
    assert accrued_interest(*args, **kw) == pytest.approx(acc, abs=1e-13)
    assert price_from_yield(0.06, *args, **kw) == pytest.approx(p - acc, rel=1e-13)
    assert yield_from_price(p - acc, *args, **kw) == pytest.approx(0.06, abs=1e-13)
    res = bond_analytics(*args, price=p - acc, **kw)
    assert res.yld == pytest.approx(0.06, abs=1e-13)
    assert res.modified_duration == pytest.approx(mod, rel=1e-12)
    assert res.convexity == pytest.approx(conv, rel=1e-12)


@pytest.mark.parametrize("eom", [None, True, False])  # None: the default
def test_end_of_month_rule_in_every_routine(eom):
    # 30/360 6% to 28 Feb 2030 settled 30 Nov 2025. End-of-month rule (the default): coupons on 31 Aug and 28/29
    # Feb, 90 days accrued, w = 90/180; without it on the 28th: 92 days accrued, w = 88/180. 9 coupons to go.
    args = ("2025-11-30", "2030-02-28", 0.06)
    kw = {} if eom is None else dict(eom=eom)
    days, w = (92, 88 / 180) if eom is False else (90, 90 / 180)
    acc = 6.0 * days / 360
    p, mac, mod, conv = direct(0.07, 0.06, 2, w, 9)
    assert accrued_interest(*args, **kw) == pytest.approx(acc, abs=1e-13)
    assert price_from_yield(0.07, *args, **kw) == pytest.approx(p - acc, rel=1e-13)
    assert yield_from_price(p - acc, *args, **kw) == pytest.approx(0.07, abs=1e-13)
    res = bond_analytics(*args, yld=0.07, **kw)
    assert res.accrued == pytest.approx(acc, abs=1e-13)
    assert res.clean_price == pytest.approx(p - acc, rel=1e-13)
    assert res.convexity == pytest.approx(conv, rel=1e-12)
    # a first coupon on 31 Aug 2025 is on the end-of-month grid only
    valid, reason = check_bonds(*args, dated="2025-03-01", first_coupon="2025-08-31", **kw)
    assert bool(valid[0]) is (eom is not False)


def test_check_bonds_passes_every_argument():
    mat, c = "2030-06-15", 0.05
    ok, why = check_bonds("2025-04-10", mat, c)  # the default day count (30/360) is valid
    assert ok.tolist() == [True] and why.tolist() == [""]
    ok, why = check_bonds("2025-01-10", mat, c, dated="2025-02-01")
    assert not ok[0] and "before the dated date" in why[0]
    ok, why = check_bonds("2025-04-10", mat, c, dated="2024-11-01", first_coupon="2025-05-15")
    assert not ok[0] and "not on the schedule" in why[0]
    # 15 Mar is on the quarterly grid of a 15 Jun maturity, not on the semiannual one
    ok, why = check_bonds("2025-04-10", mat, c, freq=4, dated="2024-11-01", first_coupon="2025-03-15")
    assert ok[0] and why[0] == ""
    ok, why = check_bonds("2025-04-10", mat, c, freq=2, dated="2024-11-01", first_coupon="2025-03-15")
    assert not ok[0]


# -- yields and prices: validation, missing values, errors="raise" ----------------------------------------------

ARGS = ("2025-03-01", "2035-06-15", 0.05)  # 30/360: 360 - 9*30 - 14 = 76 days since 15 Dec, DSC 104, 21 coupons
ACC = 5.0 * 76 / 360


def test_clean_and_dirty_prices_and_the_yield_field():
    p, mac, mod, conv = direct(0.055, 0.05, 2, 104 / 180, 21)
    res = bond_analytics(*ARGS, price=p - ACC)
    assert res.yld == pytest.approx(0.055, abs=1e-14)
    assert res.clean_price == pytest.approx(p - ACC, rel=1e-14)
    assert res.dirty_price == pytest.approx(p, rel=1e-14)
    assert res.valid is True and res.reason == ""
    d = res.as_dict()
    assert list(d) == ["yield", "clean_price", "dirty_price", "accrued", "macaulay_duration", "modified_duration",
                       "convexity", "dv01"]
    assert [d[k] for k in d] == [res.yld, res.clean_price, res.dirty_price, res.accrued, res.macaulay_duration,
                                 res.modified_duration, res.convexity, res.dv01]
    bad = bond_analytics(*ARGS, price=-2.0)  # dirty price -2 + 76/72 < 0
    assert bad.valid is False and "zero or negative" in bad.reason


def test_missing_values_in_object_arrays_are_nan_rows():
    p = direct(0.055, 0.05, 2, 104 / 180, 21)[0]
    args = ([ARGS[0]] * 2,) + ARGS[1:]
    y = np.array([0.055, None], dtype=object)
    np.testing.assert_allclose(price_from_yield(y, *args, dirty=True), [p, np.nan], rtol=1e-14)
    np.testing.assert_allclose(bond_analytics(*args, yld=y).dirty_price, [p, np.nan], rtol=1e-14)
    px = np.array([p - ACC, None], dtype=object)
    np.testing.assert_allclose(yield_from_price(px, *args), [0.055, np.nan], atol=1e-14)
    np.testing.assert_allclose(bond_analytics(*args, price=px).yld, [0.055, np.nan], atol=1e-14)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf and -2 reach log1p and exp (rows flagged invalid)
@pytest.mark.parametrize("y", [float("nan"), float("inf"), -2.0, -3.0])
def test_invalid_yields(y):
    # 1 + y/2 must be positive: -2 (exactly zero) and -3 are invalid, like a missing or infinite yield
    assert np.isnan(price_from_yield(y, *ARGS))
    res = bond_analytics(*ARGS, yld=y)
    assert not res.valid and "yield" in res.reason and np.isnan(res.dirty_price) and np.isnan(res.yld)
    for call in (lambda: price_from_yield(y, *ARGS, errors="raise"),
                 lambda: bond_analytics(*ARGS, yld=y, errors="raise")):
        with pytest.raises(InputError) as err:
            call()
        assert err.value.column == "yield"


def test_zero_dirty_price_is_refused_as_a_price():
    with pytest.raises(InputError, match="zero or negative") as err:
        yield_from_price(0.0, *ARGS, dirty=True, errors="raise")
    assert err.value.column == "price"
    with pytest.raises(InputError, match="zero or negative"):
        bond_analytics(*ARGS, price=-ACC, errors="raise")  # clean = -accrued: dirty price 0
    res = bond_analytics(*ARGS, price=-ACC)
    assert "zero or negative" in res.reason


def test_unsolvable_price_raises_in_raise_mode():
    # one iteration is not enough: the row has no yield, and errors="raise" says so
    assert np.isnan(yield_from_price(90.0, *ARGS, max_iter=1))
    with pytest.raises(InputError, match="no finite yield") as err:
        yield_from_price(90.0, *ARGS, max_iter=1, errors="raise")
    assert err.value.column == "price"


def test_argument_errors():
    with pytest.raises(ValueError, match="^errors must be 'nan' or 'raise'$"):
        accrued_interest(*ARGS, errors="ignore")
    with pytest.raises(ValueError, match="^give exactly one of price and yld$"):
        bond_analytics(*ARGS)
    with pytest.raises(ValueError, match="^give exactly one of price and yld$"):
        bond_analytics(*ARGS, price=99.0, yld=0.05)


def test_no_floating_point_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # zero yield: the closed forms divide 0 by 0 and are replaced by the exact sums
        res = bond_analytics("2025-06-15", "2035-06-15", 0.06, yld=0.0)
        assert res.dirty_price == pytest.approx(160.0, rel=1e-15)
        # the textbook start is exactly y = 0 here and the first Newton residual is exactly 0
        assert yield_from_price(160.0, "2025-06-15", "2035-06-15", 0.06) == pytest.approx(0.0, abs=1e-15)
        # invalid yields, invalid rows and prices give NaN silently
        got = price_from_yield(np.array([-3.0, 0.05]), ["2025-06-15"] * 2, "2035-06-15", 0.06)
        assert np.isnan(got[0]) and np.isfinite(got[1])
        got = yield_from_price([100.0, 99.0, 99.0], ["2036-01-01", "2036-01-01", "2025-06-15"], "2035-06-15", 0.06)
        assert np.isnan(got[:2]).all() and np.isfinite(got[2])


# -- the solver: the textbook start, one Newton step, the safeguards --------------------------------------------

def one_newton_step(clean, c, f, w, n, acc):
    """The yield after one Newton step on log P(x) - log(target) from the textbook start (yield_from_price)."""
    years = (w + n - 1) / f
    y0 = (100 * c + (100 - clean) / years) / (0.5 * (100 + clean))  # (coupon + pull to par a year) / mean price
    y0 = min(max(y0, -0.5 * f), 2.0 * f)
    x0 = np.log1p(y0 / f)
    t = w + np.arange(n)
    cf = np.full(n, 100.0 * c / f)
    cf[-1] += 100.0
    price = np.sum(cf * np.exp(-t * x0))
    m1 = np.sum(t * cf * np.exp(-t * x0))  # -dP/dx
    h = np.log(price) - np.log(clean + acc)
    return f * np.expm1(x0 + h * price / m1)


@pytest.mark.parametrize(
    ("args", "clean", "c", "w", "n", "acc"),
    [
        (ARGS, 90.0, 0.05, 104 / 180, 21, ACC),  # ordinary discount bond between coupons
        (("2025-12-14", "2026-06-15", 0.10), 0.5, 0.10, 1 / 180, 2, 10.0 * 179 / 360),  # start clipped at 2 f
        (("2025-06-15", "2026-06-15", 0.01), 400.0, 0.01, 1.0, 2, 0.0),  # start clipped at -f / 2
    ],
)
def test_one_newton_step_from_the_textbook_start(args, clean, c, w, n, acc):
    assert accrued_interest(*args) == pytest.approx(acc, abs=1e-13)
    expected = one_newton_step(clean, c, 2, w, n, acc)
    got = yield_from_price(clean, *args, tol=10.0, max_iter=1)  # a loose tolerance stops after the first step
    assert got == pytest.approx(expected, rel=1e-12)
    assert abs(got - yield_from_price(clean, *args)) > 1e-9  # one step is not the answer yet


def test_one_newton_step_from_a_zero_start():
    # ACT/360 6% to 15 Jun 2035 settled 15 Aug 2025: 61 days accrued, 122 of 183 days to the next coupon, 20 coupons.
    # At the clean price 100 + 6 * years (years = (w + 19)/2) the textbook start is y = 0, where the derivative needs
    # the exact sums; the accrued interest (61/360 of the coupon) is not C (1 - w), so the first residual is not 0.
    args, kw = ("2025-08-15", "2035-06-15", 0.06), dict(daycount="ACT/360")
    w, acc = 122 / 183, 6.0 * 61 / 360
    assert accrued_interest(*args, **kw) == pytest.approx(acc, abs=1e-14)
    clean = 100 + 6 * (w + 19) / 2
    expected = one_newton_step(clean, 0.06, 2, w, 20, acc)
    assert yield_from_price(clean, *args, tol=10.0, max_iter=1, **kw) == pytest.approx(expected, rel=1e-10)


def test_solver_steps_out_of_an_overflow_and_an_underflow():
    from bondpremia.fixed_income.bond import _solve
    from bondpremia.fixed_income.schedule import bond_terms, position

    # the docstring: while the bracket is open on one side, a step that is not finite becomes a unit step
    p = position(bond_terms("2025-06-15", "2035-06-15", 0.06))  # w = 1, 20 cash flows
    target = np.array([100.0])
    with np.errstate(all="ignore"):
        # x = -63: the price overflows (h = +inf), so x moves up by 1; |step| = 1 = tol * (1 + 63) stops it
        assert _solve(p, target, np.array([-63.0]), 1 / 64, 1).tolist() == [-62.0]
        assert np.isnan(_solve(p, target, np.array([-63.0]), 1 / 64.5, 1)).all()  # not converged yet
        # x = 1023: the price underflows to 0 (h = -inf), so x moves down by 1
        assert _solve(p, target, np.array([1023.0]), 1 / 1024, 1).tolist() == [1022.0]
        # enough iterations reach the yield from both starts
        for x0 in (-63.0, 1023.0):  # unit steps until the price is finite and positive, then Newton
            x = _solve(p, target, np.array([x0]), 1e-15, 1100)
            assert 2 * np.expm1(x[0]) == pytest.approx(0.06, abs=1e-13)  # a 6% bond at par on a coupon date
