"""The strategy stage: ``strategy taylor`` (the rolling Taylor-rule strategy on a bond ETF, Taylor 1993)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bondpremia.errors import InputError
from bondpremia.stages._common import as_option, files

if TYPE_CHECKING:
    import pandas as pd

    from bondpremia.portfolio import BacktestResult

__all__ = ["TaylorConfig", "read_taylor_rates", "run_strategy_taylor"]


@dataclass(frozen=True)
class TaylorConfig:
    """The options of ``bondpremia strategy taylor``: the rolling ``window`` of the Taylor-rule regression
    (months), the ``publication_lag`` of the macro data (months) and the transaction cost ``cost_bps``."""

    window: int = 36
    publication_lag: int = 1
    cost_bps: float = 0.0

    def __post_init__(self) -> None:
        from bondpremia.validate import integer, number

        object.__setattr__(self, "window", integer(self.window, "--window", 4))
        object.__setattr__(self, "publication_lag", integer(self.publication_lag, "--publication-lag", 0))
        object.__setattr__(self, "cost_bps", number(self.cost_bps, "--cost-bps", 0.0))

    def as_options(self) -> dict[str, Any]:
        return {"window": self.window, "publication_lag": self.publication_lag, "cost_bps": self.cost_bps}


def read_taylor_rates(path: str | Path) -> pd.DataFrame:
    """The monthly CSV of ``strategy taylor`` (date, FEDFUNDS, CFNAI, pce_infl_yoy in percent), indexed by date;
    a cell that is not a number is an error naming the file, column and row."""
    import pandas as pd

    from bondpremia.validate import numeric_columns

    path = Path(path)
    if not path.exists():
        raise InputError("file not found", file=str(path))
    frame = pd.read_csv(path)
    if "date" not in frame.columns:
        raise InputError(f"column not found; the file has {list(frame.columns)}", file=str(path), column="date")
    frame = numeric_columns(frame, [c for c in ("FEDFUNDS", "CFNAI", "pce_infl_yoy") if c in frame.columns],
                            file=str(path))
    return frame.set_index(pd.to_datetime(frame["date"])).drop(columns="date")


def run_strategy_taylor(rates: str | Path | pd.DataFrame, asset: str | Path | pd.Series, out: str | Path,
                        config: TaylorConfig | None = None, *, title: str | None = None,
                        force: bool = False) -> BacktestResult:
    """``bondpremia strategy taylor``: long the asset when the rolling Taylor rule predicts a policy rate above the
    observed one, short when below, hold one month; writes the run folder ``out`` (``returns.csv``,
    ``stats.json``, ``strategy.png``, ``taylor_rule.png``, ``_SUCCESS.json``).

    ``rates`` is the monthly CSV (:func:`read_taylor_rates`) or a frame indexed by date; ``asset`` a Yahoo-style
    daily price file (its monthly total returns are traded) or a series of monthly simple returns. ``title``
    heads the tear sheet (default: the asset file's or series' name)."""
    from bondpremia.portfolio.backtest import taylor_rule_strategy
    from bondpremia.report.files import taylor_figures
    from bondpremia.rundir import check_out

    config = config or TaylorConfig()
    check_out(out, force)
    frame = read_taylor_rates(rates) if isinstance(rates, str | Path) else rates
    if isinstance(asset, str | Path):
        from bondpremia.data.prices import load_yahoo_prices, monthly_total_returns

        returns = monthly_total_returns(load_yahoo_prices(asset))
        name = Path(asset).stem
    else:
        returns, name = asset, str(getattr(asset, "name", None) or "the asset")
    result = as_option(taylor_rule_strategy, frame, returns, window=config.window,
                       publication_lag=config.publication_lag, cost_bps=config.cost_bps)
    heading = title or f"Taylor-rule strategy on {name} ({config.window}-month window)"
    result.save(out, inputs=files(rates, asset), force=force,
                draw=lambda folder: taylor_figures(folder, result, heading))
    return result
