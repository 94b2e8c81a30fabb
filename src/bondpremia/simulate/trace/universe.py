"""The bonds of the simulated TRACE market: the risk-free rate, CUSIPs, the FISD bond universe and its
amount-outstanding history.

**Amount outstanding** (``SimulatedTrace.amount_outstanding``, ``fisd_amt_out.parquet``), in the layout of FISD's
amount-outstanding history: ``issue_id``, ``complete_cusip``, ``action_type``, ``effective_date``, ``action_amount``
and ``amount_outstanding`` (thousands of dollars, the amount after the action). About 18% of the bonds
(``amount_actions``) have 1 to 3 actions, before or inside the window: ``CALL`` (a partial call), ``TENDER`` (a
tender offer), ``REOPEN`` (a reopening); a bond that matures inside the window has a ``MATURE`` row taking it to 0.
These ``action_type`` labels are the simulator's own, not FISD's codes. FISD's static ``amount_outstanding`` is
the amount after the bond's last action (a snapshot taken at the end of the window), ``offering_amt`` the amount
at issue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from bondpremia.errors import InputError
from bondpremia.simulate.trace.codes import (
    _STREAM_FISD,
    AMOUNT_ACTIONS,
    FISD_FAILURES,
    RATINGS,
    BoolArray,
    FloatArray,
    IntArray,
)
from bondpremia.simulate.trace.dates import _date_series, _labels, _month, _on_day
from bondpremia.simulate.trace.market import _yield_level

# --- the risk-free rate --------------------------------------------------------------------------------------------

def simulated_tbill(months: Any) -> pl.DataFrame:
    """One-month T-bill return of each month (decimal), a smooth deterministic function of the calendar month.

    The annualized rate is ``2.5% + 1.75% sin(2 pi (m - m0) / 126) + 0.75% sin(2 pi (m - m0) / 44 + 1)``
    (``m`` months since 1970-01, ``m0`` = 2000-01), between 0 and 5% a year; the month's return is
    ``(1 + rate) ** (1/12) - 1``. ``months``: month identifiers (``YYYY-MM`` strings, dates, a date series).
    Returns ``date`` (the month's last calendar day, ``pl.Date``) and ``rf``, one row per distinct month, sorted.
    """
    if isinstance(months, pl.Series):
        months = months.cast(pl.String).to_list()
    elif isinstance(months, (str, dt.date, np.datetime64)):
        months = [months]
    mi = np.unique(np.array([_month(m, "months") for m in months], dtype=np.int64))
    x = (mi - 360).astype(np.float64)
    rate = 0.025 + 0.0175 * np.sin(2 * np.pi * x / 126.0) + 0.0075 * np.sin(2 * np.pi * x / 44.0 + 1.0)
    end = (mi + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) - 1
    return pl.DataFrame([_date_series("date", end), pl.Series("rf", (1.0 + rate) ** (1.0 / 12.0) - 1.0)])


# --- CUSIPs --------------------------------------------------------------------------------------------------------

def cusip_check_digits(bases: Any) -> npt.NDArray[np.str_]:
    """The CUSIP check digit (modulus 10 "double-add-double") of 8-character bases, vectorized.

    Characters are valued ``0-9``, ``A-Z`` = 10-35, ``*`` = 36, ``@`` = 37, ``#`` = 38; every second character is
    doubled; the digits of the values are summed; the check digit is ``(10 - sum mod 10) mod 10``.
    """
    b = np.asarray(bases, dtype="U8").astype("S8")
    if b.size and (np.char.str_len(b) != 8).any():
        raise InputError("CUSIP bases must have 8 characters", column="cusip")
    c = np.frombuffer(b.tobytes(), dtype=np.uint8).reshape(-1, 8).astype(np.int64)
    v = np.where(c <= ord("9"), c - ord("0"), c - ord("A") + 10)
    v = np.where(c == ord("*"), 36, np.where(c == ord("@"), 37, np.where(c == ord("#"), 38, v)))
    v = v * np.array([1, 2, 1, 2, 1, 2, 1, 2])
    total = (v // 10 + v % 10).sum(axis=1)
    return ((10 - total % 10) % 10).astype("U1")


def _chars(table: str, idx: IntArray) -> npt.NDArray[np.uint8]:
    return np.frombuffer(table.encode(), dtype=np.uint8)[idx]


# --- FISD ----------------------------------------------------------------------------------------------------------

_FRAMES = ("fisd", "amounts")


@dataclass(frozen=True)
class _Bonds:
    """Bond terms as arrays (one row per bond, CUSIP order), FISD rows and the internal trading inputs."""

    cusip: npt.NDArray[np.str_]
    symbol: npt.NDArray[np.str_]
    maturity: IntArray  # days since epoch
    start: IntArray  # first trading day (the dated date)
    coupon: FloatArray  # percent
    freq: IntArray  # coupon frequency used for pricing (1, 2, 4, 12; 0 zero)
    rating: IntArray
    offering: FloatArray  # offering amount, thousands of dollars
    eln: BoolArray  # an equity-linked note (TRACE sub-product ELN; not in the sample)
    eligible: BoolArray  # in FISD, passes every screen and not an ELN
    fisd: pl.DataFrame  # the FISD rows of these bonds (absent bonds: none)
    amounts: pl.DataFrame  # the amount-outstanding history of these bonds (absent bonds: none)

    def take(self, idx: IntArray) -> _Bonds:
        keep = pl.Series(self.cusip[idx], dtype=pl.String).implode()
        return _Bonds(**{f.name: getattr(self, f.name)[idx] for f in fields(self) if f.name not in _FRAMES},
                      fisd=self.fisd.filter(pl.col("complete_cusip").is_in(keep)),
                      amounts=self.amounts.filter(pl.col("complete_cusip").is_in(keep)))

    @property
    def n(self) -> int:
        return int(self.cusip.size)


def _amount_history(rng: np.random.Generator, offering: FloatArray, issued: IntArray, maturity: IntArray,
                    last_day: int, share: float) -> tuple[IntArray, IntArray, IntArray, FloatArray, FloatArray]:
    """Amount-outstanding actions of bonds (see :func:`simulate_fisd`): ``(bond, action code, effective day,
    action_amount, amount_outstanding after)``, sorted by bond and date, amounts in thousands of dollars.

    A share ``share`` of the bonds gets 1-3 actions (partial calls 10-40% of the amount, tender offers 20-60%,
    reopenings +20-100%) on distinct days from 90 days after issue to 30 days before maturity, at the latest
    ``last_day``; amounts are rounded to $1M (1,000 thousands). A bond maturing on or before ``last_day`` also gets
    a ``MATURE`` row that takes its amount to 0."""
    n = offering.size
    lo = issued + 90
    hi = np.minimum(maturity - 30, last_day)
    k = np.where(rng.random(n) < share, rng.choice(np.array([1, 2, 3]), n, p=[0.5, 0.3, 0.2]), 0)
    k = np.where(hi - lo >= 30, k, 0)
    bond = np.repeat(np.arange(n), k)
    m = bond.size
    day = lo[bond] + (rng.random(m) * (hi - lo)[bond]).astype(np.int64)
    code = rng.choice(np.array([0, 1, 2]), m, p=[0.4, 0.25, 0.35])  # CALL, TENDER, REOPEN
    size = np.where(code == 0, rng.uniform(0.1, 0.4, m),
                    np.where(code == 1, rng.uniform(0.2, 0.6, m), rng.uniform(0.2, 1.0, m)))
    order = np.lexsort((day, bond))
    bond, day, code, size = bond[order], day[order], code[order], size[order]
    # distinct days within a bond: day_i = max(day_i, day_{i-1} + 1), segment by segment
    idx = np.arange(m)
    seg = bond.astype(np.int64) << 32
    day = np.maximum.accumulate(day - idx + seg) - seg + idx if m else day
    head = np.r_[True, bond[1:] != bond[:-1]] if m else np.zeros(0, bool)
    logf = np.cumsum(np.log(np.where(code == 2, 1.0 + size, 1.0 - size)))
    first = np.maximum.accumulate(np.where(head, idx, 0))
    level = offering[bond] * np.exp(logf - np.where(first > 0, logf[first - 1], 0.0))
    after = np.round(level / 1000.0) * 1000.0  # changes of at least 10% of at least 40,000: never rounded away
    before = np.where(head, offering[bond], np.r_[0.0, after[:-1]])
    # redemption at maturity
    tail = np.r_[bond[1:] != bond[:-1], True] if m else np.zeros(0, bool)
    last = np.full(n, np.nan)
    last[bond[tail]] = after[tail]
    current = np.where(np.isnan(last), offering, last)
    mat = np.flatnonzero(maturity <= last_day)
    bond = np.r_[bond, mat]
    code = np.r_[code, np.full(mat.size, 3)]
    day = np.r_[day, maturity[mat]]
    amount = np.r_[np.abs(after - before), current[mat]]
    after = np.r_[after, np.zeros(mat.size)]
    order = np.lexsort((day, bond))
    return bond[order], code[order], day[order], amount[order], after[order]


def _bond_universe(n: int, rng: np.random.Generator, start_mi: int, n_months: int, *, absent: bool,
                   fisd_fail: float, amount_actions: float) -> _Bonds:
    """Draw ``n`` bonds (see :func:`simulate_fisd`). ``absent`` bonds get CUSIPs starting with 9 and pass every
    screen (they are the CUSIPs missing from FISD); the others start with 0-8."""
    end_mi = start_mi + n_months - 1
    # coupon frequency and day count
    freq = rng.choice(np.array([2, 4, 1, 12, 0]), n, p=[0.82, 0.04, 0.03, 0.03, 0.08])
    act = (rng.random(n) < 0.15) & (freq > 0)
    zero = freq == 0
    term = rng.choice(np.array([2, 3, 5, 7, 10, 15, 20, 30]), n, p=[0.08, 0.1, 0.17, 0.12, 0.25, 0.05, 0.08, 0.15])
    term = np.where(zero, np.minimum(term, 15), term)
    # dated month (a coupon month) and maturity month; some bonds mature inside the window
    lo = np.maximum(start_mi - 180, start_mi + 14 - 12 * term)
    dated_mi = lo + (rng.random(n) * (end_mi - lo)).astype(np.int64)
    in_window = (rng.random(n) < 0.10) & (n_months > 14)
    mat_in = start_mi + 13 + (rng.random(n) * max(n_months - 13, 1)).astype(np.int64)
    dated_mi = np.where(in_window, mat_in - 12 * term, dated_mi)
    mat_mi = dated_mi + 12 * term
    mat_day = rng.integers(1, 29, n)
    mat_day = np.where((mat_mi % 12 == 1) & (mat_day == 28), 27, mat_day)  # no Feb-28 maturities (end of month)
    maturity = _on_day(mat_mi, mat_day)
    step = np.where(zero, 6, 12 // np.maximum(freq, 1))
    grid0 = _on_day(dated_mi, mat_day)
    grid1 = _on_day(dated_mi + step, mat_day)
    stub = (rng.random(n) < 0.10) & ~zero
    offset = 10 + (rng.random(n) * (grid1 - grid0 - 20)).astype(np.int64)
    dated = np.where(stub, grid0 + offset, grid0)
    first = np.where(zero, -1, grid1)
    offering = dated - rng.integers(1, 8, n)
    # ratings: mostly investment grade; coupons near the yield of the rating and term at issue
    k = np.arange(1, 23)
    p = np.exp(-0.5 * ((k - 8.5) / 3.5) ** 2)
    p[19:] = 0.002
    rating = rng.choice(k, n, p=p / p.sum())
    at_issue = 100.0 * _yield_level(rating, term.astype(np.float64)) + 0.6 * rng.standard_normal(n)
    coupon = np.where(zero, 0.0, np.round(np.clip(at_issue, 0.5, 12.0) * 8) / 8)
    offering_amt = rng.choice(np.array([250, 300, 400, 500, 600, 750, 1000, 1250, 1500, 2000]) * 1000.0, n)
    bond_type = np.where(zero, rng.choice(np.array(["CZ", "CMTZ"]), n),
                         rng.choice(np.array(["CDEB", "CMTN", "USBN"]), n, p=[0.6, 0.35, 0.05]))
    level = rng.choice(np.array(["SEN", "SS", "SUB", "JUN"]), n, p=[0.7, 0.15, 0.12, 0.03])
    # CUSIPs: 6-character issuer (5 digits, first 0-8 or 9 for absent bonds, + 1 alphanumeric), 2-character issue
    n_iss = max(1, n // 3)
    issuer = rng.integers(0, n_iss, n)
    alnum = "0123456789ABCDEFGHIJKLMNPQRSTUVWXYZ"  # no O, as in CUSIP issuer codes
    codes = rng.choice((10_000 if absent else 90_000) * 35, n_iss, replace=False)
    digits = ((codes // 35 + (90_000 if absent else 0))[:, None] // 10 ** np.arange(4, -1, -1)) % 10
    iss_chars = np.concatenate([(digits + ord("0")).astype(np.uint8), _chars(alnum, codes % 35)[:, None]], axis=1)
    order = np.lexsort((np.arange(n), issuer))
    rank = np.empty(n, dtype=np.int64)
    first_of = np.r_[True, issuer[order][1:] != issuer[order][:-1]]
    starts = np.maximum.accumulate(np.where(first_of, np.arange(n), 0))
    rank[order] = np.arange(n) - starts
    issue_alpha = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    issue = np.stack([_chars(issue_alpha, rank // 32 % 32), _chars(issue_alpha, rank % 32)], axis=1)
    base = np.concatenate([iss_chars[issuer], issue], axis=1)
    base_str = np.frombuffer(np.ascontiguousarray(base).tobytes(), dtype="S8").astype("U8")
    cusip = np.char.add(base_str, cusip_check_digits(base_str))
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    tick = np.stack([_chars(letters, (codes // 26**j) % 26) for j in range(3)], axis=1)
    tick_str = np.frombuffer(np.ascontiguousarray(tick).tobytes(), dtype="S3").astype("U3")[issuer]
    symbol = np.char.add(tick_str, np.char.zfill((rng.integers(0, 10**6, n)).astype("U6"), 6))
    # screens: one field per failing bond, cycling over the screens, on bonds that trade in the window when
    # there are enough (at least two months before the window ends and more than a year before maturity)
    fail = np.full(n, -1)
    if not absent:
        n_fail = int(round(fisd_fail * n))
        n_fail = min(max(n_fail, len(FISD_FAILURES)), n // 4) if n_fail else 0
        first_day, end_day = _on_day(np.array([start_mi, end_mi + 1]), np.array([1, 1]))
        trades = np.flatnonzero((dated < end_day - 60) & (maturity > first_day + 425))
        pool = trades if trades.size >= n_fail else np.arange(n)
        fail[rng.choice(pool, n_fail, replace=False)] = np.arange(n_fail) % len(FISD_FAILURES)

    def yn(code: int) -> npt.NDArray[np.str_]:
        return np.where(fail == code, "Y", "N")

    frequency = np.where(fail == 8, 13, np.where(fail == 9, -1, freq))
    issue_id = 200_000 + rng.permutation(n) * 7 + (1_000_000 if absent else 0)
    # amount-outstanding history; FISD's static amount is the one after the last action (a snapshot at the end)
    last_day = _on_day(np.array([end_mi + 1]), np.array([1]))[0] - 1
    a_bond, a_code, a_day, a_amount, a_after = _amount_history(rng, offering_amt, offering, maturity, last_day,
                                                               amount_actions)
    outstanding = offering_amt.copy()
    tail = np.r_[a_bond[1:] != a_bond[:-1], True] if a_bond.size else np.zeros(0, bool)
    outstanding[a_bond[tail]] = a_after[tail]  # sorted by date within a bond: its last action
    amounts = pl.DataFrame([
        pl.Series("issue_id", issue_id[a_bond], dtype=pl.Int64),
        pl.Series("complete_cusip", cusip[a_bond], dtype=pl.String),
        _labels("action_type", a_code, list(AMOUNT_ACTIONS)),
        _date_series("effective_date", a_day),
        pl.Series("action_amount", a_amount, dtype=pl.Float64),
        pl.Series("amount_outstanding", a_after, dtype=pl.Float64),
    ])
    fisd = pl.DataFrame([
        pl.Series("issue_id", issue_id, dtype=pl.Int64),
        pl.Series("complete_cusip", cusip, dtype=pl.String),
        pl.Series("issuer_id", 10_000 + issuer + (1_000_000 if absent else 0), dtype=pl.Int64),
        _date_series("offering_date", offering),
        _date_series("dated_date", dated, null=fail == 11),
        _date_series("first_interest_date", first, null=first < 0),
        _date_series("maturity", maturity),
        pl.Series("coupon", coupon, dtype=pl.Float64),
        pl.Series("coupon_type", np.where(fail == 7, "V", np.where(zero, "Z", "F")), dtype=pl.String),
        pl.Series("interest_frequency", frequency, dtype=pl.Int64),
        pl.Series("day_count_basis", np.where(act, "ACT/ACT", "30/360"), dtype=pl.String),
        pl.Series("offering_amt", offering_amt, dtype=pl.Float64),
        pl.Series("amount_outstanding", outstanding, dtype=pl.Float64),
        pl.Series("bond_type", np.where(fail == 6, "TXMU", bond_type), dtype=pl.String),
        pl.Series("convertible", yn(2), dtype=pl.String),
        pl.Series("asset_backed", yn(3), dtype=pl.String),
        pl.Series("rule_144a", yn(4), dtype=pl.String),
        pl.Series("private_placement", yn(5), dtype=pl.String),
        pl.Series("foreign_currency", yn(0), dtype=pl.String),
        pl.Series("country_domicile", np.where(fail == 1, "CAN", "USA"), dtype=pl.String),
        pl.Series("security_level", level, dtype=pl.String),
        pl.Series("rating", np.array(RATINGS)[rating - 1], dtype=pl.String),
        pl.Series("rating_num", rating, dtype=pl.Int64),
    ]).with_columns(pl.when(pl.Series(fail == 10)).then(None).otherwise(pl.col("day_count_basis"))
                    .alias("day_count_basis"))
    return _Bonds(cusip=cusip, symbol=symbol, maturity=maturity, start=dated, coupon=coupon, freq=freq,
                  rating=rating, offering=offering_amt, eln=np.zeros(n, bool), eligible=(fail < 0) & (not absent),
                  fisd=fisd, amounts=amounts)


def simulate_fisd(n_bonds: int, seed: int = 0, start: str = "2010-01", n_months: int = 120, *,
                  fisd_fail: float = 0.08, amount_actions: float = 0.18) -> pl.DataFrame:
    """FISD-like bond reference rows (Mergent FISD names and units, see ``docs/trace.md``) for a sample window.

    Mostly semiannual 30/360 fixed-coupon bonds; about 15% ACT/ACT; some quarterly, annual and monthly payers and
    8% zero-coupon bonds (``coupon_type Z``, ``interest_frequency 0``, coupon 0). Terms of 2 to 30 years (zeros at
    most 15), issued up to 15 years before the window or inside it; about 10% mature inside the window. The
    maturity's day of the month is 1..28 (never Feb 28), coupon dates fall on the schedule generated backward
    from maturity; ``first_interest_date`` is the first grid date after the dated date, which is a grid date except
    for about 10% of the coupon bonds with a short first coupon (dated date off the grid). ``coupon`` in percent,
    ``offering_amt`` (the amount at issue) and ``amount_outstanding`` in thousands of dollars;
    ``amount_outstanding`` is a snapshot taken at the end of the window: the amount after the bond's last action in
    its amount-outstanding history (``SimulatedTrace.amount_outstanding``; 0 for a bond that matured in the
    window), else ``offering_amt``. A share ``amount_actions`` of the bonds has 1-3 actions (partial calls, tender
    offers, reopenings), before or inside the window. A share ``fisd_fail`` of the bonds (at least one per screen
    when ``n_bonds >= 48``), chosen among the bonds that trade in the window, fails exactly one bond screen
    (:data:`FISD_FAILURES`). CUSIPs are unique 9-character
    codes with a valid check digit. Sorted by ``complete_cusip``. Deterministic given ``seed``.
    """
    if n_bonds < 1 or n_months < 1:
        raise InputError("n_bonds and n_months must be positive", column="n_bonds" if n_bonds < 1 else "n_months")
    rng = np.random.default_rng([seed, _STREAM_FISD])
    u = _bond_universe(n_bonds, rng, _month(start, "start"), n_months, absent=False, fisd_fail=fisd_fail,
                       amount_actions=amount_actions)
    return u.fisd.sort("complete_cusip")
