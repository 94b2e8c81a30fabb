"""Macro series of the characteristics panel and the Ken French loader, against hand and statsmodels computations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from bondpremia.characteristics.macro import (
    bond_market_return,
    default_spread,
    expanding_simple_ols,
    read_macro_folder,
    vix_innovation,
)
from bondpremia.data.factors import load_factor_file
from bondpremia.data.kenfrench import load_ken_french
from bondpremia.errors import InputError

MARKET = Path(__file__).resolve().parents[3] / "shared" / "data" / "market"


def test_expanding_ols_matches_statsmodels_on_past_rows_only():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(60) * 3 + 20
    y = 2 + 0.8 * x + rng.standard_normal(60)
    x[[5, 17]] = np.nan
    a, b = expanding_simple_ols(x, y, min_obs=10)
    for t in range(60):
        ok = np.isfinite(x[:t]) & np.isfinite(y[:t])
        if ok.sum() < 10:
            assert np.isnan(a[t]) and np.isnan(b[t])
            continue
        fit = sm.OLS(y[:t][ok], sm.add_constant(x[:t][ok])).fit()
        assert a[t] == pytest.approx(fit.params[0], abs=1e-9)
        assert b[t] == pytest.approx(fit.params[1], abs=1e-10)


def test_vix_innovation_is_walk_forward():
    idx = pd.date_range("2000-01-31", periods=80, freq="ME")
    rng = np.random.default_rng(1)
    level = np.empty(80)
    level[0] = 20
    for t in range(1, 80):
        level[t] = 4 + 0.8 * level[t - 1] + rng.standard_normal() * 2
    vix = pd.Series(level, index=idx)
    u = vix_innovation(vix, min_obs=24)
    # by hand at t = 50: AR(1) on the pairs (t-1, t) for t = 1..49
    fit = sm.OLS(level[1:50], sm.add_constant(level[0:49])).fit()
    assert u.iloc[50] == pytest.approx(level[50] - fit.params[0] - fit.params[1] * level[49], abs=1e-10)
    assert u.iloc[:25].isna().all() and u.iloc[26:].notna().all()
    future = vix.copy()
    future.iloc[51:] += rng.standard_normal(29) * 10
    np.testing.assert_array_equal(vix_innovation(future, min_obs=24).iloc[:51].to_numpy(), u.iloc[:51].to_numpy())


def test_bond_market_return_removes_the_past_treasury_beta():
    idx = pd.date_range("2001-01-31", periods=70, freq="ME")
    rng = np.random.default_rng(2)
    tsy = pd.Series(rng.standard_normal(70) * 0.02, index=idx)
    corp = 0.002 + 0.7 * tsy + pd.Series(rng.standard_normal(70) * 0.005, index=idx)
    mkt = bond_market_return(corp, tsy, min_obs=24)
    t = 40
    b = sm.OLS(corp.iloc[:t].to_numpy(), sm.add_constant(tsy.iloc[:t].to_numpy())).fit().params[1]
    assert mkt.iloc[t] == pytest.approx(corp.iloc[t] - b * tsy.iloc[t], abs=1e-12)


def test_ken_french_layout(tmp_path):
    text = "Made by hand\n\n,Mkt-RF,SMB,RF\n202401,   1.00,  -2.00, 0.40\n202402,   2.50, -99.99, 0.41\n\n" \
           " Annual Factors: January-December \n,Mkt-RF,SMB,RF\n  2024,   3.0, 1.0, 5.0\n"
    (tmp_path / "kf.csv").write_text(text)
    got = load_ken_french(tmp_path / "kf.csv")
    assert list(got.columns) == ["Mkt-RF", "SMB", "RF"]
    assert list(got.index) == [pd.Timestamp("2024-01-31"), pd.Timestamp("2024-02-29")]
    assert got.loc["2024-02-29", "Mkt-RF"] == pytest.approx(0.025) and np.isnan(got.loc["2024-02-29", "SMB"])
    (tmp_path / "bad.csv").write_text(",Mkt-RF,RF\n202401, 1.0, x\n")
    with pytest.raises(InputError, match="RF") as info:
        load_ken_french(tmp_path / "bad.csv")
    assert info.value.row == 2


@pytest.mark.realdata
def test_real_market_files():
    if not MARKET.exists():
        pytest.skip("../shared/data/market is absent")
    ff = load_ken_french(MARKET / "ff3_monthly_kf_202412.csv")
    assert ff.index[0] == pd.Timestamp("1926-07-31") and ff.loc["1926-07-31", "Mkt-RF"] == pytest.approx(0.0296)
    assert ff.index[-1] == pd.Timestamp("2024-12-31") and ff.index.is_monotonic_increasing
    baa = load_factor_file(MARKET / "fred_BAA_monthly.csv", percent=True)["value"]
    aaa = load_factor_file(MARKET / "fred_AAA_monthly.csv", percent=True)["value"]
    ds = default_spread(baa, aaa)
    assert ds.loc["1959-01-31"] == pytest.approx((4.87 - float(aaa.iloc[0] * 100)) / 100)
    macro = read_macro_folder(MARKET)
    want = {"default_spread", "term_spread", "vix", "vix_innovation", "rf", "treasury_ret", "corporate_ret"}
    assert want <= set(macro.columns)
    assert macro.loc["2008-10-31", "vix"] > 50 and macro["default_spread"].loc["2008-12-31"] > 0.03
