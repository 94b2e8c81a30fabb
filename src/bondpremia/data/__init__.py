"""Loaders for external data formats. Every loader reads a local file, converts units at the edge (percent to
decimals, as its docstring says) and raises :class:`~bondpremia.errors.InputError` naming file, column and row
for malformed input.
"""

from bondpremia.data.factors import load_factor_file
from bondpremia.data.fredmd import (
    FREDMD_GROUP_NAMES,
    FredMD,
    download_fredmd,
    em_impute,
    fredmd_groups,
    is_market_series,
    load_fredmd,
    prepare_fredmd,
    remove_outliers,
    transform_fredmd,
)
from bondpremia.data.prices import load_yahoo_prices, monthly_total_returns
from bondpremia.data.yields import load_liu_wu, load_treasury_par_curve

__all__ = [
    "FREDMD_GROUP_NAMES",
    "FredMD",
    "download_fredmd",
    "em_impute",
    "fredmd_groups",
    "is_market_series",
    "load_factor_file",
    "load_fredmd",
    "load_liu_wu",
    "load_treasury_par_curve",
    "load_yahoo_prices",
    "monthly_total_returns",
    "prepare_fredmd",
    "remove_outliers",
    "transform_fredmd",
]
