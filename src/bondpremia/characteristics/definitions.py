"""One small function per bond and equity/fundamental characteristic.

The characteristics are those used as IPCA instruments for corporate bonds by Kelly, Palhares and Pruitt (2023),
"Modeling corporate bond returns", Journal of Finance 78(4), 1967-2008 (KPP), and the literature they build on.

Data layout
-----------
Every panel input is WIDE: a :class:`pandas.DataFrame` whose index is a DENSE grid of consecutive month-end dates
(a month without data is a NaN row, so "6 months ago" is exactly 6 rows up) and whose columns are bond ids, or a
numpy array of shape ``(T, N)``. Each function returns the same type and shape as its (first) panel input. Numeric
scalars are broadcast. Two DataFrame inputs must carry the same dates and ids (in any order: they are aligned to
the first one); otherwise :class:`~bondpremia.errors.InputError` is raised rather than silently aligning.

Units: returns, yields and spreads in DECIMALS (0.0123 = 123 bp); coupon in percent of par (as in FISD/ICE);
prices per 100 of par; amounts in currency units; dates as ``datetime64``; ages and maturities in years.

Conventions that differ from the usual notebook recipe
------------------------------------------------------
* Missing values: :func:`clean_sentinel` turns the ICE-style ``-99.99`` and ``+-inf`` into NaN. The other
  definitions assume cleaned inputs, but none ever returns ``+-inf``: a zero or negative denominator gives NaN
  (not inf and not a huge number), the log of a non-positive quantity gives NaN, and any non-finite result is NaN.
* Lags count calendar months (rows of the dense grid), never "the previous available row": a bond that skips a
  month is not compared with an older observation as if it were last month's.
* Momentum compounds every month of its window and is NaN when any month in the window is missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import ndtr, ndtri

from bondpremia.errors import InputError

__all__ = [
    "DAYS_PER_YEAR",
    "RATING_SCALE",
    "age_fraction",
    "age_years",
    "bond_momentum",
    "book_leverage",
    "book_to_price",
    "clean_sentinel",
    "coupon",
    "debt_to_ebitda",
    "default_point",
    "distance_to_default",
    "distance_to_default_from_pd",
    "duration",
    "earnings_to_price",
    "equity_momentum",
    "face_value",
    "gross_profitability",
    "industry_adjusted_momentum",
    "log_spread_momentum",
    "market_cap",
    "market_leverage",
    "momentum",
    "operating_leverage",
    "operating_leverage_novy_marx",
    "profitability_change_5y",
    "rating_momentum_interaction",
    "rating_numeric",
    "spread",
    "sales_volatility",
    "spread_to_d2d",
    "time_to_maturity",
    "total_debt",
]

DAYS_PER_YEAR = 365.25
"""Day count of ages and maturities: ACT/365.25 (actual days divided by 365.25)."""

# ----------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------


def _is_scalar(x: Any) -> bool:
    return np.ndim(x) == 0 and not isinstance(x, (pd.DataFrame, pd.Series))


def _panels(named: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], pd.DataFrame | None]:
    """Convert named numeric inputs to float arrays of one common shape ``(T, N)``.

    Returns the arrays (scalars broadcast) and the first DataFrame input (the template of the output), if any.
    """
    template: pd.DataFrame | None = None
    template_name = ""
    shape: tuple[int, ...] | None = None
    raw: dict[str, Any] = {}
    for name, x in named.items():
        if isinstance(x, pd.Series):
            raise InputError("expected a wide DataFrame (dates x bonds) or a 2-D array, got a Series", column=name)
        if isinstance(x, pd.DataFrame):
            if template is None:
                template, template_name = x, name
            elif not (x.index.equals(template.index) and x.columns.equals(template.columns)):
                same = (
                    len(x.index) == len(template.index)
                    and len(x.columns) == len(template.columns)
                    and set(x.index) == set(template.index)
                    and set(x.columns) == set(template.columns)
                )
                if not same:
                    raise InputError(f"dates or bond ids differ from those of '{template_name}'", column=name)
                x = x.reindex(index=template.index, columns=template.columns)
        raw[name] = x
        if not _is_scalar(x):
            s = np.shape(x)
            if len(s) != 2:
                raise InputError(f"expected a 2-D (dates x bonds) panel, got shape {s}", column=name)
            if shape is None:
                shape = s
            elif s != shape:
                raise InputError(f"shape {s} differs from the other inputs' shape {shape}", column=name)
    if shape is None:
        raise InputError("at least one input must be a wide panel (DataFrame or 2-D array), not only scalars")
    out: dict[str, np.ndarray] = {}
    for name, x in raw.items():
        try:
            if isinstance(x, pd.DataFrame):
                a = x.to_numpy(dtype=float, na_value=np.nan)
            else:
                a = np.asarray(x, dtype=float)
        except (TypeError, ValueError) as exc:
            raise InputError(f"values must be numeric ({exc})", column=name) from None
        out[name] = np.array(np.broadcast_to(a, shape), dtype=float)
    return out, template


def _wrap(values: np.ndarray, template: pd.DataFrame | None) -> pd.DataFrame | np.ndarray:
    """Replace non-finite values by NaN and return a DataFrame shaped like ``template`` (or the array)."""
    values = np.where(np.isfinite(values), values, np.nan)
    if template is None:
        return values
    return pd.DataFrame(values, index=template.index, columns=template.columns)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with NaN wherever ``den <= 0`` or either is missing."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, np.nan), np.nan)


def _log_positive(x: np.ndarray) -> np.ndarray:
    """Natural log with NaN for non-positive or missing values."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, np.log(np.where(x > 0, x, np.nan)), np.nan)


