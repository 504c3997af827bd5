"""Common Crawl-style WARC and WET files -> document rows, one Spark task per file.

Every record leaves a row: HTML `response` records with a 2xx status become documents (text
by the manifest's extractor); WET `conversion` records are plain text used as they are; all
other records are kept as rows with a `warc.*` drop reason, so the extract funnel counts
them. Broken input never raises: a file that cannot be opened is `warc.unreadable`, one that
cannot be read further leaves a `warc.corrupt` row naming where it stopped, a record cut
short by the end of the file is `warc.truncated`, a record whose payload breaks (bad chunked
encoding, bad gzip inside) is `warc.bad_payload`, a page that will not decode is
`warc.undecodable` and a page the extractor does not finish in time is `extract.timeout`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from stages.extractors import ExtractionTimeout, UndecodablePage, decode_html, extract_text
from stages.inputs import open_input, snapshot_of

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_WS = b"\r\n\t \0"


def _row(rec_id, source, domain, url, text, meta, reason) -> dict[str, Any]:
    return {
        "id": rec_id, "source": source, "kind": "warc", "domain": domain, "url": url,
        "text": text, "lang": None, "lang_score": None, "meta": meta, "drop_reason": reason,
    }


class _Tracked:
    """A read-only stream that remembers how many bytes it gave and where its last
    non-blank byte was, so bytes warcio stops at silently (a cut gzip member) are noticed
    without seeking (http and s3 streams cannot seek)."""

    def __init__(self, raw):
        self.raw = raw
        self.pos = 0
        self.last_content = 0

    def read(self, n: int = -1) -> bytes:
        block = self.raw.read(n)
        if block:
            stripped = len(block.rstrip(_WS))
            if stripped:
                self.last_content = self.pos + stripped
            self.pos += len(block)
        return block

    def readinto(self, buf) -> int:
        block = self.read(len(buf))
        buf[: len(block)] = block
        return len(block)

    def drain(self) -> None:
        while self.read(1 << 20):
            pass


def _read_capped(stream, limit: int) -> bytes:
    """Up to `limit` bytes: warcio's streams return short reads, so read until EOF or the cap."""
    chunks, size = [], 0
    while size < limit:
        block = stream.read(min(1 << 16, limit - size))
        if not block:
            break
        chunks.append(block)
        size += len(block)
    return b"".join(chunks)


def read_warc(path: str, source: str, domain: str, settings, snapshot: str | None = None) -> Iterator[dict[str, Any]]:
    """Rows of every record of one WARC/WET file (local path or URI); never raises on bad input."""
    snap = snapshot_of(path, snapshot)
    n, end = 0, 0
    try:
        raw = open_input(path, retries=getattr(settings, "http_retries", 5))
    except Exception as e:
        yield _row(
            f"{path}#unreadable", source, domain, None, "",
            {"warc_file": path, "snapshot": snap, "error": f"{type(e).__name__}: {e}"[:500]},
            "warc.unreadable",
        )
        return
    try:
        with raw:
            f = _Tracked(raw)
            for row, end in _records(f, path, source, domain, settings, snap, skip=0):
                n += 1
                yield row
            f.drain()
        if f.last_content > end:  # bytes warcio stopped at silently (a cut gzip member)
            raise ValueError(f"{f.pos - end} unreadable bytes after the last record")
        if n == 0:  # an empty file still leaves a row, so the funnel shows it was read
            yield _row(f"{path}#empty", source, domain, None, "", {"warc_file": path, "snapshot": snap}, "warc.empty")
    except Exception as e:
        if "non-chunked gzip" in str(e):  # one gzip stream for the whole file: legal, read it so
            yield from _read_whole_gzip(path, source, domain, settings, snap, skip=n)
            return
        yield _corrupt_row(path, source, domain, snap, end, n, e)


def _corrupt_row(path, source, domain, snap, end, n, e) -> dict[str, Any]:
    """A broken file must not kill the job: count it where it broke, keep what was read."""
    return _row(
        f"{path}#corrupt@{end}:{n}", source, domain, None, "",
        {"warc_file": path, "snapshot": snap, "warc_offset": str(end), "error": f"{type(e).__name__}: {e}"[:500]},
        "warc.corrupt",
    )


def _records(stream, path, source, domain, settings, snap, skip: int):
    """(row, end offset of the record) for every record after the first `skip`."""
    from warcio.archiveiterator import ArchiveIterator

    it = ArchiveIterator(stream)
    for k, record in enumerate(it):
        if k < skip:
            continue
        row = _record_row(record, path, source, domain, settings, snap)
        offset = it.get_record_offset()  # reads the record to its end: only after parsing
        end = offset + it.get_record_length()
        row["meta"]["warc_offset"] = str(offset)
        row["id"] = row["id"] or f"{path}@{offset}"
        missing = getattr(record.raw_stream, "limit", 0)  # bytes the file did not have
        if missing > 0:
            row.update(text="", drop_reason="warc.truncated")
            row["meta"]["missing_bytes"] = str(missing)
        yield row, end


