"""``bondpremia treasury``: recursive out-of-sample forecasts of Treasury excess returns (BBT 2021)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from bondpremia.cli._common import cli_input
from bondpremia.errors import InputError
from bondpremia.model_names import MODEL_HELP
from bondpremia.rundir import check_out
from bondpremia.stages.treasury import (
    ForecastConfig,
    ReplicateConfig,
    load_treasury_data,
    run_treasury_forecast,
    run_treasury_replicate,
)

app = typer.Typer(help="Treasury bond risk premia with machine learning (Bianchi-Buechner-Tamoni 2021).",
                  no_args_is_help=True)


_PROGRESS_COLUMNS = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())


def _load(console: Console, yields: Path, macro: Path | None, groups: Path | None, start: str, end: str,
          lag_macro: bool, models: list[str], seeds: int, keep: int, trees: int) -> Any:
    """The TreasuryData of the command's files; every model name is checked before hours of fitting."""
    return load_treasury_data(yields, macro, groups, start=start, end=end, lag_macro=lag_macro, models=models,
                              seeds=seeds, keep=keep, trees=trees, status=console.status)


@app.command("forecast", help="Recursive out-of-sample forecasts of 12-month excess returns.",
             epilog="Models (--models): " + "; ".join(" ".join(entry.split())
                                                         for entry in re.split(r"\n(?=\S)", MODEL_HELP.strip())))
def forecast(
    yields: Annotated[Path, typer.Option(help="Zero yields: Liu-Wu CSV, Treasury par-curve CSV, or a table "
                                              "(date + maturities in months, decimals).")],
    out: Annotated[Path, typer.Option(help="Output folder.")],
    models: Annotated[str, typer.Option(help="Comma-separated model names (listed below).")] = "hm,ols,pcr3,cp",
    macro: Annotated[Path | None, typer.Option(help="FRED-MD vintage CSV, or a table of stationary series.")] = None,
    groups: Annotated[Path | None, typer.Option(help="CSV series,group for a macro table that is not FRED-MD.")] = None,
    start: Annotated[str, typer.Option(help="First month of the sample, YYYY-MM.")] = "1971-08",
    end: Annotated[str, typer.Option(help="Last month of yields used (last realized return), YYYY-MM.")] = "2018-12",
    oos_start: Annotated[str, typer.Option(help="First month of realized returns forecast, YYYY-MM.")] = "1990-01",
    timing: Annotated[str, typer.Option(help="purged (only returns realized by t) or bbt (the paper's).")] = "purged",
    lag_macro: Annotated[bool, typer.Option("--lag-macro", help="Lag non-market macro series one month.")] = False,
    refit_every: Annotated[int, typer.Option(help="Refit every k months.")] = 1,
    retune_every: Annotated[int, typer.Option(help="Re-tune hyper-parameters every k months (BBT: 60).")] = 60,
    seeds: Annotated[int, typer.Option(help="Networks trained per ensemble.")] = 100,
    keep: Annotated[int, typer.Option(help="Best networks (validation loss) averaged.")] = 10,
    trees: Annotated[int, typer.Option(help="Trees per forest.")] = 300,
    seed: Annotated[int, typer.Option(help="Base random seed.")] = 0,
    cache: Annotated[Path | None, typer.Option(help="Cache folder: resume an interrupted run.")] = None,
    figures: Annotated[bool, typer.Option(help="Write OUT/figures/*.png.")] = True,
    dm_against: Annotated[str | None, typer.Option(help="Write OUT/dm.csv: Diebold-Mariano tests of every model "
                                                         "against this one.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --out even if it is not a bondpremia run.")
                     ] = False,
) -> None:
    """Write OUT/r2oos.csv, r2oos_factors.csv, forecasts.parquet, importance.csv, dm.csv and figures."""
    config = ForecastConfig(models=tuple(models.split(",")), start=start, end=end, oos_start=oos_start, timing=timing,
                            lag_macro=lag_macro, refit_every=refit_every, retune_every=retune_every, seeds=seeds,
                            keep=keep, trees=trees, seed=seed, dm_against=dm_against, figures=figures)
    check_out(out, force)
    console = Console(stderr=True)
    data = _load(console, yields, macro, groups, start, end, lag_macro, list(config.models), seeds, keep, trees)
    with Progress(*_PROGRESS_COLUMNS, console=console) as bar:
        @contextmanager
        def progress(name: str) -> Iterator[Callable[[int, int], None]]:
            task = bar.add_task(name, total=None)
            yield lambda done, total: bar.update(task, completed=done, total=total)

        tables = run_treasury_forecast(data, out, config, inputs=[yields, macro, groups], cache=cache,
                                       progress=progress, force=force)
    table = Table(title=f"R²oos in percent ({timing} timing), Clark-West: *** 1%, ** 5%, * 10%")
    wide = tables.r2oos_wide
    table.add_column("model", no_wrap=True)
    for col in wide.columns:
        table.add_column(str(col), justify="right")
    for model, row in wide.iterrows():
        table.add_row(str(model), *[str(v) for v in row])
    Console().print(table)
    console.print(f"wrote {out}/r2oos.csv, r2oos_factors.csv, forecasts.parquet, importance.csv"
                  + (", figures/" if figures else ""))


