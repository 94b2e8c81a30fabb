"""``bondpremia simulate bond-panel`` and ``bondpremia characteristics build`` end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

MARKET = Path(__file__).resolve().parents[3] / "shared" / "data" / "market"




def test_build_writes_panel_and_coverage(tmp_path, run):
    panel = tmp_path / "panel.parquet"
    assert run("simulate", "bond-panel", "--bonds", "80", "--months", "60", "--out", str(panel))[0] == 0
    code, _, err = run("characteristics", "build", str(panel), "--out", str(tmp_path / "c"), "--rank")
    assert code == 0, err
    # without a macro folder the VIX beta cannot be built: one warning line names it and its inputs
    assert "warning: 1 of the 29 KPP characteristics cannot be built from this panel: vix_beta needs" in err
    chars = pd.read_parquet(tmp_path / "c" / "characteristics.parquet")
    cov = pd.read_csv(tmp_path / "c" / "coverage.csv", index_col=0)
    names = [c for c in chars.columns if c not in ("id", "date", "exret_next")]
    assert set(cov.columns) == {*names, "vix_beta"} and len(cov) == 60 and (cov["vix_beta"] == 0).all()
    assert chars[names].abs().max().max() <= 0.5 and not chars[names].isna().any().any()
    raw = pd.read_parquet(panel)
    assert len(chars) == len(raw)
    # coverage is the share of bonds with a value before ranking: the sentinel -99.99 counts as missing
    t = raw["Pricing_Date"].max()
    month = raw[raw["Pricing_Date"] == t]
    assert cov.loc[str(t.date()), "total_debt"] == pytest.approx(np.mean(month["debt"] != -99.99))


def test_strict_fails_on_a_missing_input(tmp_path, run):
    panel = tmp_path / "panel.parquet"
    assert run("simulate", "bond-panel", "--bonds", "20", "--months", "30", "--out", str(panel))[0] == 0
    code, _, err = run("characteristics", "build", str(panel), "--out", str(tmp_path / "c"), "--strict")
    assert code == 2 and "vix_beta needs macro:Mkt-RF" in err
    assert not (tmp_path / "c" / "characteristics.parquet").exists()


def test_missing_panel_is_one_line(tmp_path, run):
    code, _, err = run("characteristics", "build", str(tmp_path / "nope.parquet"), "--out", str(tmp_path))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "nope.parquet" in err


@pytest.mark.realdata
def test_build_with_real_macro_files(tmp_path, run):
    if not MARKET.exists():
        pytest.skip("../shared/data/market is absent")
    panel = tmp_path / "panel.parquet"
    run("simulate", "bond-panel", "--bonds", "60", "--months", "72", "--start", "2005-01", "--out", str(panel))
    code, _, err = run("characteristics", "build", str(panel), "--macro", str(MARKET), "--out",
                       str(tmp_path / "c"))
    assert code == 0, err
    chars = pd.read_parquet(tmp_path / "c" / "characteristics.parquet")
    assert {"vix_beta", "default_spread", "term_spread", "vix_innovation"} <= set(chars.columns)
    assert chars.loc[chars["date"] == "2008-10-31", "vix_innovation"].iloc[0] > 10  # the October 2008 VIX jump
    assert chars["vix_beta"].notna().mean() > 0.4
