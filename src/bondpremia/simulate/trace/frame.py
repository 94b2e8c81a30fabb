"""From message columns under construction to Enhanced TRACE messages: exact duplicates, message numbers (in
report order within each CUSIP and report date), the separation of accidental key collisions and the typing of the
columns (:func:`_frame`).

The matching keys never collide by accident: message numbers are unique within a CUSIP and report date, and the
volumes of trades whose 6 keys (a reversed report), 4 keys (dealer reports) or 7 keys and number (a post-2012
cancellation or reversal) would collide with another trade's are moved by $1,000 steps (:func:`_separate_keys`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from bondpremia.simulate.trace.codes import (
    _ASOF,
    _CAP,
    _CMSN,
    _CNTRA,
    _ROLE_FINAL,
    _ROLE_GONE,
    _ROLE_REVERSED,
    _SALE,
    _SIDE,
    _TRC,
    C_,
    T_,
    W_,
    X_,
    Y_,
    BoolArray,
    FloatArray,
    IntArray,
)
from bondpremia.simulate.trace.dates import _date_series, _float_series, _labels, _time_series
from bondpremia.simulate.trace.market import _Market
from bondpremia.simulate.trace.universe import _Bonds


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
