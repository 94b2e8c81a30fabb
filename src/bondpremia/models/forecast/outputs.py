"""Tables and files of a forecast run: R²oos with Clark-West p-values per model and maturity, the same for the
level, slope and curvature of the forecast return curve, and variable importance by group. Its figures are drawn
in the report layer (:func:`bondpremia.report.files.forecast_figures`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bondpremia.errors import InputError
from bondpremia.models.forecast.engine import ForecastRun
from bondpremia.models.forecast.evaluation import (
    cumulative_sse_difference,
    diebold_mariano,
    r2oos_table,
    significance_stars,
)
from bondpremia.models.forecast.features import TreasuryData
from bondpremia.schema import IMPORTANCE

__all__ = ["ForecastTables", "curve_factors", "dm_table", "group_shares", "grouped_importance", "r2oos_stars",
           "report_tables", "sse_curves", "wide_frames"]


@dataclass
class ForecastTables:
    """``r2oos`` (long: model, maturity, r2oos in percent, cw_pvalue), ``r2oos_factors`` (same for level,
    slope, curvature), ``r2oos_wide`` (models x maturities, strings with stars), ``importance`` (long, with
    group and share) or ``None``, ``dm`` (Diebold-Mariano tests against a reference model) or ``None``,
    ``forecasts`` (the stacked forecast rows of the runs). :class:`bondpremia.results.Results`: ``summary()`` the
    wide table with Clark-West stars, ``to_frame()`` the long R²oos table, ``save(out)`` the tables of
    ``bondpremia treasury forecast`` (its figures are drawn by :func:`bondpremia.report.forecast_figures`)."""

    r2oos: pd.DataFrame
    r2oos_factors: pd.DataFrame
    r2oos_wide: pd.DataFrame
    importance: pd.DataFrame | None
    dm: pd.DataFrame | None = None
    forecasts: pd.DataFrame | None = None

    def summary(self) -> pd.DataFrame:
        return self.r2oos_wide

    def to_frame(self) -> pd.DataFrame:
        return self.r2oos

    def __repr__(self) -> str:
        models = list(dict.fromkeys(self.r2oos["model"]))
        return (f"ForecastTables(models={models}, maturities={self.r2oos['maturity'].nunique()}, "
                f"importance={'yes' if self.importance is not None else 'no'}, "
                f"dm={'yes' if self.dm is not None else 'no'})")

    def files(self) -> dict[str, pd.DataFrame | None]:
        """File name -> table of the command's run folder (``None``: not written)."""
        imp = self.importance if self.importance is not None else pd.DataFrame(columns=list(IMPORTANCE.names))
        return {"r2oos.csv": self.r2oos, "r2oos_factors.csv": self.r2oos_factors, "dm.csv": self.dm,
                "forecasts.parquet": self.forecasts, "importance.csv": imp}

    def save(self, out: str | Path, *, force: bool = False) -> Path:
        from bondpremia.results import save_tables

        return save_tables(out, "treasury forecast", self.files(), force=force)


def dm_table(actual: pd.DataFrame, models: dict[str, pd.DataFrame], reference: str, horizon: int = 12) -> pd.DataFrame:
    """Diebold-Mariano tests (squared loss, HLN correction, two-sided) of every model against ``reference``:
    ``model, reference, maturity, dm_stat, dm_pvalue, mean_loss_diff, lrv_method``; a negative statistic means
    the model's squared errors are smaller than the reference's."""
    if reference not in models:
        raise InputError(f"reference model {reference!r} is not among the models run", column="dm_against")
    rows = []
    for name, fc in models.items():
        if name == reference:
            continue
        for col in actual.columns:
            try:
                res = diebold_mariano(actual[col], fc[col], models[reference][col], horizon=horizon)
            except InputError:  # identical losses (e.g. the same forecasts): no test
                rows.append({"model": name, "reference": reference, "maturity": str(col), "dm_stat": np.nan,
                             "dm_pvalue": np.nan, "mean_loss_diff": 0.0, "lrv_method": "identical losses"})
                continue
            rows.append({"model": name, "reference": reference, "maturity": str(col), "dm_stat": res.stat,
                         "dm_pvalue": res.pvalue, "mean_loss_diff": res.mean_loss_diff, "lrv_method": res.lrv_method})
    return pd.DataFrame(rows, columns=["model", "reference", "maturity", "dm_stat", "dm_pvalue", "mean_loss_diff",
                                       "lrv_method"])


def wide_frames(forecasts: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], pd.DataFrame]:
    """From the long forecast frame: actual and benchmark (dates x maturities) and forecasts per model."""
    order = list(dict.fromkeys(forecasts["maturity"]))
    first = forecasts["model"].iloc[0]
    one = forecasts[forecasts["model"] == first]
    actual = one.pivot(index="date", columns="maturity", values="actual")[order]
    benchmark = one.pivot(index="date", columns="maturity", values="benchmark")[order]
    models = {str(m): g.pivot(index="date", columns="maturity", values="forecast")[order]
              for m, g in forecasts.groupby("model", sort=False)}
    return actual, models, benchmark


