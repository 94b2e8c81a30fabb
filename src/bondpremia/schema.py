"""The tables that pass between stages: each column's name, type, unit and meaning, in one place.

A stage's writer produces exactly these columns in this order (``frame.select(TABLE.names)``) and the simulator's
truth uses the same contract; ``tests/test_schema.py`` checks both. Each stage runner (:mod:`bondpremia.stages`)
checks the tables it is given with :func:`check_table` before it computes anything, so a renamed or retyped column
fails at the seam that changed it, naming the file, rather than three stages later. The inputs from outside the
package (TRACE messages, the FISD reference, T-bill returns) have contracts here too; their parsers read them from
this module. Types are polars dtype names; ``A|B`` accepts either, ``Any`` any type (a column the reader parses).
Units: prices and accrued interest per 100 of par; returns in decimals per month (0.01 is 1%); amounts in dollars
of par unless a column says otherwise. ``docs/architecture.md`` shows where each table flows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bondpremia.errors import InputError

__all__ = ["AUDIT", "BOND_RETURNS", "CHARACTERISTICS", "DAILY", "FISD_SCREENS", "FISD_TERMS", "FORECASTS",
           "IMPORTANCE", "MONTHLY", "R2OOS", "RATES", "TRACE", "TRADES", "Column", "Table", "check_table"]


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # polars dtype name: String, Date, Float64, Int64
    unit: str
    meaning: str
    required: bool = True  # False: read when present (its type is checked then)

    def accepts(self, dtype: str) -> bool:
        """Whether a column stored as ``dtype`` satisfies the contract (a missing-only ``Null`` column does; a
        ``Date`` may be stored as a timestamp, as pandas writes it)."""
        kinds = self.dtype.split("|")
        integer = "Int64" in kinds and dtype.startswith(("Int", "UInt"))  # any integer width is an integer
        return "Any" in kinds or integer or dtype in (*kinds, "Null") or ("Date" in kinds and dtype == "Datetime")


@dataclass(frozen=True)
class Table:
    """The column contract of one table (the order is the writer's)."""

    name: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if not c.required)

    def describe(self) -> str:
        """A Markdown table of the contract (for the docs)."""
        rows = [f"| `{c.name}` | {c.dtype}{'' if c.required else ', optional'} | {c.unit} | {c.meaning} |"
                for c in self.columns]
        return "\n".join(["| column | type | unit | meaning |", "|---|---|---|---|", *rows])


# -- inputs from outside the package ---------------------------------------------------------------------------------

#: Enhanced TRACE messages (WRDS names, any letter case), the input of ``trace clean``: the types after parsing
#: (:func:`bondpremia.trace.clean.parse_messages` rejects a row whose required value is missing or unparseable);
#: ``docs/trace.md`` describes each field and how the rules read it.
TRACE = Table("TRACE messages", (
    Column("cusip_id", "String", "", "9-character CUSIP"),
    Column("trd_exctn_dt", "Date", "", "execution date"),
    Column("trd_exctn_tm", "Time", "", "execution time"),
    Column("trd_rpt_dt", "Date", "", "report date (before 2012-02-06: the pre-2012 rules)"),
    Column("msg_seq_nb", "Int64", "", "message sequence number"),
    Column("trc_st", "String", "", "record status: reports T/R (post-2012), T/W (pre-2012); cancels X/C; reversals Y"),
    Column("rptd_pr", "Float64", "per 100 par", "reported price"),
    Column("entrd_vol_qt", "Float64", "dollars of par", "par volume"),
    Column("rpt_side_cd", "String", "", "B (reporting dealer bought) or S (sold)"),
    Column("cntra_mp_id", "String", "", "contra party: D dealer, C customer"),
    Column("bond_sym_id", "String", "", "TRACE symbol", required=False),
    Column("trd_rpt_tm", "Time", "", "report time", required=False),
    Column("orig_msg_seq_nb", "Int64", "", "the message a correction, cancel or reversal refers to", required=False),
    Column("asof_cd", "String", "", "A late report, R reversal, X/D (pre-2012)", required=False),
    Column("wis_fl", "String", "", "when-issued flag Y/N", required=False),
    Column("lckd_in_ind", "String", "", "locked-in flag Y", required=False),
    Column("sale_cndtn_cd", "String", "", "sale condition (null and @ are regular trades)", required=False),
    Column("days_to_sttl_ct", "Int64", "days", "days to settlement (null: regular)", required=False),
    Column("yld_pt", "Float64", "percent", "reported yield", required=False),
    Column("buy_cpcty_cd", "String", "", "buyer capacity: A agency, P principal", required=False),
    Column("sell_cpcty_cd", "String", "", "seller capacity: A agency, P principal", required=False),
    Column("buy_cmsn_rt", "Float64", "", "buyer commission", required=False),
    Column("sell_cmsn_rt", "Float64", "", "seller commission", required=False),
    Column("cmsn_trd", "String", "", "commission trade Y/N", required=False),
    Column("stlmnt_dt", "Date", "", "settlement date", required=False),
    Column("spcl_trd_fl", "String", "", "special trade flag Y", required=False),
    Column("sale_cndtn2_cd", "String", "", "second sale condition", required=False),
    Column("sub_prdct", "String", "", "TRACE sub-product (CORP corporate bonds)", required=False),
))

