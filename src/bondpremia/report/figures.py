"""Figures of the HTML research report: one function per figure, each taking DataFrames and returning a Figure.

Every figure function builds a standalone :class:`matplotlib.figure.Figure` with the object-oriented API: no
pyplot state, no backend switch (a notebook user's backend is left alone), nothing to close. Both axes are
labelled with units. :func:`plot_cumulative_sse`, the one axes-level helper, draws on axes it is given (or on a
new standalone figure); it is not in ``__all__``, the list of figure functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bondpremia.errors import InputError
from bondpremia.models.forecast.evaluation import as_1d

CUMULATIVE_SSE_YLABEL = "cum. SSE, benchmark − model\n(squared log returns)"


def _figure(figsize: tuple[float, float]) -> tuple[Figure, Any]:
    """A standalone figure with one axes (no pyplot)."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots()


__all__ = [
    "audit_waterfall",
    "coverage_heatmap",
    "cumulative_factor_returns",
    "cumulative_sse",
    "importance_by_group",
    "ipca_r2_by_k",
    "replication_bars",
    "return_histogram",
    "sort_cumulative_hl",
    "sort_means",
    "strategy_cumulative",
    "strategy_drawdown",
    "taylor_rule",
    "tear_sheet",
]


def audit_waterfall(audit: pd.DataFrame) -> Figure:
    """Waterfall of rows dropped per TRACE cleaning step (columns ``step`` and ``rows_dropped``)."""
    steps = audit["step"].astype(str).to_numpy()
    dropped = pd.to_numeric(audit["rows_dropped"], errors="coerce").fillna(0).to_numpy(dtype=np.float64)
    bottoms = np.concatenate([[0.0], np.cumsum(dropped)[:-1]])
    fig, ax = _figure((9, 4.5))
    ax.bar(range(len(steps)), dropped, bottom=bottoms, color="tab:red")
    ax.set_xticks(range(len(steps)))
    ax.set_xticklabels(steps, rotation=30, ha="right")
    ax.set(xlabel="cleaning step", ylabel="rows dropped (count)",
           title="TRACE cleaning: rows dropped per step (cumulative waterfall)")
    fig.tight_layout()
    return fig


def return_histogram(monthly: pd.DataFrame, column: str = "ret", bins: int = 60) -> Figure:
    """Histogram of decimal monthly bond returns, shown in percent."""
    values = pd.to_numeric(monthly[column], errors="coerce").dropna().to_numpy(dtype=np.float64) * 100.0
    fig, ax = _figure((8, 4.5))
    ax.hist(values, bins=bins, color="tab:blue", edgecolor="white")
    ax.set(xlabel="monthly return (%)", ylabel="bond-months (count)", title="Distribution of monthly bond returns")
    fig.tight_layout()
    return fig


def coverage_heatmap(coverage: pd.DataFrame) -> Figure:
    """Heatmap of the share of bonds with a value, months (index) × characteristics (columns)."""
    data = coverage.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64).T
    fig, ax = _figure((10, max(3.0, 0.3 * data.shape[0] + 1.5)))
    image = ax.imshow(data, aspect="auto", vmin=0.0, vmax=1.0, cmap="viridis", interpolation="nearest")
    ax.set_yticks(range(coverage.shape[1]))
    ax.set_yticklabels([str(c) for c in coverage.columns])
    n = len(coverage.index)
    ticks = np.unique(np.linspace(0, n - 1, num=min(n, 8)).astype(int)) if n else np.array([], dtype=int)
    ax.set_xticks(ticks)
    ax.set_xticklabels([_month_label(coverage.index[i]) for i in ticks], rotation=30, ha="right")
    ax.set(xlabel="month", ylabel="characteristic", title="Characteristic coverage")
    colorbar = fig.colorbar(image, ax=ax)
    colorbar.set_label("share of bonds with a value (fraction, 0 to 1)")
    fig.tight_layout()
    return fig


