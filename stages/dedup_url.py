"""URL dedup: the same page fetched by several crawls is kept once, the newest fetch.

Only web documents (kind `warc`) that are still kept take part; code rows carry a
repo/path in `url` and are left alone. Among rows with the same URL the survivor has the
latest WARC date (`meta['warc_date']`, ISO 8601; unparseable or missing dates count as
oldest), then the smallest `id`, so the choice does not depend on partitioning. The others
are marked `dedup.url`.
"""

from __future__ import annotations


def dedup_url(df):
    """`df` with the older copies of each URL marked `dedup.url`.

    Each URL's survivor is found by an aggregation over (url, date, id) and joined back by
    URL, so no task holds the texts of many copies at once, and rows that take no part are
    not gathered into one group."""
    from pyspark.sql import functions as F

    eligible = F.col("drop_reason").isNull() & (F.col("kind") == "warc") & F.col("url").isNotNull()
    fetched = F.try_to_timestamp(F.col("meta").getItem("warc_date"))
    keyed = df.withColumn("_url_key", F.when(eligible, F.col("url")))
    # the smallest (no date, -date, id) is the newest fetch, then the smallest id
    order = F.struct(fetched.isNull().alias("undated"), (-F.unix_micros(fetched)).alias("newest"), F.col("id").alias("id"))
    survivors = (
        keyed.where(F.col("_url_key").isNotNull()).groupBy("_url_key")
        .agg(F.min(order)["id"].alias("_url_survivor"))
    )
    dup = F.col("_url_key").isNotNull() & (F.col("id") != F.col("_url_survivor"))
    return (
        keyed.join(survivors, "_url_key", "left")
        .withColumn("drop_reason", F.when(dup, F.lit("dedup.url")).otherwise(F.col("drop_reason")))
        .select(*df.columns)
    )
