"""The demo manifest end to end on local Spark: shards Megatron reads, stats that add up,
byte-identical re-runs, resume, and the same result through spark-submit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from curator.pipeline import OUTPUT_DIRS, PHASES, Pipeline
from tests.conftest import DEMO, ROOT, demo_manifest_copy, shard_hashes, shared


def shard_manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "shards" / "manifest.json").read_text())


def test_megatron_reads_the_shards_with_the_stated_counts(demo_run):
    from megatron.core.datasets.indexed_dataset import IndexedDataset

    m, _, _ = demo_run
    run_dir = m.run_dir
    manifest = shard_manifest(run_dir)
    eos = manifest["tokenizer"]["eos_id"]
    assert manifest["tokenizer"]["vocab_size"] == 50257 and eos == 50256
    assert sorted(manifest["seq_lens"], key=int) == ["512", "2048"]
    streams = {}
    for n, entry in manifest["seq_lens"].items():
        tokens = seqs = 0
        parts = []
        assert entry["shards"], n
        for shard in entry["shards"]:
            prefix = str(run_dir / "shards" / shard["files"]["megatron"]["files"][0]).removesuffix(".bin")
            ds = IndexedDataset(prefix)
            lengths = ds.sequence_lengths
            # best_fit: one Megatron sequence per document copy (GPTDataset builds the samples)
            assert len(ds) == shard["documents"]
            assert int(lengths.sum()) == shard["tokens"]
            data = np.concatenate([ds[i] for i in range(len(ds))])
            assert data.dtype == np.uint16
            assert int((data == eos).sum()) == shard["documents"]  # one EOS per document copy
            assert all(ds[i][-1] == eos for i in range(len(ds)))
            parts.append(data)
            tokens += shard["tokens"]
            seqs += shard["sequences"]
        assert tokens == entry["tokens"] and seqs == entry["sequences"]
        packed = entry["packing_stats"]
        assert packed["packing"] == "best_fit" and packed["documents_cut"] == 0 and packed["windows"] == seqs
        assert packed["windows"] * int(n) == tokens + packed["padding_tokens"]
        assert sum(packed["length_histogram"]) == entry["documents"]
        streams[n] = np.concatenate(parts)
    # each sequence length packs the same stream
    assert np.array_equal(streams["512"], streams["2048"])
    mix = json.loads((run_dir / "stats" / "mixed.json").read_text())
    assert manifest["seq_lens"]["512"]["tokens"] == mix["tokens_out"]


def test_stats_add_up_for_every_phase_and_domain(demo_run):
    m, results, _ = demo_run
    previous = None
    for phase in PHASES[:-1]:
        stats = json.loads((m.run_dir / "stats" / f"{OUTPUT_DIRS[phase]}.json").read_text())
        for domain, d in stats["domains"].items():
            assert d["docs_in"] == d["kept"] + sum(d["dropped"].values()), (phase, domain)
            if previous is not None:
                assert d["docs_in"] == previous["domains"][domain]["kept"], (phase, domain)
        previous = stats
    assert set(previous["domains"]) == {"web", "code"}
    assert all(d["kept"] > 0 for d in previous["domains"].values())


def test_demo_exercises_every_filter(demo_run):
    m, _, _ = demo_run
    dropped: dict[str, int] = {}
    for name in ("extracted", "annotated", "deduped", "tokenized", "mixed"):
        for reason, n in json.loads((m.run_dir / "stats" / f"{name}.json").read_text())["dropped"].items():
            dropped[reason] = dropped.get(reason, 0) + n
    for reason in ("warc.skip_request", "warc.not_html", "warc.http_status",
                   "gopher_quality.word_count", "dedup.exact", "code.binary"):
        assert dropped.get(reason, 0) > 0, (reason, dropped)
    # other languages: at the pre-check before extraction, or by langid after it
    assert dropped.get("langid.precheck", 0) + dropped.get("langid.language", 0) >= 6, dropped
    annotated = pq.read_table(m.run_dir / "annotated").to_pylist()
    langs = {r["lang"] for r in annotated if r["domain"] == "web" and r["drop_reason"] is None}
    assert {"en", "de", "fr", "es"} <= langs
    assert (m.run_dir / "rejected" / "dedup.exact.jsonl").is_file()
    report = (m.run_dir / "report.html").read_text()
    assert "Funnel" in report and "gopher_quality" in report


def test_rerun_skips_every_phase_and_keeps_shards(demo_run, spark):
    m, _, _ = demo_run
    before = (m.run_dir / "shards" / "manifest.json").read_bytes()
    logs: list[str] = []
    results = Pipeline(m, spark=spark, log=logs.append).run()
    assert all(r.skipped for r in results.values()), logs
    assert (m.run_dir / "shards" / "manifest.json").read_bytes() == before


def test_fresh_run_gives_byte_identical_shards(demo_run, spark, tmp_path):
    from curator.manifest import load

    m, _, _ = demo_run
    other = load(DEMO)
    other.output.dir = str(tmp_path)
    Pipeline(other, spark=spark, log=lambda s: None).run()
    assert shard_hashes(other.run_dir) == shard_hashes(m.run_dir)
    for _n, entry in shard_manifest(m.run_dir)["seq_lens"].items():
        for shard in entry["shards"]:
            for d in shard["files"].values():
                for path in d["files"]:
                    a = (m.run_dir / "shards" / path).read_bytes()
                    assert a == (other.run_dir / "shards" / path).read_bytes()


def test_interrupted_run_resumes_from_last_finished_phase(demo_run, spark, tmp_path):
    from curator.manifest import load

    m, _, _ = demo_run
    other = load(DEMO)
    other.output.dir = str(tmp_path)
    first = Pipeline(other, spark=spark, log=lambda s: None).run(until="dedup")
    assert list(first) == ["extract", "annotate", "dedup"]
    (other.run_dir / "tokenized.tmp-killed").mkdir()  # what a killed run leaves behind
    results = Pipeline(other, spark=spark, log=lambda s: None).run()
    assert [p for p, r in results.items() if r.skipped] == ["extract", "annotate", "dedup"]
    assert not any(p.name.endswith("tmp-killed") for p in other.run_dir.iterdir())
    assert shard_hashes(other.run_dir) == shard_hashes(m.run_dir)


def test_changed_setting_reruns_from_that_phase(demo_run, spark, tmp_path):
    import shutil

    from curator.manifest import load

    m, _, _ = demo_run
    other = load(DEMO)
    other.output.dir = str(tmp_path)
    shutil.copytree(m.run_dir, other.run_dir)
    other.mixture.seed = 99
    results = Pipeline(other, spark=spark, log=lambda s: None).run()
    assert [p for p, r in results.items() if not r.skipped] == ["mix", "shards"]


def test_cc_sample_languages(spark, tmp_path):
    """Real Common Crawl pages in several languages come out with the right codes."""
    from curator.manifest import parse

    warc = shared("warc/cc-format-sample.warc.gz")
    m = parse(
        {
            "run": "cc",
            "sources": [{"name": "cc", "kind": "warc", "inputs": [str(warc)], "domain": "web"}],
            "stages": [{"langid": {}}],
            "mixture": {"weights": {"web": 1}},
            "output": {"dir": str(tmp_path)},
        }
    )
    Pipeline(m, spark=spark, log=lambda s: None).run(until="annotate")
    rows = pq.read_table(m.run_dir / "annotated").to_pylist()
    lang = {dict(r["meta"])["host"]: r["lang"] for r in rows}
    assert len(rows) == 16
    expected = {
        "01spb.ru": "ru", "0900-hovenier.nl": "nl", "06.live-radsport.ch": "de",
        "0513mt.com": "zh", "035.psb556.com": "zh", "0755krk.com": "zh",
    }
    assert {h: lang.get(h) for h in expected} == expected


def test_spark_submit_runs_the_same_pipeline(demo_run, tmp_path):
    m, _, _ = demo_run
    manifest = demo_manifest_copy(tmp_path, tmp_path / "runs")
    submit = Path(sys.executable).parent / "spark-submit"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
           "SPARK_LOCAL_IP": "127.0.0.1"}
    proc = subprocess.run(
        [str(submit), "--master", "local[2]", "--driver-memory", "2g", str(ROOT / "jobs" / "curate.py"), str(manifest)],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert shard_hashes(tmp_path / "runs" / "demo") == shard_hashes(m.run_dir)


def test_statistics_warm_up_runs_on_an_empty_file_beside_the_write(spark, tmp_path, monkeypatch):
    """With `warm_up`, the phase's statistics run once on an empty file of its schema while
    the write runs, then on the written rows: the counts are those of the rows, and the
    warm-up file stays inside the phase's temporary folder (removed with it)."""
    from curator import stats as ledger
    from curator.manifest import load
    from curator.schema import DOC_SCHEMA, spark_schema

    seen = []
    real = ledger.funnel_and_samples
    monkeypatch.setattr(ledger, "funnel_and_samples", lambda df, *a, **k: (seen.append(df.count()), real(df, *a, **k))[1])
    def slow_rows(batches):  # a document per number, half a second after reading it
        import time

        import pyarrow as pa

        for b in batches:
            time.sleep(0.5)
            yield pa.RecordBatch.from_pylist([{"id": f"doc-{i}", "domain": "web", "text": "words"}
                                              for i in b.column("id").to_pylist()], schema=DOC_SCHEMA)

    m = load(DEMO)
    m.output.dir = str(tmp_path / "runs")
    df = spark.range(0, 3, 1, 3).mapInArrow(slow_rows, spark_schema(DOC_SCHEMA))
    out = tmp_path / "phase.tmp-x" / "extracted"
    stats, _ = Pipeline(m, spark=spark)._finish(df, out, "extract", None, warm_up=True)
    assert seen == [0, 3]  # the empty warm-up file, then the written rows
    assert stats["domains"]["web"]["docs_in"] == stats["domains"]["web"]["kept"] == 3
    assert sorted(p.name for p in out.parent.iterdir()) == ["extracted", "warm-up"]
