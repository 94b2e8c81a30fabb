"""Oracle tests of :class:`bondpremia.models.IPCA` (Kelly, Pruitt and Su 2019 Instrumented PCA).

Every number the estimator produces is checked against something computed independently of it:

* the reference implementation ``ipca.InstrumentedPCA`` (bkelly-lab, PyPI ``ipca``), run to tight convergence on
  seeded random unbalanced panels and on the Grunfeld investment panel (fitted values, Gamma column space, and --
  since both use the same KPS normalization -- Gamma, Gamma_alpha and the factors element by element);
* a known data-generating process (the estimated Gamma column space converges to the true one as N grows);
* the uncentered R^2 definitions, evaluated here by hand from the panel and the fitted Gamma / factors;
* the KPS normalization (Gamma'Gamma = I, orthogonal factors ordered by second moment, positive factor means,
  Gamma_alpha orthogonal to Gamma_beta).

Reference-package conventions (ipca 0.5) this module relies on: ``fit(X, y, indices)`` with ``indices`` an (n, 2)
array of (entity, time) that it overwrites in place with ``np.unique`` codes (dates therefore in sorted order);
``Gamma`` is L x K (with an intercept, Gamma_alpha is its *last* column) and ``Factors`` is K x T (with an
intercept, a last row of ones); ``predict_panel(..., mean_factor=True)`` uses the time-series mean of those
factor rows; its ``score`` is sklearn's *centered* r2_score, so it is not used for the uncentered KPS R^2.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import subspace_angles

from bondpremia.models import IPCA

ipca_ref = pytest.importorskip("ipca")

GRUNFELD = Path(__file__).resolve().parents[3] / "shared" / "data" / "panels" / "grunfeld.csv"

CHARS = ["c1", "c2", "c3", "c4", "const"]
TOL_FIT = 1e-8  # agreement with the reference package (fitted values, projections, Gamma, factors)
TOL_NORM = 1e-10  # normalization identities


# ----------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------
def _random_panel(seed: int, n: int = 60, t: int = 40, l: int = 4, missing: float = 0.2) -> pd.DataFrame:
    """Unbalanced long panel (``missing`` of entity-months absent) with a 3-factor IPCA structure plus noise.

    Characteristics c1..c4 are N(0, 1); ``const`` is a constant characteristic. Rows sorted by (date, id)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2000-01-31", periods=t, freq="ME")
    ids = np.array([f"b{i:03d}" for i in range(n)])
    gamma = rng.standard_normal((l + 1, 3))
    factors = rng.standard_normal((t, 3)) * np.array([0.05, 0.03, 0.015]) + np.array([0.01, 0.005, 0.002])
    z = np.concatenate([rng.standard_normal((t, n, l)), np.ones((t, n, 1))], axis=2)
    ret = np.einsum("tnl,lk,tk->tn", z, gamma, factors) + 0.05 * rng.standard_normal((t, n))
    tt, ii = np.nonzero(rng.random((t, n)) > missing)
    df = pd.DataFrame(z[tt, ii], columns=CHARS)
    df.insert(0, "ret", ret[tt, ii])
    df.insert(0, "date", dates[tt])
    df.insert(0, "id", ids[ii])
    return df


def _ref_fit(df: pd.DataFrame, chars: list[str], k: int, intercept: bool = False, ret: str = "ret",
             entity: str = "id", date: str = "date"):
    """Fit the reference package to tight convergence. Returns (model, X, integer indices); the model's
    ``ref_dates`` attribute holds the dates behind the time codes 0..T-1 (the columns of ``Factors``)."""
    t_codes, t_labels = pd.factorize(df[date], sort=True)
    idx = np.column_stack([pd.factorize(df[entity], sort=True)[0], t_codes]).astype(np.int64)
    x = df[chars].to_numpy(dtype=np.float64)
    y = df[ret].to_numpy(dtype=np.float64)
    m = ipca_ref.InstrumentedPCA(n_factors=k, intercept=intercept, max_iter=200_000, iter_tol=1e-13)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):  # progress bars
        m.fit(x, y, indices=idx.copy(), quiet=True)
    m.ref_dates = pd.Index(t_labels)
    return m, x, idx


