"""The TRACE stages: ``trace clean`` (raw messages -> trades) and ``trace monthly`` (trades -> daily prices and
monthly returns)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bondpremia.errors import InputError
from bondpremia.stages._common import Note, as_option, attributed, files, names, quiet

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

    from bondpremia.trace.pipeline import CleanRun

__all__ = ["NEEDS_RATES", "MonthlyResult", "TraceCleanConfig", "TraceMonthlyConfig", "run_trace_clean",
           "run_trace_monthly", "simulated_rates", "wrds_cusips"]

#: How a runner shows a long step: ``status("daily prices")`` is a context manager (the CLI's spinner).
Status = Callable[[str], AbstractContextManager[Any]]


# -- trace clean ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceCleanConfig:
    """The options of ``bondpremia trace clean`` (docs/trace.md). ``steps``/``skip`` take a sequence of step names
    or a comma-separated string; ``steps=None`` runs the preset's steps."""

    preset: str = "bbw2019"
    steps: tuple[str, ...] | None = None
    skip: tuple[str, ...] = ()
    executor: str = "local"
    workers: int = 2
    scheduler: str | None = None
    rows_per_partition: int = 500_000
    memory_limit: str = "1GB"
    wrds: bool = False
    start: str | None = None
    end: str | None = None

    def __post_init__(self) -> None:
        from bondpremia.trace.clean import resolve_steps
        from bondpremia.trace.ingest import check_memory_limit
        from bondpremia.trace.pipeline import EXECUTORS
        from bondpremia.validate import choice, integer

        object.__setattr__(self, "steps", names(self.steps, "--steps") or None)
        object.__setattr__(self, "skip", names(self.skip, "--skip") or ())
        integer(self.workers, "--workers", 1)
        integer(self.rows_per_partition, "--rows-per-partition", 1)
        choice(self.executor, "--executor", EXECUTORS)
        check_memory_limit(self.memory_limit)
        as_option(resolve_steps, self.preset, self.steps, self.skip)
        if self.wrds and (self.start is None or self.end is None):
            raise InputError("a WRDS pull needs --fisd (the CUSIPs), --start and --end", column="--wrds")

    def resolved_steps(self) -> list[str]:
        """The steps the run applies, in order."""
        from bondpremia.trace.clean import resolve_steps

        return resolve_steps(self.preset, self.steps, self.skip)

    def as_options(self) -> dict[str, Any]:
        return {"preset": self.preset, "skip": ",".join(self.skip) or None,
                "steps": ",".join(self.steps) if self.steps else None, "executor": self.executor,
                "workers": self.workers, "rows_per_partition": self.rows_per_partition,
                "memory_limit": self.memory_limit, "wrds": self.wrds, "start": self.start, "end": self.end}


def wrds_cusips(fisd: pl.DataFrame, steps: list[str], note: Note = quiet) -> list[str]:
    """The CUSIPs a WRDS pull asks for: those passing the FISD bond screens when the run screens bonds (the rest
    would be dropped by ``fisd_screens`` anyway), else every FISD CUSIP."""
    from bondpremia.trace.screens import eligible_cusips

    fisd = fisd.rename({c: c.lower() for c in fisd.columns})
    every = fisd["complete_cusip"].drop_nulls().unique().sort().to_list()
    if "fisd_screens" not in steps:
        return every
    screened = eligible_cusips(fisd)["complete_cusip"].drop_nulls().unique().sort().to_list()
    note(f"note: pulling the {len(screened):,} of {len(every):,} FISD CUSIPs that pass the bond screens")
    return screened


