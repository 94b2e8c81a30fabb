"""The characteristics panel builder: no look-ahead (perturb the future, the past is unchanged), hand-computed
values through the whole builder, both panel styles, ranks and coverage."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from bondpremia.characteristics import build_characteristics
from bondpremia.errors import InputError
from bondpremia.simulate.bond_panel import simulate_bond_panel

# most fixtures here are deliberately partial panels: the warning naming what they lack is tested on its own below
pytestmark = pytest.mark.filterwarnings("ignore::bondpremia.characteristics.MissingInputWarning")


def _macro(dates: pd.DatetimeIndex, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = len(dates)
    return pd.DataFrame({"Mkt-RF": 0.01 + 0.04 * rng.standard_normal(n), "SMB": 0.02 * rng.standard_normal(n),
                         "HML": 0.02 * rng.standard_normal(n), "default_spread": 0.01 + 0.002 * rng.random(n),
                         "term_spread": 0.015 + 0.005 * rng.standard_normal(n),
                         "vix_innovation": 3 * rng.standard_normal(n), "rf": np.full(n, 0.001),
                         "corporate_ret": 0.004 + 0.02 * rng.standard_normal(n),
                         "treasury_ret": 0.002 + 0.015 * rng.standard_normal(n)}, index=dates)


@pytest.fixture(scope="module")
def small():
    panel = simulate_bond_panel(n_bonds=120, n_months=84, seed=3, start="2010-01")
    dates = pd.date_range("2010-01-31", periods=84, freq="ME")
    return panel, _macro(dates)


def test_no_look_ahead(small):
    panel, macro = small
    base = build_characteristics(panel, macro).panel
    cut = pd.Timestamp("2013-06-30")
    assert {"spread", "turnover_vol", "value_at_risk", "vix_beta", "operating_leverage"} <= set(base.columns)
    rng = np.random.default_rng(9)
    future = panel["Pricing_Date"] > cut
    # a beginning-of-month field on the row of t + 1 is known at the end of t: only rows after t + 1 are future
    bom_future = panel["Pricing_Date"] > cut + pd.offsets.MonthEnd(1)
    moved = panel.copy()
    numeric = ["Return", "credit_exret", "DUR", "Coupon", "ParAmount", "Stock_Price", "marketcap", "debt", "ebitda",
               "ebit", "grossmargin", "pricetobook", "pricetoearnings", "PD_DRISK", "sales", "assets"]
    for col in numeric:
        moved.loc[future, col] = moved.loc[future, col] * rng.lognormal(0, 0.5, future.sum())
    moved.loc[bom_future, "oas_BOM"] = moved.loc[bom_future, "oas_BOM"] * rng.lognormal(0, 0.5, bom_future.sum())
    moved.loc[future, "Rating"] = rng.choice(["AAA", "BB1", "CCC2"], future.sum())
    moved.loc[future, "Maturity"] = pd.Timestamp("2099-01-01")
    moved.loc[future, "Sector level 3"] = "Energy"
    moved = moved.drop(index=moved.index[bom_future.to_numpy()][::7])  # bonds also leave the panel in the future
    mac = macro.copy()
    mac.loc[mac.index > cut] *= 3.0
    after = build_characteristics(moved, mac).panel
    names = [c for c in base.columns if c not in ("id", "date", "exret_next")]
    past_a = base[base["date"] <= cut].set_index(["id", "date"])[names]
    past_b = after[after["date"] <= cut].set_index(["id", "date"])[names]
    pd.testing.assert_frame_equal(past_a.sort_index(), past_b.sort_index(), check_exact=True)
    assert len(names) >= 30
    # the next month's return is the one thing on the row of t that comes from t + 1
    last = base[base["date"] == cut].set_index("id")["exret_next"]
    assert not np.allclose(last.dropna(), after[after["date"] == cut].set_index("id")["exret_next"]
                           .reindex(last.dropna().index), equal_nan=True)


def test_hand_values_ice_style():
    dates = pd.date_range("2015-01-31", periods=40, freq="ME")
    rng = np.random.default_rng(4)
    ret_pct = rng.standard_normal(40)
    rows = pd.DataFrame({"Pricing_Date": dates, "ISIN": "XS0000000001", "Return": ret_pct, "oas": 150.0,
                         "Rating": " bbb2 ", "Coupon": 5.0, "ParAmount": 1e9, "marketcap": 4e9, "debt": -99.99,
                         "Maturity": pd.Timestamp("2030-01-31"), "issue_date": pd.Timestamp("2014-01-31")})
    other = rows.assign(ISIN="XS0000000002", Return=-ret_pct, oas=300.0, Rating="BB1", marketcap=1e9, debt=2e9)
    panel = pd.concat([rows, other.drop(index=[10])])  # bond 2 misses one month
    res = build_characteristics(panel)
    one = res.panel[res.panel["id"] == "XS0000000001"].set_index("date")
    two = res.panel[res.panel["id"] == "XS0000000002"].set_index("date")
    t = dates[39]
    assert one.loc[t, "rating"] == 9 and two.loc[t, "rating"] == 11
    assert one.loc[t, "spread"] == pytest.approx(0.015)
    assert np.isnan(one.loc[t, "total_debt"]) and two.loc[t, "total_debt"] == pytest.approx(np.log(2e9))
    assert two.loc[t, "market_leverage"] == pytest.approx(2 / 3)
    # 24 months (KPP), on excess returns here (no credit-excess column; no risk-free rate given: exret = ret)
    assert one.loc[t, "bond_vol"] == pytest.approx(np.std(ret_pct[16:40] / 100, ddof=1), rel=1e-12)
    assert one.loc[t, "value_at_risk"] == pytest.approx(np.sort(ret_pct[4:40])[1] / 100, rel=1e-12)
    assert one.loc[t, "time_to_maturity"] == pytest.approx((pd.Timestamp("2030-01-31") - t).days / 365.25)
    assert one.loc[dates[20], "exret_next"] == pytest.approx(ret_pct[21] / 100)
    # 6-month momentum skipping the most recent month: months t-6 .. t-1
    assert one.loc[t, "bond_momentum"] == pytest.approx(np.prod(1 + ret_pct[33:39] / 100) - 1, rel=1e-12)
    # bond 2's gap at month 10: momentum windows that contain it are missing, later ones are not
    assert np.isnan(two.loc[dates[12], "bond_momentum"]) and np.isfinite(two.loc[dates[18], "bond_momentum"])
    assert res.coverage.loc[t, "total_debt"] == pytest.approx(0.5)
    ranked = build_characteristics(panel, rank=True).panel
    r = ranked[ranked["date"] == t].set_index("id")
    assert r.loc["XS0000000001", "spread"] == -0.5 and r.loc["XS0000000002", "spread"] == 0.5
    assert r.loc["XS0000000001", "total_debt"] == 0.0  # missing -> 0 after ranking


def test_trace_style_panel_and_errors():
    dates = pd.date_range("2018-01-31", periods=30, freq="ME")
    panel = pd.DataFrame({"cusip_id": np.repeat(["00000000A", "00000000B"], 30), "date": np.tile(dates, 2),
                          "ret": np.linspace(-0.02, 0.03, 60), "exret": np.linspace(-0.02, 0.03, 60) - 0.001,
                          "amount_outstanding": 5e8, "rating_num": np.repeat([5, 14], 30),
                          "vol_par": np.linspace(1e6, 5e7, 60), "maturity": pd.Timestamp("2035-06-15")})
    res = build_characteristics(panel)
    assert {"rating", "bond_vol", "trading_turnover_vol", "bond_momentum", "bond_market_beta", "time_to_maturity"} <= \
        set(res.names)
    assert "turnover_vol" in res.missing and res.missing["turnover_vol"] == ["sales", "assets"]
    assert res.panel.loc[res.panel["id"] == "00000000B", "rating"].iloc[0] == 14
    with pytest.raises(InputError, match="two rows"):
        build_characteristics(pd.concat([panel, panel.iloc[:1]]))
    with pytest.raises(InputError, match="date"):
        build_characteristics(panel.drop(columns="date"))


def test_unparseable_value_names_column_and_row():
    panel = simulate_bond_panel(n_bonds=5, n_months=12, seed=1)
    panel["Return"] = panel["Return"].astype(object)
    panel.loc[7, "Return"] = "n/a?"
    with pytest.raises(InputError, match="not a number") as info:
        build_characteristics(panel)
    assert info.value.column == "Return" and info.value.row == 7


def test_bond_market_beta_on_a_corporate_index(small):
    """With ``corporate_index=True`` the beta is on the given index (orthogonalized to Treasuries when given):
    a bond whose excess return is exactly 2 x the orthogonalized index has a beta of 2."""
    panel, macro = small
    dates = macro.index
    rng = np.random.default_rng(5)
    mac = macro.assign(corporate_ret=0.004 + 0.02 * rng.standard_normal(len(dates)),
                       treasury_ret=0.002 + 0.015 * rng.standard_normal(len(dates)))
    from bondpremia.characteristics.macro import bond_market_return

    mkt = bond_market_return(mac["corporate_ret"] - mac["rf"], mac["treasury_ret"] - mac["rf"]).reindex(dates)
    one = pd.DataFrame({"ISIN": "B1", "Pricing_Date": dates, "Return": 100 * (2 * mkt.to_numpy() + mac["rf"]),
                        "ParAmount": 1e9})
    res = build_characteristics(one, mac, corporate_index=True).panel.set_index("date")
    assert res["bond_market_beta"].dropna().to_numpy() == pytest.approx(2.0, abs=1e-9)
    assert res["bond_market_beta"].notna().sum() > 20


def test_rank_leaves_the_macro_series_as_they_are(small):
    """A macro series is the same for every bond in a month: ranking it across bonds would make it 0 everywhere,
    so with rank=True it keeps its value (the macro input of that month), and ``cross_sectional`` leaves it out."""
    panel, macro = small
    res = build_characteristics(panel, macro, rank=True)
    assert {"default_spread", "term_spread", "vix_innovation"} <= set(res.names)
    assert not {"default_spread", "term_spread", "vix_innovation"} & set(res.cross_sectional)
    assert set(res.cross_sectional) | {"default_spread", "term_spread", "vix_innovation"} == set(res.names)
    t = pd.Timestamp("2014-03-31")
    row = res.panel[res.panel["date"] == t]
    assert (row["term_spread"] == macro.loc[t, "term_spread"]).all()
    assert row["duration"].between(-0.5, 0.5).all()


# ---------------------------------------------------------------------------------------------------------------
# KPP (2023) definitions through the builder, ICE timing, universe, missing inputs
# ---------------------------------------------------------------------------------------------------------------

def _two_bonds(n: int = 40, seed: int = 11) -> tuple[pd.DataFrame, pd.DatetimeIndex, np.ndarray]:
    dates = pd.date_range("2012-01-31", periods=n, freq="ME")
    rng = np.random.default_rng(seed)
    oas = 100 + 50 * rng.random((n, 2))
    rows = []
    for j in range(2):
        rows.append(pd.DataFrame({"Pricing_Date": dates, "ISIN": f"B{j}", "Return": rng.standard_normal(n),
                                  "oas_BOM": oas[:, j], "DUR": 5.0 + j, "PD_DRISK": 1.0 + j}))
    return pd.concat(rows, ignore_index=True), dates, oas


def test_beginning_of_month_fields_move_to_the_month_they_are_known_in():
    panel, dates, oas = _two_bonds()
    with pytest.warns(UserWarning):
        res = build_characteristics(panel)
    b0 = res.panel[res.panel["id"] == "B0"].set_index("date")
    # the BOM spread on the row of t + 1 is the spread at the end of t
    np.testing.assert_allclose(b0["spread"].to_numpy()[:-1], oas[1:, 0] / 1e4, rtol=1e-15)
    assert np.isnan(b0["spread"].iloc[-1])
    with pytest.warns(UserWarning):
        same = build_characteristics(panel, bom_timing="as_reported").panel
    np.testing.assert_allclose(same[same["id"] == "B0"]["spread"].to_numpy(), oas[:, 0] / 1e4, rtol=1e-15)
    # upper-case EOM wins over BOM; column names are case-insensitive
    both = panel.assign(OAS_EOM=panel["oas_BOM"] * 2)
    with pytest.warns(UserWarning):
        eom = build_characteristics(both).panel
    np.testing.assert_allclose(eom[eom["id"] == "B0"]["spread"].to_numpy(), 2 * oas[:, 0] / 1e4, rtol=1e-15)


def test_spread_to_d2d_is_spread_over_the_default_probability():
    """With PD_DRISK given, DD = -N^{-1}(PD), so KPP's OAS / (1 - N(DD)) is OAS / PD exactly."""
    panel, dates, oas = _two_bonds()
    with pytest.warns(UserWarning):
        res = build_characteristics(panel, alternatives=["spread_over_dd"]).panel
    b1 = res[res["id"] == "B1"].set_index("date")
    np.testing.assert_allclose(b1["spread_to_d2d"].to_numpy()[:-1], (oas[1:, 1] / 1e4) / 0.02, rtol=1e-12)
    # the former ratio: spread / DD with DD = -N^{-1}(0.02) = 2.0537489106318225 (erfc inverse, 30 digits)
    np.testing.assert_allclose(b1["spread_over_dd"].to_numpy()[:-1], (oas[1:, 1] / 1e4) / 2.0537489106318225,
                               rtol=1e-12)


