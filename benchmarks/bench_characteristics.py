"""Benchmark: every characteristic of a simulated ICE-style panel of about 720,000 bond-months (5,000 bonds x 190
months), against the per-bond loop of the usual notebook recipe (per-bond rolling windows and a least-squares fit
per bond and window for each beta), timed on a 2% sample of the bonds and scaled up.

Uses the real macro files of ../shared/data/market when present (VIX, FRED spreads, Ken French factors), else
simulated macro series. Prints:

    characteristics_720k: <s> s (target < 60 s; <ratio>x vs per-bond loop, est. <s> s from a 2% sample; ...)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bondpremia.characteristics import build_characteristics
from bondpremia.simulate.bond_panel import simulate_bond_panel

MARKET = Path(__file__).resolve().parents[2] / "shared" / "data" / "market"


def load_macro(dates: pd.DatetimeIndex) -> tuple[str, pd.DataFrame]:
    if MARKET.exists():
        from bondpremia.characteristics.macro import read_macro_folder

        frame = read_macro_folder(MARKET)  # FRED spreads, VIX, ETFs and the newest Ken French ff3 vintage
        return "real", frame
    rng = np.random.default_rng(0)
    n = len(dates)
    return "simulated", pd.DataFrame({"Mkt-RF": 0.04 * rng.standard_normal(n), "SMB": 0.02 * rng.standard_normal(n),
                                      "HML": 0.02 * rng.standard_normal(n), "default_spread": 0.01 + 0 * dates.month,
                                      "term_spread": 0.015 + 0.005 * rng.standard_normal(n),
                                      "vix_innovation": 3 * rng.standard_normal(n), "rf": 0.001}, index=dates)


def per_bond_reference(panel: pd.DataFrame, macro: pd.DataFrame, market: pd.Series, window: int = 36,
                       min_obs: int = 24) -> int:
    """The notebook recipe: for each bond, its own monthly series, pandas rolling moments, and for each month a
    least-squares fit on the previous ``window`` months for the bond-market, industry and VIX betas."""
    factors = macro[["Mkt-RF", "SMB", "HML", "default_spread", "term_spread", "vix_innovation"]]
    done = 0
    for _, g in panel.groupby("ISIN"):
        s = g.set_index("Pricing_Date")
        months = pd.date_range(s.index.min(), s.index.max(), freq="ME")
        r = (s["Return"] / 100).reindex(months)
        r.rolling(window, min_periods=min_obs).std()
        r.rolling(window, min_periods=min_obs).skew()
        r.rolling(window, min_periods=min_obs).quantile(0.05)
        (1 + r).rolling(6).apply(np.prod, raw=True).shift(1)
        X1 = market.reindex(months).to_numpy()
        F = factors.reindex(months).to_numpy()
        y = r.to_numpy()
        for t in range(len(months)):
            lo = max(0, t - window)
            for X in (X1[lo:t, None], np.column_stack([X1[lo:t], X1[lo:t]]) if t > lo else X1[lo:t, None], F[lo:t]):
                ok = np.isfinite(y[lo:t]) & np.isfinite(X).all(axis=1)
                if ok.sum() >= min_obs:
                    np.linalg.lstsq(np.column_stack([np.ones(ok.sum()), X[ok]]), y[lo:t][ok], rcond=None)
        done += 1
    return done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bonds", type=int, default=5000)
    ap.add_argument("--months", type=int, default=190)
    ap.add_argument("--sample", type=float, default=0.02)
    args = ap.parse_args()
    panel = simulate_bond_panel(n_bonds=args.bonds, n_months=args.months, seed=0, start="2004-01")
    dates = pd.date_range("2004-01-31", periods=args.months, freq="ME")
    source, macro = load_macro(dates)

    t0 = time.perf_counter()
    res = build_characteristics(panel, macro)
    total = time.perf_counter() - t0

    ids = panel["ISIN"].drop_duplicates()
    sample = ids.sample(frac=args.sample, random_state=0)
    sub = panel[panel["ISIN"].isin(sample)]
    market = (panel.assign(r=panel["Return"] / 100).groupby("Pricing_Date")["r"].mean())
    t0 = time.perf_counter()
    n_done = per_bond_reference(sub, macro, market)
    ref = (time.perf_counter() - t0) * len(ids) / n_done
    print(f"characteristics_720k: {total:.1f} s (target < 60 s; {ref / total:.0f}x vs per-bond loop, est. {ref:.0f} s "
          f"from a {args.sample:.0%} sample of {n_done} bonds; {len(res.panel):,} bond-months, {len(ids):,} bonds x "
          f"{args.months} months, {len(res.names)} characteristics, {source} macro files)")


if __name__ == "__main__":
    main()
