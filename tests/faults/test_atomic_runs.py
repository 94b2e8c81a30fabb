"""Atomic run folders (bondpremia.rundir) and the TRACE commands that write them: a run folder appears only when
complete, with its manifest; reruns replace it whole; interrupts leave nothing; readers refuse incomplete folders;
DuckDB settings never go into SQL text; the same data is never read twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from bondpremia.errors import InputError
from bondpremia.rundir import MANIFEST, OUTPUTS, atomic_run, file_fingerprint, is_run, require_run
from bondpremia.simulate.trace import write_simulated_trace


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sim")
    write_simulated_trace(folder, n_bonds=30, n_months=6, seed=2)
    return folder


@pytest.fixture(autouse=True)
def _test_command(monkeypatch):
    """The runs of these tests are of a command "test cmd" that may write any file."""
    monkeypatch.setitem(OUTPUTS, "test cmd", ("*",))


def test_a_file_outside_the_commands_outputs_stops_the_run(tmp_path):
    """A writer that adds a file its command does not declare (rundir.OUTPUTS) fails before the folder is moved
    into place; a file declared on the run (extra) and the files of a nested run folder are accepted."""
    out = tmp_path / "m"
    with pytest.raises(RuntimeError, match=r"`trace monthly` wrote \['notes.txt'\], not declared"):
        with atomic_run(out, "trace monthly") as r:
            (r.path / "monthly.parquet").write_text("x")
            (r.path / "notes.txt").write_text("x")
    assert not out.exists() and _leftovers(tmp_path) == []
    with atomic_run(out, "trace monthly") as r:
        (r.path / "monthly.parquet").write_text("x")
        (r.path / "notes.txt").write_text("x")
        r.extra.add("notes.txt")
    assert require_run(out)["files"] == ["monthly.parquet", "notes.txt"]
    with atomic_run(tmp_path / "d", "demo") as r:
        with atomic_run(r.path / "sorts", "portfolio sort") as inner:
            (inner.path / "sort_summary_x.csv").write_text("x")
        (r.path / "demo.json").write_text("{}")
    assert require_run(tmp_path / "d")["files"] == ["demo.json", f"sorts/{MANIFEST}", "sorts/sort_summary_x.csv"]
    with pytest.raises(RuntimeError, match="'no such command' has no entry"):
        with atomic_run(tmp_path / "n", "no such command"):
            pass


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".partial-" in p.name or ".old-" in p.name)


def test_atomic_run_writes_a_manifest_and_replaces_a_previous_run(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("a,b\n1,2\n")
    out = tmp_path / "run"
    with atomic_run(out, "test cmd", inputs=[src], options={"k": 3}) as r:
        (r.path / "x.csv").write_text("first")
        r.rows["x.csv"] = 1
        assert not out.exists()  # nothing at --out until the run completes
    m = require_run(out, "test cmd")
    assert m["options"] == {"k": 3} and m["rows"] == {"x.csv": 1} and m["files"] == ["x.csv"]
    assert m["inputs"][0]["bytes"] == 8 and m["inputs"][0] == file_fingerprint(src)
    # sha256 of "a,b\n1,2\n", computed independently with coreutils' sha256sum when present
    import hashlib

    assert m["inputs"][0]["sha256"] == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    with atomic_run(out, "test cmd") as r:
        (r.path / "y.csv").write_text("second")
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "y.csv"]  # replaced whole, not mixed
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError, InputError])
def test_an_interrupted_run_leaves_nothing_and_keeps_the_previous_run(tmp_path, exc):
    out = tmp_path / "run"
    with atomic_run(out, "test cmd") as r:
        (r.path / "old.csv").write_text("old")
    with pytest.raises(exc), atomic_run(out, "test cmd") as r:
        (r.path / "half.csv").write_text("half")
        raise exc("stop") if exc is not KeyboardInterrupt else exc()
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "old.csv"]
    assert _leftovers(tmp_path) == []


def test_out_that_is_a_file_or_a_foreign_folder(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(InputError, match="is a file"), atomic_run(f, "test cmd"):
        pass
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="not a bondpremia run folder"), atomic_run(foreign, "test cmd"):
        pass
    assert (foreign / "notes.txt").read_text() == "keep me"
    with atomic_run(foreign, "test cmd", force=True) as r:
        (r.path / "a").write_text("a")
    assert is_run(foreign) and not (foreign / "notes.txt").exists()
    with pytest.raises(InputError, match="expected the output of `bondpremia other`"):
        require_run(foreign, "other")


def test_trace_clean_then_monthly(sim, tmp_path, run):
    clean = tmp_path / "clean"
    code, _, err = run("trace", "clean", str(sim / "trace.parquet"), "--fisd", str(sim / "fisd.parquet"),
                       "--out", str(clean))
    assert code == 0, err
    m = require_run(clean, "trace clean")
    truth = pl.read_parquet(sim / "truth_trades.parquet")
    assert m["rows"]["trades.parquet"] == truth.height == pl.read_parquet(clean / "trades.parquet").height
    assert {Path(i["path"]).name for i in m["inputs"]} == {"trace.parquet", "fisd.parquet"}
    out = tmp_path / "monthly"
    code, _, err = run("trace", "monthly", str(clean), "--fisd", str(sim / "fisd.parquet"), "--rates",
                       str(sim / "rates.parquet"), "--out", str(out))
    assert code == 0, err
    assert require_run(out, "trace monthly")["rows"]["monthly.parquet"] == pl.read_parquet(
        sim / "truth_monthly.parquet").height
    # a trades.parquet outside a complete `trace clean` folder is refused
    (clean / MANIFEST).unlink()
    code, _, err = run("trace", "monthly", str(clean / "trades.parquet"), "--fisd", str(sim / "fisd.parquet"),
                       "--rates", str(sim / "rates.parquet"), "--out", str(tmp_path / "m2"))
    assert code == 2 and "not a complete bondpremia run" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m2").exists()


def test_trace_monthly_needs_rates(sim, tmp_path, run):
    code, _, err = run("trace", "monthly", str(tmp_path), "--fisd", str(sim / "fisd.parquet"))
    assert code == 2 and "--rates" in err


@pytest.mark.parametrize("limit", ["1GB'; SELECT 1; --", "lots", "1 GB GB"])
def test_memory_limit_is_validated_not_spliced_into_sql(sim, tmp_path, run, limit):
    code, _, err = run("trace", "clean", str(sim / "trace.parquet"), "--fisd", str(sim / "fisd.parquet"),
                       "--memory-limit", limit, "--out", str(tmp_path / "c"))
    assert code == 2 and "is not a memory size" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c").exists()


def test_an_apostrophe_in_the_output_path_works(sim, tmp_path, run):
    out = tmp_path / "o'brien's run"
    code, _, err = run("trace", "clean", str(sim / "trace.parquet"), "--fisd", str(sim / "fisd.parquet"),
                       "--out", str(out))
    assert code == 0, err
    assert is_run(out)


def test_the_same_data_twice_is_refused(sim, tmp_path, run):
    copy = tmp_path / "copy.parquet"
    copy.write_bytes((sim / "trace.parquet").read_bytes())
    for args in ([str(sim / "trace.parquet"), str(sim / "trace.parquet")], [str(sim / "trace.parquet"), str(copy)]):
        code, _, err = run("trace", "clean", *args, "--fisd", str(sim / "fisd.parquet"), "--out",
                           str(tmp_path / "c"))
        assert code == 2 and ("twice" in err or "identical" in err), err
    csv = tmp_path / "f"
    csv.mkdir()
    (csv / "a.csv").write_text("cusip_id,x\nA,1\n")
    (csv / "a.csv.gz").write_bytes(b"not really")
    code, _, err = run("trace", "clean", str(csv), "--fisd", str(sim / "fisd.parquet"), "--out", str(tmp_path / "c"))
    assert code == 2 and "two copies of one file" in err


def test_ctrl_c_during_trace_clean_leaves_nothing_and_a_rerun_succeeds(sim, tmp_path):
    """A real SIGINT to the command line process while it cleans: no folder at --out, no staging folder left."""
    big = tmp_path / "sim"
    write_simulated_trace(big, n_bonds=300, n_months=12, seed=5)
    # as CSV the messages go through the DuckDB ingest: several seconds of cleaning in 100-row partitions (parquet in
    # CUSIP order would be read in place, in partitions of whole row groups, and cleaned in about a second)
    pl.read_parquet(big / "trace.parquet").write_csv(big / "trace.csv")
    out = tmp_path / "clean"
    argv = [sys.executable, "-m", "bondpremia.cli", "trace", "clean", str(big / "trace.csv"), "--fisd",
            str(big / "fisd.parquet"), "--out", str(out), "--rows-per-partition", "100", "--workers", "1"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.time() + 60
    while time.time() < deadline and not any(".partial-" in p.name for p in tmp_path.iterdir()):
        time.sleep(0.05)  # wait until the run is under way (its staging folder exists)
    time.sleep(1.0)  # and into the cleaning itself
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert not out.exists() or is_run(out)  # either nothing or (had it just finished) a complete run
    assert _leftovers(tmp_path) == []
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert is_run(out)


def test_atomic_file_replaces_or_leaves_the_old_file(tmp_path):
    from bondpremia.rundir import atomic_file

    target = tmp_path / "report.html"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("stop")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["report.html"]
    with atomic_file(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["report.html"]
    with pytest.raises(InputError, match="is a folder"), atomic_file(tmp_path):
        pass


class _Planted:
    """Unpickling this writes a marker file: the proof that a cache payload was executed."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path(self.marker).write_text, ("executed",))


