"""The demo's best-fit shards read back by the trainers' own readers: megatron-core
IndexedDataset and GPTDataset, HF `datasets`, array_record + Grain (tf.train.Example parsed by
protobuf), numpy for the OLMo files. Each must see exactly the tokens that re-tokenizing the
kept documents gives, each kept document as many times as the mixture repeats it, and the
packed layouts' segment ids and positions must mark exactly those documents."""

from __future__ import annotations

import csv
import gzip
import json
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.test_shard_writers import example_class


def _megatron():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from megatron.core.datasets import gpt_dataset, indexed_dataset
    return gpt_dataset, indexed_dataset


@pytest.fixture(scope="module")
def shards(demo_run):
    m, _, _ = demo_run
    top = json.loads((m.run_dir / "shards" / "manifest.json").read_text())
    assert top["formats"] == ["megatron", "parquet", "arrayrecord", "olmo"]
    per_len = {int(n): json.loads((m.run_dir / "shards" / e["manifest"]).read_text()) for n, e in top["seq_lens"].items()}
    return m, top, per_len


@pytest.fixture(scope="module")
def retokenized(shards):
    """id -> tokens + EOS, re-tokenized here from the text of the documents the mixture kept,
    with transformers directly (not through the pipeline's tokenizer module, which runs GPT-2
    through tiktoken's engine)."""
    from transformers import AutoTokenizer

    from curator.assets import resolve

    m, top, _ = shards
    tok = AutoTokenizer.from_pretrained(resolve(m.tokenizer.path), local_files_only=True)
    assert top["tokenizer"]["spec"] == m.tokenizer.path
    rows = pq.read_table(m.run_dir / "mixed", columns=["id", "repeats", "drop_reason"]).to_pylist()
    kept = [r for r in rows if r["drop_reason"] is None]
    # tokenized and mixed hold ids, not text: the text is the dedup phase's
    deduped = pq.read_table(m.run_dir / "deduped", columns=["id", "text"])
    texts = dict(zip(deduped.column("id").to_pylist(), deduped.column("text").to_pylist()))
    ids = tok([texts[r["id"]] for r in kept], add_special_tokens=False, split_special_tokens=True)["input_ids"]
    eos = top["eos_id"]
    return {r["id"]: np.array(x + [eos]) for r, x in zip(kept, ids)}, Counter({r["id"]: r["repeats"] for r in kept})


def _files(folder: Path, manifest: dict, fmt: str) -> list[Path]:
    return [folder / s["files"][fmt]["files"][0] for s in manifest["shards"]]


def olmo_streams(folder: Path, manifest: dict, retok) -> list[np.ndarray]:
    """Per shard, the OLMo flat file; every document in it checked against re-tokenization."""
    expected, repeats = retok
    seen: Counter = Counter()
    streams = []
    for path in _files(folder, manifest, "olmo"):
        flat = np.fromfile(path, dtype=np.uint32)
        offsets = path.with_name(path.name.removesuffix(".npy") + ".csv.gz")
        with gzip.open(offsets, "rt") as f:
            rows = list(csv.reader(f))
        assert int(rows[0][0]) == 0 and int(rows[-1][1]) == flat.size
        for start, end, doc_id in rows:
            np.testing.assert_array_equal(flat[int(start):int(end)], expected[doc_id])
            seen[doc_id] += 1
        streams.append(flat.astype(np.int64))
    assert seen == +repeats  # every kept copy once, nothing else
    return streams


def expected_pieces(docs: list[np.ndarray], seq_len: int) -> Counter:
    """What best-fit packing must place: each document whole when it fits, else its
    window-sized chunks and its tail -- as a multiset of token tuples."""
    out: Counter = Counter()
    for d in docs:
        for k in range(0, d.size, seq_len):
            out[tuple(d[k : k + seq_len].tolist())] += 1
    return out


