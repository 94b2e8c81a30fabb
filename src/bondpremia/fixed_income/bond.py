"""Price, yield, accrued interest and risk of fixed-rate bonds: vectorized, street convention.

Street convention (SIFMA, *Standard Formulas for the Analysis of Mortgage-Backed Securities and Other
Related Securities*, formula for a bond with more than one coupon period to redemption): with ``f`` coupons
a year, yield ``y`` compounded ``f`` times a year, ``v = 1 / (1 + y/f)``, the next coupon ``C_1`` paid after a
fraction ``w = DSC/E`` of a period and ``m`` further regular coupons ``C = 100 c / f``::

    dirty = v**w * (C_1 + C * (v + v**2 + ... + v**m) + 100 * v**m)
    clean = dirty - accrued

``DSC/E`` is measured in the bond's own day count: 30/360 days over ``E = 360/f`` for the 30/360 family,
actual days over the actual days of the (quasi-)coupon period otherwise. In an odd first period the next
coupon is the odd coupon and ``w`` adds the whole quasi-coupon periods between settlement and the first coupon
(ICMA Rule 251 quasi-coupon periods). Zero-coupon bonds are priced on a semiannual quasi-coupon grid
(``100 * v**(w + m)`` with ``f = 2``, the bond-equivalent convention of STRIPS).

Every routine is vectorized over rows (one bond and one settlement date per row) and never loops over bonds.
Invalid rows give ``NaN``; :func:`check_bonds` returns the reason for each row, and ``errors="raise"`` turns the
first invalid row into an :class:`~bondpremia.errors.InputError` naming the argument and row.

Sums of the geometric series use closed forms in ``x = log(1 + y/f)`` (cost independent of maturity), with an
exact term-by-term sum where the closed forms lose precision (``|m x|`` small).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from bondpremia.fixed_income.schedule import BondTerms, Position, bond_terms, position

FloatArray = npt.NDArray[np.float64]
Errors = Literal["nan", "raise"]

# |m x| below which the closed forms of sum j^k q^j (relative error ~ eps / (m x)^k) give way to exact sums:
# loose for the Newton derivative (order 1), tight for reported convexities (order 2)
_BRUTE_THRESHOLD = {1: 1e-6, 2: 0.02}
_BRUTE_CHUNK = 4_000_000  # cells per chunk of the exact sums


def _out(t: BondTerms, a: FloatArray) -> Any:
    return float(a[0]) if t.scalar else a


def _terms(errors: Errors, *args: Any, **kw: Any) -> BondTerms:
    t = bond_terms(*args, **kw)
    if errors == "raise":
        t.raise_first()
    elif errors != "nan":
        raise ValueError("errors must be 'nan' or 'raise'")
    return t


def _exact_moments(x: FloatArray, m: npt.NDArray[np.int64], order: int) -> list[FloatArray]:
    """sum_{j=1..m} j**k exp(-j x) for k = 0..order, term by term (for the rows the closed forms miss)."""
    out = [np.zeros(x.size) for _ in range(order + 1)]
    if x.size == 0:
        return out
    top = int(m.max()) if m.size else 0
    rows = max(1, _BRUTE_CHUNK // max(top, 1))
    j = np.arange(1, top + 1, dtype=np.float64)
    for a in range(0, x.size, rows):
        xs, ms = x[a:a + rows, None], m[a:a + rows, None]
        with np.errstate(over="ignore"):
            terms = np.where(j <= ms, np.exp(-xs * j), 0.0)
        for k in range(order + 1):
            out[k][a:a + rows] = (terms * j**k).sum(axis=1)
    return out


def _moments(x: FloatArray, m: npt.NDArray[np.int64], order: int) -> list[FloatArray]:
    """G_k = sum_{j=1..m} j**k q**j with q = exp(-x), k = 0..order (order <= 2)."""
    mf = m.astype(np.float64)
    q = np.exp(-x)
    em1 = np.expm1(-x)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s0 = np.where(x == 0, mf, np.expm1(-mf * x) / em1)  # sum_{j=0..m-1} q**j
        g = [q * s0]
        qm = np.exp(-mf * x)
        # (1 - q) G_1 = G_0 - m q^(m+1);  (1 - q) G_2 = 2 G_1 - G_0 - m^2 q^(m+1): relative error ~ eps / (m x)
        if order >= 1:
            g.append((g[0] - mf * qm * q) / -em1)
        if order >= 2:
            g.append((2 * g[1] - g[0] - mf * mf * qm * q) / -em1)
    for k in range(1, order + 1):  # one term (q) or none: exact
        g[k] = np.where(m == 1, q, np.where(m == 0, 0.0, g[k]))
    if order >= 1:
        small = (np.abs(mf * x) < _BRUTE_THRESHOLD[order]) & (m > 1)
        if small.any():
            idx = np.flatnonzero(small)
            exact = _exact_moments(x[idx], m[idx], order)
            for k in range(1, order + 1):
                g[k][idx] = exact[k]
    return g


def _price_moments(p: Position, x: FloatArray, order: int) -> list[FloatArray]:
    """M_k = sum over cash flows of e**k * CF * exp(-e x), with e the time in periods (k = 0..order)."""
    w, m, c1, c = p.w, p.n_more, p.first_amount, p.regular_amount
    g = _moments(x, m, order)
    mf = m.astype(np.float64)
    disc = np.exp(-w * x)
    red = 100.0 * np.exp(-mf * x)
    out = [disc * (c1 + c * g[0] + red)]
    if order >= 1:
        out.append(disc * (w * c1 + c * (w * g[0] + g[1]) + (w + mf) * red))
    if order >= 2:
        out.append(disc * (w * w * c1 + c * (w * w * g[0] + 2 * w * g[1] + g[2]) + (w + mf) ** 2 * red))
    return out


def _x_from_yield(t: BondTerms, y: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore"):
        return np.log1p(y / t.fq)


def accrued_interest(settle: Any, maturity: Any, coupon: Any, *, freq: Any = 2, daycount: Any = "30/360",
                     dated: Any = None, first_coupon: Any = None, eom: Any = True,
                     errors: Errors = "nan") -> Any:
    """Accrued interest per 100 par at settlement.

    ``100 * coupon * yearfraction(accrual start, settle)`` in the bond's day count; the accrual start is the
    previous coupon date, or the dated date in the first period. ``coupon`` is the annual rate in decimals.
    See :mod:`bondpremia.fixed_income.schedule` for the schedule rules and the arguments.
    """
    t = _terms(errors, settle, maturity, coupon, freq=freq, daycount=daycount, dated=dated,
               first_coupon=first_coupon, eom=eom)
    return _out(t, position(t).accrued)


def price_from_yield(yld: Any, settle: Any, maturity: Any, coupon: Any, *, freq: Any = 2,
                     daycount: Any = "30/360", dated: Any = None, first_coupon: Any = None, eom: Any = True,
                     dirty: bool = False, errors: Errors = "nan") -> Any:
    """Clean (or, with ``dirty=True``, dirty) price per 100 par from a street-convention yield.

    ``yld`` is in decimals, compounded at the coupon frequency (semiannually for zero-coupon bonds).
    """
    t = _terms(errors, settle, maturity, coupon, freq=freq, daycount=daycount, dated=dated,
               first_coupon=first_coupon, eom=eom)
    y = np.broadcast_to(np.asarray(yld, dtype=np.float64).ravel(), (t.n,))
    bad_y = ~np.isfinite(y) | (1 + y / t.fq <= 0)
    t = t.flag(bad_y, 13)
    if errors == "raise":
        t.raise_first()
    p = position(t)
    full = _price_moments(p, _x_from_yield(t, y), 0)[0]
    out = full if dirty else full - p.accrued
    return _out(t, np.where(t.valid, out, np.nan))


def _solve(p: Position, target_dirty: FloatArray, x0: FloatArray, tol: float, max_iter: int) -> FloatArray:
    """Safeguarded Newton on h(x) = log P(x) - log target.

    ``log P`` is convex and decreasing in ``x`` (a log-sum-exp of linear functions), so Newton converges from
    any start after at most one overshoot; the bracket ``lo < root < hi`` built from the signs of ``h`` turns any
    step that leaves it into a bisection (or a unit step while the bracket is still open on that side).
    """
    n = target_dirty.size
    x = x0.copy()
    lo = np.full(n, -np.inf)
    hi = np.full(n, np.inf)
    log_target = np.log(target_dirty)
    solvable = np.isfinite(x0) & np.isfinite(log_target)
    active = np.flatnonzero(solvable)
    x[~solvable] = np.nan
    for _ in range(max_iter):
        if active.size == 0:
            break
        sub = Position(p.terms, p.w[active], p.n_more[active], p.first_amount[active],
                       p.regular_amount[active], p.accrued[active], p.previous, p.next)
        xa = x[active]
        price, m1 = _price_moments(sub, xa, 1)
        h = np.log(price) - log_target[active]
        la, ha = lo[active], hi[active]
        la = np.where(h > 0, np.maximum(la, xa), la)
        ha = np.where(h < 0, np.minimum(ha, xa), ha)
        lo[active], hi[active] = la, ha
        with np.errstate(divide="ignore", invalid="ignore"):
            step = h * price / m1
        xn = xa + step
        outside = ~np.isfinite(xn) | (xn <= la) | (xn >= ha)
        closed = np.isfinite(la) & np.isfinite(ha)
        with np.errstate(invalid="ignore"):
            fallback = np.where(closed, 0.5 * (la + ha), np.where(np.isfinite(la), la + 1.0, ha - 1.0))
        xn = np.where(outside & (h != 0), fallback, np.where(h == 0, xa, xn))
        x[active] = xn
        done = (h == 0) | (np.abs(xn - xa) <= tol * (1.0 + np.abs(xa)))
        active = active[~done]
    if active.size:
        x[active] = np.nan
    return x


def yield_from_price(price: Any, settle: Any, maturity: Any, coupon: Any, *, freq: Any = 2,
                     daycount: Any = "30/360", dated: Any = None, first_coupon: Any = None, eom: Any = True,
                     dirty: bool = False, tol: float = 1e-15, max_iter: int = 100,
                     errors: Errors = "nan") -> Any:
    """Street-convention yield (decimal, compounded at the coupon frequency) from a clean price per 100 par
    (a dirty price with ``dirty=True``).

    Solved by safeguarded Newton iteration for every bond at once; it converges for deep-discount, premium,
    near-maturity and zero-coupon bonds. Rows that cannot be solved (invalid terms, non-positive dirty price)
    give ``NaN``.
    """
    t = _terms(errors, settle, maturity, coupon, freq=freq, daycount=daycount, dated=dated,
               first_coupon=first_coupon, eom=eom)
    t, p, y = _yield(t, position(t), price, dirty, tol, max_iter, errors)
    return _out(t, y)


def _yield(t: BondTerms, p: Position, price: Any, dirty: bool, tol: float, max_iter: int,
           errors: Errors) -> tuple[BondTerms, Position, FloatArray]:
    px = np.broadcast_to(np.asarray(price, dtype=np.float64).ravel(), (t.n,))
    target = px if dirty else px + p.accrued
    t = t.flag(~np.isfinite(px) | ~(target > 0), 12)
    if errors == "raise":
        t.raise_first()
    # initial guess: the textbook yield approximation (annual coupon + pull to par per year) / average price
    years = (p.w + p.n_more) / t.fq
    with np.errstate(invalid="ignore", divide="ignore"):
        y0 = (100.0 * t.coupon + (100.0 - (target - p.accrued)) / years) / (0.5 * (100.0 + target - p.accrued))
    y0 = np.clip(np.nan_to_num(y0, nan=0.05), -0.5 * t.fq, 2.0 * t.fq)
    x0 = np.where(t.valid, np.log1p(y0 / t.fq), np.nan)
    x = _solve(p, np.where(t.valid, target, np.nan), x0, tol, max_iter)
    y = t.fq * np.expm1(x)
    t = t.flag(~np.isfinite(y), 14)
    if errors == "raise":
        t.raise_first()
    return t, p, np.where(t.valid, y, np.nan)


@dataclass(frozen=True)
class BondAnalytics:
    """Analytics per row; every price quantity is per 100 par, durations in years, yields in decimals.

    ``modified_duration = -(1/P) dP/dy`` and ``convexity = (1/P) d2P/dy2`` use the dirty price ``P`` and the
    yield compounded at the coupon frequency; ``dv01`` is the dirty-price change for a 1 bp fall in yield.
    """

    yld: Any
    clean_price: Any
    dirty_price: Any
    accrued: Any
    macaulay_duration: Any
    modified_duration: Any
    convexity: Any
    dv01: Any
    valid: Any
    reason: Any

    def as_dict(self) -> dict[str, Any]:
        return {
            "yield": self.yld,
            "clean_price": self.clean_price,
            "dirty_price": self.dirty_price,
            "accrued": self.accrued,
            "macaulay_duration": self.macaulay_duration,
            "modified_duration": self.modified_duration,
            "convexity": self.convexity,
            "dv01": self.dv01,
        }


def bond_analytics(settle: Any, maturity: Any, coupon: Any, *, price: Any = None, yld: Any = None,
                   freq: Any = 2, daycount: Any = "30/360", dated: Any = None, first_coupon: Any = None,
                   eom: Any = True, dirty: bool = False, errors: Errors = "nan") -> BondAnalytics:
    """Yield (from ``price``) or price (from ``yld``), accrued interest, durations, convexity and DV01."""
    if (price is None) == (yld is None):
        raise ValueError("give exactly one of price and yld")
    t = _terms(errors, settle, maturity, coupon, freq=freq, daycount=daycount, dated=dated,
               first_coupon=first_coupon, eom=eom)
    p = position(t)
    if yld is None:
        t, p, y = _yield(t, p, price, dirty, 1e-15, 100, errors)
    else:
        y = np.broadcast_to(np.asarray(yld, dtype=np.float64).ravel(), (t.n,))
        t = t.flag(~np.isfinite(y) | (1 + y / t.fq <= 0), 13)
        if errors == "raise":
            t.raise_first()
    x = _x_from_yield(t, y)
    m0, m1, m2 = _price_moments(p, x, 2)
    fq = t.fq.astype(np.float64)
    mac = m1 / (fq * m0)
    v = np.exp(-x)
    mod = mac * v
    conv = (m2 + m1) * v * v / (fq * fq * m0)
    ok = t.valid

    def res(a: FloatArray) -> Any:
        return _out(t, np.where(ok, a, np.nan))

    return BondAnalytics(
        yld=res(y), clean_price=res(m0 - p.accrued), dirty_price=res(m0), accrued=res(p.accrued),
        macaulay_duration=res(mac), modified_duration=res(mod), convexity=res(conv), dv01=res(mod * m0 * 1e-4),
        valid=bool(ok[0]) if t.scalar else ok, reason=t.reasons()[0] if t.scalar else t.reasons(),
    )


def check_bonds(settle: Any, maturity: Any, coupon: Any, *, freq: Any = 2, daycount: Any = "30/360",
                dated: Any = None, first_coupon: Any = None, eom: Any = True) -> tuple[Any, Any]:
    """Validity mask and reason per row ('' where valid): why a bond routine returned ``NaN``."""
    t = bond_terms(settle, maturity, coupon, freq=freq, daycount=daycount, dated=dated,
                   first_coupon=first_coupon, eom=eom)
    return t.valid, t.reasons()
