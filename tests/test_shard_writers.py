"""WindowPacker packing and MegatronWriter output, read back with megatron-core's own reader."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

from stages.shard_writers import MegatronWriter, WindowPacker

EOS = 0


def _docs(rng: np.random.Generator, n: int, max_len: int, vocab: int) -> list[np.ndarray]:
    """Random documents of 1..max_len tokens, each ending with EOS."""
    out = []
    for _ in range(n):
        body = rng.integers(1, vocab, size=int(rng.integers(0, max_len)), dtype=np.int64)
        out.append(np.append(body, EOS))
    return out


def _pack(docs, seq_len):
    p = WindowPacker(seq_len)
    windows = [w for d in docs for w in p.add(d)]
    return windows, p.flush()


# -- WindowPacker ----------------------------------------------------------------------
def test_short_documents_share_a_window():
    p = WindowPacker(8)
    assert p.add(np.array([1, 2, 0])) == []
    assert p.add(np.array([3, 0])) == []
    assert p.pending == 5
    (w,) = p.add(np.array([4, 5, 6, 0]))
    np.testing.assert_array_equal(w, [1, 2, 0, 3, 0, 4, 5, 6])
    np.testing.assert_array_equal(p.flush(), [0])
    assert p.flush() is None


def test_long_document_is_split_not_dropped():
    p = WindowPacker(4)
    p.add(np.array([9, 0]))
    doc = np.arange(1, 12)  # 11 tokens
    ws = p.add(doc)
    assert [w.tolist() for w in ws] == [[9, 0, 1, 2], [3, 4, 5, 6], [7, 8, 9, 10]]
    np.testing.assert_array_equal(p.flush(), [11])


def test_document_of_exactly_one_window_and_empty_document():
    p = WindowPacker(5)
    (w,) = p.add(np.arange(5))
    np.testing.assert_array_equal(w, np.arange(5))
    assert p.add(np.array([], dtype=np.int32)) == []
    assert p.flush() is None


@pytest.mark.parametrize("seq_len", [1, 3, 16, 64, 1000])
def test_token_conservation_and_window_lengths(seq_len):
    docs = _docs(np.random.default_rng(seq_len), 200, 150, 50257)
    windows, tail = _pack(docs, seq_len)
    assert all(w.shape == (seq_len,) for w in windows)
    pieces = windows + ([tail] if tail is not None else [])
    if tail is not None:
        assert 0 < tail.size < seq_len
    total = sum(d.size for d in docs)
    assert len(windows) == total // seq_len
    np.testing.assert_array_equal(np.concatenate(pieces), np.concatenate(docs))


def test_windows_do_not_alias_inputs():
    p = WindowPacker(4)
    doc = np.arange(1, 10)
    ws = p.add(doc)
    doc[:] = -1
    assert [w.tolist() for w in ws] == [[1, 2, 3, 4], [5, 6, 7, 8]]
    np.testing.assert_array_equal(p.flush(), [9])


def test_packer_rejects_bad_input():
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError):
            WindowPacker(bad)
    p = WindowPacker(4)
    with pytest.raises(TypeError):
        p.add(np.array([1.0, 2.0]))
    with pytest.raises(ValueError):
        p.add(np.zeros((2, 2), dtype=np.int64))


# -- MegatronWriter --------------------------------------------------------------------
def _write(prefix, windows, vocab):
    with MegatronWriter(str(prefix), vocab) as w:
        for win in windows:
            w.add(win)
        return w.close()


@pytest.mark.parametrize(
    "vocab, dtype_name, np_dtype", [(50257, "uint16", np.uint16), (100277, "int32", np.int32)]
)
def test_megatron_roundtrip_with_real_reader(tmp_path, vocab, dtype_name, np_dtype):
    from megatron.core.datasets.indexed_dataset import IndexedDataset

    docs = _docs(np.random.default_rng(vocab), 120, 300, vocab)
    docs.append(np.array([vocab - 1, EOS]))  # the largest id must survive the dtype
    windows, tail = _pack(docs, 128)
    windows.append(tail)  # a short last sequence is legal in the format
    prefix = tmp_path / "shard-00000"
    meta = _write(prefix, windows, vocab)

    ds = IndexedDataset(str(prefix))
    assert ds.index.dtype is np_dtype
    assert len(ds) == len(windows)
    np.testing.assert_array_equal(ds.sequence_lengths, [w.size for w in windows])
    np.testing.assert_array_equal(ds.document_indices, np.arange(len(windows) + 1))
    for i, win in enumerate(windows):
        got = ds[i]
        assert got.dtype == np_dtype
        np.testing.assert_array_equal(got, win)
    np.testing.assert_array_equal(np.concatenate([ds[i] for i in range(len(ds))]), np.concatenate(docs))

    bin_path, idx_path = f"{prefix}.bin", f"{prefix}.idx"
    tokens = sum(w.size for w in windows)
    assert meta == {
        "bin": "shard-00000.bin",
        "idx": "shard-00000.idx",
        "bytes": os.path.getsize(bin_path) + os.path.getsize(idx_path),
        "sha256": hashlib.sha256(open(bin_path, "rb").read() + open(idx_path, "rb").read()).hexdigest(),
        "sequences": len(windows),
        "tokens": tokens,
        "dtype": dtype_name,
    }
    assert os.path.getsize(bin_path) == tokens * np.dtype(np_dtype).itemsize


@pytest.mark.parametrize("vocab, np_dtype", [(50257, np.uint16), (100277, np.int32)])
def test_bytes_match_megatron_builder(tmp_path, vocab, np_dtype):
    """Same bytes as IndexedDatasetBuilder with one add_item + end_document per window."""
    import torch
    from megatron.core.datasets.indexed_dataset import IndexedDatasetBuilder

    windows, tail = _pack(_docs(np.random.default_rng(7), 50, 200, vocab), 64)
    windows.append(tail)
    _write(tmp_path / "ours", windows, vocab)
    builder = IndexedDatasetBuilder(str(tmp_path / "ref.bin"), dtype=np_dtype)
    for win in windows:
        builder.add_item(torch.from_numpy(win))
        builder.end_document()
    builder.finalize(str(tmp_path / "ref.idx"))
    for ext in ("bin", "idx"):
        assert (tmp_path / f"ours.{ext}").read_bytes() == (tmp_path / f"ref.{ext}").read_bytes()


def test_dtype_threshold(tmp_path):
    with MegatronWriter(str(tmp_path / "a"), 65499) as a, MegatronWriter(str(tmp_path / "b"), 65500) as b:
        a.add(np.array([65498]))
        b.add(np.array([65499]))
    assert a.result["dtype"] == "uint16" and b.result["dtype"] == "int32"
    assert (tmp_path / "a.idx").read_bytes()[17] == 8
    assert (tmp_path / "b.idx").read_bytes()[17] == 4


def test_two_writes_are_byte_identical(tmp_path):
    windows, tail = _pack(_docs(np.random.default_rng(1), 80, 100, 50257), 32)
    windows.append(tail)
    m1 = _write(tmp_path / "x" / "shard", windows, 50257)
    m2 = _write(tmp_path / "y" / "shard", windows, 50257)
    assert m1 == m2
    for ext in ("bin", "idx"):
        assert (tmp_path / "x" / f"shard.{ext}").read_bytes() == (tmp_path / "y" / f"shard.{ext}").read_bytes()


def test_no_temporaries_after_close_and_nothing_after_abort(tmp_path):
    w = MegatronWriter(str(tmp_path / "s"), 50257)
    w.add(np.arange(10))
    assert all(".tmp-" in n for n in os.listdir(tmp_path))  # nothing under the final names yet
    assert not (tmp_path / "s.bin").exists()
    w.close()
    assert sorted(os.listdir(tmp_path)) == ["s.bin", "s.idx"]
    assert w.close() is w.result  # idempotent
    w.abort()  # no-op after close: final files stay
    assert sorted(os.listdir(tmp_path)) == ["s.bin", "s.idx"]

    (tmp_path / "b").mkdir()
    w = MegatronWriter(str(tmp_path / "b" / "s"), 50257)
    w.add(np.arange(10))
    w.abort()
    w.abort()
    assert os.listdir(tmp_path / "b") == []
    with pytest.raises(RuntimeError):
        w.add(np.arange(3))


def test_context_manager_aborts_on_exception(tmp_path):
    with pytest.raises(KeyError):
        with MegatronWriter(str(tmp_path / "s"), 50257) as w:
            w.add(np.arange(10))
            raise KeyError("boom")
    assert os.listdir(tmp_path) == []


def test_out_of_range_token_rejected(tmp_path):
    with MegatronWriter(str(tmp_path / "s"), 50257) as w:
        with pytest.raises(ValueError, match="50257"):
            w.add(np.array([1, 2, 50257, 3]))
        with pytest.raises(ValueError, match="-1"):
            w.add(np.array([-1, 2]))
        with pytest.raises(ValueError):
            w.add(np.array([], dtype=np.int64))
        w.add(np.array([50256, 0]))  # rejected windows left no trace
    assert w.result["sequences"] == 1 and w.result["tokens"] == 2
    assert os.path.getsize(tmp_path / "s.bin") == 4

    with MegatronWriter(str(tmp_path / "t"), 100277) as w:
        with pytest.raises(ValueError, match="100277"):
            w.add(np.array([100277]))
        w.add(np.array([100276]))


# -- OLMo, Parquet and ArrayRecord writers --------------------------------------------
from stages.shard_writers import ArrayRecordWriter, OlmoWriter, ParquetWriter, encode_example  # noqa: E402


def example_class():
    """tf.train.Example built from example.proto's field numbers with Google's protobuf
    runtime (no TensorFlow): the real parser our hand-encoded records must satisfy."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    f = descriptor_pb2.FileDescriptorProto(name="tf_example_test.proto", package="tensorflow", syntax="proto3")
    T = descriptor_pb2.FieldDescriptorProto

    def msg(name, *fields, options=None):
        m = f.message_type.add(name=name)
        for fname, num, ftype, label, type_name in fields:
            fd = m.field.add(name=fname, number=num, type=ftype, label=label)
            if type_name:
                fd.type_name = type_name
        return m

    rep, opt = T.LABEL_REPEATED, T.LABEL_OPTIONAL
    msg("BytesList", ("value", 1, T.TYPE_BYTES, rep, None))
    msg("FloatList", ("value", 1, T.TYPE_FLOAT, rep, None))
    msg("Int64List", ("value", 1, T.TYPE_INT64, rep, None))
    feat = msg("Feature", ("bytes_list", 1, T.TYPE_MESSAGE, opt, ".tensorflow.BytesList"),
               ("float_list", 2, T.TYPE_MESSAGE, opt, ".tensorflow.FloatList"),
               ("int64_list", 3, T.TYPE_MESSAGE, opt, ".tensorflow.Int64List"))
    feat.oneof_decl.add(name="kind")
    for fd in feat.field:
        fd.oneof_index = 0
    feats = msg("Features", ("feature", 1, T.TYPE_MESSAGE, rep, ".tensorflow.Features.FeatureEntry"))
    entry = feats.nested_type.add(name="FeatureEntry")
    entry.field.add(name="key", number=1, type=T.TYPE_STRING, label=opt)
    entry.field.add(name="value", number=2, type=T.TYPE_MESSAGE, label=opt, type_name=".tensorflow.Feature")
    entry.options.map_entry = True
    msg("Example", ("features", 1, T.TYPE_MESSAGE, opt, ".tensorflow.Features"))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.Example"))


