"""A run never deletes or overwrites what it did not write, holds its run directory alone, and
fails cleanly when the disk fills up (issue 14, sections 1 and 5). No test here starts Spark:
every refusal happens before it would."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from curator.cli import main
from curator.errors import EnvironmentProblem, ManifestError
from curator.phases import MARKER, TMP_MARKER, PhaseRunner, write_atomic
from curator.rundir import LOCK, RUN_MARKER, RunLock, check_location, is_marked, open_run
from tests.conftest import DEMO, ROOT


@pytest.fixture(autouse=True)
def no_spark(monkeypatch):
    import curator.spark

    def refuse(*a, **k):  # pragma: no cover - reaching it is the failure
        raise AssertionError("Spark was started")

    monkeypatch.setattr(curator.spark, "get_spark", refuse)


def manifest(tmp_path: Path, out_dir: Path, **top) -> Path:
    """A small manifest over the bundled web sample, runs under `out_dir`."""
    data = {
        "run": "demo",
        "sources": [{"name": "web", "kind": "warc", "inputs": [str(DEMO.parent / "sample" / "web.warc.gz")],
                     "domain": "web"}],
        "mixture": {"weights": {"web": 1.0}},
        "output": {"dir": str(out_dir)},
        **top,
    }
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under root with its kind, size, mtime and (for files) content."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = os.lstat(p)
        out[str(p.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns,
                                        p.read_bytes() if p.is_file() else None)
    return out


def foreign_folder(path: Path) -> None:
    """Someone else's folder that happens to use the names a run writes."""
    (path / "shards").mkdir(parents=True)
    (path / "shards" / "weights.bin").write_bytes(b"precious")
    (path / "extracted").mkdir()
    (path / "extracted" / "notes.txt").write_text("mine")
    (path / "report.html").write_text("<p>my report</p>")
    (path / "extracted.tmp-1234").mkdir()
    (path / "extracted.tmp-1234" / "draft.txt").write_text("also mine")


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("curator: error: ")
    return err


# -- the run directory marker --------------------------------------------------------------

def test_run_refuses_a_foreign_non_empty_folder_and_touches_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    foreign_folder(out / "demo")
    m = manifest(tmp_path, out)
    before = snapshot(out)
    assert main(["run", str(m)]) == 2
    err = one_line_error(capsys)
    assert "is not a curator run directory" in err and "--force" in err
    assert snapshot(out) == before


def test_force_refuses_a_folder_holding_names_a_run_writes_and_touches_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    run_dir = out / "demo"
    foreign_folder(run_dir)
    before = snapshot(out)
    assert main(["run", str(manifest(tmp_path, out)), "--force"]) == 2
    err = one_line_error(capsys)
    assert "already holds extracted, report.html, shards" in err and "never replaces" in err
    assert snapshot(out) == before  # not even marked


@pytest.mark.parametrize("name", ["manifest.lock.yaml", "report.html", "stats", "rejected", "mixed", RUN_MARKER])
def test_force_refuses_each_name_a_run_writes(tmp_path, name):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "notes.txt").write_text("mine")
    if name in ("stats", "rejected", "mixed"):
        (run_dir / name).mkdir()
        (run_dir / name / "x.json").write_text("theirs")
    elif name == RUN_MARKER:
        (run_dir / name).symlink_to(tmp_path / "nowhere")  # not a regular file: not a marker
    else:
        (run_dir / name).write_text("theirs")
    with pytest.raises(ManifestError, match="never replaces"), open_run(run_dir, force=True, log=print):
        pass
    assert sorted(os.listdir(run_dir)) == sorted(["notes.txt", name])


def test_force_takes_a_folder_of_other_names_and_says_so(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "notes.txt").write_text("mine")
    logs: list[str] = []
    with open_run(run_dir, force=True, log=logs.append):
        pass
    assert is_marked(run_dir) and (run_dir / "notes.txt").read_text() == "mine"
    assert any("nothing in it is replaced" in line for line in logs)


@pytest.mark.parametrize("name", ["stats", "rejected"])
def test_stats_or_rejected_as_a_link_is_refused_even_in_a_marked_folder(tmp_path, name):
    run_dir = tmp_path / "run"
    with open_run(run_dir, log=lambda s: None):
        pass
    outside = tmp_path / "outside"
    outside.mkdir()
    (run_dir / name).symlink_to(outside)
    with pytest.raises(ManifestError, match="is a link or a file"), open_run(run_dir, log=lambda s: None):
        pass
    assert list(outside.iterdir()) == [] and not (run_dir / LOCK).exists()


