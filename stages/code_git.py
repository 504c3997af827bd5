"""Git repositories (a working tree or a bare clone) read through git at the source's `ref`:
`git ls-tree` lists the entries, `git cat-file --batch` reads the blobs, so what is committed
is read, not what lies in the working tree. `git_repo_tasks` turns a repository into tasks
(stages/code_source.code_tasks), `read_git_task` makes a task's rows (stages/code_rows.code_row).

Git is run with options and an environment the repository cannot steer (`_GIT_OPTIONS`,
`_git_env`: no hooks, no fsmonitor, no transport, none of the caller's GIT_* variables, no
system config, no discovery above the repository). A repository found inside an input folder
must keep git inside its own folder (`git_escape`: a real .git folder, git dir, common dir,
object store, links in it and alternates all inside), else it is one `code.escapes_repo`
row. `ls-tree` is streamed: a repository with more than max_archive_members entries is one
`code.repo_too_large` row, a path over MAX_TREE_RECORD that entry's `code.path_too_long`; a
repository git cannot read at `ref` is one `code.bad_repo` row. A blob is read through
`cat-file --batch` up to max_code_file_bytes + 1 (a licence up to max_license_bytes, at most
MAX_LICENSE_FILES of them), the rest drained or the process restarted.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from typing import Any

from curator.errors import InputError
from curator.tally import Tally
from stages import licenses
from stages.code_rows import MAX_LICENSE_FILES, chunks_of, code_row, content_matters, safe_row
from stages.local_files import kind_of, open_regular
from stages.reading import arrow_safe, error_text

_GIT_OPTIONS = ("-c", "core.fsmonitor=", "-c", "core.hooksPath=/dev/null", "-c", "protocol.allow=never",
                "-c", "core.sshCommand=false", "-c", "credential.helper=")
"""Options every git command here runs with, so a repository's own config cannot make a read
run a program or reach the network: no fsmonitor hook, no hooks, no transport at all (a
partial clone's lazy fetch of a missing object fails instead; `-c` reaches child gits
through GIT_CONFIG_PARAMETERS). Reads are raw (`ls-tree`, `cat-file --batch`: no textconv,
no filters, no pager)."""
MAX_TREE_RECORD = 16 << 10
"""Longest `ls-tree` record read (mode, type, sha, size and path); a longer path is that
entry's `code.path_too_long` and is streamed past, never held."""


class RepoTooLarge(Exception):
    """A repository with more tree entries than max_archive_members."""


