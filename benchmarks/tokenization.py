"""Tokenization throughput: the pipeline's Spark tokenize phase vs Megatron-style tokenization.

Both tokenize the same documents (text extracted once from ../shared/corpus/bench-warc and
cached under .cache/bench/tokenization/) with the same GPT-2 tokenizer (asset:gpt2) and append EOS:

  curator   Spark local[2]: parquet -> stages.tokenize (mapInArrow) -> parquet, as the
            tokenize phase runs it (GPT-2's tokenizer.json run by tiktoken's BPE engine, ids
            written as list<int32>, the text not carried over)
  megatron  what Megatron-LM's tools/preprocess_data.py does: a 2-process multiprocessing
            pool encoding one document at a time with the transformers tokenizer, into
            megatron-core's IndexedDatasetBuilder (.bin/.idx)

After timing, both outputs are checked to hold the same documents, token count and token
ids (an order-free checksum: the sum of ids and of their squares).

Run from the repository root: `.venv/bin/python benchmarks/tokenization.py [--quick]`
(--quick: one WARC file, 1,000 pages). Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH_WARC = Path(os.environ.get("CURATOR_SHARED_CORPUS", ROOT.parent / "shared" / "corpus")) / "bench-warc"
CACHE = ROOT / ".cache" / "bench" / "tokenization"


# -- the documents, extracted once -------------------------------------------------------

def _extract_file(path: str) -> list[dict]:
    from curator.manifest import ExtractSettings
    from stages.warc_source import read_warc

    rows = read_warc(path, "bench", "web", ExtractSettings())
    return [{"id": r["id"], "text": r["text"]} for r in rows if r["drop_reason"] is None and r["text"].strip()]


def documents(files: int) -> Path:
    """Parquet files of extracted text (one per WARC file), cached."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    warcs = sorted(BENCH_WARC.glob("bench-*.warc.gz"))[:files]
    if len(warcs) < files:
        sys.exit(f"benchmarks/tokenization.py: needs {files} WARC files in {BENCH_WARC} (the shared bench corpus)")
    out = CACHE / f"docs-{files}"
    if (out / "_DONE").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    print(f"extracting text from {len(warcs)} WARC files once (cached in {out}) ...", flush=True)
    with mp.get_context("spawn").Pool(2) as pool:
        for warc, rows in zip(warcs, pool.imap(_extract_file, [str(w) for w in warcs])):
            pq.write_table(pa.Table.from_pylist(rows), out / f"{warc.name.split('.')[0]}.parquet")
    (out / "_DONE").write_text("ok\n")
    return out


# -- Megatron-style: 2-process pool into IndexedDatasetBuilder ------------------------------

_TOK = None


def _init_worker(path: str) -> None:
    global _TOK
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    from transformers import AutoTokenizer

    _TOK = AutoTokenizer.from_pretrained(path, local_files_only=True)


def _encode(text: str) -> list[int]:
    # preprocess_data.py's Encoder.encode: one document, EOD appended
    return _TOK(text, add_special_tokens=False, split_special_tokens=True)["input_ids"] + [_TOK.eos_token_id]


def run_megatron(docs: Path, tok_path: str, out_dir: str) -> tuple[float, int, int, tuple[int, int]]:
    import numpy as np
    import pyarrow.parquet as pq
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from megatron.core.datasets.indexed_dataset import IndexedDatasetBuilder

    started = time.perf_counter()
    texts = pq.read_table(docs, columns=["text"]).column("text").to_pylist()
    builder = IndexedDatasetBuilder(f"{out_dir}/megatron.bin", dtype=np.uint16)
    tokens = 0
    with mp.get_context("spawn").Pool(2, initializer=_init_worker, initargs=(tok_path,)) as pool:
        for ids in pool.imap(_encode, texts, chunksize=32):
            builder.add_document(torch.tensor(ids, dtype=torch.int64), [len(ids)])
            tokens += len(ids)
    builder.finalize(f"{out_dir}/megatron.idx")
    seconds = time.perf_counter() - started
    ids = np.fromfile(f"{out_dir}/megatron.bin", dtype=np.uint16).astype(np.int64)
    return seconds, len(texts), tokens, (int(ids.sum()), int((ids * ids).sum()))


