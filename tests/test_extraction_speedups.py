"""trafilatura with this project's speed-ups (stages/trafilatura_speedups.py: a C-level
element lookup and Python functions in place of its costliest `re:test` XPath expressions)
gives exactly the text stock trafilatura gives: on every HTML page of the bundled sample and,
when the shared corpus is here, on one bench-warc file; and each function selects exactly
the elements its expression selects, on the trees extraction really prunes. No Spark."""

from __future__ import annotations

import pytest
import trafilatura
from warcio.archiveiterator import ArchiveIterator

import stages.extractors as ex
import stages.trafilatura_speedups as sp
from curator.manifest import ExtractSettings
from tests.conftest import ROOT, shared

SETTINGS = ExtractSettings(favor_precision=True, include_tables=True)


def _pages(source: str) -> list[str]:
    if source == "sample":
        path, limit = ROOT / "manifests" / "sample" / "web.warc.gz", 1000
    else:
        path, limit = shared("bench-warc/bench-00000.warc.gz"), 150
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
    assert len(pages) > 50
    return pages


@pytest.fixture
def stock():
    """trafilatura as shipped for the duration of the test, the speed-ups back after it."""
    with sp.stock():
        yield


@pytest.mark.parametrize("source", ["sample", "bench"])
def test_speedups_give_stock_text(source):
    pages = _pages(source)
    with sp.stock():
        plain = [ex.extract_trafilatura(h, SETTINGS) for h in pages]
    fast = [ex.extract_trafilatura(h, SETTINGS) for h in pages]
    assert sum(t is not None for t in plain) > 30  # pages with text, not only refusals
    assert fast == plain
    from trafilatura.utils import HTML_PARSER

    assert type(HTML_PARSER.makeelement("p")).__name__ == "HtmlElement"