def _ref_fitted(m, x: np.ndarray, idx: np.ndarray, mean_factor: bool = False) -> np.ndarray:
    return m.predict_panel(x, idx, m.metad["T"], mean_factor=mean_factor)


def _proj(g: np.ndarray) -> np.ndarray:
    return g @ np.linalg.solve(g.T @ g, g.T)


def _fit(df: pd.DataFrame, chars: list[str], k: int, intercept: bool = False, ret: str = "ret",
         entity: str = "id", date: str = "date") -> IPCA:
    m = IPCA(n_factors=k, intercept=intercept, max_iter=200_000, tol=1e-12, ridge=0.0, constant=False)
    return m.fit(df, ret=ret, chars=chars, entity=entity, date=date)


def _coefficients(m: IPCA, df: pd.DataFrame, date: str, use_lambda: bool) -> np.ndarray:
    """Per-row b = Gamma_alpha + Gamma_beta f (f = f_t of the row's date, or the factor means), from the
    estimator's gamma_ / factors_ only (lambda recomputed here as the time-series mean of factors_)."""
    g = m.gamma_.to_numpy()
    f = m.factors_.to_numpy()
    if use_lambda:
        ft = np.broadcast_to(f.mean(axis=0), (len(df), g.shape[1]))
    else:
        pos = m.factors_.index.get_indexer(pd.Index(df[date]))
        assert (pos >= 0).all()
        ft = f[pos]
    b = ft @ g.T
    if m.intercept:
        b = b + m.gamma_alpha_.reindex(m.gamma_.index).to_numpy()
    return b


def _r2_by_hand(df: pd.DataFrame, chars: list[str], b: np.ndarray, ret: str, date: str) -> tuple[float, float]:
    """Uncentered pooled R^2 of returns and of managed portfolios x_t = Z_t'r_t / N_t, given per-row b."""
    z = df[chars].to_numpy(dtype=np.float64)
    r = df[ret].to_numpy(dtype=np.float64)
    rhat = np.einsum("nl,nl->n", z, b)
    r2 = 1.0 - np.sum((r - rhat) ** 2) / np.sum(r**2)
    num = den = 0.0
    for _, rows in df.groupby(date, sort=True).indices.items():
        zt = z[rows]
        x = zt.T @ r[rows] / len(rows)
        xhat = zt.T @ rhat[rows] / len(rows)  # = Z_t'Z_t/N_t (Gamma_alpha + Gamma_beta f_t)
        num += np.sum((x - xhat) ** 2)
        den += np.sum(x**2)
    return r2, 1.0 - num / den


def _assert_close(a: np.ndarray, b: np.ndarray, tol: float, what: str) -> None:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"{what}: shapes {a.shape} vs {b.shape}"
    err = float(np.max(np.abs(a - b)))
    assert err <= tol, f"{what}: max abs difference {err:.3e} > {tol:.0e}"


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return _random_panel(seed=12345)


# ----------------------------------------------------------------------------------------------------------
# 1. agreement with the reference package on random unbalanced panels
# ----------------------------------------------------------------------------------------------------------
def test_random_panel_is_unbalanced(panel):
    counts = panel.groupby("date").size()
    assert panel["id"].nunique() == 60 and len(counts) == 40
    assert 0.15 < 1 - len(panel) / (60 * 40) < 0.25
    assert counts.nunique() > 1


