"""Issue 16: fingerprints that see code, logging with levels, the Spark conf left to the
user under spark-submit, the CLI's table of subcommands and exit codes, the Python API."""

from __future__ import annotations

import json
import logging
import shutil
import sys

import pyarrow as pa
import pytest

from curator import codeprint
from curator.cli import COMMANDS, _parser, main
from curator.errors import AccountingError, EnvironmentProblem, InputError, ManifestError
from curator.log import configure, level_from, logger
from curator.rundir import RUN_MARKER
from tests.conftest import DEMO

# -- fingerprints that see code ------------------------------------------------------------

PLUGIN = '''
from stages.base import DocumentFilter, StageSettings, thresholds_from


class Settings(StageSettings):
    min_chars: int = 10


class CliApiLength(DocumentFilter):
    name = "cli_api_length"
    Settings = Settings
    columns = {"cli_api_chars": __import__("pyarrow").int64()}

    def score_document(self, doc):
        return {"cli_api_chars": len(doc["text"])}

    @classmethod
    def thresholds(cls, settings):
        s = cls._settings(settings)
        return thresholds_from([("cli_api_chars", ">=", s.min_chars, "too_short")])
'''


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    """A stage defined in a package outside the project, imported like a plug-in."""
    root = tmp_path_factory.mktemp("plugin")
    (root / "cli_api_plugin").mkdir()
    (root / "cli_api_plugin" / "__init__.py").write_text("")
    (root / "cli_api_plugin" / "helpers.py").write_text("LIMIT = 10\n")
    (root / "cli_api_plugin" / "length.py").write_text("from cli_api_plugin import helpers\n" + PLUGIN)
    sys.path.insert(0, str(root))
    try:
        from cli_api_plugin.length import CliApiLength

        yield root / "cli_api_plugin", CliApiLength
    finally:
        sys.path.remove(str(root))


def test_editing_a_stage_or_a_module_it_imports_changes_the_annotate_fingerprint(plugin):
    folder, cls = plugin
    before = codeprint.code_fingerprint("annotate", [cls])
    assert codeprint.code_fingerprint("annotate", [cls]) == before  # same source, same hash
    names = {p.name for p in codeprint.module_files(cls)}
    assert {"length.py", "helpers.py", "base.py"} <= names
    for changed in ("length.py", "helpers.py"):
        path = folder / changed
        original = path.read_bytes()
        path.write_bytes(original + b"\n# a changed rule\n")
        try:
            assert codeprint.code_fingerprint("annotate", [cls]) != before, changed
        finally:
            path.write_bytes(original)
        assert codeprint.code_fingerprint("annotate", [cls]) == before
    # the stage's module is part of it: another stage list, another hash
    assert codeprint.code_fingerprint("annotate", []) != before


def test_a_plug_ins_distribution_version_is_part_of_the_fingerprint(plugin, monkeypatch):
    _, cls = plugin
    assert codeprint.plugin_versions(cls) == {}  # not installed: its source alone counts
    before = codeprint.code_fingerprint("annotate", [cls])
    monkeypatch.setattr(codeprint, "_distributions", lambda: {"cli_api_plugin": ["pytest"]})
    assert codeprint.plugin_versions(cls) == {"pytest": pytest.__version__}
    assert codeprint.code_fingerprint("annotate", [cls]) != before


