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

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bondpremia.characteristics import definitions as d
from bondpremia.characteristics.engine import (
    cross_sectional_rank,
    pct_change_months,
    rolling_moments,
    rolling_ols,
    rolling_order_statistic,
    rolling_quantile,
    winsorize,
)
from bondpremia.characteristics.grid import ICE_UNITS, SENTINEL, Grid, bom_roles, make_grid, resolve_columns
from bondpremia.errors import (
    InputError,
    MissingInputWarning,  # a characteristic's input is missing; re-exported
)
from bondpremia.validate import to_number

__all__ = ["ALTERNATIVES", "KPP_INPUTS", "KPP_INSTRUMENTS", "CharacteristicsResult", "MissingInputWarning",
           "build_characteristics", "coverage"]

MACRO_SERIES = ("default_spread", "term_spread", "vix_innovation")  # the same for every bond in a month
RISK_WINDOW = 36  # months of the rolling risk measures and betas
RISK_MIN = 24
VOL_WINDOW = 24  # months of bond volatility (KPP 2023, Table A.I: "over the past 24 months")
VOL_MIN = 16

#: The 29 characteristics of Kelly, Palhares and Pruitt (2023, JF), Appendix Table A.I, under bondpremia's names,
#: in the paper's order (13 bond, 10 accounting, 5 equity, 1 macro-beta instruments; IPCA adds a constant).
KPP_INSTRUMENTS = (
    "age", "coupon", "face_value", "book_to_price", "debt_to_ebitda", "duration", "equity_momentum",
    "earnings_to_price", "market_cap", "equity_vol", "total_debt", "bond_momentum", "industry_adj_momentum",
    "bond_momentum_x_rating", "book_leverage", "market_leverage", "turnover_vol", "spread", "operating_leverage",
    "gross_profitability", "profitability_change_5y", "rating", "distance_to_default", "bond_skew",
    "log_spread_momentum", "spread_to_d2d", "bond_vol", "value_at_risk", "vix_beta",
)

#: characteristic -> the inputs it needs (panel roles of :data:`bondpremia.characteristics.grid.ROLES`, or
#: ``macro:<column>``); "a|b" means either. Used to name what is missing when a characteristic cannot be built.
KPP_INPUTS: dict[str, tuple[str, ...]] = {
    "age": ("offering_date",), "coupon": ("coupon",), "face_value": ("par",),
    "book_to_price": ("pricetobook",), "debt_to_ebitda": ("debt", "ebitda"), "duration": ("duration",),
    "equity_momentum": ("stock_price",), "earnings_to_price": ("pricetoearnings",), "market_cap": ("market_cap",),
    "equity_vol": ("stock_price",), "total_debt": ("debt",), "bond_momentum": ("ret",),
    "industry_adj_momentum": ("ret", "industry"), "bond_momentum_x_rating": ("ret", "rating"),
    "book_leverage": ("debt", "market_cap", "pricetobook"), "market_leverage": ("debt", "market_cap"),
    "turnover_vol": ("sales", "assets"), "spread": ("oas",), "operating_leverage": ("sales", "ebitda"),
    "gross_profitability": ("gross_profit|grossmargin+sales", "assets"),
    "profitability_change_5y": ("gross_profit|grossmargin+sales", "assets"), "rating": ("rating",),
    "distance_to_default": ("pd|market_cap+debt+stock_price",),
    "bond_skew": ("ret",), "log_spread_momentum": ("oas",),
    "spread_to_d2d": ("oas", "pd|market_cap+debt+stock_price"), "bond_vol": ("ret",), "value_at_risk": ("ret",),
    "vix_beta": ("ret", "macro:Mkt-RF", "macro:SMB", "macro:HML", "macro:def_ret|corporate_ret+treasury_ret",
                 "macro:term_ret|treasury_ret", "macro:vix_innovation"),
}

#: Alternative definitions (named options, not KPP's): ``var5`` minus the 5% quantile of 36 monthly returns,
#: ``spread_over_dd`` spread / DD (bondpremia's definitions before they followed KPP).
ALTERNATIVES = ("var5", "spread_over_dd")


