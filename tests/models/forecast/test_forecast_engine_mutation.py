"""Tests added from mutation testing (``make mutate``) of ``models/forecast/engine.py``.

Each test pins a behaviour that a surviving mutant changed: the documented defaults, the flags and seed every fit
receives, the replay of a resumed run, the refusal of a corrupt or foreign cache file, the cache key, the
holding period, the macro design matrix, the importance averages, and the argument each error names. Expected
values are hand calculations from the definitions in the module docstring (training rows ``s + h <= t``;
importance = |input gradient| x standard deviation, BBT 2021 Section 4.3; permutation importance, Breiman 2001),
never the engine's own output.

The synthetic panel of ``short_data()`` spans 1980-01..1990-12: with ``oos_start="1990-01"`` the forecast dates
are 1989-01..1989-12 (positions 108..119), so the purged window at the ``k``-th date holds ``108 + k - 12 + 1 =
97 + k`` rows.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from test_forecast_engine import MACRO_GROUPS, macro_panel, short_data, yields_panel

from bondpremia.errors import InputError
from bondpremia.models.forecast import engine
from bondpremia.models.forecast.engine import _importance, forecast_dates, recursive_forecast, run_models, training_rows
from bondpremia.models.forecast.estimators import GradientBoostedTrees, ModelSpec, ValidatedTrees
from bondpremia.models.forecast.features import treasury_data

FIRST_ROWS = 97  # purged training rows at the first forecast date of short_data() (module docstring)


class Recorder(RegressorMixin, BaseEstimator):
    """Forecasts the training mean and records the parameters and training rows of every fit."""

    log: list[dict[str, object]] = []

    def __init__(self, retune=True, warm_start=False, seed=0, random_state=None, tag=0) -> None:
        self.retune = retune
        self.warm_start = warm_start
        self.seed = seed
        self.random_state = random_state
        self.tag = tag

    def fit(self, X, y):
        Recorder.log.append({"n": len(X), "retune": self.retune, "warm_start": self.warm_start, "seed": self.seed,
                             "random_state": self.random_state})
        self.mean_ = np.asarray(y).mean(axis=0)
        return self

    def predict(self, X):
        return np.tile(self.mean_, (len(X), 1))


class GradientRecorder(Recorder):
    """A network stand-in: input gradients ``g[i, j] = (-1)^(i+j) (i+1) (j+1) n / 100`` of a fit on ``n`` rows."""

    def fit(self, X, y):
        self.n_ = len(X)
        return super().fit(X, y)

    def input_gradients(self, x):
        m, p = len(self.mean_), np.asarray(x).shape[1]
        i, j = np.meshgrid(np.arange(m), np.arange(p), indexing="ij")
        return ((-1.0) ** (i + j) * (i + 1) * (j + 1) * self.n_ / 100.0)[None]


def recorded(data, *, spec=None, **options):
    Recorder.log = []
    run = recursive_forecast(data, spec or ModelSpec("rec", Recorder(), False, True), oos_start="1990-01", **options)
    return run, list(Recorder.log)


class Stop(Exception):
    pass


def stop_after(n: int):
    def progress(done, total):
        if done == n:
            raise Stop

    return progress


# ----------------------------------------------------------------------------------------------------------------------
# defaults, flags and seeds of every fit
# ----------------------------------------------------------------------------------------------------------------------
def test_defaults_are_the_documented_settings():
    """The paper's sample start, BBT's 100 seeds keeping the 10 best and re-tuning every 60 months (docstring)."""
    defaults = {name: p.default for name, p in inspect.signature(recursive_forecast).parameters.items()
                if p.default is not inspect.Parameter.empty}
    assert defaults == {"oos_start": "1990-01", "timing": "purged", "refit_every": 1, "retune_every": 60, "seed": 0,
                        "seed_per_date": False, "n_seeds": 100, "n_keep": 10, "n_trees": 300, "nn_options": None,
                        "min_train": 36, "importance": True, "cache_dir": None, "progress": None}


def test_a_call_without_options_follows_the_documented_defaults(monkeypatch):
    """The defaults at work, not only in the signature (a mutated default leaves ``inspect.signature`` alone):
    forecasts from 1989-01 (returns realized from 1990-01), a fit every month, re-tuning at the first date and
    60 months later, seed 0, BBT's 100 network seeds keeping 10 and 300 trees, and at least 36 training rows."""
    calls = []
    real = engine.make_model
    monkeypatch.setattr(engine, "make_model", lambda *a, **kw: calls.append(kw) or real(*a, **kw))
    data = short_data(end="1996-12")  # targets through 1995-12: 84 forecast dates
    Recorder.log = []
    run = recursive_forecast(data, ModelSpec("rec", Recorder(), False, True))
    log = Recorder.log
    assert run.forecasts["date"].min() == pd.Timestamp("1989-01-31")
    assert [r["n"] for r in log] == [FIRST_ROWS + k for k in range(84)]
    assert [r["retune"] for r in log] == [k in (0, 60) for k in range(84)]
    assert {r["seed"] for r in log} == {0} == {r["random_state"] for r in log}
    recursive_forecast(data, "hm")
    assert calls == [{"n_seeds": 100, "n_keep": 10, "n_trees": 300, "nn_options": None}]
    # purged rows at the first forecast date (position p): p - 12 + 1; p = 47 (1983-12) leaves exactly 36
    assert len(recursive_forecast(data, "hm", oos_start="1984-12").forecasts) > 0
    with pytest.raises(InputError, match=r"only 35 training rows .*\(min_train=36\)"):
        recursive_forecast(data, "hm", oos_start="1984-11")


