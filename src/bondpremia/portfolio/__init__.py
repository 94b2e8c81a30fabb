"""Portfolios: quantile sorts, signal backtests with explicit timing, performance statistics."""

from bondpremia.portfolio.backtest import (
    BacktestResult,
    signal_backtest,
    taylor_rule_signal,
    taylor_rule_strategy,
)
from bondpremia.portfolio.performance import (
    infer_periods_per_year,
    max_drawdown,
    performance_stats,
    performance_summary,
    turnover,
)
from bondpremia.portfolio.sorts import (
    SortResult,
    bivariate_sort,
    portfolio_returns,
    quantile_portfolios,
    univariate_sort,
    write_sort,
)

__all__ = [
    "BacktestResult",
    "SortResult",
    "bivariate_sort",
    "infer_periods_per_year",
    "max_drawdown",
    "performance_stats",
    "performance_summary",
    "turnover",
    "portfolio_returns",
    "quantile_portfolios",
    "signal_backtest",
    "taylor_rule_signal",
    "taylor_rule_strategy",
    "univariate_sort",
    "write_sort",
]
