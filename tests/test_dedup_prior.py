"""Dedup against saved indexes of earlier runs (curator/dedup_index.py, stages/dedup_prior.py).

An old corpus and a new slice are built with planted cases of each kind (same URL, same text
in other case and spacing, near copies, a chain that reaches an old document only through a
new one, a new copy of an old document that the old run itself removed). The new slice
deduplicated against the old corpus's index must keep exactly the new documents that one
combined run over both keeps when every old document wins."""

from __future__ import annotations

import json
import random

import pyarrow as pa
import pytest

from curator.errors import ManifestError
from curator.manifest import DedupSettings, MinHashSettings
from curator.schema import DOC_SCHEMA, with_columns
from stages.dedup_documents import dedup_documents

SCHEMA = with_columns(DOC_SCHEMA, {"quality_score": pa.float64()})
DEDUP = DedupSettings(minhash=MinHashSettings())


def _edit(words, rng, n):
    out = list(words)
    for i in rng.sample(range(len(out)), n):
        out[i] = f"edit{rng.randrange(10**9)}"
    return out


def _doc(id_, words, url=None, score=0.5, kind="warc"):
    return {"id": id_, "source": "s", "kind": kind, "domain": "web", "url": url or f"https://x.example/{id_}",
            "text": " ".join(words) if isinstance(words, list) else words, "lang": "en", "lang_score": 1.0,
            "meta": None, "drop_reason": None, "quality_score": score}


@pytest.fixture(scope="module")
def corpora():
    """(old rows, new rows, planted: new id -> (expected reason, expected old id or None))."""
    rng = random.Random(21)
    vocab = [f"w{i}" for i in range(30_000)]
    words = lambda: [rng.choice(vocab) for _ in range(rng.randint(120, 160))]  # noqa: E731
    old_texts = [words() for _ in range(40)]
    old = [_doc(f"a-{i:03d}", t) for i, t in enumerate(old_texts)]
    old.append(_doc("a-100", _edit(old_texts[5], rng, 1)))  # removed by the old run (near a-005)
    new, planted = [], {}
    new += [_doc(f"b-{i:03d}", words()) for i in range(30)]  # unrelated new documents, kept
    new.append(_doc("b-url", words(), url="https://x.example/a-001"))
    planted["b-url"] = ("dedup.url_prior", "a-001")
    new.append(_doc("b-exact", " ".join(old_texts[2]).upper().replace(" ", "  ")))
    planted["b-exact"] = ("dedup.exact_prior", "a-002")
    new.append(_doc("b-near", _edit(old_texts[3], rng, 2), score=0.99))  # scores higher: the old one still wins
    planted["b-near"] = ("dedup.minhash_prior", "a-003")
    c1 = _edit(old_texts[4], rng, 3)
    new += [_doc("b-chain1", c1), _doc("b-chain2", _edit(c1, rng, 3))]
    planted["b-chain1"] = ("dedup.minhash_prior", "a-004")
    planted["b-chain2"] = ("dedup.minhash_prior", "a-004")
    new.append(_doc("b-of-dropped", _edit(old_texts[5], rng, 1)))
    planted["b-of-dropped"] = ("dedup.minhash_prior", None)
    twin = words()  # a near pair among the new documents only: one survives, the plain rule
    new += [_doc("b-twin1", twin, score=0.9), _doc("b-twin2", _edit(twin, rng, 1), score=0.1)]
    planted["b-twin2"] = ("dedup.minhash", None)
    return old, new, planted


def _frame(spark, rows):
    from curator.schema import spark_schema

    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    return spark.createDataFrame(table.to_pandas(maps_as_pydicts="strict"), spark_schema(SCHEMA))


def _outcome(df) -> dict[str, tuple]:
    cols = [c for c in ("id", "drop_reason", "dedup_prior_id", "dedup_prior_index") if c in df.columns]
    return {r["id"]: tuple(r[c] for c in cols[1:]) for r in df.select(*cols).collect()}


