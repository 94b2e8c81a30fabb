"""``bondpremia ipca``: fit IPCA on a characteristic panel, with out-of-sample fits and bootstrap tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bondpremia.cli._common import echo
from bondpremia.stages.ipca import IPCAConfig, run_ipca_fit

app = typer.Typer(help="Instrumented PCA (Kelly-Pruitt-Su 2019) on a long bond-month panel.", no_args_is_help=True)


@app.command("fit")
def fit(
    chars_file: Annotated[Path, typer.Argument(metavar="CHARS", help="Panel (parquet or CSV), one row a bond-month.")],
    factors: Annotated[int, typer.Option("--factors", help="Number of latent factors K.")],
    out: Annotated[Path, typer.Option(help="Output directory (fit.json, gamma.csv, factors.csv).")],
    intercept: Annotated[bool, typer.Option("--intercept", help="Estimate Gamma_alpha.")] = False,
    constant: Annotated[bool, typer.Option("--constant/--no-constant", help="Add a constant instrument (Kelly, "
                                           "Pruitt and Su 2019; default).")] = True,
    oos_start: Annotated[str | None, typer.Option(help="First out-of-sample month, YYYY-MM (recursive fits).")] = None,
    bootstrap: Annotated[int, typer.Option(help="Draws of the Gamma_alpha bootstrap test (needs --intercept).")] = 0,
    ret: Annotated[str, typer.Option("--ret", "--returns", help="Return column (excess return of month t+1 on the row "
                                                                "of t); --returns is the earlier name.")] = "ret",
    entity: Annotated[str, typer.Option(help="Bond identifier column.")] = "id",
    date: Annotated[str, typer.Option(help="Date column.")] = "date",
    chars: Annotated[str | None, typer.Option(help="Comma-separated characteristics, or kpp for the Kelly-Palhares-"
                                                   "Pruitt instruments the panel has (default: every other column "
                                                   "that varies across bonds).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    drop_singular_months: Annotated[bool, typer.Option(
        "--drop-singular-months", help="Drop months whose characteristics do not vary independently across bonds "
                                       "(Z_t'Z_t singular, e.g. ranked measures not yet available).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace --out even if it is not a bondpremia run.")
                     ] = False,
) -> None:
    """Fit IPCA and write the estimates; prints the R-squared values as JSON."""
    config = IPCAConfig(factors=factors, intercept=intercept, constant=constant, oos_start=oos_start,
                        bootstrap=bootstrap, seed=seed, drop_singular_months=drop_singular_months, ret=ret,
                        entity=entity, date=date, chars=None if chars is None else tuple(chars.split(",")))
    result = run_ipca_fit(chars_file, out, config, progress=True, note=echo, force=force)
    print(json.dumps(result.stats, indent=2, default=float))