@app.command("replicate", help="Run the rows of Bianchi-Buechner-Tamoni (2021) Table 1 or 2 and compare with the "
                                  "published R²oos (replication.csv, figures/replication.png).")
def replicate_cmd(
    yields: Annotated[Path, typer.Option(help="Zero yields: the Liu-Wu CSV (as in the paper), a Treasury par-curve "
                                              "CSV, or a table.")],
    out: Annotated[Path, typer.Option(help="Output folder (written whole when the run completes).")],
    table: Annotated[int, typer.Option(help="1 (forward rates) or 2 (forward rates + FRED-MD).")] = 1,
    macro: Annotated[Path | None, typer.Option(help="FRED-MD vintage CSV (Table 2; the paper: 2018-12).")] = None,
    timing: Annotated[str, typer.Option(help="bbt (the published tables), purged (only realized returns) or "
                                             "both.")] = "both",
    models: Annotated[str | None, typer.Option(help="Comma-separated subset of the table's rows (model names); "
                                                    "default every row.")] = None,
    seeds: Annotated[int, typer.Option(help="Networks trained per ensemble (BBT: 100).")] = 100,
    keep: Annotated[int, typer.Option(help="Best networks averaged (BBT: 10).")] = 10,
    trees: Annotated[int, typer.Option(help="Trees per forest.")] = 300,
    retune_every: Annotated[int, typer.Option(help="Months between hyper-parameter searches.")] = 60,
    gamma: Annotated[float, typer.Option(help="Risk aversion of the certainty-equivalent gain.")] = 5.0,
    start: Annotated[str, typer.Option(help="First month of the sample, YYYY-MM.")] = "1971-08",
    end: Annotated[str, typer.Option(help="Last month of yields used, YYYY-MM.")] = "2018-12",
    oos_start: Annotated[str, typer.Option(help="First month of realized returns forecast, YYYY-MM.")] = "1990-01",
    seed: Annotated[int, typer.Option(help="Random seed of every fit.")] = 0,
    cache: Annotated[Path | None, typer.Option(help="Cache folder: an interrupted run resumes.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --out even if it is not a bondpremia run.")
                     ] = False,
) -> None:
    """Write OUT/replication.csv, forecasts.parquet, settings.json and figures/replication.png."""
    config = ReplicateConfig(table=table, timing=timing, models=None if models is None else tuple(models.split(",")),
                             start=start, end=end, oos_start=oos_start, seeds=seeds, keep=keep, trees=trees,
                             retune_every=retune_every, gamma=gamma, seed=seed)
    check_out(out, force)  # before the hours of fitting, not after
    if config.table == 2 and macro is None:
        raise InputError("Table 2 needs the FRED-MD panel", column="--macro")
    console = Console(stderr=True)
    macro = macro if config.table == 2 else None
    data = _load(console, yields, macro, None, start, end, False, config.model_names(), seeds, keep, trees)
    tasks: dict[str, TaskID] = {}
    with Progress(*_PROGRESS_COLUMNS, console=console) as bar:
        def step(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done, total=total)

        result = run_treasury_replicate(data, out, config, inputs=[yields, macro], cache=cache, progress=step,
                                        force=force)
    wide = result.summary("EW")
    view = Table(title=f"BBT (2021) Table {table}: R²oos (%) and CER gain (% per year, gamma {gamma:g}), EW")
    view.add_column("model", no_wrap=True)
    view.add_column("paper's row")
    for col in wide.columns:
        view.add_column(" ".join(str(c) for c in col if c), justify="right")
    for key, values in wide.iterrows():
        name, paper_label = (str(k) for k in key)  # type: ignore[attr-defined]
        view.add_row(name, paper_label, *["" if v != v else f"{v:.1f}" for v in values])
    Console().print(view)
    console.print(f"wrote {out}/replication.csv, forecasts.parquet, settings.json, figures/replication.png")


@app.command("fredmd")
def fredmd(
    vintage: Annotated[str, typer.Option(help="YYYY-MM or current.")] = "current",
    out: Annotated[Path, typer.Option(help="Target file or existing folder.")] = Path("."),
) -> None:
    """Download a FRED-MD vintage CSV from the St. Louis Fed (needs internet; otherwise download it by hand)."""
    from bondpremia.data.fredmd import download_fredmd

    path = cli_input(download_fredmd, vintage, dest=out)
    Console(stderr=True).print(f"wrote {path}")
