"""A simulated Enhanced TRACE market with known truth: FISD reference rows and their amount-outstanding history, raw
messages with the reporting errors and quirks of real TRACE that the cleaning rules undo, the trades that must
survive, and the bond-month returns they imply.

No TRACE data is public, so the TRACE stage is tested against this market. The truth trades are defined as what
the default cleaning preset ``bbw2019`` of ``docs/trace.md`` must keep, and every quirk (see ``messages``) is built
so that the rules, read as documented, recover them exactly (and a rule read differently does not). "Pre-2012" means a
report date (``trd_rpt_dt``) before 2012-02-06, "post-2012" on or after it; the 7 keys are ``cusip_id, trd_exctn_dt,
trd_exctn_tm, rptd_pr, entrd_vol_qt, rpt_side_cd, cntra_mp_id``, the 6 keys the 7 without the time, the 4 keys
``cusip_id, trd_exctn_dt, rptd_pr, entrd_vol_qt``.

The package, along its seams (each module's docstring says the rest):

- ``codes``: the public constants (FISD failures, ratings, settlement lags, the message and amount-outstanding
  schemas, the monthly columns), the internal codes of the message columns and the random streams.
- ``dates``: small helpers for months and days since the epoch, the 30/360 day count and typed polars series.
- ``market``: the market (SIFMA calendar, settlement lags, the common yield factors) and the yield-to-price model.
- ``universe``: the risk-free rate (:func:`simulated_tbill`), CUSIPs (:func:`cusip_check_digits`), the FISD bond
  universe with its amount-outstanding history (:func:`simulate_fisd`).
- ``messages``: the noise rates (:class:`NoiseRates`) and the generator of one block of bonds' messages: genuine
  trades, reporting errors and filtered trades (the quirks of real TRACE).
- ``frame``: exact duplicates, message numbering, the separation of accidental key collisions and the typing of
  the messages as Enhanced TRACE columns.
- ``truth``: the truth's definitions, its own bond math (coupon schedules, :func:`oracle_accrued_interest`,
  :func:`oracle_coupon_cash`) and the monthly truth.
- ``driver``: :func:`simulate_trace` (in memory) and :func:`write_simulated_trace` (streamed to parquet), block by
  block, and :class:`SimulatedTrace`.

Imports go one way (no module imports one listed after it): ``codes``, ``dates``, ``market``, ``universe``,
``frame``, ``messages``, ``truth``, ``driver``.
"""

from bondpremia.simulate.trace.codes import (
    AMOUNT_ACTIONS,
    AMOUNT_SCHEMA,
    FISD_FAILURES,
    FORMAT_CHANGE,
    MESSAGE_SCHEMA,
    MONTHLY_COLUMNS,
    RATINGS,
    SETTLEMENT_LAGS,
    SPECIAL_CONDITIONS,
)
from bondpremia.simulate.trace.driver import SimulatedTrace, simulate_trace, write_simulated_trace
from bondpremia.simulate.trace.messages import NoiseRates
from bondpremia.simulate.trace.truth import oracle_accrued_interest, oracle_coupon_cash
from bondpremia.simulate.trace.universe import cusip_check_digits, simulate_fisd, simulated_tbill

__all__ = ["AMOUNT_ACTIONS", "AMOUNT_SCHEMA", "FISD_FAILURES", "FORMAT_CHANGE", "MESSAGE_SCHEMA", "MONTHLY_COLUMNS",
           "RATINGS", "SETTLEMENT_LAGS", "SPECIAL_CONDITIONS", "NoiseRates", "SimulatedTrace", "cusip_check_digits",
           "oracle_accrued_interest", "oracle_coupon_cash", "simulate_fisd", "simulate_trace", "simulated_tbill",
           "write_simulated_trace"]
