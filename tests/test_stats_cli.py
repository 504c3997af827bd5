"""`curator stats`, `inspect` and `diff` on the demo run: the numbers add up and agree with
the parquet each phase wrote; rejected documents can be read; a threshold change shows."""

from __future__ import annotations

import io
import json
import shutil
from collections import Counter

import pyarrow.dataset as ds
import pytest

from curator.cli import main
from curator.runstats import PHASE_DIRS


def stats_json(run_dir, capsys) -> tuple[int, dict]:
    rc = main(["stats", str(run_dir), "--json"])
    return rc, json.loads(capsys.readouterr().out)


def parquet_counts(run_dir, phase_dir) -> Counter:
    """(domain, drop_reason) -> rows, counted from the phase's parquet, not its ledger."""
    t = ds.dataset(str(run_dir / phase_dir), format="parquet").to_table(columns=["domain", "drop_reason"])
    return Counter(zip(t.column("domain").to_pylist(), t.column("drop_reason").to_pylist()))


def test_stats_json_adds_up_for_every_phase_and_domain(demo_run, capsys):
    m, _, _ = demo_run
    rc, info = stats_json(m.run_dir, capsys)
    assert rc == 0 and info["accounting_problems"] == []
    assert info["phases"] == ["extract", "annotate", "dedup", "tokenize", "mix"]
    rows = {(r["phase"], r["domain"]): r for r in info["funnel"]}
    assert {d for _, d in rows} == {"web", "code"}
    for phase in info["phases"]:
        counted = parquet_counts(m.run_dir, PHASE_DIRS[phase])
        for domain in ("web", "code"):
            r = rows[(phase, domain)]
            # docs in = kept + sum of drops, and the same numbers are in the phase's parquet
            assert r["docs_in"] == r["kept"] + sum(r["reasons"].values()) == r["kept"] + r["dropped"], (phase, domain)
            assert r["kept"] == counted[(domain, None)], (phase, domain)
            assert r["reasons"] == {k: n for (d, k), n in counted.items() if d == domain and k}, (phase, domain)
            assert r["docs_in"] == sum(n for (d, _), n in counted.items() if d == domain)
    for prev, phase in zip(info["phases"], info["phases"][1:]):
        for domain in ("web", "code"):
            assert rows[(phase, domain)]["docs_in"] == rows[(prev, domain)]["kept"], (prev, phase, domain)
    # tokens: in = kept + dropped; what the mixture realised is what every shard length holds
    for r in info["funnel"]:
        if "tokens_in" in r:
            assert r["tokens_in"] == r["tokens_kept"] + r["tokens_dropped"] > 0
    assert sum(m_["realised_tokens"] for m_ in info["mixture"]) == info["tokens_out"]
    assert {s["seq_len"] for s in info["shards"]} == {512, 2048}
    assert all(s["tokens"] == info["tokens_out"] and s["files"] >= 1 for s in info["shards"])
    # best_fit: no fitting document cut, padding counted, every document in the length histogram
    assert all(s["packing"] == "best_fit" and s["documents_cut_share"] == 0 and 0 < s["padding_share"] < 0.1
               and sum(s["length_histogram"]) == s["documents"] for s in info["shards"])
    # the per-language breakdown covers every dropped document exactly once
    per_reason = Counter()
    for d in info["drop_reasons"]:
        per_reason[(d["phase"], d["domain"], d["reason"])] += d["docs"]
    assert per_reason == Counter({(r["phase"], r["domain"], k): n for r in info["funnel"] for k, n in r["reasons"].items()})
    langs = {d["lang"] for d in info["drop_reasons"] if d["reason"] in ("langid.language", "langid.precheck")}
    assert langs and "-" not in langs and not langs & {"en", "de", "fr", "es", "zh"}
    assert info["dedup_cluster_sizes"]["exact"]["1"] > 0
    assert sum(int(s) * n for s, n in info["dedup_cluster_sizes"]["exact"].items()) == sum(
        rows[("dedup", d)]["docs_in"] for d in ("web", "code"))


def test_stats_fails_with_exit_4_when_a_run_does_not_add_up(demo_run, tmp_path, capsys):
    m, _, _ = demo_run
    run = tmp_path / "demo"
    shutil.copytree(m.run_dir / "stats", run / "stats")
    annotated = json.loads((run / "stats" / "annotated.json").read_text())
    annotated["domains"]["web"]["kept"] -= 1  # one document lost without a drop reason
    (run / "stats" / "annotated.json").write_text(json.dumps(annotated))
    rc, info = stats_json(run, capsys)
    assert rc == 4
    assert any(p.startswith("annotate web:") for p in info["accounting_problems"])
    assert any(p.startswith("dedup web:") and "annotate kept" in p for p in info["accounting_problems"])
    assert main(["stats", str(run)]) == 4
    assert "do not add up" in capsys.readouterr().out


def test_stats_tables_show_funnel_reasons_clusters_mixture(demo_run):
    from rich.console import Console

    from curator.report import print_stats

    m, _, _ = demo_run
    out = io.StringIO()
    print_stats(m.run_dir, console=Console(file=out, width=200))
    text = out.getvalue()
    for needle in ("funnel of", "drop reasons per domain and language", "gopher_quality.word_count",
                   "exact duplicate clusters", "mixture", "shards", "accounting: ok"):
        assert needle in text, needle


