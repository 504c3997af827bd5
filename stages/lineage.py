"""Lineage of built shards: which document copies each shard holds, where each token range
of each sequence comes from, and where each document came from.

Written by the shards phase beside the shards, one pair of Parquet files per shard and
sequence length, under `<shards>/lineage/<seq_len>/` (outside the folders trainers read):

* `shard-NNNNN.documents.parquet`: one row per document copy, in the shard's order
  (`order`), with its token range in the shard's document stream (`start`, `tokens`: the
  Megatron .bin and the OLMo .npy hold exactly that stream) and its source -- the mixture
  domain, `kind`, `url`, `host`, and `warc_file` + `warc_offset` (web) or `repo`, `path`,
  `blob` (code; the id is `curator.schema.code_doc_id` of the three). The file's key-value
  metadata `curator.stats` holds the shard's packing figures, so a rewritten shard can
  update the manifest's totals without re-packing the others.
* `shard-NNNNN.sequences.parquet`: one row per piece of a packed window (`sequence`,
  `segment` 1.., `document` = the copy's `order`, `offset` in the document, `length`) --
  the windows of the Parquet/ArrayRecord files and, with concat packing, the Megatron
  sequences. (With best_fit Megatron holds one sequence per document: `order`.)

`curator takedown` (curator/takedown.py) reads these to find and rewrite shards.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

DOCUMENTS = pa.schema([
    ("order", pa.int64()), ("id", pa.string()), ("copy", pa.int32()), ("start", pa.int64()),
    ("tokens", pa.int64()), ("domain", pa.string()), ("kind", pa.string()), ("url", pa.string()),
    ("host", pa.string()), ("warc_file", pa.string()), ("warc_offset", pa.int64()), ("repo", pa.string()),
    ("path", pa.string()), ("blob", pa.string()),
])
SEQUENCES = pa.schema([(c, pa.int64()) for c in ("sequence", "segment", "document", "offset", "length")])
SOURCE_FIELDS = ("domain", "kind", "url", "warc_file", "warc_offset", "repo", "path", "blob")
STATS_KEY = b"curator.stats"


_SOURCE_SPEC = (("domain", "domain", "string"), ("kind", "kind", "string"), ("url", "url", "string"),
                ("warc_file", "meta.warc_file", "string"), ("warc_offset", "meta.warc_offset", "long"),
                ("repo", "meta.repo", "string"), ("path", "meta.path", "string"), ("blob", "meta.blob_sha", "string"))


def source_columns(df) -> list:
    """Spark columns of the source fields of `df`'s rows (nulls where `df` lacks them)."""
    from pyspark.sql import functions as F

    names = set(df.columns)
    out = []
    for key, src, cast in _SOURCE_SPEC:
        if src.startswith("meta."):
            col = F.col("meta").getItem(src[5:]) if "meta" in names else F.lit(None)
        else:
            col = F.col(src) if src in names else F.lit(None)
        out.append(col.cast(cast).alias(key))
    return out


def paths(out_dir: str | os.PathLike, seq_len: int, shard_name: str) -> tuple[Path, Path]:
    folder = Path(out_dir) / "lineage" / str(seq_len)
    return folder / f"{shard_name}.documents.parquet", folder / f"{shard_name}.sequences.parquet"


def concat_pieces(lengths: np.ndarray, seq_len: int) -> np.ndarray:
    """(sequence, segment, document, offset, length) rows of the stream of documents of
    `lengths` cut every `seq_len` tokens (concat packing), without building the windows."""
    lengths = np.asarray(lengths, dtype=np.int64)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    keep = lengths > 0
    doc = np.flatnonzero(keep)
    s, e = starts[keep], ends[keep]
    first, last = s // seq_len, (e - 1) // seq_len
    count = last - first + 1
    d = np.repeat(doc, count)
    w = np.repeat(first, count) + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count))
    lo = np.maximum(starts[d], w * seq_len)
    hi = np.minimum(ends[d], (w + 1) * seq_len)
    new_window = np.ones(d.size, dtype=bool)
    new_window[1:] = w[1:] != w[:-1]
    idx = np.arange(d.size)
    segment = idx - np.maximum.accumulate(np.where(new_window, idx, 0)) + 1
    return np.stack([w, segment, d, lo - starts[d], hi - lo], axis=1) if d.size else np.zeros((0, 5), np.int64)


class LineageWriter:
    """Collects one shard's document rows (all its sequence lengths share them) and, per
    sequence length, its best-fit pieces; `close()` writes the files atomically."""

    def __init__(self, out_dir: str, shard_name: str, seq_lens: list[int], best_fit: bool):
        self.out_dir, self.shard_name, self.best_fit = out_dir, shard_name, best_fit
        self.rows: dict[str, list] = {f.name: [] for f in DOCUMENTS}
        self.pieces: dict[int, list[np.ndarray]] = {n: [] for n in seq_lens}
        self._start = 0

    def add_document(self, doc_id: str, n_tokens: int, source: dict) -> None:
        r = self.rows
        r["order"].append(len(r["order"]))
        r["id"].append(doc_id)
        r["start"].append(self._start)
        r["tokens"].append(n_tokens)
        self._start += n_tokens
        for k in ("copy", "host", *SOURCE_FIELDS):
            r[k].append(source.get(k))

    def add_pieces(self, seq_len: int, first_window: int, pieces: np.ndarray) -> None:
        """Best-fit pieces of a batch whose first window is the shard's `first_window`."""
        if len(pieces):
            p = pieces.copy()
            p[:, 0] += first_window
            self.pieces[seq_len].append(p)

    def close(self, stats: dict[int, dict]) -> None:
        from curator.phases import write_atomic

        docs = pa.table(self.rows, schema=DOCUMENTS)
        lengths = np.asarray(self.rows["tokens"], dtype=np.int64)
        for n, parts in self.pieces.items():
            if self.best_fit:
                p = np.concatenate(parts) if parts else np.zeros((0, 5), np.int64)
            else:
                p = concat_pieces(lengths, n)
            seqs = pa.table({c: pa.array(p[:, i]) for i, c in enumerate(SEQUENCES.names)}, schema=SEQUENCES)
            doc_path, seq_path = paths(self.out_dir, n, self.shard_name)
            meta = {STATS_KEY: json.dumps(stats[n], sort_keys=True).encode()}
            write_atomic(doc_path, _parquet_bytes(docs.replace_schema_metadata(meta)))
            write_atomic(seq_path, _parquet_bytes(seqs))


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def read_documents(path: Path) -> tuple[pa.Table, dict]:
    """A shard's document rows and its packing figures (`curator.stats`)."""
    table = pq.read_table(path)
    raw = (table.schema.metadata or {}).get(STATS_KEY)
    return table, (json.loads(raw) if raw else {})
