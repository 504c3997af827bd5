"""Best-fit packing: documents into fixed windows without cutting the ones that fit.

Concatenating documents and cutting the stream every `seq_len` tokens cuts most documents
that would fit in a window in two. `BestFitPacker` instead (Ding et al. 2024, "Fewer
Truncations Improve Language Modeling"):

* a document longer than the window is split into window-sized chunks, each a full window
  of its own; only its tail (the remainder) is packed like a short document;
* the short pieces are buffered, `lookahead` at a time, sorted longest first (ties in
  arrival order) and each put into the open window with the *least* room that still holds
  it (best-fit decreasing), or a new window;
* at most `max_open` windows stay open between rounds; when more are open the fullest are
  closed first, and their unused tail is padding (`pad_id`, segment id 0).

Memory is flat: at most `lookahead` pending pieces plus `max_open` open windows, whatever
the shard size. The price of the bound is padding: a window closed before a small enough
piece arrives keeps its hole (see the README's packing section for measured figures).
The output depends only on the order of the input documents (the seeded shard order), so
the same shard packs to the same bytes.

Windows come out in batches as numpy arrays (`PackedBatch`): `tokens`, `segment_ids`
(1, 2, ... per piece in the window, 0 for padding) and `positions` (offset inside the
piece, 0 on padding) -- the packed layout Grain and MaxText read -- plus `pieces`, one row
per piece (window, segment, document number, offset in the document, length) so that
every token can be traced to its document.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass

import numpy as np

from stages.shard_writers import as_token_array, check_seq_len

__all__ = ["BestFitPacker", "ConcatPacker", "materialise", "PackedBatch", "LENGTH_BINS", "length_histogram"]

# Document-length histogram bins (tokens): [2**k, 2**(k+1)) for k = 0 .. 20, the last open.
LENGTH_BINS = [2**k for k in range(21)]


def length_histogram(lengths: np.ndarray) -> list[int]:
    """Counts of `lengths` per LENGTH_BINS bin (bin k holds 2**k <= n < 2**(k+1))."""
    lengths = np.asarray(lengths, dtype=np.int64)
    k = np.clip(np.floor(np.log2(np.maximum(lengths, 1))).astype(np.int64), 0, len(LENGTH_BINS) - 1)
    return np.bincount(k, minlength=len(LENGTH_BINS)).tolist()


@dataclass
class PackedBatch:
    """Closed windows: `tokens`, `segment_ids`, `positions` of shape (windows, seq_len);
    `pieces` (n, 5) int64 rows (window in batch, segment id, document number, offset in
    the document, length)."""

    tokens: np.ndarray
    segment_ids: np.ndarray
    positions: np.ndarray
    pieces: np.ndarray

    def __len__(self) -> int:
        return int(self.tokens.shape[0])


class _Packer:
    """What both packers do with a document as it arrives: check it, number it, count it."""

    documents: int
    tokens: int

    def _take(self, ids) -> tuple[np.ndarray, int, int]:
        ids = as_token_array(ids, "a document")
        doc, n = self.documents, int(ids.size)
        self.documents += 1
        self.tokens += n
        return ids, doc, n


class BestFitPacker(_Packer):
    """Pack documents (token arrays, each ending with its EOS) into windows of `seq_len`."""

    def __init__(self, seq_len: int, pad_id: int = 0, lookahead: int = 1024, max_open: int | None = None):
        check_seq_len(seq_len)
        if lookahead < 1:
            raise ValueError(f"lookahead must be >= 1, got {lookahead!r}")
        self.seq_len = int(seq_len)
        self.pad_id = int(pad_id)
        self.lookahead = int(lookahead)
        self.max_open = int(max_open if max_open is not None else lookahead)
        self._key = 1 << 40  # room * key + bin id: one int sorts by room, then age
        self._pending: list[tuple[int, int, np.ndarray]] = []  # (doc, offset, tokens)
        self._rooms: list[int] = []  # open windows, sorted by (room, id)
        self._bins: dict[int, list[tuple[int, int, np.ndarray]]] = {}
        self._next_bin = 0
        self._full: list[tuple[int, int, np.ndarray]] = []  # whole-window chunks, in order
        self._order: list[tuple[int, int]] = []  # ("bin"=0 | "full"=1, index) in output order
        self.documents = 0
        self.documents_fit = 0  # no longer than the window
        self.documents_cut = 0  # of those, split across windows: none, by construction
        self.tokens = 0
        self.windows = 0
        self.padding = 0

    # -- input ---------------------------------------------------------------------------
    def add(self, ids: np.ndarray) -> PackedBatch | None:
        """Take one document; returns the windows this closed (None when none did)."""
        ids, doc, n = self._take(ids)
        L = self.seq_len
        if n == 0:
            return None
        if n <= L:
            self.documents_fit += 1
            if n == L:
                self._full.append((doc, 0, ids))
                self._order.append((1, len(self._full) - 1))
            else:
                self._pending.append((doc, 0, ids))
        else:
            whole = n // L
            for k in range(whole):
                self._full.append((doc, k * L, ids[k * L : (k + 1) * L]))
                self._order.append((1, len(self._full) - 1))
            if n % L:
                self._pending.append((doc, whole * L, ids[whole * L :]))
        if len(self._pending) >= self.lookahead:
            self._place()
            return self._emit()
        if len(self._full) >= self.lookahead:
            return self._emit()
        return None

    def flush(self) -> PackedBatch | None:
        """Place what is pending and close every open window (oldest first)."""
        self._place()
        self._order.extend((0, b) for b in sorted(r % self._key for r in self._rooms))
        self._rooms = []
        return self._emit()

    # -- best-fit decreasing over the pending pieces ---------------------------------------
    def _place(self) -> None:
        pieces = self._pending
        self._pending = []
        if not pieces:
            return
        lengths = np.fromiter((p[2].size for p in pieces), dtype=np.int64, count=len(pieces))
        order = np.argsort(-lengths, kind="stable")
        rooms, bins, key, L = self._rooms, self._bins, self._key, self.seq_len
        for i in order.tolist():
            size = int(lengths[i])
            j = bisect_left(rooms, size * key)
            if j < len(rooms):
                code = rooms.pop(j)
                b, room = code % key, code // key - size
            else:
                b, room = self._next_bin, L - size
                self._next_bin += 1
                bins[b] = []
            bins[b].append(pieces[i])
            if room == 0:
                self._order.append((0, b))
            else:
                insort(rooms, room * key + b)
        if len(rooms) > self.max_open:  # close the fullest: least padding lost
            excess = len(rooms) - self.max_open
            self._order.extend((0, c % key) for c in rooms[:excess])
            del rooms[:excess]

    def _emit(self) -> PackedBatch | None:
        if not self._order:
            return None
        windows = [[self._full[idx]] if kind else self._bins.pop(idx) for kind, idx in self._order]
        self._order, self._full = [], []
        batch = materialise(windows, self.seq_len, self.pad_id)
        self.windows += len(batch)
        self.padding += int((batch.segment_ids == 0).sum())
        return batch


class ConcatPacker(_Packer):
    """The concatenated stream cut every `seq_len` tokens, with the same boundaries as
    `BestFitPacker` gives (a document crossing a window edge is two pieces); only the last
    window of a shard is padded. Same interface, so the two are measured alike."""

    def __init__(self, seq_len: int, pad_id: int = 0, lookahead: int = 1024, build: bool = True):
        check_seq_len(seq_len)
        self.seq_len, self.pad_id, self.lookahead = int(seq_len), int(pad_id), int(lookahead)
        self.build = build  # False: count windows, padding and cuts only (nothing to write)
        self._open: list[tuple[int, int, np.ndarray]] = []
        self._fill = 0
        self._done: list[list[tuple[int, int, np.ndarray]]] = []
        self.documents = self.documents_fit = self.documents_cut = 0
        self.tokens = self.windows = self.padding = 0

    def add(self, ids: np.ndarray) -> PackedBatch | None:
        ids, doc, n = self._take(ids)
        L = self.seq_len
        if n <= L:
            self.documents_fit += 1
            if self._fill + n > L:
                self.documents_cut += 1
        pos = 0
        while pos < n:
            take = min(L - self._fill, n - pos)
            self._open.append((doc, pos, ids[pos : pos + take]))
            self._fill += take
            pos += take
            if self._fill == L:
                self._done.append(self._open)
                self._open, self._fill = [], 0
        if len(self._done) >= self.lookahead:
            return self._emit()
        return None

    def flush(self) -> PackedBatch | None:
        if self._open:
            self._done.append(self._open)
            self._open, self._fill = [], 0
        return self._emit()

    def _emit(self) -> PackedBatch | None:
        if not self._done:
            return None
        if not self.build:
            self.windows += len(self._done)
            self.padding += sum(self.seq_len - sum(p[2].size for p in w) for w in self._done)
            self._done = []
            return None
        batch = materialise(self._done, self.seq_len, self.pad_id)
        self._done = []
        self.windows += len(batch)
        self.padding += int((batch.segment_ids == 0).sum())
        return batch


def materialise(windows: list[list[tuple[int, int, np.ndarray]]], seq_len: int, pad_id: int) -> PackedBatch:
    """Windows given as lists of (document, offset, tokens) pieces -> one PackedBatch, each
    window padded to `seq_len`. Built with one concatenate and a few repeats (memory-speed
    copies, no per-token Python)."""
    L = seq_len
    parts: list[np.ndarray] = []
    lengths: list[int] = []  # per part, pads included
    segs: list[int] = []
    rows: list[tuple[int, int, int, int, int]] = []
    pad = np.full(L, pad_id, dtype=np.int64)
    for w, pieces in enumerate(windows):
        used = 0
        for s, (doc, offset, arr) in enumerate(pieces, 1):
            n = arr.size
            parts.append(arr)
            lengths.append(n)
            segs.append(s)
            rows.append((w, s, doc, offset, n))
            used += n
        if used < L:
            parts.append(pad[: L - used])
            lengths.append(L - used)
            segs.append(0)
        elif used > L:
            raise AssertionError(f"window {w} holds {used} tokens, more than {L}")
    n_win = len(windows)
    if not n_win:
        z = np.zeros((0, L), np.int32)
        return PackedBatch(z.astype(np.int64), z, z, np.zeros((0, 5), np.int64))
    lens = np.array(lengths, dtype=np.int64)
    seg = np.array(segs, dtype=np.int32)
    tokens = np.concatenate(parts).astype(np.int64, copy=False)
    segment_ids = np.repeat(seg, lens)
    starts = np.cumsum(lens) - lens
    positions = (np.arange(n_win * L, dtype=np.int32) - np.repeat(starts.astype(np.int32), lens))
    positions[segment_ids == 0] = 0
    return PackedBatch(tokens.reshape(n_win, L), segment_ids.reshape(n_win, L), positions.reshape(n_win, L),
                       np.array(rows, dtype=np.int64).reshape(-1, 5))
