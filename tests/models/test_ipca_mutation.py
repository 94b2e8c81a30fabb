"""Small, fast IPCA tests written against surviving mutants of ``bondpremia.models.ipca`` (issue 20).

Every expected value is computed here independently of the estimator: numpy by hand on hand-sized panels (the
managed portfolios, the per-month factor regressions, the pooled Gamma regression on the raw observations, the
uncentered R^2), a separate alternating-least-squares reference (``_reference_als``: raw-panel least squares with
QR / eigen normalization, none of the estimator's code), closed forms (t(df) variance), and the error contracts
(InputError naming the column). The whole module runs in a few seconds.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from bondpremia.errors import ConvergenceError, InputError
from bondpremia.models import IPCA
from bondpremia.models import ipca as mod
from bondpremia.rundir import require_run


# ---------------------------------------------------------------------------------------------------------------
# hand-sized panels and an independent reference
# ---------------------------------------------------------------------------------------------------------------
def _panel(n=25, t=10, n_chars=3, k=1, alpha=None, seed=0, noise=0.05, drop=0.0, int_dates=False):
    rng = np.random.default_rng(seed)
    gamma = rng.standard_normal((n_chars, k))
    f = 0.5 * rng.standard_normal((t, k)) + 0.3
    z = rng.standard_normal((t, n, n_chars))
    a = np.zeros(n_chars) if alpha is None else np.asarray(alpha, dtype=float)
    r = np.einsum("tnl,tl->tn", z, f @ gamma.T + a) + noise * rng.standard_normal((t, n))
    chars = [f"c{j}" for j in range(n_chars)]
    df = pd.DataFrame(z.reshape(-1, n_chars), columns=chars)
    df["ret"] = r.ravel()
    df["id"] = np.tile(np.arange(n), t)
    df["date"] = np.repeat(np.arange(t) if int_dates else pd.date_range("2001-01-31", periods=t, freq="ME"), n)
    if drop:
        df = df[rng.random(len(df)) > drop].reset_index(drop=True)
    return df, chars


def _months(df, chars, date="date", ret="ret"):
    """Per month (sorted): (date, Z_t, r_t)."""
    out = []
    for d, g in df.groupby(date, sort=True):
        out.append((d, g[chars].to_numpy(dtype=float), g[ret].to_numpy(dtype=float)))
    return out


def _normalize_ref(gb, ga, F):
    """Gamma_alpha orthogonal to Gamma_beta, Gamma_beta'Gamma_beta = I (QR), factors rotated to orthogonal
    with descending second moments (eigh), positive means."""
    if ga is not None:
        c = np.linalg.lstsq(gb, ga, rcond=None)[0]
        ga = ga - gb @ c
        F = F + c[None, :]
    q, r = np.linalg.qr(gb)
    F = F @ r.T
    vals, vecs = np.linalg.eigh(F.T @ F / len(F))
    vecs = vecs[:, np.argsort(vals)[::-1]]
    gb, F = q @ vecs, F @ vecs
    s = np.where(F.mean(axis=0) < 0, -1.0, 1.0)
    return gb * s, ga, F * s


def _reference_als(df, chars, k, intercept=False, iters=5000, tol=1e-14):
    """IPCA by alternating raw-panel least squares (no managed portfolios, no estimator code)."""
    months = _months(df, chars)
    L = len(chars)
    rng = np.random.default_rng(123)
    gb = np.linalg.qr(rng.standard_normal((L, k)))[0]
    ga = np.zeros(L) if intercept else None
    F = None
    for _ in range(iters):
        F_new = []
        for _, z, r in months:
            zg = z @ gb
            y = r - (z @ ga if intercept else 0.0)
            F_new.append(np.linalg.lstsq(zg, y, rcond=None)[0])
        F_new = np.array(F_new)
        rows, ys = [], []
        for (_, z, r), f in zip(months, F_new, strict=True):
            ft = np.append(f, 1.0) if intercept else f
            rows.append((z[:, :, None] * ft[None, None, :]).reshape(len(z), -1))
            ys.append(r)
        sol = np.linalg.lstsq(np.vstack(rows), np.concatenate(ys), rcond=None)[0].reshape(L, -1)
        gb_new, ga_new = sol[:, :k], (sol[:, k] if intercept else None)
        F2 = []
        for _, z, r in months:
            y = r - (z @ ga_new if intercept else 0.0)
            F2.append(np.linalg.lstsq(z @ gb_new, y, rcond=None)[0])
        gb_new, ga_new, F2 = _normalize_ref(gb_new, ga_new, np.array(F2))
        done = F is not None and max(np.abs(gb_new - gb).max(), np.abs(F2 - F).max()) < tol
        gb, ga, F = gb_new, ga_new, F2
        if done:
            break
    return gb, ga, F


# ---------------------------------------------------------------------------------------------------------------
# argument and input errors: each names the offending column / argument
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "column", "message"), [
    ({"n_factors": 0}, "n_factors", "n_factors must be at least 1"),
    ({"missing": "skip"}, "missing", "missing must be 'drop' or 'raise'"),
    ({"singular_months": "x"}, "singular_months", "singular_months must be 'keep' or 'drop'"),
])
def test_constructor_errors(kwargs, column, message):
    with pytest.raises(InputError) as err:
        IPCA(**kwargs)
    assert err.value.column == column and err.value.reason == message


def test_constructor_defaults():
    m = IPCA()
    assert (m.n_factors, m.intercept, m.max_iter, m.tol, m.ridge, m.missing, m.min_obs, m.singular_months,
            m.constant) == (1, False, 10_000, 1e-10, 0.0, "drop", None, "keep", True)
    IPCA(1, missing="raise", singular_months="drop")  # the other accepted values


def _raises(fn, column, message=None):
    with pytest.raises(InputError) as err:
        fn()
    assert err.value.column == column, (err.value.column, str(err.value))
    if message is not None:
        assert err.value.reason == message, err.value.reason
    return err.value


def test_input_errors_name_the_column():
    df, chars = _panel()
    _raises(lambda: IPCA(4, constant=False).fit(df, chars=chars), "n_factors",
            "n_factors=4 exceeds the number of characteristics (3)")
    _raises(lambda: IPCA(2, constant=False).fit(df[df["date"] == df["date"].min()], chars=chars), "n_factors",
            "2 factor(s) need at least 3 months with data; the panel has 1")
    _raises(lambda: IPCA(1).fit(df, chars=["c0", "c0"]), "chars", "characteristics are listed twice")
    _raises(lambda: IPCA(1).fit(df, chars=chars, entity="bond"), "bond")
    _raises(lambda: IPCA(1).fit(df, chars=chars, date="month"), "month")
    _raises(lambda: IPCA(1).fit(df, ret="r", chars=chars), "r")
    e = _raises(lambda: IPCA(1).fit(df, chars=["c0", "nope"]), "nope")
    assert e.reason == f"column not found; the panel has {list(df.columns)}"
    _raises(lambda: IPCA(1, min_obs=26).fit(df, chars=chars), "date",
            "no month has at least 26 complete observations")
    _raises(lambda: IPCA(1).fit(df.assign(c1=0.0), chars=chars), "chars",
            "characteristics are identically zero: ['c1']")
    _raises(lambda: IPCA(1).fit([1, 2], chars=chars), None, "panel must be a pandas or polars DataFrame, got list")
    three = df.assign(k=0).set_index(["id", "date", "k"])
    _raises(lambda: IPCA(1).fit(three, chars=chars), "index",
            "a MultiIndex panel needs two levels (entity, date), got 3")
    m = IPCA(1).fit(df, chars=chars)
    _raises(lambda: m.predict(df, kind="mean"), "kind", "kind must be 'total' or 'predictive'")
    _raises(lambda: m.test_alpha(n_boot=2), "intercept", "test_alpha needs a model fitted with intercept=True")
    _raises(lambda: m.test_beta("c9", n_boot=2), "char",
            "'c9' is not a characteristic of the model ['c0', 'c1', 'c2', 'constant']")


def test_test_beta_without_loadings_left():
    df, _ = _panel(n_chars=1)
    m = IPCA(1, constant=False).fit(df, chars=["c0"])
    _raises(lambda: m.test_beta("c0", n_boot=2), "char",
            "the restricted model has no loadings left; use more characteristics")


def test_missing_observable_factors_are_named():
    df, chars = _panel(t=8)
    dates = np.sort(df["date"].unique())
    g = pd.DataFrame({"mkt": np.linspace(-1, 1, 6)}, index=dates[:6])
    e = _raises(lambda: IPCA(1).fit(df, chars=chars, factors=g), "factors")
    assert e.reason == "observable factors are missing for dates ['2001-07-31', '2001-08-31']"
    e = _raises(lambda: IPCA(1).fit(df, chars=chars, factors=g.iloc[:2]), "factors")  # six missing: five listed
    assert e.reason == ("observable factors are missing for dates ['2001-03-31', '2001-04-30', '2001-05-31', "
                        "'2001-06-30', '2001-07-31']")


def test_collinear_characteristics_message():
    df, chars = _panel()
    df["d"] = df["c0"] - df["c2"]
    e = _raises(lambda: IPCA(1, constant=False).fit(df, chars=[*chars, "d"]), "chars")
    assert e.reason == ("characteristics are collinear (a constant column next to the intercept, or linear "
                        "combinations): ['c0', 'c2', 'd']; drop one of them")


def test_fit_oos_start_errors_and_integer_dates():
    df, chars = _panel(t=8, int_dates=True)
    for start in (1, 8):
        e = _raises(lambda s=start: IPCA(1).fit_oos(df, start=s, chars=chars), "start")
        assert e.reason == (f"start {start} leaves no estimation window of at least 2 months or no out-of-sample "
                            f"month (the panel's months run 0 .. 7)")
    IPCA(1).fit_oos(df, start=2, chars=chars)  # the smallest window, n_factors + 1 months
    dfd, _ = _panel(t=8)
    e = _raises(lambda: IPCA(1).fit_oos(dfd, start="2001-01-31", chars=chars), "start")
    assert e.reason.startswith("start 2001-01-31 leaves") and "(the panel's months run 2001-01-31 .. 2001-08-31)" \
        in e.reason
    e = _raises(lambda: IPCA(1).fit_oos(dfd, start=pd.Timestamp("2001-02-28"), chars=chars), "start")
    assert e.reason.startswith("start 2001-02-28 leaves")


def test_missing_values_raise_with_row_and_drop_counts():
    df, chars = _panel()
    df.loc[3, "ret"] = np.nan
    df["c2"] = df["c2"].astype(object)
    df.loc[7, "c2"] = "x"  # non-numeric: coerced to NaN
    e = _raises(lambda: IPCA(1, missing="raise").fit(df, chars=chars), "ret",
                "missing or non-numeric value; pass missing='drop' to drop such rows")
    assert e.row == 3
    m = IPCA(1).fit(df, chars=chars)
    assert m.n_dropped_ == 2


# ---------------------------------------------------------------------------------------------------------------
# data preparation by hand
# ---------------------------------------------------------------------------------------------------------------
def test_prepare_managed_portfolios_by_hand():
    df, chars = _panel(n=7, t=5, drop=0.3, seed=2)
    df = df.sample(frac=1.0, random_state=1)  # unsorted rows
    thin_date = df["date"].iloc[0]
    df = pd.concat([df[df["date"] != thin_date], df[df["date"] == thin_date].iloc[:1]])  # one month with 1 row
    for chunk in (1, 40_000_000):
        p = mod._prepare(df, "ret", chars, "id", "date", "drop", 2, chunk_cells=chunk)
        kept = [(d, z, r) for d, z, r in _months(df, chars) if len(r) >= 2]
        assert list(p.dates) == [d for d, _, _ in kept] and p.dates.name == "date"
        assert p.chars == chars and p.n_dropped == 1
        np.testing.assert_array_equal(p.N, [len(r) for _, _, r in kept])
        np.testing.assert_allclose(p.X, [z.T @ r / len(r) for _, z, r in kept], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(p.W, [z.T @ z / len(r) for _, z, r in kept], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(p.rr, [r @ r for _, _, r in kept], rtol=1e-13)
        assert len(p.singular) == 0


def test_design_inserts_the_constant_in_place():
    df = pd.DataFrame({"a": [1.0, 2.0], "b": ["3", "x"]})
    np.testing.assert_array_equal(mod._design(df, ["a", "constant", "b"]), [[1, 1, 3], [2, 1, np.nan]])
    np.testing.assert_array_equal(mod._design(df.assign(constant=5.0), ["constant", "a"]), [[5, 1], [5, 2]])


def test_has_constant():
    df = pd.DataFrame({"a": [1.0, 2.0, np.nan], "k": [2.0, 2.0, np.nan], "z": [0.0, 0.0, 0.0],
                       "e": [np.nan, np.nan, np.nan]})
    assert mod._has_constant(df, ["a", "k"]) and mod._has_constant(df, ["missing", "k"])
    assert mod._has_constant(df, ["a", "constant"])
    assert not mod._has_constant(df, ["a", "z", "e", "missing"])
    assert not mod._has_constant(df.assign(k=[2.0, 3.0, 2.0]), ["k"])


def test_instruments_and_constant():
    df, chars = _panel()
    assert IPCA(1)._instruments(df, None, "ret", "id", "date") == [*chars, "constant"]
    assert IPCA(1, constant=False)._instruments(df, None, "ret", "id", "date") == chars
    assert IPCA(1)._instruments(df.assign(one=1.0), [*chars, "one"], "ret", "id", "date") == [*chars, "one"]
    assert IPCA(1)._instruments(df, ["c0", "constant"], "ret", "id", "date") == ["c0", "constant"]
    m = IPCA(1).fit(df, chars=chars)
    assert m.chars_ == [*chars, "constant"] and m.fit_stats()["constant"] is True


def test_to_pandas_multiindex_and_polars():
    df, chars = _panel()
    named = df.set_index(["id", "date"])
    back = mod._to_pandas(named, "id", "date")
    assert list(back.columns[:2]) == ["id", "date"]
    pd.testing.assert_frame_equal(back[chars], df[chars])
    dup = df.set_index(["id", "date"], drop=False)  # index and columns both
    assert list(mod._to_pandas(dup, "id", "date").columns) == list(df.columns)
    flat = df.set_index(["id", "date"])
    assert mod._to_pandas(flat, None, None) is flat  # no names: left alone
    pl = pytest.importorskip("polars")
    pd.testing.assert_frame_equal(mod._to_pandas(pl.from_pandas(df)), df.reset_index(drop=True),
                                  check_dtype=False)


def test_singular_months_by_hand():
    W = np.array([np.eye(2), [[1.0, 1.0], [1.0, 1.0]], [[0.0, 0.0], [0.0, 2.0]], [[1.0, 0.5], [0.5, 1.0]],
                  [[1.0, 1 - 1e-12], [1 - 1e-12, 1.0]]])
    np.testing.assert_array_equal(mod._singular_months(W), [False, True, True, False, True])


def test_singular_months_hint_and_drop_count():
    df, chars = _panel(t=10, n=25, seed=4)
    early = df["date"] <= pd.Timestamp("2001-02-28")
    df.loc[early, "c1"] = 0.0
    p = mod._prepare(df, "ret", [*chars, "constant"], "id", "date", "drop", 2)
    assert [str(d.date()) for d in p.singular] == ["2001-01-31", "2001-02-28"]
    assert mod._singular_hint(p) == (
        "; 2 month(s) between 2001-01-31 and 2001-02-28 have a singular instrument matrix Z_t'Z_t (a characteristic "
        "without variation of its own that month): pass singular_months='drop' (CLI: --drop-singular-months) or "
        "start the sample later")
    q = mod._prepare(df, "ret", [*chars, "constant"], "id", "date", "drop", 2, singular_months="drop")
    assert q.n_dropped == int(early.sum()) and len(q.dates) == 8 and len(q.singular) == 0
    assert mod._singular_hint(q) == ""
    one = mod._prepare(df[df["date"] != pd.Timestamp("2001-02-28")], "ret", [*chars, "constant"], "id", "date",
                       "drop", 2)
    assert mod._singular_hint(one).startswith("; 1 month(s) between 2001-01-31 and 2001-01-31")
    with pytest.raises(InputError) as err:
        mod._prepare(df[early], "ret", chars, "id", "date", "drop", 2, singular_months="drop")
    assert err.value.column == "chars" and err.value.reason == "every month's instrument matrix Z_t'Z_t is singular"


# ---------------------------------------------------------------------------------------------------------------
# the ALS steps by hand
# ---------------------------------------------------------------------------------------------------------------
def _small_core(seed=0, T=6, L=3, K=2, M=1, B=2):
    rng = np.random.default_rng(seed)
    Z = [rng.standard_normal((5 + t, L)) for t in range(T)]
    R = [rng.standard_normal(5 + t) for t in range(T)]
    N = np.array([len(r) for r in R], dtype=float)
    X = np.array([z.T @ r / len(r) for z, r in zip(Z, R, strict=True)])
    W = np.array([z.T @ z / len(r) for z, r in zip(Z, R, strict=True)])
    gb = rng.standard_normal((B, L, K))
    go = rng.standard_normal((B, L, M))
    G = rng.standard_normal((T, M))
    return Z, R, N, X, W, gb, go, G


def test_factor_step_is_the_monthly_regression():
    Z, R, N, X, W, gb, go, G = _small_core()
    F = mod._factor_step(np.broadcast_to(X, (2, *X.shape)), W, gb, go, G)
    for b in range(2):
        for t, (z, r) in enumerate(zip(Z, R, strict=True)):
            y = r - z @ go[b] @ G[t]
            expected = np.linalg.lstsq(z @ gb[b], y, rcond=None)[0]
            np.testing.assert_allclose(F[b, t], expected, rtol=1e-10, atol=1e-12)
    F0 = mod._factor_step(X[None], W, gb[:1], go[:1, :, :0], G[:, :0])
    np.testing.assert_allclose(F0[0, 2], np.linalg.lstsq(Z[2] @ gb[0], R[2], rcond=None)[0], rtol=1e-10)


def test_factor_step_singular_month_is_named():
    Z, R, N, X, W, gb, go, G = _small_core(B=1)
    W = W.copy()
    W[3] = 0.0
    with pytest.raises(ConvergenceError) as err:
        mod._factor_step(X[None], W, gb, go, G)
    assert str(err.value) == ("the factor step is singular in months [3] (index in the fit): too few observations "
                              "or degenerate characteristics there")


def _stacked(Z, R, F, G):
    """Raw-panel regressors for Gamma~ (row-major (L, K~)): z_il * f~_tk."""
    rows = []
    for t, z in enumerate(Z):
        ft = np.concatenate([F[t], G[t]])
        rows.append((z[:, :, None] * ft[None, None, :]).reshape(len(z), -1))
    return np.vstack(rows), np.concatenate(R)


@pytest.mark.parametrize("ridge", [0.0, 0.3])
def test_gamma_step_is_the_pooled_regression(ridge):
    Z, R, N, X, W, gb, go, G = _small_core()
    rng = np.random.default_rng(5)
    F = rng.standard_normal((2, len(Z), 2))
    WN = W * N[:, None, None]
    out = mod._gamma_step(np.broadcast_to(X, (2, *X.shape)), WN, N, F, G, ridge)
    for b in range(2):
        D, y = _stacked(Z, R, F[b], G)
        expected = np.linalg.solve(D.T @ D + ridge * N.sum() * np.eye(D.shape[1]), D.T @ y)
        np.testing.assert_allclose(out[b], expected.reshape(3, 3), rtol=1e-9, atol=1e-12)
    # zero_row: the latent loadings of characteristic 1 fixed at zero, its observable loading free
    out0 = mod._gamma_step(X[None], WN, N, F[:1], G, 0.0, zero_row=1)
    D, y = _stacked(Z, R, F[0], G)
    free = np.ones((3, 3), dtype=bool)
    free[1, :2] = False
    sol = np.zeros(9)
    sol[free.ravel()] = np.linalg.lstsq(D[:, free.ravel()], y, rcond=None)[0]
    np.testing.assert_allclose(out0[0], sol.reshape(3, 3), rtol=1e-9, atol=1e-12)
    assert np.all(out0[0, 1, :2] == 0)


def test_normalize_identities_and_fit_invariance():
    _, _, _, _, _, gb, go, G = _small_core(K=3, L=4, M=2, T=9)
    rng = np.random.default_rng(8)
    F = rng.standard_normal((2, 9, 3)) + 0.1
    gb2, go2, F2 = mod._normalize(gb, go, F, G)
    for b in range(2):
        before = F[b] @ gb[b].T + G @ go[b].T
        np.testing.assert_allclose(F2[b] @ gb2[b].T + G @ go2[b].T, before, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(gb2[b].T @ gb2[b], np.eye(3), atol=1e-12)
        np.testing.assert_allclose(gb2[b].T @ go2[b], 0, atol=1e-12)
        s = F2[b].T @ F2[b] / 9
        np.testing.assert_allclose(s - np.diag(np.diag(s)), 0, atol=1e-12)
        assert np.all(np.diff(np.diag(s)) < 0) and np.all(F2[b].mean(axis=0) > 0)
    # independent reference with a constant observable (the intercept)
    ones = np.ones((9, 1))
    gb3, go3, F3 = mod._normalize(gb[:1], go[:1, :, :1], F[:1], ones)
    ref_gb, ref_ga, ref_F = _normalize_ref(gb[0], go[0, :, 0], F[0])
    np.testing.assert_allclose(gb3[0], ref_gb, atol=1e-10)
    np.testing.assert_allclose(go3[0, :, 0], ref_ga, atol=1e-10)
    np.testing.assert_allclose(F3[0], ref_F, atol=1e-10)


def test_normalize_keeps_the_sign_of_a_zero_mean_factor():
    gb = np.eye(2)[None]
    F = np.array([[2.0, 1.0], [2.0, -1.0], [2.0, 1.0], [2.0, -1.0]])[None]
    gb2, _, F2 = mod._normalize(gb, np.zeros((1, 2, 0)), F, np.zeros((4, 0)))
    assert F2[0, :, 1].mean() == 0.0
    np.testing.assert_array_equal(np.abs(gb2[0]), np.eye(2))
    np.testing.assert_array_equal(np.abs(F2[0]), np.abs(F[0]))
    np.testing.assert_allclose(F2[0] @ gb2[0].T, F[0], atol=1e-15)


def test_als_batches_like_single_runs_and_counts_iterations():
    df, chars = _panel(seed=3, k=2, n_chars=4)
    df2, _ = _panel(seed=13, k=2, n_chars=4)
    p = mod._prepare(df, "ret", chars, "id", "date", "drop", 3)
    p2 = mod._prepare(df2, "ret", chars, "id", "date", "drop", 3)
    p2.X[:] = p.X + 0.5 * (p2.X - p.X)  # a second data set on the same W
    G = np.zeros((len(p.dates), 0))
    single = [mod._als(x[None], p.W, p.N, 2, G, None, None, 500, 1e-11, 0.0) for x in (p.X, p2.X)]
    both = mod._als(np.stack([p.X, p2.X]), p.W, p.N, 2, G, None, None, 500, 1e-11, 0.0)
    assert both[4] and all(s[4] for s in single)
    assert both[3] == max(s[3] for s in single) and single[0][3] != single[1][3]
    for b in range(2):  # a draw leaves the batch when it converges: bit for bit its single-run answer
        np.testing.assert_array_equal(both[0][b], single[b][0][0])
        np.testing.assert_array_equal(both[2][b], single[b][2][0])
    one = mod._als(p.X[None], p.W, p.N, 2, G, None, None, 500, np.inf, 0.0)
    assert one[3] == 1 and one[4]
    short = mod._als(p.X[None], p.W, p.N, 2, G, None, None, 2, 0.0, 0.0)
    assert short[3] == 2 and not short[4]
    none = mod._als(p.X[None], p.W, p.N, 2, G, None, None, 0, 1e-10, 0.0)
    assert none[3] == 0 and not none[4]


def test_convergence_error_message():
    df, chars = _panel()
    with pytest.raises(ConvergenceError) as err:
        IPCA(1, max_iter=2, tol=0.0).fit(df, chars=chars)
    assert str(err.value) == "IPCA did not converge in 2 iterations (tol 0.0); raise max_iter or loosen tol"
    m = IPCA(1, tol=np.inf).fit(df, chars=chars)
    assert m.n_iter_ == 1


# ---------------------------------------------------------------------------------------------------------------
# the fit against the independent reference
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("k", "intercept"), [(1, False), (2, False), (1, True)])
def test_fit_matches_reference_als(k, intercept):
    df, chars = _panel(seed=21, k=2, n_chars=3, alpha=[0.1, -0.2, 0.05] if intercept else None, drop=0.1)
    m = IPCA(k, intercept=intercept, constant=False, tol=1e-13).fit(df, chars=chars)
    gb, ga, F = _reference_als(df, chars, k, intercept=intercept)
    np.testing.assert_allclose(m.gamma_.to_numpy(), gb, atol=1e-8)
    np.testing.assert_allclose(m.factors_.to_numpy(), F, atol=1e-8)
    assert list(m.gamma_.columns) == [f"f{j + 1}" for j in range(k)] and list(m.gamma_.index) == chars
    assert list(m.factors_.columns) == list(m.gamma_.columns)
    np.testing.assert_allclose(m.lambda_.to_numpy(), F.mean(axis=0), atol=1e-8)
    if intercept:
        np.testing.assert_allclose(m.gamma_alpha_.to_numpy(), ga, atol=1e-8)
        assert m.gamma_alpha_.name == "alpha" and list(m.gamma_observable_.columns) == ["alpha"]
    else:
        assert m.gamma_alpha_ is None and m.gamma_observable_.shape == (3, 0)
    # R^2 by hand on the observations and the managed portfolios (KPS eq. 17-18, uncentered)
    ga_ = np.zeros(3) if ga is None else ga
    lam = F.mean(axis=0)
    sse = sst = sse_p = sx = sxe = sxe_p = 0.0
    for (_, z, r), f in zip(_months(df, chars), F, strict=True):
        fit, pred = z @ (gb @ f + ga_), z @ (gb @ lam + ga_)
        sse += ((r - fit) ** 2).sum()
        sse_p += ((r - pred) ** 2).sum()
        sst += (r**2).sum()
        n = len(r)
        sx += ((z.T @ r / n) ** 2).sum()
        sxe += ((z.T @ (r - fit) / n) ** 2).sum()
        sxe_p += ((z.T @ (r - pred) / n) ** 2).sum()
    assert m.r2_total_ == pytest.approx(1 - sse / sst, abs=1e-9)
    assert m.r2_pred_ == pytest.approx(1 - sse_p / sst, abs=1e-9)
    assert m.r2_total_x_ == pytest.approx(1 - sxe / sx, abs=1e-9)
    assert m.r2_pred_x_ == pytest.approx(1 - sxe_p / sx, abs=1e-9)
    # predictions, row by row
    pos = pd.Index(np.sort(df["date"].unique())).get_indexer(df["date"])
    z = df[chars].to_numpy()
    np.testing.assert_allclose(m.predict(df).to_numpy(), np.einsum("nl,nl->n", z, F[pos] @ gb.T + ga_),
                               atol=1e-8)
    pred = m.predict(df, kind="predictive")
    assert pred.name == "ipca_predictive" and m.predict(df).name == "ipca_total"
    np.testing.assert_allclose(pred.to_numpy(), z @ (gb @ lam + ga_), atol=1e-8)
    s = m.fit_stats()
    assert s == {"n_factors": k, "intercept": intercept, "constant": False, "n_iter": m.n_iter_,
                 "r2_total": m.r2_total_, "r2_pred": m.r2_pred_, "r2_total_x": m.r2_total_x_,
                 "r2_pred_x": m.r2_pred_x_, "n_months": 10, "n_dropped": 0}
    assert json.loads(m.to_json()) == s and m.to_json() == json.dumps(s, indent=2)


def test_warm_start_and_ridge():
    df, chars = _panel(seed=31)
    cold = IPCA(1, intercept=True, constant=False, tol=1e-12).fit(df, chars=chars)
    warm = IPCA(1, intercept=True, constant=False, tol=1e-12).fit(df, chars=chars, warm_start=cold)
    assert warm.n_iter_ <= 3
    np.testing.assert_allclose(warm.gamma_alpha_, cold.gamma_alpha_, atol=1e-10)
    # a ridge shrinks: Gamma~ solves (D'D + ridge N I) g = D'y at the fixed point
    m = IPCA(1, constant=False, ridge=0.5, tol=1e-13).fit(df, chars=chars)
    gb, F = m.gamma_.to_numpy(), m.factors_.to_numpy()
    months = _months(df, chars)
    D, y = _stacked([z for _, z, _ in months], [r for _, _, r in months], F, np.zeros((len(F), 0)))
    g = np.linalg.solve(D.T @ D + 0.5 * len(df) * np.eye(3), D.T @ y)
    np.testing.assert_allclose(g / np.linalg.norm(g), gb[:, 0], atol=1e-8)


def test_observable_factor_predictions_and_outside_months():
    df, chars = _panel(seed=41, t=9)
    dates = np.sort(df["date"].unique())
    g = pd.DataFrame({"mkt": np.linspace(-1.0, 1.0, 9)}, index=dates)
    m = IPCA(1, constant=False, tol=1e-12).fit(df, chars=chars, factors=g)
    go = m.gamma_observable_["mkt"].to_numpy()
    gb, F = m.gamma_.to_numpy(), m.factors_.to_numpy()
    late = df.assign(date=df["date"] + pd.offsets.MonthEnd(9))
    both = pd.concat([df, late.iloc[:3]], ignore_index=True)
    out = m.predict(both).to_numpy()
    pos = pd.Index(dates).get_indexer(df["date"])
    z = df[chars].to_numpy()
    np.testing.assert_allclose(out[:len(df)], np.einsum("nl,nl->n", z, F[pos] @ gb.T + np.outer(g["mkt"].to_numpy()[
        pos], go)), atol=1e-12)
    assert np.isnan(out[len(df):]).all()
    pred = m.predict(df, kind="predictive").to_numpy()
    np.testing.assert_allclose(pred, z @ (gb @ F.mean(axis=0) + go * g["mkt"].mean()), atol=1e-12)
    renamed = df.rename(columns={"date": "month"})
    np.testing.assert_allclose(m.predict(renamed, date="month").to_numpy(), out[:len(df)], atol=0)


# ---------------------------------------------------------------------------------------------------------------
# out of sample: month t uses only months before t
# ---------------------------------------------------------------------------------------------------------------
def test_fit_oos_by_hand():
    df, chars = _panel(seed=51, t=9, n=20, noise=0.1)
    res = IPCA(1, constant=False, tol=1e-13).fit_oos(df, start=pd.Timestamp("2001-07-15"), chars=chars)
    months = _months(df, chars)
    assert [str(d.date()) for d in res.factors.index] == ["2001-07-31", "2001-08-31", "2001-09-30"]
    f_oos, fit_t, fit_p = [], [], []
    for t in range(6, 9):
        sub = df[df["date"] < months[t][0]]
        gb, _, F = _reference_als(sub, chars, 1)
        _, z, r = months[t]
        f = np.linalg.lstsq(z @ gb, r, rcond=None)[0]
        f_oos.append(f)
        fit_t.append(z @ gb @ f)
        fit_p.append(z @ gb @ F.mean(axis=0))
    f_oos = np.array(f_oos)
    np.testing.assert_allclose(res.factors.to_numpy(), f_oos, atol=1e-8)
    assert list(res.factors.columns) == ["f1"]
    r = np.concatenate([months[t][2] for t in range(6, 9)])
    assert res.r2_total == pytest.approx(1 - ((r - np.concatenate(fit_t)) ** 2).sum() / (r**2).sum(), abs=1e-9)
    assert res.r2_pred == pytest.approx(1 - ((r - np.concatenate(fit_p)) ** 2).sum() / (r**2).sum(), abs=1e-9)
    num = den = num_p = 0.0
    for t, ft, fp in zip(range(6, 9), fit_t, fit_p, strict=True):
        _, z, rt = months[t]
        num += ((z.T @ (rt - ft) / len(rt)) ** 2).sum()
        num_p += ((z.T @ (rt - fp) / len(rt)) ** 2).sum()
        den += ((z.T @ rt / len(rt)) ** 2).sum()
    assert res.r2_total_x == pytest.approx(1 - num / den, abs=1e-9)
    assert res.r2_pred_x == pytest.approx(1 - num_p / den, abs=1e-9)
    assert res.tangency_sharpe == pytest.approx(abs(f_oos.mean()) / f_oos.std(ddof=1), rel=1e-7)
    assert res.as_dict() == {"r2_total_oos": res.r2_total, "r2_pred_oos": res.r2_pred,
                             "r2_total_x_oos": res.r2_total_x, "r2_pred_x_oos": res.r2_pred_x,
                             "tangency_sharpe_oos": res.tangency_sharpe}


def test_fit_oos_with_intercept_and_two_factors():
    df, chars = _panel(seed=61, t=9, n=20, k=2, alpha=[0.2, 0.0, -0.1])
    res = IPCA(2, intercept=True, constant=False, tol=1e-13).fit_oos(df, start=pd.Timestamp("2001-07-31"),
                                                                      chars=chars)
    months = _months(df, chars)
    f_exp, fits, preds = [], [], []
    for t in (6, 7, 8):
        gb, ga, F = _reference_als(df[df["date"] < months[t][0]], chars, 2, intercept=True)
        _, z, r = months[t]
        f = np.linalg.lstsq(z @ gb, r - z @ ga, rcond=None)[0]
        f_exp.append(f)
        fits.append(z @ (gb @ f + ga))
        preds.append(z @ (gb @ F.mean(axis=0) + ga))
    f_exp = np.array(f_exp)
    np.testing.assert_allclose(res.factors.to_numpy(), f_exp, atol=1e-7)
    assert list(res.factors.columns) == ["f1", "f2"]
    r = np.concatenate([months[t][2] for t in (6, 7, 8)])
    assert res.r2_total == pytest.approx(1 - ((r - np.concatenate(fits)) ** 2).sum() / (r**2).sum(), abs=1e-8)
    assert res.r2_pred == pytest.approx(1 - ((r - np.concatenate(preds)) ** 2).sum() / (r**2).sum(), abs=1e-8)
    mu, cov = f_exp.mean(axis=0), np.cov(f_exp.T)
    assert res.tangency_sharpe == pytest.approx(np.sqrt(mu @ np.linalg.inv(cov) @ mu), rel=1e-6)


def test_fit_oos_first_window_rank_error_and_convergence_error():
    df, chars = _panel(t=8)
    df.loc[df["date"] < pd.Timestamp("2001-04-30"), "c1"] = 0.0
    e = _raises(lambda: IPCA(1, constant=False).fit_oos(df, start="2001-04-30", chars=chars), "start")
    assert e.reason == ("in the first estimation window (the months before 2001-04-30): characteristics are "
                        "identically zero: ['c1']; start the out-of-sample period later or leave them out")
    df2, _ = _panel(t=8)
    with pytest.raises(ConvergenceError) as err:
        IPCA(1, max_iter=1, tol=0.0).fit_oos(df2, start="2001-04-30", chars=chars)
    assert str(err.value) == "IPCA did not converge on the window ending before 2001-04-30"


# ---------------------------------------------------------------------------------------------------------------
# bootstrap tests: the statistic, the draws' construction, the p-value
# ---------------------------------------------------------------------------------------------------------------
class _Recorder:
    """Wraps ``_als`` and records the bootstrap data sets (calls with a batch of more than one or warm starts)."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def __call__(self, X, *args, **kwargs):
        out = self.real(X, *args, **kwargs)
        self.calls.append((X.copy(), args, kwargs, out))
        return out


