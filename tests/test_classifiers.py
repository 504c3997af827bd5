"""fastText quality classifiers: training with a held-out split, scoring, thresholds per domain,
and the errors a user sees for a missing or wrong model file."""

from __future__ import annotations

import json
import random

import pyarrow as pa
import pytest

from classifiers.fasttext_quality import QualityClassifier, auc, metrics
from curator.cli import main as curator
from curator.errors import EnvironmentProblem, ManifestError
from curator.schema import DOC_SCHEMA
from curator.train import read_documents, split, train_quality
from stages.quality import FastTextQuality
from tests.conftest import ROOT

SUBJECTS = ["The town council", "A small museum", "The night train", "Our garden club", "The old mill",
            "A local baker", "The river ferry", "The school choir", "A volunteer group", "The library"]
VERBS = ["opened", "restored", "described", "celebrated", "repaired", "documented", "welcomed", "planned"]
OBJECTS = ["a new reading room for the winter months", "the wooden wheel that once ground flour",
           "an exhibition about the first railway", "a timetable that suits early workers",
           "the records of the parish since 1820", "a path along the flooded meadows",
           "the bakery's oldest recipe for rye bread", "a series of talks on the night sky"]
TAILS = ["after two years of careful work.", "with help from local families.", "despite a difficult spring.",
         "and visitors came from the whole valley.", "because many people had asked for it."]
SPAM = ["buy", "cheap", "best", "price", "click", "here", "free", "shipping", "casino", "bonus", "deal",
        "discount", "online", "now", "offer", "order", "today", "win", "cash", "fast", "loans", "pills"]


def prose(rng: random.Random) -> str:
    return " ".join(f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}"
                    for _ in range(rng.randint(4, 9)))


