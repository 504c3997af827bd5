"""Web inputs: the same WARC from disk, over HTTP (with retries and a resumed transfer) and
through pyarrow.fs; Common Crawl paths files; WET records; charsets; the extraction time
limit; and the extract phase on Spark counting broken files per file."""

from __future__ import annotations

import glob
import gzip
import io
import threading
import time
from collections import Counter

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from curator.errors import ManifestError
from curator.manifest import ExtractSettings, Source
from stages import extractors
from stages.inputs import HttpError, list_source_files, open_input
from stages.warc_source import read_warc
from tests.conftest import shared
from tests.http_files import served
from tests.test_sources import build_warc


@pytest.fixture
def server(tmp_path):
    yield from served(tmp_path)


def fates(rows):
    """What must not depend on where the bytes came from."""
    return [(r["id"], r["url"], r["drop_reason"], r["text"], r["meta"].get("warc_offset")) for r in rows]


def settings(**kw):
    return ExtractSettings(**{"http_retries": 3, **kw})


def test_same_documents_over_http_as_from_disk(server):
    local = server.root / "t.warc.gz"
    build_warc(local)
    files = [local]
    try:
        real = shared("warc/cc-format-sample.warc.gz")
        (server.root / real.name).write_bytes(real.read_bytes())
        files.append(server.root / real.name)
    except pytest.skip.Exception:
        pass
    for f in files:
        from_disk = list(read_warc(str(f), "s", "web", settings()))
        over_http = list(read_warc(f"{server.url}/{f.name}", "s", "web", settings()))
        assert fates(over_http) == fates(from_disk)
        assert sum(r["drop_reason"] is None for r in over_http) >= 2
        assert over_http[0]["meta"]["warc_file"] == f"{server.url}/{f.name}"


def test_http_retries_with_backoff_then_gives_up(server):
    build_warc(server.root / "t.warc.gz")
    server.busy = [None, None]
    started = time.perf_counter()
    with open_input(f"{server.url}/t.warc.gz", retries=3, backoff_s=0.05) as f:
        assert f.read(2) == b"\x1f\x8b"
    assert len(server.requests) == 3 and time.perf_counter() - started >= 0.05 + 0.1
    server.busy = [None] * 10
    with pytest.raises(HttpError, match="gave up after 3 attempts"):
        open_input(f"{server.url}/t.warc.gz", retries=2, backoff_s=0.01)
    server.busy = []
    rows = list(read_warc(f"{server.url}/missing.warc.gz", "s", "web", settings()))
    assert [r["drop_reason"] for r in rows] == ["warc.unreadable"] and "404" in rows[0]["meta"]["error"]


def test_broken_transfer_resumes_with_a_range_request(server):
    p = server.root / "t.warc.gz"
    build_warc(p)
    server.cut_after = 1000
    rows = list(read_warc(f"{server.url}/t.warc.gz", "s", "web", settings()))
    assert fates(rows) == fates(read_warc(str(p), "s", "web", settings()))
    assert (server.requests[1]["path"], server.requests[1]["range"]) == ("/t.warc.gz", "bytes=1000-")


def test_paths_file_with_prefix_sample_and_limit(server, tmp_path):
    names = [f"crawl-data/CC-MAIN-2024-10/segments/{i}/warc/f{i}.warc.gz" for i in range(40)]
    paths = tmp_path / "warc.paths.gz"
    paths.write_bytes(gzip.compress(("\n".join(names) + "\n").encode()))
    src = Source(name="cc", kind="warc", domain="web", paths_file=str(paths), prefix=server.url + "/")
    assert list_source_files(src, str(tmp_path), 0) == [f"{server.url}/{n}" for n in names]
    sampled = Source(name="cc", kind="warc", domain="web", paths_file="warc.paths.gz", sample=0.5, seed=3, limit=5)
    a = list_source_files(sampled, str(tmp_path), 0)
    assert a == list_source_files(sampled, str(tmp_path), 0) and len(a) == 5
    assert a != [f"https://data.commoncrawl.org/{n}" for n in names[:5]]  # sampled, not the head
    # the paths file itself over HTTP
    (server.root / "warc.paths.gz").write_bytes(paths.read_bytes())
    remote = Source(name="cc", kind="warc", domain="web", paths_file=f"{server.url}/warc.paths.gz", limit=2)
    assert list_source_files(remote, str(tmp_path), 0) == [f"https://data.commoncrawl.org/{n}" for n in names[:2]]
    with pytest.raises(ManifestError, match="paths_file: nope.paths.gz not found"):
        list_source_files(Source(name="cc", kind="warc", domain="web", paths_file="nope.paths.gz"), str(tmp_path), 0)


