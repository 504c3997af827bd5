"""A bad manifest stops before Spark starts: exit 2 and one line naming the field."""

from __future__ import annotations

import copy

import pytest
import yaml

from curator.cli import main
from tests.conftest import DEMO

BASE = yaml.safe_load(DEMO.read_text())


def write(tmp_path, data) -> str:
    # Inputs resolve against the manifest's folder: point them back at the bundled sample.
    data = copy.deepcopy(data)
    for src in data.get("sources", []):
        src["inputs"] = [str(DEMO.parent / p) for p in src.get("inputs", [])]
    p = tmp_path / "m.yaml"
    p.write_text(yaml.safe_dump(data))
    return str(p)


def run_validate(tmp_path, capsys, data) -> tuple[int, str]:
    code = main(["validate", write(tmp_path, data)])
    err = capsys.readouterr().err.strip()
    return code, err


def test_demo_manifest_is_valid(capsys):
    assert main(["validate", str(DEMO)]) == 0
    assert "ok" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda d: d["stages"].append({"no_such_stage": {}}), f"stages[{len(BASE['stages'])}]: unknown stage 'no_such_stage'; allowed: "),
        (lambda d: d["mixture"]["weights"].update(web=-0.5), "mixture.weights: Value error, weight of domain 'web' is -0.5"),
        (lambda d: d["sources"][0]["inputs"].append("missing/nothing.warc.gz"), "sources[0].inputs[1]: no file matches"),
        (lambda d: d.update(colour="blue"), "colour: unknown key"),
        (lambda d: d["sources"][1].update(kind="svn"), "sources[1].kind: Input should be 'warc' or 'code'"),
        (lambda d: d["stages"][0]["langid"].update(min_score=2), "stages[0].langid.min_score: Input should be less than or equal to 1"),
        (lambda d: d["stages"][1]["gopher_quality"].update(min_doc_wrds=3), "stages[1].gopher_quality.min_doc_wrds: unknown key"),
        (lambda d: d["mixture"]["weights"].pop("code"), "mixture.weights has no weight for domain(s) ['code']"),
        (lambda d: d["shards"].update(seq_lens=[2048, 0]), "shards.seq_lens: Value error, sequence lengths must be > 0"),
        (lambda d: d["shards"].update(formats=["tfrecord"]), "shards.formats[0]: Input should be 'megatron'"),
    ],
    ids=["unknown-stage", "negative-weight", "missing-input", "unknown-key", "bad-kind",
         "stage-setting-range", "stage-setting-typo", "domain-without-weight", "zero-seq-len", "bad-format"],
)
def test_bad_manifest_exits_2_with_one_line(tmp_path, capsys, mutate, expected):
    data = copy.deepcopy(BASE)
    mutate(data)
    code, err = run_validate(tmp_path, capsys, data)
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith("curator: error: ")
    assert expected in err


def test_bad_manifest_fails_run_before_spark(tmp_path, capsys, monkeypatch):
    import curator.spark

    def no_spark(*a, **k):  # pragma: no cover - reaching it is the failure
        raise AssertionError("Spark was started for an invalid manifest")

    monkeypatch.setattr(curator.spark, "get_spark", no_spark)
    data = copy.deepcopy(BASE)
    data["mixture"]["weights"]["web"] = -1
    assert main(["run", write(tmp_path, data)]) == 2
    assert "weight of domain 'web' is -1" in capsys.readouterr().err


def test_missing_manifest_and_bad_yaml(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "manifest not found" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("run: demo\nsources: [\n")
    assert main(["validate", str(bad)]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_inputs_resolve_against_manifest_folder():
    from curator.manifest import expand_inputs, load

    m = load(DEMO)
    paths = expand_inputs(m, 0)
    assert paths == [str(DEMO.parent / "sample" / "web.warc.gz")]
    assert m.stage_specs()[0][0] == "langid"
