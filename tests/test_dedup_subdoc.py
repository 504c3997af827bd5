"""Below the document: boilerplate lines and paragraphs, repeated spans, caps per site.

Documents are built here from seeded random words, with boilerplate, copied passages and
sites planted, so every expected cut is known in advance."""

from __future__ import annotations

import random

import pytest

from curator.manifest import DedupSettings

COLUMNS = ("id string, source string, kind string, domain string, url string, text string, "
           "lang string, lang_score double, meta map<string,string>, drop_reason string, "
           "quality_score double")

RNG = random.Random(18)
VOCAB = [f"w{i}" for i in range(30_000)]


def _sentence(n: int = 12) -> str:
    return " ".join(RNG.choice(VOCAB) for _ in range(n)) + "."


def _row(id_, text, host="h0.example.com", score=None, kind="warc", reason=None):
    return (id_, "src", kind, "web", f"https://{host}/{id_}" if kind == "warc" else None, text, "en", 1.0, {},
            reason, score)


def _run(spark, rows, partitions: int = 2, columns: str = COLUMNS, **dedup):
    """Both paths, Spark's and the driver's (small runs), which must agree row for row and
    in their stats: (rows by id, stats)."""
    import stages.dedup_subdoc as subdoc
    from stages.dedup_subdoc import subdoc_dedup

    df = spark.createDataFrame(rows, columns).repartition(partitions)
    got = []
    for limit, where, part in ((0, "spark", None), (50_000, "driver", None), (50_000, "driver", 3)):
        saved = subdoc.MIN_PART
        subdoc.MIN_PART = part or saved  # 3: the driver's documents in many slices, one thread per core
        try:
            out, stats = subdoc_dedup(df, DedupSettings(**dedup, subdoc_local_max_docs=limit))
        finally:
            subdoc.MIN_PART = saved
        assert stats.pop("on") == where
        got.append(({r["id"]: r.asDict() for r in out.collect()}, stats, out.schema))
    (a, stats, schema), *others = got
    for b, stats_b, schema_b in others:
        assert repr(sorted(a.items())) == repr(sorted(b.items()))  # repr: NaN scores compare equal
        assert stats == stats_b and schema == schema_b
    return a, stats


BANNER = "We use cookies to improve your experience on our site."
SHARE = "Share this article on your favourite social network"


@pytest.fixture(scope="module")
def line_docs():
    rows, bodies = [], {}
    for i in range(24):
        body = [_sentence() for _ in range(6)]
        bodies[f"d{i:02d}"] = body
        lines = [BANNER, *body[:3], "", *body[3:], "", "Menu", "", SHARE if i < 12 else "Share"]
        # BANNER on 24 docs / 6 hosts; SHARE on 12 docs of one host only; "Menu" is short
        rows.append(_row(f"d{i:02d}", "\n".join(lines), host=f"h{i % 6 if i >= 12 else 0}.example.com"))
    rows.append(_row("code", f"{BANNER}\n" + _sentence(), kind="code"))
    rows.append(_row("thin", f"{BANNER}\nok."))  # nothing but boilerplate is left
    rows.append(_row("gone", BANNER, reason="gopher.word_count"))  # dropped earlier: untouched
    return rows, bodies


def test_boilerplate_lines_are_cut_and_counted(spark, line_docs):
    rows, bodies = line_docs
    out, stats = _run(spark, rows, lines={"min_docs": 5, "min_hosts": 3})
    assert len(out) == len(rows)  # every document leaves, kept or with its reason
    for id_, body in bodies.items():
        r = out[id_]
        assert r["drop_reason"] is None
        assert BANNER not in r["text"]
        for sentence in body:  # unique lines are never cut
            assert sentence in r["text"]
        assert "Menu" in r["text"]  # short lines are left alone
        if int(id_[1:]) < 12:
            assert SHARE in r["text"]  # many documents, but one host
        assert r["lines_removed_boilerplate"] == 1
        assert r["chars_removed"] == len(BANNER) + 1
    assert out["code"]["text"].startswith(BANNER) and out["code"]["chars_removed"] == 0
    assert out["thin"]["drop_reason"] == "dedup.lines_too_short"
    assert out["gone"]["drop_reason"] == "gopher.word_count" and out["gone"]["text"] == BANNER
    top = stats["lines"]["top_removed_lines"]
    assert top[0]["line"] == BANNER.lower() and top[0]["docs"] == 25


