"""``bondpremia simulate``: synthetic markets with known truth (the default data of the demo and the tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bondpremia.stages.simulate import (
    SimulateTraceConfig,
    SimulateTreasuryConfig,
    run_simulate_trace,
    run_simulate_treasury,
)

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
    """Write OUT/trace.parquet, fisd.parquet, fisd_amt_out.parquet (the amount-outstanding history, for `trace
    monthly --amount-outstanding`), truth_trades.parquet, truth_monthly.parquet and rates.parquet."""
    config = SimulateTraceConfig(bonds=bonds, months=months, seed=seed, start=start,
                                 trades_per_bond_month=trades_per_bond_month)
    console = Console(stderr=True)
    with console.status(f"simulating {bonds} bonds over {months} months"):
        run = run_simulate_trace(out, config)
    console.print(f"wrote {out}: {run.info}")


@app.command("treasury")
def treasury(
    months: Annotated[int, typer.Option(help="Number of months.")] = 600,
    series: Annotated[int, typer.Option(help="Macro series (8 McCracken-Ng-like groups).")] = 100,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 0,
    start: Annotated[str, typer.Option(help="First month, YYYY-MM.")] = "1971-08",
    linear: Annotated[bool, typer.Option("--linear", help="No macro effect: the premium is linear in the "
                                                          "forwards.")] = False,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("sim-treasury"),
) -> None:
    """Write OUT/yields.parquet (date x maturity in months, decimals), macro.parquet, groups.csv,
    expected.parquet (true E_t rx_{t+12}) and population_r2.csv: inputs of `bondpremia treasury forecast`."""
    run_simulate_treasury(out, SimulateTreasuryConfig(months=months, series=series, seed=seed, start=start,
                                                      linear=linear))
    Console(stderr=True).print(f"wrote {out}: {months} months, {series} macro series, seed {seed}")


@app.command("bond-panel")
def bond_panel(
    bonds: Annotated[int, typer.Option(help="Number of bonds.")] = 5000,
    months: Annotated[int, typer.Option(help="Number of months.")] = 190,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same file).")] = 0,
    start: Annotated[str, typer.Option(help="First month, YYYY-MM.")] = "2003-01",
    out: Annotated[Path, typer.Option(help="Output parquet file.")] = Path("bond_panel.parquet"),
) -> None:
    """Write an ICE-style index-constituent panel (Return in percent, oas in bp, -99.99 for missing): the input
    of `bondpremia characteristics build`."""
    from bondpremia.simulate.bond_panel import simulate_bond_panel

    frame = simulate_bond_panel(n_bonds=bonds, n_months=months, seed=seed, start=start)
    from bondpremia.rundir import atomic_file

    with atomic_file(out) as tmp:
        frame.to_parquet(tmp, index=False)
    Console(stderr=True).print(f"wrote {out}: {len(frame):,} bond-months")
