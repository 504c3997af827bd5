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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stages.dedup_subdoc import (
    CUT_COL,
    ODD_SPACE,
    casefolded,
    distinct_pairs,
    distinct_string_hashes,
    member_pairs,
    run_starts,
    string_hashes,
    with_placed,
)

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
        docs = casefolded(texts, skip)
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
        self.h = distinct_string_hashes(self.strings).view(np.int64)
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
    cuts = batch.column(CUT_COL)
    skip = (cuts.is_null().to_numpy(zero_copy_only=False)
            | batch.column("drop_reason").is_valid().to_numpy(zero_copy_only=False))
    items = LineItems(batch.column("text").to_pylist(), skip.tolist(), min_line_chars, paragraphs)
    hit = member_pairs(items.owner, items.h, pc.list_parent_indices(cuts).to_numpy(),
                       pc.list_flatten(cuts).to_numpy(zero_copy_only=False))
    return remove_items(batch, items, hit, min_chars_left)


def remove_items(batch: pa.RecordBatch, items: LineItems, hit: np.ndarray, min_chars_left: int) -> pa.RecordBatch:
    """`batch` without the lines its `hit` items cover, over the whole batch at once: each
    changed text is its remaining lines joined by "\\n" (blank ends stripped), kept unless
    fewer than `min_chars_left` normalised characters are left, when the document is dropped
    (`dedup.lines_too_short`) with its text as it came."""
    n_docs, bounds = batch.num_rows, items.line_bounds
    owner = items.owner[hit]
    covered = np.zeros(int(bounds[-1]) + 1, np.int64)
    np.add.at(covered, bounds[owner] + items.start[hit], 1)
    np.add.at(covered, bounds[owner] + items.end[hit], -1)
    drop = np.cumsum(covered[:-1]) > 0
    line_doc = np.repeat(np.arange(n_docs), np.diff(bounds))
    dropped = np.bincount(line_doc, weights=drop, minlength=n_docs).astype(np.int64)
    changed = np.flatnonzero(dropped)
    if not len(changed):
        return with_placed(batch, {})
    left = ~drop & (items.line_chars > 0)  # normalise(kept): the kept lines' forms joined by one space
    n_left = np.bincount(line_doc, weights=left, minlength=n_docs).astype(np.int64)
    left_chars = np.bincount(line_doc, weights=np.where(left, items.line_chars, 0), minlength=n_docs).astype(np.int64)
    short = (left_chars + np.maximum(0, n_left - 1)) < min_chars_left
    go = changed[~short[changed]]
    originals = pc.fill_null(batch.column("text"), "").take(pa.array(go, pa.int64()))
    lines = pc.list_flatten(pc.split_pattern(originals, "\n"))
    sizes = np.diff(bounds)[go]
    ends = np.cumsum(sizes)
    own_lines = np.repeat(bounds[go] - (ends - sizes), sizes) + np.arange(int(ends[-1]) if len(go) else 0)
    if len(lines) != len(own_lines):  # NFKC and case folding never add or remove a "\\n"
        raise AssertionError("line cut: the normalised text has other lines than the text")
    keep = ~drop[own_lines]
    per_doc = np.concatenate(([0], np.cumsum(np.bincount(np.repeat(np.arange(len(go)), sizes), weights=keep,
                                                         minlength=len(go)).astype(np.int64))))
    kept = pc.utf8_trim(pc.binary_join(pa.ListArray.from_arrays(pa.array(per_doc.astype(np.int32)),
                                                                lines.filter(pa.array(keep))), "\n"), "\n")
    removed = (pc.utf8_length(originals).to_numpy(zero_copy_only=False)
               - pc.utf8_length(kept).to_numpy(zero_copy_only=False))
    short_rows = changed[short[changed]]
    counts, chars = (pc.fill_null(batch.column(c), 0).to_numpy(zero_copy_only=False)
                     for c in ("lines_removed_boilerplate", "chars_removed"))
    new = {"text": (go, kept), "drop_reason": (short_rows, pa.array(["dedup.lines_too_short"] * len(short_rows))),
           "lines_removed_boilerplate": (go, pa.array(counts[go] + dropped[go])),
           "chars_removed": (go, pa.array(chars[go] + removed))}
    return with_placed(batch, new)  # the batch's own schema: every slice's result concatenates


