"""The extraction cascade (stages/precheck.py): is the language pre-check safe, and how much
extraction time does it save?

1. Safety, on the real HTML pages of ../shared/corpus (bench-warc and warc/): each page is
   taken the full way (the manifest's extractor, then lid.176 on the extracted text, kept when
   the language is in `keep` and its score >= min_score) and through the pre-check alone (text
   nodes of the raw HTML, same model). The figure is the share of fully-kept pages that the
   pre-check also keeps, per keep-list: the demo's (en, de, fr, es, zh) and one language at a
   time for each language the corpus holds. The cascade is safe when it is >= 0.995.
2. Speed, on bench-warc files: `read_warc` (the extract phase's reader, one process) over the
   same files with the cascade off and on, for the demo's langid keep-list; documents per
   second, the pages the pre-check saved from extraction and the speed-up.

Run from the repository root: .venv/bin/python benchmarks/cascade.py [--files 2] [--every 1]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARED = Path(os.environ.get("CURATOR_SHARED_CORPUS", ROOT.parent / "shared" / "corpus"))
DEMO_KEEP = ("en", "de", "fr", "es", "zh")
MIN_SCORE = 0.65


def corpus_files(bench_files: int | None = None) -> list[str]:
    """bench-warc files (the first `bench_files`, all when None) and the warc/ folder's."""
    bench = sorted(glob.glob(str(SHARED / "bench-warc" / "*.warc.gz")))
    return bench[:bench_files] + sorted(glob.glob(str(SHARED / "warc" / "*.warc.gz")))


def html_pages(files: list[str], every: int = 1):
    """(file, url, decoded HTML) of every `every`-th 2xx HTML response, as the reader sees it."""
    from warcio.archiveiterator import ArchiveIterator

    from stages.extractors import UndecodablePage, decode_html

    for path in files:
        n = 0
        with open(path, "rb") as f:
            for rec in ArchiveIterator(f):
                if rec.rec_type != "response" or rec.http_headers is None:
                    continue
                ctype = rec.http_headers.get_header("Content-Type") or ""
                status = str(rec.http_headers.get_statuscode() or "")
                if not status.startswith("2") or ctype.split(";")[0].strip().lower() not in ("text/html", "application/xhtml+xml"):
                    continue
                n += 1
                if (n - 1) % every:
                    continue
                try:
                    html = decode_html(rec.content_stream().read(), ctype)[0]
                except UndecodablePage:
                    continue
                yield path, rec.rec_headers.get_header("WARC-Target-URI"), html


def score_pages(files: list[str], every: int = 1) -> list[dict]:
    """Per page: the full path's language and score (None when nothing was extracted) and the
    pre-check's probability of every label, from its text nodes."""
    from classifiers.fasttext_lid import LanguageIdentifier
    from curator.assets import resolve
    from curator.manifest import ExtractSettings
    from stages.extractors import ExtractionTimeout, extract_clean_text
    from stages.precheck import page_text

    lid = LanguageIdentifier(resolve("asset:lid176"))
    settings = ExtractSettings()
    out = []
    for path, url, html in html_pages(files, every):
        try:
            text = extract_clean_text(html, settings)[0]
        except ExtractionTimeout:
            text = None
        full = lid.predict([text]) if text and text.strip() else None
        raw = page_text(html)
        pre = {}
        if raw:
            labels, probs = lid.model.predict(raw, k=-1)
            pre = {lab.removeprefix("__label__"): float(p) for lab, p in zip(labels, probs)}
        out.append({"file": os.path.basename(path), "url": url, "lang": full[0][0] if full else None,
                    "score": full[1][0] if full else None, "pre": pre})
    return out


def prechecked(pre: dict, keep, min_top: float, max_kept: float) -> bool:
    """The pre-check's verdict (stages/precheck.py's rule) on one page's label probabilities."""
    if not pre:
        return False
    top = max(pre, key=pre.get)
    kept = sum(p for lab, p in pre.items() if lab in keep)
    return top not in keep and pre[top] >= min_top and kept <= max_kept


