"""Stages as plug-ins with typed settings validated once, one threshold rule, the JSON Schema.

A stage written outside the repository (`mymod:MyFilter` in a temporary folder, and one
exposed through a `curator.stages` entry point of a tiny installed distribution) is named by a
manifest line, parsed, anchored and applied like the built-in ones."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest
import yaml

from curator.cli import main
from curator.errors import ManifestError
from curator.manifest import dump_resolved, load, parse
from tests.conftest import DEMO
from tests.filter_docs import batch, row

BASE = yaml.safe_load(DEMO.read_text())

PLUGIN = '''
"""A stage outside the project: drops documents with too many digits."""
import pyarrow as pa

from stages import AssetPath, Stage, StageSettings, Threshold
from stages.base import decide


class MyFilter(Stage):
    """Share of characters that are digits; rule `digits` above `max_digit_ratio`."""

    name = "{name}"

    class Settings(StageSettings):
        max_digit_ratio: float = 0.5
        words: AssetPath | None = None
        more_words: list[AssetPath] = []

    columns = {{"digit_ratio": pa.float64()}}

    @classmethod
    def thresholds(cls, settings):
        return {{"digit_ratio": [Threshold("<=", cls._settings(settings).max_digit_ratio, "digits")]}}

    def score_batch(self, docs):
        texts = docs.column("text").to_pylist()
        return {{"digit_ratio": [sum(c.isdigit() for c in t) / max(len(t), 1) for t in texts]}}

    def keep_batch(self, docs, scores):
        return decide(self._limits, scores, docs.num_rows)


class NotAStage:
    pass
'''


def _plugin(folder: Path, module: str, name: str, monkeypatch) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{module}.py"
    path.write_text(PLUGIN.format(name=name))
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, module, raising=False)
    return path


@pytest.fixture
def mymod(tmp_path, monkeypatch):
    """`mymod.py` (stage `my_filter`) in a folder outside the repository, on sys.path."""
    return _plugin(tmp_path / "plugins", "mymod", "my_filter", monkeypatch)


def _with_stage(item: dict) -> dict:
    data = copy.deepcopy(BASE)
    data["stages"].append(item)
    return data


def _write(tmp_path: Path, data: dict) -> Path:
    """The manifest in the demo's folder (its relative inputs resolve), runs under tmp_path."""
    data = copy.deepcopy(data)
    data["output"] = {"dir": str(tmp_path / "runs")}
    for src in data["sources"]:
        src["inputs"] = [str(DEMO.parent / p) for p in src["inputs"]]
    data["stages"] = [
        {k: ({**v, "model": str(DEMO.parent / v["model"])} if k == "fasttext_quality" else v) for k, v in s.items()}
        for s in data["stages"]
    ]
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# -- plug-ins --------------------------------------------------------------------------------

def test_external_stage_by_module_and_class(mymod, tmp_path):
    """One file outside the repository plus one manifest line: parsed into its own Settings,
    its path-typed settings anchored at the manifest's folder, applied with its own rule."""
    item = {"mymod:MyFilter": {"max_digit_ratio": 0.3, "words": "lists/words.txt",
                               "more_words": ["a.txt", "asset:ldnoobw", "/abs/b.txt", "s3://bucket/c.txt"]}}
    m = parse(_with_stage(item), base_dir=str(DEMO.parent))
    entry = m.stages[-1]
    assert entry.name == "mymod:MyFilter" and entry.stage.__module__ == "mymod"
    assert isinstance(entry.settings, entry.stage.Settings) and entry.settings.max_digit_ratio == 0.3
    assert entry.settings.words == str(DEMO.parent / "lists" / "words.txt")
    assert entry.settings.more_words == [str(DEMO.parent / "a.txt"), "asset:ldnoobw", "/abs/b.txt", "s3://bucket/c.txt"]

    stage = entry.stage(entry.settings)
    out = stage.apply(batch([row("plain words only", i=0), row("12345 678 x", i=1)])).to_pylist()
    assert [r["drop_reason"] for r in out] == [None, "my_filter.digits"]
    assert out[1]["digit_ratio"] == pytest.approx(8 / 11)

    lock = yaml.safe_load(dump_resolved(m))["stages"][-1]  # written back under the name used
    assert lock == {"mymod:MyFilter": {"domains": None, "max_digit_ratio": 0.3, "words": entry.settings.words,
                                       "more_words": entry.settings.more_words}}


