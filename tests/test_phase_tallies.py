"""A phase's statistics come from one aggregate over what it wrote: the funnel with the rejected
samples, and for extract the record tally, cascade, per-file problems and licences together.
These check that each figure is what its plain definition gives."""

from __future__ import annotations

SCHEMA = "id string, domain string, text string, drop_reason string, url string, meta map<string,string>"


def _frame(spark, rows):
    return spark.createDataFrame(rows, SCHEMA)


def test_rejected_samples_are_the_smallest_ids_of_each_reason_over_all_domains(spark):
    from curator.stats import funnel_and_samples

    rows = []
    for k in range(30):  # reason "a" in two domains, interleaved ids; "b" in one; kept rows in both
        rows.append((f"id{k:02d}", "web" if k % 2 else "code", f"text {k}", "a" if k % 3 else "b", None, {"task": "0"}))
    rows += [(f"kept{k}", "web", "kept text", None, None, {}) for k in range(5)]
    stats, samples = funnel_and_samples(_frame(spark, rows), {"web": 20, "code": 15}, "annotate", 4)

    by_reason: dict[str, list[str]] = {}
    for r in sorted((r for r in rows if r[3]), key=lambda r: r[0]):
        by_reason.setdefault(r[3], []).append(r[0])
    assert [(s["drop_reason"], s["id"]) for s in samples] == [
        (reason, i) for reason in sorted(by_reason) for i in by_reason[reason][:4]]
    assert list(samples[0]) == ["id", "domain", "text", "drop_reason", "url", "meta"]  # meta last, as written
    assert samples[0]["text"] == "text 1" and samples[0]["meta"] == {"task": "0"}
    assert stats["kept"] == 5 and stats["dropped"] == {"a": 20, "b": 10}
    assert stats["domains"]["web"]["dropped"] == {"a": 10, "b": 5}

    none = funnel_and_samples(_frame(spark, rows), None, "annotate", 0)
    assert none[1] == [] and none[0] == stats


def test_extract_tallies_count_records_cascade_problems_and_licences_in_one_pass(spark):
    from curator.stats import extract_tallies

    def row(i, task, rec, reason=None, read=None, **meta):
        m = {"task": task, "record": str(rec), "warc_file": f"/data/f{task}.warc.gz", **meta}
        if read is not None:
            m["task_records"] = str(read)
        return (f"r{i}", "web", "" if reason else "some text", reason, f"https://x.example/{i}", m)

    rows = [
        row(0, "0", 0, extract_ms="10.0", precheck_ms="1.0"),
        row(1, "0", 1, "langid.precheck", skipped_extraction="1", precheck_ms="2.0"),
        row(2, "0", 2, "langid.precheck", skipped_extraction="1", precheck_ms="1.0"),
        row(3, "0", 3, "warc.truncated", read=4),
        row(4, "1", 0, extract_ms="30.0", precheck_ms="1.0", license="MIT"),
        row(5, "1", 1, "code.license", license="GPL-3.0-only"),
        row(6, "1", 1, "warc.bad_payload", read=3, license="MIT"),  # record 1 twice, record 2 lost
    ]
    t = extract_tallies(_frame(spark, rows), 2)

    rec = t["records"]
    assert (rec["tasks"], rec["tasks_with_rows"], rec["records_read"], rec["record_rows"]) == (2, 2, 7, 7)
    assert (rec["lost_records"], rec["duplicate_rows"]) == (1, 1)
    assert rec["problems"] == [{"task": "1", "file": "/data/f1.warc.gz", "read": 3, "rows": 3, "distinct": 2}]

    cascade = t["cascade"]
    assert cascade["rules"] == {"langid.precheck": {"pages_saved": 2, "seconds_saved": 0.02}}  # 2 x task 0's 10 ms
    assert (cascade["pages_extracted"], cascade["pages_prechecked"], cascade["precheck_seconds"]) == (2, 4, 0.005)

    assert t["problems_by_file"] == {"/data/f0.warc.gz": {"warc.truncated": 1},
                                     "/data/f1.warc.gz": {"warc.bad_payload": 1}}
    assert t["licenses"] == {"MIT": {"kept": 1, "dropped": 1}, "GPL-3.0-only": {"kept": 0, "dropped": 1}}