def test_example_bytes_equal_protobuf_serialisation():
    Example = example_class()
    for values in ([0], [1, 127, 128, 16383, 16384, 100276, 2**31 - 1, 2**40], list(range(300)), []):
        ref = Example()
        ref.features.feature["input_ids"].int64_list.value.extend(values)
        assert encode_example({"input_ids": np.array(values, np.int64)}) == ref.SerializeToString(deterministic=True)
        parsed = Example.FromString(encode_example({"input_ids": np.array(values, np.int64)}))
        assert list(parsed.features.feature["input_ids"].int64_list.value) == values
    two = {"b": np.array([5]), "a": np.array([1, 2])}
    ref = Example()
    for k, v in two.items():
        ref.features.feature[k].int64_list.value.extend(v.tolist())
    assert encode_example(two) == ref.SerializeToString(deterministic=True)


def test_arrayrecord_roundtrip_with_array_record_and_grain(tmp_path):
    import grain
    from array_record.python.array_record_module import ArrayRecordReader

    Example = example_class()
    windows, tail = _pack(_docs(np.random.default_rng(3), 60, 200, 100277), 64)
    windows.append(tail)
    with ArrayRecordWriter(str(tmp_path / "s"), 100277) as w:
        for win in windows:
            w.add(win)
    assert sorted(os.listdir(tmp_path)) == ["s.array_record"]
    assert w.result["sequences"] == len(windows) and w.result["tokens"] == sum(x.size for x in windows)
    assert w.result["sha256"] == hashlib.sha256((tmp_path / "s.array_record").read_bytes()).hexdigest()
    reader = ArrayRecordReader(str(tmp_path / "s.array_record"))
    assert reader.num_records() == len(windows)
    reader.close()

    def parse(record: bytes) -> np.ndarray:
        return np.array(Example.FromString(record).features.feature["input_ids"].int64_list.value, np.int64)

    source = grain.sources.ArrayRecordDataSource([str(tmp_path / "s.array_record")])
    got = list(grain.MapDataset.source(source).map(parse))
    assert len(got) == len(windows)
    for a, b in zip(got, windows):
        np.testing.assert_array_equal(a, b)