def test_the_names_a_run_writes_cover_every_phase_folder():
    from curator.rundir import OUTPUT_NAMES
    from curator.runstats import PHASE_DIRS

    assert set(PHASE_DIRS.values()) <= set(OUTPUT_NAMES)


def test_a_new_run_directory_is_created_marked(tmp_path):
    run_dir = tmp_path / "runs" / "demo"
    with open_run(run_dir, log=lambda s: None):
        assert (run_dir / LOCK).is_file()
    marker = json.loads((run_dir / RUN_MARKER).read_text())
    assert marker["project"] == "corpus-curator" and marker["version"] and marker["created"]
    assert sorted(os.listdir(run_dir)) == [RUN_MARKER]


def test_an_empty_existing_folder_is_taken_and_marked(tmp_path):
    with open_run(tmp_path, log=lambda s: None):
        pass
    assert is_marked(tmp_path)


def test_report_does_not_overwrite_a_report_outside_a_run_directory(tmp_path, capsys):
    (tmp_path / "stats").mkdir()
    (tmp_path / "report.html").write_text("theirs")
    assert main(["report", str(tmp_path)]) == 2
    assert "not curator's to overwrite" in one_line_error(capsys)
    assert (tmp_path / "report.html").read_text() == "theirs"


# -- the phase runner removes only its own temporaries and phases --------------------------

def build_ok(out: Path) -> dict:
    out.mkdir(parents=True)
    (out / "data.txt").write_text("payload")
    return {"rows": 1}


@pytest.fixture
def marked_dir(tmp_path) -> Path:
    with open_run(tmp_path / "run", log=lambda s: None) as d:
        pass
    return d


def test_unmarked_temporary_folders_are_left_alone(marked_dir):
    theirs = marked_dir / "phase.tmp-theirs"
    theirs.mkdir()
    (theirs / "keep.txt").write_text("x")
    ours = marked_dir / "phase.tmp-ours"
    ours.mkdir()
    (ours / TMP_MARKER).write_text("{}")
    (ours / "part-0").write_text("half")
    killed_at_creation = marked_dir / "phase.tmp-empty"  # killed before the marker: empty
    killed_at_creation.mkdir()
    logs: list[str] = []
    PhaseRunner(marked_dir, log=logs.append).run("phase", "fp", build_ok)
    assert (theirs / "keep.txt").read_text() == "x"
    assert not ours.exists() and not killed_at_creation.exists()
    assert any("left" in line and "phase.tmp-theirs" in line for line in logs)


def test_a_temporary_folder_that_is_a_link_is_not_followed(marked_dir, tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / TMP_MARKER).write_text("{}")
    (target / "data").write_text("x")
    (marked_dir / "phase.tmp-link").symlink_to(target)
    PhaseRunner(marked_dir, log=lambda s: None).run("phase", "fp", build_ok)
    assert (target / "data").read_text() == "x"


def test_temporary_folders_carry_the_marker_while_a_phase_runs(marked_dir):
    seen = []

    def build(out: Path) -> dict:
        seen.append((out.parent / TMP_MARKER).is_file())
        return build_ok(out)

    res = PhaseRunner(marked_dir, log=lambda s: None).run("phase", "fp", build)
    assert seen == [True]
    assert (res.path / MARKER).is_file() and not (res.path / TMP_MARKER).exists()
    assert [p.name for p in marked_dir.iterdir() if ".tmp-" in p.name] == []


def test_a_phase_folder_without_the_phase_marker_is_never_replaced(marked_dir):
    (marked_dir / "phase").mkdir()
    (marked_dir / "phase" / "theirs.txt").write_text("x")
    built = []
    with pytest.raises(ManifestError, match="exists and was not written by curator"):
        PhaseRunner(marked_dir, log=lambda s: None).run("phase", "fp", lambda out: built.append(out) or {})
    assert built == []  # refused before the work
    assert (marked_dir / "phase" / "theirs.txt").read_text() == "x"


def test_the_runner_writes_nothing_into_an_unmarked_folder(tmp_path):
    with pytest.raises(ManifestError, match="not a curator run directory"):
        PhaseRunner(tmp_path, log=lambda s: None).run("phase", "fp", build_ok)
    assert list(tmp_path.iterdir()) == []


# -- where a run directory may be ----------------------------------------------------------

