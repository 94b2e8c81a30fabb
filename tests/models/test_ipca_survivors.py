"""IPCA tests written against survivors of the mutation run of ``bondpremia.models.ipca`` that are not equivalent.

Each test names the survivors it kills. Expected values are literal numbers or hand arithmetic (dyadic values
that every step computes exactly, 2 x 2 eigenvalues in closed form); no expected value comes from the estimator.
The equivalent survivors are listed with their reasons in ``docs/testing.md``.
"""

from __future__ import annotations

import os
import warnings
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from test_ipca_mutation import _panel, _Recorder  # same folder, on sys.path under pytest

from bondpremia.errors import ConvergenceError, InputError
from bondpremia.models import IPCA
from bondpremia.models import ipca as mod


# ---------------------------------------------------------------------------------------------------------------
# column types: dummies, nullable columns and Decimal values are read as float64
# (x__design__mutmut_7, x__has_constant__mutmut_8, xǁIPCAǁ_observables__mutmut_23)
# ---------------------------------------------------------------------------------------------------------------
def test_design_reads_a_dummy_and_a_nullable_column_as_float():
    df = pd.DataFrame({"ret": [0.5, -1.0, 2.0], "ig": [True, False, True],
                       "n": pd.array([1, None, 3], dtype="Int64")})
    out = mod._design(df, ["ret", "ig", "constant", "n"])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[0.5, 1.0, 1.0, 1.0], [-1.0, 0.0, 1.0, np.nan], [2.0, 1.0, 1.0, 3.0]])


def test_has_constant_reads_a_nullable_boolean_column():
    flag = pd.DataFrame({"d": pd.array([True, None, True], dtype="boolean")})
    assert mod._has_constant(flag, ["d"])  # True (= 1) on every row that has a value
    assert not mod._has_constant(flag.assign(d=pd.array([True, None, False], dtype="boolean")), ["d"])


def test_observable_factors_given_as_decimals_are_float64():
    """A database query returns NUMERIC columns as Decimal objects (object dtype)."""
    dates = pd.Index([1, 2, 3])
    g = pd.DataFrame({"mkt": [Decimal("0.5"), Decimal("-1.25"), Decimal("2")]}, index=dates)
    G, names = IPCA(1, intercept=True)._observables(dates, g)
    assert G.dtype == np.float64 and names == ["alpha", "mkt"]
    np.testing.assert_array_equal(G, [[1.0, 0.5], [1.0, -1.25], [1.0, 2.0]])
    df, chars = _panel(seed=3)
    months = np.sort(df["date"].unique())
    dec = pd.DataFrame({"mkt": [Decimal(v) for v in ("-1", "-0.75", "-0.5", "-0.25", "0", "0.25", "0.5", "0.75", "1",
                                                   "1.25")]}, index=months)
    m = IPCA(1, constant=False).fit(df, chars=chars, factors=dec)  # the factors enter the ALS as float64
    assert list(m.gamma_observable_.columns) == ["mkt"] and np.isfinite(m.gamma_observable_.to_numpy()).all()


# ---------------------------------------------------------------------------------------------------------------
# thresholds and messages
# ---------------------------------------------------------------------------------------------------------------
def test_collinearity_threshold_is_relative_to_the_largest_eigenvalue():
    """x__check_rank__mutmut_32 (``1e-10 * max`` -> ``1e-10 / max``). [[1, rho], [rho, 1]] has the eigenvalues
    1 - rho and 1 + rho: with 1 - rho = 1.5e-10 the ratio is 7.5e-11 < 1e-10 (collinear), while 1.5e-10 is above
    1e-10 / 2."""
    rho = 1 - 1.5e-10
    pooled = np.array([[1.0, rho, 0.0], [rho, 1.0, 0.0], [0.0, 0.0, 1.0]])
    with pytest.raises(InputError) as err:
        mod._check_rank(pooled, ["a", "b", "c"])
    assert err.value.column == "chars"
    assert err.value.reason == ("characteristics are collinear (a constant column next to the intercept, or linear "
                                "combinations): ['a', 'b']; drop one of them")
    mod._check_rank(np.array([[1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 1.0]]), ["a", "b", "c"])  # full rank


