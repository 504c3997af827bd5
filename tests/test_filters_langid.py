"""Language ID on real languages (zh/ja included), code left alone, and per-domain settings
by listing a stage twice."""

from __future__ import annotations

import pytest
from filter_docs import batch, row

from curator.assets import is_fetched
from curator.manifest import parse
from curator.schema import DOC_SCHEMA
from stages import registry
from stages.gopher import GopherQuality
from stages.langid import LanguageId

needs_lid = pytest.mark.skipif(not is_fetched("lid176"), reason="lid.176 not fetched (curator assets fetch)")

TEXTS = {
    "en": "The ferry leaves the harbour at seven every morning, and passengers buy tickets at the kiosk.",
    "de": "Die Fähre verlässt den Hafen jeden Morgen um sieben Uhr, und die Fahrgäste kaufen Karten am Kiosk.",
    "zh": "渡轮每天早上七点离开港口，乘客们在码头的小亭子里买票。我们觉得这个城市很漂亮，这里的人也很热情。",
    "ja": "フェリーは毎朝七時に港を出発し、乗客は桟橋の小さな売店で切符を買います。",
    "it": "Il traghetto lascia il porto ogni mattina alle sette e i passeggeri comprano i biglietti al chiosco.",
}


@needs_lid
def test_labels_and_keep_list():
    stage = LanguageId({"keep": ["en", "de", "zh", "ja"], "min_score": 0.5})
    out = stage.apply(batch([row(t, i=i) for i, t in enumerate(TEXTS.values())])).to_pylist()
    assert [r["lang"] for r in out] == list(TEXTS)
    assert all(r["lang_score"] > 0.5 for r in out)
    assert [r["drop_reason"] for r in out] == [None, None, None, None, "langid.language"]


@needs_lid
def test_min_score():
    out = LanguageId({"min_score": 1.0}).apply(batch([row(TEXTS["en"])])).to_pylist()[0]
    assert out["drop_reason"] == "langid.low_score"


@needs_lid
def test_code_is_never_language_filtered():
    code = row("def ferry():\n    return 'Il traghetto lascia il porto'\n", kind="code", domain="code", i=1)
    rows = [row(TEXTS["it"]), code]
    out = LanguageId({"keep": ["en"]}).apply(batch(rows)).to_pylist()
    assert out[0]["drop_reason"] == "langid.language"
    assert out[1]["drop_reason"] is None and out[1]["lang"] is None  # not even scored
    labelled = LanguageId({"keep": ["en"], "label_code": True}).apply(batch(rows)).to_pylist()[1]
    assert labelled["drop_reason"] is None and labelled["lang"] is not None


def test_missing_model_is_a_clear_error(tmp_path):
    from curator.errors import EnvironmentProblem

    stage = LanguageId({"model": str(tmp_path / "nope.ftz")})
    with pytest.raises(EnvironmentProblem, match="nope.ftz"):
        stage.apply(batch([row(TEXTS["en"])]))


def test_same_stage_twice_with_other_domains_and_thresholds():
    """Per-domain thresholds: two gopher_quality entries share the score columns, each
    scoring and judging only its own domain's rows."""
    known = registry()
    specs = [("gopher_quality", {"domains": ["web"]}), ("gopher_quality", {"domains": ["forum"], "min_doc_words": 5})]
    stages = [known[n](s) for n, s in specs]
    schema = DOC_SCHEMA
    for n, _ in specs:
        schema = known[n].output_schema(schema)
    assert schema.names.count("gopher_words") == 1
    short = "The ferry leaves the harbour at seven and the boats go to the islands of the bay."
    b = batch([row(short, domain="web"), row(short, domain="forum", i=1), row(short, domain="code", i=2)])
    for stage in stages:
        b = stage.apply(b)
    out = b.to_pylist()
    assert [r["drop_reason"] for r in out] == ["gopher_quality.word_count", None, None]
    assert out[0]["gopher_words"] == out[1]["gopher_words"] == 17 and out[2]["gopher_words"] is None


def test_manifest_accepts_a_stage_listed_twice(tmp_path):
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo2").mkdir()
    m = parse({
        "run": "t",
        "sources": [{"name": "a", "kind": "code", "inputs": ["repo"], "domain": "web"},
                    {"name": "b", "kind": "code", "inputs": ["repo2"], "domain": "forum"}],
        "mixture": {"weights": {"web": 1, "forum": 1}},
        "stages": [{"c4": {"domains": ["web"]}}, {"c4": {"domains": ["forum"], "min_sentences": 2}},
                   {"langid": {"domains": ["web"], "keep": ["en"]}},
                   {"langid": {"domains": ["forum"], "keep": ["en", "de"], "min_score": 0.3}}],
    }, base_dir=str(tmp_path))
    assert [n for n, _ in m.stage_specs()] == ["c4", "c4", "langid", "langid"]
    schema = DOC_SCHEMA
    for n, _ in m.stage_specs():
        schema = registry()[n].output_schema(schema)
    assert schema.names.count("c4_sentences") == 1


def test_gopher_skips_zh_and_ja_and_measures_german():
    rows = [row(TEXTS["zh"], lang="zh"), row(TEXTS["ja"], lang="ja", i=1), row(" ".join([TEXTS["de"]] * 4), lang="de", i=2)]
    out = GopherQuality().apply(batch(rows)).to_pylist()
    assert out[0]["gopher_words"] is None and out[1]["gopher_words"] is None
    assert out[0]["drop_reason"] is None and out[1]["drop_reason"] is None
    assert out[2]["gopher_words"] == 68 and out[2]["gopher_stop_words"] is None
