"""A simulated Treasury zero curve with macro-driven, non-linear risk premia and *known* expected excess returns.

It serves the tests and the demo of the bond risk premia module (Bianchi, Buchner and Tamoni 2021, "Bond Risk
Premia with Machine Learning", *Review of Financial Studies* 34(2), 1046-1089): forecasting the 12-month log
excess returns of zero-coupon bonds (``n = 2, 3, 4, 5, 7, 10`` years and their equal-weighted mean ``"EW"``) from
one-year forward rates and a large macro panel. Because the true conditional mean ``E_t rx_{t+12}(n)`` is known
exactly, a forecaster that can represent it should reach the population R-squared reported here.

Model (monthly, ``t`` in months, yields in decimals per year, maturities ``m`` in months)
----------------------------------------------------------------------------------------
**Yields.** Affine in a yield-curve state ``X_t = (level, slope, curvature)'`` with Nelson-Siegel loadings
(Nelson and Siegel 1987; the dynamic version of Diebold and Li 2006, *Journal of Econometrics* 130)::

    y_t(m) = a(m) + B(m)' X_t,   B(m) = (1, (1 - e^{-lam m}) / (lam m), (1 - e^{-lam m}) / (lam m) - e^{-lam m})
    a(m)   = B(m)' xbar

with ``lam = decay`` (0.0609 per month, Diebold-Li) and ``xbar = mean_factors``, so ``X_t`` is the deviation of
the Nelson-Siegel factors from the mean curve ``a(m)`` (about 5% at one month, 6.5% at ten years). The curve is
**not** arbitrage-free: no pricing kernel is imposed (no convexity term, a ``P``-measure VAR unrelated to the
loadings), which is what makes expected excess returns depend on the state. For ``m = 1, ..., 120``.

**Macro state.** ``M_t`` in ``R^4``, independent Gaussian AR(1)s with correlated shocks and unit variance::

    M_{t+1} = A M_t + eta_{t+1},  A = diag(macro_ar),  eta ~ N(0, Q),  Q_ij = rho_ij sqrt((1 - a_i^2)(1 - a_j^2))

(``rho = macro_corr``). Interpretation: real activity, inflation, credit, financial uncertainty.

**Yield-curve dynamics** under the physical measure::

    X_{t+1} = mu + Phi X_t + Gamma g(M_t) + Sigma eps_{t+1},   eps ~ N(0, I) independent of eta,
    g(M) = (M_1,  M_2 M_3 - E[M_2 M_3],  M_4^2 - E[M_4^2])'

a linear term, an interaction and a square (a symmetric, U-shaped effect that no linear function of ``M``
can fit: ``M_4^2`` is uncorrelated with every ``M_i``), centred at their stationary means. ``Gamma =
macro_scale * gamma`` (``0`` when ``macro_effect`` is False). Macro information is *unspanned*: ``M_t`` moves
expected future yields but does not enter today's yields (it is in ``X_t`` only through past ``g(M_s)``).

**Exact expectations.** Stack ``s_t = (X_t, M_t, w_t)`` with ``w_t = vec(M_t M_t')`` (row-major, ``k^2``
entries). Since ``g`` is linear in ``(M_t, w_t)`` and ``E_t w_{t+1} = (A kron A) w_t + vec(Q)``, the stacked
state is a linear system with martingale-difference (not Gaussian) shocks::

    s_{t+1} = c + F s_t + u_{t+1},  E_t u_{t+1} = 0,
    F = [[Phi, Gamma G1, Gamma G2], [0, A, 0], [0, 0, A kron A]],   c = (mu + Gamma g0, 0, vec(Q)),

so ``E_t s_{t+h} = F^h s_t + (I + F + ... + F^{h-1}) c``. Equivalently, term by term,
``E_t X_{t+12} = Phi^12 X_t + sum_{j=0}^{11} Phi^{11-j} (mu + Gamma E_t g(M_{t+j}))`` with
``E_t[M_{i,t+j} M_{l,t+j}] = (A^j M_t)_i (A^j M_t)_l + (V - A^j V A^j')_{il}``. With ``p_t(n) = -n y_t(12 n)``
(``n`` in years), the log excess return of :func:`bondpremia.fixed_income.curves.excess_returns` is
``rx_{t+12}(n) = p_{t+12}(n-1) - p_t(n) - y_t(12)``, linear in ``X_{t+12}`` and ``X_t``, hence::

    E_t rx_{t+12}(n) = -(n-1) [a(12n-12) + B(12n-12)' E_t X_{t+12}] + n y_t(12n) - y_t(12)

exactly (no Jensen term: the return is linear in the state). With ``Gamma = 0`` it is affine in ``X_t``, i.e.
in the forward rates, and OLS on the forwards is the correctly specified model.

**Population R-squared, in closed form.** ``E[u u']`` is block diagonal (``Sigma Sigma'``, ``Q`` and, by
Isserlis' theorem, ``E[u_w u_w']_{(ij),(kl)} = Q_ik Q_jl + Q_il Q_jk + Q_ik P_jl + Q_il P_jk + Q_jk P_il +
Q_jl P_ik`` with ``P = A V A'``; cross blocks vanish because odd Gaussian moments do), so the stationary
covariance ``S`` of ``s_t`` solves the Lyapunov equation ``S = F S F' + E[u u']``. Writing ``rx = const +
beta' s_{t+12} + gamma' s_t`` and ``kappa = F^12' beta + gamma``::

    Var(E_t rx) = kappa' S kappa,   Var(rx) = beta' S beta + gamma' S gamma + 2 beta' F^12 S gamma,
    R2 = 1 - E[(rx - E_t rx)^2] / Var(rx) = Var(E_t rx) / Var(rx).

:func:`population_r2` also reports the R-squared of the best *linear* forecasts from the forward rates
(a projection on ``X_t``, which the forwards span exactly) and from the forwards plus the macro factors
``M_t``; their gaps to the total are the part only a non-linear model can find.

**Default calibration** (:class:`TermStructureParams`): mean yields 4.8% (1 month) to 6.5% (10 years), standard
deviations about 2 points, 2% of months with a negative short rate; population R-squared for ``n = 2, 3, 4, 5,
7, 10, EW``: total 0.38, 0.37, 0.36, 0.36, 0.35, 0.35, 0.36; forwards alone (linear) 0.24, 0.22, 0.20, 0.19,
0.18, 0.17, 0.18; forwards and macro factors, linearly, 0.27 to 0.19. With ``macro_effect=False`` the total is
0.29 to 0.24 and all of it is linear in the forwards.

**Macro panel.** ``N`` observed series in the eight groups of FRED-MD (McCracken and Ng 2016, *Journal of
Business and Economic Statistics* 34(4)): 1 output and income, 2 labor market, 3 housing, 4 consumption, orders
and inventories, 5 money and credit, 6 interest and exchange rates, 7 prices, 8 stock market, sized roughly in
FRED-MD's proportions. Series ``i`` is ``x_it = c_i + s_i (l_i' f_t + e_it)``: ``f_t`` stacks ``M_t`` and the
standardized ``X_t``; the loadings ``l_i`` follow a group profile (group 6, the interest-rate group, loads on
``X_t``; the others on ``M_t``) with random signs and sizes; ``e_it`` is a stationary AR(1) with
persistence ``U(0, 0.5)`` scaled so the common component explains ``U(0.3, 0.9)`` of the variance; about 5% of
the series are pure noise (``l_i = 0``). They are stationary, already transformed (tcode 1), in arbitrary units
(``s_i = 10^U(-2, 0)``). The panel sees ``M_t`` only through noise, so the R-squared attainable from yields and
panel is a little below the population value.

Randomness comes from ``np.random.default_rng(seed)``: the states and the panel use two spawned child
generators, so for a given seed the yields do not depend on ``n_series``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.linalg import solve_discrete_lyapunov
from scipy.signal import lfilter

from bondpremia.errors import InputError

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "MATURITIES",
    "SimulatedTermStructure",
    "TermStructureParams",
    "expected_excess_returns",
    "ns_loadings",
    "population_r2",
    "simulate_term_structure",
]

MATURITIES: tuple[int, ...] = (2, 3, 4, 5, 7, 10)
"""Bond maturities in years of :attr:`SimulatedTermStructure.expected_excess` (plus ``"EW"``)."""

FACTOR_NAMES = ("level", "slope", "curvature")
MACRO_NAMES = ("macro1", "macro2", "macro3", "macro4")
GROUP_NAMES = {1: "output and income", 2: "labor market", 3: "housing",
               4: "consumption, orders and inventories", 5: "money and credit",
               6: "interest and exchange rates", 7: "prices", 8: "stock market"}
_GROUP_WEIGHTS = np.array([17.0, 32.0, 10.0, 14.0, 14.0, 22.0, 21.0, 5.0])  # FRED-MD group sizes, roughly
# mean |loading| of each group on (macro1..macro4, level, slope, curvature): rows = groups 1..8
_GROUP_PROFILE = np.array([
    [1.0, 0.2, 0.0, 0.2, 0.0, 0.0, 0.0],
    [0.9, 0.0, 0.2, 0.2, 0.0, 0.0, 0.0],
    [0.5, 0.2, 0.6, 0.0, 0.0, 0.0, 0.0],
    [0.7, 0.4, 0.0, 0.3, 0.0, 0.0, 0.0],
    [0.0, 0.3, 0.8, 0.4, 0.0, 0.0, 0.0],
    [0.0, 0.3, 0.3, 0.2, 0.7, 0.7, 0.3],
    [0.2, 1.0, 0.0, 0.4, 0.0, 0.0, 0.0],
    [0.3, 0.0, 0.4, 0.9, 0.0, 0.0, 0.0],
])
_HORIZON = 12
_MAX_MONTHS = 120
_K = 4  # macro factors


# ----------------------------------------------------------------------------------------------------------
# parameters
# ----------------------------------------------------------------------------------------------------------
def _tuple2(rows: Any) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in np.asarray(rows, dtype=np.float64))


@dataclass(frozen=True)
class TermStructureParams:
    """Parameters of the simulated term structure (see the module docstring for the equations).

    All rates are decimals per year; the state moves monthly. Override any field, e.g.
    ``TermStructureParams(macro_effect=False)`` (linear premia, spanned by the forwards) or
    ``TermStructureParams(macro_scale=0.5)``. Sequences may be given as lists or arrays; they are stored as tuples.

    Attributes
    ----------
    decay:
        Nelson-Siegel decay ``lam`` per month.
    mean_factors:
        ``xbar``, the mean curve ``a(m) = B(m)' xbar`` (level, slope, curvature).
    mu:
        Drift of ``X`` (the stationary mean of ``X`` is ``(I - Phi)^{-1} mu``; default 0).
    phi:
        ``Phi`` (3x3), eigenvalues inside the unit circle.
    factor_vol, factor_corr:
        Monthly shock volatilities of ``X`` and their correlation; ``Sigma = diag(vol) chol(corr)``.
    macro_ar, macro_corr:
        AR(1) coefficients of ``M`` (4, each in (-1, 1)) and the correlation of its shocks (4x4); every
        ``M_i`` has unit stationary variance.
    gamma:
        ``gamma`` (3x3): rows level, slope, curvature; columns ``M_1``, ``M_2 M_3``, ``M_4^2`` (centred).
    macro_scale:
        Scales ``gamma`` (the strength of the macro signal).
    macro_effect:
        False sets ``Gamma = 0``: premia are then affine in the forward rates.
    """

    decay: float = 0.0609
    mean_factors: tuple[float, ...] = (0.070, -0.021, -0.006)
    mu: tuple[float, ...] = (0.0, 0.0, 0.0)
    phi: tuple[tuple[float, ...], ...] = ((0.975, 0.03, 0.0), (0.0, 0.95, 0.0), (0.0, 0.0, 0.88))
    factor_vol: tuple[float, ...] = (0.0026, 0.0034, 0.0060)
    factor_corr: tuple[tuple[float, ...], ...] = ((1.0, -0.4, 0.1), (-0.4, 1.0, 0.0), (0.1, 0.0, 1.0))
    macro_ar: tuple[float, ...] = (0.95, 0.95, 0.95, 0.96)
    macro_corr: tuple[tuple[float, ...], ...] = (
        (1.0, 0.3, 0.0, 0.0), (0.3, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0), (0.0, 0.0, 0.0, 1.0))
    gamma: tuple[tuple[float, ...], ...] = (
        (0.0002, -0.00045, -0.00045), (0.0002, -0.00025, 0.00025), (0.0, 0.0, 0.0))
    macro_scale: float = 1.0
    macro_effect: bool = True

    def __post_init__(self) -> None:
        shapes = {"mean_factors": (3,), "mu": (3,), "phi": (3, 3), "factor_vol": (3,), "factor_corr": (3, 3),
                  "macro_ar": (_K,), "macro_corr": (_K, _K), "gamma": (3, 3)}
        for name, shape in shapes.items():
            try:
                arr = np.asarray(getattr(self, name), dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise InputError(f"must be numeric: {exc}", column=name) from exc
            if arr.shape != shape:
                raise InputError(f"expected shape {shape}, got {arr.shape}", column=name)
            if not np.all(np.isfinite(arr)):
                raise InputError("must be finite", column=name)
            value: Any = tuple(float(v) for v in arr) if arr.ndim == 1 else _tuple2(arr)
            object.__setattr__(self, name, value)
        for name in ("decay", "macro_scale"):
            v = float(getattr(self, name))
            if not np.isfinite(v):
                raise InputError("must be finite", column=name)
            object.__setattr__(self, name, v)
        object.__setattr__(self, "macro_effect", bool(self.macro_effect))
        if self.decay <= 0:
            raise InputError("the Nelson-Siegel decay must be positive", column="decay")
        if np.max(np.abs(np.linalg.eigvals(np.asarray(self.phi)))) >= 1:
            raise InputError("phi must have all eigenvalues inside the unit circle", column="phi")
        if np.any(np.abs(np.asarray(self.macro_ar)) >= 1):
            raise InputError("every macro AR(1) coefficient must lie in (-1, 1)", column="macro_ar")
        if np.any(np.asarray(self.factor_vol) < 0):
            raise InputError("volatilities must be non-negative", column="factor_vol")
        for name in ("factor_corr", "macro_corr"):
            c = np.asarray(getattr(self, name))
            if not np.allclose(c, c.T) or not np.allclose(np.diag(c), 1.0) or np.linalg.eigvalsh(c).min() < -1e-12:
                raise InputError("must be a symmetric positive semi-definite correlation matrix", column=name)

    @property
    def gamma_effective(self) -> FloatArray:
        """``Gamma`` as used: ``macro_scale * gamma``, or zeros when ``macro_effect`` is False."""
        g = np.asarray(self.gamma, dtype=np.float64)
        return g * self.macro_scale if self.macro_effect else np.zeros_like(g)


def _resolve_params(params: TermStructureParams | Mapping[str, Any] | None) -> TermStructureParams:
    if params is None:
        return TermStructureParams()
    if isinstance(params, TermStructureParams):
        return params
    if isinstance(params, Mapping):
        known = {f.name for f in fields(TermStructureParams)}
        bad = sorted(set(params) - known)
        if bad:
            raise InputError(f"unknown parameter {bad[0]!r}; known: {sorted(known)}", column="params")
        return replace(TermStructureParams(), **dict(params))
    raise InputError(f"params must be TermStructureParams, a mapping or None, got {type(params).__name__}",
                     column="params")


def _chol_psd(c: FloatArray) -> FloatArray:
    """A factor ``L`` with ``L L' = c`` for a PSD matrix (Cholesky; eigen-based when ``c`` is singular)."""
    try:
        return np.asarray(np.linalg.cholesky(c), dtype=np.float64)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(c)
        return np.asarray(v * np.sqrt(np.clip(w, 0.0, None)), dtype=np.float64)


