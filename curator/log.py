"""The `curator` logger: progress and notes of a run, with levels, on stderr.

User-facing command output (stats tables, `inspect`, `validate`'s line) is printed to stdout
by the commands themselves; everything a run says about what it is doing goes through
`log` here, so `-q` silences it and `-v` adds debug lines. The level comes from the CLI's
`-v`/`-q` or else the environment variable CURATOR_LOG_LEVEL (a name such as DEBUG or
WARNING, or a number); the default is INFO.
"""

from __future__ import annotations

import logging
import os
import sys

logger = logging.getLogger("curator")
ENV = "CURATOR_LOG_LEVEL"
DEFAULT = logging.INFO


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a line is logged (a test's capture, a
    redirected stream), not the one at configuration time."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it; always follow sys.stderr
        pass


def level_from(verbose: int = 0, quiet: int = 0, env: str | None = None) -> int:
    """The level `-v` (DEBUG) / `-q` (WARNING, `-qq` ERROR) ask for, else the environment's
    CURATOR_LOG_LEVEL, else INFO. An unknown name in the environment is ignored (INFO)."""
    if verbose or quiet:
        return max(logging.DEBUG, min(logging.CRITICAL, DEFAULT - 10 * verbose + 10 * quiet))
    env = os.environ.get(ENV) if env is None else env
    if env and env.strip():
        value = env.strip()
        if value.isdigit():
            return int(value)
        named = logging.getLevelName(value.upper())
        if isinstance(named, int):
            return named
    return DEFAULT


def configure(level: int | None = None) -> logging.Logger:
    """Set the `curator` logger's level and give it one stderr handler (once, however often
    this is called); lines are printed as they are, without a prefix."""
    logger.setLevel(level_from() if level is None else level)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    return logger


def log(message: str) -> None:
    """A run's progress or note line, at INFO: the default `log` of Pipeline, PhaseRunner
    and rundir.open_run (which also accept any callable, e.g. a list's append in tests)."""
    logger.info(message)
