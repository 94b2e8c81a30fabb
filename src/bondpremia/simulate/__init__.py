"""Synthetic data with known truth, for the demo and the tests."""

from bondpremia.simulate.panel import SimulatedPanel, simulate_factor_panel

__all__ = ["SimulatedPanel", "simulate_factor_panel"]