def test_stats_on_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["stats", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


def test_inspect_prints_rejected_documents_with_their_score(demo_run, capsys):
    from curator.report import inspect_rejected

    m, _, _ = demo_run
    reason = "gopher_quality.word_count"
    total = json.loads((m.run_dir / "stats" / "annotated.json").read_text())["dropped"][reason]
    docs = inspect_rejected(m.run_dir, reason, 100)
    assert len(docs) == total and [d["id"] for d in docs] == sorted(d["id"] for d in docs)
    assert all(d["drop_reason"] == reason and d["gopher_words"] < 50 for d in docs)
    assert len(inspect_rejected(m.run_dir, reason, 2)) == 2

    assert main(["inspect", str(m.run_dir), "--reason", reason, "-n", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("gopher_words = ") == 2 and "keep >= 50" in out
    assert docs[0]["url"] in out and "2 document(s) dropped for gopher_quality.word_count" in out

    assert main(["inspect", str(m.run_dir)]) == 0
    assert "langid.precheck" in capsys.readouterr().out  # the sample's it/pt pages, before extraction
    assert main(["inspect", str(m.run_dir), "--reason", "gopher_quality.nope"]) == 2
    err = capsys.readouterr().err
    assert "no document was dropped for 'gopher_quality.nope'" in err and reason in err


def test_documents_dropped_after_tokenize_are_shown_with_their_text(demo_run):
    """tokenized/ and mixed/ hold token ids, not text: `inspect` and rejected/ take the text
    of the documents they show from deduped/."""
    from curator.report import inspect_rejected

    m, _, _ = demo_run
    assert "text" not in ds.dataset(str(m.run_dir / "mixed"), format="parquet").schema.names
    dropped = json.loads((m.run_dir / "stats" / "mixed.json").read_text())["dropped"]
    assert dropped, "the demo's mixture drops documents"
    reason = sorted(dropped)[0]
    deduped = ds.dataset(str(m.run_dir / "deduped"), format="parquet").to_table(columns=["id", "text"])
    texts = dict(zip(deduped.column("id").to_pylist(), deduped.column("text").to_pylist()))
    docs = inspect_rejected(m.run_dir, reason, 3)
    assert len(docs) == min(3, dropped[reason]) and all(d["text"] and d["text"] == texts[d["id"]] for d in docs)
    sample = [json.loads(line) for line in (m.run_dir / "rejected" / f"{reason}.jsonl").read_text().splitlines()]
    assert sample and all(d["text"] == texts[d["id"]][:5000] for d in sample)


def test_diff_after_a_threshold_change(demo_run, spark, tmp_path, capsys):
    """Lowering Gopher's minimum word count keeps more short pages: diff names the setting and
    the changed drop counts, and the new report draws the new threshold."""
    from curator.manifest import load
    from curator.pipeline import Pipeline
    from curator.runstats import thresholds
    from tests.conftest import DEMO

    m, _, _ = demo_run
    other = load(DEMO)
    other.output.dir = str(tmp_path)
    shutil.copytree(m.run_dir, other.run_dir)
    next(s for s in other.stages if s.name == "gopher_quality").settings.min_doc_words = 30
    for s in other.stages:  # C4's minimum sentences would drop the short pages let through
        if s.name == "c4":
            s.settings.min_sentences = 1
    Pipeline(other, spark=spark, log=lambda s: None).run()

    assert main(["diff", str(m.run_dir), str(other.run_dir), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["same"] is False
    assert {"key": "stages[1].gopher_quality.min_doc_words", "a": 50, "b": 30} in d["settings"]
    word_count = next(r for r in d["drop_reasons"] if r["reason"] == "gopher_quality.word_count")
    assert word_count["change"] < 0 and word_count["a"] == 6
    web = next(r for r in d["funnel"] if (r["phase"], r["domain"]) == ("annotate", "web"))
    assert web["docs_in"]["change"] == 0  # extract was not re-run; every change is a drop that no longer fires
    assert web["kept"]["change"] == -sum(r["change"] for r in d["drop_reasons"] if r["phase"] == "annotate") > 0
    assert ("<=", 100000.0) in [(t[0], t[1]) for t in thresholds(other.run_dir)["gopher_words"]]
    assert (">=", 30.0, "gopher_quality.word_count", "gopher_quality") in thresholds(other.run_dir)["gopher_words"]
    assert "min 30" in (other.run_dir / "report.html").read_text()

    assert main(["diff", str(m.run_dir), str(other.run_dir)]) == 0
    out = capsys.readouterr().out
    assert "stages[1].gopher_quality.min_doc_words" in out and "gopher_quality.word_count" in out
    assert main(["diff", str(m.run_dir), str(m.run_dir)]) == 0
    assert "no differences" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["report"], ["stats", "--json"]])
def test_cli_rejects_a_missing_run_dir(tmp_path, capsys, args):
    assert main([args[0], str(tmp_path / "nope"), *args[1:]]) == 2
    assert "not a run directory" in capsys.readouterr().err
