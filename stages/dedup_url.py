"""URL dedup: the same page fetched by several crawls is kept once, the newest fetch.

Only web documents (kind `warc`) that are still kept take part; code rows carry a
repo/path in `url` and are left alone. Among rows with the same URL the survivor has the
latest WARC date (`meta['warc_date']`, ISO 8601; unparseable or missing dates count as
oldest), then the smallest `id`, so the choice does not depend on partitioning. The others
are marked `dedup.url`.
"""

from __future__ import annotations


def dedup_url(df):
    """`df` with the older copies of each URL marked `dedup.url`."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    eligible = F.col("drop_reason").isNull() & (F.col("kind") == "warc") & F.col("url").isNotNull()
    key = F.when(eligible, F.col("url"))
    fetched = F.try_to_timestamp(F.col("meta").getItem("warc_date"))
    ranked = (
        df.withColumn("_url_key", key)
        .withColumn("_fetched", fetched)
        .withColumn(
            "_url_rank",
            F.row_number().over(
                Window.partitionBy("_url_key").orderBy(F.col("_fetched").desc_nulls_last(), F.col("id"))
            ),
        )
    )
    dup = F.col("_url_key").isNotNull() & (F.col("_url_rank") > 1)
    return ranked.withColumn(
        "drop_reason", F.when(dup, F.lit("dedup.url")).otherwise(F.col("drop_reason"))
    ).drop("_url_key", "_fetched", "_url_rank")
