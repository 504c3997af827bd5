"""Dropped rows are written without their text, and nobody can tell from the samples, the
kept set or the stats (curator/lean_text.py)."""

import json
import random

import pyarrow as pa
import pyarrow.parquet as pq

from curator.lean_text import DroppedText
from curator.schema import DOC_SCHEMA


def _batch(rows):
    return pa.RecordBatch.from_pylist([{"meta": {}, **r} for r in rows], schema=DOC_SCHEMA)


def test_the_first_ids_of_each_reason_keep_their_text_in_every_partition():
    rng = random.Random(7)
    rows = [{"id": f"doc-{rng.randrange(10**9):09d}", "text": f"text {i}",
             "drop_reason": rng.choice([None, None, "a.x", "b.y", "c.z"])} for i in range(6000)]
    parts = [rows[i::4] for i in range(4)]  # four partitions, each in its own worker
    written = []
    for part in parts:
        lean = DroppedText(samples=5)
        for start in range(0, len(part), 100):
            written += lean.thin(_batch(part[start:start + 100])).to_pylist()
    by_id = {r["id"]: r for r in written}
    for r in rows:  # kept rows are untouched
        if r["drop_reason"] is None:
            assert by_id[r["id"]]["text"] == r["text"]
    for reason in ("a.x", "b.y", "c.z"):
        first = sorted(r["id"] for r in rows if r["drop_reason"] == reason)[:5]
        assert [by_id[i]["text"] for i in first] == [next(r["text"] for r in rows if r["id"] == i) for i in first]
    with_text = sum(1 for r in written if r["drop_reason"] and r["text"])
    dropped = sum(1 for r in rows if r["drop_reason"])
    assert with_text < dropped / 10  # about n x ln(rows) per partition and reason, not all


def test_no_samples_clears_every_dropped_text_and_none_keeps_them():
    rows = [{"id": str(i), "text": "t", "drop_reason": "r" if i % 2 else None} for i in range(10)]
    lean = DroppedText(samples=0).thin(_batch(rows)).to_pylist()
    assert [r["text"] for r in lean] == ["t", ""] * 5


def _run_until_annotate(spark, tmp_path, name, **output):
    from curator.manifest import load
    from curator.pipeline import Pipeline
    from tests.conftest import DEMO

    m = load(DEMO)
    m.output.dir = str(tmp_path / name)
    for k, v in output.items():
        setattr(m.output, k, v)
    Pipeline(m, spark=spark, log=lambda s: None).run(until="annotate")
    return m.run_dir


def test_lean_phases_give_the_same_samples_kept_set_and_stats(spark, tmp_path):
    lean = _run_until_annotate(spark, tmp_path, "lean", rejected_samples=2)
    full = _run_until_annotate(spark, tmp_path, "full", rejected_samples=2, dropped_text="all")

    def rows(run, phase):
        return sorted(pq.read_table(run / phase).to_pylist(), key=lambda r: r["id"])

    for phase in ("extracted", "annotated"):
        a, b = rows(lean, phase), rows(full, phase)
        assert [(r["id"], r["drop_reason"]) for r in a] == [(r["id"], r["drop_reason"]) for r in b]
        assert [r["text"] for r in a if r["drop_reason"] is None] == [r["text"] for r in b if r["drop_reason"] is None]
        sa, sb = (json.loads((run / "stats" / f"{phase}.json").read_text()) for run in (lean, full))
        assert sa["domains"] == sb["domains"]
    cleared = [r for r in rows(lean, "annotated") if r["drop_reason"] and not r["text"]]
    assert cleared  # the demo drops more than two documents for some reason in annotate
    samples = sorted(p.name for p in (full / "rejected").glob("*.jsonl"))
    assert samples == sorted(p.name for p in (lean / "rejected").glob("*.jsonl"))
    def sampled(run, name):  # meta holds the milliseconds each page took, which vary
        return [{k: v for k, v in json.loads(line).items() if k != "meta"}
                for line in (run / "rejected" / name).read_text().splitlines()]

    assert any(d["text"] for d in sampled(lean, "gopher_quality.bullet_lines.jsonl"))
    for name in samples:
        assert sampled(lean, name) == sampled(full, name), name
    written = [json.loads((run / "stats" / "annotated.json").read_text())["bytes_written"] for run in (lean, full)]
    assert 0 < written[0] < written[1]