def test_value_at_risk_and_volatility_use_credit_excess_returns():
    panel, dates, _ = _two_bonds()
    rng = np.random.default_rng(3)
    panel["credit_exret"] = rng.standard_normal(len(panel))
    with pytest.warns(UserWarning):
        res = build_characteristics(panel)
    assert res.notes == []
    b0 = res.panel[res.panel["id"] == "B0"].set_index("date")
    cx = panel.loc[panel["ISIN"] == "B0", "credit_exret"].to_numpy() / 100  # percent, like Return
    t = 39
    assert b0["value_at_risk"].iloc[t] == pytest.approx(np.sort(cx[t - 35:t + 1])[1], rel=1e-12)
    assert b0["bond_vol"].iloc[t] == pytest.approx(np.std(cx[t - 23:t + 1], ddof=1), rel=1e-12)
    assert np.isnan(b0["value_at_risk"].iloc[22]) and np.isfinite(b0["value_at_risk"].iloc[23])  # 24 months


def test_vix_beta_sums_current_and_lagged_coefficients():
    """A bond whose excess return is exactly 0.3 Mkt + 0.2 DEF - 0.1 TERM + 0.002 u_t + 0.003 u_{t-1}: the walk-forward
    regression recovers the coefficients exactly, and vix_beta is 0.002 + 0.003 (KPP Table A.I: the sum)."""
    n = 60
    dates = pd.date_range("2010-01-31", periods=n, freq="ME")
    macro = _macro(dates, seed=4)
    vix = macro["vix_innovation"].to_numpy()
    lag = np.concatenate([[np.nan], vix[:-1]])
    dfr = macro["corporate_ret"] - macro["treasury_ret"]
    trm = macro["treasury_ret"] - macro["rf"]
    ex = 0.3 * macro["Mkt-RF"] + 0.2 * dfr - 0.1 * trm + 0.002 * vix + 0.003 * lag
    one = pd.DataFrame({"ISIN": "B1", "Pricing_Date": dates, "Return": 100 * (ex + macro["rf"]).to_numpy()})
    with pytest.warns(UserWarning):
        res = build_characteristics(one, macro).panel.set_index("date")
    got = res["vix_beta"].dropna()
    assert len(got) == n - 25  # 24 usable months (the first has no lag) before the first estimate
    np.testing.assert_allclose(got.to_numpy(), 0.005, rtol=1e-8)


