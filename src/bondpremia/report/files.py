"""Figures written into a run folder as PNG files, next to the tables the stage wrote there."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bondpremia.models.forecast.outputs import group_shares, sse_curves
from bondpremia.report.figures import cumulative_sse, importance_by_group

__all__ = ["forecast_figures"]


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