def packed_pieces(tokens: np.ndarray, segment_ids: np.ndarray, positions: np.ndarray, seq_len: int, pad_id: int,
                  reader: str) -> Counter:
    """The pieces of packed windows, checking the layout: every window seq_len long, segment
    ids 1, 2, ... then 0 for the padding tail (pad_id there), positions 0.. inside each piece."""
    out: Counter = Counter()
    for t, seg, pos in zip(tokens, segment_ids, positions):
        assert t.size == seq_len and seg.size == seq_len and pos.size == seq_len, reader
        used = int((seg > 0).sum())
        assert (seg[used:] == 0).all() and (t[used:] == pad_id).all() and (pos[used:] == 0).all(), reader
        assert seg[0] == 1 and (np.diff(seg[:used]) >= 0).all() and (np.diff(seg[:used]) <= 1).all(), reader
        for s in range(1, int(seg.max()) + 1):
            idx = np.flatnonzero(seg == s)
            np.testing.assert_array_equal(pos[idx], np.arange(idx.size), err_msg=reader)
            out[tuple(t[idx].tolist())] += 1
    return out


@pytest.mark.parametrize("seq_len", [512, 2048])
def test_every_reader_sees_the_retokenized_documents(shards, retokenized, seq_len):
    """best_fit shards: Megatron holds one sequence per document copy; Parquet (HF datasets)
    and ArrayRecord (Grain) hold windows whose segments are exactly the documents (whole when
    they fit, else window-sized chunks and a tail); OLMo the documents with offsets."""
    import grain
    from datasets import load_dataset

    _, indexed_dataset = _megatron()
    m, _, per_len = shards
    manifest = per_len[seq_len]
    folder = m.run_dir / "shards" / str(seq_len)
    assert manifest["seq_len"] == seq_len and manifest["eos_id"] == 50256 and manifest["packing"] == "best_fit"
    assert manifest["dtype"] == {"megatron": "uint16", "parquet": "int32", "arrayrecord": "int64", "olmo": "uint32"}
    assert manifest["mixture"]["realised"] and manifest["tokenizer"]["sha256"]
    pad = manifest["pad_id"]
    streams = olmo_streams(folder, manifest, retokenized)
    assert sum(s.size for s in streams) == manifest["tokens"]
    expected, repeats = retokenized
    want = expected_pieces([expected[d] for d in repeats.elements()], seq_len)
    stats = manifest["packing_stats"]
    assert stats["documents_cut"] == 0 and stats["windows"] == manifest["sequences"]
    assert stats["padding_tokens"] == manifest["sequences"] * seq_len - manifest["tokens"]

    # Megatron-Core: one sequence per document copy, in the shard's order (the OLMo stream's)
    for path, stream, shard in zip(_files(folder, manifest, "megatron"), streams, manifest["shards"]):
        ds = indexed_dataset.IndexedDataset(str(path).removesuffix(".bin"))
        assert len(ds) == shard["documents"] and (ds.document_indices == np.arange(len(ds) + 1)).all()
        docs = [np.array(ds[i]) for i in range(len(ds))]
        assert all(d[-1] == manifest["eos_id"] for d in docs)
        np.testing.assert_array_equal(np.concatenate(docs), stream)

    # HF datasets: all shards of this sequence length as one dataset, in shard order
    hf = load_dataset("parquet", data_files=[str(p) for p in _files(folder, manifest, "parquet")],
                      split="train", cache_dir=str(m.run_dir.parent / "hf-cache"))
    assert len(hf) == manifest["sequences"]
    got = packed_pieces(np.array(hf["input_ids"]), np.array(hf["segment_ids"]), np.array(hf["positions"]),
                        seq_len, pad, "datasets")
    assert got == want

    # Grain over ArrayRecord, each record parsed as a tf.train.Example by protobuf
    Example = example_class()

    def parse(record: bytes) -> dict:
        f = Example.FromString(record).features.feature
        return {k: np.array(f[k].int64_list.value, np.int64) for k in ("input_ids", "segment_ids", "positions")}

    got = Counter()
    for path, shard in zip(_files(folder, manifest, "arrayrecord"), manifest["shards"]):
        source = grain.sources.ArrayRecordDataSource([str(path)])
        rows = list(grain.MapDataset.source(source).map(parse))
        assert len(rows) == shard["sequences"]
        got += packed_pieces(*(np.stack([r[k] for r in rows]) for k in ("input_ids", "segment_ids", "positions")),
                             seq_len, pad, "grain")
    assert got == want