@pytest.mark.parametrize("run", ["..", ".", ".hidden", "a/b", "../x", "", "a\\b", "x" * 101])
def test_run_names_are_single_folder_names(tmp_path, capsys, run):
    assert main(["validate", str(manifest(tmp_path, tmp_path / "out", run=run))]) == 2
    assert "run:" in one_line_error(capsys)


def test_output_dir_that_is_a_file(tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("x")
    assert main(["validate", str(manifest(tmp_path, f))]) == 2
    assert "is a file, not a folder" in one_line_error(capsys)
    assert f.read_text() == "x"
    assert main(["validate", str(manifest(tmp_path, f / "deeper"))]) == 2
    assert "is a file, not a folder" in one_line_error(capsys)


def test_run_dir_that_is_a_file(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "demo").write_text("x")
    assert main(["validate", str(manifest(tmp_path, tmp_path / "out"))]) == 2
    assert "is a file, not a folder" in one_line_error(capsys)


def test_run_dir_of_the_root_home_or_manifest_folder(tmp_path, capsys, monkeypatch):
    (tmp_path / "links").mkdir()
    (tmp_path / "links" / "root").symlink_to("/")
    assert main(["validate", str(manifest(tmp_path, tmp_path / "links", run="root"))]) == 2
    assert "filesystem root" in one_line_error(capsys)

    home = tmp_path / "home" / "me"
    home.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    for out_dir, run in ((home.parent, "me"), (tmp_path, "home")):
        assert main(["validate", str(manifest(tmp_path, out_dir, run=run))]) == 2
        assert "your home folder or a folder above it" in one_line_error(capsys)

    sub = tmp_path / "proj"
    sub.mkdir()
    assert main(["validate", str(manifest(sub, tmp_path, run="proj"))]) == 2
    assert "the manifest's folder or a folder above it" in one_line_error(capsys)
    assert main(["validate", str(manifest(sub, sub))]) == 0  # a folder inside it is fine
    capsys.readouterr()


def test_check_location_accepts_a_normal_folder(tmp_path):
    assert check_location(tmp_path / "runs" / "demo", tmp_path / "manifests") == (tmp_path / "runs" / "demo").resolve()
    with pytest.raises(ManifestError, match="filesystem root"):
        check_location("/")


# -- the lock ------------------------------------------------------------------------------

def write_lock(run_dir: Path, pid: int, host: str | None = None) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / RUN_MARKER).write_text("{}")
    (run_dir / LOCK).write_text(json.dumps({"pid": pid, "host": host or socket.gethostname(),
                                            "started": "2024-01-01T00:00:00+00:00"}))


def test_a_second_run_is_refused_while_a_live_process_holds_the_lock(tmp_path, capsys):
    out = tmp_path / "out"
    holder = subprocess.Popen(["sleep", "60"])
    try:
        write_lock(out / "demo", holder.pid)
        m = manifest(tmp_path, out)
        before = snapshot(out)
        assert main(["run", str(m)]) == 2
        err = one_line_error(capsys)
        assert f"pid {holder.pid}@{socket.gethostname()} since 2024-01-01T00:00:00+00:00" in err
        assert snapshot(out) == before  # the holder's lock and everything else untouched
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_from_another_machine_is_never_taken(tmp_path):
    write_lock(tmp_path, 1, host="elsewhere.example")
    with pytest.raises(ManifestError, match="pid 1@elsewhere.example .*another machine"):
        RunLock(tmp_path, log=lambda s: None).acquire()


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    write_lock(tmp_path, dead.pid)
    notes: list[str] = []
    with open_run(tmp_path, log=notes.append):
        held = json.loads((tmp_path / LOCK).read_text())
        assert held["pid"] == os.getpid()
    assert any(f"took over the lock of pid {dead.pid}@" in n and "no longer running" in n for n in notes)
    assert not (tmp_path / LOCK).exists()
    assert [p.name for p in tmp_path.iterdir()] == [RUN_MARKER]


def test_two_concurrent_runs_then_takeover_after_the_first_dies(tmp_path, capsys):
    """A real holder: another process inside open_run; then it is killed with SIGKILL."""
    out = tmp_path / "out"
    run_dir = out / "demo"
    code = textwrap.dedent(f"""
        import sys, time
        from curator.rundir import open_run
        with open_run({str(run_dir)!r}, log=lambda s: None):
            print("held", flush=True)
            time.sleep(120)
    """)
    first = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert first.stdout.readline().strip() == "held"
        assert main(["run", str(manifest(tmp_path, out))]) == 2
        assert f"pid {first.pid}@" in one_line_error(capsys)
    finally:
        first.kill()
        first.wait()
    notes: list[str] = []
    with open_run(run_dir, log=notes.append):
        pass
    assert any(f"pid {first.pid}@" in n for n in notes)


