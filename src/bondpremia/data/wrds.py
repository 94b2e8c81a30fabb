"""Optional WRDS access (the ``wrds`` extra): pull Enhanced TRACE by trade-date range in CUSIP chunks.

Each chunk is written as its own parquet file, so a pull of the whole market never holds more than one chunk in
memory and an interrupted pull can be inspected; the folder is a valid input of ``bondpremia trace clean``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from bondpremia.errors import InputError

#: The Enhanced TRACE columns the cleaning rules use (WRDS table ``trace.trace_enhanced``).
TRACE_ENHANCED_COLUMNS = (
    "cusip_id", "bond_sym_id", "trd_exctn_dt", "trd_exctn_tm", "trd_rpt_dt", "trd_rpt_tm", "msg_seq_nb",
    "orig_msg_seq_nb", "trc_st", "asof_cd", "wis_fl", "lckd_in_ind", "sale_cndtn_cd", "days_to_sttl_ct",
    "rptd_pr", "entrd_vol_qt", "yld_pt", "rpt_side_cd", "cntra_mp_id", "buy_cpcty_cd", "sell_cpcty_cd",
    "buy_cmsn_rt", "sell_cmsn_rt", "cmsn_trd", "stlmnt_dt", "spcl_trd_fl", "sale_cndtn2_cd", "sub_prdct",
)

QUERY = ("SELECT {columns} FROM trace.trace_enhanced WHERE cusip_id IN %(cusips)s "
         "AND trd_exctn_dt BETWEEN %(start)s AND %(end)s")


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"cannot read date {value!r}; use YYYY-MM-DD", column=option) from None


def pull_trace(cusips: Sequence[str], start: str, end: str, out_dir: Any, *, chunk: int = 500,
               connection: Any = None) -> Path:
    """Download Enhanced TRACE for ``cusips`` traded from ``start`` to ``end`` into ``out_dir/chunk-NNNNN.parquet``.

    ``connection`` is a ``wrds.Connection`` (one is opened when None; it asks for WRDS credentials).
    """
    s, e = _date(start, "start"), _date(end, "end")
    if e < s:
        raise InputError("end is before start", column="end")
    if not cusips:
        raise InputError("no CUSIPs to pull", column="cusips")
    if connection is None:
        try:
            import wrds
        except ImportError:
            raise InputError("WRDS access needs the wrds extra: pip install 'bondpremia[wrds]'",
                             column="wrds") from None
        connection = wrds.Connection()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sql = QUERY.format(columns=", ".join(TRACE_ENHANCED_COLUMNS))
    for i in range(0, len(cusips), chunk):
        part = tuple(cusips[i:i + chunk])
        frame: pd.DataFrame = connection.raw_sql(sql, params={"cusips": part, "start": s, "end": e})
        frame.to_parquet(out / f"chunk-{i // chunk:05d}.parquet", index=False)
    return out


__all__ = ["QUERY", "TRACE_ENHANCED_COLUMNS", "pull_trace"]
