"""Tokenized shards: a seeded global shuffle, EOS-separated packing, Megatron .bin/.idx files.

Every (document, copy) gets a shard by the hash of (seed, id, copy) and is ordered inside
its shard by that hash, so a shard's content does not depend on Spark's partitioning, and
each task writes only whole shards, through temporary names (a retried task rewrites the
same bytes). Each sequence length packs the same stream into its own files.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pyarrow as pa

from stages.shard_writers import MegatronWriter, WindowPacker

SHARD_META = pa.schema(
    [
        pa.field("seq_len", pa.int64()),
        pa.field("shard", pa.int64()),
        pa.field("bin", pa.string()),
        pa.field("idx", pa.string()),
        pa.field("bytes", pa.int64()),
        pa.field("sha256", pa.string()),
        pa.field("documents", pa.int64()),
        pa.field("tokens", pa.int64()),
        pa.field("sequences", pa.int64()),
        pa.field("dtype", pa.string()),
    ]
)


def shard_name(shard: int) -> str:
    return f"shard-{shard:05d}"


class _ShardGroup:
    """One shard being written: a packer and a writer per sequence length."""

    def __init__(self, out_dir: str, shard: int, seq_lens: list[int], vocab_size: int):
        self.shard, self.documents = shard, 0
        self.parts = {
            n: (WindowPacker(n), MegatronWriter(f"{out_dir}/{n}/{shard_name(shard)}", vocab_size))
            for n in seq_lens
        }

    def add(self, ids: np.ndarray) -> None:
        self.documents += 1
        for packer, writer in self.parts.values():
            for window in packer.add(ids):
                writer.add(window)

    def close(self) -> list[dict]:
        rows = []
        for n, (packer, writer) in self.parts.items():
            tail = packer.flush()
            if tail is not None:
                writer.add(tail)
            info = writer.close()
            rows.append({"seq_len": n, "shard": self.shard, "documents": self.documents, **info})
        return rows

    def abort(self) -> None:
        for _, writer in self.parts.values():
            writer.abort()


def _write_partition(batches, out_dir: str, seq_lens: list[int], vocab_size: int, fault=(0.0, None)):
    from curator.faults import maybe_fail

    group: _ShardGroup | None = None
    rows: list[dict] = []
    try:
        for batch in batches:
            shards = batch.column("shard").to_numpy()
            ids = batch.column("input_ids")
            for i in range(batch.num_rows):
                s = int(shards[i])
                if group is None or group.shard != s:
                    if group is not None:
                        rows += group.close()
                    group = _ShardGroup(out_dir, s, seq_lens, vocab_size)
                group.add(ids[i].values.to_numpy(zero_copy_only=False))
        if group is not None:
            rows += group.close()
            group = None
        maybe_fail("shards", fault)  # test switch: the task dies after its shards are written
    except BaseException:
        if group is not None:
            group.abort()
        raise
    yield pa.RecordBatch.from_pylist(rows, schema=SHARD_META)


def write_shards(df, out_dir: str, seq_lens: list[int], vocab_size: int, n_shards: int, seed: int) -> list[dict]:
    """Explode copies, assign shards, sort, write; returns one metadata row per file pair."""
    from pyspark.sql import functions as F

    from curator.schema import spark_schema

    copies = df.select("id", "input_ids", F.explode(F.sequence(F.lit(0), F.col("repeats") - 1)).alias("copy"))
    key = F.xxhash64(F.lit(seed), F.col("id"), F.col("copy"))
    copies = copies.withColumn("key", key).withColumn("shard", F.pmod(F.col("key"), F.lit(n_shards)))
    ordered = copies.repartition(n_shards, "shard").sortWithinPartitions("shard", "key", "id", "copy")
    from curator import faults

    fn = partial(_write_partition, out_dir=out_dir, seq_lens=seq_lens, vocab_size=vocab_size, fault=faults.settings())
    meta = ordered.select("shard", "input_ids").mapInArrow(fn, spark_schema(SHARD_META)).collect()
    return sorted((r.asDict() for r in meta), key=lambda r: (r["seq_len"], r["shard"]))