def safety(pages: list[dict], keep, min_top: float, max_kept: float, min_score: float = MIN_SCORE) -> dict:
    """Fully-kept pages, how many of them the pre-check keeps (and the share), and how many
    pages of all the pre-check drops (extraction saved)."""
    keep = frozenset(keep)
    full = [p for p in pages if p["lang"] in keep and p["score"] >= min_score]
    lost = [p for p in full if prechecked(p["pre"], keep, min_top, max_kept)]
    saved = sum(prechecked(p["pre"], keep, min_top, max_kept) for p in pages)
    return {"keep": sorted(keep), "pages": len(pages), "fully_kept": len(full),
            "still_kept": len(full) - len(lost), "share": (len(full) - len(lost)) / len(full) if full else 1.0,
            "prechecked": saved, "lost": [p["url"] for p in lost][:10]}


def keep_sets(pages: list[dict]) -> list[tuple[str, ...]]:
    """The demo's keep-list, then each language the full path finds on at least 5 pages."""
    langs = Counter(p["lang"] for p in pages if p["lang"])
    return [DEMO_KEEP] + [(lang,) for lang, n in sorted(langs.items()) if n >= 5]


def speed(files: list[str], keep=DEMO_KEEP) -> dict:
    """read_warc over `files` with the cascade off, then on (langid keep-list `keep`)."""
    from curator.manifest import ExtractSettings
    from stages.langid import LanguageId
    from stages.precheck import Cascade
    from stages.warc_source import read_warc

    settings = ExtractSettings()
    lang = LanguageId.Settings(keep=list(keep))
    cascade = Cascade([], [(None, LanguageId, lang)], settings.precheck.language_min_top,
                      settings.precheck.language_max_kept)
    cascade.runtime.load()
    out = {}
    for name, cas in (("off", None), ("on", cascade)):
        started, reasons = time.perf_counter(), Counter()
        for path in files:
            reasons.update(r["drop_reason"] for r in read_warc(path, "bench", "web", settings, cascade=cas))
        seconds = time.perf_counter() - started
        out[name] = {"seconds": round(seconds, 2), "records": sum(reasons.values()),
                     "docs_per_s": round(sum(reasons.values()) / seconds, 1),
                     "reasons": {str(k): v for k, v in sorted(reasons.items(), key=str)}}
    out["speedup"] = round(out["off"]["seconds"] / out["on"]["seconds"], 2)
    return out


def main() -> None:
    from curator.manifest import PrecheckSettings

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=2, help="bench-warc files for the speed test (default 2)")
    ap.add_argument("--safety-files", type=int, default=None, help="bench-warc files for safety (default all 10)")
    ap.add_argument("--every", type=int, default=1, help="score every n-th page for safety (default 1)")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-safety", action="store_true")
    ap.add_argument("--keep", default=",".join(DEMO_KEEP), help="langid keep-list for the speed test")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    ap.add_argument("--pages-out", default=None, help="write every page's scores as JSON here")
    args = ap.parse_args()
    cfg = PrecheckSettings()
    result = {"min_top": cfg.language_min_top, "max_kept": cfg.language_max_kept, "safety": []}
    pages = [] if args.skip_safety else score_pages(corpus_files(args.safety_files), args.every)
    if args.pages_out:
        Path(args.pages_out).write_text(json.dumps(pages) + "\n")
    if pages:
        result["safety"] = [safety(pages, k, cfg.language_min_top, cfg.language_max_kept) for k in keep_sets(pages)]
        full = sum(s["fully_kept"] for s in result["safety"])
        result["safety_all_keep_lists"] = sum(s["still_kept"] for s in result["safety"]) / full
    for s in result["safety"]:
        print(f"keep {','.join(s['keep']):16} fully kept {s['fully_kept']:5}  pre-check keeps "
              f"{s['still_kept']:5} ({s['share']:.4f})  pre-check drops {s['prechecked']:5} of {s['pages']}")
    if pages:
        print(f"all keep-lists together: {result['safety_all_keep_lists']:.4f} of fully-kept pages still kept")
    if not args.skip_speed:
        keep = tuple(args.keep.split(","))
        result["speed"] = speed(sorted(glob.glob(str(SHARED / "bench-warc" / "*.warc.gz")))[:args.files], keep)
        sp = result["speed"]
        print(f"speed ({args.files} bench files, keep {args.keep}): off {sp['off']['docs_per_s']} docs/s, "
              f"on {sp['on']['docs_per_s']} docs/s, speed-up x{sp['speedup']}")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
