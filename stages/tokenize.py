"""Tokenization, once per Python worker: a `transformers` tokenizer from a local folder or
`tokenizer.json`, or a tiktoken encoding from its `.tiktoken` rank file (`tiktoken:cl100k_base`
resolves to the one shipped offline). Both are used through `Tokenizer.encode_batch`, which
never turns text such as "<|endoftext|>" into a special token.

Spark workers load only an encoder (`load_encoder`): a `tokenizer.json` that is plain
byte-level BPE (GPT-2's) runs on tiktoken's engine, which gives the same ids several times
faster; ids go into the `list<int32>` column as numpy buffers, and the text is not written.
"""

from __future__ import annotations

import hashlib
import os
import threading
from functools import partial
from itertools import chain

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curator.errors import EnvironmentProblem
from curator.schema import conform, with_columns

TOKEN_COLUMNS = {"input_ids": pa.list_(pa.int32()), "n_tokens": pa.int64(), "n_chars": pa.int64()}
"""What the tokenize phase writes in place of `text`: nothing after it reads the text (mix and
shards use ids, counts and hashes; rejected samples fetch it from the dedup phase by id), and
carrying it would be most of the bytes written and converted."""
_CACHE: dict[str, object] = {}
_LOCK = threading.Lock()


# tiktoken encodings we can build from a rank file alone: split pattern and special tokens
# (as in tiktoken_ext/openai_public.py).
TIKTOKEN_ENCODINGS: dict[str, tuple[str, dict[str, int]]] = {
    "cl100k_base": (
        r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
}


class Tokenizer:
    """The few things the pipeline needs from a tokenizer, whichever library provides it."""

    def __init__(self, impl, kind: str, name: str, vocab_size: int, eos: int | None, bos: int | None):
        self.impl, self.kind, self.name = impl, kind, name
        self.vocab_size, self.eos_token_id, self.bos_token_id = vocab_size, eos, bos

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        if not texts:
            return []
        if self.kind == "tiktoken":
            return [self.impl.encode_ordinary(t) for t in texts]
        backend = self._backend()
        if backend is not None:  # the Rust tokenizer directly, without offsets: ~20% faster
            return [e.ids for e in backend.encode_batch_fast(texts, add_special_tokens=False)]
        # split_special_tokens: a page that contains the text "<|endoftext|>" must not forge an EOS.
        return self.impl(texts, add_special_tokens=False, split_special_tokens=True)["input_ids"]

    def _backend(self):
        """A copy of a fast tokenizer's Rust backend that reads special-token text as text."""
        if not hasattr(self, "_fast"):
            self._fast = None
            b = getattr(self.impl, "backend_tokenizer", None)
            if b is not None and hasattr(b, "encode_batch_fast") and hasattr(b, "encode_special_tokens"):
                from tokenizers import Tokenizer as RustTokenizer

                self._fast = RustTokenizer.from_str(b.to_str())
                self._fast.encode_special_tokens = True
                self._fast.no_truncation()
                self._fast.no_padding()
        return self._fast

    def encode_flat(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        if self.kind == "tiktoken":
            return _tiktoken_flat(self.impl, texts)
        return _flatten(self.encode_batch(texts))

    def decode(self, ids) -> str:
        return self.impl.decode([int(i) for i in ids])


def _load_tiktoken(path: str) -> Tokenizer:
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    name = os.path.basename(path).removesuffix(".tiktoken")
    if name not in TIKTOKEN_ENCODINGS:
        raise EnvironmentProblem(
            f"{path}: unknown tiktoken encoding {name!r}; known: {', '.join(sorted(TIKTOKEN_ENCODINGS))}"
        )
    pattern, special = TIKTOKEN_ENCODINGS[name]
    enc = tiktoken.Encoding(name=name, pat_str=pattern, mergeable_ranks=load_tiktoken_bpe(path), special_tokens=special)
    return Tokenizer(enc, "tiktoken", name, enc.n_vocab, special.get("<|endoftext|>"), None)


def _require(path: str) -> None:
    if not os.path.exists(path):
        raise EnvironmentProblem(f"tokenizer not found: {path} (run `curator assets fetch`, or fix tokenizer.path)")


def load_tokenizer(path: str) -> Tokenizer:
    """AutoTokenizer from a folder, a fast tokenizer from a bare tokenizer.json, or a
    tiktoken encoding from a `<name>.tiktoken` rank file."""
    with _LOCK:
        if path in _CACHE:
            return _CACHE[path]
        _require(path)
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            if path.endswith(".tiktoken"):
                tok = _load_tiktoken(path)
            else:
                if os.path.isfile(path):
                    from transformers import PreTrainedTokenizerFast

                    hf = PreTrainedTokenizerFast(tokenizer_file=path)
                else:
                    from transformers import AutoTokenizer

                    hf = AutoTokenizer.from_pretrained(path, local_files_only=True)
                name = getattr(hf, "name_or_path", "") or os.path.basename(path)
                tok = Tokenizer(hf, type(hf).__name__, name, len(hf), hf.eos_token_id, hf.bos_token_id)
        except EnvironmentProblem:
            raise
        except Exception as e:
            raise EnvironmentProblem(f"cannot load a tokenizer from {path}: {e}") from None
        _CACHE[path] = tok
        return tok


class _RustEncoder:
    """Just the encoder of a `tokenizer.json`, through `tokenizers` alone: what Spark workers
    load, since importing transformers costs a worker seconds (tens under load)."""

    def __init__(self, file: str):
        from tokenizers import Tokenizer as RustTokenizer

        self.impl = RustTokenizer.from_file(file)
        self.impl.encode_special_tokens = True  # "<|endoftext|>" in a page stays text
        self.impl.no_truncation()
        self.impl.no_padding()

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.impl.encode_batch_fast(texts, add_special_tokens=False)] if texts else []


# GPT-2's byte-level pre-tokenizer regex as tiktoken writes it (tiktoken_ext's r50k_pat_str);
# it splits text exactly as `tokenizers`' ByteLevel(use_regex=True) does.
BYTE_LEVEL_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
# Text on which the tiktoken engine must give the same ids as `tokenizers` before it is used.
PROBE = [
    "Hello world, it's 2024: the year's 3.14159 best (really!) -- don't you think?",
    "a page that says <|endoftext|> in its text",
    "Grüße aus 東京 ✓ naïve café — «quotes» ½ ², Ελληνικά, русский, עברית, العربية, हिन्दी, 한국어 😀👍🏽",
    "  leading spaces\n\n\tdef f(x):\r\n    return x  \u00a0nbsp\u2003em space\u3000ideographic   ",
    "trailing whitespace \n\n  ",
    "x" * 300 + " " + "ab" * 200 + " 1234567890123 I'LL WE'VE they're",
]


def _byte_decoder() -> dict[str, int]:
    """Byte-level BPE's printable character for each byte, inverted (GPT-2's bytes_to_unicode)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[chr(b)] = b
        else:
            chars[chr(256 + extra)] = b
            extra += 1
    return chars


def byte_level_ranks(spec: dict) -> dict[bytes, int] | None:
    """tiktoken ranks (token bytes -> id) for a `tokenizer.json` that is plain GPT-2-style
    byte-level BPE, else None.

    Byte-level BPE whose merged tokens have ids in merge order gives the same ids whether
    merges are picked by pair rank (`tokenizers`) or by merged-token id (tiktoken); anything
    else on the way (a normalizer, another pre-tokenizer, non-special added tokens, dropout,
    subword prefixes) could change the ids, so it keeps the `tokenizers` engine.
    """
    model, pre = spec.get("model") or {}, spec.get("pre_tokenizer") or {}
    if (model.get("type") != "BPE" or spec.get("normalizer") is not None or model.get("dropout")
            or model.get("byte_fallback") or model.get("ignore_merges")
            or model.get("continuing_subword_prefix") or model.get("end_of_word_suffix")
            or pre.get("type") != "ByteLevel" or pre.get("add_prefix_space") or not pre.get("use_regex", True)
            or not all(t.get("special") for t in spec.get("added_tokens") or [])):
        return None
    chars, vocab = _byte_decoder(), model.get("vocab") or {}
    try:
        ranks = {bytes([chars[c]]): vocab[c] for c in chars}
        last = -1
        for merge in model.get("merges") or []:
            a, b = merge.split(" ") if isinstance(merge, str) else merge
            token = a + b
            if token not in vocab or vocab[token] <= last:
                return None
            last = vocab[token]
            ranks[bytes(chars[c] for c in token)] = last
    except (KeyError, ValueError, TypeError):
        return None
    return ranks


class _TiktokenBPE:
    """A byte-level BPE `tokenizer.json` run by tiktoken's engine: the same ids as
    `tokenizers` (checked on `PROBE` when loaded), several times faster."""

    def __init__(self, ranks: dict[bytes, int], name: str):
        import tiktoken

        self.impl = tiktoken.Encoding(name, pat_str=BYTE_LEVEL_PATTERN, mergeable_ranks=ranks, special_tokens={})

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [self.impl.encode_ordinary(t) for t in texts]

    def encode_flat(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        return _tiktoken_flat(self.impl, texts)


def _tokenizer_json_encoder(file: str):
    """tiktoken's engine when the file is byte-level BPE and agrees on `PROBE`, else `tokenizers`."""
    import json

    rust = _RustEncoder(file)
    with open(file, encoding="utf-8") as f:
        ranks = byte_level_ranks(json.load(f))
    if ranks is not None:
        fast = _TiktokenBPE(ranks, os.path.basename(os.path.dirname(file)) or "bpe")
        if fast.encode_batch(PROBE) == rust.encode_batch(PROBE):
            return fast
    return rust


def _tiktoken_flat(enc, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """`encode_flat` through tiktoken's numpy buffers: no Python int per token. With nothing
    allowed and nothing disallowed, special-token text is encoded as text (= encode_ordinary)."""
    arrays = [enc.encode_to_numpy(t, allowed_special=set(), disallowed_special=()) for t in texts]
    lengths = np.fromiter(map(len, arrays), np.int64, len(arrays))
    values = np.concatenate(arrays).astype(np.int32) if arrays else np.empty(0, np.int32)
    return values, lengths


def encode_flat(encoder, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """All documents' ids end to end (int32) and each document's length."""
    if hasattr(encoder, "encode_flat"):
        return encoder.encode_flat(texts)
    return _flatten(encoder.encode_batch(texts))


def _flatten(ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.fromiter(map(len, ids), np.int64, len(ids))
    return np.fromiter(chain.from_iterable(ids), np.int32, int(lengths.sum())), lengths


def load_encoder(path: str):
    """Something with `encode_batch` giving the same ids as `load_tokenizer(path)`, loaded
    as cheaply as possible (tokenizer.json directly when there is one)."""
    with _LOCK:
        key = "encoder:" + path
        if key not in _CACHE:
            file = os.path.join(path, "tokenizer.json") if os.path.isdir(path) else path
            is_json = file.endswith(".json") and os.path.isfile(file)
            _CACHE[key] = _tokenizer_json_encoder(file) if is_json else None
        enc = _CACHE[key]
    return enc if enc is not None else load_tokenizer(path)


def tokenizer_info(path: str, add_bos: bool, add_eos: bool) -> dict:
    """What shards/manifest.json records about the tokenizer (and what fingerprints it)."""
    _require(path)
    files = [path] if os.path.isfile(path) else sorted(
        os.path.join(path, f) for f in os.listdir(path) if not f.startswith(".")
    )
    h = hashlib.sha256()  # a single file: its own sha256; a folder: names and contents
    for f in files:
        if len(files) > 1 or os.path.isdir(path):
            h.update(os.path.basename(f).encode() + b"\0")
        with open(f, "rb") as fh:
            h.update(fh.read())
    about = _described(path, h.hexdigest())
    if add_eos and about["eos_id"] is None:
        raise EnvironmentProblem(f"tokenizer {path} has no EOS token; set tokenizer.add_eos: false")
    if add_bos and about["bos_id"] is None:
        raise EnvironmentProblem(f"tokenizer {path} has no BOS token; set tokenizer.add_bos: false")
    return {
        "path": path,
        "name": about["name"],
        "class": about["class"],
        "sha256": h.hexdigest(),
        "vocab_size": about["vocab_size"],
        "eos_id": about["eos_id"] if add_eos else None,
        "bos_id": about["bos_id"] if add_bos else None,
        "pad_id": about["pad_id"],  # the default padding of best_fit shards
    }


def _described(path: str, digest: str) -> dict:
    """Name, class, vocabulary size and special ids of the tokenizer at `path` whose files
    hash to `digest`: loaded with transformers once, then kept in the assets cache under
    that digest, the path and transformers' version. A run describes its tokenizer while
    Spark starts, and transformers' import (about 3 CPU-s) slowed that start by 1.4 s on two
    cores; the cache is only read back when it holds exactly these fields."""
    import json
    from importlib import metadata

    from curator.assets import cache_dir
    from curator.errors import ManifestError
    from curator.phases import write_atomic
    from curator.rundir import read_bounded

    try:
        version = metadata.version("transformers")
    except metadata.PackageNotFoundError:
        version = "-"
    key = hashlib.sha256(json.dumps([os.path.abspath(path), digest, version]).encode()).hexdigest()
    cached = cache_dir() / ".tokenizers" / f"{key}.json"
    fields = ("name", "class", "vocab_size", "eos_id", "bos_id", "pad_id")
    try:  # a cached file that is too large, not a regular file or not these fields: described again
        about = json.loads(read_bounded(cached, 4096))
        if isinstance(about, dict) and set(about) == set(fields):
            return about
    except (OSError, ValueError, ManifestError):
        pass
    tok = load_tokenizer(path)
    about = {"name": tok.name, "class": tok.kind, "vocab_size": tok.vocab_size, "eos_id": tok.eos_token_id,
             "bos_id": tok.bos_token_id, "pad_id": getattr(tok.impl, "pad_token_id", None)}
    try:
        write_atomic(cached, json.dumps(about))
    except OSError:  # a read-only cache: described again next time
        pass
    return about


def with_specials(values: np.ndarray, lengths: np.ndarray, bos: int | None, eos: int | None) -> pa.ListArray:
    """The `list<int32>` column: each document's ids with BOS/EOS around them, built from the
    flat ids and offsets (numpy), not from one Python list per document."""
    extra = (bos is not None) + (eos is not None)
    sizes = lengths + extra
    offsets = np.zeros(len(sizes) + 1, np.int64)
    np.cumsum(sizes, out=offsets[1:])
    if extra:
        out = np.empty(int(offsets[-1]), np.int32)
        body = np.ones(out.size, bool)
        if bos is not None:
            out[offsets[:-1]] = bos
            body[offsets[:-1]] = False
        if eos is not None:
            out[offsets[1:] - 1] = eos
            body[offsets[1:] - 1] = False
        out[body] = values
        values = out
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(values, pa.int32()))


def _tokenize_batches(batches, path: str, bos: int | None, eos: int | None, in_schema: pa.Schema, schema: pa.Schema):
    tok = load_encoder(path)
    for batch in batches:
        batch = conform(batch, in_schema)
        texts = batch.column("text").to_pylist()
        values, lengths = encode_flat(tok, texts)
        ids = with_specials(values, lengths, bos, eos)
        empty = pa.array([not t.strip() for t in texts], pa.bool_())
        cols = {n: batch.column(n) for n in schema.names if n in batch.schema.names}
        cols["drop_reason"] = pc.if_else(empty, pa.scalar("tokenize.empty", pa.string()), batch.column("drop_reason"))
        cols["input_ids"] = ids
        cols["n_tokens"] = pc.list_value_length(ids).cast(pa.int64())
        cols["n_chars"] = pc.utf8_length(batch.column("text")).cast(pa.int64())
        yield pa.RecordBatch.from_pydict(cols, schema=schema)


def tokenize(df, arrow_schema: pa.Schema, info: dict):
    from curator.schema import spark_schema

    out_schema = with_columns(pa.schema([f for f in arrow_schema if f.name != "text"]), TOKEN_COLUMNS)
    # Tokenizing is CPU-bound: a small input read as one partition would use one core.
    cores = df.sparkSession.sparkContext.defaultParallelism
    if df.rdd.getNumPartitions() < cores:
        df = df.repartition(2 * cores)
    fn = partial(_tokenize_batches, path=info["path"], bos=info["bos_id"], eos=info["eos_id"],
                 in_schema=arrow_schema, schema=out_schema)
    return df.mapInArrow(fn, spark_schema(out_schema)), out_schema
