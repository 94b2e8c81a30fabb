"""``bondpremia simulate``: synthetic markets with known truth (the default data of the demo and the tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="Simulated markets with known truth.", no_args_is_help=True)


@app.command("trace")
def trace(
    bonds: Annotated[int, typer.Option(help="Number of bonds (FISD rows).")] = 200,
    months: Annotated[int, typer.Option(help="Number of months.")] = 24,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 0,
    start: Annotated[str, typer.Option(help="First month, YYYY-MM.")] = "2011-06",
    trades_per_bond_month: Annotated[float, typer.Option(help="Mean genuine trades per bond and month.")] = 8.0,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("sim-trace"),
) -> None:
    """Write OUT/trace.parquet, fisd.parquet, truth_trades.parquet, truth_monthly.parquet and rates.parquet."""
    from bondpremia.simulate.trace import write_simulated_trace

    console = Console(stderr=True)
    with console.status(f"simulating {bonds} bonds over {months} months"):
        info = write_simulated_trace(out, n_bonds=bonds, n_months=months, seed=seed, start=start,
                                     trades_per_bond_month=trades_per_bond_month)
    console.print(f"wrote {out}: {info}")
