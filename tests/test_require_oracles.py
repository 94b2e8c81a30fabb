"""``BONDPREMIA_REQUIRE_ORACLES=1`` (set by ``.ci/run``) turns every skip into a failure (``tests/conftest.py``).

Run on a scratch test folder with a copy of the project's conftest: a missing oracle package at import, a missing
data file inside a test, and a plain pass, with and without the variable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRATCH = {
    "test_missing_oracle.py": 'import pytest\nref = pytest.importorskip("no_such_oracle_pkg")\n\n'
                              "def test_agrees():\n    assert ref\n",
    "test_missing_data.py": 'import pytest\n\ndef test_real_file():\n    pytest.skip("real data not available")\n\n'
                            "def test_plain():\n    assert 1 + 1 == 2\n",
}


def _run(tmp_path: Path, require: bool) -> subprocess.CompletedProcess[str]:
    for name, text in SCRATCH.items():
        (tmp_path / name).write_text(text)
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    env = {k: v for k, v in os.environ.items() if k != "BONDPREMIA_REQUIRE_ORACLES"}
    if require:
        env["BONDPREMIA_REQUIRE_ORACLES"] = "1"
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-rA",
            "--continue-on-collection-errors", "--rootdir", str(tmp_path), str(tmp_path)]
    return subprocess.run(argv,
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)


@pytest.mark.parametrize("require", [False, True])
def test_skips_fail_only_when_oracles_are_required(tmp_path, require):
    res = _run(tmp_path, require)
    if not require:
        assert res.returncode == 0, res.stdout
        assert "1 passed, 2 skipped" in res.stdout, res.stdout
        return
    assert res.returncode == 1, res.stdout
    assert "1 failed, 1 passed, 1 error" in res.stdout, res.stdout
    assert "forbids skips; this one said: Skipped: could not import 'no_such_oracle_pkg'" in res.stdout
    assert "forbids skips; this one said: Skipped: real data not available" in res.stdout
