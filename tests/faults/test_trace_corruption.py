"""Property test: random corruptions of a simulated TRACE file never raise, and every input row is accounted for:
rows in = trades + rows dropped at each step, the parse rejects are exactly the rows dropped at parse, and a
corrupted row that is still a valid trade is not lost silently (the audit identity holds for every preset)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bondpremia.simulate.trace import simulate_trace
from bondpremia.trace.clean import PRESETS, clean_trades

BAD_VALUES = ["", "  ", "abc", "nan", "inf", "-1", "0", "08/06/2011", "2011-06-08XYZ", "12.5", "1e309", "NULL",
              "99:99:99", "\u00e9t\u00e9", "2011-02-30"]


@pytest.fixture(scope="module")
def text_messages():
    sim = simulate_trace(n_bonds=20, n_months=4, seed=11)
    # as text, as a CSV export of WRDS would give it
    return sim.messages.with_columns(pl.all().cast(pl.String)), sim.fisd


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_corruptions_are_accounted_for(text_messages, data):
    msgs, fisd = text_messages
    n = msgs.height
    rows = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=40))
    cols = data.draw(st.lists(st.sampled_from(msgs.columns), min_size=len(rows), max_size=len(rows)))
    vals = data.draw(st.lists(st.sampled_from(BAD_VALUES), min_size=len(rows), max_size=len(rows)))
    frame = msgs.to_pandas()
    for r, c, v in zip(rows, cols, vals, strict=True):
        frame.iat[r, frame.columns.get_loc(c)] = v
    corrupted = pl.from_pandas(frame)
    preset = data.draw(st.sampled_from(sorted(PRESETS)))
    res = clean_trades(corrupted, fisd, preset=preset)
    audit = res.audit
    rows_in, rows_out = audit["rows_in"].to_numpy(), audit["rows_out"].to_numpy()
    assert rows_in[0] == n
    np.testing.assert_array_equal(rows_in[1:], rows_out[:-1])
    np.testing.assert_array_equal(rows_in, rows_out + audit["rows_dropped"].to_numpy())
    assert res.trades.height == rows_out[-1]
    assert res.rejects.height == int(audit.filter(pl.col("step") == "parse")["rows_dropped"][0])
    # every reject names its column and reason
    assert res.rejects["reason"].str.contains(": ").all()
