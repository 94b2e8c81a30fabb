"""The characteristics, one :class:`~bondpremia.characteristics.registry.Spec` each, in the order of the panel's
columns: bond, equity and fundamentals, risk, momentum, betas, macro series. Definitions and sources are in
docs/characteristics.md, whose "window / lag" column is each spec's ``dated``. Intermediate quantities
(``output=False``) stand before the first characteristic that needs them.

Every ``compute`` delegates to :mod:`~bondpremia.characteristics.definitions` or the rolling engine; ``v`` is the
:class:`~bondpremia.characteristics.registry.Values` (``v["panel:oas"]``, ``v["spread"]``, ``v.opt.window``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bondpremia.characteristics import definitions as d
from bondpremia.characteristics.engine import (
    pct_change_months,
    rolling_moments,
    rolling_ols,
    rolling_order_statistic,
    rolling_quantile,
)
from bondpremia.characteristics.registry import Spec, Values, check_order

__all__ = ["MACRO_SERIES", "SPECS"]

MACRO_SERIES = ("default_spread", "term_spread", "vix_innovation")  # the same for every bond in a month

ROW = "row of t"
MOM = "6 months, skip 1"
RISK = "36 months (≥ 24)"  # window, min_obs
BETA = "36 months before t (≥ 24)"  # walk-forward: estimated on months before t only


# --- intermediate quantities and the computations longer than a line ----------------------------------------------

def _in_decimals(v: Values, role: str) -> np.ndarray:
    x = v[f"panel:{role}"]
    return x / 100.0 if v.opt.units["ret"] == "percent" else x


def _exret(v: Values) -> np.ndarray:
    """The panel's excess return, else the return minus the risk-free rate (``macro:rf``) when there is one."""
    if v.has("panel:exret"):
        return v["panel:exret"]
    rf = v.get("macro:rf")
    return v["ret"] - (rf[:, None] if rf is not None else 0.0)


def _book_equity(v: Values) -> np.ndarray:
    pb = v["panel:pricetobook"]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pb > 0, v["panel:market_cap"] / pb, np.nan)  # book equity = market cap / (price / book)


def _gross_profitability(v: Values) -> np.ndarray:
    if v.has("panel:gross_profit"):
        return d.gross_profitability(v["panel:gross_profit"], v["panel:assets"])
    return d.gross_profitability(total_assets=v["panel:assets"], gross_margin=v["panel:grossmargin"],
                                 revenue=v["panel:sales"])


def _distance_to_default(v: Values) -> np.ndarray:
    """From a default probability when the panel has one (percent in an ICE panel), else Merton's."""
    if v.has("panel:pd"):
        return d.distance_to_default_from_pd(v["panel:pd"], unit="percent" if v.opt.ice else "decimal")
    drift = np.asarray(d.momentum(v["stock_ret"], 12, 0))
    return d.distance_to_default(v["panel:market_cap"], v["panel:debt"], v["equity_vol"], drift)


def _turnover(v: Values) -> np.ndarray:
    par = v["panel:par"]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(par > 0, v["panel:volume"] / par, np.nan)


def _weights_lagged(v: Values) -> np.ndarray:
    """Value weights known at t - 1 (market value, else par; equal weights without either)."""
    weights = v.get("panel:mv")
    if weights is None:
        weights = v.get("panel:par")
    if weights is None:
        return np.ones_like(v["exret"])
    w_lag = np.full_like(weights, np.nan)
    w_lag[1:] = weights[:-1]
    return w_lag


def _vw_mean(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x) & np.isfinite(w) & (w > 0)
    num = np.where(ok, x * w, 0.0).sum(axis=1)
    den = np.where(ok, w, 0.0).sum(axis=1)
    return np.divide(num, den, out=np.full(len(num), np.nan), where=den > 0)


def _bond_market(v: Values) -> np.ndarray:
    """The bond-market excess return: the panel's value-weighted return (weights of t - 1) or, with
    ``corporate_index``, the corporate index's; orthogonalized to Treasury returns when the macro frame has them."""
    macro, dates, rf = v.macro, v.dates, v.get("macro:rf")
    market = _vw_mean(v["exret"], v["weights_lagged"])
    if macro is not None and v.opt.corporate_index and "corporate_ret" in macro.columns:
        market = (macro["corporate_ret"].reindex(dates) - (pd.Series(rf, index=dates) if rf is not None
                                                           else 0.0)).to_numpy(dtype=float)
    if macro is not None and "treasury_ret" in macro.columns:
        from bondpremia.characteristics.macro import bond_market_return

        tsy = macro["treasury_ret"].reindex(dates) - (pd.Series(rf, index=dates) if rf is not None else 0.0)
        market = bond_market_return(pd.Series(market, index=dates), tsy).reindex(dates).to_numpy()
    return market


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


def _industry_beta(v: Values) -> np.ndarray:
    exret, market = v["exret"], v["bond_market"]
    ind_ret = _industry_returns(exret, v["weights_lagged"], v["panel:industry"])
    X = np.stack([np.broadcast_to(market[:, None], exret.shape), ind_ret], axis=2)
    return rolling_ols(exret, X, window=v.opt.window, min_obs=v.opt.min_obs).coef[:, :, 2]