@pytest.mark.parametrize("k", [1, 2, 3])
def test_matches_reference_no_intercept(panel, k):
    ref, x, idx = _ref_fit(panel, CHARS, k)
    m = _fit(panel, CHARS, k)
    assert m.gamma_alpha_ is None
    assert list(m.gamma_.index) == CHARS and list(m.gamma_.columns) == [f"f{j + 1}" for j in range(k)]
    # fitted values z_it' Gamma f_t, row by row
    fitted = m.predict(panel, kind="total")
    assert isinstance(fitted, pd.Series) and len(fitted) == len(panel)
    _assert_close(fitted.to_numpy(), _ref_fitted(ref, x, idx), TOL_FIT, f"K={k} fitted values")
    # column space of Gamma
    _assert_close(_proj(m.gamma_.to_numpy()), _proj(ref.Gamma), TOL_FIT, f"K={k} Gamma projection")
    # identical normalization => identical Gamma and factors (dates in sorted order in the reference)
    _assert_close(m.gamma_.to_numpy(), ref.Gamma, TOL_FIT, f"K={k} Gamma")
    ref_dates = ref.ref_dates
    assert m.factors_.shape == (len(ref_dates), k)
    _assert_close(m.factors_.reindex(ref_dates).to_numpy(), ref.Factors.T, TOL_FIT, f"K={k} factors")
    # predictive fit z_it' Gamma lambda and the factor means
    _assert_close(m.lambda_.to_numpy(), ref.Factors.mean(axis=1), TOL_FIT, f"K={k} lambda")
    _assert_close(m.predict(panel, kind="predictive").to_numpy(), _ref_fitted(ref, x, idx, mean_factor=True),
                  TOL_FIT, f"K={k} predictive values")


@pytest.mark.parametrize("k", [1, 2])
def test_matches_reference_with_intercept(panel, k):
    ref, x, idx = _ref_fit(panel, CHARS, k, intercept=True)
    m = _fit(panel, CHARS, k, intercept=True)
    assert isinstance(m.gamma_alpha_, pd.Series) and len(m.gamma_alpha_) == len(CHARS)
    _assert_close(m.predict(panel, kind="total").to_numpy(), _ref_fitted(ref, x, idx), TOL_FIT,
                  f"K={k}+alpha fitted values")
    _assert_close(_proj(m.gamma_.to_numpy()), _proj(ref.Gamma[:, :k]), TOL_FIT, f"K={k}+alpha Gamma_beta projection")
    _assert_close(m.gamma_.to_numpy(), ref.Gamma[:, :k], TOL_FIT, f"K={k}+alpha Gamma_beta")
    _assert_close(m.gamma_alpha_.reindex(CHARS).to_numpy(), ref.Gamma[:, k], TOL_FIT, f"K={k}+alpha Gamma_alpha")
    ref_dates = ref.ref_dates
    _assert_close(m.factors_.reindex(ref_dates).to_numpy(), ref.Factors[:k].T, TOL_FIT, f"K={k}+alpha factors")
    _assert_close(m.predict(panel, kind="predictive").to_numpy(), _ref_fitted(ref, x, idx, mean_factor=True),
                  TOL_FIT, f"K={k}+alpha predictive values")


def test_row_order_and_polars_input(panel):
    """Shuffled rows, integer entity ids, polars input: predictions stay aligned with the input rows."""
    pl = pytest.importorskip("polars")
    df = panel.sample(frac=1.0, random_state=7).reset_index(drop=True)
    df["id"] = df["id"].str[1:].astype(np.int64)
    ref, x, idx = _ref_fit(df, CHARS, 2)
    expected = _ref_fitted(ref, x, idx)
    m_pd = _fit(df, CHARS, 2)
    _assert_close(m_pd.predict(df, kind="total").to_numpy(), expected, TOL_FIT, "shuffled pandas fitted values")
    df_pl = pl.from_pandas(df)
    m_pl = _fit(df_pl, CHARS, 2)
    _assert_close(m_pl.predict(df_pl, kind="total").to_numpy(), expected, TOL_FIT, "shuffled polars fitted values")
    _assert_close(m_pl.gamma_.to_numpy(), ref.Gamma, TOL_FIT, "polars Gamma")


# ----------------------------------------------------------------------------------------------------------
# 2. Grunfeld investment panel
# ----------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def grunfeld() -> pd.DataFrame:
    if not GRUNFELD.is_file():
        pytest.skip(f"real data not available: {GRUNFELD}")
    return pd.read_csv(GRUNFELD)


