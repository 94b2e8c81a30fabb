"""Signal backtests: hand-computed timing, overlapping holdings, costs, and no look-ahead (property test)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bondpremia.data.prices import load_yahoo_prices, monthly_total_returns
from bondpremia.errors import InputError
from bondpremia.portfolio.backtest import signal_backtest, taylor_rule_signal, taylor_rule_strategy

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
IDX = pd.date_range("2020-01-31", periods=5, freq="ME")


def test_hand_computed_timing_and_costs():
    signal = pd.Series([1.0, -2.0, 0.5, 0.0, 3.0], index=IDX)
    ret = pd.Series([0.01, 0.02, -0.01, 0.03, 0.04], index=IDX)
    res = signal_backtest(signal, ret, cost_bps=10)
    out = res.returns
    assert res.settings == {"holding": 1, "cost_bps": 10, "sizing": "sign"} and res.to_frame() is out
    # positions: sign of the previous signal -> Feb +1, Mar -1, Apr +1, May 0
    assert out["position"].tolist() == [1.0, -1.0, 1.0, 0.0]
    assert out["gross"].tolist() == pytest.approx([0.02, 0.01, 0.03, 0.0])
    # traded notional: 1 (open), 2, 2, 1; cost 10 bp each
    assert out["cost"].tolist() == pytest.approx([0.001, 0.002, 0.002, 0.001])
    assert out["net"].tolist() == pytest.approx([0.019, 0.008, 0.028, -0.001])


def test_overlapping_cohorts():
    signal = pd.Series([1.0, 1.0, -1.0, -1.0, 1.0], index=IDX)
    ret = pd.Series(0.01, index=IDX)
    out = signal_backtest(signal, ret, holding=2).returns
    # cohorts opened at Jan..Apr, each held two months: Mar (1+1)/2, Apr (1-1)/2, May (-1-1)/2
    assert out["position"].tolist() == [1.0, 0.0, -1.0]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 30), st.integers(1, 3), st.randoms(use_true_random=False))
def test_no_look_ahead(cut, holding, rnd):
    idx = pd.date_range("2000-01-31", periods=40, freq="ME")
    rng = np.random.default_rng(rnd.randint(0, 2**31))
    signal = pd.Series(rng.standard_normal(40), index=idx)
    ret = pd.Series(0.02 * rng.standard_normal(40), index=idx)
    base = signal_backtest(signal, ret, holding=holding, cost_bps=5).returns
    s2, r2 = signal.copy(), ret.copy()
    s2.iloc[cut + 1:] = rng.standard_normal(39 - cut)  # signals known after date `cut` change
    r2.iloc[cut + 1:] = rng.standard_normal(39 - cut)  # and so do later returns
    moved = signal_backtest(s2, r2, holding=holding, cost_bps=5).returns
    known = base.index <= idx[cut]
    pd.testing.assert_frame_equal(base[known].drop(columns="signal"), moved[known].drop(columns="signal"))
    # the position held over cut+1 was fixed at the end of cut
    if cut + 1 < 40 and idx[cut + 1] in base.index:
        assert base.loc[idx[cut + 1], "position"] == moved.loc[idx[cut + 1], "position"]


def test_bad_input():
    signal = pd.Series([1.0, -1.0, 1.0], index=IDX[:3])
    with pytest.raises(InputError, match="missing for signal dates"):
        signal_backtest(signal, pd.Series([0.01, 0.02], index=IDX[:2]))
    with pytest.raises(InputError, match="NaN"):
        signal_backtest(signal, pd.Series([0.01, np.nan, 0.02], index=IDX[:3]))


@pytest.mark.realdata
def test_taylor_rule_signal_and_etf_returns_on_real_data():
    rates_path = SHARED / "market" / "taylor_rule_monthly.csv"
    shy_path = SHARED / "market" / "etf" / "etf_SHY_daily_yahoo.csv"
    monthly_path = SHARED / "market" / "etf" / "etf_monthly_total_returns.csv"
    if not (rates_path.exists() and shy_path.exists()):
        pytest.skip("real data not available")
    shy = monthly_total_returns(load_yahoo_prices(shy_path))
    published = pd.read_csv(monthly_path, index_col="month")["SHY"].dropna()
    published.index = pd.PeriodIndex(published.index, freq="M").to_timestamp(how="end").normalize()
    common = shy.index.intersection(published.index)
    assert len(common) > 200
    np.testing.assert_allclose(shy.loc[common], published.loc[common], atol=1e-6)
    rates = pd.read_csv(rates_path, parse_dates=["date"], index_col="date")
    sig = taylor_rule_signal(rates, window=36, publication_lag=1)
    # the signal dated at the end of Feb 2010 comes from data of January 2010 and a window ending December 2009
    jan = rates.loc["2010-01-01"]
    assert sig.loc["2010-02-28", "observed"] == pytest.approx(jan["FEDFUNDS"])
    out = taylor_rule_strategy(rates, shy, window=36).returns
    assert out.index.min() > shy.index.min() and out["position"].abs().max() == 1.0
    # the March 2010 position is the sign of the February 2010 signal
    assert out.loc["2010-03-31", "position"] == np.sign(sig.loc["2010-02-28", "signal"])


@pytest.mark.realdata
def test_cli_strategy_taylor(tmp_path):
    import json

    from bondpremia.cli import main

    rates_path = SHARED / "market" / "taylor_rule_monthly.csv"
    shy_path = SHARED / "market" / "etf" / "etf_SHY_daily_yahoo.csv"
    if not (rates_path.exists() and shy_path.exists()):
        pytest.skip("real data not available")
    out = tmp_path / "taylor"
    with pytest.raises(SystemExit) as done:
        main(["strategy", "taylor", "--rates", str(rates_path), "--etf", str(shy_path), "--window", "36",
              "--out", str(out)])
    assert done.value.code == 0
    stats = json.loads((out / "stats.json").read_text())["statistics"]
    rets = pd.read_csv(out / "returns.csv", index_col=0)
    net = rets["net"]
    assert stats["strategy"]["ann_return_arith"] == pytest.approx(12 * net.mean(), rel=1e-9)
    assert (out / "strategy.png").stat().st_size > 20_000
    assert (out / "taylor_rule.png").stat().st_size > 20_000