def test_every_fit_gets_the_schedule_flags_and_the_seed():
    _, log = recorded(short_data(), refit_every=2, retune_every=4, seed=5)
    refits = [0, 2, 4, 6, 8, 10]
    assert [r["n"] for r in log] == [FIRST_ROWS + k for k in refits]
    assert [r["retune"] for r in log] == [k in (0, 4, 8) for k in refits]
    assert all(r["warm_start"] is True for r in log)  # networks continue from the last re-tuning's weights
    assert [r["seed"] for r in log] == [5] * 6 and [r["random_state"] for r in log] == [5] * 6
    _, log = recorded(short_data(), refit_every=2, retune_every=4, seed=5, seed_per_date=True)
    assert [r["seed"] for r in log] == [5 + k for k in refits] == [r["random_state"] for r in log]


def test_the_first_date_re_tunes_however_long_the_re_tuning_interval():
    _, log = recorded(short_data(), retune_every=1000)
    assert [r["retune"] for r in log] == [True] + [False] * 11
    _, log = recorded(short_data(), retune_every=1)  # the smallest interval is allowed: every date re-tunes
    assert [r["retune"] for r in log] == [True] * 12


# ----------------------------------------------------------------------------------------------------------------------
# resume: replay of the last re-tuning and refit, a finished cache does no work
# ----------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("stop", "replayed"), [
    (6, [(FIRST_ROWS + 4, True), (FIRST_ROWS + 5, False)]),  # last re-tuning at k=4, last refit at k=5
    (5, [(FIRST_ROWS + 4, True)]),  # the last refit is the re-tuning itself: one fit
    (1, [(FIRST_ROWS, True)]),  # stopped after the first date
])
def test_a_resumed_run_replays_the_last_re_tuning_then_the_last_refit(tmp_path, stop, replayed):
    data = short_data()
    opts = dict(retune_every=4, seed=2, cache_dir=tmp_path)
    full, full_log = recorded(data, retune_every=4, seed=2)
    with pytest.raises(Stop):
        recorded(data, progress=stop_after(stop), **opts)
    resumed, log = recorded(data, **opts)
    assert [(r["n"], r["retune"]) for r in log[: len(replayed)]] == replayed
    assert log[len(replayed):] == full_log[stop:]  # then the remaining dates as in an uninterrupted run
    pd.testing.assert_frame_equal(resumed.forecasts, full.forecasts, check_exact=True)
    finished, log = recorded(data, **opts)
    assert log == []  # a finished cache fits nothing
    pd.testing.assert_frame_equal(finished.forecasts, full.forecasts, check_exact=True)


