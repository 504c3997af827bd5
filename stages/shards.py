"""Tokenized shards: a seeded global shuffle, packing (concat or best-fit), one file set per format.

Every (document, copy) gets a shard by the hash of (seed, id, copy) and is ordered inside
its shard by that hash, so a shard's content does not depend on Spark's partitioning, and
each task writes only whole shards, through temporary names (a retried task rewrites the
same bytes). Each sequence length packs the same stream into its own files, in every format
the manifest lists (`stages.shard_writers.WRITERS`), with `stages.packing`'s concat or
best-fit packer; with `shards.stages` each copy goes to one stage's shards instead
(`stages.staging`).
"""

from __future__ import annotations

import json
from array import array
from functools import partial

import numpy as np
import pyarrow as pa

from stages.lineage import SOURCE_FIELDS, LineageWriter, source_columns
from stages.packing import BestFitPacker, ConcatPacker, length_histogram
from stages.shard_writers import WRITERS, WindowPacker

SHARD_META = pa.schema(
    [
        pa.field("seq_len", pa.int64()),
        pa.field("shard", pa.int64()),
        pa.field("documents", pa.int64()),
        pa.field("tokens", pa.int64()),
        pa.field("sequences", pa.int64()),
        pa.field("files", pa.string()),  # JSON: format -> {files, bytes, sha256, dtype}
        pa.field("stats", pa.string()),  # JSON: packing figures (windows, padding, cut, histogram)
    ]
)


def shard_name(shard: int) -> str:
    return f"shard-{shard:05d}"


def _describe(fmt: str, info: dict) -> dict:
    files = [info["bin"], info["idx"]] if fmt == "megatron" else info["files"]
    return {"files": files, "bytes": info["bytes"], "sha256": info["sha256"], "dtype": info["dtype"]}


class _ShardGroup:
    """One shard being written: per sequence length a packer and a writer per format.

    concat: Megatron gets the stream cut into windows (one sequence per window, as
    before); Parquet/ArrayRecord get the same windows with their document boundaries.
    best_fit: Megatron gets one sequence per document (Megatron-Core's GPTDataset builds
    its own samples from documents), Parquet/ArrayRecord the best-fit windows. OLMo always
    gets documents with their offsets."""

    def __init__(self, out_dir: str, shard: int, seq_lens: list[int], vocab_size: int, formats: list[str],
                 packing: dict):
        self.shard, self.documents, self.tokens = shard, 0, 0
        self.best_fit = packing["packing"] == "best_fit"
        self.parts: dict[int, tuple] = {}
        self.writers = []
        self.lengths = array("q")
        self.lineage = LineageWriter(out_dir, shard_name(shard), seq_lens, self.best_fit)
        try:
            for n in seq_lens:
                prefix = f"{out_dir}/{n}/{shard_name(shard)}"
                ws = {}
                for f in formats:
                    packed = f in ("parquet", "arrayrecord")
                    ws[f] = WRITERS[f](prefix, vocab_size, packed=True) if packed else WRITERS[f](prefix, vocab_size)
                    self.writers.append(ws[f])
                if self.best_fit:
                    packer = BestFitPacker(n, pad_id=packing["pad_id"], lookahead=packing["lookahead"])
                else:  # windows built only for a format that stores them with boundaries
                    packer = ConcatPacker(n, pad_id=packing["pad_id"], lookahead=packing["lookahead"],
                                          build="parquet" in ws or "arrayrecord" in ws)
                window_packer = WindowPacker(n) if not self.best_fit and "megatron" in ws else None
                self.parts[n] = (packer, window_packer, ws)
        except BaseException:
            self.abort()
            raise
        self.megatron_sequences = {n: 0 for n in seq_lens}

    def _batch(self, batch, ws, n: int, packer) -> None:
        if batch is None:
            return
        if self.best_fit:
            self.lineage.add_pieces(n, packer.windows - len(batch), batch.pieces)
        for f in ("parquet", "arrayrecord"):
            if f in ws:
                ws[f].add_batch(batch)

    def add(self, ids: np.ndarray, doc_id: str, source: dict | None = None) -> None:
        """One document copy; `source` (copy, host and `stages.lineage.SOURCE_FIELDS`) goes to the lineage."""
        self.lineage.add_document(doc_id, int(ids.size), source or {})
        self.documents += 1
        self.tokens += ids.size
        self.lengths.append(ids.size)
        for n, (packer, window_packer, ws) in self.parts.items():
            if "olmo" in ws:
                ws["olmo"].add_document(ids, doc_id)
            if "megatron" in ws:
                if window_packer is None:
                    ws["megatron"].add(ids)
                    self.megatron_sequences[n] += 1
                else:
                    for window in window_packer.add(ids):
                        ws["megatron"].add(window)
                        self.megatron_sequences[n] += 1
            self._batch(packer.add(ids), ws, n, packer)

    def close(self) -> list[dict]:
        rows = []
        hist = length_histogram(np.frombuffer(self.lengths, dtype=np.int64) if self.lengths else np.zeros(0, np.int64))
        for n, (packer, window_packer, ws) in self.parts.items():
            self._batch(packer.flush(), ws, n, packer)
            if window_packer is not None:
                tail = window_packer.flush()
                if tail is not None:
                    ws["megatron"].add(tail)
                    self.megatron_sequences[n] += 1
            files = {f: _describe(f, w.close()) for f, w in ws.items()}
            stats = {
                "packing": "best_fit" if self.best_fit else "concat", "windows": packer.windows,
                "padding": packer.padding, "documents_fit": packer.documents_fit,
                "documents_cut": packer.documents_cut, "megatron_sequences": self.megatron_sequences[n],
                "length_histogram": hist,
            }
            rows.append({
                "seq_len": n, "shard": self.shard, "documents": self.documents, "tokens": self.tokens,
                "sequences": packer.windows, "files": json.dumps(files, sort_keys=True),
                "stats": json.dumps(stats, sort_keys=True),
            })
        self.lineage.close({r["seq_len"]: json.loads(r["stats"]) for r in rows})
        return rows

    def abort(self) -> None:
        for writer in self.writers:
            writer.abort()


