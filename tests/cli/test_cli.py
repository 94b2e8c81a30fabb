"""The command line: JSON output, inverse commands, help on every command, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

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


@pytest.mark.parametrize("cmd", [[], ["bond"], ["bond", "yield"], ["bond", "price"], ["demo"]])
def test_help_on_every_command(run, cmd):
    code, out, _ = run(*cmd, "--help")
    assert code == 0
    assert "Usage" in out


def test_demo_prices_bonds(run):
    code, out, _ = run("demo", "--json")
    assert code == 0
    bonds = json.loads(out)["bonds"]
    par = next(b for b in bonds if "par" in b["bond"])
    assert par["yield_pct"] == pytest.approx(4.0, abs=1e-10)
    ipca = json.loads(out)["ipca"]
    assert [row["K"] for row in ipca] == [1, 2, 3, 4, 5]
    assert all(0 <= row["r2_total"] <= 1 for row in ipca)


def test_console_script_exit_code():
    proc = subprocess.run([sys.executable, "-c", "from bondpremia.cli import main; main()", "bond", "yield",
                           "--price", "0", *BOND], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error:")
