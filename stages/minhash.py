"""MinHash signatures and LSH bands, vectorised with numpy over a whole Arrow batch.

Text -> tokens: NFKC, lower-cased, punctuation (Unicode P*) turned into spaces; a token is a run of
non-space characters, except that every character of a script written without spaces
(Han, Kana, Thai, Lao, Khmer, Myanmar, Tibetan) is a token of its own. So word n-grams for
English or Russian and character n-grams for Chinese or Japanese come out of one rule,
with no language detection. In batches (`batch_token_hashes`) the rule runs once per distinct
piece of text between ASCII separators, which gives the same tokens at half the cost.

Shingles are n-grams of tokens (a document shorter than n tokens is one shingle). Each
distinct token of a batch is hashed once, vectorised over the Arrow string buffer: its UTF-8
bytes as little-endian 64-bit words (zero-padded), folded as h = fmix64(h*K + word) from
h = byte length (a per-token Python hash loop cost as much as all the rest together). A
shingle's hash is a polynomial of its token hashes mod 2^64, mixed by the MurmurHash3 64-bit
finalizer (fmix64) and cut to 32 bits. `shingle_hash32` is the same function one shingle at
a time in plain Python, for tests and for datasketch's `hashfunc`.

Signatures follow datasketch's default "affine32" scheme exactly (fmix32 pre-mix, then
a*h+b mod 2^32 with datasketch's own permutation parameters for the seed), so for the same
shingles, num_perm and seed they equal `datasketch.MinHash(hashfunc=shingle_hash32)`'s
hash values bit for bit. LSH parameters come from datasketch's `_optimal_param`.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

M64 = (1 << 64) - 1
_K = 0x9E3779B97F4A7C15  # odd multiplier of the shingle polynomial (golden ratio)
_BAND_K = 0xC2B2AE3D27D4EB4F
_TOKEN_K = 0x87C37B91114253D5  # multiplier of the token-bytes fold

# Unicode whitespace (the set of Python's str.split) and punctuation: one separator. Arrow's own
# utf8_split_whitespace is not used: pyarrow 26 sometimes keeps a trailing "\n" in the last token.
_SPACE_OR_PUNCT = r"[\p{P}\p{Z}\t-\r\x1c-\x1f\x{85}]"
# Scripts written without spaces between words: one token per character.
_NO_SPACE = r"([\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}])"


def batch_tokens(texts: list[str | None]) -> tuple[pa.Array, np.ndarray]:
    """All tokens of many documents, flat, and each document's token count (see the module
    docstring). NFKC by Python's `unicodedata` (its quick check makes already-normal text,
    most text, 2-3x cheaper than Arrow's kernel); the rest with Arrow compute kernels."""
    arr = pa.array([None if t is None else unicodedata.normalize("NFKC", t) for t in texts], pa.string())
    arr = pc.replace_substring_regex(pc.utf8_lower(arr), _SPACE_OR_PUNCT, " ")
    unspaced = pc.fill_null(pc.match_substring_regex(arr, _NO_SPACE), False)
    if pc.any(unspaced).as_py():  # matching is cheaper than replacing: replace in those only
        arr = pc.replace_with_mask(arr, unspaced, pc.replace_substring_regex(arr.filter(unspaced), _NO_SPACE, " \\1 "))
    lists = pc.split_pattern(arr, " ")
    flat = pc.list_flatten(lists)
    parent = pc.list_parent_indices(lists)
    nonempty = pc.greater(pc.utf8_length(flat), 0)
    flat, parent = flat.filter(nonempty), parent.filter(nonempty)
    counts = np.bincount(parent.to_numpy(zero_copy_only=False), minlength=len(texts)).astype(np.int64)
    return flat, counts


_SEPARATORS = np.zeros(256, bool)
_SEPARATORS[:128] = pc.match_substring_regex(pa.array([chr(c) for c in range(128)]), _SPACE_OR_PUNCT).to_numpy(
    zero_copy_only=False)  # the ASCII characters of the separator class: whitespace and punctuation
"""Bytes at which text can be cut before `batch_tokens`' rule without changing its tokens: each
is a token separator under the rule, and NFKC never composes it with a neighbour (checked for
every code point on either side), so the rule applied to the pieces equals the rule applied to
the whole. In UTF-8 these bytes never occur inside a multi-byte character."""


