"""The bundled sample (manifests/sample, made by scripts/make_sample.py): the script gives the
committed files byte for byte, the WARC parses completely with the planted record counts, and
every Content-Length matches its payload. No Spark, no models."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zlib
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import ROOT

SAMPLE = ROOT / "manifests" / "sample"
SCRIPT = ROOT / "scripts" / "make_sample.py"
WARC = SAMPLE / "web.warc.gz"

RECORDS = {"warcinfo": 1, "request": 92, "response": 107, "metadata": 13, "revisit": 2}
CASES = {
    "article": 77, "legacy_charset": 3, "duplicate": 7, "boilerplate_only": 3, "short": 3,
    "bullets": 3, "hashtags": 3, "not_html": 4, "http_404": 2, "http_301": 2, "revisit": 2,
}
ARTICLE_LANGS = {"en": 40, "de": 9, "fr": 9, "es": 9, "zh": 4, "it": 3, "pt": 3}


def load_script():
    spec = importlib.util.spec_from_file_location("make_sample", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gzip_members(data: bytes) -> list[tuple[bytes, bytes]]:
    """(10-byte header, decompressed bytes) of every gzip member, in order."""
    out, pos = [], 0
    while pos < len(data):
        assert data[pos:pos + 3] == b"\x1f\x8b\x08", f"no gzip member at offset {pos}"
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        raw = d.decompress(data[pos:]) + d.flush()
        assert d.eof, f"gzip member at offset {pos} is cut short"
        out.append((data[pos:pos + 10], raw))
        pos = len(data) - len(d.unused_data)
    return out


def split_record(raw: bytes) -> tuple[dict[str, str], bytes]:
    """WARC headers and block of one uncompressed record, checking the block's length."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("utf-8").split("\r\n")
    assert lines[0] == "WARC/1.0", lines[0]
    headers = dict(line.split(": ", 1) for line in lines[1:])
    length = int(headers["Content-Length"])
    assert rest[length:] == b"\r\n\r\n", f"{headers['WARC-Record-ID']}: Content-Length {length} is off"
    return headers, rest[:length]


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], check=True, capture_output=True, cwd=ROOT)
    return out


@pytest.fixture(scope="module")
def records():
    from warcio.archiveiterator import ArchiveIterator

    out = []
    with open(WARC, "rb") as f:
        it = ArchiveIterator(f)
        for rec in it:
            payload = rec.content_stream().read()
            out.append((rec, payload))
        end = it.get_record_offset() + it.get_record_length()
    assert end == WARC.stat().st_size, "warcio stopped before the end of the file"
    return out


def test_regenerating_gives_byte_identical_files(regenerated):
    new = regenerated / "web.warc.gz"
    assert [m for _, m in gzip_members(WARC.read_bytes())] == [m for _, m in gzip_members(new.read_bytes())], (
        "the committed WARC's records differ from what scripts/make_sample.py makes: run `make sample`")
    assert WARC.read_bytes() == new.read_bytes(), "same records but different gzip bytes (another zlib build?)"
    committed, fresh = tree(SAMPLE / "code"), tree(regenerated / "code")
    assert sorted(committed) == sorted(fresh)
    assert committed == fresh
    assert tree(SAMPLE / "evalsets") == tree(regenerated / "evalsets"), "the demo's eval set differs: run `make sample`"


def test_every_record_is_its_own_gzip_member_without_mtime(records):
    members = gzip_members(WARC.read_bytes())
    assert len(members) == len(records)
    for header, _ in members:
        assert header[3] == 0, "gzip member with a file name or other optional fields"
        assert header[4:8] == b"\0\0\0\0", "gzip member header carries an mtime"


def test_warc_parses_completely_with_the_planted_counts(records):
    assert Counter(rec.rec_type for rec, _ in records) == RECORDS
    ids = [rec.rec_headers.get_header("WARC-Record-ID") for rec, _ in records]
    assert len(ids) == len(set(ids))
    assert records[0][0].rec_type == "warcinfo"

    responses = {}
    kinds = Counter()
    for rec, _ in records:
        if rec.rec_type != "response":
            continue
        url = rec.rec_headers.get_header("WARC-Target-URI")
        responses[rec.rec_headers.get_header("WARC-Record-ID")] = rec
        ct = rec.http_headers.get_header("Content-Type")
        kinds[(rec.http_headers.get_statuscode(), ct.split(";")[0])] += 1
        assert url.split("/")[2].endswith(".example"), url
    assert kinds == {("200", "text/html"): 99, ("200", "image/png"): 2, ("200", "text/css"): 2,
                     ("404", "text/html"): 2, ("301", "text/html"): 2}
    # charset only in a <meta> tag: the header says text/html without a charset
    bare = [r for r in responses.values() if r.http_headers.get_header("Content-Type") == "text/html"]
    assert len(bare) == CASES["legacy_charset"]
    for rec, _ in records:
        if rec.rec_type in ("request", "metadata"):
            assert rec.rec_headers.get_header("WARC-Concurrent-To") in responses
        if rec.rec_type == "revisit":
            original = responses[rec.rec_headers.get_header("WARC-Refers-To")]
            assert (rec.rec_headers.get_header("WARC-Payload-Digest")
                    == original.rec_headers.get_header("WARC-Payload-Digest"))

    plan = load_script().build_plan()
    assert Counter(p["case"] for p in plan) == CASES
    assert Counter(p["lang"] for p in plan if p["case"] == "article") == ARTICLE_LANGS
    by_url = {r.rec_headers.get_header("WARC-Target-URI"): r for r in responses.values()}
    for page in plan:
        if page["case"] != "revisit":
            assert by_url[page["url"]].http_headers.get_statuscode() == str(page["status"])
    groups = Counter(p["dup_group"] for p in plan if p["case"] == "duplicate")
    assert sorted(groups.values()) == [2, 2, 3]


def test_every_response_content_length_matches_its_payload(records):
    members = gzip_members(WARC.read_bytes())
    for (rec, payload), (_, raw) in zip(records, members):
        headers, block = split_record(raw)  # the WARC Content-Length, checked on the raw bytes
        assert headers["WARC-Record-ID"] == rec.rec_headers.get_header("WARC-Record-ID")
        assert rec.length == len(block)
        if rec.rec_type != "response":
            continue
        http_head, sep, body = block.partition(b"\r\n\r\n")
        assert sep and http_head.startswith(b"HTTP/1.1 ")
        assert int(rec.http_headers.get_header("Content-Length")) == len(body) == len(payload)
        assert body == payload


def test_code_tree_planted_cases():
    files = tree(SAMPLE / "code")
    assert {p.split("/")[0] for p in files} == {"tinyhttp", "gardenlog", "railclock"}
    assert sum(map(len, files.values())) < 200_000
    assert files["tinyhttp/tinyhttp/textutil.py"] == files["gardenlog/tools/textutil.py"]  # exact duplicate
    assert files["tinyhttp/static/logo.png"].startswith(b"\x89PNG\r\n\x1a\n")
    assert b"\0" in files["tinyhttp/static/intro.ts"]  # binary under a source extension
    assert len(files["tinyhttp/tinyhttp/__init__.py"].splitlines()) <= 2  # the very short file
    assert WARC.stat().st_size < 1_000_000
