"""Render a run directory into one self-contained HTML research report (figures embedded as base64 PNG).

The run directory is searched recursively for known result files:

* ``audit.csv`` (TRACE cleaning audit) and ``monthly.parquet`` (bond returns);
* ``coverage.csv`` (characteristic coverage);
* ``fit.json`` and ``factors.csv`` (IPCA, one folder per number of factors);
* ``sort_summary_<characteristic>.csv`` (portfolio sorts: :meth:`bondpremia.portfolio.sorts.SortResult.summary`
  written with ``index_label="statistic"``), optionally with ``sort_returns_<characteristic>.csv`` (the monthly
  portfolio returns, index ``date``) in the same folder;
* ``r2oos.csv``, ``forecasts.parquet`` and ``importance.csv`` (Treasury risk premia);
* ``returns.csv`` and ``stats.json`` (strategy tear sheet: cumulative return, drawdown, statistics).

Every section is optional and rendered only when its files exist. The page has no external resources: inline CSS,
no scripts, images as ``data:`` URIs.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from matplotlib.figure import Figure

from bondpremia.errors import InputError
from bondpremia.models.forecast.outputs import group_shares, r2oos_stars, sse_curves
from bondpremia.report import figures
from bondpremia.schema import AUDIT, FORECASTS, IMPORTANCE, MONTHLY, R2OOS, check_table

__all__ = ["REPORT_SECTIONS", "figure_to_base64", "render_report", "write_report"]

#: Section ids, in page order.
REPORT_SECTIONS: tuple[str, ...] = (
    "trace-audit", "bond-returns", "coverage", "ipca", "sorts", "treasury", "strategy",
)

_TITLES = {
    "trace-audit": "TRACE cleaning audit",
    "bond-returns": "Bond returns",
    "coverage": "Characteristic coverage",
    "ipca": "IPCA",
    "sorts": "Portfolio sorts",
    "treasury": "Treasury risk premia",
    "strategy": "Strategy",
}

SORT_SUMMARY_PATTERN = "sort_summary_*.csv"

#: File names (glob patterns, matched recursively) that make a directory a run directory.
KNOWN_FILES: tuple[str, ...] = (
    "audit.csv", "monthly.parquet", "coverage.csv", "fit.json", "factors.csv", SORT_SUMMARY_PATTERN, "r2oos.csv",
    "forecasts.parquet", "importance.csv", "returns.csv", "stats.json",
)
#: Every file the report reads: names its writers declare in :data:`bondpremia.rundir.OUTPUTS` (checked in
#: ``tests/report/test_report_html.py``), so a renamed output cannot leave a section silently empty.
READS: tuple[str, ...] = (*KNOWN_FILES, "population_r2.csv")

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #444; padding-bottom: .2em; }
h2 { border-bottom: 1px solid #bbb; padding-bottom: .15em; margin-top: 2em; }
.generated { color: #666; font-size: .9em; }
nav.toc { background: #f5f5f5; padding: .5em 1.5em; border-radius: 4px; }
table { border-collapse: collapse; margin: 1em 0; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #eee; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { color: #555; font-size: .9em; margin-top: .3em; }
.note { color: #555; font-size: .9em; }
"""


# ----------------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------------


