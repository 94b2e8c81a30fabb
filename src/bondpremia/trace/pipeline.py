"""The TRACE cleaning run over CUSIP partitions, on a pluggable executor.

``run_clean`` finds the partitions (parquet already in CUSIP order is read in place by row groups; anything else is
partitioned out of core by DuckDB, :mod:`bondpremia.trace.ingest`), cleans every partition with the same kernel
(:func:`bondpremia.trace.clean.clean_trades`) on the chosen executor, and writes ``trades.parquet``,
``rejects.parquet`` and ``audit.csv``. Executors:

- ``local`` (default): ``workers`` threads in this process (polars releases the GIL), the outputs streamed into the
  final files in partition order;
- ``serial``: the same with one thread;
- ``processes``: a pool of ``workers`` processes, each writing its partition's files, concatenated at the end
  (isolation at the price of process start-up, per-partition files and a second write; on the 2-core benchmark
  machine it is slower than ``local``);
- ``dask``: a dask.distributed cluster (``scheduler=`` address, e.g. one started by dask-jobqueue on SLURM/SGE;
  without it a ``LocalCluster`` of ``workers`` processes). Workers must see the output folder (a shared
  filesystem on a cluster).

Partitions are processed independently and their outputs written in CUSIP order, so every executor gives
byte-identical outputs.
"""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from bondpremia.errors import InputError
from bondpremia.schema import FISD_SCREENS, check_table
from bondpremia.trace.clean import (
    PARSE_REASON,
    PRESETS,
    STEPS,
    CleanResult,
    audit_frame,
    clean_trades,
    preset_columns,
    resolve_steps,
)
from bondpremia.trace.ingest import Partition, Slices, ingest_trace, read_partition, read_table

EXECUTORS = ("local", "serial", "processes", "dask")


@dataclass(frozen=True)
class CleanConfig:
    """Everything a worker needs to clean one partition (picklable)."""

    steps: tuple[str, ...]
    fisd_path: str | None
    out_dir: str
    settlement_lags: tuple[tuple[dt.date, int], ...] | None = None
    columns: tuple[str, ...] | None = None  # the input columns the run reads (None: all)
    preset: str | None = None  # a preset with its own columns, run as it is (then ``steps`` are its steps)


def _name(part: Partition | str) -> str:
    return (part.name if isinstance(part, Slices) else Path(part).name).replace("=", "-") + ".parquet"


def _clean(part: Partition | str, config: CleanConfig, fisd: pl.DataFrame | None) -> CleanResult:
    path = part if isinstance(part, Slices) else Path(part)
    raw = read_partition(path, config.columns)
    if config.preset is not None:  # the preset's own columns: run it as a preset, minus the skipped steps
        skip = [s for s in PRESETS[config.preset] if s not in config.steps]
        return clean_trades(raw, fisd, preset=config.preset, skip=skip, settlement_lags=config.settlement_lags)
    return clean_trades(raw, fisd, steps=list(config.steps), settlement_lags=config.settlement_lags)


def _counts(res: CleanResult) -> list[tuple[str, int, int]]:
    return [(r["step"], r["rows_in"], r["rows_out"]) for r in res.audit.iter_rows(named=True)]


def clean_partition(part: Partition | str, config: CleanConfig) -> list[tuple[str, int, int]]:
    """Clean one partition in a worker; write its trades and rejects; return ``(step, rows_in, rows_out)``."""
    res = _clean(part, config, pl.read_parquet(config.fisd_path) if config.fisd_path else None)
    name = _name(part)
    res.trades.write_parquet(Path(config.out_dir) / "trades" / name)
    res.rejects.write_parquet(Path(config.out_dir) / "rejects" / name)
    return _counts(res)