@pytest.mark.parametrize("df_t", [5.0, np.inf])
def test_alpha_bootstrap_draws_by_hand(monkeypatch, df_t):
    df, chars = _panel(seed=71, alpha=[0.05, 0.0, 0.0], noise=0.2)
    m = IPCA(1, intercept=True, constant=False, tol=1e-11).fit(df, chars=chars)
    rec = _Recorder(mod._als)
    monkeypatch.setattr(mod, "_als", rec)
    res = m.test_alpha(n_boot=5, df=df_t, seed=3, batch=2)
    ga = m.gamma_alpha_.to_numpy()
    assert res.statistic == pytest.approx(ga @ ga, rel=1e-12)
    months = _months(df, chars)
    Wt = np.array([z.T @ z / len(r) for _, z, r in months])
    Xt = np.array([z.T @ r / len(r) for _, z, r in months])
    resid = Xt - np.einsum("tlm,tm->tl", Wt, m.factors_.to_numpy() @ m.gamma_.to_numpy().T + ga)
    gb0, _, F0 = _reference_als(df, chars, 1)
    fitted0 = np.einsum("tlm,tm->tl", Wt, F0 @ gb0.T)
    rng = np.random.default_rng(3)
    boot = [c for c in rec.calls if c[1][4] is not None]  # warm-started calls
    assert [len(c[0]) for c in boot] == [2, 2, 1]
    draws = []
    for X, args, _, out in boot:
        q = rng.standard_t(df_t, size=(len(X), 10)) * np.sqrt(3 / 5) if np.isfinite(df_t) else \
            rng.standard_normal((len(X), 10))
        np.testing.assert_allclose(X, fitted0[None] + q[:, :, None] * resid[None], atol=1e-8)
        np.testing.assert_allclose(args[4], np.broadcast_to(m.gamma_.to_numpy(), (len(X), 3, 1)))
        np.testing.assert_allclose(args[5], np.broadcast_to(ga[:, None], (len(X), 3, 1)))
        assert args[6:] == (m.max_iter, m.tol, m.ridge)
        draws += list((out[1][:, :, 0] ** 2).sum(axis=1))
    np.testing.assert_allclose(res.draws, draws, rtol=1e-12)
    assert res.pvalue == np.mean(np.asarray(draws) >= res.statistic)