def figure_to_base64(fig: Figure) -> str:
    """PNG bytes of ``fig``, base64-encoded."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure_html(fig: Figure, alt: str, caption: str) -> str:
    data = figure_to_base64(fig)
    return (f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _table_html(frame: pd.DataFrame, index: bool = True, float_format: str = "{:,.4g}") -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float | np.floating):
            return "" if not np.isfinite(v) else float_format.format(v)
        return str(v)

    return frame.to_html(index=index, escape=True, border=0, na_rep="", formatters={c: fmt for c in frame.columns},
                         classes="data")


def _unfinished(path: Path, run_dir: Path) -> bool:
    """Inside a staging folder of a run still being written, or of one being replaced (bondpremia.rundir)."""
    return any(".partial-" in part or ".old-" in part for part in path.relative_to(run_dir).parts)


def _find(run_dir: Path, name: str) -> list[Path]:
    """Files under ``run_dir`` (recursively) whose name matches ``name`` (an exact name or a glob pattern); files
    of unfinished runs (staging folders) are never read."""
    if name not in READS:
        raise ValueError(f"{name!r} is not in READS")  # a programming error: every read name is declared
    return sorted(p for p in run_dir.rglob(name) if p.is_file() and not _unfinished(p, run_dir))


def _read(path: Path, reader: Callable[[Path], Any]) -> Any:
    try:
        return reader(path)
    except (OSError, ValueError, pl.exceptions.PolarsError) as err:
        raise InputError(f"cannot read: {err}", file=str(path)) from None


def _require(frame: pd.DataFrame, columns: list[str], path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {missing}; the file has {list(frame.columns)}", file=str(path),
                         column=missing[0])


def _read_indexed_csv(path: Path) -> pd.DataFrame:
    frame = _read(path, lambda p: pd.read_csv(p, index_col=0))
    try:
        frame.index = pd.to_datetime(frame.index)
    except (TypeError, ValueError):
        pass
    return frame


def _section_trace_audit(run_dir: Path) -> str | None:
    paths = _find(run_dir, "audit.csv")
    if not paths:
        return None
    path = paths[0]
    audit = _read(path, lambda p: pd.read_csv(p, dtype={"step": str}))
    check_table(audit, AUDIT, where=str(path), columns=["step", "rows_dropped"])
    parts = [_figure_html(figures.audit_waterfall(audit), "TRACE cleaning waterfall",
                          "Rows dropped at each cleaning step, stacked cumulatively (waterfall).")]
    parts.append(_table_html(audit, index=False, float_format="{:,.0f}"))
    return "\n".join(parts)


def _section_bond_returns(run_dir: Path) -> str | None:
    paths = _find(run_dir, "monthly.parquet")
    if not paths:
        return None
    path = paths[0]
    check_table(_read(path, lambda p: pl.read_parquet(p, n_rows=0)), MONTHLY, where=str(path), columns=["ret"])
    monthly = _read(path, pd.read_parquet)
    ret = pd.to_numeric(monthly["ret"], errors="coerce").dropna() * 100.0
    summary = pd.DataFrame({
        "statistic": ["count", "mean (%)", "std (%)", "1% quantile (%)", "99% quantile (%)"],
        "value": [f"{len(ret):,d}"] + [
            f"{v:.3f}" if np.isfinite(v) else ""
            for v in (ret.mean(), ret.std(), ret.quantile(0.01), ret.quantile(0.99))
        ],
    })
    parts = [_figure_html(figures.return_histogram(monthly), "Histogram of monthly bond returns",
                          "Distribution of monthly bond returns (percent), all bond-months.")]
    parts.append(_table_html(summary, index=False))
    return "\n".join(parts)


def _section_coverage(run_dir: Path) -> str | None:
    paths = _find(run_dir, "coverage.csv")
    if not paths:
        return None
    coverage = _read_indexed_csv(paths[0])
    return _figure_html(figures.coverage_heatmap(coverage), "Characteristic coverage heatmap",
                        "Share of bonds with a non-missing value of each characteristic, by month.")


def _fit_k(path: Path, fit: dict[str, Any], position: int) -> int:
    if isinstance(fit.get("n_factors"), int | float):
        return int(fit["n_factors"])
    match = re.search(r"k[_-]?(\d+)", path.parent.name, flags=re.IGNORECASE)
    return int(match.group(1)) if match else position + 1


def _section_ipca(run_dir: Path) -> str | None:
    fit_paths = _find(run_dir, "fit.json")
    factor_paths = _find(run_dir, "factors.csv")
    if not fit_paths and not factor_paths:
        return None
    parts: list[str] = []
    rows: dict[int, dict[str, float]] = {}
    details: dict[int, dict[str, Any]] = {}
    for i, path in enumerate(fit_paths):
        fit = _read(path, lambda p: json.loads(p.read_text()))
        if not isinstance(fit, dict):
            raise InputError("expected a JSON object", file=str(path))
        k = _fit_k(path, fit, i)
        rows[k] = {key: float(v) * 100.0 for key, v in fit.items()
                   if key.startswith("r2") and isinstance(v, int | float) and not isinstance(v, bool)}
        details[k] = {key: v for key, v in fit.items() if isinstance(v, int | float | str | bool)}
    if rows:
        r2 = pd.DataFrame.from_dict(rows, orient="index").sort_index()
        r2 = r2[[c for c in r2.columns if r2[c].notna().any()]]
        r2.index.name = "K"
        # the bond-level measures; the managed-portfolio ones (suffix _x, near 100% by construction) stay in the table
        bond_level = [c for c in r2.columns if not c.endswith(("_x", "_x_oos"))] or list(r2.columns)
        if r2.shape[1]:
            parts.append(_figure_html(
                figures.ipca_r2_by_k(r2[bond_level]), "IPCA R-squared by number of factors",
                "IPCA R² (percent) of individual bond returns by number of factors K (total and predictive, in "
                "sample and out of sample, from fit.json); the managed-portfolio R² are in the table."))
        table = pd.DataFrame.from_dict(details, orient="index").sort_index()
        table.index.name = "K"
        parts.append(_table_html(table))
    if factor_paths:
        # with several runs, show the factors of the largest K
        by_k = {_fit_k(p, {}, i): p for i, p in enumerate(factor_paths)}
        path = by_k[max(by_k)]
        factors = _read_indexed_csv(path)
        parts.append(_figure_html(figures.cumulative_factor_returns(factors), "IPCA cumulative factor returns",
                                  f"Cumulative sum of IPCA factor returns ({path.parent.name}/{path.name})."))
    return "\n".join(parts) if parts else None


_SORT_ROWS = {  # row of SortResult.summary -> (table label, scale, format)
    "mean": ("mean (% per month)", 100.0, "{:.3f}"),
    "mean_ann": ("mean (% per year)", 100.0, "{:.2f}"),
    "t_stat": ("Newey-West t", 1.0, "{:.2f}"),
    "months": ("months", 1.0, "{:.0f}"),
    "avg_count": ("bonds per portfolio (average)", 1.0, "{:.1f}"),
}


def _read_sort_summary(path: Path) -> pd.DataFrame:
    summary = _read(path, lambda p: pd.read_csv(p, index_col=0))
    summary.index = summary.index.astype(str).str.strip()
    missing = [r for r in _SORT_ROWS if r not in summary.index]
    if missing:
        raise InputError(
            f"missing row(s) {missing} in the first column; the file has rows {list(summary.index)}. Write it with "
            "SortResult.summary(...).to_csv(path, index_label='statistic'), which has the rows "
            f"{list(_SORT_ROWS)}", file=str(path), column=str(summary.index.name or "statistic"))
    if summary.shape[1] == 0:
        raise InputError("no portfolio columns; expected one column per portfolio (1, 2, ..., n) and H-L",
                         file=str(path))
    try:
        return summary.loc[list(_SORT_ROWS)].apply(pd.to_numeric)
    except (TypeError, ValueError) as err:
        raise InputError(f"non-numeric value ({err}); every statistic must be a number or empty",
                         file=str(path)) from None


def _sort_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Formatted statistics, rows labelled with units, columns the portfolios ("1".."n", "H-L")."""
    rows = {}
    for key, (label, scale, fmt) in _SORT_ROWS.items():
        values = summary.T[key].to_numpy(dtype=np.float64) * scale
        rows[label] = [fmt.format(v) if np.isfinite(v) else "" for v in values]
    return pd.DataFrame.from_dict(rows, orient="index", columns=[figures._portfolio_label(c) for c in summary.columns])


