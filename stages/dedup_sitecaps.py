"""Caps per site: at most `max_docs` documents and `max_tokens` words per host or registered
domain, so that a few large sites do not supply far more than their share.

The site is the URL's host, or (`by: domain`) its registered domain under the public suffix
list bundled with `tldextract` (its snapshot, never fetched: `suffix_list_urls=()`), so
`a.blog.example.co.uk` and `b.example.co.uk` are one site. Within a site documents are taken
in the survivor order (highest `survivor_score`, then smallest id) while both caps hold; the
rest are marked `dedup.site_cap`. Tokens are counted as words (runs of non-space characters):
the tokenizer runs after dedup. Rows without a URL (code) are not capped. Only
(site, rank, words) rows are shuffled, one per document, and the verdicts are joined back.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pyarrow as pa

SITE_SCHEMA = pa.schema([("_rank", pa.int64()), ("site", pa.string()), ("words", pa.int32())])


@lru_cache(maxsize=1)
def _extractor():
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False)


@lru_cache(maxsize=65536)  # hosts repeat: most pages of a crawl come from few sites
def registered_domain(host: str | None) -> str | None:
    """`example.co.uk` for `www.a.example.co.uk`; the host itself when it has no registered
    domain (an IP address, `localhost`, a bare suffix)."""
    if not host:
        return None
    parts = _extractor()(host)
    return ".".join(p for p in (parts.domain, parts.suffix) if p) if parts.domain and parts.suffix else host


def _sites(batches, by: str):
    for batch in batches:
        hosts = batch.column("host").to_pylist()
        sites = [registered_domain(h) for h in hosts] if by == "domain" else hosts
        yield pa.RecordBatch.from_arrays([batch.column("_rank"), pa.array(sites, pa.string()),
                                          batch.column("words").cast(pa.int32())], schema=SITE_SCHEMA)


def site_caps(df, settings):
    """`df` (from `ranked`) with documents beyond their site's caps marked `dedup.site_cap`,
    and stats: sites capped and documents dropped."""
    from functools import partial

    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from curator.schema import spark_schema
    from stages.dedup_subdoc import host_column

    kept = df.where(F.col("drop_reason").isNull() & F.col("url").isNotNull())
    # one pass over the documents: the words counted on the way to the site
    words = F.size(F.split(F.trim(F.col("text")), r"\s+")).alias("words")
    sites = kept.select("_rank", host_column().alias("host"), words).mapInArrow(partial(_sites, by=settings.by),
                                                                                spark_schema(SITE_SCHEMA))
    order = Window.partitionBy("site").orderBy("_rank").rowsBetween(Window.unboundedPreceding, Window.currentRow)
    placed = (
        sites.where(F.col("site").isNotNull())
        .withColumn("n", F.count(F.lit(1)).over(order))
        .withColumn("tokens", F.sum("words").over(order))
    )
    over = F.lit(False)
    if settings.max_docs is not None:
        over = over | (F.col("n") > settings.max_docs)
    if settings.max_tokens is not None:
        over = over | (F.col("tokens") > settings.max_tokens)
    capped = placed.where(over).select("_rank", "site").localCheckpoint(eager=True)
    stats_rows = capped.groupBy("site").count().orderBy(F.desc("count"), "site").limit(20).collect()
    out = (
        df.join(capped.select("_rank", F.lit(True).alias("_capped")), "_rank", "left")
        .withColumn("drop_reason", F.when(F.col("_capped"), F.lit("dedup.site_cap")).otherwise(F.col("drop_reason")))
        .drop("_capped")
    )
    stats = {"by": settings.by, "sites_capped": capped.select("site").distinct().count(),
             "top_capped_sites": [{"site": r["site"], "docs": r["count"]} for r in stats_rows]}
    return out, stats


_JAVA_SPACE = re.compile(r"[ \t\n\x0b\f\r]+")  # what Java calls \\s (ASCII white space)


def spark_words(text: str | None) -> int | None:
    """`size(split(trim(text), '\\s+'))` as Spark computes it: `trim` removes plain spaces only,
    Java's `\\s` is ASCII white space, and the pieces at either end count even when empty."""
    return None if text is None else len(_JAVA_SPACE.split(text.strip(" ")))


def site_caps_on_driver(batch: pa.RecordBatch, settings) -> tuple[pa.RecordBatch, dict]:
    """`site_caps` in this process for a small run (stages/dedup_subdoc.py `on_driver`)."""
    from collections import Counter

    reasons = batch.column("drop_reason").to_pylist()
    urls, hosts = batch.column("url").to_pylist(), batch.column("_host").to_pylist()
    texts, ranks = batch.column("text").to_pylist(), batch.column("_rank").to_pylist()
    placed: dict[str, list[int]] = {}
    for j in sorted(range(batch.num_rows), key=ranks.__getitem__):
        if reasons[j] is None and urls[j] is not None:
            site = registered_domain(hosts[j]) if settings.by == "domain" else hosts[j]
            if site is not None:
                placed.setdefault(site, []).append(j)
    capped: Counter = Counter()
    for site, members in placed.items():
        n = tokens = 0
        for j in members:
            n += 1
            tokens += spark_words(texts[j]) or 0
            if (settings.max_docs is not None and n > settings.max_docs) or \
                    (settings.max_tokens is not None and tokens > settings.max_tokens):
                reasons[j] = "dedup.site_cap"
                capped[site] += 1
    top = sorted(capped.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    from stages.dedup_subdoc import replace_columns

    return replace_columns(batch, {"drop_reason": reasons}), {
        "by": settings.by, "sites_capped": len(capped), "top_capped_sites": [{"site": s, "docs": c} for s, c in top]}
