"""Portfolios: signal backtests with explicit timing, performance statistics."""

from bondpremia.portfolio.backtest import signal_backtest, taylor_rule_signal, taylor_rule_strategy

__all__ = ["signal_backtest", "taylor_rule_signal", "taylor_rule_strategy"]
