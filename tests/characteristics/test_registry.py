"""The registry of characteristic specs: its declaration order is a valid order of computation, every KPP
characteristic is a spec whose needs lead to the inputs named when it is missing, and a spec whose need is missing
is reported with that need named."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bondpremia.characteristics import ALTERNATIVES, KPP_INPUTS, KPP_INSTRUMENTS, build_characteristics
from bondpremia.characteristics.grid import ICE_UNITS, bom_roles, make_grid, resolve_columns
from bondpremia.characteristics.registry import (
    PANEL_INPUTS,
    Options,
    Spec,
    Values,
    check_order,
    read_panel,
    resolve,
    tokens,
)
from bondpremia.characteristics.specs import SPECS
from bondpremia.simulate.bond_panel import simulate_bond_panel

pytestmark = pytest.mark.filterwarnings("ignore::bondpremia.characteristics.MissingInputWarning")

BY_NAME = {s.name: s for s in SPECS}


@pytest.fixture(scope="module")
def panel():
    return simulate_bond_panel(n_bonds=40, n_months=30, seed=1, start="2012-01")


def _values(panel: pd.DataFrame, macro: pd.DataFrame | None = None) -> Values:
    roles = resolve_columns(list(panel.columns))
    grid = make_grid(panel, roles)
    return Values(grid, macro, Options(units=dict(ICE_UNITS), ice=True),
                  read_panel(panel, roles, grid, bom_roles(roles)))


def test_declaration_order_is_a_valid_order_of_computation():
    check_order(SPECS)
    seen: set[str] = set()
    for s in SPECS:
        for need in (*s.needs, *s.uses):
            for t in tokens(need):
                assert (t.startswith("macro:") or (t.startswith("panel:") and t[len("panel:"):] in PANEL_INPUTS)
                        or t in seen), f"{s.name} needs {t} before it is computed"
        seen.add(s.name)
    assert len(seen) == len(SPECS)
    # the check catches a spec moved before what it needs, an unknown need and a duplicate
    i, j = [s.name for s in SPECS].index("bond_momentum"), [s.name for s in SPECS].index("bond_momentum_x_rating")
    swapped = list(SPECS)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    with pytest.raises(ValueError, match="bond_momentum_x_rating.*bond_momentum"):
        check_order(swapped)
    with pytest.raises(ValueError, match="panel:nonsense"):
        check_order([Spec("x", ("panel:nonsense",), lambda v: 0, "row of t")])
    with pytest.raises(ValueError, match="declared twice"):
        check_order([*SPECS, SPECS[-1]])


def test_kpp_characteristics_alternatives_and_panel_inputs_match_the_registry():
    outputs = [s.name for s in SPECS if s.output]
    assert set(KPP_INSTRUMENTS) <= set(outputs)
    assert {s.name for s in SPECS if s.alternative} == set(ALTERNATIVES)
    used = {t[len("panel:"):] for s in SPECS for n in (*s.needs, *s.uses) for t in tokens(n) if t.startswith("panel:")}
    assert used == set(PANEL_INPUTS)  # every input read is used, every input used is read

    def raw(name: str) -> set[str]:  # the panel roles and macro columns a spec needs, through the specs it needs
        out: set[str] = set()
        for need in BY_NAME[name].needs:
            for t in tokens(need):
                out |= {t[len("panel:"):]} if t.startswith("panel:") else {t} if t.startswith("macro:") else raw(t)
        return out

    for c in KPP_INSTRUMENTS:  # the inputs named when c is missing are inputs its specs need
        named = {t if not n.startswith("macro:") or t.startswith("macro:") else f"macro:{t}"
                 for n in KPP_INPUTS[c] for t in tokens(n)}
        assert named <= raw(c), (c, named - raw(c))


def test_dated_is_the_window_column_of_the_docs():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "characteristics.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| .* \| ([^|]+) \|$", doc, flags=re.MULTILINE)
    table = {name: window.strip() for name, window in rows if name in KPP_INSTRUMENTS}
    assert set(table) == set(KPP_INSTRUMENTS)
    assert {c: BY_NAME[c].dated for c in KPP_INSTRUMENTS} == table


def test_a_spec_whose_need_is_missing_is_reported_with_the_need_named(panel):
    # a toy registry: b needs a, which needs a panel input the panel does not have
    toy = [Spec("a", ("panel:sales",), lambda v: v["panel:sales"], "row of t"),
           Spec("b", ("a",), lambda v: v["a"] + 1, "row of t"),
           Spec("c", ("panel:ret",), lambda v: v["panel:ret"] * 2, "row of t")]
    check_order(toy)
    values = _values(panel.drop(columns="sales"))
    assert resolve(toy, values) == {"a": ["panel:sales"], "b": ["a"]}
    assert values.has("c") and not values.has("a")
    np.testing.assert_array_equal(values["c"], values["panel:ret"] * 2)

    # the registry: no sales, no stock price or default probability, no macro frame
    lean = panel.drop(columns=["sales", "Stock_Price", "PD_DRISK"])
    values = _values(lean)
    unbuilt = resolve(SPECS, values)
    assert unbuilt["turnover_vol"] == ["panel:sales"] and unbuilt["operating_leverage"] == ["panel:sales"]
    assert unbuilt["stock_ret"] == ["panel:stock_price"] and unbuilt["equity_vol"] == ["stock_ret"]
    assert unbuilt["distance_to_default"] == ["panel:pd|panel:market_cap+panel:debt+equity_vol+stock_ret"]
    assert unbuilt["spread_to_d2d"] == ["distance_to_default"]
    assert unbuilt["vix_regressors"] == ["macro:Mkt-RF", "macro:SMB", "macro:HML",
                                         "macro:def_ret|macro:corporate_ret+macro:treasury_ret",
                                         "macro:term_ret|macro:treasury_ret", "macro:vix_innovation"]
    assert unbuilt["vix_beta"] == ["vix_regressors"] and "default_spread" in unbuilt
    assert not set(ALTERNATIVES) & set(unbuilt)  # alternatives not asked for are skipped, not reported
    assert unbuilt["gross_profitability"] == ["panel:gross_profit|panel:grossmargin+panel:sales"]
    assert values.has("gross_margin") and values.has("bond_market_beta") and values.has("spread")

    # through the builder: the KPP characteristics among them are missing, with the inputs they lack
    with pytest.warns(UserWarning, match=r"turnover_vol needs sales") as rec:
        res = build_characteristics(lean)
    assert res.missing == {
        "equity_momentum": ["stock_price"], "equity_vol": ["stock_price"], "turnover_vol": ["sales"],
        "operating_leverage": ["sales"], "gross_profitability": ["gross_profit|grossmargin+sales"],
        "profitability_change_5y": ["gross_profit|grossmargin+sales"],
        "distance_to_default": ["pd|market_cap+debt+stock_price"], "spread_to_d2d": ["pd|market_cap+debt+stock_price"],
        "vix_beta": ["macro:Mkt-RF", "macro:SMB", "macro:HML", "macro:def_ret|corporate_ret+treasury_ret",
                     "macro:term_ret|treasury_ret", "macro:vix_innovation"]}
    assert any("distance_to_default needs pd|market_cap+debt+stock_price" in str(w.message) for w in rec)
    assert res.names == [s.name for s in SPECS if s.output and not s.alternative and s.name not in unbuilt]
