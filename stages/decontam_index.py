"""The n-gram index of evaluation items: a sorted numpy array of 64-bit hashes, matched per batch.

Words: runs of `\\w` characters of the text, each normalised as exact dedup normalises text
(stages/dedup_exact.normalise: NFKC, case-folded), so casing, punctuation, whitespace and line
breaks do not change them (the GPT-3 recipe: lower-cased words without punctuation). A word's
hash is the first 8 bytes of its BLAKE2b digest; an n-gram's hash folds its words' hashes
(h = h * P + w, modulo 2**64), so the hashes of every window of a batch are n vectorised numpy
steps over the batch's concatenated word hashes, and the lookup is one `np.searchsorted`.

The index is built once on the driver and written as one .npz file (no pickle) that each
Python worker loads once: `hashes` (sorted uint64, one entry per (n-gram, item) pair),
`items` (the item of each entry), the items' benchmarks and ids. There is no Python dict per
worker: 100,000 items of ~100 words take ~9 MB per index copy (the tests measure it).

Short items: an item field is indexed as one text only when it has at least `n` words;
otherwise it is appended to the item's question (a short answer or the choices complete a
question) and that join is indexed if it reaches `n` words. An item still shorter than `n`
words is not indexed (counted as `items_too_short`): a few words or a multiple-choice letter
never match on their own.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stages.dedup_exact import normalise

WORD = re.compile(r"\w+")
P = np.uint64(0x100000001B3)  # the FNV-64 prime: odd, so h -> h * P + w mixes without losing bits
_CACHE: dict[str, int] = {}
_CACHE_MAX = 500_000


def word_hash(word: str) -> int:
    h = _CACHE.get(word)
    if h is None:
        h = int.from_bytes(hashlib.blake2b(normalise(word).encode("utf-8"), digest_size=8).digest(), "little")
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[word] = h
    return h


def word_hashes(text: str) -> list[int]:
    get = _CACHE.get
    return [get(w) or word_hash(w) for w in WORD.findall(text)]


def ngram_hashes(words: np.ndarray, n: int, starts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(hash of every n-word window, its start position) over `words` (uint64), leaving out the
    windows that cross the boundaries given in `starts` (sorted start offsets of documents)."""
    m = len(words) - n + 1
    if m <= 0:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    acc = np.zeros(m, np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            acc = acc * P + words[k:k + m]
    pos = np.arange(m, dtype=np.int64)
    if starts is not None and len(starts) > 1:
        ends = np.append(starts[1:], len(words))  # the end of each position's document
        doc = np.searchsorted(starts, pos, side="right") - 1
        ok = pos + n <= ends[doc]
        return acc[ok], pos[ok]
    return acc, pos


def item_texts(it: dict[str, Any], n: int) -> list[list[str]]:
    """The word lists of one item that are indexed (see the module's rules on short items)."""
    q = WORD.findall(it["question"]) if it.get("question") else []
    choices = " ".join(it.get("choices") or ())
    texts = [q] + [WORD.findall(t) for t in (it.get("passage"), it.get("answer"), choices) if t]
    texts = [t for t in texts if t]
    out = [t for t in texts if len(t) >= n]
    short = [t for t in texts if len(t) < n]
    if short:
        joined = (q if len(q) >= n else []) + [w for t in short for w in t]  # the question, then what completes it
        if len(joined) >= n:
            out.append(joined)
    return out


class Index:
    """The compact index: sorted n-gram hashes with the item each comes from."""

    def __init__(self, hashes: np.ndarray, items: np.ndarray, item_bench: np.ndarray, benchmarks: Sequence[str],
                 ids: Sequence[str], n: int, info: dict[str, Any] | None = None):
        self.hashes, self.items, self.item_bench = hashes, items, item_bench
        self.benchmarks, self.ids, self.n = list(benchmarks), list(ids), n
        self.info = dict(info or {})

    @classmethod
    def build(cls, items: Iterable[dict[str, Any]], n: int) -> Index:
        """One pass over the items: their texts' word hashes concatenated, every n-gram hashed in
        one vectorised step, then sorted by (hash, item) with repeats removed."""
        benchmarks: list[str] = []
        bench_no: dict[str, int] = {}
        ids, item_bench, words, lens, owner_of_text = [], [], [], [], []
        too_short: dict[str, int] = {}
        per_bench: dict[str, int] = {}
        for it in items:
            b = it["benchmark"]
            if b not in bench_no:
                bench_no[b] = len(benchmarks)
                benchmarks.append(b)
            per_bench[b] = per_bench.get(b, 0) + 1
            texts = item_texts(it, n)
            if not texts:
                too_short[b] = too_short.get(b, 0) + 1
                continue
            get = _CACHE.get
            for t in texts:
                w = [get(x) or word_hash(x) for x in t]
                words.extend(w)
                lens.append(len(w))
                owner_of_text.append(len(ids))
            ids.append(f"{it.get('split') or 'test'}/{it['id']}")
            item_bench.append(bench_no[b])
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64) if lens else np.zeros(0, np.int64)
        hashes, pos = ngram_hashes(np.array(words, np.uint64), n, starts)
        owner = np.array(owner_of_text, np.uint32)[np.searchsorted(starts, pos, side="right") - 1] if len(pos) else np.empty(0, np.uint32)
        order = np.lexsort((owner, hashes))
        hashes, owner = hashes[order], owner[order]
        if len(hashes):
            new = np.ones(len(hashes), bool)
            new[1:] = (hashes[1:] != hashes[:-1]) | (owner[1:] != owner[:-1])
            hashes, owner = hashes[new], owner[new]
        info = {"items": per_bench, "items_indexed": len(ids), "items_too_short": too_short}
        return cls(hashes, owner, np.array(item_bench, np.uint16), benchmarks, ids, n, info)

    def without(self, common: np.ndarray) -> Index:
        """The index less the n-grams in `common` (those too common in the training data)."""
        keep = ~np.isin(self.hashes, common)
        info = {**self.info, "ngrams_too_common": int(len(np.unique(common)))}
        return Index(self.hashes[keep], self.items[keep], self.item_bench, self.benchmarks, self.ids, self.n, info)

    @property
    def nbytes(self) -> int:
        return int(self.hashes.nbytes + self.items.nbytes + self.item_bench.nbytes + sum(len(i) + 1 for i in self.ids))

    def to_bytes(self) -> bytes:
        """The index as an .npz file's bytes (no pickle; ids as a JSON list, so any id
        survives, a newline in one included)."""
        import io

        meta = json.dumps({"n": self.n, "benchmarks": self.benchmarks, "info": self.info, "ids": self.ids}).encode()
        buf = io.BytesIO()
        np.savez(buf, hashes=self.hashes, items=self.items, item_bench=self.item_bench,
                 meta=np.frombuffer(meta, np.uint8))
        return buf.getvalue()

    def save(self, path: str | Path) -> None:
        from curator.phases import write_atomic

        write_atomic(Path(path), self.to_bytes())

    @classmethod
    def load(cls, path: str | Path) -> Index:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes())
            return cls(z["hashes"], z["items"], z["item_bench"], meta["benchmarks"], meta["ids"], meta["n"], meta["info"])

    def lookup(self, q: np.ndarray) -> np.ndarray:
        """Per query hash: True when it is in the index."""
        if not len(self.hashes) or not len(q):
            return np.zeros(len(q), bool)
        i = np.searchsorted(self.hashes, q)
        i[i == len(self.hashes)] = 0
        return self.hashes[i] == q

    def items_of(self, q: np.ndarray) -> np.ndarray:
        """The items of the matched hashes `q` (all entries of each)."""
        lo = np.searchsorted(self.hashes, q, "left")
        hi = np.searchsorted(self.hashes, q, "right")
        return np.unique(np.concatenate([self.items[a:b] for a, b in zip(lo, hi)])) if len(q) else np.empty(0, np.uint32)

    def match_batch(self, texts: Sequence[str | None]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per text: (start word positions, hashes) of its windows found in the index (vectorised over
        the whole batch: one hash pass, one searchsorted)."""
        lens, words = [], []
        for t in texts:
            w = word_hashes(t) if t else []
            lens.append(len(w))
            words.extend(w)
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64) if lens else np.zeros(0, np.int64)
        hs, pos = ngram_hashes(np.array(words, np.uint64), self.n, starts)
        hit = self.lookup(hs)
        hpos, hhash = pos[hit], hs[hit]
        doc = np.searchsorted(starts, hpos, side="right") - 1  # ascending: hits come in text order
        cuts = np.searchsorted(doc, np.arange(1, len(texts)))
        return list(zip(np.split(hpos - starts[doc], cuts), np.split(hhash, cuts)))
