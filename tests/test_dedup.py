"""Dedup phases on Spark: fuzzy (MinHash-LSH, verified, clustered) and URL dedup.

Near-duplicates are built here from seeded random text with known edits, so every expected
cluster and survivor is known in advance."""

from __future__ import annotations

import random

import pytest

from curator.manifest import MinHashSettings
from stages.dedup_fuzzy import dedup_fuzzy
from stages.dedup_url import dedup_url

COLUMNS = ("id string, source string, kind string, domain string, url string, text string, "
           "lang string, lang_score double, meta map<string,string>, drop_reason string, "
           "quality_score double")


def _row(id_, text, domain="web", score=None, reason=None, url=None, kind="warc", meta=None):
    return (id_, "src", kind, domain, url or f"https://x.example/{id_}", text, "en", 1.0,
            meta or {}, reason, score)


def _edit(words: list[str], rng: random.Random, n: int) -> list[str]:
    out = list(words)
    for i in rng.sample(range(len(out)), n):
        out[i] = f"edit{rng.randrange(10**9)}"
    return out


@pytest.fixture(scope="module")
def corpus(spark):
    """Rows and the clusters the fuzzy dedup must find (by member ids)."""
    rng = random.Random(20)
    vocab = [f"v{i}" for i in range(20_000)]
    base = [[rng.choice(vocab) for _ in range(rng.randint(120, 160))] for _ in range(30)]
    rows, clusters = [], []
    for i, words in enumerate(base):
        rows.append(_row(f"doc-{i:03d}", " ".join(words), domain="web" if i % 3 else "code"))
    for i in range(6):  # one near copy (1-2 words edited: Jaccard ~0.85-0.95)
        rows.append(_row(f"near-{i}", " ".join(_edit(base[i], rng, 1 + i % 2)), domain="web" if i % 3 else "code"))
        clusters.append({f"doc-{i:03d}", f"near-{i}"})
    # the copy of doc-000 scores higher, so it survives although its id is larger
    rows = [r if r[0] != "near-0" else r[:-1] + (0.9,) for r in rows]
    rows = [r if r[0] != "doc-000" else r[:-1] + (0.1,) for r in rows]
    # a chain: doc-006 -> c1 -> c2, each one word further; doc-006 and c2 are still >= 0.8
    c1 = _edit(base[6], rng, 1)
    c2 = _edit(c1, rng, 1)
    rows += [_row("chain-1", " ".join(c1)), _row("chain-2", " ".join(c2))]
    clusters.append({"doc-006", "chain-1", "chain-2"})
    for i in (7, 8, 9):  # far copies: a quarter of the words edited, Jaccard < 0.3
        rows.append(_row(f"far-{i}", " ".join(_edit(base[i], rng, len(base[i]) // 4))))
    rows.append(_row("dropped-copy", " ".join(base[10]), reason="gopher_quality.word_count"))
    rows.append(_row("empty", ""))
    return rows, clusters


def _survivor(members: set[str], rows) -> str:
    by_id = {r[0]: r for r in rows}
    return sorted(members, key=lambda m: (-(by_id[m][-1] or float("-inf")), -len(by_id[m][5]), m))[0]


def _result(df) -> dict:
    return {r["id"]: (r["drop_reason"], r["minhash_cluster"], r["minhash_cluster_size"])
            for r in df.select("id", "drop_reason", "minhash_cluster", "minhash_cluster_size").collect()}


def test_fuzzy_dedup_finds_the_planted_clusters_and_keeps_one_per_cluster(spark, corpus):
    rows, clusters = corpus
    df = spark.createDataFrame(rows, COLUMNS)
    result = dedup_fuzzy(df, MinHashSettings())
    got = _result(result.df)
    assert len(got) == len(rows)  # nothing lost
    in_cluster = set().union(*clusters)
    for members in clusters:
        keep = _survivor(members, rows)
        for m in members:
            assert got[m][1:] == (min(members), len(members)), m
            assert got[m][0] == (None if m == keep else "dedup.minhash"), m
    assert _survivor(clusters[0], rows) == "near-0"
    for id_, (reason, cluster, size) in got.items():
        if id_ not in in_cluster:
            assert cluster is None and size is None, id_
            assert reason == ("gopher_quality.word_count" if id_ == "dropped-copy" else None), id_
    s = result.stats
    assert s["cluster_sizes"] == {"2": 6, "3": 1}
    assert s["duplicates_marked"] == 8 and s["clusters"] == 7
    assert s["candidate_pairs"] >= s["verified_pairs"] >= 8
    assert (s["bands"], s["rows"]) == (18, 7)


def test_fuzzy_dedup_is_the_same_twice_and_across_partitionings(spark, corpus):
    rows, _ = corpus
    df = spark.createDataFrame(rows, COLUMNS)
    first = _result(dedup_fuzzy(df.repartition(1), MinHashSettings()).df)
    again = _result(dedup_fuzzy(df.repartition(1), MinHashSettings()).df)
    # other partitions, and components by Spark rounds instead of the driver
    spark_cc = dedup_fuzzy(df.repartition(5), MinHashSettings(components_local_max_edges=0))
    assert first == again == _result(spark_cc.df)
    assert spark_cc.stats["components_on"] == "spark" and spark_cc.stats["iterations"] >= 1


def test_without_verification_lsh_candidates_are_merged_as_they_are(spark, corpus):
    rows, clusters = corpus
    df = spark.createDataFrame(rows, COLUMNS)
    result = dedup_fuzzy(df, MinHashSettings(verify=False))
    got = _result(result.df)
    assert "verified_pairs" not in result.stats
    for members in clusters:
        assert {got[m][1] for m in members} == {min(members)}


def test_url_dedup_keeps_the_newest_fetch_of_each_web_url(spark):
    url = "https://news.example/a"
    rows = [
        _row("a-old", "old text", url=url, meta={"warc_date": "2023-01-05T10:00:00Z"}),
        _row("a-new", "new text", url=url, meta={"warc_date": "2025-03-01T08:00:00Z"}),
        _row("a-bad", "undated text", url=url, meta={"warc_date": "not a date"}),
        _row("a-dropped", "newest but dropped", url=url, reason="langid.language",
             meta={"warc_date": "2026-01-01T00:00:00Z"}),
        _row("code-1", "fn main() {}", kind="code", url="repo/src/main.rs", domain="code"),
        _row("code-2", "fn main() { }", kind="code", url="repo/src/main.rs", domain="code"),
        _row("b-1", "other page", url="https://news.example/b", meta={"warc_date": "2024-01-01T00:00:00Z"}),
    ]
    got = {r["id"]: r["drop_reason"] for r in dedup_url(spark.createDataFrame(rows, COLUMNS)).collect()}
    assert got == {"a-old": "dedup.url", "a-new": None, "a-bad": "dedup.url",
                   "a-dropped": "langid.language", "code-1": None, "code-2": None, "b-1": None}


def test_the_demo_run_records_fuzzy_dedup_stats(demo_run):
    import json

    m, _, _ = demo_run
    stats = json.loads((m.run_dir / "stats" / "deduped.json").read_text())
    mh = stats["minhash"]
    assert {"candidate_pairs", "iterations", "cluster_sizes", "removed_by_domain", "bands", "rows"} <= set(mh)
    assert set(mh["removed_by_domain"]) == set(stats["domains"])
    removed = sum(mh["removed_by_domain"].values())
    assert removed == stats["dropped"].get("dedup.minhash", 0) == mh["duplicates_marked"]


@pytest.fixture(scope="module")
def read_order(spark):
    """Clusters whose longest member was read after a shorter one: web pages by WARC file and
    offset, code files by archive and record; and the member each rule keeps."""
    rng = random.Random(7)
    vocab = [f"r{i}" for i in range(20_000)]
    base = [[rng.choice(vocab) for _ in range(150)] for _ in range(5)]
    longer = lambda words: " ".join(words + [rng.choice(vocab) for _ in range(10)])  # noqa: E731
    web = lambda f, o: {"warc_file": f, "warc_offset": str(o)}  # noqa: E731
    rows = [  # ids chosen so that the smallest id is never the expected survivor of a rule
        # an earlier file wins whatever its offset
        _row("a-2", longer(base[0]), meta=web("s3://cc/b.warc.gz", 10)),
        _row("a-1", " ".join(base[0]), meta=web("s3://cc/c.warc.gz", 5)),
        _row("a-3", " ".join(base[0]), meta=web("s3://cc/a.warc.gz", 9000)),
        # same file: offsets compare as numbers (900 before 1000)
        _row("b-1", longer(base[1]), meta=web("f.warc.gz", 1000)),
        _row("b-2", " ".join(base[1]), meta=web("f.warc.gz", 900)),
        # code: the record number in the archive, then the path
        _row("c-1", longer(base[2]), kind="code", domain="code", meta={"archive": "r.tar", "record": "12", "path": "a.py"}),
        _row("c-2", " ".join(base[2]), kind="code", domain="code", meta={"archive": "r.tar", "record": "3", "path": "b.py"}),
        # a row that says nothing of where it was read comes after one that does
        _row("d-1", longer(base[3])),
        _row("d-2", " ".join(base[3]), meta=web("z.warc.gz", 1)),
        _row("e-0", " ".join(base[4]), meta=web("f.warc.gz", 1)),  # alone: in no cluster
    ]
    keeps = {"first": {"a-3", "b-2", "c-2", "d-2", "e-0"}, "longest": {"a-2", "b-1", "c-1", "d-1", "e-0"}}
    return spark.createDataFrame(rows, COLUMNS), keeps


@pytest.mark.parametrize("rule", ["first", "longest"])
def test_minhash_survivor_rule_keeps_the_first_read_or_the_longest_copy(read_order, rule):
    df, keeps = read_order
    result = dedup_fuzzy(df, MinHashSettings(survivor=rule, survivor_score=None))
    got = _result(result.df)
    assert {i for i, (reason, _, _) in got.items() if reason is None} == keeps[rule]
    assert {i: reason for i, (reason, _, _) in got.items() if reason} == {
        i: "dedup.minhash" for i in set(got) - keeps[rule]}
    assert result.stats["survivor_rule"] == ("first in input order (file, offset or record, path), then smallest id"
                                             if rule == "first" else "longest text, then smallest id")
    if rule == "first":  # other partitions, components by Spark rounds: the same survivors
        assert _result(dedup_fuzzy(df.repartition(5), MinHashSettings(
            survivor=rule, survivor_score=None, components_local_max_edges=0)).df) == got


def _scored(rows):
    """The corpus with survivor scores Spark must order: a tie (the rule decides), a null
    (last), a NaN (above every number)."""
    scores = {"doc-001": 0.5, "near-1": 0.5, "doc-002": 0.3, "near-2": None, "doc-003": 0.99,
              "near-3": float("nan"), "doc-006": None, "chain-1": None, "chain-2": None}
    return [r[:-1] + (scores[r[0]],) if r[0] in scores else r for r in rows]


@pytest.mark.parametrize("rule", ["first", "longest"])
def test_small_runs_cluster_on_the_driver_exactly_as_the_spark_path(spark, corpus, read_order, rule):
    """Up to `local_max_docs` documents, candidates, components and survivors are found on the
    driver: every row and every count must be those of the distributed path."""
    scored = spark.createDataFrame(_scored(corpus[0]), COLUMNS)
    results = []
    for df, score in ((scored, "quality_score"), (read_order[0], None)):
        settings = {"verify": False, "survivor": rule, "survivor_score": score}
        local = dedup_fuzzy(df, MinHashSettings(**settings))
        spread = dedup_fuzzy(df.repartition(3), MinHashSettings(**settings, local_max_docs=0))
        assert (local.stats["candidates_on"], spread.stats["candidates_on"]) == ("driver", "spark")
        assert sorted(map(repr, local.df.collect())) == sorted(map(repr, spread.df.collect()))
        same = {k for k in spread.stats if k not in ("seconds_by_step", "candidates_on", "components_on", "iterations")}
        assert {k: local.stats[k] for k in same} == {k: spread.stats[k] for k in same}
        assert local.stats["duplicates_marked"] > 0
        results.append(_result(local.df))
    got = results[0]  # the NaN copy outranks 0.99, the null one loses to 0.3, the tie goes to the rule
    assert (got["near-3"][0], got["doc-003"][0]) == (None, "dedup.minhash")
    assert (got["doc-002"][0], got["near-2"][0]) == (None, "dedup.minhash")
    assert {got["doc-001"][0], got["near-1"][0]} == {None, "dedup.minhash"}


def test_manifest_checks_the_minhash_survivor_rule():
    from curator.errors import ManifestError
    from curator.manifest import parse

    spec = {"run": "t", "sources": [{"name": "s", "kind": "code", "inputs": ["."], "domain": "code"}],
            "mixture": {"weights": {"code": 1}}}
    assert parse({**spec, "dedup": {"minhash": {}}}, base_dir=".").dedup.minhash.survivor == "longest"
    assert parse({**spec, "dedup": {"minhash": {"survivor": "first"}}}, base_dir=".").dedup.minhash.survivor == "first"
    with pytest.raises(ManifestError, match="dedup.minhash.survivor") as e:
        parse({**spec, "dedup": {"minhash": {"survivor": "oldest"}}}, base_dir=".")
    assert "\n" not in str(e.value)
