"""Where source files come from: local paths and globs, http(s) URLs, s3:// (any pyarrow.fs
URI) and Common Crawl paths files, listed on the driver and opened inside the Spark tasks.

Listing never reads a file's contents, so a snapshot of 90,000 WARCs becomes 90,000 tasks
at once. Opening streams the bytes: http(s) reads are retried on connection errors, 429 and
5xx (Common Crawl throttles) with exponential back-off plus jitter (so throttled tasks do not
retry in step) or after the server's Retry-After, both capped at MAX_WAIT_S; a read that
breaks mid-file is resumed with a Range request from the byte it stopped at. An input given
as `https://user:pass@host/...` is fetched from `https://host/...` with the credentials as
HTTP basic auth, on every request, and never sent on to a redirect's target. What is
written about an input (errors, per-file problems) goes through `redact_input` and
`mask_secrets_in`. A local input is opened only if it is a regular file (a FIFO or device
matched by a glob never hangs a task: stages/local_files.py). A paths file is streamed with
caps on its size (PATHS_FILE_MAX_*), so a small gzip cannot fill the driver's memory.
s3:// reads are signed with the AWS SDK's default credential chain (environment, the
shared credentials/config files and AWS_PROFILE, web identity, the instance role), or sent
unsigned where the source says `anonymous: true`; AWS_ENDPOINT_URL(_S3) and AWS_REGION are
honoured, and every S3 request is bounded by S3_CONNECT_TIMEOUT_S / S3_REQUEST_TIMEOUT_S.
"""

from __future__ import annotations

import base64
import email.utils
import fnmatch
import glob
import gzip
import hashlib
import http.client
import io
import os
import random
import re
import time
import urllib.error
import urllib.request
from typing import BinaryIO

from curator.errors import InputError
from curator.redact import MASK, redact_input, split_credentials
from stages.local_files import open_regular
from stages.reading import bounded_lines, error_text

_SNAPSHOT = re.compile(r"CC-MAIN-\d{4}-\d{2}")
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
USER_AGENT = "corpus-curator/0.1 (+https://commoncrawl.org/terms-of-use)"
MAX_WAIT_S = 120.0
"""The longest wait before one retry, whatever the back-off or the server's Retry-After say
(urllib3's default backoff_max)."""


