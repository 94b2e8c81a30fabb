"""The characteristics panel: every bond, equity, risk, momentum and beta characteristic of a monthly bond panel,
dated at the end of month ``t`` with information available then, computed on the dense bond x month grid.

Input: a long panel (one row a bond-month) from ``bondpremia trace monthly`` (``cusip_id, date, ret, exret, rf,
amount_outstanding, mv, maturity, rating_num, vol_par``, optionally joined with FISD terms) or an index-constituent
panel in the ICE BofA style (``Pricing_Date, ISIN, Return, oas, DUR, Rating, Coupon, ParAmount, Maturity, Sector
level ..., Stock_Price, marketcap, debt, ebitda, ebit, grossmargin, pricetobook, pricetoearnings, PD_DRISK``, with
-99.99 for missing; returns in percent and OAS in basis points). A characteristic whose inputs are absent is left
out; ``coverage`` reports the non-missing share of every characteristic by month. The characteristics are the
specs of :mod:`~bondpremia.characteristics.specs` (name, needs, compute, dating), computed in their declaration
order by :func:`~bondpremia.characteristics.registry.resolve`.

Timing: a value dated ``t`` uses data through the end of ``t`` (rolling moments and momentum) or through ``t - 1``
(the walk-forward betas, estimated only on months before ``t``); the column ``exret_next`` is the excess return of
``t + 1`` (calendar month) on the row of ``t``, the left-hand side of a return forecast.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bondpremia.characteristics.engine import cross_sectional_rank, winsorize
from bondpremia.characteristics.grid import ICE_UNITS, Grid, bom_roles, make_grid, resolve_columns
from bondpremia.characteristics.registry import Options, Values, read_panel, resolve
from bondpremia.characteristics.specs import MACRO_SERIES, SPECS
from bondpremia.errors import (
    InputError,
    MissingInputWarning,  # a characteristic's input is missing; re-exported
)

__all__ = ["ALTERNATIVES", "KPP_INPUTS", "KPP_INSTRUMENTS", "CharacteristicsResult", "MissingInputWarning",
           "build_characteristics", "coverage"]

RISK_WINDOW = 36  # months of the rolling risk measures and betas
RISK_MIN = 24
VOL_WINDOW = 24  # months of bond volatility (KPP 2023, Table A.I: "over the past 24 months")
VOL_MIN = 16

#: The 29 characteristics of Kelly, Palhares and Pruitt (2023, JF), Appendix Table A.I, under bondpremia's names,
#: in the paper's order (13 bond, 10 accounting, 5 equity, 1 macro-beta instruments; IPCA adds a constant).
KPP_INSTRUMENTS = (
    "age", "coupon", "face_value", "book_to_price", "debt_to_ebitda", "duration", "equity_momentum",
    "earnings_to_price", "market_cap", "equity_vol", "total_debt", "bond_momentum", "industry_adj_momentum",
    "bond_momentum_x_rating", "book_leverage", "market_leverage", "turnover_vol", "spread", "operating_leverage",
    "gross_profitability", "profitability_change_5y", "rating", "distance_to_default", "bond_skew",
    "log_spread_momentum", "spread_to_d2d", "bond_vol", "value_at_risk", "vix_beta",
)

#: characteristic -> the inputs it needs (panel roles of :data:`bondpremia.characteristics.grid.ROLES`, or
#: ``macro:<column>``); "a|b" means either. Used to name what is missing when a characteristic cannot be built.
KPP_INPUTS: dict[str, tuple[str, ...]] = {
    "age": ("offering_date",), "coupon": ("coupon",), "face_value": ("par",),
    "book_to_price": ("pricetobook",), "debt_to_ebitda": ("debt", "ebitda"), "duration": ("duration",),
    "equity_momentum": ("stock_price",), "earnings_to_price": ("pricetoearnings",), "market_cap": ("market_cap",),
    "equity_vol": ("stock_price",), "total_debt": ("debt",), "bond_momentum": ("ret",),
    "industry_adj_momentum": ("ret", "industry"), "bond_momentum_x_rating": ("ret", "rating"),
    "book_leverage": ("debt", "market_cap", "pricetobook"), "market_leverage": ("debt", "market_cap"),
    "turnover_vol": ("sales", "assets"), "spread": ("oas",), "operating_leverage": ("sales", "ebitda"),
    "gross_profitability": ("gross_profit|grossmargin+sales", "assets"),
    "profitability_change_5y": ("gross_profit|grossmargin+sales", "assets"), "rating": ("rating",),
    "distance_to_default": ("pd|market_cap+debt+stock_price",),
    "bond_skew": ("ret",), "log_spread_momentum": ("oas",),
    "spread_to_d2d": ("oas", "pd|market_cap+debt+stock_price"), "bond_vol": ("ret",), "value_at_risk": ("ret",),
    "vix_beta": ("ret", "macro:Mkt-RF", "macro:SMB", "macro:HML", "macro:def_ret|corporate_ret+treasury_ret",
                 "macro:term_ret|treasury_ret", "macro:vix_innovation"),
}

#: Alternative definitions (named options, not KPP's): ``var5`` minus the 5% quantile of 36 monthly returns,
#: ``spread_over_dd`` spread / DD (bondpremia's definitions before they followed KPP).
ALTERNATIVES = ("var5", "spread_over_dd")


@dataclass(repr=False)
class CharacteristicsResult:
    """``panel``: long (``id, date``, characteristics, ``exret_next``); ``coverage``: month x characteristic
    non-missing shares (a KPP characteristic that could not be built is a column of zeros); ``names``: the
    characteristics computed; ``missing``: KPP characteristic -> the inputs it lacked; ``notes``: what was
    approximated (e.g. risk measures on excess instead of credit-excess returns)."""

    panel: pd.DataFrame
    coverage: pd.DataFrame
    names: list[str]
    missing: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """Per characteristic: the mean monthly coverage (share of bond-months with a value) and the inputs a
        KPP characteristic lacked."""
        cov = self.coverage.mean() if len(self.coverage) else pd.Series(0.0, index=self.names)
        return pd.DataFrame({"coverage": cov.reindex(self.names),
                             "missing_inputs": [", ".join(self.missing.get(n, [])) for n in self.names]},
                            index=pd.Index(self.names, name="characteristic"))

    def to_frame(self) -> pd.DataFrame:
        return self.panel

    def __repr__(self) -> str:
        months = self.panel["date"].nunique() if "date" in self.panel else 0
        return (f"CharacteristicsResult({len(self.names)} characteristics, {len(self.panel):,} bond-months, "
                f"{months} months, {len(self.missing)} not built)")

    def save(self, out: Any, *, options: Any = None, inputs: Any = (), force: bool = False) -> Any:
        """``characteristics.parquet`` and ``coverage.csv`` (the files of ``bondpremia characteristics``);
        ``options`` and the fingerprints of the ``inputs`` files go to the manifest."""
        from bondpremia.results import save_tables

        return save_tables(out, "characteristics build", {"characteristics.parquet": self.panel,
                                                          "coverage.csv": self.coverage},
                           options=options, inputs=inputs, force=force)

    @property
    def cross_sectional(self) -> list[str]:
        """The characteristics that differ across bonds: ``names`` without the macro series, which are the same
        for every bond in a month (instruments of a factor model such as IPCA, or sort variables)."""
        return [n for n in self.names if n not in MACRO_SERIES]


def _have(need: str, roles: dict[str, str], macro: pd.DataFrame | None) -> bool:
    """Whether an entry of :data:`KPP_INPUTS` is available: ``a|b+c`` is a or (b and c)."""
    if need.startswith("macro:"):
        cols = set(macro.columns) if macro is not None else set()
        return any(all(p in cols for p in alt.split("+")) for alt in need[len("macro:"):].split("|"))
    return any(all(p in roles for p in alt.split("+")) for alt in need.split("|"))


def build_characteristics(
    panel: pd.DataFrame,
    macro: pd.DataFrame | None = None,
    *,
    units: dict[str, str] | None = None,
    rank: bool = False,
    winsor: float | None = None,
    window: int = RISK_WINDOW,
    min_obs: int = RISK_MIN,
    vol_window: int = VOL_WINDOW,
    vol_min_obs: int = VOL_MIN,
    corporate_index: bool = False,
    bom_timing: str = "ice_bom",
    universe: str | None = None,
    alternatives: tuple[str, ...] | list[str] = (),
    strict: bool = False,
) -> CharacteristicsResult:
    """Compute every characteristic the panel's columns allow (definitions of Kelly, Palhares and Pruitt 2023,
    Appendix Table A.I, where they define one; docs/characteristics.md has the table).

    Parameters
    ----------
    panel:
        Long bond-month panel (columns recognized by :data:`bondpremia.characteristics.grid.ROLES`,
        case-insensitive, ICE ``*_BOM``/``*_EOM`` suffixes included).
    macro:
        Month-end indexed frame with any of ``default_spread, term_spread, vix_innovation, rf`` (decimals; see
        :func:`bondpremia.characteristics.macro.read_macro_folder`), the Fama-French ``Mkt-RF, SMB, HML``, and
        the returns ``def_ret`` (corporate minus Treasury) and ``term_ret`` (Treasury minus bill), or
        ``corporate_ret`` and ``treasury_ret`` to form them. Needed for the macro series and the VIX beta.
    units:
        ``{"ret": "percent"|"decimal", "oas": "bp"|"percent"|"decimal"}``; default: ICE units (percent, bp)
        when the panel has ICE column names (``Return``, ``oas``), otherwise decimals.
    rank:
        Replace every characteristic by its cross-sectional rank in [-0.5, 0.5] per month, missing -> 0
        (Kelly, Pruitt and Su 2019). The macro series (:data:`MACRO_SERIES`) keep their values.
    winsor:
        Winsorize every cross-sectional characteristic per month at ``winsor`` and ``1 - winsor`` before
        ranking.
    window, min_obs:
        Months (and fewest usable months) of the betas, skewness and value-at-risk (36, 24).
    vol_window, vol_min_obs:
        Months of bond volatility (24, as KPP) and the fewest usable.
    corporate_index:
        Take the corporate index return ``macro["corporate_ret"]`` as the bond market instead of the panel's own
        value-weighted return (orthogonalized to ``macro["treasury_ret"]`` when given).
    bom_timing:
        ``"ice_bom"`` (default): a beginning-of-month field (``oas_BOM``) reported on the row of month t + 1 is
        the value at the end of month t, so characteristic t takes it from row t + 1 -- known at t, no
        look-ahead. ``"as_reported"`` treats it as a value of the end of its own row's month.
    universe:
        ``"kpp"``: keep only bond-months with a spread between 50 and 2,000 bp and a duration of at least 0.25
        years at t (KPP 2023, Section II; before ranking, so ranks are within the universe).
    alternatives:
        Extra characteristics under alternative definitions (:data:`ALTERNATIVES`).
    strict:
        Raise :class:`InputError` instead of warning when a KPP characteristic cannot be built.
    """
    if not isinstance(panel, pd.DataFrame) or panel.empty:
        raise InputError("the panel must be a non-empty DataFrame", column="panel")
    if bom_timing not in ("ice_bom", "as_reported"):
        raise InputError(f"bom_timing must be 'ice_bom' or 'as_reported', got {bom_timing!r}", column="bom_timing")
    if universe not in (None, "kpp"):
        raise InputError(f"universe must be None or 'kpp', got {universe!r}", column="universe")
    unknown = [a for a in alternatives if a not in ALTERNATIVES]
    if unknown:
        raise InputError(f"unknown alternative definition(s) {unknown}; known: {list(ALTERNATIVES)}",
                         column="alternatives")
    roles = resolve_columns(list(panel.columns))
    bom = bom_roles(roles) if bom_timing == "ice_bom" else set()
    grid = make_grid(panel, roles)
    ice = str(roles.get("ret", "")).lower() == "return"
    for key, val in (units or {}).items():
        allowed = {"ret": ("percent", "decimal"), "oas": ("bp", "percent", "decimal")}.get(key)
        if allowed is None or val not in allowed:
            raise InputError(f"unit {key}={val!r}: expected ret in {{percent, decimal}} and oas in "
                             f"{{bp, percent, decimal}}", column=f"{key}_unit")
    units = {**(ICE_UNITS if ice else {"ret": "decimal", "oas": "decimal"}), **(units or {})}
    notes: list[str] = []

    options = Options(units=units, ice=ice, window=window, min_obs=min_obs, vol_window=vol_window,
                      vol_min_obs=vol_min_obs, corporate_index=corporate_index)
    values = Values(grid, macro, options, read_panel(panel, roles, grid, bom))
    resolve(SPECS, values, alternatives=alternatives)
    chars: dict[str, np.ndarray] = {s.name: values[s.name] for s in SPECS if s.output and values.has(s.name)}
    if not values.has("credit_exret") and values.has("exret"):
        notes.append("no credit-excess return column (credit_exret): bond_vol, bond_skew and value_at_risk are "
                     "computed on returns in excess of the risk-free rate, not of a duration-matched Treasury")
    missing = {c: [n for n in KPP_INPUTS[c] if not _have(n, roles, macro)] or ["(all inputs empty)"]
               for c in KPP_INSTRUMENTS if c not in chars}
    if missing:
        text = "; ".join(f"{c} needs {', '.join(v)}" for c, v in missing.items())
        if strict:
            raise InputError(f"{len(missing)} KPP characteristic(s) cannot be built: {text}", column="panel")
        warnings.warn(f"{len(missing)} of the 29 KPP characteristics cannot be built from this panel: {text}",
                      MissingInputWarning, stacklevel=2)
    keep = None
    if universe == "kpp":
        spread = values.get("spread")
        if spread is None or "duration" not in chars:
            raise InputError("universe='kpp' needs a spread (oas) and a duration column", column="universe")
        keep = (spread >= 0.005) & (spread <= 0.20) & (chars["duration"] >= 0.25)
    res = _assemble(grid, chars, values.get("exret"), rank=rank, winsor=winsor, keep=keep)
    for c in missing:
        res.coverage[c] = 0.0
    res.missing, res.notes = missing, notes
    return res


def _assemble(grid: Grid, chars: dict[str, np.ndarray], exret: np.ndarray | None, *, rank: bool,
              winsor: float | None, keep: np.ndarray | None = None) -> CharacteristicsResult:
    names = list(chars)
    if keep is not None:  # a universe filter: rows outside it leave the panel before winsorizing and ranking
        inside = keep[grid.row, grid.col]
        grid = Grid(grid.dates, grid.ids, grid.row[inside], grid.col[inside])
    long = pd.DataFrame({"id": grid.ids.to_numpy()[grid.col], "date": grid.dates.to_numpy()[grid.row]})
    present = pd.DataFrame({"date": long["date"]})
    on_grid = np.full(grid.shape, False)
    on_grid[grid.row, grid.col] = True
    for name in names:
        x = np.where(np.isfinite(chars[name]), chars[name], np.nan)
        present[name] = np.isfinite(grid.long(x))
        if name in MACRO_SERIES:  # one value per month: nothing to winsorize or rank across bonds
            long[name] = grid.long(x)
            continue
        if winsor is not None:
            x = np.asarray(winsorize(np.where(on_grid, x, np.nan), lower=winsor, upper=1.0 - winsor))
        if rank:
            # ranks among the bonds in the panel that month; missing -> 0 after ranking
            x = np.asarray(cross_sectional_rank(np.where(on_grid, x, np.nan), missing="zero"))
        long[name] = grid.long(x)
    if exret is not None:
        nxt = np.full_like(exret, np.nan)
        nxt[:-1] = exret[1:]
        long["exret_next"] = grid.long(nxt)
    order = np.lexsort((long["id"].to_numpy(), long["date"].to_numpy()))
    long = long.iloc[order].reset_index(drop=True)
    cov = present.groupby("date")[names].mean() if names else pd.DataFrame(index=pd.Index([], name="date"))
    return CharacteristicsResult(long, cov, names)


def coverage(panel: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Share of the panel's bonds with a non-missing value, per month (rows) and characteristic (columns)."""
    return panel[["date", *names]].set_index("date").notna().groupby(level="date").mean()
