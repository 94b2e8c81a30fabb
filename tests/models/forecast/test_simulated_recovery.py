"""On the simulated term structure the correctly specified models recover the true risk premium: their
out-of-sample R² approaches the population R² of the true conditional mean (closed form in the simulator).

One 60-year sample is far too short to pin R²oos down (across seeds it ranges from about 0 to 0.4 for the
same population value of 0.25), so the test averages ten 200-year samples.
"""

from __future__ import annotations

import numpy as np

from bondpremia.models.forecast import recursive_forecast, treasury_data
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
            truth = sim.expected_excess["ew"].reindex(ew["date"]).to_numpy()
            got[model].append(_r2(a, f, b))
            assert np.corrcoef(f, truth)[0, 1] > 0.85
        got["truth"].append(_r2(a, truth, b))
    pop = float(sim.population_r2["ew"])
    mean = {k: float(np.mean(v)) for k, v in got.items()}
    assert abs(mean["truth"] - pop) < 0.03, (mean, pop)
    for model in ("ols", "pcr3"):
        assert abs(mean[model] - pop) < 0.03, (mean, pop)
        # estimation error costs a little against the true conditional mean, never gains on average
        assert mean[model] <= mean["truth"]
