"""Hostile or careless manifests: alias bombs, bytes that are not UTF-8, NaN and infinite
numbers, booleans for integers and absurd sizes all stop `curator validate` and `curator mix
plan` with exit 2 and one line naming the field and its limit, never a traceback or a hang
(issue 14, section 5)."""

from __future__ import annotations

import copy
import json
import time

import pytest
import yaml

from curator.cli import main
from tests.conftest import DEMO

BASE = yaml.safe_load(DEMO.read_text())


def manifest_text(tmp_path, data) -> str:
    data = copy.deepcopy(data)
    for src in data.get("sources", []):
        src["inputs"] = [str(DEMO.parent / p) for p in src.get("inputs", [])]
    data["output"]["dir"] = str(tmp_path / "runs")
    return yaml.safe_dump(data)


def write(tmp_path, data=BASE, text: str | None = None, raw: bytes | None = None) -> str:
    p = tmp_path / "m.yaml"
    if raw is not None:
        p.write_bytes(raw)
    else:
        p.write_text(text if text is not None else manifest_text(tmp_path, data))
    return str(p)


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("curator: error: ") and "Traceback" not in err
    return err


def both_commands(path: str, capsys) -> list[str]:
    """`validate` and `mix plan` on the same file: each exits 2 with one line."""
    errors = []
    for argv in (["validate", path], ["mix", "plan", path]):
        assert main(argv) == 2, argv
        errors.append(one_line(capsys))
    return errors


BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
run: *i
"""


def test_alias_bomb_is_refused_quickly(tmp_path, capsys):
    started = time.monotonic()
    for err in both_commands(write(tmp_path, text=BOMB), capsys):
        assert "expands to more than 100,000 values through aliases" in err
    assert time.monotonic() - started < 10


def test_recursive_alias_and_deep_nesting(tmp_path, capsys):
    for err in both_commands(write(tmp_path, text="run: &r [*r]\n"), capsys):
        assert "refers to itself" in err
    for err in both_commands(write(tmp_path, text="run: " + "[" * 50_000 + "]" * 50_000 + "\n"), capsys):
        assert "nested too deeply" in err


def test_a_few_aliases_still_work(tmp_path, capsys):
    text = manifest_text(tmp_path, BASE).replace("run: demo", "x-name: &name demo\nrun: *name")
    data = yaml.safe_load(text)
    data.pop("x-name")
    text = "run: &name demo\n" + yaml.safe_dump({k: v for k, v in data.items() if k != "run"})
    assert main(["validate", write(tmp_path, text=text)]) == 0
    capsys.readouterr()


def test_manifest_that_is_not_utf8_names_the_file_and_the_offset(tmp_path, capsys):
    text = manifest_text(tmp_path, BASE).encode()
    offset = text.index(b"run: demo") + len("run: de")
    raw = text[:offset] + b"\xe9" + text[offset + 1:]  # latin-1 e-acute in the run name
    path = write(tmp_path, raw=raw)
    for err in both_commands(path, capsys):
        assert path in err and f"not UTF-8 (byte 0xe9 at offset {offset})" in err


def test_utf16_and_control_characters(tmp_path, capsys):
    path = write(tmp_path, raw=manifest_text(tmp_path, BASE).encode("utf-16"))
    assert "not UTF-8 (byte 0xff at offset 0)" in both_commands(path, capsys)[0]
    path = write(tmp_path, text="run: demo\x07\n")
    assert "not valid YAML (character #x0007 at offset 9" in both_commands(path, capsys)[0]


def test_oversized_manifest(tmp_path, capsys):
    path = write(tmp_path, text="# " + "x" * (1 << 20) + "\n")
    assert "larger than 1 MiB" in both_commands(path, capsys)[0]


def mutated(**changes):
    """A copy of the demo manifest with section.key = value changes ("mixture.max_epochs")."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        target = data
        for p in parents:
            target = target.setdefault(p, {})
        target[key] = value
    return data


NAN, INF = float("nan"), float("inf")

