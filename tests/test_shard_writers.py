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
