"""TRACE stage: clean raw Enhanced TRACE messages (Dick-Nielsen 2009/2014, Bai-Bali-Wen 2019), daily prices and
monthly bond returns, out of core and partitioned by CUSIP. The contract is ``docs/trace.md``."""

from bondpremia.trace.clean import (
    FORMAT_CHANGE,
    PRESETS,
    SETTLEMENT_LAGS,
    STEPS,
    CleanResult,
    clean_trades,
    parse_messages,
)
from bondpremia.trace.daily import daily_prices
from bondpremia.trace.monthly import amount_outstanding_history, bond_terms, monthly_returns
from bondpremia.trace.pipeline import run_clean
from bondpremia.trace.screens import eligible_cusips, screen_bonds

__all__ = [
    "FORMAT_CHANGE",
    "PRESETS",
    "SETTLEMENT_LAGS",
    "STEPS",
    "CleanResult",
    "amount_outstanding_history",
    "bond_terms",
    "clean_trades",
    "daily_prices",
    "monthly_returns",
    "run_clean",
    "eligible_cusips",
    "parse_messages",
    "screen_bonds",
]
