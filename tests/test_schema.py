"""The column contracts of bondpremia.schema: every writer's table matches its contract exactly (names, order,
types), and a table that breaks a contract is named in one clear error."""

from __future__ import annotations

import re

import pandas as pd
import polars as pl
import pytest

from bondpremia.errors import InputError, MissingInputWarning
from bondpremia.schema import DAILY, MONTHLY, check_table
from bondpremia.simulate.trace import simulate_trace
from bondpremia.trace.daily import daily_prices
from bondpremia.trace.monthly import monthly_returns


def _exact(frame: pl.DataFrame, names: tuple[str, ...], dtypes: dict[str, str]) -> None:
    assert tuple(frame.columns) == names
    assert {k: str(v) for k, v in frame.schema.items()} == dtypes


def test_the_trace_stages_write_their_contracts():
    sim = simulate_trace(n_bonds=15, n_months=5, seed=3)
    daily = daily_prices(sim.truth_trades)
    _exact(daily, DAILY.names, {c.name: c.dtype for c in DAILY.columns})
    check_table(daily, DAILY, where="daily", extra=False)
    monthly = monthly_returns(daily, sim.fisd, rates=sim.rates, amount_outstanding=sim.amount_outstanding)
    _exact(monthly, (*MONTHLY.names, "reason"), {**{c.name: c.dtype for c in MONTHLY.columns}, "reason": "String"})
    check_table(monthly, MONTHLY, where="monthly.parquet")
    _exact(sim.truth_monthly, MONTHLY.names, {c.name: c.dtype for c in MONTHLY.columns})
    check_table(sim.truth_monthly.to_pandas(), MONTHLY, where="truth_monthly", extra=False)  # pandas types too


def test_a_broken_table_is_named_in_one_error():
    daily = pl.DataFrame({c.name: pl.Series([], dtype=getattr(pl, c.dtype)) for c in DAILY.columns})
    with pytest.raises(InputError) as info:
        check_table(daily.drop("prc_ew", "vol_par"), DAILY, where="d.parquet")
    others = [c for c in DAILY.names if c not in ("prc_ew", "vol_par")]
    assert str(info.value) == ("file d.parquet: is not a daily table: missing columns ['prc_ew', 'vol_par'] "
                               f"(it has {others})")
    with pytest.raises(InputError) as info:
        check_table(daily.with_columns(pl.col("n_trades").cast(pl.Float64), pl.col("trd_exctn_dt").cast(pl.String)),
                    DAILY, where="d.parquet")
    assert info.value.reason == ("is not a daily table: trd_exctn_dt is String, expected Date; "
                                 "n_trades is Float64, expected Int64")
    with pytest.raises(InputError, match=r"has columns outside the daily contract: \['note'\]"):
        check_table(daily.with_columns(note=pl.lit("x")), DAILY, where="d.parquet", extra=False)
    check_table(daily.with_columns(note=pl.lit("x")), DAILY, where="d.parquet")  # extra columns allowed
    check_table(daily.with_columns(pl.lit(None).alias("prc_last")), DAILY, where="d.parquet")  # an all-null column
    with pytest.raises(InputError, match="expected a polars or pandas DataFrame, got dict"):
        check_table({"cusip_id": []}, DAILY, where="x")
    assert check_table(pd.DataFrame({c.name: pd.Series([], dtype="object" if c.dtype == "String" else
                                                       "datetime64[ns]" if c.dtype == "Date" else c.dtype.lower())
                                     for c in DAILY.columns}), DAILY, where="pandas") is None


def test_the_contract_renders_as_a_markdown_table():
    lines = MONTHLY.describe().splitlines()
    assert lines[:2] == ["| column | type | unit | meaning |", "|---|---|---|---|"]
    assert len(lines) == 2 + len(MONTHLY.columns)
    assert lines[2 + MONTHLY.names.index("ret")] == (
        "| `ret` | Float64 | decimal per month | ret_end when it exists, else ret_start |")