def _section_sorts(run_dir: Path) -> str | None:
    paths = _find(run_dir, SORT_SUMMARY_PATTERN)
    if not paths:
        return None
    parts = ['<p class="note">Portfolios sorted on each characteristic (1 = lowest values); H-L is the long-short '
             "portfolio, highest minus lowest. Means are monthly returns; t-statistics use Newey-West standard "
             "errors.</p>"]
    for path in paths:
        suffix = path.stem[len("sort_summary_"):]
        characteristic = suffix or "characteristic"
        where = path.relative_to(run_dir).as_posix()
        summary = _read_sort_summary(path)
        parts.append(f"<h3>{html.escape(characteristic)}</h3>")
        parts.append(_table_html(_sort_table(summary)))
        parts.append(_figure_html(
            figures.sort_means(summary, characteristic), f"Mean return of portfolios sorted on {characteristic}",
            f"Mean monthly return (percent) per portfolio sorted on {characteristic}, with 95% confidence intervals "
            f"(±1.96 Newey-West standard errors, s.e. = mean / t); from {where}."))
        returns_path = path.with_name(f"sort_returns_{suffix}.csv")
        if returns_path.is_file():
            returns = _read_indexed_csv(returns_path)
            _require(returns, ["H-L"], returns_path)
            parts.append(_figure_html(
                figures.sort_cumulative_hl(returns, characteristic),
                f"Cumulative H-L return of portfolios sorted on {characteristic}",
                f"Cumulative sum of the monthly high-minus-low return (percent) of portfolios sorted on "
                f"{characteristic}; from {returns_path.relative_to(run_dir).as_posix()}."))
    return "\n".join(parts)


