"""Helpers shared by the CLI commands."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bondpremia.errors import InputError

if TYPE_CHECKING:  # pandas is imported where it is used: `bondpremia trace ...` never needs it
    import pandas as pd

T = TypeVar("T")


def option_name(column: str | None) -> str:
    return "--" + (column or "input").replace("_", "-")


def cli_input(func: Callable[..., T], *args: Any, _file: str | Path | None = None, **kwargs: Any) -> T:
    """Run a library call. An InputError about one of the call's arguments is re-raised with the CLI option name
    (``n_portfolios`` -> ``--n-portfolios``); one about a data column (it has a row, or it is a column of a frame
    passed to ``func``) keeps the column and row and gains the input file ``_file`` when given."""
    try:
        return func(*args, **kwargs)
    except InputError as err:
        if err.file is not None or err.column is None:
            raise
        import pandas as pd

        frames = [a for a in (*args, *kwargs.values()) if isinstance(a, pd.DataFrame)]
        data_column = err.row is not None or any(err.column in f.columns for f in frames)
        if not data_column:
            raise InputError(err.reason, column=option_name(err.column).lstrip("'")) from None
        if _file is not None:
            raise InputError(err.reason, file=str(_file), column=err.column, row=err.row) from None
        raise


def print_json(payload: dict[str, Any]) -> None:
    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    print(json.dumps({k: clean(v) for k, v in payload.items()}, indent=2))


@contextmanager
def reading(path: Path | None) -> Iterator[None]:
    """Turn a reader's failure on an empty, truncated, corrupt or non-UTF-8 file into one InputError naming it."""
    try:
        yield
    except InputError:
        raise
    except (ValueError, OSError, UnicodeDecodeError, KeyError, IndexError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(f"cannot read: {first}", file=str(path)) from None


def read_panel(path: Path) -> pd.DataFrame:
    """Read a parquet or CSV panel; errors name the file."""
    import pandas as pd

    if not path.exists():
        raise InputError("file not found", file=str(path))
    with reading(path):
        return pd.read_parquet(path) if path.suffix in (".parquet", ".pq") else pd.read_csv(path)
