"""Hostile WARC input: header lines and blocks over their limits, charsets that are not text
codecs, an error inside one record, control characters, records counted as read, and
secrets in input URLs (basic auth, redaction, Retry-After). Every test builds its input."""

from __future__ import annotations

import base64
import io
import json
import random
import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from curator.errors import ManifestError
from curator.manifest import ExtractSettings, Source
from curator.tally import Tally
from stages import extractors, inputs
from stages.extractors import strip_controls
from stages.inputs import backoff_wait_s, list_source_files, open_input, retry_after_s
from stages.warc_source import read_warc
from tests import hostile_inputs as H
from tests.conftest import ROOT
from tests.http_files import FileServer, served

SMALL = {"max_header_line_bytes": 1024, "max_header_bytes": 4096}


def raw_record(n: int, url: str, body: bytes, warc_extra: str = "", http_extra: str = "",
               ctype: str = "text/html; charset=utf-8") -> bytes:
    """One uncompressed WARC response record (ending in its two CRLFs)."""
    http = f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\n{http_extra}Content-Length: {len(body)}\r\n\r\n".encode() + body
    return H.warc_head(n, url, len(http), warc_extra) + http + b"\r\n\r\n"


def write_warc(path: Path, records: list[bytes], layout: str) -> Path:
    """gzip: one gzip member per record (Common Crawl's layout); plain: uncompressed;
    whole: one gzip stream for the whole file."""
    if layout == "gzip":
        path.write_bytes(b"".join(H.gz(r) for r in records))
    elif layout == "plain":
        path.write_bytes(b"".join(records))
    else:
        path.write_bytes(H.gz(b"".join(records)))
    return path


def fates(rows) -> dict[str | None, str | None]:
    return {r["url"]: r["drop_reason"] for r in rows}


def record_numbers(rows) -> list[int]:
    return sorted(int(r["meta"]["record"]) for r in rows if "record" in r["meta"])


# -- 1. header limits ------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["gzip", "plain", "whole"])
@pytest.mark.parametrize("where", ["warc", "http"])
def test_an_overlong_header_line_is_bad_header_and_reading_goes_on(tmp_path, layout, where):
    long_line = "X-Long: " + "a" * 5000 + "\r\n"
    bad = raw_record(2, "https://bad.example/", H.article("bad"),
                     **({"warc_extra": long_line} if where == "warc" else {"http_extra": long_line}))
    records = [raw_record(1, "https://ok.example/1", H.article("one")), bad,
               raw_record(3, "https://ok.example/3", H.article("three"))]
    tally = Tally()
    rows = list(read_warc(str(write_warc(tmp_path / "t.warc.gz", records, layout)), "s", "web",
                          ExtractSettings(**SMALL), tally=tally))
    assert fates(rows) == {"https://ok.example/1": None, "https://bad.example/": "warc.bad_header",
                           "https://ok.example/3": None}
    bad_row = next(r for r in rows if r["url"] == "https://bad.example/")
    assert bad_row["meta"]["error"] == f"{where.upper()} header line longer than 1024 bytes"
    assert bad_row["id"] == "<urn:uuid:00000000-0000-0000-0000-000000000002>"
    assert tally.read == 3 and record_numbers(rows) == [0, 1, 2]


@pytest.mark.parametrize("layout", ["gzip", "plain", "whole"])
def test_an_oversized_http_header_block_is_bad_header_and_reading_goes_on(tmp_path, layout):
    many = "".join(f"X-Filler-{k}: {'b' * 80}\r\n" for k in range(100))  # 9 KB of short lines
    records = [raw_record(1, "https://ok.example/1", H.article("one")),
               raw_record(2, "https://bad.example/", H.article("bad"), http_extra=many),
               raw_record(3, "https://ok.example/3", H.article("three"))]
    rows = list(read_warc(str(write_warc(tmp_path / "t.warc.gz", records, layout)), "s", "web", ExtractSettings(**SMALL)))
    assert fates(rows) == {"https://ok.example/1": None, "https://bad.example/": "warc.bad_header",
                           "https://ok.example/3": None}
    assert "HTTP header block larger than 4096 bytes" in next(r for r in rows if r["url"] == "https://bad.example/")["meta"]["error"]


