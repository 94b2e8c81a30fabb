"""Fixed-income analytics: day counts, coupon schedules, accrued interest, price and yield, duration,
convexity, DV01, and zero-curve tools (log prices, forwards, excess returns, Nelson-Siegel-Svensson,
par-to-zero bootstrap). Everything is vectorized over numpy arrays.
"""

from bondpremia.fixed_income.bond import (
    BondAnalytics,
    accrued_interest,
    bond_analytics,
    check_bonds,
    price_from_yield,
    yield_from_price,
)
from bondpremia.fixed_income.bootstrap import ZeroCurve, par_to_zero
from bondpremia.fixed_income.curves import excess_returns, forward_rates, log_prices
from bondpremia.fixed_income.daycount import DayCount, parse_daycount, year_fraction
from bondpremia.fixed_income.nss import NSS_PARAMS, fit_nss, nss_yields
from bondpremia.fixed_income.schedule import REASONS, bond_terms, coupon_schedule, coupons_paid

__all__ = [
    "NSS_PARAMS",
    "REASONS",
    "ZeroCurve",
    "excess_returns",
    "fit_nss",
    "forward_rates",
    "log_prices",
    "nss_yields",
    "par_to_zero",
    "BondAnalytics",
    "DayCount",
    "accrued_interest",
    "bond_analytics",
    "bond_terms",
    "check_bonds",
    "coupon_schedule",
    "coupons_paid",
    "parse_daycount",
    "price_from_yield",
    "year_fraction",
    "yield_from_price",
]