#: The Mergent FISD columns of the bond screens (``trace.screens``, step ``fisd_screens``), any letter case; the
#: codes are parsed by the screens, so only their presence is a contract.
FISD_SCREENS = Table("FISD (bond screens)", tuple(Column(name, "Any", unit, meaning) for name, unit, meaning in (
    ("complete_cusip", "", "9-character CUSIP"),
    ("maturity", "", "maturity date"),
    ("coupon", "percent per year", "coupon rate"),
    ("coupon_type", "", "F fixed, Z zero, others dropped"),
    ("interest_frequency", "payments per year", "0, 1, 2, 4 or 12 usable"),
    ("day_count_basis", "", "30/360, ACT/ACT, ACT/360 or ACT/365"),
    ("dated_date", "", "date interest starts to accrue"),
    ("bond_type", "", "CDEB, CMTN, CMTZ, CZ or USBN kept"),
    ("convertible", "", "Y dropped"),
    ("asset_backed", "", "Y dropped"),
    ("rule_144a", "", "Y dropped"),
    ("private_placement", "", "Y dropped"),
    ("foreign_currency", "", "Y dropped"),
    ("country_domicile", "", "USA kept"),
)))

#: The FISD columns of the bond terms behind accrued interest and coupons (:func:`bondpremia.trace.monthly_returns`;
#: ``complete_cusip`` may be called ``cusip_id``). Coupons stay in FISD's percent here; the library converts them to
#: decimals where it reads them.
FISD_TERMS = Table("FISD (bond terms)", (
    Column("complete_cusip", "Any", "", "9-character CUSIP (or cusip_id)"),
    Column("maturity", "Any", "", "maturity date"),
    Column("coupon", "Any", "percent per year", "coupon rate"),
    Column("interest_frequency", "Any", "payments per year", "0 (zero coupon), 1, 2, 4 or 12"),
    Column("day_count_basis", "Any", "", "30/360, ACT/ACT, ACT/360 or ACT/365"),
    Column("dated_date", "Any", "", "date interest starts to accrue"),
    Column("first_interest_date", "Any", "", "first coupon date", required=False),
    Column("amount_outstanding", "Any", "thousands of dollars", "amount outstanding when FISD was pulled",
           required=False),
    Column("offering_amt", "Any", "thousands of dollars", "offering amount", required=False),
    Column("rating_num", "Any", "1 (AAA) .. 22 (D)", "numeric rating", required=False),
    Column("coupon_type", "Any", "", "Z marks a zero-coupon bond", required=False),
    Column("issue_id", "Any", "", "FISD issue id (to map an amount-outstanding history)", required=False),
))