def test_factor_step_message_lists_at_most_ten_months():
    """x__factor_step__mutmut_60: months 1..11 singular, the message names the first ten."""
    rng = np.random.default_rng(0)
    W = np.zeros((12, 2, 2))
    W[0] = np.eye(2)
    X = rng.standard_normal((1, 12, 2))
    with pytest.raises(ConvergenceError) as err:
        mod._factor_step(X, W, np.ones((1, 2, 1)), np.zeros((1, 2, 0)), np.zeros((12, 0)))
    assert str(err.value) == ("the factor step is singular in months [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] (index in the "
                              "fit): too few observations or degenerate characteristics there")


def test_als_converges_only_when_the_change_is_below_tol():
    """x__als__mutmut_121 (``change < tol`` -> ``<=``). One characteristic, W_t = 1, N_t = 1 and dyadic x_t with
    sum x_t^2 = 1, so every step is exact. Started at Gamma = -1: f_t = -x_t; the Gamma step gives -1 again and
    the normalization flips both signs (positive factor mean): Gamma = 1, f_t = x_t, a change of
    max(|1 - (-1)|, max_t 2 x_t) = 2 exactly. The second iteration changes nothing. With tol = 2 the first
    change (equal to tol) does not count as converged: two iterations."""
    x = np.array([0.75, 0.5, 0.25, 0.25, 0.25])
    X, W, N = x[None, :, None], np.ones((5, 1, 1)), np.ones(5)
    gb, go, F, n_iter, ok = mod._als(X, W, N, 1, np.zeros((5, 0)), -np.ones((1, 1, 1)), None, 50, 2.0, 0.0)
    assert ok and n_iter == 2
    np.testing.assert_array_equal(gb, [[[1.0]]])
    np.testing.assert_array_equal(F[0, :, 0], x)
    assert go.shape == (1, 1, 0)


# ---------------------------------------------------------------------------------------------------------------
# fit_oos: the first window's rank check and no look-ahead
# ---------------------------------------------------------------------------------------------------------------
def _near_collinear_start(delta2=4e-9):
    """Month 0: 100 bonds with c0 = c1 = 1; month 1: two bonds (1, 1 + d), (1, 1 - d), d^2 = ``delta2``; months
    2..7: 20 bonds with independent characteristics."""
    rng = np.random.default_rng(7)
    d = np.sqrt(delta2)
    blocks = [np.ones((100, 2)), np.array([[1.0, 1.0 + d], [1.0, 1.0 - d]])]
    blocks += [rng.standard_normal((20, 2)) for _ in range(6)]
    dates = pd.date_range("2001-01-31", periods=8, freq="ME")
    frames = []
    for t, z in enumerate(blocks):
        frames.append(pd.DataFrame({"id": np.arange(len(z)), "date": dates[t], "c0": z[:, 0], "c1": z[:, 1],
                                    "ret": 0.3 * z[:, 0] + 0.1 * rng.standard_normal(len(z))}))
    return pd.concat(frames, ignore_index=True), dates


def test_fit_oos_first_window_rank_uses_the_pooled_observations():
    """xǁIPCAǁfit_oos__mutmut_85 (months weighted by 1/N_t instead of N_t). The first window (months 0 and 1)
    pools Z'Z = [[a, a], [a, a + e]] with a = 102, e = 2 d^2 = 8e-9: uncentered correlation 1/sqrt(1 + e/a),
    eigenvalue ratio about e / (4a) = 2e-11 < 1e-10, collinear. Weighting the months' Z'Z/N_t by 1/N_t instead
    gives a = 0.51, e = d^2 / 2 and a ratio about 1e-9, which would pass."""
    df, dates = _near_collinear_start()
    a, e = 102.0, 8e-9
    rho = 1 / np.sqrt(1 + e / a)
    assert (1 - rho) / (1 + rho) < 1e-10 < (4e-9 / 2) / (4 * 0.51)  # the hand computation above
    with pytest.raises(InputError) as err:
        IPCA(1, constant=False).fit_oos(df, start=dates[2], chars=["c0", "c1"])
    assert err.value.column == "start"
    assert err.value.reason.startswith("in the first estimation window (the months before 2001-03-31): "
                                       "characteristics are collinear")


def test_fit_oos_month_is_not_stopped_by_the_next_month(monkeypatch):
    """xǁIPCAǁfit_oos__mutmut_164 (``p.W[t:t + 2]``): nothing of month t + 1 enters month t's evaluation. The
    last month has every characteristic at zero (its factor step is singular): every earlier month is estimated
    and the error comes from the last month's own factor step."""
    df, chars = _panel(seed=5, t=9, n=15, n_chars=2)
    last = df["date"] == df["date"].max()
    df.loc[last, chars] = 0.0
    rec = _Recorder(mod._als)
    monkeypatch.setattr(mod, "_als", rec)
    with pytest.raises(ConvergenceError):
        IPCA(1, constant=False).fit_oos(df, start=df["date"].unique()[6], chars=chars)
    assert [c[0].shape[1] for c in rec.calls] == [6, 7, 8]  # windows before months 6, 7 and 8


