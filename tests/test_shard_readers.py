"""The demo's shards read back by the trainers' own readers: megatron-core IndexedDataset and
GPTDataset, HF `datasets`, array_record + Grain (tf.train.Example parsed by protobuf), numpy
for the OLMo files. Each must see exactly the tokens that re-tokenizing the kept documents
gives, each kept document as many times as the mixture repeats it."""

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


@pytest.mark.parametrize("seq_len", [512, 2048])
def test_every_reader_sees_the_retokenized_documents(shards, retokenized, seq_len):
    import grain
    from datasets import load_dataset

    _, indexed_dataset = _megatron()
    m, _, per_len = shards
    manifest = per_len[seq_len]
    folder = m.run_dir / "shards" / str(seq_len)
    assert manifest["seq_len"] == seq_len and manifest["eos_id"] == 50256
    assert manifest["dtype"] == {"megatron": "uint16", "parquet": "int32", "arrayrecord": "int64", "olmo": "uint32"}
    assert manifest["mixture"]["realised"] and manifest["tokenizer"]["sha256"]
    streams = olmo_streams(folder, manifest, retokenized)
    assert sum(s.size for s in streams) == manifest["tokens"]

    def check_windows(windows: list[np.ndarray], stream: np.ndarray, shard: dict, reader: str):
        assert len(windows) == shard["sequences"], reader
        assert all(w.size == seq_len for w in windows[:-1]) and 0 < windows[-1].size <= seq_len, reader
        np.testing.assert_array_equal(np.concatenate(windows), stream, err_msg=reader)

    # Megatron-Core
    for path, stream, shard in zip(_files(folder, manifest, "megatron"), streams, manifest["shards"]):
        ds = indexed_dataset.IndexedDataset(str(path).removesuffix(".bin"))
        check_windows([np.array(ds[i]) for i in range(len(ds))], stream, shard, "megatron")

    # HF datasets: all shards of this sequence length as one dataset, in shard order
    hf = load_dataset("parquet", data_files=[str(p) for p in _files(folder, manifest, "parquet")],
                      split="train", cache_dir=str(m.run_dir.parent / "hf-cache"))
    rows = [np.array(r) for r in hf["input_ids"]]
    for shard, stream in zip(manifest["shards"], streams):
        check_windows(rows[: shard["sequences"]], stream, shard, "datasets")
        rows = rows[shard["sequences"]:]
    assert rows == []

    # Grain over ArrayRecord, each record parsed as a tf.train.Example by protobuf
    Example = example_class()

    def parse(record: bytes) -> np.ndarray:
        return np.array(Example.FromString(record).features.feature["input_ids"].int64_list.value, np.int64)

    for path, stream, shard in zip(_files(folder, manifest, "arrayrecord"), streams, manifest["shards"]):
        source = grain.sources.ArrayRecordDataSource([str(path)])
        check_windows(list(grain.MapDataset.source(source).map(parse)), stream, shard, "grain")


def test_gpt_dataset_samples_come_from_the_shard(shards, tmp_path):
    """megatron-core's GPTDataset (CPU; its index helpers ship compiled in the wheel) builds
    training samples from our .bin/.idx: each sample is the next seq_len + 1 tokens of the
    shard's sequences in the order its document index gives."""
    from types import SimpleNamespace

    gpt_dataset, indexed_dataset = _megatron()
    from megatron.core.datasets.blended_megatron_dataset_builder import BlendedMegatronDatasetBuilder

    m, top, per_len = shards
    manifest = per_len[512]
    prefix = str(_files(m.run_dir / "shards" / "512", manifest, "megatron")[0]).removesuffix(".bin")
    tok = SimpleNamespace(vocab_size=top["tokenizer"]["vocab_size"], eod=top["eos_id"], pad=top["eos_id"],
                          unique_identifiers={"class": "curator-test"})
    cfg = gpt_dataset.GPTDatasetConfig(
        random_seed=1, sequence_length=512, blend=([prefix], None), split="1,0,0", tokenizer=tok,
        reset_position_ids=False, reset_attention_mask=False, eod_mask_loss=False,
        create_attention_mask=False, path_to_cache=str(tmp_path), mmap_bin_files=True,
    )
    idx = indexed_dataset.IndexedDataset(prefix)
    n = int(idx.sequence_lengths.sum()) // 513
    assert n > 10
    train, _, _ = BlendedMegatronDatasetBuilder(gpt_dataset.GPTDataset, [n, None, None], lambda: True, cfg).build()
    assert len(train) == n
    order = train.document_index
    stream = np.concatenate([np.array(idx[int(d)]) for d in order])
    starts = np.concatenate([[0], np.cumsum(idx.sequence_lengths[order])])
    for i in range(n):
        j = int(train.shuffle_index[i])
        doc, offset = train.sample_index[j]
        begin = starts[doc] + offset
        sample = train[i]
        np.testing.assert_array_equal(sample["tokens"].numpy(), stream[begin : begin + 512])
        np.testing.assert_array_equal(sample["labels"].numpy(), stream[begin + 1 : begin + 513])


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
    assert "--- sequence 0: 512 tokens" in out


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