@dataclass(repr=False)
class CharacteristicsResult:
    """``panel``: long (``id, date``, characteristics, ``exret_next``); ``coverage``: month x characteristic
    non-missing shares (a KPP characteristic that could not be built is a column of zeros); ``names``: the
    characteristics computed; ``missing``: KPP characteristic -> the inputs it lacked; ``notes``: what was
    approximated (e.g. risk measures on excess instead of credit-excess returns)."""

    panel: pd.DataFrame
    coverage: pd.DataFrame
    names: list[str]
    missing: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """Per characteristic: the mean monthly coverage (share of bond-months with a value) and the inputs a
        KPP characteristic lacked."""
        cov = self.coverage.mean() if len(self.coverage) else pd.Series(0.0, index=self.names)
        return pd.DataFrame({"coverage": cov.reindex(self.names),
                             "missing_inputs": [", ".join(self.missing.get(n, [])) for n in self.names]},
                            index=pd.Index(self.names, name="characteristic"))

    def to_frame(self) -> pd.DataFrame:
        return self.panel

    def __repr__(self) -> str:
        months = self.panel["date"].nunique() if "date" in self.panel else 0
        return (f"CharacteristicsResult({len(self.names)} characteristics, {len(self.panel):,} bond-months, "
                f"{months} months, {len(self.missing)} not built)")

    def save(self, out: Any, *, force: bool = False) -> Any:
        """``characteristics.parquet`` and ``coverage.csv`` (the files of ``bondpremia characteristics``)."""
        from bondpremia.results import save_tables

        return save_tables(out, "characteristics build", {"characteristics.parquet": self.panel,
                                                          "coverage.csv": self.coverage}, force=force)

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
    return _clean(to_number(panel[column], column))


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


def _lead(x: np.ndarray) -> np.ndarray:
    """Row t gets the value of row t + 1 (NaN in the last row): a beginning-of-month field of month t + 1 is the
    value known at the end of month t."""
    out = np.full_like(x, np.nan)
    out[:-1] = x[1:]
    return out


def _macro_col(macro: pd.DataFrame | None, dates: pd.DatetimeIndex, name: str) -> np.ndarray | None:
    if macro is None or name not in macro.columns:
        return None
    return macro[name].reindex(dates).to_numpy(dtype=float)


def _have(need: str, roles: dict[str, str], macro: pd.DataFrame | None) -> bool:
    """Whether an entry of :data:`KPP_INPUTS` is available: ``a|b+c`` is a or (b and c)."""
    if need.startswith("macro:"):
        cols = set(macro.columns) if macro is not None else set()
        return any(all(p in cols for p in alt.split("+")) for alt in need[len("macro:"):].split("|"))
    return any(all(p in roles for p in alt.split("+")) for alt in need.split("|"))