def test_pyarrow_filesystem_uris_list_and_read_like_local_files(tmp_path):
    """s3:// goes through the same pyarrow.fs code; file:// exercises it without a network."""
    d = tmp_path / "bucket" / "CC-MAIN-2024-10"
    d.mkdir(parents=True)
    build_warc(d / "a.warc.gz")
    build_warc(d / "b.warc.gz")
    src = Source(name="cc", kind="warc", domain="web", inputs=[f"file://{tmp_path}/bucket/*/*.warc.gz"])
    uris = list_source_files(src, str(tmp_path), 0)
    assert uris == [f"file://{d}/a.warc.gz", f"file://{d}/b.warc.gz"]
    rows = list(read_warc(uris[0], "s", "web", settings()))
    assert fates(rows) == fates(read_warc(str(d / "a.warc.gz"), "s", "web", settings()))
    assert {r["meta"]["snapshot"] for r in rows} == {"CC-MAIN-2024-10"}
    with pytest.raises(ManifestError, match=r"inputs\[0\]: no file matches"):
        list_source_files(Source(name="cc", kind="warc", domain="web", inputs=[f"file://{tmp_path}/*.nope"]), ".", 0)


def test_s3_inputs_against_a_local_s3_stand_in(tmp_path, monkeypatch):
    """s3:// listing (a glob) and reading through pyarrow's S3 client, against moto's S3
    server on 127.0.0.1 (skipped where moto is not installed)."""
    moto_server = pytest.importorskip("moto.moto_server.threaded_moto_server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        for k, v in {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "test",
                     "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"}.items():
            monkeypatch.setenv(k, v)
        from stages.inputs import _arrow_fs

        local = tmp_path / "a.warc.gz"
        build_warc(local)
        import boto3

        boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name="us-east-1").create_bucket(Bucket="crawl")
        s3, _ = _arrow_fs("s3://crawl")
        for key in ("CC-MAIN-2024-10/segments/1/a.warc.gz", "CC-MAIN-2024-10/segments/2/b.warc.gz", "CC-MAIN-2024-10/README"):
            with s3.open_output_stream(f"crawl/{key}", compression=None) as f:
                f.write(local.read_bytes())
        src = Source(name="cc", kind="warc", domain="web", inputs=["s3://crawl/CC-MAIN-2024-10/segments/*/*.warc.gz"])
        uris = list_source_files(src, str(tmp_path), 0)
        assert uris == ["s3://crawl/CC-MAIN-2024-10/segments/1/a.warc.gz", "s3://crawl/CC-MAIN-2024-10/segments/2/b.warc.gz"]
        rows = list(read_warc(uris[1], "s", "web", settings()))
        assert fates(rows) == fates(read_warc(str(local), "s", "web", settings()))
        assert rows[0]["meta"]["snapshot"] == "CC-MAIN-2024-10"
        gone = list(read_warc("s3://crawl/nope.warc.gz", "s", "web", settings()))
        assert [r["drop_reason"] for r in gone] == ["warc.unreadable"]
    finally:
        server.stop()


def test_wet_records_are_used_as_plain_text(tmp_path):
    p = tmp_path / "t.warc.wet.gz"
    with open(p, "wb") as f:
        w = WARCWriter(f, gzip=True)
        w.write_record(w.create_warcinfo_record("t.wet.gz", {"software": "test"}))
        for url, text in [("https://a.example/", "Erste Zeile.\nZweite Zeile mit Umlauten: äöü."), ("https://b.example/", "  ")]:
            rec = w.create_warc_record(url, "conversion", payload=io.BytesIO(text.encode()),
                                       warc_headers_dict={"Content-Type": "text/plain",
                                                          "WARC-Identified-Content-Language": "deu"})
            w.write_record(rec)
    rows = list(read_warc(str(p), "s", "web", settings(), snapshot="CC-MAIN-2024-10"))
    assert [r["drop_reason"] for r in rows] == ["warc.skip_warcinfo", None, "extract.empty"]
    assert rows[1]["text"] == "Erste Zeile.\nZweite Zeile mit Umlauten: äöü."
    assert rows[1]["meta"]["content_languages"] == "deu" and rows[1]["meta"]["snapshot"] == "CC-MAIN-2024-10"


