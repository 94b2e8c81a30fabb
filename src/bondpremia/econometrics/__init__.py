"""Econometrics: rolling regressions, Newey-West inference, alpha regressions, Fama-MacBeth, Kalman filters."""

from bondpremia.econometrics.regression import (
    RollingResult,
    alpha_regression,
    fama_macbeth,
    newey_west_lags,
    ols_hac,
    rolling_regression,
)

__all__ = ["RollingResult", "alpha_regression", "fama_macbeth", "newey_west_lags", "ols_hac", "rolling_regression"]
