"""The extraction cascade (stages/precheck.py): URL rules and the language pre-check run before
extraction, give the same fates, count what they saved, can be turned off, and are safe on the
shared real-web corpus."""

from __future__ import annotations

import io
import json
from collections import Counter

import pyarrow as pa
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from curator.errors import ManifestError
from curator.manifest import Manifest, parse
from curator.pipeline import _annotate_batches
from curator.schema import DOC_SCHEMA
from stages.precheck import PRECHECK_REASON, cascade_for, page_text, summarise
from stages.warc_source import read_warc
from tests.conftest import DEMO, shared
from tests.test_sources import ARTICLE

ITALIAN = (
    "<html><head><title>Il treno della notte</title></head><body><article><h1>Tornano i treni notturni</h1>"
    + "".join(
        f"<p>Paragrafo {i}: il treno parte dalla capitale dopo cena e arriva sulla costa prima di colazione, "
        "e secondo molti viaggiatori è il modo più rilassante per attraversare il paese.</p>"
        for i in range(6)
    )
    + "</article></body></html>"
)

PAGES = [  # (url, body, status): what each record is, and its fate
    ("https://a.example/", ARTICLE, "200 OK"),  # kept
    ("https://www.blocked.example/page", ARTICLE, "200 OK"),  # url_blocklist.domain
    ("https://news.blocked.example/x", ARTICLE, "200 OK"),  # url_blocklist.domain (parent listed)
    ("https://c.example/listed", ARTICLE, "200 OK"),  # url_blocklist.url
    ("https://blocked.example/gone", "<html>gone</html>", "404 Not Found"),  # warc.http_status either way
    ("https://it.example/", ITALIAN, "200 OK"),  # langid.language; langid.precheck with the cascade
    ("https://odd.example/", "<?xml version='1.0' encoding='utf-8'?>\x00<html><body>" + "\x01" * 50, "200 OK"),
]


def build_warc(path) -> None:
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)
        w.write_record(w.create_warcinfo_record("t.warc.gz", {"software": "test"}))
        for url, body, status in PAGES:
            http = StatusAndHeaders(status, [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body.encode()), http_headers=http))


def manifest(tmp_path, precheck: dict | None = None) -> Manifest:
    (tmp_path / "domains.txt").write_text("blocked.example\n")
    (tmp_path / "urls.txt").write_text("c.example/listed\n")
    build_warc(tmp_path / "t.warc.gz")
    extract = {"precheck": precheck} if precheck is not None else {}
    return parse({
        "run": "cascade",
        "sources": [{"name": "src", "kind": "warc", "inputs": [str(tmp_path / "t.warc.gz")], "domain": "web"}],
        "extract": extract,
        "stages": [
            {"langid": {"domains": ["web"], "keep": ["en"], "min_score": 0.5}},
            {"url_blocklist": {"domains": ["web"], "lists": [str(tmp_path / "domains.txt")],
                               "url_lists": [str(tmp_path / "urls.txt")]}},
        ],
        "mixture": {"weights": {"web": 1}},
        "output": {"dir": str(tmp_path / "runs")},
    })


def fates(m: Manifest, path: str, cascade) -> tuple[list[dict], dict[str, str | None]]:
    """The extract rows, and each record's final drop reason after the manifest's stages
    (run as the annotate phase runs them, without Spark)."""
    rows = list(read_warc(path, m.sources[0].name, m.sources[0].domain, m.extract, cascade=cascade))
    kept = [r for r in rows if r["drop_reason"] is None]
    final = {r["meta"]["record"]: r["drop_reason"] for r in rows}
    if kept:
        specs = [(e.stage, e.settings) for e in m.stages]
        for batch in _annotate_batches([pa.RecordBatch.from_pylist(kept, schema=DOC_SCHEMA)], specs, DOC_SCHEMA):
            for rec, reason in zip(batch.column("meta").to_pylist(), batch.column("drop_reason").to_pylist()):
                final[dict(rec)["record"]] = reason
    return rows, final


def test_blocklisted_urls_get_the_same_reasons_before_extraction(tmp_path):
    m = manifest(tmp_path, {"language": False})
    path = str(tmp_path / "t.warc.gz")
    cascade = cascade_for(m)
    assert cascade is not None and not cascade.languages
    rows_off, off = fates(m, path, None)
    rows_on, on = fates(m, path, cascade)
    assert on == off  # every record ends with the same reason
    assert Counter(off.values()) == {None: 1, "url_blocklist.domain": 2, "url_blocklist.url": 1,
                                     "warc.http_status": 1, "warc.skip_warcinfo": 1,
                                     "langid.language": 1, "extract.empty": 1}
    early = [r for r in rows_on if r["meta"].get("skipped_extraction")]
    assert sorted(r["drop_reason"] for r in early) == ["url_blocklist.domain"] * 2 + ["url_blocklist.url"]
    assert all("extract_ms" not in r["meta"] and r["text"] == "" for r in early)
    # without the cascade those three pages were extracted, then dropped by the stage
    assert sum("extract_ms" in r["meta"] for r in rows_off) == sum("extract_ms" in r["meta"] for r in rows_on) + 3