@pytest.mark.parametrize("name, expected", [
    ("nomod_xyz:Thing", "stages[{i}]: cannot import module 'nomod_xyz' for stage 'nomod_xyz:Thing'"),
    ("mymod:Missing", "stages[{i}]: module 'mymod' has no 'Missing'"),
    ("mymod:NotAStage", "stages[{i}]: mymod:NotAStage is not a stage (a subclass of stages.base.Stage)"),
])
def test_bad_external_stage_is_one_line_exit_2(mymod, tmp_path, capsys, name, expected):
    code = main(["validate", str(_write(tmp_path, _with_stage({name: {}})))])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1, err
    assert expected.format(i=len(BASE["stages"])) in err


def test_entry_point_stage(tmp_path, monkeypatch):
    """An installed distribution's `curator.stages` entry point names a stage the manifest
    can use by its entry point name; the registry and the JSON schema list it."""
    site = tmp_path / "site"
    _plugin(site, "plugmod", "plug_filter", monkeypatch)
    info = site / "curatorplug-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: curatorplug\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[curator.stages]\nplug_filter = plugmod:MyFilter\n")

    from curator.schema_json import manifest_json_schema
    from stages import find, registry

    cls = find("plug_filter")
    assert cls.__module__ == "plugmod" and registry()["plug_filter"] is cls
    m = parse(_with_stage({"plug_filter": {"max_digit_ratio": 0.1}}), base_dir=str(DEMO.parent))
    assert m.stages[-1].stage is cls and m.stages[-1].settings.max_digit_ratio == 0.1
    titles = [x["title"] for x in manifest_json_schema()["properties"]["stages"]["items"]["oneOf"]]
    assert "plug_filter" in titles


def test_stage_registers_itself_and_names_are_unique():
    from stages import find
    from stages.base import Stage

    class Abstract(Stage):  # no name of its own: a base class, not registered
        pass

    class Fresh(Stage):
        name = "test_plugins_fresh"

    assert find("test_plugins_fresh") is Fresh
    with pytest.raises(TypeError, match="stage name 'c4' is already used by stages.c4.C4Quality"):
        class Clash(Stage):
            name = "c4"
    with pytest.raises(LookupError, match="unknown stage 'Abstract'"):
        find("Abstract")


def test_path_settings_are_marked_by_type():
    """The built-in file settings are found from the Settings models; no list of keys."""
    import curator.manifest as manifest
    from stages import registry
    from stages.base import path_fields

    assert not hasattr(manifest, "STAGE_PATH_KEYS")
    found = {name: path_fields(cls.Settings) for name, cls in registry().items() if path_fields(cls.Settings)}
    assert found["langid"] == ["model"] and found["fasttext_quality"] == ["model"]
    assert found["url_blocklist"] == ["lists", "url_lists"] and found["toxic_words"] == ["lists"]
    assert found["detoxify"] == ["checkpoint", "huggingface_config"]


# -- typed settings, validated once ------------------------------------------------------------

def test_every_error_of_a_manifest_in_one_run(tmp_path, capsys):
    data = copy.deepcopy(BASE)
    at = {next(iter(s)): i for i, s in enumerate(data["stages"])}
    data["stages"][at["c4"]]["c4"]["min_sentences"] = "three"
    data["stages"][at["gopher_quality"]]["gopher_quality"]["min_doc_wrds"] = 3
    data["stages"][at["langid"]]["langid"]["min_score"] = 2
    data["stages"].append({"no_such_stage": {}})
    data["mixture"]["weights"]["web"] = -1
    data["shards"]["formats"] = ["tfrecord"]
    code = main(["validate", str(_write(tmp_path, data))])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1, err
    for expected in (
        f"stages[{at['c4']}].c4.min_sentences: Input should be a valid integer",
        f"stages[{at['gopher_quality']}].gopher_quality.min_doc_wrds: unknown key",
        f"stages[{at['langid']}].langid.min_score: Input should be less than or equal to 1",
        f"stages[{len(BASE['stages'])}]: unknown stage 'no_such_stage'",
        "mixture.weights: Value error, weight of domain 'web' is -1",
        "shards.formats[0]: Input should be 'megatron'",
    ):
        assert expected in err, (expected, err)
    assert err.index("stages[") < err.index("mixture.weights") < err.index("shards.formats")  # file order
    with pytest.raises(ManifestError) as e:
        load(_write(tmp_path, data))
    assert len(e.value.problems) == 6


