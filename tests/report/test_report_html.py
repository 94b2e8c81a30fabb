"""Tests of the self-contained HTML research report (``bondpremia report RUN_DIR``)."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from bondpremia.errors import InputError
from bondpremia.report import REPORT_SECTIONS, render_report, write_report
from bondpremia.report import figures as F

# audit, returns, coverage, IPCA R² + factors, sort means + cumulative H-L, cumulative SSE, importance,
# strategy cumulative return + drawdown
N_FIGURES_FULL = 11

SORT_SUMMARY_EXAMPLE = """statistic,1.0,2.0,3.0,4.0,5.0,H-L
mean,0.00076,0.00063,0.00041,4.6e-05,0.00028,-0.00048
mean_ann,0.0091,0.0075,0.0049,0.00055,0.0033,-0.0058
t_stat,1.27,0.72,0.33,0.024,0.090,-0.18
months,70.0,70.0,70.0,70.0,70.0,70.0
avg_count,27.6,30.3,30.9,30.4,28.7,
"""


@pytest.fixture(scope="module")
def full_report(tmp_path_factory: pytest.TempPathFactory, run_builder: Callable[[Path], Path]) -> str:
    return render_report(run_builder(tmp_path_factory.mktemp("run")))


def _images(text: str) -> list[bytes]:
    return [base64.b64decode(m, validate=True) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', text)]


def test_every_section_once(full_report: str) -> None:
    for sid in REPORT_SECTIONS:
        assert full_report.count(f'<h2 id="{sid}"') == 1, sid
        assert f'href="#{sid}"' in full_report
    assert full_report.count("<section ") == len(REPORT_SECTIONS)


def test_figures_are_embedded_pngs(full_report: str) -> None:
    assert full_report.count("<img") == N_FIGURES_FULL
    images = _images(full_report)
    assert len(images) == N_FIGURES_FULL
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in images)
    assert len(re.findall(r'<img alt="[^"]+"', full_report)) == N_FIGURES_FULL
    assert full_report.count("<figcaption>") == N_FIGURES_FULL


def test_self_contained(full_report: str) -> None:
    assert "http://" not in full_report
    assert "https://" not in full_report
    assert "<script" not in full_report


def test_r2oos_stars(full_report: str) -> None:
    table = full_report[full_report.index('class="dataframe data r2oos"'):]
    table = table[: table.index("</table>")]
    assert "1.50***" in table  # ridge, 2: p=0.005
    assert "1.50**<" in table  # ridge, EW: p=0.03
    assert "1.50*<" in table  # nn, 2: p=0.07
    assert "1.50<" in table  # nn, EW: p=0.5, no star
    assert table.index(">2<") < table.index(">EW<")


def test_stats_and_summary_tables(full_report: str) -> None:
    assert "max_drawdown" in full_report
    assert "99% quantile (%)" in full_report


def test_section_order(full_report: str) -> None:
    positions = [full_report.index(f'<h2 id="{sid}"') for sid in REPORT_SECTIONS]
    assert positions == sorted(positions)
    assert REPORT_SECTIONS.index("ipca") + 1 == REPORT_SECTIONS.index("sorts") == REPORT_SECTIONS.index("treasury") - 1


def _section(text: str, sid: str) -> str:
    body = text[text.index(f'<h2 id="{sid}"'):]
    return body[: body.index("</section>")]


def test_sorts_section(full_report: str, tmp_path: Path, sorts_writer: Callable[..., Any]) -> None:
    section = _section(full_report, "sorts")
    assert "<h3>duration</h3>" in section
    assert len(_images(section)) == 2  # mean returns with error bars + cumulative H-L
    assert 'alt="Cumulative H-L return of portfolios sorted on duration"' in section
    header = re.findall(r"<th>([^<]*)</th>", section[: section.index("</thead>")])
    assert header[-6:] == ["1", "2", "3", "4", "5", "H-L"]
    for label in ("mean (% per month)", "mean (% per year)", "Newey-West t", "months",
                  "bonds per portfolio (average)"):
        assert f"<th>{label}</th>" in section, label
    # the table shows the file's numbers: means in percent, t-statistics as they are
    result = sorts_writer(tmp_path, "duration")
    summary = result.summary(lags=3)
    row = section[section.index("<th>mean (% per month)</th>"):]
    cells = re.findall(r"<td>([^<]*)</td>", row[: row.index("</tr>")])
    assert cells == [f"{v * 100:.3f}" for v in summary.loc["mean"]]
    row = section[section.index("<th>Newey-West t</th>"):]
    cells = re.findall(r"<td>([^<]*)</td>", row[: row.index("</tr>")])
    assert cells == [f"{v:.2f}" for v in summary.loc["t_stat"]]
    row = section[section.index("<th>bonds per portfolio (average)</th>"):]
    assert re.findall(r"<td>([^<]*)</td>", row[: row.index("</tr>")])[-1] == ""  # H-L has no count


def test_sort_summary_alone(tmp_path: Path) -> None:
    (tmp_path / "sort_summary_rating.csv").write_text(SORT_SUMMARY_EXAMPLE)
    text = render_report(tmp_path)
    assert [sid for sid in REPORT_SECTIONS if f'<h2 id="{sid}"' in text] == ["sorts"]
    section = _section(text, "sorts")
    assert "<h3>rating</h3>" in section
    assert len(_images(section)) == 1  # no sort_returns_rating.csv: no cumulative H-L figure
    assert "<td>0.076</td>" in section and "<td>0.91</td>" in section and "<td>1.27</td>" in section


def test_sort_summary_missing_row(tmp_path: Path) -> None:
    path = tmp_path / "sort_summary_size.csv"
    path.write_text("\n".join(line for line in SORT_SUMMARY_EXAMPLE.splitlines() if not line.startswith("t_stat")))
    with pytest.raises(InputError, match=r"missing row\(s\) \['t_stat'\].*SortResult\.summary") as info:
        render_report(tmp_path)
    assert info.value.file == str(path)


def test_sort_returns_without_hl(tmp_path: Path) -> None:
    (tmp_path / "sort_summary_size.csv").write_text(SORT_SUMMARY_EXAMPLE)
    path = tmp_path / "sort_returns_size.csv"
    path.write_text("date,1.0,2.0\n2015-01-31,0.01,0.02\n")
    with pytest.raises(InputError, match="H-L") as info:
        render_report(tmp_path)
    assert info.value.file == str(path)


def test_sort_means_error_bars() -> None:
    summary = pd.read_csv(io.StringIO(SORT_SUMMARY_EXAMPLE), index_col=0)
    summary.loc["t_stat", "3.0"] = 0.0  # no standard error: no error bar
    summary.loc["t_stat", "4.0"] = np.nan
    fig = F.sort_means(summary, "rating")
    try:
        ax = fig.axes[0]
        assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3", "4", "5", "H-L"]
        assert ax.get_xlabel() == "portfolio (1 = lowest rating)"
        assert ax.get_ylabel() == "mean return (% per month)"
        heights = [patch.get_height() for patch in ax.patches]
        np.testing.assert_allclose(heights, summary.loc["mean"].to_numpy() * 100)
        segments = ax.collections[0].get_segments()  # the vertical error bars, portfolios with a t-statistic
        keep = [0, 1, 4, 5]
        mean, t = summary.loc["mean"].to_numpy() * 100, summary.loc["t_stat"].to_numpy()
        assert len(segments) == len(keep)
        for seg, j in zip(segments, keep, strict=True):
            assert seg[0][0] == seg[1][0] == j
            np.testing.assert_allclose(sorted([seg[0][1], seg[1][1]]),
                                       [mean[j] - 1.96 * abs(mean[j] / t[j]), mean[j] + 1.96 * abs(mean[j] / t[j])])
    finally:
        plt.close(fig)


def test_strategy_drawdown_values() -> None:
    dates = pd.date_range("2020-01-31", periods=5, freq="ME")
    returns = pd.DataFrame({"net": [-0.1, 0.1, -0.5, 0.2, 1.0], "asset_return": [0.1, np.nan, 0.0, 0.0, 0.0]},
                           index=dates)
    fig = F.strategy_drawdown(returns)
    try:
        lines = {line.get_label(): line.get_ydata() for line in fig.axes[0].get_lines()}
        # wealth 0.9, 0.99, 0.495, 0.594, 1.188; peak 1 (the start), 1, 1, 1, 1.188
        np.testing.assert_allclose(lines["net"], [-10.0, -1.0, -50.5, -40.6, 0.0], atol=1e-12)
        np.testing.assert_allclose(lines["asset_return"], 0.0)
    finally:
        plt.close(fig)


def test_strategy_section_has_drawdown(full_report: str) -> None:
    section = _section(full_report, "strategy")
    assert len(_images(section)) == 2
    assert 'alt="Strategy drawdown"' in section


def _figure_cases() -> dict[str, tuple[tuple[Any, ...], dict[str, str]]]:
    """Inputs of every public figure function and the unit each labelled quantity axis must show."""
    dates = pd.date_range("2015-01-31", periods=6, freq="ME")
    summary = pd.read_csv(io.StringIO(SORT_SUMMARY_EXAMPLE), index_col=0)
    sort_returns = pd.DataFrame({"1.0": [np.nan, 0.01, 0.0, 0.02, -0.01, 0.0], "H-L": [np.nan, 0.01, -0.02, 0.0,
                                                                                        0.03, 0.01]}, index=dates)
    return {
        "audit_waterfall": ((pd.DataFrame({"step": ["a", "b"], "rows_dropped": [3, 4]}),), {"y": "(count)"}),
        "return_histogram": ((pd.DataFrame({"ret": [0.01, -0.02, 0.005]}),), {"x": "(%)", "y": "(count)"}),
        "coverage_heatmap": ((pd.DataFrame({"x": np.linspace(0, 1, 6), "y": 0.5}, index=dates),),
                             {"colorbar": "(fraction, 0 to 1)"}),
        "ipca_r2_by_k": ((pd.DataFrame({"r2_total": [10.0, 20.0]}, index=[1, 2]),), {"y": "(%)"}),
        "cumulative_factor_returns": ((pd.DataFrame({"f1": [0.01] * 6}, index=dates),), {"y": "decimal)"}),
        "cumulative_sse": ((pd.DataFrame({"ridge": np.arange(6.0)}, index=dates),), {"y": "squared log returns"}),
        "importance_by_group": ((pd.DataFrame({"forwards": [60.0], "macro": [40.0]}, index=["ridge"]),),
                                {"x": "(%)"}),
        "sort_means": ((summary, "duration"), {"y": "(% per month)"}),
        "sort_cumulative_hl": ((sort_returns, "duration"), {"y": "(%)"}),
        "strategy_cumulative": ((pd.DataFrame({"net": [0.01] * 6}, index=dates),), {"y": "(%)"}),
        "strategy_drawdown": ((pd.DataFrame({"net": [0.01, -0.02, 0.0, 0.01, -0.01, 0.02]}, index=dates),),
                              {"y": "(%)"}),
        "replication_bars": ((pd.DataFrame({"model": ["pcr3"] * 2, "label": ["PCA (3)"] * 2,
                                            "timing": ["bbt", "purged"], "maturity": ["EW"] * 2,
                                            "r2oos": [-2.2, -11.2], "paper": [1.0, 1.0]}),), {"x": "(%)"}),
        "taylor_rule": ((pd.DataFrame({"observed": [1.0, 1.5] * 3, "predicted": [1.2] * 6}, index=dates), 36),
                        {"y": "(% per year)"}),
        "tear_sheet": ((pd.DataFrame({"net": [0.01, -0.02, 0.0, 0.01, -0.01, 0.02]}, index=dates),), {}),
    }


def test_tear_sheet_and_taylor_rule_plot_their_data() -> None:
    dates = pd.date_range("2015-01-31", periods=4, freq="ME")
    net = pd.Series([0.10, -0.50, 0.20, 0.0], index=dates, name="net")
    fig = F.tear_sheet(net)
    wealth, drawdown = fig.axes[0].lines[0], fig.axes[1].lines[0]
    # wealth 1.1, 0.55, 0.66, 0.66; its running peak 1.1 from the start: drawdowns 0, -50, -40, -40 (%)
    np.testing.assert_allclose(wealth.get_ydata(), [1.1, 0.55, 0.66, 0.66])
    np.testing.assert_allclose(drawdown.get_ydata(), [0.0, -50.0, -40.0, -40.0])
    heights = [p.get_height() for p in fig.axes[3].patches]
    assert sum(heights) == 4  # every period in the histogram
    plt.close(fig)
    frame = pd.DataFrame({"observed": [1.0, 1.5, 2.0, 2.5], "predicted": [1.2, 1.4, 2.4, 2.0]}, index=dates)
    fig = F.taylor_rule(frame, 36)
    observed, predicted = fig.axes[0].lines
    np.testing.assert_allclose(observed.get_ydata(), [1.0, 1.5, 2.0, 2.5])
    np.testing.assert_allclose(predicted.get_ydata(), [1.2, 1.4, 2.4, 2.0])
    assert "36-month" in predicted.get_label()
    plt.close(fig)


@pytest.mark.parametrize("name", F.__all__)
def test_every_figure_labels_axes_with_units(name: str) -> None:
    cases = _figure_cases()
    assert name in cases, f"add inputs and units of figures.{name} to _figure_cases"
    args, units = cases[name]
    fig = getattr(F, name)(*args)
    try:
        assert fig.axes
        for ax in fig.axes:
            if ax.get_label() == "<colorbar>":
                label = ax.get_ylabel() or ax.get_xlabel()
                assert label.strip(), f"{name}: colorbar without a label"
                assert units["colorbar"] in label, (name, label)
                continue
            assert ax.get_xlabel().strip(), f"{name}: x axis without a label"
            assert ax.get_ylabel().strip(), f"{name}: y axis without a label"
            for axis, unit in units.items():
                if axis != "colorbar":
                    label = ax.get_xlabel() if axis == "x" else ax.get_ylabel()
                    assert unit in label, f"{name}: {axis} label {label!r} lacks the unit {unit!r}"
            if "return" in ax.get_ylabel():
                assert "(" in ax.get_ylabel(), f"{name}: return axis {ax.get_ylabel()!r} without units"
    finally:
        plt.close(fig)


def test_specific_labels() -> None:
    cases = _figure_cases()
    fig = F.coverage_heatmap(*cases["coverage_heatmap"][0])
    assert fig.axes[1].get_ylabel() == "share of bonds with a value (fraction, 0 to 1)"
    plt.close(fig)
    fig = F.audit_waterfall(*cases["audit_waterfall"][0])
    assert (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()) == ("cleaning step", "rows dropped (count)")
    plt.close(fig)
    fig = F.cumulative_factor_returns(*cases["cumulative_factor_returns"][0])
    assert fig.axes[0].get_ylabel() == "cumulative factor return (sum of monthly returns, decimal)"
    plt.close(fig)


def test_only_r2oos(tmp_path: Path, r2oos_writer: Callable[[Path], None]) -> None:
    r2oos_writer(tmp_path)
    text = render_report(tmp_path)
    assert '<h2 id="treasury"' in text
    for sid in REPORT_SECTIONS:
        if sid != "treasury":
            assert f'id="{sid}"' not in text
    assert "<img" not in text
    assert "***" in text


def test_population_r2_row_of_a_simulated_term_structure(tmp_path: Path,
                                                        r2oos_writer: Callable[[Path], None]) -> None:
    r2oos_writer(tmp_path)
    pd.DataFrame({"population_r2": [0.3797, 0.3596]}, index=pd.Index(["2", "ew"], name="n")).to_csv(
        tmp_path / "population_r2.csv")
    text = render_report(tmp_path)
    assert "population R² of the true E_t rx (%)" in text
    assert "<th>EW</th>" in text and "<td>36.0</td>" in text and "<td>38.0</td>" in text


def test_strategy_legend_names(tmp_path: Path) -> None:
    dates = pd.date_range("2020-01-31", periods=6, freq="ME")
    pd.DataFrame({"net": [0.01, -0.02, 0.0, 0.01, 0.02, -0.01], "asset_return": 0.005}, index=dates).to_csv(
        tmp_path / "returns.csv", index_label="date")
    text = render_report(tmp_path)
    assert "strategy (net of costs), buy and hold" in text


def test_empty_dir_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no known result files") as info:
        render_report(tmp_path)
    assert info.value.file == str(tmp_path)


def test_write_report(tmp_path: Path, r2oos_writer: Callable[[Path], None]) -> None:
    r2oos_writer(tmp_path)
    path = write_report(tmp_path)
    assert path == tmp_path / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    other = write_report(tmp_path, tmp_path / "out" / "r.html")
    assert other.exists()


def test_cli_function(tmp_path: Path, capsys: pytest.CaptureFixture[str], r2oos_writer: Callable[[Path], None]) -> None:
    from bondpremia.cli.report import report

    r2oos_writer(tmp_path)
    report(tmp_path)
    assert str(tmp_path / "report.html") in capsys.readouterr().out
    assert (tmp_path / "report.html").exists()


def test_figures_leave_the_users_backend_and_pyplot_alone(tmp_path) -> None:
    """Importing and drawing must not switch a notebook user's backend or register figures with pyplot: run in a
    fresh interpreter whose backend is set to one the library would otherwise replace."""
    import subprocess
    import sys

    code = f"""
