"""Dedup against earlier runs' indexes (curator/dedup_index.py): only this run's documents go.

The rule is that of one combined run over the released corpus and the new documents in
which every released document wins (it is already out; its survivor score, fetch date or id
do not matter against a new one). Each step runs among the new documents first, then its
survivors meet the indexes:

- URL: a kept web document whose URL took part in an index's URL dedup -> `dedup.url_prior`.
- exact: a kept document whose normalised-text hash took part in an index's exact dedup ->
  `dedup.exact_prior`.
- MinHash: the indexes' band buckets join this run's LSH buckets, so the candidate stars
  are those the combined run would build (document keys are the same hashes of the ids);
  verified pairs with released documents join the components, and every new document of a
  component holding a released one is marked `dedup.minhash_prior` (stages/dedup_fuzzy.py).

Whether a new document is kept is then exactly its fate in the combined run: a step's
participants are the same (released documents keep their fate in each step, since no new
document beats them), and a new document reaches a released one through new documents and
one new-released edge whenever the combined run's component does. Every removal names the
matched released document (`dedup_prior_id`) and its index (`dedup_prior_index`): the URL's
or hash cluster's survivor, or the component's best released document.
"""

from __future__ import annotations

PRIOR_ID, PRIOR_INDEX = "dedup_prior_id", "dedup_prior_index"
"""Columns the dedup phase adds when `dedup.against` names indexes (null on other rows)."""
PRIOR_REASONS = ("dedup.url_prior", "dedup.exact_prior", "dedup.minhash_prior")
_NO_KEY = "\x00no-key:"
PRIOR_BROADCAST_MAX_ROWS = 1_000_000
"""URL or text-hash rows of the indexes (header counts) up to which they are broadcast to the
join with the run's documents (about 100 MB of driver memory at most)."""


def with_prior_columns(df):
    from pyspark.sql import functions as F

    for c in (PRIOR_ID, PRIOR_INDEX):
        if c not in df.columns:
            df = df.withColumn(c, F.lit(None).cast("string"))
    return df


def _keyed(spark, indexes, table: str, key: str):
    """(key, id, index) rows of `table` over the indexes that hold it; a key in several
    indexes is named by the first in `dedup.against` order."""
    from functools import reduce

    from pyspark.sql import functions as F

    frames = [ix.table(spark, table).select(F.col(key).alias("_pk"), F.struct(F.lit(i).alias("o"), F.col("id").alias("i"),
                                                                               F.lit(ix.name).alias("n")).alias("_m"))
              for i, ix in enumerate(indexes) if ix.has(table)]
    if not frames:
        return None
    rows = reduce(lambda a, b: a.unionByName(b), frames)
    if len(frames) > 1:
        rows = rows.groupBy("_pk").agg(F.min("_m").alias("_m"))
    rows = rows.select("_pk", F.col("_m")["i"].alias("_pid"), F.col("_m")["n"].alias("_pidx"))
    # a small index is sent whole to every task, so the run's rows (with their texts) are not
    # shuffled for it; a large one is joined by key, never gathered in the driver
    return F.broadcast(rows) if sum(ix.header["counts"][table] for ix in indexes if ix.has(table)) \
        <= PRIOR_BROADCAST_MAX_ROWS else rows


def _mark(df, indexes, table: str, key: str, eligible, reason: str):
    from pyspark.sql import functions as F

    matches = _keyed(df.sparkSession, indexes, table, key)
    if matches is None:
        return df
    df = with_prior_columns(df)
    # rows that take no part get a key of their own, so they are not all shuffled to one task
    keyed = df.withColumn("_pk", F.when(eligible, F.col(key)).otherwise(F.concat(F.lit(_NO_KEY), F.col("id"))))
    hit = F.col("_pid").isNotNull()
    return (
        keyed.join(matches, "_pk", "left")
        .withColumn("drop_reason", F.when(hit, F.lit(reason)).otherwise(F.col("drop_reason")))
        .withColumn(PRIOR_ID, F.when(hit, F.col("_pid")).otherwise(F.col(PRIOR_ID)))
        .withColumn(PRIOR_INDEX, F.when(hit, F.col("_pidx")).otherwise(F.col(PRIOR_INDEX)))
        .select(*df.columns)
    )


def url_prior(df, indexes):
    """Kept web documents whose URL an index holds, marked `dedup.url_prior` (run after
    stages/dedup_url.py, so each new URL's survivor is the one that meets the index)."""
    from pyspark.sql import functions as F

    eligible = F.col("drop_reason").isNull() & (F.col("kind") == "warc") & F.col("url").isNotNull()
    return _mark(df, indexes, "urls", "url", eligible, "dedup.url_prior")


def exact_prior(df, indexes):
    """Kept documents whose `text_hash` an index holds, marked `dedup.exact_prior` (run after
    stages/dedup_exact.py)."""
    from pyspark.sql import functions as F

    return _mark(df, indexes, "exact", "text_hash", F.col("drop_reason").isNull() & F.col("text_hash").isNotNull(),
                 "dedup.exact_prior")


def prior_buckets(spark, indexes, new_buckets, n_new: int):
    """(bucket, k1, k2) rows of the indexes' documents in buckets this run also has: only
    those can make a star with a new document. `new_buckets`: this run's (bucket) rows."""
    from functools import reduce

    from pyspark.sql import functions as F

    from stages.dedup_fuzzy import BROADCAST_MAX_ROWS

    wanted = new_buckets.select("bucket")  # no distinct: a semi join keeps each index row at most once
    if n_new <= BROADCAST_MAX_ROWS:
        wanted = F.broadcast(wanted)
    frames = [ix.table(spark, "buckets").select("bucket", "k1", "k2") for ix in indexes]
    return reduce(lambda a, b: a.unionByName(b), frames).join(wanted, "bucket", "left_semi")


def prior_nodes(spark, indexes, nodes, verify: bool):
    """The indexes' documents among the candidate `nodes` (k1, k2), as rows of the
    candidates table of stages/dedup_fuzzy.py: a node name no run id can have, text length,
    no score (a released document wins whatever it scored), the text when verifying."""
    from functools import reduce

    from pyspark.sql import functions as F

    frames = []
    for ix in indexes:
        cols = [F.col("k1"), F.col("k2"), F.concat(F.lit(f"\x00{ix.name}\x1f"), F.col("id")).alias("id"),
                F.col("len").cast("int").alias("_len"), F.lit(True).alias("_prior"), F.col("id").alias("_pid"),
                F.lit(ix.name).alias("_pidx")]
        if verify:
            cols.append(F.col("text"))
        frames.append(ix.table(spark, "docs").select(*cols))
    return reduce(lambda a, b: a.unionByName(b), frames).join(nodes, ["k1", "k2"], "left_semi")