def run_trace_clean(inputs: Sequence[str | Path], fisd: str | Path | pl.DataFrame | None, out: str | Path,
                    config: TraceCleanConfig | None = None, *, progress: Callable[[str, int], None] | None = None,
                    note: Note = quiet, force: bool = False) -> CleanRun:
    """``bondpremia trace clean``: clean raw TRACE files (or a WRDS pull) into the run folder ``out``
    (``trades.parquet``, ``audit.csv``, ``rejects.parquet``, ``_SUCCESS.json``), written atomically.

    Returns the :class:`~bondpremia.trace.pipeline.CleanRun` (the audit and the paths of the files in ``out``; the
    trades are not loaded: a TRACE history is larger than memory). ``progress(stage, n)`` as in
    :func:`~bondpremia.trace.pipeline.run_clean`."""
    from bondpremia.rundir import atomic_run, check_out
    from bondpremia.trace.pipeline import run_clean

    config = config or TraceCleanConfig()
    check_out(out, force)
    paths = [Path(p) for p in inputs or ()]
    if not paths and not config.wrds:
        raise InputError("give TRACE files or folders, or --wrds", column="TRACE")
    with atomic_run(out, "trace clean", inputs=[*paths, *files(fisd)], options=config.as_options(),
                    force=force) as staged:
        if config.wrds:
            from bondpremia.data.wrds import pull_trace
            from bondpremia.trace.ingest import read_table

            if fisd is None or config.start is None or config.end is None:
                raise InputError("a WRDS pull needs --fisd (the CUSIPs), --start and --end", column="--wrds")
            frame = read_table(fisd) if isinstance(fisd, str | Path) else fisd
            cusips = wrds_cusips(frame, config.resolved_steps(), note)
            paths.append(pull_trace(cusips, config.start, config.end, staged.path / "_wrds"))
        run = run_clean(paths, fisd, staged.path, preset=config.preset,
                        steps=list(config.steps) if config.steps else None, skip=list(config.skip),
                        executor=config.executor, workers=config.workers, scheduler=config.scheduler,
                        rows_per_partition=config.rows_per_partition, memory_limit=config.memory_limit,
                        progress=progress)
        staged.rows.update({"input": int(run.audit["rows_in"][0]), "trades.parquet": int(run.audit["rows_out"][-1])})
    return replace(run, trades=Path(out) / "trades.parquet", rejects=Path(out) / "rejects.parquet")


# -- trace monthly -------------------------------------------------------------------------------------------------

#: The one-line error of `trace monthly` without --rates, --no-excess or a simulated market to take the rates from.
NEEDS_RATES = ("trace monthly needs --rates FILE (1-month T-bill returns, decimals) to compute excess returns; pass "
               "--no-excess to skip them")


@dataclass(frozen=True)
class TraceMonthlyConfig:
    """The options of ``bondpremia trace monthly``: the return ``method`` (end, start or both), the daily
    ``price`` and ``no_excess`` (no excess returns: rf and exret are null)."""

    method: str = "both"
    price: str = "prc_vw_par"
    no_excess: bool = False

    def __post_init__(self) -> None:
        if self.method not in ("end", "start", "both"):
            raise InputError("method must be end, start or both", column="--method")
        if self.price not in ("prc_vw_par", "prc_vw", "prc_ew", "prc_last"):
            raise InputError("price must be prc_vw_par, prc_vw, prc_ew or prc_last", column="--price")

    def as_options(self) -> dict[str, Any]:
        return {"method": self.method, "price": self.price, "no_excess": self.no_excess}


@dataclass(frozen=True, repr=False)
class MonthlyResult:
    """Daily prices and monthly returns of ``trace monthly`` (:class:`bondpremia.results.Results`: ``to_frame()``
    the monthly panel, ``save(out)`` ``daily.parquet`` and ``monthly.parquet``). ``rates_source`` says where the
    T-bill returns of the excess returns came from."""

    daily: pl.DataFrame
    monthly: pl.DataFrame
    rates_source: str = field(default="")

    def summary(self) -> pd.DataFrame:
        import pandas as pd

        m = self.monthly
        return pd.DataFrame({"value": {"bond_days": self.daily.height, "bond_months": m.height,
                                       "bonds": m["cusip_id"].n_unique() if m.height else 0,
                                       "months": m["date"].n_unique() if m.height else 0}})

    def to_frame(self) -> pl.DataFrame:
        return self.monthly

    def __repr__(self) -> str:
        return f"MonthlyResult(daily={self.daily.height:,} rows, monthly={self.monthly.height:,} rows)"

    def save(self, out: str | Path, *, options: dict[str, Any] | None = None, inputs: Sequence[Any] = (),
             force: bool = False) -> Path:
        from bondpremia.results import save_tables

        return save_tables(out, "trace monthly", {"daily.parquet": self.daily, "monthly.parquet": self.monthly},
                           options=options, inputs=inputs, force=force)


def simulated_rates(folder: Path) -> Path | None:
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


def _where(value: Any, name: str) -> str:
    return str(value) if isinstance(value, str | Path) else name


