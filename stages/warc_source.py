"""Common Crawl-style WARC and WET files -> document rows, one Spark task per file.

Every record leaves a row: HTML `response` records with a 2xx status become documents (text
by the manifest's extractor); WET `conversion` records are plain text used as they are; all
other records are kept as rows with a `warc.*` drop reason, so the extract funnel counts
them. Broken input never raises: a file that cannot be opened is `warc.unreadable`, one that
cannot be read further leaves a `warc.corrupt` row naming where it stopped, a record cut
short by the end of the file is `warc.truncated`, a record whose payload breaks (bad chunked
encoding, bad gzip inside) is `warc.bad_payload`, a page that will not decode is
`warc.undecodable` and a page the extractor does not finish in time is `extract.timeout`.
A decoded page that an early rule rejects (stages/precheck.py: the URL blocklist, the
language pre-check) is never extracted: it keeps that rule's reason and
`meta["skipped_extraction"]`. A decoded page's opt-out signals (X-Robots-Tag, robots and
TDM meta tags: stages/optout_signals.py) go into its meta, for the `web_optout` stage.

One record never costs its neighbours: a header line or block over its limit
(`max_header_line_bytes`, `max_header_bytes`, see stages/warc_headers.py) is
`warc.bad_header`, and any other error while building one record's row is that record's
`warc.record_error`; reading goes on with the next record. Every record taken from warcio
is counted (`tally.take()`, its number in `meta["record"]`) before its row is built, so a
record without a row fails the extract accounting. Input names in rows and errors are
redacted (`redact_input`); documents' URLs lose their user-info (`redact_userinfo`). A local
input that is not a regular file (a FIFO or device a glob matched) is `warc.unreadable`,
never opened (stages/local_files.py). Every string in a row is one Arrow can store (no lone
surrogates) and every meta value a str (`_arrow_safe`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from curator.redact import redact_input, redact_userinfo
from curator.tally import Tally
from stages.extractors import ExtractionTimeout, UndecodablePage, decode_html, extract_clean_text, strip_controls
from stages.inputs import open_input, snapshot_of
from stages.optout_signals import record_signals
from stages.reading import arrow_safe, error_text

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_WS = b"\r\n\t \0"


def _row(rec_id, source, domain, url, text, meta, reason) -> dict[str, Any]:
    return {
        "id": rec_id, "source": source, "kind": "warc", "domain": domain, "url": url,
        "text": text, "lang": None, "lang_score": None, "meta": meta, "drop_reason": reason,
    }


def _arrow_safe(row: dict[str, Any]) -> dict[str, Any]:
    """The row with every string Arrow can store, whatever the record held: no lone
    surrogates (a non-UTF-8 file name, a page decoded to them), every meta key and value a
    str. Names keep what a surrogate stood for as an escape; the text gets U+FFFD."""
    for key in ("id", "url", "source", "domain"):
        if row[key] is not None:
            row[key] = arrow_safe(row[key])
    row["text"] = arrow_safe(row["text"], escape=False)
    row["meta"] = {arrow_safe(k): arrow_safe(v) for k, v in row["meta"].items()}
    return row


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


class LostSync(ValueError):
    """A record's header went over its limits where the next record cannot be found."""


def read_warc(path: str, source: str, domain: str, settings, snapshot: str | None = None,
              tally: Tally | None = None, anonymous: bool = False, cascade=None) -> Iterator[dict[str, Any]]:
    """Rows of every record of one WARC/WET file (local path or URI), each one Arrow can
    store; never raises on bad input. `tally` counts the records taken from the file
    (curator/tally.py); `anonymous`: the source's setting, an s3:// file is read unsigned;
    `cascade`: the rules run before extraction (stages/precheck.py), None for none."""
    tally = Tally() if tally is None else tally
    if cascade is not None:
        cascade.runtime.load()  # a missing list or model fails the task, not every record
    settings = _WithCascade(settings, cascade)
    for row in _read_warc(path, source, domain, settings, snapshot, tally, anonymous):
        yield _arrow_safe(row)


class _WithCascade:
    """The extract settings plus the cascade, passed down as one object."""

    def __init__(self, settings, cascade):
        self._settings = settings
        self.cascade = cascade

    def __getattr__(self, name):
        return getattr(self._settings, name)


