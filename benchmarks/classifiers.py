#!/usr/bin/env python3
"""Classifier throughput on one process (2 torch threads on a 2-core machine) and quality AUC.

    .venv/bin/python benchmarks/classifiers.py [--quick]

Documents: the 181 real article bodies of ../shared/corpus/extraction/aeb (each page's
human-checked text), cycled to the benchmark's size, mixed with junk pages made by
scripts/make_quality_model.py (so the cheap filters have something to drop); without the
shared corpus, articles made from the sample's sentence pools.

Measured:
- fasttext_quality (the bundled demo model), toxic_words (LDNOOBW), url_blocklist (UT1's
  4.5M domains; peer: datatrove's URLFilter on the same URLs, when installed);
- Detoxify through its own code, with a bert-base-sized model in its checkpoint format
  (random weights; the same shape and CPU cost as Detoxify's `original`), at several batch
  sizes, and the tiny demo model;
- the cascade: Detoxify on every document vs. only on those that the cheap filters kept;
- quality AUC: `curator train quality` on real articles (positive) vs. junk pages
  (negative), scored on the held-out split.
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
SHARED = Path(os.environ.get("CURATOR_SHARED_CORPUS", ROOT.parent / "shared" / "corpus"))


def real_articles() -> list[tuple[str, str]]:
    gt = SHARED / "extraction" / "aeb" / "ground-truth.json"
    if gt.is_file():
        data = json.loads(gt.read_text())
        return [(v["url"], v["articleBody"]) for _, v in sorted(data.items()) if v.get("articleBody", "").strip()]
    from make_quality_model import build_sets

    pos, _ = build_sets(n_per_lang=30)
    return [(f"https://articles.example/{i}", t) for i, t in enumerate(pos)]


def junk_pages(n: int) -> list[str]:
    from make_quality_model import SPAM, negative_doc

    rng = random.Random(5)
    return [negative_doc(rng, rng.choice(sorted(SPAM))) for _ in range(n)]


def progress(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def batches_of(table, size: int = 256):
    return table.to_batches(max_chunksize=size)


def doc_batch(texts, urls, langs):
    import pyarrow as pa

    from curator.schema import DOC_SCHEMA

    rows = [{"id": str(i), "source": "bench", "kind": "warc", "domain": "web", "url": u, "text": t, "lang": lang,
             "lang_score": 1.0, "meta": [], "drop_reason": None} for i, (t, u, lang) in enumerate(zip(texts, urls, langs))]
    return pa.Table.from_pylist(rows, schema=DOC_SCHEMA)


def run_stage(stage, table) -> float:
    """Seconds for `stage.apply` over the table in batches of 256 (the model is loaded before)."""
    t = time.perf_counter()
    for b in batches_of(table):
        stage.apply(b)
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="classifier throughput and quality AUC")
    ap.add_argument("--quick", action="store_true", help="small sizes (a few minutes)")
    args = ap.parse_args(argv)
    n_docs = 400 if args.quick else 2000
    n_detox = 8 if args.quick else 64  # bert-base at 512 tokens: seconds per document on 2 cores
    batch_sizes = (1, 4, 8) if args.quick else (1, 8, 32)
    import torch

    torch.set_num_threads(2)

    from classifiers.detoxify_model import ToxicityModel, build_checkpoint
    from curator import assets
    from curator.train import train_quality
    from stages.blocklist import UrlBlocklistFilter
    from stages.gopher import GopherQuality
    from stages.quality import FastTextQuality
    from stages.toxicity import DetoxifyToxicity, ToxicWords

    missing = [a for a in ("ldnoobw", "ut1_adult", "detoxify_tiny", "lid176") if not assets.is_fetched(a)]
    if missing:
        print(f"error: assets {missing} are not fetched: run `curator assets fetch`", file=sys.stderr)
        return 3

    articles = real_articles()
    source = "shared corpus (aeb, 181 real articles)" if (SHARED / "extraction").is_dir() else "generated articles"
    junk = junk_pages(max(50, n_docs // 4))
    random.Random(1)
    texts, urls = [], []
    for i in range(n_docs):
        if i % 4 == 3:
            texts.append(junk[i % len(junk)])
            urls.append(f"https://shop{i}.example/deal")
        else:
            u, t = articles[i % len(articles)]
            texts.append(t)
            urls.append(u)
    table = doc_batch(texts, urls, ["en"] * n_docs)
    rows: list[tuple[str, str, float, str]] = []
    res: dict[str, float] = {"docs": n_docs}

    progress("quality AUC")
    # Trained first: in this process, after the bert-base runs below, fastText's training
    # diverged (NaN) where the same training in a fresh process does not.
    # -- quality AUC on held-out documents ---------------------------------------------------
    with tempfile.TemporaryDirectory() as tmp:
        pos, neg = Path(tmp) / "pos.jsonl", Path(tmp) / "neg.jsonl"
        pos.write_text("".join(json.dumps({"text": t}) + "\n" for _, t in articles))
        neg.write_text("".join(json.dumps({"text": t}) + "\n" for t in junk_pages(len(articles))))
        result = train_quality([str(pos)], [str(neg)], str(Path(tmp) / "q.bin"), holdout=0.2, log=lambda _: None)
    res["quality_auc"] = round(result["auc"], 4)
    res["quality_precision"] = round(result["precision"], 4)
    res["quality_recall"] = round(result["recall"], 4)
    res["quality_held_out"] = result["held_out"]

    # -- cheap classifiers --------------------------------------------------------------------
    quality = FastTextQuality({"model": str(ROOT / "manifests" / "sample" / "quality.bin"), "min_score": 0.5})
    words = ToxicWords({"lists": "asset:ldnoobw"})
    blocklist = UrlBlocklistFilter({})
    for name, stage in (("fasttext_quality", quality), ("toxic_words", words), ("url_blocklist", blocklist)):
        progress(name)
        _, load_s = timed(stage.apply, table.to_batches()[0].slice(0, 1))  # loads the model or list
        secs = run_stage(stage, table)
        res[f"{name}_docs_per_s"] = round(n_docs / secs, 1)
        res[f"{name}_load_s"] = round(load_s, 2)
        rows.append((name, "ours", n_docs / secs, f"load {load_s:.1f} s"))

    progress("datatrove URLFilter")
    # peer: datatrove's URLFilter with its integrated lists (the same UT1 list)
    try:
        from datatrove.data import Document
        from datatrove.pipeline.filters import URLFilter
        from tldextract import TLDExtract

        flt = URLFilter()
        flt.tldextractor = TLDExtract(suffix_list_urls=())  # offline: the bundled suffix snapshot
        t = time.perf_counter()
        flt.filter(Document(text="x", id="0", metadata={"url": urls[0]}))  # extracts and loads its lists
        dt_load = time.perf_counter() - t
        docs = [Document(text="", id=str(i), metadata={"url": u}) for i, u in enumerate(urls)]
        _, secs = timed(lambda: [flt.filter(d) for d in docs])
        res["datatrove_url_filter_docs_per_s"] = round(n_docs / secs, 1)
        res["url_blocklist_vs_datatrove"] = round(res["url_blocklist_docs_per_s"] / res["datatrove_url_filter_docs_per_s"], 2)
        rows.append(("url_blocklist", "datatrove URLFilter", n_docs / secs, f"load {dt_load:.1f} s"))
    except ImportError as e:
        rows.append(("url_blocklist", "datatrove URLFilter", float("nan"), f"not installed ({e}): pip install -e '.[bench]'"))

    # -- Detoxify: bert-base-sized model, batch sizes; the tiny demo model -------------------
    progress("detoxify")
    detox_texts = texts[:n_detox]
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = build_checkpoint(tmp, seed=0, steps=0, hidden=768, layers=12, heads=12, intermediate=3072, max_len=512)
        base, load_s = timed(ToxicityModel, "original", str(ckpt), str(Path(tmp) / "hf"), 2, 2000)
    per_bs: dict[int, float] = {}
    for bs in batch_sizes:
        progress(f"detoxify batch {bs}")
        _, secs = timed(base.predict, detox_texts, bs)
        per_bs[bs] = n_detox / secs
        rows.append(("detoxify (bert-base size)", f"batch {bs}", per_bs[bs], f"{n_detox} docs, load {load_s:.1f} s"))
    best_bs = max(per_bs, key=per_bs.get)
    res["detoxify_docs_per_s"] = round(per_bs[best_bs], 2)
    res["detoxify_best_batch_size"] = best_bs
    for bs, v in per_bs.items():
        res[f"detoxify_batch{bs}_docs_per_s"] = round(v, 2)
    tiny = ToxicityModel("original", assets.resolve("asset:detoxify_tiny"), assets.resolve("asset:detoxify_tiny/hf"), 2)
    _, secs = timed(tiny.predict, texts, 32)
    res["detoxify_tiny_docs_per_s"] = round(n_docs / secs, 1)
    rows.append(("detoxify (tiny demo model)", "batch 32", n_docs / secs, "not a real model"))

    # -- the cascade: Detoxify on all documents vs. on what the cheap filters kept ------------
    progress("cascade")
    chain = [blocklist, GopherQuality({}), words, quality]
    sub = table.slice(0, n_detox)
    t = time.perf_counter()
    survivors = []
    for b in batches_of(sub):
        for stage in chain:
            b = stage.apply(b)
        survivors.append(b)
    cheap_s = time.perf_counter() - t
    kept = sum(b.column("drop_reason").null_count for b in survivors)
    detox_stage = DetoxifyToxicity({"batch_size": best_bs})
    detox_stage.model = base
    t = time.perf_counter()
    for b in survivors:
        detox_stage.apply(b)
    cascade_s = cheap_s + time.perf_counter() - t
    all_s = n_detox / per_bs[best_bs]
    res["cascade_kept_fraction"] = round(kept / n_detox, 3)
    res["cascade_speedup"] = round(all_s / cascade_s, 2)
    rows.append(("cascade", "detoxify on all", n_detox / all_s, f"{all_s:.1f} s"))
    rows.append(("cascade", "cheap filters, then detoxify on kept", n_detox / cascade_s,
                 f"{cascade_s:.1f} s, {kept}/{n_detox} kept, {all_s / cascade_s:.2f}x faster"))

    print(f"\nclassifier throughput, one process, torch threads 2 ({os.cpu_count()} cores); documents: {source}")
    print(f"{'classifier':28} {'run':38} {'docs/s':>10}  note")
    for name, run, v, note in rows:
        print(f"{name:28} {run:38} {v:10.2f}  {note}")
    if "url_blocklist_vs_datatrove" in res:
        print(f"url_blocklist / datatrove URLFilter: {res['url_blocklist_vs_datatrove']:.2f}x")
    print(f"Detoxify batch {best_bs} vs batch 1: {per_bs[best_bs] / per_bs[1]:.2f}x")
    print(f"quality classifier, held-out ({result['held_out']} docs: real articles vs junk): "
          f"AUC {res['quality_auc']:.4f}, precision {res['quality_precision']:.3f}, recall {res['quality_recall']:.3f}")
    print(json.dumps({k: v for k, v in res.items()}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
