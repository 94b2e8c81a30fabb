"""Shared fixtures: `run` calls the `bondpremia` command line in-process.

``BONDPREMIA_REQUIRE_ORACLES=1`` (set by ``.ci/run``) turns every skip into a failure: a missing oracle package
(``ipca``, QuantLib, quantstats, PyBondLab, ...) or a missing reference file in ``../shared/data`` must fail CI,
not silently remove the check. Tests deselected by marker (``-m "not slow"``) are not skips and are unaffected.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from bondpremia.cli import main

REQUIRE_ORACLES = os.environ.get("BONDPREMIA_REQUIRE_ORACLES") == "1"


def _skip_reason(longrepr: object) -> str:
    # a skip's longrepr is (path, line, "Skipped: reason")
    return str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)


def _fail_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    if REQUIRE_ORACLES and report.skipped and not hasattr(report, "wasxfail"):
        reason = _skip_reason(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"BONDPREMIA_REQUIRE_ORACLES=1 forbids skips; this one said: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _fail_skip(outcome.get_result())


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
