"""The demo chain (``bondpremia demo``): every stage's files, checked against the simulated truth, hand
computations and mathematical properties; the CLI; and the real-data variant on ``../shared/data``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from bondpremia.demo import DemoSizes, run_demo
from bondpremia.report.html import REPORT_SECTIONS

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# small enough for the default test run (about half a minute), large enough for every stage to have data
TINY = DemoSizes(bonds=200, trace_months=60, macro_series=16, ipca_factors=(1, 2, 3), treasury_oos_start="2005-01",
                 sort_chars=("duration", "rating"), models=("cp", "pcr3", "ridge_macro", "nn1_3"), n_seeds=2,
                 n_keep=1, n_trees=20, refit_every=60, retune_every=600)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return run_demo(out, sizes=TINY)


def test_every_stage_writes_its_files_and_the_report_has_every_section(demo_run):
    out = demo_run.out
    for rel in ("trace/sim/trace.parquet", "trace/clean/audit.csv", "trace/clean/trades.parquet",
                "trace/monthly/monthly.parquet", "characteristics/characteristics.parquet",
                "characteristics/coverage.csv", "ipca/k1/fit.json", "ipca/k3/factors.csv",
                "sorts/sort_summary_duration.csv", "sorts/sort_returns_rating.csv", "treasury/r2oos.csv",
                "treasury/forecasts.parquet", "taylor/returns.csv", "taylor/stats.json", "demo.json"):
        assert (out / rel).is_file(), rel
    from bondpremia.rundir import read_manifest

    assert read_manifest(out / "trace" / "sim")["command"] == "simulate trace"  # a run folder of its own
    html = demo_run.report.read_text()
    for section in REPORT_SECTIONS:
        assert f'id="{section}"' in html, section
    assert "http://" not in html and "https://" not in html  # self-contained
    saved = json.loads((out / "demo.json").read_text())
    assert saved["headline"]["characteristics"]["count"] == demo_run.headline["characteristics"]["count"]
    assert set(saved["seconds"]) >= {"total", "simulate TRACE messages", "HTML report"}


def test_trace_stage_recovers_the_simulated_truth(demo_run):
    """The cleaned trades are exactly the simulator's genuine trades (as a multiset of rows) and the monthly file
    is the simulator's truth bond-month by bond-month: an outer join, where a bond-month on one side only or a
    return null on one side only counts as a mismatch (the truth is computed by the simulator's own bond math,
    independently of bondpremia.trace)."""
    sim = demo_run.out / "trace" / "sim"
    truth = pl.read_parquet(sim / "truth_trades.parquet")
    clean = pl.read_parquet(demo_run.out / "trace" / "clean" / "trades.parquet").select(truth.columns)
    key = list(truth.columns)
    assert clean.sort(key, nulls_last=True).equals(truth.sort(key, nulls_last=True))
    audit = pd.read_csv(demo_run.out / "trace" / "clean" / "audit.csv")
    np.testing.assert_array_equal(audit["rows_in"], audit["rows_out"] + audit["rows_dropped"])
    np.testing.assert_array_equal(audit["rows_in"].to_numpy()[1:], audit["rows_out"].to_numpy()[:-1])

    monthly = pl.read_parquet(demo_run.out / "trace" / "monthly" / "monthly.parquet")
    true_m = pl.read_parquet(sim / "truth_monthly.parquet")
    both = monthly.join(true_m, on=["cusip_id", "date"], how="full", suffix="_true", coalesce=True)
    assert both.height == true_m.height == monthly.height
    for col in ("ret", "ret_end", "ret_start", "exret", "price", "accrued", "coupon_cash", "mv"):
        ours, theirs = both[col], both[f"{col}_true"]
        assert int((ours.is_null() != theirs.is_null()).sum()) == 0, f"{col}: null on one side only"
        gap = ((ours - theirs).abs() / theirs.abs().clip(lower_bound=1.0)).max()  # mv is in dollars: relative
        assert gap is None or gap < 1e-10, f"{col}: max |ours - truth| / max(1, |truth|) = {gap}"
    assert (both["ret_type"].fill_null("") == both["ret_type_true"].fill_null("")).all()
    # both kinds of return occur, so dropping either fallback shows up above
    assert set(both["ret_type"].drop_nulls().unique()) == {"end", "start"}
    assert demo_run.headline["trace"]["max_abs_return_error_vs_truth"] < 1e-10


def test_ipca_in_sample_r2_grows_with_k_and_oos_uses_later_months(demo_run):
    """IPCA's in-sample total R^2 is the optimum of a nested least-squares problem, so it cannot fall as K
    grows; the out-of-sample factors start at the recorded date."""
    fits = [json.loads((demo_run.out / "ipca" / f"k{k}" / "fit.json").read_text()) for k in TINY.ipca_factors]
    r2 = [f["r2_total"] for f in fits]
    assert all(b >= a - 1e-9 for a, b in zip(r2, r2[1:], strict=False)), r2
    assert all(0 < f["r2_total_oos"] < 1 for f in fits)
    # the out-of-sample period starts at the ipca_oos_share quantile of the months the in-sample fit kept
    factors = pd.read_csv(demo_run.out / "ipca" / "k1" / "factors.csv", index_col=0, parse_dates=True)
    expected = factors.index[int(len(factors) * TINY.ipca_oos_share)]
    assert factors.index.min() < expected
    assert [pd.Timestamp(f["oos_start"]) for f in fits] == [expected] * len(fits)


def test_sort_returns_match_a_hand_computed_month(demo_run):
    """Value-weighted duration quintiles formed at the end of month t earn the bonds' excess returns of t+1,
    weighted by the market value at the end of t: recomputed here with plain pandas for one month."""
    chars = pd.read_parquet(demo_run.out / "characteristics" / "characteristics.parquet")
    monthly = pl.read_parquet(demo_run.out / "trace" / "monthly" / "monthly.parquet").to_pandas()
    monthly = monthly.rename(columns={"cusip_id": "id"})[["id", "date", "exret", "mv"]]
    monthly["date"] = pd.to_datetime(monthly["date"])
    returns = pd.read_csv(demo_run.out / "sorts" / "sort_returns_duration.csv", index_col=0, parse_dates=True)
    t1 = returns.index[len(returns) // 2]
    t0 = t1 - pd.offsets.MonthEnd(1)
    form = chars.loc[chars["date"] == t0, ["id", "duration"]].merge(monthly[monthly["date"] == t0][["id", "mv"]],
                                                                    on="id").dropna()
    form = form[form["mv"] > 0]
    cuts = np.quantile(form["duration"], [0.2, 0.4, 0.6, 0.8])
    form["port"] = 1 + np.searchsorted(cuts, form["duration"].to_numpy(), side="left")
    nxt = form.merge(monthly[monthly["date"] == t1][["id", "exret"]], on="id").dropna(subset=["exret"])
    for p in (1, 5):
        g = nxt[nxt["port"] == p]
        expected = float((g["exret"] * g["mv"]).sum() / g["mv"].sum())
        assert returns.loc[t1, f"{p}.0"] == pytest.approx(expected, rel=1e-10, abs=1e-14)
    assert returns.loc[t1, "H-L"] == pytest.approx(returns.loc[t1, "5.0"] - returns.loc[t1, "1.0"], abs=1e-14)
    summary = pd.read_csv(demo_run.out / "sorts" / "sort_summary_duration.csv", index_col=0)
    assert summary.loc["mean", "H-L"] == pytest.approx(returns["H-L"].mean())


def test_treasury_r2oos_recomputed_from_the_saved_forecasts(demo_run):
    """R^2oos = 1 - sum (actual - model)^2 / sum (actual - benchmark)^2 over the forecast dates (Campbell and
    Thompson 2008), recomputed from forecasts.parquet."""
    fc = pd.read_parquet(demo_run.out / "treasury" / "forecasts.parquet")
    table = pd.read_csv(demo_run.out / "treasury" / "r2oos.csv", dtype={"maturity": str})
    for model in ("pcr3", "nn1_3"):
        g = fc[(fc["model"] == model) & (fc["maturity"].astype(str).str.upper() == "EW")].dropna(subset=["actual"])
        r2 = 100 * (1 - ((g["actual"] - g["forecast"]) ** 2).sum() / ((g["actual"] - g["benchmark"]) ** 2).sum())
        saved = table[(table["model"] == model) & (table["maturity"].str.upper() == "EW")]["r2oos"].iloc[0]
        assert saved == pytest.approx(r2, abs=1e-9)
        assert demo_run.headline["treasury"]["r2oos_ew_pct"][model] == pytest.approx(r2, abs=1e-9)
    # the default calibration's EW population R^2 is 0.36, as documented in bondpremia.simulate.term_structure
    # (to two digits); tests/simulate/test_term_structure.py checks the closed form against a 100,000-month sample
    assert demo_run.headline["treasury"]["population_r2_ew_pct"] == pytest.approx(36.0, abs=0.05)


def test_taylor_strategy_return_is_position_times_the_asset_return(demo_run):
    """Without costs the strategy's return over t+1 is sign(predicted - observed policy rate known at t) times
    the asset's return over t+1 (the signal is dated a publication month after its data)."""
    r = pd.read_csv(demo_run.out / "taylor" / "returns.csv", index_col=0, parse_dates=True)
    sig = np.sign(r["predicted"] - r["observed"]).shift(1)
    both = pd.concat([sig.rename("s"), r["asset_return"], r["net"]], axis=1).dropna()
    np.testing.assert_allclose(both["net"], both["s"] * both["asset_return"], atol=1e-15)
    stats = json.loads((demo_run.out / "taylor" / "stats.json").read_text())
    assert stats["publication_lag"] == 1 and stats["window"] == TINY.taylor_window


