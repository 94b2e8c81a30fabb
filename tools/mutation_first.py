"""pytest plugin for ``tools/mutate.py``: run the tests of ``*_mutation.py`` files first.

mutmut gives pytest a mutant's tests in the order of a Python set (arbitrary) and pytest stops at the first failure
(``-x``), so a killed mutant costs the tests that happen to run before the first one that fails. The
``*_mutation.py`` files hold small tests aimed at single behaviours, which fail early for most mutants; running them
first makes a killed mutant cheaper without changing any outcome (a surviving mutant still runs every test, and the
order of independent tests does not change what they check). ``tools/mutate.py`` loads it (``-p mutation_first``)
for every module.
"""

from __future__ import annotations

from typing import Any


def pytest_collection_modifyitems(items: list[Any]) -> None:
    items.sort(key=lambda item: "_mutation.py::" not in item.nodeid)  # stable: the rest keep their order
