"""Fuzzy dedup as Spark jobs: MinHash-LSH candidates -> verified pairs -> components -> survivor.

1. Signatures and band buckets per Arrow batch (stages/minhash.py): one row (id, buckets)
   per document, `bands` int64 keys that hash the band index too, so one int64 names
   (band, bucket). Materialised once: the text is read for signatures only here, and one
   row per document (not per band) crosses from Python to the JVM.
2. Candidate edges: the (bucket, document key) rows are shuffled by bucket, once, and each
   partition is sorted by bucket with numpy (stages/minhash.py `bucket_stars`); every
   document of a bucket of more than one is linked to the bucket's smallest key (a star per
   bucket, so a bucket of k documents gives k-1 edges, not k^2/2). A document's key is two
   64-bit hashes of its id (128 bits: the shuffle does not grow with id length, and a
   collision, checked, has odds of n^2 / 2^129).
3. The candidate documents are read once more by their keys, with id, text length and
   survivor score (small: only they travel). Optionally each candidate pair's true shingle
   Jaccard is computed (a whole Arrow batch of pairs at once) and pairs below `threshold` are
   removed, so LSH false positives never merge clusters.
4. Connected components (stages/connected_components.py); a cluster's id is its smallest
   document id.
5. Survivor: the highest `survivor_score` column value (when the rows have that column),
   then the `survivor` rule -- the longest text, or (`first`) the earliest in input order
   (`input_order`) -- then the smallest id. Every cluster member carries
   `minhash_cluster` and `minhash_cluster_size`; all but the survivor are marked
   `dedup.minhash`. Rows not in any cluster get nulls there.

With `prior` indexes (stages/dedup_prior.py), their documents join steps 2-4 as candidates
that always survive: a component holding one marks all its new documents
`dedup.minhash_prior` and names that document.

Every step depends only on the set of rows, never on their order or partitioning, so two
runs, or runs with different partition counts, keep the same documents.

A run with at most `local_max_docs` documents (and no `verify` or `prior`) does steps 2-5 on
the driver from the band keys (`_driver_clusters`): the same rows and counts, without the two
dozen small Spark jobs that would cost it more than the work itself.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa

from stages.minhash import band_buckets, batch_shingle_hashes, bucket_stars, lsh_params, signatures

BUCKET_SCHEMA = pa.schema([("id", pa.string()), ("buckets", pa.list_(pa.int64()))])
STAR_SCHEMA = pa.schema([("s1", pa.int64()), ("s2", pa.int64()), ("d1", pa.int64()), ("d2", pa.int64())])
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
    hashes, offsets = batch_shingle_hashes(batch.column("text"), ngram)
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


def _star_rows(batches):
    """All rows (bucket, k1, k2) of one partition -> the star edges of its buckets."""
    batches = list(batches)
    if not batches:
        return
    table = pa.Table.from_batches(batches)
    cols = [table.column(c).to_numpy() for c in ("bucket", "k1", "k2")]
    src, dst = bucket_stars(*cols)
    if len(src):
        yield pa.RecordBatch.from_arrays([pa.array(src[:, 0]), pa.array(src[:, 1]), pa.array(dst[:, 0]),
                                          pa.array(dst[:, 1])], schema=STAR_SCHEMA)


def _distinct(x: np.ndarray) -> np.ndarray:
    """Sorted distinct values (np.unique's hash table is several times slower on these)."""
    x = np.sort(x)
    return x[np.concatenate(([True], x[1:] != x[:-1]))] if len(x) else x


def pair_jaccard(batch: pa.RecordBatch, ngram: int) -> pa.RecordBatch:
    """True Jaccard of the shingle sets of each (src, dst, text_a, text_b) row, for the whole
    batch at once: (row, shingle) keys made unique per side, then intersected."""
    n = batch.num_rows
    hashes, offsets = batch_shingle_hashes(pa.concat_arrays([batch.column("text_a"), batch.column("text_b")]), ngram)
    owner = np.repeat(np.arange(2 * n, dtype=np.uint64), np.diff(offsets))
    keys = ((owner % np.uint64(max(n, 1))) << np.uint64(32)) | hashes.astype(np.uint64)
    side_b = owner >= n
    a, b = _distinct(keys[~side_b]), _distinct(keys[side_b])
    both = np.intersect1d(a, b, assume_unique=True)
    count = lambda k: np.bincount((k >> np.uint64(32)).astype(np.int64), minlength=n)  # noqa: E731
    inter, union = count(both), count(a) + count(b) - count(both)
    sims = np.divide(inter, union, out=np.ones(n), where=union > 0)  # two empty sets: 1.0, as `jaccard`
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
BROADCAST_MAX_TEXT = 256 << 20
"""Candidate documents whose texts add up to at most this many characters are broadcast to
the join with the candidate pairs."""


def _keys(column: str):
    """Two 64-bit hashes of a string column (xxHash64 with two seeds): a 128-bit key."""
    from pyspark.sql import functions as F

    return F.xxhash64(column).alias("k1"), F.xxhash64(F.lit("curator-key"), column).alias("k2")


INPUT_ORDER = ("_src", "_pos", "_path")
"""Columns of `input_order`, in sort order."""


def input_order(df) -> list:
    """Where a row was read, as sortable columns: the input file (WARC, code archive or
    dataset; a repository for a folder), the position in it (WARC offset, or the code
    record's number), then the file's path in its repository. Nulls where a row does not
    say (they sort last)."""
    from pyspark.sql import functions as F

    if "meta" not in df.columns:
        return [F.lit(None).cast(t).alias(c) for c, t in zip(INPUT_ORDER, ("string", "long", "string"))]
    m = F.col("meta")
    pos = F.coalesce(m["warc_offset"], m["record"])
    return [F.coalesce(m["warc_file"], m["archive"], m["dataset"], m["repo"]).alias("_src"),
            pos.try_cast("long").alias("_pos"),
            m["path"].alias("_path")]


RANKED_SCHEMA = pa.schema([("id", pa.string()), ("minhash_cluster", pa.string()),
                           ("minhash_cluster_size", pa.int64()), ("_mh_rank", pa.int32())])


def _driver_clusters(per_doc, info, has_score: bool, first_read: bool) -> tuple[pa.Table, int]:
    """Steps 2-5 on the driver, for a run small enough (`local_max_docs`): the same star
    edges (stages/minhash.py `bucket_stars` over every bucket at once), components by
    union-find and survivors by the same order as the Spark path's window, without its two
    dozen small jobs. Returns (one RANKED_SCHEMA row per cluster member, distinct star edges).
    `per_doc`: (id, k1, k2, buckets); `info`: (id, _len[, _score][, INPUT_ORDER]) of every
    kept row."""
    import math

    from curator.errors import CuratorError
    from stages.connected_components import union_find

    rows = per_doc.select("id", "k1", "k2", "buckets").toArrow()
    lists = rows.column("buckets").combine_chunks()
    k1, k2 = rows.column("k1").to_numpy(), rows.column("k2").to_numpy()
    repeat = lists.value_lengths().to_numpy()
    src, dst = bucket_stars(lists.flatten().to_numpy(), np.repeat(k1, repeat), np.repeat(k2, repeat))
    edges = np.unique(np.concatenate([src, dst], axis=1), axis=0) if len(src) else np.empty((0, 4), np.int64)
    owners: dict[tuple[int, int], list[str]] = {}
    for doc, a, b in zip(rows.column("id").to_pylist(), k1.tolist(), k2.tolist()):
        owners.setdefault((a, b), []).append(doc)
    flat = edges.tolist()
    if any(len(owners[(e[i], e[i + 1])]) > 1 for e in flat for i in (0, 2)):
        raise CuratorError("two documents' ids share a 128-bit key in fuzzy dedup; please report this")
    roots = union_find((owners[(a, b)][0], owners[(c, d)][0]) for a, b, c, d in flat)

    members: dict[str, list[dict[str, Any]]] = {}
    for r in info.toArrow().to_pylist():
        if r["id"] in roots:
            members.setdefault(roots[r["id"]], []).append(r)

    def last_if_null(column: str):
        return lambda r: (r[column] is None, r[column] if r[column] is not None else 0)

    out: dict[str, list] = {name: [] for name in RANKED_SCHEMA.names}
    for root in sorted(members):
        group = sorted(members[root], key=lambda r: r["id"])  # stable sorts, least significant key first
        if first_read:
            for column in reversed(INPUT_ORDER):
                group.sort(key=last_if_null(column))
        else:  # longest first, nulls last
            group.sort(key=lambda r: (r["_len"] is None, -(r["_len"] or 0)))
        if has_score:  # highest first; NaN above every number and nulls last, as Spark orders them
            kind = [2 if r["_score"] is None else 0 if isinstance(r["_score"], float) and math.isnan(r["_score"])
                    else 1 for r in group]
            values = sorted((r for r, k in zip(group, kind) if k == 1), key=lambda r: r["_score"],
                            reverse=True)  # reverse=True keeps equal scores in their order
            group = [r for r, k in zip(group, kind) if k == 0] + values + [r for r, k in zip(group, kind) if k == 2]
        for rank, r in enumerate(group, 1):
            out["id"].append(r["id"])
            out["minhash_cluster"].append(root)
            out["minhash_cluster_size"].append(len(group))
            out["_mh_rank"].append(rank)
    return pa.table(out, schema=RANKED_SCHEMA), len(edges)


def _small(df, rows: int):
    from pyspark.sql import functions as F

    return F.broadcast(df) if rows <= BROADCAST_MAX_ROWS else df


@dataclass
class FuzzyResult:
    df: Any
    """The input rows with `minhash_cluster`, `minhash_cluster_size` and duplicates marked."""
    stats: dict[str, Any] = field(default_factory=dict)


def dedup_fuzzy(df, settings, prior=None) -> FuzzyResult:
    """Mark near-duplicates among the kept rows of `df` (rows already dropped pass through),
    and, with `prior` (curator/dedup_index.py indexes), kept rows near their documents."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from curator.errors import CuratorError
    from curator.schema import spark_schema
    from stages.connected_components import connected_components
    from stages.connected_components import cut_lineage as _cut

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
    per_doc = _cut(kept.select("id", "text").mapInArrow(fn, spark_schema(BUCKET_SCHEMA))
                   .select("id", *_keys("id"), "buckets"), reliable)
    docs = per_doc.count()
    score = settings.survivor_score
    has_score = score is not None and score in df.columns
    first_read = settings.survivor == "first"
    if docs <= settings.local_max_docs and not settings.verify and not prior:
        info = kept.select("id", F.length("text").alias("_len"), *([F.col(score).alias("_score")] if has_score else []),
                           *(input_order(kept) if first_read else []))
        ranked, n_stars = _driver_clusters(per_doc, info, has_score, first_read)
        per_doc.unpersist()
        stats = {**_settings_stats(settings, bands, rows), "candidate_pairs": n_stars, "candidates_on": "driver",
                 "iterations": 0, "components_on": "driver"}
        lap("signatures_and_candidates")
        sizes = Counter(size for size, rank in zip(ranked.column("minhash_cluster_size").to_pylist(),
                                                  ranked.column("_mh_rank").to_pylist()) if rank == 1)
        _survivor_stats(stats, list(sizes.items()), settings, has_score)
        lap("survivors")
        return FuzzyResult(df=_mark(df, spark.createDataFrame(ranked), ranked.num_rows, None), stats=stats)
    # one shuffle of (bucket, key) rows; partitions of at most ~4M rows for the numpy sort
    parts = max(spark.sparkContext.defaultParallelism, -(-docs * bands // 4_000_000))
    keyed = per_doc.select(F.explode("buckets").alias("bucket"), "k1", "k2")
    if prior:
        from stages.dedup_prior import prior_buckets

        keyed = keyed.unionByName(prior_buckets(spark, prior, keyed, docs * bands))
    stars = _cut(
        keyed.repartition(parts, "bucket").mapInArrow(_star_rows, spark_schema(STAR_SCHEMA)).distinct(),
        reliable,
    )
    n_stars = stars.count()
    stats = {**_settings_stats(settings, bands, rows), "candidate_pairs": n_stars, "candidates_on": "spark"}
    per_doc.unpersist()

    # the candidate documents, read once by their keys: only they travel, and the small key
    # list is broadcast so that the whole corpus is not shuffled for it
    info_cols = [F.col("id"), F.length("text").alias("_len")]
    if has_score:
        info_cols.append(F.col(score).alias("_score"))
    if first_read:
        info_cols += input_order(kept)
    if settings.verify:
        info_cols.append(F.col("text"))
    nodes = _cut(stars.select(F.col("s1").alias("k1"), F.col("s2").alias("k2")).union(
        stars.select(F.col("d1").alias("k1"), F.col("d2").alias("k2"))).distinct(), reliable)
    involved = kept.select(*_keys("id"), *info_cols).join(_small(nodes, 2 * n_stars), ["k1", "k2"], "left_semi")
    if prior:
        from stages.dedup_prior import prior_nodes

        involved = involved.select("*", F.lit(False).alias("_prior"), *(F.lit(None).cast("string").alias(c)
                                                                          for c in ("_pid", "_pidx")))
        olds = prior_nodes(spark, prior, _small(nodes, 2 * n_stars), settings.verify)
        if has_score:
            olds = olds.withColumn("_score", F.lit(None).cast(involved.schema["_score"].dataType))
        for c in INPUT_ORDER if first_read else ():  # a released document wins whatever it was read after
            olds = olds.withColumn(c, F.lit(None).cast(involved.schema[c].dataType))
        involved = involved.unionByName(olds)
    involved = _cut(involved, reliable)
    n_nodes = nodes.count()
    found = involved.agg(F.count(F.lit(1)), F.sum("_len")).first()
    if found[0] != n_nodes:
        raise CuratorError("two documents' ids share a 128-bit key in fuzzy dedup (or a document of this run is "
                           "also in a dedup.against index); please report this")
    nodes.unpersist()
    carried = ["text"] if settings.verify else []
    small = n_nodes <= BROADCAST_MAX_ROWS and (found[1] or 0) <= BROADCAST_MAX_TEXT

    def side(k1, k2, name):  # one end of the candidate pairs: its key, id (and text)
        d = involved.select(F.col("k1").alias(k1), F.col("k2").alias(k2), F.col("id").alias(name),
                            *[F.col(c).alias(f"{c}_{name}") for c in carried])
        return F.broadcast(d) if small else d

    named = (stars.repartition(spark.sparkContext.defaultParallelism)  # the verification runs on every core
             .join(side("s1", "s2", "src"), ["s1", "s2"]).join(side("d1", "d2", "dst"), ["d1", "d2"]))
    lap("signatures_and_candidates")
    if settings.verify:
        pairs = named.select("src", "dst", F.col("text_src").alias("text_a"), F.col("text_dst").alias("text_b"))
        scored = pairs.mapInArrow(partial(_pair_rows, ngram=settings.ngram), spark_schema(PAIR_SCHEMA))
        edges = _cut(scored.where(F.col("jaccard") >= settings.threshold).select("src", "dst"), reliable)
        stats["verified_pairs"] = edges.count()
        stats["rejected_pairs"] = stats["candidate_pairs"] - stats["verified_pairs"]
        lap("verify")
    else:
        edges = _cut(named.select("src", "dst"), reliable)
    stars.unpersist()

    comps = connected_components(edges, local_max_edges=settings.components_local_max_edges)
    stats["iterations"] = comps.iterations
    stats["components_on"] = "driver" if comps.local else "spark"
    assignment = _cut(comps.assignment, reliable)
    lap("components")

    extra = ["_prior", "_pid", "_pidx"] if prior else []
    rule = [*INPUT_ORDER] if first_read else ["_len"]
    info = involved.select(F.col("id").alias("node"), *rule, *(["_score"] if has_score else []), *extra)
    order = ([F.col("_prior").desc()] if prior else []) + ([F.col("_score").desc_nulls_last()] if has_score else []) \
        + ([F.col(c).asc_nulls_last() for c in INPUT_ORDER] if first_read else [F.col("_len").desc()]) + [F.col("node")]
    cluster = Window.partitionBy("component")
    members = assignment.count()
    ranked = (info.join(_small(assignment, members), "node")
              .withColumn("_mh_rank", F.row_number().over(cluster.orderBy(*order)))
              .withColumn("minhash_cluster_size", F.count(F.lit(1)).over(cluster).cast("long")))
    if prior:  # the best released document of the component (ranked first), if it has one
        first = cluster.orderBy(*order)
        ranked = (ranked.withColumn("_pid", F.first("_pid").over(first)).withColumn("_pidx", F.first("_pidx").over(first))
                  .withColumn("component", F.coalesce("_pid", "component"))
                  .where(~F.col("_prior")))
    ranked = _cut(ranked.select(F.col("node").alias("id"), F.col("component").alias("minhash_cluster"),
                                "minhash_cluster_size", "_mh_rank", *(["_pid", "_pidx"] if prior else [])), reliable)
    involved.unpersist()
    if prior:  # one aggregate: new documents matched to released ones, and the sizes of the new clusters
        new = F.col("_pid").isNull()
        rows = ranked.groupBy((~new).alias("_m"), F.when(new & (F.col("_mh_rank") == 1), F.col("minhash_cluster_size"))
                              .alias("_s")).count().collect()
        stats["prior_matched"] = sum(r[2] for r in rows if r[0])
        sizes = [(r[1], r[2]) for r in rows if not r[0] and r[1] is not None]
    else:
        sizes = ranked.where(F.col("_mh_rank") == 1).groupBy("minhash_cluster_size").count().collect()
    _survivor_stats(stats, [(r[0], r[1]) for r in sizes], settings, has_score)
    lap("survivors")
    return FuzzyResult(df=_mark(df, ranked, members, prior), stats=stats)


def _settings_stats(settings, bands: int, rows: int) -> dict[str, Any]:
    return {"ngram": settings.ngram, "num_perm": settings.num_perm, "bands": bands, "rows": rows,
            "threshold": settings.threshold, "lsh_threshold": settings.lsh_threshold,
            "verify": settings.verify, "seed": settings.seed}


def _survivor_stats(stats: dict[str, Any], sizes: list[tuple[int, int]], settings, has_score: bool) -> None:
    """Clusters by size ((size, clusters) pairs) and the survivor rule, into `stats`."""
    stats["cluster_sizes"] = {str(size): n for size, n in sorted(sizes)}
    stats["clusters"] = sum(n for _, n in sizes)
    stats["documents_in_clusters"] = sum(size * n for size, n in sizes)
    stats["duplicates_marked"] = stats["documents_in_clusters"] - stats["clusters"]
    stats["survivor_rule"] = (f"highest {settings.survivor_score}, then " if has_score else "") \
        + ("first in input order (file, offset or record, path)" if settings.survivor == "first" else "longest text") \
        + ", then smallest id"


def _mark(df, ranked, members: int, prior):
    """`df` with each cluster member's `minhash_cluster` and `minhash_cluster_size`, and all
    but its survivor (`_mh_rank` 1 in `ranked`) dropped as `dedup.minhash` (or
    `dedup.minhash_prior`, naming the released document that wins)."""
    from pyspark.sql import functions as F

    cols = list(df.columns)
    dup = F.col("drop_reason").isNull() & (F.col("_mh_rank") > 1)
    out = df.join(_small(ranked, members), "id", "left")
    if prior:
        from stages.dedup_prior import PRIOR_ID, PRIOR_INDEX, with_prior_columns

        out = with_prior_columns(out)
        cols = list(dict.fromkeys([*cols, PRIOR_ID, PRIOR_INDEX]))
        matched = dup & F.col("_pid").isNotNull()
        out = (out.withColumn(PRIOR_ID, F.when(matched, F.col("_pid")).otherwise(F.col(PRIOR_ID)))
               .withColumn(PRIOR_INDEX, F.when(matched, F.col("_pidx")).otherwise(F.col(PRIOR_INDEX)))
               .withColumn("drop_reason", F.when(matched, F.lit("dedup.minhash_prior")).otherwise(F.col("drop_reason"))))
    out = out.withColumn("drop_reason", F.when(dup, F.lit("dedup.minhash")).otherwise(F.col("drop_reason")))
    return out.select(*cols, "minhash_cluster", "minhash_cluster_size")