def _section_treasury(run_dir: Path) -> str | None:
    r2_paths = _find(run_dir, "r2oos.csv")
    fc_paths = _find(run_dir, "forecasts.parquet")
    imp_paths = _find(run_dir, "importance.csv")
    if not (r2_paths or fc_paths or imp_paths):
        return None
    parts: list[str] = []
    if r2_paths:
        path = r2_paths[0]
        table = _read(path, lambda p: pd.read_csv(p, dtype={"model": str, "maturity": str}))
        check_table(table, R2OOS, where=str(path), columns=["model", "maturity", "r2oos"])
        wide = r2oos_stars(table)
        parts.append("<p class=\"note\">Out-of-sample R² (percent) by model and maturity (years; EW = equal-weighted "
                     "across maturities). Clark-West test: *** p&lt;0.01, ** p&lt;0.05, * p&lt;0.10.</p>")
        parts.append(wide.to_html(escape=True, border=0, classes="data r2oos"))
    pop_paths = _find(run_dir, "population_r2.csv")
    if pop_paths:  # a simulated term structure: the R² of the true conditional mean (the attainable maximum)
        pop = _read(pop_paths[0], lambda p: pd.read_csv(p, index_col=0))
        if "population_r2" in pop.columns:
            row = (100 * pop["population_r2"].astype(float)).to_frame().T
            row.columns = [str(c).upper() if str(c).lower() == "ew" else str(c) for c in row.columns]
            row.index = ["population R² of the true E_t rx (%)"]
            parts.append("<p class=\"note\">Simulated term structure: the population R² of the true expected excess "
                         "return, the most any forecast can reach on average.</p>")
            parts.append(_table_html(row, float_format="{:.1f}"))
    if fc_paths:
        path = fc_paths[0]
        fc = _read(path, pd.read_parquet)
        check_table(fc, FORECASTS, where=str(path),
                    columns=["model", "date", "maturity", "forecast", "actual", "benchmark"])
        series = sse_curves(fc)
        if series:
            parts.append(_figure_html(
                figures.cumulative_sse(series), "Cumulative SSE difference, EW maturity",
                "Cumulative squared-error difference, benchmark minus model, for the equal-weighted maturity "
                "portfolio; a rising line means the model beats the benchmark."))
    if imp_paths:
        path = imp_paths[0]
        imp = _read(path, lambda p: pd.read_csv(p, dtype={"model": str, "maturity": str, "group": str}))
        check_table(imp, IMPORTANCE, where=str(path), columns=["model", "maturity", "group", "share"])
        shares = group_shares(imp)
        if not shares.empty:
            parts.append(_figure_html(figures.importance_by_group(shares), "Importance share by predictor group",
                                      "Share of predictor importance by group, maturity EW, normalized to 100% "
                                      "per model."))
    return "\n".join(parts) if parts else None


_STRATEGY_COLUMNS = ("net", "strategy", "ret", "return", "returns")
_BENCHMARK_COLUMNS = ("buy_and_hold", "asset_return")
_STRATEGY_LABELS = {"net": "strategy (net of costs)", "asset_return": "buy and hold", "buy_and_hold": "buy and hold"}


