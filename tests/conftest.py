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