def test_lock_file_has_every_default(tmp_path):
    m = load(_write(tmp_path, BASE))
    stages = yaml.safe_load(dump_resolved(m))["stages"]
    c4 = next(s["c4"] for s in stages if "c4" in s)
    assert c4["min_sentences"] == 5 and c4["filter_lorem_ipsum"] is True  # not written in the demo
    assert parse({**yaml.safe_load(dump_resolved(m)), "output": {"dir": str(tmp_path / "runs")}},
                 base_dir=str(DEMO.parent)).stage_specs() == m.stage_specs()  # the lock parses back


def test_workers_use_the_parsed_settings_without_validating(monkeypatch):
    """The annotate workers get (class, settings model) pairs and do not validate again."""
    from curator.pipeline import _STAGES, _annotate_batches
    from curator.schema import DOC_SCHEMA
    from stages.c4 import C4Quality

    settings = C4Quality.Settings.model_validate({"min_sentences": 1})

    def refuse(*a, **k):
        raise AssertionError("validated again")

    monkeypatch.setattr(C4Quality.Settings, "model_validate", refuse)
    _STAGES.clear()
    docs = batch([row("One sentence here, with words. Another one is here too.")])
    out = list(_annotate_batches([docs], [(C4Quality, settings)], DOC_SCHEMA))
    assert out[0].column("drop_reason").to_pylist() == [None]


# -- one threshold rule ------------------------------------------------------------------------

def _decisions(stage, docs_rows, scores):
    docs = batch(docs_rows)
    import pyarrow as pa

    return stage.keep_batch(pa.Table.from_batches([docs]), scores)


def test_fasttext_quality_is_decided_by_its_declared_limits():
    from stages.quality import FastTextQuality

    s = {"model": "/m.bin", "min_score": 0.5, "min_score_by_domain": {"forum": 0.8, "code": 0.0}}
    limits = FastTextQuality.thresholds(s)["quality_score"]
    assert sorted(t.limit for t in limits) == [0.0, 0.5, 0.8] and {t.rule for t in limits} == {"low_score"}
    stage = FastTextQuality(s)
    rows = [row("t", domain=d, i=i) for i, d in enumerate(["web", "forum", "forum", "code", "web"])]
    scores = {"quality_score": [0.4, 0.7, 0.9, 0.0, None]}
    assert _decisions(stage, rows, scores) == ["low_score", "low_score", None, None, None]
    off = FastTextQuality({"model": "/m.bin", "min_score": None, "min_score_by_domain": {"forum": 0.8}})
    assert _decisions(off, rows, scores) == [None, "low_score", None, None, None]


def test_detoxify_is_decided_by_its_declared_limits():
    from stages.toxicity import DetoxifyToxicity

    s = {"max_scores": {"insult": 0.5, "toxicity": 0.8}}
    assert DetoxifyToxicity.thresholds(s) == {
        "detoxify_toxicity": [("<=", 0.8, "toxicity", None, None, False)],
        "detoxify_insult": [("<=", 0.5, "insult", None, None, False)],
    }
    stage = DetoxifyToxicity(s)
    scores = {"detoxify_toxicity": [0.9, 0.1, 0.9, None], "detoxify_insult": [0.9, 0.6, 0.1, 0.6]}
    assert _decisions(stage, [row("t", i=i) for i in range(4)], scores) == ["toxicity", "insult", "toxicity", "insult"]


def test_toxic_words_is_decided_by_its_declared_limits():
    from stages.toxicity import ToxicWords

    s = {"max_count": 3, "max_ratio": 0.1, "per_language": {"de": {"max_count": 1}}}
    found = ToxicWords.thresholds(s)
    assert [t.rule for t in found["toxic_words"]] == ["count", "count"] and [t.rule for t in found["toxic_words_ratio"]] == ["ratio"]
    stage = ToxicWords(s)
    langs = ["en", "en", "de", "de-AT", "en", None]
    scores = {"toxic_words": [4, 1, 2, 1, None, 9], "toxic_words_ratio": [0.5, 0.5, 0.5, 0.9, None, 0.0]}
    # en: count > 3, then ratio > 0.1; de: only its own count (ratio off for it)
    assert _decisions(stage, [row("t", lang=x, i=i) for i, x in enumerate(langs)], scores) == [
        "count", "ratio", "count", None, None, "count"]