def test_the_characteristics_and_forecasts_writers_keep_their_contracts():
    from bondpremia.characteristics import build_characteristics
    from bondpremia.models.forecast.engine import recursive_forecast
    from bondpremia.models.forecast.estimators import OLS, ModelSpec
    from bondpremia.models.forecast.features import treasury_data
    from bondpremia.schema import CHARACTERISTICS, FORECASTS
    from bondpremia.simulate.bond_panel import simulate_bond_panel

    with pytest.warns(MissingInputWarning):  # no macro series: the VIX beta cannot be built
        chars = build_characteristics(simulate_bond_panel(n_bonds=20, n_months=14, seed=1, start="2010-01")).panel
    assert list(chars.columns[:2]) == ["id", "date"] and chars.columns[-1] == "exret_next"
    check_table(chars, CHARACTERISTICS, where="characteristics.parquet")

    months = pd.date_range("1980-01-31", "1992-12-31", freq="ME")
    mats = range(1, 121)
    yields = pd.DataFrame([[0.05 + 0.001 * i / 12 + 0.0001 * (t % 7) for i in mats] for t in range(len(months))],
                          index=months, columns=list(mats))
    run = recursive_forecast(treasury_data(yields), ModelSpec("ols", OLS(), uses_macro=False, seeded=False),
                             oos_start="1990-01")
    assert tuple(run.forecasts.columns) == FORECASTS.names
    check_table(run.forecasts, FORECASTS, where="forecasts.parquet", extra=False)
    back = pl.from_pandas(run.forecasts)  # written by pandas, read by polars: dates become Datetime
    check_table(back, FORECASTS, where="forecasts.parquet", extra=False)


def test_a_reader_checks_only_the_columns_it_uses():
    monthly = pl.DataFrame({"date": [], "ret": []}, schema={"date": pl.Date, "ret": pl.Float64})
    check_table(monthly, MONTHLY, where="m.parquet", columns=["ret"])
    with pytest.raises(InputError, match=r"is not a monthly table: ret is String, expected Float64"):
        check_table(monthly.with_columns(pl.col("ret").cast(pl.String)), MONTHLY, where="m.parquet", columns=["ret"])
    with pytest.raises(InputError, match=r"missing columns \['ret'\]"):
        check_table(monthly.drop("ret"), MONTHLY, where="m.parquet", columns=["date", "ret"])
    with pytest.raises(ValueError, match="are not columns of the monthly contract"):
        check_table(monthly, MONTHLY, where="m.parquet", columns=["returns"])


def test_every_clean_preset_writes_the_trades_contract(tmp_path):
    """trades.parquet of each preset holds the TRADES columns with their types; the tidyfinance preset (which keeps
    only the package's columns) has no msg_seq_nb, the one optional trade column, and trace monthly's daily prices
    read it anyway."""
    from bondpremia.schema import TRADES
    from bondpremia.simulate.trace import write_simulated_trace
    from bondpremia.trace.pipeline import run_clean

    write_simulated_trace(tmp_path / "sim", n_bonds=10, n_months=4, seed=5)
    for preset, has_seq in (("bbw2019", True), ("dick_nielsen_2014", True), ("tidyfinance", False)):
        run = run_clean([tmp_path / "sim" / "trace.parquet"], tmp_path / "sim" / "fisd.parquet", tmp_path / preset,
                        preset=preset, executor="serial")
        trades = pl.scan_parquet(run.trades)
        check_table(trades, TRADES, where=preset)
        schema = trades.collect_schema()
        assert {c: str(schema[c]) for c in TRADES.required} == {
            "cusip_id": "String", "trd_exctn_dt": "Date", "trd_exctn_tm": "Time", "rptd_pr": "Float64",
            "entrd_vol_qt": "Float64"}
        assert (schema["_file"], schema["_row"]) == (pl.String, pl.Int64)  # the lineage, in every preset
        assert ("msg_seq_nb" in schema) is has_seq, preset
        assert daily_prices(trades).height > 0


