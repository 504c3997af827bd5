"""MinHash signatures against datasketch (the reference), shingling across scripts, and the
LSH parameters; plain numpy, no Spark."""

from __future__ import annotations

import random

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH

from stages.minhash import (
    band_buckets,
    batch_shingle_hashes,
    jaccard,
    lsh_params,
    shingle_hash32,
    shingles,
    signatures,
    string_hashes64,
    token_hash64,
    tokens,
)

TEXTS = [
    "The quick brown fox jumps over the lazy dog, again and again; said the man.",
    "東京は日本の首都です。人口は約千四百万人で、hello world",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "สวัสดีครับ ยินดีต้อนรับ",
    "",
    None,
    "two words",
    "ÉCOLE ﬁnale — Straße!",
]


def words(rng: random.Random, n: int) -> list[str]:
    vocab = [f"w{i}" for i in range(5000)]
    return [rng.choice(vocab) for _ in range(n)]


def test_tokens_split_words_and_characters_of_unspaced_scripts():
    assert tokens("Hello, World! Hello-world") == ["hello", "world", "hello", "world"]
    assert tokens("東京は日本") == ["東", "京", "は", "日", "本"]
    assert tokens("ÉCOLE ﬁnale") == ["école", "finale"]  # NFKC, lower-cased
    assert tokens("いい天気 sunny day") == ["い", "い", "天", "気", "sunny", "day"]


@pytest.mark.parametrize("n", [1, 3, 5])
def test_batch_shingle_hashes_equal_the_scalar_reference(n):
    hashes, offsets = batch_shingle_hashes(TEXTS, n)
    assert len(offsets) == len(TEXTS) + 1
    for i, text in enumerate(TEXTS):
        expected = {shingle_hash32(s) for s in shingles(tokens(text or ""), n)}
        assert set(hashes[offsets[i]:offsets[i + 1]].tolist()) == expected, text
    assert offsets[5] == offsets[4] == offsets[6]  # "" and None have no shingles


def test_vectorised_token_hash_equals_the_scalar_one_at_every_length():
    """Word-boundary lengths, multi-byte text, an empty string and a sliced Arrow array."""
    import pyarrow as pa

    rng = random.Random(5)
    toks = ["", "a", "abcdefgh", "abcdefghi", "é" * 4, "x" * 1000] + [
        "".join(rng.choice("ab東é") for _ in range(rng.randint(1, 40))) for _ in range(500)
    ]
    for arr in (pa.array(toks), pa.array(toks).slice(3, 300)):
        assert string_hashes64(arr).tolist() == [token_hash64(t) for t in arr.to_pylist()]
    assert len({token_hash64(t) for t in set(toks)}) == len(set(toks))


def test_signatures_are_identical_to_datasketch_minhash():
    """Same shingles, num_perm and seed: bit-for-bit datasketch's affine32 hash values."""
    rng = random.Random(3)
    texts = TEXTS + [" ".join(words(rng, rng.randint(1, 400))) for _ in range(50)]
    for num_perm, seed in [(128, 1), (64, 42)]:
        hashes, offsets = batch_shingle_hashes(texts, 5)
        sigs = signatures(hashes, offsets, num_perm, seed, chunk_rows=300)  # several chunks
        for i, text in enumerate(texts):
            ref = MinHash(num_perm=num_perm, seed=seed, hashfunc=shingle_hash32)
            ref.update_batch(shingles(tokens(text or ""), 5))
            assert np.array_equal(sigs[i], ref.hashvalues), (num_perm, seed, i)


def test_estimated_jaccard_tracks_true_jaccard():
    rng = random.Random(5)
    base = words(rng, 300)
    texts, truth = [" ".join(base)], []
    for frac in (0.02, 0.05, 0.1, 0.2, 0.4):
        copy = list(base)
        for i in rng.sample(range(len(copy)), int(frac * len(copy))):
            copy[i] = f"x{rng.randrange(10**9)}"
        texts.append(" ".join(copy))
    hashes, offsets = batch_shingle_hashes(texts, 5)
    sigs = signatures(hashes, offsets, 256, 1)
    for i in range(1, len(texts)):
        true = jaccard(hashes[:offsets[1]], hashes[offsets[i]:offsets[i + 1]])
        est = float((sigs[0] == sigs[i]).mean())
        truth.append(true)
        assert abs(est - true) < 0.1, (i, est, true)
    assert truth == sorted(truth, reverse=True) and truth[0] > 0.8 and truth[-1] < 0.2