def _vix_regressors(v: Values) -> np.ndarray:
    """(T, 7): Mkt-RF, SMB, HML, the DEF and TERM returns, the VIX innovation and its lag. DEF = corporate minus
    Treasury return, TERM = Treasury minus the bill rate (Fama and French 1993), taken from ``def_ret``/``term_ret``
    or formed from ``corporate_ret``, ``treasury_ret`` and ``rf``."""
    dfr, trm = v.get("macro:def_ret"), v.get("macro:term_ret")
    if dfr is None:
        dfr = v["macro:corporate_ret"] - v["macro:treasury_ret"]
    if trm is None:
        rf = v.get("macro:rf")
        trm = v["macro:treasury_ret"] - (rf if rf is not None else 0.0)
    vix = v["macro:vix_innovation"]
    lag = np.full_like(vix, np.nan)
    lag[1:] = vix[:-1]
    return np.column_stack([v["macro:Mkt-RF"], v["macro:SMB"], v["macro:HML"], dfr, trm, vix, lag])


def _vix_beta(v: Values) -> np.ndarray:
    coef = rolling_ols(v["exret"], v["vix_regressors"], window=v.opt.window, min_obs=v.opt.min_obs).coef
    return coef[:, :, -2] + coef[:, :, -1]  # current + lagged VIX innovation (KPP Table A.I)


def _macro_series(name: str) -> Spec:
    return Spec(name, (f"macro:{name}",), lambda v: np.broadcast_to(v[f"macro:{name}"][:, None], v.shape),
                "month t (one value for all bonds)")


# --- the registry: declaration order = column order, and a valid order of computation ------------------------------

