"""Bond-level screens on the FISD reference (Bai, Bali and Wen 2019, Section 2; Dickerson, Mueller and Robotti
2023): keep US-domiciled, dollar-denominated, public, non-convertible, non-asset-backed, non-144A corporate bonds
with a fixed or zero coupon and the terms needed for accrued interest.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from bondpremia.errors import InputError
from bondpremia.schema import FISD_SCREENS

#: FISD ``bond_type`` codes of corporate bonds: debentures, medium-term notes, zero MTNs, zeros, bank notes.
CORPORATE_BOND_TYPES = ("CDEB", "CMTN", "CMTZ", "CZ", "USBN")
#: Usable FISD ``interest_frequency`` codes (0 = zero coupon).
USABLE_FREQUENCIES = (0, 1, 2, 4, 12)

#: FISD columns the screens read (the contract :data:`bondpremia.schema.FISD_SCREENS`).
FISD_COLUMNS = FISD_SCREENS.names


def _yes(c: str) -> pl.Expr:
    return pl.col(c).cast(pl.String).str.to_uppercase().fill_null("") == "Y"


#: (screen name, expression that is true where the bond FAILS the screen), applied in this order.
SCREENS: tuple[tuple[str, pl.Expr], ...] = (
    ("foreign_currency", _yes("foreign_currency")),
    ("not_us_domicile", pl.col("country_domicile").cast(pl.String).fill_null("") != "USA"),
    ("convertible", _yes("convertible")),
    ("asset_backed", _yes("asset_backed")),
    ("rule_144a", _yes("rule_144a")),
    ("private_placement", _yes("private_placement")),
    ("not_corporate", ~pl.col("bond_type").cast(pl.String).fill_null("").is_in(list(CORPORATE_BOND_TYPES))),
    ("not_fixed_coupon", ~pl.col("coupon_type").cast(pl.String).fill_null("").is_in(["F", "Z"])),
    ("unusable_frequency", ~pl.col("interest_frequency").cast(pl.Int64, strict=False).is_in(
        list(USABLE_FREQUENCIES)).fill_null(False)),
    ("no_day_count", pl.col("day_count_basis").cast(pl.String).fill_null("").str.strip_chars() == ""),
    ("no_dated_date", pl.col("dated_date").is_null()),
    ("no_maturity", pl.col("maturity").is_null()),
    ("no_coupon", pl.col("coupon").is_null()),
)


def _lower(fisd: Any) -> pl.DataFrame:
    if not isinstance(fisd, pl.DataFrame):
        import pandas as pd

        if not isinstance(fisd, pd.DataFrame):
            raise InputError(f"expected a polars or pandas DataFrame, got {type(fisd).__name__}", column="fisd")
        fisd = pl.from_pandas(fisd)
    fisd = fisd.rename({c: c.lower() for c in fisd.columns})
    missing = [c for c in FISD_COLUMNS if c not in fisd.columns]
    if missing:
        raise InputError(f"FISD column(s) missing: {missing}", column=missing[0])
    return fisd


def screen_bonds(fisd: Any) -> pl.DataFrame:
    """The FISD table with ``screen``: the first screen the bond fails (null when it passes all)."""
    fisd = _lower(fisd)
    reason = pl.coalesce([pl.when(fails).then(pl.lit(name)) for name, fails in SCREENS])
    return fisd.with_columns(reason.alias("screen"))


def eligible_cusips(fisd: Any) -> pl.DataFrame:
    """One-column frame (``complete_cusip``) of the bonds that pass every screen."""
    return screen_bonds(fisd).filter(pl.col("screen").is_null()).select("complete_cusip").unique()


__all__ = ["CORPORATE_BOND_TYPES", "SCREENS", "USABLE_FREQUENCIES", "eligible_cusips", "screen_bonds"]
