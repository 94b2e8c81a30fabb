"""The results protocol (bondpremia.results): every results object prints a summary, gives its table, has a one-line
repr and saves an atomic run folder with the files of its command. Expected values are computed here by hand."""

from __future__ import annotations

import json
from pathlib import Path

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


def _ipca_panel():
    """Two bonds, four months, one characteristic; returns r = 0.5 * c exactly, so one factor fits perfectly."""
    dates = pd.to_datetime(["2001-01-31", "2001-02-28", "2001-03-31", "2001-04-30"])
    c = np.array([[1.0, -1.0], [2.0, -0.5], [0.5, 1.5], [-1.0, 2.0]])
    rows = [{"id": b, "date": d, "c": c[t, i], "ret": 0.5 * c[t, i]}
            for t, d in enumerate(dates) for i, b in enumerate(["a", "b"])]
    return pd.DataFrame(rows)


def test_ipca_follows_the_protocol(tmp_path):
    from bondpremia.models import IPCA

    m = IPCA(n_factors=1, constant=False)
    assert repr(m) == "IPCA(n_factors=1, intercept=False, not fitted)"
    m.fit(_ipca_panel(), ret="ret", chars=["c"])
    assert isinstance(m, Results)
    # r = 0.5 c for every bond and month: the fit is exact (R² 1) with one instrument
    assert repr(m) == ("IPCA(n_factors=1, intercept=False, fitted: 4 months (2001-01..2001-04), 1 instruments, "
                       "r2_total=1.0000, r2_pred=1.0000)")
    s = m.summary()
    assert s.index.name == "statistic" and s.loc["n_months", "value"] == 4 and s.loc["constant", "value"] is False
    assert s["value"].to_dict() == m.fit_stats()
    assert m.to_frame() is m.factors_
    out = m.save(tmp_path / "k1", extra={"oos_start": "2001-03"})
    man = require_run(out, "ipca fit")
    assert man["rows"] == {"gamma.csv": 1, "factors.csv": 4}
    assert json.loads((out / "fit.json").read_text())["oos_start"] == "2001-03"
    # the product gamma * f is identified (not each): it is 0.5 every month
    g = pd.read_csv(out / "gamma.csv", index_col="characteristic")
    f = pd.read_csv(out / "factors.csv", index_col="date")
    np.testing.assert_allclose(g.loc["c", "f1"] * f["f1"].to_numpy(), 0.5, atol=1e-10)


def test_ipca_oos_and_bootstrap_results(tmp_path):
    from bondpremia.models import BootstrapResult, OOSResult

    factors = pd.DataFrame({"f1": [0.1, 0.3], "f2": [0.0, 0.2]},
                           index=pd.DatetimeIndex(["2010-01-31", "2010-02-28"], name="date"))
    oos = OOSResult(0.25, 0.05, 0.5, 0.1, factors, 1.5)
    assert isinstance(oos, Results)
    assert repr(oos) == "OOSResult(months=2 (2010-01..2010-02), factors=2, r2_total=0.2500, r2_pred=0.0500)"
    assert oos.summary()["value"].to_dict() == {"r2_total_oos": 0.25, "r2_pred_oos": 0.05, "r2_total_x_oos": 0.5,
                                                "r2_pred_x_oos": 0.1, "tangency_sharpe_oos": 1.5}
    out = oos.save(tmp_path / "oos")
    assert _manifest(out)["command"] == "ipca oos"
    assert json.loads((out / "oos.json").read_text())["tangency_sharpe_oos"] == 1.5
    back = pd.read_csv(out / "oos_factors.csv", index_col="date", parse_dates=True)
    pd.testing.assert_frame_equal(back, factors, check_freq=False)

    boot = BootstrapResult(2.0, np.array([1.0, 3.0, 0.5, 2.5]), 0.5)
    assert isinstance(boot, Results)
    assert repr(boot) == "BootstrapResult(statistic=2, pvalue=0.5000, draws=4)"
    assert boot.summary().to_dict("records") == [{"statistic": 2.0, "pvalue": 0.5, "n_draws": 4}]
    out = boot.save(tmp_path / "boot")
    assert _manifest(out)["rows"] == {"bootstrap.csv": 1, "draws.csv": 4}
    assert pd.read_csv(out / "draws.csv")["draw"].tolist() == [1.0, 3.0, 0.5, 2.5]