def _read_warc(path, source, domain, settings, snapshot, tally: Tally, anonymous: bool = False) -> Iterator[dict[str, Any]]:
    shown = redact_input(path)
    snap = snapshot_of(path, snapshot)
    n, end = 0, 0
    try:
        raw = open_input(path, retries=getattr(settings, "http_retries", 5), anonymous=anonymous)
    except Exception as e:
        yield _row(
            f"{shown}#unreadable", source, domain, None, "",
            {"warc_file": shown, "snapshot": snap, "error": error_text(e, uri=path)},
            "warc.unreadable",
        )
        return
    try:
        with raw:
            f = _Tracked(raw)
            for row, end in _records(f, path, source, domain, settings, snap, 0, tally):
                n += 1
                yield row
            f.drain()
        if f.last_content > end:  # bytes warcio stopped at silently (a cut gzip member)
            raise ValueError(f"{f.pos - end} unreadable bytes after the last record")
        if n == 0:  # an empty file still leaves a row, so the funnel shows it was read
            yield _row(f"{shown}#empty", source, domain, None, "", {"warc_file": shown, "snapshot": snap}, "warc.empty")
    except Exception as e:
        if "non-chunked gzip" in str(e):  # one gzip stream for the whole file: legal, read it so
            yield from _read_whole_gzip(path, source, domain, settings, snap, n, tally, anonymous)
            return
        yield _corrupt_row(path, source, domain, snap, end, n, e)


def _corrupt_row(path, source, domain, snap, end, n, e) -> dict[str, Any]:
    """A broken file must not kill the job: count it where it broke, keep what was read."""
    shown = redact_input(path)
    return _row(
        f"{shown}#corrupt@{end}:{n}", source, domain, None, "",
        {"warc_file": shown, "snapshot": snap, "warc_offset": str(end), "error": error_text(e, uri=path)},
        "warc.corrupt",
    )


def _records(stream, path, source, domain, settings, snap, skip: int, tally: Tally):
    """(row, end offset of the record) for every record after the first `skip` (those were
    read and counted before: the whole-file gzip fallback starts again from the top)."""
    from stages.warc_headers import BoundedArchiveIterator

    shown = redact_input(path)
    it = BoundedArchiveIterator(stream, settings.max_header_line_bytes, settings.max_header_bytes)
    end = 0
    for k, record in enumerate(it):
        if k < skip:
            continue
        number = tally.take()
        row = _safe_row(record, path, source, domain, settings, snap)
        row["meta"]["record"] = number
        if getattr(record, "lost_sync", False):  # its end, and so the next record, is unknown
            row["meta"]["warc_offset"] = str(it.offset)
            row["id"] = row["id"] or f"{shown}@{it.offset}"
            yield row, end
            raise LostSync(f"{record.header_error}; the next record cannot be found in an uncompressed stream")
        try:
            offset = it.get_record_offset()  # reads the record to its end: only after parsing
            end = offset + it.get_record_length()
        except Exception:  # the stream broke inside this record: its row still counts
            row["id"] = row["id"] or f"{shown}@{it.offset}"
            yield row, end
            raise
        row["meta"]["warc_offset"] = str(offset)
        row["id"] = row["id"] or f"{shown}@{offset}"
        missing = getattr(record.raw_stream, "limit", 0)  # bytes the file did not have
        if missing > 0 and row["drop_reason"] != "warc.bad_header":
            row.update(text="", drop_reason="warc.truncated")
            row["meta"]["missing_bytes"] = str(missing)
        yield row, end


def _read_whole_gzip(path, source, domain, settings, snap, skip: int, tally: Tally,
                     anonymous: bool = False) -> Iterator[dict[str, Any]]:
    import gzip

    n, end = skip, 0
    try:
        with open_input(path, retries=getattr(settings, "http_retries", 5), anonymous=anonymous) as raw, gzip.GzipFile(fileobj=raw) as gz:
            for row, end in _records(gz, path, source, domain, settings, snap, skip, tally):
                n += 1
                row["meta"]["whole_file_gzip"] = "1"  # offsets are in the uncompressed stream
                yield row
    except Exception as e:
        yield _corrupt_row(path, source, domain, snap, end, n, e)


def _safe_row(record, path, source, domain, settings, snap) -> dict[str, Any]:
    """The record's row; an error building it is the record's own `warc.record_error`."""
    try:
        return _record_row(record, path, source, domain, settings, snap)
    except Exception as e:
        try:
            rec_id, url, meta = _base(record, path, snap)
        except Exception:
            rec_id, url, meta = None, None, {"warc_file": redact_input(path), "snapshot": snap}
        meta["error"] = error_text(e, uri=path)
        return _row(rec_id, source, domain, url, "", meta, "warc.record_error")