def test_first_policy_keeps_the_best_copy_and_paragraphs_go_whole(spark):
    para = [_sentence(), _sentence()]
    rows = [_row(f"p{i}", "\n".join([_sentence(), _sentence(), "", *para, "", _sentence()]),
                 host=f"s{i}.example.org", score=float(i % 3)) for i in range(6)]
    out, stats = _run(spark, rows, lines={"policy": "first", "min_chars_left": 0, "paragraphs": True})
    # highest score first (p2, p5 score 2.0), then the smallest id: p2 keeps the paragraph
    assert all(p in out["p2"]["text"] for p in para)
    for i in (0, 1, 3, 4, 5):
        assert not any(p in out[f"p{i}"]["text"] for p in para)
        assert out[f"p{i}"]["lines_removed_boilerplate"] == 2
    # the paragraph and its two lines, each cut from the 5 documents after the first
    top = stats["lines"]["top_removed_lines"]
    assert sorted((t["line"], t["docs"]) for t in top) == sorted([(f"[paragraph] {para[0]} {para[1]}", 5),
                                                                  (para[0], 5), (para[1], 5)])


def _words(n: int) -> list[str]:
    return [RNG.choice(VOCAB) for _ in range(n)]


def test_repeated_spans_are_cut_after_the_first_copy(spark):
    passage = _words(120)
    short = _words(40)  # shared, but under min_span_tokens
    rows = []
    for i in range(4):
        p = list(passage)
        if i == 2:  # small edits at the edges: the rest of the passage still goes
            p[0], p[-1] = "EDITED", "EDITED"
        text = "\n".join([" ".join(_words(60)), " ".join(p), " ".join(_words(60) + short + _words(30))])
        rows.append(_row(f"s{i}", text, score=1.0 if i == 3 else 0.0))
    out, _ = _run(spark, rows, spans={"min_span_tokens": 50})
    kept = out["s3"]  # the highest score keeps its copy
    assert " ".join(passage) in kept["text"] and kept["spans_removed"] == 0
    for i in (0, 1, 2):
        r = out[f"s{i}"]
        assert r["spans_removed"] == 1
        assert " ".join(passage[1:-1]) not in r["text"] and " ".join(passage[5:60]) not in r["text"]
        assert " ".join(short) in r["text"]
    assert out["s2"]["text"].count("EDITED") == 2
    for i in (0, 1):  # the lines around a cut stay lines
        assert [len(line.split()) for line in out[f"s{i}"]["text"].split("\n")] == [60, 130]


def test_site_caps_by_registered_domain_keep_the_best(spark):
    rows = [_row(f"c{i}", _sentence(20), host=f"{sub}.example.co.uk", score=float(i))
            for i, sub in enumerate(["a", "b", "a.blog", "c", "d"])]
    rows += [_row("other", _sentence(20), host="example.com"), _row("code", "x", kind="code")]
    out, stats = _run(spark, rows, site_caps={"max_docs": 2})
    assert {k for k, r in out.items() if r["drop_reason"] == "dedup.site_cap"} == {"c0", "c1", "c2"}
    assert stats["site_caps"]["top_capped_sites"] == [{"site": "example.co.uk", "docs": 3}]
    by_host, _ = _run(spark, rows, site_caps={"max_docs": 1, "by": "host"})
    assert not any(r["drop_reason"] for r in by_host.values())
    by_words, _ = _run(spark, rows, site_caps={"max_tokens": 45})  # two documents of 20 words fit
    assert {k for k, r in by_words.items() if r["drop_reason"]} == {"c0", "c1", "c2"}