def test_beta_bootstrap_draws_by_hand(monkeypatch):
    df, chars = _panel(seed=81, k=1, noise=0.2)
    m = IPCA(1, constant=False, tol=1e-11).fit(df, chars=chars)
    rec = _Recorder(mod._als)
    monkeypatch.setattr(mod, "_als", rec)
    res = m.test_beta("c1", n_boot=3, seed=5, batch=3)
    g = m.gamma_.to_numpy()
    assert res.statistic == pytest.approx(g[1] @ g[1], rel=1e-12)
    restricted = [c for c in rec.calls if c[2].get("zero_row") == 1]
    assert len(restricted) == 1 and restricted[0][1][4] is None
    gbr, _, Fr, _, _ = restricted[0][3]
    assert np.all(gbr[0, 1] == 0)
    months = _months(df, chars)
    # the null model by hand: Gamma row 1 fixed at zero, characteristics c0 and c2 only
    gb_ref, _, F_ref = _reference_als(df, ["c0", "c2"], 1)
    np.testing.assert_allclose(gbr[0][[0, 2]], gb_ref, atol=1e-8)
    Wt = np.array([z.T @ z / len(r) for _, z, r in months])
    Xt = np.array([z.T @ r / len(r) for _, z, r in months])
    fitted0 = np.einsum("tlm,tm->tl", Wt, F_ref @ np.insert(gb_ref, 1, 0.0, axis=0).T)
    resid = Xt - np.einsum("tlm,tm->tl", Wt, m.factors_.to_numpy() @ g.T)
    q = np.random.default_rng(5).standard_t(5.0, size=(3, 10)) * np.sqrt(3 / 5)
    (X, args, _, out), = [c for c in rec.calls if c[1][4] is not None]
    np.testing.assert_allclose(X, fitted0[None] + q[:, :, None] * resid[None], atol=1e-8)
    np.testing.assert_allclose(res.draws, (out[0][:, 1, :] ** 2).sum(axis=1), rtol=1e-12)
    assert res.pvalue == np.mean(res.draws >= res.statistic)


