"""What people see of a run's data: control characters made visible, secrets in URLs masked.

Document text, URLs, ids, file names and error messages come from the web and from inputs,
so printed raw they can drive the terminal: ESC/OSC/CSI sequences clear the screen, set the
window title or fake output (worst in a terminal multiplexer), C1 bytes such as U+009B are
CSI on some terminals, and Unicode bidi overrides (U+202A-202E, U+2066-2069) make text read
in another order than it is. `visible` writes every such character as an escape (`\\x1b`,
`\\x9b`, `\\u202e`); only document text bodies keep their newlines and tabs. Lone
surrogates (possible in JSON) are escaped too, so printing or writing UTF-8 never fails.

What is written *about inputs* (ids, file names, settings, error messages) goes through
`redact_urls`, which masks user-info and secret query values of every URL inside a string
(curator/redact.py); a document's own URL loses only its user-info (`shown_url`). Every
`print`/rich `console.print` of data in the CLI, and every string of report.html, goes
through these functions; rich output uses `text()`, a `Text`, which is never read as markup.
"""

from __future__ import annotations

import re
from typing import Any

from curator.redact import redact_input, redact_userinfo

_BIDI = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
_CONTROL = (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *_BIDI, *range(0xD800, 0xE000))
_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}


def _escape(cp: int) -> str:
    return _NAMED.get(cp) or (f"\\x{cp:02x}" if cp < 0x100 else f"\\u{cp:04x}")


_LABEL = {cp: _escape(cp) for cp in _CONTROL}
"""Labels (URLs, ids, names, reasons, messages): one line, every control character escaped."""
_BODY = {cp: s for cp, s in _LABEL.items() if cp not in (0x09, 0x0A)}
"""Document text bodies: newlines and tabs kept, everything else escaped."""

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>\\]+")


def visible(value: Any, body: bool = False) -> str:
    """`str(value)` with C0/C1 control characters, DEL, bidi overrides and lone surrogates
    written as escapes; `body=True` keeps newlines (CRLF becomes LF) and tabs."""
    s = value if isinstance(value, str) else str(value)
    if body:
        return s.replace("\r\n", "\n").translate(_BODY)
    return s.translate(_LABEL)


def redact_urls(value: Any) -> str:
    """Every URL inside a string with its user-info and secret query values masked: for ids,
    file names, settings and messages about inputs (not for document text)."""
    s = value if isinstance(value, str) else str(value)
    if "://" not in s:
        return s
    return _URL.sub(lambda m: redact_input(m.group(0)) or "", s)


def shown(value: Any) -> str:
    """A label about inputs or the run, safe to print: secrets masked, controls escaped."""
    return visible(redact_urls(value))


def shown_url(url: Any) -> str:
    """A document's own URL, safe to print: user-info masked (its query is its identity)."""
    return visible(redact_userinfo(url) if isinstance(url, str) else url)


def text(value: Any, style: str | None = None, body: bool = False):
    """A rich `Text` of data (never parsed as markup or emoji codes): a body keeps its lines,
    anything else is a redacted label."""
    from rich.text import Text

    return Text(visible(value, body=True) if body else shown(value), style=style or "")


def redact_all(value: Any) -> Any:
    """A JSON-like structure (stats, a diff) with every string and key passed through
    `redact_urls`, so stats written by an older version never print a secret."""
    if isinstance(value, str):
        return redact_urls(value)
    if isinstance(value, dict):
        return {redact_all(k) if isinstance(k, str) else k: redact_all(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_all(v) for v in value]
    return value
