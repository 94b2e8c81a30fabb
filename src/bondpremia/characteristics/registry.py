"""The machinery of the characteristics registry: :class:`Spec` (one characteristic or intermediate quantity),
:class:`Values` (what specs compute from) and :func:`resolve` (compute every spec whose needs are met).

A spec's ``needs`` name, in order:

* panel roles, ``panel:<role>`` (:data:`~bondpremia.characteristics.grid.ROLES`), read onto the grid once, before
  any spec runs (:data:`PANEL_INPUTS`): a beginning-of-month field moves to the month it is known in;
* macro columns, ``macro:<column>``, on the grid's month ends;
* specs declared before it.

``a|b+c`` is one need, met by ``a``, or by ``b`` and ``c`` together; the spec's ``compute`` sees which are there
(:meth:`Values.has`). ``uses`` lists what a spec reads when it is there but can do without. The specs themselves
are :data:`bondpremia.characteristics.specs.SPECS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bondpremia.characteristics import definitions as d
from bondpremia.characteristics.grid import SENTINEL, Grid
from bondpremia.validate import to_number

__all__ = ["PANEL_INPUTS", "Options", "Spec", "Values", "check_order", "read_panel", "resolve", "tokens"]

#: The panel roles the specs read, in the order they are read (and validated: a malformed value in any of them
#: raises before anything is computed, whether or not a characteristic needs it).
PANEL_INPUTS = (
    "ret", "exret", "credit_exret", "offering_date", "maturity", "coupon", "duration", "par", "rating", "oas",
    "market_cap", "debt", "stock_price", "pricetobook", "pricetoearnings", "ebitda", "sales", "assets",
    "grossmargin", "gross_profit", "pd", "volume", "industry", "mv",
)
_DATE_ROLES = ("offering_date", "maturity")  # datetime64 grids (NaT elsewhere)
_LABEL_ROLES = ("industry",)  # object grids


@dataclass(frozen=True)
class Spec:
    """One characteristic (``output=True``: a column of the panel) or an intermediate quantity.

    ``name``: the column (or value) name. ``needs``: what must be there for the spec to be built (module
    docstring: ``panel:<role>``, ``macro:<column>``, an earlier spec; ``a|b+c`` = a, or b and c). ``compute``:
    ``Values -> array``, delegating to :mod:`~bondpremia.characteristics.definitions` and the rolling engine.
    ``dated``: the information the value of month t uses (the "window / lag" of docs/characteristics.md).
    ``uses``: read when there, not needed. ``alternative``: an alternative definition, built only when asked for
    (``alternatives=``)."""

    name: str
    needs: tuple[str, ...]
    compute: Callable[[Values], Any]
    dated: str
    uses: tuple[str, ...] = ()
    output: bool = True
    alternative: bool = False


@dataclass(frozen=True)
class Options:
    """The builder's options a spec may read: units (``ret``, ``oas``), whether the panel is ICE-style, the
    windows (and fewest usable months) of the risk measures and betas and of bond volatility, and whether the
    corporate index is the bond market."""

    units: dict[str, str] = field(default_factory=dict)
    ice: bool = False
    window: int = 36
    min_obs: int = 24
    vol_window: int = 24
    vol_min_obs: int = 16
    corporate_index: bool = False


class Values:
    """What specs compute from: the panel inputs on the grid (``panel:<role>``), the macro columns on its month
    ends (``macro:<column>``, read on first use), every spec computed so far, and the options (``opt``)."""

    def __init__(self, grid: Grid, macro: pd.DataFrame | None, options: Options,
                 panel: dict[str, np.ndarray] | None = None) -> None:
        self.grid, self.macro, self.opt = grid, macro, options
        self.dates = grid.dates
        self.shape = grid.shape
        self._values: dict[str, Any] = {f"panel:{role}": x for role, x in (panel or {}).items()}

    def has(self, name: str) -> bool:
        if name.startswith("macro:"):
            return self.macro is not None and name[len("macro:"):] in self.macro.columns
        return name in self._values

    def met(self, need: str) -> bool:
        """Whether a need (``a|b+c``) is met."""
        return any(all(self.has(t) for t in alt.split("+")) for alt in need.split("|"))

    def __getitem__(self, name: str) -> Any:
        if name not in self._values and name.startswith("macro:") and self.has(name):
            assert self.macro is not None
            self._values[name] = self.macro[name[len("macro:"):]].reindex(self.dates).to_numpy(dtype=float)
        return self._values[name]

    def get(self, name: str) -> Any | None:
        return self[name] if self.has(name) else None

    def __setitem__(self, name: str, value: Any) -> None:
        self._values[name] = value


def tokens(need: str) -> list[str]:
    """The names in a need: ``a|b+c`` -> ``[a, b, c]``."""
    return [t for alt in need.split("|") for t in alt.split("+")]


def check_order(specs: Sequence[Spec]) -> None:
    """Raise ``ValueError`` unless the names are unique and every need and use of a spec is a panel input of
    :data:`PANEL_INPUTS`, a macro column or a spec declared before it: the declaration order is then a valid
    order of computation."""
    seen: set[str] = set()
    for s in specs:
        if s.name in seen:
            raise ValueError(f"spec {s.name!r} is declared twice")
        if not s.needs or not s.dated:
            raise ValueError(f"spec {s.name!r} needs at least one input and a dating")
        for need in (*s.needs, *s.uses):
            for t in tokens(need):
                if t.startswith("macro:") and len(t) > len("macro:"):
                    continue
                if t.startswith("panel:"):
                    if t[len("panel:"):] not in PANEL_INPUTS:
                        raise ValueError(f"spec {s.name!r} needs {t}, not a panel input of PANEL_INPUTS")
                    continue
                if t not in seen:
                    raise ValueError(f"spec {s.name!r} needs {t!r}, which is not a spec declared before it")
        seen.add(s.name)


def resolve(specs: Iterable[Spec], values: Values, *, alternatives: Iterable[str] = ()) -> dict[str, list[str]]:
    """Compute, in declaration order, every spec whose needs are met, into ``values``. Returns the specs that
    could not be built -> the needs they lacked (a spec whose need was not built names that spec). Alternative
    definitions not asked for are skipped, not reported."""
    wanted = set(alternatives)
    unbuilt: dict[str, list[str]] = {}
    for s in specs:
        if s.alternative and s.name not in wanted:
            continue
        lacking = [n for n in s.needs if not values.met(n)]
        if lacking:
            unbuilt[s.name] = lacking
            continue
        values[s.name] = np.asarray(s.compute(values))
    return unbuilt


# --- reading the panel onto the grid ----------------------------------------------------------------------------

def _clean(values: np.ndarray) -> np.ndarray:
    out = np.asarray(values, dtype=float).copy()
    out[(out == SENTINEL) | ~np.isfinite(out)] = np.nan
    return out


def _wide_dates(panel: pd.DataFrame, column: str, grid: Grid) -> np.ndarray:
    """(T, N) datetime64[ns] of a date column as reported in each bond-month (NaT elsewhere): terms are read
    from the row of month t, never from a later row."""
    values = pd.to_datetime(panel[column], errors="coerce").to_numpy(dtype="datetime64[ns]")
    out = np.full(grid.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    out[grid.row, grid.col] = values
    return out


def _lead(x: np.ndarray) -> np.ndarray:
    """Row t gets the value of row t + 1 (NaN in the last row): a beginning-of-month field of month t + 1 is the
    value known at the end of month t."""
    out = np.full_like(x, np.nan)
    out[:-1] = x[1:]
    return out


def _rating(panel: pd.DataFrame, column: str, grid: Grid) -> np.ndarray:
    """Numeric ratings (1 = AAA ... 22 = D) as reported, or mapped from letters (:func:`definitions.rating_numeric`)."""
    col = panel[column]
    nums = pd.to_numeric(col, errors="coerce")
    if nums.notna().sum() >= col.notna().sum() * 0.99:
        return grid.wide(_clean(nums.to_numpy(dtype=float)))
    return np.asarray(d.rating_numeric(grid.wide(col.to_numpy(dtype=object), dtype=object)), dtype=float)


def read_panel(panel: pd.DataFrame, roles: dict[str, str], grid: Grid, bom: set[str]) -> dict[str, np.ndarray]:
    """Every role of :data:`PANEL_INPUTS` the panel has, on the (T, N) grid, in that order: numbers with the -99.99
    sentinel and +-inf missing, dates, ratings and industry labels as reported in the row of month t. A
    beginning-of-month field (``bom``) of row t + 1 becomes the value of t (terms and labels stay on their row)."""
    out: dict[str, np.ndarray] = {}
    for role in PANEL_INPUTS:
        if role not in roles:
            continue
        column = roles[role]
        if role in _DATE_ROLES:
            out[role] = _wide_dates(panel, column, grid)
        elif role in _LABEL_ROLES:
            out[role] = grid.wide(panel[column].astype(object).to_numpy(), dtype=object)
        else:
            x = (_rating(panel, column, grid) if role == "rating"
                 else grid.wide(_clean(to_number(panel[column], column))))
            out[role] = _lead(x) if role in bom else x
    return out
