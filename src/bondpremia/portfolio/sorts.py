"""Portfolio sorts of bonds on characteristics (Fama and French 1993 style; for bonds e.g. Bai, Bali and Wen 2019).

Timing: the characteristic of month t assigns a bond to a portfolio at the end of t; the portfolio earns the bonds'
returns of month t+1 (the next calendar month, found by date, never by row position); value weights use the
market value at the end of t. A portfolio return is dated t+1. With a holding period of h months, a cohort formed
at t is held over t+1..t+h and each month's portfolio return averages the h live cohorts (Jegadeesh and Titman
1993).

Quantile breakpoints are the ``k/n`` quantiles (linear interpolation) of the characteristic among the bonds where
``breakpoints`` is true (all bonds by default; for example investment-grade bonds only); a bond goes to portfolio
``1 + #{breakpoints below its value}``, so portfolio 1 holds the lowest values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bondpremia.econometrics.regression import alpha_regression, ols_hac
from bondpremia.errors import InputError


@dataclass(frozen=True)
class SortResult:
    """Monthly portfolio returns (columns: portfolios and the long-short ``"H-L"``), the number of bonds per
    portfolio and month, and the monthly turnover of each portfolio's weights."""

    returns: pd.DataFrame
    counts: pd.DataFrame
    turnover: pd.DataFrame

    def alphas(self, factors: pd.DataFrame, lags: int | None = None) -> pd.DataFrame:
        """Alphas and betas of every portfolio (and H-L) on ``factors`` with Newey-West t-statistics, over the
        months both cover (portfolio returns are raw returns: pass excess-return factors or long-short ones)."""
        common = self.returns.dropna(how="all").index.intersection(factors.index)
        if len(common) == 0:
            raise InputError("the factors cover none of the portfolio months", column="factors")
        return alpha_regression(self.returns.loc[common], factors.loc[common], lags=lags)

    def summary(self, lags: int | None = None, periods_per_year: int = 12) -> pd.DataFrame:
        """Mean return, annualized mean, Newey-West t-statistic and average count per portfolio."""
        rows = {}
        for col in self.returns.columns:
            r = self.returns[col].dropna()
            fit = ols_hac(r, pd.DataFrame({"const": np.ones(len(r))}, index=r.index), lags)
            rows[col] = {"mean": fit.params["const"], "mean_ann": fit.params["const"] * periods_per_year,
                         "t_stat": fit.tvalues["const"], "months": len(r),
                         "avg_count": self.counts[col].mean() if col in self.counts else np.nan}
        return pd.DataFrame(rows)


def _month(d: pd.Series) -> pd.PeriodIndex:
    return pd.DatetimeIndex(d).to_period("M")


def quantile_portfolios(panel: pd.DataFrame, char: str, n: int, *, date: str = "date",
                        breakpoints: pd.Series | None = None, within: list[str] | None = None) -> pd.Series:
    """Portfolio number 1..n of each row by its characteristic's quantile in its month (and ``within`` groups,
    for dependent sorts). Rows with a missing characteristic get NaN."""
    if n < 2:
        raise InputError("n must be at least 2", column="n")
    keys = [date, *(within or [])]
    mask = panel[char].notna() if breakpoints is None else panel[char].notna() & breakpoints.astype(bool)
    qs = [k / n for k in range(1, n)]
    bp = panel[mask].groupby(keys)[char].quantile(np.array(qs)).unstack()
    bp.columns = [f"_bp{k}" for k in range(1, n)]
    merged = panel[keys + [char]].join(bp, on=keys)
    above = np.zeros(len(panel))
    for k in range(1, n):
        above += (merged[char].to_numpy() > merged[f"_bp{k}"].to_numpy())
    port = pd.Series(1.0 + above, index=panel.index)
    missing_bp = merged[[f"_bp{k}" for k in range(1, n)]].isna().any(axis=1)
    return port.where(panel[char].notna() & ~missing_bp)


def _forward_returns(panel: pd.DataFrame, ret: str, entity: str, date: str, lead: int) -> pd.Series:
    """Return of the same bond ``lead`` calendar months after the row's month (NaN when absent)."""
    month = _month(panel[date])
    key = pd.MultiIndex.from_arrays([panel[entity].to_numpy(), month])
    lookup = pd.Series(panel[ret].to_numpy(), index=key)
    if lookup.index.duplicated().any():
        dup = lookup.index[lookup.index.duplicated()][0]
        raise InputError(f"bond {dup[0]!r} has two rows in {dup[1]}", column=entity)
    target = pd.MultiIndex.from_arrays([panel[entity].to_numpy(), month + lead])
    return pd.Series(lookup.reindex(target).to_numpy(), index=panel.index)


