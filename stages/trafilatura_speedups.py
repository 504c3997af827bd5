"""trafilatura, same text, less CPU: two changes to how it runs, neither to what it decides.

Extraction is most of a run's time (trafilatura in this project and in its peers), and a
profile of trafilatura 2.3 on bench-warc shows where its own time goes:

* about 40% in `prune_unwanted_nodes`, evaluating XPath expressions whose predicates call
  EXSLT `re:test`. lxml answers every such call in Python: it builds the attribute node-set
  as Python strings, looks up the function and calls `re.search`, for every element of the
  page. `fast_prune_expressions` puts in place of these expressions (those that prune, and
  three of the five that find the main-content frame; also three plain ones called on every
  page) a Python function that walks the same elements and applies the same
  tests with the same regular expressions (3-4x faster). Each function stands in for one
  exact expression: it is used only when the expression's text has the digest it was
  written for, so another trafilatura release keeps its own XPath, never a function that
  means something else.
* 5-7% in lxml.html's Python element-class lookup: `fast_element_lookup`.

tests/test_extraction_speedups.py compares the functions with the XPath expressions element
for element, and the extracted text with stock trafilatura's, page for page."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_FAST_LOOKUP = False


def fast_element_lookup() -> None:
    """Give trafilatura's HTML parser a C-level element-class lookup, once per process.

    lxml.html's parser looks up each element's class in a Python method, called for every
    element proxy trafilatura creates (about 2,500 per page): 5-7% of its extraction time
    on bench-warc. The default lookup here maps every element to the same `HtmlElement`
    class (comments and processing instructions to theirs); only lxml's form-field
    subclasses, which trafilatura never uses, are lost."""
    global _FAST_LOOKUP
    if _FAST_LOOKUP:
        return
    from lxml import etree
    from lxml.html import HtmlComment, HtmlElement, HtmlProcessingInstruction
    from trafilatura.utils import HTML_PARSER

    HTML_PARSER.set_element_class_lookup(
        etree.ElementDefaultClassLookup(element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction))
    _FAST_LOOKUP = True


def _first(el, va: str | None, vb: str | None, a: str, b: str) -> str:
    """XPath's string value of `@a|@b` (`va`, `vb`: their values), as EXSLT `re:test` and
    `starts-with` see it: the value of whichever of the two attributes comes first in the
    element, '' for neither."""
    if va is None:
        return vb or ""
    if vb is None:
        return va
    for key in el.keys():  # both: document order is the attributes' order
        if key == a:
            return va
        if key == b:
            return vb
    return va


_BLOCKS = ("div", "item", "list", "p", "section", "span")


def _overall_blocks(tokens) -> Callable:
    """OVERALL_DISCARD_XPATH[0]: blocks named as navigation, sharing, ads, footers..."""
    cookie = re.compile(tokens._alt(tokens._CONSENT_ID_CLASS_TOKENS))
    by_id = re.compile(tokens._alt(tokens._OVERALL_DISCARD_BOTH_TOKENS + tokens._OVERALL_DISCARD_ID_TOKENS))
    by_class = re.compile(tokens._alt(tokens._OVERALL_DISCARD_BOTH_TOKENS + tokens._OVERALL_DISCARD_CLASS_TOKENS))

    def select(tree) -> list:
        out = []
        for el in tree.iterdescendants(_BLOCKS):
            get = el.get
            role, id_, cls = get("role"), get("id"), get("class")
            if (get("data-lp-replacement-content") is not None
                    or (role is not None and "nav" in role.replace("N", "n"))
                    or "MostPopularStories" in (get("data-component") or "")
                    or cookie.search(_first(el, id_, cls, "id", "class"))
                    or by_id.search(id_ or "")
                    or by_class.search(cls or "")):
                out.append(el)
        return out

    return select


def _overall_hidden(tokens) -> Callable:
    """OVERALL_DISCARD_XPATH[1]: any element hidden, a comment title or a reply form."""
    from lxml import etree

    hidden = re.compile("hidden")
    by_id = re.compile("reader-comments|akismet")
    by_class = re.compile("^hide-|comments-title|nocomments|-reply-|message|akismet|suggest-links"
                          "|-hide-|hide-print| hidden| hide|noprint|notloaded")

    def select(tree) -> list:
        out = []
        for el in tree.iterdescendants(etree.Element):
            get = el.get
            id_, cls, style = get("id"), get("class"), get("style")
            if id_ is None and cls is None and style is None:  # most elements: one test left
                if get("aria-hidden") == "true":
                    out.append(el)
                continue
            if (cls == "comments-title"
                    or _first(el, id_, cls, "id", "class").startswith("reply-")
                    or hidden.search(_first(el, id_, style, "id", "style"))
                    or (style is not None and ("display:none" in style or "display: none" in style))
                    or by_id.search(id_ or "")
                    or by_class.search(cls or "")
                    or get("aria-hidden") == "true"):
                out.append(el)
        return out

    return select


def _precision_edges(tokens) -> Callable:
    """PRECISION_DISCARD_XPATH[1]: blocks named bottom or link, or drawn with a border."""
    bottom = re.compile(r"(^|\s)bottom|bottom(\s|$)")
    link = re.compile(r"(^|\s)link(\s|$)")

    def select(tree) -> list:
        out = []
        for el in tree.iterdescendants(_BLOCKS):
            first = _first(el, el.get("id"), el.get("class"), "id", "class")
            if bottom.search(first) or link.search(first) or "border" in (el.get("style") or ""):
                out.append(el)
        return out

    return select


def _comments(with_lists: bool) -> Callable:
    """REMOVE_COMMENTS_XPATH[0] and REMOVE_COMMENTS_AND_LISTS_XPATH[0]: comment sections
    (and, with lists, ol/ul comment lists), named by id or class."""

    def build(tokens) -> Callable:
        by_id = re.compile(f"^(?:{tokens._COMMENTS_ID}|disqus_thread|dsq-comments)")
        list_id = re.compile(f"^(?:{tokens._COMMENTS_ID})")
        by_class = re.compile(tokens._COMMENTS_CLASS)
        tags = ("div", "list", "section", "details") + (("ol", "ul") if with_lists else ())

        def select(tree) -> list:
            out = []
            for el in tree.iterdescendants(tags):
                id_, cls = el.get("id") or "", el.get("class") or ""
                if not (by_id.search(id_) or by_class.search(cls)):
                    continue
                if el.tag in ("ol", "ul") and not (list_id.search(id_) or by_class.search(cls)):
                    continue
                out.append(el)
            return out

        return select

    return build


def _infinite_scroll(tokens) -> Callable:
    """RAW_TREE_PRUNE_XPATH[0]: infinite-scroll containers of follow-up articles."""
    container = re.compile("mvp-post-add-(?:box|wrap)|infinite-?scroll")
    appended = re.compile("mvp-post-add-(?:box|wrap)")

    def select(tree) -> list:
        out = []
        for el in tree.iterdescendants(("div", "section", "aside")):
            id_, cls = el.get("id") or "", el.get("class") or ""
            if not (container.search(id_) or container.search(cls)):
                continue
            if next(el.iterdescendants("h1"), None) is None or appended.search(id_) or appended.search(cls):
                out.append(el)
        return out

    return select


def _contains(tags: tuple[str, ...], needle: str, attrs: tuple[str, ...], fold_t: bool = False) -> Callable:
    """`.//*[self::tag or ...][contains(@a, needle) or ...]`, with `fold_t`:
    `contains(translate(@a, 'T', 't'), needle)` (TEASER_DISCARD_XPATH, DISCARD_IMAGE_ELEMENTS,
    RAW_TREE_PRUNE_XPATH[1])."""

    def build(tokens) -> Callable:
        def select(tree) -> list:
            out = []
            for el in tree.iterdescendants(tags):
                for name in attrs:
                    value = el.get(name)
                    if value is not None and needle in (value.replace("T", "t") if fold_t else value):
                        out.append(el)
                        break
            return out

        return select

    return build


_FRAMES = ("article", "div", "main", "section")


def _first_of_each_parent(elements) -> list:
    """XPath's `.//*[test][1]` (no parentheses: the position counts among siblings): of the
    matching elements, in document order, each one that is the first match among its
    parent's children."""
    parents, out = set(), []
    for el in elements:
        parent = el.getparent()
        if parent not in parents:
            parents.add(parent)
            out.append(el)
    return out


