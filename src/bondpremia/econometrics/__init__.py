"""Econometrics: rolling regressions, Newey-West inference, alpha regressions, Fama-MacBeth, Kalman filters."""

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

__all__ = [
    "ARSignalFit",
    "FamaMacBethResult",
    "FilterResult",
    "RollingResult",
    "alpha_regression",
    "bartlett_weights",
    "constant_gain_filter",
    "fama_macbeth",
    "fit_ar_signal",
    "kalman_filter",
    "kalman_smoother",
    "newey_west_lags",
    "ols_hac",
    "rolling_regression",
    "steady_state_gain",
]
