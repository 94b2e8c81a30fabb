"""The characteristics panel: every bond, equity, risk, momentum and beta characteristic of a monthly bond panel,
dated at the end of month ``t`` with information available then, computed on the dense bond x month grid.

Input: a long panel (one row a bond-month) from ``bondpremia trace monthly`` (``cusip_id, date, ret, exret, rf,
amount_outstanding, mv, maturity, rating_num, vol_par``, optionally joined with FISD terms) or an index-constituent
panel in the ICE BofA style (``Pricing_Date, ISIN, Return, oas, DUR, Rating, Coupon, ParAmount, Maturity, Sector
level ..., Stock_Price, marketcap, debt, ebitda, ebit, grossmargin, pricetobook, pricetoearnings, PD_DRISK``, with
-99.99 for missing; returns in percent and OAS in basis points). A characteristic whose inputs are absent is left
out; ``coverage`` reports the non-missing share of every characteristic by month.

Timing: a value dated ``t`` uses data through the end of ``t`` (rolling moments and momentum) or through ``t - 1``
(the walk-forward betas, estimated only on months before ``t``); the column ``exret_next`` is the excess return of
``t + 1`` (calendar month) on the row of ``t``, the left-hand side of a return forecast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bondpremia.characteristics import definitions as d
from bondpremia.characteristics.engine import (
    cross_sectional_rank,
    pct_change_months,
    rolling_moments,
    rolling_ols,
    rolling_quantile,
    winsorize,
)
from bondpremia.characteristics.grid import ICE_UNITS, SENTINEL, Grid, make_grid, resolve_columns
from bondpremia.errors import InputError

__all__ = ["CharacteristicsResult", "build_characteristics", "coverage"]

MACRO_SERIES = ("default_spread", "term_spread", "vix_innovation")  # the same for every bond in a month
RISK_WINDOW = 36  # months of the rolling risk measures and betas
RISK_MIN = 24


@dataclass
class CharacteristicsResult:
    """``panel``: long (``id, date``, characteristics, ``exret_next``); ``coverage``: month x characteristic
    non-missing shares; ``names``: the characteristics computed."""

    panel: pd.DataFrame
    coverage: pd.DataFrame
    names: list[str]

    @property
    def cross_sectional(self) -> list[str]:
        """The characteristics that differ across bonds: ``names`` without the macro series, which are the same
        for every bond in a month (instruments of a factor model such as IPCA, or sort variables)."""
        return [n for n in self.names if n not in MACRO_SERIES]


def _clean(values: np.ndarray) -> np.ndarray:
    out = np.asarray(values, dtype=float).copy()
    out[(out == SENTINEL) | ~np.isfinite(out)] = np.nan
    return out


def _numeric(panel: pd.DataFrame, column: str) -> np.ndarray:
    values = pd.to_numeric(panel[column], errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values) & panel[column].notna().to_numpy()
    if bad.any():  # look at the text only where the conversion failed
        text = panel[column].iloc[np.flatnonzero(bad)].astype(str).str.strip()
        bad[np.flatnonzero(bad)] = ~text.isin(["", "nan", "NaN", "NA", "None", "."]).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"value {panel[column].iloc[row]!r} is not a number", column=column, row=row)
    return _clean(values)


def _wide_dates(panel: pd.DataFrame, column: str, grid: Grid) -> np.ndarray:
    """(T, N) datetime64[ns] of a date column as reported in each bond-month (NaT elsewhere): terms are read
    from the row of month t, never from a later row."""
    values = pd.to_datetime(panel[column], errors="coerce").to_numpy(dtype="datetime64[ns]")
    out = np.full(grid.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    out[grid.row, grid.col] = values
    return out


def _vw_mean(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x) & np.isfinite(w) & (w > 0)
    num = np.where(ok, x * w, 0.0).sum(axis=1)
    den = np.where(ok, w, 0.0).sum(axis=1)
    return np.divide(num, den, out=np.full(len(num), np.nan), where=den > 0)


def build_characteristics(
    panel: pd.DataFrame,
    macro: pd.DataFrame | None = None,
    *,
    units: dict[str, str] | None = None,
    rank: bool = False,
    winsor: float | None = None,
    window: int = RISK_WINDOW,
    min_obs: int = RISK_MIN,
    corporate_index: bool = False,
) -> CharacteristicsResult:
    """Compute every characteristic the panel's columns allow.

    Parameters
    ----------
    panel:
        Long bond-month panel (columns recognized by :data:`bondpremia.characteristics.grid.ROLES`).
    macro:
        Month-end indexed frame with any of ``default_spread, term_spread, vix_innovation, rf`` (decimals; see
        :func:`bondpremia.characteristics.macro.read_macro_folder`), and Fama-French ``Mkt-RF, SMB, HML``
        (decimals) and a Treasury return ``treasury_ret`` when available. Needed for the macro series and the
        VIX beta; the bond-market and industry betas use the panel itself.
    units:
        ``{"ret": "percent"|"decimal", "oas": "bp"|"percent"|"decimal"}``; default: ICE units (percent, bp)
        when the panel has ICE column names (``Return``, ``oas``), otherwise decimals.
    rank:
        Replace every characteristic by its cross-sectional rank in [-0.5, 0.5] per month, missing -> 0
        (Kelly, Pruitt and Su 2019). The macro series (:data:`MACRO_SERIES`, one value per month) keep their
        values: a rank across bonds that all share a value carries nothing.
    winsor:
        Winsorize every cross-sectional characteristic per month at ``winsor`` and ``1 - winsor`` before
        ranking.
    window, min_obs:
        Months in the rolling risk measures and betas, and the fewest usable months.
    corporate_index:
        Take the corporate index return ``macro["corporate_ret"]`` (e.g. the LQD ETF) as the bond market instead
        of the panel's own value-weighted return. Either is orthogonalized to ``macro["treasury_ret"]`` when
        that is given (walk-forward slope, :func:`bondpremia.characteristics.macro.bond_market_return`).
    """
    if not isinstance(panel, pd.DataFrame) or panel.empty:
        raise InputError("the panel must be a non-empty DataFrame", column="panel")
    roles = resolve_columns(list(panel.columns))
    grid = make_grid(panel, roles)
    T, N = grid.shape
    ice = str(roles.get("ret", "")).lower() == "return"
    units = {**(ICE_UNITS if ice else {"ret": "decimal", "oas": "decimal"}), **(units or {})}
    dates = grid.dates

    def wide(role: str) -> np.ndarray | None:
        return grid.wide(_numeric(panel, roles[role])) if role in roles else None

    chars: dict[str, np.ndarray] = {}
    ret = wide("ret")
    if ret is not None and units["ret"] == "percent":
        ret = ret / 100.0
    exret = wide("exret")
    rf = None
    if macro is not None and "rf" in macro.columns:
        rf = macro["rf"].reindex(dates).to_numpy(dtype=float)
    if exret is None and ret is not None:
        exret = ret - (rf[:, None] if rf is not None else 0.0)
    # --- bond -------------------------------------------------------------------------------------------------
    if "offering_date" in roles:
        off = _wide_dates(panel, roles["offering_date"], grid)
        chars["age"] = np.asarray(d.age_years(off, dates))
        if "maturity" in roles:
            chars["age_fraction"] = np.asarray(d.age_fraction(off, _wide_dates(panel, roles["maturity"], grid),
                                                              dates))
    if "maturity" in roles:
        chars["time_to_maturity"] = np.asarray(d.time_to_maturity(_wide_dates(panel, roles["maturity"], grid),
                                                                  dates))
    for role, name, fn in (("coupon", "coupon", d.coupon), ("duration", "duration", d.duration)):
        x = wide(role)
        if x is not None:
            chars[name] = np.asarray(fn(x))
    par = wide("par")
    if par is not None:
        chars["face_value"] = np.asarray(d.face_value(par))
    rating = None
    if "rating" in roles:
        col = panel[roles["rating"]]
        nums = pd.to_numeric(col, errors="coerce")
        if nums.notna().sum() >= col.notna().sum() * 0.99:
            rating = grid.wide(_clean(nums.to_numpy(dtype=float)))
        else:
            rating = np.asarray(d.rating_numeric(grid.wide(col.to_numpy(dtype=object), dtype=object)), dtype=float)
        chars["rating"] = rating
    oas = wide("oas")
    spread = None
    if oas is not None:
        spread = np.asarray(d.spread(oas, unit=units["oas"]))
        chars["spread"] = spread
    # --- equity and fundamentals ----------------------------------------------------------------------------
    mcap, debt = wide("market_cap"), wide("debt")
    stock = wide("stock_price")
    stock_ret = None
    if stock is not None:
        stock_ret = np.asarray(pct_change_months(stock, 1))
    equity_vol = None
    if stock_ret is not None:
        equity_vol = rolling_moments(stock_ret, window=window, min_obs=min_obs).std * np.sqrt(12.0)
        chars["equity_vol"] = equity_vol
        chars["equity_momentum"] = np.asarray(d.equity_momentum(stock_ret, 6, 1))
    pb, pe = wide("pricetobook"), wide("pricetoearnings")
    if pb is not None:
        chars["book_to_price"] = np.asarray(d.book_to_price(price_to_book=pb))
    if pe is not None:
        chars["earnings_to_price"] = np.asarray(d.earnings_to_price(price_to_earnings=pe))
    if mcap is not None:
        chars["market_cap"] = np.asarray(d.market_cap(mcap))
    if debt is not None:
        chars["total_debt"] = np.asarray(d.total_debt(debt))
        ebitda = wide("ebitda")
        if ebitda is not None:
            chars["debt_to_ebitda"] = np.asarray(d.debt_to_ebitda(debt, ebitda))
        if mcap is not None:
            chars["market_leverage"] = np.asarray(d.market_leverage(debt, mcap))
            if pb is not None:
                with np.errstate(invalid="ignore", divide="ignore"):
                    book = np.where(pb > 0, mcap / pb, np.nan)  # book equity = market cap / (price / book)
                chars["book_leverage"] = np.asarray(d.book_leverage(debt, book))
    gm = wide("grossmargin")
    if gm is not None:
        # an index-style panel has gross margin (gross profit / sales), not gross profit / assets: it is the
        # profitability measure used, and named for what it is
        chars["gross_margin"] = gm
        chars["profitability_change_5y"] = np.asarray(d.profitability_change_5y(gm))
    pdef = wide("pd")
    dd = None
    if pdef is not None:
        dd = np.asarray(d.distance_to_default_from_pd(pdef, unit="percent" if ice else "decimal"))
    elif mcap is not None and debt is not None and equity_vol is not None and stock_ret is not None:
        drift = np.asarray(d.momentum(stock_ret, 12, 0))
        dd = np.asarray(d.distance_to_default(mcap, debt, equity_vol, drift))
    if dd is not None:
        chars["distance_to_default"] = dd
        if spread is not None:
            chars["spread_to_d2d"] = np.asarray(d.spread_to_d2d(spread, dd))
    # --- risk -----------------------------------------------------------------------------------------------
    if ret is not None:
        mom = rolling_moments(ret, window=window, min_obs=min_obs)
        chars["bond_vol"] = mom.std
        chars["bond_skew"] = mom.skew
        chars["var5"] = -np.asarray(rolling_quantile(ret, window=window, q=0.05, min_obs=min_obs))
        chars["bond_momentum"] = np.asarray(d.bond_momentum(ret, 6, 1))
        if rating is not None:
            chars["bond_momentum_x_rating"] = np.asarray(d.rating_momentum_interaction(chars["bond_momentum"],
                                                                                       rating))
    volume = wide("volume")
    if volume is not None and par is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            turnover = np.where(par > 0, volume / par, np.nan)
        chars["turnover_vol"] = rolling_moments(turnover, window=12, min_obs=6).std
    if spread is not None:
        chars["log_spread_momentum"] = np.asarray(d.log_spread_momentum(spread, 6, 1))
    industry = None
    if "industry" in roles:
        industry = grid.wide(panel[roles["industry"]].astype(object).to_numpy(), dtype=object)
        if "bond_momentum" in chars:
            chars["industry_adj_momentum"] = np.asarray(d.industry_adjusted_momentum(chars["bond_momentum"],
                                                                                     industry))
    # --- betas (walk-forward: months before t) --------------------------------------------------------------
    weights = wide("mv")
    if weights is None and par is not None:
        weights = par
    if exret is not None:
        w_lag = np.ones_like(exret)
        if weights is not None:  # weights known at t - 1
            w_lag = np.full_like(weights, np.nan)
            w_lag[1:] = weights[:-1]
        market = _vw_mean(exret, w_lag)  # value-weighted bond-market excess return (weights known at t-1)
        if macro is not None and corporate_index and "corporate_ret" in macro.columns:
            market = (macro["corporate_ret"].reindex(dates) - (pd.Series(rf, index=dates) if rf is not None
                                                                 else 0.0)).to_numpy(dtype=float)
        if macro is not None and "treasury_ret" in macro.columns:
            from bondpremia.characteristics.macro import bond_market_return

            tsy = macro["treasury_ret"].reindex(dates) - (pd.Series(rf, index=dates) if rf is not None else 0.0)
            market = bond_market_return(pd.Series(market, index=dates), tsy).reindex(dates).to_numpy()
        fit = rolling_ols(exret, market[:, None], window=window, min_obs=min_obs)
        chars["bond_market_beta"] = fit.coef[:, :, 1]
        if industry is not None:
            ind_ret = _industry_returns(exret, w_lag, industry)
            X = np.stack([np.broadcast_to(market[:, None], exret.shape), ind_ret], axis=2)
            chars["industry_beta"] = rolling_ols(exret, X, window=window, min_obs=min_obs).coef[:, :, 2]
        need = ["Mkt-RF", "SMB", "HML", "default_spread", "term_spread", "vix_innovation"]
        if macro is not None and all(c in macro.columns for c in need):
            F = macro[need].reindex(dates).to_numpy(dtype=float)
            chars["vix_beta"] = rolling_ols(exret, F, window=window, min_obs=min_obs).coef[:, :, -1]
    # --- macro series (common to all bonds) -----------------------------------------------------------------
    if macro is not None:
        for name in MACRO_SERIES:
            if name in macro.columns:
                chars[name] = np.broadcast_to(macro[name].reindex(dates).to_numpy(dtype=float)[:, None], (T, N))
    return _assemble(grid, chars, exret, rank=rank, winsor=winsor)


def _industry_returns(exret: np.ndarray, weights: np.ndarray, industry: np.ndarray) -> np.ndarray:
    """(T, N): the value-weighted excess return of each bond's industry in each month (the bond included)."""
    labels = pd.Series(industry.ravel()).astype("string")
    flat, _ = pd.factorize(labels, use_na_sentinel=True)
    codes = np.asarray(flat).reshape(industry.shape)
    T = exret.shape[0]
    ok = (codes >= 0) & np.isfinite(exret) & np.isfinite(weights) & (weights > 0)
    G = int(codes.max()) + 1 if (codes >= 0).any() else 0
    key = (np.arange(T)[:, None] * max(G, 1) + np.where(codes >= 0, codes, 0))
    num = np.bincount(key[ok], weights=(exret * weights)[ok], minlength=T * max(G, 1))
    den = np.bincount(key[ok], weights=weights[ok], minlength=T * max(G, 1))
    mean = np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)
    out = mean[key]
    out[codes < 0] = np.nan
    return out


