"""A simulated Enhanced TRACE market with known truth: FISD reference rows and their amount-outstanding history, raw
messages with the reporting errors and quirks of real TRACE that the cleaning rules undo, the trades that must
survive, and the bond-month returns they imply.

No TRACE data is public, so the TRACE stage is tested against this market. The truth trades are defined as what
the default cleaning preset ``bbw2019`` of ``docs/trace.md`` must keep, and every quirk below is built so that the
rules, read as documented, recover them exactly (and a rule read differently does not). "Pre-2012" means a report
date (``trd_rpt_dt``) before 2012-02-06, "post-2012" on or after it; the 7 keys are ``cusip_id, trd_exctn_dt,
trd_exctn_tm, rptd_pr, entrd_vol_qt, rpt_side_cd, cntra_mp_id``, the 6 keys the 7 without the time, the 4 keys
``cusip_id, trd_exctn_dt, rptd_pr, entrd_vol_qt``.

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

The matching keys never collide by accident: message numbers are unique within a CUSIP and report date, and the
volumes of trades whose 6 keys (a reversed report), 4 keys (dealer reports) or 7 keys and number (a post-2012
cancellation or reversal) would collide with another trade's are moved by $1,000 steps (:func:`_separate_keys`).

Genuine trades happen on SIFMA business days. Each bond's yield follows a persistent AR(1) around a rating-based
level plus three common factors (a level factor, a slope factor loading ``exp(-ttm / 5 years)`` and a credit
factor loading ``(rating - 1) / 10``); the clean price is the bond's price at that yield (pull to par included),
trades add a small bid-ask and noise and are rounded to 3 decimals; volumes are lognormal, $10,000 to $25M par,
rounded to $1,000. Execution times are distinct within a CUSIP and day except where an event needs a collision
(twins, the pairs of corrections sharing a timestamp, the buy reports of pairs). ``stlmnt_dt`` is the execution
date plus ``days_to_sttl_ct`` SIFMA business days (the regular lag when it is NULL: T+3, T+2 from 2017-09-05, T+1
from 2024-05-28).

**Amount outstanding** (``SimulatedTrace.amount_outstanding``, ``fisd_amt_out.parquet``), in the layout of FISD's
amount-outstanding history: ``issue_id``, ``complete_cusip``, ``action_type``, ``effective_date``, ``action_amount``
and ``amount_outstanding`` (thousands of dollars, the amount after the action). About 18% of the bonds
(``amount_actions``) have 1 to 3 actions, before or inside the window: ``CALL`` (a partial call), ``TENDER`` (a
tender offer), ``REOPEN`` (a reopening); a bond that matures inside the window has a ``MATURE`` row taking it to 0.
These ``action_type`` labels are the simulator's own, not FISD's codes. FISD's static ``amount_outstanding`` is
the amount after the bond's last action (a snapshot taken at the end of the window), ``offering_amt`` the amount
at issue.

The truth:

- ``truth_trades``: the genuine trades that survive preset ``bbw2019``, as the message rows that survive (the
  final ``W`` of a same-day pre-2012 correction, the ``A`` report of a later-day one, the new ``T`` of a post-2012
  correction, the ``S`` report of an interdealer pair, the first copy of a duplicate), sorted like the cleaner's
  output (``cusip_id, trd_exctn_dt, trd_exctn_tm, msg_seq_nb``). The preset's steps, in order: (1) ``dedupe``:
  exact duplicates keep the first copy; (2) ``fisd_screens``; (3) ``sub_product``: ``sub_prdct`` present and not
  ``CORP``; (4) ``dn14_cancel``: a post-2012 ``X``/``C`` and every report (post-2012 ``T``/``R``, pre-2012
  ``T``/``W``) with its 7 keys and ``msg_seq_nb``; (5) ``dn14_reversal``: a post-2012 ``Y`` and every such report
  with its 7 keys and ``msg_seq_nb = Y.orig_msg_seq_nb``; (6) ``dn09_cancel``: a pre-2012 ``C`` and the pre-2012
  ``T``/``W`` with the same CUSIP, execution date and time, price, volume and ``trd_rpt_dt``, ``msg_seq_nb =
  C.orig_msg_seq_nb``; (7) ``dn09_correct``: a pre-2012 ``T``/``W`` to which a pre-2012 ``W`` with the same CUSIP
  and ``trd_rpt_dt`` points (``orig_msg_seq_nb``); (8) ``dn09_reversal``: pre-2012 rows with ``asof_cd`` ``R``,
  ``X`` or ``D``, and for the ``k`` ``R`` rows of a 6-key group reported after their trade date, the first ``k``
  pre-2012 ``T``/``W`` reports (not ``R/X/D``) of the group in order of ``trd_exctn_tm, trd_rpt_dt, trd_rpt_tm,
  msg_seq_nb``, input order; (9) ``interdealer``: dealer buys (``B``, ``D``) matched one to one with dealer sells
  (``S``, ``D``) on the 4 keys, both ranked by ``trd_exctn_tm, msg_seq_nb``, input order; (10)-(16)
  ``when_issued``, ``locked_in``, ``special_condition`` (either code present and not ``@``), ``special_trade``,
  ``long_settlement`` (``days_to_sttl_ct > 2``), ``price_range``, ``min_volume``, ``volume_vs_issue``
  (``entrd_vol_qt > 0.5 * offering_amt * 1000``) and ``short_maturity``.
- ``truth_monthly``: bond-month returns (Bai, Bali and Wen 2019, Section 2) computed here from ``truth_trades``
  with this module's own coupon schedules and day counts (:func:`oracle_accrued_interest`,
  :func:`oracle_coupon_cash`), independently of :mod:`bondpremia.trace` and of the bond math in
  :mod:`bondpremia.fixed_income` (only the SIFMA calendar is shared). Definitions:

  * daily price: ``prc_vw_par``, the par-volume-weighted mean of ``rptd_pr`` per CUSIP and execution date;
  * ``price``/``price_date``: the daily price on the last day with trades among the last five SIFMA business days
    of the month; ``start_price``/``start_date``: the first day with trades among the first five;
  * ``accrued``, ``start_accrued``: accrued interest per 100 par at those dates; ``coupon_cash``: coupons per 100
    par paid in the holding window of ``ret``, ``(previous price_date, price_date]`` for ``ret_type = 'end'``,
    ``(start_date, price_date]`` for ``'start'`` (NULL when ``ret`` is NULL);
  * ``ret_end = (P_t + AI_t + C) / (P_{t-1} + AI_{t-1}) - 1`` when the bond also has a month-end price in the
    previous calendar month; ``ret_start = (P_t + AI_t + C) / (P_start + AI_start) - 1`` when the month has a start
    price on another day; ``ret`` is ``ret_end`` if it exists, else ``ret_start`` (``ret_type`` says which);
    ``rf`` from :func:`simulated_tbill`, ``exret = ret - rf``;
  * ``amount_outstanding``: the amount outstanding at the end of the month in dollars (thousands x 1000): the
    ``amount_outstanding`` of the bond's last history row with ``effective_date`` on or before the month's last
    calendar day, else ``offering_amt``; ``mv = (price + accrued) / 100 * amount_outstanding``, ``mv_weight = mv /
    (sum of mv over the month's rows)``;
  * ``n_trades``, ``vol_par``: number and par volume of the bond's truth trades in the whole calendar month.

  **Row-existence rule**: one row per bond (passing every FISD screen) and month in which the bond has a
  month-end price, i.e. at least one truth trade on one of the last five SIFMA business days of the month. (A
  start-to-end return needs the month-end price too, so no other month has a return.) ``ret`` is NULL in such a
  month when neither return exists.

Accrued interest and coupons (the oracle's own bond math): the schedule runs from ``first_interest_date`` to
``maturity`` in steps of ``12 / interest_frequency`` months on the maturity's day of the month (which is 1..28:
the simulated bonds have no end-of-month ambiguity); the first period runs from ``dated_date``. Accrued interest
at ``d`` in the period ``[start, end)`` is ``100 c * D360(start, d) / 360`` under 30/360 US bond basis
(``D360 = 360 (Y2 - Y1) + 30 (M2 - M1) + (D2 - D1)``, ``D1 = 31 -> 30``, ``D2 = 31 -> 30`` when ``D1 >= 30``) and
``100 c / f * (d - start) / (end - ref)`` under ACT/ACT ICMA, ``ref`` being the start of the quasi-coupon period
ending at ``end`` (the previous coupon date, or ``end - 12/f`` months for a short first coupon). Regular coupons
pay ``100 c / f``; a short first coupon pays ``100 c * D360(dated, first) / 360`` or ``100 c / f * (first - dated)
/ (first - ref)``. Zero-coupon bonds accrue nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.signal import lfilter

from bondpremia.errors import InputError
from bondpremia.fixed_income.calendar import bond_market_days
from bondpremia.schema import MONTHLY

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: First report date of the post-2012 Enhanced TRACE format (Dick-Nielsen 2014).
FORMAT_CHANGE = dt.date(2012, 2, 6)
#: Regular settlement lags by first trade date (T+3, T+2 from 2017-09-05, T+1 from 2024-05-28).
SETTLEMENT_LAGS: tuple[tuple[dt.date, int], ...] = (
    (dt.date(1900, 1, 1), 3), (dt.date(2017, 9, 5), 2), (dt.date(2024, 5, 28), 1))
#: S&P letter ratings; ``rating_num`` is the 1-based position (AAA = 1 ... D = 22).
RATINGS = ("AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-", "BB+", "BB", "BB-", "B+", "B", "B-",
           "CCC+", "CCC", "CCC-", "CC", "C", "D")
#: FISD fields set, one per bond, on the bonds that must fail a screen (``docs/trace.md``).
FISD_FAILURES = ("foreign_currency", "country_domicile", "convertible", "asset_backed", "rule_144a",
                 "private_placement", "bond_type", "coupon_type", "interest_frequency_13",
                 "interest_frequency_-1", "day_count_basis", "dated_date")
#: Sale condition codes of special trades (excluded by ``special_condition``).
SPECIAL_CONDITIONS = ("C", "N", "R", "S", "W", "Z")

#: Enhanced TRACE columns of the simulated messages, in order, with their types.
MESSAGE_SCHEMA: dict[str, Any] = {
    "cusip_id": pl.String, "bond_sym_id": pl.String, "trd_exctn_dt": pl.Date, "trd_exctn_tm": pl.Time,
    "trd_rpt_dt": pl.Date, "trd_rpt_tm": pl.Time, "msg_seq_nb": pl.Int64, "orig_msg_seq_nb": pl.Int64,
    "trc_st": pl.String, "asof_cd": pl.String, "wis_fl": pl.String, "lckd_in_ind": pl.String,
    "sale_cndtn_cd": pl.String, "sale_cndtn2_cd": pl.String, "days_to_sttl_ct": pl.Int64, "stlmnt_dt": pl.Date,
    "rptd_pr": pl.Float64, "entrd_vol_qt": pl.Float64, "yld_pt": pl.Float64, "rpt_side_cd": pl.String,
    "cntra_mp_id": pl.String, "buy_cpcty_cd": pl.String, "sell_cpcty_cd": pl.String, "buy_cmsn_rt": pl.Float64,
    "sell_cmsn_rt": pl.Float64, "cmsn_trd": pl.String, "spcl_trd_fl": pl.String, "sub_prdct": pl.String,
}
#: ``action_type`` labels of the amount-outstanding history (the simulator's own labels, not FISD codes): partial
#: call, tender offer, reopening (tap), redemption at maturity.
AMOUNT_ACTIONS = ("CALL", "TENDER", "REOPEN", "MATURE")
#: Columns of the amount-outstanding history (``fisd_amt_out.parquet``), FISD's layout.
AMOUNT_SCHEMA: dict[str, Any] = {
    "issue_id": pl.Int64, "complete_cusip": pl.String, "action_type": pl.String, "effective_date": pl.Date,
    "action_amount": pl.Float64, "amount_outstanding": pl.Float64,
}
#: Columns of ``truth_monthly``: the contract of the pipeline's ``monthly.parquet`` (:data:`bondpremia.schema.MONTHLY`).
MONTHLY_COLUMNS = MONTHLY.names

_BLOCK_BONDS = 256  # at most this many bonds per generation block (a block's random stream: (seed, block index))
_BLOCK_MESSAGES = 500_000  # ... and about this many messages
_OPEN = 8 * 3600  # executions from 08:00:00 ...
_WINDOW = 9 * 3600 + 15 * 60  # ... to 17:15:00
_FORMAT_CHANGE_DAY = int(np.datetime64(FORMAT_CHANGE, "D").astype(np.int64))
_STREAM_FISD, _STREAM_ABSENT, _STREAM_MARKET, _STREAM_BLOCK, _STREAM_FACTORS, _STREAM_ELN = 11, 12, 13, 14, 15, 16

# internal codes of the message columns
_TRC = ["T", "C", "W", "X", "Y"]
T_, C_, W_, X_, Y_ = range(5)
_ASOF: list[str | None] = [None, "A", "R", "X", "D"]
_ROLE_FINAL, _ROLE_REVERSED, _ROLE_GONE = 0, 1, 2  # see _separate_keys
_SALE: list[str | None] = [None, "@", *SPECIAL_CONDITIONS]
_CAP: list[str | None] = [None, "A", "P"]
_CMSN: list[str | None] = [None, "N", "Y"]
_SIDE = ["B", "S"]
_CNTRA = ["C", "D"]


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


@dataclass(frozen=True)
class SimulatedTrace:
    """A simulated TRACE market: FISD rows, raw messages and the truth (see the module docstring)."""

    fisd: pl.DataFrame
    messages: pl.DataFrame
    truth_trades: pl.DataFrame
    truth_monthly: pl.DataFrame
    rates: pl.DataFrame
    amount_outstanding: pl.DataFrame  # FISD-like amount-outstanding history (AMOUNT_SCHEMA)


# --- dates ---------------------------------------------------------------------------------------------------------

def _month(value: Any, argument: str) -> int:
    """Months since 1970-01 of a ``YYYY-MM`` (or ISO date) string or date."""
    from bondpremia.validate import month

    return int(month(value, argument).ordinal)


def _on_day(months: IntArray, day: IntArray) -> IntArray:
    """Days since 1970-01-01 of the given day (clamped to the month's length) in the given months."""
    first = np.asarray(months, dtype=np.int64).astype("datetime64[M]").astype("datetime64[D]")
    nxt = (np.asarray(months, dtype=np.int64) + 1).astype("datetime64[M]").astype("datetime64[D]")
    length = (nxt - first).astype(np.int64)
    return first.astype(np.int64) + np.minimum(day, length) - 1


def _ymd(days: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    return y, m.astype(np.int64) % 12 + 1, (d - m.astype("datetime64[D]")).astype(np.int64) + 1


def _days_30_360(start: IntArray, end: IntArray) -> IntArray:
    """30/360 US bond basis day count (D1 = 31 -> 30; D2 = 31 -> 30 when D1 >= 30)."""
    y1, m1, d1 = _ymd(start)
    y2, m2, d2 = _ymd(end)
    d1 = np.where(d1 == 31, 30, d1)
    d2 = np.where((d2 == 31) & (d1 >= 30), 30, d2)
    return 360 * (y2 - y1) + 30 * (m2 - m1) + (d2 - d1)


def _date_series(name: str, days: IntArray, null: BoolArray | None = None) -> pl.Series:
    s = pl.Series(name, np.asarray(days, dtype=np.int32)).cast(pl.Date)
    if null is not None and null.any():
        s = s.scatter(np.flatnonzero(null), None)
    return s


def _time_series(name: str, seconds: IntArray) -> pl.Series:
    return pl.Series(name, np.asarray(seconds, dtype=np.int64) * 1_000_000_000).cast(pl.Time)


def _labels(name: str, codes: npt.NDArray[Any], labels: Sequence[str | None]) -> pl.Series:
    return pl.Series(name, list(labels), dtype=pl.String).gather(np.asarray(codes, dtype=np.int64)).alias(name)


def _float_series(name: str, values: FloatArray) -> pl.Series:
    return pl.Series(name, values, dtype=pl.Float64).fill_nan(None)


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


# --- the market: calendar, settlement lags, common factor ----------------------------------------------------------

@dataclass(frozen=True)
class _Market:
    start_mi: int
    n_months: int
    days: IntArray  # SIFMA business days (days since epoch) from the first sample month to 40 days after the end
    n_sample: int  # business days inside the sample months
    pre: BoolArray  # per day: before the post-2012 format
    lag: IntArray  # per day: regular settlement lag
    factor: FloatArray  # per sample day: common yield factor (decimal)
    slope: FloatArray  # per sample day: slope factor (decimal), loading exp(-ttm / 5 years)
    credit: FloatArray  # per sample day: credit factor (decimal), loading (rating - 1) / 10

    @property
    def per_month(self) -> float:
        return self.n_sample / self.n_months


def _market(seed: int, start_mi: int, n_months: int) -> _Market:
    first = np.datetime64(int(start_mi), "M").astype("datetime64[D]")
    last = np.datetime64(int(start_mi + n_months), "M").astype("datetime64[D]") - np.timedelta64(1, "D")
    days = bond_market_days(first, last + np.timedelta64(40, "D")).astype(np.int64)
    n_sample = int(np.searchsorted(days, last.astype(np.int64), side="right"))
    lag = np.full(days.size, SETTLEMENT_LAGS[0][1])
    for since, value in SETTLEMENT_LAGS[1:]:
        lag = np.where(days >= np.datetime64(since, "D").astype(np.int64), value, lag)
    rng = np.random.default_rng([seed, _STREAM_MARKET])
    eps = 0.0005 * rng.standard_normal(n_sample)
    eps[0] += 0.008 * rng.standard_normal()
    factor = lfilter([1.0], [1.0, -0.998], eps)
    # two more priced yield factors, from their own stream (the level factor's draws do not depend on them)
    f_rng = np.random.default_rng([seed, _STREAM_FACTORS])
    slope = lfilter([1.0], [1.0, -0.995], 0.0004 * f_rng.standard_normal(n_sample))
    credit = lfilter([1.0], [1.0, -0.995], 0.0003 * f_rng.standard_normal(n_sample))
    return _Market(start_mi, n_months, days, n_sample, days < _FORMAT_CHANGE_DAY, lag, np.asarray(factor),
                   np.asarray(slope), np.asarray(credit))


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


def _duplicates(c: dict[str, np.ndarray], rng: np.random.Generator, share: float) -> dict[str, np.ndarray]:
    """Exact copies of a share ``share`` of the messages (at least one when positive): the rows to copy (``src``)
    and the columns that differ from the copied message: a new uid (later in the input), the copied number
    (``reuse``), no role and no truth. Applied in :func:`_frame`."""
    m = c["uid"].size
    src = np.sort(rng.choice(m, max(1, int(rng.binomial(m, share))), replace=False)) if share > 0 and m else \
        np.zeros(0, np.int64)
    return {"src": src, "uid": np.arange(m, m + src.size, dtype=np.int64),
            "reuse": np.where(c["reuse"][src] >= 0, c["reuse"][src], src), "want": np.full(src.size, -1),
            "role": np.full(src.size, _ROLE_GONE, np.int8), "truth": np.zeros(src.size, bool)}


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


def _yield_level(rating: IntArray, ttm: FloatArray) -> FloatArray:
    """Yield (decimal) of a bond by rating (1 = AAA) and years to maturity, before the bond and market shocks."""
    return 0.018 + 0.0025 * rating + 0.001 * np.sqrt(np.clip(ttm, 0.0, 30.0))


def _yield_to_price(y: FloatArray, coupon: FloatArray, freq: IntArray, ttm: FloatArray) -> FloatArray:
    f = np.where(freq > 0, freq, 2).astype(np.float64)
    c = coupon / 100.0
    disc = (1.0 + y / f) ** (-f * ttm)
    return 100.0 * (c / y * (1.0 - disc) + disc)


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


def _hash(*keys: np.ndarray) -> IntArray:
    """A 64-bit hash of integer key columns (wrapping arithmetic)."""
    h = np.zeros(keys[0].size, dtype=np.uint64)
    for key in keys:  # a loop over key columns
        h = (h ^ key.astype(np.int64).view(np.uint64)) * np.uint64(0x100000001B3)
    return h.view(np.int64)


def _member(values: IntArray, among: IntArray) -> BoolArray:
    """Whether each value occurs in ``among`` (a binary search in its sorted distinct values)."""
    u = np.unique(among)
    if u.size == 0:
        return np.zeros(values.size, bool)
    return u[np.minimum(np.searchsorted(u, values), u.size - 1)] == values


def _mixed(values: IntArray, ent: IntArray) -> BoolArray:
    """Whether each row's value is shared with a row of another entity."""
    out = np.zeros(values.size, bool)
    if values.size == 0:
        return out
    order = np.argsort(values, kind="stable")
    v, e = values[order], ent[order]
    new = np.r_[True, v[1:] != v[:-1]]
    start = np.flatnonzero(new)
    out[order] = (np.minimum.reduceat(e, start) != np.maximum.reduceat(e, start))[np.cumsum(new) - 1]
    return out


def _group_stats(keys: Sequence[np.ndarray], ent: IntArray,
                 flag: BoolArray) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """For rows grouped by ``keys``: the group's size, its number of ``flag`` rows, and its smallest and largest
    entity, row by row (for the few candidate rows of :func:`_separate_keys`)."""
    if ent.size == 0:
        return ent, ent, ent, ent
    order = np.lexsort(list(keys)[::-1])
    new = np.zeros(order.size, bool)
    new[0] = True
    for key in keys:  # a loop over key columns
        ks = key[order]
        new[1:] |= ks[1:] != ks[:-1]
    start = np.flatnonzero(new)
    gid = np.empty(order.size, np.int64)
    gid[order] = np.cumsum(new) - 1
    e = ent[order]
    size = np.diff(np.r_[start, order.size])
    n_flag = np.add.reduceat(flag[order].astype(np.int64), start)
    return size[gid], n_flag[gid], np.minimum.reduceat(e, start)[gid], np.maximum.reduceat(e, start)[gid]


def _separate_keys(c: dict[str, np.ndarray], msg: IntArray, orig: IntArray, pre: BoolArray,
                   rng: np.random.Generator) -> FloatArray:
    """Volumes such that the matching steps of ``bbw2019`` delete exactly the designed messages.

    Messages of one entity collide by design (a twin after its reversed report, an interdealer pair and the
    buy-only trade executed after it, a cancellation and its report); messages of two entities must not. So this
    moves (by $1,000 to $5,000 par, a whole entity at a time, until no collision is left) the volume of trades
    whose keys collide by accident:

    - ``dn09_reversal``: the 6 keys of a report a pre-2012 ``R`` deletes are shared by no report of another
      entity reaching the step;
    - ``interdealer``: the 4 keys of the dealer reports reaching the step are shared by no dealer report of
      another entity;
    - ``dn14_cancel``, ``dn14_reversal``: a post-2012 ``X``/``C``/``Y`` matches (7 keys and number) only reports
      of its own entity.

    ``dn09_cancel`` and ``dn09_correct`` need nothing: numbers are unique within a CUSIP and report date. Tiny
    volumes (below $10,000, deleted later anyway) never move. The candidates are found once on the keys without
    the volume (the only key that moves); then only they are checked again after each move.
    """
    vol = c["vol"].astype(np.float64)
    ent, role, trc, side, cntra = c["ent"], c["role"], c["trc"], c["side"], c["cntra"]
    bond, xday, xsec, price = c["bond"], c["xday"], c["xsec"], c["price"]
    ok = (c["bad"] == 0) & (vol > 0)
    reversed_ = role == _ROLE_REVERSED
    is_ref = ok & ~pre & ((trc == X_) | (trc == C_) | (trc == Y_))
    number = np.where(trc == Y_, orig, msg)  # what a post-2012 X/C/Y matches: its number, or orig_msg_seq_nb

    def rev_bad(r: IntArray, v: FloatArray | None) -> BoolArray:
        keys = [bond[r], xday[r], price[r], side[r], cntra[r]] + ([] if v is None else [v[r]])
        n, n_t, lo, hi = _group_stats(keys, ent[r], reversed_[r])
        return (n_t > 0) & (lo != hi)

    def pair_bad(r: IntArray, v: FloatArray | None) -> tuple[BoolArray, IntArray]:
        keys = [bond[r], xday[r], price[r]] + ([] if v is None else [v[r]])
        n, n_b, lo, hi = _group_stats(keys, ent[r], side[r] == 0)
        return lo != hi, lo

    def cancel_bad(r: IntArray, v: FloatArray | None) -> BoolArray:
        keys = [bond[r], xday[r], xsec[r], price[r], side[r], cntra[r], number[r]] + ([] if v is None else [v[r]])
        n, refs, lo, hi = _group_stats(keys, ent[r], is_ref[r])
        return (refs > 0) & (refs < n) & (lo != hi)

    # candidates: rows whose keys without the volume they share with another entity (one entity's messages
    # collide by design), found on a hash of the keys (a hash collision only adds a candidate), checked exactly
    days = int(xday.max()) + 1 if xday.size else 1

    def day_key(r: IntArray) -> IntArray:
        return bond[r].astype(np.int64) * days + xday[r]

    def time_key(r: IntArray) -> IntArray:
        return day_key(r) * 86_400 + xsec[r]

    def cents(r: IntArray) -> IntArray:
        return np.round(price[r] * 1000.0).astype(np.int64)

    final = ok & (role == _ROLE_FINAL)
    reports = np.flatnonzero(pre & ((final & ((trc == T_) | (trc == W_))) | (ok & reversed_)))
    reports = reports[_member(day_key(reports), day_key(np.flatnonzero(reversed_)))]
    reports = reports[_mixed(_hash(day_key(reports), cents(reports), side[reports], cntra[reports]), ent[reports])]
    rev_rows = reports[rev_bad(reports, None)]
    dealers = np.flatnonzero(final & (cntra == 1) & (vol >= 10_000))
    dealers = dealers[_mixed(_hash(day_key(dealers), cents(dealers)), ent[dealers])]
    pair_rows = dealers[pair_bad(dealers, None)[0]]
    pool = np.flatnonzero(is_ref | (ok & ((trc == T_) | (pre & (trc == W_)))))
    pool = pool[_member(time_key(pool), time_key(np.flatnonzero(is_ref)))]
    pool = pool[_mixed(_hash(time_key(pool), cents(pool), side[pool], cntra[pool], number[pool]), ent[pool])]
    cancel_rows = pool[cancel_bad(pool, None)]
    n_ent = int(ent.max()) + 1 if ent.size else 0
    for _ in range(200):
        if rev_rows.size + pair_rows.size + cancel_rows.size == 0:
            return vol
        bump = np.zeros(n_ent, bool)
        bad = rev_bad(rev_rows, vol)
        bump[ent[rev_rows[bad & reversed_[rev_rows]]]] = True
        bad, keep = pair_bad(pair_rows, vol)
        bump[ent[pair_rows[bad & (ent[pair_rows] != keep)]]] = True
        bad = cancel_bad(cancel_rows, vol)
        bump[ent[cancel_rows[bad & is_ref[cancel_rows]]]] = True
        hit = np.flatnonzero(bump)
        if hit.size == 0:
            return vol
        delta = np.zeros(n_ent)
        delta[hit] = 1000.0 * rng.integers(1, 6, hit.size)
        vol = vol + delta[ent]
    raise RuntimeError("could not separate the keys of colliding simulated trades")  # pragma: no cover


def _frame(c: dict[str, np.ndarray], dup: dict[str, np.ndarray], b: _Bonds, mk: _Market,
           rng: np.random.Generator) -> pl.DataFrame:
    """Add the duplicates ``dup`` (:func:`_duplicates`), number the messages in report order within each CUSIP
    and report date, separate accidental key collisions (:func:`_separate_keys`) and type the messages as
    Enhanced TRACE columns."""
    rows = np.r_[np.arange(c["uid"].size), dup["src"]]
    extra = {k: np.r_[c[k], dup[k]] for k in ("uid", "reuse", "want", "role", "truth")}
    order = np.lexsort((extra["uid"], c["prio"][rows], c["rsec"][rows], c["rday"][rows], c["bond"][rows]))
    take = rows[order]
    c = {k: (extra[k][order] if k in extra else v[take]) for k, v in c.items()}
    m = order.size
    bond, rday = c["bond"], c["rday"]
    head = np.r_[True, (bond[1:] != bond[:-1]) | (rday[1:] != rday[:-1])] if m else np.zeros(0, bool)
    gid = np.cumsum(head) - 1
    cs = np.cumsum(rng.integers(1, 4, m))
    first = np.maximum.accumulate(np.where(head, np.arange(m), 0))
    base = rng.integers(0, 40, int(head.sum()))[gid]  # a small base per CUSIP and report date
    own = base + cs - np.where(first > 0, cs[first - 1], 0)
    by_uid = np.empty(m, dtype=np.int64)
    by_uid[c["uid"]] = own
    # a message that wants another's number shifts its report date's numbers to it (when they stay positive)
    want = np.flatnonzero(c["want"] >= 0)
    group, at = np.unique(gid[want], return_index=True)
    want = want[at]
    shift = by_uid[c["want"][want]] - own[want]
    ok = own[first[want]] + shift >= 1
    delta = np.zeros(int(head.sum()), np.int64)
    delta[group[ok]] = shift[ok]
    own = own + delta[gid]
    by_uid[c["uid"]] = own
    msg = np.where(c["reuse"] >= 0, by_uid[c["reuse"]], own)  # post-2012 X/C, duplicates: the copied number
    orig = np.where(c["orig"] >= 0, by_uid[c["orig"]], 0)
    vol = _separate_keys(c, msg, orig, mk.pre[rday], rng)
    bad = c["bad"]
    days = mk.days
    xday = c["xday"]
    sttl = c["sttl"]
    cols = [
        pl.Series("cusip_id", b.cusip, dtype=pl.String).gather(bond).scatter(np.flatnonzero(bad == 2), None),
        pl.Series("bond_sym_id", b.symbol, dtype=pl.String).gather(bond),
        _date_series("trd_exctn_dt", days[xday], null=bad == 3),
        _time_series("trd_exctn_tm", c["xsec"]),
        _date_series("trd_rpt_dt", days[rday]),
        _time_series("trd_rpt_tm", c["rsec"]),
        pl.Series("msg_seq_nb", msg, dtype=pl.Int64),
        pl.Series("orig_msg_seq_nb", orig, dtype=pl.Int64).scatter(np.flatnonzero(c["orig"] < 0), None),
        _labels("trc_st", c["trc"], list(_TRC)),
        _labels("asof_cd", c["asof"], _ASOF),
        _labels("wis_fl", c["wis"].astype(np.int64), ["N", "Y"]),
        _labels("lckd_in_ind", c["lckd"].astype(np.int64), [None, "Y"]),
        _labels("sale_cndtn_cd", c["sale"], _SALE),
        _labels("sale_cndtn2_cd", c["sale2"], _SALE),
        pl.Series("days_to_sttl_ct", np.maximum(sttl, 0), dtype=pl.Int64).scatter(np.flatnonzero(sttl < 0), None),
        _date_series("stlmnt_dt", days[xday + np.where(sttl >= 0, sttl, mk.lag[xday])]),
        _float_series("rptd_pr", np.where(bad == 1, np.nan, c["price"])),
        _float_series("entrd_vol_qt", vol),
        _float_series("yld_pt", c["yld"].astype(np.float64)),
        _labels("rpt_side_cd", c["side"], _SIDE),
        _labels("cntra_mp_id", c["cntra"], _CNTRA),
        _labels("buy_cpcty_cd", c["bcap"], _CAP),
        _labels("sell_cpcty_cd", c["scap"], _CAP),
        _float_series("buy_cmsn_rt", c["brate"].astype(np.float64)),
        _float_series("sell_cmsn_rt", c["srate"].astype(np.float64)),
        _labels("cmsn_trd", c["cmsn"], _CMSN),
        _labels("spcl_trd_fl", c["spcl"].astype(np.int64), [None, "Y"]),
        _labels("sub_prdct", b.eln[bond].astype(np.int64), ["CORP", "ELN"]),
        pl.Series("_truth", c["truth"].astype(bool)),
    ]
    return pl.DataFrame(cols)


# --- the truth's own bond math -------------------------------------------------------------------------------------

_KEY = 1 << 21  # days since epoch fit below this: key = bond * _KEY + day sorts by bond, then date


class _Schedule:
    """Explicit coupon schedules (one row per coupon period) of a set of bonds, for the truth's accruals.

    Built from the FISD terms alone: payment dates from ``first_interest_date`` to ``maturity`` every ``12/f``
    months on the maturity's day of the month; the first period starts at ``dated_date``; the quasi-coupon start
    ``ref`` of the first period is ``first - 12/f`` months. Zero-coupon bonds have no periods.
    """

    def __init__(self, maturity: IntArray, dated: IntArray, first: IntArray, freq: IntArray, coupon_pct: FloatArray,
                 act: BoolArray) -> None:
        self.coupon = np.asarray(coupon_pct, dtype=np.float64) / 100.0
        self.freq = np.asarray(freq, dtype=np.int64)
        self.act = np.asarray(act, dtype=bool)
        n = self.freq.size
        has = self.freq > 0
        step = np.where(has, 12 // np.maximum(self.freq, 1), 1)
        mat_m = np.asarray(maturity, dtype=np.int64).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        mat_day = _ymd(maturity)[2]
        first_m = np.where(has, np.asarray(first, dtype=np.int64), 0).astype("datetime64[D]").astype(
            "datetime64[M]").astype(np.int64)
        n_pay = np.where(has, (mat_m - first_m) // step + 1, 0)
        bond = np.repeat(np.arange(n), n_pay)
        self.offsets = np.r_[0, np.cumsum(n_pay)]
        k = np.arange(bond.size) - self.offsets[bond]
        pay_m = mat_m[bond] - (n_pay[bond] - 1 - k) * step[bond]
        end = _on_day(pay_m, mat_day[bond])
        is_first = k == 0
        start = np.where(is_first, np.asarray(dated, dtype=np.int64)[bond], np.r_[0, end[:-1]])
        ref = np.where(is_first, _on_day(pay_m - step[bond], mat_day[bond]), start)
        if np.any(end[is_first] != np.asarray(first)[bond[is_first]]):
            raise InputError("first_interest_date is not on the schedule generated from maturity",
                             column="first_interest_date")
        regular = 100.0 * self.coupon[bond] / np.maximum(self.freq[bond], 1)
        stub = np.where(self.act[bond], regular * (end - start) / (end - ref),
                        100.0 * self.coupon[bond] * _days_30_360(start, end) / 360.0)
        self.amount = np.where(is_first & (start != ref), stub, regular)
        self.regular = regular
        self.bond, self.start, self.end, self.ref = bond, start, end, ref
        self.key = bond * _KEY + end

    def accrued(self, bond: IntArray, d: IntArray) -> FloatArray:
        """Accrued interest per 100 par of bond ``bond`` at date ``d`` (days since epoch); NaN outside the
        schedule (before the dated date or on/after maturity)."""
        bond = np.asarray(bond, dtype=np.int64)
        d = np.asarray(d, dtype=np.int64)
        if self.end.size == 0:
            return np.where(self.freq[bond] == 0, 0.0, np.nan)
        pos = np.searchsorted(self.key, bond * _KEY + d, side="right")  # first period ending after d
        inside = pos < self.offsets[bond + 1]
        p = np.minimum(pos, self.end.size - 1)
        start, end, ref = self.start[p], self.end[p], self.ref[p]
        c = self.coupon[bond]
        f = np.maximum(self.freq[bond], 1)
        thirty = 100.0 * c * _days_30_360(start, d) / 360.0
        act = 100.0 * c / f * (d - start) / (end - ref)
        ai = np.where(self.act[bond], act, thirty)
        ok = inside & (start <= d)
        return np.where(self.freq[bond] == 0, 0.0, np.where(ok, ai, np.nan))

    def coupons(self, bond: IntArray, d0: IntArray, d1: IntArray) -> FloatArray:
        """Coupon cash per 100 par of bond ``bond`` paid in ``(d0, d1]``."""
        bond = np.asarray(bond, dtype=np.int64)
        if self.end.size == 0:
            return np.zeros(bond.size)
        i0 = np.searchsorted(self.key, bond * _KEY + np.asarray(d0, dtype=np.int64), side="right")
        i1 = np.searchsorted(self.key, bond * _KEY + np.asarray(d1, dtype=np.int64), side="right")
        count = np.maximum(i1 - i0, 0)
        lead = self.offsets[bond]
        first_in = (i0 == lead) & (count > 0)
        first_amount = self.amount[np.minimum(lead, self.amount.size - 1)]
        regular = 100.0 * self.coupon[bond] / np.maximum(self.freq[bond], 1)
        return np.where(self.freq[bond] == 0, 0.0,
                        (count - first_in) * regular + np.where(first_in, first_amount, 0.0))


def _days(s: pl.Series) -> IntArray:
    return s.cast(pl.Date).cast(pl.Int32).fill_null(-1).to_numpy().astype(np.int64)


def _schedule_from_fisd(fisd: pl.DataFrame) -> _Schedule:
    return _Schedule(maturity=_days(fisd["maturity"]), dated=_days(fisd["dated_date"]),
                     first=_days(fisd["first_interest_date"]),
                     freq=fisd["interest_frequency"].cast(pl.Int64).to_numpy(),
                     coupon_pct=fisd["coupon"].cast(pl.Float64).to_numpy(),
                     act=(fisd["day_count_basis"].fill_null("") == "ACT/ACT").to_numpy())


def _lookup(fisd: pl.DataFrame, cusip: Any) -> IntArray:
    ids = pl.DataFrame({"complete_cusip": pl.Series(list(cusip) if not isinstance(cusip, pl.Series) else cusip,
                                                    dtype=pl.String)})
    pos = ids.join(fisd.select("complete_cusip").with_row_index("_i"), on="complete_cusip", how="left",
                   maintain_order="left")["_i"]
    if pos.null_count():
        raise InputError("CUSIP not in the FISD frame", column="cusip_id", row=int(pos.is_null().arg_max() or 0))
    return pos.to_numpy().astype(np.int64)


def _as_days(values: Any) -> IntArray:
    if isinstance(values, pl.Series):
        return _days(values)
    return np.asarray(values, dtype="datetime64[D]").astype(np.int64).ravel()


def oracle_accrued_interest(fisd: pl.DataFrame, cusip_id: Any, dates: Any) -> FloatArray:
    """Accrued interest per 100 par from this module's own schedules (see the module docstring), for bonds given
    by CUSIP in ``fisd`` (fixed- and zero-coupon bonds with ``30/360`` or ``ACT/ACT`` day counts)."""
    return _schedule_from_fisd(fisd).accrued(_lookup(fisd, cusip_id), _as_days(dates))


def oracle_coupon_cash(fisd: pl.DataFrame, cusip_id: Any, start: Any, end: Any) -> FloatArray:
    """Coupon cash per 100 par paid in ``(start, end]`` from this module's own schedules."""
    return _schedule_from_fisd(fisd).coupons(_lookup(fisd, cusip_id), _as_days(start), _as_days(end))


# --- monthly truth -------------------------------------------------------------------------------------------------

def _calendar(mk: _Market) -> pl.DataFrame:
    """Sample business days with their month and whether they are among the first/last five of the month."""
    d = mk.days[: mk.n_sample]
    mi = d.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    head = np.r_[True, mi[1:] != mi[:-1]]
    tail = np.r_[mi[1:] != mi[:-1], True]
    idx = np.arange(d.size)
    from_start = idx - np.maximum.accumulate(np.where(head, idx, 0))
    from_end = np.minimum.accumulate(np.where(tail, idx, d.size)[::-1])[::-1] - idx
    month_end = (mi + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) - 1
    return pl.DataFrame([_date_series("trd_exctn_dt", d), pl.Series("_mi", mi), _date_series("date", month_end),
                         pl.Series("_first5", from_start < 5), pl.Series("_last5", from_end < 5)])


def _monthly_block(trades: pl.DataFrame, fisd: pl.DataFrame, cal: pl.DataFrame, rates: pl.DataFrame,
                   amounts: pl.DataFrame) -> pl.DataFrame:
    """Bond-month rows (all columns but ``mv_weight``) from truth trades of bonds in ``fisd``; the amount
    outstanding at the end of the month from the history ``amounts`` (else the offering amount)."""
    daily = (trades.group_by("cusip_id", "trd_exctn_dt")
             .agg(((pl.col("rptd_pr") * pl.col("entrd_vol_qt")).sum() / pl.col("entrd_vol_qt").sum()).alias("p"))
             .join(cal, on="trd_exctn_dt", how="inner"))
    end = (daily.filter(pl.col("_last5")).sort("cusip_id", "trd_exctn_dt").group_by("cusip_id", "_mi")
           .agg(pl.col("trd_exctn_dt").last().alias("price_date"), pl.col("p").last().alias("price"),
                pl.col("date").last()))
    start = (daily.filter(pl.col("_first5")).sort("cusip_id", "trd_exctn_dt").group_by("cusip_id", "_mi")
             .agg(pl.col("trd_exctn_dt").first().alias("start_date"), pl.col("p").first().alias("start_price")))
    stats = (trades.join(cal.select("trd_exctn_dt", "_mi"), on="trd_exctn_dt").group_by("cusip_id", "_mi")
             .agg(pl.len().cast(pl.Int64).alias("n_trades"), pl.col("entrd_vol_qt").sum().alias("vol_par")))
    prev = end.select("cusip_id", (pl.col("_mi") + 1).alias("_mi"), pl.col("price_date").alias("_prev_date"),
                      pl.col("price").alias("_prev_price"))
    m = (end.join(start, on=["cusip_id", "_mi"], how="left").join(prev, on=["cusip_id", "_mi"], how="left")
         .join(stats, on=["cusip_id", "_mi"], how="left").sort("cusip_id", "_mi"))
    sched = _schedule_from_fisd(fisd)
    bond = _lookup(fisd, m["cusip_id"])
    d1 = _days(m["price_date"])
    ds = _days(m["start_date"])
    dp = _days(m["_prev_date"])
    has_s = (ds >= 0) & (ds != d1)
    has_p = dp >= 0
    ai1 = sched.accrued(bond, d1)
    ais = np.where(ds >= 0, sched.accrued(bond, np.where(ds >= 0, ds, d1)), np.nan)
    aip = np.where(has_p, sched.accrued(bond, np.where(has_p, dp, d1)), np.nan)
    p1 = m["price"].to_numpy()
    ps = m["start_price"].fill_null(np.nan).to_numpy()
    pp = m["_prev_price"].fill_null(np.nan).to_numpy()
    c_end = np.where(has_p, sched.coupons(bond, np.where(has_p, dp, d1), d1), np.nan)
    c_start = np.where(has_s, sched.coupons(bond, np.where(has_s, ds, d1), d1), np.nan)
    r_end = np.where(has_p, (p1 + ai1 + c_end) / (pp + aip) - 1.0, np.nan)
    r_start = np.where(has_s, (p1 + ai1 + c_start) / (ps + ais) - 1.0, np.nan)
    ret = np.where(has_p, r_end, r_start)
    ret_type = np.where(has_p, 1, np.where(has_s, 2, 0))
    terms = fisd.select(pl.col("complete_cusip").alias("cusip_id"), "maturity", "rating_num")
    # the amount outstanding at the month's end: the last action on or before it, else the offering amount
    history = amounts.filter(pl.col("complete_cusip").is_in(fisd["complete_cusip"].implode()))
    h_bond, h_day = _lookup(fisd, history["complete_cusip"]), _days(history["effective_date"])
    order = np.lexsort((h_day, h_bond))
    key = (h_bond * _KEY + h_day)[order]
    after = np.r_[history["amount_outstanding"].to_numpy()[order], np.nan]
    at = np.searchsorted(key, bond * _KEY + _days(m["date"]), side="right") - 1
    at = np.where((at >= 0) & (h_bond[order][np.maximum(at, 0)] == bond) if key.size else False, at, -1)
    offering = fisd["offering_amt"].cast(pl.Float64).to_numpy()[bond]
    amount = 1000.0 * np.where(at >= 0, after[at], offering)
    out = m.with_columns(
        _float_series("accrued", ai1), _float_series("coupon_cash", np.where(has_p, c_end, c_start)),
        _float_series("start_accrued", ais), _float_series("ret_end", r_end), _float_series("ret_start", r_start),
        _float_series("ret", ret), _labels("ret_type", ret_type, [None, "end", "start"]),
    ).join(rates, on="date", how="left", maintain_order="left").join(
        terms, on="cusip_id", how="left", maintain_order="left").with_columns(
        pl.Series("amount_outstanding", amount), (pl.col("ret") - pl.col("rf")).alias("exret")).with_columns(
        ((pl.col("price") + pl.col("accrued")) / 100.0 * pl.col("amount_outstanding")).alias("mv"),
        pl.lit(None, dtype=pl.Float64).alias("mv_weight"))
    return out.select(MONTHLY_COLUMNS).sort("cusip_id", "date")


def _with_weights(monthly: pl.DataFrame) -> pl.DataFrame:
    return monthly.with_columns((pl.col("mv") / pl.col("mv").sum().over("date")).alias("mv_weight"))


# --- driver --------------------------------------------------------------------------------------------------------

def _universe(n_bonds: int, seed: int, start_mi: int, n_months: int, nz: NoiseRates) -> _Bonds:
    """FISD bonds plus the bonds absent from FISD, sorted by CUSIP (absent ones last: they start with 9). A share
    ``nz.eln`` of the FISD bonds that pass every screen and trade at least a year before maturity (at least one)
    are equity-linked notes (``sub_prdct = ELN``)."""
    a = _bond_universe(n_bonds, np.random.default_rng([seed, _STREAM_FISD]), start_mi, n_months, absent=False,
                       fisd_fail=nz.fisd_fail, amount_actions=nz.amount_actions)
    n_abs = max(1, int(round(nz.absent * n_bonds))) if nz.absent > 0 else 0
    parts = [a]
    if n_abs:
        g = _bond_universe(n_abs, np.random.default_rng([seed, _STREAM_ABSENT]), start_mi, n_months, absent=True,
                           fisd_fail=0.0, amount_actions=0.0)
        parts.append(_Bonds(**{**{f.name: getattr(g, f.name) for f in fields(g)}, "fisd": g.fisd.clear(),
                               "amounts": g.amounts.clear()}))
    arrays = {f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(a) if f.name not in _FRAMES}
    order = np.argsort(arrays["cusip"], kind="stable")
    arrays = {k: v[order] for k, v in arrays.items()}
    if nz.eln > 0:
        first, end = _on_day(np.array([start_mi, start_mi + n_months]), np.array([1, 1]))
        trades = arrays["maturity"] - np.maximum(arrays["start"], first) > 730
        candidates = np.flatnonzero(arrays["eligible"] & trades & (arrays["start"] < end - 180))
        if candidates.size == 0:
            candidates = np.flatnonzero(arrays["eligible"])
        k = min(max(1, int(round(nz.eln * n_bonds))), candidates.size)
        eln = np.random.default_rng([seed, _STREAM_ELN]).choice(candidates, k, replace=False)
        arrays["eln"][eln] = True
        arrays["eligible"][eln] = False
    return _Bonds(**arrays, fisd=a.fisd.sort("complete_cusip"),
                  amounts=a.amounts.sort("complete_cusip", "effective_date"))


def _check(n_bonds: int, n_months: int, trades_per_bond_month: float) -> None:
    if n_bonds < 1:
        raise InputError("n_bonds must be positive", column="n_bonds")
    if n_months < 1:
        raise InputError("n_months must be positive", column="n_months")
    if not trades_per_bond_month > 0:
        raise InputError("trades_per_bond_month must be positive", column="trades_per_bond_month")


def _block_bonds(n_months: int, trades_per_bond_month: float) -> int:
    """Bonds per block: about ``_BLOCK_MESSAGES`` messages (1.6 per genuine trade at most), 8 to 256 bonds."""
    return int(np.clip(_BLOCK_MESSAGES / (1.6 * trades_per_bond_month * n_months), 8, _BLOCK_BONDS))


@dataclass(frozen=True)
class _Run:
    """Everything the blocks of one simulation share."""

    bonds: _Bonds
    market: _Market
    rates: pl.DataFrame
    calendar: pl.DataFrame
    block_bonds: int
    seed: int
    trades_per_bond_month: float
    noise: NoiseRates

    @property
    def fisd(self) -> pl.DataFrame:
        return self.bonds.fisd


def _setup(n_bonds: int, n_months: int, seed: int, start: str, trades_per_bond_month: float,
           noise: NoiseRates | None) -> _Run:
    _check(n_bonds, n_months, trades_per_bond_month)
    nz = noise or NoiseRates()
    start_mi = _month(start, "start")
    mk = _market(seed, start_mi, n_months)
    months = np.arange(start_mi, start_mi + n_months).astype("datetime64[M]").astype(str)
    return _Run(bonds=_universe(n_bonds, seed, start_mi, n_months, nz), market=mk, rates=simulated_tbill(months),
                calendar=_calendar(mk), block_bonds=_block_bonds(n_months, trades_per_bond_month), seed=seed,
                trades_per_bond_month=trades_per_bond_month, noise=nz)


def _blocks(run: _Run) -> Iterator[tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]]:
    """Yield ``(messages, truth_trades, monthly without mv_weight)`` block by block, in CUSIP order."""
    u, size = run.bonds, run.block_bonds
    for k, lo in enumerate(range(0, u.n, size)):
        b = u.take(np.arange(lo, min(lo + size, u.n)))
        rng = np.random.default_rng([run.seed, _STREAM_BLOCK, k])
        msgs = _simulate_block(b, run.market, rng, run.trades_per_bond_month, run.noise)
        truth = msgs.filter(pl.col("_truth")).drop("_truth").sort(
            "cusip_id", "trd_exctn_dt", "trd_exctn_tm", "msg_seq_nb")
        eligible = b.fisd.filter(pl.col("complete_cusip").is_in(pl.Series(b.cusip[b.eligible]).implode()))
        yield msgs.drop("_truth"), truth, _monthly_block(truth, eligible, run.calendar, run.rates, b.amounts)


def simulate_trace(n_bonds: int = 200, n_months: int = 24, seed: int = 0, start: str = "2011-06",
                   trades_per_bond_month: float = 8.0, noise: NoiseRates | None = None) -> SimulatedTrace:
    """Simulate an Enhanced TRACE market with known truth, in memory (see the module docstring).

    ``n_bonds`` FISD bonds (plus ``noise.absent * n_bonds`` bonds absent from FISD) over ``n_months`` months from
    ``start`` (``YYYY-MM``; the default sample straddles the 2012-02-06 format change); each bond trades
    ``trades_per_bond_month`` genuine trades per month alive on average (bonds differ in liquidity). ``noise``
    sets the rates of every reporting error and filtered trade (:class:`NoiseRates`). Returns the FISD rows, the
    messages, the truth (trades and bond-months), the T-bill returns and the amount-outstanding history.
    Deterministic given the arguments. For large samples use :func:`write_simulated_trace`, whose memory does not
    grow with the size.
    """
    run = _setup(n_bonds, n_months, seed, start, trades_per_bond_month, noise)
    parts = list(_blocks(run))
    messages, truth, monthly = (pl.concat([p[i] for p in parts]) for i in range(3))
    return SimulatedTrace(fisd=run.fisd, messages=messages, truth_trades=truth,
                          truth_monthly=_with_weights(monthly), rates=run.rates, amount_outstanding=run.bonds.amounts)


def write_simulated_trace(out_dir: str | Path, n_bonds: int = 200, n_months: int = 24, seed: int = 0,
                          start: str = "2011-06", trades_per_bond_month: float = 8.0,
                          noise: NoiseRates | None = None) -> dict[str, Any]:
    """Simulate like :func:`simulate_trace` and write ``trace.parquet`` (the messages), ``fisd.parquet``,
    ``fisd_amt_out.parquet`` (the amount-outstanding history), ``truth_trades.parquet``, ``truth_monthly.parquet``
    and ``rates.parquet`` to ``out_dir``.

    Bonds are generated in blocks of 256 (CUSIP order), each from its own random stream derived from ``(seed,
    block index)``, and streamed to the parquet files, so memory stays flat whatever the size (20M messages:
    see ``benchmarks/``). The files are byte-identical for the same arguments. Returns counts and paths.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    writers: dict[str, Any] = {}
    monthly_parts: list[pl.DataFrame] = []
    n_msgs = n_truth = 0
    run = _setup(n_bonds, n_months, seed, start, trades_per_bond_month, noise)

    def write(frames: tuple[tuple[str, pl.DataFrame], ...]) -> None:
        for name, frame in frames:
            table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
            if name not in writers:  # times in microseconds: the parquet TIME type every reader knows
                schema = pa.schema([pa.field(f.name, pa.time64("us")) if pa.types.is_time(f.type) else f
                                    for f in table.schema])
                writers[name] = pq.ParquetWriter(out / f"{name}.parquet", schema, compression="zstd")
            writers[name].write_table(table.cast(writers[name].schema))

    # one writer thread: block k is compressed and written while block k + 1 is generated (two blocks in memory)
    pending: Future[None] | None = None
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            for msgs, truth, monthly in _blocks(run):
                if pending is not None:
                    pending.result()
                pending = pool.submit(write, (("trace", msgs), ("truth_trades", truth)))
                n_msgs += msgs.height
                n_truth += truth.height
                monthly_parts.append(monthly)
            if pending is not None:
                pending.result()
        finally:
            if pending is not None:
                pending.exception()  # wait for the last write before closing the files
            for w in writers.values():
                w.close()
    monthly_all = _with_weights(pl.concat(monthly_parts))
    run.fisd.write_parquet(out / "fisd.parquet")
    run.bonds.amounts.write_parquet(out / "fisd_amt_out.parquet")
    monthly_all.write_parquet(out / "truth_monthly.parquet")
    run.rates.write_parquet(out / "rates.parquet")
    return {"messages": n_msgs, "truth_trades": n_truth, "bond_months": monthly_all.height,
            "bonds": run.fisd.height, "out_dir": str(out)}


__all__ = ["AMOUNT_ACTIONS", "AMOUNT_SCHEMA", "FISD_FAILURES", "FORMAT_CHANGE", "MESSAGE_SCHEMA", "MONTHLY_COLUMNS",
           "RATINGS", "SETTLEMENT_LAGS", "SPECIAL_CONDITIONS", "NoiseRates", "SimulatedTrace", "cusip_check_digits",
           "oracle_accrued_interest", "oracle_coupon_cash", "simulate_fisd", "simulate_trace", "simulated_tbill",
           "write_simulated_trace"]
