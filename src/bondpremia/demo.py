"""The whole bondpremia chain in one call, on one simulated market (no network) or on real files where they exist.

:func:`run_demo` runs every stage with the stage runners the ``bondpremia`` commands call (:mod:`bondpremia.stages`)
and writes each stage's run folder (the command's files and its manifest) into ``out``, then renders them into one
HTML report (``bondpremia report``):

=====================  ==================================================================================
folder                 stage
=====================  ==================================================================================
``trace/sim``          a simulated Enhanced TRACE market with FISD terms and its truth (no TRACE data is
                       public, so this stage is simulated also with ``real_data``)
``trace/clean``        the cleaning rules (Dick-Nielsen 2014, Bai-Bali-Wen 2019) and ``audit.csv``
``trace/monthly``      daily prices and monthly returns with accrued interest and coupons
``characteristics``    the characteristic panel (Kelly-Palhares-Pruitt 2023 style); ``characteristics_ranked``
                       the same ranked
``ipca/k1..k5``        IPCA (Kelly-Pruitt-Su 2019) with K = 1..5 factors, in sample and recursively out of sample
``sorts``              value-weighted quintile sorts on characteristics, Newey-West t-statistics
``treasury``           recursive out-of-sample Treasury excess-return forecasts (Bianchi-Buchner-Tamoni 2021)
``taylor``             the rolling Taylor-rule strategy (Taylor 1993) with its tear sheet
``report.html``        the research report
=====================  ==================================================================================

Simulated market: the corporate-bond stages use :func:`bondpremia.stages.run_simulate_trace` (``trace/sim`` is
the run folder of ``bondpremia simulate trace``); the Treasury stage uses
:func:`bondpremia.simulate.simulate_term_structure` from 1971-08 to the last TRACE month (the same calendar), whose
exact population R-squared is reported beside the forecasts; the characteristics' macro series (term spread,
risk-free rate) come from that curve and the TRACE market's T-bill. In the simulated Taylor rule the policy rate
is the one-month zero yield, activity and inflation are the first output-and-income and the first price series of
the simulated macro panel, and the traded asset is a two-year zero held for one month (an analogue of the 1-3 year
Treasury ETF).

With ``real_data`` (a folder laid out like ``../shared/data``), the characteristics take the real macro series
of ``market/`` (default and term spreads, VIX innovations, Fama-French factors), the Treasury stage forecasts
with the Liu-Wu yields and the FRED-MD 2018-12 vintage over Bianchi-Buchner-Tamoni's sample (1971-08..2018-12,
forecasts from 1990-01), and the Taylor rule trades the SHY ETF on the real fed funds rate, CFNAI and PCE
inflation; missing files fall back to the simulated inputs and the run says so.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from bondpremia.errors import InputError

__all__ = ["DEMO_SIZES", "QUICK_SIZES", "DemoResult", "DemoSizes", "run_demo"]


@dataclass(frozen=True)
class DemoSizes:
    """Sizes and settings of a demo run."""

    bonds: int = 1000
    trace_months: int = 72
    trace_start: str = "2011-06"
    treasury_start: str = "1971-08"
    treasury_oos_start: str = "1995-01"
    macro_series: int = 60
    ipca_factors: tuple[int, ...] = (1, 2, 3, 4, 5)
    ipca_oos_share: float = 0.5
    sort_chars: tuple[str, ...] = ("duration", "rating", "bond_momentum", "bond_vol")
    sort_portfolios: int = 5
    models: tuple[str, ...] = ("cp", "pcr3", "ridge_macro", "rf_macro", "nn1_3", "nn_group1_fwdnet")
    n_seeds: int = 20
    n_keep: int = 5
    n_trees: int = 100
    refit_every: int = 12
    retune_every: int = 60
    taylor_window: int = 36
    seed: int = 0


DEMO_SIZES = DemoSizes()
#: A small run for tests and a first look (about a minute on 2 cores).
QUICK_SIZES = DemoSizes(bonds=250, trace_months=60, macro_series=24, ipca_factors=(1, 2, 3),
                        sort_chars=("duration", "rating"), models=("cp", "pcr3", "ridge_macro", "nn1_3"),
                        n_seeds=4, n_keep=2, n_trees=30, refit_every=24, retune_every=120)


@dataclass
class DemoResult:
    """Where the run went, how long each stage took (seconds) and the headline numbers."""

    out: Path
    report: Path
    seconds: dict[str, float] = field(default_factory=dict)
    headline: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class _Steps:
    """Rich progress bars, one per stage; a no-op without a console."""

    def __init__(self, progress: Any | None) -> None:
        self.progress = progress
        self.seconds: dict[str, float] = {}

    @contextmanager
    def step(self, name: str, total: int | None = None) -> Iterator[Callable[..., None]]:
        bar = self.progress
        task = bar.add_task(name, total=total) if bar is not None else None

        def update(done: int, total_: int | None = None) -> None:
            if bar is not None and task is not None:
                bar.update(task, completed=done, **({"total": total_} if total_ is not None else {}))

        t0 = time.perf_counter()
        yield update
        self.seconds[name] = time.perf_counter() - t0
        if bar is not None and task is not None:
            t = bar.tasks[task]
            bar.update(task, total=t.total or 1, completed=t.total or 1)


def _real(real_data: Path | None, relative: str, notes: list[str]) -> Path | None:
    if real_data is None:
        return None
    path = real_data / relative
    if path.exists():
        return path
    notes.append(f"{path} not found: that input is simulated")
    return None


# -- stages --------------------------------------------------------------------------------------------------------


def _trace(out: Path, s: DemoSizes, steps: _Steps) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    from bondpremia.stages import (
        SimulateTraceConfig,
        TraceCleanConfig,
        run_simulate_trace,
        run_trace_clean,
        run_trace_monthly,
    )
    from bondpremia.trace import bond_terms

    sim_dir, clean_dir, monthly_dir = out / "trace" / "sim", out / "trace" / "clean", out / "trace" / "monthly"
    with steps.step("simulate TRACE messages"):
        sim = SimulateTraceConfig(bonds=s.bonds, months=s.trace_months, seed=s.seed, start=s.trace_start)
        info = run_simulate_trace(sim_dir, sim, force=True).info
    with steps.step("clean TRACE (Dick-Nielsen, BBW)") as update:
        def progress(stage: str, n: int) -> None:
            if stage == "partitions":
                update(0, n)
            else:
                update(n)

        config = TraceCleanConfig(workers=2, rows_per_partition=max(50_000, info["messages"] // 2 + 1))
        run = run_trace_clean([sim_dir / "trace.parquet"], sim_dir / "fisd.parquet", clean_dir, config,
                              progress=progress, force=True)
    with steps.step("daily prices and monthly returns"):
        fisd = pl.read_parquet(sim_dir / "fisd.parquet")
        monthly = run_trace_monthly(clean_dir, sim_dir / "fisd.parquet", monthly_dir, rates=sim_dir / "rates.parquet",
                                    amount_outstanding=sim_dir / "fisd_amt_out.parquet", force=True).monthly
        truth = pl.read_parquet(sim_dir / "truth_monthly.parquet")
        both = monthly.join(truth.select("cusip_id", "date", pl.col("ret").alias("true_ret")), on=["cusip_id", "date"])
        gap = float((both["ret"] - both["true_ret"]).abs().max() or 0.0) if both.height else float("nan")  # type: ignore[arg-type]
    audit = run.audit
    head = {"messages": int(audit["rows_in"][0]), "clean_trades": int(audit["rows_out"][-1]),
            "bond_months": monthly.height, "max_abs_return_error_vs_truth": gap}
    return bond_terms(monthly, fisd), fisd, head


def _term_structure(out: Path, s: DemoSizes, real_data: Path | None, notes: list[str], steps: _Steps
                    ) -> tuple[Any, Any, dict[str, Any]]:
    """Treasury data for the forecasts, plus the population R^2 when simulated."""
    from bondpremia.models.forecast import treasury_data

    yields_file = _real(real_data, "treasury/liuwu_monthly_196106-202512.csv", notes)
    macro_file = _real(real_data, "treasury/fredmd_2018-12.csv", notes)
    with steps.step("Treasury yields and macro panel"):
        if yields_file is not None and macro_file is not None:
            from bondpremia.models.forecast import read_macro, read_yields

            start, end = "1971-08", "2018-12"
            macro, groups = read_macro(macro_file, start=start, end=end)
            data = treasury_data(read_yields(yields_file), macro, groups, start=start, end=end)
            return data, None, {"source": "Liu-Wu yields, FRED-MD 2018-12", "oos_start": "1990-01"}
        from bondpremia.simulate.term_structure import simulate_term_structure

        first = pd.Period(s.treasury_start, freq="M")
        last = pd.Period(s.trace_start, freq="M") + s.trace_months - 1
        sim = simulate_term_structure(n_months=(last - first).n + 1, start=s.treasury_start,
                                      n_series=s.macro_series, seed=s.seed)
        data = treasury_data(sim.yields, sim.macro, pd.Series(sim.groups), start=s.treasury_start,
                             end=str(last))
        return data, sim, {"source": "simulated term structure", "oos_start": s.treasury_oos_start}


def _characteristics(out: Path, monthly: pl.DataFrame, macro: pd.DataFrame | None, steps: _Steps
                     ) -> tuple[pd.DataFrame, pd.DataFrame, list[str], dict[str, list[str]]]:
    import warnings

    from bondpremia.characteristics import MissingInputWarning
    from bondpremia.stages import CharacteristicsConfig, run_characteristics_build

    # a TRACE panel has no equity or accounting data: the KPP characteristics that need them are listed in
    # demo.json (headline "characteristics" -> "kpp_missing") instead of a warning per build
    with steps.step("characteristics (raw and ranked)", total=2) as update, warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        panel = monthly.to_pandas()
        raw = run_characteristics_build(panel, out / "characteristics", CharacteristicsConfig(), macro=macro,
                                        force=True)
        update(1)
        ranked = run_characteristics_build(panel, out / "characteristics_ranked", CharacteristicsConfig(rank=True),
                                           macro=macro, force=True)
        update(2)
    return raw.panel, ranked.panel, raw.names, raw.missing


def _ipca(out: Path, ranked: pd.DataFrame, names: list[str], s: DemoSizes, steps: _Steps) -> dict[int, dict]:
    from bondpremia.models import IPCA
    from bondpremia.stages import IPCAConfig, run_ipca_fit

    # instruments: the characteristics that vary across bonds in some month (the macro series never do, and a
    # characteristic without data in this market is 0 for every bond once ranked)
    usable = [c for c in names if ranked.groupby("date")[c].nunique().max() > 1]
    # Ranked characteristics are 0 (the median) where missing, so before the rolling risk measures' first window
    # fills every bond has the same value and the month's instrument matrix Z_t'Z_t is singular: IPCA drops those
    # months (singular_months="drop"; KPS's factor step is ill-posed there). Out-of-sample fits start halfway
    # through the months that remain.
    panel = ranked.dropna(subset=["exret_next"])
    kept = IPCA(1, singular_months="drop").fit(panel, ret="exret_next", chars=usable).factors_.index
    start = pd.Timestamp(kept[int(len(kept) * s.ipca_oos_share)])
    fits = {}
    with steps.step(f"IPCA K = {s.ipca_factors[0]}..{s.ipca_factors[-1]} with OOS fits",
                    total=len(s.ipca_factors)) as update:
        for i, k in enumerate(s.ipca_factors):
            config = IPCAConfig(factors=k, drop_singular_months=True, ret="exret_next", chars=tuple(usable),
                                oos_start=str(start.date()))
            fit = run_ipca_fit(panel, out / "ipca" / f"k{k}", config, extra={"oos_start": str(start.date())},
                               force=True)
            fits[k] = fit.stats
            update(i + 1)
    return fits


def _sorts(out: Path, raw: pd.DataFrame, monthly: pl.DataFrame, s: DemoSizes, steps: _Steps
           ) -> dict[str, dict[str, float]]:
    from bondpremia.stages import SortConfig, run_portfolio_sort

    rets = monthly.select(pl.col("cusip_id").alias("id"), "date", "exret", "mv").to_pandas()
    panel = raw.merge(rets, on=["id", "date"], how="left")
    chars = [c for c in s.sort_chars if c in panel.columns and panel[c].notna().any()]
    head = {}
    with steps.step("portfolio sorts (value-weighted quintiles)", total=len(chars)) as update:
        if chars:
            config = SortConfig(chars=tuple(chars), n=s.sort_portfolios, ret="exret", weight="mv", lags=6)
            for c, res in run_portfolio_sort(panel, out / "sorts", config, progress=update, force=True).items():
                hl = res.summary(lags=config.lags)["H-L"].astype(float)
                head[c] = {"H-L mean (% per month)": 100 * float(hl["mean"]), "H-L t": float(hl["t_stat"])}
    return head


def _treasury(out: Path, data: Any, sim: Any, oos_start: str, s: DemoSizes, steps: _Steps, notes: list[str]
              ) -> dict[str, Any]:
    from bondpremia.stages import ForecastConfig, run_treasury_forecast

    models = list(s.models)
    try:
        import torch  # noqa: F401
    except ImportError:
        dropped = [m for m in models if m.startswith("nn")]
        models = [m for m in models if not m.startswith("nn")]
        if dropped:
            notes.append(f"PyTorch is not installed (pip install 'bondpremia[nn]'): skipped {', '.join(dropped)}")
    config = ForecastConfig(models=tuple(models), start=f"{data.dates[0]:%Y-%m}", end=f"{data.dates[-1]:%Y-%m}",
                            oos_start=oos_start, timing="purged", refit_every=s.refit_every,
                            refit_overrides=tuple((m, 1) for m in ("cp", "pcr3") if m in models),
                            retune_every=s.retune_every, seeds=s.n_seeds, keep=s.n_keep, trees=s.n_trees,
                            seed=s.seed, dm_against="pcr3" if "pcr3" in models else None)
    # the simulated curve and its population R^2 go into the same run folder
    extra = None if sim is None else {"simulated_yields.parquet": sim.yields,
                                      "population_r2.csv": pd.DataFrame({"population_r2": sim.population_r2})}
    tables = run_treasury_forecast(data, out / "treasury", config,
                                   progress=lambda m: steps.step(f"Treasury forecasts: {m}"), extra_tables=extra,
                                   force=True)
    ew = tables.r2oos.loc[tables.r2oos["maturity"].astype(str).str.lower() == "ew"].set_index("model")["r2oos"]
    head: dict[str, Any] = {"r2oos_ew_pct": {m: float(v) for m, v in ew.items()}}
    if sim is not None:
        head["population_r2_ew_pct"] = 100 * float(sim.population_r2["EW"])
    return head


def _simulated_taylor_inputs(data_sim: Any) -> tuple[pd.DataFrame, pd.Series]:
    """Policy rate, activity and inflation, and a 2-year zero's monthly return, from the simulated market."""
    y, macro, groups = data_sim.yields, data_sim.macro, pd.Series(data_sim.groups)
    activity = macro[groups.index[groups == 1][0]]
    prices = macro[groups.index[groups == 7][0]]
    rates = pd.DataFrame({"FEDFUNDS": 100 * y[1],
                          "CFNAI": (activity - activity.mean()) / activity.std(),
                          "pce_infl_yoy": 2.0 + (prices - prices.mean()) / prices.std()})
    # log return of a 24-month zero held one month: p_{t+1}(23) - p_t(24), p_t(m) = -m/12 y_t(m)
    log_ret = (24 / 12 * y[24]).shift(1) - 23 / 12 * y[23]
    return rates, (np.exp(log_ret) - 1.0).dropna().rename("zero_2y")