def test_bootstrap_pvalue_counts_ties():
    df, chars = _panel(seed=91)
    m = IPCA(1, intercept=True, constant=False).fit(df, chars=chars)
    stat = float(m.gamma_alpha_ @ m.gamma_alpha_)
    m._bootstrap = lambda *a, **k: np.array([stat, stat / 2, 2 * stat, stat / 3])
    res = m.test_alpha(n_boot=4)
    assert res.pvalue == 0.5 and res.statistic == stat


# ---------------------------------------------------------------------------------------------------------------
# output files
# ---------------------------------------------------------------------------------------------------------------
def test_save_writes_the_ipca_fit_run(tmp_path):
    df, chars = _panel(seed=101, alpha=[0.1, 0, 0])
    m = IPCA(1, intercept=True, constant=False).fit(df, chars=chars)
    out = tmp_path / "a" / "b"
    assert m.save(out, extra={"extra": np.float64(0.5)}, options={"factors": 1}) == out
    text = (out / "fit.json").read_text()
    expected = {"n_factors": 1, "intercept": True, "constant": False, "n_iter": m.n_iter_,
                "r2_total": m.r2_total_, "r2_pred": m.r2_pred_, "r2_total_x": m.r2_total_x_,
                "r2_pred_x": m.r2_pred_x_, "n_months": 10, "n_dropped": 0, "extra": 0.5}
    assert json.loads(text) == expected
    manifest = require_run(out, "ipca fit")
    assert manifest["options"] == {"factors": 1} and manifest["rows"] == {"gamma.csv": 3, "factors.csv": 10}
    assert text.startswith('{\n  "n_factors": 1,\n')
    gamma = (out / "gamma.csv").read_text().splitlines()
    assert gamma[0] == "characteristic,f1,alpha" and gamma[1].startswith("c0,")
    back = pd.read_csv(out / "gamma.csv", index_col=0)
    np.testing.assert_allclose(back["alpha"], m.gamma_alpha_.to_numpy(), rtol=1e-12)
    assert (out / "factors.csv").read_text().splitlines()[0] == "date,f1"
    plain = IPCA(1, constant=False).fit(df, chars=chars)
    plain.save(tmp_path / "c")
    assert (tmp_path / "c" / "gamma.csv").read_text().splitlines()[0] == "characteristic,f1"