def _git_env(repo_dir: str) -> dict[str, str]:
    """The environment of a git command: none of the caller's GIT_* variables (GIT_DIR,
    GIT_ALTERNATE_OBJECT_DIRECTORIES, ... would redirect the read), no system config, no
    prompts, and no discovery above the repository (GIT_CEILING_DIRECTORIES), so a folder that
    only looks like a repository never reads the one around it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_ATTR_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0", GIT_NO_LAZY_FETCH="1",
               GIT_PAGER="cat", GIT_CEILING_DIRECTORIES=os.path.dirname(os.path.abspath(repo_dir)))
    return env


def _git_cmd(repo_dir: str, *args: str) -> list[str]:
    return ["git", *_GIT_OPTIONS, "-C", repo_dir, *args]


def is_git_repo(path: str) -> bool:
    """A working tree (has .git, of any kind) or a bare clone (HEAD, objects/ and refs/ at its root)."""
    if os.path.lexists(os.path.join(path, ".git")):
        return True
    return all(os.path.exists(os.path.join(path, p)) for p in ("HEAD", "objects", "refs"))


def _git(repo_dir: str, *args: str, data: bytes | None = None) -> bytes:
    """The output of a short git command (rev-parse): small by nature."""
    proc = subprocess.run(_git_cmd(repo_dir, *args), input=data, capture_output=True, env=_git_env(repo_dir))
    if proc.returncode != 0:
        raise InputError(f"{repo_dir}: git {' '.join(args)} failed: {proc.stderr.decode(errors='replace').strip()[:300]}")
    return proc.stdout


def _inside(path: str, root: str) -> bool:
    real = os.path.realpath(path)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _alternates_escape(objects: str, root: str, depth: int = 0) -> str | None:
    """Why objects/info/alternates (followed as git does, up to 5 deep) reaches outside `root`."""
    path = os.path.join(objects, "info", "alternates")
    if not os.path.lexists(path):
        return None
    if depth >= 5:
        return f"{path}: alternates nested more than 5 deep"
    try:
        with open_regular(path, follow_symlinks=False) as f:
            text = f.read(64 << 10).decode("utf-8", "surrogateescape")
    except OSError as e:
        return f"{path}: {error_text(e)}"
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        other = os.path.join(objects, line)
        if line.startswith('"') or not _inside(other, root):
            return f"{path} borrows objects from {arrow_safe(line)[:200]}, outside the input folder"
        if why := _alternates_escape(other, root, depth + 1):
            return why
    return None


def _links_escape(objects: str, root: str, cap: int) -> str | None:
    """Why the object store holds a symbolic link that leads outside `root` (a pack or a
    loose object of another repository), checking at most `cap` entries."""
    stack, seen = [objects], 0
    while stack:
        with os.scandir(stack.pop()) as it:
            for e in it:
                seen += 1
                if seen > cap:
                    return f"{objects}: over {cap} entries to check"
                if e.is_symlink():
                    if not _inside(e.path, root):
                        return f"{arrow_safe(e.path)} is a link outside the input folder"
                elif e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
    return None


def git_escape(repo_dir: str, settings) -> str | None:
    """Why git, reading a repository found inside an input folder, could read another one on
    the machine (None when it cannot): its .git must be a real folder (a `gitdir:` file or a
    link points anywhere), git's own idea of the git dir and common dir must lie inside the
    repository's folder, and so must the object store, every link in it and every alternate
    object store. A repository the user named as an input is trusted like this as it is."""
    root = os.path.realpath(repo_dir)
    dot = os.path.join(repo_dir, ".git")
    try:
        st = os.lstat(dot)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISDIR(st.st_mode):
        return f"{arrow_safe(dot)} is {kind_of(st.st_mode) if not stat.S_ISREG(st.st_mode) else 'a file'}, not a folder (it can point at another repository)"
    out = _git(repo_dir, "rev-parse", "--path-format=absolute", "--git-dir", "--git-common-dir")
    dirs = out.decode("utf-8", "surrogateescape").splitlines()
    for d in dirs:
        if not _inside(d, root):
            return f"git reads {arrow_safe(d)[:200]}, outside the repository's folder"
    objects = os.path.join(dirs[-1], "objects")
    if not _inside(objects, root):
        return f"{arrow_safe(objects)} leads outside the repository's folder"
    return _alternates_escape(objects, root) or _links_escape(objects, root, 4 * settings.max_archive_members + 10_000)


def _repo_name(path: str) -> str:
    name = os.path.basename(os.path.abspath(path).rstrip("/"))
    return arrow_safe(name[:-4] if name.endswith(".git") else name)


def _nul_records(stream, max_len: int) -> Iterator[tuple[bytes, bool]]:
    """(record, cut) per NUL-terminated record of a stream, holding at most `max_len` bytes
    of one: a longer record yields its first `max_len` bytes with cut=True, the rest is read
    past in chunks."""
    buf, pos = b"", 0
    while True:
        i = buf.find(b"\0", pos)
        if i >= 0:
            yield (buf[pos:i], False) if i - pos <= max_len else (buf[pos:pos + max_len], True)
            pos = i + 1
            continue
        rest = buf[pos:]
        if len(rest) > max_len:
            head, buf, pos = rest[:max_len], b"", 0
            while chunk := stream.read(1 << 16):
                j = chunk.find(b"\0")
                if j >= 0:
                    buf, pos = chunk, j + 1
                    break
            yield head, True
            if not buf:
                return
            continue
        chunk = stream.read(1 << 16)
        if not chunk:
            if rest:
                yield rest, False
            return
        buf, pos = rest + chunk, 0


def git_tree(repo_dir: str, ref: str, max_entries: int | None = None) -> tuple[str, list[tuple[str, str, str, int | None, str]]]:
    """(commit sha, [(mode, type, object sha, size, path)]) of every entry at `ref`, streamed
    from `ls-tree` (a tree bomb of a few KB names millions of paths): past `max_entries`
    entries git is stopped and RepoTooLarge raised. Paths are decoded once, here, with
    backslash escapes for bytes that are not UTF-8 (a name as it is shown; the blob is read
    by its sha). A path over MAX_TREE_RECORD is type `path_too_long`, cut."""
    commit = _git(repo_dir, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}").decode().strip()
    import tempfile

    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(_git_cmd(repo_dir, "ls-tree", "-r", "-z", "-l", "--full-tree", commit),
                                stdout=subprocess.PIPE, stderr=err, env=_git_env(repo_dir))
        entries = []
        try:
            for item, cut in _nul_records(proc.stdout, MAX_TREE_RECORD):
                if not item:
                    continue
                if max_entries is not None and len(entries) >= max_entries:
                    raise RepoTooLarge(f"more than {max_entries} entries at {commit[:12]} (max_archive_members)")
                head, _, path = item.partition(b"\t")
                fields = head.decode("ascii", "replace").split()
                if len(fields) != 4:
                    raise InputError(f"{repo_dir}: git ls-tree gave an unexpected line {arrow_safe(item[:100])!r}")
                mode, typ, sha, size = fields
                entries.append((mode, "path_too_long" if cut else typ, sha, None if size == "-" else int(size),
                                path.decode("utf-8", "backslashreplace")))
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            code = proc.wait()
        if code != 0:
            err.seek(0)
            raise InputError(f"{repo_dir}: git ls-tree failed: {err.read(300).decode(errors='replace').strip()}")
    return commit, entries


class GitBlobs:
    """Reads blobs through one `git cat-file --batch` process, at most `limit` bytes of each.
    The rest of a longer blob is drained in chunks when it is short, else the process is
    killed and restarted on the next read (cheaper than piping a gigabyte through)."""

    DRAIN = 1 << 20

    def __init__(self, repo_dir: str):
        self.repo_dir = repo_dir
        self.proc: subprocess.Popen | None = None

    def read(self, sha: str, limit: int) -> bytes:
        if self.proc is None:
            self.proc = subprocess.Popen(_git_cmd(self.repo_dir, "cat-file", "--batch"), env=_git_env(self.repo_dir),
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        proc = self.proc
        try:
            proc.stdin.write(sha.encode() + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline(1024).split()
            if header[1:] == [b"missing"]:  # the process is still in step: keep it
                raise FileNotFoundError(f"git cat-file: no object {sha}")
            if len(header) != 3:
                raise OSError(f"git cat-file: unexpected answer {b' '.join(header)[:200]!r} for {sha}")
            size = int(header[2])
            data = proc.stdout.read(min(size, limit))
            if len(data) != min(size, limit):
                raise OSError(f"git cat-file: {sha} ended early")
            rest = size - len(data) + 1  # and the newline after the content
            if rest > self.DRAIN:
                self._kill()
                return data
            while rest > 0:
                chunk = proc.stdout.read(min(rest, 1 << 16))
                if not chunk:
                    raise OSError(f"git cat-file: {sha} ended early")
                rest -= len(chunk)
            return data
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as e:
            self._kill()
            raise OSError(str(e)) from None

    def _kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                try:
                    pipe.close()
                except OSError:
                    pass

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass
            proc.stdout.close()
            proc.wait()


def _git_tasks(repo_dir: str, ref: str, settings) -> list[dict]:
    repo = _repo_name(repo_dir)
    commit, entries = git_tree(repo_dir, ref, settings.max_archive_members)
    texts: dict[str, str] = {}
    blobs = GitBlobs(repo_dir)
    try:
        for mode, typ, sha, _, p in entries:
            if typ == "blob" and mode != "120000" and licenses.is_license_file(p) and len(texts) < MAX_LICENSE_FILES:
                try:
                    texts[p] = blobs.read(sha, settings.max_license_bytes).decode("utf-8", "replace")
                except OSError:  # a blob missing from a partial clone counts as absent
                    continue
    finally:
        blobs.close()
    license_id = licenses.detect(texts)
    cap = settings.max_code_file_bytes

    def weight(e) -> int:  # the bytes the entry's reader will read
        mode, typ, _, size, _ = e
        return size if typ == "blob" and mode != "120000" and size is not None and size <= cap else 0

    chunks = chunks_of(entries, weight, settings.files_per_task, settings.bytes_per_task) or [[]]
    return [
        {"type": "git", "dir": os.path.abspath(repo_dir), "repo": repo, "commit": commit,
         "license": license_id, "entries": chunk}
        for chunk in chunks
    ]


def _repo_task(repo_dir: str, reason: str, error: str) -> dict:
    return {"type": "bad_repo", "reason": reason, "dir": os.path.abspath(repo_dir), "repo": _repo_name(repo_dir),
            "error": arrow_safe(error)[:500]}


def git_repo_tasks(repo_dir: str, ref: str, settings, confine: bool = False) -> list[dict]:
    """A repository git cannot read at `ref` (empty, broken, no such ref) becomes one
    `code.bad_repo` row instead of stopping a run over thousands of repositories; one with
    more than max_archive_members entries one `code.repo_too_large` row; with `confine` (a
    repository found inside an input folder), one that could make git read outside its
    folder (see `git_escape`) one `code.escapes_repo` row. All are file-level rows."""
    try:
        if confine and (why := git_escape(repo_dir, settings)):
            return [_repo_task(repo_dir, "escapes_repo", why)]
        return _git_tasks(repo_dir, ref, settings)
    except RepoTooLarge as e:
        return [_repo_task(repo_dir, "repo_too_large", str(e))]
    except InputError as e:
        return [_repo_task(repo_dir, "bad_repo", str(e))]
    except OSError as e:
        return [_repo_task(repo_dir, "bad_repo", error_text(e))]


def _git_row(blobs: GitBlobs, entry, repo: str, args: tuple, extra: dict) -> dict[str, Any]:
    mode, typ, sha, size, path = entry
    settings, license_id, allow = args[2], args[3], args[4]
    cap = settings.max_code_file_bytes
    if typ == "commit":
        return code_row(repo, path, None, *args, sha, extra, "submodule")
    if typ == "path_too_long":
        return code_row(repo, path, None, *args, sha, extra, "path_too_long")
    if mode == "120000":
        return code_row(repo, path, None, *args, sha, extra, "symlink")
    if size is not None and size > cap:
        return code_row(repo, path, None, *args, sha, {**extra, "bytes": str(size)})
    if not content_matters(path, license_id, allow):
        return code_row(repo, path, None, *args, sha, extra)
    data = blobs.read(sha, cap + 1)
    if len(data) > cap:
        return code_row(repo, path, None, *args, sha, {**extra, "bytes": str(max(size or 0, len(data)))})
    return code_row(repo, path, data, *args, sha, extra)


def read_git_task(task, source, domain, settings, allow, tally: Tally) -> Iterator[dict[str, Any]]:
    repo, args = task["repo"], (source, domain, settings, task["license"], allow)
    blobs = GitBlobs(task["dir"])
    try:
        for entry in task["entries"]:
            record = tally.take()
            extra = {"commit": task["commit"], "record": record}
            yield safe_row(record, lambda: _git_row(blobs, entry, repo, args, extra),
                           lambda err: code_row(repo, entry[4], None, *args, entry[2], {**extra, "error": err}, "unreadable"),
                           source, domain, f"{task['dir']}#{record}")
    finally:
        blobs.close()

