"""Repeated spans: passages of at least `min_span_tokens` words copied into several documents.

Words are runs of non-space characters, lower-cased. Every window of `min_span_tokens`
consecutive words of a document gets a 64-bit rolling hash (a polynomial of the words'
`string_hashes` mod 2^64, mixed by fmix64, vectorised over the whole Arrow batch). One
shuffle by window hash finds, for each window, the first document holding it in the survivor
order (stages/dedup_subdoc.py); every other document holding it is told to cut it. A document
then removes every word covered by a window it was told to cut: a copied passage of L >=
`min_span_tokens` words is covered by its L - n + 1 windows, so the whole passage goes,
and an edit at its edges only shortens what is cut. Only documents that share a winnowing
fingerprint (`fingerprints`) with another one emit their windows, so the shuffled rows are a
fraction of the words, and only they meet their cuts (the others pass by unshuffled). Each
maximal run of cut words is one span (`spans_removed`), its characters are counted in
`chars_removed`. No suffix array: the data never has to fit on one machine. A document left
with fewer than `min_chars_left` normalised characters is dropped as `dedup.spans_too_short`.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stages.dedup_subdoc import ODD_SPACE, CutBatch, distinct_pairs, string_hashes
from stages.minhash import fmix64

WORD = re.compile(r"\S+")
_K = np.uint64(0x9E3779B97F4A7C15)


def window_hashes(texts: list[str], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hashes uint64, owner document, start word) of every n-word window of every text."""
    lists = pc.split_pattern(pc.replace_substring_regex(pc.utf8_lower(pa.array([t or "" for t in texts], pa.string())),
                                                        ODD_SPACE, " "), " ")
    flat = pc.list_flatten(lists)
    filled = pc.greater(pc.binary_length(flat), 0)  # white space at either end leaves an empty piece
    words = flat.filter(filled)
    lengths = np.bincount(pc.list_parent_indices(lists).filter(filled).to_numpy(zero_copy_only=False),
                          minlength=len(texts)).astype(np.int64)
    total = int(lengths.sum())
    if total < n:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    th = string_hashes(words)
    ends = np.cumsum(lengths)
    doc_of = np.repeat(np.arange(len(texts)), lengths)
    with np.errstate(over="ignore"):
        acc = th[: total - n + 1].copy()
        for j in range(1, n):
            acc *= _K
            acc += th[j: total - n + 1 + j]
        acc = fmix64(acc)
    starts = np.arange(total - n + 1)
    owner = doc_of[: total - n + 1]
    inside = starts + n <= ends[owner]
    return acc[inside], owner[inside], (starts - (ends - lengths)[owner])[inside]


def fingerprints(texts: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Winnowing (Schleimer et al. 2003): the smallest hash of every w consecutive k-word
    windows, k = ceil(n/2), w = n - k + 1. Two documents sharing n consecutive words share w
    consecutive k-word windows, so the same smallest hash: a document without a fingerprint
    in another document shares no n-word span with it. About 2/(w+1) of the windows."""
    k = (n + 1) // 2
    w = n - k + 1
    h, owner, start = window_hashes(texts, k)
    if len(h) < w:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    mins = np.lib.stride_tricks.sliding_window_view(h, w).min(axis=1)
    # a run of w windows inside one document: its first and last window have the same owner
    inside = owner[: len(h) - w + 1] == owner[w - 1:]
    return mins[inside], owner[: len(h) - w + 1][inside]


def _texts(batch: pa.RecordBatch, include_code: bool) -> list[str]:
    kinds = batch.column("kind").to_pylist()
    return [t if (k != "code" or include_code) else "" for t, k in zip(batch.column("text").to_pylist(), kinds)]


def emit_fingerprints(batch: pa.RecordBatch, n: int, include_code: bool):
    h, owner = distinct_pairs(*fingerprints(_texts(batch, include_code), n))
    return h.view(np.int64), batch.column("_rank").to_numpy(zero_copy_only=False)[owner]


def emit_windows(batch: pa.RecordBatch, n: int, include_code: bool):
    h, owner, _ = window_hashes(_texts(batch, include_code), n)
    h, owner = distinct_pairs(h, owner)
    return h.view(np.int64), batch.column("_rank").to_numpy(zero_copy_only=False)[owner]


def cut_spans(batch: pa.RecordBatch, n: int, min_chars_left: int) -> pa.RecordBatch:
    """Remove from each document the words covered by the windows in its `_cut` list."""
    b = CutBatch(batch, "spans_removed")
    todo = [j for j, cut in enumerate(b.cuts) if cut and b.reasons[j] is None]
    h, owner, start = window_hashes([b.texts[j] for j in todo], n)  # the whole batch at once
    bounds = np.searchsorted(owner, np.arange(len(todo) + 1))
    for t, j in enumerate(todo):
        text = b.texts[j]
        mine = slice(int(bounds[t]), int(bounds[t + 1]))
        hit = start[mine][np.isin(h[mine].view(np.int64), np.array(b.cuts[j], np.int64))]
        if not len(hit):
            continue
        matches = list(WORD.finditer(text))
        covered = np.zeros(len(matches) + 1, np.int64)
        np.add.at(covered, hit, 1)
        np.add.at(covered, hit + n, -1)
        gone = np.cumsum(covered[:-1]) > 0
        pieces, pos, runs, i = [], 0, 0, 0
        while i < len(matches):
            if not gone[i]:
                i += 1
                continue
            k = i
            while k < len(matches) and gone[k]:
                k += 1
            before = text[pos: matches[i].start()]
            end = matches[k].start() if k < len(matches) else len(text)
            # a cut that ran over a line break keeps one, so the next line stays a line
            pieces.append(before + "\n" if "\n" in text[matches[k - 1].end(): end] and not before.endswith("\n")
                          else before)
            pos = end
            runs += 1
            i = k
        pieces.append(text[pos:])
        b.settle(j, "".join(pieces).strip(), runs, "dedup.spans_too_short", min_chars_left)
    return b.result()


def dedup_spans(df, settings):
    """`df` (from `ranked`) with repeated spans cut from all but their first document."""
    from functools import partial

    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from stages.dedup_subdoc import arrow_schema_of, cut_documents, items_frame

    n = settings.min_span_tokens
    # 1. candidates: documents holding a winnowing fingerprint some other document holds too
    prints = items_frame(df, partial(emit_fingerprints, n=n, include_code=settings.include_code))
    holders = F.count(F.lit(1)).over(Window.partitionBy("h"))  # one pass over the fingerprints
    candidates = (prints.withColumn("docs", holders).where(F.col("docs") > 1).select(F.col("rank").alias("_rank"))
                  .distinct().localCheckpoint(eager=True))
    # 2. every n-word window of the candidates only: each window's first holder keeps it
    held = df.join(candidates, "_rank", "left_semi")
    items = items_frame(held, partial(emit_windows, n=n, include_code=settings.include_code))
    first = F.min("rank").over(Window.partitionBy("h"))
    cuts = items.withColumn("first", first).where(F.col("rank") != F.col("first")).select("h", "rank")
    cuts = cuts.localCheckpoint(eager=True)
    # 3. only the candidates meet their cuts; the other documents pass by without a shuffle
    cut = cut_documents(held, cuts, partial(cut_spans, n=n, min_chars_left=settings.min_chars_left),
                        arrow_schema_of(df))
    return df.join(candidates, "_rank", "left_anti").unionByName(cut), {"min_span_tokens": n}
