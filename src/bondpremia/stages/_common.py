"""Helpers the stage runners share: reading an input file with one clear error, and turning a library error
about an argument into the name of the command's option."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bondpremia.errors import InputError

if TYPE_CHECKING:  # pandas is imported where it is used: `bondpremia trace ...` never needs it
    import pandas as pd

T = TypeVar("T")
#: Where a runner sends a line for the user (the CLI prints it on stderr; the demo drops it).
Note = Callable[[str], None]


def quiet(_: str) -> None:
    """The default :data:`Note`: say nothing."""


def option_name(column: str | None) -> str:
    return "--" + (column or "input").replace("_", "-")


def as_option(func: Callable[..., T], *args: Any, _file: str | Path | None = None, **kwargs: Any) -> T:
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
            raise InputError(err.reason, column=option_name(err.column)) from None
        if _file is not None:
            raise InputError(err.reason, file=str(_file), column=err.column, row=err.row) from None
        raise


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


@contextmanager
def attributed(value: Any) -> Iterator[None]:
    """An InputError raised inside that names no file gains the file ``value`` (when ``value`` is a path): the
    error of a check of one input names that input."""
    try:
        yield
    except InputError as err:
        if err.file is not None or not is_path(value):
            raise
        raise InputError(err.reason, file=str(value), column=err.column, row=err.row) from None


def read_panel(path: Path) -> pd.DataFrame:
    """Read a parquet or CSV panel; errors name the file."""
    import pandas as pd

    if not path.exists():
        raise InputError("file not found", file=str(path))
    with reading(path):
        return pd.read_parquet(path) if path.suffix in (".parquet", ".pq") else pd.read_csv(path)


def dates(column: pd.Series, where: str, name: str) -> pd.Series:
    """A panel's date column as datetimes (dates, timestamps or ISO text); a value that is not a date is an
    InputError naming the file, the column and the first such row (0-based)."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(column):
        return column
    if pd.api.types.is_string_dtype(column) or column.dtype == object:
        parsed = pd.to_datetime(column, errors="coerce", format="ISO8601")
    else:  # numbers are not dates (pandas would read 20200131 as nanoseconds since 1970)
        parsed = pd.Series(pd.NaT, index=column.index)
    bad = parsed.isna() & column.notna()
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise InputError(f"'{column.iloc[row]}' is not a date (expected YYYY-MM-DD)", file=where, column=name,
                         row=row)
    return parsed


def is_path(value: Any) -> bool:
    return isinstance(value, str | Path)


def files(*inputs: Any) -> list[Path]:
    """The inputs given as files or folders (fingerprinted in the manifest); frames are left out."""
    return [Path(v) for v in inputs if is_path(v)]


def positive(value: Any, option: str) -> float:
    """A finite number above 0; anything else is an InputError naming ``option``."""
    from bondpremia.validate import number

    v = number(value, option)
    if v <= 0:
        raise InputError(f"must be a positive number, got {value!r}", column=option)
    return v


def names(value: str | Sequence[str] | None, option: str) -> tuple[str, ...] | None:
    """A comma-separated string or a sequence of names as a tuple without blanks; a name given twice is an error
    naming ``option``. ``None`` stays ``None``."""
    from bondpremia.validate import unique

    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(unique([str(v).strip() for v in items if str(v).strip()], option))
