"""Stage runners (bondpremia.stages): configs refuse bad values naming the command's option and give the manifest's
options; each runner writes its command's files and manifest on small simulated data, with numbers recomputed here
independently of the runner (the stage's own functions called by hand, or the formula)."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from bondpremia.errors import InputError, MissingInputWarning
from bondpremia.rundir import MANIFEST, read_manifest
from bondpremia.stages import (
    CharacteristicsConfig,
    ForecastConfig,
    IPCAConfig,
    ReplicateConfig,
    SimulateTraceConfig,
    SimulateTreasuryConfig,
    SortConfig,
    TaylorConfig,
    TraceCleanConfig,
    TraceMonthlyConfig,
    run_characteristics_build,
    run_ipca_fit,
    run_portfolio_sort,
    run_simulate_trace,
    run_simulate_treasury,
    run_strategy_taylor,
    run_trace_clean,
    run_trace_monthly,
    run_treasury_forecast,
    run_treasury_replicate,
)

# -- configs -------------------------------------------------------------------------------------------------------

BAD = [
    (lambda: TraceCleanConfig(workers=0), "--workers", "must be at least 1"),
    (lambda: TraceCleanConfig(rows_per_partition=0), "--rows-per-partition", "must be at least 1"),
    (lambda: TraceCleanConfig(steps="dn14_cancel,dn14_cancel"), "--steps", "given twice"),
    (lambda: TraceCleanConfig(steps=("no_such_step",)), "--steps", "unknown cleaning step"),
    (lambda: TraceCleanConfig(preset="nope"), "--preset", "unknown preset"),
    (lambda: TraceCleanConfig(executor="cloud"), "--executor", "must be one of"),
    (lambda: TraceCleanConfig(wrds=True), "--wrds", "--start and --end"),
    (lambda: TraceMonthlyConfig(method="middle"), "--method", "end, start or both"),
    (lambda: TraceMonthlyConfig(price="mid"), "--price", "prc_vw_par"),
    (lambda: CharacteristicsConfig(ret_unit="furlongs"), "--ret-unit", "must be one of percent, decimal"),
    (lambda: CharacteristicsConfig(bom_timing="later"), "--bom-timing", "must be one of"),
    (lambda: CharacteristicsConfig(winsor=0.7), "--winsor", "in [0.0, 0.5]"),
    (lambda: CharacteristicsConfig(winsor=0.5), "--winsor", "below 0.5"),
    (lambda: CharacteristicsConfig(alternatives=("var7",)), "--alternative", "must be one of"),
    (lambda: IPCAConfig(factors=0), "--factors", "must be at least 1"),
    (lambda: IPCAConfig(factors=1.5), "--factors", "whole number"),  # type: ignore[arg-type]
    (lambda: IPCAConfig(factors=1, bootstrap=-5), "--bootstrap", "must be at least 0"),
    (lambda: IPCAConfig(factors=1, bootstrap=10), "--bootstrap", "needs --intercept"),
    (lambda: IPCAConfig(factors=1, oos_start="13th month"), "--oos-start", "use YYYY-MM"),
    (lambda: IPCAConfig(factors=1, chars="a,a"), "--chars", "given twice"),  # type: ignore[arg-type]
    (lambda: SortConfig(chars=" , "), "--char", "no characteristic"),  # type: ignore[arg-type]
    (lambda: SortConfig(chars=("x",), n=1), "--n", "must be at least 2"),
    (lambda: SortConfig(chars=("x",), holding=0), "--holding", "must be at least 1"),
    (lambda: SortConfig(chars=("x",), lags=-3), "--lags", "must be at least 0"),
    (lambda: ForecastConfig(models=()), "--models", "no model given"),
    (lambda: ForecastConfig(trees=0), "--trees", "must be at least 1"),
    (lambda: ForecastConfig(seed=-1), "--seed", "must be at least 0"),
    (lambda: ForecastConfig(seeds=5, keep=6), "--keep", "between 1 and 5"),
    (lambda: ForecastConfig(timing="later"), "--timing", "must be one of purged, bbt"),
    (lambda: ForecastConfig(oos_start="13th month"), "--oos-start", "use YYYY-MM"),
    (lambda: ForecastConfig(refit_overrides=(("cp", 0),)), "--refit-every", "must be at least 1"),
    (lambda: TaylorConfig(window=2), "--window", "must be at least 4"),
    (lambda: TaylorConfig(publication_lag=-1), "--publication-lag", "must be at least 0"),
    (lambda: TaylorConfig(cost_bps=-5), "--cost-bps", "must be at least 0.0"),
    (lambda: SimulateTraceConfig(bonds=0), "--bonds", "must be at least 1"),
    (lambda: SimulateTraceConfig(months=0), "--months", "must be at least 1"),
    (lambda: SimulateTraceConfig(seed=-1), "--seed", "must be at least 0"),
    (lambda: SimulateTraceConfig(start="June 2011"), "--start", "use YYYY-MM"),
    (lambda: SimulateTraceConfig(trades_per_bond_month=0), "--trades-per-bond-month", "must be a positive number"),
    (lambda: SimulateTreasuryConfig(months=0), "--months", "must be at least 1"),
    (lambda: SimulateTreasuryConfig(series=7), "--series", "at least 8 (one series per group)"),
    (lambda: SimulateTreasuryConfig(seed=-1), "--seed", "must be at least 0"),
    (lambda: SimulateTreasuryConfig(start="13th month"), "--start", "use YYYY-MM"),
    (lambda: ReplicateConfig(table=3), "--table", "must be 1 or 2"),
    (lambda: ReplicateConfig(timing="late"), "--timing", "must be bbt, purged or both"),
    (lambda: ReplicateConfig(models=" , "), "--models", "no model given"),  # type: ignore[arg-type]
    (lambda: ReplicateConfig(models="ols,OLS"), "--models", "given twice"),  # type: ignore[arg-type]
    (lambda: ReplicateConfig(seeds=0), "--seeds", "must be at least 1"),
    (lambda: ReplicateConfig(seeds=5, keep=6), "--keep", "between 1 and 5"),
    (lambda: ReplicateConfig(trees=0), "--trees", "must be at least 1"),
    (lambda: ReplicateConfig(retune_every=0), "--retune-every", "must be at least 1"),
    (lambda: ReplicateConfig(gamma=0), "--gamma", "must be a positive number"),
    (lambda: ReplicateConfig(seed=-1), "--seed", "must be at least 0"),
    (lambda: ReplicateConfig(oos_start="13th month"), "--oos-start", "use YYYY-MM"),
]


@pytest.mark.parametrize(("make", "option", "fragment"), BAD, ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_a_bad_config_value_names_the_option(make, option, fragment):
    with pytest.raises(InputError) as info:
        make()
    assert info.value.column == option and fragment in str(info.value), str(info.value)
    assert str(info.value).startswith(f"'{option}'")


def test_configs_are_frozen_and_normalize_their_fields():
    config = TraceCleanConfig(steps=" dn14_cancel , dn14_reversal ", skip="")  # type: ignore[arg-type]
    assert config.steps == ("dn14_cancel", "dn14_reversal") and config.skip == ()
    with pytest.raises(AttributeError):
        config.workers = 3  # type: ignore[misc]
    assert IPCAConfig(factors=2.0, chars="a, b").factors == 2  # type: ignore[arg-type]
    assert IPCAConfig(factors=1, chars="a, b").chars == ("a", "b")  # type: ignore[arg-type]
    assert SortConfig(chars="duration,rating,duration").chars == ("duration", "rating")  # type: ignore[arg-type]
    assert ForecastConfig(models="cp, pcr3").models == ("cp", "pcr3")  # type: ignore[arg-type]
    assert ForecastConfig(refit_every=12, refit_overrides=(("cp", 1),)).refit("cp") == 1
    assert ForecastConfig(refit_every=12, refit_overrides=(("cp", 1),)).refit("pcr3") == 12
    assert SimulateTraceConfig(bonds=10.0).bonds == 10  # type: ignore[arg-type]
    assert SimulateTraceConfig(trades_per_bond_month=3).trades_per_bond_month == 3.0
    config = ReplicateConfig(timing=" BBT ", models="PCR3, ols")  # type: ignore[arg-type]
    assert (config.timing, config.timings, config.models) == ("bbt", ("bbt",), ("pcr3", "ols"))
    assert ReplicateConfig().timings == ("bbt", "purged") and ReplicateConfig().models is None
    assert ReplicateConfig(models=("ols",)).model_names() == ["ols"]
    assert ReplicateConfig(table=2).model_names()[0] == "ln"  # every row of Table 2


def test_as_options_are_the_manifest_options_of_the_commands():
    assert TraceCleanConfig(skip=("dn14_cancel",)).as_options() == {
        "preset": "bbw2019", "skip": "dn14_cancel", "steps": None, "executor": "local", "workers": 2,
        "rows_per_partition": 500_000, "memory_limit": "1GB", "wrds": False, "start": None, "end": None}
    assert TraceMonthlyConfig(method="end").as_options() == {"method": "end", "price": "prc_vw_par",
                                                             "no_excess": False}
    assert CharacteristicsConfig(rank=True, ret_unit="decimal", alternatives=("var5",)).as_options() == {
        "rank": True, "winsor": None, "units": {"ret": "decimal"}, "corporate_index": False, "bom_timing": "ice_bom",
        "universe": None, "alternatives": ["var5"], "strict": False}
    assert IPCAConfig(factors=3, oos_start="2017-06").as_options() == {
        "factors": 3, "intercept": False, "constant": True, "oos_start": "2017-06", "bootstrap": 0, "ret": "ret",
        "chars": None, "seed": 0, "drop_singular_months": False}
    assert SortConfig(chars=("duration",), weight="mv").as_options() == {
        "char": ["duration"], "n": 5, "ret": "ret", "weight": "mv", "holding": 1, "lags": None}
    options = ForecastConfig(models=("cp",)).as_options()
    assert options["models"] == ["cp"] and "refit_overrides" not in options and "figures" not in options
    assert ForecastConfig(models=("cp",), refit_overrides=(("cp", 1),)).as_options()["refit_overrides"] == {"cp": 1}
    assert TaylorConfig(window=24).as_options() == {"window": 24, "publication_lag": 1, "cost_bps": 0.0}
    assert SimulateTraceConfig(bonds=12).as_options() == {"bonds": 12, "months": 24, "seed": 0, "start": "2011-06",
                                                          "trades_per_bond_month": 8.0}
    assert SimulateTreasuryConfig(linear=True).as_options() == {"months": 600, "series": 100, "seed": 0,
                                                                "start": "1971-08", "linear": True}
    assert ReplicateConfig(models=("pcr3",)).as_options() == {
        "table": 1, "timing": "both", "models": ["pcr3"], "start": "1971-08", "end": "2018-12", "oos_start": "1990-01",
        "seeds": 100, "keep": 10, "trees": 300, "retune_every": 60, "gamma": 5.0, "seed": 0}


# -- TRACE -----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> tuple[Path, dict]:
    from bondpremia.simulate.trace import write_simulated_trace

    folder = tmp_path_factory.mktemp("stages") / "sim"
    info = write_simulated_trace(folder, n_bonds=30, n_months=8, seed=3)
    return folder, info


@pytest.fixture(scope="module")
def cleaned(sim, tmp_path_factory):
    folder, _ = sim
    out = tmp_path_factory.mktemp("clean") / "clean"
    run = run_trace_clean([folder / "trace.parquet"], folder / "fisd.parquet", out,
                          TraceCleanConfig(executor="serial"))
    return out, run


def test_trace_clean_runner_writes_the_command_folder_and_recovers_the_genuine_trades(sim, cleaned):
    folder, info = sim
    out, run = cleaned
    assert {p.name for p in out.iterdir()} == {"trades.parquet", "audit.csv", "rejects.parquet", MANIFEST}
    manifest = read_manifest(out)
    assert manifest["command"] == "trace clean"
    assert manifest["options"] == TraceCleanConfig(executor="serial").as_options()
    assert {Path(i["path"]).name for i in manifest["inputs"]} == {"trace.parquet", "fisd.parquet"}
    assert run.trades == out / "trades.parquet" and run.trades.is_file()  # the final folder, not the staging one
    assert int(run.audit["rows_in"][0]) == info["messages"] == manifest["rows"]["input"]
    truth = pl.read_parquet(folder / "truth_trades.parquet")
    trades = pl.read_parquet(run.trades).select(truth.columns)
    key = list(truth.columns)
    assert trades.sort(key, nulls_last=True).equals(truth.sort(key, nulls_last=True))
    assert manifest["rows"]["trades.parquet"] == truth.height


def test_trace_monthly_runner_matches_the_simulated_truth(sim, cleaned, tmp_path):
    folder, _ = sim
    clean_out, _ = cleaned
    out = tmp_path / "monthly"
    res = run_trace_monthly(clean_out, folder / "fisd.parquet", out, rates=folder / "rates.parquet",
                            amount_outstanding=folder / "fisd_amt_out.parquet")
    assert {p.name for p in out.iterdir()} == {"daily.parquet", "monthly.parquet", MANIFEST}
    manifest = read_manifest(out)
    assert manifest["command"] == "trace monthly"
    assert manifest["options"]["rates_source"] == "--rates" and manifest["options"]["method"] == "both"
    assert manifest["rows"] == {"daily.parquet": res.daily.height, "monthly.parquet": res.monthly.height}
    assert pl.read_parquet(out / "monthly.parquet").equals(res.monthly)
    truth = pl.read_parquet(folder / "truth_monthly.parquet")
    both = res.monthly.join(truth, on=["cusip_id", "date"], how="full", suffix="_true", coalesce=True)
    assert both.height == truth.height
    for col in ("ret", "exret"):
        gap = (both[col] - both[f"{col}_true"]).abs().max()
        assert gap is not None and gap < 1e-10, col  # type: ignore[operator]


def test_trace_monthly_runner_needs_rates_and_refuses_a_contradiction(cleaned, sim, tmp_path):
    folder, _ = sim
    clean_out, _ = cleaned
    with pytest.raises(InputError, match="needs --rates"):
        run_trace_monthly(clean_out, folder / "fisd.parquet", tmp_path / "m")
    with pytest.raises(InputError, match="contradict"):
        run_trace_monthly(clean_out, folder / "fisd.parquet", tmp_path / "m", TraceMonthlyConfig(no_excess=True),
                          rates=folder / "rates.parquet")
    assert not (tmp_path / "m").exists()


def test_the_trace_runners_check_their_inputs_against_the_contracts(sim, cleaned, tmp_path):
    """A FISD reference without a column of the bond screens or the bond terms, a rates file without rf, a trades
    file without prices: one InputError naming the file, before any work (nothing written)."""
    folder, _ = sim
    clean_out, _ = cleaned
    fisd = pl.read_parquet(folder / "fisd.parquet")
    fisd.drop("bond_type").write_parquet(tmp_path / "no_type.parquet")
    with pytest.raises(InputError, match=r"is not a FISD \(bond screens\) table: missing columns \['bond_type'\]"
                       ) as info:
        run_trace_clean([folder / "trace.parquet"], tmp_path / "no_type.parquet", tmp_path / "c",
                        TraceCleanConfig(executor="serial"))
    assert info.value.file == str(tmp_path / "no_type.parquet") and not (tmp_path / "c").exists()
    fisd.drop("coupon").rename({"complete_cusip": "CUSIP_ID"}).write_parquet(tmp_path / "no_coupon.parquet")
    with pytest.raises(InputError, match=r"FISD \(bond terms\) table: missing columns \['coupon'\]") as info:
        run_trace_monthly(clean_out, tmp_path / "no_coupon.parquet", tmp_path / "m", rates=folder / "rates.parquet")
    assert info.value.file == str(tmp_path / "no_coupon.parquet")
    pl.read_parquet(folder / "rates.parquet").rename({"rf": "tbill"}).write_parquet(tmp_path / "rates.parquet")
    with pytest.raises(InputError, match=r"is not a rates table: missing columns \['rf'\]") as info:
        run_trace_monthly(clean_out, folder / "fisd.parquet", tmp_path / "m", rates=tmp_path / "rates.parquet")
    assert info.value.file == str(tmp_path / "rates.parquet")
    broken = tmp_path / "broken"
    shutil.copytree(clean_out, broken)
    pl.read_parquet(broken / "trades.parquet").drop("rptd_pr").write_parquet(broken / "trades.parquet")
    with pytest.raises(InputError, match=r"is not a trades table: missing columns \['rptd_pr'\]") as info:
        run_trace_monthly(broken, folder / "fisd.parquet", tmp_path / "m", rates=folder / "rates.parquet")
    assert info.value.file == str(broken / "trades.parquet") and not (tmp_path / "m").exists()


def test_trace_monthly_names_the_file_and_row_of_a_bad_fisd_date_or_rate(sim, cleaned, tmp_path):
    """A FISD date that is not YYYY-MM-DD (it used to end in polars' InvalidOperationError) and a rate in percent:
    one InputError naming the file, column and row of the input as given (a row without a CUSIP before it
    counts)."""
    folder, _ = sim
    clean_out, _ = cleaned
    fisd = pl.read_parquet(folder / "fisd.parquet").with_columns(pl.col("maturity").cast(pl.String))
    blank = fisd.head(1).with_columns(pl.lit(None, pl.String).alias("complete_cusip"))  # left out, but a row
    bad = pl.concat([blank, fisd]).with_columns(
        pl.when(pl.int_range(pl.len()) == 4).then(pl.lit("2030/01/15")).otherwise(pl.col("maturity"))
        .alias("maturity"))
    bad.write_parquet(tmp_path / "fisd.parquet")
    with pytest.raises(InputError) as info:
        run_trace_monthly(clean_out, tmp_path / "fisd.parquet", tmp_path / "m", rates=folder / "rates.parquet")
    assert (info.value.file, info.value.column, info.value.row) == (str(tmp_path / "fisd.parquet"), "maturity", 4)
    assert info.value.reason == "FISD reference: '2030/01/15' is not a date (expected YYYY-MM-DD)"
    rates = pl.read_parquet(folder / "rates.parquet")
    rates.with_columns(pl.col("rf") * 100).write_parquet(tmp_path / "pct.parquet")
    with pytest.raises(InputError, match="not a monthly return in decimals") as info:
        run_trace_monthly(clean_out, folder / "fisd.parquet", tmp_path / "m", rates=tmp_path / "pct.parquet")
    assert (info.value.file, info.value.column, info.value.row) == (str(tmp_path / "pct.parquet"), "rf", 0)
    assert not (tmp_path / "m").exists()


def test_characteristics_runner_checks_a_trace_monthly_panel(sim, cleaned, tmp_path):
    """monthly.parquet of a trace monthly run is checked against the MONTHLY contract: a retyped column is named
    with the file; the intact panel builds."""
    folder, _ = sim
    clean_out, _ = cleaned
    out = tmp_path / "m"
    run_trace_monthly(clean_out, folder / "fisd.parquet", out, rates=folder / "rates.parquet")
    with pytest.warns(MissingInputWarning):  # the 8-month panel lacks most KPP inputs
        run_characteristics_build(out / "monthly.parquet", tmp_path / "c")
    monthly = pl.read_parquet(out / "monthly.parquet")
    monthly.with_columns(pl.col("mv").cast(pl.String)).write_parquet(out / "monthly.parquet")
    with pytest.raises(InputError, match="is not a monthly table: mv is String, expected Float64") as info:
        run_characteristics_build(out / "monthly.parquet", tmp_path / "c2")
    assert info.value.file == str(out / "monthly.parquet") and not (tmp_path / "c2").exists()


def test_tidyfinance_trades_go_through_trace_monthly(sim, tmp_path):
    """The tidyfinance preset keeps no message numbers; trace monthly used to stop on them. Its monthly returns of
    the bond-months whose trades are the genuine ones equal the simulated truth."""
    folder, _ = sim
    clean = tmp_path / "clean"
    run_trace_clean([folder / "trace.parquet"], folder / "fisd.parquet", clean,
                    TraceCleanConfig(preset="tidyfinance", executor="serial"))
    assert "msg_seq_nb" not in pl.read_parquet_schema(clean / "trades.parquet")
    res = run_trace_monthly(clean, folder / "fisd.parquet", tmp_path / "m", rates=folder / "rates.parquet",
                            amount_outstanding=folder / "fisd_amt_out.parquet")
    truth = pl.read_parquet(folder / "truth_monthly.parquet")
    both = res.monthly.join(truth, on=["cusip_id", "date"], suffix="_true").drop_nulls(["ret", "ret_true"])
    assert both.height > 0.5 * truth.drop_nulls("ret").height
    same = both.filter((pl.col("ret") - pl.col("ret_true")).abs() < 1e-10)
    assert same.height > 0.5 * both.height  # 72 of 97 here: the preset's filters differ (docs/trace.md)


def test_simulate_trace_runner_writes_the_simulator_files_and_a_manifest(tmp_path):
    from bondpremia.results import Results
    from bondpremia.simulate.trace import write_simulated_trace
    from bondpremia.stages.trace import simulated_rates

    config = SimulateTraceConfig(bonds=15, months=4, seed=7, start="2012-01", trades_per_bond_month=5.0)
    run = run_simulate_trace(tmp_path / "sim", config)
    info = write_simulated_trace(tmp_path / "hand", n_bonds=15, n_months=4, seed=7, start="2012-01",
                                 trades_per_bond_month=5.0)
    names = {"trace.parquet", "fisd.parquet", "fisd_amt_out.parquet", "truth_trades.parquet", "truth_monthly.parquet",
             "rates.parquet"}
    assert {p.name for p in (tmp_path / "sim").iterdir()} == names | {MANIFEST}
    for name in names:
        assert pl.read_parquet(tmp_path / "sim" / name).equals(pl.read_parquet(tmp_path / "hand" / name)), name
    manifest = read_manifest(tmp_path / "sim")
    assert manifest["command"] == "simulate trace" and manifest["options"] == config.as_options()
    assert manifest["rows"] == {"trace.parquet": info["messages"]} and manifest["inputs"] == []
    assert run.info == {**info, "out_dir": str(tmp_path / "sim")}  # the run folder, not the staging one
    assert isinstance(run, Results)
    assert run.summary()["value"].to_dict() == {k: v for k, v in info.items() if k != "out_dir"}
    assert run.to_frame().collect().height == info["messages"]
    assert repr(run).startswith(f"SimulatedTraceRun({info['messages']:,} messages, 15 bonds")
    run.save(tmp_path / "copy")
    assert read_manifest(tmp_path / "copy")["options"] == config.as_options()
    for name in names:
        assert (tmp_path / "copy" / name).read_bytes() == (tmp_path / "sim" / name).read_bytes(), name
    # its manifest marks the market: trace monthly of a clean run of it finds the T-bill returns itself
    run_trace_clean([tmp_path / "sim" / "trace.parquet"], tmp_path / "sim" / "fisd.parquet", tmp_path / "clean",
                    TraceCleanConfig(executor="serial"))
    assert simulated_rates(tmp_path / "clean") == tmp_path / "sim" / "rates.parquet"


def test_simulate_runners_refuse_a_folder_that_is_not_a_run(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    for call in (lambda: run_simulate_trace(mine, SimulateTraceConfig(bonds=5, months=2)),
                 lambda: run_simulate_treasury(mine, SimulateTreasuryConfig(months=30, series=8))):
        with pytest.raises(InputError, match="not a bondpremia run folder"):
            call()
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


# -- characteristics, IPCA, sorts ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ice_panel() -> pd.DataFrame:
    from bondpremia.simulate.bond_panel import simulate_bond_panel

    return simulate_bond_panel(n_bonds=60, n_months=40, seed=2)


def test_characteristics_runner_equals_the_builder(ice_panel, tmp_path):
    import warnings

    from bondpremia.characteristics import build_characteristics

    config = CharacteristicsConfig(rank=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_characteristics_build(ice_panel, tmp_path / "c", config)
        by_hand = build_characteristics(ice_panel, None, rank=True)
    assert {p.name for p in (tmp_path / "c").iterdir()} == {"characteristics.parquet", "coverage.csv", MANIFEST}
    manifest = read_manifest(tmp_path / "c")
    assert manifest["command"] == "characteristics build" and manifest["options"] == config.as_options()
    assert manifest["inputs"] == []  # a frame, not a file
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "c" / "characteristics.parquet"), by_hand.panel)
    pd.testing.assert_frame_equal(res.panel, by_hand.panel)
    assert res.names == by_hand.names


def _ipca_panel(n_bonds: int = 40, n_months: int = 36, seed: int = 0) -> pd.DataFrame:
    """Returns driven by two latent factors loading on three characteristics, plus noise."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2010-01-31", periods=n_months, freq="ME")
    rows = []
    gamma = rng.normal(size=(4, 2))
    for d in dates:
        z = rng.normal(size=(n_bonds, 3))
        f = rng.normal(size=2) * 0.02
        ret = np.column_stack([z, np.ones(n_bonds)]) @ gamma @ f + rng.normal(scale=0.01, size=n_bonds)
        rows.append(pd.DataFrame({"id": [f"b{i}" for i in range(n_bonds)], "date": d, "c1": z[:, 0], "c2": z[:, 1],
                                  "c3": z[:, 2], "ret": ret}))
    return pd.concat(rows, ignore_index=True)


