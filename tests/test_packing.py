"""Best-fit and concat packing (stages/packing.py) checked against the documents they pack,
the packed Parquet/ArrayRecord layout read back, and stage assignment (stages/staging.py)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from stages.packing import BestFitPacker, ConcatPacker, length_histogram


def _docs(seed: int, n: int, mean_log: float = 5.5, cap: int = 20_000) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    lens = np.minimum(rng.lognormal(mean_log, 1.2, n).astype(int) + 1, cap)
    return [rng.integers(1, 50_000, k) for k in lens]


def _pack(packer, docs):
    batches = [packer.add(d) for d in docs] + [packer.flush()]
    batches = [b for b in batches if b is not None]
    return batches


def _rebuild(batches, n_docs):
    """Each document put back together from the pieces, checking segment ids and positions."""
    parts: dict[int, list] = {d: [] for d in range(n_docs)}
    for b in batches:
        for win, seg, doc, offset, length in b.pieces.tolist():
            mask = b.segment_ids[win] == seg
            assert mask.sum() == length
            idx = np.flatnonzero(mask)
            assert idx[-1] - idx[0] + 1 == length  # contiguous
            np.testing.assert_array_equal(b.positions[win][idx], np.arange(length))
            parts[doc].append((offset, b.tokens[win][idx]))
    return {d: np.concatenate([t for _, t in sorted(p, key=lambda x: x[0])]) if p else np.zeros(0, np.int64)
            for d, p in parts.items()}


@pytest.mark.parametrize("seq_len,lookahead", [(64, 1), (256, 7), (2048, 1024)])
def test_best_fit_keeps_every_token_and_never_cuts_a_fitting_document(seq_len, lookahead):
    docs = _docs(seq_len, 600)
    packer = BestFitPacker(seq_len, pad_id=7, lookahead=lookahead, max_open=max(1, lookahead // 2))
    batches = _pack(packer, docs)
    rebuilt = _rebuild(batches, len(docs))
    for i, d in enumerate(docs):
        np.testing.assert_array_equal(rebuilt[i], d)
    pieces = np.concatenate([b.pieces for b in batches])
    per_doc = np.bincount(pieces[:, 2], minlength=len(docs))
    lens = np.array([d.size for d in docs])
    assert (per_doc[lens <= seq_len] == 1).all()  # fitting documents: one piece
    assert (per_doc[lens > seq_len] == -(-lens[lens > seq_len] // seq_len)).all()  # the rest: ceil(n / L)
    tokens = np.concatenate([b.tokens for b in batches])
    seg = np.concatenate([b.segment_ids for b in batches])
    assert tokens.shape[1] == seq_len and (tokens[seg == 0] == 7).all()
    assert packer.padding == int((seg == 0).sum()) and packer.windows == tokens.shape[0]
    assert packer.documents_cut == 0 and packer.documents_fit == int((lens <= seq_len).sum())
    assert packer.windows * seq_len == lens.sum() + packer.padding


def test_best_fit_pads_little_and_concat_cuts_many():
    docs = _docs(1, 5000)
    bf, cc = BestFitPacker(2048), ConcatPacker(2048)
    _pack(bf, docs)
    rebuilt = _rebuild(_pack(cc, docs), len(docs))
    assert all(np.array_equal(rebuilt[i], d) for i, d in enumerate(docs))
    assert bf.padding / (bf.windows * 2048) < 0.005
    assert cc.documents_cut / cc.documents_fit > 0.1  # what best_fit avoids
    assert cc.padding < 2048  # only the last window
    counting = ConcatPacker(2048, build=False)  # what a Megatron-only concat run keeps: the figures
    assert _pack(counting, docs) == []
    assert (counting.windows, counting.padding, counting.documents_cut) == (cc.windows, cc.padding, cc.documents_cut)


def test_best_fit_is_deterministic_and_follows_input_order():
    docs = _docs(3, 800)
    a = np.concatenate([b.tokens for b in _pack(BestFitPacker(512, lookahead=64), docs)])
    b = np.concatenate([b.tokens for b in _pack(BestFitPacker(512, lookahead=64), docs)])
    np.testing.assert_array_equal(a, b)
    c = np.concatenate([b.tokens for b in _pack(BestFitPacker(512, lookahead=64), docs[::-1])])
    assert not np.array_equal(a, c)


def test_lookahead_bounds_memory():
    """Open windows and pending pieces never exceed the bounds, however long the input."""
    packer = BestFitPacker(1024, lookahead=32, max_open=16)
    for d in _docs(4, 3000, mean_log=5.0):
        packer.add(d)
        assert len(packer._pending) < 32 and len(packer._rooms) <= 16 + 32
        assert len(packer._bins) <= 16 + 32


def test_bad_input_is_rejected():
    with pytest.raises(ValueError):
        BestFitPacker(0)
    with pytest.raises(TypeError):
        BestFitPacker(16).add(np.zeros(3, np.float32))
    assert BestFitPacker(16).add(np.zeros(0, np.int64)) is None


def test_length_histogram_bins():
    assert length_histogram(np.array([1, 2, 3, 4, 1023, 1024]))[:11] == [1, 2, 1, 0, 0, 0, 0, 0, 0, 1, 1]


def test_packed_parquet_and_arrayrecord_read_back_with_grain(tmp_path):
    import grain
    import pyarrow.parquet as pq

    from stages.shard_writers import ArrayRecordWriter, ParquetWriter, decode_example

    docs = _docs(5, 300)
    batches = _pack(BestFitPacker(512, pad_id=0), docs)
    with ParquetWriter(str(tmp_path / "s"), 50_000, packed=True) as pw, \
            ArrayRecordWriter(str(tmp_path / "s"), 50_000, packed=True) as aw:
        for b in batches:
            pw.add_batch(b)
            aw.add_batch(b)
    table = pq.read_table(tmp_path / "s.parquet")
    assert table.column_names == ["input_ids", "segment_ids", "positions"]
    source = grain.sources.ArrayRecordDataSource([str(tmp_path / "s.array_record")])
    records = [decode_example(r) for r in grain.MapDataset.source(source)]
    tokens = np.concatenate([b.tokens for b in batches])
    seg = np.concatenate([b.segment_ids for b in batches])
    pos = np.concatenate([b.positions for b in batches])
    for name, want in (("input_ids", tokens), ("segment_ids", seg), ("positions", pos)):
        np.testing.assert_array_equal(np.array(table.column(name).to_pylist()), want)
        np.testing.assert_array_equal(np.stack([r[name] for r in records]), want)


def test_length_curriculum_boundaries():
    from stages.staging import length_boundaries

    rows = [(10, 100), (20, 200), (30, 300), (40, 400)]  # 1000 tokens
    # shares 0.3 / 0.7: the first 300 tokens are lengths 10 and 20, so the cut is at 30, none below
    assert length_boundaries(rows, [0.3, 0.7]) == [(30, 0.0)]
    (length, below), = length_boundaries(rows, [0.45, 0.55])
    assert length == 30 and below == pytest.approx(0.5)


def _read_stage(folder, seq_len: int) -> list[np.ndarray]:
    """Documents of one stage's OLMo shards."""
    import csv
    import gzip

    docs = []
    for npy in sorted((folder / str(seq_len)).glob("shard-*.npy")):
        flat = np.fromfile(npy, dtype=np.uint32)
        with gzip.open(str(npy).removesuffix(".npy") + ".csv.gz", "rt") as f:
            docs += [flat[int(a):int(b)] for a, b, _ in csv.reader(f)]
    return docs


