"""Benchmark: street-convention yield from price for 1,000,000 bonds, against a QuantLib loop.

Prints one line: ``yield_from_price_1m: <seconds> s (<ratio>x vs QuantLib loop ...)``. The QuantLib baseline
times ``BondFunctions.bondYield`` on a 10,000-bond sample (one ``FixedRateBond`` per bond, as a per-bond
notebook loop would) and extrapolates linearly to 1,000,000 bonds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bondpremia.fixed_income import yield_from_price


def draw_bonds(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    settle = np.datetime64("2024-01-02") + rng.integers(0, 365, n).astype("timedelta64[D]")
    maturity = settle + rng.integers(30, 30 * 365, n).astype("timedelta64[D]")
    return dict(
        settle=settle,
        maturity=maturity,
        coupon=rng.uniform(0.0, 0.1, n).round(5),
        price=rng.uniform(70.0, 130.0, n),
        freq=rng.choice([1, 2, 4, 12], n, p=[0.05, 0.85, 0.05, 0.05]),
        daycount=rng.choice(["30/360", "ACT/ACT", "ACT/360", "ACT/365"], n, p=[0.7, 0.2, 0.05, 0.05]),
    )


def time_bondpremia(b: dict[str, np.ndarray], repeat: int) -> tuple[float, np.ndarray]:
    best, y = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        y = yield_from_price(b["price"], b["settle"], b["maturity"], b["coupon"], freq=b["freq"],
                             daycount=b["daycount"])
        best = min(best, time.perf_counter() - t0)
    return best, y


def time_quantlib(b: dict[str, np.ndarray], n: int) -> tuple[float, np.ndarray]:
    import QuantLib as ql

    dcs = {"30/360": ql.Thirty360(ql.Thirty360.BondBasis), "ACT/ACT": ql.ActualActual(ql.ActualActual.ISMA),
           "ACT/360": ql.Actual360(), "ACT/365": ql.Actual365Fixed()}
    freqs = {1: ql.Annual, 2: ql.Semiannual, 4: ql.Quarterly, 12: ql.Monthly}
    out = np.empty(n)
    t0 = time.perf_counter()
    for i in range(n):
        s = ql.Date(str(b["settle"][i]), "%Y-%m-%d")
        m = ql.Date(str(b["maturity"][i]), "%Y-%m-%d")
        f = freqs[int(b["freq"][i])]
        dc = dcs[str(b["daycount"][i])]
        sched = ql.Schedule(s - ql.Period(1, ql.Years), m, ql.Period(f), ql.NullCalendar(), ql.Unadjusted,
                            ql.Unadjusted, ql.DateGeneration.Backward, True)
        bond = ql.FixedRateBond(0, 100.0, sched, [float(b["coupon"][i])], dc)
        price = ql.BondPrice(float(b["price"][i]), ql.BondPrice.Clean)
        try:
            out[i] = ql.BondFunctions.bondYield(bond, price, dc, ql.Compounded, f, s, 1e-12, 1000, 0.05)
        except RuntimeError:  # QuantLib's solver fails to bracket some short, far-from-par bonds
            out[i] = np.nan
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bonds", type=int, default=1_000_000)
    ap.add_argument("--ql-sample", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    b = draw_bonds(args.bonds)
    ours, y = time_bondpremia(b, args.repeat)
    assert np.isfinite(y).all(), "the solver left bonds unsolved"
    ql_time, ql_y = time_quantlib(b, args.ql_sample)
    ql_full = ql_time * args.bonds / args.ql_sample
    print(f"yield_from_price_{args.bonds // 1_000_000 or args.bonds}m: {ours:.3f} s "
          f"({ql_full / ours:.0f}x vs QuantLib loop: {ql_time:.2f} s for {args.ql_sample:,} bonds, "
          f"{ql_full:.0f} s extrapolated to {args.bonds:,}; QuantLib failed on {np.isnan(ql_y).sum()} bonds)")


if __name__ == "__main__":
    main()
