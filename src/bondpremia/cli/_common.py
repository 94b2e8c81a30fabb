"""Helpers shared by the CLI commands (the input helpers live with the stage runners, :mod:`bondpremia.stages`)."""

from __future__ import annotations

import json
import math
from typing import Any

from bondpremia.stages._common import as_option as cli_input
from bondpremia.stages._common import option_name, read_panel, reading

__all__ = ["cli_input", "echo", "option_name", "print_json", "read_panel", "reading"]


def print_json(payload: dict[str, Any]) -> None:
    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    print(json.dumps({k: clean(v) for k, v in payload.items()}, indent=2))


def echo(line: str) -> None:
    """A note of a stage runner, on stderr as the commands print them."""
    import sys

    print(line, file=sys.stderr)
