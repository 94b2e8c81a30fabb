"""Signal backtests with explicit timing, and the Taylor-rule Treasury ETF strategy.

Timing contract: a signal dated t is known at the end of period t and sets the position held over period t+1; the
strategy's return dated t+1 is ``position_{t+1} * r_{t+1} - cost * |position_{t+1} - position_t|``. With a
holding period of h > 1 periods, each period opens a cohort that is held for h periods and the position is the
average of the h live cohorts (Jegadeesh and Titman 1993 overlapping portfolios).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bondpremia.econometrics.regression import rolling_regression
from bondpremia.errors import InputError


def signal_backtest(signal: pd.Series, returns: pd.Series, *, holding: int = 1, cost_bps: float = 0.0,
                    sizing: str | Callable[[pd.Series], pd.Series] = "sign") -> pd.DataFrame:
    """Backtest a trading signal on one asset.

    ``signal`` (dated when it is known) and ``returns`` (simple returns, dated at the end of the period they are
    earned over) must share one regular index. ``sizing``: ``"sign"`` (+1 long, -1 short, 0 flat), ``"raw"`` (the
    signal is the position) or a function from the signal to positions. ``cost_bps`` is charged on the traded
    notional. Returns a DataFrame with columns signal, position, asset_return, gross, cost, net; periods before the
    first position are dropped.
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
    return out.loc[out["position"].notna()]


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
                         cost_bps: float = 0.0) -> pd.DataFrame:
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
    out = signal_backtest(sig.loc[common, "signal"], etf_returns.loc[common], cost_bps=cost_bps)
    return out.join(sig[["observed", "predicted"]])


def write_taylor_run(result: pd.DataFrame, out: str | Path, *, window: int, publication_lag: int,
                     cost_bps: float = 0.0, title: str = "Taylor-rule strategy") -> dict[str, Any]:
    """Write a :func:`taylor_rule_strategy` result into ``out``: ``returns.csv`` (the backtest, dated at the
    month a return is earned), ``stats.json`` (the settings and :func:`performance_summary` of the strategy's
    net return and buy-and-hold, monthly), the tear sheet ``strategy.png`` and ``taylor_rule.png`` (observed
    against predicted fed funds rate). Returns the ``stats.json`` payload."""
    import json

    from matplotlib.figure import Figure

    from bondpremia.portfolio.performance import performance_summary, tear_sheet

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result.to_csv(out / "returns.csv", index_label="date")
    series = pd.DataFrame({"strategy": result["net"], "buy_and_hold": result["asset_return"]})
    stats = performance_summary(series, periods_per_year=12)
    payload = {"window": window, "publication_lag": publication_lag, "cost_bps": cost_bps,
               "start": str(result.index.min().date()), "end": str(result.index.max().date()),
               "statistics": json.loads(stats.to_json(double_precision=15, date_format="iso"))}
    (out / "stats.json").write_text(json.dumps(payload, indent=2))
    tear_sheet(series, out / "strategy.png", title=title)
    fig = Figure(figsize=(10, 4.5))
    ax = fig.subplots()
    ax.plot(result.index, result["observed"], label="observed fed funds rate")
    ax.plot(result.index, result["predicted"], label=f"Taylor rule, rolling {window}-month fit, out of sample")
    ax.set(xlabel="date (month the signal is known)", ylabel="federal funds rate (% per year)",
           title="Taylor rule: predicted vs observed fed funds rate")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "taylor_rule.png", dpi=110)
    return payload
