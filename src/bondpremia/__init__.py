"""bondpremia: empirical fixed-income research, from TRACE trades to Treasury risk premia."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bondpremia")
except PackageNotFoundError:  # a source checkout on PYTHONPATH without an install
    __version__ = "0+unknown"
