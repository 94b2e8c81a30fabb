#!/usr/bin/env bash
# Run tests/portfolio/test_sorts_pybondlab.py against PyBondLab in a separate virtual environment.
#
# PyBondLab 0.3 pins numpy < 2, which the project's own environment cannot share, so the oracle gets its own venv
# (PBL_VENV, default /tmp/pbl; built on first use, about 40 s) and imports bondpremia from this checkout's src/
# (nothing is installed into the checkout). Extra arguments go to pytest.
#   tests/portfolio/run_pybondlab_oracle.sh            # build the venv if needed, run the agreement tests
#   PBL_VENV=/tmp/pbl-ci PYTHON=python3.11 tests/portfolio/run_pybondlab_oracle.sh -x
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${PBL_VENV:-/tmp/pbl}"
PYTHON="${PYTHON:-python3}"
if ! "$VENV/bin/python" -c "import PyBondLab, pytest, statsmodels, patsy, scipy" 2>/dev/null; then
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "PyBondLab==0.3.0" pytest hypothesis statsmodels patsy scipy
fi
cd "$ROOT"
PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}" exec "$VENV/bin/python" -m pytest -p no:cacheprovider -q \
    tests/portfolio/test_sorts_pybondlab.py "$@"
