"""Benchmark: every row of BBT (2021) Table 1 (forward rates only) for one timing, as ``bondpremia treasury
replicate --table 1`` runs it: PCA, PCA-squared and PLS regressions, penalized regressions, trees and the five
forward-rate networks (100 seeds keeping 10), 348 out-of-sample months, hyper-parameters re-chosen every 60 months.

Runs on the Liu-Wu yields in ../shared/data/treasury (required). Prints one line:

    treasury_table1_<timing>: <s> s (target < 1800 s; slowest rows ...; EW R2oos ours vs paper ...)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bondpremia.data import load_liu_wu
from bondpremia.models.forecast import replicate, treasury_data

LIU_WU = Path(__file__).resolve().parents[2] / "shared" / "data" / "treasury" / "liuwu_monthly_196106-202512.csv"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--timing", default="bbt", choices=("bbt", "purged"))
    ap.add_argument("--out", default=None, help="also write the replication folder here")
    args = ap.parse_args()
    data = treasury_data(load_liu_wu(LIU_WU), start="1971-08", end="2018-12")
    times: dict[str, float] = {}
    last = {"t": time.perf_counter()}

    def progress(label: str, done: int, total: int) -> None:
        if done == total:
            now = time.perf_counter()
            times[label] = now - last["t"]
            last["t"] = now

    t0 = time.perf_counter()
    rep = replicate(data, 1, timings=(args.timing,), progress=progress)
    total = time.perf_counter() - t0
    if args.out:
        rep.save(args.out)
    ew = rep.table[rep.table["maturity"] == "EW"].set_index("model")
    slowest = ", ".join(f"{k} {v:.0f} s" for k, v in sorted(times.items(), key=lambda kv: -kv[1])[:3])
    compare = ", ".join(f"{m} {ew.loc[m, 'r2oos']:.1f} vs {ew.loc[m, 'paper']:.1f}"
                        for m in ("pcr3", "lasso", "nn1_3"))
    print(f"treasury_table1_{args.timing}: {total:.1f} s (target < 1800 s; {len(ew)} rows; slowest: {slowest}; "
          f"EW R2oos ours vs paper (%): {compare})")


if __name__ == "__main__":
    main()
