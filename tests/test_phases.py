"""Phase runner: outputs appear only whole, finished phases are skipped, failures leave nothing."""

from __future__ import annotations

import json

import pytest

from curator.phases import MARKER, TMP_MARKER, PhaseRunner, fingerprint
from curator.rundir import RUN_MARKER


@pytest.fixture(autouse=True)
def marked(tmp_path):
    """The runner works only in a run directory the project marked as its own."""
    (tmp_path / RUN_MARKER).write_text("{}")


def build_ok(out):
    out.mkdir(parents=True)
    (out / "data.txt").write_text("payload")
    return {"rows": 1}


def test_output_is_renamed_into_place_with_marker(tmp_path):
    r = PhaseRunner(tmp_path, log=lambda s: None)
    res = r.run("phase", "fp1", build_ok)
    assert not res.skipped
    assert (tmp_path / "phase" / "data.txt").read_text() == "payload"
    marker = json.loads((tmp_path / "phase" / MARKER).read_text())
    assert marker["fingerprint"] == "fp1" and marker["stats"]["rows"] == 1
    assert json.loads((tmp_path / "stats" / "phase.json").read_text())["rows"] == 1
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_same_fingerprint_skips_and_new_one_reruns(tmp_path):
    calls = []

    def build(out):
        calls.append(out)
        return build_ok(out)

    r = PhaseRunner(tmp_path, log=lambda s: None)
    r.run("phase", "fp1", build)
    assert r.run("phase", "fp1", build).skipped
    assert len(calls) == 1
    res = r.run("phase", "fp2", build)
    assert not res.skipped and len(calls) == 2
    assert json.loads((tmp_path / "phase" / MARKER).read_text())["fingerprint"] == "fp2"


def test_failed_phase_leaves_no_output_and_keeps_the_old_one(tmp_path):
    r = PhaseRunner(tmp_path, log=lambda s: None)
    r.run("phase", "fp1", build_ok)

    def boom(out):
        out.mkdir(parents=True)
        (out / "half.txt").write_text("half")
        raise RuntimeError("task died")

    with pytest.raises(RuntimeError):
        r.run("phase", "fp2", boom)
    assert (tmp_path / "phase" / "data.txt").exists()  # the finished output is untouched
    assert not (tmp_path / "phase" / "half.txt").exists()
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []
    # and the next run with the new settings does the work
    assert not r.run("phase", "fp2", build_ok).skipped


def test_leftovers_of_a_killed_run_are_removed(tmp_path):
    stale = tmp_path / "phase.tmp-deadbeef"
    stale.mkdir()
    (stale / TMP_MARKER).write_text("{}")  # every temporary folder the runner creates has one
    (stale / "partial").write_text("x")
    PhaseRunner(tmp_path, log=lambda s: None).run("phase", "fp", build_ok)
    assert not stale.exists()


def test_marker_without_matching_fingerprint_is_not_trusted(tmp_path):
    (tmp_path / "phase").mkdir()
    (tmp_path / "phase" / MARKER).write_text("{not json")
    assert not PhaseRunner(tmp_path, log=lambda s: None).run("phase", "fp", build_ok).skipped


def test_fingerprint_is_order_independent_and_sensitive():
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