@pytest.fixture(scope="module")
def runs(spark, corpora, tmp_path_factory):
    from curator.dedup_index import open_indexes, write_index

    old, new, _ = corpora
    folder = tmp_path_factory.mktemp("prior")
    old_out, _ = dedup_documents(_frame(spark, old), DEDUP, SCHEMA)
    old_out.write.parquet(str(folder / "old"))
    write_index(spark.read.parquet(str(folder / "old")), DEDUP, folder / "idx", "cc-old")
    prior = open_indexes([str(folder / "idx")], folder, DEDUP)
    incremental, fuzzy = dedup_documents(_frame(spark, new), DEDUP, SCHEMA, prior)
    # the reference: one run over both, where old documents win every rule (smaller ids, higher scores)
    boosted = [{**r, "quality_score": 10.0} for r in old]
    combined, _ = dedup_documents(_frame(spark, boosted + new), DEDUP, SCHEMA)
    return _outcome(incremental), _outcome(combined), fuzzy.stats, folder


def test_new_documents_keep_the_fate_they_have_in_one_combined_run(corpora, runs):
    old, new, _ = corpora
    incremental, combined, _, _ = runs
    assert set(incremental) == {r["id"] for r in new}  # only the new run's documents come out
    kept = lambda out, i: out[i][0] is None  # noqa: E731
    assert {i: kept(incremental, i) for i in incremental} == {i: kept(combined, i) for i in incremental}
    assert sum(kept(incremental, i) for i in incremental) == 31  # b-000..b-029 and b-twin1


def test_each_removal_names_its_reason_the_matched_document_and_the_index(corpora, runs):
    _, _, planted = corpora
    incremental, _, stats, _ = runs
    for doc, (reason, old_id) in planted.items():
        got_reason, got_id, got_index = incremental[doc]
        assert got_reason == reason, doc
        if reason.endswith("_prior"):
            assert got_index == "cc-old" and got_id.startswith("a-"), doc
        if old_id is not None:
            assert got_id == old_id, doc
    # the old run removed a-100 as a near copy of a-005: the new copy of it is matched all the same
    assert incremental["b-of-dropped"][1] in {"a-005", "a-100"}
    assert stats["prior_matched"] == 4


def test_first_read_survivor_rule_still_lets_every_released_document_win(spark, corpora, runs):
    """`survivor: first`, new documents read in reverse order: a released document (no read
    position in the index, which would sort last) still wins, and among new ones the first
    read does -- the fates of one combined run in which the old documents were read first."""
    from curator.dedup_index import open_indexes

    old, new, planted = corpora
    _, _, _, folder = runs
    first = DedupSettings(minhash=MinHashSettings(survivor="first", survivor_score=None))
    where = lambda f, i: {"warc_file": f, "warc_offset": str(1000 - i)}  # noqa: E731 - later rows read first
    new = [{**r, "meta": where("b-new.warc.gz", i)} for i, r in enumerate(new)]
    incremental, _ = dedup_documents(_frame(spark, new), first, SCHEMA,
                                     open_indexes([str(folder / "idx")], folder, first))
    got = _outcome(incremental)
    for doc, (reason, _) in planted.items():
        if reason.endswith("_prior"):
            assert got[doc][0] == reason, doc
    assert (got["b-twin1"][0], got["b-twin2"][0]) == ("dedup.minhash", None)  # b-twin2 was read first
    # the same fates as one combined run in which the old documents were read first
    old = [{**r, "meta": where("a-old.warc.gz", 999)} for r in old]
    combined, _ = dedup_documents(_frame(spark, old + new), first, SCHEMA)
    kept = lambda out, i: out[i][0] is None  # noqa: E731
    assert {i: kept(got, i) for i in got} == {i: kept(_outcome(combined), i) for i in got}


def test_index_header_and_settings_check(runs, tmp_path):
    from curator.dedup_index import open_indexes, read_header

    _, _, _, folder = runs
    header = read_header(folder / "idx").header
    assert header["name"] == "cc-old" and header["counts"]["urls"] == 41 and header["counts"]["docs"] == 41
    other = DedupSettings(minhash=MinHashSettings(num_perm=64))
    with pytest.raises(ManifestError, match=r"cc-old.*other dedup.minhash settings: num_perm 128 \(run: 64\)"):
        open_indexes([str(folder / "idx")], folder, other)
    with pytest.raises(ManifestError, match="no such folder"):
        open_indexes(["missing"], tmp_path, DEDUP)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "index.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ManifestError, match="not a curator-dedup-index header"):
        open_indexes([str(bad)], tmp_path, DEDUP)
    (bad / "index.json").write_text("{" * 10)
    with pytest.raises(ManifestError, match="not readable JSON"):
        read_header(bad)
    (bad / "index.json").write_text(" " * (2 << 20))
    with pytest.raises(ManifestError, match="at most 1 MiB"):
        read_header(bad)


