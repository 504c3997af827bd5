"""Progress of a running phase: Spark tasks done of total, documents per second and an ETA.

A thread polls Spark's status tracker (no listener jars, nothing in the tasks) for the jobs
started since the phase began. A phase runs a few jobs one after another (write, read back
for the ledger, rejected samples), so the total grows as they start and the ETA is for the
jobs known so far. Documents per second is estimated from the documents the phase takes in
(what the phase before it kept) times the fraction of tasks done; the extract phase does not
know its count in advance, so it shows tasks only until it ends. The line left when a phase
ends has its real documents per second. Shown with `rich` on a terminal; quiet when the
output is not a TTY, `CI` is set or the log level is above INFO (`curator -q`).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any


@dataclass(frozen=True)
class Snapshot:
    phase: str
    tasks_done: int
    tasks_total: int
    elapsed_s: float
    docs_in: int | None

    @property
    def fraction(self) -> float:
        return self.tasks_done / self.tasks_total if self.tasks_total else 0.0

    @property
    def docs_per_s(self) -> float | None:
        if self.docs_in is None or self.elapsed_s <= 0:
            return None
        return self.docs_in * self.fraction / self.elapsed_s

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the rate so far; None until a task has finished."""
        if not self.tasks_done or self.elapsed_s <= 0:
            return None
        return self.elapsed_s * (self.tasks_total - self.tasks_done) / self.tasks_done

    def line(self) -> str:
        parts = [f"[{self.phase}] tasks {self.tasks_done}/{self.tasks_total}"]
        if self.docs_per_s is not None:
            parts.append(f"{self.docs_per_s:,.0f} docs/s")
        if self.eta_s is not None:
            parts.append(f"ETA {format_seconds(self.eta_s)}")
        parts.append(f"elapsed {format_seconds(self.elapsed_s)}")
        return "  ".join(parts)


def format_seconds(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def should_show(stream) -> bool:
    """On an interactive terminal only, and never in CI."""
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class TaskCounter:
    """Tasks of the Spark jobs started after it was created (jobs without a job group, which
    is how the pipeline runs them); `tracker` is a `StatusTracker` or None before Spark is up."""

    def __init__(self, tracker: Callable[[], Any]):
        self._tracker = tracker
        t = tracker()
        self._before = set(t.getJobIdsForGroup(None)) if t is not None else set()

    def count(self) -> tuple[int, int]:
        t = self._tracker()
        if t is None:
            return 0, 0
        done = total = 0
        for job_id in set(t.getJobIdsForGroup(None)) - self._before:
            job = t.getJobInfo(job_id)
            if job is None:
                continue
            for stage_id in job.stageIds:
                stage = t.getStageInfo(stage_id)
                if stage is None:
                    continue
                total += stage.numTasks
                # a finished job's skipped stages (reused shuffle output) never run their tasks
                done += stage.numTasks if job.status == "SUCCEEDED" else stage.numCompletedTasks
        return done, total


def active_tracker():
    """The running SparkContext's status tracker, or None (without starting Spark)."""
    from pyspark import SparkContext

    sc = SparkContext._active_spark_context
    return sc.statusTracker() if sc is not None else None


class Progress:
    """`with progress.phase("annotate", docs_in=1234): ...` shows a live line while it runs."""

    def __init__(self, stream=None, enabled: bool | None = None, interval_s: float = 0.5,
                 tracker: Callable[[], Any] = active_tracker):
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:  # `-q` (the `curator` logger above INFO) hides the live line too
            from curator.log import logger

            enabled = should_show(self.stream) and logger.level <= logging.INFO  # NOTSET: not configured
        self.enabled = enabled
        self.interval_s = interval_s
        self.tracker = tracker
        self.last: Snapshot | None = None

    @contextmanager
    def phase(self, name: str, docs_in: int | None = None) -> Iterator[SimpleNamespace]:
        """Yields a handle: set `.docs` to the documents the phase read once it knows them."""
        handle = SimpleNamespace(docs=docs_in)
        if not self.enabled:
            yield handle
            return
        from rich.console import Console
        from rich.live import Live
        from rich.text import Text

        counter = TaskCounter(self.tracker)
        started = time.monotonic()
        stop = threading.Event()

        def snap() -> Snapshot:
            done, total = counter.count()
            return Snapshot(name, done, total, time.monotonic() - started, docs_in)

        console = Console(file=self.stream, force_terminal=True)
        with Live(Text(f"[{name}] starting"), console=console, transient=True, refresh_per_second=4) as live:
            def poll() -> None:
                while not stop.wait(self.interval_s):
                    try:
                        self.last = snap()
                        live.update(Text(self.last.line()))
                    except Exception:  # Spark starting or stopping under us: best effort, try again
                        continue

            thread = threading.Thread(target=poll, name=f"curator-progress-{name}", daemon=True)
            thread.start()
            try:
                yield handle
            finally:
                stop.set()
                thread.join(timeout=5)
        try:
            self.last = snap()
        except Exception:
            return
        if not self.last.tasks_total:  # a phase that was skipped or ran no Spark job
            return
        docs, secs = handle.docs, self.last.elapsed_s
        rate = f", {docs:,} docs, {docs / secs:,.0f} docs/s" if docs is not None and secs > 0 else ""
        console.print(Text(f"[{name}] {self.last.tasks_done} tasks in {format_seconds(self.last.elapsed_s)}{rate}"))
