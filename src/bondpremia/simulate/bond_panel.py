"""A simulated index-constituent bond panel in the ICE BofA style, for the characteristics tests, benchmark and demo.

Bonds of a few hundred issuers enter and leave the index (unbalanced panel, with occasional one-month gaps);
firm-level stock prices and fundamentals drive the bonds' spreads and returns. Column names, units and quirks
follow index-constituent files merged with issuer fundamentals: ``Pricing_Date`` (month end), ``ISIN``,
``Return`` (percent), ``credit_exret`` (percent: the return minus that of a duration-matched Treasury),
``oas_BOM`` (basis points, at the **beginning** of the row's month, i.e. the end of the month before), ``DUR``
(years), ``Rating`` (ICE composite strings such as ``"BBB2"``), ``Coupon`` (percent), ``ParAmount``,
``Maturity``, ``issue_date``, ``Sector level 3``, ``Stock_Price``, ``marketcap``, ``debt``, ``ebitda``, ``ebit``,
``grossmargin`` (percent), ``pricetobook``, ``pricetoearnings``, ``leverageratio`` (percent), ``PD_DRISK``
(percent), and the quarterly ``sales`` and ``assets`` (repeated in the months of their quarter), with ``-99.99``
for a missing value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bondpremia.errors import InputError

__all__ = ["ICE_RATINGS", "simulate_bond_panel"]

ICE_RATINGS = ("AAA", "AA1", "AA2", "AA3", "A1", "A2", "A3", "BBB1", "BBB2", "BBB3", "BB1", "BB2", "BB3", "B1", "B2",
               "B3", "CCC1", "CCC2", "CCC3", "CC", "C", "D")
SECTORS = ("Banking", "Basic Industry", "Capital Goods", "Consumer Cyclical", "Consumer Non-Cyclical", "Energy",
           "Healthcare", "Insurance", "Media", "Real Estate", "Technology & Electronics", "Telecommunications",
           "Transportation", "Utility")


def simulate_bond_panel(n_bonds: int = 5000, n_months: int = 190, seed: int = 0, start: str = "2003-01",
                        bonds_per_issuer: int = 4, missing_rate: float = 0.01) -> pd.DataFrame:
    """Long panel (one row a bond-month), sorted by date and ISIN, deterministic given ``seed``."""
    if n_bonds < 1 or n_months < 2:
        raise InputError("need at least one bond and two months", column="n_bonds")
    rng = np.random.default_rng(seed)
    n_firms = max(1, n_bonds // bonds_per_issuer)
    T = n_months
    # firms: stock prices (GBM), fundamentals with persistent noise, industry, rating
    sector = rng.integers(0, len(SECTORS), n_firms)
    r_stock = 0.008 + 0.09 * rng.standard_normal((T, n_firms)) + 0.04 * rng.standard_normal((T, 1))
    price = 40 * np.exp(np.cumsum(r_stock, axis=0)) * rng.lognormal(0, 0.5, n_firms)
    shares = rng.lognormal(np.log(2e8), 1.0, n_firms)
    mcap = price * shares
    debt = mcap * rng.lognormal(np.log(0.6), 0.6, n_firms) * np.exp(np.cumsum(0.02 * rng.standard_normal((T, n_firms)),
                                                                              axis=0))
    ebitda = (0.12 + 0.02 * rng.standard_normal((T, n_firms))) * (debt + mcap) * 0.3
    ebit = ebitda * 0.7
    gross = 35 + 8 * rng.standard_normal(n_firms) + np.cumsum(0.5 * rng.standard_normal((T, n_firms)), axis=0)
    ptb = np.exp(np.log(2.0) + 0.5 * rng.standard_normal(n_firms) + np.cumsum(0.03 * rng.standard_normal(
        (T, n_firms)), axis=0))
    pte = mcap / np.where(np.abs(ebit * 0.6) < 1, 1.0, ebit * 0.6)
    lev = debt / (debt + mcap)
    base_rating = np.clip(np.round(2 + 14 * lev.mean(axis=0) + 2 * rng.standard_normal(n_firms)), 1, 20)
    # bonds: issuer, life in the index, terms
    firm = rng.integers(0, n_firms, n_bonds)
    entry = rng.integers(-240, T - 40, n_bonds)
    life = np.maximum(rng.integers(200, 480, n_bonds), 12 - entry)  # every bond is in the index >= 12 months
    first, last = np.maximum(entry, 0), np.minimum(entry + life, T) - 1
    coupon = np.round(np.clip(3 + 0.25 * base_rating[firm] + rng.standard_normal(n_bonds), 0.5, 12) * 8) / 8
    par = rng.choice([2.5e8, 5e8, 7.5e8, 1e9, 1.5e9], n_bonds)
    start_p = pd.Period(start, "M")
    issue = (np.datetime64(start_p.strftime("%Y-%m"), "M") + entry).astype("datetime64[ns]")  # first of the month
    maturity = issue + (life * 30.44 * 86400e9).astype("timedelta64[ns]") + np.timedelta64(3650, "D")
    # bond-months
    counts = last - first + 1
    b = np.repeat(np.arange(n_bonds), counts)
    t = first[b] + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    keep = rng.random(len(b)) > 0.02  # one-month gaps
    b, t = b[keep], t[keep]
    f = firm[b]
    notch = np.clip(base_rating[f] + np.round(6 * (lev[t, f] - lev.mean(axis=0)[f])), 1, 22).astype(int)
    oas_bp = np.exp(np.log(60) + 0.17 * notch + 0.3 * rng.standard_normal(len(b)))
    dur = np.clip((maturity[b] - issue[b]).astype("timedelta64[D]").astype(float) / 365.25 * 0.6
                  - (t - entry[b]) / 12 * 0.6, 0.3, 25)
    ret_pct = 100 * (0.003 + 0.15 * r_stock[t, f] * notch / 22 + 0.01 * rng.standard_normal(len(b))
                     - dur * 0.002 * rng.standard_normal(len(b)))
    pd_pct = 100 * np.clip(0.0005 * np.exp(0.35 * notch) * rng.lognormal(0, 0.3, len(b)), 1e-5, 0.9)
    tsy_pct = 100 * (0.002 - dur * 0.002 * rng.standard_normal(T)[t])  # a duration-matched Treasury return
    # quarterly fundamentals: assets and sales change at quarter starts and repeat within the quarter
    quarter = np.arange(T) // 3
    assets = (debt + 0.8 * mcap)[quarter * 3]
    sales = assets * np.clip(0.25 + 0.05 * rng.standard_normal((T, n_firms)), 0.02, None)[quarter * 3]
    month_end = pd.period_range(start_p, periods=T, freq="M").to_timestamp(how="end").normalize().to_numpy()
    frame = pd.DataFrame({
        "Pricing_Date": month_end[t],
        "ISIN": np.char.add("US", np.char.zfill(b.astype(str), 9)) + "0",
        "Return": ret_pct,
        "credit_exret": ret_pct - tsy_pct,
        "oas_BOM": oas_bp,
        "DUR": dur,
        "Rating": np.asarray(ICE_RATINGS, dtype=object)[notch - 1],
        "Coupon": coupon[b],
        "ParAmount": par[b],
        "Maturity": maturity[b],
        "issue_date": issue[b],
        "Sector level 3": np.asarray(SECTORS, dtype=object)[sector[f]],
        "Stock_Price": price[t, f],
        "marketcap": mcap[t, f],
        "debt": debt[t, f],
        "ebitda": ebitda[t, f],
        "ebit": ebit[t, f],
        "grossmargin": gross[t, f],
        "pricetobook": ptb[t, f],
        "pricetoearnings": pte[t, f],
        "leverageratio": 100 * lev[t, f],
        "PD_DRISK": pd_pct,
        "sales": sales[t, f],
        "assets": assets[t, f],
    })
    for col in ("marketcap", "debt", "ebitda", "ebit", "grossmargin", "pricetobook", "pricetoearnings", "PD_DRISK",
                "oas_BOM", "DUR", "sales", "assets"):
        hole = rng.random(len(frame)) < missing_rate
        frame.loc[hole, col] = -99.99
    return frame.sort_values(["Pricing_Date", "ISIN"], kind="stable").reset_index(drop=True)