def build_characteristics(
    panel: pd.DataFrame,
    macro: pd.DataFrame | None = None,
    *,
    units: dict[str, str] | None = None,
    rank: bool = False,
    winsor: float | None = None,
    window: int = RISK_WINDOW,
    min_obs: int = RISK_MIN,
    vol_window: int = VOL_WINDOW,
    vol_min_obs: int = VOL_MIN,
    corporate_index: bool = False,
    bom_timing: str = "ice_bom",
    universe: str | None = None,
    alternatives: tuple[str, ...] | list[str] = (),
    strict: bool = False,
) -> CharacteristicsResult:
    """Compute every characteristic the panel's columns allow (definitions of Kelly, Palhares and Pruitt 2023,
    Appendix Table A.I, where they define one; docs/characteristics.md has the table).

    Parameters
    ----------
    panel:
        Long bond-month panel (columns recognized by :data:`bondpremia.characteristics.grid.ROLES`,
        case-insensitive, ICE ``*_BOM``/``*_EOM`` suffixes included).
    macro:
        Month-end indexed frame with any of ``default_spread, term_spread, vix_innovation, rf`` (decimals; see
        :func:`bondpremia.characteristics.macro.read_macro_folder`), the Fama-French ``Mkt-RF, SMB, HML``, and
        the returns ``def_ret`` (corporate minus Treasury) and ``term_ret`` (Treasury minus bill), or
        ``corporate_ret`` and ``treasury_ret`` to form them. Needed for the macro series and the VIX beta.
    units:
        ``{"ret": "percent"|"decimal", "oas": "bp"|"percent"|"decimal"}``; default: ICE units (percent, bp)
        when the panel has ICE column names (``Return``, ``oas``), otherwise decimals.
    rank:
        Replace every characteristic by its cross-sectional rank in [-0.5, 0.5] per month, missing -> 0
        (Kelly, Pruitt and Su 2019). The macro series (:data:`MACRO_SERIES`) keep their values.
    winsor:
        Winsorize every cross-sectional characteristic per month at ``winsor`` and ``1 - winsor`` before
        ranking.
    window, min_obs:
        Months (and fewest usable months) of the betas, skewness and value-at-risk (36, 24).
    vol_window, vol_min_obs:
        Months of bond volatility (24, as KPP) and the fewest usable.
    corporate_index:
        Take the corporate index return ``macro["corporate_ret"]`` as the bond market instead of the panel's own
        value-weighted return (orthogonalized to ``macro["treasury_ret"]`` when given).
    bom_timing:
        ``"ice_bom"`` (default): a beginning-of-month field (``oas_BOM``) reported on the row of month t + 1 is
        the value at the end of month t, so characteristic t takes it from row t + 1 -- known at t, no
        look-ahead. ``"as_reported"`` treats it as a value of the end of its own row's month.
    universe:
        ``"kpp"``: keep only bond-months with a spread between 50 and 2,000 bp and a duration of at least 0.25
        years at t (KPP 2023, Section II; before ranking, so ranks are within the universe).
    alternatives:
        Extra characteristics under alternative definitions (:data:`ALTERNATIVES`).
    strict:
        Raise :class:`InputError` instead of warning when a KPP characteristic cannot be built.
    """
    if not isinstance(panel, pd.DataFrame) or panel.empty:
        raise InputError("the panel must be a non-empty DataFrame", column="panel")
    if bom_timing not in ("ice_bom", "as_reported"):
        raise InputError(f"bom_timing must be 'ice_bom' or 'as_reported', got {bom_timing!r}", column="bom_timing")
    if universe not in (None, "kpp"):
        raise InputError(f"universe must be None or 'kpp', got {universe!r}", column="universe")
    unknown = [a for a in alternatives if a not in ALTERNATIVES]
    if unknown:
        raise InputError(f"unknown alternative definition(s) {unknown}; known: {list(ALTERNATIVES)}",
                         column="alternatives")
    roles = resolve_columns(list(panel.columns))
    bom = bom_roles(roles) if bom_timing == "ice_bom" else set()
    grid = make_grid(panel, roles)
    T, N = grid.shape
    ice = str(roles.get("ret", "")).lower() == "return"
    for key, val in (units or {}).items():
        allowed = {"ret": ("percent", "decimal"), "oas": ("bp", "percent", "decimal")}.get(key)
        if allowed is None or val not in allowed:
            raise InputError(f"unit {key}={val!r}: expected ret in {{percent, decimal}} and oas in "
                             f"{{bp, percent, decimal}}", column=f"{key}_unit")
    units = {**(ICE_UNITS if ice else {"ret": "decimal", "oas": "decimal"}), **(units or {})}
    dates = grid.dates
    notes: list[str] = []

    def wide(role: str) -> np.ndarray | None:
        if role not in roles:
            return None
        x = grid.wide(_numeric(panel, roles[role]))
        return _lead(x) if role in bom else x

    chars: dict[str, np.ndarray] = {}
    ret = wide("ret")
    if ret is not None and units["ret"] == "percent":
        ret = ret / 100.0
    exret = wide("exret")
    rf = _macro_col(macro, dates, "rf")
    if exret is None and ret is not None:
        exret = ret - (rf[:, None] if rf is not None else 0.0)
    credit = wide("credit_exret")
    if credit is not None and units["ret"] == "percent":
        credit = credit / 100.0
    risk_ret = credit if credit is not None else exret
    if credit is None and exret is not None:
        notes.append("no credit-excess return column (credit_exret): bond_vol, bond_skew and value_at_risk are "
                     "computed on returns in excess of the risk-free rate, not of a duration-matched Treasury")
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
        if "rating" in bom:
            rating = _lead(rating)
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
    ebitda = wide("ebitda")
    if debt is not None:
        chars["total_debt"] = np.asarray(d.total_debt(debt))
        if ebitda is not None:
            chars["debt_to_ebitda"] = np.asarray(d.debt_to_ebitda(debt, ebitda))
        if mcap is not None:
            chars["market_leverage"] = np.asarray(d.market_leverage(debt, mcap))
            if pb is not None:
                with np.errstate(invalid="ignore", divide="ignore"):
                    book = np.where(pb > 0, mcap / pb, np.nan)  # book equity = market cap / (price / book)
                chars["book_leverage"] = np.asarray(d.book_leverage(debt, book))
    sales, assets = wide("sales"), wide("assets")
    if sales is not None and ebitda is not None:
        chars["operating_leverage"] = np.asarray(d.operating_leverage(sales, ebitda))
    if sales is not None and assets is not None:
        chars["turnover_vol"] = np.asarray(d.sales_volatility(sales, assets))
    gm, gp = wide("grossmargin"), wide("gross_profit")
    if assets is not None and (gp is not None or (gm is not None and sales is not None)):
        gpa = np.asarray(d.gross_profitability(gp, assets) if gp is not None
                         else d.gross_profitability(total_assets=assets, gross_margin=gm, revenue=sales))
        chars["gross_profitability"] = gpa
        chars["profitability_change_5y"] = np.asarray(d.profitability_change_5y(gpa))
    if gm is not None:
        chars["gross_margin"] = gm  # gross profit / sales, percent: not KPP's profitability, kept under its name
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
            if "spread_over_dd" in alternatives:
                chars["spread_over_dd"] = np.asarray(d.spread_to_d2d(spread, dd, kind="ratio"))
    # --- risk -----------------------------------------------------------------------------------------------
    if risk_ret is not None:
        chars["bond_vol"] = rolling_moments(risk_ret, window=vol_window, min_obs=vol_min_obs).std
        chars["bond_skew"] = rolling_moments(risk_ret, window=window, min_obs=min_obs).skew
        # KPP: "the second lowest credit excess return over the past 36 months" (a return, usually negative)
        chars["value_at_risk"] = np.asarray(rolling_order_statistic(risk_ret, window=window, k=2, min_obs=min_obs))
    if ret is not None:
        if "var5" in alternatives:
            chars["var5"] = -np.asarray(rolling_quantile(ret, window=window, q=0.05, min_obs=min_obs))
        chars["bond_momentum"] = np.asarray(d.bond_momentum(ret, 6, 1))
        if rating is not None:
            chars["bond_momentum_x_rating"] = np.asarray(d.rating_momentum_interaction(chars["bond_momentum"],
                                                                                       rating))
    volume = wide("volume")
    if volume is not None and par is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            turnover = np.where(par > 0, volume / par, np.nan)
        # trading turnover (bond volume / amount outstanding), not KPP's sales-based turnover volatility
        chars["trading_turnover_vol"] = rolling_moments(turnover, window=12, min_obs=6).std
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
        vix_x = _vix_regressors(macro, dates, rf)
        if vix_x is not None:
            coef = rolling_ols(exret, vix_x, window=window, min_obs=min_obs).coef
            chars["vix_beta"] = coef[:, :, -2] + coef[:, :, -1]  # current + lagged VIX innovation (KPP Table A.I)
    # --- macro series (common to all bonds) -----------------------------------------------------------------
    if macro is not None:
        for name in MACRO_SERIES:
            if name in macro.columns:
                chars[name] = np.broadcast_to(macro[name].reindex(dates).to_numpy(dtype=float)[:, None], (T, N))
    missing = {c: [n for n in KPP_INPUTS[c] if not _have(n, roles, macro)] or ["(all inputs empty)"]
               for c in KPP_INSTRUMENTS if c not in chars}
    if missing:
        text = "; ".join(f"{c} needs {', '.join(v)}" for c, v in missing.items())
        if strict:
            raise InputError(f"{len(missing)} KPP characteristic(s) cannot be built: {text}", column="panel")
        warnings.warn(f"{len(missing)} of the 29 KPP characteristics cannot be built from this panel: {text}",
                      MissingInputWarning, stacklevel=2)
    keep = None
    if universe == "kpp":
        if spread is None or "duration" not in chars:
            raise InputError("universe='kpp' needs a spread (oas) and a duration column", column="universe")
        keep = (spread >= 0.005) & (spread <= 0.20) & (chars["duration"] >= 0.25)
    res = _assemble(grid, chars, exret, rank=rank, winsor=winsor, keep=keep)
    for c in missing:
        res.coverage[c] = 0.0
    res.missing, res.notes = missing, notes
    return res


