"""One shape for the results a user holds: a printable summary, the result as a table, a short repr, and a save.

Every stage's results object follows :class:`Results`:

- ``summary()`` a small table to print (a ``pandas.DataFrame``);
- ``to_frame()`` the result as one table (pandas, or polars for the TRACE stages whose tables are polars);
- ``repr()`` one line: the class and the sizes that matter;
- ``save(out)`` a run folder written atomically with a manifest (:func:`bondpremia.rundir.atomic_run`), with the
  same file names the stage's command writes, so ``bondpremia report`` reads it like a command's output.

:func:`save_tables` is the one writer behind every ``save``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from bondpremia.rundir import atomic_run

__all__ = ["Results", "ScalarResult", "save_tables", "write_tables"]


@runtime_checkable
class Results(Protocol):
    """The protocol every results object follows (see the module docstring)."""

    def summary(self) -> Any: ...

    def to_frame(self) -> Any: ...

    def save(self, out: str | Path, *, force: bool = False) -> Path: ...


def write_tables(folder: Path, tables: Mapping[str, Any]) -> dict[str, int]:
    """Write ``tables`` into ``folder`` (already staged): file name -> pandas or polars frame, ``.parquet`` or
    ``.csv`` by the name's suffix, or a dict for a ``.json`` file; ``None`` skips a file. CSV files keep a pandas
    frame's index (named after it, else ``index``) unless it is a plain range. Returns the tables' row counts."""
    import pandas as pd

    rows = {}
    for name, frame in tables.items():
        if frame is None:
            continue
        path = folder / name
        suffix = path.suffix
        if suffix == ".json":
            path.write_text(json.dumps(frame, indent=2, default=float))
            continue
        if suffix not in (".parquet", ".csv"):
            raise ValueError(f"unknown table format {name!r}")  # a programming error, not the user's
        if isinstance(frame, pd.DataFrame):
            keep_index = not isinstance(frame.index, pd.RangeIndex)
            if suffix == ".parquet":
                frame.to_parquet(path, index=keep_index)
            else:
                frame.to_csv(path, index=keep_index, index_label=str(frame.index.name or "index"))
        elif suffix == ".parquet":
            frame.write_parquet(path)
        else:
            frame.write_csv(path)
        rows[name] = len(frame)
    return rows


def save_tables(out: str | Path, command: str, tables: Mapping[str, Any], *,
                options: Mapping[str, Any] | None = None, inputs: Sequence[str | Path | None] = (),
                force: bool = False) -> Path:
    """Write ``tables`` (see :func:`write_tables`) into the run folder ``out`` as one atomic run of ``command``;
    row counts, ``options`` and the fingerprints of ``inputs`` go to the manifest."""
    with atomic_run(out, command, inputs=inputs, options=options, force=force) as run:
        run.rows.update(write_tables(run.path, tables))
    return Path(out)


class ScalarResult:
    """The results protocol for a frozen dataclass of numbers (a test statistic and its p-value, say): the table
    is one row of the fields, ``summary()`` is that row, ``save(out)`` writes it as ``<file>.csv``. A subclass sets
    ``_file`` (the CSV's stem) and ``_command`` (the manifest's command) and may list ``_skip`` fields (arrays)."""

    _file: ClassVar[str]
    _command: ClassVar[str]
    _skip: ClassVar[tuple[str, ...]] = ()

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([{f.name: getattr(self, f.name) for f in fields(self)  # type: ignore[arg-type]
                              if f.name not in self._skip}])

    def summary(self) -> Any:
        return self.to_frame()

    def save(self, out: str | Path, *, force: bool = False) -> Path:
        return save_tables(out, self._command, {f"{self._file}.csv": self.to_frame()}, force=force)
