"""Monthly bond returns from daily TRACE prices (``docs/trace.md``, section "Monthly returns").

Bai, Bali and Wen (2019, "Common risk factors in the cross-section of corporate bond returns", JFE 131(3),
Section 2) define the monthly return of bond ``i`` in month ``t`` as

    r_t = (P_t + AI_t + C_t) / (P_{t-1} + AI_{t-1}) - 1,

with ``P`` the clean price, ``AI`` the accrued interest and ``C_t`` the coupon paid between the two price dates.
``P_t`` is the month-end price: the price on the last trading day within the last five business days of month
``t``. When there is no month-end price in ``t - 1``, the return is measured from the month-start price (the first
trading day within the first five business days of ``t``) to the month-end price of ``t``. This module implements
both (``docs/trace.md`` is the contract):

- business days are SIFMA US bond-market days (:func:`bondpremia.fixed_income.calendar.bond_market_days`); a day
  of the daily table that is not a SIFMA business day (a weekend or holiday print) is never a month-end or
  month-start day;
- **end-to-end** ``r_e = (P_end,t + AI(d1) + C(d0, d1]) / (P_end,t-1 + AI(d0)) - 1``, ``d0`` and ``d1`` the
  month-end price dates of consecutive calendar months ``t - 1`` and ``t``;
- **start-to-end** ``r_s = (P_end,t + AI(d1) + C(d0, d1]) / (P_start,t + AI(d0)) - 1``, ``d0`` the month-start
  and ``d1`` the month-end price date of ``t`` (on different days);
- ``AI`` from :func:`bondpremia.fixed_income.accrued_interest` and ``C`` from
  :func:`bondpremia.fixed_income.coupons_paid` on the FISD terms (``coupon / 100``, ``interest_frequency``,
  ``day_count_basis``, ``dated_date``, ``first_interest_date``), all bond-months at once;
- **amount outstanding** (the value weights): with an amount-outstanding history (FISD ``fisd_amt_out_hist``),
  the amount of the bond's last history row effective on or before the last calendar day of ``t``, else its
  offering amount (:func:`amount_outstanding_history`, :func:`monthly_returns`; the history is read and
  validated in :mod:`bondpremia.trace.amounts`); without one, the static FISD ``amount_outstanding``.

Everything is vectorized: polars joins and group-bys select the prices, and the bond math runs on numpy arrays of
all bond-months in a handful of calls; there is no Python loop over bonds or months.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from bondpremia.errors import InputError
from bondpremia.fixed_income import accrued_interest, check_bonds, coupons_paid
from bondpremia.fixed_income.calendar import bond_market_days
from bondpremia.fixed_income.dates import month_index
from bondpremia.fixed_income.daycount import parse_daycount
from bondpremia.schema import FISD_TERMS, MONTHLY, RATES
from bondpremia.trace.amounts import _amount_asof, _history_frame, _lower_columns
from bondpremia.trace.daily import _as_lazy, _date_expr, check_text_dates, parse_dates

METHODS = ("end", "start", "both")
#: Business days at each end of the month from which the month-start and month-end prices are taken.
WINDOW_DAYS = 5

#: Output columns of :func:`monthly_returns`, in order: the contract :data:`bondpremia.schema.MONTHLY` (the
#: name, type, unit and meaning of each column, shared with the simulator's truth and the stages that read
#: ``monthly.parquet``), then ``reason``.
MONTHLY_COLUMNS = (*MONTHLY.names, "reason")

#: FISD columns :func:`monthly_returns` needs and those it reads when present (``issue_id`` only to resolve an
#: amount-outstanding history keyed by it): the contract :data:`bondpremia.schema.FISD_TERMS`, whose key
#: ``complete_cusip`` may be called ``cusip_id``.
FISD_REQUIRED = tuple(c for c in FISD_TERMS.required if c != "complete_cusip")
FISD_OPTIONAL = FISD_TERMS.optional

NOT_IN_FISD = "cusip_id not in the FISD reference"

_FloatArray = npt.NDArray[np.float64]
_DateArray = npt.NDArray[np.datetime64]
_ONE_DAY = np.timedelta64(1, "D")


def _month_index(day: pl.Expr) -> pl.Expr:
    """``12 * year + month - 1`` (consecutive calendar months differ by one)."""
    return (day.dt.year().cast(pl.Int32) * 12 + day.dt.month().cast(pl.Int32) - 1).alias("_mi")


def _month_end(mi: pl.Expr) -> pl.Expr:
    return pl.date(mi // 12, mi % 12 + 1, 1).dt.month_end()


def business_day_windows(start: Any, end: Any, *, days: int = WINDOW_DAYS) -> pl.DataFrame:
    """SIFMA business days of every month from ``start``'s month to ``end``'s month, flagged by window.

    Returns ``day`` (``pl.Date``), ``month_end`` (``pl.Date``), ``first_window`` (one of the first ``days``
    business days of the month) and ``last_window`` (one of the last ``days``) for every business day.
    """
    s = np.datetime64(str(start)[:10], "D").astype("datetime64[M]").astype("datetime64[D]")
    e = (np.datetime64(str(end)[:10], "D").astype("datetime64[M]") + 1).astype("datetime64[D]") - _ONE_DAY
    cal = pl.DataFrame({"day": bond_market_days(s, e)}).with_columns(pl.col("day").cast(pl.Date))
    cal = cal.with_columns(_month_index(pl.col("day"))).with_columns(
        first_window=pl.int_range(pl.len()).over("_mi") < days,
        last_window=pl.int_range(pl.len()).reverse().over("_mi") < days,
        month_end=_month_end(pl.col("_mi")),
    )
    return cal.select("day", "month_end", "first_window", "last_window")


# -- inputs ---------------------------------------------------------------------------------------------------

def _daily_frame(daily: Any, price: str) -> pl.DataFrame:
    """``cusip_id, day, px, n_trades, vol_par`` sorted by ``cusip_id, day``, plus the bond id ``_cid`` (1, 2,
    ... in CUSIP order) and the month index ``_mi``. Missing keys, duplicate bond-days and bad prices raise."""
    lf = _as_lazy(daily, "daily")
    schema = lf.collect_schema()
    lower = {c.lower(): c for c in schema.names()}
    if len(lower) < len(schema):
        raise InputError(f"daily: columns differ only in letter case ({schema.names()})", column="daily")
    missing = [c for c in ("cusip_id", "trd_exctn_dt", price) if c not in lower]
    if missing:
        raise InputError(f"daily column(s) missing: {missing}", column=missing[0])
    check_text_dates(lf, lower["trd_exctn_dt"], schema[lower["trd_exctn_dt"]], "daily")
    opt = {c: pl.col(lower[c]) if c in lower else pl.lit(None) for c in ("n_trades", "vol_par")}
    d = lf.select(
        pl.col(lower["cusip_id"]).cast(pl.String).alias("cusip_id"),
        _date_expr(lower["trd_exctn_dt"], schema[lower["trd_exctn_dt"]]).alias("day"),
        pl.col(lower[price]).cast(pl.Float64).alias("px"),
        opt["n_trades"].cast(pl.Int64).alias("n_trades"),
        opt["vol_par"].cast(pl.Float64).alias("vol_par"),
    ).collect()
    for col, name in (("cusip_id", "cusip_id"), ("day", "trd_exctn_dt")):
        if d[col].null_count():
            raise InputError("missing value", column=name, row=int(d[col].is_null().arg_true()[0]))
    c, day = pl.col("cusip_id"), pl.col("day")
    ascending = ((c > c.shift(1)) | ((c == c.shift(1)) & (day >= day.shift(1)))).fill_null(True)
    row = pl.int_range(pl.len(), dtype=pl.Int64).alias("_row")
    if d.select(ascending.all()).item():
        d = d.with_columns(row)  # already in order (the output of daily_prices is): skip the sort
    else:
        d = d.with_columns(row).sort(["cusip_id", "day"])
    checks = d.select(
        dup=((c == c.shift(1)) & (day == day.shift(1))).fill_null(False),
        bad=(~pl.col("px").is_finite() | (pl.col("px") <= 0)).fill_null(False),
    )
    if checks["dup"].any():
        i = int(checks["dup"].arg_true()[0])
        raise InputError(f"more than one daily row for cusip_id {d['cusip_id'][i]} on {d['day'][i]}",
                         column="trd_exctn_dt", row=int(d["_row"][i]))
    if checks["bad"].any():
        i = int(checks["bad"].arg_true()[0])
        raise InputError(f"price {d['px'][i]} is not a finite positive number (cusip_id {d['cusip_id'][i]}, "
                         f"{d['day'][i]})", column=price, row=int(d["_row"][i]))
    return d.drop("_row").with_columns(
        _cid=(c != c.shift(1)).fill_null(True).cum_sum().cast(pl.Int64), _mi=_month_index(day))


def _daycount_code(name: Any) -> int:
    """FISD day-count name to a :class:`~bondpremia.fixed_income.daycount.DayCount` code; -1 when unknown."""
    if name is None or not str(name).strip():
        return -1
    try:
        return int(parse_daycount(str(name)))
    except InputError:
        return -1


def _bond_frame(fisd: Any) -> pl.DataFrame:
    """Bond terms in the units of the bond math, one row per CUSIP."""
    f = _lower_columns(_as_lazy(fisd, "fisd").collect(), "FISD reference", None)
    key = "complete_cusip" if "complete_cusip" in f.columns else "cusip_id"
    missing = [c for c in (key, *FISD_REQUIRED) if c not in f.columns]
    if missing:
        raise InputError(f"FISD column(s) missing: {missing}", column=missing[0])
    # a row without a CUSIP cannot describe any traded bond (FISD has a few): it is left out, not an error
    f = f.with_row_index("_fisd_row").filter(
        pl.col(key).is_not_null() & (pl.col(key).cast(pl.String).str.strip_chars() != ""))
    dup = f[key].is_duplicated()
    if dup.any():
        i = int(dup.arg_true()[0])
        raise InputError(f"cusip {f[key][i]} appears more than once in the FISD reference", column=key,
                         row=int(f["_fisd_row"][i]))
    for c in ("maturity", "dated_date", "first_interest_date"):
        if c in f.columns:
            f = f.with_columns(parse_dates(f, c, "FISD reference", f["_fisd_row"]).alias(c))
    dc_names = f["day_count_basis"].cast(pl.String).unique().to_list()
    dc_map = pl.DataFrame({"day_count_basis": dc_names, "_dc": [_daycount_code(n) for n in dc_names]},
                          schema={"day_count_basis": pl.String, "_dc": pl.Int8})
    coupon_type = (pl.col("coupon_type").cast(pl.String).str.strip_chars().str.to_uppercase() == "Z").fill_null(False) \
        if "coupon_type" in f.columns else pl.lit(False)
    freq = pl.col("interest_frequency").cast(pl.Float64, strict=False)
    zero = coupon_type | (freq == 0).fill_null(False)
    coupon = pl.col("coupon").cast(pl.Float64, strict=False) / 100.0
    out = f.with_columns(pl.col("day_count_basis").cast(pl.String)).join(
        dc_map, on="day_count_basis", how="left", nulls_equal=True)
    return out.select(
        pl.col(key).cast(pl.String).alias("cusip_id"),
        pl.col("maturity"),
        pl.col("dated_date"),
        (pl.col("first_interest_date") if "first_interest_date" in f.columns else pl.lit(None, pl.Date))
        .alias("first_coupon"),
        pl.when(zero).then(coupon.fill_null(0.0)).otherwise(coupon).alias("_coupon"),
        pl.when(zero).then(0.0).otherwise(freq).alias("_freq"),
        # the day count of a zero-coupon bond never enters its (zero) accrued interest
        pl.when(zero & (pl.col("_dc") < 0)).then(pl.lit(0, pl.Int8)).otherwise(pl.col("_dc")).alias("_dc"),
        ((pl.col("amount_outstanding").cast(pl.Float64, strict=False) * 1000.0)
         if "amount_outstanding" in f.columns else pl.lit(None, pl.Float64)).alias("amount_outstanding"),
        ((pl.col("offering_amt").cast(pl.Float64, strict=False) * 1000.0)
         if "offering_amt" in f.columns else pl.lit(None, pl.Float64)).alias("_offering"),
        (pl.col("rating_num") if "rating_num" in f.columns else pl.lit(None, pl.Int64)).alias("rating_num"),
        pl.lit(True).alias("_in_fisd"),
    )


def _rates_frame(rates: Any) -> pl.DataFrame:
    """``_mi, rf`` from a frame with a date column (any day of the month) and ``rf`` (decimal)."""
    r = _lower_columns(_as_lazy(rates, "rates").collect(), "rates", None)
    missing = [c for c in RATES.required if c not in r.columns]
    if missing:
        raise InputError(f"rates column(s) missing: {missing}", column=missing[0])
    r = r.with_columns(parse_dates(r, "date", "rates").alias("date"))
    r = r.select(_month_index(pl.col("date")), pl.col("rf").cast(pl.Float64))
    dup = r["_mi"].is_duplicated()
    if dup.any():
        i = int(dup.arg_true()[0])
        raise InputError("more than one rf in the same calendar month", column="date", row=i)
    big = (r["rf"].abs() > RF_MAX).fill_null(False)
    if big.any():
        i = int(big.arg_true()[0])
        raise InputError(f"rf = {r['rf'][i]} is not a monthly return in decimals (it looks like percent or an annual "
                         f"rate); give the 1-month T-bill return of the month, e.g. 0.004 for 0.4%", column="rf", row=i)
    return r


#: Largest plausible monthly T-bill return in decimals (the 1981 peak of the 3-month bill, 17% a year, is 1.4% a
#: month): larger values are percent or annual rates.
RF_MAX = 0.03


# -- amount outstanding (the history is read in trace.amounts) ------------------------------------------------

def amount_outstanding_history(history: Any, fisd: Any, *, file: str | None = None) -> pl.DataFrame:
    """Validate an amount-outstanding history and key it by CUSIP (the input of :func:`monthly_returns`'s
    ``amount_outstanding``; the rule that uses it is there).

    Parameters
    ----------
    history:
        Polars or pandas frame in the layout of FISD's amount-outstanding history (WRDS ``fisd.fisd_amt_out_hist``,
        or the amount-outstanding fields of ``fisd.fisd_mergedissue``), column names in any case:
        ``effective_date`` (a date, or ``YYYY-MM-DD`` text), ``amount_outstanding`` (thousands of dollars of par
        after the action), the bond as ``complete_cusip`` or ``cusip_id``, or as ``issue_id`` (resolved to the
        CUSIP through the ``issue_id`` column of ``fisd``; with both, the CUSIP wins where it is given), and
        optionally ``action_type`` and ``action_amount`` (only checked: a number >= 0 where given).
    fisd:
        The FISD reference given to :func:`monthly_returns`.
    file:
        The history's file name, for the error messages.

    Returns
    -------
    polars.DataFrame
        ``cusip_id``, ``effective_date`` (``pl.Date``), ``amount_outstanding`` (thousands of dollars): one row per
        bond and effective date (of several rows with the same bond and date, the last in input order), sorted by
        ``cusip_id, effective_date``, bonds of ``fisd`` only. It is itself a valid history.

        Left out, not errors: rows without an effective date or without any identifier (they date nothing; the
        ``fisd_mergedissue`` fields are empty for bonds that never had an action), rows of a CUSIP that ``fisd``
        does not list (no traded bond of the panel can use them), and rows of an issue FISD lists without a CUSIP.

    Raises
    ------
    InputError
        Naming the column and the 0-based row: a missing column, an unparseable date, an amount that is not a
        number, missing on a dated row, negative or not finite, an ``issue_id`` not in ``fisd`` (the history and
        the reference then come from different FISD snapshots) or listed there twice, or no ``issue_id`` column
        in ``fisd`` when the history needs it.
    """
    return _history_frame(history, fisd, _bond_frame(fisd)["cusip_id"], file)


# -- bond math ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Terms:
    """Row-aligned FISD terms in the units of :mod:`bondpremia.fixed_income`."""

    maturity: _DateArray
    coupon: _FloatArray
    freq: _FloatArray
    daycount: npt.NDArray[np.int8]
    dated: _DateArray
    first_coupon: _DateArray

    @classmethod
    def of(cls, frame: pl.DataFrame) -> _Terms:
        def dates(c: str) -> _DateArray:
            return np.asarray(frame[c].to_numpy(), dtype="datetime64[D]")

        return cls(maturity=dates("maturity"), coupon=frame["_coupon"].to_numpy().astype(np.float64),
                   freq=frame["_freq"].to_numpy().astype(np.float64),
                   daycount=frame["_dc"].fill_null(-1).to_numpy().astype(np.int8),
                   dated=dates("dated_date"), first_coupon=dates("first_coupon"))

    def take(self, idx: npt.NDArray[np.intp]) -> _Terms:
        return _Terms(maturity=self.maturity[idx], coupon=self.coupon[idx], freq=self.freq[idx],
                      daycount=self.daycount[idx], dated=self.dated[idx], first_coupon=self.first_coupon[idx])

    def kwargs(self) -> dict[str, Any]:
        return {"freq": self.freq, "daycount": self.daycount, "dated": self.dated,
                "first_coupon": self.first_coupon}


def _accrued(dates: _DateArray, t: _Terms) -> tuple[_FloatArray, npt.NDArray[np.object_]]:
    """Accrued interest per 100 par at each price date, and the reason where it is NaN.

    A price on the maturity date has zero accrued interest (the final coupon is paid that day and counted in
    the holding window); the terms are validated one day earlier.
    """
    at_maturity = dates == t.maturity
    settle = np.where(at_maturity, t.maturity - _ONE_DAY, dates)
    ai = np.asarray(accrued_interest(settle, t.maturity, t.coupon, **t.kwargs()), dtype=np.float64).reshape(-1)
    ai = np.where(at_maturity & np.isfinite(ai), 0.0, ai)
    why = np.full(ai.shape, None, dtype=object)
    bad = np.flatnonzero(np.isnan(ai))
    if bad.size:
        tb = t.take(bad)
        _, reasons = check_bonds(settle[bad], tb.maturity, tb.coupon, **tb.kwargs())
        why[bad] = np.asarray(reasons, dtype=object).reshape(-1)
    return ai, why


def _coupon_cash(d0: _DateArray, d1: _DateArray, t: _Terms, valid: npt.NDArray[np.bool_]) -> _FloatArray:
    """Coupon cash per 100 par paid in ``(d0, d1]`` (:func:`bondpremia.fixed_income.coupons_paid`).

    Every coupon date of a bond lies in a month ``maturity month - k * 12 / freq`` (``k >= 0``), so a window
    whose months ``month(d0) .. month(d1)`` contain no such month pays nothing. Those windows of bonds whose
    terms are valid (``valid``: the accrued interest at ``d1`` is finite) get 0 without the call; the rest go to
    ``coupons_paid``, which is the authority. For semiannual bonds this skips about three windows in four.
    """
    out = np.zeros(d0.shape[0])
    freq = np.where(np.isin(t.freq, (1.0, 2.0, 4.0, 12.0)), t.freq, 0.0).astype(np.int64)
    step = np.where(freq > 0, 12 // np.maximum(freq, 1), 1)
    m0, m1 = month_index(d0), month_index(d1)
    mat = month_index(np.where(np.isnat(t.maturity), d1, t.maturity))
    last_grid = m1 - np.mod(m1 - mat, step)  # the latest grid month on or before month(d1)
    call = ~valid | ((freq > 0) & (last_grid >= m0))
    i = np.flatnonzero(call)
    if i.size:
        ti = t.take(i)
        out[i] = np.asarray(coupons_paid(d0[i], d1[i], ti.maturity, ti.coupon, **ti.kwargs()), dtype=np.float64)
    return out


# -- the kernel -----------------------------------------------------------------------------------------------

def _empty() -> pl.DataFrame:
    schema = {
        "cusip_id": pl.String, "date": pl.Date, "price_date": pl.Date, "price": pl.Float64, "accrued": pl.Float64,
        "coupon_cash": pl.Float64, "start_date": pl.Date, "start_price": pl.Float64, "start_accrued": pl.Float64,
        "ret_end": pl.Float64, "ret_start": pl.Float64, "ret": pl.Float64, "ret_type": pl.String,
        "rf": pl.Float64, "exret": pl.Float64, "amount_outstanding": pl.Float64, "mv": pl.Float64,
        "mv_weight": pl.Float64, "maturity": pl.Date, "rating_num": pl.Int64, "n_trades": pl.Int64,
        "vol_par": pl.Float64, "reason": pl.String,
    }
    return pl.DataFrame(schema=schema)


def _nullable(values: np.ndarray, mask: npt.NDArray[np.bool_], name: str) -> pl.Series:
    """Series of ``values`` that is null where ``mask`` is False (NaN stays NaN where ``mask`` is True)."""
    s = pl.Series(name, values)
    return s.to_frame().select(pl.when(pl.Series(mask)).then(pl.col(name)).alias(name)).to_series()


def _select_prices(d: pl.DataFrame, bonds: pl.DataFrame, *, with_start: bool) -> pl.DataFrame:
    """One row per bond-month with a month-end price: its price, month-start price, monthly totals and terms.

    ``d`` is sorted by ``cusip_id, day`` with bond ids ``_cid`` = 1, 2, ... so the integer key
    ``_cid * 65536 + _mi`` is sorted too: the month-end price is the last priced row of its key among the
    last-window days, the month-start price the first among the first-window days, and the monthly totals
    are segment sums (``np.add.reduceat``, in row order, hence deterministic). Days after maturity are out.
    """
    first_row = np.flatnonzero(np.r_[True, np.diff(d["_cid"].to_numpy()) != 0])
    ids = (d[first_row].select("_cid", "cusip_id").join(bonds, on="cusip_id", how="left", maintain_order="left")
           .with_columns(pl.col("_in_fisd").fill_null(False)))
    cid = d["_cid"].to_numpy()
    mi = d["_mi"].to_numpy()
    key = cid * 65536 + mi
    day = d["day"].to_physical().to_numpy()  # int32 days since 1970-01-01
    px = d["px"].to_numpy()  # null -> NaN (NaN prices were rejected by _daily_frame)
    maturity = ids["maturity"].to_physical().fill_null(np.iinfo(np.int32).max).to_numpy()
    live = day <= maturity[cid - 1]

    # calendar flags on a dense table indexed by day: 1 business day, 2 first window, 4 last window
    cal = business_day_windows(d["day"].min(), d["day"].max())
    bdays = cal["day"].to_physical().to_numpy()
    day0 = int(bdays[0]) - 31
    table = np.zeros(int(bdays[-1]) - day0 + 32, dtype=np.uint8)
    table[bdays - day0] = 1 + 2 * cal["first_window"].to_numpy() + 4 * cal["last_window"].to_numpy()
    flags = table[day - day0]
    usable = live & ~np.isnan(px)  # a priced day on or before maturity

    def pick(bit: int, last: bool) -> npt.NDArray[np.intp]:
        i = np.flatnonzero(usable & (flags & bit > 0))
        if i.size == 0:
            return i
        k = key[i]
        keep = np.r_[k[1:] != k[:-1], True] if last else np.r_[True, k[1:] != k[:-1]]
        return i[keep]

    def lookup(keys: npt.NDArray[np.int64], at: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.intp], Any]:
        j = np.minimum(np.searchsorted(keys, at), max(keys.size - 1, 0))
        return j, (keys[j] == at) if keys.size else np.zeros(at.size, dtype=bool)

    e = pick(4, last=True)
    out = pl.DataFrame({
        "_cid": cid[e], "_mi": mi[e], "price_date": pl.Series(day[e]).cast(pl.Date), "price": px[e]})
    if with_start:
        s = pick(2, last=False)
        j, found = lookup(key[s], key[e])
        out = out.with_columns(
            start_date=pl.Series(np.where(found, day[s][j] if s.size else 0, 0).astype(np.int32)).cast(pl.Date),
            start_price=pl.Series(np.where(found, px[s][j] if s.size else np.nan, np.nan)),
            _found=pl.Series(found),
        ).with_columns(pl.when(pl.col("_found")).then(pl.col(c)).alias(c) for c in ("start_date", "start_price"))
        out = out.drop("_found")
    else:
        out = out.with_columns(start_date=pl.lit(None, pl.Date), start_price=pl.lit(None, pl.Float64))

    li = np.flatnonzero(live)
    lk = key[li]
    seg = np.flatnonzero(np.r_[lk.size > 0, lk[1:] != lk[:-1]])  # segment starts; none without a live day
    j, _ = lookup(lk[seg], key[e])  # every month-end row is live, so its key is found
    for c, dtype in (("n_trades", pl.Int64), ("vol_par", pl.Float64)):
        v = d[c].to_numpy().astype(np.float64)[li]
        has = ~np.isnan(v)
        total = np.add.reduceat(np.where(has, v, 0.0), seg)[j] if seg.size else np.zeros(0)
        count = np.add.reduceat(has.astype(np.int64), seg)[j] if seg.size else np.zeros(0, dtype=np.int64)
        out = out.with_columns(pl.Series(c, total).cast(dtype).alias(c)).with_columns(
            pl.when(pl.Series(count > 0)).then(pl.col(c)).alias(c))  # null (not 0) without any value
    return pl.concat([out, ids[out["_cid"].to_numpy() - 1].drop("_cid")], how="horizontal")


def _reasons(why: npt.NDArray[np.object_], name: str) -> pl.Series:
    """String series of reasons (null where the bond math succeeded)."""
    out = pl.Series(name, [None] * why.shape[0], dtype=pl.String)
    bad = np.flatnonzero(why != None)  # noqa: E711 - elementwise
    if bad.size:
        out = out.scatter(bad, pl.Series(why[bad].tolist(), dtype=pl.String))
    return out


def monthly_returns(daily: pl.DataFrame | pl.LazyFrame, fisd: Any, *, rates: Any = None,
                    price: str = "prc_vw_par", method: str = "both",
                    amount_outstanding: Any = None) -> pl.DataFrame:
    """Monthly bond returns with accrued interest and coupons (Bai, Bali and Wen 2019, JFE, Section 2).

    Implements ``docs/trace.md`` ("Monthly returns"); the formulas are in the module docstring.

    Parameters
    ----------
    daily:
        Bond-day prices, one row per ``cusip_id, trd_exctn_dt`` (the output of
        :func:`bondpremia.trace.daily.daily_prices`); ``n_trades`` and ``vol_par`` are used when present.
        Rows with a null ``price`` are days without that price; a NaN, infinite or non-positive price, a
        duplicate bond-day or a missing key raises :class:`InputError`.
    fisd:
        FISD bond reference (polars or pandas; column names in any case): ``complete_cusip`` (or ``cusip_id``),
        ``maturity``, ``coupon`` (percent), ``interest_frequency``, ``day_count_basis``, ``dated_date``, and when
        present ``first_interest_date``, ``amount_outstanding`` and ``offering_amt`` (thousands of dollars),
        ``rating_num``, ``coupon_type`` and ``issue_id`` (to resolve an ``amount_outstanding`` history keyed by
        it). A bond is zero-coupon when ``coupon_type = Z`` or ``interest_frequency = 0``: its
        frequency is 0, a missing coupon is 0, and its accrued interest and coupons are 0. A CUSIP listed twice
        raises :class:`InputError`.
    rates:
        Optional frame with ``date`` (any day of the month; months are matched by calendar month) and ``rf``,
        the 1-month T-bill return of that month in decimals. Without it ``rf`` and ``exret`` are null.
    price:
        Daily price column: ``prc_vw_par`` (default), ``prc_vw``, ``prc_ew`` or ``prc_last``.
    amount_outstanding:
        Optional amount-outstanding history in the layout of FISD's ``fisd_amt_out_hist`` (``effective_date``,
        ``amount_outstanding`` in thousands of dollars after the action, and ``complete_cusip``, ``cusip_id`` or
        ``issue_id``; validated and keyed by CUSIP by :func:`amount_outstanding_history`, which lists what is
        left out and what raises; a CUSIP the FISD reference does not list is ignored). **Rule:** the amount
        outstanding of bond-month ``t`` is the ``amount_outstanding`` of the bond's last history row with
        ``effective_date`` on or before the last calendar day of ``t`` (of several rows with the same bond and
        date, the last in input order); when the bond has no row by then, its FISD ``offering_amt``, or the
        static FISD ``amount_outstanding`` where the reference has no offering amount. So a call, tender,
        reopening or maturity changes the amount, and the value weight, from the month of its effective date on,
        never before, and ``mv_weight`` uses the amount outstanding at the end of month ``t`` (an amount of 0, a
        bond fully retired by month end, gives ``mv = 0``). This follows the Dickerson-Mueller-Robotti
        trace-data-pipeline (``stage1/stage1_pipeline.py``, step 6), which takes FISD's amount-outstanding history
        as of the date (a backward as-of merge) and fills the gaps with the offering amount; it works on bond-days
        and keeps the largest amount of a duplicated date, this module on month ends and the last row. Without a
        history, ``amount_outstanding`` is the static FISD column (the amount when FISD was pulled) for every
        month, which is wrong for every called, tendered, reopened or matured bond.
    method:
        ``"end"`` computes only end-to-end returns, ``"start"`` only start-to-end returns (and leaves the
        ``start_*`` columns null for ``"end"``), ``"both"`` both; ``ret`` is the end-to-end return when there is
        one, else the start-to-end return, and ``ret_type`` says which (``"end"``/``"start"``; null without a
        return). A NaN return (invalid terms, below) is used only when neither return is finite.

    Returns
    -------
    polars.DataFrame
        :data:`MONTHLY_COLUMNS`, sorted by ``cusip_id, date``.

        **Row rule:** one row per bond and calendar month ``t`` in which the bond has a month-end price, i.e. a
        non-null price on a SIFMA business day among the last five business days of ``t`` that is on or before
        the bond's maturity. (A start-to-end return needs that month-end price as well, so every bond-month
        with a return has a row; months with only a month-start price have no row.) Bonds missing from
        ``fisd`` keep their rows (no maturity screen) with NaN accrued interest and returns.

        ``date`` is the calendar month end; ``price_date``/``price``/``accrued`` the month-end price date, clean
        price and accrued interest (per 100 par); ``start_date``/``start_price``/``start_accrued`` the
        month-start ones; ``coupon_cash`` the coupon cash per 100 par in the holding window of ``ret`` (null
        without a return); ``rf`` and ``exret = ret - rf``; ``amount_outstanding`` in dollars of par (as of the
        month end with a history, see ``amount_outstanding`` above);
        ``mv = (price + accrued) / 100 * amount_outstanding`` and ``mv_weight`` its share of the month's total
        over bonds with a finite ``mv``; ``n_trades`` and ``vol_par`` are the month's totals over the bond's
        days up to maturity.

        **Maturity:** no month-end or month-start price is taken after the maturity date. A price on the
        maturity date has zero accrued interest, and the final coupon (paid at maturity) counts in the holding
        window ``(d0, d1]``.

        **Invalid terms:** bonds whose terms the bond math rejects (e.g. an unusable frequency, an unknown day
        count, a first coupon off the schedule, a price date before the dated date) are kept: their accrued
        interest, returns and ``mv`` are NaN and ``reason`` says why, prefixed by the price date concerned
        (``month-end``, ``previous month-end``, ``month-start``), or is ``cusip_id not in the FISD reference``.
        ``reason`` is null on valid rows. Nothing is dropped silently.
    """
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}, got {method!r}", column="method")
    d = _daily_frame(daily, price)
    bonds = _bond_frame(fisd)
    rf = _rates_frame(rates) if rates is not None else None
    hist = (_history_frame(amount_outstanding, fisd, bonds["cusip_id"], None)
            if amount_outstanding is not None else None)
    if d.height == 0:
        return _empty()

    r = _select_prices(d, bonds, with_start=method != "end")
    # previous month-end (row i - 1 of the same bond in the consecutive calendar month)
    same = ((pl.col("_cid") == pl.col("_cid").shift(1))
            & (pl.col("_mi") == pl.col("_mi").shift(1) + 1)).fill_null(False)
    r = r.with_columns(_has_prev=same & pl.lit(method != "start"),
                       _has_start=(pl.col("start_date").is_not_null()
                                   & (pl.col("start_date") != pl.col("price_date"))).fill_null(False))

    # bond math on all rows at once: AI at month-end and month-start dates, coupons in both kinds of window
    terms = _Terms.of(r)
    d1 = np.asarray(r["price_date"].to_numpy(), dtype="datetime64[D]")
    ai_end, why_end = _accrued(d1, terms)
    has_prev = r["_has_prev"].to_numpy()
    has_start = r["_has_start"].to_numpy()
    i_prev = np.flatnonzero(has_prev)
    i_start = np.flatnonzero(has_start)
    d_start = np.asarray(r["start_date"].to_numpy(), dtype="datetime64[D]")
    ai_start = np.full(r.height, np.nan)
    why_start = np.full(r.height, None, dtype=object)
    if i_start.size:
        ai_start[i_start], why_start[i_start] = _accrued(d_start[i_start], terms.take(i_start))
    idx = np.concatenate([i_prev, i_start])
    w0 = np.concatenate([d1[i_prev - 1], d_start[i_start]])  # row i - 1 holds the previous month-end
    cash = np.full(r.height, np.nan), np.full(r.height, np.nan)
    if idx.size:
        paid = _coupon_cash(w0, d1[idx], terms.take(idx), np.isfinite(ai_end[idx]))
        cash[0][i_prev] = paid[:i_prev.size]
        cash[1][i_start] = paid[i_prev.size:]

    r = r.with_columns(
        pl.Series("accrued", ai_end),
        _reasons(why_end, "_why_end"),
        _nullable(ai_start, has_start, "start_accrued"),
        _reasons(why_start, "_why_start"),
        _nullable(cash[0], has_prev, "_cash_end"),
        _nullable(cash[1], has_start, "_cash_start"),
    )
    prev = lambda c: pl.when(pl.col("_has_prev")).then(pl.col(c).shift(1))  # noqa: E731
    r = r.with_columns(_p0=prev("price"), _ai0=prev("accrued"), _why_prev=prev("_why_end"))
    top = pl.col("price") + pl.col("accrued")
    r = r.with_columns(
        ret_end=pl.when(pl.col("_has_prev")).then((top + pl.col("_cash_end")) / (pl.col("_p0") + pl.col("_ai0")) - 1),
        ret_start=pl.when(pl.col("_has_start")).then(
            (top + pl.col("_cash_start")) / (pl.col("start_price") + pl.col("start_accrued")) - 1),
    )
    r = r.with_columns(
        ret_type=pl.when(pl.col("ret_end").is_finite()).then(pl.lit("end"))
        .when(pl.col("ret_start").is_finite()).then(pl.lit("start"))
        .when(pl.col("ret_end").is_not_null()).then(pl.lit("end"))
        .when(pl.col("ret_start").is_not_null()).then(pl.lit("start")),
    )
    is_end, is_start = pl.col("ret_type") == "end", pl.col("ret_type") == "start"
    r = r.with_columns(
        ret=pl.when(is_end).then(pl.col("ret_end")).when(is_start).then(pl.col("ret_start")),
        coupon_cash=pl.when(is_end).then(pl.col("_cash_end")).when(is_start).then(pl.col("_cash_start")),
        reason=pl.when(~pl.col("_in_fisd")).then(pl.lit(NOT_IN_FISD)).otherwise(pl.concat_str(
            [pl.lit("month-end: ") + pl.col("_why_end"),
             pl.lit("previous month-end: ") + pl.col("_why_prev"),
             pl.lit("month-start: ") + pl.col("_why_start")], separator="; ", ignore_nulls=True)),
    ).with_columns(reason=pl.when(pl.col("reason") != "").then(pl.col("reason")))

    if rf is not None:
        r = r.join(rf, on="_mi", how="left", maintain_order="left")
        uncovered = r.filter(pl.col("ret").is_not_null() & pl.col("rf").is_null())
        if uncovered.height:
            first = uncovered.select(_month_end(pl.col("_mi")).min()).item()
            n_months = uncovered["_mi"].n_unique()
            raise InputError(f"the rates do not cover {n_months} month(s) with returns, the first {first}; extend "
                             f"the rates file", column="rf")
    else:
        r = r.with_columns(rf=pl.lit(None, pl.Float64))
    if hist is not None:
        r = r.with_columns(_amount_asof(r, _month_end(pl.col("_mi")), hist))
    mv = (top / 100.0 * pl.col("amount_outstanding")).alias("mv")
    r = r.with_columns(mv, exret=pl.col("ret") - pl.col("rf"), date=_month_end(pl.col("_mi")))
    finite_mv = pl.when(pl.col("mv").is_finite()).then(pl.col("mv"))
    r = r.with_columns(mv_weight=finite_mv / finite_mv.sum().over("_mi"))
    return r.select(MONTHLY_COLUMNS)


def bond_terms(monthly: pl.DataFrame, fisd: Any) -> pl.DataFrame:
    """Add the bond terms the characteristics need to a :func:`monthly_returns` panel.

    Joins ``coupon`` (percent of par per year, as in FISD) and ``offering_date`` (FISD ``offering_date`` when the
    reference has it, else the dated date) by ``cusip_id``. Computes at each month-end price date the
    street-convention ``yield`` (decimal, compounded at the coupon frequency) and the ``duration`` (modified
    duration in years) from the month-end clean price with the bond's own schedule and day count
    (:func:`bondpremia.fixed_income.bond_analytics`; SIFMA Standard Formulas). Rows whose terms the bond math
    rejects keep NaN yield and duration; no row is dropped.
    """
    from bondpremia.fixed_income import bond_analytics

    for c in ("cusip_id", "price_date", "price"):
        if c not in monthly.columns:
            raise InputError(f"column missing from the monthly panel (the output of monthly_returns); it has "
                             f"{monthly.columns}", column=c)
    bonds = _bond_frame(fisd)
    r = monthly.drop([c for c in ("coupon", "offering_date", "yield", "duration") if c in monthly.columns]).join(
        bonds.select("cusip_id", "maturity", "dated_date", "first_coupon", "_coupon", "_freq", "_dc")
        .rename({"maturity": "_maturity"}), on="cusip_id", how="left")
    terms = _Terms(maturity=np.asarray(r["_maturity"].to_numpy(), dtype="datetime64[D]"),
                   coupon=r["_coupon"].to_numpy().astype(np.float64),
                   freq=r["_freq"].to_numpy().astype(np.float64),
                   daycount=r["_dc"].fill_null(-1).to_numpy().astype(np.int8),
                   dated=np.asarray(r["dated_date"].to_numpy(), dtype="datetime64[D]"),
                   first_coupon=np.asarray(r["first_coupon"].to_numpy(), dtype="datetime64[D]"))
    settle = np.asarray(r["price_date"].to_numpy(), dtype="datetime64[D]")
    ok = ~np.isnat(settle) & ~np.isnat(terms.maturity) & (settle < terms.maturity)
    ok &= np.isfinite(terms.coupon) & (terms.daycount >= 0) & np.isfinite(r["price"].to_numpy().astype(np.float64))
    yld = np.full(r.height, np.nan)
    dur = np.full(r.height, np.nan)
    idx = np.flatnonzero(ok)
    if idx.size:
        t = terms.take(idx)
        res = bond_analytics(settle[idx], t.maturity, t.coupon, price=r["price"].to_numpy()[idx], **t.kwargs())
        yld[idx], dur[idx] = res.yld, res.modified_duration
    out = r.with_columns(
        (pl.col("_coupon") * 100.0).alias("coupon"), pl.col("dated_date").alias("offering_date"),
        pl.Series("yield", yld), pl.Series("duration", dur),
    ).drop("_maturity", "dated_date", "first_coupon", "_coupon", "_freq", "_dc")
    raw = _as_lazy(fisd, "fisd").collect()
    raw = raw.rename({c: c.lower() for c in raw.columns})
    if "offering_date" in raw.columns:
        key = "complete_cusip" if "complete_cusip" in raw.columns else "cusip_id"
        offered = raw.select(pl.col(key).cast(pl.String).alias("cusip_id"),
                             parse_dates(raw, "offering_date", "FISD reference").alias("_offered"))
        out = out.join(offered, on="cusip_id", how="left").with_columns(
            pl.coalesce("_offered", "offering_date").alias("offering_date")).drop("_offered")
    return out
