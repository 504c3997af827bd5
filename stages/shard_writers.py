"""Turn tokenized documents into fixed-length training windows and shards trainers read.

`WindowPacker` concatenates documents (each already ending with EOS) into one token
stream and cuts it into windows of exactly `seq_len` tokens, so no padding is stored and
no token is lost: a long document simply continues into the next window.

`MegatronWriter` writes one `<prefix>.bin` / `<prefix>.idx` pair in the byte layout of
megatron/core/datasets/indexed_dataset.py (`IndexedDatasetBuilder` + `_IndexWriter`), so
that `IndexedDataset(prefix)` reads it directly. Each packed window is stored as one
sequence and one document. Files are written under temporary names and renamed only when
complete, so a killed or retried Spark task never leaves a truncated shard under the final
name, and the output is byte-deterministic for the same input.

The other formats follow the same rules (temporary names, rename on close, a sha256 over
the files in order): `OlmoWriter` (flat headerless uint32 tokens + document offsets, as
OLMo-core's numpy datasets and dolma's tokenizer output), `ParquetWriter` (one row per
window, `input_ids` list<int32>, for HF `datasets` and Grain) and `ArrayRecordWriter`
(one serialised `tf.train.Example` per window with an `int64_list` feature, for
Grain/MaxText; the protobuf bytes are encoded here, so TensorFlow is not needed). The
shards phase writes the last two `packed` (`add_batch` of a `stages.packing.PackedBatch`):
`segment_ids` and `positions` beside `input_ids`.
"""

from __future__ import annotations

import hashlib
import os
import struct
import uuid
from array import array
from types import TracebackType

import numpy as np

__all__ = [
    "WindowPacker", "MegatronWriter", "OlmoWriter", "ParquetWriter", "ArrayRecordWriter",
    "WRITERS", "PACKED_COLUMNS", "megatron_dtype", "encode_example", "decode_example",
]

_INDEX_HEADER = b"MMIDIDX\x00\x00"
_INDEX_VERSION = 1
# megatron.core.datasets.indexed_dataset.DType codes for the two token dtypes we emit.
_DTYPE_CODES = {"uint16": 8, "int32": 4}
# DType.optimal_dtype: uint16 below this cardinality, int32 otherwise.
_UINT16_VOCAB_LIMIT = 65500


def check_seq_len(seq_len) -> None:
    """ValueError unless `seq_len` is a positive integer (not a bool)."""
    if isinstance(seq_len, bool) or not isinstance(seq_len, (int, np.integer)) or seq_len < 1:
        raise ValueError(f"seq_len must be a positive integer, got {seq_len!r}")


def as_token_array(ids: object, what: str) -> np.ndarray:
    """`ids` as a 1-D integer array, rejecting floats/bools/ragged input early (not silently cast)."""
    arr = np.asarray(ids)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{what} must hold integer token ids, got dtype {arr.dtype}")
    return arr


def megatron_dtype(vocab_size: int) -> np.dtype:
    """The token dtype Megatron's `DType.optimal_dtype(vocab_size)` picks (little-endian)."""
    return np.dtype("<u2") if vocab_size < _UINT16_VOCAB_LIMIT else np.dtype("<i4")


class WindowPacker:
    """Cut a stream of concatenated documents into windows of exactly `seq_len` tokens.

    Only the unfinished window is carried between calls (a preallocated `seq_len` buffer),
    so memory is one window plus the document being added; copying is done with numpy
    slices, never a per-token Python loop. Windows are int64 copies that do not alias the
    caller's arrays.
    """

    def __init__(self, seq_len: int):
        check_seq_len(seq_len)
        self.seq_len = int(seq_len)
        self._buf = np.empty(self.seq_len, dtype=np.int64)
        self._fill = 0

    @property
    def pending(self) -> int:
        """Tokens buffered in the unfinished window (what `flush()` would return)."""
        return self._fill

    def add(self, ids: np.ndarray) -> list[np.ndarray]:
        """Append one document; return the windows it completed (possibly none, possibly many)."""
        ids = as_token_array(ids, "document")
        n, L = ids.size, self.seq_len
        out: list[np.ndarray] = []
        pos = 0
        if self._fill:  # top up the window left open by earlier documents
            take = min(L - self._fill, n)
            self._buf[self._fill : self._fill + take] = ids[:take]
            self._fill += take
            pos = take
            if self._fill == L:
                out.append(self._buf.copy())
                self._fill = 0
        k = (n - pos) // L
        if k:  # whole windows straight from the document, one vectorised copy
            block = ids[pos : pos + k * L].astype(np.int64, copy=True).reshape(k, L)
            out.extend(block)
            pos += k * L
        if pos < n:  # only reached with an empty buffer: start the next window
            rest = n - pos
            self._buf[:rest] = ids[pos:]
            self._fill = rest
        return out

    def flush(self) -> np.ndarray | None:
        """Return the final partial window (shorter than `seq_len`), or None if nothing is pending."""
        if not self._fill:
            return None
        tail = self._buf[: self._fill].copy()
        self._fill = 0
        return tail


