"""Phase runner: temp-then-rename outputs, done-markers with fingerprints, resume on re-run.

A phase is built in `<run>/<name>.tmp-<id>/<name>/`: the outer temporary folder is created
first and carries `_CURATOR_TMP.json`, so a later run knows it is the project's to remove
(Spark writes its output into the inner folder, which must not exist beforehand). The
finished output gets a marker file (`_CURATOR_PHASE.json`) holding the fingerprint of its
inputs, code and settings plus its stats, and is then renamed to `<run>/<name>/`. A killed
run leaves only marked temporaries, which the next run removes; a phase whose marker matches
the new fingerprint is skipped.

Only what the project wrote is ever removed: a `<name>.tmp-*` folder without the temporary
marker is left alone (with a note) unless it is empty, and an existing `<name>/` without the phase marker is
never replaced (ManifestError). The runner works only in a marked run directory (see
curator/rundir.py). When the disk fills up the temporary folder is removed and the failure is
an EnvironmentProblem naming the path and the free space.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curator.errors import ManifestError
from curator.log import log as _log
from curator.rundir import RUN_MARKER, disk_full, is_marked, read_bounded
from curator.rundir import is_real_dir as _is_real_dir
from curator.rundir import is_regular_file as _is_regular
from curator.terminal import shown

MARKER = "_CURATOR_PHASE.json"
TMP_MARKER = "_CURATOR_TMP.json"
"""Written into every temporary phase folder when it is created: only such folders are removed."""


def fingerprint(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write a file through a temporary name in the same folder and rename it into place; a
    failed write (a full disk) removes the temporary file and leaves `path` as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
    try:
        with open(tmp, "xb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def is_project_tmp(path: Path) -> bool:
    """A temporary phase folder this project created (a real folder holding TMP_MARKER)."""
    return _is_real_dir(path) and _is_regular(path / TMP_MARKER)


def make_tmp(run_dir: Path, name: str) -> Path:
    """A new marked temporary folder `<run_dir>/<name>.tmp-<id>/`. The marker is created in
    place (no temporary name), so a run killed at any moment leaves the folder either empty
    or marked, and the next run can remove it either way."""
    tmp = run_dir / f"{name}.tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    with open(tmp / TMP_MARKER, "x") as f:
        f.write(json.dumps({"phase": name, "pid": os.getpid(), "host": socket.gethostname(),
                            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}))
    return tmp


def remove_tmp(path: Path) -> None:
    """Remove a temporary folder of ours; anything else is left where it is."""
    if is_project_tmp(path):
        shutil.rmtree(path, ignore_errors=True)


def folder_bytes(path: Path) -> int:
    """Bytes of the regular files under `path` (what a phase leaves on disk)."""
    return sum(p.stat().st_size for p in path.rglob("*") if _is_regular(p))


@dataclass
class PhaseResult:
    name: str
    path: Path
    fingerprint: str
    stats: dict[str, Any]
    skipped: bool


class PhaseRunner:
    def __init__(self, run_dir: str | os.PathLike, log: Callable[[str], None] = _log):
        self.run_dir = Path(run_dir)
        self.log = log

    def done_marker(self, name: str) -> dict[str, Any] | None:
        marker = self.run_dir / name / MARKER
        try:
            found = json.loads(read_bounded(marker))
        except (OSError, ValueError, ManifestError):  # missing, broken or oversized: not done
            return None
        return found if isinstance(found, dict) else None

    def _check_replaceable(self, final: Path) -> None:
        if os.path.lexists(final) and not (_is_real_dir(final) and _is_regular(final / MARKER)):
            raise ManifestError(
                f"{final} exists and was not written by curator (no {MARKER} inside); "
                f"move it out of the run directory and re-run"
            )

    def _clean_leftovers(self, name: str) -> None:
        """Remove what killed runs left: marked temporary folders, and empty ones (a run
        killed between creating the folder and its marker; rmdir cannot lose anything)."""
        for stale in sorted(self.run_dir.glob(f"{name}.tmp-*")):
            if is_project_tmp(stale):
                shutil.rmtree(stale, ignore_errors=True)
                continue
            if _is_real_dir(stale):
                with contextlib.suppress(OSError):
                    os.rmdir(stale)  # fails unless empty
                    continue
            self.log(f"[{name}] left {shown(stale)} alone: it was not created by curator (no {TMP_MARKER})")

    def run(self, name: str, fp: str, build: Callable[[Path], dict[str, Any]]) -> PhaseResult:
        if not is_marked(self.run_dir):
            raise ManifestError(f"{self.run_dir} is not a curator run directory (no {RUN_MARKER}); nothing was written")
        final = self.run_dir / name
        done = self.done_marker(name)
        if done and done.get("fingerprint") == fp:
            self.log(f"[{name}] skipped: finished earlier with the same inputs and settings")
            self._publish_stats(name, done["stats"])
            return PhaseResult(name, final, fp, done["stats"], skipped=True)

        self._check_replaceable(final)
        self._clean_leftovers(name)
        tmp = make_tmp(self.run_dir, name)
        out = tmp / name
        self.log(f"[{name}] running")
        started = time.perf_counter()
        try:
            stats = build(out)
            stats["seconds"] = round(time.perf_counter() - started, 2)
            out.mkdir(parents=True, exist_ok=True)
            stats["bytes_written"] = folder_bytes(out)
            write_atomic(out / MARKER, json.dumps({"phase": name, "fingerprint": fp, "stats": stats}, indent=1))
            self._check_replaceable(final)
            if os.path.lexists(final):
                os.replace(final, tmp / f"{name}.old")  # inside the marked temporary folder
            os.replace(out, final)
        except BaseException as e:
            remove_tmp(tmp)
            full = disk_full(e, tmp)
            if full is not None:
                raise full from None
            with contextlib.suppress(AttributeError, TypeError):
                e.curator_phase = name  # cli.main names the phase in its last line
            raise
        remove_tmp(tmp)
        self._publish_stats(name, stats)
        return PhaseResult(name, final, fp, stats, skipped=False)

    def _publish_stats(self, name: str, stats: dict[str, Any]) -> None:
        path = self.run_dir / "stats" / f"{name}.json"
        text = json.dumps(stats, indent=1, sort_keys=True)
        try:
            same = read_bounded(path, len(text.encode()) + 1) == text.encode()
        except (OSError, ManifestError):
            same = False
        if not same:
            write_atomic(path, text)
