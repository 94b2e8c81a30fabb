"""The Treasury stage: ``treasury forecast`` (recursive out-of-sample forecasts of Treasury excess returns,
Bianchi-Buechner-Tamoni 2021) and ``treasury replicate`` (the rows of their Tables 1 and 2 against the published
R²oos)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bondpremia.errors import InputError
from bondpremia.stages._common import as_option, names, positive, reading

if TYPE_CHECKING:
    from bondpremia.models.forecast import Replication, TreasuryData
    from bondpremia.models.forecast.outputs import ForecastTables

__all__ = ["ForecastConfig", "ReplicateConfig", "load_treasury_data", "run_treasury_forecast",
           "run_treasury_replicate"]

#: ``progress(model)`` is a context manager yielding ``step(done, total)`` for that model's forecast dates.
ModelProgress = Callable[[str], AbstractContextManager[Callable[[int, int], None]]]


def _check_sample_and_fits(config: Any) -> None:
    """The options ``treasury forecast`` and ``treasury replicate`` share: the sample months (``start``, ``end``,
    ``oos_start``) and the fits (``retune_every``, ``seeds``, ``keep`` of them, ``trees``, ``seed``)."""
    from bondpremia.validate import integer, month

    for field, option, low in (("retune_every", "--retune-every", 1), ("seeds", "--seeds", 1),
                               ("trees", "--trees", 1), ("seed", "--seed", 0)):
        object.__setattr__(config, field, integer(getattr(config, field), option, low))
    object.__setattr__(config, "keep", integer(config.keep, "--keep", 1, config.seeds))
    for field, option in (("start", "--start"), ("end", "--end"), ("oos_start", "--oos-start")):
        month(getattr(config, field), option)


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
        from bondpremia.validate import choice, integer

        object.__setattr__(self, "models", names(self.models, "--models") or ())
        if not self.models:
            raise InputError("no model given", column="--models")
        integer(self.refit_every, "--refit-every", 1)
        _check_sample_and_fits(self)
        choice(self.timing, "--timing", ("purged", "bbt"))
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


# -- treasury replicate --------------------------------------------------------------------------------------------

#: The timings of each value of ``treasury replicate --timing``.
_TIMINGS = {"both": ("bbt", "purged"), "bbt": ("bbt",), "purged": ("purged",)}


@dataclass(frozen=True)
class ReplicateConfig:
    """The options of ``bondpremia treasury replicate``: the BBT ``table`` (1: forward rates; 2: forward rates and
    FRED-MD), the ``timing`` (bbt, the published tables; purged, only realized returns; or both), ``models`` (a
    subset of the table's rows, names or a comma-separated string; ``None`` every row), the sample (``start``,
    ``end``, ``oos_start`` as ``YYYY-MM``), the network ensemble (``seeds`` trained, ``keep`` averaged), ``trees``
    per forest, ``retune_every`` (months between hyper-parameter searches), the risk aversion ``gamma`` of the
    certainty-equivalent gain and the ``seed`` of every fit."""

    table: int = 1
    timing: str = "both"
    models: tuple[str, ...] | None = None
    start: str = "1971-08"
    end: str = "2018-12"
    oos_start: str = "1990-01"
    seeds: int = 100
    keep: int = 10
    trees: int = 300
    retune_every: int = 60
    gamma: float = 5.0
    seed: int = 0

    def __post_init__(self) -> None:
        from bondpremia.validate import integer

        if integer(self.table, "--table") not in (1, 2):
            raise InputError(f"must be 1 or 2, got {self.table!r}", column="--table")
        object.__setattr__(self, "table", int(self.table))
        timing = str(self.timing).strip().lower()
        if timing not in _TIMINGS:
            raise InputError(f"must be bbt, purged or both, got {self.timing!r}", column="--timing")
        object.__setattr__(self, "timing", timing)
        if self.models is not None:
            listed = self.models if isinstance(self.models, str) else ",".join(self.models)
            models = names(listed.lower(), "--models")
            if not models:
                raise InputError("no model given", column="--models")
            object.__setattr__(self, "models", models)
        _check_sample_and_fits(self)
        object.__setattr__(self, "gamma", positive(self.gamma, "--gamma"))

    @property
    def timings(self) -> tuple[str, ...]:
        """The timings the run forecasts with."""
        return _TIMINGS[self.timing]

    def model_names(self) -> list[str]:
        """The models of the rows the run replicates (``models``, or every row of the table)."""
        from bondpremia.models.forecast.replication import paper_rows

        return [row.model for row in paper_rows(self.table, self.models)]

    def as_options(self) -> dict[str, Any]:
        return {"table": self.table, "timing": self.timing,
                "models": None if self.models is None else list(self.models), "start": self.start, "end": self.end,
                "oos_start": self.oos_start, "seeds": self.seeds, "keep": self.keep, "trees": self.trees,
                "retune_every": self.retune_every, "gamma": self.gamma, "seed": self.seed}


def run_treasury_replicate(data: TreasuryData, out: str | Path, config: ReplicateConfig | None = None, *,
                           inputs: Sequence[str | Path | None] = (), cache: str | Path | None = None,
                           progress: Callable[[str, int, int], None] | None = None, figures: bool = True,
                           force: bool = False) -> Replication:
    """``bondpremia treasury replicate``: the rows of Bianchi-Buechner-Tamoni (2021) Table 1 or 2 under each
    timing of ``config`` on ``data`` (:func:`load_treasury_data`; Table 2 needs its macro panel), each R²oos beside
    the published one (:func:`bondpremia.models.forecast.replicate`), written to the run folder ``out``
    (``replication.csv``, ``forecasts.parquet``, ``settings.json``, ``figures/replication.png`` with ``figures``,
    ``_SUCCESS.json``). ``inputs`` are the files ``data`` came from (for the manifest), ``cache`` a folder to
    resume an interrupted run, ``progress(label, done, total)`` is called after every forecast date. ``out`` is
    checked before any fitting. Returns the :class:`~bondpremia.models.forecast.Replication`."""
    from bondpremia.models.forecast.replication import replicate
    from bondpremia.rundir import check_out

    config = config or ReplicateConfig()
    check_out(out, force)
    result = as_option(replicate, data, config.table, timings=config.timings, models=config.models,
                       oos_start=config.oos_start, n_seeds=config.seeds, n_keep=config.keep, n_trees=config.trees,
                       retune_every=config.retune_every, seed=config.seed, gamma=config.gamma, cache_dir=cache,
                       progress=progress)
    draw = None
    if figures:
        from bondpremia.report.figures import replication_bars

        draw = replication_bars
    result.save(out, draw=draw, options=config.as_options(), inputs=inputs, force=force)
    return result
