"""Code -> document rows (domain `code`): git repositories read at a ref, plain folders,
tar/zip archives of repositories, and Parquet/JSONL datasets in The Stack's layout.

Listing (on the driver, `code_tasks`) turns each input into tasks: a git repository (a
working tree or a bare clone) is read through git at the source's `ref`
(stages/code_git.py); a folder that is not a repository has one repository per folder inside
it (each read through git when it is one); an archive (stages/code_archives.py) or a dataset
file (stages/code_datasets.py) is one task, read one record at a time. `read_code_task` makes
a task's rows. Every file leaves a row, built by the rules all readers share
(stages/code_rows.py): kept, or dropped with a `code.*` reason. Each repository's licence is
detected from a prefix of max_license_bytes of at most MAX_LICENSE_FILES root licence files.
Every record taken from an input (file, git entry, archive member, dataset record) is counted
on the task's Tally (curator/tally.py) and numbered in meta["record"]. A code input that is
neither a folder nor a regular file is a one-line InputError.

Plain folders are read here. Names are decoded once where they are listed (non-UTF-8 bytes
become `\\xNN` escapes; the bytes path is kept to open the file). A subfolder that cannot be
listed is that folder's `code.unreadable` row. A file is read with
read(max_code_file_bytes + 1), a licence with read(max_license_bytes), and only a regular
file is read: checked with lstat, opened O_NONBLOCK|O_NOFOLLOW and checked again with fstat
(same st_dev/st_ino, still regular), so a FIFO, socket or device node is `code.not_a_file`
and never blocks. Hard links: a regular file with st_nlink > 1 is read only when all of its
links were found inside the same input folder during the walk (counted by st_dev/st_ino);
otherwise one of its names lies outside the tree, and like a symlink that escapes it is
`code.escapes_repo` (a link elsewhere cannot be found cheaply, so an unproven one counts as
escaping).
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Iterator
from typing import Any

from curator.errors import InputError
from curator.tally import Tally
from stages import code_archives, licenses
from stages.code_archives import ARCHIVE_EXTS
from stages.code_datasets import DATASET_EXTS, read_dataset
from stages.code_git import GitBlobs, git_escape, git_repo_tasks, git_tree, is_git_repo, read_git_task
from stages.code_rows import MAX_LICENSE_FILES, chunks_of, code_row, language_of, path_skip_reason, safe_row
from stages.local_files import kind_of
from stages.reading import arrow_safe, error_text

__all__ = [  # what other modules and tests import from here (some of it lives in the modules above)
    "GitBlobs", "code_row", "code_tasks", "git_escape", "git_tree", "is_git_repo", "language_of",
    "list_code_files", "path_skip_reason", "read_code", "read_code_file", "read_code_task", "safe_row",
    "task_files",
]

# -- plain folders (working-tree walk) -------------------------------------------------------

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


def list_code_files(root: str, skip: set[str] = frozenset()) -> list[tuple]:
    """(repo, path inside repo, absolute path) for every file below root, sorted; .git and
    the folders directly inside root named in `skip` (read through git instead) are skipped;
    links to folders are listed as files (their row says `code.symlink`). repo and path are
    names to show, decoded once here (a byte that is not UTF-8 becomes a `\\xNN` escape);
    the absolute path keeps the bytes (surrogateescape) to open the file by. A subfolder that
    cannot be listed (permission denied, removed meanwhile) is listed as
    (repo, path, absolute path, error) and becomes that folder's `code.unreadable` row."""
    root = os.path.abspath(root)
    single_repo = os.path.isdir(os.path.join(root, ".git"))
    out = []

    def names(full: str) -> tuple[str, str]:
        rel = os.path.relpath(full, root)
        if single_repo:
            repo, path = os.path.basename(root), rel
        else:
            parts = rel.split(os.sep, 1)
            repo, path = (parts[0], parts[1]) if len(parts) == 2 else (os.path.basename(root), rel)
        return arrow_safe(repo), arrow_safe(path.replace(os.sep, "/"))

    def failed(e: OSError) -> None:
        full = e.filename if isinstance(e.filename, str) else root
        out.append((*names(full), full, error_text(e)))

    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=failed):
        at_root = dirpath == root
        kept = [d for d in dirnames if d != ".git" and not (at_root and d in skip)]
        linked = [d for d in kept if os.path.islink(os.path.join(dirpath, d))]
        dirnames[:] = sorted(d for d in kept if d not in linked)
        for name in sorted(filenames + linked):
            full = os.path.join(dirpath, name)
            out.append((*names(full), full))
    return out