# -- ours: the tokenize phase on Spark -------------------------------------------------------

def run_curator(spark, docs: Path, info: dict, out_dir: str) -> tuple[float, int, int, tuple[int, int]]:
    import pyarrow as pa
    from pyspark.sql import functions as F

    from stages.tokenize import tokenize

    schema = pa.schema([pa.field("id", pa.string()), pa.field("text", pa.string()), pa.field("drop_reason", pa.string())])
    started = time.perf_counter()
    df = spark.read.parquet(str(docs)).select("id", "text", F.lit(None).cast("string").alias("drop_reason"))
    out, _ = tokenize(df, schema, info)
    out.write.parquet(f"{out_dir}/curator")
    written = spark.read.parquet(f"{out_dir}/curator").agg(F.count("*").alias("d"), F.sum("n_tokens").alias("t")).first()
    seconds = time.perf_counter() - started
    ids = spark.read.parquet(f"{out_dir}/curator").select(F.explode("input_ids").alias("i"))
    i = F.col("i").cast("long")
    sums = ids.agg(F.sum(i).alias("s"), F.sum(i * i).alias("q")).first()
    return seconds, int(written["d"]), int(written["t"]), (int(sums["s"]), int(sums["q"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one WARC file (1,000 pages) instead of ten")
    ap.add_argument("--repeats", type=int, default=1, help="timed runs of each; the best is reported")
    args = ap.parse_args()

    from curator.assets import resolve
    from curator.manifest import SparkSettings
    from curator.spark import get_spark
    from stages.tokenize import tokenizer_info

    docs = documents(1 if args.quick else 10)
    tok_path = resolve("asset:gpt2")
    info = tokenizer_info(tok_path, add_bos=False, add_eos=True)
    spark = get_spark(SparkSettings(master="local[2]", driver_memory="2g", shuffle_partitions=2), "bench-tokenization")
    spark.range(4).count()  # JVM up before timing; Python workers start inside the timed run
    best: dict[str, tuple[float, int, int, tuple[int, int]]] = {}
    try:
        for _ in range(max(1, args.repeats)):
            for name in ("megatron", "curator"):
                with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
                    if name == "megatron":
                        r = run_megatron(docs, tok_path, tmp)
                    else:
                        r = run_curator(spark, docs, info, tmp)
                if name not in best or r[0] < best[name][0]:
                    best[name] = r
    finally:
        spark.stop()

    (ct, cd, ctok, csum), (mt, md, mtok, msum) = best["curator"], best["megatron"]
    if (cd, ctok, csum) != (md, mtok, msum):
        sys.exit(f"the two runs disagree: curator {cd} docs / {ctok} tokens / id checksum {csum}, "
                 f"megatron {md} docs / {mtok} tokens / id checksum {msum}")
    ours, peer = ctok / ct, mtok / mt
    print(f"\ntokenization, GPT-2 BPE + EOS, {cd:,} documents, {ctok:,} tokens, 2 cores ({'quick' if args.quick else 'full'})")
    print(f"{'':34}{'seconds':>10}{'tokens/s':>14}{'ratio':>8}")
    print(f"{'curator (Spark local[2] -> parquet)':34}{ct:10.2f}{ours:14,.0f}{ours / peer:8.2f}")
    print(f"{'megatron-style (2-process pool)':34}{mt:10.2f}{peer:14,.0f}{1.0:8.2f}")
    print(json.dumps({
        "benchmark": "tokenization", "quick": args.quick, "documents": cd, "tokens": ctok,
        "tokens_per_s": round(ours), "megatron_tokens_per_s": round(peer),
        "ratio_vs_megatron": round(ours / peer, 3), "seconds": round(ct, 3), "megatron_seconds": round(mt, 3),
    }))


if __name__ == "__main__":
    main()
