"""The dense bond x month grid every characteristic is computed on.

A long panel (one row a bond-month) is laid onto consecutive month ends (rows) x bonds (columns); a month
without an observation is a NaN row, so every window and every lag is in **calendar months**, never "the previous
available row". Column names are recognized case-insensitively (``ROLES``) in three layouts:
- TRACE monthly panels (``bondpremia trace monthly``);
- index-constituent panels in the ICE BofA style;
- WRDS Bond Returns (``CUSIP, DATE, RET_EOM, AMOUNT_OUTSTANDING, RATING_NUM, OFFERING_DATE, MATURITY, COUPON,
  T_VOLUME``, returns in decimals).

An ICE field may carry a timing suffix: ``oas_EOM`` (end of the row's month, the same as no suffix) or ``oas_BOM``
(beginning of the row's month, that is the end of the month before). With both, the end-of-month field is used.
:func:`bom_roles` says which roles came from a beginning-of-month field; the builder moves them to the month
they are known in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bondpremia.errors import InputError

__all__ = ["ICE_UNITS", "ROLES", "Grid", "bom_roles", "make_grid", "resolve_columns"]

# role -> accepted column names (first match wins, case-insensitive)
ROLES: dict[str, tuple[str, ...]] = {
    "id": ("cusip_id", "isin", "id", "cusip", "bond_id"),
    "date": ("date", "pricing_date", "month"),
    "ret": ("ret", "return", "bond_ret", "ret_eom"),
    "exret": ("exret", "excess_return"),
    # return minus the return of a duration-matched Treasury (KPP's "credit excess return")
    "credit_exret": ("credit_exret", "credit_excess_return", "excess_return_credit"),
    "rf": ("rf",),
    "oas": ("oas", "spread", "oas_bp"),
    "duration": ("dur", "duration", "mod_dur"),
    "rating": ("rating", "rating_num", "composite_rating"),
    "coupon": ("coupon",),
    "par": ("paramount", "amount_outstanding", "par_amount", "face_value"),
    "maturity": ("maturity", "maturity_date"),
    "offering_date": ("offering_date", "issue_date", "dated_date", "first_issue_date"),
    "industry": ("industry", "sector level 3", "sector_level_3", "sector level 2", "sector_level_2",
                 "sector level 1", "sector_level_1", "sector"),
    "stock_price": ("stock_price", "prc"),
    "market_cap": ("marketcap", "market_cap", "me"),
    "debt": ("debt", "total_debt"),
    "ebitda": ("ebitda",),
    "ebit": ("ebit",),
    "grossmargin": ("grossmargin", "gross_margin"),
    "pricetobook": ("pricetobook", "price_to_book"),
    "pricetoearnings": ("pricetoearnings", "price_to_earnings", "pe"),
    "leverageratio": ("leverageratio", "leverage_ratio"),
    "sales": ("sales", "revenue", "revt", "saleq"),
    "assets": ("assets", "total_assets", "atq"),
    "gross_profit": ("gross_profit", "gp", "gpq"),
    "pd": ("pd_drisk", "default_probability"),
    "volume": ("vol_par", "volume", "par_volume", "t_volume"),
    "mv": ("mv", "market_value"),
}

# Units of an ICE-style panel: returns in percent, OAS in basis points, amounts in currency units.
ICE_UNITS = {"ret": "percent", "oas": "bp"}

SENTINEL = -99.99


def resolve_columns(columns: list[str]) -> dict[str, str]:
    """Map each role of :data:`ROLES` to the panel's column that plays it (roles without a column are left
    out). Per accepted name, the plain column wins, then ``<name>_EOM``, then ``<name>_BOM`` (case-insensitive).
    ``id`` and ``date`` are required."""
    lower = {str(c).strip().lower(): c for c in columns}
    found = {}
    for role, names in ROLES.items():
        for n in names:
            hit = next((lower[c] for c in (n, f"{n}_eom", f"{n}_bom") if c in lower), None)
            if hit is not None:
                found[role] = hit
                break
    for need in ("id", "date"):
        if need not in found:
            raise InputError(f"no {need} column: expected one of {list(ROLES[need])}", column=need)
    return found


def bom_roles(found: dict[str, str]) -> set[str]:
    """The roles of :func:`resolve_columns`'s mapping read from a beginning-of-month (``*_BOM``) field."""
    return {role for role, col in found.items() if str(col).strip().lower().endswith("_bom")}


@dataclass(frozen=True)
class Grid:
    """Month-end dates (T), bond ids (N), and the position of every panel row on the grid."""

    dates: pd.DatetimeIndex
    ids: pd.Index
    row: np.ndarray  # (n_rows,) month position
    col: np.ndarray  # (n_rows,) bond position

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.dates), len(self.ids)

    def wide(self, values: np.ndarray, dtype: type = float) -> np.ndarray:
        """(T, N) array of one column of the panel (NaN / None where the bond has no row that month)."""
        if dtype is float:
            out = np.full(self.shape, np.nan)
        else:
            out = np.full(self.shape, None, dtype=object)
        out[self.row, self.col] = values
        return out

    def long(self, wide: np.ndarray) -> np.ndarray:
        """Values of a (T, N) array at the panel's rows."""
        return wide[self.row, self.col]


def make_grid(panel: pd.DataFrame, roles: dict[str, str]) -> Grid:
    """Lay the panel onto consecutive month ends x bonds. Duplicate bond-months raise :class:`InputError`
    naming the first one."""
    raw = panel[roles["date"]]
    try:
        days = pd.DatetimeIndex(pd.to_datetime(raw))
    except (ValueError, TypeError):
        raise InputError("cannot parse the dates", column=roles["date"]) from None
    if days.isna().any():
        row = int(np.flatnonzero(days.isna())[0])
        raise InputError("missing date", column=roles["date"], row=row)
    months = days.to_period("M")
    m0 = months.min()
    mi = (months.year - m0.year) * 12 + (months.month - m0.month)
    n_months = int(mi.max()) + 1
    dates = pd.period_range(m0, periods=n_months, freq="M").to_timestamp(how="end").normalize()
    ids, col = np.unique(panel[roles["id"]].astype(str).to_numpy(), return_inverse=True)
    key = np.asarray(mi, dtype=np.int64) * len(ids) + col
    if len(np.unique(key)) != len(key):
        _, first = np.unique(key, return_index=True)
        dup = np.setdiff1d(np.arange(len(key)), first)[0]
        raise InputError(f"bond {ids[col[dup]]} has two rows in {months[dup]}", column=roles["id"], row=int(dup))
    return Grid(pd.DatetimeIndex(dates, name="date"), pd.Index(ids, name="id"), np.asarray(mi), col)
