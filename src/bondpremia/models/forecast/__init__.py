"""Forecasting Treasury bond excess returns with machine learning (Bianchi, Buechner and Tamoni 2021).

``treasury_data`` builds forwards, macro predictors and 12-month excess-return targets; ``recursive_forecast``
runs the expanding-window out-of-sample exercise with an explicit timing (``purged`` or the paper's ``bbt``);
``report_tables`` evaluates it (R²oos, Clark-West) and writes the files of ``bondpremia treasury forecast``.
The neural networks (:mod:`bondpremia.models.forecast.nn`) need PyTorch and are imported on first use.
"""

from bondpremia.models.forecast.engine import ForecastRun, forecast_dates, recursive_forecast, run_models, training_rows
from bondpremia.models.forecast.estimators import MODEL_HELP, ModelSpec, make_model
from bondpremia.models.forecast.evaluation import (
    certainty_equivalent_gain,
    clark_west,
    cumulative_sse_difference,
    diebold_mariano,
    expanding_mean_benchmark,
    r2_oos,
    r2oos_table,
    significance_stars,
)
from bondpremia.models.forecast.features import TreasuryData, treasury_data
from bondpremia.models.forecast.inputs import read_macro, read_yields, zero_yields_from_par
from bondpremia.models.forecast.outputs import ForecastTables, report_tables
from bondpremia.models.forecast.replication import PAPER_ROWS, PaperRow, Replication, replicate

__all__ = [
    "MODEL_HELP",
    "PAPER_ROWS",
    "ForecastRun",
    "ForecastTables",
    "ModelSpec",
    "PaperRow",
    "Replication",
    "TreasuryData",
    "certainty_equivalent_gain",
    "clark_west",
    "cumulative_sse_difference",
    "diebold_mariano",
    "expanding_mean_benchmark",
    "forecast_dates",
    "make_model",
    "r2_oos",
    "r2oos_table",
    "read_macro",
    "read_yields",
    "recursive_forecast",
    "replicate",
    "report_tables",
    "run_models",
    "significance_stars",
    "training_rows",
    "treasury_data",
    "zero_yields_from_par",
]