def _check_window(months: Any, skip: Any, minimum_months: int = 1) -> tuple[int, int]:
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)) or months < minimum_months:
        raise InputError(f"months must be an integer >= {minimum_months}, got {months!r}", column="months")
    if isinstance(skip, bool) or not isinstance(skip, (int, np.integer)) or not 0 <= skip <= months:
        raise InputError(f"skip must be an integer in [0, months={months}], got {skip!r}", column="skip")
    return int(months), int(skip)


def _window_all_present(valid: np.ndarray, months: int, skip: int) -> np.ndarray:
    """True at row t when ``valid`` holds at every row t-months, ..., t-skip (False for the first rows)."""
    T = valid.shape[0]
    L = months - skip + 1
    out = np.zeros(valid.shape, dtype=bool)
    if T > months:
        out[months:] = np.asarray(sliding_window_view(valid, L, axis=0).all(axis=-1))[: T - months]
    return out


def _lag(x: np.ndarray, k: int) -> np.ndarray:
    """Value ``k`` rows (calendar months) earlier; NaN for the first ``k`` rows."""
    out = np.full(x.shape, np.nan)
    if k == 0:
        return x.copy()
    if x.shape[0] > k:
        out[k:] = x[:-k]
    return out


def _to_datetime_panel(x: Any, name: str) -> tuple[np.ndarray, Any]:
    """A date input as ``datetime64[ns]``: a 2-D panel or a 1-D per-bond vector; also returns its labels."""
    try:
        if isinstance(x, pd.DataFrame):
            return x.astype("datetime64[ns]").to_numpy(dtype="datetime64[ns]"), x
        if isinstance(x, pd.Series):
            return pd.to_datetime(x).to_numpy(dtype="datetime64[ns]"), x
        a = np.asarray(x)
        if a.dtype == object:
            a = pd.to_datetime(a.ravel()).to_numpy(dtype="datetime64[ns]").reshape(a.shape)
        return a.astype("datetime64[ns]"), None
    except (TypeError, ValueError) as exc:
        raise InputError(f"values must be dates ({exc})", column=name) from None


def _date_grid(
    named: Mapping[str, Any], dates: Any
) -> tuple[dict[str, np.ndarray], np.ndarray, pd.Index | None, pd.Index | None]:
    """Broadcast date inputs (wide panels or per-bond Series/1-D arrays) to ``(T, N)`` datetime64 arrays.

    Returns the arrays, the grid dates (``datetime64[ns]``, length T), and the output index/columns (None when the
    inputs are plain arrays).
    """
    converted = {name: _to_datetime_panel(x, name) for name, x in named.items()}
    index: pd.Index | None = None
    columns: pd.Index | None = None
    for name, (_, obj) in converted.items():
        if isinstance(obj, pd.DataFrame):
            index = obj.index if index is None else index
            cols = obj.columns
        elif isinstance(obj, pd.Series):
            cols = obj.index
        else:
            continue
        if columns is None:
            columns = cols
        elif not cols.equals(columns):
            raise InputError("bond ids differ between the date inputs", column=name)
    if dates is None:
        if index is None:
            raise InputError("dates are required unless a date input is a wide DataFrame", column="dates")
        dates = index
    try:
        grid = pd.DatetimeIndex(dates).as_unit("ns").to_numpy()
    except (TypeError, ValueError) as exc:
        raise InputError(f"dates must be datetime-like ({exc})", column="dates") from None
    if index is not None and len(index) != len(grid):
        raise InputError(f"{len(grid)} dates for a panel of {len(index)} rows", column="dates")
    if index is None and columns is not None:
        index = pd.DatetimeIndex(dates)
    T = len(grid)
    out: dict[str, np.ndarray] = {}
    N: int | None = None
    for name, (a, _) in converted.items():
        if a.ndim == 1:
            a = np.broadcast_to(a[None, :], (T, a.shape[0]))
        elif a.ndim != 2 or a.shape[0] != T:
            raise InputError(f"expected a (dates x bonds) panel with {T} rows or a per-bond vector", column=name)
        if N is None:
            N = a.shape[1]
        elif a.shape[1] != N:
            raise InputError(f"{a.shape[1]} bonds where the other inputs have {N}", column=name)
        out[name] = a
    return out, grid, index, columns


