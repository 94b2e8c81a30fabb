"""Ingest (DuckDB, CUSIP-range partitions), the partitioned cleaning run and its executors, the WRDS pull."""

from __future__ import annotations

import gzip
import hashlib
import io

import numpy as np
import pandas as pd
import polars as pl
import pytest

from bondpremia.data.wrds import TRACE_ENHANCED_COLUMNS, pull_trace
from bondpremia.errors import InputError
from bondpremia.trace import clean_trades
from bondpremia.trace.ingest import ingest_trace, read_partition
from bondpremia.trace.pipeline import run_clean


def messages(n: int = 3000, n_bonds: int = 40, seed: int = 0) -> pl.DataFrame:
    """Random messages of both formats with cancellations, corrections, reversals and interdealer pairs."""
    rng = np.random.default_rng(seed)
    cusips = np.array([f"{i:06d}AB{i % 10}" for i in range(n_bonds)])
    day = rng.choice(["2011-11-15", "2012-03-01"], n)
    tm = [f"{h:02d}:{m:02d}:{s:02d}" for h, m, s in zip(rng.integers(9, 17, n), rng.integers(0, 60, n),
                                                       rng.integers(0, 60, n), strict=True)]
    base = pl.DataFrame({
        "cusip_id": cusips[rng.integers(0, n_bonds, n)], "trd_exctn_dt": day, "trd_exctn_tm": tm,
        "trd_rpt_dt": day, "msg_seq_nb": np.arange(1, n + 1), "trc_st": "T",
        "rptd_pr": rng.uniform(90, 110, n).round(2), "entrd_vol_qt": rng.integers(1, 100, n) * 10_000.0,
        "rpt_side_cd": rng.choice(["B", "S"], n), "cntra_mp_id": rng.choice(["C", "D"], n),
        "orig_msg_seq_nb": None, "asof_cd": None,
    }, schema_overrides={"orig_msg_seq_nb": pl.Int64, "asof_cd": pl.String})
    pick = base.sample(n // 10, seed=seed)
    post = pick["trd_rpt_dt"] >= "2012-02-06"
    cancels = pick.with_columns(trc_st=pl.when(post).then(pl.lit("X")).otherwise(pl.lit("C")),
                                orig_msg_seq_nb=pl.when(post).then(None).otherwise(pl.col("msg_seq_nb")),
                                msg_seq_nb=pl.when(post).then(pl.col("msg_seq_nb")).otherwise(
                                    pl.col("msg_seq_nb") + 10 * n))
    kept = base.join(pick, on="msg_seq_nb", how="anti")  # trades that are not cancelled
    dealer_sells = kept.filter((pl.col("cntra_mp_id") == "D") & (pl.col("rpt_side_cd") == "S")).head(50)
    buys = dealer_sells.with_columns(rpt_side_cd=pl.lit("B"), msg_seq_nb=pl.col("msg_seq_nb") + 20 * n)
    return pl.concat([base, cancels, buys]).sample(fraction=1.0, shuffle=True, seed=seed)


def test_ingest_partitions_whole_cusips_balanced_and_keeps_lineage(tmp_path):
    df = messages()
    df.rename({c: c.upper() for c in df.columns}).write_csv(tmp_path / "a.csv")
    ing = ingest_trace([tmp_path / "a.csv"], tmp_path / "work", rows_per_partition=700)
    assert ing.n_rows == df.height
    parts = [read_partition(p) for p in ing.partitions]
    assert len(parts) > 2
    assert sum(p.height for p in parts) == df.height
    seen: set[str] = set()
    last = ""
    for p in parts:  # whole CUSIPs, contiguous ranges in CUSIP order
        cus = set(p["cusip_id"].to_list())
        assert not cus & seen
        assert min(cus) > last
        last = max(cus)
        seen |= cus
        assert list(p.columns[:2]) == ["cusip_id", "trd_exctn_dt"]  # names lower-cased
    rows = pl.concat(parts).sort("_row")
    assert rows["_row"].to_list() == list(range(df.height))  # 0-based data row of the CSV
    assert rows["msg_seq_nb"].cast(pl.Int64).to_list() == df["msg_seq_nb"].to_list()


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "parquet", "parquet-by-cusip"])
def test_run_clean_equals_in_memory_kernel_for_every_format(tmp_path, fmt):
    """Parquet in CUSIP order is read in place (partitions of whole row groups); any other input goes through the
    DuckDB ingest. Both give the in-memory kernel's trades."""
    df = messages(seed=1)
    path = tmp_path / f"in.{fmt.split('-')[0]}"
    if fmt == "parquet":
        df.write_parquet(path, row_group_size=100)  # row groups overlap in CUSIP range: DuckDB partitions
    elif fmt == "parquet-by-cusip":
        df = df.sort("cusip_id", maintain_order=True)
        df.write_parquet(path, row_group_size=100)
    elif fmt == "csv":
        df.write_csv(path)
    else:
        with gzip.open(path, "wb") as fh:
            df.write_csv(fh)
    run = run_clean([path], None, tmp_path / "out", preset="dick_nielsen_2014", executor="serial",
                    rows_per_partition=500)
    got = pl.read_parquet(run.trades)
    ref = clean_trades(df, preset="dick_nielsen_2014").trades
    cols = ["cusip_id", "trd_exctn_dt", "trd_exctn_tm", "msg_seq_nb", "trc_st", "rptd_pr", "entrd_vol_qt"]
    assert got.select(cols).equals(ref.select(cols))
    assert run.n_partitions > 1
    assert (tmp_path / "out" / "_work").exists() is False
    from bondpremia.trace.ingest import Slices, clustered_plan

    plan = clustered_plan([path], 500)
    assert (plan is not None) == (fmt == "parquet-by-cusip")
    if plan is not None:
        assert all(isinstance(p, Slices) for p in plan.partitions) and plan.n_rows == df.height
        cusips = [set(read_partition(p)["cusip_id"].to_list()) for p in plan.partitions]
        assert all(a.isdisjoint(b) for i, a in enumerate(cusips) for b in cusips[i + 1:])  # no CUSIP straddles
    audit = pl.read_csv(tmp_path / "out" / "audit.csv")
    assert audit["rows_in"][0] == df.height
    assert (audit["rows_in"] == audit["rows_out"] + audit["rows_dropped"]).all()
    assert (audit["rows_in"][1:] == audit["rows_out"][:-1]).all()
    assert audit["rows_out"][-1] == got.height
    assert audit.filter(pl.col("step") == "dn14_cancel")["rows_dropped"][0] > 0
    assert audit.filter(pl.col("step") == "interdealer")["rows_dropped"][0] == 50


