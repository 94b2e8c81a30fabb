"""Shared fixtures: `run` calls the `bondpremia` command line in-process."""

from __future__ import annotations

import os
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


@pytest.fixture(scope="session", autouse=True)
def _one_thread_per_xdist_worker() -> None:
    """Under ``pytest -n 2`` two workers share two cores: PyTorch's default of one intra-op thread per core makes
    each worker's OpenMP threads spin against the other worker's (a 13 s network test took 150 s). One thread per
    worker keeps both cores busy without oversubscription."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        try:
            import torch
        except ImportError:
            return
        torch.set_num_threads(1)
