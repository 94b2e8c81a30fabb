"""Instrumented principal components analysis (IPCA).

Kelly, Pruitt and Su (2019), "Characteristics are covariances: a unified model of risk and return", JFE 134;
applied to corporate bonds by Kelly, Palhares and Pruitt (2023), "Modeling corporate bond returns", JF 78.

Model (KPS eq. 1-2): ``r_{i,t+1} = z_{i,t}' (Gamma_alpha + Gamma_beta f_{t+1}) + e_{i,t+1}``, estimated by
alternating least squares on the managed portfolios (KPS section 3)::

    x_t = Z_t' r_t / N_t,   W_t = Z_t' Z_t / N_t
    factor step:  f_t = (G_b' W_t G_b)^{-1} G_b' (x_t - W_t G_o g_t)                (KPS eq. 6)
    Gamma step:   vec(G) = [sum_t N_t (f~_t f~_t' kron W_t)]^{-1} sum_t N_t vec(x_t f~_t')   (KPS eq. 7)

with ``f~_t = (f_t, g_t)`` the latent factors and the pre-specified observable factors (a constant for the
intercept ``Gamma_alpha``). The factor step is one batched K x K solve over all months; the Gamma step one
(L K~) x (L K~) solve whose normal matrix is a single matrix product over months. Every routine carries a leading
batch dimension, so that bootstrap draws are estimated together, not in a Python loop.

Normalization, applied after every Gamma step in this order (each keeps the fitted values unchanged):
``Gamma_alpha`` orthogonal to ``Gamma_beta`` (the factors absorb the projection), ``Gamma_beta' Gamma_beta = I``,
factors orthogonal and ordered by their second moment, positive factor means.

R-squared values are uncentered and pooled over observations (KPS eq. 17-18); the ``_x_`` variants are the same
quantities on the managed portfolios.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from bondpremia.errors import ConvergenceError, InputError

FloatArray = npt.NDArray[np.float64]


# ---------------------------------------------------------------------------------------------------------------
# data preparation
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class _Panel:
    dates: pd.Index  # T dates in the fit
    chars: list[str]
    X: FloatArray  # (T, L) managed portfolios Z'r/N
    W: FloatArray  # (T, L, L) Z'Z/N
    N: FloatArray  # (T,) observations per month
    rr: FloatArray  # (T,) sum of r^2 per month
    n_dropped: int
    singular: pd.Index | None = None  # months kept whose Z_t'Z_t is singular


def _singular_months(W: FloatArray) -> npt.NDArray[np.bool_]:
    """Months whose instrument second-moment matrix Z_t'Z_t is singular (a characteristic with no variation of
    its own that month, e.g. every bond at the same rank because the measure is not yet available)."""
    d = np.sqrt(np.einsum("tll->tl", W))
    zero = (d == 0).any(axis=1)
    safe = np.where(d == 0, 1.0, d)
    eig = np.linalg.eigvalsh(W / safe[:, :, None] / safe[:, None, :])
    return np.asarray(zero | (eig[:, 0] < 1e-10 * eig[:, -1]))


#: Name of the constant instrument added with ``constant=True`` (KPS 2019: the instrument vector includes a constant).
CONSTANT = "constant"


def _to_pandas(panel: Any, entity: str | None = None, date: str | None = None) -> pd.DataFrame:
    """A pandas frame with the entity and date as columns: a polars frame is converted; a pandas panel indexed by
    an (entity, date) MultiIndex, as linearmodels and the ``ipca`` package take it, has its index moved to columns
    named ``entity`` and ``date``."""
    if isinstance(panel, pd.DataFrame):
        if isinstance(panel.index, pd.MultiIndex) and entity is not None and date is not None:
            if panel.index.nlevels != 2:
                raise InputError(f"a MultiIndex panel needs two levels (entity, date), got {panel.index.nlevels}",
                                 column="index")
            if entity in panel.columns or date in panel.columns:
                return panel.reset_index(drop=True)
            return panel.reset_index(names=[entity, date])
        return panel
    if hasattr(panel, "to_pandas"):  # a pyarrow Table of an indexed frame comes back with its MultiIndex
        return _to_pandas(panel.to_pandas(), entity, date)
    raise InputError(f"panel must be a pandas or polars DataFrame, got {type(panel).__name__}")


def _design(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """``df[columns]`` as float64, with a column of ones for :data:`CONSTANT` when the frame has no such column."""
    real = [c for c in columns if not (c == CONSTANT and c not in df.columns)]
    vals = df[real].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    if len(real) < len(columns):
        vals = np.insert(vals, columns.index(CONSTANT), 1.0, axis=1)
    return vals


def _has_constant(df: pd.DataFrame, chars: list[str]) -> bool:
    """Whether a characteristic is already the same non-zero number on every row (a user-supplied constant)."""
    for c in chars:
        if c == CONSTANT and c not in df.columns:
            return True
        if c not in df.columns:
            continue  # _prepare names the missing column
        x = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=np.float64)
        x = x[np.isfinite(x)]
        if len(x) and x[0] != 0 and np.all(x == x[0]):
            return True
    return False


def _prepare(panel: Any, returns: str, chars: list[str], entity: str, date: str, missing: str,
             min_obs: int, chunk_cells: int = 40_000_000, singular_months: str = "keep") -> _Panel:
    df = _to_pandas(panel, entity, date)
    for col in [entity, date, returns, *chars]:
        if col not in df.columns and col != CONSTANT:
            raise InputError(f"column not found; the panel has {list(df.columns)[:20]}", column=col)
    if len(set(chars)) != len(chars):
        raise InputError("characteristics are listed twice", column="chars")
    vals = _design(df, [returns, *chars])
    bad = np.column_stack([~np.isfinite(vals), df[date].isna().to_numpy()])  # a missing date is missing too
    if bad.any():
        if missing == "raise":
            row, col = np.argwhere(bad)[0]
            raise InputError("missing or non-numeric value; pass missing='drop' to drop such rows",
                             column=[returns, *chars, date][col], row=int(row))
    keep = ~bad.any(axis=1)
    n_dropped = int((~keep).sum())
    dates = df[date].to_numpy()[keep]
    vals = vals[keep]
    codes, uniq = pd.factorize(dates, sort=True)
    T, L = len(uniq), len(chars)
    counts = np.bincount(codes, minlength=T)
    ok_month = counts >= min_obs
    if not ok_month.all():
        drop = ok_month[codes]
        n_dropped += int((~drop).sum())
        vals, codes = vals[drop], codes[drop]
        remap = np.cumsum(ok_month) - 1
        codes = remap[codes]
        uniq = uniq[ok_month]
        counts = counts[ok_month]
        T = len(uniq)
    if T == 0:
        raise InputError(f"no month has at least {min_obs} complete observations", column=date)
    order = np.argsort(codes, kind="stable")
    vals, codes = vals[order], codes[order]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(len(codes)) - starts[codes]
    r, Z = vals[:, 0], vals[:, 1:]
    X = np.zeros((T, L))
    W = np.zeros((T, L, L))
    # dense month blocks (zero padded) in chunks of months: one batched matrix product per chunk
    nmax = int(counts.max())
    step = max(1, chunk_cells // max(nmax * L, 1))
    for a in range(0, T, step):
        b = min(T, a + step)
        sel = (codes >= a) & (codes < b)
        Zb = np.zeros((b - a, nmax, L))
        Rb = np.zeros((b - a, nmax))
        Zb[codes[sel] - a, pos[sel]] = Z[sel]
        Rb[codes[sel] - a, pos[sel]] = r[sel]
        W[a:b] = np.matmul(Zb.transpose(0, 2, 1), Zb)
        X[a:b] = np.einsum("tnl,tn->tl", Zb, Rb)
    N = counts.astype(np.float64)
    rr = np.bincount(codes, weights=r * r, minlength=T).astype(np.float64)
    singular = _singular_months(W)
    if singular_months == "drop" and singular.any():
        keep_t = ~singular
        if not keep_t.any():
            raise InputError("every month's instrument matrix Z_t'Z_t is singular", column="chars")
        n_dropped += int(counts[singular].sum())
        uniq, X, W, N, rr, singular = uniq[keep_t], X[keep_t], W[keep_t], N[keep_t], rr[keep_t], singular[keep_t]
    pooled = W.sum(axis=0)
    _check_rank(pooled, chars)
    return _Panel(pd.Index(uniq, name=date), list(chars), X / N[:, None], W / N[:, None, None], N, rr, n_dropped,
                  pd.Index(uniq[singular], name=date))


def _d(value: Any) -> Any:
    """A date for a message: ``2003-01-31``, not ``2003-01-31 00:00:00`` or ``Timestamp('2003-01-31')``."""
    return value.date() if isinstance(value, pd.Timestamp) else value


def _singular_hint(p: _Panel) -> str:
    if p.singular is None or len(p.singular) == 0:
        return ""
    first, last = _d(p.singular.min()), _d(p.singular.max())
    return (f"; {len(p.singular)} month(s) between {first} and {last} have a singular instrument matrix "
            f"Z_t'Z_t (a characteristic without variation of its own that month): pass singular_months='drop' "
            f"(CLI: --drop-singular-months) or start the sample later")


def _check_rank(pooled: FloatArray, chars: list[str]) -> None:
    """Raise InputError naming the characteristics that make the pooled Z'Z singular."""
    scale = np.sqrt(np.diag(pooled))
    if (scale == 0).any():
        zero = [c for c, s in zip(chars, scale, strict=True) if s == 0]
        raise InputError(f"characteristics are identically zero: {zero}", column="chars")
    corr = pooled / np.outer(scale, scale)
    vals, vecs = np.linalg.eigh(corr)
    null = vals < 1e-10 * vals.max()
    if null.any():
        involved = sorted({chars[i] for v in vecs[:, null].T for i in np.flatnonzero(np.abs(v) > 1e-3)})
        raise InputError(f"characteristics are collinear (a constant column next to the intercept, or linear "
                         f"combinations): {involved}; drop one of them", column="chars")


