"""Bond characteristics panel (Kelly, Palhares and Pruitt 2023 style): definitions (one small function per
characteristic, in :mod:`~bondpremia.characteristics.definitions`), the vectorized rolling and walk-forward OLS
engine and cross-sectional transforms, macro series, the registry of characteristic specs
(:mod:`~bondpremia.characteristics.specs`), and :func:`build_characteristics`, which computes the whole panel on
the dense bond x month grid."""

from bondpremia.characteristics.build import (
    ALTERNATIVES,
    KPP_INPUTS,
    KPP_INSTRUMENTS,
    CharacteristicsResult,
    MissingInputWarning,
    build_characteristics,
    coverage,
)
from bondpremia.characteristics.engine import (
    RollingMoments,
    RollingOLS,
    cross_sectional_rank,
    cumulative_return,
    pct_change_months,
    rolling_moments,
    rolling_ols,
    rolling_order_statistic,
    rolling_quantile,
    winsorize,
)
from bondpremia.characteristics.grid import ROLES, resolve_columns
from bondpremia.characteristics.macro import (
    bond_market_return,
    default_spread,
    read_macro_folder,
    term_spread,
    vix_innovation,
)

__all__ = [
    "ALTERNATIVES",
    "KPP_INPUTS",
    "KPP_INSTRUMENTS",
    "MissingInputWarning",
    "ROLES",
    "CharacteristicsResult",
    "RollingMoments",
    "RollingOLS",
    "bond_market_return",
    "build_characteristics",
    "coverage",
    "cross_sectional_rank",
    "cumulative_return",
    "default_spread",
    "pct_change_months",
    "read_macro_folder",
    "resolve_columns",
    "rolling_moments",
    "rolling_ols",
    "rolling_order_statistic",
    "rolling_quantile",
    "term_spread",
    "vix_innovation",
    "winsorize",
]