# ---------------------------------------------------------------------------------------------------------------
# a malformed MultiIndex panel is reported before anything is read from it
# (xǁIPCAǁfit__mutmut_9, 10, 12, 13; xǁIPCAǁfit_oos__mutmut_10, 11, 13, 14)
# ---------------------------------------------------------------------------------------------------------------
def _three_levels():
    df, _ = _panel()
    return df.assign(region="x").set_index(["id", "date", "region"])


@pytest.mark.parametrize("call", [
    lambda p: IPCA(2, constant=False).fit(p, chars=["c0"]),  # would otherwise fail on n_factors > 1 characteristic
    lambda p: IPCA(1).fit(p, chars="kpp"),  # ... or on the missing KPP characteristics
    lambda p: IPCA(1).fit_oos(p, start="2001-06-30", chars="kpp"),
], ids=["fit-n_factors", "fit-kpp", "fit_oos-kpp"])
def test_three_level_multiindex_is_named_first(call):
    with pytest.raises(InputError) as err:
        call(_three_levels())
    assert err.value.column == "index"
    assert err.value.reason == "a MultiIndex panel needs two levels (entity, date), got 3"


def test_prepare_takes_an_entity_date_indexed_panel():
    """x__prepare__mutmut_6, 7, 9, 10: ``_prepare`` moves an (entity, date) MultiIndex to columns itself. It is
    reached so from the public API when ``to_pandas()`` of the input returns such a frame (a pyarrow Table made
    from an indexed pandas frame): ``fit`` and ``fit_oos`` pass that frame on unchanged."""
    df, chars = _panel(n=6, t=4, seed=12)
    p = mod._prepare(df.set_index(["id", "date"]), "ret", chars, "id", "date", "drop", 2)
    assert list(p.dates) == sorted(df["date"].unique()) and p.dates.name == "date"
    for t, (_, g) in enumerate(df.groupby("date", sort=True)):
        z, r = g[chars].to_numpy(), g["ret"].to_numpy()
        np.testing.assert_allclose(p.X[t], z.T @ r / 6, rtol=1e-13)
        np.testing.assert_allclose(p.W[t], z.T @ z / 6, rtol=1e-13)


# ---------------------------------------------------------------------------------------------------------------
# bootstrap with normal multipliers
# ---------------------------------------------------------------------------------------------------------------
def test_normal_multipliers_compute_no_t_scale():
    """xǁIPCAǁ_bootstrap__mutmut_6: with df = inf (here a numpy float, as read from an array or a config) the t
    scale sqrt((df - 2) / df) is not computed, so inf / inf raises no RuntimeWarning."""
    df, chars = _panel(seed=91)
    m = IPCA(1, intercept=True, constant=False).fit(df, chars=chars)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = m.test_alpha(n_boot=2, df=np.float64(np.inf), batch=2)
    assert res.draws.shape == (2,) and np.all(np.isfinite(res.draws))


# ---------------------------------------------------------------------------------------------------------------
# bugs the survivors led to (each failed before its fix)
# ---------------------------------------------------------------------------------------------------------------
def test_a_missing_date_is_a_missing_value():
    """A NaT date raised numpy's bare ValueError from np.bincount; it is a missing value like any other."""
    df, chars = _panel(seed=7)
    df["date"] = df["date"].astype("datetime64[ns]")
    df.loc[4, "date"] = pd.NaT
    with pytest.raises(InputError) as err:
        IPCA(1, constant=False, missing="raise").fit(df, chars=chars)
    assert (err.value.column, err.value.row) == ("date", 4)
    m = IPCA(1, constant=False).fit(df, chars=chars)  # missing="drop", the default
    assert m.n_dropped_ == 1 and len(m.factors_) == 10


