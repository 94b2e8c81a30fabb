"""``bondpremia strategy``: signal strategies on bond ETFs, with performance statistics and a tear sheet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from bondpremia.data.prices import load_yahoo_prices, monthly_total_returns
from bondpremia.errors import InputError
from bondpremia.portfolio.backtest import taylor_rule_strategy

app = typer.Typer(help="Signal strategies with explicit timing: a signal known at the end of t trades over t+1.",
                  no_args_is_help=True)


def _plot_rule(result: pd.DataFrame, path: Path, window: int) -> None:
    """Observed fed funds rate against the rolling rule's out-of-sample prediction."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.plot(result.index, result["observed"], label="observed fed funds rate")
    ax.plot(result.index, result["predicted"], label=f"Taylor rule, rolling {window}-month fit, out of sample")
    ax.set(xlabel="date (month the signal is known)", ylabel="federal funds rate (% per year)",
           title="Taylor rule: predicted vs observed fed funds rate")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


@app.command("taylor")
def taylor(
    rates: Annotated[Path, typer.Option(help="Monthly CSV with date, FEDFUNDS, CFNAI and pce_infl_yoy (percent).")],
    etf: Annotated[Path, typer.Option(help="Yahoo-style daily price file of the traded ETF (e.g. SHY).")],
    out: Annotated[Path, typer.Option(help="Output directory (returns, stats, figures).")],
    window: Annotated[int, typer.Option(help="Rolling window of the Taylor-rule regression, in months.")] = 36,
    publication_lag: Annotated[int, typer.Option(help="Months before a month's macro data is known.")] = 1,
    cost_bps: Annotated[float, typer.Option(help="Transaction cost in basis points of traded notional.")] = 0.0,
) -> None:
    """Long the ETF when the rolling Taylor rule predicts a fed funds rate above the observed one, short when
    below; hold one month. Prints the performance statistics as JSON."""
    from bondpremia.portfolio.performance import performance_summary, tear_sheet

    if not rates.exists():
        raise InputError("file not found", file=str(rates))
    frame = pd.read_csv(rates)
    if "date" not in frame.columns:
        raise InputError(f"column not found; the file has {list(frame.columns)}", file=str(rates), column="date")
    frame = frame.set_index(pd.to_datetime(frame["date"])).drop(columns="date")
    etf_returns = monthly_total_returns(load_yahoo_prices(etf))
    result = taylor_rule_strategy(frame, etf_returns, window=window, publication_lag=publication_lag,
                                  cost_bps=cost_bps)
    out.mkdir(parents=True, exist_ok=True)
    result.to_csv(out / "returns.csv", index_label="date")
    series = pd.DataFrame({"strategy": result["net"], "buy_and_hold": result["asset_return"]})
    stats = performance_summary(series, periods_per_year=12)
    payload = {"window": window, "publication_lag": publication_lag, "cost_bps": cost_bps,
               "start": str(result.index.min().date()), "end": str(result.index.max().date()),
               "statistics": json.loads(stats.to_json(double_precision=15, date_format="iso"))}
    (out / "stats.json").write_text(json.dumps(payload, indent=2))
    tear_sheet(series, out / "strategy.png", title=f"Taylor-rule strategy on {etf.stem} ({window}-month window)")
    _plot_rule(result, out / "taylor_rule.png", window)
    print(json.dumps(payload, indent=2))
