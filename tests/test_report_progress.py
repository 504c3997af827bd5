"""The progress line: tasks counted from Spark's status tracker for the phase's own jobs,
docs/s and ETA from them, shown on a terminal and silent in CI or when piped."""

from __future__ import annotations

import io
import re
import time
from types import SimpleNamespace

from curator.progress import Progress, Snapshot, TaskCounter, active_tracker, should_show


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def wait_counted(counter: TaskCounter, total: int) -> tuple[int, int]:
    """The tracker hears of finished tasks asynchronously (Spark's listener bus)."""
    deadline = time.monotonic() + 10
    while True:
        got = counter.count()
        if got == (total, total) or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_snapshot_rate_and_eta():
    s = Snapshot("annotate", tasks_done=3, tasks_total=12, elapsed_s=6.0, docs_in=1200)
    assert s.fraction == 0.25 and s.docs_per_s == 50 and s.eta_s == 18
    assert s.line() == "[annotate] tasks 3/12  50 docs/s  ETA 0:18  elapsed 0:06"
    first = Snapshot("extract", 0, 8, 2.0, None)
    assert first.eta_s is None and first.docs_per_s is None
    assert first.line() == "[extract] tasks 0/8  elapsed 0:02"
    assert Snapshot("mix", 1, 2, 4000.0, None).line().endswith("ETA 1:06:40  elapsed 1:06:40")


def test_counter_counts_only_jobs_started_after_it_and_skipped_stages_as_done():
    stage = lambda sid, n, done: SimpleNamespace(stageId=sid, numTasks=n, numCompletedTasks=done)  # noqa: E731
    jobs = {1: SimpleNamespace(stageIds=[1], status="SUCCEEDED")}
    stages = {1: stage(1, 50, 50), 2: stage(2, 8, 0), 3: stage(3, 4, 3)}
    tracker = SimpleNamespace(getJobIdsForGroup=lambda g: list(jobs), getJobInfo=jobs.get, getStageInfo=stages.get)
    counter = TaskCounter(lambda: tracker)
    assert counter.count() == (0, 0)  # job 1 ran before the phase began
    jobs[2] = SimpleNamespace(stageIds=[2, 3], status="RUNNING")
    assert counter.count() == (3, 12)
    jobs[2] = SimpleNamespace(stageIds=[2, 3], status="SUCCEEDED")  # stage 2's shuffle was reused
    assert counter.count() == (12, 12)
    assert TaskCounter(lambda: None).count() == (0, 0)  # before Spark has started


def test_counter_reads_a_real_spark_job(spark):
    spark.sparkContext.parallelize(range(10), 2).count()  # an earlier job it must not count
    counter = TaskCounter(active_tracker)
    spark.sparkContext.parallelize(range(100), 4).map(lambda x: x * 2).count()
    assert wait_counted(counter, 4) == (4, 4)


def test_quiet_when_piped_or_in_ci(spark, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert should_show(Tty()) and not should_show(io.StringIO())
    monkeypatch.setenv("CI", "true")
    assert not should_show(Tty())
    out = Tty()
    p = Progress(stream=out, interval_s=0.01)
    with p.phase("annotate", docs_in=100):
        spark.sparkContext.parallelize(range(10), 2).count()
    assert out.getvalue() == "" and p.last is None


def test_live_line_on_a_terminal(spark, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    out = Tty()
    p = Progress(stream=out, interval_s=0.02)
    assert p.enabled
    with p.phase("extract") as shown:
        spark.sparkContext.parallelize(range(4), 4).map(lambda x: time.sleep(0.3) or x).count()
        time.sleep(0.2)
        shown.docs = 400  # known once the phase has read its input
    text = out.getvalue()
    assert "[extract] tasks" in text  # the live line was drawn while the job ran
    assert re.search(r"\[extract\] 4 tasks in 0:0\d, 400 docs, \d+ docs/s", text)  # the line it leaves
    assert p.last.tasks_done == p.last.tasks_total == 4
