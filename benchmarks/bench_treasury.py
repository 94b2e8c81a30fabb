"""Benchmark: the forward-rate network with one hidden layer of 3 nodes (BBT 2021), 100 seeds keeping the best
10, refitted every month over the 348 out-of-sample months 1990-01..2018-12 (re-tuned every 48 months over
the 6-point dropout x L1/L2 grid, warm-started in between, as in the authors' code).

Runs on the Liu-Wu yields in ../shared/data/treasury when present, otherwise on the simulated term structure.
The baseline trains the same seeds one by one (``batched=False``) on a sample of the fits (one re-tuning fit
and a few warm refits) and is scaled to the whole run. Prints:

    treasury_nn1_3_100seeds_348m: <s> s (target < 900 s; <ratio>x vs seeds one by one, ...)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from bondpremia.models.forecast import forecast_dates, recursive_forecast, report_tables, training_rows, treasury_data
from bondpremia.models.forecast.estimators import fresh, make_model

LIU_WU = Path(__file__).resolve().parents[2] / "shared" / "data" / "treasury" / "liuwu_monthly_196106-202512.csv"


def load_data(source: str):
    if source == "real" or (source == "auto" and LIU_WU.exists()):
        from bondpremia.data import load_liu_wu

        return "Liu-Wu", treasury_data(load_liu_wu(LIU_WU), start="1971-08", end="2018-12")
    from bondpremia.simulate import simulate_term_structure

    sim = simulate_term_structure(n_months=569, start="1971-08", seed=0, n_series=8)
    return "simulated", treasury_data(sim.yields, start="1971-08", end="2018-12")


def timed_fits(data, batched: bool, n_seeds: int, n_keep: int, warm: int, timing: str) -> tuple[float, float]:
    """(seconds of the first re-tuning fit, mean seconds of the next ``warm`` warm-started refits)."""
    spec = make_model("nn1_3", data.forwards.shape[1], n_seeds=n_seeds, n_keep=n_keep,
                      nn_options={"batched": batched})
    est = fresh(spec)
    X, Y = data.forwards.to_numpy(), data.targets.to_numpy()
    positions = data.dates.get_indexer(forecast_dates(data, "1990-01"))
    times = []
    for k in range(warm + 1):
        n = training_rows(int(positions[k]), timing, data.horizon)
        est.set_params(retune=k == 0, warm_start=True, seed=k)
        t0 = time.perf_counter()
        est.fit(X[:n], Y[:n])
        times.append(time.perf_counter() - t0)
    return times[0], float(np.mean(times[1:]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--keep", type=int, default=10)
    ap.add_argument("--timing", default="purged")
    ap.add_argument("--data", choices=("auto", "real", "simulated"), default="auto")
    ap.add_argument("--sample-warm", type=int, default=3, help="warm refits timed for the one-by-one baseline")
    args = ap.parse_args()
    source, data = load_data(args.data)
    dates = forecast_dates(data, "1990-01")

    t0 = time.perf_counter()
    run = recursive_forecast(data, "nn1_3", oos_start="1990-01", timing=args.timing, n_seeds=args.seeds,
                             n_keep=args.keep, retune_every=48, importance=False)
    total = time.perf_counter() - t0
    r2 = report_tables([run], data).r2oos.set_index("maturity")["r2oos"]

    n_retune = len(range(0, len(dates), 48))
    n_warm = len(dates) - n_retune
    b_retune, b_warm = timed_fits(data, True, args.seeds, args.keep, args.sample_warm, args.timing)
    s_retune, s_warm = timed_fits(data, False, args.seeds, args.keep, args.sample_warm, args.timing)
    serial = s_retune * n_retune + s_warm * n_warm
    batched = b_retune * n_retune + b_warm * n_warm
    print(f"treasury_nn1_3_{args.seeds}seeds_{len(dates)}m: {total:.1f} s (target < 900 s; "
          f"{serial / batched:.1f}x vs seeds one by one, est. {serial:.0f} s from {args.sample_warm + 1} timed fits: "
          f"re-tune {s_retune:.2f} s vs {b_retune:.2f} s batched, warm refit {s_warm:.2f} s vs {b_warm:.3f} s; "
          f"{n_retune} re-tunes + {n_warm} warm refits; {source} yields, {args.timing} timing; "
          f"R2oos EW {r2['EW']:.1f}%, 10y {r2['10']:.1f}%)")


if __name__ == "__main__":
    main()
