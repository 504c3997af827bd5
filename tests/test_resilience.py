"""What a long run on many machines goes through: tasks that fail and are retried, a driver
killed in the middle of each phase, and a real standalone Spark cluster. Each case runs the
demo manifest in its own process (its own JVM) and must give the shards of the clean
in-process demo run, byte for byte, with no temporary file left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from curator.phases import MARKER
from curator.pipeline import OUTPUT_DIRS, PHASES
from tests.conftest import ROOT, demo_manifest_copy, shard_hashes


def child_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
           "SPARK_LOCAL_IP": "127.0.0.1", "PYTHONUNBUFFERED": "1"}
    env.update(extra)
    return env


def curator_cmd(manifest: Path) -> list[str]:
    return [sys.executable, "-m", "curator.cli", "run", str(manifest)]


def leftovers(run_dir: Path) -> list[str]:
    """Temporary files or folders anywhere under the run directory (a phase's statistics
    warm-up file included: it lives in the phase's temporary folder)."""
    return sorted(
        str(p.relative_to(run_dir)) for p in run_dir.rglob("*")
        if ".tmp-" in p.name or p.name in ("_temporary", "warm-up")
    )


def test_failed_tasks_are_retried_into_identical_shards(demo_run, tmp_path):
    """Every task of every phase dies once, after doing work; retries finish the run."""
    m, _, _ = demo_run
    manifest = demo_manifest_copy(tmp_path, tmp_path / "runs", spark={"master": "local[2,4]"})
    log = tmp_path / "faults"
    proc = subprocess.run(
        curator_cmd(manifest), capture_output=True, text=True, timeout=900,
        env=child_env(CURATOR_INJECT_TASK_FAILURES="1", CURATOR_INJECT_TASK_FAILURES_LOG=str(log)),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    fired = {p.name.rsplit("-", 1)[0] for p in log.iterdir()}
    assert fired == set(PHASES), f"failures were injected in {sorted(fired)} only"
    run_dir = tmp_path / "runs" / "demo"
    assert shard_hashes(run_dir) == shard_hashes(m.run_dir)
    assert leftovers(run_dir) == []


def test_without_retries_an_injected_failure_fails_the_run_cleanly(tmp_path):
    """local[2] never retries: the run stops with an error and leaves no half-written phase."""
    manifest = demo_manifest_copy(tmp_path, tmp_path / "runs", spark={"master": "local[2]"})
    proc = subprocess.run(
        [*curator_cmd(manifest)], capture_output=True, text=True, timeout=900,
        env=child_env(CURATOR_INJECT_TASK_FAILURES="1"),
    )
    assert proc.returncode != 0
    assert "injected failure in phase extract" in proc.stderr
    run_dir = tmp_path / "runs" / "demo"
    assert not (run_dir / "extracted").exists()
    assert leftovers(run_dir) == []


def _start(manifest: Path, log: Path) -> subprocess.Popen:
    out = open(log, "w")
    return subprocess.Popen(curator_cmd(manifest), stdout=out, stderr=subprocess.STDOUT,
                            env=child_env(), start_new_session=True)


def _kill_when_started(proc: subprocess.Popen, run_dir: Path, phase_dir: str, timeout: float = 600) -> None:
    """SIGKILL the driver (and its JVM and Python workers) once `phase_dir` is being written."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the run ended (exit {proc.returncode}) before phase {phase_dir} started")
        if any(run_dir.glob(f"{phase_dir}.tmp-*")):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail(f"phase {phase_dir} did not start within {timeout}s")


def _finished(run_dir: Path) -> list[str]:
    return [OUTPUT_DIRS[p] for p in PHASES if (run_dir / OUTPUT_DIRS[p] / MARKER).is_file()]


def test_driver_killed_in_each_phase_resumes_to_identical_shards(demo_run, tmp_path):
    """Kill the driver in the middle of each phase in turn; every re-run skips what was
    finished, and the last one gives the clean run's shards byte for byte."""
    m, _, _ = demo_run
    manifest = demo_manifest_copy(tmp_path, tmp_path / "runs")
    run_dir = tmp_path / "runs" / "demo"
    dirs = [OUTPUT_DIRS[p] for p in PHASES]
    for k, target in enumerate(dirs):
        log = tmp_path / f"run-{k}.log"
        _kill_when_started(_start(manifest, log), run_dir, target)
        assert _finished(run_dir) == dirs[:k], (target, log.read_text()[-2000:])
        text = log.read_text()
        for earlier in dirs[: max(0, k - 1)]:  # finished by an earlier run: skipped now
            assert f"[{earlier}] skipped" in text, (target, earlier, text[-2000:])
    proc = subprocess.run(curator_cmd(manifest), capture_output=True, text=True, env=child_env(), timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    notes = proc.stderr  # a run's notes are log lines, on stderr; stdout keeps the summary
    assert all(f"[{d}] skipped" in notes for d in dirs[:-1]), notes[-2000:]
    assert "[shards] running" in notes
    assert shard_hashes(run_dir) == shard_hashes(m.run_dir)
    assert leftovers(run_dir) == []


# -- a real standalone cluster ---------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"{what} did not open port {port} in {timeout}s")


@pytest.fixture
def standalone_cluster(tmp_path):
    """A Spark standalone master and two one-core workers from the installed PySpark."""
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    spark_class = str(spark_home / "bin" / "spark-class")
    env = child_env(SPARK_HOME=str(spark_home), SPARK_NO_DAEMONIZE="1")
    port = _free_port()
    procs: list[subprocess.Popen] = []

    def start(args: list[str], name: str) -> subprocess.Popen:
        out = open(tmp_path / f"{name}.log", "w")
        p = subprocess.Popen([spark_class, *args], stdout=out, stderr=subprocess.STDOUT, env=env,
                             start_new_session=True)
        procs.append(p)
        return p

    try:
        master = start(["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                        "--webui-port", str(_free_port())], "master")
        _wait_for_port(port, master, "the Spark master")
        url = f"spark://127.0.0.1:{port}"
        for i in range(2):
            worker_port = _free_port()
            worker = start(["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                            "--port", str(worker_port), "--webui-port", str(_free_port()),
                            "--cores", "1", "--memory", "2g", "--work-dir", str(tmp_path / f"work-{i}"),
                            url], f"worker-{i}")
            _wait_for_port(worker_port, worker, f"Spark worker {i}")
        yield url, tmp_path
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def test_standalone_cluster_gives_the_local_shards(demo_run, standalone_cluster):
    """spark-submit to a master with two workers: executors run the project's Python from a
    path every machine shares, read model files from CURATOR_ASSETS, and write to a shared
    run directory; the shards are the local run's, byte for byte."""
    from curator.assets import cache_dir

    m, _, _ = demo_run
    url, tmp_path = standalone_cluster
    manifest = demo_manifest_copy(tmp_path, tmp_path / "runs")
    submit = Path(sys.executable).parent / "spark-submit"
    cmd = [
        str(submit), "--master", url, "--deploy-mode", "client",
        "--driver-memory", "1g", "--executor-memory", "1g", "--total-executor-cores", "2",
        "--conf", f"spark.pyspark.python={sys.executable}",
        "--conf", f"spark.executorEnv.CURATOR_ASSETS={cache_dir()}",
        str(ROOT / "jobs" / "curate.py"), str(manifest),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900,
                          env=child_env(CURATOR_ASSETS=str(cache_dir())))
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = tmp_path / "runs" / "demo"
    assert shard_hashes(run_dir) == shard_hashes(m.run_dir)
    # the work ran on the workers' executors, not in the driver
    executors = [p for i in range(2) for p in (tmp_path / f"work-{i}").rglob("stderr")]
    assert executors, "no executor ran on the standalone workers"
