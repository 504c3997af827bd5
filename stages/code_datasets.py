"""Parquet and JSONL datasets in The Stack's layout (content, path, repo, license columns),
read one record at a time into code rows (stages/code_rows.code_row); one file is one task.

Caps: a JSONL line is held at most 6 * max_code_file_bytes + 64 KiB (a longer one is read
past, that record's `code.too_large`); a .jsonl.gz expanding past max_archive_bytes ends with
one file-level `code.archive_too_large` row; a Parquet row group declaring more than
bytes_per_task is one file-level `code.too_large` row, its records not read. A line or row
that is not a record of this layout is that record's `code.corrupt` / `code.bad_record`; a
file that breaks part-way keeps the rows read before it and ends with one `code.corrupt` row.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

from curator.tally import Tally
from stages import licenses
from stages.code_rows import code_row, safe_row
from stages.reading import error_text

DATASET_EXTS = (".parquet", ".jsonl", ".jsonl.gz", ".ndjson")

_STACK_COLUMNS = {
    "content": ("content", "text", "code"),
    "path": ("path", "max_stars_repo_path", "file_path"),
    "repo": ("repo", "repo_name", "max_stars_repo_name", "repository_name"),
    "license": ("license", "licenses", "max_stars_repo_licenses", "license_type"),
}


def _stack_value(rec: dict, field: str):
    for name in _STACK_COLUMNS[field]:
        if name in rec and rec[name] is not None:
            return rec[name]
    return None


class DatasetTooLarge(Exception):
    """A .jsonl.gz that expands past max_archive_bytes."""


_BLANK = re.compile(rb"[ \t\r\n]*")


def _jsonl_lines(f, limit: int, cap: int | None) -> Iterator[bytes | None]:
    """The non-blank lines of a binary stream, read in 1 MiB chunks: a line over `limit`
    bytes is read past (never held) and stands as None; blank space between lines is skipped
    by one regex scan (a compressed file of nothing but newlines costs a scan, not a Python
    step per line). Past `cap` bytes read (the expanded size of a .gz, blank lines included)
    DatasetTooLarge is raised."""
    buf, pos, total, skipping = bytearray(), 0, 0, False
    while True:
        if not skipping:
            pos = _BLANK.match(buf, pos).end()
        i = buf.find(b"\n", pos)
        if i >= 0:
            if not skipping:
                yield bytes(buf[pos:i + 1])
            skipping, pos = False, i + 1
            continue
        if not skipping and len(buf) - pos > limit:
            skipping = True
            yield None
        if skipping:
            buf, pos = bytearray(), 0
        else:
            del buf[:pos]
            pos = 0
        chunk = f.read(1 << 20)
        total += len(chunk)
        if cap is not None and total > cap:
            raise DatasetTooLarge(f"expands past {cap} bytes (max_archive_bytes)")
        if not chunk:
            if buf and not skipping:
                yield bytes(buf)
            return
        buf += chunk


def _jsonl_records(path: str, settings) -> Iterator[tuple[dict | None, str | None, str | None]]:
    """(record, reason, error) per non-blank line, each line held at most `limit` bytes: a
    longer one is read past in chunks (`too_large`), a line that is not a JSON object is that
    record's `corrupt` / `bad_record` and reading goes on. A .gz is read at most
    max_archive_bytes expanded (DatasetTooLarge past it)."""
    import gzip

    limit = 6 * settings.max_code_file_bytes + (64 << 10)  # JSON escapes can take 6 bytes a byte
    gz = path.endswith(".gz")
    with (gzip.open if gz else open)(path, "rb") as f:
        for line in _jsonl_lines(f, limit, settings.max_archive_bytes if gz else None):
            if line is None:
                yield None, "too_large", f"a line over {limit} bytes"
                continue
            try:
                rec = json.loads(line)
            except (ValueError, RecursionError) as e:
                yield None, "corrupt", error_text(e)
                continue
            yield (rec, None, None) if isinstance(rec, dict) else (None, "bad_record", "not a JSON object")


def _parquet_records(path: str, settings) -> Iterator[tuple[dict | None, str | None, str | None]]:
    """Records of a Parquet file, one row group at a time, checked before it is read: a row
    group whose columns read here declare more than bytes_per_task uncompressed bytes is not
    read (RowGroupTooLarge: one file-level row). String columns are read as dictionaries and
    rows are taken one value at a time, so a value repeated through a dictionary page is
    never expanded 64 times into one batch. (Sizes are the ones the file declares.)"""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    cols = [c for c in schema.names if any(c in names for names in _STACK_COLUMNS.values())]
    strings = [c for c in cols if pa.types.is_string(schema.field(c).type) or pa.types.is_large_string(schema.field(c).type)
               or pa.types.is_binary(schema.field(c).type) or pa.types.is_large_binary(schema.field(c).type)]
    pf = pq.ParquetFile(path, read_dictionary=strings)
    md = pf.metadata
    index = {md.schema.column(j).path: j for j in range(md.num_columns)}
    for g in range(md.num_row_groups):
        group = md.row_group(g)
        size = sum(group.column(j).total_uncompressed_size for c, j in index.items() if c.split(".")[0] in cols)
        if size > settings.bytes_per_task:
            yield {"row_group": g}, "row_group_too_large", (f"row group {g}: {size} bytes uncompressed "
                                                            f"(over bytes_per_task {settings.bytes_per_task})")
            continue
        for batch in pf.iter_batches(batch_size=64, row_groups=[g], columns=cols):
            names = batch.schema.names
            for k in range(batch.num_rows):
                yield {n: batch.column(j)[k].as_py() for j, n in enumerate(names)}, None, None


def _dataset_records(path: str, settings) -> Iterator[tuple[dict | None, str | None, str | None]]:
    if path.endswith(".parquet"):
        yield from _parquet_records(path, settings)
    else:
        yield from _jsonl_records(path, settings)


def _dataset_row(rec, reason, error, n: int, extra: dict, source, domain, settings, allow) -> dict[str, Any]:
    if reason:
        return code_row("?", f"row-{n}", None, source, domain, settings, licenses.NONE, allow,
                        extra={**extra, "error": error}, reason=reason)
    content, fpath, repo = (_stack_value(rec, f) for f in ("content", "path", "repo"))
    lic = _stack_value(rec, "license")
    lic = " AND ".join(sorted(map(str, lic))) if isinstance(lic, (list, tuple)) else (str(lic) if lic else licenses.NONE)
    if not isinstance(content, (str, bytes)) or not fpath or not repo or not isinstance(fpath, str) or not isinstance(repo, str):
        return code_row(str(repo or "?"), str(fpath or f"row-{n}"), None, source, domain, settings,
                        lic, allow, extra=extra, reason="bad_record")
    data = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
    return code_row(repo, fpath, data, source, domain, settings, lic, allow, extra=extra)


def read_dataset(path, source, domain, settings, allow, tally: Tally) -> Iterator[dict[str, Any]]:
    """Rows of a Parquet/JSONL file in The Stack's layout (content, path, repo, license). A
    Parquet row group over bytes_per_task is one file-level `code.too_large` row (named
    `<file>#row_group-<n>`, its records not read); a .jsonl.gz expanding past
    max_archive_bytes ends with one file-level `code.archive_too_large` row."""
    n = 0
    base = os.path.basename(path)

    def file_row(name: str, reason: str, error: str, **more) -> dict[str, Any]:
        return code_row("?", f"{base}#{name}", None, source, domain, settings, licenses.NONE, allow,
                        extra={"dataset": path, "error": error, **more}, reason=reason)

    try:
        for rec, reason, error in _dataset_records(path, settings):
            if reason == "row_group_too_large":
                yield file_row(f"row_group-{rec['row_group']}", "too_large", error, row_group=str(rec["row_group"]))
                continue
            record = tally.take()
            extra = {"dataset": path, "row": str(n), "record": record}
            yield safe_row(record, lambda: _dataset_row(rec, reason, error, n, extra, source, domain, settings, allow),
                           lambda err: code_row("?", f"row-{n}", None, source, domain, settings, licenses.NONE, allow,
                                                extra={**extra, "error": err}, reason="bad_record"),
                           source, domain, f"{path}#{record}")
            n += 1
    except DatasetTooLarge as e:
        yield file_row("archive_too_large", "archive_too_large", error_text(e))
    except Exception as e:  # noqa: BLE001 - a corrupt file: keep what was read, count the rest
        yield file_row(f"corrupt@{n}", "corrupt", error_text(e))

