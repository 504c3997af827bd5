"""The whole run: extract -> annotate -> dedup -> tokenize -> mix -> shards, then the report.

Each phase reads the kept rows of the one before, writes all rows that entered it (kept or
with a drop reason) under the run directory through the phase runner, and is checked by
the accounting rule. Fingerprints chain, so a change upstream re-runs everything after it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa

import curator
from curator import stats as ledger
from curator.assets import resolve
from curator.errors import AccountingError
from curator.lean_text import DroppedText
from curator.manifest import Manifest, dump_resolved, expand_inputs
from curator.phases import PhaseResult, PhaseRunner, fingerprint, write_atomic
from curator.rundir import PHASE_DIRS
from curator.schema import DOC_SCHEMA, conform, spark_schema

PHASES = tuple(PHASE_DIRS)
OUTPUT_DIRS = PHASE_DIRS


# -- per-partition functions (run on the Python workers) ---------------------------------

BATCH_ROWS = 500
BATCH_BYTES = 16 << 20
"""An extract batch holds up to 500 documents or 16 MiB of text, whichever comes first, so
a task of many large files never hands the JVM one enormous Arrow batch."""


def _task_rows(index: int, task: tuple, settings, sources: dict, cascade=None):
    """The rows of one task, each tagged with the task's number; the last row also carries
    how many records the reader took from its input (`task_records`, see curator/tally.py).
    `cascade`: rules a WARC page meets before extraction (stages/precheck.py), or None."""
    from curator.tally import Tally
    from stages.code_source import read_code_task
    from stages.warc_source import read_warc

    source, domain, kind, payload = task
    src = sources[source]
    tally = Tally()
    if kind == "warc":
        rows = read_warc(payload, source, domain, settings, src["snapshot"], tally=tally,
                         anonymous=src.get("anonymous", False), cascade=cascade)
    else:
        rows = read_code_task(json.loads(payload), source, domain, settings, src["licenses"], tally=tally)
    held = None  # one row of look-ahead, so the last one can carry the count
    for row in rows:
        row["meta"]["task"] = str(index)
        if held is not None:
            yield held
        held = row
    if held is None and tally.read:  # records were read but no row came out: say so
        held = {"id": f"task-{index}#no-rows", "source": source, "kind": kind, "domain": domain, "url": None,
                "text": "", "lang": None, "lang_score": None, "meta": {"task": str(index)},
                "drop_reason": "extract.no_rows"}
    if held is not None:
        held["meta"]["task_records"] = str(tally.read)
        yield held


_STR_FIELDS = ("id", "source", "kind", "domain", "url", "text", "lang", "drop_reason")


def _valid(v) -> str | None:
    """`v` as a str Arrow can encode (lone surrogates replaced), None kept."""
    from stages.reading import arrow_safe

    return None if v is None else arrow_safe(v, escape=False)


def _repaired(row: dict) -> dict:
    """A row Arrow refused (a lone surrogate, a non-string meta value), made valid; a last
    resort behind the readers' own care, so one odd record never fails its task."""
    out = {k: _valid(row.get(k)) for k in _STR_FIELDS}
    score = row.get("lang_score")
    out["lang_score"] = float(score) if isinstance(score, (int, float)) else None
    meta = row.get("meta") if isinstance(row.get("meta"), dict) else {}
    out["meta"] = {_valid(k): _valid(v) for k, v in meta.items()}
    out["meta"]["repaired"] = "1"
    try:
        pa.RecordBatch.from_pylist([out], schema=DOC_SCHEMA)
    except Exception as e:  # still not convertible: keep only what the accounting needs
        keep = {k: out["meta"][k] for k in ("task", "record", "task_records") if k in out["meta"]}
        out = {**{k: None for k in _STR_FIELDS}, "id": _valid(row.get("id")) or "?", "text": "",
               "lang_score": None, "drop_reason": "extract.bad_row",
               "meta": {**keep, "error": f"{type(e).__name__}: {e}"[:300]}}
        for k in ("source", "kind", "domain"):
            out[k] = _valid(row.get(k)) if isinstance(row.get(k), str) else None
    return out


def _to_batch(chunk: list[dict]) -> pa.RecordBatch:
    try:
        return pa.RecordBatch.from_pylist(chunk, schema=DOC_SCHEMA)
    except (pa.ArrowException, UnicodeError, TypeError, ValueError, OverflowError):
        return pa.RecordBatch.from_pylist([r if _convertible(r) else _repaired(r) for r in chunk], schema=DOC_SCHEMA)