def test_language_precheck_drops_a_clearly_foreign_page_with_its_scores(tmp_path):
    m = manifest(tmp_path)
    path = str(tmp_path / "t.warc.gz")
    rows_off, off = fates(m, path, None)
    rows_on, on = fates(m, path, cascade_for(m))
    changed = {k: (off[k], on[k]) for k in off if off[k] != on[k]}
    assert list(changed.values()) == [("langid.language", PRECHECK_REASON)]
    assert {k for k, v in on.items() if v is None} == {k for k, v in off.items() if v is None}
    italian = next(r for r in rows_on if r["drop_reason"] == PRECHECK_REASON)
    meta = italian["meta"]
    assert italian["lang"] == meta["precheck_lang"] == "it" and meta["skipped_extraction"] == "1"
    assert float(meta["precheck_score"]) >= 0.9 and float(meta["precheck_kept_score"]) <= 0.02
    kept = next(r for r in rows_on if r["drop_reason"] is None)  # scored, kept: its figures are there too
    assert kept["meta"]["precheck_lang"] == "en" and "extract_ms" in kept["meta"]
    # the page lxml makes nothing of is not judged: it goes on to extraction (and its own fate)
    odd = next(r for r in rows_on if r["url"] == "https://odd.example/")
    assert odd["drop_reason"] == "extract.empty" and "precheck_lang" not in odd["meta"]


def test_the_setting_turns_the_cascade_off(tmp_path):
    assert cascade_for(manifest(tmp_path, {"urls": False, "language": False})) is None
    only_language = cascade_for(manifest(tmp_path, {"urls": False}))
    assert not only_language.url_rules and len(only_language.languages) == 1
    m = manifest(tmp_path)
    both = cascade_for(m)
    assert len(both.url_rules) == 1 and len(both.languages) == 1
    no_keep = m.model_copy(deep=True)
    no_keep.stages[0].settings.keep = None  # langid keeping every language: nothing to pre-check
    assert not cascade_for(no_keep).languages
    with pytest.raises(ManifestError, match="precheck.language_min_top"):
        manifest(tmp_path, {"language_min_top": 0.3})  # a "clear margin" below one half is refused


def test_rows_are_deterministic_and_every_record_is_counted(tmp_path):
    m = manifest(tmp_path)
    path = str(tmp_path / "t.warc.gz")
    timing = ("extract_ms", "precheck_ms")

    def strip(rows):
        return [{**r, "meta": {k: v for k, v in r["meta"].items() if k not in timing}} for r in rows]

    first, _ = fates(m, path, cascade_for(m))
    second, _ = fates(m, path, cascade_for(m))
    assert strip(first) == strip(second)
    assert sorted(int(r["meta"]["record"]) for r in first) == list(range(len(PAGES) + 1))


def test_a_precheck_that_fails_on_one_page_sends_it_to_extraction(tmp_path, monkeypatch):
    from stages.precheck import Cascade

    m = manifest(tmp_path)
    cascade = cascade_for(m)
    real = Cascade.check

    def flaky(self, domain, url, html, meta):
        if url == "https://it.example/":
            raise RuntimeError("model broke")
        return real(self, domain, url, html, meta)

    monkeypatch.setattr(Cascade, "check", flaky)
    rows, final = fates(m, str(tmp_path / "t.warc.gz"), cascade)
    italian = next(r for r in rows if r["url"] == "https://it.example/")
    assert "model broke" in italian["meta"]["precheck_error"] and "extract_ms" in italian["meta"]
    assert final[italian["meta"]["record"]] == "langid.language"  # the stage still drops it
    assert Counter(final.values())["url_blocklist.domain"] == 2 and len(rows) == len(PAGES) + 1


def test_page_text_reads_text_nodes_and_survives_odd_pages():
    html = ("<html><head><title>T</title><style>p{}</style></head><body><script>var x</script>"
            "<p>Hello <b>there</b></p><!-- hidden --><p>wonderful world</p></body></html>")
    assert page_text(html) == "Hello there wonderful world"
    xml = "<?xml version='1.0' encoding='utf-8'?><html><body><p>The text of an XHTML page, read</p></body></html>"
    assert page_text(xml) == "The text of an XHTML page, read"
    for odd in ("", "\x00\x00", "<", "<html></html>", "<p>too short</p>", "<p>" + "\x01" * 99 + "</p>"):
        assert page_text(odd) == ""
    assert len(page_text("<p>" + "word " * 100_000 + "</p>")) <= 20_000


