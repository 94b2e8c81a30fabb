"""The messages of one block of bonds: genuine trades and the reporting errors, quirks and filtered trades of real
TRACE (:func:`_simulate_block`), at the rates of :class:`NoiseRates`. "Pre-2012", "post-2012" and the 7, 6 and 4
keys are defined in the package docstring.

- **Message numbers** (``msg_seq_nb``) restart every report date: within a CUSIP and report date they start from a
  small random base and increase in report order (unique there), so the same numbers recur on many dates of one
  CUSIP, and a rule matching a pre-2012 ``C``/``W`` to its original across report dates finds other messages. A
  post-2012 ``X``/``C`` carries the number of the report it cancels, a ``Y`` the reversed report's number in
  ``orig_msg_seq_nb``, a pre-2012 ``C``/``W`` its original's number in ``orig_msg_seq_nb``.
- **Reporting errors** (Dick-Nielsen 2009, "Liquidity biases in TRACE", Journal of Fixed Income 19(2); Dick-Nielsen
  2014, "How to clean Enhanced TRACE data", SSRN 2337908):

  * cancellations of spurious reports. Pre-2012: ``trc_st = C`` on the same report date as the report, with its
    number in ``orig_msg_seq_nb`` and the same CUSIP, execution date and time, price and volume. Post-2012: ``X``
    or ``C`` with the *same* ``msg_seq_nb`` and 7 keys, the same day or up to 5 business days later.
  * corrections. Pre-2012 same-day corrections: a first report with a wrong price or volume and a ``W``
    (``orig_msg_seq_nb`` -> the report) with the true terms on the same report date; ``W -> W`` chains
    (``T <- W1 <- W2``, only ``W2`` is true); pairs of corrected trades that share one execution timestamp.
    Pre-2012 corrections on a later day: the wrong report, its reversal (``asof_cd = R``, reported on a later
    pre-2012 date) and a new report with ``asof_cd = A`` and the true terms (the ``A`` report is the truth).
    Post-2012: the wrong ``T``, an ``X`` with its number and keys, and a new ``T`` (its own number; ``asof_cd A``
    when reported after the trade date) with the true terms.
  * number collisions within an execution date: some same-day corrected pre-2012 trades have another customer
    trade of the same bond and day reported late (``A``) under the corrected first report's number on its own
    report date (a ``W`` matched on the execution date would delete this genuine trade).
  * reversals of spurious reports. Pre-2012: a later report with ``asof_cd = R``, always on a later report date
    than the execution date, with the reversed report's 6 keys; in about half of them (``reverse_other_time``) its
    execution time differs (a 7-key match misses it). Twins: a genuine trade whose 6 keys a reversed spurious
    report shares, the spurious one first in the reversal step's order (the same time and reported a second
    before, or executed up to 5 minutes earlier). Post-2012: a spurious ``T`` and a ``Y`` whose
    ``orig_msg_seq_nb`` is its number, same 7 keys.
  * as-of rows ``asof_cd X`` and ``D`` (pre-2012, not truth): copies of a genuine trade's 7 keys reported on a
    later pre-2012 date (deleted with the reversals).
  * cross-format events: spurious reports of the last five pre-2012 business days cancelled by a post-2012 ``X``
    or ``C`` (same number and 7 keys) or reversed by a post-2012 ``Y`` (``orig_msg_seq_nb``) in the first five
    post-2012 days; also every pre-2012 reversal of a report of the last pre-2012 day.
  * interdealer double counts: a dealer-to-dealer trade is kept as the sell-side report (``S``, contra ``D``);
    most have the buy-side report (``B``, ``D``) too, with the same CUSIP, date, price and volume, in about half of
    them (``interdealer_other_time``) at an execution time 1 second to 10 minutes off. Some dealer trades are
    reported by one side only, among them buy-side reports without a sell side (kept); some of those share the 4
    keys of a reported pair but are executed after both its reports (``interdealer_twin``: the one-to-one rule
    deletes the pair's buy, an any-match rule both buys).
  * exact duplicates: about 0.3% of the messages (any type) appear twice with every column equal; the copy comes
    later in the input.
  * agency trades with a customer without commission (contra ``C``, ``cmsn_trd = N``, capacity ``A`` on the
    reporting side) are genuine here: the default preset ``bbw2019`` keeps them.
- **Trade filters** (Bai, Bali and Wen 2019, "Common risk factors in the cross-section of corporate bond returns",
  Journal of Financial Economics 131(3), Section 2): when-issued (``wis_fl = Y``), locked-in (``lckd_in_ind = Y``),
  special sale conditions (``C N R S W Z`` in ``sale_cndtn_cd``, in ``sale_cndtn2_cd`` or in both; NULL, the common
  case, and ``@`` are regular in both), special trades (``spcl_trd_fl = Y``), more than two days to settlement
  (``days_to_sttl_ct`` 3 to 7, many exactly 3, the regular T+3 of 2002-2017; genuine trades have NULL, the common
  case, or 0 to 2), volumes below $10,000 par (exactly $10,000 is kept), prices outside [5, 1000] (x100 and /100
  typos), customer volumes above half the FISD offering amount (the intended volume times 1000, or the whole
  issue), trades less than one year (365 days) before maturity, equity-linked notes (``sub_prdct = ELN`` on every
  message of about 2% of the bonds, which pass every FISD screen; the others ``CORP``), bonds that fail a FISD
  screen, CUSIPs missing from FISD, and rows that cannot be parsed (a NULL price, CUSIP or execution date, a zero
  volume).

Genuine trades happen on SIFMA business days. Each bond's yield follows a persistent AR(1) around a rating-based
level plus three common factors (a level factor, a slope factor loading ``exp(-ttm / 5 years)`` and a credit
factor loading ``(rating - 1) / 10``); the clean price is the bond's price at that yield (pull to par included),
trades add a small bid-ask and noise and are rounded to 3 decimals; volumes are lognormal, $10,000 to $25M par,
rounded to $1,000. Execution times are distinct within a CUSIP and day except where an event needs a collision
(twins, the pairs of corrections sharing a timestamp, the buy reports of pairs). ``stlmnt_dt`` is the execution
date plus ``days_to_sttl_ct`` SIFMA business days (the regular lag when it is NULL: T+3, T+2 from 2017-09-05, T+1
from 2024-05-28).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy.signal import lfilter

from bondpremia.errors import InputError
from bondpremia.simulate.trace.codes import (
    _ROLE_FINAL,
    _ROLE_GONE,
    _ROLE_REVERSED,
    C_,
    SPECIAL_CONDITIONS,
    T_,
    W_,
    X_,
    Y_,
    BoolArray,
    IntArray,
)
from bondpremia.simulate.trace.frame import _duplicates, _frame
from bondpremia.simulate.trace.market import _Market, _yield_level, _yield_to_price
from bondpremia.simulate.trace.universe import _Bonds

_OPEN = 8 * 3600  # executions from 08:00:00 ...
_WINDOW = 9 * 3600 + 15 * 60  # ... to 17:15:00


@dataclass(frozen=True)
class NoiseRates:
    """How often each kind of message occurs (per genuine trade unless said otherwise).

    The defaults give about 1.5 messages per genuine trade, close to the share of erroneous and duplicate
    reports Dick-Nielsen (2014) documents (interdealer trades about a third of all trades). The module docstring
    describes each kind; the rare ones marked "at least one" occur at least once in every generation block (256
    bonds at most) whose rate is positive and where they can happen.
    """

    interdealer: float = 0.35  # genuine trades between two dealers
    interdealer_double: float = 0.80  # ... of which reported by both dealers (S kept, B deleted)
    interdealer_buy_only: float = 0.10  # ... of which reported by the buyer only (B, kept)
    interdealer_other_time: float = 0.5  # share of double reports whose B has another time (1 s to 10 min apart)
    interdealer_twin: float = 0.01  # share of double reports followed by a buy-only dealer trade with their 4 keys
    agency: float = 0.05  # customer trades done as agent (capacity A), mostly without commission
    late_report: float = 0.03  # genuine reports 1-3 business days late (asof_cd A)
    cancel: float = 0.02  # spurious reports later cancelled
    correct: float = 0.025  # genuine trades first reported with a wrong price or volume, then corrected
    correct_chain: float = 0.15  # share of same-day pre-2012 corrections corrected twice (T <- W1 <- W2)
    correct_later: float = 0.3  # share of pre-2012 corrections made on a later day (reversal R + new report A)
    number_collision: float = 0.15  # share of same-day pre-2012 customer corrections with another trade that day,
    # reported late under the corrected report's number
    shared_timestamp: float = 0.003  # pre-2012 customer trades given a second, corrected trade at the same time
    reverse: float = 0.01  # spurious reports later reversed
    reverse_twin: float = 0.002  # pre-2012 customer trades whose 6 keys a reversed spurious report shares
    reverse_other_time: float = 0.5  # share of pre-2012 reversals (R) whose execution time differs from the report's
    asof_xd: float = 0.004  # pre-2012 genuine trades repeated on a later report date with asof_cd X or D
    cross_format: float = 0.05  # per bond alive at 2012-02-06: a report of its last pre-2012 days cancelled (X/C)
    # or reversed (Y) in the post-2012 format (at least one of each when the sample straddles the change)
    duplicate: float = 0.003  # exact duplicate messages, share of all messages (at least one)
    when_issued: float = 0.004
    locked_in: float = 0.004
    special_condition: float = 0.015
    sale_condition2_at: float = 0.01  # genuine trades with sale_cndtn2_cd "@" (regular, kept)
    special_trade: float = 0.004  # spcl_trd_fl = Y
    long_settlement: float = 0.01  # days_to_sttl_ct 3 to 7 (many exactly 3, the regular T+3 of 2002-2017)
    tiny: float = 0.02  # volume below $10,000 par
    bad_print: float = 0.004  # price x100 or /100
    volume_typo: float = 0.002  # customer volumes above half the offering amount (intended x 1000, or the issue)
    reject: float = 0.0005  # unparseable rows (NULL price, CUSIP or execution date, zero volume)
    fisd_fail: float = 0.08  # share of FISD bonds failing one screen (at least one bond per screen when room)
    absent: float = 0.02  # bonds traded in TRACE but absent from FISD (share of n_bonds, at least one)
    eln: float = 0.02  # FISD bonds passing every screen that are equity-linked notes (share of n_bonds, at least one)
    amount_actions: float = 0.18  # FISD bonds with 1-3 amount-outstanding actions (calls, tenders, reopenings)


# --- one block of bonds: genuine trades, events, messages ----------------------------------------------------------

class _Messages:
    """Columns of messages under construction (internal codes; see ``_frame``).

    ``ent`` groups the messages that carry one set of trade terms (a trade's report and its copies, its
    reversal, cancellation or duplicates): :func:`_separate_keys` moves the volume of a whole group at once.
    ``role`` says what becomes of a message under preset ``bbw2019`` before the interdealer step:
    ``_ROLE_FINAL`` reaches the reversal step as a report (and, unless a filter takes it later, the end),
    ``_ROLE_REVERSED`` is the report a pre-2012 reversal deletes, ``_ROLE_GONE`` is deleted earlier, or is a
    reversal, cancellation or as-of copy itself.
    """

    #: the columns and their (compact) types
    COLS: dict[str, Any] = {
        "bond": np.int32, "xday": np.int32, "xsec": np.int32, "rday": np.int32, "rsec": np.int32, "prio": np.int8,
        "uid": np.int64, "trc": np.int8, "asof": np.int8, "wis": bool, "lckd": bool, "sale": np.int8,
        "sale2": np.int8, "spcl": bool, "sttl": np.int8, "price": np.float64, "vol": np.float64,
        "yld": np.float64, "side": np.int8, "cntra": np.int8, "bcap": np.int8, "scap": np.int8,
        "brate": np.float64, "srate": np.float64, "cmsn": np.int8, "ent": np.int64, "orig": np.int64,
        "reuse": np.int64, "want": np.int64, "role": np.int8, "truth": bool, "bad": np.int8}

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {c: [] for c in self.COLS}
        self.n = 0

    @classmethod
    def base(cls, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Trade columns in the compact types (so that appending copies less)."""
        return {c: np.asarray(v, dtype=cls.COLS[c]) for c, v in columns.items()}

    def add(self, base: dict[str, np.ndarray], idx: IntArray, **over: Any) -> IntArray:
        """Append one message per ``idx`` (rows of ``base``), overriding columns; returns the new uids."""
        k = idx.size
        uid = np.arange(self.n, self.n + k, dtype=np.int64)
        self.n += k
        row = {c: base[c][idx] for c in base if c not in over}
        row.update({"uid": uid, "orig": np.full(k, -1), "reuse": np.full(k, -1), "want": np.full(k, -1),
                    "truth": np.zeros(k, bool),
                    "bad": np.zeros(k, np.int8), "prio": np.zeros(k, np.int8),
                    "role": np.full(k, _ROLE_FINAL, np.int8)})
        for c, v in over.items():
            row[c] = np.broadcast_to(np.asarray(v), (k,))
        for c, kind in self.COLS.items():
            self.parts[c].append(np.asarray(row[c], dtype=kind))
        return uid

    def columns(self) -> dict[str, np.ndarray]:
        return {c: np.concatenate(v) for c, v in self.parts.items()}


