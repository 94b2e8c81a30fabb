"""The command line: JSON output, inverse commands, help on every command, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq

BOND = ["--coupon", "4", "--maturity", "2054-05-15", "--settle", "2024-05-15", "--daycount", "ACT/ACT"]




def test_bond_yield_json_worked_example(run):
    code, out, _ = run("bond", "yield", "--price", "95", *BOND, "--json")
    assert code == 0
    res = json.loads(out)
    v = lambda y: 1 / (1 + y / 2)  # noqa: E731
    expected = brentq(lambda y: sum(2 * v(y) ** k for k in range(1, 61)) + 100 * v(y) ** 60 - 95, 0.001, 0.2,
                      xtol=1e-15)
    assert res["yield"] == pytest.approx(100 * expected, abs=1e-9)
    assert res["accrued"] == 0.0
    assert res["dirty_price"] == pytest.approx(95.0, abs=1e-10)
    assert set(res) >= {"yield", "accrued", "dirty_price", "modified_duration", "convexity"}


def test_bond_price_is_the_inverse_and_par_yields_coupon(run):
    _, out, _ = run("bond", "yield", "--price", "100", *BOND, "--json")
    assert json.loads(out)["yield"] == pytest.approx(4.0, abs=1e-11)
    _, out, _ = run("bond", "yield", "--price", "95", *BOND, "--json")
    y = json.loads(out)["yield"]
    _, out, _ = run("bond", "price", "--yield", repr(y), *BOND, "--json")
    assert json.loads(out)["clean_price"] == pytest.approx(95.0, abs=1e-10)


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["bond", "yield", "--price", "-95", *BOND], "--price"),
        (["bond", "yield", "--price", "95", *BOND[:-2], "--daycount", "BUS/252"], "--daycount"),
        (["bond", "yield", "--price", "95", "--coupon", "4", "--maturity", "2020-01-01", "--settle", "2024-05-15"],
         "--settle"),
        (["bond", "price", "--yield", "4", "--coupon", "4", "--maturity", "2054-13-01", "--settle", "2024-05-15"],
         "--maturity"),
        (["bond", "price", "--yield", "nan", *BOND], "--yield"),
    ],
)
def test_input_errors_are_one_line_and_name_the_option(run, argv, option):
    code, out, err = run(*argv)
    assert code == 2
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert option in err


@pytest.mark.parametrize("cmd", [[], ["bond"], ["bond", "yield"], ["bond", "price"], ["demo"],
                                 ["portfolio", "sort"], ["report"]])
def test_help_on_every_command(run, cmd):
    code, out, _ = run(*cmd, "--help")
    assert code == 0
    assert "Usage" in out


def test_portfolio_sort_writes_hand_checked_returns(run, tmp_path):
    """Ten bonds over three months, sorted into halves on x each month: portfolio returns of the next month are
    equal-weighted means computed here by hand."""
    rng = np.random.default_rng(0)
    dates = pd.date_range("2020-01-31", periods=3, freq="ME")
    panel = pd.DataFrame({"id": np.tile(np.arange(10), 3), "date": np.repeat(dates, 10),
                          "x": rng.standard_normal(30), "exret": rng.standard_normal(30) / 100})
    panel.to_csv(tmp_path / "panel.csv", index=False)
    code, out, err = run("portfolio", "sort", str(tmp_path / "panel.csv"), "--char", "x", "--n", "2",
                         "--ret", "exret", "--out", str(tmp_path / "sorts"))
    assert code == 0, err
    returns = pd.read_csv(tmp_path / "sorts" / "sort_returns_x.csv", index_col=0, parse_dates=True)
    for t0, t1 in zip(dates[:-1], dates[1:], strict=True):
        x0 = panel[panel["date"] == t0].set_index("id")["x"]
        r1 = panel[panel["date"] == t1].set_index("id")["exret"]
        high = x0 > x0.median()
        assert returns.loc[t1, "2.0"] == pytest.approx(r1[high].mean(), abs=1e-15)
        assert returns.loc[t1, "1.0"] == pytest.approx(r1[~high].mean(), abs=1e-15)
    summary = pd.read_csv(tmp_path / "sorts" / "sort_summary_x.csv", index_col=0)
    assert summary.loc["mean", "H-L"] == pytest.approx((returns["2.0"] - returns["1.0"]).mean(), abs=1e-15)
    assert "portfolios on x" in out
    code, _, err = run("portfolio", "sort", str(tmp_path / "panel.csv"), "--char", "nope", "--out",
                       str(tmp_path / "s2"), "--ret", "exret")
    assert code == 2 and "nope" in err


def test_console_script_exit_code():
    proc = subprocess.run([sys.executable, "-c", "from bondpremia.cli import main; main()", "bond", "yield",
                           "--price", "0", *BOND], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error:")