def _convertible(row: dict) -> bool:
    try:
        pa.RecordBatch.from_pylist([row], schema=DOC_SCHEMA)
        return True
    except (pa.ArrowException, UnicodeError, TypeError, ValueError, OverflowError):
        return False


def _extract_tasks(batches, tasks: list, settings, sources: dict, cascade=None, samples: int | None = None):
    """Rows of the tasks whose indexes arrive (one per Spark partition, see `extract_frame`),
    as Arrow batches of at most BATCH_ROWS documents and BATCH_BYTES of text. `samples`: the
    rejected samples per reason; other dropped rows lose their text (curator/lean_text.py)."""
    lean = None if samples is None else DroppedText(samples)
    for batch in _extracted_batches(batches, tasks, settings, sources, cascade):
        yield batch if lean is None else lean.thin(batch)


def _extracted_batches(batches, tasks: list, settings, sources: dict, cascade=None):
    for batch in batches:
        for index in batch.column(0).to_pylist():
            chunk, size = [], 0
            for row in _task_rows(index, tasks[index], settings, sources, cascade):
                chunk.append(row)
                size += len(row["text"]) if isinstance(row["text"], str) else 0
                if len(chunk) == BATCH_ROWS or size >= BATCH_BYTES:
                    yield _to_batch(chunk)
                    chunk, size = [], 0
            if chunk:
                yield _to_batch(chunk)


def extract_frame(spark, tasks: list[tuple[str, str, str, str]], settings, sources: dict, cascade=None,
                  samples: int | None = None):
    """The extracted documents of (source, domain, kind, payload) tasks, one Spark task each.

    The partitions are `spark.range` numbers, one per partition, and the task list travels
    with the function (broadcast by PySpark when large): a parallelized Python list would
    cost every task a second Python worker round trip (10 ms each, measured)."""
    fn = partial(_extract_tasks, tasks=tasks, settings=settings, sources=sources, cascade=cascade, samples=samples)
    return spark.range(0, len(tasks), 1, max(1, len(tasks))).mapInArrow(fn, spark_schema(DOC_SCHEMA))


def _stored_schema(path: Path):
    """The Spark schema written into the footer of the first part file under `path` (None
    when there is none, or the file was not written by Spark)."""
    import pyarrow.parquet as pq
    from pyspark.sql.types import StructType

    first = next(iter(sorted(path.glob("part-*.parquet"))), None)
    if first is None:
        return None
    try:
        stored = pq.read_metadata(first).metadata or {}
        return StructType.fromJson(json.loads(stored[b"org.apache.spark.sql.parquet.row.metadata"]))
    except (KeyError, ValueError, OSError, pa.ArrowException):
        return None


_STAGES: dict[str, list] = {}


def _annotate_batches(batches, specs: list, in_schema: pa.Schema, samples: int | None = None):
    """`specs`: (stage class, parsed settings) pairs, shipped as they are: the worker imports
    each class's module by name and uses the settings without validating them again.
    `samples`: as for `_extract_tasks`."""
    key = json.dumps([(f"{cls.__module__}:{cls.__qualname__}", s.model_dump(mode="json")) for cls, s in specs], sort_keys=True)
    if key not in _STAGES:  # one set of stage objects (and models) per Python worker
        _STAGES[key] = [cls(settings) for cls, settings in specs]
    stages = _STAGES[key]
    lean = None if samples is None else DroppedText(samples)
    for batch in batches:
        batch = conform(batch, in_schema)
        for stage in stages:
            batch = stage.apply(batch)
        yield batch if lean is None else lean.thin(batch)


def _ship_stage_module(spark, cls) -> None:
    """A plug-in stage defined in a single top-level .py file outside this project and outside
    site-packages is sent to the executors (SparkContext.addPyFile), so that they can import it
    wherever they run. A plug-in package must be installed on (or on the PYTHONPATH of) every
    executor; local mode's workers inherit the driver's PYTHONPATH."""
    import sys
    import sysconfig

    mod = sys.modules.get(cls.__module__)
    origin = getattr(getattr(mod, "__spec__", None), "origin", None)
    if (mod is None or "." in cls.__module__ or getattr(mod, "__path__", None) is not None
            or not origin or not origin.endswith(".py")):
        return
    origin = os.path.realpath(origin)
    paths = sysconfig.get_paths()
    project = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    if any(origin.startswith(os.path.realpath(r) + os.sep) for r in (paths["purelib"], paths["platlib"], project)):
        return
    spark.sparkContext.addPyFile(origin)


