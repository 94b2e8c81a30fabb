# Set-up and everyday commands. Only Python 3.11+ is needed on the machine: each target builds .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
CONSTRAINTS := constraints-ci.txt
# PyBondLab 0.3 pins numpy < 2: its agreement tests run in a second environment built from these pins
PBL_VENV := .venv-pybondlab
PBL_CONSTRAINTS := constraints-pybondlab.txt
PYTEST_ARGS ?=
DEMO_ARGS ?=

.PHONY: demo test test-all test-pybondlab bench lint imports mutate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install --quiet -c $(CONSTRAINTS) -e .
	touch $@

$(VENV)/.installed-nn: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install --quiet -c $(CONSTRAINTS) -e '.[nn]'
	touch $(VENV)/.installed $@

$(VENV)/.installed-dev: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install --quiet -c $(CONSTRAINTS) -e '.[dev]'
	touch $(VENV)/.installed $(VENV)/.installed-nn $@

# the whole chain on the simulated market, no network; e.g. DEMO_ARGS="--real-data ../shared/data --out runs/real"
demo: $(VENV)/.installed-nn
	$(BIN)/bondpremia demo $(DEMO_ARGS)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n 2 -m "not slow and not pybondlab" $(PYTEST_ARGS)

test-all: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n 2 -m "not pybondlab" $(PYTEST_ARGS)

$(PBL_VENV)/.installed: pyproject.toml $(PBL_CONSTRAINTS)
	$(PYTHON) -m venv $(PBL_VENV)
	$(PBL_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PBL_VENV)/bin/python -m pip install --quiet -c $(PBL_CONSTRAINTS) -e '.[oracle-pybondlab]'
	touch $@

# the sorts against PyBondLab (tests marked `pybondlab`), in .venv-pybondlab
test-pybondlab: $(PBL_VENV)/.installed
	$(PBL_VENV)/bin/python -m pytest -m pybondlab $(PYTEST_ARGS) tests/portfolio/test_sorts_pybondlab.py

bench: $(VENV)/.installed-dev
	@for f in benchmarks/bench_*.py; do $(BIN)/python $$f; done

# mutation testing (mutmut) of the core modules, each against its own test files; MUTATE_ARGS="trace/clean.py" for one
MUTATE_ARGS ?=
mutate: $(VENV)/.installed-dev
	OMP_NUM_THREADS=1 $(BIN)/python tools/mutate.py $(MUTATE_ARGS)

# the layering contract of pyproject.toml ([tool.importlinter]; docs/architecture.md)
imports: $(VENV)/.installed-dev
	$(BIN)/lint-imports

lint: imports
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(PBL_VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
