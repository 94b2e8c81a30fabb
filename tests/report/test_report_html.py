"""Tests of the self-contained HTML research report (``bondpremia report RUN_DIR``)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from bondpremia.errors import InputError
from bondpremia.report import REPORT_SECTIONS, render_report, write_report
from bondpremia.report import figures as F

N_FIGURES_FULL = 8  # audit, returns, coverage, IPCA R² + factors, cumulative SSE, importance, strategy

P_VALUES = {("ridge", "2"): 0.005, ("ridge", "EW"): 0.03, ("nn", "2"): 0.07, ("nn", "EW"): 0.5}


def _dates(n: int = 24) -> pd.DatetimeIndex:
    return pd.date_range("2015-01-31", periods=n, freq="ME")


def _write_r2oos(run: Path) -> None:
    rows = [{"model": m, "maturity": mat, "r2oos": 1.5, "cw_pvalue": p} for (m, mat), p in P_VALUES.items()]
    pd.DataFrame(rows).to_csv(run / "r2oos.csv", index=False)


def _build_run(run: Path) -> Path:
    rng = np.random.default_rng(0)
    dates = _dates()
    trace = run / "trace"
    trace.mkdir(parents=True)
    pd.DataFrame({"step": ["raw", "cancellations", "reversals", "agency"], "rows_in": [100, 100, 90, 80],
                  "rows_out": [100, 90, 80, 75], "rows_dropped": [0, 10, 10, 5],
                  "reason": ["", "cancelled", "reversed", "agency dup"]}).to_csv(trace / "audit.csv", index=False)
    pd.DataFrame({"date": np.repeat(dates, 5), "ret": rng.normal(0.004, 0.02, 5 * len(dates))}).to_parquet(
        trace / "monthly.parquet")
    chars = run / "characteristics"
    chars.mkdir()
    pd.DataFrame(rng.uniform(0, 1, (len(dates), 3)), index=pd.Index(dates, name="date"),
                 columns=["duration", "rating", "size"]).to_csv(chars / "coverage.csv")
    for k in (1, 2, 3):
        d = run / f"ipca_k{k}"
        d.mkdir()
        fit = {"n_factors": k, "r2_total": 0.1 * k, "r2_pred": 0.01 * k}
        if k == 3:
            fit.pop("n_factors")  # K from the folder name
            fit["r2_total_oos"] = 0.2
        (d / "fit.json").write_text(json.dumps(fit))
        pd.DataFrame(rng.normal(0, 0.01, (len(dates), k)), index=pd.Index(dates, name="date"),
                     columns=[f"f{i + 1}" for i in range(k)]).to_csv(d / "factors.csv")
    tsy = run / "treasury"
    tsy.mkdir()
    _write_r2oos(tsy)
    fc = []
    for model in ("ridge", "nn"):
        for mat in ("2", "EW"):
            actual = rng.normal(0, 0.02, len(dates))
            fc.append(pd.DataFrame({"model": model, "date": dates, "target_date": dates + pd.offsets.MonthEnd(12),
                                    "maturity": mat, "forecast": actual + rng.normal(0, 0.01, len(dates)),
                                    "actual": actual, "benchmark": 0.0}))
    pd.concat(fc, ignore_index=True).to_parquet(tsy / "forecasts.parquet")
    pd.DataFrame({"model": ["ridge"] * 3 + ["nn"] * 3, "maturity": ["EW"] * 6,
                  "predictor": ["fwd1", "fwd2", "ip"] * 2, "importance": [1.0, 2.0, 3.0, 2.0, 2.0, 1.0],
                  "group": ["forwards", "forwards", "macro"] * 2,
                  "share": [1 / 6, 2 / 6, 3 / 6, 0.4, 0.4, 0.2]}).to_csv(tsy / "importance.csv", index=False)
    strat = run / "strategy"
    strat.mkdir()
    pd.DataFrame({"net": rng.normal(0.003, 0.02, len(dates)), "asset_return": rng.normal(0.002, 0.02, len(dates))},
                 index=pd.Index(dates, name="date")).to_csv(strat / "returns.csv")
    (strat / "stats.json").write_text(json.dumps({
        "window": 60, "cost_bps": 5.0, "start": "2015-01-31",
        "statistics": {"strategy": {"sharpe": 0.5, "max_drawdown": -0.1},
                       "buy_and_hold": {"sharpe": 0.3, "max_drawdown": -0.2}}}))
    return run


@pytest.fixture(scope="module")
def full_report(tmp_path_factory: pytest.TempPathFactory) -> str:
    return render_report(_build_run(tmp_path_factory.mktemp("run")))


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


def _frames() -> dict[str, pd.DataFrame]:
    dates = _dates(6)
    return {
        "audit": pd.DataFrame({"step": ["a", "b"], "rows_dropped": [3, 4]}),
        "monthly": pd.DataFrame({"ret": [0.01, -0.02, 0.005]}),
        "coverage": pd.DataFrame({"x": np.linspace(0, 1, 6), "y": 0.5}, index=dates),
        "r2": pd.DataFrame({"r2_total": [10.0, 20.0]}, index=[1, 2]),
        "factors": pd.DataFrame({"f1": [0.01] * 6}, index=dates),
        "sse": pd.DataFrame({"ridge": np.arange(6.0)}, index=dates),
        "importance": pd.DataFrame({"forwards": [60.0], "macro": [40.0]}, index=["ridge"]),
        "strategy": pd.DataFrame({"net": [0.01] * 6}, index=dates),
    }


@pytest.mark.parametrize(("func", "key"), [
    (F.audit_waterfall, "audit"), (F.return_histogram, "monthly"), (F.coverage_heatmap, "coverage"),
    (F.ipca_r2_by_k, "r2"), (F.cumulative_factor_returns, "factors"), (F.cumulative_sse, "sse"),
    (F.importance_by_group, "importance"), (F.strategy_cumulative, "strategy"),
])
def test_figure_axis_labels(func, key) -> None:
    fig = func(_frames()[key])
    try:
        ax = fig.axes[0]
        assert ax.get_xlabel().strip()
        assert ax.get_ylabel().strip()
    finally:
        plt.close(fig)


def test_specific_labels() -> None:
    frames = _frames()
    fig = F.coverage_heatmap(frames["coverage"])
    assert fig.axes[1].get_ylabel() == "share of bonds with a value"
    plt.close(fig)
    fig = F.audit_waterfall(frames["audit"])
    assert (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()) == ("cleaning step", "rows dropped (count)")
    plt.close(fig)


def test_only_r2oos(tmp_path: Path) -> None:
    _write_r2oos(tmp_path)
    text = render_report(tmp_path)
    assert '<h2 id="treasury"' in text
    for sid in REPORT_SECTIONS:
        if sid != "treasury":
            assert f'id="{sid}"' not in text
    assert "<img" not in text
    assert "***" in text


def test_empty_dir_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no known result files") as info:
        render_report(tmp_path)
    assert info.value.file == str(tmp_path)


def test_write_report(tmp_path: Path) -> None:
    _write_r2oos(tmp_path)
    path = write_report(tmp_path)
    assert path == tmp_path / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    other = write_report(tmp_path, tmp_path / "out" / "r.html")
    assert other.exists()


def test_cli_function(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bondpremia.cli.report import report

    _write_r2oos(tmp_path)
    report(tmp_path)
    assert str(tmp_path / "report.html") in capsys.readouterr().out
    assert (tmp_path / "report.html").exists()