def test_test_statistics_are_one_row_results(tmp_path):
    from bondpremia.models.forecast.evaluation import CWResult, DMResult

    cw = CWResult(stat=2.0, pvalue=0.0228, mspe_adj=0.001, n=120)
    dm = DMResult(stat=-1.5, pvalue=0.1, mean_loss_diff=-0.002, n=60, lrv=0.0004)
    for res in (cw, dm):
        assert isinstance(res, Results)
    assert cw.summary().to_dict("records") == [{"stat": 2.0, "pvalue": 0.0228, "mspe_adj": 0.001, "n": 120}]
    assert list(dm.to_frame().columns) == ["stat", "pvalue", "mean_loss_diff", "n", "lrv", "lrv_method"]
    assert repr(cw) == "CWResult(stat=2.0, pvalue=0.0228, mspe_adj=0.001, n=120)"
    out = dm.save(tmp_path / "dm")
    assert _manifest(out)["command"] == "diebold-mariano test"
    assert pd.read_csv(out / "diebold_mariano.csv").to_dict("records") == [
        {"stat": -1.5, "pvalue": 0.1, "mean_loss_diff": -0.002, "n": 60, "lrv": 0.0004, "lrv_method": "rectangular"}]
    assert (cw.save(tmp_path / "cw") / "clark_west.csv").exists()


def test_backtest_result(tmp_path):
    from bondpremia.portfolio import signal_backtest

    idx = pd.date_range("2020-01-31", periods=4, freq="ME")
    res = signal_backtest(pd.Series([1.0, -1.0, 1.0, 1.0], index=idx), pd.Series([0.0, 0.02, 0.01, -0.01], index=idx))
    assert isinstance(res, Results) and res.to_frame() is res.returns
    # positions Feb +1, Mar -1, Apr +1: net 0.02, -0.01, -0.01; buy and hold 0.02, 0.01, -0.01
    assert repr(res) == "BacktestResult(periods=3 (2020-02..2020-04), holding=1, cost_bps=0.0, sizing=sign)"
    s = res.summary()
    assert list(s.columns) == ["strategy", "buy_and_hold"]
    assert s.loc["ann_return_arith", "strategy"] == pytest.approx(12 * 0.0 / 3)
    assert s.loc["ann_return_arith", "buy_and_hold"] == pytest.approx(12 * 0.02 / 3)
    drawn = []
    out = res.save(tmp_path / "bt", draw=lambda folder: drawn.append(sorted(p.name for p in folder.iterdir())))
    assert drawn == [["returns.csv", "stats.json"]]  # the figures are drawn inside the staged run
    man = require_run(out, "strategy backtest")
    assert man["options"] == {"holding": 1, "cost_bps": 0.0, "sizing": "sign"} and man["rows"] == {"returns.csv": 3}
    stats = json.loads((out / "stats.json").read_text())
    assert (stats["start"], stats["end"], stats["holding"]) == ("2020-02-29", "2020-04-30", 1)
    back = pd.read_csv(out / "returns.csv", index_col="date", parse_dates=True)
    np.testing.assert_allclose(back["net"], [0.02, -0.01, -0.01])


