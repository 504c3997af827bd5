"""Line and paragraph dedup across documents: the cookie banner, the menu, the licence footer.

Each line, and each paragraph of two or more lines (blank-line separated), is normalised as
exact dedup normalises whole texts (stages/dedup_exact.py `normalise`: NFKC, case-folded,
whitespace collapsed) and hashed to 64 bits (stages/minhash.py `string_hashes64`, over the
whole batch at once; a paragraph's hash is salted so it never equals a line's). Lines whose
normalised form is shorter than `min_line_chars`, and code documents, take no part unless
asked. One shuffle by hash counts the documents and the distinct hosts of each hash, and
marks each document's first-ranked copy (stages/dedup_subdoc.py). Then, per document:

- policy `boilerplate`: lines (or whole paragraphs) whose hash is in at least `min_docs`
  documents on at least `min_hosts` hosts are removed from every document;
- policy `first` (CCNet): every copy after the first, in the survivor order, is removed.

The removed lines are counted (`lines_removed_boilerplate`, `chars_removed`); a document
left with fewer than `min_chars_left` normalised characters is dropped as
`dedup.lines_too_short`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from stages.dedup_exact import normalise
from stages.dedup_subdoc import CutBatch, distinct_pairs
from stages.minhash import string_hashes64

LINE_ITEM_SCHEMA = pa.schema([("h", pa.int64()), ("rank", pa.int64()), ("host", pa.int64())])
PARAGRAPH_SALT = "\x00paragraph\x00"


def doc_items(text: str, min_line_chars: int, paragraphs: bool) -> tuple[list[str], list[tuple[int, int, str]]]:
    """The lines of `text` and its items: (first line, end line, normalised text) for every
    line long enough and every paragraph of at least two lines."""
    lines = text.split("\n")
    items: list[tuple[int, int, str]] = []
    start = 0
    for i, line in enumerate(lines + [""]):
        if i < len(lines) and line.strip():
            n = normalise(line)
            if len(n) >= min_line_chars:
                items.append((i, i + 1, n))
            continue
        if paragraphs and i - start >= 2:
            items.append((start, i, PARAGRAPH_SALT + " ".join(normalise(x) for x in lines[start:i])))
        start = i + 1
    return lines, items


def hash_strings(texts: list[str]) -> np.ndarray:
    return string_hashes64(pa.array(texts, pa.string())) if texts else np.zeros(0, np.uint64)


def batch_items(texts: list, skip: list[bool], min_line_chars: int, paragraphs: bool):
    """Per document its lines and items, and the items' hashes for the whole batch at once
    (one `string_hashes64` call: per document it would cost more than the rest together)."""
    per_doc, strings, owner = [], [], []
    for j, text in enumerate(texts):
        if not text or skip[j]:
            per_doc.append(([], []))
            continue
        lines, items = doc_items(text, min_line_chars, paragraphs)
        per_doc.append((lines, items))
        strings.extend(s for _, _, s in items)
        owner.extend([j] * len(items))
    return per_doc, hash_strings(strings).view(np.int64), np.asarray(owner, np.int64)


def emit_lines(batch: pa.RecordBatch, min_line_chars: int, paragraphs: bool, include_code: bool):
    """(hash, rank, host hash) of the distinct items of each document of `batch`."""
    skip = [k == "code" and not include_code for k in batch.column("kind").to_pylist()]
    _, hashes, owner = batch_items(batch.column("text").to_pylist(), skip, min_line_chars, paragraphs)
    ranks = batch.column("_rank").to_numpy(zero_copy_only=False)
    hosts = hash_strings([h or "" for h in batch.column("host").to_pylist()])
    h, own = distinct_pairs(hashes.view(np.uint64), owner)
    return [h.view(np.int64), ranks[own], hosts[own].view(np.int64)]


def _emit_batches(batches, **kw):
    for batch in batches:
        cols = emit_lines(batch, **kw)
        if len(cols[0]):
            yield pa.RecordBatch.from_arrays([pa.array(c) for c in cols], schema=LINE_ITEM_SCHEMA)


def cut_lines(batch: pa.RecordBatch, min_line_chars: int, paragraphs: bool, min_chars_left: int) -> pa.RecordBatch:
    """Remove from each document the lines (and paragraphs) whose hash is in its `_cut` list."""
    b = CutBatch(batch, "lines_removed_boilerplate")
    skip = [not c or r is not None for c, r in zip(b.cuts, b.reasons)]
    per_doc, hashes, owner = batch_items(b.texts, skip, min_line_chars, paragraphs)
    starts = np.searchsorted(owner, np.arange(len(b.texts) + 1))
    for j, cut in enumerate(b.cuts):
        if skip[j]:
            continue
        lines, items = per_doc[j]
        drop = np.zeros(len(lines), bool)
        wanted = set(cut)
        for (a, e, _), h in zip(items, hashes[starts[j]:starts[j + 1]].tolist()):
            if h in wanted:
                drop[a:e] = True
        if drop.any():
            kept = "\n".join(line for line, d in zip(lines, drop) if not d).strip("\n")
            b.settle(j, kept, int(drop.sum()), "dedup.lines_too_short", min_chars_left)
    return b.result()


def line_texts(batches, wanted: frozenset, min_line_chars: int, paragraphs: bool):
    """(hash, normalised text) of the items whose hash is in `wanted`, first seen per batch."""
    schema = pa.schema([("h", pa.int64()), ("line", pa.string())])
    for batch in batches:
        texts = batch.column("text").to_pylist()
        per_doc, hashes, _ = batch_items(texts, [False] * len(texts), min_line_chars, paragraphs)
        strings = [s for _, items in per_doc for _, _, s in items]
        found: dict[int, str] = {}
        for s, h in zip(strings, hashes.tolist()):
            if h in wanted and h not in found:
                found[h] = s.replace(PARAGRAPH_SALT, "[paragraph] ")[:300]
        if found:
            yield pa.RecordBatch.from_arrays([pa.array(list(found), pa.int64()), pa.array(list(found.values()))],
                                             schema=schema)


def dedup_lines(df, settings, top: int = 20):
    """(df with lines cut or documents dropped, stats) for `df` from `ranked`, kept rows only
    taking part."""
    from functools import partial

    from pyspark.sql import functions as F

    from curator.schema import spark_schema
    from stages.dedup_subdoc import apply_cuts, arrow_schema_of, attach_cuts, host_column

    kw = {"min_line_chars": settings.min_line_chars, "paragraphs": settings.paragraphs}
    items = (
        df.where(F.col("drop_reason").isNull()).select("_rank", "text", "kind", host_column().alias("host"))
        .mapInArrow(partial(_emit_batches, include_code=settings.include_code, **kw), spark_schema(LINE_ITEM_SCHEMA))
    )
    items = items.localCheckpoint(eager=True)  # hashed once, read by the count and the join
    # an aggregate per hash, not a window: a window would copy each hash's host set into
    # every one of its rows (a cookie banner: millions of rows, each with every host)
    counted = items.groupBy("h").agg(F.count(F.lit(1)).alias("docs"), F.countDistinct("host").alias("hosts"),
                                     F.min("rank").alias("first"))
    if settings.policy == "boilerplate":
        hot = counted.where((F.col("docs") >= settings.min_docs) & (F.col("hosts") >= settings.min_hosts))
        cuts = items.join(hot.select("h"), "h")
    else:
        cuts = items.join(counted.where(F.col("docs") > 1).select("h", "first"), "h").where(F.col("rank") != F.col("first"))
    cuts = cuts.select("h", "rank").localCheckpoint(eager=True)
    schema = arrow_schema_of(df)
    out = apply_cuts(attach_cuts(df, cuts), partial(cut_lines, min_chars_left=settings.min_chars_left, **kw), schema)

    top_rows = (cuts.groupBy("h").agg(F.count(F.lit(1)).alias("count"), F.min("rank").alias("holder"))
                .orderBy(F.desc("count"), F.asc("h")).limit(top).collect())
    counts = {r["h"]: r["count"] for r in top_rows}
    texts = {}
    if counts:  # each line's text, read back from one document that holds it
        holders = sorted({r["holder"] for r in top_rows})
        found = (
            df.where(F.col("_rank").isin(holders)).select("text", "kind")
            .mapInArrow(partial(line_texts, wanted=frozenset(counts), **kw), "h long, line string")
            .groupBy("h").agg(F.min("line").alias("line")).collect()
        )
        texts = {r["h"]: r["line"] for r in found}
    stats = {"policy": settings.policy,
             "top_removed_lines": [{"line": texts.get(h, "?"), "docs": n} for h, n in counts.items()]}
    return out, stats
