"""Constants of the simulated TRACE market: the public constants (the format change, settlement lags, ratings, FISD
failures, special sale conditions, the columns of the messages, of the amount-outstanding history and of the monthly
truth), the random streams and the internal codes of the message columns, and the array types."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from bondpremia.schema import MONTHLY

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: First report date of the post-2012 Enhanced TRACE format (Dick-Nielsen 2014).
FORMAT_CHANGE = dt.date(2012, 2, 6)
#: Regular settlement lags by first trade date (T+3, T+2 from 2017-09-05, T+1 from 2024-05-28).
SETTLEMENT_LAGS: tuple[tuple[dt.date, int], ...] = (
    (dt.date(1900, 1, 1), 3), (dt.date(2017, 9, 5), 2), (dt.date(2024, 5, 28), 1))
#: S&P letter ratings; ``rating_num`` is the 1-based position (AAA = 1 ... D = 22).
RATINGS = ("AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-", "BB+", "BB", "BB-", "B+", "B", "B-",
           "CCC+", "CCC", "CCC-", "CC", "C", "D")
#: FISD fields set, one per bond, on the bonds that must fail a screen (``docs/trace.md``).
FISD_FAILURES = ("foreign_currency", "country_domicile", "convertible", "asset_backed", "rule_144a",
                 "private_placement", "bond_type", "coupon_type", "interest_frequency_13",
                 "interest_frequency_-1", "day_count_basis", "dated_date")
#: Sale condition codes of special trades (excluded by ``special_condition``).
SPECIAL_CONDITIONS = ("C", "N", "R", "S", "W", "Z")

#: Enhanced TRACE columns of the simulated messages, in order, with their types.
MESSAGE_SCHEMA: dict[str, Any] = {
    "cusip_id": pl.String, "bond_sym_id": pl.String, "trd_exctn_dt": pl.Date, "trd_exctn_tm": pl.Time,
    "trd_rpt_dt": pl.Date, "trd_rpt_tm": pl.Time, "msg_seq_nb": pl.Int64, "orig_msg_seq_nb": pl.Int64,
    "trc_st": pl.String, "asof_cd": pl.String, "wis_fl": pl.String, "lckd_in_ind": pl.String,
    "sale_cndtn_cd": pl.String, "sale_cndtn2_cd": pl.String, "days_to_sttl_ct": pl.Int64, "stlmnt_dt": pl.Date,
    "rptd_pr": pl.Float64, "entrd_vol_qt": pl.Float64, "yld_pt": pl.Float64, "rpt_side_cd": pl.String,
    "cntra_mp_id": pl.String, "buy_cpcty_cd": pl.String, "sell_cpcty_cd": pl.String, "buy_cmsn_rt": pl.Float64,
    "sell_cmsn_rt": pl.Float64, "cmsn_trd": pl.String, "spcl_trd_fl": pl.String, "sub_prdct": pl.String,
}
#: ``action_type`` labels of the amount-outstanding history (the simulator's own labels, not FISD codes): partial
#: call, tender offer, reopening (tap), redemption at maturity.
AMOUNT_ACTIONS = ("CALL", "TENDER", "REOPEN", "MATURE")
#: Columns of the amount-outstanding history (``fisd_amt_out.parquet``), FISD's layout.
AMOUNT_SCHEMA: dict[str, Any] = {
    "issue_id": pl.Int64, "complete_cusip": pl.String, "action_type": pl.String, "effective_date": pl.Date,
    "action_amount": pl.Float64, "amount_outstanding": pl.Float64,
}
#: Columns of ``truth_monthly``: the contract of the pipeline's ``monthly.parquet`` (:data:`bondpremia.schema.MONTHLY`).
MONTHLY_COLUMNS = MONTHLY.names

# random streams: one per purpose, so that the draws of one do not depend on another's
_STREAM_FISD, _STREAM_ABSENT, _STREAM_MARKET, _STREAM_BLOCK, _STREAM_FACTORS, _STREAM_ELN = 11, 12, 13, 14, 15, 16

# internal codes of the message columns
_TRC = ["T", "C", "W", "X", "Y"]
T_, C_, W_, X_, Y_ = range(5)
_ASOF: list[str | None] = [None, "A", "R", "X", "D"]
_ROLE_FINAL, _ROLE_REVERSED, _ROLE_GONE = 0, 1, 2  # see _separate_keys
_SALE: list[str | None] = [None, "@", *SPECIAL_CONDITIONS]
_CAP: list[str | None] = [None, "A", "P"]
_CMSN: list[str | None] = [None, "N", "Y"]
_SIDE = ["B", "S"]
_CNTRA = ["C", "D"]