def test_econometrics_results(tmp_path):
    from bondpremia.econometrics import ARSignalFit, kalman_filter, rolling_regression

    x = np.array([0.0, 1.0, 3.0, 2.0, 5.0, 4.0])
    data = pd.DataFrame({"y": 1.0 + 2.0 * x, "x": x}, index=pd.date_range("2020-01-31", periods=6, freq="ME"))
    roll = rolling_regression("y ~ x", data, window=3)
    assert isinstance(roll, Results)
    assert repr(roll) == "RollingResult(windows=4, rows=6, coefficients=['Intercept', 'x'], cov='nonrobust')"
    s = roll.summary()  # y = 1 + 2x exactly: every window estimates (1, 2)
    np.testing.assert_allclose(s["mean"], [1.0, 2.0], atol=1e-9)
    np.testing.assert_allclose(s["last"], [1.0, 2.0], atol=1e-9)
    np.testing.assert_allclose(s["std"], [0.0, 0.0], atol=1e-9)
    frame = roll.to_frame()
    assert list(frame.columns) == ["observed", "predicted", "fitted", "nobs", "Intercept", "x", "se_Intercept",
                                   "se_x", "t_Intercept", "t_x"]
    np.testing.assert_allclose(frame["predicted"].iloc[3:], 1.0 + 2.0 * x[3:], atol=1e-9)
    out = roll.save(tmp_path / "roll")
    assert _manifest(out)["rows"] == {"rolling.csv": 6}

    # a = 1, no state noise, measurement variance 1, x0 ~ N(0, 1): after y1 = 2 the filtered mean is 1 (gain 1/2)
    kf = kalman_filter(np.array([2.0]), a=1.0, s_v=1.0, s_w=0.0, x0=0.0, p0=1.0)
    assert isinstance(kf, Results)
    assert kf.summary().to_dict("records")[0] | {"loglike": 0} == {
        "n": 1, "a": 1.0, "loglike": 0, "last_filtered": 1.0, "last_filtered_var": 0.5, "last_gain": 0.5}
    # y1 ~ N(0, 2): log density -0.5 (log(2 pi 2) + 4 / 2)
    assert kf.loglike == pytest.approx(-0.5 * (np.log(4 * np.pi) + 2.0))
    assert repr(kf).startswith("FilterResult(n=1, a=1, loglike=")
    assert (kf.save(tmp_path / "kf") / "kalman_filter.csv").exists()

    fit = ARSignalFit(0.9, 0.1, 0.2, pd.Series({"a": 0.01, "s_v": 0.02, "s_w": 0.03}), -5.0,
                      np.array([0.5, 0.6]), np.array([0.55, 0.6]))
    assert isinstance(fit, Results)
    assert fit.summary().to_dict("index") == {"a": {"estimate": 0.9, "std_error": 0.01},
                                              "s_v": {"estimate": 0.1, "std_error": 0.02},
                                              "s_w": {"estimate": 0.2, "std_error": 0.03}}
    assert repr(fit) == "ARSignalFit(a=0.9, s_v=0.1, s_w=0.2, loglike=-5, n=2)"
    out = fit.save(tmp_path / "ar")
    assert _manifest(out)["rows"] == {"ar_signal_params.csv": 3, "ar_signal.csv": 2}


def _every_result():
    """One of each results object (name, object, the command its manifest names, its files)."""
    from bondpremia.models import IPCA, BootstrapResult, OOSResult
    from bondpremia.models.forecast.evaluation import CWResult, DMResult

    factors = pd.DataFrame({"f1": [0.1, 0.3]}, index=pd.DatetimeIndex(["2010-01-31", "2010-02-28"]))
    ipca = IPCA(n_factors=1, constant=False).fit(_ipca_panel(), ret="ret", chars=["c"])
    return [
        ("ipca", ipca, "ipca fit", ["factors.csv", "fit.json", "gamma.csv"]),
        ("oos", OOSResult(0.1, 0.0, 0.2, 0.0, factors, 1.0), "ipca oos", ["oos.json", "oos_factors.csv"]),
        ("boot", BootstrapResult(1.0, np.array([0.5, 2.0]), 0.5), "ipca bootstrap", ["bootstrap.csv", "draws.csv"]),
        ("cw", CWResult(1.0, 0.2, 0.001, 10), "clark-west test", ["clark_west.csv"]),
        ("dm", DMResult(1.0, 0.2, 0.001, 10, 0.5), "diebold-mariano test", ["diebold_mariano.csv"]),
        ("sort", _sort(), "portfolio sort", None),
    ]


@pytest.mark.parametrize("case", range(6))
def test_every_save_names_its_command_and_replaces_a_foreign_folder_only_with_force(tmp_path, case):
    name, res, command, files = _every_result()[case]
    kwargs = {"characteristic": "x"} if name == "sort" else {}
    out = res.save(tmp_path / name, **kwargs)
    assert _manifest(out)["command"] == command
    if files is not None:
        assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, *files])
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not a bondpremia run folder"):
        res.save(mine, **kwargs)
    assert [p.name for p in mine.iterdir()] == ["keep.txt"]
    res.save(mine, force=True, **kwargs)
    assert "keep.txt" not in {p.name for p in mine.iterdir()}


