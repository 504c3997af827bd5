"""Common Crawl-style WARC files -> document rows, one Spark task per file.

Every record leaves a row: HTML `response` records with a 2xx status become documents
(text by trafilatura); all other records are kept as rows with a `warc.*` drop reason, so
the extract funnel counts them; a file that cannot be read further leaves a `warc.corrupt`
row naming where it stopped, and a record cut short by the end of the file is
`warc.truncated` (its text would be partial).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def _row(rec_id, source, domain, url, text, meta, reason) -> dict[str, Any]:
    return {
        "id": rec_id, "source": source, "kind": "warc", "domain": domain, "url": url,
        "text": text, "lang": None, "lang_score": None, "meta": meta, "drop_reason": reason,
    }


def _decode(payload: bytes, content_type: str) -> tuple[str | bytes, str]:
    """Text by the HTTP header's charset when it names a real codec; else bytes for trafilatura
    to decode from the meta tag or by detection."""
    m = _CHARSET.search(content_type or "")
    if m:
        try:
            return payload.decode(m.group(1), errors="replace"), m.group(1).lower()
        except LookupError:
            pass
    return payload, "detected"


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


def extract_html(html: str | bytes, settings) -> str | None:
    import trafilatura

    return trafilatura.extract(
        html,
        favor_precision=settings.favor_precision,
        favor_recall=settings.favor_recall,
        include_tables=settings.include_tables,
        include_comments=settings.include_comments,
        deduplicate=False,
        with_metadata=False,
    )


def read_warc(path: str, source: str, domain: str, settings) -> Iterator[dict[str, Any]]:
    from warcio.archiveiterator import ArchiveIterator

    n, offset, end = 0, 0, 0
    try:
        with open(path, "rb") as f:
            it = ArchiveIterator(f)
            for record in it:
                n += 1
                row = _record_row(record, path, source, domain, settings)
                offset = it.get_record_offset()  # reads the record to its end: only after parsing
                end = offset + it.get_record_length()
                row["meta"]["warc_offset"] = str(offset)
                row["id"] = row["id"] or f"{path}@{offset}"
                missing = getattr(record.raw_stream, "limit", 0)  # bytes the file did not have
                if missing > 0:
                    row.update(text="", drop_reason="warc.truncated")
                    row["meta"]["missing_bytes"] = str(missing)
                yield row
            f.seek(end)
            rest = f.read(1 << 16)
        if rest.strip(b"\r\n\t \0"):  # bytes warcio stopped at silently (a cut gzip member)
            raise ValueError(f"{os.path.getsize(path) - end} unreadable bytes after the last record")
    except Exception as e:  # a broken file must not kill the job: count it, keep what was read
        yield _row(
            f"{path}#corrupt@{end}:{n}", source, domain, None, "",
            {"warc_file": path, "warc_offset": str(end), "error": f"{type(e).__name__}: {e}"[:500]},
            "warc.corrupt",
        )


def _record_row(record, path, source, domain, settings) -> dict[str, Any]:
    h = record.rec_headers
    rec_type = record.rec_type or "unknown"
    rec_id = h.get_header("WARC-Record-ID")
    url = h.get_header("WARC-Target-URI")
    meta = {
        "warc_file": path,
        "record_type": rec_type,
        "warc_date": h.get_header("WARC-Date") or "",
        "record_id": rec_id,
    }
    if rec_type != "response":
        return _row(rec_id, source, domain, url, "", meta, f"warc.skip_{rec_type}")
    http = record.http_headers
    status = http.get_statuscode() if http else None
    content_type = (http.get_header("Content-Type") or "") if http else ""
    meta.update(
        http_status=str(status or ""),
        content_type=content_type,
        content_digest=h.get_header("WARC-Payload-Digest") or "",
        host=(urlsplit(url).hostname or "") if url else "",
    )
    if not status or not str(status).startswith("2"):
        return _row(rec_id, source, domain, url, "", meta, "warc.http_status")
    if not content_type.split(";")[0].strip().lower() in _HTML_TYPES:
        return _row(rec_id, source, domain, url, "", meta, "warc.not_html")
    payload = _read_capped(record.content_stream(), settings.max_record_bytes + 1)
    if len(payload) > settings.max_record_bytes:
        return _row(rec_id, source, domain, url, "", meta, "warc.too_large")
    html, charset = _decode(payload, content_type)
    meta["charset"] = charset
    started = time.perf_counter()
    try:
        text = extract_html(html, settings)
    except Exception as e:
        meta["error"] = f"{type(e).__name__}: {e}"[:500]
        return _row(rec_id, source, domain, url, "", meta, "extract.error")
    meta["extract_ms"] = f"{(time.perf_counter() - started) * 1000:.1f}"
    if not text or not text.strip():
        return _row(rec_id, source, domain, url, "", meta, "extract.empty")
    return _row(rec_id, source, domain, url, text, meta, None)
