"""Builders of hostile and careless inputs, shared by the tests and benchmarks/hostile.py.

Each builder writes a small file (kilobytes to a few MB) that expands to something large or
strange when read: gzip members whose content repeats one byte for a gigabyte are built in
milliseconds by repeating one self-contained deflate block, so no test ever holds the
expanded bytes itself.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import subprocess
import tarfile
import zipfile
import zlib
from pathlib import Path

CHUNK = 1 << 24  # 16 MiB of one byte per repeated deflate block


def _repeat_deflate(byte: bytes, n_bytes: int) -> bytes:
    """Raw deflate data for `n_bytes` copies of `byte` (n_bytes a multiple of CHUNK): one block
    ended by a full flush is self-contained, so repeating it is a valid stream."""
    assert n_bytes % CHUNK == 0
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(byte * CHUNK) + c.flush(zlib.Z_FULL_FLUSH)
    return block * (n_bytes // CHUNK)


def _repeat_crc(byte: bytes, n_bytes: int, crc: int) -> int:
    data = byte * CHUNK
    for _ in range(n_bytes // CHUNK):
        crc = zlib.crc32(data, crc)
    return crc


def gzip_repeat(prefix: bytes, n_bytes: int, suffix: bytes, byte: bytes = b"\0") -> bytes:
    """One gzip member whose content is prefix + n_bytes copies of `byte` + suffix."""
    def flushed(data: bytes, mode: int) -> bytes:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush(mode)

    body = flushed(prefix, zlib.Z_FULL_FLUSH) + _repeat_deflate(byte, n_bytes) + flushed(suffix, zlib.Z_FINISH)
    crc = zlib.crc32(suffix, _repeat_crc(byte, n_bytes, zlib.crc32(prefix)))
    size = len(prefix) + n_bytes + len(suffix)
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + body + struct.pack("<II", crc, size & 0xFFFFFFFF)


def gz(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data, mtime=0)


def warc_head(n: int, url: str, http_len: int, extra: str = "") -> bytes:
    return (
        f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-{n:012d}>\r\n"
        f"WARC-Target-URI: {url}\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n{extra}"
        f"Content-Type: application/http; msgtype=response\r\nContent-Length: {http_len}\r\n\r\n"
    ).encode()


def record(n: int, url: str, body: bytes, headers: str = "Content-Type: text/html; charset=utf-8") -> bytes:
    """One gzipped WARC response record with a 200 HTTP response."""
    http = f"HTTP/1.1 200 OK\r\n{headers}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    return gz(warc_head(n, url, len(http)) + http + b"\r\n\r\n")


def article(title: str) -> bytes:
    return (
        f"<html><body><article><h1>{title}</h1>"
        + "".join(f"<p>The night train {i} to {title} leaves the old station at nine and reaches the "
                  "coast by dawn, so travellers sleep through the mountains and wake to the sea.</p>"
                  for i in range(8))
        + "</article></body></html>"
    ).encode()


def warc_header_line_bomb(n: int, url: str, line_bytes: int) -> bytes:
    """A record whose WARC header holds one `line_bytes`-long line."""
    prefix = b"WARC/1.0\r\nWARC-Type: response\r\nX-Bomb: "
    rest = warc_head(n, url, 0)[len("WARC/1.0\r\nWARC-Type: response\r\n"):]
    return gzip_repeat(prefix, line_bytes, b"\r\n" + rest + b"\r\n\r\n", b"a")


def http_header_line_bomb(n: int, url: str, line_bytes: int) -> bytes:
    """A record whose HTTP response header holds one `line_bytes`-long line."""
    prefix = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Bomb: "
    suffix = b"\r\nContent-Length: 4\r\n\r\nbody"
    head = warc_head(n, url, len(prefix) + line_bytes + len(suffix))
    return gzip_repeat(head + prefix, line_bytes, suffix + b"\r\n\r\n", b"a")


CONTROL_TEXT = "Bell\x07 escape \x1b]0;pwned\x07 clear \x1b[2J csi \x9b31m del \x7f end"


def hostile_warc(path: Path, bomb_bytes: int, url_secret: str) -> dict[str, str | None]:
    """A WARC of good pages between hostile records; returns {url: the expected outcome:
    None (kept), a drop reason, or "dropped" (any reason)}."""
    expect: dict[str, str | None] = {}
    parts = []

    def add(data: bytes, url: str, outcome: str | None) -> None:
        parts.append(data)
        expect[url] = outcome

    add(record(1, "https://ok.example/first", article("first")), "https://ok.example/first", None)
    add(warc_header_line_bomb(2, "https://bomb.example/warc-header", bomb_bytes),
        "https://bomb.example/warc-header", "dropped")
    add(record(3, "https://ok.example/after-warc-bomb", article("after")), "https://ok.example/after-warc-bomb", None)
    add(http_header_line_bomb(4, "https://bomb.example/http-header", bomb_bytes),
        "https://bomb.example/http-header", "dropped")
    add(record(5, "https://charset.example/rot13", article("rot13"), "Content-Type: text/html; charset=rot13"),
        "https://charset.example/rot13", None)
    add(record(6, "https://charset.example/hex", article("hex").replace(b"<html>", b'<html><meta charset="hex">')),
        "https://charset.example/hex", None)
    control = article("control").replace(b"<h1>control</h1>", f"<p>{CONTROL_TEXT}</p>".encode() * 3)
    add(record(7, "https://control.example/", control), "https://control.example/", None)
    secret_url = f"https://user:{url_secret}@userinfo.example/page"
    add(record(8, secret_url, article("userinfo")), secret_url, None)
    add(record(9, "https://ok.example/last", article("last")), "https://ok.example/last", None)
    path.write_bytes(b"".join(parts))
    return expect


def git_repo_with_big_license(root: Path, license_bytes: int) -> Path:
    """A git repository whose LICENSE is `license_bytes` of zeros (stored compressed), plus
    one Python file."""
    repo = root / "bigrepo"
    repo.mkdir(parents=True)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    with open(repo / "LICENSE", "wb") as f:
        f.truncate(license_bytes)  # sparse: nothing to write
    (repo / "main.py").write_text("def main():\n    return 'hello from a repository'\n")
    subprocess.run(["git", "-C", str(repo), "-c", "core.compression=1", "add", "."], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", "x"], check=True, env=env)
    os.remove(repo / "LICENSE")  # only the committed blob is read
    return repo


def tar_with_big_license(path: Path, license_bytes: int) -> None:
    """A .tar.gz of one repository whose LICENSE member is `license_bytes` zeros."""
    info = tarfile.TarInfo("repo/LICENSE")
    info.size = license_bytes
    header = info.tobuf(format=tarfile.USTAR_FORMAT)
    small = io.BytesIO()
    with tarfile.open(fileobj=small, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        data = b"print('inside a tar archive')\n"
        ti = tarfile.TarInfo("repo/main.py")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    # The LICENSE member, its padding (none: a multiple of 512) and then main.py + end blocks.
    path.write_bytes(gzip_repeat(header, license_bytes, small.getvalue()))


def zip_of_many_files(path: Path, n_files: int, file_bytes: int) -> None:
    """A zip of `n_files` identical Python files of `file_bytes` each (it compresses to ~KB each)."""
    line = b"value = compute(1, 2, 3)  # a line of code\n"
    body = line * (file_bytes // len(line))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for k in range(n_files):
            zf.writestr(f"many/pkg/mod_{k:05d}.py", body)


def zip_with_bad_crc(path: Path) -> list[str]:
    """A zip of three Python files whose middle member's data is corrupted; returns the names."""
    names = [f"crc/pkg/m{k}.py" for k in range(3)]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for k, name in enumerate(names):
            zf.writestr(name, f"def f{k}():\n    return {k}  # member {k}\n" * 3)
    data = bytearray(buf.getvalue())
    marker = b"return 1  # member 1"
    at = data.index(marker)
    data[at + 7] = ord("9")  # stored bytes change, the CRC in the headers does not
    path.write_bytes(bytes(data))
    return names


def folder_with_special_files(root: Path, outside: Path) -> dict[str, str]:
    """A plain code folder with a FIFO, a character device (as root), a hard link to a file
    outside it and one normal file; returns {path inside the repo: expected reason or ""}."""
    repo = root / "specials" / "proj"
    repo.mkdir(parents=True)
    (repo / "ok.py").write_text("def ok():\n    return 'a normal file'\n")
    expect = {"ok.py": ""}
    os.mkfifo(repo / "pipe.py")
    expect["pipe.py"] = "code.not_a_file"
    if os.geteuid() == 0:
        os.mknod(repo / "zero.py", 0o600 | stat.S_IFCHR, os.makedev(1, 5))  # like /dev/zero
        expect["zero.py"] = "code.not_a_file"
    secret = outside / "secret.py"
    secret.write_text("PASSWORD = 'outside the input folder'\n")
    os.link(secret, repo / "linked.py")
    expect["linked.py"] = "code.escapes_repo"
    return expect


def snapshot_tree(root: Path, skip: Path | None = None) -> dict[str, tuple]:
    """(size, mtime_ns, mode) of everything below root except `skip`, to show nothing changed."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if skip is not None:
            dirnames[:] = [d for d in dirnames if Path(dirpath, d) != skip]
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return out