def _later(mk: _Market, rng: np.random.Generator, rday: IntArray, rsec: IntArray,
           p_days: float) -> tuple[IntArray, IntArray]:
    """Report time of a follow-up message: later the same day, or (probability ``p_days``) 1-5 business days
    later, never crossing into the post-2012 format when the first report was pre-2012."""
    k = rday.size
    same_sec = np.minimum(rsec + rng.integers(30, 3601, k), 86_399)
    later = rng.random(k) < p_days
    nday = np.where(later, rday + rng.integers(1, 6, k), rday)
    nsec = np.where(later, _OPEN + rng.integers(0, 36_000, k), same_sec)
    cross = mk.pre[rday] & ~mk.pre[nday]
    return np.where(cross, rday, nday), np.where(cross, same_sec, nsec)


def _next_pre_day(mk: _Market, rng: np.random.Generator, day: IntArray) -> tuple[IntArray, BoolArray]:
    """A report day 1-5 business days after ``day`` (day indices) that is still before the format change, and
    whether one exists (``day`` itself pre-2012 and not its last day)."""
    last = mk.days.size - 1
    ok = mk.pre[day] & mk.pre[np.minimum(day + 1, last)]
    later = np.minimum(day + rng.integers(1, 6, day.size), last)
    return np.where(ok, np.where(mk.pre[later], later, day + 1), day), ok