def test_an_oversized_warc_header_block_ends_with_its_gzip_member_or_stops_a_plain_file(tmp_path):
    many = "".join(f"X-Filler-{k}: {'c' * 80}\r\n" for k in range(100))
    records = [raw_record(1, "https://ok.example/1", H.article("one")),
               raw_record(2, "https://bad.example/", H.article("bad"), warc_extra=many),
               raw_record(3, "https://ok.example/3", H.article("three"))]
    settings = ExtractSettings(**SMALL)
    tally = Tally()
    rows = list(read_warc(str(write_warc(tmp_path / "g.warc.gz", records, "gzip")), "s", "web", settings, tally=tally))
    assert fates(rows) == {"https://ok.example/1": None, "https://bad.example/": "warc.bad_header",
                           "https://ok.example/3": None}
    assert tally.read == 3 and record_numbers(rows) == [0, 1, 2]
    # uncompressed, nothing marks where the record ends: counted, then the rest of the file
    tally = Tally()
    rows = list(read_warc(str(write_warc(tmp_path / "p.warc", records, "plain")), "s", "web", settings, tally=tally))
    assert [r["drop_reason"] for r in rows] == [None, "warc.bad_header", "warc.corrupt"]
    assert "WARC header block larger than 4096 bytes" in rows[1]["meta"]["error"]
    assert "record" not in rows[2]["meta"] and tally.read == 2 and record_numbers(rows) == [0, 1]