def ipca_r2_by_k(r2: pd.DataFrame) -> Figure:
    """Grouped bars of R² (percent) by number of factors: index = K, columns = R² measures (already in percent)."""
    fig, ax = _figure((8, 4.5))
    ks = [str(k) for k in r2.index]
    x = np.arange(len(ks), dtype=np.float64)
    width = 0.8 / max(1, r2.shape[1])
    for j, col in enumerate(r2.columns):
        ax.bar(x + (j - (r2.shape[1] - 1) / 2) * width, r2[col].to_numpy(dtype=np.float64), width, label=str(col))
    ax.set_xticks(x)
    ax.set_xticklabels(ks)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set(xlabel="number of factors K", ylabel="R² (%)", title="IPCA fit by number of factors")
    if r2.shape[1]:
        ax.legend()
    fig.tight_layout()
    return fig


def cumulative_factor_returns(factors: pd.DataFrame) -> Figure:
    """Cumulative sums (not compounded) of the IPCA factor returns (index = date, one column per factor), in the
    factors' own decimal units."""
    fig, ax = _figure((9, 4.5))
    cum = factors.apply(pd.to_numeric, errors="coerce").fillna(0.0).cumsum()
    for col in cum.columns:
        ax.plot(cum.index, cum[col].to_numpy(dtype=np.float64), label=str(col))
    ax.set(xlabel="date", ylabel="cumulative factor return (sum of monthly returns, decimal)",
           title="IPCA factors: cumulative returns")
    if cum.shape[1]:
        ax.legend()
    fig.tight_layout()
    return fig


