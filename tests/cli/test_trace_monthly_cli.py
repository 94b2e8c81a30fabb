"""`bondpremia trace monthly`: --amount-outstanding, --rates, --no-excess and the simulated market's rates.

The `trace clean` folders here are written by hand with :func:`bondpremia.rundir.atomic_run` (a manifest saying
``trace clean`` and a ``trades.parquet`` of a few trades), so the expected numbers are known by construction: two
zero-coupon bonds traded at 100 on each month end of 2023-01..04, so a bond-month's ``mv`` is its amount outstanding
in dollars. One test runs the real `simulate trace` -> `trace clean` -> `trace monthly` chain.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from bondpremia.rundir import MANIFEST, atomic_run, require_run

D = dt.date
MONTH_ENDS = [D(2023, 1, 31), D(2023, 2, 28), D(2023, 3, 31), D(2023, 4, 28)]
NEEDS_RATES = ("error: trace monthly needs --rates FILE (1-month T-bill returns, decimals) to compute excess "
               "returns; pass --no-excess to skip them")


def trades() -> pl.DataFrame:
    rows = [(c, d) for c in ("CALL00001", "KEEP00001") for d in MONTH_ENDS]
    n = len(rows)
    return pl.DataFrame({"cusip_id": [c for c, _ in rows], "trd_exctn_dt": [d for _, d in rows],
                         "trd_exctn_tm": [dt.time(10)] * n, "msg_seq_nb": list(range(n)), "rptd_pr": [100.0] * n,
                         "entrd_vol_qt": [10_000.0] * n})


def fisd() -> pl.DataFrame:
    # CALL00001 (issue 11): offered 1,000 thousand, 600 called on 2023-03-15; KEEP00001 (issue 12): 1,000, unchanged
    return pl.DataFrame({
        "issue_id": [11, 12], "complete_cusip": ["CALL00001", "KEEP00001"], "maturity": [D(2030, 1, 15)] * 2,
        "coupon": [0.0, 0.0], "interest_frequency": [0, 0], "day_count_basis": [None, None],
        "dated_date": [D(2020, 1, 15)] * 2, "coupon_type": ["Z", "Z"], "offering_amt": [1000.0, 1000.0],
        "amount_outstanding": [400.0, 1000.0]}, schema_overrides={"day_count_basis": pl.String})


def rates() -> pl.DataFrame:
    return pl.DataFrame({"date": MONTH_ENDS, "rf": [0.001, 0.002, 0.003, 0.004]})


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    """A `trace clean` folder (not from the simulator), the FISD and rates files."""
    with atomic_run(tmp_path / "clean", "trace clean") as staged:
        trades().write_parquet(staged.path / "trades.parquet")
    fisd().write_parquet(tmp_path / "fisd.parquet")
    rates().write_parquet(tmp_path / "rates.parquet")
    return {"clean": tmp_path / "clean", "fisd": tmp_path / "fisd.parquet", "rates": tmp_path / "rates.parquet"}


def simulated(tmp_path: Path, command: str = "simulate trace") -> tuple[Path, Path]:
    """A folder shaped like `simulate trace`'s output and a `trace clean` folder whose manifest lists its
    trace.parquet (and fisd.parquet) as inputs, as `trace clean sim/trace.parquet --fisd sim/fisd.parquet` does."""
    sim = tmp_path / "sim"
    with atomic_run(sim, command) as staged:
        staged.extra.update({"trace.parquet", "fisd.parquet", "rates.parquet"})  # declared for any command
        trades().write_parquet(staged.path / "trace.parquet")  # stands for the raw messages
        fisd().write_parquet(staged.path / "fisd.parquet")
        rates().write_parquet(staged.path / "rates.parquet")
    with atomic_run(tmp_path / "clean", "trace clean", inputs=[sim / "trace.parquet", sim / "fisd.parquet"]) as st:
        trades().write_parquet(st.path / "trades.parquet")
    return sim, tmp_path / "clean"


def monthly(out: Path) -> pl.DataFrame:
    return pl.read_parquet(out / "monthly.parquet").sort("cusip_id", "date")


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# -- --amount-outstanding ---------------------------------------------------------------------------------------

def test_amount_outstanding_end_to_end(files, tmp_path, run):
    hist = tmp_path / "amt_out_hist.csv"  # WRDS fisd_amt_out_hist layout: issue_id only, upper-case names
    hist.write_text("TRANSACTION_ID,ISSUE_ID,ACTION_TYPE,EFFECTIVE_DATE,ACTION_PRICE,ACTION_AMOUNT,AMOUNT_OUTSTANDING\n"
                    "1,11,P,2023-03-15,100,600,400\n")
    out = tmp_path / "m"
    code, _, err = run("trace", "monthly", str(files["clean"]), "--fisd", str(files["fisd"]), "--rates",
                       str(files["rates"]), "--amount-outstanding", str(hist), "--out", str(out))
    assert code == 0, err
    m = monthly(out)
    # CALL: $1,000,000 (the offering amount) in Jan and Feb, $400,000 from March (the call's month) on
    assert m.filter(pl.col("cusip_id") == "CALL00001")["mv"].to_list() == pytest.approx([1e6, 1e6, 4e5, 4e5])
    assert m.filter(pl.col("cusip_id") == "KEEP00001")["mv"].to_list() == pytest.approx([1e6] * 4)
    # March: 4e5 / 1.4e6 = 2/7
    assert m.filter(pl.col("cusip_id") == "CALL00001")["mv_weight"][2] == pytest.approx(2 / 7)
    manifest = require_run(out, "trace monthly")
    assert hist.resolve() in {Path(i["path"]) for i in manifest["inputs"]}
    assert manifest["options"]["amount_outstanding"] == str(hist)
    # without the option: FISD's static amount (400 thousand) in every month
    code, _, err = run("trace", "monthly", str(files["clean"]), "--fisd", str(files["fisd"]), "--rates",
                       str(files["rates"]), "--out", str(tmp_path / "static"))
    assert code == 0, err
    assert monthly(tmp_path / "static").filter(pl.col("cusip_id") == "CALL00001")["mv"].to_list() == \
        pytest.approx([4e5] * 4)


@pytest.mark.parametrize(("content", "expected"), [
    ("issue_id,effective_date,amount_outstanding\n11,2023-02-30,400\n", "'effective_date', row 0:"),
    ("issue_id,effective_date,amount_outstanding\n11,2023-03-15,400\n11,2023-04-01,-1\n",
     "'amount_outstanding', row 1:"),
    ("issue_id,effective_date\n11,2023-03-15\n", "'amount_outstanding': amount-outstanding history: column(s) "
                                                 "missing"),
    ("issue_id,effective_date,amount_outstanding\n11,2023-03-15,400\n77,2023-03-15,400\n",
     "'issue_id', row 1: amount-outstanding history: issue_id 77 is not in the FISD reference"),
])
def test_a_bad_history_file_is_one_line_naming_file_column_and_row(files, tmp_path, run, content, expected):
    hist = tmp_path / "hist.csv"
    hist.write_text(content)
    out = tmp_path / "m"
    code, _, err = run("trace", "monthly", str(files["clean"]), "--fisd", str(files["fisd"]), "--rates",
                       str(files["rates"]), "--amount-outstanding", str(hist), "--out", str(out))
    assert code == 2
    line = one_line(err)
    assert line.startswith(f"error: file {hist}, ") and expected in line
    assert not out.exists()


def test_a_missing_history_file_and_a_fisd_without_issue_id(files, tmp_path, run):
    code, _, err = run("trace", "monthly", str(files["clean"]), "--fisd", str(files["fisd"]), "--rates",
                       str(files["rates"]), "--amount-outstanding", str(tmp_path / "nope.csv"), "--out",
                       str(tmp_path / "m"))
    assert code == 2 and "nope.csv: file not found" in one_line(err)
    hist = tmp_path / "hist.csv"
    hist.write_text("issue_id,effective_date,amount_outstanding\n11,2023-03-15,400\n")
    no_ids = tmp_path / "fisd_no_ids.parquet"
    fisd().drop("issue_id").write_parquet(no_ids)
    code, _, err = run("trace", "monthly", str(files["clean"]), "--fisd", str(no_ids), "--rates",
                       str(files["rates"]), "--amount-outstanding", str(hist), "--out", str(tmp_path / "m"))
    assert code == 2
    assert one_line(err).startswith(f"error: file {no_ids}, 'issue_id': ")  # the FISD file is what lacks it


# -- --rates, --no-excess and the simulated market ------------------------------------------------------------

def test_rates_are_required_with_a_one_line_error(files, tmp_path, run):
    code, _, err = run("trace", "monthly", str(files["clean"]), "--fisd", str(files["fisd"]), "--out",
                       str(tmp_path / "m"))
    assert code == 2 and one_line(err) == NEEDS_RATES
    assert not (tmp_path / "m").exists()


def test_rates_with_no_excess_is_an_error(files, tmp_path, run):
    code, _, err = run("trace", "monthly", str(files["clean"]), "--fisd", str(files["fisd"]), "--rates",
                       str(files["rates"]), "--no-excess", "--out", str(tmp_path / "m"))
    line = one_line(err)
    assert code == 2 and "--rates" in line and "--no-excess" in line


def test_no_excess_leaves_rf_and_exret_null_and_says_so(files, tmp_path, run):
    out = tmp_path / "m"
    code, _, err = run("trace", "monthly", str(files["clean"]), "--fisd", str(files["fisd"]), "--no-excess",
                       "--out", str(out))
    assert code == 0, err
    m = monthly(out)
    assert m.height == 8 and m["rf"].null_count() == 8 and m["exret"].null_count() == 8
    assert m["ret"].null_count() == 2  # January has no previous month-end: no return; the rest have one
    options = require_run(out, "trace monthly")["options"]
    assert options["no_excess"] is True and options["rates"] is None and "--no-excess" in options["rates_source"]


def test_rates_given(files, tmp_path, run):
    out = tmp_path / "m"
    code, _, err = run("trace", "monthly", str(files["clean"]), "--fisd", str(files["fisd"]), "--rates",
                       str(files["rates"]), "--out", str(out))
    assert code == 0, err
    assert "note:" not in err
    m = monthly(out).filter(pl.col("cusip_id") == "KEEP00001")
    assert m["rf"].to_list() == [0.001, 0.002, 0.003, 0.004]
    manifest = require_run(out, "trace monthly")
    assert manifest["options"]["rates_source"] == "--rates" and manifest["options"]["no_excess"] is False
    assert files["rates"].resolve() in {Path(i["path"]) for i in manifest["inputs"]}


def test_the_simulated_markets_rates_are_used_with_a_note(tmp_path, run):
    sim, clean = simulated(tmp_path)
    out = tmp_path / "m"
    code, _, err = run("trace", "monthly", str(clean), "--fisd", str(sim / "fisd.parquet"), "--out", str(out))
    assert code == 0, err
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and str(sim / "rates.parquet") in notes[0]
    m = monthly(out).filter(pl.col("cusip_id") == "KEEP00001")
    assert m["rf"].to_list() == [0.001, 0.002, 0.003, 0.004]
    # the return of Feb..Apr is 0 (price 100, zero coupon), so exret = -rf
    assert m["exret"].to_list()[1:] == pytest.approx([-0.002, -0.003, -0.004], abs=1e-15)
    manifest = require_run(out, "trace monthly")
    assert manifest["options"]["rates_source"].startswith("simulated market")
    assert (sim / "rates.parquet").resolve() in {Path(i["path"]) for i in manifest["inputs"]}
    # --no-excess still wins over the simulated rates
    code, _, err = run("trace", "monthly", str(clean / "trades.parquet"), "--fisd", str(sim / "fisd.parquet"),
                       "--no-excess", "--out", str(tmp_path / "m2"))
    assert code == 0, err
    assert "note:" not in err
    assert monthly(tmp_path / "m2")["rf"].null_count() == 8


def test_a_folder_that_is_not_the_simulators_or_changed_since_cleaning_gives_no_rates(tmp_path, run):
    sim, clean = simulated(tmp_path, command="trace clean")  # a rates.parquet beside, but not a simulated market
    code, _, err = run("trace", "monthly", str(clean), "--fisd", str(sim / "fisd.parquet"), "--out",
                       str(tmp_path / "m"))
    assert code == 2 and one_line(err) == NEEDS_RATES
    other = tmp_path / "other"
    other.mkdir()
    sim, clean = simulated(other)
    # the simulated market was regenerated after `trace clean` read it: its rates may not belong to the trades
    manifest = json.loads((sim / MANIFEST).read_text())
    trades().head(3).write_parquet(sim / "trace.parquet")
    (sim / MANIFEST).write_text(json.dumps(manifest))
    code, _, err = run("trace", "monthly", str(clean), "--fisd", str(sim / "fisd.parquet"), "--out",
                       str(other / "m"))
    assert code == 2 and one_line(err) == NEEDS_RATES


def test_simulate_clean_monthly_without_rates(tmp_path, run):
    """The real chain: the simulator's manifest is the marker, its rates.parquet the rates."""
    sim, clean, out = tmp_path / "sim", tmp_path / "clean", tmp_path / "monthly"
    code, _, err = run("simulate", "trace", "--bonds", "12", "--months", "4", "--seed", "5", "--out", str(sim))
    assert code == 0, err
    code, _, err = run("trace", "clean", str(sim / "trace.parquet"), "--fisd", str(sim / "fisd.parquet"), "--out",
                       str(clean), "--workers", "1")
    assert code == 0, err
    code, _, err = run("trace", "monthly", str(clean), "--fisd", str(sim / "fisd.parquet"), "--out", str(out))
    assert code == 0, err
    assert sum(line.startswith("note:") for line in err.splitlines()) == 1
    m = pl.read_parquet(out / "monthly.parquet")
    rf = pl.read_parquet(sim / "rates.parquet").select(
        pl.col("date").dt.month_end().alias("date"), pl.col("rf").alias("rf_sim"))
    both = m.filter(pl.col("ret").is_not_null()).join(rf, on="date", how="left")
    assert both.height > 0 and (both["rf"] == both["rf_sim"]).all()
