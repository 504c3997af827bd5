"""Using curator from Python (a notebook): one stage on a table, a whole run, a run's stats.

    import pandas as pd, curator
    from stages.gopher import GopherQuality
    curator.apply_stage(GopherQuality(), pd.DataFrame({"text": [...]}))  # scores + drop_reason
    result = curator.run("manifests/demo.yaml")        # every phase, as `curator run`
    curator.load_run("runs/demo")["funnel"]            # what `curator stats --json` prints

`apply_stage` takes a pandas DataFrame, an Arrow table or record batch that has a `text`
column; the other document columns are optional (id, source, kind, domain, url, lang,
lang_score, meta, drop_reason: filled with defaults when absent). It returns the same type:
the input's columns, the stage's score columns and `drop_reason` (None: kept; else
"<stage>.<rule>"), plus any document column the stage filled (langid's `lang`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

DEFAULT_DOMAIN = "web"
BATCH_ROWS = 10_000
"""Rows per call of the stage: the size of the batches Spark hands a worker."""


def _stage(stage, settings: dict[str, Any]):
    from stages.base import Stage

    if isinstance(stage, Stage):
        if settings:
            raise TypeError("settings go to the stage's constructor; pass a stage name or class to give them here")
        return stage
    if isinstance(stage, str):
        from curator.codeprint import stage_class

        stage = stage_class(stage)
    if isinstance(stage, type) and issubclass(stage, Stage):
        return stage(settings)
    raise TypeError(f"not a stage: {stage!r} (a Stage instance, a Stage class or a stage name)")


def _documents(table: pa.Table) -> pa.Table:
    """`table` as the pipeline's document rows (DOC_SCHEMA), defaults for absent columns."""
    from curator.schema import DOC_SCHEMA

    if "text" not in table.column_names:
        raise ValueError(f"the table needs a `text` column (it has: {', '.join(table.column_names) or 'none'})")
    n = table.num_rows
    defaults = {
        "id": pa.array([str(i) for i in range(n)], pa.string()),
        "source": pa.array(["api"] * n, pa.string()),
        "kind": pa.array(["warc"] * n, pa.string()),
        "domain": pa.array([DEFAULT_DOMAIN] * n, pa.string()),
        "meta": pa.array([[] for _ in range(n)], pa.map_(pa.string(), pa.string())),
    }
    columns = []
    for f in DOC_SCHEMA:
        if f.name in table.column_names:
            columns.append(table.column(f.name).cast(f.type))
        elif f.name in defaults:
            columns.append(defaults[f.name])
        else:
            columns.append(pa.nulls(n, f.type))
    return pa.Table.from_arrays(columns, schema=DOC_SCHEMA)


def _results(stage, table: pa.Table) -> dict[str, pa.ChunkedArray]:
    """What the stage adds to `table`: its score columns, `drop_reason`, and the document
    columns it changed (or that the caller left out and it filled, e.g. langid's `lang`)."""
    from curator.schema import DOC_SCHEMA

    docs = _documents(table)
    batches = docs.combine_chunks().to_batches(max_chunksize=BATCH_ROWS)
    batches = batches or [pa.RecordBatch.from_pylist([], schema=DOC_SCHEMA)]
    done = pa.Table.from_batches([stage.apply(b) for b in batches])
    out = {}
    for name in done.column_names:
        column = done.column(name)
        if name in DOC_SCHEMA.names and name != "drop_reason" and column.equals(docs.column(name)):
            continue  # a document column the stage left as it was
        out[name] = column
    out["drop_reason"] = out.pop("drop_reason")  # after the scores that decided it
    return out


def _with(table: pa.Table, results: dict[str, pa.ChunkedArray]) -> pa.Table:
    for name, column in results.items():
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, column) if i != -1 else table.append_column(name, column)
    return table


def apply_stage(stage, data, **settings):
    """Run one stage on `data` (pandas DataFrame, Arrow Table or RecordBatch with a `text`
    column) and return the same type with its scores and decisions added (see the module's
    docstring). `stage` is a Stage instance, or a stage class or name with `settings`."""
    stage = _stage(stage, settings)
    if isinstance(data, pa.Table):
        return _with(data, _results(stage, data))
    if isinstance(data, pa.RecordBatch):
        table = pa.Table.from_batches([data])
        out = _with(table, _results(stage, table)).combine_chunks()
        return out.to_batches()[0] if out.num_rows else pa.RecordBatch.from_pylist([], schema=out.schema)
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        out = data.copy()
        for name, column in _results(stage, pa.Table.from_pandas(data, preserve_index=False)).items():
            out[name] = column.to_pandas().set_axis(data.index)
        return out
    raise TypeError(f"apply_stage takes a pandas DataFrame, a pyarrow Table or RecordBatch, not {type(data).__name__}")


@dataclass
class RunResult:
    """What `curator.run` returns: where the run is, each phase's result, and its stats
    (`load_run`: funnel, drop reasons, mixture, shards, accounting problems)."""

    run_dir: Path
    phases: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every document and token is accounted for."""
        return not self.stats.get("accounting_problems")


def run(manifest, until: str | None = None, force: bool = False, spark=None, log=None) -> RunResult:
    """Run a manifest (a path or a curator.manifest.Manifest) like `curator run`: finished
    phases are skipped, `until` stops after that phase. Errors are the CLI's classes
    (ManifestError, EnvironmentProblem, AccountingError). Progress goes to the `curator`
    logger (configured here at INFO if nothing configured it) or to `log`."""
    from curator.log import configure, logger
    from curator.manifest import Manifest, load
    from curator.pipeline import PHASES, Pipeline

    if until is not None and until not in PHASES:
        raise ValueError(f"until={until!r}: one of {', '.join(PHASES)}")
    m = manifest if isinstance(manifest, Manifest) else load(os.fspath(manifest))
    if log is None and not logger.handlers:
        configure()
    phases = Pipeline(m, spark=spark, log=log, force=force).run(until=until)
    return RunResult(Path(m.run_dir), phases, load_run(m.run_dir))


def load_run(run_dir) -> dict[str, Any]:
    """The statistics of a run directory, as `curator stats --json` prints them (no Spark)."""
    from curator.runstats import collect

    return collect(run_dir)