def junk(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return " ".join(rng.choice(SPAM) for _ in range(rng.randint(30, 80)))
    return "\n".join(f"{rng.choice(SPAM).title()} {rng.choice(SPAM)} - {rng.randint(1, 99)}.99 | click here"
                     for _ in range(rng.randint(5, 15)))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained from two JSONL/TXT sets the test writes, with a 25% held-out split."""
    d = tmp_path_factory.mktemp("quality")
    rng = random.Random(7)
    pos = [prose(rng) for _ in range(160)]
    neg = [junk(rng) for _ in range(160)]
    (d / "pos.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in pos))
    (d / "neg.txt").write_text("".join(" ".join(t.split()) + "\n" for t in neg))
    logs: list[str] = []
    result = train_quality([str(d / "pos.jsonl")], [str(d / "neg.txt")], str(d / "q.bin"), holdout=0.25,
                           log=logs.append)
    return d, result, logs, pos, neg


def test_trained_classifier_separates_held_out_documents(trained):
    d, result, logs, pos, neg = trained
    assert result["held_out_positive"] > 20 and result["held_out_negative"] > 20
    assert result["auc"] > 0.9
    assert result["precision"] > 0.9 and result["recall"] > 0.9
    assert any("AUC" in line for line in logs)
    assert json.loads((d / "q.bin.json").read_text())["auc"] == result["auc"]
    # the saved model scores the held-out documents the same way the report says
    _, test, _ = split(read_documents([str(d / "pos.jsonl")]), read_documents([str(d / "neg.txt")]), 0.25, 0)
    _, scores = QualityClassifier(str(d / "q.bin")).predict([t for _, t in test])
    assert auc([y for y, _ in test], scores) == pytest.approx(result["auc"])


def test_training_is_deterministic(trained, tmp_path):
    d, result, _, _, _ = trained
    again = train_quality([str(d / "pos.jsonl")], [str(d / "neg.txt")], str(tmp_path / "q.bin"),
                          holdout=0.25, log=lambda _: None)
    assert (tmp_path / "q.bin").read_bytes() == (d / "q.bin").read_bytes()
    assert again["auc"] == result["auc"]


def test_cli_trains_from_a_previous_runs_parquet(trained, tmp_path, capsys):
    """`curator train quality` reads a phase directory: only kept rows (drop_reason null)."""
    import pyarrow.parquet as pq

    _, _, _, pos, neg = trained
    phase = tmp_path / "annotated"
    phase.mkdir()
    rows = [{"text": t, "drop_reason": None} for t in pos[:100]]
    rows += [{"text": "buy cheap now " * 20, "drop_reason": "gopher_quality.word_count"}]  # not read
    pq.write_table(pa.Table.from_pylist(rows), phase / "part-00000.parquet")
    assert len(read_documents([str(phase)])) == 100
    neg_file = tmp_path / "neg.jsonl"
    neg_file.write_text("".join(json.dumps({"text": t}) + "\n" for t in neg[:100]))
    rc = curator(["train", "quality", "--positive", str(phase), "--negative", str(neg_file),
                  "--out", str(tmp_path / "m.bin"), "--epoch", "10"])
    out = capsys.readouterr().out
    assert rc == 0 and "precision" in out and "recall" in out and "AUC" in out
    assert (tmp_path / "m.bin").is_file()


def test_training_input_errors(tmp_path, capsys):
    assert curator(["train", "quality", "--positive", str(tmp_path / "nope.txt"), "--negative",
                    str(tmp_path / "nope2.txt"), "--out", str(tmp_path / "m.bin")]) == 2
    assert "nope.txt" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\nnot json\n')
    with pytest.raises(ManifestError, match=r"bad.jsonl:2"):
        read_documents([str(bad)])


def test_auc_and_metrics():
    assert auc([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1]) == 1.0
    assert auc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]) == 0.0
    assert auc([1, 0], [0.5, 0.5]) == 0.5  # ties count one half
    assert auc([1, 0, 1, 0], [0.8, 0.6, 0.4, 0.2]) == 0.75
    m = metrics([1, 1, 0, 0], [0.9, 0.4, 0.6, 0.1])
    assert m["precision"] == 0.5 and m["recall"] == 0.5


def batch(texts: list[str], domains: list[str]) -> pa.RecordBatch:
    rows = [{"id": str(i), "source": "s", "kind": "warc", "domain": dom, "url": f"https://x.example/{i}",
             "text": t, "lang": "en", "lang_score": 1.0, "meta": [], "drop_reason": None}
            for i, (t, dom) in enumerate(zip(texts, domains))]
    return pa.RecordBatch.from_pylist(rows, schema=DOC_SCHEMA)


def test_stage_scores_and_thresholds_per_domain(trained):
    d, _, _, _, _ = trained
    rng = random.Random(99)
    good, bad = prose(rng), junk(rng)
    stage = FastTextQuality({"model": str(d / "q.bin"), "min_score": 0.5, "min_score_by_domain": {"books": 1.01}})
    out = stage.apply(batch([good, bad, good], ["web", "web", "books"])).to_pylist()
    assert out[0]["quality_score"] > 0.5 > out[1]["quality_score"]
    assert out[0]["quality_label"] == "hq" and out[1]["quality_label"] == "cc"
    assert [r["drop_reason"] for r in out] == [None, "fasttext_quality.low_score", "fasttext_quality.low_score"]
    # scoring only: the scores are kept, nothing is dropped
    kept = FastTextQuality({"model": str(d / "q.bin"), "min_score": None}).apply(batch([bad], ["web"]))
    assert kept.to_pylist()[0]["drop_reason"] is None


def test_bundled_demo_model_is_a_quality_classifier():
    """manifests/sample/quality.bin (made by scripts/make_quality_model.py) loads and ranks prose first."""
    clf = QualityClassifier(str(ROOT / "manifests" / "sample" / "quality.bin"))
    _, (p, j) = clf.predict([
        "The committee agreed that every new tenant will receive a bag of seed potatoes and a copy of the "
        "site rules. Raised beds warm up faster in spring and are kinder to the back.",
        "buy now cheap best price click here free shipping casino bonus order today add to cart",
    ])
    assert p > 0.5 > j


def test_missing_or_wrong_model_files(tmp_path):
    with pytest.raises(EnvironmentProblem, match="not found: .*missing.bin"):
        QualityClassifier(str(tmp_path / "missing.bin"))
    junk_file = tmp_path / "notamodel.bin"
    junk_file.write_bytes(b"this is not a fastText model\n" * 10)
    with pytest.raises(EnvironmentProblem, match="notamodel.bin"):
        QualityClassifier(str(junk_file))


def test_missing_positive_label(trained):
    d, _, _, _, _ = trained
    with pytest.raises(EnvironmentProblem, match=r"no label 'good'.*hq"):
        QualityClassifier(str(d / "q.bin"), positive_label="good")