def _read_whole_gzip(path, source, domain, settings, snap, skip: int) -> Iterator[dict[str, Any]]:
    import gzip

    n, end = skip, 0
    try:
        with open_input(path, retries=getattr(settings, "http_retries", 5)) as raw, gzip.GzipFile(fileobj=raw) as gz:
            for row, end in _records(gz, path, source, domain, settings, snap, skip=skip):
                n += 1
                row["meta"]["whole_file_gzip"] = "1"  # offsets are in the uncompressed stream
                yield row
    except Exception as e:
        yield _corrupt_row(path, source, domain, snap, end, n, e)


def _record_row(record, path, source, domain, settings, snapshot) -> dict[str, Any]:
    h = record.rec_headers
    rec_type = record.rec_type or "unknown"
    rec_id = h.get_header("WARC-Record-ID")
    url = h.get_header("WARC-Target-URI")
    host = ""
    if url:
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:  # a target URI that is not a URL
            host = ""
    meta = {
        "warc_file": path,
        "snapshot": snapshot,
        "record_type": rec_type,
        "warc_date": h.get_header("WARC-Date") or "",
        "record_id": rec_id,
        "host": host,
        "domain_name": host[4:] if host.startswith("www.") else host,
    }
    if rec_type == "conversion":  # WET: the text Common Crawl extracted, used as it is
        return _wet_row(record, rec_id, source, domain, url, meta, settings)
    if rec_type != "response":
        return _row(rec_id, source, domain, url, "", meta, f"warc.skip_{rec_type}")
    http = record.http_headers
    status = http.get_statuscode() if http else None
    content_type = (http.get_header("Content-Type") or "") if http else ""
    meta.update(
        http_status=str(status or ""),
        content_type=content_type,
        content_digest=h.get_header("WARC-Payload-Digest") or "",
    )
    if not status or not str(status).startswith("2"):
        return _row(rec_id, source, domain, url, "", meta, "warc.http_status")
    if not content_type.split(";")[0].strip().lower() in _HTML_TYPES:
        return _row(rec_id, source, domain, url, "", meta, "warc.not_html")
    try:
        payload = _read_capped(record.content_stream(), settings.max_record_bytes + 1)
    except Exception as e:  # bad chunked encoding or content-encoding: the next record may be fine
        meta["error"] = f"{type(e).__name__}: {e}"[:500]
        return _row(rec_id, source, domain, url, "", meta, "warc.bad_payload")
    if len(payload) > settings.max_record_bytes:
        return _row(rec_id, source, domain, url, "", meta, "warc.too_large")
    try:
        html, charset, charset_from = decode_html(payload, content_type)
    except UndecodablePage as e:
        meta["error"] = str(e)[:500]
        return _row(rec_id, source, domain, url, "", meta, "warc.undecodable")
    meta.update(charset=charset, charset_from=charset_from, extractor=settings.extractor)
    started = time.perf_counter()
    try:
        text = extract_text(html, settings)
    except ExtractionTimeout as e:
        meta["error"] = str(e)
        return _row(rec_id, source, domain, url, "", meta, "extract.timeout")
    except Exception as e:
        meta["error"] = f"{type(e).__name__}: {e}"[:500]
        return _row(rec_id, source, domain, url, "", meta, "extract.error")
    finally:
        meta["extract_ms"] = f"{(time.perf_counter() - started) * 1000:.1f}"
    if not text or not text.strip():
        return _row(rec_id, source, domain, url, "", meta, "extract.empty")
    return _row(rec_id, source, domain, url, text, meta, None)


def _wet_row(record, rec_id, source, domain, url, meta, settings) -> dict[str, Any]:
    meta.update(
        content_digest=record.rec_headers.get_header("WARC-Block-Digest") or "",
        content_languages=record.rec_headers.get_header("WARC-Identified-Content-Language") or "",
        charset="utf-8", charset_from="wet",
    )
    try:
        payload = _read_capped(record.content_stream(), settings.max_record_bytes + 1)
    except Exception as e:
        meta["error"] = f"{type(e).__name__}: {e}"[:500]
        return _row(rec_id, source, domain, url, "", meta, "warc.bad_payload")
    if len(payload) > settings.max_record_bytes:
        return _row(rec_id, source, domain, url, "", meta, "warc.too_large")
    text = payload.decode("utf-8", errors="replace")
    if not text.strip():
        return _row(rec_id, source, domain, url, "", meta, "extract.empty")
    return _row(rec_id, source, domain, url, text, meta, None)
