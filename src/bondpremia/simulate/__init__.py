"""Synthetic data with known truth, for the demo and the tests."""

from bondpremia.simulate.panel import SimulatedPanel, simulate_factor_panel
from bondpremia.simulate.trace import (
    NoiseRates,
    SimulatedTrace,
    simulate_fisd,
    simulate_trace,
    simulated_tbill,
    write_simulated_trace,
)

__all__ = ["NoiseRates", "SimulatedPanel", "SimulatedTrace", "simulate_factor_panel", "simulate_fisd",
           "simulate_trace", "simulated_tbill", "write_simulated_trace"]