def _moved(rng: np.random.Generator, sec: IntArray, lo: int, hi: int) -> IntArray:
    """Another execution time ``lo`` to ``hi`` seconds before or after ``sec``, inside the trading window."""
    k = sec.size
    gap = rng.integers(lo, hi + 1, k)
    sign = np.where(rng.random(k) < 0.5, -1, 1)
    t = sec + sign * gap
    return np.where((t < _OPEN) | (t >= _OPEN + _WINDOW), sec - sign * gap, t)


def _distinct_times(rng: np.random.Generator, key: IntArray) -> IntArray:
    """Execution times (seconds after midnight) distinct within each ``key`` (CUSIP and day), 08:00-17:15."""
    m = key.size
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    kmax = int(np.unique(key, return_counts=True)[1].max())
    if kmax >= _WINDOW // 2:
        raise InputError(f"{kmax} trades of one bond on one day do not fit distinct execution times; lower "
                         "trades_per_bond_month", column="trades_per_bond_month")
    u = rng.integers(0, _WINDOW - kmax, m)
    order = np.lexsort((u, key))
    ks = key[order]
    head = np.r_[True, ks[1:] != ks[:-1]]
    rank = np.arange(m) - np.maximum.accumulate(np.where(head, np.arange(m), 0))
    out = np.empty(m, dtype=np.int64)
    out[order] = u[order] + rank
    return _OPEN + out


