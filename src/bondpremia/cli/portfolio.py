"""``bondpremia portfolio``: quantile sorts of a bond panel on a characteristic."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bondpremia.cli._common import cli_input, read_panel
from bondpremia.errors import InputError
from bondpremia.rundir import atomic_run, check_out

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

    from bondpremia.portfolio.sorts import univariate_sort, write_sort  # imported here: the CLI starts fast

    check_out(out, force)
    frame = read_panel(panel)
    for col in (entity, date, ret):
        if col not in frame.columns:
            raise InputError(f"column not found; the panel has {list(frame.columns)}", file=str(panel), column=col)
    frame[date] = pd.to_datetime(frame[date])
    console = Console()
    names = list(dict.fromkeys(c.strip() for c in char.split(",") if c.strip()))
    for name in names:
        if name not in frame.columns:
            raise InputError(f"column not found; the panel has {list(frame.columns)}", file=str(panel),
                             column=name)
    results = {name: cli_input(univariate_sort, frame, name, n, ret=ret, entity=entity, date=date, weight=weight,
                               holding=holding, _file=panel) for name in names}
    options = {"char": names, "n": n, "ret": ret, "weight": weight, "holding": holding, "lags": lags}
    with atomic_run(out, "portfolio sort", inputs=[panel], options=options, force=force) as staged:
        summaries = {name: cli_input(write_sort, result, name, staged.path, lags=lags)
                     for name, result in results.items()}
    for name, summary in summaries.items():
        table = Table(title=f"{n} portfolios on {name} ({'value' if weight else 'equal'} weights, {ret} in %)")
        table.add_column("statistic")
        for col in summary.columns:
            table.add_column(str(col).removesuffix(".0"), justify="right")
        for stat, scale in (("mean", 100.0), ("t_stat", 1.0), ("avg_count", 1.0)):
            table.add_row(stat, *(f"{scale * v:.3f}" if pd.notna(v) else "" for v in summary.loc[stat]))
        console.print(table)
    console.print(f"wrote {out}")
