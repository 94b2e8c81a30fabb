"""Agreement of the sorts with PyBondLab (oracle) on simulated bond panels.

PyBondLab 0.3 pins numpy < 2, which the project's own environment cannot share: the tests carry the ``pybondlab``
marker, ``make test`` deselects them, and ``make test-pybondlab`` runs them in a second environment
(``.venv-pybondlab``, built from ``constraints-pybondlab.txt`` and the ``oracle-pybondlab`` extra). See
docs/testing.md.

What is compared (PyBondLab ``SingleSort`` with ``StrategyFormation``; its first ``holding - 1`` months average the
cohorts already live, bondpremia leaves them NaN, so only the months where all cohorts are live are compared):

* equal and value weights, one-month and overlapping three-month holdings, balanced and unbalanced panels (bonds
  leave a cohort mid-holding: both re-weight the survivors);
* value weights over multi-month holdings: ``vw_timing="lagged"`` is PyBondLab's default ``dynamic_weights=True``
  (market value at the end of the month before the return), ``vw_timing="formation"`` is ``dynamic_weights=False``;
  with market values missing at random as well;
* the rating filter: ``rating_range=(lo, hi)`` is PyBondLab's ``rating=(lo, hi)`` (formation month, inclusive).

Known difference, asserted explicitly: with ``dynamic_weights=True`` PyBondLab also drops a bond without a market
value at formation from the *equal*-weighted portfolios; bondpremia's equal weights ignore the weight column.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pandas as pd
import pytest

from bondpremia.portfolio import portfolio_returns, quantile_portfolios, univariate_sort

pytestmark = pytest.mark.pybondlab


def _pbl():
    """PyBondLab, imported when a test runs (not at collection, so the main environment deselects these tests by
    marker instead of skipping them; under ``BONDPREMIA_REQUIRE_ORACLES=1`` a missing PyBondLab fails)."""
    return pytest.importorskip("PyBondLab")

COLS = [1.0, 2.0, 3.0, 4.0, 5.0]
TOL = 1e-15


def panel(n=200, t=24, seed=0, missing=0.1, missing_vw=0.0):
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2010-01-31", periods=t, freq="ME")
    df = pd.DataFrame({"ID": np.tile(np.arange(n), t), "date": np.repeat(dates, n), "x": rng.standard_normal(n * t),
                       "RET": 0.01 * rng.standard_normal(n * t), "VW": rng.uniform(1, 5, n * t),
                       "RATING_NUM": rng.integers(1, 22, n * t)})
    df.loc[rng.uniform(size=len(df)) < missing_vw, "VW"] = np.nan
    return df[rng.uniform(size=len(df)) >= missing].reset_index(drop=True)


def pybondlab(df, holding, dynamic_weights=True, rating=None):
    kwargs = {} if rating is None else {"rating": rating}
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pbl = _pbl()
        strategy = pbl.SingleSort(sort_var="x", holding_period=holding, num_portfolios=5)
        fit = pbl.StrategyFormation(df, strategy=strategy, dynamic_weights=dynamic_weights, **kwargs)
        return fit.fit(IDvar="ID", RETvar="RET").get_ptf()


def compare(got: pd.DataFrame, ref: pd.DataFrame, holding: int) -> float:
    """Max |difference| over the months where all of bondpremia's cohorts are live; checks that those are all
    months but the first ``holding``."""
    g = got[COLS].reindex(ref.index).to_numpy()
    full = ~np.isnan(g).any(axis=1)
    assert full.sum() == len(ref) - holding
    r = ref.to_numpy()[full]
    assert not np.isnan(r).any()
    return float(np.max(np.abs(g[full] - r)))


@pytest.mark.parametrize(("holding", "missing", "missing_vw", "timing"), [
    (1, 0.1, 0.0, "lagged"), (1, 0.0, 0.0, "lagged"),
    (3, 0.0, 0.0, "lagged"), (3, 0.1, 0.0, "lagged"), (3, 0.1, 0.1, "lagged"),
    (3, 0.0, 0.0, "formation"), (3, 0.1, 0.0, "formation"), (3, 0.1, 0.1, "formation"),
])
def test_single_sort_matches_pybondlab(holding, missing, missing_vw, timing):
    df = panel(missing=missing, missing_vw=missing_vw)
    ew, vw = pybondlab(df, holding, dynamic_weights=timing == "lagged")
    ours = df.rename(columns={"ID": "id"})
    got_vw = univariate_sort(ours, "x", 5, ret="RET", weight="VW", holding=holding, vw_timing=timing).returns
    assert compare(got_vw, vw, holding) <= TOL
    if missing_vw == 0 or timing == "formation":  # see the module docstring for equal weights with missing VW
        got_ew = univariate_sort(ours, "x", 5, ret="RET", holding=holding).returns
        assert compare(got_ew, ew, holding) <= TOL


def test_value_weight_timings_differ_and_each_matches_its_pybondlab_mode():
    df = panel(missing=0.1)
    ours = df.rename(columns={"ID": "id"})
    lagged = univariate_sort(ours, "x", 5, ret="RET", weight="VW", holding=3).returns
    formation = univariate_sort(ours, "x", 5, ret="RET", weight="VW", holding=3, vw_timing="formation").returns
    gap = float(np.nanmax(np.abs((lagged[COLS] - formation[COLS]).to_numpy())))
    assert gap > 1e-4  # the comparison can tell the two timings apart
    _, vw_static = pybondlab(df, 3, dynamic_weights=False)
    assert compare(lagged, vw_static, 3) > 1e-4
    assert compare(formation, vw_static, 3) <= TOL


@pytest.mark.parametrize(("holding", "rating"), [(1, (1, 10)), (3, (5, 16))])
def test_rating_filter_matches_pybondlab(holding, rating):
    df = panel(missing=0.1)
    ew, vw = pybondlab(df, holding, rating=rating)
    ours = df.rename(columns={"ID": "id"})
    for ref, weight in ((ew, None), (vw, "VW")):
        got = univariate_sort(ours, "x", 5, ret="RET", weight=weight, holding=holding, rating="RATING_NUM",
                              rating_range=rating).returns
        assert compare(got, ref, holding) <= TOL
    unfiltered = univariate_sort(ours, "x", 5, ret="RET", holding=holding).returns
    assert compare(unfiltered, ew, holding) > 1e-4


@pytest.mark.parametrize("holding", [1, 3])
def test_equal_weights_with_missing_market_values_known_difference(holding):
    """PyBondLab (dynamic weights) leaves bonds without a market value at formation out of the equal-weighted
    portfolios too (after the breakpoints are set); doing the same by hand with bondpremia's building blocks gives
    its numbers."""
    df = panel(missing=0.1, missing_vw=0.1)
    ew, _ = pybondlab(df, holding)
    ours = df.rename(columns={"ID": "id"})
    port = quantile_portfolios(ours, "x", 5)
    same_rule = portfolio_returns(ours, port.where(ours["VW"].notna()), ret="RET", holding=holding).returns
    assert compare(same_rule, ew, holding) <= TOL
    ours_default = univariate_sort(ours, "x", 5, ret="RET", holding=holding).returns
    assert compare(ours_default, ew, holding) > 1e-4
