"""``bondpremia trace``: clean raw TRACE messages, then daily prices and monthly bond returns."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bondpremia.errors import InputError
from bondpremia.rundir import atomic_run, check_out, require_run
from bondpremia.trace.clean import PRESETS, resolve_steps
from bondpremia.trace.ingest import read_table
from bondpremia.trace.pipeline import EXECUTORS, run_clean

app = typer.Typer(help="TRACE: clean raw messages, daily prices, monthly returns.", no_args_is_help=True)


def _wrds_cusips(fisd: Any, names: list[str], console: Console) -> list[str]:
    """The CUSIPs a WRDS pull asks for: those passing the FISD bond screens when the run screens bonds (the rest
    would be dropped by ``fisd_screens`` anyway), else every FISD CUSIP."""
    from bondpremia.trace.screens import eligible_cusips

    fisd = fisd.rename({c: c.lower() for c in fisd.columns})
    every = fisd["complete_cusip"].drop_nulls().unique().sort().to_list()
    if "fisd_screens" not in names:
        return every
    screened = eligible_cusips(fisd)["complete_cusip"].drop_nulls().unique().sort().to_list()
    console.print(f"note: pulling the {len(screened):,} of {len(every):,} FISD CUSIPs that pass the bond screens")
    return screened


def _split(value: str | None, option: str = "--steps") -> list[str]:
    """Comma-separated step names; a name given twice is an error (it would break the audit identity)."""
    from bondpremia.validate import unique

    return unique([v.strip() for v in value.split(",") if v.strip()] if value else [], option)


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
    from bondpremia.trace.ingest import check_memory_limit

    check_out(out, force)
    console = Console(stderr=True)
    inputs = list(trace or [])
    if not inputs and not wrds:
        raise InputError("give TRACE files or folders, or --wrds", column="TRACE")
    if workers < 1 or rows_per_partition < 1:
        raise InputError("must be at least 1", column="--workers" if workers < 1 else "--rows-per-partition")
    check_memory_limit(memory_limit)
    options = {"preset": preset, "skip": skip, "steps": steps, "executor": executor, "workers": workers,
               "rows_per_partition": rows_per_partition, "memory_limit": memory_limit, "wrds": wrds, "start": start,
               "end": end}
    with atomic_run(out, "trace clean", inputs=[*inputs, fisd], options=options, force=force) as staged:
        if wrds:
            from bondpremia.data.wrds import pull_trace

            if fisd is None or start is None or end is None:
                raise InputError("a WRDS pull needs --fisd (the CUSIPs), --start and --end", column="--wrds")
            cusips = _wrds_cusips(read_table(fisd), resolve_steps(preset, _split(steps) or None,
                                                                  _split(skip, "--skip")), console)
            inputs.append(pull_trace(cusips, start, end, staged.path / "_wrds"))
        with Progress(TextColumn("cleaning partitions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task("clean", total=None)

            def progress(stage: str, n: int) -> None:
                if stage == "partitions":
                    bar.update(task, total=n)
                else:
                    bar.advance(task, n)

            run = run_clean(inputs, fisd, staged.path, preset=preset, steps=_split(steps) or None,
                            skip=_split(skip, "--skip"), executor=executor, workers=workers, scheduler=scheduler,
                            rows_per_partition=rows_per_partition, memory_limit=memory_limit, progress=progress)
        staged.rows.update({"input": int(run.audit["rows_in"][0]), "trades.parquet": int(run.audit["rows_out"][-1])})
    _print_audit(run.audit, console)
    console.print(f"wrote {out}: trades.parquet, audit.csv, rejects.parquet, _SUCCESS.json "
                  f"({run.n_partitions} partitions)")


#: The one-line error of `trace monthly` without --rates, --no-excess or a simulated market to take the rates from.
NEEDS_RATES = ("trace monthly needs --rates FILE (1-month T-bill returns, decimals) to compute excess returns; pass "
               "--no-excess to skip them")


def _simulated_rates(folder: Path) -> Path | None:
    """``rates.parquet`` of the simulated market a `trace clean` folder was cleaned from, or None.

    The marker is the manifests: the clean folder's ``_SUCCESS.json`` lists its input files; when its messages
    file (``trace.parquet``) lives in a folder whose own ``_SUCCESS.json`` says ``simulate trace`` and that
    folder has ``rates.parquet``, the trades come from the simulator's market and those are its T-bill returns.
    A simulated folder whose ``trace.parquet`` is no longer the file the clean run read (by size and hash) does
    not count: its rates may belong to another market.
    """
    from bondpremia.rundir import file_fingerprint, read_manifest

    try:
        manifest = read_manifest(folder)
    except InputError:
        return None
    if manifest.get("command") != "trace clean":
        return None
    found: set[Path] = set()
    for item in manifest.get("inputs") or []:
        if not isinstance(item, dict) or not item.get("path"):
            continue
        src = Path(str(item["path"]))
        if src.name != "trace.parquet" or not (src.parent / "rates.parquet").is_file():
            continue
        try:
            sim = read_manifest(src.parent)
            now = file_fingerprint(src)
        except (InputError, OSError):
            continue
        same = all(now.get(k) == item.get(k) for k in ("bytes", "sha256", "sha256_first_last_mib") if k in item)
        if sim.get("command") == "simulate trace" and same:
            found.add(src.parent / "rates.parquet")
    return found.pop() if len(found) == 1 else None


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
    from bondpremia.trace.daily import daily_prices
    from bondpremia.trace.monthly import amount_outstanding_history, monthly_returns

    console = Console(stderr=True)
    if method not in ("end", "start", "both"):
        raise InputError("method must be end, start or both", column="--method")
    if price not in ("prc_vw_par", "prc_vw", "prc_ew", "prc_last"):
        raise InputError("price must be prc_vw_par, prc_vw, prc_ew or prc_last", column="--price")
    if rates is not None and no_excess:
        raise InputError("--rates and --no-excess contradict each other; give one of them", column="--no-excess")
    check_out(out, force)
    if not trades.exists():
        raise InputError("file not found", file=str(trades))
    folder = trades if trades.is_dir() else trades.parent
    rates_file, rates_source = rates, "--rates"
    if no_excess:
        rates_source = "none (--no-excess): rf and exret are null"
    elif rates is None:
        rates_file = _simulated_rates(folder)
        if rates_file is None:
            raise InputError(NEEDS_RATES)
        rates_source = "simulated market (simulate trace)"
    require_run(folder, "trace clean")  # a partial or foreign trades.parquet is refused
    trades_file = folder / "trades.parquet"
    fisd_frame = read_table(fisd)
    rates_frame = read_table(rates_file) if rates_file is not None else None
    history = None
    if amount_outstanding is not None:
        try:
            history = amount_outstanding_history(read_table(amount_outstanding), fisd_frame,
                                                 file=str(amount_outstanding))
        except InputError as err:
            if err.file is None:  # a problem of the FISD reference the history needs (its issue_id)
                raise InputError(err.reason, file=str(fisd), column=err.column, row=err.row) from None
            raise
    if rates is None and rates_file is not None:
        typer.echo(f"note: no --rates given; the trades come from the simulated market {rates_file.parent}, so its "
                   f"T-bill returns {rates_file} are used", err=True)
    with console.status("daily prices"):
        daily = daily_prices(pl.scan_parquet(trades_file))
    with console.status("monthly returns"):
        result = monthly_returns(daily, fisd_frame, rates=rates_frame, price=price, method=method,
                                 amount_outstanding=history)
    options = {"method": method, "price": price, "no_excess": no_excess,
               "rates": str(rates_file) if rates_file is not None else None, "rates_source": rates_source,
               "amount_outstanding": str(amount_outstanding) if amount_outstanding is not None else None}
    with atomic_run(out, "trace monthly", inputs=[trades_file, fisd, rates_file, amount_outstanding],
                    options=options, force=force) as staged:
        daily.write_parquet(staged.path / "daily.parquet")
        result.write_parquet(staged.path / "monthly.parquet")
        staged.rows.update({"daily.parquet": daily.height, "monthly.parquet": result.height})
    console.print(f"wrote {out / 'daily.parquet'} ({daily.height:,} bond-days), {out / 'monthly.parquet'} "
                  f"({result.height:,} bond-months)")