SPECS: tuple[Spec, ...] = (
    # returns: in decimals; risk measures on credit-excess returns, else on excess returns (with a note)
    Spec("ret", ("panel:ret",), lambda v: _in_decimals(v, "ret"), ROW, output=False),
    Spec("exret", ("panel:exret|ret",), _exret, ROW, uses=("macro:rf",), output=False),
    Spec("credit_exret", ("panel:credit_exret",), lambda v: _in_decimals(v, "credit_exret"), ROW, output=False),
    Spec("risk_ret", ("credit_exret|exret",), lambda v: v["credit_exret"] if v.has("credit_exret")
         else v["exret"], ROW, output=False),
    # --- bond ---
    Spec("age", ("panel:offering_date",), lambda v: d.age_years(v["panel:offering_date"], v.dates), ROW),
    Spec("age_fraction", ("panel:offering_date", "panel:maturity"),
         lambda v: d.age_fraction(v["panel:offering_date"], v["panel:maturity"], v.dates), ROW),
    Spec("time_to_maturity", ("panel:maturity",), lambda v: d.time_to_maturity(v["panel:maturity"], v.dates), ROW),
    Spec("coupon", ("panel:coupon",), lambda v: d.coupon(v["panel:coupon"]), ROW),
    Spec("duration", ("panel:duration",), lambda v: d.duration(v["panel:duration"]), ROW),
    Spec("face_value", ("panel:par",), lambda v: d.face_value(v["panel:par"]), ROW),
    Spec("rating", ("panel:rating",), lambda v: v["panel:rating"], ROW),
    Spec("spread", ("panel:oas",), lambda v: d.spread(v["panel:oas"], unit=v.opt.units["oas"]),
         "end of t (ICE BOM of t+1)"),
    # --- equity and fundamentals ---
    Spec("stock_ret", ("panel:stock_price",), lambda v: pct_change_months(v["panel:stock_price"], 1),
         "month t", output=False),
    Spec("equity_vol", ("stock_ret",), lambda v: rolling_moments(v["stock_ret"], window=v.opt.window,
                                                                  min_obs=v.opt.min_obs).std * np.sqrt(12.0), RISK),
    Spec("equity_momentum", ("stock_ret",), lambda v: d.equity_momentum(v["stock_ret"], 6, 1), MOM),
    Spec("book_to_price", ("panel:pricetobook",), lambda v: d.book_to_price(price_to_book=v["panel:pricetobook"]),
         ROW),
    Spec("earnings_to_price", ("panel:pricetoearnings",),
         lambda v: d.earnings_to_price(price_to_earnings=v["panel:pricetoearnings"]), ROW),
    Spec("market_cap", ("panel:market_cap",), lambda v: d.market_cap(v["panel:market_cap"]), ROW),
    Spec("total_debt", ("panel:debt",), lambda v: d.total_debt(v["panel:debt"]), ROW),
    Spec("debt_to_ebitda", ("panel:debt", "panel:ebitda"),
         lambda v: d.debt_to_ebitda(v["panel:debt"], v["panel:ebitda"]), ROW),
    Spec("market_leverage", ("panel:debt", "panel:market_cap"),
         lambda v: d.market_leverage(v["panel:debt"], v["panel:market_cap"]), ROW),
    Spec("book_equity", ("panel:market_cap", "panel:pricetobook"), _book_equity, ROW, output=False),
    Spec("book_leverage", ("panel:debt", "book_equity"),
         lambda v: d.book_leverage(v["panel:debt"], v["book_equity"]), ROW),
    Spec("operating_leverage", ("panel:sales", "panel:ebitda"),
         lambda v: d.operating_leverage(v["panel:sales"], v["panel:ebitda"]), ROW),
    Spec("turnover_vol", ("panel:sales", "panel:assets"),
         lambda v: d.sales_volatility(v["panel:sales"], v["panel:assets"]),
         "12 quarters (≥ 8), our choice: window not legible"),
    Spec("gross_profitability", ("panel:gross_profit|panel:grossmargin+panel:sales", "panel:assets"),
         _gross_profitability, ROW),
    Spec("profitability_change_5y", ("gross_profitability",),
         lambda v: d.profitability_change_5y(v["gross_profitability"]), "exactly 60 months"),
    # gross profit / sales, percent: not KPP's profitability, kept under its name
    Spec("gross_margin", ("panel:grossmargin",), lambda v: v["panel:grossmargin"], ROW),
    Spec("distance_to_default", ("panel:pd|panel:market_cap+panel:debt+equity_vol+stock_ret",),
         _distance_to_default, ROW),
    Spec("spread_to_d2d", ("spread", "distance_to_default"),
         lambda v: d.spread_to_d2d(v["spread"], v["distance_to_default"]), "end of t"),
    Spec("spread_over_dd", ("spread", "distance_to_default"),
         lambda v: d.spread_to_d2d(v["spread"], v["distance_to_default"], kind="ratio"), "end of t",
         alternative=True),
    # --- risk ---
    Spec("bond_vol", ("risk_ret",), lambda v: rolling_moments(v["risk_ret"], window=v.opt.vol_window,
                                                               min_obs=v.opt.vol_min_obs).std, "24 months (≥ 16)"),
    Spec("bond_skew", ("risk_ret",), lambda v: rolling_moments(v["risk_ret"], window=v.opt.window,
                                                                min_obs=v.opt.min_obs).skew,
         "36 months (≥ 24), our choice"),
    # KPP: "the second lowest credit excess return over the past 36 months" (a return, usually negative)
    Spec("value_at_risk", ("risk_ret",), lambda v: rolling_order_statistic(v["risk_ret"], window=v.opt.window, k=2,
                                                                            min_obs=v.opt.min_obs), RISK),
    Spec("var5", ("ret",), lambda v: -np.asarray(rolling_quantile(v["ret"], window=v.opt.window, q=0.05,
                                                                  min_obs=v.opt.min_obs)), RISK, alternative=True),
    # --- momentum ---
    Spec("bond_momentum", ("ret",), lambda v: d.bond_momentum(v["ret"], 6, 1), MOM),
    Spec("bond_momentum_x_rating", ("bond_momentum", "rating"),
         lambda v: d.rating_momentum_interaction(v["bond_momentum"], v["rating"]), MOM),
    Spec("turnover", ("panel:volume", "panel:par"), _turnover, ROW, output=False),
    # trading turnover (bond volume / amount outstanding), not KPP's sales-based turnover volatility
    Spec("trading_turnover_vol", ("turnover",), lambda v: rolling_moments(v["turnover"], window=12, min_obs=6).std,
         "12 months (≥ 6)"),
    Spec("log_spread_momentum", ("spread",), lambda v: d.log_spread_momentum(v["spread"], 6, 1), MOM),
    Spec("industry_adj_momentum", ("bond_momentum", "panel:industry"),
         lambda v: d.industry_adjusted_momentum(v["bond_momentum"], v["panel:industry"]), MOM),
    # --- betas (walk-forward: months before t) ---
    Spec("weights_lagged", ("exret",), _weights_lagged, "t-1", uses=("panel:mv", "panel:par"), output=False),
    Spec("bond_market", ("exret", "weights_lagged"), _bond_market, "month t (weights of t-1)",
         uses=("macro:corporate_ret", "macro:treasury_ret", "macro:rf"), output=False),
    Spec("bond_market_beta", ("exret", "bond_market"),
         lambda v: rolling_ols(v["exret"], v["bond_market"][:, None], window=v.opt.window,
                               min_obs=v.opt.min_obs).coef[:, :, 1], BETA),
    Spec("industry_beta", ("exret", "weights_lagged", "bond_market", "panel:industry"), _industry_beta, BETA),
    Spec("vix_regressors", ("macro:Mkt-RF", "macro:SMB", "macro:HML",
                            "macro:def_ret|macro:corporate_ret+macro:treasury_ret",
                            "macro:term_ret|macro:treasury_ret", "macro:vix_innovation"),
         _vix_regressors, "month t", uses=("macro:rf",), output=False),
    Spec("vix_beta", ("exret", "vix_regressors"), _vix_beta, BETA),
    # --- macro series (common to all bonds) ---
    *(_macro_series(name) for name in MACRO_SERIES),
)

check_order(SPECS)