CASES = {
    "nan-weight": (mutated(mixture__weights={"web": NAN, "code": 0.3}), "mixture.weights.web: Input should be a finite number"),
    "inf-weight": (mutated(mixture__weights={"web": INF, "code": 0.3}), "mixture.weights.web: Input should be a finite number"),
    "huge-weight": (mutated(mixture__weights={"web": 1e300, "code": 1e300}), "weights must be <= 1e+09"),
    "bool-seq-len": (mutated(shards__seq_lens=[True]), "shards.seq_lens[0]: Input should be a valid integer (got True)"),
    "string-seq-len": (mutated(shards__seq_lens=["2048"]), "shards.seq_lens[0]: Input should be a valid integer (got '2048')"),
    "float-seq-len": (mutated(shards__seq_lens=[2048.5]), "shards.seq_lens[0]: Input should be a valid integer"),
    "huge-seq-len": (mutated(shards__seq_lens=[2**40]), "sequence length 1099511627776 is out of range; each must be 16 .. 1,048,576"),
    "tiny-seq-len": (mutated(shards__seq_lens=[8]), "each must be 16 .. 1,048,576"),
    "tiny-shards": (mutated(shards__tokens_per_shard=1), "shards.tokens_per_shard: Input should be greater than or equal to 4096"),
    "shard-below-window": (mutated(shards__seq_lens=[65536], shards__tokens_per_shard=40000),
                           "tokens_per_shard 40000 is below the longest seq_len 65536"),
    "huge-shards": (mutated(shards__tokens_per_shard=2**41), "Input should be less than or equal to 1099511627776"),
    "huge-budget": (mutated(mixture__budget_tokens=1e30), "budget_tokens is 1e+30; at most 1e+15 tokens"),
    "huge-int-budget": (mutated(mixture__budget_tokens=10**16), "mixture.budget_tokens: Input should be less than or equal to 1000000000000000"),
    "fractional-budget": (mutated(mixture__budget_tokens=1.5), "mixture.budget_tokens: Input should be a valid integer"),
    "inf-epochs": (mutated(mixture__max_epochs=INF), "mixture.max_epochs: Input should be a finite number"),
    "many-epochs": (mutated(mixture__max_epochs=1001), "mixture.max_epochs: Input should be less than or equal to 1000"),
    "bool-epochs": (mutated(mixture__max_epochs=True), "mixture.max_epochs: Input should be a valid number (got True)"),
    "negative-seed": (mutated(mixture__seed=-1), "mixture.seed: Input should be greater than or equal to 0"),
    "huge-seed": (mutated(shards__seed=2**64), "shards.seed: Input should be less than or equal to 9223372036854775807"),
    "minhash-seed": (mutated(dedup__minhash={"seed": 2**32}), "dedup.minhash.seed: Input should be less than or equal to 4294967295"),
    "nan-timeout": (mutated(extract__timeout_s=NAN), "extract.timeout_s: Input should be a finite number"),
    "bool-record-bytes": (mutated(extract__max_record_bytes=True), "extract.max_record_bytes: Input should be a valid integer (got True)"),
    "nan-minhash": (mutated(dedup__minhash={"threshold": NAN}), "dedup.minhash.threshold: Input should be a finite number"),
    "nan-stage-setting": (None, "stages[0].langid.min_score: Input should be a finite number"),
    "inf-in-stage-list": (None, "stages[9].detoxify.max_scores.threat: Input should be a finite number"),
    "bool-stage-setting": (None, "stages[1].gopher_quality.min_doc_words: Input should be a number, not a boolean (got True)"),
    "bool-partitions": (mutated(spark__shuffle_partitions=True), "spark.shuffle_partitions: Input should be a valid integer (got True)"),
    "many-partitions": (mutated(spark__shuffle_partitions=10**9), "spark.shuffle_partitions: Input should be less than or equal to 100000"),
    "many-samples": (mutated(output__rejected_samples=10**9), "output.rejected_samples: Input should be less than or equal to 1000"),
    "driver-memory": (mutated(spark__driver_memory="lots"), "spark.driver_memory: String should match pattern"),
    # every extract setting has an upper bound (a million retries of a dead URL runs for years)
    "many-retries": (mutated(extract__http_retries=1_000_000), "extract.http_retries: Input should be less than or equal to 20"),
    "huge-timeout": (mutated(extract__timeout_s=1e12), "extract.timeout_s: Input should be less than or equal to 3600"),
    "huge-record": (mutated(extract__max_record_bytes=1 << 40), "extract.max_record_bytes: Input should be less than or equal to 1073741824"),
    "huge-code-file": (mutated(extract__max_code_file_bytes=1 << 30), "extract.max_code_file_bytes: Input should be less than or equal to 268435456"),
    "many-files-per-task": (mutated(extract__files_per_task=10**9), "extract.files_per_task: Input should be less than or equal to 100000"),
    "huge-task-bytes": (mutated(extract__bytes_per_task=1 << 40), "extract.bytes_per_task: Input should be less than or equal to 4294967296"),
    "huge-header-line": (mutated(extract__max_header_line_bytes=1 << 30), "extract.max_header_line_bytes: Input should be less than or equal to 16777216"),
    "huge-header": (mutated(extract__max_header_bytes=1 << 30), "extract.max_header_bytes: Input should be less than or equal to 16777216"),
    "huge-license": (mutated(extract__max_license_bytes=10**15), "extract.max_license_bytes: Input should be less than or equal to 16777216"),
    "huge-archive": (mutated(extract__max_archive_bytes=1 << 40), "extract.max_archive_bytes: Input should be less than or equal to 68719476736"),
    "many-members": (mutated(extract__max_archive_members=10**9), "extract.max_archive_members: Input should be less than or equal to 10000000"),
    # stage settings without a bound of their own get the generic one
    "huge-stage-int": (None, "stages[1].gopher_quality.min_doc_words: Value error, 1e+16 is out of range; numbers in stage settings are at most 1e+15"),
    "huge-stage-float": (None, "stages[1].gopher_quality.max_avg_word_length: Value error, 1e+30 is out of range"),
    "huge-stage-key": (None, "stages[2].gopher_repetition.max_top_ngram_char_frac: Value error, 1e+20 is out of range"),
    # paths are printed: no control characters in them
    "bidi-input": (None, "sources[0].inputs[0]: Value error, contains the control character \\u202e"),
}