@pytest.mark.realdata
@pytest.mark.parametrize(("k", "intercept"), [(1, False), (2, False), (1, True)])
def test_grunfeld_matches_reference(grunfeld, k, intercept):
    chars = ["value", "capital"]
    assert grunfeld[["invest", *chars]].notna().all().all()
    ref, x, idx = _ref_fit(grunfeld, chars, k, intercept=intercept, ret="invest", entity="firm", date="year")
    m = _fit(grunfeld, chars, k, intercept=intercept, ret="invest", entity="firm", date="year")
    fitted = m.predict(grunfeld, kind="total").to_numpy()
    expected = _ref_fitted(ref, x, idx)
    _assert_close(fitted, expected, TOL_FIT, f"Grunfeld K={k} alpha={intercept} fitted values")
    _assert_close(_proj(m.gamma_.to_numpy()), _proj(ref.Gamma[:, :k]), TOL_FIT,
                  f"Grunfeld K={k} alpha={intercept} Gamma projection")
    _assert_close(m.gamma_.to_numpy(), ref.Gamma[:, :k], TOL_FIT, f"Grunfeld K={k} alpha={intercept} Gamma")
    if intercept:
        _assert_close(m.gamma_alpha_.reindex(chars).to_numpy(), ref.Gamma[:, k], TOL_FIT, "Grunfeld Gamma_alpha")
    _assert_close(m.factors_.reindex(ref.ref_dates).to_numpy(), ref.Factors[:k].T, TOL_FIT,
                  f"Grunfeld K={k} alpha={intercept} factors")
    predictive = m.predict(grunfeld, kind="predictive").to_numpy()
    _assert_close(predictive, _ref_fitted(ref, x, idx, mean_factor=True), TOL_FIT,
                  f"Grunfeld K={k} alpha={intercept} predictive values")


@pytest.mark.realdata
def test_grunfeld_full_rank_is_period_by_period_ols(grunfeld):
    """With K = L (no intercept) Gamma spans R^L and the fitted values are each year's cross-sectional OLS of
    invest on (value, capital) -- a closed form needing no iterative solver at all."""
    chars = ["value", "capital"]
    m = _fit(grunfeld, chars, 2, ret="invest", entity="firm", date="year")
    expected = np.empty(len(grunfeld))
    for _, rows in grunfeld.groupby("year").indices.items():
        z = grunfeld[chars].to_numpy()[rows]
        beta = np.linalg.lstsq(z, grunfeld["invest"].to_numpy()[rows], rcond=None)[0]
        expected[rows] = z @ beta
    fitted = m.predict(grunfeld, kind="total").to_numpy()
    _assert_close(fitted, expected, TOL_FIT, "Grunfeld K=L fitted values vs yearly OLS")