def portfolio_returns(panel: pd.DataFrame, portfolio: pd.Series, *, ret: str = "ret", entity: str = "id",
                      date: str = "date", weight: str | None = None, holding: int = 1,
                      long_short: tuple[object, object] | None = None) -> SortResult:
    """Returns of the portfolios given by ``portfolio`` (any hashable label per row, NaN = not held).

    ``ret`` is the bond's return realized in the row's month; ``weight`` a column of market values at the end of
    the row's month (equal weights when None). ``long_short=(high, low)`` adds the column ``"H-L"``.
    """
    if holding < 1:
        raise InputError("holding must be at least one month", column="holding")
    for col in [ret, entity, date] + ([weight] if weight else []):
        if col not in panel.columns:
            raise InputError("column not found", column=col)
    formed = _month(panel[date])
    w0 = panel[weight].where(panel[weight] > 0) if weight else pd.Series(1.0, index=panel.index)
    cohorts = []
    weights_by_month = []
    for lag in range(1, holding + 1):
        fwd = _forward_returns(panel, ret, entity, date, lag)
        frame = pd.DataFrame({"month": formed + lag, "port": portfolio, "r": fwd, "w": w0,
                              "id": panel[entity].to_numpy()})
        frame = frame.dropna(subset=["port", "r", "w"])
        frame["wr"] = frame["w"] * frame["r"]
        g = frame.groupby(["month", "port"])
        cohorts.append((g["wr"].sum() / g["w"].sum()).unstack())
        if lag == 1:
            counts = g.size().unstack(fill_value=0)
            frame["wn"] = frame["w"] / g["w"].transform("sum")
            weights_by_month.append(frame[["month", "port", "id", "wn"]])
    live = cohorts[0].notna().astype(int)
    total = cohorts[0].fillna(0.0)
    for c in cohorts[1:]:
        c = c.reindex(index=total.index.union(c.index), columns=total.columns.union(c.columns))
        total = total.reindex_like(c).fillna(0.0) + c.fillna(0.0)
        live = live.reindex_like(c).fillna(0).astype(int) + c.notna().astype(int)
    rets = (total / holding).where(live == holding)
    rets.index = pd.PeriodIndex(rets.index).to_timestamp(how="end").normalize()
    counts.index = pd.PeriodIndex(counts.index).to_timestamp(how="end").normalize()
    if long_short is not None:
        hi, lo = long_short
        rets["H-L"] = rets[hi] - rets[lo]
    # turnover of each portfolio's weights: 0.5 * sum_i |w_i,t - w_i,t-1| (weights of the one-month cohort)
    wt = weights_by_month[0].pivot_table(index=["port", "id"], columns="month", values="wn", fill_value=0.0)
    diff = wt.diff(axis=1).abs().groupby(level="port").sum() * 0.5
    turnover = diff.T.iloc[1:]
    turnover.index = pd.PeriodIndex(turnover.index).to_timestamp(how="end").normalize()
    return SortResult(rets, counts, turnover)


def univariate_sort(panel: pd.DataFrame, char: str, n: int = 5, *, ret: str = "ret", entity: str = "id",
                    date: str = "date", weight: str | None = None, breakpoints: pd.Series | None = None,
                    holding: int = 1) -> SortResult:
    """Sort bonds into ``n`` quantile portfolios on ``char`` each month; ``"H-L"`` is portfolio n minus 1."""
    port = quantile_portfolios(panel, char, n, date=date, breakpoints=breakpoints)
    return portfolio_returns(panel, port, ret=ret, entity=entity, date=date, weight=weight, holding=holding,
                             long_short=(float(n), 1.0))


def bivariate_sort(panel: pd.DataFrame, char1: str, char2: str, n1: int = 3, n2: int = 3, *,
                   method: str = "independent", ret: str = "ret", entity: str = "id", date: str = "date",
                   weight: str | None = None, breakpoints: pd.Series | None = None,
                   holding: int = 1) -> SortResult:
    """Double sort: ``independent`` (both breakpoints from the whole cross-section) or ``dependent`` (``char2``
    breakpoints within each ``char1`` group). Portfolios are labelled ``"i-j"``; ``"H-L"`` is the average over
    ``char1`` groups of (``char2`` high minus low), the usual control-for-``char1`` spread."""
    if method not in ("independent", "dependent"):
        raise InputError("method must be 'independent' or 'dependent'", column="method")
    p1 = quantile_portfolios(panel, char1, n1, date=date, breakpoints=breakpoints)
    if method == "independent":
        p2 = quantile_portfolios(panel, char2, n2, date=date, breakpoints=breakpoints)
    else:
        tmp = panel.assign(_g1=p1)
        p2 = quantile_portfolios(tmp[tmp["_g1"].notna()], char2, n2, date=date, within=["_g1"],
                                 breakpoints=None if breakpoints is None else breakpoints[tmp["_g1"].notna()])
        p2 = p2.reindex(panel.index)
    text = p1.fillna(0).astype(int).astype(str) + "-" + p2.fillna(0).astype(int).astype(str)
    label = text.where(p1.notna() & p2.notna())
    res = portfolio_returns(panel, label, ret=ret, entity=entity, date=date, weight=weight, holding=holding)
    spread = sum(res.returns[f"{i}-{n2}"] - res.returns[f"{i}-1"] for i in range(1, n1 + 1)) / n1
    rets = res.returns.assign(**{"H-L": spread})
    return SortResult(rets, res.counts, res.turnover)
