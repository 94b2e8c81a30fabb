"""``bondpremia demo``: a tour of what the library does, on data it makes itself (no network)."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from bondpremia.cli._common import print_json
from bondpremia.fixed_income import bond_analytics
from bondpremia.models import IPCA
from bondpremia.simulate import simulate_factor_panel

DEMO_BONDS = [
    # name, settle, maturity, coupon (decimal), freq, day count, clean price
    ("30y 4% Treasury at 95", "2024-05-15", "2054-05-15", 0.04, 2, "ACT/ACT", 95.0),
    ("30y 4% Treasury at par", "2024-05-15", "2054-05-15", 0.04, 2, "ACT/ACT", 100.0),
    ("10y 5.25% corporate, mid-period", "2024-08-20", "2034-03-01", 0.0525, 2, "30/360", 101.375),
    ("Deep-discount 1% corporate", "2024-08-20", "2049-06-15", 0.01, 2, "30/360", 38.5),
    ("Bond 10 days from maturity", "2024-08-20", "2024-08-30", 0.06, 2, "30/360", 99.98),
    ("10y zero-coupon STRIPS", "2024-08-20", "2034-08-15", 0.0, 0, "ACT/ACT", 64.2),
]


def ipca_by_k(seed: int = 0) -> list[dict[str, float]]:
    """IPCA with K = 1..5 on a simulated 3-factor bond panel: in-sample and recursive out-of-sample R^2."""
    sim = simulate_factor_panel(n_bonds=400, n_months=96, n_chars=8, n_factors=3, seed=seed)
    start = sim.factors.index[60]
    rows = []
    for k in range(1, 6):
        m = IPCA(n_factors=k, tol=1e-8).fit(sim.panel, chars=sim.chars)
        oos = IPCA(n_factors=k, tol=1e-8).fit_oos(sim.panel, start=start, chars=sim.chars)
        rows.append({"K": k, "r2_total": m.r2_total_, "r2_pred": m.r2_pred_, "r2_total_oos": oos.r2_total,
                     "r2_pred_oos": oos.r2_pred})
    return rows


def demo(as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False) -> None:
    """Run the bondpremia demo: bond analytics of a few bonds, then IPCA on a simulated bond panel."""
    names, settle, maturity, coupon, freq, dc, price = map(list, zip(*DEMO_BONDS, strict=True))
    res = bond_analytics(np.array(settle, dtype="datetime64[D]"), np.array(maturity, dtype="datetime64[D]"),
                         np.array(coupon), price=np.array(price), freq=np.array(freq), daycount=np.array(dc),
                         errors="raise")
    rows = [
        {"bond": n, "settle": s, "maturity": m, "clean_price": p, "yield_pct": 100 * y, "accrued": a,
         "modified_duration": d, "convexity": c}
        for n, s, m, p, y, a, d, c in zip(names, settle, maturity, price, res.yld, res.accrued,
                                          res.modified_duration, res.convexity, strict=True)
    ]
    ipca_rows = ipca_by_k()
    if as_json:
        print_json({"bonds": rows, "ipca": ipca_rows})
        return
    table = Table(title="bondpremia demo: street-convention bond analytics")
    for col in ("bond", "settle", "maturity", "clean", "yield %", "accrued", "mod. dur. (y)", "convexity"):
        table.add_column(col, justify="left" if col in ("bond", "settle", "maturity") else "right")
    for r in rows:
        table.add_row(r["bond"], r["settle"], r["maturity"], f"{r['clean_price']:.3f}", f"{r['yield_pct']:.4f}",
                      f"{r['accrued']:.4f}", f"{r['modified_duration']:.3f}", f"{r['convexity']:.2f}")
    console = Console()
    console.width = max(console.width, 132)
    console.print(table)
    ipca = Table(title="IPCA on a simulated 3-factor bond panel (400 bonds, 96 months; OOS from month 61)")
    for col in ("K", "R2 total", "R2 predictive", "R2 total OOS", "R2 predictive OOS"):
        ipca.add_column(col, justify="right")
    for r in ipca_rows:
        ipca.add_row(str(r["K"]), *(f"{100 * r[c]:.2f}%" for c in ("r2_total", "r2_pred", "r2_total_oos",
                                                                   "r2_pred_oos")))
    console.print(ipca)