def _assemble(grid: Grid, chars: dict[str, np.ndarray], exret: np.ndarray | None, *, rank: bool,
              winsor: float | None) -> CharacteristicsResult:
    names = list(chars)
    long = pd.DataFrame({"id": grid.ids.to_numpy()[grid.col], "date": grid.dates.to_numpy()[grid.row]})
    present = pd.DataFrame({"date": long["date"]})
    for name in names:
        x = np.where(np.isfinite(chars[name]), chars[name], np.nan)
        present[name] = np.isfinite(grid.long(x))
        if name in MACRO_SERIES:  # one value per month: nothing to winsorize or rank across bonds
            long[name] = grid.long(x)
            continue
        if winsor is not None:
            x = np.asarray(winsorize(x, lower=winsor, upper=1.0 - winsor))
        if rank:
            # ranks among the bonds in the panel that month; missing -> 0 after ranking
            on_grid = np.full(x.shape, False)
            on_grid[grid.row, grid.col] = True
            x = np.asarray(cross_sectional_rank(np.where(on_grid, x, np.nan), missing="zero"))
        long[name] = grid.long(x)
    if exret is not None:
        nxt = np.full_like(exret, np.nan)
        nxt[:-1] = exret[1:]
        long["exret_next"] = grid.long(nxt)
    order = np.lexsort((long["id"].to_numpy(), long["date"].to_numpy()))
    long = long.iloc[order].reset_index(drop=True)
    cov = present.groupby("date")[names].mean() if names else pd.DataFrame(index=pd.Index([], name="date"))
    return CharacteristicsResult(long, cov, names)


def coverage(panel: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Share of the panel's bonds with a non-missing value, per month (rows) and characteristic (columns)."""
    return panel[["date", *names]].set_index("date").notna().groupby(level="date").mean()