def test_cli_demo_runs_and_prints_the_report_path(run, tmp_path, monkeypatch):
    import bondpremia.demo as demo_module

    monkeypatch.setattr(demo_module, "QUICK_SIZES", TINY)
    code, out, err = run("demo", "--quick", "--out", str(tmp_path / "cli"), "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert Path(payload["report"]).is_file()
    assert "report:" in err
    assert payload["headline"]["trace"]["bond_months"] > 1000


def test_missing_real_data_folder_is_an_input_error(tmp_path):
    from bondpremia.errors import InputError

    with pytest.raises(InputError, match="real-data folder"):
        run_demo(tmp_path / "x", real_data=tmp_path / "nope", sizes=TINY)


@pytest.mark.realdata
@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")
def test_real_data_demo_uses_the_real_files(tmp_path):
    sizes = DemoSizes(bonds=200, trace_months=60, ipca_factors=(1, 2), sort_chars=("duration",),
                      models=("cp", "pcr3"), refit_every=1)
    res = run_demo(tmp_path / "real", real_data=SHARED, sizes=sizes)
    assert res.notes == []
    tr = res.headline["treasury"]
    assert tr["source"].startswith("Liu-Wu") and "population_r2_ew_pct" not in tr
    # Cochrane-Piazzesi's EW forecast is its first step, OLS of the average excess return on [1, f1..f5]; purged
    # timing: at forecast row p the training rows are 0 .. p - 12. Recomputed here by hand from the same data.
    assert tr["r2oos_ew_pct"]["cp"] == pytest.approx(_cp_purged_r2oos_ew(SHARED), abs=1e-8)
    assert res.headline["taylor"]["asset"] == "SHY" and res.headline["taylor"]["start"] >= "2002-08"
    coverage = pd.read_csv(tmp_path / "real" / "characteristics" / "coverage.csv", index_col=0)
    assert {"vix_beta", "default_spread", "term_spread"} <= set(coverage.columns)


def _cp_purged_r2oos_ew(shared: Path) -> float:
    """R^2oos (percent) of the Cochrane-Piazzesi EW forecast, 1990:01-2018:12 realizations, purged timing, against
    the expanding mean of the same training targets, as a plain loop over forecast dates."""
    from bondpremia.models.forecast import read_macro, read_yields, treasury_data

    macro, groups = read_macro(shared / "treasury" / "fredmd_2018-12.csv", start="1971-08", end="2018-12")
    data = treasury_data(read_yields(shared / "treasury" / "liuwu_monthly_196106-202512.csv"), macro, groups,
                         start="1971-08", end="2018-12")
    X = np.column_stack([np.ones(len(data.forwards)), data.forwards.to_numpy()[:, :5]])
    y = data.targets["EW"].to_numpy()
    dates = data.dates
    num = den = 0.0
    for p in np.flatnonzero((dates >= pd.Timestamp("1989-01-31")) & np.isfinite(y)):
        n = p - 11
        beta = np.linalg.lstsq(X[:n], y[:n], rcond=None)[0]
        num += (y[p] - X[p] @ beta) ** 2
        den += (y[p] - y[:n].mean()) ** 2
    return 100 * (1 - num / den)