# ---------------------------------------------------------------------------------------------------------------
# the batched ALS core: leading dimension B = number of data sets estimated together
# ---------------------------------------------------------------------------------------------------------------

def _factor_step(X: FloatArray, W: FloatArray, gb: FloatArray, go: FloatArray, G: FloatArray) -> FloatArray:
    """f_t = (Gb' W_t Gb)^{-1} Gb' (x_t - W_t Go g_t) for all draws and months: (B, T, K)."""
    WG = np.matmul(W[None], gb[:, None])  # (B, T, L, K): batched BLAS, far faster than the 3-operand einsum
    A = np.matmul(gb.transpose(0, 2, 1)[:, None], WG)
    target = X
    if go.shape[2]:
        target = X - np.einsum("tlm,bmj,tj->btl", W, go, G, optimize=True)
    rhs = np.einsum("blk,btl->btk", gb, target)
    try:
        return np.linalg.solve(A, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        bad = np.flatnonzero(np.linalg.matrix_rank(A).min(axis=0) < A.shape[-1])
        raise ConvergenceError(f"the factor step is singular in months {bad.tolist()[:10]} (index in the fit): "
                               "too few observations or degenerate characteristics there") from None


def _gamma_step(X: FloatArray, WN: FloatArray, N: FloatArray, F: FloatArray, G: FloatArray,
                ridge: float, zero_row: int | None = None) -> FloatArray:
    """Solve the pooled normal equations for vec(Gamma~): (B, L, K~).

    ``zero_row`` restricts the latent loadings of that characteristic to zero (the null of the W_beta test).
    """
    B, T, _ = F.shape
    L = X.shape[2]
    Ft = np.concatenate([F, np.broadcast_to(G, (B, T, G.shape[1]))], axis=2)  # (B, T, K~)
    Kt = Ft.shape[2]
    FF = (Ft[:, :, :, None] * Ft[:, :, None, :]).reshape(B, T, Kt * Kt)
    denom = np.matmul(WN.reshape(T, L * L).T[None], FF)  # (B, L*L, K~*K~): sum_t N_t W_t[l,m] f_k f_j
    denom = denom.reshape(B, L, L, Kt, Kt).transpose(0, 1, 3, 2, 4).reshape(B, L * Kt, L * Kt)
    numer = np.einsum("btl,btk->blk", X * N[None, :, None], Ft).reshape(B, L * Kt)
    if ridge:
        denom = denom + ridge * N.sum() * np.eye(L * Kt)
    if zero_row is None:
        return np.linalg.solve(denom, numer[..., None])[..., 0].reshape(B, L, Kt)
    K = F.shape[2]
    free = np.ones((L, Kt), dtype=bool)
    free[zero_row, :K] = False
    idx = np.flatnonzero(free.ravel())
    sol = np.zeros((B, L * Kt))
    sol[:, idx] = np.linalg.solve(denom[:, idx[:, None], idx[None, :]], numer[:, idx, None])[..., 0]
    return sol.reshape(B, L, Kt)


def _normalize(gb: FloatArray, go: FloatArray, F: FloatArray, G: FloatArray) -> tuple[FloatArray, FloatArray,
                                                                                     FloatArray]:
    """KPS normalization in the order that keeps every identity true at the end (see the module docstring).

    The loadings on observable factors (``Gamma_alpha`` included, whose factor is the constant) are identified
    only up to directions of ``Gamma_beta``: ``Gb f_t + Go g_t = Gb (f_t + c g_t) + (Go - Gb c) g_t``. They are
    made orthogonal to ``Gamma_beta`` and the latent factors absorb the projection (KPS, section 2.1).
    """
    if go.shape[2]:
        c = np.linalg.solve(np.einsum("blk,blj->bkj", gb, gb), np.einsum("blk,blj->bkj", gb, go))  # (B, K, M)
        go = go - gb @ c
        F = F + np.einsum("bkm,tm->btk", c, G)
    R = np.linalg.cholesky(np.einsum("blk,blj->bkj", gb, gb)).transpose(0, 2, 1)  # Gb'Gb = R'R, R upper
    gb = np.asarray(np.linalg.solve(R.transpose(0, 2, 1), gb.transpose(0, 2, 1)).transpose(0, 2, 1), dtype=np.float64)
    F = np.einsum("bkj,btj->btk", R, F)
    T = F.shape[1]
    U, _, _ = np.linalg.svd(np.einsum("btk,btj->bkj", F, F) / T)  # descending second moments
    gb = gb @ U
    F = np.einsum("bkj,btk->btj", U, F)
    sign = np.sign(F.mean(axis=1))
    sign[sign == 0] = 1.0
    return gb * sign[:, None, :], go, F * sign[:, None, :]


def _als(X: FloatArray, W: FloatArray, N: FloatArray, K: int, G: FloatArray,
         gb: FloatArray | None, go: FloatArray | None, max_iter: int, tol: float,
         ridge: float, zero_row: int | None = None) -> tuple[FloatArray, FloatArray, FloatArray, int, bool]:
    """Alternating least squares for B data sets X (B, T, L) sharing W (T, L, L)."""
    B, T, L = X.shape
    M = G.shape[1]
    if gb is None:  # SVD initialization on the managed portfolios (KPS section 3)
        _, _, Vt = np.linalg.svd(X, full_matrices=False)
        gb = Vt[:, :K, :].transpose(0, 2, 1).copy()
        if zero_row is not None:
            gb[:, zero_row, :] = 0.0
    if go is None:
        go = np.zeros((B, L, M))
    WN = W * N[:, None, None]
    F = _factor_step(X, W, gb, go, G)
    active = np.arange(B)  # draws still iterating; converged draws leave the batch
    done = np.zeros(B, dtype=bool)
    gb, go, F = gb.copy(), go.copy(), F.copy()
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (the count is returned)
        xa = X[active]
        gamma = _gamma_step(xa, WN, N, F[active], G, ridge, zero_row)
        gb_new, go_new = gamma[:, :, :K], gamma[:, :, K:]
        F_new = _factor_step(xa, W, gb_new, go_new, G)
        gb_new, go_new, F_new = _normalize(gb_new, go_new, F_new, G)
        change = np.maximum(np.abs(gb_new - gb[active]).max(axis=(1, 2)), np.abs(F_new - F[active]).max(axis=(1, 2)))
        if M:
            change = np.maximum(change, np.abs(go_new - go[active]).max(axis=(1, 2)))
        gb[active], go[active], F[active] = gb_new, go_new, F_new
        conv = change < tol
        done[active[conv]] = True
        active = active[~conv]
        if active.size == 0:
            break
    return gb, go, F, it, bool(done.all())


# ---------------------------------------------------------------------------------------------------------------
# the estimator
# ---------------------------------------------------------------------------------------------------------------

class IPCA:
    """Instrumented PCA (Kelly, Pruitt and Su 2019) on an unbalanced long panel.

    Parameters
    ----------
    n_factors: number of latent factors K.
    intercept: estimate ``Gamma_alpha`` (characteristic-implied alphas, KPS eq. 1).
    constant: add a constant instrument named ``"constant"`` to the characteristics (default). Kelly, Pruitt and
        Su (2019, section 2) and Kelly, Palhares and Pruitt (2023) put a constant in the instrument vector ``z``,
        so that each factor loading has a part common to all assets; without it a ranked characteristic panel
        (mean zero every month) cannot load on the factors' average. Not added when a characteristic already is
        the same non-zero number on every row. ``constant=False`` is the ``ipca`` package's plain fit.
    max_iter, tol: ALS budget and convergence tolerance (largest change in Gamma and the factors).
    ridge: penalty ``ridge * ||Gamma||^2`` per observation in the Gamma step (0: plain least squares).
    missing: ``"drop"`` drops rows with a missing return or characteristic (counted in ``n_dropped_``);
        ``"raise"`` raises :class:`InputError` naming the column and row.
    min_obs: months with fewer complete observations are dropped (default: ``n_factors + 1``, the fewest
        that identify the month's factors).
    singular_months: ``"keep"`` (default) or ``"drop"`` the months whose instrument matrix ``Z_t'Z_t`` is
        singular: a characteristic without variation of its own that month (with ranks and missing -> 0, a
        rolling measure whose window has not filled gives every bond the value 0), or fewer bonds than
        characteristics. There the factor step ``(Gamma' Z_t'Z_t Gamma) f_t = Gamma' Z_t'r_t`` does not pin
        ``f_t`` down in some directions, and ALS can drift without converging; the non-convergence error lists
        such months. Dropped rows are counted in ``n_dropped_``.
    """

    gamma_: pd.DataFrame
    _gamma_obs: FloatArray

    def __init__(self, n_factors: int = 1, intercept: bool = False, max_iter: int = 10_000, tol: float = 1e-10,
                 ridge: float = 0.0, missing: str = "drop", min_obs: int | None = None,
                 singular_months: str = "keep", constant: bool = True) -> None:
        if n_factors < 1:
            raise InputError("n_factors must be at least 1", column="n_factors")
        if missing not in ("drop", "raise"):
            raise InputError("missing must be 'drop' or 'raise'", column="missing")
        if singular_months not in ("keep", "drop"):
            raise InputError("singular_months must be 'keep' or 'drop'", column="singular_months")
        self.singular_months = singular_months
        self.constant = constant
        self.n_factors = n_factors
        self.intercept = intercept
        self.max_iter = max_iter
        self.tol = tol
        self.ridge = ridge
        self.missing = missing
        self.min_obs = min_obs

    # -- fitting --------------------------------------------------------------------------------------------------

    def fit(self, panel: Any, ret: str = "ret", chars: list[str] | str | None = None, entity: str = "id",
            date: str = "date", factors: pd.DataFrame | None = None, warm_start: IPCA | None = None, **kw: str) -> IPCA:
        """Estimate the model. ``factors`` are optional pre-specified observable factors (a DataFrame indexed by
        date); ``warm_start`` a fitted model whose Gamma starts the iterations."""
        df, returns = _to_pandas(panel, entity, date), _return_column(ret, kw)
        chars = self._instruments(df, chars, returns, entity, date)
        K = self.n_factors
        if K > len(chars):
            raise InputError(f"n_factors={K} exceeds the number of characteristics ({len(chars)})",
                             column="n_factors")
        p = _prepare(df, returns, list(chars), entity, date, self.missing, self.min_obs or K + 1,
                     singular_months=self.singular_months)
        self._fit_panel(p, factors, warm_start)
        self._columns = (entity, date)
        return self

    def _instruments(self, df: pd.DataFrame, chars: list[str] | str | None, returns: str, entity: str, date: str
                     ) -> list[str]:
        """The characteristics (default: every other column; ``"kpp"``: the KPP instruments the panel has), plus
        :data:`CONSTANT` with ``constant=True``."""
        if isinstance(chars, str) and chars == "kpp":  # Kelly, Palhares and Pruitt (2023) Table A.I instruments
            from bondpremia.characteristics import KPP_INSTRUMENTS

            chars = [c for c in KPP_INSTRUMENTS if c in df.columns]
            if not chars:
                raise InputError("none of the 29 KPP characteristics is a column of the panel", column="chars")
        if isinstance(chars, str):  # one characteristic by name (not its letters)
            chars = [chars]
        names = [c for c in df.columns if c not in (returns, entity, date)] if chars is None else list(chars)
        if self.constant and CONSTANT not in names and not _has_constant(df, names):
            names.append(CONSTANT)
        return names

    def _observables(self, dates: pd.Index, factors: pd.DataFrame | None) -> tuple[FloatArray, list[str]]:
        cols, names = [], []
        if self.intercept:
            cols.append(np.ones(len(dates)))
            names.append("alpha")
        if factors is not None:
            aligned = factors.reindex(dates)
            if aligned.isna().any().any():
                missing = [str(_d(x)) for x in aligned.index[aligned.isna().any(axis=1)][:5]]
                raise InputError(f"observable factors are missing for dates {missing}", column="factors")
            for c in aligned.columns:
                cols.append(aligned[c].to_numpy(dtype=np.float64))
                names.append(str(c))
        G = np.column_stack(cols) if cols else np.zeros((len(dates), 0))
        return G, names

    def _fit_panel(self, p: _Panel, factors: pd.DataFrame | None, warm_start: IPCA | None) -> None:
        K = self.n_factors
        if len(p.dates) < K + 1:
            raise InputError(f"{K} factor(s) need at least {K + 1} months with data; the panel has {len(p.dates)}",
                             column="n_factors")
        G, obs_names = self._observables(p.dates, factors)
        gb0 = go0 = None
        if warm_start is not None:
            gb0 = warm_start.gamma_.reindex(p.chars).to_numpy()[None]
            go0 = warm_start._gamma_obs[None] if warm_start._gamma_obs.shape[1] == G.shape[1] else None
        gb, go, F, n_iter, ok = _als(p.X[None], p.W, p.N, K, G, gb0, go0, self.max_iter, self.tol,
                                     self.ridge)
        if not ok:
            raise ConvergenceError(f"IPCA did not converge in {self.max_iter} iterations (tol {self.tol}); raise "
                                   f"max_iter or loosen tol{_singular_hint(p)}")
        self._panel = p
        self._G = G
        self._gamma_obs = go[0]
        self.n_iter_ = n_iter
        self.n_dropped_ = p.n_dropped
        self.chars_ = p.chars
        names = [f"f{k + 1}" for k in range(K)]
        self.gamma_ = pd.DataFrame(gb[0], index=p.chars, columns=names)
        self.gamma_alpha_ = pd.Series(go[0][:, 0], index=p.chars, name="alpha") if self.intercept else None
        self.gamma_observable_ = pd.DataFrame(go[0], index=p.chars, columns=obs_names)
        self.factors_ = pd.DataFrame(F[0], index=p.dates, columns=names)
        self.lambda_ = self.factors_.mean()
        self._r2()

    def _coefficients(self, F: FloatArray, G: FloatArray) -> FloatArray:
        """b_t = Gamma_beta f_t + Gamma_obs g_t, (T, L)."""
        return F @ self.gamma_.to_numpy().T + G @ self._gamma_obs.T

    def _r2(self) -> None:
        p = self._panel
        F = self.factors_.to_numpy()
        lam = np.broadcast_to(F.mean(axis=0), F.shape)
        g_mean = np.broadcast_to(self._G.mean(axis=0), self._G.shape)
        self.r2_total_, self.r2_total_x_ = _r2(p, self._coefficients(F, self._G))
        self.r2_pred_, self.r2_pred_x_ = _r2(p, self._coefficients(lam, g_mean))

    # -- prediction -----------------------------------------------------------------------------------------------

    def predict(self, panel: Any, kind: str = "total", date: str | None = None) -> pd.Series:
        """Fitted returns ``z_it' b_t`` per row of ``panel``: ``kind="total"`` uses the month's factors (rows in
        months outside the fit give NaN), ``kind="predictive"`` the factor means ``lambda_``. The date column is
        the one named in ``fit`` unless given."""
        date = date or self._columns[1]
        df = _to_pandas(panel, self._columns[0], date)
        Z = _design(df, self.chars_)
        if kind == "total":
            F = self.factors_.reindex(df[date].to_numpy()).to_numpy()
            G = self._observables_for(df[date])
        elif kind == "predictive":
            F = np.broadcast_to(self.lambda_.to_numpy(), (len(df), self.n_factors))
            G = np.broadcast_to(self._G.mean(axis=0), (len(df), self._G.shape[1]))
        else:
            raise InputError("kind must be 'total' or 'predictive'", column="kind")
        b = self._coefficients(F, G)
        return pd.Series(np.einsum("nl,nl->n", Z, b), index=df.index, name=f"ipca_{kind}")

    def _observables_for(self, dates: pd.Series) -> FloatArray:
        pos = self._panel.dates.get_indexer(pd.Index(dates.to_numpy()))
        G = np.full((len(dates), self._G.shape[1]), np.nan)
        hit = pos >= 0
        G[hit] = self._G[pos[hit]]
        return G

    # -- tests of the model (KPS section 4) ------------------------------------------------------------------------

    def test_alpha(self, n_boot: int = 1000, df: float = 5.0, seed: int = 0, batch: int = 100,
                   progress: bool = False) -> BootstrapResult:
        """Wild residual bootstrap test of ``H0: Gamma_alpha = 0`` (KPS section 4.1).

        Statistic ``W_alpha = Gamma_alpha' Gamma_alpha`` from the unrestricted fit (``intercept=True``). Draws
        ``x~_t = W_t Gamma_beta f_t + q_t d_t`` rebuild the managed portfolios from the restricted fit and the
        unrestricted residuals ``d_t``, with ``q_t`` Student t(``df``) scaled to unit variance; every draw is
        re-estimated (warm-started, batches of ``batch`` draws estimated together).
        """
        if not self.intercept:
            raise InputError("test_alpha needs a model fitted with intercept=True", column="intercept")
        p = self._panel
        resid = self._residuals()
        restricted = IPCA(self.n_factors, intercept=False, max_iter=self.max_iter, tol=self.tol, ridge=self.ridge)
        restricted._fit_panel(p, None, None)
        fitted0 = np.einsum("tlm,tm->tl", p.W, restricted._coefficients(restricted.factors_.to_numpy(),
                                                                          restricted._G))
        stat = float(self._gamma_obs[:, 0] @ self._gamma_obs[:, 0])
        draws = self._bootstrap(fitted0, resid, n_boot, df, seed, batch, progress,
                                lambda gb, go: np.einsum("bl,bl->b", go[:, :, 0], go[:, :, 0]))
        return BootstrapResult(stat, draws, float(np.mean(draws >= stat)))

    def test_beta(self, char: str, n_boot: int = 1000, df: float = 5.0, seed: int = 0, batch: int = 100,
                  progress: bool = False) -> BootstrapResult:
        """Wild residual bootstrap test that characteristic ``char`` does not enter the betas (KPS section 4.2).

        Statistic ``W_beta,l = Gamma_beta,l Gamma_beta,l'`` (the squared norm of the characteristic's row of
        ``Gamma_beta``, invariant to the factor rotation). The null model is re-estimated with that row fixed at
        zero; draws are built from its fitted managed portfolios plus t(``df``) multipliers on the unrestricted
        residuals, and re-estimated without the restriction.
        """
        if char not in self.chars_:
            raise InputError(f"{char!r} is not a characteristic of the model {self.chars_}", column="char")
        p = self._panel
        row = self.chars_.index(char)
        resid = self._residuals()
        gb0 = self.gamma_.to_numpy()[None].copy()
        gb0[:, row, :] = 0.0
        if np.abs(gb0).max() == 0:
            raise InputError("the restricted model has no loadings left; use more characteristics", column="char")
        gb, go, F0, _, ok = _als(p.X[None], p.W, p.N, self.n_factors, self._G, None, None,
                                 self.max_iter, self.tol, self.ridge, zero_row=row)
        if not ok:
            raise ConvergenceError("the restricted IPCA (W_beta null) did not converge")
        fitted0 = np.einsum("tlm,tm->tl", p.W, F0[0] @ gb[0].T + self._G @ go[0].T)
        stat = float(self.gamma_.to_numpy()[row] @ self.gamma_.to_numpy()[row])
        draws = self._bootstrap(fitted0, resid, n_boot, df, seed, batch, progress,
                                lambda gb, go: np.einsum("bk,bk->b", gb[:, row, :], gb[:, row, :]))
        return BootstrapResult(stat, draws, float(np.mean(draws >= stat)))

    def _residuals(self) -> FloatArray:
        """Managed-portfolio residuals d_t = x_t - W_t b_t of the fitted model, (T, L)."""
        p = self._panel
        return p.X - np.einsum("tlm,tm->tl", p.W, self._coefficients(self.factors_.to_numpy(), self._G))

    def _bootstrap(self, fitted: FloatArray, resid: FloatArray, n_boot: int, df: float, seed: int, batch: int,
                   progress: bool, statistic: Any) -> FloatArray:
        if not df > 2:  # also refuses NaN
            raise InputError(f"df must be above 2 (t multipliers scaled to unit variance) or inf, got {df}",
                             column="df")
        p = self._panel
        rng = np.random.default_rng(seed)
        out = np.empty(n_boot)
        gb0 = np.broadcast_to(self.gamma_.to_numpy(), (batch, *self.gamma_.shape))
        go0 = np.broadcast_to(self._gamma_obs, (batch, *self._gamma_obs.shape))
        starts: Iterable[int] = range(0, n_boot, batch)
        if progress:
            from rich.progress import track

            starts = track(starts, description="bootstrap")
        for a in starts:
            b = min(batch, n_boot - a)
            q = rng.standard_t(df, size=(b, p.X.shape[0])) * np.sqrt((df - 2.0) / df) if np.isfinite(df) else \
                rng.standard_normal((b, p.X.shape[0]))
            Xb = fitted[None] + q[:, :, None] * resid[None]
            gb, go, _, _, _ = _als(Xb, p.W, p.N, self.n_factors, self._G, gb0[:b].copy(),
                                   go0[:b].copy(), self.max_iter, self.tol, self.ridge)
            out[a:a + b] = statistic(gb, go)
        return out

    # -- out of sample -----------------------------------------------------------------------------------------------

    def fit_oos(self, panel: Any, start: Any, ret: str = "ret", chars: list[str] | str | None = None,
                entity: str = "id", date: str = "date", progress: bool = False, **kw: str) -> OOSResult:
        """Recursive (expanding-window) out-of-sample evaluation from month ``start`` (KPS section 5.3).

        For every month t >= start the model is re-estimated on the months before t (warm-started from the
        previous estimate); month t's factor is ``f_t = (G_b' W_t G_b)^{-1} G_b' (x_t - W_t G_o g_t)`` with that
        Gamma (total R^2) and its forecast is the factor mean through t-1 (predictive R^2). Nothing of month t
        enters the estimate used for month t.
        """
        df, returns = _to_pandas(panel, entity, date), _return_column(ret, kw)
        chars = self._instruments(df, chars, returns, entity, date)
        p = _prepare(df, returns, list(chars), entity, date, self.missing, self.min_obs or self.n_factors + 1,
                     singular_months=self.singular_months)
        G, _ = self._observables(p.dates, None)
        if isinstance(p.dates, pd.DatetimeIndex):
            from bondpremia.validate import month

            try:
                start = pd.Timestamp(start)
            except (TypeError, ValueError):
                start = month(start, "start").to_timestamp()  # the package's one message for an unreadable month
        s = int(p.dates.searchsorted(start))
        if s < self.n_factors + 1 or s >= len(p.dates):
            first, last = _d(p.dates[0]), _d(p.dates[-1])
            raise InputError(f"start {_d(start)} "
                             f"leaves no estimation window of at least {self.n_factors + 1} months or no "
                             f"out-of-sample month (the panel's months run {first} .. {last})", column="start")
        try:  # windows only grow, so a full-rank first window keeps every later one full rank
            _check_rank((p.W[:s] * p.N[:s, None, None]).sum(axis=0), p.chars)
        except InputError as err:
            raise InputError(f"in the first estimation window (the months before {_d(p.dates[s])}): {err.reason}; "
                             f"start the out-of-sample period later or leave them out", column="start") from None
        K, T = self.n_factors, len(p.dates)
        b_total = np.empty((T - s, p.X.shape[1]))  # row t - s: month t; every row is written below
        b_pred = np.empty_like(b_total)
        f_oos = np.full((T, K), np.nan)
        gb = go = None
        months: Iterable[int] = range(s, T)
        if progress:
            from rich.progress import track

            months = track(months, description="IPCA out of sample")
        for t in months:
            gb, go, F, _, ok = _als(p.X[None, :t], p.W[:t], p.N[:t], K, G[:t], gb, go,
                                    self.max_iter, self.tol, self.ridge)
            if not ok:
                raise ConvergenceError(f"IPCA did not converge on the window ending before {_d(p.dates[t])}"
                                       f"{_singular_hint(p)}")
            try:
                f_t = _factor_step(p.X[None, t:t + 1], p.W[t:t + 1], gb, go, G[t:t + 1])[0, 0]
            except ConvergenceError:
                raise ConvergenceError(f"the factor step is singular in the out-of-sample month {_d(p.dates[t])}: "
                                       "too few observations or degenerate characteristics there") from None
            f_oos[t] = f_t
            b_total[t - s] = gb[0] @ f_t + go[0] @ G[t]
            b_pred[t - s] = gb[0] @ F[0].mean(axis=0) + go[0] @ G[:t].mean(axis=0)
        sub = _Panel(p.dates[s:], p.chars, p.X[s:], p.W[s:], p.N[s:], p.rr[s:], p.n_dropped)
        r2_total, r2_total_x = _r2(sub, b_total)
        r2_pred, r2_pred_x = _r2(sub, b_pred)
        factors = pd.DataFrame(f_oos[s:], index=p.dates[s:], columns=[f"f{k + 1}" for k in range(K)])
        mu = factors.mean().to_numpy()
        cov = np.atleast_2d(np.cov(factors.to_numpy(), rowvar=False))
        sharpe = float(np.sqrt(mu @ np.linalg.solve(cov, mu)))
        return OOSResult(r2_total, r2_pred, r2_total_x, r2_pred_x, factors, sharpe)

    def fit_stats(self) -> dict[str, Any]:
        """The settings and in-sample fit of a fitted model (the content of ``fit.json``)."""
        return {
            "n_factors": self.n_factors, "intercept": self.intercept, "constant": CONSTANT in self.chars_,
            "n_iter": self.n_iter_,
            "r2_total": self.r2_total_, "r2_pred": self.r2_pred_, "r2_total_x": self.r2_total_x_,
            "r2_pred_x": self.r2_pred_x_, "n_months": len(self.factors_), "n_dropped": self.n_dropped_,
        }

    def summary(self) -> pd.DataFrame:
        """:meth:`fit_stats` as a printable table (one row a statistic, column ``value``)."""
        return pd.DataFrame({"value": pd.Series(self.fit_stats())}).rename_axis("statistic")  # object: mixed types

    def to_frame(self) -> pd.DataFrame:
        """The estimated factors: one row a month, one column a factor (``f1``, ...)."""
        return self.factors_

    def to_json(self) -> str:
        return json.dumps(self.fit_stats(), indent=2)

    def __repr__(self) -> str:
        head = f"IPCA(n_factors={self.n_factors}, intercept={self.intercept}"
        if not hasattr(self, "factors_"):
            return head + ", not fitted)"
        f = self.factors_.index
        return (f"{head}, fitted: {len(f)} months ({f.min():%Y-%m}..{f.max():%Y-%m}), {len(self.chars_)} "
                f"instruments, r2_total={self.r2_total_:.4f}, r2_pred={self.r2_pred_:.4f})")

    def save(self, out: str | Path, *, extra: dict[str, Any] | None = None, options: dict[str, Any] | None = None,
             inputs: Sequence[str | Path | None] = (), force: bool = False) -> Path:
        """The run folder of ``bondpremia ipca fit`` (atomic): ``fit.json`` (:meth:`fit_stats` plus ``extra``, e.g.
        out-of-sample R^2s), ``gamma.csv`` (characteristic x factor loadings, with ``alpha`` when estimated) and
        ``factors.csv`` (date x factor). ``bondpremia report`` reads these files."""
        from bondpremia.results import save_tables

        gamma = self.gamma_.copy()
        if self.gamma_alpha_ is not None:
            gamma["alpha"] = self.gamma_alpha_
        return save_tables(out, "ipca fit", {"fit.json": {**self.fit_stats(), **(extra or {})},
                                             "gamma.csv": gamma.rename_axis("characteristic"),
                                             "factors.csv": self.factors_.rename_axis("date")},
                           options=options, inputs=inputs, force=force)


@dataclass(frozen=True, repr=False)
class BootstrapResult:
    """A bootstrap test: the statistic, its bootstrap draws under the null, and the p-value
    (:class:`bondpremia.results.Results`; ``to_frame()`` the draws, ``save(out)`` ``bootstrap.csv`` and
    ``draws.csv``)."""

    statistic: float
    draws: FloatArray
    pvalue: float

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([{"statistic": self.statistic, "pvalue": self.pvalue, "n_draws": len(self.draws)}])

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"draw": self.draws})

    def __repr__(self) -> str:
        return f"BootstrapResult(statistic={self.statistic:.6g}, pvalue={self.pvalue:.4f}, draws={len(self.draws)})"

    def save(self, out: str | Path, *, force: bool = False) -> Path:
        from bondpremia.results import save_tables

        return save_tables(out, "ipca bootstrap", {"bootstrap.csv": self.summary(), "draws.csv": self.to_frame()},
                           force=force)


