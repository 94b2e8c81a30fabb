"""Portfolio sorts of bonds on characteristics (Fama and French 1993 style; for bonds e.g. Bai, Bali and Wen 2019).

Timing: the characteristic of month t assigns a bond to a portfolio at the end of t; the portfolio earns the bonds'
returns of month t+1 (the next calendar month, found by date, never by row position). A portfolio return is dated
t+1. With a holding period of h months, a cohort formed at t is held over t+1..t+h and each month's portfolio
return averages the h live cohorts (Jegadeesh and Titman 1993); a month where fewer than h cohorts exist yet is NaN.

Value weights (``weight`` = a column of market values at the end of the row's month; non-positive or missing values
count as missing). With ``vw_timing="lagged"`` (the default) the return of month t+k (k = 1..h) of a cohort formed at
t is weighted by the bond's market value at the end of t+k-1, the last value known before the return is earned (a
buy-and-hold weighting; PyBondLab's ``dynamic_weights=True``); a bond whose market value at the end of t+k-1 is
missing is not counted in month t+k. With ``vw_timing="formation"`` every month of the holding period uses the
market value at the end of the formation month t (constant weights within the cohort). Both coincide for h = 1. In
both, a bond without a market value at the end of t never enters the value-weighted cohort formed at t (equal
weights do not look at ``weight``).

Bonds that leave a cohort during its holding period (no return in month t+k: matured, called, defaulted or simply
not traded) drop out of that month's average and the remaining members are re-weighted to sum to one (equal weights
over the survivors, or their market values over the survivors' total). This is the standard choice (and PyBondLab's);
no return is imputed for the leavers and no cash position is held.

Quantile breakpoints are the ``k/n`` quantiles (linear interpolation) of the characteristic among the bonds where
``breakpoints`` is true (all bonds by default; for example investment-grade bonds only); a bond goes to portfolio
``1 + #{breakpoints below its value}``, so portfolio 1 holds the lowest values.

Rating filter: ``rating`` (a column of numeric ratings, AAA = 1 ... D = 22) with ``rating_range=(lo, hi)`` restricts
the sorted universe to the bonds rated ``lo <= rating <= hi`` at the formation month t (bonds with a missing rating
are left out). The breakpoints are computed within that universe; a bond kept at formation stays in its cohort for
the whole holding period even if its rating later leaves the range.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bondpremia.econometrics.regression import alpha_regression, ols_hac
from bondpremia.errors import InputError


@dataclass(frozen=True, repr=False)
class SortResult:
    """Monthly portfolio returns (columns: portfolios and the long-short ``"H-L"``), the number of bonds per
    portfolio and month, and the monthly turnover of each portfolio's weights
    (:class:`bondpremia.results.Results`: ``summary()``, ``to_frame()``, ``save(out)``)."""

    returns: pd.DataFrame
    counts: pd.DataFrame
    turnover: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """Long: ``date, portfolio, ret`` (decimal, the month it is earned), ``count`` (bonds; null for H-L)."""
        def long(frame: pd.DataFrame, name: str) -> pd.DataFrame:
            return frame.rename_axis(index="date").reset_index().melt(id_vars="date", var_name="portfolio",
                                                                      value_name=name)

        ret = long(self.returns, "ret").dropna(subset=["ret"]).sort_values("date", kind="stable")
        return ret.merge(long(self.counts, "count"), on=["date", "portfolio"], how="left").reset_index(drop=True)

    def __repr__(self) -> str:
        months = self.returns.dropna(how="all")
        span = f"{months.index.min():%Y-%m}..{months.index.max():%Y-%m}" if len(months) else "no month"
        return f"SortResult(portfolios={list(map(str, self.returns.columns))}, months={len(months)} ({span}))"

    def save(self, out: str | Path, *, characteristic: str = "signal", lags: int | None = None,
             force: bool = False) -> Path:
        """The files of ``bondpremia portfolio sort`` (:func:`write_sort`) in the run folder ``out`` (atomic)."""
        from bondpremia.rundir import atomic_run

        with atomic_run(out, "portfolio sort", options={"characteristic": characteristic, "lags": lags},
                        force=force) as run:
            write_sort(self, characteristic, run.path, lags=lags)
            run.rows["returns"] = len(self.returns)
        return Path(out)

    def alphas(self, factors: pd.DataFrame, lags: int | None = None) -> pd.DataFrame:
        """Alphas and betas of every portfolio (and H-L) on ``factors`` with Newey-West t-statistics, over the
        months both cover (portfolio returns are raw returns: pass excess-return factors or long-short ones)."""
        common = self.returns.dropna(how="all").index.intersection(factors.index)
        if len(common) == 0:
            raise InputError("the factors cover none of the portfolio months", column="factors")
        return alpha_regression(self.returns.loc[common], factors.loc[common], lags=lags)

    def summary(self, lags: int | None = None, periods_per_year: int = 12) -> pd.DataFrame:
        """Mean return, annualized mean, Newey-West t-statistic and average count per portfolio."""
        if lags is not None:
            from bondpremia.validate import integer

            lags = integer(lags, "lags", 0)
        rows = {}
        for col in self.returns.columns:
            r = self.returns[col].dropna()
            fit = ols_hac(r, pd.DataFrame({"const": np.ones(len(r))}, index=r.index), lags)
            rows[col] = {"mean": fit.params["const"], "mean_ann": fit.params["const"] * periods_per_year,
                         "t_stat": fit.tvalues["const"], "months": len(r),
                         "avg_count": self.counts[col].mean() if col in self.counts else np.nan}
        return pd.DataFrame(rows)


VW_TIMINGS = ("lagged", "formation")
RATING_SCALE = (1, 22)  # AAA = 1 ... D = 22


def _month(d: pd.Series) -> pd.PeriodIndex:
    return pd.DatetimeIndex(d).to_period("M")


def quantile_portfolios(panel: pd.DataFrame, char: str, n: int, *, date: str = "date",
                        breakpoints: pd.Series | None = None, within: list[str] | None = None) -> pd.Series:
    """Portfolio number 1..n of each row by its characteristic's quantile in its month (and ``within`` groups,
    for dependent sorts). Rows with a missing characteristic get NaN."""
    if n < 2:
        raise InputError("n must be at least 2", column="n")
    for col in (char, date, *(within or [])):
        if col not in panel.columns:
            raise InputError("column not found", column=col)
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


def rating_universe(panel: pd.DataFrame, rating: str | None, rating_range: tuple[float, float] | None) -> pd.Series:
    """True for the rows rated ``lo <= rating <= hi`` (numeric scale AAA = 1 ... D = 22; a missing rating is
    False); all True when ``rating`` is None."""
    if rating is None:
        if rating_range is not None:
            raise InputError("rating_range needs the column of numeric ratings: pass rating=<column>", column="rating")
        return pd.Series(True, index=panel.index)
    if rating not in panel.columns:
        raise InputError("column not found", column=rating)
    if rating_range is None:
        raise InputError("give rating_range=(lo, hi) on the numeric scale AAA=1 ... D=22", column="rating_range")
    lo, hi = rating_range
    if not RATING_SCALE[0] <= lo <= hi <= RATING_SCALE[1]:
        raise InputError(f"need {RATING_SCALE[0]} <= lo <= hi <= {RATING_SCALE[1]} (AAA=1 ... D=22), "
                         f"got {rating_range}", column="rating_range")
    r = panel[rating]
    if not pd.api.types.is_numeric_dtype(r) or pd.api.types.is_bool_dtype(r):
        raise InputError("ratings must be numeric (AAA=1 ... D=22); map letter ratings to numbers first",
                         column=rating)
    off = r.notna() & ((r < RATING_SCALE[0]) | (r > RATING_SCALE[1]))
    if off.any():
        pos = int(np.argmax(off.to_numpy()))
        raise InputError(f"{int(off.sum())} ratings outside the scale 1 (AAA) ... 22 (D), e.g. {r.iloc[pos]!r} "
                         f"in row {panel.index[pos]!r}", column=rating)
    return r.between(lo, hi, inclusive="both")


def _restrict(panel: pd.DataFrame, breakpoints: pd.Series | None, rating: str | None,
              rating_range: tuple[float, float] | None) -> tuple[pd.DataFrame, pd.Series | None]:
    """The rows of the sorted universe (rating filter at formation) and the matching breakpoint flags."""
    keep = rating_universe(panel, rating, rating_range)
    if bool(keep.all()):
        return panel, breakpoints
    sub = panel[keep]
    return sub, None if breakpoints is None else breakpoints.loc[sub.index]


def _lookup_table(panel: pd.DataFrame, cols: list[str], entity: str, date: str) -> pd.DataFrame:
    """``cols`` indexed by (bond, calendar month); InputError naming the entity column on duplicates."""
    key = pd.MultiIndex.from_arrays([panel[entity].to_numpy(), _month(panel[date])])
    table = panel[cols].set_axis(key)
    if table.index.duplicated().any():
        dup = table.index[table.index.duplicated()][0]
        raise InputError(f"bond {dup[0]!r} has two rows in {dup[1]}", column=entity)
    return table


def _forward(table: pd.DataFrame, col: str, ids: np.ndarray, month: pd.PeriodIndex, lead: int) -> np.ndarray:
    """Value of ``col`` for the same bond ``lead`` calendar months after each row's month (NaN when absent)."""
    target = pd.MultiIndex.from_arrays([ids, month + lead])
    return table[col].reindex(target).to_numpy(dtype=float)


