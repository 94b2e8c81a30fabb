"""``bondpremia trace``: clean raw TRACE messages, then daily prices and monthly bond returns."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bondpremia.stages.trace import (
    NEEDS_RATES,
    TraceCleanConfig,
    TraceMonthlyConfig,
    run_trace_clean,
    run_trace_monthly,
    wrds_cusips,
)
from bondpremia.stages.trace import simulated_rates as _simulated_rates
from bondpremia.trace.clean import PRESETS
from bondpremia.trace.pipeline import EXECUTORS

app = typer.Typer(help="TRACE: clean raw messages, daily prices, monthly returns.", no_args_is_help=True)


def _wrds_cusips(fisd: Any, names: list[str], console: Console) -> list[str]:
    """The CUSIPs a WRDS pull asks for (:func:`bondpremia.stages.trace.wrds_cusips`), the note on ``console``."""
    return wrds_cusips(fisd, names, console.print)


def _print_audit(audit: pl.DataFrame, console: Console) -> None:
    table = Table(title="cleaning audit")
    for col in ("step", "rows_in", "rows_out", "rows_dropped"):
        table.add_column(col, justify="left" if col == "step" else "right")
    for r in audit.iter_rows(named=True):
        table.add_row(r["step"], f"{r['rows_in']:,}", f"{r['rows_out']:,}", f"{r['rows_dropped']:,}")
    console.print(table)


@app.command("clean")
def clean(
    trace: Annotated[list[Path] | None, typer.Argument(
        metavar="TRACE...", help="Raw TRACE files or folders (parquet, CSV, CSV.gz; WRDS names, any case).")] = None,
    fisd: Annotated[Path | None, typer.Option(help="FISD bond reference (parquet or CSV).")] = None,
    out: Annotated[Path, typer.Option(help="Output folder: trades.parquet, audit.csv, rejects.parquet.")] = Path(
        "trace-clean"),
    preset: Annotated[str, typer.Option(help=f"Rule set: {', '.join(PRESETS)}.")] = "bbw2019",
    skip: Annotated[str | None, typer.Option(help="Comma-separated steps to switch off.")] = None,
    steps: Annotated[str | None, typer.Option(help="Comma-separated steps to run instead of the preset's.")] = None,
    executor: Annotated[str, typer.Option(help=f"Where partitions run: {', '.join(EXECUTORS)}.")] = "local",
    workers: Annotated[int, typer.Option(
        help="Partitions cleaned at once (threads for local; processes for processes and dask).")] = 2,
    scheduler: Annotated[str | None, typer.Option(help="dask scheduler address (with --executor dask).")] = None,
    rows_per_partition: Annotated[int, typer.Option(help="Target rows per CUSIP partition.")] = 500_000,
    memory_limit: Annotated[str, typer.Option(help="DuckDB memory limit for the ingest.")] = "1GB",
    wrds: Annotated[bool, typer.Option("--wrds", help="Pull TRACE Enhanced from WRDS (needs the wrds extra).")] = False,
    start: Annotated[str | None, typer.Option(help="First trade date of the WRDS pull (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option(help="Last trade date of the WRDS pull (YYYY-MM-DD).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --out even if it is not a bondpremia run.")
                     ] = False,
) -> None:
    """Clean Enhanced TRACE messages (Dick-Nielsen 2009/2014, Bai-Bali-Wen 2019); see docs/trace.md.

    The folder appears only when the run is complete (with _SUCCESS.json); an interrupted run leaves nothing."""
    config = TraceCleanConfig(preset=preset, steps=tuple(steps.split(",")) if steps else None,
                              skip=tuple(skip.split(",")) if skip else (), executor=executor,
                              workers=workers, scheduler=scheduler, rows_per_partition=rows_per_partition,
                              memory_limit=memory_limit, wrds=wrds, start=start, end=end)
    console = Console(stderr=True)
    with Progress(TextColumn("cleaning partitions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("clean", total=None)

        def progress(stage: str, n: int) -> None:
            if stage == "partitions":
                bar.update(task, total=n)
            else:
                bar.advance(task, n)

        run = run_trace_clean(list(trace or []), fisd, out, config, progress=progress, note=console.print,
                              force=force)
    _print_audit(run.audit, console)
    console.print(f"wrote {out}: trades.parquet, audit.csv, rejects.parquet, _SUCCESS.json "
                  f"({run.n_partitions} partitions)")


@app.command("monthly")
def monthly(
    trades: Annotated[Path, typer.Argument(metavar="TRADES", help="The folder of `trace clean` (or its "
                                                                  "trades.parquet).")],
    fisd: Annotated[Path, typer.Option(help="FISD bond reference (parquet or CSV).")],
    rates: Annotated[Path | None, typer.Option(
        help="1-month T-bill returns (columns date, rf in decimals). Needed for excess returns unless the trades "
             "come from `bondpremia simulate trace` (its rates.parquet is then used) or --no-excess is given.")
    ] = None,
    no_excess: Annotated[bool, typer.Option("--no-excess", help="No excess returns: rf and exret are null.")
                         ] = False,
    amount_outstanding: Annotated[Path | None, typer.Option(
        "--amount-outstanding", help="FISD amount-outstanding history (parquet or CSV; WRDS fisd_amt_out_hist: "
                                     "effective_date, amount_outstanding in thousands, complete_cusip or issue_id): "
                                     "the amount at each month end instead of FISD's static amount.")] = None,
    out: Annotated[Path, typer.Option(help="Output folder: daily.parquet, monthly.parquet.")] = Path("trace-monthly"),
    method: Annotated[str, typer.Option(help="Returns: end (end-to-end), start (start-to-end) or both.")] = "both",
    price: Annotated[str, typer.Option(help="Daily price: prc_vw_par, prc_vw, prc_ew or prc_last.")] = "prc_vw_par",
    force: Annotated[bool, typer.Option("--force", help="Replace --out even if it is not a bondpremia run.")
                     ] = False,
) -> None:
    """Daily prices and monthly bond returns with accrued interest and coupons (Bai-Bali-Wen 2019)."""
    config = TraceMonthlyConfig(method=method, price=price, no_excess=no_excess)
    console = Console(stderr=True)
    result = run_trace_monthly(trades, fisd, out, config, rates=rates, amount_outstanding=amount_outstanding,
                               note=lambda line: typer.echo(line, err=True), status=console.status, force=force)
    daily, monthly = result.daily, result.monthly
    console.print(f"wrote {out / 'daily.parquet'} ({daily.height:,} bond-days), {out / 'monthly.parquet'} "
                  f"({monthly.height:,} bond-months)")


__all__ = ["NEEDS_RATES", "_simulated_rates", "app"]
