"""Signal backtests with explicit timing, and the Taylor-rule Treasury ETF strategy.

Timing contract: a signal dated t is known at the end of period t and sets the position held over period t+1; the
strategy's return dated t+1 is ``position_{t+1} * r_{t+1} - cost * |position_{t+1} - position_t|``. With a
holding period of h > 1 periods, each period opens a cohort that is held for h periods and the position is the
average of the h live cohorts (Jegadeesh and Titman 1993 overlapping portfolios).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bondpremia.econometrics.regression import rolling_regression
from bondpremia.errors import InputError


@dataclass(frozen=True, repr=False)
class BacktestResult:
    """A backtest (:class:`bondpremia.results.Results`).

    ``returns`` has one row a period (dated at the end of the period a return is earned) and the columns signal,
    position, asset_return, gross, cost, net (decimals per period), plus observed and predicted for the Taylor
    rule. ``settings`` are the backtest's options. ``summary()`` is :func:`performance_summary` of the strategy's
    net return and of buy-and-hold; ``save(out)`` writes ``returns.csv`` and ``stats.json`` (the command's files).
    """

    returns: pd.DataFrame
    settings: Mapping[str, Any] = field(default_factory=dict)
    command: str = "strategy backtest"

    def series(self) -> pd.DataFrame:
        """The strategy's net return and buy-and-hold, the two series the statistics describe."""
        return pd.DataFrame({"strategy": self.returns["net"], "buy_and_hold": self.returns["asset_return"]})

    def summary(self) -> pd.DataFrame:
        from bondpremia.portfolio.performance import performance_summary

        return performance_summary(self.series())

    def to_frame(self) -> pd.DataFrame:
        return self.returns

    def stats(self) -> dict[str, Any]:
        """The content of ``stats.json``: the settings, the first and last period and :meth:`summary`."""
        import json

        idx = self.returns.index
        return {**self.settings, "start": str(idx.min().date()), "end": str(idx.max().date()),
                "statistics": json.loads(self.summary().to_json(double_precision=15, date_format="iso"))}

    def __repr__(self) -> str:
        idx = self.returns.index
        span = f"{idx.min():%Y-%m}..{idx.max():%Y-%m}" if len(idx) else "no period"
        opts = ", ".join(f"{k}={v}" for k, v in self.settings.items())
        return f"BacktestResult(periods={len(idx)} ({span}){', ' + opts if opts else ''})"

    def save(self, out: str | Path, *, options: Mapping[str, Any] | None = None,
             inputs: Sequence[str | Path | None] = (), force: bool = False,
             draw: Callable[[Path], Any] | None = None) -> Path:
        """``returns.csv`` and ``stats.json`` in the run folder ``out`` (atomic); ``draw(folder)``, when given,
        adds figures in the same run (e.g. :func:`bondpremia.report.files.taylor_figures`)."""
        from bondpremia.results import write_tables
        from bondpremia.rundir import atomic_run

        with atomic_run(out, self.command, inputs=inputs, options=options if options is not None else self.settings,
                        force=force) as run:
            run.rows.update(write_tables(run.path, {"returns.csv": self.returns.rename_axis("date"),
                                                    "stats.json": self.stats()}))
            if draw is not None:
                draw(run.path)
        return Path(out)


def signal_backtest(signal: pd.Series, returns: pd.Series, *, holding: int = 1, cost_bps: float = 0.0,
                    sizing: str | Callable[[pd.Series], pd.Series] = "sign") -> BacktestResult:
    """Backtest a trading signal on one asset.

    ``signal`` (dated when it is known) and ``returns`` (simple returns, dated at the end of the period they are
    earned over) must share one regular index. ``sizing``: ``"sign"`` (+1 long, -1 short, 0 flat), ``"raw"`` (the
    signal is the position) or a function from the signal to positions. ``cost_bps`` is charged on the traded
    notional. Returns a :class:`BacktestResult` whose ``returns`` has the columns signal, position, asset_return,
    gross, cost, net; periods before the first position are dropped.
    """
    if holding < 1:
        raise InputError("holding must be at least one period", column="holding")
    missing = signal.index.difference(returns.index)
    if len(missing):
        raise InputError(f"returns are missing for signal dates {list(missing[:5])}", column="returns")
    r = returns.reindex(signal.index)
    if sizing == "sign":
        cohort = np.sign(signal)
    elif sizing == "raw":
        cohort = signal.astype(float)
    elif callable(sizing):
        cohort = sizing(signal)
    else:
        raise InputError("sizing must be 'sign', 'raw' or a function", column="sizing")
    target = cohort.rolling(holding, min_periods=holding).mean()  # average of the live cohorts
    position = target.shift(1)  # known at the end of t, held over t+1
    gross = position * r
    cost = position.diff().abs().fillna(position.abs()) * cost_bps * 1e-4  # the first position is opened from 0
    out = pd.DataFrame({"signal": signal, "position": position, "asset_return": r, "gross": gross, "cost": cost,
                        "net": gross - cost})
    if out["asset_return"].loc[out["position"].notna()].isna().any():
        bad = out.index[out["position"].notna() & out["asset_return"].isna()][:5]
        raise InputError(f"asset returns are missing (NaN) for dates {list(bad)}", column="returns")
    settings = {"holding": holding, "cost_bps": cost_bps, "sizing": sizing if isinstance(sizing, str) else "function"}
    return BacktestResult(out.loc[out["position"].notna()], settings)


def taylor_rule_signal(rates: pd.DataFrame, window: int = 36, publication_lag: int = 1,
                       fed_funds: str = "FEDFUNDS", output_gap: str = "CFNAI", inflation: str = "pce_infl_yoy",
                       target_inflation: float = 2.0) -> pd.DataFrame:
    """Rolling Taylor (1993) rule ``i_t = c + a * gap_t + b * (pi_t - target) + e_t`` on a ``window``-month window,
    with one-step-ahead out-of-sample predictions; the signal is predicted minus observed fed funds.

    Macro series for month t are published weeks after t ends, so the signal is dated ``publication_lag`` months
    later than the data (default 1: CFNAI and PCE inflation of month t are known at the end of t+1).
    """
    from bondpremia.validate import integer, numeric_columns

    integer(window, "window", 4)  # three coefficients and a degree of freedom
    integer(publication_lag, "publication_lag", 0)  # a negative lag would use data before it is published
    rates = numeric_columns(rates, [fed_funds, output_gap, inflation])
    df = rates[[fed_funds, output_gap, inflation]].rename(columns={fed_funds: "ff", output_gap: "gap",
                                                                   inflation: "infl"})
    df = df.assign(infl_gap=df["infl"] - target_inflation).dropna()
    df.index = pd.DatetimeIndex(df.index).to_period("M").to_timestamp(how="end").normalize()  # month ends
    res = rolling_regression("ff ~ gap + infl_gap", df, window=window)
    out = pd.DataFrame({"observed": res.observed, "predicted": res.predicted})
    out["signal"] = out["predicted"] - out["observed"]
    out.index = out.index + pd.offsets.MonthEnd(publication_lag)
    return out.dropna()


def taylor_rule_strategy(rates: pd.DataFrame, etf_returns: pd.Series, window: int = 36, publication_lag: int = 1,
                         cost_bps: float = 0.0) -> BacktestResult:
    """Long the ETF over month t+1 when the Taylor-rule fed funds rate predicted out of sample for the latest
    published month is above the observed rate, short when below (the worked example of the strategy lab).

    Runs over the months where both the signal and the ETF's monthly returns exist.
    """
    from bondpremia.validate import number

    number(cost_bps, "cost_bps", 0.0)
    sig = taylor_rule_signal(rates, window=window, publication_lag=publication_lag)
    common = sig.index.intersection(etf_returns.dropna().index)
    if len(common) < 3:
        raise InputError("the rates and the ETF returns share fewer than 3 months", column="etf")
    out = signal_backtest(sig.loc[common, "signal"], etf_returns.loc[common], cost_bps=cost_bps).returns
    return BacktestResult(out.join(sig[["observed", "predicted"]]),
                          {"window": window, "publication_lag": publication_lag, "cost_bps": cost_bps},
                          command="strategy taylor")