def test_charset_from_header_meta_or_detection():
    text = "Grüße aus Köln – über den Rhein"
    assert extractors.decode_html(text.encode("cp1252"), "text/html; charset=windows-1252")[1:] == ("cp1252", "header")
    html = b"<html><head><meta charset='iso-8859-1'></head><body>" + text.encode("latin-1", "replace") + b"</body></html>"
    decoded, codec, where = extractors.decode_html(html, "text/html")
    assert where == "meta" and "Grüße" in decoded
    jp = ("<html><body>" + "日本語のテキストです。" * 30 + "</body></html>").encode("shift_jis")
    decoded, codec, where = extractors.decode_html(jp, "text/html")
    assert where == "detected" and "日本語のテキスト" in decoded
    # a wrong declaration falls through to a decoding that works
    assert extractors.decode_html("naïve".encode(), "text/html; charset=ascii")[0] == "naïve"


def test_a_page_that_decodes_to_replacement_characters_is_dropped(tmp_path, monkeypatch):
    monkeypatch.setattr(extractors, "_detect", lambda payload: "ascii")  # nothing better found
    junk = b"<html><body>" + bytes(range(128, 256)) * 20 + b"</body></html>"
    with pytest.raises(extractors.UndecodablePage):
        extractors.decode_html(junk, "text/html")
    p = tmp_path / "t.warc.gz"
    with open(p, "wb") as f:
        w = WARCWriter(f, gzip=True)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record("https://a.example/", "response", payload=io.BytesIO(junk), http_headers=http))
    assert [r["drop_reason"] for r in read_warc(str(p), "s", "web", settings())] == ["warc.undecodable"]


def test_extraction_time_limit_counts_timeouts(tmp_path, monkeypatch):
    p = tmp_path / "t.warc.gz"
    build_warc(p)

    def stall(html, s):
        time.sleep(5)

    monkeypatch.setitem(extractors.EXTRACTORS, "trafilatura", stall)
    started = time.perf_counter()
    rows = list(read_warc(str(p), "s", "web", settings(timeout_s=0.2)))
    assert time.perf_counter() - started < 3
    reasons = Counter(r["drop_reason"] for r in rows)
    assert reasons["extract.timeout"] == 4 and None not in reasons  # every HTML page that reached the extractor
    # off the main thread there is no SIGALRM: extraction runs without a limit, no crash
    out = []
    monkeypatch.setitem(extractors.EXTRACTORS, "trafilatura", lambda html, s: "ok")
    t = threading.Thread(target=lambda: out.extend(read_warc(str(p), "s", "web", settings(timeout_s=0.2))))
    t.start()
    t.join()
    assert Counter(r["drop_reason"] for r in out)[None] == 4


@pytest.mark.parametrize("extractor", ["trafilatura", "resiliparse"])
def test_both_extractors_keep_the_article_and_drop_the_menu(tmp_path, extractor):
    p = tmp_path / "t.warc.gz"
    build_warc(p)
    rows = [r for r in read_warc(str(p), "s", "web", settings(extractor=extractor)) if r["drop_reason"] is None]
    a = next(r for r in rows if r["url"] == "https://a.example/")
    assert "sleeper service" in a["text"] and "Home | About" not in a["text"]
    assert a["meta"]["extractor"] == extractor and float(a["meta"]["extract_ms"]) >= 0


def test_extract_phase_counts_broken_files_per_file(spark, tmp_path, server):
    """The extract phase on Spark: malformed files, a WARC over HTTP, one that is missing."""
    from curator.manifest import parse
    from curator.pipeline import Pipeline

    malformed = sorted(glob.glob(str(shared("warc-malformed") / "*")))
    build_warc(server.root / "t.warc.gz")
    m = parse({
        "run": "sources",
        "sources": [{"name": "web", "kind": "warc", "domain": "web",
                     "inputs": malformed + [f"{server.url}/t.warc.gz", f"{server.url}/gone.warc.gz"]}],
        "mixture": {"weights": {"web": 1}},
        "extract": {"http_retries": 1},
        "output": {"dir": str(tmp_path / "runs"), "rejected_samples": 0},
    })
    stats = Pipeline(m, spark=spark, log=lambda s: None).run(until="extract")["extract"].stats
    assert stats["input_tasks"] == len(malformed) + 2
    problems = stats["problems_by_file"]
    assert problems[f"{server.url}/gone.warc.gz"] == {"warc.unreadable": 1}
    assert f"{server.url}/t.warc.gz" not in problems and stats["kept"] >= 2
    assert sum(n for per in problems.values() for n in per.values()) == sum(
        n for r, n in stats["dropped"].items() if r in ("warc.corrupt", "warc.truncated", "warc.unreadable",
                                                        "warc.bad_payload", "warc.undecodable", "extract.error"))
    assert any("warc.corrupt" in per or "warc.truncated" in per for f, per in problems.items() if f in malformed)