def test_parquet_roundtrip_with_pyarrow(tmp_path):
    import pyarrow.parquet as pq

    windows, tail = _pack(_docs(np.random.default_rng(4), 300, 120, 50257), 32)
    windows.append(tail)
    ParquetWriter.ROWS_PER_GROUP = 100  # several row groups
    try:
        with ParquetWriter(str(tmp_path / "s"), 50257) as w:
            for win in windows:
                w.add(win)
    finally:
        ParquetWriter.ROWS_PER_GROUP = 1024
    t = pq.read_table(tmp_path / "s.parquet")
    assert t.schema.field("input_ids").type.value_type == "int32"
    rows = t.column("input_ids").to_pylist()
    assert [len(r) for r in rows] == [x.size for x in windows]
    np.testing.assert_array_equal(np.concatenate([np.array(r) for r in rows]), np.concatenate(windows))
    assert pq.ParquetFile(tmp_path / "s.parquet").metadata.num_row_groups == -(-len(windows) // 100)


def test_olmo_flat_file_and_offsets(tmp_path):
    import csv
    import gzip

    docs = _docs(np.random.default_rng(5), 50, 90, 100277)
    docs.append(np.array([100276, EOS]))  # ids above uint16 survive
    with OlmoWriter(str(tmp_path / "s"), 100277) as w:
        for i, d in enumerate(docs):
            w.add_document(d, f"doc,{i}")  # a comma in an id is quoted, not split
    flat = np.fromfile(tmp_path / "s.npy", dtype=np.uint32)
    assert flat.size == sum(d.size for d in docs) and (tmp_path / "s.npy").stat().st_size == flat.size * 4
    with gzip.open(tmp_path / "s.csv.gz", "rt") as f:
        rows = list(csv.reader(f))
    assert len(rows) == len(docs)
    for (start, end, doc_id), (i, d) in zip(rows, enumerate(docs)):
        assert doc_id == f"doc,{i}"
        np.testing.assert_array_equal(flat[int(start):int(end)], d)
    assert w.result["documents"] == len(docs) and w.result["dtype"] == "uint32"
    data = (tmp_path / "s.npy").read_bytes() + (tmp_path / "s.csv.gz").read_bytes()
    assert w.result["sha256"] == hashlib.sha256(data).hexdigest() and w.result["bytes"] == len(data)


@pytest.mark.parametrize("cls", [OlmoWriter, ParquetWriter, ArrayRecordWriter])
def test_new_writers_are_deterministic_atomic_and_check_ranges(tmp_path, cls):
    windows, tail = _pack(_docs(np.random.default_rng(6), 40, 100, 50257), 32)
    windows.append(tail)

    def write(prefix):
        with cls(str(prefix), 50257) as w:
            for i, win in enumerate(windows):
                w.add_document(win, str(i)) if cls is OlmoWriter else w.add(win)
        return w.result

    a, b = write(tmp_path / "x" / "s"), write(tmp_path / "y" / "s")
    assert a == b
    for name in a["files"]:
        assert (tmp_path / "x" / name).read_bytes() == (tmp_path / "y" / name).read_bytes()

    (tmp_path / "z").mkdir()
    w = cls(str(tmp_path / "z" / "s"), 50257)
    add = (lambda x: w.add_document(x, "d")) if cls is OlmoWriter else w.add
    add(windows[0])
    assert all(".tmp-" in n for n in os.listdir(tmp_path / "z"))
    with pytest.raises(ValueError, match="50257"):
        add(np.array([1, 50257]))
    w.abort()
    assert os.listdir(tmp_path / "z") == []
    with pytest.raises(RuntimeError):
        add(windows[0])
