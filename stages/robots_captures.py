"""robots.txt captures (WARC files of `response` records for `/robots.txt`, as Common Crawl
publishes per snapshot under `robotstxt/`) -> one compact rules file for the run's hosts.

Reading is bounded and forgiving: each file is one Spark task read with the project's bounded
warcio iterator (stages/warc_headers.py); a body is read up to `max_bytes` (RFC 9309 asks
crawlers to parse at least 500 KiB; the rest is ignored and counted `truncated`); a record or
file that cannot be read is one counted bad capture, never the end of its neighbours.

Only the captures of hosts that the run's pages come from are kept (a join with the distinct
hosts of the documents entering the phase), plus those that their redirects lead to, so the
file follows the run, not the snapshot. Spark sorts them by host hash and time into one
Parquet file, which the driver copies batch by batch (never whole) into an uncompressed Arrow
IPC file. Each Python worker memory-maps it once (`RobotsRules`): the lookup columns (64-bit
host hash, capture time, kind) are numpy arrays searched by bisection, and a robots.txt body is
read from the map and parsed (protego, cached) only when a page of its host is judged.

What a capture means (RFC 9309): 2xx: its rules; 3xx: the capture of the URL it redirects to
(followed through at most MAX_REDIRECTS captures; otherwise unknown, so no rule); 4xx: no
rules (everything allowed); 5xx or no response: unreachable, which RFC 9309 treats as
everything disallowed (the stage's `unreachable_robots` setting). Hosts are compared without
scheme (a site's http and https robots.txt are one host's captures) but with a non-default port.

Which capture applies to a page: the most recent one taken at or before the page's WARC-Date
(the rules in force when the page was fetched); when every capture is later, the earliest one
(Common Crawl fetches robots.txt shortly before a host's pages, in the same crawl); a page
without a date takes the latest. A redirect's target capture is chosen the same way.
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import numpy as np
import pyarrow as pa

from curator.errors import InputError
from curator.redact import redact_input
from stages.reading import arrow_safe, error_text

MAX_REDIRECTS = 5
MAX_HEADER_LINE = 64 << 10
MAX_HEADER_BLOCK = 256 << 10
RULES, REDIRECT, ALLOW, UNREACHABLE, UNKNOWN = 0, 1, 2, 3, 4
KINDS = ("rules", "redirect", "allow", "unreachable", "unknown")
CAPTURE_SCHEMA = pa.schema([
    ("h", pa.int64()), ("host", pa.string()), ("at", pa.int64()), ("kind", pa.int8()), ("target", pa.int64()),
    ("url", pa.string()), ("body", pa.string()), ("truncated", pa.bool_()), ("error", pa.string()),
])
"""One row per robots.txt response read (or per unreadable record, with `error`): `h` the
host's hash, `at` the capture time (seconds since 1970), `target` the hash of the host a
redirect leads to."""
RULES_SCHEMA = pa.schema([("h", pa.int64()), ("at", pa.int64()), ("kind", pa.int8()), ("target", pa.int64()),
                          ("host", pa.string()), ("body", pa.string())])


def host_key(url: str | None) -> str | None:
    """The host a robots.txt governs: lower-case host name, plus the port when not 80/443."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if not host:
        return None
    return f"{host}:{port}" if port not in (None, 80, 443) else host


