"""bondpremia.validate.month, the one month parser of the package's options, and the callers that use it."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest

from bondpremia.errors import InputError
from bondpremia.validate import month


@pytest.mark.parametrize("value", ["2012-02", "2012-02-06", "2012-02-29 10:30", pd.Timestamp("2012-02-29"),
                                   np.datetime64("2012-02-01"), pd.Period("2012-02", "M"), "20120206", "2012-2",
                                   "2012-02-06T10:00", datetime.date(2012, 2, 6),
                                   pd.Period("2012-02-06", "D")])
def test_a_month_in_any_common_spelling(value):
    p = month(value, "start")
    assert p == pd.Period("2012-02", "M")
    assert p.ordinal == (2012 - 1970) * 12 + 1  # months since 1970-01, what the simulator counts in


@pytest.mark.parametrize("value", ["the nineties", "", None, "NaT", "2012-13", "June", "6/2012", "2012"])
def test_an_unreadable_month_names_the_option(value):
    with pytest.raises(InputError) as err:
        month(value, "--oos-start")
    assert str(err.value) == f"'--oos-start': cannot read month {value!r}; use YYYY-MM"


def test_callers_share_the_message():
    from bondpremia.data.fredmd import _month as fredmd_month
    from bondpremia.models.forecast.features import month as month_end
    from bondpremia.simulate.trace.dates import _month as months_since_1970

    assert month_end("2000-02", "end") == pd.Timestamp("2000-02-29")
    assert fredmd_month(None, "start") is None and fredmd_month("1960-03-15", "start") == pd.Period("1960-03", "M")
    assert months_since_1970("1970-01", "start") == 0 and months_since_1970("2012-02-06", "start") == 505
    for fn in (month_end, fredmd_month, months_since_1970):
        with pytest.raises(InputError, match="cannot read month 'soon'; use YYYY-MM"):
            fn("soon", "start")


def test_ipca_oos_start_that_is_not_a_month_is_an_input_error():
    from bondpremia.models import IPCA

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"id": np.tile(np.arange(5), 6), "date": np.repeat(pd.date_range("2001-01-31", periods=6,
                                                                                        freq="ME"), 5),
                       "c": rng.standard_normal(30), "ret": rng.standard_normal(30)})
    with pytest.raises(InputError, match="'start': cannot read month 'the nineties'; use YYYY-MM"):
        IPCA(1).fit_oos(df, start="the nineties", chars=["c"])
