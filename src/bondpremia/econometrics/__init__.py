"""Econometrics: rolling regressions, Newey-West inference, alpha regressions, Fama-MacBeth, Kalman filters, EM
factor imputation of missing values in a panel.

The names load on first use (PEP 562): ``bondpremia.data`` needs only the EM imputation, which must not pull in
statsmodels (the regressions and the Kalman filters) when FRED-MD is loaded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bondpremia.econometrics.em_factors import EMInfo, em_impute
    from bondpremia.econometrics.kalman import (
        ARSignalFit,
        FilterResult,
        constant_gain_filter,
        fit_ar_signal,
        kalman_filter,
        kalman_smoother,
        steady_state_gain,
    )
    from bondpremia.econometrics.regression import (
        FamaMacBethResult,
        RollingResult,
        alpha_regression,
        bartlett_weights,
        fama_macbeth,
        newey_west_lags,
        ols_hac,
        rolling_regression,
    )

_MODULE = {
    "EMInfo": "em_factors", "em_impute": "em_factors",
    "ARSignalFit": "kalman", "FilterResult": "kalman", "constant_gain_filter": "kalman", "fit_ar_signal": "kalman",
    "kalman_filter": "kalman", "kalman_smoother": "kalman", "steady_state_gain": "kalman",
    "FamaMacBethResult": "regression", "RollingResult": "regression", "alpha_regression": "regression",
    "bartlett_weights": "regression", "fama_macbeth": "regression", "newey_west_lags": "regression",
    "ols_hac": "regression", "rolling_regression": "regression",
}

__all__ = [
    "ARSignalFit",
    "EMInfo",
    "FamaMacBethResult",
    "FilterResult",
    "RollingResult",
    "alpha_regression",
    "bartlett_weights",
    "constant_gain_filter",
    "em_impute",
    "fama_macbeth",
    "fit_ar_signal",
    "kalman_filter",
    "kalman_smoother",
    "newey_west_lags",
    "ols_hac",
    "rolling_regression",
    "steady_state_gain",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULE:
        raise AttributeError(f"module 'bondpremia.econometrics' has no attribute {name!r}")
    return getattr(importlib.import_module(f"bondpremia.econometrics.{_MODULE[name]}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULE))
