"""Predictors and targets of the Treasury risk-premium forecasts (Bianchi, Buechner and Tamoni 2021, Section 1).

At every month ``t`` the predictors are the one-year forward rates ``f_t(1), ..., f_t(10)`` (Cochrane and
Piazzesi 2005, Section I) and, optionally, a transformed macro panel dated ``t``. The targets are the
12-month log excess returns ``rx_{t+12}(n)`` for ``n = 2, 3, 4, 5, 7, 10`` years and their equal-weighted
mean ``"EW"``, stored in the row of the **purchase date** ``t``: the value in row ``t`` is realized only at
``t + 12`` (:func:`bondpremia.fixed_income.curves.excess_returns` with ``date="purchase"``). The
out-of-sample engine (:mod:`bondpremia.models.forecast.engine`) decides which of those rows may be used at a
forecast date.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bondpremia.data.fredmd import MARKET_GROUPS
from bondpremia.errors import InputError
from bondpremia.fixed_income.curves import excess_returns, forward_rates

__all__ = ["TreasuryData", "month", "treasury_data", "target_label"]



def month(value: object, argument: str) -> pd.Timestamp:
    """The month-end timestamp of ``YYYY-MM`` (or a date; :func:`bondpremia.validate.month`)."""
    from bondpremia.validate import month as parse

    return parse(value, argument).to_timestamp(how="end").normalize()


def target_label(column: object) -> str:
    """The maturity label of a target column as written in the outputs: ``"2"``, ..., ``"10"``, ``"EW"``."""
    if isinstance(column, str):
        return "EW" if column.lower() == "ew" else column
    value = float(column)  # type: ignore[arg-type]
    return str(int(value)) if value.is_integer() else str(value)


@dataclass(frozen=True)
class TreasuryData:
    """Aligned monthly predictors and targets.

    Attributes
    ----------
    forwards:
        Dates x forward maturities (years), decimals, dated ``t``.
    macro:
        Dates x macro series (transformed, stationary), dated ``t`` (after the optional publication lag), or
        ``None``. Complete on every row whose target is realized; the last ``horizon`` rows may be NaN.
    groups:
        McCracken-Ng group (1..8) of each macro column, or ``None``.
    targets:
        Dates x maturities (labels ``"2"``, ..., ``"10"``, ``"EW"``): log excess returns of the bond bought at
        ``t`` and sold at ``t + horizon``, stored at ``t``; NaN where ``t + horizon`` is past the sample.
    horizon:
        Holding period in months; the target in row ``t`` is realized at ``t + horizon``.
    """

    forwards: pd.DataFrame
    macro: pd.DataFrame | None
    groups: pd.Series | None
    targets: pd.DataFrame
    horizon: int = 12

    @property
    def dates(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.forwards.index)

    def predictors(self, use_macro: bool) -> pd.DataFrame:
        """Forwards, then (if ``use_macro``) the macro columns: the design matrix of every model."""
        if not use_macro:
            return self.forwards
        if self.macro is None:
            raise InputError("this model needs a macro panel; pass --macro (or macro=...)", column="macro")
        return pd.concat([self.forwards, self.macro], axis=1)


def _month_index(frame: pd.DataFrame, argument: str) -> pd.DataFrame:
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise InputError("needs a DatetimeIndex of months", column=argument)
    out = frame.copy()
    out.index = pd.DatetimeIndex(pd.DatetimeIndex(out.index).to_period("M").to_timestamp(how="end").normalize(),
                                 name="date")
    if out.index.has_duplicates:
        dup = out.index[out.index.duplicated()][0]
        raise InputError(f"month {dup:%Y-%m} appears twice", column=argument)
    return out.sort_index()


def treasury_data(
    yields: pd.DataFrame,
    macro: pd.DataFrame | None = None,
    groups: pd.Series | Sequence[int] | None = None,
    *,
    start: object = None,
    end: object = None,
    maturities: Iterable[float] = (2, 3, 4, 5, 7, 10),
    forward_maturities: Iterable[float] = tuple(range(1, 11)),
    horizon: int = 12,
    lag_non_market: bool = False,
) -> TreasuryData:
    """Build forwards, macro predictors and 12-month excess-return targets on one monthly index.

    Parameters
    ----------
    yields:
        Month-end index x maturities in months (int labels), continuously compounded zero yields in decimals
        (the layout of :func:`bondpremia.data.load_liu_wu`). Months ``start .. end`` must be complete for the
        maturities used.
    macro:
        Month-end index x series, already transformed to stationarity and free of NaN over ``start .. end``
        (e.g. :func:`bondpremia.data.prepare_fredmd`), or ``None``.
    groups:
        McCracken-Ng group (1..8) per macro column; needed for the group-ensemble network and grouped
        importance, and for ``lag_non_market``.
    start, end:
        First and last month of the sample (``YYYY-MM``). ``end`` is the last month of yields used, so the
        last target is the return bought at ``end - horizon`` and realized at ``end``.
    lag_non_market:
        Lag every macro series outside groups 6 (interest rates, FX) and 8 (stock market) by one month: those
        are published with a delay, so the value for month ``t - 1`` is what is known at the end of ``t``.

    Returns
    -------
    TreasuryData
    """
    yields = _month_index(yields, "yields")
    lo = yields.index[0] if start is None else month(start, "start")
    hi = yields.index[-1] if end is None else month(end, "end")
    if lo >= hi:
        raise InputError(f"start {lo:%Y-%m} is not before end {hi:%Y-%m}", column="start")
    window = yields.loc[(yields.index >= lo) & (yields.index <= hi)]
    fwd = forward_rates(window, tuple(forward_maturities))
    fwd.columns = pd.Index([f"f{target_label(c)}" for c in fwd.columns], name="predictor")
    rx = excess_returns(window, tuple(maturities), horizon_months=horizon, date="purchase")
    rx.columns = pd.Index([target_label(c) for c in rx.columns], name="maturity")
    bad = fwd.isna().any(axis=1)
    if bad.any():
        first = fwd.index[bad.to_numpy()][0]
        raise InputError(f"forward rates are missing in {first:%Y-%m}: a needed yield is blank; start later",
                         column="yields")
    mac = None
    grp = None
    if macro is not None:
        mac = _month_index(macro, "macro").astype(float)
        if groups is not None:
            grp = pd.Series(np.asarray(groups, dtype=int) if not isinstance(groups, pd.Series) else groups,
                            index=mac.columns if not isinstance(groups, pd.Series) else groups.index, name="group")
            missing = [c for c in mac.columns if c not in grp.index]
            if missing:
                raise InputError(f"no group for macro series {missing[:5]}", column="groups")
            grp = grp.loc[list(mac.columns)].astype(int)
        if lag_non_market:
            if grp is None:
                raise InputError("lag_non_market needs the McCracken-Ng groups", column="groups")
            slow = [c for c in mac.columns if int(grp[c]) not in MARKET_GROUPS]
            mac[slow] = mac[slow].shift(1, freq="ME").reindex(mac.index)
        mac = mac.reindex(fwd.index)
        # rows whose return is not yet realized are never used for training or evaluation
        holes = mac.isna() & rx.notna().all(axis=1).to_numpy()[:, None]
        if holes.to_numpy().any():
            r, c = np.argwhere(holes.to_numpy())[0]
            hint = " (the one-month lag needs the month before it)" if lag_non_market else ""
            raise InputError(f"series {mac.columns[c]!r} is missing in {mac.index[r]:%Y-%m}{hint}; impute it "
                             "(prepare_fredmd) or change start/end", column="macro")
    return TreasuryData(forwards=fwd, macro=mac, groups=grp, targets=rx, horizon=horizon)
