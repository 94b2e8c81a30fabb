"""The Treasury stage: ``treasury forecast`` (recursive out-of-sample forecasts of Treasury excess returns,
Bianchi-Buechner-Tamoni 2021)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bondpremia.errors import InputError
from bondpremia.stages._common import as_option, names, reading

if TYPE_CHECKING:
    from bondpremia.models.forecast import TreasuryData
    from bondpremia.models.forecast.outputs import ForecastTables

__all__ = ["ForecastConfig", "load_treasury_data", "run_treasury_forecast"]

#: ``progress(model)`` is a context manager yielding ``step(done, total)`` for that model's forecast dates.
ModelProgress = Callable[[str], AbstractContextManager[Callable[[int, int], None]]]


@dataclass(frozen=True)
class ForecastConfig:
    """The options of ``bondpremia treasury forecast``: the ``models`` (names, or a comma-separated string), the
    sample (``start``, ``end``, ``oos_start`` as ``YYYY-MM``), the ``timing`` (purged or bbt), ``lag_macro``, the
    refit and re-tuning intervals (``refit_overrides``: (model, months) pairs that refit a model at its own
    interval), the network ensemble (``seeds`` trained, ``keep`` averaged), ``trees`` per forest, the base
    ``seed``, ``dm_against`` (Diebold-Mariano tests against that model) and whether to draw ``figures``."""

    models: tuple[str, ...] = ("hm", "ols", "pcr3", "cp")
    start: str = "1971-08"
    end: str = "2018-12"
    oos_start: str = "1990-01"
    timing: str = "purged"
    lag_macro: bool = False
    refit_every: int = 1
    retune_every: int = 60
    seeds: int = 100
    keep: int = 10
    trees: int = 300
    seed: int = 0
    dm_against: str | None = None
    figures: bool = True
    refit_overrides: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        from bondpremia.validate import choice, integer, month

        object.__setattr__(self, "models", names(self.models, "--models") or ())
        if not self.models:
            raise InputError("no model given", column="--models")
        for value, option, low in ((self.refit_every, "--refit-every", 1), (self.retune_every, "--retune-every", 1),
                                   (self.seeds, "--seeds", 1), (self.trees, "--trees", 1), (self.seed, "--seed", 0)):
            integer(value, option, low)
        integer(self.keep, "--keep", 1, self.seeds)
        choice(self.timing, "--timing", ("purged", "bbt"))
        for text, option in ((self.start, "--start"), (self.end, "--end"), (self.oos_start, "--oos-start")):
            month(text, option)
        overrides = tuple((str(m), integer(k, "--refit-every", 1)) for m, k in dict(self.refit_overrides).items())
        object.__setattr__(self, "refit_overrides", overrides)

    def refit(self, model: str) -> int:
        """The refit interval of ``model``."""
        return dict(self.refit_overrides).get(model, self.refit_every)

    def as_options(self) -> dict[str, Any]:
        options = {"models": list(self.models), "start": self.start, "end": self.end, "oos_start": self.oos_start,
                   "timing": self.timing, "lag_macro": self.lag_macro, "refit_every": self.refit_every,
                   "retune_every": self.retune_every, "seeds": self.seeds, "keep": self.keep, "trees": self.trees,
                   "seed": self.seed, "dm_against": self.dm_against}
        if self.refit_overrides:
            options["refit_overrides"] = dict(self.refit_overrides)
        return options


def load_treasury_data(yields: str | Path, macro: str | Path | None = None, groups: str | Path | None = None, *,
                       start: str, end: str, lag_macro: bool = False, models: Sequence[str] = (), seeds: int = 100,
                       keep: int = 10, trees: int = 300,
                       status: Callable[[str], AbstractContextManager[Any]] | None = None) -> TreasuryData:
    """The :class:`~bondpremia.models.forecast.TreasuryData` of a yields file (and a FRED-MD vintage or macro
    table); every name in ``models`` is checked before hours of fitting. Errors name the file or the option."""
    from bondpremia.models.forecast import treasury_data
    from bondpremia.models.forecast.estimators import make_model
    from bondpremia.models.forecast.inputs import read_macro, read_yields

    show = status or (lambda _: nullcontext())
    with reading(Path(yields)):
        y = read_yields(yields)
    mac = grp = None
    if macro is not None:
        with show("preparing the macro panel"), reading(Path(macro)):
            mac, grp = read_macro(macro, start=start, end=end, groups=groups)
    data = as_option(treasury_data, y, mac, grp, start=start, end=end, lag_non_market=lag_macro)
    for name in models:
        as_option(make_model, name, data.forwards.shape[1], None if data.groups is None else data.groups.to_numpy(),
                  n_seeds=seeds, n_keep=keep, n_trees=trees)
    return data


def run_treasury_forecast(data: TreasuryData, out: str | Path, config: ForecastConfig | None = None, *,
                          inputs: Sequence[str | Path | None] = (), cache: str | Path | None = None,
                          progress: ModelProgress | None = None, extra_tables: Mapping[str, Any] | None = None,
                          force: bool = False) -> ForecastTables:
    """``bondpremia treasury forecast``: recursive out-of-sample forecasts of every model of ``config`` on
    ``data`` (:func:`load_treasury_data`, or a simulated term structure), written to the run folder ``out``
    (``r2oos.csv``, ``r2oos_factors.csv``, ``forecasts.parquet``, ``importance.csv``, ``dm.csv`` with
    ``dm_against``, ``figures/*.png`` with ``figures``, ``_SUCCESS.json``; ``extra_tables`` adds files, see
    :func:`bondpremia.results.write_tables`). ``inputs`` are the files ``data`` came from (for the manifest),
    ``cache`` a folder to resume an interrupted run. Returns the forecast tables."""
    import pandas as pd

    from bondpremia.models.forecast import report_tables
    from bondpremia.models.forecast.engine import recursive_forecast
    from bondpremia.results import write_tables
    from bondpremia.rundir import atomic_run, check_out

    config = config or ForecastConfig()
    check_out(out, force)
    runs = []
    for name in config.models:
        with (progress(name) if progress is not None else nullcontext(None)) as step:
            runs.append(as_option(
                recursive_forecast, data, name, oos_start=config.oos_start, timing=config.timing,
                refit_every=config.refit(name), retune_every=config.retune_every, seed=config.seed,
                n_seeds=config.seeds, n_keep=config.keep, n_trees=config.trees, cache_dir=cache, progress=step))
    dm_against = None if config.dm_against is None else config.dm_against.strip().lower()
    with atomic_run(out, "treasury forecast", inputs=inputs, options=config.as_options(), force=force) as staged:
        tables = as_option(report_tables, runs, data, staged.path, dm_against=dm_against)
        if config.figures:
            from bondpremia.report import forecast_figures

            forecast_figures(staged.path / "figures", pd.concat([r.forecasts for r in runs], ignore_index=True),
                             tables.importance)
        if extra_tables:
            staged.extra.update(extra_tables)
            staged.rows.update(write_tables(staged.path, extra_tables))
    return tables
