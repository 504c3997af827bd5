"""The recipes in manifests/ (all but the demo, which test_pipeline runs): each validates as
shipped, and each runs end to end on small local stand-ins for its inputs, substituted the
way a user would (`curator run RECIPE --inputs NAME=PATH --set KEY=VALUE`), with every stage
it lists leaving its columns, every dedup method its counts, and the accounting adding up."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from curator.cli import main
from curator.errors import ManifestError
from curator.manifest import load
from tests.conftest import ROOT
from tests.licence_texts import MIT
from tests.test_code_source_git import git

RECIPES = sorted(p for p in (ROOT / "manifests").glob("*.yaml") if p.name != "demo.yaml")
SAMPLE = ROOT / "manifests" / "sample"
SECRET = "AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE'\n"
PY = ("def area(width, height):\n    \"\"\"The area of a rectangle of this width and height.\"\"\"\n"
      "    return width * height\n\n\ndef perimeter(width, height):\n    return 2 * (width + height)\n")
STACK_PY = ("import json\n\n\ndef load_settings(path):\n    with open(path, encoding='utf-8') as f:\n"
            "        return json.load(f)\n\n\ndef save_settings(path, data):\n    with open(path, 'w') as f:\n"
            "        json.dump(data, f, indent=2)\n")
REPO_JS = ("module.exports = function total(values) {\n  let sum = 0;\n  for (const v of values) {\n"
           "    sum += Number(v) || 0;\n  }\n  return sum;\n};\n")
JS = "export function greet(name) {\n  const text = `hello ${name}`;\n  console.log(text);\n  return text;\n}\n"
GO = "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfor i := 0; i < 3; i++ {\n\t\tfmt.Println(i)\n\t}\n}\n"


def test_every_recipe_validates_as_shipped(capsys):
    assert {p.name for p in RECIPES} >= {"commoncrawl-github.yaml", "fineweb.yaml", "code.yaml"}
    for recipe in RECIPES:
        assert main(["validate", str(recipe)]) == 0, capsys.readouterr().err
        assert ": ok (" in capsys.readouterr().out


def test_an_unknown_input_or_stage_is_one_line_naming_what_exists(capsys):
    recipe = str(ROOT / "manifests" / "fineweb.yaml")
    assert main(["validate", recipe, "--inputs", "nosuch=x.warc.gz"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no source named 'nosuch'" in err and "its sources: snapshot" in err
    assert main(["validate", recipe, "--set", "stages.detoxify.checkpoint=x"]) == 2
    assert "no stage named 'detoxify'" in capsys.readouterr().err
    with pytest.raises(ManifestError, match="write it as NAME=VALUE"):
        load(recipe, inputs=["snapshot"])


def test_overrides_replace_only_what_they_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(SAMPLE / "web.warc.gz", tmp_path / "local.warc.gz")
    m = load(ROOT / "manifests" / "fineweb.yaml", inputs=["snapshot=local.warc.gz"],
             sets=["output.dir=out", "stages.c4.min_sentences=3", "dedup.minhash.bands=7", "dedup.minhash.rows=16",
                   "stages.url_blocklist.lists=[asset:ut1_adult, mine.txt]"])
    src = m.sources[0]
    assert src.inputs == [str(tmp_path / "local.warc.gz")] and src.paths_file is None and src.limit is None
    c4 = next(e.settings for e in m.stages if e.name == "c4")
    assert c4.min_sentences == 3 and c4.filter_no_terminal_punct is False  # the rest as written
    assert (m.dedup.minhash.bands, m.dedup.minhash.rows, m.dedup.minhash.ngram) == (7, 16, 5)
    assert m.run_dir == Path("out") / "fineweb-cc-2024-10"
    blocklist = next(e.settings for e in m.stages if e.name == "url_blocklist")
    assert blocklist.lists == ["asset:ut1_adult", str(tmp_path / "mine.txt")]  # from the working directory


def test_parquet_in_a_code_folder_is_a_dataset(tmp_path):
    from stages.code_source import code_tasks

    folder = _stack(tmp_path, "python", STACK_PY, "py")
    (folder / "notes.py").write_text("x = 1\n")
    tasks = code_tasks(str(folder), "HEAD", 256)
    assert {"type": "dataset", "path": str(folder / "train-00000-of-00001.parquet")} in tasks
    files = [e[1] for t in tasks if t["type"] == "files" for e in t["files"]]
    assert files == ["notes.py"]


def _repos(root: Path) -> Path:
    """Two git repositories: an MIT one (Python with a secret and a near-copy, JavaScript,
    a minified file) and a GPL one the permissive allow-list drops."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    mit = root / "repos" / "shapes"
    (mit / "src").mkdir(parents=True)
    git(mit, "init", "-q", "-b", "main")
    (mit / "LICENSE").write_text(MIT)
    (mit / "src" / "shapes.py").write_text(PY + SECRET)
    (mit / "src" / "shapes_copy.py").write_text(PY.replace("rectangle", "box") + "\n# a copy\n")
    (mit / "src" / "sum.js").write_text(REPO_JS)
    (mit / "src" / "app.min.js").write_text("var a=1;" * 300 + "\n")
    git(mit, "add", "-A")
    git(mit, "commit", "-qm", "first")
    gpl = root / "repos" / "copyleft"
    gpl.mkdir()
    git(gpl, "init", "-q", "-b", "main")
    (gpl / "COPYING").write_text("GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n")
    (gpl / "tool.py").write_text(PY.replace("area", "surface"))
    git(gpl, "add", "-A")
    git(gpl, "commit", "-qm", "first")
    return root / "repos"