def _body(first_per_parent: bool, equal: dict[str, tuple[str, ...]], search: list[tuple[str, str, int]],
          contains: list[tuple[str, str, str]] = ()) -> Callable:
    """BODY_XPATH[0], [2] and [3] (the main-content frames trafilatura tries in turn): an
    article, div, main or section whose attribute equals one of `equal`'s values, or matches
    one of `search`'s patterns (attribute, pattern, re flags: EXSLT `re:test`), or (`contains`:
    attribute, letters folded to lower case as `translate` does, needle) contains a needle.
    `first_per_parent`: the expression's `[1]` counts among siblings (`_first_of_each_parent`);
    else it is `(...)[1]`, the first match of the whole tree."""

    def build(tokens) -> Callable:
        tests = [(name, re.compile(pattern, flags).search) for name, pattern, flags in search]
        folds = [(name, str.maketrans(letters.upper(), letters.lower()), needle) for name, letters, needle in contains]

        def matches(tree):
            for el in tree.iterdescendants(_FRAMES):
                get = el.get
                if (any(get(name) in values for name, values in equal.items())
                        or any(test(get(name) or "") for name, test in tests)
                        or any(needle in (get(name) or "").translate(fold) for name, fold, needle in folds)):
                    yield el

        def select(tree) -> list:
            if first_per_parent:
                return _first_of_each_parent(matches(tree))
            first = next(matches(tree), None)
            return [] if first is None else [first]

        return select

    return build