def run_trace_monthly(trades: str | Path, fisd: str | Path | pl.DataFrame, out: str | Path,
                      config: TraceMonthlyConfig | None = None, *, rates: str | Path | pl.DataFrame | None = None,
                      amount_outstanding: str | Path | pl.DataFrame | None = None, note: Note = quiet,
                      status: Status | None = None, force: bool = False) -> MonthlyResult:
    """``bondpremia trace monthly``: daily prices and monthly bond returns with accrued interest and coupons
    (Bai-Bali-Wen 2019) of the trades of a ``trace clean`` run (the folder or its ``trades.parquet``), written to
    the run folder ``out`` (``daily.parquet``, ``monthly.parquet``, ``_SUCCESS.json``).

    ``rates`` (date, rf in decimals) is needed for excess returns unless ``config.no_excess`` or the trades come
    from a simulated market (:func:`simulated_rates`). ``fisd``, ``rates`` and ``amount_outstanding`` are files
    (fingerprinted in the manifest) or polars frames."""
    import polars as pl

    from bondpremia.rundir import check_out, require_run
    from bondpremia.schema import FISD_TERMS, RATES, TRADES, check_table
    from bondpremia.trace.daily import daily_prices
    from bondpremia.trace.ingest import read_table
    from bondpremia.trace.monthly import _bond_frame, _rates_frame, amount_outstanding_history, monthly_returns

    config = config or TraceMonthlyConfig()
    show = status or (lambda _: nullcontext())
    if rates is not None and config.no_excess:
        raise InputError("--rates and --no-excess contradict each other; give one of them", column="--no-excess")
    check_out(out, force)
    trades = Path(trades)
    if not trades.exists():
        raise InputError("file not found", file=str(trades))
    folder = trades if trades.is_dir() else trades.parent
    rates_in: Any = rates
    rates_source = "--rates" if isinstance(rates, str | Path) else "a rates table"
    if config.no_excess:
        rates_source = "none (--no-excess): rf and exret are null"
    elif rates is None:
        rates_in = simulated_rates(folder)
        if rates_in is None:
            raise InputError(NEEDS_RATES)
        rates_source = "simulated market (simulate trace)"
    require_run(folder, "trace clean")  # a partial or foreign trades.parquet is refused
    trades_file = folder / "trades.parquet"
    # the inputs against their contracts (bondpremia.schema), each error naming its file, before any work
    check_table(pl.scan_parquet(trades_file), TRADES, where=str(trades_file))
    fisd_frame = read_table(fisd) if isinstance(fisd, str | Path) else fisd
    key = {} if "complete_cusip" in [str(c).lower() for c in fisd_frame.columns] else {"complete_cusip": "cusip_id"}
    check_table(fisd_frame, FISD_TERMS, where=_where(fisd, "fisd"), rename=key, lower=True)
    rates_frame = read_table(rates_in) if isinstance(rates_in, str | Path) else rates_in
    if rates_frame is not None:
        check_table(rates_frame, RATES, where=_where(rates_in, "rates"), lower=True)
    # their values as monthly_returns reads them (keys, dates, rf in decimals), each error naming its file
    with attributed(fisd):
        _bond_frame(fisd_frame)
    with attributed(rates_in):
        if rates_frame is not None:
            _rates_frame(rates_frame)
    history = amount_outstanding
    if isinstance(amount_outstanding, str | Path):
        with attributed(fisd):  # an error without a file is one of the FISD reference the history needs (issue_id)
            history = amount_outstanding_history(read_table(amount_outstanding), fisd_frame,
                                                 file=str(amount_outstanding))
    if rates is None and rates_in is not None:
        note(f"note: no --rates given; the trades come from the simulated market {Path(rates_in).parent}, so its "
             f"T-bill returns {rates_in} are used")
    with show("daily prices"):
        daily = daily_prices(pl.scan_parquet(trades_file))
    with show("monthly returns"):
        monthly = monthly_returns(daily, fisd_frame, rates=rates_frame, price=config.price, method=config.method,
                                  amount_outstanding=history)
    result = MonthlyResult(daily, monthly, rates_source)
    options = {**config.as_options(), "rates": str(rates_in) if isinstance(rates_in, str | Path) else None,
               "rates_source": rates_source,
               "amount_outstanding": str(amount_outstanding) if isinstance(amount_outstanding, str | Path) else None}
    result.save(out, options=options, inputs=[trades_file, *files(fisd, rates_in, amount_outstanding)], force=force)
    return result
