"""Fuzzy dedup as Spark jobs: MinHash-LSH candidates -> verified pairs -> components -> survivor.

1. Signatures and band buckets per Arrow batch (stages/minhash.py): one row (id, buckets)
   per document, `bands` int64 keys that hash the band index too, so one int64 names
   (band, bucket). Materialised once: the text is read for signatures only here, and one
   row per document (not per band) crosses from Python to the JVM.
2. Candidate edges: buckets of more than one document are found by counting the int64 keys
   (a hash aggregate: most buckets hold one document, and no id or sort is shuffled for
   them); every document of such a bucket is linked to the bucket's smallest id (a star
   per bucket, so a bucket of k documents gives k-1 edges, not k^2/2).
3. The candidate documents are read once more, with their text length and survivor score
   (small: only they travel). Optionally each candidate pair's true shingle Jaccard is
   computed and pairs below `threshold` are removed, so LSH false positives never merge
   clusters.
4. Connected components (stages/connected_components.py); a cluster's id is its smallest
   document id.
5. Survivor: the highest `survivor_score` column value (when the rows have that column),
   then the longest text, then the smallest id. Every cluster member carries
   `minhash_cluster` and `minhash_cluster_size`; all but the survivor are marked
   `dedup.minhash`. Rows not in any cluster get nulls there.

Every step depends only on the set of rows, never on their order or partitioning, so two
runs, or runs with different partition counts, keep the same documents.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa

from stages.minhash import band_buckets, batch_shingle_hashes, jaccard, lsh_params, signatures

BUCKET_SCHEMA = pa.schema([("id", pa.string()), ("buckets", pa.list_(pa.int64()))])
PAIR_SCHEMA = pa.schema([("src", pa.string()), ("dst", pa.string()), ("jaccard", pa.float64())])


def resolve_bands(settings) -> tuple[int, int]:
    if settings.bands is not None:
        return settings.bands, settings.rows
    return lsh_params(settings.lsh_threshold, settings.num_perm,
                      settings.false_positive_weight, settings.false_negative_weight)


def bucket_batch(batch: pa.RecordBatch, ngram: int, num_perm: int, seed: int, bands: int,
                 rows: int) -> pa.RecordBatch:
    """(id, buckets) rows, `bands` keys each, for one batch of (id, text); documents without
    any token give no rows (they cannot be near-duplicates of anything)."""
    hashes, offsets = batch_shingle_hashes(batch.column("text").to_pylist(), ngram)
    sigs = signatures(hashes, offsets, num_perm, seed)
    keep = np.flatnonzero(np.diff(offsets) > 0)
    keys = band_buckets(sigs[keep], bands, rows)
    ids = batch.column("id").cast(pa.string()).take(pa.array(keep))
    lists = pa.ListArray.from_arrays(pa.array(np.arange(len(keep) + 1, dtype=np.int32) * bands),
                                     pa.array(keys.reshape(-1)))
    return pa.RecordBatch.from_arrays([ids, lists], schema=BUCKET_SCHEMA)


def _bucket_rows(batches, **kw):
    for batch in batches:
        yield bucket_batch(batch, **kw)


def pair_jaccard(batch: pa.RecordBatch, ngram: int) -> pa.RecordBatch:
    """True Jaccard of the shingle sets of each (src, dst, text_a, text_b) row."""
    a = batch.column("text_a").to_pylist()
    b = batch.column("text_b").to_pylist()
    hashes, offsets = batch_shingle_hashes(a + b, ngram)
    n = len(a)
    sims = [
        jaccard(hashes[offsets[i]:offsets[i + 1]], hashes[offsets[n + i]:offsets[n + i + 1]])
        for i in range(n)
    ]
    return pa.RecordBatch.from_arrays(
        [batch.column("src").cast(pa.string()), batch.column("dst").cast(pa.string()), pa.array(sims, pa.float64())],
        schema=PAIR_SCHEMA,
    )


def _pair_rows(batches, ngram):
    for batch in batches:
        yield pair_jaccard(batch, ngram)


BROADCAST_MAX_ROWS = 2_000_000
"""Id lists up to this size (candidate documents, cluster members) are broadcast to the
joins with the corpus, so the corpus itself is never shuffled for them."""


def _small(df, rows: int):
    from pyspark.sql import functions as F

    return F.broadcast(df) if rows <= BROADCAST_MAX_ROWS else df


@dataclass
class FuzzyResult:
    df: Any
    """The input rows with `minhash_cluster`, `minhash_cluster_size` and duplicates marked."""
    stats: dict[str, Any] = field(default_factory=dict)


def dedup_fuzzy(df, settings) -> FuzzyResult:
    """Mark near-duplicates among the kept rows of `df` (rows already dropped pass through)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from curator.schema import spark_schema
    from stages.connected_components import connected_components, cut_lineage as _cut

    clock = {"start": time.perf_counter()}

    def lap(name):
        now = time.perf_counter()
        stats.setdefault("seconds_by_step", {})[name] = round(now - clock["start"], 2)
        clock["start"] = now

    spark = df.sparkSession
    reliable = spark.sparkContext.getCheckpointDir() is not None
    bands, rows = resolve_bands(settings)
    kept = df.where(F.col("drop_reason").isNull())

    fn = partial(_bucket_rows, ngram=settings.ngram, num_perm=settings.num_perm, seed=settings.seed,
                 bands=bands, rows=rows)
    per_doc = _cut(kept.select("id", "text").mapInArrow(fn, spark_schema(BUCKET_SCHEMA)), reliable)
    buckets = per_doc.select("id", F.explode("buckets").alias("bucket"))
    shared = buckets.groupBy("bucket").count().where(F.col("count") > 1).select("bucket")
    in_shared = buckets.join(shared, "bucket", "left_semi")  # adaptive execution broadcasts a small `shared`
    anchor = F.min("id").over(Window.partitionBy("bucket"))
    edges = _cut(
        in_shared.withColumn("src", anchor).where(F.col("id") != F.col("src"))
        .select("src", F.col("id").alias("dst")).distinct(),
        reliable,
    )
    per_doc.unpersist()
    stats: dict[str, Any] = {
        "ngram": settings.ngram, "num_perm": settings.num_perm, "bands": bands, "rows": rows,
        "threshold": settings.threshold, "lsh_threshold": settings.lsh_threshold,
        "verify": settings.verify, "seed": settings.seed,
    }
    stats["candidate_pairs"] = edges.count()
    lap("signatures_and_candidates")

    # the candidate documents, read once: only they travel, and a small id list is broadcast
    # so that the whole corpus is not shuffled for it
    score = settings.survivor_score
    has_score = score is not None and score in df.columns
    info_cols = [F.col("id"), F.length("text").alias("_len")]
    if has_score:
        info_cols.append(F.col(score).alias("_score"))
    if settings.verify:
        info_cols.append(F.col("text"))
    nodes = edges.select(F.col("src").alias("id")).union(edges.select(F.col("dst").alias("id"))).distinct()
    involved = _cut(kept.select(*info_cols).join(_small(nodes, 2 * stats["candidate_pairs"]), "id", "left_semi"),
                    reliable)
    if settings.verify:
        texts_a = involved.select(F.col("id").alias("src"), F.col("text").alias("text_a"))
        texts_b = involved.select(F.col("id").alias("dst"), F.col("text").alias("text_b"))
        pairs = edges.join(texts_a, "src").join(texts_b, "dst").select("src", "dst", "text_a", "text_b")
        scored = pairs.mapInArrow(partial(_pair_rows, ngram=settings.ngram), spark_schema(PAIR_SCHEMA))
        verified = _cut(scored.where(F.col("jaccard") >= settings.threshold).select("src", "dst"), reliable)
        stats["verified_pairs"] = verified.count()
        stats["rejected_pairs"] = stats["candidate_pairs"] - stats["verified_pairs"]
        lap("verify")
        edges.unpersist()
        edges = verified

    comps = connected_components(edges, local_max_edges=settings.components_local_max_edges)
    stats["iterations"] = comps.iterations
    stats["components_on"] = "driver" if comps.local else "spark"
    assignment = _cut(comps.assignment, reliable)
    lap("components")

    info = involved.select(F.col("id").alias("node"), "_len", *(["_score"] if has_score else []))
    order = ([F.col("_score").desc_nulls_last()] if has_score else []) + [F.col("_len").desc(), F.col("node")]
    cluster = Window.partitionBy("component")
    members = assignment.count()
    ranked = _cut(
        info.join(_small(assignment, members), "node")
        .withColumn("_mh_rank", F.row_number().over(cluster.orderBy(*order)))
        .withColumn("minhash_cluster_size", F.count(F.lit(1)).over(cluster).cast("long"))
        .select(F.col("node").alias("id"), F.col("component").alias("minhash_cluster"),
                "minhash_cluster_size", "_mh_rank"),
        reliable,
    )
    involved.unpersist()
    sizes = ranked.where(F.col("_mh_rank") == 1).groupBy("minhash_cluster_size").count().collect()
    stats["cluster_sizes"] = {str(r[0]): r[1] for r in sorted(sizes)}
    stats["clusters"] = sum(r[1] for r in sizes)
    stats["documents_in_clusters"] = sum(r[0] * r[1] for r in sizes)
    stats["duplicates_marked"] = stats["documents_in_clusters"] - stats["clusters"]
    lap("survivors")
    stats["survivor_rule"] = (f"highest {score}, then " if has_score else "") + "longest text, then smallest id"

    cols = list(df.columns)
    out = df.join(_small(ranked, members), "id", "left").withColumn(
        "drop_reason",
        F.when(F.col("drop_reason").isNull() & (F.col("_mh_rank") > 1), F.lit("dedup.minhash"))
        .otherwise(F.col("drop_reason")),
    ).select(*cols, "minhash_cluster", "minhash_cluster_size")
    return FuzzyResult(df=out, stats=stats)
