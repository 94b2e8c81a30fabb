"""Atomic run folders: a command writes into a staging folder beside ``--out`` and renames it into place only when
everything is written, with a manifest (``_SUCCESS.json``: command, options, inputs with sizes and hashes, version,
row counts, times).

An interrupted or failed run leaves no folder that looks complete: the staging folder (``.<name>.partial-*``) is
removed on any exception, ``KeyboardInterrupt`` included. An existing ``--out`` is replaced as a whole, never
mixed with the new files. A folder that holds no manifest (not written by bondpremia, or left by an older
version) is only replaced with ``force=True``. Readers of a run folder call :func:`require_run`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bondpremia.errors import InputError

__all__ = ["MANIFEST", "OUTPUTS", "Run", "atomic_file", "atomic_run", "check_out", "file_fingerprint", "is_run",
           "read_manifest", "require_run", "written_by"]

MANIFEST = "_SUCCESS.json"

#: The files a run folder of each command may hold besides the manifest (glob patterns relative to the folder): the
#: one list of output names. :func:`atomic_run` refuses to complete a run that wrote a file outside its command's
#: list (a writer's programming error, raised before the folder is moved into place), the report reads these names
#: (``tests/report`` checks that every file it looks for is listed here), and the manifest's ``files`` records what
#: a run wrote. Files a caller adds on purpose are declared on the run (``Run.extra``).
OUTPUTS: dict[str, tuple[str, ...]] = {
    "trace clean": ("trades.parquet", "audit.csv", "rejects.parquet", "_wrds/*"),
    "trace monthly": ("daily.parquet", "monthly.parquet"),
    "characteristics build": ("characteristics.parquet", "coverage.csv"),
    "ipca fit": ("fit.json", "gamma.csv", "factors.csv"),
    "ipca oos": ("oos.json", "oos_factors.csv"),
    "ipca bootstrap": ("bootstrap.csv", "draws.csv"),
    "portfolio sort": ("sort_summary_*.csv", "sort_returns_*.csv"),
    "treasury forecast": ("r2oos.csv", "r2oos_factors.csv", "forecasts.parquet", "importance.csv", "dm.csv",
                          "figures/cumulative_sse.png", "figures/importance.png"),
    "treasury replicate": ("replication.csv", "forecasts.parquet", "settings.json", "figures/replication.png"),
    "clark-west test": ("clark_west.csv",),
    "diebold-mariano test": ("diebold_mariano.csv",),
    "strategy backtest": ("returns.csv", "stats.json", "*.png"),
    "strategy taylor": ("returns.csv", "stats.json", "strategy.png", "taylor_rule.png"),
    "rolling regression": ("rolling.csv",),
    "fama-macbeth": ("fama_macbeth.csv", "slopes.csv"),
    "kalman filter": ("kalman_filter.csv",),
    "ar signal": ("ar_signal_params.csv", "ar_signal.csv"),
    "simulate trace": ("trace.parquet", "fisd.parquet", "fisd_amt_out.parquet", "truth_trades.parquet",
                       "truth_monthly.parquet", "rates.parquet"),
    "simulate treasury": ("yields.parquet", "macro.parquet", "groups.csv", "expected.parquet", "population_r2.csv"),
    "demo": ("demo.json", "report.html"),  # and the run folder of each stage inside it
}
_FULL_HASH_BYTES = 256 * 2**20  # files up to this size are hashed whole; larger ones by their first and last MiB
_PART = 2**20


def file_fingerprint(path: str | Path) -> dict[str, Any]:
    """Size, modification time and SHA-256 of a file (of its first and last MiB above 256 MiB, marked as such)."""
    p = Path(path)
    st = p.stat()
    h = hashlib.sha256()
    with p.open("rb") as fh:
        if st.st_size <= _FULL_HASH_BYTES:
            for block in iter(lambda: fh.read(_PART), b""):
                h.update(block)
            kind = "sha256"
        else:
            h.update(fh.read(_PART))
            fh.seek(-_PART, os.SEEK_END)
            h.update(fh.read(_PART))
            kind = "sha256_first_last_mib"
    return {"path": str(p.resolve()), "bytes": st.st_size, "mtime": st.st_mtime, kind: h.hexdigest()}


def _files(inputs: Sequence[str | Path | None]) -> list[Path]:
    out: list[Path] = []
    for item in inputs:
        if item is None:
            continue
        p = Path(item)
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file()))
        elif p.is_file():
            out.append(p)
    return out


@dataclass
class Run:
    """The staging folder to write into, the manifest entries a command adds (``rows``: table -> row count) and the
    files it adds beyond its command's :data:`OUTPUTS` (``extra``: paths relative to the folder)."""

    path: Path
    manifest: dict[str, Any]
    rows: dict[str, int] = field(default_factory=dict)
    extra: set[str] = field(default_factory=set)


