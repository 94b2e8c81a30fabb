"""The IPCA stage: ``ipca fit`` (Kelly-Pruitt-Su 2019 on a characteristics panel, with out-of-sample fits and the
Gamma_alpha bootstrap)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bondpremia.errors import InputError
from bondpremia.stages._common import Note, dates, files, names, quiet, read_panel

if TYPE_CHECKING:
    import pandas as pd

    from bondpremia.models.ipca import IPCA, BootstrapResult, OOSResult

__all__ = ["IPCAConfig", "IPCAFit", "run_ipca_fit"]


@dataclass(frozen=True)
class IPCAConfig:
    """The options of ``bondpremia ipca fit``: ``factors`` (K), ``intercept`` (Gamma_alpha), ``constant`` (a
    constant instrument), ``oos_start`` (first out-of-sample month, ``YYYY-MM``; recursive fits), ``bootstrap``
    (draws of the Gamma_alpha test; needs the intercept) and its ``seed``, ``drop_singular_months``, the column
    names, and ``chars`` (the instruments; ``("kpp",)`` for the Kelly-Palhares-Pruitt ones the panel has; ``None``
    for every other column that varies across bonds)."""

    factors: int
    intercept: bool = False
    constant: bool = True
    oos_start: str | None = None
    bootstrap: int = 0
    seed: int = 0
    drop_singular_months: bool = False
    ret: str = "ret"
    entity: str = "id"
    date: str = "date"
    chars: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        from bondpremia.validate import integer, month

        object.__setattr__(self, "factors", integer(self.factors, "--factors", 1))
        object.__setattr__(self, "bootstrap", integer(self.bootstrap, "--bootstrap", 0))
        object.__setattr__(self, "seed", integer(self.seed, "--seed", 0))
        if self.oos_start is not None:
            month(self.oos_start, "--oos-start")
        if self.bootstrap and not self.intercept:
            raise InputError("the Gamma_alpha bootstrap needs --intercept", column="--bootstrap")
        object.__setattr__(self, "chars", names(self.chars, "--chars") or None)

    def as_options(self) -> dict[str, Any]:
        return {"factors": self.factors, "intercept": self.intercept, "constant": self.constant,
                "oos_start": self.oos_start, "bootstrap": self.bootstrap, "ret": self.ret,
                "chars": None if self.chars is None else list(self.chars), "seed": self.seed,
                "drop_singular_months": self.drop_singular_months}


@dataclass(frozen=True, repr=False)
class IPCAFit:
    """What ``ipca fit`` wrote: the fitted ``model``, ``stats`` (the content of ``fit.json``: :meth:`IPCA.fit_stats`
    with the out-of-sample R² and the bootstrap test when run), the out-of-sample result and the bootstrap test
    (:class:`bondpremia.results.Results`: ``summary()`` the statistics, ``to_frame()`` the factors, ``save(out)``
    the command's files)."""

    model: IPCA
    stats: dict[str, Any]
    oos: OOSResult | None = None
    test: BootstrapResult | None = None

    def summary(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame({"value": pd.Series(self.stats, dtype=object)}).rename_axis("statistic")

    def to_frame(self) -> pd.DataFrame:
        return self.model.factors_

    def __repr__(self) -> str:
        return f"IPCAFit({self.model!r}, oos={'yes' if self.oos else 'no'}, bootstrap={'yes' if self.test else 'no'})"

    def save(self, out: str | Path, *, force: bool = False) -> Path:
        return self.model.save(out, extra=self.stats, force=force)


def _instruments(panel: pd.DataFrame, config: IPCAConfig, note: Note) -> list[str] | None:
    chars = None if config.chars is None else list(config.chars)
    if chars == ["kpp"]:  # the instruments of Kelly, Palhares and Pruitt (2023, Table A.I) that the panel has
        from bondpremia.characteristics import KPP_INSTRUMENTS

        chars = [c for c in KPP_INSTRUMENTS if c in panel.columns]
        absent = [c for c in KPP_INSTRUMENTS if c not in panel.columns]
        if not chars:
            raise InputError("none of the 29 KPP characteristics is a column of the panel", column="--chars")
        if absent:
            note(f"note: {len(absent)} of the 29 KPP instruments are not in the panel: {absent}")
    if chars is None and config.date in panel.columns:
        # default instruments: every other column that varies across bonds in some month (macro series, the same
        # for every bond, cannot be IPCA instruments on their own)
        others = [c for c in panel.columns if c not in (config.ret, config.entity, config.date)]
        varies = panel.groupby(config.date)[others].nunique().max() > 1
        chars = [c for c in others if varies[c]]
        if len(chars) < len(others):
            note(f"note: left out {[c for c in others if not varies[c]]}: the same for every bond in every month "
                 "(pass --chars to choose the instruments)")
    return chars


def run_ipca_fit(panel: str | Path | pd.DataFrame, out: str | Path, config: IPCAConfig, *,
                 extra: dict[str, Any] | None = None, progress: bool = False, note: Note = quiet,
                 force: bool = False) -> IPCAFit:
    """``bondpremia ipca fit``: fit IPCA on a panel (a file or a frame, one row a bond-month, the return of t+1 on
    the row of t) and write the run folder ``out`` (``fit.json``, ``gamma.csv``, ``factors.csv``,
    ``_SUCCESS.json``). With ``config.oos_start`` the recursive out-of-sample R² join ``fit.json``; with
    ``config.bootstrap`` the Gamma_alpha test. ``extra`` adds entries to ``fit.json``; ``progress`` shows progress
    bars of the out-of-sample fits and the bootstrap."""
    from bondpremia.models import IPCA
    from bondpremia.rundir import check_out
    from bondpremia.schema import CHARACTERISTICS, check_table
    from bondpremia.validate import month

    check_out(out, force)
    frame = read_panel(Path(panel)) if isinstance(panel, str | Path) else panel.copy()
    where = str(panel) if isinstance(panel, str | Path) else "panel"
    if config.date in frame.columns:
        frame[config.date] = dates(frame[config.date], where, config.date)
    hint = "--entity, --date and --ret name the key and return columns"
    if config.ret not in frame.columns and "exret_next" in frame.columns:
        hint = "the return of t+1 of `characteristics build` is exret_next: pass --ret exret_next"
    check_table(frame, CHARACTERISTICS, where=where, hint=hint,
                rename={"id": config.entity, "date": config.date, "exret_next": config.ret})
    chars = _instruments(frame, config, note)
    model = IPCA(n_factors=config.factors, intercept=config.intercept, constant=config.constant,
                 singular_months="drop" if config.drop_singular_months else "keep")
    try:
        model.fit(frame, ret=config.ret, chars=chars, entity=config.entity, date=config.date)
    except InputError as err:
        if err.column != "n_factors":
            raise
        raise InputError(err.reason, column="--factors") from None
    stats = model.fit_stats()
    oos = test = None
    if config.oos_start is not None:
        start = month(config.oos_start, "--oos-start").to_timestamp()  # the first day of the month
        try:
            oos = model.fit_oos(frame, start=start, ret=config.ret, chars=model.chars_,
                                entity=config.entity, date=config.date, progress=progress)
        except InputError as err:
            if err.column != "start":
                raise
            raise InputError(err.reason, column="--oos-start") from None
        stats.update(oos.as_dict())
    if config.bootstrap:
        test = model.test_alpha(n_boot=config.bootstrap, seed=config.seed, progress=progress)
        stats.update({"w_alpha": test.statistic, "w_alpha_pvalue": test.pvalue, "bootstrap_draws": config.bootstrap})
    stats.update(extra or {})
    model.save(out, extra=stats, options={**config.as_options(), "chars": model.chars_}, inputs=files(panel),
               force=force)
    return IPCAFit(model, stats, oos, test)