def test_gpt_dataset_samples_come_from_the_shard(shards, tmp_path):
    """megatron-core's GPTDataset (CPU; its index helpers ship compiled in the wheel) builds
    training samples from our .bin/.idx (one document per sequence): each sample is the next
    seq_len + 1 tokens of the documents in the order its document index gives, and with
    reset_position_ids the positions restart after every EOS."""
    from types import SimpleNamespace

    gpt_dataset, indexed_dataset = _megatron()
    from megatron.core.datasets.blended_megatron_dataset_builder import BlendedMegatronDatasetBuilder

    m, top, per_len = shards
    manifest = per_len[512]
    prefix = str(_files(m.run_dir / "shards" / "512", manifest, "megatron")[0]).removesuffix(".bin")
    eos = top["eos_id"]
    tok = SimpleNamespace(vocab_size=top["tokenizer"]["vocab_size"], eod=eos, pad=eos,
                          unique_identifiers={"class": "curator-test"})
    cfg = gpt_dataset.GPTDatasetConfig(
        random_seed=1, sequence_length=512, blend=([prefix], None), split="1,0,0", tokenizer=tok,
        reset_position_ids=True, reset_attention_mask=False, eod_mask_loss=False,
        create_attention_mask=False, path_to_cache=str(tmp_path), mmap_bin_files=True,
    )
    idx = indexed_dataset.IndexedDataset(prefix)
    assert len(idx) == manifest["shards"][0]["documents"]
    n = int(idx.sequence_lengths.sum()) // 513
    assert n > 10
    train, _, _ = BlendedMegatronDatasetBuilder(gpt_dataset.GPTDataset, [n, None, None], lambda: True, cfg).build()
    assert len(train) == n
    order = train.document_index
    stream = np.concatenate([np.array(idx[int(d)]) for d in order])
    starts = np.concatenate([[0], np.cumsum(idx.sequence_lengths[order])])
    resets = 0
    for i in range(n):
        j = int(train.shuffle_index[i])
        doc, offset = train.sample_index[j]
        begin = starts[doc] + offset
        sample = train[i]
        tokens = sample["tokens"].numpy()
        np.testing.assert_array_equal(tokens, stream[begin : begin + 512])
        np.testing.assert_array_equal(sample["labels"].numpy(), stream[begin + 1 : begin + 513])
        positions = sample["position_ids"].numpy()
        for k in np.flatnonzero(tokens[:-1] == eos):
            assert positions[k + 1] == 0
            resets += 1
    assert resets > 0


def test_inspect_verifies_and_decodes(shards, capsys):
    from curator.cli import main

    m, _, _ = shards
    folder = m.run_dir / "shards"
    assert main(["inspect", str(folder), "-n", "0"]) == 0
    out = capsys.readouterr().out
    assert "ok: 8 shard file sets verified" in out
    assert main(["inspect", str(folder / "512" / "shard-00000.array_record"), "-n", "1"]) == 0
    out = capsys.readouterr().out
    assert "(arrayrecord)" in out and "tokenizer asset:gpt2" in out and "matches" in out
    assert "--- sequence 0: 512 tokens" in out and "documents or pieces" in out and " padding" in out
    assert main(["inspect", str(folder / "512" / "shard-00000.bin"), "-n", "1"]) == 0
    assert "sequences (one per document)" in capsys.readouterr().out


def test_inspect_reports_a_damaged_shard(shards, tmp_path, capsys):
    import shutil

    from curator.cli import main

    m, _, _ = shards
    copy = tmp_path / "shards"
    shutil.copytree(m.run_dir / "shards", copy)
    target = copy / "2048" / "shard-00000.parquet"
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    assert main(["inspect", str(copy / "2048"), "-n", "1"]) == 4
    err = capsys.readouterr().err
    assert err.startswith("curator: error: ") and "shard-00000.parquet" in err and "sha256" in err
    (copy / "512" / "shard-00000.npy").unlink()
    assert main(["inspect", str(copy / "512" / "shard-00000.bin")]) == 4
    err = capsys.readouterr().err
    assert "shard-00000.npy" in err and "missing" in err
    assert main(["inspect", str(tmp_path / "nothing-here")]) == 2
