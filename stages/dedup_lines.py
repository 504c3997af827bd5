"""Line and paragraph dedup across documents: the cookie banner, the menu, the licence footer.

Each line, and each paragraph of two or more lines (blank-line separated), is normalised as
exact dedup normalises whole texts (stages/dedup_exact.py `normalise`: NFKC, case-folded,
whitespace collapsed) and hashed to 64 bits (stages/dedup_subdoc.py `string_hashes`, over the
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

import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stages.dedup_subdoc import ODD_SPACE, CutBatch, distinct_pairs, string_hashes

LINE_ITEM_SCHEMA = pa.schema([("h", pa.int64()), ("rank", pa.int64()), ("host", pa.int64())])
PARAGRAPH_SALT = "\x00paragraph\x00"


class LineItems:
    """The items of a batch of documents, vectorised with Arrow kernels over all its lines at once
    (a Python loop per line cost more than the rest of the stage): every line whose
    normalised form has at least `min_line_chars` characters, and every paragraph (a run of
    two or more non-blank lines) as the salted normalised lines joined by a space, so the
    same strings `normalise` gives line by line. Per item: `owner` (the document, ascending),
    `start` and `end` (its lines, `text.split("\\n")` indices), `h` (hash, int64) and
    `strings` (an Arrow array). Skipped documents have no items. `line_chars` holds every
    line's normalised length, document `j`'s lines at `line_bounds[j]:line_bounds[j + 1]`."""

    def __init__(self, texts: list, skip: list[bool], min_line_chars: int, paragraphs: bool):
        # NFKC and case folding never join or split lines ("\\n" composes with nothing), so
        # they run once per document; the white-space runs of every line at once
        docs = pa.array([unicodedata.normalize("NFKC", t).casefold() if t and not s else "" for t, s in zip(texts, skip)],
                        pa.string())
        lists = pc.split_pattern(docs, "\n")
        lines = pc.utf8_trim(pc.replace_substring_regex(pc.list_flatten(lists), ODD_SPACE, " "), " ")
        offsets = lists.offsets.to_numpy().astype(np.int64)
        parent = np.repeat(np.arange(len(texts), dtype=np.int64), np.diff(offsets))
        local = np.arange(len(parent), dtype=np.int64) - offsets[parent]
        length = pc.utf8_length(lines).to_numpy(zero_copy_only=False)
        self.line_chars, self.line_bounds = length, offsets  # every line's normalised length
        filled = length > 0
        single = np.flatnonzero(filled & (length >= min_line_chars))
        owner, start, end, strings = [parent[single]], [local[single]], [local[single] + 1], [lines.take(single)]
        if paragraphs:
            first = filled.copy()  # a non-blank line after a blank one or a document's first line
            first[1:] &= ~filled[:-1] | (parent[1:] != parent[:-1])
            rows = np.flatnonzero(filled)
            runs = np.bincount(np.cumsum(first)[rows] - 1)
            heads = np.flatnonzero(first)[runs >= 2]
            offs = np.concatenate(([0], np.cumsum(runs))).astype(np.int32)
            joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offs), lines.take(rows)).filter(runs >= 2), " ")
            owner.append(parent[heads])
            start.append(local[heads])
            end.append(local[heads] + runs[runs >= 2])
            strings.append(pc.binary_join_element_wise(PARAGRAPH_SALT, joined, ""))
        order = np.argsort(np.concatenate(owner), kind="stable")
        self.owner, self.start, self.end = (np.concatenate(x)[order] for x in (owner, start, end))
        self.strings = pa.concat_arrays(strings).take(order)
        self.h = string_hashes(self.strings).view(np.int64)
        self.bounds = np.searchsorted(self.owner, np.arange(len(texts) + 1))

    def of(self, j: int) -> slice:
        """Document `j`'s items."""
        return slice(int(self.bounds[j]), int(self.bounds[j + 1]))


