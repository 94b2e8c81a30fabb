"""Out-of-core ingest of raw TRACE files with DuckDB: read CSV, CSV.gz or parquet (WRDS names in any letter
case), number every input row, and split the messages into parquet partitions of whole CUSIPs.

Partitions are contiguous CUSIP ranges balanced by row count (a CUSIP never straddles two partitions), so the
cleaning kernel runs on each partition alone and the concatenated outputs are sorted by CUSIP. DuckDB streams
the input and spills to disk, so a 100 GB input needs neither 100 GB of memory nor a single pass in pandas.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from bondpremia.errors import InputError

_SUFFIXES = (".parquet", ".csv", ".csv.gz", ".txt", ".txt.gz")


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".csv", ".csv.gz", ".txt", ".txt.gz")):
        return "csv"
    raise InputError("unsupported file type: use .parquet, .csv or .csv.gz", file=str(path))


def expand_inputs(inputs: Any) -> list[Path]:
    """Files named, or the data files inside named folders, in name order."""
    items = [inputs] if isinstance(inputs, str | Path) else list(inputs)
    files: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.name.lower().endswith(_SUFFIXES))
            if not found:
                raise InputError("folder holds no .parquet, .csv or .csv.gz files", file=str(p))
            files.extend(found)
        elif p.is_file():
            _kind(p)
            files.append(p)
        else:
            raise InputError("file not found", file=str(p))
    _check_distinct(files)
    return files


def _stem(p: Path) -> str:
    name = p.name.lower()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return str(p.parent.resolve() / name[: -len(suffix)])
    return str(p.resolve())


def _check_distinct(files: list[Path]) -> None:
    """The same data must not be read twice: a file named twice (or inside a named folder too), two formats of one
    file (``a.csv`` and ``a.csv.gz``), or two files with identical bytes would double every trade."""
    seen: dict[str, Path] = {}
    for f in files:
        key = str(f.resolve())
        if key in seen:
            raise InputError(f"the same file is given twice (also as {seen[key]}); pass it once", file=str(f))
        seen[key] = f
    stems: dict[str, Path] = {}
    for f in files:
        other = stems.setdefault(_stem(f), f)
        if other is not f:
            raise InputError(f"{other.name} and {f.name} look like two copies of one file (same name, another "
                             f"format); keep one of them", file=str(f))
    by_size: dict[int, list[Path]] = {}
    for f in files:
        by_size.setdefault(f.stat().st_size, []).append(f)
    for group in by_size.values():
        if len(group) > 1:
            digests: dict[str, Path] = {}
            for f in group:
                digest = hashlib.sha256(f.read_bytes()).hexdigest()
                if digest in digests:
                    raise InputError(f"identical to {digests[digest]}: the same data would be read twice",
                                     file=str(f))
                digests[digest] = f


_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$", re.IGNORECASE)


def check_memory_limit(memory_limit: str) -> str:
    """A DuckDB memory limit such as ``1GB`` or ``512MiB``; anything else is an InputError."""
    if not isinstance(memory_limit, str) or not _MEMORY.match(memory_limit):
        raise InputError(f"{memory_limit!r} is not a memory size; use a number and a unit, e.g. 1GB or 512MB",
                         column="memory_limit")
    return memory_limit.strip()


def _check_parquet(path: Path) -> None:
    """An empty, truncated or corrupt parquet file is an InputError naming it (read from its footer only)."""
    import pyarrow.parquet as pq

    try:
        pq.read_metadata(path)
    except (OSError, ValueError) as err:
        raise InputError(f"not a readable parquet file ({str(err).splitlines()[0]}); re-export or remove it",
                         file=str(path)) from None


def _connect(memory_limit: str, threads: int, temp: Path) -> Any:
    import duckdb

    # settings go in as a configuration dictionary, never spliced into SQL text
    return duckdb.connect(config={"memory_limit": check_memory_limit(memory_limit), "threads": int(threads),
                                  "temp_directory": str(temp)})


def _quote(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


_ID_COLUMNS = {"complete_cusip", "cusip_id", "cusip", "cusip6", "issuer_cusip", "bond_sym_id", "isin"}


def read_table(path: Any) -> pl.DataFrame:
    """Read a small table (FISD, rates) from parquet, CSV or CSV.gz; column names in lower case."""
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", file=str(p))
    try:
        if _kind(p) == "parquet":
            df = pl.read_parquet(p)
        else:
            # identifiers stay text: a CUSIP such as 001234567 read as a number loses its leading zeros
            header = pl.read_csv(p, n_rows=0).columns
            ids = {c: pl.String for c in header if c.lower() in _ID_COLUMNS}
            df = pl.read_csv(p, infer_schema_length=10_000, try_parse_dates=True, schema_overrides=ids)
    except (pl.exceptions.PolarsError, OSError) as err:
        raise InputError(f"cannot read: {err}", file=str(p)) from None
    lower = [c.lower() for c in df.columns]
    if len(set(lower)) < len(lower):
        raise InputError("columns differ only in letter case", file=str(p))
    return df.rename(dict(zip(df.columns, lower, strict=True)))


@dataclass(frozen=True)
class Slices:
    """A partition read in place: consecutive row groups of parquet inputs that are already in CUSIP order.

    ``parts`` holds ``(file, first data row, number of rows)``, one contiguous run of whole row groups per file.
    """

    name: str
    parts: tuple[tuple[str, int, int], ...]


#: A partition: a folder written by the DuckDB ingest, or row groups read in place.
Partition = Path | Slices


@dataclass(frozen=True)
class Ingested:
    """The partitions (in CUSIP order), the number of input rows and the input files."""

    partitions: list[Partition]
    n_rows: int
    files: list[Path]


def clustered_plan(files: list[Path], rows_per_partition: int) -> Ingested | None:
    """Partitions over the inputs' own row groups when the inputs are parquet files already in CUSIP order.

    The simulator, a WRDS pull in CUSIP chunks and any file sorted by CUSIP qualify: in input order, every row
    group's smallest ``cusip_id`` (from the parquet statistics) is at least the previous row group's largest.
    Partitions are runs of whole row groups of at most ``rows_per_partition`` rows (or one row group, when a group
    is larger), cut only where the CUSIP changes,
    so a CUSIP never straddles two partitions. Nothing is copied: each worker reads its row groups in place. Returns
    None when any input is not parquet or lacks the statistics, or the order does not hold; the caller then
    partitions through DuckDB.
    """
    import pyarrow.parquet as pq

    groups: list[tuple[str, int, int, int, Any, Any]] = []  # file, row group, first data row, rows, min, max
    for f in files:
        if _kind(f) != "parquet":
            return None
        _check_parquet(f)
        meta = pq.read_metadata(f)
        names = [meta.schema.column(i).name.lower() for i in range(meta.num_columns)]
        if names.count("cusip_id") != 1:
            return None
        col = names.index("cusip_id")
        first = 0
        for g in range(meta.num_row_groups):
            rg = meta.row_group(g)
            stats = rg.column(col).statistics
            if rg.num_rows == 0:
                continue
            if stats is None or not stats.has_min_max:  # NULL CUSIPs are allowed: parsing rejects them
                return None
            groups.append((str(f), g, first, rg.num_rows, stats.min, stats.max))
            first += rg.num_rows
    if not groups:
        return None
    if any(not isinstance(g[4], str) or b[4] < g[5] for g, b in zip(groups, groups[1:], strict=False)):
        return None
    partitions: list[Partition] = []
    current: list[tuple[str, int, int, int, Any, Any]] = []
    rows = 0

    def close() -> None:
        runs: dict[str, list[int]] = {}  # file -> [first row, rows]; a partition's row groups are consecutive
        for f, _, first, n, *_ in current:
            run = runs.setdefault(f, [first, 0])
            run[1] += n
        parts = tuple((f, first, n) for f, (first, n) in runs.items())
        partitions.append(Slices(name=f"part={len(partitions)}", parts=parts))

    for group in groups:
        if current and rows + group[3] > rows_per_partition and current[-1][5] < group[4]:
            close()
            current, rows = [], 0
        current.append(group)
        rows += group[3]
    close()
    return Ingested(partitions=partitions, n_rows=sum(group[3] for group in groups), files=files)


def ingest_trace(inputs: Any, workdir: Any, *, rows_per_partition: int = 500_000, memory_limit: str = "1GB",
                 threads: int = 2) -> Ingested:
    """Partition raw TRACE messages by CUSIP range into ``workdir/parts/part=K/*.parquet``.

    Every row keeps ``_file`` (its input file) and ``_row`` (its 0-based data-row number in that file), which the
    rejects table reports. CSV files are read with every column as text; parsing and its rejects happen in the
    cleaning kernel, identically for every input format.
    """
    files = expand_inputs(inputs)
    in_place = clustered_plan(files, rows_per_partition)
    if in_place is not None:
        return in_place
    work = Path(workdir)
    if work.exists():
        shutil.rmtree(work)
    (work / "tmp").mkdir(parents=True)
    con = _connect(memory_limit, threads, work / "tmp")
    try:
        # CSV -> parquet in file order, so that DuckDB's file_row_number numbers the CSV's data rows
        pq_files: list[tuple[Path, Path]] = []
        for i, f in enumerate(files):
            if _kind(f) == "parquet":
                _check_parquet(f)
                pq_files.append((f, f))
                continue
            target = work / "csv" / f"{i:05d}.parquet"
            target.parent.mkdir(exist_ok=True)
            con.execute("SET preserve_insertion_order=true")
            try:
                con.execute(f"COPY (SELECT * FROM read_csv({_quote(f)}, all_varchar=true, header=true)) "
                            f"TO {_quote(target)} (FORMAT parquet)")
            except Exception as err:  # duckdb raises its own exception types
                raise InputError(f"cannot read CSV: {str(err).splitlines()[0]}", file=str(f)) from None
            pq_files.append((f, target))
        con.execute("SET preserve_insertion_order=false")
        names = {str(t): str(f) for f, t in pq_files}
        src_list = "[" + ", ".join(_quote(t) for _, t in pq_files) + "]"
        cols = [r[0] for r in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({src_list}, union_by_name=true)").fetchall()]
        lower = [c.lower() for c in cols]
        if len(set(lower)) < len(lower):
            raise InputError(f"columns differ only in letter case: {cols}", file=str(files[0]))
        if "cusip_id" not in lower:
            raise InputError(f"column 'cusip_id' not found; columns are {cols}", file=str(files[0]),
                             column="cusip_id")
        select = ", ".join(f'"{c}" AS "{lc}"' for c, lc in zip(cols, lower, strict=True))
        con.execute("CREATE TEMP TABLE file_names (tmp VARCHAR, orig VARCHAR)")
        con.executemany("INSERT INTO file_names VALUES (?, ?)", list(names.items()))
        con.execute(
            f"CREATE VIEW src AS SELECT {select}, n.orig AS _file, CAST(s.file_row_number AS BIGINT) AS _row "
            f"FROM read_parquet({src_list}, union_by_name=true, filename=true, file_row_number=true) s "
            f"JOIN file_names n ON s.filename = n.tmp")
        query = "SELECT cusip_id, count(*) AS n FROM src GROUP BY cusip_id ORDER BY cusip_id NULLS FIRST"
        counts = pl.DataFrame(pl.from_arrow(con.sql(query).to_arrow_table()))
        n_rows = int(counts["n"].sum()) if counts.height else 0
        if n_rows == 0:
            raise InputError("no rows", file=str(files[0]))
        cum = counts["n"].cum_sum() - counts["n"]
        part_map = counts.with_columns((cum // max(int(rows_per_partition), 1)).cast(pl.Int32).alias("part"))
        # renumber to consecutive partition ids
        uniq = part_map["part"].unique().sort()
        part_map = part_map.with_columns(pl.col("part").replace_strict(uniq, range(len(uniq))).cast(pl.Int32))
        con.register("part_map_arrow", part_map.select("cusip_id", "part").to_arrow())
        out = work / "parts"
        con.execute(f"COPY (SELECT src.*, m.part FROM src JOIN part_map_arrow m "
                    f"ON src.cusip_id IS NOT DISTINCT FROM m.cusip_id) "
                    f"TO {_quote(out)} (FORMAT parquet, PARTITION_BY (part))")
    finally:
        con.close()
    shutil.rmtree(work / "tmp", ignore_errors=True)
    partitions: list[Partition] = sorted((p for p in out.iterdir() if p.name.startswith("part=")),
                                         key=lambda p: int(p.name.split("=")[1]))
    return Ingested(partitions=partitions, n_rows=n_rows, files=files)


def read_partition(part: Partition, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """The messages of one partition, in input order, with ``_file`` and ``_row`` (the data-row number).

    ``columns`` (lower-case names) reads only those of the input's columns, in any letter case in the file."""
    def chosen(names: Sequence[str]) -> list[str]:
        keep = None if columns is None else {*columns, "_file", "_row"}
        return [c for c in names if keep is None or c.lower() in keep]

    if isinstance(part, Slices):
        frames = []
        for f, first, n in part.parts:
            scan = pl.scan_parquet(f)
            df = scan.select(chosen(scan.collect_schema().names())).slice(first, n).collect()
            frames.append(df.rename({c: c.lower() for c in df.columns}).with_columns(
                pl.lit(f).alias("_file"), (pl.int_range(pl.len(), dtype=pl.Int64) + first).alias("_row")))
        return pl.concat(frames, how="diagonal_relaxed")
    scan = pl.scan_parquet(Path(part) / "*.parquet")
    names = [c for c in scan.collect_schema().names() if c != "part"]
    return scan.select(chosen(names)).collect().sort(["_file", "_row"])


__all__ = ["Ingested", "Partition", "Slices", "clustered_plan", "expand_inputs", "ingest_trace", "read_partition",
           "read_table"]
