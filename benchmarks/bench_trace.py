"""Benchmark: raw TRACE messages to monthly bond returns, and the cleaning side by side with Tidy Finance's.

Simulates a market (``bondpremia simulate trace``), then times the CLI stages as a user runs them, sampling the
resident memory of the whole process tree (the CLI, its threads and any worker processes, summed) every 0.1 s:

1. ``bondpremia trace clean`` (default preset) and ``bondpremia trace monthly``, checked against the simulated
   truth; one line per size:

       trace_<N>m_to_monthly: <s> s (target < 60 s at 20M; <rows/s> messages/s; peak RSS <GB> GB; ...)

2. at the first size, the same messages cleaned by ``tidyfinance.download_wrds._process_trace_data`` (the
   ``tidyfinance`` package, read parquet, clean, write parquet) and by ``bondpremia trace clean --preset
   tidyfinance``, with a check that both keep the same trades (multiset of rows, our rejects aside):

       trace_clean_vs_tidyfinance_<N>m: <s> s vs <s> s (<ratio>x faster, target >= 3x; <rows/s> vs <rows/s>
       messages/s; peak RSS <GB> vs <GB> GB, target <= 2 GB; ...)

and the ratio of the largest to the smallest size's time (linear scaling gives the ratio of message counts).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import polars as pl

BIN = Path(sys.executable).parent / "bondpremia"


def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                parts = fh.read().rsplit(")", 1)[1].split()
            ppid, pages = int(parts[1]), int(parts[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
        rss[int(d)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def run_measured(cmd: list[str]) -> tuple[float, int]:
    """Wall time and peak tree RSS of a command."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, err = proc.communicate()
    done.set()
    th.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    return time.perf_counter() - t0, peak


