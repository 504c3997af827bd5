"""The one document row every phase reads and writes (Arrow and Spark views of it).

A row is never deleted by a stage: it is marked with `drop_reason` ("<stage>.<rule>").
Later phases append their own columns (scores, hashes, token ids) after these.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa

DOC_FIELDS: list[pa.Field] = [
    pa.field("id", pa.string()),  # stable, derived from the source; never null
    pa.field("source", pa.string()),  # source name in the manifest
    pa.field("kind", pa.string()),  # warc | code
    pa.field("domain", pa.string()),  # the mixture domain
    pa.field("url", pa.string()),  # URL, or repo/path for code
    pa.field("text", pa.string()),  # "" for records that are not documents
    pa.field("lang", pa.string()),
    pa.field("lang_score", pa.float64()),
    pa.field("meta", pa.map_(pa.string(), pa.string())),
    pa.field("drop_reason", pa.string()),  # null while kept
]

DOC_SCHEMA = pa.schema(DOC_FIELDS)


def with_columns(schema: pa.Schema, columns: dict[str, pa.DataType]) -> pa.Schema:
    """`schema` plus the given columns (nullable), in order; existing names are an error."""
    for name, dtype in columns.items():
        if schema.get_field_index(name) != -1:
            raise ValueError(f"column {name!r} is already in the schema")
        schema = schema.append(pa.field(name, dtype))
    return schema


def spark_schema(schema: pa.Schema):
    """The Spark StructType that matches an Arrow schema exactly (for mapInArrow)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def code_doc_id(repo: str, path: str, blob_sha: str) -> str:
    """Id of a code file: repo + path + git blob sha, so the same file at the same content keeps its id."""
    return "code:" + hashlib.sha256(f"{repo}\0{path}\0{blob_sha}".encode()).hexdigest()[:40]


def git_blob_sha(data: bytes) -> str:
    """The sha1 git gives this content as a blob (same as `git hash-object`)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def empty_batch(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=schema)


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """The batch with exactly the expected columns and Arrow types (Spark may hand a worker
    large strings or a different field order); mapInArrow output must match its schema."""
    if batch.schema.equals(schema):
        return batch
    table = pa.Table.from_batches([batch]).select(schema.names).cast(schema)
    return table.combine_chunks().to_batches()[0] if batch.num_rows else empty_batch(schema)