@dataclass(frozen=True, repr=False)
class OOSResult:
    """Out-of-sample IPCA fit: uncentered R^2 (total and predictive, on observations and managed portfolios),
    the out-of-sample factors, and the per-period Sharpe ratio of their ex-post tangency portfolio
    (``sqrt(mu' Sigma^{-1} mu)``; multiply by sqrt(12) to annualize monthly data).
    :class:`bondpremia.results.Results`: ``summary()`` the statistics, ``to_frame()`` the factors, ``save(out)``
    ``oos.json`` and ``oos_factors.csv``."""

    r2_total: float
    r2_pred: float
    r2_total_x: float
    r2_pred_x: float
    factors: pd.DataFrame
    tangency_sharpe: float

    def as_dict(self) -> dict[str, float]:
        return {"r2_total_oos": self.r2_total, "r2_pred_oos": self.r2_pred, "r2_total_x_oos": self.r2_total_x,
                "r2_pred_x_oos": self.r2_pred_x, "tangency_sharpe_oos": self.tangency_sharpe}

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame({"value": pd.Series(self.as_dict())}).rename_axis("statistic")

    def to_frame(self) -> pd.DataFrame:
        return self.factors

    def __repr__(self) -> str:
        f = self.factors.index
        span = f"{f.min():%Y-%m}..{f.max():%Y-%m}" if len(f) else "no month"
        return (f"OOSResult(months={len(f)} ({span}), factors={self.factors.shape[1]}, "
                f"r2_total={self.r2_total:.4f}, r2_pred={self.r2_pred:.4f})")

    def save(self, out: str | Path, *, force: bool = False) -> Path:
        from bondpremia.results import save_tables

        return save_tables(out, "ipca oos", {"oos.json": self.as_dict(),
                                             "oos_factors.csv": self.factors.rename_axis("date")}, force=force)


