"""The extraction cascade: cheap rules run before trafilatura, so that extraction (about 90% of
a run's time) is spent only on pages that can survive the stages after it.

Only rules the manifest already asks for run early, each for the domains its stage applies to:

* URL rules: a `stages:` entry whose class sets `before_extraction = True` (the URL
  blocklist, which reads nothing but `url`) is run on the page's URL alone. A page it rejects
  leaves extract with the reason the stage gives after extraction (`url_blocklist.domain`,
  `url_blocklist.url`), so the reason totals of a run stay those the user knows; only the
  phase that counts them moves from annotate to extract. A page that extraction or an
  earlier stage would also have dropped (empty, or `langid.language` when `langid` comes
  first) is counted under the early rule: the kept documents are the same, one reason moves.
* the language pre-check: where a `langid` entry keeps only some languages, the text nodes of
  the raw HTML (lxml; no boilerplate removal) are scored by the same fastText model. A page
  is `langid.precheck` only when its top language is outside `keep` with probability at least
  `language_min_top` AND all kept languages together score at most `language_max_kept`: a
  clear margin, because a page dropped here is never seen again. The measured share of pages
  the full path keeps that the pre-check still keeps is in tests/test_extract_cascade.py.
  Both bounds matter: on the 10,000 bench-warc pages with `keep: [en]`, `language_min_top`
  0.7 instead of 0.9 skips 10% more extractions (5,793 pages instead of 5,335) but drops
  English help pages under a Russian site interface (top ru 0.81-0.88, en <= 0.02) that the
  whole FineWeb chain keeps.

Every page the pre-check scores carries its figures in meta (`precheck_lang`,
`precheck_score`: the top language's probability, `precheck_kept_score`: the kept languages'
sum, `precheck_ms`), so a drop can be audited. A page the pre-check cannot read (no text, an
lxml error) is not judged: it goes on to extraction. Rows that skipped extraction carry
`meta["skipped_extraction"] = "1"`; curator/stats.py `extract_tallies` counts them and
`summarise` turns them into the extract phase's `cascade` statistics (pages saved per rule,
extraction time saved).
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

PRECHECK_REASON = "langid.precheck"
MAX_TEXT_CHARS = 3_000
"""The pre-check scores at most this many characters of a page's text nodes: enough for a
clear language signal (fastText's time grows with the text: 0.75 ms for 20,000 characters,
0.3 ms for 3,000, measured on bench-warc)."""
MAX_HTML_CHARS = 256 << 10
"""...read from at most this much of the page's HTML: lxml's time grows with the page."""

MIN_LETTERS = 20
"""A page with fewer letters in its text nodes is not judged: too little for a clear verdict."""

_NOT_TEXT = ("script", "style", "noscript", "template", "svg", "math", "head")
_XML_DECL = re.compile(r"\s*<\?xml[^>]*>", re.I)
_NOT_LETTERS = re.compile(r"[\W\d_]+")


def page_text(html: str, limit: int = MAX_TEXT_CHARS) -> str:
    """The text nodes of an HTML page, whitespace folded, without script/style/head content:
    what a reader would see, boilerplate included (no main-content detection: that is the
    expensive part this pre-check exists to avoid), control characters removed; at most
    `limit` characters, read from the first MAX_HTML_CHARS of the page. '' when lxml cannot
    parse the page or it has fewer than MIN_LETTERS letters: not judged."""
    from lxml import etree
    from lxml import html as lhtml

    from stages.extractors import strip_controls

    head = html[:MAX_HTML_CHARS]
    decl = _XML_DECL.match(head)  # lxml refuses a str that declares its encoding
    if decl:
        head = head[decl.end():]
    try:  # a space before every tag, so that text nodes of adjacent blocks stay apart
        root = lhtml.document_fromstring(head.replace("<", " <"))
    except (etree.ParserError, ValueError, TypeError):
        return ""
    etree.strip_elements(root, etree.Comment, etree.ProcessingInstruction, *_NOT_TEXT, with_tail=False)
    text = etree.tostring(root, method="text", encoding="unicode")  # C, not a Python loop over nodes
    text = " ".join(strip_controls(text)[0].replace("\ufffd", " ").split())[:limit]
    return text if len(_NOT_LETTERS.sub("", text[:1000])) >= MIN_LETTERS else ""


class _Runtime:
    """The loaded side of a Cascade (stage objects, models), built once per Python worker."""

    def __init__(self, url_rules, languages):
        self.url_rules = [(domains, cls(settings)) for domains, cls, settings in url_rules]
        self.languages = [(domains, _LanguageCheck(cls(settings).model, settings.keep))
                          for domains, cls, settings in languages]

    def load(self) -> None:
        """Load every list and model now, so that a missing one fails the task loudly instead
        of every record's row."""
        for _, stage in self.url_rules:
            getattr(stage, "lists", None)


class _LanguageCheck:
    def __init__(self, identifier, keep: list[str]):
        self.model = identifier.model
        self.keep = frozenset(keep)

    def score(self, text: str) -> tuple[str, float, float]:
        """(top language, its probability, the kept languages' probabilities summed) over all
        the model's labels."""
        labels, probs = self.model.predict(text, k=-1)
        kept = sum(float(p) for lab, p in zip(labels, probs) if lab.removeprefix("__label__") in self.keep)
        top = labels[0].removeprefix("__label__") if labels else "unknown"
        return top, float(min(probs[0], 1.0)) if len(probs) else 0.0, min(kept, 1.0)


_RUNTIMES: dict[str, _Runtime] = {}
_LOCK = threading.Lock()