def test_ipca_save_records_its_inputs_and_an_empty_oos_result_prints(tmp_path):
    from bondpremia.models import IPCA, OOSResult

    source = tmp_path / "panel.csv"
    _ipca_panel().to_csv(source, index=False)
    m = IPCA(n_factors=1, constant=False).fit(pd.read_csv(source, parse_dates=["date"]), ret="ret", chars=["c"])
    out = m.save(tmp_path / "run", inputs=[source])
    assert [Path(i["path"]).name for i in _manifest(out)["inputs"]] == ["panel.csv"]
    empty = OOSResult(np.nan, np.nan, np.nan, np.nan, pd.DataFrame({"f1": []}, index=pd.DatetimeIndex([])), np.nan)
    assert repr(empty) == "OOSResult(months=0 (no month), factors=1, r2_total=nan, r2_pred=nan)"
    assert empty.summary().index.name == "statistic"


def test_an_on_disk_clean_run_follows_the_protocol(tmp_path):
    from bondpremia.trace.pipeline import run_clean

    rows = [{"cusip_id": "00077TAA2", "trd_exctn_dt": "2013-03-04", "trd_exctn_tm": "10:00:00",
             "trd_rpt_dt": "2013-03-04", "msg_seq_nb": i, "trc_st": "T", "rptd_pr": 100.0 + i,
             "entrd_vol_qt": 1e5, "rpt_side_cd": "S", "cntra_mp_id": "C", "wis_fl": wis}
            for i, wis in ((1, "N"), (2, "Y"), (3, "N"))]
    rows.append({**rows[0], "msg_seq_nb": 4, "rptd_pr": -1.0})  # unparseable: a rejected row
    source = tmp_path / "raw.csv"
    pl.DataFrame(rows).write_csv(source)
    run = run_clean([source], None, tmp_path / "clean", steps=["when_issued"], executor="serial")
    assert isinstance(run, Results)
    assert run.summary()["rows_dropped"].tolist() == [1, 1]  # the negative price when parsing, the when-issued trade
    lazy = run.to_frame()
    assert isinstance(lazy, pl.LazyFrame) and lazy.collect()["msg_seq_nb"].to_list() == [1, 3]
    assert repr(run).startswith("CleanRun(trades=2 rows in ") and repr(run).endswith("steps=2, partitions=1)")
    loaded = run.load()
    assert loaded.trades.height == 2 and loaded.rejects.height == 1 and loaded.audit.equals(run.audit)
    out = run.save(tmp_path / "copy")
    man = require_run(out, "trace clean")
    assert man["rows"] == {"trades.parquet": 2, "rejects.parquet": 1, "audit.csv": 2}
    assert pl.read_parquet(out / "trades.parquet").equals(pl.read_parquet(run.trades))


def test_forecast_tables_follow_the_protocol(tmp_path):
    from bondpremia.models.forecast.outputs import ForecastTables, r2oos_stars

    r2 = pd.DataFrame({"model": ["cp", "cp", "rf", "rf"], "maturity": ["2", "EW", "2", "EW"],
                       "r2oos": [1.5, 2.0, -3.0, 4.0], "cw_pvalue": [0.2, 0.04, 0.9, 0.001]})
    fc = pd.DataFrame({"model": ["cp"], "date": pd.to_datetime(["2000-01-31"]), "forecast": [0.01]})
    tables = ForecastTables(r2, r2.iloc[:0], r2oos_stars(r2), None, None, fc)
    assert isinstance(tables, Results) and tables.to_frame() is r2
    # percent with two decimals; ** below 5%, *** below 1% (Clark-West p-values 0.04 and 0.001)
    assert tables.summary().loc["cp"].tolist() == ["1.50", "2.00**"]
    assert tables.summary().loc["rf"].tolist() == ["-3.00", "4.00***"]
    assert repr(tables) == "ForecastTables(models=['cp', 'rf'], maturities=2, importance=no, dm=no)"
    out = tables.save(tmp_path / "tsy")
    man = require_run(out, "treasury forecast")
    assert man["rows"] == {"r2oos.csv": 4, "r2oos_factors.csv": 0, "forecasts.parquet": 1, "importance.csv": 0}
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, "r2oos.csv", "r2oos_factors.csv",
                                                            "forecasts.parquet", "importance.csv"])  # no dm.csv
    assert pd.read_csv(out / "r2oos.csv")["r2oos"].tolist() == [1.5, 2.0, -3.0, 4.0]
    assert list(pd.read_csv(out / "importance.csv").columns) == ["model", "maturity", "predictor", "importance",
                                                                 "group", "share"]