def is_http(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def is_uri(uri: str) -> bool:
    return "://" in uri


def mask_secrets_in(text: str, uri: str) -> str:
    """`text` (an error message) with `uri`'s secrets masked: the URI itself, its form without
    user-info, and its password and secret query values wherever they appear."""
    shown = redact_input(uri)
    if shown == uri:
        return text
    bare, creds = split_credentials(uri)
    text = text.replace(uri, shown).replace(bare, redact_input(bare))
    secrets = [creds[1]] if creds and creds[1] else []
    if "?" in uri:
        for raw, masked in zip(uri.split("?", 1)[1].split("&"), shown.split("?", 1)[1].split("&")):
            if raw != masked:
                secrets.append(raw.partition("=")[2])
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:  # shorter ones cannot be told from other text
            text = text.replace(secret, MASK)
    return text


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
    anonymous = getattr(src, "anonymous", False)
    for j, entry in enumerate(src.inputs):
        where = f"sources[{index}].inputs[{j}]"
        if is_http(entry):
            out.append(entry)
        elif is_uri(entry):
            out.extend(_list_arrow(entry, where, anonymous))
        else:
            out.extend(_list_local(entry, base_dir, where))
    if src.paths_file:
        out.extend(read_paths_file(src, base_dir, index, open_retries))
    return out


def _list_local(pattern: str, base_dir: str, where: str) -> list[str]:
    full = pattern if os.path.isabs(pattern) else os.path.join(base_dir, pattern)
    matches = sorted(glob.glob(full))
    if not matches:
        raise InputError(
            f"{where}: no file matches {redact_input(pattern)!r} (looked for {redact_input(full)}; "
            f"relative paths start at the manifest's folder)"
        )
    return [os.path.abspath(p) for p in matches]


S3_CONNECT_TIMEOUT_S = 10.0
"""Longest wait for an S3 connection (the SDK's default is 1 s, too short for a busy
endpoint; without one a dead endpoint would hold a task)."""
S3_REQUEST_TIMEOUT_S = 60.0
"""Longest an S3 request may stall (the SDK applies it on Windows and macOS; on Linux its
curl low-speed limit does the same)."""


def _arrow_fs(uri: str, anonymous: bool = False):
    """(filesystem, path) for a pyarrow.fs URI. s3 is signed with the AWS SDK's default
    credential chain (a role or profile works with no AWS_* variable set), unsigned only when
    `anonymous` (the source's `anonymous: true`): guessing from AWS_* variables missed
    instance roles, profiles and web identity, and Common Crawl's bucket refuses unsigned reads."""
    from pyarrow import fs

    if uri.startswith("s3://"):
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
        scheme = "https"
        if endpoint and "://" in endpoint:
            scheme, endpoint = endpoint.split("://", 1)
        s3 = fs.S3FileSystem(
            anonymous=anonymous,  # False: access_key=None lets the SDK's chain find the credentials
            region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None,
            endpoint_override=endpoint, scheme=scheme,
            connect_timeout=S3_CONNECT_TIMEOUT_S, request_timeout=S3_REQUEST_TIMEOUT_S,
        )
        return s3, uri[len("s3://"):]
    return fs.FileSystem.from_uri(uri)


def _list_arrow(uri: str, where: str, anonymous: bool = False) -> list[str]:
    """A pyarrow.fs URI: a file, a folder (every file below it), or a glob
    (s3://bucket/crawl/*/segments/*.warc.gz)."""
    from pyarrow import fs

    scheme, rest = uri.split("://", 1)
    wild = [rest.index(c) for c in "*?[" if c in rest]
    try:
        if not wild:
            filesystem, base = _arrow_fs(uri, anonymous)
            info = filesystem.get_file_info(base)
            if info.type == fs.FileType.File:
                return [uri]
            if info.type == fs.FileType.NotFound:
                raise InputError(f"{where}: {redact_input(uri)} does not exist")
            pattern = None
        else:
            head = rest[: min(wild)].rsplit("/", 1)[0]
            filesystem, base = _arrow_fs(f"{scheme}://{head}", anonymous)
            pattern = base.rstrip("/") + rest[len(head):]
        infos = filesystem.get_file_info(fs.FileSelector(base.rstrip("/"), recursive=True))
    except InputError:
        raise
    except Exception as e:
        raise InputError(f"{where}: cannot list {redact_input(uri)} ({error_text(e, uri=uri)})") from None
    files = sorted(i.path for i in infos if i.type == fs.FileType.File)
    if pattern is not None:
        files = [f for f in files if fnmatch.fnmatchcase(f, pattern)]
    if not files:
        raise InputError(f"{where}: no file matches {redact_input(uri)}")
    return [f"{scheme}://{f}" for f in files]


PATHS_FILE_MAX_BYTES = 64 << 20
"""The most bytes a paths file may hold once decompressed (Common Crawl's largest, a
snapshot's warc.paths, is about 13 MB): a small gzip that expands further is refused."""
PATHS_FILE_MAX_LINES = 10_000_000
"""The most lines a paths file may have, blank ones included (about a hundred snapshots'
WARCs; blank lines count too, so a file of newlines is refused quickly)."""
PATHS_FILE_MAX_LINE_BYTES = 4096
"""The longest line of a paths file (a path or URL; Common Crawl's are about 140 bytes)."""


def read_paths_file(src, base_dir: str, index: int, retries: int = 5) -> list[str]:
    """The files of a Common Crawl paths file (one relative path a line), with the prefix,
    sampled by a hash of (seed, line) and cut to `limit`. It is streamed (gzip or not), blank
    and `#` lines skipped as they come; a file over PATHS_FILE_MAX_BYTES decompressed,
    PATHS_FILE_MAX_LINES lines or PATHS_FILE_MAX_LINE_BYTES a line is an InputError."""
    where = f"sources[{index}].paths_file"
    ref = src.paths_file
    name = redact_input(src.paths_file)
    if not is_uri(ref):
        ref = ref if os.path.isabs(ref) else os.path.join(base_dir, ref)
        if not os.path.lexists(ref):
            raise InputError(f"{where}: {name} not found (looked for {ref})")
    try:
        raw = open_input(ref, retries=retries, anonymous=getattr(src, "anonymous", False))
    except Exception as e:
        raise InputError(f"{where}: cannot read {name} ({error_text(e, uri=ref)})") from None
    try:
        with raw:
            lines = _paths_lines(raw, src, where, name)
    except InputError:
        raise
    except Exception as e:  # a broken gzip (OSError, EOFError, zlib.error), a transfer that broke
        raise InputError(f"{where}: cannot read {name} ({error_text(e, uri=ref)}); check it is "
                            f"a complete paths file (plain or gzip)") from None
    if not lines:
        raise InputError(f"{where}: {name} lists no files (after sample/limit)")
    return [ln if is_uri(ln) or os.path.isabs(ln) else join_prefix(src.prefix, ln, base_dir) for ln in lines]


def _paths_lines(raw, src, where: str, name: str) -> list[str]:
    """The listed, sampled lines of an open paths file, read within the PATHS_FILE_MAX_* caps."""
    stream = raw if hasattr(raw, "peek") else io.BufferedReader(raw, 1 << 16)  # pyarrow's streams
    if stream.peek(2)[:2] == b"\x1f\x8b":
        stream = gzip.GzipFile(fileobj=stream, mode="rb")
    max_bytes, max_lines, max_line = PATHS_FILE_MAX_BYTES, PATHS_FILE_MAX_LINES, PATHS_FILE_MAX_LINE_BYTES
    cut = None if src.sample is None else int(src.sample * 2**64)
    lines: list[str] = []
    size = 0
    for count, line in enumerate(bounded_lines(stream, max_line), 1):
        if line is None:
            raise InputError(f"{where}: {name} has a line longer than {max_line} bytes (the cap on a "
                                f"paths file's lines); is it a paths file?")
        size += len(line)
        if size > max_bytes:
            raise InputError(f"{where}: {name} holds more than {max_bytes} bytes (decompressed), the cap "
                                f"on a paths file; split it into several sources")
        if count > max_lines:
            raise InputError(f"{where}: {name} has more than {max_lines} lines, the cap on a paths "
                                f"file; split it into several sources")
        text = line.decode("utf-8", "replace").strip()
        if not text or text.startswith("#"):
            continue
        if cut is not None and _hash64(f"{src.seed}\0{text}") >= cut:
            continue
        lines.append(text)
        if src.limit is not None and len(lines) >= src.limit:
            break  # the rest is not used: not read either
    return lines


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
        try:  # a link the user named stands for its target: the target's version counts
            st = os.stat(uri)
        except OSError:  # gone or unreadable: extract gives it its `warc.unreadable` row
            return (uri, None, None)
        return (uri, st.st_size, st.st_mtime_ns)
    return (redact_input(uri), None, None)  # remote files of a snapshot are immutable; their name is enough


# -- opening (tasks) -----------------------------------------------------------------------

def open_input(uri: str, retries: int = 5, backoff_s: float = 1.0, timeout_s: float = 60.0,
               max_wait_s: float = MAX_WAIT_S, anonymous: bool = False) -> BinaryIO:
    """A binary stream of the file's raw bytes (not decompressed); `anonymous`: an s3:// input
    is read with unsigned requests (the source's `anonymous: true`, see `_arrow_fs`)."""
    if is_http(uri):
        return io.BufferedReader(
            HttpStream(uri, retries=retries, backoff_s=backoff_s, timeout_s=timeout_s, max_wait_s=max_wait_s), 1 << 16)
    if is_uri(uri):
        filesystem, path = _arrow_fs(uri, anonymous)
        return filesystem.open_input_stream(path, compression=None)
    return open_regular(uri)  # follows a link the user named; never opens a FIFO or device


class HttpError(IOError):
    """An http(s) input could not be read after its retries."""


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks to wait (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_wait_s(attempt: int, backoff_s: float, retry_after: float | None = None,
                   max_wait_s: float = MAX_WAIT_S) -> float:
    """The wait before retry number `attempt` (1, 2, ...): the server's Retry-After when it
    sent one, else `backoff_s * 2**(attempt-1)` plus up to half that again at random; both
    capped at `max_wait_s` (urllib3's Retry semantics)."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), max_wait_s)
    base = backoff_s * 2 ** (attempt - 1)
    return min(base * (1 + 0.5 * random.random()), max_wait_s)


class HttpStream(io.RawIOBase):
    """A streamed GET that retries with back-off and resumes a broken transfer by Range."""

    def __init__(self, url: str, retries: int = 5, backoff_s: float = 1.0, timeout_s: float = 60.0,
                 max_wait_s: float = MAX_WAIT_S):
        self.url, self.retries, self.backoff_s, self.timeout_s = url, retries, backoff_s, timeout_s
        self.max_wait_s = max_wait_s
        self.shown = redact_input(url)  # what messages say
        self._fetch, creds = split_credentials(url)
        self._auth = None
        if creds is not None:
            token = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode("ascii")
            self._auth = f"Basic {token}"
        self.pos = 0
        self.attempts = 0  # requests made, for the stats and the tests
        self.waits: list[float] = []  # seconds waited before each retry, for the tests
        self._resp = None
        self._connect()

    def _request(self) -> urllib.request.Request:
        headers = {"User-Agent": USER_AGENT}
        if self.pos:
            headers["Range"] = f"bytes={self.pos}-"
        req = urllib.request.Request(self._fetch, headers=headers)
        if self._auth:  # unredirected: a redirect to another host does not get the password
            req.add_unredirected_header("Authorization", self._auth)
        return req

    def _connect(self) -> None:
        last: Exception | None = None
        retry_after: float | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                wait = backoff_wait_s(attempt, self.backoff_s, retry_after, self.max_wait_s)
                self.waits.append(wait)
                time.sleep(wait)
            self.attempts += 1
            retry_after = None
            try:
                resp = urllib.request.urlopen(self._request(), timeout=self.timeout_s)
            except urllib.error.HTTPError as e:
                if e.code not in _RETRY_STATUS:
                    raise HttpError(f"{self.shown}: HTTP {e.code} {e.reason}") from None
                retry_after = retry_after_s(e.headers.get("Retry-After") if e.headers else None)
                e.close()
                last = e
                continue
            except (urllib.error.URLError, OSError) as e:
                last = e
                continue
            if self.pos and resp.status != 206:
                resp.close()
                raise HttpError(f"{self.shown}: server ignored the Range request to resume at byte {self.pos}")
            self._resp = resp
            return
        reason = error_text(last, uri=self.url)
        raise HttpError(f"{self.shown}: gave up after {self.retries + 1} attempts ({reason})")

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
        raise HttpError(f"{self.shown}: transfer broke {self.retries + 1} times at byte {self.pos}")

    def close(self) -> None:
        if self._resp is not None:
            self._resp.close()
        super().close()


# -- per-file problems (extract stats) -------------------------------------------------------

PROBLEM_REASONS = (
    "warc.unreadable", "warc.corrupt", "warc.truncated", "warc.bad_payload", "warc.undecodable",
    "warc.bad_header", "warc.record_error",
    "extract.timeout", "extract.error", "code.corrupt", "code.unreadable", "code.bad_repo",
    "code.corrupt_member", "extract.no_rows",
)
"""Drop reasons that mean broken input or a failed extraction."""


def problems_by_file(df) -> dict[str, dict[str, int]]:
    """{input file (redacted): {reason: count}} of broken input and failed extractions in an
    extract output (counted with the phase's other counters: curator/stats.py extract_tallies)."""
    from curator.stats import extract_tallies

    return extract_tallies(df, 0)["problems_by_file"]


def problems_from_counts(counts: list[tuple[str, str, int]]) -> dict[str, dict[str, int]]:
    """`problems_by_file` from (file, reason, rows) counts."""
    out: dict[str, dict[str, int]] = {}
    for file, reason, n in sorted(counts):
        per = out.setdefault(redact_input(file), {})
        per[reason] = per.get(reason, 0) + n
    return out