def _base(record, path, snapshot) -> tuple[str | None, str | None, dict[str, Any]]:
    """(record id, target URL without user-info, the meta every record row has)."""
    h = record.rec_headers
    rec_type = record.rec_type or "unknown"
    rec_id = h.get_header("WARC-Record-ID")
    url = redact_userinfo(h.get_header("WARC-Target-URI"))
    host = ""
    if url:
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:  # a target URI that is not a URL
            host = ""
    meta = {
        "warc_file": redact_input(path),
        "snapshot": snapshot,
        "record_type": rec_type,
        "warc_date": h.get_header("WARC-Date") or "",
        "record_id": rec_id,
        "host": host,
        "domain_name": host[4:] if host.startswith("www.") else host,
    }
    return rec_id, url, meta


def _record_row(record, path, source, domain, settings, snapshot) -> dict[str, Any]:
    rec_id, url, meta = _base(record, path, snapshot)
    rec_type = meta["record_type"]
    if getattr(record, "header_error", None):
        meta["error"] = record.header_error
        return _row(rec_id, source, domain, url, "", meta, "warc.bad_header")
    if rec_type == "conversion":  # WET: the text Common Crawl extracted, used as it is
        return _wet_row(record, rec_id, source, domain, url, meta, settings, path)
    if rec_type != "response":
        return _row(rec_id, source, domain, url, "", meta, f"warc.skip_{rec_type}")
    h = record.rec_headers
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
    if content_type.split(";")[0].strip().lower() not in _HTML_TYPES:
        return _row(rec_id, source, domain, url, "", meta, "warc.not_html")
    try:
        payload = _read_capped(record.content_stream(), settings.max_record_bytes + 1)
    except Exception as e:  # bad chunked encoding or content-encoding: the next record may be fine
        meta["error"] = error_text(e, uri=path)
        return _row(rec_id, source, domain, url, "", meta, "warc.bad_payload")
    if len(payload) > settings.max_record_bytes:
        return _row(rec_id, source, domain, url, "", meta, "warc.too_large")
    try:
        html, charset, charset_from = decode_html(payload, content_type)
    except UndecodablePage as e:
        meta["error"] = str(e)[:500]
        return _row(rec_id, source, domain, url, "", meta, "warc.undecodable")
    meta.update(charset=charset, charset_from=charset_from, extractor=settings.extractor)
    record_signals(http, html, meta)  # opt-out headers and meta tags exist only here (web_optout)
    cascade = getattr(settings, "cascade", None)
    if cascade is not None:  # rules that need only the URL or the raw page: no extraction
        try:
            reason, lang = cascade.check(domain, url, html, meta)
        except Exception as e:  # not judged: extracted, and the stages after decide as before
            meta["precheck_error"] = error_text(e, uri=path)
            reason = None
        if reason is not None:
            meta["skipped_extraction"] = "1"
            row = _row(rec_id, source, domain, url, "", meta, reason)
            row["lang"] = lang
            return row
    started = time.perf_counter()
    try:
        text, controls = extract_clean_text(html, settings)
    except ExtractionTimeout as e:
        meta["error"] = str(e)
        return _row(rec_id, source, domain, url, "", meta, "extract.timeout")
    except Exception as e:
        meta["error"] = error_text(e, uri=path)
        return _row(rec_id, source, domain, url, "", meta, "extract.error")
    finally:
        meta["extract_ms"] = f"{(time.perf_counter() - started) * 1000:.1f}"
    if controls:
        meta["control_chars_removed"] = str(controls)
    if not text or not text.strip():
        return _row(rec_id, source, domain, url, "", meta, "extract.empty")
    return _row(rec_id, source, domain, url, text, meta, None)


def _wet_row(record, rec_id, source, domain, url, meta, settings, path) -> dict[str, Any]:
    meta.update(
        content_digest=record.rec_headers.get_header("WARC-Block-Digest") or "",
        content_languages=record.rec_headers.get_header("WARC-Identified-Content-Language") or "",
        charset="utf-8", charset_from="wet",
    )
    try:
        payload = _read_capped(record.content_stream(), settings.max_record_bytes + 1)
    except Exception as e:
        meta["error"] = error_text(e, uri=path)
        return _row(rec_id, source, domain, url, "", meta, "warc.bad_payload")
    if len(payload) > settings.max_record_bytes:
        return _row(rec_id, source, domain, url, "", meta, "warc.too_large")
    text, controls = strip_controls(payload.decode("utf-8", errors="replace"))
    if controls:
        meta["control_chars_removed"] = str(controls)
    if not text.strip():
        return _row(rec_id, source, domain, url, "", meta, "extract.empty")
    return _row(rec_id, source, domain, url, text, meta, None)