def _stat_files(files) -> list[list]:
    """[repo, path, full, size, links] per file: size is 0 for what is not a regular file;
    links is [st_dev, st_ino, links to it found among `files`] for a file with several. A
    folder that could not be listed keeps its error as a sixth item."""
    stats = []
    seen: Counter = Counter()
    for repo, path, full, *error in files:
        try:
            st = None if error else os.lstat(full)
        except OSError:
            st = None
        stats.append((repo, path, full, st, error))
        if st is not None and stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
            seen[(st.st_dev, st.st_ino)] += 1
    out = []
    for repo, path, full, st, error in stats:
        regular = st is not None and stat.S_ISREG(st.st_mode)
        links = [st.st_dev, st.st_ino, seen[(st.st_dev, st.st_ino)]] if regular and st.st_nlink > 1 else None
        out.append([repo, path, full, st.st_size if regular else 0, links, *error])
    return out


def _file_reason(st: os.stat_result, links) -> str | None:
    """Why a file is not read: not a regular file, or a hard link whose other names are not
    all inside the input folder (see the module docstring)."""
    if stat.S_ISLNK(st.st_mode):
        return "symlink"
    if not stat.S_ISREG(st.st_mode):
        return "not_a_file"
    if st.st_nlink > 1 and not (links and links[0] == st.st_dev and links[1] == st.st_ino and st.st_nlink <= links[2]):
        return "escapes_repo"
    return None


