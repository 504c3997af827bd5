"""Tokenization, once per Python worker: a `transformers` tokenizer from a local folder or
`tokenizer.json`, or a tiktoken encoding from its `.tiktoken` rank file (`tiktoken:cl100k_base`
resolves to the one shipped offline). Both are used through `Tokenizer.encode_batch`, which
never turns text such as "<|endoftext|>" into a special token.
"""

from __future__ import annotations

import hashlib
import os
import threading
from functools import partial

import pyarrow as pa

from curator.errors import EnvironmentProblem
from curator.schema import conform, with_columns

TOKEN_COLUMNS = {"input_ids": pa.list_(pa.int32()), "n_tokens": pa.int64()}
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


def load_tokenizer(path: str) -> Tokenizer:
    """AutoTokenizer from a folder, a fast tokenizer from a bare tokenizer.json, or a
    tiktoken encoding from a `<name>.tiktoken` rank file."""
    with _LOCK:
        if path in _CACHE:
            return _CACHE[path]
        if not os.path.exists(path):
            raise EnvironmentProblem(
                f"tokenizer not found: {path} (run `curator assets fetch`, or fix tokenizer.path)"
            )
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


def load_encoder(path: str):
    """Something with `encode_batch` giving the same ids as `load_tokenizer(path)`, loaded
    as cheaply as possible (tokenizer.json directly when there is one)."""
    with _LOCK:
        key = "encoder:" + path
        if key not in _CACHE:
            file = os.path.join(path, "tokenizer.json") if os.path.isdir(path) else path
            _CACHE[key] = _RustEncoder(file) if file.endswith(".json") and os.path.isfile(file) else None
        enc = _CACHE[key]
    return enc if enc is not None else load_tokenizer(path)


def tokenizer_info(path: str, add_bos: bool, add_eos: bool) -> dict:
    """What shards/manifest.json records about the tokenizer (and what fingerprints it)."""
    tok = load_tokenizer(path)
    files = [path] if os.path.isfile(path) else sorted(
        os.path.join(path, f) for f in os.listdir(path) if not f.startswith(".")
    )
    h = hashlib.sha256()  # a single file: its own sha256; a folder: names and contents
    for f in files:
        if len(files) > 1 or os.path.isdir(path):
            h.update(os.path.basename(f).encode() + b"\0")
        with open(f, "rb") as fh:
            h.update(fh.read())
    if add_eos and tok.eos_token_id is None:
        raise EnvironmentProblem(f"tokenizer {path} has no EOS token; set tokenizer.add_eos: false")
    if add_bos and tok.bos_token_id is None:
        raise EnvironmentProblem(f"tokenizer {path} has no BOS token; set tokenizer.add_bos: false")
    return {
        "path": path,
        "name": tok.name,
        "class": tok.kind,
        "sha256": h.hexdigest(),
        "vocab_size": tok.vocab_size,
        "eos_id": tok.eos_token_id if add_eos else None,
        "bos_id": tok.bos_token_id if add_bos else None,
    }


def _tokenize_batches(batches, path: str, bos: int | None, eos: int | None, schema: pa.Schema):
    tok = load_encoder(path)
    in_schema = pa.schema([f for f in schema if f.name not in TOKEN_COLUMNS])
    for batch in batches:
        batch = conform(batch, in_schema)
        texts = batch.column("text").to_pylist()
        ids = tok.encode_batch(texts)
        ids = [([bos] if bos is not None else []) + x + ([eos] if eos is not None else []) for x in ids]
        empty = [len(t.strip()) == 0 for t in texts]
        reasons = [
            "tokenize.empty" if e else r for e, r in zip(empty, batch.column("drop_reason").to_pylist())
        ]
        cols = {n: batch.column(n) for n in batch.schema.names}
        cols["drop_reason"] = pa.array(reasons, pa.string())
        cols["input_ids"] = pa.array(ids, pa.list_(pa.int32()))
        cols["n_tokens"] = pa.array([len(x) for x in ids], pa.int64())
        yield pa.RecordBatch.from_pydict(cols, schema=schema)


def tokenize(df, arrow_schema: pa.Schema, info: dict):
    from curator.schema import spark_schema

    out_schema = with_columns(arrow_schema, TOKEN_COLUMNS)
    # Tokenizing is CPU-bound: a small input read as one partition would use one core.
    cores = df.sparkSession.sparkContext.defaultParallelism
    if df.rdd.getNumPartitions() < cores:
        df = df.repartition(2 * cores)
    fn = partial(_tokenize_batches, path=info["path"], bos=info["bos_id"], eos=info["eos_id"], schema=out_schema)
    return df.mapInArrow(fn, spark_schema(out_schema)), out_schema