def test_a_single_forecast_date_runs_and_caches(tmp_path):
    data = short_data()
    assert len(forecast_dates(data, "1990-12")) == 1  # targets are known through 1989-12
    run = recursive_forecast(data, "hm", oos_start="1990-12", cache_dir=tmp_path)
    assert run.forecasts["date"].unique().tolist() == [pd.Timestamp("1989-12-31")]
    assert len(list(tmp_path.iterdir())) == 1


# ----------------------------------------------------------------------------------------------------------------------
# corrupt or foreign cache files
# ----------------------------------------------------------------------------------------------------------------------
class _Planted:
    """Unpickling this touches a file: the stand-in for arbitrary code in a planted array."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(self.path),))


def _finished_cache(tmp_path):
    data = short_data()
    recorded(data, refit_every=2, retune_every=4, cache_dir=tmp_path)
    (folder,) = list(tmp_path.iterdir())
    state = folder / "state.npz"
    with np.load(state) as z:
        arrays = {k: z[k] for k in z.files}
    return data, state, arrays


@pytest.mark.parametrize("change", [
    {"done": 0},  # a run saves after its first date
    {"done": 13},  # more dates than the run has
    {"last_refit": 12},  # the last refit must come before the dates done
    {"last_tune": 10, "last_refit": 8},  # a re-tuning after the last refit
    {"last_tune": -1},
    {"imp_sum": np.zeros((3, 10))},  # 7 targets x 10 predictors expected
])
def test_a_cache_file_of_another_run_is_refused(tmp_path, change):
    data, state, arrays = _finished_cache(tmp_path)
    np.savez(state, **{**arrays, **change})
    with pytest.raises(InputError) as info:
        recorded(data, refit_every=2, retune_every=4, cache_dir=tmp_path)
    msg = str(info.value)
    assert "the cache file is corrupt or not written by this run" in msg and "delete it to start over" in msg
    assert info.value.file == str(state)
    if "imp_sum" in change or "done" in change and change["done"] == 0:
        return
    assert "(arrays of another run)" in msg


def test_a_valid_edited_cache_is_accepted(tmp_path):
    """The bounds of the check: a re-tuning at the last refit (k = 10) just before the dates done is valid."""
    data, state, arrays = _finished_cache(tmp_path)
    part = {k: arrays[k][:11] for k in ("fc", "bench", "ntrain")}
    np.savez(state, **{**arrays, **part, "done": 11, "last_tune": 10, "last_refit": 10})
    _, log = recorded(data, refit_every=2, retune_every=4, cache_dir=tmp_path)
    assert [(r["n"], r["retune"]) for r in log] == [(FIRST_ROWS + 10, True)]  # replay only; k = 11 is no refit


@pytest.mark.parametrize("how", ["missing key", "not a zip", "pickled array"])
def test_a_damaged_cache_file_is_an_input_error_and_nothing_is_unpickled(tmp_path, how):
    data, state, arrays = _finished_cache(tmp_path / "cache")
    marker = tmp_path / "marker"
    if how == "missing key":
        np.savez(state, **{k: v for k, v in arrays.items() if k != "last_refit"})
    elif how == "not a zip":
        state.write_bytes(b"PK\x03\x04 this is not an archive")
    else:
        np.savez(state, **{**arrays, "done": np.array([_Planted(marker)], dtype=object)})
    with pytest.raises(InputError, match="corrupt") as info:
        recorded(data, refit_every=2, retune_every=4, cache_dir=tmp_path / "cache")
    assert info.value.file == str(state)
    assert not marker.exists()


# ----------------------------------------------------------------------------------------------------------------------
# the cache key: everything a forecast depends on, nothing else
# ----------------------------------------------------------------------------------------------------------------------
class _OtherRecorder(Recorder):
    """The same parameters as :class:`Recorder`, another estimator."""


def test_every_setting_and_every_input_has_its_own_cache(tmp_path):
    data = short_data()
    spec = ModelSpec("rec", Recorder(), False, True)
    base = dict(oos_start="1990-01", timing="purged", refit_every=2, retune_every=4, seed=1, seed_per_date=False,
                importance=False)

    def folder(d=data, s=spec, **change):
        before = set(tmp_path.iterdir())
        recursive_forecast(d, s, cache_dir=tmp_path, **{**base, **change})
        new = set(tmp_path.iterdir()) - before
        return new.pop().name if new else None

    first = folder()
    assert first is not None and first.startswith("rec-") and folder() is None  # the same run reuses its cache
    changes = [dict(timing="bbt"), dict(refit_every=3), dict(retune_every=5), dict(seed=2), dict(seed_per_date=True),
               dict(oos_start="1990-02"), dict(importance=True)]
    for change in changes:
        assert folder(**change) is not None, change
    assert folder(s=ModelSpec("rec", Recorder(tag=1), False, True)) is not None  # an estimator parameter
    assert folder(s=ModelSpec("rec", _OtherRecorder(), False, True)) is not None  # the same parameters, another class
    twin = type("_OtherRecorder", (Recorder,), {"__module__": "another.package"})  # the same class name elsewhere
    assert folder(s=ModelSpec("rec", twin(), False, True)) is not None
    fwd = data.forwards.copy()
    fwd.iloc[0, 0] += 1e-9
    assert folder(d=type(data)(forwards=fwd, macro=None, groups=None, targets=data.targets)) is not None
    tgt = data.targets.copy()
    tgt.iloc[-1, 0] = 0.0  # a target unknown (NaN) in the base data, now zero
    assert folder(d=type(data)(forwards=data.forwards, macro=None, groups=None, targets=tgt)) is not None
    shifted = [frame.set_axis(frame.index + pd.offsets.MonthEnd(1)) for frame in (data.forwards, data.targets)]
    assert folder(d=type(data)(forwards=shifted[0], macro=None, groups=None, targets=shifted[1]),
                  oos_start="1990-02") is not None  # the same numbers a month later
    assert folder(d=type(data)(forwards=data.forwards, macro=None, groups=None, targets=data.targets, horizon=11),
                  oos_start="1990-01") is not None
    assert len(list(tmp_path.iterdir())) == 1 + len(changes) + 7


# ----------------------------------------------------------------------------------------------------------------------
# holding period, macro design, model construction
# ----------------------------------------------------------------------------------------------------------------------
def test_a_six_month_holding_period_trains_on_returns_realized_by_the_forecast_date():
    data = treasury_data(yields_panel("1980-01", "1990-12"), horizon=6)
    run = recursive_forecast(data, "hm", oos_start="1990-01")
    f = run.forecasts
    # oos_start 1990-01 is the first realized month: the first forecast is made six months earlier
    assert f["date"].min() == pd.Timestamp("1989-07-31") and f["date"].max() == pd.Timestamp("1990-06-30")
    assert (pd.DatetimeIndex(f["target_date"]) == pd.DatetimeIndex(f["date"]) + pd.offsets.MonthEnd(6)).all()
    for t, grp in f.groupby("date"):
        rows = data.targets.loc[data.targets.index <= t - pd.offsets.MonthEnd(6)]
        assert (grp["n_train"] == len(rows)).all()
        np.testing.assert_allclose(grp["benchmark"].to_numpy(), rows.mean()[grp["maturity"]].to_numpy(), atol=1e-15)
        # the model is fitted on the same rows: the historical mean forecasts their mean
        np.testing.assert_allclose(grp["forecast"].to_numpy(), rows.mean()[grp["maturity"]].to_numpy(), atol=1e-15)
    first = len(data.targets.loc[:"1989-01-31"])  # the purged rows at 1989-07: returns realized by then
    assert len(recursive_forecast(data, "hm", oos_start="1990-01", min_train=first).forecasts) > 0
    with pytest.raises(InputError, match="min_train"):  # 6 rows fewer than with h = 12 would still be too many
        recursive_forecast(data, "hm", oos_start="1990-01", min_train=len(data.targets.loc[:"1989-01-31"]) + 1)


def test_macro_models_regress_on_forwards_and_macro():
    ylds, mac = yields_panel("1980-01", "1990-12"), macro_panel("1979-12", "1990-12")
    data = treasury_data(ylds, mac, list(MACRO_GROUPS.values()))
    got = recursive_forecast(data, "ols_macro", oos_start="1990-01", refit_every=4).forecasts
    got = got.pivot(index="date", columns="maturity", values="forecast")[list(data.targets.columns)]
    Z = np.column_stack([np.ones(len(data.dates)), data.forwards.to_numpy(), data.macro.to_numpy()])
    Y = data.targets.to_numpy()
    for k, t in enumerate(got.index):
        pos = data.dates.get_loc(t)
        n = pos - 12 + 1 - (k % 4)  # the last refit was (k mod 4) dates ago
        beta = np.linalg.lstsq(Z[:n], Y[:n], rcond=None)[0]
        np.testing.assert_allclose(got.loc[t].to_numpy(), Z[pos] @ beta, rtol=0, atol=1e-10, err_msg=str(t.date()))


def test_the_model_is_built_with_the_options_and_groups_given(monkeypatch):
    calls = []
    real = engine.make_model

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "make_model", spy)
    data = treasury_data(yields_panel("1980-01", "1990-12"), macro_panel("1979-12", "1990-12"),
                         list(MACRO_GROUPS.values()))
    recursive_forecast(data, "hm", oos_start="1990-01", n_seeds=3, n_keep=2, n_trees=7, nn_options={"max_epochs": 2})
    (args, kwargs), = calls
    assert args[:2] == ("hm", 10)
    np.testing.assert_array_equal(args[2], list(MACRO_GROUPS.values()))
    assert kwargs == {"n_seeds": 3, "n_keep": 2, "n_trees": 7, "nn_options": {"max_epochs": 2}}
    calls.clear()
    recursive_forecast(short_data(), "hm", oos_start="1990-01")
    assert calls[0][0][2] is None  # no macro panel, no groups


# ----------------------------------------------------------------------------------------------------------------------
# importance
# ----------------------------------------------------------------------------------------------------------------------
def test_network_importance_is_the_mean_over_refits_of_gradient_times_sd():
    data = short_data()
    spec = ModelSpec("grad", GradientRecorder(), False, True)
    run, _ = recorded(data, spec=spec, refit_every=2, retune_every=4)
    X, m, p = data.forwards.to_numpy(), 7, 10
    i, j = np.meshgrid(np.arange(m), np.arange(p), indexing="ij")
    total = np.zeros((m, p))
    for k in range(0, 12, 2):  # every refit, not only the re-tuning dates 0, 4, 8
        n = FIRST_ROWS + k
        total += (i + 1) * (j + 1) * n / 100.0 * X[:n].std(axis=0)[None, :]
    want = total / 6
    imp = run.importance
    assert list(imp.columns) == ["model", "maturity", "predictor", "importance"] and (imp["model"] == "grad").all()
    assert list(imp["maturity"]) == [c for c in data.targets.columns for _ in range(p)]
    assert list(imp["predictor"]) == list(data.forwards.columns) * m
    np.testing.assert_allclose(imp["importance"].to_numpy(), want.ravel(), rtol=1e-12)
    run, _ = recorded(data, spec=spec, refit_every=2, retune_every=4, importance=False)
    assert run.importance is None


def _hand_permutation_importance(est, X, Y, seed, k):
    """Breiman (2001): the increase of each target's training MSE when one predictor's column is shuffled,
    floored at zero; column j is shuffled by the j-th permutation drawn from ``default_rng([seed, k])``."""
    rng = np.random.default_rng([seed, k])
    base = np.mean((est.predict(X).reshape(Y.shape) - Y) ** 2, axis=0)
    out = np.empty((Y.shape[1], X.shape[1]))
    for j in range(X.shape[1]):
        Xp = X.copy()
        Xp[:, j] = X[rng.permutation(len(X)), j]
        out[:, j] = np.mean((est.predict(Xp).reshape(Y.shape) - Y) ** 2, axis=0) - base
    return np.where(out > 0, out, 0.0)


@pytest.mark.parametrize("kind", ["rf", "gbrt"])
def test_tree_permutation_importance_by_hand(kind):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((80, 4))
    Y = np.column_stack([0.3 * X[:, 0], 0.1 * X[:, 1] ** 2, 0.2 * X[:, 0] - 0.2 * X[:, 2]])
    Y = Y + 0.01 * rng.standard_normal(Y.shape)
    est = (ValidatedTrees(4, kind="rf", n_estimators=10) if kind == "rf" else GradientBoostedTrees(4))
    est.set_params(random_state=0)
    est.fit(X, Y)
    got = _importance(est, X, Y, np.random.default_rng([3, 7]))
    want = _hand_permutation_importance(est, X, Y, 3, 7)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert (got > 0).any() and got.max() < 1  # the scale of the MSE of returns in decimals
    if kind == "gbrt":  # shuffling an unused predictor lowers the boosted trees' MSE somewhere: the floor binds
        assert (got == 0).any()
    assert _importance(Recorder().fit(X, Y), X, Y, rng) is None  # other models report none


def test_tree_importance_is_averaged_over_re_tuning_dates_only(monkeypatch):
    dates = []
    real = engine._importance

    def spy(est, X_train, Y_train, rng):
        dates.append(len(X_train))
        return real(est, X_train, Y_train, rng)

    monkeypatch.setattr(engine, "_importance", spy)
    recursive_forecast(short_data(), "rf", oos_start="1990-01", n_trees=3, refit_every=1, retune_every=4)
    assert dates == [FIRST_ROWS, FIRST_ROWS + 4, FIRST_ROWS + 8]


def test_run_models_numbers_the_stacked_importance_rows():
    data = short_data()
    both = run_models(data, ["rf", "et"], oos_start="1990-01", n_trees=3, refit_every=6)
    assert both.importance.index.equals(pd.RangeIndex(2 * 7 * 10))
    assert list(both.importance["model"].unique()) == ["rf", "et"]


# ----------------------------------------------------------------------------------------------------------------------
# errors name the argument
# ----------------------------------------------------------------------------------------------------------------------
def test_errors_name_the_argument():
    data = short_data()
    cases = [
        (lambda: training_rows(100, "future"), "timing", "timing must be one of ('purged', 'bbt'), got 'future'"),
        (lambda: recursive_forecast(data, "hm", timing="ahead"), "timing", "timing must be one of"),
        (lambda: recursive_forecast(data, "hm", refit_every=0), "refit_every",
         "refit_every and retune_every must be >= 1"),
        (lambda: recursive_forecast(data, "hm", retune_every=0), "refit_every",
         "refit_every and retune_every must be >= 1"),
        (lambda: forecast_dates(data, "1991-01"), "oos_start",
         "no forecast date: returns realized from 1991-01 on are not in the sample"),
        (lambda: forecast_dates(data, "the nineties"), "oos_start", "cannot read month"),
        (lambda: recursive_forecast(data, "hm", oos_start="1990-01", min_train=FIRST_ROWS + 1), "oos_start",
         f"only {FIRST_ROWS} training rows before the first forecast (1989-01)"),
    ]
    for call, column, text in cases:
        with pytest.raises(InputError) as info:
            call()
        assert info.value.column == column and info.value.reason.startswith(text), (column, str(info.value))
    recursive_forecast(data, "hm", oos_start="1990-01", min_train=FIRST_ROWS)  # exactly enough rows
