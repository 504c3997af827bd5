"""Turn tokenized documents into fixed-length training windows and Megatron-Core shards.

`WindowPacker` concatenates documents (each already ending with EOS) into one token
stream and cuts it into windows of exactly `seq_len` tokens, so no padding is stored and
no token is lost: a long document simply continues into the next window.

`MegatronWriter` writes one `<prefix>.bin` / `<prefix>.idx` pair in the byte layout of
megatron/core/datasets/indexed_dataset.py (`IndexedDatasetBuilder` + `_IndexWriter`), so
that `IndexedDataset(prefix)` reads it directly. Each packed window is stored as one
sequence and one document. Files are written under temporary names and renamed only when
complete, so a killed or retried Spark task never leaves a truncated shard under the final
name, and the output is byte-deterministic for the same input.
"""

from __future__ import annotations

import hashlib
import os
import struct
import uuid
from array import array
from types import TracebackType

import numpy as np

__all__ = ["WindowPacker", "MegatronWriter", "megatron_dtype"]

_INDEX_HEADER = b"MMIDIDX\x00\x00"
_INDEX_VERSION = 1
# megatron.core.datasets.indexed_dataset.DType codes for the two token dtypes we emit.
_DTYPE_CODES = {"uint16": 8, "int32": 4}
# DType.optimal_dtype: uint16 below this cardinality, int32 otherwise.
_UINT16_VOCAB_LIMIT = 65500


def _as_token_array(ids: object, what: str) -> np.ndarray:
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
        if isinstance(seq_len, bool) or not isinstance(seq_len, (int, np.integer)) or seq_len < 1:
            raise ValueError(f"seq_len must be a positive integer, got {seq_len!r}")
        self.seq_len = int(seq_len)
        self._buf = np.empty(self.seq_len, dtype=np.int64)
        self._fill = 0

    @property
    def pending(self) -> int:
        """Tokens buffered in the unfinished window (what `flush()` would return)."""
        return self._fill

    def add(self, ids: np.ndarray) -> list[np.ndarray]:
        """Append one document; return the windows it completed (possibly none, possibly many)."""
        ids = _as_token_array(ids, "document")
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
        arr = _as_token_array(window, "window")
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