def test_a_planted_cache_payload_is_never_executed(tmp_path):
    """The forecast cache is plain arrays (npz, allow_pickle=False): a pickle planted as state.pkl is ignored, and a
    state.npz whose arrays need unpickling (object arrays) is refused with one clear error; nothing runs."""
    import pickle

    import numpy as np

    from bondpremia.models.forecast import recursive_forecast, treasury_data
    from bondpremia.simulate import simulate_term_structure

    data = treasury_data(simulate_term_structure(n_months=132, start="1980-01", seed=0, n_series=8).yields)
    opts = dict(oos_start="1990-01", refit_every=12, retune_every=60, seed=3)
    cache = tmp_path / "cache"
    ref = recursive_forecast(data, "ols", cache_dir=cache, **opts).forecasts
    (folder,) = [p for p in cache.iterdir() if p.is_dir()]
    marker = tmp_path / "executed.txt"
    (folder / "state.pkl").write_bytes(pickle.dumps(_Planted(str(marker))))
    again = recursive_forecast(data, "ols", cache_dir=cache, **opts).forecasts
    assert not marker.exists()
    assert again.reset_index(drop=True).equals(ref.reset_index(drop=True))
    np.savez(folder / "state.npz", done=np.array([_Planted(str(marker))], dtype=object))
    with pytest.raises(InputError, match="cache file is corrupt or not written by this run"):
        recursive_forecast(data, "ols", cache_dir=cache, **opts)
    assert not marker.exists()