def is_run(folder: str | Path) -> bool:
    """Whether ``folder`` is a complete bondpremia run (it holds a readable manifest)."""
    try:
        read_manifest(folder)
    except InputError:
        return False
    return True


def written_by(path: str | Path) -> str | None:
    """The command whose complete run folder holds the file ``path`` (``"trace monthly"``), or None."""
    try:
        return str(read_manifest(Path(path).parent).get("command"))
    except InputError:
        return None


def read_manifest(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        raise InputError(f"no readable {MANIFEST}: not a complete bondpremia run (interrupted, still running, or "
                         f"not written by bondpremia); run the command that writes it again", file=str(folder)
                         ) from None
    if not isinstance(data, dict) or "command" not in data:
        raise InputError(f"{MANIFEST} is not a bondpremia manifest", file=str(path))
    return data


def require_run(folder: str | Path, command: str | None = None) -> dict[str, Any]:
    """The manifest of a complete run folder, or an InputError (the folder is incomplete or of another command)."""
    data = read_manifest(folder)
    if command is not None and data["command"] != command:
        raise InputError(f"written by `bondpremia {data['command']}`, expected the output of `bondpremia {command}`",
                         file=str(folder))
    return data


def _check_files(command: str, files: Sequence[str], extra: set[str], stage: Path) -> None:
    """Every file of a run is one its command declares (:data:`OUTPUTS`) or one the caller added (``extra``);
    files inside a nested run folder (one with its own manifest, as the demo's stages) belong to that run."""
    from fnmatch import fnmatchcase

    if command not in OUTPUTS:
        raise RuntimeError(f"command {command!r} has no entry in bondpremia.rundir.OUTPUTS")
    nested = {p.parent.relative_to(stage).as_posix() + "/" for p in stage.rglob(MANIFEST) if p.parent != stage}
    stray = [f for f in files if f not in extra and not f.startswith(tuple(nested))
             and not any(fnmatchcase(f, pattern) for pattern in OUTPUTS[command])]
    if stray:
        raise RuntimeError(f"`{command}` wrote {stray}, not declared in bondpremia.rundir.OUTPUTS[{command!r}]")


def check_out(out: str | Path, force: bool = False) -> None:
    """Fail early (before any work) when ``out`` cannot become a run folder: a file, or a folder that is not a
    bondpremia run (unless ``force``)."""
    _check_out(Path(out), force)


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InputError("is a file; --out must be a folder", file=str(out))
    _check_parent(out)
    if out.is_dir() and any(out.iterdir()) and not is_run(out) and not force:
        raise InputError("exists and is not a bondpremia run folder (no _SUCCESS.json); choose another --out, "
                         "remove it, or pass --force to replace it", file=str(out))


def _check_parent(out: Path) -> None:
    ancestor = out.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(f"cannot create the output folder: {ancestor} is a file", file=str(out))
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(f"cannot create the output folder: {ancestor} is not writable", file=str(out))


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto it when the block succeeds (removed when it fails): a
    reader never sees a half-written file."""
    target = Path(path)
    if target.is_dir():
        raise InputError("is a folder; give a file name", file=str(target))
    _check_parent(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.partial-", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_run(out: str | Path, command: str, *, inputs: Sequence[str | Path | None] = (),
               options: Mapping[str, Any] | None = None, force: bool = False) -> Iterator[Run]:
    """Stage a run folder; on success write the manifest and move it to ``out`` (replacing an earlier run).

    >>> with atomic_run("runs/x", "portfolio sort", inputs=[panel], options={"n": 5}) as run:
    ...     frame.to_csv(run.path / "returns.csv"); run.rows["returns.csv"] = len(frame)
    """
    from bondpremia import __version__

    out = Path(out)
    _check_out(out, force)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    except OSError as err:
        raise InputError(f"cannot create the output folder: {err.strerror}", file=str(out)) from None
    started = time.time()
    manifest: dict[str, Any] = {
        "command": command, "version": __version__,
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in (options or {}).items()},
        "inputs": [file_fingerprint(f) for f in _files(inputs)],
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
    }
    run = Run(stage, manifest)
    try:
        yield run
        manifest["rows"] = dict(run.rows)
        manifest["seconds"] = round(time.time() - started, 3)
        manifest["files"] = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file())
        _check_files(command, manifest["files"], run.extra, stage)
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
        _check_out(out, force)  # again: another process may have written it meanwhile
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            out.rename(old / "run")
        stage.rename(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
