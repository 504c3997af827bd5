"""Where source files come from: local paths and globs, http(s) URLs, s3:// (any pyarrow.fs
URI) and Common Crawl paths files, listed on the driver and opened inside the Spark tasks.

Listing never reads a file's contents, so a snapshot of 90,000 WARCs becomes 90,000 tasks
at once. Opening streams the bytes: http(s) reads are retried with exponential back-off on
connection errors, 429 and 5xx (Common Crawl throttles), and a read that breaks mid-file is
resumed with a Range request from the byte it stopped at.
"""

from __future__ import annotations

import fnmatch
import glob
import gzip
import hashlib
import http.client
import io
import os
import re
import time
import urllib.error
import urllib.request
from typing import BinaryIO

from curator.errors import ManifestError

_SNAPSHOT = re.compile(r"CC-MAIN-\d{4}-\d{2}")
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
USER_AGENT = "corpus-curator/0.1 (+https://commoncrawl.org/terms-of-use)"


def is_http(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def is_uri(uri: str) -> bool:
    return "://" in uri


def snapshot_of(uri: str, default: str | None = None) -> str:
    """The Common Crawl snapshot a file belongs to (CC-MAIN-YYYY-WW in its path), or `default`."""
    if default:
        return default
    m = _SNAPSHOT.search(uri)
    return m.group(0) if m else ""


# -- listing (driver) ----------------------------------------------------------------------

def list_source_files(src, base_dir: str, index: int, open_retries: int = 5) -> list[str]:
    """Every file a source reads, in a stable order: its inputs, then its paths file's files."""
    out: list[str] = []
    for j, entry in enumerate(src.inputs):
        where = f"sources[{index}].inputs[{j}]"
        if is_http(entry):
            out.append(entry)
        elif is_uri(entry):
            out.extend(_list_arrow(entry, where))
        else:
            out.extend(_list_local(entry, base_dir, where))
    if src.paths_file:
        out.extend(read_paths_file(src, base_dir, index, open_retries))
    return out


def _list_local(pattern: str, base_dir: str, where: str) -> list[str]:
    full = pattern if os.path.isabs(pattern) else os.path.join(base_dir, pattern)
    matches = sorted(glob.glob(full))
    if not matches:
        raise ManifestError(
            f"{where}: no file matches {pattern!r} (looked for {full}; "
            f"relative paths start at the manifest's folder)"
        )
    return [os.path.abspath(p) for p in matches]


def _arrow_fs(uri: str):
    """(filesystem, path) for a pyarrow.fs URI; s3 is anonymous unless AWS credentials are set."""
    from pyarrow import fs

    if uri.startswith("s3://"):
        has_creds = any(os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE"))
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
        scheme = "https"
        if endpoint and "://" in endpoint:
            scheme, endpoint = endpoint.split("://", 1)
        s3 = fs.S3FileSystem(
            anonymous=not has_creds,
            region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint_override=endpoint, scheme=scheme,
        )
        return s3, uri[len("s3://"):]
    return fs.FileSystem.from_uri(uri)


def _list_arrow(uri: str, where: str) -> list[str]:
    """A pyarrow.fs URI: a file, a folder (every file below it), or a glob
    (s3://bucket/crawl/*/segments/*.warc.gz)."""
    from pyarrow import fs

    scheme, rest = uri.split("://", 1)
    wild = [rest.index(c) for c in "*?[" if c in rest]
    try:
        if not wild:
            filesystem, base = _arrow_fs(uri)
            info = filesystem.get_file_info(base)
            if info.type == fs.FileType.File:
                return [uri]
            if info.type == fs.FileType.NotFound:
                raise ManifestError(f"{where}: {uri} does not exist")
            pattern = None
        else:
            head = rest[: min(wild)].rsplit("/", 1)[0]
            filesystem, base = _arrow_fs(f"{scheme}://{head}")
            pattern = base.rstrip("/") + rest[len(head):]
        infos = filesystem.get_file_info(fs.FileSelector(base.rstrip("/"), recursive=True))
    except ManifestError:
        raise
    except Exception as e:
        raise ManifestError(f"{where}: cannot list {uri} ({type(e).__name__}: {e})") from None
    files = sorted(i.path for i in infos if i.type == fs.FileType.File)
    if pattern is not None:
        files = [f for f in files if fnmatch.fnmatchcase(f, pattern)]
    if not files:
        raise ManifestError(f"{where}: no file matches {uri}")
    return [f"{scheme}://{f}" for f in files]


def read_paths_file(src, base_dir: str, index: int, retries: int = 5) -> list[str]:
    """The files of a Common Crawl paths file (one relative path a line), with the prefix,
    sampled by a hash of (seed, line) and cut to `limit`."""
    where = f"sources[{index}].paths_file"
    ref = src.paths_file
    if not is_uri(ref):
        ref = ref if os.path.isabs(ref) else os.path.join(base_dir, ref)
        if not os.path.isfile(ref):
            raise ManifestError(f"{where}: {src.paths_file} not found (looked for {ref})")
    try:
        with open_input(ref, retries=retries) as f:
            data = f.read()
    except Exception as e:
        raise ManifestError(f"{where}: cannot read {src.paths_file} ({type(e).__name__}: {e})") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise ManifestError(f"{where}: {src.paths_file} is not a readable gzip file ({e})") from None
    lines = [ln.strip() for ln in data.decode("utf-8", "replace").splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if src.sample is not None:
        cut = int(src.sample * 2**64)
        lines = [ln for ln in lines if _hash64(f"{src.seed}\0{ln}") < cut]
    if src.limit is not None:
        lines = lines[: src.limit]
    if not lines:
        raise ManifestError(f"{where}: {src.paths_file} lists no files (after sample/limit)")
    return [ln if is_uri(ln) or os.path.isabs(ln) else join_prefix(src.prefix, ln, base_dir) for ln in lines]


def join_prefix(prefix: str, rel: str, base_dir: str) -> str:
    if is_uri(prefix):
        return prefix.rstrip("/") + "/" + rel.lstrip("/")
    root = prefix if os.path.isabs(prefix) else os.path.join(base_dir, prefix)
    return os.path.abspath(os.path.join(root, rel))


def _hash64(s: str) -> int:
    return int.from_bytes(hashlib.sha256(s.encode()).digest()[:8], "big")


def input_state(uri: str) -> tuple:
    """What identifies an input's version for the run fingerprint, without reading it."""
    if not is_uri(uri):
        st = os.stat(uri, follow_symlinks=False)
        return (uri, st.st_size, st.st_mtime_ns)
    return (uri, None, None)  # remote files of a snapshot are immutable; their name is enough


# -- opening (tasks) -----------------------------------------------------------------------

def open_input(uri: str, retries: int = 5, backoff_s: float = 1.0, timeout_s: float = 60.0) -> BinaryIO:
    """A binary stream of the file's raw bytes (not decompressed)."""
    if is_http(uri):
        return io.BufferedReader(HttpStream(uri, retries=retries, backoff_s=backoff_s, timeout_s=timeout_s), 1 << 16)
    if is_uri(uri):
        filesystem, path = _arrow_fs(uri)
        return filesystem.open_input_stream(path, compression=None)
    return open(uri, "rb")


class HttpError(IOError):
    """An http(s) input could not be read after its retries."""


class HttpStream(io.RawIOBase):
    """A streamed GET that retries with back-off and resumes a broken transfer by Range."""

    def __init__(self, url: str, retries: int = 5, backoff_s: float = 1.0, timeout_s: float = 60.0):
        self.url, self.retries, self.backoff_s, self.timeout_s = url, retries, backoff_s, timeout_s
        self.pos = 0
        self.attempts = 0  # requests made, for the stats and the tests
        self._resp = None
        self._connect()

    def _connect(self) -> None:
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            self.attempts += 1
            headers = {"User-Agent": USER_AGENT}
            if self.pos:
                headers["Range"] = f"bytes={self.pos}-"
            try:
                resp = urllib.request.urlopen(urllib.request.Request(self.url, headers=headers), timeout=self.timeout_s)
            except urllib.error.HTTPError as e:
                if e.code not in _RETRY_STATUS:
                    raise HttpError(f"{self.url}: HTTP {e.code} {e.reason}") from None
                last = e
                continue
            except (urllib.error.URLError, OSError) as e:
                last = e
                continue
            if self.pos and resp.status != 206:
                resp.close()
                raise HttpError(f"{self.url}: server ignored the Range request to resume at byte {self.pos}")
            self._resp = resp
            return
        raise HttpError(f"{self.url}: gave up after {self.retries + 1} attempts ({type(last).__name__}: {last})")

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        for _ in range(self.retries + 1):
            try:
                n = self._resp.readinto(buf)
                if n == 0 and len(buf) and self._resp.length:  # http.client's silent short body
                    raise http.client.IncompleteRead(b"", self._resp.length)
            except (OSError, ValueError, http.client.HTTPException):  # dropped mid-body: resume at self.pos
                self._resp.close()
                self._connect()
                continue
            self.pos += n
            return n
        raise HttpError(f"{self.url}: transfer broke {self.retries + 1} times at byte {self.pos}")

    def close(self) -> None:
        if self._resp is not None:
            self._resp.close()
        super().close()


# -- per-file problems (extract stats) -------------------------------------------------------

PROBLEM_REASONS = (
    "warc.unreadable", "warc.corrupt", "warc.truncated", "warc.bad_payload", "warc.undecodable",
    "extract.timeout", "extract.error", "code.corrupt", "code.unreadable", "code.bad_repo",
)
"""Drop reasons that mean broken input or a failed extraction."""


def problems_by_file(df) -> dict[str, dict[str, int]]:
    """{input file: {reason: count}} of broken input and failed extractions in an extract output."""
    from pyspark.sql import functions as F

    m = F.col("meta")
    where = F.coalesce(m["warc_file"], m["archive"], m["dataset"], m["repo_dir"], F.col("url"), F.lit("?"))
    rows = (
        df.where(F.col("drop_reason").isin(list(PROBLEM_REASONS)))
        .groupBy(where.alias("file"), "drop_reason").count().collect()
    )
    out: dict[str, dict[str, int]] = {}
    for r in sorted(rows, key=lambda r: (r["file"], r["drop_reason"])):
        out.setdefault(r["file"], {})[r["drop_reason"]] = r["count"]
    return out
