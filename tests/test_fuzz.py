"""Property tests: no exception escapes a per-document stage, the extractor or the WARC reader,
whatever Unicode, HTML or bytes they are given; and a stage never loses or invents a row."""

from __future__ import annotations

import gzip

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curator.manifest import ExtractSettings
from curator.schema import DOC_SCHEMA
from tests.conftest import DEMO

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text with what breaks naive code: NULs, lone surrogates are impossible in str-to-UTF-8,
# so the alphabet is every encodable code point, with whitespace and punctuation overweighted.
TEXT = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs",)),
        st.sampled_from(list("\n\r\t \u00a0\u3000#…•-*.!?,;:'\"<>&\x00")),
    ),
    max_size=400,
)
TAGS = ["p", "div", "script", "style", "table", "td", "li", "a", "br", "article", "nav", "pre", "code"]


@st.composite
def html_docs(draw) -> str:
    parts = ["<html><body>"] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 12))):
        tag = draw(st.sampled_from(TAGS))
        body = draw(TEXT)
        parts.append(f"<{tag}>{body}" + (f"</{tag}>" if draw(st.booleans()) else ""))
    return "".join(parts)


def _stages():
    """Every registered stage: with the demo manifest's settings where the demo uses it (a
    model path, say), else with its defaults."""
    from curator.manifest import load
    from stages import registry

    demo = {}
    for name, stage_settings in load(DEMO).stage_specs():
        demo.setdefault(name, stage_settings)
    out = []
    for name, cls in sorted(registry().items()):
        try:
            out.append(cls(demo.get(name, {})))
        except Exception as e:  # a stage that needs a user-supplied file has no default to fuzz
            pytest.fail(f"stage {name} cannot be built with default settings: {e}")
    return out


def _batch(texts: list[str], langs: list[str | None], domain: str) -> pa.RecordBatch:
    rows = [
        {"id": f"d{i}", "source": "s", "kind": "code" if domain == "code" else "warc", "domain": domain,
         "url": f"https://h{i}.example/p", "text": t, "lang": lang, "lang_score": None,
         "meta": {}, "drop_reason": None}
        for i, (t, lang) in enumerate(zip(texts, langs))
    ]
    return pa.RecordBatch.from_pylist(rows, schema=DOC_SCHEMA)


@pytest.fixture(scope="module")
def all_stages():
    return _stages()


@FUZZ
@given(
    texts=st.lists(st.one_of(TEXT, html_docs()), min_size=1, max_size=6),
    lang=st.sampled_from([None, "en", "de", "zh", "ja", "th", "ru", "xx"]),
    domain=st.sampled_from(["web", "code"]),
)
def test_no_exception_escapes_a_stage(all_stages, texts, lang, domain):
    batch = _batch(texts, [lang] * len(texts), domain)
    for stage in all_stages:
        out = stage.apply(batch)
        assert out.num_rows == batch.num_rows, stage.name
        assert out.column("id").to_pylist() == batch.column("id").to_pylist(), stage.name
        before = batch.column("drop_reason").to_pylist()
        for old, new in zip(before, out.column("drop_reason").to_pylist()):
            if old is not None:  # a row dropped earlier passes through untouched
                assert new == old, (stage.name, old, new)
            else:
                assert new is None or new.startswith(f"{stage.name}."), (stage.name, new)
        batch = out  # the chain, as the pipeline runs it


def _warc_record(body: bytes, content_type: str = "text/html") -> bytes:
    http = b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type.encode() + b"\r\n\r\n" + body
    head = (
        "WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n"
        "WARC-Target-URI: https://fuzz.example/\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n"
        f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(http)}\r\n\r\n"
    ).encode()
    return gzip.compress(head + http + b"\r\n\r\n", mtime=0)


@FUZZ
@given(html=st.one_of(html_docs(), TEXT), raw=st.binary(max_size=2000), extractor=st.sampled_from(["trafilatura", "resiliparse"]))
def test_extraction_of_arbitrary_html_never_raises(tmp_path_factory, html, raw, extractor):
    """Arbitrary HTML, and arbitrary bytes declared as HTML, through the WARC reader with each
    extractor: one row per record, kept with text or dropped with a reason."""
    from stages.warc_source import read_warc

    path = tmp_path_factory.mktemp("fuzz") / "f.warc.gz"
    path.write_bytes(_warc_record(html.encode("utf-8", "surrogatepass")) + _warc_record(raw))
    rows = list(read_warc(str(path), "s", "web", ExtractSettings(extractor=extractor)))
    assert len(rows) == 2, [r["drop_reason"] for r in rows]
    for r in rows:
        assert r["drop_reason"] is None or r["drop_reason"].startswith(("extract.", "warc.")), r["drop_reason"]
        assert (r["drop_reason"] is None) == bool(r["text"])


@FUZZ
@given(
    body=st.binary(max_size=3000),
    garbage=st.binary(max_size=300),
    cut=st.integers(0, 4000),
)
def test_warc_reader_never_raises_and_accounts_for_every_record(tmp_path_factory, body, garbage, cut):
    from stages.warc_source import read_warc

    good = _warc_record(b"<html><body><p>" + body + b"</p></body></html>")
    data = good + garbage + good[:cut]
    path = tmp_path_factory.mktemp("fuzz") / "f.warc.gz"
    path.write_bytes(data)
    rows = list(read_warc(str(path), "s", "web", ExtractSettings()))
    assert rows, "every file leaves at least one row"
    ids = [r["id"] for r in rows]
    assert all(ids), "every row has an id"
    for r in rows:
        assert (r["drop_reason"] is None) == bool(r["text"]), r["drop_reason"]
