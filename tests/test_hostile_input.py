"""Hostile input: decompression bombs, deeply nested and enormous HTML, invalid UTF-8 and NUL
bytes. Each is counted under a reason or kept; none crashes the reader or hangs it, and the
reader's memory stays bounded (measured in a child process)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT
from tests.hostile_inputs import gzip_repeat, record, warc_head

ARTICLE = (
    "<html><body><article><h1>Night trains</h1>"
    + "".join(f"<p>The night train {i} leaves the old station at nine and reaches the coast by dawn, "
              "so travellers sleep through the mountains and wake to the sea.</p>" for i in range(8))
    + "</article></body></html>"
).encode()


@pytest.fixture(scope="module")
def hostile_warc(tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "hostile.warc.gz"
    parts = [record(1, "https://ok.example/first", ARTICLE)]
    # 1. HTTP-level bomb: a 2 MB gzip Content-Encoding that inflates to 2 GiB
    bomb = gzip_repeat(b"<html><body><p>", 2 << 30, b"</p></body></html>")
    parts.append(record(2, "https://bomb.example/http", bomb,
                        "Content-Type: text/html\r\nContent-Encoding: gzip"))
    # 2. WARC-level bomb: the record's own gzip member inflates to 512 MiB
    n_zeros = 512 << 20
    http_head = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {n_zeros}\r\n\r\n".encode()
    parts.append(gzip_repeat(warc_head(3, "https://bomb.example/warc", len(http_head) + n_zeros) + http_head,
                                 n_zeros, b"\r\n\r\n"))
    # 3. deeply nested HTML
    nested = b"<html><body>" + b"<div>" * 100_000 + b"deep" + b"</div>" * 100_000 + b"</body></html>"
    parts.append(record(4, "https://deep.example/", nested))
    # 4. an enormous page (over the 10 MB record cap)
    huge = b"<html><body>" + b"<p>words words words words</p>" * 400_000 + b"</body></html>"
    parts.append(record(5, "https://huge.example/", huge))
    # 5. invalid UTF-8 and NUL bytes inside an otherwise good article
    broken = ARTICLE.replace(b"Night trains", b"Night \xff\xfe trains \x00\x00 \xc3\x28")
    parts.append(record(6, "https://broken.example/", broken))
    parts.append(record(7, "https://ok.example/last", ARTICLE))
    path.write_bytes(b"".join(parts))
    return path


def test_hostile_records_are_counted_and_bounded(hostile_warc):
    script = textwrap.dedent(f"""
        import json, resource, sys
        sys.path.insert(0, {str(ROOT)!r})
        from curator.manifest import ExtractSettings
        from stages.warc_source import read_warc
        rows = [{{"url": r["url"], "reason": r["drop_reason"], "chars": len(r["text"]),
                  "nul": "\\x00" in r["text"]}}
                for r in read_warc({str(hostile_warc)!r}, "s", "web", ExtractSettings())]
        print(json.dumps({{"rows": rows, "maxrss_kb": int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])}}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    by_url = {r["url"]: r for r in out["rows"]}
    assert len(out["rows"]) == 7, out["rows"]
    assert by_url["https://ok.example/first"]["reason"] is None
    assert by_url["https://ok.example/last"]["reason"] is None, "the reader must go on after hostile records"
    assert by_url["https://bomb.example/http"]["reason"] == "warc.too_large"
    assert by_url["https://bomb.example/warc"]["reason"] == "warc.too_large"
    assert by_url["https://huge.example/"]["reason"] == "warc.too_large"
    deep = by_url["https://deep.example/"]
    assert deep["reason"] is None or deep["reason"].startswith("extract."), deep
    broken = by_url["https://broken.example/"]
    assert broken["reason"] is None and broken["chars"] > 500 and not broken["nul"], broken
    # 2.5 GiB of inflated data went past the reader; it held a few hundred MB at most
    assert out["maxrss_kb"] < 1_500_000, f"peak memory {out['maxrss_kb'] / 1024:.0f} MB"


def test_an_empty_input_is_counted_and_an_empty_domain_is_a_clear_error(spark, tmp_path):
    """An empty WARC leaves a `warc.empty` row; a domain left with nothing stops the run with
    one line naming the domain (exit code 2), after the extract phase was written."""
    from curator.errors import ManifestError
    from curator.manifest import parse
    from curator.pipeline import Pipeline
    from tests.conftest import DEMO

    empty = tmp_path / "empty.warc.gz"
    empty.write_bytes(b"")
    m = parse({
        "run": "empty",
        "sources": [
            {"name": "web", "kind": "warc", "inputs": [str(empty)], "domain": "web"},
            {"name": "code", "kind": "code", "inputs": [str(DEMO.parent / "sample" / "code")],
             "domain": "code", "licenses": ["*"]},
        ],
        "mixture": {"weights": {"web": 0.5, "code": 0.5}},
        "output": {"dir": str(tmp_path / "runs")},
    })
    with pytest.raises(ManifestError, match=r"mixture\.weights\.web: .*no tokens") as err:
        Pipeline(m, spark=spark, log=lambda s: None).run()
    assert err.value.exit_code == 2 and "\n" not in str(err.value)
    stats = json.loads((m.run_dir / "stats" / "extracted.json").read_text())
    assert stats["domains"]["web"]["dropped"] == {"warc.empty": 1}
