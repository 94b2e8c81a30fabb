"""Performance statistics against quantstats (a test-only oracle; ``quantstats.stats``, version 0.0.86 when written).

Where the definitions agree the numbers must match to rounding (``rel=1e-12``):

* annualized volatility ``sqrt(p) * std(r)`` (``T - 1``), Sharpe ratio, Sortino ratio (downside deviation
  ``sqrt(sum(min(r, 0)^2) / T)``), maximum drawdown of the wealth index started at 1 (quantstats adds a phantom
  starting value of 1, as our ``peak.clip(lower=1)`` does), Calmar ratio;
* CAGR: quantstats' ``cagr(r, periods=p)`` counts years as ``T / p`` periods, so it is our ``ann_return_geom``;
* skewness and excess kurtosis: quantstats calls pandas' ``skew``/``kurt``, the bias-adjusted ``G1``/``G2``;
* historical CVaR: ``cvar(method="historical")`` is minus ours (quantstats reports a return, we report a loss).

Where the definitions differ, the relation is asserted explicitly:

* VaR: quantstats' ``value_at_risk`` is the parametric normal quantile ``mu + sigma * z_a`` (a return, negative),
  ours is historical, ``-quantile(r, a)``; both are computed by hand here. Its default ``cvar`` is the closed-form
  normal expected shortfall ``mu - sigma * phi(z_a) / a``;
* a scalar risk-free rate is de-annualized as ``(1 + rf)^(1/p) - 1`` by both; a risk-free *Series* is read by
  quantstats as annual rates (de-annualized the same way) and by us as per-period rates;
* the Sortino ratio with a risk-free rate: quantstats applies the downside deviation to excess returns, which is our
  ``target`` equal to the per-period risk-free rate (our ``rf`` argument only enters the Sharpe ratio);
* hit rate: quantstats' ``win_rate`` divides the positive periods by the non-zero ones, ours by all periods;
* geometric return: quantstats' ``geometric_mean`` is per period, ours annual, ``(1 + g)^p - 1``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bondpremia.portfolio.performance import performance_stats

qs = pytest.importorskip("quantstats")
qss = pytest.importorskip("quantstats.stats")

ETF = Path(__file__).resolve().parents[3] / "shared" / "data" / "market" / "etf" / "etf_monthly_total_returns.csv"
REL = 1e-12


def simulated(n: int = 240, seed: int = 7) -> pd.Series:
    rng = np.random.default_rng(seed)
    r = 0.004 + 0.03 * rng.standard_t(5, n) / np.sqrt(5 / 3)
    return pd.Series(r, index=pd.date_range("2000-01-31", periods=n, freq="ME"), name="sim")


def shy() -> pd.Series:
    if not ETF.exists():
        pytest.skip("real data not available")
    df = pd.read_csv(ETF)
    r = pd.Series(df["SHY"].to_numpy(dtype=float), name="SHY",
                  index=pd.PeriodIndex(df["month"], freq="M").to_timestamp(how="end").normalize())
    return r.dropna()


def check_against_quantstats(r: pd.Series) -> None:
    p, a = 12, 0.05
    ours = performance_stats(r, periods_per_year=p, var_level=a)
    # same definitions
    assert ours["ann_volatility"] == pytest.approx(qss.volatility(r, periods=p), rel=REL)
    assert ours["sharpe_ann"] == pytest.approx(qss.sharpe(r, periods=p), rel=REL)
    assert ours["sortino_ann"] == pytest.approx(qss.sortino(r, periods=p), rel=REL)
    assert ours["max_drawdown"] == pytest.approx(qss.max_drawdown(r), rel=REL)
    assert ours["ann_return_geom"] == pytest.approx(qss.cagr(r, periods=p), rel=REL)
    assert ours["calmar"] == pytest.approx(qss.calmar(r, periods=p), rel=REL)
    assert ours["skewness_G1_bias_adjusted"] == pytest.approx(qss.skew(r), rel=REL)
    assert ours["excess_kurtosis_G2_bias_adjusted"] == pytest.approx(qss.kurtosis(r), rel=REL)
    assert ours[f"cvar_{a:g}_hist"] == pytest.approx(-qss.cvar(r, confidence=1 - a, method="historical"), rel=REL)
    # different definitions, each side by hand
    mu, sd = r.mean(), r.std(ddof=1)
    z = stats.norm.ppf(a)
    assert qss.value_at_risk(r, confidence=1 - a) == pytest.approx(mu + sd * z, rel=REL)
    assert qss.cvar(r, confidence=1 - a) == pytest.approx(mu - sd * stats.norm.pdf(z) / a, rel=REL)
    assert ours[f"var_{a:g}_hist"] == pytest.approx(-np.quantile(r.to_numpy(), a), rel=REL)
    # the historical VaR lies between the historical CVaR and the best return, the normal one need not
    assert ours[f"var_{a:g}_hist"] <= ours[f"cvar_{a:g}_hist"]
    g = qss.geometric_mean(r)
    assert ours["ann_return_geom"] == pytest.approx((1 + g) ** p - 1, rel=REL)
    nonzero = int((r != 0).sum())
    assert ours["hit_rate"] == pytest.approx(qss.win_rate(r) * nonzero / len(r), rel=REL)


def test_simulated_series_matches_quantstats():
    r = simulated()
    check_against_quantstats(r)


def test_zero_returns_hit_rate_relation():
    """Periods with a zero return count as misses for us and are left out by quantstats' win rate."""
    r = simulated(n=60, seed=3)
    r.iloc[[5, 17, 30]] = 0.0
    check_against_quantstats(r)
    ours = performance_stats(r, periods_per_year=12)
    assert ours["hit_rate"] == pytest.approx((r > 0).sum() / 60, rel=REL)
    assert qss.win_rate(r) == pytest.approx((r > 0).sum() / 57, rel=REL)


def test_risk_free_rate_conventions():
    r = simulated()
    rf_ann = 0.03
    rf_p = (1 + rf_ann) ** (1 / 12) - 1
    ours = performance_stats(r, rf=rf_ann, periods_per_year=12)
    # scalar annual rate: both de-annualize geometrically
    assert ours["sharpe_ann"] == pytest.approx(qss.sharpe(r, rf=rf_ann, periods=12), rel=REL)
    # Sortino against the risk-free rate = our target equal to the per-period rate
    with_target = performance_stats(r, periods_per_year=12, target=rf_p)
    assert with_target["sortino_ann"] == pytest.approx(qss.sortino(r, rf=rf_ann, periods=12), rel=REL)
    # a time-varying rate: quantstats takes annual rates, we take per-period ones
    rf_ann_s = pd.Series(np.linspace(0.0, 0.05, len(r)), index=r.index)
    rf_p_s = (1 + rf_ann_s) ** (1 / 12) - 1
    ours_s = performance_stats(r, rf=rf_p_s, periods_per_year=12)
    assert ours_s["sharpe_ann"] == pytest.approx(qss.sharpe(r, rf=rf_ann_s, periods=12), rel=REL)


@pytest.mark.realdata
def test_shy_monthly_returns_match_quantstats():
    r = shy()
    assert len(r) > 200 and r.index[0] == pd.Timestamp("2002-08-31")
    check_against_quantstats(r)