def test_kpp_universe_keeps_50_to_2000_bp_and_duration_at_least_a_quarter():
    dates = pd.date_range("2015-01-31", periods=3, freq="ME")
    panel = pd.DataFrame({"Pricing_Date": np.tile(dates, 4), "ISIN": np.repeat(["a", "b", "c", "d"], 3),
                          "Return": 0.5, "oas": np.repeat([49.0, 50.0, 2000.0, 2001.0], 3),
                          "DUR": np.repeat([5.0, 0.25, 0.24, 5.0], 3)})
    with pytest.warns(UserWarning):
        res = build_characteristics(panel, universe="kpp", rank=True)
    assert set(res.panel["id"]) == {"b"}  # a: 49 bp; c: duration 0.24; d: 2001 bp
    assert (res.panel["spread"] == 0.0).all()  # ranked within the universe: one bond is the median
    with pytest.raises(InputError, match="universe"):
        build_characteristics(panel.drop(columns="DUR"), universe="kpp")


def test_missing_inputs_are_named_in_a_warning_in_coverage_and_by_strict():
    panel, _, _ = _two_bonds()
    with pytest.warns(UserWarning, match=r"turnover_vol needs sales, assets") as rec:
        res = build_characteristics(panel)
    assert any("age needs offering_date" in str(w.message) for w in rec)
    assert res.missing["age"] == ["offering_date"] and "spread" not in res.missing
    assert (res.coverage["turnover_vol"] == 0.0).all() and "turnover_vol" not in res.names
    with pytest.raises(InputError, match="cannot be built") as info:
        build_characteristics(panel, strict=True)
    assert "operating_leverage needs sales, ebitda" in str(info.value)