def test_summary_counts_pages_saved_and_estimates_time_from_each_tasks_mean():
    tasks = {"0": (20.0, 10, 5.0, 12), "1": (40.0, 5, 3.0, 6), "2": (None, 0, 1.0, 2)}
    saved = [("0", "langid.precheck", 2), ("1", "langid.precheck", 1), ("1", "url_blocklist.domain", 3),
             ("2", "url_blocklist.domain", 1)]
    s = summarise(saved, tasks)
    run_mean = (20 * 10 + 40 * 5) / 15  # task 2 extracted nothing: the run's mean
    assert s["rules"] == {"langid.precheck": {"pages_saved": 3, "seconds_saved": round((2 * 20 + 40) / 1000, 3)},
                          "url_blocklist.domain": {"pages_saved": 4,
                                                   "seconds_saved": round((3 * 40 + run_mean) / 1000, 3)}}
    assert s["pages_saved"] == 7 and s["pages_extracted"] == 15 and s["precheck_seconds"] == 0.009
    assert s["net_seconds_saved"] == round(s["seconds_saved"] - 0.009, 3)


def test_the_extract_phase_reports_what_the_cascade_saved(spark, tmp_path):
    from curator.pipeline import Pipeline

    m = manifest(tmp_path)
    Pipeline(m, spark=spark, log=lambda s: None).run(until="extract")
    stats = json.loads((m.run_dir / "stats" / "extracted.json").read_text())
    cascade = stats["cascade"]
    assert cascade["rules"].keys() == {"url_blocklist.domain", "url_blocklist.url", PRECHECK_REASON}
    assert [cascade["rules"][k]["pages_saved"] for k in sorted(cascade["rules"])] == [1, 2, 1]
    assert cascade["pages_saved"] == 4 and cascade["seconds_saved"] > 0 and cascade["pages_prechecked"] >= 2
    assert stats["dropped"]["url_blocklist.domain"] == 2 and stats["records"]["problems"] == []
    # turned off: a new fingerprint, every page extracted, nothing reported as saved
    off = manifest(tmp_path, {"urls": False, "language": False})
    off.run = "cascade-off"
    Pipeline(off, spark=spark, log=lambda s: None).run(until="extract")
    stats_off = json.loads((off.run_dir / "stats" / "extracted.json").read_text())
    assert "cascade" not in stats_off and "url_blocklist.domain" not in stats_off["dropped"]
    assert stats_off["docs_in"] == stats["docs_in"]


@pytest.mark.slow
def test_demo_sample_keeps_the_same_documents_with_and_without_the_cascade():
    from curator.manifest import load

    m = load(DEMO)
    web = next(s for s in m.sources if s.kind == "warc")
    path = str(DEMO.parent / web.inputs[0])
    cascade = cascade_for(m)
    assert cascade is not None and cascade.languages
    rows_on, on = fates(m, path, cascade)
    _, off = fates(m, path, None)
    assert {k for k, v in on.items() if v is None} == {k for k, v in off.items() if v is None}
    assert sum(v is None for v in on.values()) > 50
    saved = Counter(r["drop_reason"] for r in rows_on if r["meta"].get("skipped_extraction"))
    assert saved[PRECHECK_REASON] == 6  # the planted it/pt articles (manifests/sample/README.md)


@pytest.mark.slow
def test_language_precheck_is_safe_on_the_shared_real_web_corpus(capsys):
    """>= 99.5% of the pages the full path keeps (extract, then lid.176 with the same keep and
    min_score) are still kept by the pre-check: every 10th page of bench-warc, every page of warc/."""
    from benchmarks.cascade import DEMO_KEEP, corpus_files, keep_sets, safety, score_pages
    from curator.manifest import PrecheckSettings

    shared("bench-warc")
    cfg = PrecheckSettings()
    bench = [f for f in corpus_files() if "bench-warc" in f]
    pages = score_pages(bench, every=10) + score_pages(corpus_files(0), every=1)
    results = [safety(pages, k, cfg.language_min_top, cfg.language_max_kept) for k in keep_sets(pages)]
    full = sum(r["fully_kept"] for r in results)
    still = sum(r["still_kept"] for r in results)
    with capsys.disabled():
        for r in results:
            print(f"\nprecheck safety keep={','.join(r['keep'])}: {r['still_kept']}/{r['fully_kept']} "
                  f"= {r['share']:.4f}; pre-check drops {r['prechecked']} of {r['pages']} pages")
        print(f"precheck safety, all keep-lists: {still}/{full} = {still / full:.4f}")
    demo = results[0]
    assert tuple(demo["keep"]) == tuple(sorted(DEMO_KEEP)) and demo["fully_kept"] > 500
    assert demo["share"] >= 0.995, demo
    assert still / full >= 0.995
    assert demo["prechecked"] > 0.1 * demo["pages"]  # and it does save work: ru and ja pages