def _applies(domains: list[str] | None, domain: str) -> bool:
    return domains is None or domain in domains


class Cascade:
    """What runs before extraction for one run: picklable (shipped to the workers as
    settings); lists and models are loaded on the worker, once (`runtime`)."""

    def __init__(self, url_rules: list, languages: list, min_top: float, max_kept: float):
        self.url_rules = url_rules  # [(domains, stage class, settings)]
        self.languages = languages  # [(domains, stage class, settings)], each with a keep list
        self.min_top = min_top
        self.max_kept = max_kept
        self.key = json.dumps([[kind, cls.name, s.model_dump(mode="json")]
                               for kind, group in (("url", url_rules), ("language", languages))
                               for _, cls, s in group], sort_keys=True)

    def spec(self) -> dict[str, Any]:
        """What the extract phase's fingerprint hashes: every rule, its settings and code."""
        from curator.codeprint import hash_files, module_files

        classes = [Cascade] + [cls for _, cls, _ in self.url_rules + self.languages]
        files = {p for cls in classes for p in module_files(cls)}
        return {"rules": json.loads(self.key), "min_top": self.min_top, "max_kept": self.max_kept,
                "code": hash_files(sorted(files))}

    @property
    def runtime(self) -> _Runtime:
        with _LOCK:
            if self.key not in _RUNTIMES:
                _RUNTIMES[self.key] = _Runtime(self.url_rules, self.languages)
            return _RUNTIMES[self.key]

    def check(self, domain: str, url: str | None, html: str, meta: dict[str, Any]) -> tuple[str | None, str | None]:
        """(drop reason, language) for a decoded page before extraction: the first URL rule
        that rejects it, else the language pre-check's verdict; (None, None) to extract it.
        The pre-check's figures go into `meta`."""
        import pyarrow as pa

        rt = self.runtime
        for domains, stage in rt.url_rules:
            if not _applies(domains, domain):
                continue
            docs = pa.table({"url": pa.array([url], pa.string()), "domain": [domain], "kind": ["warc"]})
            rule = stage.keep_batch(docs, stage.score_batch(docs))[0]
            if rule is not None:
                return f"{stage.name}.{rule}", None
        checks = [c for domains, c in rt.languages if _applies(domains, domain)]
        if not checks:
            return None, None
        started = time.perf_counter()
        try:
            text = page_text(html)
            if not text:
                return None, None
            for check in checks:
                top, p_top, p_kept = check.score(text)
                meta.update(precheck_lang=top, precheck_score=f"{p_top:.4f}", precheck_kept_score=f"{p_kept:.4f}")
                if top not in check.keep and p_top >= self.min_top and p_kept <= self.max_kept:
                    return PRECHECK_REASON, top
            return None, None
        finally:
            meta["precheck_ms"] = f"{(time.perf_counter() - started) * 1000:.1f}"


def cascade_for(manifest) -> Cascade | None:
    """The early rules `manifest` asks for (see the module docstring), or None when there are
    none or `extract.precheck` turns them off. Only WARC sources are read through it."""
    from stages.langid import LanguageId

    cfg = manifest.extract.precheck
    url_rules, languages = [], []
    for entry in manifest.stages:
        cls, settings = entry.stage, entry.settings
        if cfg.urls and getattr(cls, "before_extraction", False):
            url_rules.append((settings.domains, cls, settings))
        elif cfg.language and issubclass(cls, LanguageId) and settings.keep is not None:
            languages.append((settings.domains, cls, settings))
    if not url_rules and not languages:
        return None
    return Cascade(url_rules, languages, cfg.language_min_top, cfg.language_max_kept)


def summarise(saved: list[tuple[str, str, int]], tasks: dict[str, tuple]) -> dict[str, Any]:
    """The extract phase's `cascade` statistics: per early rule, the pages that skipped
    extraction; the time that saved, estimated per task as pages saved x the mean extraction
    time of the pages that task did extract (the run's mean for a task that extracted none);
    and the pre-check's own time, so `net_seconds_saved` is honest.

    `saved`: (task, drop reason, pages); `tasks`: task -> (mean extraction ms or None,
    pages extracted, pre-check ms, pages pre-checked). Plain Python, so it is testable alone."""
    total_ms = sum((t[0] or 0.0) * t[1] for t in tasks.values())
    extracted = sum(t[1] for t in tasks.values())
    run_mean = total_ms / extracted if extracted else 0.0
    rules: dict[str, dict[str, float]] = {}
    for task, reason, n in sorted(saved, key=lambda x: (str(x[0]), x[1])):
        mean = tasks.get(task, (None,))[0]
        r = rules.setdefault(reason, {"pages_saved": 0, "seconds_saved": 0.0})
        r["pages_saved"] += n
        r["seconds_saved"] += n * (mean if mean is not None else run_mean) / 1000
    precheck_s = sum(t[2] for t in tasks.values()) / 1000
    seconds = sum(r["seconds_saved"] for r in rules.values())
    return {
        "rules": {k: {"pages_saved": v["pages_saved"], "seconds_saved": round(v["seconds_saved"], 3)}
                  for k, v in sorted(rules.items())},
        "pages_saved": sum(r["pages_saved"] for r in rules.values()),
        "pages_extracted": extracted,
        "mean_extract_seconds": round(run_mean / 1000, 5),
        "seconds_saved": round(seconds, 3),
        "pages_prechecked": sum(t[3] for t in tasks.values()),
        "precheck_seconds": round(precheck_s, 3),
        "net_seconds_saved": round(seconds - precheck_s, 3),
        "estimate": "per task: pages saved x that task's mean extraction time per extracted page",
    }
