"""Coupon schedules of fixed-rate bonds, vectorized over bonds.

A schedule is generated backward from maturity in steps of ``12 / freq`` months (SIFMA and ICMA practice;
QuantLib's ``DateGeneration.Backward``): the regular coupon dates are ``g_k = maturity - k * 12/freq months``,
``k = 0, 1, 2, ...``, with the day clamped to the month's length or, under the end-of-month rule (a maturity
on the last day of a month and ``eom=True``), always the last day of the month. The dates before the first
coupon are *quasi-coupon dates* that define the reference periods of an odd first coupon.

The bond's first period runs from the dated date to the first coupon date. When the first coupon date is
not given it is the first grid date after the dated date (a short first coupon when the dated date is off
the grid); when it is given it must be a grid date, and the first period may be short or long. Without a
dated date the bond is treated as seasoned: every period is regular.

Zero-coupon bonds (``freq = 0``) get a semiannual quasi-coupon grid, which is what street-convention
yields of zeros and STRIPS are measured on.

All routines take row-aligned arrays and never loop over bonds. Invalid rows (see :data:`REASONS`) get
``NaT``/``NaN`` results, never an exception, so one bad bond in ten million does not stop a pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bondpremia.errors import InputError
from bondpremia.fixed_income.dates import (
    DateArray,
    as_dates,
    day_of_month,
    days_in_month,
    from_month_day,
    is_month_end,
    month_index,
)
from bondpremia.fixed_income.daycount import DayCount, daycount_codes, days_30_360, year_fraction_isda

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Reason codes of invalid rows (0 = valid). The same codes are used by every bond routine.
REASONS: dict[int, tuple[str, str]] = {
    1: ("settle", "settlement date is missing"),
    2: ("maturity", "maturity date is missing"),
    3: ("settle", "settlement date is on or after maturity"),
    4: ("freq", "coupon frequency must be 0 (zero coupon), 1, 2, 4 or 12"),
    5: ("coupon", "coupon rate is missing, infinite or negative"),
    6: ("coupon", "a zero-coupon bond (freq 0) must have coupon 0"),
    7: ("daycount", "unknown day count"),
    8: ("dated", "dated date is on or after maturity"),
    9: ("settle", "settlement date is before the dated date"),
    10: ("first_coupon", "first coupon date is not after the dated date or is after maturity"),
    11: ("first_coupon", "first coupon date is not on the schedule generated backward from maturity"),
    12: ("price", "price is missing, infinite, zero or negative"),
    13: ("yield", "yield is missing, infinite, or not above -freq (1 + y/freq must be positive)"),
    14: ("price", "no finite yield reproduces this price within the iteration budget"),
}

_VALID_FREQ = np.array([0, 1, 2, 4, 12])


def _broadcast_dates(value: Any, n: int) -> DateArray:
    d = as_dates(value).ravel()
    return np.broadcast_to(d, (n,)) if d.size == 1 else d


def _broadcast(value: Any, n: int, dtype: Any) -> np.ndarray:
    a = np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, dtype=dtype).ravel()
    return np.broadcast_to(a, (n,)) if a.size == 1 else a


@dataclass(frozen=True)
class BondTerms:
    """Row-aligned, validated terms of fixed-rate bonds (one row per bond and settlement date).

    Built by :func:`bond_terms`; every bond routine accepts the same keyword arguments and builds one.
    ``reason`` holds a code of :data:`REASONS` (0 where the row is valid).
    """

    settle: DateArray
    maturity: DateArray
    coupon: FloatArray  # annual rate, decimal
    freq: IntArray  # coupon frequency, 0 for zero coupon
    fq: IntArray  # frequency of the (quasi-)coupon grid and of yield compounding
    daycount: npt.NDArray[np.int8]
    dated: DateArray
    first_coupon: DateArray
    eom: BoolArray
    reason: npt.NDArray[np.int16]
    scalar: bool

    @property
    def n(self) -> int:
        return int(self.settle.shape[0])

    @property
    def valid(self) -> BoolArray:
        return self.reason == 0

    def reasons(self) -> npt.NDArray[np.object_]:
        """Human-readable reason per row ('' where valid)."""
        table = np.array([""] + [REASONS[k][1] for k in sorted(REASONS)], dtype=object)
        return table[self.reason]

    def raise_first(self) -> None:
        """Raise :class:`InputError` naming the argument and row of the first invalid row."""
        bad = np.flatnonzero(self.reason)
        if bad.size:
            row = int(bad[0])
            arg, msg = REASONS[int(self.reason[row])]
            raise InputError(msg, column=arg, row=None if self.scalar else row)

    def flag(self, mask: BoolArray, code: int) -> BondTerms:
        """Return terms with ``code`` set on rows in ``mask`` that are still valid."""
        reason = self.reason.copy()
        reason[(reason == 0) & mask] = code
        return BondTerms(**{**self.__dict__, "reason": reason})


def bond_terms(
    settle: Any,
    maturity: Any,
    coupon: Any,
    *,
    freq: Any = 2,
    daycount: Any = "30/360",
    dated: Any = None,
    first_coupon: Any = None,
    eom: Any = True,
) -> BondTerms:
    """Broadcast and validate bond terms. ``coupon`` is the annual rate in decimals (0.04 for 4%)."""
    inputs = [settle, maturity, coupon, freq, daycount, dated, first_coupon, eom]
    scalar = all(np.ndim(v.to_numpy() if hasattr(v, "to_numpy") else v) == 0 for v in inputs)
    sizes = {np.size(v) for v in inputs if v is not None and np.ndim(v) > 0}
    sizes.discard(1)
    if len(sizes) > 1:
        raise InputError(f"arguments have different lengths {sorted(sizes)}; pass scalars or equal-length arrays")
    n = sizes.pop() if sizes else 1

    s = _broadcast_dates(settle, n)
    m = _broadcast_dates(maturity, n)
    c = _broadcast(coupon, n, np.float64)
    f = _broadcast(freq, n, np.float64)
    dt = _broadcast_dates(dated, n)
    fc = _broadcast_dates(first_coupon, n)
    e = _broadcast(eom, n, bool)

    dc_raw = np.atleast_1d(np.asarray(daycount.to_numpy() if hasattr(daycount, "to_numpy") else daycount))
    if dc_raw.dtype.kind in "iu":
        codes = dc_raw.astype(np.int16)
        codes = np.where((codes >= 0) & (codes <= 5), codes, -1)
    else:
        uniq, inv = np.unique(dc_raw.astype(str), return_inverse=True)
        lut = np.empty(len(uniq), dtype=np.int16)
        for i, u in enumerate(uniq):
            try:
                lut[i] = int(daycount_codes([u])[0])
            except InputError:
                lut[i] = -1
        codes = lut[inv]
    codes = np.broadcast_to(codes, (n,)) if codes.size == 1 else codes

    reason = np.zeros(n, dtype=np.int16)

    def flag(mask: BoolArray, code: int) -> None:
        reason[(reason == 0) & mask] = code

    flag(np.isnat(s), 1)
    flag(np.isnat(m), 2)
    flag(~np.isnat(s) & ~np.isnat(m) & (s >= m), 3)
    fint = np.where(np.isfinite(f), f, -1).astype(np.int64)
    flag(~np.isin(fint, _VALID_FREQ) | (fint != f), 4)
    flag(~np.isfinite(c) | (c < 0), 5)
    flag((fint == 0) & (c != 0), 6)
    flag(codes < 0, 7)
    has_dt = ~np.isnat(dt)
    flag(has_dt & (dt >= m), 8)
    flag(has_dt & (s < dt), 9)
    has_fc = ~np.isnat(fc)
    flag(has_fc & ((fc > m) | (has_dt & (fc <= dt))), 10)

    fint = np.where(reason == 0, fint, 2)
    fq = np.where(fint == 0, 2, fint)
    terms = BondTerms(
        settle=s,
        maturity=m,
        coupon=c,
        freq=fint,
        fq=fq,
        daycount=np.where(codes < 0, 0, codes).astype(np.int8),
        dated=dt,
        first_coupon=fc,
        eom=e,
        reason=reason,
        scalar=scalar,
    )
    # first coupon must be a grid date
    if has_fc.any():
        g = _Grid(terms)
        fc_safe = np.where(has_fc & terms.valid, fc, g.maturity)
        k = np.maximum((g.mat_mi - month_index(fc_safe)) // g.step, 0)
        on_grid = g.date(k) == fc_safe
        terms = terms.flag(has_fc & ~on_grid, 11)
    return terms


class _Grid:
    """Regular (quasi-)coupon dates ``g_k`` of each row, generated backward from maturity."""

    def __init__(self, t: BondTerms) -> None:
        ok = t.valid
        # invalid rows get a harmless stand-in so that date arithmetic never sees NaT
        self.maturity = np.where(ok, t.maturity, np.datetime64("2000-01-01"))
        self.mat_mi = month_index(self.maturity)
        self.mat_day = day_of_month(self.maturity)
        self.eom = np.asarray(t.eom) & is_month_end(self.maturity)
        self.step = (12 // t.fq).astype(np.int64)

    def date(self, k: IntArray) -> DateArray:
        """Grid date ``g_k`` (``k >= 0``)."""
        mi = self.mat_mi - k * self.step
        dim = days_in_month(mi)
        return from_month_day(mi, np.where(self.eom, dim, np.minimum(self.mat_day, dim)))

    def period_index(self, d: DateArray) -> IntArray:
        """Index ``j`` with ``g_{j+1} <= d < g_j``; ``-1`` when ``d`` is on or after maturity."""
        d = np.where(np.isnat(d), self.maturity, d)
        j0 = np.maximum((self.mat_mi - month_index(d)) // self.step, 0)
        j = j0 - (self.date(j0) <= d)
        return np.maximum(j, -1)


@dataclass(frozen=True)
class Position:
    """Where each settlement date sits in its bond's schedule (internal to the pricing routines).

    ``w`` is the time to the next coupon in (quasi-)coupon periods, ``n_more`` the number of regular periods
    after it, ``first_amount`` the next coupon per 100 par (odd when the next coupon ends an odd first period),
    ``regular_amount`` the regular coupon per 100 par, ``accrued`` the accrued interest per 100 par.
    """

    terms: BondTerms
    w: FloatArray
    n_more: IntArray
    first_amount: FloatArray
    regular_amount: FloatArray
    accrued: FloatArray
    previous: DateArray
    next: DateArray


def _accrual_fraction(t: BondTerms, start: DateArray, end: DateArray,
                      quasi_time: Callable[[], FloatArray] | None) -> FloatArray:
    """Year fraction from ``start`` to ``end`` under each row's day count.

    ACT/ACT ICMA splits the interval into quasi-coupon periods: ``quasi_time()`` returns the time between the
    two dates in quasi-coupon periods (only called when some row is ICMA).
    """
    dc = t.daycount
    act = (end - start).astype(np.float64)
    out = np.where(dc == DayCount.ACT_360, act / 360.0, act / 365.0)
    thirty = (dc == DayCount.THIRTY_360) | (dc == DayCount.THIRTY_E_360)
    if thirty.any():
        d360 = days_30_360(start, end, european=dc == DayCount.THIRTY_E_360)
        out = np.where(thirty, d360 / 360.0, out)
    isda = dc == DayCount.ACT_ACT_ISDA
    if isda.any():
        out = np.where(isda, year_fraction_isda(start, end), out)
    icma = dc == DayCount.ACT_ACT_ICMA
    if icma.any() and quasi_time is not None:
        out = np.where(icma, quasi_time() / t.fq, out)
    return out


def _quasi_time(g: _Grid, d: DateArray, j: IntArray, lo: DateArray | None = None,
                hi: DateArray | None = None) -> FloatArray:
    """Time in quasi-coupon periods, increasing with ``d``: ``-j + (d - g_{j+1}) / (g_j - g_{j+1})``."""
    lo = g.date(j + 1) if lo is None else lo
    hi = g.date(j) if hi is None else hi
    return -j + (d - lo).astype(np.float64) / (hi - lo).astype(np.float64)


def position(t: BondTerms) -> Position:
    """Locate each row's settlement date in its schedule and compute accrued interest and the cash flows.

    Accrued interest = 100 * coupon * yearfraction(accrual start, settle) in the bond's day count, the accrual
    start being the previous coupon date or, in the first period, the dated date. Regular coupons pay
    100 * coupon / freq (street convention: the day count governs accruals and odd periods, not regular
    coupons); an odd first coupon pays 100 * coupon * yearfraction(dated, first coupon).
    """
    g = _Grid(t)
    s = np.where(t.valid, t.settle, g.maturity - np.timedelta64(1, "D"))
    j = g.period_index(s)
    g_hi, g_lo = g.date(j), g.date(j + 1)  # the quasi-coupon period [g_lo, g_hi) holding settlement
    frac = (s - g_lo).astype(np.float64) / (g_hi - g_lo).astype(np.float64)
    qt_settle = -j + frac
    regular = np.where(t.freq == 0, 0.0, 100.0 * t.coupon / t.fq)

    has_dt = ~np.isnat(t.dated) & t.valid
    if has_dt.any():
        has_fc = ~np.isnat(t.first_coupon) & has_dt
        dated = np.where(has_dt, t.dated, s)
        j_dated = g.period_index(dated)
        fc = np.where(has_fc, t.first_coupon, g.maturity)
        i_first = np.where(has_fc, (g.mat_mi - month_index(fc)) // g.step, j_dated)
        i_first = np.where(has_dt, i_first, np.iinfo(np.int64).max // 4)
        n_next = np.minimum(j, i_first)
        in_first = has_dt & (j >= i_first)
        next_date = np.where(n_next == j, g_hi, g.date(n_next))
        odd_first = in_first & (dated != g.date(np.where(in_first, i_first, 0) + 1))
        prev_date = np.where(in_first, dated, g_lo)
        qt_dated = _quasi_time(g, dated, j_dated)
        accr = _accrual_fraction(t, prev_date, s, lambda: qt_settle - np.where(in_first, qt_dated, -j))
        # the first coupon date g_{i_first} starts quasi period i_first - 1: quasi time -(i_first - 1)
        odd = 100.0 * t.coupon * _accrual_fraction(
            t, dated, np.where(odd_first, next_date, dated), lambda: np.where(odd_first, 1 - n_next - qt_dated, 0))
        first_amount = np.where(odd_first & (t.freq > 0), odd, regular)
    else:
        n_next = j
        next_date = g_hi
        prev_date = g_lo
        accr = _accrual_fraction(t, g_lo, s, lambda: frac)
        first_amount = regular

    # time to the next coupon in quasi-coupon periods (SIFMA: DSC/E, plus whole quasi periods in a long stub)
    w = (j - n_next) + 1.0 - frac
    thirty = (t.daycount == DayCount.THIRTY_360) | (t.daycount == DayCount.THIRTY_E_360)
    if thirty.any():
        a360 = days_30_360(g_lo, s, european=t.daycount == DayCount.THIRTY_E_360)
        w_30 = (j - n_next) + 1.0 - a360 * t.fq / 360.0
        # 30/360 can leave no time before a coupon that is still days away (settle on the 30th, coupon on
        # the 31st; 30E/360 after a 29 February coupon): there the actual-day fraction is used.
        w = np.where(thirty & (w_30 > 0), w_30, w)

    nan = ~t.valid
    return Position(
        terms=t,
        w=np.where(nan, np.nan, w),
        n_more=np.where(nan, 0, n_next),
        first_amount=np.where(nan, np.nan, first_amount),
        regular_amount=np.where(nan, np.nan, regular),
        accrued=np.where(nan, np.nan, 100.0 * t.coupon * accr),
        previous=np.where(nan, np.datetime64("NaT"), prev_date),
        next=np.where(nan, np.datetime64("NaT"), next_date),
    )


def coupon_schedule(
    maturity: Any,
    *,
    freq: int = 2,
    dated: Any = None,
    first_coupon: Any = None,
    eom: bool = True,
    start: Any = None,
) -> DateArray:
    """Coupon payment dates of one bond, ascending, from the first coupon (or the first after ``start``).

    For many bonds use the vectorized routines (:func:`bondpremia.fixed_income.accrued_interest`,
    :func:`coupons_paid`); this one is for inspection and documentation.
    """
    ref = start if start is not None else dated
    if ref is None:
        raise InputError("give a dated date or a start date to bound the schedule", column="start")
    t = bond_terms(ref, maturity, 0.0 if freq == 0 else 0.01, freq=freq, dated=dated,
                   first_coupon=first_coupon, eom=eom)
    t.raise_first()
    p = position(t)
    g = _Grid(t)
    k = np.arange(int(p.n_more[0]), -1, -1, dtype=np.int64)
    rep = lambda a: np.repeat(a, k.size)  # noqa: E731
    g.mat_mi, g.mat_day, g.eom, g.step = rep(g.mat_mi), rep(g.mat_day), rep(g.eom), rep(g.step)
    return g.date(k)


def coupons_paid(start: Any, end: Any, maturity: Any, coupon: Any, *, freq: Any = 2, daycount: Any = "30/360",
                 dated: Any = None, first_coupon: Any = None, eom: Any = True) -> FloatArray:
    """Coupon cash per 100 par paid in the window ``(start, end]`` (an end after maturity counts the last
    coupon). Rows whose terms are invalid give ``NaN``. Used for bond returns: a coupon paid inside the
    holding window is income of that window.
    """
    t = bond_terms(start, maturity, coupon, freq=freq, daycount=daycount, dated=dated,
                   first_coupon=first_coupon, eom=eom)
    # a window may start before the dated date or end after maturity: validate the terms at a neutral date
    ok_terms = np.isin(t.reason, (0, 3, 9))
    t = BondTerms(**{**t.__dict__, "reason": np.where(ok_terms, 0, t.reason).astype(np.int16)})
    e = _broadcast_dates(end, t.n)
    g = _Grid(t)
    big = np.iinfo(np.int64).max // 4
    j_s = g.period_index(np.where(np.isnat(t.settle), g.maturity, t.settle))
    j_e = g.period_index(e)
    has_dt = ~np.isnat(t.dated)
    has_fc = ~np.isnat(t.first_coupon)
    i_first = np.where(has_dt, g.period_index(np.where(has_dt, t.dated, g.maturity)), big)
    i_first = np.where(has_fc, (g.mat_mi - month_index(np.where(has_fc, t.first_coupon, g.maturity))) // g.step,
                       i_first)
    hi = np.minimum(j_s, i_first)
    lo = np.maximum(j_e + 1, 0)
    count = np.maximum(hi - lo + 1, 0)
    regular = np.where(t.freq == 0, 0.0, 100.0 * t.coupon / t.fq)
    first_in = has_dt & (i_first >= lo) & (i_first <= hi) & (t.freq > 0)
    amount = count * regular
    if first_in.any():
        p = position(BondTerms(**{**t.__dict__, "settle": np.where(first_in, t.dated, t.settle)}))
        amount = np.where(first_in, amount - regular + p.first_amount, amount)
    bad = ~t.valid | np.isnat(e) | np.isnat(t.settle)
    return np.where(bad, np.nan, amount)