def plot_cumulative_sse(frame_or_dict: Any, ax: Any = None, title: str | None = None) -> Any:
    """Plot cumulative SSE differences (benchmark − model), one line per model or maturity (Goyal and Welch 2008).

    Parameters
    ----------
    frame_or_dict:
        A DataFrame whose columns are outputs of :func:`cumulative_sse_difference` (index: dates), or a mapping
        from label to such a Series (each line is drawn against its own index, so samples may differ).
    ax:
        Matplotlib axes to draw on; a new figure is created when omitted.
    title:
        Optional axes title.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if isinstance(frame_or_dict, pd.DataFrame):
        series = {str(c): frame_or_dict[c] for c in frame_or_dict.columns}
    elif isinstance(frame_or_dict, Mapping):
        series = {
            str(k): v if isinstance(v, pd.Series) else pd.Series(as_1d(v, str(k))) for k, v in frame_or_dict.items()
        }
    elif isinstance(frame_or_dict, pd.Series):
        series = {str(frame_or_dict.name): frame_or_dict}
    else:
        raise InputError("expected a DataFrame or a mapping of label -> Series", column="frame_or_dict")
    if not series:
        raise InputError("nothing to plot", column="frame_or_dict")
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure().subplots()
    for label, s in series.items():
        s = s.dropna()
        ax.plot(s.index, s.to_numpy(dtype=np.float64), label=label)
    ax.axhline(0.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_xlabel("date")
    ax.set_ylabel(CUMULATIVE_SSE_YLABEL)
    if title is not None:
        ax.set_title(title)
    ax.legend()
    return ax


def cumulative_sse(series: Mapping[str, pd.Series] | pd.DataFrame) -> Figure:
    """Cumulative SSE difference (benchmark − model), one line per model (outputs of ``cumulative_sse_difference``),
    drawn by :func:`plot_cumulative_sse`."""
    items = {str(c): series[c] for c in series.columns} if isinstance(series, pd.DataFrame) else dict(series)
    fig, ax = _figure((9, 4.5))
    title = "Out-of-sample performance, equal-weighted maturities"
    if items:
        plot_cumulative_sse(items, ax=ax, title=title)
    else:
        ax.set(xlabel="date", ylabel=CUMULATIVE_SSE_YLABEL, title=title)
    fig.tight_layout()
    return fig


def importance_by_group(shares: pd.DataFrame) -> Figure:
    """Horizontal stacked bars of importance share (percent): index = model, columns = predictor group."""
    fig, ax = _figure((9, max(3.0, 0.5 * len(shares) + 1.5)))
    left = np.zeros(len(shares), dtype=np.float64)
    labels = [str(m) for m in shares.index]
    for col in shares.columns:
        values = shares[col].fillna(0.0).to_numpy(dtype=np.float64)
        ax.barh(labels, values, left=left, label=str(col))
        left += values
    ax.set(xlabel="share of importance (%)", ylabel="model", title="Predictor importance by group (maturity EW)")
    if shares.shape[1]:
        ax.legend(title="group", bbox_to_anchor=(1.02, 1.0), loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig


def replication_bars(table: pd.DataFrame, maturity: str = "EW") -> Figure:
    """Horizontal bars of R²oos (percent) per row of a BBT table: ours under each timing beside the published value
    (columns ``model``, ``label``, ``timing``, ``maturity``, ``r2oos``, ``paper`` of ``replication.csv``)."""
    t = table[table["maturity"].astype(str) == maturity]
    rows = list(dict.fromkeys(t["label"].astype(str)))
    timings = list(dict.fromkeys(t["timing"].astype(str)))
    series = [(f"ours, {tm} timing", t[t["timing"] == tm].set_index("label")["r2oos"]) for tm in timings]
    series.append(("published (BBT 2021)", t.drop_duplicates("label").set_index("label")["paper"]))
    height = 0.8 / len(series)
    fig, ax = _figure((9, max(3.0, 0.45 * len(rows) * len(series) / 2 + 1.5)))
    pos = np.arange(len(rows), dtype=np.float64)
    for i, (name, values) in enumerate(series):
        v = pd.to_numeric(values.reindex(rows), errors="coerce").to_numpy(dtype=np.float64)
        ax.barh(pos + i * height, v, height=height, label=name)
    ax.set_yticks(pos + 0.4 - height / 2)
    ax.set_yticklabels(rows)
    ax.invert_yaxis()
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set(xlabel=f"out-of-sample R² (%), maturity {maturity}", ylabel="model (row of the paper's table)",
           title="Replication of Bianchi, Buechner and Tamoni (2021)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def strategy_cumulative(returns: pd.DataFrame) -> Figure:
    """Cumulative compounded return (percent) of each column of decimal periodic returns (index = date)."""
    fig, ax = _figure((9, 4.5))
    for col in returns.columns:
        r = pd.to_numeric(returns[col], errors="coerce").fillna(0.0)
        ax.plot(returns.index, ((1.0 + r).cumprod() - 1.0).to_numpy(dtype=np.float64) * 100.0, label=str(col))
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set(xlabel="date", ylabel="cumulative return (%)", title="Strategy: cumulative return")
    if returns.shape[1]:
        ax.legend()
    fig.tight_layout()
    return fig


def strategy_drawdown(returns: pd.DataFrame) -> Figure:
    """Drawdown (percent) of the compounded return of each column of decimal periodic returns (index = date):
    wealth relative to its running peak, minus one; the peak includes the starting wealth of 1, so a loss in the
    first period is already a drawdown. Missing returns count as zero."""
    fig, ax = _figure((9, 3.5))
    for col in returns.columns:
        r = pd.to_numeric(returns[col], errors="coerce").fillna(0.0).to_numpy(dtype=np.float64)
        wealth = np.cumprod(1.0 + r)
        peak = np.maximum.accumulate(np.maximum(wealth, 1.0)) if len(wealth) else wealth
        ax.plot(returns.index, (wealth / peak - 1.0) * 100.0, label=str(col))
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set(xlabel="date", ylabel="drawdown (%)", title="Strategy: drawdown from the running peak")
    if returns.shape[1]:
        ax.legend()
    fig.tight_layout()
    return fig


def _portfolio_label(value: object) -> str:
    """``"1.0"`` / ``1.0`` -> ``"1"``; other labels (``"H-L"``) unchanged."""
    try:
        number = float(str(value))
    except ValueError:
        return str(value)
    return str(int(number)) if np.isfinite(number) and number.is_integer() else str(value)


def sort_means(summary: pd.DataFrame, characteristic: str) -> Figure:
    """Bars of the mean monthly return (percent) per portfolio with ±1.96 Newey-West standard-error bars.

    ``summary`` is :meth:`bondpremia.portfolio.sorts.SortResult.summary`: rows ``mean`` (decimal per month) and
    ``t_stat``, one column per portfolio (``1``..``n``, then ``H-L``, drawn in another colour). The standard error
    is ``mean / t``; a bar whose t-statistic is zero or missing gets no error bar.
    """
    rows = summary.T
    mean = pd.to_numeric(rows["mean"], errors="coerce").to_numpy(dtype=np.float64) * 100.0
    t = pd.to_numeric(rows["t_stat"], errors="coerce").to_numpy(dtype=np.float64)
    labels = [_portfolio_label(c) for c in summary.columns]
    x = np.arange(len(labels), dtype=np.float64)
    colors = ["tab:orange" if label == "H-L" else "tab:blue" for label in labels]
    fig, ax = _figure((8, 4.5))
    ax.bar(x, np.nan_to_num(mean), color=colors)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = 1.96 * np.abs(mean / t)
    ok = np.isfinite(half) & (t != 0)
    if ok.any():
        ax.errorbar(x[ok], mean[ok], yerr=half[ok], fmt="none", ecolor="black", capsize=4, linewidth=1.0)
    ax.set_xticks(x)
    ax.set_xticklabels(labels)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set(xlabel=f"portfolio (1 = lowest {characteristic})", ylabel="mean return (% per month)",
           title=f"Portfolios sorted on {characteristic}: mean return ±1.96 Newey-West s.e.")
    fig.tight_layout()
    return fig


def sort_cumulative_hl(returns: pd.DataFrame, characteristic: str, column: str = "H-L") -> Figure:
    """Cumulative sum (percent) of the decimal monthly long-short returns in ``returns[column]`` (index = date);
    months before the first return (holding-period warm-up) are left out, later missing months add zero."""
    r = pd.to_numeric(returns[column], errors="coerce")
    valid = r.notna().to_numpy()
    start = int(np.argmax(valid)) if valid.any() else len(r)
    r = r.iloc[start:].fillna(0.0)
    fig, ax = _figure((9, 3.5))
    ax.plot(r.index, r.cumsum().to_numpy(dtype=np.float64) * 100.0, color="tab:orange", label=str(column))
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set(xlabel="date", ylabel="cumulative H-L return (%)",
           title=f"Portfolios sorted on {characteristic}: cumulative high-minus-low return (sum of monthly returns)")
    fig.tight_layout()
    return fig


def _month_label(value: object) -> str:
    try:
        return pd.Timestamp(value).strftime("%Y-%m")  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)


def tear_sheet(returns: pd.DataFrame | pd.Series, title: str = "Performance",
               periods_per_year: int | None = None) -> Figure:
    """One page: cumulative wealth, drawdowns, rolling 12-period volatility and the return histogram of every
    column (decimal simple returns per period)."""
    from bondpremia.portfolio.performance import infer_periods_per_year

    frame = returns.to_frame() if isinstance(returns, pd.Series) else returns
    p = periods_per_year or infer_periods_per_year(frame.index)
    fig = Figure(figsize=(11, 7.5))
    axes = fig.subplots(2, 2)
    (a_w, a_d), (a_v, a_h) = axes
    for col in frame.columns:
        r = frame[col].dropna()
        wealth = (1 + r).cumprod()
        a_w.plot(wealth.index, wealth, label=str(col))
        a_d.plot(wealth.index, 100 * (wealth / wealth.cummax().clip(lower=1.0) - 1), label=str(col))
        a_v.plot(r.index, 100 * r.rolling(12).std() * np.sqrt(p), label=str(col))
        a_h.hist(100 * r, bins=30, alpha=0.5, label=str(col))
    a_w.set(title="Cumulative wealth", xlabel="date", ylabel="wealth of 1 invested")
    a_d.set(title="Drawdown", xlabel="date", ylabel="drawdown (%)")
    a_v.set(title="Rolling 12-period volatility", xlabel="date", ylabel="annualized volatility (%)")
    a_h.set(title="Return distribution", xlabel="return per period (%)", ylabel="number of periods")
    for ax in axes.ravel():
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def taylor_rule(returns: pd.DataFrame, window: int) -> Figure:
    """Observed against predicted (rolling ``window``-month Taylor rule, out of sample) fed funds rate, in percent
    per year, dated at the month the signal is known (the ``observed`` and ``predicted`` columns of
    :func:`bondpremia.portfolio.taylor_rule_strategy`)."""
    fig, ax = _figure((10, 4.5))
    ax.plot(returns.index, returns["observed"], label="observed fed funds rate")
    ax.plot(returns.index, returns["predicted"], label=f"Taylor rule, rolling {window}-month fit, out of sample")
    ax.set(xlabel="date (month the signal is known)", ylabel="federal funds rate (% per year)",
           title="Taylor rule: predicted vs observed fed funds rate")
    ax.legend()
    fig.tight_layout()
    return fig
