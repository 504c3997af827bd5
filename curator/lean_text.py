"""Dropped rows are written without their text, except the few the rejected samples can pick.

A dropped document's text is read again only for `rejected/<reason>.jsonl`: the first
`output.rejected_samples` documents of each reason by id (curator/pipeline.py). Each worker
keeps, per reason, the n smallest ids it has seen so far and clears the text of any dropped row
that is not among them when it passes. The global first n by id of a reason are among the
first n of every partition that holds them, so they always keep their text and the samples are
exactly those of a run that wrote every text, while the phase writes the text of about
n x ln(rows) dropped rows per partition and reason instead of all of them (most of a Common
Crawl page set is dropped by language ID alone).
"""

from __future__ import annotations

import bisect

import pyarrow as pa
import pyarrow.compute as pc


class DroppedText:
    """Clears the text of dropped rows that cannot be a rejected sample (one per partition)."""

    def __init__(self, samples: int):
        self.samples = samples
        self.smallest: dict[str, list[str]] = {}  # reason -> up to `samples` ids, sorted

    def _may_be_sampled(self, reason: str, doc_id: str) -> bool:
        ids = self.smallest.setdefault(reason, [])
        if len(ids) == self.samples and (not ids or doc_id >= ids[-1]):
            return False
        bisect.insort(ids, doc_id)
        if len(ids) > self.samples:
            ids.pop()
        return True

    def thin(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        dropped = pc.fill_null(pc.is_valid(batch.column("drop_reason")), False)
        if not pc.any(dropped).as_py():
            return batch
        reasons = batch.column("drop_reason").to_pylist()
        ids = batch.column("id").to_pylist()
        clear = [r is not None and not self._may_be_sampled(r, i or "") for r, i in zip(reasons, ids)]
        if not any(clear):
            return batch
        i = batch.schema.get_field_index("text")
        text = pc.if_else(pa.array(clear), pa.scalar("", batch.schema.field(i).type), batch.column(i))
        return batch.set_column(i, batch.schema.field(i), text)