# ---------------------------------------------------------------------------------------------------------------
# fit_oos: the same hand-computed answer through every input route
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def oos_case():
    """A panel whose second month has exactly 2 bonds (kept: min_obs = n_factors + 1 = 2), and the out-of-sample
    factors for months 6..8 computed by hand from reference fits on the months before each."""
    df, chars = _panel(seed=111, t=9, n=15, n_chars=2, noise=0.1)
    second = df["date"] == df["date"].unique()[1]
    df = pd.concat([df[~second], df[second].iloc[:2]]).sort_values(["date", "id"]).reset_index(drop=True)
    months = _months(df, chars)
    assert len(months[1][2]) == 2
    f_oos, sse, sst = [], 0.0, 0.0
    for t in range(6, 9):
        gb, _, F = _reference_als(df[df["date"] < months[t][0]], chars, 1)
        _, z, r = months[t]
        f_oos.append(np.linalg.lstsq(z @ gb, r, rcond=None)[0])
        sse += ((r - z @ gb @ F.mean(axis=0)) ** 2).sum()
        sst += (r**2).sum()
    return df, chars, np.array(f_oos), 1 - sse / sst


def _oos(df, **kw):
    kw.setdefault("start", pd.Timestamp("2001-07-31"))
    return IPCA(1, constant=False, tol=1e-13, **kw.pop("model", {})).fit_oos(df, **kw)


