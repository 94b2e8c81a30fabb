"""Render a run directory (outputs of the ``bondpremia`` commands) into one self-contained HTML research report."""

from __future__ import annotations

from bondpremia.report.files import forecast_figures, taylor_figures, write_tear_sheet
from bondpremia.report.html import REPORT_SECTIONS, render_report, write_report

__all__ = ["REPORT_SECTIONS", "forecast_figures", "render_report", "taylor_figures", "write_report",
           "write_tear_sheet"]
