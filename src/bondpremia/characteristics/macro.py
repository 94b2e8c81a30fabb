"""Monthly macro series of the corporate-bond characteristics: default spread, term spread, VIX innovations and the
bond-market excess return, each known at the end of its month (walk-forward, no look-ahead)."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from bondpremia.characteristics.engine import rolling_ols
from bondpremia.data.factors import load_factor_file
from bondpremia.errors import InputError

__all__ = [
    "bond_market_return",
    "default_spread",
    "expanding_simple_ols",
    "month_end",
    "term_spread",
    "vix_innovation",
]


def month_end(series: pd.Series, how: str = "last") -> pd.Series:
    """Monthly series on month-end dates: the last non-missing observation of each month (``how="last"``) or
    the monthly mean (``"mean"``). A monthly series dated on the first of the month (FRED) is moved to its
    month end."""
    s = series.dropna()
    months = pd.DatetimeIndex(s.index).to_period("M")
    grouped = s.groupby(months)
    out = grouped.last() if how == "last" else grouped.mean()
    out.index = pd.PeriodIndex(out.index).to_timestamp(how="end").normalize()
    out.index.name = "date"
    return out


def default_spread(baa: pd.Series, aaa: pd.Series) -> pd.Series:
    """Default spread ``DEF_t = BAA_t − AAA_t`` (Moody's seasoned corporate yields; Fama and French 1993), in
    decimals, month-end dated."""
    out = (month_end(baa) - month_end(aaa)).dropna()
    return out.rename("default_spread")


def term_spread(long_yield: pd.Series, short_yield: pd.Series) -> pd.Series:
    """Term spread ``TERM_t = y_t(10y) − y_t(3m)`` (e.g. FRED GS10 − TB3MS), in decimals, month-end dated."""
    return (month_end(long_yield) - month_end(short_yield)).dropna().rename("term_spread")


def expanding_simple_ols(x: np.ndarray, y: np.ndarray, min_obs: int) -> tuple[np.ndarray, np.ndarray]:
    """Intercept and slope of ``y_s = a + b x_s + e_s`` fitted at every row ``t`` on the pairs ``s < t``
    (strictly before ``t``; NaN pairs skipped); NaN before ``min_obs`` pairs: the walk-forward
    :func:`~bondpremia.characteristics.engine.rolling_ols` with a window as long as the series."""
    fit = rolling_ols(np.asarray(y, dtype=float)[:, None], np.asarray(x, dtype=float)[:, None],
                      window=max(len(y), min_obs), min_obs=min_obs)
    return fit.coef[:, 0, 0], fit.coef[:, 0, 1]


def vix_innovation(vix: pd.Series, *, min_obs: int = 24) -> pd.Series:
    """VIX innovation: the residual of a walk-forward AR(1), ``u_t = VIX_t − (a_t + b_t VIX_{t−1})``, with
    ``(a_t, b_t)`` fitted on months before ``t`` only (Ang, Hodrick, Xing and Zhang 2006 use VIX changes;
    the AR(1) residual removes the predictable part). ``vix`` is daily or monthly; the month-end close is used.
    In index points."""
    m = month_end(vix)
    full = m.reindex(pd.date_range(m.index[0], m.index[-1], freq="ME", name="date"))
    level = full.to_numpy(dtype=float)
    lagged = np.concatenate([[np.nan], level[:-1]])
    a, b = expanding_simple_ols(lagged, level, min_obs)
    return pd.Series(level - a - b * lagged, index=full.index, name="vix_innovation")


def bond_market_return(corporate_excess: pd.Series, treasury_excess: pd.Series, *, min_obs: int = 24) -> pd.Series:
    """Bond-market excess return orthogonal to Treasuries: ``MKT_t = r^C_t − b_t r^T_t`` where ``b_t`` is the
    slope of the corporate index excess return on the Treasury excess return fitted on months before ``t``
    (walk-forward). The intercept and residual are kept, so ``MKT`` still carries the credit premium (Kelly,
    Palhares and Pruitt 2023 use the corporate market return net of its Treasury exposure). Decimals."""
    both = pd.concat([corporate_excess.rename("c"), treasury_excess.rename("t")], axis=1)
    both = both.reindex(pd.date_range(both.index.min(), both.index.max(), freq="ME", name="date"))
    _, b = expanding_simple_ols(both["t"].to_numpy(dtype=float), both["c"].to_numpy(dtype=float), min_obs)
    return pd.Series(both["c"].to_numpy() - b * both["t"].to_numpy(), index=both.index, name="bond_market")


def read_macro_folder(folder: str | PathLike[str]) -> pd.DataFrame:
    """Monthly macro inputs from a folder laid out like ``../shared/data/market`` (FRED and CBOE CSVs under their
    usual names): ``default_spread`` (fred_BAA_monthly − fred_AAA_monthly), ``term_spread`` (fred_GS10_monthly −
    fred_TB3MS_monthly), ``vix`` and ``vix_innovation`` (vix_daily_cboe), ``rf`` (TB3MS / 12), ``treasury_ret``
    and ``corporate_ret`` (the IEF and LQD columns of etf/etf_monthly_total_returns.csv, decimals), and the
    Fama-French ``Mkt-RF, SMB, HML`` (decimals) of the newest ``ff3_monthly*.csv`` in the raw Ken French layout.
    Missing files leave their columns out; a folder with none of them raises."""
    base = Path(folder)
    cols: dict[str, pd.Series] = {}
    f = {name: base / name for name in ("fred_BAA_monthly.csv", "fred_AAA_monthly.csv", "fred_GS10_monthly.csv",
                                         "fred_TB3MS_monthly.csv", "vix_daily_cboe.csv")}
    def fred(name: str) -> pd.Series:  # FRED monthly CSV ``date,value`` in percent
        return load_factor_file(f[name], percent=True).iloc[:, 0]

    if f["fred_BAA_monthly.csv"].exists() and f["fred_AAA_monthly.csv"].exists():
        cols["default_spread"] = default_spread(fred("fred_BAA_monthly.csv"), fred("fred_AAA_monthly.csv"))
    if f["fred_GS10_monthly.csv"].exists() and f["fred_TB3MS_monthly.csv"].exists():
        tb3 = fred("fred_TB3MS_monthly.csv")
        cols["term_spread"] = term_spread(fred("fred_GS10_monthly.csv"), tb3)
        cols["rf"] = (month_end(tb3) / 12.0).rename("rf")
    if f["vix_daily_cboe.csv"].exists():
        raw = pd.read_csv(f["vix_daily_cboe.csv"])
        close = next((c for c in raw.columns if c.strip().upper() == "CLOSE"), raw.columns[-1])
        vix = pd.Series(pd.to_numeric(raw[close], errors="coerce").to_numpy(),
                        index=pd.DatetimeIndex(pd.to_datetime(raw.iloc[:, 0])))
        cols["vix"] = month_end(vix).rename("vix")
        cols["vix_innovation"] = vix_innovation(vix)
    etf = base / "etf" / "etf_monthly_total_returns.csv"
    if etf.exists():
        raw = pd.read_csv(etf)
        idx = pd.PeriodIndex(raw.iloc[:, 0].astype(str), freq="M").to_timestamp(how="end").normalize()
        if "IEF" in raw.columns:  # 7-10 year Treasury ETF: the Treasury return the bond market is orthogonalized to
            cols["treasury_ret"] = pd.Series(raw["IEF"].to_numpy(dtype=float), index=idx, name="treasury_ret")
        if "LQD" in raw.columns:  # investment-grade corporate bond ETF: a corporate index return
            cols["corporate_ret"] = pd.Series(raw["LQD"].to_numpy(dtype=float), index=idx, name="corporate_ret")
    kf = sorted(base.glob("ff3_monthly*.csv"))
    if kf:
        from bondpremia.data.kenfrench import load_ken_french

        ff3 = load_ken_french(kf[-1])
        for c in ("Mkt-RF", "SMB", "HML"):
            if c in ff3.columns:
                cols[c] = ff3[c]
    if not cols:
        raise InputError("no known macro file (fred_BAA_monthly.csv, fred_GS10_monthly.csv, vix_daily_cboe.csv, "
                         "...) in the folder", file=str(base))
    return pd.concat(cols.values(), axis=1, keys=list(cols), sort=True)
