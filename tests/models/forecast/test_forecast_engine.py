"""Treasury predictors/targets and the recursive out-of-sample engine, against hand computations.

The key property: with ``timing="purged"`` a forecast made at ``t`` uses nothing that is unknown at ``t``, so
perturbing every yield observed after ``t`` leaves it unchanged; ``timing="bbt"`` does not have this property.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, RegressorMixin

from bondpremia.errors import InputError
from bondpremia.fixed_income.curves import excess_returns, forward_rates
from bondpremia.models.forecast.engine import forecast_dates, recursive_forecast, run_models, training_rows
from bondpremia.models.forecast.estimators import ModelSpec
from bondpremia.models.forecast.features import TreasuryData, treasury_data

LABELS = ["2", "3", "4", "5", "7", "10", "EW"]
MATS = [2, 3, 4, 5, 7, 10]


# ----------------------------------------------------------------------------------------------------------------------
# synthetic data
# ----------------------------------------------------------------------------------------------------------------------
def months(start: str, end: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.period_range(start, end, freq="M").to_timestamp(how="end").normalize(), name="date")


def yields_panel(start: str = "1980-01", end: str = "1995-12", seed: int = 0) -> pd.DataFrame:
    """Continuously compounded zero yields (decimals), int month columns 1..120, from a Nelson-Siegel curve
    with a random-walk level, an AR(1) slope and a noisy curvature."""
    rng = np.random.default_rng(seed)
    idx = months(start, end)
    T = len(idx)
    level = 0.06 + np.cumsum(0.002 * rng.standard_normal(T))
    slope = np.empty(T)
    slope[0] = -0.01
    for t in range(1, T):
        slope[t] = -0.0005 + 0.95 * slope[t - 1] + 0.002 * rng.standard_normal()
    curv = 0.003 * rng.standard_normal(T)
    x = np.arange(1, 121) / 12.0 / 2.0
    l1 = (1 - np.exp(-x)) / x
    l2 = l1 - np.exp(-x)
    y = level[:, None] + slope[:, None] * l1 + curv[:, None] * l2 + 0.0002 * rng.standard_normal((T, 120))
    return pd.DataFrame(y, index=idx, columns=list(range(1, 121)))


MACRO_GROUPS = {"INDPRO": 1, "UNRATE": 2, "HOUST": 4, "FEDFUNDS": 6, "CPI": 7, "SP500": 8}


def macro_panel(start: str = "1979-12", end: str = "1995-12", seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = months(start, end)
    return pd.DataFrame(rng.standard_normal((len(idx), len(MACRO_GROUPS))), index=idx, columns=list(MACRO_GROUPS))


@pytest.fixture(scope="module")
def small():
    """1980-01..1995-12; with oos_start 1990-01 the forecasts are made 1989-01..1994-12 (72 dates)."""
    return treasury_data(yields_panel())


def short_data(end: str = "1990-12", seed: int = 0) -> TreasuryData:
    """1980-01..end; with oos_start 1990-01 and end 1990-12 there are 12 forecast dates (1989-01..1989-12)."""
    return treasury_data(yields_panel("1980-01", end, seed=seed))


def wide(run) -> pd.DataFrame:
    return run.forecasts.pivot(index="date", columns="maturity", values="forecast")[LABELS]


# ----------------------------------------------------------------------------------------------------------------------
# treasury_data
# ----------------------------------------------------------------------------------------------------------------------
def test_forwards_and_targets_by_hand():
    ylds = yields_panel("1985-01", "1992-06")
    data = treasury_data(ylds)
    y = {m: ylds[m].to_numpy() for m in ylds.columns}
    # f_t(n) = n y_t(n) - (n - 1) y_t(n - 1), y(0) = 0
    for n in range(1, 11):
        prev = y[12 * (n - 1)] if n > 1 else 0.0
        np.testing.assert_allclose(data.forwards[f"f{n}"].to_numpy(), n * y[12 * n] - (n - 1) * prev,
                                   rtol=0, atol=1e-15)
    assert list(data.forwards.columns) == [f"f{n}" for n in range(1, 11)]
    np.testing.assert_allclose(data.forwards.to_numpy(), forward_rates(ylds, range(1, 11)).to_numpy(), atol=1e-15)
    # rx_{t+12}(n) = p_{t+12}(n-1) - p_t(n) - y_t(1), stored at t
    T = len(ylds)
    hand = np.full((T, 6), np.nan)
    for j, n in enumerate(MATS):
        hand[:-12, j] = -(n - 1) * y[12 * (n - 1)][12:] + n * y[12 * n][:-12] - y[12][:-12]
    hand = np.column_stack([hand, hand.mean(axis=1)])
    assert list(data.targets.columns) == LABELS
    np.testing.assert_allclose(data.targets.to_numpy(), hand, rtol=0, atol=1e-14)
    ref = excess_returns(ylds, MATS, horizon_months=12, date="purchase")
    np.testing.assert_allclose(data.targets.to_numpy(), ref.to_numpy(), rtol=0, atol=0)
    assert data.targets.iloc[-12:].isna().all().all()
    assert data.targets.iloc[:-12].notna().all().all()
    assert data.dates.equals(ylds.index) and data.targets.index.equals(data.forwards.index)
    assert data.macro is None and data.horizon == 12


def test_start_end_window():
    ylds = yields_panel("1985-01", "1992-06")
    data = treasury_data(ylds, start="1986-03", end="1991-11")
    assert data.dates[0] == pd.Timestamp("1986-03-31") and data.dates[-1] == pd.Timestamp("1991-11-30")
    # the last known target is bought at end - 12 and uses the end-of-sample yields, not later ones
    last = data.targets["EW"].last_valid_index()
    assert last == pd.Timestamp("1990-11-30")
    full = treasury_data(ylds)
    np.testing.assert_allclose(data.targets.loc[:last].to_numpy(), full.targets.loc["1986-03":last].to_numpy())
    with pytest.raises(InputError):
        treasury_data(ylds, start="1991-01", end="1990-01")


def test_macro_alignment_and_publication_lag():
    ylds = yields_panel("1985-01", "1990-12")
    mac = macro_panel("1984-11", "1991-06")
    groups = list(MACRO_GROUPS.values())
    plain = treasury_data(ylds, mac, groups)
    lagged = treasury_data(ylds, mac, pd.Series(MACRO_GROUPS), lag_non_market=True)
    assert plain.macro.index.equals(plain.dates) and list(plain.macro.columns) == list(MACRO_GROUPS)
    np.testing.assert_array_equal(plain.groups.to_numpy(), groups)
    for col, g in MACRO_GROUPS.items():
        np.testing.assert_array_equal(plain.macro[col].to_numpy(), mac[col].loc[plain.dates].to_numpy())
        prev = plain.dates - pd.offsets.MonthEnd(1)
        want = mac[col].loc[plain.dates] if g in (6, 8) else mac[col].loc[prev]
        np.testing.assert_array_equal(lagged.macro[col].to_numpy(), want.to_numpy(), err_msg=col)
    X = plain.predictors(True)
    assert list(X.columns) == [f"f{n}" for n in range(1, 11)] + list(MACRO_GROUPS)
    with pytest.raises(InputError, match="macro"):
        treasury_data(ylds).predictors(True)


def test_missing_macro_names_the_column():
    ylds = yields_panel("1985-01", "1990-12")
    mac = macro_panel("1984-11", "1991-06")
    mac.loc["1987-05-31", "CPI"] = np.nan
    with pytest.raises(InputError, match="1987-05") as info:
        treasury_data(ylds, mac, list(MACRO_GROUPS.values()))
    assert info.value.column == "macro" and "'CPI'" in str(info.value)
    # lagging a panel that starts with the yields leaves the first month of a slow series blank
    mac = macro_panel("1985-01", "1991-06")
    with pytest.raises(InputError) as info:
        treasury_data(ylds, mac, list(MACRO_GROUPS.values()), lag_non_market=True)
    slow = {c for c, g in MACRO_GROUPS.items() if g not in (6, 8)}
    assert any(f"'{c}'" in str(info.value) for c in slow) and "month before" in str(info.value)
    with pytest.raises(InputError):
        treasury_data(ylds, mac, lag_non_market=True)  # needs the groups


# ----------------------------------------------------------------------------------------------------------------------
# training rows and forecast dates
# ----------------------------------------------------------------------------------------------------------------------
def test_forecast_dates_paper_sample():
    data = treasury_data(yields_panel("1971-08", "2018-12"))
    dates = forecast_dates(data, "1990-01")
    assert len(dates) == 348
    assert dates[0] == pd.Timestamp("1989-01-31") and dates[-1] == pd.Timestamp("2017-12-31")
    for t in (dates[0], dates[100], dates[-1]):
        pos = data.dates.get_loc(t)
        assert training_rows(pos, "purged") == int((data.dates <= t - pd.offsets.MonthEnd(12)).sum())
        assert training_rows(pos, "bbt") == int((data.dates < t).sum())
    assert training_rows(5, "purged") == 0
    with pytest.raises(InputError):
        training_rows(100, "future")
    with pytest.raises(InputError):
        forecast_dates(data, "2019-01")


# ----------------------------------------------------------------------------------------------------------------------
# look-ahead: the purged timing ignores the future, the BBT timing does not
# ----------------------------------------------------------------------------------------------------------------------
def perturbed_yields(ylds: pd.DataFrame, t: pd.Timestamp, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = ylds.copy()
    after = out.index > t
    out.loc[after] = out.loc[after].to_numpy() + 0.01 * rng.standard_normal((int(after.sum()), out.shape[1]))
    return out


def perturbed_data(data: TreasuryData, t: pd.Timestamp, seed: int) -> TreasuryData:
    """Replace every target realized after t (rows s > t - 12) and every predictor row after t by noise."""
    rng = np.random.default_rng(seed)
    fwd, tgt = data.forwards.copy(), data.targets.copy()
    rows = fwd.index > t
    fwd.loc[rows] = rng.standard_normal((int(rows.sum()), fwd.shape[1]))
    rows = (tgt.index > t - pd.offsets.MonthEnd(12)) & tgt.notna().all(axis=1).to_numpy()
    tgt.loc[rows] = rng.standard_normal((int(rows.sum()), tgt.shape[1]))
    return TreasuryData(forwards=fwd, macro=data.macro, groups=data.groups, targets=tgt, horizon=data.horizon)


BASE_YIELDS = yields_panel()
OPTS = dict(oos_start="1990-01", importance=False, retune_every=12)
_BASELINE: dict[tuple[str, str], pd.DataFrame] = {}


def baseline(model: str, timing: str) -> pd.DataFrame:
    if (model, timing) not in _BASELINE:
        _BASELINE[model, timing] = wide(recursive_forecast(treasury_data(BASE_YIELDS), model, timing=timing, **OPTS))
    return _BASELINE[model, timing]


@pytest.mark.parametrize("model", ["ols", "ridge"])
@settings(max_examples=3, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(k=st.integers(0, 71), seed=st.integers(0, 1000))
def test_purged_forecasts_ignore_the_future(model, k, seed):
    base = baseline(model, "purged")
    t = base.index[k]
    # (a) every yield observed after t is changed
    moved = wide(recursive_forecast(treasury_data(perturbed_yields(BASE_YIELDS, t, seed)), model, timing="purged",
                                    **OPTS))
    pd.testing.assert_frame_equal(moved.loc[:t], base.loc[:t], check_exact=True)
    if k < len(base) - 1:
        assert not np.allclose(moved.iloc[k + 1:].to_numpy(), base.iloc[k + 1:].to_numpy())
    # (b) directly: targets realized after t and predictors after t replaced by noise
    moved = wide(recursive_forecast(perturbed_data(treasury_data(BASE_YIELDS), t, seed), model, timing="purged",
                                    **OPTS))
    pd.testing.assert_frame_equal(moved.loc[:t], base.loc[:t], check_exact=True)


@pytest.mark.parametrize("model", ["ols", "ridge"])
@pytest.mark.parametrize("k", [0, 30, 71])
def test_bbt_forecasts_use_returns_realized_after_t(model, k):
    base = baseline(model, "bbt")
    t = base.index[k]
    moved = wide(recursive_forecast(treasury_data(perturbed_yields(BASE_YIELDS, t, 7)), model, timing="bbt", **OPTS))
    pd.testing.assert_frame_equal(moved.loc[: t - pd.offsets.MonthEnd(12)], base.loc[: t - pd.offsets.MonthEnd(12)],
                                  check_exact=True)
    assert np.abs(moved.loc[t] - base.loc[t]).max() > 1e-6  # the forecast at t itself moved


# ----------------------------------------------------------------------------------------------------------------------
# benchmark, refits, output frame
# ----------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("timing", "lag"), [("purged", 12), ("bbt", 1)])
def test_benchmark_is_mean_of_the_same_training_rows(small, timing, lag):
    run = recursive_forecast(small, "hm", timing=timing, oos_start="1990-01")
    for t, grp in run.forecasts.groupby("date"):
        rows = small.targets.loc[small.targets.index <= t - pd.offsets.MonthEnd(lag)]
        mean = rows.mean()
        np.testing.assert_allclose(grp["benchmark"].to_numpy(), mean[grp["maturity"]].to_numpy(), rtol=0, atol=1e-15)
        np.testing.assert_allclose(grp["forecast"].to_numpy(), grp["benchmark"].to_numpy(), rtol=0, atol=1e-15)
        assert (grp["n_train"] == len(rows)).all()


@pytest.mark.parametrize("refit_every", [1, 3])
@pytest.mark.parametrize("timing", ["purged", "bbt"])
def test_ols_recursion_and_refits_by_hand(small, refit_every, timing):
    run = recursive_forecast(small, "ols", timing=timing, refit_every=refit_every, oos_start="1990-01")
    got = wide(run)
    lag = 12 if timing == "purged" else 1
    X, Y = small.forwards, small.targets
    beta = None
    for k, t in enumerate(got.index):
        if k % refit_every == 0:
            keep = X.index <= t - pd.offsets.MonthEnd(lag)
            Z = np.column_stack([np.ones(keep.sum()), X.loc[keep].to_numpy()])
            beta = np.linalg.lstsq(Z, Y.loc[keep].to_numpy(), rcond=None)[0]
        hand = np.concatenate([[1.0], X.loc[t].to_numpy()]) @ beta
        np.testing.assert_allclose(got.loc[t].to_numpy(), hand, rtol=0, atol=1e-10, err_msg=str(t.date()))


def test_output_frame(small):
    run = recursive_forecast(small, "ols", oos_start="1990-01")
    f = run.forecasts
    assert list(f.columns) == ["model", "date", "target_date", "maturity", "forecast", "actual", "benchmark",
                               "n_train"]
    assert len(f) == 72 * 7 and run.importance is None
    assert pd.api.types.is_string_dtype(f["model"]) and pd.api.types.is_string_dtype(f["maturity"])
    assert pd.api.types.is_datetime64_any_dtype(f["date"]) and pd.api.types.is_datetime64_any_dtype(f["target_date"])
    for col in ("forecast", "actual", "benchmark"):
        assert f[col].dtype == np.float64 and f[col].notna().all()
    assert pd.api.types.is_integer_dtype(f["n_train"])
    assert (f["model"] == "ols").all()
    assert list(f["maturity"].iloc[:7]) == LABELS
    dates = pd.DatetimeIndex(f["date"].unique())
    assert dates.equals(pd.DatetimeIndex(months("1989-01", "1994-12"), name=None).rename(dates.name))
    assert (pd.DatetimeIndex(f["target_date"]) == pd.DatetimeIndex(f["date"]) + pd.offsets.MonthEnd(12)).all()
    actual = small.targets.stack().rename("want")
    merged = f.join(actual, on=["date", "maturity"])
    np.testing.assert_array_equal(merged["actual"].to_numpy(), merged["want"].to_numpy())
    # the realized value at the target date equals the return bought at the forecast date
    realized = excess_returns(yields_panel(), MATS, date="realization")
    realized.columns = LABELS
    last = f[f["date"] == dates[-1]]
    np.testing.assert_allclose(last["actual"].to_numpy(), realized.loc[last["target_date"].iloc[0]].to_numpy())


def test_run_models_stacks():
    data = short_data()
    both = run_models(data, ["ols", "rf"], oos_start="1990-01", n_trees=5, refit_every=6)
    ols = recursive_forecast(data, "ols", oos_start="1990-01", refit_every=6)
    rf = recursive_forecast(data, "rf", oos_start="1990-01", n_trees=5, refit_every=6)
    pd.testing.assert_frame_equal(both.forecasts, pd.concat([ols.forecasts, rf.forecasts], ignore_index=True))
    assert list(both.forecasts["model"].unique()) == ["ols", "rf"]
    pd.testing.assert_frame_equal(both.importance, rf.importance)
    assert run_models(data, ["ols", "hm"], oos_start="1990-01").importance is None


def test_bad_options(small):
    with pytest.raises(InputError):
        recursive_forecast(small, "ols", timing="ahead")
    with pytest.raises(InputError):
        recursive_forecast(small, "ols", refit_every=0)
    with pytest.raises(InputError, match="min_train"):
        recursive_forecast(small, "ols", oos_start="1990-01", min_train=200)
    with pytest.raises(InputError):
        recursive_forecast(small, "ridge_macro", oos_start="1990-01")  # no macro panel


# ----------------------------------------------------------------------------------------------------------------------
# retuning schedule
# ----------------------------------------------------------------------------------------------------------------------
class Spy(RegressorMixin, BaseEstimator):
    """Records the retune flag of every fit."""

    log: list[bool] = []

    def __init__(self, retune: bool = True) -> None:
        self.retune = retune

    def fit(self, X, y):
        Spy.log.append(bool(self.retune))
        self.mean_ = np.asarray(y).mean(axis=0)
        return self

    def predict(self, X):
        return np.tile(self.mean_, (len(X), 1))


def _retune_dates(refit_every: int, retune_every: int) -> list[int]:
    Spy.log = []
    recursive_forecast(short_data(), ModelSpec("spy", Spy(), False, False), oos_start="1990-01",
                       refit_every=refit_every, retune_every=retune_every)
    refits = list(range(0, 12, refit_every))
    assert len(Spy.log) == len(refits)
    return [k for k, flag in zip(refits, Spy.log, strict=True) if flag]


def test_retune_schedule_when_refit_divides_retune():
    assert _retune_dates(1, 4) == [0, 4, 8]
    assert _retune_dates(2, 4) == [0, 4, 8]
    assert _retune_dates(3, 48) == [0]


def test_retune_at_least_every_retune_every_dates():
    """With refits every 2 dates and re-tuning every 5, no refit may keep hyper-parameters older than
    retune_every + refit_every - 1 dates (the code re-tunes at k = 0 and 10 only, i.e. every 10)."""
    retuned = _retune_dates(2, 5)
    for k in range(0, 12, 2):
        assert k - max(r for r in retuned if r <= k) < 5 + 2 - 1, (k, retuned)


# ----------------------------------------------------------------------------------------------------------------------
# cache / resume, determinism, importance
# ----------------------------------------------------------------------------------------------------------------------
class Stop(Exception):
    pass


def stop_at(n: int):
    """A progress callback that interrupts a run after ``n`` finished dates."""

    def progress(done, total):
        if done == n:
            raise Stop

    return progress


def test_interrupted_run_resumes_to_the_same_numbers(tmp_path):
    data = short_data()
    opts = dict(oos_start="1990-01", n_trees=5, refit_every=2, retune_every=4, seed=3)
    full = recursive_forecast(data, "rf", **opts)

    with pytest.raises(Stop):
        recursive_forecast(data, "rf", cache_dir=tmp_path, progress=stop_at(5), **opts)
    folders = list(tmp_path.iterdir())
    assert len(folders) == 1 and (folders[0] / "state.npz").exists()
    calls: list[tuple[int, int]] = []
    resumed = recursive_forecast(data, "rf", cache_dir=tmp_path, progress=lambda d, t: calls.append((d, t)), **opts)
    assert calls[0] == (6, 12) and calls[-1] == (12, 12)  # picked up after the 5 finished dates
    pd.testing.assert_frame_equal(resumed.forecasts, full.forecasts, check_exact=True)
    pd.testing.assert_frame_equal(resumed.importance, full.importance, check_exact=True)
    calls.clear()
    again = recursive_forecast(data, "rf", cache_dir=tmp_path, progress=lambda d, t: calls.append((d, t)), **opts)
    assert calls == []
    pd.testing.assert_frame_equal(again.forecasts, full.forecasts, check_exact=True)
    # a changed setting or changed data gets its own cache
    recursive_forecast(data, "rf", cache_dir=tmp_path, **{**opts, "seed": 4})
    assert len(list(tmp_path.iterdir())) == 2
    recursive_forecast(data, "rf", cache_dir=tmp_path, timing="bbt", **opts)
    assert len(list(tmp_path.iterdir())) == 3
    recursive_forecast(short_data(seed=5), "rf", cache_dir=tmp_path, **opts)
    assert len(list(tmp_path.iterdir())) == 4


def test_resume_with_importance_switched_on(tmp_path):
    """A cache written with importance=False must not be resumed by a run that asks for importance."""
    data = short_data()
    opts = dict(oos_start="1990-01", n_trees=5, refit_every=2, retune_every=2, seed=3)
    full = recursive_forecast(data, "rf", **opts)

    with pytest.raises(Stop):
        recursive_forecast(data, "rf", cache_dir=tmp_path, progress=stop_at(5), importance=False, **opts)
    resumed = recursive_forecast(data, "rf", cache_dir=tmp_path, **opts)
    pd.testing.assert_frame_equal(resumed.importance, full.importance, check_exact=True)


def test_forests_are_deterministic_given_the_seed():
    data = short_data()
    opts = dict(oos_start="1990-01", n_trees=5, refit_every=3)
    a = recursive_forecast(data, "rf", seed=11, **opts)
    b = recursive_forecast(data, "rf", seed=11, **opts)
    c = recursive_forecast(data, "rf", seed=12, **opts)
    pd.testing.assert_frame_equal(a.forecasts, b.forecasts, check_exact=True)
    pd.testing.assert_frame_equal(a.importance, b.importance, check_exact=True)
    assert not np.array_equal(a.forecasts["forecast"].to_numpy(), c.forecasts["forecast"].to_numpy())


def test_forest_importance_finds_the_driving_predictor():
    rng = np.random.default_rng(21)
    idx = months("1980-01", "1990-12")
    fwd = pd.DataFrame(rng.standard_normal((len(idx), 10)), index=idx, columns=[f"f{n}" for n in range(1, 11)])
    signal = 2.0 * fwd["f3"].to_numpy()
    tgt = pd.DataFrame(signal[:, None] * np.linspace(0.5, 1.5, 7) + 0.1 * rng.standard_normal((len(idx), 7)),
                       index=idx, columns=LABELS)
    tgt.iloc[-12:] = np.nan
    data = TreasuryData(forwards=fwd, macro=None, groups=None, targets=tgt)
    run = recursive_forecast(data, "rf", oos_start="1990-01", n_trees=10, refit_every=6)
    imp = run.importance
    assert list(imp.columns) == ["model", "maturity", "predictor", "importance"]
    assert len(imp) == 7 * 10 and (imp["importance"] >= 0).all() and (imp["model"] == "rf").all()
    top = imp.loc[imp.groupby("maturity")["importance"].idxmax(), "predictor"]
    assert set(top) == {"f3"}
    # linear models report no importance
    assert recursive_forecast(data, "ridge", oos_start="1990-01").importance is None


def test_resumed_network_run_replays_the_last_retuning_exactly(tmp_path):
    """The cache holds plain arrays; a network is rebuilt by replaying its last re-tuning fit and last refit."""
    pytest.importorskip("torch")
    data = short_data()
    opts = dict(oos_start="1990-01", refit_every=2, retune_every=4, seed=3, n_seeds=3, n_keep=2,
                nn_options={"max_epochs": 15})
    full = recursive_forecast(data, "nn1_3", **opts)

    with pytest.raises(Stop):
        recursive_forecast(data, "nn1_3", cache_dir=tmp_path, progress=stop_at(7), **opts)
    resumed = recursive_forecast(data, "nn1_3", cache_dir=tmp_path, **opts)
    pd.testing.assert_frame_equal(resumed.forecasts, full.forecasts, check_exact=True)
    pd.testing.assert_frame_equal(resumed.importance, full.importance, check_exact=True)


class _Planted:
    """Unpickling this touches a file: the stand-in for arbitrary code in a planted cache file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(self.path),))


