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
    """`df` (kept rows) with `text_hash`, `dup_cluster_size`, and duplicates marked."""
    from functools import partial

    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from curator.schema import spark_schema

    out_schema = with_columns(arrow_schema, {"text_hash": pa.string()})
    hashed = df.mapInArrow(partial(_add_hash, schema=out_schema), spark_schema(out_schema))
    # rows dropped earlier (e.g. by URL dedup) take no part: their key is null
    hashed = hashed.withColumn("_key", F.when(F.col("drop_reason").isNull(), F.col("text_hash")))
    cluster = Window.partitionBy("_key")
    ranked = hashed.withColumn("_rank", F.row_number().over(cluster.orderBy("id")))
    kept = F.col("_key").isNotNull()
    ranked = ranked.withColumn(
        "dup_cluster_size", F.when(kept, F.count(F.lit(1)).over(cluster)).cast("long")
    )
    return ranked.withColumn(
        "drop_reason",
        F.when(kept & (F.col("_rank") > 1), F.lit("dedup.exact")).otherwise(F.col("drop_reason")),
    ).drop("_rank", "_key")
