"""Portfolio sorts: hand-computed examples, breakpoints from a subset, overlapping holdings, no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bondpremia.errors import InputError
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


def mv_panel():
    """small_panel with market values that change over time and one missing market value (bond f, Feb)."""
    p = small_panel()
    mv = {"2020-01-31": [1, 1, 1, 1, 2, 3], "2020-02-29": [1, 1, 1, 1, 4, np.nan], "2020-03-31": [1] * 6}
    p["mv"] = [v for d in mv for v in mv[d]]
    return p


def test_value_weights_lagged_by_default_over_multi_month_holdings():
    p = mv_panel()
    lagged = univariate_sort(p, "x", 3, weight="mv", holding=2)
    formation = univariate_sort(p, "x", 3, weight="mv", holding=2, vw_timing="formation")
    # March, portfolio 3: the Jan cohort {e, f} earns March returns 0.02, 0.01 and the Feb cohort {a, b} earns
    # 0.06, 0.05 (Feb market values 1, 1 in both timings: one month after formation they coincide).
    feb_cohort = (0.06 * 1 + 0.05 * 1) / 2
    # lagged: the Jan cohort's second month is weighted by end-of-Feb values e = 4, f = missing -> e only
    assert lagged.returns.loc["2020-03-31", 3.0] == pytest.approx(0.5 * (0.02 + feb_cohort))
    # formation: end-of-Jan values e = 2, f = 3 throughout
    assert formation.returns.loc["2020-03-31", 3.0] == pytest.approx(0.5 * ((0.02 * 2 + 0.01 * 3) / 5 + feb_cohort))
    # portfolio 1: Jan cohort {a, b} (values 1, 1 at both dates) and the Feb cohort {e, f} where f has no
    # end-of-Feb value, so only e counts in both timings
    for res in (lagged, formation):
        assert res.returns.loc["2020-03-31", 1.0] == pytest.approx(0.5 * ((0.06 + 0.05) / 2 + 0.02))
    # equal weights ignore the timing
    ew = [univariate_sort(p, "x", 3, holding=2, vw_timing=t).returns for t in ("lagged", "formation")]
    pd.testing.assert_frame_equal(ew[0], ew[1])
    with pytest.raises(InputError, match="vw_timing"):
        univariate_sort(p, "x", 3, weight="mv", vw_timing="today")


def test_bond_leaving_a_cohort_mid_holding_survivors_reweighted():
    p = mv_panel()
    p = p[~((p["id"] == "b") & (p["date"] == "2020-03-31"))]  # b (Jan cohort, portfolio 1) has no March return
    res = univariate_sort(p, "x", 3, holding=2)
    # Jan cohort in March: a alone (0.06); Feb cohort {e, f}: (0.02 + 0.01) / 2
    assert res.returns.loc["2020-03-31", 1.0] == pytest.approx(0.5 * (0.06 + 0.015))
    vw = univariate_sort(p, "x", 3, holding=2, weight="mv")
    assert vw.returns.loc["2020-03-31", 1.0] == pytest.approx(0.5 * (0.06 + 0.02))  # f: no end-of-Feb value


def brute_force_sort(p, n, holding, weight, timing):
    """Cohort-by-cohort loops over months and bonds (independent of the vectorized code)."""
    p = p.assign(m=pd.DatetimeIndex(p["date"]).to_period("M"))
    rows = {(r.id, r.m): r for r in p.itertuples()}
    months = sorted(p["m"].unique())
    out = {}
    for t in months:
        cur = p[p["m"] == t]
        bps = np.quantile(cur["x"], [k / n for k in range(1, n)])
        port = {r.id: 1 + int(np.sum(r.x > bps)) for r in cur.itertuples()}
        for k in range(1, holding + 1):
            for q in range(1, n + 1):
                num = den = 0.0
                for bond, pq in port.items():
                    nxt = rows.get((bond, t + k))
                    if pq != q or nxt is None or np.isnan(nxt.ret):
                        continue
                    if weight is None:
                        w = 1.0
                    else:
                        if not getattr(rows[(bond, t)], weight) > 0:  # no market value at formation: never held
                            continue
                        src = rows.get((bond, t if timing == "formation" else t + k - 1))
                        w = np.nan if src is None else getattr(src, weight)
                        if not w > 0:
                            continue
                    num += w * nxt.ret
                    den += w
                if den > 0:
                    out.setdefault((t + k, q), []).append(num / den)
    res = {key: np.mean(v) for key, v in out.items() if len(v) == holding}
    return res


@pytest.mark.parametrize("timing", ["lagged", "formation"])
def test_value_weighted_overlapping_holdings_match_brute_force(timing):
    rng = np.random.default_rng(3)
    n, months = 40, 10
    dates = pd.date_range("2021-01-31", periods=months, freq="ME")
    p = pd.DataFrame({"id": np.tile(np.arange(n), months), "date": np.repeat(dates, n),
                      "x": rng.standard_normal(n * months), "ret": 0.02 * rng.standard_normal(n * months),
                      "mv": rng.uniform(0.5, 3.0, n * months)})
    p.loc[rng.uniform(size=len(p)) < 0.1, "mv"] = np.nan
    p = p[rng.uniform(size=len(p)) > 0.1].reset_index(drop=True)  # bonds leave and come back
    got = univariate_sort(p, "x", 4, weight="mv", holding=3, vw_timing=timing).returns
    ref = brute_force_sort(p, 4, 3, "mv", timing)
    assert len(ref) > 20
    for (m, q), v in ref.items():
        assert got.loc[m.to_timestamp(how="end").normalize(), float(q)] == pytest.approx(v, abs=1e-14)
    assert int(got[[1.0, 2.0, 3.0, 4.0]].notna().sum().sum()) == len(ref)


def rated_panel():
    p = small_panel()
    rating = {"2020-01-31": [2, 5, 12, 8, 15, 9], "2020-02-29": [2, 5, 10, 11, np.nan, 9], "2020-03-31": [1] * 6}
    p["rating"] = [v for d in rating for v in rating[d]]
    p["y"] = [3, 1, 0, 2, 0, 5] * 3
    return p


def test_rating_filter_by_hand():
    p = rated_panel()
    res = univariate_sort(p, "x", 2, rating="rating", rating_range=(1, 10))
    # Jan universe (ratings 1..10): a, b, d, f with x = 1, 2, 4, 6 -> median 3: P1 {a, b}, P2 {d, f}
    assert res.returns.loc["2020-02-29", 1.0] == pytest.approx((0.01 + 0.02) / 2)
    assert res.returns.loc["2020-02-29", 2.0] == pytest.approx((0.04 + 0.06) / 2)
    assert res.counts.loc["2020-02-29"].tolist() == [2, 2]
    # Feb universe: a, b, c (rated 10: the bound is inclusive), f; d downgraded to 11, e unrated.
    # x = 6, 5, 4, 1 -> median 4.5: P1 {c, f}, P2 {a, b}
    assert res.returns.loc["2020-03-31", 1.0] == pytest.approx((0.04 + 0.01) / 2)
    assert res.returns.loc["2020-03-31", 2.0] == pytest.approx((0.06 + 0.05) / 2)
    # holding two months: d stays in the Jan cohort through March although it left the range in Feb
    two = univariate_sort(p, "x", 2, rating="rating", rating_range=(1, 10), holding=2)
    assert two.returns.loc["2020-03-31", 2.0] == pytest.approx(0.5 * ((0.03 + 0.01) / 2 + 0.055))


def test_rating_filter_bivariate_dependent_by_hand():
    p = rated_panel()
    res = bivariate_sort(p, "x", "y", 2, 2, method="dependent", rating="rating", rating_range=(1, 10))
    # Jan universe a, b, d, f; x groups {a, b}, {d, f}; within them y: b(1) < a(3), d(2) < f(5)
    feb = res.returns.loc["2020-02-29"]
    assert feb["1-1"] == pytest.approx(0.02) and feb["1-2"] == pytest.approx(0.01)
    assert feb["2-1"] == pytest.approx(0.04) and feb["2-2"] == pytest.approx(0.06)
    assert feb["H-L"] == pytest.approx(((0.01 - 0.02) + (0.06 - 0.04)) / 2)
    assert res.counts.loc["2020-02-29"].sum() == 4


def test_rating_filter_errors_name_the_column():
    p = rated_panel()
    with pytest.raises(InputError, match="'grade'"):
        univariate_sort(p, "x", 2, rating="grade", rating_range=(1, 10))
    with pytest.raises(InputError, match="'rating_range'"):
        univariate_sort(p, "x", 2, rating="rating")
    with pytest.raises(InputError, match="'rating'"):
        univariate_sort(p, "x", 2, rating_range=(1, 10))
    with pytest.raises(InputError, match="'rating_range'"):
        univariate_sort(p, "x", 2, rating="rating", rating_range=(10, 1))
    with pytest.raises(InputError, match="'rating'.*outside the scale"):
        univariate_sort(p.assign(rating=p["rating"] + 20), "x", 2, rating="rating", rating_range=(1, 10))
    with pytest.raises(InputError, match="'rating'.*numeric"):
        univariate_sort(p.assign(rating="AA"), "x", 2, rating="rating", rating_range=(1, 10))
    with pytest.raises(InputError, match="'nothere'"):
        univariate_sort(p, "nothere", 2)