def _years_between(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """``(later - earlier)`` in years, ACT/365.25; NaN where either date is missing."""
    days = (later - earlier) / np.timedelta64(1, "D")
    return np.asarray(days, dtype=float) / DAYS_PER_YEAR


def _wrap_dates(values: np.ndarray, index: pd.Index | None, columns: pd.Index | None) -> pd.DataFrame | np.ndarray:
    values = np.where(np.isfinite(values), values, np.nan)
    if columns is None:
        return values
    return pd.DataFrame(values, index=index, columns=columns)


# ----------------------------------------------------------------------------------------------------------------
# cleaning
# ----------------------------------------------------------------------------------------------------------------


def clean_sentinel(x: pd.DataFrame | np.ndarray, sentinel: float | Iterable[float] | None = -99.99):
    """Turn missing-value sentinels and ``+-inf`` into NaN.

    ICE (and several vendor feeds) code a missing numeric field as ``-99.99``. Every value equal to ``sentinel``
    (to within 1e-9; a sequence of sentinels is accepted; ``None`` only cleans infinities) and every ``+inf`` or
    ``-inf`` becomes NaN; all other values are returned unchanged, in the input's units.
    """
    values, template = _panels({"x": x})
    a = values["x"]
    bad = ~np.isfinite(a)
    if sentinel is not None:
        for s in np.atleast_1d(np.asarray(sentinel, dtype=float)):  # loop over sentinel values, not data
            bad |= np.isclose(a, s, rtol=0.0, atol=1e-9)
    return _wrap(np.where(bad, np.nan, a), template)


# ----------------------------------------------------------------------------------------------------------------
# bond characteristics
# ----------------------------------------------------------------------------------------------------------------


def age_years(offering_date, dates=None):
    """Bond age in years: ``(date_t - offering_date) / 365.25`` (ACT/365.25).

    ``offering_date`` is a wide panel of dates or a per-bond Series (index = bond ids) / 1-D array, broadcast
    over ``dates`` (the grid's month-end dates; defaults to the index of a wide DataFrame). Months before the
    offering date (the bond did not exist yet) are NaN, not negative ages. Unit: years. Source: KPP (2023)
    "age" characteristic (time since issuance).
    """
    arr, grid, index, columns = _date_grid({"offering_date": offering_date}, dates)
    age = _years_between(grid[:, None], arr["offering_date"])
    return _wrap_dates(np.where(age >= 0, age, np.nan), index, columns)


def age_fraction(offering_date, maturity, dates=None):
    """Share of the bond's original life elapsed: ``(t - offering) / (maturity - offering)``, in [0, 1].

    Dates broadcast as in :func:`age_years`. NaN before the offering date, after the maturity date (the bond no
    longer exists), and when ``maturity <= offering`` (no positive original life). Unit: fraction (0 at issue,
    1 at maturity). Source: the "age / original maturity" characteristic of KPP (2023).
    """
    arr, grid, index, columns = _date_grid({"offering_date": offering_date, "maturity": maturity}, dates)
    elapsed = _years_between(grid[:, None], arr["offering_date"])
    life = _years_between(arr["maturity"], arr["offering_date"])
    frac = _ratio(elapsed, life)
    return _wrap_dates(np.where((frac >= 0) & (frac <= 1), frac, np.nan), index, columns)


def time_to_maturity(maturity, dates=None):
    """Remaining time to maturity in years: ``(maturity - date_t) / 365.25`` (ACT/365.25).

    Dates broadcast as in :func:`age_years`. NaN after maturity (no negative maturities). Unit: years.
    Source: KPP (2023) "time to maturity" characteristic.
    """
    arr, grid, index, columns = _date_grid({"maturity": maturity}, dates)
    ttm = _years_between(arr["maturity"], grid[:, None])
    return _wrap_dates(np.where(ttm >= 0, ttm, np.nan), index, columns)


def coupon(c, sentinel: float | None = -99.99):
    """Coupon rate: the input itself after :func:`clean_sentinel`.

    Unit: percent of par per year (as in FISD/ICE; 5.25 = 5.25%), NOT a decimal. Source: KPP (2023) "coupon".
    """
    return clean_sentinel(c, sentinel)


def face_value(amount_outstanding, log: bool = True):
    """Size of the issue: ``ln(par amount outstanding)`` (default) or the raw amount (``log=False``).

    Input in currency units of par (not thousands: divide FISD's ``amount_outstanding`` in $000 accordingly or
    accept the constant shift of the log). The log is NaN for non-positive amounts (a retired issue); the raw
    amount keeps zero and turns negative amounts into NaN. Unit: log currency units, or currency units.
    Source: KPP (2023) "face value" (log size of the issue).
    """
    values, template = _panels({"amount_outstanding": amount_outstanding})
    a = values["amount_outstanding"]
    return _wrap(_log_positive(a) if log else np.where(a >= 0, a, np.nan), template)


def duration(dur, sentinel: float | None = -99.99):
    """Bond duration as supplied (e.g. ICE effective/modified duration), after :func:`clean_sentinel`.

    Unit: years. Source: KPP (2023) "duration".
    """
    return clean_sentinel(dur, sentinel)


def _rating_scale() -> dict[str, float]:
    sp = [
        "AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-", "BB+", "BB", "BB-",
        "B+", "B", "B-", "CCC+", "CCC", "CCC-", "CC", "C", "D",
    ]  # fmt: skip
    moodys = [
        "AAA", "AA1", "AA2", "AA3", "A1", "A2", "A3", "BAA1", "BAA2", "BAA3", "BA1", "BA2", "BA3",
        "B1", "B2", "B3", "CAA1", "CAA2", "CAA3", "CA", "C",
    ]  # fmt: skip
    ice = [
        "AAA", "AA1", "AA2", "AA3", "A1", "A2", "A3", "BBB1", "BBB2", "BBB3", "BB1", "BB2", "BB3",
        "B1", "B2", "B3", "CCC1", "CCC2", "CCC3", "CC", "C", "D",
    ]  # fmt: skip
    scale: dict[str, float] = {}
    for table in (sp, moodys, ice):
        for i, code in enumerate(table, start=1):
            if scale.setdefault(code, float(i)) != float(i):  # pragma: no cover - guards the tables above
                raise AssertionError(f"conflicting rating code {code}")
    scale.update({"SD": 22.0, "RD": 22.0})  # S&P selective default, Fitch restricted default
    return scale


RATING_SCALE: dict[str, float] = _rating_scale()
"""Upper-case rating code -> numeric rating (AAA = 1, ..., C = 21, D = 22)."""

_RATING_MISSING = frozenset({"", "NR", "WR", "NA", "N/A", "N.A.", "NAN", "NONE", "NULL"})


def rating_numeric(ratings):
    """Map rating strings to the numeric scale AAA = 1, AA+ = 2, ..., BBB- = 10, ..., C = 21, D = 22.

    Accepted styles (case-insensitive, surrounding whitespace ignored), all on one scale:

    * S&P / Fitch: AAA, AA+, AA, AA-, A+, ..., CCC-, CC, C, D (plus SD and RD, selective/restricted default = 22).
    * Moody's: Aaa = 1, Aa1 = 2, Aa2 = 3, Aa3 = 4, A1 = 5, ..., Baa3 = 10, Ba1 = 11, ..., B3 = 16, Caa1 = 17,
      Caa2 = 18, Caa3 = 19, Ca = 20, C = 21. Moody's has no D grade: its C ("typically in default, with little
      prospect of recovery") is aligned with S&P/Fitch C = 21, and 22 is only reached by an explicit D/SD/RD.
    * ICE index composite: AAA, AA1, AA2, AA3, A1, A2, A3, BBB1-3, BB1-3, B1-3, CCC1-3, CC, C, D (number 1/2/3 =
      +/flat/-). The upper-cased Moody's and ICE codes never collide with a different grade (A1 is A+ in both).

    "NR", "WR", "N/A", blank strings, None and NaN give NaN. Numeric input is returned as float if every value is
    an integer in 1..22. Unknown strings raise :class:`InputError` listing them. Unit: rating notches (higher =
    riskier; investment grade <= 10). Source: the rating characteristic of KPP (2023).
    """
    if isinstance(ratings, pd.Series):
        raise InputError("expected a wide DataFrame (dates x bonds) or a 2-D array, got a Series", column="ratings")
    template = ratings if isinstance(ratings, pd.DataFrame) else None
    a = ratings.to_numpy(dtype=object) if template is not None else np.asarray(ratings, dtype=object)
    if a.ndim != 2:
        raise InputError(f"expected a 2-D (dates x bonds) panel, got shape {a.shape}", column="ratings")
    codes, uniques = pd.factorize(a.ravel(), use_na_sentinel=True)
    mapped = np.empty(len(uniques), dtype=float)
    unknown = []
    for k, u in enumerate(uniques):  # loop over distinct rating labels (a few dozen), not over bonds or dates
        if isinstance(u, str):
            key = u.strip().upper()
            if key in _RATING_MISSING:
                mapped[k] = np.nan
            elif key in RATING_SCALE:
                mapped[k] = RATING_SCALE[key]
            else:
                unknown.append(u)
        elif isinstance(u, (int, float, np.integer, np.floating)) and not isinstance(u, bool):
            if np.isnan(u):
                mapped[k] = np.nan
            elif float(u).is_integer() and 1 <= u <= 22:
                mapped[k] = float(u)
            else:
                unknown.append(u)
        else:
            unknown.append(u)
    if unknown:
        shown = sorted({repr(u) for u in unknown})
        raise InputError(f"unknown rating codes: {', '.join(shown)}", column="ratings")
    out = np.where(codes >= 0, mapped[np.maximum(codes, 0)] if len(mapped) else np.nan, np.nan).reshape(a.shape)
    return _wrap(out, template)


def spread(oas, unit: str = "decimal"):
    """Credit spread (option-adjusted spread) in DECIMALS.

    ``unit`` says how the input is quoted: ``"decimal"`` (0.0123), ``"bp"`` (123 -> / 10,000) or ``"percent"``
    (1.23 -> / 100). Unit of the result: decimal per year. Source: KPP (2023) "spread" (OAS).
    """
    divisor = {"decimal": 1.0, "bp": 1e4, "percent": 100.0}.get(unit)
    if divisor is None:
        raise InputError(f"unit must be 'decimal', 'bp' or 'percent', got {unit!r}", column="unit")
    values, template = _panels({"oas": oas})
    return _wrap(values["oas"] / divisor, template)


def default_point(short_term_debt, long_term_debt):
    """KMV default point: ``F = short-term debt + 0.5 * long-term debt`` (currency units).

    The face value of debt used by Bharath and Shumway (2008) (debt in current liabilities plus one half of
    long-term debt, following the KMV convention). Optional alternative to total debt in
    :func:`distance_to_default`. Negative amounts give NaN.
    """
    values, template = _panels({"short_term_debt": short_term_debt, "long_term_debt": long_term_debt})
    std, ltd = values["short_term_debt"], values["long_term_debt"]
    f = std + 0.5 * ltd
    return _wrap(np.where((std >= 0) & (ltd >= 0), f, np.nan), template)


def distance_to_default(market_cap, debt, equity_vol, drift, horizon: float = 1.0):
    """Merton (1974) distance to default in the "naive" form of Bharath and Shumway (2008, RFS 21(3)).

    ``DD = [ln(V / F) + (mu - sigma_V^2 / 2) T] / (sigma_V sqrt(T))`` with

    * ``E`` = equity market capitalization, ``F`` = face value of debt (default: total debt; pass
      :func:`default_point` for the short-term + 1/2 long-term variant), ``V = E + F``;
    * naive debt volatility ``sigma_D = 0.05 + 0.25 sigma_E`` and
      ``sigma_V = E / V * sigma_E + F / V * sigma_D`` (``sigma_E`` = annualized equity return volatility, decimal);
    * ``mu`` = ``drift``: the firm's stock return over the past year (decimal; BS use r_{i,t-1}) or any given
      annual rate (a scalar broadcasts);
    * ``T`` = ``horizon`` in years (1).

    (Section 2 of Bharath and Shumway (2008), the naive DD and its default probability ``N(-DD)``; equation
    numbers are not quoted here because they could not be checked.) Non-positive ``E``, ``F``, ``sigma_E`` or a
    drift of -100% or less give NaN. Unit: standard deviations of log asset value. Source: KPP (2023) "distance
    to default".
    """
    if not isinstance(horizon, int | float | np.number) or not float(horizon) > 0:
        raise InputError(f"horizon must be a positive number of years, got {horizon!r}", column="horizon")
    values, template = _panels({"market_cap": market_cap, "debt": debt, "equity_vol": equity_vol, "drift": drift})
    E, F, s_e, mu = values["market_cap"], values["debt"], values["equity_vol"], values["drift"]
    ok = (E > 0) & (F > 0) & (s_e > 0) & (mu > -1)
    V = E + F
    s_d = 0.05 + 0.25 * s_e
    with np.errstate(divide="ignore", invalid="ignore"):
        s_v = E / V * s_e + F / V * s_d
        dd = (np.log(V / F) + (mu - 0.5 * s_v**2) * horizon) / (s_v * np.sqrt(horizon))
    return _wrap(np.where(ok, dd, np.nan), template)


def distance_to_default_from_pd(pd_, unit: str = "decimal"):
    """Distance to default implied by a default probability: ``DD = -Phi^{-1}(pd)``.

    For a provided probability such as ICE ``PD_DRISK``; inverts ``pd = N(-DD)`` of Merton / Bharath-Shumway.
    ``unit`` = ``"decimal"`` (0.02) or ``"percent"`` (2.0). Probabilities outside the open interval (0, 1) give
    NaN (pd = 0 or 1 would map to +-inf). Unit: standard deviations.
    """
    divisor = {"decimal": 1.0, "percent": 100.0}.get(unit)
    if divisor is None:
        raise InputError(f"unit must be 'decimal' or 'percent', got {unit!r}", column="unit")
    values, template = _panels({"pd": pd_})
    p = values["pd"] / divisor
    ok = (p > 0) & (p < 1)
    return _wrap(np.where(ok, -ndtri(np.where(ok, p, 0.5)), np.nan), template)


def spread_to_d2d(spread, dd, kind: str = "kpp"):
    """Spread relative to the issuer's default risk.

    ``kind="kpp"`` (default): ``spread / (1 - N(DD)) = spread / N(-DD)``, the option-adjusted spread divided by the
    Merton default probability implied by the distance to default -- Kelly, Palhares and Pruitt (2023, JF),
    Appendix Table A.I, "spread-to-D2D": "the option-adjusted spread, divided by one minus the cumulative
    distribution function" of D2D. Unit: decimal spread per unit of default probability (large: a spread that
    default risk does not explain). Defined for every finite DD (also DD <= 0).

    ``kind="ratio"``: the plain ratio ``spread / DD`` (decimal spread per standard deviation; NaN when
    ``DD <= 0``, where the ratio changes sign and explodes), the definition bondpremia used before; its rank
    correlation with the KPP measure is negative across issuers with positive DD.
    """
    values, template = _panels({"spread": spread, "dd": dd})
    if kind == "kpp":
        with np.errstate(invalid="ignore", divide="ignore"):
            pd_ = ndtr(-values["dd"])
        return _wrap(_ratio(values["spread"], pd_), template)
    if kind == "ratio":
        return _wrap(_ratio(values["spread"], values["dd"]), template)
    raise InputError(f"kind must be 'kpp' or 'ratio', got {kind!r}", column="kind")


# ----------------------------------------------------------------------------------------------------------------
# equity and fundamental characteristics
# ----------------------------------------------------------------------------------------------------------------


def _check_negative(negative: str) -> None:
    if negative not in ("keep", "nan"):
        raise InputError(f"negative must be 'keep' or 'nan', got {negative!r}", column="negative")


def _ratio_or_inverse(num_name: str, num: Any, den_name: str, den: Any, inv_name: str, inverse: Any,
                      negative: str, keep_zero: bool) -> Any:
    """``num / den`` (NaN for a non-positive ``den``), or ``1 / inverse`` from a vendor ratio such as P/B or P/E
    (NaN for a zero ratio; the sign is kept). ``negative="nan"`` drops negative values, and zero too unless
    ``keep_zero``."""
    _check_negative(negative)
    if inverse is not None:
        if num is not None or den is not None:
            raise InputError(f"give either {inv_name} or {num_name} and {den_name}, not both", column=inv_name)
        values, template = _panels({inv_name: inverse})
        ratio = values[inv_name]
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(ratio != 0, 1.0 / np.where(ratio != 0, ratio, np.nan), np.nan)
    else:
        if num is None or den is None:
            raise InputError(f"{num_name} and {den_name} are both required (or give {inv_name})", column=num_name)
        values, template = _panels({num_name: num, den_name: den})
        out = _ratio(values[num_name], values[den_name])
    if negative == "nan":
        out = np.where(out >= 0 if keep_zero else out > 0, out, np.nan)
    return _wrap(out, template)


def book_to_price(book_equity=None, market_cap=None, *, price_to_book=None, negative: str = "keep"):
    """Book-to-price (book-to-market): ``B / P = book_equity / market_cap``, or ``1 / (P/B)`` from a vendor ratio.

    Give either ``book_equity`` and ``market_cap`` (same currency units) or ``price_to_book``. A non-positive
    market cap gives NaN; ``P/B = 0`` gives NaN. Negative book equity is kept by default (``negative="keep"``: a
    negative B/P; note ``1 / (P/B)`` recovers the same sign); ``negative="nan"`` drops it, as Fama-French
    portfolio sorts do. Unit: ratio. Source: Fama and French (1992); KPP (2023) equity characteristics.
    """
    return _ratio_or_inverse("book_equity", book_equity, "market_cap", market_cap, "price_to_book", price_to_book,
                             negative, keep_zero=False)


def debt_to_ebitda(debt, ebitda):
    """Debt over EBITDA: ``debt / EBITDA``; NaN when EBITDA <= 0.

    A loss-making firm's ratio is negative and would rank as the least levered; it is therefore set to NaN rather
    than to a misleading value. Unit: years of EBITDA (ratio). Source: KPP (2023) fundamental characteristics.
    """
    values, template = _panels({"debt": debt, "ebitda": ebitda})
    return _wrap(_ratio(values["debt"], values["ebitda"]), template)


def earnings_to_price(earnings=None, price=None, *, price_to_earnings=None, negative: str = "keep"):
    """Earnings yield: ``E / P = earnings / price``, or ``1 / (P/E)`` from a vendor ratio.

    ``earnings`` and ``price`` must match: EPS with the share price, or total net income with the market cap.
    A non-positive price gives NaN. Negative earnings are informative (loss firms behave differently), so by
    default (``negative="keep"``) a negative E/P is returned; ``negative="nan"`` drops it. From ``price_to_earnings``
    we return ``1 / (P/E)`` for any non-zero P/E, so a negative P/E gives the correct negative E/P; P/E = 0 gives
    NaN. Caution: many vendors blank P/E when earnings are negative, and a P/E near zero (tiny price) is rare, but
    E/P computed from earnings and price is preferable when both are available. Unit: ratio (per year).
    Source: Basu (1977); KPP (2023) equity characteristics.
    """
    return _ratio_or_inverse("earnings", earnings, "price", price, "price_to_earnings", price_to_earnings, negative,
                             keep_zero=True)


def market_cap(mc, log: bool = True):
    """Equity size: ``ln(market capitalization)`` (default) or the raw value (``log=False``).

    Non-positive values give NaN in both forms. Unit: log currency units, or currency units. Source: Banz (1981);
    KPP (2023) equity characteristics.
    """
    values, template = _panels({"mc": mc})
    a = values["mc"]
    return _wrap(_log_positive(a) if log else np.where(a > 0, a, np.nan), template)


def total_debt(debt, log: bool = True):
    """Issuer's total debt: ``ln(total debt)`` (default) or the raw amount (``log=False``).

    The log is NaN for zero or negative debt (the raw form keeps zero). Unit: log currency units, or currency
    units. Source: KPP (2023) fundamental characteristics.
    """
    values, template = _panels({"debt": debt})
    a = values["debt"]
    return _wrap(_log_positive(a) if log else np.where(a >= 0, a, np.nan), template)


def gross_profitability(
    gross_profit=None, total_assets=None, *, gross_margin=None, revenue=None, margin_unit: str = "percent"
):
    """Gross profitability (Novy-Marx 2013): ``GP / AT = (revenue - COGS) / total assets``.

    General form: ``gross_profit / total_assets``. An ICE/Bloomberg-style fundamentals panel usually supplies a
    gross margin (``grossmargin``, percent of revenue), revenue (sales) and total assets rather than gross profit;
    pass ``gross_margin`` and ``revenue`` instead of ``gross_profit``: ``GP = gross_margin / 100 * revenue``
    (``margin_unit="decimal"`` if the margin is already a fraction). Non-positive total assets give NaN.
    Unit: ratio (per year, with annual flows). Source: Novy-Marx (2013, JFE); KPP (2023).
    """
    if gross_profit is None:
        if gross_margin is None or revenue is None:
            raise InputError("give gross_profit, or gross_margin and revenue", column="gross_profit")
        divisor = {"percent": 100.0, "decimal": 1.0}.get(margin_unit)
        if divisor is None:
            raise InputError(f"margin_unit must be 'percent' or 'decimal', got {margin_unit!r}", column="margin_unit")
        values, template = _panels({"gross_margin": gross_margin, "revenue": revenue, "total_assets": total_assets})
        gp = values["gross_margin"] / divisor * values["revenue"]
    else:
        if gross_margin is not None or revenue is not None:
            raise InputError("give gross_profit or gross_margin and revenue, not both", column="gross_profit")
        values, template = _panels({"gross_profit": gross_profit, "total_assets": total_assets})
        gp = values["gross_profit"]
    return _wrap(_ratio(gp, values["total_assets"]), template)


def profitability_change_5y(profitability, months: int = 60, require_all: bool = False):
    """Five-year change in profitability: ``x_t - x_{t-60}``, with the lag in CALENDAR months (rows).

    The lag is exactly ``months`` rows of the dense monthly grid, never the 60th previous available observation.
    NaN when either endpoint is missing. With ``require_all=True`` every month in between must also be present
    (useful when fundamentals are carried forward monthly and a gap signals a broken history). Unit: the input's
    unit (e.g. change in gross profitability, a ratio). Source: the change-in-profitability characteristic of
    KPP (2023); cf. Akbas, Jiang and Koch (2017) on profitability trends.
    """
    months, _ = _check_window(months, 0)
    values, template = _panels({"profitability": profitability})
    x = values["profitability"]
    out = x - _lag(x, months)
    if require_all:
        out = np.where(_window_all_present(np.isfinite(x), months, 0), out, np.nan)
    return _wrap(out, template)


def operating_leverage(sales, ebitda):
    """Operating leverage ``(sales - EBITDA) / EBITDA``: operating costs per unit of operating profit.

    Kelly, Palhares and Pruitt (2023, JF), Appendix Table A.I: "sales minus EBITDA, divided by EBITDA". NaN where
    EBITDA <= 0 (the ratio changes sign and explodes) or an input is missing. Unit: ratio.
    The Novy-Marx (2011) asset-scaled version is :func:`operating_leverage_novy_marx`.
    """
    values, template = _panels({"sales": sales, "ebitda": ebitda})
    e = values["ebitda"]
    return _wrap(_ratio(values["sales"] - e, e), template)


def operating_leverage_novy_marx(costs, total_assets, *, sga=None):
    """Operating leverage (Novy-Marx 2011, RFS): ``(COGS + SG&A) / total assets``.

    ``costs`` are operating costs (COGS + SG&A); if ``sga`` is given, ``costs`` is COGS and SG&A is added (a
    missing SG&A makes the result NaN). Non-positive total assets give NaN. Unit: ratio (per year). Source:
    Novy-Marx (2011), "Operating leverage", Review of Finance 15(1). KPP's definition is
    :func:`operating_leverage`.
    """
    values, template = _panels(
        {"costs": costs, "total_assets": total_assets, **({"sga": sga} if sga is not None else {})}
    )
    c = values["costs"] + values["sga"] if sga is not None else values["costs"]
    return _wrap(_ratio(c, values["total_assets"]), template)


def sales_volatility(sales, total_assets, *, quarters: int = 12, min_quarters: int = 8):
    """KPP's "turnover volatility": the standard deviation of quarterly sales / total assets.

    Kelly, Palhares and Pruitt (2023, JF), Appendix Table A.I: "the quarterly standard deviation of sales divided
    by assets". On the monthly grid the quarterly values are read every three months back from ``t``: rows
    ``t, t-3, ..., t-3 (quarters - 1)``; the sample standard deviation (``ddof=1``) of the available ones, NaN
    with fewer than ``min_quarters``. The window is not legible in the sources we could read: 12 quarters is our
    choice (the 36 months of the other risk measures). ``sales`` must be quarterly flows repeated in the months of
    their quarter (as a merged Compustat or index file carries them). Unit: ratio (quarterly sales per unit of
    assets). Trading turnover (bond volume / amount outstanding) is a different characteristic.
    """
    q, mq = _check_window(quarters, 0, 2)[0], int(min_quarters)
    if not 2 <= mq <= q:
        raise InputError(f"min_quarters must be in 2..{q}, got {min_quarters!r}", column="min_quarters")
    values, template = _panels({"sales": sales, "total_assets": total_assets})
    x = _ratio(values["sales"], values["total_assets"])
    stack = np.stack([_lag(x, 3 * k) for k in range(q)])  # (q, T, N)
    ok = np.isfinite(stack)
    n = ok.sum(axis=0)
    z = np.where(ok, stack, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = z.sum(axis=0) / n
        var = (np.where(ok, stack - mean, 0.0) ** 2).sum(axis=0) / (n - 1)
    return _wrap(np.where(n >= mq, np.sqrt(var), np.nan), template)


def book_leverage(debt, book_equity):
    """Book leverage: ``debt / (debt + book equity)``.

    NaN when ``debt + book equity <= 0`` or debt is negative. Negative book equity with a positive denominator
    gives leverage above 1 (kept: a real signal of distress). Unit: ratio. Source: KPP (2023).
    """
    values, template = _panels({"debt": debt, "book_equity": book_equity})
    d = values["debt"]
    out = _ratio(d, d + values["book_equity"])
    return _wrap(np.where(d >= 0, out, np.nan), template)


def market_leverage(debt, market_cap):
    """Market leverage: ``debt / (debt + market cap)``, in [0, 1).

    NaN when debt is negative, the market cap is non-positive, or either is missing. Unit: ratio. Source: KPP
    (2023).
    """
    values, template = _panels({"debt": debt, "market_cap": market_cap})
    d, e = values["debt"], values["market_cap"]
    out = _ratio(d, d + e)
    return _wrap(np.where((d >= 0) & (e > 0), out, np.nan), template)


# ----------------------------------------------------------------------------------------------------------------
# momentum
# ----------------------------------------------------------------------------------------------------------------


def momentum(ret, months: int = 6, skip: int = 1):
    """Cumulative return ``prod_{s=t-months}^{t-skip} (1 + r_s) - 1`` over calendar months.

    With the defaults, the six monthly returns of months t-6, ..., t-1 (the current month t is skipped).
    Windows are rows of the dense monthly grid; the result is NaN unless EVERY month of the window has a return
    (a gap is never bridged by compounding fewer months), and NaN for the first ``months`` rows. Returns below
    -100% are impossible under limited liability and make the window NaN. Unit: decimal return.
    Source: Jegadeesh and Titman (1993); for bonds Jostova, Nikolova, Philipov and Stahel (2013, RFS); KPP (2023).
    """
    months, skip = _check_window(months, skip)
    values, template = _panels({"ret": ret})
    r = values["ret"]
    r = np.where(r >= -1, r, np.nan)
    T = r.shape[0]
    out = np.full(r.shape, np.nan)
    L = months - skip + 1
    if T > months:
        out[months:] = np.prod(1.0 + sliding_window_view(r, L, axis=0), axis=-1)[: T - months] - 1.0
    return _wrap(out, template)


def equity_momentum(stock_ret, months: int = 6, skip: int = 1):
    """Issuer's equity momentum: :func:`momentum` of monthly stock returns (decimal).

    Source: Gebhardt, Hvidkjaer and Swaminathan (2005, JFE) on equity momentum spilling over to bonds; KPP (2023).
    """
    return momentum(stock_ret, months, skip)


def bond_momentum(bond_ret, months: int = 6, skip: int = 1):
    """Bond momentum: :func:`momentum` of monthly bond (excess or total) returns (decimal).

    Source: Jostova, Nikolova, Philipov and Stahel (2013, RFS); KPP (2023).
    """
    return momentum(bond_ret, months, skip)


def rating_momentum_interaction(bond_mom, rating_num, scale: str = "rating"):
    """Bond momentum interacted with credit quality.

    Jostova, Nikolova, Philipov and Stahel (2013, RFS) show bond momentum is concentrated in high-yield bonds;
    KPP (2023) include a momentum x rating interaction among their instruments so the loading on momentum can
    grow with credit risk. We implement, for ``scale="rating"`` (default), ``bond_mom * rating_num`` with the
    numeric rating of :func:`rating_numeric` (AAA = 1, ..., D = 22: larger = riskier), and for
    ``scale="high_yield"``, ``bond_mom * 1{rating_num >= 11}`` (BB+ or worse). The exact scaling in KPP's
    appendix could not be checked here; both are offered. NaN if either input is missing. Unit: decimal return x
    notches (or decimal return).
    """
    if scale not in ("rating", "high_yield"):
        raise InputError(f"scale must be 'rating' or 'high_yield', got {scale!r}", column="scale")
    values, template = _panels({"bond_mom": bond_mom, "rating_num": rating_num})
    m, rt = values["bond_mom"], values["rating_num"]
    if scale == "rating":
        out = m * rt
    else:
        out = np.where(np.isnan(rt), np.nan, m * (rt >= 11))
    return _wrap(out, template)


def log_spread_momentum(spread, months: int = 6, skip: int = 1, require_all: bool = True):
    """Spread momentum: ``ln(spread_{t-skip}) - ln(spread_{t-months})`` over calendar months.

    Equals the sum of the monthly log spread changes between the two dates. By default (``require_all=True``) every
    month from t-months to t-skip must have a positive spread, as for :func:`momentum`; with
    ``require_all=False`` only the two endpoints are needed. Non-positive spreads have no log and give NaN.
    ``months > skip`` is required. Unit: log points (decimal). Source: KPP (2023) spread-change characteristic.
    """
    months, skip = _check_window(months, skip)
    if skip >= months:
        raise InputError(f"skip must be smaller than months={months}, got {skip}", column="skip")
    values, template = _panels({"spread": spread})
    ls = _log_positive(values["spread"])
    out = _lag(ls, skip) - _lag(ls, months)
    if require_all:
        out = np.where(_window_all_present(np.isfinite(ls), months, skip), out, np.nan)
    return _wrap(out, template)


def industry_adjusted_momentum(bond_mom, industry, weights=None):
    """Industry-adjusted bond momentum: ``mom_{i,t} - sum_j w_{j,t} mom_{j,t} / sum_j w_{j,t}`` over bonds j in
    bond i's industry in month t.

    ``industry`` is a wide panel of labels (strings or codes) or a per-bond Series / 1-D array of static labels.
    ``weights=None`` gives the equal-weighted industry mean; otherwise a wide panel of non-negative weights (e.g.
    market value or amount outstanding, known at t) gives the value-weighted mean. The mean uses the bonds with
    a momentum, a label and (if weighted) a positive finite weight; the bond's own value is included, so a
    single-bond industry gets 0. NaN when the bond's momentum or label is missing, or its industry has no usable
    weight that month. Unit: decimal return. Source: KPP (2023); cf. Moskowitz and Grinblatt (1999).
    """
    values, template = _panels({"bond_mom": bond_mom, **({"weights": weights} if weights is not None else {})})
    m = values["bond_mom"]
    T, N = m.shape
    if isinstance(industry, pd.Series):
        if template is not None and not industry.index.equals(template.columns):
            if set(industry.index) != set(template.columns) or len(industry) != N:
                raise InputError("industry labels are not indexed by the bond ids", column="industry")
            industry = industry.reindex(template.columns)
        lab = industry.to_numpy(dtype=object)
    elif isinstance(industry, pd.DataFrame):
        if template is not None and not (
            industry.index.equals(template.index) and industry.columns.equals(template.columns)
        ):
            if industry.shape != (T, N) or not (
                set(industry.index) == set(template.index) and set(industry.columns) == set(template.columns)
            ):
                raise InputError("industry panel has different dates or bond ids", column="industry")
            industry = industry.reindex(index=template.index, columns=template.columns)
        lab = industry.to_numpy(dtype=object)
    else:
        lab = np.asarray(industry, dtype=object)
    if lab.ndim == 1:
        lab = np.broadcast_to(lab[None, :], (T, lab.shape[0]))
    if lab.shape != (T, N):
        raise InputError(f"industry has shape {lab.shape}, expected {(T, N)} or ({N},)", column="industry")
    codes, uniques = pd.factorize(lab.ravel(), use_na_sentinel=True)
    codes = codes.reshape(T, N)
    K = max(len(uniques), 1)
    w = np.ones((T, N)) if weights is None else values["weights"]
    use = (codes >= 0) & np.isfinite(m) & np.isfinite(w) & (w > 0)
    key = np.arange(T)[:, None] * K + np.maximum(codes, 0)  # (month, industry) group id
    wsum = np.bincount(key[use], weights=w[use], minlength=T * K)
    msum = np.bincount(key[use], weights=(w * m)[use], minlength=T * K)
    mean = _ratio(msum, wsum)[key]
    out = np.where((codes >= 0) & np.isfinite(m), m - mean, np.nan)
    return _wrap(out, template)
