"""Portfolio sorts: hand-computed examples, breakpoints from a subset, overlapping holdings, no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bondpremia.portfolio.sorts import bivariate_sort, quantile_portfolios, univariate_sort


def small_panel():
    # 6 bonds, months Jan..Mar 2020; characteristic of Jan/Feb sorts, returns of Feb/Mar are earned
    ids = list("abcdef")
    rows = []
    chars = {"2020-01-31": [1, 2, 3, 4, 5, 6], "2020-02-29": [6, 5, 4, 3, 2, 1], "2020-03-31": [1, 1, 1, 1, 1, 1]}
    rets = {"2020-01-31": [0.0] * 6, "2020-02-29": [0.01, 0.02, 0.03, 0.04, 0.05, 0.06],
            "2020-03-31": [0.06, 0.05, 0.04, 0.03, 0.02, 0.01]}
    mv = {"2020-01-31": [1, 1, 1, 1, 1, 3], "2020-02-29": [1, 1, 1, 1, 1, 1], "2020-03-31": [1] * 6}
    for d in chars:
        for i, b in enumerate(ids):
            rows.append({"id": b, "date": pd.Timestamp(d), "x": chars[d][i], "ret": rets[d][i], "mv": mv[d][i]})
    return pd.DataFrame(rows)


def test_quantile_assignment_by_hand():
    p = small_panel()
    port = quantile_portfolios(p, "x", 3)
    # Jan: tercile breakpoints of 1..6 are 2.667 and 4.333 -> {1,2}, {3,4}, {5,6}
    assert port[p["date"] == "2020-01-31"].tolist() == [1, 1, 2, 2, 3, 3]


def test_univariate_equal_and_value_weights_by_hand():
    p = small_panel()
    ew = univariate_sort(p, "x", 3)
    # Jan sort earns Feb returns: P1 = (0.01+0.02)/2, P3 = (0.05+0.06)/2
    feb = ew.returns.loc["2020-02-29"]
    assert feb[1.0] == pytest.approx(0.015) and feb[3.0] == pytest.approx(0.055)
    assert feb["H-L"] == pytest.approx(0.04)
    # Feb sort (x reversed) earns Mar returns: P1 = bonds e,f -> (0.02+0.01)/2
    assert ew.returns.loc["2020-03-31", 1.0] == pytest.approx(0.015)
    vw = univariate_sort(p, "x", 3, weight="mv")
    assert vw.returns.loc["2020-02-29", 3.0] == pytest.approx((0.05 * 1 + 0.06 * 3) / 4)
    assert ew.counts.loc["2020-02-29"].tolist() == [2, 2, 2]
    # turnover: P1 holds {a,b} then {e,f}: all weight replaced
    assert ew.turnover.loc["2020-03-31", 1.0] == pytest.approx(1.0)


def test_breakpoints_from_a_subset():
    p = small_panel()
    ig = p["id"].isin(["a", "b", "c"])  # breakpoints from bonds a, b, c only
    port = quantile_portfolios(p, "x", 2, breakpoints=ig)
    # Jan: median of 1,2,3 is 2 -> x <= 2 in portfolio 1
    assert port[p["date"] == "2020-01-31"].tolist() == [1, 1, 2, 2, 2, 2]


def test_bivariate_independent_and_dependent():
    rng = np.random.default_rng(0)
    n, months = 300, 6
    dates = pd.date_range("2020-01-31", periods=months, freq="ME")
    p = pd.DataFrame({"id": np.tile(np.arange(n), months), "date": np.repeat(dates, n),
                      "a": rng.standard_normal(n * months), "ret": 0.01 * rng.standard_normal(n * months)})
    p["b"] = p["a"] + rng.standard_normal(len(p))  # correlated with a
    ind = bivariate_sort(p, "a", "b", 3, 3, method="independent")
    dep = bivariate_sort(p, "a", "b", 3, 3, method="dependent")
    # dependent sorts give equal counts inside each a-group; independent ones do not
    c_dep = dep.counts.iloc[0]
    assert c_dep.max() - c_dep.min() <= 1
    assert ind.counts.iloc[0].max() - ind.counts.iloc[0].min() > 10
    # the H-L column is the average over a-groups of (b high - b low)
    r = dep.returns.iloc[0]
    assert r["H-L"] == pytest.approx(np.mean([r[f"{i}-3"] - r[f"{i}-1"] for i in (1, 2, 3)]))


def test_overlapping_holding_periods():
    p = small_panel()
    res = univariate_sort(p, "x", 3, holding=2)
    # March: cohort formed in Jan (second month: a,b earn Mar 0.06,0.05) and in Feb (e,f earn 0.02,0.01)
    assert res.returns.loc["2020-03-31", 1.0] == pytest.approx(0.5 * 0.055 + 0.5 * 0.015)
    assert np.isnan(res.returns.loc["2020-02-29", 1.0])  # only one cohort live yet


def test_no_look_ahead():
    p = small_panel()
    base = univariate_sort(p, "x", 3).returns
    shocked = p.copy()
    late = shocked["date"] == "2020-03-31"
    shocked.loc[late, "ret"] += 1.0
    shocked.loc[late, "x"] = shocked.loc[late, "x"][::-1].to_numpy()
    moved = univariate_sort(shocked, "x", 3).returns
    pd.testing.assert_series_equal(base.loc["2020-02-29"], moved.loc["2020-02-29"])


def test_sort_alphas_against_bond_factors():
    from pathlib import Path

    from bondpremia.data import load_factor_file

    path = Path(__file__).resolve().parents[3] / "shared" / "data" / "corporate" / "factors" / \
        "dmr_bbw4_replicated_trace_2004_2021.csv"
    if not path.exists():
        pytest.skip("real data not available")
    factors = load_factor_file(path)
    assert factors.index[0] == pd.Timestamp("2004-08-31") and list(factors.columns) == ["MKTB", "DRF", "CRF", "LRF"]
    # a simulated panel whose returns load 0.5 on the market factor and carry a 0.2%/month alpha in portfolio 3
    rng = np.random.default_rng(1)
    n = 90
    dates = factors.index[:60]
    p = pd.DataFrame({"id": np.tile(np.arange(n), 60), "date": np.repeat(dates, n),
                      "x": np.tile(rng.standard_normal(n), 60)})  # a persistent characteristic
    mkt = factors["MKTB"].reindex(p["date"]).to_numpy()
    top = p["x"] > np.quantile(p["x"].iloc[:n], 2 / 3)
    p["ret"] = 0.5 * mkt + 0.002 * top + 0.001 * rng.standard_normal(len(p))
    res = univariate_sort(p.assign(ret=p["ret"]), "x", 3)
    out = res.alphas(factors[["MKTB"]], lags=3)
    r3 = res.returns[3.0].dropna()
    X = np.column_stack([np.ones(len(r3)), factors["MKTB"].reindex(r3.index)])
    beta = np.linalg.lstsq(X, r3.to_numpy(), rcond=None)[0]
    assert out.loc["alpha", 3.0] == pytest.approx(beta[0], rel=1e-9)
    assert out.loc["beta_MKTB", 3.0] == pytest.approx(beta[1], rel=1e-9)
    assert abs(out.loc["alpha", 3.0] - 0.002) < 3e-4 and abs(out.loc["beta_MKTB", 1.0] - 0.5) < 0.01
