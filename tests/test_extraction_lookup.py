"""trafilatura with the C-level element lookup (stages/extractors.py `fast_element_lookup`)
gives exactly the text stock trafilatura gives: on every HTML page of the bundled sample and,
when the shared corpus is here, on one bench-warc file. No Spark."""

from __future__ import annotations

import pytest
from lxml.html import HtmlElementClassLookup
from warcio.archiveiterator import ArchiveIterator

import stages.extractors as ex
from curator.manifest import ExtractSettings
from tests.conftest import ROOT, shared


def _pages(path, limit: int) -> list[str]:
    pages = []
    with open(path, "rb") as f:
        for rec in ArchiveIterator(f):
            if rec.rec_type != "response" or rec.http_headers is None:
                continue
            ctype = rec.http_headers.get_header("Content-Type") or ""
            if "html" not in ctype:
                continue
            try:
                pages.append(ex.decode_html(rec.content_stream().read(), ctype)[0])
            except ex.UndecodablePage:
                continue
            if len(pages) >= limit:
                break
    return pages


def _texts(pages: list[str], fast: bool) -> list[str | None]:
    from trafilatura.utils import HTML_PARSER

    if fast:
        ex._FAST_LOOKUP = False
        ex.fast_element_lookup()
    else:
        HTML_PARSER.set_element_class_lookup(HtmlElementClassLookup())
        ex._FAST_LOOKUP = True  # keep extract_trafilatura from switching it back
    settings = ExtractSettings(favor_precision=True, include_tables=True)
    try:
        return [ex.extract_trafilatura(h, settings) for h in pages]
    finally:
        ex._FAST_LOOKUP = False
        ex.fast_element_lookup()


@pytest.mark.parametrize("source", ["sample", "bench"])
def test_fast_lookup_gives_stock_text(source):
    if source == "sample":
        pages = _pages(ROOT / "manifests" / "sample" / "web.warc.gz", 1000)
    else:
        path = shared("bench-warc/bench-00000.warc.gz")
        pages = _pages(path, 150)
    assert len(pages) > 50
    stock, fast = _texts(pages, fast=False), _texts(pages, fast=True)
    assert sum(t is not None for t in stock) > 30  # pages with text, not only refusals
    assert fast == stock
    from trafilatura.utils import HTML_PARSER

    assert type(HTML_PARSER.makeelement("p")).__name__ == "HtmlElement"