#: 1-month T-bill returns, the ``--rates`` of ``trace monthly`` (any letter case; one row a month).
RATES = Table("rates", (
    Column("date", "Any", "", "any day of the month (a date, a timestamp or an ISO string)"),
    Column("rf", "Float64|Float32|Int64", "decimal per month", "1-month T-bill return of the month"),
))

# -- between the stages ----------------------------------------------------------------------------------------------

#: Clean trades of ``trace clean`` (``trades.parquet``), the input of ``trace monthly``: the TRACE columns every
#: preset keeps, then those of :data:`TRACE` the preset keeps (``tidyfinance`` keeps only its own), and the lineage
#: of each trade (input file and 0-based data row).
TRADES = Table("trades", (
    Column("cusip_id", "String", "", "9-character CUSIP"),
    Column("trd_exctn_dt", "Date", "", "execution date"),
    Column("trd_exctn_tm", "Time", "", "execution time"),
    Column("rptd_pr", "Float64", "per 100 par", "reported price"),
    Column("entrd_vol_qt", "Float64", "dollars of par", "par volume"),
    Column("msg_seq_nb", "Int64", "", "message sequence number (orders trades of the same second)", required=False),
    Column("_file", "String", "", "input file of the trade (every preset writes it; not read)", required=False),
    Column("_row", "Int64", "", "0-based data row of the trade in that file (as _file)", required=False),
))

#: The cleaning audit of ``trace clean`` (``audit.csv``, :func:`bondpremia.trace.clean.audit_frame`): one row a
#: step in order; ``rows_in = rows_out + rows_dropped``, and a step's ``rows_in`` is the previous step's
#: ``rows_out``.
AUDIT = Table("audit", (
    Column("step", "String", "", "cleaning step (docs/trace.md), parse first"),
    Column("rows_in", "Int64", "count", "rows before the step"),
    Column("rows_out", "Int64", "count", "rows after the step"),
    Column("rows_dropped", "Int64", "count", "rows the step removed"),
    Column("reason", "String", "", "what the step removes"),
))

#: Bond-day prices of :func:`bondpremia.trace.daily.daily_prices` (``daily.parquet``).
DAILY = Table("daily", (
    Column("cusip_id", "String", "", "9-character CUSIP"),
    Column("trd_exctn_dt", "Date", "", "trade date"),
    Column("prc_vw", "Float64", "per 100 par", "dollar-volume-weighted clean price of the day's trades"),
    Column("prc_vw_par", "Float64", "per 100 par", "par-volume-weighted clean price"),
    Column("prc_ew", "Float64", "per 100 par", "equal-weighted clean price"),
    Column("prc_last", "Float64", "per 100 par", "price of the day's last trade"),
    Column("n_trades", "Int64", "count", "trades of the day"),
    Column("vol_par", "Float64", "dollars of par", "par volume of the day"),
    Column("vol_dollar", "Float64", "dollars", "dollar volume of the day"),
))

#: Bond-month returns of :func:`bondpremia.trace.monthly.monthly_returns` (``monthly.parquet``, without
#: ``reason``; the simulator's ``truth_monthly``). Bai, Bali and Wen (2019, JFE), Section 2.
MONTHLY = Table("monthly", (
    Column("cusip_id", "String", "", "9-character CUSIP"),
    Column("date", "Date", "", "calendar month end t"),
    Column("price_date", "Date", "", "day of the month-end price (one of the last five business days of t)"),
    Column("price", "Float64", "per 100 par", "month-end clean price"),
    Column("accrued", "Float64", "per 100 par", "accrued interest at price_date"),
    Column("coupon_cash", "Float64", "per 100 par", "coupons paid in the holding window of ret"),
    Column("start_date", "Date", "", "day of the month-start price (first five business days of t)"),
    Column("start_price", "Float64", "per 100 par", "month-start clean price"),
    Column("start_accrued", "Float64", "per 100 par", "accrued interest at start_date"),
    Column("ret_end", "Float64", "decimal per month", "end-to-end return, month-end t-1 to month-end t"),
    Column("ret_start", "Float64", "decimal per month", "start-to-end return within month t"),
    Column("ret", "Float64", "decimal per month", "ret_end when it exists, else ret_start"),
    Column("ret_type", "String", "", "'end' or 'start': which return ret is; null without one"),
    Column("rf", "Float64", "decimal per month", "1-month T-bill return of month t"),
    Column("exret", "Float64", "decimal per month", "ret - rf"),
    Column("amount_outstanding", "Float64", "dollars of par", "amount outstanding at the month end"),
    Column("mv", "Float64", "dollars", "(price + accrued) / 100 x amount_outstanding"),
    Column("mv_weight", "Float64", "fraction", "mv over the month's total mv of bonds with a finite mv"),
    Column("maturity", "Date", "", "maturity date (FISD)"),
    Column("rating_num", "Int64", "1 (AAA) .. 22 (D)", "numeric rating (FISD), null when not given"),
    Column("n_trades", "Int64", "count", "trades of the month up to maturity"),
    Column("vol_par", "Float64", "dollars of par", "par volume of the month up to maturity"),
))