def one_size(n_bonds: int, n_months: int, per_month: float, work: Path, seed: int) -> dict[str, float]:
    sim = work / "sim"
    t0 = time.perf_counter()
    subprocess.run([str(BIN), "simulate", "trace", "--bonds", str(n_bonds), "--months", str(n_months), "--seed",
                    str(seed), "--start", "2010-01", "--trades-per-bond-month", str(per_month), "--out", str(sim)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t_sim = time.perf_counter() - t0
    n_msgs = pl.scan_parquet(sim / "trace.parquet").select(pl.len()).collect().item()
    t_clean, rss_clean = run_measured([str(BIN), "trace", "clean", str(sim / "trace.parquet"), "--fisd",
                                       str(sim / "fisd.parquet"), "--out", str(work / "clean"), "--workers", "2"])
    t_month, rss_month = run_measured([str(BIN), "trace", "monthly", str(work / "clean" / "trades.parquet"),
                                       "--fisd", str(sim / "fisd.parquet"), "--rates", str(sim / "rates.parquet"),
                                       "--amount-outstanding", str(sim / "fisd_amt_out.parquet"),
                                       "--out", str(work / "monthly")])
    got = pl.read_parquet(work / "monthly" / "monthly.parquet")
    truth = pl.read_parquet(sim / "truth_monthly.parquet")
    joined = truth.join(got, on=["cusip_id", "date"], how="full", suffix="_got")
    gap = max((joined[c] - joined[f"{c}_got"]).abs().max() or 0.0 for c in ("ret", "mv_weight"))
    return {"messages": n_msgs, "sim": t_sim, "clean": t_clean, "monthly": t_month,
            "rss": max(rss_clean, rss_month), "rows_truth": truth.height, "rows_got": got.height,
            "max_gap": float(gap) if gap is not None else float("nan")}


_TIDYFINANCE = """
import sys
import polars as pl
from tidyfinance.download_wrds import _process_trace_data
_process_trace_data(pl.read_parquet(sys.argv[1])).write_parquet(sys.argv[2])
"""

#: The columns Tidy Finance returns.
_TF_COLUMNS = ["cusip_id", "trd_exctn_dt", "trd_exctn_tm", "rptd_pr", "entrd_vol_qt", "yld_pt", "rpt_side_cd",
               "cntra_mp_id"]


def versus_tidyfinance(sim: Path, work: Path) -> dict[str, float]:
    """Clean the simulated messages with Tidy Finance's function and with our tidyfinance preset."""
    n_msgs = pl.scan_parquet(sim / "trace.parquet").select(pl.len()).collect().item()
    t_tf, rss_tf = run_measured([sys.executable, "-c", _TIDYFINANCE, str(sim / "trace.parquet"),
                                 str(work / "tf.parquet")])
    t_bp, rss_bp = run_measured([str(BIN), "trace", "clean", str(sim / "trace.parquet"), "--preset", "tidyfinance",
                                 "--out", str(work / "tfpreset")])
    ref = pl.read_parquet(work / "tf.parquet").group_by(_TF_COLUMNS).len()
    ours = pl.read_parquet(work / "tfpreset" / "trades.parquet").group_by(_TF_COLUMNS).len()
    rejected = pl.read_parquet(work / "tfpreset" / "rejects.parquet").height
    diff = ref.join(ours, on=_TF_COLUMNS, how="full", nulls_equal=True, coalesce=True, suffix="_ours").filter(
        pl.col("len").fill_null(0) != pl.col("len_ours").fill_null(0))
    return {"messages": n_msgs, "tf": t_tf, "ours": t_bp, "rss_tf": rss_tf, "rss_ours": rss_bp,
            "differ": diff.height, "rejected": rejected}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="5,20", help="Millions of messages, comma-separated.")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-tidyfinance", action="store_true", help="Skip the side-by-side with Tidy Finance.")
    args = ap.parse_args()
    results = {}
    for k, size in enumerate([float(s) for s in args.sizes.split(",")]):
        # 10,000 bonds over 120 months; the trade intensity sets the size: about 0.72 messages per bond-month
        # per unit of intensity (half the bond-months are outstanding, about 1.5 messages per genuine trade)
        n_bonds, n_months = 10_000, 120
        per_month = size * 1e6 / (n_bonds * n_months * 0.72)
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
            r = one_size(n_bonds, n_months, per_month, Path(tmp), args.seed)
            if k == 0 and not args.no_tidyfinance:
                v = versus_tidyfinance(Path(tmp) / "sim", Path(tmp))
                print(f"trace_clean_vs_tidyfinance_{size:g}m: {v['ours']:.1f} s vs {v['tf']:.1f} s "
                      f"({v['tf'] / v['ours']:.1f}x faster, target >= 3x; {v['messages'] / v['ours']:,.0f} vs "
                      f"{v['messages'] / v['tf']:,.0f} messages/s for {v['messages']:,} messages; peak RSS "
                      f"{v['rss_ours'] / 2**30:.2f} GB vs {v['rss_tf'] / 2**30:.2f} GB, target <= 2 GB; "
                      f"{v['differ']} differing trade groups, {v['rejected']} rows we reject as unparseable)",
                      flush=True)
        results[size] = r
        total = r["clean"] + r["monthly"]
        print(f"trace_{size:g}m_to_monthly: {total:.1f} s (target < 60 s at 20M; {r['messages'] / total:,.0f} "
              f"messages/s for {r['messages']:,} messages; clean {r['clean']:.1f} s + monthly {r['monthly']:.1f} s; "
              f"peak RSS {r['rss'] / 2**30:.2f} GB, target < 2 GB; {r['rows_got']:,} bond-months, truth "
              f"{r['rows_truth']:,}, max |ret, mv_weight - truth| {r['max_gap']:.1e}; "
              f"simulating took {r['sim']:.0f} s)", flush=True)
    if len(results) >= 2:
        (a, ra), (b, rb) = min(results.items()), max(results.items())
        ratio = (rb["clean"] + rb["monthly"]) / (ra["clean"] + ra["monthly"])
        print(f"trace_scaling_{b:g}m_vs_{a:g}m: {ratio:.2f}x time for {rb['messages'] / ra['messages']:.2f}x "
              f"messages; peak RSS {rb['rss'] / 2**30:.2f} GB vs {ra['rss'] / 2**30:.2f} GB")


if __name__ == "__main__":
    main()
