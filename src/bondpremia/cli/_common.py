"""Helpers shared by the CLI commands."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, TypeVar

from bondpremia.errors import InputError

T = TypeVar("T")


def option_name(column: str | None) -> str:
    return "--" + (column or "input").replace("_", "-")


def cli_input(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a library call; re-raise its InputError with the CLI option name instead of the argument name."""
    try:
        return func(*args, **kwargs)
    except InputError as err:
        if err.file is None and err.column is not None:
            raise InputError(err.reason, column=option_name(err.column).lstrip("'")) from None
        raise


def print_json(payload: dict[str, Any]) -> None:
    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    print(json.dumps({k: clean(v) for k, v in payload.items()}, indent=2))
