"""Fault injection on the command line: every bad option or input in the table ends with exit code 2 and one line
``error: ...`` naming the option (or file, column and row), never a traceback, and writes nothing at ``--out``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bondpremia.simulate.bond_panel import simulate_bond_panel
from bondpremia.simulate.trace import write_simulated_trace

MARKET = Path(__file__).resolve().parents[3] / "shared" / "data" / "market"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("faults")
    panel = simulate_bond_panel(n_bonds=40, n_months=30, seed=1)
    panel.to_parquet(d / "panel.parquet")
    chars = pd.DataFrame({"id": panel["ISIN"], "date": panel["Pricing_Date"], "duration": panel["DUR"],
                          "exret": panel["Return"] / 100})
    chars.to_parquet(d / "chars.parquet")
    write_simulated_trace(d / "sim", n_bonds=10, n_months=3, seed=1)
    (d / "afile").write_text("x")
    return {"dir": d, "panel": d / "panel.parquet", "chars": d / "chars.parquet", "sim": d / "sim",
            "afile": d / "afile"}


CASES = [
    # (id, argv template, message fragment); {out} is a fresh folder that must not appear
    ("sort-n", ["portfolio", "sort", "{chars}", "--char", "duration", "--ret", "exret", "--n", "1000", "--out",
                "{out}"], "'--n': 1000 portfolios, but at most 40 bonds"),
    ("sort-holding", ["portfolio", "sort", "{chars}", "--char", "duration", "--ret", "exret", "--holding", "100",
                      "--out", "{out}"], "'--holding': a 100-month holding period"),
    ("sort-lags", ["portfolio", "sort", "{chars}", "--char", "duration", "--ret", "exret", "--lags", "-3",
                   "--out", "{out}"], "'--lags': must be at least 0"),
    ("chars-unit", ["characteristics", "build", "{panel}", "--ret-unit", "furlongs", "--out", "{out}"],
     "'--ret-unit': must be one of percent, decimal; got 'furlongs'"),
    ("chars-bom", ["characteristics", "build", "{panel}", "--bom-timing", "later", "--out", "{out}"],
     "'--bom-timing'"),
    ("chars-out-is-file", ["characteristics", "build", "{panel}", "--out", "{afile}"], "is a file"),
    ("ipca-bootstrap", ["ipca", "fit", "{chars}", "--factors", "1", "--returns", "exret", "--bootstrap", "-5",
                        "--out", "{out}"], "'--bootstrap': must be at least 0"),
    ("treasury-trees", ["treasury", "forecast", "--yields", "{afile}", "--trees", "0", "--out", "{out}"],
     "'--trees': must be at least 1"),
    ("treasury-seed", ["treasury", "forecast", "--yields", "{afile}", "--seed", "-1", "--out", "{out}"],
     "'--seed': must be at least 0"),
    ("treasury-timing", ["treasury", "forecast", "--yields", "{afile}", "--timing", "later", "--out", "{out}"],
     "'--timing': must be one of purged, bbt"),
    ("trace-steps-twice", ["trace", "clean", "{sim}/trace.parquet", "--fisd", "{sim}/fisd.parquet", "--steps",
                           "dn14_cancel,dn14_cancel", "--out", "{out}"], "'--steps': 'dn14_cancel' is given twice"),
    ("trace-memory", ["trace", "clean", "{sim}/trace.parquet", "--fisd", "{sim}/fisd.parquet", "--memory-limit",
                      "1GB';--", "--out", "{out}"], "is not a memory size"),
    ("trace-workers", ["trace", "clean", "{sim}/trace.parquet", "--fisd", "{sim}/fisd.parquet", "--workers", "0",
                       "--out", "{out}"], "'--workers': must be at least 1"),
]


@pytest.mark.parametrize(("argv", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_option_is_one_line_and_exit_2(files, tmp_path, run, argv, fragment):
    out = tmp_path / "out"
    args = [a.format(out=out, **{k: str(v) for k, v in files.items()}) for a in argv]
    code, _, err = run(*args)
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], err
    assert "Traceback" not in err and not out.exists()


def test_output_folder_that_cannot_be_created(files, tmp_path, run):
    """--out under a file (mkdir fails for any user, root included): one line, exit 2."""
    code, _, err = run("characteristics", "build", str(files["panel"]), "--out", str(files["afile"] / "c"))
    assert code == 2 and "cannot create the output folder" in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.realdata
@pytest.mark.skipif(not MARKET.is_dir(), reason="../shared/data/market is absent")
@pytest.mark.parametrize(("edit", "args", "fragment"), [
    ("percent", [], "'FEDFUNDS', row 10: value '5.25%' is not a number"),
    (None, ["--publication-lag", "-1"], "'--publication-lag': must be at least 0"),
    (None, ["--window", "2"], "'--window': must be at least 4"),
    (None, ["--cost-bps", "-5"], "'--cost-bps': must be at least 0.0"),
])
def test_taylor_rule_bad_inputs(tmp_path, run, edit, args, fragment):
    """One '5.25%' cell once made patsy read the column as categorical and every prediction 0."""
    rates = pd.read_csv(MARKET / "taylor_rule_monthly.csv")
    if edit == "percent":
        rates["FEDFUNDS"] = rates["FEDFUNDS"].astype(object)
        rates.loc[10, "FEDFUNDS"] = "5.25%"
    path = tmp_path / "rates.csv"
    rates.to_csv(path, index=False)
    out = tmp_path / "out"
    code, _, err = run("strategy", "taylor", "--rates", str(path), "--etf",
                       str(MARKET / "etf" / "etf_SHY_daily_yahoo.csv"), "--out", str(out), *args)
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


BAD_FILES = {
    "truncated.parquet": b"PAR1\x00\x01not really parquet",
    "empty.csv": b"",
    "latin1.csv": b"id,date,x\n\xff\xfe,2020-01-31,1\n",
}
COMMANDS = {
    "trace-clean": ["trace", "clean", "{bad}", "--fisd", "{sim}/fisd.parquet", "--out", "{out}"],
    "trace-clean-fisd": ["trace", "clean", "{sim}/trace.parquet", "--fisd", "{bad}", "--out", "{out}"],
    "characteristics": ["characteristics", "build", "{bad}", "--out", "{out}"],
    "portfolio-sort": ["portfolio", "sort", "{bad}", "--char", "x", "--out", "{out}"],
    "ipca": ["ipca", "fit", "{bad}", "--factors", "1", "--out", "{out}"],
    "treasury": ["treasury", "forecast", "--yields", "{bad}", "--out", "{out}"],
}


@pytest.mark.parametrize("bad", sorted(BAD_FILES))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_corrupt_empty_or_non_utf8_files(files, tmp_path, run, command, bad):
    path = tmp_path / bad
    path.write_bytes(BAD_FILES[bad])
    out = tmp_path / "out"
    args = [a.format(out=out, bad=path, sim=files["sim"]) for a in COMMANDS[command]]
    code, _, err = run(*args)
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert not out.exists()


def test_a_data_column_keeps_its_name_file_and_row(files, tmp_path, run):
    """A bad cell in the panel is reported as the library says it (column 'Return', its row), with the file,
    not turned into a fake option '--Return'."""
    panel = pd.read_parquet(files["panel"])
    panel["Return"] = panel["Return"].astype(object)
    panel.loc[5, "Return"] = "abc"
    path = tmp_path / "p.csv"
    panel.to_csv(path, index=False)
    code, _, err = run("characteristics", "build", str(path), "--out", str(tmp_path / "c"))
    assert code == 2, err
    assert err.strip() == (f"error: file {path}, 'Return', row 5: value 'abc' is not a number (write numbers without "
                           f"units or % signs)")


@pytest.fixture(scope="module")
def degenerate(tmp_path_factory) -> dict[str, Path]:
    import numpy as np

    d = tmp_path_factory.mktemp("degenerate")
    dates = pd.date_range("2020-01-31", periods=12, freq="ME")
    ids = [f"b{i}" for i in range(20)]
    rng = np.random.default_rng(0)
    frames = {
        "one_bond": pd.DataFrame({"id": "A", "date": dates, "x": np.arange(12.0), "ret": 0.01}),
        "one_month": pd.DataFrame({"id": ids, "date": dates[0], "x": np.arange(20.0), "ret": 0.01}),
        "constant": pd.DataFrame({"id": np.tile(ids, 12), "date": np.repeat(dates, 20), "x": 1.0,
                                  "ret": rng.normal(0, 0.01, 240)}),
        "three_months": pd.DataFrame({"id": np.tile(ids, 3), "date": np.repeat(dates[:3], 20),
                                      "x": rng.normal(size=60), "z": rng.normal(size=60),
                                      "ret": rng.normal(0, 0.01, 60)}),
    }
    out = {}
    for name, frame in frames.items():
        out[name] = d / f"{name}.csv"
        frame.to_csv(out[name], index=False)
    return out


@pytest.mark.parametrize(("panel", "argv", "fragment"), [
    ("one_bond", ["portfolio", "sort", "--char", "x"], "'--n': 5 portfolios, but at most 1 bonds"),
    ("one_month", ["portfolio", "sort", "--char", "x"], "'--holding': a 1-month holding period needs more"),
    ("constant", ["portfolio", "sort", "--char", "x"], "'--char': 'x' takes a single value in every month"),
    ("one_month", ["ipca", "fit", "--factors", "2"], "'--factors': 2 factor(s) need at least 3 months"),
    ("three_months", ["ipca", "fit", "--factors", "2", "--oos-start", "2020-03"],
     "'--oos-start': start 2020-03-01 leaves no estimation window of at least 3 months"),
])
def test_degenerate_panels(degenerate, tmp_path, run, panel, argv, fragment):
    """One bond, one month, a constant characteristic, more factors than months: one line each, exit 2 (no
    traceback), and the dates in the message are dates, not Timestamp reprs."""
    out = tmp_path / "out"
    code, _, err = run(*argv[:2], str(degenerate[panel]), *argv[2:], "--out", str(out))
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1, err
    assert "Timestamp(" not in err and not out.exists()