@pytest.mark.parametrize("df", [2.0, 1.5, float("nan"), -3.0])
def test_bootstrap_refuses_t_multipliers_without_a_variance(df):
    """df <= 2 gave identical or NaN draws (a p-value of 0, or an SVD failure) and NaN fell back to normal draws:
    a t multiplier scaled to unit variance needs df > 2."""
    data, chars = _panel(seed=11, alpha=[0.1, 0, 0])
    m = IPCA(1, intercept=True, constant=False).fit(data, chars=chars)
    with pytest.raises(InputError) as err:
        m.test_alpha(n_boot=2, df=df)
    assert err.value.column == "df" and "above 2" in err.value.reason
    assert len(m.test_alpha(n_boot=2, df=2.5).draws) == 2  # any df above 2 has a variance: accepted


def test_an_arrow_table_with_the_panel_index_fits_and_predicts():
    """A pyarrow Table made from an (id, date)-indexed frame converts back with its MultiIndex: predict failed
    with KeyError: 'date'. It now gives the same predictions as the plain frame."""
    pa = pytest.importorskip("pyarrow")
    df, chars = _panel(seed=13)
    table = pa.Table.from_pandas(df.set_index(["id", "date"]))
    m = IPCA(1, constant=False).fit(table, chars=chars)
    ref = IPCA(1, constant=False).fit(df, chars=chars)
    np.testing.assert_allclose(m.predict(table).to_numpy(), ref.predict(df).to_numpy(), rtol=1e-10)


def test_a_singular_out_of_sample_month_is_named():
    """The factor step of an out-of-sample month named 'months [0] (index in the fit)', a position in a one-month
    slice; it names the month."""
    df, chars = _panel(seed=3)
    df.loc[df["date"] == pd.Timestamp("2001-08-31"), chars] = 0.0  # Z_t = 0: Gamma' Z_t' Z_t Gamma = 0
    with pytest.raises(ConvergenceError) as err:
        IPCA(1, constant=False).fit_oos(df, start=pd.Timestamp("2001-06-30"), chars=chars)
    assert str(err.value) == ("the factor step is singular in the out-of-sample month 2001-08-31: too few "
                              "observations or degenerate characteristics there")


def test_the_return_column_is_ret_and_returns_still_works_with_a_warning():
    """One vocabulary: ``ret=`` names the return column, as in the sorts; the earlier ``returns=`` gives the same
    fit with a FutureWarning, and an unknown keyword is a TypeError."""
    df, chars = _panel(seed=17)
    df = df.rename(columns={"ret": "y"})
    new = IPCA(1, constant=False).fit(df, ret="y", chars=chars)
    with pytest.warns(FutureWarning) as caught:
        old = IPCA(1, constant=False).fit(df, returns="y", chars=chars)
    assert str(caught[0].message) == ("IPCA: the keyword returns= is now ret= (the package's name for the return "
                                      "column)")
    assert not caught[0].filename.endswith("ipca.py")  # not inside the library
    if "MUTANT_UNDER_TEST" not in os.environ:  # mutmut's trampoline adds a frame between the caller and fit
        assert caught[0].filename == __file__  # reported at the caller's line
    np.testing.assert_array_equal(new.factors_.to_numpy(), old.factors_.to_numpy())
    with pytest.warns(FutureWarning):
        oos = IPCA(1, constant=False).fit_oos(df, start=pd.Timestamp("2001-07-31"), returns="y", chars=chars)
    np.testing.assert_array_equal(oos.factors.to_numpy(),
                                  IPCA(1, constant=False).fit_oos(df, start=pd.Timestamp("2001-07-31"), ret="y",
                                                                  chars=chars).factors.to_numpy())
    with pytest.raises(TypeError, match="unexpected keyword argument 'retruns'"):
        IPCA(1, constant=False).fit(df, retruns="y", chars=chars)


def test_fit_oos_reads_the_start_month_like_every_option():
    """A start that pandas cannot turn into a Timestamp goes through bondpremia.validate.month: a Period works
    (the first day of its month), text that is not a month is the package's one message naming ``start``."""
    df, chars = _panel(seed=19)
    by_timestamp = IPCA(1, constant=False).fit_oos(df, start=pd.Timestamp("2001-07-01"), chars=chars)
    by_period = IPCA(1, constant=False).fit_oos(df, start=pd.Period("2001-07", "M"), chars=chars)
    pd.testing.assert_frame_equal(by_period.factors, by_timestamp.factors)
    assert by_period.factors.index[0] == pd.Timestamp("2001-07-31")
    with pytest.raises(InputError) as err:
        IPCA(1, constant=False).fit_oos(df, start="the nineties", chars=chars)
    assert (err.value.column, err.value.reason) == ("start", "cannot read month 'the nineties'; use YYYY-MM")