def test_fit_oos_input_routes(oos_case):
    import datetime

    df, chars, expected, r2_pred = oos_case
    np.testing.assert_allclose(_oos(df, chars=chars).factors.to_numpy(), expected, atol=1e-8)
    junk = df.assign(junk=np.random.default_rng(0).standard_normal(len(df)))
    np.testing.assert_allclose(_oos(junk, chars=chars, start=datetime.date(2001, 7, 15)).factors.to_numpy(),
                               expected, atol=1e-8)
    renamed = df.rename(columns={"ret": "y", "id": "bond", "date": "month"})[["bond", "month", "y", *chars]]
    np.testing.assert_allclose(_oos(renamed, ret="y", entity="bond", date="month").factors.to_numpy(),
                               expected, atol=1e-8)
    indexed = df.set_index(["id", "date"])
    np.testing.assert_allclose(_oos(indexed, chars=chars).factors.to_numpy(), expected, atol=1e-8)
    # an earlier month with a single bond is dropped (fewer than n_factors + 1), as are months with a singular
    # Z_t'Z_t when asked; neither changes the answer
    one = df[df["date"] == df["date"].min()].iloc[:1].assign(date=pd.Timestamp("2000-11-30"))
    sing = df[df["date"] == df["date"].min()].assign(date=pd.Timestamp("2000-12-31"), c1=0.0)
    with_one = _oos(pd.concat([one, df], ignore_index=True), chars=chars)
    np.testing.assert_allclose(with_one.factors.to_numpy(), expected, atol=1e-8)
    assert with_one.r2_pred == pytest.approx(r2_pred, abs=1e-9)  # its factor would enter the factor mean
    more = pd.concat([one, sing, df], ignore_index=True)
    np.testing.assert_allclose(_oos(more, chars=chars, model={"singular_months": "drop"}).factors.to_numpy(),
                               expected, atol=1e-8)
    bad = df.copy()
    bad.loc[0, "c0"] = np.nan
    with pytest.raises(InputError) as err:
        _oos(bad, chars=chars, model={"missing": "raise"})
    assert err.value.column == "c0" and err.value.row == 0


