"""The truth of the simulated TRACE market and the oracle's own bond math.

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

from typing import Any

import numpy as np
import polars as pl

from bondpremia.errors import InputError
from bondpremia.simulate.trace.codes import MONTHLY_COLUMNS, BoolArray, FloatArray, IntArray
from bondpremia.simulate.trace.dates import _date_series, _days_30_360, _float_series, _labels, _on_day, _ymd
from bondpremia.simulate.trace.market import _Market

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
