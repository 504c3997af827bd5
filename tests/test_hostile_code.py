"""Hostile code inputs (issue 14): gigabyte licence files, archives that expand past their
caps or hold a corrupt member, FIFOs, device nodes and hard links in plain folders, tasks
split by bytes, and every record taken from an input counted once. Each test builds its
input; the big ones are made of repeated deflate blocks or loose git objects written
directly, so nothing here writes or holds a gigabyte, and memory is measured in a child."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tarfile
import textwrap
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path

import pytest

from curator.manifest import ExtractSettings
from curator.tally import Tally
from stages import code_archives
from stages.code_git import GitBlobs
from stages.code_source import code_tasks, read_code_task
from tests.conftest import ROOT
from tests.licence_texts import MIT as MIT_TEXT

CHUNK = 1 << 24
GIB = 1 << 30
MIT = MIT_TEXT.encode()
MAIN = b"def main():\n    return 'hello'\n"
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


# -- builders --------------------------------------------------------------------------------

def git(cwd, *args) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
           "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True).stdout.decode().strip()


def git_repo(path: Path, files: dict[str, bytes]) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for name, data in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    git(path, "add", "-A")
    git(path, "commit", "-qm", "files")
    return path


def _flushed(data: bytes, mode: int) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(mode)


def deflate_then_fill(prefix: bytes, n_fill: int, fill: bytes = b"\n") -> tuple[bytes, int, int]:
    """(raw deflate, crc32, size) of prefix + n_fill copies of `fill` (blank lines by default,
    so a licence text before them reads as that licence alone), built from one repeated
    self-contained block of CHUNK bytes."""
    assert n_fill % CHUNK == 0
    block = fill * CHUNK
    crc = zlib.crc32(prefix)
    for _ in range(n_fill // CHUNK):
        crc = zlib.crc32(block, crc)
    raw = _flushed(prefix, zlib.Z_FULL_FLUSH) + _flushed(block, zlib.Z_FULL_FLUSH) * (n_fill // CHUNK)
    return raw + _flushed(b"", zlib.Z_FINISH), crc, len(prefix) + n_fill


def write_zip(path: Path, members: list[tuple[str, bytes, int, int, int]]) -> None:
    """A zip from (name, compressed bytes, crc32, size, method) members, as given."""
    out, central = io.BytesIO(), io.BytesIO()
    for name, raw, crc, size, method in members:
        offset = out.tell()
        n = name.encode()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 33, crc, len(raw), size, len(n), 0))
        out.write(n + raw)
        central.write(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 0x314, 20, 0, method, 0, 33, crc, len(raw), size,
                                  len(n), 0, 0, 0, 0, 0o100644 << 16, offset) + n)
    cd = central.getvalue()
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(cd), out.tell(), 0)
    path.write_bytes(out.getvalue() + cd + end)


def stored(name: str, data: bytes) -> tuple[str, bytes, int, int, int]:
    return name, data, zlib.crc32(data), len(data), 0


def big_licence_zip(path: Path, n_fill: int) -> None:
    raw, crc, size = deflate_then_fill(MIT, n_fill)
    write_zip(path, [("repo/LICENSE", raw, crc, size, 8), stored("repo/main.py", MAIN)])


def big_licence_tgz(path: Path, n_fill: int) -> None:
    """repo/LICENSE (MIT, padded to a block, then n_fill blank lines) and repo/main.py."""
    text = MIT + b"\n" * (-len(MIT) % 512)
    info = tarfile.TarInfo("repo/LICENSE")
    info.size = len(text) + n_fill
    tail = io.BytesIO()
    with tarfile.open(fileobj=tail, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        ti = tarfile.TarInfo("repo/main.py")
        ti.size = len(MAIN)
        tf.addfile(ti, io.BytesIO(MAIN))
    raw, crc, size = deflate_then_fill(info.tobuf(format=tarfile.USTAR_FORMAT) + text, n_fill)
    raw = raw[:-len(_flushed(b"", zlib.Z_FINISH))] + _flushed(tail.getvalue(), zlib.Z_FINISH)
    crc, size = zlib.crc32(tail.getvalue(), crc), size + len(tail.getvalue())
    path.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + raw + struct.pack("<II", crc, size & 0xFFFFFFFF))


def big_licence_repo(path: Path, n_fill: int) -> Path:
    """A repository whose committed LICENSE is MIT + n_fill blank lines: the loose object is
    written directly (repeated deflate blocks), then added to the index by its id, so git
    never reads it."""
    repo = git_repo(path, {"main.py": MAIN})
    block = b"\n" * CHUNK
    head = b"blob %d\0" % (len(MIT) + n_fill) + MIT
    sha, adler = hashlib.sha1(head), zlib.adler32(head)
    for _ in range(n_fill // CHUNK):
        sha.update(block)
        adler = zlib.adler32(block, adler)
    raw = (_flushed(head, zlib.Z_FULL_FLUSH) + _flushed(block, zlib.Z_FULL_FLUSH) * (n_fill // CHUNK)
           + _flushed(b"", zlib.Z_FINISH))
    oid = sha.hexdigest()
    (repo / ".git" / "objects" / oid[:2]).mkdir(exist_ok=True)
    (repo / ".git" / "objects" / oid[:2] / oid[2:]).write_bytes(b"\x78\x01" + raw + struct.pack(">L", adler))
    git(repo, "update-index", "--add", "--cacheinfo", f"100644,{oid},LICENSE")
    git(repo, "commit", "-qm", "licence")
    return repo


def rows_of(path, settings=None, allow=("*",), tally=None) -> list[dict]:
    s = settings or ExtractSettings()
    tasks = [json.loads(json.dumps(t)) for t in code_tasks(str(path), "HEAD", s)]  # as the pipeline ships them
    return [row for t in tasks for row in read_code_task(t, "gh", "code", s, list(allow), tally)]


def reasons(rows) -> dict[str, str | None]:
    return {r["meta"]["path"]: r["drop_reason"] for r in rows}


def in_child(path: Path, overrides: dict, allow=("MIT",)) -> dict:
    """Lists and reads one code input in a fresh interpreter: its rows and peak RSS."""
    script = textwrap.dedent(f"""
        import json, resource, sys
        sys.path.insert(0, {str(ROOT)!r})
        from curator.manifest import ExtractSettings
        from stages.code_source import code_tasks, read_code_task
        s = ExtractSettings(**{overrides!r})
        rows = []
        for t in code_tasks({str(path)!r}, "HEAD", s):
            for r in read_code_task(t, "gh", "code", s, {list(allow)!r}):
                rows.append([r["meta"]["path"], r["drop_reason"], r["meta"].get("license"), len(r["text"])])
        print(json.dumps({{"rows": rows, "rss_mb": int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024}}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@contextmanager
def deadline(seconds: int):
    """Fails (instead of hanging) when a blocking open or read outlasts `seconds`."""
    def expired(*_):
        raise TimeoutError(f"still blocked after {seconds}s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# -- 1. licence files: a prefix only -----------------------------------------------------------

@needs_git
def test_only_a_prefix_of_a_licence_is_read_in_every_input_kind(tmp_path):
    """MIT text placed after max_license_bytes of blank lines is not seen (the old code read
    the whole file, or 1 MiB of it in a plain folder, and found MIT)."""
    text = b"\n" * 6000 + MIT
    s = ExtractSettings(max_license_bytes=4096)
    folder = tmp_path / "plain" / "proj"
    folder.mkdir(parents=True)
    (folder / "LICENSE").write_bytes(text)
    (folder / "main.py").write_bytes(MAIN)
    repo = git_repo(tmp_path / "repo", {"LICENSE": text, "main.py": MAIN})
    zpath = tmp_path / "proj.zip"
    write_zip(zpath, [stored("proj/LICENSE", text), stored("proj/main.py", MAIN)])
    tpath = tmp_path / "proj.tar.gz"
    with tarfile.open(tpath, "w:gz") as tf:
        for name, data in [("proj/LICENSE", text), ("proj/main.py", MAIN)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    for path in (folder.parent, repo, zpath, tpath):
        licences = {r["meta"]["license"] for r in rows_of(path, s)}
        assert len(licences) == 1 and "MIT" not in licences.pop(), (path, licences)
        assert {r["meta"]["license"] for r in rows_of(path)} == {"MIT"}, path  # default prefix: 128 KiB


@needs_git
@pytest.mark.parametrize("kind", ["git", "zip", "tgz"])
def test_a_gigabyte_licence_costs_a_prefix_not_a_gigabyte(tmp_path, kind):
    """A 1 GiB LICENSE in a repository or archive: the licence (MIT, at its start) is found,
    main.py is kept, and the reading process stays under 200 MB (the old code read it whole:
    MemoryError, or the driver killed while listing)."""
    if kind == "git":
        path = big_licence_repo(tmp_path / "bigrepo", GIB)
    else:
        path = tmp_path / f"bigrepo.{'zip' if kind == 'zip' else 'tar.gz'}"
        (big_licence_zip if kind == "zip" else big_licence_tgz)(path, GIB)
    assert path.is_dir() or path.stat().st_size < 20 << 20
    out = in_child(path, {"max_archive_bytes": 2 * GIB})
    rows = {p: (reason, lic) for p, reason, lic, _ in out["rows"]}
    assert rows["main.py"] == (None, "MIT") and rows["LICENSE"][0] == "code.unknown_extension", rows
    assert out["rss_mb"] < 200, out["rss_mb"]


# -- 2. archive caps -----------------------------------------------------------------------------

def test_an_archive_over_its_declared_caps_is_one_archive_too_large_row(tmp_path):
    """Decided from the survey, before any member is read: one file-level row, no record."""
    zpath = tmp_path / "proj.zip"
    write_zip(zpath, [stored(f"proj/m{k}.py", MAIN) for k in range(5)])
    tally = Tally()
    rows = rows_of(zpath, ExtractSettings(max_archive_bytes=4 * len(MAIN)), tally=tally)
    assert [r["drop_reason"] for r in rows] == ["code.archive_too_large"]
    assert "record" not in rows[0]["meta"] and tally.read == 0
    rows = rows_of(zpath, ExtractSettings(max_archive_members=4))
    assert [r["drop_reason"] for r in rows] == ["code.archive_too_large"]
    assert [r["drop_reason"] for r in rows_of(zpath, ExtractSettings(max_archive_members=5))] == [None] * 5
    # a declared-size bomb: 4 GiB of zeros in a small file is refused by default, unread
    bomb = tmp_path / "bomb.zip"
    raw, crc, size = deflate_then_fill(b"x = 1\n", GIB, b"\0")
    write_zip(bomb, [(f"bomb/f{k}.py", raw, crc, size, 8) for k in range(4)])
    assert [r["drop_reason"] for r in rows_of(bomb)] == ["code.archive_too_large"]


def test_bytes_actually_read_are_capped_whatever_the_survey_said(tmp_path):
    """Pass two counts the bytes it reads: once they would pass max_archive_bytes, that member
    and every one after it are archive_too_large (here the survey is skipped, as if the
    declared sizes had lied)."""
    zpath = tmp_path / "proj.zip"
    body = b"x = 1\n" * 100
    write_zip(zpath, [stored(f"proj/m{k}.py", body) for k in range(5)])
    s = ExtractSettings(max_archive_bytes=2 * len(body) + 10)
    sv = code_archives.Survey(repo="proj", strip=1)
    tally = Tally()
    items = list(code_archives.read_items(str(zpath), sv, s, tally.take))
    assert [(i.path, i.reason, len(i.data or b"")) for i in items] == [
        ("m0.py", None, 600), ("m1.py", None, 600), ("m2.py", "archive_too_large", 0),
        ("m3.py", "archive_too_large", 0), ("m4.py", "archive_too_large", 0)]
    assert [i.record for i in items] == ["0", "1", "2", "3", "4"]


def test_a_member_is_read_at_most_one_byte_past_the_file_cap(tmp_path, monkeypatch):
    """Whatever a header says, a member read asks for max_code_file_bytes + 1 bytes."""
    zpath = tmp_path / "proj.zip"
    write_zip(zpath, [stored("proj/a.py", b"x = 1\n" * 50)])
    asked = []
    real = zipfile.ZipExtFile.read

    def spy(self, n=-1):
        asked.append(n)
        return real(self, n)

    monkeypatch.setattr(zipfile.ZipExtFile, "read", spy)
    rows = rows_of(zpath, ExtractSettings(max_code_file_bytes=1000))
    assert [r["drop_reason"] for r in rows] == [None] and asked == [1001]


def test_archive_rows_are_made_one_member_at_a_time(tmp_path):
    """1,000 members of ~1 MB of code each (~1 GB of text from a small zip): every one kept,
    and the reader never holds more than a few of them (peak RSS under 200 MB)."""
    line = b"value = compute(1, 2, 3)  # a line of code\n"
    body = line * (990_000 // len(line))
    raw = _flushed(body, zlib.Z_FINISH)
    zpath = tmp_path / "many.zip"
    write_zip(zpath, [(f"many/pkg/mod_{k:04d}.py", raw, zlib.crc32(body), len(body), 8) for k in range(1000)])
    assert zpath.stat().st_size < 5 << 20
    out = in_child(zpath, {}, allow=("*",))
    assert len(out["rows"]) == 1000 and all(r[1] is None and r[3] == len(body) for r in out["rows"])
    assert out["rss_mb"] < 200, out["rss_mb"]


# -- 3. tasks split by bytes ---------------------------------------------------------------------

@needs_git
def test_folders_and_repositories_are_split_into_tasks_by_bytes(tmp_path):
    files = {f"m{k}.py": b"x = 1\n" * 200 for k in range(6)}  # 1200 bytes each
    files["huge.py"] = b"y = 2\n" * 2000  # over the file cap below: not read, weighs nothing
    s = ExtractSettings(bytes_per_task=2500, max_code_file_bytes=5000)
    folder = tmp_path / "plain" / "proj"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    repo = git_repo(tmp_path / "repo", files)
    for path, key in ((folder.parent, "files"), (repo, "entries")):
        tasks = code_tasks(str(path), "HEAD", s)
        sizes = [len(t[key]) for t in tasks]
        assert sum(sizes) == 7 and max(sizes) <= 3 and len(tasks) == 3, sizes
        rows = [r for t in tasks for r in read_code_task(t, "gh", "code", s, ["*"])]
        assert reasons(rows) == {**{f"m{k}.py": None for k in range(6)}, "huge.py": "code.too_large"}
    assert len(code_tasks(str(folder.parent), "HEAD", ExtractSettings(files_per_task=2))) == 4
    assert len(code_tasks(str(folder.parent), "HEAD", 2)) == 4  # the old call: files_per_task


# -- 4. and 5. plain folders: regular files only, hard links inside the tree only -----------------

def test_fifos_sockets_and_devices_are_not_a_file_and_never_block(tmp_path, monkeypatch):
    proj = tmp_path / "code" / "proj"
    proj.mkdir(parents=True)
    (proj / "ok.py").write_bytes(MAIN)
    os.mkfifo(proj / "pipe.py")
    os.mkfifo(proj / "LICENSE")  # read on the driver while listing: must not block either
    expect = {"ok.py": None, "pipe.py": "code.not_a_file", "LICENSE": "code.not_a_file",
              "sock.py": "code.not_a_file", "zero.py": "code.symlink"}
    sock = socket.socket(socket.AF_UNIX)
    monkeypatch.chdir(proj)  # a socket's path must be short
    sock.bind("sock.py")
    (proj / "zero.py").symlink_to("/dev/zero")
    try:
        os.mknod(proj / "dev.py", 0o600 | stat.S_IFCHR, os.makedev(1, 5))  # /dev/zero's numbers
        expect["dev.py"] = "code.not_a_file"
    except (PermissionError, AttributeError):
        pass  # not root (or no CAP_MKNOD): the FIFO and the socket still cover the rule
    try:
        with deadline(30):
            rows = rows_of(tmp_path / "code")
    finally:
        sock.close()
    assert reasons(rows) == expect
    assert all(r["text"] == "" for r in rows if r["drop_reason"])


def test_hard_links_count_only_when_every_link_is_inside_the_folder(tmp_path):
    secret = tmp_path / "outside.py"
    secret.write_text("PASSWORD = 'outside the input folder'\n")
    proj = tmp_path / "code" / "proj"
    proj.mkdir(parents=True)
    os.link(secret, proj / "linked.py")
    (proj / "a.py").write_bytes(MAIN)
    os.link(proj / "a.py", proj / "b.py")  # both names inside: read
    rows = rows_of(tmp_path / "code")
    assert reasons(rows) == {"linked.py": "code.escapes_repo", "a.py": None, "b.py": None}
    assert not any("PASSWORD" in r["text"] for r in rows)
    # from one of the two folders alone, the other name is outside it
    other = tmp_path / "code2" / "proj"
    other.mkdir(parents=True)
    os.link(proj / "a.py", other / "c.py")
    assert reasons(rows_of(tmp_path / "code2")) == {"c.py": "code.escapes_repo"}


# -- 6. one bad member costs only itself -------------------------------------------------------------

def test_a_zip_member_with_a_bad_crc_costs_only_that_member(tmp_path):
    bodies = [f"def f{k}():\n    return {k}  # member {k}\n".encode() * 3 for k in range(3)]
    members = [stored(f"crc/m{k}.py", b) for k, b in enumerate(bodies)]
    members[1] = (members[1][0], members[1][1].replace(b"return 1", b"return 9"), *members[1][2:])
    deflated = _flushed(bodies[2], zlib.Z_FINISH)
    members.append(("crc/m3.py", deflated[:5] + bytes(b ^ 0x55 for b in deflated[5:]), zlib.crc32(bodies[2]),
                    len(bodies[2]), 8))  # garbled deflate data
    members.append(stored("crc/m4.py", bodies[0]))
    zpath = tmp_path / "crc.zip"
    write_zip(zpath, members)
    rows = rows_of(zpath)
    assert reasons(rows) == {"m0.py": None, "m1.py": "code.corrupt_member", "m2.py": None,
                             "m3.py": "code.corrupt_member", "m4.py": None}
    assert "CRC" in next(r for r in rows if r["meta"]["path"] == "m1.py")["meta"]["error"]


def _tar(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_tar_members_a_truncated_member_a_broken_header_and_a_metadata_bomb(tmp_path):
    data = _tar([(f"t/m{k}.py", f"x = {k}\n".encode() * 100) for k in range(3)])
    # truncated inside the last member: the members before it are kept, that member is
    # corrupt_member, the archive's end is code.corrupt
    cut = tmp_path / "cut.tar"
    cut.write_bytes(data[: 2 * 1536 + 512 + 100])  # each member: a header and two data blocks
    rows = rows_of(cut)
    assert [(r["meta"]["path"], r["drop_reason"]) for r in rows] == [
        ("m0.py", None), ("m1.py", None), ("m2.py", "code.corrupt_member"), ("cut.tar#corrupt@3", "code.corrupt")]
    # a broken header after the first member: tarfile took it for the end of the archive and
    # the members after it vanished; now it is code.corrupt
    bad = bytearray(data)
    bad[2 * 1536 + 148: 2 * 1536 + 156] = b"0000000\0"  # m2.py's header checksum
    (tmp_path / "bad.tar").write_bytes(bytes(bad))
    assert [r["drop_reason"] for r in rows_of(tmp_path / "bad.tar")] == [None, None, "code.corrupt"]
    # a 4 MiB pax header before a member: not read into memory, the archive is corrupt
    pax = tarfile.TarInfo("././@PaxHeader")
    pax.type, pax.size = tarfile.XHDTYPE, 4 << 20
    bomb = pax.tobuf(format=tarfile.USTAR_FORMAT) + b"a" * pax.size + data
    (tmp_path / "pax.tar").write_bytes(bomb)
    rows = rows_of(tmp_path / "pax.tar")
    assert [r["drop_reason"] for r in rows] == ["code.corrupt"] and "metadata header" in rows[0]["meta"]["error"]


def test_a_bad_or_overlong_dataset_line_costs_only_itself(tmp_path):
    good = lambda k: json.dumps({"content": f"x = {k}\n", "path": f"m{k}.py", "repo": "o/r"})  # noqa: E731
    long = json.dumps({"content": "y = 1\n" * 20_000, "path": "long.py", "repo": "o/r"})
    path = tmp_path / "stack.jsonl"
    path.write_text("\n".join([good(0), "{broken", "[1, 2]", long, good(1), "", good(2)]) + "\n")
    rows = rows_of(path, ExtractSettings(max_code_file_bytes=10_000))
    assert [r["drop_reason"] for r in rows] == [None, "code.corrupt", "code.bad_record", "code.too_large", None, None]
    assert [r["meta"]["record"] for r in rows] == ["0", "1", "2", "3", "4", "5"]


@needs_git
def test_a_missing_git_object_is_that_entrys_row(tmp_path):
    repo = git_repo(tmp_path / "repo", {"a.py": MAIN})
    blobs = GitBlobs(str(repo))
    try:
        with pytest.raises(FileNotFoundError):
            blobs.read("0" * 40, 100)
        assert blobs.read(git(repo, "rev-parse", "HEAD:a.py"), 1000) == MAIN  # still in step
        assert blobs.read(git(repo, "rev-parse", "HEAD:a.py"), 5) == MAIN[:5]
        assert blobs.read(git(repo, "rev-parse", "HEAD:a.py"), 1000) == MAIN
    finally:
        blobs.close()
    task = code_tasks(str(repo), "HEAD", ExtractSettings())[0]
    task["entries"].append(["100644", "blob", "1" * 40, 10, "gone.py"])
    rows = list(read_code_task(task, "gh", "code", ExtractSettings(), ["*"]))
    assert reasons(rows) == {"a.py": None, "gone.py": "code.unreadable"}


# -- 7. every record counted -----------------------------------------------------------------------

@needs_git
def test_every_record_taken_is_numbered_once_and_file_level_rows_carry_none(tmp_path):
    folder = tmp_path / "plain" / "proj"
    folder.mkdir(parents=True)
    for k in range(3):
        (folder / f"m{k}.py").write_bytes(MAIN)
    repo = git_repo(tmp_path / "repo", {"a.py": MAIN, "b.md": b"# b\n", "c.bin": b"\0"})
    zpath = tmp_path / "z.zip"
    write_zip(zpath, [stored("z/a.py", MAIN), stored("z/b.py", MAIN)])
    jpath = tmp_path / "d.jsonl"
    jpath.write_text(json.dumps({"content": "x = 1\n", "path": "a.py", "repo": "o/r"}) + "\n{broken\n")
    for path, n in ((folder.parent, 3), (repo, 3), (zpath, 2), (jpath, 2)):
        for task in code_tasks(str(path), "HEAD", ExtractSettings()):
            tally = Tally()
            rows = list(read_code_task(task, "gh", "code", ExtractSettings(), ["*"], tally=tally))
            assert tally.read == n and sorted(int(r["meta"]["record"]) for r in rows) == list(range(n)), path
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not a zip")
    tally = Tally()
    rows = list(read_code_task({"type": "archive", "path": str(broken)}, "gh", "code", ExtractSettings(), ["*"], tally))
    assert [r["drop_reason"] for r in rows] == ["code.corrupt"] and "record" not in rows[0]["meta"] and tally.read == 0
    git(tmp_path, "init", "-q", str(tmp_path / "empty"))
    tally = Tally()
    rows = rows_of(tmp_path / "empty", tally=tally)
    assert [r["drop_reason"] for r in rows] == ["code.bad_repo"] and "record" not in rows[0]["meta"]
    assert tally.read == 0


# -- 8. rows Arrow can always store; every reader guards each record ----------------------------

def storable(rows) -> list[dict]:
    """The rows, after checking that Arrow stores them as the pipeline does (it raised on a
    lone surrogate or a meta value that is not a str, outside every per-record guard)."""
    import pyarrow as pa

    from curator.schema import DOC_SCHEMA

    pa.RecordBatch.from_pylist(rows, schema=DOC_SCHEMA)
    return rows


def notebook(source: str, lang=None) -> bytes:
    meta = {} if lang is None else {"language_info": {"name": lang}}
    return json.dumps({"cells": [{"cell_type": "code", "source": source}], "metadata": meta}).encode()


@needs_git
def test_odd_names_surrogates_and_typed_metadata_still_make_storable_rows(tmp_path):
    files = {b"\xff.py": MAIN, b"ok.py": MAIN, b"sur.ipynb": notebook("x = 1 # \ud800\n"),
             b"typed.ipynb": notebook("x = 1\n", lang=5), b"nb.ipynb": notebook("y = 2\n", lang="python")}
    folder = tmp_path / "plain" / "proj"
    folder.mkdir(parents=True)
    for name, data in files.items():
        with open(os.path.join(os.fsencode(folder), name), "wb") as f:
            f.write(data)
    repo = tmp_path / "repo"
    shutil.copytree(folder, repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "files")
    expect = {"\\xff.py": None, "ok.py": None, "sur.ipynb": "code.not_utf8", "typed.ipynb": "code.bad_notebook",
              "nb.ipynb": None}
    for path in (folder.parent, repo):
        rows = storable(rows_of(path))
        assert reasons(rows) == expect, path
        assert next(r for r in rows if r["meta"]["path"] == "nb.ipynb")["meta"]["notebook_language"] == "python"
    tar = tmp_path / "odd.tar"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8",
                      errors="surrogateescape") as tf:
        for name, data in (("t/\udcff.py", MAIN), ("t/ok.py", MAIN)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    tar.write_bytes(buf.getvalue())
    rows = storable(rows_of(tar))
    assert reasons(rows) == {"\\xff.py": None, "ok.py": None}
    jpath = tmp_path / "d.jsonl"
    jpath.write_text(json.dumps({"content": "x = 1\n", "path": "a.py", "repo": "o/r", "license": "\ud800"}) + "\n"
                     + json.dumps({"content": "x = 2\n", "path": "b\udcff.py", "repo": "o/r"}) + "\n")
    rows = storable(rows_of(jpath))
    assert [r["meta"]["license"] for r in rows] == ["\\ud800", "NONE"] and rows[1]["meta"]["path"] == "b\\xff.py"


def test_a_notebook_nested_past_the_parser_costs_only_itself_in_an_archive(tmp_path):
    deep = b"[" * 3000 + b"]" * 3000
    zpath = tmp_path / "deep.zip"
    write_zip(zpath, [stored("z/a.py", MAIN), stored("z/deep.ipynb", b'{"cells": ' + deep + b"}"),
                      stored("z/b.py", MAIN)])
    tally = Tally()
    rows = storable(rows_of(zpath, tally=tally))
    assert reasons(rows) == {"a.py": None, "deep.ipynb": "code.bad_notebook", "b.py": None}
    assert [r["meta"]["record"] for r in rows] == ["0", "1", "2"] and tally.read == 3


@needs_git
def test_a_row_that_cannot_be_built_is_that_records_row_in_every_reader(tmp_path, monkeypatch):
    """code_row raising for one file (and again in the fallback) leaves that record a
    `code.unreadable` row (a dataset's: `code.bad_record`, named by its row number), and the
    records after it keep theirs, in all four readers."""
    from stages import code_datasets, code_git, code_rows, code_source

    real = code_rows.code_row

    def fragile(repo, path, *a, **k):
        if path == "boom.py":
            raise RuntimeError("cannot build this row")
        return real(repo, path, *a, **k)

    for reader in (code_source, code_git, code_datasets):  # where each reader looks code_row up
        monkeypatch.setattr(reader, "code_row", fragile)
    files = {"a.py": MAIN, "boom.py": MAIN, "c.py": MAIN}
    folder = tmp_path / "plain" / "proj"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    repo = git_repo(tmp_path / "repo", files)
    zpath = tmp_path / "z.zip"
    write_zip(zpath, [stored(f"z/{n}", d) for n, d in files.items()])
    jpath = tmp_path / "d.jsonl"
    jpath.write_text("".join(json.dumps({"content": d.decode(), "path": n, "repo": "o/r"}) + "\n" for n, d in files.items()))
    for path, why in ((folder.parent, "code.unreadable"), (repo, "code.unreadable"), (zpath, "code.unreadable"),
                      (jpath, "code.bad_record")):
        tally = Tally()
        rows = storable(rows_of(path, tally=tally))
        assert [r["drop_reason"] for r in rows] == [None, why, None], path
        assert [r["meta"]["record"] for r in rows] == ["0", "1", "2"] and tally.read == 3
        assert "cannot build this row" in rows[1]["meta"]["error"]


# -- 9. repositories found in an input folder: git never reads outside it --------------------------

@needs_git
def test_a_repository_whose_git_dir_leads_outside_the_input_folder_is_one_escapes_repo_row(tmp_path):
    secret = git_repo(tmp_path / "secret", {"secret.py": b"TOKEN = 'from another repository'\n"})
    cases = tmp_path / "in"
    (cases / "gitfile").mkdir(parents=True)
    (cases / "gitfile" / ".git").write_text(f"gitdir: {secret / '.git'}\n")
    (cases / "gitlink").mkdir()
    (cases / "gitlink" / ".git").symlink_to(secret / ".git")
    alt = git_repo(cases / "alt", {"own.py": MAIN})
    (alt / ".git" / "objects" / "info" / "alternates").write_text(f"{secret / '.git' / 'objects'}\n")
    linked = git_repo(cases / "linked", {"own.py": MAIN})
    pack = linked / ".git" / "objects" / "pack"
    shutil.rmtree(pack)
    pack.symlink_to(secret / ".git" / "objects" / "pack")
    git_repo(cases / "fine", {"own.py": MAIN})
    rows = storable(rows_of(cases))
    by_repo = {r["meta"]["repo"]: r["drop_reason"] for r in rows}
    assert by_repo == {"gitfile": "code.escapes_repo", "gitlink": "code.escapes_repo", "alt": "code.escapes_repo",
                       "linked": "code.escapes_repo", "fine": None}, rows
    assert not any("TOKEN" in r["text"] for r in rows)
    assert all("record" not in r["meta"] for r in rows if r["drop_reason"])


@needs_git
def test_git_ignores_the_callers_git_environment(tmp_path, monkeypatch):
    secret = git_repo(tmp_path / "secret", {"secret.py": b"TOKEN = 1\n"})
    repo = git_repo(tmp_path / "repo", {"a.py": MAIN})
    monkeypatch.setenv("GIT_DIR", str(secret / ".git"))
    assert reasons(rows_of(repo)) == {"a.py": None}


# -- 10. tree bombs, dataset row groups and expanded .gz, listing errors -----------------------------

def _mktree(repo: Path, entries: list[tuple[str, str, str, str]]) -> str:
    text = "".join(f"{mode} {typ} {sha}\t{name}\n" for mode, typ, sha, name in entries)
    return subprocess.run(["git", "mktree"], cwd=repo, input=text.encode(), check=True,
                          capture_output=True).stdout.decode().strip()


@needs_git
def test_a_git_tree_bomb_is_one_repo_too_large_row_and_a_huge_path_one_entry(tmp_path):
    """Three levels of 40 entries name 64,000 files in a few KB of .git: listing stops at
    max_archive_members (the old code listed every entry and made a task per 256)."""
    repo = git_repo(tmp_path / "bomb", {"a.py": MAIN})
    blob = git(repo, "rev-parse", "HEAD:a.py")
    sha = _mktree(repo, [("100644", "blob", blob, f"f{k}.py") for k in range(40)])
    for _ in range(2):
        sha = _mktree(repo, [("040000", "tree", sha, f"d{k}") for k in range(40)])
    git(repo, "update-ref", "HEAD", git(repo, "commit-tree", sha, "-m", "bomb"))
    s = ExtractSettings(max_archive_members=1000)
    tasks = code_tasks(str(repo), "HEAD", s)
    assert len(tasks) == 1
    rows = [r for t in tasks for r in read_code_task(t, "gh", "code", s, ["*"])]
    assert [r["drop_reason"] for r in rows] == ["code.repo_too_large"] and "record" not in rows[0]["meta"]
    # one path over MAX_TREE_RECORD (16 KiB): that entry's row, the others read
    sha = _mktree(repo, [("100644", "blob", blob, "x.py")])
    for _ in range(90):
        sha = _mktree(repo, [("040000", "tree", sha, "d" * 200)])
    sha = _mktree(repo, [("040000", "tree", sha, "deep"), ("100644", "blob", blob, "z.py")])
    git(repo, "update-ref", "HEAD", git(repo, "commit-tree", sha, "-m", "long"))
    rows = storable(rows_of(repo))
    assert [(r["meta"]["path"][:5], r["drop_reason"]) for r in rows] == [("deep/", "code.path_too_long"), ("z.py", None)]
    assert len(rows[0]["meta"]["path"]) <= 16 << 10


def test_a_parquet_row_group_over_bytes_per_task_is_one_row_not_read(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "stack.parquet"
    small = pa.table({"content": ["x = 1\n", "x = 2\n"], "path": ["a.py", "b.py"], "repo": ["o/r", "o/r"]})
    big = pa.table({"content": ["y = 1\n" * 400_000], "path": ["big.py"], "repo": ["o/r"]})
    with pq.ParquetWriter(path, small.schema, compression="zstd") as w:
        w.write_table(small)
        w.write_table(big)
        w.write_table(small)
    assert path.stat().st_size < 64 << 10
    tally = Tally()
    rows = storable(rows_of(path, ExtractSettings(bytes_per_task=1 << 20), tally=tally))
    assert [(r["meta"]["path"], r["drop_reason"]) for r in rows] == [
        ("a.py", None), ("b.py", None), ("stack.parquet#row_group-1", "code.too_large"), ("a.py", None), ("b.py", None)]
    assert "record" not in rows[2]["meta"] and tally.read == 4


def test_a_jsonl_gz_is_read_at_most_max_archive_bytes_expanded(tmp_path):
    rec = lambda k: json.dumps({"content": f"x = {k}\n", "path": f"m{k}.py", "repo": "o/r"}).encode() + b"\n"  # noqa: E731
    path = tmp_path / "d.jsonl.gz"
    path.write_bytes(gzip_of(rec(0) + b"\n" * (4 << 20) + rec(1)))
    assert path.stat().st_size < 64 << 10
    tally = Tally()
    rows = storable(rows_of(path, ExtractSettings(max_archive_bytes=2 << 20), tally=tally))
    assert [(r["meta"]["path"], r["drop_reason"]) for r in rows] == [
        ("m0.py", None), ("d.jsonl.gz#archive_too_large", "code.archive_too_large")]
    assert tally.read == 1
    assert [r["drop_reason"] for r in rows_of(path)] == [None, None]  # under the default cap: both


def gzip_of(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data)


def test_a_code_input_that_is_not_a_folder_or_file_is_one_line_error(tmp_path):
    from curator.errors import ManifestError

    os.mkfifo(tmp_path / "pipe")
    with deadline(30), pytest.raises(ManifestError, match="pipe: a code input must be .* not a FIFO"):
        code_tasks(str(tmp_path / "pipe"), "HEAD", ExtractSettings())


def test_a_subfolder_that_cannot_be_listed_is_that_folders_unreadable_row(tmp_path, monkeypatch):
    proj = tmp_path / "code" / "proj"
    (proj / "locked").mkdir(parents=True)
    (proj / "locked" / "x.py").write_bytes(MAIN)
    (proj / "a.py").write_bytes(MAIN)
    real = os.scandir

    def scandir(path="."):
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)  # as chmod 000 does for a user that is not root
    tally = Tally()
    rows = storable(rows_of(tmp_path / "code", tally=tally))
    assert reasons(rows) == {"a.py": None, "locked": "code.unreadable"}
    assert "Permission denied" in rows[-1]["meta"]["error"] and tally.read == 2