@pytest.mark.parametrize("source", ["sample", "bench"])
def test_each_function_selects_what_its_xpath_selects(source):
    pages = _pages(source)
    seen = []
    with sp.checked(lambda path, same, n: seen.append((path, same, n))):
        for h in pages:
            ex.extract_trafilatura(h, SETTINGS)
    per_expr = {}
    for path, same, n in seen:
        calls, differ, found = per_expr.get(path, (0, 0, 0))
        per_expr[path] = (calls + 1, differ + (not same), found + n)
    assert len(per_expr) == len(sp.REPLACEMENTS)
    import trafilatura.xpaths as X

    frames = {X.BODY_XPATH[i].path for n, i in sp.REPLACEMENTS if n == "BODY_XPATH"}
    for path, (calls, differ, _) in per_expr.items():
        # every page is pruned; a frame expression runs only until an earlier one found the frame
        assert calls >= (1 if path in frames else len(pages) // 2) and differ == 0, path
    assert sum(found for _, _, found in per_expr.values()) > 100  # a real comparison


# Every branch of every function, where real pages seldom go: both attributes in either
# order, a value only the first attribute carries, hidden styles, comment lists, an
# infinite-scroll box with and without a title, elements the tag tests leave out.
EDGE_PAGE = """<html><body>
<div class="x" id="cookie-bar">a</div><div id="x" class="cookie-bar">b</div>
<span role="Navigation">c</span><p data-lp-replacement-content="">d</p>
<section data-component="MostPopularStoriesList">e</section><div id="ad-top">f</div>
<div class="sidebar left">g</div><div class="main ad x">h</div><aside class="sidebar">i</aside>
<b class="comments-title">j</b><i id="x" class="reply-form">k</i><i class="reply-form" id="x">l</i>
<em style="color:red" id="hidden-box">m</em><em id="box" style="hidden">n</em><u style="display: none">o</u>
<u aria-hidden="true">p</u><u id="akismet-x">q</u><u class="a hide">r</u><u class="show">s</u>
<div class="page bottom">t</div><div id="bottom-bar">u</div><div class="Padding-bottom-lg">v</div>
<p class="link">w</p><p class="permalink">x</p><span style="border:1px">y</span>
<div id="comments">z</div><div class="commentary">aa</div><section class="post-comments">bb</section>
<ol id="commentlist">cc</ol><ul id="disqus_thread">dd</ul><ul class="comment-list">ee</ul>
<details id="comol">ff</details><list class="comments">gg</list>
<div class="infinite-scroll">hh</div><div class="infinitescroll"><h1>ii</h1></div>
<section id="mvp-post-add-box"><h1>jj</h1></section><aside class="mvp-post-add-wrap">kk</aside>
<div class="elementor-share-buttons x">ll</div><span class="elementor-share-buttons">mm</span>
<div id="Teaser-1">nn</div><p class="bigTeaser">oo</p><b class="teaser">pp</b><div class="TEASER">qq</div>
<div class="wp-caption">rr</div><span id="caption-2">ss</span><i class="caption">tt</i>
</body></html>"""


FRAMES_PAGE = """<html><body>
<div class="post">a</div><div class="entry">b</div><section itemprop="articleBody">c</section>
<main id="articleContent">d</main><div id="art-content">e</div><div id="x-article__body">f</div>
<div class="post_text">g</div><div class="ArticleContent">h</div><p class="post">i</p><div class="posts">j</div>
<article role="article">k</article><div id="story">l</div><div class="cell">m</div><div id="primary-col">n</div>
<div id="x-primary">o</div><div class="FullText">p</div><div class="article x">q</div>
<div class="x article y">r</div><div class="single-post">s</div>
<div id="content">t</div><section class="content">u</section><div id="x-contentBody">v</div>
<div class="content__body">w</div><div id="Main-Content">x</div><div class="MAIN-CONTENT">y</div>
<div class="xpage-content">z</div><div class="Page-Content">aa</div><div class="PAGE-content">bb</div>
<div><span>cc</span><div class="post">dd</div><div class="entry">ee</div></div>
</body></html>"""


def _branches(name: str, index: int, page: str) -> int:
    """Compare the function with its XPath on `page`, then again after removing the first
    element the XPath selects, until it selects nothing (so an expression that keeps only its
    first match is compared on every element that can match); returns the rounds."""
    import trafilatura.xpaths as X
    from lxml import html

    expr = getattr(X, name)[index]
    xpath = expr.xpath if isinstance(expr, sp.FastExpression) else expr
    select = sp.REPLACEMENTS[(name, index)][1](X)
    tree = html.fromstring(page)
    rounds = 0
    while True:
        want = xpath(tree)
        assert select(tree) == want, f"{name}[{index}], round {rounds}"
        if not want:
            return rounds
        want[0].getparent().remove(want[0])
        rounds += 1


def test_functions_select_what_their_xpaths_select_on_every_branch():
    for name, index in sp.REPLACEMENTS:
        page = FRAMES_PAGE if name == "BODY_XPATH" else EDGE_PAGE
        assert _branches(name, index, page) > 0, f"{name}[{index}] selects nothing: the comparison would be empty"
    # each way a main-content frame can be named, in turn (near misses stay: wrong tag, '^', case)
    assert [_branches("BODY_XPATH", i, FRAMES_PAGE) for i in (0, 2, 3)] == [11, 7, 7]


def test_replacements_installed_only_for_the_expressions_they_were_written_for(stock):
    import trafilatura.xpaths as X

    sp._INSTALLED = None
    installed = sp.fast_prune_expressions()
    if trafilatura.__version__ == "2.3.1":  # the release they were written for: all apply
        assert installed == [f"{n}[{i}]" for n, i in sp.REPLACEMENTS]
    sp.restore_expressions()
    name, index = next(iter(sp.REPLACEMENTS))
    original = getattr(X, name)[index]
    getattr(X, name)[index] = type(original)(original.path.replace("self::span", "self::b"),
                                             namespaces={"re": X.REGEXP_NS})
    try:
        assert f"{name}[{index}]" not in sp.fast_prune_expressions()  # changed text: XPath kept
        assert not isinstance(getattr(X, name)[index], sp.FastExpression)
    finally:
        getattr(X, name)[index] = original
        sp.restore_expressions()
