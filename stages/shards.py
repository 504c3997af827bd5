"""Tokenized shards: a seeded global shuffle, EOS-separated packing, one file set per format.

Every (document, copy) gets a shard by the hash of (seed, id, copy) and is ordered inside
its shard by that hash, so a shard's content does not depend on Spark's partitioning, and
each task writes only whole shards, through temporary names (a retried task rewrites the
same bytes). Each sequence length packs the same stream into its own files, in every format
the manifest lists (`stages.shard_writers.WRITERS`).
"""

from __future__ import annotations

import json
from functools import partial

import numpy as np
import pyarrow as pa

from stages.shard_writers import WRITERS, WindowPacker

SHARD_META = pa.schema(
    [
        pa.field("seq_len", pa.int64()),
        pa.field("shard", pa.int64()),
        pa.field("documents", pa.int64()),
        pa.field("tokens", pa.int64()),
        pa.field("sequences", pa.int64()),
        pa.field("files", pa.string()),  # JSON: format -> {files, bytes, sha256, dtype}
    ]
)


def shard_name(shard: int) -> str:
    return f"shard-{shard:05d}"


def _describe(fmt: str, info: dict) -> dict:
    files = [info["bin"], info["idx"]] if fmt == "megatron" else info["files"]
    return {"files": files, "bytes": info["bytes"], "sha256": info["sha256"], "dtype": info["dtype"]}


class _ShardGroup:
    """One shard being written: per sequence length a packer and a writer per format."""

    def __init__(self, out_dir: str, shard: int, seq_lens: list[int], vocab_size: int, formats: list[str]):
        self.shard, self.documents, self.tokens = shard, 0, 0
        self.parts: dict[int, tuple[WindowPacker, dict]] = {}
        self.writers = []
        try:
            for n in seq_lens:
                prefix = f"{out_dir}/{n}/{shard_name(shard)}"
                ws = {}
                for f in formats:
                    ws[f] = WRITERS[f](prefix, vocab_size)
                    self.writers.append(ws[f])
                self.parts[n] = (WindowPacker(n), ws)
        except BaseException:
            self.abort()
            raise
        self.sequences = {n: 0 for n in seq_lens}

    def add(self, ids: np.ndarray, doc_id: str) -> None:
        self.documents += 1
        self.tokens += ids.size
        for n, (packer, writers) in self.parts.items():
            windowed = [w for f, w in writers.items() if f != "olmo"]
            if "olmo" in writers:
                writers["olmo"].add_document(ids, doc_id)
            for window in packer.add(ids):
                self.sequences[n] += 1
                for w in windowed:
                    w.add(window)

    def close(self) -> list[dict]:
        rows = []
        for n, (packer, writers) in self.parts.items():
            tail = packer.flush()
            if tail is not None:
                self.sequences[n] += 1
                for f, w in writers.items():
                    if f != "olmo":
                        w.add(tail)
            files = {f: _describe(f, w.close()) for f, w in writers.items()}
            rows.append({
                "seq_len": n, "shard": self.shard, "documents": self.documents, "tokens": self.tokens,
                "sequences": self.sequences[n], "files": json.dumps(files, sort_keys=True),
            })
        return rows

    def abort(self) -> None:
        for writer in self.writers:
            writer.abort()


def _write_partition(batches, out_dir: str, seq_lens: list[int], vocab_size: int, formats: list[str], fault=(0.0, None)):
    from curator.faults import maybe_fail

    group: _ShardGroup | None = None
    rows: list[dict] = []
    try:
        for batch in batches:
            shards = batch.column("shard").to_numpy()
            ids = batch.column("input_ids")
            doc_ids = batch.column("id").to_pylist()
            for i in range(batch.num_rows):
                s = int(shards[i])
                if group is None or group.shard != s:
                    if group is not None:
                        rows += group.close()
                    group = _ShardGroup(out_dir, s, seq_lens, vocab_size, formats)
                group.add(ids[i].values.to_numpy(zero_copy_only=False), doc_ids[i])
        if group is not None:
            rows += group.close()
            group = None
        maybe_fail("shards", fault)  # test switch: the task dies after its shards are written
    except BaseException:
        if group is not None:
            group.abort()
        raise
    yield pa.RecordBatch.from_pylist(rows, schema=SHARD_META)


def write_shards(
    df, out_dir: str, seq_lens: list[int], vocab_size: int, n_shards: int, seed: int,
    formats: list[str] = ("megatron",),
) -> list[dict]:
    """Explode copies, assign shards, sort, write; returns one row per (seq_len, shard) with
    `files` holding what each format wrote."""
    from pyspark.sql import functions as F

    from curator.schema import spark_schema

    copies = df.select("id", "input_ids", F.explode(F.sequence(F.lit(0), F.col("repeats") - 1)).alias("copy"))
    key = F.xxhash64(F.lit(seed), F.col("id"), F.col("copy"))
    copies = copies.withColumn("key", key).withColumn("shard", F.pmod(F.col("key"), F.lit(n_shards)))
    ordered = copies.repartition(n_shards, "shard").sortWithinPartitions("shard", "key", "id", "copy")
    from curator import faults

    fn = partial(_write_partition, out_dir=out_dir, seq_lens=seq_lens, vocab_size=vocab_size,
                 formats=list(formats), fault=faults.settings())
    meta = ordered.select("shard", "id", "input_ids").mapInArrow(fn, spark_schema(SHARD_META)).collect()
    rows = []
    for r in meta:
        d = r.asDict()
        d["files"] = json.loads(d["files"])
        rows.append(d)
    return sorted(rows, key=lambda r: (r["seq_len"], r["shard"]))
