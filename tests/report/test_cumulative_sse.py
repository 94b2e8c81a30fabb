"""The cumulative SSE difference plot (Goyal and Welch 2008) of :mod:`bondpremia.report.figures`: the lines drawn are
the series given, the zero line, the labels and the errors for bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bondpremia.errors import InputError
from bondpremia.models.forecast.evaluation import cumulative_sse_difference
from bondpremia.report.figures import CUMULATIVE_SSE_YLABEL, plot_cumulative_sse


def error_text(fn, *args, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_plot_cumulative_sse_labels_and_lines():
    from matplotlib.figure import Figure

    dates = pd.date_range("2000-01-31", periods=60, freq="ME")
    rng = np.random.default_rng(2)
    x = rng.standard_normal(60)
    y, model, bench = 0.5 * x + rng.standard_normal(60), 0.5 * x, np.zeros(60)
    y = pd.Series(y, index=dates)
    frame = pd.DataFrame({m: cumulative_sse_difference(y, model * s, bench) for m, s in [("2", 1.0), ("EW", 0.5)]})
    ax = plot_cumulative_sse(frame, title="Goyal-Welch")
    assert ax.get_xlabel() == "date"
    assert ax.get_ylabel() == CUMULATIVE_SSE_YLABEL
    assert "squared log returns" in ax.get_ylabel()
    assert ax.get_title() == "Goyal-Welch"
    assert len(ax.lines) == 3  # two series + the zero line
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["2", "EW"]
    zero = ax.lines[-1]
    assert np.all(np.asarray(zero.get_ydata()) == 0.0)

    ax2 = Figure().subplots()
    out = plot_cumulative_sse({"ridge": frame["2"], "lasso": frame["EW"].iloc[10:]}, ax=ax2)
    assert out is ax2 and len(ax2.lines) == 3
    assert len(ax2.lines[1].get_xdata()) == 50


def test_plot_cumulative_sse_arrays_series_and_style():
    ax = plot_cumulative_sse({"a": [1.0, 2.0, 3.0], 7: pd.Series([0.5, np.nan, 1.5], index=[10, 20, 30])})
    a, b, zero = ax.get_lines()
    assert a.get_label() == "a" and list(a.get_xdata()) == [0, 1, 2] and list(a.get_ydata()) == [1.0, 2.0, 3.0]
    assert b.get_label() == "7" and list(b.get_xdata()) == [10, 30] and list(b.get_ydata()) == [0.5, 1.5]
    assert list(zero.get_ydata()) == [0.0, 0.0]
    assert zero.get_color() == "black" and zero.get_linewidth() == 0.8 and zero.get_linestyle() == "--"
    assert ax.get_ylabel() == CUMULATIVE_SSE_YLABEL and ax.get_xlabel() == "date"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "7"]

    ax = plot_cumulative_sse(pd.Series([1.0, 2.0], name="ten"), title="T")
    (line, _) = ax.get_lines()
    assert line.get_label() == "ten" and list(line.get_ydata()) == [1.0, 2.0] and ax.get_title() == "T"


def test_plot_cumulative_sse_errors():
    assert error_text(plot_cumulative_sse, [1.0, 2.0]) == (
        "'frame_or_dict': expected a DataFrame or a mapping of label -> Series")
    assert error_text(plot_cumulative_sse, {}) == "'frame_or_dict': nothing to plot"
    assert error_text(plot_cumulative_sse, {"x": [1.0, np.inf]}) == (
        "'x', row 1: infinite value; use NaN for a missing observation")
