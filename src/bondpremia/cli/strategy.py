"""``bondpremia strategy``: signal strategies on bond ETFs, with performance statistics and a tear sheet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bondpremia.cli._common import cli_input
from bondpremia.errors import InputError
from bondpremia.rundir import check_out

app = typer.Typer(help="Signal strategies with explicit timing: a signal known at the end of t trades over t+1.",
                  no_args_is_help=True)


@app.command("taylor")
def taylor(
    rates: Annotated[Path, typer.Option(help="Monthly CSV with date, FEDFUNDS, CFNAI and pce_infl_yoy (percent).")],
    etf: Annotated[Path, typer.Option(help="Yahoo-style daily price file of the traded ETF (e.g. SHY).")],
    out: Annotated[Path, typer.Option(help="Output directory (returns, stats, figures).")],
    window: Annotated[int, typer.Option(help="Rolling window of the Taylor-rule regression, in months.")] = 36,
    publication_lag: Annotated[int, typer.Option(help="Months before a month's macro data is known.")] = 1,
    cost_bps: Annotated[float, typer.Option(help="Transaction cost in basis points of traded notional.")] = 0.0,
    force: Annotated[bool, typer.Option("--force", help="Replace --out even if it is not a bondpremia run.")
                     ] = False,
) -> None:
    """Long the ETF when the rolling Taylor rule predicts a fed funds rate above the observed one, short when
    below; hold one month. Prints the performance statistics as JSON."""
    import pandas as pd

    from bondpremia.data.prices import load_yahoo_prices, monthly_total_returns  # imported here: the CLI starts fast
    from bondpremia.portfolio.backtest import taylor_rule_strategy
    from bondpremia.report.files import taylor_figures

    check_out(out, force)
    if not rates.exists():
        raise InputError("file not found", file=str(rates))
    frame = pd.read_csv(rates)
    if "date" not in frame.columns:
        raise InputError(f"column not found; the file has {list(frame.columns)}", file=str(rates), column="date")
    from bondpremia.validate import numeric_columns

    frame = numeric_columns(frame, [c for c in ("FEDFUNDS", "CFNAI", "pce_infl_yoy") if c in frame.columns],
                            file=str(rates))
    frame = frame.set_index(pd.to_datetime(frame["date"])).drop(columns="date")
    etf_returns = monthly_total_returns(load_yahoo_prices(etf))
    result = cli_input(taylor_rule_strategy, frame, etf_returns, window=window, publication_lag=publication_lag,
                                  cost_bps=cost_bps)
    title = f"Taylor-rule strategy on {etf.stem} ({window}-month window)"
    result.save(out, inputs=[rates, etf], force=force, draw=lambda folder: taylor_figures(folder, result, title))
    print(json.dumps(result.stats(), indent=2))