def _section_strategy(run_dir: Path) -> str | None:
    ret_paths = _find(run_dir, "returns.csv")
    stats_paths = _find(run_dir, "stats.json")
    if not ret_paths and not stats_paths:
        return None
    parts: list[str] = []
    if ret_paths:
        path = ret_paths[0]
        returns = _read_indexed_csv(path)
        numeric = [c for c in returns.columns if pd.api.types.is_numeric_dtype(returns[c])]
        chosen = [c for c in _STRATEGY_COLUMNS if c in numeric][:1] or numeric[:1]
        if not chosen:
            raise InputError("no numeric strategy return column", file=str(path))
        chosen += [c for c in _BENCHMARK_COLUMNS if c in numeric][:1]
        shown = returns[chosen].rename(columns=_STRATEGY_LABELS)
        names = ", ".join(map(str, shown.columns))
        parts.append(_figure_html(figures.strategy_cumulative(shown), "Strategy cumulative return",
                                  f"Cumulative compounded return (percent) of {names}."))
        parts.append(_figure_html(figures.strategy_drawdown(shown), "Strategy drawdown",
                                  f"Drawdown (percent) of the compounded return of {names}: the fall of cumulative "
                                  "wealth from its running peak."))
    if stats_paths:
        path = stats_paths[0]
        stats = _read(path, lambda p: json.loads(p.read_text()))
        if not isinstance(stats, dict):
            raise InputError("expected a JSON object", file=str(path))
        scalars = {k: v for k, v in stats.items() if not isinstance(v, dict | list)}
        if scalars:
            parts.append(_table_html(pd.DataFrame({"parameter": list(scalars), "value": list(scalars.values())}),
                                     index=False))
        for key, value in stats.items():
            if isinstance(value, dict) and value:
                if all(isinstance(v, dict) for v in value.values()):
                    frame = pd.DataFrame(value)
                else:
                    frame = pd.Series(value, name=key).to_frame()
                parts.append(f"<h3>{html.escape(str(key))}</h3>")
                parts.append(_table_html(frame))
    return "\n".join(parts) if parts else None


_BUILDERS: dict[str, Callable[[Path], str | None]] = {
    "trace-audit": _section_trace_audit,
    "bond-returns": _section_bond_returns,
    "coverage": _section_coverage,
    "ipca": _section_ipca,
    "sorts": _section_sorts,
    "treasury": _section_treasury,
    "strategy": _section_strategy,
}


# ----------------------------------------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------------------------------------


def render_report(run_dir: str | Path) -> str:
    """Render ``run_dir`` into one self-contained HTML page; only sections whose files exist are included.

    Raises
    ------
    InputError
        If the directory does not exist or contains none of the known result files.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError("not a directory", file=str(run_dir))
    if not any(_find(run_dir, name) for name in KNOWN_FILES):
        raise InputError(f"no known result files ({', '.join(KNOWN_FILES)}) found under the run directory",
                         file=str(run_dir))
    sections: list[tuple[str, str]] = []
    for section_id in REPORT_SECTIONS:
        body = _BUILDERS[section_id](run_dir)
        if body is not None:
            sections.append((section_id, body))
    if not sections:
        raise InputError("no known result files produced a section", file=str(run_dir))
    title = f"bondpremia research report: {run_dir.resolve().name}"
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    toc = "\n".join(f'<li><a href="#{sid}">{html.escape(_TITLES[sid])}</a></li>' for sid, _ in sections)
    body = "\n".join(
        f'<section class="report-section {sid}">\n<h2 id="{sid}">{html.escape(_TITLES[sid])}</h2>\n{content}\n'
        f"</section>"
        for sid, content in sections
    )
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        f"<p class=\"generated\">Generated at {generated} from {html.escape(str(run_dir))}.</p>\n"
        f"<nav class=\"toc\"><h2 id=\"contents\">Contents</h2>\n<ul>\n{toc}\n</ul></nav>\n"
        f"{body}\n</body>\n</html>\n"
    )


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Render ``run_dir`` and write the HTML to ``out`` (default ``run_dir/report.html``); returns the path."""
    text = render_report(run_dir)
    from bondpremia.rundir import atomic_file

    path = Path(out) if out is not None else Path(run_dir) / "report.html"
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