def _stack(root: Path, language: str, content: str, ext: str) -> Path:
    """A folder in The Stack's layout: one Parquet file whose rows are a kept file, its exact
    copy in another repository, and a file under a licence not on the allow-list."""
    folder = root / "the-stack" / language
    folder.mkdir(parents=True)
    rows = [
        {"content": content, "path": f"src/a.{ext}", "repo": "o/one", "license": ["MIT"]},
        {"content": content, "path": f"lib/a.{ext}", "repo": "o/two", "license": ["Apache-2.0"]},
        {"content": content + "\n// more\n", "path": f"b.{ext}", "repo": "o/gpl", "license": ["GPL-3.0-only"]},
    ]
    pq.write_table(pa.Table.from_pylist(rows), folder / "train-00000-of-00001.parquet")
    return folder


def _stand_ins(name: str, tmp: Path) -> tuple[list[str], list[str]]:
    """(--inputs, --set) that run one recipe on local stand-ins, as a user would."""
    sets = [f"output.dir={tmp / 'runs'}", "shards.tokens_per_shard=65536", "spark.shuffle_partitions=4"]
    web = str(SAMPLE / "web.warc.gz")
    if _sets_for_web(name):
        blocked = tmp / "blocked-domains.txt"  # the sample has no adult site: a user's own list
        blocked.write_text("slowtrains.example\n")
        sets.append(f"stages.url_blocklist.lists=[asset:ut1_adult, {blocked}]")
    if name == "fineweb.yaml":
        return [f"snapshot={web}"], sets
    if name == "commoncrawl-github.yaml":
        return [f"commoncrawl={web}", f"github={_repos(tmp)}"], sets + [
            f"stages.fasttext_quality.model={SAMPLE / 'quality.bin'}",
            "stages.detoxify.checkpoint=asset:detoxify_tiny",
            "stages.detoxify.huggingface_config=asset:detoxify_tiny/hf",
            "stages.detoxify.max_scores={threat: 0.9}",  # the tiny test model's scale
            f"stages.decontaminate.evalsets={SAMPLE / 'evalsets'}",  # the demo's small eval set
        ]
    if name == "code.yaml":
        return [f"github={_repos(tmp)}", f"stack-python={_stack(tmp, 'python', STACK_PY, 'py')}",
                f"stack-javascript={_stack(tmp, 'javascript', JS, 'js')}",
                f"stack-go={_stack(tmp, 'go', GO, 'go')}"], sets
    raise AssertionError(f"{name}: a new recipe needs its stand-ins here")


