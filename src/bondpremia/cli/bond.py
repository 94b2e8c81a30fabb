"""``bondpremia bond``: street-convention yield, price, accrued interest and risk of one bond."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from bondpremia.cli._common import cli_input, print_json
from bondpremia.errors import InputError

app = typer.Typer(help="Bond math: yield from price and price from yield (street convention).",
                  no_args_is_help=True)

Coupon = Annotated[float, typer.Option(help="Annual coupon rate in PERCENT (4.0 = 4%).")]
Maturity = Annotated[str, typer.Option(help="Maturity date, YYYY-MM-DD.")]
Settle = Annotated[str, typer.Option(help="Settlement date, YYYY-MM-DD.")]
Freq = Annotated[int, typer.Option(help="Coupons per year: 1, 2, 4, 12, or 0 for a zero-coupon bond.")]
Daycount = Annotated[str, typer.Option(
    help="Day count: 30/360, 30E/360, ACT/ACT (ICMA), 'ACT/ACT ISDA', ACT/360, ACT/365 (FISD names accepted).")]
Dated = Annotated[str | None, typer.Option(help="Dated (accrual start) date; omit for a seasoned bond.")]
FirstCoupon = Annotated[str | None, typer.Option(help="First coupon date (odd first period), on the schedule.")]
Eom = Annotated[bool, typer.Option(help="End-of-month rule for maturities on a month end.")]
Dirty = Annotated[bool, typer.Option(help="The price given or printed is the dirty (full) price.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

UNITS = {
    "yield": "percent per annum, compounded at the coupon frequency (semiannual for zeros)",
    "prices": "per 100 of par",
    "durations": "years",
    "convexity": "years squared",
    "dv01": "price change per 100 par for a 1 bp yield change",
}


def _date(value: str | None, option: str) -> np.datetime64 | None:
    if value is None:
        return None
    try:
        return np.datetime64(value, "D")
    except ValueError:
        raise InputError(f"cannot read date {value!r}; use YYYY-MM-DD", column=option) from None


def _report(res, as_json: bool) -> None:
    payload = {
        "yield": res.yld * 100.0,
        "clean_price": res.clean_price,
        "dirty_price": res.dirty_price,
        "accrued": res.accrued,
        "macaulay_duration": res.macaulay_duration,
        "modified_duration": res.modified_duration,
        "convexity": res.convexity,
        "dv01": res.dv01,
    }
    if as_json:
        print_json({**payload, "units": UNITS})
        return
    table = Table(title="Bond analytics (street convention)")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for k, v in payload.items():
        table.add_row(k + (" (%)" if k == "yield" else ""), f"{v:.10g}")
    Console().print(table)


def _run(price: float | None, yld: float | None, coupon: float, maturity: str, settle: str, freq: int,
         daycount: str, dated: str | None, first_coupon: str | None, eom: bool, dirty: bool, as_json: bool) -> None:
    from bondpremia.fixed_income import bond_analytics, parse_daycount  # imported here: the CLI starts fast

    if not np.isfinite(coupon) or coupon < 0:
        raise InputError(f"coupon must be a non-negative percentage, got {coupon}", column="--coupon")
    parse_daycount(daycount, argument="--daycount")
    res = cli_input(
        bond_analytics,
        _date(settle, "--settle"), _date(maturity, "--maturity"), coupon / 100.0,
        price=price, yld=None if yld is None else yld / 100.0, freq=freq, daycount=daycount,
        dated=_date(dated, "--dated"), first_coupon=_date(first_coupon, "--first-coupon"), eom=eom,
        dirty=dirty, errors="raise",
    )
    _report(res, as_json)


@app.command("yield")
def yield_cmd(
    price: Annotated[float, typer.Option(help="Clean price per 100 par (dirty with --dirty).")],
    coupon: Coupon,
    maturity: Maturity,
    settle: Settle,
    freq: Freq = 2,
    daycount: Daycount = "30/360",
    dated: Dated = None,
    first_coupon: FirstCoupon = None,
    eom: Eom = True,
    dirty: Dirty = False,
    as_json: Json = False,
) -> None:
    """Yield to maturity from a price, with accrued interest, durations, convexity and DV01."""
    _run(price, None, coupon, maturity, settle, freq, daycount, dated, first_coupon, eom, dirty, as_json)


@app.command("price")
def price_cmd(
    yld: Annotated[float, typer.Option("--yield", help="Yield in PERCENT, compounded at the coupon frequency.")],
    coupon: Coupon,
    maturity: Maturity,
    settle: Settle,
    freq: Freq = 2,
    daycount: Daycount = "30/360",
    dated: Dated = None,
    first_coupon: FirstCoupon = None,
    eom: Eom = True,
    as_json: Json = False,
) -> None:
    """Clean and dirty price from a yield, with accrued interest, durations, convexity and DV01."""
    _run(None, yld, coupon, maturity, settle, freq, daycount, dated, first_coupon, eom, False, as_json)
