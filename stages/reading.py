"""Small helpers every reader shares: bounded line reading, one-line errors, and strings
Arrow can store.

- `bounded_lines` reads a stream line by line without ever holding more than `max_line`
  bytes of one line: a longer line is streamed past in pieces and stands as `None`, so the
  caller decides whether it is skipped, a row of its own, or an error.
- `error_text` is the one line a row or message says about an exception (type, message,
  newlines folded, secrets of the input masked, cut to a length).
- `arrow_safe` makes a str Arrow can encode: Python strs may hold lone surrogates (a
  non-UTF-8 file name decoded with surrogateescape, a UTF-7 page), which UTF-8 cannot.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

SKIP_CHUNK = 1 << 20
"""Bytes read at a time while streaming past the rest of an over-long line."""


def skip_rest_of_line(stream, chunk: int = SKIP_CHUNK) -> int:
    """Read past the rest of the current line (to its newline or the end) in pieces of at
    most `chunk` bytes, holding none of them; the number of bytes skipped."""
    skipped = 0
    while True:
        piece = stream.readline(chunk)
        skipped += len(piece)
        if not piece or piece.endswith(b"\n"):
            return skipped


def bounded_lines(stream, max_line: int) -> Iterator[bytes | None]:
    """The lines of a binary stream (newline kept), each at most `max_line` bytes before its
    newline; a longer line is streamed past (never held) and yields None in its place."""
    while line := stream.readline(max_line + 1):
        if len(line) > max_line and not line.endswith(b"\n"):
            skip_rest_of_line(stream)
            yield None
        else:
            yield line


_SURROGATES = re.compile("[\ud800-\udfff]")


def _escape(m: re.Match) -> str:
    code = ord(m.group(0))
    # a byte surrogateescape kept (a non-UTF-8 file name) is shown as that byte
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def arrow_safe(value, escape: bool = True) -> str:
    """`value` as a str without lone surrogates (anything not a str goes through str(),
    None becomes ""). With `escape` (names, URLs, ids: two names must stay two) each
    surrogate becomes a backslash escape of what it stood for; without it (document text)
    U+FFFD. The common cases cost nothing: an ASCII str is returned as it is."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    if value.isascii() or _SURROGATES.search(value) is None:
        return value
    return _SURROGATES.sub(_escape if escape else "\ufffd", value)


def error_text(e: BaseException, limit: int = 500, uri: str | None = None) -> str:
    """One line about an error: `Type: message`, newlines folded to spaces, the secrets of
    input `uri` masked (stages/inputs.mask_secrets_in) before the cut to `limit` characters,
    so a cut never leaves part of a secret behind."""
    try:
        message = str(e)
    except Exception:  # an exception whose __str__ fails is still reported
        message = "(message unavailable)"
    text = f"{type(e).__name__}: {message}" if message else type(e).__name__
    if "\n" in text or "\r" in text:
        text = " ".join(text.split())
    if uri:
        from stages.inputs import mask_secrets_in

        text = mask_secrets_in(text, uri)
    return arrow_safe(text)[:limit]
