"""``bondpremia strategy``: signal strategies on bond ETFs, with performance statistics and a tear sheet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bondpremia.stages.strategy import TaylorConfig, run_strategy_taylor

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
    config = TaylorConfig(window=window, publication_lag=publication_lag, cost_bps=cost_bps)
    result = run_strategy_taylor(rates, etf, out, config, force=force)
    print(json.dumps(result.stats(), indent=2))