def curve_factors(frame: pd.DataFrame) -> pd.DataFrame:
    """Level (mean over the bond maturities), slope (10y − 2y) and curvature (2y + 10y − 2 × 5y) of a frame of
    excess returns with maturity columns ``"2"``, ..., ``"10"`` (the ``"EW"`` column is left out)."""
    bonds = [c for c in frame.columns if c != "EW"]
    out = pd.DataFrame({"level": frame[bonds].mean(axis=1)}, index=frame.index)
    if {"2", "5", "10"} <= set(frame.columns):
        out["slope"] = frame["10"] - frame["2"]
        out["curvature"] = frame["2"] + frame["10"] - 2.0 * frame["5"]
    return out


def grouped_importance(importance: pd.DataFrame, groups: pd.Series | None) -> pd.DataFrame:
    """Add ``group`` (``"forwards"`` or the McCracken-Ng group name) and ``share`` (importance / its sum per
    model and maturity) to an importance frame: the columns of :data:`bondpremia.schema.IMPORTANCE`."""
    from bondpremia.data.fredmd import FREDMD_GROUP_NAMES

    imp = importance.copy()
    names = {} if groups is None else {str(k): FREDMD_GROUP_NAMES.get(int(v), str(v)) for k, v in groups.items()}
    imp["group"] = [names.get(str(p), "forwards" if str(p).startswith("f") and str(p)[1:].isdigit() else "other")
                    for p in imp["predictor"]]
    total = imp.groupby(["model", "maturity"], sort=False)["importance"].transform("sum")
    imp["share"] = np.where(total > 0, imp["importance"] / total.where(total > 0, 1.0), 0.0)
    return imp[list(IMPORTANCE.names)]  # the contract bondpremia.schema.IMPORTANCE


def _maturity_key(m: str) -> tuple[int, float, str]:
    try:
        return (0, float(m), m)
    except ValueError:
        return (1, 0.0, m)


def r2oos_stars(table: pd.DataFrame) -> pd.DataFrame:
    """Models x maturities (numeric order, then ``EW``) of ``"r2oos"`` cells in percent with Clark-West stars
    (``"1.50***"``), from the long table of :func:`r2oos_table` or ``r2oos.csv`` (``cw_pvalue`` optional)."""
    maturity = table["maturity"].map(lambda m: "EW" if str(m).strip().lower() == "ew" else str(m).strip())
    r2 = pd.to_numeric(table["r2oos"], errors="coerce")
    pvalues = pd.to_numeric(table["cw_pvalue"], errors="coerce") if "cw_pvalue" in table.columns else np.nan + r2
    cells = [(f"{r:.2f}" if np.isfinite(r) else "") + significance_stars(float(p))
             for r, p in zip(r2, pvalues, strict=True)]
    t = pd.DataFrame({"model": table["model"].astype(str), "maturity": maturity, "cell": cells})
    wide = t.pivot_table(index="model", columns="maturity", values="cell", aggfunc="first")
    wide = wide.reindex(index=list(dict.fromkeys(t["model"])),
                        columns=sorted(dict.fromkeys(t["maturity"]), key=_maturity_key)).fillna("")
    wide.columns.name = "maturity"
    return wide


def sse_curves(forecasts: pd.DataFrame, maturity: str = "EW") -> dict[str, pd.Series]:
    """Cumulative SSE difference (benchmark − model) of every model for one maturity, from the long forecast
    frame (``forecasts.parquet``), indexed by forecast date."""
    rows = forecasts[forecasts["maturity"].astype(str).str.strip().str.upper() == maturity.upper()]
    out = {}
    for model, g in rows.groupby(rows["model"].astype(str), sort=False):
        g = g.sort_values("date")
        out[str(model)] = cumulative_sse_difference(g["actual"].to_numpy(dtype=float), g["forecast"].to_numpy(
            dtype=float), g["benchmark"].to_numpy(dtype=float), index=pd.DatetimeIndex(pd.to_datetime(g["date"])))
    return out


def group_shares(importance: pd.DataFrame, maturity: str = "EW") -> pd.DataFrame:
    """Models x predictor groups: each group's share of a model's importance for one maturity, in percent."""
    rows = importance[importance["maturity"].astype(str).str.strip().str.upper() == maturity.upper()]
    shares = rows.pivot_table(index="model", columns="group", values="share", aggfunc="sum", sort=False)
    return shares.div(shares.sum(axis=1).replace(0.0, np.nan), axis=0) * 100.0


def report_tables(runs: Sequence[ForecastRun], data: TreasuryData, out: str | Path | None = None,
                  dm_against: str | None = None) -> ForecastTables:
    """Evaluate forecast runs (same dates and timing) and, with ``out``, write ``r2oos.csv``,
    ``r2oos_factors.csv``, ``forecasts.parquet``, ``importance.csv`` and ``dm.csv`` (with ``dm_against``: every
    model against that one)."""
    forecasts = pd.concat([r.forecasts for r in runs], ignore_index=True)
    actual, models, benchmark = wide_frames(forecasts)
    table = r2oos_table(actual, models, benchmark)
    factor_table = r2oos_table(curve_factors(actual), {m: curve_factors(f) for m, f in models.items()},
                               curve_factors(benchmark))
    imps = [r.importance for r in runs if r.importance is not None]
    imp = grouped_importance(pd.concat(imps, ignore_index=True), data.groups) if imps else None
    dm = dm_table(actual, models, dm_against, data.horizon) if dm_against is not None else None
    tables = ForecastTables(table, factor_table, r2oos_stars(table), imp, dm, forecasts)
    if out is not None:
        from bondpremia.results import write_tables

        Path(out).mkdir(parents=True, exist_ok=True)
        write_tables(Path(out), tables.files())
    return tables
