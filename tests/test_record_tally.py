"""Records counted as read: every record a reader took has exactly one row, or the extract
phase fails its accounting (exit 4) naming the file."""

from __future__ import annotations

import pytest

from curator.errors import AccountingError
from curator.manifest import ExtractSettings
from tests import hostile_inputs as H


def test_each_task_row_is_tagged_and_the_last_carries_the_records_read(tmp_path):
    from curator.pipeline import _task_rows

    path = tmp_path / "three.warc.gz"
    path.write_bytes(b"".join(H.record(k, f"https://t.example/{k}", H.article(str(k))) for k in range(3)))
    rows = list(_task_rows(7, ("web", "web", "warc", str(path)), ExtractSettings(), {"web": {"snapshot": None}}))
    assert [r["meta"]["task"] for r in rows] == ["7"] * 3
    assert [r["meta"]["record"] for r in rows] == ["0", "1", "2"]
    assert [r["meta"].get("task_records") for r in rows] == [None, None, "3"]


def _rows(spark, records: list[tuple[str, str | None, str | None]]):
    """A frame of extract rows from (task, record, task_records) triples."""
    from pyspark.sql import Row

    out = []
    for k, (task, rec, read) in enumerate(records):
        meta = {"task": task, "warc_file": f"file-{task}.warc.gz"}
        if rec is not None:
            meta["record"] = rec
        if read is not None:
            meta["task_records"] = read
        out.append(Row(id=str(k), meta=meta))
    return spark.createDataFrame(out, "id string, meta map<string,string>")


def test_a_record_without_its_row_fails_the_accounting(spark):
    from curator.stats import check_records, record_tally

    whole = record_tally(_rows(spark, [("0", "0", None), ("0", "1", "2"), ("1", None, "0")]), 2)
    assert (whole["records_read"], whole["record_rows"], whole["lost_records"], whole["problems"]) == (2, 2, 0, [])
    check_records(whole)

    # task 0 read 3 records, but the reader gave up after the second and wrote a file-level row
    lost = record_tally(_rows(spark, [("0", "0", None), ("0", "1", None), ("0", None, "3")]), 1)
    assert lost["lost_records"] == 1
    with pytest.raises(AccountingError, match=r"file-0\.warc\.gz read 3 records but wrote 2") as err:
        check_records(lost)
    assert err.value.exit_code == 4

    dup = record_tally(_rows(spark, [("0", "0", None), ("0", "0", "1")]), 1)
    assert dup["duplicate_rows"] == 1
    with pytest.raises(AccountingError):
        check_records(dup)


def test_a_row_arrow_refuses_is_repaired_not_fatal():
    """A lone surrogate or a non-string meta value that slipped past a reader costs nothing:
    the batch is built with that row repaired, its record number kept."""
    from curator.pipeline import _to_batch

    good = {"id": "a", "source": "s", "kind": "code", "domain": "code", "url": "r/a.py", "text": "x = 1\n",
            "lang": None, "lang_score": None, "meta": {"record": "0", "task": "3"}, "drop_reason": None}
    odd = {**good, "id": "b", "text": "x = 1 # \ud800\n", "meta": {"record": "1", "task": "3", "n": 5}}
    batch = _to_batch([good, odd])
    rows = [{**r, "meta": dict(r["meta"])} for r in batch.to_pylist()]
    assert [r["id"] for r in rows] == ["a", "b"]
    assert rows[1]["text"] == "x = 1 # \ufffd\n" and rows[1]["meta"]["n"] == "5" and rows[1]["meta"]["repaired"] == "1"
    assert rows[1]["meta"]["record"] == "1" and "repaired" not in rows[0]["meta"]