# ----------------------------------------------------------------------------------------------------------
# 3. recovery of a known Gamma
# ----------------------------------------------------------------------------------------------------------
def _dgp_panel(gamma: np.ndarray, factors: np.ndarray, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t, l = factors.shape[0], gamma.shape[0]
    z = rng.standard_normal((t, n, l))
    ret = np.einsum("tnl,lk,tk->tn", z, gamma, factors) + 0.3 * rng.standard_normal((t, n))
    tt, ii = np.nonzero(rng.random((t, n)) > 0.2)
    df = pd.DataFrame(z[tt, ii], columns=[f"z{j}" for j in range(l)])
    df.insert(0, "ret", ret[tt, ii])
    df.insert(0, "date", tt)
    df.insert(0, "id", ii)
    return df


def test_recovers_true_gamma_as_n_grows():
    l, k, t = 6, 2, 200
    rng = np.random.default_rng(20190101)
    gamma0 = np.linalg.qr(rng.standard_normal((l, k)))[0]
    factors0 = rng.standard_normal((t, k)) * np.array([0.06, 0.03]) + np.array([0.01, 0.005])
    chars = [f"z{j}" for j in range(l)]
    angles = []
    for n in (100, 400, 1600):
        df = _dgp_panel(gamma0, factors0, n, seed=n)
        m = _fit(df, chars, k)
        angles.append(float(np.max(subspace_angles(m.gamma_.to_numpy(), gamma0))))
    assert angles[0] > angles[1] > angles[2], angles
    assert angles[2] < 0.05, angles
    assert angles[0] < 0.5, angles  # sanity: even N=100 is informative


# ----------------------------------------------------------------------------------------------------------
# 4. R^2 definitions (uncentered, pooled over observations; managed portfolios)
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("k", "intercept"), [(1, False), (3, False), (2, True)])
def test_r2_definitions(panel, k, intercept):
    m = _fit(panel, CHARS, k, intercept=intercept)
    # lambda is the time-series mean of the factors
    _assert_close(m.lambda_.to_numpy(), m.factors_.to_numpy().mean(axis=0), 1e-14, "lambda_ = mean(factors_)")
    r2_total, r2_total_x = _r2_by_hand(panel, CHARS, _coefficients(m, panel, "date", False), "ret", "date")
    r2_pred, r2_pred_x = _r2_by_hand(panel, CHARS, _coefficients(m, panel, "date", True), "ret", "date")
    assert m.r2_total_ == pytest.approx(r2_total, abs=1e-10)
    assert m.r2_pred_ == pytest.approx(r2_pred, abs=1e-10)
    assert m.r2_total_x_ == pytest.approx(r2_total_x, abs=1e-10)
    assert m.r2_pred_x_ == pytest.approx(r2_pred_x, abs=1e-10)
    # the same definitions evaluated on the reference package's Gamma / factors
    ref, x, idx = _ref_fit(panel, CHARS, k, intercept=intercept)
    r = panel["ret"].to_numpy()
    rhat = _ref_fitted(ref, x, idx)
    assert m.r2_total_ == pytest.approx(1 - np.sum((r - rhat) ** 2) / np.sum(r**2), abs=1e-8)
    rpred = _ref_fitted(ref, x, idx, mean_factor=True)
    assert m.r2_pred_ == pytest.approx(1 - np.sum((r - rpred) ** 2) / np.sum(r**2), abs=1e-8)
    ref_total_x = 1 - np.nansum((ref.Q - ref.predict_portfolio(ref.W, len(CHARS), ref.metad["T"])) ** 2) / np.sum(
        ref.Q**2)
    assert m.r2_total_x_ == pytest.approx(ref_total_x, abs=1e-8)
    ref_pred_x = 1 - np.sum((ref.Q - ref.predict_portfolio(ref.W, len(CHARS), ref.metad["T"], mean_factor=True))
                            ** 2) / np.sum(ref.Q**2)
    assert m.r2_pred_x_ == pytest.approx(ref_pred_x, abs=1e-8)
    # sanity: the total fit beats the predictive one (uncentered predictive R^2 may be negative)
    assert m.r2_pred_ < m.r2_total_ <= 1
    assert m.r2_pred_x_ < m.r2_total_x_ <= 1


# ----------------------------------------------------------------------------------------------------------
# 4a. the constant instrument and the (entity, date) MultiIndex input
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2])
def test_constant_instrument_is_the_reference_fit_with_a_column_of_ones(panel, k):
    """IPCA(constant=True) on c1..c4 is the ``ipca`` package fitted on c1..c4 and a column of ones (KPS 2019)."""
    m = IPCA(n_factors=k, max_iter=200_000, tol=1e-12, ridge=0.0).fit(panel, chars=CHARS[:4])
    assert m.chars_ == [*CHARS[:4], "constant"]
    ref, x, idx = _ref_fit(panel, CHARS, k)  # CHARS ends with "const", a column of ones
    _assert_close(m.gamma_.to_numpy(), ref.Gamma, TOL_FIT, f"K={k} Gamma with a constant")
    _assert_close(m.predict(panel).to_numpy(), _ref_fitted(ref, x, idx), TOL_FIT, f"K={k} fitted values")
    # a characteristic that already is a constant is not duplicated
    assert IPCA(n_factors=k).fit(panel, chars=CHARS).chars_ == CHARS


def test_multiindex_panel_gives_the_same_fit(panel):
    flat = IPCA(2, constant=False).fit(panel, chars=CHARS)
    indexed = IPCA(2, constant=False).fit(panel.set_index(["id", "date"]), chars=CHARS)
    pd.testing.assert_frame_equal(flat.gamma_, indexed.gamma_)
    pd.testing.assert_frame_equal(flat.factors_, indexed.factors_)