#: Kinds of spurious executions: reported and then cancelled or reversed, or filtered by a BBW step, or rejected;
#: the last two are the cross-format events (reported before 2012-02-06, cancelled or reversed after).
_SPURIOUS = ("cancel", "reverse", "when_issued", "locked_in", "special_condition", "special_trade",
             "long_settlement", "tiny", "bad_print", "volume_typo", "reject", "cross_cancel", "cross_reverse")


def _simulate_block(b: _Bonds, mk: _Market, rng: np.random.Generator, per_month: float,
                    nz: NoiseRates) -> pl.DataFrame:
    """Messages of one block of bonds (CUSIP order), with a boolean ``_truth`` column."""
    nb, nd = b.n, mk.n_sample
    days = mk.days
    lo = np.searchsorted(days[:nd], b.start)
    hi = np.minimum(np.searchsorted(days[:nd], b.maturity), nd)
    alive = np.maximum(hi - lo, 0)
    # yields: persistent AR(1) per bond around a rating level, plus three market factors: a level factor, a slope
    # factor loading on short maturities (exp(-ttm / 5 years)) and a credit factor loading on low ratings
    ttm0 = (b.maturity - days[0]) / 365.25
    level = _yield_level(b.rating, ttm0)
    eps = 0.0004 * rng.standard_normal((nb, nd))
    eps[:, 0] += 0.0028 * rng.standard_normal(nb)
    common = (mk.factor[None, :] + np.exp(-np.clip(ttm0, 0.0, None) / 5.0)[:, None] * mk.slope[None, :]
              + ((b.rating - 1) / 10.0)[:, None] * mk.credit[None, :])
    yld = np.clip(level[:, None] + lfilter([1.0], [1.0, -0.99], eps, axis=1) + common, 0.002, 0.12)

    # genuine trades
    liquidity = rng.gamma(2.0, 0.5, nb)
    counts = rng.poisson(per_month * liquidity * alive / mk.per_month)
    g_bond = np.repeat(np.arange(nb), counts)
    n1 = g_bond.size
    g_day = lo[g_bond] + (rng.random(n1) * alive[g_bond]).astype(np.int64)
    r = rng.random(n1)
    kind = np.where(r < nz.interdealer * nz.interdealer_double, 1,
                    np.where(r < nz.interdealer * (nz.interdealer_double + nz.interdealer_buy_only), 3,
                             np.where(r < nz.interdealer, 2, 0)))  # 0 customer, 1 S+B pair, 2 S only, 3 B only
    late = rng.random(n1) < nz.late_report
    # pre-2012 customer trades that get a second trade at the same timestamp (both corrected)
    share1 = np.flatnonzero((kind == 0) & ~late & mk.pre[g_day] & (rng.random(n1) < nz.shared_timestamp))
    g_bond = np.r_[g_bond, g_bond[share1]]
    g_day = np.r_[g_day, g_day[share1]]
    kind = np.r_[kind, np.zeros(share1.size, np.int64)]
    late = np.r_[late, np.zeros(share1.size, bool)]
    n = g_bond.size
    share2 = np.arange(n1, n)

    customer = kind == 0
    side = np.where(customer, (rng.random(n) < 0.5).astype(np.int64), np.where(kind == 3, 0, 1))
    logv = np.where(customer, rng.normal(4.9, 0.8, n), rng.normal(5.9, 0.45, n))
    vol = np.clip(np.round(10.0**logv / 1000.0) * 1000.0, 10_000.0, 25_000_000.0)
    vol = np.where(rng.random(n) < 0.01, 10_000.0, vol)
    vol[share2] = np.where(vol[share2] == vol[share1], vol[share2] + 1000.0, vol[share2])
    agency = customer & (rng.random(n) < nz.agency)
    agency[share2] = False
    cap = np.where(agency, 1, 2)
    bcap = np.where(customer & (side == 1), 0, cap)
    scap = np.where(customer & (side == 0), 0, cap)
    cmsn_y = customer & (rng.random(n) < np.where(agency, 0.15, 0.08))
    rate = np.where(cmsn_y, np.round(rng.uniform(0.05, 2.0, n), 2), np.nan)
    ttm = np.maximum((b.maturity[g_bond] - days[g_day]) / 365.25, 1 / 365.25)
    y = yld[g_bond, g_day]
    clean = _yield_to_price(y, b.coupon[g_bond], b.freq[g_bond], ttm)
    spread = np.where(customer, np.where(side == 1, 0.125, -0.125), 0.0)
    price = np.round(np.maximum(clean + spread + np.where(customer, 0.12, 0.04) * rng.standard_normal(n), 8.0), 3)
    lag = mk.lag[g_day]
    u = rng.random(n)
    sttl = np.where(u < 0.7, -1, np.where(u < 0.9, np.minimum(lag, 2), rng.integers(0, 3, n)))  # NULL or 0-2 days
    sale = np.where(rng.random(n) < 0.12, 1, 0)
    sale2 = np.where(rng.random(n) < nz.sale_condition2_at, 1, 0)

    # spurious executions (cancelled, reversed, filtered, rejected), on the days of random genuine trades
    sp_counts = [rng.binomial(n, getattr(nz, k)) if n else 0 for k in _SPURIOUS[:-2]]
    host = rng.integers(0, max(n, 1), sum(sp_counts))
    sp_type = np.repeat(np.arange(len(sp_counts)), sp_counts)
    sp_bond, sp_day = g_bond[host], g_day[host]
    # cross-format events: reports of the last five pre-2012 business days, cancelled or reversed in the first
    # five post-2012 days, on bonds alive throughout (at least one cancellation and one reversal)
    n_pre = int(mk.pre[:nd].sum())  # index of the first post-2012 day
    first5 = max(n_pre - 5, 0)
    cand = np.flatnonzero((lo <= first5) & (hi >= n_pre)) if 0 < n_pre < nd and nz.cross_format > 0 else lo[:0]
    if cand.size:
        k = max(2, int(rng.binomial(cand.size, nz.cross_format)))
        cross = np.r_[0, 1, (rng.random(k - 2) < 0.5).astype(np.int64)]
        sp_type = np.r_[sp_type, len(_SPURIOUS) - 2 + cross]
        sp_bond = np.r_[sp_bond, rng.choice(cand, k)]
        sp_day = np.r_[sp_day, first5 + rng.integers(0, n_pre - first5, k)]
    m = sp_type.size
    times = _distinct_times(rng, np.r_[g_bond, sp_bond] * nd + np.r_[g_day, sp_day])
    xsec, sp_sec = times[:n], times[n:]
    xsec[share2] = xsec[share1]

    delay = 2 + np.minimum(rng.exponential(90.0, n), 880.0).astype(np.int64)
    rday = np.where(late, g_day + rng.integers(1, 4, n), g_day)
    rsec = np.where(late, _OPEN + rng.integers(0, 36_000, n), xsec + delay)
    yld_pt = np.where(rng.random(n) < 0.95, np.round(100 * y, 3), np.nan)

    g = _Messages.base({"bond": g_bond, "xday": g_day, "xsec": xsec, "rday": rday, "rsec": rsec,
             "trc": np.zeros(n, np.int64), "asof": np.where(late, 1, 0), "wis": np.zeros(n, bool),
             "lckd": np.zeros(n, bool), "sale": sale, "sale2": sale2, "spcl": np.zeros(n, bool), "sttl": sttl,
             "price": price, "vol": vol, "yld": yld_pt, "side": side, "cntra": (~customer).astype(np.int64),
             "bcap": bcap, "scap": scap, "brate": np.where(side == 0, rate, np.nan),
             "srate": np.where(side == 1, rate, np.nan), "cmsn": np.where(cmsn_y, 2, 1),
             "ent": np.arange(n, dtype=np.int64)})
    eligible = b.eligible[g_bond] & (b.maturity[g_bond] - days[g_day] >= 365)
    pre = mk.pre[rday]
    rnext, rnext_ok = _next_pre_day(mk, rng, rday)  # a later pre-2012 report day, for reversals and as-of copies

    # events on genuine trades: corrections (same-day pre-2012 W chains, later-day pre-2012 reversal + new report,
    # post-2012 X + new T), twins of reversed reports (pre-2012 customer trades)
    ev = rng.random(n)
    corr = ev < nz.correct
    corr[share1] = True
    corr[share2] = True
    shared = np.zeros(n, bool)
    shared[np.r_[share1, share2]] = True
    twin = ~corr & (ev < nz.correct + nz.reverse_twin) & pre & customer & rnext_ok
    fix_later = corr & pre & ~shared & rnext_ok & (rng.random(n) < nz.correct_later)
    chain = corr & pre & ~fix_later & (rng.random(n) < nz.correct_chain)
    next_ent = n + m  # entity ids: genuine trades 0..n-1, spurious executions n..n+m-1, then wrong terms

    def wrong(idx: IntArray) -> dict[str, np.ndarray]:
        """Misreported terms (a wrong price, fat finger, or a wrong volume), a new entity."""
        nonlocal next_ent
        k = idx.size
        p_bad = rng.random(k) < 0.5
        bump = np.round(rng.uniform(0.25, 3.0, k), 3) * np.where(rng.random(k) < 0.5, -1.0, 1.0)
        v_bad = np.round(g["vol"][idx] * rng.choice(np.array([10.0, 0.5, 2.0]), k) / 1000.0) * 1000.0
        next_ent += k
        return {"price": np.where(p_bad, g["price"][idx] + bump, g["price"][idx]),
                "vol": np.where(p_bad, g["vol"][idx], np.maximum(v_bad, 1000.0) + 1000.0 * (v_bad == g["vol"][idx])),
                "ent": np.arange(next_ent - k, next_ent)}

    def reversal_time(sec: IntArray) -> IntArray:
        """Execution time of a pre-2012 reversal: its report's, or (share ``reverse_other_time``) another one."""
        return np.where(rng.random(sec.size) < nz.reverse_other_time, _moved(rng, sec, 1, 3600), sec)

    msgs = _Messages()
    plain = np.flatnonzero(~corr)
    msgs.add(g, plain, truth=eligible[plain])
    # pre-2012 same-day corrections: T (wrong) <- [W1 (wrong)] <- W (true), all on the T's report date
    idx = np.flatnonzero(corr & pre & ~fix_later)
    first_uid = msgs.add(g, idx, role=_ROLE_GONE, **wrong(idx))
    ch = chain[idx]
    w1sec = rsec[idx] + rng.integers(30, 3601, idx.size)
    w1_uid = msgs.add(g, idx[ch], rsec=w1sec[ch], trc=W_, orig=first_uid[ch], prio=1, role=_ROLE_GONE,
                      **wrong(idx[ch]))
    prev_uid = first_uid.copy()
    prev_uid[ch] = w1_uid
    wsec = np.where(ch, w1sec, rsec[idx]) + rng.integers(30, 3601, idx.size)
    msgs.add(g, idx, rsec=wsec, trc=W_, orig=prev_uid, prio=2, truth=eligible[idx])
    # number collisions within an execution date: another customer trade of the same bond and day, reported late
    # (asof A) and numbered on its report date like the corrected first report (a W matched on the execution date
    # instead of the report date would delete it)
    pick = customer[idx] & rnext_ok[idx] & (rng.random(idx.size) < nz.number_collision)
    i, k = idx[pick], int(pick.sum())
    nudge = np.round(rng.uniform(0.05, 0.5, k), 3) * np.where(rng.random(k) < 0.5, -1.0, 1.0)
    other_vol = np.clip(np.round(10.0 ** rng.normal(4.9, 0.8, k) / 1000.0) * 1000.0, 10_000.0, 25_000_000.0)
    msgs.add(g, i, xsec=_moved(rng, xsec[i], 1, 3600), price=g["price"][i] + nudge, vol=other_vol,
             rday=rnext[i], rsec=_OPEN + rng.integers(0, 36_000, k), asof=1,
             ent=np.arange(next_ent, next_ent + k), want=first_uid[pick], truth=eligible[i])
    next_ent += k
    # pre-2012 corrections on a later day: the wrong report, its reversal (asof R) and a new report (asof A)
    idx = np.flatnonzero(fix_later)
    bad_terms = wrong(idx)
    msgs.add(g, idx, role=_ROLE_REVERSED, **bad_terms)
    vsec = _OPEN + rng.integers(0, 36_000, idx.size)
    msgs.add(g, idx, xsec=reversal_time(xsec[idx]), rday=rnext[idx], rsec=vsec, asof=2, prio=1, role=_ROLE_GONE,
             **bad_terms)
    msgs.add(g, idx, rday=rnext[idx], rsec=vsec, asof=1, prio=2, truth=eligible[idx])
    # post-2012 corrections: T (wrong), X (same msg_seq_nb, same keys), new T (true)
    idx = np.flatnonzero(corr & ~pre)
    bad_terms = wrong(idx)
    t_uid = msgs.add(g, idx, role=_ROLE_GONE, **bad_terms)
    xday, xsec2 = _later(mk, rng, rday[idx], rsec[idx], 0.2)
    msgs.add(g, idx, rday=xday, rsec=xsec2, trc=X_, reuse=t_uid, prio=1, role=_ROLE_GONE, **bad_terms)
    msgs.add(g, idx, rday=xday, rsec=xsec2, asof=np.where(xday > g_day[idx], 1, 0), prio=2, truth=eligible[idx])
    # interdealer double counts: the buyer's report of a pair, often at another time (the dealers' clocks differ)
    idx = np.flatnonzero(kind == 1)
    k = idx.size
    bsec = np.where(rng.random(k) < nz.interdealer_other_time, _moved(rng, xsec[idx], 1, 600), xsec[idx])
    d2 = 2 + np.minimum(rng.exponential(90.0, k), 880.0).astype(np.int64)
    msgs.add(g, idx, side=0, xsec=bsec, rday=g_day[idx], rsec=bsec + d2, asof=0)
    # a buy-only dealer trade with the 4 keys of a pair, executed after both its reports (the one-to-one
    # interdealer step deletes the pair's buy report, the first in time, and keeps it; an any-match rule both)
    after = np.maximum(xsec[idx], bsec) + rng.integers(1, 601, k)
    pick = (rng.random(k) < nz.interdealer_twin) & (after < _OPEN + _WINDOW)
    i = idx[pick]
    msgs.add(g, i, side=0, xsec=after[pick], rday=g_day[i], rsec=after[pick] + d2[pick], asof=0,
             truth=eligible[i])
    # twins: a spurious report with the 6 keys of a genuine trade, first in the reversal step's order (the same
    # time and reported just before it, or executed up to 5 minutes earlier), reversed on a later day
    idx = np.flatnonzero(twin)
    k = idx.size
    gap = rng.integers(1, 301, k)
    early = (rng.random(k) < 0.5) & (xsec[idx] - gap >= _OPEN)
    t_sec = np.where(early, xsec[idx] - gap, xsec[idx])
    msgs.add(g, idx, xsec=t_sec, rsec=np.where(early, t_sec + 1 + gap // 2, rsec[idx] - 1), role=_ROLE_REVERSED)
    msgs.add(g, idx, xsec=reversal_time(t_sec), rday=rnext[idx], rsec=_OPEN + rng.integers(0, 36_000, k), asof=2,
             prio=1, role=_ROLE_GONE)
    # pre-2012 as-of copies (asof_cd X or D) of a genuine report's 7 keys on a later report date
    idx = np.flatnonzero(~corr & pre & rnext_ok & (rng.random(n) < nz.asof_xd))
    k = idx.size
    msgs.add(g, idx, rday=rnext[idx], rsec=_OPEN + rng.integers(0, 36_000, k),
             asof=np.where(rng.random(k) < 0.5, 3, 4), prio=1, role=_ROLE_GONE)

    # spurious executions
    k = m
    t = {name: sp_type == i for i, name in enumerate(_SPURIOUS)}
    sp_customer = (rng.random(k) < 0.75) | t["volume_typo"]
    sp_side = (rng.random(k) < 0.5).astype(np.int64)
    sp_ttm = np.maximum((b.maturity[sp_bond] - days[sp_day]) / 365.25, 1 / 365.25)
    sp_y = yld[sp_bond, sp_day]
    sp_price = np.round(np.maximum(_yield_to_price(sp_y, b.coupon[sp_bond], b.freq[sp_bond], sp_ttm)
                                   + 0.12 * rng.standard_normal(k), 8.0), 3)
    sp_vol = np.clip(np.round(10.0 ** rng.normal(4.9, 0.8, k) / 1000.0) * 1000.0, 10_000.0, 25_000_000.0)
    sp_sttl = np.where(rng.random(k) < 0.65, -1, rng.integers(0, 3, k))
    times100 = (sp_price > 10.01) & (rng.random(k) < 0.5)  # a x100 typo leaves [5, 1000] only above 10
    sp_price = np.where(t["bad_print"], np.where(times100, np.round(sp_price * 100.0, 3),
                                                 np.round(sp_price / 100.0, 3)), sp_price)
    intended = sp_vol * 1000.0  # a volume typo: the intended volume times 1000, or the whole issue
    issue = b.offering[sp_bond] * 1000.0
    sp_vol = np.where(t["volume_typo"], np.where(intended > 0.5 * issue, intended, issue), sp_vol)
    sp_vol = np.where(t["tiny"], rng.integers(1, 10, k) * 1000.0, sp_vol)
    sp_vol = np.where(t["reject"] & (rng.random(k) < 0.25), 0.0, sp_vol)
    three = (mk.lag[sp_day] == 3) & (rng.random(k) < 0.6)  # the regular T+3 of 2002-2017, now too long
    sp_sttl = np.where(t["long_settlement"], np.where(three, 3, rng.integers(3, 8, k)), sp_sttl)
    # special conditions in the first code, the second or both; the other regular (NULL or @)
    where_code = rng.integers(0, 3, k)
    regular = np.where(rng.random(k) < 0.12, 1, 0)
    code = rng.integers(2, 2 + len(SPECIAL_CONDITIONS), (2, k))
    special = t["special_condition"]
    sp_cap = np.full(k, 2)
    s = _Messages.base({"bond": sp_bond, "xday": sp_day, "xsec": sp_sec, "rday": sp_day,
             "rsec": sp_sec + 2 + np.minimum(rng.exponential(90.0, k), 880.0).astype(np.int64),
             "trc": np.zeros(k, np.int64), "asof": np.zeros(k, np.int64), "wis": t["when_issued"],
             "lckd": t["locked_in"], "sale": np.where(special & (where_code != 1), code[0], regular),
             "sale2": np.where(special & (where_code != 0), code[1], 0), "spcl": t["special_trade"],
             "sttl": sp_sttl, "price": sp_price, "vol": sp_vol,
             "yld": np.where(t["bad_print"], np.nan, np.round(100 * sp_y, 3)), "side": sp_side,
             "cntra": (~sp_customer).astype(np.int64),
             "bcap": np.where(sp_customer & (sp_side == 1), 0, sp_cap),
             "scap": np.where(sp_customer & (sp_side == 0), 0, sp_cap),
             "brate": np.full(k, np.nan), "srate": np.full(k, np.nan), "cmsn": np.ones(k, np.int64),
             "ent": n + np.arange(k, dtype=np.int64)})
    sp_pre = mk.pre[sp_day]
    # cancellations: pre-2012 C on the same report date (orig_msg_seq_nb), post-2012 X or C (same msg_seq_nb)
    idx = np.flatnonzero(t["cancel"])
    k = idx.size
    c_uid = msgs.add(s, idx, role=_ROLE_GONE)
    cday, csec = _later(mk, rng, sp_day[idx], s["rsec"][idx], 0.1)
    pre_i = sp_pre[idx]
    msgs.add(s, idx, rday=np.where(pre_i, sp_day[idx], cday),
             rsec=np.where(pre_i, s["rsec"][idx] + rng.integers(30, 3601, k), csec), prio=1,
             trc=np.where(pre_i, C_, np.where(rng.random(k) < 0.5, X_, C_)), orig=np.where(pre_i, c_uid, -1),
             reuse=np.where(pre_i, -1, c_uid), role=_ROLE_GONE)
    # reversals: pre-2012 asof R on a later pre-2012 day; post-2012 Y; a pre-2012 report of the last pre-2012 day
    # has no later pre-2012 day and is reversed by a post-2012 Y (cross-format)
    idx = np.flatnonzero(t["reverse"])
    k = idx.size
    pre_i = sp_pre[idx]
    rv_day, as_r = _next_pre_day(mk, rng, sp_day[idx])
    r_uid = msgs.add(s, idx, role=np.where(as_r, _ROLE_REVERSED, _ROLE_GONE))
    vday, vsec = _later(mk, rng, sp_day[idx], s["rsec"][idx], 0.6)
    vday = np.where(pre_i, sp_day[idx] + rng.integers(1, 4, k), vday)  # as_r, or the next days are post-2012
    vsec = np.where(pre_i, _OPEN + rng.integers(0, 36_000, k), vsec)
    msgs.add(s, idx, xsec=np.where(as_r, reversal_time(sp_sec[idx]), sp_sec[idx]), rday=np.where(as_r, rv_day, vday),
             rsec=vsec, prio=1, asof=2, trc=np.where(as_r, T_, Y_), orig=np.where(as_r, -1, r_uid),
             role=_ROLE_GONE)
    # cross-format: a post-2012 X or C (same number and keys) or Y (orig_msg_seq_nb) of a pre-2012 report
    idx = np.flatnonzero(t["cross_cancel"] | t["cross_reverse"])
    k = idx.size
    x_uid = msgs.add(s, idx, role=_ROLE_GONE)
    cancel = t["cross_cancel"][idx]
    msgs.add(s, idx, rday=n_pre + rng.integers(0, 5, k), rsec=_OPEN + rng.integers(0, 36_000, k), prio=1,
             trc=np.where(cancel, np.where(rng.random(k) < 0.5, X_, C_), Y_), asof=np.where(cancel, 0, 2),
             reuse=np.where(cancel, x_uid, -1), orig=np.where(cancel, -1, x_uid), role=_ROLE_GONE)
    # filtered trades and rejects
    rejected = t["reject"]
    idx = np.flatnonzero(~(t["cancel"] | t["reverse"] | t["cross_cancel"] | t["cross_reverse"]))
    bad = np.where(rejected[idx], rng.integers(1, 4, idx.size), 0)  # 1 price, 2 CUSIP, 3 date (or volume 0)
    bad = np.where(rejected[idx] & (s["vol"][idx] == 0.0), 0, bad)
    msgs.add(s, idx, bad=bad, role=np.where(rejected[idx], _ROLE_GONE, _ROLE_FINAL))
    c = msgs.columns()
    return _frame(c, _duplicates(c, rng, nz.duplicate), b, mk, rng)
