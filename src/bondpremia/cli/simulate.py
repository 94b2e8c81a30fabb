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
    """Write OUT/trace.parquet, fisd.parquet, fisd_amt_out.parquet (the amount-outstanding history, for `trace
    monthly --amount-outstanding`), truth_trades.parquet, truth_monthly.parquet and rates.parquet."""
    from bondpremia.rundir import atomic_run
    from bondpremia.simulate.trace import write_simulated_trace

    console = Console(stderr=True)
    options = {"bonds": bonds, "months": months, "seed": seed, "start": start,
               "trades_per_bond_month": trades_per_bond_month}
    with console.status(f"simulating {bonds} bonds over {months} months"), \
            atomic_run(out, "simulate trace", options=options) as staged:
        info = write_simulated_trace(staged.path, n_bonds=bonds, n_months=months, seed=seed, start=start,
                                     trades_per_bond_month=trades_per_bond_month)
        staged.rows.update({"trace.parquet": int(info["messages"])})
    info = {**info, "out_dir": str(out)}  # not the staging folder it was written into
    console.print(f"wrote {out}: {info}")


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
    import pandas as pd

    from bondpremia.simulate.term_structure import simulate_term_structure

    sim = simulate_term_structure(n_months=months, start=start, n_series=series, seed=seed,
                                  params={"macro_effect": not linear})
    from bondpremia.rundir import atomic_run

    with atomic_run(out, "simulate treasury", options={"months": months, "series": series, "seed": seed,
                                                       "start": start, "linear": linear}) as staged:
        d = staged.path
        sim.yields.rename(columns=str).to_parquet(d / "yields.parquet")
        sim.macro.to_parquet(d / "macro.parquet")
        sim.groups.rename_axis("series").rename("group").to_csv(d / "groups.csv")
        sim.expected_excess.rename(columns=str).to_parquet(d / "expected.parquet")
        pd.DataFrame({"maturity": [str(c) for c in sim.population_r2.index],
                      "population_r2": sim.population_r2.to_numpy()}).to_csv(d / "population_r2.csv", index=False)
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
