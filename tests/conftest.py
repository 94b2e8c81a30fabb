"""Shared fixtures: `run` calls the `bondpremia` command line in-process."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bondpremia.cli import main


@pytest.fixture
def run(capsys) -> Callable[..., tuple[int, str, str]]:
    """Run ``bondpremia *argv`` in-process: (exit code, stdout, stderr)."""

    def call(*argv: str) -> tuple[int, str, str]:
        code = 0
        try:
            main(list(argv))
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return code, out.out, out.err

    return call
