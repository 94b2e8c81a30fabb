"""Amount-outstanding histories: the par amount of each bond over time, behind the value weights of the monthly
panel (``docs/trace.md``, section "Monthly returns", "Amount-outstanding history").

An amount-outstanding history lists the actions that changed a bond's amount outstanding (a call, a tender, a
reopening, the maturity): one row per action, with its effective date and the amount outstanding after it. The
layout is FISD's (WRDS ``fisd.fisd_amt_out_hist``, or the amount-outstanding fields of ``fisd.fisd_mergedissue``),
column names in any case:

- ``effective_date``: a date, or ``YYYY-MM-DD`` text;
- ``amount_outstanding``: thousands of dollars of par after the action;
- the bond: ``complete_cusip`` or ``cusip_id``, or only ``issue_id``, mapped to the CUSIP through the ``issue_id``
  column of the FISD reference (with both, the CUSIP wins where it is given);
- optionally ``action_type`` and ``action_amount`` (only checked: a number >= 0 where given).

Left out without an error: rows without an effective date or without any identifier (the ``fisd_mergedissue``
fields are empty for bonds that never had an action), rows of a CUSIP the FISD reference does not list, and rows
of an issue FISD lists without a CUSIP. Errors (:class:`~bondpremia.errors.InputError`, naming the file when
given, the column and the 0-based row): a missing column, an unparseable date, an amount that is not a number,
missing on a dated row, negative or not finite, an ``issue_id`` not in the FISD reference (the history and the
reference then come from different FISD snapshots) or listed there twice, or no ``issue_id`` column in the
reference when the history needs it.

:func:`_history_frame` validates a history and keys it by CUSIP (one row per bond and effective date, the last in
input order); :func:`_amount_asof` applies the rule of :func:`bondpremia.trace.monthly.monthly_returns`: the
amount of a bond-month is that of the bond's last history row effective on or before the month's last calendar
day, else the FISD offering amount, else the static FISD ``amount_outstanding``. The public entry point is
:func:`bondpremia.trace.monthly.amount_outstanding_history` (also ``bondpremia.trace.amount_outstanding_history``):
it checks the FISD reference with the return kernel's own reader before calling :func:`_history_frame`, so it is
defined in ``trace.monthly``. ``trace.monthly`` imports from this module (also :func:`_lower_columns`), never the
reverse.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from bondpremia.errors import InputError
from bondpremia.trace.daily import _as_lazy

#: Columns of an amount-outstanding history besides the bond identifier (``complete_cusip``, ``cusip_id`` or
#: ``issue_id``); ``action_type`` and ``action_amount`` are optional and only validated.
AMOUNT_REQUIRED = ("effective_date", "amount_outstanding")

_HISTORY = "amount-outstanding history"


def _lower_columns(frame: pl.DataFrame, what: str, file: str | None) -> pl.DataFrame:
    """``frame`` with lower-case column names; names that differ only in letter case raise. Also reads the FISD
    reference and the rates of ``trace.monthly``."""
    lower = [c.lower() for c in frame.columns]
    if len(set(lower)) < len(lower):
        raise InputError(f"{what}: columns differ only in letter case ({frame.columns})", file=file)
    return frame.rename(dict(zip(frame.columns, lower, strict=True)))


def _first(mask: pl.Series) -> int:
    return int(mask.arg_true()[0])


def _id_text(s: pl.Series) -> pl.Series:
    """An identifier column as stripped text, null for a missing or blank one. Whole-number floats (an integer
    column with a missing value read by pandas) lose their ``.0``, so ``200007.0`` matches ``200007``."""
    if s.dtype.is_float():
        whole = (s == s.floor()).fill_null(True) & s.is_finite().fill_null(True)
        if whole.all():
            s = s.cast(pl.Int64)
    text = s.cast(pl.String).str.strip_chars()
    return text.to_frame("t").select(pl.when(pl.col("t") != "").then(pl.col("t"))).to_series()


def _history_dates(s: pl.Series, file: str | None) -> pl.Series:
    """``effective_date`` as ``pl.Date``; text must be ``YYYY-MM-DD`` (a blank cell is missing)."""
    if s.dtype in (pl.Date, pl.Null):
        return s.cast(pl.Date)
    if isinstance(s.dtype, pl.Datetime):
        return s.dt.date()
    if s.dtype in (pl.String, pl.Categorical):
        text = _id_text(s)
        out = text.str.to_date("%Y-%m-%d", strict=False)
        bad = out.is_null() & text.is_not_null()
        if bad.any():
            i = _first(bad)
            raise InputError(f"{_HISTORY}: {text[i]!r} is not a date (write YYYY-MM-DD)", file=file,
                             column="effective_date", row=i)
        return out
    raise InputError(f"{_HISTORY}: expected dates, got {s.dtype}", file=file, column="effective_date")


def _history_amounts(s: pl.Series, name: str, file: str | None) -> pl.Series:
    """A column of amounts (thousands of dollars) as float64: text that is not a number, NaN, infinite or
    negative values raise; missing cells stay null."""
    if s.dtype in (pl.String, pl.Categorical):
        text = _id_text(s)
        out = text.cast(pl.Float64, strict=False)
        bad = out.is_null() & text.is_not_null()
        if bad.any():
            i = _first(bad)
            raise InputError(f"{_HISTORY}: {text[i]!r} is not a number (thousands of dollars, without units or "
                             f"separators)", file=file, column=name, row=i)
    elif s.dtype.is_numeric() or s.dtype == pl.Null:
        out = s.cast(pl.Float64)
    else:
        raise InputError(f"{_HISTORY}: expected numbers, got {s.dtype}", file=file, column=name)
    bad = (~out.is_finite() | (out < 0)).fill_null(False)
    if bad.any():
        i = _first(bad)
        raise InputError(f"{_HISTORY}: {out[i]} is not a finite non-negative amount (thousands of dollars)",
                         file=file, column=name, row=i)
    return out


def _issue_map(fisd: Any) -> pl.DataFrame:
    """``_issue`` (text) -> ``_fcusip`` (the FISD CUSIP, null where FISD has none) of every FISD row."""
    f = _lower_columns(_as_lazy(fisd, "fisd").collect(), "FISD reference", None)
    key = "complete_cusip" if "complete_cusip" in f.columns else "cusip_id"
    if "issue_id" not in f.columns or key not in f.columns:
        raise InputError(f"the {_HISTORY} identifies bonds by issue_id, and the FISD reference has no issue_id (or "
                         f"no CUSIP) column to map it to CUSIPs; give the history a complete_cusip column or the FISD "
                         f"reference its issue_id", column="issue_id")
    cusip = f[key].cast(pl.String)  # as monthly._bond_frame keys the bonds: blank is missing, otherwise unchanged
    m = pl.DataFrame({"_issue": _id_text(f["issue_id"]),
                      "_fcusip": cusip.to_frame("c").select(pl.when(pl.col("c").str.strip_chars() != "")
                                                            .then(pl.col("c"))).to_series()})
    dup = m["_issue"].is_duplicated() & m["_issue"].is_not_null()
    if dup.any():
        i = _first(dup)
        raise InputError(f"issue_id {m['_issue'][i]} appears more than once in the FISD reference, so the {_HISTORY} "
                         f"cannot be mapped to CUSIPs", column="issue_id", row=i)
    return m.filter(pl.col("_issue").is_not_null()).with_columns(_known=pl.lit(True))


def _history_frame(history: Any, fisd: Any, cusips: pl.Series, file: str | None) -> pl.DataFrame:
    """The validated history keyed by CUSIP (see :func:`bondpremia.trace.monthly.amount_outstanding_history`);
    ``cusips`` are the CUSIPs of the FISD reference (the ``cusip_id`` of ``trace.monthly._bond_frame``)."""
    h = _lower_columns(_as_lazy(history, "amount_outstanding").collect(), _HISTORY, file)
    missing = [c for c in AMOUNT_REQUIRED if c not in h.columns]
    if missing:
        raise InputError(f"{_HISTORY}: column(s) missing: {missing}; it has {h.columns}", file=file,
                         column=missing[0])
    cusip_col = next((c for c in ("complete_cusip", "cusip_id") if c in h.columns), None)
    if cusip_col is None and "issue_id" not in h.columns:
        raise InputError(f"{_HISTORY}: no bond identifier column; give complete_cusip, cusip_id or issue_id (it has "
                         f"{h.columns})", file=file, column="complete_cusip")
    none = pl.Series([None] * h.height, dtype=pl.String)
    t = pl.DataFrame({
        "_row": pl.int_range(h.height, dtype=pl.Int64, eager=True),
        "effective_date": _history_dates(h["effective_date"], file),
        "amount_outstanding": _history_amounts(h["amount_outstanding"], "amount_outstanding", file),
        "_cusip": _id_text(h[cusip_col].cast(pl.String)) if cusip_col else none,
        "_issue": _id_text(h["issue_id"]) if "issue_id" in h.columns else none,
    })
    if "action_amount" in h.columns:
        _history_amounts(h["action_amount"], "action_amount", file)
    # a row without an effective date or without any identifier says nothing about a bond on a date: left out
    t = t.filter(pl.col("effective_date").is_not_null()
                 & (pl.col("_cusip").is_not_null() | pl.col("_issue").is_not_null()))
    if t["amount_outstanding"].null_count():
        i = int(t["_row"][_first(t["amount_outstanding"].is_null())])
        raise InputError(f"{_HISTORY}: missing amount on a dated row", file=file, column="amount_outstanding", row=i)
    by_issue = t["_cusip"].is_null()
    if by_issue.any():
        t = t.join(_issue_map(fisd), on="_issue", how="left", maintain_order="left")
        unknown = t["_cusip"].is_null() & t["_known"].is_null()
        if unknown.any():
            i = _first(unknown)
            raise InputError(f"{_HISTORY}: issue_id {t['_issue'][i]} is not in the FISD reference, so its CUSIP is "
                             f"unknown; use the history and the reference of the same FISD (or keep only the history "
                             f"rows of the reference's issues)", file=file, column="issue_id", row=int(t["_row"][i]))
        t = t.with_columns(_cusip=pl.coalesce("_cusip", "_fcusip"))
    # CUSIPs the FISD reference does not have (and issues FISD lists without a CUSIP) cannot be priced bonds
    t = t.filter(pl.col("_cusip").is_in(cusips.implode()))
    out = t.select(pl.col("_cusip").alias("cusip_id"), "effective_date", "amount_outstanding")
    return (out.unique(subset=["cusip_id", "effective_date"], keep="last", maintain_order=True)
            .sort(["cusip_id", "effective_date"]))


def _amount_asof(r: pl.DataFrame, asof: pl.Expr, hist: pl.DataFrame) -> pl.Series:
    """Amount outstanding (dollars) of each row of ``r`` at its date ``asof`` (the month end; ``r`` sorted by
    ``cusip_id, asof``): the history's last amount effective on or before it, else the offering amount
    (``_offering``), else the static FISD amount (``amount_outstanding``), both in dollars."""
    left = r.select("cusip_id", asof.alias("_asof"))
    right = hist.select("cusip_id", pl.col("effective_date").alias("_asof"),
                        pl.col("amount_outstanding").alias("_hist"))
    # both sides are sorted by date within each CUSIP, which is what join_asof with `by` needs
    j = left.join_asof(right, on="_asof", by="cusip_id", strategy="backward", check_sortedness=False)
    return j.select(pl.coalesce(pl.col("_hist") * 1000.0, r["_offering"], r["amount_outstanding"])
                    .alias("amount_outstanding")).to_series()