REPLACEMENTS = {
    # (list in trafilatura.xpaths, index): (sha256 of the expression's whitespace-folded text, builder)
    ("OVERALL_DISCARD_XPATH", 0): ("d9e4b7d7125b483849e2efb833cd65fbb45ee38cc81e3b4f09dc712495826a90", _overall_blocks),
    ("OVERALL_DISCARD_XPATH", 1): ("9abb7217d588fd5a828b3c711b322bce82f641fe3e495bfdbfac90231eca493f", _overall_hidden),
    ("PRECISION_DISCARD_XPATH", 1): ("e73d179956bb857ee99043d836b0f57d6eeac41388c2a75639614fce48f0e4a7", _precision_edges),
    ("REMOVE_COMMENTS_XPATH", 0): ("853775ab53d61b2678b70a2f542bbb75e08be014c4164ef8e9ad66bb5487e52e", _comments(with_lists=False)),
    ("REMOVE_COMMENTS_AND_LISTS_XPATH", 0): ("ec1083e558ae70c0be79fe7ff3f11f7fcac683c3bd7c6ba692c8feadb2c26a04", _comments(with_lists=True)),
    ("RAW_TREE_PRUNE_XPATH", 0): ("77023cff86242dc8bb0431d98c785ea1f268cfc94ef681253d7eacf0afa12efd", _infinite_scroll),
    ("RAW_TREE_PRUNE_XPATH", 1): ("3c7afe92279543d5530365aa7b921c6e5b51243033e5622cae1dc85e08976f87", _contains(("div", "section", "aside"), "elementor-share-buttons", ("class",))),
    ("TEASER_DISCARD_XPATH", 0): ("50f9c0568a62e759b3ae1dc7cbc20e1f08b0c5bfbb2d2938430755b4163abf50", _contains(_BLOCKS, "teaser", ("id", "class"), fold_t=True)),
    ("DISCARD_IMAGE_ELEMENTS", 0): ("271b5ef29bbc5bf0dd945568bfade7f126585f42e832f1612f712311c6e4c84c", _contains(_BLOCKS, "caption", ("id", "class"))),
    ("BODY_XPATH", 0): ("8cab6e6e5b503a8d4fa84afa21a240c39d1cb16dbc423db4056ac83b22576bba", _body(
        True, {"class": ("post", "entry"), "itemprop": ("articleBody",), "id": ("articleContent",)},
        [("id", "(?:entry|article|art)-content|article__content|article(?:-|__)?body|articleBody|body-text", 0),
         ("class", "post[-_]text|post-body|post-?entry|post[-_]?content|postContent|post_inner_wrapper|article-?text"
                   "|articleText|(?:entry|page|text|article|art)-content|article__content|article(?:-|__)?body"
                   "|articleBody|ArticleContent|body-text|article__container", 0)])),
    ("BODY_XPATH", 2): ("3ac5a80dac974e647f67a2f58fb3c87265f4af2cdc61af6253ca1c0e0a150f8b", _body(
        False, {"role": ("article",), "id": ("article", "story"),
                "class": ("postarea", "art-postcontent", "text", "cell", "story")},
        [("id", "^primary|story-body", 0), ("class", "fulltext", re.I),
         ("class", "^article |post-bodycopy|story-?content|(?:theme|blog|section|single)-content|single-post"
                   "|main-column|wpb_text_column|story-body|field-body", 0)])),
    ("BODY_XPATH", 3): ("a3befe41db4d28b9624e227ca67e81af7dc225944b61da55267ef1dbce354897", _body(
        False, {"id": ("content",), "class": ("content",)},
        [("id", "content-main|content-body|contentBody", 0), ("class", "content[-_]main|content(?:-|__)body", 0)],
        [("id", "CM", "main-content"), ("class", "CM", "main-content"), ("class", "CP", "page-content")])),
}


