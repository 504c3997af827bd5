"""Below the document: boilerplate lines and repeated spans, planted in real text, found by
our Spark stages and by datatrove's sentence dedup on the same documents in the same run.

Documents are made of real text: distinct lines of the 10,000 Debian documentation pages in
../shared/corpus/bench-warc (extracted once with lxml, cached in .cache/bench/, see
benchmarks/dedup.py), each used in at most one document, so any repeat is a planted one.
Lines of 50 words or more are left out of the pool: the pages hold near-copies of long
paragraphs (a translation with one word changed) that share 50-word spans, which the span
stage rightly cuts but which would then count as "unique lines removed". Past the pool's
end, lines are real lines with their words shuffled. Planted:

- boilerplate: 40 real lines, 3 on every page, over n/20 hosts (each line on about 7% of
  all pages and nearly every host);
- look-alike unique lines: on half of the pages a boilerplate line with one word changed and
  the page number added, which must survive;
- repeated spans: n/20 passages of 50-500 words (real lines run together) copied into 2-4
  documents each, half of the later copies with 1-3 words edited at each edge (then >= 56
  words long, so at least 50 stay shared), each copy on a line of its own between two
  words of its page (`[17]`): the words either side of a copy differ from page to page, as
  on the web, so no two pages share more than the passage (without them, two pages whose
  line before the copy ended in "the" truly shared 51 words, and the span stage rightly cut
  that "the" from a unique line). A later copy is found when its shared core is gone: no
  10-word piece of it is left.

- ours: stages/dedup_lines.py (boilerplate policy, min_docs 10, min_hosts 3) then
  stages/dedup_spans.py (min_span_tokens 50), on local[2]: read parquet -> rank -> lines ->
  spans -> write parquet. Timed on a second run (the first starts the JVM and Python workers).
- datatrove 0.10.1: SentenceDedupSignature / SentenceFindDedups / SentenceDedupFilter with
  lines as its units (`split_sentences=False`) and n_sentences=1, the setting that matches
  our line stage; LocalPipelineExecutor, 2 workers, same parquet in, parquet out. Its English
  word tokenizer needs NLTK data that cannot be downloaded here, so it gets a whitespace
  tokenizer (cheaper than NLTK's). It keeps the first copy of each line and has no notion
  of hosts; `agreement_vs_datatrove_sentence` is the share of documents, among those where
  datatrove keeps no first copy of a planted boilerplate line, whose removed boilerplate
  lines are the same for both.

Run from the repository root: `.venv/bin/python benchmarks/subdoc_dedup.py` (20k documents;
`--quick`: 4k); `--scaling` also runs 100k and 1M (`--scaling-docs 100000` for 100k only)
and reports how time grows (goal: at most 12x for 10x the documents). peak_rss_gb is the
summed RSS of this process, the JVM and its Python workers; spark_jobs counts the Spark jobs
of the timed run (each a pass over its input with its own start-up cost).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from dedup import CACHE, PeakMemory, real_lines  # noqa: E402

from stages.dedup_exact import normalise  # noqa: E402

N_BOILER = 40
SCHEMA = pa.schema([("id", pa.string()), ("source", pa.string()), ("kind", pa.string()), ("domain", pa.string()),
                    ("url", pa.string()), ("text", pa.string()), ("lang", pa.string()), ("lang_score", pa.float64()),
                    ("meta", pa.map_(pa.string(), pa.string())), ("drop_reason", pa.string())])


def make_documents(n_docs: int, seed: int = 18):
    """Parquet-ready columns and the truth: per document its boilerplate lines, unique lines,
    and the span copies it holds (core text, first copy or not)."""
    rng = np.random.default_rng(seed)
    normal: dict[str, str] = {}
    for line in real_lines():  # shorter than a span, distinct after our normalisation
        if len(line.split()) < 50:
            normal.setdefault(normalise(line), line)
    pool = list(normal.values())
    order = rng.permutation(len(pool))
    cursor = 0

    def take() -> str:  # a real line never used before; words shuffled once the pool runs out
        nonlocal cursor
        line = pool[order[cursor % len(order)]]
        if cursor >= len(order):
            words = line.split()
            rng.shuffle(words)
            line = " ".join(words) + f" ({cursor})"
        cursor += 1
        return line

    boiler = [take() for _ in range(N_BOILER)]
    n_hosts = max(5, n_docs // 20)
    docs, changes = [], set()
    for i in range(n_docs):
        b = [boiler[k] for k in rng.choice(N_BOILER, 3, replace=False)]
        body = [take() for _ in range(int(rng.integers(4, 9)))]
        unique = list(body)
        if i % 2:  # one word changed, never the same change twice, nor in case only (else two
            w = b[0].split()  # pages share it: the span stage compares lower-cased words)
            while True:
                pos, word = int(rng.integers(len(w))), take().split()[0]
                if word.lower() != w[pos].lower() and (b[0], pos, word.lower()) not in changes:
                    break
            changes.add((b[0], pos, word.lower()))
            w[pos] = word
            unique.append(" ".join(w) + f" - page {i}")
        docs.append({"boiler": b, "unique": unique, "spans": [], "host": f"site{int(rng.integers(n_hosts))}.example"})
    for _ in range(max(1, n_docs // 20)):
        length = int(rng.integers(50, 501))
        words: list[str] = []
        while len(words) < length:
            words += take().split()
        words = words[:length]
        holders = sorted(rng.choice(n_docs, int(rng.integers(2, 5)), replace=False))
        for j, d in enumerate(holders):
            copy, core = list(words), words
            if j and length >= 56 and rng.random() < 0.5:
                a, b = int(rng.integers(1, 4)), int(rng.integers(1, 4))
                copy[:a] = ["edited"] * a
                copy[-b:] = ["edited"] * b
                core = words[a:-b]
            docs[d]["spans"].append({"text": " ".join(copy), "core": " ".join(core), "first": j == 0})
    ids, texts, urls = [], [], []
    for i, d in enumerate(docs):
        spans = (f"[{i}] {s['text']} [{i}]" for s in d["spans"])
        lines = [d["boiler"][0], *d["unique"][:2], *spans, *d["unique"][2:], *d["boiler"][1:]]
        ids.append(f"doc-{i:07d}")
        texts.append("\n".join(lines))
        urls.append(f"https://{d['host']}/page/{i}")
    return ids, texts, urls, docs


def dataset(n_docs: int) -> tuple[Path, list]:
    folder = CACHE / f"subdoc-{n_docs}"
    ids, texts, urls, truth = make_documents(n_docs)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    n = len(ids)
    files = max(2, n // 20_000)
    for k in range(files):
        sl = slice(k * n // files, (k + 1) * n // files)
        m = sl.stop - sl.start
        table = pa.table({"id": ids[sl], "source": ["bench"] * m, "kind": ["warc"] * m, "domain": ["web"] * m,
                          "url": urls[sl], "text": texts[sl], "lang": ["en"] * m, "lang_score": [1.0] * m,
                          "meta": pa.array([[]] * m, pa.map_(pa.string(), pa.string())),
                          "drop_reason": pa.array([None] * m, pa.string())}, schema=SCHEMA)
        pq.write_table(table, folder / f"part-{k:04d}.parquet")
    return folder, truth


def _sizes(docs: Path) -> tuple[int, int]:
    """(rows, characters of text) of the documents, read one file at a time."""
    rows = chars = 0
    for f in sorted(docs.glob("*.parquet")):
        texts = pq.read_table(f, columns=["text"]).column("text")
        rows, chars = rows + len(texts), chars + (pc.sum(pc.utf8_length(texts)).as_py() or 0)
    return rows, chars


def run_ours(spark, docs: Path, out: Path, warm_up: bool) -> dict:
    from curator.manifest import DedupSettings
    from stages.dedup_subdoc import subdoc_dedup

    settings = DedupSettings(lines={"min_docs": 10, "min_hosts": 3}, spans={"min_span_tokens": 50})
    n_docs, n_chars = _sizes(docs)  # the pipeline knows both from annotate's stats

    def once(group: str) -> float:
        shutil.rmtree(out, ignore_errors=True)
        spark.sparkContext.setJobGroup(group, group)
        started = time.perf_counter()
        df, _ = subdoc_dedup(spark.read.parquet(str(docs)), settings, rows=n_docs, chars=n_chars)
        df.write.parquet(str(out))
        return time.perf_counter() - started

    first = once("subdoc-warm-up") if warm_up else None
    group = f"subdoc-{time.monotonic_ns()}"
    with PeakMemory() as mem:
        seconds = once(group)
    jobs = len(spark.sparkContext.statusTracker().getJobIdsForGroup(group))
    table = pq.read_table(out, columns=["id", "text", "drop_reason"]).to_pydict()
    return {"seconds": seconds, "first_run_seconds": first, "peak_gb": mem.peak / 2**30, "spark_jobs": jobs,
            "texts": dict(zip(table["id"], table["text"])),
            "dropped": sum(r is not None for r in table["drop_reason"])}


def run_datatrove(docs: Path, work: Path) -> dict:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.sentence_dedup import (
        SentDedupConfig,
        SentenceDedupFilter,
        SentenceDedupSignature,
        SentenceFindDedups,
    )
    from datatrove.pipeline.readers import ParquetReader
    from datatrove.pipeline.writers import ParquetWriter
    from datatrove.utils.word_tokenizers import WordTokenizer

    class Whitespace(WordTokenizer):
        def word_tokenize(self, text):
            return text.split()

        def sent_tokenize(self, text):
            return text.splitlines()

        def span_tokenize(self, text):
            out, pos = [], 0
            for line in text.splitlines(keepends=True):
                out.append((pos, pos + len(line)))
                pos += len(line)
            return out

    shutil.rmtree(work, ignore_errors=True)
    cfg = SentDedupConfig(n_sentences=1, split_sentences=False, min_doc_words=0, min_num_sentences=0)
    n_files = len(list(docs.glob("*.parquet")))

    def reader():
        return ParquetReader(str(docs), text_key="text", id_key="id")

    steps = [
        ([reader(), SentenceDedupSignature(output_folder=str(work / "sigs"), config=cfg, language=Whitespace())],
         n_files),
        ([SentenceFindDedups(data_folder=str(work / "sigs"), output_folder=str(work / "dups"), config=cfg)], 1),
        ([reader(), SentenceDedupFilter(data_folder=str(work / "dups"), config=cfg, language=Whitespace()),
          ParquetWriter(str(work / "out"))], n_files),
    ]
    work.mkdir(parents=True)
    saved = os.dup(2)
    with open(work / "stderr.log", "wb") as log:
        os.dup2(log.fileno(), 2)
        try:
            with PeakMemory() as mem:
                started = time.perf_counter()
                for k, (pipeline, tasks) in enumerate(steps):
                    LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=2, skip_completed=False,
                                          logging_dir=str(work / f"logs-{k}")).run()
                seconds = time.perf_counter() - started
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    table = pq.read_table(work / "out", columns=["id", "text"]).to_pydict()
    return {"seconds": seconds, "peak_gb": mem.peak / 2**30, "texts": dict(zip(table["id"], table["text"]))}


def quality(texts: dict[str, str | None], truth: list) -> dict:
    boiler_total = boiler_gone = unique_total = unique_gone = spans_total = spans_found = 0
    for i, d in enumerate(truth):
        text = texts.get(f"doc-{i:07d}")
        lines = set((text or "").split("\n"))
        boiler_total += len(d["boiler"])
        boiler_gone += sum(b not in lines for b in d["boiler"])
        unique_total += len(d["unique"])
        unique_gone += sum(u not in lines for u in d["unique"])
        for s in d["spans"]:
            if s["first"]:
                continue
            spans_total += 1
            words = s["core"].split()
            pieces = [" ".join(words[k:k + 10]) for k in range(0, len(words) - 9, 10)]
            spans_found += not any(p in (text or "") for p in pieces)
    return {"boilerplate_recall": boiler_gone / max(boiler_total, 1), "unique_lines_removed": unique_gone,
            "unique_lines": unique_total, "span_recall": spans_found / max(spans_total, 1), "span_copies": spans_total}


def boiler_removed(texts: dict[str, str | None], truth: list) -> list[frozenset | None]:
    out = []
    for i, d in enumerate(truth):
        text = texts.get(f"doc-{i:07d}")
        lines = set((text or "").split("\n"))
        out.append(None if text is None else frozenset(b for b in d["boiler"] if b not in lines))
    return out


def agreement(ours: dict, theirs: dict, truth: list) -> float:
    """Share of the documents holding no first copy of a planted boilerplate line (in id order,
    which is datatrove's reading order) where both removed the same boilerplate lines."""
    seen: set[str] = set()
    comparable = []
    for d in truth:
        comparable.append(all(b in seen for b in d["boiler"]))
        seen.update(d["boiler"])
    a, b = boiler_removed(ours, truth), boiler_removed(theirs, truth)
    same = [x == y for x, y, c in zip(a, b, comparable) if c]
    return sum(same) / max(len(same), 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="4,000 documents")
    ap.add_argument("--docs", type=int, default=None, help="documents for the comparison (default 20,000)")
    ap.add_argument("--scaling", action="store_true", help="also time ours at --scaling-docs")
    ap.add_argument("--scaling-docs", type=int, nargs="*", default=[100_000, 1_000_000])
    ap.add_argument("--no-datatrove", action="store_true")
    ap.add_argument("--driver-memory", default="1g", help="Spark driver memory (local mode: the executor too)")
    args = ap.parse_args()
    n = args.docs or (4_000 if args.quick else 20_000)

    import logging

    from curator.manifest import SparkSettings
    from curator.spark import get_spark

    logging.getLogger("datatrove").setLevel(logging.WARNING)
    try:
        from loguru import logger

        logger.remove()
    except ImportError:
        pass
    spark = get_spark(SparkSettings(master="local[2]", driver_memory=args.driver_memory, shuffle_partitions=8), "bench-subdoc")
    t0 = time.perf_counter()
    docs, truth = dataset(n)
    print(f"== {n:,} documents (data ready in {time.perf_counter() - t0:.0f}s)")
    ours = run_ours(spark, docs, CACHE / "subdoc-out-ours", warm_up=True)
    q = quality(ours["texts"], truth)
    dt = None if args.no_datatrove else run_datatrove(docs, CACHE / "subdoc-work-datatrove")
    qd = quality(dt["texts"], truth) if dt else None
    print(f"\n{'':<28}{'ours':>12}{'datatrove':>12}")
    for key in ("boilerplate_recall", "unique_lines_removed", "span_recall"):
        theirs = f"{qd[key]:>12.4f}" if qd and isinstance(qd[key], float) else f"{qd[key]:>12}" if qd else f"{'-':>12}"
        mine = f"{q[key]:>12.4f}" if isinstance(q[key], float) else f"{q[key]:>12}"
        print(f"{key:<28}{mine}{theirs}")
    print(f"(of {q['unique_lines']:,} unique lines and {q['span_copies']:,} later span copies; "
          f"ours dropped {ours['dropped']} documents as too short)")
    dps = n / ours["seconds"]
    print(f"\nThroughput, 2 cores (load average {os.getloadavg()[0]:.1f})")
    print(f"{'':<12}{'seconds':>10}{'docs/s':>10}{'peak GB':>10}")
    print(f"{'ours':<12}{ours['seconds']:>10.1f}{dps:>10.0f}{ours['peak_gb']:>10.2f}")
    print(f"(ours: {ours['spark_jobs']} Spark jobs, reading, writing and the stats included)")
    print(f"{'ours, 1st':<12}{ours['first_run_seconds']:>10.1f}{n / ours['first_run_seconds']:>10.0f}"
          f"{'':>10}   (warm-up in a fresh JVM, not timed above)")
    out = {"docs": n, **{k: round(q[k], 4) if isinstance(q[k], float) else q[k]
                         for k in ("boilerplate_recall", "unique_lines_removed", "span_recall")},
           "docs_per_s": round(dps, 1), "peak_rss_gb": round(ours["peak_gb"], 2), "spark_jobs": ours["spark_jobs"]}
    if dt:
        ddps = n / dt["seconds"]
        print(f"{'datatrove':<12}{dt['seconds']:>10.1f}{ddps:>10.0f}{dt['peak_gb']:>10.2f}")
        out["agreement_vs_datatrove_sentence"] = round(agreement(ours["texts"], dt["texts"], truth), 4)
        out["ratio_vs_datatrove"] = round(dps / ddps, 3)
        out["datatrove_docs_per_s"] = round(ddps, 1)
        out["datatrove_span_recall"] = round(qd["span_recall"], 4)
        out["datatrove_unique_lines_removed"] = qd["unique_lines_removed"]
        print(f"ratio ours/datatrove: {dps / ddps:.2f}x docs/s; agreement on boilerplate lines: "
              f"{out['agreement_vs_datatrove_sentence']:.4f}")
    if args.scaling:
        times = {}
        for size in args.scaling_docs:
            t0 = time.perf_counter()
            docs, truth = dataset(size)
            print(f"\n== scaling: {size:,} documents (data ready in {time.perf_counter() - t0:.0f}s)")
            r = run_ours(spark, docs, CACHE / "subdoc-out-ours", warm_up=False)
            qs = quality(r["texts"], truth)
            tag = f"{size // 1_000_000}m" if size % 1_000_000 == 0 else f"{size // 1000}k"
            times[size] = r["seconds"]
            print(f"ours: {r['seconds']:.1f}s, {size / r['seconds']:.0f} docs/s, peak {r['peak_gb']:.2f} GB, "
                  f"boilerplate recall {qs['boilerplate_recall']:.4f}, span recall {qs['span_recall']:.4f}, "
                  f"unique lines removed {qs['unique_lines_removed']}")
            out[f"seconds_{tag}"] = round(r["seconds"], 1)
            out[f"peak_rss_gb_{tag}"] = round(r["peak_gb"], 2)
            out[f"boilerplate_recall_{tag}"] = round(qs["boilerplate_recall"], 4)
            out[f"span_recall_{tag}"] = round(qs["span_recall"], 4)
            out[f"unique_lines_removed_{tag}"] = qs["unique_lines_removed"]
            shutil.rmtree(docs, ignore_errors=True)
        if 100_000 in times and 1_000_000 in times:
            out["growth_ratio_1m_over_100k"] = round(times[1_000_000] / times[100_000], 3)
            print(f"time 100k -> 1M documents: {out['growth_ratio_1m_over_100k']:.2f}x (goal <= 12x)")
    spark.stop()
    out["driver_memory"] = args.driver_memory
    out["load_average"] = round(os.getloadavg()[0], 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
