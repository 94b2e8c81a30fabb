"""The characteristics stage: ``characteristics build`` (a monthly bond panel -> the characteristics panel)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bondpremia.errors import InputError
from bondpremia.stages._common import as_option, files, names, read_panel

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

    from bondpremia.characteristics import CharacteristicsResult

__all__ = ["CharacteristicsConfig", "run_characteristics_build"]


@dataclass(frozen=True)
class CharacteristicsConfig:
    """The options of ``bondpremia characteristics build`` (see :func:`bondpremia.characteristics.
    build_characteristics`): ranks, winsorizing, the units of the return and OAS columns, the corporate index, the
    timing of ``*_BOM`` fields, the KPP universe, alternative definitions and strictness."""

    rank: bool = False
    winsor: float | None = None
    ret_unit: str | None = None
    oas_unit: str | None = None
    corporate_index: bool = False
    bom_timing: str = "ice_bom"
    universe: str | None = None
    alternatives: tuple[str, ...] = ()
    strict: bool = False

    def __post_init__(self) -> None:
        from bondpremia.characteristics.build import ALTERNATIVES
        from bondpremia.validate import choice, number

        if self.ret_unit is not None:
            choice(self.ret_unit, "--ret-unit", ("percent", "decimal"))
        if self.oas_unit is not None:
            choice(self.oas_unit, "--oas-unit", ("bp", "percent", "decimal"))
        choice(self.bom_timing, "--bom-timing", ("ice_bom", "as_reported"))
        if self.universe is not None:
            choice(self.universe, "--universe", ("kpp",))
        if self.winsor is not None:
            winsor = number(self.winsor, "--winsor", 0.0, 0.5)
            if winsor >= 0.5:
                raise InputError(f"must be below 0.5 (the lower tail share), got {self.winsor!r}", column="--winsor")
            object.__setattr__(self, "winsor", winsor)
        alternatives = names(self.alternatives, "--alternative") or ()
        for name in alternatives:
            choice(name, "--alternative", ALTERNATIVES)
        object.__setattr__(self, "alternatives", alternatives)

    @property
    def units(self) -> dict[str, str]:
        return {k: v for k, v in (("ret", self.ret_unit), ("oas", self.oas_unit)) if v is not None}

    def as_options(self) -> dict[str, Any]:
        return {"rank": self.rank, "winsor": self.winsor, "units": self.units,
                "corporate_index": self.corporate_index, "bom_timing": self.bom_timing, "universe": self.universe,
                "alternatives": list(self.alternatives), "strict": self.strict}


def run_characteristics_build(panel: str | Path | pd.DataFrame, out: str | Path,
                              config: CharacteristicsConfig | None = None, *,
                              macro: str | Path | pd.DataFrame | None = None,
                              fisd: str | Path | pl.DataFrame | None = None,
                              force: bool = False) -> CharacteristicsResult:
    """``bondpremia characteristics build``: the characteristics of a monthly bond panel (a file or a frame),
    written to the run folder ``out`` (``characteristics.parquet``, ``coverage.csv``, ``_SUCCESS.json``).

    ``macro`` is a folder laid out like ``../shared/data/market`` (:func:`~bondpremia.characteristics.
    read_macro_folder`) or a frame of monthly macro series; ``fisd`` a FISD reference of a TRACE monthly panel
    (adds coupon, offering date and modified duration). A KPP characteristic that cannot be built warns with
    :class:`~bondpremia.errors.MissingInputWarning` (an error with ``config.strict``).

    The ``monthly.parquet`` of a ``trace monthly`` run is checked against its contract
    :data:`bondpremia.schema.MONTHLY` first; a panel of another layout (ICE, WRDS) is read by column roles
    (:data:`bondpremia.characteristics.ROLES`)."""
    from bondpremia.characteristics import build_characteristics, read_macro_folder
    from bondpremia.rundir import check_out, written_by
    from bondpremia.schema import MONTHLY, check_table

    config = config or CharacteristicsConfig()
    check_out(out, force)
    if isinstance(panel, str | Path) and Path(panel).suffix == ".parquet" and written_by(panel) == "trace monthly":
        import polars as pl

        check_table(pl.scan_parquet(panel), MONTHLY, where=str(panel))  # the seam with trace monthly
    frame = read_panel(Path(panel)) if isinstance(panel, str | Path) else panel
    if fisd is not None:
        import polars as pl

        from bondpremia.trace import bond_terms
        from bondpremia.trace.ingest import read_table

        terms = read_table(fisd) if isinstance(fisd, str | Path) else fisd
        frame = as_option(bond_terms, pl.from_pandas(frame), terms).to_pandas()
    mac = macro
    if isinstance(macro, str | Path):
        if not Path(macro).is_dir():
            raise InputError("not a folder", file=str(macro))
        mac = read_macro_folder(macro)
    res = as_option(build_characteristics, frame, mac, units=config.units or None, rank=config.rank,
                    winsor=config.winsor, corporate_index=config.corporate_index, bom_timing=config.bom_timing,
                    universe=config.universe, alternatives=config.alternatives, strict=config.strict,
                    _file=panel if isinstance(panel, str | Path) else None)
    res.save(out, options=config.as_options(), inputs=files(panel, fisd, macro), force=force)
    return res