def expression_digest(xpath) -> str:
    """sha256 of an lxml XPath's text with its whitespace folded."""
    return hashlib.sha256(" ".join(xpath.path.split()).encode()).hexdigest()


class FastExpression:
    """Called like the lxml XPath it stands for (`expr(tree)` -> the matching elements in
    document order), by a Python function that gives the same elements."""

    def __init__(self, xpath, select: Callable):
        self.xpath = xpath
        self.path = xpath.path
        self.select = select

    def __call__(self, tree, **_kw) -> list:
        return self.select(tree)


_INSTALLED: list[str] | None = None


def fast_prune_expressions() -> list[str]:
    """Replace, in trafilatura.xpaths' lists (shared by every module that prunes with them),
    each expression of REPLACEMENTS whose text is the one its function was written for.
    Once per process; returns the names replaced."""
    global _INSTALLED
    if _INSTALLED is not None:
        return _INSTALLED
    import trafilatura.xpaths as tokens

    done = []
    for (name, index), (digest, build) in REPLACEMENTS.items():
        exprs = getattr(tokens, name, None)
        if not isinstance(exprs, list) or index >= len(exprs):
            continue
        expr = exprs[index]
        if isinstance(expr, FastExpression):
            done.append(f"{name}[{index}]")
            continue
        if not hasattr(expr, "path") or expression_digest(expr) != digest:
            continue
        try:
            exprs[index] = FastExpression(expr, build(tokens))
        except AttributeError:  # a token list this function reads is gone
            continue
        done.append(f"{name}[{index}]")
    _INSTALLED = done
    return done


def _replaced() -> Iterator[tuple[list, int]]:
    """(trafilatura.xpaths list, index) of every expression a function stands in for now."""
    import trafilatura.xpaths as tokens

    for name, index in REPLACEMENTS:
        exprs = getattr(tokens, name, None)
        if isinstance(exprs, list) and index < len(exprs) and isinstance(exprs[index], FastExpression):
            yield exprs, index


def restore_expressions() -> None:
    """Put trafilatura's own XPath expressions back."""
    global _INSTALLED
    for exprs, index in _replaced():
        exprs[index] = exprs[index].xpath
    _INSTALLED = None


@contextmanager
def stock() -> Iterator[None]:
    """trafilatura as shipped inside the block (its XPath expressions, lxml.html's lookup),
    for comparisons; the speed-ups are back after it."""
    global _FAST_LOOKUP, _INSTALLED
    from lxml.html import HtmlElementClassLookup
    from trafilatura.utils import HTML_PARSER

    restore_expressions()
    HTML_PARSER.set_element_class_lookup(HtmlElementClassLookup())
    _FAST_LOOKUP, _INSTALLED = True, []  # so that `speed_up` leaves them as they are
    try:
        yield
    finally:
        restore_expressions()
        _FAST_LOOKUP = False
        speed_up()


class _Checked(FastExpression):
    def __init__(self, fast: FastExpression, record: Callable):
        super().__init__(fast.xpath, fast.select)
        self.record = record

    def __call__(self, tree, **_kw) -> list:
        got, want = self.select(tree), self.xpath(tree)
        self.record(self.path, got == want, len(want))
        return want


@contextmanager
def checked(record: Callable[[str, bool, int], None]) -> Iterator[None]:
    """Inside the block, every expression `fast_prune_expressions` would replace runs both its
    function and its XPath on each tree trafilatura prunes, goes on with the XPath's elements
    and calls `record(expression text, same elements?, elements found)`."""
    global _INSTALLED
    with stock():
        _INSTALLED = None
        fast_prune_expressions()
        for exprs, index in _replaced():
            exprs[index] = _Checked(exprs[index], record)
        yield


def speed_up() -> None:
    """Both changes, once per process (called before every extraction; cheap after the first)."""
    fast_element_lookup()
    if _INSTALLED is None:
        fast_prune_expressions()