#: The keys and target of the characteristics panel of :func:`bondpremia.characteristics.build_characteristics`
#: (``characteristics.parquet``); one column per characteristic follows, named as in
#: ``docs/characteristics.md``.
CHARACTERISTICS = Table("characteristics", (
    Column("id", "String|Int64", "", "bond identifier (the CUSIP of a TRACE panel)"),
    Column("date", "Date", "", "calendar month end t (characteristics known at the end of t)"),
    Column("exret_next", "Float64|Float32", "decimal per month", "excess return of month t + 1, on the row of t"),
))

#: A bond-month panel of returns, the input of ``portfolio sort`` (the characteristics of the sort are columns too;
#: the key and return names are options).
BOND_RETURNS = Table("bond-month panel", (
    Column("id", "String|Int64", "", "bond identifier"),
    Column("date", "Date", "", "month t"),
    Column("ret", "Float64|Float32", "decimal per month", "return of the row's own month t"),
))

#: Out-of-sample forecasts of :func:`bondpremia.models.forecast.recursive_forecast` (``forecasts.parquet``, one
#: row a model, forecast date and maturity). Bianchi, Büchner and Tamoni (2021): log excess returns held h months.
FORECASTS = Table("forecasts", (
    Column("model", "String", "", "model name (docs/treasury.md)"),
    Column("date", "Date", "", "forecast date t (month end; information up to t)"),
    Column("target_date", "Date", "", "t + h, when the forecast return is realized"),
    Column("maturity", "String", "", "bond maturity in years, or EW (the equal-weighted portfolio)"),
    Column("forecast", "Float64", "decimal per holding period", "forecast log excess return"),
    Column("actual", "Float64", "decimal per holding period", "realized log excess return (NaN if not yet)"),
    Column("benchmark", "Float64", "decimal per holding period", "historical mean of the same training rows"),
    Column("n_train", "Int64", "count", "training rows of the fit behind the forecast"),
))


#: The out-of-sample R² of ``treasury forecast`` (``r2oos.csv``, :func:`bondpremia.models.forecast.r2oos_table`):
#: one row a model and maturity. Campbell and Thompson (2008) R²oos against the historical mean; Clark and West
#: (2007) test of equal accuracy.
R2OOS = Table("r2oos", (
    Column("model", "String", "", "model name (docs/treasury.md)"),
    Column("maturity", "String", "", "bond maturity in years, or EW (the equal-weighted portfolio)"),
    Column("r2oos", "Float64", "percent", "out-of-sample R² against the historical mean"),
    Column("cw_pvalue", "Float64", "probability", "Clark-West p-value (one-sided: the model is more accurate)"),
))