def _sets_for_web(name: str) -> bool:
    return name in ("commoncrawl-github.yaml", "fineweb.yaml")


def _phase_stats(run_dir: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (run_dir / "stats").glob("*.json")}


@pytest.mark.parametrize("recipe", RECIPES, ids=[p.stem for p in RECIPES])
def test_recipe_runs_every_stage_on_local_stand_ins(recipe, spark, tmp_path):
    from curator.pipeline import Pipeline
    from curator.runstats import collect

    inputs, sets = _stand_ins(recipe.name, tmp_path)
    m = load(recipe, inputs=inputs, sets=sets)
    Pipeline(m, spark=spark, log=lambda s: None).run()
    info = collect(m.run_dir)
    assert info["accounting_problems"] == []
    stats = _phase_stats(m.run_dir)
    reasons: dict[str, int] = {}
    for s in stats.values():
        for reason, n in s.get("dropped", {}).items():
            reasons[reason] = reasons.get(reason, 0) + n
    annotated = ds.dataset(m.run_dir / "annotated", format="parquet")
    names = set(annotated.schema.names)
    table = annotated.to_table()
    for entry in m.stages:
        cols = set(entry.stage.columns)
        assert cols <= names, (entry.name, sorted(cols - names))
        scored = [c for c in cols if table.column(c).null_count < table.num_rows]
        fired = [r for r in reasons if r.split(".")[0] == entry.name]
        # every stage left values in its columns or dropped something by its own reasons
        assert scored or fired, (entry.name, "ran on no document")
    dedup = stats["deduped"]
    # exact and MinHash dedup leave their cluster statistics (URL dedup only its drops, and
    # the stand-ins hold no URL fetched twice)
    assert ("exact_cluster_sizes" in dedup) == m.dedup.exact
    assert ("minhash" in dedup) == (m.dedup.minhash is not None)
    if m.dedup.minhash is not None:
        mh = m.dedup.minhash
        assert dedup["minhash"]["bands"] == (mh.bands or dedup["minhash"]["bands"]) > 0, dedup["minhash"]
        assert "candidate_pairs" in dedup["minhash"]
    shards = {row["seq_len"]: row for row in info["shards"]}
    assert sorted(shards) == sorted(m.shards.seq_lens)
    if m.shards.stages:  # a 10% stage of a few stand-in documents may hold none
        assert sum(row["tokens"] for row in shards.values()) > 0
    else:
        assert all(row["tokens"] > 0 for row in shards.values())
    # every weighted domain reaches the mixture (a tiny domain's share may round to no document)
    kept_domains = {d for d, v in stats["deduped"]["domains"].items() if v["kept"] > 0}
    assert kept_domains == {d for d, w in m.mixture.weights.items() if w > 0}
    assert sum(v["kept"] for v in stats["mixed"]["domains"].values()) > 0
    _recipe_specific(recipe.name, reasons, table)


def _recipe_specific(name: str, reasons: dict[str, int], table: pa.Table) -> None:
    rows = table.to_pylist()
    if name in ("commoncrawl-github.yaml", "code.yaml"):
        assert reasons.get("code.license", 0) > 0, reasons  # the GPL repository / rows
        kept_code = [r for r in rows if r["kind"] == "code" and r["drop_reason"] is None]
        assert kept_code and not any("AKIAIOSFODNN7EXAMPLE" in r["text"] for r in kept_code)
        assert any((r.get("pii_aws_access_key") or 0) > 0 for r in rows)
    if name in ("commoncrawl-github.yaml", "fineweb.yaml"):
        assert reasons.get("langid.precheck", 0) + reasons.get("langid.language", 0) > 0, reasons
        assert any(r.startswith("url_blocklist.") for r in reasons), reasons
        web = [r for r in rows if r["kind"] != "code" and r["drop_reason"] is None]
        assert web and {r["lang"] for r in web} == {"en"}
    if name == "code.yaml":
        assert reasons.get("dedup.exact", 0) >= 3, reasons  # each Stack file's copy in another repository
