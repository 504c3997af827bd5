"""Shared fixtures: one local Spark session per test session, paths to shared test data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CURATOR_SHARED_CORPUS", ROOT.parent / "shared" / "corpus"))
DEMO = ROOT / "manifests" / "demo.yaml"


# -- test tiers ---------------------------------------------------------------------------------
# `make test-fast` = `pytest -m "not spark and not cluster and not browser and not slow"`: what runs
# without a JVM, in under a minute. Markers are set here from each test's fixtures, so a new test
# that takes `spark` (directly or through `demo_run`, ...) lands in the right tier by itself; the
# lists below name the tests that start a JVM some other way (a `curator` or `spark-submit`
# subprocess) or that take seconds without Spark (measured with `--durations`).
JVM_TESTS = (
    "test_resilience.py::test_without_retries_an_injected_failure_fails_the_run_cleanly",
)
"""Node-id substrings of tests that start Spark in a child process (found by running the fast
tier with JAVA_HOME=/nonexistent)."""
SLOW_TESTS = (
    "test_hostile_code.py::test_a_gigabyte_licence_costs_a_prefix_not_a_gigabyte",
    "test_hostile_code.py::test_archive_rows_are_made_one_member_at_a_time",
    "test_hostile_warc.py::test_a_paths_file_of_newlines_stops_at_the_line_cap_in_bounded_memory",
    "test_hostile_warc.py::test_header_line_bombs_keep_memory_bounded_and_the_neighbours",
    "test_hostile_input.py::test_hostile_records_are_counted_and_bounded",
    "test_gopher.py::test_tokens_match_spacy_on_mixed_text",
    "test_shard_writers.py::test_megatron_roundtrip_with_real_reader",  # imports torch
    "test_tokenize.py::test_tokenizer_json_that_is_not_plain_byte_level_bpe_keeps_tokenizers",
    "test_tokenize.py::test_tiktoken_engine_equals_tokenizers_on_real_and_hostile_text",
    "test_manifest_limits.py::test_recursive_alias_and_deep_nesting",
)
"""Node-id substrings of tests that need no JVM but take several seconds (`--durations`)."""


def pytest_collection_modifyitems(config, items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        nodeid = item.nodeid
        if "spark" in names or any(t in nodeid for t in JVM_TESTS):
            item.add_marker(pytest.mark.spark)
        if any("cluster" in n for n in names):
            item.add_marker(pytest.mark.cluster)
        if item.path.name == "test_browser_report.py" or "selenium" in names:
            item.add_marker(pytest.mark.browser)
        if any(t in nodeid for t in SLOW_TESTS):
            item.add_marker(pytest.mark.slow)


def shared(rel: str) -> Path:
    """A file of the shared real-web corpus; the test is skipped when the folder is absent."""
    p = SHARED / rel
    if not p.exists():
        pytest.skip(f"shared corpus not available: {p}")
    return p


def demo_manifest_copy(tmp_path: Path, out_dir: Path, **sections) -> Path:
    """The demo manifest written to tmp_path with absolute inputs, its runs under out_dir, and
    top-level sections updated (e.g. spark={"master": "local[2,4]"}); for runs in a subprocess."""
    import yaml

    data = yaml.safe_load(DEMO.read_text())
    data["output"]["dir"] = str(out_dir)
    from curator.manifest import anchor_path, anchor_stage_paths

    for src in data["sources"]:
        src["inputs"] = [str(DEMO.parent / p) for p in src["inputs"]]
    data["stages"] = [{k: anchor_stage_paths(v, str(DEMO.parent), stage=k) for k, v in s.items()} for s in data["stages"]]
    data["tokenizer"]["path"] = anchor_path(data["tokenizer"]["path"], str(DEMO.parent))
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def shard_hashes(run_dir: Path) -> dict:
    """seq_len -> sha256 of every shard, from shards/manifest.json."""
    import json

    m = json.loads((Path(run_dir) / "shards" / "manifest.json").read_text())
    return {n: [{f: d["sha256"] for f, d in s["files"].items()} for s in v["shards"]] for n, v in m["seq_lens"].items()}


@pytest.fixture(scope="session")
def spark():
    from curator.manifest import SparkSettings
    from curator.spark import get_spark

    session = get_spark(SparkSettings(master="local[2]", driver_memory="2g", shuffle_partitions=4), "curator-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def demo_run(spark, tmp_path_factory):
    """The demo manifest run once in-process into a temporary folder."""
    from curator.manifest import load
    from curator.pipeline import Pipeline

    m = load(DEMO)
    m.output.dir = str(tmp_path_factory.mktemp("demo-runs"))
    logs: list[str] = []
    results = Pipeline(m, spark=spark, log=logs.append).run()
    return m, results, logs