def test_ipca_runner_fit_json_equals_the_fit_done_by_hand(tmp_path):
    from bondpremia.models import IPCA

    panel = _ipca_panel()
    path = tmp_path / "chars.parquet"
    panel.to_parquet(path)
    config = IPCAConfig(factors=2, oos_start="2011-07", intercept=True, bootstrap=20, seed=4)
    res = run_ipca_fit(path, tmp_path / "ipca", config)
    assert {p.name for p in (tmp_path / "ipca").iterdir()} == {"fit.json", "gamma.csv", "factors.csv", MANIFEST}
    manifest = read_manifest(tmp_path / "ipca")
    assert manifest["command"] == "ipca fit"
    assert manifest["options"] == {**config.as_options(), "chars": res.model.chars_}  # the instruments used
    assert [Path(i["path"]).name for i in manifest["inputs"]] == ["chars.parquet"]

    model = IPCA(n_factors=2, intercept=True).fit(panel, ret="ret", chars=["c1", "c2", "c3"])
    expected = model.fit_stats()
    oos = model.fit_oos(panel, start=pd.Timestamp("2011-07-01"), ret="ret", chars=model.chars_)
    expected.update(oos.as_dict())
    test = model.test_alpha(n_boot=20, seed=4)
    expected.update({"w_alpha": test.statistic, "w_alpha_pvalue": test.pvalue, "bootstrap_draws": 20})
    saved = json.loads((tmp_path / "ipca" / "fit.json").read_text())
    assert saved == json.loads(json.dumps(expected, default=float))
    assert res.stats == expected
    factors = pd.read_csv(tmp_path / "ipca" / "factors.csv", index_col=0, parse_dates=True)
    np.testing.assert_allclose(factors.to_numpy(), model.factors_.to_numpy(), rtol=1e-12, atol=1e-15)


