"""Figures written into a run folder as PNG files, next to the tables the stage wrote there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from bondpremia.models.forecast.outputs import group_shares, sse_curves
from bondpremia.report.figures import cumulative_sse, importance_by_group, taylor_rule, tear_sheet

__all__ = ["forecast_figures", "taylor_figures", "write_tear_sheet"]


def forecast_figures(folder: str | Path, forecasts: pd.DataFrame, importance: pd.DataFrame | None) -> list[Path]:
    """Write the figures of ``bondpremia treasury forecast`` into ``folder``: ``cumulative_sse.png`` (the EW
    cumulative SSE difference of every model, :func:`~bondpremia.report.figures.cumulative_sse`) and, with
    importance rows, ``importance.png`` (:func:`~bondpremia.report.figures.importance_by_group`). ``forecasts`` are
    the stacked forecast rows of the runs and ``importance`` the grouped importance of
    :func:`bondpremia.models.forecast.report_tables`. Returns the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    drawn = [(cumulative_sse(sse_curves(forecasts)), "cumulative_sse.png")]
    if importance is not None and len(importance):
        drawn.append((importance_by_group(group_shares(importance)), "importance.png"))
    for fig, name in drawn:
        fig.savefig(folder / name, dpi=120)
    return [folder / name for _, name in drawn]


def write_tear_sheet(returns: pd.DataFrame | pd.Series, path: str | Path, title: str = "Performance",
                     periods_per_year: int | None = None) -> Path:
    """Write :func:`~bondpremia.report.figures.tear_sheet` as a PNG to ``path``; returns the path."""
    out = Path(path)
    tear_sheet(returns, title=title, periods_per_year=periods_per_year).savefig(out, dpi=110)
    return out


def taylor_figures(folder: str | Path, result: Any, title: str = "Taylor-rule strategy") -> list[Path]:
    """Write the figures of ``bondpremia strategy taylor`` into ``folder``: the tear sheet of the strategy's net
    return and buy-and-hold (``strategy.png``) and the observed against predicted fed funds rate
    (``taylor_rule.png``). ``result`` is a :func:`bondpremia.portfolio.taylor_rule_strategy` result."""
    folder = Path(folder)
    paths = [write_tear_sheet(result.series(), folder / "strategy.png", title=title, periods_per_year=12),
             folder / "taylor_rule.png"]
    taylor_rule(result.returns, int(result.settings["window"])).savefig(paths[1], dpi=110)
    return paths