def test_same_result_for_any_partition_count(spark, line_docs):
    rows, _ = line_docs
    passage = " ".join(_words(80))
    rows = rows + [_row(f"x{i}", f"{_sentence()} {passage} {_sentence()}", host=f"x{i}.example.net") for i in range(3)]
    settings = {"lines": {"min_docs": 5, "min_hosts": 3}, "spans": {}, "site_caps": {"max_docs": 20}}
    a, _ = _run(spark, rows, partitions=1, **settings)
    b, _ = _run(spark, rows, partitions=7, **settings)
    assert a == b
    assert sum(r["spans_removed"] for r in a.values()) == 2


def test_the_driver_path_orders_and_counts_as_spark_does(spark):
    """Small runs go through the driver's process: the survivor order with NaN, -0.0, ties and
    nulls, the words a site cap counts (tabs, blank ends, white space Java does not know), the
    too-short drops of both cuts and counters the rows already had all come out as Spark's."""
    banner = "Accept all cookies to continue reading this page please"
    passage = " ".join(_words(70))
    scores = [float("nan"), -0.0, 0.0, None, 2.5, 2.5, float("inf"), -1.0]
    rows = []
    for i in range(40):
        body = "\n".join(_sentence() for _ in range(3))
        text = f"{banner}\n{body}\n\n{_sentence()} {passage} {_sentence()}" if i % 3 == 0 else f"\t {banner}\n{body}\u2003end \x0b"
        if i % 13 == 0:
            text = f"{banner}\nshort"
        rows.append((*_row(f"t{i:02d}", text, host=f"h{i % 7}.site{i % 2}.co.uk", score=scores[i % len(scores)],
                           kind="code" if i == 5 else "warc", reason="c4.lines" if i == 7 else None), i % 4))
    rows.append((*_row("nourl", passage + " " + _sentence(), kind="warc"), None))
    rows[-1] = (*rows[-1][:4], None, *rows[-1][5:])
    for id_, url, text in (("badurl", "https://example.com/a b", passage), ("gone", "http://[x", banner),
                           ("notext", "https://h1.site1.co.uk/n", None)):  # no host (Java cannot parse), null text
        rows.append((id_, "src", "warc", "web", url, text, "en", 1.0, {}, "c4.lines" if id_ == "gone" else None, None, 0))
    columns = COLUMNS + ", spans_removed long"
    for policy in ("boilerplate", "first"):
        out, stats = _run(spark, rows, partitions=3, columns=columns,
                          lines={"policy": policy, "min_docs": 3, "min_hosts": 2, "min_chars_left": 40},
                          spans={"min_span_tokens": 30, "min_chars_left": 60},
                          site_caps={"max_docs": 4, "max_tokens": 120})
        assert {r["drop_reason"] for r in out.values()} >= {"dedup.lines_too_short", "dedup.site_cap", None}
        assert sum(r["spans_removed"] or 0 for r in out.values()) > sum(r[-1] for r in rows if r[-1])
        assert stats["lines"]["top_removed_lines"][0]["line"] == banner.lower()
    by_host, _ = _run(spark, rows, columns=columns, site_caps={"by": "host", "max_tokens": 60})
    assert any(r["drop_reason"] == "dedup.site_cap" for r in by_host.values())
    # Spark's words: "a\u2003b\u2003c" is one (Java's \\s is ASCII), "\\td e" three (an empty first piece)
    words = [_row("wa", "a\u2003b\u2003c", host="w.example.com", score=2.0), _row("wb", "d e", host="w.example.com"),
             _row("wc", "\td e", host="v.example.com", score=2.0), _row("wd", "f", host="v.example.com")]
    capped, _ = _run(spark, words, site_caps={"by": "host", "max_tokens": 3})
    assert [k for k, r in sorted(capped.items()) if r["drop_reason"]] == ["wd"]
    empty, stats = _run(spark, [], lines={}, spans={}, site_caps={"max_docs": 1})
    assert empty == {} and stats["site_caps"]["sites_capped"] == 0