def test_fit_oos_warm_starts_and_passes_the_settings(oos_case, monkeypatch):
    df, chars, _, _ = oos_case
    rec = _Recorder(mod._als)
    monkeypatch.setattr(mod, "_als", rec)
    IPCA(1, constant=False, max_iter=777, tol=1e-9, ridge=0.01).fit_oos(df, start=pd.Timestamp("2001-07-31"),
                                                                         chars=chars)
    assert len(rec.calls) == 3
    assert rec.calls[0][1][4] is None and rec.calls[0][1][5] is None
    for prev, call in zip(rec.calls, rec.calls[1:], strict=False):
        assert call[1][4] is prev[3][0] and call[1][5] is prev[3][1]  # warm start from the previous window
    for _, args, _, _ in rec.calls:
        assert args[6:] == (777, 1e-9, 0.01)
    assert [c[0].shape[1] for c in rec.calls] == [6, 7, 8]


def test_progress_bars_only_on_request(oos_case, capsys):
    df, chars, _, _ = oos_case
    _oos(df, chars=chars)
    m = IPCA(1, intercept=True, constant=False).fit(df, chars=chars)
    m.test_alpha(n_boot=2)
    assert capsys.readouterr().out == ""
    _oos(df, chars=chars, progress=True)
    assert re.search(r"(^|\s)IPCA out of sample\s", capsys.readouterr().out)
    m.test_alpha(n_boot=2, progress=True)
    assert re.search(r"(^|\s)bootstrap\s", capsys.readouterr().out)


# ---------------------------------------------------------------------------------------------------------------
# bootstrap settings and the restricted fits
# ---------------------------------------------------------------------------------------------------------------
def test_alpha_restricted_fit_uses_the_model_settings(monkeypatch):
    df, chars = _panel(seed=121, k=2, n_chars=4, alpha=[0.1, 0, 0, 0])
    m = IPCA(2, intercept=True, constant=False, max_iter=5000, tol=1e-9, ridge=0.001).fit(df, chars=chars)
    rec = _Recorder(mod._als)
    monkeypatch.setattr(mod, "_als", rec)
    m.test_alpha(n_boot=2, batch=2)
    assert len(rec.calls) == 2
    restricted, boot = rec.calls
    assert restricted[1][2] == 2 and restricted[1][3].shape == (10, 0)  # K = 2 latent factors, no observables
    for _, args, _, _ in rec.calls:
        assert args[6:] == (5000, 1e-9, 0.001)
    months = _months(df, chars)
    Wt = np.array([z.T @ z / len(r) for _, z, r in months])
    gb, _, F, _, _ = restricted[3]
    fitted0 = np.einsum("tlm,tm->tl", Wt, F[0] @ gb[0].T)
    q = np.random.default_rng(0).standard_t(5.0, size=(2, 10)) * np.sqrt(0.6)
    resid = boot[0] - fitted0[None]
    np.testing.assert_allclose(resid / q[:, :, None], np.broadcast_to(resid[0] / q[0, :, None], resid.shape),
                               rtol=1e-8, atol=1e-12)


def test_beta_with_intercept_and_settings(monkeypatch):
    df, chars = _panel(seed=131, k=1, n_chars=3, alpha=[0.1, 0, 0])
    m = IPCA(1, intercept=True, constant=False, max_iter=4000, tol=1e-9, ridge=0.002).fit(df, chars=chars)
    rec = _Recorder(mod._als)
    monkeypatch.setattr(mod, "_als", rec)
    res = m.test_beta("c2", n_boot=2, batch=2)
    restricted, boot = rec.calls
    assert restricted[2] == {"zero_row": 2}
    for _, args, _, _ in rec.calls:
        assert args[6:] == (4000, 1e-9, 0.002)
    months = _months(df, chars)
    Wt = np.array([z.T @ z / len(r) for _, z, r in months])
    Xt = np.array([z.T @ r / len(r) for _, z, r in months])
    gb, go, F, _, _ = restricted[3]
    fitted0 = np.einsum("tlm,tm->tl", Wt, F[0] @ gb[0].T + go[0][:, 0][None])
    resid = Xt - np.einsum("tlm,tm->tl", Wt, m.factors_.to_numpy() @ m.gamma_.to_numpy().T
                           + m.gamma_alpha_.to_numpy()[None])
    q = np.random.default_rng(0).standard_t(5.0, size=(2, 10)) * np.sqrt(0.6)
    np.testing.assert_allclose(boot[0], fitted0[None] + q[:, :, None] * resid[None], atol=1e-10)
    stat = res.statistic
    m._bootstrap = lambda *a, **k: np.array([stat, 0.0, 3 * stat, stat / 3])
    assert m.test_beta("c2", n_boot=4).pvalue == 0.5


def test_beta_restricted_non_convergence(monkeypatch):
    df, chars = _panel(seed=141)
    m = IPCA(1, constant=False).fit(df, chars=chars)
    m.max_iter, m.tol = 1, 0.0
    with pytest.raises(ConvergenceError) as err:
        m.test_beta("c0", n_boot=2)
    assert str(err.value) == "the restricted IPCA (W_beta null) did not converge"


def test_save_names_the_date_column(tmp_path):
    df, chars = _panel(seed=151)
    m = IPCA(1, constant=False).fit(df.rename(columns={"date": "month"}), chars=chars, date="month")
    m.save(tmp_path / "run", extra={"x": np.float32(0.25)})
    tmp_path = tmp_path / "run"
    assert json.loads((tmp_path / "fit.json").read_text())["x"] == 0.25
    assert (tmp_path / "factors.csv").read_text().splitlines()[0] == "date,f1"  # the documented header


# ---------------------------------------------------------------------------------------------------------------
# more edge cases (second round of survivors)
# ---------------------------------------------------------------------------------------------------------------
def test_singular_month_thresholds():
    near = np.array([[1.0, 1 - 1e-10], [1 - 1e-10, 1.0]])  # eigenvalues 1e-10 and 2 - 1e-10
    W = np.zeros((3, 3, 3))
    W[0] = np.diag([1e-12, 1.0, 1.0])  # tiny scale but its own variation: not singular
    W[1, :2, :2], W[1, 2, 2] = near, 1.0  # eigenvalues 1e-10, 1, 2: singular (1e-10 < 2e-10)
    W[2] = np.diag([4.0, 9.0, 1.0])
    np.testing.assert_array_equal(mod._singular_months(W), [False, True, False])


def test_rescaled_characteristic_is_not_collinear_and_fits_the_same():
    df, chars = _panel(seed=161)
    gb, _, F = _reference_als(df, chars, 1)
    m = IPCA(1, constant=False, tol=1e-8).fit(df.assign(c1=df["c1"] * 1e-4), chars=chars)
    pos = pd.Index(np.sort(df["date"].unique())).get_indexer(df["date"])
    expected = np.einsum("nl,nl->n", df[chars].to_numpy(), F[pos] @ gb.T)
    np.testing.assert_allclose(m.predict(df.assign(c1=df["c1"] * 1e-4)).to_numpy(), expected, atol=1e-6)


def test_fit_input_routes_and_boundaries(oos_case):
    df, chars, _, _ = oos_case
    gb, _, F = _reference_als(df, chars, 1)
    pos = pd.Index(np.sort(df["date"].unique())).get_indexer(df["date"])
    expected = np.einsum("nl,nl->n", df[chars].to_numpy(), F[pos] @ gb.T)
    flat = IPCA(1, constant=False, tol=1e-13).fit(df, chars=chars)
    assert flat.n_dropped_ == 0 and len(flat.factors_) == 9  # the 2-bond month is kept
    np.testing.assert_allclose(flat.predict(df).to_numpy(), expected, atol=1e-8)
    renamed = df.rename(columns={"ret": "y", "id": "bond", "date": "month"})[["bond", "month", "y", *chars]]
    m = IPCA(1, constant=False, tol=1e-13).fit(renamed, ret="y", entity="bond", date="month")
    assert m.chars_ == chars
    np.testing.assert_allclose(m.predict(renamed).to_numpy(), expected, atol=1e-8)
    indexed = df.set_index(["id", "date"])
    mi = IPCA(1, constant=False, tol=1e-13).fit(indexed, chars=chars)
    np.testing.assert_allclose(mi.predict(indexed).to_numpy(), expected, atol=1e-8)
    np.testing.assert_allclose(flat.predict(indexed).to_numpy(), expected, atol=1e-8)
    junk = df.assign(junk=np.random.default_rng(0).standard_normal(len(df)))
    np.testing.assert_allclose(IPCA(1, constant=False, tol=1e-13).fit(junk, chars=chars).predict(junk).to_numpy(),
                               expected, atol=1e-8)
    # K = L is allowed; K + 1 months are enough
    assert IPCA(2, constant=False).fit(df, chars=chars).gamma_.shape == (2, 2)
    two = df[df["date"] >= df["date"].unique()[7]]
    assert len(IPCA(1, constant=False).fit(two, chars=chars).factors_) == 2


