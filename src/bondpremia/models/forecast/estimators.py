"""The forecasting models of Bianchi, Buechner and Tamoni (2021), with the scikit-learn estimator API.

Every estimator takes ``X`` of shape ``(n, p)`` whose first ``n_fwd`` columns are the forward rates and the
rest macro series, in time order, and a target matrix ``y`` of shape ``(n, m)`` (one column per maturity);
``predict`` returns ``(n, m)``. Models with hyper-parameters choose them on a **validation block made of the
last 15% of the training rows in time order** (BBT 2021, Section 2.2) when ``retune=True`` and keep the
chosen values on later fits with ``retune=False``, so the recursive engine can re-tune less often than it
refits. Names used on the command line are resolved by :func:`make_model`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.cross_decomposition import PLSRegression
from sklearn.ensemble import ExtraTreesRegressor, GradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import enet_path
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from bondpremia.errors import InputError
from bondpremia.model_names import MODEL_HELP

__all__ = [
    "MODEL_HELP",
    "CochranePiazzesi",
    "ForecastEstimator",
    "GradientBoostedTrees",
    "HistoricalMean",
    "LudvigsonNg",
    "ModelSpec",
    "OLS",
    "PCR",
    "PLS",
    "PenalizedLinear",
    "ValidatedTrees",
    "make_model",
    "validation_split",
]

FloatArray = np.ndarray


def validation_split(n: int, val_fraction: float = 0.15, *, keras: bool = False) -> int:
    """Number of training rows before the validation block: ``round((1 - val_fraction) n)`` as in BBT's code
    (``N_train = round(0.85 n)``), or with ``keras=True`` ``int((1 - val_fraction) n)`` as Keras'
    ``validation_split`` (BBT's networks); the validation block is the rest, in time order. Fewer than two
    training rows or no validation row is an :class:`InputError` that names ``n_samples``."""
    share = n * (1.0 - val_fraction)
    n_train = int(share) if keras else int(np.round(share))
    if n_train < 2 or n - n_train < 1:
        raise InputError(f"n_samples = {n} training rows are too few to hold out a validation block",
                         column="val_fraction")
    return n_train


def _2d(y: Any) -> FloatArray:
    arr = np.asarray(y, dtype=float)
    return arr[:, None] if arr.ndim == 1 else arr


def _standardize(X: FloatArray) -> tuple[FloatArray, FloatArray]:
    mu = X.mean(axis=0)
    sd = X.std(axis=0)
    sd[sd == 0] = 1.0
    return mu, sd


def _ols(X: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """OLS with intercept for every column of ``y``: returns (intercept (m,), slopes (p, m))."""
    Z = np.column_stack([np.ones(len(X)), X])
    beta = np.linalg.lstsq(Z, y, rcond=None)[0]
    return beta[0], beta[1:]


def _passes(X: Any) -> bool:
    try:
        check_array(X, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return True


def _refusal(err: ValueError, X: Any, y: Any = None, fit: bool = False) -> InputError:
    """scikit-learn's refusal ``err`` of the input as an :class:`InputError` with scikit-learn's message that says
    where: the argument (``y`` when, in ``fit``, ``X`` alone passes scikit-learn's checks) and, for a value that is
    not finite, the row of the first one (and its column, for a 2-D array)."""
    name, data = ("y", y) if fit and _passes(X) else ("X", X)
    head, sep, tail = str(err).partition("\n")
    row = None
    if head.startswith(f"Input {name} contains"):
        try:
            bad = np.argwhere(~np.isfinite(np.asarray(data, dtype=np.float64)))
        except (TypeError, ValueError):
            bad = np.empty((0, 0), dtype=int)
        if len(bad) and bad.shape[1] in (1, 2):
            row = int(bad[0, 0])
            if bad.shape[1] == 2:
                head += f" The first is in column {int(bad[0, 1])}."
    return InputError(head + sep + tail, column=name, row=row)


class _Base(RegressorMixin, BaseEstimator):
    """The scikit-learn estimator contract of the forecast models: ``fit`` validates ``X`` and ``y`` with
    scikit-learn's ``validate_data`` (finite, numeric, dense, 2-D ``X``; sets ``n_features_in_``), ``predict``
    refuses an unfitted model (``NotFittedError``) and an ``X`` with another number of columns. The models are
    multi-output: ``y`` is ``(n,)`` or ``(n, m)``. Errors are :class:`InputError` (a ``ValueError``) with
    scikit-learn's message, naming ``X`` or ``y`` and the row of the first value that is not finite (a
    ``TypeError`` for values that are not numbers and for sparse input, as in scikit-learn).
    ``tests/models/forecast/test_estimators.py`` runs ``check_estimator`` on every model."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _check(self, X: Any) -> FloatArray:
        check_is_fitted(self)
        try:
            return np.asarray(validate_data(self, X, reset=False, dtype=np.float64))
        except ValueError as err:
            raise _refusal(err, X) from None

    def _check_xy(self, X: Any, y: Any) -> tuple[FloatArray, FloatArray]:
        try:
            X_, Y = validate_data(self, X, y, dtype=np.float64, multi_output=True, y_numeric=True)
        except ValueError as err:
            raise _refusal(err, X, y, fit=True) from None
        return np.asarray(X_), _2d(Y)

    def _out(self, pred: FloatArray) -> FloatArray:
        """``pred`` with its last axis (the targets) dropped when ``y`` was 1-D."""
        return pred[..., 0] if getattr(self, "_1d", False) else pred

    def _remember_shape(self, y: Any) -> None:
        self._1d = np.asarray(y).ndim == 1


class HistoricalMean(_Base):
    """The historical mean of each target over the training rows: the benchmark of the out-of-sample R²
    (Campbell and Thompson 2008); its R²oos is 0 by construction."""

    def __init__(self, n_fwd: int = 0) -> None:
        self.n_fwd = n_fwd

    def fit(self, X: Any, y: Any) -> HistoricalMean:
        _, Y = self._check_xy(X, y)
        self._remember_shape(y)
        self.mean_ = Y.mean(axis=0)
        return self

    def predict(self, X: Any) -> FloatArray:
        X = self._check(X)
        return self._out(np.tile(self.mean_, (len(X), 1)))


class OLS(_Base):
    """Least squares on every predictor with an intercept, one regression per maturity (the unrestricted
    forward-rate regression of Cochrane and Piazzesi 2005, eq. (1), with all given forwards)."""

    def __init__(self, n_fwd: int = 0) -> None:
        self.n_fwd = n_fwd

    def fit(self, X: Any, y: Any) -> OLS:
        X, Y = self._check_xy(X, y)
        self._remember_shape(y)
        self.intercept_, self.coef_ = _ols(X, Y)
        return self

    def predict(self, X: Any) -> FloatArray:
        X = self._check(X)
        return self._out(self.intercept_ + X @ self.coef_)


class PCR(_Base):
    """Principal-component regression: standardize the predictors (training moments), take the first ``k``
    principal components, regress each target on them (BBT 2021, Section 2.1); with ``squared=True`` the
    squared components are added as regressors (BBT's "PCA-squared")."""

    def __init__(self, n_fwd: int = 0, n_components: int = 3, squared: bool = False) -> None:
        self.n_fwd = n_fwd
        self.n_components = n_components
        self.squared = squared

    def _features(self, X: FloatArray) -> FloatArray:
        Z = ((X - self.mu_) / self.sd_) @ self.loadings_
        return np.column_stack([Z, Z**2]) if self.squared else Z

    def fit(self, X: Any, y: Any) -> PCR:
        X, Y = self._check_xy(X, y)
        self._remember_shape(y)
        k = int(self.n_components)
        if not 1 <= k <= X.shape[1]:
            raise InputError(f"n_components must be 1..{X.shape[1]}, got {k}", column="n_components")
        self.mu_, self.sd_ = _standardize(X)
        _, _, vt = np.linalg.svd((X - self.mu_) / self.sd_, full_matrices=False)
        self.loadings_ = vt[:k].T
        self.intercept_, self.coef_ = _ols(self._features(X), Y)
        return self

    def predict(self, X: Any) -> FloatArray:
        X = self._check(X)
        return self._out(self.intercept_ + self._features(X) @ self.coef_)


class PLS(_Base):
    """Partial least squares with ``k`` components, one PLS1 regression per maturity on standardized
    predictors (Wold 1966; BBT 2021, Section 2.1)."""

    def __init__(self, n_fwd: int = 0, n_components: int = 3) -> None:
        self.n_fwd = n_fwd
        self.n_components = n_components

    def fit(self, X: Any, y: Any) -> PLS:
        X, Y = self._check_xy(X, y)
        self._remember_shape(y)
        k = min(int(self.n_components), X.shape[1])
        self.models_ = [PLSRegression(n_components=k, scale=True).fit(X, Y[:, j]) for j in range(Y.shape[1])]
        return self

    def predict(self, X: Any) -> FloatArray:
        X = self._check(X)
        return self._out(np.column_stack([m.predict(X).reshape(-1) for m in self.models_]))


class PenalizedLinear(_Base):
    """Ridge, lasso or elastic net on standardized predictors, penalty chosen on the validation block.

    Minimizes ``(1/2n)||y - a - Xb||² + alpha (l1_ratio ||b||_1 + (1 - l1_ratio)/2 ||b||²)`` per maturity
    (scikit-learn's parametrization; ``l1_ratio = 0`` is ridge, solved in closed form through the SVD for the
    whole penalty grid at once; ``l1_ratio = 1`` is the lasso). The penalty grid is ``n_alphas`` values
    log-spaced over four decades below the smallest penalty that sets every slope to zero (for ridge, over
    ``[1e-4, 1e4]`` times the sum of squared singular values / n, i.e. the trace of ``X'X/n``).
    Each maturity gets its own (alpha, l1_ratio).
    """

    def __init__(self, n_fwd: int = 0, l1_ratios: Sequence[float] = (0.5,), n_alphas: int = 40,
                 val_fraction: float = 0.15, retune: bool = True) -> None:
        self.n_fwd = n_fwd
        self.l1_ratios = l1_ratios
        self.n_alphas = n_alphas
        self.val_fraction = val_fraction
        self.retune = retune

    def _grid(self, Xs: FloatArray, yc: FloatArray, l1: float) -> FloatArray:
        n = len(Xs)
        if l1 == 0:
            scale = float(np.mean(Xs**2)) * Xs.shape[1]
            return scale * np.logspace(-4, 4, self.n_alphas)
        amax = np.abs(Xs.T @ yc).max() / (n * l1)
        return max(amax, 1e-12) * np.logspace(0, -4, self.n_alphas)

    @staticmethod
    def _solve(Xs: FloatArray, yc: FloatArray, alphas: FloatArray, l1: float) -> FloatArray:
        """Slopes (p, len(alphas)) for centered ``Xs``, ``yc``."""
        n = len(Xs)
        if l1 == 0:
            u, s, vt = np.linalg.svd(Xs, full_matrices=False)
            # ridge in scikit-learn's elastic-net scaling: (X'X/n + alpha I) b = X'y/n
            d = s[:, None] / (s[:, None] ** 2 + n * alphas[None, :])
            return vt.T @ (d * (u.T @ yc)[:, None])
        _, coefs, _ = enet_path(Xs, yc, l1_ratio=l1, alphas=alphas, max_iter=5000, tol=1e-6)
        return coefs

    def _center(self, X: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, float, FloatArray]:
        mu, sd = _standardize(X)
        Xs = (X - mu) / sd
        ym = float(y.mean())
        return Xs - Xs.mean(axis=0), y - ym, mu, ym, sd

    def fit(self, X: Any, y: Any) -> PenalizedLinear:
        X, Y = self._check_xy(X, y)
        self._remember_shape(y)
        m = Y.shape[1]
        if self.retune or not hasattr(self, "best_"):
            n_train = validation_split(len(X), self.val_fraction)
            best: list[tuple[float, float]] = []
            for j in range(m):
                Xs, yc, mu, ym, sd = self._center(X[:n_train], Y[:n_train, j])
                xmean = ((X[:n_train] - mu) / sd).mean(axis=0)
                Xv = (X[n_train:] - mu) / sd - xmean
                score, pick = np.inf, (0.0, float(self.l1_ratios[0]))
                for l1 in self.l1_ratios:
                    alphas = self._grid(Xs, yc, float(l1))
                    coefs = self._solve(Xs, yc, alphas, float(l1))
                    mse = ((Y[n_train:, j, None] - ym - Xv @ coefs) ** 2).mean(axis=0)
                    k = int(np.argmin(mse))
                    if mse[k] < score:
                        score, pick = float(mse[k]), (float(alphas[k]), float(l1))
                best.append(pick)
            self.best_ = best
        self.intercept_ = np.empty(m)
        self.coef_ = np.empty((X.shape[1], m))
        self.mu_, self.sd_ = _standardize(X)
        Xs_all = (X - self.mu_) / self.sd_
        xbar = Xs_all.mean(axis=0)
        for j, (alpha, l1) in enumerate(self.best_):
            yj = Y[:, j]
            b = self._solve(Xs_all - xbar, yj - yj.mean(), np.array([alpha]), l1)[:, 0]
            self.coef_[:, j] = b
            self.intercept_[j] = yj.mean() - xbar @ b
        return self

    def predict(self, X: Any) -> FloatArray:
        X = self._check(X)
        return self._out(self.intercept_ + ((X - self.mu_) / self.sd_) @ self.coef_)


class CochranePiazzesi(_Base):
    """The Cochrane and Piazzesi (2005) single return-forecasting factor, eq. (2)-(3): regress the average
    excess return across maturities on a constant and the forwards ``f(1..n_cp)`` (the first ``n_cp`` forward
    columns), form ``CP_t = gamma' [1, f_t]``, then regress each maturity's return on ``CP_t``."""

    def __init__(self, n_fwd: int = 0, n_cp: int = 5) -> None:
        self.n_fwd = n_fwd
        self.n_cp = n_cp

    def _cp(self, X: FloatArray) -> FloatArray:
        return self.gamma0_ + X[:, : self.k_] @ self.gamma_

    def fit(self, X: Any, y: Any) -> CochranePiazzesi:
        X, Y = self._check_xy(X, y)
        self._remember_shape(y)
        self.k_ = min(int(self.n_cp), int(self.n_fwd) or X.shape[1])
        g0, g = _ols(X[:, : self.k_], Y.mean(axis=1))
        self.gamma0_, self.gamma_ = float(g0), g
        self.intercept_, self.coef_ = _ols(self._cp(X)[:, None], Y)
        return self

    def predict(self, X: Any) -> FloatArray:
        X = self._check(X)
        return self._out(self.intercept_ + self._cp(X)[:, None] @ self.coef_)


class LudvigsonNg(_Base):
    """Ludvigson and Ng (2009), Section III: principal components ``F_1..F_k`` of the standardized macro panel
    (columns after ``n_fwd``), candidate regressors ``F_1..F_k, F_1^2, F_1^3``; the subset that minimizes the
    BIC of the regression of the average excess return on it is chosen (exhaustive search, re-chosen at
    every re-tune), and each maturity is regressed on the Cochrane-Piazzesi factor and the chosen factors."""

    def __init__(self, n_fwd: int = 10, n_factors: int = 8, n_cp: int = 5, retune: bool = True) -> None:
        self.n_fwd = n_fwd
        self.n_factors = n_factors
        self.n_cp = n_cp
        self.retune = retune

    def _candidates(self, X: FloatArray) -> FloatArray:
        F = ((X[:, self.n_fwd:] - self.mu_) / self.sd_) @ self.loadings_
        return np.column_stack([F, F[:, :1] ** 2, F[:, :1] ** 3])

    def _design(self, X: FloatArray) -> FloatArray:
        cp = self.cp_._cp(X)[:, None]
        return np.column_stack([cp, self._candidates(X)[:, list(self.chosen_)]])

    def fit(self, X: Any, y: Any) -> LudvigsonNg:
        X, Y = self._check_xy(X, y)
        self._remember_shape(y)
        if X.shape[1] <= self.n_fwd:
            raise InputError(f"the Ludvigson-Ng model needs macro columns after the {self.n_fwd} forwards "
                             f"(n_features = {X.shape[1]})", column="macro")
        macro = X[:, self.n_fwd:]
        k = min(int(self.n_factors), macro.shape[1])
        self.mu_, self.sd_ = _standardize(macro)
        _, _, vt = np.linalg.svd((macro - self.mu_) / self.sd_, full_matrices=False)
        self.loadings_ = vt[:k].T
        self.cp_ = CochranePiazzesi(n_fwd=self.n_fwd, n_cp=self.n_cp).fit(X, Y)
        if self.retune or not hasattr(self, "chosen_"):
            C = self._candidates(X)
            ybar = Y.mean(axis=1)
            n = len(X)
            best = np.inf
            pick: tuple[int, ...] = ()
            for size in range(1, C.shape[1] + 1):
                for subset in itertools.combinations(range(C.shape[1]), size):
                    a, b = _ols(C[:, subset], ybar)
                    ssr = float(((ybar - a - C[:, subset] @ b) ** 2).sum())
                    bic = n * np.log(ssr / n) + (size + 1) * np.log(n)
                    if bic < best:
                        best, pick = bic, subset
            self.chosen_ = pick
        self.intercept_, self.coef_ = _ols(self._design(X), Y)
        return self

    def predict(self, X: Any) -> FloatArray:
        X = self._check(X)
        return self._out(self.intercept_ + self._design(X) @ self.coef_)


class ValidatedTrees(_Base):
    """A regression tree, random forest (Breiman 2001) or extremely randomized trees (Geurts, Ernst and
    Wehenkel 2006), multi-output, with ``max_depth`` and ``max_features`` chosen on the validation block
    (BBT 2021, Section 2.3)."""

    def __init__(self, n_fwd: int = 0, kind: str = "rf", n_estimators: int = 300, val_fraction: float = 0.15,
                 retune: bool = True, random_state: int = 0, n_jobs: int | None = None) -> None:
        self.n_fwd = n_fwd
        self.kind = kind
        self.n_estimators = n_estimators
        self.val_fraction = val_fraction
        self.retune = retune
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _grid(self) -> list[dict[str, Any]]:
        if self.kind == "tree":
            return [{"max_depth": d, "min_samples_leaf": leaf} for d in (2, 3, 4, 6) for leaf in (5, 20)]
        return [{"max_depth": d, "max_features": f} for d in (3, 5, None) for f in (1 / 3, 1.0)]

    def _make(self, params: dict[str, Any]) -> Any:
        if self.kind == "tree":
            return DecisionTreeRegressor(random_state=self.random_state, **params)
        cls = {"rf": RandomForestRegressor, "et": ExtraTreesRegressor}.get(self.kind)
        if cls is None:
            raise InputError(f"unknown tree kind {self.kind!r}; use tree, rf or et", column="kind")
        return cls(n_estimators=self.n_estimators, random_state=self.random_state, n_jobs=self.n_jobs, **params)

    def fit(self, X: Any, y: Any) -> ValidatedTrees:
        X, Y = self._check_xy(X, y)
        self._remember_shape(y)
        if self.retune or not hasattr(self, "best_params_"):
            n_train = validation_split(len(X), self.val_fraction)
            fit_y = Y[:n_train, 0] if Y.shape[1] == 1 else Y[:n_train]
            scores = [((self._make(p).fit(X[:n_train], fit_y).predict(X[n_train:]).reshape(-1, Y.shape[1])
                        - Y[n_train:]) ** 2).mean() for p in self._grid()]
            self.best_params_ = self._grid()[int(np.argmin(scores))]
        self.model_ = self._make(self.best_params_).fit(X, Y[:, 0] if Y.shape[1] == 1 else Y)
        return self

    def predict(self, X: Any) -> FloatArray:
        X = self._check(X)
        return self._out(self.model_.predict(X).reshape(len(X), -1))


class GradientBoostedTrees(_Base):
    """Gradient-boosted regression trees (Friedman 2001), one booster per maturity, with the tree depth and the
    number of boosting rounds chosen on the validation block (rounds by the staged validation error)."""

    def __init__(self, n_fwd: int = 0, max_rounds: int = 300, learning_rate: float = 0.05,
                 depths: Sequence[int] = (1, 2, 3), val_fraction: float = 0.15, retune: bool = True,
                 random_state: int = 0) -> None:
        self.n_fwd = n_fwd
        self.max_rounds = max_rounds
        self.learning_rate = learning_rate
        self.depths = depths
        self.val_fraction = val_fraction
        self.retune = retune
        self.random_state = random_state

    def _make(self, depth: int, rounds: int) -> GradientBoostingRegressor:
        return GradientBoostingRegressor(n_estimators=rounds, max_depth=depth, learning_rate=self.learning_rate,
                                         subsample=1.0, random_state=self.random_state)

    def fit(self, X: Any, y: Any) -> GradientBoostedTrees:
        X, Y = self._check_xy(X, y)
        self._remember_shape(y)
        m = Y.shape[1]
        if self.retune or not hasattr(self, "best_params_"):
            n_train = validation_split(len(X), self.val_fraction)
            best = []
            for j in range(m):
                score, pick = np.inf, (1, 1)
                for depth in self.depths:
                    gb = self._make(depth, self.max_rounds).fit(X[:n_train], Y[:n_train, j])
                    errs = np.array([((Y[n_train:, j] - p) ** 2).mean() for p in gb.staged_predict(X[n_train:])])
                    k = int(np.argmin(errs))
                    if errs[k] < score:
                        score, pick = float(errs[k]), (int(depth), k + 1)
                best.append(pick)
            self.best_params_ = best
        self.models_ = [self._make(d, r).fit(X, Y[:, j]) for j, (d, r) in enumerate(self.best_params_)]
        return self

    def predict(self, X: Any) -> FloatArray:
        X = self._check(X)
        return self._out(np.column_stack([m.predict(X) for m in self.models_]))


# ----------------------------------------------------------------------------------------------------------
# names
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelSpec:
    """A resolved model name: the estimator (a :class:`ForecastEstimator`) and whether it reads the macro columns
    and is seeded."""

    name: str
    estimator: ForecastEstimator
    uses_macro: bool
    seeded: bool


@runtime_checkable
class ForecastEstimator(Protocol):
    """What :func:`bondpremia.models.forecast.recursive_forecast` needs of a model: a scikit-learn regressor
    (``get_params``/``set_params``, ``fit(X, y)`` with ``y`` of shape ``(n, m)``, ``predict(X)`` of shape
    ``(n, m)``). Every model of this module and :class:`~bondpremia.models.forecast.nn.SeedEnsembleNet` follows it,
    and so does any scikit-learn multi-output regressor.

    Re-tuning and warm starts are driven through parameters; the engine sets each one only when the estimator
    has it (``get_params``), before every fit:

    - ``retune`` (bool): ``True`` at a re-tuning date (choose the hyper-parameters again on the validation block);
      ``False`` between them (refit with the hyper-parameters of the last re-tuning). A model without it chooses
      at every fit (or has nothing to choose).
    - ``warm_start`` (bool, always ``True``): a refit starts from the state of the last re-tuning fit (the networks'
      weights; ``NNGridSearchWrapper``'s refit in the authors' code), so that the cache can replay a run exactly.
    - ``seed`` and ``random_state`` (int): the seed of the fit (the same at every date unless ``seed_per_date``).

    Optional: ``input_gradients(X) -> (n, m, p)`` gives the gradient importance of networks (BBT 2021, Section
    4.3); :class:`ValidatedTrees` and :class:`GradientBoostedTrees` get permutation importance instead.
    """

    def get_params(self, deep: bool = True) -> dict[str, Any]: ...

    def set_params(self, **params: Any) -> Any: ...

    def fit(self, X: Any, y: Any) -> Any: ...

    def predict(self, X: Any) -> Any: ...


def _unknown(name: str) -> str:
    known = "hm, ols, cp, ln, pcr<k>, pcrsq<k>, pls<k>, ridge, lasso, enet, tree, rf, et, gbrt (+ _macro), " \
            "nn<L>_<widths>, nn_macro<L>[_fwd|_fwdnet], nn_group<L>[_fwd|_fwdnet]"
    return f"unknown model {name!r}; known: {known} (see MODEL_HELP or `bondpremia treasury forecast --help`)"


_MACRO_WIDTHS = {1: (32,), 2: (32, 16), 3: (32, 16, 8)}
_GROUP_WIDTHS = {1: (1,), 2: (2, 1), 3: (3, 2, 1)}
_FWDNET_WIDTHS = (3, 3)

# The training recipe of every network family, as written in the authors' Keras code (Bianchi, Buechner and Tamoni
# 2021; public copies of their ``NNFuncBib.py``, Keras 2.2.0), except where marked "Table F.1". Every value is a
# SeedEnsembleNet argument, so ``nn_options`` can override it. Common to all: Nesterov SGD with momentum 0.9,
# batches of 32, at most 500 epochs, EarlyStopping(min_delta=1e-6, patience=20) with
# ModelCheckpoint(save_best_only=True), validation_split=0.15, he_normal kernels, ``regularizers.l1_l2(l)``
# (L1 = l, Keras' default L2 = 0.01), 100 seeds keeping the 10 with the lowest validation loss, targets in percent.
#
# Table F.1: BBT's Internet Appendix gives the forward-rate network dropout 0 and an L1/L2 penalty of 1e-4 (as
# quoted in issue 14, which specified these defaults; the appendix itself was not available to us). The authors'
# development driver for the forward-rate networks searches {'Dropout': [0.2, 0.4], 'l1l2': [0.5, 1]} instead;
# docs/treasury.md reports both (nn1_3, paper's timing: EW R2oos 21.9% with Table F.1, 7.9% with that grid).
FWD_NET_DROPOUT, FWD_NET_PENALTY = 0.0, 1e-4
NN_RECIPES: dict[str, dict[str, Any]] = {
    # forward-rate networks NN1Layer_3 ... NN3Layer_543 (``NNGeneric`` of the authors' forward-rate code): Dropout
    # -> Dense(relu) per hidden layer and Dropout before the linear output, no batch normalization (commented
    # out there), he_normal biases, SGD(lr=0.02, decay=0.001); dropout and penalty of Table F.1; between
    # re-tunings the model saved at the last re-tuning is trained on with a new SGD
    "fwd": dict(batch_norm=False, bias_init="he_normal", dropout_grid=(FWD_NET_DROPOUT,),
                penalty_grid=(FWD_NET_PENALTY,), lr=0.02, decay=0.001),
    # dense macro network joined with the forwards (``NNExogGeneric``): batch normalization of the joint block,
    # he_normal biases, SGD(lr=0.01, decay=0.01), grid {'Dropout': [0.1, 0.3, 0.5], 'l1l2': [0.01, 0.001]}
    "macro_fwd": dict(bias_init="he_normal", dropout_grid=(0.1, 0.3, 0.5), penalty_grid=(0.01, 0.001),
                      lr=0.01, decay=0.01),
    # the same with the forwards through their own 3-3 network (``NNExog_ExogNetGeneric``): SGD(lr=0.03); the
    # forward-rate network with the dropout and penalty of Table F.1
    "macro_fwdnet": dict(bias_init="he_normal", dropout_grid=(0.1, 0.3, 0.5), penalty_grid=(0.01, 0.001),
                         lr=0.03, decay=0.01, fwd_dropout=FWD_NET_DROPOUT, fwd_penalty=FWD_NET_PENALTY),
    # group ensemble joined with the forwards (``NNEnsemExogGeneric``): zero biases, SGD(lr=0.015, decay=0.01)
    "group_fwd": dict(bias_init="zeros", dropout_grid=(0.1, 0.3, 0.5), penalty_grid=(0.01, 0.001),
                      lr=0.015, decay=0.01),
    # group ensemble with the forwards through a 3-3 network (``NNEnsemExog_ExogNetGeneric``): SGD(lr=0.02); the
    # forward-rate network with the dropout and penalty of Table F.1
    "group_fwdnet": dict(bias_init="zeros", dropout_grid=(0.1, 0.3, 0.5), penalty_grid=(0.01, 0.001),
                         lr=0.02, decay=0.01, fwd_dropout=FWD_NET_DROPOUT, fwd_penalty=FWD_NET_PENALTY),
}


def _network(name: str, n_fwd: int, groups: Any, n_seeds: int, n_keep: int, nn_options: dict[str, Any]) -> Any:
    def build(recipe: str, **arch: Any) -> Any:
        from bondpremia.models.forecast.nn import SeedEnsembleNet

        params = {**NN_RECIPES[recipe], "n_fwd": n_fwd, "n_seeds": n_seeds, "n_keep": n_keep, **arch, **nn_options}
        try:
            return SeedEnsembleNet(**params)
        except TypeError as exc:
            raise InputError(f"unknown network option: {exc}", column="nn_options") from None

    m = re.fullmatch(r"nn(\d)_(\d+)", name)
    if m:
        layers, digits = int(m.group(1)), m.group(2)
        widths = tuple(int(c) for c in digits) if len(digits) == layers else (int(digits),) * layers
        if layers < 1 or (len(digits) != layers and len(digits) != 1):
            raise InputError(f"cannot read the architecture of {name!r}", column="models")
        return build("fwd", fwd_hidden=widths, macro_hidden=()), False
    m = re.fullmatch(r"nn_(macro|group)(\d)(_fwd|_fwdnet)?", name)
    if m:
        kind, layers, join = m.group(1), int(m.group(2)), m.group(3) or "_fwd"
        found = (_MACRO_WIDTHS if kind == "macro" else _GROUP_WIDTHS).get(layers)
        if found is None:
            raise InputError(f"{name!r}: 1 to 3 hidden layers are available", column="models")
        fwd_hidden = _FWDNET_WIDTHS if join == "_fwdnet" else ()
        if kind == "macro":
            return build(kind + join, fwd_hidden=fwd_hidden, macro_hidden=found), True
        if groups is None:
            raise InputError(f"{name!r} needs the McCracken-Ng group of every macro series", column="groups")
        return build(kind + join, fwd_hidden=fwd_hidden, groups=np.asarray(groups), group_hidden=found), True
    raise InputError(_unknown(name), column="models")


def make_model(name: str, n_fwd: int, groups: Any = None, *, n_seeds: int = 100, n_keep: int = 10,
               n_trees: int = 300, nn_options: dict[str, Any] | None = None) -> ModelSpec:
    """Resolve a model name (see :data:`MODEL_HELP`) to an unfitted estimator.

    ``n_fwd`` is the number of forward-rate columns at the left of ``X``; ``groups`` the McCracken-Ng group of
    each macro column (for the group-ensemble network). ``n_seeds``/``n_keep`` set the network ensembles,
    ``n_trees`` the forests.
    """
    key = name.strip().lower()
    base, macro = (key[: -len("_macro")], True) if key.endswith("_macro") else (key, False)
    simple: dict[str, Any] = {
        "hm": HistoricalMean(n_fwd),
        "ols": OLS(n_fwd),
        "cp": CochranePiazzesi(n_fwd),
        "ridge": PenalizedLinear(n_fwd, l1_ratios=(0.0,)),
        "lasso": PenalizedLinear(n_fwd, l1_ratios=(1.0,)),
        "enet": PenalizedLinear(n_fwd, l1_ratios=(0.1, 0.5, 0.9)),
        "tree": ValidatedTrees(n_fwd, kind="tree"),
        "rf": ValidatedTrees(n_fwd, kind="rf", n_estimators=n_trees),
        "et": ValidatedTrees(n_fwd, kind="et", n_estimators=n_trees),
        "gbrt": GradientBoostedTrees(n_fwd),
    }
    if base in simple:
        est = simple[base]
        return ModelSpec(key, est, macro, "random_state" in est.get_params())
    if base == "ln" and not macro:
        return ModelSpec(key, LudvigsonNg(n_fwd), True, False)
    m = re.fullmatch(r"(pcrsq|pcr|pls)(\d+)", base)
    if m:
        k = int(m.group(2))
        est = PLS(n_fwd, k) if m.group(1) == "pls" else PCR(n_fwd, k, squared=m.group(1) == "pcrsq")
        return ModelSpec(key, est, macro, False)
    if base.startswith("nn") and not macro:
        est, uses_macro = _network(base, n_fwd, groups, n_seeds, n_keep, nn_options or {})
        return ModelSpec(key, est, uses_macro, True)
    raise InputError(_unknown(name), column="models")


def fresh(spec: ModelSpec) -> Any:
    """An unfitted copy of the spec's estimator."""
    return clone(spec.estimator)