def ns_loadings(months: Sequence[int] | npt.ArrayLike, decay: float = 0.0609) -> FloatArray:
    """Nelson-Siegel loadings ``B(m)`` (len(months), 3) on level, slope, curvature; ``m`` in months."""
    m = np.asarray(months, dtype=np.float64)
    x = decay * m
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(x > 0, -np.expm1(-x) / np.where(x > 0, x, 1.0), 1.0)
    return np.asarray(np.column_stack([np.ones_like(m), slope, slope - np.exp(-x)]), dtype=np.float64)


# ----------------------------------------------------------------------------------------------------------
# the stacked linear system s = (X, M, vec(M M'))
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _System:
    a_mat: FloatArray  # A (k, k)
    q: FloatArray  # Q
    v_m: FloatArray  # stationary Var(M)
    phi: FloatArray
    sigma: FloatArray  # (3, 3) lower
    gamma: FloatArray  # (3, 3) effective
    g1: FloatArray  # (3, k)
    g2: FloatArray  # (3, k^2)
    g0: FloatArray  # (3,)
    f: FloatArray  # (d, d)
    c: FloatArray  # (d,)
    mean: FloatArray  # stationary mean of s
    cov: FloatArray  # stationary covariance of s
    f_h: FloatArray  # F^12
    c_h: FloatArray  # (I + ... + F^11) c
    xbar: FloatArray
    decay: float