def test_to_pandas_with_only_one_index_name_in_the_columns():
    df, chars = _panel()
    half = df.set_index(["id", "date"], drop=False).drop(columns=["date"])
    with pytest.raises(InputError) as err:
        IPCA(1).fit(half, chars=chars)
    assert err.value.column == "date"


def test_has_constant_single_value():
    df = pd.DataFrame({"one": [3.0, np.nan, np.nan]})
    assert mod._has_constant(df, ["one"])


def test_intercept_and_observable_factor_predictive_fit():
    df, chars = _panel(seed=171, t=9, alpha=[0.1, 0.0, 0.0])
    dates = np.sort(df["date"].unique())
    g = pd.DataFrame({"mkt": np.linspace(0.5, 2.5, 9) ** 2}, index=dates)
    m = IPCA(1, intercept=True, constant=False, tol=1e-12).fit(df, chars=chars, factors=g)
    assert list(m.gamma_observable_.columns) == ["alpha", "mkt"] and list(m.gamma_observable_.index) == chars
    go = m.gamma_observable_.to_numpy()
    gb, F = m.gamma_.to_numpy(), m.factors_.to_numpy()
    gbar = np.array([1.0, g["mkt"].mean()])
    b = gb @ F.mean(axis=0) + go @ gbar
    z, r = df[chars].to_numpy(), df["ret"].to_numpy()
    np.testing.assert_allclose(m.predict(df, kind="predictive").to_numpy(), z @ b, atol=1e-12)
    assert m.r2_pred_ == pytest.approx(1 - ((r - z @ b) ** 2).sum() / (r**2).sum(), abs=1e-10)


def test_bootstrap_defaults(monkeypatch):
    df, chars = _panel(seed=181)
    m = IPCA(1, intercept=True, constant=False).fit(df, chars=chars)
    seen = []
    monkeypatch.setattr(m, "_bootstrap", lambda fitted, resid, n_boot, df, seed, batch, progress, stat:
                        seen.append((n_boot, df, seed, batch, progress)) or np.zeros(n_boot))
    m.test_alpha()
    m.test_beta("c0")
    assert seen == [(1000, 5.0, 0, 100, False)] * 2
    assert all(type(s[4]) is bool for s in seen)


def test_warm_start_across_intercept_settings():
    df, chars = _panel(seed=191, alpha=[0.1, 0, 0])
    with_alpha = IPCA(1, intercept=True, constant=False).fit(df, chars=chars)
    plain = IPCA(1, constant=False, tol=1e-13).fit(df, chars=chars, warm_start=with_alpha)
    gb, _, F = _reference_als(df, chars, 1)
    np.testing.assert_allclose(plain.gamma_.to_numpy(), gb, atol=1e-8)
    # a warm start whose characteristics come in another order is aligned by name
    reordered = IPCA(1, constant=False, tol=1e-13).fit(df, chars=chars[::-1])
    again = IPCA(1, constant=False, tol=1e-13).fit(df, chars=chars, warm_start=reordered)
    assert again.n_iter_ <= 2


def test_als_batch_with_an_observable_matches_single_runs():
    df, chars = _panel(seed=201, n_chars=3, alpha=[0.2, 0, 0])
    df2, _ = _panel(seed=202, n_chars=3, alpha=[0.0, 0.1, 0])
    p = mod._prepare(df, "ret", chars, "id", "date", "drop", 2)
    x2 = mod._prepare(df2, "ret", chars, "id", "date", "drop", 2).X
    X2 = p.X + 0.5 * (x2 - p.X)
    G = np.ones((len(p.dates), 1))
    single = [mod._als(x[None], p.W, p.N, 1, G, None, None, 2000, 1e-11, 0.0) for x in (p.X, X2)]
    both = mod._als(np.stack([p.X, X2]), p.W, p.N, 1, G, None, None, 2000, 1e-11, 0.0)
    assert single[0][3] != single[1][3]
    for b in range(2):
        for j in (0, 1, 2):
            np.testing.assert_allclose(both[j][b], single[b][j][0], rtol=0, atol=4e-15)  # rounding only


def test_dropped_rows_add_up_over_the_three_reasons():
    df, chars = _panel(seed=211, t=8, n=12)
    df.loc[63, "c0"] = np.nan  # a missing value (month 5)
    first = df["date"].min()
    df = pd.concat([df[df["date"] != first], df[df["date"] == first].iloc[:1]])  # a month with one bond
    second = df["date"].unique()[1]
    df.loc[df["date"] == second, "c2"] = 0.0  # a singular month
    p = mod._prepare(df, "ret", chars, "id", "date", "drop", 2, singular_months="drop")
    assert p.n_dropped == 1 + 1 + 12 and len(p.dates) == 6


def test_prepare_names_the_missing_column_and_lists_twenty_columns():
    df, chars = _panel()
    wide = df.assign(**{f"x{j:02d}": 0.0 for j in range(25)})
    e = _raises(lambda: mod._prepare(wide, "ret", ["nope"], "id", "date", "drop", 2), "nope")
    assert e.reason == f"column not found; the panel has {list(wide.columns)[:20]}"


def test_kpp_preset_error_and_unnamed_multiindex():
    df, chars = _panel()
    _raises(lambda: IPCA(1).fit(df, chars="kpp"), "chars",
            "none of the 29 KPP characteristics is a column of the panel")
    unnamed = df.set_index(["id", "date"])
    unnamed.index.names = [None, None]
    back = mod._to_pandas(unnamed, "bond", "month")
    assert list(back.columns[:2]) == ["bond", "month"]
    np.testing.assert_array_equal(back["month"].to_numpy(), df["date"].to_numpy())


def test_singular_index_is_named_after_the_date_column():
    df, chars = _panel(t=6)
    df.loc[df["date"] == df["date"].min(), "c1"] = 0.0
    p = mod._prepare(df.rename(columns={"date": "month"}), "ret", chars, "id", "month", "drop", 2)
    assert p.singular.name == "month" and len(p.singular) == 1


def test_one_characteristic_named_by_a_string_is_that_column():
    """``chars="c0"`` means the column c0, not the characters 'c' and '0' (found by the mutation review)."""
    rng = np.random.default_rng(3)
    n, t = 30, 24
    panel = pd.DataFrame({"id": np.tile(np.arange(n), t), "date": np.repeat(np.arange(t), n),
                          "c0": rng.standard_normal(n * t), "c1": rng.standard_normal(n * t)})
    panel["ret"] = 0.5 * panel["c0"] + 0.1 * rng.standard_normal(n * t)
    by_name = IPCA(n_factors=1, constant=False).fit(panel, ret="ret", entity="id", date="date", chars="c0")
    by_list = IPCA(n_factors=1, constant=False).fit(panel, ret="ret", entity="id", date="date", chars=["c0"])
    np.testing.assert_array_equal(by_name.gamma_, by_list.gamma_)