def _r2(p: _Panel, b: FloatArray) -> tuple[float, float]:
    """Uncentered pooled R^2 of fitted coefficients b (T, L): on observations and on managed portfolios.

    sum_i (r - z'b)^2 = sum_i r^2 - 2 N b'x + N b'W b per month, so observations are never materialized.
    """
    bx = np.einsum("tl,tl->t", b, p.X)
    bwb = np.einsum("tl,tlm,tm->t", b, p.W, b)
    sse = p.rr - 2 * p.N * bx + p.N * bwb
    r2_obs = 1.0 - sse.sum() / p.rr.sum()
    ex = p.X - np.einsum("tlm,tm->tl", p.W, b)
    r2_x = 1.0 - (ex**2).sum() / (p.X**2).sum()
    return float(r2_obs), float(r2_x)


def _return_column(ret: str, old: dict[str, str]) -> str:
    """The return column of ``fit``/``fit_oos``: ``ret``, the package's name for it (sorts, characteristics); the
    earlier keyword ``returns=`` still works with a ``FutureWarning``; any other keyword is an error."""
    returns = old.pop("returns", None)
    if old:
        raise TypeError(f"unexpected keyword argument {next(iter(old))!r}")
    if returns is None:
        return ret
    import warnings

    warnings.warn("IPCA: the keyword returns= is now ret= (the package's name for the return column)", FutureWarning,
                  stacklevel=3)
    return str(returns)
