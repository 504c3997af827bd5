"""Phase runner: temp-then-rename outputs, done-markers with fingerprints, resume on re-run.

A phase writes everything into `<run>/<name>.tmp-<uuid>/`, ends with a marker file holding
the fingerprint of its inputs, code and settings plus its stats, and is then renamed to
`<run>/<name>/`. A killed run leaves only temporaries, which the next run removes; a phase
whose marker matches the new fingerprint is skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARKER = "_CURATOR_PHASE.json"


def fingerprint(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write a file through a temporary name in the same folder and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
    with open(tmp, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@dataclass
class PhaseResult:
    name: str
    path: Path
    fingerprint: str
    stats: dict[str, Any]
    skipped: bool


class PhaseRunner:
    def __init__(self, run_dir: str | os.PathLike, log: Callable[[str], None] = print):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log = log

    def done_marker(self, name: str) -> dict[str, Any] | None:
        marker = self.run_dir / name / MARKER
        try:
            return json.loads(marker.read_text())
        except (OSError, ValueError):
            return None

    def run(self, name: str, fp: str, build: Callable[[Path], dict[str, Any]]) -> PhaseResult:
        final = self.run_dir / name
        done = self.done_marker(name)
        if done and done.get("fingerprint") == fp:
            self.log(f"[{name}] skipped: finished earlier with the same inputs and settings")
            self._publish_stats(name, done["stats"])
            return PhaseResult(name, final, fp, done["stats"], skipped=True)

        for stale in self.run_dir.glob(f"{name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = self.run_dir / f"{name}.tmp-{uuid.uuid4().hex[:12]}"
        self.log(f"[{name}] running")
        started = time.perf_counter()
        try:
            stats = build(tmp)
            stats["seconds"] = round(time.perf_counter() - started, 2)
            tmp.mkdir(parents=True, exist_ok=True)
            write_atomic(tmp / MARKER, json.dumps({"phase": name, "fingerprint": fp, "stats": stats}, indent=1))
            if final.exists():
                old = self.run_dir / f"{name}.tmp-old-{uuid.uuid4().hex[:12]}"
                os.replace(final, old)
                os.replace(tmp, final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._publish_stats(name, stats)
        return PhaseResult(name, final, fp, stats, skipped=False)

    def _publish_stats(self, name: str, stats: dict[str, Any]) -> None:
        path = self.run_dir / "stats" / f"{name}.json"
        text = json.dumps(stats, indent=1, sort_keys=True)
        if not path.is_file() or path.read_text() != text:
            write_atomic(path, text)