import matplotlib
matplotlib.use("pdf")
import matplotlib.pyplot as plt
import pandas as pd
from bondpremia.report import figures as F
from bondpremia.report.files import write_tear_sheet
dates = pd.date_range("2020-01-31", periods=24, freq="ME")
F.strategy_cumulative(pd.DataFrame({{"net": 0.01}}, index=dates)).savefig(r"{tmp_path / 'a.png'}")
write_tear_sheet(pd.Series(0.01, index=dates, name="net"), r"{tmp_path / 'b.png'}")
assert matplotlib.get_backend() == "pdf", matplotlib.get_backend()
assert plt.get_fignums() == [], plt.get_fignums()
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "b.png").stat().st_size > 10_000


def test_report_never_reads_an_unfinished_run(tmp_path, run_builder):
    """A staging folder left beside a run (a run still being written) is not read by the report."""
    from bondpremia.report import render_report

    run = run_builder(tmp_path / "run")
    before = render_report(run)
    staging = run / ".sorts2.partial-abc"
    staging.mkdir()
    (staging / "sort_summary_half.csv").write_text("statistic,1.0\nmean,0.5\n")
    after = render_report(run)
    assert "half" not in after and after.count("<figure>") == before.count("<figure>")


def test_every_file_the_report_reads_is_declared_by_a_writer():
    """The report's file names and the writers' declarations (rundir.OUTPUTS) are one list: each name the report
    reads is an output of some command, as a writer declares it (hand-listed pairs)."""
    from fnmatch import fnmatchcase

    from bondpremia.report.html import READS
    from bondpremia.rundir import OUTPUTS

    writer = {"audit.csv": "trace clean", "monthly.parquet": "trace monthly", "coverage.csv": "characteristics build",
              "fit.json": "ipca fit", "factors.csv": "ipca fit", "sort_summary_*.csv": "portfolio sort",
              "r2oos.csv": "treasury forecast", "forecasts.parquet": "treasury forecast",
              "importance.csv": "treasury forecast", "returns.csv": "strategy taylor", "stats.json": "strategy taylor",
              "population_r2.csv": "simulate treasury"}
    assert set(READS) == set(writer)
    for name, command in writer.items():
        assert name in OUTPUTS[command] or any(fnmatchcase(name, p) for p in OUTPUTS[command]), (name, command)
    from bondpremia.report.html import _find

    with pytest.raises(ValueError, match="is not in READS"):
        _find(Path("."), "monthly.csv")
