"""Benchmark: BBT's networks, 100 seeds keeping the best 10, refitted every month over the 348 out-of-sample months
1990-01..2018-12, hyper-parameters re-chosen every 60 months, warm-started in between (the authors' code).

``--model nn1_3`` (default): the forward-rate network of Table 1 (one hidden layer of 3 nodes), target < 300 s.
``--model nn_group1_fwdnet``: Table 2's best network (group ensemble + forward-rate network) on the FRED-MD 2018-12
vintage, target < 1200 s.

Runs on the Liu-Wu yields (and FRED-MD) in ../shared/data/treasury when present, otherwise on the simulated term
structure. The baseline trains the same seeds one by one (``batched=False``) on a sample of the fits (the first
re-tuning fit and a few warm refits) and is scaled to the whole run. Prints:

    treasury_<model>_100seeds_348m: <s> s (target < ... s; <ratio>x vs seeds one by one, ...)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from bondpremia.models.forecast import forecast_dates, recursive_forecast, report_tables, training_rows, treasury_data
from bondpremia.models.forecast.estimators import fresh, make_model

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "treasury"
LIU_WU = SHARED / "liuwu_monthly_196106-202512.csv"
FREDMD = SHARED / "fredmd_2018-12.csv"
TARGETS = {"nn1_3": 300.0, "nn_group1_fwdnet": 1200.0}
RETUNE = 60


def load_data(source: str, macro: bool):
    if source == "real" or (source == "auto" and LIU_WU.exists() and (FREDMD.exists() or not macro)):
        from bondpremia.data import load_liu_wu
        from bondpremia.models.forecast.inputs import read_macro

        mac, grp = read_macro(FREDMD, start="1971-08", end="2018-12") if macro else (None, None)
        return "Liu-Wu" + (" + FRED-MD 2018-12" if macro else ""), treasury_data(
            load_liu_wu(LIU_WU), mac, grp, start="1971-08", end="2018-12")
    from bondpremia.simulate import simulate_term_structure

    sim = simulate_term_structure(n_months=569, start="1971-08", seed=0, n_series=128 if macro else 8)
    mac = sim.macro if macro else None
    grp = sim.groups if macro else None
    return "simulated", treasury_data(sim.yields, mac, grp, start="1971-08", end="2018-12")


def timed_fits(data, model: str, batched: bool, n_seeds: int, n_keep: int, warm: int,
               timing: str) -> tuple[float, float]:
    """(seconds of the first re-tuning fit, mean seconds of the next ``warm`` warm-started refits)."""
    groups = None if data.groups is None else data.groups.to_numpy()
    spec = make_model(model, data.forwards.shape[1], groups, n_seeds=n_seeds, n_keep=n_keep,
                      nn_options={"batched": batched})
    est = fresh(spec)
    X, Y = data.predictors(spec.uses_macro).to_numpy(), data.targets.to_numpy()
    positions = data.dates.get_indexer(forecast_dates(data, "1990-01"))
    times = []
    for k in range(warm + 1):
        n = training_rows(int(positions[k]), timing, data.horizon)
        est.set_params(retune=k == 0, warm_start=True)
        t0 = time.perf_counter()
        est.fit(X[:n], Y[:n])
        times.append(time.perf_counter() - t0)
    return times[0], float(np.mean(times[1:]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", choices=sorted(TARGETS), default="nn1_3")
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--keep", type=int, default=10)
    ap.add_argument("--timing", default="bbt")
    ap.add_argument("--data", choices=("auto", "real", "simulated"), default="auto")
    ap.add_argument("--sample-warm", type=int, default=3, help="warm refits timed for the one-by-one baseline")
    args = ap.parse_args()
    source, data = load_data(args.data, macro=args.model != "nn1_3")
    dates = forecast_dates(data, "1990-01")

    t0 = time.perf_counter()
    run = recursive_forecast(data, args.model, oos_start="1990-01", timing=args.timing, n_seeds=args.seeds,
                             n_keep=args.keep, retune_every=RETUNE, importance=False)
    total = time.perf_counter() - t0
    r2 = report_tables([run], data).r2oos.set_index("maturity")["r2oos"]

    n_retune = len(range(0, len(dates), RETUNE))
    n_warm = len(dates) - n_retune
    b_retune, b_warm = timed_fits(data, args.model, True, args.seeds, args.keep, args.sample_warm, args.timing)
    s_retune, s_warm = timed_fits(data, args.model, False, args.seeds, args.keep, args.sample_warm, args.timing)
    serial = s_retune * n_retune + s_warm * n_warm
    batched = b_retune * n_retune + b_warm * n_warm
    target = TARGETS[args.model]
    print(f"treasury_{args.model}_{args.seeds}seeds_{len(dates)}m: {total:.1f} s (target < {target:.0f} s; "
          f"{serial / batched:.1f}x vs seeds one by one, est. {serial:.0f} s from {args.sample_warm + 1} timed fits: "
          f"re-tune {s_retune:.2f} s vs {b_retune:.2f} s batched, warm refit {s_warm:.2f} s vs {b_warm:.3f} s; "
          f"{n_retune} re-tunes + {n_warm} warm refits; {source}, {args.timing} timing; "
          f"R2oos EW {r2['EW']:.1f}%, 10y {r2['10']:.1f}%)")


if __name__ == "__main__":
    main()