def test_header_line_bombs_keep_memory_bounded_and_the_neighbours(tmp_path):
    """256 MiB header lines (WARC and HTTP) in a 1 MB gzip WARC: warcio alone held ~3.3x the
    line (915 MB here); the bounded reader streams past it."""
    path = tmp_path / "bomb.warc.gz"
    line = 256 << 20
    path.write_bytes(b"".join([
        H.record(1, "https://ok.example/first", H.article("first")),
        H.warc_header_line_bomb(2, "https://bomb.example/warc", line),
        H.record(3, "https://ok.example/middle", H.article("middle")),
        H.http_header_line_bomb(4, "https://bomb.example/http", line),
        H.record(5, "https://ok.example/last", H.article("last")),
    ]))
    assert path.stat().st_size < 2_000_000
    script = textwrap.dedent(f"""
        import json, resource, sys
        sys.path.insert(0, {str(ROOT)!r})
        from curator.manifest import ExtractSettings
        from stages.warc_source import read_warc
        rows = [{{"url": r["url"], "reason": r["drop_reason"], "record": r["meta"].get("record")}}
                for r in read_warc({str(path)!r}, "s", "web", ExtractSettings())]
        print(json.dumps({{"rows": rows, "maxrss_kb": int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])}}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {r["url"]: r["reason"] for r in out["rows"]} == {
        "https://ok.example/first": None, "https://bomb.example/warc": "warc.bad_header",
        "https://ok.example/middle": None, "https://bomb.example/http": "warc.bad_header",
        "https://ok.example/last": None,
    }
    assert [r["record"] for r in out["rows"]] == ["0", "1", "2", "3", "4"]
    assert out["maxrss_kb"] < 400_000, f"peak memory {out['maxrss_kb'] / 1024:.0f} MB"


# -- 2. one bad record never costs its neighbours --------------------------------------------

def test_charsets_that_are_not_text_codecs_fall_back_to_detection(tmp_path):
    records = [
        raw_record(1, "https://ok.example/1", H.article("one")),
        raw_record(2, "https://rot13.example/", H.article("rot"), ctype="text/html; charset=rot13"),
        raw_record(3, "https://hex.example/", H.article("hex").replace(b"<html>", b'<html><meta charset="hex">'),
                   ctype="text/html"),
        raw_record(4, "https://ok.example/4", H.article("four")),
        raw_record(5, "https://ok.example/5", H.article("five")),
    ]
    rows = list(read_warc(str(write_warc(tmp_path / "t.warc.gz", records, "gzip")), "s", "web", ExtractSettings()))
    assert fates(rows) == {u: None for u in ["https://ok.example/1", "https://rot13.example/", "https://hex.example/",
                                             "https://ok.example/4", "https://ok.example/5"]}
    assert {r["meta"]["charset"] for r in rows} == {"utf-8"}
    for name in ("rot13", "hex", "base64", "zlib", "undefined", "no-such-charset"):
        text, codec, where = extractors.decode_html("grüße".encode(), f"text/html; charset={name}")
        assert (text, codec, where) == ("grüße", "utf-8", "utf-8"), name
    assert extractors.decode_html("grüße".encode("latin-1"), "text/html; charset=latin1")[1:] == ("iso8859-1", "header")


def test_an_error_inside_one_record_is_that_records_row(tmp_path, monkeypatch):
    from stages import warc_source

    real = warc_source.decode_html

    def explode(payload, content_type=""):
        if b"EXPLODE" in payload:
            raise RuntimeError("something no one expected")
        return real(payload, content_type)

    monkeypatch.setattr(warc_source, "decode_html", explode)
    records = [raw_record(1, "https://ok.example/1", H.article("one")),
               raw_record(2, "https://boom.example/", H.article("EXPLODE")),
               raw_record(3, "https://ok.example/3", H.article("three"))]
    tally = Tally()
    rows = list(read_warc(str(write_warc(tmp_path / "t.warc.gz", records, "gzip")), "s", "web", ExtractSettings(), tally=tally))
    assert fates(rows) == {"https://ok.example/1": None, "https://boom.example/": "warc.record_error",
                           "https://ok.example/3": None}
    boom = rows[1]
    assert boom["meta"]["error"] == "RuntimeError: something no one expected"
    assert boom["id"] == "<urn:uuid:00000000-0000-0000-0000-000000000002>" and boom["meta"]["record"] == "1"
    assert tally.read == 3


# -- 3. records counted as read --------------------------------------------------------------

def test_records_are_numbered_as_read_and_file_rows_carry_no_number(tmp_path):
    records = [raw_record(k, f"https://ok.example/{k}", H.article(str(k))) for k in range(4)]
    p = write_warc(tmp_path / "t.warc.gz", records, "gzip")
    tally = Tally()
    rows = list(read_warc(str(p), "s", "web", ExtractSettings(), tally=tally))
    assert [r["meta"]["record"] for r in rows] == ["0", "1", "2", "3"] and tally.read == 4
    # the same ids as without a tally
    assert [r["id"] for r in rows] == [r["id"] for r in read_warc(str(p), "s", "web", ExtractSettings())]
    # a cut file: the records read are numbered, the corrupt/truncated tail is a row too
    data = p.read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    tally = Tally()
    rows = list(read_warc(str(cut), "s", "web", ExtractSettings(), tally=tally))
    assert record_numbers(rows) == list(range(tally.read))
    assert all("record" not in r["meta"] for r in rows if r["drop_reason"] == "warc.corrupt")
    # file-level rows: empty and unreadable
    empty = tmp_path / "empty.warc.gz"
    empty.write_bytes(b"")
    for path, reason in [(empty, "warc.empty"), (tmp_path / "missing.warc.gz", "warc.unreadable")]:
        tally = Tally()
        rows = list(read_warc(str(path), "s", "web", ExtractSettings(), tally=tally))
        assert [r["drop_reason"] for r in rows] == [reason] and "record" not in rows[0]["meta"] and tally.read == 0


def test_the_whole_file_gzip_fallback_does_not_count_records_twice(tmp_path):
    records = [raw_record(k, f"https://ok.example/{k}", H.article(str(k))) for k in range(5)]
    p = write_warc(tmp_path / "whole.warc.gz", records, "whole")
    tally = Tally()
    rows = list(read_warc(str(p), "s", "web", ExtractSettings(), tally=tally))
    assert [r["drop_reason"] for r in rows] == [None] * 5
    assert tally.read == 5 and [r["meta"]["record"] for r in rows] == ["0", "1", "2", "3", "4"]
    assert [r["meta"].get("whole_file_gzip") for r in rows] == [None, "1", "1", "1", "1"]


# -- 4. control characters -------------------------------------------------------------------

def test_strip_controls_removes_c0_c1_and_del_but_keeps_tab_and_newline():
    assert strip_controls("plain text\twith tab\nand newline") == ("plain text\twith tab\nand newline", 0)
    assert strip_controls("a\x1b[2Jb\x00c\x07d\x7fe\x9bf\x85g") == ("a[2Jbcdefg", 6)
    assert strip_controls("one\r\ntwo\rthree") == ("one\ntwo\nthree", 0)
    assert strip_controls("naïve — ü\u00a0ok") == ("naïve — ü\u00a0ok", 0)  # printable non-ASCII stays


CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.mark.parametrize("extractor", ["trafilatura", "resiliparse"])
def test_control_characters_are_removed_from_extracted_and_wet_text(tmp_path, extractor):
    page = H.article("control").replace(b"<h1>control</h1>", f"<p>{H.CONTROL_TEXT} and more words here.</p>".encode() * 3)
    p = write_warc(tmp_path / "t.warc.gz", [raw_record(1, "https://control.example/", page)], "gzip")
    (row,) = read_warc(str(p), "s", "web", ExtractSettings(extractor=extractor))
    assert row["drop_reason"] is None and "escape" in row["text"]
    assert not CONTROL.search(row["text"]), repr(row["text"][:300])
    if extractor == "resiliparse":  # trafilatura's lxml drops them itself: nothing left to count
        assert row["meta"]["control_chars_removed"] == str(6 * 3)
    clean = write_warc(tmp_path / "c.warc.gz", [raw_record(1, "https://clean.example/", H.article("clean"))], "gzip")
    (row,) = read_warc(str(clean), "s", "web", ExtractSettings(extractor=extractor))
    assert "control_chars_removed" not in row["meta"]


def test_control_characters_are_removed_from_wet_text(tmp_path):
    from warcio.warcwriter import WARCWriter

    p = tmp_path / "t.warc.wet.gz"
    with open(p, "wb") as f:
        w = WARCWriter(f, gzip=True)
        rec = w.create_warc_record("https://wet.example/", "conversion",
                                   payload=io.BytesIO(f"Line one.\r\n{H.CONTROL_TEXT}\n".encode()),
                                   warc_headers_dict={"Content-Type": "text/plain"})
        w.write_record(rec)
    (row,) = read_warc(str(p), "s", "web", ExtractSettings())
    assert row["text"] == "Line one.\nBell escape ]0;pwned clear [2J csi 31m del  end\n"
    assert row["meta"]["control_chars_removed"] == "6"


# -- 5. secrets ------------------------------------------------------------------------------

USER, PASSWORD, TOKEN = "reader", "s3cr3t-Pa55", "tok-9f8e7d6c"


class AuthServer(FileServer):
    """The test folder behind HTTP basic auth; its URLs carry the credentials and a token."""

    def __init__(self, root: Path):
        super().__init__(root, auth=(USER, PASSWORD))

    def auth_url(self, name: str, user: str = USER, password: str = PASSWORD) -> str:
        return f"http://{user}:{password}@127.0.0.1:{self.port}/{name}?token={TOKEN}"


@pytest.fixture
def auth_server(tmp_path):
    yield from served(tmp_path, AuthServer)


def _no_secret(obj) -> None:
    text = json.dumps(obj, default=str)
    assert PASSWORD not in text and TOKEN not in text, text[:2000]


def test_credentials_in_an_input_url_are_sent_as_basic_auth_and_never_written(auth_server):
    records = [raw_record(k, f"https://ok.example/{k}", H.article(str(k))) for k in range(3)]
    records.append(raw_record(9, f"https://user:{PASSWORD}@page.example/in-url", H.article("userinfo")))
    local = write_warc(auth_server.root / "t.warc.gz", records, "gzip")
    auth_server.cut_after = 1500  # the first transfer breaks: the Range resume must carry the auth too
    url = auth_server.auth_url("t.warc.gz")
    rows = list(read_warc(url, "s", "web", ExtractSettings(http_retries=2)))
    assert [r["drop_reason"] for r in rows] == [None] * 4
    assert [r["text"] for r in rows] == [r["text"] for r in read_warc(str(local), "s", "web", ExtractSettings())]
    assert {r["meta"]["warc_file"] for r in rows} == {f"http://***@127.0.0.1:{auth_server.port}/t.warc.gz?token=***"}
    assert rows[3]["url"] == "https://***@page.example/in-url"  # a document's URL loses its user-info
    _no_secret(rows)
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert len(auth_server.requests) == 2 and auth_server.requests[1]["range"] == "bytes=1500-"
    assert all(r["auth"] == expected and r["host"] == f"127.0.0.1:{auth_server.port}" for r in auth_server.requests)


def test_wrong_credentials_and_missing_files_are_reported_without_the_secret(auth_server, tmp_path):
    write_warc(auth_server.root / "t.warc.gz", [raw_record(1, "https://ok.example/", H.article("x"))], "gzip")
    for url in (auth_server.auth_url("t.warc.gz", password="wrong-" + PASSWORD), auth_server.auth_url("missing.warc.gz")):
        rows = list(read_warc(url, "s", "web", ExtractSettings(http_retries=1)))
        assert [r["drop_reason"] for r in rows] == ["warc.unreadable"]
        assert re.search(r"HTTP (401|404)", rows[0]["meta"]["error"]) and "***@127.0.0.1" in rows[0]["meta"]["error"]
        _no_secret(rows)
    src = Source(name="cc", kind="warc", domain="web", paths_file=auth_server.auth_url("none.paths.gz"))
    with pytest.raises(ManifestError) as err:
        list_source_files(src, str(tmp_path), 0, open_retries=0)
    assert "cannot read http://***@127.0.0.1" in str(err.value) and "token=***" in str(err.value)
    _no_secret(str(err.value))


def test_retry_after_is_honoured_and_backoff_has_jitter_and_a_cap(auth_server):
    write_warc(auth_server.root / "t.warc.gz", [raw_record(1, "https://ok.example/", H.article("x"))], "gzip")
    auth_server.busy = ["1"]
    with open_input(auth_server.auth_url("t.warc.gz"), retries=2, backoff_s=0.01) as f:
        assert f.read(2) == b"\x1f\x8b"
        assert f.raw.waits == [1.0]
    assert auth_server.requests[1]["at"] - auth_server.requests[0]["at"] >= 0.95
    # an HTTP date, and a wait the cap cuts short
    assert 5 < retry_after_s(time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 10))) <= 10
    assert retry_after_s("soon") is None and backoff_wait_s(1, 0.5, retry_after=3600, max_wait_s=30) == 30
    random.seed(14)
    waits = [backoff_wait_s(3, 1.0) for _ in range(50)]
    assert all(4.0 <= w <= 6.0 for w in waits) and len(set(waits)) > 40  # 4 s, plus up to half at random
    assert backoff_wait_s(20, 1.0, max_wait_s=120) == 120


def test_problems_by_file_names_inputs_without_secrets(spark):
    from pyspark.sql import functions as F

    from stages.inputs import problems_by_file

    secret = f"https://u:{PASSWORD}@h.example/a.warc.gz?X-Amz-Signature={TOKEN}"
    df = spark.createDataFrame(
        [("a", {"warc_file": secret}, "warc.corrupt"), ("b", {"warc_file": "/data/b.warc.gz"}, "warc.bad_header"),
         ("c", {"warc_file": "/data/b.warc.gz"}, None)],
        "id string, meta map<string,string>, drop_reason string",
    ).withColumn("url", F.lit(None).cast("string"))
    problems = problems_by_file(df)
    assert problems == {"https://***@h.example/a.warc.gz?X-Amz-Signature=***": {"warc.corrupt": 1},
                        "/data/b.warc.gz": {"warc.bad_header": 1}}


# -- 6. paths files: streamed, with caps -------------------------------------------------------

def _paths_source(path: Path, **kw) -> Source:
    return Source(name="cc", kind="warc", domain="web", paths_file=str(path), prefix="https://data.example/", **kw)


def test_a_paths_file_is_streamed_blank_and_comment_lines_skipped(tmp_path):
    body = b"\n# a comment\n  crawl/a.warc.gz  \n\r\n\ncrawl/b.warc.gz\ncrawl/c.warc.gz"  # no final newline
    for name, data in (("p.paths", body), ("p.paths.gz", H.gz(body))):
        (tmp_path / name).write_bytes(data)
        assert list_source_files(_paths_source(tmp_path / name), str(tmp_path), 0) == [
            f"https://data.example/crawl/{c}.warc.gz" for c in "abc"]
        assert list_source_files(_paths_source(tmp_path / name, limit=2), str(tmp_path), 0)[-1].endswith("b.warc.gz")


def test_a_paths_file_line_bomb_is_a_one_line_error_not_the_drivers_memory(tmp_path):
    """A 64 KB gzip whose one line is 64 MiB long: the old reader decompressed it whole."""
    bomb = tmp_path / "warc.paths.gz"
    bomb.write_bytes(H.gzip_repeat(b"crawl/", 64 << 20, b".warc.gz\n", b"a"))
    assert bomb.stat().st_size < 200_000
    with pytest.raises(ManifestError) as err:
        list_source_files(_paths_source(bomb), str(tmp_path), 0)
    msg = str(err.value)
    assert "\n" not in msg and "sources[0].paths_file" in msg and str(bomb) in msg
    assert f"longer than {inputs.PATHS_FILE_MAX_LINE_BYTES} bytes" in msg


def test_a_paths_file_over_its_byte_or_line_cap_is_a_one_line_error(tmp_path, monkeypatch):
    paths = tmp_path / "warc.paths.gz"
    paths.write_bytes(H.gz(b"".join(b"crawl/%05d.warc.gz\n" % k for k in range(100)) + b"\n" * 50))
    assert len(list_source_files(_paths_source(paths), str(tmp_path), 0)) == 100
    monkeypatch.setattr(inputs, "PATHS_FILE_MAX_BYTES", 1000)
    with pytest.raises(ManifestError, match=r"warc\.paths\.gz holds more than 1000 bytes \(decompressed\)"):
        list_source_files(_paths_source(paths), str(tmp_path), 0)
    monkeypatch.setattr(inputs, "PATHS_FILE_MAX_BYTES", 1 << 20)
    monkeypatch.setattr(inputs, "PATHS_FILE_MAX_LINES", 120)  # blank lines count: a file of newlines ends early
    with pytest.raises(ManifestError, match=r"warc\.paths\.gz has more than 120 lines"):
        list_source_files(_paths_source(paths), str(tmp_path), 0)


def test_a_paths_file_of_newlines_stops_at_the_line_cap_in_bounded_memory(tmp_path):
    """256 MiB of newlines in a 250 KB gzip: the old reader held them, and 256 million
    empty strings, on the driver."""
    paths = tmp_path / "warc.paths.gz"
    paths.write_bytes(H.gzip_repeat(b"", 256 << 20, b"", b"\n"))
    script = textwrap.dedent(f"""
        import resource, sys
        sys.path.insert(0, {str(ROOT)!r})
        from curator.errors import ManifestError
        from curator.manifest import Source
        from stages.inputs import list_source_files
        try:
            list_source_files(Source(name="cc", kind="warc", domain="web", paths_file={str(paths)!r}), "/", 0)
            print("no error")
        except ManifestError as e:
            print(e)
        print(int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    message, maxrss_kb = proc.stdout.strip().splitlines()[-2:]
    assert "has more than 10000000 lines" in message
    assert int(maxrss_kb) < 300_000, f"peak memory {int(maxrss_kb) / 1024:.0f} MB"


# -- 7. only regular files are opened -----------------------------------------------------------

def _in_time(fn, seconds: float = 20.0):
    """fn()'s result, failing (not hanging) if it blocks: a FIFO's plain open() never returns."""
    out: dict = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the test
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "blocked: a non-regular file was opened"
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_a_fifo_or_folder_matched_by_an_input_glob_is_unreadable_never_a_hang(tmp_path):
    import os

    data = tmp_path / "data"
    data.mkdir()
    write_warc(data / "a.warc.gz", [raw_record(1, "https://ok.example/1", H.article("one"))], "gzip")
    os.mkfifo(data / "b.warc.gz")
    (data / "c.warc.gz").mkdir()
    os.symlink(data / "a.warc.gz", data / "d.warc.gz")  # a link the user's glob names: followed
    os.symlink(data / "b.warc.gz", data / "e.warc.gz")  # ... to a FIFO: refused
    src = Source(name="cc", kind="warc", domain="web", inputs=["data/*.warc.gz"])
    files = list_source_files(src, str(tmp_path), 0)
    assert [Path(f).name for f in files] == ["a.warc.gz", "b.warc.gz", "c.warc.gz", "d.warc.gz", "e.warc.gz"]
    got = {Path(f).name: _in_time(lambda f=f: list(read_warc(f, "s", "web", ExtractSettings()))) for f in files}
    assert [r["drop_reason"] for r in got["a.warc.gz"]] == [None]
    assert [r["text"] for r in got["d.warc.gz"]] == [r["text"] for r in got["a.warc.gz"]]
    for name, kind in (("b.warc.gz", "a FIFO"), ("c.warc.gz", "a folder"), ("e.warc.gz", "a FIFO")):
        (row,) = got[name]
        assert row["drop_reason"] == "warc.unreadable" and "record" not in row["meta"]
        assert f"not a regular file ({kind})" in row["meta"]["error"], row["meta"]["error"]


def test_a_fifo_paths_file_is_a_one_line_error_never_a_hang(tmp_path):
    import os

    os.mkfifo(tmp_path / "warc.paths.gz")
    with pytest.raises(ManifestError, match=r"cannot read .*warc\.paths\.gz .*not a regular file \(a FIFO\)"):
        _in_time(lambda: list_source_files(_paths_source(tmp_path / "warc.paths.gz"), str(tmp_path), 0))


def test_open_regular_refuses_links_when_asked_and_files_that_change_kind(tmp_path):
    import os

    from stages.local_files import NotRegularFile, open_regular

    (tmp_path / "f").write_bytes(b"data")
    os.symlink(tmp_path / "f", tmp_path / "link")
    with open_regular(str(tmp_path / "link")) as f:
        assert f.read() == b"data"
    with pytest.raises(NotRegularFile, match="a symbolic link"):
        open_regular(str(tmp_path / "link"), follow_symlinks=False)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(NotRegularFile, match="a FIFO"):
        _in_time(lambda: open_regular(str(tmp_path / "fifo")))
    with pytest.raises(FileNotFoundError):
        open_regular(str(tmp_path / "missing"))


# -- 8. every string in a row is one Arrow can store ---------------------------------------------

def _arrow_ok(rows) -> None:
    import pyarrow as pa

    from curator.schema import DOC_SCHEMA

    pa.RecordBatch.from_pylist(rows, schema=DOC_SCHEMA)  # raises on a lone surrogate or a non-str value
    for r in rows:
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in r["meta"].items()), r["meta"]


def test_utf7_is_not_a_page_charset():
    assert extractors._codec("utf-7") is None and extractors._codec("UTF7") is None
    text, codec, where = extractors.decode_html(b"<p>a +2AA- b</p>", "text/html; charset=utf-7")
    assert (codec, where) == ("utf-8", "utf-8") and "+2AA-" in text


def _record_with_odd_bytes(n: int, url: str, body: bytes, odd: bytes) -> bytes:
    """A response record with `odd` bytes in a WARC header value, an HTTP header value and
    the target URI."""
    http = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nX-Odd: " + odd
            + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    head = H.warc_head(n, url, len(http), "X-Odd: ODD\r\n").replace(b"ODD", odd).replace(
        url.encode(), url.encode() + odd.replace(b" ", b""))
    return head + http + b"\r\n\r\n"


def test_rows_hold_no_lone_surrogates_whatever_the_file_name_headers_and_page(tmp_path, monkeypatch):
    import os

    from stages import warc_source

    utf7_page = H.article("seven").replace(b"The night", b"The +2AA- night")
    bad_bytes = b"caf\xe9 \xed\xa0\x80 \xff"  # latin-1, an encoded surrogate, a byte UTF-8 never has
    no_id = raw_record(4, "https://ok.example/no-id", H.article("noid")).replace(
        b"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000004>\r\n", b"")
    records = [
        raw_record(1, "https://ok.example/1", H.article("one")),
        raw_record(2, "https://seven.example/", utf7_page, ctype="text/html; charset=utf-7"),
        _record_with_odd_bytes(3, "https://bytes.example/", H.article("bytes"), bad_bytes),
        no_id,
        raw_record(5, "https://lone.example/", H.article("SURROGATE")),
    ]
    real = warc_source.extract_clean_text

    def with_surrogates(html, settings):  # an extractor whose output holds them
        text, controls = real(html, settings)
        return (text.replace("SURROGATE", "lone \ud800 \udcff end"), controls) if "SURROGATE" in html else (text, controls)

    monkeypatch.setattr(warc_source, "extract_clean_text", with_surrogates)
    folder = os.fsencode(tmp_path)
    name = os.fsdecode(folder + b"/caf\xe9-\xff.warc.gz")  # a non-UTF-8 file name: surrogateescape
    write_warc(Path(name), records, "gzip")
    wet = os.fsdecode(folder + b"/wet-\xfe.warc.wet")
    Path(wet).write_bytes(H.warc_head(6, "https://wet.example/\xe9", 9).replace(b"response", b"conversion")
                          .replace(b"\xc3\xa9", b"\xe9") + b"caf\xe9 \xed\xa0\x80" + b"\r\n\r\n")
    rows = list(read_warc(name, "s", "web", ExtractSettings(extractor="trafilatura")))
    rows += list(read_warc(wet, "s", "web", ExtractSettings()))
    rows += list(read_warc(os.fsdecode(folder + b"/missing-\xff.warc.gz"), "s", "web", ExtractSettings()))
    _arrow_ok(rows)
    by_url = {r["url"]: r for r in rows}
    assert [r["drop_reason"] for r in rows] == [None] * 6 + ["warc.unreadable"], [r["meta"] for r in rows]
    assert by_url["https://seven.example/"]["meta"]["charset"] == "utf-8"  # not decoded as UTF-7
    assert "lone \ufffd \ufffd end" in by_url["https://lone.example/"]["text"]
    assert {r["meta"]["warc_file"] for r in rows[:5]} == {str(tmp_path) + "/caf\\xe9-\\xff.warc.gz"}
    assert rows[-1]["id"] == str(tmp_path) + "/missing-\\xff.warc.gz#unreadable"
    assert by_url["https://ok.example/no-id"]["meta"]["record_id"] == ""
    assert by_url["https://ok.example/no-id"]["id"].endswith(".warc.gz@" + by_url["https://ok.example/no-id"]["meta"]["warc_offset"])


# -- 9. shared reading helpers -------------------------------------------------------------------

def test_bounded_lines_skips_long_lines_without_holding_them():
    from stages.reading import bounded_lines

    class Watched(io.BytesIO):
        biggest = 0

        def readline(self, size=-1):
            line = super().readline(size)
            Watched.biggest = max(Watched.biggest, len(line))
            return line

    stream = Watched(b"short\n" + b"x" * (5 << 20) + b"\nafter\n\nlast")
    assert list(bounded_lines(stream, 100)) == [b"short\n", None, b"after\n", b"\n", b"last"]
    assert Watched.biggest <= 1 << 20
    assert list(bounded_lines(io.BytesIO(b"x" * 100 + b"\n" + b"y" * 101), 100)) == [b"x" * 100 + b"\n", None]


def test_error_text_is_one_masked_line():
    from stages.inputs import mask_secrets_in
    from stages.reading import error_text

    uri = f"https://u:{PASSWORD}@h.example/a.warc.gz?X-Amz-Signature={TOKEN}"
    e = OSError(f"cannot fetch\n{uri}\r\n  (details)")
    text = error_text(e, uri=uri)
    assert "\n" not in text and "\r" not in text and text == "OSError: cannot fetch https://***@h.example/a.warc.gz?X-Amz-Signature=*** (details)"
    _no_secret(text)
    assert len(error_text(ValueError("x" * 2000))) == 500 and error_text(ValueError()) == "ValueError"
    assert mask_secrets_in(f"at {uri}", uri) == "at https://***@h.example/a.warc.gz?X-Amz-Signature=***"
