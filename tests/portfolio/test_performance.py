"""Performance statistics against hand computations and scipy; the tear sheet renders with labelled axes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bondpremia.errors import InputError
from bondpremia.portfolio.performance import (
    infer_periods_per_year,
    max_drawdown,
    performance_stats,
    turnover,
)
from bondpremia.report.files import write_tear_sheet

IDX = pd.date_range("2020-01-31", periods=5, freq="ME")
R = pd.Series([0.10, -0.05, 0.02, -0.10, 0.08], index=IDX, name="s")


def test_hand_computed_statistics():
    s = performance_stats(R, periods_per_year=12)
    mean = 0.05 / 5  # 0.01
    assert s["ann_return_arith"] == pytest.approx(12 * mean)
    sd = math.sqrt(sum((x - mean) ** 2 for x in R) / 4)
    assert s["ann_volatility"] == pytest.approx(math.sqrt(12) * sd)
    assert s["sharpe_ann"] == pytest.approx(math.sqrt(12) * mean / sd)
    wealth = 1.10 * 0.95 * 1.02 * 0.90 * 1.08
    assert s["ann_return_geom"] == pytest.approx(wealth ** (12 / 5) - 1)
    downside = math.sqrt((0.05**2 + 0.10**2) / 5)
    assert s["sortino_ann"] == pytest.approx(math.sqrt(12) * mean / downside)
    assert s["hit_rate"] == pytest.approx(3 / 5)
    # wealth 1.10, 1.045, 1.0659, 0.95931, 1.0360548: peak 1.10 (Jan), trough 0.95931 (Apr), not recovered
    assert s["max_drawdown"] == pytest.approx(0.95931 / 1.10 - 1)
    assert s["max_drawdown_peak"] == IDX[0] and s["max_drawdown_trough"] == IDX[3]
    assert pd.isna(s["max_drawdown_recovery"])
    assert s["calmar"] == pytest.approx(s["ann_return_geom"] / abs(0.95931 / 1.10 - 1))
    # VaR 5%: linear interpolation between the two smallest returns (-0.10, -0.05) at position 0.2 -> -0.09
    assert s["var_0.05_hist"] == pytest.approx(0.09)
    assert s["cvar_0.05_hist"] == pytest.approx(0.10)


def test_moments_match_scipy_both_versions():
    r = pd.Series(np.random.default_rng(0).standard_t(5, 200) * 0.02,
                  index=pd.date_range("2000-01-31", periods=200, freq="ME"))
    s = performance_stats(r)
    assert s["skewness_g1"] == pytest.approx(stats.skew(r, bias=True))
    assert s["skewness_G1_bias_adjusted"] == pytest.approx(stats.skew(r, bias=False))
    assert s["excess_kurtosis_g2"] == pytest.approx(stats.kurtosis(r, bias=True))
    assert s["excess_kurtosis_G2_bias_adjusted"] == pytest.approx(stats.kurtosis(r, bias=False))


def test_risk_free_conversion_and_alignment():
    s = performance_stats(R, rf=0.12, periods_per_year=12)
    rf_m = 1.12 ** (1 / 12) - 1
    ex = R - rf_m
    assert s["sharpe_ann"] == pytest.approx(math.sqrt(12) * ex.mean() / ex.std(ddof=1))
    with pytest.raises(InputError, match="missing for dates"):
        performance_stats(R, rf=pd.Series(0.001, index=IDX[:3]))


def test_recovery_date_and_zero_volatility():
    r = pd.Series([0.1, -0.1, 0.2, 0.0], index=IDX[:4])
    dd = max_drawdown(r)
    assert dd["recovery"] == IDX[2] and dd["peak"] == IDX[0]
    flat = performance_stats(pd.Series(0.01, index=IDX), periods_per_year=12)
    assert np.isnan(flat["sharpe_ann"]) and flat["max_drawdown"] == 0.0


def test_bad_input_and_frequency():
    with pytest.raises(InputError):
        performance_stats(pd.Series([0.01], index=IDX[:1]), periods_per_year=12)
    with pytest.raises(InputError, match="missing returns"):
        performance_stats(R.where(R > 0), periods_per_year=12, dropna=False)
    assert performance_stats(R.where(R > -0.07), periods_per_year=12)["n_missing"] == 1
    assert infer_periods_per_year(pd.bdate_range("2020-01-01", periods=30)) == 252
    assert infer_periods_per_year(IDX) == 12


def test_turnover_by_hand():
    w = pd.DataFrame({"a": [1.0, 0.5, 0.0], "b": [0.0, 0.5, 1.0]})
    assert turnover(w) == pytest.approx(0.5)


def test_tear_sheet_renders(tmp_path):
    import matplotlib.pyplot as plt

    r = pd.DataFrame({"a": np.random.default_rng(1).normal(0.005, 0.02, 60)},
                     index=pd.date_range("2015-01-31", periods=60, freq="ME"))
    created = []
    orig = plt.Figure.savefig

    def spy(self, *args, **kwargs):
        created.append(self)
        return orig(self, *args, **kwargs)

    plt.Figure.savefig = spy
    try:
        out = write_tear_sheet(r, tmp_path / "t.png", title="test")
    finally:
        plt.Figure.savefig = orig
    assert out.stat().st_size > 20_000
    for ax in created[0].axes:
        assert ax.get_xlabel() and ax.get_ylabel()