class _Sink:
    """One parquet file written frame by frame (later frames are cast to the first one's schema). Strings go to
    pyarrow as views (no copy); statistics are written for the CUSIP and the trade date, the columns a reader
    filters on (statistics on every column cost a sixth of the write)."""

    STATISTICS = ("cusip_id", "trd_exctn_dt")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer: pq.ParquetWriter | None = None

    def write(self, frame: pl.DataFrame) -> None:
        table = frame.to_arrow()
        if self.writer is None:
            stats = [c for c in self.STATISTICS if c in table.column_names]
            self.writer = pq.ParquetWriter(self.path, table.schema, write_statistics=stats or False)
        elif table.schema != self.writer.schema:
            table = table.cast(self.writer.schema)
        self.writer.write_table(table, row_group_size=1_000_000)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _in_process(parts: Sequence[Partition], config: CleanConfig, trades: Path, rejects: Path, workers: int,
                progress: Callable[[int], None] | None) -> list[list[tuple[str, int, int]]]:
    """Clean the partitions in this process on ``workers`` threads (polars releases the GIL, so partitions run side
    by side; at most ``workers`` partitions are in memory at once) and write the outputs in partition order straight
    into the final files: no per-partition files, no concatenation, no worker processes to start."""
    fisd = pl.read_parquet(config.fisd_path) if config.fisd_path else None
    sinks = _Sink(trades), _Sink(rejects)
    results = []
    ahead: deque[Future[CleanResult]] = deque()
    todo = iter(parts)
    with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
        try:
            for p in itertools.islice(todo, max(workers, 1)):
                ahead.append(pool.submit(_clean, p, config, fisd))
            while ahead:
                res = ahead.popleft().result()
                for p in itertools.islice(todo, 1):
                    ahead.append(pool.submit(_clean, p, config, fisd))
                sinks[0].write(res.trades)  # pyarrow encodes without the GIL while the threads clean
                sinks[1].write(res.rejects)
                results.append(_counts(res))
                if progress:
                    progress(1)
        finally:
            for fut in ahead:
                fut.cancel()
            for sink in sinks:
                sink.close()
    return results