def _stage_case(name):
    data = copy.deepcopy(BASE)
    if name == "huge-stage-int":
        data["stages"][1]["gopher_quality"]["min_doc_words"] = 10**16
    elif name == "huge-stage-float":
        data["stages"][1]["gopher_quality"]["max_avg_word_length"] = 1e30
    elif name == "huge-stage-key":
        data["stages"][2]["gopher_repetition"]["max_top_ngram_char_frac"] = {10**20: 0.2}
    elif name == "bidi-input":
        data["sources"][0]["inputs"] = ["sample/web\u202egz.warc"]
    elif name == "nan-stage-setting":
        data["stages"][0]["langid"]["min_score"] = NAN
    elif name == "bool-stage-setting":
        data["stages"][1]["gopher_quality"]["min_doc_words"] = True
    else:
        data["stages"][9]["detoxify"]["max_scores"]["threat"] = -INF
    return data


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_value_exits_2_with_its_limit(tmp_path, capsys, name):
    data, expected = CASES[name]
    if data is None:
        data = _stage_case(name)
    for err in both_commands(write(tmp_path, data), capsys):
        assert expected in err, err
        assert "\x1b" not in err and "\u202e" not in err  # escaped, never raw


def test_stage_settings_refuse_nan_inf_and_huge_numbers_outside_manifests():
    """The bound is in StageSettings itself, so a stage built in code is held to it too."""
    from pydantic import ValidationError

    from stages import registry

    known = registry()
    for name, settings in [("gopher_quality", {"max_avg_word_length": float("nan")}),
                           ("gopher_quality", {"max_doc_words": 10**16}),
                           ("detoxify", {"max_scores": {"threat": float("inf")}}),
                           ("code_quality", {"max_mean_line_length": -1e300})]:
        with pytest.raises(ValidationError):
            known[name].Settings.model_validate(settings)
    for name, stage in known.items():  # every default still passes
        if name not in ("fasttext_quality", "decontaminate"):  # need a model path / eval sets
            stage.Settings.model_validate({})
    known["gopher_quality"].Settings.model_validate({"max_doc_words": 10**15})