_SEPARATOR_CHARS = "".join(chr(c) for c in np.flatnonzero(_SEPARATORS))


def _runs(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Each string of an Arrow string array (no nulls) cut before every non-separator byte
    that follows a separator: pieces that start with a run of non-separator bytes and carry
    the separators after it (stripped later, once per distinct piece). Zero-copy: the pieces
    are the array's own bytes with new offsets. Returns the pieces, flat, and each string's
    number of pieces."""
    n = len(arr)
    offs = np.frombuffer(arr.buffers()[1], np.int32)[arr.offset: arr.offset + n + 1]
    lo, hi = int(offs[0]), int(offs[-1])
    if hi == lo:
        return pa.array([], pa.string()), np.zeros(n, np.int64)
    data = np.frombuffer(arr.buffers()[2], np.uint8)[lo:hi]
    sep = _SEPARATORS[data]
    begins = np.empty(len(data), bool)  # a piece starts after a separator or where a string starts
    begins[0] = True
    begins[1:] = sep[:-1]
    rel = offs - lo
    begins[rel[:-1][rel[:-1] < len(data)]] = True
    begins &= ~sep
    starts = np.flatnonzero(begins).astype(np.int32)
    per_doc = np.diff(np.searchsorted(starts, rel))
    if len(starts) == 0:
        return pa.array([], pa.string()), per_doc
    piece_offsets = np.append(starts, np.int32(len(data))) + np.int32(lo)
    pieces = pa.StringArray.from_buffers(len(starts), pa.py_buffer(piece_offsets), arr.buffers()[2])
    return pieces, per_doc


def batch_token_hashes(texts) -> tuple[np.ndarray, np.ndarray]:
    """`token_hash64` of every token of many documents (flat, in document order) and each
    document's token count: the same tokens as `batch_tokens`, about 2x cheaper.

    The text is cut at ASCII separator bytes (see `_SEPARATORS`); `batch_tokens`' rule is
    applied once per distinct piece of the batch (a quarter of the pieces, on web text), and
    an ASCII piece is its own token once lower-cased."""
    arr = texts.cast(pa.string()) if isinstance(texts, pa.Array) else pa.array(texts, pa.string())
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    pieces, pieces_per_doc = _runs(arr)
    encoded = pieces.dictionary_encode()
    distinct = pc.utf8_rtrim(encoded.dictionary, characters=_SEPARATOR_CHARS)
    ascii_ = pc.string_is_ascii(distinct).to_numpy(zero_copy_only=False)
    other = np.flatnonzero(~ascii_)
    per_piece = ascii_.astype(np.int32)  # tokens of each distinct piece
    toks = None
    if len(other):
        toks, counts = batch_tokens(distinct.take(pa.array(other)).to_pylist())
        per_piece[other] = counts
    first = np.zeros(len(distinct) + 1, np.int32)  # each distinct piece's first token below
    np.cumsum(per_piece, out=first[1:])
    hashes = np.empty(first[-1], np.uint64)
    plain = np.flatnonzero(ascii_)
    hashes[first[plain]] = string_hashes64(pc.ascii_lower(distinct.take(pa.array(plain))))
    if toks is not None:
        k = per_piece[other]
        before = np.cumsum(k) - k  # tokens of the earlier non-ASCII pieces
        hashes[np.repeat(first[other] - before, k) + np.arange(len(toks))] = string_hashes64(toks)
    table = pa.ListArray.from_arrays(pa.array(first), pa.array(hashes))  # distinct piece -> its tokens
    expanded = table.take(encoded.indices)
    token_offsets = expanded.offsets.to_numpy()
    bounds = np.zeros(len(arr) + 1, np.int64)
    np.cumsum(pieces_per_doc, out=bounds[1:])
    th = expanded.values.to_numpy()[token_offsets[0]:token_offsets[-1]]
    return th, np.diff(token_offsets[bounds]).astype(np.int64)


def tokens(text: str) -> list[str]:
    """The tokens shingles are made of, for one text."""
    return batch_tokens([text])[0].to_pylist()


def shingles(toks: list[str], n: int) -> list[tuple[str, ...]]:
    """Distinct n-grams of tokens; a document of 1..n-1 tokens is one shingle, none is none."""
    if not toks:
        return []
    if len(toks) < n:
        return [tuple(toks)]
    return list(dict.fromkeys(tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)))


def token_hash64(token: str) -> int:
    """64-bit hash of one token: the scalar reference of `string_hashes64`."""
    data = token.encode("utf-8")
    h = len(data)
    for i in range(0, len(data), 8):
        h = _fmix64_int((h * _TOKEN_K + int.from_bytes(data[i:i + 8], "little")) & M64)
    return h


def _fmix64_int(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & M64
    return h ^ (h >> 33)


def shingle_hash32(shingle: tuple[str, ...]) -> int:
    """32-bit hash of one shingle: the scalar reference of `batch_shingle_hashes`."""
    acc = 0
    for t in shingle:
        acc = (acc * _K + token_hash64(t)) & M64
    return _fmix64_int(acc) >> 32


def fmix64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (datasketch's pre-mix for the affine32 scheme)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def string_hashes64(arr: pa.Array) -> np.ndarray:
    """`token_hash64` of every string of an Arrow string array, as uint64, without a Python
    loop over strings: one vectorised step per 8-byte word position, over the strings that
    still have a word there (sorted longest first, so those are a prefix)."""
    n = len(arr)
    offs = np.frombuffer(arr.buffers()[1], np.int32)[arr.offset: arr.offset + n + 1].astype(np.int64)
    if n == 0:
        return np.zeros(0, np.uint64)
    data = np.zeros(offs[-1] - offs[0] + 8, np.uint8)  # 8 bytes of padding: every word load is in bounds
    if offs[-1] > offs[0]:
        data[:-8] = np.frombuffer(arr.buffers()[2], np.uint8)[offs[0]: offs[-1]]
    words = np.lib.stride_tricks.as_strided(data, shape=(len(data) - 7, 8), strides=(1, 1), writeable=False)
    length = np.diff(offs)
    order = np.argsort(-((length + 7) // 8), kind="stable")
    start, length = offs[:-1][order] - offs[0], length[order]
    h = length.astype(np.uint64)
    k = np.uint64(_TOKEN_K)
    with np.errstate(over="ignore"):
        for j in range(int(length[0] + 7) // 8):
            m = int(np.count_nonzero(length > 8 * j))  # a prefix, by the sort
            w = np.ascontiguousarray(words[start[:m] + 8 * j]).view("<u8")[:, 0]
            rem = length[:m] - 8 * j
            part = rem < 8  # the last word: keep only the string's own bytes
            w[part] &= (np.uint64(1) << (rem[part] * 8).astype(np.uint64)) - np.uint64(1)
            h[:m] = fmix64(h[:m] * k + w)
    out = np.empty(n, np.uint64)
    out[order] = h
    return out


def batch_shingle_hashes(texts, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes of many documents (a list of str/None or an Arrow string array):
    (uint32 hashes, offsets), document i owning hashes[offsets[i]:offsets[i+1]]. Duplicated
    shingles are kept (MinHash ignores them)."""
    th, lengths = batch_token_hashes(texts)
    if len(th) == 0:
        return np.zeros(0, np.uint32), np.zeros(len(texts) + 1, np.int64)

    total = len(th)
    ends = np.cumsum(lengths)
    n_sh = np.where(lengths >= n, lengths - n + 1, np.minimum(lengths, 1))
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(n_sh, out=offsets[1:])
    out = np.empty(offsets[-1], np.uint64)
    k = np.uint64(_K)
    short = np.flatnonzero((lengths > 0) & (lengths < n))
    is_short = np.zeros(offsets[-1], bool)
    is_short[offsets[short]] = True
    with np.errstate(over="ignore"):
        if total >= n:  # every window of n tokens, then those that stay inside one document
            acc = th[: total - n + 1].copy()
            for j in range(1, n):
                acc *= k
                acc += th[j: total - n + 1 + j]
            inside = np.arange(total - n + 1) + n <= np.repeat(ends, lengths)[: total - n + 1]
            out[~is_short] = acc[inside]
        if len(short):  # documents of 1..n-1 tokens: one shingle of all their tokens
            pos, stop = ends[short] - lengths[short], ends[short]
            acc = np.zeros(len(short), np.uint64)
            for j in range(n - 1):
                inside = pos + j < stop
                acc = np.where(inside, acc * k + th[np.minimum(pos + j, total - 1)], acc)
            out[is_short] = acc
        hashes = (fmix64(out) >> np.uint64(32)).astype(np.uint32)
    return hashes, offsets


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutation parameters (a odd, b) for this seed."""
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    return a.astype(np.uint32), b.astype(np.uint32)


EMPTY = np.uint32(0xFFFFFFFF)


def signatures(hashes: np.ndarray, offsets: np.ndarray, num_perm: int, seed: int,
               chunk_rows: int = 1 << 18) -> np.ndarray:
    """MinHash signatures (docs x num_perm, uint32); a document without shingles is all
    0xFFFFFFFF (datasketch's empty value) and should not be banded.

    One permutation at a time over a cache-sized chunk of whole documents, with a segmented
    minimum (`np.minimum.reduceat`): an order of magnitude faster than materialising the
    shingles x permutations matrix."""
    a, b = permutations(num_perm, seed)
    n_docs = len(offsets) - 1
    out = np.full((n_docs, num_perm), EMPTY, np.uint32)
    nonempty = np.flatnonzero(np.diff(offsets) > 0)
    if len(nonempty) == 0:
        return out
    starts = offsets[nonempty]
    with np.errstate(over="ignore"):
        mixed = fmix32(hashes.astype(np.uint32, copy=False))
        i = 0
        while i < len(nonempty):  # chunks of whole documents, ~chunk_rows shingles each
            j = max(int(np.searchsorted(starts, starts[i] + chunk_rows, "left")), i + 1)
            docs = nonempty[i:j]
            lo, hi = offsets[docs[0]], offsets[docs[-1] + 1]
            seg = offsets[docs] - lo
            chunk = mixed[lo:hi]
            tmp = np.empty_like(chunk)
            block = np.empty((num_perm, len(docs)), np.uint32)
            for k in range(num_perm):
                np.multiply(chunk, a[k], out=tmp)
                tmp += b[k]
                block[k] = np.minimum.reduceat(tmp, seg)
            out[docs] = block.T
            i = j
    return out


def band_buckets(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One int64 bucket key per (document, band): a 64-bit hash of the band's index and its
    `rows` signature values. Two documents share a bucket iff the band agrees (up to 2^-64)."""
    if bands * rows > sigs.shape[1]:
        raise ValueError(f"bands*rows = {bands * rows} exceeds num_perm = {sigs.shape[1]}")
    out = np.empty((sigs.shape[0], bands), np.uint64)
    k = np.uint64(_BAND_K)
    with np.errstate(over="ignore"):
        for band in range(bands):
            acc = np.full(sigs.shape[0], band + 1, np.uint64)
            for r in range(rows):
                acc = fmix64(acc * k + sigs[:, band * rows + r].astype(np.uint64))
            out[:, band] = acc
    return out.view(np.int64)


def bucket_stars(bucket: np.ndarray, k1: np.ndarray, k2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Star edges of LSH buckets: for rows (bucket, document key k1:k2), every document of a
    bucket holding more than one is linked to the bucket's smallest key. Returns (src, dst),
    each an (edges, 2) int64 array of keys; a document listed twice in a bucket gives no edge."""
    order = np.lexsort((k2, k1, bucket))
    b, key = bucket[order], np.stack([k1[order], k2[order]], axis=1)
    first = np.ones(len(b), bool)  # the first (smallest) key of each bucket
    first[1:] = b[1:] != b[:-1]
    anchor = np.maximum.accumulate(np.where(first, np.arange(len(b)), 0))
    member = ~first & np.any(key != key[anchor], axis=1)
    return key[anchor[member]], key[member]


@lru_cache(maxsize=32)
def lsh_params(threshold: float, num_perm: int, false_positive_weight: float = 0.5,
               false_negative_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) minimising datasketch's weighted false positive/negative probability."""
    from datasketch.lsh import _optimal_param

    return tuple(_optimal_param(threshold, num_perm, false_positive_weight, false_negative_weight))


def candidate_probability(jaccard: float, bands: int, rows: int) -> float:
    """Chance that two documents of this Jaccard similarity share at least one bucket."""
    return 1.0 - (1.0 - jaccard ** rows) ** bands


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sets of shingle hashes (duplicates ignored)."""
    a, b = np.unique(a), np.unique(b)
    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)
