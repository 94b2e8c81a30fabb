"""Synthetic data with known truth, for the demo and the tests."""

from bondpremia.simulate.panel import SimulatedPanel, simulate_factor_panel
from bondpremia.simulate.term_structure import (
    SimulatedTermStructure,
    TermStructureParams,
    simulate_term_structure,
)
from bondpremia.simulate.trace import (
    NoiseRates,
    SimulatedTrace,
    simulate_fisd,
    simulate_trace,
    simulated_tbill,
    write_simulated_trace,
)

__all__ = ["NoiseRates", "SimulatedPanel", "SimulatedTermStructure", "SimulatedTrace", "TermStructureParams",
           "simulate_factor_panel", "simulate_fisd", "simulate_term_structure", "simulate_trace", "simulated_tbill",
           "write_simulated_trace"]
