"""Recursive (expanding-window) out-of-sample forecasts of 12-month Treasury excess returns.

At each forecast date ``t`` (a month-end) a model is fitted on the rows ``s`` of an expanding window and
forecasts the return bought at ``t`` and realized at ``t + h`` (``h = 12``). Which rows may enter the window
is the ``timing`` option:

``"purged"`` (default)
    only rows ``s <= t - h``, whose returns are realized by ``t``. Nothing unknown at ``t`` is used.
``"bbt"``
    rows ``s <= t - 1``, as in the replication code of Bianchi, Buechner and Tamoni (2021): the last
    ``h - 1`` training returns are realized only after ``t`` (up to ``t + h - 1``). The paper's published
    tables use this timing; later versions of the authors' code train on ``X[:-12]`` and lag the benchmark by
    12 months, which is the ``purged`` timing.

The historical-mean benchmark of the out-of-sample R² is the mean of the same training targets, so it obeys
the same timing (Campbell and Thompson 2008). ``oos_start`` is the first month whose **realized** return is
forecast (the paper's 1990:01, so the first forecast is made at 1989:01 and the sample has 348 forecasts
through 2018:12). The model is refitted every ``refit_every`` months and re-tuned (validation search) every
``retune_every`` months; fits are cached per date when ``cache_dir`` is given, so an interrupted run resumes
where it stopped and gives the same numbers as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bondpremia.errors import InputError
from bondpremia.models.forecast.estimators import (
    GradientBoostedTrees,
    ModelSpec,
    ValidatedTrees,
    fresh,
    make_model,
)
from bondpremia.models.forecast.features import TreasuryData, month

__all__ = ["ForecastRun", "TIMINGS", "forecast_dates", "recursive_forecast", "training_rows"]

TIMINGS = ("purged", "bbt")


def training_rows(position: int, timing: str, horizon: int = 12) -> int:
    """Number of leading rows (``0 .. n - 1``) usable when forecasting from row ``position``.

    ``purged``: rows whose target is realized by the forecast date, ``s + horizon <= position``.
    ``bbt``: every row before the forecast date, ``s <= position - 1``.
    """
    if timing == "purged":
        return max(position - horizon + 1, 0)
    if timing == "bbt":
        return position
    raise InputError(f"timing must be one of {TIMINGS}, got {timing!r}", column="timing")


def forecast_dates(data: TreasuryData, oos_start: object) -> pd.DatetimeIndex:
    """Forecast dates ``t`` whose return (realized at ``t + h``) is at or after ``oos_start`` and known."""
    first_realized = month(oos_start, "oos_start")
    first = first_realized - pd.offsets.MonthEnd(data.horizon)
    known = data.targets.notna().all(axis=1).to_numpy()
    dates = data.dates[(data.dates >= first) & known]
    if len(dates) == 0:
        raise InputError(f"no forecast date: returns realized from {first_realized:%Y-%m} on are not in the sample",
                         column="oos_start")
    return dates


@dataclass(repr=False)
class ForecastRun:
    """Out-of-sample forecasts of one model.

    ``forecasts`` is long: ``model, date`` (forecast date ``t``), ``target_date`` (``t + h``), ``maturity``,
    ``forecast``, ``actual``, ``benchmark`` (historical mean of the same training rows), ``n_train``.
    ``importance`` (or ``None``) is long: ``model, maturity, predictor, importance`` (averaged over dates).
    """

    forecasts: pd.DataFrame
    importance: pd.DataFrame | None

    def summary(self) -> pd.DataFrame:
        """Per model and maturity: the out-of-sample R² against the historical mean (Campbell and Thompson
        2008; decimals) and the number of forecasts with a realized return."""
        from bondpremia.models.forecast.evaluation import r2_oos

        rows = []
        for (model, maturity), g in self.forecasts.groupby(["model", "maturity"], sort=False):
            done = g.dropna(subset=["actual"])
            rows.append({"model": model, "maturity": maturity, "n": len(done),
                         "r2oos": r2_oos(done["actual"], done["forecast"], done["benchmark"])})
        return pd.DataFrame(rows).set_index(["model", "maturity"])

    def to_frame(self) -> pd.DataFrame:
        return self.forecasts

    def __repr__(self) -> str:
        f = self.forecasts
        models = list(dict.fromkeys(f["model"]))
        span = f"{f['date'].min():%Y-%m}..{f['date'].max():%Y-%m}" if len(f) else "no date"
        return (f"ForecastRun(models={models}, dates={f['date'].nunique()} ({span}), "
                f"maturities={f['maturity'].nunique()}, importance={'yes' if self.importance is not None else 'no'})")

    def save(self, out: str | Path, *, force: bool = False) -> Path:
        """``forecasts.parquet`` and, with importance, ``importance.csv`` in the run folder ``out`` (atomic)."""
        from bondpremia.results import save_tables

        return save_tables(out, "treasury forecast", {"forecasts.parquet": self.forecasts,
                                                      "importance.csv": self.importance}, force=force)


def _config_key(spec: ModelSpec, data: TreasuryData, settings: dict[str, Any], X: np.ndarray, Y: np.ndarray) -> str:
    """16 hex digits of a hash of everything a forecast depends on: the estimator's class and parameters, the
    settings, the predictors, the targets (NaN included) and the dates (the model's name is the folder's prefix)."""
    est = spec.estimator
    h = hashlib.sha256(json.dumps(dict(settings, estimator=f"{type(est).__module__}.{type(est).__qualname__}",
                                       params=repr(est.get_params()))).encode())
    for values in (X, Y, data.dates.asi8):
        h.update(np.ascontiguousarray(values).tobytes())
    return h.hexdigest()[:16]


def _set_if(est: Any, **params: Any) -> None:
    names = est.get_params()
    est.set_params(**{k: v for k, v in params.items() if k in names})


def _importance(est: Any, X_train: np.ndarray, Y_train: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """(m, p) importance at one refit: for networks the absolute input gradient at the training means times
    the predictor's standard deviation (BBT 2021, Section 4.3); for tree ensembles the increase of the
    training MSE when the predictor is permuted (Breiman 2001). ``None`` for other models."""
    sd = X_train.std(axis=0)
    if hasattr(est, "input_gradients"):
        g = np.asarray(est.input_gradients(X_train.mean(axis=0, keepdims=True)))[0]  # (m, p)
        return np.abs(g) * sd[None, :]
    if isinstance(est, ValidatedTrees | GradientBoostedTrees):
        def mse(x: np.ndarray) -> np.ndarray:
            return ((est.predict(x) - Y_train) ** 2).mean(axis=0)  # both predict (n, m) arrays

        base = mse(X_train)
        out = np.zeros((Y_train.shape[1], X_train.shape[1]))
        for j in range(X_train.shape[1]):
            Xp = X_train.copy()
            Xp[:, j] = Xp[rng.permutation(len(Xp)), j]
            out[:, j] = mse(Xp) - base
        return np.maximum(out, 0.0)
    return None


def recursive_forecast(
    data: TreasuryData,
    model: str | ModelSpec,
    *,
    oos_start: object = "1990-01",
    timing: str = "purged",
    refit_every: int = 1,
    retune_every: int = 60,
    seed: int = 0,
    seed_per_date: bool = False,
    n_seeds: int = 100,
    n_keep: int = 10,
    n_trees: int = 300,
    nn_options: dict[str, Any] | None = None,
    min_train: int = 36,
    importance: bool = True,
    cache_dir: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ForecastRun:
    """Expanding-window forecasts of every target column of ``data`` with one model.

    Parameters
    ----------
    data:
        Output of :func:`bondpremia.models.forecast.treasury_data`.
    model:
        A model name (see :data:`bondpremia.models.forecast.MODEL_HELP`) or a :class:`ModelSpec`.
    oos_start:
        First month of realized returns in the evaluation (``YYYY-MM``).
    timing:
        ``"purged"`` or ``"bbt"`` (module docstring).
    refit_every, retune_every:
        Refit the model every ``refit_every`` forecast dates (between refits the last fit forecasts), and
        search its hyper-parameters on the validation block at the first refit at least ``retune_every`` dates
        after the last search (otherwise the last chosen values are kept; networks then continue training from
        the weights of the last search, as BBT do). Default 60 months, "every five years": the authors' driver of
        the forward-rate networks (``HyperFreq = 5*12``; their sample code for the macro networks uses ``4*12``).
        The benchmark is always the mean of the rows available at the forecast date, also between refits.
    seed, seed_per_date:
        Seed of every fit. By default every date uses the same ``seed``, so that network ``s`` of an ensemble
        starts from the same initial weights at every re-tuning, as BBT's seeds ``no = 0..99`` do (authors'
        replication code); ``seed_per_date=True`` seeds the fit at the ``k``-th forecast date with ``seed + k``.
    n_seeds, n_keep, n_trees, nn_options:
        Network ensembles (train ``n_seeds``, average the ``n_keep`` best by validation loss), forest size and
        extra :class:`~bondpremia.models.forecast.nn.SeedEnsembleNet` options.
    min_train:
        Fewest training rows accepted at the first forecast date.
    importance:
        Average variable importance over fits: input gradients of networks at every refit, permutation
        importance of trees at every re-tuning date (see ``_importance``).
    cache_dir:
        Folder for per-date results and the latest fitted model; an existing cache of the same configuration
        and data is resumed.
    progress:
        Called as ``progress(done, total)`` after each forecast date.
    """
    if timing not in TIMINGS:
        raise InputError(f"timing must be one of {TIMINGS}, got {timing!r}", column="timing")
    if refit_every < 1 or retune_every < 1:
        raise InputError("refit_every and retune_every must be >= 1", column="refit_every")
    n_fwd = data.forwards.shape[1]
    spec = model if isinstance(model, ModelSpec) else make_model(
        model, n_fwd, None if data.groups is None else data.groups.to_numpy(), n_seeds=n_seeds, n_keep=n_keep,
        n_trees=n_trees, nn_options=nn_options)
    frame = data.predictors(spec.uses_macro)
    X, predictors = frame.to_numpy(dtype=float), list(frame.columns)
    Y = data.targets.to_numpy(dtype=float)
    dates = forecast_dates(data, oos_start)
    positions = data.dates.get_indexer(dates)
    first_n = training_rows(int(positions[0]), timing, data.horizon)
    if first_n < min_train:
        raise InputError(f"only {first_n} training rows before the first forecast ({dates[0]:%Y-%m}); "
                         f"start the sample earlier or move oos_start later (min_train={min_train})",
                         column="oos_start")
    settings = dict(timing=timing, refit_every=refit_every, retune_every=retune_every, seed=seed,
                    seed_per_date=seed_per_date, oos_start=str(dates[0]), horizon=data.horizon, importance=importance)
    folder = None
    if cache_dir is not None:
        folder = Path(cache_dir) / f"{spec.name}-{_config_key(spec, data, settings, X, Y)}"
        folder.mkdir(parents=True, exist_ok=True)
    m, p = Y.shape[1], X.shape[1]
    fc = np.full((len(dates), m), np.nan)
    bench = np.full((len(dates), m), np.nan)
    ntrain = np.zeros(len(dates), dtype=int)
    imp_sum = np.zeros((m, p))
    imp_n = 0
    est: Any = None
    start_k = 0
    # forecast-date index of the last re-tuning fit and of the last refit; the first date re-tunes
    last_tune = last_refit = -retune_every

    def fit_at(k: int, retune_now: bool) -> None:
        """Fit ``est`` for forecast date ``k`` (every fit is a function of the date, the data and, for
        ``retune_now=False``, the state left by the last re-tuning fit)."""
        n_k = training_rows(int(positions[k]), timing, data.horizon)
        fit_seed = seed + k if seed_per_date else seed
        _set_if(est, retune=retune_now, warm_start=True, seed=fit_seed, random_state=fit_seed)
        est.fit(X[:n_k], Y[:n_k])

    state_file = None if folder is None else folder / "state.npz"
    if state_file is not None and state_file.exists():
        # plain arrays, never a pickle: the fitted model is rebuilt by replaying the last re-tuning fit and the last
        # refit after it (a refit starts from the state of the last re-tuning, so the replay is exact)
        try:
            with np.load(state_file, allow_pickle=False) as z:
                start_k, last_tune, last_refit = int(z["done"]), int(z["last_tune"]), int(z["last_refit"])
                fc[:start_k], bench[:start_k], ntrain[:start_k] = z["fc"], z["bench"], z["ntrain"]
                imp_sum, imp_n = z["imp_sum"].astype(np.float64), int(z["imp_n"])
            # a run saves after each date: a re-tuning at or before the last refit, both before the dates done
            if imp_sum.shape != (m, p) or not 0 <= last_tune <= last_refit < start_k <= len(dates):
                raise ValueError("arrays of another run")
        except (ValueError, KeyError, OSError, zipfile.BadZipFile) as err:
            raise InputError(f"the cache file is corrupt or not written by this run ({str(err).splitlines()[0]}); "
                             f"delete it to start over", file=str(state_file)) from None
        if start_k < len(dates):
            est = fresh(spec)
            fit_at(last_tune, True)
            if last_refit > last_tune:
                fit_at(last_refit, False)
    for k in range(start_k, len(dates)):
        pos = int(positions[k])
        n = training_rows(pos, timing, data.horizon)
        X_train, Y_train = X[:n], Y[:n]
        if est is None or k % refit_every == 0:
            if est is None:
                est = fresh(spec)
            retune_now = k - last_tune >= retune_every
            if retune_now:
                last_tune = k
            last_refit = k
            fit_at(k, retune_now)
            # gradients are cheap at every refit; permutation importance of trees only at re-tuning dates
            if importance and (retune_now or hasattr(est, "input_gradients")):
                contrib = _importance(est, X_train, Y_train, np.random.default_rng([seed, k]))
                if contrib is not None:
                    imp_sum += contrib
                    imp_n += 1
        fc[k] = np.ravel(est.predict(X[pos: pos + 1]))
        bench[k] = Y_train.mean(axis=0)
        ntrain[k] = n
        if state_file is not None:
            tmp = state_file.with_name("state.tmp.npz")
            np.savez(tmp, done=k + 1, fc=fc[: k + 1], bench=bench[: k + 1], ntrain=ntrain[: k + 1],
                     imp_sum=imp_sum, imp_n=imp_n, last_tune=last_tune, last_refit=last_refit)
            tmp.replace(state_file)
        if progress is not None:
            progress(k + 1, len(dates))
    labels = list(data.targets.columns)
    actual = Y[positions]
    forecasts = pd.DataFrame({
        "model": spec.name,
        "date": np.repeat(dates.to_numpy(), m),
        "target_date": np.repeat((dates + pd.offsets.MonthEnd(data.horizon)).to_numpy(), m),
        "maturity": np.tile(np.asarray(labels), len(dates)),
        "forecast": fc.ravel(),
        "actual": actual.ravel(),
        "benchmark": bench.ravel(),
        "n_train": np.repeat(ntrain, m),
    })
    imp = None
    if imp_n:
        mean_imp = imp_sum / imp_n
        imp = pd.DataFrame({
            "model": spec.name,
            "maturity": np.repeat(np.asarray(labels), p),
            "predictor": np.tile(np.asarray(predictors), m),
            "importance": mean_imp.ravel(),
        })
    return ForecastRun(forecasts=forecasts, importance=imp)


def run_models(data: TreasuryData, models: Sequence[str], **options: Any) -> ForecastRun:
    """:func:`recursive_forecast` for several models; forecasts and importance stacked."""
    runs = [recursive_forecast(data, name, **options) for name in models]
    imps = [r.importance for r in runs if r.importance is not None]
    return ForecastRun(forecasts=pd.concat([r.forecasts for r in runs], ignore_index=True),
                       importance=pd.concat(imps, ignore_index=True) if imps else None)
