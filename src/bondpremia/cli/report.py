"""``bondpremia report RUN_DIR``: render a run directory into one self-contained HTML research report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def report(
    run_dir: Annotated[Path, typer.Argument(help="Run directory searched recursively for known result files.")],
    out: Annotated[Path | None, typer.Option(help="Output HTML file (default: RUN_DIR/report.html).")] = None,
) -> None:
    """Render RUN_DIR into one self-contained HTML report (figures embedded) and print its path."""
    from bondpremia.report.html import write_report  # imported here: the CLI starts fast

    path = write_report(run_dir, out)
    print(path)