def _open_checked(full: str, st: os.stat_result, links) -> int:
    """A descriptor of the regular file `st` describes (non-blocking, so a FIFO swapped in
    never hangs the open; fstat then shows it is the same regular file)."""
    fd = os.open(full, _OPEN_FLAGS)
    try:
        fst = os.fstat(fd)
        if (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino) or _file_reason(fst, links):
            raise OSError(f"{full}: changed while being opened")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read_fd(fd: int, limit: int) -> bytes:
    chunks, left = [], limit
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_prefix(full: str, links, limit: int) -> bytes | None:
    """At most `limit` bytes of a regular file, or None when it is not one or cannot be read."""
    try:
        st = os.lstat(full)
        if _file_reason(st, links):
            return None
        fd = _open_checked(full, st, links)
    except OSError:
        return None
    try:
        return _read_fd(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def _folder_licenses(entries: list[list], settings) -> dict[str, str]:
    texts: dict[str, dict[str, str]] = {}
    for repo, path, full, _, links, *error in entries:
        if not error and licenses.is_license_file(path) and len(texts.setdefault(repo, {})) < MAX_LICENSE_FILES:
            data = _read_prefix(full, links, settings.max_license_bytes)
            if data is not None:
                texts[repo][path] = data.decode("utf-8", "replace")
    return {repo: licenses.detect(texts.get(repo, {})) for repo, *_ in entries}


def read_code_file(repo: str, path: str, full: str, source: str, domain: str, settings,
                   license_id: str = licenses.NONE, allow=("*",), links=None, record: str | None = None) -> dict[str, Any]:
    """The row of one file of a plain folder: only a regular file is opened, and at most
    max_code_file_bytes + 1 bytes of it are read."""
    args = (source, domain, settings, license_id, allow)
    extra = {} if record is None else {"record": record}
    cap = settings.max_code_file_bytes
    try:
        st = os.lstat(full)
        why = _file_reason(st, links)
        if why:
            return code_row(repo, path, None, *args, extra=extra, reason=why)
        if st.st_size > cap:
            return code_row(repo, path, None, *args, extra={**extra, "bytes": str(st.st_size)})
        fd = _open_checked(full, st, links)
        try:
            data = _read_fd(fd, cap + 1)
        finally:
            os.close(fd)
    except OSError as e:
        return code_row(repo, path, None, *args, extra={**extra, "error": error_text(e)}, reason="unreadable")
    if len(data) > cap:  # it grew since it was listed
        return code_row(repo, path, None, *args, extra={**extra, "bytes": str(len(data))})
    return code_row(repo, path, data, *args, extra=extra)


def read_code(files, source: str, domain: str, settings, repo_licenses: dict[str, str] | None = None,
              allow=("*",), tally: Tally | None = None) -> Iterator[dict[str, Any]]:
    """Rows of files listed by `code_tasks` ([repo, path, full, size, links]) or by
    `list_code_files` ((repo, path, full): their links are counted among them here)."""
    tally = tally if tally is not None else Tally()
    entries = [list(f) for f in files]
    if entries and len(entries[0]) < 5:
        entries = _stat_files(entries)
    args = (source, domain, settings)
    for repo, path, full, _, links, *error in entries:
        lic = (repo_licenses or {}).get(repo, licenses.NONE)
        record = tally.take()
        if error:  # a folder that could not be listed
            build = lambda: code_row(repo, path, None, *args, lic, allow,  # noqa: E731
                                     extra={"record": record, "error": error[0]}, reason="unreadable")
        else:
            build = lambda: read_code_file(repo, path, full, *args, lic, allow, links, record)  # noqa: E731
        yield safe_row(record, build,
                       lambda err: code_row(repo, path, None, *args, lic, allow,
                                            extra={"record": record, "error": err}, reason="unreadable"),
                       source, domain, f"{full}#{record}")


# -- archives (stages/code_archives.py) ------------------------------------------------------

def _read_archive(path, source, domain, settings, allow, tally: Tally) -> Iterator[dict[str, Any]]:
    """Files of a tar or zip archive of one repository, one member at a time."""
    sv = code_archives.survey(path, settings)
    if sv.too_large:
        yield _archive_too_large(path, sv.repo, source, domain, settings, allow,
                                 f"over {settings.max_archive_members} members or {settings.max_archive_bytes} "
                                 f"bytes declared (seen: {sv.members} members, {sv.declared} bytes)")
        return
    license_id = licenses.detect(sv.licence_texts)
    args = (source, domain, settings, license_id, allow)
    cap = settings.max_code_file_bytes
    def build(item, extra) -> dict[str, Any]:
        if item.reason:
            return code_row(sv.repo, item.path, None, *args, extra=extra, reason=item.reason)
        if item.data is None or len(item.data) > cap:
            size = max(item.size, len(item.data or b""))
            return code_row(sv.repo, item.path, None, *args, extra={**extra, "bytes": str(size)} if size > cap else extra)
        return code_row(sv.repo, item.path, item.data, *args, extra=extra)

    for item in code_archives.read_items(path, sv, settings, tally.take):
        extra = {"archive": path, "record": item.record}
        if item.error:
            extra["error"] = item.error
        yield safe_row(item.record, lambda: build(item, extra),
                       lambda err: code_row(sv.repo, item.path, None, *args, extra={**extra, "error": err},
                                            reason="unreadable"),
                       source, domain, f"{path}#{item.record}")


def _archive_too_large(path, repo, source, domain, settings, allow, why: str) -> dict[str, Any]:
    return code_row(repo, f"{os.path.basename(path)}#archive_too_large", None, source, domain, settings,
                    licenses.NONE, allow, extra={"archive": path, "error": why}, reason="archive_too_large")


def _guard(path, source, domain, settings, allow, tally: Tally) -> Iterator[dict[str, Any]]:
    """A broken archive leaves one `code.corrupt` row (after the rows read before it broke)."""
    n = 0
    try:
        for row in _read_archive(path, source, domain, settings, allow, tally):
            n += 1
            yield row
    except code_archives.ArchiveTooLarge as e:
        yield _archive_too_large(path, "?", source, domain, settings, allow, str(e))
    except Exception as e:  # noqa: BLE001 - any structural error ends this archive, not the task
        yield code_row("?", f"{os.path.basename(path)}#corrupt@{n}", None, source, domain, settings,
                       licenses.NONE, allow, extra={"archive": path, "error": error_text(e)}, reason="corrupt")



# -- tasks -----------------------------------------------------------------------------------

def code_tasks(path: str, ref: str, settings) -> list[dict]:
    """The Spark tasks of one code input (listed on the driver). `settings` is the
    ExtractSettings (a bare number is taken as files_per_task, the other caps default). A
    folder or repository is split into tasks of at most files_per_task files and
    bytes_per_task bytes (sizes as listed; a file over max_code_file_bytes counts 0, it is
    not read); an archive or dataset is one task whose rows are made one at a time."""
    if isinstance(settings, int):
        from curator.manifest import ExtractSettings

        settings = ExtractSettings(files_per_task=settings)
    try:
        st = os.stat(path)
    except OSError as e:
        raise InputError(f"{arrow_safe(path)}: cannot read this code input ({error_text(e)})") from None
    if stat.S_ISREG(st.st_mode):
        low = path.lower()
        if low.endswith(ARCHIVE_EXTS):
            return [{"type": "archive", "path": path}]
        if low.endswith(DATASET_EXTS):
            return [{"type": "dataset", "path": path}]
        raise InputError(f"{arrow_safe(path)}: a code input must be a folder, a tar/zip archive or a .parquet/.jsonl dataset")
    if not stat.S_ISDIR(st.st_mode):
        raise InputError(f"{arrow_safe(path)}: a code input must be a folder, a tar/zip archive or a "
                            f".parquet/.jsonl dataset, not {kind_of(st.st_mode)}")
    if is_git_repo(path):
        return git_repo_tasks(path, ref, settings)
    try:
        repos = [os.path.join(path, n) for n in sorted(os.listdir(path))]
    except OSError as e:
        raise InputError(f"{arrow_safe(path)}: cannot list this code folder ({error_text(e)}); "
                            f"check its permissions") from None
    git_children = [c for c in repos if os.path.isdir(c) and not os.path.islink(c) and is_git_repo(c)]
    tasks: list[dict] = []
    for child in git_children:
        tasks.extend(git_repo_tasks(child, ref, settings, confine=True))
    plain = _stat_files(list_code_files(path, skip={os.path.basename(c) for c in git_children}))
    # A .parquet file in a plain folder is a dataset (The Stack's `data/<language>/*.parquet`
    # as downloaded), never source code: one dataset task each, like a .parquet input.
    tasks.extend({"type": "dataset", "path": e[2]} for e in plain if _is_parquet(e))
    plain = [e for e in plain if not _is_parquet(e)]
    lic = _folder_licenses(plain, settings)
    cap = settings.max_code_file_bytes
    for chunk in chunks_of(plain, lambda e: e[3] if e[3] <= cap else 0, settings.files_per_task, settings.bytes_per_task):
        tasks.append({"type": "files", "files": chunk, "licenses": {e[0]: lic[e[0]] for e in chunk}})
    return tasks


def _is_parquet(entry: list) -> bool:
    """A regular, non-empty file named *.parquet with no other hard link (from _stat_files):
    links and hard links keep their `code.symlink` / `code.escapes_repo` rows."""
    return len(entry) == 5 and entry[3] > 0 and entry[4] is None and str(entry[2]).lower().endswith(".parquet")


def task_files(task: dict) -> list[str]:
    """Local files a task reads (for the run's input fingerprint)."""
    if task["type"] == "files":
        return [e[2] for e in task["files"]]
    if task["type"] in ("archive", "dataset"):
        return [task["path"]]
    return []


def read_code_task(task: dict, source: str, domain: str, settings, allow,
                   tally: Tally | None = None) -> Iterator[dict[str, Any]]:
    """The rows of one task; each record taken from the input is counted on `tally` and
    numbered in meta["record"] (rows about a whole file or repository carry none)."""
    tally = tally if tally is not None else Tally()
    kind = task["type"]
    if kind == "bad_repo":
        return iter([code_row(task["repo"], "", None, source, domain, settings, licenses.NONE, allow,
                              extra={"repo_dir": task["dir"], "error": task["error"]},
                              reason=task.get("reason", "bad_repo"))])
    if kind == "git":
        return read_git_task(task, source, domain, settings, allow, tally)
    if kind == "files":
        return read_code(task["files"], source, domain, settings, task["licenses"], allow, tally)
    if kind == "archive":
        return _guard(task["path"], source, domain, settings, allow, tally)
    return read_dataset(task["path"], source, domain, settings, allow, tally)

