"""Mutation testing with mutmut, one module at a time, each against only the test files that exercise it.

Usage (``make mutate`` runs all modules)::

    .venv/bin/python tools/mutate.py                      # every module below, fresh
    .venv/bin/python tools/mutate.py trace/clean.py       # one module
    .venv/bin/python tools/mutate.py --keep trace/clean.py  # reuse the previous run's cache (re-tests nothing done)

Each module runs in its own working folder ``.mutate/<module>/`` (git-ignored): a ``pyproject.toml`` written here
(the project's pytest settings plus a ``[tool.mutmut]`` section for that module) and symlinks to ``src`` and
``tests``. mutmut copies them into ``.mutate/<module>/mutants/`` and mutates only that copy, so no tracked file
changes. After the run this prints one line per module and the names of the mutants that were not killed;
``cd .mutate/<module> && ../../.venv/bin/mutmut show <name>`` shows a mutant's diff.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mutate"
MUTMUT = Path(sys.executable).parent / "mutmut"

_MONTHLY_TESTS = [  # trace/monthly.py and trace/amounts.py (which monthly.py imports): the same tests
    "tests/trace/test_daily_monthly.py",
    "--deselect",  # hypothesis: a mutant it catches is shrunk for 30 s and more (timeouts); the fixed row orders
    "tests/trace/test_daily_monthly.py::test_monthly_returns_do_not_depend_on_row_order",  # of the file below
    "tests/trace/test_amount_outstanding.py",
    "tests/trace/test_monthly_mutation.py",
]

# module (under src/bondpremia) -> the test files that exercise it (pytest arguments: "--deselect", "<file>::<test>"
# leaves one test out). Slow simulation, demo, network and command-line tests are left out where a faster file
# covers the module.
MODULES: dict[str, list[str]] = {
    "trace/clean.py": [
        "tests/trace/test_clean_rules.py",
        "tests/trace/test_clean_mutation.py",
        "tests/trace/test_tidyfinance_oracle.py",  # the kernel's reordering steps and the preset's columns
        "--deselect",
        "tests/trace/test_tidyfinance_oracle.py::test_differential_on_simulated_markets",
        "tests/test_results.py::test_clean_result",  # the results protocol of CleanResult
        "tests/test_results.py::test_clean_result_save_replaces_only_with_force",
    ],
    "trace/rules.py": [
        "tests/trace/test_clean_rules.py",
        "tests/trace/test_clean_mutation.py",
    ],
    "trace/tidyfinance.py": [
        "tests/trace/test_tidyfinance_oracle.py",
        "--deselect",  # three simulated markets through the package (10 s); the hand-built messages cover each step
        "tests/trace/test_tidyfinance_oracle.py::test_differential_on_simulated_markets",
    ],
    "trace/monthly.py": _MONTHLY_TESTS,
    "trace/amounts.py": _MONTHLY_TESTS,  # the amount-outstanding history, split out of trace/monthly.py
    "models/ipca.py": [
        "tests/models/test_ipca.py",
        "tests/models/test_ipca_oracle.py",
        "--deselect",  # 8.7 s; K=1 without intercept is also checked by test_fit_matches_reference_als[1-False]
        "tests/models/test_ipca_oracle.py::test_matches_reference_no_intercept[1]",
        "tests/models/test_ipca_mutation.py",
        "tests/models/test_ipca_survivors.py",
        "tests/test_results.py::test_ipca_follows_the_protocol",  # the results protocol of IPCA and its results
        "tests/test_results.py::test_ipca_oos_and_bootstrap_results",
        "tests/test_results.py::test_every_save_names_its_command_and_replaces_a_foreign_folder_only_with_force",
        "tests/test_results.py::test_ipca_save_records_its_inputs_and_an_empty_oos_result_prints",
    ],
    "models/forecast/engine.py": [
        "tests/models/forecast/test_forecast_engine.py",
        "tests/models/forecast/test_forecast_engine_mutation.py",
        "tests/test_results.py::test_forecast_run",  # the results protocol of ForecastRun
        "tests/test_results.py::test_forecast_run_several_models_and_importance",
        "tests/test_results.py::test_forecast_run_repr_with_no_forecast",
    ],
    "models/forecast/evaluation.py": [
        "tests/models/forecast/test_evaluation.py",
        "tests/models/forecast/test_evaluation_mutation.py",
    ],
    "characteristics/engine.py": [
        "tests/characteristics/test_rolling_engine.py",
        "--deselect",  # print-only timing of 5000 bonds (13 s); the lstsq comparisons cover the same code
        "tests/characteristics/test_rolling_engine.py::test_rolling_ols_speed",
        "tests/characteristics/test_engine_mutation.py",
    ],
    "fixed_income/bond.py": [
        # not test_bond_quantlib.py: its two hypothesis oracles take 24 s per run (test_bond_mutation.py checks
        # the same quantities on fixed bonds against cash-flow-by-cash-flow sums)
        "tests/fixed_income/test_bond.py",
        "tests/fixed_income/test_bond_mutation.py",
    ],
}

# polars' thread pool does not survive a fork (the child waits forever for the pool's threads), so the modules whose
# tests run polars queries fork each mutant's worker from a server process that has run none: after collecting the
# tests ("collect"; so these test files build their polars frames inside the tests, never at import), or after
# importing the libraries only ("import", for a test file that runs polars at import: each mutant then imports it,
# 0.3 s more per mutant). The other modules use mutmut's default, a fork of the process that collected the
# statistics (faster).
FORKSERVER_WARMUP = {"trace/clean.py": "collect", "trace/rules.py": "collect", "trace/tidyfinance.py": "collect",
                     "trace/monthly.py": "collect", "trace/amounts.py": "collect"}

# pytest options of every test run (the entries of MODULES only choose the tests):
# - pytest's unraisableexception plugin runs a full gc.collect() twice when each mutant's session ends, 0.19 of the
#   0.26 s a fast mutant costs after the fork server's imports; under "-W ignore" its warnings are dropped anyway;
# - tools/mutation_first.py runs the tests of *_mutation.py files first (a killed mutant stops at its first failing
#   test; about 10% less time for trace/monthly.py).
PYTEST_ARGS = ["-m", "not slow and not pybondlab", "-p", "no:cacheprovider", "-p", "no:xdist", "-W", "ignore",
               "-p", "no:unraisableexception", "-p", "no:threadexception", "-p", "mutation_first"]
NOT_KILLED = ("survived", "no tests", "timeout", "suspicious", "segfault", "not checked", "skipped")


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def _config(module: str, tests: list[str]) -> str:
    pytest_ini = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    mutmut = {
        "source_paths": ["src"],
        "only_mutate": [f"src/bondpremia/{module}"],
        "pytest_add_cli_args_test_selection": tests,
        "pytest_add_cli_args": PYTEST_ARGS,
        "use_git_change_detection": False,
    }
    if module in FORKSERVER_WARMUP:
        mutmut.update(process_isolation="forkserver", forkserver_warmup=FORKSERVER_WARMUP[module],
                      preload_modules_file="preload.txt")
    lines = ["[tool.pytest.ini_options]"] + [f"{k} = {_toml(v)}" for k, v in pytest_ini.items()]
    lines += ["", "[tool.mutmut]"] + [f"{k} = {_toml(v)}" for k, v in mutmut.items()]
    return "\n".join(lines) + "\n"


PRELOAD = ["numpy", "pandas", "polars", "scipy.stats", "scipy.optimize", "statsmodels.api", "sklearn",
           "pandas_market_calendars", "hypothesis", "matplotlib.figure", "pytest"]


def _preload() -> str:
    """Modules the fork server imports: the heavy libraries and bondpremia (not torch, not the command line)."""
    package = ROOT / "src" / "bondpremia"
    names = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        if not any(skip in name for skip in ("cli", "demo", ".nn", "__main__")):
            names.append(name)
    return "\n".join(PRELOAD + names) + "\n"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("BONDPREMIA_REQUIRE_ORACLES", None)  # a missing ../shared file may skip here; CI checks them
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    env["MPLBACKEND"] = "Agg"
    # tools/ holds the pytest plugin mutation_first (loaded with -p)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "tools"), env.get("PYTHONPATH")) if p)
    env.setdefault("POLARS_MAX_THREADS", "1")
    return env


def _statuses(workdir: Path) -> dict[str, str]:
    out = subprocess.run([str(MUTMUT), "results", "--all", "true"], cwd=workdir, env=_env(), capture_output=True,
                         text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep:
            found[name] = status
    return found


def run_module(module: str, tests: list[str], *, keep: bool, children: int) -> tuple[str, list[str]]:
    # entries are pytest arguments: test files, node ids (file::test) and options such as --deselect
    missing = [t for t in tests if not t.startswith("-") and not (ROOT / t.split("::")[0]).exists()]
    if missing:
        print(f"{module}: warning, test files not found: {missing}", flush=True)
        tests = [t for t in tests if t not in missing]
    workdir = WORK / module.replace("/", "__").removesuffix(".py")
    if workdir.exists() and not keep:
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("src", "tests"):
        if not (workdir / name).exists():
            (workdir / name).symlink_to(ROOT / name)
    (workdir / "pyproject.toml").write_text(_config(module, tests))
    (workdir / "preload.txt").write_text(_preload())

    start = time.monotonic()
    with open(workdir / "mutmut.log", "w") as log:
        proc = subprocess.run([str(MUTMUT), "run", "--max-children", str(children)], cwd=workdir, env=_env(),
                              stdout=log, stderr=subprocess.STDOUT)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        tail = (workdir / "mutmut.log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"{module}: mutmut failed with exit code {proc.returncode}; end of its log:\n{tail}")

    statuses = _statuses(workdir)
    counts = {s: sum(v == s for v in statuses.values()) for s in set(statuses.values())}
    total = len(statuses)
    killed = counts.get("killed", 0)
    timeout = counts.get("timeout", 0)
    survived = total - killed - timeout  # survived, not covered by any selected test, or anything else
    score = 100.0 * killed / total if total else 0.0
    line = (f"{module}: killed {killed} of {total} mutants ({score:.1f}%), {survived} survived, {timeout} timeout, "
            f"wall time {wall:.0f} s")
    others = {s: n for s, n in counts.items() if s not in ("killed", "survived", "timeout")}
    if others:
        line += " [" + ", ".join(f"{n} {s}" for s, n in sorted(others.items())) + " counted as survived]"
    not_killed = [f"  {status}: {name}" for name, status in sorted(statuses.items()) if status in NOT_KILLED]
    return line, not_killed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="modules under src/bondpremia (default: all)")
    parser.add_argument("--keep", action="store_true", help="reuse .mutate/<module>/ from the previous run")
    parser.add_argument("--children", type=int, default=2, help="parallel mutmut workers (default 2)")
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown modules {unknown}; choose from {list(MODULES)}")

    start = time.monotonic()
    lines, survivors = [], []
    for module in args.modules or list(MODULES):
        line, not_killed = run_module(module, MODULES[module], keep=args.keep, children=args.children)
        print(line, flush=True)
        lines.append(line)
        survivors += [f"{module}:"] + not_killed if not_killed else []
    print(f"total wall time {time.monotonic() - start:.0f} s")
    if survivors:
        print("not killed (see docs/testing.md, 'Mutation testing', for the equivalent ones):")
        print("\n".join(survivors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