def test_the_lock_is_released_on_an_exception_and_on_ctrl_c(tmp_path, monkeypatch, capsys):
    from curator.pipeline import Pipeline

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(Pipeline, "_tokenizer_info", interrupted)
    assert main(["run", str(manifest(tmp_path, tmp_path / "out"))]) == 130
    capsys.readouterr()
    run_dir = tmp_path / "out" / "demo"
    assert is_marked(run_dir) and not (run_dir / LOCK).exists()
    with pytest.raises(RuntimeError):
        with open_run(run_dir, log=lambda s: None):
            raise RuntimeError("boom")
    assert not (run_dir / LOCK).exists()


def test_the_lock_and_the_resolved_manifest_hold_no_secret(tmp_path, monkeypatch):
    from curator.manifest import dump_resolved, parse
    from curator.pipeline import Pipeline

    secret_url = "https://alice:hunter2@data.example/crawl/x.warc.gz?token=s3cr3t&part=1"
    m = parse({
        "run": "demo",
        "sources": [{"name": "web", "kind": "warc", "inputs": [secret_url], "domain": "web",
                     "paths_file": "https://bob:pa55@data.example/paths.gz?X-Amz-Signature=abc",
                     "prefix": "https://carol:c0de@data.example/"}],
        "mixture": {"weights": {"web": 1.0}},
        "output": {"dir": str(tmp_path)},
    }, base_dir=str(tmp_path))
    dumped = dump_resolved(m)
    for secret in ("hunter2", "s3cr3t", "pa55", "abc", "c0de", "alice", "bob", "carol"):
        assert secret not in dumped, secret
    assert "https://***@data.example/crawl/x.warc.gz?token=***&part=1" in dumped

    seen = {}

    def stop(self):
        seen["lock"] = (self.run_dir / LOCK).read_text()
        seen["lock_yaml"] = (self.run_dir / "manifest.lock.yaml").read_text()
        raise KeyboardInterrupt

    monkeypatch.setattr(Pipeline, "_tokenizer_info", stop)
    with pytest.raises(KeyboardInterrupt):
        Pipeline(m, log=lambda s: None).run()
    assert set(json.loads(seen["lock"])) == {"project", "pid", "host", "started", "proc_start", "version", "token"}
    for text in seen.values():
        assert "hunter2" not in text and "s3cr3t" not in text and "pa55" not in text


# -- a full disk ---------------------------------------------------------------------------

def test_a_full_disk_in_a_phase_is_an_environment_problem_and_leaves_no_temporaries(marked_dir):
    def fills_the_disk(out: Path) -> dict:
        out.mkdir(parents=True)
        (out / "part-0").write_text("half")
        with open("/dev/full", "w") as f:  # the kernel answers every write with ENOSPC
            f.write("x" * 65536)
            f.flush()
        return {}

    with pytest.raises(EnvironmentProblem) as info:
        PhaseRunner(marked_dir, log=lambda s: None).run("phase", "fp", fills_the_disk)
    msg = str(info.value)
    assert info.value.exit_code == 3 and len(msg.splitlines()) == 1
    assert f"writing {marked_dir}/phase.tmp-" in msg and " free)" in msg
    assert [p.name for p in marked_dir.iterdir() if ".tmp-" in p.name] == []


def test_a_spark_failure_saying_no_space_left_is_an_environment_problem(marked_dir):
    class Py4JJavaError(Exception):
        pass

    def spark_fails(out: Path) -> dict:
        out.mkdir(parents=True)
        try:
            raise OSError("java.io.IOException: write failed")
        except OSError as cause:
            raise Py4JJavaError("An error occurred while calling o42.parquet.\n"
                                "java.io.IOException: No space left on device\n\tat ...") from cause

    with pytest.raises(EnvironmentProblem) as info:
        PhaseRunner(marked_dir, log=lambda s: None).run("phase", "fp", spark_fails)
    assert str(marked_dir) in str(info.value) and "free" in str(info.value)
    assert [p.name for p in marked_dir.iterdir() if ".tmp-" in p.name] == []


