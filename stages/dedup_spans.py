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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stages.dedup_subdoc import (
    CUT_COL,
    ODD_SPACE,
    WHITE_SPACE,
    CutBatch,
    distinct_pairs,
    distinct_string_hashes,
    member_pairs,
    run_starts,
)
from stages.minhash import fmix64

_K = np.uint64(0x9E3779B97F4A7C15)
_K_INV = np.uint64(pow(0x9E3779B97F4A7C15, -1, 1 << 64))


def word_hashes(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(hash of every word, uint64; the number of words of each text): words are the
    lower-cased runs of non-white-space characters, as `str.split()` finds them."""
    lists = pc.split_pattern(pc.replace_substring_regex(pc.utf8_lower(pa.array([t or "" for t in texts], pa.string())),
                                                        ODD_SPACE, " "), " ")
    flat = pc.list_flatten(lists)
    filled = pc.greater(pc.binary_length(flat), 0)  # white space at either end leaves an empty piece
    lengths = np.bincount(pc.list_parent_indices(lists).filter(filled).to_numpy(zero_copy_only=False),
                          minlength=len(texts)).astype(np.int64)
    return distinct_string_hashes(flat.filter(filled)), lengths


def windows(th: np.ndarray, lengths: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hashes uint64, owner text, start word) of every n-word window, from `word_hashes`."""
    total = int(lengths.sum())
    if total < n:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    ends = np.cumsum(lengths)
    acc = fmix64(rolling_sums(th, n))
    starts = np.arange(total - n + 1)
    owner = np.repeat(np.arange(len(lengths)), lengths)[: total - n + 1]
    inside = starts + n <= ends[owner]
    return acc[inside], owner[inside], (starts - (ends - lengths)[owner])[inside]


def window_hashes(texts: list[str], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hashes uint64, owner document, start word) of every n-word window of every text."""
    return windows(*word_hashes(texts), n)


def rolling_sums(th: np.ndarray, n: int) -> np.ndarray:
    """sum_j th[i + j] * K^(n-1-j) mod 2^64 for every window i of n values (the polynomial a
    loop of n multiply-adds gives), from prefix sums in O(len) steps whatever n: with K odd,
    the window is K^(i+n-1) * (S[i+n] - S[i]), S the prefix sums of th[t] * K^-t."""
    total = len(th)
    m = total - n + 1
    with np.errstate(over="ignore"):
        power = np.full(total, _K, np.uint64)
        power[0] = 1
        np.multiply.accumulate(power, out=power)  # K^t, wrapping mod 2^64
        inverse = np.full(total, _K_INV, np.uint64)
        inverse[0] = 1
        np.multiply.accumulate(inverse, out=inverse)  # K^-t
        prefix = np.zeros(total + 1, np.uint64)
        np.cumsum(th * inverse, out=prefix[1:])
        return power[n - 1:] * (prefix[n: n + m] - prefix[:m])


def fingerprints(texts: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Winnowing (Schleimer et al. 2003): the smallest hash of every w consecutive k-word
    windows, k = ceil(n/2), w = n - k + 1. Two documents sharing n consecutive words share w
    consecutive k-word windows, so the same smallest hash: a document without a fingerprint
    in another document shares no n-word span with it. About 2/(w+1) of the windows."""
    return fingerprints_of(*word_hashes(texts), n)


def fingerprints_of(th: np.ndarray, lengths: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """`fingerprints` from `word_hashes`."""
    k = (n + 1) // 2
    w = n - k + 1
    h, owner, _ = windows(th, lengths, k)
    if len(h) < w:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    mins = sliding_min(h, w)
    # a run of w windows inside one document: its first and last window have the same owner
    inside = owner[: len(h) - w + 1] == owner[w - 1:]
    return mins[inside], owner[: len(h) - w + 1][inside]


def sliding_min(x: np.ndarray, w: int) -> np.ndarray:
    """The minimum of every w consecutive values (van Herk / Gil-Werman: a running minimum
    forward and one backward within blocks of w, so a few passes whatever w)."""
    m = len(x) - w + 1
    blocks = -(-len(x) // w)
    padded = np.full(blocks * w, np.iinfo(x.dtype).max, x.dtype)
    padded[: len(x)] = x
    grid = padded.reshape(blocks, w)
    forward = np.minimum.accumulate(grid, axis=1).ravel()
    backward = np.minimum.accumulate(grid[:, ::-1], axis=1)[:, ::-1].ravel()
    return np.minimum(backward[:m], forward[w - 1: w - 1 + m])


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
    cuts = batch.column(CUT_COL)
    todo = np.flatnonzero(cuts.is_valid().to_numpy(zero_copy_only=False)
                          & batch.column("drop_reason").is_null().to_numpy(zero_copy_only=False))
    texts = batch.column("text").to_pylist()
    h, owner, start = window_hashes([texts[j] for j in todo], n)  # the whole batch at once
    parent = pc.list_parent_indices(cuts).to_numpy()
    mine = np.isin(parent, todo)  # not the lists of documents dropped already
    hit = member_pairs(owner, h.view(np.int64), np.searchsorted(todo, parent[mine]),
                       pc.list_flatten(cuts).to_numpy(zero_copy_only=False)[mine])
    return cut_words(batch, todo, owner[hit], start[hit], n, min_chars_left)


_SPACE = np.zeros(0x3002, bool)
_SPACE[WHITE_SPACE] = True  # what str.isspace() and re's \\s know; none above U+3000


def word_spans(text: str) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) code point offsets of the words of `text`, as `re.finditer(r"\\S+")` gives
    them, from a white-space mask of the whole text at once."""
    points = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    word = ~_SPACE[np.minimum(points, 0x3001)]
    edges = np.diff(np.concatenate(([False], word, [False])).astype(np.int8))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def cut_words(batch: pa.RecordBatch, todo: np.ndarray, owner: np.ndarray, start: np.ndarray, n: int,
              min_chars_left: int) -> pa.RecordBatch:
    """`batch` with the words of the hit windows (`start` word of document `todo[owner]`, `n`
    words each) removed; each maximal run of removed words is one span. The words of all the
    hit documents are found at once (their texts joined by a line break, which no word
    crosses); only the cut runs take a Python step each."""
    b = CutBatch(batch, "spans_removed")
    docs = np.unique(owner)
    if not len(docs):
        return b.result()
    texts = [b.texts[int(todo[t])] for t in docs]
    sizes = np.array([len(t) for t in texts], np.int64)
    base = np.concatenate(([0], np.cumsum(sizes + 1)))[:-1]  # each text's first code point
    first, last = word_spans("\n".join(texts))
    word_base = np.searchsorted(first, np.concatenate((base, [base[-1] + sizes[-1] + 1])))
    hit = word_base[np.searchsorted(docs, owner)] + start
    covered = np.zeros(len(first) + 1, np.int64)
    np.add.at(covered, hit, 1)
    np.add.at(covered, hit + n, -1)
    gone = np.cumsum(covered[:-1]) > 0
    edge = np.zeros(len(first) + 1, bool)
    edge[word_base] = True  # a run never goes on into the next text
    runs = np.flatnonzero(gone & (edge[:-1] | ~np.concatenate(([False], gone[:-1]))))
    ends = np.flatnonzero(gone & (edge[1:] | ~np.concatenate((gone[1:], [False])))) + 1
    of_doc = np.searchsorted(word_base, runs, "right") - 1
    bounds = np.searchsorted(of_doc, np.arange(len(docs) + 1))
    first, last, runs, ends = first.tolist(), last.tolist(), runs.tolist(), ends.tolist()
    for d, text in enumerate(texts):
        at, stop = int(base[d]), int(word_base[d + 1])
        pieces, pos = [], 0
        for i, k in zip(runs[bounds[d]: bounds[d + 1]], ends[bounds[d]: bounds[d + 1]]):
            before = text[pos: first[i] - at]
            end = first[k] - at if k < stop else len(text)
            # a cut that ran over a line break keeps one, so the next line stays a line
            pieces.append(before + "\n" if "\n" in text[last[k - 1] - at: end] and not before.endswith("\n")
                          else before)
            pos = end
        pieces.append(text[pos:])
        b.settle(int(todo[docs[d]]), "".join(pieces).strip(), int(bounds[d + 1] - bounds[d]),
                 "dedup.spans_too_short", min_chars_left)
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


def spans_on_driver(batch: pa.RecordBatch, settings) -> tuple[pa.RecordBatch, dict]:
    """`dedup_spans` in this process for a small run (stages/dedup_subdoc.py `on_driver`): the
    same candidates, first holders and cuts as the Spark path."""
    from stages.dedup_subdoc import doc_slices, in_threads, kept_rows, scatter

    n = settings.min_span_tokens
    rows, sub = kept_rows(batch)
    texts = _texts(sub, settings.include_code)
    slices = doc_slices(len(texts))

    def part(sl: slice):  # words hashed once, for both window sizes; a slice of the documents per core
        th, lengths = word_hashes(texts[sl])
        h, owner = distinct_pairs(*fingerprints_of(th, lengths, n))
        return th, lengths, h, owner + sl.start

    parts = in_threads(part, slices)
    th, lengths, h, owner = (np.concatenate([p[i] for p in parts]) for i in range(4))
    order = np.argsort(h, kind="stable")
    group = np.cumsum(run_starts(h[order])) - 1
    # candidates: documents holding a fingerprint another document holds too
    candidates = np.unique(owner[order][np.bincount(group)[group] > 1]) if len(h) else np.zeros(0, np.int64)
    if not len(candidates):
        return batch, {"min_span_tokens": n}
    by_rank = sub.column("_rank").to_numpy(zero_copy_only=False)[candidates]
    candidates = candidates[np.argsort(by_rank, kind="stable")]  # in the survivor order
    held = sub.take(pa.array(candidates))
    ranks = held.column("_rank").to_numpy(zero_copy_only=False)
    sizes, ends = lengths[candidates], np.cumsum(lengths)
    own_words = np.repeat(ends[candidates] - sizes - np.cumsum(sizes) + sizes, sizes) + np.arange(int(sizes.sum()))
    h, owner, start = windows(th[own_words], sizes, n)
    if not len(h):
        return batch, {"min_span_tokens": n}
    order = np.argsort(h, kind="stable")  # holders in the survivor order: each window's first comes first
    new = run_starts(h[order])
    first = np.empty(len(h), np.int64)
    first[order] = ranks[owner][order][np.flatnonzero(new)[np.cumsum(new) - 1]]
    hit = ranks[owner] != first  # every holder of a window but its first
    done = cut_words(held, np.arange(len(candidates)), owner[hit], start[hit], n, settings.min_chars_left)
    return scatter(batch, rows[candidates], done), {"min_span_tokens": n}