class MegatronWriter:
    """Stream windows into a Megatron-Core `<prefix>.bin` / `<prefix>.idx` pair.

    Tokens go straight to the temporary .bin file (and into a running sha256); only the
    per-sequence lengths are kept in memory, for the index written by `close()`. Each
    window is one sequence and one document, so `document_indices` is 0, 1, ..., n.
    """

    def __init__(self, path_prefix: str, vocab_size: int):
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 1:
            raise ValueError(f"vocab_size must be a positive integer, got {vocab_size!r}")
        self.path_prefix = os.fspath(path_prefix)
        self.vocab_size = int(vocab_size)
        self.dtype = megatron_dtype(self.vocab_size)
        self.dtype_name = "uint16" if self.dtype.kind == "u" else "int32"
        self.bin_path = self.path_prefix + ".bin"
        self.idx_path = self.path_prefix + ".idx"
        # Same directory as the final files, so os.replace is an atomic rename.
        tag = uuid.uuid4().hex
        self._bin_tmp = f"{self.bin_path}.tmp-{tag}"
        self._idx_tmp = f"{self.idx_path}.tmp-{tag}"
        parent = os.path.dirname(self.path_prefix)
        if parent:
            os.makedirs(parent, exist_ok=True)
        self._bin = open(self._bin_tmp, "wb")
        self._sha = hashlib.sha256()
        self._lengths = array("q")  # 8 bytes per sequence, not a Python int object each
        self._tokens = 0
        self._bin_bytes = 0
        self.result: dict | None = None
        self._aborted = False

    # -- writing ------------------------------------------------------------------------
    def add(self, window: np.ndarray) -> None:
        """Append one window as one sequence (and one document)."""
        self._check_open()
        arr = as_token_array(window, "window")
        if arr.size == 0:
            raise ValueError("window must not be empty")
        bad = (arr < 0) | (arr >= self.vocab_size)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"token id {int(arr[i])} at position {i} is out of range [0, {self.vocab_size})"
            )
        data = np.ascontiguousarray(arr, dtype=self.dtype).tobytes()
        self._bin.write(data)
        self._sha.update(data)
        self._lengths.append(arr.size)
        self._tokens += arr.size
        self._bin_bytes += len(data)

    def _index_bytes(self) -> bytes:
        """The .idx contents, field for field as `_IndexWriter.__enter__` + `write` produce them."""
        lengths = np.frombuffer(self._lengths, dtype=np.int64) if self._lengths else np.zeros(0, np.int64)
        if lengths.size and lengths.max() > np.iinfo(np.int32).max:
            raise ValueError("a sequence is longer than the int32 length field allows")
        n = lengths.size
        pointers = np.zeros(n, dtype="<i8")
        if n > 1:
            np.cumsum(lengths[:-1] * self.dtype.itemsize, out=pointers[1:])
        doc_idx = np.arange(n + 1, dtype="<i8")  # one document per sequence
        return b"".join(
            (
                _INDEX_HEADER,
                struct.pack("<Q", _INDEX_VERSION),
                struct.pack("<B", _DTYPE_CODES[self.dtype_name]),
                struct.pack("<Q", n),
                struct.pack("<Q", doc_idx.size),
                lengths.astype("<i4").tobytes(),
                pointers.tobytes(),
                doc_idx.tobytes(),
            )
        )

    def close(self) -> dict:
        """Write the index, rename both files into place and describe them; idempotent."""
        if self.result is not None:
            return self.result
        self._check_open()
        try:
            idx = self._index_bytes()
            self._bin.flush()
            os.fsync(self._bin.fileno())
            self._bin.close()
            with open(self._idx_tmp, "wb") as f:
                f.write(idx)
                f.flush()
                os.fsync(f.fileno())
            self._sha.update(idx)
            # .bin first: Megatron treats a prefix as present only once the .idx exists too.
            os.replace(self._bin_tmp, self.bin_path)
            os.replace(self._idx_tmp, self.idx_path)
        except BaseException:
            self.abort()
            raise
        self.result = {
            "bin": os.path.basename(self.bin_path),
            "idx": os.path.basename(self.idx_path),
            "bytes": self._bin_bytes + len(idx),
            "sha256": self._sha.hexdigest(),
            "sequences": len(self._lengths),
            "tokens": self._tokens,
            "dtype": self.dtype_name,
        }
        return self.result

    def abort(self) -> None:
        """Drop the temporaries; never touches final files. Safe to call more than once."""
        if self.result is not None or self._aborted:
            return
        self._aborted = True
        try:
            self._bin.close()
        finally:
            for p in (self._bin_tmp, self._idx_tmp):
                try:
                    os.remove(p)
                except FileNotFoundError:
                    pass

    def _check_open(self) -> None:
        if self._aborted:
            raise RuntimeError(f"writer for {self.path_prefix!r} was aborted")
        if self.result is not None:
            raise RuntimeError(f"writer for {self.path_prefix!r} is already closed")

    # -- context manager ----------------------------------------------------------------
    def __enter__(self) -> MegatronWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Abort on an exception; otherwise close (the summary stays in `self.result`)."""
        if exc_type is not None:
            self.abort()
        elif not self._aborted:
            self.close()


# -- the other formats -------------------------------------------------------------------

def _check_range(arr: np.ndarray, vocab_size: int) -> None:
    bad = (arr < 0) | (arr >= vocab_size)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"token id {int(arr[i])} at position {i} is out of range [0, {vocab_size})")


class _AtomicFiles:
    """Files written under temporary names in their final folder and renamed together on
    `close()`; `abort()` removes the temporaries. Subclasses fill `_files` in order."""

    def __init__(self, path_prefix: str, suffixes: tuple[str, ...]):
        self.path_prefix = os.fspath(path_prefix)
        parent = os.path.dirname(self.path_prefix)
        if parent:
            os.makedirs(parent, exist_ok=True)
        tag = uuid.uuid4().hex
        self.paths = [self.path_prefix + s for s in suffixes]
        self.tmps = [f"{p}.tmp-{tag}" for p in self.paths]
        self.result: dict | None = None
        self._aborted = False

    def _check_open(self) -> None:
        if self._aborted:
            raise RuntimeError(f"writer for {self.path_prefix!r} was aborted")
        if self.result is not None:
            raise RuntimeError(f"writer for {self.path_prefix!r} is already closed")

    def _finish(self, **info) -> dict:
        """Hash the temporaries in order, rename them into place, describe them."""
        sha, size = hashlib.sha256(), 0
        for t in self.tmps:
            with open(t, "rb") as f:
                while block := f.read(1 << 20):
                    sha.update(block)
                    size += len(block)
        for t, p in zip(self.tmps, self.paths):
            os.replace(t, p)
        self.result = {
            "files": [os.path.basename(p) for p in self.paths],
            "bytes": size,
            "sha256": sha.hexdigest(),
            **info,
        }
        return self.result

    def _close_files(self) -> None:
        """Release open handles (subclasses)."""

    def abort(self) -> None:
        if self.result is not None or self._aborted:
            return
        self._aborted = True
        try:
            self._close_files()
        finally:
            for t in self.tmps:
                try:
                    os.remove(t)
                except FileNotFoundError:
                    pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
        elif not self._aborted:
            self.close()


class OlmoWriter(_AtomicFiles):
    """`<prefix>.npy`: the document stream as raw little-endian uint32 (no header, what
    OLMo-core memory-maps); `<prefix>.csv.gz`: `start,end,id` per document, token offsets
    into that stream (dolma's metadata layout). Documents, not windows: OLMo-core cuts its
    own windows."""

    dtype = np.dtype("<u4")

    def __init__(self, path_prefix: str, vocab_size: int):
        super().__init__(path_prefix, (".npy", ".csv.gz"))
        if vocab_size > np.iinfo(np.uint32).max:
            raise ValueError(f"vocab_size {vocab_size} does not fit uint32")
        self.vocab_size = int(vocab_size)
        self._bin = open(self.tmps[0], "wb")
        self._starts = array("q")
        self._ids: list[str] = []
        self._tokens = 0

    def add_document(self, ids: np.ndarray, doc_id: str) -> None:
        self._check_open()
        arr = as_token_array(ids, "document")
        _check_range(arr, self.vocab_size)
        self._bin.write(np.ascontiguousarray(arr, dtype=self.dtype).tobytes())
        self._starts.append(self._tokens)
        self._ids.append(doc_id)
        self._tokens += arr.size

    def close(self) -> dict:
        if self.result is not None:
            return self.result
        self._check_open()
        import csv
        import gzip
        import io

        try:
            self._bin.close()
            text = io.StringIO()
            w = csv.writer(text, lineterminator="\n")
            ends = list(self._starts[1:]) + [self._tokens]
            for start, end, doc in zip(self._starts, ends, self._ids):
                w.writerow((start, end, doc))
            # mtime=0 and no file name in the header: the same rows give the same bytes.
            with open(self.tmps[1], "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                gz.write(text.getvalue().encode())
            return self._finish(tokens=self._tokens, documents=len(self._ids), dtype="uint32")
        except BaseException:
            self.abort()
            raise

    def _close_files(self) -> None:
        self._bin.close()


PACKED_COLUMNS = ("input_ids", "segment_ids", "positions")
"""Packed windows (stages.packing): tokens, segment id per token (1, 2, ... per document
piece, 0 on padding) and position inside the piece -- the layout Grain/MaxText read."""


class ParquetWriter(_AtomicFiles):
    """`<prefix>.parquet`: one row per window, column `input_ids` list<int32>; packed
    shards (`packed=True`, filled by `add_batch`) add `segment_ids` and `positions`."""

    ROWS_PER_GROUP = 1024

    def __init__(self, path_prefix: str, vocab_size: int, packed: bool = False):
        super().__init__(path_prefix, (".parquet",))
        if vocab_size > np.iinfo(np.int32).max:
            raise ValueError(f"vocab_size {vocab_size} does not fit int32")
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.vocab_size = int(vocab_size)
        self._pa = pa
        names = PACKED_COLUMNS if packed else PACKED_COLUMNS[:1]
        self.packed = packed
        self.schema = pa.schema([pa.field(c, pa.list_(pa.int32())) for c in names])
        self._writer = pq.ParquetWriter(self.tmps[0], self.schema, compression="zstd")
        self._rows: list[np.ndarray] = []
        self._sequences = self._tokens = 0

    def add(self, window: np.ndarray) -> None:
        self._check_open()
        arr = as_token_array(window, "window")
        if arr.size == 0:
            raise ValueError("window must not be empty")
        _check_range(arr, self.vocab_size)
        self._rows.append(arr.astype(np.int32))
        self._sequences += 1
        self._tokens += arr.size
        if len(self._rows) >= self.ROWS_PER_GROUP:
            self._flush()

    def add_batch(self, batch) -> None:
        """Append a `stages.packing.PackedBatch` (fixed-length windows with boundaries)."""
        self._check_open()
        if not self.packed:
            raise RuntimeError("add_batch needs a writer made with packed=True")
        if not len(batch):
            return
        _check_range(batch.tokens.reshape(-1), self.vocab_size)
        pa = self._pa
        n, L = batch.tokens.shape
        offsets = pa.array(np.arange(0, (n + 1) * L, L, dtype=np.int32), pa.int32())
        cols = [pa.ListArray.from_arrays(offsets, pa.array(a.reshape(-1).astype(np.int32, copy=False), pa.int32()))
                for a in (batch.tokens, batch.segment_ids, batch.positions)]
        self._writer.write_table(pa.Table.from_arrays(cols, schema=self.schema))
        self._sequences += n
        self._tokens += int((batch.segment_ids != 0).sum())

    def _flush(self) -> None:
        if not self._rows:
            return
        pa = self._pa
        lengths = np.fromiter((r.size for r in self._rows), dtype=np.int32, count=len(self._rows))
        offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
        values = pa.array(np.concatenate(self._rows), pa.int32())
        col = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)
        self._writer.write_table(pa.Table.from_arrays([col], schema=self.schema))
        self._rows = []

    def close(self) -> dict:
        if self.result is not None:
            return self.result
        self._check_open()
        try:
            self._flush()
            self._writer.close()
            return self._finish(tokens=self._tokens, sequences=self._sequences, dtype="int32")
        except BaseException:
            self.abort()
            raise

    def _close_files(self) -> None:
        try:
            self._writer.close()
        except Exception:
            pass


def _varints(values: np.ndarray) -> bytes:
    """Protobuf base-128 varints of non-negative integers, vectorised."""
    v = values.astype(np.uint64)
    n = np.ones(v.size, dtype=np.int64)
    for k in range(1, 10):
        n += v >= (np.uint64(1) << np.uint64(7 * k))
    ends = np.cumsum(n)
    starts = ends - n
    out = np.empty(int(ends[-1]) if v.size else 0, dtype=np.uint8)
    for k in range(int(n.max()) if v.size else 0):
        sel = n > k
        byte = (v[sel] >> np.uint64(7 * k)) & np.uint64(0x7F)
        more = (n[sel] > k + 1).astype(np.uint64) << np.uint64(7)
        out[starts[sel] + k] = (byte | more).astype(np.uint8)
    return out.tobytes()


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    return _varints(np.array([(number << 3) | 2])) + _varints(np.array([len(payload)])) + payload


def encode_example(features: dict[str, np.ndarray]) -> bytes:
    """A `tf.train.Example` whose features are packed `int64_list`s, as protobuf bytes.

    Example{features=1: Features{feature=1: map<string, Feature>}}, Feature{int64_list=3:
    Int64List{value=1 packed}}; map entries are written in key order.
    """
    entries = b""
    for key in sorted(features):
        vals = np.asarray(features[key])
        if vals.size and vals.min() < 0:
            raise ValueError("only non-negative int64 values are encoded here")
        int64_list = _field(1, _varints(vals)) if vals.size else b""
        feature = _field(3, int64_list)
        entries += _field(1, _field(1, key.encode()) + _field(2, feature))
    return _field(1, entries)


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def _len_fields(buf: bytes):
    """(field number, payload) of the length-delimited fields of one message."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        if key & 7 != 2:
            raise ValueError(f"unexpected protobuf wire type {key & 7}")
        size, pos = _read_varint(buf, pos)
        yield key >> 3, buf[pos : pos + size]
        pos += size


def decode_example(data: bytes) -> dict[str, np.ndarray]:
    """The int64_list features of an `encode_example` record (for `curator inspect`)."""
    out = {}
    for _, features in _len_fields(data):
        for _, entry in _len_fields(features):
            key, values = "", np.zeros(0, np.int64)
            for num, payload in _len_fields(entry):
                if num == 1:
                    key = payload.decode()
                else:
                    for kind, lst in _len_fields(payload):
                        if kind == 3:
                            packed = b"".join(p for _, p in _len_fields(lst))
                            vals, pos = [], 0
                            while pos < len(packed):
                                v, pos = _read_varint(packed, pos)
                                vals.append(v)
                            values = np.array(vals, np.int64)
            out[key] = values
    return out


class ArrayRecordWriter(_AtomicFiles):
    """`<prefix>.array_record`: one `tf.train.Example` per window, feature `input_ids`
    (int64_list; packed shards add `segment_ids` and `positions`); group_size 1 for random access, as TFDS and Grain write them."""

    FEATURE = "input_ids"
    OPTIONS = "group_size:1"

    def __init__(self, path_prefix: str, vocab_size: int, packed: bool = False):
        super().__init__(path_prefix, (".array_record",))
        self.packed = packed
        from array_record.python.array_record_module import ArrayRecordWriter as _Writer

        self.vocab_size = int(vocab_size)
        self._writer = _Writer(self.tmps[0], self.OPTIONS)
        self._open = True
        self._sequences = self._tokens = 0

    def add(self, window: np.ndarray) -> None:
        self._check_open()
        arr = as_token_array(window, "window")
        if arr.size == 0:
            raise ValueError("window must not be empty")
        _check_range(arr, self.vocab_size)
        self._writer.write(encode_example({self.FEATURE: arr}))
        self._sequences += 1
        self._tokens += arr.size

    def add_batch(self, batch) -> None:
        """One Example per packed window with `input_ids`, `segment_ids`, `positions`."""
        self._check_open()
        if not self.packed:
            raise RuntimeError("add_batch needs a writer made with packed=True")
        _check_range(batch.tokens.reshape(-1), self.vocab_size)
        for t, s, p in zip(batch.tokens, batch.segment_ids, batch.positions):
            self._writer.write(encode_example(dict(zip(PACKED_COLUMNS, (t, s, p)))))
        self._sequences += len(batch)
        self._tokens += int((batch.segment_ids != 0).sum())

    def close(self) -> dict:
        if self.result is not None:
            return self.result
        self._check_open()
        try:
            self._close_files()
            return self._finish(tokens=self._tokens, sequences=self._sequences, dtype="int64")
        except BaseException:
            self.abort()
            raise

    def _close_files(self) -> None:
        if self._open:
            self._open = False
            self._writer.close()


WRITERS = {"megatron": MegatronWriter, "olmo": OlmoWriter, "parquet": ParquetWriter, "arrayrecord": ArrayRecordWriter}
"""Manifest `shards.formats` name -> writer class."""
