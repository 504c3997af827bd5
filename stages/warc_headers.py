"""warcio with bounded header reads: no header line or block makes a worker hold its bytes.

warcio's StatusAndHeadersParser reads every header line with an unbounded `readline()`, so
one 1 GiB WARC header line held 3.3 GB in a worker. Here (by subclassing warcio, not
forking it) every line the iterator reads is cut at `max_line + 1` bytes and the parsers
check each line and the block's total:

- a line longer than `max_line` is streamed past in bounded pieces (never held) and left
  out; parsing goes on, so the record's length is still known and the next record is found
  as usual. The record carries `header_error`.
- a block (WARC or HTTP) over `max_block` bytes stops the parse. For HTTP headers the WARC
  Content-Length still ends the record; for WARC headers the record ends with its gzip
  member. An uncompressed WARC gives no way to find the next record: the record carries
  `lost_sync` and the caller stops reading there.

Over-long lines count `max_line + 1` toward the block, so at most `max_block / max_line`
of them are streamed past per block.
"""

from __future__ import annotations

from io import BytesIO

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import DecompressingBufferedReader
from warcio.recordloader import ArcWarcRecord, ArcWarcRecordLoader
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.utils import BUFF_SIZE

from stages.reading import skip_rest_of_line

_NO_OP = b"-\r\n"
"""What the parser gets for a line that was left out: no colon, so it adds no header and
does not end the block."""


class HeaderTooLarge(Exception):
    """A header block over its limit; `lines` are the complete lines read before it."""

    def __init__(self, message: str, lines: list[bytes]):
        super().__init__(message)
        self.lines = lines


class _BoundedReader(DecompressingBufferedReader):
    """warcio's reader whose `readline()` returns at most `max_line + 1` bytes (warcio's own
    also miscounts a length across buffer boundaries)."""

    def __init__(self, stream, max_line: int, **kw):
        super().__init__(stream, **kw)
        self.max_line = max_line

    def readline(self, length=None):
        cap = self.max_line + 1
        length = cap if length is None or length < 0 else min(length, cap)
        parts = []
        while length > 0:
            self._fillbuff()
            if self.empty():
                break
            piece = self.buff.readline(length)
            parts.append(piece)
            length -= len(piece)
            if piece.endswith(b"\n"):
                break
        return b"".join(parts)


class _CheckedLines:
    """The `readline()` a parser sees: each line checked against the limits as it comes."""

    def __init__(self, stream, what: str, max_line: int, max_block: int):
        self.stream, self.what = stream, what
        self.max_line, self.max_block = max_line, max_block
        self.total = 0
        self.kept: list[bytes] = []
        self.error: str | None = None

    def readline(self, length=None) -> bytes:
        cap = self.max_line + 1 if length is None else min(length, self.max_line + 1)
        return self.take(self.stream.readline(cap))

    def take(self, line: bytes) -> bytes:
        first = not self.kept
        if len(line) > self.max_line:
            if not line.endswith(b"\n"):
                skip_rest_of_line(self.stream, self.max_line + 1)
            self.error = self.error or f"{self.what} header line longer than {self.max_line} bytes"
            # a status line keeps its start, so a record that is no WARC record is still told apart
            line = line[:1024].rstrip(b"\r\n") + b"\r\n" if first else _NO_OP
            self.total += self.max_line + 1
        else:
            self.total += len(line)
        if self.total > self.max_block:
            raise HeaderTooLarge(f"{self.what} header block larger than {self.max_block} bytes", self.kept)
        self.kept.append(line)
        return line


class _BoundedParser(StatusAndHeadersParser):
    def __init__(self, statuslist, verify: bool, what: str, max_line: int, max_block: int):
        super().__init__(statuslist, verify)
        self.what, self.max_line, self.max_block = what, max_line, max_block

    def parse(self, stream, full_statusline=None):
        lines = _CheckedLines(stream, self.what, self.max_line, self.max_block)
        if full_statusline is not None:  # read by the iterator, before the parser
            full_statusline = lines.take(full_statusline)
        headers = super().parse(lines, full_statusline)
        headers.header_error = lines.error
        return headers


def partial_headers(lines: list[bytes]) -> StatusAndHeaders | None:
    """The headers among the lines read before a block went over its limit."""
    try:
        return StatusAndHeadersParser([], verify=False).parse(BytesIO(b"".join(lines) + b"\r\n"))
    except Exception:
        return None


class _BoundedLoader(ArcWarcRecordLoader):
    """warcio's record loader with bounded parsers; a record whose headers broke a limit
    has `header_error` set (None otherwise) and `lost_sync` False."""

    def __init__(self, max_line: int, max_block: int):
        super().__init__(verify_http=False, arc2warc=False)
        self.warc_parser = _BoundedParser(self.WARC_TYPES, True, "WARC", max_line, max_block)
        self.http_parser = _BoundedParser(self.HTTP_TYPES, False, "HTTP", max_line, max_block)
        self.http_req_parser = _BoundedParser(self.HTTP_VERBS, False, "HTTP", max_line, max_block)
        self._http_error: str | None = None

    def parse_record_stream(self, stream, *args, **kwargs):
        self._http_error = None
        record = super().parse_record_stream(stream, *args, **kwargs)
        record.header_error = (
            getattr(record.rec_headers, "header_error", None)
            or getattr(record.http_headers, "header_error", None)
            or self._http_error
        )
        record.lost_sync = False
        return record

    def load_http_headers(self, rec_type, uri, stream, length):
        try:
            return super().load_http_headers(rec_type, uri, stream, length)
        except HeaderTooLarge as e:  # the WARC Content-Length still ends the record
            self._http_error = str(e)
            return None


class BoundedArchiveIterator(ArchiveIterator):
    """warcio's ArchiveIterator (WARC/ARC, gzip per record or not) with bounded headers."""

    def __init__(self, fileobj, max_line: int, max_block: int):
        super().__init__(fileobj)
        self.reader = _BoundedReader(self.fh, max_line, block_size=BUFF_SIZE)
        self.loader = _BoundedLoader(max_line, max_block)

    def _next_record(self, next_line):
        try:
            return super()._next_record(next_line)
        except HeaderTooLarge as e:
            return self._bad_record(e)

    def _bad_record(self, e: HeaderTooLarge) -> ArcWarcRecord:
        """A record whose WARC header block went over its limit. Inside a gzip member the
        rest of the member is the rest of the record; otherwise its end cannot be found."""
        self.member_info = None  # so read_to_end reads this record, not the one before
        headers = partial_headers(e.lines) or StatusAndHeaders("", [], protocol="")
        in_member = self.reader.decompressor is not None
        record = ArcWarcRecord(
            "warc", headers.get_header("WARC-Type"), headers, self.reader if in_member else BytesIO(),
            None, None, None,
        )
        record.header_error = str(e)
        record.lost_sync = not in_member
        return record
