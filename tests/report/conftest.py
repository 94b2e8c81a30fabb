"""Builders of run directories for the report tests (``bondpremia report RUN_DIR``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bondpremia.portfolio.sorts import SortResult

P_VALUES = {("ridge", "2"): 0.005, ("ridge", "EW"): 0.03, ("nn", "2"): 0.07, ("nn", "EW"): 0.5}
N_PORTFOLIOS = 5


def _dates(n: int = 24) -> pd.DatetimeIndex:
    return pd.date_range("2015-01-31", periods=n, freq="ME")


def write_r2oos(run: Path) -> None:
    """``r2oos.csv`` with one significance level per (model, maturity): ***, **, * and none (``P_VALUES``)."""
    rows = [{"model": m, "maturity": mat, "r2oos": 1.5, "cw_pvalue": p} for (m, mat), p in P_VALUES.items()]
    pd.DataFrame(rows).to_csv(run / "r2oos.csv", index=False)


def write_sorts(out: Path, char: str = "duration", n_months: int = 24, seed: int = 1) -> SortResult:
    """``sort_summary_<char>.csv`` (``SortResult.summary`` written with ``index_label="statistic"``, the documented
    format) and ``sort_returns_<char>.csv`` (index ``date``) for ``N_PORTFOLIOS`` portfolios and H-L."""
    rng = np.random.default_rng(seed)
    dates = pd.Index(_dates(n_months), name="date")
    ports = [float(p) for p in range(1, N_PORTFOLIOS + 1)]
    returns = pd.DataFrame(rng.normal(0.004, 0.02, (n_months, N_PORTFOLIOS)) + np.linspace(0, 0.004, N_PORTFOLIOS),
                           index=dates, columns=ports)
    returns.iloc[0] = np.nan  # holding-period warm-up month
    returns["H-L"] = returns[ports[-1]] - returns[ports[0]]
    counts = pd.DataFrame(rng.integers(20, 40, (n_months, N_PORTFOLIOS)), index=dates, columns=ports)
    result = SortResult(returns, counts, pd.DataFrame(index=dates))
    out.mkdir(parents=True, exist_ok=True)
    result.summary(lags=3).to_csv(out / f"sort_summary_{char}.csv", index_label="statistic")
    returns.to_csv(out / f"sort_returns_{char}.csv", index_label="date")
    return result


def build_run(run: Path) -> Path:
    """A run directory with every file type the report reads, in the sub-folders the commands write."""
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
    write_sorts(run / "sorts")
    tsy = run / "treasury"
    tsy.mkdir()
    write_r2oos(tsy)
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


@pytest.fixture(scope="session")
def run_builder() -> Callable[[Path], Path]:
    """:func:`build_run`: ``run_builder(path)`` fills ``path`` with every result file type and returns it."""
    return build_run


@pytest.fixture(scope="session")
def r2oos_writer() -> Callable[[Path], None]:
    """:func:`write_r2oos`: ``r2oos_writer(path)`` writes ``path/r2oos.csv``."""
    return write_r2oos


@pytest.fixture(scope="session")
def sorts_writer() -> Callable[..., SortResult]:
    """:func:`write_sorts`: ``sorts_writer(folder, char)`` writes the sort summary and returns of ``char``."""
    return write_sorts
