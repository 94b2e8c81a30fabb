"""``bondpremia demo``: the whole chain on a simulated market (no network), or on real files, into one report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table


def _pct(v: Any) -> str:
    return "" if v is None else f"{100 * float(v):.1f}%"


def _summary(result: Any, console: Console) -> None:
    h = result.headline
    t = h["trace"]
    console.print(f"[bold]TRACE[/]: {t['messages']:,} simulated messages -> {t['clean_trades']:,} clean trades -> "
                  f"{t['bond_months']:,} bond-month returns (max |return - truth| "
                  f"{t['max_abs_return_error_vs_truth']:.1e})")
    console.print(f"[bold]characteristics[/]: {h['characteristics']['count']} characteristics on "
                  f"{h['characteristics']['bond_months']:,} bond-months")
    ipca = Table(title="IPCA (uncentered pooled R², in sample and recursive out of sample)")
    for col in ("K", "R² total", "R² predictive", "R² total OOS", "R² predictive OOS"):
        ipca.add_column(col, justify="right")
    for k, r in h["ipca"].items():
        ipca.add_row(str(k), *(_pct(r[c]) for c in ("r2_total", "r2_pred", "r2_total_oos", "r2_pred_oos")))
    console.print(ipca)
    sorts = Table(title="Value-weighted quintile sorts: high minus low")
    for col in ("characteristic", "H-L mean (% per month)", "Newey-West t"):
        sorts.add_column(col, justify="right")
    for c, r in h["sorts"].items():
        sorts.add_row(c, f"{r['H-L mean (% per month)']:.3f}", f"{r['H-L t']:.2f}")
    console.print(sorts)
    tr = h["treasury"]
    caption = f"{tr['source']}, purged timing, forecasts from {tr['oos_start']}"
    if "population_r2_ew_pct" in tr:
        caption += f"; population R² {tr['population_r2_ew_pct']:.1f}%"
    treasury = Table(title="Treasury excess returns (EW maturity)", caption=caption)
    treasury.add_column("model")
    treasury.add_column("R²oos (%)", justify="right")
    for m, v in tr["r2oos_ew_pct"].items():
        treasury.add_row(m, f"{v:.1f}")
    console.print(treasury)
    ta = h["taylor"]
    sharpe = ", ".join(f"{k} {v:.2f}" for k, v in ta["sharpe"].items() if v is not None)
    console.print(f"[bold]Taylor rule[/] on {ta['asset']}, {ta['start']}..{ta['end']}: annualized Sharpe {sharpe}")


def demo(
    out: Annotated[Path, typer.Option(help="Run directory (one folder per stage, report.html).")] = Path("runs/demo"),
    real_data: Annotated[Path | None, typer.Option(
        help="Folder laid out like ../shared/data: real yields, FRED-MD, macro series and ETF prices replace the "
             "simulated ones where they exist (TRACE stays simulated: it is not public).")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="A small run (about a minute) instead of the full one.")
                     ] = False,
    seed: Annotated[int, typer.Option(help="Seed of every simulation and estimator.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the headline numbers as JSON.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace --out even if it is not a bondpremia run.")
                     ] = False,
) -> None:
    """Run the whole chain: simulate TRACE -> clean (audit) -> monthly returns -> characteristics -> IPCA K=1..5
    with out-of-sample fits -> portfolio sorts -> Treasury forecasts -> Taylor-rule strategy -> HTML report."""
    from dataclasses import replace

    from bondpremia.demo import DEMO_SIZES, QUICK_SIZES, run_demo
    from bondpremia.rundir import atomic_run, check_out

    check_out(out, force)
    console = Console(stderr=True)
    columns = (SpinnerColumn(), TextColumn("{task.description:<44}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    options = {"real_data": real_data, "quick": quick, "seed": seed}
    with Progress(*columns, console=console) as progress, \
            atomic_run(out, "demo", options=options, force=force) as staged:
        result = run_demo(staged.path, real_data=real_data, sizes=QUICK_SIZES if quick else DEMO_SIZES,
                          progress=progress, seed=seed)
    # the run folder was renamed into place: point at it, not at the staging folder
    result = replace(result, out=out, report=out / result.report.relative_to(staged.path))
    for note in result.notes:
        console.print(f"note: {note}")
    if as_json:
        print(json.dumps({"report": str(result.report), "seconds": result.seconds, "headline": result.headline,
                          "notes": result.notes}, indent=2, default=str))
    else:
        _summary(result, Console())
    console.print(f"finished in {result.seconds['total']:.0f} s; report: [bold]{result.report.resolve()}[/]")