def emit_lines(batch: pa.RecordBatch, min_line_chars: int, paragraphs: bool, include_code: bool):
    """(hash, rank, host hash) of the distinct items of each document of `batch`."""
    skip = [k == "code" and not include_code for k in batch.column("kind").to_pylist()]
    items = LineItems(batch.column("text").to_pylist(), skip, min_line_chars, paragraphs)
    ranks = batch.column("_rank").to_numpy(zero_copy_only=False)
    hosts = string_hashes(pc.fill_null(batch.column("host"), ""))
    h, own = distinct_pairs(items.h.view(np.uint64), items.owner)
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
    items = LineItems(b.texts, skip, min_line_chars, paragraphs)
    starts, ends, hashes = items.start.tolist(), items.end.tolist(), items.h.tolist()
    chars, bounds = items.line_chars.tolist(), items.line_bounds.tolist()
    for j, cut in enumerate(b.cuts):
        if skip[j]:
            continue
        lines = (b.texts[j] or "").split("\n")
        drop = [False] * len(lines)
        wanted = set(cut)
        mine = items.of(j)
        for a, e, h in zip(starts[mine], ends[mine], hashes[mine]):
            if h in wanted:
                drop[a:e] = [True] * (e - a)
        if any(drop):
            kept = "\n".join(line for line, d in zip(lines, drop) if not d).strip("\n")
            left = [n for n, d in zip(chars[bounds[j]:bounds[j + 1]], drop) if n and not d]
            # normalise(kept): the kept lines' normalised forms joined by one space
            b.settle(j, kept, sum(drop), "dedup.lines_too_short", min_chars_left, sum(left) + max(0, len(left) - 1))
    return b.result()


def line_texts(batches, wanted: frozenset, min_line_chars: int, paragraphs: bool):
    """(hash, normalised text) of the items whose hash is in `wanted`, first seen per batch."""
    schema = pa.schema([("h", pa.int64()), ("line", pa.string())])
    for batch in batches:
        texts = batch.column("text").to_pylist()
        items = LineItems(texts, [False] * len(texts), min_line_chars, paragraphs)
        found: dict[int, str] = {}
        for s, h in zip(items.strings.to_pylist(), items.h.tolist()):
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
    from stages.dedup_subdoc import arrow_schema_of, cut_documents, host_column

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
    if settings.policy == "boilerplate":  # every copy goes
        hot = counted.where((F.col("docs") >= settings.min_docs) & (F.col("hosts") >= settings.min_hosts))
        hot = hot.select("h", F.col("docs").alias("cut"), "first")
    else:  # every copy after the first goes
        hot = counted.where(F.col("docs") > 1).select("h", (F.col("docs") - 1).alias("cut"), "first")
    hot = hot.localCheckpoint(eager=True)  # the hashes to cut: read by the cut and the stats
    cuts = items.join(hot, "h")
    if settings.policy != "boilerplate":
        cuts = cuts.where(F.col("rank") != F.col("first"))
    schema = arrow_schema_of(df)
    out = cut_documents(df, cuts, partial(cut_lines, min_chars_left=settings.min_chars_left, **kw), schema)

    # the most cut hashes, each with the number of documents it was cut from and its first holder
    top_rows = hot.orderBy(F.desc("cut"), F.asc("h")).limit(top).collect()
    counts = {r["h"]: r["cut"] for r in top_rows}
    texts: dict[int, str] = {}
    if counts:  # each line's text, read back from one document that holds it
        holders = sorted({r["first"] for r in top_rows})
        found = (
            df.where(F.col("_rank").isin(holders)).select("text", "kind")
            .mapInArrow(partial(line_texts, wanted=frozenset(counts), **kw), "h long, line string").collect()
        )
        for r in found:  # at most `top` documents' rows
            texts[r["h"]] = min(texts.get(r["h"], r["line"]), r["line"])
    stats = {"policy": settings.policy,
             "top_removed_lines": [{"line": texts.get(h, "?"), "docs": n} for h, n in counts.items()]}
    return out, stats
