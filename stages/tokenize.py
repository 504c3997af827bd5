"""Tokenization with a `transformers` tokenizer from a local path, once per Python worker."""

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


def load_tokenizer(path: str):
    """AutoTokenizer from a folder, or a fast tokenizer from a bare tokenizer.json."""
    with _LOCK:
        if path in _CACHE:
            return _CACHE[path]
        if not os.path.exists(path):
            raise EnvironmentProblem(
                f"tokenizer not found: {path} (run `curator assets fetch`, or fix tokenizer.path)"
            )
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            if os.path.isfile(path):
                from transformers import PreTrainedTokenizerFast

                tok = PreTrainedTokenizerFast(tokenizer_file=path)
            else:
                from transformers import AutoTokenizer

                tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
        except Exception as e:
            raise EnvironmentProblem(f"cannot load a tokenizer from {path}: {e}") from None
        _CACHE[path] = tok
        return tok


def tokenizer_info(path: str, add_bos: bool, add_eos: bool) -> dict:
    """What shards/manifest.json records about the tokenizer (and what fingerprints it)."""
    tok = load_tokenizer(path)
    files = [path] if os.path.isfile(path) else sorted(
        os.path.join(path, f) for f in os.listdir(path) if not f.startswith(".")
    )
    h = hashlib.sha256()
    for f in files:
        h.update(os.path.basename(f).encode() + b"\0")
        with open(f, "rb") as fh:
            h.update(fh.read())
    if add_eos and tok.eos_token_id is None:
        raise EnvironmentProblem(f"tokenizer {path} has no EOS token; set tokenizer.add_eos: false")
    if add_bos and tok.bos_token_id is None:
        raise EnvironmentProblem(f"tokenizer {path} has no BOS token; set tokenizer.add_bos: false")
    return {
        "path": path,
        "name": getattr(tok, "name_or_path", "") or os.path.basename(path),
        "class": type(tok).__name__,
        "sha256": h.hexdigest(),
        "vocab_size": len(tok),
        "eos_id": tok.eos_token_id if add_eos else None,
        "bos_id": tok.bos_token_id if add_bos else None,
    }


def _tokenize_batches(batches, path: str, bos: int | None, eos: int | None, schema: pa.Schema):
    tok = load_tokenizer(path)
    in_schema = pa.schema([f for f in schema if f.name not in TOKEN_COLUMNS])
    for batch in batches:
        batch = conform(batch, in_schema)
        texts = batch.column("text").to_pylist()
        # split_special_tokens: a page that contains the text "<|endoftext|>" must not forge an EOS.
        ids = tok(texts, add_special_tokens=False, split_special_tokens=True)["input_ids"] if texts else []
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
    fn = partial(_tokenize_batches, path=info["path"], bos=info["bos_id"], eos=info["eos_id"], schema=out_schema)
    return df.mapInArrow(fn, spark_schema(out_schema)), out_schema