def test_input_contracts_accept_what_users_store():
    """Names in any letter case where the contract says so (the external inputs), an id stored as text or as an
    integer of any width, a rename of the key and return columns, a hint on what to pass; a float id is refused."""
    import numpy as np

    from bondpremia.schema import CHARACTERISTICS, FISD_TERMS, RATES

    rates = pl.DataFrame({"DATE": ["2020-01-31"], "RF": [0.001]})
    check_table(rates, RATES, where="rates.csv", lower=True)
    with pytest.raises(InputError, match=r"missing columns \['date', 'rf'\]"):
        check_table(rates, RATES, where="rates.csv")
    with pytest.raises(InputError, match=re.escape("rf is String, expected Float64|Float32|Int64")):
        check_table(rates.with_columns(pl.col("RF").cast(pl.String)), RATES, where="rates.csv", lower=True)
    fisd = pl.DataFrame({"CUSIP_ID": ["X"], "maturity": ["2030-01-01"], "coupon": [5], "interest_frequency": ["2"],
                         "day_count_basis": ["30/360"], "dated_date": [None]})
    check_table(fisd, FISD_TERMS, where="fisd", rename={"complete_cusip": "cusip_id"}, lower=True)  # types free
    panel = pd.DataFrame({"bond": np.array([1, 2], dtype="int32"), "month": pd.to_datetime(["2020-01-31"] * 2),
                          "y": [0.01, 0.02]})
    names = {"id": "bond", "date": "month", "exret_next": "y"}
    check_table(panel, CHARACTERISTICS, where="p", rename=names)
    check_table(panel.astype({"bond": str}), CHARACTERISTICS, where="p", rename=names)
    with pytest.raises(InputError, match=re.escape("bond is Float64, expected String|Int64")):
        check_table(panel.astype({"bond": float}), CHARACTERISTICS, where="p", rename=names)
    with pytest.raises(InputError) as info:
        check_table(panel, CHARACTERISTICS, where="p.parquet", hint="pass --ret y")
    assert str(info.value) == ("file p.parquet: is not a characteristics table: missing columns ['id', 'date', "
                               "'exret_next'] (it has ['bond', 'month', 'y']); pass --ret y")


def test_the_audit_r2oos_and_importance_writers_keep_their_contracts(tmp_path):
    """audit.csv, r2oos.csv and importance.csv: the writers' columns in the contracts' order and types, read back as
    the report reads them; an importance file with no rows (no importance measure) passes the report's check."""
    import numpy as np

    from bondpremia.models.forecast.evaluation import r2oos_table
    from bondpremia.models.forecast.outputs import grouped_importance
    from bondpremia.schema import AUDIT, IMPORTANCE, R2OOS
    from bondpremia.simulate.trace import write_simulated_trace
    from bondpremia.trace.pipeline import run_clean

    write_simulated_trace(tmp_path / "sim", n_bonds=6, n_months=3, seed=1)
    run = run_clean([tmp_path / "sim" / "trace.parquet"], tmp_path / "sim" / "fisd.parquet", tmp_path / "c",
                    executor="serial")
    _exact(run.audit, AUDIT.names, {c.name: c.dtype for c in AUDIT.columns})
    back = pd.read_csv(tmp_path / "c" / "audit.csv")
    check_table(back, AUDIT, where="audit.csv", extra=False)
    assert (back["rows_in"] - back["rows_out"] == back["rows_dropped"]).all()

    idx = pd.date_range("2000-01-31", periods=24, freq="ME")
    rng = np.random.default_rng(0)
    actual = pd.DataFrame({2: rng.normal(size=24), "EW": rng.normal(size=24)}, index=idx)
    table = r2oos_table(actual, {"ols": actual * 0.5}, actual * 0.0, lags=0)
    assert tuple(table.columns) == R2OOS.names
    check_table(table, R2OOS, where="r2oos.csv", extra=False)
    assert table["maturity"].tolist() == ["2", "EW"]

    imp = pd.DataFrame({"model": ["nn"] * 3, "maturity": ["EW"] * 3, "predictor": ["f1", "f2", "INDPRO"],
                        "importance": [1.0, 2.0, 1.0]})
    out = grouped_importance(imp, pd.Series({"INDPRO": 1}))
    assert tuple(out.columns) == IMPORTANCE.names
    check_table(out, IMPORTANCE, where="importance.csv", extra=False)
    assert out["share"].tolist() == [0.25, 0.5, 0.25] and out["group"].tolist()[:2] == ["forwards", "forwards"]
    pd.DataFrame(columns=list(IMPORTANCE.names)).to_csv(tmp_path / "importance.csv", index=False)
    empty = pd.read_csv(tmp_path / "importance.csv", dtype={"model": str, "maturity": str, "group": str})
    check_table(empty, IMPORTANCE, where="importance.csv", extra=False)  # no values: no type to check
    with pytest.raises(InputError, match="share is String, expected Float64"):
        check_table(out.assign(share="x"), IMPORTANCE, where="importance.csv")
