"""The run directory is the project's own: a marker says so, a lock keeps it to one run.

`curator run` writes into `<output.dir>/<run>/` and replaces what it wrote there before, so it
must never take a folder that is not its own: a careless `output.dir` pointing at a folder of
other files, or two runs of the same manifest at once, would otherwise delete other people's
data or each other's temporary folders. So:

* `check_location` refuses, before anything starts, run directories that cannot be one: `/`,
  the home folder or the manifest's own folder (or any folder above them), a path that is a
  file, or a path under a file.
* `open_run` claims the folder: a missing or empty one is created and marked with
  `.curator-run.json` (project, version, creation time); an existing non-empty folder
  without the marker is refused (exit 2, nothing touched) unless `force`, which marks it,
  and even then only when none of the names a run writes (OUTPUT_NAMES: phase folders,
  stats/, rejected/, manifest.lock.yaml, report.html) is there yet: what curator did not
  write is never replaced. In every run directory `stats/` and `rejected/` must be real
  folders, never links, so no write follows a link out of the folder. It then takes `.curator.lock` (pid, host, start time; created with O_CREAT|O_EXCL): a
  second run on the same folder exits 2 naming the holder, a lock left by a dead process on
  this host is taken over with a note, and the lock is released when the run ends, however
  it ends. Neither file ever holds a path or URL, so no secret can reach them. What is
  printed about the folder and the lock (its host, its start time) goes through
  curator.terminal.shown: both come from disk.
* `read_bounded` reads a file of a run directory (stats, markers, the lock file, the
  resolved manifest) with a size cap: the folder may hold anything, so nothing is read whole.
* `disk_full` turns "No space left on device" (an OSError, or a Spark failure quoting one)
  into an EnvironmentProblem naming the path and the free space.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import shutil
import socket
import stat
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import curator
from curator.errors import CuratorError, EnvironmentProblem, ManifestError
from curator.log import log as _log
from curator.terminal import shown

PROJECT = "corpus-curator"
RUN_MARKER = ".curator-run.json"
"""Written into every run directory the project creates (or is told to take with --force)."""
LOCK = ".curator.lock"
"""Held by the run that is writing the directory; see RunLock."""
_OWN_ENTRIES = (LOCK,)
"""Entries a run of ours may have put into a folder before marking it (a race between two
first runs): they do not make the folder "someone else's"."""
_MAX_LOCK_BYTES = 4096
"""A lock file is a few hundred bytes; a longer one is not ours and is read no further."""
PHASE_DIRS = {
    "extract": "extracted", "annotate": "annotated", "dedup": "deduped",
    "tokenize": "tokenized", "mix": "mixed", "shards": "shards",
}
"""The phases of a run, in order, and the folder each writes: defined here once (the
pipeline, stats, report and diff all read it)."""
PHASE_FOLDERS = tuple(PHASE_DIRS.values())
OUTPUT_NAMES = (*PHASE_FOLDERS, "stats", "rejected", "stage-data", "manifest.lock.yaml", "report.html", RUN_MARKER)
"""The top-level names a run writes. `--force` takes a foreign folder only when none of them
is there: each would be replaced (or written through) without being curator's."""
REAL_FOLDERS = ("stats", "rejected", "stage-data")
"""Folders a run writes files into by name: a link here would send those writes elsewhere."""
MAX_RUN_FILE_BYTES = 64 << 20
"""Cap on a stats/*.json, marker or shards manifest.json read back from a run directory
(a large run's stats are a few megabytes)."""


def is_regular_file(path: str | os.PathLike) -> bool:
    """A regular file, not a link to one (lstat)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def is_real_dir(path: str | os.PathLike) -> bool:
    """A folder, not a link to one (lstat)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def read_bounded(path: str | os.PathLike, limit: int = MAX_RUN_FILE_BYTES) -> bytes:
    """The bytes of a regular file in a run directory, at most `limit`; a larger file, or one
    that is not a regular file (a FIFO would block the read forever), is a one-line
    ManifestError. Opened non-blocking so that even the check cannot hang."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with open(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ManifestError(f"{shown(path)} is not a regular file; curator writes files there, not links to devices or pipes")
        raw = f.read(limit + 1)
    if len(raw) > limit:
        raise ManifestError(
            f"{shown(path)} is larger than {limit >> 20} MiB, more than curator writes there; "
            f"move it away and re-run the phase that writes it"
        )
    return raw


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _within(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def check_location(run_dir: str | os.PathLike, manifest_dir: str | os.PathLike | None = None) -> Path:
    """The resolved run directory, or a one-line ManifestError when it cannot be one: `/`, a
    folder that holds the home folder or the manifest's folder (a run replaces what it wrote
    there, and `run: ..`-like paths would write into their parents), or a path that is, or
    lies under, a file. `~` is not expanded here: `manifest.parse` expands it once, so this
    check and the run look at the same folder."""
    path = Path(run_dir)
    resolved = path.resolve()
    if resolved == Path(resolved.anchor):
        raise ManifestError(f"output: the run directory {path} is the filesystem root; set output.dir to a folder for runs")
    guarded = []
    with contextlib.suppress(RuntimeError, KeyError):  # no home folder known
        guarded.append(("your home folder", Path.home()))
    if manifest_dir is not None:
        guarded.append(("the manifest's folder", Path(manifest_dir)))
    for what, folder in guarded:
        with contextlib.suppress(OSError, RuntimeError):
            folder = folder.resolve()
        if _within(folder, resolved):
            raise ManifestError(
                f"output: the run directory {resolved} is {what} or a folder above it; "
                f"set output.dir to a folder for runs (e.g. runs)"
            )
    probe = resolved
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        where = "the run directory" if probe == resolved else f"{probe}, a folder on the way to {resolved},"
        raise ManifestError(f"output: {where} is a file, not a folder; point output.dir at a folder")
    return resolved


def is_marked(run_dir: str | os.PathLike) -> bool:
    """True when the folder carries the project's run marker (a regular file, not a link)."""
    return is_regular_file(Path(run_dir) / RUN_MARKER)


