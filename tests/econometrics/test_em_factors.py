"""EM factor imputation lives in bondpremia.econometrics.em_factors; the numerical tests are in
tests/data/test_fredmd.py (through the re-export in bondpremia.data.fredmd). Here: the public names are the same
objects wherever they are imported from, and the ConvergenceWarning is attributed to the caller."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bondpremia.data
import bondpremia.data.fredmd
import bondpremia.econometrics
from bondpremia.econometrics.em_factors import EMInfo, em_impute
from bondpremia.errors import ConvergenceWarning


def test_public_names_are_reexported():
    assert bondpremia.econometrics.em_impute is em_impute
    assert bondpremia.econometrics.EMInfo is EMInfo
    assert bondpremia.data.em_impute is em_impute
    assert bondpremia.data.fredmd.em_impute is em_impute
    assert bondpremia.data.fredmd.EMInfo is EMInfo


def test_convergence_warning_points_at_the_caller():
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.standard_normal((40, 6)) @ rng.standard_normal((6, 6)))
    x.iloc[3, 2] = x.iloc[10, 4] = np.nan
    with pytest.warns(ConvergenceWarning, match="max_iter=1") as record:
        _, info = em_impute(x, n_factors=2, max_iter=1, tol=1e-300, return_info=True)
    assert not info.converged and info.n_iter == 1
    assert record[0].filename == __file__


def test_the_package_loads_its_names_on_first_use():
    """bondpremia.econometrics loads a submodule when one of its names is first used, so that loading FRED-MD
    (data.fredmd needs only the EM imputation) does not import statsmodels; every listed name resolves."""
    import subprocess
    import sys

    code = ("import sys, bondpremia.data, bondpremia.econometrics as e; assert 'statsmodels' not in sys.modules; "
            "assert all(getattr(e, n) is not None for n in e.__all__); assert 'statsmodels' in sys.modules; "
            "assert sorted(e.__all__) == sorted(e._MODULE)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