def test_a_planted_pickle_in_the_cache_is_never_loaded(tmp_path):
    import pickle

    data = short_data()
    opts = dict(oos_start="1990-01", n_trees=5, refit_every=2, retune_every=4, seed=3)
    cache = tmp_path / "cache"
    recursive_forecast(data, "rf", cache_dir=cache, **opts)
    (folder,) = list(cache.iterdir())
    (folder / "state.npz").unlink()
    marker = tmp_path / "marker"
    with open(folder / "state.pkl", "wb") as fh:
        pickle.dump(_Planted(marker), fh)
    again = recursive_forecast(data, "rf", cache_dir=cache, **opts)
    assert not marker.exists()
    pd.testing.assert_frame_equal(again.forecasts, recursive_forecast(data, "rf", **opts).forecasts,
                                  check_exact=True)


def test_any_scikit_learn_multi_output_regressor_is_a_forecast_estimator():
    """The ForecastEstimator protocol: the package's models and a plain scikit-learn regressor (no retune, no
    seed) run through the engine; the regressor's forecasts are OLS on the training rows, checked by hand."""
    from sklearn.linear_model import LinearRegression

    from bondpremia.models.forecast.estimators import ForecastEstimator, make_model

    for name in ("hm", "ols", "cp", "pcr3", "ridge", "rf", "gbrt"):
        assert isinstance(make_model(name, n_fwd=10).estimator, ForecastEstimator)
    data = short_data()
    run = recursive_forecast(data, ModelSpec("lr", LinearRegression(), uses_macro=False, seeded=False),
                             oos_start="1990-01")
    ours = recursive_forecast(data, "ols", oos_start="1990-01")
    np.testing.assert_allclose(run.forecasts["forecast"], ours.forecasts["forecast"], rtol=1e-8, atol=1e-12)