def test_near_duplicate_chinese_text_shares_buckets_and_unrelated_text_does_not():
    base = "数据去重是构建大规模语料库的重要步骤，它可以删除重复或高度相似的网页，从而提高训练数据的质量和多样性。" * 3
    near = base.replace("重要", "关键", 1)
    other = "今天天气很好，我们去公园散步，看到很多人在放风筝，孩子们在草地上奔跑，非常热闹。" * 3
    hashes, offsets = batch_shingle_hashes([base, near, other], 5)
    assert jaccard(hashes[offsets[0]:offsets[1]], hashes[offsets[1]:offsets[2]]) > 0.8
    keys = band_buckets(signatures(hashes, offsets, 128, 1), *lsh_params(0.6, 128))
    assert (keys[0] == keys[1]).any()
    assert not (keys[0] == keys[2]).any()


def test_lsh_params_are_datasketchs_choice():
    for threshold, weights in [(0.6, (0.5, 0.5)), (0.8, (0.3, 0.7))]:
        index = MinHashLSH(threshold=threshold, num_perm=128, weights=weights)
        assert lsh_params(threshold, 128, *weights) == (index.b, index.r)


def test_band_keys_differ_per_band_and_need_the_whole_band_to_match():
    sig = np.arange(12, dtype=np.uint32).reshape(1, 12)
    other = sig.copy()
    other[0, 5] += 1  # second band of (4 bands x 3 rows) differs
    a, b = band_buckets(sig, 4, 3), band_buckets(other, 4, 3)
    assert a.dtype == np.int64 and len(set(a[0].tolist())) == 4
    assert (a[0] == b[0]).tolist() == [True, False, True, True]
    with pytest.raises(ValueError, match="exceeds num_perm"):
        band_buckets(sig, 5, 3)


def test_manifest_checks_minhash_settings():
    from curator.errors import ManifestError
    from curator.manifest import parse

    def manifest(minhash):
        return {"run": "t", "sources": [{"name": "s", "kind": "code", "inputs": ["."], "domain": "code"}],
                "mixture": {"weights": {"code": 1}}, "dedup": {"minhash": minhash}}

    m = parse(manifest({}), base_dir=".")
    assert (m.dedup.minhash.ngram, m.dedup.minhash.threshold, m.dedup.minhash.verify) == (5, 0.8, True)
    assert m.dedup.url and m.dedup.exact
    with pytest.raises(ManifestError, match="dedup.minhash.*bands.*rows"):
        parse(manifest({"bands": 10}), base_dir=".")
    with pytest.raises(ManifestError, match="exceeds num_perm"):
        parse(manifest({"bands": 20, "rows": 10}), base_dir=".")
    with pytest.raises(ManifestError, match="dedup.minhash.ngrams: unknown key"):
        parse(manifest({"ngrams": 3}), base_dir=".")


def test_pair_jaccard_of_a_whole_batch_equals_the_pairwise_reference():
    import pyarrow as pa

    from stages.dedup_fuzzy import pair_jaccard

    rng = random.Random(7)
    a = [" ".join(words(rng, rng.randint(0, 60))) for _ in range(40)] + ["", "", "one two", TEXTS[1]]
    b = [" ".join(x.split()[: rng.randint(0, 60)] + words(rng, rng.randint(0, 10))) for x in a[:40]]
    b += ["", "three", "one two", TEXTS[1] + "。"]
    batch = pa.RecordBatch.from_pydict({"src": [f"a{i}" for i in range(len(a))], "dst": [f"b{i}" for i in range(len(b))],
                                        "text_a": a, "text_b": b})
    got = pair_jaccard(batch, 5).column("jaccard").to_pylist()
    for i, (x, y) in enumerate(zip(a, b)):
        hx, ox = batch_shingle_hashes([x], 5)
        hy, oy = batch_shingle_hashes([y], 5)
        assert got[i] == pytest.approx(jaccard(hx, hy)), (x, y)
    assert got[40] == 1.0 and got[41] == 0.0 and got[42] == 1.0  # two empty sets count as equal
    assert 0 < got[43] <= 1


def test_a_trailing_newline_never_sticks_to_the_last_token():
    """pyarrow 26's utf8_split_whitespace keeps the "\\n" of "...ab\\n" at some lengths."""
    for i in range(200):
        assert tokens("z" * i + "ab\n") == ["z" * i + "ab"]


def test_batched_token_hashes_equal_the_reference_rule_on_hostile_text():
    """The fast path cuts text at ASCII separators and tokenizes each distinct piece once:
    every separator, Unicode spaces, combining marks after punctuation, mixed scripts."""
    from stages.minhash import batch_token_hashes

    rng = random.Random(3)
    alphabet = ([chr(c) for c in range(128)] + list("éÉ東京はい\u00a0\u3000\u2028—–“”«»…ﬁÄİΣς")
                + ["\u0301", "\u0308", "\u00a8", "\u2260", "\u0338"])
    texts = TEXTS + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 50))) for _ in range(600)]
    hashes, counts = batch_token_hashes(texts)
    expected = [token_hash64(t) for text in texts for t in tokens(text or "")]
    assert counts.tolist() == [len(tokens(text or "")) for text in texts]
    assert hashes.tolist() == expected