# ----------------------------------------------------------------------------------------------------------
# 4b. out of sample (KPS section 5.3): month t uses a Gamma estimated by the reference package on months < t
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2])
def test_out_of_sample_matches_reference_fits_on_past_months(panel, k):
    """For every out-of-sample month t: Gamma from ``ipca`` fitted on the months before t only, then by hand
    f_t = (Gamma' Z_t' Z_t Gamma)^-1 Gamma' Z_t' r_t (total R^2) and the forecast Gamma lambda_{t-1}, with
    lambda_{t-1} the mean of that fit's factors (predictive R^2). Using month t in its own window (a look-ahead
    leak) moves Gamma by O(1/t), far outside the tolerance."""
    dates = np.sort(panel["date"].unique())
    start = dates[32]
    m = IPCA(n_factors=k, max_iter=200_000, tol=1e-12, ridge=0.0)
    oos = m.fit_oos(panel, start=start, chars=CHARS)
    assert list(oos.factors.index) == list(pd.DatetimeIndex(dates[32:]))
    z_all = panel[CHARS].to_numpy(dtype=np.float64)
    r_all = panel["ret"].to_numpy(dtype=np.float64)
    f_ref = []
    b_total = np.full((len(panel), len(CHARS)), np.nan)
    b_pred = np.full_like(b_total, np.nan)
    for t in dates[32:]:
        ref, _, _ = _ref_fit(panel[panel["date"] < t], CHARS, k)
        g = ref.Gamma
        rows = (panel["date"] == t).to_numpy()
        zg = z_all[rows] @ g
        f_t = np.linalg.solve(zg.T @ zg, zg.T @ r_all[rows])
        f_ref.append(f_t)
        b_total[rows] = g @ f_t
        b_pred[rows] = g @ ref.Factors.mean(axis=1)
    _assert_close(oos.factors.to_numpy(), np.array(f_ref), 1e-7, f"K={k} out-of-sample factors")
    late = (panel["date"] >= start).to_numpy()
    sub = panel[late]
    r2_total, r2_total_x = _r2_by_hand(sub, CHARS, b_total[late], "ret", "date")
    r2_pred, r2_pred_x = _r2_by_hand(sub, CHARS, b_pred[late], "ret", "date")
    _assert_close([oos.r2_total, oos.r2_total_x, oos.r2_pred, oos.r2_pred_x],
                  [r2_total, r2_total_x, r2_pred, r2_pred_x], 1e-8, f"K={k} out-of-sample R^2")


# ----------------------------------------------------------------------------------------------------------
# 5. normalization
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("k", "intercept"), [(1, False), (2, False), (3, False), (1, True), (2, True)])
def test_normalization(panel, k, intercept):
    m = _fit(panel, CHARS, k, intercept=intercept)
    g = m.gamma_.to_numpy()
    f = m.factors_.to_numpy()
    _assert_close(g.T @ g, np.eye(k), TOL_NORM, "Gamma'Gamma - I")
    second = f.T @ f / f.shape[0]
    diag = np.diag(second)
    off = second - np.diag(diag)
    assert np.max(np.abs(off)) <= TOL_NORM * diag.max(), f"factor second moments not diagonal:\n{second}"
    assert np.all(np.diff(diag) < 0), f"second moments not descending: {diag}"
    assert np.all(f.mean(axis=0) > 0), f"factor means not positive: {f.mean(axis=0)}"
    assert np.all(m.lambda_.to_numpy() > 0)
    if intercept:
        ga = m.gamma_alpha_.reindex(m.gamma_.index).to_numpy()
        assert np.max(np.abs(g.T @ ga)) <= TOL_NORM * max(1.0, np.linalg.norm(ga)), "Gamma_alpha not orthogonal"
        assert np.linalg.norm(ga) > 0


@pytest.mark.realdata
def test_grunfeld_normalization(grunfeld):
    m = _fit(grunfeld, ["value", "capital"], 2, ret="invest", entity="firm", date="year")
    g, f = m.gamma_.to_numpy(), m.factors_.to_numpy()
    _assert_close(g.T @ g, np.eye(2), TOL_NORM, "Grunfeld Gamma'Gamma - I")
    second = f.T @ f
    assert abs(second[0, 1]) <= TOL_NORM * second[0, 0] and second[0, 0] > second[1, 1] > 0
    assert np.all(f.mean(axis=0) > 0)
