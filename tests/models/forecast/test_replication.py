"""Replication of BBT Tables 1 and 2 (``bondpremia.models.forecast.replication``) and the certainty-equivalent gain:
hand-computed CER values, the training variance against a loop, the replication table against R²oos computed
from its own forecasts, the published rows, atomic output folders and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_forecast_engine import short_data, yields_panel  # same folder, on sys.path under pytest

from bondpremia.errors import InputError
from bondpremia.models.forecast import PAPER_ROWS, certainty_equivalent_gain, r2_oos, replicate
from bondpremia.models.forecast.replication import MATURITIES, _training_variance, paper_rows


# ----------------------------------------------------------------------------------------------------------------------
# certainty-equivalent gain
# ----------------------------------------------------------------------------------------------------------------------
def test_cer_gain_by_hand():
    y = np.array([0.02, -0.01, 0.03, 0.00])
    f = np.array([0.01, 0.01, 0.02, 0.00])
    b = np.array([0.005, 0.005, 0.005, 0.005])
    v = np.array([0.0004, 0.0004, 0.0002, 0.0002])
    gamma = 5.0
    # model weights f / (gamma v): 5, 5, 20, 0; portfolio returns 0.10, -0.05, 0.60, 0.00
    r_f = np.array([0.10, -0.05, 0.60, 0.0])
    # benchmark weights 0.005 / (5 v): 2.5, 2.5, 5, 5; returns 0.05, -0.025, 0.15, 0.0
    r_b = np.array([0.05, -0.025, 0.15, 0.0])
    cer_f = r_f.mean() - 0.5 * gamma * np.var(r_f, ddof=1)
    cer_b = r_b.mean() - 0.5 * gamma * np.var(r_b, ddof=1)
    assert certainty_equivalent_gain(y, f, b, v, gamma=gamma) == pytest.approx(cer_f - cer_b, rel=1e-12)
    # weights bounded to [0, 2]: model 2, 2, 2, 0; benchmark 2, 2, 2, 2
    r_f2, r_b2 = np.array([0.04, -0.02, 0.06, 0.0]), np.array([0.04, -0.02, 0.06, 0.0])
    expected = (r_f2.mean() - 2.5 * np.var(r_f2, ddof=1)) - (r_b2.mean() - 2.5 * np.var(r_b2, ddof=1))
    assert certainty_equivalent_gain(y, f, b, v, gamma=gamma, weight_bounds=(0.0, 2.0)) == pytest.approx(expected)
    assert certainty_equivalent_gain(y, b, b, v) == 0.0  # the benchmark itself gains nothing


def test_cer_gain_bad_input():
    y = np.ones(5)
    with pytest.raises(InputError, match="positive"):
        certainty_equivalent_gain(y, y, y, np.zeros(5))
    with pytest.raises(InputError, match="gamma"):
        certainty_equivalent_gain(y, y, y, y, gamma=0)
    with pytest.raises(InputError, match="low < high"):
        certainty_equivalent_gain(y, y, y, y, weight_bounds=(2.0, 1.0))
    with pytest.raises(InputError, match="length"):
        certainty_equivalent_gain(y, y[:4], y, y)


def test_training_variance_is_the_variance_of_the_training_rows():
    rng = np.random.default_rng(0)
    targets = rng.standard_normal((50, 3))
    n_train = np.array([2, 10, 37, 50])
    loop = np.array([[np.var(targets[:n, j], ddof=1) for j in range(3)] for n in n_train])
    np.testing.assert_allclose(_training_variance(targets, n_train), loop, rtol=1e-10)


# ----------------------------------------------------------------------------------------------------------------------
# the published rows
# ----------------------------------------------------------------------------------------------------------------------
def test_published_rows():
    t1 = {r.model: r for r in PAPER_ROWS[1]}
    assert t1["nn1_3"].values == (12.7, 16.4, 19.5, 21.6, 23.1, 26.4, 23.0)
    assert t1["pcr3"].values == (-17.6, -10.2, -5.3, 1.0, 2.9, 10.2, 1.0)
    t2 = {r.model: r for r in PAPER_ROWS[2]}
    assert t2["nn_group1_fwdnet"].values[-1] == 34.0 and np.isnan(t2["nn_group1_fwdnet"].values[:6]).all()
    for rows in PAPER_ROWS.values():
        for r in rows:
            assert len(r.values) == len(MATURITIES)
            assert (r.source != "") == bool(np.isfinite(r.values).any()), r.model
    assert [r.model for r in paper_rows(1, ["nn1_3", "ols"])] == ["nn1_3", "ols"]
    assert np.isnan(paper_rows(1, ["ols"])[0].values).all()  # not a row of the table: no published value
    with pytest.raises(InputError, match="1 or 2"):
        paper_rows(3)


# ----------------------------------------------------------------------------------------------------------------------
# replicate
# ----------------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def replication():
    return replicate(short_data(end="1992-12"), 1, models=["pcr3", "ols"], timings=("bbt", "purged"), retune_every=4)


def test_replication_table_against_its_own_forecasts(replication):
    t = replication.table
    assert list(t.columns) == ["table", "model", "label", "timing", "maturity", "r2oos", "paper", "diff",
                               "cw_pvalue", "cer_gain", "source"]
    assert len(t) == 2 * 2 * 7
    fc = replication.forecasts
    for (model, timing, mat), row in t.set_index(["model", "timing", "maturity"]).iterrows():
        g = fc[(fc["model"] == model) & (fc["timing"] == timing) & (fc["maturity"] == mat)]
        expected = 100.0 * r2_oos(g["actual"], g["forecast"], g["benchmark"])
        assert row["r2oos"] == pytest.approx(expected, rel=1e-12)
    pcr3 = t[(t["model"] == "pcr3") & (t["timing"] == "bbt")].set_index("maturity")
    np.testing.assert_allclose(pcr3.loc[list(MATURITIES), "paper"], [-17.6, -10.2, -5.3, 1.0, 2.9, 10.2, 1.0])
    np.testing.assert_allclose(pcr3["diff"], pcr3["r2oos"] - pcr3["paper"])
    assert t.loc[t["model"] == "ols", "paper"].isna().all() and (t.loc[t["model"] == "ols", "source"] == "").all()
    # the purged timing trains on fewer rows than bbt at every date
    n_bbt = fc[fc["timing"] == "bbt"].drop_duplicates("date")["n_train"].to_numpy()
    n_pur = fc[fc["timing"] == "purged"].drop_duplicates("date")["n_train"].to_numpy()
    assert (n_bbt - n_pur == 11).all()
    assert replication.summary("EW").shape[0] == 2


def test_replicate_bad_input():
    data = short_data()
    with pytest.raises(InputError, match="macro"):
        replicate(data, 2, models=["ols"])
    with pytest.raises(InputError, match="timings"):
        replicate(data, 1, models=["ols"], timings=("late",))


def test_save_is_whole_and_never_clobbers_other_folders(replication, tmp_path, monkeypatch):
    from bondpremia.report.figures import replication_bars
    from bondpremia.rundir import MANIFEST, require_run

    out = replication.save(tmp_path / "rep", draw=replication_bars)
    assert {p.name for p in out.iterdir()} == {"replication.csv", "forecasts.parquet", "settings.json", "figures",
                                               MANIFEST}
    manifest = require_run(out, "treasury replicate")
    assert manifest["options"] == json.loads((out / "settings.json").read_text())
    assert manifest["rows"] == {"replication.csv": len(replication.table),
                                "forecasts.parquet": len(replication.forecasts)}
    assert (out / "figures" / "replication.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    back = pd.read_csv(out / "replication.csv", dtype={"maturity": str, "source": str}, keep_default_na=False,
                       na_values={"paper": [""], "diff": [""]})
    pd.testing.assert_frame_equal(back, replication.table, check_dtype=False)
    replication.save(out)  # an earlier replication is replaced; without a drawing function, no figure
    assert {p.name for p in out.iterdir()} == {"replication.csv", "forecasts.parquet", "settings.json", MANIFEST}
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep")
    with pytest.raises(InputError, match="not a bondpremia run folder"):
        replication.save(other)
    assert (other / "mine.txt").read_text() == "keep"

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", fail)
    with pytest.raises(OSError):
        replication.save(tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes", "rep"]  # nothing half-written left


def test_cli_replicate(run, tmp_path):
    ylds = yields_panel("1980-01", "1992-12")
    path = tmp_path / "yields.csv"
    ylds.rename_axis("date").reset_index().to_csv(path, index=False)
    code, out, err = run("treasury", "replicate", "--yields", str(path), "--models", "pcr3", "--timing", "bbt",
                         "--start", "1980-01", "--end", "1992-12", "--oos-start", "1990-01", "--out",
                         str(tmp_path / "out"))
    assert code == 0, err
    assert "PCA (3)" in out
    table = pd.read_csv(tmp_path / "out" / "replication.csv", dtype={"maturity": str})
    assert set(table["timing"]) == {"bbt"} and len(table) == 7
    code, _, err = run("treasury", "replicate", "--yields", str(path), "--timing", "late", "--out",
                       str(tmp_path / "x"))
    assert code == 2 and "--timing" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
    code, _, err = run("treasury", "replicate", "--yields", str(path), "--table", "2", "--out", str(tmp_path / "y"))
    assert code == 2 and "--macro" in err
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    code, _, err = run("treasury", "replicate", "--yields", str(path), "--out", str(mine))  # refused before fitting
    assert code == 2 and "not a bondpremia run folder" in err and len(err.strip().splitlines()) == 1
    assert (mine / "notes.txt").read_text() == "keep"



def test_figure_draws_the_table(replication):
    """The bars are the table's EW values: ours per timing, then the published value."""
    from bondpremia.report.figures import replication_bars

    fig = replication_bars(replication.table)
    ax = fig.axes[0]
    widths = [[p.get_width() for p in c.patches] for c in ax.containers]
    ew = replication.table[replication.table["maturity"] == "EW"]
    for timing, bars in zip(("bbt", "purged"), widths[:2], strict=True):
        np.testing.assert_allclose(bars, ew[ew["timing"] == timing]["r2oos"].to_numpy())
    np.testing.assert_allclose(widths[2], [1.0, np.nan])  # pcr3's published EW; ols is not a row of Table 1
    assert [t.get_text() for t in ax.get_yticklabels()] == ["PCA (3)", "ols"]