def test_write_atomic_removes_its_temporary_file_when_the_write_fails(tmp_path, monkeypatch):
    import curator.phases

    target = tmp_path / "stats.json"
    target.write_text("old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(curator.phases.os, "fsync", full)
    with pytest.raises(OSError):
        write_atomic(target, "new" * 1000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats.json"]
    assert target.read_text() == "old"


def test_a_full_disk_in_a_run_exits_3_with_one_line(tmp_path, monkeypatch, capsys):
    from curator.pipeline import Pipeline

    def full(self):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.run_dir / "manifest.lock.yaml"))

    monkeypatch.setattr(Pipeline, "_tokenizer_info", full)
    assert main(["run", str(manifest(tmp_path, tmp_path / "out"))]) == 3
    err = one_line_error(capsys)
    assert "manifest.lock.yaml" in err and " free)" in err
    assert not (tmp_path / "out" / "demo" / LOCK).exists()


# -- other failures of the machine, and unexpected ones ------------------------------------

@pytest.mark.parametrize("err", [
    PermissionError(errno.EACCES, "Permission denied", "/data/\x1b]0;x\x07runs/demo/manifest.lock.yaml"),
    OSError(errno.EROFS, "Read-only file system", "/mnt/ro/demo"),
    NotADirectoryError(errno.ENOTDIR, "Not a directory", "/data/afile/demo"),
])
def test_any_os_error_in_a_run_is_one_line_exit_3(tmp_path, monkeypatch, capsys, err):
    from curator.pipeline import Pipeline

    def fail(self):
        raise err

    monkeypatch.setattr(Pipeline, "_tokenizer_info", fail)
    assert main(["run", str(manifest(tmp_path, tmp_path / "out"))]) == 3
    line = one_line_error(capsys)
    assert line.startswith(f"curator: error: {err.strerror}: ") and "Traceback" not in line
    assert "\x1b" not in line and (err.filename.replace("\x1b", "\\x1b").replace("\x07", "\\x07") in line)
    assert not (tmp_path / "out" / "demo" / LOCK).exists()


PY4J_TEXT = """An error occurred while calling o87.save.
: org.apache.spark.SparkException: Job aborted due to stage failure: Task 0 in stage 1.0 failed 1 times, most recent failure: Lost task 0.0 in stage 1.0 (TID 1) (host executor driver): org.apache.spark.api.python.PythonException: Traceback (most recent call last):
  File "/work/main/stages/warc_source.py", line 120, in read_file
    raise ValueError(f"bad record {n}")
ValueError: bad record 7
\tat org.apache.spark.api.python.BasePythonRunner$ReaderIterator.handlePythonException(PythonRunner.scala:572)
\tat org.apache.spark.scheduler.Task.run(Task.scala:141)
"""


class FakePy4JError(Exception):
    pass


def test_an_unexpected_failure_keeps_its_traceback_and_ends_with_the_root_cause(tmp_path, monkeypatch, capsys):
    from curator.pipeline import Pipeline

    def fail(self):
        try:
            raise FakePy4JError(PY4J_TEXT)
        except FakePy4JError as e:
            raise RuntimeError("while reading") from e

    monkeypatch.setattr(Pipeline, "_tokenizer_info", fail)
    assert main(["run", str(manifest(tmp_path, tmp_path / "out"))]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == "Traceback (most recent call last):"  # the bug stays visible
    assert err[-1] == "curator: error: failed: ValueError: bad record 7"


def test_a_failing_phase_is_named_in_the_last_line(marked_dir):
    from curator.cli import _unexpected

    def build(out):
        raise FakePy4JError(PY4J_TEXT)

    with pytest.raises(FakePy4JError) as info:
        PhaseRunner(marked_dir, log=lambda s: None).run("extracted", "fp", build)
    assert info.value.curator_phase == "extracted"
    import io
    from contextlib import redirect_stderr

    buf = io.StringIO()
    with redirect_stderr(buf):
        try:
            raise info.value
        except FakePy4JError as e:
            assert _unexpected(e) == 1
    assert buf.getvalue().strip().splitlines()[-1] == "curator: error: phase extracted failed: ValueError: bad record 7"


def test_root_cause_without_a_quoted_traceback():
    from curator.cli import root_cause

    try:
        try:
            raise KeyError("k")
        except KeyError as inner:
            raise RuntimeError("outer") from inner
    except RuntimeError as e:
        assert root_cause(e) == "KeyError: 'k'"
    assert root_cause(ValueError("")) == "ValueError"