def test_large_runs_stay_on_spark(spark, monkeypatch):
    """More documents than `subdoc_local_max_docs`, or more text than one partition's worth,
    go the Spark way, whether the caller gives the sizes or they are counted."""
    import stages.dedup_subdoc as subdoc

    rows = [_row(f"d{i}", _sentence()) for i in range(5)]
    df = spark.createDataFrame(rows, COLUMNS)
    chars = sum(len(r[5]) for r in rows)
    five, four = DedupSettings(lines={}, subdoc_local_max_docs=5), DedupSettings(lines={}, subdoc_local_max_docs=4)
    on = {}
    for name, settings, sizes in (("counted", five, {}), ("given", five, {"rows": 5, "chars": chars}),
                                  ("too many", four, {}), ("too many, given", five, {"rows": 6, "chars": chars})):
        on[name] = subdoc.subdoc_dedup(df, settings, **sizes)[1]["on"]
    monkeypatch.setattr(subdoc, "LOCAL_MAX_TEXT_CHARS", chars - 1)
    on["too long"] = subdoc.subdoc_dedup(df, five)[1]["on"]
    on["too long, given"] = subdoc.subdoc_dedup(df, five, rows=5, chars=chars)[1]["on"]
    assert on == {"counted": "driver", "given": "driver", "too many": "spark", "too many, given": "spark",
                  "too long": "spark", "too long, given": "spark"}


def test_in_the_pipeline_counted_shown_and_resumed(spark, demo_run, tmp_path):
    """The demo's finished run, copied, re-run with the stages on: only dedup and what follows
    re-run, every document is accounted for, the counters reach stats, diff and the report,
    and a second run resumes without redoing dedup."""
    import shutil

    from rich.console import Console

    from curator.pipeline import Pipeline
    from curator.report import print_stats, write_report
    from curator.rundiff import diff

    m, _, _ = demo_run
    shutil.copytree(m.run_dir, tmp_path / m.run)
    on = m.model_copy(deep=True)
    on.output.dir = str(tmp_path)
    on.dedup = DedupSettings(**{**m.dedup.model_dump(), "lines": {"min_docs": 2, "min_hosts": 1},
                                "spans": {"min_span_tokens": 20}, "site_caps": {"max_docs": 1000}})
    logs: list[str] = []
    first = Pipeline(on, spark=spark, log=logs.append).run(until="dedup")
    assert first["annotate"].skipped and not first["dedup"].skipped
    stats = first["dedup"].stats
    sub = stats["subdoc"]
    rows = spark.read.parquet(str(first["dedup"].path)).collect()
    assert sub["chars_removed"] == sum(r["chars_removed"] for r in rows)
    assert sub["lines_removed_boilerplate"] == sum(r["lines_removed_boilerplate"] for r in rows) > 0
    assert stats["docs_in"] == stats["kept"] + sum(stats["dropped"].values())
    again = Pipeline(on, spark=spark, log=logs.append).run(until="dedup")
    assert again["dedup"].skipped
    console = Console(record=True, width=200)
    info = print_stats(on.run_dir, console=console)
    assert info["subdoc_dedup"]["counters"]["lines_removed_boilerplate"] == sub["lines_removed_boilerplate"]
    assert "most frequent removed lines" in console.export_text()
    html = write_report(on.run_dir).read_text()
    assert "the 20 most frequent removed lines" in html
    changed = {r["counter"]: r for r in diff(m.run_dir, on.run_dir)["subdoc"]}
    assert changed["chars_removed"]["b"] == sub["chars_removed"] and changed["chars_removed"]["a"] is None



@pytest.mark.parametrize("dedup, expected", [
    ({"site_caps": {}}, "dedup.site_caps: Value error, set dedup.site_caps.max_docs or dedup.site_caps.max_tokens"),
    ({"lines": {"policy": "ccnet"}}, "dedup.lines.policy: Input should be 'boilerplate' or 'first'"),
    ({"spans": {"min_span_tokens": 2}}, "dedup.spans.min_span_tokens: Input should be greater than or equal to 5"),
])
def test_bad_settings_are_one_line_errors(tmp_path, capsys, dedup, expected):
    import yaml

    from curator.cli import main
    from tests.conftest import DEMO, demo_manifest_copy

    data = yaml.safe_load(DEMO.read_text())
    path = demo_manifest_copy(tmp_path, tmp_path / "runs", dedup={**data["dedup"], **dedup})
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err, err


