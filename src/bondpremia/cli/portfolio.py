"""``bondpremia portfolio``: quantile sorts of a bond panel on a characteristic."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bondpremia.stages.portfolio import SortConfig, run_portfolio_sort

app = typer.Typer(help="Portfolio sorts: the characteristic of t forms portfolios that earn the returns of t+1.",
                  no_args_is_help=True)


@app.command("sort")
def sort(
    panel: Annotated[Path, typer.Argument(metavar="PANEL", help="Bond-month panel (parquet or CSV) with the "
                                                                "characteristic and the return of each month.")],
    char: Annotated[str, typer.Option("--char", help="Characteristic to sort on (comma-separated for several).")],
    out: Annotated[Path, typer.Option(help="Output folder: sort_summary_<char>.csv, sort_returns_<char>.csv.")],
    n: Annotated[int, typer.Option(help="Number of quantile portfolios.")] = 5,
    ret: Annotated[str, typer.Option(help="Return column: the return of the row's own month (e.g. exret).")] = "ret",
    weight: Annotated[str | None, typer.Option(help="Market-value column for value weights (default: equal "
                                                    "weights).")] = None,
    holding: Annotated[int, typer.Option(help="Holding period in months (overlapping cohorts).")] = 1,
    entity: Annotated[str, typer.Option(help="Bond identifier column.")] = "id",
    date: Annotated[str, typer.Option(help="Date column.")] = "date",
    lags: Annotated[int | None, typer.Option(help="Newey-West lags of the t-statistics (default: automatic).")
                    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --out even if it is not a bondpremia run.")
                     ] = False,
) -> None:
    """Sort bonds into N portfolios on each characteristic of month t, hold them over t+1..t+HOLDING, and write
    the monthly portfolio returns and a summary (mean, annualized mean, Newey-West t, months, bonds)."""
    import pandas as pd

    config = SortConfig(chars=tuple(char.split(",")), n=n, ret=ret, weight=weight, holding=holding, entity=entity,
                        date=date, lags=lags)
    results = run_portfolio_sort(panel, out, config, force=force)
    console = Console()
    for name, result in results.items():
        summary = result.summary(lags=config.lags)
        table = Table(title=f"{n} portfolios on {name} ({'value' if weight else 'equal'} weights, {ret} in %)")
        table.add_column("statistic")
        for col in summary.columns:
            table.add_column(str(col).removesuffix(".0"), justify="right")
        for stat, scale in (("mean", 100.0), ("t_stat", 1.0), ("avg_count", 1.0)):
            table.add_row(stat, *(f"{scale * v:.3f}" if pd.notna(v) else "" for v in summary.loc[stat]))
        console.print(table)
    console.print(f"wrote {out}")
