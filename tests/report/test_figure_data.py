"""The report's figures plot the right numbers: every figure of a full report, read back from its axes (bar heights,
line data, image arrays), against values computed by hand here from the run folder's files.

The report is rendered once with ``_figure_html`` wrapped so that each Figure is kept with its alt text; the
expected values below use only numpy/pandas on the files that ``build_run`` (tests/report/conftest.py) wrote.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bondpremia.report import html as report_html
from bondpremia.report import render_report


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory, run_builder: Callable[[Path], Path]) -> tuple[Path, dict]:
    run = run_builder(tmp_path_factory.mktemp("figdata"))
    figures: dict[str, Any] = {}
    original = report_html._figure_html

    def keep(fig, alt, caption):
        figures[alt] = fig
        return original(fig, alt, caption)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(report_html, "_figure_html", keep)
        render_report(run)
    return run, figures


def _ax(drawn: tuple[Path, dict], alt: str):
    figs = drawn[1]
    assert alt in figs, sorted(figs)
    return figs[alt].axes[0]


def _lines(ax) -> dict[str, np.ndarray]:
    return {line.get_label(): np.asarray(line.get_ydata(), dtype=float) for line in ax.get_lines()
            if not line.get_label().startswith("_")}


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, index_col=0, parse_dates=True)


def test_every_figure_is_checked(drawn):
    assert set(drawn[1]) == {
        "TRACE cleaning waterfall", "Histogram of monthly bond returns", "Characteristic coverage heatmap",
        "IPCA R-squared by number of factors", "IPCA cumulative factor returns",
        "Mean return of portfolios sorted on duration", "Cumulative H-L return of portfolios sorted on duration",
        "Cumulative SSE difference, EW maturity", "Importance share by predictor group",
        "Strategy cumulative return", "Strategy drawdown"}


def test_audit_waterfall_bars(drawn):
    ax = _ax(drawn, "TRACE cleaning waterfall")
    audit = pd.read_csv(drawn[0] / "trace" / "audit.csv")
    assert list(audit["rows_dropped"]) == [0, 10, 10, 5]
    np.testing.assert_array_equal([p.get_height() for p in ax.patches], [0, 10, 10, 5])
    np.testing.assert_array_equal([p.get_y() for p in ax.patches], [0, 0, 10, 20])  # stacked on earlier drops


def test_return_histogram_counts_percent_returns(drawn):
    ax = _ax(drawn, "Histogram of monthly bond returns")
    ret = pd.read_parquet(drawn[0] / "trace" / "monthly.parquet")["ret"].to_numpy()
    counts, edges = np.histogram(100 * ret, bins=60)
    np.testing.assert_array_equal([p.get_height() for p in ax.patches], counts)
    np.testing.assert_allclose([p.get_x() for p in ax.patches], edges[:-1], atol=1e-12)


def test_coverage_heatmap_is_the_coverage_table(drawn):
    ax = _ax(drawn, "Characteristic coverage heatmap")
    cov = _csv(drawn[0] / "characteristics" / "coverage.csv")
    np.testing.assert_array_equal(np.asarray(ax.images[0].get_array()), cov.to_numpy().T)


def test_ipca_r2_bars_are_fit_json_in_percent(drawn):
    ax = _ax(drawn, "IPCA R-squared by number of factors")
    bars = {c.get_label(): [p.get_height() for p in c.patches] for c in ax.containers}
    # fit.json of K = 1, 2, 3: r2_total 0.1 K, r2_pred 0.01 K; only K = 3 has r2_total_oos = 0.2
    np.testing.assert_allclose(bars["r2_total"], [10.0, 20.0, 30.0])
    np.testing.assert_allclose(bars["r2_pred"], [1.0, 2.0, 3.0])
    np.testing.assert_allclose(bars["r2_total_oos"], [np.nan, np.nan, 20.0])
    assert json.loads((drawn[0] / "ipca_k3" / "fit.json").read_text())["r2_total_oos"] == 0.2


def test_ipca_factor_lines_are_running_sums(drawn):
    ax = _ax(drawn, "IPCA cumulative factor returns")
    f = _csv(drawn[0] / "ipca_k3" / "factors.csv").to_numpy()  # the largest K is shown
    lines = _lines(ax)
    assert sorted(lines) == ["f1", "f2", "f3"]
    for j in range(3):
        running = [f[: i + 1, j].sum() for i in range(len(f))]
        np.testing.assert_allclose(lines[f"f{j + 1}"], running, atol=1e-14)


def test_sort_means_bars_are_percent_means(drawn):
    ax = _ax(drawn, "Mean return of portfolios sorted on duration")
    returns = _csv(drawn[0] / "sorts" / "sort_returns_duration.csv")
    means = [100 * returns[c].dropna().mean() for c in returns.columns]
    np.testing.assert_allclose([p.get_height() for p in ax.patches], means, rtol=1e-12)


def test_cumulative_hl_is_a_running_sum_in_percent(drawn):
    ax = _ax(drawn, "Cumulative H-L return of portfolios sorted on duration")
    hl = _csv(drawn[0] / "sorts" / "sort_returns_duration.csv")["H-L"]
    assert np.isnan(hl.iloc[0])  # the warm-up month is left out
    values = hl.iloc[1:].to_numpy()
    (line,) = _lines(ax).values()
    np.testing.assert_allclose(line, [100 * values[: i + 1].sum() for i in range(len(values))], atol=1e-12)


def test_cumulative_sse_lines(drawn):
    ax = _ax(drawn, "Cumulative SSE difference, EW maturity")
    fc = pd.read_parquet(drawn[0] / "treasury" / "forecasts.parquet")
    lines = _lines(ax)
    assert sorted(lines) == ["nn", "ridge"]
    for model, line in lines.items():
        g = fc[(fc["model"] == model) & (fc["maturity"] == "EW")].sort_values("date")
        d = (g["actual"] - g["benchmark"]) ** 2 - (g["actual"] - g["forecast"]) ** 2
        np.testing.assert_allclose(line, [d.iloc[: i + 1].sum() for i in range(len(d))], atol=1e-15)


def test_importance_bars_are_group_shares_in_percent(drawn):
    ax = _ax(drawn, "Importance share by predictor group")
    widths = {c.get_label(): [p.get_width() for p in c.patches] for c in ax.containers}
    lefts = {c.get_label(): [p.get_x() for p in c.patches] for c in ax.containers}
    models = [t.get_text() for t in ax.get_yticklabels()]
    assert models == ["ridge", "nn"]
    # importance.csv: ridge shares 1/6 + 2/6 forwards, 3/6 macro; nn 0.4 + 0.4 forwards, 0.2 macro
    np.testing.assert_allclose(widths["forwards"], [50.0, 80.0])
    np.testing.assert_allclose(widths["macro"], [50.0, 20.0])
    np.testing.assert_allclose(lefts["macro"], [50.0, 80.0])  # stacked after forwards


def test_strategy_cumulative_is_compounded_percent(drawn):
    ax = _ax(drawn, "Strategy cumulative return")
    r = _csv(drawn[0] / "strategy" / "returns.csv")
    lines = _lines(ax)
    for label, col in (("strategy (net of costs)", "net"), ("buy and hold", "asset_return")):
        wealth = np.array([np.prod(1 + r[col].to_numpy()[: i + 1]) for i in range(len(r))])
        np.testing.assert_allclose(lines[label], 100 * (wealth - 1), atol=1e-12)


def test_strategy_drawdown_from_running_peak(drawn):
    ax = _ax(drawn, "Strategy drawdown")
    r = _csv(drawn[0] / "strategy" / "returns.csv")["net"].to_numpy()
    wealth, peak, dd = 1.0, 1.0, []
    for x in r:
        wealth *= 1 + x
        peak = max(peak, wealth)
        dd.append(100 * (wealth / peak - 1))
    np.testing.assert_allclose(_lines(ax)["strategy (net of costs)"], dd, atol=1e-12)


def test_forecast_figures_are_written_from_the_run_tables(drawn, tmp_path, monkeypatch):
    from bondpremia.report import files

    fc = pd.read_parquet(drawn[0] / "treasury" / "forecasts.parquet")
    imp = pd.read_csv(drawn[0] / "treasury" / "importance.csv")
    seen: dict[str, Any] = {}
    real_sse, real_imp = files.cumulative_sse, files.importance_by_group

    def spy(key, real):
        def draw(data):
            seen[key] = data
            return real(data)
        return draw

    monkeypatch.setattr(files, "cumulative_sse", spy("sse", real_sse))
    monkeypatch.setattr(files, "importance_by_group", spy("imp", real_imp))
    paths = files.forecast_figures(tmp_path / "figs", fc, imp)
    assert paths == [tmp_path / "figs" / "cumulative_sse.png", tmp_path / "figs" / "importance.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
    assert sorted(seen["sse"]) == ["nn", "ridge"]
    for model, curve in seen["sse"].items():  # the EW curves of every model, as in the report's figure
        g = fc[(fc["model"] == model) & (fc["maturity"] == "EW")].sort_values("date")
        d = (g["actual"] - g["benchmark"]) ** 2 - (g["actual"] - g["forecast"]) ** 2
        np.testing.assert_allclose(curve.to_numpy(), d.cumsum().to_numpy(), atol=1e-15)
    np.testing.assert_allclose(seen["imp"].loc[["ridge", "nn"], "forwards"], [50.0, 80.0])
    assert files.forecast_figures(tmp_path / "none", fc, None) == [tmp_path / "none" / "cumulative_sse.png"]