def test_control_characters_in_output_dir_are_refused_and_never_printed_raw(tmp_path, capsys):
    text = manifest_text(tmp_path, BASE).replace(f"dir: {tmp_path / 'runs'}", 'dir: "out\\e]0;pwned\\a\\e[2J"')
    assert "pwned" in text
    for err in both_commands(write(tmp_path, text=text), capsys):
        assert "output.dir: Value error, contains the control character \\x1b" in err
        assert "\x1b" not in err and "\x07" not in err


def test_extract_defaults_are_within_their_bounds():
    from curator.manifest import ExtractSettings

    ExtractSettings.model_validate(ExtractSettings().model_dump())


def test_output_dir_with_a_tilde_is_expanded_once(tmp_path, monkeypatch):
    """`~/x` is checked and written at $HOME/x, not at ./~/x."""
    from curator.manifest import load

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    data = yaml.safe_load(manifest_text(tmp_path, BASE))
    data["output"]["dir"] = "~/runs"
    m = load(write(tmp_path, text=yaml.safe_dump(data)))
    assert m.run_dir == home / "runs" / "demo"
    data["output"]["dir"] = "~"
    data["run"] = "x"
    m = load(write(tmp_path, text=yaml.safe_dump(data)))
    assert m.run_dir == home / "x"


def test_yaml_spellings_of_nan_inf_and_large_numbers(tmp_path, capsys):
    text = manifest_text(tmp_path, BASE)
    for old, new, expected in [
        ("max_epochs: 4", "max_epochs: .inf", "mixture.max_epochs: Input should be a finite number"),
        ("web: 0.7", "web: .nan", "mixture.weights.web: Input should be a finite number"),
        ("max_epochs: 4", "max_epochs: 4\n  budget_tokens: 1e30", "budget_tokens is 1e+30; at most 1e+15 tokens"),
        ("- 512", "- true", "shards.seq_lens[0]: Input should be a valid integer (got True)"),
    ]:
        assert old in text, old
        for err in both_commands(write(tmp_path, text=text.replace(old, new, 1)), capsys):
            assert expected in err


def test_sensible_values_still_pass(tmp_path, capsys):
    text = manifest_text(tmp_path, BASE).replace("max_epochs: 4", "max_epochs: 4\n  budget_tokens: 1.5e12")
    assert main(["validate", write(tmp_path, text=text)]) == 0
    text = manifest_text(tmp_path, BASE).replace("max_epochs: 4", "max_epochs: 2.5\n  budget_tokens: 2e12")
    assert main(["validate", write(tmp_path, text=text)]) == 0
    from curator.manifest import load

    m = load(write(tmp_path, text=text))
    assert m.mixture.budget_tokens == 2 * 10**12 and m.mixture.max_epochs == 2.5
    capsys.readouterr()


# -- mix plan's own arguments ----------------------------------------------------------------

@pytest.fixture
def planned(tmp_path):
    """A valid manifest and the token counts of a finished tokenize phase."""
    path = write(tmp_path)
    stats = tmp_path / "runs" / "demo" / "stats"
    stats.mkdir(parents=True)
    (stats / "tokenized.json").write_text(json.dumps({"domains": {
        "web": {"kept": 10, "tokens_kept": 5000}, "code": {"kept": 5, "tokens_kept": 2000}}}))
    return path, stats / "tokenized.json"


def test_mix_plan_runs_on_sensible_input(planned, capsys):
    path, _ = planned
    assert main(["mix", "plan", path, "--weights", "web=0.5,code=0.5"]) == 0
    assert "mixture plan for demo" in capsys.readouterr().out


@pytest.mark.parametrize("args, expected", [
    (["--weights", "web=nan,code=1"], "weight of 'web' must be a number from 0 to 1e+09"),
    (["--weights", "web=inf,code=1"], "weight of 'web' must be a number from 0 to 1e+09"),
    (["--weights", "web=1e300,code=1e300"], "weight of 'web' must be a number from 0 to 1e+09"),
    (["--budget", "99999999T"], "at most 1e+15 tokens"),
    (["--budget", "1e30"], "write a number with an optional K/M/B/T suffix"),
])
def test_mix_plan_arguments_exit_2_with_one_line(planned, capsys, args, expected):
    path, _ = planned
    assert main(["mix", "plan", path, *args]) == 2
    assert expected in one_line(capsys)


