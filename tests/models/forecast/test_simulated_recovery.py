"""On the simulated term structure the correctly specified models recover the true risk premium: their
out-of-sample R² approaches the population R² of the true conditional mean (closed form in the simulator).

One 60-year sample is far too short to pin R²oos down (across seeds it ranges from about 0 to 0.4 for the
same population value of 0.25), so the test averages ten 200-year samples.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bondpremia.models.forecast import recursive_forecast, report_tables, treasury_data
from bondpremia.simulate import simulate_term_structure


def _r2(actual: np.ndarray, forecast: np.ndarray, benchmark: np.ndarray) -> float:
    return float(1 - np.sum((actual - forecast) ** 2) / np.sum((actual - benchmark) ** 2))


def test_linear_models_recover_the_linear_premium():
    """Premium linear in the curve factors (no macro effect): OLS on the ten forwards and PCR on three
    components (the simulated yields are exactly affine in three factors) are correctly specified."""
    got = {"ols": [], "pcr3": [], "truth": []}
    for seed in range(10, 20):
        sim = simulate_term_structure(n_months=2400, start="1800-01", seed=seed, n_series=8,
                                      params={"macro_effect": False})
        data = treasury_data(sim.yields, sim.macro, sim.groups)
        for model in ("ols", "pcr3"):
            fc = recursive_forecast(data, model, oos_start="1860-01", timing="purged", importance=False).forecasts
            ew = fc[fc["maturity"] == "EW"]
            a, b, f = (ew[c].to_numpy() for c in ("actual", "benchmark", "forecast"))
            truth = sim.expected_excess["EW"].reindex(ew["date"]).to_numpy()
            got[model].append(_r2(a, f, b))
            assert np.corrcoef(f, truth)[0, 1] > 0.85
        got["truth"].append(_r2(a, truth, b))
    pop = float(sim.population_r2["EW"])
    mean = {k: float(np.mean(v)) for k, v in got.items()}
    assert abs(mean["truth"] - pop) < 0.03, (mean, pop)
    for model in ("ols", "pcr3"):
        assert abs(mean[model] - pop) < 0.03, (mean, pop)
        # estimation error costs a little against the true conditional mean, never gains on average
        assert mean[model] <= mean["truth"]


def test_macro_network_tracks_the_true_premium_better_than_any_linear_model():
    """Reduced version of the slow test below, in the default run: one 500-year sample, five seeds. Measured
    against the true conditional mean E_t rx (known in the simulator) rather than the realized return, which
    removes the realized noise that makes R²oos on one sample vary by +-0.1: the share of Var(E_t rx) the
    forecasts explain, 1 - mean((f - E_t rx)^2) / Var(E_t rx). A linear function of the forwards and the macro
    states can reach at most R²(forwards and macro, linearly) / R²(total) of it (closed forms in the simulator;
    0.211 / 0.360 = 0.59 for the default calibration); the macro network must go beyond that and beat the
    estimated linear model by 0.1 (measured over seeds 5-8: 0.62-0.78 against 0.46-0.58)."""
    sim = simulate_term_structure(n_months=6000, start="1700-01", seed=6, n_series=8)
    states = sim.states[[c for c in sim.states.columns if c.startswith("macro")]]
    data = treasury_data(sim.yields, states, pd.Series(range(1, states.shape[1] + 1), index=states.columns))
    share = {}
    for m in ("ols_macro", "nn_macro1_fwd"):
        fc = recursive_forecast(data, m, oos_start="2000-01", timing="purged", n_seeds=5, n_keep=3,
                                refit_every=600, retune_every=600, importance=False).forecasts
        ew = fc[fc["maturity"] == "EW"]
        truth = sim.expected_excess["EW"].reindex(ew["date"]).to_numpy()
        share[m] = 1 - np.mean((ew["forecast"].to_numpy() - truth) ** 2) / np.var(truth)
    pop = sim.population_r2_table["EW"]
    linear_bound = pop["forwards_macro_linear"] / pop["total"]
    assert linear_bound == pytest.approx(0.586, abs=0.002)
    assert share["nn_macro1_fwd"] > linear_bound + 0.03, (share, linear_bound)
    assert share["nn_macro1_fwd"] > share["ols_macro"] + 0.1, share


@pytest.mark.slow
def test_macro_network_recovers_part_of_the_non_linear_premium():
    """With the non-linear macro premium and the four macro states observed, 300 years of training data: the
    linear models reach their population R² (forwards alone; forwards and macro states linearly), and the macro
    network goes clearly beyond what any linear function of these inputs can reach, towards the total."""
    sim = simulate_term_structure(n_months=6000, start="1700-01", seed=5, n_series=8)
    states = sim.states[[c for c in sim.states.columns if c.startswith("macro")]]
    data = treasury_data(sim.yields, states, pd.Series(range(1, states.shape[1] + 1), index=states.columns))
    runs = [recursive_forecast(data, m, oos_start="2000-01", timing="purged", n_seeds=10, n_keep=3,
                               refit_every=600, retune_every=600, importance=False)
            for m in ("ols", "ols_macro", "nn_macro1_fwd")]
    got = report_tables(runs, data).r2oos.set_index(["model", "maturity"])["r2oos"] / 100
    pop = sim.population_r2_table["EW"]
    assert abs(got[("ols", "EW")] - pop["forwards"]) < 0.03
    assert abs(got[("ols_macro", "EW")] - pop["forwards_macro_linear"]) < 0.03
    assert got[("nn_macro1_fwd", "EW")] > pop["forwards_macro_linear"] + 0.04
    assert got[("nn_macro1_fwd", "EW")] < pop["total"]
