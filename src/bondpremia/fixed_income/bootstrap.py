"""Par-to-zero bootstrap of the US Treasury par yield curve: :func:`par_to_zero` turns semiannual
bond-equivalent par yields (dates x maturities **in years**, decimals, e.g. the output of
:func:`bondpremia.data.load_treasury_par_curve`) into a :class:`ZeroCurve` of discount factors and zero yields,
with the standard bootstrap of par bonds on a semiannual grid (e.g. Tuckman and Serrat, *Fixed Income
Securities*, ch. 2). Vectorized over dates; the only loop is over the semiannual grid. Conventions as in
:mod:`bondpremia.fixed_income.curves`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from bondpremia.errors import InputError
from bondpremia.fixed_income.curves import FloatArray

__all__ = [
    "ZeroCurve",
    "par_to_zero",
]


class ZeroCurve(NamedTuple):
    """Discount factors and zero yields at the requested maturities (dates x maturities in years)."""

    discount: pd.DataFrame
    zero: pd.DataFrame


def _interp_rows(
    nodes: FloatArray, values: FloatArray, valid: npt.NDArray[np.bool_], x: FloatArray
) -> FloatArray:
    """Row-wise linear interpolation of ``values`` (T, K) at ``x`` (J,), over each row's valid nodes.

    Flat before a row's first valid node, NaN after its last one.
    """
    k = nodes.size
    idx = np.arange(k)
    le = valid[:, :, None] & (nodes[None, :, None] <= x[None, None, :])  # (T, K, J)
    ge = valid[:, :, None] & (nodes[None, :, None] >= x[None, None, :])
    left = np.where(le, idx[None, :, None], -1).max(axis=1)  # (T, J)
    right = np.where(ge, idx[None, :, None], k).min(axis=1)
    has_l, has_r = left >= 0, right < k
    li, ri = np.clip(left, 0, k - 1), np.clip(right, 0, k - 1)
    vl = np.take_along_axis(values, li, axis=1)
    vr = np.take_along_axis(values, ri, axis=1)
    xl, xr = nodes[li], nodes[ri]
    with np.errstate(invalid="ignore", divide="ignore"):
        wgt = np.where(ri > li, (x[None, :] - xl) / np.where(ri > li, xr - xl, 1.0), 0.0)
    inner = vl + wgt * (vr - vl)
    return np.where(has_l & has_r, inner, np.where(has_r, vr, np.nan))


def par_to_zero(
    par_yields: pd.DataFrame,
    maturities_years: Iterable[float] | None = None,
    *,
    compounding: Literal["continuous", "semiannual"] = "continuous",
) -> ZeroCurve:
    """Bootstrap the US Treasury par yield curve to discount factors and zero yields.

    The par curve (e.g. :func:`bondpremia.data.load_treasury_par_curve`) quotes semiannual bond-equivalent par
    yields. Per date (vectorized over dates; the only loop is over the semiannual grid):

    1. The par yields are interpolated linearly in maturity onto the grid ``0.5, 1.0, ..., M`` (``M`` = the
       largest requested maturity rounded up to half a year), over that date's non-NaN nodes; flat before the
       first valid node, NaN after the last one (no extrapolation at the long end). A date with fewer than
       two valid nodes gives a NaN row.
    2. Maturities ``m <= 0.5`` (bills) are zero-coupon with semiannual compounding:
       ``D(m) = (1 + c(m)/2)^(-2m)``.
    3. Grid coupon bonds priced at par give the standard bootstrap (e.g. Tuckman and Serrat, *Fixed Income
       Securities*, ch. 2): ``1 = (c_n/2) sum_{k<n} D_k + (1 + c_n/2) D_n``.
    4. Requested maturities above 0.5 that are off the grid are interpolated log-linearly in the discount
       factor between the neighbouring grid points (piecewise-flat forwards).

    Parameters
    ----------
    par_yields:
        Dates x maturities **in years** (float labels, as returned by the loader), par yields in decimals.
    maturities_years:
        Output maturities in years (> 0); default: the columns of ``par_yields``.
    compounding:
        Of the returned zero yields: ``"continuous"`` (``-log D / m``, default) or ``"semiannual"``
        (``2 (D^(-1/(2m)) - 1)``, bond-equivalent).

    Returns
    -------
    :class:`ZeroCurve` ``(discount, zero)`` of DataFrames indexed like ``par_yields``, one column per
    requested maturity.
    """
    if not isinstance(par_yields, pd.DataFrame):
        raise InputError("par_yields must be a DataFrame (dates x maturities in years)", column="par_yields")
    if compounding not in ("continuous", "semiannual"):
        raise InputError(f"compounding must be 'continuous' or 'semiannual', got {compounding!r}",
                         column="compounding")
    try:
        nodes = np.asarray([float(c) for c in par_yields.columns], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"par_yields columns must be maturities in years: {exc}",
                         column="par_yields") from exc
    if nodes.size == 0 or np.any(~np.isfinite(nodes)) or np.any(nodes <= 0):
        raise InputError("par_yields columns must be positive maturities in years", column="par_yields")
    if np.unique(nodes).size != nodes.size:
        raise InputError("par_yields has duplicate maturity columns", column="par_yields")
    try:
        values = par_yields.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"par yields must be numeric: {exc}", column="par_yields") from exc
    order = np.argsort(nodes)
    nodes, values = nodes[order], values[:, order]
    valid = np.isfinite(values)
    valid &= (valid.sum(axis=1) >= 2)[:, None]

    req = nodes if maturities_years is None else np.asarray(list(maturities_years), dtype=np.float64)
    if req.size == 0 or np.any(~np.isfinite(req)) or np.any(req <= 0):
        raise InputError("maturities must be positive", column="maturities_years")
    t_rows = values.shape[0]
    disc = np.full((t_rows, req.size), np.nan)

    bills = req <= 0.5
    if np.any(bills):
        c = _interp_rows(nodes, values, valid, req[bills])
        with np.errstate(invalid="ignore"):
            disc[:, bills] = (1.0 + c / 2.0) ** (-2.0 * req[bills])
    if np.any(~bills):
        n_grid = int(np.ceil(req.max() * 2.0 - 1e-9))
        grid = 0.5 * np.arange(1, n_grid + 1, dtype=np.float64)
        c = _interp_rows(nodes, values, valid, grid)  # (T, G)
        d = np.empty_like(c)
        s = np.zeros(t_rows)
        for k in range(n_grid):
            half = c[:, k] / 2.0
            d[:, k] = (1.0 - half * s) / (1.0 + half)
            s = s + d[:, k]
        pos = req[~bills] * 2.0  # position on the grid, 1-based
        lo = np.floor(pos + 1e-9).astype(int)
        frac = np.clip(pos - lo, 0.0, None)
        frac = np.where(frac < 1e-9, 0.0, frac)
        hi_ = np.minimum(np.where(frac > 0, lo + 1, lo), n_grid)
        d_lo, d_hi = d[:, lo - 1], d[:, hi_ - 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            disc[:, ~bills] = np.where(frac > 0, d_lo ** (1.0 - frac) * d_hi**frac, d_lo)
    with np.errstate(invalid="ignore", divide="ignore"):
        if compounding == "continuous":
            zero = -np.log(disc) / req
        else:
            zero = 2.0 * (disc ** (-1.0 / (2.0 * req)) - 1.0)
    cols = pd.Index(req, name="maturity_years")
    return ZeroCurve(
        discount=pd.DataFrame(disc, index=par_yields.index.copy(), columns=cols),
        zero=pd.DataFrame(zero, index=par_yields.index.copy(), columns=cols.copy()),
    )