@pytest.mark.parametrize("curriculum", ["random", "length"])
def test_stages_split_the_copies_without_repeating_a_document(spark, tmp_path, curriculum):
    from curator.manifest import ShardSettings
    from stages.mix import shard_count
    from stages.shards import write_shards
    from stages.staging import plan_stages

    docs = _docs(11, 400, mean_log=5.0, cap=3000)
    rows = [(f"d{i}", [int(x) for x in d], int(d.size), 2 if i % 5 == 0 else 1) for i, d in enumerate(docs)]
    df = spark.createDataFrame(rows, "id string, input_ids array<int>, n_tokens int, repeats int")
    total = sum(r[2] * r[3] for r in rows)
    cfg = ShardSettings(stages=[{"seq_len": 256, "fraction": 0.6}, {"seq_len": 1024, "fraction": 0.4}],
                        formats=["olmo", "parquet"], tokens_per_shard=20_000, packing="best_fit", curriculum=curriculum)
    plan = plan_stages(df, cfg, total, shard_count)
    assert plan.seq_lens == [256, 1024] and sum(plan.n_shards) >= 2
    out = tmp_path / "shards"
    meta = write_shards(df, str(out), cfg.seq_lens, 50_000, 0, 3, cfg.formats,
                        packing={"packing": "best_fit", "pad_id": 0, "lookahead": 64}, stage_plan=plan)
    assert {r["seq_len"] for r in meta} == {256, 1024}
    short, long = _read_stage(out, 256), _read_stage(out, 1024)
    seen = Counter(tuple(d.tolist()) for d in short + long)
    assert seen == Counter(tuple(d.tolist()) for r in rows for d in [np.array(r[1])] * r[3])  # every copy once
    once = {tuple(d.tolist()) for r in rows if r[3] == 1 for d in [np.array(r[1])]}
    assert not once & {tuple(d.tolist()) for d in short} & {tuple(d.tolist()) for d in long}
    share = sum(d.size for d in short) / total
    assert 0.45 < share < 0.75
    if curriculum == "length":  # the long stage holds the longest documents
        assert max(d.size for d in short) <= min(d.size for d in long)
    assert all(r["stats"]["documents_cut"] == 0 for r in meta)


