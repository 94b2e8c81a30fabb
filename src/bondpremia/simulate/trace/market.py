"""The simulated market: the SIFMA business days of the sample, the format change and the regular settlement lags
by day, the three common yield factors (level, slope, credit), and the yield model and yield-to-price formula of
the simulated bonds (see the docstring of ``messages`` for how trades are priced)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from bondpremia.fixed_income.calendar import bond_market_days
from bondpremia.simulate.trace.codes import (
    _STREAM_FACTORS,
    _STREAM_MARKET,
    FORMAT_CHANGE,
    SETTLEMENT_LAGS,
    BoolArray,
    FloatArray,
    IntArray,
)

_FORMAT_CHANGE_DAY = int(np.datetime64(FORMAT_CHANGE, "D").astype(np.int64))


# --- the market: calendar, settlement lags, common factor ----------------------------------------------------------

@dataclass(frozen=True)
class _Market:
    start_mi: int
    n_months: int
    days: IntArray  # SIFMA business days (days since epoch) from the first sample month to 40 days after the end
    n_sample: int  # business days inside the sample months
    pre: BoolArray  # per day: before the post-2012 format
    lag: IntArray  # per day: regular settlement lag
    factor: FloatArray  # per sample day: common yield factor (decimal)
    slope: FloatArray  # per sample day: slope factor (decimal), loading exp(-ttm / 5 years)
    credit: FloatArray  # per sample day: credit factor (decimal), loading (rating - 1) / 10

    @property
    def per_month(self) -> float:
        return self.n_sample / self.n_months


def _market(seed: int, start_mi: int, n_months: int) -> _Market:
    first = np.datetime64(int(start_mi), "M").astype("datetime64[D]")
    last = np.datetime64(int(start_mi + n_months), "M").astype("datetime64[D]") - np.timedelta64(1, "D")
    days = bond_market_days(first, last + np.timedelta64(40, "D")).astype(np.int64)
    n_sample = int(np.searchsorted(days, last.astype(np.int64), side="right"))
    lag = np.full(days.size, SETTLEMENT_LAGS[0][1])
    for since, value in SETTLEMENT_LAGS[1:]:
        lag = np.where(days >= np.datetime64(since, "D").astype(np.int64), value, lag)
    rng = np.random.default_rng([seed, _STREAM_MARKET])
    eps = 0.0005 * rng.standard_normal(n_sample)
    eps[0] += 0.008 * rng.standard_normal()
    factor = lfilter([1.0], [1.0, -0.998], eps)
    # two more priced yield factors, from their own stream (the level factor's draws do not depend on them)
    f_rng = np.random.default_rng([seed, _STREAM_FACTORS])
    slope = lfilter([1.0], [1.0, -0.995], 0.0004 * f_rng.standard_normal(n_sample))
    credit = lfilter([1.0], [1.0, -0.995], 0.0003 * f_rng.standard_normal(n_sample))
    return _Market(start_mi, n_months, days, n_sample, days < _FORMAT_CHANGE_DAY, lag, np.asarray(factor),
                   np.asarray(slope), np.asarray(credit))


# --- yields and prices ---------------------------------------------------------------------------------------------

def _yield_level(rating: IntArray, ttm: FloatArray) -> FloatArray:
    """Yield (decimal) of a bond by rating (1 = AAA) and years to maturity, before the bond and market shocks."""
    return 0.018 + 0.0025 * rating + 0.001 * np.sqrt(np.clip(ttm, 0.0, 30.0))


def _yield_to_price(y: FloatArray, coupon: FloatArray, freq: IntArray, ttm: FloatArray) -> FloatArray:
    f = np.where(freq > 0, freq, 2).astype(np.float64)
    c = coupon / 100.0
    disc = (1.0 + y / f) ** (-f * ttm)
    return 100.0 * (c / y * (1.0 - disc) + disc)
