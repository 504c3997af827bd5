"""robots.txt captures (WARC files of `response` records for `/robots.txt`, as Common Crawl
publishes per snapshot under `robotstxt/`) -> one compact rules file for the run's hosts.

Reading is bounded and forgiving: each file is one Spark task read with the project's bounded
warcio iterator (stages/warc_headers.py); a body is read up to `max_bytes` (RFC 9309 asks
crawlers to parse at least 500 KiB; the rest is ignored and counted `truncated`); a record or
file that cannot be read is one counted bad capture, never the end of the file's neighbours.
Only the captures of hosts that the run's pages come from are kept (a join with the distinct
hosts of the documents entering the phase), so the file's size follows the run, not the
snapshot. They are written sorted by host and capture time as an uncompressed Arrow IPC file,
which each Python worker memory-maps once (`RobotsRules`).

What a capture means (RFC 9309): 2xx: its rules; 3xx: the capture of the URL it redirects to
(followed through at most MAX_REDIRECTS captures of the run's hosts; otherwise unknown, so no
rule); 4xx: no rules (everything allowed); 5xx or no response: unreachable, which RFC 9309
treats as everything disallowed (`unreachable_robots` setting). Hosts are compared without
scheme (a site's http and https robots.txt are one host's captures) but with a non-default
port.

Which capture applies to a page: the most recent one taken at or before the page's WARC-Date
(the rules in force when the page was fetched); when every capture is later, the earliest one
(Common Crawl fetches robots.txt shortly before a host's pages, in the same crawl).
"""

from __future__ import annotations

import bisect
import glob
import hashlib
import os
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pyarrow as pa

from curator.errors import InputError
from curator.redact import redact_input
from stages.reading import arrow_safe, error_text

MAX_REDIRECTS = 5
MAX_HEADER_LINE = 64 << 10
MAX_HEADER_BLOCK = 256 << 10
CAPTURE_SCHEMA = pa.schema([
    ("host", pa.string()), ("date", pa.string()), ("status", pa.int32()), ("url", pa.string()),
    ("location", pa.string()), ("body", pa.string()), ("truncated", pa.bool_()), ("error", pa.string()),
])
RULES_SCHEMA = pa.schema([("host", pa.string()), ("date", pa.string()), ("kind", pa.string()), ("body", pa.string())])
"""kind: rules (parse `body`) | allow (nothing disallowed) | disallow (everything) | unknown."""


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


def day_time(date: str | None) -> str:
    """A WARC-Date cut to seconds ("2024-05-01T12:00:00"), so that dates compare as strings."""
    return (date or "")[:19]


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


def read_captures(path: str, max_bytes: int) -> Iterator[dict[str, Any]]:
    """One row per robots.txt response record of a WARC file; a record or file that cannot be
    read is a row with `error` (and no host), and reading goes on where it can."""
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
    return {"host": None, "date": None, "status": None, "url": None, "location": None, "body": None,
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
    body = read_capped(record.content_stream(), max_bytes + 1)
    return {
        "host": arrow_safe(host), "date": day_time(record.rec_headers.get_header("WARC-Date")),
        "status": int(status) if status and str(status).isdigit() else 0, "url": arrow_safe(url),
        "location": arrow_safe(http.get_header("Location") or "") if http else "",
        "body": arrow_safe(body[:max_bytes].decode("utf-8", "replace"), escape=False),
        "truncated": len(body) > max_bytes, "error": None,
    }


def _capture_batches(batches, files: list[str], max_bytes: int):
    for batch in batches:
        for i in batch.column(0).to_pylist():
            rows = list(read_captures(files[i], max_bytes))
            for k in range(0, len(rows), 1000):
                yield pa.RecordBatch.from_pylist(rows[k:k + 1000], schema=CAPTURE_SCHEMA)


def build_rules(spark, files: list[str], hosts_df, max_bytes: int, unreachable: str, work_dir: Path) -> tuple[Path, dict[str, Any]]:
    """Read the captures (one Spark task per file), keep those of `hosts_df`'s hosts (column
    `host`), write the rules file under `work_dir`; (its path, counts for the stats)."""
    from functools import partial

    from pyspark.sql import functions as F

    from curator.phases import write_atomic
    from curator.schema import spark_schema

    fn = partial(_capture_batches, files=files, max_bytes=max_bytes)
    captures = spark.range(0, len(files), 1, max(1, len(files))).mapInArrow(fn, spark_schema(CAPTURE_SCHEMA)).cache()
    try:
        totals = captures.agg(
            F.count(F.lit(1)).alias("records"), F.count("error").alias("bad"),
            F.sum(F.col("truncated").cast("long")).alias("truncated"),
        ).collect()[0]
        wanted = hosts_df.select("host").where(F.col("host").isNotNull()).distinct()
        kept = captures.where(F.col("error").isNull()).join(wanted, "host").collect()
    finally:
        captures.unpersist()
    rows = sorted((r.asDict() for r in kept), key=lambda r: (r["host"], r["date"], r["url"] or ""))
    table = resolve(rows, unreachable)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, RULES_SCHEMA) as w:
        w.write_table(table)
    data = sink.getvalue().to_pybytes()
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / f"robots-{hashlib.sha256(data).hexdigest()[:16]}.arrow"
    if not path.exists():
        write_atomic(path, data)
    kinds = {k: 0 for k in ("rules", "allow", "disallow", "unknown")}
    for k in table.column("kind").to_pylist():
        kinds[k] += 1
    info = {"robots_files": len(files), "robots_records": int(totals["records"] - totals["bad"]),
            "robots_bad_records": int(totals["bad"]), "robots_truncated": int(totals["truncated"] or 0),
            "robots_captures_used": table.num_rows, "robots_hosts": len(set(table.column("host").to_pylist())),
            "robots_capture_kinds": kinds, "robots_file_bytes": path.stat().st_size}
    return path, info