def _paragraph_label(s: str) -> str:
    return s.replace(PARAGRAPH_SALT, "[paragraph] ")[:300]


def line_texts(batches, wanted: frozenset, min_line_chars: int, paragraphs: bool):
    """(hash, normalised text) of the items whose hash is in `wanted`, first seen per batch."""
    schema = pa.schema([("h", pa.int64()), ("line", pa.string())])
    for batch in batches:
        texts = batch.column("text").to_pylist()
        items = LineItems(texts, [False] * len(texts), min_line_chars, paragraphs)
        found: dict[int, str] = {}
        for s, h in zip(items.strings.to_pylist(), items.h.tolist()):
            if h in wanted and h not in found:
                found[h] = _paragraph_label(s)
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


def lines_on_driver(batch: pa.RecordBatch, settings, top: int = 20) -> tuple[pa.RecordBatch, dict]:
    """`dedup_lines` in this process for a small run (stages/dedup_subdoc.py `on_driver`):
    `batch` holds every row with `_rank` and `_host`; the same counts, cuts and stats as the
    Spark path. Each document's items are made once for the count and the cut, a slice of
    the documents per core."""
    from stages.dedup_subdoc import doc_slices, in_threads, kept_rows, scatter

    rows, sub = kept_rows(batch)
    if not len(rows):
        return batch, {"policy": settings.policy, "top_removed_lines": []}
    skip = [k == "code" and not settings.include_code for k in sub.column("kind").to_pylist()]
    texts = sub.column("text").to_pylist()
    slices = doc_slices(len(texts))

    def items_of(sl: slice) -> tuple[LineItems, tuple[np.ndarray, np.ndarray]]:
        items = LineItems(texts[sl], skip[sl], settings.min_line_chars, settings.paragraphs)
        return items, distinct_pairs(items.h.view(np.uint64), items.owner)

    parts, pairs = zip(*in_threads(items_of, slices))
    ranks = sub.column("_rank").to_numpy(zero_copy_only=False)
    h = np.concatenate([p[0] for p in pairs]).view(np.int64)
    own = np.concatenate([p[1] + sl.start for p, sl in zip(pairs, slices)])
    hosts = string_hashes(pc.fill_null(sub.column("_host"), ""))[own]
    # per hash, as the Spark aggregate: documents, distinct hosts, first rank
    order = np.lexsort((hosts, h))
    hs, ho = h[order], hosts[order]
    new = run_starts(hs)
    group = np.cumsum(new) - 1
    docs = np.bincount(group)
    n_hosts = np.bincount(group, weights=run_starts(hs, ho)).astype(np.int64)
    first = np.minimum.reduceat(ranks[own][order], np.flatnonzero(new)) if len(hs) else np.zeros(0, np.int64)
    distinct = hs[new]
    if settings.policy == "boilerplate":
        hot = (docs >= settings.min_docs) & (n_hosts >= settings.min_hosts)
        cut_count = docs
    else:
        hot = docs > 1
        cut_count = docs - 1

    def cut(k: int) -> pa.RecordBatch:
        items, sl = parts[k], slices[k]
        at = np.searchsorted(distinct, items.h)  # every item (not only distinct pairs) of a hot hash
        hit = hot[at] if len(distinct) else np.zeros(len(items.h), bool)
        if settings.policy != "boilerplate":  # all but the first copy
            hit &= ranks[sl][items.owner] != first[at]
        return remove_items(sub.slice(sl.start, sl.stop - sl.start), items, hit, settings.min_chars_left)

    done = pa.Table.from_batches(in_threads(cut, list(range(len(parts))))).combine_chunks()
    out = scatter(batch, rows, done.to_batches()[0] if done.num_rows else sub)

    chosen = np.lexsort((distinct[hot], -cut_count[hot]))[:top]  # most cut first, then the hash
    top_h, top_n = distinct[hot][chosen].tolist(), cut_count[hot][chosen].tolist()
    labels = {}
    for x in top_h:
        items = next(it for it in parts if (it.h == x).any())
        labels[x] = _paragraph_label(items.strings[int(np.flatnonzero(items.h == x)[0])].as_py())
    return out, {"policy": settings.policy,
                 "top_removed_lines": [{"line": labels[x], "docs": int(c)} for x, c in zip(top_h, top_n)]}
