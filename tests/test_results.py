"""The results protocol (bondpremia.results): every results object prints a summary, gives its table, has a one-line
repr and saves an atomic run folder with the files of its command. Expected values are computed here by hand."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl
import pytest

from bondpremia.characteristics.build import CharacteristicsResult
from bondpremia.errors import InputError
from bondpremia.models.forecast.engine import ForecastRun
from bondpremia.portfolio.sorts import SortResult
from bondpremia.results import Results, save_tables
from bondpremia.rundir import MANIFEST, require_run
from bondpremia.trace.clean import clean_trades


def _manifest(folder):
    return json.loads((folder / MANIFEST).read_text())


def test_clean_result(tmp_path):
    rows = [{"cusip_id": "00077TAA2", "trd_exctn_dt": "2013-03-04", "trd_exctn_tm": "10:00:00",
             "trd_rpt_dt": "2013-03-04", "msg_seq_nb": i, "trc_st": "T", "rptd_pr": 100.0 + i,
             "entrd_vol_qt": 1e5, "rpt_side_cd": "S", "cntra_mp_id": "C", "wis_fl": wis}
            for i, wis in ((1, "N"), (2, "Y"), (3, "N"))]
    rows.append({**rows[0], "msg_seq_nb": 4, "rptd_pr": -1.0})
    res = clean_trades(pl.DataFrame(rows), steps=["when_issued"])
    assert isinstance(res, Results)
    assert res.to_frame()["msg_seq_nb"].to_list() == [1, 3]
    audit = res.summary()
    assert isinstance(audit, pd.DataFrame)
    assert audit["rows_dropped"].tolist() == [1, 1]  # the negative price when parsing, the when-issued trade
    assert repr(res) == "CleanResult(trades=2 rows, steps=2, rejects=1 rows)"
    out = res.save(tmp_path / "clean")
    assert require_run(out, "trace clean")["rows"] == {"trades.parquet": 2, "audit.csv": 2, "rejects.parquet": 1}
    assert pl.read_parquet(out / "trades.parquet").equals(res.trades)
    assert pl.read_csv(out / "audit.csv")["rows_dropped"].to_list() == [1, 1]
    assert pl.read_parquet(out / "rejects.parquet")["msg_seq_nb"].to_list() == [4]


def test_clean_result_save_replaces_only_with_force(tmp_path):
    rows = [{"cusip_id": "00077TAA2", "trd_exctn_dt": "2013-03-04", "trd_exctn_tm": "10:00:00",
             "trd_rpt_dt": "2013-03-04", "msg_seq_nb": i, "trc_st": "T", "rptd_pr": 100.0,
             "entrd_vol_qt": 1e5, "rpt_side_cd": "S", "cntra_mp_id": "C", "wis_fl": "N"} for i in (1, 2, 3)]
    first = clean_trades(pl.DataFrame(rows), steps=["when_issued"])
    second = clean_trades(pl.DataFrame(rows[:1]), steps=["when_issued"])
    out = first.save(tmp_path / "clean")
    second.save(out)  # an earlier run folder is replaced as a whole
    assert pl.read_parquet(out / "trades.parquet").height == 1
    assert _manifest(out)["rows"] == {"trades.parquet": 1, "audit.csv": 2, "rejects.parquet": 0}
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not a bondpremia run folder"):
        first.save(mine)
    first.save(mine, force=True)  # a foreign folder only with force
    assert sorted(p.name for p in mine.iterdir()) == sorted([MANIFEST, "trades.parquet", "audit.csv",
                                                             "rejects.parquet"])
    assert _manifest(mine)["command"] == "trace clean"


def _sort() -> SortResult:
    dates = pd.date_range("2020-01-31", periods=3, freq="ME")
    returns = pd.DataFrame({"1": [np.nan, 0.01, 0.03], "2": [np.nan, 0.02, 0.01], "H-L": [np.nan, 0.01, -0.02]},
                           index=dates)
    counts = pd.DataFrame({"1": [0, 5, 4], "2": [0, 6, 5]}, index=dates)
    return SortResult(returns, counts, pd.DataFrame(index=dates))


def test_sort_result(tmp_path):
    res = _sort()
    assert isinstance(res, Results)
    long = res.to_frame()
    assert list(long.columns) == ["date", "portfolio", "ret", "count"]
    assert long["ret"].tolist() == [0.01, 0.02, 0.01, 0.03, 0.01, -0.02]
    assert long["count"].tolist()[:2] == [5, 6] and np.isnan(long["count"].iloc[2])  # H-L has no count
    assert repr(res) == "SortResult(portfolios=['1', '2', 'H-L'], months=2 (2020-02..2020-03))"
    out = res.save(tmp_path / "sort", characteristic="duration", lags=0)
    assert _manifest(out)["command"] == "portfolio sort"
    summary = pd.read_csv(out / "sort_summary_duration.csv", index_col=0)
    np.testing.assert_allclose(summary.loc["mean"].to_numpy(), [0.02, 0.015, -0.005])


def test_characteristics_result(tmp_path):
    panel = pd.DataFrame({"id": ["a", "b", "a"], "date": pd.to_datetime(["2020-01-31"] * 2 + ["2020-02-29"]),
                          "size": [1.0, np.nan, 2.0], "exret_next": [0.01, 0.0, np.nan]})
    coverage = pd.DataFrame({"size": [0.5, 1.0], "vix": [0.0, 0.0]}, index=pd.to_datetime(["2020-01-31",
                                                                                         "2020-02-29"]))
    coverage.index.name = "date"
    res = CharacteristicsResult(panel, coverage, ["size", "vix"], missing={"vix": ["VIX file"]})
    assert isinstance(res, Results) and res.to_frame() is panel
    s = res.summary()
    assert s["coverage"].tolist() == [0.75, 0.0] and s["missing_inputs"].tolist() == ["", "VIX file"]
    assert repr(res) == "CharacteristicsResult(2 characteristics, 3 bond-months, 2 months, 1 not built)"
    out = res.save(tmp_path / "chars")
    pd.testing.assert_frame_equal(pd.read_parquet(out / "characteristics.parquet"), panel)
    back = pd.read_csv(out / "coverage.csv", index_col="date", parse_dates=True)
    pd.testing.assert_frame_equal(back, coverage, check_freq=False)


def test_forecast_run(tmp_path):
    dates = pd.to_datetime(["2000-01-31", "2000-02-29", "2000-03-31"])
    f = pd.DataFrame({"model": "ols", "date": dates, "target_date": dates + pd.offsets.MonthEnd(12),
                      "maturity": "EW", "forecast": [0.02, 0.00, 0.01], "actual": [0.03, -0.01, np.nan],
                      "benchmark": [0.01, 0.01, 0.01], "n_train": [60, 61, 62]})
    run = ForecastRun(forecasts=f, importance=None)
    assert isinstance(run, Results) and run.to_frame() is f
    # rows with a realized return: errors 0.01, -0.01 against the mean's 0.02, -0.02: 1 - 0.0002 / 0.0008
    s = run.summary()
    assert s.loc[("ols", "EW"), "n"] == 2
    assert s.loc[("ols", "EW"), "r2oos"] == pytest.approx(0.75, abs=1e-12)
    assert repr(run) == "ForecastRun(models=['ols'], dates=3 (2000-01..2000-03), maturities=1, importance=no)"
    out = run.save(tmp_path / "fc")
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "forecasts.parquet"]
    pd.testing.assert_frame_equal(pd.read_parquet(out / "forecasts.parquet"), f)
    assert _manifest(out)["command"] == "treasury forecast"


def test_forecast_run_several_models_and_importance(tmp_path):
    dates = pd.to_datetime(["2001-05-31", "2001-06-30", "2001-05-31", "2001-06-30"])
    rows = []
    # written in the order tree, ols so the summary keeps the order of first appearance (not sorted)
    for model, maturity, fc in (("tree", "2y", [0.01, 0.03]), ("tree", "5y", [0.00, 0.02]),
                                ("ols", "2y", [0.02, 0.02]), ("ols", "5y", [0.01, 0.01])):
        for d, x in zip(dates[:2], fc, strict=True):
            rows.append({"model": model, "date": d, "target_date": d + pd.offsets.MonthEnd(12),
                         "maturity": maturity, "forecast": x, "actual": 0.02, "benchmark": 0.0, "n_train": 60})
    f = pd.DataFrame(rows)
    f.loc[(f["model"] == "ols") & (f["maturity"] == "5y") & (f["date"] == dates[1]), "actual"] = np.nan
    f["comment"] = [None] * 7 + ["a user's note"]  # a missing value in another column does not drop a forecast
    imp = pd.DataFrame({"model": ["tree", "tree"], "maturity": ["2y", "2y"], "predictor": ["f2", "f5"],
                        "importance": [0.7, 0.3]})
    run = ForecastRun(forecasts=f, importance=imp)
    s = run.summary()
    assert list(s.index) == [("tree", "2y"), ("tree", "5y"), ("ols", "2y"), ("ols", "5y")]
    assert s["n"].tolist() == [2, 2, 2, 1]
    # errors against actual 0.02: tree 2y (0.01, -0.01) against the zero benchmark's (0.02, 0.02)
    expected = [1 - 0.0002 / 0.0008, 1 - (0.0004 + 0) / 0.0008, 1.0, 1 - 0.0001 / 0.0004]
    np.testing.assert_allclose(s["r2oos"].to_numpy(), expected, atol=1e-12)
    assert repr(run) == ("ForecastRun(models=['tree', 'ols'], dates=2 (2001-05..2001-06), maturities=2, "
                         "importance=yes)")
    out = run.save(tmp_path / "fc")
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, "forecasts.parquet", "importance.csv"])
    man = _manifest(out)
    assert man["command"] == "treasury forecast"
    assert man["rows"] == {"forecasts.parquet": 8, "importance.csv": 2}
    pd.testing.assert_frame_equal(pd.read_parquet(out / "forecasts.parquet"), f)
    pd.testing.assert_frame_equal(pd.read_csv(out / "importance.csv"), imp)
    ForecastRun(forecasts=f.iloc[:1], importance=None).save(out)  # replaced as a whole: no stale importance
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "forecasts.parquet"]
    assert _manifest(out)["rows"] == {"forecasts.parquet": 1}
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not a bondpremia run folder"):
        run.save(mine)
    run.save(mine, force=True)
    assert "keep.txt" not in {p.name for p in mine.iterdir()}


def test_forecast_run_repr_with_no_forecast():
    empty = pd.DataFrame({c: [] for c in ("model", "date", "maturity", "forecast", "actual", "benchmark")})
    empty["date"] = pd.to_datetime(empty["date"])
    assert repr(ForecastRun(forecasts=empty, importance=None)) == (
        "ForecastRun(models=[], dates=0 (no date), maturities=0, importance=no)")


def test_save_is_atomic_and_refuses_a_foreign_folder(tmp_path):
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not a bondpremia run folder"):
        _sort().save(mine)
    assert [p.name for p in mine.iterdir()] == ["keep.txt"]

    class Broken:
        def __len__(self):
            return 1

        def write_parquet(self, path):
            raise OSError("disk full")

    with pytest.raises(OSError):
        save_tables(tmp_path / "x", "test", {"a.parquet": pd.DataFrame({"a": [1]}), "b.parquet": Broken()})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]  # nothing half-written left