def test_manifest_stage_settings():
    from pydantic import ValidationError

    from curator.manifest import ShardSettings

    s = ShardSettings(stages=[{"seq_len": 2048, "tokens": 8}, {"seq_len": 4096, "tokens": 1}, {"seq_len": 8192, "tokens": 1}])
    assert s.seq_lens == [2048, 4096, 8192] and s.packing == "concat"
    for bad in ([{"seq_len": 2048}], [{"seq_len": 2048, "tokens": 1, "fraction": 0.5}],
                [{"seq_len": 2048, "tokens": 1}, {"seq_len": 4096, "fraction": 0.5}],
                [{"seq_len": 2048, "fraction": 0.7}, {"seq_len": 4096, "fraction": 0.7}]):
        with pytest.raises(ValidationError):
            ShardSettings(stages=bad)
    with pytest.raises(ValidationError, match="not both"):
        ShardSettings(seq_lens=[512], stages=[{"seq_len": 2048, "tokens": 1}])
    with pytest.raises(ValidationError):
        ShardSettings(packing="first_fit")


def test_mix_plan_shows_the_stages(tmp_path, capsys):
    import copy
    import json

    import yaml

    from curator.cli import main
    from tests.test_manifest_limits import BASE, write

    data = copy.deepcopy(BASE)
    data["shards"].pop("seq_lens")
    data["shards"].update(stages=[{"seq_len": 2048, "tokens": 8}, {"seq_len": 4096, "tokens": 1},
                                  {"seq_len": 8192, "tokens": 1}], curriculum="length")
    path = write(tmp_path, data)
    stats = tmp_path / "runs" / "demo" / "stats"
    stats.mkdir(parents=True)
    (stats / "tokenized.json").write_text(json.dumps({"domains": {
        "web": {"kept": 10, "tokens_kept": 50_000}, "code": {"kept": 5, "tokens_kept": 20_000}}}))
    assert yaml.safe_load(open(path))["shards"]["curriculum"] == "length"
    assert main(["mix", "plan", path]) == 0
    out = capsys.readouterr().out
    assert "training stages (length curriculum, packing best_fit):" in out
    assert "seq_len   2,048   80.0%" in out and "seq_len   8,192   10.0%" in out


def test_accounting_adds_the_stages_up():
    from curator.runstats import accounting_problems

    mix = {"tokens_out": 100, "documents_out": 10, "domains": {}}
    staged = {"stages": [{"seq_len": 512}, {"seq_len": 2048}],
              "seq_lens": {"512": {"tokens": 70, "documents": 8}, "2048": {"tokens": 30, "documents": 2}}}
    assert accounting_problems({"mix": mix, "shards": staged}) == []
    staged["seq_lens"]["2048"]["tokens"] = 29
    assert accounting_problems({"mix": mix, "shards": staged}) == [
        "shards stages: 99 tokens of 10 documents, mixture gave 100 tokens of 10 documents"]