@pytest.mark.parametrize("content", ["{not json", json.dumps({"domains": {"web": {"tokens_kept": True}}}),
                                     json.dumps({"domains": []}), json.dumps({"domains": {"web": {"tokens_kept": 1e400}}})])
def test_mix_plan_with_broken_token_counts(planned, capsys, content):
    path, stats = planned
    stats.write_text(content)
    assert main(["mix", "plan", path]) == 2
    assert "not the token counts curator writes" in one_line(capsys)


# -- files of a run directory are read with the same bounds ----------------------------------

def run_dir_with(root, lock: str | None = None, stats: bytes | None = None):
    """A folder that looks like a run directory: stats/extracted.json and a lock file."""
    root.mkdir(parents=True)
    (root / "stats").mkdir()
    (root / "stats" / "extracted.json").write_bytes(stats if stats is not None else b'{"domains": {}}')
    if lock is not None:
        (root / "manifest.lock.yaml").write_text(lock)
    return str(root)


def test_an_alias_bomb_in_a_lock_file_is_refused_by_diff_and_report(tmp_path, capsys):
    good = run_dir_with(tmp_path / "a", lock="run: a\nstages: []\n")
    bomb = run_dir_with(tmp_path / "b", lock=BOMB.replace("run: *i", "stages: *i"))
    started = time.monotonic()
    for argv in (["diff", good, bomb, "--json"], ["diff", bomb, good], ["report", bomb]):
        assert main(argv) == 2, argv
        err = one_line(capsys)
        assert "manifest.lock.yaml" in err and "through aliases" in err, err
    assert time.monotonic() - started < 10


def test_an_oversized_or_broken_run_file_is_one_line(tmp_path, capsys):
    from curator.runstats import MAX_LOCK_YAML_BYTES

    big_lock = run_dir_with(tmp_path / "a", lock="#" * (MAX_LOCK_YAML_BYTES + 1))
    assert main(["diff", big_lock, big_lock]) == 2
    assert "manifest.lock.yaml is larger than 4 MiB" in one_line(capsys)
    not_a_mapping = run_dir_with(tmp_path / "b", lock="- 1\n- 2\n")
    assert main(["diff", not_a_mapping, not_a_mapping]) == 2
    assert "not the resolved manifest" in one_line(capsys)
    deep = run_dir_with(tmp_path / "c", lock="[" * 100_000)
    assert main(["report", deep]) == 2
    assert "not valid YAML" in one_line(capsys)


def test_an_oversized_stats_file_is_not_read_whole(tmp_path, capsys, monkeypatch):
    import curator.rundir

    monkeypatch.setattr(curator.rundir.read_bounded, "__defaults__", (1000,))  # the cap, made small
    run = run_dir_with(tmp_path / "a", stats=b'{"domains": {}, "pad": "' + b"x" * 2000 + b'"}')
    for argv in (["stats", run, "--json"], ["diff", run, run]):
        assert main(argv) == 2, argv
        assert "stats/extracted.json is larger than" in one_line(capsys)


def test_a_fifo_in_a_run_directory_does_not_hang_a_read(tmp_path):
    import os

    from curator.errors import ManifestError
    from curator.rundir import read_bounded

    os.mkfifo(tmp_path / "fifo.json")
    with pytest.raises(ManifestError, match="not a regular file"):
        read_bounded(tmp_path / "fifo.json")


def test_mix_plan_reads_no_more_than_its_cap(planned, capsys, monkeypatch):
    import curator.rundir

    path, stats = planned
    monkeypatch.setattr(curator.rundir.read_bounded, "__defaults__", (1000,))
    stats.write_text(json.dumps({"domains": {"web": {"kept": 10, "tokens_kept": 5000},
                                             "code": {"kept": 5, "tokens_kept": 2000}}, "pad": "x" * 2000}))
    assert main(["mix", "plan", path]) == 2
    assert "tokenized.json is larger than" in one_line(capsys)
