"""Kalman filtering of a noisy AR(1) signal (Harvey 1989, ch. 3; Hamilton 1994, ch. 13).

State-space model::

    y_t = x_t + v_t,        v_t ~ N(0, s_v^2)
    x_t = a x_{t-1} + w_t,  w_t ~ N(0, s_w^2)

* :func:`constant_gain_filter` — ``x^_t = a x^_{t-1} + k (y_t - a x^_{t-1})``, a first-order linear recursion run by
  ``scipy.signal.lfilter`` (no Python loop);
* :func:`steady_state_gain` — the gain at the fixed point of the Riccati equation, in closed form;
* :func:`kalman_filter` / :func:`kalman_smoother` — the time-varying filter (prediction-error log-likelihood) and the
  Rauch-Tung-Striebel smoother. They loop over time in Python: each step is a handful of scalar operations and the
  recursion is inherently sequential (with missing observations the variances depend on the missing pattern);
* :func:`fit_ar_signal` — maximum likelihood of ``(a, s_v, s_w)`` with statsmodels' state-space machinery, and
  n-step forecasts ``a^n x^_T``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.signal import lfilter
from statsmodels.tsa.statespace.mlemodel import MLEModel

from bondpremia.errors import ConvergenceWarning, InputError
from bondpremia.results import save_tables


def _check(a: float, s_v: float, s_w: float) -> None:
    if not np.isfinite(a):
        raise InputError("a must be finite", column="a")
    for name, v in (("s_v", s_v), ("s_w", s_w)):
        if not np.isfinite(v) or v < 0:
            raise InputError(f"{name} must be a non-negative standard deviation, got {v}", column=name)


def _values(y: Any) -> tuple[np.ndarray, pd.Index | None]:
    if isinstance(y, pd.Series):
        return y.to_numpy(dtype=np.float64), y.index
    return np.asarray(y, dtype=np.float64), None


def constant_gain_filter(y: Any, a: float, k: float, x0: float | None = None) -> Any:
    """``x^_t = (1 - k) a x^_{t-1} + k y_t`` from ``x^_0 = x0`` (default: the first observation, so x^_1 = y_1)."""
    if not 0 <= k <= 1:
        raise InputError("the gain k must lie in [0, 1]", column="k")
    vals, index = _values(y)
    if np.isnan(vals).any():
        raise InputError("the constant-gain filter needs complete observations", column="y")
    phi = (1 - k) * a
    if x0 is None:  # x^_1 = y_1, then the recursion from there
        out = np.concatenate([[vals[0]], lfilter([k], [1.0, -phi], vals[1:], zi=[phi * vals[0]])[0]])
    else:
        out = lfilter([k], [1.0, -phi], vals, zi=[phi * x0])[0]
    return pd.Series(out, index=index, name="filtered") if index is not None else out


def steady_state_gain(a: float, s_v: float, s_w: float) -> tuple[float, float]:
    """Steady-state Kalman gain ``k`` and prior variance ``P``.

    The prior variance solves ``P = a^2 P s_v^2 / (P + s_v^2) + s_w^2``, i.e. ``P^2 + b P - s_w^2 s_v^2 = 0`` with
    ``b = s_v^2 (1 - a^2) - s_w^2``; the positive root is taken, and ``k = P / (P + s_v^2)``.
    """
    _check(a, s_v, s_w)
    v, w = s_v**2, s_w**2
    if v == 0:
        return 1.0, w
    b = v * (1 - a * a) - w
    p = (-b + np.sqrt(b * b + 4 * w * v)) / 2
    return float(p / (p + v)), float(p)


@dataclass(frozen=True, repr=False)
class FilterResult:
    """Filtered (``x_t|t``) and predicted (``x_t|t-1``) means and variances, gains and the log-likelihood
    (:class:`bondpremia.results.Results`: ``to_frame()`` one row a period, ``save(out)`` ``kalman_filter.csv``)."""

    filtered: np.ndarray
    filtered_var: np.ndarray
    predicted: np.ndarray
    predicted_var: np.ndarray
    gain: np.ndarray
    loglike: float
    a: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"filtered": self.filtered, "filtered_var": self.filtered_var, "predicted": self.predicted,
                             "predicted_var": self.predicted_var, "gain": self.gain})

    def summary(self) -> pd.DataFrame:
        """One row: periods, ``a``, log-likelihood, the last filtered mean and variance and the last gain."""
        return pd.DataFrame([{"n": len(self.filtered), "a": self.a, "loglike": self.loglike,
                              "last_filtered": self.filtered[-1], "last_filtered_var": self.filtered_var[-1],
                              "last_gain": self.gain[-1]}])

    def __repr__(self) -> str:
        return f"FilterResult(n={len(self.filtered)}, a={self.a:.6g}, loglike={self.loglike:.6g})"

    def save(self, out: str | Path, *, force: bool = False) -> Path:
        return save_tables(out, "kalman filter", {"kalman_filter.csv": self.to_frame()}, force=force)


def kalman_filter(y: Any, a: float, s_v: float, s_w: float, x0: float = 0.0, p0: float | None = None) -> FilterResult:
    """Kalman filter from ``x_0 ~ N(x0, p0)`` (default ``p0``: the stationary variance ``s_w^2 / (1 - a^2)`` when
    ``|a| < 1``, else 1e7, approximately diffuse). Missing observations (NaN) skip the update."""
    _check(a, s_v, s_w)
    vals, _ = _values(y)
    if p0 is None:
        p0 = s_w**2 / (1 - a * a) if abs(a) < 1 else 1e7
    n = len(vals)
    xf, pf, xp, pp, k = (np.empty(n) for _ in range(5))
    x, p = x0, p0
    ll = 0.0
    v2, w2 = s_v**2, s_w**2
    for t in range(n):
        x_pred, p_pred = a * x, a * a * p + w2
        xp[t], pp[t] = x_pred, p_pred
        if np.isnan(vals[t]):
            x, p, k[t] = x_pred, p_pred, 0.0
        else:
            f = p_pred + v2
            e = vals[t] - x_pred
            k[t] = p_pred / f
            x, p = x_pred + k[t] * e, (1 - k[t]) * p_pred
            ll += -0.5 * (np.log(2 * np.pi * f) + e * e / f)
        xf[t], pf[t] = x, p
    return FilterResult(xf, pf, xp, pp, k, float(ll), a)


def kalman_smoother(res: FilterResult) -> tuple[np.ndarray, np.ndarray]:
    """Rauch-Tung-Striebel smoothed means and variances ``x_t|T`` from a :class:`FilterResult`."""
    n = len(res.filtered)
    xs, ps = res.filtered.copy(), res.filtered_var.copy()
    for t in range(n - 2, -1, -1):
        j = res.filtered_var[t] * res.a / res.predicted_var[t + 1]
        xs[t] = res.filtered[t] + j * (xs[t + 1] - res.predicted[t + 1])
        ps[t] = res.filtered_var[t] + j * j * (ps[t + 1] - res.predicted_var[t + 1])
    return xs, ps


class _ARSignal(MLEModel):
    """statsmodels state-space form of the model, parameters (a, s_v^2, s_w^2)."""

    start_params = np.array([0.5, 1.0, 1.0])
    param_names = ["a", "sigma2_v", "sigma2_w"]

    def __init__(self, endog: np.ndarray, x0: float, p0: float) -> None:
        super().__init__(endog, k_states=1)
        self.ssm["design"] = np.array([[1.0]])
        self.ssm["selection"] = np.array([[1.0]])
        self.ssm.initialize_known(np.array([x0]), np.array([[p0]]))

    def transform_params(self, unconstrained: np.ndarray) -> np.ndarray:
        return np.array([unconstrained[0], unconstrained[1] ** 2, unconstrained[2] ** 2])

    def untransform_params(self, constrained: np.ndarray) -> np.ndarray:
        return np.array([constrained[0], constrained[1] ** 0.5, constrained[2] ** 0.5])

    def update(self, params: np.ndarray, **kwargs: Any) -> None:
        params = super().update(params, **kwargs)
        self.ssm["transition", 0, 0] = params[0]
        self.ssm["obs_cov", 0, 0] = params[1]
        self.ssm["state_cov", 0, 0] = params[2]


@dataclass(frozen=True, repr=False)
class ARSignalFit:
    """Maximum-likelihood estimates with standard errors, the log-likelihood and the filtered/smoothed signal
    (:class:`bondpremia.results.Results`: ``summary()`` the estimates, ``to_frame()`` the signal, ``save(out)``
    ``ar_signal_params.csv`` and ``ar_signal.csv``)."""

    a: float
    s_v: float
    s_w: float
    std_errors: pd.Series
    loglike: float
    filtered: np.ndarray
    smoothed: np.ndarray

    def summary(self) -> pd.DataFrame:
        est = pd.Series({"a": self.a, "s_v": self.s_v, "s_w": self.s_w})
        return pd.DataFrame({"estimate": est, "std_error": self.std_errors.reindex(est.index)}
                            ).rename_axis("parameter")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"filtered": self.filtered, "smoothed": self.smoothed})

    def __repr__(self) -> str:
        return (f"ARSignalFit(a={self.a:.6g}, s_v={self.s_v:.6g}, s_w={self.s_w:.6g}, loglike={self.loglike:.6g}, "
                f"n={len(self.filtered)})")

    def save(self, out: str | Path, *, force: bool = False) -> Path:
        return save_tables(out, "ar signal", {"ar_signal_params.csv": self.summary(), "ar_signal.csv": self.to_frame()},
                           force=force)

    def forecast(self, n: int) -> np.ndarray:
        """Forecasts ``a^h x^_T`` for horizons h = 1..n."""
        return self.a ** np.arange(1, n + 1) * self.filtered[-1]


def fit_ar_signal(y: Any, x0: float = 0.0, p0: float = 1e7,
                  start: tuple[float, float, float] | None = None) -> ARSignalFit:
    """Maximum-likelihood estimates of ``(a, s_v, s_w)`` (statsmodels ``MLEModel``, L-BFGS); the state at t = 1 is
    initialized as ``N(x0, p0)`` (approximately diffuse by default). A fit that does not converge in 500
    iterations warns with a :class:`~bondpremia.errors.ConvergenceWarning`."""
    vals, _ = _values(y)
    model = _ARSignal(vals, x0, p0)
    var = np.nanvar(vals)
    sp = np.array([0.5, var / 2, var / 2]) if start is None else np.array([start[0], start[1] ** 2, start[2] ** 2])
    res = model.fit(start_params=sp, disp=False, maxiter=500)
    if not res.mle_retvals.get("converged", True):
        warnings.warn(f"the maximum-likelihood fit did not converge in {res.mle_retvals.get('iterations')} "
                      f"iterations; the last estimates are returned (try other start values)", ConvergenceWarning,
                      stacklevel=2)
    a, v2, w2 = res.params
    se = pd.Series(res.bse, index=["a", "sigma2_v", "sigma2_w"])
    return ARSignalFit(float(a), float(np.sqrt(v2)), float(np.sqrt(w2)), se, float(res.llf),
                       res.filtered_state[0], res.smoothed_state[0])
