"""Fuzzy dedup: accuracy on planted near-duplicates and throughput, next to datasketch and
datatrove on the same documents in the same run.

Documents are made of real text: the lines of the 10,000 Debian documentation pages in
../shared/corpus/bench-warc (extracted once with lxml and cached in .cache/bench/), each
document a random run of 4-12 of those lines. A number of them get a planted near-copy
(words replaced, deleted or inserted) whose true Jaccard -- of the same 5-gram shingle sets
the dedup uses -- is measured exactly, then bucketed. A planted pair is "found" when both
documents end in one cluster.

- ours: the whole fuzzy-dedup phase (stages/dedup_fuzzy.py, default settings) on local[2]:
  read parquet -> signatures, buckets, candidate pairs, verification, components,
  survivors -> write parquet.
- datasketch: `MinHashLSH` (threshold 0.8, its default weights) over the same signatures
  (bit-identical to datasketch's own MinHash with our shingle hash, see
  tests/test_dedup_minhash.py), clusters = union of its query results. Accuracy only.
- datatrove 0.10.1: its four MinHash steps (signatures, buckets, clustering, filter) with
  our 5-grams, seed and bands x rows (18 x 7 = 126 hashes, where its default is 14 x 8),
  LocalPipelineExecutor with 2 workers, reading and writing the same parquet. Its English
  word tokenizer needs NLTK data that cannot be downloaded here, so it gets a whitespace
  tokenizer (cheaper than NLTK's).

Both sides are timed from the input parquet to the written output (ours: with the kept/
dropped marks; datatrove: the kept documents). Ours is timed on its second run over the
documents: the first, untimed but printed ("ours, 1st"), starts the Python workers and lets the
JVM's JIT compile its hot paths, as the phases before fuzzy dedup do in a pipeline run over the
same documents (a fresh JVM needs about twice the time on its first 100k documents, measured).
datatrove's timing includes starting its worker processes. Wall time on shared cores is
noisy: the table prints the load average. (CPU seconds of the process tree are not
reported: PySpark's daemon ignores SIGCHLD, so its exited workers' CPU time is lost.)
Run from the repository root:
`.venv/bin/python benchmarks/dedup.py --quick --no-datasketch` (100k docs); without --quick
it runs 100k and 1M and reports how time grows (`--no-datasketch` is needed at 1M: the
datasketch reference is far slower than both).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("CURATOR_SHARED_CORPUS", ROOT.parent / "shared" / "corpus"))
CACHE = ROOT / ".cache" / "bench"
BUCKETS = [(0.0, 0.3), (0.3, 0.5), (0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.01)]


# -- data ------------------------------------------------------------------------------------

def real_lines() -> list[str]:
    """Distinct text lines (>= 6 words) of the bench WARC pages, cached."""
    cache = CACHE / "debian-lines.txt.gz"
    if cache.is_file():
        return gzip.decompress(cache.read_bytes()).decode().split("\n")
    import lxml.html
    from warcio.archiveiterator import ArchiveIterator

    files = sorted((SHARED / "bench-warc").glob("bench-*.warc.gz"))
    if not files:
        sys.exit(f"error: no bench WARC files under {SHARED / 'bench-warc'}; set CURATOR_SHARED_CORPUS")
    seen: dict[str, None] = {}
    for path in files:
        with open(path, "rb") as f:
            for rec in ArchiveIterator(f):
                if rec.rec_type != "response":
                    continue
                try:
                    root = lxml.html.fromstring(rec.content_stream().read())
                except Exception:  # noqa: BLE001 - an unparsable page just gives no lines
                    continue
                for bad in root.xpath("//script|//style"):
                    bad.drop_tree()
                for line in root.text_content().split("\n"):
                    line = " ".join(line.split())
                    if len(line.split()) >= 6:
                        seen.setdefault(line)
    lines = list(seen)
    CACHE.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(gzip.compress("\n".join(lines).encode()))
    return lines


def mutate(words: list[str], rate: float, rng: np.random.Generator, vocab: list[str]) -> list[str]:
    """Edit about `rate` of the words: replace, delete or insert, at random places."""
    out = list(words)
    for _ in range(max(1, int(round(rate * len(words))))):
        op = rng.integers(3)
        i = int(rng.integers(len(out)))
        if op == 0:
            out[i] = vocab[int(rng.integers(len(vocab)))]
        elif op == 1 and len(out) > 10:
            del out[i]
        else:
            out.insert(i, vocab[int(rng.integers(len(vocab)))])
    return out


def make_documents(n_docs: int, n_pairs: int, seed: int = 1):
    """(table of documents, planted pairs as (id_a, id_b, true_jaccard))."""
    from stages.minhash import batch_shingle_hashes, jaccard

    lines = real_lines()
    rng = np.random.default_rng(seed)
    vocab = list({w for line in lines[:20000] for w in line.split()})
    vocab.sort()
    n_base = n_docs - n_pairs
    texts = []
    for _ in range(n_base):
        k = int(rng.integers(6, 21))
        texts.append("\n".join(lines[int(j)] for j in rng.integers(len(lines), size=k)))
    ids = [f"doc-{i:08d}" for i in range(n_base)]
    pairs = []
    targets = rng.uniform(0.25, 1.0, n_pairs)
    bases = rng.choice(n_base, n_pairs, replace=False)
    for p, (b, target) in enumerate(zip(bases, targets)):
        rate = (1.0 - target) / (5.0 * (1.0 + target))  # each edit changes ~5 of the 5-grams
        copy = " ".join(mutate(texts[b].split(), rate, rng, vocab))
        texts.append(copy)
        ids.append(f"copy-{p:07d}")
        pairs.append((ids[b], ids[-1]))
    # the true Jaccard of each planted pair, with the dedup's own shingling
    a_texts = [texts[int(b)] for b in bases]
    hashes, offsets = batch_shingle_hashes(a_texts + texts[n_base:], 5)
    truth = [
        jaccard(hashes[offsets[i]:offsets[i + 1]], hashes[offsets[n_pairs + i]:offsets[n_pairs + i + 1]])
        for i in range(n_pairs)
    ]
    domains = np.array(["web", "books", "forums"])[rng.integers(3, size=len(texts))]
    table = pa.table({
        "id": pa.array(ids, pa.string()),
        "domain": pa.array(domains.tolist(), pa.string()),
        "text": pa.array(texts, pa.string()),
        "drop_reason": pa.nulls(len(texts), pa.string()),
    })
    return table, [(a, b, j) for (a, b), j in zip(pairs, truth)]


def dataset(n_docs: int, n_pairs: int) -> tuple[Path, list]:
    """Parquet folder of the documents (16 files) and the planted pairs, cached."""
    folder = CACHE / f"dedup-{n_docs}-{n_pairs}"
    docs, truth_file = folder / "docs", folder / "pairs.json"
    if not truth_file.is_file():
        table, pairs = make_documents(n_docs, n_pairs)
        shutil.rmtree(folder, ignore_errors=True)
        docs.mkdir(parents=True)
        step = -(-table.num_rows // 16)
        for k in range(16):
            pq.write_table(table.slice(k * step, step), docs / f"part-{k:05d}.parquet")
        truth_file.write_text(json.dumps(pairs))
    return docs, [tuple(p) for p in json.loads(truth_file.read_text())]


# -- measuring -------------------------------------------------------------------------------

class PeakMemory:
    """Peak summed RSS of this process and all its descendants (JVM, Python workers)."""

    def __init__(self, interval: float = 0.2):
        import psutil

        self.proc, self.interval, self.peak = psutil.Process(), interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        total = 0
        for p in [self.proc] + self.proc.children(recursive=True):
            try:
                total += p.memory_info().rss
            except Exception:  # noqa: BLE001 - a process that just ended
                pass
        return total

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self):
        self.peak = self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def quality(clusters: dict[str, str], pairs: list) -> dict:
    """Recall per true-Jaccard bucket and merges of planted pairs below 0.5."""
    rows = {}
    for lo, hi in BUCKETS:
        sel = [(a, b) for a, b, j in pairs if lo <= j < hi]
        found = sum(1 for a, b in sel if a in clusters and clusters.get(a) == clusters.get(b))
        rows[f"{lo:.1f}-{min(hi, 1.0):.1f}"] = (found, len(sel))
    hi_pairs = [(a, b) for a, b, j in pairs if j >= 0.8]
    lo_pairs = [(a, b) for a, b, j in pairs if j < 0.5]
    same = lambda a, b: a in clusters and clusters.get(a) == clusters.get(b)  # noqa: E731
    return {
        "buckets": rows,
        "recall_j80": sum(same(a, b) for a, b in hi_pairs) / max(1, len(hi_pairs)),
        "false_merges_below_j50": sum(same(a, b) for a, b in lo_pairs),
        "pairs_below_j50": len(lo_pairs),
    }


# -- the three runs --------------------------------------------------------------------------

def run_ours(spark, docs: Path, out: Path, warm_up: bool) -> dict:
    from pyspark.sql import functions as F

    from curator.manifest import MinHashSettings
    from stages.dedup_fuzzy import dedup_fuzzy

    def once() -> tuple[float, object]:
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        result = dedup_fuzzy(spark.read.parquet(str(docs)), MinHashSettings())
        result.df.write.parquet(str(out))
        return time.perf_counter() - started, result

    # warm-up, untimed but reported: the whole phase once over the same documents, so that the
    # JVM's JIT has compiled its hot paths and the Python workers are up -- the state of the
    # JVM when this phase follows extract, annotate and exact dedup over these documents in a
    # pipeline run. A larger size reuses the warm JVM of the sizes before it.
    first_run = once()[0] if warm_up else None
    with PeakMemory() as mem:
        seconds, result = once()
    written = spark.read.parquet(str(out))
    n = written.count()
    clusters = {r[0]: r[1] for r in written.where(F.col("minhash_cluster").isNotNull())
                .select("id", "minhash_cluster").collect()}
    return {"seconds": seconds, "first_run_seconds": first_run, "docs": n, "peak_mb": mem.peak / 2**20,
            "clusters": clusters, "stats": result.stats}


def run_datasketch(docs: Path) -> dict:
    from datasketch import MinHash, MinHashLSH

    from stages.connected_components import union_find
    from stages.minhash import batch_shingle_hashes, signatures

    table = pq.read_table(docs, columns=["id", "text"])
    ids = table.column("id").to_pylist()
    started = time.perf_counter()
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    sigs = []
    for batch in table.to_batches(max_chunksize=2000):
        h, o = batch_shingle_hashes(batch.column("text").to_pylist(), 5)
        sigs.append(signatures(h, o, 128, 1))
    sigs = np.concatenate(sigs)
    hashes = []
    with lsh.insertion_session() as session:
        for key, sig in zip(ids, sigs):
            m = MinHash(num_perm=128, seed=1, hashvalues=sig, scheme="affine32")
            hashes.append(m)
            session.insert(key, m, check_duplication=False)
    edges = [(key, other) for key, m in zip(ids, hashes) for other in lsh.query(m) if other != key]
    clusters = union_find(edges)
    return {"seconds": time.perf_counter() - started, "clusters": clusters, "bands": lsh.b, "rows": lsh.r}


def run_datatrove(docs: Path, work: Path, bands: int, rows: int) -> dict:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import ParquetReader
    from datatrove.pipeline.writers import ParquetWriter
    from datatrove.utils.word_tokenizers import WordTokenizer

    class Whitespace(WordTokenizer):
        def word_tokenize(self, text):
            return text.split()

        def sent_tokenize(self, text):
            return [text]

        def span_tokenize(self, text):
            return [(0, len(text))]

    shutil.rmtree(work, ignore_errors=True)
    cfg = MinhashConfig(n_grams=5, num_buckets=bands, hashes_per_bucket=rows, seed=1)
    n_files = len(list(docs.glob("*.parquet")))

    def reader():
        return ParquetReader(str(docs), text_key="text", id_key="id")

    steps = [
        ([reader(), MinhashDedupSignature(output_folder=str(work / "sigs"), config=cfg, language=Whitespace())], n_files),
        ([MinhashDedupBuckets(input_folder=str(work / "sigs"), output_folder=str(work / "buckets"), config=cfg)],
         cfg.num_buckets),
        ([MinhashDedupCluster(input_folder=str(work / "buckets"), output_folder=str(work / "remove_ids"), config=cfg)],
         1),
        ([reader(), MinhashDedupFilter(input_folder=str(work / "remove_ids")),
          ParquetWriter(str(work / "out"))], n_files),
    ]
    work.mkdir(parents=True)
    saved = os.dup(2)  # its per-task logs and stats go to a file, not between our tables
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
    kept = pq.read_table(work / "out", columns=["id"]).num_rows
    return {"seconds": seconds, "kept": kept, "peak_mb": mem.peak / 2**20}


# -- main ------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="only the 100k-document size")
    ap.add_argument("--docs", type=int, nargs="*", help="sizes to run (default 100000 1000000)")
    ap.add_argument("--pairs", type=int, default=4000, help="planted near-duplicate pairs")
    ap.add_argument("--no-datatrove", action="store_true", help="skip the datatrove run")
    ap.add_argument("--no-datasketch", action="store_true", help="skip the datasketch accuracy run")
    args = ap.parse_args()
    sizes = args.docs or ([100_000] if args.quick else [100_000, 1_000_000])

    import logging

    from curator.manifest import SparkSettings
    from curator.spark import get_spark

    logging.getLogger("datatrove").setLevel(logging.WARNING)
    try:
        from loguru import logger

        logger.remove()
    except ImportError:
        pass
    spark = get_spark(SparkSettings(master="local[2]", driver_memory="6g", shuffle_partitions=8), "bench-dedup")
    results = []
    for n in sizes:
        t0 = time.perf_counter()
        docs, pairs = dataset(n, min(args.pairs, n // 4))
        print(f"\n== {n:,} documents, {len(pairs):,} planted pairs (data ready in {time.perf_counter() - t0:.0f}s)")
        ours = run_ours(spark, docs, CACHE / "out-ours", warm_up=not results)
        q = quality(ours["clusters"], pairs)
        ds = None if args.no_datasketch else run_datasketch(docs)
        qd = quality(ds["clusters"] if ds else {}, pairs)
        if ds is None:  # not run: shown as not measured
            qd = {"buckets": {k: (float("nan"), t) for k, (_, t) in qd["buckets"].items()},
                  "recall_j80": float("nan"), "false_merges_below_j50": None}
        s = ours["stats"]
        dt = None if args.no_datatrove else run_datatrove(docs, CACHE / "work-datatrove", s["bands"], s["rows"])
        print("\nAccuracy: planted pairs found in one cluster, by true Jaccard of 5-gram shingles")
        print(f"{'Jaccard':<10}{'pairs':>8}{'ours':>10}{'datasketch':>12}")
        for key, (found, total) in q["buckets"].items():
            dfound = qd["buckets"][key][0]
            fmt = lambda x: f"{x / total:.3f}" if total else "-"  # noqa: E731, B023
            print(f"{key:<10}{total:>8}{fmt(found):>10}{fmt(dfound):>12}")
        print(f"{'recall J>=0.8':<18}{q['recall_j80']:>10.4f}{qd['recall_j80']:>12.4f}")
        print(f"{'merged J<0.5':<18}{q['false_merges_below_j50']:>10}{str(qd['false_merges_below_j50']):>12}"
              f"   (of {q['pairs_below_j50']} pairs)")
        print(f"ours: bands x rows {s['bands']}x{s['rows']} (LSH at {s['lsh_threshold']}), verified at "
              f"{s['threshold']}" + (f"; datasketch MinHashLSH(threshold=0.8): {ds['bands']}x{ds['rows']}" if ds else ""))
        print(f"ours: {s['candidate_pairs']:,} candidate pairs, {s.get('verified_pairs', 0):,} verified, "
              f"{s['clusters']:,} clusters, components on the {s['components_on']} "
              f"({s['iterations']} rounds), cluster sizes {dict(list(s['cluster_sizes'].items())[:6])}")
        print("ours, seconds by step: " + ", ".join(f"{k} {v:.1f}" for k, v in s["seconds_by_step"].items())
              + f", write {ours['seconds'] - sum(s['seconds_by_step'].values()):.1f}")
        dps = n / ours["seconds"]
        print(f"\nThroughput, whole fuzzy-dedup phase, 2 cores (load average {os.getloadavg()[0]:.1f})")
        print(f"{'':<12}{'seconds':>10}{'docs/s':>10}{'peak MB':>10}{'kept':>10}")
        kept = n - s["duplicates_marked"]
        print(f"{'ours':<12}{ours['seconds']:>10.1f}{dps:>10.0f}{ours['peak_mb']:>10.0f}{kept:>10}")
        if ours["first_run_seconds"]:
            print(f"{'ours, 1st':<12}{ours['first_run_seconds']:>10.1f}{n / ours['first_run_seconds']:>10.0f}"
                  f"{'':>10}{'':>10}   (the warm-up: the first run in a fresh JVM, not timed above)")
        row = {"docs": n, "seconds": ours["seconds"], "docs_per_s": dps, "peak_mb": ours["peak_mb"],
               "first_run_seconds": ours["first_run_seconds"],
               "recall_j80": q["recall_j80"],
               "false_merges_below_j50": q["false_merges_below_j50"],
               "datasketch_recall_j80": qd["recall_j80"],
               "datasketch_false_merges_below_j50": qd["false_merges_below_j50"],
               "candidate_pairs": s["candidate_pairs"], "cc_iterations": s["iterations"]}
        if dt:
            ddps = n / dt["seconds"]
            print(f"{'datatrove':<12}{dt['seconds']:>10.1f}{ddps:>10.0f}{dt['peak_mb']:>10.0f}"
                  f"{dt['kept']:>10}")
            print(f"ratio ours/datatrove: {dps / ddps:.2f}x docs/s")
            row.update(datatrove_seconds=dt["seconds"], datatrove_docs_per_s=ddps, datatrove_peak_mb=dt["peak_mb"],
                       ratio_vs_datatrove=dps / ddps)
        results.append(row)
    spark.stop()

    first = results[0]
    out = {
        "recall_j80": round(first["recall_j80"], 4),
        "false_merges_below_j50": first["false_merges_below_j50"],
        "docs_per_s": round(first["docs_per_s"], 1),
        "ratio_vs_datatrove": round(first["ratio_vs_datatrove"], 3) if "ratio_vs_datatrove" in first else None,
        "docs": first["docs"],
        "datasketch_recall_j80": None if first["datasketch_recall_j80"] != first["datasketch_recall_j80"]
        else round(first["datasketch_recall_j80"], 4),
        "datasketch_false_merges_below_j50": first["datasketch_false_merges_below_j50"],
        "candidate_pairs": first["candidate_pairs"],
        "load_average": round(os.getloadavg()[0], 1),
    }
    def size_tag(docs: int) -> str:
        return f"{docs // 1_000_000}m" if docs % 1_000_000 == 0 else f"{docs // 1000}k" if docs % 1000 == 0 else str(docs)

    for r in results:  # per size: seconds_100k, datatrove_peak_mb_1m, ...
        tag = size_tag(r["docs"])
        for key in ("seconds", "docs_per_s", "peak_mb", "datatrove_seconds", "datatrove_docs_per_s",
                    "datatrove_peak_mb", "ratio_vs_datatrove"):
            if key in r:
                out[f"{key}_{tag}"] = round(r[key], 3 if "ratio" in key else 1)
        if r.get("first_run_seconds"):
            out[f"first_run_seconds_{tag}"] = round(r["first_run_seconds"], 1)
        if r is not first:
            out[f"recall_j80_{tag}"] = round(r["recall_j80"], 4)
            out[f"false_merges_below_j50_{tag}"] = r["false_merges_below_j50"]
    if len(results) > 1:
        last = results[-1]
        tag = f"{size_tag(last['docs'])}_over_{size_tag(first['docs'])}"
        growth = last["seconds"] / first["seconds"]
        print(f"\ntime {first['docs']:,} -> {last['docs']:,} documents: {growth:.2f}x "
              f"(linear: {last['docs'] / first['docs']:.0f}x)")
        out[f"growth_ratio_{tag}"] = round(growth, 3)
        out["growth_vs_linear"] = round(growth / (last["docs"] / first["docs"]), 3)
        if "datatrove_seconds" in last:
            out[f"datatrove_growth_ratio_{tag}"] = round(last["datatrove_seconds"] / first["datatrove_seconds"], 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