def portfolio_returns(panel: pd.DataFrame, portfolio: pd.Series, *, ret: str = "ret", entity: str = "id",
                      date: str = "date", weight: str | None = None, holding: int = 1,
                      long_short: tuple[object, object] | None = None, vw_timing: str = "lagged") -> SortResult:
    """Returns of the portfolios given by ``portfolio`` (any hashable label per row, NaN = not held).

    ``ret`` is the bond's return realized in the row's month; ``weight`` a column of market values at the end of
    the row's month (equal weights when None). ``vw_timing`` picks the market value that weights month t+k of a
    cohort formed at t: ``"lagged"`` (default) the value at the end of t+k-1, ``"formation"`` the value at the
    end of t (see the module docstring); it matters only for value weights with ``holding > 1``. Bonds without a
    return in a month drop out and the survivors are re-weighted. ``long_short=(high, low)`` adds ``"H-L"``.
    """
    if holding < 1:
        raise InputError("holding must be at least one month", column="holding")
    if vw_timing not in VW_TIMINGS:
        raise InputError(f"vw_timing must be one of {VW_TIMINGS}, got {vw_timing!r}", column="vw_timing")
    for col in [ret, entity, date] + ([weight] if weight else []):
        if col not in panel.columns:
            raise InputError("column not found", column=col)
    for col in [ret] + ([weight] if weight else []):
        if not pd.api.types.is_numeric_dtype(panel[col]):
            raise InputError(f"must be numeric, found dtype {panel[col].dtype}", column=col)
    formed = _month(panel[date])
    ids = panel[entity].to_numpy()
    port = portfolio.reindex(panel.index).to_numpy()  # aligned by row label
    table = _lookup_table(panel, [ret] + ([weight] if weight else []), entity, date)
    if weight:
        w0 = panel[weight].where(panel[weight] > 0).to_numpy(dtype=float)
    else:
        w0 = np.ones(len(panel))
    cohorts = []
    weights_by_month = []
    for lag in range(1, holding + 1):
        fwd = _forward(table, ret, ids, formed, lag)
        if weight and vw_timing == "lagged" and lag > 1:
            mv = _forward(table, weight, ids, formed, lag - 1)  # market value at the end of month t+lag-1
            w = np.where((mv > 0) & (w0 > 0), mv, np.nan)  # members need a market value at formation too
        else:
            w = w0
        frame = pd.DataFrame({"month": formed + lag, "port": port, "r": fwd, "w": w, "id": ids})
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
                    holding: int = 1, vw_timing: str = "lagged", rating: str | None = None,
                    rating_range: tuple[float, float] | None = None) -> SortResult:
    """Sort bonds into ``n`` quantile portfolios on ``char`` each month; ``"H-L"`` is portfolio n minus 1.

    ``vw_timing`` (value weights over multi-month holdings) and ``rating``/``rating_range`` (the sorted universe:
    bonds rated ``lo <= rating <= hi`` at formation, AAA=1 ... D=22) are described in the module docstring.
    """
    from bondpremia.validate import integer

    n = integer(n, "n", 2)
    holding = integer(holding, "holding", 1)
    sub, bp = _restrict(panel, breakpoints, rating, rating_range)
    if char in sub.columns and date in sub.columns:
        most = int(sub[sub[char].notna()].groupby(date).size().max()) if sub[char].notna().any() else 0
        if most < n:
            raise InputError(f"{n} portfolios, but at most {most} bonds have a value of {char!r} in any month; "
                             f"use fewer portfolios", column="n")
        distinct = int(sub.groupby(date)[char].nunique().max())
        if distinct < 2:
            raise InputError(f"{char!r} takes a single value in every month: nothing to sort on", column="char")
        months = sub[date].nunique()
        if holding >= months:
            raise InputError(f"a {holding}-month holding period needs more than {holding} months; the panel has "
                             f"{months}", column="holding")
    port = quantile_portfolios(sub, char, n, date=date, breakpoints=bp).reindex(panel.index)
    return portfolio_returns(panel, port, ret=ret, entity=entity, date=date, weight=weight, holding=holding,
                             long_short=(float(n), 1.0), vw_timing=vw_timing)


