"""EM/principal-components imputation of missing values in a large panel (Stock and Watson 2002, as used by
McCracken and Ng 2016), with the IC_p2 choice of the number of factors of Bai and Ng (2002).

Stock, J. H. and M. W. Watson (2002), "Macroeconomic Forecasting Using Diffusion Indexes", Journal of Business &
Economic Statistics 20(2), 147-162. McCracken, M. W. and S. Ng (2016), "FRED-MD: A Monthly Database for
Macroeconomic Research", Journal of Business & Economic Statistics 34(4), 574-589 (hereafter MN16). The method is
not specific to FRED-MD; :func:`bondpremia.data.prepare_fredmd` applies it to the transformed, outlier-screened
FRED-MD panel.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from bondpremia.errors import ConvergenceWarning, InputError

__all__ = ["EMInfo", "em_impute"]


@dataclass(frozen=True)
class EMInfo:
    """Diagnostics of :func:`em_impute`.

    Attributes
    ----------
    n_factors:
        Number of factors of the last iteration (chosen by IC_p2 when ``n_factors="bai_ng"``).
    n_iter:
        EM iterations run (0 when nothing was missing).
    converged:
        Whether the relative change fell below ``tol`` within ``max_iter`` iterations.
    rel_change:
        Relative change of the common component at the last iteration.
    """

    n_factors: int
    n_iter: int
    converged: bool
    rel_change: float


def _standardize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mu = x.mean(axis=0)
    sd = x.std(axis=0, ddof=1)
    return (x - mu) / sd, mu, sd


def _bai_ng_ic_p2(sv: np.ndarray, total_ss: float, t: int, n: int, kmax: int) -> int:
    """Number of factors minimising IC_p2 of Bai and Ng (2002, eq. 9) given the singular values ``sv``."""
    k = np.arange(min(kmax, len(sv)) + 1)
    ss_k = total_ss - np.concatenate([[0.0], np.cumsum(sv[: k[-1]] ** 2)])
    v = np.maximum(ss_k, np.finfo(float).tiny) / (n * t)
    ic = np.log(v) + k * (n + t) / (n * t) * np.log(min(n, t))
    return int(np.argmin(ic))


def em_impute(
    x: pd.DataFrame,
    n_factors: int | Literal["bai_ng"] = 8,
    max_iter: int = 50,
    tol: float = 1e-6,
    *,
    kmax: int = 8,
    return_info: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, EMInfo]:
    """Fill missing values with the EM/principal-components algorithm of Stock and Watson (2002) as in MN16.

    Stock, J. H. and M. W. Watson (2002), "Macroeconomic Forecasting Using Diffusion Indexes", Journal of
    Business & Economic Statistics 20(2), 147-162 (appendix A); MN16 section 2 and their ``factors_em.m``.

    1. Missing cells start at the column mean of the observed values.
    2. Each iteration standardizes every column with the mean and standard deviation (ddof=1) of the current
       filled panel, takes the first ``r`` principal components by SVD, :math:`\\hat C = \\hat F \\hat\\Lambda'`,
       and replaces the missing cells by :math:`\\hat C_{it}\\,\\sigma_i + \\mu_i`.
    3. It stops when :math:`\\sum (\\hat C^{new} - \\hat C^{old})^2 / \\sum (\\hat C^{old})^2 < \\text{tol}`, with
       :math:`\\hat C` the common component of the standardized panel (as in the MN16 code), or after
       ``max_iter`` iterations (MN16 use 50 and 1e-6); then it warns with a
       :class:`~bondpremia.errors.ConvergenceWarning` and returns the last iterate (see ``return_info``).

    Parameters
    ----------
    x:
        Transformed, outlier-screened panel (T x N) with NaN for missing cells.
    n_factors:
        Number of factors ``r`` (1 <= r <= min(T, N)), or ``"bai_ng"`` to choose it at every iteration by
        the IC_p2 criterion of Bai, J. and S. Ng (2002), "Determining the Number of Factors in Approximate
        Factor Models", Econometrica 70(1), 191-221, over 0..``kmax`` (0 factors means mean imputation).
    max_iter, tol:
        Iteration budget and convergence tolerance.
    kmax:
        Largest number of factors considered by ``"bai_ng"``.
    return_info:
        Also return an :class:`EMInfo`.

    Returns
    -------
    pandas.DataFrame or (pandas.DataFrame, EMInfo)
        The filled panel; observed cells are returned bit for bit.

    Raises
    ------
    InputError
        Infinite values; a column with no observation or with no variation; a row with no observation (trim
        leading/trailing empty months with ``start``/``end``); a bad ``n_factors``.

    Notes
    -----
    The factors are estimated on the whole sample given, so imputed values at date t use data after t.
    """
    out, info = _em(x, n_factors, max_iter, tol, kmax)
    return (out, info) if return_info else out


def _em(
    x: pd.DataFrame, n_factors: int | Literal["bai_ng"], max_iter: int, tol: float, kmax: int
) -> tuple[pd.DataFrame, EMInfo]:
    if not isinstance(x, pd.DataFrame):
        raise InputError("x must be a DataFrame", column="x")
    a = x.to_numpy(dtype=float, copy=True)
    t, n = a.shape
    if np.isinf(a).any():
        j = int(np.flatnonzero(np.isinf(a).any(axis=0))[0])
        raise InputError("infinite value; replace it by NaN to have it imputed", column=str(x.columns[j]))
    miss = np.isnan(a)
    empty_cols = miss.all(axis=0)
    if empty_cols.any():
        bad = [str(c) for c in x.columns[empty_cols]]
        raise InputError(f"{len(bad)} column(s) have no observation in the sample: {bad[:10]}; drop them or start "
                         "the sample later/earlier", column=bad[0])
    empty_rows = miss.all(axis=1)
    if empty_rows.any():
        i = int(np.flatnonzero(empty_rows)[0])
        edge = empty_rows[: i + 1].all() or empty_rows[i:].all()
        hint = ("trim the sample (start/end) so that it begins and ends with observed months" if edge else
                "a month with no data at all cannot be imputed; drop it or check the input")
        raise InputError(f"row {x.index[i]} has no observation; {hint}", column="x")
    choose_r = isinstance(n_factors, str) and n_factors == "bai_ng"
    if not choose_r:
        is_int = isinstance(n_factors, (int, np.integer)) and not isinstance(n_factors, bool)
        if not is_int or not 1 <= int(n_factors) <= min(t, n):
            raise InputError(f"n_factors must be an integer from 1 to min(T, N) = {min(t, n)} or 'bai_ng', got "
                             f"{n_factors!r}", column="n_factors")
    if max_iter < 1 or not tol > 0:
        raise InputError("max_iter must be >= 1 and tol > 0", column="max_iter" if max_iter < 1 else "tol")
    if t < 2:
        raise InputError("at least two months are needed", column="x")
    counts = (~miss).sum(axis=0)
    mu0 = np.where(miss, 0.0, a).sum(axis=0) / counts
    sd0 = np.sqrt(np.where(miss, 0.0, (a - mu0) ** 2).sum(axis=0) / np.maximum(counts - 1, 1))
    flat_cols = (counts < 2) | (sd0 == 0)
    if flat_cols.any():
        bad = [str(c) for c in x.columns[flat_cols]]
        raise InputError(f"column(s) with fewer than two distinct observations cannot be standardized: {bad[:10]}; "
                         "drop them", column=bad[0])

    filled = np.where(miss, mu0, a)

    def common(panel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        z, mu, sd = _standardize(panel)
        u, s, vt = np.linalg.svd(z, full_matrices=False)
        r = _bai_ng_ic_p2(s, float((z**2).sum()), t, n, kmax) if choose_r else int(n_factors)
        return (u[:, :r] * s[:r]) @ vt[:r], mu, sd, r

    if not miss.any():
        r = int(n_factors) if not choose_r else _bai_ng_ic_p2(
            np.linalg.svd(_standardize(a)[0], compute_uv=False), float((_standardize(a)[0] ** 2).sum()), t, n, kmax)
        out = x.astype(float).copy()
        return out, EMInfo(r, 0, True, 0.0)

    chat, mu, sd, r = common(filled)
    change, converged, it = np.inf, False, 0
    while it < max_iter:
        it += 1
        filled = np.where(miss, chat * sd + mu, a)
        chat_new, mu, sd, r = common(filled)
        denom = float((chat**2).sum())
        change = float(((chat_new - chat) ** 2).sum()) / denom if denom > 0 else (0.0 if not chat_new.any() else np.inf)
        chat = chat_new
        if change < tol:
            converged = True
            break
    if not converged:
        warnings.warn(f"EM imputation stopped after max_iter={max_iter} iterations with relative change {change:.3g} "
                      f"above tol={tol:g}; the last iterate is returned (raise max_iter, or check the panel for "
                      f"columns that are almost empty)", ConvergenceWarning, stacklevel=3)
    filled = np.where(miss, chat * sd + mu, a)
    out = pd.DataFrame(filled, index=x.index.copy(), columns=x.columns.copy())
    return out, EMInfo(r, it, converged, change)
