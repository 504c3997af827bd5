"""Exact dedup on normalised text, as a Spark aggregation.

Normalisation: Unicode NFKC, case-folded, whitespace runs collapsed, so copies that differ
only in case or spacing are one cluster. The survivor of a cluster is the smallest `id`
(deterministic across runs and partitionings); it carries the cluster size, the others are
marked `dedup.exact`. Rows that arrive already dropped are passed through unchanged.
"""

from __future__ import annotations

import hashlib
import unicodedata

import pyarrow as pa

from curator.schema import conform, with_columns


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def text_hash(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()[:32]


def _add_hash(batches, schema: pa.Schema):
    in_schema = pa.schema(list(schema)[:-1])
    for batch in batches:
        batch = conform(batch, in_schema)
        hashes = pa.array([text_hash(t or "") for t in batch.column("text").to_pylist()], pa.string())
        cols = [batch.column(n) for n in batch.schema.names] + [hashes]
        yield pa.RecordBatch.from_arrays(cols, schema=schema)


def dedup_exact(df, arrow_schema: pa.Schema):
    """`df` (kept rows) with `text_hash`, `dup_cluster_size`, and duplicates marked.

    The survivor and size of each cluster come from an aggregation over (hash, id) only and
    are joined back by hash: a window over whole rows would hold a cluster's texts in one
    task's memory (a thousand copies of a 1 MB file ran the JVM out of heap), and would put
    every already-dropped row in one group."""
    from functools import partial

    from pyspark.sql import functions as F

    from curator.schema import spark_schema

    out_schema = with_columns(arrow_schema, {"text_hash": pa.string()})
    hashed = df.mapInArrow(partial(_add_hash, schema=out_schema), spark_schema(out_schema))
    # rows dropped earlier (e.g. by URL dedup) take no part: their key is null
    hashed = hashed.withColumn("_key", F.when(F.col("drop_reason").isNull(), F.col("text_hash")))
    clusters = (
        hashed.where(F.col("_key").isNotNull()).groupBy("_key")
        .agg(F.min("id").alias("_survivor"), F.count(F.lit(1)).alias("_size"))
    )
    kept = F.col("_key").isNotNull()
    return (
        hashed.join(clusters, "_key", "left")
        .withColumn("dup_cluster_size", F.when(kept, F.col("_size")).cast("long"))
        .withColumn(
            "drop_reason",
            F.when(kept & (F.col("id") != F.col("_survivor")), F.lit("dedup.exact")).otherwise(F.col("drop_reason")),
        )
        .select(*hashed.columns[:-1], "dup_cluster_size")
    )