def test_sample_run_again_against_its_own_index_keeps_nothing_and_names_itself(demo_run, spark, tmp_path, capsys):
    """The bundled sample, saved as an index with the CLI, then run again (extract and annotate
    reused) against it: every document that entered dedup was released already, so none is
    kept, and each removed one names its own copy in the index."""
    import shutil

    from pyspark.sql import functions as F

    from curator import runstats
    from curator.cli import main
    from curator.manifest import load
    from curator.pipeline import Pipeline
    from tests.conftest import DEMO

    m, results, _ = demo_run
    assert main(["dedup-index", "save", str(m.run_dir), str(tmp_path / "idx"), "--name", "sample-1"]) == 0
    assert "dedup index 'sample-1'" in capsys.readouterr().out
    assert main(["dedup-index", "save", str(m.run_dir), str(tmp_path / "idx"), "--name", "sample-1"]) == 2  # exists
    again = load(DEMO)
    again.output.dir = str(tmp_path / "runs")
    shutil.copytree(m.run_dir, again.run_dir)
    again.dedup.against = [str(tmp_path / "idx")]
    out = Pipeline(again, spark=spark, log=lambda _: None).run(until="dedup")
    assert out["annotate"].skipped and not out["dedup"].skipped
    before = results["dedup"].stats
    stats = out["dedup"].stats
    assert stats["kept"] == 0 and stats["docs_in"] == before["docs_in"]
    removed = stats["prior"]["removed"]
    dropped = lambda s, r: sum(d["dropped"].get(r, 0) for d in s["domains"].values())  # noqa: E731
    # the web pages' URLs were released: copies among them go by URL now, before exact dedup
    assert dropped(stats, "dedup.url") == dropped(before, "dedup.url")
    assert dropped(stats, "dedup.exact") < dropped(before, "dedup.exact")
    assert sum(removed.values()) == before["docs_in"] - dropped(stats, "dedup.url") - dropped(stats, "dedup.exact")
    assert removed["dedup.url_prior"] > 0 and removed["dedup.exact_prior"] > 0  # web pages by URL, code by text
    rows = spark.read.parquet(str(out["dedup"].path)).where(F.col("drop_reason").endswith("_prior"))
    assert rows.where((F.col("dedup_prior_id") != F.col("id")) | (F.col("dedup_prior_index") != "sample-1")).count() == 0
    shown = runstats.collect(again.run_dir)["prior_dedup"]
    assert shown[0]["what"] == "index sample-1" and {r["detail"]: r["count"] for r in shown[1:]} == removed
    from curator.report import print_stats

    capsys.readouterr()
    print_stats(again.run_dir)
    assert "dedup against released corpora" in capsys.readouterr().out
    html = (again.run_dir / "report.html").read_text()  # the report shows the indexes and removals too
    assert "against released corpora" in html and "index sample-1" in html and "dedup.url_prior" in html


def test_validate_checks_dedup_against_as_the_run_does(runs, tmp_path, capsys):
    from curator.cli import main
    from tests.conftest import DEMO

    _, _, _, folder = runs
    good = ["validate", str(DEMO), "--set", f"dedup.against=[{folder / 'idx'}]"]
    assert main(good) == 0 and ": ok (" in capsys.readouterr().out  # the sample's MinHash settings are the index's
    assert main([*good, "dedup.minhash.num_perm=64"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cc-old" in err and "other dedup.minhash settings: num_perm 128" in err
    assert main(["validate", str(DEMO), "--set", f"dedup.against=[{tmp_path / 'missing'}]"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "dedup.against" in err and "missing" in err and "no such folder" in err
