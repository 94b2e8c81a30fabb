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

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from bondpremia.rundir import atomic_run

__all__ = ["Results", "save_tables"]


@runtime_checkable
class Results(Protocol):
    """The protocol every results object follows (see the module docstring)."""

    def summary(self) -> Any: ...

    def to_frame(self) -> Any: ...

    def save(self, out: str | Path, *, force: bool = False) -> Path: ...


def save_tables(out: str | Path, command: str, tables: Mapping[str, Any], *,
                options: Mapping[str, Any] | None = None, force: bool = False) -> Path:
    """Write ``tables`` (file name -> pandas or polars frame; ``.parquet`` or ``.csv`` by the name's suffix; ``None``
    skips a file) into the run folder ``out`` as one atomic run of ``command``; row counts go to the manifest.
    CSV files keep a pandas frame's index (named after it, else ``index``) unless it is a plain range."""
    import pandas as pd

    with atomic_run(out, command, options=options, force=force) as run:
        for name, frame in tables.items():
            if frame is None:
                continue
            path = run.path / name
            suffix = path.suffix
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
            run.rows[name] = len(frame)
    return Path(out)