def test_simulated_ice_panel_builds_all_29_kpp_characteristics(small):
    from bondpremia.characteristics import KPP_INSTRUMENTS

    panel, macro = small
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = build_characteristics(panel, macro)
    assert len(KPP_INSTRUMENTS) == 29 and set(KPP_INSTRUMENTS) <= set(res.names) and res.missing == {}


def test_wrds_bond_returns_layout_resolves():
    """WRDS Bond Returns (WRDSAPPS.BONDRET) column names, upper case as WRDS documents them."""
    from bondpremia.characteristics import resolve_columns

    cols = ["CUSIP", "DATE", "RET_EOM", "AMOUNT_OUTSTANDING", "RATING_NUM", "OFFERING_DATE", "MATURITY", "COUPON",
            "T_VOLUME", "TMT", "YIELD"]
    roles = resolve_columns(cols)
    assert {k: roles[k] for k in ("id", "date", "ret", "par", "rating", "offering_date", "maturity", "coupon",
                                   "volume")} == {
        "id": "CUSIP", "date": "DATE", "ret": "RET_EOM", "par": "AMOUNT_OUTSTANDING", "rating": "RATING_NUM",
        "offering_date": "OFFERING_DATE", "maturity": "MATURITY", "coupon": "COUPON", "volume": "T_VOLUME"}


def test_fundamental_definitions_through_the_builder():
    """Hand values on one bond-month: gross profit / assets from a margin, (sales - EBITDA) / EBITDA, and the
    volatility of quarterly sales / assets read every third month."""
    dates = pd.date_range("2016-01-31", periods=36, freq="ME")
    ratio = np.repeat([0.20, 0.25, 0.22, 0.30, 0.28, 0.26, 0.24, 0.27, 0.31, 0.29, 0.23, 0.25], 3)
    panel = pd.DataFrame({"Pricing_Date": dates, "ISIN": "X", "Return": 0.5, "assets": 1000.0,
                          "sales": 1000.0 * ratio, "ebitda": 50.0, "grossmargin": 40.0})
    res = build_characteristics(panel).panel.set_index("date")
    t = dates[35]
    assert res.loc[t, "gross_profitability"] == pytest.approx(0.40 * 1000 * ratio[35] / 1000, rel=1e-12)
    assert res.loc[t, "operating_leverage"] == pytest.approx((1000 * ratio[35] - 50) / 50, rel=1e-12)
    assert res.loc[t, "turnover_vol"] == pytest.approx(np.std(ratio[35::-3], ddof=1), rel=1e-12)
    assert res.loc[t, "gross_margin"] == 40.0