def _taylor(out: Path, sim: Any, real_data: Path | None, s: DemoSizes, steps: _Steps, notes: list[str]
            ) -> dict[str, Any]:
    from bondpremia.stages import TaylorConfig, run_strategy_taylor

    with steps.step("Taylor-rule strategy"):
        rates_file = _real(real_data, "market/taylor_rule_monthly.csv", notes)
        etf_file = _real(real_data, "market/etf/etf_SHY_daily_yahoo.csv", notes)
        rates: Any
        asset: Any
        if rates_file is not None and etf_file is not None:
            rates, asset, title = rates_file, etf_file, "SHY"
        else:
            if sim is None:
                from bondpremia.simulate.term_structure import simulate_term_structure

                first = pd.Period(s.treasury_start, freq="M")
                last = pd.Period(s.trace_start, freq="M") + s.trace_months - 1
                sim = simulate_term_structure(n_months=(last - first).n + 1, start=s.treasury_start,
                                              n_series=s.macro_series, seed=s.seed)
            rates, asset = _simulated_taylor_inputs(sim)
            title = "a simulated 2-year zero"
        heading = f"Taylor-rule strategy on {title} ({s.taylor_window}-month window)"
        result = run_strategy_taylor(rates, asset, out / "taylor", TaylorConfig(window=s.taylor_window),
                                     title=heading, force=True)
        payload = result.stats()
    st = payload["statistics"]
    return {"asset": title, "start": payload["start"], "end": payload["end"],
            "sharpe": {k: v.get("sharpe_ann") for k, v in st.items()}}


