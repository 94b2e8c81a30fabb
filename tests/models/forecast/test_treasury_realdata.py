"""Linear models on the paper's sample (Liu-Wu yields, 1971-08..2018-12, OOS 1990-01..2018-12), both timings,
against the published numbers of Bianchi, Buechner and Tamoni (2021), Table 1.

Reference rows: R²oos in percent for maturities 2, 3, 4, 5, 7, 10 and EW, as printed in Table 1 ("Forward rates
only") of the accepted manuscript of BBT (2021), which were produced with the ``bbt`` timing (the same
numbers are transcribed in the replication repository Sudarikovamaria/Bond-Risk-Premia-with-Machine-Learning,
``compare_to_paper.py``). The Liu-Wu file here is a 2025 vintage of the curve, so the
numbers cannot agree exactly; the PCA/PLS rows agree within a few percentage points.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bondpremia.data import load_liu_wu
from bondpremia.models.forecast import recursive_forecast, report_tables, treasury_data

LIU_WU = Path(__file__).resolve().parents[4] / "shared" / "data" / "treasury" / "liuwu_monthly_196106-202512.csv"
MATURITIES = ["2", "3", "4", "5", "7", "10", "EW"]

# BBT (2021) Table 1, forward rates only, R²oos in percent (pre-corrigendum, bbt timing).
PAPER_TABLE1 = {
    "pcr10": [-53.0, -36.2, -27.5, -20.3, -12.4, -0.7, -17.7],
    "pcr5": [-54.9, -38.8, -30.4, -20.3, -15.3, -3.1, -20.0],
    "pcr3": [-17.6, -10.2, -5.3, 1.0, 2.9, 10.2, 1.0],
    "pcrsq5": [-55.0, -42.1, -32.5, -22.6, -16.4, -5.5, -22.4],
    "pcrsq3": [-46.8, -38.8, -30.6, -21.0, -17.0, -8.9, -22.5],
    "pls5": [-56.3, -40.5, -33.4, -25.7, -18.6, -9.5, -24.8],
    "pls3": [-57.9, -40.7, -31.9, -22.9, -14.6, -1.8, -20.2],
    "ridge": [-40.1, -25.8, -18.9, -11.4, -6.0, 4.6, -9.9],
    "lasso": [-11.5, -8.1, -2.5, 0.2, 2.3, 9.3, 2.3],
    "enet": [-10.7, -8.4, -5.1, 0.4, 0.3, 7.0, 0.7],
}
MODELS = [*PAPER_TABLE1, "ols", "cp"]
# Rows whose specification matches the paper's closely enough to compare cell by cell. The penalized
# regressions depend on the penalty grid and validation details the paper does not fully state.
COMPARABLE = ["pcr10", "pcr5", "pcr3", "pcrsq5", "pcrsq3", "pls5", "pls3"]


@pytest.fixture(scope="module")
def data():
    if not LIU_WU.exists():
        pytest.skip("../shared/data/treasury is absent")
    return treasury_data(load_liu_wu(LIU_WU), start="1971-08", end="2018-12")


def _table(data, timing: str) -> pd.DataFrame:
    runs = [recursive_forecast(data, m, oos_start="1990-01", timing=timing, importance=False) for m in MODELS]
    t = report_tables(runs, data).r2oos
    return t.pivot(index="model", columns="maturity", values="r2oos").loc[MODELS, MATURITIES]


@pytest.mark.realdata
def test_linear_models_paper_sample_both_timings(data, capsys):
    assert len(recursive_forecast(data, "hm", oos_start="1990-01").forecasts) == 348 * 7
    bbt = _table(data, "bbt")
    purged = _table(data, "purged")
    paper = pd.DataFrame(PAPER_TABLE1, index=MATURITIES).T
    with capsys.disabled():
        pd.set_option("display.width", 160)
        print("\nR2oos (%), bbt timing\n", bbt.round(1))
        print("\nR2oos (%), purged timing\n", purged.round(1))
        print("\nBBT (2021) Table 1\n", paper)
    gap = (bbt.loc[COMPARABLE] - paper.loc[COMPARABLE]).abs()
    assert gap.to_numpy().max() < 8.0, gap.round(1)
    assert gap.to_numpy().mean() < 3.5, gap.round(1)
    # the ordering the paper reports: three PCs beat five and ten; R2oos rises with maturity
    assert (bbt.loc["pcr3"] > bbt.loc["pcr5"]).all()
    assert np.all(np.diff(bbt.loc["pcr3", MATURITIES[:-1]].to_numpy()) > 0)
    # honest timing: returns not yet realized no longer help, every unrestricted regression loses
    for model in ("ols", "pcr3", "pcr5", "pcr10", "pls3", "pls5", "cp"):
        assert purged.loc[model, "EW"] < bbt.loc[model, "EW"], model


# ----------------------------------------------------------------------------------------------------------------------
# networks: the units of the targets (issue 14)
# ----------------------------------------------------------------------------------------------------------------------
def _first_fit_rows(data) -> int:
    from bondpremia.models.forecast import forecast_dates, training_rows

    position = int(data.dates.get_indexer(forecast_dates(data, "1990-01"))[0])  # the 1989-01 forecast
    return training_rows(position, "bbt", data.horizon)


def _r2(pred, y):
    return 1.0 - ((y - pred) ** 2).sum() / ((y - y.mean(axis=0)) ** 2).sum()


@pytest.mark.realdata
def test_forward_rate_network_fits_in_percent_and_not_in_decimals(data):
    """BBT's recipe is tuned for excess returns in percent. Trained on decimal targets (y_scale=1) the weight
    penalty swamps the data loss and the 1989-01 fit of nn1_3 stays at the historical mean (in-sample R² about 0);
    trained in percent (the default y_scale=100, decimals in and out) it fits (about 16% over all maturities)."""
    from bondpremia.models.forecast import make_model
    from bondpremia.models.forecast.estimators import fresh

    n = _first_fit_rows(data)
    X, Y = data.forwards.to_numpy()[:n], data.targets.to_numpy()[:n]
    pct = fresh(make_model("nn1_3", X.shape[1], n_seeds=20, n_keep=2)).fit(X, Y)
    dec = fresh(make_model("nn1_3", X.shape[1], n_seeds=20, n_keep=2, nn_options={"y_scale": 1.0})).fit(X, Y)
    assert _r2(pct.predict(X), Y) > 0.10
    assert _r2(dec.predict(X), Y) < 0.03
    # the same fit from targets passed in percent with y_scale=1: forecasts in the caller's units, otherwise equal
    same = fresh(make_model("nn1_3", X.shape[1], n_seeds=20, n_keep=2, nn_options={"y_scale": 1.0})).fit(X, 100 * Y)
    np.testing.assert_allclose(100.0 * pct.predict(X), same.predict(X), rtol=1e-6, atol=1e-8)