def test_langid_threshold_decides_after_the_keep_list():
    from stages.langid import LanguageId

    stage = LanguageId({"keep": ["en"], "min_score": 0.6})
    rows = [row("t", i=i, kind=k) for i, k in enumerate(["warc", "warc", "warc", "code"])]
    scores = {"lang": ["en", "de", "en", "de"], "lang_score": [0.5, 0.9, 0.9, 0.1]}
    assert _decisions(stage, rows, scores) == ["low_score", "language", None, None]


def test_report_thresholds_include_model_stages(tmp_path):
    """runstats reads the limits of fasttext_quality, detoxify and toxic_words from the lock."""
    from curator import runstats

    m = load(_write(tmp_path, BASE))
    m.run_dir.mkdir(parents=True)
    (m.run_dir / "manifest.lock.yaml").write_text(dump_resolved(m))
    found = runstats.thresholds(m.run_dir)
    assert ("<=", 0.9, "detoxify.threat", "detoxify") in found["detoxify_threat"]
    assert ("<=", 0.01, "toxic_words.ratio", "toxic_words") in found["toxic_words_ratio"]
    assert ("<=", 0.5, "fasttext_quality.low_score", "fasttext_quality") not in found["quality_score"]
    assert (">=", 0.5, "fasttext_quality.low_score", "fasttext_quality") in found["quality_score"]


# -- JSON schema -------------------------------------------------------------------------------

def test_manifest_json_schema_covers_the_demo():
    from curator.schema_json import manifest_json_schema
    from stages import registry

    schema = manifest_json_schema()
    json.dumps(schema)  # plain JSON
    assert set(schema["required"]) == {"run", "sources", "mixture"}
    assert "base_dir" not in schema["properties"]
    alternatives = schema["properties"]["stages"]["items"]["oneOf"]
    by_name = {a["title"]: a for a in alternatives}
    assert set(registry()) <= set(by_name) and "module:Class" in by_name
    for key in BASE:  # the demo's structure, checked by hand
        assert key in schema["properties"], key
    for item in BASE["stages"]:
        (name, settings), = item.items()
        props = by_name[name]["properties"][name]["anyOf"][0]["properties"]
        assert set(settings or {}) <= set(props), (name, set(settings) - set(props))
        assert by_name[name]["required"] == [name] and by_name[name]["additionalProperties"] is False
    c4 = by_name["c4"]["properties"]["c4"]["anyOf"][0]
    assert c4["additionalProperties"] is False and c4["properties"]["min_sentences"]["default"] == 5
    try:
        import jsonschema
    except ImportError:
        return
    jsonschema.validate(BASE, schema)
    bad = copy.deepcopy(BASE)
    bad["stages"][0] = {"c4": {"min_sentencs": 3}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


# -- Spark: the executors import a plug-in that lives outside the project ---------------------------

def test_spark_workers_import_a_single_file_plugin(tmp_path, monkeypatch, spark):
    """The driver found `sparkmod` through sys.path only (not PYTHONPATH): the Python workers
    can import it because the run ships the file (SparkContext.addPyFile)."""
    from functools import partial

    from curator.pipeline import _annotate_batches, _ship_stage_module
    from curator.schema import DOC_SCHEMA, spark_schema

    _plugin(tmp_path / "elsewhere", "sparkmod", "spark_filter", monkeypatch)
    m = parse(_with_stage({"sparkmod:MyFilter": {"max_digit_ratio": 0.3}}), base_dir=str(DEMO.parent))
    entry = m.stages[-1]
    _ship_stage_module(spark, entry.stage)
    schema = entry.stage.output_schema(DOC_SCHEMA)
    df = spark.createDataFrame([row("words", i=0), row("123456", i=1)], schema=spark_schema(DOC_SCHEMA))
    fn = partial(_annotate_batches, specs=[(entry.stage, entry.settings)], in_schema=DOC_SCHEMA)
    out = sorted(df.mapInArrow(fn, spark_schema(schema)).select("id", "drop_reason").collect())
    assert [r.drop_reason for r in out] == [None, "spark_filter.digits"]
