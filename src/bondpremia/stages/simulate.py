"""The simulation stage: ``simulate trace`` (an Enhanced TRACE market with FISD terms and its truth) and ``simulate
treasury`` (a zero curve and a macro panel with the true expected excess returns), the markets with known truth
the demo and the tests run on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bondpremia.errors import InputError
from bondpremia.stages._common import positive

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

    from bondpremia.simulate.term_structure import SimulatedTermStructure

__all__ = ["SimulateTraceConfig", "SimulateTreasuryConfig", "SimulatedTraceRun", "SimulatedTreasury",
           "run_simulate_trace", "run_simulate_treasury"]


# -- simulate trace ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulateTraceConfig:
    """The options of ``bondpremia simulate trace``: ``bonds`` (FISD rows), ``months``, the ``seed`` (same seed,
    same files), the first month ``start`` (``YYYY-MM``) and the mean genuine ``trades_per_bond_month``."""

    bonds: int = 200
    months: int = 24
    seed: int = 0
    start: str = "2011-06"
    trades_per_bond_month: float = 8.0

    def __post_init__(self) -> None:
        from bondpremia.validate import integer, month

        object.__setattr__(self, "bonds", integer(self.bonds, "--bonds", 1))
        object.__setattr__(self, "months", integer(self.months, "--months", 1))
        object.__setattr__(self, "seed", integer(self.seed, "--seed", 0))
        month(self.start, "--start")
        object.__setattr__(self, "trades_per_bond_month",
                           positive(self.trades_per_bond_month, "--trades-per-bond-month"))

    def as_options(self) -> dict[str, Any]:
        return {"bonds": self.bonds, "months": self.months, "seed": self.seed, "start": self.start,
                "trades_per_bond_month": self.trades_per_bond_month}


@dataclass(frozen=True, repr=False)
class SimulatedTraceRun:
    """What ``simulate trace`` wrote (:class:`bondpremia.results.Results`). As of a ``trace clean`` run the files
    stay on disk: ``out`` is the run folder, ``info`` the counts the command prints (``messages``,
    ``truth_trades``, ``bond_months``, ``bonds``, ``out_dir``), ``config`` the options. ``summary()`` is the
    counts, ``to_frame()`` a lazy scan of the messages (``trace.parquet``), ``save(out)`` copies the run's files
    into another run folder."""

    out: Path
    info: dict[str, Any]
    config: SimulateTraceConfig

    def summary(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame({"value": {k: v for k, v in self.info.items() if k != "out_dir"}})

    def to_frame(self) -> pl.LazyFrame:
        import polars as pl

        return pl.scan_parquet(self.out / "trace.parquet")

    def __repr__(self) -> str:
        i = self.info
        return (f"SimulatedTraceRun({i['messages']:,} messages, {i['bonds']:,} bonds, {i['bond_months']:,} "
                f"bond-months in {self.out})")

    def save(self, out: str | Path, *, force: bool = False) -> Path:
        import shutil

        from bondpremia.rundir import OUTPUTS, atomic_run

        with atomic_run(out, "simulate trace", options=self.config.as_options(), force=force) as run:
            for name in OUTPUTS["simulate trace"]:
                shutil.copyfile(self.out / name, run.path / name)
            run.rows["trace.parquet"] = int(self.info["messages"])
        return Path(out)


def run_simulate_trace(out: str | Path, config: SimulateTraceConfig | None = None, *,
                       force: bool = False) -> SimulatedTraceRun:
    """``bondpremia simulate trace``: simulate an Enhanced TRACE market with known truth
    (:func:`bondpremia.simulate.write_simulated_trace`, memory flat whatever the size) into the run folder ``out``
    (``trace.parquet``, ``fisd.parquet``, ``fisd_amt_out.parquet``, ``truth_trades.parquet``,
    ``truth_monthly.parquet``, ``rates.parquet``, ``_SUCCESS.json``), written atomically. ``trace monthly`` on a
    ``trace clean`` run of its ``trace.parquet`` finds the T-bill returns by this manifest
    (:func:`bondpremia.stages.trace.simulated_rates`)."""
    from bondpremia.rundir import atomic_run, check_out
    from bondpremia.simulate.trace import write_simulated_trace

    config = config or SimulateTraceConfig()
    check_out(out, force)
    with atomic_run(out, "simulate trace", options=config.as_options(), force=force) as staged:
        info = write_simulated_trace(staged.path, n_bonds=config.bonds, n_months=config.months, seed=config.seed,
                                     start=config.start, trades_per_bond_month=config.trades_per_bond_month)
        staged.rows.update({"trace.parquet": int(info["messages"])})
    out = Path(out)
    return SimulatedTraceRun(out, {**info, "out_dir": str(out)}, config)  # not the staging folder it was written in


# -- simulate treasury ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulateTreasuryConfig:
    """The options of ``bondpremia simulate treasury``: ``months``, macro ``series`` (at least 8: one per
    McCracken-Ng group), the ``seed`` (same seed, same files), the first month ``start`` (``YYYY-MM``) and
    ``linear`` (no macro effect: the premium is linear in the forwards)."""

    months: int = 600
    series: int = 100
    seed: int = 0
    start: str = "1971-08"
    linear: bool = False

    def __post_init__(self) -> None:
        from bondpremia.validate import integer, month

        object.__setattr__(self, "months", integer(self.months, "--months", 1))
        object.__setattr__(self, "seed", integer(self.seed, "--seed", 0))
        month(self.start, "--start")
        series = integer(self.series, "--series")
        if series < 8:
            raise InputError(f"must be at least 8 (one series per group), got {series}", column="--series")
        object.__setattr__(self, "series", series)

    def as_options(self) -> dict[str, Any]:
        return {"months": self.months, "series": self.series, "seed": self.seed, "start": self.start,
                "linear": self.linear}


@dataclass(frozen=True, repr=False)
class SimulatedTreasury:
    """The term structure of ``simulate treasury`` (:class:`bondpremia.results.Results`): ``sim`` is the
    :class:`~bondpremia.simulate.term_structure.SimulatedTermStructure` (yields, macro panel, true expected excess
    returns, population R²), ``config`` the options. ``summary()`` is the population R² by maturity,
    ``to_frame()`` the yields, ``save(out)`` the command's files."""

    sim: SimulatedTermStructure
    config: SimulateTreasuryConfig

    def summary(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame({"population_r2": self.sim.population_r2}).rename_axis("maturity")

    def to_frame(self) -> pd.DataFrame:
        return self.sim.yields

    def __repr__(self) -> str:
        y = self.sim.yields
        return (f"SimulatedTreasury({len(y)} months x {y.shape[1]} maturities, {self.sim.macro.shape[1]} macro "
                f"series, seed {self.config.seed})")

    def save(self, out: str | Path, *, force: bool = False) -> Path:
        """``yields.parquet`` (date x maturity in months, decimals), ``macro.parquet``, ``groups.csv``,
        ``expected.parquet`` (the true E_t rx_{t+12}) and ``population_r2.csv``: inputs of ``treasury
        forecast``."""
        import pandas as pd

        from bondpremia.results import save_tables

        sim = self.sim
        tables = {"yields.parquet": sim.yields.rename(columns=str), "macro.parquet": sim.macro,
                  "groups.csv": sim.groups.rename_axis("series").rename("group").to_frame(),
                  "expected.parquet": sim.expected_excess.rename(columns=str),
                  "population_r2.csv": pd.DataFrame({"maturity": [str(c) for c in sim.population_r2.index],
                                                     "population_r2": sim.population_r2.to_numpy()})}
        return save_tables(out, "simulate treasury", tables, options=self.config.as_options(), force=force)


def run_simulate_treasury(out: str | Path, config: SimulateTreasuryConfig | None = None, *,
                          force: bool = False) -> SimulatedTreasury:
    """``bondpremia simulate treasury``: simulate a zero curve, a macro panel and the exact expected excess
    returns (:func:`bondpremia.simulate.simulate_term_structure`) and write the run folder ``out`` (the files of
    :meth:`SimulatedTreasury.save`, ``_SUCCESS.json``) atomically."""
    from bondpremia.rundir import check_out
    from bondpremia.simulate.term_structure import simulate_term_structure

    config = config or SimulateTreasuryConfig()
    check_out(out, force)
    sim = simulate_term_structure(n_months=config.months, start=config.start, n_series=config.series,
                                  seed=config.seed, params={"macro_effect": not config.linear})
    result = SimulatedTreasury(sim, config)
    result.save(out, force=force)
    return result