def host_hash(host: str | None) -> int:
    """A host's signed 64-bit hash (0 for none): the rules file's sort and lookup key."""
    if not host:
        return 0
    return int.from_bytes(hashlib.blake2b(host.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big", signed=True)


def seconds(date: str | None) -> int | None:
    """A WARC-Date ("2024-05-01T12:00:00Z", fractions allowed) as seconds since 1970, or None."""
    if not date:
        return None
    try:
        return int(datetime.fromisoformat(date.strip().replace("Z", "+00:00")).timestamp())
    except (ValueError, OverflowError):
        return None


def expand_paths(patterns: list[str]) -> list[str]:
    """Files of the `robots_warcs` setting: local globs (one matching nothing is an InputError),
    and URIs as they are."""
    out = []
    for p in patterns:
        if "://" in p:
            out.append(p)
            continue
        found = sorted(glob.glob(p))
        if not found:
            raise InputError(f"stages.web_optout.robots_warcs: no file matches {redact_input(p)!r}; "
                             f"give robots.txt WARC files (Common Crawl's robotstxt/ segment)")
        out.extend(os.path.abspath(f) for f in found)
    return out


# -- reading (Spark tasks) -----------------------------------------------------------------------

def read_captures(path: str, max_bytes: int) -> Iterator[dict[str, Any]]:
    """One CAPTURE_SCHEMA row per robots.txt response record of a WARC file; a record or file
    that cannot be read is a row with `error`, and reading goes on where it can."""
    from stages.inputs import open_input
    from stages.warc_headers import BoundedArchiveIterator
    from stages.warc_source import _read_capped

    shown = redact_input(path)
    try:
        raw = open_input(path)
    except Exception as e:
        yield _bad(f"{shown}: {error_text(e, uri=path)}")
        return
    try:
        with raw:
            for record in BoundedArchiveIterator(raw, MAX_HEADER_LINE, MAX_HEADER_BLOCK):
                try:
                    row = _capture(record, max_bytes, _read_capped)
                except Exception as e:  # this record only
                    row = _bad(f"{shown}: {error_text(e, uri=path)}")
                if row is not None:
                    yield row
                if getattr(record, "lost_sync", False):
                    yield _bad(f"{shown}: {record.header_error}; the rest of the file cannot be read")
                    return
    except Exception as e:  # the file broke: what was read stays
        yield _bad(f"{shown}: {error_text(e, uri=path)}")


def _bad(error: str) -> dict[str, Any]:
    return {"h": 0, "host": None, "at": 0, "kind": UNKNOWN, "target": 0, "url": None, "body": None,
            "truncated": False, "error": arrow_safe(error)}


def _capture(record, max_bytes: int, read_capped) -> dict[str, Any] | None:
    if getattr(record, "header_error", None):
        return _bad(record.header_error)
    if record.rec_type != "response":
        return None  # requests, metadata, warcinfo: not captures
    url = record.rec_headers.get_header("WARC-Target-URI") or ""
    host = host_key(url)
    if host is None or not urlsplit(url).path.endswith("/robots.txt"):
        return None
    http = record.http_headers
    status = http.get_statuscode() if http else None
    status = int(status) if status and str(status).isdigit() else 0
    body = read_capped(record.content_stream(), max_bytes + 1)
    kind, target = UNREACHABLE, 0
    if 200 <= status < 300:
        kind = RULES
    elif 300 <= status < 400:
        location = http.get_header("Location") if http else None
        target = host_hash(host_key(urljoin(url, location))) if location else 0
        kind = REDIRECT if target else UNKNOWN
    elif 400 <= status < 500:
        kind = ALLOW
    return {
        "h": host_hash(host), "host": arrow_safe(host), "at": seconds(record.rec_headers.get_header("WARC-Date")) or 0,
        "kind": kind, "target": target, "url": arrow_safe(url),
        "body": arrow_safe(body[:max_bytes].decode("utf-8", "replace"), escape=False) if kind == RULES else "",
        "truncated": len(body) > max_bytes, "error": None,
    }


def url_hosts(batches):
    """Arrow batches of page URLs -> batches of their `host_key`s: the run's hosts as the
    lookups will name them (with a non-default port)."""
    for batch in batches:
        hosts = [host_key(u) for u in batch.column(0).to_pylist()]
        yield pa.RecordBatch.from_arrays([pa.array(hosts, pa.string())], names=["host"])


def _capture_batches(batches, files: list[str], max_bytes: int):
    for batch in batches:
        for i in batch.column(0).to_pylist():
            rows = []
            for row in read_captures(files[i], max_bytes):
                rows.append(row)
                if len(rows) == 1000:
                    yield pa.RecordBatch.from_pylist(rows, schema=CAPTURE_SCHEMA)
                    rows = []
            if rows:
                yield pa.RecordBatch.from_pylist(rows, schema=CAPTURE_SCHEMA)


# -- the rules file (driver) -----------------------------------------------------------------------

def write_rules(batches: Iterable[pa.RecordBatch], path: Path) -> int:
    """Write batches sorted by (h, at) as the rules file (RULES_SCHEMA, uncompressed Arrow IPC,
    through a temporary name); the number of captures written."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    n = 0
    try:
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, RULES_SCHEMA) as w:
            for b in batches:
                b = pa.RecordBatch.from_arrays([b.column(f.name).cast(f.type) for f in RULES_SCHEMA], schema=RULES_SCHEMA)
                w.write_batch(b)
                n += b.num_rows
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return n


def build_rules(spark, files: list[str], urls_df, max_bytes: int, work_dir: Path) -> tuple[Path, dict[str, Any]]:
    """Read the captures (one Spark task per file), keep those of the hosts of `urls_df`'s
    pages (its one column: their URLs) and of the hosts their redirects lead to, write the
    rules file under `work_dir`; (its path, counts for the stats)."""
    import shutil
    import uuid
    from functools import partial

    import pyarrow.parquet as pq
    from pyspark.sql import functions as F

    from curator.schema import spark_schema

    fn = partial(_capture_batches, files=files, max_bytes=max_bytes)
    captures = spark.range(0, len(files), 1, max(1, len(files))).mapInArrow(fn, spark_schema(CAPTURE_SCHEMA)).cache()
    tmp = work_dir / f".robots-{uuid.uuid4().hex}"
    try:
        totals = captures.agg(
            F.count(F.lit(1)).alias("records"), F.count("error").alias("bad"),
            F.sum(F.col("truncated").cast("long")).alias("truncated"),
        ).collect()[0]
        good = captures.where(F.col("error").isNull())
        hosts = urls_df.mapInArrow(url_hosts, spark_schema(pa.schema([("host", pa.string())])))
        wanted = hosts.where(F.col("host").isNotNull()).distinct()
        kept = good.join(wanted, "host").select("h").distinct()
        frontier = kept
        for _ in range(MAX_REDIRECTS):  # the hosts redirects lead to, hop by hop
            targets = (good.join(frontier, "h").where(F.col("kind") == REDIRECT)
                       .select(F.col("target").alias("h")).distinct().join(kept, "h", "left_anti"))
            if targets.isEmpty():
                break
            kept = kept.union(targets).distinct()
            frontier = targets
        (good.join(kept, "h").select(*RULES_SCHEMA.names, "url").repartition(1)
         .sortWithinPartitions("h", "at", "url").drop("url").write.parquet(str(tmp)))
        parts = sorted(tmp.glob("part-*.parquet"))
        batches = (b for p in parts for b in pq.ParquetFile(p).iter_batches(batch_size=10_000))
        staging = work_dir / f".robots-{uuid.uuid4().hex}.arrow"
        n = write_rules(batches, staging)
        digest = hashlib.sha256()
        with open(staging, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        path = work_dir / f"robots-{digest.hexdigest()[:16]}.arrow"
        os.replace(staging, path)
    finally:
        captures.unpersist()
        shutil.rmtree(tmp, ignore_errors=True)
    rules = RobotsRules(path)
    kinds = {k: int(np.count_nonzero(rules.kind == i)) for i, k in enumerate(KINDS)}
    info = {"robots_files": len(files), "robots_records": int(totals["records"] - totals["bad"]),
            "robots_bad_records": int(totals["bad"]), "robots_truncated": int(totals["truncated"] or 0),
            "robots_captures_used": n, "robots_hosts": int(len(np.unique(rules.h))),
            "robots_capture_kinds": kinds, "robots_file_bytes": path.stat().st_size}
    return path, info


# -- lookups (workers) ---------------------------------------------------------------------------

class RobotsRules:
    """The rules file, memory-mapped once per worker (see the module docstring)."""

    def __init__(self, path: str | os.PathLike):
        with pa.memory_map(str(path)) as source:
            self.table = pa.ipc.open_file(source).read_all()
        self.h = self._numpy("h")
        self.at = self._numpy("at")
        self.kind = self._numpy("kind")
        self.target = self._numpy("target")
        self.body = self.table.column("body")
        self._parsed = lru_cache(maxsize=4096)(self._parse)

    def _numpy(self, name: str) -> np.ndarray:
        col = self.table.column(name)
        return col.to_numpy() if col.num_chunks != 1 else col.chunk(0).to_numpy(zero_copy_only=True)

    def _parse(self, i: int):
        from protego import Protego

        return Protego.parse(self.body[i].as_py())

    def _nearest(self, h: int, when: int | None, final: bool = False) -> int | None:
        """The capture of host hash `h` in force at `when` (see the module docstring); with
        `final`, the nearest that is not itself a redirect, if the host has one (an http ->
        https redirect leads to the same host)."""
        lo = int(np.searchsorted(self.h, h, "left"))
        hi = int(np.searchsorted(self.h, h, "right"))
        if lo == hi:
            return None
        cut = hi if when is None else lo + int(np.searchsorted(self.at[lo:hi], when, "right"))
        first = cut - 1 if cut > lo else lo
        if final:  # at or before `when`, latest first; then later ones
            for i in (*range(cut - 1, lo - 1, -1), *range(cut, hi)):
                if self.kind[i] != REDIRECT:
                    return i
        return first

    def capture(self, url: str | None, date: str | None) -> int | None:
        """The row of the capture that governs `url` fetched at `date` (a WARC-Date), a
        redirect followed to its target's capture; None when its host has none."""
        when = seconds(date)
        i = self._nearest(host_hash(host_key(url)), when)
        for _ in range(MAX_REDIRECTS):
            if i is None or self.kind[i] != REDIRECT:
                return i
            j = self._nearest(int(self.target[i]), when, final=True)
            if j is None:
                return i
            i = j
        return i

    def meaning(self, i: int) -> str:
        return KINDS[int(self.kind[i])]

    def when(self, i: int) -> str:
        return datetime.fromtimestamp(int(self.at[i]), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def disallowed(self, i: int, url: str, agents: list[str], unreachable: str = "disallow") -> list[str]:
        """The agents of `agents` that capture `i` does not allow to fetch `url`."""
        kind = int(self.kind[i])
        if kind == UNREACHABLE:
            return list(agents) if unreachable == "disallow" else []
        if kind != RULES:
            return []
        rp = self._parsed(i)
        return [a for a in agents if not rp.can_fetch(url, a)]
