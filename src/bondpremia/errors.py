"""Exceptions raised by bondpremia.

Every error a user can cause is an :class:`InputError` that says what was wrong and where: the file, the
column (or argument) and the row, when they are known, and what to do about it.
"""

from __future__ import annotations


class BondPremiaError(Exception):
    """Base class of every error raised on purpose by bondpremia."""


class InputError(BondPremiaError, ValueError):
    """Bad input: a missing column, an unparseable value or an impossible quantity.

    Parameters
    ----------
    message:
        What was wrong and what to do about it.
    file, column, row:
        Where the problem is, when known. ``column`` is also used for function and CLI argument names.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        column: str | None = None,
        row: int | None = None,
    ) -> None:
        self.file = file
        self.column = column
        self.row = row
        self.reason = message
        where = []
        if file is not None:
            where.append(f"file {file}")
        if column is not None:
            where.append(f"'{column}'")
        if row is not None:
            where.append(f"row {row}")
        prefix = (", ".join(where) + ": ") if where else ""
        super().__init__(prefix + message)


class ConvergenceError(BondPremiaError, RuntimeError):
    """An iterative routine did not converge within its iteration budget."""
