"""The simulated term structure: its expected excess returns are the true conditional means, and its population
R-squared is what a long sample delivers.

Every check recomputes its reference independently of the module: Nelson-Siegel loadings, the macro shock
covariance, the closed-form conditional moments of the macro terms and the Monte Carlo paths are written out
here from the equations in the module docstring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bondpremia.errors import InputError
from bondpremia.fixed_income.curves import excess_returns, forward_rates
from bondpremia.simulate.term_structure import (
    MATURITIES,
    SimulatedTermStructure,
    TermStructureParams,
    expected_excess_returns,
    population_r2,
    simulate_term_structure,
)

COLUMNS = [*MATURITIES, "EW"]


# ----------------------------------------------------------------------------------------------------------
# independent reference implementation of the model's pieces
# ----------------------------------------------------------------------------------------------------------
def _ns(months, lam):
    m = np.asarray(months, dtype=float)
    x = lam * m
    s = (1.0 - np.exp(-x)) / x
    return np.column_stack([np.ones_like(m), s, s - np.exp(-x)])


def _pieces(p: TermStructureParams):
    a = np.asarray(p.macro_ar)
    sd = np.sqrt(1.0 - a**2)
    q = np.asarray(p.macro_corr) * np.outer(sd, sd)
    v = q / (1.0 - np.outer(a, a))  # stationary covariance of independent AR(1)s with correlated shocks
    gam = np.asarray(p.gamma) * p.macro_scale * p.macro_effect
    sig_cov = np.outer(p.factor_vol, p.factor_vol) * np.asarray(p.factor_corr)
    return a, q, v, gam, np.asarray(p.phi), np.asarray(p.mu), sig_cov


def _g(m, v):
    """g(M) = (M1, M2 M3 - E[M2 M3], M4^2 - E[M4^2]) for M of shape (..., 4)."""
    return np.stack([m[..., 0], m[..., 1] * m[..., 2] - v[1, 2], m[..., 3] ** 2 - v[3, 3]], axis=-1)


def _rx_from_x(x_t, x_t12, p, mats=MATURITIES):
    """Realized rx_{t+12}(n) from the states at t and t+12 (rows), columns n and "EW"."""
    xbar = np.asarray(p.mean_factors)
    out = []
    for n in mats:
        y_buy = (xbar + x_t) @ _ns([12 * n], p.decay)[0]
        y_sell = (xbar + x_t12) @ _ns([12 * n - 12], p.decay)[0]
        y_short = (xbar + x_t) @ _ns([12], p.decay)[0]
        out.append(-(n - 1) * y_sell + n * y_buy - y_short)
    out = np.column_stack(out)
    return np.column_stack([out, out.mean(axis=1)])


def _closed_form_expected(x_t, m_t, p, with_variance=True):
    """E_t rx from E_t X_{t+12} = Phi^12 X_t + sum_j Phi^{11-j} (mu + Gamma E_t g(M_{t+j})), term by term."""
    a, q, v, gam, phi, mu, _ = _pieces(p)
    ex = x_t @ np.linalg.matrix_power(phi, 12).T
    for j in range(12):
        em = m_t * a**j  # E_t M_{t+j}
        cov_j = v - np.outer(a**j, a**j) * v  # Var_t(M_{t+j}) = V - A^j V A^j'
        eg = np.column_stack([em[:, 0], em[:, 1] * em[:, 2] - v[1, 2], em[:, 3] ** 2 - v[3, 3]])
        if with_variance:
            eg[:, 1] += cov_j[1, 2]
            eg[:, 2] += cov_j[3, 3]
        ex += (mu + eg @ gam.T) @ np.linalg.matrix_power(phi, 11 - j).T
    return _rx_from_x(x_t, ex, p)


def _monte_carlo(x_t, m_t, p, n_paths, rng):
    """Realized rx of ``n_paths`` independent 12-month continuations of the state (x_t, m_t)."""
    a, q, v, gam, phi, mu, sig_cov = _pieces(p)
    lq, ls = np.linalg.cholesky(q), np.linalg.cholesky(sig_cov)
    x = np.tile(x_t, (n_paths, 1))
    m = np.tile(m_t, (n_paths, 1))
    for _ in range(12):
        x_next = mu + x @ phi.T + _g(m, v) @ gam.T + rng.standard_normal((n_paths, 3)) @ ls.T
        m = m * a + rng.standard_normal((n_paths, 4)) @ lq.T
        x = x_next
    return _rx_from_x(np.tile(x_t, (n_paths, 1)), x, p)


def _newey_west_t(y, z, lags=12):
    """OLS of y on z (with its constant) and Newey-West (Bartlett) t-statistics."""
    zz_inv = np.linalg.inv(z.T @ z)
    b = zz_inv @ z.T @ y
    u = (y - z @ b)[:, None] * z
    s = u.T @ u
    for lag in range(1, lags + 1):
        w = 1.0 - lag / (lags + 1.0)
        g = u[lag:].T @ u[:-lag]
        s += w * (g + g.T)
    cov = zz_inv @ s @ zz_inv
    return b, b / np.sqrt(np.diag(cov)), 1.0 - ((y - z @ b) ** 2).sum() / ((y - y.mean()) ** 2).sum()


def _states(sim):
    return (sim.states[["level", "slope", "curvature"]].to_numpy(),
            sim.states[["macro1", "macro2", "macro3", "macro4"]].to_numpy())


@pytest.fixture(scope="module")
def default_sim() -> SimulatedTermStructure:
    return simulate_term_structure(seed=7)


@pytest.fixture(scope="module")
def long_sim() -> SimulatedTermStructure:
    return simulate_term_structure(n_months=100_000, n_series=12, seed=2024, burn_in=600)


# ----------------------------------------------------------------------------------------------------------
# tests
# ----------------------------------------------------------------------------------------------------------
def test_deterministic_given_seed():
    a = simulate_term_structure(n_months=120, n_series=30, seed=3)
    b = simulate_term_structure(n_months=120, n_series=30, seed=3)
    c = simulate_term_structure(n_months=120, n_series=30, seed=4)
    for name in ("yields", "macro", "expected_excess", "states"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
        assert not np.allclose(getattr(a, name).to_numpy(dtype=float), getattr(c, name).to_numpy(dtype=float))
    # the states use their own random stream: the curve does not depend on the size of the panel
    d = simulate_term_structure(n_months=120, n_series=50, seed=3)
    pd.testing.assert_frame_equal(a.yields, d.yields)


def test_shapes_labels_and_plausible_yields(default_sim):
    sim = default_sim
    y = sim.yields
    assert y.shape == (600, 120)
    assert list(y.columns) == list(range(1, 121))
    assert y.index[0] == pd.Timestamp("1971-08-31") and y.index[-1] == pd.Timestamp("2021-07-31")
    assert (y.index == y.index + pd.offsets.MonthEnd(0)).all()
    assert np.isfinite(y.to_numpy()).all()
    means = y.mean()
    assert 0.035 < means[1] < means[12] < means[60] < means[120] < 0.08  # upward sloping on average
    assert 0.04 < means.mean() < 0.07
    assert 0.005 < y[120].std() < 0.04
    assert (y.to_numpy() < 0).mean() < 0.05 and y.to_numpy().min() > -0.06 and y.to_numpy().max() < 0.25
    # yields are a(m) + B(m)'X_t with Nelson-Siegel loadings
    p = sim.params
    x, _ = _states(sim)
    np.testing.assert_allclose(y.to_numpy(), (np.asarray(p.mean_factors) + x) @ _ns(range(1, 121), p.decay).T,
                               atol=1e-13)
    # macro panel
    assert sim.macro.shape == (600, 100) and sim.macro.index.equals(y.index)
    assert np.isfinite(sim.macro.to_numpy()).all()
    assert sim.groups.index.equals(sim.macro.columns) and sim.tcodes.index.equals(sim.macro.columns)
    assert set(sim.groups) == set(range(1, 9)) and (sim.tcodes == 1).all()
    assert all(name.startswith(f"G{g}_S") for name, g in sim.groups.items())
    assert sim.macro.columns.is_unique
    load = sim.loadings
    assert (load.loc[sim.groups == 6, ["level", "slope", "curvature"]].abs().sum(axis=1) > 0).mean() > 0.5
    assert (load.loc[sim.groups != 6, ["level", "slope", "curvature"]] == 0).all().all()
    assert 2 <= (load.abs().sum(axis=1) == 0).sum() <= 10  # a few pure-noise series
    # expected excess returns: labelled like excess_returns, NaN-free up to the last month
    rx = excess_returns(y)
    assert sim.expected_excess.columns.equals(rx.columns)
    assert list(sim.expected_excess.columns) == COLUMNS
    assert sim.expected_excess.index.equals(rx.index)
    assert np.isfinite(sim.expected_excess.to_numpy(dtype=float)).all()
    assert rx.iloc[-12:].isna().all().all()
    assert sim.population_r2.index.equals(rx.columns)
    np.testing.assert_allclose(sim.expected_excess["EW"], sim.expected_excess[list(MATURITIES)].mean(axis=1),
                               atol=1e-15)


def test_expected_excess_equals_term_by_term_closed_form(default_sim):
    """The stacked-state formula equals sum_j Phi^{11-j} Gamma E_t g(M_{t+j}) written out term by term."""
    x, m = _states(default_sim)
    ref = _closed_form_expected(x, m, default_sim.params)
    np.testing.assert_allclose(default_sim.expected_excess.to_numpy(dtype=float), ref, rtol=0, atol=1e-12)
    again = expected_excess_returns(default_sim.states[["level", "slope", "curvature"]], m, default_sim.params)
    pd.testing.assert_frame_equal(again, default_sim.expected_excess)


@pytest.mark.parametrize("pick", ["max_ew", "min_ew", "max_interaction"])
def test_monte_carlo_from_a_fixed_state(default_sim, pick):
    """From one state at t, 20,000 independent 12-month continuations average to E_t rx within 4 s.e."""
    sim = default_sim
    x, m = _states(sim)
    ew = sim.expected_excess["EW"].to_numpy(dtype=float)
    t = {"max_ew": int(np.argmax(ew)), "min_ew": int(np.argmin(ew)),
         "max_interaction": int(np.argmax(np.abs(m[:, 1] * m[:, 2])))}[pick]
    rx = _monte_carlo(x[t], m[t], sim.params, 20_000, np.random.default_rng(99))
    mean, se = rx.mean(axis=0), rx.std(axis=0, ddof=1) / np.sqrt(len(rx))
    expected = sim.expected_excess.iloc[t].to_numpy(dtype=float)
    assert np.all(np.abs(mean - expected) < 4 * se), (mean - expected) / se
    # power: dropping the conditional variances of the macro terms (a plug-in of E_t M) is clearly rejected
    naive = _closed_form_expected(x[t:t + 1], m[t:t + 1], sim.params, with_variance=False)[0]
    assert np.all(np.abs(mean - naive)[1:] > 5 * se[1:])


def test_forecast_errors_have_mean_zero_and_are_unpredictable(long_sim):
    sim = long_sim
    rx = excess_returns(sim.yields)
    ok = rx.notna().all(axis=1).to_numpy()
    err = (rx - sim.expected_excess).to_numpy(dtype=float)[ok]
    f = forward_rates(sim.yields, (1, 5, 10)).to_numpy()[ok]  # three forwards span the curve exactly
    _, m = _states(sim)
    m = m[ok]
    info = np.column_stack([f, m, m[:, 1] * m[:, 2], m[:, 3] ** 2, sim.macro.to_numpy()[ok][:, ::4]])
    info = (info - info.mean(axis=0)) / info.std(axis=0)
    z = np.column_stack([np.ones(len(info)), info])
    for j, col in enumerate(COLUMNS):
        _, tstat_mean, _ = _newey_west_t(err[:, j], z[:, :1])
        assert abs(tstat_mean[0]) < 4, col
        b, tstat, r2 = _newey_west_t(err[:, j], z)
        assert np.all(np.abs(tstat) < 4.5), (col, np.round(tstat, 2))
        assert r2 < 5e-3, (col, r2)
    # the same regression finds the premium in realized returns: the information is relevant
    _, tstat, r2 = _newey_west_t(rx.to_numpy(dtype=float)[ok][:, -1], z)
    assert r2 > 0.2 and np.abs(tstat).max() > 10


def test_population_r2_matches_a_long_sample(long_sim):
    sim = long_sim
    rx = excess_returns(sim.yields)
    ok = rx.notna().all(axis=1).to_numpy()
    r = rx.to_numpy(dtype=float)[ok]
    err = r - sim.expected_excess.to_numpy(dtype=float)[ok]
    sample = 1.0 - (err**2).mean(axis=0) / r.var(axis=0)
    np.testing.assert_allclose(sample, sim.population_r2.to_numpy(dtype=float), atol=0.025)
    # the linear rows: in-sample OLS on the forwards, then on the forwards and the macro factors
    table = sim.population_r2_table
    f = forward_rates(sim.yields, range(1, 11)).to_numpy()[ok]
    _, m = _states(sim)
    for row, regressors in (("forwards", f), ("forwards_macro_linear", np.column_stack([f, m[ok]]))):
        z = np.column_stack([np.ones(len(r)), regressors])
        b = np.linalg.lstsq(z, r, rcond=None)[0]
        ols = 1.0 - (r - z @ b).var(axis=0) / r.var(axis=0)
        np.testing.assert_allclose(ols, table.loc[row].to_numpy(dtype=float), atol=0.025, err_msg=row)


def test_default_calibration_has_learnable_linear_and_nonlinear_premia():
    table = population_r2()
    total, fwd, lin = (table.loc[r].to_numpy(dtype=float) for r in ("total", "forwards", "forwards_macro_linear"))
    assert np.all((0.15 <= fwd) & (fwd <= 0.35))
    assert np.all(total - fwd >= 0.10)  # the macro premium is clearly visible on top of the forwards
    assert np.all(total - lin >= 0.08)  # most of it is non-linear
    assert np.all(total < 0.5)
    assert list(table.columns) == COLUMNS


def test_without_macro_effect_premia_are_affine_in_the_forwards():
    sim = simulate_term_structure(n_months=600, n_series=20, seed=1, params={"macro_effect": False})
    f = forward_rates(sim.yields, range(1, 11)).to_numpy()
    z = np.column_stack([np.ones(len(f)), f])
    e = sim.expected_excess.to_numpy(dtype=float)
    b = np.linalg.lstsq(z, e, rcond=None)[0]
    r2 = 1.0 - ((e - z @ b) ** 2).sum(axis=0) / ((e - e.mean(axis=0)) ** 2).sum(axis=0)
    assert np.all(r2 > 1 - 1e-10), r2
    table = population_r2({"macro_effect": False})
    np.testing.assert_allclose(table.loc["forwards"], table.loc["total"], rtol=1e-10)
    pd.testing.assert_frame_equal(table, population_r2({"macro_scale": 0.0}))
    # with the macro effect on, the same regression leaves a large part of the premium unexplained
    on = simulate_term_structure(n_months=600, n_series=20, seed=1)
    e = on.expected_excess.to_numpy(dtype=float)
    f_on = forward_rates(on.yields, range(1, 11)).to_numpy()
    z_on = np.column_stack([np.ones(len(f_on)), f_on])
    b = np.linalg.lstsq(z_on, e, rcond=None)[0]
    r2_on = 1.0 - ((e - z_on @ b) ** 2).sum(axis=0) / ((e - e.mean(axis=0)) ** 2).sum(axis=0)
    assert np.all(r2_on < 0.9)


def test_macro_scale_strengthens_the_macro_premium():
    weak, strong = population_r2({"macro_scale": 0.5}), population_r2({"macro_scale": 1.5})
    assert np.all(strong.loc["total"] - strong.loc["forwards"] > weak.loc["total"] - weak.loc["forwards"])


def test_bad_parameters_raise():
    with pytest.raises(InputError, match="unit circle"):
        TermStructureParams(phi=np.diag([1.0, 0.9, 0.9]))
    with pytest.raises(InputError, match="shape"):
        TermStructureParams(gamma=[[0.0, 0.0], [0.0, 0.0]])
    with pytest.raises(InputError, match="unknown parameter"):
        simulate_term_structure(n_months=24, params={"no_such_field": 1.0})
    with pytest.raises(InputError, match="n_series"):
        simulate_term_structure(n_months=24, n_series=5)
    p = TermStructureParams(macro_ar=[0.9, 0.9, 0.9, 0.9])
    assert p.macro_ar == (0.9, 0.9, 0.9, 0.9) and hash(p) == hash(TermStructureParams(macro_ar=(0.9,) * 4))


@pytest.mark.parametrize("f", [np.diag([0.9, -0.5, 0.2]), [[0.9, 0.3, 0.0], [-0.3, 0.9, 0.0], [0.1, 0.0, 0.5]],
                               [[0.8, 1.0, 0.0], [0.0, 0.8, 0.0], [0.0, 0.0, 0.3]]])
def test_var1_filter_equals_the_recursion(f):
    """Diagonal, complex-eigenvalue and defective (Jordan) transition matrices."""
    from bondpremia.simulate.term_structure import _var1_path

    f = np.asarray(f, dtype=float)
    rng = np.random.default_rng(0)
    shocks, s0 = rng.standard_normal((300, 3)), rng.standard_normal(3)
    ref = np.empty((301, 3))
    ref[0] = s0
    for t in range(300):
        ref[t + 1] = f @ ref[t] + shocks[t]
    np.testing.assert_allclose(_var1_path(f, shocks, s0), ref, rtol=0, atol=1e-10)