def test_ipca_and_sort_runners_check_the_panel_against_its_contract(tmp_path):
    """The keys and the return (named by the options) are checked before anything is computed or said: a
    characteristics panel without --ret exret_next gets that hint; a date that is not a date names its row; an id
    stored as a float is refused."""
    notes: list[str] = []
    panel = _ipca_panel(n_bonds=5, n_months=3).rename(columns={"ret": "exret_next"})
    path = tmp_path / "chars.csv"
    panel.to_csv(path, index=False)
    with pytest.raises(InputError) as info:
        run_ipca_fit(path, tmp_path / "i", IPCAConfig(factors=1), note=notes.append)
    assert str(info.value) == (f"file {path}: is not a characteristics table: missing columns ['ret'] (it has "
                               "['id', 'date', 'c1', 'c2', 'c3', 'exret_next']); the return of t+1 of "
                               "`characteristics build` is exret_next: pass --ret exret_next")
    assert notes == [] and not (tmp_path / "i").exists()
    bad = panel.astype({"date": str})
    bad.loc[7, "date"] = "2010-02-31"
    with pytest.raises(InputError) as info:
        run_ipca_fit(bad, tmp_path / "i", IPCAConfig(factors=1, ret="exret_next"))
    assert (info.value.file, info.value.column, info.value.row) == ("panel", "date", 7)
    assert "'2010-02-31' is not a date" in str(info.value)
    with pytest.raises(InputError, match=r"missing columns \['bond'\].*--entity, --date and --ret name the key"):
        run_portfolio_sort(panel, tmp_path / "s", SortConfig(chars=("c1",), ret="exret_next", entity="bond"))
    with pytest.raises(InputError, match=re.escape("id is Float64, expected String|Int64")):
        run_portfolio_sort(panel.assign(id=1.0), tmp_path / "s", SortConfig(chars=("c1",), ret="exret_next"))
    with pytest.raises(InputError, match="'20100131' is not a date"):  # pandas would read it as nanoseconds
        run_portfolio_sort(panel.assign(date=20100131), tmp_path / "s", SortConfig(chars=("c1",), ret="exret_next"))
    assert not (tmp_path / "s").exists()


