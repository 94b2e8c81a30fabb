"""``bondpremia ipca``: fit IPCA on a characteristic panel, with out-of-sample fits and bootstrap tests."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from bondpremia.cli._common import read_panel
from bondpremia.errors import InputError
from bondpremia.rundir import check_out

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
    returns: Annotated[str, typer.Option(help="Return column (excess return of month t+1 on the row of t).")] = "ret",
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
    import pandas as pd

    from bondpremia.models import IPCA  # imported here: the CLI starts fast
    from bondpremia.validate import integer
    check_out(out, force)

    integer(factors, "--factors", 1)
    integer(bootstrap, "--bootstrap", 0)
    integer(seed, "--seed", 0)
    panel = read_panel(chars_file)
    names = [c.strip() for c in chars.split(",")] if chars else None
    if names == ["kpp"]:  # the instruments of Kelly, Palhares and Pruitt (2023, Table A.I) that the panel has
        from bondpremia.characteristics import KPP_INSTRUMENTS

        names = [c for c in KPP_INSTRUMENTS if c in panel.columns]
        absent = [c for c in KPP_INSTRUMENTS if c not in panel.columns]
        if not names:
            raise InputError("none of the 29 KPP characteristics is a column of the panel", column="--chars")
        if absent:
            print(f"note: {len(absent)} of the 29 KPP instruments are not in the panel: {absent}", file=sys.stderr)
    if date in panel.columns:
        panel[date] = pd.to_datetime(panel[date])
    if names is None and date in panel.columns:
        # default instruments: every other column that varies across bonds in some month (macro series, the same
        # for every bond, cannot be IPCA instruments on their own)
        others = [c for c in panel.columns if c not in (returns, entity, date)]
        varies = panel.groupby(date)[others].nunique().max() > 1
        names = [c for c in others if varies[c]]
        if len(names) < len(others):
            print(f"note: left out {[c for c in others if not varies[c]]}: the same for every bond in every month "
                  "(pass --chars to choose the instruments)", file=sys.stderr)
    model = IPCA(n_factors=factors, intercept=intercept, constant=constant,
                 singular_months="drop" if drop_singular_months else "keep")
    try:
        model.fit(panel, returns=returns, chars=names, entity=entity, date=date)
    except InputError as err:
        if err.column != "n_factors":
            raise
        raise InputError(err.reason, column="--factors") from None
    result = model.fit_stats()
    if oos_start is not None:
        from bondpremia.validate import month

        start = month(oos_start, "--oos-start").to_timestamp()  # the first day of the month
        try:
            oos = model.fit_oos(panel, start=start, returns=returns, chars=model.chars_, entity=entity, date=date,
                                progress=True)
        except InputError as err:
            if err.column != "start":
                raise
            raise InputError(err.reason, column="--oos-start") from None
        result.update(oos.as_dict())
    if bootstrap:
        if not intercept:
            raise InputError("the Gamma_alpha bootstrap needs --intercept", column="--bootstrap")
        test = model.test_alpha(n_boot=bootstrap, seed=seed, progress=True)
        result.update({"w_alpha": test.statistic, "w_alpha_pvalue": test.pvalue, "bootstrap_draws": bootstrap})
    options = {"factors": factors, "intercept": intercept, "constant": constant, "oos_start": oos_start,
               "bootstrap": bootstrap, "returns": returns, "chars": model.chars_, "seed": seed,
               "drop_singular_months": drop_singular_months}
    model.save(out, extra=result, options=options, inputs=[chars_file], force=force)
    print(json.dumps(result, indent=2, default=float))