def _system(p: TermStructureParams) -> _System:
    k = _K
    ar = np.asarray(p.macro_ar)
    a_mat = np.diag(ar)
    sd = np.sqrt(1.0 - ar**2)
    q = np.asarray(p.macro_corr) * np.outer(sd, sd)
    v_m = q / (1.0 - np.outer(ar, ar))  # unit diagonal
    phi = np.asarray(p.phi, dtype=np.float64)
    sigma = np.asarray(p.factor_vol)[:, None] * _chol_psd(np.asarray(p.factor_corr, dtype=np.float64))
    gamma = p.gamma_effective
    g1 = np.zeros((3, k))
    g2 = np.zeros((3, k * k))
    g1[0, 0] = 1.0  # M_1
    g2[1, 1 * k + 2] = g2[1, 2 * k + 1] = 0.5  # M_2 M_3
    g2[2, 3 * k + 3] = 1.0  # M_4^2
    g0 = -g2 @ v_m.ravel()
    d = 3 + k + k * k
    f = np.zeros((d, d))
    f[:3, :3] = phi
    f[:3, 3:3 + k] = gamma @ g1
    f[:3, 3 + k:] = gamma @ g2
    f[3:3 + k, 3:3 + k] = a_mat
    f[3 + k:, 3 + k:] = np.kron(a_mat, a_mat)
    c = np.concatenate([np.asarray(p.mu) + gamma @ g0, np.zeros(k), q.ravel()])
    mean = np.linalg.solve(np.eye(d) - f, c)
    # E[u u']: block diagonal (Sigma Sigma', Q, fourth-moment block of vec(M M'))
    pm = a_mat @ v_m @ a_mat.T
    ww = (np.einsum("ik,jl->ijkl", q, q) + np.einsum("il,jk->ijkl", q, q)
          + np.einsum("ik,jl->ijkl", q, pm) + np.einsum("il,jk->ijkl", q, pm)
          + np.einsum("jk,il->ijkl", q, pm) + np.einsum("jl,ik->ijkl", q, pm)).reshape(k * k, k * k)
    omega = np.zeros((d, d))
    omega[:3, :3] = sigma @ sigma.T
    omega[3:3 + k, 3:3 + k] = q
    omega[3 + k:, 3 + k:] = ww
    cov = solve_discrete_lyapunov(f, omega)
    cov = 0.5 * (cov + cov.T)
    f_h = np.linalg.matrix_power(f, _HORIZON)
    acc = np.zeros((d, d))
    power = np.eye(d)
    for _ in range(_HORIZON):
        acc += power
        power = power @ f
    return _System(a_mat, q, v_m, phi, sigma, gamma, g1, g2, g0, f, c, mean, cov, f_h, acc @ c,
                   np.asarray(p.mean_factors, dtype=np.float64), p.decay)


