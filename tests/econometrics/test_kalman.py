"""Kalman filter: closed forms, a plain-loop reference, statsmodels' filter and smoother, MLE recovery."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from bondpremia.econometrics.kalman import (
    constant_gain_filter,
    fit_ar_signal,
    kalman_filter,
    kalman_smoother,
    steady_state_gain,
)
from bondpremia.errors import ConvergenceWarning, InputError


def simulate(n=500, a=0.9, s_v=1.0, s_w=0.5, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = a * x[t - 1] + s_w * rng.standard_normal()
    return x + s_v * rng.standard_normal(n), x


def test_constant_gain_matches_a_plain_loop():
    y, _ = simulate(200)
    a, k, x0 = 0.9, 0.3, 0.4
    ref = []
    x = x0
    for v in y:
        x = a * x + k * (v - a * x)
        ref.append(x)
    np.testing.assert_allclose(constant_gain_filter(y, a, k, x0=x0), ref, atol=1e-12)
    s = constant_gain_filter(pd.Series(y), a, k)
    assert s.iloc[0] == y[0]


def test_steady_state_gain_closed_form_and_limit():
    # random walk plus noise: k = (-q + sqrt(q^2 + 4q)) / 2 with q = s_w^2 / s_v^2
    q = 0.25**2 / 1.0
    k, _ = steady_state_gain(1.0, 1.0, 0.25)
    assert k == pytest.approx((-q + math.sqrt(q * q + 4 * q)) / 2, rel=1e-12)
    y, _ = simulate(400, a=0.8, s_v=0.7, s_w=0.4)
    res = kalman_filter(y, 0.8, 0.7, 0.4)
    k_ss, p_ss = steady_state_gain(0.8, 0.7, 0.4)
    assert res.gain[-1] == pytest.approx(k_ss, rel=1e-12)
    assert res.predicted_var[-1] == pytest.approx(p_ss, rel=1e-12)


def statsmodels_model(y, a, s_v, s_w, x0, p0):
    mod = sm.tsa.statespace.MLEModel(y, k_states=1)
    mod.ssm["design"] = np.array([[1.0]])
    mod.ssm["transition"] = np.array([[a]])
    mod.ssm["selection"] = np.array([[1.0]])
    mod.ssm["obs_cov"] = np.array([[s_v**2]])
    mod.ssm["state_cov"] = np.array([[s_w**2]])
    mod.ssm.initialize_known(np.array([x0]), np.array([[p0]]))
    return mod


def test_filter_and_smoother_match_statsmodels():
    y, _ = simulate(300, a=0.95, s_v=0.8, s_w=0.3)
    y[[10, 11, 50]] = np.nan
    # statsmodels initializes the state at t = 1 (a priori); ours at t = 0: x_1|0 = a x0, P_1|0 = a^2 p0 + s_w^2
    a, s_v, s_w, p0 = 0.95, 0.8, 0.3, 2.0
    ours = kalman_filter(y, a, s_v, s_w, x0=0.0, p0=p0)
    mod = statsmodels_model(y, a, s_v, s_w, 0.0, a * a * p0 + s_w**2)
    f = mod.ssm.filter()
    # statsmodels stops updating the variance once it has converged: agreement to 1e-8, not to rounding
    np.testing.assert_allclose(ours.filtered, f.filtered_state[0], atol=1e-8)
    np.testing.assert_allclose(ours.filtered_var, f.filtered_state_cov[0, 0], atol=1e-10)
    assert ours.loglike == pytest.approx(f.llf, rel=1e-10)
    assert ours.filtered_var[10] > ours.filtered_var[9]  # no update at a missing observation
    xs, ps = kalman_smoother(ours)
    s = mod.ssm.smooth()
    np.testing.assert_allclose(xs, s.smoothed_state[0], atol=1e-8)
    np.testing.assert_allclose(ps, s.smoothed_state_cov[0, 0], atol=1e-8)


def test_mle_recovers_parameters_and_forecasts():
    y, _ = simulate(2000, a=0.9, s_v=1.0, s_w=0.5, seed=3)
    fit = fit_ar_signal(y)
    assert fit.a == pytest.approx(0.9, abs=0.05)
    assert fit.s_v == pytest.approx(1.0, abs=0.1) and fit.s_w == pytest.approx(0.5, abs=0.12)
    ours = kalman_filter(y, fit.a, fit.s_v, fit.s_w, x0=0.0, p0=(1e7 - fit.s_w**2) / fit.a**2)
    assert ours.loglike == pytest.approx(fit.loglike, rel=1e-8)
    np.testing.assert_allclose(fit.forecast(3), fit.a ** np.arange(1, 4) * fit.filtered[-1])


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.ConvergenceWarning")  # statsmodels' own
def test_mle_that_runs_out_of_iterations_warns(monkeypatch):
    from bondpremia.econometrics import kalman

    y, _ = simulate(500, a=0.9, s_v=1.0, s_w=0.5, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fit_ar_signal(y)  # converges: no warning
    real = kalman._ARSignal.fit
    monkeypatch.setattr(kalman._ARSignal, "fit", lambda self, **kw: real(self, **{**kw, "maxiter": 2}))
    with pytest.warns(ConvergenceWarning, match="did not converge in 2 iterations"):
        fit = fit_ar_signal(y)
    assert np.isfinite(fit.loglike)  # the last estimates are returned


def test_bad_input():
    with pytest.raises(InputError) as err:
        kalman_filter([1.0, 2.0], 0.5, -1.0, 0.1)
    assert err.value.column == "s_v"
    with pytest.raises(InputError):
        steady_state_gain(float("nan"), 1.0, 1.0)
    with pytest.raises(InputError):
        constant_gain_filter([1.0, np.nan], 0.5, 0.3)
