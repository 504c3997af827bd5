"""WARC and code sources: every record leaves a row with its fate; ids are stable."""

from __future__ import annotations

import glob
import io
from collections import Counter

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from curator.manifest import ExtractSettings
from curator.schema import git_blob_sha
from stages.code_source import list_code_files, read_code
from stages.warc_source import read_warc
from tests.conftest import shared

ARTICLE = (
    "<html><head><title>Night trains</title></head><body><nav><a href='/'>Home</a> | <a href='/a'>About</a></nav>"
    "<article><h1>Night trains are back</h1>"
    + "".join(
        f"<p>Paragraph {i}: the sleeper service leaves the capital after dinner and reaches the coast "
        f"before breakfast, which travellers say is the most relaxing way to cross the country.</p>"
        for i in range(6)
    )
    + "</article><footer>Copyright example, all rights reserved.</footer></body></html>"
)


def build_warc(path):
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)

        def response(url, body: bytes, status="200 OK", ctype="text/html; charset=utf-8"):
            http = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))

        w.write_record(w.create_warcinfo_record("t.warc.gz", {"software": "test"}))
        req = StatusAndHeaders("GET / HTTP/1.1", [("Host", "a.example")], is_http_request=True)
        w.write_record(w.create_warc_record("https://a.example/", "request", http_headers=req))
        response("https://a.example/", ARTICLE.encode())
        latin = ARTICLE.replace("Night trains are back", "Nachtzüge fahren wieder").replace("<head>", "<head><meta charset='iso-8859-1'>")
        response("https://b.example/", latin.encode("latin-1"), ctype="text/html")
        response("https://a.example/missing", b"<html>gone</html>", status="404 Not Found")
        response("https://a.example/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(64), ctype="image/png")
        response("https://a.example/big", ARTICLE.encode() * 20)
        response("https://a.example/empty", b"<html><body><div></div></body></html>")


def test_every_record_is_accounted_for(tmp_path):
    p = tmp_path / "t.warc.gz"
    build_warc(p)
    rows = list(read_warc(str(p), "src", "web", ExtractSettings(max_record_bytes=20_000)))
    reasons = Counter(r["drop_reason"] for r in rows)
    assert reasons == {
        "warc.skip_warcinfo": 1, "warc.skip_request": 1, None: 2, "warc.http_status": 1,
        "warc.not_html": 1, "warc.too_large": 1, "extract.empty": 1,
    }
    kept = {r["url"]: r for r in rows if r["drop_reason"] is None}
    a, b = kept["https://a.example/"], kept["https://b.example/"]
    assert "sleeper service" in a["text"] and "Home" not in a["text"] and "Copyright" not in a["text"]
    assert "Nachtzüge" in b["text"]  # charset only in the meta tag, decoded right
    assert a["id"].startswith("<urn:uuid:") and a["id"] == a["meta"]["record_id"]
    assert a["meta"]["http_status"] == "200" and a["meta"]["host"] == "a.example"
    assert int(a["meta"]["warc_offset"]) > 0


def test_the_extract_job_runs_one_spark_task_per_file_with_the_rows_of_read_warc(spark, tmp_path):
    from pyspark import TaskContext

    from curator.pipeline import extract_frame

    paths = []
    for k in range(3):
        paths.append(str(tmp_path / f"t{k}.warc.gz"))
        build_warc(paths[-1])
    settings = ExtractSettings(max_record_bytes=20_000)
    df = extract_frame(spark, [("src", "web", "warc", p) for p in paths], settings,
                       {"src": {"snapshot": None, "licenses": ["*"]}})
    assert df.rdd.getNumPartitions() == 3
    per_task = df.rdd.mapPartitions(lambda rows: [(TaskContext.get().partitionId(), sorted(
        {r["meta"]["warc_file"] for r in rows}))]).collect()
    assert sorted(per_task) == [(k, [p]) for k, p in enumerate(paths)]  # each file read by its own task
    expected = [r for p in paths for r in read_warc(p, "src", "web", settings)]
    got = df.select("id", "drop_reason").collect()
    assert sorted((r["id"], r["drop_reason"] or "") for r in got) == sorted(
        (r["id"], r["drop_reason"] or "") for r in expected)


def test_ids_are_the_warc_record_ids_and_repeatable(tmp_path):
    p = tmp_path / "t.warc.gz"
    build_warc(p)
    first = [r["id"] for r in read_warc(str(p), "s", "web", ExtractSettings())]
    again = [r["id"] for r in read_warc(str(p), "s", "web", ExtractSettings())]
    assert first == again and len(set(first)) == len(first)


def test_iana_crawl_record_types():
    rows = list(read_warc(str(shared("warc/iana-crawl.warc.gz")), "s", "web", ExtractSettings()))
    reasons = Counter(r["drop_reason"] for r in rows)
    assert reasons["warc.skip_request"] == 171
    assert reasons["warc.skip_revisit"] == 123
    responses = [r for r in rows if r["meta"].get("record_type") == "response"]
    assert len(responses) == 48
    assert sum(1 for r in responses if r["drop_reason"] is None) >= 15


def test_malformed_files_pass_through_counted():
    files = sorted(glob.glob(str(shared("warc-malformed") / "*")))
    assert files
    for f in files:
        rows = list(read_warc(f, "s", "web", ExtractSettings()))  # never raises
        assert rows, f
        for r in rows:
            assert r["id"] and (r["drop_reason"] is None) == bool(r["text"]), (f, r["drop_reason"])
    # one gzip stream for the whole file (not one per record) is read to its end, not given up on
    whole = [r["meta"]["record_type"] for r in read_warc(str(shared("warc-malformed/example-bad-non-chunked.warc.gz")), "s", "web", ExtractSettings())]
    assert whole == ["warcinfo", "warcinfo", "response", "request", "revisit", "request"]
    # a record with wrong chunking: counted, and the file's reading stops there with a reason
    wrong = Counter(r["drop_reason"] for r in read_warc(str(shared("warc-malformed/example-wrong-chunks.warc.gz")), "s", "web", ExtractSettings()))
    assert wrong == {"warc.truncated": 1, "warc.corrupt": 1}


def test_truncated_file_keeps_what_was_read(tmp_path):
    p = tmp_path / "t.warc.gz"
    build_warc(p)
    data = p.read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    rows = list(read_warc(str(cut), "s", "web", ExtractSettings()))
    assert rows[-1]["drop_reason"] in ("warc.corrupt", "warc.truncated")
    assert {"error", "missing_bytes"} & set(rows[-1]["meta"])
    assert any(r["drop_reason"] is None for r in rows)


@pytest.fixture
def code_tree(tmp_path):
    root = tmp_path / "code"
    (root / "alpha" / "src").mkdir(parents=True)
    (root / "alpha" / "src" / "main.py").write_text("def main():\n    return 42\n")
    (root / "alpha" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    (root / "alpha" / ".git").mkdir()
    (root / "alpha" / ".git" / "config").write_text("[core]\n")
    (root / "beta").mkdir()
    (root / "beta" / "lib.rs").write_text("pub fn add(a: i32, b: i32) -> i32 { a + b }\n")
    (root / "beta" / "data.xyz").write_text("unknown")
    (root / "beta" / "link.py").symlink_to(tmp_path / "outside.py")
    (tmp_path / "outside.py").write_text("SECRET = 1\n")
    return root


def test_code_tree_rows(code_tree):
    files = list_code_files(str(code_tree))
    assert [(r, p) for r, p, _ in files] == [
        ("alpha", "logo.png"), ("alpha", "src/main.py"), ("beta", "data.xyz"),
        ("beta", "lib.rs"), ("beta", "link.py"),
    ]
    rows = {r["url"]: r for r in read_code(files, "gh", "code", ExtractSettings())}
    main = rows["alpha/src/main.py"]
    assert main["drop_reason"] is None and main["meta"]["language"] == "Python"
    assert main["meta"]["blob_sha"] == git_blob_sha(b"def main():\n    return 42\n")
    assert rows["alpha/logo.png"]["drop_reason"] in ("code.binary", "code.unknown_extension")
    assert rows["beta/data.xyz"]["drop_reason"] == "code.unknown_extension"
    assert rows["beta/link.py"]["drop_reason"] == "code.symlink" and rows["beta/link.py"]["text"] == ""
    assert rows["beta/lib.rs"]["meta"]["language"] == "Rust"


def test_code_ids_follow_content(code_tree):
    def ids():
        return {r["url"]: r["id"] for r in read_code(list_code_files(str(code_tree)), "gh", "code", ExtractSettings())}
    before = ids()
    assert before == ids()
    (code_tree / "alpha" / "src" / "main.py").write_text("def main():\n    return 43\n")
    after = ids()
    assert after["alpha/src/main.py"] != before["alpha/src/main.py"]
    assert after["beta/lib.rs"] == before["beta/lib.rs"]


def test_full_size_recipe_is_a_valid_manifest(tmp_path):
    """manifests/commoncrawl-github.yaml validates (its repository folder swapped for a local one)."""
    import yaml

    from curator.manifest import parse
    from tests.conftest import ROOT

    data = yaml.safe_load((ROOT / "manifests" / "commoncrawl-github.yaml").read_text())
    code = next(s for s in data["sources"] if s["kind"] == "code")
    code["inputs"] = [str(tmp_path)]
    m = parse(data, base_dir=str(ROOT / "manifests"))
    web = next(s for s in m.sources if s.kind == "warc")
    assert web.paths_file.endswith("CC-MAIN-2024-10/warc.paths.gz") and web.limit
    assert m.shards.seq_lens == [2048, 4096, 8192]
    assert "MIT" in next(s for s in m.sources if s.kind == "code").licenses


def test_manifest_checks_web_source_fields(tmp_path):
    from curator.errors import ManifestError
    from curator.manifest import parse

    def manifest(**src):
        return {"run": "r", "sources": [{"name": "cc", "kind": "warc", "domain": "web", **src}],
                "mixture": {"weights": {"web": 1}}}

    with pytest.raises(ManifestError, match=r"sources\[0\]\.paths_file: warc.paths.gz not found"):
        parse(manifest(paths_file="warc.paths.gz"), base_dir=str(tmp_path))
    with pytest.raises(ManifestError, match="give `inputs` or `paths_file`"):
        parse(manifest(), base_dir=str(tmp_path))
    with pytest.raises(ManifestError, match="extract.extractor"):
        parse({**manifest(inputs=["https://x.example/a.warc.gz"]), "extract": {"extractor": "lynx"}}, base_dir=str(tmp_path))
    m = parse(manifest(paths_file="https://data.commoncrawl.org/crawl-data/CC-MAIN-2024-10/wet.paths.gz", limit=3), str(tmp_path))
    assert m.sources[0].limit == 3  # remote: nothing is fetched while validating
