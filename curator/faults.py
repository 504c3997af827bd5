"""Test-only fault injection: make a fraction of Spark tasks fail on their first attempt.

Set `CURATOR_INJECT_TASK_FAILURES=<fraction>` (0 < fraction <= 1) in the driver's
environment and run with a master that retries tasks (`local[2,4]`, a cluster). Every phase
then loses that fraction of its tasks once, at a point where the task has already done
work (after its first input batch; in the shard writer, after its first shard is written),
and the run must still finish with byte-identical shards and no stray temporary files.
Which tasks fail is a hash of (phase, partition), so a test run is reproducible. Unset, the
switch costs one dictionary lookup per phase and nothing inside tasks.
"""

from __future__ import annotations

import hashlib
import os
from functools import partial

ENV = "CURATOR_INJECT_TASK_FAILURES"
LOG_ENV = "CURATOR_INJECT_TASK_FAILURES_LOG"
"""Optional folder where every injected failure leaves a file, so a test can see they fired."""


class InjectedFault(RuntimeError):
    """The failure a test asked for; Spark retries the task."""


def fraction() -> float:
    """The configured fraction of tasks to fail, 0.0 when the switch is off."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{ENV}={raw!r}: expected a fraction between 0 and 1") from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{ENV}={raw!r}: expected a fraction between 0 and 1")
    return value


def _chosen(phase: str, partition: int, frac: float) -> bool:
    h = hashlib.sha256(f"{phase}:{partition}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64 < frac


def settings() -> tuple[float, str | None]:
    """(fraction, log folder) read on the driver, to be passed into tasks."""
    return fraction(), os.environ.get(LOG_ENV) or None


def maybe_fail(phase: str, fault: tuple[float, str | None]) -> None:
    """Inside a task: raise on the first attempt when this task is among the chosen ones."""
    frac, log_dir = fault
    if frac <= 0:
        return
    from pyspark import TaskContext

    ctx = TaskContext.get()
    if ctx is None or ctx.attemptNumber() > 0:
        return
    if _chosen(phase, ctx.partitionId(), frac):
        if log_dir:
            os.makedirs(log_dir, exist_ok=True)
            open(os.path.join(log_dir, f"{phase}-{ctx.partitionId()}"), "w").close()
        raise InjectedFault(f"injected failure in phase {phase}, partition {ctx.partitionId()}")


def _pass_through(batches, phase: str, fault: tuple[float, str | None]):
    for i, batch in enumerate(batches):
        yield batch
        if i == 0:  # fail after the task has produced output, not before it started
            maybe_fail(phase, fault)


def inject(df, phase: str):
    """`df` unchanged, or with a pass-through step that fails chosen tasks once."""
    fault = settings()
    if fault[0] <= 0:
        return df
    return df.mapInArrow(partial(_pass_through, phase=phase, fault=fault), df.schema)


TAKEDOWN_KILL_ENV = "CURATOR_INJECT_TAKEDOWN_KILL"
"""A number k: a takedown stops (as if killed) right after its k-th rename, journal in place."""


def maybe_kill_takedown(renamed: int) -> None:
    """In a takedown's renames: raise once `renamed` reaches the configured count."""
    raw = os.environ.get(TAKEDOWN_KILL_ENV, "").strip()
    if raw and renamed == int(raw):
        raise InjectedFault(f"injected kill of a takedown after {renamed} renames")
