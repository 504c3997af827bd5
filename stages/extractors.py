"""HTML -> main text: charset decoding, the extractor the manifest names, and a time limit.

Two extractors: trafilatura (default; its precision/recall bias, tables and comments come
from the manifest) and resiliparse's main-content extractor (C++, several times faster;
benchmarks/extraction.py measures both). Neither can be stopped from outside, so a page
that would stall a task is cut off by SIGALRM, which only works in the process's main
thread (where Spark's Python workers run tasks); elsewhere extraction runs without a limit.

A declared charset is used only if it names a text codec: `charset=rot13` or `hex` would
make `bytes.decode` raise, so such names count as no declaration. Control characters in the
extracted text (terminal escapes, NUL, C1 codes) never reach the shards: `strip_controls`.
"""

from __future__ import annotations

import re
import signal
import threading
from contextlib import contextmanager

_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)
UNDECODABLE_SHARE = 0.05
"""A page whose text is more than this share of replacement characters is dropped."""


class ExtractionTimeout(Exception):
    pass


class UndecodablePage(ValueError):
    pass


_NOT_CHARSETS = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined", "utf-7"})
"""Python text codecs that are transforms, not charsets a page is served in (some raise
plain UnicodeError on any input). UTF-7 is refused by the WHATWG Encoding Standard (a page
that declares it is not decoded as it: an XSS vector) and Python's decoder yields lone
surrogates, which no UTF-8 column can store."""


def _codec(name: str | None) -> str | None:
    """The codec a charset name means, or None when it is unknown or not a text encoding
    (rot13, hex, base64, zlib...): those are treated as if no charset was declared."""
    import codecs

    if not name:
        return None
    try:
        info = codecs.lookup(name.strip().lower())
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return info.name


_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]+")
"""C0 controls except tab, newline and carriage return; DEL; C1 controls (U+0080-U+009F)."""


def strip_controls(text: str) -> tuple[str, int]:
    """(text without control characters, how many were removed). Tab and newline stay; a
    carriage return becomes a newline (CRLF one newline) and is not counted as removed."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROLS.search(text) is None:  # the common case: one scan, no copy
        return text, 0
    cleaned = _CONTROLS.sub("", text)
    return cleaned, len(text) - len(cleaned)


def decode_html(payload: bytes, content_type: str = "") -> tuple[str, str, str]:
    """(text, charset, where it came from: header | meta | utf-8 | detected).

    The HTTP header wins, then a <meta> tag in the first 4 KiB (a declaration the bytes do
    not decode under is passed over), then UTF-8, then detection; a page that decodes
    mostly to replacement characters raises UndecodablePage."""
    m = _HEADER_CHARSET.search(content_type or "")
    candidates = []
    if m and _codec(m.group(1)):
        candidates.append((_codec(m.group(1)), "header"))
    m = _META_CHARSET.search(payload[:4096])
    if m and _codec(m.group(1).decode("ascii", "ignore")):
        candidates.append((_codec(m.group(1).decode("ascii", "ignore")), "meta"))
    for codec, where in candidates:
        try:
            return payload.decode(codec), codec, where
        except (UnicodeError, LookupError):
            continue  # a wrong declaration: try the next source
    try:
        return payload.decode("utf-8"), "utf-8", "utf-8"
    except UnicodeDecodeError:
        pass
    codec = _detect(payload) or (candidates[0][0] if candidates else "utf-8")
    text = payload.decode(codec, errors="replace")
    if text and text.count("\ufffd") > UNDECODABLE_SHARE * len(text):
        raise UndecodablePage(f"{text.count(chr(0xFFFD))} of {len(text)} characters undecodable as {codec}")
    return text, codec, "detected"


def _detect(payload: bytes) -> str | None:
    try:
        from resiliparse.parse.encoding import detect_encoding

        return _codec(detect_encoding(payload))
    except ImportError:
        from charset_normalizer import from_bytes

        best = from_bytes(payload[:65536]).best()
        return _codec(best.encoding) if best else None


@contextmanager
def time_limit(seconds: float):
    """Raise ExtractionTimeout in the block after `seconds` (main thread only; else no limit)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum, frame):
        raise ExtractionTimeout(f"extraction took longer than {seconds}s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def extract_trafilatura(html: str, settings) -> str | None:
    import trafilatura

    from stages.trafilatura_speedups import speed_up

    speed_up()  # same text, less CPU
    return trafilatura.extract(
        html,
        favor_precision=settings.favor_precision,
        favor_recall=settings.favor_recall,
        include_tables=settings.include_tables,
        include_comments=settings.include_comments,
        deduplicate=False,
        with_metadata=False,
    )


def extract_resiliparse(html: str, settings) -> str | None:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(
        html, main_content=True, preserve_formatting=True, list_bullets=True, alt_texts=False,
        links=False, form_fields=False, noscript=False, comments=settings.include_comments,
        skip_elements=None if settings.include_tables else ["table"],
    )


EXTRACTORS = {"trafilatura": extract_trafilatura, "resiliparse": extract_resiliparse}


def extract_text(html: str, settings) -> str | None:
    """The main text of a page by the manifest's extractor, within its time limit (control
    characters still in it: see `extract_clean_text`)."""
    with time_limit(settings.timeout_s):
        return EXTRACTORS[settings.extractor](html, settings)


def extract_clean_text(html: str, settings) -> tuple[str | None, int]:
    """(main text without control characters, how many were removed)."""
    text = extract_text(html, settings)
    return strip_controls(text) if text else (text, 0)