def test_phase_files_are_hashed_by_content(tmp_path):
    """A copy of the project's dedup and schema code: editing one re-runs dedup, and a
    phase's hash does not move when another phase's file changes."""
    for rel in ("stages/dedup_exact.py", "stages/minhash.py", "stages/tokenize.py", "curator/schema.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(codeprint.ROOT / rel, tmp_path / rel)
    dedup, tokenize = (codeprint.code_fingerprint(p, root=tmp_path) for p in ("dedup", "tokenize"))
    with open(tmp_path / "stages" / "dedup_exact.py", "a") as f:
        f.write("\n# keep the longest duplicate instead\n")
    assert codeprint.code_fingerprint("dedup", root=tmp_path) != dedup
    assert codeprint.code_fingerprint("tokenize", root=tmp_path) == tokenize
    with open(tmp_path / "curator" / "schema.py", "a") as f:  # every phase writes the schema
        f.write("\n# a new column\n")
    assert codeprint.code_fingerprint("tokenize", root=tmp_path) != tokenize


def test_the_pipeline_puts_the_code_hash_of_each_phase_in_its_fingerprint():
    from curator.manifest import load
    from curator.pipeline import PHASES, Pipeline

    m = load(DEMO)
    code = Pipeline(m, log=lambda s: None)._code_fingerprints()
    assert list(code) == list(PHASES)
    stages = [name for name, _ in m.stage_specs()]
    assert code["annotate"] == codeprint.code_fingerprint("annotate", stages)
    assert len(set(code.values())) == len(PHASES)


# -- logging -------------------------------------------------------------------------------

def test_log_level_from_options_and_environment():
    assert level_from(0, 0, env="") == logging.INFO
    assert level_from(1, 0, env="ERROR") == logging.DEBUG  # the option wins
    assert level_from(0, 1, env="") == logging.WARNING
    assert level_from(0, 2, env="") == logging.ERROR
    assert level_from(0, 0, env="warning") == logging.WARNING
    assert level_from(0, 0, env="15") == 15
    assert level_from(0, 0, env="LOUD") == logging.INFO  # unknown: the default


@pytest.fixture
def restore_level():
    level = logger.level
    yield
    logger.setLevel(level)


def test_a_runs_notes_go_through_the_curator_logger_to_stderr(tmp_path, capsys, restore_level):
    from curator.phases import PhaseRunner

    (tmp_path / RUN_MARKER).write_text("{}")

    def build(out):
        out.mkdir(parents=True)
        return {}

    configure(logging.INFO)
    PhaseRunner(tmp_path).run("phase", "fp", build)  # the default log
    captured = capsys.readouterr()
    assert "[phase] running" in captured.err and captured.out == ""
    configure(logging.WARNING)  # -q
    PhaseRunner(tmp_path).run("phase", "fp", build)
    assert capsys.readouterr().err == ""


def test_quiet_and_verbose_options_set_the_level(capsys, restore_level, monkeypatch):
    monkeypatch.delenv("CURATOR_LOG_LEVEL", raising=False)
    assert main(["-q", "validate", str(DEMO)]) == 0
    assert logger.level == logging.WARNING
    assert "ok" in capsys.readouterr().out  # command output stays on stdout
    assert main(["validate", str(DEMO), "-v"]) == 0
    assert logger.level == logging.DEBUG
    monkeypatch.setenv("CURATOR_LOG_LEVEL", "ERROR")
    assert main(["validate", str(DEMO)]) == 0
    assert logger.level == logging.ERROR


# -- Spark configuration under spark-submit ------------------------------------------------

def test_a_local_session_is_quiet_and_takes_the_manifests_conf():
    from curator.manifest import SparkSettings
    from curator.spark import conf_to_set

    conf = conf_to_set(SparkSettings(shuffle_partitions=3, conf={"spark.ui.enabled": "true", "spark.x": "1"}), {}, False)
    assert conf["spark.ui.showConsoleProgress"] == "false"
    assert conf["spark.ui.enabled"] == "true"  # the manifest's conf wins over our defaults
    assert conf["spark.sql.shuffle.partitions"] == "3" and conf["spark.x"] == "1"


def test_under_spark_submit_nothing_the_user_set_is_overridden():
    from curator.manifest import SparkSettings
    from curator.spark import LOCAL_CONF, conf_to_set

    user = {"spark.master": "yarn", "spark.sql.shuffle.partitions": "2000", "spark.x": "user"}
    settings = SparkSettings(conf={"spark.x": "manifest", "spark.y": "manifest"})
    conf = conf_to_set(settings, user, True)
    assert not set(conf) & set(user)  # nothing the user set
    assert not set(conf) & set(LOCAL_CONF)  # never the UI
    assert conf["spark.y"] == "manifest"  # the manifest's conf where the user set nothing
    assert conf["spark.sql.session.timeZone"] == "UTC"  # what the pipeline needs, if unset
    assert "spark.master" not in conf and "spark.driver.memory" not in conf


# -- the CLI -------------------------------------------------------------------------------

def test_version(capsys):
    import curator

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"curator {curator.__version__}"


def test_every_subcommand_has_a_handler_and_until_offers_the_pipelines_phases():
    from curator.pipeline import PHASES

    parser = _parser()
    sub = next(a for a in parser._actions if isinstance(a, type(parser._subparsers._group_actions[0])))
    assert set(sub.choices) == set(COMMANDS)
    until = next(a for a in sub.choices["run"]._actions if a.dest == "until")
    assert tuple(until.choices) == PHASES


def test_schema_prints_the_manifests_json_schema(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "stages" in schema["properties"] and "sources" in schema["properties"]


def test_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for code, name in ((2, "ManifestError"), (2, "InputError"), (3, "EnvironmentProblem"), (4, "AccountingError")):
        assert name in out and f"  {code}  " in out


@pytest.mark.parametrize("error, code", [
    (ManifestError("stages[3].c4.min_sentences: must be >= 0"), 2),
    (InputError("data/*.warc.gz: no file matches; check the path"), 2),
    (EnvironmentProblem("Java 17+ is needed"), 3),
    (AccountingError("phase shards: seq_len 512 holds 10 tokens"), 4),
])
def test_each_error_class_exits_with_its_code_and_one_line(monkeypatch, capsys, error, code):
    def fail(args):
        raise error

    monkeypatch.setitem(COMMANDS, "validate", fail)
    assert main(["validate", "m.yaml"]) == code
    err = capsys.readouterr().err.strip()
    assert err == f"curator: error: {error}"


def test_a_missing_manifest_is_exit_2_for_real(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "manifest not found" in capsys.readouterr().err


def test_an_input_that_matches_nothing_is_an_input_error_exit_2_for_real(tmp_path, capsys):
    manifest = tmp_path / "m.yaml"
    manifest.write_text(f"run: r\noutput: {{dir: {tmp_path / 'runs'}}}\n"
                        "sources: [{name: web, kind: warc, inputs: [nowhere/*.warc.gz], domain: web}]\n"
                        "mixture: {weights: {web: 1}}\n")
    assert main(["run", str(manifest)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("curator: error: ") and "sources[0].inputs[0]: no file matches 'nowhere/*.warc.gz'" in err
    assert "\n" not in err and not (tmp_path / "runs" / "r" / "extracted").exists()
    from curator.manifest import load
    from curator.pipeline import Pipeline

    with pytest.raises(InputError):  # not a plain ManifestError: the manifest itself is fine
        Pipeline(load(manifest)).run()


def test_stats_of_a_run_that_does_not_add_up_is_exit_4(tmp_path, capsys):
    run = hand_made_run(tmp_path, kept=7)
    assert main(["stats", str(run), "--json"]) == 4
    assert json.loads(capsys.readouterr().out)["accounting_problems"]


# -- the Python API ------------------------------------------------------------------------

def hand_made_run(tmp_path, kept=6):
    """A run directory with the extract and annotate ledgers only (no parquet)."""
    run = tmp_path / "demo"
    (run / "stats").mkdir(parents=True)
    (run / RUN_MARKER).write_text("{}")
    extract = {"phase": "extract", "domains": {"web": {"docs_in": 10, "kept": 8, "dropped": {"extract.empty": 2}}}}
    annotate = {"phase": "annotate", "domains": {"web": {"docs_in": 8, "kept": kept,
                                                         "dropped": {"gopher_quality.word_count": 2}}}}
    (run / "stats" / "extracted.json").write_text(json.dumps(extract))
    (run / "stats" / "annotated.json").write_text(json.dumps(annotate))
    return run


def test_load_run_returns_the_stats(tmp_path):
    import curator

    info = curator.load_run(hand_made_run(tmp_path))
    assert info["phases"] == ["extract", "annotate"] and info["accounting_problems"] == []
    rows = {r["phase"]: r for r in info["funnel"]}
    assert rows["annotate"]["reasons"] == {"gopher_quality.word_count": 2} and rows["annotate"]["kept"] == 6
    with pytest.raises(ManifestError, match="not a run directory"):
        curator.load_run(tmp_path / "nowhere")


def test_import_curator_stays_light():
    import subprocess

    code = "import sys, curator; assert callable(curator.__getattr__); print('pyarrow' in sys.modules, 'pyspark' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


TEXTS = [
    " ".join(["the quick brown fox jumps over the lazy dog and then it runs to the river"] * 10),
    "too short",
]


def test_apply_stage_on_a_pandas_dataframe_of_two_texts():
    import pandas as pd

    import curator
    from stages.gopher import GopherQuality

    df = pd.DataFrame({"text": TEXTS, "note": ["a", "b"]}, index=[7, 9])
    out = curator.apply_stage(GopherQuality(), df)
    assert isinstance(out, pd.DataFrame) and list(out.index) == [7, 9]
    assert list(out["note"]) == ["a", "b"] and list(df.columns) == ["text", "note"]  # input untouched
    assert list(out["gopher_words"]) == [160, 2]
    assert out.loc[7, "drop_reason"] is None and out.loc[9, "drop_reason"] == "gopher_quality.word_count"
    assert out.columns[-1] == "drop_reason" and "id" not in out.columns  # defaults are not returned


def test_apply_stage_on_an_arrow_table_by_name_with_settings_and_domains():
    import curator

    table = pa.table({"text": TEXTS, "domain": ["web", "code"]})
    out = curator.apply_stage("gopher_quality", table, min_doc_words=1, domains=["web"])
    assert isinstance(out, pa.Table)
    assert out.column("gopher_words").to_pylist() == [160, None]  # `code` is not its domain
    assert out.column("drop_reason").to_pylist() == [None, None]
    with pytest.raises(ValueError, match="needs a `text` column"):
        curator.apply_stage("gopher_quality", pa.table({"body": ["x"]}))


def test_apply_stage_on_a_plug_in(plugin):
    import curator

    _, cls = plugin
    batch = pa.table({"text": ["0123456789abc", "tiny"]}).to_batches()[0]
    out = curator.apply_stage(cls({"min_chars": 5}), batch)
    assert isinstance(out, pa.RecordBatch)
    assert out.column("drop_reason").to_pylist() == [None, "cli_api_length.too_short"]