def _foreign_entries(run_dir: Path) -> list[str]:
    try:
        names = os.listdir(run_dir)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n not in _OWN_ENTRIES)


def _write_marker(run_dir: Path) -> None:
    """Created in place (under the lock): a run killed while writing it leaves the marker,
    perhaps empty, never a temporary file beside it."""
    with contextlib.suppress(FileExistsError), open(run_dir / RUN_MARKER, "x") as f:
        f.write(json.dumps({"project": PROJECT, "version": curator.__version__, "created": _now()}, indent=1) + "\n")


def _listed(entries: list[str]) -> str:
    return ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")


def _refuse_foreign(run_dir: Path, entries: list[str], force: bool) -> None:
    """Refuse an unmarked non-empty folder; with `force`, only one that holds a name a run
    writes (it would be replaced, or written through, although curator did not write it)."""
    if not force:
        raise ManifestError(
            f"{run_dir} is not empty ({_listed(entries)}) and is not a curator run directory (no {RUN_MARKER}); "
            f"choose another output.dir or run name, or pass --force to use it "
            f"(curator then refuses if the folder holds any name it writes)"
        )
    taken = [n for n in entries if n in OUTPUT_NAMES]
    if taken:
        raise ManifestError(
            f"{run_dir} is not a curator run directory and already holds {_listed(taken)}, which a run "
            f"would replace; --force never replaces what curator did not write: move them away, "
            f"or choose another output.dir or run name"
        )


def _check_real_folders(run_dir: Path) -> None:
    """stats/ and rejected/ are folders of this run, not links (writes would follow them)."""
    for name in REAL_FOLDERS:
        path = run_dir / name
        if os.path.lexists(path) and not is_real_dir(path):
            raise ManifestError(
                f"{path} is a link or a file, not a folder curator wrote; a run writes files into it "
                f"by name, so move it out of the run directory and re-run"
            )


@contextlib.contextmanager
def open_run(run_dir: str | os.PathLike, force: bool = False,
             log: Callable[[str], None] = _log) -> Iterator[Path]:
    """Claim, mark and lock the run directory for the length of the `with` block."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise ManifestError(f"output: the run directory {run_dir} is a file, not a folder")
    if not is_marked(run_dir):
        foreign = _foreign_entries(run_dir)
        if foreign:
            _refuse_foreign(run_dir, foreign, force)  # before anything is created: nothing touched
    _check_real_folders(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with RunLock(run_dir, log):
        if not is_marked(run_dir):
            foreign = _foreign_entries(run_dir)
            if foreign:  # someone filled it between the check and the lock
                _refuse_foreign(run_dir, foreign, force)
                log(f"--force: taking {shown(run_dir)} as a curator run directory; it holds none of the "
                    f"names a run writes, so nothing in it is replaced")
            _write_marker(run_dir)
        _check_real_folders(run_dir)
        yield run_dir


# -- the lock ------------------------------------------------------------------------------

def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read(4096).decode("ascii", "replace")
        return raw.rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _proc_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, to tell a reused pid."""
    fields = _proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def _proc_state(pid: int) -> str | None:
    fields = _proc_stat(pid)
    return fields[0] if fields else None