def _run(executor: str, workers: int, parts: Sequence[Partition], config: CleanConfig, scheduler: str | None,
         progress: Callable[[int], None] | None) -> list[list[tuple[str, int, int]]]:
    results: list[list[tuple[str, int, int]]] = []
    if executor == "processes":
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            for r in pool.map(clean_partition, parts, [config] * len(parts)):
                results.append(r)
                if progress:
                    progress(1)
        return results
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise InputError("the dask executor needs the 'cluster' extra: pip install 'bondpremia[cluster]'",
                         column="executor") from None
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        futures = client.map(clean_partition, list(parts), config=config, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        out: list[Any] = [None] * len(futures)
        for fut in as_completed(futures):
            out[index[fut.key]] = fut.result()
            if progress:
                progress(1)
        return out
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _concat_parquet(files: Iterable[Path], target: Path) -> None:
    """Concatenate parquet files (same schema) into one, streaming one file at a time."""
    sink = _Sink(target)
    try:
        for f in files:
            sink.write(pl.read_parquet(f))
    finally:
        sink.close()


@dataclass(frozen=True, repr=False)
class CleanRun:
    """Paths of the outputs and the audit of a cleaning run (:class:`bondpremia.results.Results`). The trades stay
    on disk: ``to_frame()`` is a lazy scan of them, ``load()`` reads them into a
    :class:`~bondpremia.trace.clean.CleanResult`, ``save(out)`` copies the run's three files into another run
    folder without loading them."""

    trades: Path
    rejects: Path
    audit: pl.DataFrame
    n_partitions: int

    def summary(self) -> Any:
        """The audit as a pandas table: one row per step with ``rows_in``, ``rows_out``, ``rows_dropped``."""
        return self.audit.to_pandas()

    def to_frame(self) -> pl.LazyFrame:
        return pl.scan_parquet(self.trades)

    def load(self) -> CleanResult:
        return CleanResult(pl.read_parquet(self.trades), self.audit, pl.read_parquet(self.rejects))

    def __repr__(self) -> str:
        rows = pq.ParquetFile(self.trades).metadata.num_rows
        return (f"CleanRun(trades={rows:,} rows in {self.trades}, steps={self.audit.height}, "
                f"partitions={self.n_partitions})")

    def save(self, out: str | Path, *, force: bool = False) -> Path:
        from bondpremia.rundir import atomic_run

        with atomic_run(out, "trace clean", inputs=[self.trades], force=force) as run:
            for name, src in (("trades.parquet", self.trades), ("rejects.parquet", self.rejects)):
                shutil.copyfile(src, run.path / name)
                run.rows[name] = pq.ParquetFile(src).metadata.num_rows
            self.audit.write_csv(run.path / "audit.csv")
            run.rows["audit.csv"] = self.audit.height
        return Path(out)


def run_clean(inputs: Any, fisd: Any, out: Any, *, preset: str = "bbw2019", steps: Sequence[str] | None = None,
              skip: Iterable[str] = (), executor: str = "local", workers: int = 2, scheduler: str | None = None,
              rows_per_partition: int = 500_000, memory_limit: str = "1GB",
              settlement_lags: Sequence[tuple[dt.date, int]] | None = None,
              progress: Callable[[str, int], None] | None = None, keep_work: bool = False) -> CleanRun:
    """Clean raw TRACE files into ``OUT/trades.parquet``, ``OUT/rejects.parquet`` and ``OUT/audit.csv``.

    ``inputs`` are files or folders of CSV / CSV.gz / parquet; ``fisd`` a FISD file (parquet or CSV) or frame.
    ``progress(stage, n)`` is called with ``("partitions", total)`` once and ``("done", 1)`` per partition.
    """
    names = resolve_steps(preset, steps, skip)
    if executor not in EXECUTORS:
        raise InputError(f"unknown executor {executor!r}; choose one of {EXECUTORS}", column="executor")
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = out_dir / "_work"
    fisd_path = None
    if fisd is not None:
        frame = fisd if isinstance(fisd, pl.DataFrame) else read_table(fisd)
        frame = frame.rename({c: c.lower() for c in frame.columns})
        work.mkdir(parents=True, exist_ok=True)
        fisd_path = str(work / "fisd.parquet")
    else:
        frame = None
    for name in names:
        if STEPS[name].needs_fisd and frame is None:
            raise InputError(f"step {name!r} needs the FISD file (--fisd)", column="fisd")
    if frame is not None and "fisd_screens" in names:  # before the ingest: a bad reference fails in a second
        check_table(frame, FISD_SCREENS, where=str(fisd) if isinstance(fisd, str | Path) else "fisd")
    ing = ingest_trace(inputs, work / "ingest", rows_per_partition=rows_per_partition, memory_limit=memory_limit,
                       threads=max(workers, 1))
    if frame is not None and fisd_path is not None:
        frame.write_parquet(fisd_path)
    for sub in ("trades", "rejects"):
        shutil.rmtree(work / sub, ignore_errors=True)
        (work / sub).mkdir(parents=True)
    io = preset_columns(preset, steps)
    config = CleanConfig(steps=tuple(names), fisd_path=fisd_path, out_dir=str(work),
                         settlement_lags=None if settlement_lags is None else tuple(settlement_lags),
                         columns=None if io is None else tuple(io[0]), preset=preset if io is not None else None)
    parts = list(ing.partitions)
    if progress:
        progress("partitions", len(parts))
    trades_path, rejects_path = out_dir / "trades.parquet", out_dir / "rejects.parquet"
    done = (lambda n: progress("done", n)) if progress else None
    in_process = executor in ("serial", "local")
    if in_process:
        results = _in_process(parts, config, trades_path, rejects_path, 1 if executor == "serial" else workers, done)
    else:
        results = _run(executor, workers, parts, config, scheduler, done)

    # audit: sum over partitions, step by step
    totals: dict[str, list[int]] = {}
    for res in results:
        for step, n_in, n_out in res:
            t = totals.setdefault(step, [0, 0])
            t[0] += n_in
            t[1] += n_out
    reasons = {"parse": PARSE_REASON, **{k: s.reason for k, s in STEPS.items()}}
    audit = audit_frame([(s, totals[s][0], totals[s][1], reasons[s]) for s in ["parse", *names]])
    if audit["rows_in"][0] != ing.n_rows:  # pragma: no cover - guards the partitioning itself
        raise RuntimeError(f"partitions hold {audit['rows_in'][0]} rows, the input {ing.n_rows}")

    if not in_process:
        order = [_name(p) for p in parts]
        _concat_parquet((work / "trades" / n for n in order), trades_path)
        _concat_parquet((work / "rejects" / n for n in order), rejects_path)
    audit.write_csv(out_dir / "audit.csv")
    if not keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return CleanRun(trades=trades_path, rejects=rejects_path, audit=audit, n_partitions=len(parts))


__all__ = ["EXECUTORS", "CleanConfig", "CleanRun", "clean_partition", "run_clean"]
