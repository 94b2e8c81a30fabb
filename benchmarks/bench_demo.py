"""Benchmark: the whole demo chain (``bondpremia demo``, i.e. ``make demo``) on the simulated market, against the
issue's budget of 10 minutes on 2 cores. Prints the stage times from the run's ``demo.json`` and one line:

    demo_full_chain: <s> s (target < 600 s; slowest stages: ...; report <path>)

``--real-data DIR`` times ``bondpremia demo --real-data DIR`` instead (e.g. ../shared/data).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bondpremia.demo import DEMO_SIZES, run_demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--real-data", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="Run directory (default: a temporary folder).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "demo"
        res = run_demo(out, real_data=args.real_data, sizes=DEMO_SIZES)
        stages = sorted(((v, k) for k, v in res.seconds.items() if k != "total"), reverse=True)
        for seconds, name in stages:
            print(f"  {name:<48} {seconds:7.1f} s")
        slowest = ", ".join(f"{k} {v:.0f} s" for v, k in stages[:3])
        name = "demo_real_data_chain" if args.real_data else "demo_full_chain"
        print(f"{name}: {res.seconds['total']:.1f} s (target < 600 s; slowest stages: {slowest}; "
              f"{res.headline['trace']['messages']:,} TRACE messages, IPCA K=1..{DEMO_SIZES.ipca_factors[-1]}, "
              f"{len(DEMO_SIZES.models)} Treasury models)")


if __name__ == "__main__":
    main()
