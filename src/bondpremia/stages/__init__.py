"""Stage runners: one function per stage that both the command line and the demo call.

A runner ``run_<stage>(inputs..., out, config)`` takes the stage's inputs (files, which the manifest fingerprints,
or frames), the run folder ``out`` and a frozen config dataclass that validated its fields when it was built
(an :class:`~bondpremia.errors.InputError` naming the command's option). It calls the stage's functions, writes
``out`` atomically (:func:`bondpremia.rundir.atomic_run`) with the file names of the stage's command and a manifest
whose options are ``config.as_options()``, draws the stage's figures, and returns the results object.

- :func:`run_trace_clean` (:class:`TraceCleanConfig`) -> :class:`~bondpremia.trace.pipeline.CleanRun`
- :func:`run_trace_monthly` (:class:`TraceMonthlyConfig`) -> :class:`MonthlyResult`
- :func:`run_characteristics_build` (:class:`CharacteristicsConfig`) ->
  :class:`~bondpremia.characteristics.CharacteristicsResult`
- :func:`run_ipca_fit` (:class:`IPCAConfig`) -> :class:`IPCAFit` (the fitted IPCA and the content of ``fit.json``)
- :func:`run_portfolio_sort` (:class:`SortConfig`) -> characteristic -> :class:`~bondpremia.portfolio.SortResult`
- :func:`run_treasury_forecast` (:class:`ForecastConfig`; data from :func:`load_treasury_data`) ->
  :class:`~bondpremia.models.forecast.outputs.ForecastTables`
- :func:`run_treasury_replicate` (:class:`ReplicateConfig`; data from :func:`load_treasury_data`) ->
  :class:`~bondpremia.models.forecast.Replication`
- :func:`run_strategy_taylor` (:class:`TaylorConfig`) -> :class:`~bondpremia.portfolio.BacktestResult`
- :func:`run_simulate_trace` (:class:`SimulateTraceConfig`) -> :class:`SimulatedTraceRun` (the counts and the
  folder; the files stay on disk)
- :func:`run_simulate_treasury` (:class:`SimulateTreasuryConfig`) -> :class:`SimulatedTreasury` (the simulated
  term structure)

The modules import their heavy dependencies inside the runners, so loading a config costs little (the CLI starts
fast).
"""

from __future__ import annotations

from bondpremia.stages.characteristics import CharacteristicsConfig, run_characteristics_build
from bondpremia.stages.ipca import IPCAConfig, IPCAFit, run_ipca_fit
from bondpremia.stages.portfolio import SortConfig, run_portfolio_sort
from bondpremia.stages.simulate import (
    SimulatedTraceRun,
    SimulatedTreasury,
    SimulateTraceConfig,
    SimulateTreasuryConfig,
    run_simulate_trace,
    run_simulate_treasury,
)
from bondpremia.stages.strategy import TaylorConfig, read_taylor_rates, run_strategy_taylor
from bondpremia.stages.trace import (
    MonthlyResult,
    TraceCleanConfig,
    TraceMonthlyConfig,
    run_trace_clean,
    run_trace_monthly,
)
from bondpremia.stages.treasury import (
    ForecastConfig,
    ReplicateConfig,
    load_treasury_data,
    run_treasury_forecast,
    run_treasury_replicate,
)

__all__ = ["CharacteristicsConfig", "ForecastConfig", "IPCAConfig", "IPCAFit", "MonthlyResult", "ReplicateConfig",
           "SimulateTraceConfig", "SimulateTreasuryConfig", "SimulatedTraceRun", "SimulatedTreasury", "SortConfig",
           "TaylorConfig", "TraceCleanConfig", "TraceMonthlyConfig", "load_treasury_data", "read_taylor_rates",
           "run_characteristics_build", "run_ipca_fit", "run_portfolio_sort", "run_simulate_trace",
           "run_simulate_treasury", "run_strategy_taylor", "run_trace_clean", "run_trace_monthly",
           "run_treasury_forecast", "run_treasury_replicate"]