def bivariate_sort(panel: pd.DataFrame, char1: str, char2: str, n1: int = 3, n2: int = 3, *,
                   method: str = "independent", ret: str = "ret", entity: str = "id", date: str = "date",
                   weight: str | None = None, breakpoints: pd.Series | None = None,
                   holding: int = 1, vw_timing: str = "lagged", rating: str | None = None,
                   rating_range: tuple[float, float] | None = None) -> SortResult:
    """Double sort: ``independent`` (both breakpoints from the whole cross-section) or ``dependent`` (``char2``
    breakpoints within each ``char1`` group). Portfolios are labelled ``"i-j"``; ``"H-L"`` is the average over
    ``char1`` groups of (``char2`` high minus low), the usual control-for-``char1`` spread. ``vw_timing`` and the
    rating filter (applied before both sorts) work as in :func:`univariate_sort`."""
    if method not in ("independent", "dependent"):
        raise InputError("method must be 'independent' or 'dependent'", column="method")
    sub, bp = _restrict(panel, breakpoints, rating, rating_range)
    p1 = quantile_portfolios(sub, char1, n1, date=date, breakpoints=bp)
    if method == "independent":
        p2 = quantile_portfolios(sub, char2, n2, date=date, breakpoints=bp)
    else:
        tmp = sub.assign(_g1=p1)
        p2 = quantile_portfolios(tmp[tmp["_g1"].notna()], char2, n2, date=date, within=["_g1"],
                                 breakpoints=None if bp is None else bp[tmp["_g1"].notna()])
        p2 = p2.reindex(sub.index)
    text = p1.fillna(0).astype(int).astype(str) + "-" + p2.fillna(0).astype(int).astype(str)
    label = text.where(p1.notna() & p2.notna()).reindex(panel.index)
    res = portfolio_returns(panel, label, ret=ret, entity=entity, date=date, weight=weight, holding=holding,
                            vw_timing=vw_timing)
    spread = sum(res.returns[f"{i}-{n2}"] - res.returns[f"{i}-1"] for i in range(1, n1 + 1)) / n1
    rets = res.returns.assign(**{"H-L": spread})
    return SortResult(rets, res.counts, res.turnover)


def write_sort(result: SortResult, char: str, out: str | Path, lags: int | None = None) -> pd.DataFrame:
    """Write ``sort_summary_<char>.csv`` (:meth:`SortResult.summary`: rows ``mean, mean_ann, t_stat, months,
    avg_count``, one column per portfolio and ``H-L``; decimal returns) and ``sort_returns_<char>.csv`` (monthly
    portfolio returns, dated at the month they are earned) into ``out``; ``bondpremia report`` reads them.
    Returns the summary."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(char))
    summary = result.summary(lags=lags)
    summary.to_csv(out / f"sort_summary_{safe}.csv", index_label="statistic")
    result.returns.to_csv(out / f"sort_returns_{safe}.csv", index_label="date")
    return summary