def _rx_coefficients(sys_: _System, maturities: Sequence[int]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``rx_{t+12}(n) = const + beta' s_{t+12} + gamma' s_t`` for each ``n`` and their mean (``"EW"``).

    Returns ``const`` (J+1,), ``beta`` (d, J+1), ``gamma`` (d, J+1).
    """
    n = np.asarray(maturities, dtype=np.float64)
    months = (12 * n).astype(int)
    b_buy = ns_loadings(months, sys_.decay)
    b_sell = ns_loadings(months - _HORIZON, sys_.decay)
    b_short = ns_loadings([_HORIZON], sys_.decay)[0]
    d = sys_.f.shape[0]
    beta = np.zeros((d, n.size))
    gam = np.zeros((d, n.size))
    beta[:3] = (-(n - 1.0)[:, None] * b_sell).T
    gam[:3] = (n[:, None] * b_buy - b_short[None, :]).T
    const = (beta[:3].T + gam[:3].T) @ sys_.xbar
    beta = np.column_stack([beta, beta.mean(axis=1)])
    gam = np.column_stack([gam, gam.mean(axis=1)])
    const = np.append(const, const.mean())
    return const, beta, gam


def _stack(x: FloatArray, m: FloatArray) -> FloatArray:
    """(T, d) stacked state from X (T, 3) and M (T, k)."""
    return np.column_stack([x, m, (m[:, :, None] * m[:, None, :]).reshape(m.shape[0], -1)])


def _columns(maturities: Sequence[int]) -> pd.Index:
    return pd.Index([int(n) for n in maturities] + ["EW"], dtype=object, name="n")


def expected_excess_returns(
    factors: FloatArray | pd.DataFrame,
    macro_factors: FloatArray | pd.DataFrame,
    params: TermStructureParams | Mapping[str, Any] | None = None,
    maturities_years: Sequence[int] = MATURITIES,
) -> pd.DataFrame:
    """Exact ``E_t rx_{t+12}(n)`` (decimals) from the states ``X_t`` (T, 3) and ``M_t`` (T, 4).

    ``X_t`` is the deviation from the mean curve, as in :attr:`SimulatedTermStructure.states`. Returns a
    DataFrame (indexed like ``factors`` when it is a DataFrame) with one column per ``n`` (int labels, whole
    years from 2 to 10) and ``"EW"``, the labels of :func:`bondpremia.fixed_income.curves.excess_returns`.
    """
    p = _resolve_params(params)
    mats = [int(n) for n in maturities_years]
    if not mats or any(n < 2 or n > _MAX_MONTHS // 12 for n in mats):
        raise InputError("maturities must be whole years from 2 to 10", column="maturities_years")
    index = factors.index if isinstance(factors, pd.DataFrame) else None
    x = np.atleast_2d(np.asarray(factors, dtype=np.float64))
    m = np.atleast_2d(np.asarray(macro_factors, dtype=np.float64))
    if x.shape[1] != 3 or m.shape[1] != _K or x.shape[0] != m.shape[0]:
        raise InputError(f"expected factors (T, 3) and macro factors (T, {_K}); got {x.shape} and {m.shape}",
                         column="factors")
    sys_ = _system(p)
    const, beta, gam = _rx_coefficients(sys_, mats)
    s = _stack(x, m)
    values = const + (s @ sys_.f_h.T + sys_.c_h) @ beta + s @ gam
    return pd.DataFrame(values, index=index, columns=_columns(mats))


def population_r2(
    params: TermStructureParams | Mapping[str, Any] | None = None,
    maturities_years: Sequence[int] = MATURITIES,
) -> pd.DataFrame:
    """Population R-squared of 12-month excess-return forecasts, in closed form (stationary moments).

    Rows:

    * ``"total"``: the true conditional mean, ``Var(E_t rx) / Var(rx) = 1 - E[(rx - E_t rx)^2] / Var(rx)``;
    * ``"forwards"``: the best linear forecast from the forward rates at ``t`` (equivalently from ``X_t``);
    * ``"forwards_macro_linear"``: the best linear forecast from the forwards and the macro factors ``M_t``.

    Columns: the maturities (int labels) and ``"EW"``. ``"total" - "forwards_macro_linear"`` is what only a
    non-linear model can gain. Exact up to floating point (a Lyapunov equation; see the module docstring).
    """
    p = _resolve_params(params)
    mats = [int(n) for n in maturities_years]
    sys_ = _system(p)
    _, beta, gam = _rx_coefficients(sys_, mats)
    s = sys_.cov
    kappa = sys_.f_h.T @ beta + gam
    var_rx = (np.einsum("dj,de,ej->j", beta, s, beta) + np.einsum("dj,de,ej->j", gam, s, gam)
              + 2.0 * np.einsum("dj,de,ej->j", beta, sys_.f_h @ s, gam))
    rows = {"total": np.einsum("dj,de,ej->j", kappa, s, kappa) / var_rx}
    for name, idx in (("forwards", np.arange(3)), ("forwards_macro_linear", np.arange(3 + _K))):
        cov_z = s[np.ix_(idx, idx)]
        cross = s[idx] @ kappa  # (|idx|, J): Cov(z_t, rx) = Cov(z_t, E_t rx)
        rows[name] = np.einsum("ij,ik,kj->j", cross, np.linalg.pinv(cov_z), cross) / var_rx
    return pd.DataFrame(rows, index=_columns(mats)).T


# ----------------------------------------------------------------------------------------------------------
# simulation
# ----------------------------------------------------------------------------------------------------------
def _var1_path(f: FloatArray, shocks: FloatArray, s0: FloatArray) -> FloatArray:
    """Path ``s_0, ..., s_{T-1}`` of ``s_{t+1} = F s_t + shocks_t`` (``shocks`` is (T-1, d)).

    Runs one :func:`scipy.signal.lfilter` per eigen-component of ``F`` (real when ``F`` is diagonal); a
    defective or badly conditioned ``F`` falls back to a loop over months.
    """
    t_rows = shocks.shape[0] + 1
    d = f.shape[0]
    out = np.empty((t_rows, d))
    out[0] = s0
    if t_rows == 1:
        return out
    if np.count_nonzero(f - np.diag(np.diag(f))) == 0:
        for j in range(d):
            out[1:, j] = lfilter([1.0], [1.0, -f[j, j]], shocks[:, j], zi=[f[j, j] * s0[j]])[0]
        return out
    w, vec = np.linalg.eig(f)
    if np.linalg.cond(vec) < 1e6:
        inv = np.linalg.inv(vec)
        z0, u = inv @ s0, shocks @ inv.T
        z = np.empty(u.shape, dtype=np.complex128)
        for j in range(d):
            z[:, j] = lfilter([1.0], [1.0, -w[j]], u[:, j], zi=[w[j] * z0[j]])[0]
        out[1:] = (z @ vec.T).real
        return out
    for t in range(t_rows - 1):
        out[t + 1] = f @ out[t] + shocks[t]
    return out


def _group_sizes(n_series: int) -> npt.NDArray[np.int64]:
    """Split ``n_series`` into 8 groups by largest remainder, at least one series each."""
    share = _GROUP_WEIGHTS / _GROUP_WEIGHTS.sum() * (n_series - 8)
    base = np.floor(share).astype(np.int64)
    rest = (n_series - 8) - base.sum()
    base[np.argsort(-(share - base), kind="stable")[:rest]] += 1
    return base + 1


@dataclass(frozen=True)
class SimulatedTermStructure:
    """A simulated zero curve, macro panel and the truth that generated them.

    Attributes
    ----------
    yields:
        Month-end dates (``DatetimeIndex`` named ``date``) x maturities in months (int labels 1..120),
        continuously compounded zero yields in decimals.
    macro:
        Same index; one column per macro series (``G{group}_S{j}``), stationary, already transformed.
    groups:
        Series name -> FRED-MD group id (1..8).
    tcodes:
        Series name -> transformation code (all 1: no transformation needed).
    expected_excess:
        The exact ``E_t rx_{t+12}(n)`` at the purchase date ``t`` (decimals); columns like
        ``excess_returns(yields)`` (int maturities in years and ``"EW"``). No NaN: the expectation exists in
        the last 12 months too, where the realization does not.
    population_r2:
        Population R-squared of ``expected_excess`` (closed form, :func:`population_r2` row ``"total"``),
        indexed like the columns of ``expected_excess``.
    params, seed:
        What generated the sample.
    states:
        The true states: ``level, slope, curvature`` (``X_t``, deviations from the mean curve) and
        ``macro1..macro4`` (``M_t``).
    loadings:
        Series x (``macro1..macro4``, ``level, slope, curvature``): the loadings of each series on the
        standardized states (before the series' scale ``s_i``); zero rows are pure-noise series.
    population_r2_table:
        The full :func:`population_r2` table (total, forwards, forwards plus macro factors, linearly).
    """

    yields: pd.DataFrame
    macro: pd.DataFrame
    groups: pd.Series
    tcodes: pd.Series
    expected_excess: pd.DataFrame
    population_r2: pd.Series
    params: TermStructureParams
    seed: int
    states: pd.DataFrame = field(repr=False)
    loadings: pd.DataFrame = field(repr=False)
    population_r2_table: pd.DataFrame = field(repr=False)


def simulate_term_structure(
    n_months: int = 600,
    start: str | pd.Timestamp = "1971-08",
    n_series: int = 100,
    seed: int = 0,
    params: TermStructureParams | Mapping[str, Any] | None = None,
    burn_in: int = 240,
) -> SimulatedTermStructure:
    """Simulate ``n_months`` months of zero yields (1..120 months), a macro panel and the exact expected
    excess returns (see the module docstring for the model).

    Parameters
    ----------
    n_months:
        Length of the returned sample (>= 1).
    start:
        First month (anything :class:`pandas.Period` accepts, e.g. ``"1971-08"``); dates are month ends.
    n_series:
        Number of macro series (>= 8: at least one per group).
    seed:
        Seed of ``np.random.default_rng``; the output is a deterministic function of all arguments.
    params:
        :class:`TermStructureParams`, or a mapping of fields to override in the defaults.
    burn_in:
        Months simulated and dropped before the sample (the states start from their stationary mean and
        covariance, so this only removes the non-Gaussian part of the start).
    """
    p = _resolve_params(params)
    n_months, n_series, burn_in = int(n_months), int(n_series), int(burn_in)
    if n_months < 1:
        raise InputError("n_months must be at least 1", column="n_months")
    if n_series < 8:
        raise InputError("n_series must be at least 8 (one series per group)", column="n_series")
    if burn_in < 0:
        raise InputError("burn_in must be non-negative", column="burn_in")
    try:
        first = pd.Period(start, freq="M")
    except (TypeError, ValueError) as exc:
        raise InputError(f"start {start!r} is not a month: {exc}", column="start") from exc
    sys_ = _system(p)
    rng_state, rng_panel = np.random.default_rng(seed).spawn(2)
    k = _K
    t_all = burn_in + n_months

    # macro state M: stationary start, AR(1) recursion
    l_q = _chol_psd(sys_.q)
    m0 = _chol_psd(sys_.v_m) @ rng_state.standard_normal(k)
    eta = rng_state.standard_normal((t_all - 1, k)) @ l_q.T
    m = _var1_path(sys_.a_mat, eta, m0)
    # yield-curve state X: X_{t+1} = mu + Phi X_t + Gamma g(M_t) + Sigma eps_{t+1}
    g = m @ sys_.g1.T + (m[:, :, None] * m[:, None, :]).reshape(t_all, -1) @ sys_.g2.T + sys_.g0
    eps = rng_state.standard_normal((t_all - 1, 3)) @ sys_.sigma.T
    x_mean = sys_.mean[:3]
    x0 = x_mean + _chol_psd(sys_.cov[:3, :3]) @ rng_state.standard_normal(3)
    drift = np.asarray(p.mu) + g[:-1] @ sys_.gamma.T + eps
    # demeaned recursion keeps the filter's start exact: (X - xm)_{t+1} = Phi (X - xm)_t + (drift - (I-Phi) xm)
    x = _var1_path(sys_.phi, drift - (np.eye(3) - sys_.phi) @ x_mean, x0 - x_mean) + x_mean
    x, m = x[burn_in:], m[burn_in:]

    dates = pd.period_range(first, periods=n_months, freq="M").to_timestamp(how="end").normalize()
    index = pd.DatetimeIndex(dates, name="date")
    months = np.arange(1, _MAX_MONTHS + 1)
    loads = ns_loadings(months, p.decay)
    y = loads @ sys_.xbar + x @ loads.T
    yields = pd.DataFrame(y, index=index, columns=pd.Index(months, name="maturity_months"))
    states = pd.DataFrame(np.column_stack([x, m]), index=index.copy(), columns=list(FACTOR_NAMES + MACRO_NAMES))
    expected = expected_excess_returns(x, m, p)
    expected.index = index.copy()

    # macro panel
    sizes = _group_sizes(n_series)
    group_of = np.repeat(np.arange(1, 9), sizes)
    names = [f"G{gid}_S{j + 1:02d}" for gid, size in zip(range(1, 9), sizes, strict=True) for j in range(size)]
    n_f = k + 3
    profile = _GROUP_PROFILE[group_of - 1]
    lam = profile * rng_panel.uniform(0.5, 1.5, (n_series, n_f)) * rng_panel.choice([-1.0, 1.0], (n_series, n_f))
    lam += 0.1 * rng_panel.standard_normal((n_series, n_f)) * (profile > 0)
    n_noise = max(2, round(0.05 * n_series))
    noise_rows = rng_panel.choice(n_series, n_noise, replace=False)
    lam[noise_rows] = 0.0
    x_sd = np.sqrt(np.diag(sys_.cov)[:3])
    f_std = np.column_stack([m, (x - x_mean) / x_sd])
    cov_f = np.zeros((n_f, n_f))
    cov_f[:k, :k] = sys_.cov[3:3 + k, 3:3 + k]
    cov_f[k:, k:] = sys_.cov[:3, :3] / np.outer(x_sd, x_sd)
    cov_f[:k, k:] = sys_.cov[3:3 + k, :3] / x_sd
    cov_f[k:, :k] = cov_f[:k, k:].T
    var_common = np.einsum("if,fg,ig->i", lam, cov_f, lam)
    share = rng_panel.uniform(0.3, 0.9, n_series)
    idio_sd = np.where(var_common > 0, np.sqrt(var_common * (1.0 - share) / share), 1.0)
    rho = rng_panel.uniform(0.0, 0.5, n_series)
    z = rng_panel.standard_normal((n_months, n_series))
    e = np.empty_like(z)
    for i in range(n_series):  # stationary AR(1) with unit variance, then scaled
        e[:, i] = lfilter([np.sqrt(1.0 - rho[i] ** 2)], [1.0, -rho[i]], z[:, i],
                          zi=[rho[i] * rng_panel.standard_normal()])[0]
    scale = 10.0 ** rng_panel.uniform(-2.0, 0.0, n_series)
    center = scale * rng_panel.normal(0.0, 0.5, n_series)
    panel = center + scale * (f_std @ lam.T + idio_sd * e)
    macro = pd.DataFrame(panel, index=index.copy(), columns=pd.Index(names, name="series"))
    groups = pd.Series(group_of, index=pd.Index(names, name="series"), name="group", dtype="int64")
    tcodes = pd.Series(1, index=pd.Index(names, name="series"), name="tcode", dtype="int64")
    loadings = pd.DataFrame(lam, index=pd.Index(names, name="series"), columns=list(MACRO_NAMES + FACTOR_NAMES))

    table = population_r2(p)
    r2 = pd.Series(table.loc["total"].to_numpy(dtype=np.float64), index=table.columns.copy(), name="population_r2")
    return SimulatedTermStructure(yields=yields, macro=macro, groups=groups, tcodes=tcodes,
                                  expected_excess=expected, population_r2=r2, params=p, seed=int(seed),
                                  states=states, loadings=loadings, population_r2_table=table)