def _macro_for_characteristics(sim: Any, monthly: pl.DataFrame, real_data: Path | None, notes: list[str]
                               ) -> pd.DataFrame | None:
    market = _real(real_data, "market", notes)
    if market is not None:
        from bondpremia.characteristics import read_macro_folder

        return read_macro_folder(market)
    if sim is None:
        return None
    y = sim.yields
    macro = pd.DataFrame({"term_spread": y[120] - y[3]})
    rf = monthly.group_by("date").agg(pl.col("rf").first()).sort("date").to_pandas().set_index("date")["rf"]
    macro["rf"] = rf.reindex(macro.index)
    return macro


# -- the chain -----------------------------------------------------------------------------------------------------


def run_demo(out: str | Path, *, real_data: str | Path | None = None, sizes: DemoSizes = DEMO_SIZES,
             progress: Any | None = None, seed: int | None = None) -> DemoResult:
    """Run every stage of bondpremia and write the run directory and ``report.html`` into ``out``.

    Parameters
    ----------
    out:
        Run directory (created; existing stage folders are overwritten).
    real_data:
        A folder laid out like ``../shared/data``; its files replace the simulated inputs where they exist
        (module docstring).
    sizes:
        :data:`DEMO_SIZES` (default, a few minutes on 2 cores) or :data:`QUICK_SIZES`, or any
        :class:`DemoSizes`.
    progress:
        A started :class:`rich.progress.Progress` to show one bar per stage; ``None`` for none.
    seed:
        Overrides ``sizes.seed``; the run is a deterministic function of the sizes, the seed and the inputs.
    """
    from bondpremia.report import write_report

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    real = Path(real_data) if real_data is not None else None
    if real is not None and not real.is_dir():
        raise InputError("the real-data folder does not exist (expected a folder like ../shared/data)",
                         file=str(real))
    if seed is not None:
        sizes = replace(sizes, seed=seed)
    t0 = time.perf_counter()
    steps, notes = _Steps(progress), list[str]()
    headline: dict[str, Any] = {}
    monthly, _, headline["trace"] = _trace(out, sizes, steps)
    data, sim, ts_info = _term_structure(out, sizes, real, notes, steps)
    macro = _macro_for_characteristics(sim, monthly, real, notes)
    raw, ranked, names, kpp_missing = _characteristics(out, monthly, macro, steps)
    headline["characteristics"] = {"count": len(names), "bond_months": len(raw), "kpp_missing": sorted(kpp_missing)}
    fits = _ipca(out, ranked, names, sizes, steps)
    headline["ipca"] = {k: {m: f.get(m) for m in ("r2_total", "r2_pred", "r2_total_oos", "r2_pred_oos")}
                        for k, f in fits.items()}
    headline["sorts"] = _sorts(out, raw, monthly, sizes, steps)
    headline["treasury"] = {**ts_info, **_treasury(out, data, sim, ts_info["oos_start"], sizes, steps, notes)}
    headline["taylor"] = _taylor(out, sim, real, sizes, steps, notes)
    with steps.step("HTML report"):
        report = write_report(out)
    seconds = {**steps.seconds, "total": time.perf_counter() - t0}
    result = DemoResult(out=out, report=report, seconds=seconds, headline=headline, notes=notes)
    (out / "demo.json").write_text(json.dumps({"seconds": seconds, "headline": headline, "notes": notes,
                                               "real_data": str(real) if real else None}, indent=2, default=str))
    return result
