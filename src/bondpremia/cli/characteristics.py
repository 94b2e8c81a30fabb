"""``bondpremia characteristics``: the characteristics panel of a monthly bond panel."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bondpremia.stages.characteristics import CharacteristicsConfig, run_characteristics_build

app = typer.Typer(help="Bond, equity, risk, momentum and beta characteristics (Kelly-Palhares-Pruitt style).",
                  no_args_is_help=True)


@app.command("build")
def build(
    panel: Annotated[Path, typer.Argument(metavar="PANEL", help="Monthly bond panel (parquet or CSV): TRACE monthly "
                                                                "or ICE-style index constituents.")],
    out: Annotated[Path, typer.Option(help="Output folder: characteristics.parquet, coverage.csv.")],
    macro: Annotated[Path | None, typer.Option(help="Folder of macro files (FRED BAA/AAA/GS10/TB3MS, CBOE VIX, "
                                                    "Ken French ff3), laid out like ../shared/data/market.")] = None,
    rank: Annotated[bool, typer.Option("--rank", help="Cross-sectional ranks in [-0.5, 0.5], missing -> 0.")] = False,
    winsor: Annotated[float | None, typer.Option(help="Winsorize each month at this tail share first.")] = None,
    ret_unit: Annotated[str | None, typer.Option(help="Unit of the return column: percent or decimal "
                                                      "(default: percent for ICE-style panels).")] = None,
    oas_unit: Annotated[str | None, typer.Option(help="Unit of the OAS column: bp, percent or decimal.")] = None,
    fisd: Annotated[Path | None, typer.Option(help="FISD reference of a TRACE monthly panel: adds coupon, offering "
                                                   "date and modified duration (from the month-end price).")
                    ] = None,
    corporate_index: Annotated[bool, typer.Option("--corporate-index", help="Bond market = the LQD ETF return of "
                                                  "the macro folder instead of the panel's value-weighted return.")
                               ] = False,
    bom_timing: Annotated[str, typer.Option(help="ice_bom: a *_BOM field on the row of t+1 is the value at the end "
                                                 "of t (default); as_reported: use it on its own row.")
                          ] = "ice_bom",
    universe: Annotated[str | None, typer.Option(help="kpp: only bond-months with a spread of 50-2,000 bp and a "
                                                      "duration of at least 0.25 years.")] = None,
    alternative: Annotated[list[str] | None, typer.Option(help="Also build an alternative definition: var5, "
                                                              "spread_over_dd (repeatable).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail when a Kelly-Palhares-Pruitt characteristic cannot "
                                                          "be built (default: a warning naming the inputs).")
                      ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace --out even if it is not a bondpremia run.")
                     ] = False,
) -> None:
    """Write OUT/characteristics.parquet (id, date, one column per characteristic, exret_next) and
    OUT/coverage.csv (non-missing share per characteristic and month)."""
    import time
    import warnings

    from bondpremia.characteristics import MissingInputWarning

    config = CharacteristicsConfig(rank=rank, winsor=winsor, ret_unit=ret_unit, oas_unit=oas_unit,
                                   corporate_index=corporate_index, bom_timing=bom_timing, universe=universe,
                                   alternatives=tuple(alternative or ()), strict=strict)
    console = Console(stderr=True)
    t0 = time.perf_counter()
    with console.status("characteristics"), warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always", MissingInputWarning)
        res = run_characteristics_build(panel, out, config, macro=macro, fisd=fisd, force=force)
    for item in w:
        if issubclass(item.category, MissingInputWarning):
            console.print(f"warning: {item.message}", markup=False, highlight=False, soft_wrap=True)
        else:  # not ours to reword: shown as Python shows it
            warnings.showwarning(item.message, item.category, item.filename, item.lineno)
    for note in res.notes:
        console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"{len(res.names)} characteristics for {len(res.panel):,} bond-months in "
                  f"{time.perf_counter() - t0:.1f} s; wrote {out}/characteristics.parquet, coverage.csv")
    console.print("mean coverage: " + ", ".join(f"{k} {v:.0%}" for k, v in res.coverage.mean().items()))
