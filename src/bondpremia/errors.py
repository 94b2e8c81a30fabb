"""Exceptions and warnings raised by bondpremia.

Every error a user can cause is an :class:`InputError` that says what was wrong and where: the file, the
column (or argument) and the row, when they are known, and what to do about it. A result that is returned but
needs the user's attention comes with a warning of a named class below, so that it can be filtered by kind
(``warnings.simplefilter("error", ConvergenceWarning)``).
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


class BondPremiaWarning(UserWarning):
    """Base class of every warning issued by bondpremia."""


class ConvergenceWarning(BondPremiaWarning):
    """An iterative fit stopped at its iteration budget before meeting its tolerance; the result returned is the
    last iterate (EM imputation of FRED-MD, the Kalman filter's maximum likelihood, Nelson-Siegel-Svensson dates
    whose polish stopped at ``max_iter``)."""


class FallbackWarning(BondPremiaWarning):
    """A method's first choice could not be used and its documented alternative was (the result records which):
    the Diebold-Mariano test's Bartlett long-run variance when the rectangular one is not positive."""


class MissingInputWarning(BondPremiaWarning):
    """A requested output could not be computed because an input it needs was not given; it is left out."""