def test_ipca_runner_extra_entries_and_default_instruments(tmp_path):
    panel = _ipca_panel(n_bonds=30, n_months=24, seed=1).assign(macro=lambda f: f["date"].dt.month.astype(float))
    notes: list[str] = []
    res = run_ipca_fit(panel, tmp_path / "ipca", IPCAConfig(factors=1), extra={"tag": "x"}, note=notes.append)
    assert "macro" not in res.model.chars_ and {"c1", "c2", "c3"} <= set(res.model.chars_)
    assert notes and "left out ['macro']" in notes[0]
    assert json.loads((tmp_path / "ipca" / "fit.json").read_text())["tag"] == "x"


def _sort_panel(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2015-01-31", periods=24, freq="ME")
    n = 50
    return pd.DataFrame({"id": np.tile([f"b{i}" for i in range(n)], len(dates)),
                         "date": np.repeat(dates, n),
                         "duration": rng.uniform(1, 10, n * len(dates)),
                         "rating": rng.integers(1, 20, n * len(dates)).astype(float),
                         "exret": rng.normal(0.003, 0.02, n * len(dates)),
                         "mv": rng.uniform(10, 100, n * len(dates))})


def test_sort_runner_writes_the_command_files_and_a_month_checks_by_hand(tmp_path):
    from bondpremia.portfolio import univariate_sort

    panel = _sort_panel()
    path = tmp_path / "panel.csv"
    panel.to_csv(path, index=False)
    config = SortConfig(chars=("duration", "rating"), n=5, ret="exret", weight="mv", lags=3)
    done: list[tuple[int, int]] = []
    results = run_portfolio_sort(path, tmp_path / "sorts", config, progress=lambda d, t: done.append((d, t)))
    assert done == [(1, 2), (2, 2)]
    assert {p.name for p in (tmp_path / "sorts").iterdir()} == {
        "sort_summary_duration.csv", "sort_returns_duration.csv", "sort_summary_rating.csv", "sort_returns_rating.csv",
        MANIFEST}
    manifest = read_manifest(tmp_path / "sorts")
    assert manifest["command"] == "portfolio sort" and manifest["options"] == config.as_options()
    by_hand = univariate_sort(panel, "duration", 5, ret="exret", weight="mv")
    saved = pd.read_csv(tmp_path / "sorts" / "sort_returns_duration.csv", index_col=0, parse_dates=True)
    np.testing.assert_allclose(saved.to_numpy(), by_hand.returns.to_numpy(), rtol=1e-12, equal_nan=True)
    summary = pd.read_csv(tmp_path / "sorts" / "sort_summary_duration.csv", index_col=0)
    assert summary.loc["mean", "H-L"] == pytest.approx(results["duration"].summary(lags=3).loc["mean", "H-L"])
    # one month by hand: value-weighted quintiles on duration at t earn the excess returns of t+1
    t1 = saved.index[len(saved) // 2]
    t0 = t1 - pd.offsets.MonthEnd(1)
    form = panel[panel["date"] == t0][["id", "duration", "mv"]]
    cuts = np.quantile(form["duration"], [0.2, 0.4, 0.6, 0.8])
    form = form.assign(port=1 + np.searchsorted(cuts, form["duration"].to_numpy(), side="left"))
    nxt = form.merge(panel[panel["date"] == t1][["id", "exret"]], on="id")
    top = nxt[nxt["port"] == 5]
    assert saved.loc[t1, "5.0"] == pytest.approx(float((top["exret"] * top["mv"]).sum() / top["mv"].sum()),
                                                 rel=1e-10)


def test_sort_runner_names_a_missing_column_with_its_file(tmp_path):
    path = tmp_path / "panel.csv"
    _sort_panel().to_csv(path, index=False)
    with pytest.raises(InputError, match="column not found") as info:
        run_portfolio_sort(path, tmp_path / "s", SortConfig(chars=("spread",), ret="exret"))
    assert info.value.file == str(path) and info.value.column == "spread"
    assert not (tmp_path / "s").exists()


def test_cli_and_runner_write_the_same_sort_folder(tmp_path, run):
    path = tmp_path / "panel.parquet"
    _sort_panel(1).to_parquet(path)
    code, _, err = run("portfolio", "sort", str(path), "--char", "duration", "--ret", "exret", "--weight", "mv",
                       "--out", str(tmp_path / "cli"))
    assert code == 0, err
    run_portfolio_sort(path, tmp_path / "py", SortConfig(chars=("duration",), ret="exret", weight="mv"))
    for name in ("sort_summary_duration.csv", "sort_returns_duration.csv"):
        assert (tmp_path / "cli" / name).read_bytes() == (tmp_path / "py" / name).read_bytes()
    a, b = read_manifest(tmp_path / "cli"), read_manifest(tmp_path / "py")
    assert (a["command"], a["options"], a["inputs"][0]["sha256"]) == (b["command"], b["options"],
                                                                      b["inputs"][0]["sha256"])


# -- Treasury forecasts, Taylor rule -------------------------------------------------------------------------------


def test_treasury_runner_r2oos_recomputed_from_its_forecasts(tmp_path):
    from bondpremia.models.forecast import treasury_data
    from bondpremia.simulate.term_structure import simulate_term_structure

    sim = simulate_term_structure(n_months=300, start="1980-01", n_series=8, seed=0)
    data = treasury_data(sim.yields, sim.macro, pd.Series(sim.groups), start="1980-01", end="2004-12")
    config = ForecastConfig(models=("cp", "pcr3"), start="1980-01", end="2004-12", oos_start="1995-01",
                            refit_every=12, refit_overrides=(("cp", 1),), dm_against="pcr3")
    steps: dict[str, int] = {}

    from contextlib import contextmanager

    @contextmanager
    def progress(model):
        def step(done, total):
            steps[model] = total
        yield step

    tables = run_treasury_forecast(data, tmp_path / "t", config, progress=progress,
                                   extra_tables={"population_r2.csv": pd.DataFrame(
                                       {"population_r2": sim.population_r2})})
    out = tmp_path / "t"
    assert {p.name for p in out.iterdir()} == {"r2oos.csv", "r2oos_factors.csv", "forecasts.parquet",
                                               "importance.csv", "dm.csv", "figures", "population_r2.csv", MANIFEST}
    assert (out / "figures" / "cumulative_sse.png").is_file()
    assert set(steps) == {"cp", "pcr3"}
    manifest = read_manifest(out)
    assert manifest["command"] == "treasury forecast" and manifest["options"] == config.as_options()
    fc = pd.read_parquet(out / "forecasts.parquet")
    saved = pd.read_csv(out / "r2oos.csv", dtype={"maturity": str})
    for model in ("cp", "pcr3"):
        g = fc[(fc["model"] == model) & (fc["maturity"].astype(str) == "EW")].dropna(subset=["actual"])
        r2 = 100 * (1 - ((g["actual"] - g["forecast"]) ** 2).sum() / ((g["actual"] - g["benchmark"]) ** 2).sum())
        row = saved[(saved["model"] == model) & (saved["maturity"] == "EW")]
        assert row["r2oos"].iloc[0] == pytest.approx(r2, abs=1e-9)
        assert tables.r2oos.set_index(["model", "maturity"]).loc[(model, "EW"), "r2oos"] == pytest.approx(r2)
    # cp refits every month (its override), pcr3 every 12 months: the engine called by hand gives the same rows
    from bondpremia.models.forecast import recursive_forecast

    for model, refit in (("cp", 1), ("pcr3", 12)):
        hand = recursive_forecast(data, model, oos_start="1995-01", timing="purged", refit_every=refit,
                                  retune_every=60, seed=0, n_seeds=100, n_keep=10, n_trees=300).forecasts
        ours = fc[fc["model"] == model].reset_index(drop=True)
        pd.testing.assert_frame_equal(ours, hand.reset_index(drop=True), check_dtype=False)


def test_simulate_treasury_runner_writes_the_simulated_curve(tmp_path):
    from bondpremia.results import Results
    from bondpremia.simulate.term_structure import simulate_term_structure

    config = SimulateTreasuryConfig(months=60, series=8, seed=4, start="1990-01", linear=True)
    res = run_simulate_treasury(tmp_path / "tsy", config)
    out = tmp_path / "tsy"
    assert {p.name for p in out.iterdir()} == {"yields.parquet", "macro.parquet", "groups.csv", "expected.parquet",
                                               "population_r2.csv", MANIFEST}
    manifest = read_manifest(out)
    assert manifest["command"] == "simulate treasury" and manifest["options"] == config.as_options()
    hand = simulate_term_structure(n_months=60, start="1990-01", n_series=8, seed=4, params={"macro_effect": False})
    for name, frame in (("yields", hand.yields), ("macro", hand.macro), ("expected", hand.expected_excess)):
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{name}.parquet"), frame.rename(columns=str),
                                      check_freq=False)
    groups = pd.read_csv(out / "groups.csv", index_col="series")["group"]
    pd.testing.assert_series_equal(groups, hand.groups.rename_axis("series").rename("group"), check_dtype=False)
    r2 = pd.read_csv(out / "population_r2.csv", dtype={"maturity": str})
    assert r2["maturity"].tolist() == [str(c) for c in hand.population_r2.index]
    np.testing.assert_array_equal(r2["population_r2"], hand.population_r2.to_numpy())
    assert isinstance(res, Results)
    pd.testing.assert_frame_equal(res.to_frame(), hand.yields)
    np.testing.assert_array_equal(res.summary()["population_r2"], hand.population_r2.to_numpy())
    assert repr(res) == "SimulatedTreasury(60 months x 120 maturities, 8 macro series, seed 4)"


def _replication_data(folder: Path):
    """A short simulated curve, 1980-01..1992-12 (24 forecast dates from 1990-01), and its file in ``folder``."""
    from bondpremia.stages import load_treasury_data

    run_simulate_treasury(folder / "sim", SimulateTreasuryConfig(months=156, series=8, seed=1, start="1980-01"))
    yields = folder / "sim" / "yields.parquet"
    return load_treasury_data(yields, start="1980-01", end="1992-12"), yields


def test_treasury_replicate_runner_equals_replicate_by_hand(tmp_path):
    from bondpremia.models.forecast import replicate

    data, yields = _replication_data(tmp_path)
    config = ReplicateConfig(models=("pcr3",), start="1980-01", end="1992-12", oos_start="1990-01")
    labels: set[str] = set()
    res = run_treasury_replicate(data, tmp_path / "rep", config, inputs=[yields],
                                 progress=lambda label, done, total: labels.add(label))
    out = tmp_path / "rep"
    assert {p.name for p in out.iterdir()} == {"replication.csv", "forecasts.parquet", "settings.json", "figures",
                                               MANIFEST}
    assert (out / "figures" / "replication.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert labels == {"pcr3 (bbt)", "pcr3 (purged)"}
    manifest = read_manifest(out)
    assert manifest["command"] == "treasury replicate" and manifest["options"] == config.as_options()
    assert [Path(i["path"]).name for i in manifest["inputs"]] == ["yields.parquet"]
    hand = replicate(data, 1, timings=("bbt", "purged"), models=["pcr3"], oos_start="1990-01")
    saved = pd.read_csv(out / "replication.csv", dtype={"maturity": str, "source": str}, keep_default_na=False,
                        na_values={"paper": [""], "diff": [""]})
    pd.testing.assert_frame_equal(saved, hand.table, check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "forecasts.parquet"), hand.forecasts)
    assert json.loads((out / "settings.json").read_text()) == json.loads(json.dumps(hand.settings))
    pd.testing.assert_frame_equal(res.table, hand.table)
    run_treasury_replicate(data, out, replace(config, timing="bbt"), figures=False)  # an earlier run is replaced
    assert set(pd.read_csv(out / "replication.csv")["timing"]) == {"bbt"}
    assert "figures" not in {p.name for p in out.iterdir()}


def test_treasury_replicate_runner_checks_out_and_the_table_before_fitting(tmp_path):
    data, _ = _replication_data(tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    fitted: list[str] = []
    with pytest.raises(InputError, match="not a bondpremia run folder"):
        run_treasury_replicate(data, mine, ReplicateConfig(models=("ols",)), progress=lambda *a: fitted.append(a[0]))
    with pytest.raises(InputError, match="macro") as info:
        run_treasury_replicate(data, tmp_path / "t2", ReplicateConfig(table=2, models=("ols",)),
                               progress=lambda *a: fitted.append(a[0]))
    assert info.value.column == "--macro"
    assert fitted == [] and [p.name for p in mine.iterdir()] == ["notes.txt"] and not (tmp_path / "t2").exists()


def test_taylor_runner_return_is_position_times_the_asset_return(tmp_path):
    rng = np.random.default_rng(5)
    dates = pd.date_range("2000-01-31", periods=120, freq="ME")
    rates = pd.DataFrame({"FEDFUNDS": 3 + np.cumsum(rng.normal(0, 0.2, len(dates))),
                          "CFNAI": rng.normal(0, 1, len(dates)),
                          "pce_infl_yoy": 2 + np.cumsum(rng.normal(0, 0.1, len(dates)))}, index=dates)
    asset = pd.Series(rng.normal(0.002, 0.01, len(dates)), index=dates, name="zero_2y")
    res = run_strategy_taylor(rates, asset, tmp_path / "tr", TaylorConfig(window=24))
    out = tmp_path / "tr"
    assert {p.name for p in out.iterdir()} == {"returns.csv", "stats.json", "strategy.png", "taylor_rule.png",
                                               MANIFEST}
    manifest = read_manifest(out)
    assert manifest["command"] == "strategy taylor"
    assert manifest["options"] == TaylorConfig(window=24).as_options()
    r = pd.read_csv(out / "returns.csv", index_col=0, parse_dates=True)
    sig = np.sign(r["predicted"] - r["observed"]).shift(1)
    both = pd.concat([sig.rename("s"), r["asset_return"], r["net"]], axis=1).dropna()
    assert len(both) > 50
    np.testing.assert_allclose(both["net"], both["s"] * both["asset_return"], atol=1e-15)
    assert json.loads((out / "stats.json").read_text()) == json.loads(json.dumps(res.stats()))