def _sources(batch) -> list[dict]:
    """Per row: its copy number, URL host (web) and source fields, for the lineage."""
    from classifiers.url_blocklist import host_of

    cols = {k: batch.column(k).to_pylist() for k in ("copy", *SOURCE_FIELDS)}
    out = []
    for i in range(batch.num_rows):
        row = {k: v[i] for k, v in cols.items()}
        row["host"] = host_of(row["url"]) or None if row["kind"] == "warc" and row["url"] else None
        out.append(row)
    return out


def _write_partition(batches, out_dir: str, targets: list, vocab_size: int, formats: list[str], packing: dict,
                     fault=(0.0, None)):
    """`targets[shard]` = (sequence lengths, shard number inside its folder)."""
    from curator.faults import maybe_fail

    group: _ShardGroup | None = None
    rows: list[dict] = []
    try:
        for batch in batches:
            shards = batch.column("shard").to_numpy()
            ids = batch.column("input_ids")
            doc_ids = batch.column("id").to_pylist()
            sources = _sources(batch)
            for i in range(batch.num_rows):
                s = int(shards[i])
                if group is None or group.global_shard != s:
                    if group is not None:
                        rows += group.close()
                    seq_lens, local = targets[s]
                    group = _ShardGroup(out_dir, local, seq_lens, vocab_size, formats, packing)
                    group.global_shard = s
                group.add(ids[i].values.to_numpy(zero_copy_only=False), doc_ids[i], sources[i])
        if group is not None:
            rows += group.close()
            group = None
        maybe_fail("shards", fault)  # test switch: the task dies after its shards are written
    except BaseException:
        if group is not None:
            group.abort()
        raise
    yield pa.RecordBatch.from_pylist(rows, schema=SHARD_META)


def write_shards(
    df, out_dir: str, seq_lens: list[int], vocab_size: int, n_shards: int, seed: int,
    formats: list[str] = ("megatron",), packing: dict | None = None, stage_plan=None,
) -> list[dict]:
    """Explode copies, assign shards, sort, write; returns one row per (seq_len, shard) with
    `files` holding what each format wrote and `stats` the packing figures.

    Without `stage_plan` every sequence length gets every copy, in `n_shards` shards; with
    one (stages.staging.StagePlan), each copy goes to one stage and that stage's shards."""
    from pyspark.sql import functions as F

    from curator.schema import spark_schema

    packing = {"packing": "concat", "pad_id": 0, "lookahead": 1024, **(packing or {})}
    copies = df.select("id", "input_ids", "n_tokens", *source_columns(df),
                       F.explode(F.sequence(F.lit(0), F.col("repeats") - 1)).alias("copy"))
    key = F.xxhash64(F.lit(seed), F.col("id"), F.col("copy"))
    copies = copies.withColumn("key", key)
    if stage_plan is None:
        targets = [(list(seq_lens), s) for s in range(n_shards)]
        copies = copies.withColumn("shard", F.pmod(F.col("key"), F.lit(n_shards)))
    else:
        from stages.staging import stage_column

        targets, offsets = [], []
        for n, k in zip(stage_plan.seq_lens, stage_plan.n_shards):
            offsets.append(len(targets))
            targets += [([n], s) for s in range(k)]
        copies = copies.withColumn("stage", stage_column(stage_plan, seed))
        first = F.element_at(F.array(*[F.lit(o) for o in offsets]), F.col("stage") + 1)
        count = F.element_at(F.array(*[F.lit(k) for k in stage_plan.n_shards]), F.col("stage") + 1)
        copies = copies.withColumn("shard", first + F.pmod(F.col("key"), count))
    ordered = copies.repartition(len(targets), "shard").sortWithinPartitions("shard", "key", "id", "copy")
    from curator import faults

    fn = partial(_write_partition, out_dir=out_dir, targets=targets, vocab_size=vocab_size,
                 formats=list(formats), packing=packing, fault=faults.settings())
    meta = ordered.select("shard", "id", "input_ids", "copy", *SOURCE_FIELDS).mapInArrow(fn, spark_schema(SHARD_META)).collect()
    rows = []
    for r in meta:
        d = r.asDict()
        d["files"] = json.loads(d["files"])
        d["stats"] = json.loads(d["stats"])
        rows.append(d)
    return sorted(rows, key=lambda r: (r["seq_len"], r["shard"]))


def summarise(rows: list[dict], seq_len: int) -> dict:
    """Packing figures of one sequence length over its shards: windows, share of padding,
    share of the documents that fit a window yet were cut, the length histogram."""
    stats = [r["stats"] for r in rows]
    windows = sum(s["windows"] for s in stats)
    fit = sum(s["documents_fit"] for s in stats)
    cut = sum(s["documents_cut"] for s in stats)
    padding = sum(s["padding"] for s in stats)
    hist = [sum(col) for col in zip(*(s["length_histogram"] for s in stats))] if stats else []
    return {
        "packing": stats[0]["packing"] if stats else None, "seq_len": seq_len, "windows": windows,
        "padding_tokens": padding, "padding_share": padding / (windows * seq_len) if windows else 0.0,
        "documents_fit": fit, "documents_cut": cut, "documents_cut_share": cut / fit if fit else 0.0,
        "length_histogram": hist,
    }