# -- the run -------------------------------------------------------------------------------

class Pipeline:
    def __init__(self, manifest: Manifest, spark=None, log: Callable[[str], None] | None = None, force: bool = False):
        """Nothing is created on disk here; `run` claims the run directory. `force` takes an
        existing non-empty folder without the project's marker (see curator/rundir.py).
        Progress and notes go to `log` (default: the `curator` logger, see curator/log.py)."""
        from curator.log import log as default_log

        log = log or default_log
        self.m = manifest
        self.log = log
        self.force = force
        self.run_dir = manifest.run_dir
        self.runner = PhaseRunner(self.run_dir, log)
        self._spark = spark
        self.results: dict[str, PhaseResult] = {}
        self._prior: list = []  # dedup indexes of `dedup.against` (curator/dedup_index.py)
        from curator.progress import Progress

        self.progress = Progress()  # a live line on a terminal; quiet when not a TTY or in CI

    @property
    def spark(self):
        if self._spark is None:
            from curator.spark import get_spark

            self._spark = get_spark(self.m.spark, app_name=f"curator:{self.m.run}")
        return self._spark

    def run(self, until: str | None = None) -> dict[str, PhaseResult]:
        """Every phase up to `until`, then the report, holding the run directory's lock.

        The run directory is checked (not `/`, home, the manifest's folder or a file), claimed
        (created and marked, or refused when it is someone else's) and locked before anything
        is written; the lock is released however the run ends. A full disk anywhere in the
        run is an EnvironmentProblem naming the path and the free space."""
        from curator.report import write_report
        from curator.rundir import check_location, disk_full, open_run

        check_location(self.run_dir, self.m.base_dir)
        if self._spark is None:  # no Java: one clear line before the run directory is touched
            from curator.spark import check_java

            check_java()
        with open_run(self.run_dir, force=self.force, log=self.log):
            try:
                write_atomic(self.run_dir / "manifest.lock.yaml", dump_resolved(self.m))
                tok_info = self._tokenizer_and_spark()
                dedup_settings = self.m.dedup.model_dump()
                if self.m.dedup.against:  # checked before Spark starts; a re-saved index re-runs dedup
                    from curator.dedup_index import open_indexes

                    self._prior = open_indexes(self.m.dedup.against, self.m.base_dir, self.m.dedup)
                    dedup_settings["against_state"] = [ix.state() for ix in self._prior]
                previous = fingerprint({"inputs": self._input_state(), "sources": [s.model_dump() for s in self.m.sources]})
                settings = {
                    "extract": {**self._extract_settings(), "dropped_text": self.m.output.dropped_text_samples()},
                    "annotate": {**self._annotate_settings(), "dropped_text": self.m.output.dropped_text_samples()},
                    "dedup": dedup_settings,
                    "tokenize": {**self.m.tokenizer.model_dump(), "tokenizer_sha256": tok_info["sha256"]},
                    "mix": self.m.mixture.model_dump(),
                    "shards": self.m.shards.model_dump(),
                }
                code = self._code_fingerprints()
                for phase in PHASES:
                    fp = fingerprint({"phase": phase, "version": curator.__version__, "code": code[phase],
                                      "after": previous, "settings": settings[phase]})
                    build = partial(getattr(self, f"_{phase}"), tok_info=tok_info)
                    docs_in = self.results[PHASES[PHASES.index(phase) - 1]].stats.get("kept") if self.results else None
                    with self.progress.phase(phase, docs_in) as shown:
                        self.results[phase] = self.runner.run(OUTPUT_DIRS[phase], fp, build)
                        shown.docs = self.results[phase].stats.get("docs_in", docs_in)
                    previous = fp
                    if phase == until:
                        break
                write_report(self.run_dir)
            except Exception as e:
                full = disk_full(e, self.run_dir)
                if full is None:
                    raise
                raise full from None
        return self.results

    def _tokenizer_and_spark(self) -> dict:
        """The tokenizer's info (`_tokenizer_info`); when the run will need a Spark session of
        its own (the last phase is not finished), the session is started meanwhile: the info
        is Python work (transformers' import, the first time a tokenizer's files are seen;
        stages/tokenize.py `_described` keeps the result) and starting Spark is mostly the
        JVM's. Spark starts in the main thread, where PySpark installs its Ctrl-C handler."""
        if self._spark is not None or self.runner.done_marker(OUTPUT_DIRS[PHASES[-1]]) is not None:
            return self._tokenizer_info()
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1, thread_name_prefix="curator-tokenizer") as pool:
            loading = pool.submit(self._tokenizer_info)
            try:
                _ = self.spark
            finally:
                info = loading.result()  # its error, if any, is the one the run reports
        return info

    def _code_fingerprints(self) -> dict[str, str]:
        """Per phase, a hash of the source it runs (curator/codeprint.py): an edited filter or
        reader re-runs its phase and every phase after it."""
        from curator.codeprint import code_fingerprint

        stages = [getattr(e, "stage", None) for e in self.m.stages]  # the manifest's resolved classes
        if not all(isinstance(s, type) for s in stages):
            stages = [name for name, _ in self.m.stage_specs()]
        return {p: code_fingerprint(p, stages if p == "annotate" else ()) for p in PHASES}

    # -- inputs ----------------------------------------------------------------------------
    def _annotate_settings(self):
        """The stages' settings and, for stages that read files named in them (eval sets),
        the state of those files: a changed eval set re-runs annotate."""
        from stages.inputs import input_state

        files = [f for e in self.m.stages if hasattr(e.stage, "input_files") for f in e.stage.input_files(e.settings)]
        if not files:
            return {"stages": self.m.stage_specs()}
        return {"stages": self.m.stage_specs(), "files": [input_state(f) for f in files]}

    def _input_state(self) -> list:
        """Path, size and mtime of every input file (a git repo: its commit at the ref; a
        remote file: its name): a changed input re-runs the pipeline."""
        from stages.code_source import code_tasks, task_files
        from stages.inputs import input_state, list_source_files

        state = []
        for i, src in enumerate(self.m.sources):
            if src.kind == "warc":
                state.extend(input_state(p) for p in list_source_files(src, self.m.base_dir, i, self.m.extract.http_retries))
                continue
            for p in expand_inputs(self.m, i):
                for task in code_tasks(p, src.ref, self.m.extract):
                    if task["type"] == "git":
                        state.append((task["dir"], task["commit"], None))
                    state.extend(input_state(f) for f in task_files(task))
        return sorted(set(state), key=str)

    def _tokenizer_info(self) -> dict:
        from stages.tokenize import tokenizer_info

        t = self.m.tokenizer
        return tokenizer_info(resolve(t.path), t.add_bos, t.add_eos)

    def _read_kept(self, phase: str):
        from pyspark.sql import functions as F

        return self.read_phase(self.results[phase].path).where(F.col("drop_reason").isNull())

    def _kept_in(self, phase: str) -> dict[str, int]:
        return ledger.kept_by_domain(self.results[phase].stats)

    def _finish(self, df, out: Path, phase: str, docs_in: dict[str, int] | None,
                also: Callable[[Any], Any] | None = None, warm_up: bool = False) -> tuple[dict[str, Any], Any]:
        """Write the phase's rows, then count them and pick the rejected samples in one pass
        over what was written (read back with the schema just written: no job reads footers).
        `also(written)`, a phase's own counts of the same rows, runs in a second thread
        meanwhile: its jobs fill the gaps the first pass leaves while the driver plans and
        writes the samples. With `warm_up`, the same queries run first on an empty file
        while the write runs (`_warm_up`). Returns (stats, what `also` returned)."""
        import threading
        from concurrent.futures import ThreadPoolExecutor

        from curator import faults

        warm = threading.Thread(target=self._warm_up, args=(df.schema, out.parent / "warm-up", phase, also),
                                name="curator-warm-up", daemon=True) if warm_up else None
        if warm is not None:
            warm.start()
        try:
            faults.inject(df, phase).write.parquet(str(out))
        finally:
            if warm is not None:
                warm.join()  # it writes inside this phase's temporary folder: done before that goes
        written = self.read_phase(out, df.schema)
        with ThreadPoolExecutor(1) as pool:
            extra = pool.submit(also, written) if also is not None else None
            stats, samples = ledger.funnel_and_samples(written, docs_in, phase, self.m.output.rejected_samples)
            self._write_rejected(samples)
            return {"phase": phase, **stats}, extra.result() if extra is not None else None

    def _warm_up(self, schema, folder: Path, phase: str, also) -> None:
        """Run a phase's statistics queries on an empty Parquet file of its schema while the
        phase's write runs: the driver plans them and compiles their generated code (which
        Spark keeps by its text) meanwhile, and their tasks, queued behind the write's, take
        the cores its last tasks leave idle. The real statistics after the write then start
        warm: on bench-warc the 4.4 s after extract's write fell to 2.1 s. Worth it where the
        write is long and the first of its kind in the session (extract). Best effort: an
        error here is left to the real statistics to meet."""
        import pyarrow.parquet as pq
        from pyspark.sql.pandas.types import to_arrow_schema

        try:
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(to_arrow_schema(schema).empty_table(), folder / "part-00000.parquet")
            empty = self.read_phase(folder, schema)
            ledger.funnel_and_samples(empty, None, phase, self.m.output.rejected_samples)
            if also is not None:
                also(empty)
        except Exception:  # noqa: BLE001 - only a warm-up
            return

    def read_phase(self, path: Path, schema=None):
        """A phase folder as a frame. Its schema is `schema`, or the one Spark stored in the
        footer of its first file (read here, not by a Spark job); Spark infers it otherwise."""
        if schema is None:
            schema = _stored_schema(Path(path))
        reader = self.spark.read if schema is None else self.spark.read.schema(schema)
        return reader.parquet(str(path))

    def _write_rejected(self, rows: list[dict[str, Any]]) -> None:
        """A few dropped documents per reason, for people to read (rejected/<reason>.jsonl)."""
        if not rows:
            return
        from curator import runstats  # here: its pyarrow.dataset and pandas cost every worker 0.4 s

        by_reason: dict[str, list[str]] = {}
        rows = runstats.add_text(self.run_dir, rows)
        for d in sorted(rows, key=lambda r: (r["drop_reason"], r["id"])):
            d["text"] = (d.get("text") or "")[:5000]
            by_reason.setdefault(d["drop_reason"], []).append(json.dumps(d, ensure_ascii=False, default=str))
        for reason, lines in by_reason.items():
            write_atomic(self.run_dir / "rejected" / f"{reason}.jsonl", "\n".join(lines) + "\n")

    # -- phases ----------------------------------------------------------------------------
    def _extract_settings(self) -> dict[str, Any]:
        """What the extract fingerprint hashes: its settings and, when stages run before
        extraction (stages/precheck.py), those rules' settings and code."""
        from stages.precheck import cascade_for

        cascade = cascade_for(self.m)
        out = self.m.extract.model_dump()
        if cascade is not None:
            out["cascade"] = cascade.spec()
        return out

    def _extract(self, out: Path, tok_info) -> dict[str, Any]:
        from stages.code_source import code_tasks
        from stages.inputs import list_source_files
        from stages.precheck import cascade_for

        tasks = []
        for i, src in enumerate(self.m.sources):
            if src.kind == "warc":  # one task per file: local, http(s), s3, or from a paths file
                for path in list_source_files(src, self.m.base_dir, i, self.m.extract.http_retries):
                    tasks.append((src.name, src.domain, "warc", path))
                continue
            for path in expand_inputs(self.m, i):
                for task in code_tasks(path, src.ref, self.m.extract):
                    tasks.append((src.name, src.domain, "code", json.dumps(task)))
        sources = {s.name: {"snapshot": s.snapshot, "licenses": s.licenses, "anonymous": s.anonymous}
                   for s in self.m.sources}
        cascade = cascade_for(self.m)
        df = extract_frame(self.spark, tasks, self.m.extract, sources, cascade, self.m.output.dropped_text_samples())
        stats, tallies = self._finish(df, out, "extract", None, also=partial(ledger.extract_tallies, n_tasks=len(tasks)),
                                      warm_up=True)
        if cascade is not None:  # pages each early rule kept from the extractor, time saved
            stats["cascade"] = tallies["cascade"]
        stats["input_tasks"] = len(tasks)
        stats["records"] = tallies["records"]
        stats["problems_by_file"] = tallies["problems_by_file"]
        stats["licenses"] = tallies["licenses"]  # code files per SPDX id, for the dataset card
        ledger.check_records(stats["records"])
        return stats

    def _annotate(self, out: Path, tok_info) -> dict[str, Any]:
        specs = [(e.stage, e.settings) for e in self.m.stages]
        schema = DOC_SCHEMA
        for cls, _ in specs:
            schema = cls.output_schema(schema)
            _ship_stage_module(self.spark, cls)
        prepared: dict[str, Any] = {}
        for i, (cls, settings) in enumerate(specs):  # work a stage does once on the driver (an index)
            if hasattr(cls, "prepare"):
                settings, info = cls.prepare(settings, self.spark, self._read_kept("extract"), self.run_dir / "stage-data")
                specs[i] = (cls, settings)
                prepared[cls.name] = info
        fn = partial(_annotate_batches, specs=specs, in_schema=DOC_SCHEMA, samples=self.m.output.dropped_text_samples())
        df = self._read_kept("extract").mapInArrow(fn, spark_schema(schema))
        counted = [cls for cls in dict.fromkeys(c for c, _ in specs) if hasattr(cls, "phase_stats")]

        def stage_stats(written) -> dict[str, Any]:  # counts a stage makes of its written rows
            return {cls.name: cls.phase_stats(written, [s for c, s in specs if c is cls]) for cls in counted}

        stats, own = self._finish(df, out, "annotate", self._kept_in("extract"), also=stage_stats if counted else None)
        if prepared:
            stats["prepared"] = prepared
        if own:
            stats["stage_stats"] = own
        return stats

    def _dedup(self, out: Path, tok_info) -> dict[str, Any]:
        from stages.dedup_documents import dedup_documents

        prior = self._prior  # earlier corpora (stages/dedup_prior.py)
        df, fuzzy = dedup_documents(self._read_kept("annotate"), self.m.dedup, self._arrow_schema("annotate"), prior)
        subdoc = None
        d = self.m.dedup
        if d.lines is not None or d.spans is not None or d.site_caps is not None:
            from stages.dedup_subdoc import counter_totals, subdoc_dedup

            domains = self.results["annotate"].stats["domains"].values()  # what enters dedup
            chars = [x.get("chars_kept") for x in domains]
            df, subdoc = subdoc_dedup(df, d, rows=sum(x["kept"] for x in domains),
                                      chars=None if None in chars else sum(chars))
        exact = bool(self.m.dedup.exact)

        def own_counts(written) -> dict[str, Any]:  # the dedup steps' counts of the written rows
            from pyspark.sql import functions as F

            got: dict[str, Any] = {}
            if subdoc is not None:  # below the document: what was cut (stages/dedup_subdoc.py)
                got["subdoc"] = {**counter_totals(written), **subdoc}
            if exact:
                sizes = written.where(F.col("drop_reason").isNull()).groupBy("dup_cluster_size").count().collect()
                got["exact_cluster_sizes"] = {str(r[0]): r[1] for r in sorted(sizes)}
            return got

        stats, own = self._finish(df, out, "dedup", self._kept_in("annotate"),
                                  also=own_counts if subdoc is not None or exact else None)
        if "subdoc" in (own or {}):
            stats["subdoc"] = own["subdoc"]
        if fuzzy is not None:
            fuzzy.stats["removed_by_domain"] = {
                d: s["dropped"].get("dedup.minhash", 0) for d, s in sorted(stats["domains"].items())
            }
            stats["minhash"] = fuzzy.stats
        if prior:
            from stages.dedup_prior import PRIOR_REASONS

            removed = {r: sum(s["dropped"].get(r, 0) for s in stats["domains"].values()) for r in PRIOR_REASONS}
            stats["prior"] = {"indexes": [{"name": ix.name, "created": ix.header.get("created"),
                                           "counts": ix.header["counts"]} for ix in prior], "removed": removed}
        if exact:
            stats["exact_cluster_sizes"] = own["exact_cluster_sizes"]
        return stats

    def _tokenize(self, out: Path, tok_info) -> dict[str, Any]:
        from stages.tokenize import tokenize

        df, _ = tokenize(self._read_kept("dedup"), self._arrow_schema("dedup"), tok_info)
        stats, _ = self._finish(df, out, "tokenize", self._kept_in("dedup"))
        stats["tokenizer"] = tok_info
        return stats

    def _mix(self, out: Path, tok_info) -> dict[str, Any]:
        from pyspark.sql import functions as F

        from stages.mix import apply_mixture, calibrate_thresholds, plan, plan_table

        tok_stats = self.results["tokenize"].stats["domains"]
        available = {d: s.get("tokens_kept", 0) for d, s in tok_stats.items()}
        kept = self._read_kept("tokenize")
        settings, groups = self.m.mixture, self.m.mixture.groups
        if groups:  # sample on <domain>/<group> as on domains (stages/mix_groups.py)
            from stages.mix_groups import flat_weights, regroup

            kept = regroup(kept, groups)
            settings = settings.model_copy(update={"weights": flat_weights(settings.weights, groups)})
            sizes = kept.groupBy("domain").agg(F.sum("n_tokens").alias("t")).collect()
            available = {k: 0 for k in settings.weights} | {r["domain"]: int(r["t"] or 0) for r in sizes}
        if self.m.mixture.rehydrate:  # the pools hold each document as many times as its cluster says
            from stages.mix import rehydration_copies

            kept = rehydration_copies(kept, self.m.mixture.rehydrate)
            pooled = kept.groupBy("domain").agg(F.sum(F.col("n_tokens") * F.col("rehydration")).alias("t"))
            available = {d: 0 for d in available} | {r["domain"]: int(r["t"] or 0) for r in pooled.collect()}
        plans = plan(available, settings)
        thresholds = calibrate_thresholds(kept, plans, self.m.mixture.seed)
        df = apply_mixture(kept, plans, self.m.mixture.seed, thresholds)
        if groups:
            from stages.mix_groups import ungroup

            df = ungroup(df)
        stats, _ = self._finish(df, out, "mix", self._kept_in("tokenize"))
        realised = (
            self.spark.read.parquet(str(out)).where(F.col("drop_reason").isNull())
            .groupBy("domain")
            .agg(F.sum(F.col("n_tokens") * F.col("repeats")).alias("tokens"), F.sum("repeats").alias("docs"))
            .collect()
        )
        stats["plan"] = plan_table(plans)
        if groups:
            from stages.mix_groups import GROUP_COLUMN, domain_plan

            by_group = {r[GROUP_COLUMN]: r for r in (
                self.spark.read.parquet(str(out)).where(F.col("drop_reason").isNull()).groupBy(GROUP_COLUMN)
                .agg(F.sum(F.col("n_tokens") * F.col("repeats")).alias("tokens"), F.sum("repeats").alias("docs"))
                .collect())}
            stats["groups"] = {g: {**row, "realised_tokens": by_group[g]["tokens"] if g in by_group else 0,
                                   "realised_documents": by_group[g]["docs"] if g in by_group else 0}
                               for g, row in stats["plan"].items()}
            stats["plan"] = domain_plan(stats["plan"])
        stats["strategy"], stats["max_epochs"], stats["seed"] = (
            self.m.mixture.strategy, self.m.mixture.max_epochs, self.m.mixture.seed)
        stats["thresholds"] = thresholds
        stats["realised"] = {r["domain"]: {"tokens": r["tokens"], "documents": r["docs"]} for r in sorted(realised)}
        stats["tokens_out"] = sum(r["tokens"] for r in realised)
        stats["documents_out"] = sum(r["docs"] for r in realised)
        return stats

    def _shards(self, out: Path, tok_info) -> dict[str, Any]:
        from stages.mix import shard_count
        from stages.shards import summarise, write_shards

        mix = self.results["mix"].stats
        cfg = self.m.shards
        n_shards = shard_count(mix["tokens_out"], cfg.tokens_per_shard)
        out.mkdir(parents=True, exist_ok=True)
        df = self._read_kept("mix")
        pad_id = cfg.pad_id
        for fallback in (tok_info.get("pad_id"), tok_info["eos_id"], 0):
            pad_id = fallback if pad_id is None else pad_id
        if pad_id >= tok_info["vocab_size"]:
            from curator.errors import ManifestError

            raise ManifestError(f"shards.pad_id {pad_id} is not a token id of the tokenizer (vocabulary {tok_info['vocab_size']})")
        packing = {"packing": cfg.packing, "pad_id": pad_id, "lookahead": cfg.lookahead}
        stage_plan = None
        if cfg.stages:
            from stages.staging import plan_stages

            stage_plan = plan_stages(df, cfg, mix["tokens_out"], shard_count)
        rows = write_shards(df, str(out), cfg.seq_lens, tok_info["vocab_size"], n_shards, cfg.seed, cfg.formats,
                            packing=packing, stage_plan=stage_plan)
        tokenizer = {k: tok_info[k] for k in ("name", "class", "sha256", "vocab_size", "eos_id", "bos_id")}
        tokenizer["spec"] = self.m.tokenizer.path  # as written in the manifest (no machine path)
        common = {
            "formats": list(cfg.formats),
            "tokenizer": tokenizer,
            "eos_id": tok_info["eos_id"],
            "bos_id": tok_info["bos_id"],
            "seed": cfg.seed,
            "mixture": {"plan": mix["plan"], "realised": mix["realised"]},
            "packing": cfg.packing,
            "pad_id": pad_id,
            "lookahead": cfg.lookahead,
        }
        top = {**common, "seq_lens": {}, "lineage": "lineage"}  # stages/lineage.py
        if stage_plan is not None:
            top["stages"] = [{"seq_len": n, "share": f, "shards": k, "curriculum": cfg.curriculum}
                             for n, f, k in zip(stage_plan.seq_lens, stage_plan.fractions, stage_plan.n_shards)]
        all_tokens = all_docs = 0
        for n in cfg.seq_lens:
            shards = [{k: v for k, v in r.items() if k not in ("seq_len", "stats")} for r in rows if r["seq_len"] == n]
            packed = summarise([r for r in rows if r["seq_len"] == n], n)
            tokens = sum(r["tokens"] for r in shards)
            docs = sum(r["documents"] for r in shards)
            all_tokens, all_docs = all_tokens + tokens, all_docs + docs
            if stage_plan is None and (tokens != mix["tokens_out"] or docs != mix["documents_out"]):
                raise AccountingError(
                    f"phase shards: seq_len {n} holds {tokens} tokens of {docs} documents, "
                    f"but the mixture kept {mix['tokens_out']} tokens of {mix['documents_out']} documents"
                )
            dtypes = {f: shards[0]["files"][f]["dtype"] for f in cfg.formats} if shards else {}
            entry = {
                **common, "seq_len": n, "dtype": dtypes, "shards": shards, "tokens": tokens,
                "documents": docs, "sequences": sum(r["sequences"] for r in shards),
                "packing_stats": {k: v for k, v in packed.items() if k != "seq_len"},
            }
            # Paths are relative to the manifest that names them.
            write_atomic(out / str(n) / "manifest.json", json.dumps(entry, indent=1, sort_keys=True) + "\n")
            top_shards = [
                {**r, "files": {f: {**d, "files": [f"{n}/{x}" for x in d["files"]]} for f, d in r["files"].items()}}
                for r in shards
            ]
            top["seq_lens"][str(n)] = {**{k: entry[k] for k in ("seq_len", "dtype", "tokens", "documents", "sequences")},
                                       "manifest": f"{n}/manifest.json", "shards": top_shards}
            top["seq_lens"][str(n)]["packing_stats"] = entry["packing_stats"]
        if stage_plan is not None and (all_tokens != mix["tokens_out"] or all_docs != mix["documents_out"]):
            raise AccountingError(
                f"phase shards: the stages hold {all_tokens} tokens of {all_docs} documents, "
                f"but the mixture kept {mix['tokens_out']} tokens of {mix['documents_out']} documents"
            )
        if cfg.per_domain:
            from stages.domain_shards import write_domain_sets

            available = {d: s.get("tokens_kept", 0) for d, s in self.results["tokenize"].stats["domains"].items()}
            top["domains"] = write_domain_sets(self._read_kept("tokenize"), out, cfg, tok_info["vocab_size"],
                                               available, write_atomic, packing)
        write_atomic(out / "manifest.json", json.dumps(top, indent=1, sort_keys=True) + "\n")
        return {
            "phase": "shards",
            "shards": len({(r["seq_len"], r["shard"]) for r in rows}) if stage_plan is not None else n_shards,
            "formats": list(cfg.formats),
            "packing": cfg.packing,
            "stages": top.get("stages"),
            "seq_lens": {k: {**{x: v[x] for x in ("tokens", "documents", "sequences")}, "packing": v["packing_stats"]}
                         for k, v in top["seq_lens"].items()},
            "mixture": common["mixture"],
        }

    def _arrow_schema(self, phase: str) -> pa.Schema:
        import pyarrow.parquet as pq

        path = self.results[phase].path
        first = sorted(path.glob("part-*.parquet"))
        if not first:
            raise AccountingError(f"phase {phase} wrote no parquet files under {path}")
        return pq.read_schema(first[0])
