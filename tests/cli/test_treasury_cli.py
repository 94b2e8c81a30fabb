"""``bondpremia simulate treasury`` and ``bondpremia treasury forecast`` end to end on a small simulated market."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bondpremia.cli import main


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    with pytest.raises(SystemExit) as done:
        main(["simulate", "treasury", "--months", "300", "--series", "16", "--seed", "3", "--start", "1980-01",
              "--out", str(out)])
    assert done.value.code in (0, None)
    return out


def test_forecast_writes_the_tables(sim, tmp_path, run):
    out = tmp_path / "run"
    code, stdout, err = run(
        "treasury", "forecast", "--yields", str(sim / "yields.parquet"), "--macro", str(sim / "macro.parquet"),
        "--groups", str(sim / "groups.csv"), "--models", "hm,ols,ridge_macro,nn1_3,nn_group1_fwdnet",
        "--start", "1980-01", "--end", "2004-12", "--oos-start", "1999-01", "--seeds", "4", "--keep", "2",
        "--refit-every", "6", "--retune-every", "24", "--dm-against", "ols", "--out", str(out))
    assert code == 0, err
    r2 = pd.read_csv(out / "r2oos.csv", dtype={"maturity": str})
    assert list(r2.columns) == ["model", "maturity", "r2oos", "cw_pvalue"]
    assert set(r2["maturity"]) == {"2", "3", "4", "5", "7", "10", "EW"}
    assert len(r2) == 5 * 7
    fc = pd.read_parquet(out / "forecasts.parquet")
    assert fc["date"].min() == pd.Timestamp("1998-01-31") and fc["target_date"].max() == pd.Timestamp("2004-12-31")
    # R2oos recomputed by hand from the forecasts file (between refits, every 6 months here, even the historical
    # mean model differs from the benchmark, which uses every return realized by the forecast date)
    for (model, maturity), g in fc.groupby(["model", "maturity"]):
        hand = 100 * (1 - ((g["actual"] - g["forecast"]) ** 2).sum() / ((g["actual"] - g["benchmark"]) ** 2).sum())
        assert r2.set_index(["model", "maturity"]).loc[(model, maturity), "r2oos"] == pytest.approx(hand, rel=1e-12)
    hm = fc[fc["model"] == "hm"]
    refit = hm["date"].isin(hm["date"].drop_duplicates().iloc[::6])
    assert np.allclose(hm.loc[refit, "forecast"], hm.loc[refit, "benchmark"], rtol=1e-12, atol=0)
    imp = pd.read_csv(out / "importance.csv")
    assert {"nn1_3", "nn_group1_fwdnet"} <= set(imp["model"])
    assert set(imp.loc[imp["model"] == "nn1_3", "group"]) == {"forwards"}
    assert (imp["importance"] >= 0).all()
    shares = imp.groupby(["model", "maturity"])["share"].sum()
    assert np.allclose(shares, 1.0)
    assert (out / "r2oos_factors.csv").exists()
    dm = pd.read_csv(out / "dm.csv", dtype={"maturity": str})
    assert len(dm) == 4 * 7 and set(dm["reference"]) == {"ols"}
    assert dm["dm_pvalue"].between(0, 1).all()
    assert (out / "figures" / "cumulative_sse.png").stat().st_size > 10_000
    assert (out / "figures" / "importance.png").stat().st_size > 10_000
    assert "R²oos" in stdout


def test_bad_model_name_is_one_line(sim, tmp_path, run):
    code, _, err = run("treasury", "forecast", "--yields", str(sim / "yields.parquet"), "--models",
                       "ols,nn9_x", "--start", "1980-01", "--end", "2004-12", "--oos-start", "1999-01",
                       "--out", str(tmp_path))
    assert code == 2
    assert "--models" in err and "nn9_x" in err


@pytest.mark.parametrize("cmd", [["treasury"], ["treasury", "forecast"], ["treasury", "fredmd"],
                                 ["simulate", "treasury"]])
def test_help(run, cmd):
    code, out, _ = run(*cmd, "--help")
    assert code == 0
    assert "Usage" in out


def test_fredmd_download_offline_is_one_line(tmp_path, run, monkeypatch):
    import urllib.request

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    code, _, err = run("treasury", "fredmd", "--vintage", "2018-12", "--out", str(tmp_path))
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "--vintage" in err and "2018-12" in err and "by hand" in err