def test_rejects_name_file_and_row_and_are_counted(tmp_path):
    df = messages(n=400, seed=2).with_columns(pl.all().cast(pl.String))
    bad = {7: ("rptd_pr", "abc"), 19: ("trd_exctn_dt", "2012-13-45"), 33: ("cusip_id", None),
           50: ("entrd_vol_qt", "-5"), 61: ("days_to_sttl_ct", "two")}
    df = df.with_columns(pl.lit(None, dtype=pl.String).alias("days_to_sttl_ct"))
    for row, (col, value) in bad.items():
        df = df.with_columns(pl.when(pl.int_range(pl.len()) == row).then(pl.lit(value)).otherwise(pl.col(col))
                             .alias(col))
    df.head(200).write_csv(tmp_path / "part1.csv")
    df.slice(200).write_csv(tmp_path / "part2.csv")
    run = run_clean([tmp_path], None, tmp_path / "out", steps=["interdealer"], executor="serial",
                    rows_per_partition=100)
    rej = pl.read_parquet(run.rejects).sort("_row")
    assert rej.height == len(bad)
    assert set(rej["_file"].to_list()) == {str(tmp_path / "part1.csv")}
    assert dict(zip(rej["_row"].to_list(), rej["reason"].to_list(), strict=True)) == {
        7: "rptd_pr: unparseable value", 19: "trd_exctn_dt: unparseable value", 33: "cusip_id: missing value",
        50: "entrd_vol_qt: volume is not positive", 61: "days_to_sttl_ct: unparseable value"}
    assert run.audit["rows_dropped"][0] == len(bad)
    assert run.audit["rows_in"][0] == df.height