def resolve(rows: list[dict[str, Any]], unreachable: str = "disallow") -> pa.Table:
    """RULES_SCHEMA rows from capture rows sorted by (host, date): each capture's meaning
    (see the module docstring), a redirect replaced by its target's nearest capture."""
    by_host: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_host.setdefault(r["host"], []).append(r)

    def meaning(r: dict[str, Any], hops: int) -> tuple[str, str]:
        s = r["status"] or 0
        if 200 <= s < 300:
            return "rules", r["body"] or ""
        if 300 <= s < 400:
            target = urljoin(r["url"] or "", r["location"] or "") if r["location"] else ""
            found = by_host.get(host_key(target) or "") if hops < MAX_REDIRECTS else None
            if not found:
                return "unknown", ""
            return meaning(nearest(found, r["date"]), hops + 1)
        if 400 <= s < 500:
            return "allow", ""
        return unreachable, ""

    out = {"host": [], "date": [], "kind": [], "body": []}
    for r in rows:
        kind, body = meaning(r, 0)
        for k, v in (("host", r["host"]), ("date", r["date"]), ("kind", kind), ("body", body)):
            out[k].append(v)
    return pa.table(out, schema=RULES_SCHEMA)


def nearest(captures: list[dict[str, Any]], date: str | None) -> dict[str, Any]:
    """Of one host's captures sorted by date: the latest at or before `date`, else the earliest
    (no date: the latest)."""
    if not date:
        return captures[-1]
    i = bisect.bisect_right([c["date"] for c in captures], day_time(date))
    return captures[i - 1] if i else captures[0]


class RobotsRules:
    """The rules file, memory-mapped once per worker: `verdict(url, date, agents)`."""

    def __init__(self, path: str | os.PathLike):
        with pa.memory_map(str(path)) as source:
            self.table = pa.ipc.open_file(source).read_all()
        self.dates = self.table.column("date").to_pylist()
        self.kinds = self.table.column("kind").to_pylist()
        self.spans: dict[str, tuple[int, int]] = {}
        for i, h in enumerate(self.table.column("host").to_pylist()):
            lo, _ = self.spans.get(h, (i, i))
            self.spans[h] = (lo, i + 1)
        self._parsed = lru_cache(maxsize=4096)(self._parse)

    def _parse(self, i: int):
        from protego import Protego

        return Protego.parse(self.table.column("body")[i].as_py())

    def capture(self, url: str | None, date: str | None) -> int | None:
        """The row of the capture that governs `url` fetched at `date`, or None."""
        span = self.spans.get(host_key(url) or "")
        if span is None:
            return None
        lo, hi = span
        if not date:
            return hi - 1
        i = bisect.bisect_right(self.dates, day_time(date), lo, hi)
        return i - 1 if i > lo else lo

    def disallowed(self, i: int, url: str, agents: list[str]) -> list[str]:
        """The agents of `agents` that capture `i` does not allow to fetch `url`."""
        kind = self.kinds[i]
        if kind == "disallow":
            return list(agents)
        if kind != "rules":
            return []
        rp = self._parsed(i)
        return [a for a in agents if not rp.can_fetch(url, a)]