#: Predictor importance of ``treasury forecast`` (``importance.csv``): one row a model, maturity and predictor,
#: with the McCracken-Ng group of the predictor (or ``forwards``) and its share of the model-maturity total.
IMPORTANCE = Table("importance", (
    Column("model", "String", "", "model name"),
    Column("maturity", "String", "", "bond maturity in years, or EW"),
    Column("predictor", "String", "", "predictor column (f1..f10 forwards, FRED-MD mnemonics)"),
    Column("importance", "Float64", "", "importance of the predictor (the model's measure, docs/treasury.md)"),
    Column("group", "String", "", "forwards, a McCracken-Ng group name, or other"),
    Column("share", "Float64", "fraction", "importance over the model-maturity total (0 when the total is 0)"),
))


def check_table(frame: Any, table: Table, *, where: str, extra: bool = True,
                columns: Sequence[str] | None = None, rename: Mapping[str, str] | None = None,
                hint: str = "", lower: bool = False) -> None:
    """Raise :class:`InputError` when ``frame`` (polars or pandas) lacks a required column of ``table`` or holds a
    column of the contract with another type; ``where`` names the file or argument in the message. With
    ``extra=False`` columns beyond the contract are an error too. ``columns`` restricts the check to the
    contract's columns a reader uses (their presence and types). ``rename`` maps a contract name to the frame's
    name for it (a reader whose key and return columns are options); ``hint`` ends the message of missing columns
    (what to do). ``lower=True`` matches names in any letter case (the external inputs: TRACE, FISD, rates)."""
    schema = _schema(frame)
    if lower:
        schema = {k.lower(): v for k, v in schema.items()}
    if columns is not None:
        unknown = [c for c in columns if c not in table.names]
        if unknown:
            raise ValueError(f"{unknown} are not columns of the {table.name} contract")  # a programming error
        table = Table(table.name, tuple(c for c in table.columns if c.name in columns))
    rename = dict(rename or {})
    table = Table(table.name, tuple(replace(c, name=rename.get(c.name, c.name)) for c in table.columns))
    missing = [c.name for c in table.columns if c.required and c.name not in schema]
    if missing:
        raise InputError(f"is not a {table.name} table: missing columns {missing} (it has {list(schema)})"
                         + (f"; {hint}" if hint else ""), file=where)
    wrong = [f"{c.name} is {schema[c.name]}, expected {c.dtype}" for c in table.columns
             if c.name in schema and not c.accepts(schema[c.name])]
    if wrong:
        raise InputError(f"is not a {table.name} table: {'; '.join(wrong)}", file=where)
    if not extra and len(schema) > len(table.columns):
        others = [n for n in schema if n not in table.names]
        raise InputError(f"has columns outside the {table.name} contract: {others}", file=where)


def _pandas_type(dtype: Any) -> str:
    """The polars name of a pandas column type: by kind and width (``int32`` -> ``Int32``, nullable ``Int64`` ->
    ``Int64``); text (``object``, ``string``, ``str``) -> ``String``; any ``datetime64`` -> ``Date``."""
    kind = getattr(dtype, "kind", "O")
    if kind in "iuf":
        width = dtype.itemsize * 8
        return f"{dict(i='Int', u='UInt', f='Float')[kind]}{width}"
    if kind == "M":
        return "Date"
    if kind == "b":
        return "Boolean"
    return "String" if kind in "OSU" else str(dtype)  # pandas' string and categorical types are of kind O


def _schema(frame: Any) -> dict[str, str]:
    import polars as pl

    if isinstance(frame, pl.LazyFrame):
        return {k: str(v).split("(")[0] for k, v in frame.collect_schema().items()}
    if isinstance(frame, pl.DataFrame):
        return {k: str(v).split("(")[0] for k, v in frame.schema.items()}
    import pandas as pd

    if isinstance(frame, pd.DataFrame):
        # a text column without a value (an empty table read from CSV is all object) has no type to check, as
        # polars' Null; other types are known without looking at the values
        return {str(k): "Null" if getattr(v, "kind", "O") == "O" and not frame[k].notna().any() else _pandas_type(v)
                for k, v in frame.dtypes.items()}
    raise InputError(f"expected a polars or pandas DataFrame, got {type(frame).__name__}", column="frame")