def test_inputs_that_cannot_be_read_name_the_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        run_clean([tmp_path / "missing.csv"], None, tmp_path / "o", steps=["interdealer"])
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(InputError, match="unsupported file type"):
        run_clean([tmp_path / "x.json"], None, tmp_path / "o", steps=["interdealer"])
    pl.DataFrame({"CUSIP": ["A"]}).write_parquet(tmp_path / "nocusip.parquet")
    with pytest.raises(InputError, match="cusip_id"):
        run_clean([tmp_path / "nocusip.parquet"], None, tmp_path / "o", steps=["interdealer"])
    with pytest.raises(InputError, match="FISD"):
        run_clean([tmp_path / "nocusip.parquet"], None, tmp_path / "o")  # bbw2019 screens need FISD


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_local_and_dask_executors_give_identical_files(tmp_path):
    """Every executor writes the same bytes: threads in this process, one thread, a process pool and a dask
    LocalCluster with 2 workers (the CI check of the cluster path)."""
    pytest.importorskip("dask.distributed")
    df = messages(n=6000, n_bonds=80, seed=3)
    df.write_parquet(tmp_path / "in.parquet", row_group_size=500)  # not in CUSIP order: DuckDB partitions
    runs = {ex: run_clean([tmp_path / "in.parquet"], None, tmp_path / ex, preset="dick_nielsen_2014", executor=ex,
                          workers=2, rows_per_partition=1500) for ex in ("serial", "local", "processes", "dask")}
    assert runs["dask"].n_partitions >= 4
    # the same messages in CUSIP order are read in place (row-group partitions sent to the workers)
    df.sort("cusip_id", maintain_order=True).write_parquet(tmp_path / "sorted.parquet", row_group_size=500)
    runs.update({f"{ex}-sorted": run_clean([tmp_path / "sorted.parquet"], None, tmp_path / f"{ex}-sorted",
                                           preset="dick_nielsen_2014", executor=ex, workers=2,
                                           rows_per_partition=1500) for ex in ("serial", "local", "processes", "dask")})
    assert runs["dask-sorted"].n_partitions >= 2
    for name in ("trades.parquet", "rejects.parquet", "audit.csv"):
        for group in ([e for e in runs if "sorted" not in e], [e for e in runs if "sorted" in e]):
            digests = {ex: _digest(tmp_path / ex / name) for ex in group}
            assert len(set(digests.values())) == 1, (name, digests)
    same = [pl.read_parquet(tmp_path / ex / "trades.parquet").drop("_row") for ex in ("serial", "serial-sorted")]
    assert same[0].select(pl.exclude("_file")).equals(same[1].select(pl.exclude("_file")))


class FakeWRDS:
    """Stands in for wrds.Connection: records the queries and serves rows from a frame."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.calls: list[dict] = []

    def raw_sql(self, sql: str, params: dict) -> pd.DataFrame:
        self.calls.append({"sql": sql, **params})
        f = self.frame
        keep = f["cusip_id"].isin(params["cusips"]) & f["trd_exctn_dt"].between(str(params["start"]),
                                                                                 str(params["end"]))
        return f[keep].reset_index(drop=True)


def test_wrds_pull_in_cusip_chunks_feeds_the_cleaner(tmp_path):
    df = messages(n=500, n_bonds=12, seed=4).to_pandas()
    for c in TRACE_ENHANCED_COLUMNS:
        if c not in df.columns:
            df[c] = None
    fake = FakeWRDS(df)
    cusips = sorted(df["cusip_id"].unique())
    folder = pull_trace(cusips, "2011-01-01", "2011-12-31", tmp_path / "wrds", chunk=5, connection=fake)
    assert len(fake.calls) == 3 and [len(c["cusips"]) for c in fake.calls] == [5, 5, 2]
    assert "FROM trace.trace_enhanced" in fake.calls[0]["sql"] and "%(cusips)s" in fake.calls[0]["sql"]
    run = run_clean([folder], None, tmp_path / "out", steps=["dn09_cancel"], executor="serial")
    assert run.audit["rows_in"][0] == int((df["trd_exctn_dt"] <= "2011-12-31").sum())
    with pytest.raises(InputError, match="end is before start"):
        pull_trace(cusips, "2012-01-01", "2011-01-01", tmp_path / "w2", connection=fake)


def test_wrds_pull_asks_for_the_new_columns_and_only_screened_cusips():
    from rich.console import Console

    from bondpremia.cli.trace import _wrds_cusips
    from bondpremia.simulate.trace import simulate_fisd
    from bondpremia.trace.clean import resolve_steps
    from bondpremia.trace.screens import screen_bonds

    assert {"stlmnt_dt", "spcl_trd_fl", "sale_cndtn2_cd", "sub_prdct"} <= set(TRACE_ENHANCED_COLUMNS)
    fisd = simulate_fisd(60, seed=3)
    screened = screen_bonds(fisd)
    passing = sorted(screened.filter(pl.col("screen").is_null())["complete_cusip"].to_list())
    assert 0 < len(passing) < fisd.height  # some bonds fail a screen
    quiet = Console(file=io.StringIO())
    assert _wrds_cusips(fisd, resolve_steps("bbw2019"), quiet) == passing
    # a preset without the bond screens pulls every FISD CUSIP (Tidy Finance screens its own CUSIP list)
    assert _wrds_cusips(fisd.rename({"complete_cusip": "COMPLETE_CUSIP"}), resolve_steps("tidyfinance"),
                        quiet) == sorted(fisd["complete_cusip"].to_list())