def _vix_regressors(macro: pd.DataFrame | None, dates: pd.DatetimeIndex, rf: np.ndarray | None) -> np.ndarray | None:
    """(T, 7): Mkt-RF, SMB, HML, the DEF and TERM returns, the VIX innovation and its lag; None when an input is
    missing. DEF = corporate minus Treasury return, TERM = Treasury minus the bill rate (Fama and French 1993),
    taken from ``def_ret``/``term_ret`` or formed from ``corporate_ret``, ``treasury_ret`` and ``rf``."""
    found = [_macro_col(macro, dates, c) for c in ("Mkt-RF", "SMB", "HML", "vix_innovation")]
    dfr, trm = _macro_col(macro, dates, "def_ret"), _macro_col(macro, dates, "term_ret")
    corp, tsy = _macro_col(macro, dates, "corporate_ret"), _macro_col(macro, dates, "treasury_ret")
    if dfr is None and corp is not None and tsy is not None:
        dfr = corp - tsy
    if trm is None and tsy is not None:
        trm = tsy - (rf if rf is not None else 0.0)
    cols = [c for c in found if c is not None]
    if len(cols) < len(found) or dfr is None or trm is None:
        return None
    mkt, smb, hml, vix = cols
    lag = np.full_like(vix, np.nan)
    lag[1:] = vix[:-1]
    return np.column_stack([mkt, smb, hml, dfr, trm, vix, lag])


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
              winsor: float | None, keep: np.ndarray | None = None) -> CharacteristicsResult:
    names = list(chars)
    if keep is not None:  # a universe filter: rows outside it leave the panel before winsorizing and ranking
        inside = keep[grid.row, grid.col]
        grid = Grid(grid.dates, grid.ids, grid.row[inside], grid.col[inside])
    long = pd.DataFrame({"id": grid.ids.to_numpy()[grid.col], "date": grid.dates.to_numpy()[grid.row]})
    present = pd.DataFrame({"date": long["date"]})
    on_grid = np.full(grid.shape, False)
    on_grid[grid.row, grid.col] = True
    for name in names:
        x = np.where(np.isfinite(chars[name]), chars[name], np.nan)
        present[name] = np.isfinite(grid.long(x))
        if name in MACRO_SERIES:  # one value per month: nothing to winsorize or rank across bonds
            long[name] = grid.long(x)
            continue
        if winsor is not None:
            x = np.asarray(winsorize(np.where(on_grid, x, np.nan), lower=winsor, upper=1.0 - winsor))
        if rank:
            # ranks among the bonds in the panel that month; missing -> 0 after ranking
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