ODD = ["a", "B", "ß", "ﬁ", "İ", "Σ", "é", "e\u0301", "Ⅳ", " ", "  ", "\t", "\n", "\n", "\r", "\u00a0", "\u2028",
       "\u3000", "\x85", "\x1c", "\u200b", "long line of words"]


def _odd_texts(n: int = 400) -> list[str]:
    rng = random.Random(7)
    return ["".join(rng.choice(ODD) for _ in range(rng.randint(0, 30))) for _ in range(n)] + ["", "a\nb", "\n\n"]


def test_line_items_are_the_normalised_lines_and_paragraphs():
    """The vectorised items are exactly the lines (and paragraphs) `normalise` gives one line at
    a time, on text full of odd white space, case and compatibility characters."""
    from stages.dedup_exact import normalise
    from stages.dedup_lines import PARAGRAPH_SALT, LineItems

    texts = _odd_texts()
    skip = [i % 9 == 0 for i in range(len(texts))]
    items = LineItems(texts, skip, min_line_chars=3, paragraphs=True)
    got = sorted(zip(items.owner.tolist(), items.start.tolist(), items.end.tolist(), items.strings.to_pylist()))
    want = []
    for j, text in enumerate(texts):
        if skip[j]:
            continue
        lines, start = text.split("\n"), 0
        for i, line in enumerate(lines + [""]):
            if i < len(lines) and line.strip():
                if len(normalise(line)) >= 3:
                    want.append((j, i, i + 1, normalise(line)))
                continue
            if i - start >= 2:
                want.append((j, start, i, PARAGRAPH_SALT + " ".join(normalise(x) for x in lines[start:i])))
            start = i + 1
    assert got == sorted(want) and len(want) > 100
    same = {}
    assert all(same.setdefault(s, h) == h for s, h in zip(items.strings.to_pylist(), items.h.tolist()))
    assert len(set(items.h.tolist())) == len(same)  # distinct strings, distinct hashes


def test_span_words_are_the_lower_cased_white_space_runs():
    import re

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from stages.dedup_spans import window_hashes

    texts = _odd_texts()
    h, owner, start = window_hashes(texts, 2)
    words = [pc.utf8_lower(pa.array(re.findall(r"\S+", t), pa.string())).to_pylist() for t in texts]
    assert owner.tolist() == [j for j, w in enumerate(words) for _ in range(len(w) - 1)]
    assert start.tolist() == [k for w in words for k in range(len(w) - 1)]
    pairs = [tuple(w[k:k + 2]) for w in words for k in range(len(w) - 1)]
    same = {}
    assert all(same.setdefault(p, x) == x for p, x in zip(pairs, h.tolist()))
    assert len(np.unique(h)) == len(same)
    from stages.dedup_spans import word_spans

    for t in texts:  # where the span cut finds each word in the original text
        first, last = word_spans(t)
        assert list(zip(first.tolist(), last.tolist())) == [m.span() for m in re.finditer(r"\S+", t)]


def test_rolling_window_sums_and_minima_equal_the_plain_loops():
    """The prefix-sum form of the window polynomial gives the loop's values mod 2^64 for any
    window length (the span stage's hashes must not depend on how they are computed)."""
    import numpy as np

    from stages.dedup_spans import _K, rolling_sums

    th = np.random.default_rng(3).integers(0, 2**64, 500, dtype=np.uint64)
    for n in (1, 2, 5, 50, 500):
        with np.errstate(over="ignore"):
            acc = th[: len(th) - n + 1].copy()
            for j in range(1, n):
                acc = acc * _K + th[j: len(th) - n + 1 + j]
        assert (rolling_sums(th, n) == acc).all(), n
    from stages.dedup_spans import sliding_min

    for w in (1, 2, 26, 499, 500):  # the winnowing minimum, blocks of w or not
        assert (sliding_min(th, w) == np.lib.stride_tricks.sliding_window_view(th, w).min(axis=1)).all(), w
