"""The simulated factor panel: its truth explains what IPCA finds."""

from __future__ import annotations

import numpy as np

from bondpremia.models import IPCA
from bondpremia.simulate import simulate_factor_panel


def test_reproducible_and_unbalanced():
    a = simulate_factor_panel(n_bonds=50, n_months=12, seed=3)
    b = simulate_factor_panel(n_bonds=50, n_months=12, seed=3)
    assert a.panel.equals(b.panel)
    assert 0.7 < len(a.panel) / (50 * 12) < 0.9


def test_ipca_with_the_true_k_reaches_the_true_model_fit():
    sim = simulate_factor_panel(n_bonds=400, n_months=96, n_chars=8, n_factors=3, seed=0)
    p = sim.panel
    z = p[sim.chars].to_numpy()
    f = sim.factors.reindex(p["date"]).to_numpy()
    fitted_true = np.einsum("nl,nl->n", z, f @ sim.gamma_beta.T + sim.gamma_alpha)
    r = p["ret"].to_numpy()
    r2_true = 1 - ((r - fitted_true) ** 2).sum() / (r**2).sum()
    r2 = {k: IPCA(k, tol=1e-8).fit(p, chars=sim.chars).r2_total_ for k in (2, 3, 4)}
    assert r2_true - 0.002 < r2[3] < r2_true + 0.01  # estimation overfits a little, never by much
    assert r2[3] - r2[2] > 0.02 and r2[4] - r2[3] < 0.01  # the third factor matters, a fourth does not
