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

from collections import Counter
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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


def spark_words(texts: pa.Array) -> np.ndarray:
    """`size(split(trim(text), '\\s+'))` as Spark computes it, for a whole column: `trim`
    removes plain spaces only, Java's `\\s` is ASCII white space, and the pieces at either
    end count even when empty (so: the separator runs plus one; 0 for a null text, which
    Spark's sum skips)."""
    runs = pc.count_substring_regex(pc.utf8_trim(texts, " "), r"[ \t\n\x0b\f\r]+")
    return pc.fill_null(pc.add(runs, 1), 0).to_numpy(zero_copy_only=False).astype(np.int64)


def site_caps_on_driver(batch: pa.RecordBatch, settings) -> tuple[pa.RecordBatch, dict]:
    """`site_caps` in this process for a small run (stages/dedup_subdoc.py `on_driver`): each
    site's running document and word counts in the survivor order, in numpy."""
    from stages.dedup_subdoc import run_starts, with_placed

    hosts = batch.column("_host")
    if settings.by == "domain":  # each distinct host looked up once
        enc = pc.dictionary_encode(hosts)
        sites = pa.array([registered_domain(h) for h in enc.dictionary.to_pylist()], pa.string()).take(enc.indices)
    else:
        sites = hosts
    rows = np.flatnonzero(batch.column("drop_reason").is_null().to_numpy(zero_copy_only=False)
                          & batch.column("url").is_valid().to_numpy(zero_copy_only=False)
                          & sites.is_valid().to_numpy(zero_copy_only=False))
    site_ids = pc.dictionary_encode(sites.take(pa.array(rows))).indices.to_numpy(zero_copy_only=False)
    ranks = batch.column("_rank").to_numpy(zero_copy_only=False)[rows]
    order = np.lexsort((ranks, site_ids))  # by site, then survivor order
    rows, site_ids = rows[order], site_ids[order]
    words = spark_words(batch.column("text").take(pa.array(rows, pa.int64())))
    first = np.flatnonzero(run_starts(site_ids))
    start = np.repeat(first, np.diff(np.append(first, len(rows))))  # each row's site's first position
    n = np.arange(len(rows)) - start + 1
    tokens = np.cumsum(words) - np.append(0, np.cumsum(words))[start]
    over = np.zeros(len(rows), bool)
    if settings.max_docs is not None:
        over |= n > settings.max_docs
    if settings.max_tokens is not None:
        over |= tokens > settings.max_tokens
    capped = rows[over]
    counts = Counter(sites.take(pa.array(capped, pa.int64())).to_pylist())
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    out = with_placed(batch, {"drop_reason": (capped, pa.array(["dedup.site_cap"] * len(capped)))})
    return out, {"by": settings.by, "sites_capped": len(counts),
                 "top_capped_sites": [{"site": s, "docs": c} for s, c in top]}
