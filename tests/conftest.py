"""Shared fixtures: one local Spark session per test session, paths to shared test data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CURATOR_SHARED_CORPUS", ROOT.parent / "shared" / "corpus"))
DEMO = ROOT / "manifests" / "demo.yaml"


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
    data["stages"] = [{k: anchor_stage_paths(v, str(DEMO.parent)) for k, v in s.items()} for s in data["stages"]]
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