def pid_alive(pid: int, proc_start: str | None = None) -> bool:
    """Whether `pid` is a running process on this host (a zombie is not; a pid reused by a
    process started at another time is not the holder)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if _proc_state(pid) in ("Z", "X"):
        return False
    return not (proc_start and _proc_start(pid) not in (None, proc_start))


def _read_lock(path: Path) -> dict | None:
    try:
        info = json.loads(read_bounded(path, _MAX_LOCK_BYTES).decode("utf-8"))
    except (OSError, ValueError, ManifestError):
        return None
    return info if isinstance(info, dict) and isinstance(info.get("pid"), int) else None


def _holder(info: dict) -> str:
    """Who holds a lock, for people: every value comes from a file on disk."""
    return shown(f"pid {info.get('pid')}@{info.get('host')} since {info.get('started')}")


class RunLock:
    """`<run_dir>/.curator.lock`: created atomically, holding pid, host and start time."""

    STALE_UNREADABLE_S = 30
    """An unreadable lock (a holder killed between creating and writing it) older than this
    is stale; a younger one may be being written right now."""

    def __init__(self, run_dir: str | os.PathLike, log: Callable[[str], None] = _log):
        self.path = Path(run_dir) / LOCK
        self.log = log
        self.token = uuid.uuid4().hex
        self.held = False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def _info(self) -> dict:
        return {"project": PROJECT, "pid": os.getpid(), "host": socket.gethostname(), "started": _now(),
                "proc_start": _proc_start(os.getpid()), "version": curator.__version__, "token": self.token}

    def acquire(self) -> None:
        for _ in range(5):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._take_over_if_stale()
                continue
            try:
                os.write(fd, (json.dumps(self._info()) + "\n").encode())
                os.fsync(fd)
            except BaseException:
                os.close(fd)
                with contextlib.suppress(OSError):
                    self.path.unlink()
                raise
            os.close(fd)
            self.held = True
            return
        raise ManifestError(f"{self.path.parent}: could not take {LOCK}: other runs keep replacing it; try again")

    def _take_over_if_stale(self) -> None:
        info = _read_lock(self.path)
        if info is None:
            try:
                age = dt.datetime.now().timestamp() - os.lstat(self.path).st_mtime
            except FileNotFoundError:
                return  # released meanwhile: try again
            if age < self.STALE_UNREADABLE_S:
                raise ManifestError(f"{self.path.parent} is being claimed by another curator run ({self.path} is being written); try again")
            reason = f"an unreadable lock {int(age)}s old"
        else:
            here = socket.gethostname()
            if info.get("host") != here:
                raise ManifestError(
                    f"{self.path.parent} is in use by another curator run ({_holder(info)}, another machine); "
                    f"wait for it, or delete {self.path} if that run is gone"
                )
            if pid_alive(info["pid"], info.get("proc_start")):
                raise ManifestError(
                    f"{self.path.parent} is in use by another curator run ({_holder(info)}); "
                    f"wait for it to finish, or delete {self.path} if that run is gone"
                )
            reason = f"the lock of {_holder(info)}, which is no longer running"
        # Move it aside, then check that what moved is what was judged stale: a run that took
        # the lock meanwhile gets it back.
        aside = self.path.with_name(f"{LOCK}.stale-{uuid.uuid4().hex[:12]}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return
        if _read_lock(aside) != info:
            with contextlib.suppress(OSError):
                os.link(aside, self.path)
            with contextlib.suppress(OSError):
                aside.unlink()
            return
        aside.unlink()
        self.log(f"note: took over {reason}")

    def release(self) -> None:
        """Remove the lock, if it is still ours."""
        if not self.held:
            return
        self.held = False
        info = _read_lock(self.path)
        if info is not None and info.get("token") == self.token:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        else:
            self.log(f"note: {shown(self.path)} is no longer this run's lock; left as it is")


# -- a full disk -------------------------------------------------------------------------

_NO_SPACE = ("No space left on device", "Disk quota exceeded")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _is_no_space(exc: BaseException) -> str | None:
    """The path an out-of-space failure names ('' when it names none), or None."""
    for e in _chain(exc):
        if isinstance(e, CuratorError):
            return None
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return str(e.filename or "")
        try:
            text = str(e)
        except Exception:  # a Py4J error whose JVM is gone cannot always render itself
            continue
        if any(s in text for s in _NO_SPACE):
            return ""
    return None


def free_space(path: str | os.PathLike) -> str:
    """Free bytes on the disk holding `path` (or its nearest existing parent), for people."""
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        free = shutil.disk_usage(p).free
    except OSError:
        return "free space unknown"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if free < 1024 or unit == "TiB":
            return f"{free:.0f} {unit} free" if unit == "B" else f"{free:.1f} {unit} free"
        free /= 1024
    raise AssertionError


def disk_full(exc: BaseException, where: str | os.PathLike) -> EnvironmentProblem | None:
    """An EnvironmentProblem for an out-of-space failure while writing under `where`."""
    named = _is_no_space(exc)
    if named is None:
        return None
    path = named or str(where)
    return EnvironmentProblem(
        f"no space left on the device while writing {path} ({free_space(path)}); "
        f"free some space and re-run the same command to resume (temporary files were removed)"
    )
