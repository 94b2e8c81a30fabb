"""The portfolio stage: ``portfolio sort`` (quantile sorts of a bond panel on characteristics)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bondpremia.errors import InputError
from bondpremia.stages._common import as_option, dates, files, read_panel

if TYPE_CHECKING:
    import pandas as pd

    from bondpremia.portfolio import SortResult

__all__ = ["SortConfig", "run_portfolio_sort"]


@dataclass(frozen=True)
class SortConfig:
    """The options of ``bondpremia portfolio sort``: the characteristics ``chars`` (a sequence or a
    comma-separated string), ``n`` portfolios, the return column ``ret`` (the return of the row's own month), the
    market-value column ``weight`` (``None``: equal weights), the ``holding`` period in months, the key columns and
    the Newey-West ``lags`` of the summary (``None``: automatic)."""

    chars: tuple[str, ...]
    n: int = 5
    ret: str = "ret"
    weight: str | None = None
    holding: int = 1
    entity: str = "id"
    date: str = "date"
    lags: int | None = None

    def __post_init__(self) -> None:
        from bondpremia.validate import integer

        chars = tuple(dict.fromkeys(c.strip() for c in (self.chars.split(",") if isinstance(self.chars, str)
                                                         else self.chars) if c.strip()))
        if not chars:
            raise InputError("no characteristic given", column="--char")
        object.__setattr__(self, "chars", chars)  # a characteristic given twice is sorted once
        object.__setattr__(self, "n", integer(self.n, "--n", 2))
        object.__setattr__(self, "holding", integer(self.holding, "--holding", 1))
        if self.lags is not None:
            object.__setattr__(self, "lags", integer(self.lags, "--lags", 0))

    def as_options(self) -> dict[str, Any]:
        return {"char": list(self.chars), "n": self.n, "ret": self.ret, "weight": self.weight,
                "holding": self.holding, "lags": self.lags}


def run_portfolio_sort(panel: str | Path | pd.DataFrame, out: str | Path, config: SortConfig, *,
                       progress: Callable[[int, int], None] | None = None, force: bool = False
                       ) -> dict[str, SortResult]:
    """``bondpremia portfolio sort``: sort the bonds of a panel (a file or a frame) into ``config.n`` portfolios
    on each characteristic of month t, hold them over t+1..t+holding, and write the run folder ``out``
    (``sort_summary_<char>.csv`` and ``sort_returns_<char>.csv`` per characteristic, ``_SUCCESS.json``).
    Returns characteristic -> :class:`~bondpremia.portfolio.SortResult` (its ``summary(lags=config.lags)`` is the
    summary file). ``progress(done, total)`` after each characteristic."""
    from bondpremia.portfolio.sorts import univariate_sort, write_sort
    from bondpremia.rundir import atomic_run, check_out
    from bondpremia.schema import BOND_RETURNS, check_table

    check_out(out, force)
    file = str(panel) if isinstance(panel, str | Path) else None
    frame = read_panel(Path(panel)) if isinstance(panel, str | Path) else panel.copy()
    if config.date in frame.columns:
        frame[config.date] = dates(frame[config.date], file or "panel", config.date)
    check_table(frame, BOND_RETURNS, where=file or "panel",
                rename={"id": config.entity, "date": config.date, "ret": config.ret},
                hint="--entity, --date and --ret name the key and return columns")
    for col in (*config.chars, *([config.weight] if config.weight else [])):
        if col not in frame.columns:
            raise InputError(f"column not found; the panel has {list(frame.columns)}", file=file, column=col)
    results = {}
    for i, name in enumerate(config.chars):
        results[name] = as_option(univariate_sort, frame, name, config.n, ret=config.ret, entity=config.entity,
                                  date=config.date, weight=config.weight, holding=config.holding, _file=file)
        if progress is not None:
            progress(i + 1, len(config.chars))
    with atomic_run(out, "portfolio sort", inputs=files(panel), options=config.as_options(), force=force) as staged:
        for name, result in results.items():
            as_option(write_sort, result, name, staged.path, lags=config.lags)
    return results
